// SPDX-License-Identifier: MIT
/*
 * HWPTs (hw_pagetable.c) on the mock IOMMU: IOMMU_HWPT_ALLOC and its errnos
 * (paging, nested on a parent, failures that leave nothing behind),
 * IOMMU_HWPT_INVALIDATE on a nested HWPT, dirty tracking (SET_DIRTY_TRACKING, GET_DIRTY_BITMAP with
 * IOMMU_TEST_OP_DIRTY and with device DMA), and the HUGE_PAGES option once
 * a domain holds areas.
 */
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "helpers.h"
#include "host/inproc.h"

struct fixture {
	struct uiommufd_ctx *ctx;
	uint32_t ioas;
	struct mock_ids dev;	/* a mock device attached to the IOAS */
	uint8_t *buf;		/* NPAGES pages of its own mapping */
};

#define NPAGES 64
#define IOVA_A ((uint64_t)MOCK_APERTURE_START)

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fixture_open(&f->ctx, &f->ioas, &f->buf, NPAGES))
		return -1;
	assert_int_equal(mock_domain(f->ctx, f->ioas, &f->dev), 0);
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

static long hwpt_alloc_data(struct uiommufd_ctx *ctx, uint32_t dev_id, uint32_t pt_id,
			    uint32_t flags, uint32_t data_type, const void *data, uint32_t len,
			    uint32_t *out)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev_id, .pt_id = pt_id,
		.data_type = data_type, .data_len = len, .data_uptr = (uintptr_t)data,
	};
	long rc = ictl(ctx, IOMMU_HWPT_ALLOC, &cmd);

	if (!rc && out)
		*out = cmd.out_hwpt_id;
	return rc;
}

static long set_dirty(struct uiommufd_ctx *ctx, uint32_t hwpt, bool on)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .flags = on ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt,
	};

	return ictl(ctx, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

static long get_dirty(struct uiommufd_ctx *ctx, uint32_t hwpt, uint64_t iova, uint64_t len,
		      uint64_t page_size, void *bitmap, uint32_t flags)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .flags = flags, .iova = iova,
		.length = len, .page_size = page_size, .data = (uintptr_t)bitmap,
	};

	return ictl(ctx, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

/* IOMMU_TEST_OP_DIRTY: mark the granules whose bits are set; returns how many. */
static long mark_dirty(struct uiommufd_ctx *ctx, uint32_t hwpt, uint64_t iova, uint64_t len,
		       uint64_t page_size, const void *bitmap, uint64_t *nr)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DIRTY, .id = hwpt,
		.dirty = { .iova = iova, .length = len, .page_size = page_size,
			   .uptr = (uintptr_t)bitmap },
	};
	long rc = ictl(ctx, IOMMU_TEST_CMD, &cmd);

	if (!rc && nr)
		*nr = cmd.dirty.out_nr_dirty;
	return rc;
}

/* IOMMU_TEST_OP_MD_CHECK_IOTLB: IOTLB slot @slot of nested @hwpt holds @want. */
static long check_iotlb(struct uiommufd_ctx *ctx, uint32_t hwpt, uint32_t slot, uint32_t want)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_IOTLB, .id = hwpt,
		.check_iotlb = { .id = slot, .iotlb = want },
	};

	return ictl(ctx, IOMMU_TEST_CMD, &cmd);
}

/*
 * A page holding one command, made read-only so the write-back faults.
 * Without the shim nothing reports the mprotect(), so the test does.
 */
static void *readonly_copy(const void *cmd, size_t len)
{
	void *page = mmap(NULL, PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_ptr_not_equal(page, MAP_FAILED);
	memcpy(page, cmd, len);
	assert_int_equal(mprotect(page, PSZ, PROT_READ), 0);
	uiommufd_host_inproc_mm_changed();
	return page;
}

/* The next object allocated gets @want: nothing was left behind below it. */
static void assert_next_id(struct uiommufd_ctx *ctx, uint32_t want)
{
	uint32_t id = ioas_alloc(ctx);

	assert_int_equal(id, want);
	assert_int_equal(destroy(ctx, id), 0);
}

static void test_alloc_flags(void **state)
{
	struct fixture *f = *state;
	static const uint32_t ok_flags[] = {
		0, IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
	};
	uint32_t hwpt = 0, other;
	size_t i;

	for (i = 0; i != sizeof(ok_flags) / sizeof(ok_flags[0]); i++) {
		hwpt = 0;
		assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, ok_flags[i], &hwpt), 0);
		assert_int_not_equal(hwpt, 0);
		assert_int_not_equal(hwpt, f->dev.hwpt);
		/* A manual HWPT holds its IOAS and mirrors it (the aperture shows). */
		assert_int_equal(destroy(f->ctx, f->ioas), -EBUSY);
		/* It is the user's, unattached: destroy works. */
		assert_int_equal(destroy(f->ctx, hwpt), 0);
	}
	/* Automatic attach never picks a manual HWPT. */
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, 0, &hwpt), 0);
	assert_int_equal(destroy(f->ctx, f->dev.stdev), 0);
	assert_int_equal(mock_domain(f->ctx, f->ioas, &f->dev), 0);
	assert_int_not_equal(f->dev.hwpt, hwpt);
	/* ...but attaching to it by ID does. */
	assert_int_equal(mock_domain(f->ctx, hwpt, NULL), 0);
	assert_int_equal(destroy(f->ctx, hwpt), -EBUSY);

	/* A HWPT on an IOAS with no device attached narrows it alone. */
	other = ioas_alloc(f->ctx);
	assert_one_range(f->ctx, other, 0, UINT64_MAX, 1);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, other, 0, &hwpt), 0);
	assert_one_range(f->ctx, other, MOCK_APERTURE_START, MOCK_APERTURE_LAST, MOCK_PAGE_SIZE);
	assert_int_equal(destroy(f->ctx, hwpt), 0);
	assert_one_range(f->ctx, other, 0, UINT64_MAX, 1);
}

static void test_alloc_errors(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc cmd;
	struct mock_ids nd = {};
	uint8_t big[16] = {};
	uint32_t hwpt = 0;

	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, 1u << 10, &hwpt), -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas,
				    IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_NEST_PARENT,
				    &hwpt), -EOPNOTSUPP);
	/* A fault queue that does not exist. */
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, IOMMU_HWPT_FAULT_ID_VALID,
				    &hwpt), -ENOENT);

	/* A device whose IOMMU cannot track dirty IOPTEs. */
	assert_int_equal(mock_domain_flags(f->ctx, f->ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, &nd), 0);
	assert_int_equal(hwpt_alloc(f->ctx, nd.idev, f->ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				    &hwpt), -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc(f->ctx, nd.idev, f->ioas, 0, &hwpt), 0);
	/* Nor can it be attached to a HWPT that tracks. */
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				    &hwpt), 0);
	assert_int_equal(mock_domain_flags(f->ctx, hwpt, MOCK_FLAGS_DEVICE_NO_DIRTY, NULL),
			 -EINVAL);

	/* data_type and data_len must agree. */
	assert_int_equal(hwpt_alloc_data(f->ctx, f->dev.idev, f->ioas, 0, IOMMU_HWPT_DATA_NONE,
					 &data, sizeof(data), &hwpt), -EINVAL);
	assert_int_equal(hwpt_alloc_data(f->ctx, f->dev.idev, f->ioas, 0,
					 IOMMU_HWPT_DATA_SELFTEST, &data, 0, &hwpt), -EINVAL);

	/* dev_id must be a device; pt_id an IOAS (or a parent HWPT). */
	assert_int_equal(hwpt_alloc(f->ctx, f->ioas, f->ioas, 0, &hwpt), -ENOENT);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.stdev, f->ioas, 0, &hwpt), -ENOENT);
	assert_int_equal(hwpt_alloc(f->ctx, 9999, f->ioas, 0, &hwpt), -ENOENT);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->dev.idev, 0, &hwpt), -EINVAL);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->dev.stdev, 0, &hwpt), -EINVAL);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, 9999, 0, &hwpt), -EINVAL);

	/* Reserved fields. */
	cmd = (struct iommu_hwpt_alloc){
		.size = sizeof(cmd), .dev_id = f->dev.idev, .pt_id = f->ioas, .__reserved = 1,
	};
	assert_int_equal(ictl(f->ctx, IOMMU_HWPT_ALLOC, &cmd), -EOPNOTSUPP);

	/* Driver data: the mock's own type, checked as an extensible struct. */
	data.pagetable_type = 7;
	assert_int_equal(hwpt_alloc_data(f->ctx, f->dev.idev, f->ioas, 0,
					 IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &hwpt),
			 -EOPNOTSUPP);
	data.pagetable_type = MOCK_IOMMUPT_DEFAULT;
	assert_int_equal(hwpt_alloc_data(f->ctx, f->dev.idev, f->ioas, 0,
					 IOMMU_HWPT_DATA_SELFTEST, &data, 2, &hwpt), -EINVAL);
	/* Driver data may not be longer than the driver's struct, even zeroed. */
	memset(big, 0, sizeof(big));
	memcpy(big, &data, sizeof(data));
	assert_int_equal(hwpt_alloc_data(f->ctx, f->dev.idev, f->ioas, 0,
					 IOMMU_HWPT_DATA_SELFTEST, big, sizeof(big), &hwpt), -EINVAL);
	assert_int_equal(hwpt_alloc_data(f->ctx, f->dev.idev, f->ioas, 0,
					 IOMMU_HWPT_DATA_SELFTEST, (void *)8, sizeof(data), &hwpt),
			 -EFAULT);
	assert_int_equal(hwpt_alloc_data(f->ctx, f->dev.idev, f->ioas, 0, IOMMU_HWPT_DATA_VTD_S1,
					 &data, sizeof(data), &hwpt), -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc_data(f->ctx, f->dev.idev, f->ioas, 0,
					 IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &hwpt), 0);
	assert_int_equal(destroy(f->ctx, hwpt), 0);
	/* Only the iotlb field is required. */
	assert_int_equal(hwpt_alloc_data(f->ctx, f->dev.idev, f->ioas, 0,
					 IOMMU_HWPT_DATA_SELFTEST, &data, 4, &hwpt), 0);
	assert_int_equal(destroy(f->ctx, hwpt), 0);
}

static void test_alloc_failures_leave_nothing(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_alloc cmd;
	uint32_t other, hwpt = 0, free_id;
	uint64_t iova = PSZ;
	void *ro;

	other = ioas_alloc(f->ctx);
	free_id = ioas_alloc(f->ctx);
	assert_int_equal(destroy(f->ctx, free_id), 0);

	/* The fault queue is looked up after the domain exists: all of it goes. */
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, other, IOMMU_HWPT_FAULT_ID_VALID, &hwpt),
			 -ENOENT);
	assert_next_id(f->ctx, free_id);
	assert_one_range(f->ctx, other, 0, UINT64_MAX, 1);
	assert_int_equal(destroy(f->ctx, other), 0);

	/* Mirroring fails on an area outside the aperture: the IOAS is as before. */
	other = ioas_alloc(f->ctx);
	assert_int_equal(ioas_map(f->ctx, other, f->buf, PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, other, 0, &hwpt), -EADDRINUSE);
	assert_one_range(f->ctx, other, 0, UINT64_MAX, 1);
	assert_int_equal(check_refs(f->ctx, f->buf, PSZ, 0), 0);
	assert_int_equal(ioas_unmap(f->ctx, other, iova, PSZ, NULL), 0);

	/* A reply that cannot be written back: EFAULT, and no HWPT holds the IOAS. */
	cmd = (struct iommu_hwpt_alloc){
		.size = sizeof(cmd), .dev_id = f->dev.idev, .pt_id = other,
	};
	ro = readonly_copy(&cmd, sizeof(cmd));
	assert_int_equal(ictl(f->ctx, IOMMU_HWPT_ALLOC, ro), -EFAULT);
	munmap(ro, PSZ);
	assert_one_range(f->ctx, other, 0, UINT64_MAX, 1);
	assert_int_equal(destroy(f->ctx, other), 0);
}

static void test_nested_on_parent(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	uint32_t parent = 0, plain = 0, nested = 0, hwpt = 0;

	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
				    &parent), 0);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, 0, &plain), 0);

	/* No driver data, or a flag a nested HWPT cannot have: EOPNOTSUPP. */
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, parent, 0, &hwpt), -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->dev.idev, parent,
					   IOMMU_HWPT_ALLOC_NEST_PARENT, 0, &hwpt), -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->dev.idev, parent,
					   IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 0, &hwpt),
			 -EOPNOTSUPP);
	/* The parent must be a manual NEST_PARENT HWPT. */
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->dev.idev, plain, 0, 0, &hwpt), -EINVAL);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->dev.idev, f->dev.hwpt, 0, 0, &hwpt),
			 -EINVAL);
	/* The driver's own checks of its data come back as they are. */
	assert_int_equal(hwpt_alloc_data(f->ctx, f->dev.idev, parent, 0,
					 IOMMU_HWPT_DATA_SELFTEST, (void *)8, sizeof(data), &hwpt),
			 -EFAULT);
	assert_int_equal(hwpt_alloc_data(f->ctx, f->dev.idev, parent, 0,
					 IOMMU_HWPT_DATA_SELFTEST, &data, 2, &hwpt), -EINVAL);
	/* None of that left a reference on the parent. */
	assert_int_equal(destroy(f->ctx, plain), 0);

	assert_int_equal(hwpt_alloc_nested(f->ctx, f->dev.idev, parent, 0, 0, &nested), 0);
	assert_int_not_equal(nested, parent);
	assert_int_equal(check_iotlb(f->ctx, nested, 0, IOMMU_TEST_IOTLB_DEFAULT), 0);
	/* Not a paging HWPT: no dirty tracking, no bitmap, no nesting on it. */
	assert_int_equal(set_dirty(f->ctx, nested, true), -ENOENT);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->dev.idev, nested, 0, 0, &hwpt), -EINVAL);
	/* It holds its parent; a device can go onto it and off again. */
	assert_int_equal(destroy(f->ctx, parent), -EBUSY);
	assert_int_equal(mock_domain(f->ctx, nested, NULL), 0);
	assert_int_equal(destroy(f->ctx, nested), -EBUSY);
}

static void test_invalidate_nested(void **state)
{
	struct fixture *f = *state;
	const uint32_t T = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
	const uint32_t L = sizeof(struct iommu_hwpt_invalidate_selftest);
	struct iommu_hwpt_invalidate_selftest reqs[3] = {
		{ .iotlb_id = 1 }, { .iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1 },
		{ .iotlb_id = 2 },
	};
	struct iommu_hwpt_invalidate cmd;
	uint32_t parent = 0, nested = 0, n, slot;
	void *ro;

	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
				    &parent), 0);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->dev.idev, parent, 0, 0, &nested), 0);

	/* Checks before the driver: entry_num comes back 0. */
	n = 3;
	assert_int_equal(invalidate(f->ctx, nested, T, NULL, L, &n), -EINVAL);
	assert_int_equal(n, 0);
	n = 3;
	assert_int_equal(invalidate(f->ctx, nested, T, reqs, 0, &n), -EINVAL);
	assert_int_equal(n, 0);
	n = 3;
	assert_int_equal(invalidate(f->ctx, 9999, T, reqs, L, &n), -ENOENT);
	assert_int_equal(n, 0);
	/* Only user-managed caches: not a paging HWPT, not an IOAS. */
	n = 1;
	assert_int_equal(invalidate(f->ctx, parent, T, reqs, L, &n), -EINVAL);
	assert_int_equal(n, 0);
	n = 1;
	assert_int_equal(invalidate(f->ctx, f->ioas, T, reqs, L, &n), -EINVAL);
	assert_int_equal(n, 0);
	cmd = (struct iommu_hwpt_invalidate){
		.size = sizeof(cmd), .hwpt_id = nested, .data_type = T,
		.data_uptr = (uintptr_t)reqs, .entry_len = L, .entry_num = 1, .__reserved = 1,
	};
	assert_int_equal(ictl(f->ctx, IOMMU_HWPT_INVALIDATE, &cmd), -EOPNOTSUPP);
	assert_int_equal(cmd.entry_num, 0);

	/* No entries checks only the type. */
	n = 0;
	assert_int_equal(invalidate(f->ctx, nested, T, NULL, 0, &n), 0);
	assert_int_equal(invalidate(f->ctx, nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
				    NULL, 0, &n), -EINVAL);
	assert_int_equal(n, 0);
	for (slot = 0; slot != MOCK_NESTED_DOMAIN_IOTLB_NUM; slot++)
		assert_int_equal(check_iotlb(f->ctx, nested, slot, IOMMU_TEST_IOTLB_DEFAULT), 0);

	/* The driver stops at the bad second entry and says it did one. */
	n = 3;
	assert_int_equal(invalidate(f->ctx, nested, T, reqs, L, &n), -EINVAL);
	assert_int_equal(n, 1);
	assert_int_equal(check_iotlb(f->ctx, nested, 1, 0), 0);
	assert_int_equal(check_iotlb(f->ctx, nested, 2, IOMMU_TEST_IOTLB_DEFAULT), 0);
	/* An unknown flag in an entry: EOPNOTSUPP, with the count so far. */
	reqs[1] = (struct iommu_hwpt_invalidate_selftest){ .flags = 1u << 5 };
	n = 3;
	assert_int_equal(invalidate(f->ctx, nested, T, reqs, L, &n), -EOPNOTSUPP);
	assert_int_equal(n, 1);
	/* All of them. */
	reqs[1] = (struct iommu_hwpt_invalidate_selftest){ .iotlb_id = 3 };
	n = 3;
	assert_int_equal(invalidate(f->ctx, nested, T, reqs, L, &n), 0);
	assert_int_equal(n, 3);
	for (slot = 1; slot != MOCK_NESTED_DOMAIN_IOTLB_NUM; slot++)
		assert_int_equal(check_iotlb(f->ctx, nested, slot, 0), 0);
	assert_int_equal(check_iotlb(f->ctx, nested, 0, IOMMU_TEST_IOTLB_DEFAULT), 0);

	/* The count cannot be written back: EFAULT, though the driver did its work. */
	reqs[0] = (struct iommu_hwpt_invalidate_selftest){ .flags = IOMMU_TEST_INVALIDATE_FLAG_ALL };
	cmd = (struct iommu_hwpt_invalidate){
		.size = sizeof(cmd), .hwpt_id = nested, .data_type = T,
		.data_uptr = (uintptr_t)reqs, .entry_len = L, .entry_num = 1,
	};
	ro = readonly_copy(&cmd, sizeof(cmd));
	assert_int_equal(ictl(f->ctx, IOMMU_HWPT_INVALIDATE, ro), -EFAULT);
	munmap(ro, PSZ);
	assert_int_equal(check_iotlb(f->ctx, nested, 0, 0), 0);
}

static void test_alloc_pagetable_types(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	uint64_t iova = IOVA_A;
	uint32_t huge = 0, amd = 0;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW_FIXED), 0);
	data.pagetable_type = MOCK_IOMMUPT_HUGE;
	assert_int_equal(hwpt_alloc_data(f->ctx, f->dev.idev, f->ioas, 0,
					 IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &huge), 0);
	data.pagetable_type = MOCK_IOMMUPT_AMDV1;
	assert_int_equal(hwpt_alloc_data(f->ctx, f->dev.idev, f->ioas, 0,
					 IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &amd), 0);
	/* Every format mirrors the IOAS. */
	assert_int_equal(check_map(f->ctx, huge, IOVA_A, NPAGES * PSZ, f->buf), 0);
	assert_int_equal(check_map(f->ctx, amd, IOVA_A, NPAGES * PSZ, f->buf), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 1), 0);
	/* A device can be moved onto them. */
	assert_int_equal(mock_domain(f->ctx, amd, NULL), 0);
	assert_int_equal(destroy(f->ctx, huge), 0);
	assert_int_equal(destroy(f->ctx, amd), -EBUSY);
}

static void test_set_dirty_tracking_errors(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_set_dirty_tracking cmd = { .size = sizeof(cmd) };
	uint64_t bitmap[1] = {}, iova = IOVA_A;
	uint32_t dirty = 0;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW_FIXED), 0);
	/* The automatic HWPT was not made for tracking. */
	assert_int_equal(set_dirty(f->ctx, f->dev.hwpt, true), -EOPNOTSUPP);
	assert_int_equal(set_dirty(f->ctx, f->dev.hwpt, false), -EOPNOTSUPP);
	assert_int_equal(get_dirty(f->ctx, f->dev.hwpt, IOVA_A, NPAGES * PSZ, PSZ, bitmap, 0),
			 -EOPNOTSUPP);
	/* As the kernel's: the range is checked before the domain's ability. */
	assert_int_equal(get_dirty(f->ctx, f->dev.hwpt, IOVA_A, NPAGES * PSZ, 0, bitmap, 0),
			 -EINVAL);
	assert_int_equal(set_dirty(f->ctx, f->ioas, true), -ENOENT);
	assert_int_equal(set_dirty(f->ctx, f->dev.idev, true), -ENOENT);

	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				    &dirty), 0);
	cmd.hwpt_id = dirty;
	cmd.flags = 1u << 3;
	assert_int_equal(ictl(f->ctx, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd), -EOPNOTSUPP);
	cmd.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	cmd.__reserved = 1;
	assert_int_equal(ictl(f->ctx, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd), -EOPNOTSUPP);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, bitmap, 1u << 4),
			 -EOPNOTSUPP);
	/* Marking needs tracking on. */
	bitmap[0] = 1;
	assert_int_equal(mark_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, bitmap, NULL),
			 -EINVAL);
	assert_int_equal(set_dirty(f->ctx, dirty, true), 0);
	assert_int_equal(set_dirty(f->ctx, dirty, true), 0);
	assert_int_equal(set_dirty(f->ctx, dirty, false), 0);
}

static bool test_bit(const uint64_t *map, unsigned int bit)
{
	return map[bit / 64] & (1ull << (bit % 64));
}

static void set_bit(uint64_t *map, unsigned int bit)
{
	map[bit / 64] |= 1ull << (bit % 64);
}

/* Exactly the bits in @want are set in the first @nbits of @map. */
static void assert_bits(const uint64_t *map, unsigned int nbits, const unsigned int *want,
			size_t nwant)
{
	unsigned int bit;
	size_t i;

	for (bit = 0; bit != nbits; bit++) {
		bool expect = false;

		for (i = 0; i != nwant; i++)
			expect |= want[i] == bit;
		if (test_bit(map, bit) != expect)
			fail_msg("bit %u is %d, expected %d", bit, test_bit(map, bit), expect);
	}
}

static void test_dirty_flow(void **state)
{
	struct fixture *f = *state;
	static const unsigned int marked[] = { 0, 3, 17, NPAGES - 1 };
	uint64_t mark[NPAGES / 64] = {}, out[NPAGES / 64] = {}, nr = 0, iova = IOVA_A;
	unsigned int pair[] = { 1, 8 };
	unsigned int kept[] = { 0, 3, 10, 17, NPAGES - 1 };
	uint32_t dirty = 0;
	size_t i;

	/* Every CPU page its own IOPTEs, so a dirty page is one bit. */
	assert_int_equal(ioas_set_huge_pages(f->ctx, f->ioas, 0), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				    &dirty), 0);
	assert_int_equal(set_dirty(f->ctx, dirty, true), 0);

	for (i = 0; i != sizeof(marked) / sizeof(marked[0]); i++)
		set_bit(mark, marked[i]);
	assert_int_equal(mark_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, mark, &nr), 0);
	assert_int_equal(nr, 4);

	/* NO_CLEAR reports and keeps. */
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out,
				   IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR), 0);
	assert_bits(out, NPAGES, marked, 4);
	memset(out, 0, sizeof(out));
	/* Bits the user had set stay set: the bitmap is only ORed into. */
	set_bit(out, 10);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out, 0), 0);
	assert_bits(out, NPAGES, kept, 5);
	/* That read cleared them. */
	memset(out, 0, sizeof(out));
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out, 0), 0);
	assert_bits(out, NPAGES, NULL, 0);

	/* Coarser reporting granule: one bit per two pages. */
	memset(mark, 0, sizeof(mark));
	set_bit(mark, 3);
	set_bit(mark, 16);
	assert_int_equal(mark_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, mark, &nr), 0);
	assert_int_equal(nr, 2);
	memset(out, 0, sizeof(out));
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, 2 * PSZ, out, 0), 0);
	assert_bits(out, NPAGES / 2, pair, 2);

	/* A sub-range, with its bitmap starting at its own first page. */
	memset(mark, 0, sizeof(mark));
	set_bit(mark, 20);
	assert_int_equal(mark_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, mark, &nr), 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A + 16 * PSZ, 8 * PSZ, PSZ, out, 0), 0);
	assert_int_equal(out[0], 1ull << 4);

	/* Turning tracking on starts from a clean state. */
	set_bit(mark, 30);
	assert_int_equal(mark_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, mark, NULL), 0);
	assert_int_equal(set_dirty(f->ctx, dirty, false), 0);
	assert_int_equal(set_dirty(f->ctx, dirty, true), 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out, 0), 0);
	assert_bits(out, NPAGES, NULL, 0);
}

static void test_dirty_bitmap_errors(void **state)
{
	struct fixture *f = *state;
	uint64_t out[4] = {}, iova = IOVA_A, iova2 = IOVA_A + NPAGES * PSZ;
	uint64_t iova3 = IOVA_A + 4 * NPAGES * PSZ;
	uint32_t dirty = 0;

	assert_int_equal(ioas_set_huge_pages(f->ctx, f->ioas, 0), 0);
	/* Two touching areas, then a gap, then a third. */
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova2, RW_FIXED), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova3, RW_FIXED), 0);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				    &dirty), 0);
	assert_int_equal(set_dirty(f->ctx, dirty, true), 0);

	/* Across touching areas is fine. */
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, 2 * NPAGES * PSZ, PSZ, out, 0), 0);
	/* Not on the IOAS alignment, or not on page_size. */
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A + 1, NPAGES * PSZ, PSZ, out, 0), -EINVAL);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ - 1, PSZ, out, 0), -EINVAL);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A + PSZ, NPAGES * PSZ, 2 * PSZ, out, 0),
			 -EINVAL);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, 3 * PSZ, 2 * PSZ, out, 0), -EINVAL);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, 0, out, 0), -EINVAL);
	/* Length 0 wraps. */
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, 0, PSZ, out, 0), -EOVERFLOW);
	assert_int_equal(get_dirty(f->ctx, dirty, UINT64_MAX - PSZ + 1, 2 * PSZ, PSZ, out, 0),
			 -EOVERFLOW);
	/* Over the unmapped gap, or all unmapped. */
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, 3 * NPAGES * PSZ, PSZ, out, 0), -EINVAL);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A + 2 * NPAGES * PSZ, PSZ, PSZ, out, 0),
			 -EINVAL);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A - PSZ, 2 * PSZ, PSZ, out, 0), -EINVAL);
	/* Not a paging HWPT; a bad bitmap pointer. */
	assert_int_equal(get_dirty(f->ctx, f->ioas, IOVA_A, PSZ, PSZ, out, 0), -ENOENT);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, PSZ, PSZ, (void *)8, 0), -EFAULT);
}

static void test_dma_marks_dirty_while_tracking(void **state)
{
	struct fixture *f = *state;
	uint64_t out[NPAGES / 64] = {}, iova = IOVA_A;
	unsigned int five[] = { 5 }, six[] = { 5, 6 };
	struct mock_ids d = {};
	uint8_t data[64] = { 1 };
	uint32_t dirty = 0;

	assert_int_equal(ioas_set_huge_pages(f->ctx, f->ioas, 0), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				    &dirty), 0);
	assert_int_equal(mock_domain(f->ctx, dirty, &d), 0);
	assert_int_equal(d.hwpt, dirty);

	/* Tracking off: writes leave no trace. */
	assert_int_equal(set_dirty(f->ctx, dirty, true), 0);
	assert_int_equal(set_dirty(f->ctx, dirty, false), 0);
	assert_int_equal(uiommufd_device_dma(f->ctx, d.idev, IOVA_A + 2 * PSZ, data, sizeof(data),
					     UIOMMUFD_DMA_WRITE), 0);
	assert_int_equal(f->buf[2 * PSZ], 1);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out, 0), 0);
	assert_bits(out, NPAGES, NULL, 0);

	/* Tracking on: writes mark their pages, reads do not. */
	assert_int_equal(set_dirty(f->ctx, dirty, true), 0);
	assert_int_equal(uiommufd_device_dma(f->ctx, d.idev, IOVA_A + 5 * PSZ + 7, data,
					     sizeof(data), UIOMMUFD_DMA_WRITE), 0);
	assert_int_equal(uiommufd_device_dma(f->ctx, d.idev, IOVA_A + 9 * PSZ, data, sizeof(data),
					     0), 0);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out, 0), 0);
	assert_bits(out, NPAGES, five, 1);
	/* A write across a page boundary marks both pages. */
	memset(out, 0, sizeof(out));
	assert_int_equal(uiommufd_device_dma(f->ctx, d.idev, IOVA_A + 6 * PSZ - 8, data,
					     sizeof(data), UIOMMUFD_DMA_WRITE), 0);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out, 0), 0);
	assert_bits(out, NPAGES, six, 2);
	/* A device on another domain marks nothing here. */
	memset(out, 0, sizeof(out));
	assert_int_equal(uiommufd_device_dma(f->ctx, f->dev.idev, IOVA_A + 12 * PSZ, data,
					     sizeof(data), UIOMMUFD_DMA_WRITE), 0);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out, 0), 0);
	assert_bits(out, NPAGES, NULL, 0);
}

/*
 * The device's IOTLB caches translations, as hardware does; it must never
 * let a write skip the dirty mark.  Each case repeats the same page, so a
 * stale entry would serve it.
 */
static void test_dma_iotlb_keeps_dirty_marks(void **state)
{
	struct fixture *f = *state;
	uint64_t out[NPAGES / 64] = {}, iova = IOVA_A;
	unsigned int three[] = { 3 }, four[] = { 4 }, seven[] = { 7 };
	struct mock_ids d = {};
	uint8_t data[64] = { 1 };
	uint32_t dirty = 0;

	assert_int_equal(ioas_set_huge_pages(f->ctx, f->ioas, 0), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				    &dirty), 0);
	assert_int_equal(mock_domain(f->ctx, dirty, &d), 0);

	/* A write cached while tracking was off: enabling flushes it. */
	assert_int_equal(uiommufd_device_dma(f->ctx, d.idev, IOVA_A + 7 * PSZ, data, sizeof(data),
					     UIOMMUFD_DMA_WRITE), 0);
	assert_int_equal(set_dirty(f->ctx, dirty, true), 0);
	assert_int_equal(uiommufd_device_dma(f->ctx, d.idev, IOVA_A + 7 * PSZ, data, sizeof(data),
					     UIOMMUFD_DMA_WRITE), 0);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out, 0), 0);
	assert_bits(out, NPAGES, seven, 1);

	/* Harvesting clears the mark and flushes: the next write marks again. */
	memset(out, 0, sizeof(out));
	assert_int_equal(uiommufd_device_dma(f->ctx, d.idev, IOVA_A + 3 * PSZ, data, sizeof(data),
					     UIOMMUFD_DMA_WRITE), 0);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out, 0), 0);
	assert_bits(out, NPAGES, three, 1);
	memset(out, 0, sizeof(out));
	assert_int_equal(uiommufd_device_dma(f->ctx, d.idev, IOVA_A + 3 * PSZ, data, sizeof(data),
					     UIOMMUFD_DMA_WRITE), 0);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out, 0), 0);
	assert_bits(out, NPAGES, three, 1);

	/* An entry a read filled does not serve a write. */
	memset(out, 0, sizeof(out));
	assert_int_equal(uiommufd_device_dma(f->ctx, d.idev, IOVA_A + 4 * PSZ, data, sizeof(data),
					     0), 0);
	assert_int_equal(uiommufd_device_dma(f->ctx, d.idev, IOVA_A + 4 * PSZ, data, sizeof(data),
					     UIOMMUFD_DMA_WRITE), 0);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out, 0), 0);
	assert_bits(out, NPAGES, four, 1);

	/* NO_CLEAR leaves the mark: nothing to flush, and it is still reported. */
	memset(out, 0, sizeof(out));
	assert_int_equal(uiommufd_device_dma(f->ctx, d.idev, IOVA_A + 4 * PSZ, data, sizeof(data),
					     UIOMMUFD_DMA_WRITE), 0);
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out,
				   IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR), 0);
	assert_bits(out, NPAGES, four, 1);
	memset(out, 0, sizeof(out));
	assert_int_equal(get_dirty(f->ctx, dirty, IOVA_A, NPAGES * PSZ, PSZ, out, 0), 0);
	assert_bits(out, NPAGES, four, 1);
}

static void test_huge_pages_option_with_domain(void **state)
{
	struct fixture *f = *state;
	struct iommu_option get = {
		.size = sizeof(get), .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_GET, .object_id = f->ioas,
	};
	uint64_t iova = 0;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW), 0);
	/* IOPTEs already made may be large: too late to forbid them. */
	assert_int_equal(ioas_set_huge_pages(f->ctx, f->ioas, 0), -EINVAL);
	assert_int_equal(ictl(f->ctx, IOMMU_OPTION, &get), 0);
	assert_int_equal(get.val64, 1);
	/* Enabling is always fine; values other than 0/1 are not. */
	assert_int_equal(ioas_set_huge_pages(f->ctx, f->ioas, 1), 0);
	assert_int_equal(ioas_set_huge_pages(f->ctx, f->ioas, 2), -EINVAL);
	/* With the areas gone it can be set, and the alignment becomes PAGE_SIZE. */
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova, NPAGES * PSZ, NULL), 0);
	assert_int_equal(ioas_set_huge_pages(f->ctx, f->ioas, 0), 0);
	assert_int_equal(ictl(f->ctx, IOMMU_OPTION, &get), 0);
	assert_int_equal(get.val64, 0);
	assert_one_range(f->ctx, f->ioas, MOCK_APERTURE_START, MOCK_APERTURE_LAST, PSZ);
	/* Areas with no domain do not stop it either. */
	assert_int_equal(ioas_set_huge_pages(f->ctx, f->ioas, 1), 0);
	assert_int_equal(destroy(f->ctx, f->dev.stdev), 0);
	iova = 0;
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW), 0);
	assert_int_equal(ioas_set_huge_pages(f->ctx, f->ioas, 0), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_alloc_flags),
		T(test_alloc_errors),
		T(test_alloc_failures_leave_nothing),
		T(test_nested_on_parent),
		T(test_invalidate_nested),
		T(test_alloc_pagetable_types),
		T(test_set_dirty_tracking_errors),
		T(test_dirty_flow),
		T(test_dirty_bitmap_errors),
		T(test_dma_marks_dirty_while_tracking),
		T(test_dma_iotlb_keeps_dirty_marks),
		T(test_huge_pages_option_with_domain),
	};

	return cmocka_run_group_tests_name("hwpt", tests, NULL, NULL);
}
