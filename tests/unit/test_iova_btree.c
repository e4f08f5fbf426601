// SPDX-License-Identifier: MIT
/*
 * The IOVA B+tree (src/core/iova_btree.c) against a flat reference model:
 * one entry per value of a small universe saying which range covers it.
 * Random insertions (some after iova_btree_prepare()), removals (of
 * present and absent starts, and of the lowest range meeting a span when
 * iova_btree_take_first() is told to), insertions where a lookup found
 * room (iova_btree_first_spot(), iova_btree_insert_at(), with the tree
 * changed in between now and then), shrinking in place, lookups, walks from range
 * to range and hole walks, at both ends of the space and with enough
 * ranges for three levels (four in the sequential test); after every step
 * the tree's order, summaries and count are re-derived (iova_btree_verify).
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/iova_btree.h"
#include "core/slab.h"

#define UNIVERSE 4096u
#define MAXR 1200

static unsigned long long rng_state;

static unsigned int rnd(unsigned int below)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned int)((rng_state >> 33) % below);
}

struct model {
	struct iova_btree t;
	int owner[UNIVERSE];		/* first value of the covering range, or -1 */
	unsigned int len[UNIVERSE];
	char tag[UNIVERSE];		/* the values handed to the tree point here */
	unsigned long base;
	unsigned int count;
	unsigned int tallest;		/* the tree's greatest height so far */
};

static unsigned long val(const struct model *m, unsigned int v)
{
	return m->base + v;
}

static void check_first(struct model *m, unsigned int a, unsigned int b)
{
	unsigned long s, e, cur = val(m, a);
	unsigned int v = a;

	/* Range after range through [a, b], as io_pagetable.c steps. */
	for (;;) {
		void *got = iova_btree_first(&m->t, cur, val(m, b), &s, &e);
		void *want = NULL;

		while (v <= b && m->owner[v] < 0)
			v++;
		if (v <= b)
			want = &m->tag[m->owner[v]];
		assert_ptr_equal(got, want);
		if (!got)
			return;
		assert_int_equal(s, val(m, (unsigned int)m->owner[v]));
		assert_int_equal(e, s + m->len[m->owner[v]] - 1);
		if (e >= val(m, b))
			return;
		cur = e + 1;
		v = (unsigned int)(e - m->base) + 1;
	}
}

struct gaps {
	unsigned long first[UNIVERSE], last[UNIVERSE];
	unsigned int n, stop_after;
};

static int note_gap(void *arg, unsigned long first, unsigned long last)
{
	struct gaps *g = arg;

	g->first[g->n] = first;
	g->last[g->n] = last;
	return ++g->n == g->stop_after ? 9 : 0;
}

static void check_gaps(struct model *m, unsigned int lo, unsigned int hi, unsigned int minlen,
		       unsigned int stop_after)
{
	static struct gaps got, want;
	unsigned int v = lo, i;
	int rc;

	memset(&got, 0, sizeof(got));
	memset(&want, 0, sizeof(want));
	got.stop_after = stop_after;
	while (v <= hi) {
		unsigned int s;

		if (m->owner[v] >= 0) {
			v++;
			continue;
		}
		for (s = v; v <= hi && m->owner[v] < 0; v++)
			;
		if (v - s >= minlen && (!stop_after || want.n < stop_after)) {
			want.first[want.n] = val(m, s);
			want.last[want.n++] = val(m, v - 1);
		}
	}
	rc = iova_btree_each_gap(&m->t, val(m, lo), val(m, hi), minlen, note_gap, &got);
	assert_int_equal(rc, stop_after && want.n == stop_after ? 9 : 0);
	assert_int_equal(got.n, want.n);
	for (i = 0; i < want.n; i++) {
		assert_int_equal(got.first[i], want.first[i]);
		assert_int_equal(got.last[i], want.last[i]);
	}
}

struct take_call {
	bool take;
	void *asked;	/* the value @take was asked about */
	unsigned long start, last;	/* and the bounds it was given */
};

static bool take_says(void *value, unsigned long start, unsigned long last, void *arg)
{
	struct take_call *call = arg;

	call->asked = value;
	call->start = start;
	call->last = last;
	return call->take;
}

/* Remove the first range the model has at or after a random value, other than [a, a + n). */
static void remove_some_other(struct model *m, unsigned int a, unsigned int n)
{
	unsigned int v;

	for (v = rnd(UNIVERSE); v < UNIVERSE; v++) {
		if (m->owner[v] != (int)v || (v >= a && v < a + n))
			continue;
		assert_ptr_equal(iova_btree_remove(&m->t, val(m, v)), &m->tag[v]);
		for (unsigned int w = v; w < v + m->len[v]; w++)
			m->owner[w] = -1;
		m->count--;
		return;
	}
}

/* @cache: nodes come from an object cache (as the core's do), not malloc. */
static void run_with(unsigned long base, unsigned long long seed, unsigned int maxlen,
		     struct slab_cache *cache)
{
	struct model *m = calloc(1, sizeof(*m));
	unsigned int step, v;

	assert_non_null(m);
	m->t.nodes = cache;
	rng_state = seed;
	m->base = base;
	memset(m->owner, -1, sizeof(m->owner));
	for (step = 0; step < 30000; step++) {
		unsigned int op = rnd(12), a = rnd(UNIVERSE), b, n;
		bool is_free = true;

		if (m->t.height > m->tallest)
			m->tallest = m->t.height;

		if (op < 5) {
			n = 1 + rnd(maxlen);
			if (a + n > UNIVERSE || m->count == MAXR)
				continue;
			for (v = a; v < a + n; v++)
				is_free &= m->owner[v] < 0;
			if (!is_free)
				continue;
			if (op == 0)	/* prepared: the insertion cannot fail */
				assert_int_equal(iova_btree_prepare(&m->t, 1 + rnd(3)), 0);
			if (op == 1 || op == 2) {
				/* Looked up first, then put where the lookup found room. */
				struct iova_btree_spot spot;

				assert_null(iova_btree_first_spot(&m->t, val(m, a), val(m, a + n - 1),
								  &spot));
				if (op == 2)	/* the tree changes in between: the spot is stale */
					remove_some_other(m, a, n);
				assert_int_equal(iova_btree_insert_at(&m->t, &spot, val(m, a),
								      val(m, a + n - 1), &m->tag[a]),
						 0);
			} else {
				assert_int_equal(iova_btree_insert(&m->t, val(m, a),
								   val(m, a + n - 1), &m->tag[a]),
						 0);
			}
			for (v = a; v < a + n; v++)
				m->owner[v] = (int)a;
			m->len[a] = n;
			m->count++;
		} else if (op == 8) {
			/* The lowest range meeting [a, b], taken out or left, as @take says. */
			struct take_call call = { .take = rnd(2) };
			int want = -1;
			bool taken;
			void *got;

			b = a + rnd(UNIVERSE - a);
			for (v = a; v <= b && want < 0; v++)
				want = m->owner[v];
			got = iova_btree_take_first(&m->t, val(m, a), val(m, b), take_says, &call,
						    &taken);
			assert_ptr_equal(got, want >= 0 ? &m->tag[want] : NULL);
			assert_ptr_equal(call.asked, got);
			assert_true(taken == (want >= 0 && call.take));
			if (want >= 0) {
				/* @take is told the range's own bounds, not the query's. */
				assert_int_equal(call.start, val(m, (unsigned int)want));
				assert_int_equal(call.last,
						 val(m, (unsigned int)want + m->len[want] - 1));
			}
			if (!taken)
				continue;
			for (v = (unsigned int)want; v < (unsigned int)want + m->len[want]; v++)
				m->owner[v] = -1;
			m->count--;
		} else if (op < 9) {
			/* Mostly a start that is there; sometimes one that is not. */
			bool present;
			void *got;

			if (op < 7 && m->owner[a] >= 0)
				a = (unsigned int)m->owner[a];
			present = m->owner[a] == (int)a;
			got = iova_btree_remove(&m->t, val(m, a));
			assert_ptr_equal(got, present ? &m->tag[a] : NULL);
			if (!present)
				continue;
			for (v = a; v < a + m->len[a]; v++)
				m->owner[v] = -1;
			m->count--;
		} else if (op < 10) {
			b = a + rnd(UNIVERSE - a);
			check_first(m, a, b);
		} else if (op < 11) {
			/* Shrink a range in place, as an area split does. */
			int first = m->owner[a];

			if (first < 0 || m->len[first] < 2)
				continue;
			n = 1 + rnd(m->len[first] - 1);
			iova_btree_set_last(&m->t, val(m, (unsigned int)first),
					    val(m, (unsigned int)first + n - 1));
			for (v = (unsigned int)first + n; v < (unsigned int)first + m->len[first]; v++)
				m->owner[v] = -1;
			m->len[first] = n;
		} else {
			b = a + rnd(UNIVERSE - a);
			check_gaps(m, a, b, 1 + rnd(6), rnd(4));
		}
		assert_int_equal(iova_btree_verify(&m->t), (long)m->count);
	}
	check_first(m, 0, UNIVERSE - 1);
	/* Short ranges fill the universe enough for three levels. */
	if (maxlen <= 3)
		assert_true(m->tallest >= 3);
	/* Empty it completely: the tree must come back to nothing. */
	for (v = 0; v < UNIVERSE; v++)
		if (m->owner[v] == (int)v)
			assert_ptr_equal(iova_btree_remove(&m->t, val(m, v)), &m->tag[v]);
	assert_null(m->t.root);
	assert_int_equal(iova_btree_verify(&m->t), 0);
	iova_btree_destroy(&m->t);
	/* Every node, spares too, went back to the cache. */
	if (cache)
		assert_int_equal(slab_verify(cache), 0);
	free(m);
}

static void run(unsigned long base, unsigned long long seed, unsigned int maxlen)
{
	run_with(base, seed, maxlen, NULL);
}

static void test_nodes_from_cache(void **state)
{
	struct slab_cache cache;

	slab_init(&cache, iova_btree_node_size());
	run_with(0, 6, 3, &cache);
	run_with(ULONG_MAX - (UNIVERSE - 1), 7, 12, &cache);
	slab_destroy(&cache);
	assert_int_equal(cache.nchunks, 0);
}

static void test_low_short_ranges(void **state)
{
	run(0, 1, 3);
	run(0, 2, 1);
}

static void test_low_long_ranges(void **state)
{
	run(0, 3, 24);
}

static void test_top_of_space(void **state)
{
	run(ULONG_MAX - (UNIVERSE - 1), 4, 3);
	run(ULONG_MAX - (UNIVERSE - 1), 5, 12);
}

/* Sequential growth and teardown in both directions keep the tree valid and shallow. */
static void test_sequential(void **state)
{
	struct iova_btree t = { 0 };
	static char tags[1];
	unsigned long i, n = 200000, left;

	for (i = 0; i < n; i++)
		assert_int_equal(iova_btree_insert(&t, i * 2, i * 2, tags), 0);
	assert_int_equal(iova_btree_verify(&t), (long)n);
	assert_true(t.height >= 4 && t.height <= 6);
	for (i = n; i--;)
		if (i % 3)
			assert_ptr_equal(iova_btree_remove(&t, i * 2), tags);
	assert_int_equal(iova_btree_verify(&t), (long)((n + 2) / 3));
	/* Take or leave every third range left, through the merges of four levels. */
	left = (n + 2) / 3;
	for (i = 0; i < n; i += 3) {
		struct take_call call = { .take = i % 2 };
		bool taken;

		assert_ptr_equal(iova_btree_take_first(&t, i * 2, i * 2 + 1, take_says, &call, &taken),
				 tags);
		assert_true(taken == call.take);
		assert_int_equal(call.start, i * 2);
		assert_int_equal(call.last, i * 2);
		left -= taken;
	}
	assert_int_equal(iova_btree_verify(&t), (long)left);
	iova_btree_destroy(&t);
	assert_int_equal(iova_btree_verify(&t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_low_short_ranges),
		cmocka_unit_test(test_low_long_ranges),
		cmocka_unit_test(test_top_of_space),
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_nodes_from_cache),
	};

	return cmocka_run_group_tests_name("iova btree", tests, NULL, NULL);
}
