// SPDX-License-Identifier: MIT
/*
 * The IOAS ioctls; docs/uapi-behaviour.md is their specification.
 *
 * Every handler runs the same four steps, and only in this order, so that
 * a request with several faults reports the kernel's errno:
 *   check   the argument on its own: flags and reserved fields, values
 *           that must fit an unsigned long, then value rules;
 *   find    the object(s) by ID, each held by a user reference;
 *   act     the work, done by io_pagetable.c;
 *   answer  output fields filled in and the struct copied back, on
 *           success only (IOVA_RANGES alone answers before its EMSGSIZE).
 * The rules the three MAP-like calls share (flags, protection, IOVA mode)
 * are written once, below, so they cannot drift apart.
 */
#include <stdlib.h>
#include <string.h>

#include "core/io_pagetable.h"
#include "core/ioas.h"

#define MAP_FLAGS_KNOWN \
	(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)
#define MAP_FLAGS_ACCESS (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)

/* uAPI IOVAs and lengths are 64 bit; ours must fit with ULONG_MAX to spare. */
static bool fits_ulong(uint64_t v)
{
	return v < ULONG_MAX;
}

/*
 * The argument checks of MAP, MAP_FILE and COPY.  @must_be_zero folds the
 * reserved fields of the struct; @vals are its IOVAs and lengths.
 */
static int map_args_check(uint32_t flags, uint64_t must_be_zero, const uint64_t *vals,
			  size_t nvals)
{
	size_t k;

	if ((flags & ~MAP_FLAGS_KNOWN) || must_be_zero)
		return -EOPNOTSUPP;
	for (k = 0; k < nvals; k++)
		if (!fits_ulong(vals[k]))
			return -EOVERFLOW;
	if (!(flags & MAP_FLAGS_ACCESS))
		return -EINVAL;
	return 0;
}

/* Users get no cache maintenance calls, so their DMA is always coherent. */
static int map_prot(uint32_t flags)
{
	int prot = IOMMU_CACHE;

	if (flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOMMU_READ;
	if (flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOMMU_WRITE;
	return prot;
}

static unsigned int map_iova_mode(uint32_t flags)
{
	return (flags & IOMMU_IOAS_MAP_FIXED_IOVA) ? 0 : IOPT_ALLOC_IOVA;
}

struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ctx, uint32_t id)
{
	struct iommufd_object *found = iommufd_get_object(ctx, id, IOMMUFD_OBJ_IOAS);

	if (IS_ERR(found))
		return (struct iommufd_ioas *)found;
	return container_of(found, struct iommufd_ioas, obj);
}

/* The "find" step: 0 with a held reference in *@out, or the lookup errno. */
static int ioas_find(struct iommufd_ucmd *uc, uint32_t id, struct iommufd_ioas **out)
{
	struct iommufd_ioas *ioas = iommufd_get_ioas(uc->ictx, id);

	if (IS_ERR(ioas))
		return (int)PTR_ERR(ioas);
	*out = ioas;
	return 0;
}

static void ioas_release(struct iommufd_ucmd *uc, struct iommufd_ioas *ioas)
{
	iommufd_put_object(uc->ictx, &ioas->obj);
}

/* Reserved, not yet published: the caller finalizes or aborts it. */
struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ctx)
{
	struct iommufd_ioas *fresh = iommufd_object_alloc(ctx, fresh, IOMMUFD_OBJ_IOAS);

	if (!IS_ERR(fresh))
		iopt_init_table(&fresh->iopt, ctx);
	return fresh;
}

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *dying = container_of(obj, struct iommufd_ioas, obj);

	iopt_destroy_table(&dying->iopt);
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *uc)
{
	struct iommu_ioas_alloc *req = uc->cmd;
	struct iommufd_ioas *fresh;

	if (req->flags)
		return -EOPNOTSUPP;

	/* Dispatch publishes it once the answer is out, or destroys it. */
	fresh = iommufd_object_alloc_ucmd(uc, fresh, IOMMUFD_OBJ_IOAS);
	if (IS_ERR(fresh))
		return (int)PTR_ERR(fresh);
	iopt_init_table(&fresh->iopt, uc->ictx);

	req->out_ioas_id = fresh->obj.id;
	return iommufd_ucmd_respond(uc, sizeof(*req));
}

/* IOVA_RANGES output: the user's array, its room, and the holes seen so far. */
struct hole_report {
	struct uiommufd_host *host;
	uint64_t dst;
	uint32_t room;
	uint32_t seen;
};

static int report_hole(void *opaque, unsigned long first, unsigned long last)
{
	struct hole_report *rep = opaque;
	struct iommu_iova_range out = { .start = first, .last = last };
	uint64_t at = rep->dst + (uint64_t)rep->seen * sizeof(out);

	/* Past the room a hole is only counted. */
	if (rep->seen < rep->room && copy_to_user(rep->host, at, &out, sizeof(out)))
		return -EFAULT;
	rep->seen++;
	return 0;
}

int iommufd_ioas_iova_ranges(struct iommufd_ucmd *uc)
{
	struct iommu_ioas_iova_ranges *req = uc->cmd;
	struct hole_report rep = {
		.host = uc->ictx->host, .dst = req->allowed_iovas, .room = req->num_iovas,
	};
	struct iommufd_ioas *ioas = NULL;
	int rc;

	if (req->__reserved)
		return -EOPNOTSUPP;
	rc = ioas_find(uc, req->ioas_id, &ioas);
	if (rc)
		return rc;

	rc = iopt_for_each_iova_hole(&ioas->iopt, report_hole, &rep);
	if (!rc) {
		req->num_iovas = rep.seen;
		req->out_iova_alignment = ioas->iopt.iova_alignment;
		rc = iommufd_ucmd_respond(uc, sizeof(*req));
	}
	/* A short array still learns the count it needs. */
	if (!rc && rep.seen > rep.room)
		rc = -EMSGSIZE;
	ioas_release(uc, ioas);
	return rc;
}

/* The allowed ranges read so far; grows only with entries really read. */
struct span_buf {
	struct iopt_span *v;
	size_t n;
	size_t cap;
};

static int span_buf_push(struct span_buf *sb, uint64_t start, uint64_t last)
{
	if (sb->n == sb->cap) {
		size_t want = sb->cap ? 2 * sb->cap : 16;
		struct iopt_span *bigger = iommufd_realloc_array(sb->v, want, sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		sb->v = bigger;
		sb->cap = want;
	}
	sb->v[sb->n].start = start;
	sb->v[sb->n].last = last;
	sb->n++;
	return 0;
}

static int span_by_start(const void *a, const void *b)
{
	const struct iopt_span *l = a, *r = b;

	if (l->start != r->start)
		return l->start < r->start ? -1 : 1;
	return 0;
}

/*
 * Read @count user ranges at @src one at a time into @sb, stopping at the
 * first that faults or is empty, then sort them.  Checking each entry
 * against the earlier ones as it arrives would report an overlap before a
 * later fault; so does checking the sorted prefix afterwards, where an
 * overlap always shows between neighbours.
 */
static int load_allowed(struct uiommufd_host *host, uint64_t src, uint32_t count,
			struct span_buf *sb)
{
	int stop = 0;
	size_t k;

	for (k = 0; k < count && !stop; k++) {
		struct iommu_iova_range in;

		if (copy_from_user(host, &in, src + k * sizeof(in), sizeof(in)))
			stop = -EFAULT;
		else if (in.start >= in.last)
			stop = -EINVAL;
		else
			stop = span_buf_push(sb, in.start, in.last);
	}
	if (sb->n > 1)
		qsort(sb->v, sb->n, sizeof(*sb->v), span_by_start);
	for (k = 1; k < sb->n; k++)
		if (sb->v[k].start <= sb->v[k - 1].last)
			return -EINVAL;
	return stop;
}

int iommufd_ioas_allow_iovas(struct iommufd_ucmd *uc)
{
	struct iommu_ioas_allow_iovas *req = uc->cmd;
	struct span_buf sb = { 0 };
	struct iommufd_ioas *ioas = NULL;
	int rc;

	if (req->__reserved)
		return -EOPNOTSUPP;
	rc = ioas_find(uc, req->ioas_id, &ioas);
	if (rc)
		return rc;

	rc = load_allowed(uc->ictx->host, req->allowed_iovas, req->num_iovas, &sb);
	/* The new set goes in whole or not at all; on success the table owns it. */
	if (!rc)
		rc = iopt_set_allow_iova(&ioas->iopt, sb.v, sb.n);
	if (rc)
		free(sb.v);
	ioas_release(uc, ioas);
	return rc;
}

int iommufd_ioas_map(struct iommufd_ucmd *uc)
{
	struct iommu_ioas_map *req = uc->cmd;
	const uint64_t bounds[] = { req->iova, req->length };
	unsigned long where = req->iova;
	struct iommufd_ioas *ioas = NULL;
	int rc;

	rc = map_args_check(req->flags, req->__reserved, bounds, ARRAY_SIZE(bounds));
	if (!rc)
		rc = ioas_find(uc, req->ioas_id, &ioas);
	if (rc)
		return rc;

	rc = iopt_map_user_pages(uc->ictx, &ioas->iopt, &where, req->user_va, req->length,
				 map_prot(req->flags), map_iova_mode(req->flags));
	if (!rc) {
		req->iova = where;
		rc = iommufd_ucmd_respond(uc, sizeof(*req));
	}
	ioas_release(uc, ioas);
	return rc;
}

/* [start, start + len) lies within @size bytes. */
static bool range_within(uint64_t start, uint64_t len, uint64_t size)
{
	uint64_t end;

	return !check_add_overflow(start, len, &end) && end <= size;
}

/* MAP_FILE of the selftest's dma-buf: device memory, mapped as MMIO.  Consumes @ref. */
static int map_file_dmabuf(struct iommufd_ucmd *uc, struct iommufd_ioas *ioas,
			   const struct iommu_ioas_map_file *req, struct iommufd_dmabuf *buf,
			   struct host_anon *ref, unsigned long *where)
{
	struct uiommufd_host *host = uc->ictx->host;
	int rc;

	rc = -ENODEV;
	if (buf->revoked)
		goto drop_ref;
	rc = -EINVAL;
	if (!req->length || !range_within(req->start, req->length, buf->length))
		goto drop_ref;
	/* The mapping owns @ref from here, whatever happens. */
	return iopt_map_dmabuf_pages(uc->ictx, &ioas->iopt, where, buf, ref, req->start,
				     req->length, map_prot(req->flags),
				     map_iova_mode(req->flags));

drop_ref:
	host->ops->anon_put(host, ref);
	return rc;
}

/* MAP_FILE of an ordinary file: the range must lie inside it as it is now. */
static int map_file_plain(struct iommufd_ucmd *uc, struct iommufd_ioas *ioas,
			  const struct iommu_ioas_map_file *req, unsigned long *where)
{
	struct uiommufd_host *host = uc->ictx->host;
	struct host_file *file;
	int64_t size;
	int rc;

	rc = host->ops->file_get(host, req->fd, &file);
	if (rc)
		return rc;
	size = host->ops->file_size(host, file);
	if (size < 0) {
		rc = (int)size;
		goto put_file;
	}
	rc = -EINVAL;
	if (!range_within(req->start, req->length, (uint64_t)size))
		goto put_file;
	/* The mapping owns the file reference from here, whatever happens. */
	return iopt_map_file_pages(uc->ictx, &ioas->iopt, where, file, req->start, req->length,
				   map_prot(req->flags), map_iova_mode(req->flags));

put_file:
	host->ops->file_put(host, file);
	return rc;
}

int iommufd_ioas_map_file(struct iommufd_ucmd *uc)
{
	struct iommu_ioas_map_file *req = uc->cmd;
	struct uiommufd_host *host = uc->ictx->host;
	const uint64_t bounds[] = { req->iova, req->length };
	unsigned long where = req->iova;
	struct host_anon *ref = NULL;
	struct iommufd_dmabuf *buf;
	struct iommufd_ioas *ioas = NULL;
	int rc;

	rc = map_args_check(req->flags, 0, bounds, ARRAY_SIZE(bounds));
	if (!rc)
		rc = ioas_find(uc, req->ioas_id, &ioas);
	if (rc)
		return rc;

	/* As the kernel, try the descriptor as a dma-buf before as a file. */
	buf = host->ops->anon_get(host, req->fd, &iommufd_test_dmabuf_fops, &ref);
	if (buf)
		rc = map_file_dmabuf(uc, ioas, req, buf, ref, &where);
	else
		rc = map_file_plain(uc, ioas, req, &where);
	if (!rc) {
		req->iova = where;
		rc = iommufd_ucmd_respond(uc, sizeof(*req));
	}
	ioas_release(uc, ioas);
	return rc;
}

int iommufd_ioas_copy(struct iommufd_ucmd *uc)
{
	struct iommu_ioas_copy *req = uc->cmd;
	const uint64_t bounds[] = { req->length, req->src_iova, req->dst_iova };
	struct iommufd_ioas *from = NULL, *to = NULL;
	struct iopt_pages_list *pieces;
	unsigned long where;
	size_t npieces;
	int rc;

	rc = map_args_check(req->flags, 0, bounds, ARRAY_SIZE(bounds));
	if (!rc)
		rc = ioas_find(uc, req->src_ioas_id, &from);
	if (rc)
		return rc;

	/* The pieces hold the pages; the source may go meanwhile. */
	rc = iopt_get_pages(&from->iopt, req->src_iova, req->length, &pieces, &npieces);
	ioas_release(uc, from);
	if (rc)
		return rc;

	rc = ioas_find(uc, req->dst_ioas_id, &to);
	if (rc)
		goto drop_pieces;
	where = req->dst_iova;
	rc = iopt_map_pages(&to->iopt, pieces, npieces, req->length, &where,
			    map_prot(req->flags), map_iova_mode(req->flags));
	if (!rc) {
		req->dst_iova = where;
		rc = iommufd_ucmd_respond(uc, sizeof(*req));
	}
	ioas_release(uc, to);
drop_pieces:
	iopt_free_pages_list(pieces, npieces);
	return rc;
}

int iommufd_ioas_unmap(struct iommufd_ucmd *uc)
{
	struct iommu_ioas_unmap *req = uc->cmd;
	unsigned long gone = 0;
	struct iommufd_ioas *ioas = NULL;
	int rc;

	rc = ioas_find(uc, req->ioas_id, &ioas);
	if (rc)
		return rc;

	if (!req->iova && req->length == UINT64_MAX) {
		rc = iopt_unmap_all(&ioas->iopt, &gone);
	} else if (!fits_ulong(req->iova) || !fits_ulong(req->length)) {
		rc = -EOVERFLOW;
	} else {
		rc = iopt_unmap_iova(&ioas->iopt, req->iova, req->length, &gone);
		/* A range over no area at all unmapped nothing: that is an error. */
		if (!rc && !gone)
			rc = -ENOENT;
	}
	if (!rc) {
		req->length = gone;
		rc = iommufd_ucmd_respond(uc, sizeof(*req));
	}
	ioas_release(uc, ioas);
	return rc;
}

/* IOMMU_OPTION_HUGE_PAGES on one IOAS; GET answers in val64. */
static int huge_pages_option(struct io_pagetable *iopt, struct iommu_option *opt)
{
	switch (opt->op) {
	case IOMMU_OPTION_OP_GET:
		opt->val64 = iopt->disable_large_pages ? 0 : 1;
		return 0;
	case IOMMU_OPTION_OP_SET:
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (opt->val64 == 1) {
		iopt_enable_large_pages(iopt);
		return 0;
	}
	if (opt->val64 == 0)
		return iopt_disable_large_pages(iopt);
	return -EINVAL;
}

/* main.c routes the per-IOAS options here and copies val64 back. */
int iommufd_ioas_option(struct iommufd_ucmd *uc)
{
	struct iommu_option *req = uc->cmd;
	struct iommufd_ioas *ioas = NULL;
	int rc;

	if (req->__reserved)
		return -EOPNOTSUPP;
	rc = ioas_find(uc, req->object_id, &ioas);
	if (rc)
		return rc;

	if (req->option_id == IOMMU_OPTION_HUGE_PAGES)
		rc = huge_pages_option(&ioas->iopt, req);
	else
		rc = -EOPNOTSUPP;
	ioas_release(uc, ioas);
	return rc;
}

/* Only areas backed by a file can have their charge moved. */
static bool areas_all_file_backed(const struct io_pagetable *iopt)
{
	struct iopt_area *area;

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(iopt, area, ULONG_MAX))
		if (!iopt_pages_is_file(area->pages))
			return false;
	return true;
}

/*
 * IOAS_CHANGE_PROCESS moves the charge of every pinned page to the caller.
 * A host serving one process has nobody else to move it from, so once the
 * checks pass there is nothing left to do.
 */
int iommufd_ioas_change_process(struct iommufd_ucmd *uc)
{
	struct iommu_ioas_change_process *req = uc->cmd;
	struct iommufd_ctx *ctx = uc->ictx;
	uint32_t id;
	int rc = 0;

	if (req->__reserved)
		return -EOPNOTSUPP;

	/* Every IOAS of the context, by ID; other object types are skipped. */
	for (id = 1; id < ctx->nr_slots && !rc; id++) {
		struct iommufd_ioas *ioas = iommufd_get_ioas(ctx, id);

		if (IS_ERR(ioas))
			continue;
		if (!areas_all_file_backed(&ioas->iopt))
			rc = -EINVAL;
		iommufd_put_object(ctx, &ioas->obj);
	}
	return rc;
}

/* ---- IOMMU_IOAS_NOIOMMU_GET_PA */

/*
 * A no-IOMMU device reaches memory by physical address, so its driver
 * asks where an IOVA's page really is.  The answer is read from a paging
 * domain of the IOAS: a device attached there is what keeps the pages
 * pinned, and a pinned page's address is stable.  The walk goes leaf by
 * leaf while the next leaf follows on physically, up to the caller's limit
 * (0: none).  docs/uapi-behaviour.md, "VFIO groups and cdevs".
 */
static int noiommu_walk(struct iommu_domain *dom, unsigned long iova, uint64_t limit,
			uint64_t *phys, uint64_t *len)
{
	struct pt_walk_result res;
	uint64_t run = 0, expect = 0;
	unsigned long at = iova;

	if (!dom->ops->translate)
		return -ENOENT;
	while (!limit || run < limit) {
		uint64_t leaf, in_leaf;

		if (dom->ops->translate(dom, at, 0, &res))
			break;
		if (run && res.oa != expect)
			break;
		if (!run)
			*phys = res.oa;
		leaf = 1ULL << res.pgsize_lg2;
		in_leaf = leaf - (res.oa & (leaf - 1));
		run += in_leaf;
		expect = res.oa + in_leaf;
		if (check_add_overflow(at, (unsigned long)in_leaf, &at) || !at)
			break;
	}
	if (!run)
		return -ENOENT;
	*len = limit && run > limit ? limit : run;
	return 0;
}

int iommufd_ioas_noiommu_get_pa(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_noiommu_get_pa *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	uint64_t phys = 0, len = 0;
	int rc;

	if (cmd->flags || cmd->__reserved)
		return -EOPNOTSUPP;
	/* Physical addresses are only handed out where unprotected DMA exists. */
	if (!__atomic_load_n(&iommufd_vfio_noiommu_enabled, __ATOMIC_RELAXED))
		return -EPERM;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return (int)PTR_ERR(ioas);
	rc = ioas->iopt.nr_domains ? noiommu_walk(ioas->iopt.domains[0], cmd->iova, cmd->length,
						  &phys, &len)
				   : -ENOENT;
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	if (rc)
		return rc;
	cmd->out_phys = phys;
	cmd->length = len;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}
