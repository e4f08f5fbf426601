/* SPDX-License-Identifier: MIT */
/*
 * x86-64 4-level and 5-level paging, as used by the VT-d first stage and the
 * AMD IOMMU v2 (guest) tables.
 *
 * Intel SDM Vol. 3A section 4.5 "4-Level Paging and 5-Level Paging"
 * (Tables 4-15 to 4-20: PML5E, PML4E, PDPTE, PDE, PTE formats); Intel VT-d
 * specification section 9.7 "First-Stage Paging Entries"; AMD IOMMU
 * specification section 2.2.6 "I/O Page Tables for Guest Translations".
 *
 * Levels: PTE 0, PDE 1, PDPTE 2, PML4E 3, PML5E 4.  PS (bit 7) makes a PDE
 * a 2 MiB page and a PDPTE a 1 GiB page.  The PAT bit of large pages is bit
 * 12, inside the address field; it stays 0 since large-page addresses are
 * aligned.  With PT_FEAT_SIGN_EXTEND the input space is canonical: the
 * upper half mirrors the lower one.
 *
 * There is no dirty tracking in this format (neither has the kernel's):
 * writable leaves are written with A and D already set.
 */
#ifndef UIOMMUFD_PT_FMT_X86_64_H
#define UIOMMUFD_PT_FMT_X86_64_H

#include "pt/pt_defs.h"

enum {
	PT_MAX_VA_LG2 = 57,
	PT_MAX_OA_LG2 = 52,
	PT_MAX_TOP_LEVEL = 4,
	PT_GRANULE_LG2SZ = 12,
	PT_TABLEMEM_LG2SZ = 12,
	/* CR3 / FSPTPTR / GCR3 hold a 4 KiB aligned table */
	PT_TOP_MIN_LG2SZ = 12,
};

#define X86_64_P PT_BIT(0)
#define X86_64_RW PT_BIT(1)
#define X86_64_US PT_BIT(2)
#define X86_64_A PT_BIT(5)
#define X86_64_D PT_BIT(6)
#define X86_64_PS PT_BIT(7)	/* PDPTE, PDE */
#define X86_64_OA PT_GENMASK(51, 12)
#define X86_64_XD PT_BIT(63)

static __always_inline bool x86_64_can_have_leaf(const struct pt_table *pt, unsigned int level)
{
	return level <= 2;
}
#define pt_can_have_leaf x86_64_can_have_leaf

static __always_inline enum pt_entry_type x86_64_classify_entry(u64 entry, unsigned int level)
{
	if (!(entry & X86_64_P))
		return PT_ENTRY_EMPTY;
	if (level == 0 || (level <= 2 && (entry & X86_64_PS)))
		return PT_ENTRY_OA;
	return PT_ENTRY_TABLE;
}
#define pt_classify_entry x86_64_classify_entry

static __always_inline u64 x86_64_table_pa(u64 entry)
{
	return entry & X86_64_OA;
}
#define pt_table_pa x86_64_table_pa

static __always_inline u64 x86_64_entry_oa(u64 entry, unsigned int level)
{
	return entry & X86_64_OA & ~log2_mask(PT_ITEM_LG2SZ(level));
}
#define pt_entry_oa x86_64_entry_oa

static __always_inline u64 x86_64_make_leaf(u64 oa, unsigned int oasz_lg2, unsigned int level,
					    const struct pt_write_attrs *attrs)
{
	return X86_64_P | (oa & X86_64_OA) | attrs->descriptor_bits | (level ? X86_64_PS : 0);
}
#define pt_make_leaf x86_64_make_leaf

/* Non-leaf entries allow everything; the leaf decides (SDM 4.6) */
static __always_inline u64 x86_64_make_table(u64 table_pa, unsigned int level)
{
	return X86_64_P | X86_64_RW | X86_64_US | X86_64_A | (table_pa & X86_64_OA);
}
#define pt_make_table x86_64_make_table

static __always_inline unsigned int x86_64_entry_prot(u64 entry)
{
	return PT_READ | (entry & X86_64_RW ? PT_WRITE : 0) | (entry & X86_64_XD ? PT_NOEXEC : 0);
}
#define pt_entry_prot x86_64_entry_prot

/* As the kernel: user pages, accessed; writable pages pre-dirtied */
static inline int x86_64_fmt_set_prot(const struct pt_table *pt, unsigned int prot,
				      struct pt_write_attrs *attrs)
{
	u64 bits = X86_64_US | X86_64_A;

	if (!(prot & (PT_READ | PT_WRITE)))
		return -EINVAL;
	if (prot & PT_WRITE)
		bits |= X86_64_RW | X86_64_D;
	attrs->descriptor_bits = bits;
	return 0;
}
#define pt_fmt_set_prot x86_64_fmt_set_prot

/* vasz 31..57 picks 3, 4 or 5 levels (the kernel's rule); 48 by default */
static inline int x86_64_fmt_init(struct pt_table *pt, const struct pt_cfg *cfg)
{
	unsigned int vasz_lg2 = cfg->vasz_lg2 ? cfg->vasz_lg2 : 48;

	if (vasz_lg2 < 31 || vasz_lg2 > PT_MAX_VA_LG2 || cfg->oasz_lg2 > PT_MAX_OA_LG2)
		return -EINVAL;
	pt->top_level = (vasz_lg2 - 31) / 9 + 2;
	pt->top_items_lg2 = vasz_lg2 - PT_ITEM_LG2SZ(pt->top_level);
	pt->vasz_lg2 = vasz_lg2;
	pt->oasz_lg2 = cfg->oasz_lg2 ? cfg->oasz_lg2 : PT_MAX_OA_LG2;
	return 0;
}
#define pt_fmt_init x86_64_fmt_init

static inline void x86_64_fmt_hw_info(struct pt_table *pt, struct pt_hw_info *info)
{
}
#define pt_fmt_hw_info x86_64_fmt_hw_info

#endif
