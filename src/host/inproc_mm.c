// SPDX-License-Identifier: MIT
/*
 * What the program does to pinned memory, as the in-process host keeps
 * the pins whole through it (inproc.c says what a pin is).  Before the
 * program unmaps, remaps or discards pinned memory, the shim calls
 * uiommufd_host_inproc_unmap_notify(), which moves the pinned pages aside
 * with mremap(MREMAP_DONTUNMAP) (no copy; the program's range stays
 * mapped, empty) and points the pins there; mremap() of pinned memory is
 * followed (uiommufd_host_inproc_remap_notify()); madvise() and mprotect()
 * go through uiommufd_host_inproc_madvise() and _mprotect().  Every move
 * happens behind the DMA gate, as the kernel's mmu notifiers bracket a
 * change to the page tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/host.h"
#include "host/inproc.h"
#include "host/inproc_int.h"
#include "host/inproc_pins.h"
#include "iommu/iommu.h"
#include "uiommufd.h"

/*
 * A PROT_NONE spot of @len bytes for a shelter, outside [avoid_lo,
 * avoid_hi): the program is about to unmap that range, holes and all, and
 * the kernel readily puts a new mapping in a hole there (one an earlier run
 * of the same unmap just left, say), which the program's unmap would then
 * take with our pages.  Spots that land inside stay mapped as blockers
 * until one lands outside.
 */
#define SHELTER_TRIES 8
static void *shelter_spot(size_t len, uint64_t avoid_lo, uint64_t avoid_hi)
{
	void *blocker[SHELTER_TRIES], *p;
	unsigned int nr = 0, i;

	for (;;) {
		p = inproc_sys_mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			     0);
		if (p == MAP_FAILED || (uintptr_t)p >= avoid_hi || (uintptr_t)p + len <= avoid_lo)
			break;
		if (nr == SHELTER_TRIES) {
			inproc_sys_munmap(p, len);
			p = MAP_FAILED;
			break;
		}
		blocker[nr++] = p;
	}
	for (i = 0; i != nr; i++)
		inproc_sys_munmap(blocker[i], len);
	return p;
}

/*
 * Move [lo, hi) aside and point every segment at it there.  Segments are
 * cut at the ends first: if a cut fails nothing moves.  The shelter goes
 * outside [avoid_lo, avoid_hi), the whole range being unmapped.
 */
static void shelter_run(uint64_t lo, uint64_t hi, uint64_t avoid_lo, uint64_t avoid_hi)
{
	struct seg_vec sv = {};
	struct shelter *s;
	void *moved;
	size_t k;

	if (inproc_segs_cut_at(lo) || inproc_segs_cut_at(hi) || inproc_segs_inside(lo, hi, &sv))
		goto untracked;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto untracked;
	/* Same-size mremap is a no-op unless told where: reserve a spot first. */
	moved = shelter_spot(hi - lo, avoid_lo, avoid_hi);
	if (moved != MAP_FAILED && inproc_sys_mremap_fixed((void *)(uintptr_t)lo, hi - lo, moved) ==
				       MAP_FAILED) {
		inproc_sys_munmap(moved, hi - lo);
		moved = MAP_FAILED;
	}
	if (moved == MAP_FAILED) {
		/* It spans several mappings, or memory ran out: leave it be. */
		free(s);
		goto untracked;
	}
	/*
	 * The mapping moved with the program's protection; a pin's device
	 * writes need stores whatever the program had (a read-only file
	 * mapping refuses and keeps read: its pins are read-only).
	 */
	if (syscall(SYS_mprotect, moved, hi - lo, PROT_READ | PROT_WRITE))
		syscall(SYS_mprotect, moved, hi - lo, PROT_READ);
	s->addr = moved;
	s->len = hi - lo;
	for (k = 0; k != sv.nr; k++) {
		struct pin_seg *seg = sv.v[k];

		itree_remove(&inproc_va_root, &seg->va_node);
		seg->at_uaddr = false;
		seg->kaddr = (uint8_t *)moved + (seg->uaddr - lo);
		seg->indirect = false;
		seg->shelter = s;
		s->refs++;
	}
	inproc_pa_changed();
	if (!s->refs) {
		inproc_sys_munmap(s->addr, s->len);
		free(s);
	}
	goto out;
untracked:
	/* Pins left at an address the program is about to change: records no longer vouch. */
	inproc_rec_hash_vouches = false;
out:
	free(sv.v);
}

struct run {
	uint64_t lo, hi;	/* hi exclusive */
};

struct run_vec {
	struct run *v;
	size_t nr, cap;
	uint64_t start, end;	/* clamp */
};

/* Segments come in start order: extend the last run or open one. */
static int run_add(struct run_vec *rv, uint64_t seg_lo, uint64_t seg_hi)
{
	uint64_t lo = max_u64(seg_lo, rv->start), hi = min_u64(seg_hi, rv->end);

	if (rv->nr && lo <= rv->v[rv->nr - 1].hi) {
		rv->v[rv->nr - 1].hi = max_u64(rv->v[rv->nr - 1].hi, hi);
		return 0;
	}
	if (rv->nr == rv->cap) {
		size_t cap = rv->cap ? 2 * rv->cap : 4;
		struct run *v = realloc(rv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		rv->v = v;
		rv->cap = cap;
	}
	rv->v[rv->nr++] = (struct run){ lo, hi };
	return 0;
}

static int collect_run(struct itree_node *n, void *arg)
{
	const struct pin_seg *seg = seg_of(n, va_node);

	return run_add(arg, seg->uaddr, seg->uaddr + seg->len);
}

/* As collect_run(), over physical addresses. */
static int collect_run_pa(struct itree_node *n, void *arg)
{
	const struct pin_seg *seg = seg_of(n, pa_node);

	return run_add(arg, seg->pa, seg->pa + seg->len);
}

/*
 * Move the pinned pages of [start, end) out of the program's way.  Each
 * maximal run of pinned pages moves once, with mremap (no copy).
 */
static void shelter_range(uint64_t start, uint64_t end)
{
	struct run_vec rv = { .start = start, .end = end };
	size_t i;

	if (!itree_visit(inproc_va_root, start, end, collect_run, &rv))
		for (i = 0; i != rv.nr; i++)
			shelter_run(rv.v[i].lo, rv.v[i].hi, start, end);
	else
		inproc_rec_hash_vouches = false;
	free(rv.v);
}

/*
 * Device DMA copies through the host address of pinned pages without any
 * lock, so pages are moved only behind the DMA gate, as the kernel's mmu
 * notifiers bracket a change to the page tables.  The gate also flushes the
 * device IOTLBs, which hold those addresses.
 */
void uiommufd_host_inproc_move_begin(void)
{
	iommu_dma_gate_begin();
}

void uiommufd_host_inproc_move_end(void)
{
	iommu_dma_gate_end();
}

void uiommufd_host_inproc_unmap_notify(void *addr, size_t length)
{
	uint64_t start = (uintptr_t)addr, end;

	if (!length || __builtin_add_overflow(start, (uint64_t)length, &end))
		return;
	uiommufd_host_inproc_move_begin();
	pthread_mutex_lock(&inproc_pins_lock);
	if (inproc_va_root)
		shelter_range(start, end);
	pthread_mutex_unlock(&inproc_pins_lock);
	uiommufd_host_inproc_move_end();
}

void uiommufd_host_inproc_remap_notify(void *old, size_t size, void *new_addr)
{
	uint64_t lo = (uintptr_t)old, hi, delta = (uintptr_t)new_addr - lo;
	struct seg_vec sv = {};
	size_t k;

	if (!size || __builtin_add_overflow(lo, (uint64_t)size, &hi))
		return;
	pthread_mutex_lock(&inproc_pins_lock);
	/*
	 * A failed cut leaves the straddling segment out: it is not wholly
	 * inside, and stays where the pages no longer are.
	 */
	if (inproc_segs_cut_at(lo) | inproc_segs_cut_at(hi) | inproc_segs_inside(lo, hi, &sv))
		inproc_rec_hash_vouches = false;
	for (k = 0; k != sv.nr; k++) {
		struct pin_seg *seg = sv.v[k];

		/* The pages went with the mapping; the pin follows, their address stays. */
		itree_remove(&inproc_va_root, &seg->va_node);
		seg->uaddr += delta;
		/* In integers: a move down wraps @delta, which a pointer may not do. */
		seg->kaddr = (uint8_t *)((uintptr_t)seg->kaddr + delta);
		itree_insert(&inproc_va_root, &seg->va_node, seg->uaddr, seg->uaddr + seg->len);
	}
	if (sv.nr)
		inproc_pa_changed();
	pthread_mutex_unlock(&inproc_pins_lock);
	free(sv.v);
}

/* --------------------------------------------------------------- madvise */

/*
 * The file pages at physical [lo, hi) are punched out of their file
 * (MADV_REMOVE) while pins hold them.  The kernel's pinned pages outlive
 * the hole and the file gets new pages; here the pins get a private copy,
 * made from @src, which maps the pages now.  Every segment of those pages
 * points at the copy, whichever mapping or file pin it came through.
 */
static void shelter_copy(uint64_t lo, uint64_t hi, uint64_t src, struct shelter **free_list)
{
	struct seg_vec sv = {};
	struct shelter *s;
	void *copy;
	size_t k;

	if (inproc_segs_cut(true, lo) || inproc_segs_cut(true, hi) ||
	    itree_visit(inproc_pa_root, lo, hi, inproc_collect_pa, &sv))
		goto out;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto out;
	copy = inproc_sys_mmap(NULL, hi - lo, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy == MAP_FAILED ||
	    inproc_guarded_copy(copy, (const void *)(uintptr_t)src, hi - lo, src, false)) {
		/* Out of memory, or not readable: the pins keep following the file. */
		if (copy != MAP_FAILED)
			inproc_sys_munmap(copy, hi - lo);
		free(s);
		goto out;
	}
	s->addr = copy;
	s->len = hi - lo;
	for (k = 0; k != sv.nr; k++) {
		struct pin_seg *seg = sv.v[k];

		if (seg->at_uaddr) {
			itree_remove(&inproc_va_root, &seg->va_node);
			seg->at_uaddr = false;
		}
		inproc_seg_leave_shelter(seg, free_list);
		seg->shelter = s;
		s->refs++;
		seg->kaddr = (uint8_t *)copy + (seg->pa - lo);
		seg->indirect = false;
		seg->writable = true;
	}
	inproc_pa_changed();
out:
	free(sv.v);
}

/*
 * MADV_REMOVE of [lo, hi) of shared file VMA @v: copy out what pins hold
 * of it.  The window then retires, so that the file's new pages get new
 * addresses: pages of the window pinned again get new ones too, a split
 * the kernel does not have, but no two pages ever share one.
 */
static void shelter_removed(const struct vma_info *v, uint64_t lo, uint64_t hi,
			    struct shelter **free_list)
{
	uint64_t foff = v->offset + (lo - v->start);
	struct run_vec rv = {};
	size_t i;

	while (lo < hi) {
		uint64_t in = foff & (PA_WINDOW_SIZE - 1), n = min_u64(hi - lo, PA_WINDOW_SIZE - in);
		struct pa_window *w = inproc_window_get(&v->key, foff >> PA_WINDOW_SHIFT, false);

		rv.nr = 0;
		if (w) {
			rv.start = inproc_window_pa(w) + in;
			rv.end = rv.start + n;
			if (!itree_visit(inproc_pa_root, rv.start, rv.end, collect_run_pa, &rv))
				for (i = 0; i != rv.nr; i++)
					shelter_copy(rv.v[i].lo, rv.v[i].hi,
						     lo + (rv.v[i].lo - rv.start), free_list);
			if (rv.nr)
				w->chunk = UINT64_MAX;	/* matches no file offset */
		}
		lo += n;
		foff += n;
	}
	free(rv.v);
}

static bool advice_zaps(int advice)
{
	return advice == MADV_DONTNEED || advice == MADV_DONTNEED_LOCKED;
}

bool uiommufd_host_inproc_advice_discards(int advice)
{
	return advice_zaps(advice) || advice == MADV_FREE || advice == MADV_REMOVE;
}

/* MADV_FREE of the pages of [start, end) no pin holds. */
static int madvise_free_unpinned(uint64_t start, uint64_t end)
{
	struct run_vec rv = { .start = start, .end = end };
	uint64_t at = start;
	size_t i;
	int rc = 0, one;

	pthread_mutex_lock(&inproc_pins_lock);
	one = itree_visit(inproc_va_root, start, end, collect_run, &rv);
	pthread_mutex_unlock(&inproc_pins_lock);
	if (one) {
		free(rv.v);
		return -ENOMEM;
	}
	for (i = 0; i <= rv.nr; i++) {
		uint64_t to = i == rv.nr ? end : rv.v[i].lo;

		one = to > at ? (int)syscall(SYS_madvise, at, to - at, MADV_FREE) : 0;
		if (one && !rc)
			rc = -errno;
		if (i != rv.nr)
			at = rv.v[i].hi;
	}
	free(rv.v);
	return rc;
}

int uiommufd_host_inproc_madvise(void *addr, size_t length, int advice)
{
	uint64_t start = (uintptr_t)addr, end, page = uiommufd_host_inproc()->page_size;
	struct shelter *free_list = NULL;
	struct vma_info *vmas = NULL;
	size_t nr = 0, i;
	long rc;

	/* Arguments the kernel refuses change nothing: let it say so. */
	if (start % page || __builtin_add_overflow(start, (uint64_t)length + page - 1, &end) ||
	    !length || !uiommufd_host_inproc_advice_discards(advice))
		goto pass;
	end &= ~(page - 1);
	if (end <= start)
		goto pass;
	/* A pinned page is never freed while pinned: the program keeps it. */
	if (advice == MADV_FREE)
		return madvise_free_unpinned(start, end);
	if (inproc_user_vmas(start, end, false, true, &vmas, &nr)) {
		inproc_pins_untracked();
		goto pass;
	}
	uiommufd_host_inproc_move_begin();
	pthread_mutex_lock(&inproc_pins_lock);
	for (i = 0; i != nr; i++) {
		const struct vma_info *v = &vmas[i];
		uint64_t lo = max_u64(v->start, start), hi = min_u64(v->end, end);

		/* A shared page stays the file's: the program faults the same page back. */
		if (advice_zaps(advice) && !vma_file_shared(v) && inproc_va_root)
			shelter_range(lo, hi);
		else if (advice == MADV_REMOVE && vma_file_shared(v) && v->write && inproc_pa_root)
			shelter_removed(v, lo, hi, &free_list);
	}
	pthread_mutex_unlock(&inproc_pins_lock);
	uiommufd_host_inproc_move_end();
	inproc_shelters_free(free_list);
	free(vmas);
pass:
	rc = syscall(SYS_madvise, addr, length, advice);
	return rc ? -errno : 0;
}

bool uiommufd_host_inproc_range_pinned(void *addr, size_t length)
{
	uint64_t start = (uintptr_t)addr, end;
	bool pinned;

	if (!length || __builtin_add_overflow(start, (uint64_t)length, &end))
		return false;
	pthread_mutex_lock(&inproc_pins_lock);
	pinned = itree_visit(inproc_va_root, start, end, inproc_pa_taken, NULL);
	pthread_mutex_unlock(&inproc_pins_lock);
	return pinned;
}

/* -------------------------------------------------------------- mprotect */

/*
 * mprotect() changes what the program may do with its pages, never what a
 * pin may: the kernel's device keeps writing a pinned page the program
 * made read-only, and keeps reading one made PROT_NONE, and the program
 * sees those writes through its read-only mapping.  Here the core reaches
 * pinned pages through the program's own address, which after mprotect
 * would fault.  So before the protection drops:
 *
 *  - shared memory (a file, shmem, memfd, shared anonymous): mremap() with
 *    old size 0 maps the same pages once more, read-write; the pins move
 *    there and leave the user-address index (nothing the program does to
 *    that range later concerns them);
 *  - private memory has no second mapping: its segments are marked
 *    indirect and copies go through /proc/self/mem, which reaches the
 *    program's pages whatever their protection (as ptrace does), until the
 *    protection comes back or the pages move aside.
 *
 * The program's mapping itself is never changed.
 */
static void *protect_alias(const struct vma_info *v, uint64_t lo, uint64_t hi)
{
	void *alias = (void *)syscall(SYS_mremap, (void *)(uintptr_t)lo, 0, hi - lo,
				      MREMAP_MAYMOVE);

	if (alias != MAP_FAILED && v->write)
		syscall(SYS_mprotect, alias, hi - lo, PROT_READ | PROT_WRITE);
	return alias;
}

static bool any_writable(const struct seg_vec *sv)
{
	size_t k;

	for (k = 0; k != sv->nr; k++)
		if (sv->v[k]->writable)
			return true;
	return false;
}

/* The pinned run [lo, hi) of VMA @v is about to get protection @prot. */
static void protect_run(const struct vma_info *v, uint64_t lo, uint64_t hi, int prot)
{
	bool full = (prot & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE);
	struct seg_vec sv = {};
	struct shelter *s;
	void *alias;
	size_t k;

	if (inproc_segs_cut_at(lo) || inproc_segs_cut_at(hi) || inproc_segs_inside(lo, hi, &sv)) {
		/* Pins that should have gone indirect did not: records no longer vouch. */
		inproc_rec_hash_vouches = false;
		goto out;
	}
	if (!sv.nr)
		goto out;
	if (!v->shared) {
		/* Indirect while the program's protection is short of a pin's needs. */
		bool need = !full && (!(prot & PROT_READ) || any_writable(&sv));

		for (k = 0; k != sv.nr; k++)
			sv.v[k]->indirect = need;
		inproc_pa_changed();
		goto out;
	}
	/* Read-only pins lose nothing to a read-only program mapping. */
	if (full || ((prot & PROT_READ) && !any_writable(&sv)))
		goto out;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto out;
	alias = protect_alias(v, lo, hi);
	if (alias == MAP_FAILED) {
		free(s);
		goto out;
	}
	s->addr = alias;
	s->len = hi - lo;
	for (k = 0; k != sv.nr; k++) {
		struct pin_seg *seg = sv.v[k];

		itree_remove(&inproc_va_root, &seg->va_node);
		seg->at_uaddr = false;
		seg->kaddr = (uint8_t *)alias + (seg->uaddr - lo);
		seg->shelter = s;
		s->refs++;
	}
	inproc_pa_changed();
out:
	free(sv.v);
}

int uiommufd_host_inproc_mprotect(void *addr, size_t length, int prot)
{
	uint64_t start = (uintptr_t)addr, end, page = uiommufd_host_inproc()->page_size;
	struct vma_info *vmas = NULL;
	size_t nr = 0, i, r;
	long rc;

	/* Arguments the kernel refuses change nothing: let it say so. */
	if (start % page || !length ||
	    __builtin_add_overflow(start, (uint64_t)length + page - 1, &end))
		goto pass;
	end &= ~(page - 1);
	if (end <= start)
		goto pass;
	if (inproc_user_vmas(start, end, false, true, &vmas, &nr)) {
		inproc_pins_untracked();
		goto pass;
	}
	uiommufd_host_inproc_move_begin();
	pthread_mutex_lock(&inproc_pins_lock);
	for (i = 0; i != nr && inproc_va_root; i++) {
		struct run_vec rv = { .start = max_u64(vmas[i].start, start),
				      .end = min_u64(vmas[i].end, end) };

		if (!itree_visit(inproc_va_root, rv.start, rv.end, collect_run, &rv))
			for (r = 0; r != rv.nr; r++)
				protect_run(&vmas[i], rv.v[r].lo, rv.v[r].hi, prot);
		else
			inproc_rec_hash_vouches = false;
		free(rv.v);
	}
	pthread_mutex_unlock(&inproc_pins_lock);
	uiommufd_host_inproc_move_end();
	free(vmas);
pass:
	rc = syscall(SYS_mprotect, addr, length, prot);
	return rc ? -errno : 0;
}
