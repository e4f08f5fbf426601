// SPDX-License-Identifier: MIT
/*
 * VFIO type1 container ioctls on an iommufd, and IOMMU_VFIO_IOAS.
 *
 * A VFIO program that opens /dev/vfio/vfio (or an iommufd) gets type1
 * semantics on top of one IOAS, the "compat IOAS", chosen with
 * IOMMU_VFIO_IOAS or created when a device is attached through the compat
 * path.  Until there is one, the container ioctls fail with ENODEV, as the
 * kernel's do.  The original TYPE1 allows unmapping inside a mapping; it is
 * emulated, as in the kernel, by turning off large pages and cutting areas
 * at the edges of the range.  Legacy maps are always charged VFIO-style.
 */
#include <string.h>

#include "core/io_pagetable.h"
#include "core/ioas.h"
#include "uapi/vfio.h"

static struct iommufd_ioas *get_compat_ioas(struct iommufd_ctx *ictx)
{
	if (!ictx->vfio_ioas)
		return ERR_PTR(-ENODEV);
	ictx->vfio_ioas->obj.users++;
	return ictx->vfio_ioas;
}

int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		ioas = get_compat_ioas(ucmd->ictx);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		cmd->ioas_id = ioas->obj.id;
		iommufd_put_object(ucmd->ictx, &ioas->obj);
		return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		ucmd->ictx->vfio_ioas = ioas;
		iommufd_put_object(ucmd->ictx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		ucmd->ictx->vfio_ioas = NULL;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int iommufd_vfio_map_dma(struct iommufd_ctx *ictx, uint64_t arg)
{
	uint32_t supported_flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	size_t minsz = offsetof(struct vfio_iommu_type1_dma_map, size) + sizeof(uint64_t);
	struct vfio_iommu_type1_dma_map map;
	int iommu_prot = IOMMU_CACHE;
	struct iommufd_ioas *ioas;
	unsigned long iova;
	int rc;

	if (copy_from_user(ictx->host, &map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz || map.flags & ~supported_flags)
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		iommu_prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		iommu_prot |= IOMMU_WRITE;

	ioas = get_compat_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	iova = map.iova;
	rc = iopt_map_user_pages(ictx, &ioas->iopt, &iova, map.vaddr, map.size, iommu_prot, 0);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static int iommufd_vfio_unmap_dma(struct iommufd_ctx *ictx, uint64_t arg)
{
	size_t minsz = offsetof(struct vfio_iommu_type1_dma_unmap, size) + sizeof(uint64_t);
	struct vfio_iommu_type1_dma_unmap unmap;
	unsigned long unmapped = 0;
	struct iommufd_ioas *ioas;
	int rc;

	if (copy_from_user(ictx->host, &unmap, arg, minsz))
		return -EFAULT;
	/* GET_DIRTY_BITMAP is superseded by iommufd dirty tracking. */
	if (unmap.argsz < minsz || unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;

	ioas = get_compat_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova != 0 || unmap.size != 0) {
			rc = -EINVAL;
			goto out_put;
		}
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else {
		if (ioas->iopt.disable_large_pages) {
			/* Cut at both edges; nothing to cut below IOVA 0. */
			unsigned long iovas[] = { unmap.iova + unmap.size - 1, unmap.iova - 1 };

			rc = iopt_cut_iova(&ioas->iopt, iovas, unmap.iova ? 2 : 1);
			if (rc)
				goto out_put;
		}
		rc = iopt_unmap_iova(&ioas->iopt, unmap.iova, unmap.size, &unmapped);
	}
	unmap.size = unmapped;
	if (copy_to_user(ictx->host, arg, &unmap, minsz))
		rc = -EFAULT;
out_put:
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static int iommufd_vfio_cc_iommu(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = get_compat_ioas(ictx);
	struct iommufd_hwpt_paging *hwpt_paging;
	int rc = 1;

	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	/* Every domain must keep no-snoop DMA out. */
	for (hwpt_paging = ioas->hwpt_list; hwpt_paging; hwpt_paging = hwpt_paging->ioas_next)
		if (!hwpt_paging->enforce_cache_coherency)
			rc = 0;
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static int iommufd_vfio_check_extension(struct iommufd_ctx *ictx, unsigned long type)
{
	switch (type) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		return iommufd_vfio_cc_iommu(ictx);
	case VFIO_NOIOMMU_IOMMU:	/* no-IOMMU mode is not offered */
	case VFIO_UPDATE_VADDR:		/* cannot be made safe, as in the kernel */
	default:
		return 0;
	}
}

static int iommufd_vfio_set_iommu(struct iommufd_ctx *ictx, unsigned long type)
{
	struct iommufd_ioas *ioas;
	int rc = 0;

	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	/* VFIO refuses SET_IOMMU before a group is attached. */
	ioas = get_compat_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	/* TYPE1 may unmap inside a mapping: keep IOPTEs splittable. */
	if (type == VFIO_TYPE1_IOMMU)
		rc = iopt_disable_large_pages(&ioas->iopt);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static uint64_t iommufd_get_pagesizes(struct iommufd_ioas *ioas)
{
	uint64_t pgsize_bitmap = ULONG_MAX;
	struct iommufd_hwpt_paging *hwpt_paging;

	/* Only what every domain can map. */
	for (hwpt_paging = ioas->hwpt_list; hwpt_paging; hwpt_paging = hwpt_paging->ioas_next)
		pgsize_bitmap &= hwpt_paging->common.domain->pgsize_bitmap;
	/* Nothing below the CPU page size is offered through type1. */
	if (pgsize_bitmap & (PAGE_SIZE - 1)) {
		pgsize_bitmap &= ~(uint64_t)(PAGE_SIZE - 1);
		pgsize_bitmap |= PAGE_SIZE;
	}
	if (ioas->iopt.disable_large_pages)
		pgsize_bitmap = PAGE_SIZE;
	return pgsize_bitmap;
}

struct fill_cap_iova {
	struct uiommufd_host *host;
	uint64_t ucap;
	size_t avail;
	uint32_t nr_iovas;
};

static int fill_cap_iova_one(void *arg, unsigned long start, unsigned long last)
{
	struct fill_cap_iova *fill = arg;
	struct vfio_iova_range range = { .start = start, .end = last };
	size_t need = sizeof(struct vfio_iommu_type1_info_cap_iova_range) +
		      (fill->nr_iovas + 1) * sizeof(range);

	if (fill->avail >= need &&
	    copy_to_user(fill->host,
			 fill->ucap + sizeof(struct vfio_iommu_type1_info_cap_iova_range) +
				 fill->nr_iovas * sizeof(range),
			 &range, sizeof(range)))
		return -EFAULT;
	fill->nr_iovas++;
	return 0;
}

static int iommufd_fill_cap_iova(struct iommufd_ioas *ioas, struct uiommufd_host *host,
				 uint64_t ucap, size_t avail)
{
	struct vfio_iommu_type1_info_cap_iova_range cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1 },
	};
	struct fill_cap_iova fill = { .host = host, .ucap = ucap, .avail = avail };
	size_t size;
	int rc;

	rc = iopt_for_each_iova_hole(&ioas->iopt, fill_cap_iova_one, &fill);
	if (rc)
		return rc;
	cap.nr_iovas = fill.nr_iovas;
	size = sizeof(cap) + cap.nr_iovas * sizeof(struct vfio_iova_range);
	if (avail >= size && copy_to_user(host, ucap, &cap, sizeof(cap)))
		return -EFAULT;
	return (int)size;
}

static int iommufd_fill_cap_dma_avail(struct iommufd_ioas *ioas, struct uiommufd_host *host,
				      uint64_t ucap, size_t avail)
{
	/* As the kernel: no mapping count limit worth reporting. */
	struct vfio_iommu_type1_info_dma_avail cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
		.avail = UINT32_MAX,
	};

	(void)ioas;
	if (avail >= sizeof(cap) && copy_to_user(host, ucap, &cap, sizeof(cap)))
		return -EFAULT;
	return sizeof(cap);
}

static int iommufd_vfio_iommu_get_info(struct iommufd_ctx *ictx, uint64_t arg)
{
	typedef int (*fill_cap_fn)(struct iommufd_ioas *ioas, struct uiommufd_host *host,
				   uint64_t ucap, size_t avail);
	static const fill_cap_fn fill_fns[] = {
		iommufd_fill_cap_dma_avail,
		iommufd_fill_cap_iova,
	};
	size_t minsz = offsetof(struct vfio_iommu_type1_info, iova_pgsizes) + sizeof(uint64_t);
	struct vfio_iommu_type1_info info = {};
	uint64_t last_cap = 0;
	struct iommufd_ioas *ioas;
	size_t total_cap_size, i;
	int rc;

	if (copy_from_user(ictx->host, &info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	minsz = min_t(size_t, info.argsz, sizeof(info));

	ioas = get_compat_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = iommufd_get_pagesizes(ioas);
	info.cap_offset = 0;

	total_cap_size = sizeof(info);
	for (i = 0; i != ARRAY_SIZE(fill_fns); i++) {
		int cap_size;

		if (info.argsz > total_cap_size)
			cap_size = fill_fns[i](ioas, ictx->host, arg + total_cap_size,
					       info.argsz - total_cap_size);
		else
			cap_size = fill_fns[i](ioas, ictx->host, 0, 0);
		if (cap_size < 0) {
			rc = cap_size;
			goto out_put;
		}
		cap_size = (cap_size + 7) & ~7;
		/* Chain the previous capability to this one if it was written. */
		if (last_cap && info.argsz >= total_cap_size) {
			uint32_t next = (uint32_t)total_cap_size;

			if (copy_to_user(ictx->host,
					 last_cap + offsetof(struct vfio_info_cap_header, next),
					 &next, sizeof(next))) {
				rc = -EFAULT;
				goto out_put;
			}
		}
		last_cap = arg + total_cap_size;
		total_cap_size += cap_size;
	}

	/* A short buffer gets what fits and learns the size it needs. */
	if (info.argsz >= total_cap_size)
		info.cap_offset = sizeof(info);
	info.argsz = total_cap_size;
	info.flags |= VFIO_IOMMU_INFO_CAPS;
	rc = copy_to_user(ictx->host, arg, &info, minsz) ? -EFAULT : 0;
out_put:
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

int iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd, uint64_t arg)
{
	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_SET_IOMMU:
		return iommufd_vfio_set_iommu(ictx, arg);
	case VFIO_CHECK_EXTENSION:
		return iommufd_vfio_check_extension(ictx, arg);
	case VFIO_IOMMU_GET_INFO:
		return iommufd_vfio_iommu_get_info(ictx, arg);
	case VFIO_IOMMU_MAP_DMA:
		return iommufd_vfio_map_dma(ictx, arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return iommufd_vfio_unmap_dma(ictx, arg);
	default:
		return -ENOTTY;
	}
}
