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
 * they do in the kernel.  An area leaves every domain before the unmap
 * returns; what a small one holds (its pin, its memory) may be released a
 * few unmaps later, before anything could see it held (iopt_area_late()).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/io_pagetable.h"

static int iopt_area_fill_domains(struct io_pagetable *iopt, struct iopt_area *area);
static void iopt_area_unfill_domains(struct io_pagetable *iopt, struct iopt_area *area);

void iopt_init_table(struct io_pagetable *iopt, struct iommufd_ctx *ictx)
{
	memset(iopt, 0, sizeof(*iopt));
	iopt->ictx = ictx;
	iopt->areas.nodes = &ictx->node_cache;
	/* Without domains there is no IOMMU page size to respect. */
	iopt->iova_alignment = 1;
}

/*
 * The inclusive last IOVA of @len bytes from @iova: EINVAL for nothing at
 * all, EOVERFLOW for a range running off the end of the address space.
 */
static int iova_span_last(unsigned long iova, unsigned long len, unsigned long *last)
{
	if (!len)
		return -EINVAL;
	return check_add_overflow(iova, len - 1, last) ? -EOVERFLOW : 0;
}

struct iopt_area *iopt_area_iter_first(const struct io_pagetable *iopt, unsigned long first,
				       unsigned long last)
{
	return iova_btree_first(&iopt->areas, first, last, NULL, NULL);
}

/* Areas never overlap, so the next one is the first meeting what follows @area. */
struct iopt_area *iopt_area_iter_next(const struct io_pagetable *iopt,
				      const struct iopt_area *area, unsigned long last)
{
	if (area->last >= last)
		return NULL;
	return iova_btree_first(&iopt->areas, area->last + 1, last, NULL, NULL);
}

static bool iopt_reserved_intersects(const struct io_pagetable *iopt, unsigned long start,
				     unsigned long last)
{
	return span_first(&iopt->reserved, start, last) != NULL;
}

static bool iopt_allowed_intersects(const struct io_pagetable *iopt, unsigned long start,
				    unsigned long last)
{
	size_t lo = 0, hi = iopt->nr_allowed;

	/* Disjoint and sorted: the lasts are sorted too; find the first reaching @start. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (iopt->allowed[mid].last < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo != iopt->nr_allowed && iopt->allowed[lo].start <= last;
}

/*
 * If @pos is inside a reserved range, return true with *@out the largest
 * last IOVA of the ranges containing it.  Otherwise return false with
 * *@out the first reserved IOVA above @pos, or ULONG_MAX if there is none
 * (the caller tells the two apart).
 */
static bool iopt_used_at(const struct io_pagetable *iopt, unsigned long pos, unsigned long *out)
{
	bool more;

	if (span_covers(&iopt->reserved, pos, out, &more))
		return true;
	if (!more)
		*out = ULONG_MAX;
	return false;
}

/*
 * Find the first maximal hole of reserved IOVA inside [*@pos, last].  On success the hole is
 * [*hole_start, *hole_last] and *@pos moves past it.
 */
static bool iopt_next_hole(const struct io_pagetable *iopt, unsigned long *pos,
			   bool *done, unsigned long last, unsigned long *hole_start,
			   unsigned long *hole_last)
{
	unsigned long cur = *pos, edge;

	while (!*done && cur <= last) {
		if (iopt_used_at(iopt, cur, &edge)) {
			if (edge >= last) {
				*done = true;
				return false;
			}
			cur = edge + 1;
			continue;
		}
		*hole_start = cur;
		/* edge is the next used IOVA above cur, or ULONG_MAX for none */
		if (edge == ULONG_MAX && !iopt_used_at(iopt, ULONG_MAX, &edge))
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

	while (iopt_next_hole(iopt, &pos, &done, ULONG_MAX, &start, &last)) {
		rc = fn(arg, start, last);
		if (rc)
			return rc;
	}
	return 0;
}

/* The smallest power of two at or above @v; @v below 2^63. */
static unsigned long pow2_ceil(unsigned long v)
{
	if (v <= 1)
		return 1;
	return 1UL << (sizeof(v) * CHAR_BIT - __builtin_clzl(v - 1));
}

/*
 * Where in [@lo, @hi] a run of @len bytes can start at a multiple of
 * @align plus @offset: the lowest such IOVA in *@at, or false.
 */
static bool fit_in(unsigned long lo, unsigned long hi, unsigned long len, unsigned long align,
		   unsigned long offset, unsigned long *at)
{
	unsigned long base;

	if (lo > ULONG_MAX - (align - 1))
		return false;
	base = ((lo + (align - 1)) & ~(align - 1)) | offset;
	if (base >= hi || hi - base < len - 1)
		return false;
	*at = base;
	return true;
}

struct alloc_fit {
	unsigned long len, align, offset, at;
};

static int alloc_fit_gap(void *arg, unsigned long first, unsigned long last)
{
	struct alloc_fit *fit = arg;

	return fit_in(first, last, fit->len, fit->align, fit->offset, &fit->at);
}

/*
 * Choose an IOVA for @len bytes whose source starts at @src (see the top
 * of the file for the rule).  Windows are the allowed ranges, or one
 * default window, each clipped to the default; inside a window the holes
 * between reserved ranges and areas are tried lowest first.  The area tree
 * skips every subtree whose holes are all narrower than @len, so a packed
 * IOAS does not cost a walk over each of its areas.
 */
static int iopt_alloc_iova(struct io_pagetable *iopt, unsigned long *iova, uint64_t src,
			   unsigned long len)
{
	const struct iopt_span dflt = { .start = PAGE_SIZE, .last = ULONG_MAX - PAGE_SIZE };
	size_t nwin = iopt->nr_allowed ? iopt->nr_allowed : 1, w;
	unsigned long offset = src % PAGE_SIZE;
	unsigned long align;

	/* Half the space or more never fits, and pow2_ceil() would overflow. */
	if (!len || len >= ULONG_MAX / 2)
		return -EOVERFLOW;

	align = pow2_ceil(len);
	/* As aligned as the source is, so its huge pages stay huge ones. */
	if (src && (1UL << __builtin_ctzll(src)) < align)
		align = 1UL << __builtin_ctzll(src);
	if (align > HPAGE_SIZE)
		align = HPAGE_SIZE;
	if (align < iopt->iova_alignment)
		return -EINVAL;

	for (w = 0; w < nwin; w++) {
		struct iopt_span win = iopt->nr_allowed ? iopt->allowed[w] : dflt;
		unsigned long cursor, hole_first, hole_last, at;
		bool walked = false;

		if (win.last < dflt.start || win.start > dflt.last)
			continue;
		win.start = max_t(unsigned long, win.start, dflt.start);
		win.last = min_t(unsigned long, win.last, dflt.last);
		/* Too small even when empty: no hole of it can do. */
		if (!fit_in(win.start, win.last, len, align, offset, &at))
			continue;
		cursor = win.start;
		while (iopt_next_hole(iopt, &cursor, &walked, win.last, &hole_first, &hole_last)) {
			/* Inside a hole of reserved IOVA, the areas' holes wide enough. */
			struct alloc_fit fit = { .len = len, .align = align, .offset = offset };

			if (iova_btree_each_gap(&iopt->areas, hole_first, hole_last, len,
						alloc_fit_gap, &fit)) {
				*iova = fit.at;
				return 0;
			}
		}
	}
	return -ENOSPC;
}

/*
 * Ask every domain for the IOPTE of @iova before the area index is
 * searched: with many areas both are cache misses, and this way the
 * page-table one is paid during the search, not after it.
 */
static inline void iopt_prefetch_iopte(const struct io_pagetable *iopt, unsigned long iova)
{
	size_t d;

	for (d = 0; d != iopt->nr_domains; d++)
		iommu_prefetch(iopt->domains[d], iova);
}

/*
 * A fixed IOVA: aligned, inside the space, clear of reserved IOVA and
 * areas.  *@spot: where the area index would take it, for the insertion.
 */
static int iopt_check_iova(struct io_pagetable *iopt, unsigned long at, unsigned long len,
			   struct iova_btree_spot *spot)
{
	unsigned long end;

	if (at & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (check_add_overflow(at, len - 1, &end))
		return -EOVERFLOW;
	/* Reserved IOVA is never mapped; mapped IOVA is not mapped twice. */
	if (iopt_reserved_intersects(iopt, at, end))
		return -EINVAL;
	return iova_btree_first_spot(&iopt->areas, at, end, spot) ? -EEXIST : 0;
}

/*
 * The range must be free, and iova_btree_prepare() must have made room.
 * @spot (or NULL): where a lookup found it free.
 */
static void iopt_area_insert(struct io_pagetable *iopt, struct iopt_area *area,
			     struct iova_btree_spot *spot)
{
	if (spot)
		iova_btree_insert_at(&iopt->areas, spot, area->iova, area->last, area);
	else
		iova_btree_insert(&iopt->areas, area->iova, area->last, area);
	iopt->nr_areas++;
	if (iopt_pages_is_file(area->pages))
		iopt->nr_file_areas++;
}

/*
 * Set up @area over @len bytes of @pages from byte @offset, at @iova.  The
 * area is not in the table yet and holds no pages reference.
 */
static int iopt_area_init(struct iopt_area *area, const struct io_pagetable *iopt,
			  struct iopt_pages *pages, unsigned long offset, unsigned long len,
			  unsigned long iova, int prot)
{
	unsigned long end_byte;

	if ((prot & IOMMU_WRITE) && !iopt_pages_writable(pages))
		return -EPERM;
	/* A page offset off the IOAS alignment cannot be mapped as asked. */
	if ((offset % PAGE_SIZE) & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (check_add_overflow(iova, len - 1, &area->last) ||
	    check_add_overflow(offset, len - 1, &end_byte) ||
	    end_byte / PAGE_SIZE >= iopt_pages_npages(pages))
		return -EOVERFLOW;
	area->iova = iova;
	area->start_byte = offset;
	area->iommu_prot = prot;
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

/*
 * iopt_pages_pin(), tried once more when it was refused and areas an
 * unmap left for later still hold pins: their pages are still charged
 * to RLIMIT_MEMLOCK, which a pin right after their unmap must not see.
 */
static int iopt_pin_pages(struct io_pagetable *iopt, struct iopt_pages *pages,
			  unsigned long first_index, unsigned long last_index)
{
	int rc = iopt_pages_pin(pages, first_index, last_index);

	if (rc == -ENOMEM && iopt->ictx->late_pinned) {
		iopt_late_drain(iopt->ictx);
		rc = iopt_pages_pin(pages, first_index, last_index);
	}
	return rc;
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
		rc = iopt_pin_pages(iopt, area->pages, iopt_area_first_index(area),
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

/* [iova, last] out of every domain of the IOAS. */
static void iopt_unmap_domains(struct io_pagetable *iopt, unsigned long iova, unsigned long last)
{
	size_t d;

	for (d = 0; d != iopt->nr_domains; d++)
		iommu_unmap(iopt->domains[d], iova, last - iova + 1);
}

/* Drop the area from every domain, then unpin: IOMMU first, always. */
static void iopt_area_unfill_domains(struct io_pagetable *iopt, struct iopt_area *area)
{
	if (!area->filled)
		return;
	iopt_unmap_domains(iopt, area->iova, area->last);
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

static struct iopt_area *iopt_area_alloc(struct io_pagetable *iopt)
{
	return iommufd_should_fail() ? NULL : slab_zalloc(&iopt->ictx->area_cache);
}

/* An area made with its pages is freed with them, by the last put. */
static void iopt_area_free(struct iommufd_ctx *ictx, struct iopt_area *area)
{
	bool with_pages = area->with_pages;

	if (area->pages)
		iopt_put_pages(area->pages);
	if (!with_pages)
		slab_free(&ictx->area_cache, area);
}

/*
 * Map @npieces pieces of pages back to back, @total bytes in all, at
 * *@iova_io (chosen, with IOPT_ALLOC_IOVA in @how).  All or nothing: every
 * allocation comes before the IOVA is chosen, and the areas are published
 * only once every domain holds them.
 */
static int map_pieces(struct io_pagetable *iopt, struct iopt_pages_list *pieces, size_t npieces,
		      unsigned long total, unsigned long *iova_io, int prot, unsigned int how,
		      struct iopt_area *given)
{
	struct iopt_area *one[4], **fresh = one;
	struct iova_btree_spot spot;
	size_t k, filled;
	unsigned long at;
	int rc = 0;

	if (!total || (total & (iopt->iova_alignment - 1)))
		return -EINVAL;
	spot.leaf = NULL;	/* a chosen IOVA has none */

	/* Most maps are one piece: no allocation for the list then. */
	if (npieces > ARRAY_SIZE(one)) {
		fresh = iommufd_realloc_array(NULL, npieces, sizeof(*fresh));
		if (!fresh)
			return -ENOMEM;
	}
	memset(fresh, 0, npieces * sizeof(*fresh));
	/* @given: the one piece's area, made with its pages and freed with them. */
	if (given) {
		given->with_pages = true;
		fresh[0] = given;
	}
	for (k = given ? 1 : 0; k < npieces && !rc; k++) {
		fresh[k] = iopt_area_alloc(iopt);
		if (!fresh[k])
			rc = -ENOMEM;
	}
	/* Room in the area index now, so that publishing cannot fail. */
	if (!rc)
		rc = iova_btree_prepare(&iopt->areas, npieces);
	if (rc)
		goto free_areas;

	if (how & IOPT_ALLOC_IOVA)
		/* The first piece's source decides the alignment kept. */
		rc = iopt_alloc_iova(iopt, iova_io,
				     iopt_pages_source_start(pieces[0].pages) + pieces[0].start_byte,
				     total);
	else {
		iopt_prefetch_iopte(iopt, *iova_io);
		rc = iopt_check_iova(iopt, *iova_io, total, &spot);
	}
	if (rc)
		goto free_areas;

	at = *iova_io;
	for (k = 0; k < npieces; k++) {
		rc = iopt_area_init(fresh[k], iopt, pieces[k].pages, pieces[k].start_byte,
				    pieces[k].length, at, prot);
		if (rc)
			goto free_areas;
		at += pieces[k].length;
	}

	for (filled = 0; filled < npieces; filled++) {
		fresh[filled]->pages = pieces[filled].pages;
		rc = iopt_area_fill_domains(iopt, fresh[filled]);
		if (rc)
			goto unfill_areas;
	}

	/* Nothing can fail from here on. */
	for (k = 0; k < npieces; k++) {
		iopt_get_pages_ref(pieces[k].pages);
		iopt_area_insert(iopt, fresh[k], k ? NULL : &spot);
	}
	if (fresh != one)
		free(fresh);
	return 0;

unfill_areas:
	while (filled--)
		iopt_area_unfill_domains(iopt, fresh[filled]);
free_areas:
	for (k = given ? 1 : 0; k < npieces; k++)
		slab_free(&iopt->ictx->area_cache, fresh[k]);
	if (fresh != one)
		free(fresh);
	return rc;
}

int iopt_map_pages(struct io_pagetable *iopt, struct iopt_pages_list *pieces, size_t npieces,
		   unsigned long total, unsigned long *iova_io, int prot, unsigned int how)
{
	return map_pieces(iopt, pieces, npieces, total, iova_io, prot, how, NULL);
}

/*
 * Map all of a new iopt_pages, whose source address @src is byte 0 of the
 * mapping.  The caller's reference on @pages goes either way: the areas
 * took their own.
 */
static int iopt_map_new_pages(struct io_pagetable *iopt, struct iopt_pages *pages, uint64_t src,
			      unsigned long len, unsigned long *iova, int prot, unsigned int how)
{
	struct iopt_pages_list whole = {
		.pages = pages,
		.start_byte = src - iopt_pages_source_start(pages),
		.length = len,
	};
	int rc = map_pieces(iopt, &whole, 1, len, iova, prot, how, iopt_pages_area(pages));

	iopt_put_pages(pages);
	return rc;
}

int iopt_map_user_pages(struct iommufd_ctx *ctx, struct io_pagetable *iopt, unsigned long *iova,
			uint64_t uva, unsigned long len, int prot, unsigned int how)
{
	/* One area over new pages: the two in one object, one miss where there were two. */
	struct iopt_pages *pages;

	if (iopt->nr_domains)
		iopt_user_pin_prefetch(ctx, uva, len, prot & IOMMU_WRITE);
	pages = iopt_alloc_user_pages_with_area(ctx, uva, len, prot & IOMMU_WRITE);
	if (IS_ERR(pages))
		return (int)PTR_ERR(pages);
	return iopt_map_new_pages(iopt, pages, uva, len, iova, prot, how);
}

/* Consumes @ref: the pages hold it, or it is dropped here. */
int iopt_map_dmabuf_pages(struct iommufd_ctx *ctx, struct io_pagetable *iopt, unsigned long *iova,
			  struct iommufd_dmabuf *buf, struct host_anon *ref, unsigned long start,
			  unsigned long len, int prot, unsigned int how)
{
	struct iopt_pages *pages = iopt_alloc_dmabuf_pages(ctx, buf, ref, start, len,
							   prot & IOMMU_WRITE);

	if (IS_ERR(pages)) {
		ctx->host->ops->anon_put(ctx->host, ref);
		return (int)PTR_ERR(pages);
	}
	/* Device memory: MMIO, and never cacheable. */
	return iopt_map_new_pages(iopt, pages, start, len, iova, (prot & ~IOMMU_CACHE) | IOMMU_MMIO,
				  how);
}

void iopt_revoke_dmabuf(struct io_pagetable *iopt, struct iommufd_dmabuf *dmabuf)
{
	struct iopt_area *area;

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(iopt, area, ULONG_MAX))
		if (iopt_pages_dmabuf(area->pages) == dmabuf)
			iopt_area_unfill_domains(iopt, area);
}

/* Consumes @file: the pages hold the reference, or it is dropped here. */
int iopt_map_file_pages(struct iommufd_ctx *ctx, struct io_pagetable *iopt, unsigned long *iova,
			struct host_file *file, unsigned long start, unsigned long len, int prot,
			unsigned int how)
{
	struct iopt_pages *pages = iopt_alloc_file_pages(ctx, file, start, len, prot & IOMMU_WRITE);

	if (IS_ERR(pages)) {
		ctx->host->ops->file_put(ctx->host, file);
		return (int)PTR_ERR(pages);
	}
	return iopt_map_new_pages(iopt, pages, start, len, iova, prot, how);
}

void iopt_free_pages_list(struct iopt_pages_list *list, size_t nr)
{
	size_t i;

	for (i = 0; i != nr; i++)
		iopt_put_pages(list[i].pages);
	free(list);
}

/*
 * The pages behind @len bytes from @from, one piece per area crossed; the
 * areas must follow one another with no gap (ENOENT otherwise).  Each
 * piece holds a pages reference, dropped by iopt_free_pages_list().
 */
int iopt_get_pages(struct io_pagetable *iopt, unsigned long from, unsigned long len,
		   struct iopt_pages_list **pieces_out, size_t *npieces_out)
{
	struct iopt_pages_list *pieces = NULL;
	size_t n = 0, cap = 0;
	struct iopt_area *area;
	unsigned long to, next;
	int rc;

	rc = iova_span_last(from, len, &to);
	if (rc)
		return rc;

	next = from;
	for (area = iopt_area_iter_first(iopt, from, to); area;
	     area = iopt_area_iter_next(iopt, area, to)) {
		unsigned long stop = min_t(unsigned long, area->last, to);

		if (area->iova > next)
			break;	/* a hole */
		if (n == cap) {
			size_t want = cap ? 2 * cap : 4;
			struct iopt_pages_list *more;

			more = iommufd_realloc_array(pieces, want, sizeof(*more));
			if (!more) {
				rc = -ENOMEM;
				goto drop_pieces;
			}
			pieces = more;
			cap = want;
		}
		pieces[n].pages = area->pages;
		pieces[n].start_byte = area->start_byte + (next - area->iova);
		pieces[n].length = stop - next + 1;
		iopt_get_pages_ref(area->pages);
		n++;
		if (stop == to) {
			*pieces_out = pieces;
			*npieces_out = n;
			return 0;
		}
		next = stop + 1;
	}
	rc = -ENOENT;
drop_pieces:
	iopt_free_pages_list(pieces, n);
	return rc;
}

/*
 * Ask for every line of @area and of what follows it, which for an area
 * made with its pages is those pages (pages.c): with a million areas both
 * are far from the cache, and fetched together they cost one wait, not two.
 */
static inline void area_prefetch(const struct iopt_area *area)
{
	const char *p = (const char *)area;

	__builtin_prefetch(p);
	__builtin_prefetch(p + IOPT_PAIR_BYTES - 1);
}

/*
 * @from_leaf: no access pins inside any area, so no area can be EBUSY or
 * EAGAIN and the leaf's bounds alone give the verdict; @start, @end: the
 * bounds of the range the walk was last offered.
 */
struct unmap_walk {
	unsigned long first, last;
	bool from_leaf;
	unsigned long start, end;
};

/*
 * What an unmap of [first, last] may do with @area, in the order the
 * checks fail: -EBUSY (a HW queue's memory stays until the queue goes),
 * -ENOENT (whole areas only: unmap never cuts one), -EAGAIN (accesses pin
 * pages inside and must let go first), or 0, remove it.
 */
/* Whether [start, last] lies inside the range being unmapped: unmap never cuts an area. */
static inline bool unmap_covers(const struct unmap_walk *w, unsigned long start,
				unsigned long last)
{
	return start >= w->first && last <= w->last;
}

static int area_unmap_verdict(const struct iopt_area *area, const struct unmap_walk *w)
{
	if (area->num_locks)
		return -EBUSY;
	if (!unmap_covers(w, area->iova, area->last))
		return -ENOENT;
	return area->num_accesses ? -EAGAIN : 0;
}

/* iova_btree_take_first()'s test: an area the walk removes at once. */
static bool area_may_go(void *value, unsigned long start, unsigned long last, void *arg)
{
	struct unmap_walk *w = arg;
	const struct iopt_area *area = value;

	w->start = start;
	w->end = last;
	area_prefetch(area);
	if (w->from_leaf)
		return unmap_covers(w, start, last);
	return !area_unmap_verdict(area, w);
}

/*
 * The largest area whose pin an unmap leaves for later: what a vIOMMU
 * shadows page by page, and small enough that pins kept back a few
 * unmaps hold little memory.
 */
#define IOPT_LATE_PIN_MAX (64ul * 1024)

/* Unpin and free the area waiting at @k of ictx->late, if any. */
static void late_release(struct iommufd_ctx *ictx, unsigned int k)
{
	struct iopt_area *area = ictx->late[k];

	if (!area)
		return;
	ictx->late[k] = NULL;
	if (ictx->late_pin[k]) {
		ictx->late_pin[k] = false;
		ictx->late_pinned--;
		iopt_area_unpin(area);
	}
	iopt_area_free(ictx, area);
}

void iopt_late_drain(struct iommufd_ctx *ictx)
{
	unsigned int k;

	for (k = 0; k != IOMMUFD_LATE_AREAS; k++)
		late_release(ictx, k);
}

/*
 * @area, [start, last] by the index, has just left it: out of every
 * domain now, from those bounds, without reading the area; unpinned and
 * freed IOMMUFD_LATE_AREAS unmaps later.  Its lines are asked for when it
 * leaves the index and again one unmap before it goes, its pin's half way
 * along the ring, so by the time it goes both have come and the unmap
 * waits on the index alone.  Kept back, a pin is seen by nothing the user
 * can ask before it goes (iommufd_ctx.late), and its pages map nowhere.
 */
static void iopt_area_late(struct io_pagetable *iopt, struct iopt_area *area,
			   unsigned long start, unsigned long last)
{
	struct iommufd_ctx *ictx = iopt->ictx;
	unsigned int k = ictx->late_next, half = (k + IOMMUFD_LATE_AREAS / 2) % IOMMUFD_LATE_AREAS;

	iopt_unmap_domains(iopt, start, last);
	if (ictx->late_pin[half])
		iopt_pages_unpin_prefetch(ictx->late[half]->pages);
	late_release(ictx, k);
	ictx->late[k] = area;
	/* With a domain, every area in the index that is not over a file is filled. */
	ictx->late_pin[k] = iopt->nr_domains != 0;
	ictx->late_pinned += ictx->late_pin[k];
	ictx->late_next = (k + 1) % IOMMUFD_LATE_AREAS;
	/*
	 * The next unmap frees the area after this one.  What the take
	 * fetched of it is mostly gone again by then (among a million areas
	 * the unmap waited on it: 560 ns against 400 with this), so ask for
	 * its lines once more, an unmap ahead.
	 */
	if (ictx->late[ictx->late_next])
		area_prefetch(ictx->late[ictx->late_next]);
}

/* @area has left the index: take it out of the domains, unpin it and free it. */
static void iopt_area_gone(struct io_pagetable *iopt, struct iopt_area *area)
{
	if (iopt->nr_file_areas && iopt_pages_is_file(area->pages))
		iopt->nr_file_areas--;
	if (area->filled)
		iopt_pages_unpin_prefetch(area->pages);
	iopt_area_unfill_domains(iopt, area);
	iopt_area_free(iopt->ictx, area);
}

/*
 * Remove every area inside [first, last], lowest first.  *@gone (when
 * given) gets the bytes removed, also when a later area stops the walk:
 * what was removed stays removed.  An area free to go leaves the index in
 * the descent that finds it; it is then taken out of the domains and freed,
 * which nothing between can observe.
 *
 * Among a million areas, reading an area to judge it is a second wait on
 * memory after the leaf's.  While no access pins inside any area
 * (iopt->nr_held_areas), the leaf's bounds are the whole verdict, and the
 * area's lines are asked for while the index is mended.  When no area is
 * over a file or dma-buf either, what freeing a small area releases (its
 * memory, its pin, a reference on user pages) can wait: the IOMMU unmap is
 * done from the leaf's bounds, the rest IOMMUFD_LATE_AREAS unmaps on
 * (iopt_area_late()), and the unmap waits on the leaf alone.
 */
static int iopt_unmap_range(struct io_pagetable *iopt, unsigned long first, unsigned long last,
			    unsigned long *gone)
{
	struct unmap_walk w = { .first = first, .last = last };
	unsigned long removed = 0;
	unsigned int notified = 0;
	struct iopt_area *area;
	bool taken;
	int rc = 0;

	iopt_prefetch_iopte(iopt, first);
	while (!rc) {
		w.from_leaf = !iopt->nr_held_areas;
		area = iova_btree_take_first(&iopt->areas, first, last, area_may_go, &w, &taken);
		if (!area)
			break;
		if (taken) {
			iopt->nr_areas--;
			notified = 0;	/* the patience is per area */
			removed += w.end - w.start + 1;
			if (w.from_leaf && !iopt->nr_file_areas &&
			    (!iopt->nr_domains ||
			     (w.end - w.start < IOPT_LATE_PIN_MAX && iommufd_late_list(iopt->ictx))))
				iopt_area_late(iopt, area, w.start, w.end);
			else
				iopt_area_gone(iopt, area);
			/* Nothing of the range is left past it: no descent to learn that. */
			if (w.end >= last)
				break;
		} else if ((rc = area_unmap_verdict(area, &w)) == -EAGAIN) {
			/*
			 * Ask the accesses to let go, then look again.  No new
			 * pin starts here meanwhile, and the area stays so
			 * marked if one never lets go.
			 */
			rc = 0;
			area->prevent_access = true;
			iommufd_access_notify_unmap(iopt, area->iova, iopt_area_length(area));
			if (++notified > 100)
				rc = -EDEADLK;
		}
	}
	if (gone)
		*gone = removed;
	return rc;
}

int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long start, unsigned long len,
		    unsigned long *gone)
{
	unsigned long last;
	int rc = iova_span_last(start, len, &last);

	return rc ? rc : iopt_unmap_range(iopt, start, last, gone);
}

/* Everything; an empty IOAS unmaps "all" with success. */
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *gone)
{
	return iopt_unmap_range(iopt, 0, ULONG_MAX, gone);
}

void iopt_destroy_table(struct io_pagetable *iopt)
{
	/* Areas first: they unmap from the domains and unpin. */
	iopt_unmap_all(iopt, NULL);
	iopt_late_drain(iopt->ictx);
	iova_btree_destroy(&iopt->areas);
	while (!span_tree_empty(&iopt->reserved)) {
		struct iopt_reserved *r =
			container_of(iopt->reserved.root, struct iopt_reserved, node);

		span_remove(&iopt->reserved, &r->node);
		free(r);
	}
	free(iopt->allowed);
	free(iopt->domains);
	free(iopt->accesses);
	memset(iopt, 0, sizeof(*iopt));
}

/*
 * Replace the allowed ranges with the @n ranges of @spans, sorted by start
 * and disjoint (ioas.c sees to both).  A range holding reserved IOVA
 * refuses the whole set.  On success the table owns @spans; on failure the
 * caller still does.
 */
int iopt_set_allow_iova(struct io_pagetable *iopt, struct iopt_span *spans, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (iopt_reserved_intersects(iopt, spans[k].start, spans[k].last))
			return -EADDRINUSE;
	free(iopt->allowed);
	if (!n) {
		free(spans);
		spans = NULL;
	}
	iopt->allowed = spans;
	iopt->nr_allowed = n;
	return 0;
}

/* [first, last] becomes reserved for @who; mapped or allowed IOVA refuses it. */
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long first, unsigned long last,
		      const void *who)
{
	struct iopt_reserved *r;

	if (iopt_area_iter_first(iopt, first, last) ||
	    iopt_allowed_intersects(iopt, first, last))
		return -EADDRINUSE;

	r = iommufd_zalloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->node.start = first;
	r->node.last = last;
	r->owner = who;
	span_insert(&iopt->reserved, &r->node);
	iopt->nr_reserved++;
	return 0;
}

void iopt_remove_reserved_iova(struct io_pagetable *iopt, const void *owner)
{
	struct span_node *n = span_first(&iopt->reserved, 0, ULONG_MAX), *next;

	for (; n; n = next) {
		struct iopt_reserved *r = container_of(n, struct iopt_reserved, node);

		next = span_next(&iopt->reserved, n, 0, ULONG_MAX);
		if (r->owner != owner)
			continue;
		span_remove(&iopt->reserved, n);
		iopt->nr_reserved--;
		free(r);
	}
}

/* Every area must sit on @align in IOVA, length and page offset. */
static int iopt_check_iova_alignment(struct io_pagetable *iopt, unsigned long align)
{
	const struct iopt_area *area;

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(iopt, area, ULONG_MAX)) {
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
static int iopt_area_split(struct io_pagetable *iopt, struct iopt_area *area, unsigned long iova)
{
	struct iopt_area *rhs;
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
	rhs = iopt_area_alloc(iopt);
	if (!rhs)
		return -ENOMEM;
	if (iova_btree_prepare(&iopt->areas, 1)) {
		slab_free(&iopt->ictx->area_cache, rhs);
		return -ENOMEM;
	}
	/* The area's one pin becomes one per half. */
	if (area->filled) {
		int rc = iopt_pages_pin_cut(area->pages,
					    (area->start_byte + (new_start - area->iova)) /
						    PAGE_SIZE);

		if (rc) {
			slab_free(&iopt->ictx->area_cache, rhs);
			return rc;
		}
	}
	rhs->iova = new_start;
	rhs->last = area->last;
	rhs->start_byte = area->start_byte + (new_start - area->iova);
	rhs->iommu_prot = area->iommu_prot;
	rhs->filled = area->filled;	/* page aligned: each page has one side */
	rhs->pages = area->pages;
	iopt_get_pages_ref(area->pages);
	area->last = iova;
	iova_btree_set_last(&iopt->areas, area->iova, iova);
	iopt_area_insert(iopt, rhs, NULL);
	return 0;
}

int iopt_cut_iova(struct io_pagetable *iopt, const unsigned long *iovas, size_t num_iovas)
{
	size_t n;
	int rc;

	for (n = 0; n != num_iovas; n++) {
		struct iopt_area *area = iopt_area_iter_first(iopt, iovas[n], iovas[n]);

		if (!area || area->last == iovas[n])
			continue;
		rc = iopt_area_split(iopt, area, iovas[n]);
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
 * Mirror the IOAS into @dom: IOVA outside its aperture becomes reserved
 * (owned by @dom), its page size joins the IOAS alignment (every area must
 * sit on it), and every area is pinned, once, and mapped.  On failure the
 * IOAS is as it was.
 */
int iopt_table_add_domain(struct io_pagetable *iopt, struct iommu_domain *dom)
{
	unsigned long lo = dom->geometry.aperture_start, hi = dom->geometry.aperture_end;
	struct iopt_area *area, *failed = NULL;
	struct iommu_domain **slots;
	size_t k;
	int rc = 0;

	for (k = 0; k < iopt->nr_domains; k++)
		if (iopt->domains[k] == dom)
			return -EINVAL;
	if (iommu_domain_min_pgsize(dom) > PAGE_SIZE)
		return -EINVAL;

	slots = iommufd_realloc_array(iopt->domains, iopt->nr_domains + 1, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	iopt->domains = slots;

	if (lo)
		rc = iopt_reserve_iova(iopt, 0, lo - 1, dom);
	if (!rc && hi != ULONG_MAX)
		rc = iopt_reserve_iova(iopt, hi + 1, ULONG_MAX, dom);
	if (rc)
		goto drop_reserved;

	/* Counted for the alignment before anything is mapped into it. */
	iopt->domains[iopt->nr_domains++] = dom;
	rc = iopt_calculate_iova_alignment(iopt);
	if (rc)
		goto forget_domain;

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(iopt, area, ULONG_MAX)) {
		rc = iopt_area_fill_domain(iopt, area, dom);
		if (rc) {
			failed = area;
			goto unmap_areas;
		}
	}
	return 0;

unmap_areas:
	/* Out of the list first, so that dropping from the last domain unpins. */
	iopt->nr_domains--;
	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area != failed;
	     area = iopt_area_iter_next(iopt, area, ULONG_MAX))
		iopt_area_drop_domain(iopt, area, dom);
	/* Back to the alignment without it: lowering cannot conflict. */
	iopt_calculate_iova_alignment(iopt);
	goto drop_reserved;
forget_domain:
	iopt->nr_domains--;
drop_reserved:
	iopt_remove_reserved_iova(iopt, dom);
	return rc;
}

void iopt_table_remove_domain(struct io_pagetable *iopt, struct iommu_domain *domain)
{
	struct iopt_area *area;
	size_t i;

	for (i = 0; i != iopt->nr_domains; i++)
		if (iopt->domains[i] == domain)
			break;
	if (i == iopt->nr_domains)
		return;
	iopt->domains[i] = iopt->domains[--iopt->nr_domains];

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(iopt, area, ULONG_MAX))
		iopt_area_drop_domain(iopt, area, domain);
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
static int iopt_set_dirty_tracking_gated(struct io_pagetable *iopt, struct iommu_domain *dom,
					 bool on)
{
	const struct iommu_dirty_ops *dops = dom->dirty_ops;
	const struct iopt_area *area;

	/* Turning it on starts from a clean slate: old dirt is forgotten. */
	for (area = on ? iopt_area_iter_first(iopt, 0, ULONG_MAX) : NULL; area;
	     area = iopt_area_iter_next(iopt, area, ULONG_MAX)) {
		int rc;

		if (!area->filled)
			continue;
		rc = dops->read_and_clear_dirty(dom, area->iova, iopt_area_length(area), 0, NULL);
		if (rc)
			return rc;
	}
	return dops->set_dirty_tracking(dom, on);
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
		struct iopt_area *area;
		bool covered = false;

		/* Contiguous areas must cover the window. */
		area = iopt_area_iter_first(iopt, cur, wlast);
		rc = copy_from_user(host, win, uptr + bit / 8, wbytes);
		if (rc)
			break;
		for (; area && area->iova <= cur; area = iopt_area_iter_next(iopt, area, wlast)) {
			unsigned long alast = min_t(unsigned long, area->last, wlast);

			rc = ops->read_and_clear_dirty(domain, cur, alast - cur + 1, flags, &dirty);
			if (rc)
				break;
			if (alast == wlast) {
				covered = true;
				break;
			}
			cur = alast + 1;
		}
		if (!rc && !covered)
			rc = -EINVAL;	/* a gap in the areas */
		if (!rc)
			rc = copy_to_user(host, uptr + bit / 8, win, wbytes);
	}
	if (!(flags & PT_DIRTY_NO_CLEAR))
		iommu_dma_gate_end();
	return rc;
}

/* ------------------------------------------------------------- accesses */

/* @acc joins the IOAS; its alignment needs join the IOAS's. */
int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *acc)
{
	struct iommufd_access **list;
	int rc;

	list = iommufd_realloc_array(iopt->accesses, iopt->nr_accesses + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	iopt->accesses = list;
	list[iopt->nr_accesses++] = acc;
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
	struct iopt_area *area = iopt_area_iter_first(iopt, iova, last);
	unsigned long cur = iova;
	int rc;

	for (; area; area = iopt_area_iter_next(iopt, area, last)) {
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
	struct io_pagetable *iopt;
	uint64_t *out_pa;
	unsigned int flags;
	bool lock_area;
	unsigned long done_first, done_last; /* IOVA pinned so far, for unwind */
	bool any;
};

/* Whether an access pins inside @area, which an unmap must then read to judge. */
static bool area_held(const struct iopt_area *area)
{
	return area->num_accesses || area->num_locks;
}

/* Keep iopt->nr_held_areas the count of held areas as an access pins or unpins in @area. */
static void area_hold_changed(struct io_pagetable *iopt, const struct iopt_area *area, bool was)
{
	if (area_held(area) != was)
		iopt->nr_held_areas += was ? -1 : 1;
}

static unsigned long iopt_area_byte(const struct iopt_area *area, unsigned long iova)
{
	return area->start_byte + (iova - area->iova);
}

/* Whether the area's IOMMU protection lets an access of @rw_flags through. */
static bool iopt_area_prot_ok(const struct iopt_area *area, unsigned int rw_flags)
{
	int need = (rw_flags & IOMMUFD_ACCESS_RW_WRITE) ? IOMMU_WRITE : IOMMU_READ;

	return (area->iommu_prot & need) != 0;
}

static int access_pin_piece(void *arg, struct iopt_area *area, unsigned long first,
			    unsigned long last, bool first_piece, bool last_piece)
{
	struct access_pin *ap = arg;
	unsigned long first_index = iopt_area_byte(area, first) / PAGE_SIZE;
	unsigned long last_index = iopt_area_byte(area, last) / PAGE_SIZE;
	unsigned long idx;
	bool held;
	int rc;

	/* Pieces must meet on page boundaries; nothing pins past a notify. */
	if (area->prevent_access ||
	    (!first_piece && iopt_area_byte(area, first) % PAGE_SIZE) ||
	    (!last_piece && (iopt_area_byte(area, last) + 1) % PAGE_SIZE))
		return -EINVAL;
	if (!iopt_area_prot_ok(area, ap->flags))
		return -EPERM;
	rc = iopt_pin_pages(ap->iopt, area->pages, first_index, last_index);
	if (rc)
		return rc;
	held = area_held(area);
	area->num_accesses++;
	if (ap->lock_area)
		area->num_locks++;
	area_hold_changed(ap->iopt, area, held);
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
	struct io_pagetable *iopt;
	bool unlock_area;
};

static int access_unpin_piece(void *arg, struct iopt_area *area, unsigned long first,
			      unsigned long last, bool first_piece, bool last_piece)
{
	struct access_unpin *au = arg;
	bool held = area_held(area);

	iopt_pages_unpin(area->pages, iopt_area_byte(area, first) / PAGE_SIZE,
			 iopt_area_byte(area, last) / PAGE_SIZE);
	if (area->num_accesses)
		area->num_accesses--;
	if (au->unlock_area && area->num_locks)
		area->num_locks--;
	area_hold_changed(au->iopt, area, held);
	return 0;
}

void iopt_access_unpin_pages(struct io_pagetable *iopt, unsigned long iova,
			     unsigned long length, bool unlock_area)
{
	struct access_unpin au = { .iopt = iopt, .unlock_area = unlock_area };

	if (!length)
		return;
	iopt_for_each_contig_piece(iopt, iova, iova + length - 1, access_unpin_piece, &au);
}

int iopt_access_pin_pages(struct io_pagetable *iopt, unsigned long start, unsigned long len,
			  uint64_t *out_pa, unsigned int rw_flags, bool lock_area)
{
	struct access_pin ap = {
		.iopt = iopt, .out_pa = out_pa, .flags = rw_flags, .lock_area = lock_area,
	};
	unsigned long last;
	int rc;

	rc = iova_span_last(start, len, &last);
	if (rc)
		return rc;
	rc = iopt_for_each_contig_piece(iopt, start, last, access_pin_piece, &ap);
	/* Undo the pieces pinned before the one that failed. */
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

int iopt_access_rw(struct io_pagetable *iopt, unsigned long start, void *data, size_t len,
		   unsigned int rw_flags)
{
	struct access_rw rw = { .data = data, .flags = rw_flags };
	unsigned long last;
	int rc = iova_span_last(start, len, &last);

	return rc ? rc : iopt_for_each_contig_piece(iopt, start, last, access_rw_piece, &rw);
}

int iopt_access_rw_user(struct io_pagetable *iopt, unsigned long start, uint64_t uptr, size_t len,
			unsigned int rw_flags)
{
	struct iopt_area *area;
	unsigned long last;

	if (iova_span_last(start, len, &last))
		return -EAGAIN;
	/* One area whole, and nothing to refuse: anything else takes the bounce. */
	area = iopt->access_area;
	if (!area || iopt->access_gen != iopt->areas.gen || area->iova > start || area->last < last) {
		area = iopt_area_iter_first(iopt, start, last);
		if (!area || area->iova > start || area->last < last)
			return -EAGAIN;
		iopt->access_area = area;
		iopt->access_gen = iopt->areas.gen;
	}
	if (!area->pages || area->prevent_access || !iopt_area_prot_ok(area, rw_flags))
		return -EAGAIN;
	return iopt_pages_rw_user_direct(area->pages, iopt_area_byte(area, start), uptr, len,
					 rw_flags);
}
