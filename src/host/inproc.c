// SPDX-License-Identifier: MIT
/*
 * The in-process host: user memory is this process's memory.  This file
 * makes and releases the pins, owns the physical address space and holds
 * the host's ops; the rest is in inproc_phys.c (reaching pinned memory by
 * handle or by physical address), inproc_uaccess.c (user copies that turn
 * a bad pointer into EFAULT),
 * inproc_vma.c (the program's memory map), inproc_mm.c (what the program
 * does to pinned memory), inproc_anon.c (the core's objects behind
 * descriptors) and itree.c (the interval index).
 *
 * Pins.  A pin records a range of user memory the core needs to stay put.
 * In-process, the core reaches pinned memory through its own address
 * (kaddr), so nothing is copied and nothing is mapped twice.  The kernel
 * keeps pinned pages alive whatever the program does to its mapping; so do
 * we: before the program unmaps, remaps or discards pinned memory, the shim
 * calls uiommufd_host_inproc_unmap_notify(), which moves the pinned pages
 * aside with mremap(MREMAP_DONTUNMAP) (no copy; the program's range stays
 * mapped, empty) and points the pins there.  madvise() goes through
 * uiommufd_host_inproc_madvise(): DONTNEED moves pinned private pages aside
 * the same way, FREE spares them, and REMOVE, which takes shared pages out
 * of their file, copies them.  A pin is a list of segments so that a range
 * whose middle was moved still resolves; pins of the very same range share
 * one such record, as the kernel's pins share a page's refcount, and each
 * holder keeps only a handle.  Moved memory lives in refcounted
 * "shelters" freed with their last pin (inproc_mm.c).  A memory-map lock
 * (mm_lock) keeps pins out of the time between moving pages aside and the
 * call it prepares.
 *
 * Validation of a pin reads the VMAs of its range once (inproc_vma.c):
 * every page must be mapped, readable, and writable for a writable
 * pin (EFAULT otherwise), as get_user_pages() demands.  A pin of the very
 * range of a record still at its user address, with its access, takes
 * that record without the look: the shim's reports keep such records true
 * to the map (inproc_rec_hash_vouches).
 *
 * Physical addresses.  A page's physical address (PA) is its identity, as
 * its PFN is in the kernel; it is fixed when the page is pinned and stays
 * whatever the program does to the mapping.  The 51-bit space:
 *
 *   [0, 1 << 49)        private memory: the user address at pin time, so a
 *                       pin is contiguous and naturally aligned as THP is
 *   [1 << 49, 1 << 50)  aliases, bump allocated, for private pages whose
 *                       address an older pin still holds for other pages
 *                       (the program moved or dropped those), and for user
 *                       addresses at or above 1 << 49
 *   [1 << 50, 1 << 51)  1024 windows of 1 TiB: a window per (device,
 *                       inode, TiB of file offset) of MAP_SHARED file and
 *                       shmem pages (memfd, shared anonymous, hugetlbfs)
 *                       and of pin_file(), plus the offset, so a page has
 *                       one address through every mapping and through
 *                       pin_file().  A file larger than 1 TiB takes one
 *                       window per TiB.  Windows stay (and keep their
 *                       addresses) until the slot is needed for another
 *                       file and no pin uses them; with all 1024 in use a
 *                       new file's pages get aliases.
 *
 * Pages pinned already keep their address when pinned again, so the same
 * private page pinned twice, or moved by mremap and pinned again, has one
 * address.  Every segment is indexed by PA (phys_kaddr) and, while its
 * pages are still at their user address, by user address.
 *
 * Accounting.  Locked pages are counted per mode against RLIMIT_MEMLOCK.
 * The kernel's per-user count spans every process of the user; ours sees
 * this process only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/host.h"
#include "host/inproc.h"
#include "host/inproc_int.h"
#include "host/inproc_pins.h"
#include "host/itree.h"
#include "host/mmio_trap.h"
#include "iommu/iommu.h"
#include "uiommufd.h"


/* ------------------------------------------------------------------- pins */

#define HANDLES_PER_SLAB 512

/*
 * inproc_pins_lock covers every segment, both indexes, the windows and the alias
 * allocator.  pa_gen moves on every change to inproc_pa_root or to a kaddr, so a
 * thread's cached resolution is good while pa_gen has not moved.
 */
pthread_mutex_t inproc_pins_lock = PTHREAD_MUTEX_INITIALIZER;
struct itree_node *inproc_pa_root;	/* every segment, by physical address */
struct itree_node *inproc_va_root;	/* user segments still at their user address */
atomic_ulong inproc_pa_gen = 1;
static struct pa_window pa_windows[PA_NR_WINDOWS];
static size_t pa_windows_used;
static uint64_t pa_alias_next = PA_ALIAS_BASE;
static struct host_pin *handles_free;	/* under inproc_pins_lock */

/*
 * Records of one plain private segment, by (user address, length,
 * writable) as they were made: a pin of a range pinned already (the
 * vIOMMU's page at many IOVAs) finds the record to share in one probe
 * instead of two descents of inproc_va_root, each a cache miss per level.  A
 * record found here is shared only if it still is what pin_shareable()
 * would pick (one whole segment at its user address, neither moved nor
 * protected); one that has changed since is left to the slow path.  The
 * table only speeds up; when it cannot grow, records go unhashed.
 *
 * inproc_pin_user_prefetch() reads a bucket without the lock, to start
 * fetching its record early; so the table is published with a release
 * store, buckets change by atomic stores, and a table that grows keeps the
 * ones it replaced (their sizes sum to less than its own), so that such a
 * read never reaches freed memory.
 */
struct rec_table {
	size_t size;			/* buckets, a power of two */
	struct rec_table *older;	/* the table this one replaced */
	struct pin_rec *slot[];
};
static struct rec_table *rec_hash;	/* under inproc_pins_lock, but see above */
static size_t rec_hash_count;		/* records hashed */

/*
 * Whether a record found in rec_hash vouches for the program's mapping, so
 * a pin of a range pinned already needs no look at the VMAs.  The shim
 * reports every munmap, mremap, MAP_FIXED mmap, discarding madvise and
 * mprotect of pinned memory before it happens, and each of them moves the
 * pages aside or marks them indirect, which puts the record out of
 * rec_hash_find()'s reach; what the shim cannot see it cannot see for the
 * pins made already either (README, Known limits).  Cleared for good in a
 * fork child, whose map lacks what MADV_DONTFORK kept from it, and when a
 * protection change could not be recorded (out of memory).
 */
bool inproc_rec_hash_vouches = true;	/* under inproc_pins_lock */

void inproc_pins_untracked(void)
{
	pthread_mutex_lock(&inproc_pins_lock);
	inproc_rec_hash_vouches = false;
	pthread_mutex_unlock(&inproc_pins_lock);
}

static uint64_t rec_key(uint64_t uaddr, size_t len, bool writable)
{
	uint64_t k = (uaddr >> 12) ^ ((uint64_t)len << 40) ^ (writable ? 1ULL << 63 : 0);

	k *= 0x9e3779b97f4a7c15ULL;
	return k ^ (k >> 29);
}

static bool rec_hash_grow(void)
{
	size_t old = rec_hash ? rec_hash->size : 0, size = old ? 2 * old : 1024, i;
	struct rec_table *t = calloc(1, sizeof(*t) + size * sizeof(t->slot[0]));

	if (!t)
		return false;
	t->size = size;
	t->older = rec_hash;
	for (i = 0; i != old; i++) {
		struct pin_rec *r = rec_hash->slot[i], *next;

		for (; r; r = next) {
			next = r->hnext;
			r->hnext = t->slot[r->hval & (size - 1)];
			t->slot[r->hval & (size - 1)] = r;
		}
	}
	__atomic_store_n(&rec_hash, t, __ATOMIC_RELEASE);
	return true;
}

static void rec_hash_add(struct pin_rec *rec, uint64_t uaddr, bool writable)
{
	struct pin_rec **head;

	if ((!rec_hash || rec_hash_count >= rec_hash->size) && !rec_hash_grow())
		return;
	rec->hval = rec_key(uaddr, rec->len, writable);
	head = &rec_hash->slot[rec->hval & (rec_hash->size - 1)];
	rec->hnext = *head;
	__atomic_store_n(head, rec, __ATOMIC_RELAXED);
	rec->hashed = true;
	rec_hash_count++;
}

static void rec_hash_del(struct pin_rec *rec)
{
	struct pin_rec **at;

	if (!rec->hashed)
		return;
	for (at = &rec_hash->slot[rec->hval & (rec_hash->size - 1)]; *at != rec;
	     at = &(*at)->hnext)
		;
	__atomic_store_n(at, rec->hnext, __ATOMIC_RELAXED);
	rec->hashed = false;
	rec_hash_count--;
}

/* A record to share for a private pin of [uaddr, uaddr + len), or NULL. */
static struct pin_rec *rec_hash_find(uint64_t uaddr, size_t len, bool writable)
{
	uint64_t h = rec_key(uaddr, len, writable);
	struct pin_rec *r;

	if (!rec_hash)
		return NULL;
	for (r = rec_hash->slot[h & (rec_hash->size - 1)]; r; r = r->hnext) {
		const struct pin_seg *seg;

		/* Hashed records are rec_alloc()'s: their one segment is seg0. */
		seg = &r->seg0;
		if (r->hval != h || r->len != len || r->nr_segs != 1 || r->segs[0] != seg)
			continue;
		if (seg->at_uaddr && seg->uaddr == uaddr && seg->writable == writable &&
		    !seg->indirect && !seg->shelter)
			return r;
	}
	return NULL;
}

/*
 * The first record of the bucket a pin of [uaddr, uaddr + len) will probe,
 * read without the lock (see rec_table): a record freed or moved meanwhile
 * costs a useless prefetch, and the address is never dereferenced here.
 */
static void inproc_pin_user_prefetch(struct uiommufd_host *host, uint64_t uaddr, size_t len,
				     bool writable)
{
	const struct rec_table *t = __atomic_load_n(&rec_hash, __ATOMIC_ACQUIRE);
	const char *r;

	(void)host;
	if (!t)
		return;
	r = (const char *)__atomic_load_n(&t->slot[rec_key(uaddr, len, writable) & (t->size - 1)],
					  __ATOMIC_RELAXED);
	if (r) {
		__builtin_prefetch(r, 1);
		__builtin_prefetch(r + PIN_REC_HOT_BYTES - 1, 1);
	}
}

/* The line inproc_unpin() changes: its record's reference count. */
static void inproc_unpin_prefetch(struct uiommufd_host *host, const struct host_pin *handle)
{
	(void)host;
	__builtin_prefetch(handle_rec(handle), 1);
}

/* A handle on @rec, which it takes the caller's reference of; NULL if out of memory. */
static struct host_pin *handle_new(struct pin_rec *rec)
{
	struct host_pin *h = handles_free;

	if (!h) {
		struct host_pin *slab = malloc(HANDLES_PER_SLAB * sizeof(*slab));
		size_t i;

		if (!slab)
			return NULL;
		/* Slabs stay for good: a process that pinned this many may again. */
		for (i = 1; i != HANDLES_PER_SLAB; i++)
			slab[i].next_free = i + 1 != HANDLES_PER_SLAB ? &slab[i + 1] : NULL;
		handles_free = &slab[1];
		h = &slab[0];
	} else {
		handles_free = h->next_free;
	}
	h->word = (uintptr_t)rec;
	return h;
}

/* A handle on @rec: in @slot when the caller gave one, else a new one. */
static struct host_pin *handle_take(struct host_pin *slot, struct pin_rec *rec)
{
	if (!slot)
		return handle_new(rec);
	slot->word = (uintptr_t)rec | HANDLE_IN_SLOT;
	return slot;
}

static void handle_free(struct host_pin *h)
{
	if (h->word & HANDLE_IN_SLOT) {
		h->word = 0;	/* the caller's memory again */
		return;
	}
	h->next_free = handles_free;
	handles_free = h;
}

/* The shim calls into the mapping functions: ours must not come back. */
void *inproc_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int inproc_sys_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/*
 * Move [old, old + len) to @to.  MREMAP_DONTUNMAP (Linux 5.7, every kind of
 * mapping since 5.13) leaves the program's range mapped with no pages, as
 * MADV_DONTNEED would: anonymous memory reads zero, a file mapping reads
 * the file.  Older kernels get a plain move, which leaves a hole.
 */
void *inproc_sys_mremap_fixed(void *old, size_t len, void *to)
{
	void *p = (void *)syscall(SYS_mremap, old, len, len,
				  MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to);

	if (p == MAP_FAILED && errno == EINVAL)
		p = (void *)syscall(SYS_mremap, old, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	return p;
}

void inproc_pa_changed(void)
{
	atomic_fetch_add_explicit(&inproc_pa_gen, 1, memory_order_release);
}

static void seg_index(struct pin_seg *seg)
{
	itree_insert(&inproc_pa_root, &seg->pa_node, seg->pa, seg->pa + seg->len);
	if (seg->at_uaddr)
		itree_insert(&inproc_va_root, &seg->va_node, seg->uaddr, seg->uaddr + seg->len);
	inproc_pa_changed();
}

static void seg_unindex(struct pin_seg *seg)
{
	itree_remove(&inproc_pa_root, &seg->pa_node);
	if (seg->at_uaddr)
		itree_remove(&inproc_va_root, &seg->va_node);
	inproc_pa_changed();
}

uint64_t inproc_window_pa(const struct pa_window *w)
{
	return PA_WINDOW_BASE + ((uint64_t)(w - pa_windows) << PA_WINDOW_SHIFT);
}

static bool file_key_eq(const struct file_key *a, const struct file_key *b)
{
	return a->major == b->major && a->minor == b->minor && a->ino == b->ino;
}

/*
 * The window of (@key, @chunk).  Windows outlive their pins, so a page
 * keeps its address across unpin and pin again, until the slot is needed
 * for another file.  With @make, a missing window takes a free slot or one
 * no segment uses; NULL when there is none.
 */
struct pa_window *inproc_window_get(const struct file_key *key, uint64_t chunk, bool make)
{
	struct pa_window *idle = NULL;
	size_t i;

	for (i = 0; i != pa_windows_used; i++) {
		struct pa_window *w = &pa_windows[i];

		if (w->chunk == chunk && file_key_eq(&w->key, key))
			return w;
		if (!w->refs && !idle)
			idle = w;
	}
	if (!make)
		return NULL;
	if (pa_windows_used != PA_NR_WINDOWS)
		idle = &pa_windows[pa_windows_used++];
	if (idle)
		*idle = (struct pa_window){ .key = *key, .chunk = chunk };
	return idle;
}

/* A fresh alias range; 0 once the region is spent. */
static uint64_t alias_alloc(uint64_t hint, uint64_t len)
{
	uint64_t base = (pa_alias_next + PA_ALIAS_ALIGN - 1) & ~(PA_ALIAS_ALIGN - 1);

	base += hint & (PA_ALIAS_ALIGN - 1);
	if (base + len > PA_ALIAS_END)
		return 0;
	pa_alias_next = base + len;
	return base;
}

/* Pieces of a pin being made: contiguous in both spaces, in pin order. */
struct pa_piece {
	uint64_t off, len, pa;
	struct pa_window *win;	/* one reference, handed to the segment */
};

struct pa_pieces {
	struct pa_piece *v;
	size_t nr, cap;
};

/* Takes the caller's reference on @win, also on failure. */
static int pieces_add(struct pa_pieces *pp, uint64_t off, uint64_t len, uint64_t pa,
		      struct pa_window *win)
{
	struct pa_piece *last = pp->nr ? &pp->v[pp->nr - 1] : NULL;

	if (last && last->off + last->len == off && last->pa + last->len == pa &&
	    last->win == win) {
		last->len += len;
		if (win)
			win->refs--;
		return 0;
	}
	if (pp->nr == pp->cap) {
		size_t cap = pp->cap ? 2 * pp->cap : 4;
		struct pa_piece *v = realloc(pp->v, cap * sizeof(*v));

		if (!v) {
			if (win)
				win->refs--;
			return -ENOMEM;
		}
		pp->v = v;
		pp->cap = cap;
	}
	pp->v[pp->nr++] = (struct pa_piece){ .off = off, .len = len, .pa = pa, .win = win };
	return 0;
}

static void pieces_release(struct pa_pieces *pp)
{
	size_t i;

	for (i = 0; i != pp->nr; i++)
		if (pp->v[i].win)
			pp->v[i].win->refs--;
	free(pp->v);
}

/*
 * Shared file pages: the file's window plus the offset.  @hint gives an
 * alias, when no window slot is left, the natural alignment.
 */
static int pieces_add_file(struct pa_pieces *pp, uint64_t off, const struct file_key *key,
			   uint64_t foff, uint64_t len, uint64_t hint)
{
	while (len) {
		uint64_t in = foff & (PA_WINDOW_SIZE - 1), n = min_u64(len, PA_WINDOW_SIZE - in);
		struct pa_window *w = inproc_window_get(key, foff >> PA_WINDOW_SHIFT, true);
		uint64_t pa;
		int rc;

		if (w) {
			w->refs++;
			pa = inproc_window_pa(w) + in;
		} else {
			pa = alias_alloc(hint, n);
			if (!pa)
				return -ENOMEM;
		}
		rc = pieces_add(pp, off, n, pa, w);
		if (rc)
			return rc;
		off += n;
		foff += n;
		hint += n;
		len -= n;
	}
	return 0;
}

int inproc_pa_taken(struct itree_node *n, void *arg)
{
	(void)n;
	(void)arg;
	return 1;
}

/*
 * Private pages nobody pins are known by their user address, unless an
 * older pin still holds that address for pages the program has since
 * moved or dropped: then they get an alias.
 */
static int pieces_add_fresh(struct pa_pieces *pp, uint64_t off, uint64_t va, uint64_t len)
{
	uint64_t pa = va;

	if (va + len > PA_ALIAS_BASE || itree_visit(inproc_pa_root, va, va + len, inproc_pa_taken, NULL)) {
		pa = alias_alloc(va, len);
		if (!pa)
			return -ENOMEM;
	}
	return pieces_add(pp, off, len, pa, NULL);
}


static int seg_vec_push(struct seg_vec *sv, struct pin_seg *seg)
{
	if (sv->nr == sv->cap) {
		size_t cap = sv->cap ? 2 * sv->cap : 8;
		struct pin_seg **v = realloc(sv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->nr++] = seg;
	return 0;
}

static int collect_va(struct itree_node *n, void *arg)
{
	return seg_vec_push(arg, seg_of(n, va_node));
}

/*
 * Private pages at [va, va + len): those a pin holds already keep the
 * address they have, which is their identity (they may have moved with
 * mremap, or carry an alias); the rest are fresh.  Every pin still at a
 * page's user address gives that page the same address, so any one cover
 * will do: each step is one descent, however many pins share the page.
 */
static int pieces_add_private(struct pa_pieces *pp, uint64_t off, uint64_t va, uint64_t len)
{
	uint64_t x = va, end = va + len;
	int rc = 0;

	while (!rc && x < end) {
		struct itree_node *n = itree_find(inproc_va_root, x);
		uint64_t next;

		if (n) {
			const struct pin_seg *held = seg_of(n, va_node);

			next = min_u64(held->uaddr + held->len, end);
			if (held->win)
				held->win->refs++;
			rc = pieces_add(pp, off + (x - va), next - x, held->pa + (x - held->uaddr),
					held->win);
		} else {
			n = itree_first_from(inproc_va_root, x);
			next = n && n->start < end ? n->start : end;
			rc = pieces_add_fresh(pp, off + (x - va), x, next - x);
		}
		x = next;
	}
	return rc;
}

/* Make a pin of @pp's pieces and index it; the pieces' references move to it. */
/* Free @rec's memory: its segments and their array (nothing else is undone). */
static void rec_free_mem(struct pin_rec *rec)
{
	size_t i;

	for (i = 0; i != rec->nr_segs; i++)
		if (rec->segs[i] != &rec->seg0)
			free(rec->segs[i]);
	if (rec->segs != &rec->one_seg)
		free(rec->segs);
	free(rec);
}

/* A zeroed record of @nr zeroed segments (@nr >= 1), the first its seg0; NULL if out of memory. */
static struct pin_rec *rec_alloc(size_t nr)
{
	/* Line aligned: a lookup then reads two lines of it, not three (inproc_pins.h). */
	struct pin_rec *rec = aligned_alloc(64, sizeof(*rec));

	if (!rec)
		return NULL;
	memset(rec, 0, sizeof(*rec));
	rec->segs = nr == 1 ? &rec->one_seg : calloc(nr, sizeof(*rec->segs));
	if (!rec->segs) {
		free(rec);
		return NULL;
	}
	rec->segs[0] = &rec->seg0;
	for (rec->nr_segs = 1; rec->nr_segs != nr; rec->nr_segs++) {
		rec->segs[rec->nr_segs] = calloc(1, sizeof(**rec->segs));
		if (!rec->segs[rec->nr_segs]) {
			rec_free_mem(rec);
			return NULL;
		}
	}
	return rec;
}

static struct pin_rec *pin_build(struct pa_pieces *pp, size_t len, bool file, bool writable,
				 uint64_t uaddr, uint8_t *kbase)
{
	struct pin_rec *pin = rec_alloc(pp->nr);
	size_t i;

	if (!pin)
		return NULL;
	pin->len = len;
	pin->file = file;
	pin->refs = 1;
	for (i = 0; i != pp->nr; i++) {
		struct pin_seg *seg = pin->segs[i];
		const struct pa_piece *pc = &pp->v[i];

		seg->pin = pin;
		seg->offset = pc->off;
		seg->len = pc->len;
		seg->pa = pc->pa;
		seg->win = pc->win;
		seg->writable = writable;
		pp->v[i].win = NULL;
		if (file) {
			seg->kaddr = kbase + pc->off;
			seg->own = seg->kaddr;
		} else {
			seg->uaddr = uaddr + pc->off;
			seg->kaddr = (uint8_t *)(uintptr_t)seg->uaddr;
			seg->at_uaddr = true;
		}
		seg_index(seg);
	}
	return pin;
}

/* Split segs[i] of @pin at @at bytes into it; both halves stay put. */
static int pin_seg_split(struct pin_rec *pin, size_t i, size_t at)
{
	struct pin_seg *front = pin->segs[i], *back, **segs;

	back = malloc(sizeof(*back));
	if (!back)
		return -ENOMEM;
	if (pin->segs == &pin->one_seg) {
		segs = malloc(2 * sizeof(*segs));
		if (segs)
			segs[0] = pin->one_seg;
	} else {
		segs = realloc(pin->segs, (pin->nr_segs + 1) * sizeof(*segs));
	}
	if (!segs) {
		free(back);
		return -ENOMEM;
	}
	pin->segs = segs;
	seg_unindex(front);
	*back = *front;
	front->len = at;
	back->offset += at;
	back->len -= at;
	back->kaddr += at;
	if (back->own)
		back->own += at;
	back->pa += at;
	if (back->at_uaddr || back->shelter)
		back->uaddr += at;
	if (back->shelter)
		back->shelter->refs++;
	if (back->win)
		back->win->refs++;
	memmove(&segs[i + 2], &segs[i + 1], (pin->nr_segs - i - 1) * sizeof(*segs));
	segs[i + 1] = back;
	pin->nr_segs++;
	seg_index(front);
	seg_index(back);
	return 0;
}

int inproc_collect_pa(struct itree_node *n, void *arg)
{
	return seg_vec_push(arg, seg_of(n, pa_node));
}

/* Cut the segments straddling @addr there: user addresses, or physical ones with @by_pa. */
int inproc_segs_cut(bool by_pa, uint64_t addr)
{
	struct seg_vec sv = {};
	size_t k;
	int rc;

	rc = itree_visit(by_pa ? inproc_pa_root : inproc_va_root, addr, addr + 1,
			 by_pa ? inproc_collect_pa : collect_va, &sv);
	for (k = 0; !rc && k != sv.nr; k++) {
		struct pin_seg *seg = sv.v[k];
		uint64_t base = by_pa ? seg->pa : seg->uaddr;

		if (base < addr)
			rc = pin_seg_split(seg->pin, inproc_seg_find(seg->pin, seg->offset), addr - base);
	}
	free(sv.v);
	return rc;
}

int inproc_segs_cut_at(uint64_t addr)
{
	return inproc_segs_cut(false, addr);
}

/* The user segments lying wholly inside [lo, hi). */
int inproc_segs_inside(uint64_t lo, uint64_t hi, struct seg_vec *sv)
{
	size_t k, n = 0;
	int rc;

	rc = itree_visit(inproc_va_root, lo, hi, collect_va, sv);
	for (k = 0; k != sv->nr; k++)
		if (sv->v[k]->uaddr >= lo && sv->v[k]->uaddr + sv->v[k]->len <= hi)
			sv->v[n++] = sv->v[k];
	sv->nr = n;
	return rc;
}


/*
 * The program's memory map against pins, as mmap_lock orders them in the
 * kernel: a pin reads the VMAs of its range and records it under the read
 * side.  The shim holds the write side from the step that moves pinned
 * pages out of a range until the munmap, mremap, mmap or madvise it
 * prepares is done, so no pin lands in between and goes unmoved.  The
 * write side nests within a thread: the shim's mmap may come back through
 * the core's own mapping calls.
 */
static pthread_rwlock_t mm_lock = PTHREAD_RWLOCK_INITIALIZER;
static __thread unsigned int mm_write_depth __attribute__((tls_model("initial-exec")));
static pthread_once_t mm_fork_once = PTHREAD_ONCE_INIT;
static bool mm_fork_held;

/* A child of fork() must not inherit the lock held by a thread it lacks. */
static void mm_fork_prepare(void)
{
	mm_fork_held = !mm_write_depth;
	if (mm_fork_held)
		pthread_rwlock_wrlock(&mm_lock);
}

static void mm_fork_parent(void)
{
	if (mm_fork_held)
		pthread_rwlock_unlock(&mm_lock);
}

static void mm_fork_child(void)
{
	inproc_rec_hash_vouches = false;
	/* The unlock would look for the parent's thread: start afresh. */
	pthread_rwlock_init(&mm_lock, NULL);
	mm_write_depth = 0;
}

static void mm_fork_register(void)
{
	pthread_atfork(mm_fork_prepare, mm_fork_parent, mm_fork_child);
}

void uiommufd_host_inproc_mm_write_begin(void)
{
	pthread_once(&mm_fork_once, mm_fork_register);
	if (mm_write_depth++ == 0)
		pthread_rwlock_wrlock(&mm_lock);
}

void uiommufd_host_inproc_mm_write_end(void)
{
	if (--mm_write_depth == 0)
		pthread_rwlock_unlock(&mm_lock);
}

static int pin_user_range(struct uiommufd_host *host, uint64_t uptr, size_t len, bool writable,
			  struct host_pin *slot, struct host_pin **out);

/* A pin of user memory, its handle in @slot if given, under the map's read side. */
static int pin_user_locked(struct uiommufd_host *host, uint64_t uptr, size_t len, bool writable,
			   struct host_pin *slot, struct host_pin **out)
{
	/* Under the write side already, this thread is the one changing the map. */
	bool reader = !mm_write_depth;
	int rc;

	pthread_once(&mm_fork_once, mm_fork_register);
	if (reader)
		pthread_rwlock_rdlock(&mm_lock);
	rc = pin_user_range(host, uptr, len, writable, slot, out);
	if (reader)
		pthread_rwlock_unlock(&mm_lock);
	return rc;
}

static int inproc_pin_user(struct uiommufd_host *host, uint64_t uptr, size_t len,
			   bool writable, struct host_pin **out)
{
	return pin_user_locked(host, uptr, len, writable, NULL, out);
}

static int inproc_pin_user_into(struct uiommufd_host *host, uint64_t uptr, size_t len,
				bool writable, struct host_pin_slot *slot)
{
	struct host_pin *handle;

	return pin_user_locked(host, uptr, len, writable, (struct host_pin *)slot, &handle);
}

/* Drop @seg's shelter reference; a shelter left unused goes on *@free_list. */
void inproc_seg_leave_shelter(struct pin_seg *seg, struct shelter **free_list)
{
	if (seg->shelter && --seg->shelter->refs == 0) {
		seg->shelter->next_free = *free_list;
		*free_list = seg->shelter;
	}
	seg->shelter = NULL;
}

/* Unmap the shelters of @free_list, outside inproc_pins_lock. */
void inproc_shelters_free(struct shelter *free_list)
{
	while (free_list) {
		struct shelter *s = free_list;

		free_list = s->next_free;
		inproc_sys_munmap(s->addr, s->len);
		free(s);
	}
}

/*
 * Drop a reference on @rec, under inproc_pins_lock.  At the last its segments
 * leave the indexes and true is returned: rec_free() it once unlocked,
 * after inproc_shelters_free(*@free_list).
 */
static bool rec_put_locked(struct pin_rec *rec, struct shelter **free_list)
{
	size_t i;

	if (--rec->refs)
		return false;
	rec_hash_del(rec);
	for (i = 0; i != rec->nr_segs; i++) {
		struct pin_seg *seg = rec->segs[i];

		seg_unindex(seg);
		if (seg->win)
			seg->win->refs--;
		inproc_seg_leave_shelter(seg, free_list);
	}
	return true;
}

static void rec_free(struct pin_rec *rec)
{
	size_t i;

	/* A file pin's segments are pieces of our own mapping. */
	for (i = 0; i != rec->nr_segs; i++)
		if (rec->segs[i]->own)
			inproc_sys_munmap(rec->segs[i]->own, rec->segs[i]->len);
	rec_free_mem(rec);
}

/*
 * A copy of shared @rec for one holder, under inproc_pins_lock: new segments over
 * the same pages, as a pin of its own would have.  User pins only (file
 * pins are never shared).  NULL if out of memory.
 */
static struct pin_rec *rec_unshare(struct pin_rec *rec)
{
	struct pin_rec *copy = rec_alloc(rec->nr_segs);
	size_t i;

	if (!copy)
		return NULL;
	copy->len = rec->len;
	copy->file = rec->file;
	copy->refs = 1;
	for (i = 0; i != rec->nr_segs; i++) {
		struct pin_seg *seg = copy->segs[i];

		*seg = *rec->segs[i];
		seg->pin = copy;
		if (seg->shelter)
			seg->shelter->refs++;
		if (seg->win)
			seg->win->refs++;
		seg_index(seg);
	}
	rec->refs--;
	return copy;
}

struct share_query {
	const struct pa_piece *piece;
	size_t len;
	bool writable;
	struct pin_rec *found;
};

/* A record of one whole, plain segment that a new pin of the same pages would copy. */
static int share_match(struct itree_node *n, void *arg)
{
	struct share_query *q = arg;
	struct pin_seg *seg = seg_of(n, va_node);
	struct pin_rec *rec = seg->pin;

	if (rec->nr_segs != 1 || rec->file || rec->len != q->len || seg->writable != q->writable ||
	    seg->indirect || seg->shelter || seg->pa != q->piece->pa || seg->win != q->piece->win)
		return 0;
	q->found = rec;
	return 1;
}

/* The record to share for a pin of [uptr, uptr + len) made of @pp, or NULL. */
static struct pin_rec *pin_shareable(const struct pa_pieces *pp, uint64_t uptr, size_t len,
				     bool writable)
{
	struct share_query q = { .piece = pp->v, .len = len, .writable = writable };

	if (pp->nr != 1 || pp->v[0].len != len)
		return NULL;
	itree_visit_exact(inproc_va_root, uptr, uptr + len, share_match, &q);
	return q.found;
}

static int pin_user_range(struct uiommufd_host *host, uint64_t uptr, size_t len, bool writable,
			  struct host_pin *slot, struct host_pin **out)
{
	struct pin_rec *pin = NULL, *dead = NULL;
	struct shelter *free_list = NULL;
	struct pa_pieces pp = {};
	struct host_pin *handle = NULL;
	struct vma_info *vmas;
	uint64_t end = uptr + len;
	bool private;
	size_t nr, i;
	int rc;

	if (!len || uptr % host->page_size || len % host->page_size ||
	    !inproc_uaccess_range_ok(uptr, len))
		return -EFAULT;
	/* The vIOMMU's page at yet another IOVA: what the record knows will do. */
	pthread_mutex_lock(&inproc_pins_lock);
	pin = inproc_rec_hash_vouches ? rec_hash_find(uptr, len, writable) : NULL;
	handle = pin ? handle_take(slot, pin) : NULL;
	if (handle)
		pin->refs++;
	pthread_mutex_unlock(&inproc_pins_lock);
	if (handle) {
		*out = handle;
		return 0;
	}
	pin = NULL;
	rc = inproc_user_vmas(uptr, end, writable, false, &vmas, &nr);
	if (rc)
		return rc;
	private = nr == 1 && !vma_file_shared(&vmas[0]);
	pthread_mutex_lock(&inproc_pins_lock);
	if (private) {
		pin = rec_hash_find(uptr, len, writable);
		if (pin) {
			handle = handle_take(slot, pin);
			if (handle) {
				pin->refs++;
				goto out_unlock;
			}
			pin = NULL;
		}
	}
	for (i = 0; !rc && i != nr; i++) {
		const struct vma_info *v = &vmas[i];
		uint64_t lo = max_u64(v->start, uptr), hi = min_u64(v->end, end);

		if (vma_file_shared(v))
			rc = pieces_add_file(&pp, lo - uptr, &v->key, v->offset + (lo - v->start),
					     hi - lo, lo);
		else
			rc = pieces_add_private(&pp, lo - uptr, lo, hi - lo);
	}
	if (!rc) {
		pin = pin_shareable(&pp, uptr, len, writable);
		if (pin) {
			pin->refs++;
		} else {
			pin = pin_build(&pp, len, false, writable, uptr, NULL);
			if (pin && private && pin->nr_segs == 1)
				rec_hash_add(pin, uptr, writable);
		}
		handle = pin ? handle_take(slot, pin) : NULL;
		if (!handle) {
			rc = -ENOMEM;
			if (pin && rec_put_locked(pin, &free_list))
				dead = pin;
		}
	}
	pieces_release(&pp);
out_unlock:
	pthread_mutex_unlock(&inproc_pins_lock);
	free(vmas);
	inproc_shelters_free(free_list);
	if (dead)
		rec_free(dead);
	if (!rc)
		*out = handle;
	return rc;
}

struct host_file {
	int fd;
};

static int inproc_pin_file(struct uiommufd_host *host, struct host_file *file, uint64_t offset,
			   size_t len, bool writable, struct host_pin **out)
{
	struct host_pin *handle = NULL;
	struct pa_pieces pp = {};
	struct pin_rec *pin = NULL;
	struct file_key key;
	struct stat st;
	void *addr;
	int rc;

	if (!len || offset % host->page_size || len % host->page_size)
		return -EINVAL;
	if (fstat(file->fd, &st))
		return -EBADF;
	key = (struct file_key){ major(st.st_dev), minor(st.st_dev), st.st_ino };
	addr = inproc_sys_mmap(NULL, len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, file->fd,
			(off_t)offset);
	if (addr == MAP_FAILED)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	pthread_mutex_lock(&inproc_pins_lock);
	rc = pieces_add_file(&pp, 0, &key, offset, len, offset);
	if (!rc) {
		/* Our own mapping: the program cannot take it away. */
		handle = handle_new(NULL);
		pin = handle ? pin_build(&pp, len, true, writable, 0, addr) : NULL;
		if (!pin)
			rc = -ENOMEM;
		if (handle && !pin)
			handle_free(handle);
	}
	pieces_release(&pp);
	pthread_mutex_unlock(&inproc_pins_lock);
	if (rc) {
		inproc_sys_munmap(addr, len);
		return rc;
	}
	handle_set_rec(handle, pin);
	*out = handle;
	return 0;
}

static int inproc_pin_split(struct uiommufd_host *host, struct host_pin *handle, size_t offset,
			    struct host_pin **out)
{
	struct host_pin *back_handle;
	struct pin_rec *pin, *back;
	size_t i, j;
	int rc = -EINVAL;

	(void)host;
	pthread_mutex_lock(&inproc_pins_lock);
	pin = handle_rec(handle);
	i = inproc_seg_find(pin, offset);
	if (i == pin->nr_segs || offset == 0)
		goto out;
	rc = -ENOMEM;
	back_handle = handle_new(NULL);
	if (!back_handle)
		goto out;
	/* The other holders keep the whole range. */
	if (pin->refs > 1) {
		pin = rec_unshare(pin);
		if (!pin)
			goto out_handle;
		handle_set_rec(handle, pin);
	}
	if (offset != pin->segs[i]->offset) {
		rc = pin_seg_split(pin, i, offset - pin->segs[i]->offset);
		if (rc)
			goto out_handle;
		i++;
	}
	rc = -ENOMEM;
	/* A record's type is line aligned (its seg0), so its memory must be too. */
	back = aligned_alloc(64, sizeof(*back));
	if (!back)
		goto out_handle;
	memset(back, 0, sizeof(*back));
	back->segs = calloc(pin->nr_segs - i, sizeof(*back->segs));
	if (!back->segs) {
		free(back);
		goto out_handle;
	}
	back->len = pin->len - offset;
	back->file = pin->file;
	back->refs = 1;
	back->nr_segs = pin->nr_segs - i;
	for (j = i; j != pin->nr_segs; j++) {
		struct pin_seg *seg = pin->segs[j];

		seg->pin = back;
		seg->offset -= offset;
		back->segs[j - i] = seg;
	}
	pin->nr_segs = i;
	pin->len = offset;
	handle_set_rec(back_handle, back);
	*out = back_handle;
	pthread_mutex_unlock(&inproc_pins_lock);
	return 0;
out_handle:
	handle_free(back_handle);
out:
	pthread_mutex_unlock(&inproc_pins_lock);
	return rc;
}

static void inproc_unpin(struct uiommufd_host *host, struct host_pin *handle)
{
	struct shelter *free_list = NULL;
	struct pin_rec *pin;
	bool last;

	(void)host;
	pthread_mutex_lock(&inproc_pins_lock);
	pin = handle_rec(handle);
	handle_free(handle);
	last = rec_put_locked(pin, &free_list);
	pthread_mutex_unlock(&inproc_pins_lock);
	inproc_shelters_free(free_list);
	if (last)
		rec_free(pin);
}


/* ------------------------------------------------------------------ files */

static int inproc_file_get(struct uiommufd_host *host, int fd, struct host_file **out)
{
	struct host_file *file;
	int dup_fd;

	(void)host;
	if (fd < 0)
		return -EBADF;
	/* The kernel holds a file reference; we hold a descriptor. */
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 64);
	if (dup_fd < 0)
		return errno == EBADF ? -EBADF : -ENOMEM;
	file = calloc(1, sizeof(*file));
	if (!file) {
		close(dup_fd);
		return -ENOMEM;
	}
	file->fd = dup_fd;
	*out = file;
	return 0;
}

static void inproc_file_put(struct uiommufd_host *host, struct host_file *file)
{
	(void)host;
	close(file->fd);
	free(file);
}

/* Kernel memory for an exporter: a memfd above the program's usual fds. */
static int inproc_file_create(struct uiommufd_host *host, size_t len, struct host_file **out)
{
	struct host_file *file;
	int fd, hi;

	(void)host;
	fd = memfd_create("uiommufd-kmem", MFD_CLOEXEC);
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE ? -EMFILE : -ENOMEM;
	if (ftruncate(fd, (off_t)len)) {
		close(fd);
		return -ENOMEM;
	}
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 64);
	if (hi >= 0) {
		close(fd);
		fd = hi;
	}
	file = calloc(1, sizeof(*file));
	if (!file) {
		close(fd);
		return -ENOMEM;
	}
	file->fd = fd;
	*out = file;
	return 0;
}

static int inproc_file_mmap(struct uiommufd_host *host, struct host_file *file, void *addr,
			    size_t len, int prot, int flags, uint64_t offset, void **out)
{
	void *p;

	(void)host;
	p = mmap(addr, len, prot, flags, file->fd, (off_t)offset);
	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	return 0;
}

static void inproc_file_munmap(struct uiommufd_host *host, void *addr, size_t len)
{
	(void)host;
	munmap(addr, len);
}

static int64_t inproc_file_size(struct uiommufd_host *host, struct host_file *file)
{
	struct stat st;

	(void)host;
	if (fstat(file->fd, &st))
		return -errno;
	/* Only memory-like files can back DMA. */
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return -EINVAL;
	return st.st_size;
}

/* ------------------------------------------------------------- accounting */

static pthread_mutex_t account_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long locked_pages[3];

static int inproc_account(struct uiommufd_host *host, enum host_account_mode mode, long npages)
{
	unsigned long limit = ULONG_MAX;
	struct rlimit rl;
	int rc = 0;

	if (mode == HOST_ACCOUNT_NONE || mode > HOST_ACCOUNT_MM)
		return 0;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		limit = rl.rlim_cur / host->page_size;
	pthread_mutex_lock(&account_lock);
	if (npages < 0) {
		unsigned long n = (unsigned long)-npages;

		locked_pages[mode] -= n < locked_pages[mode] ? n : locked_pages[mode];
	} else if (locked_pages[mode] + (unsigned long)npages > limit) {
		rc = -ENOMEM;
	} else {
		locked_pages[mode] += (unsigned long)npages;
	}
	pthread_mutex_unlock(&account_lock);
	return rc;
}

unsigned long uiommufd_host_inproc_locked_pages(enum host_account_mode mode)
{
	unsigned long n;

	pthread_mutex_lock(&account_lock);
	n = mode <= HOST_ACCOUNT_MM ? locked_pages[mode] : 0;
	pthread_mutex_unlock(&account_lock);
	return n;
}

/*
 * Capabilities are asked on every IOAS_MAP (the charge mode of new pages),
 * and a capget per map would be a system call on the fastest path we have.
 * So each thread (capabilities are per thread) keeps the effective set it
 * last read, valid while the credentials generation has not moved.  The
 * shim moves it after every libc call that can change the effective set
 * (capset, prctl, the setuid family); a program that changes them by a raw
 * system call (syscall(SYS_capset, ...) included), or an embedding program
 * not under the shim, must call uiommufd_host_inproc_creds_changed().
 */
static atomic_ulong creds_gen = 1;
static __thread unsigned long caps_seen_gen __attribute__((tls_model("initial-exec"))); /* 0: none yet */
static __thread uint64_t caps_seen __attribute__((tls_model("initial-exec")));

void uiommufd_host_inproc_creds_changed(void)
{
	atomic_fetch_add_explicit(&creds_gen, 1, memory_order_release);
}

static bool inproc_capable(struct uiommufd_host *host, enum host_cap cap)
{
	unsigned long gen = atomic_load_explicit(&creds_gen, memory_order_acquire);
	unsigned int bit = cap == HOST_CAP_IPC_LOCK ? CAP_IPC_LOCK
			   : cap == HOST_CAP_SYS_RAWIO ? CAP_SYS_RAWIO
						       : CAP_SYS_RESOURCE;

	(void)host;
	if (caps_seen_gen != gen) {
		struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct data[2] = {};

		/* A failed read is "no capability", and is asked again next time. */
		if (syscall(SYS_capget, &hdr, data))
			return false;
		caps_seen = (uint64_t)data[1].effective << 32 | data[0].effective;
		caps_seen_gen = gen;
	}
	return caps_seen >> bit & 1;
}

static const struct host_ops inproc_ops = {
	.copy_from_user = inproc_copy_from_user,
	.copy_to_user = inproc_copy_to_user,
	.pin_user = inproc_pin_user,
	.pin_user_into = inproc_pin_user_into,
	.pin_file = inproc_pin_file,
	.pin_split = inproc_pin_split,
	.unpin = inproc_unpin,
	.pin_user_prefetch = inproc_pin_user_prefetch,
	.unpin_prefetch = inproc_unpin_prefetch,
	.pin_kaddr = inproc_pin_kaddr,
	.pin_rw = inproc_pin_rw,
	.pin_phys = inproc_pin_phys,
	.phys_kaddr = inproc_phys_kaddr,
	.phys_rw = inproc_phys_rw,
	.user_phys = inproc_user_phys,
	.page_pins = inproc_page_pins,
	.file_get = inproc_file_get,
	.file_put = inproc_file_put,
	.file_create = inproc_file_create,
	.file_size = inproc_file_size,
	.file_mmap = inproc_file_mmap,
	.file_munmap = inproc_file_munmap,
	.anon_fd = inproc_anon_fd,
	.anon_get = inproc_anon_get,
	.anon_put = inproc_anon_put,
	.anon_fd_file = inproc_anon_fd_file,
	.anon_set_readable = inproc_anon_set_readable,
	.anon_withdraw = inproc_anon_withdraw,
	.account = inproc_account,
	.capable = inproc_capable,
};

static struct uiommufd_host inproc_host = { .ops = &inproc_ops };

struct uiommufd_host *uiommufd_host_inproc(void)
{
	if (!inproc_host.page_size) {
		long ps = sysconf(_SC_PAGESIZE);

		inproc_host.page_size = ps > 0 ? (size_t)ps : 4096;
	}
	return &inproc_host;
}
