// SPDX-License-Identifier: MIT
/*
 * IOMMU_TEST_CMD: the kernel selftest's private ioctl.
 *
 * The kernel builds this only for its own test suite (CONFIG_IOMMUFD_TEST);
 * uiommufd always has it, because running that suite unmodified is how we
 * check ourselves against the kernel.  The ops that need the mock IOMMU's
 * devices, domains and accesses come with those objects; an op not served
 * yet fails with EOPNOTSUPP, which is what the kernel answers for an
 * unknown op.
 */
#include "core/io_pagetable.h"
#include "core/ioas.h"
#include "uapi/iommufd_test.h"

static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd, uint32_t ioas_id,
				     unsigned long start, size_t length)
{
	struct iommufd_ioas *ioas;
	int rc;

	ioas = iommufd_get_ioas(ucmd->ictx, ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	/* Test reservations have no owner, so nothing ever removes them. */
	rc = iopt_reserve_iova(&ioas->iopt, start, start + length - 1, NULL);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* Each page of the range must hold exactly @refs pins; EIO otherwise. */
static int iommufd_test_md_check_refs(struct iommufd_ucmd *ucmd, uint64_t uptr,
				      uint64_t length, unsigned int refs)
{
	struct uiommufd_host *host = ucmd->ictx->host;

	if (length % PAGE_SIZE || uptr % PAGE_SIZE)
		return -EINVAL;
	for (; length; length -= PAGE_SIZE, uptr += PAGE_SIZE) {
		long pins = host->ops->page_pins(host, uptr);

		if (pins < 0)
			return (int)pins;
		if (pins != refs)
			return -EIO;
	}
	return 0;
}

/*
 * MOCK_DOMAIN binds a new mock device and attaches it to @pt_id.  Mock
 * devices come with the mock IOMMU; until then, what can be answered is
 * the kernel's ENOENT for a @pt_id that names no IOAS or HWPT (its
 * device would be created, fail to attach and be undone unseen).
 */
static int iommufd_test_mock_domain(struct iommufd_ucmd *ucmd, uint32_t pt_id)
{
	struct iommufd_object *pt_obj;

	pt_obj = iommufd_get_object(ucmd->ictx, pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return PTR_ERR(pt_obj);
	iommufd_put_object(ucmd->ictx, pt_obj);
	if (pt_obj->type != IOMMUFD_OBJ_IOAS && pt_obj->type != IOMMUFD_OBJ_HWPT_PAGING &&
	    pt_obj->type != IOMMUFD_OBJ_HWPT_NESTED)
		return -EINVAL;
	if (iommufd_debug)
		iommufd_log("IOMMU_TEST_CMD MOCK_DOMAIN: mock devices are not implemented yet");
	return -EOPNOTSUPP;
}

/* Ops on a mock device name it by its selftest object. */
static int iommufd_test_get_stdev(struct iommufd_ucmd *ucmd, uint32_t stdev_id)
{
	struct iommufd_object *sobj;

	sobj = iommufd_get_object(ucmd->ictx, stdev_id, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	iommufd_put_object(ucmd->ictx, sobj);
	return -EOPNOTSUPP;
}

int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd->id, cmd->add_reserved.start,
						 cmd->add_reserved.length);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_md_check_refs(ucmd, cmd->check_refs.uptr,
						  cmd->check_refs.length, cmd->check_refs.refs);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return iommufd_test_mock_domain(ucmd, cmd->id);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
	case IOMMU_TEST_OP_PASID_ATTACH:
	case IOMMU_TEST_OP_PASID_REPLACE:
	case IOMMU_TEST_OP_PASID_DETACH:
		return iommufd_test_get_stdev(ucmd, cmd->id);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		/* Global, as the kernel's module parameter is. */
		iommufd_temp_memory_limit = cmd->memory_limit.limit;
		return 0;
	default:
		if (iommufd_debug)
			iommufd_log("IOMMU_TEST_CMD op %u is not implemented yet", cmd->op);
		return -EOPNOTSUPP;
	}
}
