// SPDX-License-Identifier: MIT
/*
 * IOAS benchmarks, run as an ordinary iommufd client under `uiommufd run`:
 *
 *   ioctl_shim            one ioctl through the shim vs the library call it
 *                         ends in (resolved from the preloaded shim)
 *   ioas_map_unmap_4k     MAP+UNMAP pairs of one 4 KiB page per second vs
 *                         pairs of real (failing) system calls
 *   ioas_map_1g_4k        IOAS_MAP of 1 GiB of populated 4 KiB pages with no
 *                         domain vs storing 262144 8-byte entries in an array
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "uapi/iommufd.h"

#define die(...) do { fprintf(stderr, "client_ioas: " __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)

typedef long (*ioctl_fn)(void *ctx, unsigned long cmd, uint64_t arg);

static double per_op_ns(uint64_t t0, uint64_t t1, long n)
{
	return (double)(t1 - t0) / (double)n;
}

static void bench_ioctl_shim(int fd)
{
	int (*ctx_open)(void *, unsigned int, void **) = dlsym(RTLD_DEFAULT, "uiommufd_ctx_open");
	void *(*host)(void) = dlsym(RTLD_DEFAULT, "uiommufd_host_inproc");
	ioctl_fn direct = (ioctl_fn)dlsym(RTLD_DEFAULT, "uiommufd_ioctl");
	struct iommu_option opt = {
		.size = sizeof(opt), .option_id = IOMMU_OPTION_RLIMIT_MODE, .op = IOMMU_OPTION_OP_GET,
	};
	double shim[BENCH_RUNS], lib[BENCH_RUNS];
	const long n = 1000000;
	void *ctx;
	int r;

	if (!ctx_open || !host || !direct)
		die("not running under `uiommufd run` (library symbols not found)");
	if (ctx_open(host(), 0, &ctx))
		die("cannot open a direct context");
	for (r = 0; r != BENCH_RUNS; r++) {
		uint64_t t0 = bench_now_ns();
		long i;

		for (i = 0; i != n; i++)
			if (ioctl(fd, IOMMU_OPTION, &opt))
				die("IOMMU_OPTION through the shim failed: %m");
		shim[r] = per_op_ns(t0, bench_now_ns(), n);
		t0 = bench_now_ns();
		for (i = 0; i != n; i++)
			if (direct(ctx, IOMMU_OPTION, (uintptr_t)&opt))
				die("IOMMU_OPTION direct failed");
		lib[r] = per_op_ns(t0, bench_now_ns(), n);
	}
	bench_report("ioctl_shim", bench_median(shim, BENCH_RUNS), "ns", "direct_call",
		     bench_median(lib, BENCH_RUNS));
}

static void bench_map_unmap(int fd, uint32_t ioas)
{
	double pairs[BENCH_RUNS], sys[BENCH_RUNS];
	void *page = aligned_alloc(4096, 4096);
	int efd = eventfd(0, 0), n_avail;
	const long n = 1000000;
	int r;

	for (r = 0; r != BENCH_RUNS; r++) {
		struct iommu_ioas_map map = {
			.size = sizeof(map), .ioas_id = ioas, .user_va = (uintptr_t)page,
			.length = 4096, .flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		};
		struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = ioas };
		uint64_t t0 = bench_now_ns();
		long i;

		for (i = 0; i != n; i++) {
			map.iova = 0;
			if (ioctl(fd, IOMMU_IOAS_MAP, &map))
				die("IOAS_MAP failed: %m");
			unmap.iova = map.iova;
			unmap.length = 4096;
			if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
				die("IOAS_UNMAP at IOVA %#llx failed: %m", (unsigned long long)map.iova);
		}
		pairs[r] = (double)n * 1e9 / (double)(bench_now_ns() - t0);
		/* Baseline: the same number of real system calls into the kernel. */
		t0 = bench_now_ns();
		for (i = 0; i != n / 10; i++) {
			ioctl(efd, FIONREAD, &n_avail);
			ioctl(efd, FIONREAD, &n_avail);
		}
		sys[r] = (double)(n / 10) * 1e9 / (double)(bench_now_ns() - t0);
	}
	bench_report("ioas_map_unmap_4k", bench_median(pairs, BENCH_RUNS), "pairs/s",
		     "syscall_pairs", bench_median(sys, BENCH_RUNS));
	close(efd);
	free(page);
}

static void bench_map_1g(int fd, uint32_t ioas)
{
	const size_t len = 1UL << 30, entries = len / 4096;
	double map_us[BENCH_RUNS], flat_us[BENCH_RUNS];
	uint64_t *flat = malloc(entries * sizeof(*flat));
	uint8_t *mem;
	int r;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		   -1, 0);
	if (mem == MAP_FAILED || !flat)
		die("cannot allocate 1 GiB for the benchmark: %m");
	memset(flat, 0, entries * sizeof(*flat));
	for (r = 0; r != BENCH_RUNS; r++) {
		struct iommu_ioas_map map = {
			.size = sizeof(map), .ioas_id = ioas, .user_va = (uintptr_t)mem,
			.length = len, .flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		};
		struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = ioas };
		uint64_t t0 = bench_now_ns();
		size_t i;

		if (ioctl(fd, IOMMU_IOAS_MAP, &map))
			die("IOAS_MAP of 1 GiB failed: %m");
		map_us[r] = (double)(bench_now_ns() - t0) / 1e3;
		unmap.iova = map.iova;
		unmap.length = len;
		if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
			die("IOAS_UNMAP of 1 GiB failed: %m");

		t0 = bench_now_ns();
		for (i = 0; i != entries; i++)
			flat[i] = ((uintptr_t)mem + i * 4096) | 3;
		bench_sink(flat);
		flat_us[r] = (double)(bench_now_ns() - t0) / 1e3;
	}
	bench_report("ioas_map_1g_4k_no_domain", bench_median(map_us, BENCH_RUNS), "us",
		     "flat_store_262144", bench_median(flat_us, BENCH_RUNS));
	munmap(mem, len);
	free(flat);
}

int main(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int fd = open("/dev/iommu", O_RDWR);

	if (fd < 0)
		die("cannot open /dev/iommu: %m (run me under `uiommufd run`)");
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		die("IOAS_ALLOC failed: %m");
	bench_ioctl_shim(fd);
	bench_map_unmap(fd, alloc.out_ioas_id);
	bench_map_1g(fd, alloc.out_ioas_id);
	close(fd);
	return 0;
}
