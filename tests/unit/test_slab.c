// SPDX-License-Identifier: MIT
/*
 * The object caches (src/core/slab.c) against a reference model: an array
 * of the objects handed out, each filled with a pattern of its own.  Random
 * runs of allocations and frees, growing past several chunks and shrinking
 * back, for sizes that round to 16 and to 64 bytes.  After every step the
 * cache's lists and counts are re-derived (slab_verify); at every free the
 * object must still hold its pattern (no other object overlapped it), and
 * every allocation must be zeroed, aligned and inside no live object.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/slab.h"

static unsigned long long rng_state;

static unsigned int rnd(unsigned int below)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned int)((rng_state >> 33) % below);
}

struct live {
	uint8_t **obj;
	unsigned int *tag;
	unsigned int n, cap;
};

static void fill(uint8_t *p, size_t size, unsigned int tag)
{
	size_t i;

	for (i = 0; i != size; i++)
		p[i] = (uint8_t)(tag * 31 + i);
}

static void check_pattern(const uint8_t *p, size_t size, unsigned int tag)
{
	size_t i;

	for (i = 0; i != size; i++)
		assert_int_equal(p[i], (uint8_t)(tag * 31 + i));
}

static void one_alloc(struct slab_cache *c, struct live *m, size_t size, unsigned int tag)
{
	uint8_t *p = slab_zalloc(c);
	size_t i, align = c->size % 64 ? 16 : 64;

	assert_non_null(p);
	assert_int_equal((uintptr_t)p % align, 0);
	for (i = 0; i != size; i++)
		assert_int_equal(p[i], 0);
	fill(p, size, tag);
	assert_true(m->n < m->cap);
	m->obj[m->n] = p;
	m->tag[m->n++] = tag;
}

static void one_free(struct slab_cache *c, struct live *m, size_t size, unsigned int at)
{
	check_pattern(m->obj[at], size, m->tag[at]);
	slab_free(c, m->obj[at]);
	m->obj[at] = m->obj[--m->n];
	m->tag[at] = m->tag[m->n];
}

static void run_model(size_t size, unsigned int peak, unsigned long long seed)
{
	struct live m = { .cap = peak };
	struct slab_cache c;
	size_t before = slab_mapped_bytes();
	unsigned int step, tag = 1, i, most = 1;

	rng_state = seed;
	m.obj = calloc(peak, sizeof(*m.obj));
	m.tag = calloc(peak, sizeof(*m.tag));
	assert_non_null(m.obj);
	assert_non_null(m.tag);
	slab_init(&c, size);
	assert_true(c.size >= size);

	/* Up to the peak, down to a few, up again: chunks open and go back. */
	for (step = 0; step != 6 * peak; step++) {
		unsigned int phase = step / peak;
		bool grow = phase % 2 == 0 ? rnd(10) < 8 : rnd(10) < 2;

		if ((grow || !m.n) && m.n < peak)
			one_alloc(&c, &m, size, tag++);
		else if (m.n)
			one_free(&c, &m, size, rnd(m.n));
		if (step % 4099 == 0 || m.n < 3)
			assert_int_equal(slab_verify(&c), m.n);
		/* A chunk is added only when every chunk is full. */
		if (m.n > most)
			most = m.n;
		assert_true(c.nchunks <= (most + c.per_chunk - 1) / c.per_chunk);
	}
	assert_int_equal(slab_verify(&c), m.n);
	for (i = 0; i != m.n; i++)
		check_pattern(m.obj[i], size, m.tag[i]);
	/* A cache with objects out keeps its chunks. */
	if (m.n) {
		size_t chunks = c.nchunks;

		slab_destroy(&c);
		assert_int_equal(c.nchunks, chunks);
		assert_int_equal(slab_verify(&c), m.n);
	}
	while (m.n)
		one_free(&c, &m, size, rnd(m.n));
	assert_int_equal(slab_verify(&c), 0);
	assert_true(c.nchunks <= 1);
	slab_destroy(&c);
	assert_int_equal(c.nchunks, 0);
	assert_int_equal(slab_mapped_bytes(), before);
	free(m.obj);
	free(m.tag);
}

static void test_small_objects(void **state)
{
	(void)state;
	/* 48 bytes: 16-byte slots, ~43k to a chunk; 60k live is two chunks. */
	run_model(48, 60000, 1);
}

static void test_line_objects(void **state)
{
	(void)state;
	/* 512 bytes: 64-byte aligned, 4k to a chunk; many chunks open and close. */
	run_model(512, 20000, 2);
}

static void test_odd_sizes(void **state)
{
	(void)state;
	run_model(1, 5000, 3);
	run_model(104, 40000, 4);
	run_model(200, 20000, 5);
}

/*
 * Chunk headers move through line offsets by chunk address: objects over
 * more chunks than there are offsets, so every offset is in use, must
 * still never overlap a header (the patterns and slab_verify() tell).
 */
static void test_many_chunks(void **state)
{
	(void)state;
	/* 200 kB objects, ten to a chunk: 450 live spans at least 45 chunks. */
	run_model(200000, 450, 6);
}

/* Free in allocation order and in reverse: every chunk empties and goes back. */
static void test_orders(void **state)
{
	enum { N = 9000 };
	static void *objs[N];
	struct slab_cache c;
	unsigned int i;

	(void)state;
	slab_init(&c, 576);
	for (i = 0; i != N; i++)
		assert_non_null(objs[i] = slab_zalloc(&c));
	assert_true(c.nchunks >= 3);
	for (i = 0; i != N; i += 2)
		slab_free(&c, objs[i]);
	assert_int_equal(slab_verify(&c), N / 2);
	for (i = N - 1; i < N; i -= 2)
		slab_free(&c, objs[i]);
	assert_int_equal(slab_verify(&c), 0);
	assert_int_equal(c.nchunks, 1);
	slab_free(&c, NULL);
	slab_destroy(&c);
	assert_int_equal(c.nchunks, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_objects),
		cmocka_unit_test(test_line_objects),
		cmocka_unit_test(test_odd_sizes),
		cmocka_unit_test(test_orders),
		cmocka_unit_test(test_many_chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
