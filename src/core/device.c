// SPDX-License-Identifier: MIT
/*
 * Devices and accesses: how DMA-capable things reach an IOAS.
 *
 * A device is bound by its driver (the selftest's mock devices today,
 * device models later) and then attached to an IOAS or a HWPT.  Attaching
 * to an IOAS reuses an automatic HWPT of that IOAS the device's IOMMU
 * accepts (the driver's EINVAL means "not this one, try the next"), or
 * makes a new one.  Attaching a paging HWPT reserves the device's reserved
 * regions in its IOAS; detach releases them and, for an automatic HWPT,
 * frees the HWPT with its last device.  Replace moves the device without a
 * blocked moment and fails with nothing changed.
 *
 * Each PASID of a device attaches, replaces and detaches the same way, to
 * HWPTs made with IOMMU_HWPT_ALLOC_PASID only (so never to an IOAS's
 * automatic HWPT), and without reserved regions.  Unbind detaches the
 * PASIDs a driver left attached.
 *
 * Every device has its own group here: the mock IOMMU puts each device in
 * a group of one, and that is all attach needs until a model with shared
 * groups arrives.
 *
 * An access is an emulated device that uses the IOAS through the CPU: it
 * pins pages or copies through IOVA.  Its driver's unmap callback must
 * unpin what it holds in a range before returning; the IOAS calls it
 * when the range is unmapped, with the context lock held by the same
 * thread (the lock is recursive), so the callback may call back in.
 */
#include <stdlib.h>
#include <string.h>

#include "core/io_pagetable.h"
#include "core/ioas.h"
#include "core/eventq.h"

/*
 * One PASID's attachment.  Its address is the attach handle the PASID's page
 * requests carry, so detach and replace answer exactly those.  A device has
 * a handful of PASIDs in use at most, so a list does.
 */
struct iommufd_pasid_attach {
	struct iommufd_pasid_attach *next;
	struct iommufd_hw_pagetable *hwpt;
	uint32_t pasid;
};

struct iommufd_device *iommufd_get_device(struct iommufd_ctx *ictx, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_DEVICE);

	if (IS_ERR(obj))
		return (void *)obj;
	return container_of(obj, struct iommufd_device, obj);
}

/*
 * Bind @dev to @ictx.  The returned device holds a reference for its
 * driver until iommufd_device_unbind().
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx, struct device *dev,
					   uint32_t *id)
{
	struct iommufd_device *idev;

	/* iommufd never offers non-coherent DMA. */
	if (!device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY))
		return ERR_PTR(-EINVAL);

	idev = iommufd_object_alloc(ictx, idev, IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(idev))
		return idev;
	idev->ictx = ictx;
	idev->dev = dev;
	idev->enforce_cache_coherency =
		device_iommu_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
	/* The driver's reference, dropped by unbind. */
	idev->obj.users++;
	iommufd_object_finalize(ictx, &idev->obj);
	*id = idev->obj.id;
	return idev;
}

void iommufd_device_unbind(struct iommufd_device *idev)
{
	/* The driver's PASID use ends with its binding, as vfio's does on close. */
	while (idev->pasids)
		iommufd_device_detach(idev, idev->pasids->pasid);
	/* Its vDEVICE cannot outlive it: destroyed, its ID kept until close. */
	if (idev->vdev)
		iommufd_object_tombstone_user(idev->ictx, &idev->vdev->obj);
	idev->obj.users--;
	iommufd_object_destroy_user(idev->ictx, &idev->obj);
}

/* The paging HWPT whose IOAS applies: a nested HWPT's is its parent's. */
static struct iommufd_hwpt_paging *find_hwpt_paging(struct iommufd_hw_pagetable *hwpt)
{
	if (hwpt->obj.type == IOMMUFD_OBJ_HWPT_PAGING)
		return to_hwpt_paging(hwpt);
	if (hwpt->obj.type == IOMMUFD_OBJ_HWPT_NESTED)
		return to_hwpt_nested(hwpt)->parent;
	return NULL;
}

/*
 * Page requests that came through one attachment (@attach_handle: the
 * device for its RID, the PASID's attachment otherwise) and are still
 * pending on @hwpt's queue are answered INVALID.
 */
static void iommufd_hwpt_auto_response(struct iommufd_hw_pagetable *hwpt, void *attach_handle)
{
	if (hwpt->fault)
		iommufd_fault_auto_response(hwpt->fault, attach_handle);
}

/* ------------------------------------------------------------------ PASIDs */

static struct iommufd_pasid_attach **iommufd_pasid_slot(struct iommufd_device *idev,
						       uint32_t pasid)
{
	struct iommufd_pasid_attach **pp;

	for (pp = &idev->pasids; *pp; pp = &(*pp)->next)
		if ((*pp)->pasid == pasid)
			break;
	return pp;
}

struct iommufd_hw_pagetable *iommufd_device_pasid_hwpt(struct iommufd_device *idev,
						       uint32_t pasid, void **attach_handle)
{
	struct iommufd_pasid_attach *attach;

	if (pasid == IOMMU_NO_PASID) {
		*attach_handle = idev;
		return idev->hwpt;
	}
	attach = *iommufd_pasid_slot(idev, pasid);
	*attach_handle = attach;
	return attach ? attach->hwpt : NULL;
}

/*
 * A HWPT for a PASID must be made with IOMMU_HWPT_ALLOC_PASID, and so must
 * the RID's whenever both are in use: some IOMMUs need a different domain
 * format to serve PASIDs, so the user says up front which HWPTs will.  The
 * RID may be blocked (detached) meanwhile.
 */
static int iommufd_hwpt_pasid_compat(struct iommufd_hw_pagetable *hwpt,
				     struct iommufd_device *idev, uint32_t pasid)
{
	if (pasid == IOMMU_NO_PASID)
		return !hwpt->pasid_compat && idev->pasids ? -EINVAL : 0;
	if (!hwpt->pasid_compat || (idev->hwpt && !idev->hwpt->pasid_compat))
		return -EINVAL;
	return 0;
}

int iommufd_hw_pagetable_attach(struct iommufd_hw_pagetable *hwpt,
				struct iommufd_device *idev)
{
	struct iommufd_hwpt_paging *hwpt_paging = find_hwpt_paging(hwpt);
	int rc;

	if (idev->hwpt)
		return idev->hwpt == hwpt ? -EBUSY : -EINVAL;
	if (hwpt_paging) {
		rc = iopt_table_enforce_dev_resv_regions(&hwpt_paging->ioas->iopt, idev->dev);
		if (rc)
			return rc;
	}
	rc = iommufd_hwpt_pasid_compat(hwpt, idev, IOMMU_NO_PASID);
	if (rc)
		goto err_unresv;
	rc = iommu_attach_device(hwpt->domain, idev->dev);
	if (rc)
		goto err_unresv;
	idev->hwpt = hwpt;
	hwpt->obj.users++;
	return 0;

err_unresv:
	if (hwpt_paging)
		iopt_remove_reserved_iova(&hwpt_paging->ioas->iopt, idev->dev);
	return rc;
}

/* Drop a device's hold on @hwpt; an automatic HWPT goes with its last. */
static void iommufd_hw_pagetable_put(struct iommufd_ctx *ictx, struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *hwpt_paging = find_hwpt_paging(hwpt);

	if (hwpt_paging && hwpt_paging->auto_domain) {
		iommufd_object_put_and_try_destroy(ictx, &hwpt->obj);
		return;
	}
	hwpt->obj.users--;
}

/* A PASID has no reserved regions: those are the RID's, in the RID's IOAS. */
static int iommufd_device_pasid_attach(struct iommufd_device *idev, uint32_t pasid,
				       struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_pasid_attach *attach;
	int rc;

	/* Attach never overwrites: that is replace's job. */
	if (*iommufd_pasid_slot(idev, pasid))
		return -EBUSY;
	rc = iommufd_hwpt_pasid_compat(hwpt, idev, pasid);
	if (rc)
		return rc;
	attach = iommufd_zalloc(sizeof(*attach));
	if (!attach)
		return -ENOMEM;
	rc = iommu_attach_device_pasid(hwpt->domain, idev->dev, pasid);
	if (rc)
		goto err_free;
	attach->pasid = pasid;
	attach->hwpt = hwpt;
	attach->next = idev->pasids;
	idev->pasids = attach;
	hwpt->obj.users++;
	return 0;

err_free:
	free(attach);
	return rc;
}

/* Returns the old HWPT, which the caller must put; on failure the old stays. */
static struct iommufd_hw_pagetable *
iommufd_device_pasid_replace(struct iommufd_device *idev, uint32_t pasid,
			     struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_pasid_attach *attach = *iommufd_pasid_slot(idev, pasid);
	struct iommufd_hw_pagetable *old_hwpt;
	int rc;

	if (!attach)
		return ERR_PTR(-EINVAL);
	old_hwpt = attach->hwpt;
	if (hwpt == old_hwpt)
		return NULL;
	rc = iommufd_hwpt_pasid_compat(hwpt, idev, pasid);
	if (rc)
		return ERR_PTR(rc);
	rc = iommu_replace_device_pasid(hwpt->domain, idev->dev, pasid, old_hwpt->domain);
	if (rc)
		return ERR_PTR(rc);
	/* What is still pending there came through the old HWPT, which is gone. */
	iommufd_hwpt_auto_response(old_hwpt, attach);
	attach->hwpt = hwpt;
	hwpt->obj.users++;
	return old_hwpt;
}

static void iommufd_device_pasid_detach(struct iommufd_device *idev, uint32_t pasid)
{
	struct iommufd_pasid_attach **pp = iommufd_pasid_slot(idev, pasid), *attach = *pp;

	if (!attach)
		return;
	iommu_detach_device_pasid(attach->hwpt->domain, idev->dev, pasid);
	iommufd_hwpt_auto_response(attach->hwpt, attach);
	*pp = attach->next;
	iommufd_hw_pagetable_put(idev->ictx, attach->hwpt);
	free(attach);
	idev->obj.users--;
}

typedef struct iommufd_hw_pagetable *(*attach_fn)(struct iommufd_device *idev, uint32_t pasid,
						   struct iommufd_hw_pagetable *hwpt);

static struct iommufd_hw_pagetable *iommufd_device_do_attach(struct iommufd_device *idev,
							     uint32_t pasid,
							     struct iommufd_hw_pagetable *hwpt)
{
	int rc;

	if (pasid != IOMMU_NO_PASID)
		rc = iommufd_device_pasid_attach(idev, pasid, hwpt);
	else
		rc = iommufd_hw_pagetable_attach(hwpt, idev);
	return rc ? ERR_PTR(rc) : NULL;
}

/* Returns the old HWPT, which the caller must put. */
static struct iommufd_hw_pagetable *iommufd_device_do_replace(struct iommufd_device *idev,
							      uint32_t pasid,
							      struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hw_pagetable *old_hwpt = idev->hwpt;
	struct iommufd_hwpt_paging *hwpt_paging = find_hwpt_paging(hwpt);
	struct iommufd_hwpt_paging *old_paging;
	bool new_ioas;
	int rc;

	if (pasid != IOMMU_NO_PASID)
		return iommufd_device_pasid_replace(idev, pasid, hwpt);
	if (!old_hwpt)
		return ERR_PTR(-EINVAL);
	if (hwpt == old_hwpt)
		return NULL;
	old_paging = find_hwpt_paging(old_hwpt);
	new_ioas = hwpt_paging && (!old_paging || old_paging->ioas != hwpt_paging->ioas);

	/* Reserved regions move only when the IOAS changes. */
	if (new_ioas) {
		rc = iopt_table_enforce_dev_resv_regions(&hwpt_paging->ioas->iopt, idev->dev);
		if (rc)
			return ERR_PTR(rc);
	}
	rc = iommufd_hwpt_pasid_compat(hwpt, idev, IOMMU_NO_PASID);
	if (rc)
		goto err_unresv;
	rc = iommu_attach_device(hwpt->domain, idev->dev);
	if (rc)
		goto err_unresv;
	if (old_paging && (!hwpt_paging || old_paging->ioas != hwpt_paging->ioas))
		iopt_remove_reserved_iova(&old_paging->ioas->iopt, idev->dev);
	iommufd_hwpt_auto_response(old_hwpt, idev);
	idev->hwpt = hwpt;
	hwpt->obj.users++;
	return old_hwpt;

err_unresv:
	if (new_ioas)
		iopt_remove_reserved_iova(&hwpt_paging->ioas->iopt, idev->dev);
	return ERR_PTR(rc);
}

static struct iommufd_hw_pagetable *
iommufd_device_auto_get_domain(struct iommufd_device *idev, uint32_t pasid,
			       struct iommufd_ioas *ioas, uint32_t *pt_id, attach_fn do_attach)
{
	struct iommufd_hw_pagetable *hwpt, *destroy_hwpt;
	struct iommufd_hwpt_paging *hwpt_paging;

	for (hwpt_paging = ioas->hwpt_list; hwpt_paging; hwpt_paging = hwpt_paging->ioas_next) {
		if (!hwpt_paging->auto_domain)
			continue;
		hwpt = &hwpt_paging->common;
		destroy_hwpt = do_attach(idev, pasid, hwpt);
		if (IS_ERR(destroy_hwpt)) {
			/* EINVAL: this domain does not suit the device. */
			if (PTR_ERR(destroy_hwpt) == -EINVAL)
				continue;
			return destroy_hwpt;
		}
		*pt_id = hwpt->obj.id;
		return destroy_hwpt;
	}

	hwpt_paging = iommufd_hwpt_paging_alloc(idev->ictx, ioas, idev, 0, false, NULL);
	if (IS_ERR(hwpt_paging))
		return (void *)hwpt_paging;
	hwpt = &hwpt_paging->common;
	/* Never for a PASID: automatic HWPTs are not made with ALLOC_PASID. */
	destroy_hwpt = do_attach(idev, pasid, hwpt);
	if (IS_ERR(destroy_hwpt)) {
		iommufd_object_abort_and_destroy(idev->ictx, &hwpt->obj);
		return destroy_hwpt;
	}
	hwpt_paging->auto_domain = true;
	*pt_id = hwpt->obj.id;
	iommufd_object_finalize(idev->ictx, &hwpt->obj);
	return destroy_hwpt;
}

static int iommufd_device_change_pt(struct iommufd_device *idev, uint32_t pasid,
				    uint32_t *pt_id, attach_fn do_attach)
{
	struct iommufd_hw_pagetable *destroy_hwpt;
	struct iommufd_object *pt_obj;

	pt_obj = iommufd_get_object(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return (int)PTR_ERR(pt_obj);

	switch (pt_obj->type) {
	case IOMMUFD_OBJ_HWPT_NESTED:
	case IOMMUFD_OBJ_HWPT_PAGING:
		destroy_hwpt = do_attach(idev, pasid,
					 container_of(pt_obj, struct iommufd_hw_pagetable, obj));
		break;
	case IOMMUFD_OBJ_IOAS:
		destroy_hwpt = iommufd_device_auto_get_domain(
			idev, pasid, container_of(pt_obj, struct iommufd_ioas, obj), pt_id,
			do_attach);
		break;
	default:
		destroy_hwpt = ERR_PTR(-EINVAL);
		break;
	}
	iommufd_put_object(idev->ictx, pt_obj);
	if (IS_ERR(destroy_hwpt))
		return (int)PTR_ERR(destroy_hwpt);
	if (destroy_hwpt)
		iommufd_hw_pagetable_put(idev->ictx, destroy_hwpt);
	return 0;
}

/**
 * iommufd_device_attach - attach a device to an IOAS or HWPT
 * @idev: the bound device
 * @pasid: the PASID to attach, or IOMMU_NO_PASID for the RID
 * @pt_id: an IOAS or HWPT ID; gets the HWPT actually attached
 *
 * A PASID already attached is EBUSY.  See iommufd_hwpt_pasid_compat() for
 * which HWPTs a PASID, and the RID next to PASIDs, may use.
 */
int iommufd_device_attach(struct iommufd_device *idev, uint32_t pasid, uint32_t *pt_id)
{
	int rc;

	rc = iommufd_device_change_pt(idev, pasid, pt_id, iommufd_device_do_attach);
	if (rc)
		return rc;
	/* Pairs with detach: catches destroying an attached device. */
	idev->obj.users++;
	return 0;
}

/* Move an attached RID or PASID (else EINVAL); on failure nothing changes. */
int iommufd_device_replace(struct iommufd_device *idev, uint32_t pasid, uint32_t *pt_id)
{
	return iommufd_device_change_pt(idev, pasid, pt_id, iommufd_device_do_replace);
}

void iommufd_device_detach(struct iommufd_device *idev, uint32_t pasid)
{
	struct iommufd_hw_pagetable *hwpt = idev->hwpt;
	struct iommufd_hwpt_paging *hwpt_paging;

	if (pasid != IOMMU_NO_PASID) {
		iommufd_device_pasid_detach(idev, pasid);
		return;
	}
	if (!hwpt)
		return;
	iommu_attach_device(NULL, idev->dev);
	iommufd_hwpt_auto_response(hwpt, idev);
	idev->hwpt = NULL;
	hwpt_paging = find_hwpt_paging(hwpt);
	if (hwpt_paging)
		iopt_remove_reserved_iova(&hwpt_paging->ioas->iopt, idev->dev);
	iommufd_hw_pagetable_put(idev->ictx, hwpt);
	idev->obj.users--;
}

int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	struct uiommufd_host *host = ucmd->ictx->host;
	const struct iommu_ops *ops;
	struct iommufd_device *idev;
	uint32_t data_len = 0, copy_len;
	void *data = NULL;
	int rc = 0;

	if (cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		return -EOPNOTSUPP;
	if (cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;
	if (!(cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE))
		cmd->in_data_type = IOMMU_HW_INFO_TYPE_DEFAULT;

	idev = iommufd_get_device(ucmd->ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return (int)PTR_ERR(idev);

	ops = idev->dev->iommu_ops;
	if (ops->hw_info) {
		data = ops->hw_info(idev->dev, &data_len, &cmd->out_data_type);
		if (IS_ERR(data)) {
			rc = (int)PTR_ERR(data);
			data = NULL;
			goto out_put;
		}
	} else {
		cmd->out_data_type = IOMMU_HW_INFO_TYPE_NONE;
	}

	copy_len = min_t(uint32_t, cmd->data_len, data_len);
	if (copy_len)
		rc = copy_to_user(host, cmd->data_uptr, data, copy_len);
	/* A bigger user buffer gets zeros past what we know. */
	if (!rc && copy_len < cmd->data_len) {
		static const uint8_t zeros[256];
		uint64_t pos = cmd->data_uptr + copy_len, end = cmd->data_uptr + cmd->data_len;

		while (!rc && pos < end) {
			size_t n = min_t(uint64_t, end - pos, sizeof(zeros));

			rc = copy_to_user(host, pos, zeros, n);
			pos += n;
		}
	}
	if (rc)
		goto out_free;
	cmd->data_len = data_len;

	cmd->out_capabilities = 0;
	if (device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING))
		cmd->out_capabilities |= IOMMU_HW_CAP_DIRTY_TRACKING;
	cmd->out_max_pasid_log2 = (uint8_t)idev->dev->max_pasid_lg2;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	free(data);
out_put:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/* ------------------------------------------------------------- accesses */

struct iommufd_access *iommufd_access_create(struct iommufd_ctx *ictx,
					     const struct iommufd_access_ops *ops, void *data,
					     uint32_t *id)
{
	struct iommufd_access *access;

	access = iommufd_object_alloc(ictx, access, IOMMUFD_OBJ_ACCESS);
	if (IS_ERR(access))
		return access;
	access->ops = ops;
	access->data = data;
	/* Pinning drivers get whole pages; copiers may use any byte. */
	access->iova_alignment = ops->needs_pin_pages ? PAGE_SIZE : 1;
	access->ictx = ictx;
	/* The access keeps the context alive, as its file would. */
	ictx->refs++;
	/* The driver's reference: user space cannot destroy an access. */
	access->obj.users++;
	iommufd_object_finalize(ictx, &access->obj);
	*id = access->obj.id;
	return access;
}

void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_access *access = container_of(obj, struct iommufd_access, obj);

	if (access->ioas) {
		iopt_remove_access(&access->ioas->iopt, access);
		access->ioas->obj.users--;
		access->ioas = NULL;
	}
}

void iommufd_access_destroy(struct iommufd_access *access)
{
	struct iommufd_ctx *ictx = access->ictx;

	pthread_mutex_lock(&ictx->lock);
	access->obj.users--;
	iommufd_object_destroy_user(ictx, &access->obj);
	pthread_mutex_unlock(&ictx->lock);
	uiommufd_ctx_put((struct uiommufd_ctx *)ictx);
}

static int iommufd_access_change_ioas(struct iommufd_access *access, struct iommufd_ioas *new_ioas)
{
	struct iommufd_ioas *cur_ioas = access->ioas;
	int rc;

	if (cur_ioas == new_ioas)
		return 0;
	if (new_ioas) {
		rc = iopt_add_access(&new_ioas->iopt, access);
		if (rc)
			return rc;
		new_ioas->obj.users++;
	}
	if (cur_ioas) {
		/* Everything pinned through the old IOAS goes first. */
		if (access->ops->unmap)
			access->ops->unmap(access->data, 0, ULONG_MAX);
		iopt_remove_access(&cur_ioas->iopt, access);
		cur_ioas->obj.users--;
	}
	access->ioas = new_ioas;
	return 0;
}

static int iommufd_access_change_ioas_id(struct iommufd_access *access, uint32_t id)
{
	struct iommufd_ioas *ioas = iommufd_get_ioas(access->ictx, id);
	int rc;

	if (IS_ERR(ioas))
		return (int)PTR_ERR(ioas);
	rc = iommufd_access_change_ioas(access, ioas);
	iommufd_put_object(access->ictx, &ioas->obj);
	return rc;
}

int iommufd_access_attach(struct iommufd_access *access, uint32_t ioas_id)
{
	int rc;

	pthread_mutex_lock(&access->ictx->lock);
	rc = access->ioas ? -EINVAL : iommufd_access_change_ioas_id(access, ioas_id);
	pthread_mutex_unlock(&access->ictx->lock);
	return rc;
}

int iommufd_access_replace(struct iommufd_access *access, uint32_t ioas_id)
{
	int rc;

	pthread_mutex_lock(&access->ictx->lock);
	rc = !access->ioas ? -ENOENT : iommufd_access_change_ioas_id(access, ioas_id);
	pthread_mutex_unlock(&access->ictx->lock);
	return rc;
}

void iommufd_access_detach(struct iommufd_access *access)
{
	pthread_mutex_lock(&access->ictx->lock);
	iommufd_access_change_ioas(access, NULL);
	pthread_mutex_unlock(&access->ictx->lock);
}

void iommufd_access_notify_unmap(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length)
{
	size_t i;

	for (i = 0; i < iopt->nr_accesses; i++) {
		struct iommufd_access *access = iopt->accesses[i];

		/* Held so a callback that detaches cannot free it under us. */
		access->obj.users++;
		if (access->ops->unmap)
			access->ops->unmap(access->data, iova, length);
		access->obj.users--;
	}
}

/* An access range is not empty and does not wrap. */
static int access_range_check(unsigned long iova, unsigned long length)
{
	unsigned long last;

	if (!length)
		return -EINVAL;
	return check_add_overflow(iova, length - 1, &last) ? -EOVERFLOW : 0;
}

int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, uint64_t *out_pa, unsigned int flags)
{
	int rc;

	/* Pinning needs page alignment and a way to be told to unpin. */
	if (access->iova_alignment != PAGE_SIZE || !access->ops->unmap)
		return -EINVAL;
	rc = access_range_check(iova, length);
	if (rc)
		return rc;
	pthread_mutex_lock(&access->ictx->lock);
	if (!access->ioas)
		rc = -ENOENT;
	else
		rc = iopt_access_pin_pages(&access->ioas->iopt, iova, length, out_pa, flags, false);
	pthread_mutex_unlock(&access->ictx->lock);
	return rc;
}

void iommufd_access_unpin_pages(struct iommufd_access *access, unsigned long iova,
				unsigned long length)
{
	pthread_mutex_lock(&access->ictx->lock);
	if (access->ioas)
		iopt_access_unpin_pages(&access->ioas->iopt, iova, length, false);
	pthread_mutex_unlock(&access->ictx->lock);
}

int iommufd_access_rw(struct iommufd_access *access, unsigned long iova, void *data,
		      size_t len, unsigned int flags)
{
	int rc;

	rc = access_range_check(iova, len);
	if (rc)
		return rc;
	pthread_mutex_lock(&access->ictx->lock);
	if (!access->ioas)
		rc = -ENOENT;
	else
		rc = iopt_access_rw(&access->ioas->iopt, iova, data, len, flags);
	pthread_mutex_unlock(&access->ictx->lock);
	return rc;
}

/* --------------------------------------------------------------- device DMA */

/*
 * The fast path peeks at the object table without taking references:
 * the DMA gate keeps everything it reads alive until it is done.
 */
static struct iommufd_device *iommufd_peek_device(struct iommufd_ctx *ictx, uint32_t id)
{
	void **objects = __atomic_load_n(&ictx->objects, __ATOMIC_ACQUIRE);
	uint32_t nr = __atomic_load_n(&ictx->nr_slots, __ATOMIC_ACQUIRE);
	struct iommufd_object *obj;

	if (id == 0 || id >= nr)
		return NULL;
	obj = __atomic_load_n(&objects[id], __ATOMIC_ACQUIRE);
	if ((uintptr_t)obj <= 2 || obj->type != IOMMUFD_OBJ_DEVICE)
		return NULL;
	return container_of(obj, struct iommufd_device, obj);
}

int uiommufd_device_dma(struct uiommufd_ctx *uctx, uint32_t dev_id, uint64_t iova, void *buf,
			size_t len, unsigned int flags)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)uctx;
	unsigned int dma_flags = (flags & UIOMMUFD_DMA_WRITE) ? IOMMU_DMA_WRITE : 0;
	struct iommufd_device *idev;
	int rc;

	if (flags & ~UIOMMUFD_DMA_WRITE)
		return -EINVAL;
	if (iommu_dma_read_begin()) {
		idev = iommufd_peek_device(ictx, dev_id);
		rc = idev ? iommu_dev_dma(idev->dev, iova, buf, len, dma_flags) : -ENOENT;
		iommu_dma_read_end();
		return rc;
	}

	pthread_mutex_lock(&ictx->lock);
	/* Later calls from this thread take the lock-free path. */
	iommu_dma_reader_register();
	idev = iommufd_get_device(ictx, dev_id);
	if (IS_ERR(idev)) {
		rc = (int)PTR_ERR(idev);
	} else {
		/* The lock keeps the domain still; the host moving pages needs the gate. */
		bool reading = iommu_dma_read_begin_locked();

		rc = iommu_dev_dma(idev->dev, iova, buf, len, dma_flags);
		if (reading)
			iommu_dma_read_end();
		iommufd_put_object(ictx, &idev->obj);
	}
	pthread_mutex_unlock(&ictx->lock);
	return rc;
}
