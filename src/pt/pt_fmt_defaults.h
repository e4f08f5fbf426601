/* SPDX-License-Identifier: MIT */
/*
 * The format contract, and defaults for its optional parts.
 *
 * A format header fmt/<fmt>.h is pure entry encoding and decoding; it never
 * walks a table.  It defines, as enum constants:
 *   PT_GRANULE_LG2SZ    size of a level 0 item
 *   PT_TABLEMEM_LG2SZ   size of every table but the top one
 *   PT_TOP_MIN_LG2SZ    smallest allocation (and alignment) of the top table
 *   PT_MAX_TOP_LEVEL    highest level a table of this format can have
 *   PT_MAX_VA_LG2, PT_MAX_OA_LG2
 * and these static inline primitives, each `#define pt_xxx <fmt>_xxx`:
 *   pt_classify_entry(entry, level)        EMPTY, TABLE or OA
 *   pt_table_pa(entry)                 address of the lower table
 *   pt_entry_oa(entry, level)          OA of the start of the whole entry
 *   pt_can_have_leaf(pt, level)
 *   pt_make_leaf(oa, oasz_lg2, level, attrs)  one item of a leaf entry
 *   pt_make_table(table_pa, level)
 *   pt_entry_prot(entry)               PT_READ/PT_WRITE/PT_NOEXEC
 *   pt_fmt_set_prot(pt, prot, attrs)   prot -> leaf descriptor bits
 *   pt_fmt_init(pt, cfg)               top level, top items, va/oa sizes
 *   pt_fmt_hw_info(pt, info)
 * Optional (defaults below):
 *   pt_entry_num_contig_lg2(entry, level)  items one entry spans (log2)
 *   pt_possible_sizes(pt, level)           leaf sizes this level can hold
 *   dirty state, when the format has it (PT_HAS_DIRTY):
 *     pt_fmt_dirty_enabled(pt)
 *     pt_entry_is_write_dirty(entry)       on a loaded leaf item
 *     pt_entry_make_write_clean(itemp)     atomic
 *     pt_entry_make_write_dirty(itemp, entry)  atomic; false if it raced
 */
#ifndef UIOMMUFD_PT_FMT_DEFAULTS_H
#define UIOMMUFD_PT_FMT_DEFAULTS_H

#ifndef pt_entry_num_contig_lg2
static __always_inline unsigned int pt_entry_num_contig_lg2(u64 entry, unsigned int level)
{
	return 0;
}
#define PT_HAS_CONTIG 0
#else
#define PT_HAS_CONTIG 1
#endif

#ifndef pt_possible_sizes
static __always_inline u64 pt_possible_sizes(const struct pt_table *pt, unsigned int level)
{
	return pt_can_have_leaf(pt, level) ? PT_BIT(PT_ITEM_LG2SZ(level)) : 0;
}
#endif

#ifndef PT_HAS_DIRTY
#define PT_HAS_DIRTY 0
static __always_inline bool pt_fmt_dirty_enabled(const struct pt_table *pt)
{
	return false;
}

static __always_inline bool pt_entry_is_write_dirty(u64 entry)
{
	return false;
}

static __always_inline void pt_entry_make_write_clean(u64 *itemp)
{
}

static __always_inline bool pt_entry_make_write_dirty(u64 *itemp, u64 entry)
{
	return true;
}
#endif

#ifndef PT_SUPPORTED_FEATURES
#define PT_SUPPORTED_FEATURES 0
#endif

#endif
