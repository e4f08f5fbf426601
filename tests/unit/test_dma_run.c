// SPDX-License-Identifier: MIT
/*
 * pt_walk_run(), the run walk behind the DMA IOTLB, against a flat model:
 * one record per 4 KiB page of a window that spans several leaf tables
 * (mapped or not, its output address, its permissions, whether it is
 * dirty).  Random maps and unmaps change table and model alike; after each,
 * random run walks are checked (blocks of raw entries included: the model
 * makes long linear stretches, and breaks in them anywhere): the leaf's translation, a run that is
 * linear and uniform in the model, that stops where the model says it
 * must (an unmapped page, a jump in the output, other permissions, the
 * leaf table's end, or just past @last), and dirty marks on exactly the
 * pages of a write's run.  Then device DMA through a mock domain with
 * 4 KiB IOPTEs, dirty tracking on, against a plain copy and a dirty
 * bitmap model.
 */
#include <stdlib.h>

#include "helpers.h"
#include "iommu/iommu.h"
#include "pt/pt.h"

#define TPG 4096ull
#define NPAGES 2048u			/* 8 MiB: four 2 MiB leaf tables */
#define BASE (0x40000000ull - 3 * TPG)	/* not table aligned: runs cross table ends */

struct model_page {
	bool mapped;
	bool dirty[2];		/* per leaf: two when leaves are 2 KiB */
	uint64_t oa;
	unsigned int prot;
};

static struct model_page model[NPAGES];
static unsigned int seed = 12345;
static uint64_t table_span;	/* IOVA one leaf table covers */
static unsigned int leaves;	/* leaves per model page: 1, or 2 for 2 KiB items */
static unsigned long long_runs, dirtied;	/* the model is exercised, not vacuous */

static unsigned int rnd(unsigned int n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

/* Map pages [first, first + n) that are all unmapped, in one pt_map(). */
static void model_map(struct pt_table *pt, unsigned int first, unsigned int n)
{
	unsigned int prot = rnd(3) ? PT_READ | PT_WRITE : PT_READ;
	/* Continue the page before's output half the time, so runs form. */
	uint64_t oa = (first && model[first - 1].mapped && rnd(2))
			      ? model[first - 1].oa + TPG
			      : (uint64_t)(1 + rnd(1u << 20)) * TPG;
	unsigned int i;

	assert_int_equal(pt_map(pt, BASE + first * TPG, oa, n * TPG, prot, PT_MAP_NO_LARGE), 0);
	for (i = 0; i != n; i++)
		model[first + i] = (struct model_page){ .mapped = true, .oa = oa + i * TPG,
							.prot = prot };
}

static void random_change(struct pt_table *pt)
{
	unsigned int first = rnd(NPAGES), n = 1 + rnd(64), i;

	if (first + n > NPAGES)
		n = NPAGES - first;
	if (rnd(3)) {
		/* Map the unmapped stretch starting at @first, up to n pages. */
		for (i = 0; i != n && !model[first + i].mapped; i++)
			;
		if (i)
			model_map(pt, first, i);
	} else {
		/* With NO_LARGE every leaf is one page: unmap pages one by one. */
		for (i = 0; i != n; i++) {
			if (!model[first + i].mapped)
				continue;
			assert_int_equal(pt_unmap(pt, BASE + (first + i) * TPG, TPG), TPG);
			model[first + i].mapped = false;
			model[first + i].dirty[0] = model[first + i].dirty[1] = false;
		}
	}
}

/* The model's dirty bits against the table's, page by page. */
static void check_dirty(struct pt_table *pt)
{
	unsigned int i;

	for (i = 0; i != NPAGES * leaves; i++) {
		struct pt_walk_result res;

		if (!model[i / leaves].mapped)
			continue;
		assert_int_equal(pt_walk(pt, BASE + i * (TPG / leaves), 0, &res), 0);
		assert_int_equal(res.dirty, model[i / leaves].dirty[i % leaves]);
	}
}

/* Output address of leaf @j of the window, by the model. */
static uint64_t leaf_oa(unsigned int j)
{
	return model[j / leaves].oa + (uint64_t)(j % leaves) * (TPG / leaves);
}

static void random_walk(struct pt_table *pt, bool dirty)
{
	const uint64_t gsz = TPG / leaves;
	unsigned int i = rnd(NPAGES), lastpg = i + rnd(NPAGES - i), i0, j, end;
	uint64_t iova = BASE + i * TPG + rnd(TPG), last = BASE + lastpg * TPG + rnd(TPG);
	unsigned int flags = dirty && rnd(2) ? PT_WALK_WRITE : 0;
	struct pt_walk_result res;
	uint64_t run_last;
	int rc;

	if (last < iova)
		last = iova;
	rc = pt_walk_run(pt, iova, last, flags, &res, &run_last);
	if (!model[i].mapped) {
		assert_int_equal(rc, -ENOENT);
		return;
	}
	assert_int_equal(rc, 0);
	i0 = (unsigned int)((iova - BASE) / gsz);
	assert_int_equal(res.oa, model[i].oa + (iova - BASE) % TPG);
	assert_int_equal(res.prot & (PT_READ | PT_WRITE), model[i].prot);
	/* Whole leaves, from @iova's leaf to at least its end. */
	assert_true(run_last >= (iova | (gsz - 1)));
	assert_int_equal((run_last + 1) % gsz, 0);
	end = (unsigned int)((run_last + 1 - BASE) / gsz);	/* first leaf after the run */
	long_runs += end > i0 + leaves;
	assert_true(end <= NPAGES * leaves);
	for (j = i0 + 1; j != end; j++) {
		assert_true(model[j / leaves].mapped);
		assert_int_equal(leaf_oa(j), leaf_oa(i0) + (uint64_t)(j - i0) * gsz);
		assert_int_equal(model[j / leaves].prot, model[i].prot);
		/* Never past the leaf holding @last, never across a leaf table. */
		assert_true(BASE + j * gsz <= last);
		assert_true((BASE + j * gsz) % table_span != 0);
	}
	/* Maximal: the leaf after the run breaks it, or a limit stops it. */
	if (end < NPAGES * leaves && BASE + end * gsz <= last && (BASE + end * gsz) % table_span)
		assert_true(!model[end / leaves].mapped ||
			    leaf_oa(end) != leaf_oa(i0) + (uint64_t)(end - i0) * gsz ||
			    model[end / leaves].prot != model[i].prot);
	if (flags & PT_WALK_WRITE && model[i].prot & PT_WRITE)
		for (j = i0; j != end; j++) {
			dirtied += !model[j / leaves].dirty[j % leaves];
			model[j / leaves].dirty[j % leaves] = true;
		}
}

static void run_model(enum pt_fmt fmt, const struct pt_cfg *cfg, uint64_t span,
		      unsigned int per_page)
{
	struct pt_table pt;
	unsigned int step, k;
	bool dirty;

	memset(model, 0, sizeof(model));
	long_runs = dirtied = 0;
	table_span = span;
	leaves = per_page;
	assert_int_equal(pt_init(&pt, fmt, cfg), 0);
	dirty = pt_has_dirty(&pt);
	for (step = 0; step != 3000; step++) {
		random_change(&pt);
		for (k = 0; k != 8; k++)
			random_walk(&pt, dirty);
		if (dirty && step % 100 == 0)
			check_dirty(&pt);
	}
	if (dirty)
		check_dirty(&pt);
	assert_true(long_runs > 1000);
	assert_true(!dirty || dirtied > 1000);
	pt_deinit(&pt);
}

static void test_run_model_amdv1(void **state)
{
	(void)state;
	run_model(PT_FMT_AMDV1, &(struct pt_cfg){ .top_level = 3 }, 512 * TPG, 1);
}

static void test_run_model_x86_64(void **state)
{
	(void)state;
	run_model(PT_FMT_X86_64, &(struct pt_cfg){ 0 }, 512 * TPG, 1);
}

/* The selftest's format: 2 KiB items, two per model page, 1 MiB per leaf table. */
static void test_run_model_mock(void **state)
{
	(void)state;
	run_model(PT_FMT_AMDV1_MOCK, &(struct pt_cfg){ 0 }, 512 * 2048, 2);
}

/* A contiguous run ends at the last leaf its walk may reach. */
static void test_run_limits(void **state)
{
	struct pt_walk_result res;
	struct pt_table pt;
	uint64_t run_last;

	(void)state;
	assert_int_equal(pt_init(&pt, PT_FMT_X86_64, &(struct pt_cfg){ 0 }), 0);
	/* 4 MiB at a table boundary, linear: two leaf tables of one run each. */
	assert_int_equal(pt_map(&pt, 0x200000, 0x10000000, 0x400000, PT_READ | PT_WRITE,
				PT_MAP_NO_LARGE), 0);
	assert_int_equal(pt_walk_run(&pt, 0x200000, ~0ull, 0, &res, &run_last), 0);
	assert_int_equal(run_last, 0x3fffff);	/* the leaf table's end */
	assert_int_equal(pt_walk_run(&pt, 0x201234, 0x203000, 0, &res, &run_last), 0);
	assert_int_equal(res.oa, 0x10001234);
	assert_int_equal(run_last, 0x203fff);	/* the leaf holding @last */
	assert_int_equal(pt_walk_run(&pt, 0x3ff000, ~0ull, 0, &res, &run_last), 0);
	assert_int_equal(run_last, 0x3fffff);
	assert_int_equal(pt_walk_run(&pt, 0x600000, ~0ull, 0, &res, &run_last), -ENOENT);
	pt_deinit(&pt);
}

/* ------------------------------------------------ device DMA through a run */

static void set_dirty(struct uiommufd_ctx *ctx, uint32_t hwpt, bool on)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .flags = on ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
	};

	assert_int_equal(ictl(ctx, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd), 0);
}

/* Random DMAs, dirty tracking on: contents as a plain copy, dirty pages as written. */
static void test_dma_dirty_model(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	const size_t npages = 256, len = npages * TPG;
	uint8_t *region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *ref = calloc(1, len), *buf = malloc(len);
	uint64_t bitmap[256 / 64], want[256 / 64] = { 0 };
	const uint64_t iova = MOCK_APERTURE_START;
	uint32_t ioas = ioas_alloc(ctx), hwpt, idev;
	struct iommu_hwpt_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_option opt = {
		.size = sizeof(opt), .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_SET, .object_id = ioas, .val64 = 0,
	};
	struct iommu_ioas_map map = {
		.size = sizeof(map), .ioas_id = ioas, .user_va = (uintptr_t)region, .length = len,
		.iova = iova,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
	};
	struct iommu_test_cmd replace = { .size = sizeof(replace),
					  .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	unsigned int step, stdev;
	size_t k;

	assert_ptr_not_equal(region, MAP_FAILED);
	assert_non_null(ref);
	assert_non_null(buf);
	memset(region, 0, len);
	assert_int_equal(ictl(ctx, IOMMU_OPTION, &opt), 0);
	{
		struct iommu_test_cmd md = { .size = sizeof(md), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
					     .id = ioas };

		assert_int_equal(ictl(ctx, IOMMU_TEST_CMD, &md), 0);
		idev = md.mock_domain.out_idev_id;
		stdev = md.mock_domain.out_stdev_id;
	}
	/* A domain that can track dirty state, in place of the automatic one. */
	alloc.dev_id = idev;
	alloc.pt_id = ioas;
	alloc.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	assert_int_equal(ictl(ctx, IOMMU_HWPT_ALLOC, &alloc), 0);
	hwpt = alloc.out_hwpt_id;
	replace.id = stdev;
	replace.mock_domain_replace.pt_id = hwpt;
	assert_int_equal(ictl(ctx, IOMMU_TEST_CMD, &replace), 0);
	assert_int_equal(ictl(ctx, IOMMU_IOAS_MAP, &map), 0);
	set_dirty(ctx, hwpt, true);

	for (step = 0; step != 400; step++) {
		size_t off = rnd((unsigned int)len), n = 1 + rnd(3 * TPG);
		bool write = rnd(2);

		if (off + n > len)
			n = len - off;
		if (write) {
			for (k = 0; k != n; k++)
				buf[k] = (uint8_t)rnd(256);
			assert_int_equal(uiommufd_device_dma(ctx, idev, iova + off, buf, n,
							     UIOMMUFD_DMA_WRITE), 0);
			memcpy(ref + off, buf, n);
			for (k = off / TPG; k <= (off + n - 1) / TPG; k++)
				want[k / 64] |= 1ull << (k % 64);
		} else {
			assert_int_equal(uiommufd_device_dma(ctx, idev, iova + off, buf, n, 0), 0);
			assert_memory_equal(buf, ref + off, n);
		}
		if (step % 50 == 49) {
			struct iommu_hwpt_get_dirty_bitmap get = {
				.size = sizeof(get), .hwpt_id = hwpt, .iova = iova, .length = len,
				.page_size = TPG, .data = (uintptr_t)bitmap,
			};

			memset(bitmap, 0, sizeof(bitmap));
			assert_int_equal(ictl(ctx, IOMMU_HWPT_GET_DIRTY_BITMAP, &get), 0);
			assert_memory_equal(bitmap, want, sizeof(want));
			memset(want, 0, sizeof(want));
		}
	}
	assert_memory_equal(region, ref, len);
	set_dirty(ctx, hwpt, false);
	free(ref);
	free(buf);
	munmap(region, len);
}

/*
 * The inline copy a DMA hit uses up to 64 bytes: every length and
 * alignment against memcpy, nothing written outside the range, and the
 * overlapping case right as memmove's.
 */
static void test_small_copy(void **state)
{
	uint8_t src[160], dst[160], want[160];

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 37 + 11);
	for (size_t len = 1; len <= 64; len++) {
		for (size_t so = 0; so < 8; so++) {
			for (size_t d_off = 0; d_off < 8; d_off++) {
				memset(dst, 0xee, sizeof(dst));
				memset(want, 0xee, sizeof(want));
				memcpy(want + 16 + d_off, src + so, len);
				iommu_dma_small_copy(dst + 16 + d_off, src + so, len);
				assert_memory_equal(dst, want, sizeof(dst));
			}
		}
		/* Overlap: the same buffer, the destination a few bytes on. */
		memcpy(dst, src, sizeof(src));
		memcpy(want, src, sizeof(src));
		memmove(want + 3, want, len);
		iommu_dma_small_copy(dst + 3, dst, len);
		assert_memory_equal(dst, want, sizeof(dst));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_model_amdv1),
		cmocka_unit_test(test_run_model_x86_64),
		cmocka_unit_test(test_run_model_mock),
		cmocka_unit_test(test_run_limits),
		cmocka_unit_test(test_small_copy),
		cmocka_unit_test_setup_teardown(test_dma_dirty_model, setup_ctx, teardown_ctx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
