// SPDX-License-Identifier: MIT
/*
 * vfio-record.so: a diagnostic LD_PRELOAD library for tests/clients/trace.sh
 * --record, never part of a test.  It answers for VFIO group and device
 * files just enough that a real client (QEMU, DPDK) walks its whole VFIO
 * set-up on a tree that has no VFIO devices yet, and writes every call on a
 * VFIO or iommufd fd, in order, to $REC_LOG.  Preloaded before the shim, it
 * sees each call first; container and iommufd calls go on to the shim.
 *
 * What it answers is made up and only plausible (a viable group; a PCI
 * function with a 16 KiB BAR0 and a small config space kept in a memfd at
 * the config region's offset; zeros in the BAR), so a trace shows what a
 * client asks, never what a real device must answer.  Two shortcuts stand
 * in for missing pieces: joining a container makes its compat IOAS (what
 * the kernel's group attach does), and IOMMU_GET_HW_INFO / IOMMU_HWPT_ALLOC
 * naming the made-up dev_id are answered here.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_FD 4096
#define REC_DEVID 0x777u
#define REC_HWPT 0x999u
#define NR(req) ((unsigned int)((req) & 0xff))
#define IS_SEMI(req) ((((req) >> 8) & 0xff) == ';')
#define REGION_SHIFT 40
#define CONFIG_INDEX 7u

enum kind { K_NONE, K_GROUP, K_DEV, K_CDEV, K_CONT, K_IOMMUFD };
static const char *const kind_name[] = { "?", "group", "device", "cdev", "container", "iommufd" };
static unsigned char kinds[MAX_FD];
static unsigned char group_joined[MAX_FD];
static int log_fd = -1;

static enum kind kind_of(int fd)
{
	return fd >= 0 && fd < MAX_FD ? (enum kind)kinds[fd] : K_NONE;
}

static int track(int fd, enum kind k)
{
	if (fd >= 0 && fd < MAX_FD)
		kinds[fd] = (unsigned char)k;
	return fd;
}

/* One line per call, written at once so the order survives threads. */
static void rec(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (log_fd < 0) {
		const char *p = getenv("REC_LOG");

		log_fd = open(p ? p : "/tmp/vfio-record.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log_fd < 0)
			return;
	}
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(log_fd, line, (size_t)n) < 0)
		return;
}

static void put8(unsigned char *c, unsigned int off, unsigned int v) { c[off] = (unsigned char)v; }
static void put16(unsigned char *c, unsigned int off, unsigned int v) { put8(c, off, v); put8(c, off + 1, v >> 8); }
static void put32(unsigned char *c, unsigned int off, uint32_t v) { put16(c, off, v); put16(c, off + 2, v >> 16); }

/* A device file: a memfd long enough to hold the config region. */
static int make_device(void)
{
	unsigned char cfg[4096] = { 0 };
	off_t cfg_off = (off_t)CONFIG_INDEX << REGION_SHIFT;
	int fd = memfd_create("vfio-record-dev", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, cfg_off + (off_t)sizeof(cfg)) < 0) {
		close(fd);
		return -1;
	}
	put16(cfg, 0x00, 0x8086);
	put16(cfg, 0x02, 0x2021);
	put16(cfg, 0x06, 0x0010);	/* capability list */
	put32(cfg, 0x08, 0x08800004);	/* class 088000, revision 4 */
	put32(cfg, 0x10, 0x4);		/* BAR0: 64-bit memory */
	put16(cfg, 0x2c, 0x8086);
	put8(cfg, 0x34, 0x40);
	put8(cfg, 0x3d, 1);		/* INTA */
	put16(cfg, 0x40, 0x5011);	/* MSI-X, next 0x50 */
	put32(cfg, 0x44, 0x2000);	/* table in BAR0 at 0x2000 */
	put32(cfg, 0x48, 0x3000);	/* PBA in BAR0 at 0x3000 */
	put16(cfg, 0x50, 0x0010);	/* PCIe, last */
	put16(cfg, 0x52, 0x0002);
	if (pwrite(fd, cfg, sizeof(cfg), cfg_off) != (ssize_t)sizeof(cfg)) {
		close(fd);
		return -1;
	}
	return fd;
}

#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (!real_##name) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

/* Group and cdev paths become our files; the container and /dev/iommu are noted. */
static int open_common(const char *path, int fd_from_next)
{
	if (!strcmp(path, "/dev/vfio/vfio")) {
		rec("open /dev/vfio/vfio -> container fd %d", fd_from_next);
		return track(fd_from_next, K_CONT);
	}
	if (!strcmp(path, "/dev/iommu")) {
		rec("open /dev/iommu -> iommufd fd %d", fd_from_next);
		return track(fd_from_next, K_IOMMUFD);
	}
	return fd_from_next;
}

static int open_ours(const char *path, bool *ours)
{
	int fd;

	*ours = false;
	if (!path)
		return -1;
	if (!strncmp(path, "/dev/vfio/devices/vfio", 22)) {
		*ours = true;
		fd = track(make_device(), K_CDEV);
		rec("open %s -> cdev fd %d", path, fd);
		return fd;
	}
	if (!strncmp(path, "/dev/vfio/", 10) && path[10] >= '0' && path[10] <= '9') {
		*ours = true;
		fd = track(memfd_create("vfio-record-group", MFD_CLOEXEC), K_GROUP);
		if (fd >= 0 && fd < MAX_FD)
			group_joined[fd] = 0;
		rec("open %s -> group fd %d", path, fd);
		return fd;
	}
	return -1;
}

#define OPEN_WRAPPER(name, ...) \
	{ \
		va_list ap; \
		mode_t mode; \
		bool ours; \
		int fd; \
		va_start(ap, flags); \
		mode = (mode_t)va_arg(ap, int); \
		va_end(ap); \
		fd = open_ours(path, &ours); \
		if (ours) \
			return fd; \
		REAL(name); \
		fd = real_##name(__VA_ARGS__); \
		return open_common(path, fd); \
	}

int open(const char *path, int flags, ...) OPEN_WRAPPER(open, path, flags, mode)
int open64(const char *path, int flags, ...) OPEN_WRAPPER(open64, path, flags, mode)
int openat(int dirfd, const char *path, int flags, ...) OPEN_WRAPPER(openat, dirfd, path, flags, mode)
int openat64(int dirfd, const char *path, int flags, ...) OPEN_WRAPPER(openat64, dirfd, path, flags, mode)

/* VFIO and iommufd share the ';' type; the fd kind tells overlapping numbers apart. */
static const char *ioctl_name(unsigned long req, enum kind k)
{
	static const char *const vfio[] = {
		"VFIO_GET_API_VERSION", "VFIO_CHECK_EXTENSION", "VFIO_SET_IOMMU",
		"VFIO_GROUP_GET_STATUS", "VFIO_GROUP_SET_CONTAINER", "VFIO_GROUP_UNSET_CONTAINER",
		"VFIO_GROUP_GET_DEVICE_FD", "VFIO_DEVICE_GET_INFO", "VFIO_DEVICE_GET_REGION_INFO",
		"VFIO_DEVICE_GET_IRQ_INFO", "VFIO_DEVICE_SET_IRQS", "VFIO_DEVICE_RESET",
		NULL, NULL, NULL, NULL, "VFIO_DEVICE_IOEVENTFD", NULL,
		"VFIO_DEVICE_BIND_IOMMUFD", "VFIO_DEVICE_ATTACH_IOMMUFD_PT", "VFIO_DEVICE_DETACH_IOMMUFD_PT",
	};
	static const char *const iommufd[] = {
		"IOMMU_DESTROY", "IOMMU_IOAS_ALLOC", "IOMMU_IOAS_ALLOW_IOVAS", "IOMMU_IOAS_COPY",
		"IOMMU_IOAS_IOVA_RANGES", "IOMMU_IOAS_MAP", "IOMMU_IOAS_UNMAP", "IOMMU_OPTION",
		"IOMMU_VFIO_IOAS", "IOMMU_HWPT_ALLOC", "IOMMU_GET_HW_INFO",
		"IOMMU_HWPT_SET_DIRTY_TRACKING", "IOMMU_HWPT_GET_DIRTY_BITMAP",
		"IOMMU_HWPT_INVALIDATE", "IOMMU_FAULT_QUEUE_ALLOC", "IOMMU_IOAS_MAP_FILE",
	};
	static __thread char other[32];
	unsigned int nr = NR(req);
	bool cont = k == K_CONT;

	if (IS_SEMI(req)) {
		switch (nr) {
		case 112: return cont ? "VFIO_IOMMU_GET_INFO" : "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO";
		case 113: return cont ? "VFIO_IOMMU_MAP_DMA" : "VFIO_DEVICE_PCI_HOT_RESET";
		case 114: return cont ? "VFIO_IOMMU_UNMAP_DMA" : "VFIO_DEVICE_QUERY_GFX_PLANE";
		case 117: return cont ? "VFIO_IOMMU_DIRTY_PAGES" : "VFIO_DEVICE_FEATURE";
		}
		if (nr >= 100 && nr - 100 < sizeof(vfio) / sizeof(vfio[0]) && vfio[nr - 100])
			return vfio[nr - 100];
		if (nr >= 0x80 && nr - 0x80 < sizeof(iommufd) / sizeof(iommufd[0]))
			return iommufd[nr - 0x80];
	}
	snprintf(other, sizeof(other), "ioctl 0x%lx", req);
	return other;
}

static int fail(int e)
{
	errno = e;
	return -1;
}

/* Device fd ioctls: a PCI function with RESET, 9 regions, 5 IRQ indexes. */
static int device_ioctl(unsigned long req, uint32_t *a, char *det, size_t dn)
{
	static const uint32_t irq_flags[5] = { 0x7, 0x9, 0x9, 0x1, 0x1 };
	static const uint32_t irq_count[5] = { 1, 0, 1, 1, 1 };
	uint64_t *a64 = (uint64_t *)a;

	switch (NR(req)) {
	case 107:	/* GET_INFO: argsz flags num_regions num_irqs [cap_offset pad] */
		snprintf(det, dn, "argsz %u", a[0]);
		a[1] = 0x3;
		a[2] = 9;
		a[3] = 5;
		if (a[0] >= 20)
			a[4] = 0;
		return 0;
	case 108:	/* GET_REGION_INFO: argsz flags index cap_offset size offset */
		snprintf(det, dn, "index %u argsz %u", a[2], a[0]);
		if (a[2] == 8)
			return fail(EINVAL);
		a[1] = a[2] == 0 ? 0x7 : a[2] == CONFIG_INDEX ? 0x3 : 0;
		a[3] = 0;
		a64[2] = a[2] == 0 ? 16384 : a[2] == CONFIG_INDEX ? 4096 : 0;
		a64[3] = (uint64_t)a[2] << REGION_SHIFT;
		return 0;
	case 109:	/* GET_IRQ_INFO: argsz flags index count */
		snprintf(det, dn, "index %u", a[2]);
		if (a[2] > 4)
			return fail(EINVAL);
		a[1] = irq_flags[a[2]];
		a[3] = irq_count[a[2]];
		return 0;
	case 110:	/* SET_IRQS: argsz flags index start count data[] */
		snprintf(det, dn, "index %u flags 0x%x start %u count %u", a[2], a[1], a[3], a[4]);
		return 0;
	case 111:
		return 0;
	case 112:
		return fail(EINVAL);
	case 118:	/* BIND_IOMMUFD: argsz flags iommufd out_devid */
		snprintf(det, dn, "argsz %u flags %u iommufd %d", a[0], a[1], (int)a[2]);
		a[3] = REC_DEVID;
		return 0;
	case 119:
	case 120:	/* ATTACH/DETACH_IOMMUFD_PT: argsz flags pt_id [pasid] */
		snprintf(det, dn, "argsz %u flags %u pt_id 0x%x", a[0], a[1], a[0] >= 12 ? a[2] : 0);
		return 0;
	}
	return fail(ENOTTY);
}

static int group_ioctl(int fd, unsigned long req, void *arg, char *det, size_t dn,
		       int (*next)(int, unsigned long, ...))
{
	uint32_t *a = arg;

	switch (NR(req)) {
	case 103:	/* GET_STATUS: argsz flags (1 VIABLE, 2 CONTAINER_SET) */
		a[1] = 1u | (group_joined[fd] ? 2u : 0u);
		snprintf(det, dn, "-> flags 0x%x", a[1]);
		return 0;
	case 104: {
		int cfd = *(int *)arg;
		uint32_t alloc[3] = { 12, 0, 0 };
		uint32_t set[3] = { 12, 0, 1 };	/* size, ioas_id, op SET */
		int r1, r2;

		snprintf(det, dn, "container fd %d", cfd);
		r1 = next(cfd, (';' << 8) | 0x81, alloc);
		set[1] = alloc[2];
		r2 = next(cfd, (';' << 8) | 0x88, set);
		rec("[recorder] compat IOAS for container fd %d: IOAS_ALLOC -> %d (id %u), VFIO_IOAS SET -> %d",
		    cfd, r1, alloc[2], r2);
		group_joined[fd] = 1;
		return 0;
	}
	case 105:
		group_joined[fd] = 0;
		return 0;
	case 106:
		snprintf(det, dn, "\"%s\"", (const char *)arg);
		return track(make_device(), K_DEV);
	}
	return fail(ENOTTY);
}

/* Arguments worth seeing for container and iommufd calls the shim serves. */
static void describe_shim_call(unsigned long req, enum kind k, void *arg, char *det, size_t dn)
{
	uint32_t *a = arg;
	uint64_t *a64 = arg;
	unsigned int nr = NR(req);

	if (k == K_CONT && (nr == 101 || nr == 102))
		snprintf(det, dn, "%s %lu", nr == 101 ? "ext" : "type", (unsigned long)(uintptr_t)arg);
	else if (k == K_CONT && (nr == 113 || nr == 114) && arg)
		snprintf(det, dn, "flags 0x%x iova 0x%llx size 0x%llx", a[1],
			 (unsigned long long)a64[nr == 113 ? 2 : 1], (unsigned long long)a64[nr == 113 ? 3 : 2]);
	else if (k == K_IOMMUFD && nr == 0x85 && arg)	/* IOAS_MAP: size flags ioas_id pad user_va length iova */
		snprintf(det, dn, "flags 0x%x ioas %u length 0x%llx iova 0x%llx", a[1], a[2],
			 (unsigned long long)a64[3], (unsigned long long)a64[4]);
	else if (k == K_IOMMUFD && nr == 0x86 && arg)	/* IOAS_UNMAP: size ioas_id iova length */
		snprintf(det, dn, "ioas %u iova 0x%llx length 0x%llx", a[1],
			 (unsigned long long)a64[1], (unsigned long long)a64[2]);
	else if (k == K_IOMMUFD && (nr == 0x89 || nr == 0x8a) && arg)
		snprintf(det, dn, "size %u flags 0x%x dev_id 0x%x", a[0], a[1], a[2]);
}

int ioctl(int fd, unsigned long req, ...)
{
	enum kind k = kind_of(fd);
	char det[200] = "";
	uint32_t *a;
	void *arg;
	va_list ap;
	int rc, e;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	REAL(ioctl);
	if (k == K_NONE)
		return real_ioctl(fd, req, arg);
	a = arg;
	if (k == K_GROUP) {
		rc = group_ioctl(fd, req, arg, det, sizeof(det), real_ioctl);
	} else if (k == K_DEV || k == K_CDEV) {
		rc = device_ioctl(req, a, det, sizeof(det));
	} else {
		describe_shim_call(req, k, arg, det, sizeof(det));
		if (k == K_IOMMUFD && arg && (NR(req) == 0x89 || NR(req) == 0x8a) && a[2] == REC_DEVID) {
			if (NR(req) == 0x8a) {	/* GET_HW_INFO: no data, type NONE, no caps */
				a[3] = 0;
				a[6] = 0;
				a[7] = 0;
				if (a[0] >= 40)
					((uint64_t *)a)[4] = 0;
			} else {
				a[4] = REC_HWPT;
			}
			rec("%s fd %d %s %s -> 0 (answered by the recorder)", kind_name[k], fd,
			    ioctl_name(req, k), det);
			return 0;
		}
		rc = real_ioctl(fd, req, arg);
	}
	e = errno;
	if (rc < 0)
		rec("%s fd %d %s %s -> -1 %s", kind_name[k], fd, ioctl_name(req, k), det, strerror(e));
	else
		rec("%s fd %d %s %s -> %d", kind_name[k], fd, ioctl_name(req, k), det, rc);
	errno = e;
	return rc;
}

static bool is_device(int fd)
{
	enum kind k = kind_of(fd);

	return k == K_DEV || k == K_CDEV;
}

static void rec_rw(const char *what, int fd, const void *buf, size_t n, off_t off, ssize_t rc)
{
	unsigned long long v = 0;

	if (n <= sizeof(v) && rc > 0)
		memcpy(&v, buf, n);
	rec("%s fd %d %s region %llu +0x%llx len %zu -> %zd value 0x%llx", kind_name[kind_of(fd)], fd, what,
	    (unsigned long long)off >> REGION_SHIFT,
	    (unsigned long long)off & ((1ull << REGION_SHIFT) - 1), n, rc, v);
}

#define RW_WRAPPER(name, type) \
	ssize_t name(int fd, type buf, size_t n, off_t off) \
	{ \
		ssize_t rc; \
		REAL(name); \
		rc = real_##name(fd, buf, n, off); \
		if (is_device(fd)) \
			rec_rw(#name, fd, buf, n, off, rc); \
		return rc; \
	}

RW_WRAPPER(pread, void *)
RW_WRAPPER(pread64, void *)
RW_WRAPPER(pwrite, const void *)
RW_WRAPPER(pwrite64, const void *)

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *r;

	REAL(mmap);
	r = real_mmap(addr, len, prot, flags, fd, off);
	if (is_device(fd))
		rec("%s fd %d mmap addr %p len 0x%zx prot 0x%x flags 0x%x region %llu +0x%llx -> %p",
		    kind_name[kind_of(fd)], fd, addr, len, prot, flags, (unsigned long long)off >> REGION_SHIFT,
		    (unsigned long long)off & ((1ull << REGION_SHIFT) - 1), r);
	return r;
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

/* A cdev must be a character device with the rdev its sysfs dev file gives (1:3 in trace.sh's fake). */
int fstat(int fd, struct stat *st)
{
	int rc;

	REAL(fstat);
	rc = real_fstat(fd, st);
	if (rc == 0 && kind_of(fd) == K_CDEV) {
		st->st_mode = S_IFCHR | 0600;
		st->st_rdev = makedev(1, 3);
		rec("cdev fd %d fstat -> S_IFCHR 1:3", fd);
	}
	return rc;
}

int fstat64(int fd, struct stat64 *st)
{
	int rc;

	REAL(fstat64);
	rc = real_fstat64(fd, st);
	if (rc == 0 && kind_of(fd) == K_CDEV) {
		st->st_mode = S_IFCHR | 0600;
		st->st_rdev = makedev(1, 3);
		rec("cdev fd %d fstat -> S_IFCHR 1:3", fd);
	}
	return rc;
}

int close(int fd)
{
	REAL(close);
	if (kind_of(fd) != K_NONE) {
		rec("%s fd %d close", kind_name[kind_of(fd)], fd);
		kinds[fd] = K_NONE;
	}
	return real_close(fd);
}
