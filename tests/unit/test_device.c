// SPDX-License-Identifier: MIT
/*
 * Devices (device.c) through the selftest's mock IOMMU (selftest.c): bind and
 * attach with IOMMU_TEST_OP_MOCK_DOMAIN, what attaching does to the IOAS,
 * replace, IOMMU_GET_HW_INFO, pinning on attach, and device DMA.  Everything
 * goes through uiommufd_ioctl() as a program's ioctls would.
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "helpers.h"
#include "core/iommufd_private.h"
#include "host/inproc.h"
#include "iommu/iommu.h"

struct fixture {
	struct uiommufd_ctx *ctx;
	uint32_t ioas;
	uint8_t *buf;		/* NPAGES pages of its own mapping */
};

#define NPAGES 16
/* Inside the mock aperture, so areas there survive an attach. */
#define IOVA_A ((uint64_t)MOCK_APERTURE_START)

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fixture_open(&f->ctx, &f->ioas, &f->buf, NPAGES))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fixture_close(f->ctx, f->buf, NPAGES);
	free(f);
	return 0;
}

/* Nothing but @keep is left in the object table (IDs 1..63). */
static void assert_only_object(struct uiommufd_ctx *ctx, uint32_t keep)
{
	uint32_t id;

	for (id = 1; id < 64; id++)
		if (id != keep)
			assert_int_equal(destroy(ctx, id), -ENOENT);
}

static void test_mock_domain_ids_and_ranges(void **state)
{
	struct fixture *f = *state;
	struct mock_ids m = {};

	assert_one_range(f->ctx, f->ioas, 0, UINT64_MAX, 1);
	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_not_equal(m.stdev, 0);
	assert_int_not_equal(m.hwpt, 0);
	assert_int_not_equal(m.idev, 0);
	assert_int_not_equal(m.stdev, m.hwpt);
	assert_int_not_equal(m.stdev, m.idev);
	assert_int_not_equal(m.hwpt, m.idev);
	assert_int_not_equal(m.hwpt, f->ioas);

	/* The mock domain's aperture and 2 KiB granule now bound the IOAS. */
	assert_one_range(f->ctx, f->ioas, MOCK_APERTURE_START, MOCK_APERTURE_LAST,
			 MOCK_PAGE_SIZE);

	/* Destroying the selftest object unplugs the device and its HWPT. */
	assert_int_equal(destroy(f->ctx, m.stdev), 0);
	assert_one_range(f->ctx, f->ioas, 0, UINT64_MAX, 1);
	assert_int_equal(destroy(f->ctx, m.hwpt), -ENOENT);
	assert_int_equal(destroy(f->ctx, m.idev), -ENOENT);
	assert_only_object(f->ctx, f->ioas);
}

static void test_second_device_shares_auto_hwpt(void **state)
{
	struct fixture *f = *state;
	struct mock_ids a = {}, b = {}, c = {};

	assert_int_equal(mock_domain(f->ctx, f->ioas, &a), 0);
	assert_int_equal(mock_domain(f->ctx, f->ioas, &b), 0);
	assert_int_equal(b.hwpt, a.hwpt);
	assert_int_not_equal(b.idev, a.idev);
	assert_int_not_equal(b.stdev, a.stdev);
	/* A device without dirty tracking fits an automatic domain too. */
	assert_int_equal(mock_domain_flags(f->ctx, f->ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, &c), 0);
	assert_int_equal(c.hwpt, a.hwpt);

	/* The HWPT stays while any device uses it and goes with the last. */
	assert_int_equal(destroy(f->ctx, a.stdev), 0);
	assert_int_equal(destroy(f->ctx, c.stdev), 0);
	assert_int_equal(destroy(f->ctx, a.hwpt), -EBUSY);
	assert_one_range(f->ctx, f->ioas, MOCK_APERTURE_START, MOCK_APERTURE_LAST,
			 MOCK_PAGE_SIZE);
	assert_int_equal(destroy(f->ctx, b.stdev), 0);
	assert_int_equal(destroy(f->ctx, a.hwpt), -ENOENT);
	assert_one_range(f->ctx, f->ioas, 0, UINT64_MAX, 1);
}

static void test_mock_domain_errors(void **state)
{
	struct fixture *f = *state;
	struct mock_ids m = {}, bad = {};

	assert_int_equal(mock_domain(f->ctx, f->ioas + 100, &bad), -ENOENT);
	assert_int_equal(mock_domain(f->ctx, 0, &bad), -ENOENT);
	assert_int_equal(mock_domain_flags(f->ctx, f->ioas, 1u << 8, &bad), -EINVAL);
	assert_int_equal(mock_domain_flags(f->ctx, f->ioas + 100, 0, &bad), -ENOENT);
	/* Nothing half made was left behind. */
	assert_only_object(f->ctx, f->ioas);

	/* Something that is neither an IOAS nor a HWPT: EINVAL. */
	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(mock_domain(f->ctx, m.idev, &bad), -EINVAL);
	assert_int_equal(mock_domain(f->ctx, m.stdev, &bad), -EINVAL);
}

static void test_destroy_busy(void **state)
{
	struct fixture *f = *state;
	struct mock_ids m = {};

	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	/* The driver holds its device; the device holds the HWPT and the IOAS. */
	assert_int_equal(destroy(f->ctx, m.idev), -EBUSY);
	assert_int_equal(destroy(f->ctx, m.hwpt), -EBUSY);
	assert_int_equal(destroy(f->ctx, f->ioas), -EBUSY);
	assert_int_equal(destroy(f->ctx, m.stdev), 0);
	assert_int_equal(destroy(f->ctx, m.stdev), -ENOENT);
	assert_int_equal(destroy(f->ctx, f->ioas), 0);
}

static void test_replace(void **state)
{
	struct fixture *f = *state;
	struct mock_ids m = {};
	uint32_t manual = 0, manual2 = 0, pt, ioas2;
	uint64_t iova = IOVA_A;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(hwpt_alloc(f->ctx, m.idev, f->ioas, 0, &manual), 0);
	assert_int_not_equal(manual, m.hwpt);
	assert_int_equal(check_map(f->ctx, manual, IOVA_A, NPAGES * PSZ, f->buf), 0);

	/* To the manual HWPT: the automatic one loses its last device and goes. */
	pt = manual;
	assert_int_equal(mock_domain_replace(f->ctx, m.stdev, &pt), 0);
	assert_int_equal(pt, manual);
	assert_int_equal(destroy(f->ctx, m.hwpt), -ENOENT);
	assert_int_equal(destroy(f->ctx, manual), -EBUSY);
	/* Replacing with what is attached already is a no-op. */
	assert_int_equal(mock_domain_replace(f->ctx, m.stdev, &pt), 0);
	assert_int_equal(pt, manual);

	/* Back to the IOAS: a new automatic HWPT, never the manual one. */
	pt = f->ioas;
	assert_int_equal(mock_domain_replace(f->ctx, m.stdev, &pt), 0);
	assert_int_not_equal(pt, manual);
	assert_int_not_equal(pt, f->ioas);
	assert_int_equal(check_map(f->ctx, pt, IOVA_A, NPAGES * PSZ, f->buf), 0);
	assert_int_equal(destroy(f->ctx, manual), 0);
	assert_int_equal(destroy(f->ctx, pt), -EBUSY);

	/* Failures leave the device where it was. */
	manual = pt;
	pt = 9999;
	assert_int_equal(mock_domain_replace(f->ctx, m.stdev, &pt), -ENOENT);
	pt = m.idev;
	assert_int_equal(mock_domain_replace(f->ctx, m.stdev, &pt), -EINVAL);
	pt = f->ioas;
	assert_int_equal(mock_domain_replace(f->ctx, f->ioas, &pt), -ENOENT);
	assert_int_equal(mock_domain_replace(f->ctx, 9999, &pt), -ENOENT);
	assert_int_equal(destroy(f->ctx, manual), -EBUSY);

	/* To a HWPT of another IOAS: the first IOAS is left without a domain. */
	ioas2 = ioas_alloc(f->ctx);
	assert_int_equal(hwpt_alloc(f->ctx, m.idev, ioas2, 0, &manual2), 0);
	pt = manual2;
	assert_int_equal(mock_domain_replace(f->ctx, m.stdev, &pt), 0);
	assert_int_equal(destroy(f->ctx, manual), -ENOENT);
	assert_one_range(f->ctx, f->ioas, 0, UINT64_MAX, 1);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 0), 0);
	assert_int_equal(destroy(f->ctx, f->ioas), 0);
	assert_int_equal(destroy(f->ctx, ioas2), -EBUSY);
}

/*
 * The RID rules of attach, which no selftest op reaches (a mock device is
 * attached as it is made): called in the core as a driver would.
 */
static long core_attach(struct uiommufd_ctx *ctx, uint32_t dev_id, uint32_t *pt_id)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)ctx;
	struct iommufd_device *idev;
	long rc;

	pthread_mutex_lock(&ictx->lock);
	idev = iommufd_get_device(ictx, dev_id);
	assert_false(IS_ERR(idev));
	rc = iommufd_device_attach(idev, IOMMU_NO_PASID, pt_id);
	iommufd_put_object(ictx, &idev->obj);
	pthread_mutex_unlock(&ictx->lock);
	return rc;
}

static void test_attach_attached_rid(void **state)
{
	struct fixture *f = *state;
	struct mock_ids m = {};
	uint32_t manual = 0, pt, ioas2, next;

	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(hwpt_alloc(f->ctx, m.idev, f->ioas, 0, &manual), 0);
	ioas2 = ioas_alloc(f->ctx);
	next = ioas_alloc(f->ctx);
	assert_int_equal(destroy(f->ctx, next), 0);

	/* Attached already: EBUSY to the same HWPT, EINVAL to another. */
	pt = m.hwpt;
	assert_int_equal(core_attach(f->ctx, m.idev, &pt), -EBUSY);
	pt = manual;
	assert_int_equal(core_attach(f->ctx, m.idev, &pt), -EINVAL);
	/* Through the IOAS the search meets its own HWPT first: EBUSY. */
	pt = f->ioas;
	assert_int_equal(core_attach(f->ctx, m.idev, &pt), -EBUSY);
	assert_int_equal(pt, f->ioas);
	/* An IOAS with no automatic HWPT: a new one is made, refused and undone. */
	pt = ioas2;
	assert_int_equal(core_attach(f->ctx, m.idev, &pt), -EINVAL);
	assert_int_equal(pt, ioas2);
	assert_one_range(f->ctx, ioas2, 0, UINT64_MAX, 1);
	assert_int_equal(ioas_alloc(f->ctx), next);
	assert_int_equal(destroy(f->ctx, next), 0);
	assert_int_equal(destroy(f->ctx, ioas2), 0);

	/* Nothing took a reference: everything goes in order. */
	assert_int_equal(destroy(f->ctx, manual), 0);
	assert_int_equal(destroy(f->ctx, m.stdev), 0);
	assert_int_equal(destroy(f->ctx, m.hwpt), -ENOENT);
}

static long pasid_attach(struct uiommufd_ctx *ctx, uint32_t stdev, uint32_t pasid, uint32_t pt)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_PASID_ATTACH, .id = stdev,
		.pasid_attach = { .pasid = pasid, .pt_id = pt },
	};

	return ictl(ctx, IOMMU_TEST_CMD, &cmd);
}

static void test_replace_within_ioas(void **state)
{
	struct fixture *f = *state;
	struct mock_ids m = {}, keep = {};
	uint32_t pasid_hwpt = 0, pt, next;

	assert_int_equal(mock_domain_flags(f->ctx, f->ioas, MOCK_FLAGS_DEVICE_PASID, &m), 0);
	assert_int_equal(mock_domain(f->ctx, f->ioas, &keep), 0);
	assert_int_equal(keep.hwpt, m.hwpt);
	next = ioas_alloc(f->ctx);
	assert_int_equal(destroy(f->ctx, next), 0);

	/* Onto its own IOAS: the automatic HWPT it is on suits, nothing new. */
	pt = f->ioas;
	assert_int_equal(mock_domain_replace(f->ctx, m.stdev, &pt), 0);
	assert_int_equal(pt, m.hwpt);
	assert_int_equal(ioas_alloc(f->ctx), next);
	assert_int_equal(destroy(f->ctx, next), 0);

	/*
	 * With a PASID in use the RID needs an ALLOC_PASID HWPT: every
	 * automatic one refuses (EINVAL, try the next), so does the new one
	 * made for it, and the RID stays where it was.
	 */
	assert_int_equal(hwpt_alloc(f->ctx, m.idev, f->ioas, IOMMU_HWPT_ALLOC_PASID, &pasid_hwpt),
			 0);
	next = ioas_alloc(f->ctx);
	assert_int_equal(destroy(f->ctx, next), 0);
	pt = pasid_hwpt;
	assert_int_equal(mock_domain_replace(f->ctx, m.stdev, &pt), 0);
	assert_int_equal(pasid_attach(f->ctx, m.stdev, 1, pasid_hwpt), 0);
	pt = f->ioas;
	assert_int_equal(mock_domain_replace(f->ctx, m.stdev, &pt), -EINVAL);
	assert_int_equal(ioas_alloc(f->ctx), next);
	assert_int_equal(destroy(f->ctx, next), 0);
	/* Still on the PASID HWPT: it cannot go, the automatic one keeps its device. */
	assert_int_equal(destroy(f->ctx, pasid_hwpt), -EBUSY);
	assert_int_equal(destroy(f->ctx, keep.stdev), 0);
	assert_int_equal(destroy(f->ctx, m.hwpt), -ENOENT);
}

static long hw_info(struct uiommufd_ctx *ctx, struct iommu_hw_info *cmd)
{
	return ictl(ctx, IOMMU_GET_HW_INFO, cmd);
}

static void test_get_hw_info(void **state)
{
	struct fixture *f = *state;
	struct mock_ids m = {}, nd = {}, pasid = {};
	struct iommu_test_hw_info data[2];
	struct iommu_hw_info cmd;
	uint8_t *raw = (uint8_t *)data;
	size_t i;

	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(mock_domain_flags(f->ctx, f->ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, &nd), 0);
	assert_int_equal(mock_domain_flags(f->ctx, f->ioas, MOCK_FLAGS_DEVICE_PASID, &pasid), 0);

	/* A bigger buffer than the driver's data: the rest is zeroed. */
	memset(data, 0xff, sizeof(data));
	cmd = (struct iommu_hw_info){
		.size = sizeof(cmd), .dev_id = m.idev, .data_len = sizeof(data),
		.data_uptr = (uintptr_t)data,
	};
	assert_int_equal(hw_info(f->ctx, &cmd), 0);
	assert_int_equal(cmd.out_data_type, IOMMU_HW_INFO_TYPE_SELFTEST);
	assert_int_equal(cmd.data_len, sizeof(struct iommu_test_hw_info));
	assert_int_equal(data[0].flags, 0);
	assert_int_equal(data[0].test_reg, IOMMU_HW_INFO_SELFTEST_REGVAL);
	for (i = sizeof(data[0]); i != sizeof(data); i++)
		assert_int_equal(raw[i], 0);
	assert_int_equal(cmd.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING,
			 IOMMU_HW_CAP_DIRTY_TRACKING);
	assert_int_equal(cmd.out_max_pasid_log2, 0);

	/* No buffer: only the length is reported. */
	cmd = (struct iommu_hw_info){ .size = sizeof(cmd), .dev_id = m.idev };
	assert_int_equal(hw_info(f->ctx, &cmd), 0);
	assert_int_equal(cmd.data_len, 8);
	assert_int_equal(cmd.out_data_type, IOMMU_HW_INFO_TYPE_SELFTEST);

	/* A smaller buffer gets what fits and nothing past it. */
	memset(data, 0xff, sizeof(data));
	cmd = (struct iommu_hw_info){
		.size = sizeof(cmd), .dev_id = m.idev, .data_len = 4,
		.data_uptr = (uintptr_t)data,
	};
	assert_int_equal(hw_info(f->ctx, &cmd), 0);
	assert_int_equal(cmd.data_len, 8);
	assert_int_equal(data[0].flags, 0);
	assert_int_equal(data[0].test_reg, 0xffffffffu);

	/* Device flags show in the capabilities and the PASID width. */
	cmd = (struct iommu_hw_info){ .size = sizeof(cmd), .dev_id = nd.idev };
	assert_int_equal(hw_info(f->ctx, &cmd), 0);
	assert_int_equal(cmd.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING, 0);
	assert_int_equal(cmd.out_max_pasid_log2, 0);
	cmd = (struct iommu_hw_info){ .size = sizeof(cmd), .dev_id = pasid.idev };
	assert_int_equal(hw_info(f->ctx, &cmd), 0);
	assert_int_equal(cmd.out_max_pasid_log2, MOCK_PASID_WIDTH);
	assert_int_equal(cmd.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING,
			 IOMMU_HW_CAP_DIRTY_TRACKING);

	/* Asking for a type: the driver's own or DEFAULT, nothing else. */
	cmd = (struct iommu_hw_info){
		.size = sizeof(cmd), .flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE, .dev_id = m.idev,
		.in_data_type = IOMMU_HW_INFO_TYPE_SELFTEST,
	};
	assert_int_equal(hw_info(f->ctx, &cmd), 0);
	assert_int_equal(cmd.out_data_type, IOMMU_HW_INFO_TYPE_SELFTEST);
	/* data_len is an output too: 8 now, with no buffer to put it in. */
	assert_int_equal(cmd.data_len, 8);
	assert_int_equal(hw_info(f->ctx, &cmd), -EFAULT);
	cmd.data_len = 0;
	cmd.in_data_type = IOMMU_HW_INFO_TYPE_DEFAULT;
	assert_int_equal(hw_info(f->ctx, &cmd), 0);
	assert_int_equal(cmd.out_data_type, IOMMU_HW_INFO_TYPE_SELFTEST);
	cmd.data_len = 0;
	cmd.in_data_type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
	assert_int_equal(hw_info(f->ctx, &cmd), -EOPNOTSUPP);
	cmd.in_data_type = IOMMU_HW_INFO_TYPE_ARM_SMMUV3;
	assert_int_equal(hw_info(f->ctx, &cmd), -EOPNOTSUPP);
	/* Without the flag the field is ignored. */
	cmd.flags = 0;
	cmd.in_data_type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
	assert_int_equal(hw_info(f->ctx, &cmd), 0);
	assert_int_equal(cmd.out_data_type, IOMMU_HW_INFO_TYPE_SELFTEST);

	/* Bad input. */
	cmd = (struct iommu_hw_info){ .size = sizeof(cmd), .flags = 1u << 1, .dev_id = m.idev };
	assert_int_equal(hw_info(f->ctx, &cmd), -EOPNOTSUPP);
	cmd = (struct iommu_hw_info){ .size = sizeof(cmd), .dev_id = m.idev };
	cmd.__reserved[1] = 1;
	assert_int_equal(hw_info(f->ctx, &cmd), -EOPNOTSUPP);
	cmd = (struct iommu_hw_info){ .size = sizeof(cmd), .dev_id = f->ioas };
	assert_int_equal(hw_info(f->ctx, &cmd), -ENOENT);
	cmd.dev_id = m.hwpt;
	assert_int_equal(hw_info(f->ctx, &cmd), -ENOENT);
	cmd.dev_id = m.stdev;
	assert_int_equal(hw_info(f->ctx, &cmd), -ENOENT);
	cmd = (struct iommu_hw_info){
		.size = sizeof(cmd), .dev_id = m.idev, .data_len = 8, .data_uptr = 8,
	};
	assert_int_equal(hw_info(f->ctx, &cmd), -EFAULT);
}

static void test_attach_fills_domain(void **state)
{
	struct fixture *f = *state;
	struct mock_ids a = {}, b = {};
	uint64_t iova = IOVA_A, iova2 = 0;
	uint32_t manual = 0;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW_FIXED), 0);
	/* No domain: nothing is pinned yet. */
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 0), 0);

	assert_int_equal(mock_domain(f->ctx, f->ioas, &a), 0);
	assert_int_equal(check_map(f->ctx, a.hwpt, IOVA_A, NPAGES * PSZ, f->buf), 0);
	assert_int_equal(check_map(f->ctx, a.hwpt, IOVA_A + PSZ, PSZ, f->buf + PSZ), 0);
	/* A wrong expectation is reported as such. */
	assert_int_equal(check_map(f->ctx, a.hwpt, IOVA_A, PSZ, f->buf + PSZ), -EINVAL);
	assert_int_equal(check_map(f->ctx, a.hwpt, IOVA_A + 1, PSZ, f->buf), -EINVAL);
	/* Only mock HWPTs can be checked. */
	assert_int_equal(check_map(f->ctx, f->ioas, IOVA_A, PSZ, f->buf), -ENOENT);
	/* One pin per page, however many domains use it. */
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 1), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 2), -EIO);
	assert_int_equal(check_refs(f->ctx, f->buf + 1, PSZ, 1), -EINVAL);

	assert_int_equal(mock_domain(f->ctx, f->ioas, &b), 0);
	assert_int_equal(hwpt_alloc(f->ctx, a.idev, f->ioas, 0, &manual), 0);
	assert_int_equal(check_map(f->ctx, manual, IOVA_A, NPAGES * PSZ, f->buf), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 1), 0);

	/* A map made while domains exist goes into all of them at once. */
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 2 * PSZ, &iova2, RW), 0);
	assert_true(iova2 >= MOCK_APERTURE_START && iova2 + 2 * PSZ - 1 <= MOCK_APERTURE_LAST);
	assert_int_equal(check_map(f->ctx, a.hwpt, iova2, 2 * PSZ, f->buf), 0);
	assert_int_equal(check_map(f->ctx, manual, iova2, 2 * PSZ, f->buf), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova2, 2 * PSZ, NULL), 0);

	/* The pins go with the last domain. */
	assert_int_equal(destroy(f->ctx, a.stdev), 0);
	assert_int_equal(destroy(f->ctx, b.stdev), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 1), 0);
	assert_int_equal(destroy(f->ctx, manual), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 0), 0);
	assert_one_range(f->ctx, f->ioas, 0, UINT64_MAX, 1);
}

static void test_refs_follow_stdev(void **state)
{
	struct fixture *f = *state;
	struct mock_ids m = {};
	uint64_t iova = 0;

	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 1), 0);
	assert_int_equal(destroy(f->ctx, m.stdev), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 0), 0);
	/* Attaching again pins again; unmapping releases. */
	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 1), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova, NPAGES * PSZ, NULL), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 0), 0);
}

static void test_attach_efault_leaves_ioas(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = IOVA_A, iova2 = IOVA_A + 64 * PSZ;
	struct mock_ids m = {};
	void *gone = map_pages(4);

	/* Another area that would be pinned before the bad one. */
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, gone, 4 * PSZ, &iova2, RW_FIXED), 0);
	munmap(gone, 4 * PSZ);

	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), -EFAULT);
	assert_one_range(f->ctx, f->ioas, 0, UINT64_MAX, 1);
	assert_only_object(f->ctx, f->ioas);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 0), 0);

	/* Without the bad area, the attach works. */
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova2, 4 * PSZ, NULL), 0);
	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(check_map(f->ctx, m.hwpt, IOVA_A, NPAGES * PSZ, f->buf), 0);
}

static void test_attach_area_outside_aperture(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = PSZ;
	struct mock_ids m = {};

	/* The aperture cannot be reserved over an existing area. */
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), -EADDRINUSE);
	assert_one_range(f->ctx, f->ioas, 0, UINT64_MAX, 1);
	assert_only_object(f->ctx, f->ioas);
	assert_int_equal(check_refs(f->ctx, f->buf, PSZ, 0), 0);
}

static void test_device_dma(void **state)
{
	struct fixture *f = *state;
	struct uiommufd_ctx *ctx = f->ctx;
	uint64_t iova = IOVA_A, ro_iova = IOVA_A + 2 * NPAGES * PSZ;
	uint8_t *ro = map_pages(2), *out = malloc(4 * PSZ), *in = malloc(4 * PSZ);
	struct mock_ids m = {};
	size_t i;

	assert_non_null(out);
	assert_non_null(in);
	assert_int_equal(mock_domain(ctx, f->ioas, &m), 0);
	assert_int_equal(ioas_map(ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(ioas_map(ctx, f->ioas, ro, 2 * PSZ, &ro_iova, IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_FIXED_IOVA), 0);

	/* Reads see what the program wrote, across pages and at odd offsets. */
	for (i = 0; i != NPAGES * PSZ; i++)
		f->buf[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(uiommufd_device_dma(ctx, m.idev, IOVA_A + 100, out, 3 * PSZ, 0), 0);
	assert_memory_equal(out, f->buf + 100, 3 * PSZ);
	assert_int_equal(uiommufd_device_dma(ctx, m.idev, IOVA_A + NPAGES * PSZ - 1, out, 1, 0),
			 0);
	assert_int_equal(out[0], f->buf[NPAGES * PSZ - 1]);

	/* Writes land in the program's memory; reading them back agrees. */
	for (i = 0; i != 4 * PSZ; i++)
		in[i] = (uint8_t)(255 - i % 251);
	assert_int_equal(uiommufd_device_dma(ctx, m.idev, IOVA_A + 2 * PSZ - 5, in, 4 * PSZ,
					     UIOMMUFD_DMA_WRITE), 0);
	assert_memory_equal(f->buf + 2 * PSZ - 5, in, 4 * PSZ);
	memset(out, 0, 4 * PSZ);
	assert_int_equal(uiommufd_device_dma(ctx, m.idev, IOVA_A + 2 * PSZ - 5, out, 4 * PSZ, 0),
			 0);
	assert_memory_equal(out, in, 4 * PSZ);

	/* Read-only mapping: reads work, writes fault with EPERM. */
	assert_int_equal(uiommufd_device_dma(ctx, m.idev, ro_iova, out, 2 * PSZ, 0), 0);
	assert_memory_equal(out, ro, 2 * PSZ);
	assert_int_equal(uiommufd_device_dma(ctx, m.idev, ro_iova + 8, in, 16,
					     UIOMMUFD_DMA_WRITE), -EPERM);
	assert_int_equal(ro[8], 0x5a);

	/* Unmapped IOVA, and a range that runs off the end of an area. */
	assert_int_equal(uiommufd_device_dma(ctx, m.idev, IOVA_A + NPAGES * PSZ, out, 1, 0),
			 -EFAULT);
	assert_int_equal(uiommufd_device_dma(ctx, m.idev, IOVA_A + NPAGES * PSZ - 8, out, 16,
					     0), -EFAULT);
	assert_int_equal(uiommufd_device_dma(ctx, m.idev, 0, out, 1, UIOMMUFD_DMA_WRITE),
			 -EFAULT);

	/* Not a device, or a bad flag. */
	assert_int_equal(uiommufd_device_dma(ctx, 9999, IOVA_A, out, 1, 0), -ENOENT);
	assert_int_equal(uiommufd_device_dma(ctx, f->ioas, IOVA_A, out, 1, 0), -ENOENT);
	assert_int_equal(uiommufd_device_dma(ctx, m.stdev, IOVA_A, out, 1, 0), -ENOENT);
	assert_int_equal(uiommufd_device_dma(ctx, m.hwpt, IOVA_A, out, 1, 0), -ENOENT);
	assert_int_equal(uiommufd_device_dma(ctx, m.idev, IOVA_A, out, 1, 1u << 4), -EINVAL);

	/* After IOAS_UNMAP the device faults there. */
	assert_int_equal(ioas_unmap(ctx, f->ioas, IOVA_A, NPAGES * PSZ, NULL), 0);
	assert_int_equal(uiommufd_device_dma(ctx, m.idev, IOVA_A, out, 1, 0), -EFAULT);
	/* And a device that is gone is not found. */
	assert_int_equal(destroy(ctx, m.stdev), 0);
	assert_int_equal(uiommufd_device_dma(ctx, m.idev, ro_iova, out, 1, 0), -ENOENT);

	munmap(ro, 2 * PSZ);
	free(in);
	free(out);
}

/*
 * A DMA right after its device moves to another domain goes through the
 * new one, and DMAs of two devices in turn each go through their own:
 * what a thread remembers of the last DMA is never taken for another
 * device's or an older domain's.
 */
static void test_device_dma_follows_replace(void **state)
{
	struct fixture *f = *state;
	uint32_t ioas2 = ioas_alloc(f->ctx), pt;
	uint8_t *other = map_pages(1), got[64];
	uint64_t iova = IOVA_A;
	struct mock_ids m = {}, m2 = {}, m3 = {};
	int round;

	memset(f->buf, 0x11, PSZ);
	memset(other, 0x22, PSZ);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(ioas_map(f->ctx, ioas2, other, PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(mock_domain(f->ctx, ioas2, &m2), 0);
	for (round = 0; round != 2; round++) {
		assert_int_equal(uiommufd_device_dma(f->ctx, m.idev, IOVA_A + 8, got, 64, 0), 0);
		assert_int_equal(got[0], 0x11);
		assert_int_equal(uiommufd_device_dma(f->ctx, m2.idev, IOVA_A + 8, got, 64, 0), 0);
		assert_int_equal(got[0], 0x22);
	}
	/*
	 * The first device onto the second's HWPT, which is filled already,
	 * while a third device keeps the first HWPT: the replace only
	 * attaches, nothing is mapped or freed.  Then back.
	 */
	assert_int_equal(mock_domain(f->ctx, f->ioas, &m3), 0);
	assert_int_equal(m3.hwpt, m.hwpt);
	assert_int_equal(uiommufd_device_dma(f->ctx, m.idev, IOVA_A, got, 64, 0), 0);
	pt = m2.hwpt;
	assert_int_equal(mock_domain_replace(f->ctx, m.stdev, &pt), 0);
	assert_int_equal(uiommufd_device_dma(f->ctx, m.idev, IOVA_A, got, 64, 0), 0);
	assert_int_equal(got[63], 0x22);
	memset(got, 0x33, sizeof(got));
	assert_int_equal(uiommufd_device_dma(f->ctx, m.idev, IOVA_A, got, 64, UIOMMUFD_DMA_WRITE),
			 0);
	assert_int_equal(other[0], 0x33);
	assert_int_equal(f->buf[0], 0x11);
	pt = m.hwpt;
	assert_int_equal(mock_domain_replace(f->ctx, m.stdev, &pt), 0);
	assert_int_equal(uiommufd_device_dma(f->ctx, m.idev, IOVA_A, got, 64, 0), 0);
	assert_int_equal(got[0], 0x11);
	assert_int_equal(destroy(f->ctx, m3.stdev), 0);
	/* Gone: not found, whatever was remembered of it. */
	assert_int_equal(destroy(f->ctx, m.stdev), 0);
	assert_int_equal(uiommufd_device_dma(f->ctx, m.idev, IOVA_A, got, 64, 0), -ENOENT);
	assert_int_equal(destroy(f->ctx, m2.stdev), 0);
	assert_int_equal(ioas_unmap(f->ctx, ioas2, IOVA_A, PSZ, NULL), 0);
	assert_int_equal(destroy(f->ctx, ioas2), 0);
	munmap(other, PSZ);
}

static void test_device_dma_survives_munmap(void **state)
{
	struct fixture *f = *state;
	uint8_t *mem = map_pages(2), out[16];
	uint64_t iova = IOVA_A;
	struct mock_ids m = {};

	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, mem, 2 * PSZ, &iova, RW_FIXED), 0);
	memset(mem + PSZ, 0xc3, PSZ);
	/* Twice, so this thread's IOTLB holds the pages' present address. */
	assert_int_equal(uiommufd_device_dma(f->ctx, m.idev, IOVA_A, out, sizeof(out), 0), 0);
	assert_int_equal(uiommufd_device_dma(f->ctx, m.idev, IOVA_A, out, sizeof(out), 0), 0);
	assert_int_equal(out[0], 0x5a);
	/* The program unmaps pinned memory, telling the host first (as the shim does). */
	uiommufd_host_inproc_unmap_notify(mem, 2 * PSZ);
	munmap(mem, 2 * PSZ);
	/* The device still reaches the pinned pages, as with the kernel. */
	assert_int_equal(uiommufd_device_dma(f->ctx, m.idev, IOVA_A + PSZ, out, sizeof(out), 0),
			 0);
	assert_int_equal(out[0], 0xc3);
	assert_int_equal(out[15], 0xc3);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, IOVA_A, 2 * PSZ, NULL), 0);
}

/* Device DMA from another thread while the program moves and unmaps the pages. */
struct dma_racer {
	struct uiommufd_ctx *ctx;
	uint32_t idev;
	size_t npages;
	atomic_bool stop;
	atomic_ulong reads, bad;
};

static void *dma_race_reader(void *arg)
{
	struct dma_racer *r = arg;
	uint8_t out[PSZ];
	size_t pg = 0;

	while (!atomic_load(&r->stop)) {
		pg = (pg + 7) % r->npages;
		if (uiommufd_device_dma(r->ctx, r->idev, IOVA_A + pg * PSZ, out, PSZ, 0) ||
		    out[0] != (uint8_t)pg || out[PSZ - 1] != (uint8_t)pg)
			r->bad++;
		r->reads++;
	}
	return NULL;
}

static void test_device_dma_races_page_moves(void **state)
{
	enum { NP = 32, MOVES = 1000 };
	struct fixture *f = *state;
	struct dma_racer r = { .ctx = f->ctx, .npages = NP };
	uint8_t *mem = map_pages(NP), *spot[2];
	uint64_t iova = IOVA_A;
	struct mock_ids m = {};
	bool moved_wrong = false;
	pthread_t t;
	size_t i;

	for (i = 0; i != NP; i++)
		memset(mem + i * PSZ, (int)i, PSZ);
	spot[0] = mem;
	spot[1] = map_pages(NP);	/* where the program moves it, turn about */
	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, mem, NP * PSZ, &iova, RW_FIXED), 0);
	r.idev = m.idev;
	assert_int_equal(pthread_create(&t, NULL, dma_race_reader, &r), 0);
	/*
	 * mremap() as the shim brackets it; the device keeps reading the same
	 * pages.  DONTUNMAP leaves the old range mapped, so no other mapping
	 * can land where the next move goes.  Failures stop the reader first.
	 */
	for (i = 0; i != MOVES && !moved_wrong; i++) {
		uint8_t *to = spot[(i + 1) % 2], *moved;

		uiommufd_host_inproc_move_begin();
		moved = mremap(mem, NP * PSZ, NP * PSZ,
			       MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to);
		if (moved == to)
			uiommufd_host_inproc_remap_notify(mem, NP * PSZ, moved);
		uiommufd_host_inproc_move_end();
		moved_wrong = moved != to;
		mem = to;
	}
	/* Then the program unmaps them: the pins keep them for the device. */
	uiommufd_host_inproc_unmap_notify(mem, NP * PSZ);
	munmap(mem, NP * PSZ);
	while (atomic_load(&r.reads) < 1000 && !moved_wrong)
		sched_yield();
	atomic_store(&r.stop, true);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_false(moved_wrong);
	assert_int_equal(atomic_load(&r.bad), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, IOVA_A, NP * PSZ, NULL), 0);
	munmap(mem == spot[0] ? spot[1] : spot[0], NP * PSZ);
}

/* The DMA engine's copy, on both sides of its string-move threshold. */
static void test_dma_memcpy_sizes_and_alignments(void **state)
{
	static const size_t lens[] = { 1, 63, 2047, 2048, 4096, 4096 + 7, 65536 + 65 };
	static const size_t skews[] = { 0, 1, 8, 64 };
	uint8_t *src = malloc(70000 + 128), *dst = malloc(70000 + 128 + 2);
	size_t i, j, k;

	(void)state;
	assert_non_null(src);
	assert_non_null(dst);
	for (k = 0; k != 70000 + 128; k++)
		src[k] = (uint8_t)(k * 13 + 1);
	for (i = 0; i != sizeof(lens) / sizeof(lens[0]); i++) {
		for (j = 0; j != sizeof(skews) / sizeof(skews[0]); j++) {
			memset(dst, 0xee, 70000 + 128 + 2);
			iommu_dma_memcpy(dst + 1 + skews[j], src + 64, lens[i]);
			assert_memory_equal(dst + 1 + skews[j], src + 64, lens[i]);
			/* Not a byte either side. */
			assert_int_equal(dst[skews[j]], 0xee);
			assert_int_equal(dst[1 + skews[j] + lens[i]], 0xee);
		}
	}
	free(src);
	free(dst);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_mock_domain_ids_and_ranges),
		T(test_second_device_shares_auto_hwpt),
		T(test_mock_domain_errors),
		T(test_destroy_busy),
		T(test_replace),
		T(test_attach_attached_rid),
		T(test_replace_within_ioas),
		T(test_get_hw_info),
		T(test_attach_fills_domain),
		T(test_refs_follow_stdev),
		T(test_attach_efault_leaves_ioas),
		T(test_attach_area_outside_aperture),
		T(test_device_dma),
		T(test_device_dma_follows_replace),
		T(test_device_dma_survives_munmap),
		T(test_device_dma_races_page_moves),
		cmocka_unit_test(test_dma_memcpy_sizes_and_alignments),
	};

	return cmocka_run_group_tests_name("device", tests, NULL, NULL);
}
