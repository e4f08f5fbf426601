/* SPDX-License-Identifier: MIT */
/*
 * What the benchmarks that drive a context directly share: the context,
 * ioctl through it, and the few object helpers every one of them needs.
 * Failing set-up ends the benchmark with a message naming the call; each
 * benchmark defines BENCH_NAME before including this.
 */
#ifndef UIOMMUFD_BENCH_CTX_H
#define UIOMMUFD_BENCH_CTX_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "uiommufd.h"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

#define die(...)                                                                  \
	do {                                                                      \
		fprintf(stderr, BENCH_NAME ": " __VA_ARGS__);                     \
		fputc('\n', stderr);                                              \
		exit(1);                                                          \
	} while (0)

static struct uiommufd_ctx *ctx;

static inline long ictl(unsigned long cmd, void *arg)
{
	return uiommufd_ioctl(ctx, cmd, (uint64_t)(uintptr_t)arg);
}

static inline void check(long rc, const char *what)
{
	if (rc)
		die("%s failed: %ld", what, rc);
}

static inline uint32_t ioas_alloc(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	check(ictl(IOMMU_IOAS_ALLOC, &cmd), "IOAS_ALLOC");
	return cmd.out_ioas_id;
}

static inline void huge_pages(uint32_t ioas, uint64_t on)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_SET, .object_id = ioas, .val64 = on,
	};

	check(ictl(IOMMU_OPTION, &cmd), "IOMMU_OPTION HUGE_PAGES");
}

/* A mock device on @pt_id; returns its device ID, *@stdev (if given) its selftest object. */
static inline uint32_t mock_domain(uint32_t pt_id, uint32_t *stdev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt_id,
	};

	check(ictl(IOMMU_TEST_CMD, &cmd), "MOCK_DOMAIN");
	if (stdev)
		*stdev = cmd.mock_domain.out_stdev_id;
	return cmd.mock_domain.out_idev_id;
}

/* Unmap exactly [@iova, @iova + @len) of @ioas. */
static inline void ioas_unmap(uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = len,
	};

	check(ictl(IOMMU_IOAS_UNMAP, &cmd), "IOAS_UNMAP");
	if (cmd.length != len)
		die("IOAS_UNMAP unmapped %llu of %llu bytes", (unsigned long long)cmd.length,
		    (unsigned long long)len);
}

/* Destroy object @id; 0 is no object. */
static inline void destroy(uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	if (id)
		check(ictl(IOMMU_DESTROY, &cmd), "DESTROY");
}

#endif
