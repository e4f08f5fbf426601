/* SPDX-License-Identifier: MIT */
/*
 * Generic iteration over one format's radix tree.  Included by iommu_pt.h
 * after a format header (fmt/<fmt>.h) has defined the format primitives
 * (the contract is in pt_fmt_defaults.h).
 *
 * A walk is a recursion over levels.  struct pt_range carries the
 * [va, last_va] still to visit; each level builds a struct pt_state for its
 * table holding the current index, the end index and the loaded entry.
 * After a child returns, the parent recomputes va from its own index, so the
 * child may move range->va freely inside the parent's item.
 *
 * PT_MAKE_LEVELS() turns one always-inline body taking `level` into one
 * function per level in which `level` is a constant, plus a dispatcher
 * over the runtime top level.  Every shift and mask of the walk then folds
 * to a constant and a format's per-level choices (can a leaf live here,
 * which descriptor bits) compile away: the kernel's generic_pt trick.
 */
#ifndef UIOMMUFD_PT_ITER_H
#define UIOMMUFD_PT_ITER_H

#include "pt/pt_defs.h"

/* Items in every table but the top one */
#define PT_ITEMS_LG2 (PT_TABLEMEM_LG2SZ - 3)

struct pt_range {
	struct pt_table *pt;
	u64 va;		/* where the walk is */
	u64 last_va;	/* inclusive */
};

struct pt_state {
	struct pt_range *range;
	u64 *table;
	u64 entry;		/* last loaded item */
	enum pt_entry_type type;
	unsigned int level;
	unsigned int items_lg2;
	unsigned int index;
	unsigned int end_index;	/* exclusive */
};

typedef int (*pt_level_fn_t)(struct pt_range *range, void *arg, u64 *table);

/* log2 of the VA span one item of @level covers */
static __always_inline unsigned int pt_item_lg2sz(unsigned int level)
{
	return PT_ITEM_LG2SZ(level);
}

static __always_inline struct pt_state pt_init_state(struct pt_range *range, unsigned int level,
					       u64 *table)
{
	const unsigned int isz_lg2 = pt_item_lg2sz(level);
	struct pt_state pts = { .range = range, .table = table, .level = level };

	pts.items_lg2 = level == range->pt->top_level ? range->pt->top_items_lg2 : PT_ITEMS_LG2;
	pts.index = log2_mod(range->va >> isz_lg2, pts.items_lg2);
	/* Does last_va fall inside this table's span? */
	if (!log2_div(range->va ^ range->last_va, isz_lg2 + pts.items_lg2))
		pts.end_index = log2_mod(range->last_va >> isz_lg2, pts.items_lg2) + 1;
	else
		pts.end_index = 1u << pts.items_lg2;
	return pts;
}

static __always_inline enum pt_entry_type pt_load_entry(struct pt_state *pts)
{
	pts->entry = PT_READ_ONCE(&pts->table[pts->index]);
	pts->type = pt_classify_entry(pts->entry, pts->level);
	return pts->type;
}

/* Point range->va at the start of the item at pts->index */
static __always_inline void pt_index_to_va(struct pt_state *pts)
{
	const unsigned int isz_lg2 = pt_item_lg2sz(pts->level);
	u64 span_mask = log2_mask(isz_lg2 + pts->items_lg2);

	pts->range->va = (pts->range->va & ~span_mask) | ((u64)pts->index << isz_lg2);
}

/* Does [va, last_va] cover the whole item at the current index? */
static __always_inline bool pt_item_fully_covered(const struct pt_state *pts)
{
	const unsigned int isz_lg2 = pt_item_lg2sz(pts->level);

	return !log2_mod(pts->range->va, isz_lg2) &&
	       pts->range->last_va - pts->range->va >= log2_mask(isz_lg2);
}

static __always_inline u64 *pt_table_ptr(u64 entry)
{
	return (u64 *)(uintptr_t)pt_table_pa(entry);
}

/*
 * Largest page size in @sizes that va and oa are both aligned to and that
 * fits in [va, last]; 0 if none (the kernel's pt_compute_best_pgsize).
 */
static __always_inline unsigned int pt_best_pgsize_lg2(u64 sizes, u64 va, u64 last, u64 oa)
{
	u64 align = va | oa;
	u64 len_m1 = last - va;

	if (align)
		sizes &= ((align & -align) << 1) - 1;
	if (len_m1 != ~0ull)
		sizes &= log2_mask(log2_fls(len_m1 + 1) + 1);
	return sizes ? log2_fls(sizes) : 0;
}

/* Levels above the format's maximum are never dispatched to; clamp so they compile. */
#define PT_CLAMP_LEVEL(l) ((l) > PT_MAX_TOP_LEVEL ? PT_MAX_TOP_LEVEL : (l))

/*
 * do_fn(range, arg, level, table, descend_fn) is written once; this makes
 * fn##_l0 .. fn##_l5 with a constant level each, chained through descend_fn,
 * and fn(range, arg, level, table) to enter at a runtime level.
 */
#define PT_MAKE_LEVELS(fn, do_fn)                                                   \
	static pt_unused int fn##_l0(struct pt_range *r, void *a, u64 *t)          \
	{                                                                           \
		return do_fn(r, a, 0, t, NULL);                                     \
	}                                                                           \
	static pt_unused int fn##_l1(struct pt_range *r, void *a, u64 *t)          \
	{                                                                           \
		return do_fn(r, a, PT_CLAMP_LEVEL(1), t, fn##_l0);                  \
	}                                                                           \
	static pt_unused int fn##_l2(struct pt_range *r, void *a, u64 *t)          \
	{                                                                           \
		return do_fn(r, a, PT_CLAMP_LEVEL(2), t, fn##_l1);                  \
	}                                                                           \
	static pt_unused int fn##_l3(struct pt_range *r, void *a, u64 *t)          \
	{                                                                           \
		return do_fn(r, a, PT_CLAMP_LEVEL(3), t, fn##_l2);                  \
	}                                                                           \
	static pt_unused int fn##_l4(struct pt_range *r, void *a, u64 *t)          \
	{                                                                           \
		return do_fn(r, a, PT_CLAMP_LEVEL(4), t, fn##_l3);                  \
	}                                                                           \
	static pt_unused int fn##_l5(struct pt_range *r, void *a, u64 *t)          \
	{                                                                           \
		return do_fn(r, a, PT_CLAMP_LEVEL(5), t, fn##_l4);                  \
	}                                                                           \
	static pt_unused int fn(struct pt_range *r, void *a, unsigned int level, u64 *t) \
	{                                                                           \
		switch (level) {                                                    \
		case 0:                                                             \
			return fn##_l0(r, a, t);                                    \
		case 1:                                                             \
			return PT_MAX_TOP_LEVEL >= 1 ? fn##_l1(r, a, t) : -EINVAL;  \
		case 2:                                                             \
			return PT_MAX_TOP_LEVEL >= 2 ? fn##_l2(r, a, t) : -EINVAL;  \
		case 3:                                                             \
			return PT_MAX_TOP_LEVEL >= 3 ? fn##_l3(r, a, t) : -EINVAL;  \
		case 4:                                                             \
			return PT_MAX_TOP_LEVEL >= 4 ? fn##_l4(r, a, t) : -EINVAL;  \
		case 5:                                                             \
			return PT_MAX_TOP_LEVEL >= 5 ? fn##_l5(r, a, t) : -EINVAL;  \
		}                                                                   \
		return -EINVAL;                                                     \
	}

/* Walk [range->va, range->last_va] starting at the top table */
#define pt_walk_range(range, fn, arg) \
	fn((range), (arg), (range)->pt->top_level, (u64 *)(range)->pt->top)

#endif
