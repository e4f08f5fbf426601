/* SPDX-License-Identifier: MIT */
/*
 * Definitions shared by the page-table template and the format headers.
 *
 * The page-table language (the kernel's generic_pt glossary):
 *  - va/iova is the input address, oa the output address.
 *  - A table is an array of items; level 0 tables hold only leaves; the top
 *    table is at pt->top_level (inclusive).
 *  - An item is one table slot.  An entry is what a lookup finds: one item,
 *    or a run of 2^num_contig_lg2 items that together map one large page
 *    (AMDv1 "next level 7" pages).
 *  - An entry is EMPTY, a TABLE pointer, or an OA (a leaf).
 *  - `last` is inclusive, `end` exclusive, `_lg2` marks a log2 value,
 *    `lg2sz` the log2 of a size in bytes.
 *
 * Nothing here walks a table; the format headers only encode and decode
 * entries and pt_iter.h/iommu_pt.h hold every algorithm.
 */
#ifndef UIOMMUFD_PT_DEFS_H
#define UIOMMUFD_PT_DEFS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pt/pt.h"

typedef uint64_t u64;
typedef uint32_t u32;

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define pt_unused __attribute__((unused))
#define pt_likely(x) __builtin_expect(!!(x), 1)
#define pt_unlikely(x) __builtin_expect(!!(x), 0)

/* Entries are read and written whole, as the hardware walker would see them. */
#define PT_READ_ONCE(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define PT_WRITE_ONCE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

#define PT_BIT(n) (1ull << (n))
#define PT_GENMASK(h, l) (((~0ull) >> (63 - (h))) & ~((1ull << (l)) - 1))
/* FIELD_PREP/FIELD_GET for a contiguous constant mask */
#define PT_FIELD_GET(mask, v) (((v) & (mask)) >> __builtin_ctzll(mask))
#define PT_FIELD_PREP(mask, v) (((u64)(v) << __builtin_ctzll(mask)) & (mask))

/* log2 helpers; lg2 may be 64 where noted */
static inline u64 log2_to_int(unsigned int lg2)
{
	return lg2 >= 64 ? 0 : 1ull << lg2;
}

/* Low @lg2 bits set; all ones for lg2 >= 64 */
static inline u64 log2_mask(unsigned int lg2)
{
	return lg2 >= 64 ? ~0ull : (1ull << lg2) - 1;
}

static inline u64 log2_mod(u64 v, unsigned int lg2)
{
	return v & log2_mask(lg2);
}

static inline u64 log2_div(u64 v, unsigned int lg2)
{
	return lg2 >= 64 ? 0 : v >> lg2;
}

/* Index of the highest set bit; v != 0 */
static inline unsigned int log2_fls(u64 v)
{
	return 63 - __builtin_clzll(v);
}

/* Number of trailing one bits */
static inline unsigned int log2_ffz(u64 v)
{
	return __builtin_ctzll(~v | PT_BIT(63)) + (v == ~0ull);
}

enum pt_entry_type {
	PT_ENTRY_EMPTY,
	PT_ENTRY_TABLE,
	PT_ENTRY_OA,
};

/* The descriptor bits a map writes into every leaf, from pt_fmt_set_prot() */
struct pt_write_attrs {
	u64 descriptor_bits;
};

/* log2 of the VA span one item of @level covers; every non-top table is PT_TABLEMEM_LG2SZ */
#define PT_ITEM_LG2SZ(level) (PT_GRANULE_LG2SZ + (level) * (PT_TABLEMEM_LG2SZ - 3))

/*
 * Default table memory (pt.c): zeroed, aligned to its size.  Freed tables
 * are kept in a process-wide pool so the next map neither faults memory in
 * nor zeroes it; @zeroed says the caller knows the table is all zero (an
 * emptied table), otherwise it is cleared on the way in.
 */
void *pt_table_mem_alloc(unsigned int lg2sz);
void pt_table_mem_free(void *mem, unsigned int lg2sz, bool zeroed);

/* Is feature @f both compiled into this instantiation and enabled on @pt? */
#define pt_feature(pt, f) ((PT_SUPPORTED_FEATURES & (f)) && ((pt)->features & (f)))

#endif
