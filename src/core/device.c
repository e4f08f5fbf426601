// SPDX-License-Identifier: MIT
/*
 * Devices and accesses: the two ways DMA reaches an IOAS
 * (docs/uapi-behaviour.md, "Devices" and "Accesses").
 *
 * A device is bound by its driver (the selftest's mock devices today) and
 * has attach points: its RID and each PASID it uses.  Every point is at one
 * HWPT or at none.  Attach fills an empty point, replace moves a filled one
 * without a blocked moment, detach empties it; a failed attach or replace
 * changes nothing.  Naming an IOAS instead of a HWPT means "an automatic
 * HWPT of that IOAS": an existing one the driver accepts (its EINVAL means
 * "not this one"), else a new one, which goes with its last device.
 *
 * The RID of a device on a paging HWPT (or a nested one, via its parent)
 * has the device's reserved regions reserved in that IOAS; they move only
 * when the IOAS changes.  PASIDs take none, and go only on HWPTs made with
 * IOMMU_HWPT_ALLOC_PASID.  Each device is its own group: the mock IOMMU
 * makes groups of one, and nothing here needs more until a model does.
 *
 * An access is an emulated device that reaches the IOAS through the CPU:
 * it pins pages or copies through IOVA.  When pinned IOVA is unmapped the
 * IOAS calls the access's unmap callback, with the context lock held by
 * the same thread (the lock is recursive), and the callback unpins before
 * it returns; it may call back in.
 */
#include <stdlib.h>
#include <string.h>

#include "core/io_pagetable.h"
#include "core/ioas.h"
#include "core/eventq.h"

/*
 * One PASID in use.  The record's address is the attach handle of the
 * page requests that come through it, so detach and replace answer just
 * those.  A device uses a few PASIDs at most: a list does.
 */
struct iommufd_pasid_attach {
	struct iommufd_pasid_attach *next;
	struct iommufd_hw_pagetable *hwpt;
	uint32_t pasid;
};

struct iommufd_device *iommufd_get_device(struct iommufd_ctx *ictx, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_DEVICE);

	return IS_ERR(obj) ? (void *)obj : container_of(obj, struct iommufd_device, obj);
}

/*
 * The driver's side of a device: bind gives it a published device object
 * that it holds (so IOMMU_DESTROY of it is EBUSY) until unbind.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ctx, struct device *hw,
					   uint32_t *out_id)
{
	struct iommufd_device *bound;

	/* DMA that bypasses the CPU caches is never offered. */
	if (!device_iommu_capable(hw, IOMMU_CAP_CACHE_COHERENCY))
		return ERR_PTR(-EINVAL);
	bound = iommufd_object_alloc(ctx, bound, IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(bound))
		return bound;
	bound->dev = hw;
	bound->ictx = ctx;
	bound->enforce_cache_coherency =
		device_iommu_capable(hw, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
	bound->obj.users++;
	iommufd_object_finalize(ctx, &bound->obj);
	*out_id = bound->obj.id;
	return bound;
}

void iommufd_device_unbind(struct iommufd_device *idev)
{
	struct iommufd_ctx *ictx = idev->ictx;

	/* PASIDs the driver left attached end with its binding, as on vfio's close. */
	while (idev->pasids)
		iommufd_device_detach(idev, idev->pasids->pasid);
	/* A vDEVICE may not outlive its device; its ID stays taken until close. */
	if (idev->vdev)
		iommufd_object_tombstone_user(ictx, &idev->vdev->obj);
	idev->obj.users--;
	iommufd_object_destroy_user(ictx, &idev->obj);
}

/* ------------------------------------------------------ attach points */

/* The IOAS whose reserved regions a RID on @hwpt lives by. */
static struct iommufd_ioas *hwpt_ioas(struct iommufd_hw_pagetable *pt)
{
	switch (pt->obj.type) {
	case IOMMUFD_OBJ_HWPT_PAGING:
		return to_hwpt_paging(pt)->ioas;
	case IOMMUFD_OBJ_HWPT_NESTED:
		return to_hwpt_nested(pt)->parent->ioas;
	default:
		return NULL;
	}
}

/* An attach point lets go of @hwpt; an automatic HWPT leaves with its last. */
static void hwpt_unuse(struct iommufd_ctx *ctx, struct iommufd_hw_pagetable *pt)
{
	if (pt->obj.type == IOMMUFD_OBJ_HWPT_PAGING && to_hwpt_paging(pt)->auto_domain)
		iommufd_object_put_and_try_destroy(ctx, &pt->obj);
	else
		pt->obj.users--;
}

/* Requests pending on @hwpt's queue that came through @handle get INVALID. */
static void answer_pending(struct iommufd_hw_pagetable *hwpt, void *handle)
{
	if (hwpt->fault)
		iommufd_fault_auto_response(hwpt->fault, handle);
}

/*
 * Some IOMMUs serve PASIDs only from domains of a particular format, so the
 * user declares those HWPTs with ALLOC_PASID: a PASID needs one, and so
 * does the RID while any PASID is in use.  A detached RID is no obstacle.
 */
static int pasid_rules_ok(const struct iommufd_device *idev, uint32_t pasid,
			  const struct iommufd_hw_pagetable *to)
{
	if (pasid == IOMMU_NO_PASID)
		return idev->pasids && !to->pasid_compat ? -EINVAL : 0;
	if (!to->pasid_compat)
		return -EINVAL;
	return idev->hwpt && !idev->hwpt->pasid_compat ? -EINVAL : 0;
}

/*
 * Reserved regions for a RID going from IOAS @from to IOAS @to (either may
 * be NULL): take them in @to first, and only once the move is done let
 * them go in @from.  Nothing happens when the IOAS stays the same.
 */
static int resv_take(struct iommufd_device *idev, struct iommufd_ioas *from,
		     struct iommufd_ioas *to)
{
	if (!to || to == from)
		return 0;
	return iopt_table_enforce_dev_resv_regions(&to->iopt, idev->dev);
}

static void resv_drop(struct iommufd_device *idev, struct iommufd_ioas *keep,
		      struct iommufd_ioas *drop)
{
	if (drop && drop != keep)
		iopt_remove_reserved_iova(&drop->iopt, idev->dev);
}

/* Move the RID from wherever it is (maybe nowhere) to @to. */
static int rid_move(struct iommufd_device *idev, struct iommufd_hw_pagetable *to)
{
	struct iommufd_hw_pagetable *from = idev->hwpt;
	struct iommufd_ioas *old_ioas = from ? hwpt_ioas(from) : NULL;
	struct iommufd_ioas *new_ioas = hwpt_ioas(to);
	int err;

	err = resv_take(idev, old_ioas, new_ioas);
	if (err)
		return err;
	err = pasid_rules_ok(idev, IOMMU_NO_PASID, to);
	if (!err)
		err = iommu_attach_device(to->domain, idev->dev);
	if (err) {
		resv_drop(idev, old_ioas, new_ioas);
		return err;
	}
	resv_drop(idev, new_ioas, old_ioas);
	/* Requests still pending came through a translation that is gone. */
	if (from)
		answer_pending(from, idev);
	idev->hwpt = to;
	to->obj.users++;
	return 0;
}

int iommufd_hw_pagetable_attach(struct iommufd_hw_pagetable *hwpt,
				struct iommufd_device *idev)
{
	/* Filling a filled RID is replace's job. */
	if (idev->hwpt)
		return idev->hwpt == hwpt ? -EBUSY : -EINVAL;
	return rid_move(idev, hwpt);
}

/* The link that holds @pasid's record (or where it would go: at the end). */
static struct iommufd_pasid_attach **pasid_link(struct iommufd_device *idev, uint32_t pasid)
{
	struct iommufd_pasid_attach **link = &idev->pasids;

	while (*link && (*link)->pasid != pasid)
		link = &(*link)->next;
	return link;
}

struct iommufd_hw_pagetable *iommufd_device_pasid_hwpt(struct iommufd_device *idev,
						       uint32_t pasid, void **attach_handle)
{
	struct iommufd_pasid_attach *rec;

	if (pasid == IOMMU_NO_PASID) {
		*attach_handle = idev;
		return idev->hwpt;
	}
	rec = *pasid_link(idev, pasid);
	*attach_handle = rec;
	return rec ? rec->hwpt : NULL;
}

static int pasid_fill(struct iommufd_device *idev, uint32_t pasid,
		      struct iommufd_hw_pagetable *to)
{
	struct iommufd_pasid_attach *rec;
	int err;

	if (*pasid_link(idev, pasid))
		return -EBUSY;
	err = pasid_rules_ok(idev, pasid, to);
	if (err)
		return err;
	rec = iommufd_zalloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	err = iommu_attach_device_pasid(to->domain, idev->dev, pasid);
	if (err) {
		free(rec);
		return err;
	}
	rec->pasid = pasid;
	rec->hwpt = to;
	to->obj.users++;
	rec->next = idev->pasids;
	idev->pasids = rec;
	return 0;
}

static int pasid_move(struct iommufd_device *idev, uint32_t pasid,
		      struct iommufd_hw_pagetable *to, struct iommufd_hw_pagetable **was)
{
	struct iommufd_pasid_attach *rec = *pasid_link(idev, pasid);
	int err;

	if (!rec)
		return -EINVAL;
	if (rec->hwpt == to)
		return 0;
	err = pasid_rules_ok(idev, pasid, to);
	if (!err)
		err = iommu_replace_device_pasid(to->domain, idev->dev, pasid, rec->hwpt->domain);
	if (err)
		return err;
	answer_pending(rec->hwpt, rec);
	*was = rec->hwpt;
	rec->hwpt = to;
	to->obj.users++;
	return 0;
}

/*
 * Point attach point @pasid of @idev at @to: fill it (@replace false) or
 * move it.  *@was gets the HWPT a move left, which the caller lets go of
 * once its lookups are over; it stays NULL when nothing moved.
 */
static int point_at(struct iommufd_device *idev, uint32_t pasid, struct iommufd_hw_pagetable *to,
		    bool replace, struct iommufd_hw_pagetable **was)
{
	struct iommufd_hw_pagetable *from = idev->hwpt;
	int err;

	if (pasid != IOMMU_NO_PASID)
		return replace ? pasid_move(idev, pasid, to, was) : pasid_fill(idev, pasid, to);
	if (!replace)
		return iommufd_hw_pagetable_attach(to, idev);
	if (!from)
		return -EINVAL;
	if (from == to)
		return 0;
	err = rid_move(idev, to);
	if (!err)
		*was = from;
	return err;
}

/*
 * Point @pasid at an automatic HWPT of @ioas: the first existing one the
 * driver takes, else a new one made for @idev.  *@pt_id gets its ID.
 */
static int point_at_ioas(struct iommufd_device *idev, uint32_t pasid, struct iommufd_ioas *ioas,
			 bool replace, struct iommufd_hw_pagetable **was, uint32_t *pt_id)
{
	struct iommufd_hwpt_paging *cand, *fresh;
	int err;

	for (cand = ioas->hwpt_list; cand; cand = cand->ioas_next) {
		if (!cand->auto_domain)
			continue;
		err = point_at(idev, pasid, &cand->common, replace, was);
		/* EINVAL is the driver's "not this domain": look further. */
		if (err == -EINVAL)
			continue;
		if (!err)
			*pt_id = cand->common.obj.id;
		return err;
	}

	/* Made without ALLOC_PASID, so a PASID never gets one. */
	fresh = iommufd_hwpt_paging_alloc(idev->ictx, ioas, idev, 0, false, NULL);
	if (IS_ERR(fresh))
		return (int)PTR_ERR(fresh);
	err = point_at(idev, pasid, &fresh->common, replace, was);
	if (err) {
		iommufd_object_abort_and_destroy(idev->ictx, &fresh->common.obj);
		return err;
	}
	fresh->auto_domain = true;
	*pt_id = fresh->common.obj.id;
	iommufd_object_finalize(idev->ictx, &fresh->common.obj);
	return 0;
}

/* Attach or replace by ID: @pt_id names a HWPT or an IOAS, and gets the HWPT used. */
static int point_at_id(struct iommufd_device *idev, uint32_t pasid, uint32_t *pt_id, bool replace)
{
	struct iommufd_ctx *ictx = idev->ictx;
	struct iommufd_hw_pagetable *was = NULL;
	struct iommufd_object *target;
	int err;

	target = iommufd_get_object(ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(target))
		return (int)PTR_ERR(target);
	if (target->type == IOMMUFD_OBJ_IOAS)
		err = point_at_ioas(idev, pasid, container_of(target, struct iommufd_ioas, obj),
				    replace, &was, pt_id);
	else if (target->type == IOMMUFD_OBJ_HWPT_PAGING ||
		 target->type == IOMMUFD_OBJ_HWPT_NESTED)
		err = point_at(idev, pasid, container_of(target, struct iommufd_hw_pagetable, obj),
			       replace, &was);
	else
		err = -EINVAL;
	iommufd_put_object(ictx, target);
	/* Only now: letting go may destroy an automatic HWPT. */
	if (was)
		hwpt_unuse(ictx, was);
	return err;
}

/*
 * Attach the RID (@pasid IOMMU_NO_PASID) or a PASID of @idev to the HWPT
 * or IOAS *@pt_id; *@pt_id gets the HWPT used.  See pasid_rules_ok() for
 * which HWPTs PASIDs, and a RID beside PASIDs, may use.
 */
int iommufd_device_attach(struct iommufd_device *idev, uint32_t pasid, uint32_t *pt_id)
{
	int err = point_at_id(idev, pasid, pt_id, false);

	/* Each attachment holds the device, so an attached device cannot go. */
	if (!err)
		idev->obj.users++;
	return err;
}

/* Move an attached RID or PASID; unattached is EINVAL, failure changes nothing. */
int iommufd_device_replace(struct iommufd_device *idev, uint32_t pasid, uint32_t *pt_id)
{
	return point_at_id(idev, pasid, pt_id, true);
}

static void pasid_empty(struct iommufd_device *idev, uint32_t pasid)
{
	struct iommufd_pasid_attach **link = pasid_link(idev, pasid);
	struct iommufd_pasid_attach *rec = *link;

	if (!rec)
		return;
	iommu_detach_device_pasid(rec->hwpt->domain, idev->dev, pasid);
	answer_pending(rec->hwpt, rec);
	*link = rec->next;
	hwpt_unuse(idev->ictx, rec->hwpt);
	free(rec);
	idev->obj.users--;
}

void iommufd_device_detach(struct iommufd_device *idev, uint32_t pasid)
{
	struct iommufd_hw_pagetable *from = idev->hwpt;

	if (pasid != IOMMU_NO_PASID) {
		pasid_empty(idev, pasid);
		return;
	}
	if (!from)
		return;
	/* NULL: the driver's blocked domain. */
	iommu_attach_device(NULL, idev->dev);
	answer_pending(from, idev);
	idev->hwpt = NULL;
	resv_drop(idev, NULL, hwpt_ioas(from));
	hwpt_unuse(idev->ictx, from);
	idev->obj.users--;
}

/* ------------------------------------------------------ IOMMU_GET_HW_INFO */

/*
 * Put @have bytes of @info into the user's @room bytes at @uptr: what fits,
 * then zeros for the rest, so newer fields read as absent.
 */
static int hw_info_to_user(struct uiommufd_host *host, uint64_t uptr, uint32_t room,
			   const void *info, uint32_t have)
{
	static const uint8_t zeros[512];
	uint32_t used = have < room ? have : room;
	int err = 0;

	if (used)
		err = copy_to_user(host, uptr, info, used);
	while (!err && used < room) {
		uint32_t n = room - used < sizeof(zeros) ? room - used : (uint32_t)sizeof(zeros);

		err = copy_to_user(host, uptr + used, zeros, n);
		used += n;
	}
	return err;
}

int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	const struct iommu_ops *ops;
	struct iommufd_device *idev;
	uint32_t info_len = 0;
	void *info = NULL;
	struct device *dev;
	int err;

	if ((cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE) ||
	    (cmd->__reserved[0] | cmd->__reserved[1] | cmd->__reserved[2]))
		return -EOPNOTSUPP;
	/* Without the flag the field is not an input. */
	if (!(cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE))
		cmd->in_data_type = IOMMU_HW_INFO_TYPE_DEFAULT;

	idev = iommufd_get_device(ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return (int)PTR_ERR(idev);
	dev = idev->dev;
	ops = dev->iommu_ops;

	if (!ops->hw_info) {
		cmd->out_data_type = IOMMU_HW_INFO_TYPE_NONE;
	} else {
		/* in_data_type and out_data_type share their field. */
		info = ops->hw_info(dev, &info_len, &cmd->out_data_type);
		if (IS_ERR(info)) {
			err = (int)PTR_ERR(info);
			goto put_dev;
		}
	}
	err = hw_info_to_user(ictx->host, cmd->data_uptr, cmd->data_len, info, info_len);
	if (err)
		goto free_info;

	cmd->data_len = info_len;
	cmd->out_capabilities = device_iommu_capable(dev, IOMMU_CAP_DIRTY_TRACKING) ?
					IOMMU_HW_CAP_DIRTY_TRACKING : 0;
	cmd->out_max_pasid_log2 = (uint8_t)dev->max_pasid_lg2;
	err = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
free_info:
	free(info);
put_dev:
	iommufd_put_object(ictx, &idev->obj);
	return err;
}

/* ----------------------------------------------------------- accesses */

/*
 * A published access for an in-core driver.  It holds the context, as its
 * file would in the kernel, and the driver holds it (IOMMU_DESTROY: EBUSY).
 */
struct iommufd_access *iommufd_access_create(struct iommufd_ctx *ctx,
					     const struct iommufd_access_ops *drv_ops,
					     void *drv_data, uint32_t *out_id)
{
	struct iommufd_access *acc = iommufd_object_alloc(ctx, acc, IOMMUFD_OBJ_ACCESS);

	if (IS_ERR(acc))
		return acc;
	acc->ictx = ctx;
	acc->ops = drv_ops;
	acc->data = drv_data;
	/* Pins are whole pages; a copier may start at any byte. */
	acc->iova_alignment = drv_ops->needs_pin_pages ? PAGE_SIZE : 1;
	acc->obj.users++;
	ctx->refs++;
	iommufd_object_finalize(ctx, &acc->obj);
	*out_id = acc->obj.id;
	return acc;
}

/* Leave the IOAS, without telling the driver (it has let go already). */
static void access_leave(struct iommufd_access *acc)
{
	struct iommufd_ioas *ioas = acc->ioas;

	if (!ioas)
		return;
	iopt_remove_access(&ioas->iopt, acc);
	ioas->obj.users--;
	acc->ioas = NULL;
}

void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	access_leave(container_of(obj, struct iommufd_access, obj));
}

void iommufd_access_destroy(struct iommufd_access *access)
{
	struct iommufd_ctx *ictx = access->ictx;

	pthread_mutex_lock(&ictx->lock);
	access->obj.users--;
	iommufd_object_destroy_user(ictx, &access->obj);
	pthread_mutex_unlock(&ictx->lock);
	/* The context reference create took; maybe the last. */
	uiommufd_ctx_put((struct uiommufd_ctx *)ictx);
}

/* Switch @acc to @to (NULL: none).  Joining comes first, so failure leaves it be. */
static int access_switch(struct iommufd_access *acc, struct iommufd_ioas *to)
{
	int err;

	if (acc->ioas == to)
		return 0;
	if (to) {
		err = iopt_add_access(&to->iopt, acc);
		if (err)
			return err;
		to->obj.users++;
	}
	if (acc->ioas) {
		/* The driver unpins all it holds through the old IOAS. */
		if (acc->ops->unmap)
			acc->ops->unmap(acc->data, 0, ULONG_MAX);
		access_leave(acc);
	}
	acc->ioas = to;
	return 0;
}

/*
 * Attach (@attached false) or replace (true) by IOAS ID, under the lock.
 * An access in the wrong state is EINVAL for attach, ENOENT for replace.
 */
static int access_switch_to_id(struct iommufd_access *acc, uint32_t ioas_id, bool attached)
{
	struct iommufd_ctx *ictx = acc->ictx;
	struct iommufd_ioas *to;
	int err;

	pthread_mutex_lock(&ictx->lock);
	if (!acc->ioas != !attached) {
		err = attached ? -ENOENT : -EINVAL;
		goto unlock;
	}
	to = iommufd_get_ioas(ictx, ioas_id);
	if (IS_ERR(to)) {
		err = (int)PTR_ERR(to);
		goto unlock;
	}
	err = access_switch(acc, to);
	iommufd_put_object(ictx, &to->obj);
unlock:
	pthread_mutex_unlock(&ictx->lock);
	return err;
}

int iommufd_access_attach(struct iommufd_access *access, uint32_t ioas_id)
{
	return access_switch_to_id(access, ioas_id, false);
}

int iommufd_access_replace(struct iommufd_access *access, uint32_t ioas_id)
{
	return access_switch_to_id(access, ioas_id, true);
}

void iommufd_access_detach(struct iommufd_access *access)
{
	pthread_mutex_lock(&access->ictx->lock);
	access_switch(access, NULL);
	pthread_mutex_unlock(&access->ictx->lock);
}

void iommufd_access_notify_unmap(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length)
{
	size_t n;

	for (n = 0; n < iopt->nr_accesses; n++) {
		struct iommufd_access *acc = iopt->accesses[n];

		if (!acc->ops->unmap)
			continue;
		/* A callback that detaches must not free the access under us. */
		acc->obj.users++;
		acc->ops->unmap(acc->data, iova, length);
		acc->obj.users--;
	}
}

/* What pin and rw refuse before looking at the IOAS: empty or wrapping. */
static int access_span_ok(unsigned long iova, unsigned long len)
{
	unsigned long end_incl;

	if (len == 0)
		return -EINVAL;
	if (__builtin_add_overflow(iova, len - 1, &end_incl))
		return -EOVERFLOW;
	return 0;
}

/* Lock the context and return the access's IOAS; NULL (and unlocked) when none. */
static struct io_pagetable *access_lock_iopt(struct iommufd_access *acc)
{
	pthread_mutex_lock(&acc->ictx->lock);
	if (acc->ioas)
		return &acc->ioas->iopt;
	pthread_mutex_unlock(&acc->ictx->lock);
	return NULL;
}

int iommufd_access_pin_pages(struct iommufd_access *acc, unsigned long start,
			     unsigned long len, uint64_t *pas, unsigned int pin_flags)
{
	struct io_pagetable *iopt;
	int err;

	/* Only a pinning driver that can be told to unpin may pin. */
	if (acc->iova_alignment != PAGE_SIZE || !acc->ops->unmap)
		return -EINVAL;
	err = access_span_ok(start, len);
	if (err)
		return err;
	iopt = access_lock_iopt(acc);
	if (!iopt)
		return -ENOENT;
	err = iopt_access_pin_pages(iopt, start, len, pas, pin_flags, false);
	pthread_mutex_unlock(&acc->ictx->lock);
	return err;
}

void iommufd_access_unpin_pages(struct iommufd_access *acc, unsigned long start,
				unsigned long len)
{
	struct io_pagetable *iopt = access_lock_iopt(acc);

	if (!iopt)
		return;
	iopt_access_unpin_pages(iopt, start, len, false);
	pthread_mutex_unlock(&acc->ictx->lock);
}

int iommufd_access_rw(struct iommufd_access *acc, unsigned long start, void *buf,
		      size_t len, unsigned int rw_flags)
{
	struct io_pagetable *iopt;
	int err;

	err = access_span_ok(start, len);
	if (err)
		return err;
	iopt = access_lock_iopt(acc);
	if (!iopt)
		return -ENOENT;
	err = iopt_access_rw(iopt, start, buf, len, rw_flags);
	pthread_mutex_unlock(&acc->ictx->lock);
	return err;
}

int iommufd_access_rw_user(struct iommufd_access *acc, struct iommufd_ctx *held,
			   unsigned long start, uint64_t uptr, size_t len, unsigned int rw_flags)
{
	struct io_pagetable *iopt;
	int err;

	if (access_span_ok(start, len))
		return -EAGAIN;
	if (acc->ictx == held) {
		/* The command's own context: its lock is ours already. */
		return acc->ioas ? iopt_access_rw_user(&acc->ioas->iopt, start, uptr, len, rw_flags)
				 : -EAGAIN;
	}
	iopt = access_lock_iopt(acc);
	if (!iopt)
		return -EAGAIN;
	err = iopt_access_rw_user(iopt, start, uptr, len, rw_flags);
	pthread_mutex_unlock(&acc->ictx->lock);
	return err;
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

/*
 * The first DMA of a thread, or one while a gate is up: under the lock.
 * Out of line, so the fast path saves and restores only what it uses.
 */
static __attribute__((noinline)) int device_dma_locked(struct iommufd_ctx *ictx, uint32_t dev_id,
							uint64_t iova, void *buf, size_t len,
							unsigned int dma_flags)
{
	struct iommufd_device *idev;
	int rc;

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

/*
 * A miss of the tagged entry: find the device, DMA through its domain,
 * and tag the entry that served it when it is still the one filled at
 * @seq for that domain.  The sequence is read before the domain, and
 * attach moves it after storing a new one, so a tag never names a domain
 * older than its sequence.
 */
static __attribute__((noinline)) int device_dma_lookup(struct iommufd_ctx *ictx, uint32_t dev_id,
							uint64_t iova, void *buf, size_t len,
							unsigned int dma_flags)
{
	unsigned long seq = atomic_load_explicit(&iommu_dma_gate_seq, memory_order_acquire);
	struct iommufd_device *idev = iommufd_peek_device(ictx, dev_id);
	struct dma_iotlb *tlb = &iommu_dma_iotlb;
	struct iommu_domain *domain;
	int rc;

	if (!idev)
		return -ENOENT;
	domain = __atomic_load_n(&idev->dev->domain, __ATOMIC_ACQUIRE);
	rc = iommu_dev_dma(idev->dev, iova, buf, len, dma_flags);
	if (!rc && tlb->domain == domain && tlb->seq == seq) {
		tlb->owner = ictx;
		tlb->owner_id = dev_id;
	}
	return rc;
}

int uiommufd_device_dma(struct uiommufd_ctx *uctx, uint32_t dev_id, uint64_t iova, void *buf,
			size_t len, unsigned int flags)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)uctx;
	bool write = flags & UIOMMUFD_DMA_WRITE;
	const struct dma_iotlb *tlb = &iommu_dma_iotlb;
	unsigned long seq;
	int rc = 0;

	if (flags & ~UIOMMUFD_DMA_WRITE)
		return -EINVAL;
	if (!iommu_dma_read_begin())
		return device_dma_locked(ictx, dev_id, iova, buf, len, write ? IOMMU_DMA_WRITE : 0);
	seq = atomic_load_explicit(&iommu_dma_gate_seq, memory_order_acquire);
	/* The common DMA: the device's last span, found without the object table. */
	if (tlb->owner == ictx && tlb->owner_id == dev_id && len &&
	    dma_iotlb_covers(tlb, seq, write ? DMA_FAST_WRITE : DMA_FAST_READ, iova, len))
		dma_iotlb_copy(tlb, iova, buf, len, write);
	else
		rc = device_dma_lookup(ictx, dev_id, iova, buf, len, write ? IOMMU_DMA_WRITE : 0);
	iommu_dma_read_end();
	return rc;
}
