// SPDX-License-Identifier: MIT
/*
 * The span tree (src/core/span_tree.c) against flat reference models:
 * random insertions, removals and queries over a small universe of values,
 * placed once at 0 and once against ULONG_MAX so the edges of the space
 * are exercised.  After every step the tree's summaries and balance are
 * re-derived (span_tree_verify) and every query is answered again by brute
 * force over the model.
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/span_tree.h"

#define UNIVERSE 384u
#define NODES 96

static unsigned long long rng_state;

static unsigned int rnd(unsigned int below)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned int)((rng_state >> 33) % below);
}

/* ---------------------------------------------------- disjoint ranges */

struct disjoint_model {
	struct span_tree tree;
	struct span_node nodes[NODES];
	bool used[NODES];
	int owner[UNIVERSE];	/* node covering each value, or -1 */
	unsigned long base;
};

static unsigned long val(const struct disjoint_model *m, unsigned int v)
{
	return m->base + v;
}

static void check_first(struct disjoint_model *m, unsigned int a, unsigned int b)
{
	struct span_node *got = span_first(&m->tree, val(m, a), val(m, b));
	struct span_node *want = NULL;
	unsigned int v;

	for (v = a; v <= b && !want; v++)
		if (m->owner[v] >= 0)
			want = &m->nodes[m->owner[v]];
	assert_ptr_equal(got, want);

	/* Stepping on finds every node meeting [a, b], in order. */
	while (got) {
		struct span_node *next = span_next(&m->tree, got, val(m, a), val(m, b));

		want = NULL;
		for (v = (unsigned int)(got->last - m->base) + 1; v <= b && !want; v++)
			if (m->owner[v] >= 0)
				want = &m->nodes[m->owner[v]];
		assert_ptr_equal(next, want);
		got = next;
	}
}

static void check_covers(struct disjoint_model *m, unsigned int pos)
{
	unsigned long edge;
	bool more, covered = span_covers(&m->tree, val(m, pos), &edge, &more);
	unsigned int v;

	assert_int_equal(covered, m->owner[pos] >= 0);
	if (covered) {
		assert_int_equal(edge, m->nodes[m->owner[pos]].last);
		return;
	}
	for (v = pos + 1; v < UNIVERSE && m->owner[v] < 0; v++)
		;
	assert_int_equal(more, v < UNIVERSE);
	if (more)
		assert_int_equal(edge, val(m, v));
}

struct gap_list {
	unsigned long first[UNIVERSE], last[UNIVERSE];
	unsigned int n, stop_after;
};

static int note_gap(void *arg, unsigned long first, unsigned long last)
{
	struct gap_list *g = arg;

	g->first[g->n] = first;
	g->last[g->n] = last;
	return ++g->n == g->stop_after ? 7 : 0;
}

static void check_gaps(struct disjoint_model *m, unsigned int lo, unsigned int hi,
		       unsigned int minlen, unsigned int stop_after)
{
	struct gap_list got = { .stop_after = stop_after }, want = { 0 };
	unsigned int v = lo, i;
	int rc;

	/* The model's holes: maximal uncovered runs in [lo, hi], long enough. */
	while (v <= hi) {
		unsigned int s;

		if (m->owner[v] >= 0) {
			v++;
			continue;
		}
		s = v;
		while (v <= hi && m->owner[v] < 0)
			v++;
		if (v - s >= minlen && (!stop_after || want.n < stop_after)) {
			want.first[want.n] = val(m, s);
			want.last[want.n] = val(m, v - 1);
			want.n++;
		}
	}
	rc = span_each_gap(&m->tree, val(m, lo), val(m, hi), minlen, note_gap, &got);
	assert_int_equal(got.n, want.n);
	assert_int_equal(rc, stop_after && want.n == stop_after ? 7 : 0);
	for (i = 0; i < want.n; i++) {
		assert_int_equal(got.first[i], want.first[i]);
		assert_int_equal(got.last[i], want.last[i]);
	}
}

static void run_disjoint(unsigned long base, unsigned long long seed)
{
	struct disjoint_model *m = calloc(1, sizeof(*m));
	unsigned int step, count = 0;

	assert_non_null(m);
	rng_state = seed;
	m->base = base;
	memset(m->owner, -1, sizeof(m->owner));

	for (step = 0; step < 6000; step++) {
		unsigned int op = rnd(10), a = rnd(UNIVERSE), b = a + rnd(UNIVERSE - a), v, k;
		bool is_free = true;

		if (op < 4) {
			/* Insert a short range where the model says it is free. */
			b = a + rnd(a + 12 < UNIVERSE ? 12 : UNIVERSE - a);
			for (v = a; v <= b; v++)
				is_free &= m->owner[v] < 0;
			assert_int_equal(span_first(&m->tree, val(m, a), val(m, b)) == NULL, is_free);
			for (k = 0; k < NODES && m->used[k]; k++)
				;
			if (!is_free || k == NODES)
				continue;
			m->nodes[k].start = val(m, a);
			m->nodes[k].last = val(m, b);
			span_insert(&m->tree, &m->nodes[k]);
			m->used[k] = true;
			for (v = a; v <= b; v++)
				m->owner[v] = (int)k;
			count++;
		} else if (op < 7) {
			k = rnd(NODES);
			if (!m->used[k])
				continue;
			span_remove(&m->tree, &m->nodes[k]);
			m->used[k] = false;
			for (v = 0; v < UNIVERSE; v++)
				if (m->owner[v] == (int)k)
					m->owner[v] = -1;
			count--;
		} else if (op == 7) {
			check_first(m, a, b);
		} else if (op == 8) {
			check_covers(m, a);
		} else {
			check_gaps(m, a, b, 1 + rnd(8), rnd(4));
		}
		assert_int_equal(span_tree_verify(&m->tree), (long)count);
	}
	/* The whole space, edges included. */
	if (base == 0 || base + UNIVERSE - 1 == ULONG_MAX)
		check_first(m, 0, UNIVERSE - 1);
	free(m);
}

static void test_disjoint_low(void **state)
{
	run_disjoint(0, 1);
	run_disjoint(0, 2);
}

static void test_disjoint_top(void **state)
{
	run_disjoint(ULONG_MAX - (UNIVERSE - 1), 3);
	run_disjoint(ULONG_MAX - (UNIVERSE - 1), 4);
}

/* A gap walk over the whole space of an empty tree offers it whole. */
static void test_gap_whole_space(void **state)
{
	struct span_tree t = { NULL };
	struct span_node n = { .start = 0, .last = ULONG_MAX };
	struct gap_list g = { 0 };

	assert_int_equal(span_each_gap(&t, 0, ULONG_MAX, 4096, note_gap, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.first[0], 0);
	assert_int_equal(g.last[0], ULONG_MAX);

	g.n = 0;
	span_insert(&t, &n);
	assert_int_equal(span_each_gap(&t, 0, ULONG_MAX, 1, note_gap, &g), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(span_tree_verify(&t), 1);
}

/* ------------------------------------------------- overlapping ranges */

struct overlap_model {
	struct span_tree tree;
	struct span_node nodes[NODES];
	bool used[NODES];
};

/* The tree's order: start, then address. */
static bool model_before(const struct span_node *a, const struct span_node *b)
{
	return a->start != b->start ? a->start < b->start : (uintptr_t)a < (uintptr_t)b;
}

static struct span_node *model_first_after(struct overlap_model *m, const struct span_node *after,
					   unsigned long a, unsigned long b)
{
	struct span_node *best = NULL;
	unsigned int k;

	for (k = 0; k < NODES; k++) {
		struct span_node *n = &m->nodes[k];

		if (!m->used[k] || n->start > b || n->last < a)
			continue;
		if (after && !model_before(after, n))
			continue;
		if (!best || model_before(n, best))
			best = n;
	}
	return best;
}

static void test_overlapping(void **state)
{
	struct overlap_model *m = calloc(1, sizeof(*m));
	unsigned int step, count = 0;

	assert_non_null(m);
	rng_state = 99;
	for (step = 0; step < 8000; step++) {
		unsigned int op = rnd(8), a = rnd(UNIVERSE), b = a + rnd(UNIVERSE - a), k;

		if (op < 3) {
			for (k = 0; k < NODES && m->used[k]; k++)
				;
			if (k == NODES)
				continue;
			/* Shared starts are common on purpose. */
			m->nodes[k].start = rnd(4) ? a : a - a % 32;
			m->nodes[k].last = m->nodes[k].start + rnd(40);
			span_insert(&m->tree, &m->nodes[k]);
			m->used[k] = true;
			count++;
		} else if (op < 5) {
			k = rnd(NODES);
			if (!m->used[k])
				continue;
			span_remove(&m->tree, &m->nodes[k]);
			m->used[k] = false;
			count--;
		} else if (op < 7) {
			struct span_node *got = span_first(&m->tree, a, b);

			assert_ptr_equal(got, model_first_after(m, NULL, a, b));
			while (got) {
				struct span_node *next = span_next(&m->tree, got, a, b);

				assert_ptr_equal(next, model_first_after(m, got, a, b));
				got = next;
			}
		} else {
			/* span_covers: furthest end among starts <= pos, or the next start. */
			unsigned long edge, reach = 0, above = ULONG_MAX;
			bool more, any = false, covered = span_covers(&m->tree, a, &edge, &more);

			for (k = 0; k < NODES; k++) {
				if (!m->used[k])
					continue;
				if (m->nodes[k].start <= a) {
					if (!any || m->nodes[k].last > reach)
						reach = m->nodes[k].last;
					any = true;
				} else if (m->nodes[k].start < above) {
					above = m->nodes[k].start;
				}
			}
			assert_int_equal(covered, any && reach >= a);
			if (covered) {
				assert_int_equal(edge, reach);
			} else {
				assert_int_equal(more, above != ULONG_MAX);
				if (more)
					assert_int_equal(edge, above);
			}
		}
		assert_int_equal(span_tree_verify(&m->tree), (long)count);
	}
	free(m);
}

/* A long ascending and a long descending run stay balanced. */
static void test_sorted_runs_stay_shallow(void **state)
{
	enum { N = 1 << 14 };
	struct span_node *nodes = calloc(N, sizeof(*nodes));
	struct span_tree t = { NULL };
	unsigned int i;

	assert_non_null(nodes);
	for (i = 0; i < N; i++) {
		nodes[i].start = nodes[i].last = (unsigned long)(i < N / 2 ? i : 3 * N / 2 - i) * 2;
		span_insert(&t, &nodes[i]);
	}
	assert_int_equal(span_tree_verify(&t), N);
	/* AVL: height below 1.45 log2(N + 2). */
	assert_true(t.root->height <= 21);
	for (i = 0; i < N; i += 2)
		span_remove(&t, &nodes[i]);
	assert_int_equal(span_tree_verify(&t), N / 2);
	free(nodes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disjoint_low),
		cmocka_unit_test(test_disjoint_top),
		cmocka_unit_test(test_gap_whole_space),
		cmocka_unit_test(test_overlapping),
		cmocka_unit_test(test_sorted_runs_stay_shallow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
