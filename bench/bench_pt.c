// SPDX-License-Identifier: MIT
/*
 * Page-table benchmarks, each next to a flat-array baseline run in the same
 * process (bench.h):
 *
 *   pt_map_1g_4k_<fmt>       map 1 GiB as 4 KiB pages into an empty table
 *                            (tables allocated on the way), vs storing the
 *                            same 262144 8-byte entries into a flat array
 *   pt_map_unmap_4k_<fmt>    map + unmap of one 4 KiB page (tables exist),
 *                            vs a store and a clear of one flat entry
 *   pt_lookup_hot_<fmt>      iova_to_phys over 512 mapped pages, vs loading
 *                            from a flat array of 512 entries
 *   pt_dirty_1g_<pct>_<fmt>  read_and_clear_dirty into a bitmap over 1 GiB of
 *                            4 KiB leaves with 0%, 1%, 100% dirty, vs the same
 *                            harvest over a flat array of entries
 *
 * Each figure is the median of BENCH_RUNS runs.
 */
#include <errno.h>
#include <stdbool.h>

#include "bench.h"
#include "pt/pt.h"

#define SZ_4K 4096ull
#define SZ_1G (1ull << 30)
#define NR_1G_PAGES (SZ_1G / SZ_4K)
#define OA_BASE (1ull << 32)

static const struct {
	const char *name;
	enum pt_fmt fmt;
	struct pt_cfg cfg;
} fmts[] = {
	{ "amdv1", PT_FMT_AMDV1, { .top_level = 3 } },
	{ "x86_64", PT_FMT_X86_64, {} },
	{ "vtdss", PT_FMT_VTDSS, {} },
	{ "armv8_s1_4k", PT_FMT_ARMV8_S1_4K, { .features = PT_FEAT_ARM_DBM } },
	{ "armv8_s2_4k", PT_FMT_ARMV8_S2_4K, { .features = PT_FEAT_ARM_DBM } },
};

#define NR_FMTS (sizeof(fmts) / sizeof(fmts[0]))

static void check(int ret, const char *what)
{
	if (ret) {
		fprintf(stderr, "bench_pt: %s failed: %d\n", what, ret);
		exit(1);
	}
}

static void pt_new(struct pt_table *pt, unsigned int i)
{
	check(pt_init(pt, fmts[i].fmt, &fmts[i].cfg), "pt_init");
}

static uint64_t *flat;	/* NR_1G_PAGES entries */

/* --- 1 GiB as 4 KiB pages */

static double flat_store_1g_us(void)
{
	uint64_t t0 = bench_now_ns(), i;

	for (i = 0; i < NR_1G_PAGES; i++)
		flat[i] = (OA_BASE + i * SZ_4K) | 0x3;
	bench_sink(flat);
	return (bench_now_ns() - t0) / 1e3;
}

static double map_1g_us(unsigned int i)
{
	struct pt_table pt;
	uint64_t t0, t1;

	pt_new(&pt, i);
	t0 = bench_now_ns();
	check(pt_map(&pt, SZ_1G, OA_BASE, SZ_1G, PT_READ | PT_WRITE, PT_MAP_NO_LARGE), "map 1G");
	t1 = bench_now_ns();
	if (pt_iova_to_phys(&pt, 2 * SZ_1G - 1) != OA_BASE + SZ_1G - 1)
		check(-EINVAL, "map 1G result");
	pt_deinit(&pt);
	return (t1 - t0) / 1e3;
}

/* --- one 4 KiB page, map + unmap */

#define PAIRS 200000

static double flat_pair_ns(void)
{
	volatile uint64_t *v = flat;
	uint64_t t0 = bench_now_ns();
	unsigned int n;

	for (n = 0; n < PAIRS; n++) {
		v[n & 511] = (OA_BASE + n * SZ_4K) | 0x3;
		v[n & 511] = 0;
	}
	return (double)(bench_now_ns() - t0) / PAIRS;
}

static double map_unmap_ns(struct pt_table *pt)
{
	uint64_t t0 = bench_now_ns(), sum = 0;
	unsigned int n;

	for (n = 0; n < PAIRS; n++) {
		uint64_t iova = SZ_1G + (n & 511) * SZ_4K;

		sum += (uint64_t)pt_map(pt, iova, OA_BASE + n * SZ_4K, SZ_4K, PT_READ | PT_WRITE, 0);
		sum += pt_unmap(pt, iova, SZ_4K);
	}
	if (sum != (uint64_t)PAIRS * SZ_4K)
		check(-EINVAL, "map+unmap result");
	return (double)(bench_now_ns() - t0) / PAIRS;
}

/* --- hot lookups */

#define LOOKUPS 4000000

static double flat_lookup_mps(void)
{
	uint64_t t0 = bench_now_ns(), sum = 0;
	unsigned int n;

	for (n = 0; n < LOOKUPS; n++) {
		uint64_t iova = SZ_1G + ((n * 7) & 511) * SZ_4K + (n & 0xff);

		sum += (flat[(iova >> 12) & 511] & ~0xfffull) | (iova & 0xfff);
	}
	bench_sink(&sum);
	return LOOKUPS / ((bench_now_ns() - t0) / 1e3);
}

static double lookup_mps(struct pt_table *pt)
{
	uint64_t t0 = bench_now_ns(), sum = 0;
	unsigned int n;

	for (n = 0; n < LOOKUPS; n++)
		sum += pt_iova_to_phys(pt, SZ_1G + ((n * 7) & 511) * SZ_4K + (n & 0xff));
	bench_sink(&sum);
	if (!sum)
		check(-EINVAL, "lookup result");
	return LOOKUPS / ((bench_now_ns() - t0) / 1e3);
}

/* --- dirty harvest over 1 GiB */

static uint64_t bitmap[NR_1G_PAGES / 64];

#define FLAT_D (1ull << 6)

static void flat_dirty(unsigned int pct)
{
	uint64_t i;

	for (i = 0; i < NR_1G_PAGES; i++)
		flat[i] = (OA_BASE + i * SZ_4K) | 0x3 | (pct && i % (100 / pct) == 0 ? FLAT_D : 0);
}

/* The same harvest over a flat array: test D, clear it atomically, set a bit */
static double flat_harvest_gibs(void)
{
	uint64_t t0 = bench_now_ns(), i;

	for (i = 0; i < NR_1G_PAGES; i++) {
		if (__builtin_expect(flat[i] & FLAT_D, 0)) {
			__atomic_fetch_and(&flat[i], ~FLAT_D, __ATOMIC_RELAXED);
			bitmap[i / 64] |= 1ull << (i % 64);
		}
	}
	bench_sink(bitmap);
	return 1.0 / ((bench_now_ns() - t0) / 1e9);
}

static void pt_make_dirty(struct pt_table *pt, unsigned int pct)
{
	struct pt_walk_result res;
	uint64_t i;

	check(pt_read_and_clear_dirty(pt, SZ_1G, SZ_1G, 0, NULL), "clear");
	for (i = 0; pct && i < NR_1G_PAGES; i += 100 / pct)
		check(pt_walk(pt, SZ_1G + i * SZ_4K, PT_WALK_WRITE, &res), "walk write");
}

static double harvest_gibs(struct pt_table *pt)
{
	struct pt_dirty d = { .bitmap = bitmap, .iova_base = SZ_1G, .pgshift = 12 };
	uint64_t t0 = bench_now_ns();

	check(pt_read_and_clear_dirty(pt, SZ_1G, SZ_1G, 0, &d), "harvest");
	return 1.0 / ((bench_now_ns() - t0) / 1e9);
}

int main(void)
{
	static const unsigned int pcts[] = { 0, 1, 100 };
	double v[BENCH_RUNS], b[BENCH_RUNS];
	char name[64];
	unsigned int i, r, p;

	flat = aligned_alloc(4096, NR_1G_PAGES * sizeof(*flat));
	if (!flat)
		return 1;
	memset(flat, 0, NR_1G_PAGES * sizeof(*flat));
	printf("bench_pt: page-table operations (median of %d runs)\n", BENCH_RUNS);

	for (i = 0; i < NR_FMTS; i++) {
		struct pt_table pt;

		/* warm the allocator and the code once */
		map_1g_us(i);
		for (r = 0; r < BENCH_RUNS; r++) {
			b[r] = flat_store_1g_us();
			v[r] = map_1g_us(i);
		}
		snprintf(name, sizeof(name), "pt_map_1g_4k_%s", fmts[i].name);
		bench_report(name, bench_median(v, BENCH_RUNS), "us", "flat_store_1g_4k",
			     bench_median(b, BENCH_RUNS));

		pt_new(&pt, i);
		/* the leaf table stays: unmapping one page does not cover it */
		check(pt_map(&pt, SZ_1G + 512 * SZ_4K, OA_BASE, SZ_4K, PT_READ, 0), "map");
		map_unmap_ns(&pt);
		for (r = 0; r < BENCH_RUNS; r++) {
			b[r] = flat_pair_ns();
			v[r] = map_unmap_ns(&pt);
		}
		snprintf(name, sizeof(name), "pt_map_unmap_4k_%s", fmts[i].name);
		bench_report(name, bench_median(v, BENCH_RUNS), "ns", "flat_store_clear",
			     bench_median(b, BENCH_RUNS));

		check(pt_map(&pt, SZ_1G, OA_BASE, 512 * SZ_4K, PT_READ | PT_WRITE, PT_MAP_NO_LARGE),
		      "map 2M");
		for (r = 0; r < BENCH_RUNS; r++) {
			b[r] = flat_lookup_mps();
			v[r] = lookup_mps(&pt);
		}
		snprintf(name, sizeof(name), "pt_lookup_hot_%s", fmts[i].name);
		bench_report(name, bench_median(v, BENCH_RUNS), "Mlookup/s", "flat_lookup",
			     bench_median(b, BENCH_RUNS));
		pt_deinit(&pt);

		pt_new(&pt, i);
		if (!pt_has_dirty(&pt)) {
			printf("  (%s has no dirty tracking)\n", fmts[i].name);
			pt_deinit(&pt);
			continue;
		}
		check(pt_map(&pt, SZ_1G, OA_BASE, SZ_1G, PT_READ | PT_WRITE, PT_MAP_NO_LARGE),
		      "map 1G");
		for (p = 0; p < sizeof(pcts) / sizeof(pcts[0]); p++) {
			for (r = 0; r < BENCH_RUNS; r++) {
				flat_dirty(pcts[p]);
				b[r] = flat_harvest_gibs();
				pt_make_dirty(&pt, pcts[p]);
				v[r] = harvest_gibs(&pt);
			}
			snprintf(name, sizeof(name), "pt_dirty_1g_%upct_%s", pcts[p], fmts[i].name);
			bench_report(name, bench_median(v, BENCH_RUNS), "GiB/s", "flat_harvest",
				     bench_median(b, BENCH_RUNS));
		}
		pt_deinit(&pt);
	}
	free(flat);
	return 0;
}
