// SPDX-License-Identifier: MIT
/*
 * The VFIO type1 container calls and IOMMU_VFIO_IOAS (vfio_compat.c), one
 * test per rule group of docs/uapi-behaviour.md: errno order, what each
 * call changes, what it writes back (and does not write past argsz).
 */
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "helpers.h"
#include "uapi/vfio.h"

#define NPAGES 16
#define FILL 0xAA

struct fixture {
	struct uiommufd_ctx *ctx;
	uint32_t ioas;
	uint8_t *buf;		/* NPAGES pages of fresh memory */
};

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

static long vctl(struct uiommufd_ctx *ctx, unsigned long cmd, uint64_t arg)
{
	return uiommufd_ioctl(ctx, cmd, arg);
}

static long vfio_ioas(struct uiommufd_ctx *ctx, uint16_t op, uint32_t *id)
{
	struct iommu_vfio_ioas cmd = { .size = sizeof(cmd), .op = op, .ioas_id = *id };
	long rc = ictl(ctx, IOMMU_VFIO_IOAS, &cmd);

	*id = cmd.ioas_id;
	return rc;
}

static void set_compat(struct uiommufd_ctx *ctx, uint32_t ioas)
{
	assert_int_equal(vfio_ioas(ctx, IOMMU_VFIO_IOAS_SET, &ioas), 0);
}

static long map_dma(struct uiommufd_ctx *ctx, uint32_t flags, const void *va, uint64_t iova,
		    uint64_t size)
{
	struct vfio_iommu_type1_dma_map cmd = {
		.argsz = sizeof(cmd), .flags = flags, .vaddr = (uintptr_t)va,
		.iova = iova, .size = size,
	};

	return ictl(ctx, VFIO_IOMMU_MAP_DMA, &cmd);
}

#define MAP_RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* UNMAP_DMA; *@size in: bytes asked, out: what the call wrote back. */
static long unmap_dma(struct uiommufd_ctx *ctx, uint32_t flags, uint64_t iova, uint64_t *size)
{
	struct vfio_iommu_type1_dma_unmap cmd = {
		.argsz = sizeof(cmd), .flags = flags, .iova = iova, .size = *size,
	};
	long rc = ictl(ctx, VFIO_IOMMU_UNMAP_DMA, &cmd);

	*size = cmd.size;
	return rc;
}

static uint64_t huge_pages_option(struct uiommufd_ctx *ctx, uint32_t ioas)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_GET, .object_id = ioas, .val64 = 7,
	};

	assert_int_equal(ictl(ctx, IOMMU_OPTION, &cmd), 0);
	return cmd.val64;
}

static void add_reserved(struct uiommufd_ctx *ctx, uint32_t ioas, uint64_t start, uint64_t len)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ADD_RESERVED, .id = ioas,
		.add_reserved = { .start = start, .length = len },
	};

	assert_int_equal(ictl(ctx, IOMMU_TEST_CMD, &cmd), 0);
}

/* Every number that reaches the container, with no compat IOAS chosen. */
static void test_no_compat_ioas(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	struct vfio_iommu_type1_dirty_bitmap dirty = {
		.argsz = sizeof(dirty), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
	};
	uint64_t size = PSZ;

	assert_int_equal(vctl(f->ctx, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
	assert_int_equal(vctl(f->ctx, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1);
	assert_int_equal(vctl(f->ctx, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(vctl(f->ctx, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL), 1);
	/* The one extension that looks at the IOAS. */
	assert_int_equal(vctl(f->ctx, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), -ENODEV);

	/* The model is judged before the IOAS. */
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), -EINVAL);
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), -ENODEV);
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);

	assert_int_equal(ictl(f->ctx, VFIO_IOMMU_GET_INFO, &info), -ENODEV);
	info.argsz = 15;
	assert_int_equal(ictl(f->ctx, VFIO_IOMMU_GET_INFO, &info), -EINVAL);
	assert_int_equal(vctl(f->ctx, VFIO_IOMMU_GET_INFO, 8), -EFAULT);

	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, 0, PSZ), -ENODEV);
	assert_int_equal(map_dma(f->ctx, VFIO_DMA_MAP_FLAG_VADDR, f->buf, 0, PSZ), -EINVAL);
	assert_int_equal(unmap_dma(f->ctx, 0, 0, &size), -ENODEV);
	assert_int_equal(unmap_dma(f->ctx, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0, &size),
			 -EINVAL);
	unmap.argsz = sizeof(unmap) - 1;
	assert_int_equal(ictl(f->ctx, VFIO_IOMMU_UNMAP_DMA, &unmap), -EINVAL);
	assert_int_equal(vctl(f->ctx, VFIO_IOMMU_UNMAP_DMA, 8), -EFAULT);

	/* Not served, before the argument is read. */
	assert_int_equal(ictl(f->ctx, VFIO_IOMMU_DIRTY_PAGES, &dirty), -ENOTTY);
	assert_int_equal(vctl(f->ctx, VFIO_IOMMU_DIRTY_PAGES, 8), -ENOTTY);
	assert_int_equal(vctl(f->ctx, VFIO_IOMMU_ENABLE, 0), -ENOTTY);
	/* The whole number must match, not only its nr. */
	assert_int_equal(vctl(f->ctx, _IO('x', VFIO_BASE), 0), -ENOTTY);
	assert_int_equal(vctl(f->ctx, _IO(VFIO_TYPE, VFIO_BASE + 3), 0), -ENOTTY);
}

static void test_check_extension(void **state)
{
	struct fixture *f = *state;
	static const uint64_t never[] = {
		0, VFIO_SPAPR_TCE_IOMMU, VFIO_EEH, __VFIO_RESERVED_TYPE1_NESTING_IOMMU,
		VFIO_SPAPR_TCE_v2_IOMMU, VFIO_NOIOMMU_IOMMU, VFIO_UPDATE_VADDR, 11, 1000,
		(1ULL << 32) | VFIO_TYPE1_IOMMU,
	};
	size_t k;

	set_compat(f->ctx, f->ioas);
	for (k = 0; k < sizeof(never) / sizeof(never[0]); k++)
		assert_int_equal(vctl(f->ctx, VFIO_CHECK_EXTENSION, never[k]), 0);
	/* No HWPT at all: nothing lets no-snoop through. */
	assert_int_equal(vctl(f->ctx, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 1);
	/* The mock IOMMU cannot enforce coherency (as in the kernel). */
	assert_int_equal(mock_domain(f->ctx, f->ioas, NULL), 0);
	assert_int_equal(vctl(f->ctx, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 0);
	assert_int_equal(vctl(f->ctx, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
}

static void test_vfio_ioas_ops(void **state)
{
	struct fixture *f = *state;
	struct iommu_vfio_ioas cmd = { .size = sizeof(cmd), .op = IOMMU_VFIO_IOAS_GET };
	uint32_t other = ioas_alloc(f->ctx), id = 0;
	struct mock_ids dev = { 0 };

	assert_int_equal(vfio_ioas(f->ctx, IOMMU_VFIO_IOAS_GET, &id), -ENODEV);
	/* Clearing nothing is fine. */
	assert_int_equal(vfio_ioas(f->ctx, IOMMU_VFIO_IOAS_CLEAR, &id), 0);
	id = 999;
	assert_int_equal(vfio_ioas(f->ctx, IOMMU_VFIO_IOAS_SET, &id), -ENOENT);
	/* Only an IOAS can be chosen. */
	assert_int_equal(mock_domain(f->ctx, f->ioas, &dev), 0);
	id = dev.hwpt;
	assert_int_equal(vfio_ioas(f->ctx, IOMMU_VFIO_IOAS_SET, &id), -ENOENT);
	id = 0;
	assert_int_equal(vfio_ioas(f->ctx, IOMMU_VFIO_IOAS_GET, &id), -ENODEV);

	/* __reserved before op, for good and bad ops alike. */
	cmd.__reserved = 1;
	assert_int_equal(ictl(f->ctx, IOMMU_VFIO_IOAS, &cmd), -EOPNOTSUPP);
	cmd.op = 7;
	assert_int_equal(ictl(f->ctx, IOMMU_VFIO_IOAS, &cmd), -EOPNOTSUPP);
	cmd.__reserved = 0;
	assert_int_equal(ictl(f->ctx, IOMMU_VFIO_IOAS, &cmd), -EOPNOTSUPP);

	set_compat(f->ctx, f->ioas);
	id = 0;
	assert_int_equal(vfio_ioas(f->ctx, IOMMU_VFIO_IOAS_GET, &id), 0);
	assert_int_equal(id, f->ioas);
	/* SET replaces; CLEAR ignores ioas_id. */
	set_compat(f->ctx, other);
	assert_int_equal(vfio_ioas(f->ctx, IOMMU_VFIO_IOAS_GET, &id), 0);
	assert_int_equal(id, other);
	id = f->ioas;
	assert_int_equal(vfio_ioas(f->ctx, IOMMU_VFIO_IOAS_CLEAR, &id), 0);
	assert_int_equal(vfio_ioas(f->ctx, IOMMU_VFIO_IOAS_GET, &id), -ENODEV);
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);

	/* Weak: the chosen IOAS can be destroyed, and the choice goes with it. */
	set_compat(f->ctx, other);
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(destroy(f->ctx, other), 0);
	assert_int_equal(vfio_ioas(f->ctx, IOMMU_VFIO_IOAS_GET, &id), -ENODEV);
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, 0, PSZ), -ENODEV);
	/* A new IOAS taking the same ID is not the compat IOAS. */
	assert_int_equal(ioas_alloc(f->ctx), other);
	assert_int_equal(vfio_ioas(f->ctx, IOMMU_VFIO_IOAS_GET, &id), -ENODEV);
}

static void test_set_iommu(void **state)
{
	struct fixture *f = *state;
	uint32_t busy = ioas_alloc(f->ctx);
	uint64_t size;

	set_compat(f->ctx, f->ioas);
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, __VFIO_RESERVED_TYPE1_NESTING_IOMMU),
			 -EINVAL);
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, (1ULL << 32) | VFIO_TYPE1_IOMMU), -EINVAL);
	/* v2 changes nothing. */
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(huge_pages_option(f->ctx, f->ioas), 1);
	/* v1 turns large IOPTEs off; repeating or going to v2 keeps them off. */
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(huge_pages_option(f->ctx, f->ioas), 0);
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(huge_pages_option(f->ctx, f->ioas), 0);

	/* A domain and a mapping already: the IOPTEs may be large, EINVAL. */
	assert_int_equal(mock_domain(f->ctx, busy, NULL), 0);
	set_compat(f->ctx, busy);
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, MOCK_APERTURE_START, PSZ), 0);
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), -EINVAL);
	assert_int_equal(huge_pages_option(f->ctx, busy), 1);
	/* Emptied, the same call works. */
	size = 0;
	assert_int_equal(unmap_dma(f->ctx, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size), 0);
	assert_int_equal(size, PSZ);
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(huge_pages_option(f->ctx, busy), 0);
	/* SET/CLEAR of the compat IOAS leave the IOAS's setting alone. */
	assert_int_equal(vfio_ioas(f->ctx, IOMMU_VFIO_IOAS_CLEAR, &busy), 0);
	assert_int_equal(huge_pages_option(f->ctx, busy), 0);
}

/* ---- GET_INFO */

/* Offsets of the chain for an IOAS with @nr usable ranges. */
#define INFO_LEN 24u
#define DMA_AT INFO_LEN
#define IOVA_AT (DMA_AT + 16u)
#define CHAIN_LEN(nr) (IOVA_AT + 16u + 16u * (nr))

static uint8_t info_buf[4096];

/* GET_INFO with @argsz into info_buf, filled with FILL first. */
static long get_info(struct uiommufd_ctx *ctx, uint32_t argsz)
{
	memset(info_buf, FILL, sizeof(info_buf));
	memcpy(info_buf, &argsz, sizeof(argsz));
	return ictl(ctx, VFIO_IOMMU_GET_INFO, info_buf);
}

static bool filled_from(size_t from)
{
	size_t i;

	for (i = from; i < sizeof(info_buf); i++)
		if (info_buf[i] != FILL)
			return false;
	return true;
}

static struct vfio_iommu_type1_info *info_at0(void)
{
	return (struct vfio_iommu_type1_info *)info_buf;
}

static void test_get_info_full_chain(void **state)
{
	struct fixture *f = *state;
	const struct vfio_iommu_type1_info_dma_avail *dma = (void *)(info_buf + DMA_AT);
	const struct vfio_iommu_type1_info_cap_iova_range *iova = (void *)(info_buf + IOVA_AT);
	struct vfio_iommu_type1_info *info = info_at0();

	assert_int_equal(mock_domain(f->ctx, f->ioas, NULL), 0);
	set_compat(f->ctx, f->ioas);
	assert_int_equal(get_info(f->ctx, CHAIN_LEN(1)), 0);
	assert_int_equal(info->argsz, CHAIN_LEN(1));
	assert_int_equal(info->flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(info->cap_offset, INFO_LEN);
	assert_int_equal(info->pad, 0);
	/* No size under the CPU page; the CPU page itself is offered. */
	assert_int_equal(info->iova_pgsizes & (PSZ - 1), 0);
	assert_true(info->iova_pgsizes & PSZ);

	assert_int_equal(dma->header.id, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	assert_int_equal(dma->header.version, 1);
	assert_int_equal(dma->header.next, IOVA_AT);
	assert_int_equal(dma->avail, UINT32_MAX);
	/* The 4 padding bytes after the 12-byte cap are not ours to write. */
	assert_int_equal(info_buf[DMA_AT + 12], FILL);

	assert_int_equal(iova->header.id, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	assert_int_equal(iova->header.version, 1);
	assert_int_equal(iova->header.next, 0);
	assert_int_equal(iova->nr_iovas, 1);
	assert_int_equal(iova->reserved, 0);
	assert_int_equal(iova->iova_ranges[0].start, MOCK_APERTURE_START);
	assert_int_equal(iova->iova_ranges[0].end, MOCK_APERTURE_LAST);
	assert_true(filled_from(CHAIN_LEN(1)));

	/* More room than needed: the same answer, argsz lowered to the need. */
	assert_int_equal(get_info(f->ctx, 1000), 0);
	assert_int_equal(info->argsz, CHAIN_LEN(1));
	assert_int_equal(info->cap_offset, INFO_LEN);
	assert_true(filled_from(CHAIN_LEN(1)));
}

static void test_get_info_short_argsz(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_info *info = info_at0();
	const struct vfio_iommu_type1_info_dma_avail *dma = (void *)(info_buf + DMA_AT);
	const struct vfio_iommu_type1_info_cap_iova_range *iova = (void *)(info_buf + IOVA_AT);
	uint32_t argsz;
	uint64_t pgsizes;

	set_compat(f->ctx, f->ioas);
	/* Two usable ranges: reserve a hole in the middle of the space. */
	add_reserved(f->ctx, f->ioas, 1ULL << 32, 1ULL << 20);
	assert_int_equal(get_info(f->ctx, CHAIN_LEN(2)), 0);
	assert_int_equal(info->cap_offset, INFO_LEN);
	assert_int_equal(iova->nr_iovas, 2);
	assert_int_equal(iova->iova_ranges[0].start, 0);
	assert_int_equal(iova->iova_ranges[0].end, (1ULL << 32) - 1);
	assert_int_equal(iova->iova_ranges[1].start, (1ULL << 32) + (1ULL << 20));
	assert_int_equal(iova->iova_ranges[1].end, UINT64_MAX);
	pgsizes = info->iova_pgsizes;
	/* No domain: every size from the CPU page up. */
	assert_int_equal(pgsizes, ~(PSZ - 1));

	/* The pre-capability layout: 16 bytes back, nothing else. */
	assert_int_equal(get_info(f->ctx, 16), 0);
	assert_int_equal(info->argsz, CHAIN_LEN(2));
	assert_int_equal(info->flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(info->iova_pgsizes, pgsizes);
	assert_true(filled_from(16));

	/* Every short size: the struct with no chain, nothing past argsz. */
	for (argsz = INFO_LEN; argsz < CHAIN_LEN(2); argsz++) {
		assert_int_equal(get_info(f->ctx, argsz), 0);
		assert_int_equal(info->argsz, CHAIN_LEN(2));
		assert_int_equal(info->cap_offset, 0);
		assert_int_equal(info->pad, 0);
		assert_true(filled_from(argsz));
	}

	/* A cap is written only whole. */
	assert_int_equal(get_info(f->ctx, DMA_AT + 11), 0);
	assert_int_equal(info_buf[DMA_AT], FILL);
	assert_int_equal(get_info(f->ctx, DMA_AT + 12), 0);
	assert_int_equal(dma->header.id, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	/* Linked only once the next cap starts within argsz. */
	assert_int_equal(dma->header.next, 0);
	assert_int_equal(get_info(f->ctx, IOVA_AT - 1), 0);
	assert_int_equal(dma->header.next, 0);
	assert_int_equal(get_info(f->ctx, IOVA_AT), 0);
	assert_int_equal(dma->header.next, IOVA_AT);
	assert_true(filled_from(IOVA_AT));

	/* A range is written as soon as it fits, before its header does. */
	assert_int_equal(get_info(f->ctx, IOVA_AT + 32 - 1), 0);
	assert_true(filled_from(IOVA_AT));
	assert_int_equal(get_info(f->ctx, IOVA_AT + 32), 0);
	assert_int_equal(info_buf[IOVA_AT], FILL);
	assert_int_equal(iova->iova_ranges[0].start, 0);
	assert_int_equal(iova->iova_ranges[0].end, (1ULL << 32) - 1);
	assert_true(filled_from(IOVA_AT + 32));
	assert_int_equal(get_info(f->ctx, CHAIN_LEN(2) - 1), 0);
	assert_int_equal(info_buf[IOVA_AT], FILL);
	assert_int_equal(iova->iova_ranges[0].end, (1ULL << 32) - 1);
	assert_true(filled_from(IOVA_AT + 32));
}

static void test_get_info_pgsizes_and_faults(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_info *info = info_at0();
	uint64_t before;
	uint8_t *pg;

	assert_int_equal(mock_domain(f->ctx, f->ioas, NULL), 0);
	set_compat(f->ctx, f->ioas);
	assert_int_equal(get_info(f->ctx, INFO_LEN), 0);
	before = info->iova_pgsizes;
	/* Type1 v1 keeps the domains' sizes in the report. */
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(get_info(f->ctx, INFO_LEN), 0);
	assert_int_equal(info->iova_pgsizes, before);

	/* A chain that runs into an unwritable page: EFAULT. */
	pg = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(pg, MAP_FAILED);
	assert_int_equal(mprotect(pg + PSZ, PSZ, PROT_NONE), 0);
	info = (void *)(pg + PSZ - 32);
	memset(info, 0, 32);
	info->argsz = CHAIN_LEN(1);
	assert_int_equal(ictl(f->ctx, VFIO_IOMMU_GET_INFO, info), -EFAULT);
	/* A head that cannot be read at all. */
	assert_int_equal(ictl(f->ctx, VFIO_IOMMU_GET_INFO, pg + PSZ - 8), -EFAULT);
	munmap(pg, 2 * PSZ);
}

/* ---- MAP_DMA */

static void test_map_dma(void **state)
{
	struct fixture *f = *state;
	const uint64_t base = MOCK_APERTURE_START;
	struct vfio_iommu_type1_dma_map cmd = {
		.argsz = sizeof(cmd) - 1, .flags = MAP_RW, .vaddr = (uintptr_t)f->buf,
		.iova = base, .size = PSZ,
	};
	struct mock_ids dev = { 0 };
	uint8_t *ro;
	uint64_t size;

	assert_int_equal(mock_domain(f->ctx, f->ioas, &dev), 0);
	set_compat(f->ctx, f->ioas);
	assert_int_equal(ictl(f->ctx, VFIO_IOMMU_MAP_DMA, &cmd), -EINVAL);
	cmd.argsz = 64;	/* more is fine: only the head is read */
	cmd.flags = MAP_RW | (1u << 3);
	assert_int_equal(ictl(f->ctx, VFIO_IOMMU_MAP_DMA, &cmd), -EINVAL);
	cmd.flags = MAP_RW | VFIO_DMA_MAP_FLAG_VADDR;
	assert_int_equal(ictl(f->ctx, VFIO_IOMMU_MAP_DMA, &cmd), -EINVAL);
	cmd.flags = MAP_RW;
	assert_int_equal(ictl(f->ctx, VFIO_IOMMU_MAP_DMA, &cmd), 0);
	assert_int_equal(check_map(f->ctx, dev.hwpt, base, PSZ, f->buf), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, PSZ, 1), 0);

	/* The IOAS_MAP rules, fixed IOVA. */
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, base, PSZ), -EEXIST);
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, base + PSZ, 0), -EINVAL);
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, base + PSZ, PSZ + 1), -EINVAL);
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, 0, PSZ), -EINVAL);	/* reserved */
	assert_int_equal(map_dma(f->ctx, MAP_RW, (void *)(uintptr_t)(UINT64_MAX & ~(PSZ - 1)),
				 base + PSZ, 2 * PSZ), -EOVERFLOW);
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, UINT64_MAX & ~(PSZ - 1), 2 * PSZ),
			 -EOVERFLOW);
	assert_int_equal(check_refs(f->ctx, f->buf + PSZ, PSZ, 0), 0);

	/* READ and WRITE decide what the pin needs of the memory. */
	ro = mmap(NULL, 2 * PSZ, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(ro, MAP_FAILED);
	assert_int_equal(map_dma(f->ctx, VFIO_DMA_MAP_FLAG_WRITE, ro, base + PSZ, PSZ), -EFAULT);
	assert_int_equal(map_dma(f->ctx, VFIO_DMA_MAP_FLAG_READ, ro, base + PSZ, PSZ), 0);
	assert_int_equal(check_map(f->ctx, dev.hwpt, base + PSZ, PSZ, ro), 0);
	/* Neither flag: the mock's page table format takes no such IOPTE. */
	assert_int_equal(map_dma(f->ctx, 0, ro + PSZ, base + 2 * PSZ, PSZ), -EINVAL);
	assert_int_equal(check_refs(f->ctx, ro + PSZ, PSZ, 0), 0);

	size = 0;
	assert_int_equal(unmap_dma(f->ctx, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size), 0);
	assert_int_equal(size, 2 * PSZ);
	assert_int_equal(check_refs(f->ctx, f->buf, PSZ, 0), 0);
	munmap(ro, 2 * PSZ);
}

/* ---- UNMAP_DMA */

static void test_unmap_flags_and_all(void **state)
{
	struct fixture *f = *state;
	uint64_t size;

	set_compat(f->ctx, f->ioas);
	size = 0;
	/* Empty IOAS: "all" is nothing, successfully. */
	assert_int_equal(unmap_dma(f->ctx, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size), 0);
	assert_int_equal(size, 0);
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, 0, 2 * PSZ), 0);
	/* Neither flag is a valid map while no domain has to hold it. */
	assert_int_equal(map_dma(f->ctx, 0, f->buf + 4 * PSZ, 4 * PSZ, PSZ), 0);

	size = PSZ;
	assert_int_equal(unmap_dma(f->ctx, VFIO_DMA_UNMAP_FLAG_VADDR, 0, &size), -EINVAL);
	assert_int_equal(unmap_dma(f->ctx, VFIO_DMA_UNMAP_FLAG_ALL |
					   VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0, &size),
			 -EINVAL);
	/* ALL takes no range, and nothing is written back. */
	assert_int_equal(unmap_dma(f->ctx, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size), -EINVAL);
	assert_int_equal(size, PSZ);
	size = 0;
	assert_int_equal(unmap_dma(f->ctx, VFIO_DMA_UNMAP_FLAG_ALL, PSZ, &size), -EINVAL);
	assert_int_equal(unmap_dma(f->ctx, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size), 0);
	assert_int_equal(size, 3 * PSZ);
	assert_int_equal(check_refs(f->ctx, f->buf, 5 * PSZ, 0), 0);
}

/* Under v2 (or v1 with a domain present) partial unmap rules. */
static void test_unmap_v2_whole_areas(void **state)
{
	struct fixture *f = *state;
	const uint64_t base = MOCK_APERTURE_START;
	struct mock_ids dev = { 0 };
	uint64_t size;

	assert_int_equal(mock_domain(f->ctx, f->ioas, &dev), 0);
	set_compat(f->ctx, f->ioas);
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, base, 8 * PSZ), 0);

	/* A piece of a mapping cannot go. */
	size = 2 * PSZ;
	assert_int_equal(unmap_dma(f->ctx, 0, base + 2 * PSZ, &size), -ENOENT);
	assert_int_equal(size, 0);
	assert_int_equal(check_map(f->ctx, dev.hwpt, base, 8 * PSZ, f->buf), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, 8 * PSZ, 1), 0);
	/* Nothing there: success, 0 bytes. */
	size = PSZ;
	assert_int_equal(unmap_dma(f->ctx, 0, base + 64 * PSZ, &size), 0);
	assert_int_equal(size, 0);

	/* Areas go in order; the first that sticks out stops the call. */
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf + 8 * PSZ, base + 8 * PSZ, 2 * PSZ), 0);
	size = 9 * PSZ;
	assert_int_equal(unmap_dma(f->ctx, 0, base, &size), -ENOENT);
	assert_int_equal(size, 8 * PSZ);
	assert_int_equal(check_refs(f->ctx, f->buf, 8 * PSZ, 0), 0);
	assert_int_equal(check_refs(f->ctx, f->buf + 8 * PSZ, 2 * PSZ, 1), 0);

	/* Failures are reported too: a range that wraps writes back size 0. */
	size = 2 * PSZ;
	assert_int_equal(unmap_dma(f->ctx, 0, UINT64_MAX & ~(PSZ - 1), &size), -EOVERFLOW);
	assert_int_equal(size, 0);
	size = 0;
	assert_int_equal(unmap_dma(f->ctx, 0, base, &size), -EINVAL);
	size = 2 * PSZ;
	assert_int_equal(unmap_dma(f->ctx, 0, base + 8 * PSZ, &size), 0);
	assert_int_equal(size, 2 * PSZ);
}

static void test_unmap_v1_cuts(void **state)
{
	struct fixture *f = *state;
	const uint64_t base = MOCK_APERTURE_START;
	struct mock_ids dev = { 0 };
	uint64_t size;

	assert_int_equal(mock_domain(f->ctx, f->ioas, &dev), 0);
	set_compat(f->ctx, f->ioas);
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, base, 8 * PSZ), 0);

	/* A piece from the middle: the rest stays mapped and pinned. */
	size = 2 * PSZ;
	assert_int_equal(unmap_dma(f->ctx, 0, base + 2 * PSZ, &size), 0);
	assert_int_equal(size, 2 * PSZ);
	assert_int_equal(check_refs(f->ctx, f->buf + 2 * PSZ, 2 * PSZ, 0), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, 2 * PSZ, 1), 0);
	assert_int_equal(check_refs(f->ctx, f->buf + 4 * PSZ, 4 * PSZ, 1), 0);
	assert_int_equal(check_map(f->ctx, dev.hwpt, base, 2 * PSZ, f->buf), 0);
	assert_int_equal(check_map(f->ctx, dev.hwpt, base + 4 * PSZ, 4 * PSZ, f->buf + 4 * PSZ),
			 0);
	/* A range over a hole and pieces of both sides. */
	size = 4 * PSZ;
	assert_int_equal(unmap_dma(f->ctx, 0, base + PSZ, &size), 0);
	assert_int_equal(size, 2 * PSZ);
	assert_int_equal(check_refs(f->ctx, f->buf, PSZ, 1), 0);
	assert_int_equal(check_refs(f->ctx, f->buf + PSZ, 4 * PSZ, 0), 0);
	assert_int_equal(check_refs(f->ctx, f->buf + 5 * PSZ, 3 * PSZ, 1), 0);

	/* A cut off the page grid fails before anything goes; no write-back. */
	size = PSZ;
	assert_int_equal(unmap_dma(f->ctx, 0, base + 5 * PSZ + PSZ / 2, &size), -EINVAL);
	assert_int_equal(size, PSZ);
	assert_int_equal(check_refs(f->ctx, f->buf + 5 * PSZ, 3 * PSZ, 1), 0);

	size = 0;
	assert_int_equal(unmap_dma(f->ctx, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size), 0);
	assert_int_equal(size, 4 * PSZ);
	assert_int_equal(check_refs(f->ctx, f->buf, 8 * PSZ, 0), 0);
}

/* v1 at IOVA 0 (no domain, so IOVA 0 is usable): nothing below to cut. */
static void test_unmap_v1_at_zero(void **state)
{
	struct fixture *f = *state;
	uint64_t size;

	set_compat(f->ctx, f->ioas);
	assert_int_equal(vctl(f->ctx, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, 0, 4 * PSZ), 0);
	size = PSZ;
	assert_int_equal(unmap_dma(f->ctx, 0, 0, &size), 0);
	assert_int_equal(size, PSZ);
	/* The tail is one area of three pages, still there. */
	size = PSZ;
	assert_int_equal(unmap_dma(f->ctx, 0, 0, &size), 0);
	assert_int_equal(size, 0);
	size = 3 * PSZ;
	assert_int_equal(unmap_dma(f->ctx, 0, PSZ, &size), 0);
	assert_int_equal(size, 3 * PSZ);
}

/* The head is written back; if it cannot be, EFAULT after the unmap. */
static void test_unmap_writeback_fault(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_dma_unmap *cmd;
	uint8_t *pg;

	set_compat(f->ctx, f->ioas);
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, 0, PSZ), 0);
	pg = mmap(NULL, PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(pg, MAP_FAILED);
	cmd = (void *)pg;
	cmd->argsz = sizeof(*cmd);
	cmd->flags = 0;
	cmd->iova = 0;
	cmd->size = PSZ;
	assert_int_equal(mprotect(pg, PSZ, PROT_READ), 0);
	assert_int_equal(ictl(f->ctx, VFIO_IOMMU_UNMAP_DMA, cmd), -EFAULT);
	assert_int_equal(check_refs(f->ctx, f->buf, PSZ, 0), 0);
	munmap(pg, PSZ);
	/* It is gone: mapping the same IOVA again works. */
	assert_int_equal(map_dma(f->ctx, MAP_RW, f->buf, 0, PSZ), 0);
}

/* The container calls on a context opened as /dev/vfio/vfio. */
static void test_vfio_container_ctx(void **state)
{
	struct uiommufd_ctx *ctx;
	uint32_t ioas;
	uint8_t *buf = map_pages(2);
	uint64_t size = 0;

	(void)state;
	assert_int_equal(uiommufd_ctx_open(uiommufd_host_inproc(), UIOMMUFD_OPEN_VFIO_CONTAINER,
					   &ctx), 0);
	assert_int_equal(vctl(ctx, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
	assert_int_equal(vctl(ctx, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);
	ioas = ioas_alloc(ctx);
	set_compat(ctx, ioas);
	assert_int_equal(vctl(ctx, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(map_dma(ctx, MAP_RW, buf, 0, 2 * PSZ), 0);
	assert_int_equal(unmap_dma(ctx, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size), 0);
	assert_int_equal(size, 2 * PSZ);
	uiommufd_ctx_put(ctx);
	munmap(buf, 2 * PSZ);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_no_compat_ioas),
		T(test_check_extension),
		T(test_vfio_ioas_ops),
		T(test_set_iommu),
		T(test_get_info_full_chain),
		T(test_get_info_short_argsz),
		T(test_get_info_pgsizes_and_faults),
		T(test_map_dma),
		T(test_unmap_flags_and_all),
		T(test_unmap_v2_whole_areas),
		T(test_unmap_v1_cuts),
		T(test_unmap_v1_at_zero),
		T(test_unmap_writeback_fault),
		T(test_vfio_container_ctx),
	};

	return cmocka_run_group_tests_name("vfio_compat", tests, NULL, NULL);
}
