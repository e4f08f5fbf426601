// SPDX-License-Identifier: MIT
/*
 * The program's memory map as the in-process host reads it: the VMAs of a
 * range, from PROCMAP_QUERY (Linux 6.11) on a descriptor of
 * /proc/self/maps kept open, or from the file's text on older kernels.
 * Pins check their range here (every page mapped, readable, writable for
 * a writable pin), and so do the madvise and mprotect wrappers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "host/inproc.h"
#include "host/inproc_int.h"

/*
 * VMAs come from PROCMAP_QUERY (Linux 6.11), one ioctl per VMA, or else
 * from the text of /proc/self/maps.
 */
struct procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#define PROCMAP_QUERY_VMA_READABLE 0x01
#define PROCMAP_QUERY_VMA_WRITABLE 0x02
#define PROCMAP_QUERY_VMA_SHARED 0x08
#define PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10

static atomic_bool procmap_query_missing;

void inproc_vma_text_only(bool on)
{
	atomic_store(&procmap_query_missing, on);
}

struct vma_walk {
	int fd;
	bool kept;	/* @fd is the kept descriptor below: not ours to close */
	FILE *f;	/* once reading text */
};

/*
 * /proc/self/maps stays open between walks: opening it costs several
 * microseconds, more than the rest of a pin.  The descriptor is the
 * program's to take away, though (close, dup2, closefrom), and a fork
 * child inherits one that reads its parent.  Checking both before every
 * walk (getpid() and fstat()) cost two system calls per pin, so the checks
 * wait for a reason: a fork child learns it from our atfork hook
 * (maps_forked), and fstat() runs again only after the shim has seen a
 * close or dup (anon_fd_gen moved).  A number that changed hands by a raw
 * system call makes PROCMAP_QUERY fail on the foreign file; the walk then
 * asks again on a fresh descriptor and forgets the kept one
 * (vma_walk_reopen()).  One that is not ours any more is forgotten, never
 * closed: the number is someone else's now.  It sits high, out of the way
 * of programs that count on low numbers.
 */
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static int maps_fd = -1;
static dev_t maps_dev;
static ino_t maps_ino;
static unsigned long maps_seen_gen;	/* anon_fd_gen at the last fstat() */
static bool maps_forked;		/* set in a fork child: maps_fd reads the parent */
static pthread_once_t maps_fork_once = PTHREAD_ONCE_INIT;

#define MAPS_FD_MIN 200


static void maps_fork_child(void)
{
	maps_forked = true;
}

static void maps_fork_register(void)
{
	pthread_atfork(NULL, NULL, maps_fork_child);
}

static int maps_fd_open(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Whether the kept @fd is still the file it was: dev and inode. */
static bool maps_fd_same(int fd)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_dev == maps_dev && st.st_ino == maps_ino;
}

/* The kept descriptor, checked, or a fresh one kept from now on; -errno. */
static int maps_fd_get(void)
{
	unsigned long gen = inproc_fd_event_gen();
	struct stat st;
	int fd, high;

	pthread_once(&maps_fork_once, maps_fork_register);
	pthread_mutex_lock(&maps_lock);
	fd = maps_fd;
	if (fd >= 0 && maps_forked) {
		/* Inherited across fork: ours, but the parent's file. */
		if (maps_fd_same(fd))
			close(fd);
		fd = maps_fd = -1;
	} else if (fd >= 0 && gen != maps_seen_gen) {
		if (maps_fd_same(fd))
			maps_seen_gen = gen;
		else
			fd = maps_fd = -1;
	}
	maps_forked = false;
	if (fd < 0) {
		fd = maps_fd_open();
		if (fd >= 0) {
			high = fcntl(fd, F_DUPFD_CLOEXEC, MAPS_FD_MIN);
			if (high >= 0) {
				close(fd);
				fd = high;
			}
			if (fstat(fd, &st)) {
				close(fd);
				fd = -errno;
			} else {
				maps_fd = fd;
				maps_dev = st.st_dev;
				maps_ino = st.st_ino;
				maps_seen_gen = gen;
			}
		}
	}
	pthread_mutex_unlock(&maps_lock);
	return fd;
}

/* The kept @fd failed a query that a fresh descriptor answered: not ours any more. */
static void maps_fd_forget(int fd)
{
	pthread_mutex_lock(&maps_lock);
	if (maps_fd == fd)
		maps_fd = -1;
	pthread_mutex_unlock(&maps_lock);
}

static int vma_walk_begin(struct vma_walk *w)
{
	w->f = NULL;
	/* The text fallback reads (and closes) a descriptor of its own. */
	w->kept = !atomic_load_explicit(&procmap_query_missing, memory_order_relaxed);
	w->fd = w->kept ? maps_fd_get() : maps_fd_open();
	return w->fd < 0 ? w->fd : 0;
}

static void vma_walk_end(struct vma_walk *w)
{
	if (w->f)
		fclose(w->f);
	else if (!w->kept)
		close(w->fd);
}

/*
 * A failed query on the kept descriptor may be the program's doing (it
 * took the number between our check and the call): ask once more on a
 * descriptor of this walk's own before deciding the kernel lacks it.
 */
static bool vma_walk_reopen(struct vma_walk *w)
{
	int fd = maps_fd_open();

	if (fd < 0)
		return false;
	w->fd = fd;
	w->kept = false;
	return true;
}

/*
 * The VMA covering @addr, or else the first above it: 0, or -ENOENT when
 * there is none.  @addr must not go down between calls.
 */
static int vma_walk_next(struct vma_walk *w, uint64_t addr, struct vma_info *v)
{
	char line[512];

	if (!w->f && !atomic_load_explicit(&procmap_query_missing, memory_order_relaxed)) {
		struct procmap_query q = {
			.size = sizeof(q),
			.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
			.query_addr = addr,
		};

		int kept_fd = w->kept ? w->fd : -1;

		if (ioctl(w->fd, PROCMAP_QUERY, &q) == 0 ||
		    (errno != ENOENT && w->kept && vma_walk_reopen(w) &&
		     ioctl(w->fd, PROCMAP_QUERY, &q) == 0)) {
			if (kept_fd >= 0 && !w->kept)
				maps_fd_forget(kept_fd);
			*v = (struct vma_info){
				.start = q.vma_start,
				.end = q.vma_end,
				.offset = q.vma_offset,
				.key = { q.dev_major, q.dev_minor, q.inode },
				.read = q.vma_flags & PROCMAP_QUERY_VMA_READABLE,
				.write = q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE,
				.shared = q.vma_flags & PROCMAP_QUERY_VMA_SHARED,
			};
			return 0;
		}
		if (errno == ENOENT)
			return -ENOENT;
		atomic_store_explicit(&procmap_query_missing, true, memory_order_relaxed);
	}
	if (!w->f) {
		w->f = fdopen(w->fd, "re");
		if (!w->f)
			return -ENOMEM;
	}
	while (fgets(line, sizeof(line), w->f)) {
		unsigned long long lo, hi, off, ino;
		unsigned int maj, min;
		char perms[5];
		int c;

		/* A long path name: drop the rest of the line. */
		if (!strchr(line, '\n'))
			while ((c = fgetc(w->f)) != EOF && c != '\n')
				;
		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu", &lo, &hi, perms, &off, &maj, &min,
			   &ino) != 7 || hi <= addr)
			continue;
		*v = (struct vma_info){
			.start = lo,
			.end = hi,
			.offset = off,
			.key = { maj, min, ino },
			.read = perms[0] == 'r',
			.write = perms[1] == 'w',
			.shared = perms[3] == 's',
		};
		return 0;
	}
	return -ENOENT;
}

/* The VMA mapped at @addr now: -EFAULT if none. */
int inproc_vma_at(uint64_t addr, struct vma_info *v)
{
	struct vma_walk w;
	int rc;

	rc = vma_walk_begin(&w);
	if (rc)
		return rc;
	rc = vma_walk_next(&w, addr, v);
	vma_walk_end(&w);
	if (rc || v->start > addr)
		return -EFAULT;
	return 0;
}

/*
 * The VMAs of [start, end): every page must be mapped, readable, and
 * writable for a writable pin (EFAULT otherwise), as get_user_pages()
 * demands.  With @any, whatever VMAs meet the range, holes and all.
 */
int inproc_user_vmas(uint64_t start, uint64_t end, bool writable, bool any,
		     struct vma_info **out, size_t *nr_out)
{
	struct vma_info *vmas = NULL, v;
	uint64_t covered = start;
	size_t nr = 0, cap = 0;
	struct vma_walk w;
	int rc;

	rc = vma_walk_begin(&w);
	if (rc)
		return rc;
	while (covered < end) {
		rc = vma_walk_next(&w, covered, &v);
		if (any && (rc == -ENOENT || (!rc && v.start >= end))) {
			rc = 0;
			break;
		}
		if (!any && (rc == -ENOENT ||
			     (!rc && (v.start > covered || !v.read || (writable && !v.write)))))
			rc = -EFAULT;
		if (rc)
			break;
		if (nr == cap) {
			struct vma_info *grown;

			cap = cap ? 2 * cap : 4;
			grown = realloc(vmas, cap * sizeof(*vmas));
			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			vmas = grown;
		}
		vmas[nr++] = v;
		covered = v.end;
	}
	vma_walk_end(&w);
	if (rc) {
		free(vmas);
		return rc;
	}
	*out = vmas;
	*nr_out = nr;
	return 0;
}
