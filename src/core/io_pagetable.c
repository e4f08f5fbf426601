// SPDX-License-Identifier: MIT
/*
 * The IOVA space algorithms of an IOAS: inserting and removing areas,
 * choosing automatic IOVAs, the allowed and reserved ranges, alignment.
 * See io_pagetable.h for the data structures.
 *
 * Automatic IOVA allocation is the kernel's: keep the page offset of the
 * source address, align to the smaller of the length rounded up to a power
 * of two and the alignment the source address already has (capped at the
 * THP size, so huge pages stay mappable as huge IOPTEs), then take the first
 * hole of reserved-or-mapped IOVA that fits inside an allowed range (or
 * inside [PAGE_SIZE, ULONG_MAX - PAGE_SIZE] when none were given).  IOVA 0 is
 * never handed out.
 *
 * Unmap removes whole areas only: a range that cuts an area, or covers
 * nothing, is ENOENT; areas removed before the failing one stay removed, as
 * they do in the kernel.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/io_pagetable.h"


void iopt_init_table(struct io_pagetable *iopt)
{
	memset(iopt, 0, sizeof(*iopt));
	/* Without domains there is no IOMMU page size to respect. */
	iopt->iova_alignment = 1;
}

/* Index of the first area whose last >= @iova (nr_areas if none). */
static size_t iopt_area_lower_bound(const struct io_pagetable *iopt, unsigned long iova)
{
	size_t lo = 0, hi = iopt->nr_areas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (iopt->areas[mid]->last < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first area intersecting [start, last], or NULL; *@idx is its index. */
static struct iopt_area *iopt_area_iter_first(const struct io_pagetable *iopt,
					      unsigned long start, unsigned long last,
					      size_t *idx)
{
	size_t i = iopt_area_lower_bound(iopt, start);

	if (i == iopt->nr_areas || iopt->areas[i]->iova > last)
		return NULL;
	if (idx)
		*idx = i;
	return iopt->areas[i];
}

static bool iopt_reserved_intersects(const struct io_pagetable *iopt, unsigned long start,
				     unsigned long last)
{
	size_t i;

	/* Sorted by start; reserved ranges may overlap one another. */
	for (i = 0; i != iopt->nr_reserved && iopt->reserved[i].start <= last; i++)
		if (iopt->reserved[i].last >= start)
			return true;
	return false;
}

static bool iopt_allowed_intersects(const struct io_pagetable *iopt, unsigned long start,
				    unsigned long last)
{
	size_t i;

	for (i = 0; i != iopt->nr_allowed && iopt->allowed[i].start <= last; i++)
		if (iopt->allowed[i].last >= start)
			return true;
	return false;
}

/*
 * If @pos is inside a used range (reserved, or an area when @with_areas),
 * return true with *@out the largest last IOVA of the ranges containing it.
 * Otherwise return false with *@out the first used IOVA above @pos, or
 * ULONG_MAX if there is none (the caller tells the two apart).
 */
static bool iopt_used_at(const struct io_pagetable *iopt, bool with_areas, unsigned long pos,
			 unsigned long *out)
{
	unsigned long next = ULONG_MAX;
	bool used = false;
	size_t i;

	for (i = 0; i != iopt->nr_reserved; i++) {
		const struct iopt_reserved *r = &iopt->reserved[i];

		if (r->start > pos) {
			next = min_t(unsigned long, next, r->start);
			break;
		}
		if (r->last >= pos) {
			if (!used || r->last > *out)
				*out = r->last;
			used = true;
		}
	}
	if (with_areas) {
		size_t a = iopt_area_lower_bound(iopt, pos);

		if (a != iopt->nr_areas) {
			const struct iopt_area *area = iopt->areas[a];

			if (area->iova <= pos) {
				if (!used || area->last > *out)
					*out = area->last;
				used = true;
			} else {
				next = min_t(unsigned long, next, area->iova);
			}
		}
	}
	if (!used)
		*out = next;
	return used;
}

/*
 * Find the first maximal hole of used IOVA (reserved, and areas when
 * @with_areas) inside [*@pos, last].  On success the hole is
 * [*hole_start, *hole_last] and *@pos moves past it.
 */
static bool iopt_next_hole(const struct io_pagetable *iopt, bool with_areas, unsigned long *pos,
			   bool *done, unsigned long last, unsigned long *hole_start,
			   unsigned long *hole_last)
{
	unsigned long cur = *pos, edge;

	while (!*done && cur <= last) {
		if (iopt_used_at(iopt, with_areas, cur, &edge)) {
			if (edge >= last) {
				*done = true;
				return false;
			}
			cur = edge + 1;
			continue;
		}
		*hole_start = cur;
		/* edge is the next used IOVA above cur, or ULONG_MAX for none */
		if (edge == ULONG_MAX && !iopt_used_at(iopt, with_areas, ULONG_MAX, &edge))
			*hole_last = last;
		else
			*hole_last = min_t(unsigned long, edge - 1, last);
		if (*hole_last == last)
			*done = true;
		else
			*pos = *hole_last + 1;
		return true;
	}
	*done = true;
	return false;
}

int iopt_for_each_iova_hole(struct io_pagetable *iopt,
			    int (*fn)(void *arg, unsigned long start, unsigned long last),
			    void *arg)
{
	unsigned long pos = 0, start, last;
	bool done = false;
	int rc;

	while (iopt_next_hole(iopt, false, &pos, &done, ULONG_MAX, &start, &last)) {
		rc = fn(arg, start, last);
		if (rc)
			return rc;
	}
	return 0;
}

static unsigned long roundup_pow_of_two(unsigned long v)
{
	return v <= 1 ? 1 : 1UL << (64 - __builtin_clzl(v - 1));
}

/* Align *@start up, add the page offset, and see if @length still fits. */
static bool alloc_iova_check_range(unsigned long *start, unsigned long last,
				   unsigned long length, unsigned long iova_alignment,
				   unsigned long page_offset)
{
	unsigned long aligned_start;

	if (check_add_overflow(*start, iova_alignment - 1, &aligned_start))
		return false;
	aligned_start &= ~(iova_alignment - 1);
	aligned_start |= page_offset;

	if (aligned_start >= last || last - aligned_start < length - 1)
		return false;
	*start = aligned_start;
	return true;
}

static int iopt_alloc_iova(struct io_pagetable *iopt, unsigned long *iova, uint64_t addr,
			   unsigned long length)
{
	unsigned long page_offset = addr % PAGE_SIZE;
	unsigned long max_alignment = HPAGE_SIZE;
	unsigned long iova_alignment;
	struct iopt_span window = { PAGE_SIZE, ULONG_MAX - PAGE_SIZE };
	size_t i, nr_spans;

	/* Keeps roundup_pow_of_two() from overflowing. */
	if (length == 0 || length >= ULONG_MAX / 2)
		return -EOVERFLOW;

	/* Keep the alignment the source has, so huge pages stay huge. */
	if (!addr)
		iova_alignment = roundup_pow_of_two(length);
	else
		iova_alignment = min_t(unsigned long, roundup_pow_of_two(length),
				       1UL << __builtin_ctzll(addr));
	if (iova_alignment >= max_alignment)
		iova_alignment = max_alignment;
	if (iova_alignment < iopt->iova_alignment)
		return -EINVAL;

	nr_spans = iopt->nr_allowed ? iopt->nr_allowed : 1;
	for (i = 0; i != nr_spans; i++) {
		struct iopt_span span = iopt->nr_allowed ? iopt->allowed[i] : window;
		unsigned long pos, hole_start, hole_last;
		bool done = false;

		/* Allowed ranges are clipped to the window IOVAs come from. */
		if (span.last < window.start || span.start > window.last)
			continue;
		span.start = max_t(unsigned long, span.start, window.start);
		span.last = min_t(unsigned long, span.last, window.last);
		pos = span.start;
		if (!alloc_iova_check_range(&pos, span.last, length, iova_alignment, page_offset))
			continue;

		pos = span.start;
		while (iopt_next_hole(iopt, true, &pos, &done, span.last, &hole_start,
				      &hole_last)) {
			if (!alloc_iova_check_range(&hole_start, hole_last, length,
						    iova_alignment, page_offset))
				continue;
			*iova = hole_start;
			return 0;
		}
	}
	return -ENOSPC;
}

static int iopt_check_iova(struct io_pagetable *iopt, unsigned long iova, unsigned long length)
{
	unsigned long last;

	if (iova & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (iopt_reserved_intersects(iopt, iova, last))
		return -EINVAL;
	if (iopt_area_iter_first(iopt, iova, last, NULL))
		return -EEXIST;
	return 0;
}

static int iopt_areas_reserve(struct io_pagetable *iopt, size_t extra)
{
	struct iopt_area **grown;
	size_t want = iopt->nr_areas + extra, cap;

	if (want <= iopt->max_areas)
		return 0;
	cap = max_t(size_t, want, iopt->max_areas ? iopt->max_areas * 2 : 8);
	grown = iommufd_realloc_array(iopt->areas, cap, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	iopt->areas = grown;
	iopt->max_areas = cap;
	return 0;
}

/* Capacity must have been reserved; the range must be free. */
static void iopt_area_insert(struct io_pagetable *iopt, struct iopt_area *area)
{
	size_t i = iopt_area_lower_bound(iopt, area->iova);

	memmove(&iopt->areas[i + 1], &iopt->areas[i],
		(iopt->nr_areas - i) * sizeof(*iopt->areas));
	iopt->areas[i] = area;
	iopt->nr_areas++;
}

static void iopt_area_remove(struct io_pagetable *iopt, size_t i)
{
	memmove(&iopt->areas[i], &iopt->areas[i + 1],
		(iopt->nr_areas - i - 1) * sizeof(*iopt->areas));
	iopt->nr_areas--;
}

/* Fill in an area for [iova, iova + length) of @pages from @start_byte. */
static int iopt_area_init(struct io_pagetable *iopt, struct iopt_area *area,
			  struct iopt_pages *pages, unsigned long iova,
			  unsigned long start_byte, unsigned long length, int iommu_prot)
{
	unsigned long last_byte;

	if ((iommu_prot & IOMMU_WRITE) && !iopt_pages_writable(pages))
		return -EPERM;
	if ((start_byte % PAGE_SIZE) & (iopt->iova_alignment - 1))
		return -EINVAL;
	area->iova = iova;
	if (check_add_overflow(iova, length - 1, &area->last))
		return -EOVERFLOW;
	if (check_add_overflow(start_byte, length - 1, &last_byte))
		return -EOVERFLOW;
	if (last_byte / PAGE_SIZE >= iopt_pages_npages(pages))
		return -EOVERFLOW;
	area->start_byte = start_byte;
	area->iommu_prot = iommu_prot;
	return 0;
}

static void iopt_area_free(struct iopt_area *area)
{
	if (area->pages)
		iopt_put_pages(area->pages);
	free(area);
}

int iopt_map_pages(struct io_pagetable *iopt, struct iopt_pages_list *list, size_t nr,
		   unsigned long length, unsigned long *dst_iova, int iommu_prot,
		   unsigned int flags)
{
	struct iopt_area **areas;
	unsigned long iova;
	size_t i;
	int rc;

	if ((length & (iopt->iova_alignment - 1)) || !length)
		return -EINVAL;

	areas = iommufd_realloc_array(NULL, nr, sizeof(*areas));
	if (!areas)
		return -ENOMEM;
	memset(areas, 0, nr * sizeof(*areas));
	for (i = 0; i != nr; i++) {
		areas[i] = iommufd_zalloc(sizeof(*areas[i]));
		if (!areas[i]) {
			rc = -ENOMEM;
			goto out_free;
		}
	}
	rc = iopt_areas_reserve(iopt, nr);
	if (rc)
		goto out_free;

	if (flags & IOPT_ALLOC_IOVA) {
		/* The first piece's source decides the alignment to keep. */
		uint64_t start = iopt_pages_source_start(list[0].pages) + list[0].start_byte;

		rc = iopt_alloc_iova(iopt, dst_iova, start, length);
		if (rc)
			goto out_free;
	} else {
		rc = iopt_check_iova(iopt, *dst_iova, length);
		if (rc)
			goto out_free;
	}

	iova = *dst_iova;
	for (i = 0; i != nr; i++) {
		rc = iopt_area_init(iopt, areas[i], list[i].pages, iova, list[i].start_byte,
				    list[i].length, iommu_prot);
		if (rc)
			goto out_free;
		iova += list[i].length;
	}

	/* Nothing can fail from here: publish the areas. */
	for (i = 0; i != nr; i++) {
		iopt_get_pages_ref(list[i].pages);
		areas[i]->pages = list[i].pages;
		iopt_area_insert(iopt, areas[i]);
	}
	free(areas);
	return 0;

out_free:
	for (i = 0; i != nr; i++)
		free(areas[i]);
	free(areas);
	return rc;
}

int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, uint64_t uptr, unsigned long length,
			int iommu_prot, unsigned int flags)
{
	struct iopt_pages_list elm;
	int rc;

	elm.pages = iopt_alloc_user_pages(ictx, uptr, length, iommu_prot & IOMMU_WRITE);
	if (IS_ERR(elm.pages))
		return PTR_ERR(elm.pages);
	elm.start_byte = uptr - iopt_pages_source_start(elm.pages);
	elm.length = length;
	rc = iopt_map_pages(iopt, &elm, 1, length, iova, iommu_prot, flags);
	/* The areas took their own references. */
	iopt_put_pages(elm.pages);
	return rc;
}

int iopt_map_file_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, struct host_file *file, unsigned long start,
			unsigned long length, int iommu_prot, unsigned int flags)
{
	struct iopt_pages_list elm;
	int rc;

	elm.pages = iopt_alloc_file_pages(ictx, file, start, length, iommu_prot & IOMMU_WRITE);
	if (IS_ERR(elm.pages))
		return PTR_ERR(elm.pages);
	elm.start_byte = start - iopt_pages_source_start(elm.pages);
	elm.length = length;
	rc = iopt_map_pages(iopt, &elm, 1, length, iova, iommu_prot, flags);
	iopt_put_pages(elm.pages);
	return rc;
}

void iopt_free_pages_list(struct iopt_pages_list *list, size_t nr)
{
	size_t i;

	for (i = 0; i != nr; i++)
		iopt_put_pages(list[i].pages);
	free(list);
}

/*
 * Collect the pages behind [iova, iova + length): contiguous areas must
 * cover all of it, else ENOENT.  Each piece holds a pages reference.
 */
int iopt_get_pages(struct io_pagetable *iopt, unsigned long iova, unsigned long length,
		   struct iopt_pages_list **out_list, size_t *out_nr)
{
	struct iopt_pages_list *list = NULL;
	unsigned long last_iova, cur;
	size_t i, nr = 0;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last_iova))
		return -EOVERFLOW;

	cur = iova;
	i = iopt_area_lower_bound(iopt, iova);
	for (; i != iopt->nr_areas; i++) {
		struct iopt_area *area = iopt->areas[i];
		unsigned long last = min_t(unsigned long, last_iova, area->last);
		struct iopt_pages_list *grown;

		if (area->iova > cur)
			break;
		grown = iommufd_realloc_array(list, nr + 1, sizeof(*list));
		if (!grown) {
			rc = -ENOMEM;
			goto err_free;
		}
		list = grown;
		list[nr].pages = area->pages;
		list[nr].start_byte = area->start_byte + (cur - area->iova);
		list[nr].length = last - cur + 1;
		iopt_get_pages_ref(area->pages);
		nr++;
		if (last == last_iova) {
			*out_list = list;
			*out_nr = nr;
			return 0;
		}
		cur = last + 1;
	}
	rc = -ENOENT;
err_free:
	iopt_free_pages_list(list, nr);
	return rc;
}

static int iopt_unmap_iova_range(struct io_pagetable *iopt, unsigned long start,
				 unsigned long last, unsigned long *unmapped)
{
	unsigned long unmapped_bytes = 0;
	struct iopt_area *area;
	size_t i;
	int rc = 0;

	while ((area = iopt_area_iter_first(iopt, start, last, &i))) {
		/* Only whole areas go; cutting one is not a thing IOMMUFD does. */
		if (area->iova < start || area->last > last) {
			rc = -ENOENT;
			break;
		}
		iopt_area_remove(iopt, i);
		unmapped_bytes += iopt_area_length(area);
		iopt_area_free(area);
	}
	if (unmapped)
		*unmapped = unmapped_bytes;
	return rc;
}

int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova, unsigned long length,
		    unsigned long *unmapped)
{
	unsigned long iova_last;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &iova_last))
		return -EOVERFLOW;
	return iopt_unmap_iova_range(iopt, iova, iova_last, unmapped);
}

int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped)
{
	/* An empty IOAS unmaps "all" successfully. */
	return iopt_unmap_iova_range(iopt, 0, ULONG_MAX, unmapped);
}

void iopt_destroy_table(struct io_pagetable *iopt)
{
	iopt_unmap_all(iopt, NULL);
	free(iopt->areas);
	free(iopt->allowed);
	free(iopt->reserved);
	memset(iopt, 0, sizeof(*iopt));
}

static int span_cmp(const void *a, const void *b)
{
	const struct iopt_span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Replace the allowed ranges with @allowed (taken over on success; the
 * caller frees it on failure).  Ranges must not overlap reserved ones.
 */
int iopt_set_allow_iova(struct io_pagetable *iopt, struct iopt_span *allowed, size_t nr)
{
	size_t i;

	if (nr)
		qsort(allowed, nr, sizeof(*allowed), span_cmp);
	for (i = 0; i != nr; i++)
		if (iopt_reserved_intersects(iopt, allowed[i].start, allowed[i].last))
			return -EADDRINUSE;
	free(iopt->allowed);
	iopt->allowed = nr ? allowed : NULL;
	iopt->nr_allowed = nr;
	if (!nr)
		free(allowed);
	return 0;
}

int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start, unsigned long last,
		      const void *owner)
{
	struct iopt_reserved *slot;
	size_t i;

	if (iopt_area_iter_first(iopt, start, last, NULL))
		return -EADDRINUSE;
	if (iopt_allowed_intersects(iopt, start, last))
		return -EADDRINUSE;

	if (iopt->nr_reserved == iopt->max_reserved) {
		size_t cap = iopt->max_reserved ? iopt->max_reserved * 2 : 4;
		struct iopt_reserved *grown;

		grown = iommufd_realloc_array(iopt->reserved, cap, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		iopt->reserved = grown;
		iopt->max_reserved = cap;
	}
	for (i = 0; i != iopt->nr_reserved && iopt->reserved[i].start <= start; i++)
		;
	slot = &iopt->reserved[i];
	memmove(slot + 1, slot, (iopt->nr_reserved - i) * sizeof(*slot));
	slot->start = start;
	slot->last = last;
	slot->owner = owner;
	iopt->nr_reserved++;
	return 0;
}

void iopt_remove_reserved_iova(struct io_pagetable *iopt, const void *owner)
{
	size_t i, kept = 0;

	for (i = 0; i != iopt->nr_reserved; i++)
		if (iopt->reserved[i].owner != owner)
			iopt->reserved[kept++] = iopt->reserved[i];
	iopt->nr_reserved = kept;
}

/* Every area must sit on @align in IOVA, length and page offset. */
static int iopt_check_iova_alignment(struct io_pagetable *iopt, unsigned long align)
{
	size_t i;

	for (i = 0; i != iopt->nr_areas; i++) {
		const struct iopt_area *area = iopt->areas[i];

		if ((area->iova & (align - 1)) || (iopt_area_length(area) & (align - 1)) ||
		    ((area->start_byte % PAGE_SIZE) & (align - 1)))
			return -EADDRINUSE;
	}
	return 0;
}

static int iopt_calculate_iova_alignment(struct io_pagetable *iopt)
{
	unsigned long new_alignment = 1;
	int rc;

	/* Domains raise this to their smallest IOMMU page size (later). */
	if (iopt->disable_large_pages)
		new_alignment = max_t(unsigned long, new_alignment, PAGE_SIZE);
	if (new_alignment > PAGE_SIZE)
		return -EINVAL;
	if (new_alignment != iopt->iova_alignment) {
		rc = iopt_check_iova_alignment(iopt, new_alignment);
		if (rc)
			return rc;
	}
	iopt->iova_alignment = new_alignment;
	return 0;
}

int iopt_disable_large_pages(struct io_pagetable *iopt)
{
	int rc;

	if (iopt->disable_large_pages)
		return 0;
	iopt->disable_large_pages = true;
	rc = iopt_calculate_iova_alignment(iopt);
	if (rc)
		iopt->disable_large_pages = false;
	return rc;
}

void iopt_enable_large_pages(struct io_pagetable *iopt)
{
	iopt->disable_large_pages = false;
	/* Lowering the alignment cannot conflict with any area. */
	iopt_calculate_iova_alignment(iopt);
}

/*
 * Split the area containing @iova so that @iova is the last byte of one
 * area (VFIO type1 unmaps inside mapped ranges).  Both halves share the
 * pages.  With no domain filled there are no IOPTEs to worry about.
 */
static int iopt_area_split(struct io_pagetable *iopt, size_t i, unsigned long iova)
{
	struct iopt_area *area = iopt->areas[i], *rhs;
	unsigned long new_start = iova + 1;

	if (new_start & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (((area->start_byte + (new_start - area->iova)) % PAGE_SIZE) &
	    (iopt->iova_alignment - 1))
		return -EINVAL;
	if (iopt_areas_reserve(iopt, 1))
		return -ENOMEM;
	rhs = iommufd_zalloc(sizeof(*rhs));
	if (!rhs)
		return -ENOMEM;
	area = iopt->areas[i];
	rhs->iova = new_start;
	rhs->last = area->last;
	rhs->start_byte = area->start_byte + (new_start - area->iova);
	rhs->iommu_prot = area->iommu_prot;
	rhs->pages = area->pages;
	iopt_get_pages_ref(area->pages);
	area->last = iova;
	iopt_area_insert(iopt, rhs);
	return 0;
}

int iopt_cut_iova(struct io_pagetable *iopt, const unsigned long *iovas, size_t num_iovas)
{
	size_t n, i;
	int rc;

	for (n = 0; n != num_iovas; n++) {
		struct iopt_area *area = iopt_area_iter_first(iopt, iovas[n], iovas[n], &i);

		if (!area || area->last == iovas[n])
			continue;
		rc = iopt_area_split(iopt, i, iovas[n]);
		if (rc)
			return rc;
	}
	return 0;
}
