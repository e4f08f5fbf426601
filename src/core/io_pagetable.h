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
 * Each set is an array kept sorted by start.  Lookups are binary searches;
 * insertion and removal move the tail.  That is the right trade for the
 * tens to thousands of areas VMMs and drivers create, and it keeps the walk
 * over holes (automatic IOVA, IOVA_RANGES) a simple merge.
 *
 * An iopt_pages is one run of user or file memory split in PAGE_SIZE
 * indexes.  Areas in any number of IOAS share it (IOAS_COPY) through its
 * reference count, so a page is pinned and charged once however many areas
 * and domains use it.
 */
#ifndef UIOMMUFD_CORE_IO_PAGETABLE_H
#define UIOMMUFD_CORE_IO_PAGETABLE_H

#include "core/iommufd_private.h"

struct iopt_pages;

struct iopt_area {
	unsigned long iova;
	unsigned long last;		/* inclusive */
	struct iopt_pages *pages;
	unsigned long start_byte;	/* where iova sits in pages */
	int iommu_prot;
};

struct iopt_span {
	unsigned long start;
	unsigned long last;		/* inclusive */
};

struct iopt_reserved {
	unsigned long start;
	unsigned long last;		/* inclusive */
	const void *owner;
};

struct io_pagetable {
	struct iopt_area **areas;
	size_t nr_areas;
	size_t max_areas;

	struct iopt_span *allowed;
	size_t nr_allowed;

	struct iopt_reserved *reserved;
	size_t nr_reserved;
	size_t max_reserved;

	unsigned long iova_alignment;
	bool disable_large_pages;
};

static inline unsigned long iopt_area_length(const struct iopt_area *area)
{
	return area->last - area->iova + 1;
}

/* Flags for iopt_map_*() */
enum {
	IOPT_ALLOC_IOVA = 1 << 0,
};

/* One piece of pages to map, in order (IOAS_COPY may gather several). */
struct iopt_pages_list {
	struct iopt_pages *pages;
	unsigned long start_byte;
	unsigned long length;
};

void iopt_init_table(struct io_pagetable *iopt);
void iopt_destroy_table(struct io_pagetable *iopt);

int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, uint64_t uptr, unsigned long length,
			int iommu_prot, unsigned int flags);
int iopt_map_file_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, struct host_file *file, unsigned long start,
			unsigned long length, int iommu_prot, unsigned int flags);
int iopt_map_pages(struct io_pagetable *iopt, struct iopt_pages_list *list, size_t nr,
		   unsigned long length, unsigned long *dst_iova, int iommu_prot,
		   unsigned int flags);
int iopt_get_pages(struct io_pagetable *iopt, unsigned long iova, unsigned long length,
		   struct iopt_pages_list **out_list, size_t *out_nr);
void iopt_free_pages_list(struct iopt_pages_list *list, size_t nr);
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova, unsigned long length,
		    unsigned long *unmapped);
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped);

int iopt_set_allow_iova(struct io_pagetable *iopt, struct iopt_span *allowed, size_t nr);
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start, unsigned long last,
		      const void *owner);
void iopt_remove_reserved_iova(struct io_pagetable *iopt, const void *owner);
int iopt_cut_iova(struct io_pagetable *iopt, const unsigned long *iovas, size_t num_iovas);
int iopt_disable_large_pages(struct io_pagetable *iopt);
void iopt_enable_large_pages(struct io_pagetable *iopt);

/*
 * Walk the holes of the reserved ranges over [0, ULONG_MAX], which is
 * what IOAS_IOVA_RANGES reports.  @fn returns non-zero to stop.
 */
int iopt_for_each_iova_hole(struct io_pagetable *iopt,
			    int (*fn)(void *arg, unsigned long start, unsigned long last),
			    void *arg);

/* pages.c */
struct iopt_pages *iopt_alloc_user_pages(struct iommufd_ctx *ictx, uint64_t uptr,
					 unsigned long length, bool writable);
struct iopt_pages *iopt_alloc_file_pages(struct iommufd_ctx *ictx, struct host_file *file,
					 unsigned long start, unsigned long length,
					 bool writable);
void iopt_get_pages_ref(struct iopt_pages *pages);
void iopt_put_pages(struct iopt_pages *pages);
bool iopt_pages_writable(const struct iopt_pages *pages);
bool iopt_pages_is_file(const struct iopt_pages *pages);
unsigned long iopt_pages_npages(const struct iopt_pages *pages);
/* The source address of byte 0 of page index 0: user VA or file offset. */
uint64_t iopt_pages_source_start(const struct iopt_pages *pages);

int iopt_pages_pin(struct iopt_pages *pages, unsigned long start_index,
		   unsigned long last_index);
void iopt_pages_unpin(struct iopt_pages *pages, unsigned long start_index,
		      unsigned long last_index);
void *iopt_pages_kaddr(struct iopt_pages *pages, unsigned long index);
unsigned long iopt_pages_npinned(const struct iopt_pages *pages);

#endif
