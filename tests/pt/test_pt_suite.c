// SPDX-License-Identifier: MIT
/*
 * The page-table suite, written once and run as one cmocka group per format
 * and configuration in pt_test_fmts[]: map/unmap/lookup invariants for every
 * page size, large-page combining and the kernel's unmap rules, permission
 * encoding, dirty read-and-clear, table freeing and leak checks, and the
 * all-or-nothing unwind of a map whose table allocation fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "pt/pt_test.h"

struct suite_state {
	const struct pt_test_fmt *f;
	struct pt_table pt;
	struct pt_test_alloc alloc;
	unsigned int min_lg2;
	/* a level-1 item: the smallest size that is a leaf above level 0 */
	unsigned int l1_lg2;
	/* the largest size map may use at the level-1 item size or below */
	unsigned int large_lg2;
	uint64_t base;	/* an IOVA aligned to a top-level item, away from 0 */
};

static const struct pt_test_fmt *cur_fmt;

static int setup(void **state)
{
	struct suite_state *s = calloc(1, sizeof(*s));
	unsigned int lg2;

	assert_non_null(s);
	s->f = cur_fmt;
	assert_int_equal(pt_test_init(&s->pt, s->f, &s->alloc), 0);
	assert_int_equal(s->alloc.outstanding, 1);
	s->min_lg2 = pt_test_min_lg2(&s->pt);
	s->l1_lg2 = pt_test_item_lg2(&s->pt, 1);
	for (lg2 = s->min_lg2; lg2 <= s->l1_lg2; lg2++)
		if (s->pt.pgsize_bitmap & (1ull << lg2))
			s->large_lg2 = lg2;
	/* second item of the top table when it has two, else the middle of the first */
	s->base = s->pt.top_items_lg2 ? 1ull << pt_test_item_lg2(&s->pt, s->pt.top_level) :
					1ull << (s->pt.vasz_lg2 - 1);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct suite_state *s = *state;

	pt_deinit(&s->pt);
	/* Every table ever allocated was freed */
	assert_int_equal(s->alloc.outstanding, 0);
	free(s);
	return 0;
}


static void assert_unmapped(struct pt_table *pt, uint64_t iova)
{
	struct pt_walk_result res;

	assert_int_equal(pt_walk(pt, iova, 0, &res), -ENOENT);
	assert_int_equal(pt_iova_to_phys(pt, iova), 0);
}

static void assert_leaf(struct pt_table *pt, uint64_t iova, uint64_t oa, unsigned int lg2)
{
	struct pt_walk_result res;

	assert_int_equal(pt_walk(pt, iova, 0, &res), 0);
	assert_int_equal(res.pgsize_lg2, lg2);
	assert_int_equal(res.oa, oa);
	assert_int_equal(res.page_oa, oa & ~((1ull << lg2) - 1));
	assert_int_equal(pt_iova_to_phys(pt, iova), oa);
}

/* Every page size: one leaf of that size, found at its first, middle and last byte */
static void test_map_every_size(void **state)
{
	struct suite_state *s = *state;
	struct pt_table *pt = &s->pt;
	unsigned int lg2;
	int checked = 0;

	for (lg2 = 0; lg2 < 64; lg2++) {
		uint64_t sz = 1ull << lg2, iova, oa;

		if (!(pt->pgsize_bitmap & sz) || lg2 + 1 >= pt->vasz_lg2)
			continue;
		iova = sz;
		oa = lg2 + 2 < pt->oasz_lg2 ? 3 * sz : 0;
		assert_int_equal(pt_map(pt, iova, oa, sz, PT_READ | PT_WRITE, 0), 0);
		assert_leaf(pt, iova, oa, lg2);
		assert_leaf(pt, iova + sz / 2 + 8, oa + sz / 2 + 8, lg2);
		assert_leaf(pt, iova + sz - 1, oa + sz - 1, lg2);
		assert_unmapped(pt, iova - 1);
		assert_unmapped(pt, iova + sz);
		assert_int_equal(pt_unmap(pt, iova, sz), sz);
		assert_unmapped(pt, iova);
		checked++;
	}
	assert_true(checked >= 2);
}

/* A misaligned run is split into the largest pages alignment allows */
static void test_map_combines(void **state)
{
	struct suite_state *s = *state;
	struct pt_table *pt = &s->pt;
	uint64_t min = 1ull << s->min_lg2, big = 1ull << s->large_lg2;
	uint64_t iova = s->base + big - min, oa = 7 * big - min;
	uint64_t len = 2 * big + 3 * min, off;
	int nr_large = 0;

	assert_int_equal(pt_map(pt, iova, oa, len, PT_READ, 0), 0);
	for (off = 0; off < len;) {
		unsigned int lg2 = ref_best_lg2(pt->pgsize_bitmap, iova + off, oa + off,
						len - off);

		assert_leaf(pt, iova + off, oa + off, lg2);
		nr_large += lg2 == s->large_lg2;
		off += 1ull << lg2;
	}
	assert_int_equal(nr_large, 2);
	assert_int_equal(pt_unmap(pt, iova, len), len);

	/* Large pages disabled: every leaf is the smallest size */
	assert_int_equal(pt_map(pt, iova, oa, len, PT_READ, PT_MAP_NO_LARGE), 0);
	for (off = 0; off < len; off += min)
		assert_leaf(pt, iova + off, oa + off, s->min_lg2);
	assert_int_equal(pt_unmap(pt, iova, len), len);
}

/* Whole-entry unmap, partial starts, holes */
static void test_unmap_rules(void **state)
{
	struct suite_state *s = *state;
	struct pt_table *pt = &s->pt;
	uint64_t min = 1ull << s->min_lg2, big = 1ull << s->large_lg2;
	uint64_t iova = s->base, oa = 5 * big;

	assert_int_equal(pt_map(pt, iova, oa, big, PT_READ | PT_WRITE, 0), 0);
	assert_leaf(pt, iova, oa, s->large_lg2);
	/* Starting inside a large entry removes nothing */
	assert_int_equal(pt_unmap(pt, iova + min, min), 0);
	assert_leaf(pt, iova + min, oa + min, s->large_lg2);
	/* Ending inside it removes all of it, and says so */
	assert_int_equal(pt_unmap(pt, iova, min), big);
	assert_unmapped(pt, iova);
	assert_unmapped(pt, iova + big - min);

	/* Unmap stops at the first hole */
	assert_int_equal(pt_map(pt, iova, oa, 2 * min, PT_READ, PT_MAP_NO_LARGE), 0);
	assert_int_equal(pt_map(pt, iova + 3 * min, oa, min, PT_READ, 0), 0);
	assert_int_equal(pt_unmap(pt, iova, 4 * min), 2 * min);
	assert_leaf(pt, iova + 3 * min, oa, s->min_lg2);
	assert_int_equal(pt_unmap(pt, iova + 2 * min, 2 * min), 0);
	assert_int_equal(pt_unmap(pt, iova + 3 * min, min), min);
	/* Bad ranges unmap nothing */
	assert_int_equal(pt_unmap(pt, iova, 0), 0);
	assert_int_equal(pt_unmap(pt, ~0ull - min + 1, 2 * min), 0);
}

/* Never overwrite; replace empty tables with a large leaf */
static void test_map_in_use(void **state)
{
	struct suite_state *s = *state;
	struct pt_table *pt = &s->pt;
	uint64_t min = 1ull << s->min_lg2, l1 = 1ull << s->l1_lg2;
	uint64_t iova = s->base;
	long tables;

	assert_int_equal(pt_map(pt, iova + 2 * min, 0, min, PT_READ, 0), 0);
	assert_int_equal(pt_map(pt, iova + 2 * min, min, min, PT_READ, 0), -EADDRINUSE);
	tables = s->alloc.outstanding;
	assert_int_equal(pt_map(pt, iova, l1, 4 * min, PT_READ, PT_MAP_NO_LARGE), -EADDRINUSE);
	assert_unmapped(pt, iova);
	assert_unmapped(pt, iova + min);
	assert_leaf(pt, iova + 2 * min, 0, s->min_lg2);
	assert_int_equal(pt_map(pt, iova, l1, l1, PT_READ, 0), -EADDRINUSE);
	assert_unmapped(pt, iova);
	assert_int_equal(s->alloc.outstanding, tables);

	/* The leaf table is left empty; a level-1 leaf replaces and frees it */
	assert_int_equal(pt_unmap(pt, iova + 2 * min, min), min);
	assert_int_equal(s->alloc.outstanding, tables);
	assert_int_equal(pt_map(pt, iova, l1, l1, PT_READ, 0), 0);
	assert_int_equal(s->alloc.outstanding, tables - 1);
	assert_leaf(pt, iova + 2 * min, l1 + 2 * min, s->l1_lg2);
	assert_int_equal(pt_unmap(pt, iova, l1), l1);
}

/* What prot goes in is what a hardware walk reads back */
static void test_prot(void **state)
{
	struct suite_state *s = *state;
	struct pt_table *pt = &s->pt;
	uint64_t min = 1ull << s->min_lg2, iova = s->base;
	struct pt_walk_result res;
	static const unsigned int prots[] = { PT_READ, PT_WRITE, PT_READ | PT_WRITE,
					      PT_READ | PT_NOEXEC, PT_READ | PT_CACHE,
					      PT_READ | PT_WRITE | PT_MMIO };
	unsigned int i;

	assert_int_equal(pt_map(pt, iova, 0, min, 0, 0), -EINVAL);
	assert_int_equal(pt_map(pt, iova, 0, min, PT_NOEXEC, 0), -EINVAL);
	for (i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
		unsigned int want = prots[i] & (PT_READ | PT_WRITE);

		if (!(want & PT_READ) && !s->f->write_only)
			want |= PT_READ;
		if ((prots[i] & PT_NOEXEC) && s->f->noexec)
			want |= PT_NOEXEC;
		assert_int_equal(pt_map(pt, iova, 0x1000000, min, prots[i], 0), 0);
		assert_int_equal(pt_walk(pt, iova, 0, &res), 0);
		assert_int_equal(res.prot, want);
		assert_int_equal(pt_unmap(pt, iova, min), min);
	}
}

struct dirty_log {
	int nr;
	uint64_t iova[8], len[8];
};

static void dirty_record(void *priv, uint64_t iova, uint64_t len)
{
	struct dirty_log *log = priv;

	assert_true(log->nr < 8);
	log->iova[log->nr] = iova;
	log->len[log->nr++] = len;
}

static void test_dirty(void **state)
{
	struct suite_state *s = *state;
	struct pt_table *pt = &s->pt;
	uint64_t min = 1ull << s->min_lg2, big = 1ull << s->large_lg2;
	uint64_t iova = s->base, bitmap[1] = {}, snap;
	struct pt_dirty d = { .bitmap = bitmap, .iova_base = iova, .pgshift = s->min_lg2 };
	struct dirty_log log = {};
	struct pt_dirty dl = { .record = dirty_record, .priv = &log };
	struct pt_walk_result res;
	unsigned int i;

	if (!s->f->dirty) {
		assert_false(pt_has_dirty(pt));
		assert_int_equal(pt_read_and_clear_dirty(pt, iova, min, 0, &d), -EOPNOTSUPP);
		return;
	}
	assert_true(pt_has_dirty(pt));
	assert_int_equal(pt_map(pt, iova, 0, 16 * min, PT_READ | PT_WRITE, PT_MAP_NO_LARGE), 0);
	assert_int_equal(pt_map(pt, iova + 16 * min, 0, min, PT_READ, 0), 0);
	/* Writable leaves start dirty only with Arm DBM */
	assert_int_equal(pt_read_and_clear_dirty(pt, iova, 17 * min, PT_DIRTY_NO_CLEAR, &d), 0);
	assert_int_equal(bitmap[0], s->f->dirty_on_map ? 0xffff : 0);
	/* The snapshot iommufd takes when tracking starts */
	assert_int_equal(pt_read_and_clear_dirty(pt, iova, 17 * min, 0, NULL), 0);

	for (i = 0; i < 17; i++) {
		assert_int_equal(pt_walk(pt, iova + i * min, 0, &res), 0);
		assert_false(res.dirty);
	}
	/* DMA writes: pages 3 and 7, and the read-only page 16 (no effect) */
	assert_int_equal(pt_walk(pt, iova + 3 * min + 5, PT_WALK_WRITE, &res), 0);
	assert_true(res.dirty);
	assert_int_equal(pt_walk(pt, iova + 7 * min, PT_WALK_WRITE, &res), 0);
	assert_int_equal(pt_walk(pt, iova + 16 * min, PT_WALK_WRITE, &res), 0);
	assert_false(res.dirty);

	bitmap[0] = 0;
	assert_int_equal(pt_read_and_clear_dirty(pt, iova, 17 * min, PT_DIRTY_NO_CLEAR, &d), 0);
	snap = bitmap[0];
	assert_int_equal(snap, (1ull << 3) | (1ull << 7));
	bitmap[0] = 0;
	assert_int_equal(pt_read_and_clear_dirty(pt, iova, 17 * min, 0, &d), 0);
	assert_int_equal(bitmap[0], snap);
	bitmap[0] = 0;
	assert_int_equal(pt_read_and_clear_dirty(pt, iova, 17 * min, 0, &d), 0);
	assert_int_equal(bitmap[0], 0);
	/* Only the range asked for is reported or cleared */
	assert_int_equal(pt_walk(pt, iova + 3 * min, PT_WALK_WRITE, &res), 0);
	assert_int_equal(pt_walk(pt, iova + 9 * min, PT_WALK_WRITE, &res), 0);
	assert_int_equal(pt_read_and_clear_dirty(pt, iova + 4 * min, 8 * min, 0, &d), 0);
	assert_int_equal(bitmap[0], 1ull << 9);
	assert_int_equal(pt_walk(pt, iova + 3 * min, 0, &res), 0);
	assert_true(res.dirty);
	assert_int_equal(pt_unmap(pt, iova, 17 * min), 17 * min);

	/* A large page is dirty as a whole, reported clipped to the range */
	assert_int_equal(pt_map(pt, iova, 0, big, PT_READ | PT_WRITE, 0), 0);
	assert_int_equal(pt_read_and_clear_dirty(pt, iova, big, 0, NULL), 0);
	assert_int_equal(pt_walk(pt, iova + big / 2, PT_WALK_WRITE, &res), 0);
	assert_int_equal(res.pgsize_lg2, s->large_lg2);
	assert_int_equal(pt_read_and_clear_dirty(pt, iova + min, 2 * min, PT_DIRTY_NO_CLEAR, &dl),
			 0);
	assert_int_equal(log.nr, 1);
	assert_int_equal(log.iova[0], iova + min);
	assert_int_equal(log.len[0], 2 * min);
	log.nr = 0;
	assert_int_equal(pt_read_and_clear_dirty(pt, iova, big, 0, &dl), 0);
	assert_int_equal(log.nr, 1);
	assert_int_equal(log.iova[0], iova);
	assert_int_equal(log.len[0], big);
	log.nr = 0;
	assert_int_equal(pt_read_and_clear_dirty(pt, iova, big, 0, &dl), 0);
	assert_int_equal(log.nr, 0);
	assert_int_equal(pt_unmap(pt, iova, big), big);
}

/* Tables appear on demand and go when an unmap covers them */
static void test_table_freeing(void **state)
{
	struct suite_state *s = *state;
	struct pt_table *pt = &s->pt;
	uint64_t min = 1ull << s->min_lg2;
	uint64_t span = 1ull << pt_test_item_lg2(pt, pt->top_level);
	uint64_t iova = s->base;
	long levels = (long)pt->top_level + 1;

	assert_int_equal(pt_map(pt, iova + 5 * min, 0, min, PT_READ, 0), 0);
	assert_int_equal(s->alloc.outstanding, levels);
	assert_int_equal(pt->nr_tables, levels);
	assert_int_equal(pt_map(pt, iova + 9 * min, 0, min, PT_READ, 0), 0);
	assert_int_equal(s->alloc.outstanding, levels);
	/* A partial unmap keeps the table for the next map */
	assert_int_equal(pt_unmap(pt, iova + 5 * min, min), min);
	assert_int_equal(s->alloc.outstanding, levels);
	/* A covering unmap stops at the hole at its start, freeing nothing */
	assert_int_equal(pt_unmap(pt, iova, span), 0);
	assert_int_equal(s->alloc.outstanding, levels);
	assert_int_equal(pt_unmap(pt, iova + 9 * min, min), min);
	/* Covering the whole top-level item frees every (now empty) table below it */
	assert_int_equal(pt_unmap(pt, iova, span), 0);
	assert_int_equal(s->alloc.outstanding, 1);
	
	assert_int_equal(pt_map(pt, iova, 0, 3 * min, PT_READ, PT_MAP_NO_LARGE), 0);
	assert_int_equal(pt_unmap(pt, iova, span), 3 * min);
	assert_int_equal(s->alloc.outstanding, 1);
	/* Teardown frees the tables still holding translations (checked in teardown) */
	assert_int_equal(pt_map(pt, iova, 0, 3 * min, PT_READ, 0), 0);
}

/* A map whose table allocation fails leaves nothing behind */
static void test_alloc_failure(void **state)
{
	struct suite_state *s = *state;
	struct pt_table *pt = &s->pt;
	uint64_t min = 1ull << s->min_lg2, l1 = 1ull << s->l1_lg2;
	uint64_t iova = s->base + l1 - 2 * min, len = 2 * l1 + 4 * min;
	long before;
	int k, ret = -ENOMEM;

	/* One table exists on the way, so failures hit partway through */
	assert_int_equal(pt_map(pt, s->base + 4 * l1, 0, min, PT_READ, 0), 0);
	before = s->alloc.outstanding;
	for (k = 0; ret == -ENOMEM; k++) {
		s->alloc.fail_after = k;
		ret = pt_map(pt, iova, 0, len, PT_READ | PT_WRITE, PT_MAP_NO_LARGE);
		s->alloc.fail_after = -1;
		if (ret == -ENOMEM) {
			assert_int_equal(s->alloc.outstanding, before);
			assert_unmapped(pt, iova);
			assert_unmapped(pt, iova + len - min);
		}
	}
	assert_int_equal(ret, 0);
	assert_true(k >= 3);
	assert_leaf(pt, iova + len - min, len - min, s->min_lg2);
	assert_int_equal(pt_unmap(pt, iova, len), len);
	/* init itself fails cleanly */
	{
		struct pt_table pt2;
		struct pt_test_alloc a2;
		struct pt_cfg cfg = s->f->cfg;

		memset(&a2, 0, sizeof(a2));
		cfg.alloc = (struct pt_alloc_ops){ pt_test_alloc_table, pt_test_free_table, &a2 };
		a2.fail_after = 0;
		assert_int_equal(pt_init(&pt2, s->f->fmt, &cfg), -ENOMEM);
		assert_int_equal(a2.outstanding, 0);
		pt_deinit(&pt2);
	}
}

static void test_range_checks(void **state)
{
	struct suite_state *s = *state;
	struct pt_table *pt = &s->pt;
	uint64_t min = 1ull << s->min_lg2;
	struct pt_walk_result res;

	assert_int_equal(pt_map(pt, s->base, 0, 0, PT_READ, 0), -EINVAL);
	assert_int_equal(pt_map(pt, s->base + min / 2, 0, min, PT_READ, 0), -EINVAL);
	assert_int_equal(pt_map(pt, s->base, min / 2, min, PT_READ, 0), -EINVAL);
	assert_int_equal(pt_map(pt, s->base, 0, min + min / 2, PT_READ, 0), -EINVAL);
	assert_int_equal(pt_map(pt, ~0ull - min + 1, 0, 2 * min, PT_READ, 0), -EOVERFLOW);
	if (pt->oasz_lg2 < 64)
		assert_int_equal(pt_map(pt, s->base, 1ull << pt->oasz_lg2, min, PT_READ, 0),
				 -ERANGE);
	assert_int_equal(pt_map(pt, s->base, (1ull << pt->oasz_lg2) - min, min, PT_READ, 0), 0);
	assert_leaf(pt, s->base, (1ull << pt->oasz_lg2) - min, s->min_lg2);
	assert_int_equal(pt_unmap(pt, s->base, min), min);
	if (pt->vasz_lg2 < 64 && !(pt->features & PT_FEAT_SIGN_EXTEND)) {
		uint64_t top = 1ull << pt->vasz_lg2;

		assert_int_equal(pt_map(pt, top, 0, min, PT_READ, 0), -ERANGE);
		assert_int_equal(pt_map(pt, top - min, 0, 2 * min, PT_READ, 0), -ERANGE);
		assert_int_equal(pt_walk(pt, top, 0, &res), -ENOENT);
		assert_int_equal(pt_map(pt, top - min, 0, min, PT_READ, 0), 0);
		assert_leaf(pt, top - 1, min - 1, s->min_lg2);
		assert_int_equal(pt_unmap(pt, top - min, min), min);
	}
	if (pt->features & PT_FEAT_SIGN_EXTEND) {
		uint64_t upper = ~0ull << (pt->vasz_lg2 - 1);

		/* The canonical upper half maps; the hole between the halves does not */
		assert_int_equal(pt_map(pt, upper, 0x5000, min, PT_READ, 0), 0);
		assert_leaf(pt, upper + 1, 0x5001, s->min_lg2);
		assert_unmapped(pt, upper & ~(1ull << 63));
		assert_int_equal(pt_map(pt, upper & ~(1ull << 63), 0, min, PT_READ, 0), -ERANGE);
		assert_int_equal(pt_map(pt, upper - min, 0, 2 * min, PT_READ, 0), -ERANGE);
		assert_int_equal(pt_unmap(pt, upper, min), min);
	}
}

static void test_hw_info(void **state)
{
	struct suite_state *s = *state;
	struct pt_hw_info info;

	pt_hw_info(&s->pt, &info);
	assert_int_equal(info.root, (uintptr_t)s->pt.top);
	assert_int_equal(info.root % (1ull << info.top_lg2sz), 0);
	assert_int_equal(info.top_level, s->pt.top_level);
	assert_int_equal(info.vasz_lg2, s->pt.vasz_lg2);
	assert_non_null(pt_fmt_name(s->f->fmt));
	assert_null(pt_fmt_name(PT_FMT_NR));
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_map_every_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_combines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_freeing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hw_info, setup, teardown),
	};
	unsigned int i;
	int failed = 0;

	for (i = 0; i < PT_TEST_NR_FMTS; i++) {
		cur_fmt = &pt_test_fmts[i];
		printf("== format %s\n", cur_fmt->name);
		failed += _cmocka_run_group_tests(cur_fmt->name, tests,
						  sizeof(tests) / sizeof(tests[0]), NULL, NULL);
	}
	return failed ? 1 : 0;
}
