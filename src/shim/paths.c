// SPDX-License-Identifier: MIT
/*
 * The shim's path calls: access, stat in every glibc spelling (and
 * statx), opendir, scandir, fopen, readlink, realpath and xattrs.  Under
 * /sys they go into the private tree where it has the entry (redirect.c);
 * /dev/vfio nodes stat as the character devices the tree's "dev" files
 * name; descriptors of anon files stat as their kind says; the mock
 * IOMMU's bus, /sys/bus/iommufd_mock, which the kernel's selftests look
 * for, is reported present.  Everything else goes to libc untouched.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "host/inproc.h"
#include "shim/redirect.h"
#include "shim/shim.h"
#include "uiommufd.h"
#include "vfio/sysfs.h"
#include "vfio/vfio.h"

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
	ACCESS_BODY(shim_real.access(path, mode), path, mode, false);
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
	return shim_real.faccessat(dirfd, path, mode, flags);
}

SHIM_EXPORT int euidaccess(const char *path, int mode)
{
	ACCESS_BODY(shim_real.euidaccess(path, mode), path, mode, true);
}

SHIM_EXPORT int eaccess(const char *path, int mode)
{
	ACCESS_BODY((shim_real.eaccess ? shim_real.eaccess : shim_real.euidaccess)(path, mode), path,
		    mode, true);
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
	if (!shim_real.sym) {                                                           \
		errno = ENOSYS;                                                    \
		return -1;                                                         \
	}                                                                          \
	return shim_real.sym(__VA_ARGS__)

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
	if (!shim_real.fstat)
		return (int)syscall(SYS_fstat, fd, buf);
	return shim_real.fstat(fd, buf);
}

SHIM_EXPORT int fstat64(int fd, struct stat64 *buf)
{
	shim_ready_fast();
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0)) {
		int r = shim_fd_stat(fd, (struct stat *)buf);

		if (r != SHIM_PASS)
			return r;
	}
	if (!shim_real.fstat64)
		return (int)syscall(SYS_fstat, fd, buf);
	return shim_real.fstat64(fd, buf);
}

SHIM_EXPORT int __fxstat(int ver, int fd, struct stat *buf)
{
	shim_ready_fast();
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0)) {
		int r = shim_fd_stat(fd, buf);

		if (r != SHIM_PASS)
			return r;
	}
	if (!shim_real.fxstat)
		return (int)syscall(SYS_fstat, fd, buf);
	return shim_real.fxstat(ver, fd, buf);
}

SHIM_EXPORT int __fxstat64(int ver, int fd, struct stat64 *buf)
{
	shim_ready_fast();
	if (__builtin_expect(inproc_fd_maybe_anon(fd), 0)) {
		int r = shim_fd_stat(fd, (struct stat *)buf);

		if (r != SHIM_PASS)
			return r;
	}
	if (!shim_real.fxstat64)
		return (int)syscall(SYS_fstat, fd, buf);
	return shim_real.fxstat64(ver, fd, buf);
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
	if (!shim_real.statx) {
		errno = ENOSYS;
		return -1;
	}
	return shim_real.statx(dirfd, path, flags, mask, buf);
}

/* The bus lists nothing: a directory of our own, removed once open. */
static DIR *mock_bus_opendir(void)
{
	char dir[] = "/tmp/uiommufd-bus-XXXXXX";
	int err = errno;
	DIR *d;

	if (!mkdtemp(dir))
		return NULL;
	d = shim_real.opendir(dir);
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
	return shim_real.opendir(path);
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
	REDIRECT_BODY(shim_real.scandir(path, list, filter, compar), path);
}

SHIM_EXPORT int scandir64(const char *path, struct dirent64 ***list,
			  int (*filter)(const struct dirent64 *),
			  int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
	REDIRECT_BODY(shim_real.scandir64(path, list, filter, compar), path);
}

/* glibc's fopen() opens without going through open(): it needs its own. */
SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	REDIRECT_BODY(shim_real.fopen(path, mode), path);
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	REDIRECT_BODY((shim_real.fopen64 ? shim_real.fopen64 : shim_real.fopen)(path, mode), path);
}

SHIM_EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
	REDIRECT_BODY(shim_real.freopen(path, mode, stream), path);
}

SHIM_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
	REDIRECT_BODY((shim_real.freopen64 ? shim_real.freopen64 : shim_real.freopen)(path, mode, stream),
		      path);
}

SHIM_EXPORT ssize_t readlink(const char *path, char *buf, size_t len)
{
	REDIRECT_BODY(shim_real.readlink(path, buf, len), path);
}

SHIM_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
	REDIRECT_BODY(shim_real.readlinkat(dirfd, path, buf, len), path);
}

SHIM_EXPORT ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen)
{
	REDIRECT_BODY(shim_real.readlink_chk ? shim_real.readlink_chk(path, buf, len, buflen)
					: shim_real.readlink(path, buf, len),
		      path);
}

SHIM_EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len,
				     size_t buflen)
{
	REDIRECT_BODY(shim_real.readlinkat_chk ? shim_real.readlinkat_chk(dirfd, path, buf, len, buflen)
					  : shim_real.readlinkat(dirfd, path, buf, len),
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
	REDIRECT_BODY(shim_unmap_result(shim_real.realpath(path, resolved)), path);
}

SHIM_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
	REDIRECT_BODY(shim_unmap_result(shim_real.realpath_chk
						? shim_real.realpath_chk(path, resolved, resolvedlen)
						: shim_real.realpath(path, resolved)),
		      path);
}

SHIM_EXPORT char *canonicalize_file_name(const char *path)
{
	REDIRECT_BODY(shim_unmap_result(shim_real.canonicalize_file_name(path)), path);
}

/* ls -l asks for ACLs: the xattr calls of a path too. */
SHIM_EXPORT ssize_t getxattr(const char *path, const char *name, void *value, size_t size)
{
	REDIRECT_BODY(shim_real.getxattr(path, name, value, size), path);
}

SHIM_EXPORT ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size)
{
	REDIRECT_BODY(shim_real.lgetxattr(path, name, value, size), path);
}

SHIM_EXPORT ssize_t listxattr(const char *path, char *list, size_t size)
{
	REDIRECT_BODY(shim_real.listxattr(path, list, size), path);
}

SHIM_EXPORT ssize_t llistxattr(const char *path, char *list, size_t size)
{
	REDIRECT_BODY(shim_real.llistxattr(path, list, size), path);
}
