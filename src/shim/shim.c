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
 * open() under /sys goes into the tree where it has the entry (redirect.c;
 * the other path calls are paths.c's); /dev/vfio/N, noiommu-N and
 * devices/vfioX open through the VFIO layer.  Limits: relative paths from
 * a working directory inside /sys, ".." in /sys paths and fts/nftw walks
 * are not redirected; mremap() of a BAR mapping is not followed.
 *
 * Memory calls (munmap, mremap, mmap with MAP_FIXED, madvise that discards,
 * mprotect that takes access away) tell the host first when they are about
 * to take pinned pages away, so the pins keep them, as the kernel's do.
 * They hold the host's memory-map lock until the call is done, so that a
 * pin taken meanwhile by another thread waits rather than landing on pages
 * about to go.  sigaction() of SIGSEGV/SIGBUS keeps the host's fault guard
 * in front of the program's handler.
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
#include "shim/shim.h"
#include "uiommufd.h"
#include "vfio/sysfs.h"
#include "vfio/vfio.h"

#define SHIM_MAX_FDS 65536

static _Atomic(struct uiommufd_ctx *) shim_files[SHIM_MAX_FDS];


struct real_fns shim_real;
static useconds_t unmap_delay_us;
pthread_once_t shim_real_once = PTHREAD_ONCE_INIT;
atomic_bool shim_real_resolved;	/* set once shim_real is filled in */

static void *real_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static void shim_resolve(void)
{
	shim_real.open = real_sym("open");
	shim_real.open64 = real_sym("open64");
	shim_real.openat = real_sym("openat");
	shim_real.openat64 = real_sym("openat64");
	shim_real.open_2 = real_sym("__open_2");
	shim_real.open64_2 = real_sym("__open64_2");
	shim_real.openat_2 = real_sym("__openat_2");
	shim_real.openat64_2 = real_sym("__openat64_2");
	shim_real.ioctl = real_sym("ioctl");
	shim_real.read = real_sym("read");
	shim_real.read_chk = real_sym("__read_chk");
	shim_real.write = real_sym("write");
	shim_real.readv = real_sym("readv");
	shim_real.writev = real_sym("writev");
	shim_real.close = real_sym("close");
	shim_real.close_range = real_sym("close_range");
	shim_real.dup = real_sym("dup");
	shim_real.dup2 = real_sym("dup2");
	shim_real.dup3 = real_sym("dup3");
	shim_real.fcntl = real_sym("fcntl");
	shim_real.fcntl64 = real_sym("fcntl64");
	shim_real.munmap = real_sym("munmap");
	shim_real.mmap = real_sym("mmap");
	shim_real.mmap64 = real_sym("mmap64");
	shim_real.mremap = real_sym("mremap");
	shim_real.madvise = real_sym("madvise");
	shim_real.mprotect = real_sym("mprotect");
	shim_real.sigaction = real_sym("sigaction");
	shim_real.access = real_sym("access");
	shim_real.faccessat = real_sym("faccessat");
	shim_real.euidaccess = real_sym("euidaccess");
	shim_real.eaccess = real_sym("eaccess");
	shim_real.stat = real_sym("stat");
	shim_real.stat64 = real_sym("stat64");
	shim_real.lstat = real_sym("lstat");
	shim_real.lstat64 = real_sym("lstat64");
	shim_real.fstatat = real_sym("fstatat");
	shim_real.fstatat64 = real_sym("fstatat64");
	shim_real.statx = real_sym("statx");
	shim_real.xstat = real_sym("__xstat");
	shim_real.xstat64 = real_sym("__xstat64");
	shim_real.lxstat = real_sym("__lxstat");
	shim_real.lxstat64 = real_sym("__lxstat64");
	shim_real.fxstatat = real_sym("__fxstatat");
	shim_real.fxstatat64 = real_sym("__fxstatat64");
	shim_real.opendir = real_sym("opendir");
	shim_real.scandir = real_sym("scandir");
	shim_real.scandir64 = real_sym("scandir64");
	shim_real.fopen = real_sym("fopen");
	shim_real.fopen64 = real_sym("fopen64");
	shim_real.freopen = real_sym("freopen");
	shim_real.freopen64 = real_sym("freopen64");
	shim_real.readlink = real_sym("readlink");
	shim_real.readlinkat = real_sym("readlinkat");
	shim_real.readlink_chk = real_sym("__readlink_chk");
	shim_real.readlinkat_chk = real_sym("__readlinkat_chk");
	shim_real.realpath = real_sym("realpath");
	shim_real.realpath_chk = real_sym("__realpath_chk");
	shim_real.canonicalize_file_name = real_sym("canonicalize_file_name");
	shim_real.fstat = real_sym("fstat");
	shim_real.fstat64 = real_sym("fstat64");
	shim_real.fxstat = real_sym("__fxstat");
	shim_real.fxstat64 = real_sym("__fxstat64");
	shim_real.pread = real_sym("pread");
	shim_real.pread64 = real_sym("pread64");
	shim_real.pread_chk = real_sym("__pread_chk");
	shim_real.pread64_chk = real_sym("__pread64_chk");
	shim_real.pwrite = real_sym("pwrite");
	shim_real.pwrite64 = real_sym("pwrite64");
	shim_real.preadv = real_sym("preadv");
	shim_real.preadv64 = real_sym("preadv64");
	shim_real.pwritev = real_sym("pwritev");
	shim_real.pwritev64 = real_sym("pwritev64");
	shim_real.preadv2 = real_sym("preadv2");
	shim_real.preadv64v2 = real_sym("preadv64v2");
	shim_real.pwritev2 = real_sym("pwritev2");
	shim_real.pwritev64v2 = real_sym("pwritev64v2");
	shim_real.llistxattr = real_sym("llistxattr");
	shim_real.listxattr = real_sym("listxattr");
	shim_real.lgetxattr = real_sym("lgetxattr");
	shim_real.getxattr = real_sym("getxattr");
	if (getenv("UIOMMUFD_DEBUG") && strcmp(getenv("UIOMMUFD_DEBUG"), "0"))
		uiommufd_set_debug(true);
	/* Tests: widen the window between moving pinned pages aside and munmap. */
	if (getenv("UIOMMUFD_TEST_UNMAP_DELAY_US"))
		unmap_delay_us = (useconds_t)strtoul(getenv("UIOMMUFD_TEST_UNMAP_DELAY_US"), NULL, 10);
	atomic_store_explicit(&shim_real_resolved, true, memory_order_release);
}

static void shim_devices_start(void);

__attribute__((constructor)) static void shim_init(void)
{
	pthread_once(&shim_real_once, shim_resolve);
	shim_devices_start();
}

void shim_ready(void)
{
	pthread_once(&shim_real_once, shim_resolve);
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
		shim_real.close(fd);
		errno = EMFILE;
		return -1;
	}
	rc = uiommufd_ctx_open(uiommufd_host_inproc(), ctx_flags, &ctx);
	if (rc) {
		shim_real.close(fd);
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
	OPEN_BODY(shim_real.open(path, oflags, mode), AT_FDCWD, path, oflags);
}

SHIM_EXPORT int open64(const char *path, int oflags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, oflags);
	mode = open_mode(oflags, ap);
	va_end(ap);
	OPEN_BODY(shim_real.open64(path, oflags, mode), AT_FDCWD, path, oflags);
}

SHIM_EXPORT int openat(int dirfd, const char *path, int oflags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, oflags);
	mode = open_mode(oflags, ap);
	va_end(ap);
	OPEN_BODY(shim_real.openat(dirfd, path, oflags, mode), dirfd, path, oflags);
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int oflags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, oflags);
	mode = open_mode(oflags, ap);
	va_end(ap);
	OPEN_BODY(shim_real.openat64(dirfd, path, oflags, mode), dirfd, path, oflags);
}

SHIM_EXPORT int __open_2(const char *path, int oflags)
{
	OPEN_BODY(shim_real.open_2(path, oflags), AT_FDCWD, path, oflags);
}

SHIM_EXPORT int __open64_2(const char *path, int oflags)
{
	OPEN_BODY(shim_real.open64_2(path, oflags), AT_FDCWD, path, oflags);
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int oflags)
{
	OPEN_BODY(shim_real.openat_2(dirfd, path, oflags), dirfd, path, oflags);
}

SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int oflags)
{
	OPEN_BODY(shim_real.openat64_2(dirfd, path, oflags), dirfd, path, oflags);
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
		return shim_real.ioctl(fd, request, arg);
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
	return shim_real.read(fd, buf, count);
}

static __attribute__((noinline)) ssize_t shim_anon_write(int fd, const void *buf, size_t count)
{
	ssize_t ret;

	if (inproc_anon_write(fd, buf, count, &ret) ||
	    inproc_anon_rw_pos(fd, (uintptr_t)buf, count, true, &ret))
		return shim_result(ret);
	return shim_real.write(fd, buf, count);
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t count)
{
	shim_ready_fast();
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0))
		return shim_anon_read(fd, buf, count);
	return shim_real.read(fd, buf, count);
}

/* The fortified read(): an overflow is still the program's to die of. */
SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen)
{
	shim_ready_fast();
	if (nbytes <= buflen && __builtin_expect(inproc_fd_maybe_anon(fd), 0))
		return shim_anon_read(fd, buf, nbytes);
	if (shim_real.read_chk)
		return shim_real.read_chk(fd, buf, nbytes, buflen);
	return shim_real.read(fd, buf, nbytes);
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
	shim_ready_fast();
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0))
		return shim_anon_write(fd, buf, count);
	return shim_real.write(fd, buf, count);
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
	RWV_BODY(shim_real.readv(fd, iov, iovcnt), fd, iov, iovcnt, -1, 0, false);
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	RWV_BODY(shim_real.writev(fd, iov, iovcnt), fd, iov, iovcnt, -1, 0, true);
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
	PRWV_BODY(shim_real.preadv(fd, iov, iovcnt, off), fd, iov, iovcnt, off, false);
}

SHIM_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int iovcnt, off64_t off)
{
	PRWV_BODY(shim_real.preadv64(fd, iov, iovcnt, off), fd, iov, iovcnt, off, false);
}

SHIM_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	PRWV_BODY(shim_real.pwritev(fd, iov, iovcnt, off), fd, iov, iovcnt, off, true);
}

SHIM_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off64_t off)
{
	PRWV_BODY(shim_real.pwritev64(fd, iov, iovcnt, off), fd, iov, iovcnt, off, true);
}

SHIM_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int iovcnt, off_t off, int rwf)
{
	RWV_BODY(shim_real.preadv2(fd, iov, iovcnt, off, rwf), fd, iov, iovcnt, off, rwf, false);
}

SHIM_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int iovcnt, off64_t off, int rwf)
{
	RWV_BODY(shim_real.preadv64v2(fd, iov, iovcnt, off, rwf), fd, iov, iovcnt, off, rwf, false);
}

SHIM_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t off, int rwf)
{
	RWV_BODY(shim_real.pwritev2(fd, iov, iovcnt, off, rwf), fd, iov, iovcnt, off, rwf, true);
}

SHIM_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int iovcnt, off64_t off,
				int rwf)
{
	RWV_BODY(shim_real.pwritev64v2(fd, iov, iovcnt, off, rwf), fd, iov, iovcnt, off, rwf, true);
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
	PRW_BODY(shim_real.pread(fd, buf, count, off), fd, buf, count, off, false);
}

SHIM_EXPORT ssize_t pread64(int fd, void *buf, size_t count, off64_t off)
{
	PRW_BODY(shim_real.pread64(fd, buf, count, off), fd, buf, count, off, false);
}

SHIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
	PRW_BODY(shim_real.pwrite(fd, buf, count, off), fd, buf, count, off, true);
}

SHIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t off)
{
	PRW_BODY(shim_real.pwrite64(fd, buf, count, off), fd, buf, count, off, true);
}

/* The fortified preads: an overflow is still the program's to die of. */
SHIM_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t nbytes, off_t off, size_t buflen)
{
	shim_ready_fast();
	if (nbytes <= buflen || !shim_real.pread_chk) {
		PRW_BODY(shim_real.pread(fd, buf, nbytes, off), fd, buf, nbytes, off, false);
	}
	return shim_real.pread_chk(fd, buf, nbytes, off, buflen);
}

SHIM_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t nbytes, off64_t off, size_t buflen)
{
	shim_ready_fast();
	if (nbytes <= buflen || !shim_real.pread64_chk) {
		PRW_BODY(shim_real.pread64(fd, buf, nbytes, off), fd, buf, nbytes, off, false);
	}
	return shim_real.pread64_chk(fd, buf, nbytes, off, buflen);
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
	shim_real.close(p);
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
	rc = shim_real.close(fd);
	return rc;
}

SHIM_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	unsigned int fd;
	int rc, err;

	shim_ready();
	if (!shim_real.close_range) {
		errno = ENOSYS;
		return -1;
	}
	rc = shim_real.close_range(first, last, flags);
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
	fd = shim_real.dup(oldfd);
	if (fd >= 0)
		shim_dup_to(oldfd, fd);
	return fd;
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	int fd, err;

	shim_ready();
	fd = shim_real.dup2(oldfd, newfd);
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
	fd = shim_real.dup3(oldfd, newfd, flags);
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
	return shim_fcntl(shim_real.fcntl, fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	shim_ready();
	return shim_fcntl(shim_real.fcntl64 ? shim_real.fcntl64 : shim_real.fcntl, fd, cmd, arg);
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
	rc = shim_real.munmap(addr, len);
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
	return shim_mmap(shim_real.mmap, addr, len, prot, flags, fd, off);
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	shim_ready();
	return shim_mmap(shim_real.mmap64 ? shim_real.mmap64 : shim_real.mmap, addr, len, prot, flags,
			 fd, off);
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
		moved = shim_real.mremap(old, old_size, new_size, flags, new_addr);
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
	moved = shim_real.mremap(old, old_size, new_size, flags, new_addr);
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
		return shim_real.madvise(addr, len, advice);
	uiommufd_host_inproc_mm_write_begin();
	uiommufd_host_inproc_mm_changed();
	/* MADV_REMOVE reaches the file's pages pinned through any mapping. */
	if (advice == MADV_REMOVE || uiommufd_host_inproc_range_pinned(addr, len)) {
		rc = uiommufd_host_inproc_madvise(addr, len, advice);
		if (rc)
			err = -rc;
		rc = rc ? -1 : 0;
	} else {
		rc = shim_real.madvise(addr, len, advice);
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
		return shim_real.mprotect(addr, len, prot);
	uiommufd_host_inproc_mm_write_begin();
	uiommufd_host_inproc_mm_changed();
	rc = uiommufd_host_inproc_mprotect(addr, len, prot);
	if (rc)
		err = -rc;
	uiommufd_host_inproc_mm_write_end();
	errno = err;
	return rc ? -1 : 0;
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
	return shim_real.sigaction(sig, act, oldact);
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
