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
 * The deep test takes trees of four levels, with leaf hints, through the
 * same operations against a bitmap.
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

/*
 * Deep trees: tens of thousands of single-page ranges at IOVAs spread as
 * an IOAS's are, so that the tree is four levels deep and keeps leaf
 * hints, checked against a bitmap of the pages present.  The layout moves
 * half way (most ranges removed, the rest far away), so that most hints
 * point at nodes merged away, freed or reused; with malloc'ed nodes the
 * address sanitizer would see a hint read through.
 */
#define DEEP_PAGES (1u << 17)
#define DEEP_PG 4096ul

struct deep {
	struct iova_btree t;
	unsigned char *present;
	unsigned long base;
	unsigned int count;
	char tag;
};

static unsigned long deep_iova(const struct deep *d, unsigned int page)
{
	return d->base + (unsigned long)page * DEEP_PG;
}

/* The lowest present page in [a, b], or -1. */
static long deep_want(const struct deep *d, unsigned int a, unsigned int b)
{
	for (; a <= b; a++)
		if (d->present[a])
			return a;
	return -1;
}

static void deep_step(struct deep *d, unsigned int lo, unsigned int hi)
{
	unsigned int op = rnd(8), a = lo + rnd(hi - lo), b = a + rnd(48);
	unsigned long s, e;
	long want;
	void *got;

	if (b >= hi)
		b = hi - 1;
	want = deep_want(d, a, b);
	if (op < 3 && !d->present[a]) {
		struct iova_btree_spot spot;

		if (op) {
			assert_int_equal(iova_btree_insert(&d->t, deep_iova(d, a),
							   deep_iova(d, a) + DEEP_PG - 1, &d->tag), 0);
		} else {
			assert_null(iova_btree_first_spot(&d->t, deep_iova(d, a),
							  deep_iova(d, a) + DEEP_PG - 1, &spot));
			assert_int_equal(iova_btree_insert_at(&d->t, &spot, deep_iova(d, a),
							      deep_iova(d, a) + DEEP_PG - 1, &d->tag),
					 0);
		}
		d->present[a] = 1;
		d->count++;
	} else if (op < 5) {
		got = iova_btree_remove(&d->t, deep_iova(d, a));
		assert_ptr_equal(got, d->present[a] ? &d->tag : NULL);
		d->count -= d->present[a];
		d->present[a] = 0;
	} else if (op < 6) {
		struct take_call call = { .take = true };
		bool taken;

		got = iova_btree_take_first(&d->t, deep_iova(d, a), deep_iova(d, b) + DEEP_PG - 1,
					    take_says, &call, &taken);
		assert_ptr_equal(got, want >= 0 ? &d->tag : NULL);
		assert_true(taken == (want >= 0));
		if (taken) {
			assert_int_equal(call.start, deep_iova(d, (unsigned int)want));
			d->present[want] = 0;
			d->count--;
		}
	} else {
		/* From inside a page: the range meeting it, or the next one. */
		got = iova_btree_first(&d->t, deep_iova(d, a) + 100, deep_iova(d, b) + DEEP_PG - 1,
				       &s, &e);
		assert_ptr_equal(got, want >= 0 ? &d->tag : NULL);
		if (want >= 0) {
			assert_int_equal(s, deep_iova(d, (unsigned int)want));
			assert_int_equal(e, deep_iova(d, (unsigned int)want) + DEEP_PG - 1);
		}
	}
}

static void deep_run(struct slab_cache *cache, unsigned long base, unsigned long long seed)
{
	struct deep d = { .t.nodes = cache, .base = base };
	unsigned int i, step;

	rng_state = seed;
	d.present = calloc(DEEP_PAGES, 1);
	assert_non_null(d.present);
	/* Half of the lower half filled, at random: four levels, and hints. */
	while (d.count < DEEP_PAGES / 4) {
		i = rnd(DEEP_PAGES / 2);
		if (d.present[i])
			continue;
		assert_int_equal(iova_btree_insert(&d.t, deep_iova(&d, i),
						   deep_iova(&d, i) + DEEP_PG - 1, &d.tag), 0);
		d.present[i] = 1;
		d.count++;
	}
	assert_true(d.t.height >= 4);
	assert_non_null(d.t.hints);
	for (step = 0; step < 40000; step++) {
		deep_step(&d, 0, DEEP_PAGES / 2);
		if (!(step % 8192))
			assert_int_equal(iova_btree_verify(&d.t), (long)d.count);
	}
	/*
	 * Move: two in three of the lower half go, leaves merge and go while
	 * the table stays; then the upper half fills, new leaves where no
	 * hint points yet.
	 */
	for (i = 0; i != DEEP_PAGES / 2; i++)
		if (d.present[i] && i % 3) {
			assert_ptr_equal(iova_btree_remove(&d.t, deep_iova(&d, i)), &d.tag);
			d.present[i] = 0;
			d.count--;
		}
	assert_int_equal(iova_btree_verify(&d.t), (long)d.count);
	assert_non_null(d.t.hints);
	for (step = 0; step < 40000; step++)
		deep_step(&d, DEEP_PAGES / 2, DEEP_PAGES);
	assert_int_equal(iova_btree_verify(&d.t), (long)d.count);
	for (step = 0; step < 20000; step++)
		deep_step(&d, 0, DEEP_PAGES);
	assert_int_equal(iova_btree_verify(&d.t), (long)d.count);
	/* Empty: the table goes with the depth. */
	for (i = 0; i != DEEP_PAGES; i++)
		if (d.present[i])
			assert_ptr_equal(iova_btree_remove(&d.t, deep_iova(&d, i)), &d.tag);
	assert_null(d.t.root);
	assert_null(d.t.hints);
	assert_int_equal(iova_btree_verify(&d.t), 0);
	iova_btree_destroy(&d.t);
	free(d.present);
}

static void test_deep_hints(void **state)
{
	struct slab_cache cache;

	deep_run(NULL, 1ul << 32, 11);
	deep_run(NULL, ULONG_MAX - DEEP_PAGES * DEEP_PG + 1, 12);
	slab_init(&cache, iova_btree_node_size());
	deep_run(&cache, 1ul << 40, 13);
	slab_destroy(&cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_low_short_ranges),
		cmocka_unit_test(test_low_long_ranges),
		cmocka_unit_test(test_top_of_space),
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_nodes_from_cache),
		cmocka_unit_test(test_deep_hints),
	};

	return cmocka_run_group_tests_name("iova btree", tests, NULL, NULL);
}
