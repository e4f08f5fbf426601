/* SPDX-License-Identifier: MIT */
/*
 * Device models: the PCI functions behind uiommufd's VFIO devices.
 *
 * A model is the device's silicon: its identity, its BARs and what its
 * registers do.  Everything PCI-generic (config space, BAR sizing, the
 * command register, MSI/MSI-X capability and table emulation, interrupt
 * delivery to the program's eventfds, reset sequencing) is the vfio-pci
 * layer's (src/vfio/pci*.c).  The model reaches the outside world only
 * through struct devmodel_bus: DMA through the device's IOMMU domain, and
 * interrupts by vector.
 *
 * Threads.  bar_read/bar_write/config_read/config_write/reset are called
 * by the vfio-pci layer, from any program thread, one at a time per
 * device (the layer serialises them).  A model that works in the
 * background (a DMA engine) owns its threads: they sleep while the device
 * is idle, are woken by register writes, and are gone when destroy()
 * returns.  bus->dma, bus->copy and bus->irq may be called from those
 * threads at any time between create() and the return of destroy(), and
 * from inside bar_write (but not while holding a lock bar_read/bar_write
 * take).
 */
#ifndef UIOMMUFD_DEVICES_MODEL_H
#define UIOMMUFD_DEVICES_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the vfio-pci layer offers a model instance. */
struct devmodel_bus {
	void *opaque;
	/*
	 * Bus-master DMA at bus address @iova (an IOVA through the device's
	 * IOMMU domain; a physical address in no-IOMMU mode).  Returns 0, or
	 * a negative errno when the transaction fails: -EFAULT for an
	 * unmapped address, -EPERM for a permission fault, -EIO when bus
	 * mastering is off in the command register.  Faults are logged and
	 * reported by the layer; the model only sets its own error state.
	 * On failure a prefix of the transfer may have happened.
	 */
	int (*dma)(void *opaque, uint64_t iova, void *buf, size_t len, bool write);
	/*
	 * Optional (NULL: not offered).  Device-to-device DMA: copy @len
	 * bytes from bus address @src to @dst in one call, the source read
	 * and the destination written through the same translation dma
	 * uses, with no staging copy in between (what a DMA engine's copy
	 * is).  Returns 0 or a negative errno as dma does, with the fault
	 * logged by the layer; *@done (may be NULL) is how many bytes were
	 * copied before the fault (a prefix, nothing past it), *@dst_fault
	 * (may be NULL) whether the destination's write faulted rather than
	 * the source's read (both: the read, issued first).
	 */
	int (*copy)(void *opaque, uint64_t dst, uint64_t src, size_t len, size_t *done,
		    bool *dst_fault);
	/*
	 * Signal interrupt @vector (an MSI-X table entry; with MSI or INTx
	 * the layer maps it onto what the program enabled).  Masking,
	 * pending bits and eventfd delivery are the layer's.
	 */
	void (*irq)(void *opaque, unsigned int vector);
};

/* One BAR as the model declares it. */
struct devmodel_bar {
	uint64_t size;		/* 0: not implemented; else a power of two >= 4096 for MMIO */
	bool mem64;		/* 64-bit memory BAR (takes two BAR slots) */
	bool prefetch;
	bool io;		/* I/O port BAR */
};

/* Where the model wants the standard capabilities in config space. */
struct devmodel_caps {
	uint8_t pm;		/* 0: absent */
	uint8_t msi;
	uint8_t msix;
	uint8_t pcie;		/* PCI Express capability (drivers hard-code its offset) */
	unsigned int msi_vectors;	/* 1, 2, 4, ... 32 */
	bool msi_64bit, msi_maskable;
	unsigned int msix_vectors;	/* table size */
	uint8_t msix_bar;		/* table and PBA BAR */
	uint32_t msix_table_off, msix_pba_off;
	uint8_t pcie_type;	/* PCI_EXP_TYPE_ENDPOINT, PCI_EXP_TYPE_RC_END, ... */
	bool flr;		/* function level reset advertised in DEVCAP */
	bool intx;		/* INTx pin A wired */
};

struct devmodel_type {
	const char *name;	/* as in --device NAME */
	const char *summary;	/* one line for --help */
	uint16_t vendor, device, subsystem_vendor, subsystem_device;
	uint32_t class_code;	/* 24 bits: base, sub, prog-if */
	uint8_t revision;
	struct devmodel_bar bars[6];
	struct devmodel_caps caps;

	/*
	 * Make an instance.  @opts is the rest of its --device option list
	 * (keys the vfio layer did not consume), or "".  Returns 0 or a
	 * negative errno (-EINVAL for an unknown option) and *@out.
	 */
	int (*create)(const struct devmodel_bus *bus, const char *opts, void **out);
	/* Stop every thread and DMA; no bus call after this returns. */
	void (*destroy)(void *m);
	/* Register access, @size 1, 2, 4 or 8, @off inside the BAR. */
	uint64_t (*bar_read)(void *m, unsigned int bar, uint64_t off, unsigned int size);
	void (*bar_write)(void *m, unsigned int bar, uint64_t off, unsigned int size, uint64_t val);
	/*
	 * Device-specific config registers (offsets the layer does not
	 * emulate, e.g. an error-status register in extended config space).
	 * Return true when the model handled @off; NULL: none.
	 */
	bool (*config_read)(void *m, unsigned int off, unsigned int size, uint32_t *val);
	bool (*config_write)(void *m, unsigned int off, unsigned int size, uint32_t val);
	/* Function reset: back to power-on state; waits for DMA in flight. */
	void (*reset)(void *m);
};

/* Every model uiommufd has, by name; NULL when unknown. */
const struct devmodel_type *devmodel_find(const char *name);
/* The models in --help order; the array ends with NULL. */
extern const struct devmodel_type *const devmodel_types[];

#endif
