// SPDX-License-Identifier: MIT
/*
 * How the core's bookkeeping scales: IOAS_MAP / IOAS_UNMAP of single 4 KiB
 * pages at shuffled IOVAs while 1k, 10k, 100k and 1M areas are live, driven
 * straight through uiommufd_ioctl() on an in-process context so that the
 * figures are the core's (no shim, no syscall).  Each figure is the median
 * of BENCH_RUNS batches, next to a baseline from the same run (bench.h):
 *
 *   scale_{map,unmap}_<cfg>_<n>
 *       ns per op with <n> areas live; <cfg> is nodom (no domain), 1dom (a
 *       mock domain: a paging HWPT of the mock driver in its AMDv1 format,
 *       4 KiB IOPTEs, on the IOAS), 2dom (two of them), samepage (one, and
 *       every area maps the same user page).  The 1k row's baseline is a
 *       store at a random index of a flat array of 1k entries; every other
 *       row's baseline is the same operation's 1k figure, so the ratio is
 *       the growth (goal: <= 3 at 1M).
 *   scale_storm_1dom_100k
 *       pairs/s of a map at a random free IOVA and an unmap of a random live
 *       area, a mock domain attached, 100k live (goal >= 1M/s); baseline:
 *       pairs/s of two raw syscalls (getppid), what a kernel crossing per op
 *       alone would allow.
 *   scale_{map,unmap}_nodom_1m_extra
 *       what the op costs at 1M live areas beyond its cost at 1k (ns),
 *       against one dependent load at a random line of 64 MiB (2 MiB pages
 *       where the system gives them, as the core's caches get), measured
 *       right after: the ratio is the growth counted in waits on memory,
 *       which no index of a million areas can take below one.
 *   scale_pairs_nodom
 *       pairs/s of a 4 KiB map and its unmap at one IOVA, no domain (goal
 *       >= 4M/s); baseline as above.
 *   scale_bytes_per_area_<cfg>
 *       malloc'ed bytes (mallinfo2: arena + mmap'ed chunks) and the core's
 *       object-cache chunks (slab_mapped_bytes(), 2 MiB each) per live area
 *       at 100k areas (goal <= 256 without a domain; with one the figure
 *       includes the host pin and the domain's IOPTE tables); baseline: the
 *       same accounting for a flat array of one pointer per area.
 *   scale_pin_bytes_per_page_{run,scattered}
 *       malloc'ed bytes per pinned page when 16k pages are pinned (pages.c
 *       called directly) in one pin, and one page in two, each its own pin
 *       (core and host bookkeeping together; goal <= 16 for the run);
 *       baseline as above.
 *
 * BENCH_SCALE_MAX (environment) caps the largest live count (default 1M);
 * BENCH_SCALE_ONLY (e.g. "nodom,1dom") picks configurations.
 * A configuration whose filling takes more than FILL_BUDGET_S seconds of
 * CPU prints its remaining rows as skipped, saying why.
 */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"
#define BENCH_NAME "bench_ioas_scale"
#include "bench_ctx.h"
#include "core/io_pagetable.h"
#include "core/slab.h"
#include "uiommufd.h"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

#define PG 4096ul

/*
 * A paging HWPT of the mock driver on @pt_id in the AMDv1 format, whose
 * aperture is the whole 64-bit space (the default mock format stops at
 * 2 GiB, too little for a million 4 KiB areas at spread-out IOVAs).
 */
static uint32_t hwpt_alloc(uint32_t dev_id, uint32_t pt_id)
{
	struct iommu_hwpt_selftest data = { .pagetable_type = MOCK_IOMMUPT_AMDV1 };
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .dev_id = dev_id, .pt_id = pt_id,
		.data_type = IOMMU_HWPT_DATA_SELFTEST, .data_len = sizeof(data),
		.data_uptr = (uintptr_t)&data,
	};

	check(ictl(IOMMU_HWPT_ALLOC, &cmd), "HWPT_ALLOC");
	return cmd.out_hwpt_id;
}

static inline void map_at(uint32_t ioas, const void *uva, uint64_t iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .user_va = (uintptr_t)uva, .length = PG,
		.iova = iova,
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 IOMMU_IOAS_MAP_FIXED_IOVA,
	};

	check(ictl(IOMMU_IOAS_MAP, &cmd), "IOAS_MAP");
}

static inline void unmap_at(uint32_t ioas, uint64_t iova)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = PG,
	};

	check(ictl(IOMMU_IOAS_UNMAP, &cmd), "IOAS_UNMAP");
}

/*
 * Thread CPU time (user and system), not wall time: the machines this runs
 * on are shared, and a batch descheduled half way says nothing about the
 * core.  Every figure here and its baseline use this clock.
 */
static inline uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* malloc's bytes and the core's object-cache chunks (slab.h), mapped whole. */
static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd + slab_mapped_bytes();
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static inline uint32_t rnd(uint32_t below)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % below);
}

/* ------------------------------------------------ live areas at shuffled IOVAs */

enum cfg { CFG_NODOM, CFG_1DOM, CFG_2DOM, CFG_SAMEPAGE, NR_CFG };
static const char *const cfg_name[NR_CFG] = { "nodom", "1dom", "2dom", "samepage" };

/*
 * Slots are 4 KiB IOVAs from 4 GiB up; @live and @idle list the
 * slots mapped and not, @where each slot's index in its list, so a random
 * one of either kind is picked and moved in O(1).
 */
struct field {
	uint32_t ioas;
	uint32_t nslots;
	uint32_t *live, *idle, *where;
	uint32_t nlive, nidle;
	uint8_t *src;
	uint32_t src_pages;
	bool same_page;
};

#define SLOT_BASE (1ull << 32)

static inline uint64_t slot_iova(uint32_t slot)
{
	return SLOT_BASE + (uint64_t)slot * PG;
}

static inline const void *slot_src(const struct field *f, uint32_t slot)
{
	return f->src + (f->same_page ? 0 : (uint64_t)(slot % f->src_pages) * PG);
}

static void list_move(uint32_t *from, uint32_t *nfrom, uint32_t *to, uint32_t *nto,
		      uint32_t *where, uint32_t slot)
{
	uint32_t i = where[slot], tail = from[--*nfrom];

	from[i] = tail;
	where[tail] = i;
	to[*nto] = slot;
	where[slot] = (*nto)++;
}

static void field_map(struct field *f, uint32_t slot)
{
	map_at(f->ioas, slot_src(f, slot), slot_iova(slot));
	list_move(f->idle, &f->nidle, f->live, &f->nlive, f->where, slot);
}

/* Fill up to @n live areas; false if that takes more than @budget_s of CPU time. */
static bool field_fill(struct field *f, uint32_t n, double budget_s)
{
	uint64_t stop = cpu_ns() + (uint64_t)(budget_s * 1e9);

	while (f->nlive < n) {
		field_map(f, f->idle[rnd(f->nidle)]);
		if (!(f->nlive & 1023) && cpu_ns() > stop)
			return false;
	}
	return true;
}

/* A row that could not be measured, said so in the results too. */
static void report_skipped(const char *name, const char *why)
{
	FILE *out = fopen(bench_results_path(), "a");

	printf("  %-40s skipped: %s\n", name, why);
	if (out) {
		fprintf(out, "%s skipped: %s\n", name, why);
		fclose(out);
	}
}

#define BATCH 2000u

/*
 * ns per map and per unmap, BENCH_RUNS batches: each maps up to BATCH
 * random free slots, then unmaps as many random live areas, so the live
 * count stays near where it was.  The slots are drawn before the clock
 * starts; the lists are brought up to date after it stops.
 */
static void field_measure(struct field *f, double *map_ns, double *unmap_ns)
{
	static uint32_t pick[BATCH];
	double m[BENCH_RUNS], u[BENCH_RUNS];
	uint32_t k = f->nlive / 2 < BATCH ? f->nlive / 2 : BATCH, i;
	int r;

	for (r = 0; r != BENCH_RUNS; r++) {
		uint64_t t0;

		for (i = 0; i != k; i++) {
			uint32_t j = i + rnd(f->nidle - i);
			uint32_t s = f->idle[j];

			/* A partial shuffle: the first k idle slots, distinct. */
			f->idle[j] = f->idle[i];
			f->where[f->idle[j]] = j;
			f->idle[i] = s;
			f->where[s] = i;
			pick[i] = s;
		}
		t0 = cpu_ns();
		for (i = 0; i != k; i++)
			map_at(f->ioas, slot_src(f, pick[i]), slot_iova(pick[i]));
		m[r] = (double)(cpu_ns() - t0) / k;
		for (i = 0; i != k; i++)
			list_move(f->idle, &f->nidle, f->live, &f->nlive, f->where, pick[i]);

		for (i = 0; i != k; i++) {
			uint32_t j = i + rnd(f->nlive - i);
			uint32_t s = f->live[j];

			f->live[j] = f->live[i];
			f->where[f->live[j]] = j;
			f->live[i] = s;
			f->where[s] = i;
			pick[i] = s;
		}
		t0 = cpu_ns();
		for (i = 0; i != k; i++)
			unmap_at(f->ioas, slot_iova(pick[i]));
		u[r] = (double)(cpu_ns() - t0) / k;
		for (i = 0; i != k; i++)
			list_move(f->live, &f->nlive, f->idle, &f->nidle, f->where, pick[i]);
	}
	*map_ns = bench_median(m, BENCH_RUNS);
	*unmap_ns = bench_median(u, BENCH_RUNS);
}

/* ns per store at a random index of a flat array of @n entries: the 1k rows' baseline. */
static double flat_store_ns(uint32_t n)
{
	static uint32_t idx[BATCH];
	uint64_t *arr = calloc(n, sizeof(*arr));
	double v[BENCH_RUNS];
	uint32_t i;
	int r;

	if (!arr)
		die("out of memory");
	for (r = 0; r != BENCH_RUNS; r++) {
		uint64_t t0;
		int rep;

		for (i = 0; i != BATCH; i++)
			idx[i] = rnd(n);
		t0 = cpu_ns();
		for (rep = 0; rep != 100; rep++)
			for (i = 0; i != BATCH; i++)
				arr[idx[i]] = i + (uint64_t)rep;
		bench_sink(arr);
		v[r] = (double)(cpu_ns() - t0) / (100.0 * BATCH);
	}
	free(arr);
	return bench_median(v, BENCH_RUNS);
}

/* ns per dependent load at a random line of @bytes: one wait on memory. */
static double random_load_ns(size_t bytes)
{
	size_t lines = bytes / 64, i;
	uint8_t *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t *order = malloc(lines * sizeof(*order));
	double v[BENCH_RUNS];
	void **p;
	int r;

	if (mem == MAP_FAILED || !order)
		die("out of memory for the memory-latency baseline");
	madvise(mem, bytes, MADV_HUGEPAGE);
	/* One cycle through every line in a random order: each load waits on the last. */
	for (i = 0; i != lines; i++)
		order[i] = (uint32_t)i;
	for (i = lines - 1; i; i--) {
		size_t j = rnd((uint32_t)i + 1);
		uint32_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i != lines; i++)
		*(void **)(mem + (size_t)order[i] * 64) = mem + (size_t)order[(i + 1) % lines] * 64;
	p = (void **)(mem + (size_t)order[0] * 64);
	for (r = 0; r != BENCH_RUNS; r++) {
		uint64_t t0 = cpu_ns();

		for (i = 0; i != 200000; i++)
			p = *p;
		v[r] = (double)(cpu_ns() - t0) / 200000;
	}
	bench_sink(p);
	free(order);
	munmap(mem, bytes);
	return bench_median(v, BENCH_RUNS);
}

/* Pairs/s of two raw syscalls: the crossing a kernel path pays per op. */
static double syscall_pairs_per_s(void)
{
	double v[BENCH_RUNS];
	int r, i;

	for (r = 0; r != BENCH_RUNS; r++) {
		uint64_t t0 = cpu_ns();

		for (i = 0; i != 20000; i++) {
			syscall(SYS_getppid);
			syscall(SYS_getppid);
		}
		v[r] = 20000 / ((double)(cpu_ns() - t0) / 1e9);
	}
	return bench_median(v, BENCH_RUNS);
}

/* Pairs/s of a map at a random free slot and an unmap of a random live area. */
static double field_storm(struct field *f)
{
	enum { PAIRS = 20000 };
	static uint32_t in[PAIRS], out[PAIRS];
	double v[BENCH_RUNS];
	uint32_t i;
	int r;

	for (r = 0; r != BENCH_RUNS; r++) {
		uint64_t t0;

		/* Drawn ahead: PAIRS distinct idle slots in, PAIRS distinct live areas out. */
		for (i = 0; i != PAIRS; i++) {
			uint32_t j = i + rnd(f->nidle - i), s = f->idle[j];

			f->idle[j] = f->idle[i];
			f->where[f->idle[j]] = j;
			f->idle[i] = s;
			f->where[s] = i;
			in[i] = s;
			j = i + rnd(f->nlive - i);
			s = f->live[j];
			f->live[j] = f->live[i];
			f->where[f->live[j]] = j;
			f->live[i] = s;
			f->where[s] = i;
			out[i] = s;
		}
		t0 = cpu_ns();
		for (i = 0; i != PAIRS; i++) {
			map_at(f->ioas, slot_src(f, in[i]), slot_iova(in[i]));
			unmap_at(f->ioas, slot_iova(out[i]));
		}
		v[r] = PAIRS / ((double)(cpu_ns() - t0) / 1e9);
		for (i = 0; i != PAIRS; i++) {
			list_move(f->idle, &f->nidle, f->live, &f->nlive, f->where, in[i]);
			list_move(f->live, &f->nlive, f->idle, &f->nidle, f->where, out[i]);
		}
	}
	return bench_median(v, BENCH_RUNS);
}

/* Bytes per entry of a flat array of @n pointers, by the same accounting. */
static double flat_array_bytes(uint32_t n)
{
	size_t before = heap_bytes();
	void **arr = calloc(n, sizeof(*arr));
	double per;

	if (!arr)
		die("out of memory");
	per = (double)(heap_bytes() - before) / n;
	free(arr);
	return per;
}

static const uint32_t sizes[] = { 1000, 10000, 100000, 1000000 };
#define NR_SIZES (sizeof(sizes) / sizeof(sizes[0]))

static const char *size_name(uint32_t n)
{
	return n == 1000 ? "1k" : n == 10000 ? "10k" : n == 100000 ? "100k" : "1m";
}

#define FILL_BUDGET_S 120

static void bench_cfg(enum cfg c, uint32_t max_live, double syscall_pairs)
{
	struct field f = { .same_page = c == CFG_SAMEPAGE };
	double map1k = 0, unmap1k = 0, flat = 0;
	uint32_t stdev = 0, idev, hwpt1 = 0, hwpt2 = 0, scratch = 0, i;
	size_t n, heap0;
	char name[80];

	f.nslots = 2 * max_live + 2 * BATCH;
	f.live = calloc(f.nslots, sizeof(uint32_t));
	f.idle = calloc(f.nslots, sizeof(uint32_t));
	f.where = calloc(f.nslots, sizeof(uint32_t));
	if (!f.live || !f.idle || !f.where)
		die("out of memory");
	for (i = 0; i != f.nslots; i++) {
		f.idle[i] = i;
		f.where[i] = i;
	}
	f.nidle = f.nslots;
	f.src_pages = 16384;	/* 64 MiB of distinct pages, reused round the slots */
	f.src = mmap(NULL, (size_t)f.src_pages * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (f.src == MAP_FAILED)
		die("cannot mmap the source pages: %m");

	f.ioas = ioas_alloc();
	if (c != CFG_NODOM) {
		/* The device lives on a scratch IOAS; its HWPTs mirror ours. */
		scratch = ioas_alloc();
		idev = mock_domain(scratch, &stdev);
		hwpt1 = hwpt_alloc(idev, f.ioas);
		if (c == CFG_2DOM)
			hwpt2 = hwpt_alloc(idev, f.ioas);
	}
	heap0 = heap_bytes();

	for (n = 0; n != NR_SIZES && sizes[n] <= max_live; n++) {
		double map_ns, unmap_ns;
		uint64_t t0 = cpu_ns();

		if (!field_fill(&f, sizes[n], FILL_BUDGET_S)) {
			char why[160];

			snprintf(why, sizeof(why), "filling %u areas took over %d s of CPU (at %u)",
				 sizes[n], FILL_BUDGET_S, f.nlive);
			for (; n != NR_SIZES && sizes[n] <= max_live; n++) {
				snprintf(name, sizeof(name), "scale_map_%s_%s", cfg_name[c],
					 size_name(sizes[n]));
				report_skipped(name, why);
				snprintf(name, sizeof(name), "scale_unmap_%s_%s", cfg_name[c],
					 size_name(sizes[n]));
				report_skipped(name, why);
			}
			break;
		}
		if (sizes[n] == 100000 && (c == CFG_NODOM || c == CFG_1DOM)) {
			snprintf(name, sizeof(name), "scale_bytes_per_area_%s", cfg_name[c]);
			bench_report(name, (double)(heap_bytes() - heap0) / f.nlive, "B",
				     "flat_pointer_array", flat_array_bytes(f.nlive));
		}
		field_measure(&f, &map_ns, &unmap_ns);
		if (sizes[n] == 1000) {
			flat = flat_store_ns(sizes[n]);
			map1k = map_ns;
			unmap1k = unmap_ns;
		}
		snprintf(name, sizeof(name), "scale_map_%s_%s", cfg_name[c], size_name(sizes[n]));
		if (sizes[n] == 1000)
			bench_report(name, map_ns, "ns", "flat_store_1k", flat);
		else
			bench_report(name, map_ns, "ns", "same_op_at_1k", map1k);
		snprintf(name, sizeof(name), "scale_unmap_%s_%s", cfg_name[c], size_name(sizes[n]));
		if (sizes[n] == 1000)
			bench_report(name, unmap_ns, "ns", "flat_store_1k", flat);
		else
			bench_report(name, unmap_ns, "ns", "same_op_at_1k", unmap1k);
		if (sizes[n] == 1000000 && c == CFG_NODOM) {
			double miss = random_load_ns(64ul << 20);

			snprintf(name, sizeof(name), "scale_map_%s_1m_extra", cfg_name[c]);
			bench_report(name, map_ns - map1k, "ns", "random_load_64m", miss);
			snprintf(name, sizeof(name), "scale_unmap_%s_1m_extra", cfg_name[c]);
			bench_report(name, unmap_ns - unmap1k, "ns", "random_load_64m", miss);
		}
		if (sizes[n] == 100000 && c == CFG_1DOM)
			bench_report("scale_storm_1dom_100k", field_storm(&f), "pairs/s",
				     "syscall_pairs", syscall_pairs);
		fprintf(stderr, "  (%s: %u live, fill and measure %.1f CPU s)\n", cfg_name[c], f.nlive,
			(double)(cpu_ns() - t0) / 1e9);
	}
	destroy(hwpt2);
	destroy(hwpt1);
	destroy(stdev);
	destroy(scratch);
	destroy(f.ioas);
	munmap(f.src, (size_t)f.src_pages * PG);
	free(f.live);
	free(f.idle);
	free(f.where);
}

/* 4 KiB map and unmap at one IOVA, no domain. */
static void bench_pairs(double syscall_pairs)
{
	enum { PAIRS = 200000 };
	uint8_t *page = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	uint32_t ioas = ioas_alloc();
	double v[BENCH_RUNS];
	int r, i;

	for (i = 0; i != 1000; i++) {
		map_at(ioas, page, MOCK_APERTURE_START);
		unmap_at(ioas, MOCK_APERTURE_START);
	}
	for (r = 0; r != BENCH_RUNS; r++) {
		uint64_t t0 = cpu_ns();

		for (i = 0; i != PAIRS; i++) {
			map_at(ioas, page, MOCK_APERTURE_START);
			unmap_at(ioas, MOCK_APERTURE_START);
		}
		v[r] = PAIRS / ((double)(cpu_ns() - t0) / 1e9);
	}
	bench_report("scale_pairs_nodom", bench_median(v, BENCH_RUNS), "pairs/s", "syscall_pairs",
		     syscall_pairs);
	destroy(ioas);
	munmap(page, PG);
}

/*
 * Bytes of bookkeeping per pinned page, pinning through pages.c directly:
 * 64 MiB in one pin, then one page in two, each its own pin (a user of
 * each, as accesses pinning page by page make).
 */
static void bench_pin_bytes(void)
{
	enum { NPG = 16384 };
	uint8_t *mem = mmap(NULL, (size_t)NPG * PG, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct iopt_pages *pages;
	double flat = flat_array_bytes(NPG);
	size_t before;
	uint32_t i;

	if (mem == MAP_FAILED)
		die("cannot mmap: %m");
	pages = iopt_alloc_user_pages((struct iommufd_ctx *)ctx, (uintptr_t)mem,
				      (size_t)NPG * PG, true);
	if (IS_ERR(pages))
		die("iopt_alloc_user_pages: %ld", PTR_ERR(pages));

	before = heap_bytes();
	check(iopt_pages_pin(pages, 0, NPG - 1), "iopt_pages_pin");
	bench_report("scale_pin_bytes_per_page_run", (double)(heap_bytes() - before) / NPG, "B",
		     "flat_pointer_array", flat);
	iopt_pages_unpin(pages, 0, NPG - 1);

	before = heap_bytes();
	for (i = 0; i < NPG; i += 2)
		check(iopt_pages_pin(pages, i, i), "iopt_pages_pin");
	bench_report("scale_pin_bytes_per_page_scattered",
		     (double)(heap_bytes() - before) / (NPG / 2), "B", "flat_pointer_array", flat);
	for (i = 0; i < NPG; i += 2)
		iopt_pages_unpin(pages, i, i);
	iopt_put_pages(pages);
	munmap(mem, (size_t)NPG * PG);
}

int main(void)
{
	const char *cap = getenv("BENCH_SCALE_MAX"), *only = getenv("BENCH_SCALE_ONLY");
	uint32_t max_live = cap && *cap ? (uint32_t)strtoul(cap, NULL, 0) : 1000000;
	double syscall_pairs;
	int c;

	if (uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx))
		die("cannot open a context");
	printf("bench_ioas_scale: single-page IOAS_MAP/UNMAP with many areas live (median of %d)\n",
	       BENCH_RUNS);
	syscall_pairs = syscall_pairs_per_s();
	bench_pairs(syscall_pairs);
	bench_pin_bytes();
	for (c = 0; c != NR_CFG; c++)
		if (!only || !*only || strstr(only, cfg_name[c]))
			bench_cfg((enum cfg)c, max_live, syscall_pairs);
	uiommufd_ctx_put(ctx);
	return 0;
}
