// SPDX-License-Identifier: MIT
/*
 * The VFIO type1 container, served by an iommufd context, and
 * IOMMU_VFIO_IOAS, which names the IOAS the container calls act on.
 * docs/uapi-behaviour.md states every rule this file keeps.
 *
 * How it is put together:
 *  - ictx->vfio_ioas, the compat IOAS, is a weak pointer: main.c clears it
 *    when that IOAS object is destroyed.  A call that uses it holds a users
 *    reference for its own duration (compat_ioas_hold/drop).
 *  - The container calls are one table, matched on the whole ioctl number;
 *    a number not in it is ENOTTY, VFIO_IOMMU_DIRTY_PAGES included.
 *  - A call with a struct reads a fixed head of it and judges argsz against
 *    that head (type1_read_head), as type1 does, never against sizeof.
 *  - GET_INFO lays out its capability chain through a sink that knows the
 *    caller's argsz and stores nothing past it; a short buffer learns the
 *    size it needs.
 *  - Type1 v1 may unmap a piece of a mapping.  With large IOPTEs turned off
 *    (SET_IOMMU) any page boundary can become an area boundary, so an unmap
 *    first cuts areas at the two edges of its range and then removes whole
 *    areas, exactly as a v2 unmap does.
 */
#include <string.h>

#include "core/io_pagetable.h"
#include "core/ioas.h"
#include "uapi/vfio.h"

/* Bytes of a type1 struct up to and including @field. */
#define TYPE1_HEAD(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* What each call reads; argsz must be at least this. */
static const size_t info_head = TYPE1_HEAD(struct vfio_iommu_type1_info, iova_pgsizes);
static const size_t map_head = TYPE1_HEAD(struct vfio_iommu_type1_dma_map, size);
static const size_t unmap_head = TYPE1_HEAD(struct vfio_iommu_type1_dma_unmap, size);

/* Capabilities start on 8-byte boundaries. */
#define CAP_ALIGN 8u

/* The MAP_DMA flags line up with the IOMMU prot bits; the map uses that. */
_Static_assert(VFIO_DMA_MAP_FLAG_READ == IOMMU_READ && VFIO_DMA_MAP_FLAG_WRITE == IOMMU_WRITE,
	       "type1 map flags double as prot bits");

/* The compat IOAS, referenced until compat_ioas_drop(); ENODEV when unset. */
static struct iommufd_ioas *compat_ioas_hold(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *target = ictx->vfio_ioas;

	if (!target)
		return ERR_PTR(-ENODEV);
	target->obj.users++;
	return target;
}

static void compat_ioas_drop(struct iommufd_ctx *ictx, struct iommufd_ioas *target)
{
	iommufd_put_object(ictx, &target->obj);
}

/*
 * Copy the first @len bytes of the type1 struct at @uarg to @dst.  Every
 * such struct opens with its __u32 argsz, which must cover those bytes.
 */
static int type1_read_head(struct iommufd_ctx *ictx, uint64_t uarg, void *dst, size_t len)
{
	uint32_t argsz;

	if (copy_from_user(ictx->host, dst, uarg, len))
		return -EFAULT;
	memcpy(&argsz, dst, sizeof(argsz));
	if (argsz < len)
		return -EINVAL;
	return 0;
}

/* ---- IOMMU_VFIO_IOAS */

static int vfio_ioas_report(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *args = ucmd->cmd;
	struct iommufd_ioas *cur = ucmd->ictx->vfio_ioas;

	if (!cur)
		return -ENODEV;
	args->ioas_id = cur->obj.id;
	return iommufd_ucmd_respond(ucmd, sizeof(*args));
}

static int vfio_ioas_choose(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *args = ucmd->cmd;
	struct iommufd_ioas *found = iommufd_get_ioas(ucmd->ictx, args->ioas_id);

	if (IS_ERR(found))
		return PTR_ERR(found);
	/* Kept without a reference; see the top of the file. */
	ucmd->ictx->vfio_ioas = found;
	iommufd_put_object(ucmd->ictx, &found->obj);
	return 0;
}

int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	const struct iommu_vfio_ioas *args = ucmd->cmd;

	/* The reserved field is judged before the op. */
	if (args->__reserved)
		return -EOPNOTSUPP;
	if (args->op == IOMMU_VFIO_IOAS_GET)
		return vfio_ioas_report(ucmd);
	if (args->op == IOMMU_VFIO_IOAS_SET)
		return vfio_ioas_choose(ucmd);
	if (args->op == IOMMU_VFIO_IOAS_CLEAR) {
		ucmd->ictx->vfio_ioas = NULL;
		return 0;
	}
	return -EOPNOTSUPP;
}

/* ---- VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU */

static int type1_api_version(struct iommufd_ctx *ictx, uint64_t arg)
{
	(void)ictx;
	(void)arg;
	return VFIO_API_VERSION;
}

/* VFIO_DMA_CC_IOMMU: no HWPT of the compat IOAS may let no-snoop through. */
static int type1_coherent(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *target = compat_ioas_hold(ictx);
	const struct iommufd_hwpt_paging *walk;
	int coherent = 1;

	if (IS_ERR(target))
		return PTR_ERR(target);
	for (walk = target->hwpt_list; walk && coherent; walk = walk->ioas_next)
		coherent = walk->enforce_cache_coherency;
	compat_ioas_drop(ictx, target);
	return coherent;
}

static int type1_check_extension(struct iommufd_ctx *ictx, uint64_t ext)
{
	/* Answered yes whatever the context holds. */
	static const uint64_t offered[] = { VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU, VFIO_UNMAP_ALL };
	size_t k;

	if (ext == VFIO_DMA_CC_IOMMU)
		return type1_coherent(ictx);
	/* As a kernel built with no-IOMMU support: when devices need it. */
	if (ext == VFIO_NOIOMMU_IOMMU)
		return __atomic_load_n(&iommufd_vfio_noiommu_enabled, __ATOMIC_RELAXED) ? 1 : 0;
	for (k = 0; k < ARRAY_SIZE(offered); k++)
		if (offered[k] == ext)
			return 1;
	/* No VADDR updates, no nesting or SPAPR types. */
	return 0;
}

static int type1_set_iommu(struct iommufd_ctx *ictx, uint64_t model)
{
	struct iommufd_ioas *target;
	int rc;

	/*
	 * A context a no-IOMMU group joined takes the no-IOMMU model and
	 * nothing else; without such a group that model is refused like any
	 * unknown one.
	 */
	if (model == VFIO_NOIOMMU_IOMMU && ictx->no_iommu_mode)
		return 0;
	if ((model != VFIO_TYPE1v2_IOMMU && model != VFIO_TYPE1_IOMMU) || ictx->no_iommu_mode)
		return -EINVAL;
	target = compat_ioas_hold(ictx);
	if (IS_ERR(target))
		return PTR_ERR(target);
	/*
	 * v2 is what an IOAS does anyway.  v1 needs every IOPTE cuttable at
	 * any page, so no large ones from now on.
	 */
	rc = model == VFIO_TYPE1_IOMMU ? iopt_disable_large_pages(&target->iopt) : 0;
	compat_ioas_drop(ictx, target);
	return rc;
}

/* ---- VFIO_IOMMU_GET_INFO */

/*
 * The caller's info struct at @base, @room bytes long (its argsz as given).
 * Offsets are from @base; nothing is ever stored at @room or past it.
 */
struct cap_sink {
	struct uiommufd_host *host;
	uint64_t base;
	uint64_t room;
};

static bool cap_fits(const struct cap_sink *sink, uint64_t off, uint64_t len)
{
	return off + len <= sink->room;
}

static int cap_put(const struct cap_sink *sink, uint64_t off, const void *src, size_t len)
{
	return copy_to_user(sink->host, sink->base + off, src, len) ? -EFAULT : 0;
}

static void cap_init(struct vfio_info_cap_header *hdr, uint16_t id)
{
	hdr->id = id;
	hdr->version = 1;
	hdr->next = 0;	/* linked by type1_lay_caps() */
}

/*
 * A builder writes its capability at @off if the whole of it fits and
 * returns its length before padding, or -errno.
 */
typedef long (*cap_builder)(struct iommufd_ioas *ioas, const struct cap_sink *sink,
			    uint64_t off);

static long cap_build_dma_avail(struct iommufd_ioas *ioas, const struct cap_sink *sink,
				uint64_t off)
{
	struct vfio_iommu_type1_info_dma_avail out;

	(void)ioas;
	memset(&out, 0, sizeof(out));
	cap_init(&out.header, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	/* Pinned memory is limited, the count of mappings is not. */
	out.avail = UINT32_MAX;
	if (cap_fits(sink, off, sizeof(out)) && cap_put(sink, off, &out, sizeof(out)))
		return -EFAULT;
	return sizeof(out);
}

struct range_writer {
	const struct cap_sink *sink;
	uint64_t slot;		/* offset of the next vfio_iova_range */
	uint32_t nr;
};

/* One usable range; written on its own as soon as it fits. */
static int range_writer_add(void *opaque, unsigned long start, unsigned long last)
{
	struct range_writer *wr = opaque;
	struct vfio_iova_range one = { .start = start, .end = last };

	if (cap_fits(wr->sink, wr->slot, sizeof(one)) &&
	    cap_put(wr->sink, wr->slot, &one, sizeof(one)))
		return -EFAULT;
	wr->slot += sizeof(one);
	wr->nr++;
	return 0;
}

static long cap_build_iova_ranges(struct iommufd_ioas *ioas, const struct cap_sink *sink,
				  uint64_t off)
{
	struct vfio_iommu_type1_info_cap_iova_range out;
	struct range_writer wr = { .sink = sink, .slot = off + sizeof(out) };
	int rc;

	/* The usable ranges are the holes between reserved IOVA. */
	rc = iopt_for_each_iova_hole(&ioas->iopt, range_writer_add, &wr);
	if (rc)
		return rc;
	memset(&out, 0, sizeof(out));
	cap_init(&out.header, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	out.nr_iovas = wr.nr;
	if (cap_fits(sink, off, wr.slot - off) && cap_put(sink, off, &out, sizeof(out)))
		return -EFAULT;
	return (long)(wr.slot - off);
}

/* The chain, in the order it is laid out. */
static const cap_builder type1_caps[] = {
	cap_build_dma_avail,
	cap_build_iova_ranges,
};

/*
 * Lay the chain out after the info struct and link it.  A link is stored
 * once the capability it points at starts within room.  Returns the bytes
 * the struct and the full chain take, or -errno.
 */
static long type1_lay_caps(struct iommufd_ioas *ioas, const struct cap_sink *sink)
{
	uint64_t off = sizeof(struct vfio_iommu_type1_info);
	uint64_t prev_hdr = 0;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(type1_caps); k++) {
		long len = type1_caps[k](ioas, sink, off);

		if (len < 0)
			return len;
		if (prev_hdr && off <= sink->room) {
			uint32_t link = (uint32_t)off;

			if (cap_put(sink, prev_hdr + offsetof(struct vfio_info_cap_header, next),
				    &link, sizeof(link)))
				return -EFAULT;
		}
		prev_hdr = off;
		off += ((uint64_t)len + CAP_ALIGN - 1) / CAP_ALIGN * CAP_ALIGN;
	}
	return (long)off;
}

/*
 * Sizes every domain of the IOAS maps.  A type1 user maps whole CPU pages,
 * so anything smaller is reported as PAGE_SIZE; the IOVA alignment is a
 * floor on the value.
 */
static uint64_t type1_pgsizes(const struct io_pagetable *iopt)
{
	uint64_t small = PAGE_SIZE - 1;
	uint64_t sizes = UINT64_MAX;
	size_t d;

	for (d = 0; d < iopt->nr_domains; d++)
		sizes &= iopt->domains[d]->pgsize_bitmap;
	if (sizes & small)
		sizes = (sizes & ~small) | PAGE_SIZE;
	if (sizes < iopt->iova_alignment)
		sizes = iopt->iova_alignment;
	return sizes;
}

static int type1_get_info(struct iommufd_ctx *ictx, uint64_t uarg)
{
	struct vfio_iommu_type1_info info;
	struct iommufd_ioas *target;
	struct cap_sink sink;
	long need;
	int rc;

	memset(&info, 0, sizeof(info));
	rc = type1_read_head(ictx, uarg, &info, info_head);
	if (rc)
		return rc;
	target = compat_ioas_hold(ictx);
	if (IS_ERR(target))
		return PTR_ERR(target);

	sink.host = ictx->host;
	sink.base = uarg;
	sink.room = info.argsz;
	need = type1_lay_caps(target, &sink);
	if (need >= 0) {
		info.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
		info.iova_pgsizes = type1_pgsizes(&target->iopt);
		/* A short buffer gets no chain, only the size to ask again with. */
		info.cap_offset = (uint64_t)need <= sink.room ? sizeof(info) : 0;
		info.argsz = (uint32_t)need;
		rc = cap_put(&sink, 0, &info, min_t(size_t, sink.room, sizeof(info)));
	} else {
		rc = (int)need;
	}
	compat_ioas_drop(ictx, target);
	return rc;
}

/* ---- VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA */

static int type1_map_dma(struct iommufd_ctx *ictx, uint64_t uarg)
{
	const uint32_t known = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	struct vfio_iommu_type1_dma_map req;
	struct iommufd_ioas *target;
	unsigned long at;
	int rc;

	rc = type1_read_head(ictx, uarg, &req, map_head);
	if (rc)
		return rc;
	/* VFIO_DMA_MAP_FLAG_VADDR included: there are no VADDR updates. */
	if (req.flags & ~known)
		return -EINVAL;
	target = compat_ioas_hold(ictx);
	if (IS_ERR(target))
		return PTR_ERR(target);
	/* A fixed IOVA; pages charged in the context's accounting mode. */
	at = req.iova;
	rc = iopt_map_user_pages(ictx, &target->iopt, &at, req.vaddr, req.size,
				 IOMMU_CACHE | (int)(req.flags & known), 0);
	compat_ioas_drop(ictx, target);
	return rc;
}

/*
 * Type1 v1: make the edges of [iova, iova + size) area edges, the upper one
 * first.  IOVA 0 has nothing below it to cut off.
 */
static int type1_v1_cut(struct io_pagetable *iopt, unsigned long iova, unsigned long size)
{
	unsigned long edge = iova + size - 1;
	int rc;

	rc = iopt_cut_iova(iopt, &edge, 1);
	if (rc || iova == 0)
		return rc;
	edge = iova - 1;
	return iopt_cut_iova(iopt, &edge, 1);
}

/* What must hold or be done before any area goes; nothing is reported on failure. */
static int type1_unmap_prepare(struct io_pagetable *iopt,
			       const struct vfio_iommu_type1_dma_unmap *req)
{
	if (req->flags & VFIO_DMA_UNMAP_FLAG_ALL)
		return req->iova || req->size ? -EINVAL : 0;
	if (!iopt->disable_large_pages)
		return 0;
	return type1_v1_cut(iopt, req->iova, req->size);
}

static int type1_unmap_dma(struct iommufd_ctx *ictx, uint64_t uarg)
{
	struct vfio_iommu_type1_dma_unmap req;
	struct iommufd_ioas *target;
	unsigned long gone = 0;
	int rc;

	rc = type1_read_head(ictx, uarg, &req, unmap_head);
	if (rc)
		return rc;
	/* GET_DIRTY_BITMAP (use the HWPT dirty ioctls) and VADDR are refused. */
	if (req.flags & ~(uint32_t)VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;
	target = compat_ioas_hold(ictx);
	if (IS_ERR(target))
		return PTR_ERR(target);

	rc = type1_unmap_prepare(&target->iopt, &req);
	if (!rc) {
		if (req.flags & VFIO_DMA_UNMAP_FLAG_ALL)
			rc = iopt_unmap_all(&target->iopt, &gone);
		else
			rc = iopt_unmap_iova(&target->iopt, req.iova, req.size, &gone);
		/* The head goes back with the bytes unmapped, failure or not. */
		req.size = gone;
		if (copy_to_user(ictx->host, uarg, &req, unmap_head))
			rc = -EFAULT;
	}
	compat_ioas_drop(ictx, target);
	return rc;
}

/* ---- what VFIO groups ask of the context */

bool iommufd_vfio_noiommu_enabled;

int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, uint32_t *out_ioas_id)
{
	if (!ictx->vfio_ioas)
		return -ENODEV;
	*out_ioas_id = ictx->vfio_ioas->obj.id;
	return 0;
}

int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	/* One container cannot be both translated and untranslated. */
	if (ictx->vfio_ioas)
		return -EINVAL;
	ictx->no_iommu_mode = true;
	return 0;
}

int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *made;

	if (ictx->no_iommu_mode)
		return -EINVAL;
	/* Whatever IOAS the program already chose stays the compat one. */
	if (ictx->vfio_ioas)
		return 0;
	made = iommufd_ioas_alloc(ictx);
	if (IS_ERR(made))
		return (int)PTR_ERR(made);
	/* Published as if the program made it: IOMMU_DESTROY may take it. */
	iommufd_object_finalize(ictx, &made->obj);
	ictx->vfio_ioas = made;
	return 0;
}

/* ---- the container */

static const struct {
	unsigned int nr;
	int (*run)(struct iommufd_ctx *ictx, uint64_t arg);
} type1_calls[] = {
	{ VFIO_GET_API_VERSION, type1_api_version },
	{ VFIO_CHECK_EXTENSION, type1_check_extension },
	{ VFIO_SET_IOMMU, type1_set_iommu },
	{ VFIO_IOMMU_GET_INFO, type1_get_info },
	{ VFIO_IOMMU_MAP_DMA, type1_map_dma },
	{ VFIO_IOMMU_UNMAP_DMA, type1_unmap_dma },
};

int iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd, uint64_t arg)
{
	size_t k;

	for (k = 0; k < ARRAY_SIZE(type1_calls); k++)
		if (type1_calls[k].nr == cmd)
			return type1_calls[k].run(ictx, arg);
	return -ENOTTY;
}
