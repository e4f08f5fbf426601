/* SPDX-License-Identifier: MIT */
/*
 * What every page-table test shares: the list of formats and configurations
 * the suites run against, and a table allocator that counts (leak and
 * table-freeing checks) and can be told to fail (unwind checks).
 */
#ifndef UIOMMUFD_TESTS_PT_TEST_H
#define UIOMMUFD_TESTS_PT_TEST_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pt/pt.h"

struct pt_test_fmt {
	const char *name;
	enum pt_fmt fmt;
	struct pt_cfg cfg;
	bool dirty;		/* has dirty state */
	bool dirty_on_map;	/* writable leaves start write-dirty (Arm DBM) */
	bool write_only;	/* can express write without read */
	bool noexec;		/* walk reports PT_NOEXEC */
};

#define PT_TEST_FMT(n, f, ...) { .name = n, .fmt = f, __VA_ARGS__ }

static const struct pt_test_fmt pt_test_fmts[] = {
	PT_TEST_FMT("amdv1", PT_FMT_AMDV1, .dirty = true, .write_only = true),
	PT_TEST_FMT("amdv1_l3", PT_FMT_AMDV1, .cfg.top_level = 3, .dirty = true,
		    .write_only = true),
	PT_TEST_FMT("amdv1_mock", PT_FMT_AMDV1_MOCK, .dirty = true, .write_only = true),
	PT_TEST_FMT("amdv1_mock_huge", PT_FMT_AMDV1_MOCK_HUGE, .dirty = true,
		    .write_only = true),
	PT_TEST_FMT("x86_64_4lvl", PT_FMT_X86_64, .cfg.vasz_lg2 = 48),
	PT_TEST_FMT("x86_64_5lvl", PT_FMT_X86_64, .cfg.vasz_lg2 = 57),
	PT_TEST_FMT("x86_64_4lvl_sx", PT_FMT_X86_64, .cfg.vasz_lg2 = 48,
		    .cfg.features = PT_FEAT_SIGN_EXTEND),
	PT_TEST_FMT("vtdss_3lvl", PT_FMT_VTDSS, .cfg.vasz_lg2 = 39, .dirty = true,
		    .write_only = true),
	PT_TEST_FMT("vtdss_4lvl", PT_FMT_VTDSS, .cfg.vasz_lg2 = 48, .dirty = true,
		    .write_only = true),
	PT_TEST_FMT("vtdss_5lvl", PT_FMT_VTDSS, .cfg.vasz_lg2 = 57, .dirty = true,
		    .write_only = true),
	PT_TEST_FMT("armv8_s1_4k", PT_FMT_ARMV8_S1_4K, .cfg.features = PT_FEAT_ARM_DBM,
		    .dirty = true, .dirty_on_map = true, .noexec = true),
	PT_TEST_FMT("armv8_s1_16k", PT_FMT_ARMV8_S1_16K, .cfg.features = PT_FEAT_ARM_DBM,
		    .dirty = true, .dirty_on_map = true, .noexec = true),
	PT_TEST_FMT("armv8_s1_64k", PT_FMT_ARMV8_S1_64K, .cfg.features = PT_FEAT_ARM_DBM,
		    .dirty = true, .dirty_on_map = true, .noexec = true),
	PT_TEST_FMT("armv8_s1_4k_nodbm", PT_FMT_ARMV8_S1_4K, .noexec = true),
	PT_TEST_FMT("armv8_s2_4k_40b", PT_FMT_ARMV8_S2_4K, .cfg.vasz_lg2 = 40,
		    .cfg.features = PT_FEAT_ARM_DBM, .dirty = true, .dirty_on_map = true,
		    .write_only = true, .noexec = true),
	PT_TEST_FMT("armv8_s2_16k", PT_FMT_ARMV8_S2_16K, .cfg.features = PT_FEAT_ARM_DBM,
		    .dirty = true, .dirty_on_map = true, .write_only = true, .noexec = true),
	PT_TEST_FMT("armv8_s2_64k", PT_FMT_ARMV8_S2_64K, .cfg.features = PT_FEAT_ARM_DBM,
		    .dirty = true, .dirty_on_map = true, .write_only = true, .noexec = true),
};

#define PT_TEST_NR_FMTS (sizeof(pt_test_fmts) / sizeof(pt_test_fmts[0]))

/* A table allocator that counts what is outstanding and fails on demand */
struct pt_test_alloc {
	long outstanding;
	long allocs;
	long fail_after;	/* fail once this many more allocations succeeded; <0: never */
};

static inline void *pt_test_alloc_table(void *priv, unsigned int lg2sz)
{
	struct pt_test_alloc *a = priv;
	size_t size = (size_t)1 << lg2sz;
	void *mem;

	if (a->fail_after == 0)
		return NULL;
	if (a->fail_after > 0)
		a->fail_after--;
	if (posix_memalign(&mem, size, size))
		return NULL;
	memset(mem, 0, size);
	a->outstanding++;
	a->allocs++;
	return mem;
}

static inline void pt_test_free_table(void *priv, void *table, unsigned int lg2sz)
{
	struct pt_test_alloc *a = priv;

	a->outstanding--;
	free(table);
}

/* pt_init() the format with the counting allocator */
static inline int pt_test_init(struct pt_table *pt, const struct pt_test_fmt *f,
			       struct pt_test_alloc *a)
{
	struct pt_cfg cfg = f->cfg;

	memset(a, 0, sizeof(*a));
	a->fail_after = -1;
	cfg.alloc.alloc_table = pt_test_alloc_table;
	cfg.alloc.free_table = pt_test_free_table;
	cfg.alloc.priv = a;
	return pt_init(pt, f->fmt, &cfg);
}

static inline unsigned int pt_test_min_lg2(const struct pt_table *pt)
{
	return (unsigned int)__builtin_ctzll(pt->pgsize_bitmap);
}

/* Log2 of the VA one item of @level covers, from the format's geometry */
static inline unsigned int pt_test_item_lg2(const struct pt_table *pt, unsigned int level)
{
	unsigned int gran;

	/* The granule is the level 0 item; tables are one granule, the mock's 4 KiB */
	switch (pt->fmt) {
	case PT_FMT_AMDV1_MOCK:
	case PT_FMT_AMDV1_MOCK_HUGE:
		gran = 11;
		break;
	case PT_FMT_ARMV8_S1_16K:
	case PT_FMT_ARMV8_S2_16K:
		gran = 14;
		break;
	case PT_FMT_ARMV8_S1_64K:
	case PT_FMT_ARMV8_S2_64K:
		gran = 16;
		break;
	default:
		gran = 12;
	}
	return gran + level * (gran - 3 + (pt->fmt == PT_FMT_AMDV1_MOCK ||
					   pt->fmt == PT_FMT_AMDV1_MOCK_HUGE));
}

/* The page size map must choose, written plainly: the largest that fits. */
static inline unsigned int ref_best_lg2(uint64_t sizes, uint64_t iova, uint64_t oa, uint64_t len)
{
	int lg2;

	for (lg2 = 63; lg2 >= 0; lg2--) {
		uint64_t sz = 1ull << lg2;

		if ((sizes & sz) && !(iova % sz) && !(oa % sz) && sz <= len)
			return (unsigned int)lg2;
	}
	return 0;
}

#endif
