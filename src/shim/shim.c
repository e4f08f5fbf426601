// SPDX-License-Identifier: MIT
/*
 * The LD_PRELOAD shim: /dev/iommu for a program that is not ours.
 *
 * Opening /dev/iommu (or /dev/vfio/vfio, the VFIO container that iommufd
 * also serves) through any libc entry point returns a real file descriptor,
 * a memfd, with a uiommufd context behind it.  ioctl, close, dup, dup2,
 * dup3, fcntl(F_DUPFD*) and close_range on such a descriptor are routed to
 * the context; on any other descriptor every call goes straight to libc with
 * errno untouched.  The descriptor table is an array of atomic pointers
 * indexed by fd, so the check on the pass-through path is one load.
 *
 * Descriptors the library hands out itself (anon files: access, event and
 * dma-buf fds, VFIO group and device fds) are the host's: close and dup of
 * every descriptor are reported to it; ioctl, pread/pwrite in all their
 * spellings, read/write at the file position, mmap and fstat of one go to
 * the file's own operations (host_anon_ops), as the kernel's file
 * operations would, with the anon-inode answers (ENOTTY, EINVAL, ENODEV)
 * where a kind has none.  read(), write(), readv(), writev() and
 * __read_chk() of an event queue fd (the fault queue's) go to the library;
 * poll(), select() and epoll see its readiness natively.  Every other call
 * on a descriptor is one table load away from libc.
 *
 * With emulated devices (UIOMMUFD_DEVICES, from `uiommufd run --device`),
 * the shim makes the device set and its private sysfs tree at start, and
 * path calls (open, fopen, stat, access, readlink, realpath, opendir,
 * scandir, xattrs) under /sys go into the tree where it has the entry
 * (redirect.c); /dev/vfio/N, noiommu-N and devices/vfioX open through the
 * VFIO layer and stat as the character devices the tree's "dev" files name.
 * Limits: relative paths from a working directory inside /sys, ".." in
 * /sys paths and fts/nftw walks are not redirected; mremap() of a BAR
 * mapping is not followed.
 *
 * The mock IOMMU's bus, /sys/bus/iommufd_mock, which the kernel's selftests
 * look for, is reported present by access(), stat() and opendir() in all
 * their glibc forms.
 *
 * Memory calls (munmap, mremap, mmap with MAP_FIXED, madvise that discards,
 * mprotect that takes access away) tell the host first when they are about
 * to take pinned pages away, so the pins keep them, as the kernel's do.  They hold the host's memory-map lock
 * until the call is done, so that a pin taken meanwhile by another thread
 * waits rather than landing on pages about to go.  sigaction() of SIGSEGV/SIGBUS keeps the host's fault
 * guard in front of the program's handler.
 *
 * The shim never exits or aborts the program: a failure inside becomes an
 * errno on the call that hit it.  UIOMMUFD_DEBUG=1 logs every call routed
 * to a context.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "host/inproc.h"
#include "host/mmio_trap.h"
#include "shim/redirect.h"
#include "uiommufd.h"
#include "vfio/sysfs.h"
#include "vfio/vfio.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/* glibc's fortified open entry points, declared by no public header. */
int __open_2(const char *path, int oflags);
int __open64_2(const char *path, int oflags);
int __openat_2(int dirfd, const char *path, int oflags);
int __openat64_2(int dirfd, const char *path, int oflags);
/* stat() before glibc 2.33, still called by programs built then. */
int __xstat(int ver, const char *path, struct stat *buf);
int __xstat64(int ver, const char *path, struct stat64 *buf);
int __lxstat(int ver, const char *path, struct stat *buf);
int __lxstat64(int ver, const char *path, struct stat64 *buf);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *buf, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *buf, int flags);
ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t nbytes, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t nbytes, off64_t off, size_t buflen);
ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen);
ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len, size_t buflen);
char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen);
int __fxstat(int ver, int fd, struct stat *buf);
int __fxstat64(int ver, int fd, struct stat64 *buf);
_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat64 is stat on this ABI");
#define SHIM_MAX_FDS 65536

static _Atomic(struct uiommufd_ctx *) shim_files[SHIM_MAX_FDS];

struct real_fns {
	int (*open)(const char *, int, ...);
	int (*open64)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*openat64)(int, const char *, int, ...);
	int (*open_2)(const char *, int);
	int (*open64_2)(const char *, int);
	int (*openat_2)(int, const char *, int);
	int (*openat64_2)(int, const char *, int);
	int (*ioctl)(int, unsigned long, ...);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*read_chk)(int, void *, size_t, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	int (*close)(int);
	int (*close_range)(unsigned int, unsigned int, int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	int (*munmap)(void *, size_t);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	void *(*mmap64)(void *, size_t, int, int, int, off_t);
	void *(*mremap)(void *, size_t, size_t, int, ...);
	int (*madvise)(void *, size_t, int);
	int (*mprotect)(void *, size_t, int);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	int (*access)(const char *, int);
	int (*faccessat)(int, const char *, int, int);
	int (*euidaccess)(const char *, int);
	int (*eaccess)(const char *, int);
	int (*stat)(const char *, struct stat *);
	int (*stat64)(const char *, struct stat64 *);
	int (*lstat)(const char *, struct stat *);
	int (*lstat64)(const char *, struct stat64 *);
	int (*fstatat)(int, const char *, struct stat *, int);
	int (*fstatat64)(int, const char *, struct stat64 *, int);
	int (*statx)(int, const char *, int, unsigned int, struct statx *);
	int (*xstat)(int, const char *, struct stat *);
	int (*xstat64)(int, const char *, struct stat64 *);
	int (*lxstat)(int, const char *, struct stat *);
	int (*lxstat64)(int, const char *, struct stat64 *);
	int (*fxstatat)(int, int, const char *, struct stat *, int);
	int (*fxstatat64)(int, int, const char *, struct stat64 *, int);
	DIR *(*opendir)(const char *);
	int (*scandir)(const char *, struct dirent ***, int (*)(const struct dirent *),
		       int (*)(const struct dirent **, const struct dirent **));
	int (*scandir64)(const char *, struct dirent64 ***, int (*)(const struct dirent64 *),
			 int (*)(const struct dirent64 **, const struct dirent64 **));
	FILE *(*fopen)(const char *, const char *);
	FILE *(*fopen64)(const char *, const char *);
	FILE *(*freopen)(const char *, const char *, FILE *);
	FILE *(*freopen64)(const char *, const char *, FILE *);
	ssize_t (*readlink)(const char *, char *, size_t);
	ssize_t (*readlinkat)(int, const char *, char *, size_t);
	ssize_t (*readlink_chk)(const char *, char *, size_t, size_t);
	ssize_t (*readlinkat_chk)(int, const char *, char *, size_t, size_t);
	char *(*realpath)(const char *, char *);
	char *(*realpath_chk)(const char *, char *, size_t);
	char *(*canonicalize_file_name)(const char *);
	int (*fstat)(int, struct stat *);
	int (*fstat64)(int, struct stat64 *);
	int (*fxstat)(int, int, struct stat *);
	int (*fxstat64)(int, int, struct stat64 *);
	ssize_t (*pread)(int, void *, size_t, off_t);
	ssize_t (*pread64)(int, void *, size_t, off64_t);
	ssize_t (*pread_chk)(int, void *, size_t, off_t, size_t);
	ssize_t (*pread64_chk)(int, void *, size_t, off64_t, size_t);
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	ssize_t (*pwrite64)(int, const void *, size_t, off64_t);
	ssize_t (*preadv)(int, const struct iovec *, int, off_t);
	ssize_t (*preadv64)(int, const struct iovec *, int, off64_t);
	ssize_t (*pwritev)(int, const struct iovec *, int, off_t);
	ssize_t (*pwritev64)(int, const struct iovec *, int, off64_t);
	ssize_t (*preadv2)(int, const struct iovec *, int, off_t, int);
	ssize_t (*preadv64v2)(int, const struct iovec *, int, off64_t, int);
	ssize_t (*pwritev2)(int, const struct iovec *, int, off_t, int);
	ssize_t (*pwritev64v2)(int, const struct iovec *, int, off64_t, int);
	ssize_t (*getxattr)(const char *, const char *, void *, size_t);
	ssize_t (*lgetxattr)(const char *, const char *, void *, size_t);
	ssize_t (*listxattr)(const char *, char *, size_t);
	ssize_t (*llistxattr)(const char *, char *, size_t);
};

static struct real_fns real;
static useconds_t unmap_delay_us;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static atomic_bool real_resolved;	/* set once real is filled in */

static void *real_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static void shim_resolve(void)
{
	real.open = real_sym("open");
	real.open64 = real_sym("open64");
	real.openat = real_sym("openat");
	real.openat64 = real_sym("openat64");
	real.open_2 = real_sym("__open_2");
	real.open64_2 = real_sym("__open64_2");
	real.openat_2 = real_sym("__openat_2");
	real.openat64_2 = real_sym("__openat64_2");
	real.ioctl = real_sym("ioctl");
	real.read = real_sym("read");
	real.read_chk = real_sym("__read_chk");
	real.write = real_sym("write");
	real.readv = real_sym("readv");
	real.writev = real_sym("writev");
	real.close = real_sym("close");
	real.close_range = real_sym("close_range");
	real.dup = real_sym("dup");
	real.dup2 = real_sym("dup2");
	real.dup3 = real_sym("dup3");
	real.fcntl = real_sym("fcntl");
	real.fcntl64 = real_sym("fcntl64");
	real.munmap = real_sym("munmap");
	real.mmap = real_sym("mmap");
	real.mmap64 = real_sym("mmap64");
	real.mremap = real_sym("mremap");
	real.madvise = real_sym("madvise");
	real.mprotect = real_sym("mprotect");
	real.sigaction = real_sym("sigaction");
	real.access = real_sym("access");
	real.faccessat = real_sym("faccessat");
	real.euidaccess = real_sym("euidaccess");
	real.eaccess = real_sym("eaccess");
	real.stat = real_sym("stat");
	real.stat64 = real_sym("stat64");
	real.lstat = real_sym("lstat");
	real.lstat64 = real_sym("lstat64");
	real.fstatat = real_sym("fstatat");
	real.fstatat64 = real_sym("fstatat64");
	real.statx = real_sym("statx");
	real.xstat = real_sym("__xstat");
	real.xstat64 = real_sym("__xstat64");
	real.lxstat = real_sym("__lxstat");
	real.lxstat64 = real_sym("__lxstat64");
	real.fxstatat = real_sym("__fxstatat");
	real.fxstatat64 = real_sym("__fxstatat64");
	real.opendir = real_sym("opendir");
	real.scandir = real_sym("scandir");
	real.scandir64 = real_sym("scandir64");
	real.fopen = real_sym("fopen");
	real.fopen64 = real_sym("fopen64");
	real.freopen = real_sym("freopen");
	real.freopen64 = real_sym("freopen64");
	real.readlink = real_sym("readlink");
	real.readlinkat = real_sym("readlinkat");
	real.readlink_chk = real_sym("__readlink_chk");
	real.readlinkat_chk = real_sym("__readlinkat_chk");
	real.realpath = real_sym("realpath");
	real.realpath_chk = real_sym("__realpath_chk");
	real.canonicalize_file_name = real_sym("canonicalize_file_name");
	real.fstat = real_sym("fstat");
	real.fstat64 = real_sym("fstat64");
	real.fxstat = real_sym("__fxstat");
	real.fxstat64 = real_sym("__fxstat64");
	real.pread = real_sym("pread");
	real.pread64 = real_sym("pread64");
	real.pread_chk = real_sym("__pread_chk");
	real.pread64_chk = real_sym("__pread64_chk");
	real.pwrite = real_sym("pwrite");
	real.pwrite64 = real_sym("pwrite64");
	real.preadv = real_sym("preadv");
	real.preadv64 = real_sym("preadv64");
	real.pwritev = real_sym("pwritev");
	real.pwritev64 = real_sym("pwritev64");
	real.preadv2 = real_sym("preadv2");
	real.preadv64v2 = real_sym("preadv64v2");
	real.pwritev2 = real_sym("pwritev2");
	real.pwritev64v2 = real_sym("pwritev64v2");
	real.llistxattr = real_sym("llistxattr");
	real.listxattr = real_sym("listxattr");
	real.lgetxattr = real_sym("lgetxattr");
	real.getxattr = real_sym("getxattr");
	if (getenv("UIOMMUFD_DEBUG") && strcmp(getenv("UIOMMUFD_DEBUG"), "0"))
		uiommufd_set_debug(true);
	/* Tests: widen the window between moving pinned pages aside and munmap. */
	if (getenv("UIOMMUFD_TEST_UNMAP_DELAY_US"))
		unmap_delay_us = (useconds_t)strtoul(getenv("UIOMMUFD_TEST_UNMAP_DELAY_US"), NULL, 10);
	atomic_store_explicit(&real_resolved, true, memory_order_release);
}

static void shim_devices_start(void);

__attribute__((constructor)) static void shim_init(void)
{
	pthread_once(&real_once, shim_resolve);
	shim_devices_start();
}

static inline void shim_ready(void)
{
	pthread_once(&real_once, shim_resolve);
}

/* As shim_ready(), one load once resolved: for the hot read/write path. */
static inline void shim_ready_fast(void)
{
	if (__builtin_expect(!atomic_load_explicit(&real_resolved, memory_order_acquire), 0))
		shim_ready();
}

static inline struct uiommufd_ctx *shim_ctx(int fd)
{
	if (fd < 0 || fd >= SHIM_MAX_FDS)
		return NULL;
	return atomic_load_explicit(&shim_files[fd], memory_order_acquire);
}

/* Which device node a path names: 0 none, else the open flags to use. */
static int shim_match_path(int dirfd, const char *path, unsigned int *ctx_flags)
{
	(void)dirfd;
	if (!path)
		return 0;
	if (!strcmp(path, "/dev/iommu")) {
		*ctx_flags = 0;
		return 1;
	}
	if (!strcmp(path, "/dev/vfio/vfio")) {
		*ctx_flags = UIOMMUFD_OPEN_VFIO_CONTAINER;
		return 1;
	}
	return 0;
}

static int shim_open_ctx(int oflags, unsigned int ctx_flags)
{
	struct uiommufd_ctx *ctx;
	int fd, rc;

	fd = (int)syscall(SYS_memfd_create, "iommufd", (oflags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -1;
	if (fd >= SHIM_MAX_FDS) {
		real.close(fd);
		errno = EMFILE;
		return -1;
	}
	rc = uiommufd_ctx_open(uiommufd_host_inproc(), ctx_flags, &ctx);
	if (rc) {
		real.close(fd);
		errno = -rc;
		return -1;
	}
	atomic_store_explicit(&shim_files[fd], ctx, memory_order_release);
	return fd;
}

/*
 * A path of ours other than the iommufd nodes: a VFIO group or cdev of the
 * device set (opened here: its descriptor, or -1 with errno), or a /sys path
 * the tree serves (*@path becomes the tree's; SHIM_PASS).
 */
#define SHIM_PASS (-2)

static int shim_open_redirect(const char **path, char *buf, size_t len, int oflags)
{
	if (redirect_vfio_node(*path)) {
		int fd = vfio_open_path(*path, oflags);

		if (fd >= 0)
			return fd;
		if (fd != -ENOENT) {
			errno = -fd;
			return -1;
		}
		return SHIM_PASS;
	}
	*path = redirect_sys(*path, buf, len);
	return SHIM_PASS;
}

#define OPEN_BODY(call_real, dirfd, path, oflags)                                       \
	char rbuf_[PATH_MAX];                                                           \
	unsigned int ctx_flags;                                                         \
	shim_ready();                                                                   \
	if (shim_match_path(dirfd, path, &ctx_flags))                                   \
		return shim_open_ctx(oflags, ctx_flags);                                \
	if (redirect_maybe(path)) {                                                     \
		int fd_ = shim_open_redirect(&path, rbuf_, sizeof(rbuf_), oflags);      \
		if (fd_ != SHIM_PASS)                                                   \
			return fd_;                                                     \
	}                                                                               \
	return call_real

static mode_t open_mode(int oflags, va_list ap)
{
	return (oflags & (O_CREAT | __O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

SHIM_EXPORT int open(const char *path, int oflags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, oflags);
	mode = open_mode(oflags, ap);
	va_end(ap);
	OPEN_BODY(real.open(path, oflags, mode), AT_FDCWD, path, oflags);
}

SHIM_EXPORT int open64(const char *path, int oflags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, oflags);
	mode = open_mode(oflags, ap);
	va_end(ap);
	OPEN_BODY(real.open64(path, oflags, mode), AT_FDCWD, path, oflags);
}

SHIM_EXPORT int openat(int dirfd, const char *path, int oflags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, oflags);
	mode = open_mode(oflags, ap);
	va_end(ap);
	OPEN_BODY(real.openat(dirfd, path, oflags, mode), dirfd, path, oflags);
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int oflags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, oflags);
	mode = open_mode(oflags, ap);
	va_end(ap);
	OPEN_BODY(real.openat64(dirfd, path, oflags, mode), dirfd, path, oflags);
}

SHIM_EXPORT int __open_2(const char *path, int oflags)
{
	OPEN_BODY(real.open_2(path, oflags), AT_FDCWD, path, oflags);
}

SHIM_EXPORT int __open64_2(const char *path, int oflags)
{
	OPEN_BODY(real.open64_2(path, oflags), AT_FDCWD, path, oflags);
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int oflags)
{
	OPEN_BODY(real.openat_2(dirfd, path, oflags), dirfd, path, oflags);
}

SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int oflags)
{
	OPEN_BODY(real.openat64_2(dirfd, path, oflags), dirfd, path, oflags);
}

SHIM_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	struct uiommufd_ctx *ctx = shim_ctx(fd);
	unsigned long arg;
	va_list ap;
	long rc;

	va_start(ap, request);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (!ctx) {
		shim_ready();
		/* The library's own files (VFIO groups and devices, access and event fds). */
		if (inproc_fd_maybe_anon(fd) && !inproc_ioctl_is_vfs(request) &&
		    inproc_anon_ioctl(fd, request, arg, &rc)) {
			if (rc < 0) {
				errno = (int)-rc;
				return -1;
			}
			return (int)rc;
		}
		return real.ioctl(fd, request, arg);
	}
	rc = uiommufd_ioctl(ctx, request, arg);
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return (int)rc;
}

/* ------------------------------------------------ event queue read/write */

static ssize_t shim_result(ssize_t ret)
{
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

/*
 * Descriptors the library handed out: an event queue's read and write are
 * the library's, any other anon file's are the system's.  Kept out of line
 * so that the pass-through path is a load and a tail call.
 */
static __attribute__((noinline)) ssize_t shim_anon_read(int fd, void *buf, size_t count)
{
	ssize_t ret;

	if (inproc_anon_read(fd, buf, count, &ret) ||
	    inproc_anon_rw_pos(fd, (uintptr_t)buf, count, false, &ret))
		return shim_result(ret);
	return real.read(fd, buf, count);
}

static __attribute__((noinline)) ssize_t shim_anon_write(int fd, const void *buf, size_t count)
{
	ssize_t ret;

	if (inproc_anon_write(fd, buf, count, &ret) ||
	    inproc_anon_rw_pos(fd, (uintptr_t)buf, count, true, &ret))
		return shim_result(ret);
	return real.write(fd, buf, count);
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t count)
{
	shim_ready_fast();
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0))
		return shim_anon_read(fd, buf, count);
	return real.read(fd, buf, count);
}

/* The fortified read(): an overflow is still the program's to die of. */
SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen)
{
	shim_ready_fast();
	if (nbytes <= buflen && __builtin_expect(inproc_fd_maybe_anon(fd), 0))
		return shim_anon_read(fd, buf, nbytes);
	if (real.read_chk)
		return real.read_chk(fd, buf, nbytes, buflen);
	return real.read(fd, buf, nbytes);
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
	shim_ready_fast();
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0))
		return shim_anon_write(fd, buf, count);
	return real.write(fd, buf, count);
}

/*
 * The checks import_iovec() makes before any segment moves: a count out of
 * range or a total past SSIZE_MAX is EINVAL, an unreadable array (user
 * memory) EFAULT.  0, or -1 with errno set.
 */
static int shim_iov_check(const struct iovec *iov, int iovcnt)
{
	struct uiommufd_host *host = uiommufd_host_inproc();
	size_t total = 0, i;
	struct iovec v;

	if (iovcnt < 0 || iovcnt > IOV_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i != (size_t)iovcnt; i++) {
		if (host->ops->copy_from_user(host, &v, (uintptr_t)&iov[i], sizeof(v))) {
			errno = EFAULT;
			return -1;
		}
		if (v.iov_len > (size_t)SSIZE_MAX - total) {
			errno = EINVAL;
			return -1;
		}
		total += v.iov_len;
	}
	return 0;
}

/*
 * The VFS's loop for a file with read and write but no read_iter: one call
 * per segment, empty ones skipped, stopping at the first short one; an
 * error counts only if nothing was done.
 */
static ssize_t shim_stream_rwv(int fd, const struct iovec *iov, int iovcnt, bool is_write)
{
	struct uiommufd_host *host = uiommufd_host_inproc();
	ssize_t done = 0;
	struct iovec v;
	size_t i;

	if (shim_iov_check(iov, iovcnt))
		return -1;
	for (i = 0; i != (size_t)iovcnt; i++) {
		ssize_t n;

		if (host->ops->copy_from_user(host, &v, (uintptr_t)&iov[i], sizeof(v)))
			n = -EFAULT;
		else if (!v.iov_len)
			continue;
		else if (is_write ? !inproc_anon_write(fd, v.iov_base, v.iov_len, &n) :
				    !inproc_anon_read(fd, v.iov_base, v.iov_len, &n))
			n = -EBADF;	/* closed under us */
		if (n < 0)
			return done ? done : shim_result(n);
		done += n;
		if ((size_t)n != v.iov_len)
			break;
	}
	return done;
}

/* ------------------------------------------- device file pread/pwrite */

/*
 * The same loop for a device file (a VFIO device fd), at @off and on, or at
 * the file position when @off is -1.  SHIM_PASS when @fd is not one of the
 * library's files.
 */
static ssize_t shim_dev_rwv(int fd, const struct iovec *iov, int iovcnt, int64_t off,
			    bool is_write)
{
	struct uiommufd_host *host = uiommufd_host_inproc();
	ssize_t done = 0;
	struct iovec v;
	size_t i;

	if (shim_iov_check(iov, iovcnt))
		return -1;
	for (i = 0; i != (size_t)iovcnt; i++) {
		bool ours;
		ssize_t n;

		if (host->ops->copy_from_user(host, &v, (uintptr_t)&iov[i], sizeof(v))) {
			n = -EFAULT;
		} else if (!v.iov_len) {
			continue;
		} else {
			ours = off < 0 ? inproc_anon_rw_pos(fd, (uintptr_t)v.iov_base, v.iov_len,
							    is_write, &n)
				       : inproc_anon_prw(fd, (uintptr_t)v.iov_base, v.iov_len,
							 off + done, is_write, &n);
			if (!ours) {
				if (!i && !done)
					return SHIM_PASS;
				n = -EBADF;	/* closed under us */
			}
		}
		if (n < 0)
			return done ? done : shim_result(n);
		done += n;
		if ((size_t)n != v.iov_len)
			break;
	}
	return done;
}

/*
 * readv/writev/preadv/pwritev (and the 2 forms) of one of the library's
 * files; SHIM_PASS for any other.  @off -1 is the file position.  A file
 * with read and write but no iterators takes no flags but RWF_HIPRI.
 */
static __attribute__((noinline)) ssize_t shim_anon_rwv(int fd, const struct iovec *iov,
						       int iovcnt, int64_t off, int rwf,
						       bool is_write)
{
	if (!inproc_fd_is_anon(fd))
		return SHIM_PASS;
	if (off < -1) {
		errno = EINVAL;
		return -1;
	}
	if (rwf & ~RWF_HIPRI) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (inproc_fd_is_stream(fd)) {
		if (off != -1) {
			errno = ESPIPE;
			return -1;
		}
		return shim_stream_rwv(fd, iov, iovcnt, is_write);
	}
	return shim_dev_rwv(fd, iov, iovcnt, off, is_write);
}

#define RWV_BODY(call_real, fd, iov, iovcnt, off, rwf, is_write)                    \
	shim_ready_fast();                                                          \
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0)) {                        \
		ssize_t r_ = shim_anon_rwv(fd, iov, iovcnt, off, rwf, is_write);    \
		if (r_ != SHIM_PASS)                                                \
			return r_;                                                  \
	}                                                                           \
	return call_real

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	RWV_BODY(real.readv(fd, iov, iovcnt), fd, iov, iovcnt, -1, 0, false);
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	RWV_BODY(real.writev(fd, iov, iovcnt), fd, iov, iovcnt, -1, 0, true);
}

/* preadv() with a negative offset is EINVAL, never "the file position". */
#define PRWV_BODY(call_real, fd, iov, iovcnt, off, is_write)                        \
	shim_ready_fast();                                                          \
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0)) {                        \
		ssize_t r_ = shim_anon_rwv(fd, iov, iovcnt, (off) < 0 ? -2 : (off), 0, \
					   is_write);                               \
		if (r_ != SHIM_PASS)                                                \
			return r_;                                                  \
	}                                                                           \
	return call_real

SHIM_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	PRWV_BODY(real.preadv(fd, iov, iovcnt, off), fd, iov, iovcnt, off, false);
}

SHIM_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int iovcnt, off64_t off)
{
	PRWV_BODY(real.preadv64(fd, iov, iovcnt, off), fd, iov, iovcnt, off, false);
}

SHIM_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	PRWV_BODY(real.pwritev(fd, iov, iovcnt, off), fd, iov, iovcnt, off, true);
}

SHIM_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off64_t off)
{
	PRWV_BODY(real.pwritev64(fd, iov, iovcnt, off), fd, iov, iovcnt, off, true);
}

SHIM_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int iovcnt, off_t off, int rwf)
{
	RWV_BODY(real.preadv2(fd, iov, iovcnt, off, rwf), fd, iov, iovcnt, off, rwf, false);
}

SHIM_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int iovcnt, off64_t off, int rwf)
{
	RWV_BODY(real.preadv64v2(fd, iov, iovcnt, off, rwf), fd, iov, iovcnt, off, rwf, false);
}

SHIM_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t off, int rwf)
{
	RWV_BODY(real.pwritev2(fd, iov, iovcnt, off, rwf), fd, iov, iovcnt, off, rwf, true);
}

SHIM_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int iovcnt, off64_t off,
				int rwf)
{
	RWV_BODY(real.pwritev64v2(fd, iov, iovcnt, off, rwf), fd, iov, iovcnt, off, rwf, true);
}

/* pread()/pwrite() of the library's files; SHIM_PASS for any other descriptor. */
static __attribute__((noinline)) ssize_t shim_anon_prw(int fd, uintptr_t buf, size_t count,
						       int64_t off, bool is_write)
{
	ssize_t ret;

	if (inproc_anon_prw(fd, buf, count, off, is_write, &ret))
		return shim_result(ret);
	return SHIM_PASS;
}

#define PRW_BODY(call_real, fd, buf, count, off, is_write)                          \
	shim_ready_fast();                                                          \
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0)) {                        \
		ssize_t r_ = shim_anon_prw(fd, (uintptr_t)(buf), count, off, is_write); \
		if (r_ != SHIM_PASS)                                                \
			return r_;                                                  \
	}                                                                           \
	return call_real

SHIM_EXPORT ssize_t pread(int fd, void *buf, size_t count, off_t off)
{
	PRW_BODY(real.pread(fd, buf, count, off), fd, buf, count, off, false);
}

SHIM_EXPORT ssize_t pread64(int fd, void *buf, size_t count, off64_t off)
{
	PRW_BODY(real.pread64(fd, buf, count, off), fd, buf, count, off, false);
}

SHIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
	PRW_BODY(real.pwrite(fd, buf, count, off), fd, buf, count, off, true);
}

SHIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t off)
{
	PRW_BODY(real.pwrite64(fd, buf, count, off), fd, buf, count, off, true);
}

/* The fortified preads: an overflow is still the program's to die of. */
SHIM_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t nbytes, off_t off, size_t buflen)
{
	shim_ready_fast();
	if (nbytes <= buflen || !real.pread_chk) {
		PRW_BODY(real.pread(fd, buf, nbytes, off), fd, buf, nbytes, off, false);
	}
	return real.pread_chk(fd, buf, nbytes, off, buflen);
}

SHIM_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t nbytes, off64_t off, size_t buflen)
{
	shim_ready_fast();
	if (nbytes <= buflen || !real.pread64_chk) {
		PRW_BODY(real.pread64(fd, buf, nbytes, off), fd, buf, nbytes, off, false);
	}
	return real.pread64_chk(fd, buf, nbytes, off, buflen);
}

/* @newfd now refers to what @oldfd does: share the context or anon file. */
static void shim_dup_to(int oldfd, int newfd)
{
	struct uiommufd_ctx *ctx = shim_ctx(oldfd), *prev;

	if (newfd < 0 || newfd >= SHIM_MAX_FDS || oldfd == newfd)
		return;
	if (ctx)
		uiommufd_ctx_get(ctx);
	prev = atomic_exchange_explicit(&shim_files[newfd], ctx, memory_order_acq_rel);
	if (prev)
		uiommufd_ctx_put(prev);
	uiommufd_host_inproc_fd_dup(oldfd, newfd);
}

static void shim_forget(int fd)
{
	struct uiommufd_ctx *ctx;

	if (fd < 0 || fd >= SHIM_MAX_FDS)
		return;
	ctx = atomic_exchange_explicit(&shim_files[fd], NULL, memory_order_acq_rel);
	if (ctx)
		uiommufd_ctx_put(ctx);
	uiommufd_host_inproc_fd_closed(fd);
}

/*
 * Between forgetting one of the library's descriptors and closing it, a call
 * from another thread would find no entry and reach the memfd behind the
 * number, whose answer (ENOTTY for an ioctl) no kernel gives.  An O_PATH
 * file put in its place first fails every such call with EBADF, as a
 * closed descriptor does.  Raw calls: the shim's own open and dup3 would
 * count this as the program's descriptor traffic.
 */
static void shim_blank(int fd)
{
	int p = (int)syscall(SYS_openat, AT_FDCWD, "/", O_PATH | O_CLOEXEC);

	if (p < 0)
		return;		/* only the window stays open */
	syscall(SYS_dup3, p, fd, O_CLOEXEC);
	real.close(p);
}

SHIM_EXPORT int close(int fd)
{
	int rc, err;

	shim_ready();
	/*
	 * Forget first: once closed, the number may be reused at once by
	 * another thread's open, whose entry must not be the one dropped.
	 * Linux releases the descriptor even when close reports an error, and
	 * EBADF means it was not open.
	 */
	err = errno;
	if (shim_ctx(fd) || inproc_fd_maybe_anon(fd))
		shim_blank(fd);
	shim_forget(fd);
	errno = err;
	rc = real.close(fd);
	return rc;
}

SHIM_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	unsigned int fd;
	int rc, err;

	shim_ready();
	if (!real.close_range) {
		errno = ENOSYS;
		return -1;
	}
	rc = real.close_range(first, last, flags);
	err = errno;
	if (rc == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
		for (fd = first; fd <= last && fd < SHIM_MAX_FDS; fd++)
			shim_forget((int)fd);
	errno = err;
	return rc;
}

SHIM_EXPORT int dup(int oldfd)
{
	int fd;

	shim_ready();
	fd = real.dup(oldfd);
	if (fd >= 0)
		shim_dup_to(oldfd, fd);
	return fd;
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	int fd, err;

	shim_ready();
	fd = real.dup2(oldfd, newfd);
	err = errno;
	if (fd >= 0 && oldfd != newfd)
		shim_dup_to(oldfd, fd);
	errno = err;
	return fd;
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int fd, err;

	shim_ready();
	fd = real.dup3(oldfd, newfd, flags);
	err = errno;
	if (fd >= 0)
		shim_dup_to(oldfd, fd);
	errno = err;
	return fd;
}

static int shim_fcntl(int (*fn)(int, int, ...), int fd, int cmd, unsigned long arg)
{
	int rc, err;

	rc = fn(fd, cmd, arg);
	err = errno;
	if (rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		shim_dup_to(fd, rc);
	errno = err;
	return rc;
}

SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	shim_ready();
	return shim_fcntl(real.fcntl, fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	shim_ready();
	return shim_fcntl(real.fcntl64 ? real.fcntl64 : real.fcntl, fd, cmd, arg);
}

/* Device BAR mappings in [addr, addr + len) are about to go: stop trapping them. */
static void shim_forget_traps(void *addr, size_t len)
{
	int err = errno;

	mmio_trap_forget_range(addr, len);
	errno = err;
}

/* Pinned pages in [addr, addr + len) are about to leave the program. */
static void shim_unmapping(void *addr, size_t len)
{
	uiommufd_host_inproc_mm_changed();
	if (uiommufd_host_inproc_range_pinned(addr, len))
		uiommufd_host_inproc_unmap_notify(addr, len);
}

SHIM_EXPORT int munmap(void *addr, size_t len)
{
	int err = errno, rc;

	shim_ready();
	uiommufd_host_inproc_mm_write_begin();
	shim_unmapping(addr, len);
	if (unmap_delay_us)
		usleep(unmap_delay_us);
	shim_forget_traps(addr, len);
	errno = err;
	rc = real.munmap(addr, len);
	err = errno;
	uiommufd_host_inproc_mm_write_end();
	errno = err;
	if (!rc) {
		err = errno;
		uiommufd_munmap_notify(addr, len);
		inproc_anon_unmapped(addr, len);
		errno = err;
	}
	return rc;
}

static void *shim_mmap(void *(*fn)(void *, size_t, int, int, int, off_t), void *addr,
		       size_t len, int prot, int flags, int fd, off_t off)
{
	struct uiommufd_ctx *ctx = shim_ctx(fd);
	bool over = (flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE);
	int err = errno;
	void *p;

	/* The iommufd file: a driver region (a vIOMMU's page), mapped through here again. */
	if (ctx) {
		int rc;

		if (flags & MAP_FIXED)
			uiommufd_munmap_notify(addr, len);
		rc = uiommufd_mmap(ctx, addr, len, prot, flags, (uint64_t)off, &p);

		if (rc) {
			errno = -rc;
			return MAP_FAILED;
		}
		return p;
	}
	if (over) {
		uiommufd_host_inproc_mm_write_begin();
		shim_unmapping(addr, len);
		shim_forget_traps(addr, len);
		errno = err;
	}
	/* A device file's (a VFIO BAR): its own mmap, after what it replaces has gone. */
	if (inproc_fd_maybe_anon(fd) && !(flags & MAP_ANONYMOUS) && inproc_fd_is_anon(fd)) {
		int rc;

		if (over)
			inproc_anon_unmapped(addr, len);
		inproc_anon_mmap(fd, addr, len, prot, flags, (uint64_t)off, &p, &rc);
		if (over)
			uiommufd_host_inproc_mm_write_end();
		if (rc) {
			errno = -rc;
			return MAP_FAILED;
		}
		if (over)
			uiommufd_munmap_notify(addr, len);
		errno = err;
		return p;
	}
	p = fn(addr, len, prot, flags, fd, off);
	if (over) {
		err = errno;
		uiommufd_host_inproc_mm_write_end();
		errno = err;
	}
	if (p != MAP_FAILED && (flags & MAP_FIXED)) {
		err = errno;
		uiommufd_munmap_notify(addr, len);	/* whatever was there is gone */
		inproc_anon_unmapped(addr, len);
		errno = err;
	}
	return p;
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	shim_ready();
	return shim_mmap(real.mmap, addr, len, prot, flags, fd, off);
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	shim_ready();
	return shim_mmap(real.mmap64 ? real.mmap64 : real.mmap, addr, len, prot, flags, fd, off);
}

SHIM_EXPORT void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...)
{
	void *new_addr = NULL, *moved;
	int err = errno;
	va_list ap;

	va_start(ap, flags);
	if (flags & MREMAP_FIXED)
		new_addr = va_arg(ap, void *);
	va_end(ap);
	shim_ready();
	uiommufd_host_inproc_mm_write_begin();
	/* A fixed destination is unmapped first (overlapping ones are EINVAL). */
	if ((flags & MREMAP_FIXED) && new_size &&
	    ((uintptr_t)new_addr >= (uintptr_t)old + old_size ||
	     (uintptr_t)new_addr + new_size <= (uintptr_t)old))
		shim_unmapping(new_addr, new_size);
	uiommufd_host_inproc_mm_changed();
	if (old_size && uiommufd_host_inproc_range_pinned(old, old_size)) {

		uiommufd_host_inproc_move_begin();
		/* A shrunk tail leaves the program: the pins keep its pages. */
		if (new_size < old_size)
			uiommufd_host_inproc_unmap_notify((uint8_t *)old + new_size,
							  old_size - new_size);
		errno = err;
		moved = real.mremap(old, old_size, new_size, flags, new_addr);
		err = errno;
		/* Moved pages keep their pins, as physical pages do. */
		if (moved != MAP_FAILED && moved != old)
			uiommufd_host_inproc_remap_notify(old, new_size < old_size ? new_size : old_size,
							  moved);
		uiommufd_host_inproc_move_end();
		uiommufd_host_inproc_mm_write_end();
		errno = err;
		return moved;
	}
	errno = err;
	moved = real.mremap(old, old_size, new_size, flags, new_addr);
	err = errno;
	uiommufd_host_inproc_mm_write_end();
	errno = err;
	return moved;
}

/*
 * Advice that discards pages (DONTNEED, FREE, REMOVE) goes through the host,
 * which keeps pinned pages for the device as the kernel does.  posix_madvise()
 * never discards (glibc drops POSIX_MADV_DONTNEED), so it needs nothing.
 */
SHIM_EXPORT int madvise(void *addr, size_t len, int advice)
{
	int err = errno, rc;

	shim_ready();
	if (!uiommufd_host_inproc_advice_discards(advice))
		return real.madvise(addr, len, advice);
	uiommufd_host_inproc_mm_write_begin();
	uiommufd_host_inproc_mm_changed();
	/* MADV_REMOVE reaches the file's pages pinned through any mapping. */
	if (advice == MADV_REMOVE || uiommufd_host_inproc_range_pinned(addr, len)) {
		rc = uiommufd_host_inproc_madvise(addr, len, advice);
		if (rc)
			err = -rc;
		rc = rc ? -1 : 0;
	} else {
		rc = real.madvise(addr, len, advice);
		if (rc)
			err = errno;
	}
	uiommufd_host_inproc_mm_write_end();
	errno = err;
	return rc;
}

/*
 * mprotect() of pinned pages goes through the host, which keeps the pins'
 * access as the kernel's pins keep theirs.  pkey_mprotect() and raw system
 * calls are not seen.
 */
SHIM_EXPORT int mprotect(void *addr, size_t len, int prot)
{
	int err = errno, rc;

	shim_ready();
	/* Pages copied from before may not be readable now. */
	uiommufd_host_inproc_mm_changed();
	if (!uiommufd_host_inproc_range_pinned(addr, len))
		return real.mprotect(addr, len, prot);
	uiommufd_host_inproc_mm_write_begin();
	uiommufd_host_inproc_mm_changed();
	rc = uiommufd_host_inproc_mprotect(addr, len, prot);
	if (rc)
		err = -rc;
	uiommufd_host_inproc_mm_write_end();
	errno = err;
	return rc ? -1 : 0;
}

/* ------------------------------------------------- /sys/bus/iommufd_mock */

#define MOCK_BUS "/sys/bus/iommufd_mock"

static bool mock_bus(const char *path)
{
	return path && (!strcmp(path, MOCK_BUS) || !strcmp(path, MOCK_BUS "/"));
}

/* As sysfs shows a bus: a directory owned by root, mode 0755. */
#define MOCK_BUS_MODE (S_IFDIR | 0755)

static int mock_bus_stat(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = MOCK_BUS_MODE;
	st->st_nlink = 2;
	st->st_blksize = 4096;
	return 0;
}

static int mock_bus_stat64(struct stat64 *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = MOCK_BUS_MODE;
	st->st_nlink = 2;
	st->st_blksize = 4096;
	return 0;
}

static int mock_bus_access(int mode, bool effective)
{
	if (mode & ~(R_OK | W_OK | X_OK)) {
		errno = EINVAL;
		return -1;
	}
	if ((mode & W_OK) && (effective ? geteuid() : getuid()) != 0) {
		errno = EACCES;
		return -1;
	}
	return 0;
}

/* ----------------------------------------- the sysfs tree and VFIO nodes */

/*
 * Our /dev/vfio nodes as stat() shows a character device: mode 0600, owned
 * by the calling user (as a udev rule giving it the device would make it),
 * st_rdev as the tree's "dev" file says.  1 if @path is one, else 0.
 */
static int vfio_node_stat(const char *path, struct stat *st)
{
	struct timespec now;
	dev_t rdev;

	if (redirect_dev_node(path, &rdev))
		return 0;
	memset(st, 0, sizeof(*st));
	clock_gettime(CLOCK_REALTIME, &now);
	st->st_mode = S_IFCHR | 0600;
	st->st_rdev = rdev;
	st->st_dev = makedev(0, 5);	/* devtmpfs's usual number */
	st->st_ino = 0x75690000u + (ino_t)(major(rdev) << 12 ^ minor(rdev));
	st->st_nlink = 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = now;
	return 1;
}

/* access() of one of our nodes: read and write for its owner, never execute. */
static int vfio_node_access(int mode)
{
	if (mode & ~(R_OK | W_OK | X_OK)) {
		errno = EINVAL;
		return -1;
	}
	if (mode & X_OK) {
		errno = EACCES;
		return -1;
	}
	return 0;
}

static void stat_to_statx(const struct stat *st, struct statx *stx)
{
	memset(stx, 0, sizeof(*stx));
	stx->stx_mask = STATX_BASIC_STATS;
	stx->stx_blksize = (uint32_t)st->st_blksize;
	stx->stx_nlink = (uint32_t)st->st_nlink;
	stx->stx_uid = st->st_uid;
	stx->stx_gid = st->st_gid;
	stx->stx_mode = (uint16_t)st->st_mode;
	stx->stx_ino = st->st_ino;
	stx->stx_size = (uint64_t)st->st_size;
	stx->stx_blocks = (uint64_t)st->st_blocks;
	stx->stx_atime.tv_sec = st->st_atim.tv_sec;
	stx->stx_atime.tv_nsec = (uint32_t)st->st_atim.tv_nsec;
	stx->stx_mtime.tv_sec = st->st_mtim.tv_sec;
	stx->stx_mtime.tv_nsec = (uint32_t)st->st_mtim.tv_nsec;
	stx->stx_ctime.tv_sec = st->st_ctim.tv_sec;
	stx->stx_ctime.tv_nsec = (uint32_t)st->st_ctim.tv_nsec;
	stx->stx_rdev_major = major(st->st_rdev);
	stx->stx_rdev_minor = minor(st->st_rdev);
	stx->stx_dev_major = major(st->st_dev);
	stx->stx_dev_minor = minor(st->st_dev);
}

/* fstat() of one of the library's device files: SHIM_PASS for any other descriptor. */
static __attribute__((noinline)) int shim_fd_stat(int fd, struct stat *st)
{
	int rc;

	if (!inproc_anon_stat(fd, st, &rc))
		return SHIM_PASS;
	if (rc) {
		errno = -rc;
		return -1;
	}
	return 0;
}

/*
 * What a path call looks at first: the mock bus, then our nodes and the
 * tree.  For the access family.
 */
#define ACCESS_BODY(call_real, path, mode, effective)                              \
	char rbuf_[PATH_MAX];                                                      \
	struct stat nst_;                                                          \
	shim_ready();                                                              \
	if (mock_bus(path))                                                        \
		return mock_bus_access(mode, effective);                           \
	if (redirect_maybe(path)) {                                                \
		if (vfio_node_stat(path, &nst_))                                   \
			return vfio_node_access(mode);                             \
		path = redirect_sys(path, rbuf_, sizeof(rbuf_));                   \
	}                                                                          \
	return call_real

SHIM_EXPORT int access(const char *path, int mode)
{
	ACCESS_BODY(real.access(path, mode), path, mode, false);
}

SHIM_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	char rbuf[PATH_MAX];
	struct stat nst;

	shim_ready();
	if (mock_bus(path) && !(flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW)))
		return mock_bus_access(mode, flags & AT_EACCESS);
	if (redirect_maybe(path) && !(flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW))) {
		if (vfio_node_stat(path, &nst))
			return vfio_node_access(mode);
		path = redirect_sys(path, rbuf, sizeof(rbuf));
	}
	return real.faccessat(dirfd, path, mode, flags);
}

SHIM_EXPORT int euidaccess(const char *path, int mode)
{
	ACCESS_BODY(real.euidaccess(path, mode), path, mode, true);
}

SHIM_EXPORT int eaccess(const char *path, int mode)
{
	ACCESS_BODY((real.eaccess ? real.eaccess : real.euidaccess)(path, mode), path, mode, true);
}

/*
 * Before glibc 2.33 stat() and friends were wrappers linked into the
 * program around __xstat(): they may be missing from libc, but not when a
 * program calls them.
 */
#define STAT_BODY(sym, fill, ...)                                                  \
	char rbuf_[PATH_MAX];                                                      \
	shim_ready();                                                              \
	if (mock_bus(path))                                                        \
		return fill(buf);                                                  \
	if (redirect_maybe(path)) {                                                \
		if (vfio_node_stat(path, (struct stat *)buf))                      \
			return 0;                                                  \
		path = redirect_sys(path, rbuf_, sizeof(rbuf_));                   \
	}                                                                          \
	if (!real.sym) {                                                           \
		errno = ENOSYS;                                                    \
		return -1;                                                         \
	}                                                                          \
	return real.sym(__VA_ARGS__)

SHIM_EXPORT int stat(const char *path, struct stat *buf)
{
	STAT_BODY(stat, mock_bus_stat, path, buf);
}

SHIM_EXPORT int stat64(const char *path, struct stat64 *buf)
{
	STAT_BODY(stat64, mock_bus_stat64, path, buf);
}

SHIM_EXPORT int lstat(const char *path, struct stat *buf)
{
	STAT_BODY(lstat, mock_bus_stat, path, buf);
}

SHIM_EXPORT int lstat64(const char *path, struct stat64 *buf)
{
	STAT_BODY(lstat64, mock_bus_stat64, path, buf);
}

/* A NULL path is the caller's to fault on; "" with AT_EMPTY_PATH is the descriptor. */
static __attribute__((noinline)) bool shim_empty_path(const char *path)
{
	return path && !*path;
}

/* fstatat(fd, "", AT_EMPTY_PATH) is fstat(fd). */
#define EMPTY_PATH_STAT(dirfd, path, flags, buf)                                   \
	if ((flags & AT_EMPTY_PATH) && shim_empty_path(path) &&                   \
	    __builtin_expect(inproc_fd_maybe_anon(dirfd), 0)) {                    \
		int r_ = shim_fd_stat(dirfd, (struct stat *)buf);                  \
		if (r_ != SHIM_PASS)                                               \
			return r_;                                                 \
	}

SHIM_EXPORT int fstatat(int dirfd, const char *path, struct stat *buf, int flags)
{
	EMPTY_PATH_STAT(dirfd, path, flags, buf);
	STAT_BODY(fstatat, mock_bus_stat, dirfd, path, buf, flags);
}

SHIM_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *buf, int flags)
{
	EMPTY_PATH_STAT(dirfd, path, flags, buf);
	STAT_BODY(fstatat64, mock_bus_stat64, dirfd, path, buf, flags);
}

SHIM_EXPORT int fstat(int fd, struct stat *buf)
{
	shim_ready_fast();
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0)) {
		int r = shim_fd_stat(fd, buf);

		if (r != SHIM_PASS)
			return r;
	}
	if (!real.fstat)
		return (int)syscall(SYS_fstat, fd, buf);
	return real.fstat(fd, buf);
}

SHIM_EXPORT int fstat64(int fd, struct stat64 *buf)
{
	shim_ready_fast();
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0)) {
		int r = shim_fd_stat(fd, (struct stat *)buf);

		if (r != SHIM_PASS)
			return r;
	}
	if (!real.fstat64)
		return (int)syscall(SYS_fstat, fd, buf);
	return real.fstat64(fd, buf);
}

SHIM_EXPORT int __fxstat(int ver, int fd, struct stat *buf)
{
	shim_ready_fast();
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0)) {
		int r = shim_fd_stat(fd, buf);

		if (r != SHIM_PASS)
			return r;
	}
	if (!real.fxstat)
		return (int)syscall(SYS_fstat, fd, buf);
	return real.fxstat(ver, fd, buf);
}

SHIM_EXPORT int __fxstat64(int ver, int fd, struct stat64 *buf)
{
	shim_ready_fast();
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0)) {
		int r = shim_fd_stat(fd, (struct stat *)buf);

		if (r != SHIM_PASS)
			return r;
	}
	if (!real.fxstat64)
		return (int)syscall(SYS_fstat, fd, buf);
	return real.fxstat64(ver, fd, buf);
}

SHIM_EXPORT int __xstat(int ver, const char *path, struct stat *buf)
{
	STAT_BODY(xstat, mock_bus_stat, ver, path, buf);
}

SHIM_EXPORT int __xstat64(int ver, const char *path, struct stat64 *buf)
{
	STAT_BODY(xstat64, mock_bus_stat64, ver, path, buf);
}

SHIM_EXPORT int __lxstat(int ver, const char *path, struct stat *buf)
{
	STAT_BODY(lxstat, mock_bus_stat, ver, path, buf);
}

SHIM_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *buf)
{
	STAT_BODY(lxstat64, mock_bus_stat64, ver, path, buf);
}

SHIM_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *buf, int flags)
{
	EMPTY_PATH_STAT(dirfd, path, flags, buf);
	STAT_BODY(fxstatat, mock_bus_stat, ver, dirfd, path, buf, flags);
}

SHIM_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *buf, int flags)
{
	EMPTY_PATH_STAT(dirfd, path, flags, buf);
	STAT_BODY(fxstatat64, mock_bus_stat64, ver, dirfd, path, buf, flags);
}

static int mock_bus_statx(unsigned int mask, struct statx *buf)
{
	(void)mask;
	memset(buf, 0, sizeof(*buf));
	buf->stx_mask = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID |
			STATX_SIZE | STATX_BLOCKS;
	buf->stx_mode = MOCK_BUS_MODE;
	buf->stx_nlink = 2;
	buf->stx_blksize = 4096;
	return 0;
}

SHIM_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask,
		      struct statx *buf)
{
	char rbuf[PATH_MAX];
	struct stat st;

	shim_ready();
	if (mock_bus(path))
		return mock_bus_statx(mask, buf);
	if ((flags & AT_EMPTY_PATH) && shim_empty_path(path) && inproc_fd_maybe_anon(dirfd)) {
		int r = shim_fd_stat(dirfd, &st);

		if (r == 0)
			stat_to_statx(&st, buf);
		if (r != SHIM_PASS)
			return r;
	}
	if (redirect_maybe(path)) {
		if (vfio_node_stat(path, &st)) {
			stat_to_statx(&st, buf);
			return 0;
		}
		path = redirect_sys(path, rbuf, sizeof(rbuf));
	}
	if (!real.statx) {
		errno = ENOSYS;
		return -1;
	}
	return real.statx(dirfd, path, flags, mask, buf);
}

/* The bus lists nothing: a directory of our own, removed once open. */
static DIR *mock_bus_opendir(void)
{
	char dir[] = "/tmp/uiommufd-bus-XXXXXX";
	int err = errno;
	DIR *d;

	if (!mkdtemp(dir))
		return NULL;
	d = real.opendir(dir);
	if (!d)
		err = errno;
	rmdir(dir);
	errno = err;
	return d;
}

SHIM_EXPORT DIR *opendir(const char *path)
{
	char rbuf[PATH_MAX];

	shim_ready();
	if (mock_bus(path))
		return mock_bus_opendir();
	if (redirect_maybe(path))
		path = redirect_sys(path, rbuf, sizeof(rbuf));
	return real.opendir(path);
}

/* The rest of the path calls: the tree's path for ours, the real one otherwise. */
#define REDIRECT_BODY(call_real, path)                                             \
	char rbuf_[PATH_MAX];                                                      \
	shim_ready();                                                              \
	if (redirect_maybe(path))                                                  \
		path = redirect_sys(path, rbuf_, sizeof(rbuf_));                   \
	return call_real

SHIM_EXPORT int scandir(const char *path, struct dirent ***list,
			int (*filter)(const struct dirent *),
			int (*compar)(const struct dirent **, const struct dirent **))
{
	REDIRECT_BODY(real.scandir(path, list, filter, compar), path);
}

SHIM_EXPORT int scandir64(const char *path, struct dirent64 ***list,
			  int (*filter)(const struct dirent64 *),
			  int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
	REDIRECT_BODY(real.scandir64(path, list, filter, compar), path);
}

/* glibc's fopen() opens without going through open(): it needs its own. */
SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	REDIRECT_BODY(real.fopen(path, mode), path);
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	REDIRECT_BODY((real.fopen64 ? real.fopen64 : real.fopen)(path, mode), path);
}

SHIM_EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
	REDIRECT_BODY(real.freopen(path, mode, stream), path);
}

SHIM_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
	REDIRECT_BODY((real.freopen64 ? real.freopen64 : real.freopen)(path, mode, stream), path);
}

SHIM_EXPORT ssize_t readlink(const char *path, char *buf, size_t len)
{
	REDIRECT_BODY(real.readlink(path, buf, len), path);
}

SHIM_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
	REDIRECT_BODY(real.readlinkat(dirfd, path, buf, len), path);
}

SHIM_EXPORT ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen)
{
	REDIRECT_BODY(real.readlink_chk ? real.readlink_chk(path, buf, len, buflen)
					: real.readlink(path, buf, len),
		      path);
}

SHIM_EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len,
				     size_t buflen)
{
	REDIRECT_BODY(real.readlinkat_chk ? real.readlinkat_chk(dirfd, path, buf, len, buflen)
					  : real.readlinkat(dirfd, path, buf, len),
		      path);
}

/* A resolved path inside the tree is given back as the /sys path it stands for. */
static char *shim_unmap_result(char *resolved)
{
	if (resolved)
		redirect_unmap(resolved);
	return resolved;
}

SHIM_EXPORT char *realpath(const char *path, char *resolved)
{
	REDIRECT_BODY(shim_unmap_result(real.realpath(path, resolved)), path);
}

SHIM_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
	REDIRECT_BODY(shim_unmap_result(real.realpath_chk
						? real.realpath_chk(path, resolved, resolvedlen)
						: real.realpath(path, resolved)),
		      path);
}

SHIM_EXPORT char *canonicalize_file_name(const char *path)
{
	REDIRECT_BODY(shim_unmap_result(real.canonicalize_file_name(path)), path);
}

/* ls -l asks for ACLs: the xattr calls of a path too. */
SHIM_EXPORT ssize_t getxattr(const char *path, const char *name, void *value, size_t size)
{
	REDIRECT_BODY(real.getxattr(path, name, value, size), path);
}

SHIM_EXPORT ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size)
{
	REDIRECT_BODY(real.lgetxattr(path, name, value, size), path);
}

SHIM_EXPORT ssize_t listxattr(const char *path, char *list, size_t size)
{
	REDIRECT_BODY(real.listxattr(path, list, size), path);
}

SHIM_EXPORT ssize_t llistxattr(const char *path, char *list, size_t size)
{
	REDIRECT_BODY(real.llistxattr(path, list, size), path);
}

/* ------------------------------------------------------------- the devices */

static char shim_tree[PATH_MAX];
static pid_t shim_tree_pid;

/* The tree goes with the process that made it (not with a forked child). */
static void shim_tree_remove(void)
{
	if (!shim_tree[0] || getpid() != shim_tree_pid)
		return;
	redirect_set_root(NULL);
	vfio_sysfs_remove(shim_tree);
	shim_tree[0] = 0;
}

/* The library's question "which context is behind this descriptor?" */
static struct uiommufd_ctx *shim_fd_ctx(int fd)
{
	struct uiommufd_ctx *ctx = shim_ctx(fd);

	if (ctx)
		uiommufd_ctx_get(ctx);
	return ctx;
}

/*
 * UIOMMUFD_DEVICES (set by `uiommufd run --device`): make the device set and
 * the sysfs tree.  A failure is one message; the program runs on without
 * devices.
 */
static void shim_devices_start(void)
{
	const char *spec = getenv("UIOMMUFD_DEVICES");
	struct uiommufd_devset *set;
	char err[256] = "";
	int rc, saved = errno;

	if (!spec || !*spec || shim_tree[0])
		return;
	uiommufd_set_fd_resolver(shim_fd_ctx);
	rc = uiommufd_devset_create(uiommufd_host_inproc(), spec, &set, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "uiommufd: UIOMMUFD_DEVICES=\"%s\": %s; running without devices "
				"(check the --device options)\n",
			spec, err[0] ? err : strerror(-rc));
		goto out;
	}
	vfio_sysfs_reap();
	rc = vfio_sysfs_build(vfio_devset_current(), shim_tree, sizeof(shim_tree));
	if (rc) {
		fprintf(stderr, "uiommufd: cannot make the devices' sysfs tree under %s: %s; "
				"running without devices (point TMPDIR at a writable directory)\n",
			getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", strerror(-rc));
		shim_tree[0] = 0;
		uiommufd_devset_destroy(set);
		goto out;
	}
	shim_tree_pid = getpid();
	redirect_set_root(shim_tree);
	atexit(shim_tree_remove);
out:
	errno = saved;
}

/* signal() reaches sigaction inside libc, past us: route it here. */
SHIM_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction act = { .sa_handler = handler, .sa_flags = SA_RESTART }, old;

	shim_ready();
	if ((sig != SIGSEGV && sig != SIGBUS) || !inproc_uaccess_installed()) {
		sighandler_t (*real_signal)(int, sighandler_t) = real_sym("signal");

		return real_signal(sig, handler);
	}
	sigemptyset(&act.sa_mask);
	inproc_chain_sigaction(sig, &act, &old);
	return old.sa_handler;
}

SHIM_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	shim_ready();
	if ((sig == SIGSEGV || sig == SIGBUS) && inproc_uaccess_installed())
		return inproc_chain_sigaction(sig, act, oldact);
	return real.sigaction(sig, act, oldact);
}

/* ------------------------------------------------------------ credentials */

/*
 * The host keeps each thread's effective capabilities until the
 * credentials generation moves (inproc.c, inproc_capable); every libc call
 * that may change them moves it once it returns (libcap's cap_set_proc()
 * goes through capset()).  A raw system call, syscall(SYS_capset, ...)
 * included, is not seen: such a program must call
 * uiommufd_host_inproc_creds_changed() itself.  Each wrapper looks its
 * target up on first use only.
 */
static void *creds_real(_Atomic(void *) *slot, const char *name)
{
	void *fn = atomic_load_explicit(slot, memory_order_acquire);

	if (!fn) {
		fn = real_sym(name);
		atomic_store_explicit(slot, fn, memory_order_release);
	}
	return fn;
}

/* glibc has capset but no header declares it (libcap's does). */
int capset(void *hdr, void *data);

#define CREDS_WRAP(name, params, args)                                                 \
	SHIM_EXPORT int name params                                                    \
	{                                                                              \
		static _Atomic(void *) slot;                                           \
		int (*fn) params = creds_real(&slot, #name);                           \
		int rc = fn args;                                                      \
		uiommufd_host_inproc_creds_changed();                                  \
		return rc;                                                             \
	}

CREDS_WRAP(capset, (void *hdr, void *data), (hdr, data))
CREDS_WRAP(setuid, (uid_t uid), (uid))
CREDS_WRAP(seteuid, (uid_t uid), (uid))
CREDS_WRAP(setreuid, (uid_t r, uid_t e), (r, e))
CREDS_WRAP(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))
CREDS_WRAP(setfsuid, (uid_t uid), (uid))

SHIM_EXPORT int prctl(int option, ...)
{
	static _Atomic(void *) slot;
	int (*fn)(int, unsigned long, unsigned long, unsigned long, unsigned long) =
		creds_real(&slot, "prctl");
	unsigned long a[4];
	va_list ap;
	int i, rc;

	va_start(ap, option);
	for (i = 0; i != 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	rc = fn(option, a[0], a[1], a[2], a[3]);
	uiommufd_host_inproc_creds_changed();
	return rc;
}
