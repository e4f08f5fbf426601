// SPDX-License-Identifier: MIT
/*
 * The IOVA B+tree (iova_btree.h).
 *
 * Insertion splits full nodes on the way down, so the leaf it reaches has
 * room and no split ever has to climb back up; a split that cannot get
 * memory leaves a tree holding the same ranges, which is all "unchanged"
 * means to a caller.  Removal walks back up the path it came down: an
 * emptied node is unlinked and freed, a node under a quarter full is merged
 * into a neighbour that has room, and a root left with a single child hands
 * over to it.  Every node a change touched refreshes its entry in its
 * parent, which is the only place a subtree's summary is kept.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/iova_btree.h"
#include "core/slab.h"

#define FAN IOVA_BTREE_FAN
#define MAX_DEPTH IOVA_BTREE_MAX_DEPTH

/*
 * lo/hi: a leaf's ranges, or the lowest start and highest last of each
 * child; ptr: the values, or the children; gap (inner nodes only): each
 * child's widest inner hole.  Leaves and inner nodes are the same size,
 * so a spare node serves as either.  The order is the order a descent
 * reads them: hi and n (lines 0-3), ptr (4-7), then lo and gap.
 */
#define NODE_ALIGN 64
struct iova_btree_node {
	unsigned long hi[FAN];
	unsigned int n;
	void *ptr[FAN];
	unsigned long lo[FAN];
	unsigned long gap[FAN];
} __attribute__((aligned(NODE_ALIGN)));

_Static_assert(sizeof(struct iova_btree_node) == 16 * NODE_ALIGN, "a node is sixteen lines");
/* The lines a leaf uses: every one but those wholly in gap. */
#define LEAF_LINES ((offsetof(struct iova_btree_node, gap) + NODE_ALIGN - 1) / NODE_ALIGN)

/*
 * Ask for all of @n that a step into it reads before it is read: hi, n,
 * ptr and lo, and in an inner node gap too, which the summaries refreshed
 * on the way back up read.  A leaf's gap lines are never read, and not
 * fetched: a random lookup among many areas is bound by how many lines
 * the memory delivers a second as much as by its latency.
 */
static inline __attribute__((always_inline)) void node_prefetch(const struct iova_btree_node *n,
								bool leaf)
{
	const char *p = (const char *)n;
	unsigned int k;

	/* Unrolled: as a loop it cost more instructions than the search. */
#pragma GCC unroll 16
	for (k = 0; k < LEAF_LINES; k++)
		__builtin_prefetch(p + k * NODE_ALIGN);
	if (leaf)
		return;
#pragma GCC unroll 16
	for (k = LEAF_LINES; k < sizeof(*n) / NODE_ALIGN; k++)
		__builtin_prefetch(p + k * NODE_ALIGN);
}

/*
 * Leaf hints (iova_btree.h).  The table has a power of two of entries,
 * about one for every HINT_RANGES_EACH ranges when it was built, and
 * slices the span from the lowest range to the highest into as many
 * slices of a power-of-two width: for evenly spread ranges that is a hint
 * or two a leaf, and small enough (256 KiB at a million ranges) to stay in
 * the caches more than the level above the leaves does, eight times its
 * size: among a million ranges every lookup brings a leaf's lines in, and
 * only what is touched more often than the caches turn over stays.
 * Built filled from the leaves; every descent that reaches a leaf updates
 * its slice's hint.  Rebuilt as the count doubles, dropped when it falls
 * to a quarter or the tree gets shallow again; without memory the tree
 * goes without, and tries again once the count has doubled.
 */
#define HINT_MIN_HEIGHT 4	/* shallower, the leaves mostly are in the cache */
#define HINT_RANGES_EACH 16

/*
 * A hint is a node's address over NODE_ALIGN, cut to 32 bits: half the
 * size of a pointer, so twice as many hints stay in the caches.  The bits
 * cut are those of the root when the table was built; a node elsewhere
 * (another mapping, 256 GiB away) is hinted at a wrong address, which
 * costs what any wrong hint costs.  0: no hint.
 */
#define HINT_SHIFT 6
_Static_assert(NODE_ALIGN == 1 << HINT_SHIFT, "hints drop the node alignment's bits");

struct iova_btree_hints {
	unsigned int shift;	/* a slice is 2^shift values wide */
	size_t mask;		/* entries - 1 */
	size_t built_at;	/* the count when built */
	uintptr_t high;		/* the address bits a hint leaves out */
	uint32_t leaf[];
};

static inline uint32_t hint_of(const struct iova_btree_node *leaf)
{
	return (uint32_t)((uintptr_t)leaf >> HINT_SHIFT);
}

/* The slot a descent towards a key used, and what it held then. */
struct hint_ref {
	uint32_t *slot;
	uint32_t seen;
};

/*
 * Before a descent towards @key: ask for the lines of the leaf its slice
 * hints at.  Relaxed loads and stores: lookups of a tree may run side by
 * side, and any value a slot holds is safe.
 */
static inline struct hint_ref hint_fetch(const struct iova_btree *t, unsigned long key)
{
	struct iova_btree_hints *h = t->hints;
	struct hint_ref r = { NULL, 0 };

	if (!h)
		return r;
	r.slot = &h->leaf[(key >> h->shift) & h->mask];
	r.seen = __atomic_load_n(r.slot, __ATOMIC_RELAXED);
	if (r.seen)
		node_prefetch((const struct iova_btree_node *)(h->high |
							       ((uintptr_t)r.seen << HINT_SHIFT)),
			      true);
	return r;
}

/* The descent hint_fetch() started reached @leaf. */
static inline void hint_learn(struct hint_ref r, const struct iova_btree_node *leaf)
{
	if (r.slot && r.seen != hint_of(leaf))
		__atomic_store_n(r.slot, hint_of(leaf), __ATOMIC_RELAXED);
}

/* Bits to hold @x - 1: the smallest b with 2^b >= @x (0 for 0 and 1). */
static unsigned int ceil_log2(unsigned long x)
{
	return x <= 1 ? 0 : (unsigned int)(8 * sizeof(x)) - (unsigned int)__builtin_clzl(x - 1);
}

/* Point the slices each leaf under @n reaches into at it, lowest leaf first. */
static void hints_fill(struct iova_btree_hints *h, struct iova_btree_node *n, unsigned int level)
{
	unsigned long s, e;
	unsigned int i;

	if (level > 1) {
		for (i = 0; i != n->n; i++)
			hints_fill(h, n->ptr[i], level - 1);
		return;
	}
	s = n->lo[0] >> h->shift;
	e = n->hi[n->n - 1] >> h->shift;
	if (e - s > h->mask)
		e = s + h->mask;	/* one leaf across every slice */
	for (;; s++) {
		h->leaf[s & h->mask] = hint_of(n);
		if (s == e)
			break;
	}
}

static void hints_drop(struct iova_btree *t)
{
	free(t->hints);
	t->hints = NULL;
	t->hints_next = 0;
}

/* A table sized to the tree as it is now, in place of the one it had. */
static __attribute__((noinline)) void hints_rebuild(struct iova_btree *t)
{
	unsigned int bits = ceil_log2(t->count / HINT_RANGES_EACH);
	unsigned long span = t->root->hi[t->root->n - 1] - t->root->lo[0];
	struct iova_btree_hints *h;

	t->hints_next = 2 * t->count;
	h = calloc(1, sizeof(*h) + (sizeof(h->leaf[0]) << bits));
	if (!h)
		return;		/* keep the old table, if any, until the next try */
	h->mask = (1ul << bits) - 1;
	h->shift = ceil_log2((span >> bits) + 1);
	h->built_at = t->count;
	h->high = (uintptr_t)t->root & ~(((uintptr_t)1 << (32 + HINT_SHIFT)) - 1);
	hints_fill(h, t->root, t->height);
	free(t->hints);
	t->hints = h;
}

/* After an insertion: a deep tree grown to twice its table's count gets a new one. */
static inline void hints_grow(struct iova_btree *t)
{
	if (t->height >= HINT_MIN_HEIGHT && t->count >= t->hints_next)
		hints_rebuild(t);
}

/* Whether the tree keeps a table it should not: too shallow, or far too few ranges. */
static inline bool hints_unfit(const struct iova_btree *t)
{
	return t->hints && (t->height < HINT_MIN_HEIGHT || 4 * t->count < t->hints->built_at);
}

/* After a removal, which never allocates: a table too big for the tree goes. */
static inline void hints_shrink(struct iova_btree *t)
{
	if (hints_unfit(t))
		hints_drop(t);
}

/*
 * How many of the first @n (<= FAN) ascending values of @v, a node's
 * array of FAN, are below @key: the index of the first at or above it.
 * Five fixed steps of 16, 8, 4, 2 and 1 with no branch to mispredict; a step
 * may read a slot past @n (always inside the array) but never counts it.
 */
static inline unsigned int rank_below(const unsigned long v[FAN], unsigned int n, unsigned long key)
{
	unsigned int i = 0;

	i += 16 * ((i + 16 <= n) & (v[i + 15] < key));
	i += 8 * ((i + 8 <= n) & (v[i + 7] < key));
	i += 4 * ((i + 4 <= n) & (v[i + 3] < key));
	i += 2 * ((i + 2 <= n) & (v[i + 1] < key));
	i += (i + 1 <= n) & (v[i] < key);
	return i;
}
_Static_assert(FAN == 31, "rank_below() takes steps of 16, 8, 4, 2 and 1");

/* Spares kept after removals free nodes, so churn does not reach malloc. */
#define KEEP_SPARES 8

static inline unsigned long max_ul(unsigned long a, unsigned long b)
{
	return a > b ? a : b;
}

/* Uncovered values between a range ending at @a_last and the next, starting at @b_start. */
static inline unsigned long hole(unsigned long a_last, unsigned long b_start)
{
	return b_start - a_last - 1;
}

/* The widest hole between two ranges inside @n (one level above the leaves when !@leaf). */
static unsigned long node_gap(const struct iova_btree_node *n, bool leaf)
{
	unsigned long g = 0;
	unsigned int i;

	for (i = 1; i < n->n; i++)
		g = max_ul(g, hole(n->hi[i - 1], n->lo[i]));
	if (!leaf)
		for (i = 0; i != n->n; i++)
			g = max_ul(g, n->gap[i]);
	return g;
}

/*
 * Entry @i of inner node @p describes its child again; @child_leaf: what
 * the child is.  False when the entry was already right, and so is every
 * entry above it: walks back up stop there.
 */
static bool refresh_entry(struct iova_btree_node *p, unsigned int i, bool child_leaf)
{
	const struct iova_btree_node *c = p->ptr[i];
	unsigned long lo = c->lo[0], hi = c->hi[c->n - 1], gap = node_gap(c, child_leaf);

	if (p->lo[i] == lo && p->hi[i] == hi && p->gap[i] == gap)
		return false;
	p->lo[i] = lo;
	p->hi[i] = hi;
	p->gap[i] = gap;
	return true;
}

size_t iova_btree_node_size(void)
{
	return sizeof(struct iova_btree_node);
}

static struct iova_btree_node *node_new(struct iova_btree *t)
{
	struct iova_btree_node *n;

	if (t->nodes)
		return slab_zalloc(t->nodes);
	n = aligned_alloc(NODE_ALIGN, sizeof(*n));
	if (n)
		memset(n, 0, sizeof(*n));
	return n;
}

static void node_release(struct iova_btree *t, struct iova_btree_node *n)
{
	if (t->nodes)
		slab_free(t->nodes, n);
	else
		free(n);
}

/* From the spares first (iova_btree_prepare() fills them), else a new one. */
static struct iova_btree_node *node_alloc(struct iova_btree *t)
{
	struct iova_btree_node *n = t->spare;

	if (!n)
		return node_new(t);
	t->spare = n->ptr[0];
	t->nspare--;
	n->n = 0;
	n->ptr[0] = NULL;
	return n;
}

static void node_free(struct iova_btree *t, struct iova_btree_node *n)
{
	if (t->nspare >= KEEP_SPARES) {
		node_release(t, n);
		return;
	}
	n->ptr[0] = t->spare;
	t->spare = n;
	t->nspare++;
}

int iova_btree_prepare(struct iova_btree *t, size_t inserts)
{
	/* Each insertion splits at most one node per level, and may add a level. */
	size_t want = inserts * (t->height + 2);

	while (t->nspare < want) {
		struct iova_btree_node *n = node_new(t);

		if (!n)
			return -ENOMEM;
		n->ptr[0] = t->spare;
		t->spare = n;
		t->nspare++;
	}
	return 0;
}

/* Open a slot at @i of @n (not full). */
static void make_room(struct iova_btree_node *n, unsigned int i, bool leaf)
{
	unsigned int k = n->n - i;

	n->n++;
	if (!k)
		return;	/* at the end: nothing moves */
	memmove(&n->lo[i + 1], &n->lo[i], k * sizeof(n->lo[0]));
	memmove(&n->hi[i + 1], &n->hi[i], k * sizeof(n->hi[0]));
	memmove(&n->ptr[i + 1], &n->ptr[i], k * sizeof(n->ptr[0]));
	if (!leaf)
		memmove(&n->gap[i + 1], &n->gap[i], k * sizeof(n->gap[0]));
}

static void close_slot(struct iova_btree_node *n, unsigned int i, bool leaf)
{
	unsigned int k = n->n - i - 1;

	n->n--;
	if (!k)
		return;
	memmove(&n->lo[i], &n->lo[i + 1], k * sizeof(n->lo[0]));
	memmove(&n->hi[i], &n->hi[i + 1], k * sizeof(n->hi[0]));
	memmove(&n->ptr[i], &n->ptr[i + 1], k * sizeof(n->ptr[0]));
	if (!leaf)
		memmove(&n->gap[i], &n->gap[i + 1], k * sizeof(n->gap[0]));
}

/* Move the @k entries of @from starting at @at to the end of @to. */
static void move_entries(struct iova_btree_node *to, struct iova_btree_node *from,
			 unsigned int at, unsigned int k, bool leaf)
{
	memcpy(&to->lo[to->n], &from->lo[at], k * sizeof(to->lo[0]));
	memcpy(&to->hi[to->n], &from->hi[at], k * sizeof(to->hi[0]));
	memcpy(&to->ptr[to->n], &from->ptr[at], k * sizeof(to->ptr[0]));
	if (!leaf)
		memcpy(&to->gap[to->n], &from->gap[at], k * sizeof(to->gap[0]));
	to->n += k;
}

/* Split the full child @i of @p (which has room) in two halves. */
static int split_child(struct iova_btree *t, struct iova_btree_node *p, unsigned int i,
		       bool child_leaf)
{
	struct iova_btree_node *c = p->ptr[i], *s = node_alloc(t);

	if (!s)
		return -1;
	t->gen++;
	move_entries(s, c, FAN / 2, c->n - FAN / 2, child_leaf);
	c->n = FAN / 2;
	make_room(p, i + 1, false);
	p->ptr[i + 1] = s;
	refresh_entry(p, i, child_leaf);
	refresh_entry(p, i + 1, child_leaf);
	return 0;
}

/*
 * Which child of inner node @n a range starting at @start is, or belongs,
 * under: the first reaching @start (the last child if none does).  It is
 * read from @hi, the array lookups read too, so a removal or insertion
 * right after a lookup finds its lines in the cache.
 */
static inline unsigned int child_for(const struct iova_btree_node *n, unsigned long start)
{
	/* The last child takes whatever lies beyond every other. */
	return rank_below(n->hi, n->n - 1, start);
}

static void leaf_insert(struct iova_btree *t, struct iova_btree_node **path, unsigned int *slot,
			unsigned int depth, struct iova_btree_node *n, unsigned int i,
			unsigned long start, unsigned long last, void *value);

int iova_btree_insert(struct iova_btree *t, unsigned long start, unsigned long last,
		      void *value)
{
	struct hint_ref hint = hint_fetch(t, start);
	struct iova_btree_node *path[MAX_DEPTH], *n;
	unsigned int slot[MAX_DEPTH], level, depth = 0, i;

	if (!t->root) {
		t->root = node_alloc(t);
		if (!t->root)
			return -ENOMEM;
		t->height = 1;
	}
	if (t->root->n == FAN) {
		/* A full root: a new one above it, then split as any full child. */
		struct iova_btree_node *r = node_alloc(t);

		if (!r)
			return -ENOMEM;
		r->n = 1;
		r->ptr[0] = t->root;
		refresh_entry(r, 0, t->height == 1);
		if (split_child(t, r, 0, t->height == 1)) {
			node_free(t, r);
			return -ENOMEM;
		}
		t->root = r;
		t->height++;
	}

	n = t->root;
	for (level = t->height; level > 1; level--) {
		bool child_leaf = level == 2;

		i = child_for(n, start);
		if (((struct iova_btree_node *)n->ptr[i])->n == FAN) {
			/* On failure the splits made so far hold the same ranges. */
			if (split_child(t, n, i, child_leaf))
				return -ENOMEM;
			if (start > n->hi[i])
				i++;
		}
		path[depth] = n;
		slot[depth++] = i;
		n = n->ptr[i];
		node_prefetch(n, child_leaf);
	}

	hint_learn(hint, n);
	leaf_insert(t, path, slot, depth, n, rank_below(n->lo, n->n, start), start, last, value);
	return 0;
}

/*
 * Put [start, last] -> @value at @i of leaf @n, which has room, reached
 * through @path and @slot (@depth inner nodes, the root first), and bring
 * the summaries on the path up to date.
 */
static void leaf_insert(struct iova_btree *t, struct iova_btree_node **path, unsigned int *slot,
			unsigned int depth, struct iova_btree_node *n, unsigned int i,
			unsigned long start, unsigned long last, void *value)
{
	/*
	 * Between two ranges, the new one narrows the hole it lands in and
	 * moves no bound; if the leaf has a wider hole than that one, no
	 * summary on the path changes and none needs computing.
	 */
	bool quiet = depth && i && i < n->n &&
		     hole(n->hi[i - 1], n->lo[i]) < path[depth - 1]->gap[slot[depth - 1]];

	make_room(n, i, true);
	n->lo[i] = start;
	n->hi[i] = last;
	n->ptr[i] = value;
	t->count++;
	t->gen++;
	/* path[d] sits at level height - d: its child is a leaf at level 2. */
	while (!quiet && depth-- &&
	       refresh_entry(path[depth], slot[depth], t->height - depth == 2))
		;
	hints_grow(t);
}

int iova_btree_insert_at(struct iova_btree *t, struct iova_btree_spot *spot,
			 unsigned long start, unsigned long last, void *value)
{
	/* Still where the lookup left it, and room there: no descent, no split. */
	if (spot->leaf && spot->gen == t->gen && spot->leaf->n < FAN) {
		leaf_insert(t, spot->path, spot->slot, spot->depth, spot->leaf, spot->pos, start,
			    last, value);
		return 0;
	}
	return iova_btree_insert(t, start, last, value);
}

static void *remove_at(struct iova_btree *t, struct iova_btree_node **path, unsigned int *slot,
		       unsigned int depth, struct iova_btree_node *n, unsigned int i);

void *iova_btree_remove(struct iova_btree *t, unsigned long start)
{
	struct iova_btree_node *path[MAX_DEPTH], *n = t->root;
	unsigned int slot[MAX_DEPTH], depth = 0, level, i;
	struct hint_ref hint;

	if (!n)
		return NULL;
	hint = hint_fetch(t, start);
	for (level = t->height; level > 1; level--) {
		i = child_for(n, start);
		path[depth] = n;
		slot[depth++] = i;
		n = n->ptr[i];
		node_prefetch(n, level == 2);
	}
	hint_learn(hint, n);
	i = rank_below(n->lo, n->n, start);
	if (i == n->n || n->lo[i] != start)
		return NULL;
	return remove_at(t, path, slot, depth, n, i);
}

/*
 * Remove entry @i of leaf @n, reached through @path and @slot (@depth
 * inner nodes, the root first), and mend the tree above it.  Its value.
 */
static void *remove_at(struct iova_btree *t, struct iova_btree_node **path, unsigned int *slot,
		       unsigned int depth, struct iova_btree_node *n, unsigned int i)
{
	unsigned long merged;
	unsigned int level;
	void *value;

	value = n->ptr[i];
	merged = i && i + 1 < n->n ? hole(n->hi[i - 1], n->lo[i + 1]) : 0;
	close_slot(n, i, true);
	t->count--;
	t->gen++;
	if (merged && n->n >= FAN / 4) {
		/*
		 * A range between two others: its holes became one, inside the
		 * leaf and so inside every subtree above it, and no bound moved.
		 * Each summary on the way up widens to it, or already was wider.
		 */
		while (depth-- && path[depth]->gap[slot[depth]] < merged)
			path[depth]->gap[slot[depth]] = merged;
		hints_shrink(t);
		return value;
	}

	/* Back up: unlink empties, merge the sparse, refresh the rest. */
	for (level = 1; depth--; level++) {
		struct iova_btree_node *p = path[depth], *c = p->ptr[slot[depth]];
		bool child_leaf = level == 1;

		i = slot[depth];
		if (!c->n) {
			close_slot(p, i, false);
			node_free(t, c);
			continue;
		}
		if (!refresh_entry(p, i, child_leaf) && c->n >= FAN / 4)
			break;	/* nothing changed here, so nothing above either */
		if (c->n < FAN / 4 && p->n > 1) {
			/* Into the left neighbour, or the right one into it. */
			unsigned int l = i ? i - 1 : i, r = l + 1;
			struct iova_btree_node *a = p->ptr[l], *b = p->ptr[r];

			if (a->n + b->n <= FAN) {
				move_entries(a, b, 0, b->n, child_leaf);
				close_slot(p, r, false);
				node_free(t, b);
				refresh_entry(p, l, child_leaf);
			}
		}
	}
	n = t->root;
	if (t->height == 1 && !n->n) {
		node_free(t, n);
		t->root = NULL;
		t->height = 0;
	}
	while (t->height > 1 && t->root->n == 1) {
		n = t->root;
		t->root = n->ptr[0];
		t->height--;
		node_free(t, n);
	}
	hints_shrink(t);
	return value;
}

/*
 * The descent of every lookup: to the leaf that would hold the lowest
 * range meeting [first, last], *@at its entry there (the first reaching
 * @first), which the caller checks.  Lasts rise with starts, so the first
 * child reaching @first holds the answer or nothing does; NULL when an
 * inner node already shows nothing meets it.  @path and @slot (when not
 * NULL) get the inner nodes passed, *@depth how many.
 */
static inline __attribute__((always_inline)) struct iova_btree_node *
descend(const struct iova_btree *t, unsigned long first, unsigned long last,
	struct iova_btree_node **path, unsigned int *slot, unsigned int *depth, unsigned int *at)
{
	struct iova_btree_node *n = t->root;
	unsigned int level, i;
	struct hint_ref hint;

	*depth = 0;
	if (!n)
		return NULL;
	hint = hint_fetch(t, first);
	for (level = t->height;; level--) {
		i = rank_below(n->hi, n->n, first);
		if (level == 1)
			break;
		if (i == n->n || n->lo[i] > last)
			return NULL;
		if (path) {
			path[*depth] = n;
			slot[*depth] = i;
		}
		++*depth;
		n = n->ptr[i];
		node_prefetch(n, level == 2);
	}
	hint_learn(hint, n);
	*at = i;
	return n;
}

static inline bool meets(const struct iova_btree_node *leaf, unsigned int i, unsigned long last)
{
	return i != leaf->n && leaf->lo[i] <= last;
}

void *iova_btree_first(const struct iova_btree *t, unsigned long first, unsigned long last,
		       unsigned long *start, unsigned long *end)
{
	unsigned int depth, i;
	struct iova_btree_node *n = descend(t, first, last, NULL, NULL, &depth, &i);

	if (!n || !meets(n, i, last))
		return NULL;
	if (start)
		*start = n->lo[i];
	if (end)
		*end = n->hi[i];
	return n->ptr[i];
}

void *iova_btree_first_spot(const struct iova_btree *t, unsigned long first, unsigned long last,
			    struct iova_btree_spot *spot)
{
	unsigned int depth, i;
	struct iova_btree_node *n = descend(t, first, last, spot->path, spot->slot, &depth, &i);

	spot->leaf = NULL;
	/* Free already above the leaves: the insertion's own descent will find its place. */
	if (!n)
		return NULL;
	if (meets(n, i, last))
		return n->ptr[i];
	/* Nothing meets it: every range before @i ends below @first, every other starts above. */
	spot->leaf = n;
	spot->pos = i;
	spot->depth = depth;
	spot->gen = t->gen;
	return NULL;
}

void *iova_btree_take_first(struct iova_btree *t, unsigned long first, unsigned long last,
			    bool (*take)(void *value, unsigned long start, unsigned long last,
					 void *arg),
			    void *arg, bool *taken)
{
	struct iova_btree_node *path[MAX_DEPTH], *n;
	unsigned int slot[MAX_DEPTH], depth, i;

	*taken = false;
	n = descend(t, first, last, path, slot, &depth, &i);
	if (!n || !meets(n, i, last))
		return NULL;
	if (!take(n->ptr[i], n->lo[i], n->hi[i], arg))
		return n->ptr[i];
	*taken = true;
	return remove_at(t, path, slot, depth, n, i);
}

struct gap_walk {
	unsigned long cur, hi, minlen;
	bool finished;
	int rc;
	int (*fn)(void *arg, unsigned long first, unsigned long last);
	void *arg;
};

static void walk_advance(struct gap_walk *w, unsigned long last)
{
	if (last < w->cur)
		return;
	if (last >= w->hi)
		w->finished = true;
	else
		w->cur = last + 1;
}

static void walk_offer(struct gap_walk *w, unsigned long up_to)
{
	unsigned long end = up_to < w->hi ? up_to : w->hi;

	if (end - w->cur + 1 >= w->minlen || (w->cur == 0 && end == ~0UL))
		w->rc = w->fn(w->arg, w->cur, end);
}

static void walk_node(const struct iova_btree_node *n, unsigned int level, struct gap_walk *w)
{
	unsigned int i;

	for (i = 0; i != n->n && !w->finished && !w->rc; i++) {
		if (n->hi[i] < w->cur)
			continue;	/* wholly before the walk */
		if (level > 1) {
			if (n->lo[i] > w->hi)
				return;	/* the caller offers the tail */
			if (n->gap[i] < w->minlen &&
			    (n->lo[i] <= w->cur || n->lo[i] - w->cur < w->minlen)) {
				/* No hole inside, nor before it, is wide enough. */
				walk_advance(w, n->hi[i]);
				continue;
			}
			walk_node(n->ptr[i], level - 1, w);
			continue;
		}
		if (n->lo[i] > w->cur) {
			walk_offer(w, n->lo[i] - 1);
			if (w->rc)
				return;
			if (n->lo[i] > w->hi) {
				w->finished = true;
				return;
			}
		}
		walk_advance(w, n->hi[i]);
	}
}

int iova_btree_each_gap(const struct iova_btree *t, unsigned long lo, unsigned long hi,
			unsigned long minlen,
			int (*fn)(void *arg, unsigned long first, unsigned long last), void *arg)
{
	struct gap_walk w = {
		.cur = lo, .hi = hi, .minlen = minlen ? minlen : 1, .fn = fn, .arg = arg,
	};

	if (lo > hi)
		return 0;
	if (t->root)
		walk_node(t->root, t->height, &w);
	if (!w.finished && !w.rc)
		walk_offer(&w, hi);
	return w.rc;
}

static void destroy_node(struct iova_btree *t, struct iova_btree_node *n, unsigned int level)
{
	unsigned int i;

	for (i = 0; level > 1 && i != n->n; i++)
		destroy_node(t, n->ptr[i], level - 1);
	node_release(t, n);
}

void iova_btree_destroy(struct iova_btree *t)
{
	struct slab_cache *nodes = t->nodes;

	if (t->root)
		destroy_node(t, t->root, t->height);
	while (t->spare) {
		struct iova_btree_node *n = t->spare;

		t->spare = n->ptr[0];
		node_release(t, n);
	}
	free(t->hints);
	memset(t, 0, sizeof(*t));
	t->nodes = nodes;
}

void iova_btree_set_last(struct iova_btree *t, unsigned long start, unsigned long last)
{
	struct iova_btree_node *path[MAX_DEPTH], *n = t->root;
	unsigned int slot[MAX_DEPTH], depth = 0, level, i;

	if (!n)
		return;
	for (level = t->height; level > 1; level--) {
		i = child_for(n, start);
		path[depth] = n;
		slot[depth++] = i;
		n = n->ptr[i];
	}
	i = rank_below(n->lo, n->n, start);
	if (i == n->n || n->lo[i] != start)
		return;
	n->hi[i] = last;
	t->gen++;
	while (depth-- && refresh_entry(path[depth], slot[depth], t->height - depth == 2))
		;
}

/* Ranges below @n, or -1; *@prev_last tracks the last range seen, for order. */
static long verify_node(const struct iova_btree_node *n, unsigned int level, bool *any,
			unsigned long *prev_last)
{
	long total = 0;
	unsigned int i;

	if (!n->n || n->n > FAN)
		return -1;
	for (i = 0; i != n->n; i++) {
		if (n->lo[i] > n->hi[i])
			return -1;
		if (level == 1) {
			if (*any && n->lo[i] <= *prev_last)
				return -1;
			*any = true;
			*prev_last = n->hi[i];
			total++;
		} else {
			const struct iova_btree_node *c = n->ptr[i];
			long k;

			if (c->lo[0] != n->lo[i] || c->hi[c->n - 1] != n->hi[i] ||
			    node_gap(c, level == 2) != n->gap[i])
				return -1;
			k = verify_node(c, level - 1, any, prev_last);
			if (k < 0)
				return -1;
			total += k;
		}
	}
	return total;
}

long iova_btree_verify(const struct iova_btree *t)
{
	unsigned long prev = 0;
	bool any = false;
	long k;

	if (!t->root)
		return t->height || t->count || t->hints ? -1 : 0;
	/* A table only on a deep tree, and dropped once far too big for it. */
	if (hints_unfit(t))
		return -1;
	k = verify_node(t->root, t->height, &any, &prev);
	return k == (long)t->count ? k : -1;
}
