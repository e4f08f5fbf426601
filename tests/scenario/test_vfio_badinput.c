// SPDX-License-Identifier: MIT
/*
 * Bad input and isolation on the VFIO surface, as a plain client sees it
 * through `uiommufd run --device ioat,...` (the test re-runs itself that
 * way, as test_vfio_nodes does).
 *
 *  - The sweep: every ioctl number VFIO_BASE + 0 to + 27 on a container,
 *    a group, a group-opened device fd, a bound and an unbound cdev, with
 *    NULL, unmapped, PROT_NONE and all-ones arguments and with structs
 *    against a PROT_NONE page whose argsz is 0, short, just past the
 *    struct and huge.  Only the kernel's errnos, exact ones where the
 *    kernel's order of checks fixes them; VmPeak stays bounded; afterwards
 *    the device still copies.
 *  - Region access past a BAR, the ROM, VGA and unknown regions: EINVAL.
 *  - SET_IRQS with a descriptor that is not open (EBADF) or not an
 *    eventfd (EINVAL); a good one afterwards still works.
 *  - Closing the device fd, the container or the iommufd while the I/OAT
 *    engine copies: no crash, no byte moves after the device fd's close
 *    returns, no thread left over, no page left pinned.
 *  - DMA to unmapped or read-only IOVA: the destination is untouched and
 *    the channel halts with the read or write data error bit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"
#include "uapi/vfio.h"
#include "uapi/vfio_device.h"
#include "uapi/vfio_group.h"

#define PG 4096UL
#define BDF0 "0000:01:00.0"	/* used through its group */
#define BDF1 "0000:01:01.0"	/* used through its cdev */
#define CDEV1 "/dev/vfio/devices/vfio1"

#define BAR0 VFIO_PCI_INDEX_TO_OFFSET(0)
#define CFG VFIO_PCI_INDEX_TO_OFFSET(7)
#define BAR0_SIZE 0x4000u

/* The I/OAT channel registers and descriptor bits (docs/devices/ioat.md). */
#define CH 0x80u
#define CHANCMD (CH + 0x04)
#define DMACOUNT (CH + 0x06)
#define CHANSTS (CH + 0x08)
#define CHAINADDR (CH + 0x10)
#define CHANCMP (CH + 0x18)
#define CHANERR (CH + 0x28)
#define ST_ACTIVE 0
#define ST_HALTED 3
#define ERR_READ_DATA (1u << 8)
#define ERR_WRITE_DATA (1u << 9)
#define DCTL_COMPL (1u << 3)

/* The program's memory the device works in, and where it sits in IOVA. */
#define RAM_SIZE (64UL << 20)
#define IOVA (1UL << 24)
#define RING_OFF 0
#define CMP_OFF (128UL << 10)	/* after a ring of 1024 descriptors */
#define SRC_OFF (1UL << 20)
#define DST_OFF (32UL << 20)

static uint8_t *ram;

struct rig {
	int container, group, dev;	/* group path */
	int iommufd, cdev;		/* cdev path */
};

/* ---- small helpers */

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static long vm_peak_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPeak: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* No page of the program's RAM is pinned: the selftest's reference check. */
static void assert_unpinned(void)
{
	struct iommu_test_cmd chk = {
		.size = sizeof(chk),
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = RAM_SIZE, .uptr = (uintptr_t)ram, .refs = 0 },
	};
	int fd = open("/dev/iommu", O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, IOMMU_TEST_CMD, &chk), 0);
	close(fd);
}

static void reg_write(int dev, uint64_t off, uint64_t v, size_t n)
{
	assert_int_equal(pwrite(dev, &v, n, BAR0 + off), (ssize_t)n);
}

static uint64_t reg_read(int dev, uint64_t off, size_t n)
{
	uint64_t v = 0;

	assert_int_equal(pread(dev, &v, n, BAR0 + off), (ssize_t)n);
	return v;
}

static void group_path(const char *bdf, char *out, size_t len)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(link, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = 0;
	snprintf(out, len, "/dev/vfio/%s", strrchr(target, '/') + 1);
}

/* Memory decode and bus mastering on, as a driver's probe does. */
static void enable_device(int dev)
{
	uint16_t cmd = 0x6;

	assert_int_equal(pwrite(dev, &cmd, 2, CFG + 4), 2);
}

/* The group path: type1 container, RAM mapped at IOVA, the device fd. */
static void open_group_path(struct rig *r)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)ram,
		.iova = IOVA,
		.size = RAM_SIZE,
	};
	char path[64];

	group_path(BDF0, path, sizeof(path));
	r->container = open("/dev/vfio/vfio", O_RDWR);
	r->group = open(path, O_RDWR);
	assert_true(r->container >= 0 && r->group >= 0);
	assert_int_equal(ioctl(r->group, VFIO_GROUP_SET_CONTAINER, &r->container), 0);
	assert_int_equal(ioctl(r->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(ioctl(r->container, VFIO_IOMMU_MAP_DMA, &map), 0);
	r->dev = ioctl(r->group, VFIO_GROUP_GET_DEVICE_FD, BDF0);
	assert_true(r->dev >= 0);
	enable_device(r->dev);
}

static void close_group_path(struct rig *r)
{
	if (r->dev >= 0)
		assert_int_equal(close(r->dev), 0);
	if (r->group >= 0)
		assert_int_equal(close(r->group), 0);
	if (r->container >= 0)
		assert_int_equal(close(r->container), 0);
	r->dev = r->group = r->container = -1;
}

/* The cdev path: iommufd, bound cdev attached to an IOAS with RAM mapped. */
static void open_cdev_path(struct rig *r, bool map_ram)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)ram,
		.length = RAM_SIZE,
		.iova = IOVA,
	};

	r->iommufd = open("/dev/iommu", O_RDWR);
	r->cdev = open(CDEV1, O_RDWR);
	assert_true(r->iommufd >= 0 && r->cdev >= 0);
	bind.iommufd = r->iommufd;
	assert_int_equal(ioctl(r->cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
	assert_int_equal(ioctl(r->iommufd, IOMMU_IOAS_ALLOC, &alloc), 0);
	at.pt_id = alloc.out_ioas_id;
	assert_int_equal(ioctl(r->cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
	if (map_ram) {
		map.ioas_id = alloc.out_ioas_id;
		assert_int_equal(ioctl(r->iommufd, IOMMU_IOAS_MAP, &map), 0);
	}
	enable_device(r->cdev);
}

static void close_cdev_path(struct rig *r)
{
	if (r->cdev >= 0)
		assert_int_equal(close(r->cdev), 0);
	if (r->iommufd >= 0)
		assert_int_equal(close(r->iommufd), 0);
	r->cdev = r->iommufd = -1;
}

/* Descriptor @i of the ring: a copy of @len bytes, linked to @next. */
static void put_copy(unsigned int i, uint64_t src, uint64_t dst, uint32_t len, uint32_t ctl,
		     unsigned int next)
{
	uint8_t *d = ram + RING_OFF + i * 64;
	uint64_t nx = IOVA + RING_OFF + next * 64;

	memset(d, 0, 64);
	memcpy(d, &len, 4);
	memcpy(d + 4, &ctl, 4);
	memcpy(d + 8, &src, 8);
	memcpy(d + 16, &dst, 8);
	memcpy(d + 24, &nx, 8);
}

/* Start @n descriptors from the ring's head, as DPDK's ioat driver does. */
static void ring_start(int dev, unsigned int n)
{
	reg_write(dev, CHANCMD, 1u << 5, 1);	/* reset: a fresh chain */
	memset(ram + CMP_OFF, 0, 8);
	reg_write(dev, CHANCMP, IOVA + CMP_OFF, 8);
	reg_write(dev, CHAINADDR, IOVA + RING_OFF, 8);
	reg_write(dev, DMACOUNT, n, 2);
}

/* CHANSTS once the channel has left ACTIVE (or after about 5 s). */
static uint64_t wait_idle(int dev)
{
	struct timespec ts = { 0, 100000 };
	uint64_t sts = 0;
	int i;

	for (i = 0; i < 50000; i++) {
		sts = reg_read(dev, CHANSTS, 8);
		if ((sts & 7) != ST_ACTIVE)
			break;
		nanosleep(&ts, NULL);
	}
	return sts;
}

/* One 4 KiB copy that must work: the device is healthy. */
static void assert_copies(int dev)
{
	uint64_t sts;

	memset(ram + SRC_OFF, 0x5a, PG);
	memset(ram + DST_OFF, 0, PG);
	put_copy(0, IOVA + SRC_OFF, IOVA + DST_OFF, PG, DCTL_COMPL, 0);
	ring_start(dev, 1);
	sts = wait_idle(dev);
	assert_int_equal(sts & ~0x3fULL, IOVA + RING_OFF);
	assert_int_equal(reg_read(dev, CHANERR, 4), 0);
	assert_memory_equal(ram + SRC_OFF, ram + DST_OFF, PG);
}

/* ---- the sweep */

/* What the kernel's VFIO code may answer. */
static bool errno_ok(int e)
{
	switch (e) {
	case EFAULT: case EINVAL: case ENOTTY: case EBUSY: case ENODEV: case ENOENT:
	case EBADF: case EBADFD: case ENOSPC: case EPERM: case EOPNOTSUPP: case E2BIG:
	case ENOMEM: case EEXIST: case ENXIO: case EIO: case EOVERFLOW: case ERANGE:
	case EACCES: case EAGAIN:
		return true;
	default:
		return false;
	}
}

static uint8_t *guard;		/* PROT_NONE page; the 256 bytes before it are ours */
#define SLOT 256

struct target {
	const char *name;
	int fd;
};

static void sweep_one(const struct target *t, unsigned int nr, const char *how, unsigned long arg)
{
	unsigned long cmd = _IO(VFIO_TYPE, VFIO_BASE + nr);
	long rc = ioctl(t->fd, cmd, arg);

	if (rc < 0 && !errno_ok(errno))
		fail_msg("%s: VFIO_BASE+%u with %s gave errno %d (%s)", t->name, nr, how, errno,
			 strerror(errno));
	/* A valid name in the slot may give a device fd (it never does here: busy). */
	if (rc > 0 && nr == 6)
		close((int)rc);
}

/* A struct whose argsz is @argsz, its other bytes @fill, right against the guard. */
static unsigned long against_guard(size_t len, uint32_t argsz, uint8_t fill)
{
	uint8_t *p = guard - len;

	memset(p, fill, len);
	if (len >= 4)
		memcpy(p, &argsz, 4);
	return (uintptr_t)p;
}

static void sweep_target(const struct target *t)
{
	static const uint32_t sizes[] = { 0, 4, 8, 12, 16, 24, 32, 64, 128, 0xffffffffu };
	unsigned int nr;
	size_t k;

	for (nr = 0; nr <= 27; nr++) {
		/* SET_IOMMU and friends take a value: all-ones and small ones. */
		sweep_one(t, nr, "NULL", 0);
		sweep_one(t, nr, "unmapped", 0x1000);
		sweep_one(t, nr, "non-canonical", 0x8000000000000000UL);
		sweep_one(t, nr, "PROT_NONE", (uintptr_t)guard);
		sweep_one(t, nr, "all-ones", ~0UL);
		for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			sweep_one(t, nr, "zeroed struct", against_guard(SLOT, sizes[k], 0));
			sweep_one(t, nr, "all-ones struct", against_guard(SLOT, sizes[k], 0xff));
			sweep_one(t, nr, "short struct", against_guard(8, sizes[k], 0xff));
		}
	}
}

static void test_sweep(void **state)
{
	struct rig r = { -1, -1, -1, -1, -1 };
	struct vfio_group_status st;
	struct vfio_device_info info;
	int unbound_cdev, threads = count_threads();
	long peak;
	char path[64];

	open_group_path(&r);
	open_cdev_path(&r, true);
	assert_copies(r.dev);
	assert_copies(r.cdev);
	/* An unbound cdev of a device in a group that is not open. */
	assert_int_equal(close(r.cdev), 0);
	r.cdev = -1;
	unbound_cdev = open(CDEV1, O_RDWR);
	assert_true(unbound_cdev >= 0);
	group_path(BDF1, path, sizeof(path));

	const struct target targets[] = {
		{ "container", r.container },
		{ "group", r.group },
		{ "device fd", r.dev },
		{ "unbound cdev", unbound_cdev },
	};
	peak = vm_peak_kb();
	for (size_t k = 0; k < sizeof(targets) / sizeof(targets[0]); k++)
		sweep_target(&targets[k]);
	assert_true(vm_peak_kb() - peak < 64 * 1024);

	/* Exact answers where the kernel's order of checks fixes them. */
	assert_int_equal(ioctl(r.group, VFIO_GROUP_GET_STATUS, NULL), -1);
	assert_int_equal(errno, EFAULT);
	memset(&st, 0xa5, sizeof(st));
	st.argsz = 4;
	assert_int_equal(ioctl(r.group, VFIO_GROUP_GET_STATUS, &st), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(st.flags, 0xa5a5a5a5u);	/* untouched */
	assert_int_equal(ioctl(r.group, VFIO_DEVICE_GET_INFO, &info), -1);
	assert_int_equal(errno, ENOTTY);
	assert_int_equal(ioctl(r.dev, VFIO_DEVICE_GET_INFO, NULL), -1);
	assert_int_equal(errno, EFAULT);
	memset(&info, 0xa5, sizeof(info));
	info.argsz = 8;
	assert_int_equal(ioctl(r.dev, VFIO_DEVICE_GET_INFO, &info), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(info.num_regions, 0xa5a5a5a5u);
	assert_int_equal(ioctl(r.dev, _IO(VFIO_TYPE, VFIO_BASE + 27), 0), -1);
	assert_int_equal(errno, ENOTTY);
	assert_int_equal(ioctl(r.dev, VFIO_DEVICE_BIND_IOMMUFD, NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(ioctl(unbound_cdev, VFIO_DEVICE_GET_INFO, &info), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ioctl(unbound_cdev, VFIO_DEVICE_RESET), -1);
	assert_int_equal(errno, EINVAL);
	/* A device name that runs into unmapped memory. */
	memcpy(guard - 12, BDF0, 12);
	assert_int_equal(ioctl(r.group, VFIO_GROUP_GET_DEVICE_FD, guard - 12), -1);
	assert_true(errno == EFAULT || errno == EINVAL);

	/* Normal operation afterwards: the group path, then the cdev path. */
	enable_device(r.dev);	/* the sweep's VFIO_DEVICE_RESET cleared the command register */
	info.argsz = sizeof(info);
	assert_int_equal(ioctl(r.dev, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(info.num_regions, 9);
	assert_copies(r.dev);
	assert_int_equal(close(unbound_cdev), 0);
	open_cdev_path(&r, true);
	assert_copies(r.cdev);
	close_cdev_path(&r);
	close_group_path(&r);
	assert_int_equal(count_threads(), threads);
	assert_unpinned();
}

/* ---- regions */

static void test_region_bounds(void **state)
{
	struct rig r = { -1, -1, -1, -1, -1 };
	uint64_t v = 0;
	uint32_t id = 0;

	open_group_path(&r);
	/* The last register of BAR0 is fine, one past the end is not. */
	assert_int_equal(pread(r.dev, &v, 4, BAR0 + BAR0_SIZE - 4), 4);
	assert_int_equal(pread(r.dev, &v, 4, BAR0 + BAR0_SIZE), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pwrite(r.dev, &v, 4, BAR0 + BAR0_SIZE), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pread(r.dev, &v, 4, BAR0 + VFIO_PCI_OFFSET_MASK), -1);
	assert_int_equal(errno, EINVAL);
	/* BARs the function does not have, the ROM, VGA and beyond. */
	assert_int_equal(pread(r.dev, &v, 4, VFIO_PCI_INDEX_TO_OFFSET(2)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pread(r.dev, &v, 4, VFIO_PCI_INDEX_TO_OFFSET(6)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pread(r.dev, &v, 4, VFIO_PCI_INDEX_TO_OFFSET(8)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pread(r.dev, &v, 4, VFIO_PCI_INDEX_TO_OFFSET(9)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pread(r.dev, &v, 4, VFIO_PCI_INDEX_TO_OFFSET(0xffffff)), -1);
	assert_int_equal(errno, EINVAL);
	/* Config space ends at 4 KiB: the kernel says EFAULT past it. */
	assert_int_equal(pread(r.dev, &v, 4, CFG + 4096), -1);
	assert_int_equal(errno, EFAULT);
	/* A bad buffer: EFAULT, and nothing was written. */
	assert_int_equal(pwrite(r.dev, guard, 4, BAR0 + CHAINADDR), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(reg_read(r.dev, CHAINADDR, 8), 0);
	assert_int_equal(pread(r.dev, &id, 4, CFG), 4);
	assert_int_equal(id, 0x20218086);
	assert_copies(r.dev);
	close_group_path(&r);
}

/* ---- interrupts */

static void test_bad_eventfds(void **state)
{
	struct rig r = { -1, -1, -1, -1, -1 };
	struct {
		struct vfio_irq_set hdr;
		int32_t fd;
	} s;
	struct vfio_irq_set none = {
		.argsz = sizeof(none),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX,
		.start = 0,
		.count = 1,
	};
	uint64_t n = 0;
	int efd, devnull;

	_Static_assert(sizeof(s) == sizeof(struct vfio_irq_set) + 4, "no padding");
	open_group_path(&r);
	memset(&s, 0, sizeof(s));
	s.hdr.argsz = sizeof(s);
	s.hdr.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	s.hdr.index = VFIO_PCI_MSIX_IRQ_INDEX;
	s.hdr.count = 1;
	s.fd = 999;	/* not open */
	assert_int_equal(ioctl(r.dev, VFIO_DEVICE_SET_IRQS, &s), -1);
	assert_int_equal(errno, EBADF);
	devnull = open("/dev/null", O_RDWR);
	s.fd = devnull;
	assert_int_equal(ioctl(r.dev, VFIO_DEVICE_SET_IRQS, &s), -1);
	assert_int_equal(errno, EINVAL);
	s.hdr.index = VFIO_PCI_INTX_IRQ_INDEX;
	assert_int_equal(ioctl(r.dev, VFIO_DEVICE_SET_IRQS, &s), -1);
	assert_int_equal(errno, EINVAL);
	s.fd = 999;
	assert_int_equal(ioctl(r.dev, VFIO_DEVICE_SET_IRQS, &s), -1);
	assert_int_equal(errno, EBADF);
	close(devnull);

	/* A good eventfd works afterwards, also once the program closed its own. */
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s.hdr.index = VFIO_PCI_MSIX_IRQ_INDEX;
	s.fd = efd;
	assert_int_equal(ioctl(r.dev, VFIO_DEVICE_SET_IRQS, &s), 0);
	assert_int_equal(ioctl(r.dev, VFIO_DEVICE_SET_IRQS, &none), 0);
	assert_int_equal(read(efd, &n, 8), 8);
	assert_int_equal(n, 1);
	s.fd = 999;
	assert_int_equal(ioctl(r.dev, VFIO_DEVICE_SET_IRQS, &s), -1);
	assert_int_equal(errno, EBADF);
	s.fd = -1;	/* tear down */
	assert_int_equal(ioctl(r.dev, VFIO_DEVICE_SET_IRQS, &s), 0);
	close(efd);
	assert_copies(r.dev);
	close_group_path(&r);
}

/* ---- teardown while DMA runs */

/*
 * A long chain: 1024 descriptors of 1 MiB (1 GiB of copying, a good part
 * of a second) from two sources of different bytes into 23 destination
 * slots.  23 is odd, so every pass over a slot changes its bytes: any
 * DMA after the close shows.  Only the last descriptor writes a
 * completion, so a completion of 0 means the chain was cut short.
 */
#define BIG_DESCS 1024
#define BIG_SLOTS 23
#define SRC_B_OFF (SRC_OFF + (1UL << 20))

static void start_big_copy(int dev)
{
	unsigned int i;

	memset(ram + SRC_OFF, 0x77, 1u << 20);
	memset(ram + SRC_B_OFF, 0x88, 1u << 20);
	memset(ram + DST_OFF, 0, (size_t)BIG_SLOTS << 20);
	for (i = 0; i < BIG_DESCS; i++)
		put_copy(i, IOVA + (i % 2 ? SRC_B_OFF : SRC_OFF),
			 IOVA + DST_OFF + ((uint64_t)(i % BIG_SLOTS) << 20), 1u << 20,
			 i == BIG_DESCS - 1 ? DCTL_COMPL : 0, (i + 1) % BIG_DESCS);
	ring_start(dev, BIG_DESCS);
	/* Until the engine has moved its first chunk: DMA is in flight. */
	for (i = 0; i < 5000000 && !__atomic_load_n(&ram[DST_OFF], __ATOMIC_ACQUIRE); i++)
		sched_yield();
	/* 0x88 when this thread was slow to look: a later pass got there. */
	assert_true(ram[DST_OFF] == 0x77 || ram[DST_OFF] == 0x88);
}

/* Whether the chain was cut short: its last descriptor wrote no completion. */
static bool cut_short(void)
{
	return __atomic_load_n((uint64_t *)(ram + CMP_OFF), __ATOMIC_ACQUIRE) == 0;
}

/* Nothing changes in the destination (or the completion) once the device is stopped. */
static void assert_quiet(void)
{
	static uint8_t snap[BIG_SLOTS << 20];
	struct timespec ts = { 0, 30 * 1000 * 1000 };
	uint64_t cmp = *(volatile uint64_t *)(ram + CMP_OFF);

	memcpy(snap, ram + DST_OFF, sizeof(snap));
	nanosleep(&ts, NULL);
	assert_memory_equal(snap, ram + DST_OFF, sizeof(snap));
	assert_int_equal(*(volatile uint64_t *)(ram + CMP_OFF), cmp);
}

/* The chain still runs, or ran to its end (this thread was slow to look). */
static void assert_chain_went_on(int dev)
{
	uint64_t st = reg_read(dev, CHANSTS, 8) & 7;

	assert_true(st == ST_ACTIVE || (st == 1 /* DONE */ && !cut_short()));
}

static void test_close_device_during_dma(void **state)
{
	struct rig r = { -1, -1, -1, -1, -1 };
	int threads = count_threads(), round;

	for (round = 0; round < 3; round++) {
		open_group_path(&r);
		start_big_copy(r.dev);
		assert_int_equal(close(r.dev), 0);
		r.dev = -1;
		/* The close stopped a running chain, and for good. */
		assert_true(cut_short());
		assert_quiet();
		close_group_path(&r);
		assert_unpinned();
	}
	assert_int_equal(count_threads(), threads);
}

static void test_close_container_during_dma(void **state)
{
	struct rig r = { -1, -1, -1, -1, -1 };
	int threads = count_threads();

	/* The group holds the context: the copy goes on, and the device works. */
	open_group_path(&r);
	start_big_copy(r.dev);
	assert_int_equal(close(r.container), 0);
	r.container = -1;
	assert_int_equal(close(r.group), 0);
	r.group = -1;
	assert_chain_went_on(r.dev);
	/* A channel reset stops the chain at once; the next copy works. */
	assert_copies(r.dev);
	start_big_copy(r.dev);
	close_group_path(&r);
	assert_true(cut_short());
	assert_quiet();
	assert_unpinned();
	assert_int_equal(count_threads(), threads);
}

static void test_close_iommufd_during_dma(void **state)
{
	struct rig r = { -1, -1, -1, -1, -1 };
	int threads = count_threads();

	open_cdev_path(&r, true);
	start_big_copy(r.cdev);
	assert_int_equal(close(r.iommufd), 0);
	r.iommufd = -1;
	assert_chain_went_on(r.cdev);
	assert_copies(r.cdev);
	start_big_copy(r.cdev);
	close_cdev_path(&r);
	assert_true(cut_short());
	assert_quiet();
	assert_unpinned();
	assert_int_equal(count_threads(), threads);
}

/* ---- descriptors that are not what the call wants */

static void test_bad_fds(void **state)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	int group, cdev, devnull, efd, bad = 999;
	char path[64];

	group_path(BDF0, path, sizeof(path));
	group = open(path, O_RDWR);
	cdev = open(CDEV1, O_RDWR);
	devnull = open("/dev/null", O_RDWR);
	efd = eventfd(0, EFD_CLOEXEC);
	assert_true(group >= 0 && cdev >= 0 && devnull >= 0 && efd >= 0);
	/* Not open: EBADF; open but neither a container nor an iommufd: EBADFD. */
	assert_int_equal(ioctl(group, VFIO_GROUP_SET_CONTAINER, &bad), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(ioctl(group, VFIO_GROUP_SET_CONTAINER, &devnull), -1);
	assert_int_equal(errno, EBADFD);
	assert_int_equal(ioctl(group, VFIO_GROUP_SET_CONTAINER, &efd), -1);
	assert_int_equal(errno, EBADFD);
	assert_int_equal(ioctl(group, VFIO_GROUP_SET_CONTAINER, &cdev), -1);
	assert_int_equal(errno, EBADFD);
	assert_int_equal(ioctl(group, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_int_equal(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	bind.iommufd = bad;
	assert_int_equal(ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), -1);
	assert_int_equal(errno, EBADF);
	bind.iommufd = devnull;
	assert_int_equal(ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), -1);
	assert_int_equal(errno, EBADFD);
	bind.iommufd = group;
	assert_int_equal(ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), -1);
	assert_int_equal(errno, EBADFD);
	bind.iommufd = -1;
	assert_int_equal(ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), -1);
	assert_int_equal(errno, EINVAL);
	/* Still unbound. */
	assert_int_equal(ioctl(cdev, VFIO_DEVICE_RESET), -1);
	assert_int_equal(errno, EINVAL);
	close(efd);
	close(devnull);
	assert_int_equal(close(cdev), 0);
	assert_int_equal(close(group), 0);
}

/* ---- closing the device fd while other threads use it */

struct hammer {
	int fd;
	_Atomic int stop;
	unsigned long calls;
	int last_errno;
};

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	struct vfio_device_info info;
	uint64_t v = 0;

	while (!atomic_load(&h->stop)) {
		info.argsz = sizeof(info);
		if (ioctl(h->fd, VFIO_DEVICE_GET_INFO, &info) < 0 ||
		    pread(h->fd, &v, 8, BAR0 + CHANSTS) < 0 ||
		    pwrite(h->fd, &v, 2, BAR0 + DMACOUNT) < 0) {
			h->last_errno = errno;
			break;
		}
		h->calls++;
	}
	return NULL;
}

static void test_close_while_in_use(void **state)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	struct rig r = { -1, -1, -1, -1, -1 };
	struct hammer h[2];
	pthread_t t[2];
	int threads = count_threads(), k;

	open_group_path(&r);
	start_big_copy(r.dev);
	for (k = 0; k < 2; k++) {
		memset(&h[k], 0, sizeof(h[k]));
		h[k].fd = r.dev;
		assert_int_equal(pthread_create(&t[k], NULL, hammer_fn, &h[k]), 0);
	}
	nanosleep(&ts, NULL);
	assert_int_equal(close(r.dev), 0);
	r.dev = -1;
	for (k = 0; k < 2; k++) {
		struct timespec wait = { 0, 50 * 1000 * 1000 };

		nanosleep(&wait, NULL);
		atomic_store(&h[k].stop, 1);
		assert_int_equal(pthread_join(t[k], NULL), 0);
		/* Each call ran on the open file or found the descriptor gone. */
		if (h[k].last_errno != 0 && h[k].last_errno != EBADF)
			fail_msg("hammer %d: errno %d (%s) after %lu calls", k,
				 h[k].last_errno, strerror(h[k].last_errno), h[k].calls);
	}
	assert_quiet();
	/* The device opens again and works. */
	r.dev = ioctl(r.group, VFIO_GROUP_GET_DEVICE_FD, BDF0);
	assert_true(r.dev >= 0);
	enable_device(r.dev);
	assert_copies(r.dev);
	close_group_path(&r);
	assert_unpinned();
	assert_int_equal(count_threads(), threads);
}

/* ---- DMA the IOMMU refuses */

static void assert_halted_with(int dev, uint32_t err)
{
	uint64_t sts = wait_idle(dev);

	assert_int_equal(sts & 7, ST_HALTED);
	assert_true(reg_read(dev, CHANERR, 4) & err);
	/* Recovery as a driver does it: clear CHANERR (W1C), reset the channel. */
	reg_write(dev, CHANERR, reg_read(dev, CHANERR, 4), 4);
	reg_write(dev, CHANCMD, 1u << 5, 1);
	assert_int_equal(reg_read(dev, CHANERR, 4), 0);
}

static void test_dma_refused(void **state)
{
	struct vfio_iommu_type1_dma_map ro = {
		.argsz = sizeof(ro),
		.flags = VFIO_DMA_MAP_FLAG_READ,
		.iova = 1UL << 30,
		.size = PG,
	};
	struct rig r = { -1, -1, -1, -1, -1 };
	uint8_t *page;

	page = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	memset(page, 0xee, PG);
	open_group_path(&r);
	ro.vaddr = (uintptr_t)page;
	assert_int_equal(ioctl(r.container, VFIO_IOMMU_MAP_DMA, &ro), 0);
	memset(ram + SRC_OFF, 0x11, PG);
	memset(ram + DST_OFF, 0xdd, PG);

	/* A read-only destination: the write faults, the page keeps its bytes. */
	put_copy(0, IOVA + SRC_OFF, ro.iova, PG, DCTL_COMPL, 0);
	ring_start(r.dev, 1);
	assert_halted_with(r.dev, ERR_WRITE_DATA);
	for (size_t i = 0; i < PG; i++)
		assert_int_equal(page[i], 0xee);

	/* An unmapped destination, then an unmapped source. */
	put_copy(0, IOVA + SRC_OFF, 3UL << 30, PG, DCTL_COMPL, 0);
	ring_start(r.dev, 1);
	assert_halted_with(r.dev, ERR_WRITE_DATA);
	put_copy(0, 3UL << 30, IOVA + DST_OFF, PG, DCTL_COMPL, 0);
	ring_start(r.dev, 1);
	assert_halted_with(r.dev, ERR_READ_DATA);
	for (size_t i = 0; i < PG; i++)
		assert_int_equal(ram[DST_OFF + i], 0xdd);
	/* A read-only source is fine. */
	memset(page, 0x3c, PG);
	put_copy(0, ro.iova, IOVA + DST_OFF, PG, DCTL_COMPL, 0);
	ring_start(r.dev, 1);
	assert_int_equal(wait_idle(r.dev) & ~0x3fULL, IOVA + RING_OFF);
	assert_memory_equal(page, ram + DST_OFF, PG);

	/* Bus mastering off: nothing moves, the channel reports an error. */
	{
		uint16_t cmd = 0x2;

		assert_int_equal(pwrite(r.dev, &cmd, 2, CFG + 4), 2);
		memset(ram + DST_OFF, 0xdd, PG);
		put_copy(0, IOVA + SRC_OFF, IOVA + DST_OFF, PG, DCTL_COMPL, 0);
		ring_start(r.dev, 1);
		assert_int_equal(wait_idle(r.dev) & 7, ST_HALTED);
		for (size_t i = 0; i < PG; i++)
			assert_int_equal(ram[DST_OFF + i], 0xdd);
		reg_write(r.dev, CHANERR, reg_read(r.dev, CHANERR, 4), 4);
		reg_write(r.dev, CHANCMD, 1u << 5, 1);
		enable_device(r.dev);
	}
	assert_copies(r.dev);
	close_group_path(&r);
	munmap(page, PG);
	assert_unpinned();
}

/* ---- running under the command */

static void build_tool(char *self, size_t len, char *tool, size_t tlen)
{
	ssize_t n = readlink("/proc/self/exe", self, len - 1);
	char dir[PATH_MAX];
	int up;

	if (n <= 0) {
		perror("readlink /proc/self/exe");
		exit(1);
	}
	self[n] = 0;
	snprintf(dir, sizeof(dir), "%s", self);
	for (up = 0; up < 3; up++)
		*strrchr(dir, '/') = 0;
	snprintf(tool, tlen, "%s/bin/uiommufd", dir);
}

/* Descriptors open before the tests: a failed test's leftovers are closed after it. */
static bool fd_was_open[1024];

static int close_leftovers(void **state)
{
	int fd;

	for (fd = 3; fd < 1024; fd++)
		if (!fd_was_open[fd] && fcntl(fd, F_GETFD) != -1)
			close(fd);
	return 0;
}

static int setup(void **state)
{
	int fd;

	for (fd = 0; fd < 1024; fd++)
		fd_was_open[fd] = fcntl(fd, F_GETFD) != -1;
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	guard = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED || guard == MAP_FAILED)
		return -1;
	guard += PG;
	return mprotect(guard, PG, PROT_NONE);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sweep, close_leftovers),
		cmocka_unit_test_teardown(test_region_bounds, close_leftovers),
		cmocka_unit_test_teardown(test_bad_eventfds, close_leftovers),
		cmocka_unit_test_teardown(test_close_device_during_dma, close_leftovers),
		cmocka_unit_test_teardown(test_close_container_during_dma, close_leftovers),
		cmocka_unit_test_teardown(test_close_iommufd_during_dma, close_leftovers),
		cmocka_unit_test_teardown(test_dma_refused, close_leftovers),
		cmocka_unit_test_teardown(test_bad_fds, close_leftovers),
		cmocka_unit_test_teardown(test_close_while_in_use, close_leftovers),
	};
	char self[PATH_MAX], tool[PATH_MAX + 16];
	int status;
	pid_t pid;

	if (getenv("UIOMMUFD_DEVICES"))
		return cmocka_run_group_tests_name("vfio_badinput", tests, setup, NULL);
	build_tool(self, sizeof(self), tool, sizeof(tool));
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		execl(tool, "uiommufd", "run", "--device", "ioat,bdf=" BDF0, "--device",
		      "ioat,bdf=" BDF1, "--", self, (char *)NULL);
		perror("exec uiommufd");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
