/* SPDX-License-Identifier: MIT */
/*
 * Arm VMSAv8-64 translation tables, stage 1 and stage 2, with 4 KiB, 16 KiB
 * or 64 KiB granules (the SMMUv3 and CPU long-descriptor format).
 *
 * Arm Architecture Reference Manual for A-profile (DDI 0487), chapter D8
 * "The AArch64 Virtual Memory System Architecture": D8.3 "Translation table
 * descriptor formats" (table, block and page descriptors; the OA field and,
 * for the 64 KiB granule with FEAT_LPA, OA[51:48] in bits [15:12]), D8.4
 * "Memory access control" (AP[2:1], S2AP, XN/PXN/UXN), D8.5 "Memory
 * region attributes" (AttrIndx, stage 2 MemAttr, SH), D8.4.6 "The Access
 * flag" and "Dirty state" (DBM, bit 51, FEAT_HAFDBS), and D8.2.10
 * "Concatenated translation tables" for the stage 2 root.
 *
 * The instantiation sets ARMV8_GRANULE_LG2 (12, 14 or 16) and ARMV8_STAGE
 * (1 or 2).  Generic level n is Arm lookup level 3 - n.  Blocks exist at
 * Arm levels 1 and 2 with 4 KiB (1 GiB, 2 MiB) and at level 2 with 16 KiB
 * (32 MiB) and 64 KiB (512 MiB); the 52-bit (LPA2) level -1/0 blocks are
 * not supported.  The contiguous hint (bit 52) is never set.
 *
 * Dirty state is the hardware's DBM scheme, enabled by PT_FEAT_ARM_DBM:
 * a writable leaf carries DBM; it is write-clean while AP[2] is set
 * (stage 1) or S2AP[1] is clear (stage 2), and the hardware flips that bit
 * on the first write.  As io-pgtable-arm, writable leaves are created
 * write-dirty; a harvest makes them clean.
 */
#ifndef UIOMMUFD_PT_FMT_ARMV8_H
#define UIOMMUFD_PT_FMT_ARMV8_H

#include "pt/pt_defs.h"

#if ARMV8_GRANULE_LG2 != 12 && ARMV8_GRANULE_LG2 != 14 && ARMV8_GRANULE_LG2 != 16
#error "ARMV8_GRANULE_LG2 must be 12, 14 or 16"
#endif

enum {
	PT_GRANULE_LG2SZ = ARMV8_GRANULE_LG2,
	PT_TABLEMEM_LG2SZ = ARMV8_GRANULE_LG2,
#if ARMV8_GRANULE_LG2 == 16
	PT_MAX_VA_LG2 = 52,	/* FEAT_LVA */
	PT_MAX_OA_LG2 = 52,	/* FEAT_LPA */
	PT_MAX_TOP_LEVEL = 2,	/* Arm level 1 */
#else
	PT_MAX_VA_LG2 = 48,
	PT_MAX_OA_LG2 = 48,
	PT_MAX_TOP_LEVEL = 3,	/* Arm level 0 */
#endif
	/* TTBR/VTTBR: the root is aligned to its size, at least 64 bytes */
	PT_TOP_MIN_LG2SZ = 6,
	/* Stage 2 roots may concatenate up to 16 tables */
	ARMV8_S2_MAX_CONCAT_LG2 = 4,
};

/* Descriptor bits, D8.3 */
#define ARMV8_VALID PT_BIT(0)
#define ARMV8_TYPE PT_BIT(1)		/* table, or page at level 3; 0 is a block */
#define ARMV8_ATTRINDX PT_GENMASK(4, 2) /* stage 1 */
#define ARMV8_MEMATTR PT_GENMASK(5, 2)	/* stage 2 */
#define ARMV8_AP1 PT_BIT(6)		/* stage 1: EL0 (unprivileged) access */
#define ARMV8_AP2 PT_BIT(7)		/* stage 1: read-only */
#define ARMV8_S2AP_R PT_BIT(6)
#define ARMV8_S2AP_W PT_BIT(7)
#define ARMV8_SH PT_GENMASK(9, 8)
#define ARMV8_AF PT_BIT(10)
#define ARMV8_NG PT_BIT(11)		/* stage 1 */
#define ARMV8_OA_LO PT_GENMASK(47, ARMV8_GRANULE_LG2)
#define ARMV8_OA_HI PT_GENMASK(15, 12)	/* 64 KiB granule: OA[51:48] */
#define ARMV8_DBM PT_BIT(51)
#define ARMV8_CONT PT_BIT(52)
#define ARMV8_PXN PT_BIT(53)		/* stage 1 */
#define ARMV8_UXN PT_BIT(54)		/* stage 1 UXN; stage 2 XN[1] */

#define ARMV8_SH_OS 2ull
#define ARMV8_SH_IS 3ull
/* MAIR indices as io-pgtable-arm programs MAIR_EL1 / CD.MAIR */
#define ARMV8_MAIR_IDX_NC 0ull
#define ARMV8_MAIR_IDX_CACHE 1ull
#define ARMV8_MAIR_IDX_DEV 2ull
/* Stage 2 MemAttr without FEAT_S2FWB */
#define ARMV8_MEMATTR_DEV 0x1ull	/* Device-nGnRE */
#define ARMV8_MEMATTR_OIWB 0xfull	/* Normal, outer and inner write-back */
#define ARMV8_MEMATTR_NC 0x5ull		/* Normal, outer and inner non-cacheable */

static __always_inline bool armv8_can_have_leaf(const struct pt_table *pt, unsigned int level)
{
	return level <= (ARMV8_GRANULE_LG2 == 12 ? 2u : 1u);
}
#define pt_can_have_leaf armv8_can_have_leaf

static __always_inline enum pt_entry_type armv8_classify_entry(u64 entry, unsigned int level)
{
	if (!(entry & ARMV8_VALID))
		return PT_ENTRY_EMPTY;
	/* Level 3 with bit 1 clear is reserved: it faults like an invalid entry */
	if (level == 0)
		return entry & ARMV8_TYPE ? PT_ENTRY_OA : PT_ENTRY_EMPTY;
	if (entry & ARMV8_TYPE)
		return PT_ENTRY_TABLE;
	return armv8_can_have_leaf(NULL, level) ? PT_ENTRY_OA : PT_ENTRY_EMPTY;
}
#define pt_classify_entry armv8_classify_entry

static __always_inline u64 armv8_oa_to_desc(u64 oa)
{
	u64 desc = oa & ARMV8_OA_LO;

	if (ARMV8_GRANULE_LG2 == 16)
		desc |= PT_FIELD_PREP(ARMV8_OA_HI, oa >> 48);
	return desc;
}

static __always_inline u64 armv8_desc_to_oa(u64 desc)
{
	u64 oa = desc & ARMV8_OA_LO;

	if (ARMV8_GRANULE_LG2 == 16)
		oa |= PT_FIELD_GET(ARMV8_OA_HI, desc) << 48;
	return oa;
}

static __always_inline u64 armv8_table_pa(u64 entry)
{
	return armv8_desc_to_oa(entry);
}
#define pt_table_pa armv8_table_pa

static __always_inline u64 armv8_entry_oa(u64 entry, unsigned int level)
{
	return armv8_desc_to_oa(entry) & ~log2_mask(PT_ITEM_LG2SZ(level));
}
#define pt_entry_oa armv8_entry_oa

static __always_inline u64 armv8_make_leaf(u64 oa, unsigned int oasz_lg2, unsigned int level,
					   const struct pt_write_attrs *attrs)
{
	return ARMV8_VALID | (level == 0 ? ARMV8_TYPE : 0) | armv8_oa_to_desc(oa) |
	       attrs->descriptor_bits;
}
#define pt_make_leaf armv8_make_leaf

/* No APTable/XNTable limits: the leaf decides */
static __always_inline u64 armv8_make_table(u64 table_pa, unsigned int level)
{
	return ARMV8_VALID | ARMV8_TYPE | armv8_oa_to_desc(table_pa);
}
#define pt_make_table armv8_make_table

static __always_inline unsigned int armv8_entry_prot(u64 entry)
{
	unsigned int prot = entry & ARMV8_UXN ? PT_NOEXEC : 0;

	if (ARMV8_STAGE == 1)
		return prot | PT_READ |
		       (!(entry & ARMV8_AP2) || (entry & ARMV8_DBM) ? PT_WRITE : 0);
	return prot | (entry & ARMV8_S2AP_R ? PT_READ : 0) |
	       (entry & (ARMV8_S2AP_W | ARMV8_DBM) ? PT_WRITE : 0);
}
#define pt_entry_prot armv8_entry_prot

/* io-pgtable-arm's arm_lpae_prot_to_pte() choices */
static inline int armv8_fmt_set_prot(const struct pt_table *pt, unsigned int prot,
				     struct pt_write_attrs *attrs)
{
	u64 bits = ARMV8_AF;

	if (!(prot & (PT_READ | PT_WRITE)))
		return -EINVAL;
	bits |= PT_FIELD_PREP(ARMV8_SH, prot & PT_CACHE ? ARMV8_SH_IS : ARMV8_SH_OS);
	if (ARMV8_STAGE == 1) {
		bits |= ARMV8_NG;
		if (!(prot & PT_PRIV))
			bits |= ARMV8_AP1;
		if (!(prot & PT_WRITE))
			bits |= ARMV8_AP2;
		bits |= PT_FIELD_PREP(ARMV8_ATTRINDX, prot & PT_MMIO	 ? ARMV8_MAIR_IDX_DEV :
						      prot & PT_CACHE ? ARMV8_MAIR_IDX_CACHE :
									ARMV8_MAIR_IDX_NC);
		if (prot & PT_NOEXEC)
			bits |= ARMV8_PXN | ARMV8_UXN;
	} else {
		if (prot & PT_READ)
			bits |= ARMV8_S2AP_R;
		if (prot & PT_WRITE)
			bits |= ARMV8_S2AP_W;
		bits |= PT_FIELD_PREP(ARMV8_MEMATTR, prot & PT_MMIO	? ARMV8_MEMATTR_DEV :
						     prot & PT_CACHE ? ARMV8_MEMATTR_OIWB :
								       ARMV8_MEMATTR_NC);
		/* XN[1:0] = 0b10: not executable at any EL */
		if (prot & PT_NOEXEC)
			bits |= ARMV8_UXN;
	}
	if ((prot & PT_WRITE) && pt_feature(pt, PT_FEAT_ARM_DBM))
		bits |= ARMV8_DBM;
	attrs->descriptor_bits = bits;
	return 0;
}
#define pt_fmt_set_prot armv8_fmt_set_prot

/* Dirty state: DBM plus the write-permission bit the hardware flips */
#define PT_HAS_DIRTY 1
#if ARMV8_STAGE == 1
#define ARMV8_DIRTY_MASK (ARMV8_DBM | ARMV8_AP2)
#define ARMV8_DIRTY_VAL ARMV8_DBM
#else
#define ARMV8_DIRTY_MASK (ARMV8_DBM | ARMV8_S2AP_W)
#define ARMV8_DIRTY_VAL (ARMV8_DBM | ARMV8_S2AP_W)
#endif

static __always_inline bool armv8_fmt_dirty_enabled(const struct pt_table *pt)
{
	return pt_feature(pt, PT_FEAT_ARM_DBM);
}
#define pt_fmt_dirty_enabled armv8_fmt_dirty_enabled

static __always_inline bool armv8_entry_is_write_dirty(u64 entry)
{
	return (entry & ARMV8_DIRTY_MASK) == ARMV8_DIRTY_VAL;
}
#define pt_entry_is_write_dirty armv8_entry_is_write_dirty

static __always_inline void armv8_entry_make_write_clean(u64 *itemp)
{
	if (ARMV8_STAGE == 1)
		__atomic_fetch_or(itemp, ARMV8_AP2, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(itemp, ~ARMV8_S2AP_W, __ATOMIC_RELAXED);
}
#define pt_entry_make_write_clean armv8_entry_make_write_clean

/* Only a DBM leaf becomes dirty; the caller checked it permits writes */
static __always_inline bool armv8_entry_make_write_dirty(u64 *itemp, u64 entry)
{
	u64 dirty = (entry & ~ARMV8_DIRTY_MASK) | ARMV8_DIRTY_VAL;

	if (!(entry & ARMV8_DBM))
		return true;
	return __atomic_compare_exchange_n(itemp, &entry, dirty, false, __ATOMIC_RELAXED,
					   __ATOMIC_RELAXED);
}
#define pt_entry_make_write_dirty armv8_entry_make_write_dirty

/*
 * The input size fixes the start level (TCR.TxSZ / VTCR.T0SZ, SL0).  At
 * stage 2 a root at Arm level 0 with at most 16 entries is folded into up
 * to 16 concatenated level 1 tables instead, as io-pgtable-arm does.
 */
static inline int armv8_fmt_init(struct pt_table *pt, const struct pt_cfg *cfg)
{
	unsigned int vasz_lg2 = cfg->vasz_lg2 ? cfg->vasz_lg2 : 48;
	unsigned int top = 0;

	if (vasz_lg2 < 25 || vasz_lg2 > PT_MAX_VA_LG2 || cfg->oasz_lg2 > PT_MAX_OA_LG2)
		return -EINVAL;
	while (PT_ITEM_LG2SZ(top + 1) < vasz_lg2)
		top++;
	pt->top_level = top;
	pt->top_items_lg2 = vasz_lg2 - PT_ITEM_LG2SZ(top);
	if (ARMV8_STAGE == 2 && top == 3 &&
	    pt->top_items_lg2 <= ARMV8_S2_MAX_CONCAT_LG2) {
		pt->top_level = top - 1;
		pt->top_items_lg2 += PT_TABLEMEM_LG2SZ - 3;
	}
	pt->vasz_lg2 = vasz_lg2;
	pt->oasz_lg2 = cfg->oasz_lg2 ? cfg->oasz_lg2 : PT_MAX_OA_LG2;
	return 0;
}
#define pt_fmt_init armv8_fmt_init

static inline void armv8_fmt_hw_info(struct pt_table *pt, struct pt_hw_info *info)
{
	unsigned int items_lg2 = PT_TABLEMEM_LG2SZ - 3;

	info->arm_start_level = 3 - pt->top_level;
	info->arm_tg_lg2 = ARMV8_GRANULE_LG2;
	info->arm_concat = pt->top_items_lg2 > items_lg2 ? 1u << (pt->top_items_lg2 - items_lg2) : 1;
}
#define pt_fmt_hw_info armv8_fmt_hw_info

#endif
