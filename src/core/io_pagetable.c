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

static int iopt_area_fill_domains(struct io_pagetable *iopt, struct iopt_area *area);
static void iopt_area_unfill_domains(struct io_pagetable *iopt, struct iopt_area *area);

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

/*
 * Map the area into @domain from its pinned pages, one call per physically
 * contiguous run.  On failure the domain holds nothing of the area.
 */
static int iopt_area_map_domain(struct io_pagetable *iopt, struct iopt_area *area,
				struct iommu_domain *domain)
{
	unsigned int flags = iopt->disable_large_pages ? IOMMU_MAP_NO_LARGE : 0;
	unsigned long remaining = iopt_area_length(area);
	unsigned long iova = area->iova, byte = area->start_byte;
	int rc;

	while (remaining) {
		size_t len;
		uint64_t pa = iopt_pages_phys(area->pages, byte, &len);

		if (!len) {
			rc = -EFAULT;
			goto err_unmap;
		}
		len = min_t(size_t, len, remaining);
		rc = iommu_map(domain, iova, pa, len, area->iommu_prot, flags);
		if (rc)
			goto err_unmap;
		iova += len;
		byte += len;
		remaining -= len;
	}
	return 0;

err_unmap:
	if (iova != area->iova)
		iommu_unmap(domain, area->iova, iova - area->iova);
	return rc;
}

static unsigned long iopt_area_first_index(const struct iopt_area *area)
{
	return area->start_byte / PAGE_SIZE;
}

static unsigned long iopt_area_last_index(const struct iopt_area *area)
{
	return (area->start_byte + iopt_area_length(area) - 1) / PAGE_SIZE;
}

/* Release the area's pin, held while any domain maps it. */
static void iopt_area_unpin(struct iopt_area *area)
{
	if (!area->filled)
		return;
	iopt_pages_unpin(area->pages, iopt_area_first_index(area), iopt_area_last_index(area));
	area->filled = false;
}

/* Pin the area once and map it into @domain; undone on failure. */
static int iopt_area_fill_domain(struct io_pagetable *iopt, struct iopt_area *area,
				 struct iommu_domain *domain)
{
	bool pinned_here = false;
	struct iommufd_dmabuf *dmabuf = iopt_pages_dmabuf(area->pages);
	int rc;

	/* A revoked dma-buf keeps its IOVA but is in no domain. */
	if (dmabuf && dmabuf->revoked)
		return 0;
	if (!area->filled) {
		rc = iopt_pages_pin(area->pages, iopt_area_first_index(area),
				    iopt_area_last_index(area));
		if (rc)
			return rc;
		area->filled = true;
		pinned_here = true;
	}
	rc = iopt_area_map_domain(iopt, area, domain);
	if (rc && pinned_here)
		iopt_area_unpin(area);
	return rc;
}

static void iopt_area_unmap_domain(struct iopt_area *area, struct iommu_domain *domain)
{
	iommu_unmap(domain, area->iova, iopt_area_length(area));
}

/* Drop the area from every domain, then unpin: IOMMU first, always. */
static void iopt_area_unfill_domains(struct io_pagetable *iopt, struct iopt_area *area)
{
	size_t d;

	if (!area->filled)
		return;
	for (d = 0; d != iopt->nr_domains; d++)
		iopt_area_unmap_domain(area, iopt->domains[d]);
	iopt_area_unpin(area);
}

static int iopt_area_fill_domains(struct io_pagetable *iopt, struct iopt_area *area)
{
	size_t d;
	int rc;

	for (d = 0; d != iopt->nr_domains; d++) {
		rc = iopt_area_fill_domain(iopt, area, iopt->domains[d]);
		if (rc)
			goto err_unmap;
	}
	return 0;

err_unmap:
	while (d--)
		iopt_area_unmap_domain(area, iopt->domains[d]);
	iopt_area_unpin(area);
	return rc;
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

	for (i = 0; i != nr; i++) {
		areas[i]->pages = list[i].pages;
		rc = iopt_area_fill_domains(iopt, areas[i]);
		if (rc)
			goto out_unfill;
	}

	/* Nothing can fail from here: publish the areas. */
	for (i = 0; i != nr; i++) {
		iopt_get_pages_ref(list[i].pages);
		iopt_area_insert(iopt, areas[i]);
	}
	free(areas);
	return 0;

out_unfill:
	while (i--)
		iopt_area_unfill_domains(iopt, areas[i]);
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

int iopt_map_dmabuf_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			  unsigned long *iova, struct iommufd_dmabuf *dmabuf,
			  struct host_anon *ref, unsigned long start, unsigned long length,
			  int iommu_prot, unsigned int flags)
{
	struct iopt_pages_list elm;
	int rc;

	elm.pages = iopt_alloc_dmabuf_pages(ictx, dmabuf, ref, start, length,
					    iommu_prot & IOMMU_WRITE);
	if (IS_ERR(elm.pages)) {
		ictx->host->ops->anon_put(ictx->host, ref);
		return (int)PTR_ERR(elm.pages);
	}
	elm.start_byte = start - iopt_pages_source_start(elm.pages);
	elm.length = length;
	/* MMIO: no cache attribute. */
	rc = iopt_map_pages(iopt, &elm, 1, length, iova, (iommu_prot & ~IOMMU_CACHE) | IOMMU_MMIO,
			    flags);
	iopt_put_pages(elm.pages);
	return rc;
}

void iopt_revoke_dmabuf(struct io_pagetable *iopt, struct iommufd_dmabuf *dmabuf)
{
	size_t i;

	for (i = 0; i != iopt->nr_areas; i++)
		if (iopt_pages_dmabuf(iopt->areas[i]->pages) == dmabuf)
			iopt_area_unfill_domains(iopt, iopt->areas[i]);
}

int iopt_map_file_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, struct host_file *file, unsigned long start,
			unsigned long length, int iommu_prot, unsigned int flags)
{
	struct iopt_pages_list elm;
	int rc;

	elm.pages = iopt_alloc_file_pages(ictx, file, start, length, iommu_prot & IOMMU_WRITE);
	if (IS_ERR(elm.pages)) {
		/* The file reference is ours to drop until pages hold it. */
		ictx->host->ops->file_put(ictx->host, file);
		return PTR_ERR(elm.pages);
	}
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

	unsigned int tries = 0;

	while ((area = iopt_area_iter_first(iopt, start, last, &i))) {
		/* A HW queue's memory stays until the queue goes. */
		if (area->num_locks) {
			rc = -EBUSY;
			break;
		}
		/* Only whole areas go; cutting one is not a thing IOMMUFD does. */
		if (area->iova < start || area->last > last) {
			rc = -ENOENT;
			break;
		}
		if (area->num_accesses) {
			/*
			 * Ask every access to let go, then look again.  No new
			 * pin may start here meanwhile, and the area stays so
			 * marked if an access never lets go.
			 */
			area->prevent_access = true;
			iommufd_access_notify_unmap(iopt, area->iova, iopt_area_length(area));
			if (++tries > 100) {
				rc = -EDEADLK;
				break;
			}
			continue;
		}
		tries = 0;	/* counted per area */
		iopt_area_unfill_domains(iopt, area);
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
	free(iopt->domains);
	free(iopt->accesses);
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
	size_t i;
	int rc;

	/* Every domain's smallest page, and what accesses need. */
	for (i = 0; i != iopt->nr_domains; i++)
		new_alignment = max_t(unsigned long, new_alignment,
				      iommu_domain_min_pgsize(iopt->domains[i]));
	for (i = 0; i != iopt->nr_accesses; i++)
		new_alignment = max_t(unsigned long, new_alignment,
				      iopt->accesses[i]->iova_alignment);
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
	/* IOPTEs already made may be large. */
	if (iopt->nr_domains && iopt->nr_areas)
		return -EINVAL;
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
	/* Access pins are not tracked finely enough to split. */
	if (area->num_accesses)
		return -EINVAL;
	/* A domain may hold IOPTEs that span the cut. */
	if (area->filled && !iopt->disable_large_pages)
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
	rhs->filled = area->filled;	/* page aligned: each page has one side */
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

/* ------------------------------------------------------------ domains */

/*
 * Take @area out of @domain; the pin goes with the last domain.  @domain
 * must already be out of iopt->domains.
 */
static void iopt_area_drop_domain(struct io_pagetable *iopt, struct iopt_area *area,
				  struct iommu_domain *domain)
{
	if (!area->filled)
		return;
	iopt_area_unmap_domain(area, domain);
	if (!iopt->nr_domains)
		iopt_area_unpin(area);
}

/*
 * Mirror the IOAS into a new domain: the alignment must hold for every
 * area, IOVA outside the aperture becomes reserved, and every area is
 * pinned (once) and mapped.  On failure the IOAS is as it was.
 */
int iopt_table_add_domain(struct io_pagetable *iopt, struct iommu_domain *domain)
{
	const struct iommu_domain_geometry *geo = &domain->geometry;
	struct iommu_domain **grown;
	size_t i;
	int rc;

	for (i = 0; i != iopt->nr_domains; i++)
		if (iopt->domains[i] == domain)
			return -EINVAL;
	if (iommu_domain_min_pgsize(domain) > PAGE_SIZE)
		return -EINVAL;

	grown = iommufd_realloc_array(iopt->domains, iopt->nr_domains + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	iopt->domains = grown;

	if (geo->aperture_start) {
		rc = iopt_reserve_iova(iopt, 0, geo->aperture_start - 1, domain);
		if (rc)
			goto err_reserved;
	}
	if (geo->aperture_end != ULONG_MAX) {
		rc = iopt_reserve_iova(iopt, geo->aperture_end + 1, ULONG_MAX, domain);
		if (rc)
			goto err_reserved;
	}

	/* The new domain counts for alignment before anything is mapped. */
	iopt->domains[iopt->nr_domains++] = domain;
	rc = iopt_calculate_iova_alignment(iopt);
	if (rc)
		goto err_remove;

	for (i = 0; i != iopt->nr_areas; i++) {
		rc = iopt_area_fill_domain(iopt, iopt->areas[i], domain);
		if (rc)
			goto err_unfill;
	}
	return 0;

err_unfill:
	iopt->nr_domains--;
	while (i--)
		iopt_area_drop_domain(iopt, iopt->areas[i], domain);
	/* Back to the alignment without it: lowering cannot conflict. */
	iopt_calculate_iova_alignment(iopt);
	goto err_reserved;
err_remove:
	iopt->nr_domains--;
err_reserved:
	iopt_remove_reserved_iova(iopt, domain);
	return rc;
}

void iopt_table_remove_domain(struct io_pagetable *iopt, struct iommu_domain *domain)
{
	size_t i;

	for (i = 0; i != iopt->nr_domains; i++)
		if (iopt->domains[i] == domain)
			break;
	if (i == iopt->nr_domains)
		return;
	iopt->domains[i] = iopt->domains[--iopt->nr_domains];

	for (i = 0; i != iopt->nr_areas; i++)
		iopt_area_drop_domain(iopt, iopt->areas[i], domain);
	iopt_remove_reserved_iova(iopt, domain);
	/* Lowering or keeping the alignment cannot conflict. */
	iopt_calculate_iova_alignment(iopt);
}

int iopt_table_enforce_dev_resv_regions(struct io_pagetable *iopt, struct device *dev)
{
	struct iommu_resv_region regions[16];
	size_t nr = 0, i;
	int rc;

	if (dev->iommu_ops->get_resv_regions)
		nr = dev->iommu_ops->get_resv_regions(dev, regions, ARRAY_SIZE(regions));
	for (i = 0; i != nr; i++) {
		rc = iopt_reserve_iova(iopt, regions[i].start,
				       regions[i].start + regions[i].length - 1, dev);
		if (rc) {
			iopt_remove_reserved_iova(iopt, dev);
			return rc;
		}
	}
	return 0;
}

/* ------------------------------------------------------- dirty tracking */

/* Called with the DMA gate raised. */
static int iopt_set_dirty_tracking_gated(struct io_pagetable *iopt, struct iommu_domain *domain,
					 bool enable)
{
	const struct iommu_dirty_ops *ops = domain->dirty_ops;
	size_t i;
	int rc;

	if (enable) {
		/* Start from a clean snapshot: forget what was dirtied before. */
		for (i = 0; i != iopt->nr_areas; i++) {
			struct iopt_area *area = iopt->areas[i];

			if (!area->filled)
				continue;
			rc = ops->read_and_clear_dirty(domain, area->iova, iopt_area_length(area),
						       0, NULL);
			if (rc)
				return rc;
		}
	}
	return ops->set_dirty_tracking(domain, enable);
}

int iopt_set_dirty_tracking(struct io_pagetable *iopt, struct iommu_domain *domain,
			    bool enable)
{
	int rc;

	if (!domain->dirty_ops)
		return -EOPNOTSUPP;
	/* Device IOTLB entries filled while tracking was off would skip marking. */
	iommu_dma_gate_begin();
	rc = iopt_set_dirty_tracking_gated(iopt, domain, enable);
	iommu_dma_gate_end();
	return rc;
}

/*
 * The user bitmap is updated a window at a time: the window's bytes are
 * read, the dirty bits ORed in, and written back, so bits already set by
 * the user stay set, as the kernel's in-place iova_bitmap leaves them.
 */
#define DIRTY_WINDOW_BYTES 4096

int iopt_read_and_clear_dirty_data(struct io_pagetable *iopt, struct iommu_domain *domain,
				   unsigned int flags, unsigned long iova, unsigned long length,
				   unsigned int pgshift, struct uiommufd_host *host, uint64_t uptr)
{
	const struct iommu_dirty_ops *ops = domain->dirty_ops;
	uint64_t win[DIRTY_WINDOW_BYTES / sizeof(uint64_t)];
	unsigned long nbits = length >> pgshift;
	unsigned long bit;
	int rc = 0;

	if (!ops)
		return -EOPNOTSUPP;

	/*
	 * Clearing flushes device IOTLBs, as the kernel's iotlb_sync does, and
	 * DMA waits meanwhile: a write through an entry cached as dirty would
	 * otherwise land unrecorded after its bit was cleared.
	 */
	if (!(flags & PT_DIRTY_NO_CLEAR))
		iommu_dma_gate_begin();
	for (bit = 0; bit < nbits && !rc; bit += DIRTY_WINDOW_BYTES * 8) {
		unsigned long wbits = min_t(unsigned long, nbits - bit, DIRTY_WINDOW_BYTES * 8);
		unsigned long wstart = iova + (bit << pgshift);
		unsigned long wlast = wstart + (wbits << pgshift) - 1;
		size_t wbytes = (wbits + 7) / 8;
		struct pt_dirty dirty = {
			.bitmap = win, .iova_base = wstart, .pgshift = pgshift,
		};
		unsigned long cur = wstart;
		size_t i;

		/* Contiguous areas must cover the window. */
		i = iopt_area_lower_bound(iopt, cur);
		rc = copy_from_user(host, win, uptr + bit / 8, wbytes);
		if (rc)
			break;
		for (; i != iopt->nr_areas && cur <= wlast; i++) {
			struct iopt_area *area = iopt->areas[i];
			unsigned long alast = min_t(unsigned long, area->last, wlast);

			if (area->iova > cur)
				break;
			rc = ops->read_and_clear_dirty(domain, cur, alast - cur + 1, flags, &dirty);
			if (rc || alast == wlast)
				break;
			cur = alast + 1;
		}
		if (!rc && (i == iopt->nr_areas || iopt->areas[i]->iova > cur))
			rc = -EINVAL;	/* a gap in the areas */
		if (!rc)
			rc = copy_to_user(host, uptr + bit / 8, win, wbytes);
	}
	if (!(flags & PT_DIRTY_NO_CLEAR))
		iommu_dma_gate_end();
	return rc;
}

/* ------------------------------------------------------------- accesses */

int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access)
{
	struct iommufd_access **grown;
	int rc;

	grown = iommufd_realloc_array(iopt->accesses, iopt->nr_accesses + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	iopt->accesses = grown;
	iopt->accesses[iopt->nr_accesses++] = access;
	rc = iopt_calculate_iova_alignment(iopt);
	if (rc)
		iopt->nr_accesses--;
	return rc;
}

void iopt_remove_access(struct io_pagetable *iopt, struct iommufd_access *access)
{
	size_t i;

	for (i = 0; i != iopt->nr_accesses; i++) {
		if (iopt->accesses[i] == access) {
			memmove(&iopt->accesses[i], &iopt->accesses[i + 1],
				(iopt->nr_accesses - i - 1) * sizeof(*iopt->accesses));
			iopt->nr_accesses--;
			break;
		}
	}
	iopt_calculate_iova_alignment(iopt);
}

/*
 * Walk the contiguous areas covering [iova, last]: @fn gets each piece.
 * ENOENT when an area is missing on the way.
 */
static int iopt_for_each_contig_piece(struct io_pagetable *iopt, unsigned long iova,
				      unsigned long last,
				      int (*fn)(void *arg, struct iopt_area *area,
						unsigned long first, unsigned long plast,
						bool first_piece, bool last_piece),
				      void *arg)
{
	size_t i = iopt_area_lower_bound(iopt, iova);
	unsigned long cur = iova;
	int rc;

	for (; i != iopt->nr_areas; i++) {
		struct iopt_area *area = iopt->areas[i];
		unsigned long plast = min_t(unsigned long, area->last, last);

		if (area->iova > cur || !area->pages)
			break;
		rc = fn(arg, area, cur, plast, cur == iova, plast == last);
		if (rc)
			return rc;
		if (plast == last)
			return 0;
		cur = plast + 1;
	}
	return -ENOENT;
}

struct access_pin {
	uint64_t *out_pa;
	unsigned int flags;
	bool lock_area;
	unsigned long done_first, done_last; /* IOVA pinned so far, for unwind */
	bool any;
};

static unsigned long iopt_area_byte(const struct iopt_area *area, unsigned long iova)
{
	return area->start_byte + (iova - area->iova);
}

static bool iopt_area_prot_ok(const struct iopt_area *area, unsigned int flags)
{
	if (flags & IOMMUFD_ACCESS_RW_WRITE)
		return area->iommu_prot & IOMMU_WRITE;
	return area->iommu_prot & IOMMU_READ;
}

static int access_pin_piece(void *arg, struct iopt_area *area, unsigned long first,
			    unsigned long last, bool first_piece, bool last_piece)
{
	struct access_pin *ap = arg;
	unsigned long first_index = iopt_area_byte(area, first) / PAGE_SIZE;
	unsigned long last_index = iopt_area_byte(area, last) / PAGE_SIZE;
	unsigned long idx;
	int rc;

	/* Pieces must meet on page boundaries; nothing pins past a notify. */
	if (area->prevent_access ||
	    (!first_piece && iopt_area_byte(area, first) % PAGE_SIZE) ||
	    (!last_piece && (iopt_area_byte(area, last) + 1) % PAGE_SIZE))
		return -EINVAL;
	if (!iopt_area_prot_ok(area, ap->flags))
		return -EPERM;
	rc = iopt_pages_pin(area->pages, first_index, last_index);
	if (rc)
		return rc;
	area->num_accesses++;
	if (ap->lock_area)
		area->num_locks++;
	if (ap->out_pa) {
		for (idx = first_index; idx <= last_index; idx++) {
			size_t len;

			*ap->out_pa++ = iopt_pages_phys(area->pages, idx * PAGE_SIZE, &len);
		}
	}
	if (!ap->any)
		ap->done_first = first;
	ap->any = true;
	ap->done_last = last;
	return 0;
}

struct access_unpin {
	bool unlock_area;
};

static int access_unpin_piece(void *arg, struct iopt_area *area, unsigned long first,
			      unsigned long last, bool first_piece, bool last_piece)
{
	struct access_unpin *au = arg;

	iopt_pages_unpin(area->pages, iopt_area_byte(area, first) / PAGE_SIZE,
			 iopt_area_byte(area, last) / PAGE_SIZE);
	if (area->num_accesses)
		area->num_accesses--;
	if (au->unlock_area && area->num_locks)
		area->num_locks--;
	return 0;
}

void iopt_access_unpin_pages(struct io_pagetable *iopt, unsigned long iova,
			     unsigned long length, bool unlock_area)
{
	struct access_unpin au = { .unlock_area = unlock_area };

	if (!length)
		return;
	iopt_for_each_contig_piece(iopt, iova, iova + length - 1, access_unpin_piece, &au);
}

int iopt_access_pin_pages(struct io_pagetable *iopt, unsigned long iova,
			  unsigned long length, uint64_t *out_pa, unsigned int flags,
			  bool lock_area)
{
	struct access_pin ap = { .out_pa = out_pa, .flags = flags, .lock_area = lock_area };
	unsigned long last;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	rc = iopt_for_each_contig_piece(iopt, iova, last, access_pin_piece, &ap);
	if (rc && ap.any)
		iopt_access_unpin_pages(iopt, ap.done_first, ap.done_last - ap.done_first + 1,
					lock_area);
	return rc;
}

struct access_rw {
	uint8_t *data;
	unsigned int flags;
};

static int access_rw_piece(void *arg, struct iopt_area *area, unsigned long first,
			   unsigned long last, bool first_piece, bool last_piece)
{
	struct access_rw *rw = arg;
	unsigned long len = last - first + 1;
	int rc;

	if (area->prevent_access)
		return -EINVAL;
	if (!iopt_area_prot_ok(area, rw->flags))
		return -EPERM;
	rc = iopt_pages_rw_access(area->pages, iopt_area_byte(area, first), rw->data, len,
				  rw->flags);
	if (rc)
		return rc;
	rw->data += len;
	return 0;
}

int iopt_access_rw(struct io_pagetable *iopt, unsigned long iova, void *data,
		   size_t length, unsigned int flags)
{
	struct access_rw rw = { .data = data, .flags = flags };
	unsigned long last;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	return iopt_for_each_contig_piece(iopt, iova, last, access_rw_piece, &rw);
}
