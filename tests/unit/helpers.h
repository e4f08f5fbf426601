/* SPDX-License-Identifier: MIT */
/* Shared helpers for the unit tests: a context per test, ioctl shortcuts. */
#ifndef UIOMMUFD_TEST_HELPERS_H
#define UIOMMUFD_TEST_HELPERS_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "uiommufd.h"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

#define PSZ ((uint64_t)sysconf(_SC_PAGESIZE))

static inline long ictl(struct uiommufd_ctx *ctx, unsigned long cmd, void *arg)
{
	return uiommufd_ioctl(ctx, cmd, (uint64_t)(uintptr_t)arg);
}

static inline int setup_ctx(void **state)
{
	struct uiommufd_ctx *ctx;

	if (uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx))
		return -1;
	*state = ctx;
	return 0;
}

static inline int teardown_ctx(void **state)
{
	uiommufd_ctx_put(*state);
	return 0;
}

static inline uint32_t ioas_alloc(struct uiommufd_ctx *ctx)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	assert_int_equal(ictl(ctx, IOMMU_IOAS_ALLOC, &cmd), 0);
	assert_int_not_equal(cmd.out_ioas_id, 0);
	return cmd.out_ioas_id;
}

static inline long ioas_map(struct uiommufd_ctx *ctx, uint32_t ioas, void *buf, uint64_t len,
			    uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas,
		.user_va = (uintptr_t)buf,
		.length = len,
		.iova = *iova,
	};
	long rc = ictl(ctx, IOMMU_IOAS_MAP, &cmd);

	if (!rc)
		*iova = cmd.iova;
	return rc;
}

#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define RW_FIXED (RW | IOMMU_IOAS_MAP_FIXED_IOVA)

static inline long ioas_unmap(struct uiommufd_ctx *ctx, uint32_t ioas, uint64_t iova,
			      uint64_t len, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = len,
	};
	long rc = ictl(ctx, IOMMU_IOAS_UNMAP, &cmd);

	if (unmapped)
		*unmapped = cmd.length;
	return rc;
}

static inline long destroy(struct uiommufd_ctx *ctx, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ictl(ctx, IOMMU_DESTROY, &cmd);
}

static inline void *map_pages(size_t npages)
{
	void *p = mmap(NULL, npages * PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	assert_ptr_not_equal(p, MAP_FAILED);
	memset(p, 0x5a, npages * PSZ);
	return p;
}

#endif
