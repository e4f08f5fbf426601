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
 * Memory calls (munmap, mremap, mmap with MAP_FIXED) tell the host first
 * when they are about to take pinned pages away, so the pins keep them, as
 * the kernel's do.  sigaction() of SIGSEGV/SIGBUS keeps the host's fault
 * guard in front of the program's handler.
 *
 * The shim never exits or aborts the program: a failure inside becomes an
 * errno on the call that hit it.  UIOMMUFD_DEBUG=1 logs every call routed
 * to a context.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host/inproc.h"
#include "uiommufd.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/* glibc's fortified open entry points, declared by no public header. */
int __open_2(const char *path, int oflags);
int __open64_2(const char *path, int oflags);
int __openat_2(int dirfd, const char *path, int oflags);
int __openat64_2(int dirfd, const char *path, int oflags);
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
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
};

static struct real_fns real;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

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
	real.sigaction = real_sym("sigaction");
	if (getenv("UIOMMUFD_DEBUG") && strcmp(getenv("UIOMMUFD_DEBUG"), "0"))
		uiommufd_set_debug(true);
}

__attribute__((constructor)) static void shim_init(void)
{
	pthread_once(&real_once, shim_resolve);
}

static inline void shim_ready(void)
{
	pthread_once(&real_once, shim_resolve);
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

#define OPEN_BODY(call_real, dirfd, path, oflags)                                       \
	unsigned int ctx_flags;                                                         \
	shim_ready();                                                                   \
	if (shim_match_path(dirfd, path, &ctx_flags))                                   \
		return shim_open_ctx(oflags, ctx_flags);                                \
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
		return real.ioctl(fd, request, arg);
	}
	rc = uiommufd_ioctl(ctx, request, arg);
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return (int)rc;
}

/* @newfd now refers to what @oldfd does: share the context. */
static void shim_dup_to(int oldfd, int newfd)
{
	struct uiommufd_ctx *ctx = shim_ctx(oldfd), *prev;

	if (newfd < 0 || newfd >= SHIM_MAX_FDS)
		return;
	if (ctx)
		uiommufd_ctx_get(ctx);
	prev = atomic_exchange_explicit(&shim_files[newfd], ctx, memory_order_acq_rel);
	if (prev)
		uiommufd_ctx_put(prev);
}

static void shim_forget(int fd)
{
	struct uiommufd_ctx *ctx;

	if (fd < 0 || fd >= SHIM_MAX_FDS)
		return;
	ctx = atomic_exchange_explicit(&shim_files[fd], NULL, memory_order_acq_rel);
	if (ctx)
		uiommufd_ctx_put(ctx);
}

SHIM_EXPORT int close(int fd)
{
	int rc, err;

	shim_ready();
	rc = real.close(fd);
	err = errno;
	/* Linux releases the descriptor even when close reports an error. */
	if (rc == 0 || err != EBADF)
		shim_forget(fd);
	errno = err;
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

/* Pinned pages in [addr, addr + len) are about to leave the program. */
static void shim_unmapping(void *addr, size_t len)
{
	uiommufd_host_inproc_mm_changed();
	if (uiommufd_host_inproc_range_pinned(addr, len))
		uiommufd_host_inproc_unmap_notify(addr, len);
}

SHIM_EXPORT int munmap(void *addr, size_t len)
{
	int err = errno;

	shim_ready();
	shim_unmapping(addr, len);
	errno = err;
	return real.munmap(addr, len);
}

static void *shim_mmap(void *(*fn)(void *, size_t, int, int, int, off_t), void *addr,
		       size_t len, int prot, int flags, int fd, off_t off)
{
	int err = errno;

	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (!(flags & MAP_FIXED_NOREPLACE))
			shim_unmapping(addr, len);
		errno = err;
	}
	return fn(addr, len, prot, flags, fd, off);
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
	void *new_addr = NULL;
	int err = errno;
	va_list ap;

	va_start(ap, flags);
	if (flags & MREMAP_FIXED)
		new_addr = va_arg(ap, void *);
	va_end(ap);
	shim_ready();
	uiommufd_host_inproc_mm_changed();
	if (old_size && uiommufd_host_inproc_range_pinned(old, old_size)) {
		void *moved;

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
		errno = err;
		return moved;
	}
	errno = err;
	return real.mremap(old, old_size, new_size, flags, new_addr);
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
