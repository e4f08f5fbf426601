// SPDX-License-Identifier: MIT
/*
 * vIOMMU, vDEVICE and HW queue objects.
 *
 * A vIOMMU is one physical IOMMU instance as a VM sees it.  It is built on
 * a device (which names the physical IOMMU) and a NEST_PARENT HWPT, the
 * stage 2 every nested HWPT of the vIOMMU translates through; it holds a
 * users reference on that HWPT.  The driver sizes and fills it (iommu_ops
 * get_viommu_size and viommu_init) and may expose a region of the iommufd
 * file for mmap.
 *
 * A vDEVICE binds a device to its virtual ID in a vIOMMU: one vDEVICE per
 * device, one device per virtual ID (EEXIST).  It holds the vIOMMU; when
 * its device goes away first, the vDEVICE is tombstoned: destroyed, its ID
 * kept until close, so a later IOMMU_DESTROY of it is ENOENT.
 *
 * A HW queue is guest memory a driver reads by physical address: its pages
 * are pinned through the nesting parent's IOAS and locked there, so
 * IOAS_UNMAP of them is EBUSY until the queue goes.  Queues of one vIOMMU
 * may depend on each other (the mock's index order); a queue something
 * depends on cannot be destroyed (EBUSY), as it holds a users reference.
 *
 * Everything here runs under ctx->lock.
 */
#include <stdlib.h>

#include "core/iommufd_private.h"
#include "core/io_pagetable.h"
#include "core/ioas.h"

struct iommufd_viommu *iommufd_get_viommu(struct iommufd_ctx *ictx, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_VIOMMU);

	if (IS_ERR(obj))
		return ERR_PTR(PTR_ERR(obj));
	return container_of(obj, struct iommufd_viommu, obj);
}

static struct iommufd_vdevice *viommu_find_vdev(struct iommufd_viommu *viommu, uint64_t virt_id)
{
	size_t i;

	for (i = 0; i != viommu->nr_vdevs; i++)
		if (viommu->vdevs[i]->virt_id == virt_id)
			return viommu->vdevs[i];
	return NULL;
}

struct device *iommufd_viommu_find_dev(struct iommufd_viommu *viommu, uint64_t virt_id)
{
	struct iommufd_vdevice *vdev = viommu_find_vdev(viommu, virt_id);

	return vdev && vdev->idev ? vdev->idev->dev : NULL;
}

int iommufd_viommu_get_vdev_id(struct iommufd_viommu *viommu, struct device *dev,
			       uint64_t *virt_id)
{
	size_t i;

	for (i = 0; i != viommu->nr_vdevs; i++) {
		struct iommufd_vdevice *vdev = viommu->vdevs[i];

		if (vdev->idev && vdev->idev->dev == dev) {
			*virt_id = vdev->virt_id;
			return 0;
		}
	}
	return -ENOENT;
}

/* -------------------------------------------------------------- vIOMMU */

void iommufd_viommu_destroy(struct iommufd_object *obj)
{
	struct iommufd_viommu *viommu = container_of(obj, struct iommufd_viommu, obj);

	if (viommu->ops && viommu->ops->destroy)
		viommu->ops->destroy(viommu);
	viommu->hwpt->common.obj.users--;
	free(viommu->vdevs);
}

int iommufd_viommu_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_viommu_alloc *cmd = ucmd->cmd;
	const struct iommu_user_data user_data = {
		.host = ucmd->ictx->host,
		.type = cmd->type,
		.uptr = cmd->data_uptr,
		.len = cmd->data_len,
	};
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommufd_viommu *viommu;
	struct iommufd_device *idev;
	const struct iommu_ops *ops;
	struct iommufd_object *obj;
	size_t viommu_size;
	int rc;

	if (cmd->flags || cmd->type == IOMMU_VIOMMU_TYPE_DEFAULT)
		return -EOPNOTSUPP;

	idev = iommufd_get_device(ucmd->ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return (int)PTR_ERR(idev);

	ops = idev->dev->iommu_ops;
	viommu_size = ops->get_viommu_size && ops->viommu_init ?
		ops->get_viommu_size(idev->dev, cmd->type) : 0;
	/* A driver struct smaller than ours would be a driver bug. */
	if (viommu_size < sizeof(*viommu)) {
		rc = -EOPNOTSUPP;
		goto out_put_idev;
	}

	obj = iommufd_get_object(ucmd->ictx, cmd->hwpt_id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj)) {
		rc = (int)PTR_ERR(obj);
		goto out_put_idev;
	}
	hwpt_paging = to_hwpt_paging(container_of(obj, struct iommufd_hw_pagetable, obj));
	if (!hwpt_paging->nest_parent) {
		rc = -EINVAL;
		goto out_put_hwpt;
	}

	obj = _iommufd_object_alloc_ucmd(ucmd, viommu_size, IOMMUFD_OBJ_VIOMMU);
	if (IS_ERR(obj)) {
		rc = (int)PTR_ERR(obj);
		goto out_put_hwpt;
	}
	/* From here dispatch aborts (destroying) the object on failure. */
	viommu = container_of(obj, struct iommufd_viommu, obj);
	viommu->type = cmd->type;
	viommu->ictx = ucmd->ictx;
	viommu->hwpt = hwpt_paging;
	hwpt_paging->common.obj.users++;
	viommu->iommu_dev = ops;

	rc = ops->viommu_init(viommu, hwpt_paging->common.domain,
			      user_data.len ? &user_data : NULL);
	if (rc)
		goto out_put_hwpt;
	if (!viommu->ops) {	/* a driver bug */
		rc = -EOPNOTSUPP;
		goto out_put_hwpt;
	}

	cmd->out_viommu_id = viommu->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));

out_put_hwpt:
	iommufd_put_object(ucmd->ictx, &hwpt_paging->common.obj);
out_put_idev:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

int iommufd_viommu_alloc_mmap(struct iommufd_viommu *viommu, struct host_file *file,
			      size_t length, uint64_t *offset)
{
	return _iommufd_alloc_mmap(viommu->ictx, &viommu->obj, file, length, offset);
}

void iommufd_viommu_destroy_mmap(struct iommufd_viommu *viommu, uint64_t offset)
{
	_iommufd_destroy_mmap(viommu->ictx, offset);
}

/* ------------------------------------------------------------- vDEVICE */

static void vdevice_unlink(struct iommufd_vdevice *vdev)
{
	struct iommufd_viommu *viommu = vdev->viommu;
	size_t i;

	for (i = 0; i != viommu->nr_vdevs; i++) {
		if (viommu->vdevs[i] == vdev) {
			viommu->vdevs[i] = viommu->vdevs[--viommu->nr_vdevs];
			break;
		}
	}
}

void iommufd_vdevice_destroy(struct iommufd_object *obj)
{
	struct iommufd_vdevice *vdev = container_of(obj, struct iommufd_vdevice, obj);

	vdevice_unlink(vdev);
	vdev->viommu->obj.users--;
	if (vdev->idev)
		vdev->idev->vdev = NULL;
	vdev->idev = NULL;
}

int iommufd_vdevice_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_vdevice_alloc *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_viommu *viommu;
	struct iommufd_vdevice *vdev;
	struct iommufd_device *idev;
	int rc;

	/* The kernel indexes an xarray with it: an unsigned long. */
	if (cmd->virt_id > ULONG_MAX)
		return -EINVAL;

	viommu = iommufd_get_viommu(ictx, cmd->viommu_id);
	if (IS_ERR(viommu))
		return (int)PTR_ERR(viommu);

	idev = iommufd_get_device(ictx, cmd->dev_id);
	if (IS_ERR(idev)) {
		rc = (int)PTR_ERR(idev);
		goto out_put_viommu;
	}
	if (viommu->iommu_dev != idev->dev->iommu_ops) {
		rc = -EINVAL;
		goto out_put_idev;
	}
	if (idev->vdev || viommu_find_vdev(viommu, cmd->virt_id)) {
		rc = -EEXIST;
		goto out_put_idev;
	}
	if (viommu->nr_vdevs == viommu->max_vdevs) {
		size_t max = viommu->max_vdevs ? viommu->max_vdevs * 2 : 4;
		struct iommufd_vdevice **grown;

		grown = iommufd_realloc_array(viommu->vdevs, max, sizeof(*grown));
		if (!grown) {
			rc = -ENOMEM;
			goto out_put_idev;
		}
		viommu->vdevs = grown;
		viommu->max_vdevs = max;
	}

	vdev = iommufd_object_alloc(ictx, vdev, IOMMUFD_OBJ_VDEVICE);
	if (IS_ERR(vdev)) {
		rc = (int)PTR_ERR(vdev);
		goto out_put_idev;
	}
	vdev->virt_id = cmd->virt_id;
	vdev->viommu = viommu;
	viommu->obj.users++;
	vdev->idev = idev;
	idev->vdev = vdev;
	viommu->vdevs[viommu->nr_vdevs++] = vdev;

	cmd->out_vdevice_id = vdev->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_abort;
	iommufd_object_finalize(ictx, &vdev->obj);
	goto out_put_idev;

out_abort:
	iommufd_object_abort_and_destroy(ictx, &vdev->obj);
out_put_idev:
	iommufd_put_object(ictx, &idev->obj);
out_put_viommu:
	iommufd_put_object(ictx, &viommu->obj);
	return rc;
}

/* ------------------------------------------------------------ HW queue */

/* The queue's pages, page aligned around [base_addr, base_addr + length). */
static void hw_queue_span(const struct iommufd_hw_queue *hw_queue, uint64_t *iova,
			  uint64_t *length)
{
	uint64_t start = hw_queue->base_addr & ~(uint64_t)(PAGE_SIZE - 1);
	uint64_t end = hw_queue->base_addr + hw_queue->length;

	*iova = start;
	*length = ((end + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1)) - start;
}

void iommufd_hw_queue_destroy(struct iommufd_object *obj)
{
	struct iommufd_hw_queue *hw_queue = container_of(obj, struct iommufd_hw_queue, obj);
	struct iommufd_ioas *ioas;
	uint64_t iova, length;

	if (hw_queue->destroy)
		hw_queue->destroy(hw_queue);
	if (!hw_queue->viommu)
		return;
	ioas = hw_queue->viommu->hwpt->ioas;
	if (hw_queue->pinned) {
		hw_queue_span(hw_queue, &iova, &length);
		iopt_access_unpin_pages(&ioas->iopt, iova, length, true);
	}
	hw_queue->viommu->obj.users--;
}

/*
 * Pin and lock the queue's pages through the nesting parent's IOAS; a
 * driver reading them by physical address needs them contiguous (EFAULT
 * otherwise).  *@base_pa is the physical address of base_addr.
 */
static int hw_queue_pin(struct iommufd_hw_queue *hw_queue, uint64_t *base_pa)
{
	struct io_pagetable *iopt = &hw_queue->viommu->hwpt->ioas->iopt;
	uint64_t iova, length, npages, i, *pa;
	int rc;

	hw_queue_span(hw_queue, &iova, &length);
	npages = length / PAGE_SIZE;
	pa = iommufd_realloc_array(NULL, npages, sizeof(*pa));
	if (!pa)
		return -ENOMEM;
	rc = iopt_access_pin_pages(iopt, iova, length, pa, IOMMUFD_ACCESS_RW_WRITE, true);
	if (rc)
		goto out_free;
	for (i = 1; i < npages; i++) {
		if (pa[i] != pa[i - 1] + PAGE_SIZE) {
			rc = -EFAULT;
			goto out_unpin;
		}
	}
	*base_pa = pa[0] + (hw_queue->base_addr - iova);
	hw_queue->pinned = true;
	free(pa);
	return 0;

out_unpin:
	iopt_access_unpin_pages(iopt, iova, length, true);
out_free:
	free(pa);
	return rc;
}

int iommufd_hw_queue_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_queue_alloc *cmd = ucmd->cmd;
	struct iommufd_hw_queue *hw_queue;
	struct iommufd_viommu *viommu;
	struct iommufd_object *obj;
	size_t hw_queue_size;
	uint64_t base_pa, last;
	int rc;

	if (cmd->flags || cmd->type == IOMMU_HW_QUEUE_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	if (!cmd->length)
		return -EINVAL;
	if (check_add_overflow(cmd->nesting_parent_iova, cmd->length - 1, &last))
		return -EOVERFLOW;

	viommu = iommufd_get_viommu(ucmd->ictx, cmd->viommu_id);
	if (IS_ERR(viommu))
		return (int)PTR_ERR(viommu);

	hw_queue_size = viommu->ops->get_hw_queue_size && viommu->ops->hw_queue_init_phys ?
		viommu->ops->get_hw_queue_size(viommu, cmd->type) : 0;
	if (hw_queue_size < sizeof(*hw_queue)) {
		rc = -EOPNOTSUPP;
		goto out_put_viommu;
	}

	obj = _iommufd_object_alloc_ucmd(ucmd, hw_queue_size, IOMMUFD_OBJ_HW_QUEUE);
	if (IS_ERR(obj)) {
		rc = (int)PTR_ERR(obj);
		goto out_put_viommu;
	}
	/* From here dispatch aborts (destroying) the object on failure. */
	hw_queue = container_of(obj, struct iommufd_hw_queue, obj);
	hw_queue->type = cmd->type;
	hw_queue->base_addr = cmd->nesting_parent_iova;
	hw_queue->length = cmd->length;
	hw_queue->viommu = viommu;
	viommu->obj.users++;

	rc = hw_queue_pin(hw_queue, &base_pa);
	if (rc)
		goto out_put_viommu;
	rc = viommu->ops->hw_queue_init_phys(hw_queue, cmd->index, base_pa);
	if (rc)
		goto out_put_viommu;

	cmd->out_hw_queue_id = hw_queue->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));

out_put_viommu:
	iommufd_put_object(ucmd->ictx, &viommu->obj);
	return rc;
}
