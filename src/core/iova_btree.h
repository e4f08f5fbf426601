/* SPDX-License-Identifier: MIT */
/*
 * An index of disjoint inclusive ranges [start, last] (the areas of an
 * IOAS), as a B+tree: leaves hold up to IOVA_BTREE_FAN ranges with their
 * values in order, inner nodes up to IOVA_BTREE_FAN children with a
 * summary of each (lowest start, highest last, widest uncovered run
 * between two of its ranges).  Every question the IOAS asks (what meets a
 * range, where the first wide enough hole is) reads one node per level,
 * and with 31 ranges a node a million areas are five levels: a handful of
 * cache misses per operation where a binary tree takes twenty.  A node is
 * sixteen cache lines, 64-byte aligned, with the keys a descent reads
 * first; each descent fetches the next node's lines all at once, so a
 * level costs one memory latency, not one per line.  Wide nodes keep the
 * levels above the leaves small (a million areas: about 2 MB, where 15
 * a node made 5 MB), so they stay in the caches more often and fewer
 * levels of a lookup miss.
 *
 * Nodes come from the tree's @nodes cache, or malloc without one; only
 * insertion can fail (-ENOMEM, the index unchanged), and not after
 * iova_btree_prepare() said it would not.  Removal never allocates: a node
 * left with few ranges is merged into a neighbour when they fit together,
 * an empty one is freed, so the index stays within a small factor of its
 * ranges' size.
 *
 * A deep tree (four levels and more, some 15k ranges up) also keeps a
 * table of leaf hints: for each slice of the IOVA space, the leaf the
 * last descent into that slice reached.  A descent asks the cache for the
 * hinted leaf's lines before it reads the root, so the one node a lookup
 * among many ranges waits on memory for is on its way while the levels
 * above it are read.  A hint is only ever prefetched, never read through:
 * a wrong or stale one (its node merged away, freed or reused) costs a
 * wasted prefetch and nothing else.  Half a byte per range or less.
 */
#ifndef UIOMMUFD_CORE_IOVA_BTREE_H
#define UIOMMUFD_CORE_IOVA_BTREE_H

#include <stdbool.h>
#include <stddef.h>

#define IOVA_BTREE_FAN 31	/* what fits a node in sixteen cache lines */
#define IOVA_BTREE_MAX_DEPTH 24	/* with nodes at least two wide: far beyond 2^64 ranges */

struct iova_btree_node;
struct iova_btree_hints;
struct slab_cache;

struct iova_btree {
	struct slab_cache *nodes;	/* where nodes come from; NULL: malloc */
	struct iova_btree_node *root;
	unsigned int height;	/* 0: empty; 1: the root is a leaf */
	unsigned int nspare;
	size_t count;
	struct iova_btree_node *spare;	/* free nodes, linked through ptr[0] */
	unsigned long gen;		/* moves with every change of the nodes */
	struct iova_btree_hints *hints;	/* leaves to fetch early; NULL while shallow */
	size_t hints_next;		/* build the hints again at this count */
};

/*
 * Where an insertion of a range found free would go, as a lookup saw it:
 * good until the tree next changes.
 */
struct iova_btree_spot {
	struct iova_btree_node *path[IOVA_BTREE_MAX_DEPTH];
	unsigned int slot[IOVA_BTREE_MAX_DEPTH];
	unsigned int depth, pos;
	struct iova_btree_node *leaf;	/* NULL: no spot */
	unsigned long gen;
};

/*
 * Make sure the next @inserts insertions cannot fail, so a caller can
 * insert past its point of no return.  -ENOMEM, the tree unchanged.
 */
int iova_btree_prepare(struct iova_btree *t, size_t inserts);
/* Add [start, last] -> @value; the range must meet nothing in the index. */
int iova_btree_insert(struct iova_btree *t, unsigned long start, unsigned long last,
		      void *value);
/* Remove the range starting at @start; its value, or NULL if there is none. */
void *iova_btree_remove(struct iova_btree *t, unsigned long start);
/*
 * The value of the lowest range meeting [first, last], or NULL; *@start
 * and *@end (when not NULL) get that range's bounds.
 */
void *iova_btree_first(const struct iova_btree *t, unsigned long first, unsigned long last,
		       unsigned long *start, unsigned long *end);
/*
 * iova_btree_first() without bounds; when nothing meets [first, last],
 * @spot may get where that range would be inserted.
 */
void *iova_btree_first_spot(const struct iova_btree *t, unsigned long first, unsigned long last,
			    struct iova_btree_spot *spot);
/*
 * iova_btree_insert() of a range iova_btree_first_spot() found free: at
 * @spot, without a descent, if the tree has not changed since and the
 * leaf has room; else as iova_btree_insert() (and so fails only as it).
 */
int iova_btree_insert_at(struct iova_btree *t, struct iova_btree_spot *spot,
			 unsigned long start, unsigned long last, void *value);
/*
 * iova_btree_first(), and then, if @take says so of the range it found
 * (its value and bounds, read from the leaf), the removal of that range in
 * the same descent (*@taken).  The value found, taken or not, or NULL.
 */
void *iova_btree_take_first(struct iova_btree *t, unsigned long first, unsigned long last,
			    bool (*take)(void *value, unsigned long start, unsigned long last,
					 void *arg),
			    void *arg, bool *taken);
/*
 * Call @fn on each maximal run of uncovered values inside [lo, hi] at
 * least @minlen long (>= 1), lowest first, until it returns non-zero,
 * which is returned.  Subtrees whose holes are all narrower are skipped.
 */
int iova_btree_each_gap(const struct iova_btree *t, unsigned long lo, unsigned long hi,
			unsigned long minlen,
			int (*fn)(void *arg, unsigned long first, unsigned long last), void *arg);
/* The range starting at @start now ends at @last (meeting nothing new); never fails. */
void iova_btree_set_last(struct iova_btree *t, unsigned long start, unsigned long last);
/* Free every node (the values are the caller's). */
void iova_btree_destroy(struct iova_btree *t);
/* sizeof(struct iova_btree_node), for a cache of nodes. */
size_t iova_btree_node_size(void);
/* Check order, summaries and counts; the number of ranges, or -1.  For tests. */
long iova_btree_verify(const struct iova_btree *t);

#endif
