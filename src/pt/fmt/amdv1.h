/* SPDX-License-Identifier: MIT */
/*
 * AMD IOMMU v1 host page table.
 *
 * AMD I/O Virtualization Technology (IOMMU) Specification (pub. 48882),
 * section 2.2.3 "I/O Page Tables for Host Translations": Figure "I/O Page
 * Table Entry (PTE)" / "Page Directory Entry (PDE)", Table 14 "Example Page
 * Size Encodings", Table 15 "Page Table Level Parameters".
 *
 * Level numbering is generic: level 0 is the spec's level 1, and the DTE
 * Mode is top_level + 1.  A leaf at any level with NextLevel 0 has the
 * level's default size.  NextLevel 7 marks a leaf whose size is encoded as a
 * run of ones in the low address bits; it is replicated into every item it
 * covers (a contiguous entry, 2^n items).
 *
 * AMDV1_MOCK selects the iommufd selftest's variant (the kernel's
 * AMDV1_IOMMUFD_SELFTEST): the same layout with a 2 KiB granule, 56-bit
 * input, 51-bit output and 4 KiB tables, so the address field holds
 * oa >> 11.
 */
#ifndef UIOMMUFD_PT_FMT_AMDV1_H
#define UIOMMUFD_PT_FMT_AMDV1_H

#include "pt/pt_defs.h"

enum {
#ifdef AMDV1_MOCK
	PT_MAX_VA_LG2 = 56,
	PT_MAX_OA_LG2 = 51,
	PT_MAX_TOP_LEVEL = 4,
	PT_GRANULE_LG2SZ = 11,
#else
	PT_MAX_VA_LG2 = 64,
	PT_MAX_OA_LG2 = 52,
	PT_MAX_TOP_LEVEL = 5,
	PT_GRANULE_LG2SZ = 12,
#endif
	PT_TABLEMEM_LG2SZ = 12,
	/* DTE Host Page Table Root Pointer is bits 51:12 */
	PT_TOP_MIN_LG2SZ = 12,
};

/* PTE/PDE bits, section 2.2.3 */
#define AMDV1_PR PT_BIT(0)		/* present */
#define AMDV1_A PT_BIT(5)		/* accessed */
#define AMDV1_D PT_BIT(6)		/* dirty (PTE only) */
#define AMDV1_NEXT_LEVEL PT_GENMASK(11, 9)
#define AMDV1_OA PT_GENMASK(51, 12)
#define AMDV1_FC PT_BIT(60)		/* force coherent */
#define AMDV1_IR PT_BIT(61)
#define AMDV1_IW PT_BIT(62)

#define AMDV1_NL_DEFAULT 0ull	/* a leaf of the level's default size */
#define AMDV1_NL_SIZE 7ull	/* a leaf whose size is in the address field */

static __always_inline enum pt_entry_type amdv1_classify_entry(u64 entry, unsigned int level)
{
	u64 nl = PT_FIELD_GET(AMDV1_NEXT_LEVEL, entry);

	if (!(entry & AMDV1_PR))
		return PT_ENTRY_EMPTY;
	if (level == 0 || nl == AMDV1_NL_DEFAULT || nl == AMDV1_NL_SIZE)
		return PT_ENTRY_OA;
	return PT_ENTRY_TABLE;
}
#define pt_classify_entry amdv1_classify_entry

static __always_inline u64 amdv1_table_pa(u64 entry)
{
	return PT_FIELD_GET(AMDV1_OA, entry) << PT_GRANULE_LG2SZ;
}
#define pt_table_pa amdv1_table_pa

/*
 * The run length: with NextLevel 7 the address field of a 2^p page ends in
 * p - granule - 1 ones.  Counting from the bit for this level's item size
 * (one below it is the top NextLevel bit, also 1) gives p - item size.
 */
static __always_inline unsigned int amdv1_entry_num_contig_lg2(u64 entry, unsigned int level)
{
	if (PT_FIELD_GET(AMDV1_NEXT_LEVEL, entry) != AMDV1_NL_SIZE)
		return 0;
	return log2_ffz(entry >> (11 + PT_ITEM_LG2SZ(level) - PT_GRANULE_LG2SZ));
}
#define pt_entry_num_contig_lg2 amdv1_entry_num_contig_lg2

static __always_inline u64 amdv1_entry_oa(u64 entry, unsigned int level)
{
	u64 oa = PT_FIELD_GET(AMDV1_OA, entry);

	if (PT_FIELD_GET(AMDV1_NEXT_LEVEL, entry) == AMDV1_NL_SIZE)
		oa &= ~log2_mask(log2_ffz(oa));
	return oa << PT_GRANULE_LG2SZ;
}
#define pt_entry_oa amdv1_entry_oa

/* Table 15: the top level cannot hold translations */
static __always_inline bool amdv1_can_have_leaf(const struct pt_table *pt, unsigned int level)
{
	return level < PT_MAX_TOP_LEVEL;
}
#define pt_can_have_leaf amdv1_can_have_leaf

/*
 * Table 14: every power of two from the item size up to a full table of
 * items, address bits 51:32 encode the larger ones.  512 GiB pages are
 * left out: the kernel avoids them for a hardware erratum.
 */
static __always_inline u64 amdv1_possible_sizes(const struct pt_table *pt, unsigned int level)
{
	unsigned int isz_lg2 = PT_ITEM_LG2SZ(level);
	unsigned int top_lg2 = isz_lg2 + (PT_TABLEMEM_LG2SZ - 3) - 1;

	if (!amdv1_can_have_leaf(pt, level))
		return 0;
	if (top_lg2 > 51)
		top_lg2 = 51;
	return PT_GENMASK(top_lg2, isz_lg2) & ~PT_BIT(39);
}
#define pt_possible_sizes amdv1_possible_sizes

static __always_inline u64 amdv1_make_leaf(u64 oa, unsigned int oasz_lg2, unsigned int level,
					   const struct pt_write_attrs *attrs)
{
	u64 entry = AMDV1_PR | PT_FIELD_PREP(AMDV1_OA, oa >> PT_GRANULE_LG2SZ) |
		    attrs->descriptor_bits;

	if (oasz_lg2 == PT_ITEM_LG2SZ(level))
		return entry | PT_FIELD_PREP(AMDV1_NEXT_LEVEL, AMDV1_NL_DEFAULT);
	return entry | PT_FIELD_PREP(AMDV1_NEXT_LEVEL, AMDV1_NL_SIZE) |
	       PT_FIELD_PREP(AMDV1_OA, log2_mask(oasz_lg2 - PT_GRANULE_LG2SZ - 1));
}
#define pt_make_leaf amdv1_make_leaf

/*
 * A PDE's NextLevel is the spec level of the table it points to, which is
 * our level.  IR/IW of every PDE are ANDed into the walk; permissions are
 * kept in the PTE, so tables allow both.
 */
static __always_inline u64 amdv1_make_table(u64 table_pa, unsigned int level)
{
	return AMDV1_PR | PT_FIELD_PREP(AMDV1_NEXT_LEVEL, level) |
	       PT_FIELD_PREP(AMDV1_OA, table_pa >> PT_GRANULE_LG2SZ) | AMDV1_IR | AMDV1_IW;
}
#define pt_make_table amdv1_make_table

static __always_inline unsigned int amdv1_entry_prot(u64 entry)
{
	return (entry & AMDV1_IR ? PT_READ : 0) | (entry & AMDV1_IW ? PT_WRITE : 0);
}
#define pt_entry_prot amdv1_entry_prot

static inline int amdv1_fmt_set_prot(const struct pt_table *pt, unsigned int prot,
				     struct pt_write_attrs *attrs)
{
	u64 bits = 0;

	if (!(prot & (PT_READ | PT_WRITE)))
		return -EINVAL;
	if (prot & PT_READ)
		bits |= AMDV1_IR;
	if (prot & PT_WRITE)
		bits |= AMDV1_IW;
	if (pt_feature(pt, PT_FEAT_FORCE_COHERENCE))
		bits |= AMDV1_FC;
	attrs->descriptor_bits = bits;
	return 0;
}
#define pt_fmt_set_prot amdv1_fmt_set_prot

/* Dirty: the D bit, ORed over the items of a contiguous entry */
#define PT_HAS_DIRTY 1
static __always_inline bool amdv1_fmt_dirty_enabled(const struct pt_table *pt)
{
	return true;
}
#define pt_fmt_dirty_enabled amdv1_fmt_dirty_enabled

static __always_inline bool amdv1_entry_is_write_dirty(u64 entry)
{
	return entry & AMDV1_D;
}
#define pt_entry_is_write_dirty amdv1_entry_is_write_dirty

static __always_inline void amdv1_entry_make_write_clean(u64 *itemp)
{
	__atomic_fetch_and(itemp, ~AMDV1_D, __ATOMIC_RELAXED);
}
#define pt_entry_make_write_clean amdv1_entry_make_write_clean

static __always_inline bool amdv1_entry_make_write_dirty(u64 *itemp, u64 entry)
{
	return __atomic_compare_exchange_n(itemp, &entry, entry | AMDV1_D, false,
					   __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
#define pt_entry_make_write_dirty amdv1_entry_make_write_dirty

/*
 * cfg->top_level is the starting level (kernel: starting_level), 1..top;
 * without a growing top the input size is what those levels reach.
 */
static inline int amdv1_fmt_init(struct pt_table *pt, const struct pt_cfg *cfg)
{
	unsigned int top = cfg->top_level ? cfg->top_level : 2;
	unsigned int vasz_lg2;

	if (top > PT_MAX_TOP_LEVEL)
		return -EINVAL;
	vasz_lg2 = PT_ITEM_LG2SZ(top + 1);
	if (vasz_lg2 > PT_MAX_VA_LG2)
		vasz_lg2 = PT_MAX_VA_LG2;
	if (cfg->vasz_lg2 && cfg->vasz_lg2 < vasz_lg2) {
		if (cfg->vasz_lg2 <= PT_ITEM_LG2SZ(top))
			return -EINVAL;
		vasz_lg2 = cfg->vasz_lg2;
	}
	if (cfg->oasz_lg2 > PT_MAX_OA_LG2)
		return -EINVAL;
	pt->top_level = top;
	pt->top_items_lg2 = vasz_lg2 - PT_ITEM_LG2SZ(top);
	pt->vasz_lg2 = vasz_lg2;
	pt->oasz_lg2 = cfg->oasz_lg2 ? cfg->oasz_lg2 : PT_MAX_OA_LG2;
	return 0;
}
#define pt_fmt_init amdv1_fmt_init

static inline void amdv1_fmt_hw_info(struct pt_table *pt, struct pt_hw_info *info)
{
	info->amd_mode = pt->top_level + 1;
}
#define pt_fmt_hw_info amdv1_fmt_hw_info

#endif
