// SPDX-License-Identifier: MIT
/*
 * The vfio-pci layer (src/vfio/pci*.c) driven through its device-fd entry
 * points (vfio_pci_ioctl/_rw/_mmap), with a small device model defined
 * here: a register file in BAR0, a doorbell that raises an interrupt
 * vector, a register pair that makes the device DMA, an MSI-X table and
 * PBA in BAR0, and a device-specific config register.  The checks are the
 * kernel's answers as docs/uapi-behaviour.md ("vfio-pci") lists them.
 *
 * Everything behind it is real: BAR mappings are the library's MMIO traps
 * (loads and stores below fault and are emulated), and the I/OAT tests at
 * the end run the "ioat" model, alone and in a device set.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/pci_regs.h>

#include "helpers.h"
#include "core/iommufd_private.h"
#include "vfio/pci.h"
#include "devices/ioat_hw.h"
#include "uapi/vfio_device.h"
#include "uapi/vfio_group.h"


/* ================================================================ the model */

#define TM_REGS 0x1000		/* plain registers at the start of BAR0 */
#define TM_IRQ 0x100		/* write: raise interrupt vector <value> */
#define TM_DMA_IOVA 0x110
#define TM_DMA_LEN 0x118
#define TM_DMA_GO 0x120		/* write 1: read memory, 2: write memory (the pattern) */
#define TM_DMA_RESULT 0x128	/* the bus's answer, as a negative errno or 0 */
#define TM_MSIX_TABLE 0x2000
#define TM_MSIX_PBA 0x3000
#define TM_CFG_REG 0x200	/* a device-specific config register */

struct tmodel {
	const struct devmodel_bus *bus;
	uint8_t regs[TM_REGS];
	uint8_t dma_buf[4096];
	uint32_t cfg_reg;
	unsigned int resets;
};

static int tm_create(const struct devmodel_bus *bus, const char *opts, void **out)
{
	struct tmodel *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	if (opts && *opts) {
		free(m);
		return -EINVAL;
	}
	m->bus = bus;
	*out = m;
	return 0;
}

static void tm_destroy(void *p)
{
	free(p);
}

static uint64_t tm_reg(struct tmodel *m, uint64_t off)
{
	uint64_t v;

	memcpy(&v, m->regs + off, 8);
	return v;
}

static uint64_t tm_bar_read(void *p, unsigned int bar, uint64_t off, unsigned int size)
{
	struct tmodel *m = p;
	uint64_t v = 0;

	if (bar == 0 && off + size <= TM_REGS)
		memcpy(&v, m->regs + off, size);
	else if (bar == 2)
		v = 0xa5a5a5a5a5a5a5a5ull;
	return v;
}

static void tm_bar_write(void *p, unsigned int bar, uint64_t off, unsigned int size,
			 uint64_t val)
{
	struct tmodel *m = p;
	int64_t rc;

	if (bar != 0 || off + size > TM_REGS)
		return;
	memcpy(m->regs + off, &val, size);
	if (off == TM_IRQ) {
		m->bus->irq(m->bus->opaque, (unsigned int)val);
	} else if (off == TM_DMA_GO) {
		uint64_t len = tm_reg(m, TM_DMA_LEN);

		if (len > sizeof(m->dma_buf))
			len = sizeof(m->dma_buf);
		if (val == 2)
			memset(m->dma_buf, 0xc3, len);
		rc = m->bus->dma(m->bus->opaque, tm_reg(m, TM_DMA_IOVA), m->dma_buf, len,
				 val == 2);
		memcpy(m->regs + TM_DMA_RESULT, &rc, 8);
	}
}

static bool tm_config_read(void *p, unsigned int off, unsigned int size, uint32_t *val)
{
	struct tmodel *m = p;

	if (off != TM_CFG_REG || size != 4)
		return false;
	*val = m->cfg_reg;
	return true;
}

static bool tm_config_write(void *p, unsigned int off, unsigned int size, uint32_t val)
{
	struct tmodel *m = p;

	if (off != TM_CFG_REG || size != 4)
		return false;
	m->cfg_reg = val & 0xffff;	/* only the low half is implemented */
	return true;
}

static void tm_reset(void *p)
{
	struct tmodel *m = p;

	memset(m->regs, 0, sizeof(m->regs));
	m->resets++;
}

static const struct devmodel_type tm_type = {
	.name = "tm",
	.summary = "test model",
	.vendor = 0x1af4, .device = 0x10f0,
	.subsystem_vendor = 0x1af4, .subsystem_device = 0x0001,
	.class_code = 0x088000,
	.revision = 3,
	.bars = {
		[0] = { .size = 0x4000, .mem64 = true },
		[2] = { .size = 0x1000 },
		[4] = { .size = 0x40, .io = true },
	},
	.caps = {
		.pm = 0x50, .msi = 0x60, .msix = 0x80, .pcie = 0x90,
		.msi_vectors = 4, .msi_64bit = true, .msi_maskable = true,
		.msix_vectors = 4, .msix_bar = 0,
		.msix_table_off = TM_MSIX_TABLE, .msix_pba_off = TM_MSIX_PBA,
		.pcie_type = PCI_EXP_TYPE_ENDPOINT, .flr = true, .intx = true,
	},
	.create = tm_create,
	.destroy = tm_destroy,
	.bar_read = tm_bar_read,
	.bar_write = tm_bar_write,
	.config_read = tm_config_read,
	.config_write = tm_config_write,
	.reset = tm_reset,
};

/* ================================================================ fixture */

struct fx {
	struct vfio_device vdev;
	struct tmodel *m;
};

static int fx_setup_type(void **state, const struct devmodel_type *type, bool noiommu)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->vdev.name, "0000:01:00.0");
	f->vdev.spec.type = type;
	f->vdev.spec.bus = 1;
	f->vdev.spec.group = -1;
	f->vdev.spec.noiommu = noiommu;
	f->vdev.dev.host = uiommufd_host_inproc();
	pthread_mutex_init(&f->vdev.lock, NULL);
	if (vfio_pci_create(&f->vdev) || vfio_pci_open_device(&f->vdev)) {
		free(f);
		return -1;
	}
	f->m = f->vdev.pci->model;
	*state = f;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_setup_type(state, &tm_type, false);
}

static int fx_setup_noiommu(void **state)
{
	return fx_setup_type(state, &tm_type, true);
}

/* The same function built around the registry's "ioat" model. */
static int fx_setup_ioat(void **state)
{
	const struct devmodel_type *t = devmodel_find("ioat");

	return t ? fx_setup_type(state, t, false) : -1;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	vfio_pci_close_device(&f->vdev);
	vfio_pci_destroy(&f->vdev);
	pthread_mutex_destroy(&f->vdev.lock);
	free(f);
	return 0;
}

static long dioctl(struct fx *f, unsigned long cmd, void *arg)
{
	return vfio_pci_ioctl(&f->vdev, cmd, (uint64_t)(uintptr_t)arg);
}

static ssize_t drw(struct fx *f, unsigned int index, uint64_t off, void *buf, size_t n,
		   bool write)
{
	return vfio_pci_rw(&f->vdev, (uint64_t)(uintptr_t)buf, n,
			   VFIO_PCI_INDEX_TO_OFFSET(index) + off, write);
}

static uint32_t cfg_rd(struct fx *f, unsigned int off, unsigned int size)
{
	uint32_t v = 0;

	assert_int_equal(drw(f, VFIO_PCI_CONFIG_REGION_INDEX, off, &v, size, false), size);
	return v;
}

static void cfg_wr(struct fx *f, unsigned int off, unsigned int size, uint32_t v)
{
	assert_int_equal(drw(f, VFIO_PCI_CONFIG_REGION_INDEX, off, &v, size, true), size);
}

static uint64_t bar_rd(struct fx *f, unsigned int bar, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	assert_int_equal(drw(f, bar, off, &v, size, false), size);
	return v;
}

static void bar_wr(struct fx *f, unsigned int bar, uint64_t off, unsigned int size, uint64_t v)
{
	assert_int_equal(drw(f, bar, off, &v, size, true), size);
}

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* The eventfd's count (0: not signalled), which reading resets. */
static uint64_t efd_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static long set_irqs(struct fx *f, uint32_t flags, uint32_t index, uint32_t start,
		     uint32_t count, const void *data, size_t dlen)
{
	struct {
		struct vfio_irq_set hdr;
		uint8_t data[64];
	} a = { .hdr = { .argsz = sizeof(struct vfio_irq_set) + dlen, .flags = flags,
			 .index = index, .start = start, .count = count } };

	if (dlen)
		memcpy(a.data, data, dlen);
	return dioctl(f, VFIO_DEVICE_SET_IRQS, &a);
}

static long set_eventfds(struct fx *f, uint32_t index, uint32_t start, uint32_t count,
			 const int32_t *fds)
{
	return set_irqs(f, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index, start,
			count, fds, count * sizeof(int32_t));
}

/* ================================================================ info */

static void test_get_info(void **state)
{
	struct fx *f = *state;
	struct vfio_device_info info = { .argsz = 16, .cap_offset = 0xdead };

	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	assert_int_equal(info.num_regions, 9);
	assert_int_equal(info.num_irqs, 5);
	assert_int_equal(info.cap_offset, 0xdead);	/* not the caller's: left alone */

	info = (struct vfio_device_info){ .argsz = sizeof(info), .cap_offset = 0xdead };
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(info.cap_offset, 0);
	assert_int_equal(info.argsz, sizeof(info));

	info.argsz = 15;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
	assert_int_equal(vfio_pci_ioctl(&f->vdev, VFIO_DEVICE_GET_INFO, 8), -EFAULT);
	assert_int_equal(dioctl(f, _IO(VFIO_TYPE, VFIO_BASE + 30), &info), -ENOTTY);
}

static void test_region_info(void **state)
{
	struct fx *f = *state;
	struct {
		struct vfio_region_info info;
		struct vfio_info_cap_header cap;
	} a;
	struct vfio_region_info *ri = &a.info;

	memset(&a, 0, sizeof(a));
	ri->argsz = sizeof(*ri);
	ri->index = VFIO_PCI_CONFIG_REGION_INDEX;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_REGION_INFO, ri), 0);
	assert_int_equal(ri->size, 4096);
	assert_int_equal(ri->flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
	assert_true(ri->offset == 7ull << 40);

	/* BAR0 carries the MSI-X table: the cap does not fit in 32 bytes. */
	ri->index = 0;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_REGION_INFO, ri), 0);
	assert_int_equal(ri->size, 0x4000);
	assert_int_equal(ri->flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				    VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(ri->argsz, sizeof(a));
	assert_int_equal(ri->cap_offset, 0);
	assert_int_equal(a.cap.id, 0);
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_REGION_INFO, ri), 0);
	assert_int_equal(ri->cap_offset, sizeof(*ri));
	assert_int_equal(a.cap.id, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
	assert_int_equal(a.cap.version, 1);
	assert_int_equal(a.cap.next, 0);

	/* The upper half of BAR0, a 32-bit BAR, an I/O BAR, the ROM, VGA. */
	*ri = (struct vfio_region_info){ .argsz = sizeof(*ri), .index = 1, .flags = 0xff };
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_REGION_INFO, ri), 0);
	assert_int_equal(ri->size, 0);
	assert_int_equal(ri->flags, 0);
	assert_true(ri->offset == 1ull << 40);
	ri->index = 2;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_REGION_INFO, ri), 0);
	assert_int_equal(ri->size, 0x1000);
	assert_int_equal(ri->flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				    VFIO_REGION_INFO_FLAG_MMAP);
	ri->index = 4;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_REGION_INFO, ri), 0);
	assert_int_equal(ri->size, 0x40);
	assert_int_equal(ri->flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
	ri->index = VFIO_PCI_ROM_REGION_INDEX;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_REGION_INFO, ri), 0);
	assert_int_equal(ri->size, 0);
	assert_int_equal(ri->flags, 0);
	ri->index = VFIO_PCI_VGA_REGION_INDEX;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_REGION_INFO, ri), -EINVAL);
	ri->index = 9;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_REGION_INFO, ri), -EINVAL);
	ri->index = 0;
	ri->argsz = 31;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_REGION_INFO, ri), -EINVAL);
}

static void test_irq_info(void **state)
{
	struct fx *f = *state;
	static const struct {
		uint32_t count, flags;
	} want[5] = {
		{ 1, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED },
		{ 4, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE },
		{ 4, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE },
		{ 1, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE },
		{ 1, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE },
	};
	struct vfio_irq_info ii;

	for (uint32_t i = 0; i < 5; i++) {
		ii = (struct vfio_irq_info){ .argsz = sizeof(ii), .index = i };
		assert_int_equal(dioctl(f, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
		assert_int_equal(ii.count, want[i].count);
		assert_int_equal(ii.flags, want[i].flags);
	}
	ii.index = 5;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_IRQ_INFO, &ii), -EINVAL);
	ii.index = 0;
	ii.argsz = 15;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_IRQ_INFO, &ii), -EINVAL);
}

/* ================================================================ config */

static void test_config_header(void **state)
{
	struct fx *f = *state;
	uint8_t buf[8];

	assert_int_equal(cfg_rd(f, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(f, PCI_DEVICE_ID, 2), 0x10f0);
	assert_int_equal(cfg_rd(f, PCI_CLASS_REVISION, 4), 0x08800003);
	assert_int_equal(cfg_rd(f, PCI_SUBSYSTEM_ID, 2), 0x0001);
	assert_int_equal(cfg_rd(f, PCI_INTERRUPT_PIN, 1), 1);
	/* IDs are read only. */
	cfg_wr(f, PCI_VENDOR_ID, 4, 0x12345678);
	assert_int_equal(cfg_rd(f, PCI_VENDOR_ID, 4), 0x10f01af4);
	/* Open leaves memory and I/O decode on, bus mastering off. */
	assert_int_equal(cfg_rd(f, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	assert_true(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* Unaligned, odd-sized reads split into pieces. */
	assert_int_equal(drw(f, VFIO_PCI_CONFIG_REGION_INDEX, 1, buf, 3, false), 3);
	assert_int_equal(buf[0], 0x1a);
	assert_int_equal(buf[1], 0xf0);
	assert_int_equal(buf[2], 0x10);
	/* Past the end of config space. */
	assert_int_equal(drw(f, VFIO_PCI_CONFIG_REGION_INDEX, 4094, buf, 4, false), -EFAULT);
	assert_int_equal(drw(f, VFIO_PCI_CONFIG_REGION_INDEX, 4096, buf, 1, false), -EFAULT);
	assert_int_equal(drw(f, VFIO_PCI_CONFIG_REGION_INDEX, 0, buf, 0, false), 0);
	/* A bad user buffer. */
	assert_int_equal(vfio_pci_rw(&f->vdev, 8, 4, VFIO_PCI_INDEX_TO_OFFSET(7), false),
			 -EFAULT);
}

static void test_config_bar_sizing(void **state)
{
	struct fx *f = *state;
	uint32_t lo = cfg_rd(f, PCI_BASE_ADDRESS_0, 4), hi = cfg_rd(f, PCI_BASE_ADDRESS_1, 4);
	uint64_t start, end, flags;

	vfio_pci_bar_resource(&f->vdev, 0, &start, &end, &flags);
	assert_true(start == ((uint64_t)hi << 32 | (lo & ~0xfu)));
	assert_true(end == start + 0x3fff);
	assert_true(flags == 0x140204);	/* MEM | SIZEALIGN | MEM_64, type 64 */
	assert_int_equal(lo & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_int_equal(start % 0x4000, 0);

	cfg_wr(f, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	cfg_wr(f, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
	assert_int_equal(cfg_rd(f, PCI_BASE_ADDRESS_0, 4), 0xffffc004);
	assert_int_equal(cfg_rd(f, PCI_BASE_ADDRESS_1, 4), 0xffffffff);
	cfg_wr(f, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	assert_int_equal(cfg_rd(f, PCI_BASE_ADDRESS_2, 4), 0xfffff000);
	cfg_wr(f, PCI_BASE_ADDRESS_4, 4, 0xffffffff);
	assert_int_equal(cfg_rd(f, PCI_BASE_ADDRESS_4, 4), 0xffffffc1);
	/* Unimplemented BARs and the ROM read 0 whatever is written. */
	cfg_wr(f, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	assert_int_equal(cfg_rd(f, PCI_BASE_ADDRESS_3, 4), 0);
	cfg_wr(f, PCI_ROM_ADDRESS, 4, 0xffffffff);
	assert_int_equal(cfg_rd(f, PCI_ROM_ADDRESS, 4), 0);
	cfg_wr(f, PCI_BASE_ADDRESS_0, 4, lo);
	cfg_wr(f, PCI_BASE_ADDRESS_1, 4, hi);
	assert_int_equal(cfg_rd(f, PCI_BASE_ADDRESS_0, 4), lo);

	vfio_pci_bar_resource(&f->vdev, 1, &start, &end, &flags);
	assert_true(start == 0 && end == 0 && flags == 0);
	vfio_pci_bar_resource(&f->vdev, 2, &start, &end, &flags);
	assert_true(flags == 0x40200 && end - start == 0xfff && start < 0x100000000ull);
	vfio_pci_bar_resource(&f->vdev, 4, &start, &end, &flags);
	assert_true(flags == 0x40101 && end - start == 0x3f);
}

static void test_config_caps(void **state)
{
	struct fx *f = *state;
	uint8_t want[] = { PCI_CAP_ID_PM, PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX, PCI_CAP_ID_EXP };
	uint8_t offs[] = { 0x50, 0x60, 0x80, 0x90 };
	uint8_t p = (uint8_t)cfg_rd(f, PCI_CAPABILITY_LIST, 1);
	uint8_t snap[64];

	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(p, offs[i]);
		assert_int_equal(cfg_rd(f, p, 1), want[i]);
		p = (uint8_t)cfg_rd(f, p + 1, 1);
	}
	assert_int_equal(p, 0);
	/* MSI: 4 vectors, 64-bit, maskable; enable and address writable. */
	assert_int_equal(cfg_rd(f, 0x60 + PCI_MSI_FLAGS, 2),
			 (2 << 1) | PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT);
	cfg_wr(f, 0x60 + PCI_MSI_ADDRESS_LO, 4, 0xfee00003);
	assert_int_equal(cfg_rd(f, 0x60 + PCI_MSI_ADDRESS_LO, 4), 0xfee00000);
	/* MSI-X: table size 4 in BAR0, read only through config space. */
	assert_int_equal(cfg_rd(f, 0x80 + PCI_MSIX_FLAGS, 2), 3);
	cfg_wr(f, 0x80 + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(cfg_rd(f, 0x80 + PCI_MSIX_FLAGS, 2), 3);
	assert_int_equal(cfg_rd(f, 0x80 + PCI_MSIX_TABLE, 4), TM_MSIX_TABLE);
	assert_int_equal(cfg_rd(f, 0x80 + PCI_MSIX_PBA, 4), TM_MSIX_PBA);
	/* PCIe v2 endpoint with FLR; PM with No_Soft_Reset. */
	assert_int_equal(cfg_rd(f, 0x90 + PCI_EXP_FLAGS, 2), 2 | (PCI_EXP_TYPE_ENDPOINT << 4));
	assert_true(cfg_rd(f, 0x90 + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR);
	assert_true(cfg_rd(f, 0x50 + PCI_PM_CTRL, 2) & PCI_PM_CTRL_NO_SOFT_RESET);
	cfg_wr(f, 0x50 + PCI_PM_CTRL, 2, 3);
	assert_int_equal(cfg_rd(f, 0x50 + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK, 3);
	/* No extended capabilities. */
	assert_int_equal(cfg_rd(f, 0x100, 4), 0);
	/* The device-specific register goes to the model. */
	cfg_wr(f, TM_CFG_REG, 4, 0xabcd1234);
	assert_int_equal(f->m->cfg_reg, 0x1234);
	assert_int_equal(cfg_rd(f, TM_CFG_REG, 4), 0x1234);
	/* Status error bits are write-one-to-clear; others read only. */
	cfg_wr(f, PCI_STATUS, 2, 0xffff);
	assert_int_equal(cfg_rd(f, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	/* sysfs's view is the same bytes. */
	assert_int_equal(vfio_pci_config_snapshot(&f->vdev, snap, 0, sizeof(snap)), sizeof(snap));
	assert_int_equal(snap[0], 0xf4);
	assert_int_equal(snap[PCI_CAPABILITY_LIST], 0x50);
	assert_int_equal(vfio_pci_config_snapshot(&f->vdev, snap, TM_CFG_REG + 1, 2), 2);
	assert_int_equal(snap[0], 0x12);
	assert_int_equal(snap[1], 0x00);
	assert_int_equal(vfio_pci_config_snapshot(&f->vdev, snap, 4090, 64), 6);
	assert_int_equal(vfio_pci_config_snapshot(&f->vdev, snap, 4096, 64), 0);
}

/* ================================================================ BARs */

static void test_bar_rw(void **state)
{
	struct fx *f = *state;
	uint8_t buf[16];

	bar_wr(f, 0, 0x10, 4, 0x11223344);
	assert_int_equal(bar_rd(f, 0, 0x10, 4), 0x11223344);
	assert_int_equal(bar_rd(f, 0, 0x12, 2), 0x1122);
	bar_wr(f, 0, 0x18, 8, 0x0102030405060708ull);
	assert_true(bar_rd(f, 0, 0x18, 8) == 0x0102030405060708ull);
	assert_true(tm_reg(f->m, 0x18) == 0x0102030405060708ull);
	/* A long unaligned access is split into aligned pieces. */
	assert_int_equal(drw(f, 0, 0x11, buf, 12, false), 12);
	assert_int_equal(buf[0], 0x33);
	assert_int_equal(buf[7], 0x08);
	assert_int_equal(buf[8], 0x07);
	/* Past the end: EINVAL at the end, short across it. */
	assert_int_equal(drw(f, 0, 0x4000, buf, 4, false), -EINVAL);
	assert_int_equal(drw(f, 0, 0x3ffc, buf, 8, false), 4);
	assert_int_equal(drw(f, 1, 0, buf, 4, false), -EINVAL);
	assert_int_equal(drw(f, VFIO_PCI_ROM_REGION_INDEX, 0, buf, 4, false), -EINVAL);
	assert_int_equal(drw(f, VFIO_PCI_ROM_REGION_INDEX, 0, buf, 4, true), -EINVAL);
	assert_int_equal(drw(f, VFIO_PCI_VGA_REGION_INDEX, 0, buf, 4, false), -EINVAL);
	assert_int_equal(drw(f, 9, 0, buf, 4, false), -EINVAL);
	assert_int_equal(drw(f, 0, 0, buf, 0, false), 0);
	assert_true(bar_rd(f, 2, 0, 8) == 0xa5a5a5a5a5a5a5a5ull);
	/* Memory decode off: the kernel's EIO; I/O BARs follow the IO bit. */
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_int_equal(drw(f, 0, 0x10, buf, 4, false), -EIO);
	assert_int_equal(drw(f, 0, 0x10, buf, 4, true), -EIO);
	assert_int_equal(drw(f, 4, 0, buf, 4, false), 4);
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(drw(f, 4, 0, buf, 4, false), -EIO);
	assert_int_equal(bar_rd(f, 0, 0x10, 4), 0x11223344);
}

static void test_mmap(void **state)
{
	struct fx *f = *state;
	uint64_t off0 = VFIO_PCI_INDEX_TO_OFFSET(0);
	void *p = NULL;
	volatile uint32_t *r;

	assert_int_equal(vfio_pci_mmap(&f->vdev, NULL, 0x4000, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE, off0, &p), -EINVAL);
	assert_int_equal(vfio_pci_mmap(&f->vdev, NULL, 0x1000, PROT_READ, MAP_SHARED,
				       VFIO_PCI_INDEX_TO_OFFSET(7), &p), -EINVAL);
	assert_int_equal(vfio_pci_mmap(&f->vdev, NULL, 0x1000, PROT_READ, MAP_SHARED,
				       VFIO_PCI_INDEX_TO_OFFSET(4), &p), -EINVAL);
	assert_int_equal(vfio_pci_mmap(&f->vdev, NULL, 0x5000, PROT_READ, MAP_SHARED, off0, &p),
			 -EINVAL);
	assert_int_equal(vfio_pci_mmap(&f->vdev, NULL, 0x1000, PROT_READ, MAP_SHARED,
				       off0 + 0x4000, &p), -EINVAL);
	assert_int_equal(vfio_pci_mmap(&f->vdev, NULL, 0x1000, PROT_READ, MAP_SHARED,
				       VFIO_PCI_INDEX_TO_OFFSET(9), &p), -EINVAL);

	assert_int_equal(vfio_pci_mmap(&f->vdev, NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED,
				       off0, &p), 0);
	assert_non_null(p);
	assert_ptr_equal(f->vdev.pci->maps->addr, p);
	r = p;
	/* Loads and stores through the mapping reach the model's registers. */
	bar_wr(f, 0, 0x20, 4, 0xcafef00d);
	assert_int_equal(r[0x20 / 4], 0xcafef00d);
	r[0x24 / 4] = 0x600df00d;
	assert_int_equal(bar_rd(f, 0, 0x24, 4), 0x600df00d);
	((volatile uint8_t *)p)[0x30] = 0x5e;
	assert_int_equal(tm_reg(f->m, 0x30) & 0xff, 0x5e);
	assert_true(((volatile uint64_t *)p)[0x18 / 8] == tm_reg(f->m, 0x18));
	/* A doorbell store runs the model's side effect: the interrupt it raises. */
	{
		int e = new_eventfd();
		int32_t fds[1] = { e };

		assert_int_equal(set_eventfds(f, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, fds), 0);
		r[TM_IRQ / 4] = 0;
		assert_int_equal(efd_count(e), 1);
		/* The MSI-X table through the mapping: the vector was unmasked. */
		assert_int_equal(r[(TM_MSIX_TABLE + 12) / 4], 0);
		assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
					  VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL, 0), 0);
		close(e);
	}
	/* Decode off: loads see all ones, stores go nowhere. */
	cfg_wr(f, PCI_COMMAND, 2, 0);
	assert_int_equal(r[0x20 / 4], 0xffffffff);
	assert_int_equal(((volatile uint8_t *)p)[0x20], 0xff);
	r[0x20 / 4] = 0x1234;
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(r[0x20 / 4], 0xcafef00d);
	vfio_pci_munmap(&f->vdev, p, 0x4000);
	assert_null(f->vdev.pci->maps);

	/* A mapping from inside the BAR: offsets count from the BAR's start. */
	assert_int_equal(vfio_pci_mmap(&f->vdev, NULL, 0x1000, PROT_READ, MAP_SHARED,
				       off0 + 0x2000, &p), 0);
	bar_wr(f, 0, TM_MSIX_TABLE + 16, 4, 0xfee0a000);
	r = p;
	assert_int_equal(r[16 / 4], 0xfee0a000);
	/* Vector 3 starts masked, as the table does after reset. */
	assert_int_equal(r[(3 * 16 + 12) / 4], 1);
	/* Left mapped: the fixture's close takes it down (test_close_releases checks that). */
}

/* ================================================================ IRQs */

static void test_msix(void **state)
{
	struct fx *f = *state;
	int efd = new_eventfd(), efd2 = new_eventfd();
	int32_t fds[2] = { -1, efd };
	uint64_t pba;

	assert_int_equal(set_eventfds(f, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, fds), 0);
	assert_true(cfg_rd(f, 0x80 + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE);
	/* Our own duplicate: the program may close its descriptor. */
	fds[0] = dup(efd);
	close(efd);
	efd = fds[0];
	bar_wr(f, 0, TM_IRQ, 4, 1);
	assert_int_equal(efd_count(efd), 1);
	/* The enabled vector is unmasked in the table; the others stay masked. */
	assert_int_equal(bar_rd(f, 0, TM_MSIX_TABLE + 16 + 12, 4), 0);
	assert_int_equal(bar_rd(f, 0, TM_MSIX_TABLE + 12, 4), 1);
	/* Mask vector 1 in the table: the interrupt waits in the PBA. */
	bar_wr(f, 0, TM_MSIX_TABLE + 16 + 12, 4, 1);
	bar_wr(f, 0, TM_IRQ, 4, 1);
	assert_int_equal(efd_count(efd), 0);
	pba = bar_rd(f, 0, TM_MSIX_PBA, 8);
	assert_true(pba == 2);
	bar_wr(f, 0, TM_MSIX_PBA, 8, 0);	/* read only */
	assert_true(bar_rd(f, 0, TM_MSIX_PBA, 8) == 2);
	bar_wr(f, 0, TM_MSIX_TABLE + 16 + 12, 4, 0);
	assert_int_equal(efd_count(efd), 1);
	assert_true(bar_rd(f, 0, TM_MSIX_PBA, 8) == 0);
	/* Table writes are stored. */
	bar_wr(f, 0, TM_MSIX_TABLE + 32, 8, 0x00000000fee01000ull);
	assert_true(bar_rd(f, 0, TM_MSIX_TABLE + 32, 8) == 0xfee01000ull);
	/* A vector without an eventfd, then one added later. */
	bar_wr(f, 0, TM_IRQ, 4, 3);
	fds[0] = efd2;
	assert_int_equal(set_eventfds(f, VFIO_PCI_MSIX_IRQ_INDEX, 3, 1, fds), 0);
	assert_int_equal(efd_count(efd2), 1);	/* it was pending while masked */
	/* Loopback triggers. */
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_MSIX_IRQ_INDEX, 1, 1, NULL, 0), 0);
	assert_int_equal(efd_count(efd), 1);
	{
		uint8_t b[3] = { 1, 0, 1 };

		assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER,
					  VFIO_PCI_MSIX_IRQ_INDEX, 1, 3, b, 3), 0);
		assert_int_equal(efd_count(efd), 1);
		assert_int_equal(efd_count(efd2), 1);
	}
	/* MSI and INTx refuse while MSI-X is on; masking MSI-X is not served. */
	fds[0] = efd;
	assert_int_equal(set_eventfds(f, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, fds), -EINVAL);
	assert_int_equal(set_eventfds(f, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds), -EINVAL);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
				  VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, NULL, 0), -ENOTTY);
	/* fd -1 tears a vector down. */
	fds[0] = -1;
	assert_int_equal(set_eventfds(f, VFIO_PCI_MSIX_IRQ_INDEX, 1, 1, fds), 0);
	bar_wr(f, 0, TM_IRQ, 4, 1);
	assert_int_equal(efd_count(efd), 0);
	/* count 0 with DATA_NONE disables MSI-X. */
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL, 0), 0);
	assert_false(cfg_rd(f, 0x80 + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE);
	bar_wr(f, 0, TM_IRQ, 4, 3);
	assert_int_equal(efd_count(efd2), 0);
	close(efd);
	close(efd2);
}

static void test_set_irqs_errors(void **state)
{
	struct fx *f = *state;
	int efd = new_eventfd(), p[2];
	int32_t fds[2];
	struct vfio_irq_set hdr = { .argsz = sizeof(hdr) };

	assert_int_equal(pipe(p), 0);
	fds[0] = p[0];
	assert_int_equal(set_eventfds(f, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, fds), -EINVAL);
	fds[0] = 1000;
	assert_int_equal(set_eventfds(f, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, fds), -EBADF);
	/* A bad fd after a good one: neither stays, MSI-X is off again. */
	fds[0] = efd;
	fds[1] = 1000;
	assert_int_equal(set_eventfds(f, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, fds), -EBADF);
	assert_int_equal(f->vdev.pci->irq_type, -1);
	bar_wr(f, 0, TM_IRQ, 4, 0);
	assert_int_equal(efd_count(efd), 0);
	/* Argument checks. */
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_MSIX_IRQ_INDEX, 4, 1, fds, 4), -EINVAL);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_MSIX_IRQ_INDEX, 3, 2, fds, 8), -EINVAL);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, fds, 4), -EINVAL);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_DATA_BOOL |
				  VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, fds, 4),
			 -EINVAL);
	assert_int_equal(set_irqs(f, (1 << 6) | VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_NONE,
				  VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 5, 0, 1,
				  NULL, 0), -EINVAL);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_MSIX_IRQ_INDEX, 1, UINT32_MAX - 1, NULL, 0), -EINVAL);
	/* Signalling a type that is not enabled. */
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_MSI_IRQ_INDEX, 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), -EINVAL);
	hdr.argsz = 19;
	assert_int_equal(dioctl(f, VFIO_DEVICE_SET_IRQS, &hdr), -EINVAL);
	assert_int_equal(vfio_pci_ioctl(&f->vdev, VFIO_DEVICE_SET_IRQS, 16), -EFAULT);
	close(p[0]);
	close(p[1]);
	close(efd);
}

static void test_msi(void **state)
{
	struct fx *f = *state;
	int e0 = new_eventfd(), e1 = new_eventfd();
	int32_t fds[2] = { e0, e1 };

	assert_int_equal(set_eventfds(f, VFIO_PCI_MSI_IRQ_INDEX, 0, 2, fds), 0);
	/* The message-enable field shows 2 vectors (log2 1). */
	assert_int_equal((cfg_rd(f, 0x60 + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QSIZE) >> 4, 1);
	bar_wr(f, 0, TM_IRQ, 4, 1);
	assert_int_equal(efd_count(e1), 1);
	assert_int_equal(efd_count(e0), 0);
	bar_wr(f, 0, TM_IRQ, 4, 0);
	assert_int_equal(efd_count(e0), 1);
	/* Beyond the enabled vectors. */
	assert_int_equal(set_eventfds(f, VFIO_PCI_MSI_IRQ_INDEX, 2, 1, fds), -EINVAL);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
				  VFIO_PCI_MSI_IRQ_INDEX, 0, 1, NULL, 0), -ENOTTY);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL, 0), 0);
	assert_int_equal(cfg_rd(f, 0x60 + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QSIZE, 0);
	bar_wr(f, 0, TM_IRQ, 4, 0);
	assert_int_equal(efd_count(e0), 0);
	close(e0);
	close(e1);
}

static void test_intx(void **state)
{
	struct fx *f = *state;
	int e = new_eventfd();
	int32_t fds[1] = { e };
	uint8_t one = 1;

	assert_int_equal(set_eventfds(f, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds), 0);
	bar_wr(f, 0, TM_IRQ, 4, 0);
	assert_int_equal(efd_count(e), 1);
	assert_true(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Automasked: the next one waits for the unmask. */
	bar_wr(f, 0, TM_IRQ, 4, 0);
	assert_int_equal(efd_count(e), 0);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), 0);
	assert_int_equal(efd_count(e), 1);	/* the pending one */
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_UNMASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &one, 1), 0);
	assert_false(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Masked by the program: nothing until unmasked. */
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), 0);
	bar_wr(f, 0, TM_IRQ, 4, 0);
	assert_int_equal(efd_count(e), 0);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_MASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds, 4), -ENOTTY);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), 0);
	assert_int_equal(efd_count(e), 1);
	/* Interrupt Disable in the command register holds INTx back until cleared. */
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), 0);
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	bar_wr(f, 0, TM_IRQ, 4, 0);
	assert_int_equal(efd_count(e), 0);
	assert_true(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(efd_count(e), 1);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), 0);
	/* Loopback trigger; then -1 disables INTx. */
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &one, 1), 0);
	assert_int_equal(efd_count(e), 1);
	fds[0] = -1;
	assert_int_equal(set_eventfds(f, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds), 0);
	assert_int_equal(f->vdev.pci->irq_type, -1);
	bar_wr(f, 0, TM_IRQ, 4, 0);
	assert_int_equal(efd_count(e), 0);
	close(e);
}

/* Wait up to 2 s for @fd to be readable: true when it is. */
static bool wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 2000) == 1;
}

/* Signal @fd and wait until the watcher thread has taken the count. */
static void signal_and_wait_taken(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
	for (int k = 0; k < 2000; k++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 0) == 0)
			break;
		usleep(1000);
	}
	/* The action runs right after the count is taken. */
	usleep(50000);
}

static long unmask_eventfd(struct fx *f, int32_t fd)
{
	return set_irqs(f, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK,
			VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &fd, 4);
}

static void test_intx_unmask_eventfd(void **state)
{
	struct fx *f = *state;
	int e = new_eventfd(), u = new_eventfd(), u2 = new_eventfd();
	int32_t fds[1] = { e };
	int pipefd[2];
	uint64_t one = 1;

	assert_int_equal(pipe(pipefd), 0);
	/* INTx not enabled: EINVAL before anything about the eventfd. */
	assert_int_equal(unmask_eventfd(f, u), -EINVAL);
	assert_int_equal(set_eventfds(f, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds), 0);
	assert_int_equal(unmask_eventfd(f, 1000), -EBADF);
	assert_int_equal(unmask_eventfd(f, pipefd[0]), -EINVAL);
	assert_int_equal(unmask_eventfd(f, u), 0);
	/* One at a time; the fd is checked before the busy answer. */
	assert_int_equal(unmask_eventfd(f, u2), -EBUSY);
	assert_int_equal(unmask_eventfd(f, 1000), -EBADF);
	/* MASK from an eventfd is not served. */
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_MASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &u2, 4), -ENOTTY);

	/* Automasked after one interrupt; the second waits. */
	bar_wr(f, 0, TM_IRQ, 4, 0);
	assert_int_equal(efd_count(e), 1);
	bar_wr(f, 0, TM_IRQ, 4, 0);
	assert_int_equal(efd_count(e), 0);
	/* The program's copy may go: we signal our own through a duplicate. */
	{
		int keep = dup(u);

		close(u);
		u = keep;
	}
	/* A signal of the unmask eventfd unmasks: the pending one arrives. */
	assert_int_equal(write(u, &one, sizeof(one)), sizeof(one));
	assert_true(wait_readable(e));
	assert_int_equal(efd_count(e), 1);
	assert_true(f->vdev.pci->watcher.running);

	/* Any negative fd removes it; after that a signal changes nothing. */
	assert_int_equal(unmask_eventfd(f, -5), 0);
	assert_null(f->vdev.pci->intx_unmask);
	assert_int_equal(unmask_eventfd(f, -1), 0);
	bar_wr(f, 0, TM_IRQ, 4, 0);
	signal_and_wait_taken(u);
	assert_int_equal(efd_count(e), 0);
	assert_true(f->vdev.pci->intx_masked);

	/* A count already in the eventfd when it is registered counts as a signal. */
	assert_int_equal(write(u2, &one, sizeof(one)), sizeof(one));
	assert_int_equal(unmask_eventfd(f, u2), 0);
	assert_true(wait_readable(e));
	assert_int_equal(efd_count(e), 1);

	/* Disabling INTx drops the unmask eventfd too. */
	fds[0] = -1;
	assert_int_equal(set_eventfds(f, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds), 0);
	assert_null(f->vdev.pci->intx_unmask);

	/* MSI and MSI-X have no mask or unmask here: ENOTTY after the common checks. */
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
				  VFIO_PCI_MSI_IRQ_INDEX, 0, 1, NULL, 0), -ENOTTY);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK,
				  VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &u2, 4), -ENOTTY);
	assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
				  VFIO_PCI_MSIX_IRQ_INDEX, 4, 1, NULL, 0), -EINVAL);

	/* The last close stops the watcher thread. */
	vfio_pci_close_device(&f->vdev);
	assert_false(f->vdev.pci->watcher.running);
	assert_int_equal(vfio_pci_open_device(&f->vdev), 0);
	close(pipefd[0]);
	close(pipefd[1]);
	close(e);
	close(u);
	close(u2);
}

static long ioeventfd(struct fx *f, uint32_t flags, unsigned int index, uint64_t pos,
		      uint64_t data, int32_t fd)
{
	struct vfio_device_ioeventfd a = {
		.argsz = sizeof(a), .flags = flags, .data = data, .fd = fd,
		.offset = VFIO_PCI_INDEX_TO_OFFSET(index) + pos,
	};

	return dioctl(f, VFIO_DEVICE_IOEVENTFD, &a);
}

static uint32_t tm_reg32(struct fx *f, uint64_t off)
{
	uint32_t v;

	pthread_mutex_lock(&f->vdev.pci->reg_lock);
	memcpy(&v, f->m->regs + off, 4);
	pthread_mutex_unlock(&f->vdev.pci->reg_lock);
	return v;
}

/* Wait up to 2 s for the model's register at @off to read @want. */
static bool reg_becomes(struct fx *f, uint64_t off, uint32_t want)
{
	for (int k = 0; k < 2000; k++) {
		if (tm_reg32(f, off) == want)
			return true;
		usleep(1000);
	}
	return false;
}

static void test_ioeventfd(void **state)
{
	struct fx *f = *state;
	int e = new_eventfd(), e2 = new_eventfd(), pipefd[2];
	struct vfio_device_ioeventfd a = { .argsz = 27, .flags = 4, .fd = e };
	int32_t *many;
	int i;

	assert_int_equal(pipe(pipefd), 0);
	/* The argument: unreadable, short, flags, fd below -1. */
	assert_int_equal(dioctl(f, VFIO_DEVICE_IOEVENTFD, (void *)8), -EFAULT);
	assert_int_equal(dioctl(f, VFIO_DEVICE_IOEVENTFD, &a), -EINVAL);
	a.argsz = 28;
	assert_int_equal(dioctl(f, VFIO_DEVICE_IOEVENTFD, &a), 0);
	a.fd = -1;
	assert_int_equal(dioctl(f, VFIO_DEVICE_IOEVENTFD, &a), 0);
	assert_int_equal(ioeventfd(f, 0, 0, 0x40, 1, e), -EINVAL);
	assert_int_equal(ioeventfd(f, 3, 0, 0x40, 1, e), -EINVAL);
	assert_int_equal(ioeventfd(f, 0x14, 0, 0x40, 1, e), -EINVAL);
	assert_int_equal(ioeventfd(f, 4, 0, 0x40, 1, -2), -EINVAL);
	/* Regions: BARs only, inside the BAR, never on the MSI-X table. */
	assert_int_equal(ioeventfd(f, 4, VFIO_PCI_ROM_REGION_INDEX, 0, 1, e), -EINVAL);
	assert_int_equal(ioeventfd(f, 4, VFIO_PCI_CONFIG_REGION_INDEX, 0, 1, e), -EINVAL);
	assert_int_equal(ioeventfd(f, 4, 9, 0, 1, e), -EINVAL);
	assert_int_equal(ioeventfd(f, 4, 1, 0, 1, e), -EINVAL);	/* no BAR1 */
	assert_int_equal(ioeventfd(f, 8, 0, 0x3ffc, 1, e), -EINVAL);
	assert_int_equal(ioeventfd(f, 4, 0, TM_MSIX_TABLE, 1, e), -EINVAL);
	assert_int_equal(ioeventfd(f, 8, 0, TM_MSIX_TABLE + 0x3c, 1, e), -EINVAL);
	assert_int_equal(ioeventfd(f, 2, 0, TM_MSIX_TABLE - 1, 1, e), -EINVAL);
	assert_int_equal(ioeventfd(f, 1, 0, TM_MSIX_TABLE + 0x40, 1, e), 0);	/* past it */
	assert_int_equal(ioeventfd(f, 1, 0, TM_MSIX_TABLE + 0x40, 1, -1), 0);
	assert_int_equal(ioeventfd(f, 4, 0, TM_MSIX_PBA, 0, e), 0);		/* the PBA is fine */
	assert_int_equal(ioeventfd(f, 4, 0, TM_MSIX_PBA, 0, -1), 0);
	/* Nothing to remove, then the fd: EBADF, EINVAL. */
	assert_int_equal(ioeventfd(f, 4, 0, 0x40, 1, -1), -ENODEV);
	assert_int_equal(ioeventfd(f, 4, 0, 0x40, 1, 1000), -EBADF);
	assert_int_equal(ioeventfd(f, 4, 0, 0x40, 1, pipefd[0]), -EINVAL);
	assert_int_equal(f->vdev.pci->nr_ioeventfds, 0);

	/* A signal writes the data, an unaligned 8-byte access as well. */
	assert_int_equal(ioeventfd(f, 4, 0, 0x40, 0x11223344, e), 0);
	assert_int_equal(ioeventfd(f, 4, 0, 0x40, 0x11223344, e2), -EEXIST);
	assert_int_equal(ioeventfd(f, 8, 0, 0x81, 0x0102030405060708ull, e2), 0);
	assert_int_equal(f->vdev.pci->nr_ioeventfds, 2);
	{
		uint64_t one = 1;
		int keep = dup(e);

		/* Ours is a duplicate: the program may close its copy. */
		close(e);
		e = keep;
		assert_int_equal(write(e, &one, sizeof(one)), sizeof(one));
		assert_true(reg_becomes(f, 0x40, 0x11223344));
		assert_int_equal(write(e2, &one, sizeof(one)), sizeof(one));
		assert_true(reg_becomes(f, 0x81, 0x05060708));
		assert_int_equal(tm_reg32(f, 0x85), 0x01020304);
	}
	/* Memory decode off: the write goes nowhere. */
	bar_wr(f, 0, 0x40, 4, 0);
	cfg_wr(f, PCI_COMMAND, 2, 0);
	signal_and_wait_taken(e);
	assert_int_equal(tm_reg32(f, 0x40), 0);
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	/* A reset keeps the registrations. */
	assert_int_equal(dioctl(f, VFIO_DEVICE_RESET, NULL), 0);
	assert_int_equal(tm_reg32(f, 0x40), 0);
	signal_and_wait_taken(e);
	assert_true(reg_becomes(f, 0x40, 0x11223344));
	/* Removed: the same key with fd -1; then a signal writes nothing. */
	assert_int_equal(ioeventfd(f, 4, 0, 0x40, 0x11223344, -1), 0);
	assert_int_equal(ioeventfd(f, 4, 0, 0x40, 0x11223344, -1), -ENODEV);
	bar_wr(f, 0, 0x40, 4, 0);
	signal_and_wait_taken(e);
	assert_int_equal(tm_reg32(f, 0x40), 0);
	assert_int_equal(ioeventfd(f, 8, 0, 0x81, 0x0102030405060708ull, -1), 0);

	/* At most 1000 per device. */
	many = calloc(VFIO_PCI_IOEVENTFD_MAX, sizeof(*many));
	assert_non_null(many);
	for (i = 0; i < VFIO_PCI_IOEVENTFD_MAX; i++)
		assert_int_equal(ioeventfd(f, 4, 0, 0x100 + 4 * (i % 64), (uint64_t)i, e), 0);
	assert_int_equal(ioeventfd(f, 4, 0, 0x40, 7, e), -ENOSPC);
	/* A removal still works at the limit, and makes room. */
	assert_int_equal(ioeventfd(f, 4, 0, 0x100, 0, -1), 0);
	assert_int_equal(ioeventfd(f, 4, 0, 0x40, 7, e), 0);
	free(many);

	/* The last close drops them all and stops the thread. */
	vfio_pci_close_device(&f->vdev);
	assert_int_equal(f->vdev.pci->nr_ioeventfds, 0);
	assert_null(f->vdev.pci->ioeventfds);
	assert_false(f->vdev.pci->watcher.running);
	assert_int_equal(vfio_pci_open_device(&f->vdev), 0);
	assert_int_equal(ioeventfd(f, 4, 0, 0x40, 7, -1), -ENODEV);
	close(pipefd[0]);
	close(pipefd[1]);
	close(e);
	close(e2);
}

static void test_err_req(void **state)
{
	struct fx *f = *state;
	int e = new_eventfd();
	int32_t fds[1] = { e };

	for (uint32_t idx = VFIO_PCI_ERR_IRQ_INDEX; idx <= VFIO_PCI_REQ_IRQ_INDEX; idx++) {
		assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
					  idx, 0, 1, NULL, 0), -EINVAL);
		assert_int_equal(set_eventfds(f, idx, 0, 1, fds), 0);
		assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
					  idx, 0, 1, NULL, 0), 0);
		assert_int_equal(efd_count(e), 1);
		assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
					  idx, 0, 1, NULL, 0), -ENOTTY);
		assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
					  idx, 0, 0, NULL, 0), 0);
		assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
					  idx, 0, 1, NULL, 0), -EINVAL);
	}
	close(e);
}

/* ================================================================ reset */

static void test_reset(void **state)
{
	struct fx *f = *state;
	unsigned int before = f->m->resets;
	uint32_t bar0 = cfg_rd(f, PCI_BASE_ADDRESS_0, 4);

	bar_wr(f, 0, 0x40, 4, 0x1234);
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cfg_wr(f, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(dioctl(f, VFIO_DEVICE_RESET, NULL), 0);
	assert_int_equal(f->m->resets, before + 1);
	assert_int_equal(bar_rd(f, 0, 0x40, 4), 0);
	/* Config space is saved and restored around the reset. */
	assert_int_equal(cfg_rd(f, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(cfg_rd(f, PCI_BASE_ADDRESS_0, 4), 0xffffc004);
	cfg_wr(f, PCI_BASE_ADDRESS_0, 4, bar0);
	/* FLR through the PCIe device control register; the bit reads 0. */
	cfg_wr(f, 0x90 + PCI_EXP_DEVCTL, 2, cfg_rd(f, 0x90 + PCI_EXP_DEVCTL, 2) |
					      PCI_EXP_DEVCTL_BCR_FLR);
	assert_int_equal(f->m->resets, before + 2);
	assert_false(cfg_rd(f, 0x90 + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_BCR_FLR);
}

static void test_hot_reset(void **state)
{
	struct fx *f = *state;
	struct {
		struct vfio_pci_hot_reset_info hdr;
		struct vfio_pci_dependent_device dev[2];
	} info = { .hdr = { .argsz = sizeof(struct vfio_pci_hot_reset_info), .flags = 7 } };
	struct {
		struct vfio_pci_hot_reset hdr;
		int32_t fds[2];
	} hr = { .hdr = { .argsz = sizeof(hr), .count = 1 } };
	unsigned int before = f->m->resets;
	int p[2];

	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &info), -ENOSPC);
	assert_int_equal(info.hdr.count, 1);
	assert_int_equal(info.hdr.flags, 0);
	info.hdr.argsz = sizeof(info);
	info.hdr.count = 0;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &info), 0);
	assert_int_equal(info.hdr.count, 1);
	assert_int_equal(info.dev[0].segment, 0);
	assert_int_equal(info.dev[0].bus, 1);
	assert_int_equal(info.dev[0].devfn, 0);
	info.hdr.argsz = 11;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &info), -EINVAL);

	/* Opened through a group: count 0 (the cdev form) is refused. */
	hr.hdr.count = 0;
	assert_int_equal(dioctl(f, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL);
	hr.hdr.count = 1;
	hr.hdr.flags = 1;
	assert_int_equal(dioctl(f, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL);
	hr.hdr.flags = 0;
	hr.hdr.count = 2;	/* more than the functions the reset reaches */
	assert_int_equal(dioctl(f, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL);
	hr.hdr.count = 1;
	hr.fds[0] = 1000;
	assert_int_equal(dioctl(f, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EBADF);
	assert_int_equal(pipe(p), 0);
	hr.fds[0] = p[0];
	assert_int_equal(dioctl(f, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL);
	hr.hdr.argsz = 11;
	assert_int_equal(dioctl(f, VFIO_DEVICE_PCI_HOT_RESET, &hr), -EINVAL);
	assert_int_equal(f->m->resets, before);
	close(p[0]);
	close(p[1]);
}

/* ================================================================ features */

static void test_feature(void **state)
{
	struct fx *f = *state;
	struct {
		struct vfio_device_feature hdr;
		struct vfio_device_low_power_entry_with_wakeup w;
	} a = { .hdr = { .argsz = sizeof(struct vfio_device_feature) } };
	int e = new_eventfd();

	a.hdr.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_MIGRATION;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), -ENOTTY);
	a.hdr.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_DMA_LOGGING_START;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), -ENOTTY);
	a.hdr.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), -ENOTTY);
	a.hdr.flags = VFIO_DEVICE_FEATURE_PROBE | 0x4321;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), -ENOTTY);
	a.hdr.flags = (1u << 19) | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), -EINVAL);
	a.hdr.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), -EINVAL);
	/* Low power: SET only; PROBE answers. */
	a.hdr.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), 0);
	a.hdr.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), -EINVAL);
	a.hdr.flags = VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), -EINVAL);
	a.hdr.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), 0);
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), -EINVAL);
	a.hdr.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), 0);
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), 0);
	/* With wakeup: the payload is needed; an access wakes the device. */
	a.hdr.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), -EINVAL);
	a.hdr.argsz = sizeof(a);
	a.w.wakeup_eventfd = 1000;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), -EBADF);
	a.w.wakeup_eventfd = e;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), 0);
	assert_int_equal(efd_count(e), 0);
	(void)bar_rd(f, 0, 0, 4);
	assert_int_equal(efd_count(e), 1);
	assert_false(f->vdev.pci->low_power);
	a.hdr.argsz = 7;
	assert_int_equal(dioctl(f, VFIO_DEVICE_FEATURE, &a), -EINVAL);
	close(e);
}

/* ================================================================ DMA */

static void dma_go(struct fx *f, uint64_t iova, uint64_t len, unsigned int op)
{
	bar_wr(f, 0, TM_DMA_IOVA, 8, iova);
	bar_wr(f, 0, TM_DMA_LEN, 8, len);
	bar_wr(f, 0, TM_DMA_GO, 8, op);
}

static int64_t dma_result(struct fx *f)
{
	return (int64_t)bar_rd(f, 0, TM_DMA_RESULT, 8);
}

static void test_dma_iommu(void **state)
{
	struct fx *f = *state;
	struct uiommufd_ctx *ctx;
	struct iommufd_ctx *ictx;
	struct iommufd_device *idev;
	struct mock_ids ids = { 0 };
	uint32_t ioas = 0;
	uint8_t *buf = NULL;
	uint64_t iova = 0x100000;

	assert_int_equal(fixture_open(&ctx, &ioas, &buf, 2), 0);
	assert_int_equal(mock_domain(ctx, ioas, &ids), 0);
	assert_int_equal(ioas_map(ctx, ioas, buf, PSZ, &iova, RW), 0);
	ictx = (struct iommufd_ctx *)ctx;
	pthread_mutex_lock(&ictx->lock);
	idev = iommufd_get_device(ictx, ids.idev);
	assert_false(IS_ERR(idev));
	f->vdev.dev.iommu_ops = idev->dev->iommu_ops;
	f->vdev.dev.domain = idev->dev->domain;	/* the mock device's domain, borrowed */
	iommufd_put_object(ictx, &idev->obj);
	pthread_mutex_unlock(&ictx->lock);

	/* Bus mastering off: EIO, memory untouched. */
	dma_go(f, iova, 64, 2);
	assert_int_equal(dma_result(f), -EIO);
	assert_int_equal(buf[0], 0x5a);
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	dma_go(f, iova + 16, 64, 2);
	assert_int_equal(dma_result(f), 0);
	assert_int_equal(buf[15], 0x5a);
	assert_int_equal(buf[16], 0xc3);
	assert_int_equal(buf[79], 0xc3);
	assert_int_equal(buf[80], 0x5a);
	buf[200] = 0x77;
	dma_go(f, iova + 200, 1, 1);
	assert_int_equal(dma_result(f), 0);
	assert_int_equal(f->m->dma_buf[0], 0x77);
	/* Unmapped IOVA: a fault, nothing written past the mapping. */
	dma_go(f, iova + PSZ, 16, 2);
	assert_int_equal(dma_result(f), -EFAULT);
	assert_int_equal(buf[PSZ], 0x5a);
	/* Clearing bus master stops DMA again. */
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	dma_go(f, iova, 16, 2);
	assert_int_equal(dma_result(f), -EIO);

	f->vdev.dev.domain = NULL;
	f->vdev.dev.iommu_ops = NULL;
	fixture_close(ctx, buf, 2);
}

static void test_dma_blocked(void **state)
{
	struct fx *f = *state;

	/* Never attached: every request faults. */
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	dma_go(f, 0x1000, 16, 1);
	assert_int_equal(dma_result(f), -EFAULT);
}

static void test_dma_noiommu(void **state)
{
	struct fx *f = *state;
	struct uiommufd_host *host = uiommufd_host_inproc();
	uint8_t *buf = map_pages(1);
	struct host_pin *pin;
	size_t clen = 0;
	uint64_t pa;

	assert_int_equal(host->ops->pin_user(host, (uintptr_t)buf, PSZ, true, &pin), 0);
	pa = host->ops->pin_phys(host, pin, 0, &clen);
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	dma_go(f, pa + 8, 8, 2);
	assert_int_equal(dma_result(f), 0);
	assert_int_equal(buf[7], 0x5a);
	assert_int_equal(buf[8], 0xc3);
	assert_int_equal(buf[16], 0x5a);
	host->ops->unpin(host, pin);
	/* Not pinned any more: a fault. */
	dma_go(f, pa + 8, 8, 2);
	assert_int_equal(dma_result(f), -EFAULT);
	munmap(buf, PSZ);
}

/* ================================================================ threads */

struct storm {
	struct vfio_pci_dev *pci;
	atomic_bool stop;
	atomic_uint rounds;
};

/* A device thread: interrupts on every vector and DMA attempts, as fast as it can. */
static void *storm_thread(void *arg)
{
	struct storm *st = arg;
	uint8_t b[64];

	for (unsigned int i = 0; !atomic_load(&st->stop); i++) {
		st->pci->bus.irq(st->pci->bus.opaque, i % 4);
		int rc = st->pci->bus.dma(st->pci->bus.opaque, 0, b, sizeof(b), i & 1);

		assert_true(rc == -EIO || rc == -EFAULT);
		atomic_fetch_add(&st->rounds, 1);
	}
	return NULL;
}

static void test_irq_storm(void **state)
{
	struct fx *f = *state;
	struct storm st = { .pci = f->vdev.pci };
	int e[4];
	uint64_t seen = 0;
	pthread_t th;

	for (int i = 0; i < 4; i++)
		e[i] = new_eventfd();
	assert_int_equal(pthread_create(&th, NULL, storm_thread, &st), 0);
	for (int round = 0; round < 300; round++) {
		int32_t fds[4] = { e[0], e[1], e[2], e[3] };
		uint32_t idx = round % 3 == 2 ? VFIO_PCI_MSI_IRQ_INDEX : VFIO_PCI_MSIX_IRQ_INDEX;

		assert_int_equal(set_eventfds(f, idx, 0, 4, fds), 0);
		cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | (round & 1 ? 0 : PCI_COMMAND_MASTER));
		if (round % 7 == 0)
			assert_int_equal(dioctl(f, VFIO_DEVICE_RESET, NULL), 0);
		for (int i = 0; i < 4; i++)
			seen += efd_count(e[i]);
		assert_int_equal(set_irqs(f, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
					  idx, 0, 0, NULL, 0), 0);
		/* Let the device run for a while between rounds. */
		while (atomic_load(&st.rounds) < (unsigned int)round * 4)
			sched_yield();
	}
	atomic_store(&st.stop, true);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(seen > 0);
	for (int i = 0; i < 4; i++)
		close(e[i]);
}

/* ================================================================ close */

static void test_close_releases(void **state)
{
	struct fx *f = *state;
	int e = new_eventfd();
	int32_t fds[1] = { e };
	void *p = NULL;

	assert_int_equal(set_eventfds(f, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, fds), 0);
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(vfio_pci_mmap(&f->vdev, NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED,
				       VFIO_PCI_INDEX_TO_OFFSET(0), &p), 0);
	vfio_pci_close_device(&f->vdev);
	/* The BAR mapping went with the close: the trap and the memory. */
	assert_null(f->vdev.pci->maps);
	assert_int_equal(msync(p, 0x4000, MS_ASYNC), -1);
	assert_int_equal(errno, ENOMEM);
	/* Interrupts are gone, bus mastering is off, config is back at power-on. */
	assert_int_equal(f->vdev.pci->irq_type, -1);
	f->vdev.pci->type->bar_write(f->m, 0, TM_IRQ, 4, 0);
	assert_int_equal(efd_count(e), 0);
	assert_false(atomic_load(&f->vdev.pci->bus_master));
	assert_int_equal(vfio_pci_open_device(&f->vdev), 0);
	assert_int_equal(cfg_rd(f, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	close(e);
}

static void test_create_rejects(void **state)
{
	struct devmodel_type bad = tm_type;
	struct vfio_device vdev;

	memset(&vdev, 0, sizeof(vdev));
	vdev.dev.host = uiommufd_host_inproc();
	vdev.spec.type = &bad;
	bad.bars[0].size = 0x3000;	/* not a power of two */
	assert_int_equal(vfio_pci_create(&vdev), -EINVAL);
	bad = tm_type;
	bad.caps.msix_bar = 3;	/* no BAR there */
	assert_int_equal(vfio_pci_create(&vdev), -EINVAL);
	bad = tm_type;
	strcpy(vdev.spec.model_opts, "nonsense=1");
	assert_int_equal(vfio_pci_create(&vdev), -EINVAL);
	assert_null(vdev.pci);
}

/* ================================================================ I/OAT */

/* A 64-byte copy descriptor whose "next" is @next. */
static void ioat_copy_desc_at(uint8_t *d, uint64_t next, uint64_t src, uint64_t dst,
			      uint32_t len, uint32_t ctl)
{
	memset(d, 0, IOAT_DESC_SIZE);
	ctl |= IOAT_DCTL_COMPL | (IOAT_OP_COPY << IOAT_DCTL_OP_SHIFT);
	memcpy(d + IOAT_D_SIZE, &len, 4);
	memcpy(d + IOAT_D_CTL, &ctl, 4);
	memcpy(d + IOAT_D_SRC, &src, 8);
	memcpy(d + IOAT_D_DST, &dst, 8);
	memcpy(d + IOAT_D_NEXT, &next, 8);
}

/*
 * The I/OAT model (src/devices/ioat.c) behind this layer: a copy
 * descriptor run the way Linux's driver starts a channel, its DMA through
 * a real mock IOMMU domain, its completion and MSI-X interrupt reaching
 * the program's eventfd.
 */
static void test_ioat_model(void **state)
{
	const struct devmodel_type *t = devmodel_find("ioat");
	const uint64_t ch = IOAT_CHAN_BASE;
	struct fx *f;
	struct uiommufd_ctx *ctx;
	struct iommufd_ctx *ictx;
	struct iommufd_device *idev;
	struct mock_ids ids = { 0 };
	uint32_t ioas = 0;
	uint8_t *mem = NULL, *desc, *src, *dst;
	uint64_t iova = 0, compl;
	int e = new_eventfd();
	int32_t fds[1] = { e };
	struct pollfd pfd = { .fd = e, .events = POLLIN };

	assert_non_null(t);
	assert_int_equal(fx_setup_type((void **)&f, t, false), 0);
	assert_int_equal(cfg_rd(f, PCI_VENDOR_ID, 2), 0x8086);
	assert_int_equal(cfg_rd(f, PCI_DEVICE_ID, 2), 0x2021);
	assert_int_equal(bar_rd(f, 0, IOAT_R_CBVER, 1), IOAT_CBVER_3_3);

	assert_int_equal(fixture_open(&ctx, &ioas, &mem, 4), 0);
	assert_int_equal(mock_domain(ctx, ioas, &ids), 0);
	assert_int_equal(ioas_map(ctx, ioas, mem, 4 * PSZ, &iova, RW), 0);
	ictx = (struct iommufd_ctx *)ctx;
	pthread_mutex_lock(&ictx->lock);
	idev = iommufd_get_device(ictx, ids.idev);
	assert_false(IS_ERR(idev));
	f->vdev.dev.iommu_ops = idev->dev->iommu_ops;
	f->vdev.dev.domain = idev->dev->domain;
	iommufd_put_object(ictx, &idev->obj);
	pthread_mutex_unlock(&ictx->lock);

	desc = mem;
	src = mem + 2 * PSZ;
	dst = mem + 3 * PSZ;
	compl = iova + PSZ;
	for (unsigned int i = 0; i < 2000; i++)
		src[i] = (uint8_t)(i * 7);
	memset(desc, 0, IOAT_DESC_SIZE);
	*(uint32_t *)(desc + IOAT_D_SIZE) = 2000;
	*(uint32_t *)(desc + IOAT_D_CTL) = IOAT_DCTL_INT | IOAT_DCTL_COMPL |
					   (IOAT_OP_COPY << IOAT_DCTL_OP_SHIFT);
	*(uint64_t *)(desc + IOAT_D_SRC) = iova + 2 * PSZ;
	*(uint64_t *)(desc + IOAT_D_DST) = iova + 3 * PSZ;
	*(uint64_t *)(desc + IOAT_D_NEXT) = iova;

	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(set_eventfds(f, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, fds), 0);
	bar_wr(f, 0, ch + IOAT_C_CHANCMD, 1, IOAT_CMD_RESET);
	bar_wr(f, 0, IOAT_R_INTRCTRL, 1, IOAT_INTRCTRL_MASTER | IOAT_INTRCTRL_MSIX_VC);
	bar_wr(f, 0, ch + IOAT_C_CHANCTRL, 2, IOAT_CTRL_REARM | IOAT_CTRL_ERR_INT |
					      IOAT_CTRL_ERR_COMPL | IOAT_CTRL_ERR_ABORT);
	bar_wr(f, 0, ch + IOAT_C_CHANCMP, 8, compl);
	bar_wr(f, 0, ch + IOAT_C_CHAINADDR, 8, iova);
	bar_wr(f, 0, ch + IOAT_C_DMACOUNT, 2, 1);

	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_true(efd_count(e) >= 1);
	assert_memory_equal(dst, src, 2000);
	assert_int_equal(*(volatile uint64_t *)(mem + PSZ) & IOAT_STS_STATE_MASK, IOAT_ST_DONE);
	assert_true((*(volatile uint64_t *)(mem + PSZ) & IOAT_STS_ADDR_MASK) == iova);

	/* Closing the device stops it; then the domain may go. */
	fx_teardown((void **)&f);
	fixture_close(ctx, mem, 4);
	close(e);
}


/* What vfio-pci reports for the I/OAT function, from its own description. */
static void test_ioat_identity(void **state)
{
	struct fx *f = *state;
	struct {
		struct vfio_region_info info;
		struct vfio_info_cap_header cap;
	} a;
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_irq_info ii;
	static const uint32_t counts[5] = { 1, 0, 1, 1, 1 };
	bool seen_pm = false, seen_msix = false, seen_exp = false;
	unsigned int p, hops = 0;

	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_INFO, &di), 0);
	assert_int_equal(di.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	assert_int_equal(di.num_regions, 9);
	assert_int_equal(di.num_irqs, 5);

	/* BAR0: 16 KiB, mappable, the MSI-X table in it mappable too. */
	memset(&a, 0, sizeof(a));
	a.info.argsz = sizeof(a);
	a.info.index = 0;
	assert_int_equal(dioctl(f, VFIO_DEVICE_GET_REGION_INFO, &a.info), 0);
	assert_int_equal(a.info.size, IOAT_BAR0_SIZE);
	assert_int_equal(a.info.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
					 VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(a.info.cap_offset, sizeof(a.info));
	assert_int_equal(a.cap.id, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
	/* Only BAR0 (and its upper half) is there. */
	for (uint32_t i = 1; i < 6; i++) {
		a.info = (struct vfio_region_info){ .argsz = sizeof(a.info), .index = i };
		assert_int_equal(dioctl(f, VFIO_DEVICE_GET_REGION_INFO, &a.info), 0);
		assert_int_equal(a.info.size, 0);
	}
	/* INTx, no MSI, one MSI-X vector, ERR (a PCIe function), REQ. */
	for (uint32_t i = 0; i < 5; i++) {
		ii = (struct vfio_irq_info){ .argsz = sizeof(ii), .index = i };
		assert_int_equal(dioctl(f, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
		assert_int_equal(ii.count, counts[i]);
	}

	assert_int_equal(cfg_rd(f, PCI_VENDOR_ID, 2), IOAT_PCI_VENDOR);
	assert_int_equal(cfg_rd(f, PCI_DEVICE_ID, 2), IOAT_PCI_DEVICE_SKX);
	assert_int_equal(cfg_rd(f, PCI_CLASS_REVISION, 4),
			 (IOAT_PCI_CLASS << 8) | IOAT_PCI_REVISION);
	assert_int_equal(cfg_rd(f, PCI_BASE_ADDRESS_0, 4) & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
	/* The capabilities where the model put them (the driver hard-codes PCIe's). */
	for (p = cfg_rd(f, PCI_CAPABILITY_LIST, 1); p && hops < 48; hops++) {
		uint8_t id = (uint8_t)cfg_rd(f, p, 1);

		if (id == PCI_CAP_ID_PM) {
			assert_int_equal(p, IOAT_CAP_OFF_PM);
			seen_pm = true;
		} else if (id == PCI_CAP_ID_MSIX) {
			assert_int_equal(p, IOAT_CAP_OFF_MSIX);
			seen_msix = true;
		} else if (id == PCI_CAP_ID_EXP) {
			assert_int_equal(p, IOAT_CAP_OFF_PCIE);
			seen_exp = true;
		} else {
			fail_msg("capability %#x at %#x", id, p);
		}
		p = cfg_rd(f, p + 1, 1);
	}
	assert_true(seen_pm && seen_msix && seen_exp);
	assert_int_equal(cfg_rd(f, IOAT_CAP_OFF_MSIX + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE, 0);
	assert_int_equal(cfg_rd(f, IOAT_CAP_OFF_MSIX + PCI_MSIX_TABLE, 4), IOAT_MSIX_TABLE);
	assert_int_equal(cfg_rd(f, IOAT_CAP_OFF_MSIX + PCI_MSIX_PBA, 4), IOAT_MSIX_PBA);
	assert_int_equal((cfg_rd(f, IOAT_CAP_OFF_PCIE + PCI_EXP_FLAGS, 2) & PCI_EXP_FLAGS_TYPE) >> 4,
			 PCI_EXP_TYPE_RC_END);
	/* The model's own config registers answer through the layer. */
	assert_int_equal(cfg_rd(f, IOAT_CFG_CHANERR_INT, 4), 0);
	cfg_wr(f, IOAT_CFG_CHANERR_INT_MASK, 4, 0x3);
	assert_int_equal(cfg_rd(f, IOAT_CFG_CHANERR_INT_MASK, 4) & 0x3, 0x3);
	/* And its registers through the BAR region. */
	assert_int_equal(bar_rd(f, 0, IOAT_R_CBVER, 1), IOAT_CBVER_3_3);
	assert_int_equal(bar_rd(f, 0, IOAT_R_CHANCNT, 1), 1);
	assert_int_equal(bar_rd(f, 0, IOAT_CHAN_BASE + IOAT_C_DMACOMP, 2), IOAT_DMACOMP_V2);
}

/* Give the fixture's function the DMA domain of a mock device of @ctx. */
static void borrow_mock_domain(struct fx *f, struct uiommufd_ctx *ctx, uint32_t idev_id)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)ctx;
	struct iommufd_device *idev;

	pthread_mutex_lock(&ictx->lock);
	idev = iommufd_get_device(ictx, idev_id);
	assert_false(IS_ERR(idev));
	f->vdev.dev.iommu_ops = idev->dev->iommu_ops;
	f->vdev.dev.domain = idev->dev->domain;
	iommufd_put_object(ictx, &idev->obj);
	pthread_mutex_unlock(&ictx->lock);
}

/*
 * The I/OAT channel programmed the way DPDK's driver does it, through the
 * BAR mapped into the program (every load and store below is an MMIO
 * trap): a ring of descriptors, the 16-bit doorbell bumped per batch, the
 * completion writeback polled, one MSI-X interrupt asked for by the last.
 */
static void test_ioat_mapped_bar(void **state)
{
	struct fx *f = *state;
	struct uiommufd_ctx *ctx;
	struct mock_ids ids = { 0 };
	uint32_t ioas = 0;
	uint8_t *mem = NULL, *bar = NULL;
	uint64_t iova = 0, ring, compl, src, dst;
	volatile uint64_t *cmpl;
	int e = new_eventfd();
	int32_t fds[1] = { e };
	struct pollfd pfd = { .fd = e, .events = POLLIN };
	const unsigned int nr = 4, len = 1024;

	assert_int_equal(fixture_open(&ctx, &ioas, &mem, 8), 0);
	assert_int_equal(mock_domain(ctx, ioas, &ids), 0);
	assert_int_equal(ioas_map(ctx, ioas, mem, 8 * PSZ, &iova, RW), 0);
	borrow_mock_domain(f, ctx, ids.idev);
	ring = iova;
	compl = iova + PSZ;
	src = iova + 2 * PSZ;
	dst = iova + 4 * PSZ;
	cmpl = (volatile uint64_t *)(mem + PSZ);
	memset(mem, 0, 8 * PSZ);
	for (unsigned int i = 0; i < nr * len; i++)
		mem[2 * PSZ + i] = (uint8_t)(i * 11 + 5);
	for (unsigned int i = 0; i < nr; i++)
		ioat_copy_desc_at(mem + i * IOAT_DESC_SIZE, ring + ((i + 1) % nr) * IOAT_DESC_SIZE,
				  src + i * len, dst + i * len, len,
				  i == nr - 1 ? IOAT_DCTL_INT : 0);

	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(set_eventfds(f, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, fds), 0);
	assert_int_equal(vfio_pci_mmap(&f->vdev, NULL, IOAT_BAR0_SIZE, PROT_READ | PROT_WRITE,
				       MAP_SHARED, VFIO_PCI_INDEX_TO_OFFSET(0), (void **)&bar), 0);
#define R8(o) (*(volatile uint8_t *)(bar + (o)))
#define R16(o) (*(volatile uint16_t *)(bar + (o)))
#define R64(o) (*(volatile uint64_t *)(bar + (o)))
	assert_int_equal(R8(IOAT_R_CBVER), IOAT_CBVER_3_3);
	assert_int_equal(R8(IOAT_R_XFERCAP), IOAT_XFERCAP_LOG);
	R8(IOAT_CHAN_BASE + IOAT_C_CHANCMD) = IOAT_CMD_RESET;
	assert_int_equal(R8(IOAT_CHAN_BASE + IOAT_C_CHANCMD) & IOAT_CMD_RESET, 0);
	R8(IOAT_R_INTRCTRL) = IOAT_INTRCTRL_MASTER | IOAT_INTRCTRL_MSIX_VC;
	R16(IOAT_CHAN_BASE + IOAT_C_CHANCTRL) = IOAT_CTRL_REARM | IOAT_CTRL_ERR_INT |
						IOAT_CTRL_ERR_COMPL | IOAT_CTRL_ERR_ABORT;
	R64(IOAT_CHAN_BASE + IOAT_C_CHANCMP) = compl;
	R64(IOAT_CHAN_BASE + IOAT_C_CHAINADDR) = ring;
	assert_true(R64(IOAT_CHAN_BASE + IOAT_C_CHAINADDR) == ring);
	/* Two doorbells: two descriptors, then the other two. */
	R16(IOAT_CHAN_BASE + IOAT_C_DMACOUNT) = 2;
	for (int k = 0; k < 10000 && (*cmpl & IOAT_STS_ADDR_MASK) != ring + IOAT_DESC_SIZE; k++)
		usleep(100);
	assert_true((*cmpl & IOAT_STS_ADDR_MASK) == ring + IOAT_DESC_SIZE);
	assert_memory_equal(mem + 4 * PSZ, mem + 2 * PSZ, 2 * len);
	assert_int_equal(mem[4 * PSZ + 2 * len], 0);
	assert_int_equal(efd_count(e), 0);	/* not asked for yet */
	R16(IOAT_CHAN_BASE + IOAT_C_DMACOUNT) = 4;
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(efd_count(e), 1);
	assert_true((*cmpl & IOAT_STS_ADDR_MASK) == ring + 3 * IOAT_DESC_SIZE);
	assert_int_equal(*cmpl & IOAT_STS_STATE_MASK, IOAT_ST_DONE);
	assert_true(R64(IOAT_CHAN_BASE + IOAT_C_CHANSTS) == *cmpl);
	assert_memory_equal(mem + 4 * PSZ, mem + 2 * PSZ, nr * len);
	assert_int_equal(R16(IOAT_CHAN_BASE + IOAT_C_DMACOUNT), 4);
	assert_int_equal(bar_rd(f, 0, IOAT_CHAN_BASE + IOAT_C_CHANERR, 4), 0);
#undef R8
#undef R16
#undef R64
	vfio_pci_munmap(&f->vdev, bar, IOAT_BAR0_SIZE);
	/* Stop it before its domain goes. */
	vfio_pci_close_device(&f->vdev);
	f->vdev.dev.domain = NULL;
	f->vdev.dev.iommu_ops = NULL;
	assert_int_equal(vfio_pci_open_device(&f->vdev), 0);
	fixture_close(ctx, mem, 8);
	close(e);
}

/*
 * A bus reset reaches every function on the bus: two I/OAT functions of a
 * real device set, each in its own group.
 */
static void test_hot_reset_two_functions(void **state)
{
	struct vfio_devset *set = NULL;
	struct vfio_device *d0, *d1;
	char err[256], path[64];
	struct {
		struct vfio_pci_hot_reset_info hdr;
		struct vfio_pci_dependent_device dev[2];
	} info = { .hdr = { .argsz = sizeof(struct vfio_pci_hot_reset_info) } };
	struct {
		struct vfio_pci_hot_reset hdr;
		int32_t fds[3];
	} hr = { .hdr = { .argsz = sizeof(hr) } };
	int g0, g1;

	assert_int_equal(vfio_devset_create(uiommufd_host_inproc(),
					    "ioat,bdf=0000:01:00.0;ioat,bdf=0000:01:01.0", &set,
					    err, sizeof(err)), 0);
	d0 = vfio_devset_device(set, 0);
	d1 = vfio_devset_device(set, 1);
	assert_int_equal(vfio_pci_ioctl(d0, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
					(uintptr_t)&info), -ENOSPC);
	assert_int_equal(info.hdr.count, 2);
	info.hdr.argsz = sizeof(info);
	assert_int_equal(vfio_pci_ioctl(d0, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
					(uintptr_t)&info), 0);
	assert_int_equal(info.hdr.count, 2);
	assert_int_equal(info.hdr.flags, 0);
	assert_int_equal(info.dev[0].devfn, 0);
	assert_int_equal(info.dev[1].devfn, 1 << 3);
	assert_int_equal(info.dev[0].group_id, vfio_group_id(d0->group));
	assert_int_equal(info.dev[1].group_id, vfio_group_id(d1->group));
	assert_int_not_equal(info.dev[0].group_id, info.dev[1].group_id);

	snprintf(path, sizeof(path), "/dev/vfio/%d", vfio_group_id(d0->group));
	g0 = vfio_open_path(path, O_RDWR);
	snprintf(path, sizeof(path), "/dev/vfio/%d", vfio_group_id(d1->group));
	g1 = vfio_open_path(path, O_RDWR);
	assert_true(g0 >= 0 && g1 >= 0);
	/* One group is not enough: the other function is not the caller's. */
	hr.hdr.count = 1;
	hr.fds[0] = g0;
	assert_int_equal(vfio_pci_ioctl(d0, VFIO_DEVICE_PCI_HOT_RESET, (uintptr_t)&hr), -EINVAL);
	hr.hdr.count = 3;
	assert_int_equal(vfio_pci_ioctl(d0, VFIO_DEVICE_PCI_HOT_RESET, (uintptr_t)&hr), -EINVAL);
	/* Both groups: the reset runs; a register set before reads back reset. */
	d1->pci->type->bar_write(d1->pci->model, 0, IOAT_R_INTRCTRL, 1, IOAT_INTRCTRL_MASTER);
	hr.hdr.count = 2;
	hr.fds[1] = g1;
	assert_int_equal(vfio_pci_ioctl(d0, VFIO_DEVICE_PCI_HOT_RESET, (uintptr_t)&hr), 0);
	assert_int_equal(d1->pci->type->bar_read(d1->pci->model, 0, IOAT_R_INTRCTRL, 1) &
			 IOAT_INTRCTRL_MASTER, 0);
	uiommufd_host_inproc_fd_closed(g0);
	close(g0);
	uiommufd_host_inproc_fd_closed(g1);
	close(g1);
	vfio_devset_destroy(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_info, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_region_info, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_irq_info, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_config_header, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_config_bar_sizing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_config_caps, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bar_rw, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_mmap, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_msix, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_set_irqs_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_msi, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_intx, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_intx_unmask_eventfd, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ioeventfd, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_err_req, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reset, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hot_reset, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_feature, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_dma_iommu, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_dma_blocked, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_dma_noiommu, fx_setup_noiommu, fx_teardown),
		cmocka_unit_test_setup_teardown(test_irq_storm, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_close_releases, fx_setup, fx_teardown),
		cmocka_unit_test(test_create_rejects),
		cmocka_unit_test(test_ioat_model),
		cmocka_unit_test_setup_teardown(test_ioat_identity, fx_setup_ioat, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ioat_mapped_bar, fx_setup_ioat, fx_teardown),
		cmocka_unit_test(test_hot_reset_two_functions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
