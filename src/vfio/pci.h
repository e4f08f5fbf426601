/* SPDX-License-Identifier: MIT */
/*
 * vfio-pci's private state: one struct vfio_pci_dev per emulated function,
 * shared by pci.c (device-fd ioctls, region access, mmap, DMA), pci_config.c
 * (the virtual config space) and pci_irq.c (eventfds, INTx/MSI/MSI-X, the
 * MSI-X table and PBA).
 *
 * Locks, outermost first:
 *   reg_lock  config space and every call into the model's register,
 *             config and reset hooks (the model interface wants them one at
 *             a time per device);
 *   irq_lock  interrupt state: the enabled type, eventfds, the MSI-X table
 *             and pending bits.  Taken by the model's irq callback from
 *             device threads, from inside bar_write and from the MMIO trap
 *             handler, so nothing under it blocks or calls the model.
 *   map_lock  the list of BAR mappings (MMIO traps).
 * No user memory is touched with reg_lock or irq_lock held: a user buffer
 * may itself be a trapped BAR mapping, whose handler takes reg_lock.
 */
#ifndef UIOMMUFD_VFIO_PCI_H
#define UIOMMUFD_VFIO_PCI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "devices/model.h"
#include "host/mmio_trap.h"
#include "vfio/vfio.h"

#define PCI_CFG_SPACE_LEN 256
#define PCI_CFG_SPACE_EXP_LEN 4096

/* One BAR slot as config space and sysfs show it. */
struct vfio_pci_bar {
	uint64_t size;		/* 0: no BAR here (or the upper half of a 64-bit one) */
	uint64_t addr;		/* the bus address the "firmware" assigned */
	bool io, mem64, prefetch;
	bool mmap;		/* memory BAR of at least a page */
};

/* A program's mapping of (part of) a BAR. */
struct vfio_pci_map {
	struct vfio_pci_map *next;
	struct vfio_pci_dev *pci;
	unsigned int bar;
	struct mmio_trap *trap;
	void *addr;
	size_t len;
};

/* An eventfd we signal: our own duplicate of the program's descriptor. */
struct vfio_pci_trigger {
	int fd;			/* -1: none */
};

/*
 * An eventfd the device reads (pci_watch.c).  The block it starts is
 * malloc'd by its owner and freed by the watcher once retired.
 */
struct vfio_pci_watch {
	struct vfio_pci_watch *next;	/* the watcher's lists */
	struct vfio_pci_dev *pci;
	int fd;				/* our duplicate of the program's eventfd */
	/* Runs on the watcher's thread after each signal. */
	void (*fire)(struct vfio_pci_watch *w);
	/* Set by vfio_pci_watch_retire(), read by fire under the owner's lock. */
	bool retired;
};

struct vfio_pci_watcher {
	pthread_mutex_t lock;		/* everything below */
	pthread_t thread;
	bool running, stopping;
	int epfd, wakefd;
	struct vfio_pci_watch *live;	/* registered */
	struct vfio_pci_watch *retired;	/* for the thread to free */
};

/* A VFIO_DEVICE_IOEVENTFD registration; under reg_lock. */
struct vfio_pci_ioeventfd {
	struct vfio_pci_watch watch;	/* first: the watcher frees the block */
	struct vfio_pci_ioeventfd *next;
	unsigned int bar, size;
	uint64_t pos, data;
};

#define VFIO_PCI_IOEVENTFD_MAX 1000	/* per device, as vfio-pci */

struct vfio_pci_dev {
	struct vfio_device *vdev;
	const struct devmodel_type *type;
	void *model;
	struct devmodel_bus bus;
	struct uiommufd_host *host;

	pthread_mutex_t reg_lock;
	/* ---- config space (pci_config.c), under reg_lock */
	unsigned int cfg_size;
	uint8_t cfg[PCI_CFG_SPACE_EXP_LEN];
	uint8_t wmask[PCI_CFG_SPACE_EXP_LEN];	/* writable bits */
	uint8_t w1c[PCI_CFG_SPACE_EXP_LEN];	/* write-one-to-clear bits */
	uint8_t emul[PCI_CFG_SPACE_EXP_LEN];	/* 1: the layer owns this byte */
	struct vfio_pci_bar bars[6];
	unsigned int msi_len;			/* bytes of the MSI capability */
	/* Read locklessly by DMA and the traps. */
	atomic_bool bus_master, mem_enabled;

	/* ---- interrupts (pci_irq.c), under irq_lock */
	pthread_mutex_t irq_lock;
	int irq_type;				/* VFIO_PCI_*_IRQ_INDEX, or -1: none */
	unsigned int nr_triggers;		/* vectors of irq_type enabled */
	struct vfio_pci_trigger *triggers;	/* [nr_triggers] */
	bool intx_masked, intx_pending;
	struct vfio_pci_watch *intx_unmask;	/* SET_IRQS UNMASK with an eventfd */
	struct vfio_pci_trigger err, req;
	uint32_t *msix_table;			/* 4 dwords per vector */
	uint64_t *msix_pba;

	/* ---- low power (VFIO_DEVICE_FEATURE), under reg_lock */
	bool low_power;
	struct vfio_pci_trigger wakeup;

	/* ---- ioeventfds (pci.c), under reg_lock */
	struct vfio_pci_ioeventfd *ioeventfds;
	unsigned int nr_ioeventfds;
	/* The thread behind intx_unmask and the ioeventfds. */
	struct vfio_pci_watcher watcher;

	/* ---- BAR mappings */
	pthread_mutex_t map_lock;
	struct vfio_pci_map *maps;

	/* ---- DMA fault messages, rate limited (under irq_lock) */
	time_t fault_window;
	unsigned int fault_msgs, fault_dropped;
	atomic_bool open;
};

static inline struct vfio_pci_dev *vfio_pci(struct vfio_device *vdev)
{
	return vdev->pci;
}

/* ---- pci_config.c */
/* Build config space from the model's description (power-on state). */
void vfio_pci_config_init(struct vfio_pci_dev *pci);
/* Access config space, @size 1, 2 or 4, naturally aligned; reg_lock held. */
uint32_t vfio_pci_config_read(struct vfio_pci_dev *pci, unsigned int off, unsigned int size);
void vfio_pci_config_write(struct vfio_pci_dev *pci, unsigned int off, unsigned int size,
			   uint32_t val);
/* After first open: memory (and I/O) decode on, bus master off. */
void vfio_pci_config_enable(struct vfio_pci_dev *pci);
/* At last close: decode and bus master off, INTx disabled. */
void vfio_pci_config_disable(struct vfio_pci_dev *pci);
/* BAR register @slot (0-5) as assigned, as the host reads it. */
uint32_t vfio_pci_bar_assigned(const struct vfio_pci_dev *pci, unsigned int slot);
/* MSI's message-enable field as SET_IRQS sets it (log2 of @vectors). */
void vfio_pci_config_msi_enabled(struct vfio_pci_dev *pci, unsigned int vectors);
void vfio_pci_config_msix_enabled(struct vfio_pci_dev *pci, bool on);
/* Whether the function has an interrupt pin / a PCIe capability. */
bool vfio_pci_has_intx(const struct vfio_pci_dev *pci);
bool vfio_pci_is_pcie(const struct vfio_pci_dev *pci);
/* MSI vectors the capability offers (0 without MSI). */
unsigned int vfio_pci_msi_vectors(const struct vfio_pci_dev *pci);

/* ---- pci.c */
/* Function reset keeping config space, as the kernel's try-reset; reg_lock held. */
void vfio_pci_reset_locked(struct vfio_pci_dev *pci);

/* ---- pci_watch.c */
void vfio_pci_watcher_init(struct vfio_pci_watcher *wr);
/* Watch @w (its fd, pci and fire set): 0, or a negative errno and @w untouched. */
int vfio_pci_watch_add(struct vfio_pci_watcher *wr, struct vfio_pci_watch *w);
/*
 * Stop watching @w and hand it to the thread to free.  Call it holding the
 * lock @w's fire takes: once that lock is dropped fire does nothing more.
 */
void vfio_pci_watch_retire(struct vfio_pci_watcher *wr, struct vfio_pci_watch *w);
/* Join the thread (no reg_lock or irq_lock held); watching restarts on the next add. */
void vfio_pci_watcher_stop(struct vfio_pci_watcher *wr);
void vfio_pci_watcher_destroy(struct vfio_pci_watcher *wr);

/* ---- pci_irq.c */
int vfio_pci_irq_init(struct vfio_pci_dev *pci);
void vfio_pci_irq_free(struct vfio_pci_dev *pci);
/* The model's bus->irq. */
void vfio_pci_irq_signal(void *opaque, unsigned int vector);
/* VFIO_DEVICE_SET_IRQS after the argument checks, with the data copied in. */
int vfio_pci_set_irqs(struct vfio_pci_dev *pci, uint32_t flags, uint32_t index, uint32_t start,
		      uint32_t count, const void *data);
/* Interrupts of @index the function has (GET_IRQ_INFO's count). */
unsigned int vfio_pci_irq_count(struct vfio_pci_dev *pci, uint32_t index);
/* Disable every interrupt and release every eventfd (last close). */
void vfio_pci_irq_teardown(struct vfio_pci_dev *pci);
/* The command register changed (INTx disable may have been lifted); reg_lock held. */
void vfio_pci_irq_command_changed(struct vfio_pci_dev *pci);
/* A reset cleared the device: drop pending state. */
void vfio_pci_irq_reset(struct vfio_pci_dev *pci);
/* MSI-X table / PBA access in the MSI-X BAR; false when @off is outside them. */
bool vfio_pci_msix_access(struct vfio_pci_dev *pci, unsigned int bar, uint64_t off,
			  unsigned int size, uint64_t *val, bool write);
/* Validate and duplicate a program's eventfd: our fd or -EBADF / -EINVAL. */
int vfio_pci_eventfd_get(int fd);
void vfio_pci_eventfd_put(struct vfio_pci_trigger *t);
void vfio_pci_eventfd_signal(const struct vfio_pci_trigger *t);

#endif
