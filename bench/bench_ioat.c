// SPDX-License-Identifier: MIT
/*
 * I/OAT engine benchmarks: the emulated CBDMA channel driven the way
 * DPDK's ioat dmadev drives the real one, with no shim: a device set with
 * one ioat function, its cdev bound to an iommufd context through
 * uiommufd_vfio_open()/uiommufd_fd_ioctl(), an IOAS mapping 2 MiB-aligned
 * memory at a 2 MiB-aligned IOVA (so the domain gets huge IOPTEs), a ring
 * of 64-byte copy descriptors linked in a circle, each asking for a
 * completion write, the doorbell (DMACOUNT) rung through the BAR, and the
 * completion word polled.  Each figure is next to a baseline measured in
 * the same run (bench.h):
 *
 *   ioat_copy_<sz>      GB/s of <sz> copy descriptors streaming through two
 *                       32 MiB buffers (doorbell every 32 descriptors, the
 *                       ring kept full), vs memcpy() of the same chunks
 *                       between the same buffers.  Goal: ratio >= 0.8.
 *   ioat_lat_64b_<how>  ns from the doorbell of one 64-byte copy to its
 *                       completion word (the engine idle before), the
 *                       doorbell written through the mmap'd BAR (an MMIO
 *                       trap) or with pwrite (uiommufd_fd_rw), vs a raw
 *                       getppid() system call.
 *
 * Throughput figures are medians of COPY_PAIRS engine passes and memcpy
 * passes run in turn, the ratio the median of the pairs' ratios;
 * latencies the median of LAT_SAMPLES single operations.
 *
 * The engine is hardware running beside the CPU, and a DPDK application
 * pins its lcores, so the two get a core each when the machine has two:
 * the engine's thread starts with every CPU but the submitter's, the
 * submitter then keeps to its own.  Left to the scheduler, the woken
 * engine often lands on the polling submitter's CPU and the two share it
 * until the balancer moves one, which halves a whole run's figure at
 * random (0.5 against 0.85 in back-to-back runs on a 2-CPU VM).  The
 * latency rows run with the split undone (split_cpus_undo()).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"
#include "devices/ioat_hw.h"
#include "uapi/iommufd.h"
#include "uapi/vfio.h"
#include "uapi/vfio_device.h"
#include "uapi/vfio_group.h"
#include "uiommufd.h"

#define SZ_2M	     (2ull << 20)
#define BUF_SIZE     (32ull << 20)
#define IOVA_BASE    0x40000000ull	/* 2 MiB aligned, inside the mock aperture */
#define RING_NR	     4096u		/* descriptors in the ring (DPDK ioat's largest) */
#define BATCH	     32u		/* descriptors per doorbell */
#define LAT_SAMPLES  2001
#define COPY_PAIRS   21		/* engine pass, memcpy pass: a few ms each */
#define CFG_OFF	     ((uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << 40)

#define die(...) do { fprintf(stderr, "bench_ioat: " __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)

static struct uiommufd_ctx *ctx;
static int ctx_token = -1;	/* the descriptor standing for ctx in BIND_IOMMUFD */
static int cdev = -1;
static volatile uint8_t *bar;	/* BAR0 through the MMIO trap */

/* Memory: [ring | completion word ... | src | dst], mapped at IOVA_BASE. */
static uint8_t *mem;
static size_t mem_len;
static uint8_t *ring, *src, *dst;
static volatile uint64_t *compl_word;
static uint64_t ring_iova, compl_iova, src_iova, dst_iova;
static uint64_t submitted;	/* descriptors handed to the engine, ever */
static uint64_t completed;	/* descriptors seen complete, ever */

static struct uiommufd_ctx *resolve(int fd)
{
	if (fd != ctx_token || !ctx)
		return NULL;
	uiommufd_ctx_get(ctx);
	return ctx;
}

static void check(long rc, const char *what)
{
	if (rc < 0)
		die("%s failed: %ld (%s)", what, rc, strerror((int)-rc));
}

/* ------------------------------------------------------------ memory */

/* 2 MiB-aligned, huge-page-backed memory; *@how says which kind, NULL if none. */
static uint8_t *map_huge(size_t len, const char **how)
{
	uint8_t *raw, *p;
	char mode[128] = "";
	FILE *f;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	if (p != MAP_FAILED) {
		*how = "hugetlb 2 MiB pages";
		return p;
	}
	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (f) {
		if (!fgets(mode, sizeof(mode), f))
			mode[0] = 0;
		fclose(f);
	}
	if (!strstr(mode, "[always]") && !strstr(mode, "[madvise]")) {
		*how = NULL;
		return NULL;
	}
	raw = mmap(NULL, len + SZ_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		die("cannot mmap %zu bytes: %m", len);
	p = (uint8_t *)(((uintptr_t)raw + SZ_2M - 1) & ~(uintptr_t)(SZ_2M - 1));
	if (p != raw)
		munmap(raw, (size_t)(p - raw));
	munmap(p + len, (size_t)(raw + SZ_2M - p));
	madvise(p, len, MADV_HUGEPAGE);
	memset(p, 0, len);
	*how = "transparent huge pages";
	return p;
}

/* ------------------------------------------------------------ device */

static void bar_write(unsigned int off, unsigned int size, uint64_t val)
{
	switch (size) {
	case 1:
		*(volatile uint8_t *)(bar + off) = (uint8_t)val;
		break;
	case 2:
		*(volatile uint16_t *)(bar + off) = (uint16_t)val;
		break;
	case 8:
		*(volatile uint64_t *)(bar + off) = val;
		break;
	default:
		*(volatile uint32_t *)(bar + off) = (uint32_t)val;
	}
}

static uint64_t bar_read(unsigned int off, unsigned int size)
{
	switch (size) {
	case 1:
		return *(volatile uint8_t *)(bar + off);
	case 2:
		return *(volatile uint16_t *)(bar + off);
	case 8:
		return *(volatile uint64_t *)(bar + off);
	default:
		return *(volatile uint32_t *)(bar + off);
	}
}

/*
 * Split the CPUs we may use: the submitter (this thread) keeps the first,
 * threads created until split_cpus_end() (the engine's) get the rest.
 */
static cpu_set_t submit_cpu, all_cpus;
static bool cpus_split;

static void split_cpus_begin(void)
{
	cpu_set_t rest;
	int first = -1;

	if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus) || CPU_COUNT(&all_cpus) < 2) {
		printf("  ioat: one CPU: the engine and the submitter share it\n");
		return;
	}
	CPU_ZERO(&submit_cpu);
	CPU_ZERO(&rest);
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &all_cpus))
			continue;
		if (first < 0) {
			first = c;
			CPU_SET(c, &submit_cpu);
		} else {
			CPU_SET(c, &rest);
		}
	}
	if (sched_setaffinity(0, sizeof(rest), &rest))
		return;
	cpus_split = true;
	printf("  ioat: submitter on CPU %d, the engine on the other %d\n", first, CPU_COUNT(&rest));
}

static void split_cpus_end(void)
{
	if (cpus_split && sched_setaffinity(0, sizeof(submit_cpu), &submit_cpu))
		die("cannot move the submitter to its CPU: %m");
}

/*
 * Every thread back on every CPU, for the latency rows: an engine kept to
 * a CPU of its own sleeps there between samples, and waking an idle
 * virtual CPU (tens of microseconds on a VM) is then what the row would
 * measure; the scheduler wakes it where the doorbell rang instead.
 */
static void split_cpus_undo(void)
{
	struct dirent *e;
	DIR *dir;

	if (!cpus_split)
		return;
	dir = opendir("/proc/self/task");
	if (!dir)
		die("cannot list /proc/self/task to undo the CPU split: %m");
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			sched_setaffinity(atoi(e->d_name), sizeof(all_cpus), &all_cpus);
	closedir(dir);
	cpus_split = false;
}

static void setup(void)
{
	struct uiommufd_devset *set;
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = 12 };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map map = { .size = sizeof(map) };
	const char *how;
	uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	char err[256];
	void *p;
	int i;

	split_cpus_begin();
	check(uiommufd_devset_create(uiommufd_host_inproc(), "ioat,bdf=0000:01:00.0", &set, err,
				     sizeof(err)), err);
	split_cpus_end();
	check(uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx), "uiommufd_ctx_open");
	ctx_token = eventfd(0, EFD_CLOEXEC);
	if (ctx_token < 0)
		die("eventfd: %m");
	uiommufd_set_fd_resolver(resolve);

	cdev = uiommufd_vfio_open("/dev/vfio/devices/vfio0", O_RDWR);
	check(cdev, "open /dev/vfio/devices/vfio0");
	bind.iommufd = ctx_token;
	check(uiommufd_fd_ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), "VFIO_DEVICE_BIND_IOMMUFD");
	check(uiommufd_ioctl(ctx, IOMMU_IOAS_ALLOC, (uintptr_t)&alloc), "IOMMU_IOAS_ALLOC");
	attach.pt_id = alloc.out_ioas_id;
	check(uiommufd_fd_ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach),
	      "VFIO_DEVICE_ATTACH_IOMMUFD_PT");

	mem_len = SZ_2M + 2 * BUF_SIZE;
	mem = map_huge(mem_len, &how);
	if (!mem) {
		printf("  ioat: skipped: no hugetlb pages and transparent huge pages are off\n");
		exit(0);
	}
	printf("  ioat: memory: %s; IOAS mapped at IOVA 0x%llx\n", how,
	       (unsigned long long)IOVA_BASE);
	map.ioas_id = alloc.out_ioas_id;
	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	map.user_va = (uintptr_t)mem;
	map.length = mem_len;
	map.iova = IOVA_BASE;
	check(uiommufd_ioctl(ctx, IOMMU_IOAS_MAP, (uintptr_t)&map), "IOMMU_IOAS_MAP");
	ring = mem;
	ring_iova = IOVA_BASE;
	compl_word = (volatile uint64_t *)(mem + RING_NR * IOAT_DESC_SIZE);
	compl_iova = IOVA_BASE + RING_NR * IOAT_DESC_SIZE;
	src = mem + SZ_2M;
	src_iova = IOVA_BASE + SZ_2M;
	dst = src + BUF_SIZE;
	dst_iova = src_iova + BUF_SIZE;
	for (size_t k = 0; k < BUF_SIZE; k += 8)
		*(uint64_t *)(src + k) = k * 0x9e3779b97f4a7c15ull;

	/* Memory decoding and bus mastering on, as a driver's probe does. */
	if (uiommufd_fd_rw(cdev, &cmd, 2, CFG_OFF + PCI_COMMAND, true) != 2)
		die("config write of PCI_COMMAND failed");
	check(uiommufd_fd_mmap(cdev, NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED,
			       (uint64_t)VFIO_PCI_BAR0_REGION_INDEX << 40, &p),
	      "mmap BAR0");
	bar = p;
	if (bar_read(IOAT_R_CBVER, 1) != IOAT_CBVER_3_3)
		die("BAR0 CBVER reads 0x%llx", (unsigned long long)bar_read(IOAT_R_CBVER, 1));

	/* The ring, linked in a circle as DPDK lays it out. */
	for (unsigned int k = 0; k < RING_NR; k++) {
		uint8_t *d = ring + (size_t)k * IOAT_DESC_SIZE;
		uint64_t next = ring_iova + (uint64_t)((k + 1) % RING_NR) * IOAT_DESC_SIZE;

		memset(d, 0, IOAT_DESC_SIZE);
		memcpy(d + IOAT_D_NEXT, &next, 8);
	}
	/* DPDK's channel start: reset, wait, error handling, chain and completion. */
	bar_write(IOAT_CHAN_BASE + IOAT_C_CHANCMD, 1, IOAT_CMD_RESET);
	for (i = 0; i < 1000 && (bar_read(IOAT_CHAN_BASE + IOAT_C_CHANCMD, 1) & IOAT_CMD_RESET); i++)
		usleep(100);
	bar_write(IOAT_CHAN_BASE + IOAT_C_CHANCTRL, 2, IOAT_CTRL_ERR_ABORT | IOAT_CTRL_ERR_COMPL);
	bar_write(IOAT_CHAN_BASE + IOAT_C_CHAINADDR, 8, ring_iova);
	bar_write(IOAT_CHAN_BASE + IOAT_C_CHANCMP, 8, compl_iova);
}

/* ------------------------------------------------------------ the ring */

static void put_copy(uint64_t n, uint32_t size, uint64_t s, uint64_t d)
{
	uint8_t *desc = ring + (size_t)(n % RING_NR) * IOAT_DESC_SIZE;
	uint32_t ctl = (IOAT_OP_COPY << IOAT_DCTL_OP_SHIFT) | IOAT_DCTL_COMPL;

	memcpy(desc + IOAT_D_SIZE, &size, 4);
	memcpy(desc + IOAT_D_CTL, &ctl, 4);
	memcpy(desc + IOAT_D_SRC, &s, 8);
	memcpy(desc + IOAT_D_DST, &d, 8);
}

static void doorbell_mmio(void)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
	bar_write(IOAT_CHAN_BASE + IOAT_C_DMACOUNT, 2, (uint16_t)submitted);
}

static void doorbell_pwrite(void)
{
	uint16_t v = (uint16_t)submitted;

	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (uiommufd_fd_rw(cdev, &v, 2, IOAT_CHAN_BASE + IOAT_C_DMACOUNT, true) != 2)
		die("doorbell pwrite failed");
}

/*
 * Read the completion word: the last descriptor done is the one in the
 * window (completed - 1 .. submitted - 1] whose ring slot it names.
 */
static void reap(void)
{
	uint64_t w = *compl_word, slot;

	if ((w & IOAT_STS_STATE_MASK) == IOAT_ST_HALTED)
		die("channel halted, CHANERR 0x%llx",
		    (unsigned long long)bar_read(IOAT_CHAN_BASE + IOAT_C_CHANERR, 4));
	if (!(w & IOAT_STS_ADDR_MASK) || submitted == completed)
		return;
	slot = ((w & IOAT_STS_ADDR_MASK) - ring_iova) / IOAT_DESC_SIZE;
	completed = submitted - ((submitted - 1 - slot) % RING_NR);
}

static void poll_pause(void)
{
	__builtin_ia32_pause();
}

/* Copy BUF_SIZE bytes in @sz descriptors; seconds. */
static double engine_pass(uint32_t sz)
{
	uint64_t ndesc = BUF_SIZE / sz, first = submitted, t0 = bench_now_ns();
	unsigned int spins = 0;

	while (completed - first < ndesc) {
		uint64_t left = ndesc - (submitted - first);
		unsigned int batch = 0;

		/* Bursts of BATCH, as a DPDK application enqueues and submits. */
		if (left && (RING_NR - 1 - (submitted - completed) >= BATCH ||
			     (left < BATCH && RING_NR - 1 - (submitted - completed) >= left))) {
			while (batch < BATCH && submitted - first < ndesc) {
				uint64_t off = (submitted - first) * sz;

				put_copy(submitted, sz, src_iova + off, dst_iova + off);
				submitted++;
				batch++;
			}
			doorbell_mmio();
			continue;
		}
		reap();
		/* Waiting: let the engine's thread have the core (2-core machines). */
		if (++spins % 64 == 0)
			sched_yield();
		else
			poll_pause();
	}
	return (bench_now_ns() - t0) / 1e9;
}

static double memcpy_pass(uint32_t sz)
{
	uint64_t t0 = bench_now_ns();

	for (uint64_t off = 0; off < BUF_SIZE; off += sz) {
		memcpy(dst + off, src + off, sz);
		bench_sink(dst + off);
	}
	return (bench_now_ns() - t0) / 1e9;
}

static void bench_copy(uint32_t sz)
{
	double eng[COPY_PAIRS], cpy[COPY_PAIRS];
	char name[64], base[64];

	engine_pass(sz);	/* warm: page tables, IOTLB, caches */
	if (memcmp(src, dst, BUF_SIZE))
		die("copy of %u-byte descriptors: destination differs", sz);
	memcpy_pass(sz);
	for (int r = 0; r < COPY_PAIRS; r++) {
		memset(dst, 0, BUF_SIZE);
		eng[r] = BUF_SIZE / engine_pass(sz) / 1e9;
		memset(dst, 0, BUF_SIZE);
		cpy[r] = BUF_SIZE / memcpy_pass(sz) / 1e9;
	}
	if (memcmp(src, dst, BUF_SIZE))
		die("memcpy baseline: destination differs");
	snprintf(name, sizeof(name), "ioat_copy_%uk", sz / 1024);
	snprintf(base, sizeof(base), "memcpy_%uk", sz / 1024);
	bench_report_paired(name, eng, cpy, COPY_PAIRS, "GB/s", base);
}

/* ------------------------------------------------------------ latency */

static double one_copy_ns(bool mmio)
{
	uint64_t want = submitted + 1, t0, t1;

	put_copy(submitted, 64, src_iova, dst_iova);
	submitted++;
	t0 = bench_now_ns();
	if (mmio)
		doorbell_mmio();
	else
		doorbell_pwrite();
	do {
		reap();
	} while (completed != want);
	t1 = bench_now_ns();
	return (double)(t1 - t0);
}

static void bench_latency(void)
{
	static double mm[LAT_SAMPLES], pw[LAT_SAMPLES], sys[LAT_SAMPLES];

	for (int k = 0; k < LAT_SAMPLES; k++) {
		uint64_t t0;

		mm[k] = one_copy_ns(true);
		pw[k] = one_copy_ns(false);
		t0 = bench_now_ns();
		syscall(SYS_getppid);
		sys[k] = (double)(bench_now_ns() - t0);
		/* The engine goes back to sleep between operations, as it would when idle. */
		usleep(50);
	}
	bench_report("ioat_lat_64b_mmio", bench_median(mm, LAT_SAMPLES), "ns", "getppid",
		     bench_median(sys, LAT_SAMPLES));
	bench_report("ioat_lat_64b_pwrite", bench_median(pw, LAT_SAMPLES), "ns", "getppid",
		     bench_median(sys, LAT_SAMPLES));
}

int main(void)
{
	const char *only = getenv("BENCH_IOAT_ONLY");	/* "copy" or "lat": one part */

	printf("bench_ioat: I/OAT copy throughput and latency (medians of %d pass pairs, %d samples)\n",
	       COPY_PAIRS, LAT_SAMPLES);
	setup();
	if (!only || !strcmp(only, "copy")) {
		bench_copy(4096);
		bench_copy(65536);
	}
	if (!only || !strcmp(only, "lat")) {
		split_cpus_undo();
		bench_latency();
	}
	return 0;
}
