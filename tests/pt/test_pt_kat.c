// SPDX-License-Identifier: MIT
/*
 * Known-answer tests: entry encodings computed by hand from the
 * specifications, compared bit for bit with what the tables hold.
 *
 *   AMD IOMMU spec 2.2.3: PR 0, D 6, NextLevel 11:9, address 51:12, FC 60,
 *     IR 61, IW 62; NextLevel 7 + trailing ones in the address = page size.
 *   x86-64 (SDM 4.5): P 0, R/W 1, U/S 2, A 5, D 6, PS 7, address 51:12.
 *   VT-d 9.8: R 0, W 1, PS 7, A 8, D 9, SNP 11, address 51:12.
 *   Arm ARM D8.3: valid 0, table/page 1, AttrIndx 4:2 / MemAttr 5:2,
 *     AP[1] 6 / S2AP[0] 6, AP[2] 7 / S2AP[1] 7, SH 9:8, AF 10, nG 11,
 *     DBM 51, PXN 53, UXN/XN 54; 64 KiB granule: OA[51:48] in 15:12.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "pt/pt_test.h"

struct kat {
	const char *what;
	enum pt_fmt fmt;
	struct pt_cfg cfg;
	uint64_t iova, oa, len;
	unsigned int prot;
	uint64_t entry;		/* every item of the leaf holds this */
	unsigned int items;	/* items the leaf spans */
	unsigned int pgsize_lg2;
};

#define RW (PT_READ | PT_WRITE)
#define DBM (struct pt_cfg){ .features = PT_FEAT_ARM_DBM }

static const struct kat kats[] = {
	{ "amdv1 4K RW", PT_FMT_AMDV1, {}, 0x1000, 0x12345000, 0x1000, RW,
	  0x6000000012345001, 1, 12 },
	{ "amdv1 8K R (NL 7, 2 items)", PT_FMT_AMDV1, {}, 0x10000, 0x40000000, 0x2000, PT_READ,
	  0x2000000040000e01, 2, 13 },
	{ "amdv1 16K RW (one trailing 1)", PT_FMT_AMDV1, {}, 0x20000, 0x40004000, 0x4000, RW,
	  0x6000000040005e01, 4, 14 },
	{ "amdv1 1M W (256 items)", PT_FMT_AMDV1, {}, 0x100000, 0x100000, 0x100000, PT_WRITE,
	  0x400000000017fe01, 256, 20 },
	{ "amdv1 2M RW (level 1, NL 0)", PT_FMT_AMDV1, {}, 0x200000, 0x80000000, 0x200000, RW,
	  0x6000000080000001, 1, 21 },
	{ "amdv1 4K FC", PT_FMT_AMDV1, { .features = PT_FEAT_FORCE_COHERENCE }, 0x1000, 0x5000,
	  0x1000, PT_READ, 0x3000000000005001, 1, 12 },
	{ "mock 2K RW (oa >> 11 at bit 12)", PT_FMT_AMDV1_MOCK, {}, 0x800, 0x1800, 0x800, RW,
	  0x6000000000003001, 1, 11 },
	{ "mock_huge 4K RW (2 items)", PT_FMT_AMDV1_MOCK_HUGE, {}, 0x1000, 0x2000, 0x1000, RW,
	  0x6000000000004e01, 2, 12 },
	{ "mock_huge 1M RW (level 1)", PT_FMT_AMDV1_MOCK_HUGE, {}, 0x100000, 0x100000, 0x100000,
	  RW, 0x6000000000200001, 1, 20 },
	{ "x86_64 4K RW", PT_FMT_X86_64, {}, 0x1000, 0x12345000, 0x1000, RW, 0x12345067, 1, 12 },
	{ "x86_64 4K R", PT_FMT_X86_64, {}, 0x1000, 0x12345000, 0x1000, PT_READ, 0x12345025, 1,
	  12 },
	{ "x86_64 2M RW (PS)", PT_FMT_X86_64, {}, 0x200000, 0x40000000, 0x200000, RW,
	  0x400000e7, 1, 21 },
	{ "x86_64 1G R (PS)", PT_FMT_X86_64, {}, 0x40000000, 0x80000000, 0x40000000, PT_READ,
	  0x800000a5, 1, 30 },
	{ "vtdss 4K RW", PT_FMT_VTDSS, {}, 0x1000, 0x12345000, 0x1000, RW, 0x12345003, 1, 12 },
	{ "vtdss 4K W", PT_FMT_VTDSS, {}, 0x1000, 0x12345000, 0x1000, PT_WRITE, 0x12345002, 1,
	  12 },
	{ "vtdss 2M R (PS)", PT_FMT_VTDSS, {}, 0x200000, 0x40000000, 0x200000, PT_READ,
	  0x40000081, 1, 21 },
	{ "vtdss 1G RW SNP", PT_FMT_VTDSS, { .features = PT_FEAT_FORCE_COHERENCE }, 0x40000000,
	  0x80000000, 0x40000000, RW, 0x80000883, 1, 30 },
	{ "armv8 s1 4K RW cache DBM", PT_FMT_ARMV8_S1_4K, DBM, 0x1000, 0x12345000, 0x1000,
	  RW | PT_CACHE, 0x0008000012345f47, 1, 12 },
	{ "armv8 s1 4K R", PT_FMT_ARMV8_S1_4K, DBM, 0x1000, 0x12345000, 0x1000, PT_READ,
	  0x0000000012345ec3, 1, 12 },
	{ "armv8 s1 4K RW mmio", PT_FMT_ARMV8_S1_4K, DBM, 0x1000, 0x12345000, 0x1000,
	  RW | PT_MMIO, 0x0008000012345e4b, 1, 12 },
	{ "armv8 s1 4K R noexec", PT_FMT_ARMV8_S1_4K, DBM, 0x1000, 0x12345000, 0x1000,
	  PT_READ | PT_NOEXEC, 0x0060000012345ec3, 1, 12 },
	{ "armv8 s1 4K RW priv", PT_FMT_ARMV8_S1_4K, {}, 0x1000, 0x12345000, 0x1000,
	  RW | PT_PRIV, 0x0000000012345e03, 1, 12 },
	{ "armv8 s1 2M block RW", PT_FMT_ARMV8_S1_4K, DBM, 0x200000, 0x40000000, 0x200000, RW,
	  0x0008000040000e41, 1, 21 },
	{ "armv8 s1 1G block R", PT_FMT_ARMV8_S1_4K, {}, 0x40000000, 0x80000000, 0x40000000,
	  PT_READ, 0x0000000080000ec1, 1, 30 },
	{ "armv8 s1 16K RW", PT_FMT_ARMV8_S1_16K, {}, 0x4000, 0x12344000, 0x4000, RW,
	  0x0000000012344e43, 1, 14 },
	{ "armv8 s1 16K 32M block", PT_FMT_ARMV8_S1_16K, {}, 0x2000000, 0x42000000, 0x2000000,
	  RW, 0x0000000042000e41, 1, 25 },
	{ "armv8 s1 64K RW, OA[51:48] in 15:12", PT_FMT_ARMV8_S1_64K, { .oasz_lg2 = 52 },
	  0x10000, 0x000f000012340000, 0x10000, RW, 0x000000001234fe43, 1, 16 },
	{ "armv8 s1 64K 512M block", PT_FMT_ARMV8_S1_64K, {}, 0x20000000, 0x20000000,
	  0x20000000, RW, 0x0000000020000e41, 1, 29 },
	{ "armv8 s2 4K RW cache DBM", PT_FMT_ARMV8_S2_4K, DBM, 0x1000, 0x12345000, 0x1000,
	  RW | PT_CACHE, 0x00080000123457ff, 1, 12 },
	{ "armv8 s2 4K R", PT_FMT_ARMV8_S2_4K, DBM, 0x1000, 0x12345000, 0x1000, PT_READ,
	  0x0000000012345657, 1, 12 },
	{ "armv8 s2 4K W mmio", PT_FMT_ARMV8_S2_4K, DBM, 0x1000, 0x12345000, 0x1000,
	  PT_WRITE | PT_MMIO, 0x0008000012345687, 1, 12 },
	{ "armv8 s2 4K R noexec", PT_FMT_ARMV8_S2_4K, DBM, 0x1000, 0x12345000, 0x1000,
	  PT_READ | PT_NOEXEC, 0x0040000012345657, 1, 12 },
	{ "armv8 s2 2M block RW", PT_FMT_ARMV8_S2_4K, {}, 0x200000, 0x40000000, 0x200000, RW,
	  0x00000000400006d5, 1, 21 },
};

static void test_leaf_encodings(void **state)
{
	unsigned int i, j;

	for (i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		const struct kat *k = &kats[i];
		struct pt_walk_result res;
		struct pt_table pt;

		print_message("  %s\n", k->what);
		assert_int_equal(pt_init(&pt, k->fmt, &k->cfg), 0);
		assert_int_equal(pt_map(&pt, k->iova, k->oa, k->len, k->prot, 0), 0);
		assert_int_equal(pt_walk(&pt, k->iova + k->len - 1, 0, &res), 0);
		assert_int_equal(res.pgsize_lg2, k->pgsize_lg2);
		assert_int_equal(res.oa, k->oa + k->len - 1);
		/* every item of a contiguous leaf holds the same entry */
		assert_int_equal(pt_walk(&pt, k->iova, 0, &res), 0);
		assert_int_equal(res.entry, k->entry);
		for (j = 0; j < k->items; j++) {
			assert_int_equal(pt_walk(&pt, k->iova + j * (k->len / k->items), 0, &res),
					 0);
			assert_int_equal(res.entry, k->entry);
		}
		pt_deinit(&pt);
	}
}

/* Table descriptors, read straight out of the top table */
static void test_table_encodings(void **state)
{
	static const struct {
		enum pt_fmt fmt;
		uint64_t addr_mask, low_bits, lower_low_bits;
	} t[] = {
		/* AMDv1: PR | NextLevel = level of the table it sits in | IR | IW */
		{ PT_FMT_AMDV1, 0x000ffffffffff000, 0x6000000000000401, 0x6000000000000201 },
		/* mock: the same, the address field holding pa >> 11 */
		{ PT_FMT_AMDV1_MOCK, 0x000ffffffffff000, 0x6000000000000401, 0x6000000000000201 },
		/* x86-64: P | RW | US | A */
		{ PT_FMT_X86_64, 0x000ffffffffff000, 0x27, 0x27 },
		/* VT-d SS: R | W */
		{ PT_FMT_VTDSS, 0x000ffffffffff000, 0x3, 0x3 },
		/* Arm: valid | table */
		{ PT_FMT_ARMV8_S1_4K, 0x0000fffffffff000, 0x3, 0x3 },
		{ PT_FMT_ARMV8_S2_64K, 0x0000ffffffff0000, 0x3, 0x3 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unsigned int shift = t[i].fmt == PT_FMT_AMDV1_MOCK ? 1 : 0;
		struct pt_hw_info info;
		struct pt_table pt;
		uint64_t *top, e, *lower;

		assert_int_equal(pt_init(&pt, t[i].fmt, NULL), 0);
		assert_int_equal(pt_map(&pt, 0, 0, 1ull << pt_test_min_lg2(&pt), PT_READ, 0), 0);
		pt_hw_info(&pt, &info);
		top = (uint64_t *)(uintptr_t)info.root;
		e = top[0];
		assert_int_equal(e & ~t[i].addr_mask, t[i].low_bits);
		lower = (uint64_t *)(uintptr_t)((e & t[i].addr_mask) >> shift);
		e = lower[0];
		assert_int_equal(e & ~t[i].addr_mask, t[i].lower_low_bits);
		assert_int_equal(pt.nr_tables, info.top_level + 1);
		pt_deinit(&pt);
	}
}

static uint64_t leaf_entry(struct pt_table *pt, uint64_t iova, unsigned int flags)
{
	struct pt_walk_result res;

	assert_int_equal(pt_walk(pt, iova, flags, &res), 0);
	return res.entry;
}

/* Dirty-state transitions, bit by bit */
static void test_dirty_encodings(void **state)
{
	static const struct {
		enum pt_fmt fmt;
		struct pt_cfg cfg;
		unsigned int prot;
		uint64_t mapped, clean, dirty;
	} t[] = {
		{ PT_FMT_AMDV1, {}, RW, 0x6000000012345001, 0x6000000012345001, 0x6000000012345041 },
		{ PT_FMT_VTDSS, {}, RW, 0x12345003, 0x12345003, 0x12345203 },
		/* stage 1: clean = AP[2] set with DBM; dirty = AP[2] clear */
		{ PT_FMT_ARMV8_S1_4K, DBM, RW | PT_CACHE, 0x0008000012345f47, 0x0008000012345fc7,
		  0x0008000012345f47 },
		/* stage 2: clean = S2AP[1] clear with DBM; dirty = S2AP[1] set */
		{ PT_FMT_ARMV8_S2_4K, DBM, RW | PT_CACHE, 0x00080000123457ff, 0x000800001234577f,
		  0x00080000123457ff },
	};
	unsigned int i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pt_table pt;

		assert_int_equal(pt_init(&pt, t[i].fmt, &t[i].cfg), 0);
		assert_int_equal(pt_map(&pt, 0x1000, 0x12345000, 0x1000, t[i].prot, 0), 0);
		assert_int_equal(leaf_entry(&pt, 0x1000, 0), t[i].mapped);
		assert_int_equal(pt_read_and_clear_dirty(&pt, 0, 0x10000, 0, NULL), 0);
		assert_int_equal(leaf_entry(&pt, 0x1000, 0), t[i].clean);
		assert_int_equal(leaf_entry(&pt, 0x1000, PT_WALK_WRITE), t[i].dirty);
		assert_int_equal(pt_read_and_clear_dirty(&pt, 0, 0x10000, PT_DIRTY_NO_CLEAR, NULL),
				 0);
		assert_int_equal(leaf_entry(&pt, 0x1000, 0), t[i].dirty);
		assert_int_equal(pt_read_and_clear_dirty(&pt, 0, 0x10000, 0, NULL), 0);
		assert_int_equal(leaf_entry(&pt, 0x1000, 0), t[i].clean);
		pt_deinit(&pt);
	}
}

/* What the models program into hardware */
static void test_hw_info(void **state)
{
	static const struct {
		enum pt_fmt fmt;
		struct pt_cfg cfg;
		unsigned int top_level, vasz_lg2, top_lg2sz;
		unsigned int amd_mode, vtd_aw, arm_start, arm_concat;
	} t[] = {
		{ PT_FMT_AMDV1, {}, 2, 39, 12, 3, 0, 0, 0 },
		{ PT_FMT_AMDV1, { .top_level = 5 }, 5, 64, 12, 6, 0, 0, 0 },
		{ PT_FMT_AMDV1_MOCK, {}, 2, 38, 12, 3, 0, 0, 0 },
		{ PT_FMT_AMDV1_MOCK, { .top_level = 4 }, 4, 56, 12, 5, 0, 0, 0 },
		{ PT_FMT_X86_64, {}, 3, 48, 12, 0, 0, 0, 0 },
		{ PT_FMT_X86_64, { .vasz_lg2 = 57 }, 4, 57, 12, 0, 0, 0, 0 },
		{ PT_FMT_VTDSS, { .vasz_lg2 = 39 }, 2, 39, 12, 0, 1, 0, 0 },
		{ PT_FMT_VTDSS, {}, 3, 48, 12, 0, 2, 0, 0 },
		{ PT_FMT_VTDSS, { .vasz_lg2 = 57 }, 4, 57, 12, 0, 3, 0, 0 },
		/* 48-bit 4K: start at level 0, 512 entries */
		{ PT_FMT_ARMV8_S1_4K, {}, 3, 48, 12, 0, 0, 0, 1 },
		/* 39-bit 4K: start at level 1 */
		{ PT_FMT_ARMV8_S1_4K, { .vasz_lg2 = 39 }, 2, 39, 12, 0, 0, 1, 1 },
		/* 16K 48-bit stage 1: level 0 has 2 entries, a 64-byte table */
		{ PT_FMT_ARMV8_S1_16K, {}, 3, 48, 6, 0, 0, 0, 1 },
		/* 64K 48-bit: start at level 1 with 64 entries */
		{ PT_FMT_ARMV8_S1_64K, {}, 2, 48, 9, 0, 0, 1, 1 },
		/* 64K 52-bit (LVA): 1024 entries at level 1 */
		{ PT_FMT_ARMV8_S1_64K, { .vasz_lg2 = 52 }, 2, 52, 13, 0, 0, 1, 1 },
		/* stage 2 40-bit 4K: 2 concatenated level 1 tables */
		{ PT_FMT_ARMV8_S2_4K, { .vasz_lg2 = 40 }, 2, 40, 13, 0, 0, 1, 2 },
		/* 42-bit: 8 concatenated */
		{ PT_FMT_ARMV8_S2_4K, { .vasz_lg2 = 42 }, 2, 42, 15, 0, 0, 1, 8 },
		/* 44-bit: 32 would be too many, start at level 0 */
		{ PT_FMT_ARMV8_S2_4K, { .vasz_lg2 = 44 }, 3, 44, 8, 0, 0, 0, 1 },
		/* 16K 48-bit stage 2: 2 concatenated level 1 tables */
		{ PT_FMT_ARMV8_S2_16K, {}, 2, 48, 15, 0, 0, 1, 2 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pt_hw_info info;
		struct pt_table pt;

		assert_int_equal(pt_init(&pt, t[i].fmt, &t[i].cfg), 0);
		pt_hw_info(&pt, &info);
		assert_int_equal(info.top_level, t[i].top_level);
		assert_int_equal(info.vasz_lg2, t[i].vasz_lg2);
		assert_int_equal(info.top_lg2sz, t[i].top_lg2sz);
		assert_int_equal(info.amd_mode, t[i].amd_mode);
		assert_int_equal(info.vtd_aw, t[i].vtd_aw);
		assert_int_equal(info.arm_start_level, t[i].arm_start);
		assert_int_equal(info.arm_concat, t[i].arm_concat);
		/* the root can reach the last IOVA */
		assert_int_equal(pt_map(&pt, (t[i].vasz_lg2 == 64 ? 0 : 1ull << t[i].vasz_lg2) -
						     (1ull << pt_test_min_lg2(&pt)),
					0, 1ull << pt_test_min_lg2(&pt), PT_READ, 0),
				 0);
		pt_deinit(&pt);
	}
	/* Configurations the hardware cannot have */
	{
		struct pt_table pt;
		struct pt_cfg bad[] = { { .top_level = 6 }, { .vasz_lg2 = 58 }, { .vasz_lg2 = 30 },
					{ .oasz_lg2 = 53 } };

		assert_int_equal(pt_init(&pt, PT_FMT_AMDV1, &bad[0]), -EINVAL);
		assert_int_equal(pt_init(&pt, PT_FMT_X86_64, &bad[1]), -EINVAL);
		assert_int_equal(pt_init(&pt, PT_FMT_VTDSS, &bad[2]), -EINVAL);
		assert_int_equal(pt_init(&pt, PT_FMT_ARMV8_S1_4K, &bad[3]), -EINVAL);
		assert_int_equal(pt_init(&pt, PT_FMT_VTDSS, &(struct pt_cfg){ .features = PT_FEAT_SIGN_EXTEND }),
				 -EOPNOTSUPP);
		assert_int_equal(pt_init(&pt, PT_FMT_NR, NULL), -EINVAL);
	}
}

/* The page sizes each format offers, by default */
static void test_pgsize_bitmaps(void **state)
{
	static const struct {
		enum pt_fmt fmt;
		struct pt_cfg cfg;
		uint64_t bitmap;
	} t[] = {
		/* 4K..256G, every power of two (39-bit input) */
		{ PT_FMT_AMDV1, {}, 0x0000007ffffff000 },
		/* top level 4: up to 2^51, no 512G */
		{ PT_FMT_AMDV1, { .top_level = 4 }, 0x000fff7ffffff000 },
		{ PT_FMT_AMDV1_MOCK, {}, 0x0000003ffffff800 },
		{ PT_FMT_AMDV1_MOCK_HUGE, {}, 0x101000 },
		{ PT_FMT_X86_64, {}, 0x40201000 },
		{ PT_FMT_VTDSS, {}, 0x40201000 },
		{ PT_FMT_ARMV8_S1_4K, {}, 0x40201000 },
		{ PT_FMT_ARMV8_S1_16K, {}, 0x2004000 },
		{ PT_FMT_ARMV8_S2_64K, {}, 0x20010000 },
		{ PT_FMT_X86_64, { .pgsize_bitmap = 0x1000 }, 0x1000 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pt_table pt;

		assert_int_equal(pt_init(&pt, t[i].fmt, &t[i].cfg), 0);
		assert_int_equal(pt.pgsize_bitmap, t[i].bitmap);
		pt_deinit(&pt);
	}
}

static unsigned int top_level_of(struct pt_table *pt)
{
	struct pt_hw_info info;

	pt_hw_info(pt, &info);
	assert_int_equal(info.amd_mode, info.top_level + 1);
	return info.top_level;
}

/*
 * A growing AMDv1 top (the kernel's mock AMDv1 domain): three levels to
 * start, a level more each time a map reaches past the top, what was
 * mapped before still translating the same, and the page sizes of the
 * widest table from the start.
 */
static void test_dynamic_top(void **state)
{
	const struct pt_cfg grow = { .features = PT_FEAT_DYNAMIC_TOP, .vasz_lg2 = 64 };
	struct pt_table pt, full;
	uint64_t tables;

	assert_int_equal(pt_init(&pt, PT_FMT_AMDV1, &grow), 0);
	assert_int_equal(pt_init(&full, PT_FMT_AMDV1, &(struct pt_cfg){ .top_level = 5 }), 0);
	assert_int_equal(pt.pgsize_bitmap, full.pgsize_bitmap);
	pt_deinit(&full);
	assert_int_equal(top_level_of(&pt), 2);
	tables = pt.nr_tables;

	assert_int_equal(pt_map(&pt, 0x1000, 0x5000, 0x1000, RW, 0), 0);
	assert_int_equal(top_level_of(&pt), 2);
	/* Past the top there is nothing, and looking does not grow it. */
	assert_int_equal(pt_iova_to_phys(&pt, 1ull << 40), 0);
	assert_int_equal(pt_unmap(&pt, 1ull << 40, 0x1000), 0);
	pt_prefetch(&pt, 1ull << 40);
	assert_int_equal(top_level_of(&pt), 2);

	/* 2^40 needs a fourth level: one table above, the old top its first entry. */
	tables = pt.nr_tables;
	assert_int_equal(pt_map(&pt, 1ull << 40, 0x7000, 0x1000, RW, 0), 0);
	assert_int_equal(top_level_of(&pt), 3);
	assert_int_equal(pt_iova_to_phys(&pt, 0x1234), 0x5234);
	assert_int_equal(pt_iova_to_phys(&pt, (1ull << 40) + 8), 0x7008);
	/* The new top, and the tables under it down to the new leaf. */
	assert_int_equal(pt.nr_tables, tables + 1 + 3);

	/* The last page of the 64-bit space: up to the sixth level. */
	assert_int_equal(pt_map(&pt, ~0ull - 0xfff, 0x9000, 0x1000, PT_READ, 0), 0);
	assert_int_equal(top_level_of(&pt), 5);
	assert_int_equal(pt_iova_to_phys(&pt, 0x1000), 0x5000);
	assert_int_equal(pt_iova_to_phys(&pt, 1ull << 40), 0x7000);
	assert_int_equal(pt_iova_to_phys(&pt, ~0ull), 0x9fff);
	assert_int_equal(pt_unmap(&pt, 0x1000, 0x1000), 0x1000);
	assert_int_equal(pt_unmap(&pt, 1ull << 40, 0x1000), 0x1000);
	assert_int_equal(pt_unmap(&pt, ~0ull - 0xfff, 0x1000), 0x1000);
	assert_int_equal(top_level_of(&pt), 5);	/* it never shrinks */
	pt_deinit(&pt);

	/* Growth stops at the configured width; without the feature there is none. */
	assert_int_equal(pt_init(&pt, PT_FMT_AMDV1,
				 &(struct pt_cfg){ .features = PT_FEAT_DYNAMIC_TOP, .vasz_lg2 = 48 }),
			 0);
	assert_int_equal(pt_map(&pt, 1ull << 48, 0x1000, 0x1000, RW, 0), -ERANGE);
	assert_int_equal(top_level_of(&pt), 2);
	assert_int_equal(pt_map(&pt, (1ull << 48) - 0x1000, 0x1000, 0x1000, RW, 0), 0);
	assert_int_equal(top_level_of(&pt), 3);
	pt_deinit(&pt);
	assert_int_equal(pt_init(&pt, PT_FMT_AMDV1, &(struct pt_cfg){}), 0);
	assert_int_equal(pt_map(&pt, 1ull << 40, 0x1000, 0x1000, RW, 0), -ERANGE);
	assert_int_equal(top_level_of(&pt), 2);
	pt_deinit(&pt);
	/* Only AMDv1 grows. */
	assert_int_equal(pt_init(&pt, PT_FMT_X86_64, &grow), -EOPNOTSUPP);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf_encodings),
		cmocka_unit_test(test_table_encodings),
		cmocka_unit_test(test_dirty_encodings),
		cmocka_unit_test(test_hw_info),
		cmocka_unit_test(test_pgsize_bitmaps),
		cmocka_unit_test(test_dynamic_top),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
