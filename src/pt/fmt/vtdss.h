/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-d second-stage page table, 3, 4 or 5 levels.
 *
 * Intel Virtualization Technology for Directed I/O Architecture
 * Specification, section 3.7 "Second-Stage Translation" and section 9.8
 * "Second-Stage Paging Entries" (SS-PML5E, SS-PML4E, SS-PDPTE, SS-PDE,
 * SS-PTE formats).
 *
 * Levels: SS-PTE 0, SS-PDE 1, SS-PDPTE 2, SS-PML4E 3, SS-PML5E 4.  There is
 * no present bit: an entry with R and W clear is not present.  PS (bit 7)
 * makes an SS-PDE a 2 MiB page and an SS-PDPTE a 1 GiB page.  A (bit 8) and
 * D (bit 9) are set by the hardware when the PASID entry enables SSADE;
 * D is the dirty-tracking state.  SNP (bit 11) forces snooping.
 */
#ifndef UIOMMUFD_PT_FMT_VTDSS_H
#define UIOMMUFD_PT_FMT_VTDSS_H

#include "pt/pt_defs.h"

enum {
	PT_MAX_VA_LG2 = 57,
	PT_MAX_OA_LG2 = 52,
	PT_MAX_TOP_LEVEL = 4,
	PT_GRANULE_LG2SZ = 12,
	PT_TABLEMEM_LG2SZ = 12,
	/* SSPTPTR is 4 KiB aligned */
	PT_TOP_MIN_LG2SZ = 12,
};

#define VTDSS_R PT_BIT(0)
#define VTDSS_W PT_BIT(1)
#define VTDSS_PS PT_BIT(7)
#define VTDSS_A PT_BIT(8)
#define VTDSS_D PT_BIT(9)
#define VTDSS_SNP PT_BIT(11)
#define VTDSS_OA PT_GENMASK(51, 12)

static __always_inline bool vtdss_can_have_leaf(const struct pt_table *pt, unsigned int level)
{
	return level <= 2;
}
#define pt_can_have_leaf vtdss_can_have_leaf

static __always_inline enum pt_entry_type vtdss_classify_entry(u64 entry, unsigned int level)
{
	if (!(entry & (VTDSS_R | VTDSS_W)))
		return PT_ENTRY_EMPTY;
	if (level == 0 || (level <= 2 && (entry & VTDSS_PS)))
		return PT_ENTRY_OA;
	return PT_ENTRY_TABLE;
}
#define pt_classify_entry vtdss_classify_entry

static __always_inline u64 vtdss_table_pa(u64 entry)
{
	return entry & VTDSS_OA;
}
#define pt_table_pa vtdss_table_pa

static __always_inline u64 vtdss_entry_oa(u64 entry, unsigned int level)
{
	return entry & VTDSS_OA & ~log2_mask(PT_ITEM_LG2SZ(level));
}
#define pt_entry_oa vtdss_entry_oa

static __always_inline u64 vtdss_make_leaf(u64 oa, unsigned int oasz_lg2, unsigned int level,
					   const struct pt_write_attrs *attrs)
{
	return (oa & VTDSS_OA) | attrs->descriptor_bits | (level ? VTDSS_PS : 0);
}
#define pt_make_leaf vtdss_make_leaf

static __always_inline u64 vtdss_make_table(u64 table_pa, unsigned int level)
{
	return VTDSS_R | VTDSS_W | (table_pa & VTDSS_OA);
}
#define pt_make_table vtdss_make_table

static __always_inline unsigned int vtdss_entry_prot(u64 entry)
{
	return (entry & VTDSS_R ? PT_READ : 0) | (entry & VTDSS_W ? PT_WRITE : 0);
}
#define pt_entry_prot vtdss_entry_prot

static inline int vtdss_fmt_set_prot(const struct pt_table *pt, unsigned int prot,
				     struct pt_write_attrs *attrs)
{
	u64 bits = 0;

	/* Without R or W the entry would read as not present */
	if (!(prot & (PT_READ | PT_WRITE)))
		return -EINVAL;
	if (prot & PT_READ)
		bits |= VTDSS_R;
	if (prot & PT_WRITE)
		bits |= VTDSS_W;
	if (pt_feature(pt, PT_FEAT_FORCE_COHERENCE))
		bits |= VTDSS_SNP;
	attrs->descriptor_bits = bits;
	return 0;
}
#define pt_fmt_set_prot vtdss_fmt_set_prot

#define PT_HAS_DIRTY 1
static __always_inline bool vtdss_fmt_dirty_enabled(const struct pt_table *pt)
{
	return true;
}
#define pt_fmt_dirty_enabled vtdss_fmt_dirty_enabled

static __always_inline bool vtdss_entry_is_write_dirty(u64 entry)
{
	return entry & VTDSS_D;
}
#define pt_entry_is_write_dirty vtdss_entry_is_write_dirty

static __always_inline void vtdss_entry_make_write_clean(u64 *itemp)
{
	__atomic_fetch_and(itemp, ~VTDSS_D, __ATOMIC_RELAXED);
}
#define pt_entry_make_write_clean vtdss_entry_make_write_clean

static __always_inline bool vtdss_entry_make_write_dirty(u64 *itemp, u64 entry)
{
	return __atomic_compare_exchange_n(itemp, &entry, entry | VTDSS_D, false,
					   __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
#define pt_entry_make_write_dirty vtdss_entry_make_write_dirty

/* Section 3.7: AGAW 39, 48 or 57 bits; 48 by default */
static inline int vtdss_fmt_init(struct pt_table *pt, const struct pt_cfg *cfg)
{
	unsigned int vasz_lg2 = cfg->vasz_lg2 ? cfg->vasz_lg2 : 48;

	if (vasz_lg2 <= 30 || vasz_lg2 > PT_MAX_VA_LG2 || cfg->oasz_lg2 > PT_MAX_OA_LG2)
		return -EINVAL;
	pt->top_level = vasz_lg2 > 48 ? 4 : vasz_lg2 > 39 ? 3 : 2;
	pt->top_items_lg2 = vasz_lg2 - PT_ITEM_LG2SZ(pt->top_level);
	pt->vasz_lg2 = vasz_lg2;
	pt->oasz_lg2 = cfg->oasz_lg2 ? cfg->oasz_lg2 : PT_MAX_OA_LG2;
	return 0;
}
#define pt_fmt_init vtdss_fmt_init

/* Context/PASID entry AW: 1 = 3-level, 2 = 4-level, 3 = 5-level */
static inline void vtdss_fmt_hw_info(struct pt_table *pt, struct pt_hw_info *info)
{
	info->vtd_aw = pt->top_level - 1;
}
#define pt_fmt_hw_info vtdss_fmt_hw_info

#endif
