// SPDX-License-Identifier: MIT
/*
 * Pin bookkeeping of pages.c (the run and use trees) against a flat
 * reference model: an array of user counts per page.  Random sequences of
 * pins, unpins of outstanding pins, and cuts of outstanding pins in two
 * (what an area split does) run over one iopt_pages on the in-process
 * host; after every step each page must be pinned by the host exactly when
 * the model counts a user for it, reachable through kaddr, and npinned must
 * be the number of such pages.  Run over few pages, the sequences often
 * pin every page at once into nothing pinned, the state pages.c keeps
 * outside its trees, and then do anything else to it.
 */
#include "helpers.h"
#include "core/io_pagetable.h"
#include "host/inproc.h"

#define NPAGES 48
#define MAXPINS 64

struct pin_range {
	unsigned long first, last;
};

static unsigned long long seed;

static unsigned int rnd(unsigned int below)
{
	seed = seed * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned int)((seed >> 33) % below);
}

static void check_model(struct iopt_pages *pages, uint8_t *buf, const unsigned int *users,
			unsigned long npages)
{
	unsigned long i, want = 0;

	for (i = 0; i < npages; i++) {
		long pins = uiommufd_page_pins(uiommufd_host_inproc(), (uintptr_t)(buf + i * PSZ));

		assert_int_equal(pins, users[i] ? 1 : 0);
		if (users[i]) {
			assert_ptr_equal(iopt_pages_kaddr(pages, i), buf + i * PSZ);
			want++;
		} else {
			assert_null(iopt_pages_kaddr(pages, i));
		}
	}
	assert_int_equal(iopt_pages_npinned(pages), want);
}

static void run_model(struct uiommufd_ctx *ctx, unsigned long long s, unsigned long npages)
{
	uint8_t *buf = mmap(NULL, NPAGES * PSZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct iopt_pages *pages;
	struct pin_range pins[MAXPINS];
	unsigned int users[NPAGES] = { 0 }, npins = 0, step;

	assert_true(buf != MAP_FAILED);
	pages = iopt_alloc_user_pages((struct iommufd_ctx *)ctx, (uintptr_t)buf, npages * PSZ,
				      true);
	assert_false(IS_ERR(pages));
	seed = s;
	for (step = 0; step < 3000; step++) {
		unsigned int op = rnd(10), k;
		unsigned long i;

		if (op < 5 && npins < MAXPINS) {
			unsigned long first = rnd(npages);
			unsigned long last = first + rnd(first + 10 < npages ? 10 : npages - first);

			if (!rnd(4)) {
				first = 0;
				last = npages - 1;
			}

			assert_int_equal(iopt_pages_pin(pages, first, last), 0);
			pins[npins++] = (struct pin_range){ first, last };
			for (i = first; i <= last; i++)
				users[i]++;
		} else if (op < 9 && npins) {
			k = rnd(npins);
			iopt_pages_unpin(pages, pins[k].first, pins[k].last);
			for (i = pins[k].first; i <= pins[k].last; i++)
				users[i]--;
			pins[k] = pins[--npins];
		} else if (npins && npins < MAXPINS) {
			/* Cut an outstanding pin in two, as an area split does. */
			k = rnd(npins);
			if (pins[k].first == pins[k].last)
				continue;
			i = pins[k].first + 1 + rnd((unsigned int)(pins[k].last - pins[k].first));
			assert_int_equal(iopt_pages_pin_cut(pages, i), 0);
			pins[npins++] = (struct pin_range){ i, pins[k].last };
			pins[k].last = i - 1;
		}
		check_model(pages, buf, users, npages);
	}
	while (npins) {
		npins--;
		iopt_pages_unpin(pages, pins[npins].first, pins[npins].last);
	}
	memset(users, 0, sizeof(users));
	check_model(pages, buf, users, npages);
	iopt_put_pages(pages);
	munmap(buf, NPAGES * PSZ);
}

static void test_random_pins_match_model(void **state)
{
	run_model(*state, 1, NPAGES);
	run_model(*state, 7, NPAGES);
	run_model(*state, 1234567, NPAGES);
	run_model(*state, 3, 1);
	run_model(*state, 5, 3);
	run_model(*state, 11, 6);
}

/*
 * Every page pinned at once, for one user, is kept apart from the trees;
 * a second pin, a part unpinned, a cut, each turns it back into them with
 * every page still pinned and reachable.
 */
static void test_whole_pin_and_what_follows(void **state)
{
	enum { N = 4 };
	uint8_t *buf = mmap(NULL, N * PSZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct iopt_pages *pages;
	unsigned long i;
	int round;

	assert_true(buf != MAP_FAILED);
	pages = iopt_alloc_user_pages(*state, (uintptr_t)buf, N * PSZ, true);
	assert_false(IS_ERR(pages));
	for (round = 0; round != 3; round++) {
		assert_int_equal(iopt_pages_pin(pages, 0, N - 1), 0);
		assert_int_equal(iopt_pages_npinned(pages), N);
		for (i = 0; i != N; i++)
			assert_ptr_equal(iopt_pages_kaddr(pages, i), buf + i * PSZ);
		assert_null(iopt_pages_kaddr(pages, N));
		if (round == 0) {
			/* A second user of a part, then the first user goes: the part stays. */
			assert_int_equal(iopt_pages_pin(pages, 1, 2), 0);
			iopt_pages_unpin(pages, 0, N - 1);
			assert_int_equal(iopt_pages_npinned(pages), 2);
			assert_null(iopt_pages_kaddr(pages, 0));
			assert_ptr_equal(iopt_pages_kaddr(pages, 1), buf + PSZ);
			iopt_pages_unpin(pages, 1, 2);
		} else if (round == 1) {
			/* Cut in two, as an area split does, and unpinned in halves. */
			assert_int_equal(iopt_pages_pin_cut(pages, 2), 0);
			iopt_pages_unpin(pages, 0, 1);
			assert_int_equal(iopt_pages_npinned(pages), 2);
			assert_null(iopt_pages_kaddr(pages, 1));
			assert_ptr_equal(iopt_pages_kaddr(pages, 3), buf + 3 * PSZ);
			iopt_pages_unpin(pages, 2, N - 1);
		} else {
			iopt_pages_unpin(pages, 0, N - 1);
		}
		assert_int_equal(iopt_pages_npinned(pages), 0);
		for (i = 0; i != N; i++)
			assert_int_equal(uiommufd_page_pins(uiommufd_host_inproc(),
							    (uintptr_t)(buf + i * PSZ)), 0);
	}
	/* Released while every page is pinned: the pin goes with the pages. */
	assert_int_equal(iopt_pages_pin(pages, 0, N - 1), 0);
	iopt_put_pages(pages);
	assert_int_equal(uiommufd_page_pins(uiommufd_host_inproc(), (uintptr_t)buf), 0);
	munmap(buf, N * PSZ);
}

/* Pinning a few pages of a huge mapping costs memory for those pages only. */
static void test_pin_bookkeeping_follows_pins(void **state)
{
	uint8_t *buf = mmap(NULL, 4 * PSZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct iopt_pages *pages;

	assert_true(buf != MAP_FAILED);
	/* 1 TiB of source address space: a per-page table would be gigabytes. */
	pages = iopt_alloc_user_pages(*state, (uintptr_t)buf, 1ul << 40, true);
	assert_false(IS_ERR(pages));
	assert_int_equal(iopt_pages_pin(pages, 1, 2), 0);
	assert_int_equal(iopt_pages_npinned(pages), 2);
	assert_ptr_equal(iopt_pages_kaddr(pages, 2), buf + 2 * PSZ);
	iopt_pages_unpin(pages, 1, 2);
	assert_int_equal(iopt_pages_npinned(pages), 0);
	iopt_put_pages(pages);
	munmap(buf, 4 * PSZ);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_ctx, teardown_ctx)
	const struct CMUnitTest tests[] = {
		T(test_random_pins_match_model),
		T(test_pin_bookkeeping_follows_pins),
		T(test_whole_pin_and_what_follows),
	};

	return cmocka_run_group_tests_name("pin model", tests, NULL, NULL);
}
