/* SPDX-License-Identifier: MIT */
/*
 * IO page tables: the format-independent API the IOMMU models call.
 *
 * A struct pt_table is one IO page table (one domain's translation) kept in
 * the real hardware layout of its format: AMD IOMMU v1, the iommufd
 * selftest's 2 KiB-granule variants of it, x86-64 4/5-level (VT-d first
 * stage, AMD v2), VT-d second stage, and Arm VMSAv8-64 stage 1 and stage 2
 * with 4 KiB, 16 KiB and 64 KiB granules.  An IOMMU model can hand the root
 * (pt_hw_info) to its hardware walker and read every entry as the hardware
 * would.
 *
 * The algorithms (map, unmap, iova_to_phys, walk, dirty read-and-clear) are
 * written once, in iommu_pt.h, and compiled once per format with the
 * format's entry encoders inlined (the kernel's generic_pt approach).  This
 * header only dispatches through the per-format ops vtable.
 *
 * Semantics follow the kernel's generic_pt:
 *  - map combines into the largest page the IOVA and OA alignment, the
 *    remaining length, the format and the table's pgsize bitmap allow,
 *    unless PT_MAP_NO_LARGE.  Mapping over a present translation fails with
 *    -EADDRINUSE and leaves the table as it was.
 *  - unmap never splits a large entry: an unmap that starts at a large
 *    entry removes all of it and counts all of it; one that starts inside a
 *    large entry removes nothing.  Unmapping stops at the first IOVA that is
 *    not mapped; the return value is the number of bytes unmapped, so
 *    iova + result is where it stopped.  Tables whose whole IOVA span lies
 *    inside the unmapped range are freed.
 *  - read_and_clear_dirty reports each dirty leaf clipped to the range and
 *    (unless PT_DIRTY_NO_CLEAR) returns it to write-clean.
 *
 * Concurrency: the caller serialises writers over overlapping IOVA ranges
 * and keeps walkers away from tables it is unmapping (the kernel's range
 * lock plus IOTLB flush contract).  Dirty bits are set and cleared with
 * atomics, so a DMA walker may mark pages dirty while a harvest runs.
 *
 * "Physical" addresses are plain 64-bit values; table pointers in entries
 * are the host addresses of the tables.
 *
 * Vocabulary: iova/va is the input address, oa the output address; level 0
 * holds only leaves; `last` is inclusive, `end` exclusive; `_lg2` marks a
 * log2 value.
 */
#ifndef UIOMMUFD_PT_H
#define UIOMMUFD_PT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pt_fmt {
	PT_FMT_AMDV1,		/* AMD IOMMU v1 host page table */
	PT_FMT_AMDV1_MOCK,	/* iommufd selftest mock: AMDv1, 2 KiB granule */
	PT_FMT_AMDV1_MOCK_HUGE,	/* the mock with pgsize bitmap 1 MiB | 4 KiB */
	PT_FMT_X86_64,		/* x86-64 4/5-level: VT-d first stage, AMD v2 */
	PT_FMT_VTDSS,		/* VT-d second stage */
	PT_FMT_ARMV8_S1_4K,	/* Arm VMSAv8-64 stage 1 */
	PT_FMT_ARMV8_S1_16K,
	PT_FMT_ARMV8_S1_64K,
	PT_FMT_ARMV8_S2_4K,	/* Arm VMSAv8-64 stage 2 */
	PT_FMT_ARMV8_S2_16K,
	PT_FMT_ARMV8_S2_64K,
	PT_FMT_NR,
};

/* Protection bits for pt_map() and pt_walk(); values match the kernel's IOMMU_* */
enum {
	PT_READ = 1 << 0,
	PT_WRITE = 1 << 1,
	PT_CACHE = 1 << 2,	/* coherent / cacheable memory type */
	PT_NOEXEC = 1 << 3,
	PT_MMIO = 1 << 4,	/* device memory type */
	PT_PRIV = 1 << 5,	/* Arm stage 1: privileged only */
};

/* Features, per table (struct pt_cfg.features) */
enum {
	PT_FEAT_SIGN_EXTEND = 1 << 0,	  /* x86-64: canonical lower and upper halves */
	PT_FEAT_ARM_DBM = 1 << 1,	  /* Arm: HTTU dirty state through DBM */
	PT_FEAT_FORCE_COHERENCE = 1 << 2, /* AMDv1 FC, VT-d SNP */
	PT_FEAT_DYNAMIC_TOP = 1 << 3,	  /* AMDv1: levels added on top as maps reach higher */
};

/* pt_map() flags */
enum {
	PT_MAP_NO_LARGE = 1 << 0, /* every leaf is the table's smallest page size */
};

/* pt_read_and_clear_dirty() flags */
enum {
	PT_DIRTY_NO_CLEAR = 1 << 0, /* report only; leave the entries dirty */
};

/* pt_walk() flags: what the access does, as a hardware walker would record it */
enum {
	PT_WALK_WRITE = 1 << 0, /* mark the leaf write-dirty if it permits writes */
};

/*
 * Table memory.  alloc_table returns zeroed memory of 1 << lg2sz bytes aligned
 * to its size, or NULL.  NULL hooks select posix_memalign()/free().
 */
struct pt_alloc_ops {
	void *(*alloc_table)(void *priv, unsigned int lg2sz);
	void (*free_table)(void *priv, void *table, unsigned int lg2sz);
	void *priv;
};

struct pt_cfg {
	/*
	 * Input address width.  0 picks the format's default: AMDv1 from
	 * top_level; x86-64 48 (4-level), 57 selects 5-level; VT-d SS 48;
	 * Arm 48 (stage 2: the IPA size).  With PT_FEAT_DYNAMIC_TOP the
	 * width the top may grow to (0: the format's widest).
	 */
	unsigned int vasz_lg2;
	unsigned int oasz_lg2;	     /* 0: the format's maximum */
	unsigned int top_level;	     /* AMDv1 only: starting level (1..5), 0 = 2 */
	uint64_t pgsize_bitmap;	     /* 0: every size the format allows */
	uint32_t features;	     /* PT_FEAT_* */
	struct pt_alloc_ops alloc;
};

/* What a model programs into its hardware: the root and its geometry. */
struct pt_hw_info {
	uint64_t root;		  /* address of the top table */
	unsigned int top_level;	  /* level of the top table; level 0 is the leaf */
	unsigned int vasz_lg2;
	unsigned int oasz_lg2;
	unsigned int top_lg2sz;	  /* size of the top table's memory */
	unsigned int amd_mode;	  /* AMD DTE Mode: number of levels */
	unsigned int vtd_aw;	  /* VT-d SS AW: 1 = 3-level, 2 = 4-level, 3 = 5-level */
	unsigned int arm_start_level; /* Arm lookup level of the root (0..3) */
	unsigned int arm_concat;  /* Arm stage 2: concatenated root tables (1 = none) */
	unsigned int arm_tg_lg2;  /* Arm translation granule */
};

struct pt_walk_result {
	uint64_t oa;		/* output address of the iova, in-page offset included */
	uint64_t page_oa;	/* output address of the start of the page */
	unsigned int pgsize_lg2; /* size of the leaf (a contiguous run counts whole) */
	unsigned int level;	/* level of the leaf */
	unsigned int prot;	/* PT_READ / PT_WRITE / PT_NOEXEC as the hardware reads it */
	bool dirty;		/* write-dirty state (false when the format has none) */
	uint64_t entry;		/* the raw leaf entry */
};

/*
 * Dirty output.  If record is set it is called for every dirty range;
 * otherwise, if bitmap is set, bit ((iova - iova_base) >> pgshift) is set for
 * every page of a dirty range.  Both NULL: the entries are only cleared.
 */
struct pt_dirty {
	uint64_t *bitmap;
	uint64_t iova_base;
	unsigned int pgshift;
	void (*record)(void *priv, uint64_t iova, uint64_t len);
	void *priv;
};

struct pt_table;

/* One vtable per format instantiation (pt_<fmt>_ops). */
struct pt_fmt_ops {
	const char *name;
	int (*init)(struct pt_table *pt, const struct pt_cfg *cfg);
	void (*deinit)(struct pt_table *pt);
	int (*map)(struct pt_table *pt, uint64_t iova, uint64_t oa, uint64_t len,
		   unsigned int prot, unsigned int flags);
	uint64_t (*unmap)(struct pt_table *pt, uint64_t iova, uint64_t len);
	void (*prefetch)(struct pt_table *pt, uint64_t iova);
	int (*walk)(struct pt_table *pt, uint64_t iova, unsigned int flags,
		    struct pt_walk_result *res);
	int (*walk_run)(struct pt_table *pt, uint64_t iova, uint64_t last, unsigned int flags,
			struct pt_walk_result *res, uint64_t *run_last);
	uint64_t (*iova_to_phys)(struct pt_table *pt, uint64_t iova);
	int (*read_and_clear_dirty)(struct pt_table *pt, uint64_t iova, uint64_t len,
				    unsigned int flags, const struct pt_dirty *dirty);
	void (*hw_info)(struct pt_table *pt, struct pt_hw_info *info);
	bool (*has_dirty)(const struct pt_table *pt);
};

/*
 * Embeddable.  Fields are owned by the page-table code; read them only
 * through the functions below (nr_tables and pgsize_bitmap may be read).
 */
struct pt_table {
	const struct pt_fmt_ops *ops;
	void *top;			/* the top table */
	unsigned int top_level;
	unsigned int top_items_lg2;	/* items in the top table */
	unsigned int vasz_lg2;		/* what the current top reaches */
	unsigned int max_vasz_lg2;	/* what it may grow to (PT_FEAT_DYNAMIC_TOP); else vasz_lg2 */
	unsigned int oasz_lg2;
	uint32_t features;
	enum pt_fmt fmt;
	uint64_t pgsize_bitmap;		/* page sizes map may use */
	uint64_t nr_tables;		/* tables allocated, top included */
	struct pt_alloc_ops alloc;
};

/* Returns 0 or -EINVAL / -EOPNOTSUPP / -ENOMEM; @pt is left zeroed on failure. */
int pt_init(struct pt_table *pt, enum pt_fmt fmt, const struct pt_cfg *cfg);
/* Frees every table; the translations vanish.  Safe on a zeroed table. */
void pt_deinit(struct pt_table *pt);

const char *pt_fmt_name(enum pt_fmt fmt);

/*
 * Map [iova, iova + len) to [oa, oa + len).  iova, oa and len must be
 * aligned to the smallest page size.  Returns 0, -EINVAL (alignment, no
 * permission), -ERANGE (outside the input or output address space),
 * -EADDRINUSE (something is mapped there) or -ENOMEM.  On failure nothing
 * of the range is mapped and any table allocated for it is freed.
 */
static inline int pt_map(struct pt_table *pt, uint64_t iova, uint64_t oa, uint64_t len,
			 unsigned int prot, unsigned int flags)
{
	return pt->ops->map(pt, iova, oa, len, prot, flags);
}

/* Bytes unmapped (see the rules above); 0 for a bad range. */
static inline uint64_t pt_unmap(struct pt_table *pt, uint64_t iova, uint64_t len)
{
	return pt->ops->unmap(pt, iova, len);
}

/*
 * A hint: fetch into the cache the leaf entry of @iova, for a map or unmap
 * of it that follows.  Changes nothing; call it where a map or unmap may.
 */
static inline void pt_prefetch(struct pt_table *pt, uint64_t iova)
{
	pt->ops->prefetch(pt, iova);
}

/* The output address of @iova (any alignment), or 0 if it is not mapped. */
static inline uint64_t pt_iova_to_phys(struct pt_table *pt, uint64_t iova)
{
	return pt->ops->iova_to_phys(pt, iova);
}

/* A hardware-style walk: 0 and @res, or -ENOENT when @iova is not mapped. */
static inline int pt_walk(struct pt_table *pt, uint64_t iova, unsigned int flags,
			  struct pt_walk_result *res)
{
	return pt->ops->walk(pt, iova, flags, res);
}

/*
 * pt_walk() of @iova, then on along the leaves that follow it in the same
 * table while they are present, have the leaf's permissions and continue
 * its output address, up to the leaf holding @last: *@run_last is the last
 * IOVA of that run, which translates linearly from @res->oa.  With
 * PT_WALK_WRITE every leaf of the run is marked dirty.
 */
static inline int pt_walk_run(struct pt_table *pt, uint64_t iova, uint64_t last,
			      unsigned int flags, struct pt_walk_result *res, uint64_t *run_last)
{
	return pt->ops->walk_run(pt, iova, last, flags, res, run_last);
}

/*
 * Report (and unless PT_DIRTY_NO_CLEAR, clear) the write-dirty leaves in
 * [iova, iova + len).  -EOPNOTSUPP if the format or table has no dirty state.
 */
static inline int pt_read_and_clear_dirty(struct pt_table *pt, uint64_t iova, uint64_t len,
					  unsigned int flags, const struct pt_dirty *dirty)
{
	return pt->ops->read_and_clear_dirty(pt, iova, len, flags, dirty);
}

static inline void pt_hw_info(struct pt_table *pt, struct pt_hw_info *info)
{
	pt->ops->hw_info(pt, info);
}

/* Whether read_and_clear_dirty works on this table. */
static inline bool pt_has_dirty(const struct pt_table *pt)
{
	return pt->ops->has_dirty(pt);
}

/*
 * Each format instantiation (src/pt/pt_<fmt>.c) exports its ops and the
 * format-prefixed operations, for callers that know their format and want
 * direct calls.
 */
#define PT_DECLARE_FMT(pfx)                                                                \
	extern const struct pt_fmt_ops pt_##pfx##_ops;                                     \
	int pt_##pfx##_init(struct pt_table *pt, const struct pt_cfg *cfg);                \
	void pt_##pfx##_deinit(struct pt_table *pt);                                       \
	int pt_##pfx##_map(struct pt_table *pt, uint64_t iova, uint64_t oa, uint64_t len,  \
			   unsigned int prot, unsigned int flags);                         \
	uint64_t pt_##pfx##_unmap(struct pt_table *pt, uint64_t iova, uint64_t len);       \
	void pt_##pfx##_prefetch(struct pt_table *pt, uint64_t iova);                      \
	int pt_##pfx##_walk(struct pt_table *pt, uint64_t iova, unsigned int flags,        \
			    struct pt_walk_result *res);                                   \
	int pt_##pfx##_walk_run(struct pt_table *pt, uint64_t iova, uint64_t last,         \
				unsigned int flags, struct pt_walk_result *res,            \
				uint64_t *run_last);                                       \
	uint64_t pt_##pfx##_iova_to_phys(struct pt_table *pt, uint64_t iova);              \
	int pt_##pfx##_read_and_clear_dirty(struct pt_table *pt, uint64_t iova,            \
					    uint64_t len, unsigned int flags,              \
					    const struct pt_dirty *dirty);                 \
	void pt_##pfx##_hw_info(struct pt_table *pt, struct pt_hw_info *info);             \
	bool pt_##pfx##_has_dirty(const struct pt_table *pt)

PT_DECLARE_FMT(amdv1);
PT_DECLARE_FMT(amdv1_mock);
PT_DECLARE_FMT(x86_64);
PT_DECLARE_FMT(vtdss);
PT_DECLARE_FMT(armv8_s1_4k);
PT_DECLARE_FMT(armv8_s1_16k);
PT_DECLARE_FMT(armv8_s1_64k);
PT_DECLARE_FMT(armv8_s2_4k);
PT_DECLARE_FMT(armv8_s2_16k);
PT_DECLARE_FMT(armv8_s2_64k);

#endif
