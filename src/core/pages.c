// SPDX-License-Identifier: MIT
/*
 * The memory behind areas: iopt_pages, pinning and accounting.
 *
 * An iopt_pages is one run of source memory (user addresses or a file
 * range) in PAGE_SIZE indexes, shared by every area that maps part of it.
 * Nothing is pinned when it is created.  Pages are pinned when something
 * needs them to stay put (a domain being filled, an access), and each page
 * is pinned once however many users want it.  Two span trees (span_tree.h)
 * of page indexes hold what is pinned, so the bookkeeping grows with what
 * is pinned, never with the size of the mapping, and every lookup is
 * O(log n):
 *   runs  the host pins, each over a run of indexes;
 *   uses  how many users pin each page, as segments of equal counts.
 * Every page in @uses is in @runs; a page may be in @runs with no users
 * only when releasing it needed a host split that failed.  Indexes use
 * inclusive `last` bounds throughout.
 *
 * The common case has no trees at all: an area over pages of its own pins
 * every index once, for one user, and unpins them all together.  That pin
 * is kept in @whole, with both trees empty, so a vIOMMU's map and unmap
 * make no nodes and read none (each would be a cache miss of its own).
 * Anything else done to such pages first turns @whole into the one run
 * and the one use it stands for (whole_expand()).
 *
 * Accounting follows the pins: pages are charged when first pinned and
 * uncharged when last unpinned, in the mode the pages were created with
 * (none with CAP_IPC_LOCK, else per user, or per process for VFIO-style
 * contexts).  As in the kernel, the charge is taken after the pin, and a
 * charge past RLIMIT_MEMLOCK undoes the pin: ENOMEM, nothing held.
 *
 * Destroy never fails.  Releasing part of a pinned run needs the host to
 * split its pin; if that cannot be done the pages stay pinned, still
 * recorded in @runs, until the whole run is released.
 */
#include <stdlib.h>
#include <string.h>

#include "core/io_pagetable.h"
#include "iommu/iommu.h"

enum iopt_address_type {
	IOPT_ADDRESS_USER,
	IOPT_ADDRESS_FILE,
};

/*
 * One host pin over the indexes of its node.  @gen is the number of the
 * pin call that made it, so that a call failing half way takes back its
 * own runs and nothing else.
 */
struct pin_run {
	struct span_node node;
	struct host_pin *pin;
	unsigned long gen;
};

/*
 * Indexes that the same number of users pin.  Equal neighbours are kept as
 * one segment unless an outstanding pin starts or ends between them:
 * @head_refs counts the pins whose first index is this segment's first,
 * @tail_refs those whose last index is its last.  Keeping those edges
 * means an unpin always finds segment edges where it starts and ends, so
 * releasing never needs memory.
 */
struct pin_use {
	struct span_node node;
	unsigned int users;
	unsigned int head_refs;
	unsigned int tail_refs;
};

/* What file pages hold besides the rest (IOPT_ADDRESS_FILE), kept aside. */
struct pages_file {
	struct host_file *file;
	uint64_t start;			/* page aligned offset */
	struct iommufd_dmabuf *dmabuf;	/* set for dma-buf files: file is its */
	struct host_anon *dmabuf_ref;
};

/*
 * Eighty bytes: with its area in front (PAIR_LEAD), a single-page map is
 * two cache lines, which an unmap among many areas fetches cold.  The
 * host is the context's; a file's extras are a pointer away.
 */
struct iopt_pages {
	unsigned int refs;
	uint8_t type;			/* enum iopt_address_type */
	uint8_t account_mode;		/* enum iopt_account_mode */
	bool writable;
	bool with_area;			/* an area sits right before us (pair_cache) */
	struct iommufd_ctx *ictx;	/* whose host and caches this and its nodes use */
	union {
		uint64_t uptr;		/* IOPT_ADDRESS_USER: page aligned */
		struct pages_file *f;	/* IOPT_ADDRESS_FILE */
	};
	unsigned long npages;

	struct span_tree runs;		/* of pin_run */
	struct span_tree uses;		/* of pin_use */
	struct host_pin *whole;		/* every index pinned for one user; trees empty */
	struct host_pin_slot whole_slot;	/* where @whole's handle lives, if the host can */
	unsigned long npinned;		/* pages covered by runs (or by @whole) */
	unsigned long pin_gen;		/* pin calls so far */
};

/* The area of a pair leads, rounded so the pages after it stay aligned. */
#define PAIR_LEAD ((sizeof(struct iopt_area) + 15) & ~(size_t)15)

size_t iopt_pages_with_area_size(void)
{
	return PAIR_LEAD + sizeof(struct iopt_pages);
}
_Static_assert(PAIR_LEAD + sizeof(struct iopt_pages) == IOPT_PAIR_BYTES,
	       "an area with its pages is IOPT_PAIR_BYTES (io_pagetable.h)");

static inline struct uiommufd_host *pages_host(const struct iopt_pages *pages)
{
	return pages->ictx->host;
}

struct iopt_area *iopt_pages_area(struct iopt_pages *pages)
{
	return pages->with_area ? (struct iopt_area *)((char *)pages - PAIR_LEAD) : NULL;
}

/* A zeroed pages object, alone or behind an area of its own. */
static struct iopt_pages *pages_zalloc(struct iommufd_ctx *ictx, bool with_area)
{
	char *mem;

	if (iommufd_should_fail())
		return NULL;
	if (!with_area) {
		struct iopt_pages *alone = slab_zalloc(&ictx->pages_cache);

		if (alone)
			alone->ictx = ictx;
		return alone;
	}
	mem = slab_zalloc(&ictx->pair_cache);
	if (!mem)
		return NULL;
	((struct iopt_pages *)(mem + PAIR_LEAD))->ictx = ictx;
	((struct iopt_pages *)(mem + PAIR_LEAD))->with_area = true;
	return (struct iopt_pages *)(mem + PAIR_LEAD);
}

static void pages_free(struct iopt_pages *pages)
{
	if (pages->with_area)
		slab_free(&pages->ictx->pair_cache, (char *)pages - PAIR_LEAD);
	else
		slab_free(&pages->ictx->pages_cache, pages);
}

size_t iopt_pages_pin_node_size(void)
{
	return sizeof(struct pin_run) > sizeof(struct pin_use) ? sizeof(struct pin_run) :
								  sizeof(struct pin_use);
}

/*
 * Run and use nodes come from the context's cache (slab.h), not malloc: a
 * vIOMMU's map and unmap make and drop one of each, and the cache's are
 * a third of the instructions and sit on huge pages.  _may_fail is the
 * allocation fault injection reaches (the pin path); the release path
 * asks without it, as it always has.
 */
static void *pin_node_alloc(struct iopt_pages *pages)
{
	return slab_zalloc(&pages->ictx->pin_node_cache);
}

static void *pin_node_alloc_may_fail(struct iopt_pages *pages)
{
	return iommufd_should_fail() ? NULL : pin_node_alloc(pages);
}

static void pin_node_free(struct iopt_pages *pages, void *node)
{
	slab_free(&pages->ictx->pin_node_cache, node);
}

static struct iopt_pages *iopt_alloc_pages(struct iommufd_ctx *ictx, unsigned long start_byte,
					   unsigned long length, bool writable, bool with_area)
{
	struct iopt_pages *pages;

	/* size_t lengths, and the round up below, must not overflow. */
	if (length > SIZE_MAX - PAGE_SIZE || length == 0)
		return ERR_PTR(-EINVAL);

	pages = pages_zalloc(ictx, with_area);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	pages->refs = 1;
	pages->npages = (length + start_byte + PAGE_SIZE - 1) / PAGE_SIZE;
	pages->writable = writable;
	if (ictx->host->ops->capable(ictx->host, HOST_CAP_IPC_LOCK))
		pages->account_mode = IOPT_PAGES_ACCOUNT_NONE;
	else if (ictx->account_mode == IOPT_PAGES_ACCOUNT_MM)
		pages->account_mode = IOPT_PAGES_ACCOUNT_MM;
	else
		pages->account_mode = IOPT_PAGES_ACCOUNT_USER;
	return pages;
}

static struct iopt_pages *alloc_user_pages(struct iommufd_ctx *ictx, uint64_t uptr,
					   unsigned long length, bool writable, bool with_area)
{
	unsigned long start_byte = uptr % PAGE_SIZE;
	struct iopt_pages *pages;
	uint64_t end;

	if (!length)
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(uptr, (uint64_t)length, &end))
		return ERR_PTR(-EOVERFLOW);

	pages = iopt_alloc_pages(ictx, start_byte, length, writable, with_area);
	if (IS_ERR(pages))
		return pages;
	pages->type = IOPT_ADDRESS_USER;
	pages->uptr = uptr - start_byte;
	return pages;
}

struct iopt_pages *iopt_alloc_user_pages(struct iommufd_ctx *ictx, uint64_t uptr,
					 unsigned long length, bool writable)
{
	return alloc_user_pages(ictx, uptr, length, writable, false);
}

struct iopt_pages *iopt_alloc_user_pages_with_area(struct iommufd_ctx *ictx, uint64_t uptr,
						   unsigned long length, bool writable)
{
	return alloc_user_pages(ictx, uptr, length, writable, true);
}

struct iopt_pages *iopt_alloc_file_pages(struct iommufd_ctx *ictx, struct host_file *file,
					 unsigned long start, unsigned long length,
					 bool writable)
{
	unsigned long start_down = start - start % PAGE_SIZE;
	struct iopt_pages *pages;
	struct pages_file *f;
	unsigned long end;

	if (length && check_add_overflow(start, length - 1, &end))
		return ERR_PTR(-EOVERFLOW);

	pages = iopt_alloc_pages(ictx, start - start_down, length, writable, false);
	if (IS_ERR(pages))
		return pages;
	f = iommufd_zalloc(sizeof(*f));
	if (!f) {
		iopt_put_pages(pages);	/* nothing pinned, no file held yet: frees it alone */
		return ERR_PTR(-ENOMEM);
	}
	f->file = file;
	f->start = start_down;
	pages->type = IOPT_ADDRESS_FILE;
	pages->f = f;
	return pages;
}

struct iopt_pages *iopt_alloc_dmabuf_pages(struct iommufd_ctx *ictx,
					   struct iommufd_dmabuf *dmabuf, struct host_anon *ref,
					   unsigned long start, unsigned long length, bool writable)
{
	struct iopt_pages *pages;

	pages = iopt_alloc_file_pages(ictx, dmabuf->file, start, length, writable);
	if (IS_ERR(pages))
		return pages;
	/* Device memory is never charged. */
	pages->account_mode = IOPT_PAGES_ACCOUNT_NONE;
	pages->f->dmabuf = dmabuf;
	pages->f->dmabuf_ref = ref;
	return pages;
}

struct iommufd_dmabuf *iopt_pages_dmabuf(const struct iopt_pages *pages)
{
	return pages->type == IOPT_ADDRESS_FILE ? pages->f->dmabuf : NULL;
}

size_t iopt_pages_struct_size(void)
{
	return sizeof(struct iopt_pages);
}

void iopt_get_pages_ref(struct iopt_pages *pages)
{
	pages->refs++;
}

static void iopt_release_pages(struct iopt_pages *pages)
{
	struct uiommufd_host *host = pages_host(pages);

	if (pages->whole)
		host->ops->unpin(host, pages->whole);
	while (!span_tree_empty(&pages->runs)) {
		struct pin_run *run = container_of(pages->runs.root, struct pin_run, node);

		span_remove(&pages->runs, &run->node);
		host->ops->unpin(host, run->pin);
		pin_node_free(pages, run);
	}
	while (!span_tree_empty(&pages->uses)) {
		struct pin_use *use = container_of(pages->uses.root, struct pin_use, node);

		span_remove(&pages->uses, &use->node);
		pin_node_free(pages, use);
	}
	if (pages->npinned && pages->account_mode != IOPT_PAGES_ACCOUNT_NONE)
		host->ops->account(host, (enum host_account_mode)pages->account_mode,
				   -(long)pages->npinned);
	if (pages->type == IOPT_ADDRESS_FILE) {
		if (pages->f->dmabuf)
			host->ops->anon_put(host, pages->f->dmabuf_ref);
		else
			host->ops->file_put(host, pages->f->file);
		free(pages->f);
	}
	pages_free(pages);
}

void iopt_put_pages(struct iopt_pages *pages)
{
	if (--pages->refs == 0)
		iopt_release_pages(pages);
}

bool iopt_pages_writable(const struct iopt_pages *pages)
{
	return pages->writable;
}

unsigned long iopt_pages_npages(const struct iopt_pages *pages)
{
	return pages->npages;
}

uint64_t iopt_pages_source_start(const struct iopt_pages *pages)
{
	return pages->type == IOPT_ADDRESS_USER ? pages->uptr : pages->f->start;
}

unsigned long iopt_pages_npinned(const struct iopt_pages *pages)
{
	return pages->npinned;
}

static struct pin_run *run_at(const struct iopt_pages *pages, unsigned long first,
			      unsigned long last)
{
	struct span_node *n = span_first(&pages->runs, first, last);

	return n ? container_of(n, struct pin_run, node) : NULL;
}

static struct pin_use *use_at(const struct iopt_pages *pages, unsigned long first,
			      unsigned long last)
{
	struct span_node *n = span_first(&pages->uses, first, last);

	return n ? container_of(n, struct pin_use, node) : NULL;
}

/* Give @n new bounds: out of the tree and back, so its summaries follow. */
static void reshape(struct span_tree *t, struct span_node *n, unsigned long first,
		    unsigned long last)
{
	span_remove(t, n);
	n->start = first;
	n->last = last;
	span_insert(t, n);
}

static int host_pin_index_range(struct iopt_pages *pages, unsigned long first,
				unsigned long last, struct host_pin **out)
{
	struct uiommufd_host *host = pages_host(pages);
	size_t len = (last - first + 1) * PAGE_SIZE;

	if (pages->type == IOPT_ADDRESS_USER)
		return host->ops->pin_user(host, pages->uptr + first * PAGE_SIZE, len,
					   pages->writable, out);
	return host->ops->pin_file(host, pages->f->file, pages->f->start + first * PAGE_SIZE, len,
				   pages->writable, out);
}

static void pages_uncharge(struct iopt_pages *pages, unsigned long npages)
{
	struct uiommufd_host *host = pages_host(pages);

	if (pages->account_mode != IOPT_PAGES_ACCOUNT_NONE)
		host->ops->account(host, (enum host_account_mode)pages->account_mode,
				   -(long)npages);
}

/*
 * Turn @whole into the run and the use it stands for, so the trees can
 * take a pin or an unpin of part of the pages.  -ENOMEM, nothing changed;
 * @may_fail: whether allocation fault injection reaches it.
 */
static int whole_expand(struct iopt_pages *pages, bool may_fail)
{
	struct pin_run *run;
	struct pin_use *use;

	if (!pages->whole)
		return 0;
	run = may_fail ? pin_node_alloc_may_fail(pages) : pin_node_alloc(pages);
	use = run ? (may_fail ? pin_node_alloc_may_fail(pages) : pin_node_alloc(pages)) : NULL;
	if (!use) {
		pin_node_free(pages, run);
		return -ENOMEM;
	}
	run->pin = pages->whole;
	run->gen = pages->pin_gen;	/* an earlier call's: no failing pin takes it back */
	run->node.start = 0;
	run->node.last = pages->npages - 1;
	span_insert(&pages->runs, &run->node);
	use->users = 1;
	use->head_refs = 1;
	use->tail_refs = 1;
	use->node.start = 0;
	use->node.last = pages->npages - 1;
	span_insert(&pages->uses, &use->node);
	pages->whole = NULL;
	return 0;
}

/* The first pin of pages nothing pins, over all of them: into @whole. */
static int whole_pin(struct iopt_pages *pages)
{
	struct uiommufd_host *host = pages_host(pages);
	struct host_pin *pin;
	int rc;

	pages->pin_gen++;
	/*
	 * The handle in our own memory when the host can: an unpin then finds
	 * it in the lines an unmap has fetched already.  Free, since no run can
	 * hold it while the trees are empty.
	 */
	if (pages->type == IOPT_ADDRESS_USER && host->ops->pin_user_into) {
		pin = (struct host_pin *)&pages->whole_slot;
		rc = host->ops->pin_user_into(host, pages->uptr, pages->npages * PAGE_SIZE,
					      pages->writable, &pages->whole_slot);
	} else {
		rc = host_pin_index_range(pages, 0, pages->npages - 1, &pin);
	}
	if (rc)
		return rc;
	if (pages->account_mode != IOPT_PAGES_ACCOUNT_NONE) {
		rc = host->ops->account(host, (enum host_account_mode)pages->account_mode,
					(long)pages->npages);
		if (rc) {
			host->ops->unpin(host, pin);
			return rc;
		}
	}
	pages->whole = pin;
	pages->npinned = pages->npages;
	return 0;
}

/* The host pin holding @index and the first index it holds, or NULL. */
static struct host_pin *pin_holding(const struct iopt_pages *pages, unsigned long index,
				    unsigned long *first)
{
	const struct pin_run *run;

	if (pages->whole) {
		*first = 0;
		return index < pages->npages ? pages->whole : NULL;
	}
	run = run_at(pages, index, index);
	if (!run)
		return NULL;
	*first = run->node.start;
	return run->pin;
}

/* ---------------------------------------------------------- host pins */

/*
 * Pin, through the host, every hole of @runs inside [first, last], each
 * hole one run tagged @gen.  *@newly gets the pages pinned.  On failure
 * the runs made so far stay, for runs_drop_gen() to take back.
 */
static int runs_fill(struct iopt_pages *pages, unsigned long first, unsigned long last,
		     unsigned long gen, unsigned long *newly)
{
	unsigned long cur = first;

	for (;;) {
		struct pin_run *run = run_at(pages, cur, last), *fresh;
		unsigned long hole_last;
		int rc;

		if (run && run->node.start <= cur) {
			if (run->node.last >= last)
				return 0;
			cur = run->node.last + 1;
			continue;
		}
		hole_last = run ? run->node.start - 1 : last;
		fresh = pin_node_alloc_may_fail(pages);
		if (!fresh)
			return -ENOMEM;
		rc = host_pin_index_range(pages, cur, hole_last, &fresh->pin);
		if (rc) {
			pin_node_free(pages, fresh);
			return rc;
		}
		fresh->gen = gen;
		fresh->node.start = cur;
		fresh->node.last = hole_last;
		span_insert(&pages->runs, &fresh->node);
		pages->npinned += hole_last - cur + 1;
		*newly += hole_last - cur + 1;
		if (hole_last == last)
			return 0;
		cur = hole_last + 1;
	}
}

/* Undo runs_fill(): unpin the runs of call @gen inside [first, last]. */
static void runs_drop_gen(struct iopt_pages *pages, unsigned long first, unsigned long last,
			  unsigned long gen)
{
	struct pin_run *run = run_at(pages, first, last), *next;

	for (; run; run = next) {
		next = run->node.last < last ? run_at(pages, run->node.last + 1, last) : NULL;
		if (run->gen != gen)
			continue;
		span_remove(&pages->runs, &run->node);
		pages->npinned -= run->node.last - run->node.start + 1;
		pages_host(pages)->ops->unpin(pages_host(pages), run->pin);
		pin_node_free(pages, run);
	}
}

/*
 * Unpin the indexes [first, last], which lie inside @run.  The run's host
 * pin is split around them; if a split cannot be made (or the node for a
 * back piece cannot be had), what could not be cut off stays pinned and
 * recorded, to go with the whole iopt_pages.
 */
static void run_release(struct iopt_pages *pages, struct pin_run *run, unsigned long first,
			unsigned long last)
{
	struct uiommufd_host *host = pages_host(pages);
	unsigned long run_first = run->node.start, run_last = run->node.last;
	struct host_pin *mid = run->pin, *back;
	struct pin_run *tail = NULL;

	if (first > run_first) {
		/* A cut in the middle leaves a back piece needing a node. */
		if (last < run_last) {
			tail = pin_node_alloc_may_fail(pages);
			if (!tail)
				return;
		}
		if (host->ops->pin_split(host, run->pin, (first - run_first) * PAGE_SIZE, &mid)) {
			pin_node_free(pages, tail);
			return;
		}
		reshape(&pages->runs, &run->node, run_first, first - 1);
	} else {
		/* The run goes; its node serves the back piece, if any. */
		span_remove(&pages->runs, &run->node);
		tail = run;
	}
	pages->npinned -= run_last - first + 1;
	/* mid now holds [first, run_last] and is not in the run tree. */
	if (last < run_last) {
		unsigned long keep_first = last + 1;

		if (host->ops->pin_split(host, mid, (last - first + 1) * PAGE_SIZE, &back)) {
			back = mid;
			keep_first = first;
			mid = NULL;
		}
		tail->pin = back;
		tail->node.start = keep_first;
		tail->node.last = run_last;
		span_insert(&pages->runs, &tail->node);
		pages->npinned += run_last - keep_first + 1;
		if (!mid)
			return;
	} else {
		pin_node_free(pages, tail);
	}
	host->ops->unpin(host, mid);
	pages_uncharge(pages, last - first + 1);
}

/* ----------------------------------------------------------- user counts */

/*
 * How many new segments uses_add() needs for [first, last]: one per hole
 * in the segments there, one per segment edge cut at either end.
 */
static size_t uses_nodes_needed(const struct iopt_pages *pages, unsigned long first,
				unsigned long last)
{
	struct pin_use *use = use_at(pages, first, last);
	unsigned long cur = first;
	size_t need = 0;

	if (use && use->node.start < first)
		need++;
	for (; use; use = use_at(pages, cur, last)) {
		if (use->node.start > cur)
			need++;
		if (use->node.last >= last)
			return need + (use->node.last > last);
		cur = use->node.last + 1;
	}
	return need + 1;
}

static struct pin_use *spare_take(struct pin_use **spare)
{
	struct pin_use *use = *spare;

	*spare = use->node.left ? container_of(use->node.left, struct pin_use, node) : NULL;
	use->node.left = NULL;
	return use;
}

/*
 * Cut @use, which covers [a, b] with a < @at <= b, so that @rhs covers
 * [at, b]: the pins ending at b now end in @rhs, those starting at a
 * still start in @use.
 */
static void use_split(struct iopt_pages *pages, struct pin_use *use, unsigned long at,
		      struct pin_use *rhs)
{
	rhs->users = use->users;
	rhs->head_refs = 0;
	rhs->tail_refs = use->tail_refs;
	rhs->node.start = at;
	rhs->node.last = use->node.last;
	use->tail_refs = 0;
	reshape(&pages->uses, &use->node, use->node.start, at - 1);
	span_insert(&pages->uses, &rhs->node);
}

/* One more user of [first, last]; @spare holds exactly the nodes needed. */
static void uses_add(struct iopt_pages *pages, unsigned long first, unsigned long last,
		     struct pin_use **spare)
{
	struct pin_use *use = use_at(pages, first, first);
	unsigned long cur = first;

	if (use && use->node.start < first)
		use_split(pages, use, first, spare_take(spare));
	use = use_at(pages, last, last);
	if (use && use->node.last > last)
		use_split(pages, use, last + 1, spare_take(spare));

	/* Every segment meeting [first, last] now lies inside it. */
	for (use = use_at(pages, first, last);; use = use_at(pages, cur, last)) {
		if (!use || use->node.start > cur) {
			struct pin_use *hole = spare_take(spare);

			hole->node.start = cur;
			hole->node.last = use ? use->node.start - 1 : last;
			hole->users = 1;
			span_insert(&pages->uses, &hole->node);
			if (!use)
				break;
		}
		use->users++;
		if (use->node.last >= last)
			break;
		cur = use->node.last + 1;
	}
	use_at(pages, first, first)->head_refs++;
	use_at(pages, last, last)->tail_refs++;
}

/* Join the segments either side of @at into one if nothing keeps them apart. */
static void uses_try_join(struct iopt_pages *pages, unsigned long at)
{
	struct pin_use *lhs, *rhs;
	unsigned long end;
	unsigned int tail;

	if (!at)
		return;
	lhs = use_at(pages, at - 1, at - 1);
	rhs = use_at(pages, at, at);
	if (!lhs || !rhs || lhs == rhs)
		return;
	if (lhs->users != rhs->users || lhs->tail_refs || rhs->head_refs)
		return;
	end = rhs->node.last;
	tail = rhs->tail_refs;
	span_remove(&pages->uses, &rhs->node);
	pin_node_free(pages, rhs);
	reshape(&pages->uses, &lhs->node, lhs->node.start, end);
	lhs->tail_refs = tail;
}

/*
 * Make @at the first index of a segment, as if an outstanding pin ended
 * just before it and another started there (an area split in two).
 */
int iopt_pages_pin_cut(struct iopt_pages *pages, unsigned long at)
{
	struct pin_use *use, *lhs;

	if (!at || at >= pages->npages)
		return -EINVAL;
	if (whole_expand(pages, true))
		return -ENOMEM;
	use = use_at(pages, at, at);
	lhs = use_at(pages, at - 1, at - 1);
	if (!use || !lhs)
		return 0;	/* an edge of what is pinned already */
	if (use == lhs) {
		struct pin_use *rhs = pin_node_alloc_may_fail(pages);

		if (!rhs)
			return -ENOMEM;
		use_split(pages, use, at, rhs);
		use = rhs;
	}
	lhs->tail_refs++;
	use->head_refs++;
	return 0;
}

struct first_hole {
	unsigned long first, last;
};

static int note_first_hole(void *arg, unsigned long first, unsigned long last)
{
	struct first_hole *h = arg;

	h->first = first;
	h->last = last;
	return 1;
}

/*
 * Pin the indexes [start_index, last_index] for one more user.  Pages no
 * user held yet are pinned through the host and charged.  On failure
 * nothing changes.
 */
int iopt_pages_pin(struct iopt_pages *pages, unsigned long start_index,
		   unsigned long last_index)
{
	struct uiommufd_host *host = pages_host(pages);
	struct pin_use *spare = NULL;
	unsigned long newly = 0, gen;
	size_t need, k;
	int rc;

	if (start_index > last_index || last_index >= pages->npages)
		return -EINVAL;
	if (!pages->whole && span_tree_empty(&pages->runs) && start_index == 0 &&
	    last_index == pages->npages - 1)
		return whole_pin(pages);
	rc = whole_expand(pages, true);
	if (rc)
		return rc;

	/* Every node first: past the host pins nothing may fail but the charge. */
	need = uses_nodes_needed(pages, start_index, last_index);
	for (k = 0; k < need; k++) {
		struct pin_use *use = pin_node_alloc_may_fail(pages);

		if (!use) {
			rc = -ENOMEM;
			goto free_spare;
		}
		use->node.left = spare ? &spare->node : NULL;
		spare = use;
	}

	gen = ++pages->pin_gen;
	rc = runs_fill(pages, start_index, last_index, gen, &newly);
	if (rc)
		goto drop_runs;
	if (newly && pages->account_mode != IOPT_PAGES_ACCOUNT_NONE) {
		rc = host->ops->account(host, (enum host_account_mode)pages->account_mode,
					(long)newly);
		if (rc)
			goto drop_runs;
	}
	uses_add(pages, start_index, last_index, &spare);
	return 0;

drop_runs:
	runs_drop_gen(pages, start_index, last_index, gen);
free_spare:
	while (spare)
		pin_node_free(pages, spare_take(&spare));
	return rc;
}

/*
 * Drop one user of [start_index, last_index] and unpin what nobody uses.
 * Unpinning part of a segment (more than was pinned, or a part of it)
 * needs a node; without one that segment keeps its user.
 */
void iopt_pages_unpin(struct iopt_pages *pages, unsigned long start_index,
		      unsigned long last_index)
{
	unsigned long cur = start_index;
	struct pin_use *use, *next;
	struct pin_run *run;

	if (start_index > last_index || last_index >= pages->npages)
		return;
	if (pages->whole && start_index == 0 && last_index == pages->npages - 1) {
		pages_host(pages)->ops->unpin(pages_host(pages), pages->whole);
		pages->whole = NULL;
		pages->npinned = 0;
		pages_uncharge(pages, pages->npages);
		return;
	}
	/* Part of @whole: without the nodes to cut it, it keeps its user. */
	if (whole_expand(pages, false) || span_tree_empty(&pages->runs))
		return;

	use = use_at(pages, start_index, start_index);
	if (use && use->node.start < start_index) {
		struct pin_use *rhs = pin_node_alloc(pages);

		if (rhs)
			use_split(pages, use, start_index, rhs);
	}
	use = use_at(pages, last_index, last_index);
	if (use && use->node.last > last_index) {
		struct pin_use *rhs = pin_node_alloc(pages);

		if (rhs)
			use_split(pages, use, last_index + 1, rhs);
	}
	use = use_at(pages, start_index, start_index);
	if (use && use->node.start == start_index && use->head_refs)
		use->head_refs--;
	use = use_at(pages, last_index, last_index);
	if (use && use->node.last == last_index && use->tail_refs)
		use->tail_refs--;

	for (use = use_at(pages, start_index, last_index); use; use = next) {
		next = use->node.last < last_index ?
			       use_at(pages, use->node.last + 1, last_index) : NULL;
		if (use->node.start < start_index || use->node.last > last_index)
			continue;	/* could not be cut: keeps its user */
		if (--use->users)
			continue;
		span_remove(&pages->uses, &use->node);
		pin_node_free(pages, use);
	}
	uses_try_join(pages, start_index);
	if (last_index + 1 < pages->npages)
		uses_try_join(pages, last_index + 1);

	/* Release the pinned pages of [start_index, last_index] nobody uses. */
	while ((run = run_at(pages, cur, last_index))) {
		unsigned long lo = max_t(unsigned long, cur, run->node.start);
		unsigned long hi = min_t(unsigned long, run->node.last, last_index);
		struct first_hole hole;

		if (!span_each_gap(&pages->uses, lo, hi, 1, note_first_hole, &hole)) {
			if (hi == last_index)
				break;
			cur = hi + 1;
			continue;
		}
		run_release(pages, run, hole.first, hole.last);
		if (hole.last == last_index)
			break;
		cur = hole.last + 1;
	}
}

/*
 * An area of these pages is leaving: when they hold one pin for all of
 * them, start fetching what letting go of it reads.  An unmap calls this as soon as
 * it knows, so the fetch overlaps taking the area out of the index and
 * the domains.
 */
void iopt_pages_unpin_prefetch(const struct iopt_pages *pages)
{
	struct uiommufd_host *host;

	if (!pages->whole)
		return;	/* nothing pinned: no domain, or partial pins only */
	host = pages_host(pages);
	if (host->ops->unpin_prefetch)
		host->ops->unpin_prefetch(host, pages->whole);
}

void iopt_user_pin_prefetch(struct iommufd_ctx *ictx, uint64_t uptr, unsigned long len,
			    bool writable)
{
	struct uiommufd_host *host = ictx->host;
	uint64_t first = uptr - uptr % PAGE_SIZE, end;

	if (!host->ops->pin_user_prefetch || !len ||
	    check_add_overflow(uptr, (uint64_t)len + PAGE_SIZE - 1, &end))
		return;
	end -= end % PAGE_SIZE;
	host->ops->pin_user_prefetch(host, first, end - first, writable);
}

void *iopt_pages_kaddr(struct iopt_pages *pages, unsigned long index)
{
	unsigned long first;
	struct host_pin *pin = pin_holding(pages, index, &first);

	if (!pin)
		return NULL;
	return pages_host(pages)->ops->pin_kaddr(pages_host(pages), pin, (index - first) * PAGE_SIZE);
}

bool iopt_pages_is_file(const struct iopt_pages *pages)
{
	return pages->type == IOPT_ADDRESS_FILE;
}

uint64_t iopt_pages_phys(struct iopt_pages *pages, unsigned long byte, size_t *len)
{
	unsigned long first;
	struct host_pin *pin = pin_holding(pages, byte / PAGE_SIZE, &first);

	if (!pin) {
		*len = 0;
		return 0;
	}
	return pages_host(pages)->ops->pin_phys(pages_host(pages), pin, byte - first * PAGE_SIZE, len);
}

/* Copy @n bytes at @byte (inside one page) through the pin that holds them. */
static int iopt_pages_rw_pinned(struct iopt_pages *pages, unsigned long byte, void *data,
				size_t n, bool write)
{
	unsigned long first;
	struct host_pin *pin = pin_holding(pages, byte / PAGE_SIZE, &first);

	if (!pin)
		return -EFAULT;
	return pages_host(pages)->ops->pin_rw(pages_host(pages), pin, byte - first * PAGE_SIZE, data, n,
					write);
}

/*
 * Copy through pins: required for files, and the way every copy goes when
 * the caller asks for the slow path.  The pages are pinned for the copy.
 */
static int iopt_pages_rw_slow(struct iopt_pages *pages, unsigned long start_byte, uint8_t *data,
			      unsigned long length, bool write)
{
	unsigned long first = start_byte / PAGE_SIZE;
	unsigned long last = (start_byte + length - 1) / PAGE_SIZE;
	int rc;

	rc = iopt_pages_pin(pages, first, last);
	if (rc)
		return rc;
	while (length) {
		unsigned long offset = start_byte % PAGE_SIZE;
		unsigned long n = min_t(unsigned long, length, PAGE_SIZE - offset);
		uint8_t *kaddr = iopt_pages_kaddr(pages, start_byte / PAGE_SIZE);

		if (!kaddr) {
			/* The program's protection hides the page: the host copies. */
			rc = iopt_pages_rw_pinned(pages, start_byte, data, n, write);
			if (rc)
				break;
		} else if (write) {
			memcpy(kaddr + offset, data, n);
		} else {
			memcpy(data, kaddr + offset, n);
		}
		data += n;
		start_byte += n;
		length -= n;
	}
	iopt_pages_unpin(pages, first, last);
	return rc;
}

/*
 * The fast path's copy at user address @uptr.  The pages a pin holds at
 * their user address (a domain is filled, say) are the user's memory, and
 * the host keeps them in place while a DMA reader is in: those are copied
 * with a plain memcpy, no fault guard and no check of the user's mapping,
 * in one piece per run of such pages.  What is not pinned there (never
 * pinned, moved aside, hidden by mprotect) goes through copy_to_user() and
 * copy_from_user() as before, from the first such page on, so faults and
 * EFAULT are the kernel's.
 */
static int iopt_pages_rw_user(struct iopt_pages *pages, uint64_t uptr, uint8_t *data,
			      unsigned long length, bool write)
{
	struct uiommufd_host *host = pages_host(pages);
	unsigned long done = 0;
	bool reading;

	/* Under the context lock: registering is allowed, and later calls skip it. */
	iommu_dma_reader_register();
	reading = iommu_dma_read_begin_locked();
	while (done < length) {
		uint64_t at = uptr + done;
		unsigned long index = (unsigned long)(at - pages->uptr) / PAGE_SIZE;
		uint64_t page = at - (at - pages->uptr) % PAGE_SIZE;

		if ((uintptr_t)iopt_pages_kaddr(pages, index) != (uintptr_t)page)
			break;
		done += (unsigned long)min_t(uint64_t, length - done, page + PAGE_SIZE - at);
	}
	if (done) {
		if (write)
			memcpy((void *)(uintptr_t)uptr, data, done);
		else
			memcpy(data, (const void *)(uintptr_t)uptr, done);
	}
	if (reading)
		iommu_dma_read_end();
	if (done == length)
		return 0;
	if (write)
		return copy_to_user(host, uptr + done, data + done, length - done);
	return copy_from_user(host, data + done, uptr + done, length - done);
}

/*
 * ACCESS_RW without its bounce: between the user buffer at @ubuf and the
 * pages' own user memory, with the host's user copy.  Only when nothing
 * but that copy can fail: every page of the range pinned at its user
 * address, the two ranges apart (overlapping, the bounce's result
 * differs), and for a write every page of the buffer readable a moment
 * before.  The kernel reads the whole buffer before it writes IOVA memory,
 * so a buffer that faults goes the bounce's way and leaves that memory as
 * it was; only another thread unmapping the buffer during the call can
 * still leave part of it written.  -EAGAIN: not done, bounce.
 */
int iopt_pages_rw_user_direct(struct iopt_pages *pages, unsigned long start_byte, uint64_t ubuf,
			      unsigned long length, unsigned int flags)
{
	struct uiommufd_host *host = pages_host(pages);
	bool write = flags & IOMMUFD_ACCESS_RW_WRITE;
	uint64_t mem = pages->uptr + start_byte, at;
	int rc = -EAGAIN;
	bool reading;

	if (pages->type != IOPT_ADDRESS_USER || !length ||
	    (flags & __IOMMUFD_ACCESS_RW_SLOW_PATH) || (write && !pages->writable) ||
	    ubuf + length < ubuf || (ubuf < mem + length && mem < ubuf + length))
		return -EAGAIN;
	for (at = ubuf; write && at < ubuf + length; at = (at | (PAGE_SIZE - 1)) + 1) {
		uint8_t probe;

		if (copy_from_user(host, &probe, at, 1))
			return -EAGAIN;
	}
	/* Under the context lock: registering is allowed, and later calls skip it. */
	iommu_dma_reader_register();
	reading = iommu_dma_read_begin_locked();
	for (at = mem - mem % PAGE_SIZE; at < mem + length; at += PAGE_SIZE)
		if ((uintptr_t)iopt_pages_kaddr(pages, (unsigned long)(at - pages->uptr) / PAGE_SIZE) !=
		    (uintptr_t)at)
			goto out;
	if (write)
		rc = copy_from_user(host, (void *)(uintptr_t)mem, ubuf, length);
	else
		rc = copy_to_user(host, ubuf, (const void *)(uintptr_t)mem, length);
out:
	if (reading)
		iommu_dma_read_end();
	return rc;
}

int iopt_pages_rw_access(struct iopt_pages *pages, unsigned long start_byte, void *data,
			 unsigned long length, unsigned int flags)
{
	bool write = flags & IOMMUFD_ACCESS_RW_WRITE;
	uint64_t uptr;

	if (iopt_pages_dmabuf(pages))
		return -EINVAL;	/* device memory has no CPU path */
	if (write && !pages->writable)
		return -EPERM;
	if (pages->type == IOPT_ADDRESS_FILE || (flags & __IOMMUFD_ACCESS_RW_SLOW_PATH))
		return iopt_pages_rw_slow(pages, start_byte, data, length, write);

	/* As the kernel's fast path: the source memory, pinned or not. */
	uptr = pages->uptr + start_byte;
	return iopt_pages_rw_user(pages, uptr, data, length, write);
}
