// SPDX-License-Identifier: MIT
/*
 * The VFIO type1 container API, served on an iommufd.
 *
 * docs/uapi/vfio_type1.md is the contract this file implements.  Every
 * container call works on one IOAS of the context, the compat IOAS (set with
 * IOMMU_VFIO_IOAS or by the compat attach path); without it they answer
 * ENODEV, as VFIO does before a group joins the container.
 *
 * The calls are plain functions of (context, user argument) found through
 * one table.  Each one pulls the fixed part of its struct in with
 * type1_fetch(), holds the compat IOAS for its duration and hands the work to
 * the io_pagetable.  Type1 v1's "unmap may cut inside a mapping" is had by
 * turning large IOPTEs off at SET_IOMMU time and cutting areas at the range
 * edges before each unmap.
 */
#include <string.h>

#include "core/io_pagetable.h"
#include "core/ioas.h"
#include "uapi/vfio.h"

/* The bytes of a type1 struct up to and including @field. */
#define TYPE1_FIXED(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* Take a reference on the compat IOAS, or say there is none. */
static int compat_hold(struct iommufd_ctx *ctx, struct iommufd_ioas **out)
{
	struct iommufd_ioas *ioas = ctx->vfio_ioas;

	if (!ioas)
		return -ENODEV;
	ioas->obj.users++;
	*out = ioas;
	return 0;
}

static void compat_drop(struct iommufd_ctx *ctx, struct iommufd_ioas *ioas)
{
	iommufd_put_object(ctx, &ioas->obj);
}

/*
 * Read @fixed bytes of a struct whose first u32 is argsz; a caller that says
 * it passed fewer bytes than that is refused.
 */
static int type1_fetch(struct iommufd_ctx *ctx, uint64_t uarg, void *buf, size_t fixed)
{
	uint32_t argsz;

	if (copy_from_user(ctx->host, buf, uarg, fixed))
		return -EFAULT;
	memcpy(&argsz, buf, sizeof(argsz));
	return argsz < fixed ? -EINVAL : 0;
}

int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *req = ucmd->cmd;
	struct iommufd_ctx *ctx = ucmd->ictx;
	struct iommufd_ioas *ioas;
	int err;

	if (req->__reserved)
		return -EOPNOTSUPP;
	if (req->op == IOMMU_VFIO_IOAS_CLEAR) {
		ctx->vfio_ioas = NULL;
		return 0;
	}
	if (req->op == IOMMU_VFIO_IOAS_SET) {
		ioas = iommufd_get_ioas(ctx, req->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		/* No reference kept: destroying the IOAS clears the pointer. */
		ctx->vfio_ioas = ioas;
		iommufd_put_object(ctx, &ioas->obj);
		return 0;
	}
	if (req->op != IOMMU_VFIO_IOAS_GET)
		return -EOPNOTSUPP;
	err = compat_hold(ctx, &ioas);
	if (err)
		return err;
	req->ioas_id = ioas->obj.id;
	compat_drop(ctx, ioas);
	return iommufd_ucmd_respond(ucmd, sizeof(*req));
}

static int type1_map(struct iommufd_ctx *ctx, uint64_t uarg)
{
	const uint32_t known = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	struct vfio_iommu_type1_dma_map req;
	struct iommufd_ioas *ioas;
	unsigned long iova;
	int prot, err;

	err = type1_fetch(ctx, uarg, &req, TYPE1_FIXED(struct vfio_iommu_type1_dma_map, size));
	if (err)
		return err;
	if (req.flags & ~known)
		return -EINVAL;
	prot = IOMMU_CACHE;
	prot |= (req.flags & VFIO_DMA_MAP_FLAG_READ) ? IOMMU_READ : 0;
	prot |= (req.flags & VFIO_DMA_MAP_FLAG_WRITE) ? IOMMU_WRITE : 0;

	err = compat_hold(ctx, &ioas);
	if (err)
		return err;
	iova = req.iova;
	err = iopt_map_user_pages(ctx, &ioas->iopt, &iova, req.vaddr, req.size, prot, 0);
	compat_drop(ctx, ioas);
	return err;
}

/* Type1 v1 semantics: split the areas at the edges of [first, first+len). */
static int type1_cut_edges(struct io_pagetable *iopt, uint64_t first, uint64_t len)
{
	unsigned long edges[2];
	size_t n = 0;

	edges[n++] = first + len - 1;
	if (first)
		edges[n++] = first - 1;
	return iopt_cut_iova(iopt, edges, n);
}

static int type1_unmap(struct iommufd_ctx *ctx, uint64_t uarg)
{
	const size_t fixed = TYPE1_FIXED(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap req;
	unsigned long gone = 0;
	struct iommufd_ioas *ioas;
	int err;

	err = type1_fetch(ctx, uarg, &req, fixed);
	if (err)
		return err;
	/* Dirty harvesting and vaddr updates belong to iommufd proper now. */
	if (req.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;
	err = compat_hold(ctx, &ioas);
	if (err)
		return err;

	if (req.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (req.iova || req.size) {
			err = -EINVAL;
			goto drop_ioas;
		}
		err = iopt_unmap_all(&ioas->iopt, &gone);
	} else {
		if (ioas->iopt.disable_large_pages) {
			err = type1_cut_edges(&ioas->iopt, req.iova, req.size);
			if (err)
				goto drop_ioas;
		}
		err = iopt_unmap_iova(&ioas->iopt, req.iova, req.size, &gone);
	}
	/* Even a failed unmap reports what it did take away. */
	req.size = gone;
	if (copy_to_user(ctx->host, uarg, &req, fixed))
		err = -EFAULT;
drop_ioas:
	compat_drop(ctx, ioas);
	return err;
}

/* 1 when no domain of the compat IOAS lets no-snoop DMA through. */
static int type1_coherent(struct iommufd_ctx *ctx)
{
	struct iommufd_hwpt_paging *walk;
	struct iommufd_ioas *ioas;
	int all = 1, err;

	err = compat_hold(ctx, &ioas);
	if (err)
		return err;
	for (walk = ioas->hwpt_list; walk && all; walk = walk->ioas_next)
		all = walk->enforce_cache_coherency;
	compat_drop(ctx, ioas);
	return all;
}

static int type1_check_extension(struct iommufd_ctx *ctx, uint64_t which)
{
	if (which == VFIO_TYPE1_IOMMU || which == VFIO_TYPE1v2_IOMMU || which == VFIO_UNMAP_ALL)
		return 1;
	if (which == VFIO_DMA_CC_IOMMU)
		return type1_coherent(ctx);
	/* No-IOMMU is not offered here; VADDR updates cannot be made safe. */
	return 0;
}

static int type1_set_iommu(struct iommufd_ctx *ctx, uint64_t which)
{
	struct iommufd_ioas *ioas;
	int err;

	if (which != VFIO_TYPE1_IOMMU && which != VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	err = compat_hold(ctx, &ioas);
	if (err)
		return err;
	/* v1 may unmap part of a mapping: keep every IOPTE splittable. */
	if (which == VFIO_TYPE1_IOMMU)
		err = iopt_disable_large_pages(&ioas->iopt);
	compat_drop(ctx, ioas);
	return err;
}

/* What every domain of @ioas can map, never below the CPU page. */
static uint64_t type1_page_sizes(struct iommufd_ioas *ioas)
{
	const uint64_t small = PAGE_SIZE - 1;
	struct iommufd_hwpt_paging *walk;
	uint64_t sizes = ~(uint64_t)0;

	if (ioas->iopt.disable_large_pages)
		return PAGE_SIZE;
	for (walk = ioas->hwpt_list; walk; walk = walk->ioas_next)
		sizes &= walk->common.domain->pgsize_bitmap;
	if (sizes & small)
		sizes = (sizes & ~small) | PAGE_SIZE;
	return sizes;
}

/*
 * Builds the GET_INFO capability chain in the caller's buffer.  @pos is the
 * offset the next capability goes to; @prev_next the user address of the
 * last written capability's next field (0: none written yet).
 */
struct cap_chain {
	struct iommufd_ctx *ctx;
	uint64_t ubase;
	uint32_t argsz;
	uint32_t pos;
	uint64_t prev_next;
};

/* Whether a capability of @len bytes fits whole at chain->pos. */
static bool chain_room(const struct cap_chain *chain, size_t len)
{
	return (uint64_t)chain->pos + len <= chain->argsz;
}

/* The capability at chain->pos, @len bytes, was written: link and advance. */
static int chain_commit(struct cap_chain *chain, size_t len, bool written)
{
	uint32_t here = chain->pos;

	if (written && chain->prev_next &&
	    copy_to_user(chain->ctx->host, chain->prev_next, &here, sizeof(here)))
		return -EFAULT;
	if (written)
		chain->prev_next = chain->ubase + here +
				   offsetof(struct vfio_info_cap_header, next);
	chain->pos = here + (uint32_t)((len + 7) & ~(size_t)7);
	return 0;
}

static int cap_dma_avail(struct cap_chain *chain, struct iommufd_ioas *ioas)
{
	struct vfio_iommu_type1_info_dma_avail cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
		.avail = UINT32_MAX,	/* no mapping count limit to report */
	};
	bool room = chain_room(chain, sizeof(cap));

	(void)ioas;
	if (room && copy_to_user(chain->ctx->host, chain->ubase + chain->pos, &cap, sizeof(cap)))
		return -EFAULT;
	return chain_commit(chain, sizeof(cap), room);
}

struct hole_writer {
	struct cap_chain *chain;
	uint64_t uranges;	/* 0: only counting */
	uint32_t count;
};

static int hole_put(void *opaque, unsigned long start, unsigned long last)
{
	struct hole_writer *w = opaque;
	struct vfio_iova_range r = { .start = start, .end = last };

	if (w->uranges &&
	    copy_to_user(w->chain->ctx->host, w->uranges + (uint64_t)w->count * sizeof(r), &r,
			 sizeof(r)))
		return -EFAULT;
	w->count++;
	return 0;
}

static int cap_iova_ranges(struct cap_chain *chain, struct iommufd_ioas *ioas)
{
	struct vfio_iommu_type1_info_cap_iova_range head = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1 },
	};
	struct hole_writer w = { .chain = chain };
	size_t len;
	bool room;
	int err;

	/* Count first, so the capability is written only when it fits whole. */
	err = iopt_for_each_iova_hole(&ioas->iopt, hole_put, &w);
	if (err)
		return err;
	head.nr_iovas = w.count;
	len = sizeof(head) + (size_t)w.count * sizeof(struct vfio_iova_range);
	room = chain_room(chain, len);
	if (room) {
		uint64_t at = chain->ubase + chain->pos;

		w.uranges = at + sizeof(head);
		w.count = 0;
		err = iopt_for_each_iova_hole(&ioas->iopt, hole_put, &w);
		if (err)
			return err;
		if (copy_to_user(chain->ctx->host, at, &head, sizeof(head)))
			return -EFAULT;
	}
	return chain_commit(chain, len, room);
}

static int type1_get_info(struct iommufd_ctx *ctx, uint64_t uarg)
{
	static int (*const caps[])(struct cap_chain *, struct iommufd_ioas *) = {
		cap_dma_avail,
		cap_iova_ranges,
	};
	struct vfio_iommu_type1_info info = {};
	struct cap_chain chain;
	struct iommufd_ioas *ioas;
	size_t i, reply;
	int err;

	err = type1_fetch(ctx, uarg, &info,
			  TYPE1_FIXED(struct vfio_iommu_type1_info, iova_pgsizes));
	if (err)
		return err;
	reply = min_t(size_t, info.argsz, sizeof(info));
	err = compat_hold(ctx, &ioas);
	if (err)
		return err;

	chain = (struct cap_chain){ .ctx = ctx, .ubase = uarg, .argsz = info.argsz,
				    .pos = sizeof(info) };
	for (i = 0; i < ARRAY_SIZE(caps) && !err; i++)
		err = caps[i](&chain, ioas);
	if (!err) {
		info.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
		info.iova_pgsizes = type1_page_sizes(ioas);
		/* A short buffer learns the size the whole chain needs. */
		info.cap_offset = info.argsz >= chain.pos ? sizeof(info) : 0;
		info.argsz = chain.pos;
		if (copy_to_user(ctx->host, uarg, &info, reply))
			err = -EFAULT;
	}
	compat_drop(ctx, ioas);
	return err;
}

static int type1_api_version(struct iommufd_ctx *ctx, uint64_t unused)
{
	(void)ctx;
	(void)unused;
	return VFIO_API_VERSION;
}

static const struct {
	unsigned int nr;
	int (*call)(struct iommufd_ctx *ctx, uint64_t arg);
} type1_calls[] = {
	{ VFIO_GET_API_VERSION, type1_api_version },
	{ VFIO_CHECK_EXTENSION, type1_check_extension },
	{ VFIO_SET_IOMMU, type1_set_iommu },
	{ VFIO_IOMMU_GET_INFO, type1_get_info },
	{ VFIO_IOMMU_MAP_DMA, type1_map },
	{ VFIO_IOMMU_UNMAP_DMA, type1_unmap },
};

int iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd, uint64_t arg)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(type1_calls); i++)
		if (type1_calls[i].nr == cmd)
			return type1_calls[i].call(ictx, arg);
	return -ENOTTY;
}
