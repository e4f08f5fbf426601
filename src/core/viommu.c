// SPDX-License-Identifier: MIT
/*
 * vIOMMU, vDEVICE and HW queue ioctls.
 *
 * A vIOMMU is built on a device's IOMMU and a nesting parent HWPT; vDEVICEs,
 * vEVENTQs and HW queues hang off a vIOMMU.  Until devices exist none of
 * these objects can, and the handlers fail after the kernel's argument
 * checks with the errno of a missing object.
 */
#include "core/iommufd_private.h"

static int viommu_lookup_none(struct iommufd_ucmd *ucmd, uint32_t id,
			      enum iommufd_object_type type)
{
	struct iommufd_object *obj = iommufd_get_object(ucmd->ictx, id, type);

	if (IS_ERR(obj))
		return PTR_ERR(obj);
	iommufd_put_object(ucmd->ictx, obj);
	return -EOPNOTSUPP;
}

int iommufd_viommu_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_viommu_alloc *cmd = ucmd->cmd;

	if (cmd->flags || cmd->type == IOMMU_VIOMMU_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	return viommu_lookup_none(ucmd, cmd->dev_id, IOMMUFD_OBJ_DEVICE);
}

int iommufd_vdevice_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_vdevice_alloc *cmd = ucmd->cmd;

	return viommu_lookup_none(ucmd, cmd->viommu_id, IOMMUFD_OBJ_VIOMMU);
}

int iommufd_hw_queue_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_queue_alloc *cmd = ucmd->cmd;
	uint64_t last;

	if (cmd->flags || cmd->type == IOMMU_HW_QUEUE_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	if (!cmd->length)
		return -EINVAL;
	if (check_add_overflow(cmd->nesting_parent_iova, cmd->length - 1, &last))
		return -EOVERFLOW;
	return viommu_lookup_none(ucmd, cmd->viommu_id, IOMMUFD_OBJ_VIOMMU);
}
