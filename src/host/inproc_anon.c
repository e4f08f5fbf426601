// SPDX-License-Identifier: MIT
/*
 * The in-process host's anon files.  anon_fd() makes a real descriptor (a
 * memfd) with the core's object behind it; the shim reports dup and close
 * of descriptors so the object is released with the last descriptor and
 * anon_get() reference.  Kinds the program reads and writes (event queues)
 * are sockets instead, whose readiness poll() sees; the shim sends their
 * read() and write() here (inproc_anon_read(), inproc_anon_write()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/host.h"
#include "host/inproc.h"
#include "host/inproc_int.h"
#include "uiommufd.h"

#define ANON_MAX_FDS INPROC_ANON_MAX_FDS

/*
 * One open anon file.  @refs counts its descriptors and the anon_get()
 * references.  @dev and @ino name the file behind the descriptors, so that
 * a descriptor closed behind our back and reused for another file is not
 * taken for this one.
 *
 * A stream kind (ops with read or write: event queues) is one end of a
 * Unix socket pair rather than a memfd, so that poll(), select() and epoll
 * report its readiness natively.  @sig_fd is the other end, ours: a byte
 * sent through it makes the program's end poll readable and wakes its
 * pollers.  @drain_fd is our own descriptor of the program's end, through
 * which the bytes are taken back when the file stops being readable.  The
 * program's end never sends (its writes go to ops->write), so it always
 * polls writable.  Sockets have an inode each, which @dev and @ino need
 * (eventfds all share one).  Both are -1 for other kinds.
 */
struct host_anon {
	const struct host_anon_ops *ops;
	void *priv;
	/*
	 * Taken from a table entry without a lock (anon_ref(): never from
	 * zero, and kept only if the entry still names the file), or from a
	 * reference held; atomic, since both ends run unlocked.
	 */
	atomic_ulong refs;
	struct host_anon *next_spare;	/* on anon_spares, once released */
	dev_t dev;
	ino_t ino;
	int sig_fd, drain_fd;
	/* anon_fd_gen when fstat last showed the file still behind its number */
	atomic_ulong seen_gen;
};

/*
 * Bumped by every close and dup the program makes through the shim (and by
 * each new anon file): while it stands still, no descriptor number can have
 * changed hands except by a raw system call, so a file fstat has shown
 * behind its number since is still there and needs no new look.
 */
static atomic_ulong anon_fd_gen = 1;

static void anon_fd_event(void)
{
	atomic_fetch_add_explicit(&anon_fd_gen, 1, memory_order_acq_rel);
}

/* For the kept /proc/self/maps descriptor (maps_fd_get()). */
unsigned long inproc_fd_event_gen(void)
{
	return atomic_load_explicit(&anon_fd_gen, memory_order_acquire);
}

/*
 * anon_lock orders the table's changes with one another (create, close,
 * dup) and keeps the spares.  Lookups take no lock: a file's memory is
 * never handed back to malloc but kept for the next file, so a lookup
 * that read an entry just as it went still reads a host_anon, whose
 * count it only raises from nonzero and keeps only if the entry still
 * names it (anon_ref()).
 */
static pthread_mutex_t anon_lock = PTHREAD_MUTEX_INITIALIZER;
static struct host_anon *anon_spares;
_Atomic(struct host_anon *) inproc_anon_files[ANON_MAX_FDS];
#define anon_files inproc_anon_files

static struct host_anon *anon_alloc(void)
{
	struct host_anon *a;

	pthread_mutex_lock(&anon_lock);
	a = anon_spares;
	if (a)
		anon_spares = a->next_spare;
	pthread_mutex_unlock(&anon_lock);
	if (!a)
		return calloc(1, sizeof(*a));
	/*
	 * The creator sets every other field.  The count stays as it is: a
	 * late lookup may still raise and drop it, never from zero.
	 */
	atomic_store_explicit(&a->seen_gen, 0, memory_order_relaxed);
	return a;
}

static void anon_free(struct host_anon *a)
{
	pthread_mutex_lock(&anon_lock);
	a->next_spare = anon_spares;
	anon_spares = a;
	pthread_mutex_unlock(&anon_lock);
}

static void anon_drop(struct host_anon *a)
{
	/* The last reference: no table entry is left to find @a by. */
	if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (a->ops->release)
		a->ops->release(a->priv);
	/* Past release nothing signals the file any more. */
	if (a->sig_fd >= 0)
		syscall(SYS_close, a->sig_fd);
	if (a->drain_fd >= 0)
		syscall(SYS_close, a->drain_fd);
	anon_free(a);
}

/* Forget @fd's entry if it is still @a. */
static void anon_forget(int fd, struct host_anon *a)
{
	struct host_anon *expected = a;
	bool was;

	pthread_mutex_lock(&anon_lock);
	was = atomic_compare_exchange_strong(&anon_files[fd], &expected, NULL);
	pthread_mutex_unlock(&anon_lock);
	if (was)
		anon_drop(a);
}

static bool anon_is_stream(const struct host_anon_ops *ops)
{
	return ops->read || ops->write;
}

/* Move a descriptor of ours above the program's usual range, if there is room. */
static int anon_private_fd(int fd)
{
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, 64);

	if (hi < 0)
		return fd;
	syscall(SYS_close, fd);
	return hi;
}

/* A stream kind: the program's end of a socket pair; see struct host_anon. */
static int anon_open_stream(struct host_anon *a, int flags)
{
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return errno == EMFILE || errno == ENFILE ? -errno : -ENOMEM;
	a->sig_fd = anon_private_fd(sv[1]);
	a->drain_fd = fcntl(sv[0], F_DUPFD_CLOEXEC, 64);
	if (a->drain_fd < 0)
		goto err;
	if (!(flags & O_CLOEXEC) && fcntl(sv[0], F_SETFD, 0))
		goto err;
	if ((flags & O_NONBLOCK) && fcntl(sv[0], F_SETFL, O_NONBLOCK))
		goto err;
	return sv[0];

err:
	rc = errno == EMFILE || errno == ENFILE ? -errno : -ENOMEM;
	syscall(SYS_close, sv[0]);
	return rc;
}

/*
 * What backs the descriptor of other kinds: a memfd, named after the file
 * as the kernel's anon inodes are.
 */
static int anon_open(const struct host_anon_ops *ops, int flags)
{
	int fd, rc;

	fd = memfd_create(ops->name ? ops->name : "anon_inode", flags & O_CLOEXEC ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -errno;
	if ((flags & O_NONBLOCK) && fcntl(fd, F_SETFL, O_NONBLOCK)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int inproc_anon_fd_file(struct uiommufd_host *host, const struct host_anon_ops *ops,
			       void *priv, int flags, struct host_anon **file)
{
	struct host_anon *a, *stale;
	struct stat st;
	int fd;

	(void)host;
	if (flags & ~(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	a = anon_alloc();
	if (!a)
		return -ENOMEM;
	a->sig_fd = a->drain_fd = -1;
	fd = anon_is_stream(ops) ? anon_open_stream(a, flags) : anon_open(ops, flags);
	if (fd >= 0 && (fd >= ANON_MAX_FDS || syscall(SYS_fstat, fd, &st))) {
		close(fd);
		fd = -EMFILE;
	}
	if (fd < 0) {
		if (a->sig_fd >= 0)
			syscall(SYS_close, a->sig_fd);
		if (a->drain_fd >= 0)
			syscall(SYS_close, a->drain_fd);
		anon_free(a);
		return fd;
	}
	a->ops = ops;
	a->priv = priv;
	atomic_store_explicit(&a->refs, 1, memory_order_relaxed);
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	pthread_mutex_lock(&anon_lock);
	stale = atomic_exchange(&anon_files[fd], a);
	pthread_mutex_unlock(&anon_lock);
	anon_fd_event();
	/* The number was closed behind our back: that file is gone. */
	if (stale)
		anon_drop(stale);
	if (file)
		*file = a;
	return fd;
}

int inproc_anon_fd(struct uiommufd_host *host, const struct host_anon_ops *ops, void *priv,
			  int flags)
{
	return inproc_anon_fd_file(host, ops, priv, flags, NULL);
}

void inproc_anon_set_readable(struct uiommufd_host *host, struct host_anon *a,
				     bool readable)
{
	int err = errno;

	(void)host;
	if (a->sig_fd < 0)
		return;
	if (readable) {
		char c = 0;

		/* A full socket still polls readable: only this wake-up is lost. */
		(void)send(a->sig_fd, &c, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	} else {
		char buf[256];

		while (recv(a->drain_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	}
	errno = err;
}

/* Whether @fd still refers to @a's file; a stale entry is forgotten. */
static bool anon_still(int fd, struct host_anon *a)
{
	unsigned long gen = atomic_load_explicit(&anon_fd_gen, memory_order_acquire);
	struct stat st;

	if (atomic_load_explicit(&a->seen_gen, memory_order_relaxed) == gen)
		return true;
	/* Raw: the shim's fstat() asks this file's ops, which would come back here. */
	if (!syscall(SYS_fstat, fd, &st) && st.st_dev == a->dev && st.st_ino == a->ino) {
		atomic_store_explicit(&a->seen_gen, gen, memory_order_relaxed);
		return true;
	}
	anon_forget(fd, a);
	return false;
}

/*
 * The anon file behind @fd, referenced, if it is of @ops' kind (any when
 * NULL; with @stream, a stream kind) and fstat still finds it behind the
 * number; NULL otherwise.  errno is left as it was.
 */
static struct host_anon *anon_ref(int fd, const struct host_anon_ops *ops, bool stream)
{
	struct host_anon *a;
	unsigned long refs;
	int err = errno;

	if (fd < 0 || fd >= ANON_MAX_FDS)
		return NULL;
	a = atomic_load_explicit(&anon_files[fd], memory_order_acquire);
	if (!a)
		return NULL;
	refs = atomic_load_explicit(&a->refs, memory_order_relaxed);
	do {
		if (!refs)
			return NULL;	/* released as we looked: the entry is gone too */
	} while (!atomic_compare_exchange_weak_explicit(&a->refs, &refs, refs + 1,
							 memory_order_acquire, memory_order_relaxed));
	/* Held now; ours only if the number still names it (else it went, or was reused). */
	if (atomic_load_explicit(&anon_files[fd], memory_order_acquire) != a ||
	    (ops && a->ops != ops) || (stream && a->sig_fd < 0)) {
		anon_drop(a);
		errno = err;
		return NULL;
	}
	if (!anon_still(fd, a)) {
		anon_drop(a);
		a = NULL;
	}
	errno = err;
	return a;
}

void *inproc_anon_get(struct uiommufd_host *host, int fd, const struct host_anon_ops *ops,
		      struct host_anon **ref)
{
	struct host_anon *a = anon_ref(fd, ops, false);

	(void)host;
	if (!a)
		return NULL;
	*ref = a;
	return a->priv;
}

void inproc_anon_put(struct uiommufd_host *host, struct host_anon *ref)
{
	(void)host;
	anon_drop(ref);
}

void inproc_anon_withdraw(struct uiommufd_host *host, int fd)
{
	(void)host;
	uiommufd_host_inproc_fd_closed(fd);
	syscall(SYS_close, fd);
}

/* The stream anon file behind @fd, referenced; NULL for any other descriptor. */
static struct host_anon *anon_stream_get(int fd)
{
	return anon_ref(fd, NULL, true);
}

/* The VFS's cap on one read or write (MAX_RW_COUNT). */
#define ANON_MAX_RW ((size_t)INT_MAX & ~(size_t)4095)

static bool anon_rw(int fd, uint64_t ubuf, size_t count, bool write, ssize_t *ret)
{
	ssize_t (*fn)(void *, uint64_t, size_t, int);
	int err = errno;
	struct host_anon *a;
	long fflags;

	a = anon_stream_get(fd);
	if (!a) {
		errno = err;
		return false;
	}
	fflags = syscall(SYS_fcntl, fd, F_GETFL);
	if (fflags < 0)
		fflags = 0;
	errno = err;
	fn = write ? a->ops->write : a->ops->read;
	if (count > ANON_MAX_RW)
		count = ANON_MAX_RW;
	*ret = fn ? fn(a->priv, ubuf, count, (int)fflags) : -EINVAL;
	anon_drop(a);
	return true;
}

bool inproc_anon_read(int fd, void *buf, size_t count, ssize_t *ret)
{
	return anon_rw(fd, (uintptr_t)buf, count, false, ret);
}

bool inproc_anon_write(int fd, const void *buf, size_t count, ssize_t *ret)
{
	return anon_rw(fd, (uintptr_t)buf, count, true, ret);
}

bool inproc_fd_is_stream(int fd)
{
	struct host_anon *a;

	if (fd < 0 || fd >= ANON_MAX_FDS ||
	    !atomic_load_explicit(&anon_files[fd], memory_order_relaxed))
		return false;
	int err = errno;

	a = anon_stream_get(fd);
	errno = err;
	if (!a)
		return false;
	anon_drop(a);
	return true;
}

/* An anon file's own read or write, else the plain system call; -errno. */
static ssize_t fd_rw(int fd, uintptr_t buf, size_t count, bool write)
{
	int err = errno;
	ssize_t ret;

	if (anon_rw(fd, buf, count, write, &ret))
		return ret;
	ret = syscall(write ? SYS_write : SYS_read, fd, buf, count);
	if (ret < 0)
		ret = -errno;
	errno = err;
	return ret;
}

ssize_t uiommufd_host_inproc_fd_read(int fd, void *buf, size_t count)
{
	return fd_rw(fd, (uintptr_t)buf, count, false);
}

ssize_t uiommufd_host_inproc_fd_write(int fd, const void *buf, size_t count)
{
	return fd_rw(fd, (uintptr_t)buf, count, true);
}

void uiommufd_host_inproc_fd_closed(int fd)
{
	struct host_anon *a;

	anon_fd_event();
	if (fd < 0 || fd >= ANON_MAX_FDS ||
	    !atomic_load_explicit(&anon_files[fd], memory_order_relaxed))
		return;
	pthread_mutex_lock(&anon_lock);
	a = atomic_exchange(&anon_files[fd], NULL);
	pthread_mutex_unlock(&anon_lock);
	if (a)
		anon_drop(a);
}

void uiommufd_host_inproc_fd_dup(int oldfd, int newfd)
{
	struct host_anon *a = NULL, *prev;
	bool old_ok = oldfd >= 0 && oldfd < ANON_MAX_FDS;

	anon_fd_event();
	if (oldfd == newfd || newfd < 0 || newfd >= ANON_MAX_FDS)
		return;
	if (!(old_ok && atomic_load_explicit(&anon_files[oldfd], memory_order_relaxed)) &&
	    !atomic_load_explicit(&anon_files[newfd], memory_order_relaxed))
		return;
	pthread_mutex_lock(&anon_lock);
	if (old_ok) {
		a = atomic_load(&anon_files[oldfd]);
		if (a)
			atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
	}
	/* What @newfd had was closed by the dup. */
	prev = atomic_exchange(&anon_files[newfd], a);
	pthread_mutex_unlock(&anon_lock);
	if (prev)
		anon_drop(prev);
}

bool inproc_fd_is_anon(int fd)
{
	struct host_anon *a = anon_ref(fd, NULL, false);

	if (a)
		anon_drop(a);
	return a != NULL;
}

/*
 * Device files (VFIO groups and device fds): ioctl, pread/pwrite, read and
 * write at the file position, mmap and fstat of their descriptors reach the
 * kind's ops (see host_anon_ops), each holding a reference on the file for
 * the call.  A mapping keeps one until every page of it is unmapped.
 */

/* Any anon file behind @fd, referenced; NULL for any other descriptor. */
static struct host_anon *anon_file_get(int fd)
{
	return anon_ref(fd, NULL, false);
}

bool inproc_ioctl_is_vfs(unsigned long cmd)
{
	return cmd == FIOCLEX || cmd == FIONCLEX || cmd == FIONBIO || cmd == FIOASYNC;
}

bool inproc_anon_ioctl(int fd, unsigned long cmd, uint64_t uarg, long *ret)
{
	struct host_anon *a = anon_file_get(fd);
	int err = errno;

	if (!a)
		return false;
	*ret = a->ops->ioctl ? a->ops->ioctl(a->priv, cmd, uarg) : -ENOTTY;
	anon_drop(a);
	errno = err;
	return true;
}

/* The VFS's checks before a positioned transfer, then the file's rw. */
static ssize_t anon_prw(struct host_anon *a, uint64_t ubuf, size_t count, int64_t off,
			bool write)
{
	if (anon_is_stream(a->ops))
		return -ESPIPE;
	if (!a->ops->rw || (ssize_t)count < 0 || (uint64_t)off + count > INT64_MAX)
		return -EINVAL;
	if (count > ANON_MAX_RW)
		count = ANON_MAX_RW;
	return a->ops->rw(a->priv, ubuf, count, (uint64_t)off, write);
}

bool inproc_anon_prw(int fd, uint64_t ubuf, size_t count, int64_t off, bool write,
		     ssize_t *ret)
{
	struct host_anon *a;
	int err = errno;

	/* A negative offset fails before the descriptor is looked at. */
	if (off < 0) {
		if (!inproc_fd_maybe_anon(fd))
			return false;
		*ret = -EINVAL;
		return true;
	}
	a = anon_file_get(fd);
	if (!a)
		return false;
	*ret = anon_prw(a, ubuf, count, off, write);
	anon_drop(a);
	errno = err;
	return true;
}

bool inproc_anon_rw_pos(int fd, uint64_t ubuf, size_t count, bool write, ssize_t *ret)
{
	struct host_anon *a = anon_file_get(fd);
	int err = errno;
	long pos;

	if (!a)
		return false;
	if (anon_is_stream(a->ops)) {
		anon_drop(a);
		return false;
	}
	/* The descriptor's own position (the memfd's) is the file position. */
	pos = syscall(SYS_lseek, fd, 0L, SEEK_CUR);
	if (pos < 0) {
		*ret = -ESPIPE;
	} else {
		*ret = anon_prw(a, ubuf, count, pos, write);
		if (*ret > 0)
			syscall(SYS_lseek, fd, pos + *ret, SEEK_SET);
	}
	anon_drop(a);
	errno = err;
	return true;
}

bool inproc_anon_stat(int fd, struct stat *st, int *ret)
{
	struct host_anon *a = anon_file_get(fd);
	int err = errno;

	if (!a)
		return false;
	if (!a->ops->stat) {
		anon_drop(a);
		return false;
	}
	memset(st, 0, sizeof(*st));
	*ret = a->ops->stat(a->priv, st);
	anon_drop(a);
	errno = err;
	return true;
}

/* One mapping of a device file; holds a reference on it. */
struct anon_map {
	struct anon_map *next;
	uintptr_t start, end;
	struct host_anon *file;
};

static pthread_mutex_t anon_map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct anon_map *anon_maps;
static atomic_size_t anon_maps_live;

bool inproc_anon_mmap(int fd, void *addr, size_t len, int prot, int flags, uint64_t off,
		      void **out, int *ret)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct host_anon *a = anon_file_get(fd);
	struct anon_map *m;
	int err = errno;
	void *p;

	if (!a)
		return false;
	*ret = 0;
	if (!len || (off & (page - 1)))
		*ret = -EINVAL;
	else if (len > SIZE_MAX - page + 1)
		*ret = -ENOMEM;
	else if (!a->ops->mmap)
		*ret = -ENODEV;
	if (*ret)
		goto drop;
	len = (len + page - 1) & ~(page - 1);
	m = calloc(1, sizeof(*m));
	if (!m) {
		*ret = -ENOMEM;
		goto drop;
	}
	*ret = a->ops->mmap(a->priv, addr, len, prot, flags, off, &p);
	if (*ret) {
		free(m);
		goto drop;
	}
	/* The mapping takes over our reference. */
	m->start = (uintptr_t)p;
	m->end = (uintptr_t)p + len;
	m->file = a;
	pthread_mutex_lock(&anon_map_lock);
	m->next = anon_maps;
	anon_maps = m;
	atomic_fetch_add(&anon_maps_live, 1);
	pthread_mutex_unlock(&anon_map_lock);
	*out = p;
	errno = err;
	return true;

drop:
	anon_drop(a);
	errno = err;
	return true;
}

/* A part of a mapping that went, to tell its file about outside the lock. */
struct anon_unmapped {
	struct host_anon *file;
	uintptr_t start, end;
};

void inproc_anon_unmapped(void *addr, size_t len)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	struct anon_unmapped told[16];
	struct anon_map **pm, *m, *spare;
	unsigned int passes = 0;
	size_t n;
	int err = errno;

	if (!atomic_load_explicit(&anon_maps_live, memory_order_acquire) || !len || hi < lo)
		return;
again:
	n = 0;
	/* A range inside one mapping splits it in two: the second half's record. */
	spare = malloc(sizeof(*spare));
	pthread_mutex_lock(&anon_map_lock);
	for (pm = &anon_maps; (m = *pm) && n < sizeof(told) / sizeof(told[0]);) {
		uintptr_t s = lo > m->start ? lo : m->start, e = hi < m->end ? hi : m->end;

		if (s >= e) {
			pm = &m->next;
			continue;
		}
		told[n].file = m->file;
		told[n].start = s;
		told[n].end = e;
		n++;
		if (s == m->start && e == m->end) {
			/* All of it: its reference goes with the call. */
			*pm = m->next;
			free(m);
			atomic_fetch_sub(&anon_maps_live, 1);
			continue;
		}
		pthread_mutex_lock(&anon_lock);
		m->file->refs++;
		pthread_mutex_unlock(&anon_lock);
		if (s == m->start) {
			m->start = e;
		} else if (e == m->end) {
			m->end = s;
		} else if (spare) {
			spare->start = e;
			spare->end = m->end;
			spare->file = m->file;
			spare->next = m->next;
			m->end = s;
			m->next = spare;
			pthread_mutex_lock(&anon_lock);
			m->file->refs++;
			pthread_mutex_unlock(&anon_lock);
			atomic_fetch_add(&anon_maps_live, 1);
			spare = NULL;
			m = m->next;
		}
		pm = &m->next;
	}
	pthread_mutex_unlock(&anon_map_lock);
	free(spare);
	for (size_t i = 0; i < n; i++) {
		struct host_anon *a = told[i].file;

		if (a->ops->munmap)
			a->ops->munmap(a->priv, (void *)told[i].start, told[i].end - told[i].start);
		anon_drop(a);
	}
	/* More mappings in the range than one pass tells: another pass. */
	if (n == sizeof(told) / sizeof(told[0]) && ++passes < 1024)
		goto again;
	errno = err;
}

long uiommufd_fd_ioctl(int fd, unsigned long cmd, void *arg)
{
	int err = errno;
	long ret;

	if (!inproc_ioctl_is_vfs(cmd) && inproc_anon_ioctl(fd, cmd, (uintptr_t)arg, &ret))
		return ret;
	ret = syscall(SYS_ioctl, fd, cmd, arg);
	if (ret < 0)
		ret = -errno;
	errno = err;
	return ret;
}

ssize_t uiommufd_fd_rw(int fd, void *buf, size_t count, uint64_t off, bool write)
{
	int err = errno;
	ssize_t ret;

	if (inproc_anon_prw(fd, (uintptr_t)buf, count, (int64_t)off, write, &ret))
		return ret;
	ret = syscall(write ? SYS_pwrite64 : SYS_pread64, fd, buf, count, (long)off);
	if (ret < 0)
		ret = -errno;
	errno = err;
	return ret;
}

int uiommufd_fd_mmap(int fd, void *addr, size_t len, int prot, int flags, uint64_t off,
		     void **out)
{
	int err = errno, ret;
	void *p;

	if (inproc_anon_mmap(fd, addr, len, prot, flags, off, out, &ret))
		return ret;
	p = inproc_sys_mmap(addr, len, prot, flags, fd, (off_t)off);
	ret = p == MAP_FAILED ? -errno : 0;
	if (!ret)
		*out = p;
	errno = err;
	return ret;
}
