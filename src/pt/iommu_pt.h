/* SPDX-License-Identifier: MIT */
/*
 * The page-table algorithms, written once and compiled once per format.
 *
 * A format instantiation (src/pt/pt_<fmt>.c) defines PTPFX and
 * PT_SUPPORTED_FEATURES, includes its format header and then this file,
 * which emits pt_<PTPFX>_map/unmap/walk/... and the pt_<PTPFX>_ops vtable.
 * With the format's encoders inlined into level-specialised walkers
 * (PT_MAKE_LEVELS) each format gets code as tight as a hand-written one.
 *
 * The rules are the kernel's generic_pt (drivers/iommu/generic_pt/iommu_pt.h):
 *  - map picks, at every position, the largest page size the IOVA and OA
 *    alignment, the remaining length and the pgsize bitmap allow (the same
 *    result as the iommu core's pgsize split followed by map_pages); it
 *    refuses to overwrite a translation (-EADDRINUSE) but replaces tables
 *    that hold no translation when a large leaf covers them.
 *  - unmap removes whole entries only; starting inside a large entry is an
 *    error (nothing removed), ending inside one removes all of it.  It stops
 *    at the first hole.  Tables fully inside the range are freed.
 *  - read_and_clear_dirty reports a contiguous entry as dirty if any of its
 *    items is, and clears all of them.
 *  - a growing top (PT_FEAT_DYNAMIC_TOP, AMDv1): the table starts at its
 *    starting level, which reaches only the low IOVAs, and a map beyond
 *    that first puts new tables above the top, each holding the old top as
 *    its first entry, until the range is reached or the configured input
 *    size is.  Nothing already mapped moves; the top never shrinks; other
 *    calls find nothing past the current top.  The input size the domain
 *    reports (its aperture) is the configured one, not the current reach.
 * Unlike the kernel, a failed map unwinds itself (unmaps what it mapped and
 * frees the tables it left empty), so the caller sees all or nothing.
 */
#ifndef UIOMMUFD_IOMMU_PT_H
#define UIOMMUFD_IOMMU_PT_H

#include "pt/pt_fmt_defaults.h"
#include "pt/pt_iter.h"

#define PT_CAT2(a, b) a##b
#define PT_CAT(a, b) PT_CAT2(a, b)
#define NS(op) PT_CAT(PT_CAT(pt_, PTPFX), PT_CAT(_, op))
#define PT_STR2(x) #x
#define PT_STR(x) PT_STR2(x)

/* --- table memory */

static unsigned int top_lg2sz(const struct pt_table *pt)
{
	unsigned int lg2sz = pt->top_items_lg2 + 3;

	return lg2sz < PT_TOP_MIN_LG2SZ ? PT_TOP_MIN_LG2SZ : lg2sz;
}

static u64 *table_alloc(struct pt_table *pt, unsigned int lg2sz)
{
	void *mem;

	if (pt->alloc.alloc_table)
		mem = pt->alloc.alloc_table(pt->alloc.priv, lg2sz);
	else
		mem = pt_table_mem_alloc(lg2sz);
	if (mem)
		pt->nr_tables++;
	return mem;
}

/* @zeroed: every item of the table is known to be 0 */
static void table_free(struct pt_table *pt, u64 *table, unsigned int lg2sz, bool zeroed)
{
	pt->nr_tables--;
	if (pt->alloc.free_table)
		pt->alloc.free_table(pt->alloc.priv, table, lg2sz);
	else
		pt_table_mem_free(table, lg2sz, zeroed);
}

/* Free a non-top table and every table below it */
static void free_subtree(struct pt_table *pt, u64 *table, unsigned int level)
{
	unsigned int i;

	for (i = 0; level && i != 1u << PT_ITEMS_LG2; i++) {
		u64 entry = PT_READ_ONCE(&table[i]);

		if (pt_classify_entry(entry, level) == PT_ENTRY_TABLE)
			free_subtree(pt, pt_table_ptr(entry), level - 1);
	}
	table_free(pt, table, PT_TABLEMEM_LG2SZ, false);
}

/* Does the subtree at @table hold any translation? */
static bool subtree_has_oa(u64 *table, unsigned int level)
{
	unsigned int i;

	for (i = 0; i != 1u << PT_ITEMS_LG2; i++) {
		u64 entry = PT_READ_ONCE(&table[i]);

		switch (pt_classify_entry(entry, level)) {
		case PT_ENTRY_EMPTY:
			break;
		case PT_ENTRY_OA:
			return true;
		case PT_ENTRY_TABLE:
			if (subtree_has_oa(pt_table_ptr(entry), level - 1))
				return true;
			break;
		}
	}
	return false;
}

static bool table_is_empty(const u64 *table, unsigned int level)
{
	unsigned int i;

	for (i = 0; i != 1u << PT_ITEMS_LG2; i++)
		if (pt_classify_entry(PT_READ_ONCE(&table[i]), level) != PT_ENTRY_EMPTY)
			return false;
	return true;
}

/* The entry at @level pointing to @table; false if the format cannot hold its address. */
static bool table_entry_for(const u64 *table, unsigned int level, u64 *entry)
{
	*entry = pt_make_table((uintptr_t)table, level);
	return pt_likely(pt_table_pa(*entry) == (uintptr_t)table);
}

/* Allocate a lower table and link it at pts->index */
static int table_install_new(struct pt_state *pts, u64 **child)
{
	struct pt_table *pt = pts->range->pt;
	u64 *table = table_alloc(pt, PT_TABLEMEM_LG2SZ);
	u64 entry;

	if (!table)
		return -ENOMEM;
	/* The format cannot hold this address: keep the table consistent */
	if (!table_entry_for(table, pts->level, &entry)) {
		table_free(pt, table, PT_TABLEMEM_LG2SZ, true);
		return -ENOMEM;
	}
	PT_WRITE_ONCE(&pts->table[pts->index], entry);
	*child = table;
	return 0;
}

/* Can iova..last be walked from this table's top? */
static int check_range(const struct pt_table *pt, u64 va, u64 last)
{
	if (pt->vasz_lg2 >= 64)
		return 0;
	if (pt_feature(pt, PT_FEAT_SIGN_EXTEND)) {
		u64 va_hi = va >> (pt->vasz_lg2 - 1);
		u64 last_hi = last >> (pt->vasz_lg2 - 1);

		/* Both canonical, and in the same half */
		if (va_hi != last_hi || (va_hi && va_hi != log2_mask(65 - pt->vasz_lg2)))
			return -ERANGE;
		return 0;
	}
	return log2_div(last, pt->vasz_lg2) ? -ERANGE : 0;
}

/* Whether a top grown to max_vasz_lg2 would reach @last (PT_FEAT_DYNAMIC_TOP). */
static bool top_can_reach(const struct pt_table *pt, u64 last)
{
	return pt_feature(pt, PT_FEAT_DYNAMIC_TOP) && !log2_div(last, pt->max_vasz_lg2);
}

/*
 * PT_FEAT_DYNAMIC_TOP: put levels above the top until it reaches @last,
 * which top_can_reach() said it can (see the file comment).  A level is
 * added only over a full top, which every level below the format's
 * highest is.  Map runs on the writer's side of the DMA gate
 * (iommu_map()), so no walker reads the top while it changes.  -ENOMEM
 * keeps the levels added so far, which hold what the old top held.
 */
static int grow_top(struct pt_table *pt, u64 va, u64 last)
{
	while (check_range(pt, va, last)) {
		unsigned int level = pt->top_level + 1, vasz_lg2 = PT_ITEM_LG2SZ(level + 1);
		u64 *top, entry;

		if (pt->vasz_lg2 >= pt->max_vasz_lg2 || level > PT_MAX_TOP_LEVEL ||
		    pt->top_items_lg2 != PT_ITEMS_LG2)
			return -ERANGE;
		if (vasz_lg2 > pt->max_vasz_lg2)
			vasz_lg2 = pt->max_vasz_lg2;
		if (!table_entry_for(pt->top, level, &entry))
			return -ENOMEM;
		top = table_alloc(pt, PT_TABLEMEM_LG2SZ);
		if (!top)
			return -ENOMEM;
		PT_WRITE_ONCE(&top[0], entry);
		pt->top = top;
		pt->top_level = level;
		pt->top_items_lg2 = vasz_lg2 - PT_ITEM_LG2SZ(level);
		pt->vasz_lg2 = vasz_lg2;
	}
	return 0;
}

/* --- map */

struct pt_map_args {
	struct pt_write_attrs attrs;
	u64 oa;		/* OA of range->va; advances as leaves are written */
	u64 sizes;	/* page sizes this map may use */
	bool fresh;	/* the table being entered was just allocated */
};

/*
 * A leaf of 2^num_lg2 items is about to go at pts->index: there must be no
 * translation under it.  Tables holding none are freed (the kernel's
 * clear_contig); nothing changes on failure.
 */
static int clear_for_leaf(struct pt_state *pts, unsigned int num_lg2)
{
	unsigned int i, num = 1u << num_lg2;
	u64 *itemp = pts->table + pts->index;

	for (i = 0; i != num; i++) {
		u64 entry = PT_READ_ONCE(&itemp[i]);

		switch (pt_classify_entry(entry, pts->level)) {
		case PT_ENTRY_EMPTY:
			break;
		case PT_ENTRY_OA:
			return -EADDRINUSE;
		case PT_ENTRY_TABLE:
			if (subtree_has_oa(pt_table_ptr(entry), pts->level - 1))
				return -EADDRINUSE;
			break;
		}
	}
	for (i = 0; i != num; i++) {
		u64 entry = PT_READ_ONCE(&itemp[i]);

		if (pt_classify_entry(entry, pts->level) == PT_ENTRY_TABLE) {
			PT_WRITE_ONCE(&itemp[i], 0);
			free_subtree(pts->range->pt, pt_table_ptr(entry), pts->level - 1);
		}
	}
	return 0;
}

static __always_inline bool items_empty(const struct pt_state *pts)
{
	unsigned int i;

	for (i = pts->index; i != pts->end_index; i++)
		if (pt_classify_entry(PT_READ_ONCE(&pts->table[i]), pts->level) != PT_ENTRY_EMPTY)
			return false;
	return true;
}

static __always_inline int __do_map_range(struct pt_range *range, void *arg, unsigned int level,
					  u64 *table, pt_level_fn_t descend_fn)
{
	struct pt_state pts = pt_init_state(range, level, table);
	struct pt_map_args *map = arg;
	const unsigned int isz_lg2 = pt_item_lg2sz(level);
	/* The page sizes whose leaves live at this level or below */
	const u64 sizes = map->sizes & log2_mask(isz_lg2 + pts.items_lg2);
	const bool fresh = map->fresh;
	int ret;

	map->fresh = false;

	/*
	 * The bulk case: every leaf here is one item (4 KiB pages into a leaf
	 * table).  A plain store loop, with the emptiness check skipped for a
	 * table this map just allocated.
	 */
	if (sizes == PT_BIT(isz_lg2) && (fresh || items_empty(&pts))) {
		u64 oa = map->oa;
		unsigned int i;

		for (i = pts.index; i != pts.end_index; i++) {
			PT_WRITE_ONCE(&table[i], pt_make_leaf(oa, isz_lg2, level, &map->attrs));
			oa += PT_BIT(isz_lg2);
		}
		map->oa = oa;
		return 0;
	}

	for (;;) {
		unsigned int pgsz_lg2 =
			pt_best_pgsize_lg2(sizes, range->va, range->last_va, map->oa);

		if (pgsz_lg2 >= isz_lg2) {
			unsigned int i, num_lg2 = pgsz_lg2 - isz_lg2;
			u64 entry;

			if (!fresh) {
				ret = clear_for_leaf(&pts, num_lg2);
				if (ret)
					return ret;
			}
			entry = pt_make_leaf(map->oa, pgsz_lg2, level, &map->attrs);
			for (i = 0; i != 1u << num_lg2; i++)
				PT_WRITE_ONCE(&table[pts.index + i], entry);
			map->oa += PT_BIT(pgsz_lg2);
			pts.index += 1u << num_lg2;
		} else {
			u64 *child;

			/* Unreachable: map checked alignment to the smallest size */
			if (level == 0)
				return -EINVAL;
			if (fresh)
				pts.type = PT_ENTRY_EMPTY;
			else
				pt_load_entry(&pts);
			if (pts.type == PT_ENTRY_OA)
				return -EADDRINUSE;
			if (pts.type == PT_ENTRY_EMPTY) {
				ret = table_install_new(&pts, &child);
				if (ret)
					return ret;
				map->fresh = true;
			} else {
				child = pt_table_ptr(pts.entry);
			}
			ret = descend_fn(range, arg, child);
			if (ret)
				return ret;
			pts.index++;
		}
		if (pts.index >= pts.end_index)
			return 0;
		pt_index_to_va(&pts);
	}
}
PT_MAKE_LEVELS(__map_range, __do_map_range)

/* The item of @table (at @level) that holds range->va */
static __always_inline u64 *item_at(const struct pt_range *range, unsigned int level, u64 *table)
{
	unsigned int items_lg2 =
		level == range->pt->top_level ? range->pt->top_items_lg2 : PT_ITEMS_LG2;

	return table + log2_mod(range->va >> pt_item_lg2sz(level), items_lg2);
}

/* Fast path: one granule-sized page under tables that already exist */
static __always_inline int __do_map_single(struct pt_range *range, void *arg, unsigned int level,
					   u64 *table, pt_level_fn_t descend_fn)
{
	struct pt_map_args *map = arg;
	u64 *itemp = item_at(range, level, table);
	u64 entry = PT_READ_ONCE(itemp);

	if (level == 0) {
		if (pt_classify_entry(entry, 0) != PT_ENTRY_EMPTY)
			return -EADDRINUSE;
		PT_WRITE_ONCE(itemp, pt_make_leaf(map->oa, PT_GRANULE_LG2SZ, 0, &map->attrs));
		map->oa += PT_BIT(PT_GRANULE_LG2SZ);
		return 0;
	}
	if (pt_classify_entry(entry, level) == PT_ENTRY_TABLE)
		return descend_fn(range, arg, pt_table_ptr(entry));
	return -EAGAIN;
}
PT_MAKE_LEVELS(__map_single, __do_map_single)

/* Free the tables in [va, last_va] that hold nothing (failed map cleanup) */
static void prune_empty(struct pt_range *range, unsigned int level, u64 *table)
{
	struct pt_state pts = pt_init_state(range, level, table);

	if (!level)
		return;
	for (;;) {
		if (pt_load_entry(&pts) == PT_ENTRY_TABLE) {
			u64 *child = pt_table_ptr(pts.entry);

			prune_empty(range, level - 1, child);
			if (table_is_empty(child, level - 1)) {
				PT_WRITE_ONCE(&table[pts.index], 0);
				table_free(range->pt, child, PT_TABLEMEM_LG2SZ, true);
			}
		}
		if (++pts.index >= pts.end_index)
			return;
		pt_index_to_va(&pts);
	}
}

int NS(map)(struct pt_table *pt, u64 iova, u64 oa, u64 len, unsigned int prot,
	    unsigned int flags)
{
	struct pt_map_args map = { .oa = oa, .sizes = pt->pgsize_bitmap };
	struct pt_range range = { .pt = pt, .va = iova, .last_va = iova + len - 1 };
	bool grow = false;
	u64 min_size;
	int ret;

	if (flags & PT_MAP_NO_LARGE)
		map.sizes &= -map.sizes;
	min_size = map.sizes & -map.sizes;
	if (!len || ((iova | oa | len) & (min_size - 1)))
		return -EINVAL;
	if (range.last_va < iova || oa + len - 1 < oa)
		return -EOVERFLOW;
	ret = check_range(pt, iova, range.last_va);
	if (ret && top_can_reach(pt, range.last_va)) {
		grow = true;	/* once the map is known to be valid */
		ret = 0;
	}
	if (ret)
		return ret;
	if (log2_div(oa + len - 1, pt->oasz_lg2))
		return -ERANGE;
	ret = pt_fmt_set_prot(pt, prot, &map.attrs);
	if (!ret && grow)
		ret = grow_top(pt, iova, range.last_va);
	if (ret)
		return ret;

	if (len == PT_BIT(PT_GRANULE_LG2SZ) && min_size == len) {
		ret = pt_walk_range(&range, __map_single, &map);
		if (ret != -EAGAIN)
			return ret;
	}

	ret = pt_walk_range(&range, __map_range, &map);
	if (pt_unlikely(ret)) {
		/* All or nothing: take back what went in, then the empty tables */
		if (map.oa != oa)
			NS(unmap)(pt, iova, map.oa - oa);
		range.va = iova;
		prune_empty(&range, pt->top_level, pt->top);
	}
	return ret;
}

/* --- unmap */

struct pt_unmap_args {
	u64 unmapped;
};

static __always_inline int __do_unmap_range(struct pt_range *range, void *arg, unsigned int level,
					    u64 *table, pt_level_fn_t descend_fn)
{
	struct pt_state pts = pt_init_state(range, level, table);
	struct pt_unmap_args *unmap = arg;
	const unsigned int isz_lg2 = pt_item_lg2sz(level);
	unsigned int start_index = pts.index;
	u64 num_items = 0;
	int ret = 0;

	/*
	 * Starting inside a large entry: the kernel never splits one, and
	 * removes nothing.
	 */
	if (pt_load_entry(&pts) == PT_ENTRY_OA &&
	    log2_mod(range->va, isz_lg2 + pt_entry_num_contig_lg2(pts.entry, level)))
		return -EINVAL;

	for (;;) {
		if (pts.type == PT_ENTRY_OA) {
			/* Ending inside a large entry removes all of it */
			unsigned int i, num = 1u << pt_entry_num_contig_lg2(pts.entry, level);

			for (i = 0; i != num; i++)
				PT_WRITE_ONCE(&table[pts.index + i], 0);
			num_items += num;
			pts.index += num;
		} else if (pts.type == PT_ENTRY_TABLE && level) {
			u64 *child = pt_table_ptr(pts.entry);
			bool fully_covered;

			if (pts.index != start_index)
				pt_index_to_va(&pts);
			fully_covered = pt_item_fully_covered(&pts);
			ret = descend_fn(range, arg, child);
			/*
			 * A table inside the range is empty now, unless the walk
			 * stopped at a hole in it; then it may still be.
			 */
			if (fully_covered && (!ret || table_is_empty(child, level - 1))) {
				PT_WRITE_ONCE(&table[pts.index], 0);
				table_free(range->pt, child, PT_TABLEMEM_LG2SZ, true);
			}
			if (ret)
				break;
			pts.index++;
		} else {
			/* A hole: unmap stops here */
			ret = -ENOENT;
			break;
		}
		if (pts.index >= pts.end_index)
			break;
		pt_load_entry(&pts);
	}
	unmap->unmapped += num_items << isz_lg2;
	return ret;
}
PT_MAKE_LEVELS(__unmap_range, __do_unmap_range)

/*
 * Fast path: one granule-sized leaf of its own under tables: cleared, and
 * no table can empty.  Anything else (a hole, a large or contiguous
 * entry) is the general walk's to decide.
 */
static __always_inline int __do_unmap_single(struct pt_range *range, void *arg,
					     unsigned int level, u64 *table,
					     pt_level_fn_t descend_fn)
{
	u64 *itemp = item_at(range, level, table);
	u64 entry = PT_READ_ONCE(itemp);

	if (level) {
		if (pt_classify_entry(entry, level) != PT_ENTRY_TABLE)
			return -EAGAIN;
		return descend_fn(range, arg, pt_table_ptr(entry));
	}
	if (pt_classify_entry(entry, 0) != PT_ENTRY_OA || pt_entry_num_contig_lg2(entry, 0))
		return -EAGAIN;
	PT_WRITE_ONCE(itemp, 0);
	return 0;
}
PT_MAKE_LEVELS(__unmap_single, __do_unmap_single)

u64 NS(unmap)(struct pt_table *pt, u64 iova, u64 len)
{
	struct pt_range range = { .pt = pt, .va = iova, .last_va = iova + len - 1 };
	struct pt_unmap_args unmap = {};

	if (!len || range.last_va < iova || check_range(pt, iova, range.last_va))
		return 0;
	if (len == PT_BIT(PT_GRANULE_LG2SZ) && !pt_walk_range(&range, __unmap_single, NULL))
		return len;
	pt_walk_range(&range, __unmap_range, &unmap);
	return unmap.unmapped;
}

/*
 * Ask the cache for the leaf entry that holds @iova, so that a map or an
 * unmap of it about to come finds the line there: the tables above the
 * leaves are few and stay cached, the leaves of a wide IOVA space do not.
 * Reads only; nothing when no table leads there.
 */
static __always_inline int __do_prefetch_leaf(struct pt_range *range, void *arg,
					      unsigned int level, u64 *table,
					      pt_level_fn_t descend_fn)
{
	u64 *itemp = item_at(range, level, table);
	u64 entry;

	if (!level) {
		__builtin_prefetch(itemp, 1);
		return 0;
	}
	entry = PT_READ_ONCE(itemp);
	if (pt_classify_entry(entry, level) != PT_ENTRY_TABLE)
		return 0;
	return descend_fn(range, arg, pt_table_ptr(entry));
}
PT_MAKE_LEVELS(__prefetch_leaf, __do_prefetch_leaf)

void NS(prefetch)(struct pt_table *pt, u64 iova)
{
	struct pt_range range = { .pt = pt, .va = iova, .last_va = iova };

	if (!check_range(pt, iova, iova))
		pt_walk_range(&range, __prefetch_leaf, NULL);
}

/* --- lookups */

/*
 * Find the leaf for @va: the whole walk unrolled from the runtime top
 * level, each step with a constant level.  Returns the entry type where
 * the walk ended, and the item and its level.
 */
#define PT_LOOKUP_STEP(L)                                                                   \
	case L:                                                                             \
		if ((L) <= PT_MAX_TOP_LEVEL) {                                              \
			level = PT_CLAMP_LEVEL(L);                                          \
			itemp = table + log2_mod(va >> PT_ITEM_LG2SZ(PT_CLAMP_LEVEL(L)), items_lg2); \
			entry = PT_READ_ONCE(itemp);                                        \
			type = pt_classify_entry(entry, PT_CLAMP_LEVEL(L));                     \
			if (type != PT_ENTRY_TABLE)                                         \
				goto out;                                                   \
			table = pt_table_ptr(entry);                                        \
			items_lg2 = PT_ITEMS_LG2;                                           \
		}                                                                           \
		__attribute__((fallthrough))

static __always_inline enum pt_entry_type pt_lookup(const struct pt_table *pt, u64 va,
						    u64 **itemp_out, u64 *entry_out,
						    unsigned int *level_out)
{
	unsigned int items_lg2 = pt->top_items_lg2;
	enum pt_entry_type type = PT_ENTRY_EMPTY;
	u64 *table = pt->top, *itemp = NULL;
	unsigned int level = 0;
	u64 entry = 0;

	if (check_range(pt, va, va))
		return PT_ENTRY_EMPTY;
	switch (pt->top_level) {
		PT_LOOKUP_STEP(5);
		PT_LOOKUP_STEP(4);
		PT_LOOKUP_STEP(3);
		PT_LOOKUP_STEP(2);
		PT_LOOKUP_STEP(1);
		PT_LOOKUP_STEP(0);
	default:
		break;
	}
out:
	*itemp_out = itemp;
	*entry_out = entry;
	*level_out = level;
	return type;
}

u64 NS(iova_to_phys)(struct pt_table *pt, u64 iova)
{
	unsigned int level, pgsz_lg2;
	u64 *itemp, entry;

	if (pt_lookup(pt, iova, &itemp, &entry, &level) != PT_ENTRY_OA)
		return 0;
	pgsz_lg2 = pt_item_lg2sz(level) + pt_entry_num_contig_lg2(entry, level);
	return pt_entry_oa(entry, level) | log2_mod(iova, pgsz_lg2);
}

/*
 * A contiguous entry is dirty if any of its items is.  Tables are aligned
 * to their size, so the run starts at @itemp aligned down to the run.
 */
static __always_inline bool run_is_write_dirty(u64 *itemp, u64 entry, unsigned int level)
{
	unsigned int i, num_lg2 = pt_entry_num_contig_lg2(entry, level);
	u64 *first;

	if (pt_entry_is_write_dirty(entry) || !num_lg2)
		return pt_entry_is_write_dirty(entry);
	first = (u64 *)((uintptr_t)itemp & ~(((uintptr_t)8 << num_lg2) - 1));
	for (i = 0; i != 1u << num_lg2; i++)
		if (pt_entry_is_write_dirty(PT_READ_ONCE(&first[i])))
			return true;
	return false;
}

int NS(walk)(struct pt_table *pt, u64 iova, unsigned int flags, struct pt_walk_result *res)
{
	unsigned int level;
	u64 *itemp, entry;

	if (pt_lookup(pt, iova, &itemp, &entry, &level) != PT_ENTRY_OA)
		return -ENOENT;
	res->prot = pt_entry_prot(entry);
	/* A write through a clean, writable leaf dirties it, as HW would */
	if ((flags & PT_WALK_WRITE) && (res->prot & PT_WRITE) && pt_fmt_dirty_enabled(pt)) {
		if (!run_is_write_dirty(itemp, entry, level)) {
			while (!pt_entry_make_write_dirty(itemp, entry))
				entry = PT_READ_ONCE(itemp);
			entry = PT_READ_ONCE(itemp);
		}
	}
	res->level = level;
	res->pgsize_lg2 = pt_item_lg2sz(level) + pt_entry_num_contig_lg2(entry, level);
	res->page_oa = pt_entry_oa(entry, level);
	res->oa = res->page_oa | log2_mod(iova, res->pgsize_lg2);
	res->dirty = pt_fmt_dirty_enabled(pt) && run_is_write_dirty(itemp, entry, level);
	res->entry = entry;
	return 0;
}

/*
 * A walk that keeps going: @res for @iova's leaf as NS(walk) gives it, and
 * in *@run_last the last IOVA of the run of leaves that follow it in the
 * same table, each present, with the same permissions and its output
 * continuing the one before, up to the leaf holding @last.  A DMA engine
 * caches such a run as one translation, so a long transfer over small
 * IOPTEs pays one table descent instead of one per leaf.  With
 * PT_WALK_WRITE every leaf of the run is marked dirty, as a write over all
 * of them would; callers pass @last no further than the write goes.
 */
static __always_inline void walk_mark_dirty(const struct pt_table *pt, u64 *itemp, u64 entry,
					    unsigned int level, unsigned int flags)
{
	if (!(flags & PT_WALK_WRITE) || !(pt_entry_prot(entry) & PT_WRITE) ||
	    !pt_fmt_dirty_enabled(pt) || run_is_write_dirty(itemp, entry, level))
		return;
	while (!pt_entry_make_write_dirty(itemp, entry))
		entry = PT_READ_ONCE(itemp);
}

/* Does leaf item @e continue the run: present, @prot, output @next_oa at @va? */
static __always_inline bool run_continues(u64 e, unsigned int level, unsigned int prot, u64 va,
					  u64 next_oa, unsigned int *c_lg2)
{
	if (pt_classify_entry(e, level) != PT_ENTRY_OA || pt_entry_prot(e) != prot)
		return false;
	*c_lg2 = pt_entry_num_contig_lg2(e, level);
	return (pt_entry_oa(e, level) | log2_mod(va, pt_item_lg2sz(level) + *c_lg2)) == next_oa;
}

/*
 * Leaves checked a block at a time by their raw bits.  Once two plain
 * neighbours are found to continue each other and their entries differ by
 * a single bit (the output field's step for one item), the following
 * items must be the first plus that step again and again: any other bit
 * pattern breaks the block.  Adding a power of two leaves the bits below
 * it as they were (permissions, type, contiguity) and changes bits above
 * the output field only by carrying out of it, which wraps the output; so
 * checking the block's last item in full also vouches for the ones before
 * it.  Not for writes that mark leaves dirty: those visit every leaf.
 */
#define RUN_BLOCK 8u

int NS(walk_run)(struct pt_table *pt, u64 iova, u64 last, unsigned int flags,
		 struct pt_walk_result *res, u64 *run_last)
{
	unsigned int level, items_lg2, isz_lg2, index, nitems, c_lg2;
	u64 *itemp, *table, entry, leaf_last, next_oa, prev, step = 0;
	bool blocks, prev_plain;

	if (pt_lookup(pt, iova, &itemp, &entry, &level) != PT_ENTRY_OA)
		return -ENOENT;
	walk_mark_dirty(pt, itemp, entry, level, flags);
	entry = PT_READ_ONCE(itemp);
	res->prot = pt_entry_prot(entry);
	res->level = level;
	res->pgsize_lg2 = pt_item_lg2sz(level) + pt_entry_num_contig_lg2(entry, level);
	res->page_oa = pt_entry_oa(entry, level);
	res->oa = res->page_oa | log2_mod(iova, res->pgsize_lg2);
	res->dirty = pt_fmt_dirty_enabled(pt) && run_is_write_dirty(itemp, entry, level);
	res->entry = entry;

	leaf_last = iova | log2_mask(res->pgsize_lg2);
	next_oa = res->page_oa + log2_mask(res->pgsize_lg2) + 1;
	isz_lg2 = pt_item_lg2sz(level);
	items_lg2 = level == pt->top_level ? pt->top_items_lg2 : PT_ITEMS_LG2;
	nitems = 1u << items_lg2;
	index = log2_mod(iova >> isz_lg2, items_lg2);
	table = itemp - index;
	blocks = !(flags & PT_WALK_WRITE) || !pt_fmt_dirty_enabled(pt);
	prev = entry;
	prev_plain = !pt_entry_num_contig_lg2(entry, level);
	/* The first item after the (possibly contiguous) leaf. */
	index = (index | ((1u << pt_entry_num_contig_lg2(entry, level)) - 1)) + 1;
	while (index < nitems && leaf_last < last && leaf_last + 1 != 0) {
		u64 e;

		if (step) {
			/* Items left before the one holding @last, and in the table. */
			u64 want = ((last - leaf_last - 1) >> isz_lg2) + 1;
			unsigned int n = nitems - index, k;
			u64 odd = 0;

			if (n > RUN_BLOCK)
				n = RUN_BLOCK;
			if (n > want)
				n = (unsigned int)want;
			for (k = 0; k != n; k++)
				odd |= PT_READ_ONCE(&table[index + k]) ^ (prev + (u64)(k + 1) * step);
			e = prev + (u64)n * step;
			if (!odd && run_continues(e, level, res->prot,
						  leaf_last + 1 + ((u64)(n - 1) << isz_lg2),
						  next_oa + ((u64)(n - 1) << isz_lg2), &c_lg2) &&
			    !c_lg2) {
				prev = e;
				leaf_last += (u64)n << isz_lg2;
				next_oa += (u64)n << isz_lg2;
				index += n;
				continue;
			}
			/* Something else here: item by item from now on. */
			step = 0;
			blocks = false;
		}
		e = PT_READ_ONCE(&table[index]);
		if (!run_continues(e, level, res->prot, leaf_last + 1, next_oa, &c_lg2))
			break;
		walk_mark_dirty(pt, &table[index], e, level, flags);
		if (blocks && prev_plain && !c_lg2 && e > prev && !((e - prev) & (e - prev - 1)))
			step = e - prev;
		prev = e;
		prev_plain = !c_lg2;
		leaf_last += (u64)1 << (isz_lg2 + c_lg2);
		next_oa += (u64)1 << (isz_lg2 + c_lg2);
		index += 1u << c_lg2;
	}
	*run_last = leaf_last;
	return 0;
}

/* --- dirty tracking */

struct pt_dirty_args {
	const struct pt_dirty *dirty;
	unsigned int flags;
	u64 start_va;
};

static void record_dirty(const struct pt_dirty_args *args, u64 va, u64 last)
{
	const struct pt_dirty *dirty = args->dirty;

	if (!dirty)
		return;
	if (dirty->record) {
		dirty->record(dirty->priv, va, last - va + 1);
	} else if (dirty->bitmap) {
		u64 bit = (va - dirty->iova_base) >> dirty->pgshift;
		u64 last_bit = (last - dirty->iova_base) >> dirty->pgshift;

		for (; bit <= last_bit && bit % 64; bit++)
			dirty->bitmap[bit / 64] |= PT_BIT(bit % 64);
		for (; bit + 63 <= last_bit; bit += 64)
			dirty->bitmap[bit / 64] = ~0ull;
		for (; bit <= last_bit; bit++)
			dirty->bitmap[bit / 64] |= PT_BIT(bit % 64);
	}
}

/* The entry holding dirty item pts->index: report it clipped, clear all its items */
static void harvest_entry(struct pt_state *pts, const struct pt_dirty_args *args, u64 table_va)
{
	const unsigned int isz_lg2 = pt_item_lg2sz(pts->level);
	unsigned int num_lg2 = pt_entry_num_contig_lg2(pts->entry, pts->level);
	unsigned int first = pts->index & ~((1u << num_lg2) - 1);
	u64 va = table_va | ((u64)first << isz_lg2);
	u64 last = va + log2_mask(isz_lg2 + num_lg2);
	unsigned int i;

	record_dirty(args, va < args->start_va ? args->start_va : va,
		     last > pts->range->last_va ? pts->range->last_va : last);
	if (!(args->flags & PT_DIRTY_NO_CLEAR))
		for (i = 0; i != 1u << num_lg2; i++)
			pt_entry_make_write_clean(&pts->table[first + i]);
	pts->index = first + (1u << num_lg2) - 1;
}

static __always_inline int __do_dirty(struct pt_range *range, void *arg, unsigned int level,
				      u64 *table, pt_level_fn_t descend_fn)
{
	struct pt_state pts = pt_init_state(range, level, table);
	const struct pt_dirty_args *args = arg;
	const u64 table_va = range->va & ~log2_mask(pt_item_lg2sz(level) + pts.items_lg2);
	unsigned int start_index = pts.index;
	int ret;

	for (; pts.index < pts.end_index; pts.index++) {
		pts.entry = PT_READ_ONCE(&table[pts.index]);
		if (level && pt_classify_entry(pts.entry, level) == PT_ENTRY_TABLE) {
			if (pts.index != start_index)
				pt_index_to_va(&pts);
			ret = descend_fn(range, arg, pt_table_ptr(pts.entry));
			if (ret)
				return ret;
		} else if (PT_HAS_CONTIG && pt_entry_num_contig_lg2(pts.entry, level)) {
			/* Any item of a contiguous entry dirties all of it */
			unsigned int num = 1u << pt_entry_num_contig_lg2(pts.entry, level);

			if (run_is_write_dirty(&table[pts.index], pts.entry, level))
				harvest_entry(&pts, args, table_va);
			else
				pts.index = (pts.index & ~(num - 1)) + num - 1;
		} else if (pt_unlikely(pt_entry_is_write_dirty(pts.entry))) {
			harvest_entry(&pts, args, table_va);
		}
	}
	return 0;
}
PT_MAKE_LEVELS(__dirty, __do_dirty)

int NS(read_and_clear_dirty)(struct pt_table *pt, u64 iova, u64 len, unsigned int flags,
			     const struct pt_dirty *dirty)
{
	struct pt_range range = { .pt = pt, .va = iova, .last_va = iova + len - 1 };
	struct pt_dirty_args args = { .dirty = dirty, .flags = flags, .start_va = iova };
	int ret;

	if (!PT_HAS_DIRTY || !pt_fmt_dirty_enabled(pt))
		return -EOPNOTSUPP;
	if (!len || range.last_va < iova)
		return -EINVAL;
	ret = check_range(pt, iova, range.last_va);
	if (ret)
		return ret;
	return pt_walk_range(&range, __dirty, &args);
}

bool NS(has_dirty)(const struct pt_table *pt)
{
	return PT_HAS_DIRTY && pt_fmt_dirty_enabled(pt);
}

/* --- setup */

int NS(init)(struct pt_table *pt, const struct pt_cfg *cfg)
{
	unsigned int level, top_max;
	u64 sizes = 0;
	int ret;

	if (cfg->features & ~(u32)PT_SUPPORTED_FEATURES)
		return -EOPNOTSUPP;
	pt->features = cfg->features;
	ret = pt_fmt_init(pt, cfg);
	if (ret)
		return ret;

	/* A growing top starts at the format's choice and may reach the configured width. */
	pt->max_vasz_lg2 = pt->vasz_lg2;
	top_max = pt->top_level;
	if (pt_feature(pt, PT_FEAT_DYNAMIC_TOP)) {
		unsigned int want = cfg->vasz_lg2 ? cfg->vasz_lg2 : PT_MAX_VA_LG2;

		if (want > PT_MAX_VA_LG2)
			want = PT_MAX_VA_LG2;
		if (want > pt->max_vasz_lg2)
			pt->max_vasz_lg2 = want;
		while (top_max < PT_MAX_TOP_LEVEL && PT_ITEM_LG2SZ(top_max + 1) < pt->max_vasz_lg2)
			top_max++;
	}
	for (level = 0; level <= top_max; level++)
		sizes |= pt_possible_sizes(pt, level);
	/* No page bigger than the input or output space */
	sizes &= log2_mask(pt->oasz_lg2) & log2_mask(pt->max_vasz_lg2);
	if (cfg->pgsize_bitmap)
		sizes &= cfg->pgsize_bitmap;
	if (!sizes)
		return -EINVAL;
	pt->pgsize_bitmap = sizes;

	pt->top = table_alloc(pt, top_lg2sz(pt));
	if (!pt->top)
		return -ENOMEM;
	return 0;
}

void NS(deinit)(struct pt_table *pt)
{
	u64 *top = pt->top;
	unsigned int i;

	if (!top)
		return;
	for (i = 0; pt->top_level && i != 1u << pt->top_items_lg2; i++) {
		u64 entry = PT_READ_ONCE(&top[i]);

		if (pt_classify_entry(entry, pt->top_level) == PT_ENTRY_TABLE)
			free_subtree(pt, pt_table_ptr(entry), pt->top_level - 1);
	}
	table_free(pt, top, top_lg2sz(pt), false);
	pt->top = NULL;
}

void NS(hw_info)(struct pt_table *pt, struct pt_hw_info *info)
{
	memset(info, 0, sizeof(*info));
	info->root = (uintptr_t)pt->top;
	info->top_level = pt->top_level;
	info->vasz_lg2 = pt->vasz_lg2;
	info->oasz_lg2 = pt->oasz_lg2;
	info->top_lg2sz = top_lg2sz(pt);
	pt_fmt_hw_info(pt, info);
}

const struct pt_fmt_ops NS(ops) = {
	.name = PT_STR(PTPFX),
	.init = NS(init),
	.deinit = NS(deinit),
	.map = NS(map),
	.unmap = NS(unmap),
	.prefetch = NS(prefetch),
	.walk = NS(walk),
	.walk_run = NS(walk_run),
	.iova_to_phys = NS(iova_to_phys),
	.read_and_clear_dirty = NS(read_and_clear_dirty),
	.hw_info = NS(hw_info),
	.has_dirty = NS(has_dirty),
};

#endif
