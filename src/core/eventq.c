// SPDX-License-Identifier: MIT
/*
 * Event queues: the fault queue (IOPF) and the vIOMMU event queue.
 *
 * Both are objects with a file descriptor the program reads records from.
 * A vEVENTQ needs a vIOMMU, which needs a device; a fault queue can exist
 * on its own but has nothing to deliver until an IOPF-capable HWPT does.
 * Until those land the handlers run the kernel's argument checks and then
 * fail: a vEVENTQ with the errno of a missing vIOMMU, a fault queue with
 * EOPNOTSUPP.
 */
#include "core/iommufd_private.h"

#define IOMMU_VEVENTQ_MAX_DEPTH (1u << 19)

int iommufd_fault_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_fault_alloc *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (iommufd_debug)
		iommufd_log("IOMMU_FAULT_QUEUE_ALLOC: fault queues are not implemented yet");
	return -EOPNOTSUPP;
}

int iommufd_veventq_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_veventq_alloc *cmd = ucmd->cmd;
	struct iommufd_object *viommu;

	if (cmd->flags || cmd->__reserved || cmd->type == IOMMU_VEVENTQ_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	if (!cmd->veventq_depth || cmd->veventq_depth > IOMMU_VEVENTQ_MAX_DEPTH)
		return -EINVAL;
	viommu = iommufd_get_object(ucmd->ictx, cmd->viommu_id, IOMMUFD_OBJ_VIOMMU);
	if (IS_ERR(viommu))
		return PTR_ERR(viommu);
	iommufd_put_object(ucmd->ictx, viommu);
	return -EOPNOTSUPP;
}
