// SPDX-License-Identifier: MIT
/*
 * vIOMMUs (viommu.c) on the mock IOMMU: IOMMU_VIOMMU_ALLOC and its mmap
 * region, IOMMU_VDEVICE_ALLOC and tombstones, nested HWPTs and cache
 * invalidation through a vIOMMU, IOMMU_HW_QUEUE_ALLOC.
 *
 * Without the shim, mmap() of the iommufd file is uiommufd_mmap() and
 * munmap() is reported with uiommufd_munmap_notify(), as the shim does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "helpers.h"
#include "host/inproc.h"

#define NPAGES 4

static uint64_t vm_kib(const char *key);

struct fixture {
	struct uiommufd_ctx *ctx;
	uint32_t ioas;
	uint8_t *buf;
	struct viommu_ids v;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fixture_open(&f->ctx, &f->ioas, &f->buf, NPAGES))
		return -1;
	viommu_rig(f->ctx, f->ioas, &f->v);
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

static long hw_queue_alloc(struct uiommufd_ctx *ctx, uint32_t viommu, uint32_t type,
			   uint32_t index, uint64_t iova, uint64_t len, uint32_t *out)
{
	struct iommu_hw_queue_alloc cmd = {
		.size = sizeof(cmd), .viommu_id = viommu, .type = type, .index = index,
		.nesting_parent_iova = iova, .length = len,
	};
	long rc = ictl(ctx, IOMMU_HW_QUEUE_ALLOC, &cmd);

	if (!rc && out)
		*out = cmd.out_hw_queue_id;
	return rc;
}

static void test_viommu_alloc_errors(void **state)
{
	struct fixture *f = *state;
	struct iommu_viommu_alloc cmd = {
		.size = sizeof(cmd), .type = IOMMU_VIOMMU_TYPE_SELFTEST, .dev_id = f->v.dev.idev,
		.hwpt_id = f->v.parent,
	};
	uint32_t plain = 0;

	assert_int_equal(viommu_alloc(f->ctx, f->v.dev.idev, 0, IOMMU_VIOMMU_TYPE_SELFTEST,
				      NULL, 0, NULL), -ENOENT);
	assert_int_equal(viommu_alloc(f->ctx, 0, f->v.parent, IOMMU_VIOMMU_TYPE_SELFTEST,
				      NULL, 0, NULL), -ENOENT);
	/* The stage 2 must be a nesting parent. */
	assert_int_equal(hwpt_alloc(f->ctx, f->v.dev.idev, f->ioas, 0, &plain), 0);
	assert_int_equal(viommu_alloc(f->ctx, f->v.dev.idev, plain, IOMMU_VIOMMU_TYPE_SELFTEST,
				      NULL, 0, NULL), -EINVAL);
	assert_int_equal(destroy(f->ctx, plain), 0);
	/* The IOAS is not a HWPT. */
	assert_int_equal(viommu_alloc(f->ctx, f->v.dev.idev, f->ioas, IOMMU_VIOMMU_TYPE_SELFTEST,
				      NULL, 0, NULL), -ENOENT);
	assert_int_equal(viommu_alloc(f->ctx, f->v.dev.idev, f->v.parent, 0xdead, NULL, 0, NULL),
			 -EOPNOTSUPP);
	assert_int_equal(viommu_alloc(f->ctx, f->v.dev.idev, f->v.parent,
				      IOMMU_VIOMMU_TYPE_DEFAULT, NULL, 0, NULL), -EOPNOTSUPP);
	cmd.flags = 1;
	assert_int_equal(ictl(f->ctx, IOMMU_VIOMMU_ALLOC, &cmd), -EOPNOTSUPP);
	/* Bad driver data: a bad pointer, too short. */
	assert_int_equal(viommu_alloc(f->ctx, f->v.dev.idev, f->v.parent,
				      IOMMU_VIOMMU_TYPE_SELFTEST, (void *)8,
				      sizeof(struct iommu_viommu_selftest), NULL), -EFAULT);
	assert_int_equal(viommu_alloc(f->ctx, f->v.dev.idev, f->v.parent,
				      IOMMU_VIOMMU_TYPE_SELFTEST, &cmd, 2, NULL), -EINVAL);
	/* The vIOMMU holds its parent; the rig's vIOMMU is free to go. */
	assert_int_equal(destroy(f->ctx, f->v.parent), -EBUSY);
	assert_int_equal(destroy(f->ctx, f->v.viommu), 0);
	assert_int_equal(destroy(f->ctx, f->v.parent), 0);
}

static void test_viommu_mmap(void **state)
{
	struct fixture *f = *state;
	struct iommu_viommu_selftest data = { .in_data = 0xbeef };
	uint32_t viommu = 0;
	size_t len;
	uint64_t off;
	void *p = NULL;
	uint32_t *page;

	assert_int_equal(viommu_alloc(f->ctx, f->v.dev.idev, f->v.parent,
				      IOMMU_VIOMMU_TYPE_SELFTEST, &data, sizeof(data), &viommu), 0);
	assert_int_equal(data.out_data, 0xbeef);
	assert_int_equal(data.out_mmap_length, 2 * PSZ);
	len = data.out_mmap_length;
	off = data.out_mmap_offset;
	assert_int_not_equal(off, 0);
	assert_int_equal(off % PSZ, 0);

	/* Only the region, whole, from its start, shared, not executable. */
	assert_int_equal(uiommufd_mmap(f->ctx, NULL, len, PROT_READ, MAP_SHARED, off + PSZ, &p),
			 -ENXIO);
	assert_int_equal(uiommufd_mmap(f->ctx, NULL, len, PROT_READ, MAP_SHARED, off + 2 * PSZ,
				       &p), -ENXIO);
	assert_int_equal(uiommufd_mmap(f->ctx, NULL, len / 2, PROT_READ, MAP_SHARED, off, &p),
			 -ENXIO);
	assert_int_equal(uiommufd_mmap(f->ctx, NULL, len * 2, PROT_READ, MAP_SHARED, off, &p),
			 -ENXIO);
	/* A huge length is refused before anything is sized by it (issue 11). */
	{
		uint64_t peak = vm_kib("VmPeak");

		assert_int_equal(uiommufd_mmap(f->ctx, NULL, (size_t)1 << 44, PROT_READ,
					       MAP_SHARED, off, &p), -ENXIO);
		assert_true(vm_kib("VmPeak") - peak < 4096);
	}
	assert_int_equal(uiommufd_mmap(f->ctx, NULL, len, PROT_READ, MAP_PRIVATE, off, &p),
			 -EINVAL);
	assert_int_equal(uiommufd_mmap(f->ctx, NULL, len, PROT_READ | PROT_EXEC, MAP_SHARED,
				       off, &p), -EPERM);
	/* Nothing mapped, nothing held: it could go now. */
	assert_int_equal(uiommufd_mmap(f->ctx, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
				       off, &p), 0);
	page = p;
	assert_int_equal(page[0], 0xbeef);

	/* The owner of a mapped region stays until the last page is unmapped. */
	assert_int_equal(destroy(f->ctx, viommu), -EBUSY);
	assert_int_equal(munmap(page, PSZ), 0);
	uiommufd_munmap_notify(page, PSZ);
	assert_int_equal(destroy(f->ctx, viommu), -EBUSY);
	/* Unmapping the same page again changes nothing. */
	uiommufd_munmap_notify(page, PSZ);
	assert_int_equal(destroy(f->ctx, viommu), -EBUSY);
	assert_int_equal(munmap((uint8_t *)page + PSZ, PSZ), 0);
	uiommufd_munmap_notify((uint8_t *)page + PSZ, PSZ);
	assert_int_equal(destroy(f->ctx, viommu), 0);
	/* With the vIOMMU gone, so is its region. */
	assert_int_equal(uiommufd_mmap(f->ctx, NULL, len, PROT_READ, MAP_SHARED, off, &p),
			 -ENXIO);
}

/* A mapping keeps the context open after its last reference, as a VMA keeps its file. */
static void test_viommu_mmap_outlives_close(void **state)
{
	struct fixture *f = *state;
	struct iommu_viommu_selftest data = { .in_data = 7 };
	struct uiommufd_ctx *ctx;
	uint32_t ioas, viommu = 0;
	struct viommu_ids v = {};
	uint32_t *page;
	void *p;

	assert_int_equal(uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx), 0);
	ioas = ioas_alloc(ctx);
	viommu_rig(ctx, ioas, &v);
	assert_int_equal(viommu_alloc(ctx, v.dev.idev, v.parent, IOMMU_VIOMMU_TYPE_SELFTEST,
				      &data, sizeof(data), &viommu), 0);
	assert_int_equal(uiommufd_mmap(ctx, NULL, data.out_mmap_length, PROT_READ, MAP_SHARED,
				       data.out_mmap_offset, &p), 0);
	uiommufd_ctx_put(ctx);
	page = p;
	assert_int_equal(page[0], 7);
	assert_int_equal(munmap(p, data.out_mmap_length), 0);
	uiommufd_munmap_notify(p, data.out_mmap_length);	/* the context goes here */
	(void)f;
}

static void test_vdevice(void **state)
{
	struct fixture *f = *state;
	struct mock_ids other = {};
	uint32_t vdev = 0, vdev2 = 0, nested = 0, pt;

	assert_int_equal(vdevice_alloc(f->ctx, 0, f->v.dev.idev, 0x99, NULL), -ENOENT);
	assert_int_equal(vdevice_alloc(f->ctx, f->v.viommu, 0, 0x99, NULL), -ENOENT);
	assert_int_equal(vdevice_alloc(f->ctx, f->v.viommu, f->v.dev.idev, 0x99, &vdev), 0);
	/* One vDEVICE per device, one device per virtual ID. */
	assert_int_equal(vdevice_alloc(f->ctx, f->v.viommu, f->v.dev.idev, 0x88, NULL), -EEXIST);
	assert_int_equal(mock_domain(f->ctx, f->ioas, &other), 0);
	assert_int_equal(vdevice_alloc(f->ctx, f->v.viommu, other.idev, 0x99, NULL), -EEXIST);
	assert_int_equal(vdevice_alloc(f->ctx, f->v.viommu, other.idev, 0x88, &vdev2), 0);
	/* vDEVICEs hold the vIOMMU. */
	assert_int_equal(destroy(f->ctx, f->v.viommu), -EBUSY);

	/* A nested HWPT on the vIOMMU: attaching needs the device's vDEVICE. */
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->v.dev.idev, f->v.viommu, 0, 0, &nested), 0);
	assert_int_equal(destroy(f->ctx, vdev), 0);
	pt = nested;
	assert_int_equal(mock_domain_replace(f->ctx, f->v.dev.stdev, &pt), -ENOENT);
	assert_int_equal(vdevice_alloc(f->ctx, f->v.viommu, f->v.dev.idev, 0x99, &vdev), 0);
	pt = nested;
	assert_int_equal(mock_domain_replace(f->ctx, f->v.dev.stdev, &pt), 0);
	assert_int_equal(destroy(f->ctx, nested), -EBUSY);
	pt = f->ioas;
	assert_int_equal(mock_domain_replace(f->ctx, f->v.dev.stdev, &pt), 0);
	assert_int_equal(destroy(f->ctx, nested), 0);

	/* The device goes first: its vDEVICE is tombstoned, its ID not reused. */
	assert_int_equal(destroy(f->ctx, other.stdev), 0);
	assert_int_equal(destroy(f->ctx, vdev2), -ENOENT);
	assert_int_not_equal(ioas_alloc(f->ctx), vdev2);
	assert_int_equal(destroy(f->ctx, vdev), 0);
	assert_int_equal(destroy(f->ctx, f->v.viommu), 0);
}

static void test_nested_on_viommu_errors(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .dev_id = f->v.dev.idev, .pt_id = f->v.viommu,
	};
	uint32_t nested = 0;

	/* No data type: a vIOMMU only makes nested HWPTs. */
	assert_int_equal(ictl(f->ctx, IOMMU_HWPT_ALLOC, &cmd), -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->v.dev.idev, f->v.viommu,
					   IOMMU_HWPT_FAULT_ID_VALID, UINT32_MAX, NULL), -ENOENT);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->v.dev.idev, f->v.viommu, 1u << 31, 0,
					   NULL), -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->v.dev.idev, f->v.viommu,
					   IOMMU_HWPT_ALLOC_PASID, 0, &nested), 0);
	/* It holds the vIOMMU, not the parent directly. */
	assert_int_equal(destroy(f->ctx, f->v.viommu), -EBUSY);
	assert_int_equal(destroy(f->ctx, nested), 0);
	assert_int_equal(destroy(f->ctx, f->v.viommu), 0);
}

static void test_viommu_invalidate(void **state)
{
	struct fixture *f = *state;
	struct iommu_viommu_invalidate_selftest reqs[2] = {};
	uint32_t vdev = 0, n;
	const uint32_t T = IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST;
	const uint32_t L = sizeof(reqs[0]);
	uint8_t *edge;
	int i;

	assert_int_equal(vdevice_alloc(f->ctx, f->v.viommu, f->v.dev.idev, 0x99, &vdev), 0);
	for (i = 0; i < MOCK_DEV_CACHE_NUM; i++)
		assert_int_equal(check_cache(f->ctx, f->v.dev.idev, i,
					     IOMMU_TEST_DEV_CACHE_DEFAULT), 0);

	n = 0;	/* no entries: only the type is checked */
	assert_int_equal(invalidate(f->ctx, f->v.viommu, T, reqs, L, &n), 0);
	assert_int_equal(n, 0);
	n = 1;
	assert_int_equal(invalidate(f->ctx, f->v.viommu, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID,
				    reqs, L, &n), -EINVAL);
	assert_int_equal(n, 0);
	n = 1;
	assert_int_equal(invalidate(f->ctx, f->v.viommu, T, reqs, L + 1, &n), -EINVAL);
	assert_int_equal(n, 0);
	n = 1;
	assert_int_equal(invalidate(f->ctx, f->v.viommu, T, reqs, 1, &n), -EINVAL);
	assert_int_equal(n, 0);
	n = 1;
	assert_int_equal(invalidate(f->ctx, f->v.viommu, T, NULL, L, &n), -EINVAL);
	assert_int_equal(n, 0);
	n = 1;
	assert_int_equal(invalidate(f->ctx, f->v.viommu, T, reqs, 0, &n), -EINVAL);
	assert_int_equal(n, 0);
	/* A valid entry then an unmapped one: nothing is done, the array is read first. */
	edge = map_pages(2);
	assert_int_equal(munmap(edge + PSZ, PSZ), 0);
	memcpy(edge + PSZ - L, &(struct iommu_viommu_invalidate_selftest){ .vdev_id = 0x99 }, L);
	n = 2;
	assert_int_equal(invalidate(f->ctx, f->v.viommu, T, edge + PSZ - L, L, &n), -EFAULT);
	assert_int_equal(n, 0);
	assert_int_equal(check_cache(f->ctx, f->v.dev.idev, 0, IOMMU_TEST_DEV_CACHE_DEFAULT), 0);
	munmap(edge, PSZ);
	n = 1;
	reqs[0] = (struct iommu_viommu_invalidate_selftest){ .flags = ~0u, .vdev_id = 0x99 };
	assert_int_equal(invalidate(f->ctx, f->v.viommu, T, reqs, L, &n), -EOPNOTSUPP);
	assert_int_equal(n, 0);
	n = 1;
	reqs[0] = (struct iommu_viommu_invalidate_selftest){
		.vdev_id = 0x99, .cache_id = MOCK_DEV_CACHE_ID_MAX + 1 };
	assert_int_equal(invalidate(f->ctx, f->v.viommu, T, reqs, L, &n), -EINVAL);
	assert_int_equal(n, 0);
	n = 1;
	reqs[0] = (struct iommu_viommu_invalidate_selftest){ .vdev_id = 0x9 };
	assert_int_equal(invalidate(f->ctx, f->v.viommu, T, reqs, L, &n), -EINVAL);
	assert_int_equal(n, 0);

	/* The first entry is done, the second fails: entry_num says 1. */
	n = 2;
	reqs[0] = (struct iommu_viommu_invalidate_selftest){ .vdev_id = 0x99, .cache_id = 0 };
	reqs[1] = (struct iommu_viommu_invalidate_selftest){ .flags = ~0u, .vdev_id = 0x99,
							     .cache_id = 1 };
	assert_int_equal(invalidate(f->ctx, f->v.viommu, T, reqs, L, &n), -EOPNOTSUPP);
	assert_int_equal(n, 1);
	assert_int_equal(check_cache(f->ctx, f->v.dev.idev, 0, 0), 0);
	assert_int_equal(check_cache(f->ctx, f->v.dev.idev, 1, IOMMU_TEST_DEV_CACHE_DEFAULT), 0);

	n = 2;
	reqs[0] = (struct iommu_viommu_invalidate_selftest){ .vdev_id = 0x99, .cache_id = 1 };
	reqs[1] = (struct iommu_viommu_invalidate_selftest){ .vdev_id = 0x99, .cache_id = 2 };
	assert_int_equal(invalidate(f->ctx, f->v.viommu, T, reqs, L, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(check_cache(f->ctx, f->v.dev.idev, 2, 0), 0);
	assert_int_equal(check_cache(f->ctx, f->v.dev.idev, 3, IOMMU_TEST_DEV_CACHE_DEFAULT), 0);
	n = 1;
	reqs[0] = (struct iommu_viommu_invalidate_selftest){
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL, .vdev_id = 0x99, .cache_id = 3 };
	assert_int_equal(invalidate(f->ctx, f->v.viommu, T, reqs, L, &n), 0);
	for (i = 0; i < MOCK_DEV_CACHE_NUM; i++)
		assert_int_equal(check_cache(f->ctx, f->v.dev.idev, i, 0), 0);

	/* Once the vDEVICE is gone its ID finds nothing. */
	assert_int_equal(destroy(f->ctx, vdev), 0);
	n = 1;
	reqs[0] = (struct iommu_viommu_invalidate_selftest){ .vdev_id = 0x99 };
	assert_int_equal(invalidate(f->ctx, f->v.viommu, T, reqs, L, &n), -EINVAL);
	assert_int_equal(n, 0);
}

static void test_hw_queue(void **state)
{
	struct fixture *f = *state;
	const uint32_t T = IOMMU_HW_QUEUE_TYPE_SELFTEST;
	uint64_t iova = MOCK_APERTURE_START, iova2 = iova + PSZ;
	uint32_t q0 = 0, q1 = 0;
	struct iommu_hw_queue_alloc cmd = {
		.size = sizeof(cmd), .viommu_id = f->v.viommu, .type = T,
		.nesting_parent_iova = iova, .length = PSZ, .flags = 1,
	};

	assert_int_equal(ictl(f->ctx, IOMMU_HW_QUEUE_ALLOC, &cmd), -EOPNOTSUPP);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, IOMMU_HW_QUEUE_TYPE_DEFAULT, 0, iova,
					PSZ, NULL), -EOPNOTSUPP);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, 0x1234, 0, iova, PSZ, NULL),
			 -EOPNOTSUPP);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, iova, 0, NULL), -EINVAL);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, ~0ull, PSZ, NULL), -EOVERFLOW);
	assert_int_equal(hw_queue_alloc(f->ctx, f->ioas, T, 0, iova, PSZ, NULL), -ENOENT);
	/* Nothing mapped there yet. */
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, iova, PSZ, NULL), -ENOENT);

	/* Two IOVA pages over pages that are not adjacent: not one physical run. */
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf + 2 * PSZ, PSZ, &iova2, RW_FIXED), 0);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, iova, 2 * PSZ, NULL), -EFAULT);
	assert_int_equal(check_refs(f->ctx, f->buf, PSZ, 1), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova2, PSZ, NULL), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf + PSZ, PSZ, &iova2, RW_FIXED), 0);
	/* Indexes fill in order, below the driver's limit. */
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 1, iova, PSZ, NULL), -EIO);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, IOMMU_TEST_HW_QUEUE_MAX, iova,
					PSZ, NULL), -EINVAL);
	/* Failed attempts left no lock behind. */
	assert_int_equal(check_refs(f->ctx, f->buf, PSZ, 1), 0);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, iova, PSZ, &q0), 0);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, iova, PSZ, NULL), -EEXIST);
	/* The queue's page is locked; the next one is not. */
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova, PSZ, NULL), -EBUSY);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova2, PSZ, NULL), 0);
	/* Unaligned within the page; it depends on index 0. */
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 1, iova + PSZ / 2, PSZ / 2, &q1),
			 0);
	assert_int_equal(destroy(f->ctx, q0), -EBUSY);
	assert_int_equal(destroy(f->ctx, f->v.viommu), -EBUSY);
	assert_int_equal(destroy(f->ctx, q1), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova, PSZ, NULL), -EBUSY);
	assert_int_equal(destroy(f->ctx, q0), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova, PSZ, NULL), 0);
	assert_int_equal(destroy(f->ctx, f->v.viommu), 0);
}

/* A "Vm...:" line of /proc/self/status, in KiB. */
static uint64_t vm_kib(const char *key)
{
	char line[256];
	uint64_t kib = 0;
	size_t n = strlen(key);
	FILE *fp = fopen("/proc/self/status", "r");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, key, n) && line[n] == ':')
			kib = strtoull(line + n + 1, NULL, 10);
	fclose(fp);
	assert_int_not_equal(kib, 0);
	return kib;
}

/* Nothing is pinned or locked and no ID was used up: a queue still goes there. */
static void assert_queue_state_clean(struct fixture *f, uint64_t iova)
{
	uint32_t q = 0;

	assert_int_equal(check_refs(f->ctx, f->buf, PSZ, 1), 0);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, IOMMU_HW_QUEUE_TYPE_SELFTEST, 0,
					iova, PSZ, &q), 0);
	assert_int_equal(q, f->v.viommu + 1);
	assert_int_equal(destroy(f->ctx, q), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova, PSZ, NULL), 0);
	assert_int_equal(destroy(f->ctx, f->v.viommu), 0);
}

/*
 * A huge length over a mostly unmapped span fails without costing memory
 * sized by it (issue 11): no page table of length / 4096 entries.
 */
static void test_hw_queue_huge_length_costs_nothing(void **state)
{
	struct fixture *f = *state;
	const uint32_t T = IOMMU_HW_QUEUE_TYPE_SELFTEST;
	uint64_t iova = MOCK_APERTURE_START;
	uint64_t peak, rss;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova, RW_FIXED), 0);
	peak = vm_kib("VmPeak");
	rss = vm_kib("VmRSS");
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, iova, 1ull << 39, NULL),
			 -ENOENT);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, iova + 1, 1ull << 39, NULL),
			 -ENOENT);
	/* The biggest span whose table the kernel could still allocate. */
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, iova, (1ull << 40) - PSZ,
					NULL), -ENOENT);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, iova, 1ull << 46, NULL),
			 -ENOMEM);
	assert_true(vm_kib("VmPeak") - peak < 4096);
	assert_true(vm_kib("VmRSS") < rss + 4096);
	assert_queue_state_clean(f, iova);
}

/*
 * The kernel's errnos for lengths at the edges: its page table for the span
 * is 8 bytes a page and kvcalloc() refuses more than INT_MAX bytes (ENOMEM
 * from 2^28 pages on); a page-rounded span that wraps is ERANGE.
 */
static void test_hw_queue_length_errnos(void **state)
{
	struct fixture *f = *state;
	const uint32_t T = IOMMU_HW_QUEUE_TYPE_SELFTEST;
	uint64_t iova = MOCK_APERTURE_START;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, iova, 1ull << 46, NULL),
			 -ENOMEM);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, iova, 1ull << 40, NULL),
			 -ENOMEM);
	/* One byte into the next page makes 2^28 pages too. */
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, iova + 1, (1ull << 40) - PSZ,
					NULL), -ENOMEM);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, 0, ~0ull, NULL), -ERANGE);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, 1, ~0ull, NULL), -ERANGE);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, PSZ - 1, -(PSZ - 1), NULL),
			 -ERANGE);
	/* Past the first page the rounded span cannot wrap once EOVERFLOW passed. */
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, PSZ + 1, -(PSZ + 1), NULL),
			 -ENOMEM);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, 2, ~0ull, NULL),
			 -EOVERFLOW);
	assert_queue_state_clean(f, iova);
}

/* The queue's pages are pinned for reading, as the kernel's are (flags 0). */
static void test_hw_queue_prot(void **state)
{
	struct fixture *f = *state;
	const uint32_t T = IOMMU_HW_QUEUE_TYPE_SELFTEST;
	uint64_t ro = MOCK_APERTURE_START, wo = ro + 4 * PSZ;
	uint32_t q = 0;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &ro,
				  IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf + PSZ, PSZ, &wo,
				  IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA), 0);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, wo, PSZ, NULL), -EPERM);
	assert_int_equal(check_refs(f->ctx, f->buf + PSZ, PSZ, 1), 0);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, T, 0, ro, PSZ, &q), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, ro, PSZ, NULL), -EBUSY);
	assert_int_equal(destroy(f->ctx, q), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, ro, PSZ, NULL), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, wo, PSZ, NULL), 0);
}

/* An argument page that can be read but not written: the reply's copy fails. */
static void *read_only_arg(const void *cmd, size_t len)
{
	void *page = mmap(NULL, PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_ptr_not_equal(page, MAP_FAILED);
	memcpy(page, cmd, len);
	assert_int_equal(mprotect(page, PSZ, PROT_READ), 0);
	/* The shim would report the mprotect (and cmocka swaps SIGSEGV handlers). */
	uiommufd_host_inproc_mm_changed();
	return page;
}

/* A failed reply withdraws the vIOMMU, its mmap region and its hold on the parent. */
static void test_viommu_alloc_respond_fails(void **state)
{
	struct fixture *f = *state;
	struct iommu_viommu_selftest data = { .in_data = 3 };
	struct iommu_viommu_alloc cmd = {
		.size = sizeof(cmd), .type = IOMMU_VIOMMU_TYPE_SELFTEST, .dev_id = f->v.dev.idev,
		.hwpt_id = f->v.parent, .data_len = sizeof(data), .data_uptr = (uintptr_t)&data,
	};
	void *arg = read_only_arg(&cmd, sizeof(cmd));
	uint32_t id = 0;
	void *p;

	assert_int_equal(ictl(f->ctx, IOMMU_VIOMMU_ALLOC, arg), -EFAULT);
	munmap(arg, PSZ);
	/* The driver had answered in its own buffer; that region is gone. */
	assert_int_equal(data.out_mmap_length, 2 * PSZ);
	assert_int_equal(uiommufd_mmap(f->ctx, NULL, data.out_mmap_length, PROT_READ, MAP_SHARED,
				       data.out_mmap_offset, &p), -ENXIO);
	assert_int_equal(destroy(f->ctx, f->v.viommu + 1), -ENOENT);
	assert_int_equal(destroy(f->ctx, f->v.viommu), 0);
	assert_int_equal(destroy(f->ctx, f->v.parent), 0);
	id = ioas_alloc(f->ctx);
	assert_int_equal(id, f->v.parent);
}

/* A failed reply withdraws the vDEVICE: the device and its ID are free again. */
static void test_vdevice_alloc_respond_fails(void **state)
{
	struct fixture *f = *state;
	struct iommu_vdevice_alloc cmd = {
		.size = sizeof(cmd), .viommu_id = f->v.viommu, .dev_id = f->v.dev.idev,
		.virt_id = 0x99,
	};
	void *arg = read_only_arg(&cmd, sizeof(cmd));
	uint32_t vdev = 0;

	assert_int_equal(ictl(f->ctx, IOMMU_VDEVICE_ALLOC, arg), -EFAULT);
	munmap(arg, PSZ);
	assert_int_equal(destroy(f->ctx, f->v.viommu + 1), -ENOENT);
	assert_int_equal(vdevice_alloc(f->ctx, f->v.viommu, f->v.dev.idev, 0x99, &vdev), 0);
	assert_int_equal(vdev, f->v.viommu + 1);
	assert_int_equal(destroy(f->ctx, vdev), 0);
	assert_int_equal(destroy(f->ctx, f->v.viommu), 0);
}

/* A failed reply withdraws the HW queue: no pin, no lock, its index free. */
static void test_hw_queue_alloc_respond_fails(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = MOCK_APERTURE_START;
	struct iommu_hw_queue_alloc cmd = {
		.size = sizeof(cmd), .viommu_id = f->v.viommu, .type = IOMMU_HW_QUEUE_TYPE_SELFTEST,
		.nesting_parent_iova = iova, .length = PSZ,
	};
	void *arg;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova, RW_FIXED), 0);
	arg = read_only_arg(&cmd, sizeof(cmd));
	assert_int_equal(ictl(f->ctx, IOMMU_HW_QUEUE_ALLOC, arg), -EFAULT);
	munmap(arg, PSZ);
	assert_int_equal(check_refs(f->ctx, f->buf, PSZ, 1), 0);
	assert_int_equal(destroy(f->ctx, f->v.viommu + 1), -ENOENT);
	/* Index 0 is free, and index 1 finds no queue to depend on. */
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, IOMMU_HW_QUEUE_TYPE_SELFTEST, 1,
					iova, PSZ, NULL), -EIO);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova, PSZ, NULL), 0);
	assert_int_equal(destroy(f->ctx, f->v.viommu), 0);
}

/* Closing the context with everything still there tears it all down. */
static void test_close_with_everything(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t vdev = 0, nested = 0, q = 0, pt;

	assert_int_equal(vdevice_alloc(f->ctx, f->v.viommu, f->v.dev.idev, 0x99, &vdev), 0);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->v.dev.idev, f->v.viommu, 0, 0, &nested), 0);
	pt = nested;
	assert_int_equal(mock_domain_replace(f->ctx, f->v.dev.stdev, &pt), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(hw_queue_alloc(f->ctx, f->v.viommu, IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, iova,
					PSZ, &q), 0);
	/* teardown closes; the sanitizer build checks nothing leaks. */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_viommu_alloc_errors),
		T(test_viommu_mmap),
		T(test_viommu_mmap_outlives_close),
		T(test_vdevice),
		T(test_nested_on_viommu_errors),
		T(test_viommu_invalidate),
		T(test_hw_queue),
		T(test_hw_queue_huge_length_costs_nothing),
		T(test_hw_queue_length_errnos),
		T(test_hw_queue_prot),
		T(test_viommu_alloc_respond_fails),
		T(test_vdevice_alloc_respond_fails),
		T(test_hw_queue_alloc_respond_fails),
		T(test_close_with_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
