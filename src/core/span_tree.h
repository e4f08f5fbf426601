/* SPDX-License-Identifier: MIT */
/*
 * A height-balanced binary search tree of inclusive ranges [start, last],
 * for the sets in the core that may overlap or that each object keeps a
 * few of: the reserved IOVA of an IOAS, the pinned runs and pin counts of
 * an iopt_pages.  (The areas of an IOAS, a million of them for a busy
 * vIOMMU, are in the cache-friendlier B+tree of iova_btree.h.)
 *
 * Nodes are ordered by start, ties broken by node address so that a node
 * can always be found again by itself (reserved ranges may share a start).
 * Each node summarises its subtree so that range questions prune whole
 * subtrees:
 *   sub_min  the smallest start below it (its leftmost node's start);
 *   sub_max  the largest last below it (an interval tree's key);
 *   sub_gap  the widest run of values between two neighbours below it that
 *            no range covers, meaningful when the ranges are disjoint.
 * With those, finding what intersects a range, and the first hole wide
 * enough for an allocation, take O(log n) steps instead of a scan.
 *
 * There are no parent links, to keep a node at 64 bytes: stepping to the
 * next node is a fresh O(log n) descent, which also means a walk survives
 * the node it stood on being removed.  The caller owns the nodes and
 * their memory; the tree never allocates, so nothing here can fail.
 */
#ifndef UIOMMUFD_CORE_SPAN_TREE_H
#define UIOMMUFD_CORE_SPAN_TREE_H

#include <stdbool.h>
#include <stddef.h>

struct span_node {
	struct span_node *left, *right;
	unsigned long start;
	unsigned long last;	/* inclusive */
	unsigned long sub_min;
	unsigned long sub_max;
	unsigned long sub_gap;
	unsigned int height;	/* 1 for a leaf */
};

struct span_tree {
	struct span_node *root;
};

static inline bool span_tree_empty(const struct span_tree *t)
{
	return !t->root;
}

/* @n must have start and last set; it is not in any tree. */
void span_insert(struct span_tree *t, struct span_node *n);
/* @n must be in @t. */
void span_remove(struct span_tree *t, struct span_node *n);

/* The lowest node (in tree order) intersecting [first, last], or NULL. */
struct span_node *span_first(const struct span_tree *t, unsigned long first, unsigned long last);
/* The lowest node after @after (in tree order) intersecting [first, last], or NULL. */
struct span_node *span_next(const struct span_tree *t, const struct span_node *after,
			    unsigned long first, unsigned long last);
/* The lowest node, or NULL. */
struct span_node *span_leftmost(const struct span_tree *t);

/*
 * Whether some range covers @pos.  If so, *@edge is the largest last of
 * the ranges starting at or below @pos (so [pos, *edge] is covered);
 * otherwise *@edge is the smallest start above @pos and *@more says
 * whether there is one at all.
 */
bool span_covers(const struct span_tree *t, unsigned long pos, unsigned long *edge, bool *more);

/*
 * For a tree of disjoint ranges: call @fn on each maximal run of
 * uncovered values inside [lo, hi] that is at least @minlen long (@minlen
 * >= 1), lowest first, until @fn returns non-zero, which is returned.
 * Subtrees whose holes are all narrower are skipped without a visit.
 */
int span_each_gap(const struct span_tree *t, unsigned long lo, unsigned long hi,
		  unsigned long minlen,
		  int (*fn)(void *arg, unsigned long first, unsigned long last), void *arg);

/* Check every summary and the balance; for tests.  Returns the node count, or -1. */
long span_tree_verify(const struct span_tree *t);

#endif
