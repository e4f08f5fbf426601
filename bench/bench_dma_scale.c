// SPDX-License-Identifier: MIT
/*
 * The DMA path and the host's pins at scale, each figure next to a baseline
 * measured in the same run (bench.h).  bench_domain walks a 64 MiB region,
 * whose copies run at DRAM speed; here the region is small enough to stay
 * in cache, so the cost of translation is not hidden behind memory:
 *
 *   dma4k_hot_{read,write}_<sz>
 *                      uiommufd_device_dma() of <sz> chunks over a 256 KiB
 *                      region mapped with 4 KiB IOPTEs (HUGE_PAGES off) in
 *                      a real AMDv1 domain, pass after pass, vs memcpy of
 *                      the same chunks between the same buffers (GB/s)
 *   dma2k_hot_{read,write}_<sz>
 *                      the same through the selftest's mock format, whose
 *                      2 KiB granule gives two IOPTEs per CPU page
 *   access_rw_hot_{read,write}_<sz>
 *                      IOMMU_TEST_OP_ACCESS_RW of the same, vs memcpy
 *   repin_<n>          pin_user() and unpin() of one page that <n> other
 *                      pins already hold (a page mapped at <n> IOVAs), ns
 *                      per pin+unpin, vs the same with one pin held: the
 *                      ratio is how the cost grows with the pins
 *   repin_bytes_<n>    bytes of malloc'd host bookkeeping per pin of that
 *                      page (mallinfo2 deltas), vs a flat array of one
 *                      8-byte address per pinned page
 *   pin_bytes_1g       the same per page for 1 GiB pinned in one pin
 *   map_hugetlb_1g     IOAS_MAP of 1 GiB of hugetlb memory (2 MiB pages)
 *                      into an IOAS whose device sits on a real AMDv1
 *                      domain, vs pt_map() of the same 1 GiB as 2 MiB
 *                      leaves into an empty AMDv1 table; prints "skipped:
 *                      no hugetlb pages" without them
 *
 * Each figure is the median of BENCH_RUNS runs.
 */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#define BENCH_NAME "bench_dma_scale"
#include "bench_ctx.h"
#include "core/host.h"
#include "iommu/iommu.h"
#include "pt/pt.h"
#include "uiommufd.h"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

#define SZ_1G (1ull << 30)
#define SZ_2M (2ull << 20)
#define HOT_LEN (256ull << 10)
#define HOT_BYTES (64ull << 20)	/* bytes moved per measurement */


static long ioas_map(uint32_t ioas, void *mem, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .user_va = (uintptr_t)mem, .length = len,
		.iova = iova,
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 IOMMU_IOAS_MAP_FIXED_IOVA,
	};

	return ictl(IOMMU_IOAS_MAP, &cmd);
}

static void *map_mem(size_t len, int extra)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ------------------------------------------------------ hot DMA and ACCESS_RW */

static const size_t chunks[] = { 64, 4096, 65536 };
#define NR_CHUNKS (sizeof(chunks) / sizeof(chunks[0]))

static const char *chunk_name(size_t chunk)
{
	return chunk == 64 ? "64" : chunk == 4096 ? "4k" : "64k";
}

struct rig {
	uint8_t *region, *dev;
	uint64_t iova;
	uint32_t idev;
	int access_fd;
	bool write;
};

typedef void (*chunk_op)(struct rig *g, size_t off, size_t chunk);

static void memcpy_chunk(struct rig *g, size_t off, size_t chunk)
{
	if (g->write)
		memcpy(g->region + off, g->dev + off, chunk);
	else
		memcpy(g->dev + off, g->region + off, chunk);
	bench_sink(g->dev);
}

static void dma_chunk(struct rig *g, size_t off, size_t chunk)
{
	int rc = uiommufd_device_dma(ctx, g->idev, g->iova + off, g->dev + off, chunk,
				     g->write ? UIOMMUFD_DMA_WRITE : 0);

	if (rc)
		die("device DMA at offset %zu failed: %d", off, rc);
}

static void access_rw_chunk(struct rig *g, size_t off, size_t chunk)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)g->access_fd,
		.access_rw = { .iova = g->iova + off, .length = chunk,
			       .uptr = (uintptr_t)(g->dev + off),
			       .flags = g->write ? MOCK_ACCESS_RW_WRITE : 0 },
	};
	long rc = ictl(IOMMU_TEST_CMD, &cmd);

	if (rc)
		die("ACCESS_RW at offset %zu failed: %ld", off, rc);
}

/*
 * GB/s of memcpy (*@base) and of @op (*@gbs), each moving HOT_BYTES in
 * @chunk pieces round and round the hot region.  They take turns a pass of
 * the region at a time (a few microseconds), the first of each pair
 * alternating, so a neighbour's burst or a frequency change hits both.
 */
static void hot_gbs(chunk_op op, struct rig *g, size_t chunk, double *gbs, double *base)
{
	uint64_t ns[2] = { 0, 0 }, moved;
	size_t off;
	int turn, k;

	for (moved = 0; moved < HOT_BYTES; moved += HOT_LEN) {
		for (turn = 0; turn != 2; turn++) {
			chunk_op now;
			uint64_t t0;

			k = turn ^ (int)((moved / HOT_LEN) & 1);
			now = k ? op : memcpy_chunk;
			t0 = bench_now_ns();
			for (off = 0; off < HOT_LEN; off += chunk)
				now(g, off, chunk);
			ns[k] += bench_now_ns() - t0;
		}
	}
	*base = (double)HOT_BYTES / (double)ns[0];
	*gbs = (double)HOT_BYTES / (double)ns[1];
}

static void bench_hot(struct rig *g, const char *prefix, chunk_op op)
{
	double v[BENCH_RUNS], b[BENCH_RUNS];
	char name[64];
	size_t c;
	int w, r;

	for (w = 0; w != 2; w++) {
		g->write = w;
		for (c = 0; c != NR_CHUNKS; c++) {
			hot_gbs(op, g, chunks[c], &v[0], &b[0]);	/* warm up */
			for (r = 0; r != BENCH_RUNS; r++)
				hot_gbs(op, g, chunks[c], &v[r], &b[r]);
			snprintf(name, sizeof(name), "%s_%s_%s", prefix, w ? "write" : "read",
				 chunk_name(chunks[c]));
			bench_report(name, bench_median(v, BENCH_RUNS), "GB/s", "memcpy",
				     bench_median(b, BENCH_RUNS));
		}
	}
	if (memcmp(g->region, g->dev, HOT_LEN))
		die("%s: region and device buffer differ after the last write pass", prefix);
}

/* An AMDv1 paging domain (2 MiB and 1 GiB leaves) under a mock device on @ioas. */
static uint32_t amdv1_domain(uint32_t ioas, uint32_t idev)
{
	struct iommu_hwpt_selftest data = { .pagetable_type = MOCK_IOMMUPT_AMDV1 };
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc), .dev_id = idev, .pt_id = ioas,
		.data_type = IOMMU_HWPT_DATA_SELFTEST, .data_len = sizeof(data),
		.data_uptr = (uintptr_t)&data,
	};

	check(ictl(IOMMU_HWPT_ALLOC, &alloc), "HWPT_ALLOC (AMDv1)");
	return alloc.out_hwpt_id;
}

/* Point the mock device @stdev at @hwpt, leaving its automatic domain. */
static void replace_domain(uint32_t stdev, uint32_t hwpt)
{
	struct iommu_test_cmd replace = { .size = sizeof(replace),
					  .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev };

	replace.mock_domain_replace.pt_id = hwpt;
	check(ictl(IOMMU_TEST_CMD, &replace), "MOCK_DOMAIN_REPLACE");
}

static void bench_dma_hot(void)
{
	struct iommu_test_cmd create = {
		.size = sizeof(create), .op = IOMMU_TEST_OP_CREATE_ACCESS,
	};
	struct rig g = { .iova = MOCK_APERTURE_START };
	uint32_t ioas = ioas_alloc(), stdev, mock_hwpt, amd_hwpt;
	struct iommu_test_cmd md = { .size = sizeof(md), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	size_t i;

	g.region = map_mem(HOT_LEN, MAP_POPULATE);
	g.dev = map_mem(HOT_LEN, MAP_POPULATE);
	if (!g.region || !g.dev)
		die("cannot mmap the hot region");
	for (i = 0; i != HOT_LEN; i++)
		g.dev[i] = (uint8_t)(i * 31 + 7);
	huge_pages(ioas, 0);
	md.id = ioas;
	check(ictl(IOMMU_TEST_CMD, &md), "MOCK_DOMAIN");
	g.idev = md.mock_domain.out_idev_id;
	stdev = md.mock_domain.out_stdev_id;
	amd_hwpt = amdv1_domain(ioas, g.idev);
	{
		/* A mock-format domain of our own: the automatic one goes once left. */
		struct iommu_hwpt_alloc alloc = { .size = sizeof(alloc), .dev_id = g.idev,
						  .pt_id = ioas };

		check(ictl(IOMMU_HWPT_ALLOC, &alloc), "HWPT_ALLOC");
		mock_hwpt = alloc.out_hwpt_id;
	}
	check(ioas_map(ioas, g.region, HOT_LEN, g.iova), "IOAS_MAP");
	replace_domain(stdev, amd_hwpt);
	bench_hot(&g, "dma4k_hot", dma_chunk);
	replace_domain(stdev, mock_hwpt);
	bench_hot(&g, "dma2k_hot", dma_chunk);

	create.id = ioas;
	check(ictl(IOMMU_TEST_CMD, &create), "CREATE_ACCESS");
	g.access_fd = (int)create.create_access.out_access_fd;
	bench_hot(&g, "access_rw_hot", access_rw_chunk);

	uiommufd_host_inproc_fd_closed(g.access_fd);
	close(g.access_fd);
	ioas_unmap(ioas, g.iova, HOT_LEN);
	destroy(stdev);
	destroy(amd_hwpt);
	destroy(mock_hwpt);
	destroy(ioas);
	munmap(g.region, HOT_LEN);
	munmap(g.dev, HOT_LEN);
}

/* ---------------------------------------------------------------- re-pinning */

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* ns per pin+unpin of @page while @held other pins of it live. */
static double repin_ns(struct uiommufd_host *host, uint8_t *page, struct host_pin **held,
		       size_t nheld, size_t *bytes_per_pin)
{
	const size_t reps = 2000;
	struct host_pin *pin;
	size_t before = heap_bytes(), i;
	uint64_t t0;

	for (i = 0; i != nheld; i++)
		check(host->ops->pin_user(host, (uintptr_t)page, 4096, true, &held[i]), "pin_user");
	if (bytes_per_pin)
		*bytes_per_pin = nheld ? (heap_bytes() - before) / nheld : 0;
	t0 = bench_now_ns();
	for (i = 0; i != reps; i++) {
		check(host->ops->pin_user(host, (uintptr_t)page, 4096, true, &pin), "pin_user");
		host->ops->unpin(host, pin);
	}
	t0 = bench_now_ns() - t0;
	for (i = 0; i != nheld; i++)
		host->ops->unpin(host, held[i]);
	return (double)t0 / (double)reps;
}

static void bench_repin(void)
{
	static const size_t counts[] = { 1000, 10000, 100000, 1000000 };
	struct uiommufd_host *host = uiommufd_host_inproc();
	double v[BENCH_RUNS], b[BENCH_RUNS], bytes = 0;
	struct host_pin **held = calloc(counts[3], sizeof(*held));
	uint8_t *page = map_mem(4096, MAP_POPULATE);
	char name[64];
	size_t c, per;
	int r, runs;

	if (!held || !page)
		die("cannot allocate for the re-pin rows");
	for (c = 0; c != sizeof(counts) / sizeof(counts[0]); c++) {
		bytes = 0;
		/* A million pins take a while to build: fewer runs there. */
		runs = counts[c] >= 1000000 ? 3 : BENCH_RUNS;
		for (r = 0; r != runs; r++) {
			b[r] = repin_ns(host, page, held, 1, NULL);
			v[r] = repin_ns(host, page, held, counts[c], &per);
			/* The largest: later runs reuse what the first one allocated. */
			if ((double)per > bytes)
				bytes = (double)per;
		}
		snprintf(name, sizeof(name), "repin_%zu", counts[c]);
		bench_report(name, bench_median(v, runs), "ns", "repin_1", bench_median(b, runs));
		snprintf(name, sizeof(name), "repin_bytes_%zu", counts[c]);
		bench_report(name, bytes, "B", "pfn_array_8B", 8.0);
	}
	free(held);
	munmap(page, 4096);
}

/* One pin of 1 GiB of 4 KiB pages: what the host keeps per page. */
static void bench_pin_bytes(void)
{
	struct uiommufd_host *host = uiommufd_host_inproc();
	uint8_t *mem = map_mem(SZ_1G, MAP_POPULATE);
	struct host_pin *pin;
	size_t before;

	if (!mem)
		die("cannot mmap 1 GiB");
	before = heap_bytes();
	check(host->ops->pin_user(host, (uintptr_t)mem, SZ_1G, true, &pin), "pin_user");
	bench_report("pin_bytes_1g", (double)(heap_bytes() - before) / (double)(SZ_1G / 4096), "B",
		     "pfn_array_8B", 8.0);
	host->ops->unpin(host, pin);
	munmap(mem, SZ_1G);
}

/* ---------------------------------------------------------- 1 GiB of hugetlb */

static void bench_hugetlb_map(void)
{
	double v[BENCH_RUNS], b[BENCH_RUNS];
	uint8_t *mem = map_mem(SZ_1G, MAP_HUGETLB | (21 << MAP_HUGE_SHIFT) | MAP_POPULATE);
	uint32_t ioas, stdev, idev, hwpt;
	const uint64_t iova = SZ_1G;
	int r;

	if (!mem) {
		printf("  %-40s skipped: no hugetlb pages (echo 1024 > /proc/sys/vm/nr_hugepages)\n",
		       "map_hugetlb_1g");
		return;
	}
	ioas = ioas_alloc();
	idev = mock_domain(ioas, &stdev);
	hwpt = amdv1_domain(ioas, idev);
	/* The device leaves its 2 KiB mock domain: only the AMDv1 one remains. */
	replace_domain(stdev, hwpt);
	check(ioas_map(ioas, mem, SZ_1G, iova), "IOAS_MAP");	/* warm up */
	ioas_unmap(ioas, iova, SZ_1G);
	for (r = 0; r != BENCH_RUNS; r++) {
		struct pt_table pt;
		uint64_t t0, t1;

		check(pt_init(&pt, PT_FMT_AMDV1, &(struct pt_cfg){ .top_level = 5 }), "pt_init");
		t0 = bench_now_ns();
		check(pt_map(&pt, iova, (uintptr_t)mem, SZ_1G, PT_READ | PT_WRITE, 0), "pt_map");
		t1 = bench_now_ns();
		pt_deinit(&pt);
		b[r] = (t1 - t0) / 1e3;

		t0 = bench_now_ns();
		check(ioas_map(ioas, mem, SZ_1G, iova), "IOAS_MAP");
		t1 = bench_now_ns();
		ioas_unmap(ioas, iova, SZ_1G);
		v[r] = (t1 - t0) / 1e3;
	}
	bench_report("map_hugetlb_1g", bench_median(v, BENCH_RUNS), "us", "pt_map_1g_amdv1_2m",
		     bench_median(b, BENCH_RUNS));
	destroy(stdev);
	destroy(hwpt);
	destroy(ioas);
	munmap(mem, SZ_1G);
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : "";

	if (uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx))
		die("cannot open a context");
	printf("bench_dma_scale: the DMA path and host pins (median of %d runs)\n", BENCH_RUNS);
	if (!*only || !strcmp(only, "dma"))
		bench_dma_hot();
	if (!*only || !strcmp(only, "hugetlb"))
		bench_hugetlb_map();
	if (!*only || !strcmp(only, "pins")) {
		bench_pin_bytes();
		bench_repin();
	}
	uiommufd_ctx_put(ctx);
	return 0;
}
