// SPDX-License-Identifier: MIT
/*
 * The format-independent part of the page-table library:
 *  - the format table: which instantiation serves each enum pt_fmt, and the
 *    variants that differ only in configuration (the selftest's huge mock is
 *    the mock format with the pgsize bitmap the kernel's selftest gives it);
 *  - the default table memory: posix_memalign()ed, zeroed, aligned to its
 *    size, with a process-wide pool of freed tables per size.  Like the
 *    kernel's page allocator it hands back memory that is already faulted
 *    in; and since a table freed by unmap is empty, most reuse needs no
 *    zeroing either.  Tables that were not empty are zeroed on free.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pt/pt_defs.h"

/* Pooled sizes: 64 B (small Arm roots) .. 64 KiB; at most 64 MiB per size */
#define POOL_MIN_LG2 6
#define POOL_MAX_LG2 16
#define POOL_MAX_BYTES (64ull << 20)

struct pt_mem_pool {
	pthread_mutex_t lock;
	void *head;		/* free tables, linked through their first word */
	size_t nr;
};

static struct pt_mem_pool pools[POOL_MAX_LG2 + 1] = {
	[0 ... POOL_MAX_LG2] = { .lock = PTHREAD_MUTEX_INITIALIZER },
};

void *pt_table_mem_alloc(unsigned int lg2sz)
{
	size_t size = (size_t)1 << lg2sz;
	void *mem = NULL;

	if (lg2sz >= POOL_MIN_LG2 && lg2sz <= POOL_MAX_LG2) {
		struct pt_mem_pool *pool = &pools[lg2sz];

		pthread_mutex_lock(&pool->lock);
		mem = pool->head;
		if (mem) {
			pool->head = *(void **)mem;
			pool->nr--;
		}
		pthread_mutex_unlock(&pool->lock);
		if (mem) {
			*(void **)mem = NULL;
			return mem;
		}
	}
	if (posix_memalign(&mem, size < sizeof(void *) ? sizeof(void *) : size, size))
		return NULL;
	memset(mem, 0, size);
	return mem;
}

void pt_table_mem_free(void *mem, unsigned int lg2sz, bool zeroed)
{
	if (lg2sz >= POOL_MIN_LG2 && lg2sz <= POOL_MAX_LG2) {
		struct pt_mem_pool *pool = &pools[lg2sz];

		if (!zeroed)
			memset(mem, 0, (size_t)1 << lg2sz);
		pthread_mutex_lock(&pool->lock);
		if (pool->nr < POOL_MAX_BYTES >> lg2sz) {
			*(void **)mem = pool->head;
			pool->head = mem;
			pool->nr++;
			mem = NULL;
		}
		pthread_mutex_unlock(&pool->lock);
	}
	free(mem);
}

/* The iommufd selftest's MOCK_HUGE_PAGE_SIZE (512 * 2 KiB) and PAGE_SIZE */
#define MOCK_HUGE_PGSIZE_BITMAP ((512ull * 2048) | 4096)

static const struct pt_fmt_desc {
	const char *name;
	const struct pt_fmt_ops *ops;
	uint64_t pgsize_bitmap;	/* default restriction, 0 for none */
} pt_fmts[PT_FMT_NR] = {
	[PT_FMT_AMDV1] = { "amdv1", &pt_amdv1_ops },
	[PT_FMT_AMDV1_MOCK] = { "amdv1_mock", &pt_amdv1_mock_ops },
	[PT_FMT_AMDV1_MOCK_HUGE] = { "amdv1_mock_huge", &pt_amdv1_mock_ops,
				     MOCK_HUGE_PGSIZE_BITMAP },
	[PT_FMT_X86_64] = { "x86_64", &pt_x86_64_ops },
	[PT_FMT_VTDSS] = { "vtdss", &pt_vtdss_ops },
	[PT_FMT_ARMV8_S1_4K] = { "armv8_s1_4k", &pt_armv8_s1_4k_ops },
	[PT_FMT_ARMV8_S1_16K] = { "armv8_s1_16k", &pt_armv8_s1_16k_ops },
	[PT_FMT_ARMV8_S1_64K] = { "armv8_s1_64k", &pt_armv8_s1_64k_ops },
	[PT_FMT_ARMV8_S2_4K] = { "armv8_s2_4k", &pt_armv8_s2_4k_ops },
	[PT_FMT_ARMV8_S2_16K] = { "armv8_s2_16k", &pt_armv8_s2_16k_ops },
	[PT_FMT_ARMV8_S2_64K] = { "armv8_s2_64k", &pt_armv8_s2_64k_ops },
};

const char *pt_fmt_name(enum pt_fmt fmt)
{
	return (unsigned int)fmt < PT_FMT_NR ? pt_fmts[fmt].name : NULL;
}

int pt_init(struct pt_table *pt, enum pt_fmt fmt, const struct pt_cfg *cfg)
{
	const struct pt_cfg no_cfg = {};
	struct pt_cfg local;
	int ret;

	memset(pt, 0, sizeof(*pt));
	if ((unsigned int)fmt >= PT_FMT_NR)
		return -EINVAL;
	local = cfg ? *cfg : no_cfg;
	if (pt_fmts[fmt].pgsize_bitmap)
		local.pgsize_bitmap = local.pgsize_bitmap ?
			local.pgsize_bitmap & pt_fmts[fmt].pgsize_bitmap :
			pt_fmts[fmt].pgsize_bitmap;

	pt->ops = pt_fmts[fmt].ops;
	pt->fmt = fmt;
	pt->alloc = local.alloc;
	ret = pt->ops->init(pt, &local);
	if (ret) {
		memset(pt, 0, sizeof(*pt));
		return ret;
	}
	return 0;
}

void pt_deinit(struct pt_table *pt)
{
	if (pt->ops)
		pt->ops->deinit(pt);
	memset(pt, 0, sizeof(*pt));
}
