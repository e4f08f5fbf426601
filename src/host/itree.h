/* SPDX-License-Identifier: MIT */
#ifndef UIOMMUFD_HOST_ITREE_H
#define UIOMMUFD_HOST_ITREE_H

#include <stdint.h>

/*
 * Interval index: a treap ordered by start, each node knowing the largest
 * end below it, so finding who covers an address is one walk down.
 * Intervals may overlap (the same page pinned twice).
 */
struct itree_node {
	uint64_t start, end;	/* [start, end) */
	uint64_t max_end;	/* largest end in the subtree */
	uint32_t prio;
	struct itree_node *left, *right;
};

/* Add @n as [start, end). */
void itree_insert(struct itree_node **root, struct itree_node *n, uint64_t start, uint64_t end);
/* Take @n, which is in the tree, out. */
void itree_remove(struct itree_node **root, struct itree_node *n);
/* Some node covering @addr, or NULL. */
struct itree_node *itree_find(struct itree_node *t, uint64_t addr);
/*
 * Call @fn on every node meeting [lo, hi), in order, until it returns
 * nonzero, which is returned.  @fn must not change the tree.
 */
int itree_visit(struct itree_node *t, uint64_t lo, uint64_t hi,
		int (*fn)(struct itree_node *n, void *arg), void *arg);
/* The first node, in order, that starts at or after @addr. */
struct itree_node *itree_first_from(struct itree_node *t, uint64_t addr);
/*
 * Call @fn on the nodes of exactly [start, end) until it returns nonzero,
 * which is returned: one descent plus the nodes of that interval.
 */
int itree_visit_exact(struct itree_node *t, uint64_t start, uint64_t end,
		      int (*fn)(struct itree_node *n, void *arg), void *arg);

#endif
