// SPDX-License-Identifier: MIT
/*
 * The free-ID map (src/core/id_map.c) against a flat array of booleans:
 * random frees, takes of the lowest free ID and growth, with sizes that
 * cross one, two and three summary levels; the object table's use of it
 * through IOAS allocation and destroy, checked against the lowest-free rule.
 */
#include <stdlib.h>

#include "helpers.h"
#include "core/id_map.h"

static unsigned long long seed = 5;

static unsigned int rnd(unsigned int below)
{
	seed = seed * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned int)((seed >> 33) % below);
}

static void check_lowest(const struct id_map *m, const bool *is_free, uint32_t size)
{
	uint32_t want, got;
	bool any;

	for (want = 0; want < size && !is_free[want]; want++)
		;
	any = id_map_lowest(m, &got);
	assert_int_equal(any, want < size);
	if (any)
		assert_int_equal(got, want);
}

static void run(uint32_t max)
{
	struct id_map m = { 0 };
	bool *is_free = calloc(max, sizeof(*is_free));
	uint32_t size = 0, i, step;

	assert_non_null(is_free);
	for (step = 0; step < 20000; step++) {
		unsigned int op = rnd(16);

		if (op == 0 && size < max) {
			uint32_t grow = size + 1 + rnd(max - size);

			assert_int_equal(id_map_resize(&m, grow), 0);
			for (i = size; i < grow; i++)
				is_free[i] = true;
			size = grow;
		} else if (op < 8 && size) {
			uint32_t id;

			/* Take the lowest, as the table does. */
			if (id_map_lowest(&m, &id)) {
				assert_true(is_free[id]);
				id_map_set_used(&m, id);
				is_free[id] = false;
			}
		} else if (size) {
			i = rnd(size);
			if (op < 12) {
				id_map_set_free(&m, i);
				is_free[i] = true;
			} else {
				id_map_set_used(&m, i);
				is_free[i] = false;
			}
		}
		if (size) {
			i = rnd(size);
			assert_int_equal(id_map_is_free(&m, i), is_free[i]);
		}
		check_lowest(&m, is_free, size);
	}
	id_map_free(&m);
	free(is_free);
}

static void test_one_level(void **state)
{
	run(64);
}

static void test_two_levels(void **state)
{
	run(64 * 64 + 7);
}

static void test_three_levels(void **state)
{
	run(64 * 64 * 3 + 1);
}

/* The object table hands out the lowest free ID, past thousands of objects. */
static void test_table_lowest_free(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	enum { N = 5000 };
	uint32_t *ids = calloc(N, sizeof(*ids)), i;

	assert_non_null(ids);
	for (i = 0; i < N; i++) {
		ids[i] = ioas_alloc(ctx);
		if (i)
			assert_true(ids[i] > ids[i - 1]);
	}
	/* Free a scattering; each new object takes the lowest hole. */
	for (i = 7; i < N; i += 97)
		assert_int_equal(destroy(ctx, ids[i]), 0);
	for (i = 7; i < N; i += 97) {
		uint32_t again = ioas_alloc(ctx);

		assert_int_equal(again, ids[i]);
	}
	assert_true(ioas_alloc(ctx) > ids[N - 1]);
	free(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_level),
		cmocka_unit_test(test_two_levels),
		cmocka_unit_test(test_three_levels),
		cmocka_unit_test_setup_teardown(test_table_lowest_free, setup_ctx, teardown_ctx),
	};

	return cmocka_run_group_tests_name("id map", tests, NULL, NULL);
}
