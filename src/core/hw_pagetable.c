// SPDX-License-Identifier: MIT
/*
 * Hardware page tables: the HWPT objects that own IOMMU domains.
 *
 * A paging HWPT owns one kernel-managed domain that mirrors its IOAS: it
 * holds the IOAS, is on the IOAS's list, and is in the IOAS's domain set
 * from allocation to destroy.  An auto HWPT is made by attaching a device to
 * an IOAS and goes with its last device; a manual one (IOMMU_HWPT_ALLOC) is
 * the user's to destroy and is never picked by an automatic attach.
 *
 * A nested HWPT is a user-managed stage 1 on a NEST_PARENT paging HWPT of
 * the same IOMMU: it holds its parent, has no IOAS of its own, and its
 * caches are the user's to invalidate (IOMMU_HWPT_INVALIDATE).  A HWPT made
 * with FAULT_ID_VALID holds its fault queue, which gets its page requests.
 */
#include <stdlib.h>
#include <string.h>

#include "core/io_pagetable.h"
#include "core/ioas.h"
#include "core/eventq.h"

static struct iommufd_hwpt_paging *iommufd_get_hwpt_paging(struct iommufd_ctx *ictx,
							   uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_HWPT_PAGING);

	if (IS_ERR(obj))
		return (void *)obj;
	return to_hwpt_paging(container_of(obj, struct iommufd_hw_pagetable, obj));
}

static void hwpt_paging_unlink(struct iommufd_hwpt_paging *hwpt_paging)
{
	struct iommufd_hwpt_paging **pp;

	for (pp = &hwpt_paging->ioas->hwpt_list; *pp; pp = &(*pp)->ioas_next) {
		if (*pp == hwpt_paging) {
			*pp = hwpt_paging->ioas_next;
			break;
		}
	}
}

/* Take the domain a driver allocated for @hwpt, or its error. */
static int iommufd_hwpt_set_domain(struct iommufd_hw_pagetable *hwpt, const struct iommu_ops *ops,
				   struct iommu_domain *domain)
{
	if (IS_ERR(domain))
		return (int)PTR_ERR(domain);
	domain->owner = ops;
	domain->iommufd_hwpt = hwpt;
	hwpt->domain = domain;
	return 0;
}

static void iommufd_hwpt_put_fault(struct iommufd_hw_pagetable *hwpt)
{
	if (hwpt->fault)
		iommufd_fault_obj(hwpt->fault)->users--;
}

void iommufd_hwpt_nested_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_nested *hwpt_nested =
		to_hwpt_nested(container_of(obj, struct iommufd_hw_pagetable, obj));

	if (hwpt_nested->common.domain)
		iommu_domain_free(hwpt_nested->common.domain);
	iommufd_hwpt_put_fault(&hwpt_nested->common);
	/* One made on a vIOMMU holds the vIOMMU, which holds the parent. */
	if (hwpt_nested->viommu)
		hwpt_nested->viommu->obj.users--;
	else
		hwpt_nested->parent->common.obj.users--;
}

/* Reserve a nested HWPT object; the caller takes its parent and domain. */
static struct iommufd_hwpt_nested *hwpt_nested_reserve(struct iommufd_ctx *ictx, uint32_t flags)
{
	struct iommufd_hwpt_nested *hwpt_nested;

	hwpt_nested = iommufd_object_alloc(ictx, hwpt_nested, IOMMUFD_OBJ_HWPT_NESTED);
	if (!IS_ERR(hwpt_nested))
		hwpt_nested->common.pasid_compat = flags & IOMMU_HWPT_ALLOC_PASID;
	return hwpt_nested;
}

/* Take the driver's nested domain; anything but a nested domain is EINVAL. */
static int hwpt_nested_set_domain(struct iommufd_hw_pagetable *hwpt, const struct iommu_ops *ops,
				  struct iommu_domain *domain)
{
	int rc = iommufd_hwpt_set_domain(hwpt, ops, domain);

	if (!rc && hwpt->domain->type != IOMMU_DOMAIN_NESTED)
		rc = -EINVAL;
	return rc;
}

static struct iommufd_hwpt_nested *
iommufd_hwpt_nested_alloc(struct iommufd_ctx *ictx, struct iommufd_hwpt_paging *parent,
			  struct iommufd_device *idev, uint32_t flags,
			  const struct iommu_user_data *user_data)
{
	const struct iommu_ops *ops = idev->dev->iommu_ops;
	struct iommufd_hwpt_nested *hwpt_nested;
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	if ((flags & ~(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)) || !user_data->len ||
	    !ops->domain_alloc_nested)
		return ERR_PTR(-EOPNOTSUPP);
	if (parent->auto_domain || !parent->nest_parent ||
	    parent->common.domain->owner != ops)
		return ERR_PTR(-EINVAL);

	hwpt_nested = hwpt_nested_reserve(ictx, flags);
	if (IS_ERR(hwpt_nested))
		return hwpt_nested;
	hwpt = &hwpt_nested->common;
	hwpt_nested->parent = parent;
	parent->common.obj.users++;

	rc = hwpt_nested_set_domain(hwpt, ops,
				    ops->domain_alloc_nested(idev->dev, parent->common.domain,
							     flags & ~IOMMU_HWPT_FAULT_ID_VALID,
							     user_data));
	if (rc)
		goto out_abort;
	return hwpt_nested;

out_abort:
	iommufd_object_abort_and_destroy(ictx, &hwpt->obj);
	return ERR_PTR(rc);
}

/* A nested HWPT on a vIOMMU: the vIOMMU's driver makes the domain. */
static struct iommufd_hwpt_nested *
iommufd_viommu_alloc_hwpt_nested(struct iommufd_viommu *viommu, uint32_t flags,
				 const struct iommu_user_data *user_data)
{
	struct iommufd_hwpt_nested *hwpt_nested;
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	if (!user_data->len || !viommu->ops->alloc_domain_nested)
		return ERR_PTR(-EOPNOTSUPP);

	hwpt_nested = hwpt_nested_reserve(viommu->ictx, flags);
	if (IS_ERR(hwpt_nested))
		return hwpt_nested;
	hwpt = &hwpt_nested->common;
	hwpt_nested->viommu = viommu;
	viommu->obj.users++;
	hwpt_nested->parent = viommu->hwpt;

	rc = hwpt_nested_set_domain(hwpt, viommu->iommu_dev,
				    viommu->ops->alloc_domain_nested(
					    viommu, flags & ~IOMMU_HWPT_FAULT_ID_VALID, user_data));
	if (rc)
		goto out_abort;
	return hwpt_nested;

out_abort:
	iommufd_object_abort_and_destroy(viommu->ictx, &hwpt->obj);
	return ERR_PTR(rc);
}

void iommufd_hwpt_paging_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *hwpt_paging =
		to_hwpt_paging(container_of(obj, struct iommufd_hw_pagetable, obj));
	struct iommu_domain *domain = hwpt_paging->common.domain;

	if (hwpt_paging->linked) {
		hwpt_paging_unlink(hwpt_paging);
		iopt_table_remove_domain(&hwpt_paging->ioas->iopt, domain);
	}
	if (domain)
		iommu_domain_free(domain);
	iommufd_hwpt_put_fault(&hwpt_paging->common);
	hwpt_paging->ioas->obj.users--;
}

/*
 * Allocate a paging HWPT on @ioas for @idev's IOMMU and mirror the IOAS
 * into it.  With @immediate_attach the device is attached before the
 * IOAS is mirrored.  The object is returned reserved, not yet published.
 */
struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  struct iommufd_device *idev, uint32_t flags, bool immediate_attach,
			  const struct iommu_user_data *user_data)
{
	const uint32_t valid_flags = IOMMU_HWPT_ALLOC_NEST_PARENT |
				     IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
				     IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID;
	const struct iommu_ops *ops = idev->dev->iommu_ops;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	if ((flags || user_data) && !ops->domain_alloc_paging_flags)
		return ERR_PTR(-EOPNOTSUPP);
	if (flags & ~valid_flags)
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    !device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING))
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_FAULT_ID_VALID) && (flags & IOMMU_HWPT_ALLOC_NEST_PARENT))
		return ERR_PTR(-EOPNOTSUPP);

	hwpt_paging = iommufd_object_alloc(ictx, hwpt_paging, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(hwpt_paging))
		return hwpt_paging;
	hwpt = &hwpt_paging->common;
	hwpt->pasid_compat = flags & IOMMU_HWPT_ALLOC_PASID;
	/* Pairs with the put in iommufd_hwpt_paging_destroy(). */
	ioas->obj.users++;
	hwpt_paging->ioas = ioas;
	hwpt_paging->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;

	rc = iommufd_hwpt_set_domain(hwpt, ops,
				     ops->domain_alloc_paging_flags(idev->dev,
								    flags & ~IOMMU_HWPT_FAULT_ID_VALID,
								    user_data));
	if (rc)
		goto out_abort;

	if (immediate_attach) {
		rc = iommufd_hw_pagetable_attach(hwpt, idev);
		if (rc)
			goto out_abort;
	}

	rc = iopt_table_add_domain(&ioas->iopt, hwpt->domain);
	if (rc)
		goto out_detach;
	hwpt_paging->linked = true;
	hwpt_paging->ioas_next = ioas->hwpt_list;
	ioas->hwpt_list = hwpt_paging;
	return hwpt_paging;

out_detach:
	if (immediate_attach)
		iommufd_device_detach(idev, IOMMU_NO_PASID);
out_abort:
	iommufd_object_abort_and_destroy(ictx, &hwpt->obj);
	return ERR_PTR(rc);
}

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	const struct iommu_user_data user_data = {
		.host = ucmd->ictx->host,
		.type = cmd->data_type,
		.uptr = cmd->data_uptr,
		.len = cmd->data_len,
	};
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_object *pt_obj;
	struct iommufd_device *idev;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if ((cmd->data_type == IOMMU_HWPT_DATA_NONE && cmd->data_len) ||
	    (cmd->data_type != IOMMU_HWPT_DATA_NONE && !cmd->data_len))
		return -EINVAL;

	idev = iommufd_get_device(ucmd->ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return (int)PTR_ERR(idev);

	pt_obj = iommufd_get_object(ucmd->ictx, cmd->pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		rc = -EINVAL;
		goto out_put_idev;
	}

	if (pt_obj->type == IOMMUFD_OBJ_IOAS) {
		struct iommufd_ioas *ioas = container_of(pt_obj, struct iommufd_ioas, obj);
		struct iommufd_hwpt_paging *hwpt_paging;

		hwpt_paging = iommufd_hwpt_paging_alloc(ucmd->ictx, ioas, idev, cmd->flags, false,
							user_data.len ? &user_data : NULL);
		if (IS_ERR(hwpt_paging)) {
			rc = (int)PTR_ERR(hwpt_paging);
			goto out_put_pt;
		}
		hwpt = &hwpt_paging->common;
	} else if (pt_obj->type == IOMMUFD_OBJ_HWPT_PAGING) {
		struct iommufd_hwpt_nested *hwpt_nested;

		hwpt_nested = iommufd_hwpt_nested_alloc(
			ucmd->ictx,
			to_hwpt_paging(container_of(pt_obj, struct iommufd_hw_pagetable, obj)),
			idev, cmd->flags, &user_data);
		if (IS_ERR(hwpt_nested)) {
			rc = (int)PTR_ERR(hwpt_nested);
			goto out_put_pt;
		}
		hwpt = &hwpt_nested->common;
	} else if (pt_obj->type == IOMMUFD_OBJ_VIOMMU) {
		struct iommufd_hwpt_nested *hwpt_nested;

		hwpt_nested = iommufd_viommu_alloc_hwpt_nested(
			container_of(pt_obj, struct iommufd_viommu, obj), cmd->flags, &user_data);
		if (IS_ERR(hwpt_nested)) {
			rc = (int)PTR_ERR(hwpt_nested);
			goto out_put_pt;
		}
		hwpt = &hwpt_nested->common;
	} else {
		rc = -EINVAL;
		goto out_put_pt;
	}

	if (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) {
		struct iommufd_fault *fault = iommufd_get_fault(ucmd->ictx, cmd->fault_id);

		if (IS_ERR(fault)) {
			rc = (int)PTR_ERR(fault);
			goto out_hwpt;
		}
		/* The get's reference becomes the HWPT's. */
		hwpt->fault = fault;
	}

	cmd->out_hwpt_id = hwpt->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_hwpt;
	iommufd_object_finalize(ucmd->ictx, &hwpt->obj);
	goto out_put_pt;

out_hwpt:
	iommufd_object_abort_and_destroy(ucmd->ictx, &hwpt->obj);
out_put_pt:
	iommufd_put_object(ucmd->ictx, pt_obj);
out_put_idev:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt_paging;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) || cmd->__reserved)
		return -EOPNOTSUPP;
	hwpt_paging = iommufd_get_hwpt_paging(ucmd->ictx, cmd->hwpt_id);
	if (IS_ERR(hwpt_paging))
		return (int)PTR_ERR(hwpt_paging);
	rc = iopt_set_dirty_tracking(&hwpt_paging->ioas->iopt, hwpt_paging->common.domain,
				     cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
	iommufd_put_object(ucmd->ictx, &hwpt_paging->common.obj);
	return rc;
}

/* The range must fit, and sit on the IOAS alignment and on @page_size. */
static int iommufd_check_iova_range(struct io_pagetable *iopt,
				    const struct iommu_hwpt_get_dirty_bitmap *cmd)
{
	unsigned long align = iopt->iova_alignment;
	uint64_t last_iova;

	if (check_add_overflow(cmd->iova, cmd->length - 1, &last_iova))
		return -EOVERFLOW;
	if (cmd->iova > ULONG_MAX || last_iova > ULONG_MAX)
		return -EOVERFLOW;
	if ((cmd->iova & (align - 1)) || ((last_iova + 1) & (align - 1)))
		return -EINVAL;
	if (!cmd->page_size)
		return -EINVAL;
	if ((cmd->iova & (cmd->page_size - 1)) || ((last_iova + 1) & (cmd->page_size - 1)))
		return -EINVAL;
	return 0;
}

int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct io_pagetable *iopt;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) || cmd->__reserved)
		return -EOPNOTSUPP;
	hwpt_paging = iommufd_get_hwpt_paging(ucmd->ictx, cmd->hwpt_id);
	if (IS_ERR(hwpt_paging))
		return (int)PTR_ERR(hwpt_paging);
	iopt = &hwpt_paging->ioas->iopt;
	rc = iommufd_check_iova_range(iopt, cmd);
	if (!rc)
		rc = iopt_read_and_clear_dirty_data(
			iopt, hwpt_paging->common.domain,
			(cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ? PT_DIRTY_NO_CLEAR : 0,
			cmd->iova, cmd->length, (unsigned int)__builtin_ctzll(cmd->page_size),
			ucmd->ictx->host, cmd->data);
	iommufd_put_object(ucmd->ictx, &hwpt_paging->common.obj);
	return rc;
}

int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct iommu_user_data_array data_array = {
		.host = ucmd->ictx->host,
		.type = cmd->data_type,
		.uptr = cmd->data_uptr,
		.entry_len = cmd->entry_len,
		.entry_num = cmd->entry_num,
	};
	struct iommufd_object *pt_obj;
	uint32_t done_num = 0;
	int rc;

	if (cmd->__reserved) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	if (cmd->entry_num && (!cmd->data_uptr || !cmd->entry_len)) {
		rc = -EINVAL;
		goto out;
	}
	pt_obj = iommufd_get_object(ucmd->ictx, cmd->hwpt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		rc = (int)PTR_ERR(pt_obj);
		goto out;
	}
	if (pt_obj->type == IOMMUFD_OBJ_HWPT_NESTED) {
		struct iommufd_hw_pagetable *hwpt =
			container_of(pt_obj, struct iommufd_hw_pagetable, obj);

		if (!hwpt->domain->ops->cache_invalidate_user) {
			rc = -EOPNOTSUPP;
			goto out_put_pt;
		}
		rc = hwpt->domain->ops->cache_invalidate_user(hwpt->domain, &data_array);
	} else if (pt_obj->type == IOMMUFD_OBJ_VIOMMU) {
		struct iommufd_viommu *viommu = container_of(pt_obj, struct iommufd_viommu, obj);

		if (!viommu->ops->cache_invalidate) {
			rc = -EOPNOTSUPP;
			goto out_put_pt;
		}
		rc = viommu->ops->cache_invalidate(viommu, &data_array);
	} else {
		/* Only nested HWPTs and vIOMMUs have user-managed caches. */
		rc = -EINVAL;
		goto out_put_pt;
	}
	/* The driver says how many entries it handled, even on failure. */
	done_num = data_array.entry_num;
out_put_pt:
	iommufd_put_object(ucmd->ictx, pt_obj);
out:
	cmd->entry_num = done_num;
	if (iommufd_ucmd_respond(ucmd, sizeof(*cmd)))
		return -EFAULT;
	return rc;
}
