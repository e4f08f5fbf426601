// SPDX-License-Identifier: MIT
/*
 * Devices: binding, attachment and IOMMU_GET_HW_INFO.
 *
 * Device objects are created by device models binding to a context, which
 * come in a later part of the tree.  Until then no device ID exists, and
 * GET_HW_INFO fails after the kernel's argument checks as it would for an
 * unknown device.
 */
#include "core/iommufd_private.h"

int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	struct iommufd_object *idev;

	if (cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		return -EOPNOTSUPP;
	if (cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;

	idev = iommufd_get_object(ucmd->ictx, cmd->dev_id, IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	iommufd_put_object(ucmd->ictx, idev);
	return -EOPNOTSUPP;
}
