// SPDX-License-Identifier: MIT
/*
 * Randomized differential test: every format against a flat reference model.
 *
 * The reference keeps one record per granule of a window of IOVA: which leaf
 * covers it (its first granule, size, OA, prot, dirty state).  It knows the
 * kernel's rules in their plainest form: map chooses, position by position,
 * the largest allowed page that alignment and length permit and refuses to
 * overlap; unmap removes whole leaves from a leaf start until the first hole;
 * a DMA write dirties a writable leaf; a harvest reports and clears the dirty
 * leaves it touches, clipped.  Random maps, unmaps, lookups, DMA writes and
 * harvests (with injected table-allocation failures) run against both and
 * every answer is compared; the whole window is compared every so often.
 *
 * Seed: PT_TEST_SEED (default fixed, printed).  PT_TEST_OPS sets the number
 * of operations per format (default 12000).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "pt/pt_test.h"

#define WINDOW_LG2 14	/* granules in the window */
#define NR_GRANULES (1u << WINDOW_LG2)

struct ref_gran {
	int32_t leaf;	/* first granule of the covering leaf, -1 if unmapped */
	/* valid at a leaf's first granule: */
	uint8_t size_lg2;
	uint8_t prot;
	bool dirty;
	uint64_t oa;
};

struct rnd_state {
	const struct pt_test_fmt *f;
	struct pt_table pt;
	struct pt_test_alloc alloc;
	struct ref_gran ref[NR_GRANULES];
	unsigned int gran_lg2;
	uint64_t base;
	uint64_t rng;
	unsigned long nr_ops[8];
};

static uint64_t seed;
static unsigned long ops_per_fmt = 12000;
static const struct pt_test_fmt *cur_fmt;

static uint64_t rnd(struct rnd_state *s)
{
	/* xorshift64* */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1Dull;
}

static uint64_t rnd_below(struct rnd_state *s, uint64_t n)
{
	return rnd(s) % n;
}

static uint64_t gran_iova(struct rnd_state *s, uint64_t g)
{
	return s->base + (g << s->gran_lg2);
}

/* --- the reference */


static void ref_map(struct rnd_state *s, uint64_t g, uint64_t oa, uint64_t len,
		    unsigned int prot, uint64_t sizes)
{
	uint64_t off = 0;

	while (off < len) {
		unsigned int lg2 = ref_best_lg2(sizes, gran_iova(s, g) + off, oa + off, len - off);
		uint64_t first = g + (off >> s->gran_lg2), n = 1ull << (lg2 - s->gran_lg2), i;
		struct ref_gran *leaf = &s->ref[first];

		for (i = 0; i < n; i++)
			s->ref[first + i].leaf = (int32_t)first;
		leaf->size_lg2 = (uint8_t)lg2;
		leaf->prot = (uint8_t)prot;
		leaf->oa = oa + off;
		leaf->dirty = s->f->dirty_on_map && (prot & PT_WRITE);
		off += 1ull << lg2;
	}
}

static uint64_t ref_unmap(struct rnd_state *s, uint64_t g, uint64_t nr_gran)
{
	uint64_t p = g, total = 0;

	if (g >= NR_GRANULES || s->ref[g].leaf != (int32_t)g)
		return 0;
	while (p < g + nr_gran && p < NR_GRANULES && s->ref[p].leaf >= 0) {
		uint64_t n = 1ull << (s->ref[p].size_lg2 - s->gran_lg2), i;

		assert_int_equal(s->ref[p].leaf, p);
		for (i = 0; i < n; i++)
			s->ref[p + i].leaf = -1;
		total += n << s->gran_lg2;
		p += n;
	}
	return total;
}

/* Compare one granule (at @off bytes in) with the table */
static void check_gran(struct rnd_state *s, uint64_t g, uint64_t off)
{
	uint64_t iova = gran_iova(s, g) + off;
	struct pt_walk_result res;
	int ret = pt_walk(&s->pt, iova, 0, &res);
	const struct ref_gran *leaf;
	unsigned int want_prot;

	if (s->ref[g].leaf < 0) {
		assert_int_equal(ret, -ENOENT);
		assert_int_equal(pt_iova_to_phys(&s->pt, iova), 0);
		return;
	}
	leaf = &s->ref[s->ref[g].leaf];
	assert_int_equal(ret, 0);
	assert_int_equal(res.pgsize_lg2, leaf->size_lg2);
	assert_int_equal(res.oa, leaf->oa + (iova - gran_iova(s, (uint64_t)s->ref[g].leaf)));
	assert_int_equal(pt_iova_to_phys(&s->pt, iova), res.oa);
	want_prot = leaf->prot;
	if (!(want_prot & PT_READ) && !s->f->write_only)
		want_prot |= PT_READ;
	assert_int_equal(res.prot, want_prot);
	if (s->f->dirty)
		assert_int_equal(res.dirty, leaf->dirty);
}

static void check_all(struct rnd_state *s)
{
	uint64_t g;

	for (g = 0; g < NR_GRANULES; g++)
		check_gran(s, g, 0);
	/* Nothing outside the window */
	assert_int_equal(pt_iova_to_phys(&s->pt, s->base - 1), 0);
	assert_int_equal(pt_iova_to_phys(&s->pt, gran_iova(s, NR_GRANULES)), 0);
	assert_int_equal(s->pt.nr_tables, (uint64_t)s->alloc.outstanding);
}

/* --- operations */

/* A page size of the table's, small enough for the window */
static unsigned int rnd_size_lg2(struct rnd_state *s)
{
	uint64_t sizes = s->pt.pgsize_bitmap & ((1ull << (s->gran_lg2 + WINDOW_LG2 - 2)) - 1);
	unsigned int pick = (unsigned int)rnd_below(s, (uint64_t)__builtin_popcountll(sizes));

	while (pick--)
		sizes &= sizes - 1;
	return (unsigned int)__builtin_ctzll(sizes);
}

static void op_map(struct rnd_state *s)
{
	static const unsigned int prots[] = { PT_READ, PT_WRITE, PT_READ | PT_WRITE };
	unsigned int lg2 = rnd_size_lg2(s), min_lg2 = pt_test_min_lg2(&s->pt);
	uint64_t size_gr = 1ull << (lg2 - s->gran_lg2), min_gr = 1ull << (min_lg2 - s->gran_lg2);
	uint64_t g = rnd_below(s, NR_GRANULES / size_gr) * size_gr;
	uint64_t len = (1 + rnd_below(s, 3)) << lg2;
	uint64_t oa = rnd_below(s, 1ull << 20) << lg2;
	unsigned int prot = prots[rnd_below(s, 3)];
	unsigned int flags = rnd_below(s, 10) ? 0 : PT_MAP_NO_LARGE;
	bool inject = !rnd_below(s, 20);
	uint64_t i, nr_gr;
	bool busy = false;
	int ret;

	/* Misalign by a few small pages now and then */
	if (rnd_below(s, 3) == 0) {
		g += rnd_below(s, 4) * min_gr;
		oa += rnd_below(s, 4) << min_lg2;
		len += rnd_below(s, 4) << min_lg2;
	}
	nr_gr = len >> s->gran_lg2;
	if (g + nr_gr > NR_GRANULES || oa + len > (1ull << s->pt.oasz_lg2))
		return;
	for (i = 0; i < nr_gr; i++)
		busy |= s->ref[g + i].leaf >= 0;

	if (inject)
		s->alloc.fail_after = (long)rnd_below(s, 3);
	ret = pt_map(&s->pt, gran_iova(s, g), oa, len, prot, flags);
	s->alloc.fail_after = -1;
	if (busy) {
		/* Either error may be found first; nothing changed either way */
		if (!(inject && ret == -ENOMEM))
			assert_int_equal(ret, -EADDRINUSE);
		check_gran(s, g, 0);
		check_gran(s, g + nr_gr - 1, 0);
		return;
	}
	if (inject && ret == -ENOMEM) {
		check_gran(s, g, 0);
		check_gran(s, g + nr_gr - 1, 0);
		return;
	}
	assert_int_equal(ret, 0);
	s->nr_ops[5]++;
	ref_map(s, g, oa, len, prot,
		flags & PT_MAP_NO_LARGE ? 1ull << min_lg2 : s->pt.pgsize_bitmap);
}

static void op_unmap(struct rnd_state *s)
{
	uint64_t g = rnd_below(s, NR_GRANULES), nr_gr, want;
	unsigned int min_lg2 = pt_test_min_lg2(&s->pt);
	uint64_t min_gr = 1ull << (min_lg2 - s->gran_lg2);

	/* Mostly start where a leaf starts, so something happens */
	if (rnd_below(s, 4) && s->ref[g].leaf >= 0)
		g = (uint64_t)s->ref[g].leaf;
	g &= ~(min_gr - 1);
	nr_gr = (1 + rnd_below(s, 64)) * min_gr;
	if (rnd_below(s, 8) == 0)
		nr_gr <<= rnd_below(s, 8);
	/* One granule, often: the fast path, and its way out at large leaves and holes */
	if (rnd_below(s, 4) == 0)
		nr_gr = min_gr;
	want = ref_unmap(s, g, nr_gr);
	s->nr_ops[6] += !!want;
	assert_int_equal(pt_unmap(&s->pt, gran_iova(s, g), nr_gr << s->gran_lg2), want);
}

static void op_lookup(struct rnd_state *s)
{
	uint64_t g = rnd_below(s, NR_GRANULES);

	check_gran(s, g, rnd_below(s, 1ull << s->gran_lg2));
}

static void op_dma_write(struct rnd_state *s)
{
	uint64_t g = rnd_below(s, NR_GRANULES);
	struct pt_walk_result res;
	struct ref_gran *leaf;
	int ret = pt_walk(&s->pt, gran_iova(s, g), PT_WALK_WRITE, &res);

	if (s->ref[g].leaf < 0) {
		assert_int_equal(ret, -ENOENT);
		return;
	}
	assert_int_equal(ret, 0);
	leaf = &s->ref[s->ref[g].leaf];
	if (s->f->dirty && (leaf->prot & PT_WRITE))
		leaf->dirty = true;
	if (s->f->dirty)
		assert_int_equal(res.dirty, leaf->dirty);
}

static void op_harvest(struct rnd_state *s)
{
	static uint64_t got[NR_GRANULES / 64], want[NR_GRANULES / 64];
	uint64_t first = rnd_below(s, NR_GRANULES), nr = 1 + rnd_below(s, NR_GRANULES - first);
	unsigned int flags = rnd_below(s, 2) ? PT_DIRTY_NO_CLEAR : 0;
	struct pt_dirty d = { .bitmap = got, .iova_base = s->base, .pgshift = s->gran_lg2 };
	uint64_t g;
	int ret;

	memset(got, 0, sizeof(got));
	memset(want, 0, sizeof(want));
	ret = pt_read_and_clear_dirty(&s->pt, gran_iova(s, first), nr << s->gran_lg2, flags, &d);
	if (!s->f->dirty) {
		assert_int_equal(ret, -EOPNOTSUPP);
		return;
	}
	assert_int_equal(ret, 0);
	for (g = first; g < first + nr; g++) {
		struct ref_gran *leaf;

		if (s->ref[g].leaf < 0)
			continue;
		leaf = &s->ref[s->ref[g].leaf];
		if (leaf->dirty)
			want[g / 64] |= 1ull << (g % 64);
	}
	/* Clearing is per leaf, even where the range covers only part of it */
	for (g = first; g < first + nr && !flags; g++)
		if (s->ref[g].leaf >= 0)
			s->ref[s->ref[g].leaf].dirty = false;
	assert_memory_equal(got, want, sizeof(got));
}

static void run_format(void **state)
{
	struct rnd_state *s = calloc(1, sizeof(*s));
	unsigned long op;
	uint64_t g;

	assert_non_null(s);
	s->f = cur_fmt;
	assert_int_equal(pt_test_init(&s->pt, s->f, &s->alloc), 0);
	s->gran_lg2 = pt_test_item_lg2(&s->pt, 0);
	/* Straddle a top-level boundary when there is one */
	s->base = s->pt.top_items_lg2 ?
			  (1ull << pt_test_item_lg2(&s->pt, s->pt.top_level)) -
				  (1ull << (s->gran_lg2 + WINDOW_LG2 - 1)) :
			  1ull << (s->pt.vasz_lg2 - 2);
	s->rng = seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(s->f - pt_test_fmts + 1));
	for (g = 0; g < NR_GRANULES; g++)
		s->ref[g].leaf = -1;

	for (op = 0; op < ops_per_fmt; op++) {
		unsigned int kind = (unsigned int)rnd_below(s, 100);

		if (kind < 33)
			op_map(s);
		else if (kind < 58)
			op_unmap(s);
		else if (kind < 78)
			op_lookup(s);
		else if (kind < 90)
			op_dma_write(s);
		else
			op_harvest(s);
		s->nr_ops[kind < 33 ? 0 : kind < 58 ? 1 : kind < 78 ? 2 : kind < 90 ? 3 : 4]++;
		if (op % 1500 == 1499)
			check_all(s);
	}
	check_all(s);
	printf("   %s: %lu ops (map %lu [%lu mapped], unmap %lu [%lu unmapped], lookup %lu, "
	       "dma %lu, harvest %lu), %lu tables live\n",
	       s->f->name, ops_per_fmt, s->nr_ops[0], s->nr_ops[5], s->nr_ops[1], s->nr_ops[6],
	       s->nr_ops[2], s->nr_ops[3], s->nr_ops[4], (unsigned long)s->pt.nr_tables);
	pt_deinit(&s->pt);
	assert_int_equal(s->alloc.outstanding, 0);
	free(s);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(run_format),
	};
	const char *env = getenv("PT_TEST_SEED");
	unsigned int i;
	int failed = 0;

	seed = env && *env ? strtoull(env, NULL, 0) : 0x5eed0f10ull;
	env = getenv("PT_TEST_OPS");
	if (env && *env)
		ops_per_fmt = strtoul(env, NULL, 0);
	printf("pt random differential test: PT_TEST_SEED=0x%llx, %lu ops per format\n",
	       (unsigned long long)seed, ops_per_fmt);
	for (i = 0; i < PT_TEST_NR_FMTS; i++) {
		cur_fmt = &pt_test_fmts[i];
		printf("== format %s\n", cur_fmt->name);
		failed += _cmocka_run_group_tests(cur_fmt->name, tests, 1, NULL, NULL);
	}
	return failed ? 1 : 0;
}
