// SPDX-License-Identifier: MIT
/*
 * The span tree (span_tree.h): an AVL tree whose nodes carry subtree
 * summaries.  Insertion and removal recurse down one path and rebuild the
 * summaries of that path on the way back up, rotating where the heights of
 * two siblings differ by two; a node's summary depends only on itself and
 * its two children, so a rotation only has to redo the two nodes it moves.
 *
 * The depth of an AVL tree stays under 1.45 log2(n), so the recursion is
 * at most ~45 frames deep even for 2^31 nodes.
 */
#include <stdint.h>

#include "core/span_tree.h"

static inline unsigned int height_of(const struct span_node *n)
{
	return n ? n->height : 0;
}

static inline unsigned long max_ul(unsigned long a, unsigned long b)
{
	return a > b ? a : b;
}

/* Uncovered values strictly between a range ending at @a_last and one starting at @b_start. */
static inline unsigned long hole_between(unsigned long a_last, unsigned long b_start)
{
	/* Overlapping or touching ranges (possible in a reserved tree) leave none. */
	if (b_start <= a_last || b_start - a_last == 1)
		return 0;
	return b_start - a_last - 1;
}

/* Recompute @n's summaries from its children. */
static void pull(struct span_node *n)
{
	const struct span_node *l = n->left, *r = n->right;
	unsigned long gap = 0, hi = n->last;

	if (l) {
		hi = max_ul(hi, l->sub_max);
		gap = max_ul(l->sub_gap, hole_between(l->sub_max, n->start));
	}
	if (r) {
		hi = max_ul(hi, r->sub_max);
		gap = max_ul(gap, max_ul(r->sub_gap, hole_between(n->last, r->sub_min)));
	}
	n->sub_min = l ? l->sub_min : n->start;
	n->sub_max = hi;
	n->sub_gap = gap;
	n->height = 1 + max_ul(height_of(l), height_of(r));
}

/* Tree order: by start, then by address so every node has one place. */
static inline bool before(const struct span_node *a, const struct span_node *b)
{
	if (a->start != b->start)
		return a->start < b->start;
	return (uintptr_t)a < (uintptr_t)b;
}

static struct span_node *turn_right(struct span_node *n)
{
	struct span_node *l = n->left;

	n->left = l->right;
	l->right = n;
	pull(n);
	pull(l);
	return l;
}

static struct span_node *turn_left(struct span_node *n)
{
	struct span_node *r = n->right;

	n->right = r->left;
	r->left = n;
	pull(n);
	pull(r);
	return r;
}

/* Restore the AVL shape at @n, whose children are balanced; returns the subtree's new top. */
static struct span_node *rebalance(struct span_node *n)
{
	unsigned int hl = height_of(n->left), hr = height_of(n->right);

	if (hl > hr + 1) {
		if (height_of(n->left->left) < height_of(n->left->right))
			n->left = turn_left(n->left);
		return turn_right(n);
	}
	if (hr > hl + 1) {
		if (height_of(n->right->right) < height_of(n->right->left))
			n->right = turn_right(n->right);
		return turn_left(n);
	}
	pull(n);
	return n;
}

/*
 * What a parent reads of a child.  When a change below leaves it as it
 * was, nothing above can change either, and the walk back up stops
 * recomputing: for most insertions and removals only the lowest few
 * levels move.
 */
struct summary {
	unsigned long sub_min, sub_max, sub_gap;
	unsigned int height;
};

static inline struct summary summary_of(const struct span_node *n)
{
	return (struct summary){ n->sub_min, n->sub_max, n->sub_gap, n->height };
}

static inline bool summary_same(struct summary a, const struct span_node *n)
{
	return a.sub_min == n->sub_min && a.sub_max == n->sub_max && a.sub_gap == n->sub_gap &&
	       a.height == n->height;
}

/* Rebalance @top after a change below it; *@changed says whether its summary moved. */
static struct span_node *refresh(struct span_node *top, bool *changed)
{
	struct summary was;

	if (!*changed)
		return top;
	was = summary_of(top);
	top = rebalance(top);
	*changed = !summary_same(was, top);
	return top;
}

static struct span_node *insert_below(struct span_node *top, struct span_node *n, bool *changed)
{
	if (!top) {
		*changed = true;
		return n;
	}
	if (before(n, top))
		top->left = insert_below(top->left, n, changed);
	else
		top->right = insert_below(top->right, n, changed);
	return refresh(top, changed);
}

void span_insert(struct span_tree *t, struct span_node *n)
{
	bool changed;

	n->left = n->right = NULL;
	pull(n);
	t->root = insert_below(t->root, n, &changed);
}

/* Detach the lowest node of @top into *@low; returns what remains. */
static struct span_node *take_lowest(struct span_node *top, struct span_node **low,
				     bool *changed)
{
	if (!top->left) {
		*low = top;
		*changed = true;
		return top->right;
	}
	top->left = take_lowest(top->left, low, changed);
	return refresh(top, changed);
}

static struct span_node *remove_below(struct span_node *top, struct span_node *n, bool *changed)
{
	struct span_node *heir;

	if (!top) {
		*changed = false;
		return NULL;	/* not in the tree: callers never do this */
	}
	if (top != n) {
		if (before(n, top))
			top->left = remove_below(top->left, n, changed);
		else
			top->right = remove_below(top->right, n, changed);
		return refresh(top, changed);
	}
	*changed = true;
	if (!n->left)
		return n->right;
	if (!n->right)
		return n->left;
	/* Two children: the next node in order takes @n's place. */
	n->right = take_lowest(n->right, &heir, changed);
	heir->left = n->left;
	heir->right = n->right;
	*changed = true;
	return rebalance(heir);
}

void span_remove(struct span_tree *t, struct span_node *n)
{
	bool changed;

	t->root = remove_below(t->root, n, &changed);
	n->left = n->right = NULL;
}

static inline bool meets(const struct span_node *n, unsigned long first, unsigned long last)
{
	return n->start <= last && n->last >= first;
}

/*
 * The lowest node of @n's subtree meeting [first, last].  If the left
 * child has a range ending at or after @first, the answer is there or
 * nowhere: either one of those starts at or below @last and meets, or one
 * starts above @last and so does everything after it.
 */
static struct span_node *first_below(struct span_node *n, unsigned long first, unsigned long last)
{
	while (n) {
		if (n->sub_max < first || n->sub_min > last)
			return NULL;
		if (n->left && n->left->sub_max >= first) {
			n = n->left;
			continue;
		}
		if (meets(n, first, last))
			return n;
		if (n->start > last)
			return NULL;
		n = n->right;
	}
	return NULL;
}

struct span_node *span_first(const struct span_tree *t, unsigned long first, unsigned long last)
{
	return first_below(t->root, first, last);
}

static struct span_node *next_below(struct span_node *n, const struct span_node *after,
				    unsigned long first, unsigned long last)
{
	struct span_node *found;

	if (!n || n->sub_max < first || n->sub_min > last)
		return NULL;
	if (!before(after, n))
		return next_below(n->right, after, first, last);
	found = next_below(n->left, after, first, last);
	if (found)
		return found;
	if (meets(n, first, last))
		return n;
	if (n->start > last)
		return NULL;
	/* Everything right of @n comes after @after. */
	return first_below(n->right, first, last);
}

struct span_node *span_next(const struct span_tree *t, const struct span_node *after,
			    unsigned long first, unsigned long last)
{
	return next_below(t->root, after, first, last);
}

struct span_node *span_leftmost(const struct span_tree *t)
{
	struct span_node *n = t->root;

	while (n && n->left)
		n = n->left;
	return n;
}

bool span_covers(const struct span_tree *t, unsigned long pos, unsigned long *edge, bool *more)
{
	const struct span_node *n = t->root;
	unsigned long reach = 0, above = 0;
	bool any_below = false, any_above = false;

	/*
	 * The ranges starting at or below @pos are a prefix in tree order:
	 * collect the furthest end among them along one descent, and the
	 * nearest start beyond @pos on the way.
	 */
	while (n) {
		if (n->start <= pos) {
			unsigned long r = n->last;

			if (n->left)
				r = max_ul(r, n->left->sub_max);
			if (!any_below || r > reach)
				reach = r;
			any_below = true;
			n = n->right;
		} else {
			above = n->start;
			any_above = true;
			n = n->left;
		}
	}
	if (any_below && reach >= pos) {
		*edge = reach;
		if (more)
			*more = true;
		return true;
	}
	*edge = above;
	if (more)
		*more = any_above;
	return false;
}

struct gap_walk {
	unsigned long cur;	/* lowest value not yet known to be covered */
	unsigned long hi;
	unsigned long minlen;
	bool finished;		/* cur ran past hi or off the end */
	int rc;
	int (*fn)(void *arg, unsigned long first, unsigned long last);
	void *arg;
};

/* Everything up to @last is accounted for. */
static void walk_advance(struct gap_walk *w, unsigned long last)
{
	if (last < w->cur)
		return;
	if (last >= w->hi)
		w->finished = true;
	else
		w->cur = last + 1;
}

/* Offer the hole [w->cur, up_to]; @up_to may lie beyond hi. */
static void walk_offer(struct gap_walk *w, unsigned long up_to)
{
	unsigned long end = up_to < w->hi ? up_to : w->hi;

	if (end - w->cur + 1 >= w->minlen || (w->cur == 0 && end == ~0UL))
		w->rc = w->fn(w->arg, w->cur, end);
}

static void walk_gaps(const struct span_node *n, struct gap_walk *w)
{
	if (!n || w->finished || w->rc)
		return;
	if (n->sub_max < w->cur)
		return;	/* all of it lies before the walk */
	if (n->sub_min > w->hi)
		return;	/* all of it lies beyond: the caller offers the tail */
	if (n->sub_gap < w->minlen &&
	    (n->sub_min <= w->cur || n->sub_min - w->cur < w->minlen)) {
		/* No hole inside, nor before it, is wide enough. */
		walk_advance(w, n->sub_max);
		return;
	}
	walk_gaps(n->left, w);
	if (w->finished || w->rc)
		return;
	if (n->start > w->cur) {
		walk_offer(w, n->start - 1);
		if (w->rc)
			return;
		if (n->start > w->hi) {
			w->finished = true;
			return;
		}
	}
	walk_advance(w, n->last);
	walk_gaps(n->right, w);
}

int span_each_gap(const struct span_tree *t, unsigned long lo, unsigned long hi,
		  unsigned long minlen,
		  int (*fn)(void *arg, unsigned long first, unsigned long last), void *arg)
{
	struct gap_walk w = {
		.cur = lo, .hi = hi, .minlen = minlen ? minlen : 1, .fn = fn, .arg = arg,
	};

	if (lo > hi)
		return 0;
	walk_gaps(t->root, &w);
	if (!w.finished && !w.rc)
		walk_offer(&w, hi);
	return w.rc;
}

/* Returns the subtree's node count, or -1 on the first broken summary. */
static long verify_below(const struct span_node *n, const struct span_node *lo_bound,
			 const struct span_node *hi_bound)
{
	struct span_node copy;
	long nl, nr;

	if (!n)
		return 0;
	if (n->start > n->last)
		return -1;
	if ((lo_bound && !before(lo_bound, n)) || (hi_bound && !before(n, hi_bound)))
		return -1;
	nl = verify_below(n->left, lo_bound, n);
	nr = verify_below(n->right, n, hi_bound);
	if (nl < 0 || nr < 0)
		return -1;
	copy = *n;
	pull(&copy);
	if (copy.sub_min != n->sub_min || copy.sub_max != n->sub_max ||
	    copy.sub_gap != n->sub_gap || copy.height != n->height)
		return -1;
	if (height_of(n->left) > height_of(n->right) + 1 ||
	    height_of(n->right) > height_of(n->left) + 1)
		return -1;
	return nl + nr + 1;
}

long span_tree_verify(const struct span_tree *t)
{
	return verify_below(t->root, NULL, NULL);
}
