// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness over the VFIO surface: group, container, device and
 * cdev files of an emulated I/OAT function, driven through the library's
 * public calls (uiommufd_vfio_open, uiommufd_fd_ioctl/_rw/_mmap,
 * uiommufd_ioctl on the contexts), as a program under the shim reaches
 * them, but in-process and without the shim.
 *
 * The process has one device set for its whole life: an I/OAT function
 * behind an IOMMU and one without (no-IOMMU group).  Each input opens
 * files into eight slots and runs up to MAX_OPS operations on them: plain
 * ioctls with hostile arguments (NULL, unmapped, against a PROT_NONE page,
 * all ones, fuzzed bytes with chosen argsz), the structured steps a client
 * takes (SET_CONTAINER, SET_IOMMU, MAP_DMA, GET_DEVICE_FD, BIND_IOMMUFD,
 * IOAS_MAP, ATTACH_PT), region reads and writes, SET_IRQS with good and
 * bad eventfds, a BAR mmap, and I/OAT programming: fuzzed descriptors in
 * the arena, CHAINADDR/CHANCMP, bus master, the doorbell, so DMA runs
 * (and is often still running) when the input closes things.
 *
 * Every failure must be an errno the kernel's VFIO and iommufd code can
 * give.  After the input everything is closed; then nothing in the arena
 * may be pinned or charged, no thread may be left over, and the device
 * must work again: a fresh container, map, device fd and one copy that
 * completes with the right bytes.  LeakSanitizer catches the rest.
 */
#include <dirent.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <time.h>

#include "fuzz_common.h"
#include "uapi/vfio_device.h"
#include "uapi/vfio_group.h"
#include "host/mmio_trap.h"
#include "vfio/vfio.h"

#define ARENA_PAGES 16			/* read-write; one PROT_NONE page after */
#define IOVA_BASE (1UL << 24)		/* the mock aperture starts here */
#define NSLOTS 8
#define MAX_OPS 40
#define BUF_MAX 512

#define BAR0 VFIO_PCI_INDEX_TO_OFFSET(0)
#define CFG VFIO_PCI_INDEX_TO_OFFSET(7)
#define CH 0x80u			/* the channel's register block */

#define UNMAPPED_LOW 0x1000UL
#define UNMAPPED_HIGH 0x8000000000000000UL

enum slot_kind { S_FREE, S_CTX, S_FD };

struct slot {
	enum slot_kind kind;
	int fd;				/* S_FD: ours; S_CTX: the resolver's stand-in */
	struct uiommufd_ctx *ctx;	/* S_CTX */
};

static struct slot slots[NSLOTS];
static uint8_t *arena, *none_page;
static char nodes[4][64];		/* group 0, group 1, cdev 0, cdev 1 */
static const char *const names[] = { "0000:01:00.0", "0000:01:01.0", "0000:01:02.0", "" };
static int base_threads;
static bool trace;	/* FUZZ_VFIO_TRACE=1: every call and its answer on stderr */

/* ---- descriptors that stand for /dev/iommu and /dev/vfio/vfio */

static struct uiommufd_ctx *resolver(int fd)
{
	size_t k;

	for (k = 0; k != NSLOTS; k++) {
		if (slots[k].kind == S_CTX && slots[k].fd == fd) {
			uiommufd_ctx_get(slots[k].ctx);
			return slots[k].ctx;
		}
	}
	return NULL;
}

static void slot_close(struct slot *s)
{
	if (s->kind == S_CTX)
		uiommufd_ctx_put(s->ctx);
	if (s->kind != S_FREE) {
		uiommufd_host_inproc_fd_closed(s->fd);
		close(s->fd);
	}
	s->kind = S_FREE;
	s->ctx = NULL;
	s->fd = -1;
}

static struct slot *slot_pick(struct fz_in *in)
{
	return &slots[fz_u8(in) % NSLOTS];
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		fz_fail("opendir /proc/self/task");
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void setup_once(void)
{
	struct uiommufd_devset *set;
	struct vfio_devset *vset;
	char err[256];
	size_t i;
	uint8_t *m;

	m = mmap(NULL, (ARENA_PAGES + 1) * FZ_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fz_fail("arena mmap");
	none_page = m + ARENA_PAGES * FZ_PAGE;
	if (mprotect(none_page, FZ_PAGE, PROT_NONE))
		fz_fail("arena mprotect");
	arena = m;
	if (uiommufd_devset_create(uiommufd_host_inproc(),
				   "ioat,bdf=0000:01:00.0;ioat,bdf=0000:01:01.0,noiommu", &set, err,
				   sizeof(err)))
		fz_fail("devset: %s", err);
	vset = vfio_devset_current();
	for (i = 0; i != 2; i++) {
		struct vfio_device *vdev = vfio_devset_device(vset, i);
		char name[32];

		vfio_group_node_name(vdev->group, name, sizeof(name));
		snprintf(nodes[i], sizeof(nodes[i]), "/dev/vfio/%s", name);
		vfio_device_cdev_name(vdev, name, sizeof(name));
		snprintf(nodes[2 + i], sizeof(nodes[2 + i]), "/dev/vfio/devices/%s", name);
	}
	uiommufd_set_fd_resolver(resolver);
	for (i = 0; i != NSLOTS; i++)
		slots[i].fd = -1;
	fz_fds_baseline();
	base_threads = count_threads();
	trace = getenv("FUZZ_VFIO_TRACE") != NULL;
}

/* What the kernel's VFIO and iommufd code may answer; anything else is a bug. */
static bool errno_ok(long rc)
{
	switch (-rc) {
	case EFAULT: case EINVAL: case E2BIG: case ENOTTY: case EOPNOTSUPP: case ENOENT:
	case EOVERFLOW: case EBUSY: case ENOMEM: case ENOSPC: case EPERM: case EEXIST:
	case EADDRINUSE: case EBADF: case EIO: case ENODEV: case ENXIO: case ERANGE:
	case EACCES: case EBADFD: case EAGAIN: case EDEADLK: case ESPIPE: case EMSGSIZE:
		return true;
	default:
		return false;
	}
}

static long check(const char *what, unsigned long cmd, long rc)
{
	if (trace)
		fprintf(stderr, "%s %#lx -> %ld\n", what, cmd, rc);
	if (rc < 0 && !errno_ok(rc))
		fz_fail("%s %#lx gave %ld", what, cmd, rc);
	return rc;
}

/* ioctl on whatever a slot holds. */
static long slot_ioctl(struct slot *s, unsigned long cmd, void *arg)
{
	if (s->kind == S_CTX)
		return check("ctx ioctl", cmd, uiommufd_ioctl(s->ctx, cmd, (uintptr_t)arg));
	if (s->kind == S_FD)
		return check("fd ioctl", cmd, uiommufd_fd_ioctl(s->fd, cmd, arg));
	return -EBADF;
}

/* A new descriptor an ioctl returned goes into a free slot (or is closed). */
static void adopt_fd(long fd)
{
	size_t k;

	if (fd < 0)
		return;
	for (k = 0; k != NSLOTS; k++) {
		if (slots[k].kind == S_FREE) {
			slots[k].kind = S_FD;
			slots[k].fd = (int)fd;
			return;
		}
	}
	uiommufd_host_inproc_fd_closed((int)fd);
	close((int)fd);
}

/* ---- operations */

static void op_open_ctx(struct fz_in *in)
{
	struct slot *s = slot_pick(in);
	uint8_t b = fz_u8(in);

	slot_close(s);
	if (uiommufd_ctx_open(uiommufd_host_inproc(), b & 1 ? UIOMMUFD_OPEN_VFIO_CONTAINER : 0,
			      &s->ctx))
		fz_fail("ctx open");
	s->fd = eventfd(0, EFD_CLOEXEC);
	if (s->fd < 0)
		fz_fail("eventfd");
	s->kind = S_CTX;
}

static void op_open_node(struct fz_in *in)
{
	struct slot *s = slot_pick(in);
	uint8_t b = fz_u8(in);
	int fd;

	slot_close(s);
	fd = uiommufd_vfio_open(nodes[b % 4], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		/* Busy group, a cdev of a group-opened device: kernel answers. */
		if (fd != -EBUSY && fd != -EPERM && fd != -EINVAL)
			fz_fail("open %s gave %d", nodes[b % 4], fd);
		return;
	}
	s->kind = S_FD;
	s->fd = fd;
}

/* Commands swept with hostile arguments. */
static unsigned long pick_cmd(struct fz_in *in)
{
	uint8_t b = fz_u8(in);

	if (b < 160)
		return _IO(VFIO_TYPE, VFIO_BASE + b % 28);
	if (b < 240)
		return _IO(IOMMUFD_TYPE, 0x80 + b % 24);
	return _IOC((unsigned int)(fz_u8(in) & 3), fz_u8(in), fz_u8(in), fz_u8(in));
}

static uint8_t argbuf[BUF_MAX] __attribute__((aligned(64)));

/* Where the argument is; its bytes come from the input. */
static void *pick_arg(struct fz_in *in)
{
	uint8_t kind = fz_u8(in) % 8, len;
	uint32_t argsz;
	uint8_t *p;
	size_t i;

	switch (kind) {
	case 0:
		return NULL;
	case 1:
		return (void *)UNMAPPED_LOW;
	case 2:
		return (void *)UNMAPPED_HIGH;
	case 3:
		return (void *)~0UL;
	case 4:
		return none_page;
	case 5:		/* a small value: an IOMMU type, an extension, an fd */
		return (void *)(uintptr_t)(fz_u8(in) % 16);
	case 6:		/* a struct right against the PROT_NONE page */
		len = fz_u8(in) % 64 + 1;
		p = none_page - len;
		for (i = 0; i != len; i++)
			p[i] = fz_u8(in);
		return p;
	default:
		break;
	}
	len = fz_u8(in);
	for (i = 0; i != BUF_MAX; i++)
		argbuf[i] = i < len ? fz_u8(in) : (kind == 7 ? 0 : 0xff);
	switch (fz_u8(in) % 6) {
	case 0: argsz = 0; break;
	case 1: argsz = fz_u8(in) % 64; break;
	case 2: argsz = 0xffffffffu; break;
	case 3: argsz = 1u << 20; break;
	default: argsz = fz_u8(in) | (fz_u8(in) & 1) << 8; break;
	}
	memcpy(argbuf, &argsz, sizeof(argsz));
	/* Plausible values at a chosen place: a slot's fd, an arena address, an IOVA. */
	if (len & 1) {
		uint64_t v, at = fz_u8(in) % (BUF_MAX / 4) * 4;

		switch (fz_u8(in) % 3) {
		case 0: v = (uint64_t)slots[fz_u8(in) % NSLOTS].fd; break;
		case 1: v = (uintptr_t)arena + fz_u8(in) % ARENA_PAGES * FZ_PAGE; break;
		default: v = IOVA_BASE + fz_u8(in) % ARENA_PAGES * FZ_PAGE; break;
		}
		memcpy(argbuf + at, &v, at + 8 <= BUF_MAX ? 8 : 4);
	}
	return argbuf;
}

static void op_raw_ioctl(struct fz_in *in)
{
	struct slot *s = slot_pick(in);
	unsigned long cmd = pick_cmd(in);
	void *arg = pick_arg(in);
	long rc = slot_ioctl(s, cmd, arg);

	if (rc > 0 && s->kind == S_FD && cmd == VFIO_GROUP_GET_DEVICE_FD)
		adopt_fd(rc);
}

static void op_set_container(struct fz_in *in)
{
	struct slot *g = slot_pick(in), *c = slot_pick(in);
	int fd = c->fd;

	slot_ioctl(g, VFIO_GROUP_SET_CONTAINER, &fd);
}

static void op_set_iommu(struct fz_in *in)
{
	static const unsigned long types[] = { VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU,
					       VFIO_NOIOMMU_IOMMU, 0, 2, 9 };
	struct slot *c = slot_pick(in);

	slot_ioctl(c, VFIO_SET_IOMMU, (void *)types[fz_u8(in) % 6]);
}

static void op_map_dma(struct fz_in *in)
{
	struct slot *c = slot_pick(in);
	uint8_t first = fz_u8(in) % ARENA_PAGES, n = fz_u8(in) % 4 + 1, fl = fz_u8(in);
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = fl & 3,
		.vaddr = (uintptr_t)arena + first * FZ_PAGE,
		.iova = IOVA_BASE + (fl >> 2 & 15) * FZ_PAGE,
		.size = n * FZ_PAGE,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = map.iova,
		.size = map.size,
	};

	if (first + n > ARENA_PAGES)
		map.size = (ARENA_PAGES - first) * FZ_PAGE;
	if (fl & 0x80) {
		unmap.flags = fl & 0x40 ? VFIO_DMA_UNMAP_FLAG_ALL : 0;
		if (unmap.flags)
			unmap.iova = unmap.size = 0;
		slot_ioctl(c, VFIO_IOMMU_UNMAP_DMA, &unmap);
	} else {
		slot_ioctl(c, VFIO_IOMMU_MAP_DMA, &map);
	}
}

static void op_get_device_fd(struct fz_in *in)
{
	struct slot *g = slot_pick(in);
	char name[16];

	snprintf(name, sizeof(name), "%s", names[fz_u8(in) % 4]);
	adopt_fd(slot_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, name));
}

static void op_bind(struct fz_in *in)
{
	struct slot *d = slot_pick(in), *c = slot_pick(in);
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.flags = fz_u8(in) & 0x80 ? 1 : 0,
		.iommufd = c->fd,
	};

	slot_ioctl(d, VFIO_DEVICE_BIND_IOMMUFD, &bind);
}

static void op_ioas(struct fz_in *in)
{
	struct slot *c = slot_pick(in);
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	uint8_t first = fz_u8(in) % ARENA_PAGES, fl = fz_u8(in);
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | (fl & 3) << 1,	/* WRITEABLE, READABLE */
		.user_va = (uintptr_t)arena + first * FZ_PAGE,
		.length = FZ_PAGE,
		.iova = IOVA_BASE + (fl >> 2 & 15) * FZ_PAGE,
	};

	if (fl & 0x40) {
		slot_ioctl(c, IOMMU_IOAS_ALLOC, &alloc);
		return;
	}
	map.ioas_id = fz_u8(in) % 8;
	slot_ioctl(c, IOMMU_IOAS_MAP, &map);
}

static void op_attach(struct fz_in *in)
{
	struct slot *d = slot_pick(in);
	uint8_t b = fz_u8(in);
	struct vfio_device_attach_iommufd_pt at = {
		.argsz = b & 0x80 ? sizeof(at) : 12,
		.flags = b & 0x40 ? VFIO_DEVICE_ATTACH_PASID : 0,
		.pt_id = b % 8,
		.pasid = fz_u8(in),
	};
	struct vfio_device_detach_iommufd_pt dt = {
		.argsz = b & 0x80 ? sizeof(dt) : 8,
		.flags = at.flags,
		.pasid = at.pasid,
	};

	if (b & 0x20)
		slot_ioctl(d, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt);
	else
		slot_ioctl(d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
}

static ssize_t slot_rw(struct slot *s, void *buf, size_t n, uint64_t off, bool write)
{
	ssize_t rc;

	if (s->kind != S_FD)
		return -EBADF;
	rc = uiommufd_fd_rw(s->fd, buf, n, off, write);
	if (trace)
		fprintf(stderr, "%s %zu at %#llx -> %zd\n", write ? "write" : "read", n,
			(unsigned long long)off, rc);
	if (rc < 0 && !errno_ok(rc))
		fz_fail("rw of %zu at %#llx gave %zd", n, (unsigned long long)off, rc);
	if (rc > (ssize_t)n)
		fz_fail("rw of %zu returned %zd", n, rc);
	return rc;
}

static void op_region_rw(struct fz_in *in)
{
	static const size_t sizes[] = { 1, 2, 4, 8, 3, 16, 64, 256 };
	struct slot *s = slot_pick(in);
	uint8_t b = fz_u8(in);
	uint64_t off = VFIO_PCI_INDEX_TO_OFFSET(b % 10);
	size_t n = sizes[b >> 4 & 7];
	uint8_t buf[256];

	switch (fz_u8(in) % 4) {
	case 0: off += fz_u8(in); break;
	case 1: off += fz_bytes(in, 2); break;
	case 2: off += CH + fz_u8(in) % 0x40; break;
	default: off += fz_u64(in) & VFIO_PCI_OFFSET_MASK; break;
	}
	for (size_t i = 0; i != n; i++)
		buf[i] = fz_u8(in);
	slot_rw(s, buf, n, off, b & 0x80);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void reg_write(struct slot *s, uint64_t off, uint64_t v, size_t n)
{
	slot_rw(s, &v, n, BAR0 + off, true);
}

/* An address a descriptor names: mostly inside the arena's IOVA window. */
static uint64_t pick_iova(struct fz_in *in)
{
	uint8_t b = fz_u8(in);

	if (b < 200)
		return IOVA_BASE + (uint64_t)(b % ARENA_PAGES) * FZ_PAGE + (fz_u8(in) & 0xc0);
	if (b < 230)
		return IOVA_BASE + fz_bytes(in, 3);
	return fz_u64(in);
}

/* Fuzzed descriptors in the arena's first pages, then the doorbell. */
static void op_ioat(struct fz_in *in)
{
	struct slot *s = slot_pick(in);
	uint8_t n = fz_u8(in) % 4 + 1, b = fz_u8(in), i;
	uint16_t cmd = 0x6;	/* memory space, bus master */
	uint64_t ring = IOVA_BASE + (b & 1) * FZ_PAGE;

	for (i = 0; i != n; i++) {
		uint8_t *d = arena + (b & 1) * FZ_PAGE + i * 64;
		uint32_t size = fz_u8(in) < 240 ? fz_u8(in) * 64u : fz_u32(in);
		uint32_t ctl = fz_u8(in) | (uint32_t)(fz_u8(in) % 4) << 24;

		memcpy(d, &size, 4);
		memcpy(d + 4, &ctl, 4);
		put64(d + 8, pick_iova(in));
		put64(d + 16, pick_iova(in));
		put64(d + 24, fz_u8(in) < 224 ? ring + ((i + 1) % n) * 64 : pick_iova(in));
	}
	if (b & 2)
		slot_rw(s, &cmd, 2, CFG + 4, true);
	if (b & 4)
		reg_write(s, 0x03, fz_u8(in), 1);	/* INTRCTRL */
	if (b & 8)
		reg_write(s, CH + 0x00, fz_bytes(in, 2), 2);	/* CHANCTRL */
	reg_write(s, CH + 0x18, IOVA_BASE + 15 * FZ_PAGE, 8);	/* CHANCMP */
	if (b & 16)
		reg_write(s, CH + 0x04, fz_u8(in), 1);	/* CHANCMD */
	if (!(b & 32))
		reg_write(s, CH + 0x10, ring, 8);	/* CHAINADDR */
	reg_write(s, CH + 0x06, b & 64 ? fz_bytes(in, 2) : n, 2);	/* DMACOUNT */
	if (b & 128) {
		struct timespec ts = { 0, 20000 };

		nanosleep(&ts, NULL);
	}
}

static void op_set_irqs(struct fz_in *in)
{
	struct slot *s = slot_pick(in);
	uint8_t b = fz_u8(in);
	struct vfio_irq_set hdr = {
		.argsz = sizeof(hdr) + (b & 3) * 4,
		.flags = fz_u8(in) & 0x3f,
		.index = fz_u8(in) % 6,
		.start = fz_u8(in) % 3,
		.count = b & 3,
	};
	uint32_t buf[sizeof(hdr) / 4 + 4];
	int32_t fds[4];
	int efd = eventfd(0, EFD_CLOEXEC), i;

	for (i = 0; i != 4; i++) {
		switch (fz_u8(in) % 4) {
		case 0: fds[i] = efd; break;
		case 1: fds[i] = -1; break;
		case 2: fds[i] = 1000 + i; break;	/* not open */
		default: fds[i] = slots[i].fd; break;	/* not an eventfd, maybe */
		}
	}
	if (b & 4)
		hdr.argsz = fz_u8(in);
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy((uint8_t *)buf + sizeof(hdr), fds, sizeof(fds));
	slot_ioctl(s, VFIO_DEVICE_SET_IRQS, buf);
	close(efd);	/* the device keeps its own reference */
}

static void op_mmap(struct fz_in *in)
{
	struct slot *s = slot_pick(in);
	uint8_t b = fz_u8(in);
	uint64_t off = VFIO_PCI_INDEX_TO_OFFSET(b % 8) + (b & 8 ? FZ_PAGE : 0);
	size_t len = b & 16 ? FZ_PAGE : 4 * FZ_PAGE;
	void *p = NULL;
	int rc;

	if (s->kind != S_FD)
		return;
	rc = uiommufd_fd_mmap(s->fd, NULL, len, PROT_READ | (b & 32 ? PROT_WRITE : 0),
			      b & 64 ? MAP_PRIVATE : MAP_SHARED, off, &p);
	if (rc < 0) {
		if (!errno_ok(rc))
			fz_fail("mmap gave %d", rc);
		return;
	}
	/* One trapped load, as a driver polls CHANSTS. */
	if (b & 128 && b % 8 == 0)
		(void)*(volatile uint32_t *)((uint8_t *)p + CH + 8);
	mmio_trap_forget_range(p, len);
	munmap(p, len);
	inproc_anon_unmapped(p, len);
}

static void (*const ops[])(struct fz_in *) = {
	op_open_ctx, op_open_node, op_raw_ioctl, op_raw_ioctl, op_set_container, op_set_iommu,
	op_map_dma, op_get_device_fd, op_bind, op_ioas, op_attach, op_region_rw, op_ioat,
	op_set_irqs, op_mmap,
};
#define NR_OPS (sizeof(ops) / sizeof(ops[0]))

static void op_close(struct fz_in *in)
{
	slot_close(slot_pick(in));
}

/* ---- after the input: the device works as new */

static void check_device_works(void)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)arena,
		.iova = IOVA_BASE,
		.size = 4 * FZ_PAGE,
	};
	struct uiommufd_ctx *ctx;
	uint16_t cmd = 0x6;
	uint32_t id = 0;
	uint64_t v, *cmp = (uint64_t *)(arena + 3 * FZ_PAGE);
	int efd, group, dev, tries;
	uint8_t *d = arena;
	long rc;

	memset(arena, 0, 4 * FZ_PAGE);
	for (v = 0; v != 64; v++)
		arena[FZ_PAGE + v] = (uint8_t)(v * 7 + 1);
	if (uiommufd_ctx_open(uiommufd_host_inproc(), UIOMMUFD_OPEN_VFIO_CONTAINER, &ctx))
		fz_fail("health: ctx");
	efd = eventfd(0, EFD_CLOEXEC);
	slots[0].kind = S_CTX;	/* so the resolver finds it */
	slots[0].fd = efd;
	slots[0].ctx = ctx;
	group = uiommufd_vfio_open(nodes[0], O_RDWR);
	if (group < 0)
		fz_fail("health: group open %d", group);
	rc = uiommufd_fd_ioctl(group, VFIO_GROUP_SET_CONTAINER, &efd);
	if (!rc)
		rc = uiommufd_ioctl(ctx, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
	if (!rc)
		rc = uiommufd_ioctl(ctx, VFIO_IOMMU_MAP_DMA, (uintptr_t)&map);
	if (rc)
		fz_fail("health: container setup %ld", rc);
	dev = (int)uiommufd_fd_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, (void *)names[0]);
	if (dev < 0)
		fz_fail("health: device fd %d", dev);
	if (uiommufd_fd_rw(dev, &id, 4, CFG, false) != 4 || id != 0x20218086)
		fz_fail("health: config id %#x", id);
	/* One 64-byte copy from page 1 to page 2, completion to page 3. */
	v = 64;
	memcpy(d, &v, 4);
	v = 1u << 3;	/* compl_write */
	memcpy(d + 4, &v, 4);
	put64(d + 8, IOVA_BASE + FZ_PAGE);
	put64(d + 16, IOVA_BASE + 2 * FZ_PAGE);
	put64(d + 24, IOVA_BASE);
	uiommufd_fd_rw(dev, &cmd, 2, CFG + 4, true);
	v = IOVA_BASE + 3 * FZ_PAGE;
	uiommufd_fd_rw(dev, &v, 8, BAR0 + CH + 0x18, true);
	v = IOVA_BASE;
	uiommufd_fd_rw(dev, &v, 8, BAR0 + CH + 0x10, true);
	v = 1;
	uiommufd_fd_rw(dev, &v, 2, BAR0 + CH + 0x06, true);
	/* Spin a little, then sleep: a loaded machine may be slow to run the engine (5 s). */
	for (tries = 0; tries != 1000 + 50000; tries++) {
		struct timespec ts = { 0, 100000 };

		if ((__atomic_load_n(cmp, __ATOMIC_ACQUIRE) & ~0x3fULL) == IOVA_BASE)
			break;
		if (tries < 1000)
			sched_yield();
		else
			nanosleep(&ts, NULL);
	}
	if ((*cmp & ~0x3fULL) != IOVA_BASE || memcmp(arena + FZ_PAGE, arena + 2 * FZ_PAGE, 64))
		fz_fail("health: copy did not complete (completion %#llx)",
			(unsigned long long)*cmp);
	uiommufd_host_inproc_fd_closed(dev);
	close(dev);
	uiommufd_host_inproc_fd_closed(group);
	close(group);
	slots[0].kind = S_FREE;
	slots[0].fd = -1;
	slots[0].ctx = NULL;
	uiommufd_ctx_put(ctx);
	close(efd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	unsigned int n = 0, k;
	int threads;

	if (!arena)
		setup_once();
	while (in.n && n++ < MAX_OPS) {
		uint8_t op = fz_u8(&in);

		if (op >= 0xf0)
			op_close(&in);
		else
			ops[op % NR_OPS](&in);
	}
	for (k = 0; k != NSLOTS; k++)
		slot_close(&slots[k]);
	fz_fds_cleanup();
	fz_check_unpinned(arena, ARENA_PAGES);
	threads = count_threads();
	if (threads != base_threads)
		fz_fail("%d threads after the input, %d before", threads, base_threads);
	check_device_works();
	fz_check_unpinned(arena, ARENA_PAGES);
	fz_check_healthy();
	return 0;
}
