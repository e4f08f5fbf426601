// SPDX-License-Identifier: MIT
/*
 * vIOMMUs and the objects that hang off them: vDEVICEs and HW queues.
 * docs/uapi-behaviour.md is the specification; the errno order there is the
 * order of the checks here.
 *
 * Who holds whom (users references):
 *   vIOMMU    its nesting-parent paging HWPT (the stage 2);
 *   vDEVICE   its vIOMMU.  It and its device point at each other without
 *             holding each other: a device that goes first takes its
 *             vDEVICE along as a tombstone (device.c);
 *   HW queue  its vIOMMU, and a pinned, locked span of the parent's IOAS.
 *             A driver may also make one queue hold another.
 *
 * Every ioctl here reserves its object through the ucmd: dispatch
 * publishes it when the handler returns 0 and tears it down otherwise,
 * a failed reply included.  So each destroy function copes with an
 * object at any stage of being filled and undoes only what the object
 * says was done: a NULL back pointer means "not taken", `pinned` false
 * means "nothing pinned".
 *
 * A vIOMMU keeps its vDEVICEs in a small unsorted array; it has a few
 * devices, and both lookups (by virtual ID for invalidation and events,
 * by device for attach) are linear scans.
 *
 * Nothing here allocates by a length or count the user chose.  A HW queue
 * span is pinned in one call that returns no page list, and contiguity is
 * then read back in fixed-size batches.
 *
 * Everything runs under ctx->lock.
 */
#include <limits.h>
#include <stdlib.h>

#include "core/iommufd_private.h"
#include "core/io_pagetable.h"
#include "core/ioas.h"

/* Physical addresses read back per batch while checking a queue's pages. */
#define QUEUE_PA_BATCH 64

struct iommufd_viommu *iommufd_get_viommu(struct iommufd_ctx *ictx, uint32_t id)
{
	struct iommufd_object *found = iommufd_get_object(ictx, id, IOMMUFD_OBJ_VIOMMU);

	if (IS_ERR(found))
		return (struct iommufd_viommu *)found;
	return container_of(found, struct iommufd_viommu, obj);
}

/* Driver regions of the iommufd file are the context's; the vIOMMU owns its own. */
int iommufd_viommu_alloc_mmap(struct iommufd_viommu *viommu, struct host_file *file,
			      size_t length, uint64_t *offset)
{
	return _iommufd_alloc_mmap(viommu->ictx, &viommu->obj, file, length, offset);
}

void iommufd_viommu_destroy_mmap(struct iommufd_viommu *viommu, uint64_t offset)
{
	_iommufd_destroy_mmap(viommu->ictx, offset);
}

/* ------------------------------------------------- the vDEVICE table */

static struct iommufd_vdevice *vdev_by_virt_id(const struct iommufd_viommu *viommu,
					       uint64_t virt_id)
{
	size_t n;

	for (n = 0; n < viommu->nr_vdevs; n++)
		if (viommu->vdevs[n]->virt_id == virt_id)
			return viommu->vdevs[n];
	return NULL;
}

static struct iommufd_vdevice *vdev_by_dev(const struct iommufd_viommu *viommu,
					   const struct device *dev)
{
	size_t n;

	for (n = 0; n < viommu->nr_vdevs; n++) {
		struct iommufd_device *owner = viommu->vdevs[n]->idev;

		if (owner && owner->dev == dev)
			return viommu->vdevs[n];
	}
	return NULL;
}

struct device *iommufd_viommu_find_dev(struct iommufd_viommu *viommu, uint64_t virt_id)
{
	struct iommufd_vdevice *hit = vdev_by_virt_id(viommu, virt_id);

	if (!hit || !hit->idev)
		return NULL;
	return hit->idev->dev;
}

int iommufd_viommu_get_vdev_id(struct iommufd_viommu *viommu, struct device *dev,
			       uint64_t *virt_id)
{
	struct iommufd_vdevice *hit = vdev_by_dev(viommu, dev);

	if (!hit)
		return -ENOENT;
	*virt_id = hit->virt_id;
	return 0;
}

/* Room for one more entry, so that linking afterwards cannot fail. */
static int vdev_table_make_room(struct iommufd_viommu *viommu)
{
	struct iommufd_vdevice **bigger;
	size_t cap;

	if (viommu->nr_vdevs < viommu->max_vdevs)
		return 0;
	cap = viommu->max_vdevs ? 2 * viommu->max_vdevs : 4;
	bigger = iommufd_realloc_array(viommu->vdevs, cap, sizeof(*bigger));
	if (!bigger)
		return -ENOMEM;
	viommu->vdevs = bigger;
	viommu->max_vdevs = cap;
	return 0;
}

static void vdev_table_drop(struct iommufd_viommu *viommu, const struct iommufd_vdevice *vdev)
{
	size_t n;

	for (n = 0; n < viommu->nr_vdevs; n++) {
		if (viommu->vdevs[n] != vdev)
			continue;
		/* Order does not matter: the last entry fills the gap. */
		viommu->nr_vdevs--;
		viommu->vdevs[n] = viommu->vdevs[viommu->nr_vdevs];
		return;
	}
}

/* -------------------------------------------------------------- vIOMMU */

void iommufd_viommu_destroy(struct iommufd_object *obj)
{
	struct iommufd_viommu *vi = container_of(obj, struct iommufd_viommu, obj);
	const struct iommufd_viommu_ops *drv_ops = vi->ops;

	/* No ops: the driver's init failed and cleaned up after itself. */
	if (drv_ops && drv_ops->destroy)
		drv_ops->destroy(vi);
	if (vi->hwpt)
		vi->hwpt->common.obj.users--;
	free(vi->vdevs);
}

/* How big the driver's vIOMMU of @type is; 0 when it cannot make one. */
static size_t viommu_obj_size(const struct iommu_ops *drv, struct device *dev, uint32_t type)
{
	size_t want;

	if (!drv->get_viommu_size || !drv->viommu_init)
		return 0;
	want = drv->get_viommu_size(dev, type);
	/* The driver embeds our struct; anything smaller is its bug. */
	return want >= sizeof(struct iommufd_viommu) ? want : 0;
}

/* The nesting parent at @id, held: ENOENT, or EINVAL if it cannot nest. */
static int viommu_get_parent(struct iommufd_ctx *ictx, uint32_t id,
			     struct iommufd_hwpt_paging **out)
{
	struct iommufd_object *found = iommufd_get_object(ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	struct iommufd_hwpt_paging *paging;

	if (IS_ERR(found))
		return (int)PTR_ERR(found);
	paging = to_hwpt_paging(container_of(found, struct iommufd_hw_pagetable, obj));
	if (!paging->nest_parent) {
		iommufd_put_object(ictx, found);
		return -EINVAL;
	}
	*out = paging;
	return 0;
}

/* Fill a reserved vIOMMU and let the driver set it up. */
static int viommu_fill(struct iommufd_viommu *viommu, const struct iommu_viommu_alloc *req,
		       struct iommufd_ctx *ictx, const struct iommu_ops *drv,
		       struct iommufd_hwpt_paging *parent)
{
	struct iommu_user_data blob = {
		.host = ictx->host,
		.type = req->type,
		.uptr = req->data_uptr,
		.len = req->data_len,
	};
	int rc;

	viommu->ictx = ictx;
	viommu->type = req->type;
	viommu->iommu_dev = drv;
	viommu->hwpt = parent;
	parent->common.obj.users++;

	/* Drivers see user data only when there is some. */
	rc = drv->viommu_init(viommu, parent->common.domain, req->data_len ? &blob : NULL);
	if (rc)
		return rc;
	/* A driver that succeeds without ops is broken. */
	return viommu->ops ? 0 : -EOPNOTSUPP;
}

int iommufd_viommu_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_viommu_alloc *req = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_hwpt_paging *parent = NULL;
	struct iommufd_object *reserved;
	struct iommufd_device *idev;
	const struct iommu_ops *drv;
	size_t objsize;
	int rc;

	if (req->flags || req->type == IOMMU_VIOMMU_TYPE_DEFAULT)
		return -EOPNOTSUPP;

	idev = iommufd_get_device(ictx, req->dev_id);
	if (IS_ERR(idev))
		return (int)PTR_ERR(idev);
	drv = idev->dev->iommu_ops;
	objsize = viommu_obj_size(drv, idev->dev, req->type);
	if (!objsize) {
		rc = -EOPNOTSUPP;
		goto unhold_dev;
	}
	rc = viommu_get_parent(ictx, req->hwpt_id, &parent);
	if (rc)
		goto unhold_dev;

	reserved = _iommufd_object_alloc_ucmd(ucmd, objsize, IOMMUFD_OBJ_VIOMMU);
	if (IS_ERR(reserved)) {
		rc = (int)PTR_ERR(reserved);
		goto unhold_parent;
	}
	rc = viommu_fill(container_of(reserved, struct iommufd_viommu, obj), req, ictx, drv,
			 parent);
	if (!rc) {
		req->out_viommu_id = reserved->id;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*req));
	}

unhold_parent:
	iommufd_put_object(ictx, &parent->common.obj);
unhold_dev:
	iommufd_put_object(ictx, &idev->obj);
	return rc;
}

/* ------------------------------------------------------------- vDEVICE */

void iommufd_vdevice_destroy(struct iommufd_object *obj)
{
	struct iommufd_vdevice *vd = container_of(obj, struct iommufd_vdevice, obj);
	struct iommufd_viommu *home = vd->viommu;

	/* Both links are set together, or neither (a reservation given up). */
	if (!home)
		return;
	vdev_table_drop(home, vd);
	home->obj.users--;
	if (vd->idev)
		vd->idev->vdev = NULL;
	vd->idev = NULL;
	vd->viommu = NULL;
}

/* May @idev join @viommu under @virt_id?  Checks that need no allocation. */
static int vdev_admissible(const struct iommufd_viommu *viommu,
			   const struct iommufd_device *idev)
{
	/* A vIOMMU stands for one physical IOMMU and only its devices. */
	if (idev->dev->iommu_ops != viommu->iommu_dev)
		return -EINVAL;
	/* A device has one vDEVICE, whichever vIOMMU it is in. */
	if (idev->vdev)
		return -EEXIST;
	return 0;
}

int iommufd_vdevice_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_vdevice_alloc *req = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_viommu *viommu;
	struct iommufd_vdevice *vdev;
	struct iommufd_device *idev;
	int rc;

	/* The kernel keys a table with it: it must fit an unsigned long. */
	if (req->virt_id > ULONG_MAX)
		return -EINVAL;

	viommu = iommufd_get_viommu(ictx, req->viommu_id);
	if (IS_ERR(viommu))
		return (int)PTR_ERR(viommu);
	idev = iommufd_get_device(ictx, req->dev_id);
	if (IS_ERR(idev)) {
		rc = (int)PTR_ERR(idev);
		goto unhold_viommu;
	}
	rc = vdev_admissible(viommu, idev);
	if (rc)
		goto unhold_dev;

	vdev = iommufd_object_alloc_ucmd(ucmd, vdev, IOMMUFD_OBJ_VDEVICE);
	if (IS_ERR(vdev)) {
		rc = (int)PTR_ERR(vdev);
		goto unhold_dev;
	}
	rc = vdev_table_make_room(viommu);
	if (rc)
		goto unhold_dev;
	/* As in the kernel, a taken ID shows up only once the object exists. */
	if (vdev_by_virt_id(viommu, req->virt_id)) {
		rc = -EEXIST;
		goto unhold_dev;
	}

	vdev->virt_id = req->virt_id;
	vdev->viommu = viommu;
	viommu->obj.users++;
	vdev->idev = idev;
	idev->vdev = vdev;
	viommu->vdevs[viommu->nr_vdevs++] = vdev;

	req->out_vdevice_id = vdev->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*req));

unhold_dev:
	iommufd_put_object(ictx, &idev->obj);
unhold_viommu:
	iommufd_put_object(ictx, &viommu->obj);
	return rc;
}

/* ------------------------------------------------------------ HW queue */

/*
 * The whole pages under a queue's bytes [iova, iova + length): @first is
 * page aligned, @bytes a page multiple.  Fails only when the rounded end
 * does not fit 64 bits.
 */
struct queue_span {
	uint64_t first;
	uint64_t bytes;
	uint64_t npages;
	uint64_t lead;		/* where iova sits in the first page */
};

static int queue_span_of(uint64_t iova, uint64_t length, struct queue_span *span)
{
	uint64_t mask = PAGE_SIZE - 1, covered;

	span->lead = iova & mask;
	span->first = iova - span->lead;
	if (check_add_overflow(span->lead, length, &covered) ||
	    check_add_overflow(covered, mask, &covered))
		return -ERANGE;
	span->bytes = covered & ~mask;
	span->npages = span->bytes / PAGE_SIZE;
	return 0;
}

static struct io_pagetable *queue_iopt(const struct iommufd_hw_queue *hw_queue)
{
	return &hw_queue->viommu->hwpt->ioas->iopt;
}

void iommufd_hw_queue_destroy(struct iommufd_object *obj)
{
	struct iommufd_hw_queue *q = container_of(obj, struct iommufd_hw_queue, obj);
	struct queue_span span;

	/* The driver stops using the memory before it is let go. */
	if (q->destroy)
		q->destroy(q);
	/* Pinned implies a span that was valid and a vIOMMU. */
	if (q->pinned && !queue_span_of(q->base_addr, q->length, &span))
		iopt_access_unpin_pages(queue_iopt(q), span.first, span.bytes, true);
	q->pinned = false;
	if (q->viommu)
		q->viommu->obj.users--;
}

/*
 * Are the pinned pages of @span one physical run?  Their addresses are
 * read back a batch at a time through a short extra pin, so the memory
 * used is the same for one page and for a terabyte.  *@pa_out gets the
 * first page's address.
 */
static int queue_span_contiguous(struct io_pagetable *iopt, const struct queue_span *span,
				 uint64_t *pa_out)
{
	uint64_t batch[QUEUE_PA_BATCH];
	uint64_t done = 0, expect = 0;

	while (done < span->npages) {
		uint64_t count = min_t(uint64_t, span->npages - done, QUEUE_PA_BATCH);
		uint64_t at = span->first + done * PAGE_SIZE;
		uint64_t k;
		int rc;

		rc = iopt_access_pin_pages(iopt, at, count * PAGE_SIZE, batch,
					   IOMMUFD_ACCESS_RW_READ, false);
		if (rc)
			return rc;
		iopt_access_unpin_pages(iopt, at, count * PAGE_SIZE, false);
		if (!done)
			*pa_out = expect = batch[0];
		for (k = 0; k < count; k++, expect += PAGE_SIZE)
			if (batch[k] != expect)
				return -EFAULT;
		done += count;
	}
	return 0;
}

/*
 * Pin and lock @span for reading (the hardware reads the queue), then
 * demand one physical run.  The whole pin comes first so that its errnos
 * win over EFAULT, as in the kernel.
 */
static int queue_pin_span(struct io_pagetable *iopt, const struct queue_span *span,
			  uint64_t *pa_out)
{
	int rc;

	rc = iopt_access_pin_pages(iopt, span->first, span->bytes, NULL,
				   IOMMUFD_ACCESS_RW_READ, true);
	if (rc)
		return rc;
	rc = queue_span_contiguous(iopt, span, pa_out);
	if (rc)
		iopt_access_unpin_pages(iopt, span->first, span->bytes, true);
	return rc;
}

/* The largest span the kernel's page list (one pointer a page, kvcalloc) allows. */
#define QUEUE_MAX_PAGES ((uint64_t)INT_MAX / sizeof(void *))

/* Fill a reserved queue: hold the vIOMMU, pin its memory, hand it to the driver. */
static int hw_queue_fill(struct iommufd_hw_queue *hw_queue, struct iommufd_viommu *viommu,
			 const struct iommu_hw_queue_alloc *req)
{
	struct queue_span span;
	uint64_t base_pa = 0;
	int rc;

	hw_queue->viommu = viommu;
	viommu->obj.users++;
	hw_queue->type = req->type;
	hw_queue->base_addr = req->nesting_parent_iova;
	hw_queue->length = req->length;

	rc = queue_span_of(req->nesting_parent_iova, req->length, &span);
	if (rc)
		return rc;
	/* The kernel fails its page list allocation here; we need none. */
	if (span.npages > QUEUE_MAX_PAGES)
		return -ENOMEM;
	rc = queue_pin_span(queue_iopt(hw_queue), &span, &base_pa);
	if (rc)
		return rc;
	hw_queue->pinned = true;
	return viommu->ops->hw_queue_init_phys(hw_queue, req->index, base_pa + span.lead);
}

/* How big the driver's queue of @type is; 0 when it cannot make one. */
static size_t hw_queue_obj_size(struct iommufd_viommu *viommu, uint32_t type)
{
	const struct iommufd_viommu_ops *ops = viommu->ops;
	size_t want;

	if (!ops || !ops->get_hw_queue_size || !ops->hw_queue_init_phys)
		return 0;
	want = ops->get_hw_queue_size(viommu, type);
	return want >= sizeof(struct iommufd_hw_queue) ? want : 0;
}

int iommufd_hw_queue_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_queue_alloc *req = ucmd->cmd;
	struct iommufd_object *reserved;
	struct iommufd_viommu *viommu;
	size_t objsize;
	uint64_t end;
	int rc;

	if (req->flags || req->type == IOMMU_HW_QUEUE_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	if (!req->length)
		return -EINVAL;
	if (check_add_overflow(req->nesting_parent_iova, req->length - 1, &end))
		return -EOVERFLOW;

	viommu = iommufd_get_viommu(ucmd->ictx, req->viommu_id);
	if (IS_ERR(viommu))
		return (int)PTR_ERR(viommu);
	objsize = hw_queue_obj_size(viommu, req->type);
	if (!objsize) {
		rc = -EOPNOTSUPP;
		goto unhold_viommu;
	}

	reserved = _iommufd_object_alloc_ucmd(ucmd, objsize, IOMMUFD_OBJ_HW_QUEUE);
	if (IS_ERR(reserved)) {
		rc = (int)PTR_ERR(reserved);
		goto unhold_viommu;
	}
	rc = hw_queue_fill(container_of(reserved, struct iommufd_hw_queue, obj), viommu, req);
	if (!rc) {
		req->out_hw_queue_id = reserved->id;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*req));
	}

unhold_viommu:
	iommufd_put_object(ucmd->ictx, &viommu->obj);
	return rc;
}
