// SPDX-License-Identifier: MIT
/*
 * Threads on one context, for ThreadSanitizer (make tsan).
 *
 * One IOAS holds a region that stays mapped for the whole run; a mock
 * device is attached to it and is switched between two HWPTs that both map
 * it (two allocated ones: the auto domain would go with its last device),
 * and an access is created on it.  Then, all at once:
 *   - mappers map and unmap their own IOVA ranges and IOAS_COPY them into a
 *     second IOAS and back out;
 *   - DMA threads read and write the stable region through the device with
 *     uiommufd_device_dma() (which must always succeed) and poke the
 *     mappers' ranges and devices that come and go (which may fail);
 *   - an access thread does ACCESS_RW on the stable region (pages no DMA
 *     writes: the bytes themselves are the program's to order);
 *   - a replacer moves the device between the two HWPTs;
 *   - a churner creates and destroys IOASes, HWPTs and mock devices.
 * Every thread stops after STRESS_ITERS iterations or the given seconds.
 * A wrong result aborts; TSan reports races.
 *
 * Usage: stress_threads [SECONDS]
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "uiommufd.h"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

#define PG 4096UL
#define IOVA_BASE (1UL << 24)		/* the mock aperture starts here */
#define STABLE_PAGES 24		/* 8 per DMA thread, 8 for the access */
#define STABLE_IOVA IOVA_BASE
#define MAPPER_IOVA(i) (IOVA_BASE + (1UL << 22) * (1 + (i)))
#define MAPPER_PAGES 8
#define NR_MAPPERS 2
#define NR_DMA 2
#define STRESS_ITERS 200000

static struct uiommufd_ctx *ctx;
static uint32_t ioas, ioas2, idev, stdev, hwpt_a, hwpt_b;
static int access_fd;
static uint8_t *stable, *mapper_mem[NR_MAPPERS];
static atomic_bool stop;
static atomic_ulong total_ops;
static time_t deadline;

static void fail(const char *what, long rc)
{
	fprintf(stderr, "stress_threads: %s: %ld\n", what, rc);
	abort();
}

static long ictl(unsigned long cmd, void *arg)
{
	return uiommufd_ioctl(ctx, cmd, (uint64_t)(uintptr_t)arg);
}

static bool running(unsigned long i)
{
	if (i >= STRESS_ITERS || atomic_load_explicit(&stop, memory_order_relaxed))
		return false;
	if (!(i & 63) && time(NULL) >= deadline) {
		atomic_store(&stop, true);
		return false;
	}
	return true;
}

static uint32_t alloc_ioas(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	long rc = ictl(IOMMU_IOAS_ALLOC, &cmd);

	if (rc)
		fail("IOAS_ALLOC", rc);
	return cmd.out_ioas_id;
}

static long map_fixed(uint32_t id, void *buf, size_t len, uint64_t iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = id, .user_va = (uintptr_t)buf, .length = len, .iova = iova,
	};

	return ictl(IOMMU_IOAS_MAP, &cmd);
}

static long unmap(uint32_t id, uint64_t iova, size_t len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = id, .iova = iova, .length = len,
	};

	return ictl(IOMMU_IOAS_UNMAP, &cmd);
}

static long destroy(uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ictl(IOMMU_DESTROY, &cmd);
}

static long mock_domain(uint32_t pt, uint32_t *out_stdev, uint32_t *out_idev,
			uint32_t *out_hwpt)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt,
	};
	long rc = ictl(IOMMU_TEST_CMD, &cmd);

	if (!rc) {
		*out_stdev = cmd.mock_domain.out_stdev_id;
		*out_idev = cmd.mock_domain.out_idev_id;
		if (out_hwpt)
			*out_hwpt = cmd.mock_domain.out_hwpt_id;
	}
	return rc;
}

static long hwpt_alloc(uint32_t dev, uint32_t pt, uint32_t *out)
{
	struct iommu_hwpt_alloc cmd = { .size = sizeof(cmd), .dev_id = dev, .pt_id = pt };
	long rc = ictl(IOMMU_HWPT_ALLOC, &cmd);

	if (!rc)
		*out = cmd.out_hwpt_id;
	return rc;
}

static void *mapper(void *arg)
{
	unsigned int me = (unsigned int)(uintptr_t)arg;
	uint64_t iova = MAPPER_IOVA(me);
	size_t len = MAPPER_PAGES * PG;
	unsigned long i;
	long rc;

	for (i = 0; running(i); i++) {
		rc = map_fixed(ioas, mapper_mem[me], len, iova);
		if (rc)
			fail("mapper map", rc);
		if (i & 1) {
			struct iommu_ioas_copy cp = {
				.size = sizeof(cp),
				.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
					 IOMMU_IOAS_MAP_WRITEABLE,
				.dst_ioas_id = ioas2, .src_ioas_id = ioas,
				.length = len, .dst_iova = iova, .src_iova = iova,
			};

			rc = ictl(IOMMU_IOAS_COPY, &cp);
			if (rc)
				fail("mapper copy", rc);
			rc = unmap(ioas2, iova, len);
			if (rc)
				fail("mapper unmap copy", rc);
		}
		rc = unmap(ioas, iova, len);
		if (rc)
			fail("mapper unmap", rc);
		atomic_fetch_add_explicit(&total_ops, 1, memory_order_relaxed);
	}
	return NULL;
}

static void *dma(void *arg)
{
	unsigned int me = (unsigned int)(uintptr_t)arg;
	uint8_t buf[3 * PG];
	unsigned long i;
	int rc;

	memset(buf, 0x40 + (int)me, sizeof(buf));
	for (i = 0; running(i); i++) {
		/*
		 * Each DMA thread has its own 8 pages of the stable region: the
		 * memory's bytes are the program's, and two devices writing the
		 * same bytes would race in the program, not in the library.
		 */
		uint64_t off = me * 8 * PG + (i % 3) * PG + (i % 7) * 64;

		rc = uiommufd_device_dma(ctx, idev, STABLE_IOVA + off, buf, sizeof(buf),
					 (i & 1) ? UIOMMUFD_DMA_WRITE : 0);
		if (rc)
			fail("device dma on the stable region", rc);
		/* A mapper's range: mapped or not, never anything else. */
		rc = uiommufd_device_dma(ctx, idev, MAPPER_IOVA(i % NR_MAPPERS), buf, PG, 0);
		if (rc && rc != -EFAULT)
			fail("device dma on a mapper's range", rc);
		/* Devices the churner makes and destroys (and other objects). */
		rc = uiommufd_device_dma(ctx, (uint32_t)(1 + i % 24), STABLE_IOVA + me * 8 * PG, buf,
					 PG, 0);
		if (rc && rc != -ENOENT && rc != -EFAULT)
			fail("device dma by ID", rc);
		atomic_fetch_add_explicit(&total_ops, 1, memory_order_relaxed);
	}
	return NULL;
}

static void *access_rw(void *arg)
{
	uint8_t buf[2 * PG];
	unsigned long i;
	long rc;

	for (i = 0; running(i); i++) {
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)access_fd,
			.access_rw = {
				.iova = STABLE_IOVA + (16 + i % 5) * PG + (i % 3) * 100,
				.length = sizeof(buf), .uptr = (uintptr_t)buf,
				.flags = (i & 2) ? MOCK_ACCESS_RW_SLOW_PATH : 0,
			},
		};

		rc = ictl(IOMMU_TEST_CMD, &cmd);
		if (rc)
			fail("access_rw on the stable region", rc);
		atomic_fetch_add_explicit(&total_ops, 1, memory_order_relaxed);
	}
	return NULL;
}

static void *replacer(void *arg)
{
	unsigned long i;
	long rc;

	for (i = 0; running(i); i++) {
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev,
			.mock_domain_replace = { .pt_id = (i & 1) ? hwpt_a : hwpt_b },
		};

		rc = ictl(IOMMU_TEST_CMD, &cmd);
		if (rc)
			fail("replace", rc);
		atomic_fetch_add_explicit(&total_ops, 1, memory_order_relaxed);
	}
	return NULL;
}

static void *churner(void *arg)
{
	unsigned long i;
	long rc;

	for (i = 0; running(i); i++) {
		uint32_t id = alloc_ioas(), sd, dev, hw, hw2;

		rc = map_fixed(id, stable, STABLE_PAGES * PG, STABLE_IOVA);
		if (rc)
			fail("churn map", rc);
		rc = mock_domain(id, &sd, &dev, &hw);
		if (rc)
			fail("churn mock domain", rc);
		rc = hwpt_alloc(dev, id, &hw2);
		if (rc)
			fail("churn hwpt alloc", rc);
		if ((rc = destroy(hw2)) || (rc = destroy(sd)) || (rc = destroy(id)))
			fail("churn destroy", rc);
		atomic_fetch_add_explicit(&total_ops, 1, memory_order_relaxed);
	}
	return NULL;
}

static void *map_pages(size_t n)
{
	void *p = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap", errno);
	memset(p, 0x5a, n * PG);
	return p;
}

int main(int argc, char **argv)
{
	struct iommu_test_cmd acc = { .size = sizeof(acc), .op = IOMMU_TEST_OP_CREATE_ACCESS };
	pthread_t th[NR_MAPPERS + NR_DMA + 3];
	unsigned int nr = 0, i;
	long rc, secs = argc > 1 ? atol(argv[1]) : 10;

	deadline = time(NULL) + secs;
	if (uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx))
		fail("ctx open", 0);
	ioas = alloc_ioas();
	ioas2 = alloc_ioas();
	stable = map_pages(STABLE_PAGES);
	for (i = 0; i != NR_MAPPERS; i++)
		mapper_mem[i] = map_pages(MAPPER_PAGES);
	rc = map_fixed(ioas, stable, STABLE_PAGES * PG, STABLE_IOVA);
	if (rc)
		fail("stable map", rc);
	rc = mock_domain(ioas, &stdev, &idev, NULL);
	if (rc)
		fail("mock domain", rc);
	/* The auto domain goes with its last device: switch between two of ours. */
	if ((rc = hwpt_alloc(idev, ioas, &hwpt_a)) || (rc = hwpt_alloc(idev, ioas, &hwpt_b)))
		fail("hwpt alloc", rc);
	acc.id = ioas;
	rc = ictl(IOMMU_TEST_CMD, &acc);
	if (rc)
		fail("create access", rc);
	access_fd = (int)acc.create_access.out_access_fd;

	for (i = 0; i != NR_MAPPERS; i++)
		pthread_create(&th[nr++], NULL, mapper, (void *)(uintptr_t)i);
	for (i = 0; i != NR_DMA; i++)
		pthread_create(&th[nr++], NULL, dma, (void *)(uintptr_t)i);
	pthread_create(&th[nr++], NULL, access_rw, NULL);
	pthread_create(&th[nr++], NULL, replacer, NULL);
	pthread_create(&th[nr++], NULL, churner, NULL);
	for (i = 0; i != nr; i++)
		pthread_join(th[i], NULL);

	uiommufd_host_inproc_fd_closed(access_fd);
	close(access_fd);
	uiommufd_ctx_put(ctx);
	if (uiommufd_page_pins(uiommufd_host_inproc(), (uintptr_t)stable))
		fail("pins left after close", uiommufd_page_pins(uiommufd_host_inproc(),
								(uintptr_t)stable));
	printf("stress_threads: %lu operations in %ld s, %u threads: ok\n",
	       atomic_load(&total_ops), secs, nr);
	return 0;
}
