// SPDX-License-Identifier: MIT
/*
 * vfio-pci: what a program does with the device fd of an emulated PCI
 * function -- the info ioctls, interrupt setup, resets, device features,
 * pread/pwrite of the regions at index << 40, and mmap of BARs as MMIO
 * traps -- plus the bus the device model sees (DMA through the device's
 * IOMMU domain, gated by bus mastering; interrupts by vector).
 *
 * The function is entirely emulated: config space lives in pci_config.c,
 * interrupts and the MSI-X table in pci_irq.c, the registers behind the
 * BARs in the model.  Checks and errnos follow the kernel's vfio-pci core
 * in the order its answers come out; the behaviour note this was written
 * from is docs/uapi-behaviour.md, "vfio-pci: the device fd".
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "core/iommufd_private.h"
#include "vfio/pci.h"
#include "uapi/vfio_device.h"

/* struct resource flags as sysfs's "resource" file prints them. */
#define IORESOURCE_IO 0x00000100
#define IORESOURCE_MEM 0x00000200
#define IORESOURCE_PREFETCH 0x00002000
#define IORESOURCE_SIZEALIGN 0x00040000
#define IORESOURCE_MEM_64 0x00100000

/* Pieces of a user buffer handled between two user copies. */
#define RW_CHUNK 256

#define FAULT_WINDOW_SECONDS 10
#define FAULT_MSGS_PER_WINDOW 8

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* ====================================================== BAR assignment */

/*
 * Bus addresses as firmware would assign them: each function gets its own
 * window (64-bit BARs above 4 GiB, 32-bit ones below), BARs naturally
 * aligned inside it, largest first.  Only sysfs and the BAR registers show
 * them; nothing is mapped there.
 */
static int assign_bars(struct vfio_pci_dev *pci)
{
	const struct vfio_device *vdev = pci->vdev;
	unsigned int rid = ((unsigned int)vdev->spec.bus << 8) | (vdev->spec.slot << 3) |
			   vdev->spec.func;
	uint64_t base64 = 0x38000000000ull + ((uint64_t)rid << 32);
	uint64_t base32 = 0x80000000ull + ((uint64_t)(rid & 0xfff) << 19);
	uint64_t end32 = base32 + (1u << 19);
	uint64_t baseio = 0x1000 + ((uint64_t)(rid & 0xff) << 8);
	bool done[6] = { false };

	for (;;) {
		int pick = -1;

		for (unsigned int i = 0; i < 6; i++)
			if (!done[i] && pci->bars[i].size &&
			    (pick < 0 || pci->bars[i].size > pci->bars[pick].size))
				pick = (int)i;
		if (pick < 0)
			return 0;
		struct vfio_pci_bar *b = &pci->bars[pick];
		uint64_t *cur = b->io ? &baseio : b->mem64 ? &base64 : &base32;

		*cur = (*cur + b->size - 1) & ~(b->size - 1);
		b->addr = *cur;
		*cur += b->size;
		if (!b->io && !b->mem64 && *cur > end32)
			return -ENOSPC;	/* a model with huge 32-bit BARs: give it 64-bit ones */
		done[pick] = true;
	}
}

static int setup_bars(struct vfio_pci_dev *pci)
{
	const struct devmodel_bar *mb = pci->type->bars;
	size_t psz = page_size();

	memset(pci->bars, 0, sizeof(pci->bars));
	for (unsigned int i = 0; i < 6; i++) {
		struct vfio_pci_bar *b = &pci->bars[i];
		uint64_t sz = mb[i].size;

		if (!sz)
			continue;
		if ((sz & (sz - 1)) || (mb[i].mem64 && i == 5) || (mb[i].io && sz > 256))
			return -EINVAL;
		b->size = sz;
		b->io = mb[i].io;
		b->mem64 = mb[i].mem64 && !b->io;
		b->prefetch = mb[i].prefetch && !b->io;
		b->mmap = !b->io && sz >= psz;
		if (b->mem64)
			i++;	/* the upper half is not a BAR of its own */
	}
	return assign_bars(pci);
}

/* ======================================================== the bus (DMA) */

static void report_fault(struct vfio_pci_dev *pci, uint64_t iova, size_t len, bool is_write,
			 int rc)
{
	struct timespec now;
	char msg[384];
	unsigned int dropped = 0;
	bool say;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&pci->irq_lock);
	if (now.tv_sec - pci->fault_window >= FAULT_WINDOW_SECONDS) {
		dropped = pci->fault_dropped;
		pci->fault_window = now.tv_sec;
		pci->fault_msgs = 0;
		pci->fault_dropped = 0;
	}
	say = pci->fault_msgs < FAULT_MSGS_PER_WINDOW;
	if (say)
		pci->fault_msgs++;
	else
		pci->fault_dropped++;
	pthread_mutex_unlock(&pci->irq_lock);
	if (!say)
		return;
	/* snprintf and write(2): this may run inside the MMIO trap's signal handler. */
	if (pci->vdev->spec.noiommu)
		n = snprintf(msg, sizeof(msg),
			     "uiommufd: device %s (no-IOMMU): DMA %s of %zu bytes at bus address "
			     "0x%llx faulted (no pinned page there); pin the buffer and use the "
			     "address IOMMU_IOAS_NOIOMMU_GET_PA gives%s\n",
			     pci->vdev->name, is_write ? "write" : "read", len,
			     (unsigned long long)iova,
			     dropped ? " (earlier messages were dropped)" : "");
	else
		n = snprintf(msg, sizeof(msg),
			     "uiommufd: device %s: DMA %s of %zu bytes at IOVA 0x%llx faulted (%s); "
			     "the program must map that IOVA (VFIO_IOMMU_MAP_DMA or "
			     "IOMMU_IOAS_MAP%s) before the device uses it%s\n",
			     pci->vdev->name, is_write ? "write" : "read", len,
			     (unsigned long long)iova,
			     rc == -EPERM ? "the mapping does not allow it" : "not mapped",
			     is_write ? ", writable" : "",
			     dropped ? " (earlier messages were dropped)" : "");
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1) < 0)
		return;
}

/* No-IOMMU: bus addresses are the host's physical addresses of pinned pages. */
static int dma_phys(struct vfio_pci_dev *pci, uint64_t pa, uint8_t *buf, size_t len, bool write)
{
	struct uiommufd_host *host = pci->host;

	while (len) {
		size_t n = 0;
		uint8_t *k = host->ops->phys_kaddr(host, pa, write, &n);

		if (!k || !n)
			return -EFAULT;
		if (n > len)
			n = len;
		if (write)
			iommu_dma_memcpy(k, buf, n);
		else
			iommu_dma_memcpy(buf, k, n);
		pa += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static int dma_iommu(struct vfio_pci_dev *pci, uint64_t iova, void *buf, size_t len, bool write)
{
	struct vfio_device *vdev = pci->vdev;
	unsigned int flags = write ? IOMMU_DMA_WRITE : 0;
	struct iommufd_ctx *ictx;
	int rc;

	if (iommu_dma_reader_register()) {
		/* A raised gate is a short flush (an unmap, a domain change): wait it out. */
		while (!iommu_dma_read_begin())
			sched_yield();
		rc = iommu_dev_dma(&vdev->dev, iova, buf, len, flags);
		iommu_dma_read_end();
		return rc;
	}
	/*
	 * No membarrier: the context lock keeps the domain still.  A device
	 * doing DMA is bound (its context alive): unbinding waits for the
	 * model's reset, which waits for DMA in flight.
	 */
	ictx = __atomic_load_n(&vdev->ictx, __ATOMIC_ACQUIRE);
	if (!ictx)
		return -EFAULT;	/* not bound: the blocked domain */
	pthread_mutex_lock(&ictx->lock);
	rc = iommu_dev_dma(&vdev->dev, iova, buf, len, flags);
	pthread_mutex_unlock(&ictx->lock);
	return rc;
}

static int pci_bus_dma(void *opaque, uint64_t iova, void *buf, size_t len, bool write)
{
	struct vfio_pci_dev *pci = opaque;
	int rc;

	if (!atomic_load(&pci->bus_master))
		return -EIO;
	if (!len)
		return 0;
	if (pci->vdev->spec.noiommu)
		rc = dma_phys(pci, iova, buf, len, write);
	else
		rc = dma_iommu(pci, iova, buf, len, write);
	if (rc == -EFAULT || rc == -EPERM)
		report_fault(pci, iova, len, write, rc);
	return rc;
}

/* No-IOMMU copy: both sides are physical addresses of pinned pages. */
static int copy_phys(struct vfio_pci_dev *pci, uint64_t dst, uint64_t src, size_t len,
		     size_t *done, bool *dst_fault)
{
	struct uiommufd_host *host = pci->host;

	*done = 0;
	while (len) {
		size_t ns = 0, nd = 0, n;
		uint8_t *ks = host->ops->phys_kaddr(host, src, false, &ns);
		uint8_t *kd;

		if (!ks || !ns)
			return -EFAULT;
		kd = host->ops->phys_kaddr(host, dst, true, &nd);
		if (!kd || !nd) {
			*dst_fault = true;
			return -EFAULT;
		}
		n = len < ns ? len : ns;
		if (n > nd)
			n = nd;
		if ((uintptr_t)kd < (uintptr_t)ks + n && (uintptr_t)ks < (uintptr_t)kd + n)
			memmove(kd, ks, n);
		else
			iommu_dma_memcpy(kd, ks, n);
		src += n;
		dst += n;
		len -= n;
		*done += n;
	}
	return 0;
}

/* As dma_iommu(), for a device-to-device copy. */
static int copy_iommu(struct vfio_pci_dev *pci, uint64_t dst, uint64_t src, size_t len,
		      size_t *done, bool *dst_fault)
{
	struct vfio_device *vdev = pci->vdev;
	struct iommufd_ctx *ictx;
	int rc;

	if (iommu_dma_reader_register()) {
		while (!iommu_dma_read_begin())
			sched_yield();
		rc = iommu_dev_dma_copy(&vdev->dev, dst, src, len, done, dst_fault);
		iommu_dma_read_end();
		return rc;
	}
	ictx = __atomic_load_n(&vdev->ictx, __ATOMIC_ACQUIRE);
	if (!ictx)
		return -EFAULT;	/* not bound: the blocked domain; the read faults */
	pthread_mutex_lock(&ictx->lock);
	rc = iommu_dev_dma_copy(&vdev->dev, dst, src, len, done, dst_fault);
	pthread_mutex_unlock(&ictx->lock);
	return rc;
}

static int pci_bus_copy(void *opaque, uint64_t dst, uint64_t src, size_t len, size_t *done,
			bool *dst_fault)
{
	struct vfio_pci_dev *pci = opaque;
	size_t moved = 0;
	bool dside = false;
	int rc;

	if (!atomic_load(&pci->bus_master))
		rc = -EIO;
	else if (!len)
		rc = 0;
	else if (pci->vdev->spec.noiommu)
		rc = copy_phys(pci, dst, src, len, &moved, &dside);
	else
		rc = copy_iommu(pci, dst, src, len, &moved, &dside);
	if (rc == -EFAULT || rc == -EPERM)
		report_fault(pci, dside ? dst : src, len, dside, rc);
	if (done)
		*done = moved;
	if (dst_fault)
		*dst_fault = rc && dside;
	return rc;
}

static void ioeventfds_drop_all(struct vfio_pci_dev *pci);

/* ================================================ create, open, close */

int vfio_pci_create(struct vfio_device *vdev)
{
	const struct devmodel_type *type = vdev->spec.type;
	struct vfio_pci_dev *pci;
	int rc;

	if (!type || !type->create || !type->destroy || !type->bar_read || !type->bar_write)
		return -EINVAL;
	if (type->caps.msix && (!type->caps.msix_vectors || type->caps.msix_vectors > 2048 ||
				type->caps.msix_bar > 5 ||
				!type->bars[type->caps.msix_bar].size))
		return -EINVAL;
	pci = calloc(1, sizeof(*pci));
	if (!pci)
		return -ENOMEM;
	pci->vdev = vdev;
	pci->type = type;
	pci->host = vdev->dev.host;
	pci->wakeup.fd = -1;
	pthread_mutex_init(&pci->reg_lock, NULL);
	pthread_mutex_init(&pci->irq_lock, NULL);
	pthread_mutex_init(&pci->map_lock, NULL);
	vfio_pci_watcher_init(&pci->watcher);
	rc = setup_bars(pci);
	if (rc)
		goto err_free;
	rc = vfio_pci_irq_init(pci);
	if (rc)
		goto err_free;
	vfio_pci_config_init(pci);

	pci->bus.opaque = pci;
	pci->bus.dma = pci_bus_dma;
	pci->bus.copy = pci_bus_copy;
	pci->bus.irq = vfio_pci_irq_signal;
	rc = type->create(&pci->bus, vdev->spec.model_opts, &pci->model);
	if (rc)
		goto err_irq;
	vdev->pci = pci;
	return 0;

err_irq:
	vfio_pci_irq_free(pci);
err_free:
	vfio_pci_watcher_destroy(&pci->watcher);
	pthread_mutex_destroy(&pci->map_lock);
	pthread_mutex_destroy(&pci->irq_lock);
	pthread_mutex_destroy(&pci->reg_lock);
	free(pci);
	return rc;
}

static void unmap_all(struct vfio_pci_dev *pci)
{
	struct vfio_pci_map *m;

	pthread_mutex_lock(&pci->map_lock);
	m = pci->maps;
	pci->maps = NULL;
	pthread_mutex_unlock(&pci->map_lock);
	while (m) {
		struct vfio_pci_map *next = m->next;

		mmio_trap_unmap(m->trap);
		free(m);
		m = next;
	}
}

void vfio_pci_destroy(struct vfio_device *vdev)
{
	struct vfio_pci_dev *pci = vdev->pci;

	if (!pci)
		return;
	unmap_all(pci);
	/* No bus call after destroy returns: nothing of ours is used after it. */
	pci->type->destroy(pci->model);
	vfio_pci_irq_teardown(pci);
	pthread_mutex_lock(&pci->reg_lock);
	ioeventfds_drop_all(pci);
	pthread_mutex_unlock(&pci->reg_lock);
	vfio_pci_watcher_destroy(&pci->watcher);
	vfio_pci_eventfd_put(&pci->wakeup);
	vfio_pci_irq_free(pci);
	pthread_mutex_destroy(&pci->map_lock);
	pthread_mutex_destroy(&pci->irq_lock);
	pthread_mutex_destroy(&pci->reg_lock);
	vdev->pci = NULL;
	free(pci);
}

void vfio_pci_reset_locked(struct vfio_pci_dev *pci)
{
	uint8_t saved[PCI_CFG_SPACE_EXP_LEN];

	/* As pci_try_reset_function(): save config space, reset, restore. */
	memcpy(saved, pci->cfg, sizeof(saved));
	if (pci->type->reset)
		pci->type->reset(pci->model);
	memcpy(pci->cfg, saved, sizeof(saved));
	vfio_pci_irq_reset(pci);
}

int vfio_pci_open_device(struct vfio_device *vdev)
{
	struct vfio_pci_dev *pci = vdev->pci;

	if (!pci)
		return -ENODEV;
	pthread_mutex_lock(&pci->reg_lock);
	/* The kernel resets on enable, then enables decode (pci_enable_device). */
	vfio_pci_config_init(pci);
	if (pci->type->reset)
		pci->type->reset(pci->model);
	vfio_pci_irq_reset(pci);
	vfio_pci_config_enable(pci);
	pci->low_power = false;
	atomic_store(&pci->open, true);
	pthread_mutex_unlock(&pci->reg_lock);
	return 0;
}

void vfio_pci_close_device(struct vfio_device *vdev)
{
	struct vfio_pci_dev *pci = vdev->pci;

	if (!pci)
		return;
	unmap_all(pci);
	pthread_mutex_lock(&pci->reg_lock);
	atomic_store(&pci->open, false);
	vfio_pci_irq_teardown(pci);
	ioeventfds_drop_all(pci);
	/* Bus master off first: DMA the model still tries fails with EIO. */
	vfio_pci_config_disable(pci);
	if (pci->type->reset)
		pci->type->reset(pci->model);
	vfio_pci_config_init(pci);
	vfio_pci_irq_reset(pci);
	pci->low_power = false;
	vfio_pci_eventfd_put(&pci->wakeup);
	pthread_mutex_unlock(&pci->reg_lock);
	/* Nothing is watched any more: the thread goes before the close returns. */
	vfio_pci_watcher_stop(&pci->watcher);
}

/* ==================================================== region access */

/* Low power ends on an access when the program asked to be woken. */
static void wake_locked(struct vfio_pci_dev *pci)
{
	if (pci->low_power && pci->wakeup.fd >= 0) {
		vfio_pci_eventfd_signal(&pci->wakeup);
		vfio_pci_eventfd_put(&pci->wakeup);
		pci->low_power = false;
	}
}

static bool decode_on(struct vfio_pci_dev *pci, unsigned int bar)
{
	if (bar == VFIO_PCI_ROM_REGION_INDEX)
		return false;
	if (pci->bars[bar].io)
		return pci->cfg[PCI_COMMAND] & PCI_COMMAND_IO;
	return atomic_load(&pci->mem_enabled);
}

/* One naturally aligned access of @size bytes at @off inside BAR @bar. */
static int bar_access(struct vfio_pci_dev *pci, unsigned int bar, uint64_t off,
		      unsigned int size, uint64_t *val, bool write)
{
	if (off >= pci->bars[bar].size || size > pci->bars[bar].size - off)
		return -EINVAL;
	pthread_mutex_lock(&pci->reg_lock);
	wake_locked(pci);
	if (!decode_on(pci, bar)) {
		pthread_mutex_unlock(&pci->reg_lock);
		return -EIO;
	}
	if (!vfio_pci_msix_access(pci, bar, off, size, val, write)) {
		if (write)
			pci->type->bar_write(pci->model, bar, off, size, *val);
		else
			*val = pci->type->bar_read(pci->model, bar, off, size);
	}
	pthread_mutex_unlock(&pci->reg_lock);
	return 0;
}

static unsigned int piece(uint64_t pos, size_t left, unsigned int max)
{
	if (max >= 8 && left >= 8 && !(pos % 8))
		return 8;
	if (max >= 4 && left >= 4 && !(pos % 4))
		return 4;
	if (left >= 2 && !(pos % 2))
		return 2;
	return 1;
}

static ssize_t bar_rw(struct vfio_pci_dev *pci, unsigned int bar, uint64_t ubuf, size_t count,
		      uint64_t pos, bool write)
{
	uint64_t size = pci->bars[bar].size;
	uint8_t chunk[RW_CHUNK];
	size_t done = 0;

	if (pos >= size)
		return -EINVAL;
	if (count > size - pos)
		count = size - pos;	/* as the kernel: up to the end of the BAR */
	while (done < count) {
		size_t n = count - done < RW_CHUNK ? count - done : RW_CHUNK;

		if (write && copy_from_user(pci->host, chunk, ubuf + done, n))
			return -EFAULT;
		for (size_t i = 0; i < n;) {
			unsigned int sz = piece(pos + done + i, n - i, 8);
			uint64_t v = 0;
			int rc;

			if (write)
				memcpy(&v, chunk + i, sz);
			rc = bar_access(pci, bar, pos + done + i, sz, &v, write);
			if (rc)
				return rc;
			if (!write)
				memcpy(chunk + i, &v, sz);
			i += sz;
		}
		if (!write && copy_to_user(pci->host, ubuf + done, chunk, n))
			return -EFAULT;
		done += n;
	}
	return (ssize_t)done;
}

static ssize_t config_rw(struct vfio_pci_dev *pci, uint64_t ubuf, size_t count, uint64_t pos,
			 bool write)
{
	uint8_t chunk[RW_CHUNK];
	size_t done = 0;

	/* The kernel refuses any access reaching past config space with EFAULT. */
	if (pos >= pci->cfg_size || count > pci->cfg_size - pos)
		return -EFAULT;
	while (done < count) {
		size_t n = count - done < RW_CHUNK ? count - done : RW_CHUNK;

		if (write && copy_from_user(pci->host, chunk, ubuf + done, n))
			return -EFAULT;
		pthread_mutex_lock(&pci->reg_lock);
		wake_locked(pci);
		for (size_t i = 0; i < n;) {
			unsigned int off = (unsigned int)(pos + done + i);
			unsigned int sz = piece(off, n - i, 4);
			uint32_t v = 0;

			if (write) {
				memcpy(&v, chunk + i, sz);
				vfio_pci_config_write(pci, off, sz, v);
			} else {
				v = vfio_pci_config_read(pci, off, sz);
				memcpy(chunk + i, &v, sz);
			}
			i += sz;
		}
		pthread_mutex_unlock(&pci->reg_lock);
		if (!write && copy_to_user(pci->host, ubuf + done, chunk, n))
			return -EFAULT;
		done += n;
	}
	return (ssize_t)done;
}

ssize_t vfio_pci_rw(struct vfio_device *vdev, uint64_t ubuf, size_t count, uint64_t off,
		    bool write)
{
	struct vfio_pci_dev *pci = vdev->pci;
	uint64_t index = VFIO_PCI_OFFSET_TO_INDEX(off);
	uint64_t pos = off & VFIO_PCI_OFFSET_MASK;

	if (!pci)
		return -ENODEV;
	if (!count)
		return 0;
	if (index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		return config_rw(pci, ubuf, count, pos, write);
	case VFIO_PCI_ROM_REGION_INDEX:
		/* No ROM: every access is past its end. */
		return -EINVAL;
	case VFIO_PCI_VGA_REGION_INDEX:
		return -EINVAL;
	default:
		return bar_rw(pci, (unsigned int)index, ubuf, count, pos, write);
	}
}

/* ============================================================== mmap */

static uint64_t trap_read(void *priv, uint64_t off, unsigned int size)
{
	struct vfio_pci_map *m = priv;
	uint64_t v = 0;

	/* Decode off or past the BAR: the bus answers all ones. */
	if (bar_access(m->pci, m->bar, off, size, &v, false))
		return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
	return v;
}

static void trap_write(void *priv, uint64_t off, unsigned int size, uint64_t val)
{
	struct vfio_pci_map *m = priv;

	bar_access(m->pci, m->bar, off, size, &val, true);
}

static const struct mmio_trap_ops vfio_pci_trap_ops = {
	.read = trap_read,
	.write = trap_write,
};

int vfio_pci_mmap(struct vfio_device *vdev, void *addr, size_t len, int prot, int flags,
		  uint64_t off, void **out)
{
	struct vfio_pci_dev *pci = vdev->pci;
	uint64_t index = VFIO_PCI_OFFSET_TO_INDEX(off);
	uint64_t start = off & VFIO_PCI_OFFSET_MASK;
	size_t psz = page_size();
	uint64_t plen, blen;
	struct vfio_pci_map *m;
	int rc;

	if (!pci)
		return -ENODEV;
	if (index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	if (!(flags & MAP_SHARED))
		return -EINVAL;
	if (index >= VFIO_PCI_ROM_REGION_INDEX || !pci->bars[index].mmap)
		return -EINVAL;
	if (!len || (start & (psz - 1)))
		return -EINVAL;
	plen = (len + psz - 1) & ~(uint64_t)(psz - 1);
	blen = (pci->bars[index].size + psz - 1) & ~(uint64_t)(psz - 1);
	if (start > blen || plen > blen - start)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->pci = pci;
	m->bar = (unsigned int)index;
	m->len = plen;
	rc = mmio_trap_map(addr, plen, flags, &vfio_pci_trap_ops, m, start, &m->trap, &m->addr);
	if (rc) {
		free(m);
		return rc;
	}
	pthread_mutex_lock(&pci->map_lock);
	m->next = pci->maps;
	pci->maps = m;
	pthread_mutex_unlock(&pci->map_lock);
	*out = m->addr;
	return 0;
}

void vfio_pci_munmap(struct vfio_device *vdev, void *addr, size_t len)
{
	struct vfio_pci_dev *pci = vdev->pci;
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	struct vfio_pci_map **pp, *gone = NULL;

	if (!pci)
		return;
	/*
	 * A mapping wholly inside the range is finished with; one the program
	 * unmapped only part of stays until close (its rest still traps).
	 */
	pthread_mutex_lock(&pci->map_lock);
	for (pp = &pci->maps; *pp;) {
		struct vfio_pci_map *m = *pp;
		uintptr_t s = (uintptr_t)m->addr;

		if (s >= lo && s + m->len <= hi) {
			*pp = m->next;
			m->next = gone;
			gone = m;
		} else {
			pp = &m->next;
		}
	}
	pthread_mutex_unlock(&pci->map_lock);
	while (gone) {
		struct vfio_pci_map *next = gone->next;

		mmio_trap_unmap(gone->trap);
		free(gone);
		gone = next;
	}
}

/* ============================================================ sysfs */

size_t vfio_pci_config_snapshot(struct vfio_device *vdev, uint8_t *buf, size_t off, size_t len)
{
	struct vfio_pci_dev *pci = vdev->pci;
	size_t n;

	if (!pci || off >= pci->cfg_size)
		return 0;
	n = len < pci->cfg_size - off ? len : pci->cfg_size - off;
	/*
	 * Dword reads, as a config cycle would: model hooks see whole
	 * registers.  The BARs read as assigned: the host's view, not what
	 * a program's sizing left in vfio's.
	 */
	pthread_mutex_lock(&pci->reg_lock);
	for (size_t i = 0; i < n;) {
		unsigned int pos = (unsigned int)(off + i), base = pos & ~3u;
		uint32_t v = base >= PCI_BASE_ADDRESS_0 && base <= PCI_BASE_ADDRESS_5
				     ? vfio_pci_bar_assigned(pci, (base - PCI_BASE_ADDRESS_0) / 4)
				     : vfio_pci_config_read(pci, base, 4);

		for (unsigned int b = pos - base; b < 4 && i < n; b++)
			buf[i++] = (uint8_t)(v >> (8 * b));
	}
	pthread_mutex_unlock(&pci->reg_lock);
	return n;
}

unsigned int vfio_pci_enable_count(struct vfio_device *vdev)
{
	/* vfio-pci enables the function at first open and disables it at last close. */
	return vdev->pci && atomic_load(&vdev->pci->open) ? 1 : 0;
}

void vfio_pci_bar_resource(struct vfio_device *vdev, unsigned int bar, uint64_t *start,
			   uint64_t *end, uint64_t *flags)
{
	struct vfio_pci_dev *pci = vdev->pci;
	const struct vfio_pci_bar *b;

	*start = *end = *flags = 0;
	if (!pci || bar >= 6 || !pci->bars[bar].size)
		return;
	b = &pci->bars[bar];
	*start = b->addr;
	*end = b->addr + b->size - 1;
	if (b->io) {
		*flags = IORESOURCE_IO | IORESOURCE_SIZEALIGN | PCI_BASE_ADDRESS_SPACE_IO;
		return;
	}
	*flags = IORESOURCE_MEM | IORESOURCE_SIZEALIGN;
	if (b->mem64)
		*flags |= IORESOURCE_MEM_64 | PCI_BASE_ADDRESS_MEM_TYPE_64;
	if (b->prefetch)
		*flags |= IORESOURCE_PREFETCH | PCI_BASE_ADDRESS_MEM_PREFETCH;
}

/* ============================================================ ioctls */

/* Copy in the first @minsz bytes of the argument and check argsz. */
static int arg_in(struct vfio_pci_dev *pci, uint64_t uarg, void *k, size_t minsz)
{
	if (copy_from_user(pci->host, k, uarg, minsz))
		return -EFAULT;
	if (*(uint32_t *)k < minsz)
		return -EINVAL;
	return 0;
}

static int arg_out(struct vfio_pci_dev *pci, uint64_t uarg, const void *k, size_t len)
{
	return copy_to_user(pci->host, uarg, k, len) ? -EFAULT : 0;
}

static long ioctl_get_info(struct vfio_pci_dev *pci, uint64_t uarg)
{
	struct vfio_device_info info;
	size_t minsz = offsetof(struct vfio_device_info, cap_offset);
	int rc = arg_in(pci, uarg, &info, minsz);

	if (rc)
		return rc;
	/* Older callers' struct ends before cap_offset: write it only when it is there. */
	if (info.argsz >= offsetof(struct vfio_device_info, pad)) {
		minsz = offsetof(struct vfio_device_info, pad);
		info.cap_offset = 0;
	}
	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	return arg_out(pci, uarg, &info, minsz);
}

static long ioctl_get_region_info(struct vfio_pci_dev *pci, uint64_t uarg)
{
	struct vfio_region_info info;
	struct vfio_info_cap_header cap = { 0 };
	size_t minsz = sizeof(info), capsz = 0;
	int rc = arg_in(pci, uarg, &info, minsz);

	if (rc)
		return rc;
	/* VGA (this is no VGA function) and anything past it do not exist. */
	if (info.index >= VFIO_PCI_VGA_REGION_INDEX)
		return -EINVAL;
	info.offset = (uint64_t)info.index << VFIO_PCI_OFFSET_SHIFT;
	info.size = 0;
	info.flags = 0;
	if (info.index == VFIO_PCI_CONFIG_REGION_INDEX) {
		info.size = pci->cfg_size;
		info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	} else if (info.index < VFIO_PCI_ROM_REGION_INDEX && pci->bars[info.index].size) {
		const struct vfio_pci_bar *b = &pci->bars[info.index];
		bool msix_here = pci->type->caps.msix && info.index == pci->type->caps.msix_bar;

		info.size = b->size;
		info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			     (b->mmap ? VFIO_REGION_INFO_FLAG_MMAP : 0);
		if (b->mmap && msix_here) {
			/* The whole BAR maps, the MSI-X table with it. */
			cap.id = VFIO_REGION_INFO_CAP_MSIX_MAPPABLE;
			cap.version = 1;
			capsz = sizeof(cap);
		}
	}
	/* The ROM: none, so size 0 and no flags, like an absent BAR. */
	if (capsz) {
		info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (info.argsz < sizeof(info) + capsz) {
			info.argsz = sizeof(info) + capsz;
			info.cap_offset = 0;
		} else {
			cap.next = 0;
			if (arg_out(pci, uarg + sizeof(info), &cap, capsz))
				return -EFAULT;
			info.cap_offset = sizeof(info);
		}
	}
	return arg_out(pci, uarg, &info, minsz);
}

static long ioctl_get_irq_info(struct vfio_pci_dev *pci, uint64_t uarg)
{
	struct vfio_irq_info info;
	int rc = arg_in(pci, uarg, &info, sizeof(info));

	if (rc)
		return rc;
	if (info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	if (info.index == VFIO_PCI_ERR_IRQ_INDEX && !vfio_pci_is_pcie(pci))
		return -EINVAL;
	info.flags = VFIO_IRQ_INFO_EVENTFD;
	if (info.index == VFIO_PCI_INTX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
	info.count = vfio_pci_irq_count(pci, info.index);
	return arg_out(pci, uarg, &info, sizeof(info));
}

static long ioctl_set_irqs(struct vfio_pci_dev *pci, uint64_t uarg)
{
	struct vfio_irq_set hdr;
	size_t minsz = sizeof(hdr), esize = 0, dsize = 0;
	unsigned int max;
	uint8_t *data = NULL;
	long rc;

	if (copy_from_user(pci->host, &hdr, uarg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz || hdr.index >= VFIO_PCI_NUM_IRQS ||
	    hdr.count >= UINT32_MAX - hdr.start ||
	    (hdr.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)))
		return -EINVAL;
	max = vfio_pci_irq_count(pci, hdr.index);
	if (hdr.start >= max || hdr.start + hdr.count > max)
		return -EINVAL;
	switch (hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		break;
	case VFIO_IRQ_SET_DATA_BOOL:
		esize = 1;
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		esize = 4;
		break;
	default:
		return -EINVAL;
	}
	if (esize) {
		dsize = (size_t)hdr.count * esize;
		if (hdr.argsz - minsz < dsize)
			return -EINVAL;
		if (dsize) {
			data = malloc(dsize);
			if (!data)
				return -ENOMEM;
			if (copy_from_user(pci->host, data, uarg + minsz, dsize)) {
				free(data);
				return -EFAULT;
			}
		}
	}
	/* Config space changes with the interrupt setup (MSI/MSI-X enable). */
	pthread_mutex_lock(&pci->reg_lock);
	rc = vfio_pci_set_irqs(pci, hdr.flags, hdr.index, hdr.start, hdr.count, data);
	pthread_mutex_unlock(&pci->reg_lock);
	free(data);
	return rc;
}

static long ioctl_reset(struct vfio_pci_dev *pci)
{
	pthread_mutex_lock(&pci->reg_lock);
	vfio_pci_reset_locked(pci);
	pthread_mutex_unlock(&pci->reg_lock);
	return 0;
}

/*
 * The functions a bus reset of @vdev reaches: every one of the set on the
 * same domain and bus (our bridge can reset its bus; there are no slots).
 * A malloc'd array of *@n.
 */
static struct vfio_device **affected_devices(struct vfio_device *vdev, size_t *n)
{
	struct vfio_devset *set = vdev->set;
	struct vfio_device **out;
	size_t total = 1, k = 0;

	if (set)
		total = vfio_devset_count(set);
	out = calloc(total ? total : 1, sizeof(*out));
	if (!out)
		return NULL;
	if (!set) {
		out[k++] = vdev;
	} else {
		for (size_t i = 0; i < total; i++) {
			struct vfio_device *d = vfio_devset_device(set, i);

			if (d && d->spec.domain == vdev->spec.domain && d->spec.bus == vdev->spec.bus)
				out[k++] = d;
		}
	}
	*n = k;
	return out;
}

static bool cdev_opened(struct vfio_device *vdev)
{
	return vfio_device_cdev_opened(vdev);
}

/*
 * Whether @d is the caller's by its iommufd context @ictx: bound there, or
 * in an IOMMU group one of the functions bound there belongs to.
 */
static bool owned_by_ctx(struct vfio_device *d, struct iommufd_ctx *ictx,
			 struct vfio_device **devs, size_t n)
{
	if (__atomic_load_n(&d->ictx, __ATOMIC_ACQUIRE) == ictx)
		return true;
	for (size_t i = 0; i < n; i++)
		if (devs[i]->group && devs[i]->group == d->group &&
		    __atomic_load_n(&devs[i]->ictx, __ATOMIC_ACQUIRE) == ictx)
			return true;
	return false;
}

static long ioctl_hot_reset_info(struct vfio_pci_dev *pci, uint64_t uarg)
{
	struct vfio_device *vdev = pci->vdev;
	struct vfio_pci_hot_reset_info hdr;
	struct vfio_pci_dependent_device *ents = NULL;
	size_t minsz = sizeof(hdr), n = 0;
	struct vfio_device **devs;
	long rc = arg_in(pci, uarg, &hdr, minsz);

	if (rc)
		return rc;
	hdr.flags = 0;
	devs = affected_devices(vdev, &n);
	if (!devs)
		return -ENOMEM;
	if (hdr.argsz < minsz + n * sizeof(*ents)) {
		hdr.count = (uint32_t)n;
		rc = -ENOSPC;
		goto out;
	}
	ents = calloc(n ? n : 1, sizeof(*ents));
	if (!ents) {
		rc = -ENOMEM;
		goto out_devs;
	}
	if (cdev_opened(vdev))
		hdr.flags = VFIO_PCI_HOT_RESET_FLAG_DEV_ID | VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
	for (size_t i = 0; i < n; i++) {
		struct vfio_device *d = devs[i];

		ents[i].segment = (uint16_t)d->spec.domain;
		ents[i].bus = d->spec.bus;
		ents[i].devfn = (uint8_t)((d->spec.slot << 3) | d->spec.func);
		if (hdr.flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID) {
			struct iommufd_ctx *ictx = __atomic_load_n(&vdev->ictx, __ATOMIC_ACQUIRE);

			if (ictx && __atomic_load_n(&d->ictx, __ATOMIC_ACQUIRE) == ictx && d->idev)
				ents[i].devid = d->dev_id;
			else if (ictx && owned_by_ctx(d, ictx, devs, n))
				ents[i].devid = VFIO_PCI_DEVID_OWNED;
			else
				ents[i].devid = (uint32_t)VFIO_PCI_DEVID_NOT_OWNED;
			if (ents[i].devid == (uint32_t)VFIO_PCI_DEVID_NOT_OWNED)
				hdr.flags &= ~VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
		} else {
			ents[i].group_id = d->group ? (uint32_t)vfio_group_id(d->group)
								     : 0;
		}
	}
	hdr.count = (uint32_t)n;
out:
	if (arg_out(pci, uarg, &hdr, minsz))
		rc = -EFAULT;
	if (!rc && arg_out(pci, uarg + minsz, ents, n * sizeof(*ents)))
		rc = -EFAULT;
out_devs:
	free(ents);
	free(devs);
	return rc;
}

static void reset_devices(struct vfio_device **devs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct vfio_pci_dev *p = devs[i]->pci;

		if (!p)
			continue;
		pthread_mutex_lock(&p->reg_lock);
		vfio_pci_reset_locked(p);
		pthread_mutex_unlock(&p->reg_lock);
	}
}

/* The file behind @fd: 1 if it grants @d, 0 if not, -EBADF / -EINVAL. */
static int file_has_dev(int fd, struct vfio_device *d)
{
	/* Only functions of a device set have group and device files. */
	if (d->set)
		return vfio_file_has_dev(fd, d);
	return fd < 0 || fcntl(fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
}

static long ioctl_hot_reset(struct vfio_pci_dev *pci, uint64_t uarg)
{
	struct vfio_device *vdev = pci->vdev;
	struct vfio_pci_hot_reset hdr;
	size_t minsz = sizeof(hdr), n = 0;
	struct vfio_device **devs;
	int32_t *fds = NULL;
	long rc;

	rc = arg_in(pci, uarg, &hdr, minsz);
	if (rc)
		return rc;
	if (hdr.flags)
		return -EINVAL;
	/* Group-opened devices name their groups; cdev-opened ones use count 0. */
	if (!!hdr.count == cdev_opened(vdev))
		return -EINVAL;
	devs = affected_devices(vdev, &n);
	if (!devs)
		return -ENOMEM;
	if (!hdr.count) {
		struct iommufd_ctx *ictx = __atomic_load_n(&vdev->ictx, __ATOMIC_ACQUIRE);

		rc = ictx ? 0 : -EINVAL;
		for (size_t i = 0; !rc && i < n; i++)
			if (!owned_by_ctx(devs[i], ictx, devs, n))
				rc = -EINVAL;
		goto done;
	}
	if (hdr.count > n) {
		rc = -EINVAL;
		goto done;
	}
	fds = calloc(hdr.count, sizeof(*fds));
	if (!fds) {
		rc = -ENOMEM;
		goto done;
	}
	if (copy_from_user(pci->host, fds, uarg + minsz, hdr.count * sizeof(*fds))) {
		rc = -EFAULT;
		goto done;
	}
	rc = 0;
	for (uint32_t j = 0; !rc && j < hdr.count; j++) {
		int r = file_has_dev(fds[j], vdev);

		if (r < 0)
			rc = r;
	}
	for (size_t i = 0; !rc && i < n; i++) {
		bool covered = false;

		for (uint32_t j = 0; !covered && j < hdr.count; j++)
			covered = file_has_dev(fds[j], devs[i]) == 1;
		if (!covered)
			rc = -EINVAL;
	}
done:
	if (!rc)
		reset_devices(devs, n);
	free(fds);
	free(devs);
	return rc;
}

#define FEATURE_DIR (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)

/*
 * The VFIO core's rule for a feature that supports the directions in @ops:
 * 0 answers a probe, 1 means go ahead, or an errno.
 */
static int check_feature(uint32_t flags, size_t argsz, uint32_t ops, size_t minsz)
{
	uint32_t dir = flags & FEATURE_DIR;

	if (dir & ~ops)
		return -EINVAL;	/* a direction this feature does not have */
	if (flags & VFIO_DEVICE_FEATURE_PROBE)
		return 0;
	return dir && argsz >= minsz ? 1 : -EINVAL;
}

static long feature_low_power(struct vfio_pci_dev *pci, uint32_t flags, uint64_t udata,
			      size_t argsz, unsigned int which)
{
	struct vfio_device_low_power_entry_with_wakeup w;
	size_t need = which == VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP ? sizeof(w) : 0;
	int rc = check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET, need);
	int fd = -1;

	if (rc != 1)
		return rc;
	if (need) {
		if (copy_from_user(pci->host, &w, udata, sizeof(w)))
			return -EFAULT;
		fd = vfio_pci_eventfd_get(w.wakeup_eventfd);
		if (fd < 0)
			return fd;
	}
	pthread_mutex_lock(&pci->reg_lock);
	if (which == VFIO_DEVICE_FEATURE_LOW_POWER_EXIT) {
		if (pci->low_power && pci->wakeup.fd >= 0)
			vfio_pci_eventfd_signal(&pci->wakeup);
		vfio_pci_eventfd_put(&pci->wakeup);
		pci->low_power = false;
	} else if (pci->low_power) {
		rc = -EINVAL;
	} else {
		pci->low_power = true;
		pci->wakeup.fd = fd;
		fd = -1;
	}
	pthread_mutex_unlock(&pci->reg_lock);
	if (fd >= 0)
		close(fd);
	return rc == 1 ? 0 : rc;
}

static long ioctl_feature(struct vfio_pci_dev *pci, uint64_t uarg)
{
	struct vfio_device_feature f;
	size_t minsz = sizeof(f);
	int rc = arg_in(pci, uarg, &f, minsz);
	unsigned int which;

	if (rc)
		return rc;
	if (f.flags & ~(uint32_t)(VFIO_DEVICE_FEATURE_MASK | FEATURE_DIR | VFIO_DEVICE_FEATURE_PROBE))
		return -EINVAL;
	/* Both directions at once only make sense in a probe. */
	if ((f.flags & FEATURE_DIR) == FEATURE_DIR && !(f.flags & VFIO_DEVICE_FEATURE_PROBE))
		return -EINVAL;
	which = f.flags & VFIO_DEVICE_FEATURE_MASK;
	switch (which) {
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY:
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP:
	case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT:
		return feature_low_power(pci, f.flags, uarg + minsz, f.argsz - minsz, which);
	default:
		/* Migration, DMA logging, the VF token: no driver for them here. */
		return -ENOTTY;
	}
}

/* ---- VFIO_DEVICE_IOEVENTFD */

/* The registered write, unless retired meanwhile or the BAR's decode is off. */
static void ioeventfd_fired(struct vfio_pci_watch *w)
{
	struct vfio_pci_ioeventfd *io = (struct vfio_pci_ioeventfd *)w;
	struct vfio_pci_dev *pci = w->pci;
	uint64_t val = io->data;

	pthread_mutex_lock(&pci->reg_lock);
	/* I/O BARs are written whatever the command register says, as vfio-pci does. */
	if (!w->retired && (pci->bars[io->bar].io || atomic_load(&pci->mem_enabled)) &&
	    !vfio_pci_msix_access(pci, io->bar, io->pos, io->size, &val, true))
		pci->type->bar_write(pci->model, io->bar, io->pos, io->size, val);
	pthread_mutex_unlock(&pci->reg_lock);
}

/* Whether [pos, pos + size) of @bar touches the MSI-X table. */
static bool hits_msix_table(const struct vfio_pci_dev *pci, unsigned int bar, uint64_t pos,
			    unsigned int size)
{
	const struct devmodel_caps *c = &pci->type->caps;
	uint64_t table_end = c->msix_table_off + 16ull * c->msix_vectors;

	if (!c->msix || bar != c->msix_bar)
		return false;
	return pos < table_end && pos + size > c->msix_table_off;
}

/* Retire and forget every registration; reg_lock held. */
static void ioeventfds_drop_all(struct vfio_pci_dev *pci)
{
	while (pci->ioeventfds) {
		struct vfio_pci_ioeventfd *io = pci->ioeventfds;

		pci->ioeventfds = io->next;
		vfio_pci_watch_retire(&pci->watcher, &io->watch);
	}
	pci->nr_ioeventfds = 0;
}

static int ioeventfd_add(struct vfio_pci_dev *pci, unsigned int bar, uint64_t pos,
			 unsigned int size, uint64_t data, int32_t fd)
{
	struct vfio_pci_ioeventfd *io;
	int nfd, rc;

	if (pci->nr_ioeventfds >= VFIO_PCI_IOEVENTFD_MAX)
		return -ENOSPC;
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	nfd = vfio_pci_eventfd_get(fd);
	if (nfd < 0) {
		rc = nfd;
		goto err_free;
	}
	io->bar = bar;
	io->pos = pos;
	io->size = size;
	io->data = data;
	io->watch.pci = pci;
	io->watch.fd = nfd;
	io->watch.fire = ioeventfd_fired;
	rc = vfio_pci_watch_add(&pci->watcher, &io->watch);
	if (rc)
		goto err_close;
	io->next = pci->ioeventfds;
	pci->ioeventfds = io;
	pci->nr_ioeventfds++;
	return 0;

err_close:
	close(nfd);
err_free:
	free(io);
	return rc;
}

static long ioctl_ioeventfd(struct vfio_pci_dev *pci, uint64_t uarg)
{
	struct vfio_device_ioeventfd req;
	struct vfio_pci_ioeventfd **pp;
	unsigned int bar, size;
	uint64_t pos;
	int rc = arg_in(pci, uarg, &req, offsetof(struct vfio_device_ioeventfd, reserved));

	if (rc)
		return rc;
	size = req.flags;
	/* One size flag and nothing else; its value is the width in bytes. */
	if ((size & ~VFIO_DEVICE_IOEVENTFD_SIZE_MASK) || !size || (size & (size - 1)) ||
	    req.fd < -1)
		return -EINVAL;
	bar = (unsigned int)(req.offset >> VFIO_PCI_OFFSET_SHIFT);
	pos = req.offset & VFIO_PCI_OFFSET_MASK;
	if (req.offset >> VFIO_PCI_OFFSET_SHIFT > VFIO_PCI_BAR5_REGION_INDEX ||
	    pos + size > pci->bars[bar].size || hits_msix_table(pci, bar, pos, size))
		return -EINVAL;

	pthread_mutex_lock(&pci->reg_lock);
	for (pp = &pci->ioeventfds; *pp; pp = &(*pp)->next) {
		struct vfio_pci_ioeventfd *io = *pp;

		if (io->bar != bar || io->pos != pos || io->size != size || io->data != req.data)
			continue;
		rc = -EEXIST;
		if (req.fd == -1) {
			*pp = io->next;
			pci->nr_ioeventfds--;
			vfio_pci_watch_retire(&pci->watcher, &io->watch);
			rc = 0;
		}
		goto out_unlock;
	}
	rc = req.fd == -1 ? -ENODEV : ioeventfd_add(pci, bar, pos, size, req.data, req.fd);
out_unlock:
	pthread_mutex_unlock(&pci->reg_lock);
	return rc;
}

long vfio_pci_ioctl(struct vfio_device *vdev, unsigned long cmd, uint64_t uarg)
{
	struct vfio_pci_dev *pci = vdev->pci;

	if (!pci)
		return -ENODEV;
	switch ((unsigned int)cmd) {
	case VFIO_DEVICE_GET_INFO:
		return ioctl_get_info(pci, uarg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return ioctl_get_region_info(pci, uarg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return ioctl_get_irq_info(pci, uarg);
	case VFIO_DEVICE_SET_IRQS:
		return ioctl_set_irqs(pci, uarg);
	case VFIO_DEVICE_RESET:
		return ioctl_reset(pci);
	case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
		return ioctl_hot_reset_info(pci, uarg);
	case VFIO_DEVICE_PCI_HOT_RESET:
		return ioctl_hot_reset(pci, uarg);
	case VFIO_DEVICE_FEATURE:
		return ioctl_feature(pci, uarg);
	case VFIO_DEVICE_IOEVENTFD:
		return ioctl_ioeventfd(pci, uarg);
	default:
		return -ENOTTY;
	}
}
