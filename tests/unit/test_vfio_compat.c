// SPDX-License-Identifier: MIT
/* The VFIO type1 container calls (vfio_compat.c), as docs/uapi/vfio_type1.md states them. */
#include <stdlib.h>
#include <sys/mman.h>

#include "helpers.h"
#include "uapi/vfio.h"

#define NPAGES 16

struct fixture {
	struct uiommufd_ctx *ctx;
	uint32_t ioas;
	uint32_t hwpt;		/* the mock domain's HWPT */
	uint8_t *buf;
};

/* A context whose compat IOAS has one mock domain, as after a group attach. */
static int setup(void **state)
{
	struct iommu_vfio_ioas vio = { .size = sizeof(vio), .op = IOMMU_VFIO_IOAS_SET };
	struct fixture *f = calloc(1, sizeof(*f));
	struct mock_ids ids = { 0 };

	if (!f || fixture_open(&f->ctx, &f->ioas, &f->buf, NPAGES))
		return -1;

	assert_int_equal(mock_domain(f->ctx, f->ioas, &ids), 0);
	f->hwpt = ids.hwpt;
	vio.ioas_id = f->ioas;
	assert_int_equal(ictl(f->ctx, IOMMU_VFIO_IOAS, &vio), 0);
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

static long vctl(struct fixture *f, unsigned long nr, uint64_t arg)
{
	return uiommufd_ioctl(f->ctx, nr, arg);
}

static long type1_map(struct fixture *f, uint64_t iova, void *va, uint64_t len, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = flags, .vaddr = (uintptr_t)va, .iova = iova, .size = len,
	};

	return vctl(f, VFIO_IOMMU_MAP_DMA, (uintptr_t)&m);
}

static long type1_unmap(struct fixture *f, uint64_t iova, uint64_t len, uint32_t flags,
			uint64_t *gone)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = flags, .iova = iova, .size = len,
	};
	long rc = vctl(f, VFIO_IOMMU_UNMAP_DMA, (uintptr_t)&u);

	if (gone)
		*gone = u.size;
	return rc;
}

#define RWF (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define BASE ((uint64_t)MOCK_APERTURE_START)

static void test_no_compat_ioas_is_enodev(void **state)
{
	struct uiommufd_ctx *ctx;
	struct fixture f = { 0 };
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	uint8_t page[64] __attribute__((aligned(64))) = { 0 };

	(void)state;
	assert_int_equal(uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx), 0);
	f.ctx = ctx;
	assert_int_equal(vctl(&f, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
	assert_int_equal(vctl(&f, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(vctl(&f, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), -ENODEV);
	assert_int_equal(vctl(&f, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);
	/* The argument is judged before the missing IOAS. */
	assert_int_equal(vctl(&f, VFIO_SET_IOMMU, 42), -EINVAL);
	assert_int_equal(vctl(&f, VFIO_IOMMU_GET_INFO, (uintptr_t)&info), -ENODEV);
	assert_int_equal(type1_map(&f, BASE, page, PSZ, RWF), -ENODEV);
	assert_int_equal(type1_map(&f, BASE, page, PSZ, 1u << 31), -EINVAL);
	assert_int_equal(type1_unmap(&f, BASE, PSZ, 0, NULL), -ENODEV);
	assert_int_equal(vctl(&f, VFIO_IOMMU_GET_INFO, 0), -EFAULT);
	assert_int_equal(vctl(&f, _IO(VFIO_TYPE, VFIO_BASE + 99), 0), -ENOTTY);
	uiommufd_ctx_put(ctx);
}

static void test_extensions(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vctl(f, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1);
	assert_int_equal(vctl(f, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(vctl(f, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL), 1);
	/* The mock domain does not promise to block no-snoop DMA. */
	assert_int_equal(vctl(f, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 0);
	assert_int_equal(vctl(f, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 0);
	assert_int_equal(vctl(f, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 0);
	assert_int_equal(vctl(f, VFIO_CHECK_EXTENSION, 1000), 0);
}

static void test_map_unmap_v2(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_dma_map shortm = { .argsz = 8, .flags = RWF };
	uint64_t gone = 77;

	assert_int_equal(vctl(f, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(vctl(f, VFIO_IOMMU_MAP_DMA, (uintptr_t)&shortm), -EINVAL);
	assert_int_equal(type1_map(f, BASE, f->buf, 4 * PSZ, RWF), 0);
	assert_int_equal(type1_map(f, BASE + PSZ, f->buf, PSZ, RWF), -EEXIST);
	/* v2 never cuts a mapping. */
	assert_int_equal(type1_unmap(f, BASE + PSZ, PSZ, 0, &gone), -ENOENT);
	assert_int_equal(type1_unmap(f, BASE, 4 * PSZ, 0, &gone), 0);
	assert_int_equal(gone, 4 * PSZ);
	/* Nothing there any more: success, nothing unmapped. */
	assert_int_equal(type1_unmap(f, BASE, 4 * PSZ, 0, &gone), 0);
	assert_int_equal(gone, 0);
	assert_int_equal(type1_unmap(f, BASE, PSZ, 1u << 5, NULL), -EINVAL);
}

static void test_unmap_all(void **state)
{
	struct fixture *f = *state;
	uint64_t gone = 0;

	assert_int_equal(vctl(f, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(type1_map(f, BASE, f->buf, 2 * PSZ, RWF), 0);
	assert_int_equal(type1_map(f, BASE + 8 * PSZ, f->buf, PSZ, VFIO_DMA_MAP_FLAG_READ), 0);
	assert_int_equal(type1_unmap(f, BASE, PSZ, VFIO_DMA_UNMAP_FLAG_ALL, NULL), -EINVAL);
	assert_int_equal(type1_unmap(f, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &gone), 0);
	assert_int_equal(gone, 3 * PSZ);
}

static void test_v1_cuts_inside_mappings(void **state)
{
	struct fixture *f = *state;
	uint64_t gone = 0;

	assert_int_equal(vctl(f, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(type1_map(f, BASE, f->buf, 8 * PSZ, RWF), 0);
	assert_int_equal(type1_unmap(f, BASE + 2 * PSZ, 3 * PSZ, 0, &gone), 0);
	assert_int_equal(gone, 3 * PSZ);
	/* What is left on either side is still mapped, and only that. */
	assert_int_equal(check_map(f->ctx, f->hwpt, BASE, 2 * PSZ, f->buf), 0);
	assert_int_equal(check_map(f->ctx, f->hwpt, BASE + 5 * PSZ, 3 * PSZ, f->buf + 5 * PSZ), 0);
	assert_int_not_equal(check_map(f->ctx, f->hwpt, BASE + 2 * PSZ, PSZ, f->buf + 2 * PSZ), 0);
	assert_int_equal(type1_map(f, BASE + 2 * PSZ, f->buf, PSZ, RWF), 0);
	assert_int_equal(type1_unmap(f, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &gone), 0);
	assert_int_equal(gone, 6 * PSZ);
}

/* GET_INFO at every argsz: nothing past argsz is written, the chain is sound. */
static void test_get_info_every_argsz(void **state)
{
	struct fixture *f = *state;
	const size_t room = 4096;
	uint8_t *buf = malloc(room);
	struct vfio_iommu_type1_info *info = (void *)buf;
	uint32_t need, argsz;

	assert_non_null(buf);
	memset(buf, 0, room);
	info->argsz = offsetof(struct vfio_iommu_type1_info, iova_pgsizes);
	assert_int_equal(vctl(f, VFIO_IOMMU_GET_INFO, (uintptr_t)buf), -EINVAL);

	info->argsz = sizeof(*info);
	assert_int_equal(vctl(f, VFIO_IOMMU_GET_INFO, (uintptr_t)buf), 0);
	assert_int_equal(info->flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(info->cap_offset, 0);
	assert_true(info->iova_pgsizes & PSZ);
	assert_int_equal(info->iova_pgsizes & (PSZ - 1), 0);
	need = info->argsz;
	/* dma_avail (16 aligned) plus the range cap with one hole. */
	assert_int_equal(need, sizeof(*info) + 16 + sizeof(struct vfio_iommu_type1_info_cap_iova_range) +
				       sizeof(struct vfio_iova_range));

	for (argsz = offsetof(struct vfio_iommu_type1_info, cap_offset); argsz <= need + 8; argsz++) {
		memset(buf, 0xaa, room);
		memset(buf, 0, sizeof(*info));
		info->argsz = argsz;
		assert_int_equal(vctl(f, VFIO_IOMMU_GET_INFO, (uintptr_t)buf), 0);
		for (size_t i = argsz > sizeof(*info) ? argsz : sizeof(*info); i < room; i++)
			assert_int_equal(buf[i], 0xaa);
		if (argsz < need) {
			if (argsz >= offsetof(struct vfio_iommu_type1_info, cap_offset) + sizeof(uint32_t))
				assert_int_equal(info->cap_offset, 0);
			continue;
		}
		assert_int_equal(info->cap_offset, sizeof(*info));
		struct vfio_iommu_type1_info_dma_avail *avail = (void *)(buf + info->cap_offset);
		assert_int_equal(avail->header.id, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
		assert_int_equal(avail->header.version, 1);
		assert_int_equal(avail->avail, UINT32_MAX);
		struct vfio_iommu_type1_info_cap_iova_range *rng = (void *)(buf + avail->header.next);
		assert_int_equal(rng->header.id, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
		assert_int_equal(rng->header.next, 0);
		assert_int_equal(rng->nr_iovas, 1);
		assert_int_equal(rng->iova_ranges[0].start, MOCK_APERTURE_START);
		assert_int_equal(rng->iova_ranges[0].end, MOCK_APERTURE_LAST);
	}
	free(buf);
}

static void test_v1_page_sizes(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };

	assert_int_equal(vctl(f, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(vctl(f, VFIO_IOMMU_GET_INFO, (uintptr_t)&info), 0);
	assert_int_equal(info.iova_pgsizes, PSZ);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_compat_ioas_is_enodev),
		T(test_extensions),
		T(test_map_unmap_v2),
		T(test_unmap_all),
		T(test_v1_cuts_inside_mappings),
		T(test_get_info_every_argsz),
		T(test_v1_page_sizes),
	};

	return cmocka_run_group_tests_name("vfio_compat", tests, NULL, NULL);
}
