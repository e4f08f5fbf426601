// SPDX-License-Identifier: MIT
/* The in-process host's interval index (itree.h): a treap with max-end summaries. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/itree.h"

static uint32_t itree_seed = 2463534242u;

/* Callers serialise every change (inproc_pins_lock), which covers the seed too. */
static uint32_t itree_prio(void)
{
	itree_seed ^= itree_seed << 13;
	itree_seed ^= itree_seed >> 17;
	itree_seed ^= itree_seed << 5;
	return itree_seed;
}

/*
 * Ordered by start, then end, then node address, so that every node has
 * one place and the nodes of one exact interval sit together (the same
 * range pinned again is found in one descent: itree_visit_exact()).
 */
static bool itree_less(const struct itree_node *a, const struct itree_node *b)
{
	if (a->start != b->start)
		return a->start < b->start;
	if (a->end != b->end)
		return a->end < b->end;
	return (uintptr_t)a < (uintptr_t)b;
}

static void itree_update(struct itree_node *n)
{
	n->max_end = n->end;
	if (n->left && n->left->max_end > n->max_end)
		n->max_end = n->left->max_end;
	if (n->right && n->right->max_end > n->max_end)
		n->max_end = n->right->max_end;
}

/* *@l gets the nodes ordered before @key, *@r the rest. */
static void itree_split(struct itree_node *t, const struct itree_node *key, struct itree_node **l,
			struct itree_node **r)
{
	if (!t) {
		*l = *r = NULL;
	} else if (itree_less(t, key)) {
		itree_split(t->right, key, &t->right, r);
		*l = t;
		itree_update(t);
	} else {
		itree_split(t->left, key, l, &t->left);
		*r = t;
		itree_update(t);
	}
}

/* Every node of @a is ordered before every node of @b. */
static struct itree_node *itree_merge(struct itree_node *a, struct itree_node *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->prio > b->prio) {
		a->right = itree_merge(a->right, b);
		itree_update(a);
		return a;
	}
	b->left = itree_merge(a, b->left);
	itree_update(b);
	return b;
}

static struct itree_node *itree_insert_at(struct itree_node *t, struct itree_node *n)
{
	if (!t)
		return n;
	if (n->prio > t->prio) {
		itree_split(t, n, &n->left, &n->right);
		itree_update(n);
		return n;
	}
	if (itree_less(n, t))
		t->left = itree_insert_at(t->left, n);
	else
		t->right = itree_insert_at(t->right, n);
	itree_update(t);
	return t;
}

void itree_insert(struct itree_node **root, struct itree_node *n, uint64_t start,
		  uint64_t end)
{
	n->start = start;
	n->end = end;
	n->max_end = end;
	n->prio = itree_prio();
	n->left = n->right = NULL;
	*root = itree_insert_at(*root, n);
}

static struct itree_node *itree_remove_at(struct itree_node *t, struct itree_node *n)
{
	if (!t)
		return NULL;
	if (t == n)
		return itree_merge(n->left, n->right);
	if (itree_less(n, t))
		t->left = itree_remove_at(t->left, n);
	else
		t->right = itree_remove_at(t->right, n);
	itree_update(t);
	return t;
}

void itree_remove(struct itree_node **root, struct itree_node *n)
{
	*root = itree_remove_at(*root, n);
}

/*
 * Some node covering @addr.  When the left subtree reaches past @addr
 * but holds no cover, its far-reaching node starts above @addr, and so
 * does everything after it: going left is always safe then.
 */
struct itree_node *itree_find(struct itree_node *t, uint64_t addr)
{
	while (t) {
		if (t->start <= addr && addr < t->end)
			return t;
		if (t->left && t->left->max_end > addr)
			t = t->left;
		else if (t->start <= addr)
			t = t->right;
		else
			return NULL;
	}
	return NULL;
}

/*
 * Call @fn on every node meeting [lo, hi), in order, until it returns
 * nonzero, which is returned.  @fn must not change the tree.
 */
int itree_visit(struct itree_node *t, uint64_t lo, uint64_t hi,
		int (*fn)(struct itree_node *n, void *arg), void *arg)
{
	int rc;

	if (!t || t->max_end <= lo)
		return 0;
	rc = itree_visit(t->left, lo, hi, fn, arg);
	if (rc || t->start >= hi)
		return rc;
	if (t->end > lo) {
		rc = fn(t, arg);
		if (rc)
			return rc;
	}
	return itree_visit(t->right, lo, hi, fn, arg);
}

/* The first node, in order, that starts at or after @addr. */
struct itree_node *itree_first_from(struct itree_node *t, uint64_t addr)
{
	struct itree_node *best = NULL;

	while (t) {
		if (t->start >= addr) {
			best = t;
			t = t->left;
		} else {
			t = t->right;
		}
	}
	return best;
}

/*
 * Call @fn on the nodes of exactly [start, end) until it returns nonzero,
 * which is returned: one descent plus the nodes of that interval.
 */
int itree_visit_exact(struct itree_node *t, uint64_t start, uint64_t end,
		      int (*fn)(struct itree_node *n, void *arg), void *arg)
{
	int rc;

	while (t) {
		if (t->start < start || (t->start == start && t->end < end)) {
			t = t->right;
		} else if (t->start > start || t->end > end) {
			t = t->left;
		} else {
			/* Equal keys may lie on both sides of this one. */
			rc = itree_visit_exact(t->left, start, end, fn, arg);
			if (!rc)
				rc = fn(t, arg);
			return rc ? rc : itree_visit_exact(t->right, start, end, fn, arg);
		}
	}
	return 0;
}
