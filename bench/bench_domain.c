// SPDX-License-Identifier: MIT
/*
 * Domain benchmarks: the mock IOMMU driven through uiommufd_ioctl(), each
 * figure next to a baseline measured in the same run (bench.h):
 *
 *   map_1g_<n>dom      IOAS_MAP of 1 GiB of populated 4 KiB pages with n = 0,
 *                      1, 2 mock domains attached and HUGE_PAGES=0 (every
 *                      CPU page its own IOPTEs, the kernel's 4 KiB case),
 *                      vs pt_map() of the same 1 GiB into an empty
 *                      PT_FMT_AMDV1_MOCK table with PT_MAP_NO_LARGE: the
 *                      page-table work alone
 *   unmap_1g_<n>dom    the IOAS_UNMAP that follows, vs pt_unmap() of that
 *                      table
 *   dma_{read,write}_<sz>
 *                      uiommufd_device_dma() of <sz> chunks walking a 64 MiB
 *                      mapped region, vs memcpy of the same chunks between
 *                      the same buffers (GB/s).  The region is 2 MiB
 *                      aligned, as a VMM lays out guest RAM for huge pages,
 *                      so the domain gets large IOPTEs
 *   dma_{read,write}_<sz>_vs_engine
 *                      the same DMA figure against the DMA engine's own copy
 *                      (iommu_dma_memcpy(), which moves pages with x86's
 *                      string move where memcpy uses a vector loop) of the
 *                      same chunks without any translation: the price of
 *                      the IOMMU alone
 *   dma4k_{read,write}_<sz>[_vs_engine]
 *                      the same with huge pages off: one 4 KiB IOPTE per
 *                      CPU page, so every 4 KiB chunk is a page walk
 *   access_rw_{read,write}_<sz>
 *                      IOMMU_TEST_OP_ACCESS_RW through an access, likewise
 *
 * Each figure is the median of BENCH_RUNS runs.  The copy rows move the
 * region a 1 MiB slice at a time, the op and its baselines taking turns
 * on slices far apart (interleaved_gbs()), so both see the same machine.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#define BENCH_NAME "bench_domain"
#include "bench_ctx.h"
#include "iommu/iommu.h"
#include "pt/pt.h"
#include "uiommufd.h"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

#define SZ_1G (1ull << 30)
#define SZ_64M (64ull << 20)
#define SZ_2M (2ull << 20)


static uint32_t hwpt_alloc(uint32_t dev_id, uint32_t pt_id)
{
	struct iommu_hwpt_alloc cmd = { .size = sizeof(cmd), .dev_id = dev_id, .pt_id = pt_id };

	check(ictl(IOMMU_HWPT_ALLOC, &cmd), "HWPT_ALLOC");
	return cmd.out_hwpt_id;
}

static uint64_t ioas_map(uint32_t ioas, void *mem, uint64_t len, uint64_t iova, uint32_t flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .user_va = (uintptr_t)mem, .length = len,
		.iova = iova,
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | flags,
	};

	check(ictl(IOMMU_IOAS_MAP, &cmd), "IOAS_MAP");
	return cmd.iova;
}

static void *map_mem(size_t len, int extra)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra,
		       -1, 0);

	if (p == MAP_FAILED)
		die("cannot mmap %zu bytes: %m", len);
	return p;
}

/* @len bytes at an address aligned to @align, populated. */
static void *map_mem_aligned(size_t len, size_t align)
{
	uint8_t *raw = map_mem(len + align, 0);
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));

	if (p != raw)
		munmap(raw, (size_t)(p - raw));
	munmap(p + len, (size_t)(raw + align - p));
	madvise(p, len, MADV_HUGEPAGE);	/* guest RAM is huge-page backed */
	if (madvise(p, len, MADV_POPULATE_WRITE))
		memset(p, 0, len);
	return p;
}

/* ------------------------------------------------ 1 GiB map with domains */

struct pt_cost {
	double map_us, unmap_us;
};

/* The page-table work alone: map and unmap the same 1 GiB in a fresh table. */
static struct pt_cost pt_only_1g(uint64_t iova, uint64_t oa)
{
	struct pt_cost c;
	struct pt_table pt;
	uint64_t t0, t1, t2, done;

	check(pt_init(&pt, PT_FMT_AMDV1_MOCK, &(struct pt_cfg){ 0 }), "pt_init");
	t0 = bench_now_ns();
	check(pt_map(&pt, iova, oa, SZ_1G, PT_READ | PT_WRITE, PT_MAP_NO_LARGE), "pt_map");
	t1 = bench_now_ns();
	done = pt_unmap(&pt, iova, SZ_1G);
	t2 = bench_now_ns();
	if (done != SZ_1G)
		die("pt_unmap unmapped %llu bytes", (unsigned long long)done);
	pt_deinit(&pt);
	c.map_us = (t1 - t0) / 1e3;
	c.unmap_us = (t2 - t1) / 1e3;
	return c;
}

static void bench_map_1g(void)
{
	double map_us[BENCH_RUNS], unmap_us[BENCH_RUNS], pt_map_us[BENCH_RUNS];
	double pt_unmap_us[BENCH_RUNS];
	uint32_t ioas = ioas_alloc(), stdev = 0, idev = 0, hwpt2 = 0;
	uint8_t *mem = map_mem(SZ_1G, MAP_POPULATE);
	const uint64_t iova = MOCK_APERTURE_START;
	char name[64];
	int ndom, r;

	/* Every CPU page becomes its own IOPTEs, as for 4 KiB pages in the kernel. */
	huge_pages(ioas, 0);
	for (ndom = 0; ndom <= 2; ndom++) {
		if (ndom == 1)
			idev = mock_domain(ioas, &stdev);
		if (ndom == 2)
			hwpt2 = hwpt_alloc(idev, ioas);	/* a second domain on the IOAS */
		/* warm up once: code, allocator, the pin machinery */
		ioas_map(ioas, mem, SZ_1G, iova, IOMMU_IOAS_MAP_FIXED_IOVA);
		ioas_unmap(ioas, iova, SZ_1G);
		for (r = 0; r != BENCH_RUNS; r++) {
			struct pt_cost c = pt_only_1g(iova, (uintptr_t)mem);
			uint64_t t0, t1, t2;

			t0 = bench_now_ns();
			ioas_map(ioas, mem, SZ_1G, iova, IOMMU_IOAS_MAP_FIXED_IOVA);
			t1 = bench_now_ns();
			ioas_unmap(ioas, iova, SZ_1G);
			t2 = bench_now_ns();
			map_us[r] = (t1 - t0) / 1e3;
			unmap_us[r] = (t2 - t1) / 1e3;
			pt_map_us[r] = c.map_us;
			pt_unmap_us[r] = c.unmap_us;
		}
		snprintf(name, sizeof(name), "map_1g_%ddom", ndom);
		bench_report(name, bench_median(map_us, BENCH_RUNS), "us", "pt_map_1g_mock_4k",
			     bench_median(pt_map_us, BENCH_RUNS));
		snprintf(name, sizeof(name), "unmap_1g_%ddom", ndom);
		bench_report(name, bench_median(unmap_us, BENCH_RUNS), "us", "pt_unmap_1g_mock_4k",
			     bench_median(pt_unmap_us, BENCH_RUNS));
	}
	destroy(hwpt2);
	destroy(stdev);
	destroy(ioas);
	munmap(mem, SZ_1G);
}

/* -------------------------------------------- DMA and ACCESS_RW throughput */

static const size_t chunks[] = { 64, 4096, 65536 };
#define NR_CHUNKS (sizeof(chunks) / sizeof(chunks[0]))

static const char *chunk_name(size_t chunk)
{
	return chunk == 64 ? "64" : chunk == 4096 ? "4k" : "64k";
}

/* GB/s of one pass over the region; @op moves one chunk at @off. */
typedef void (*chunk_op)(void *arg, size_t off, size_t chunk);

static double pass_gbs(chunk_op op, void *arg, size_t chunk)
{
	uint64_t t0 = bench_now_ns();
	size_t off;

	for (off = 0; off < SZ_64M; off += chunk)
		op(arg, off, chunk);
	return (double)SZ_64M / (double)(bench_now_ns() - t0);
}

/*
 * Passes of up to three ops over the region, interleaved a slice at a time
 * so that a noisy neighbour's burst hits them alike: op k moves slice
 * (s + k * SLICES / 3) while op 0 moves slice s, so no op finds in cache
 * what another just moved (a third of the region is more than the cache).
 * GB/s of each op into @gbs.
 */
#define SLICE (1ull << 20)
#define SLICES (SZ_64M / SLICE)

static void interleaved_gbs(chunk_op *ops, int nops, void *arg, size_t chunk, double *gbs)
{
	uint64_t ns[3] = { 0 };
	size_t s, off;
	int k;

	for (s = 0; s != SLICES; s++) {
		for (k = 0; k != nops; k++) {
			size_t base = ((s + (size_t)k * SLICES / 3) % SLICES) * SLICE;
			uint64_t t0 = bench_now_ns();

			for (off = base; off < base + SLICE; off += chunk)
				ops[k](arg, off, chunk);
			ns[k] += bench_now_ns() - t0;
		}
	}
	for (k = 0; k != nops; k++)
		gbs[k] = (double)SZ_64M / (double)ns[k];
}

struct rig {
	uint8_t *region;	/* mapped at iova: the memory DMA reaches */
	uint8_t *dev;		/* the device side (or the caller's buffer) */
	uint64_t iova;
	uint32_t idev;
	int access_fd;
	bool write;		/* into region */
};

/* One chunk between the same buffers as DMA: by memcpy, or by the DMA engine's copy. */
static inline void copy_chunk(struct rig *g, size_t off, size_t chunk, bool engine)
{
	uint8_t *dst = g->write ? g->region + off : g->dev + off;
	const uint8_t *src = g->write ? g->dev + off : g->region + off;

	if (engine)
		iommu_dma_memcpy(dst, src, chunk);
	else
		memcpy(dst, src, chunk);
	bench_sink(g->dev);
}

static void memcpy_chunk(void *arg, size_t off, size_t chunk)
{
	copy_chunk(arg, off, chunk, false);
}

static void engine_chunk(void *arg, size_t off, size_t chunk)
{
	copy_chunk(arg, off, chunk, true);
}

static void dma_chunk(void *arg, size_t off, size_t chunk)
{
	struct rig *g = arg;
	int rc = uiommufd_device_dma(ctx, g->idev, g->iova + off, g->dev + off, chunk,
				     g->write ? UIOMMUFD_DMA_WRITE : 0);

	if (rc)
		die("device DMA at offset %zu failed: %d", off, rc);
}

static void access_rw_chunk(void *arg, size_t off, size_t chunk)
{
	struct rig *g = arg;
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

/* @op against memcpy and, for device DMA (@vs_engine), against the engine's copy. */
static void bench_copy(struct rig *g, const char *prefix, chunk_op op, bool vs_engine)
{
	double v[BENCH_RUNS], b[BENCH_RUNS], e[BENCH_RUNS], dma;
	char name[64];
	size_t c;
	int w, r;

	for (w = 0; w != 2; w++) {
		g->write = w;
		for (c = 0; c != NR_CHUNKS; c++) {
			pass_gbs(op, g, chunks[c]);	/* warm up */
			for (r = 0; r != BENCH_RUNS; r++) {
				chunk_op ops[3] = { memcpy_chunk, op, engine_chunk };
				double gbs[3];

				interleaved_gbs(ops, vs_engine ? 3 : 2, g, chunks[c], gbs);
				b[r] = gbs[0];
				v[r] = gbs[1];
				e[r] = gbs[2];
			}
			snprintf(name, sizeof(name), "%s_%s_%s", prefix, w ? "write" : "read",
				 chunk_name(chunks[c]));
			dma = bench_median(v, BENCH_RUNS);
			bench_report(name, dma, "GB/s", "memcpy", bench_median(b, BENCH_RUNS));
			if (!vs_engine)
				continue;
			strncat(name, "_vs_engine", sizeof(name) - strlen(name) - 1);
			bench_report(name, dma, "GB/s", "engine_copy", bench_median(e, BENCH_RUNS));
		}
	}
	/* What went through the IOMMU is what memcpy would have moved. */
	if (memcmp(g->region, g->dev, SZ_64M))
		die("%s: region and device buffer differ after the last write pass", prefix);
}

/* bench_domain access: the ACCESS_RW rows alone, without the DMA rows before them. */
static bool access_only;

static void bench_dma_and_access(void)
{
	struct rig g = { .iova = MOCK_APERTURE_START };
	struct iommu_test_cmd create = {
		.size = sizeof(create), .op = IOMMU_TEST_OP_CREATE_ACCESS,
	};
	uint32_t ioas = ioas_alloc(), stdev = 0;
	size_t i;

	g.region = map_mem_aligned(SZ_64M, SZ_2M);
	g.dev = map_mem_aligned(SZ_64M, SZ_2M);
	for (i = 0; i != SZ_64M; i++)
		g.dev[i] = (uint8_t)(i * 31 + 7);
	/* Default options: large IOPTEs where the memory allows, as a VMM gets. */
	g.idev = mock_domain(ioas, &stdev);
	ioas_map(ioas, g.region, SZ_64M, g.iova, IOMMU_IOAS_MAP_FIXED_IOVA);
	if (!access_only)
		bench_copy(&g, "dma", dma_chunk, true);

	ioas_unmap(ioas, g.iova, SZ_64M);
	huge_pages(ioas, 0);
	ioas_map(ioas, g.region, SZ_64M, g.iova, IOMMU_IOAS_MAP_FIXED_IOVA);
	if (!access_only)
		bench_copy(&g, "dma4k", dma_chunk, true);

	create.id = ioas;
	check(ictl(IOMMU_TEST_CMD, &create), "CREATE_ACCESS");
	g.access_fd = (int)create.create_access.out_access_fd;
	bench_copy(&g, "access_rw", access_rw_chunk, false);

	uiommufd_host_inproc_fd_closed(g.access_fd);
	close(g.access_fd);
	ioas_unmap(ioas, g.iova, SZ_64M);
	destroy(stdev);
	destroy(ioas);
	munmap(g.region, SZ_64M);
	munmap(g.dev, SZ_64M);
}

int main(int argc, char **argv)
{
	/* One part alone, by name ("map", "dma", "access"), when chasing a figure. */
	const char *only = argc > 1 ? argv[1] : "";

	if (uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx))
		die("cannot open a context");
	printf("bench_domain: mock domains, device DMA, accesses (median of %d runs)\n",
	       BENCH_RUNS);
	if (!*only || !strcmp(only, "map"))
		bench_map_1g();
	access_only = !strcmp(only, "access");
	if (!*only || !strcmp(only, "dma") || access_only)
		bench_dma_and_access();
	uiommufd_ctx_put(ctx);
	return 0;
}
