/* SPDX-License-Identifier: MIT */
/*
 * The in-process host's pin records, between inproc.c (pins, physical
 * addresses), inproc_phys.c (reaching pinned memory) and inproc_mm.c (what
 * the program does to pinned memory).
 * Everything here is under inproc_pins_lock.
 */
#ifndef UIOMMUFD_HOST_INPROC_PINS_H
#define UIOMMUFD_HOST_INPROC_PINS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/inproc_int.h"
#include "host/itree.h"

/* Physical address space: see the file comment. */
#define PA_ALIAS_BASE (1ULL << 49)
#define PA_ALIAS_END (1ULL << 50)
#define PA_ALIAS_ALIGN (1ULL << 21)	/* aliases keep a 2 MiB page's offset */
#define PA_WINDOW_BASE (1ULL << 50)
#define PA_WINDOW_SHIFT 40
#define PA_WINDOW_SIZE (1ULL << PA_WINDOW_SHIFT)
#define PA_NR_WINDOWS ((size_t)(((1ULL << 51) - PA_WINDOW_BASE) >> PA_WINDOW_SHIFT))

#define seg_of(node, member) \
	((struct pin_seg *)((char *)(node) - offsetof(struct pin_seg, member)))

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Memory moved out of the program's way, shared by the pins into it. */
struct shelter {
	void *addr;
	size_t len;
	unsigned int refs;
	struct shelter *next_free;	/* on a list to unmap once unlocked */
};

/* The physical window of one TiB (@chunk) of one file. */
struct pa_window {
	struct file_key key;
	uint64_t chunk;
	unsigned long refs;	/* segments in it; at 0 it stays until its slot is needed */
};

/*
 * A pin lookup (rec_hash_find(), pin_phys) reads the fields up to and
 * including @indirect, which sit in the first line of seg0 (pin_rec);
 * the rest are read only when the segment changes.
 */
struct pin_seg {
	struct pin_rec *pin;
	size_t offset;		/* into the pin */
	size_t len;
	uint64_t uaddr;		/* where the program had it (user pins) */
	uint8_t *kaddr;		/* where the core reaches it */
	uint64_t pa;		/* physical address of the first byte */
	struct shelter *shelter; /* set once moved out of the program's way */
	bool at_uaddr;		/* a user pin's pages still at @uaddr: in inproc_va_root */
	bool writable;		/* @kaddr takes stores: the pin was writable */
	/*
	 * The program's protection (mprotect) keeps the core from @kaddr, its
	 * own private mapping: copies go through /proc/self/mem (mem_rw()).
	 */
	bool indirect;
	uint8_t *own;		/* a file pin's piece of its own mapping, unmapped with it */
	struct pa_window *win;	/* the window @pa lies in, referenced; NULL if none */
	struct itree_node pa_node;	/* in inproc_pa_root */
	struct itree_node va_node;	/* in inproc_va_root while @at_uaddr */
};

/*
 * What is pinned: the segments of one range.  Pinning the very same range
 * again (a page mapped at many IOVAs) takes another reference on the
 * record, as the kernel takes another reference on the page, instead of a
 * second set of segments: O(log n) to find, and no bookkeeping but the
 * handle.  What happens to the pages (moves, protection) happens to every
 * holder alike, so it may reshape a shared record; what one holder does
 * (split) may not: that holder first gets a copy of its own (rec_unshare()).
 */
struct pin_rec {
	size_t len;
	bool file;
	bool hashed;		/* in rec_hash, under @hval */
	unsigned long refs;	/* handles on it */
	struct pin_seg **segs;	/* by offset; &@one_seg while there is one */
	size_t nr_segs;
	struct pin_rec *hnext;	/* rec_hash chain */
	uint64_t hval;
	struct pin_seg *one_seg;
	/*
	 * The first segment of a record made by rec_alloc(), in the same
	 * block: a lookup reads the record and its segment at once, not one
	 * miss after the other.  It never moves to another record.  The
	 * record is line aligned (rec_alloc()), so what a lookup reads is
	 * the two lines PIN_REC_HOT_BYTES covers.
	 */
	struct pin_seg seg0 __attribute__((aligned(64)));
};

#define PIN_REC_HOT_BYTES (offsetof(struct pin_rec, seg0) + offsetof(struct pin_seg, own))
_Static_assert(PIN_REC_HOT_BYTES <= 128, "a pin lookup reads two lines of its record");

struct seg_vec {
	struct pin_seg **v;
	size_t nr, cap;
};

extern pthread_mutex_t inproc_pins_lock;
extern struct itree_node *inproc_pa_root;	/* every segment, by physical address */
extern struct itree_node *inproc_va_root;	/* user segments still at their user address */
/* Whether a record rec_hash finds vouches for the program's map (inproc.c). */
extern bool inproc_rec_hash_vouches;

/* Records no longer vouch for the map: a change to pinned memory went unrecorded. */
void inproc_pins_untracked(void);
/* pa_root or a kaddr changed: cached resolutions are stale. */
void inproc_pa_changed(void);
/* The window of @key's TiB @chunk; with @make, one is made (NULL when none is left). */
struct pa_window *inproc_window_get(const struct file_key *key, uint64_t chunk, bool make);
/* The physical address of @w's first byte. */
uint64_t inproc_window_pa(const struct pa_window *w);
/* itree_visit() callbacks: stop at any segment; collect segments by PA into a seg_vec. */
int inproc_pa_taken(struct itree_node *n, void *arg);
int inproc_collect_pa(struct itree_node *n, void *arg);
/*
 * Cut the segments straddling @addr there: user addresses, or physical
 * ones with @by_pa (inproc_segs_cut_at(): user).  0 or -ENOMEM.
 */
int inproc_segs_cut(bool by_pa, uint64_t addr);
int inproc_segs_cut_at(uint64_t addr);
/* The user segments lying wholly inside [lo, hi), into @sv.  0 or -ENOMEM. */
int inproc_segs_inside(uint64_t lo, uint64_t hi, struct seg_vec *sv);
/* Drop @seg's shelter reference; a shelter left unused goes on *@free_list. */
void inproc_seg_leave_shelter(struct pin_seg *seg, struct shelter **free_list);
/* Unmap the shelters of @free_list, outside inproc_pins_lock. */
void inproc_shelters_free(struct shelter *free_list);
/* munmap(2) and a same-size mremap(2) to @to, past the shim. */
int inproc_sys_munmap(void *addr, size_t len);
void *inproc_sys_mremap_fixed(void *old, size_t len, void *to);

/*
 * What the core holds: one handle per pin, so every pin is told apart
 * (unpin, split) while records are shared.  Handles come from slabs of
 * HANDLES_PER_SLAB (inproc.c) and go back on a free list, never to
 * malloc: a pin of a page pinned already costs 8 bytes.
 */
struct host_pin {
	union {
		uintptr_t word;	/* the record; | HANDLE_IN_SLOT for one in the caller's slot */
		struct host_pin *next_free;
	};
};

/*
 * A handle made by pin_user_into() lives in the caller's memory: it is
 * marked so, in the low bit of its record's address, and never goes on
 * the free list.
 */
#define HANDLE_IN_SLOT ((uintptr_t)1)
_Static_assert(sizeof(struct host_pin) == sizeof(struct host_pin_slot), "a handle fits a slot");

static inline struct pin_rec *handle_rec(const struct host_pin *h)
{
	return (struct pin_rec *)(h->word & ~HANDLE_IN_SLOT);
}

static inline void handle_set_rec(struct host_pin *h, struct pin_rec *rec)
{
	h->word = (uintptr_t)rec | (h->word & HANDLE_IN_SLOT);
}

/* For inproc_phys.c: cached resolutions are good while this has not moved (inproc.c). */
extern atomic_ulong inproc_pa_gen;
/* The index of the segment holding byte @offset of @pin, or nr_segs. */
static inline size_t inproc_seg_find(const struct pin_rec *pin, size_t offset)
{
	size_t lo = 0, hi = pin->nr_segs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pin_seg *seg = pin->segs[mid];

		if (offset < seg->offset)
			hi = mid;
		else if (offset - seg->offset >= seg->len)
			lo = mid + 1;
		else
			return mid;
	}
	return pin->nr_segs;
}

/* The ops that reach pinned memory (inproc_phys.c). */
void *inproc_pin_kaddr(struct uiommufd_host *host, struct host_pin *handle, size_t offset);
int inproc_pin_rw(struct uiommufd_host *host, struct host_pin *handle, size_t offset, void *buf,
		  size_t len, bool write);
uint64_t inproc_pin_phys(struct uiommufd_host *host, struct host_pin *handle, size_t offset,
			 size_t *len);
void *inproc_phys_kaddr(struct uiommufd_host *host, uint64_t pa, bool write, size_t *len);
int inproc_phys_rw(struct uiommufd_host *host, uint64_t pa, void *buf, size_t len, bool write);
int inproc_user_phys(struct uiommufd_host *host, uint64_t uaddr, uint64_t *pa);
long inproc_page_pins(struct uiommufd_host *host, uint64_t uaddr);

#endif
