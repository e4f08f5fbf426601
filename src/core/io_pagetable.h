/* SPDX-License-Identifier: MIT */
/*
 * The IOVA space of an IOAS and the pages behind it.
 *
 * An io_pagetable holds three sets of IOVA ranges, all with inclusive
 * `last` bounds:
 *   areas     what is mapped; never overlapping; each area points at a range
 *             of an iopt_pages;
 *   allowed   ranges the user declared with IOAS_ALLOW_IOVAS; automatic
 *             IOVAs come only from these when there are any, and nothing
 *             may reserve inside them;
 *   reserved  ranges nothing may be mapped in (device regions, apertures,
 *             test reservations), each with an owner so an owner's set can
 *             be removed at once; they may overlap one another.
 * Areas live in a B+tree (iova_btree.h) and reserved ranges, which may
 * overlap, in a span tree (span_tree.h), so mapping, unmapping and every
 * lookup cost O(log n) however many areas a vIOMMU shadows, with few cache
 * misses even for a million areas; the widest-hole summaries make choosing
 * an automatic IOVA a pruned descent rather than a walk over every hole.
 * Allowed ranges are only ever replaced as a whole, so they stay a sorted
 * array searched by bisection.
 *
 * An iopt_pages is one run of user or file memory split in PAGE_SIZE
 * indexes.  Areas in any number of IOAS share it (IOAS_COPY) through its
 * reference count, so a page is pinned and charged once however many areas
 * and domains use it.
 */
#ifndef UIOMMUFD_CORE_IO_PAGETABLE_H
#define UIOMMUFD_CORE_IO_PAGETABLE_H

#include "core/iommufd_private.h"
#include "core/iova_btree.h"
#include "core/span_tree.h"
#include "iommu/iommu.h"

struct iopt_pages;
struct iommu_domain;
struct iommufd_access;

struct iopt_area {
	unsigned long iova;
	unsigned long last;		/* inclusive */
	struct iopt_pages *pages;
	unsigned long start_byte;	/* where iova sits in pages */
	int iommu_prot;
	unsigned int num_accesses;	/* access pins inside the area */
	unsigned int num_locks;		/* internal access pins: unmap is EBUSY */
	bool filled;			/* pinned and mapped in every domain */
	bool prevent_access;		/* accesses are being told to unpin */
	bool with_pages;		/* made with its pages: its memory goes with theirs */
};

/*
 * An area made with its pages (a single map's usual case) is one object
 * of this many bytes, two cache lines (pages.c).
 */
#define IOPT_PAIR_BYTES 128

struct iopt_span {
	unsigned long start;
	unsigned long last;		/* inclusive */
};

struct iopt_reserved {
	struct span_node node;		/* [start, last] in the reserved tree */
	const void *owner;
};

struct io_pagetable {
	struct iova_btree areas;	/* of iopt_area, by IOVA */
	size_t nr_areas;

	struct iopt_span *allowed;	/* sorted by start, disjoint */
	size_t nr_allowed;

	struct span_tree reserved;	/* of iopt_reserved, may overlap */
	size_t nr_reserved;

	/* Paging domains that mirror the IOAS; every area is mapped in each. */
	struct iommu_domain **domains;
	size_t nr_domains;

	/* Accesses attached to the IOAS, told when pinned IOVA is unmapped. */
	struct iommufd_access **accesses;
	size_t nr_accesses;

	unsigned long iova_alignment;
	bool disable_large_pages;

	/*
	 * What lets an unmap decide from the index alone (iopt_unmap_range):
	 * how many areas an access pins inside, and how many are over file
	 * or dma-buf pages, whose release the user can see.
	 */
	size_t nr_held_areas;
	size_t nr_file_areas;
	struct iommufd_ctx *ictx;	/* its areas live in ictx->area_cache */

	/*
	 * The area the last user copy of an access went through, good while
	 * the index's generation is still @access_gen: an emulated device's
	 * copies keep landing in the same area of guest memory.  Under the
	 * context lock, as every access copy is.
	 */
	struct iopt_area *access_area;
	unsigned long access_gen;
};

static inline unsigned long iopt_area_iova(const struct iopt_area *area)
{
	return area->iova;
}

static inline unsigned long iopt_area_last(const struct iopt_area *area)
{
	return area->last;
}

static inline unsigned long iopt_area_length(const struct iopt_area *area)
{
	return area->last - area->iova + 1;
}

/* The lowest area meeting [first, last], or NULL. */
struct iopt_area *iopt_area_iter_first(const struct io_pagetable *iopt, unsigned long first,
				       unsigned long last);
/* The area after @area meeting [.., last], or NULL. */
struct iopt_area *iopt_area_iter_next(const struct io_pagetable *iopt,
				      const struct iopt_area *area, unsigned long last);

/* One piece of pages to map, in order (IOAS_COPY may gather several). */
struct iopt_pages_list {
	unsigned long start_byte;	/* where the piece starts in @pages */
	unsigned long length;
	struct iopt_pages *pages;
};

/* ---- the table (io_pagetable.c) */

/* @how for iopt_map_*(): the table chooses the IOVA */
#define IOPT_ALLOC_IOVA 0x1u

/* Areas and area-tree nodes come from @ictx's caches. */
void iopt_init_table(struct io_pagetable *iopt, struct iommufd_ctx *ictx);
/* Unmaps everything; cannot fail. */
void iopt_destroy_table(struct io_pagetable *iopt);
/* Unpin and free every area an unmap left for later (iommufd_ctx.late). */
void iopt_late_drain(struct iommufd_ctx *ictx);

/*
 * Mapping.  *@iova is the fixed IOVA, or the chosen one on return with
 * IOPT_ALLOC_IOVA in @how.  All or nothing.
 */
int iopt_map_user_pages(struct iommufd_ctx *ctx, struct io_pagetable *iopt, unsigned long *iova,
			uint64_t uva, unsigned long len, int prot, unsigned int how);
/* Consumes @file: the mapping's pages hold it, or it is dropped. */
int iopt_map_file_pages(struct iommufd_ctx *ctx, struct io_pagetable *iopt, unsigned long *iova,
			struct host_file *file, unsigned long offset, unsigned long len, int prot,
			unsigned int how);
/* Consumes @ref likewise.  Mapped as MMIO. */
int iopt_map_dmabuf_pages(struct iommufd_ctx *ctx, struct io_pagetable *iopt, unsigned long *iova,
			  struct iommufd_dmabuf *buf, struct host_anon *ref, unsigned long offset,
			  unsigned long len, int prot, unsigned int how);
/* Map @npieces pieces back to back, @total bytes; the pieces keep their references. */
int iopt_map_pages(struct io_pagetable *iopt, struct iopt_pages_list *pieces, size_t npieces,
		   unsigned long total, unsigned long *iova, int prot, unsigned int how);
/* The pages behind [from, from + len), each piece referenced (IOAS_COPY). */
int iopt_get_pages(struct io_pagetable *iopt, unsigned long from, unsigned long len,
		   struct iopt_pages_list **pieces, size_t *npieces);
void iopt_free_pages_list(struct iopt_pages_list *pieces, size_t npieces);
/* Whole areas only; *@gone gets the bytes removed, also on failure. */
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long start, unsigned long len,
		    unsigned long *gone);
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *gone);
/* Split areas so each of @cuts is the last byte of one (VFIO type1). */
int iopt_cut_iova(struct io_pagetable *iopt, const unsigned long *cuts, size_t ncuts);
/* Pull every area of @buf out of the IOAS's domains (revoke). */
void iopt_revoke_dmabuf(struct io_pagetable *iopt, struct iommufd_dmabuf *buf);

/*
 * Allowed and reserved IOVA.  @spans: sorted by start, disjoint; owned by
 * the table on success.
 */
int iopt_set_allow_iova(struct io_pagetable *iopt, struct iopt_span *spans, size_t n);
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long first, unsigned long last,
		      const void *who);
/* Drop every reserved range of @who. */
void iopt_remove_reserved_iova(struct io_pagetable *iopt, const void *who);
/*
 * Walk the holes of the reserved ranges over [0, ULONG_MAX], which is
 * what IOAS_IOVA_RANGES reports.  @visit returns non-zero to stop.
 */
int iopt_for_each_iova_hole(struct io_pagetable *iopt,
			    int (*visit)(void *opaque, unsigned long first, unsigned long last),
			    void *opaque);

/* Huge pages: off makes every IOPTE PAGE_SIZE and the alignment PAGE_SIZE. */
int iopt_disable_large_pages(struct io_pagetable *iopt);
void iopt_enable_large_pages(struct io_pagetable *iopt);

/* ---- domains: the IOAS mirrored into IOMMU page tables */

int iopt_table_add_domain(struct io_pagetable *iopt, struct iommu_domain *dom);
void iopt_table_remove_domain(struct io_pagetable *iopt, struct iommu_domain *dom);
/* The reserved regions of @dev become reserved IOVA, owned by @dev. */
int iopt_table_enforce_dev_resv_regions(struct io_pagetable *iopt, struct device *dev);
int iopt_set_dirty_tracking(struct io_pagetable *iopt, struct iommu_domain *dom, bool on);
/* Set the bit of every dirty @pgshift granule of [iova, iova + len) in @ubitmap. */
int iopt_read_and_clear_dirty_data(struct io_pagetable *iopt, struct iommu_domain *dom,
				   unsigned int flags, unsigned long iova, unsigned long len,
				   unsigned int pgshift, struct uiommufd_host *host,
				   uint64_t ubitmap);

/* ---- accesses (device.c holds the iommufd_access side) */

/* Flags of an access read or write, and of a pin */
enum iommufd_access_rw_flags {
	IOMMUFD_ACCESS_RW_READ = 0x0,
	IOMMUFD_ACCESS_RW_WRITE = 0x1,
	IOMMUFD_ACCESS_RW_KTHREAD = 0x2,
	__IOMMUFD_ACCESS_RW_SLOW_PATH = 0x4,
};

int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *acc);
void iopt_remove_access(struct io_pagetable *iopt, struct iommufd_access *acc);
/* Pin [start, start + len); @out_pa (may be NULL) gets each page's address. */
int iopt_access_pin_pages(struct io_pagetable *iopt, unsigned long start, unsigned long len,
			  uint64_t *out_pa, unsigned int rw_flags, bool lock_area);
void iopt_access_unpin_pages(struct io_pagetable *iopt, unsigned long start, unsigned long len,
			     bool unlock_area);
int iopt_access_rw(struct io_pagetable *iopt, unsigned long start, void *data, size_t len,
		   unsigned int rw_flags);
/*
 * An access's read or write straight between the IOVA range and the user
 * buffer at @uptr, when the range lies in one area of pinned user memory
 * and nothing could fail but the user copy: the kernel's outcome without
 * its bounce buffer.  -EAGAIN when it does not apply (nothing was done):
 * the caller bounces, which also gives every error in the kernel's order.
 */
int iopt_access_rw_user(struct io_pagetable *iopt, unsigned long start, uint64_t uptr, size_t len,
			unsigned int rw_flags);
/*
 * Tell every access of the IOAS that [start, start + len) is going away;
 * each must unpin what it holds there before returning (device.c).
 */
void iommufd_access_notify_unmap(struct io_pagetable *iopt, unsigned long start,
				 unsigned long len);

/* ---- pages (pages.c) */

struct iopt_pages *iopt_alloc_user_pages(struct iommufd_ctx *ctx, uint64_t uva,
					 unsigned long len, bool writable);
/* On success the pages own the @file reference. */
struct iopt_pages *iopt_alloc_file_pages(struct iommufd_ctx *ctx, struct host_file *file,
					 unsigned long offset, unsigned long len, bool writable);
/* Pages of a dma-buf; @ref is the dma-buf file reference the pages keep. */
struct iopt_pages *iopt_alloc_dmabuf_pages(struct iommufd_ctx *ctx, struct iommufd_dmabuf *buf,
					   struct host_anon *ref, unsigned long offset,
					   unsigned long len, bool writable);
void iopt_get_pages_ref(struct iopt_pages *pages);
/* sizeof(struct iopt_pages), for the context's cache of them. */
size_t iopt_pages_struct_size(void);
/*
 * A hint, changing nothing: user pages over [uptr, uptr + len) are about
 * to be pinned whole (a map into an IOAS with domains); the host starts
 * fetching what that reads.
 */
void iopt_pages_unpin_prefetch(const struct iopt_pages *pages);
void iopt_user_pin_prefetch(struct iommufd_ctx *ictx, uint64_t uptr, unsigned long len,
			    bool writable);
/* The size of a pages object's pin bookkeeping nodes, for the context's cache of them. */
size_t iopt_pages_pin_node_size(void);
/*
 * Pages for a map of one area, made in one object with that area so that
 * the two share cache lines: the area (zeroed) is iopt_pages_area(); its
 * memory lasts as long as the pages.
 */
struct iopt_pages *iopt_alloc_user_pages_with_area(struct iommufd_ctx *ctx, uint64_t uva,
						   unsigned long len, bool writable);
struct iopt_area *iopt_pages_area(struct iopt_pages *pages);
/* Bytes of one area-and-pages object, for the context's cache of them. */
size_t iopt_pages_with_area_size(void);
void iopt_put_pages(struct iopt_pages *pages);

struct iommufd_dmabuf *iopt_pages_dmabuf(const struct iopt_pages *pages);
bool iopt_pages_writable(const struct iopt_pages *pages);
bool iopt_pages_is_file(const struct iopt_pages *pages);
unsigned long iopt_pages_npages(const struct iopt_pages *pages);
unsigned long iopt_pages_npinned(const struct iopt_pages *pages);
/* The source address of byte 0 of page index 0: user VA or file offset. */
uint64_t iopt_pages_source_start(const struct iopt_pages *pages);

/* Page indexes, inclusive. */
int iopt_pages_pin(struct iopt_pages *pages, unsigned long first, unsigned long last);
void iopt_pages_unpin(struct iopt_pages *pages, unsigned long first, unsigned long last);
/*
 * Pins covering index @at - 1 and @at become two, ending and starting
 * there, so each half can be unpinned alone (an area being split).
 */
int iopt_pages_pin_cut(struct iopt_pages *pages, unsigned long at);
void *iopt_pages_kaddr(struct iopt_pages *pages, unsigned long index);
/*
 * The physical address of byte @byte of pinned pages; *@len gets the bytes
 * physically contiguous from there.  The page must be pinned.
 */
uint64_t iopt_pages_phys(struct iopt_pages *pages, unsigned long byte, size_t *len);
/* Copy between @data and @len bytes of the pages from byte @offset. */
int iopt_pages_rw_access(struct iopt_pages *pages, unsigned long offset, void *data,
			 unsigned long len, unsigned int rw_flags);
/* The same straight from or to the user buffer at @ubuf; -EAGAIN when it does not apply. */
int iopt_pages_rw_user_direct(struct iopt_pages *pages, unsigned long offset, uint64_t ubuf,
			      unsigned long len, unsigned int rw_flags);

#endif
