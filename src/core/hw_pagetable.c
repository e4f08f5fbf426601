// SPDX-License-Identifier: MIT
/*
 * HWPTs: the objects that own IOMMU domains (docs/uapi-behaviour.md).
 *
 * Two kinds share struct iommufd_hw_pagetable:
 *
 *  - paging: a domain the core keeps equal to one IOAS.  From allocation to
 *    destroy it holds the IOAS, sits on the IOAS's singly linked list and in
 *    the IOAS's domain set, so every later map and unmap reaches it.  Made
 *    by IOMMU_HWPT_ALLOC it is "manual", the user's to destroy; made by a
 *    device attach to an IOAS it is "auto" and leaves with its last device.
 *
 *  - nested: a stage 1 the user writes, on a NEST_PARENT paging HWPT of the
 *    same IOMMU, or on a vIOMMU (whose parent HWPT then serves).  It holds
 *    what it was made on; its caches are flushed by IOMMU_HWPT_INVALIDATE.
 *
 * Either may hold a fault queue (FAULT_ID_VALID) that gets its page
 * requests.  Building one goes: check what needs no object, reserve the
 * ID, take the references, let the driver make the domain, and only then
 * publish; any failure hands the reserved object to its destructor, which
 * copes with every partly built state.
 */
#include <stdlib.h>
#include <string.h>

#include "core/io_pagetable.h"
#include "core/ioas.h"
#include "core/eventq.h"

static inline struct iommufd_hw_pagetable *obj_to_hwpt(struct iommufd_object *obj)
{
	return container_of(obj, struct iommufd_hw_pagetable, obj);
}

/* ------------------------------------------------------------- teardown */

static void hwpt_drop_common(struct iommufd_hw_pagetable *hwpt)
{
	if (hwpt->domain)
		iommu_domain_free(hwpt->domain);
	if (hwpt->fault)
		iommufd_fault_obj(hwpt->fault)->users--;
}

/* Take @paging off its IOAS's list of HWPTs. */
static void ioas_list_remove(struct iommufd_ioas *ioas, struct iommufd_hwpt_paging *paging)
{
	struct iommufd_hwpt_paging *prev = NULL, *cur = ioas->hwpt_list;

	while (cur && cur != paging) {
		prev = cur;
		cur = cur->ioas_next;
	}
	if (!cur)
		return;
	if (prev)
		prev->ioas_next = cur->ioas_next;
	else
		ioas->hwpt_list = cur->ioas_next;
}

void iommufd_hwpt_paging_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *paging = to_hwpt_paging(obj_to_hwpt(obj));
	struct iommufd_ioas *ioas = paging->ioas;

	/* The IOAS stops mirroring into the domain before the domain goes. */
	if (paging->linked) {
		ioas_list_remove(ioas, paging);
		iopt_table_remove_domain(&ioas->iopt, paging->common.domain);
	}
	hwpt_drop_common(&paging->common);
	ioas->obj.users--;
}

void iommufd_hwpt_nested_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_nested *nested = to_hwpt_nested(obj_to_hwpt(obj));

	hwpt_drop_common(&nested->common);
	/* Made on a vIOMMU it held the vIOMMU only; the vIOMMU holds the parent. */
	if (nested->viommu)
		nested->viommu->obj.users--;
	else
		nested->parent->common.obj.users--;
}

/* -------------------------------------------------------------- building */

/*
 * Adopt what a driver's allocator returned: an error stays an error, a
 * domain becomes @hwpt's (and so is freed by its destructor from here on).
 * A nested HWPT insists on a nested domain.
 */
static int hwpt_adopt(struct iommufd_hw_pagetable *hwpt, struct iommu_domain *got,
		      const struct iommu_ops *owner, bool nested)
{
	if (IS_ERR(got))
		return (int)PTR_ERR(got);
	hwpt->domain = got;
	got->iommufd_hwpt = hwpt;
	got->owner = owner;
	return nested && got->type != IOMMU_DOMAIN_NESTED ? -EINVAL : 0;
}

/* Flags the core handles itself and drivers never see. */
#define HWPT_CORE_FLAGS IOMMU_HWPT_FAULT_ID_VALID

#define PAGING_FLAGS                                                                     \
	(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING |                   \
	 IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_FAULT_ID_VALID)

/* What a paging request may ask of @dev's IOMMU, before anything is made. */
static int paging_request_ok(struct device *dev, uint32_t flags, bool has_data)
{
	if (!dev->iommu_ops->domain_alloc_paging_flags && (flags || has_data))
		return -EOPNOTSUPP;
	if (flags & ~PAGING_FLAGS)
		return -EOPNOTSUPP;
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    !device_iommu_capable(dev, IOMMU_CAP_DIRTY_TRACKING))
		return -EOPNOTSUPP;
	/* A parent's faults are its nested children's to report. */
	if ((flags & IOMMU_HWPT_FAULT_ID_VALID) && (flags & IOMMU_HWPT_ALLOC_NEST_PARENT))
		return -EOPNOTSUPP;
	return 0;
}

/* Make @paging's domain the IOAS's: mapped, and on the IOAS's list. */
static int paging_join_ioas(struct iommufd_hwpt_paging *paging)
{
	struct iommufd_ioas *ioas = paging->ioas;
	int rc = iopt_table_add_domain(&ioas->iopt, paging->common.domain);

	if (rc)
		return rc;
	paging->ioas_next = ioas->hwpt_list;
	ioas->hwpt_list = paging;
	paging->linked = true;
	return 0;
}

/*
 * A paging HWPT on @on for @idev's IOMMU, reserved but not published.
 * With @attach_first the device is attached before the IOAS is mirrored
 * into the domain (for IOMMUs that must see the device first).
 */
struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ctx, struct iommufd_ioas *on,
			  struct iommufd_device *dev_obj, uint32_t req_flags, bool attach_first,
			  const struct iommu_user_data *data)
{
	const struct iommu_ops *ops = dev_obj->dev->iommu_ops;
	struct iommufd_hwpt_paging *paging;
	struct iommu_domain *got;
	int err;

	err = paging_request_ok(dev_obj->dev, req_flags, data != NULL);
	if (err)
		return ERR_PTR(err);

	paging = iommufd_object_alloc(ctx, paging, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(paging))
		return paging;
	/* Held from here: the destructor lets it go on every path. */
	paging->ioas = on;
	on->obj.users++;
	paging->nest_parent = req_flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	paging->common.pasid_compat = req_flags & IOMMU_HWPT_ALLOC_PASID;

	got = ops->domain_alloc_paging_flags(dev_obj->dev, req_flags & ~HWPT_CORE_FLAGS, data);
	err = hwpt_adopt(&paging->common, got, ops, false);
	if (err)
		goto fail_unbuild;

	if (attach_first) {
		err = iommufd_hw_pagetable_attach(&paging->common, dev_obj);
		if (err)
			goto fail_unbuild;
	}
	err = paging_join_ioas(paging);
	if (err)
		goto fail_unattach;
	return paging;

fail_unattach:
	if (attach_first)
		iommufd_device_detach(dev_obj, IOMMU_NO_PASID);
fail_unbuild:
	iommufd_object_abort_and_destroy(ctx, &paging->common.obj);
	return ERR_PTR(err);
}

/*
 * Where a nested HWPT comes from: a parent paging HWPT and the device whose
 * IOMMU makes the domain, or a vIOMMU whose driver does.
 */
struct nested_base {
	struct iommufd_hwpt_paging *parent;
	struct iommufd_device *idev;
	struct iommufd_viommu *viommu;
};

static int nested_base_ok(const struct nested_base *base, uint32_t flags,
			  const struct iommu_user_data *data)
{
	const struct iommu_ops *ops;

	/* A stage 1 is nothing without the driver's description of it. */
	if (!data->len)
		return -EOPNOTSUPP;
	if (base->viommu)
		return base->viommu->ops->alloc_domain_nested ? 0 : -EOPNOTSUPP;

	ops = base->idev->dev->iommu_ops;
	if ((flags & ~(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)) ||
	    !ops->domain_alloc_nested)
		return -EOPNOTSUPP;
	/* Auto HWPTs come and go with devices: nothing may build on one. */
	if (base->parent->auto_domain || !base->parent->nest_parent)
		return -EINVAL;
	return base->parent->common.domain->owner == ops ? 0 : -EINVAL;
}

static struct iommufd_hwpt_nested *nested_build(struct iommufd_ctx *ctx,
						const struct nested_base *base, uint32_t flags,
						const struct iommu_user_data *data)
{
	uint32_t drv_flags = flags & ~HWPT_CORE_FLAGS;
	const struct iommu_ops *owner;
	struct iommufd_hwpt_nested *nested;
	struct iommu_domain *got;
	int err;

	err = nested_base_ok(base, flags, data);
	if (err)
		return ERR_PTR(err);

	nested = iommufd_object_alloc(ctx, nested, IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(nested))
		return nested;
	nested->common.pasid_compat = flags & IOMMU_HWPT_ALLOC_PASID;
	if (base->viommu) {
		struct iommufd_viommu *viommu = base->viommu;

		nested->viommu = viommu;
		nested->parent = viommu->hwpt;
		viommu->obj.users++;
		owner = viommu->iommu_dev;
		got = viommu->ops->alloc_domain_nested(viommu, drv_flags, data);
	} else {
		struct device *dev = base->idev->dev;

		nested->parent = base->parent;
		base->parent->common.obj.users++;
		owner = dev->iommu_ops;
		got = owner->domain_alloc_nested(dev, base->parent->common.domain, drv_flags,
						 data);
	}
	err = hwpt_adopt(&nested->common, got, owner, true);
	if (err) {
		iommufd_object_abort_and_destroy(ctx, &nested->common.obj);
		return ERR_PTR(err);
	}
	return nested;
}

/* --------------------------------------------------------------- ioctls */

/* The unpublished HWPT IOMMU_HWPT_ALLOC asks for on @target, or an errno. */
static struct iommufd_hw_pagetable *hwpt_make_on(struct iommufd_ucmd *ucmd,
						 struct iommufd_device *idev,
						 struct iommufd_object *target,
						 const struct iommu_user_data *data)
{
	const struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct nested_base base = { .idev = idev };
	struct iommufd_hwpt_paging *paging;
	struct iommufd_hwpt_nested *nested;

	switch (target->type) {
	case IOMMUFD_OBJ_IOAS:
		/* No driver data is NULL for the paging allocator. */
		paging = iommufd_hwpt_paging_alloc(ucmd->ictx,
						   container_of(target, struct iommufd_ioas, obj),
						   idev, cmd->flags, false, data->len ? data : NULL);
		return IS_ERR(paging) ? (void *)paging : &paging->common;
	case IOMMUFD_OBJ_HWPT_PAGING:
		base.parent = to_hwpt_paging(obj_to_hwpt(target));
		break;
	case IOMMUFD_OBJ_VIOMMU:
		base.viommu = container_of(target, struct iommufd_viommu, obj);
		break;
	default:
		return ERR_PTR(-EINVAL);
	}
	nested = nested_build(ucmd->ictx, &base, cmd->flags, data);
	return IS_ERR(nested) ? (void *)nested : &nested->common;
}

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	const struct iommu_user_data data = {
		.host = ictx->host,
		.type = cmd->data_type,
		.uptr = cmd->data_uptr,
		.len = cmd->data_len,
	};
	bool typed = cmd->data_type != IOMMU_HWPT_DATA_NONE;
	struct iommufd_hw_pagetable *made;
	struct iommufd_object *target;
	struct iommufd_device *idev;
	int err;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	/* A type needs data and data needs a type. */
	if (typed != (cmd->data_len != 0))
		return -EINVAL;

	idev = iommufd_get_device(ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return (int)PTR_ERR(idev);
	target = iommufd_get_object(ictx, cmd->pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(target)) {
		err = -EINVAL;
		goto put_dev;
	}

	made = hwpt_make_on(ucmd, idev, target, &data);
	if (IS_ERR(made)) {
		err = (int)PTR_ERR(made);
		goto put_target;
	}
	if (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) {
		struct iommufd_fault *queue = iommufd_get_fault(ictx, cmd->fault_id);

		if (IS_ERR(queue)) {
			err = (int)PTR_ERR(queue);
			goto unmake;
		}
		/* The lookup's reference is the HWPT's to keep. */
		made->fault = queue;
	}

	cmd->out_hwpt_id = made->obj.id;
	err = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (err)
		goto unmake;
	iommufd_object_finalize(ictx, &made->obj);
	goto put_target;

unmake:
	iommufd_object_abort_and_destroy(ictx, &made->obj);
put_target:
	iommufd_put_object(ictx, target);
put_dev:
	iommufd_put_object(ictx, &idev->obj);
	return err;
}

/*
 * Hand @array to whoever keeps the user-managed caches of @target; on
 * return array->entry_num is what the driver got through.
 */
static int invalidate_on(struct iommufd_object *target, struct iommu_user_data_array *array)
{
	int err = -EINVAL;	/* a paging HWPT's caches are the core's, not the user's */

	if (target->type == IOMMUFD_OBJ_VIOMMU) {
		struct iommufd_viommu *viommu = container_of(target, struct iommufd_viommu, obj);

		if (viommu->ops->cache_invalidate)
			return viommu->ops->cache_invalidate(viommu, array);
		err = -EOPNOTSUPP;
	} else if (target->type == IOMMUFD_OBJ_HWPT_NESTED) {
		struct iommu_domain *domain = obj_to_hwpt(target)->domain;

		if (domain->ops->cache_invalidate_user)
			return domain->ops->cache_invalidate_user(domain, array);
		err = -EOPNOTSUPP;
	}
	/* No driver saw the array: none of it was handled. */
	array->entry_num = 0;
	return err;
}

static int invalidate_checked(struct iommufd_ucmd *ucmd, uint32_t *handled)
{
	const struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct iommu_user_data_array array = {
		.host = ucmd->ictx->host,
		.type = cmd->data_type,
		.uptr = cmd->data_uptr,
		.entry_len = cmd->entry_len,
		.entry_num = cmd->entry_num,
	};
	struct iommufd_object *target;
	int err;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	/* No entries needs no array; entries need both its pointer and stride. */
	if (cmd->entry_num && !(cmd->data_uptr && cmd->entry_len))
		return -EINVAL;
	target = iommufd_get_object(ucmd->ictx, cmd->hwpt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(target))
		return (int)PTR_ERR(target);
	err = invalidate_on(target, &array);
	/* The driver's count holds on failure too: it says where it stopped. */
	*handled = array.entry_num;
	iommufd_put_object(ucmd->ictx, target);
	return err;
}

int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	uint32_t handled = 0;
	int err;

	err = invalidate_checked(ucmd, &handled);
	/* Always answered, so the user learns how far it got. */
	cmd->entry_num = handled;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd)) ? -EFAULT : err;
}

/* The paging HWPT @id with a lookup reference, or ERR_PTR(-ENOENT). */
static struct iommufd_hwpt_paging *lookup_paging(struct iommufd_ctx *ictx, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_HWPT_PAGING);

	return IS_ERR(obj) ? (void *)obj : to_hwpt_paging(obj_to_hwpt(obj));
}

int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd)
{
	const struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	bool enable = cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	struct iommufd_hwpt_paging *paging;
	int err;

	if (cmd->__reserved || (cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE))
		return -EOPNOTSUPP;
	paging = lookup_paging(ucmd->ictx, cmd->hwpt_id);
	if (IS_ERR(paging))
		return (int)PTR_ERR(paging);
	err = iopt_set_dirty_tracking(&paging->ioas->iopt, paging->common.domain, enable);
	iommufd_put_object(ucmd->ictx, &paging->common.obj);
	return err;
}

/* Both ends of [start, end) on a multiple of @unit (0 for end: the top). */
static bool ends_on(uint64_t start, uint64_t end, uint64_t unit)
{
	return !((start | end) & (unit - 1));
}

/*
 * The range of a bitmap request: it may not wrap, and both ends must sit
 * on the IOAS's alignment and on the reporting granule.  (IOVAs are 64
 * bits here, so no range is too big for an unsigned long.)
 */
static int bitmap_range_ok(const struct io_pagetable *iopt, uint64_t iova, uint64_t length,
			   uint64_t granule)
{
	uint64_t last;

	if (__builtin_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (!ends_on(iova, last + 1, iopt->iova_alignment))
		return -EINVAL;
	if (!granule || !ends_on(iova, last + 1, granule))
		return -EINVAL;
	return 0;
}

int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd)
{
	const struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	unsigned int read_flags = 0;
	struct iommufd_hwpt_paging *paging;
	struct io_pagetable *iopt;
	int err;

	if (cmd->__reserved || (cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR))
		return -EOPNOTSUPP;
	if (cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)
		read_flags |= PT_DIRTY_NO_CLEAR;
	paging = lookup_paging(ucmd->ictx, cmd->hwpt_id);
	if (IS_ERR(paging))
		return (int)PTR_ERR(paging);

	iopt = &paging->ioas->iopt;
	err = bitmap_range_ok(iopt, cmd->iova, cmd->length, cmd->page_size);
	if (!err) {
		unsigned int granule_lg2 = (unsigned int)__builtin_ctzll(cmd->page_size);

		err = iopt_read_and_clear_dirty_data(iopt, paging->common.domain, read_flags,
						     cmd->iova, cmd->length, granule_lg2,
						     ucmd->ictx->host, cmd->data);
	}
	iommufd_put_object(ucmd->ictx, &paging->common.obj);
	return err;
}
