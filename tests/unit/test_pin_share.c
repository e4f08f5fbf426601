// SPDX-License-Identifier: MIT
/*
 * The host's pin records, shared by pins of the very same range, against
 * a flat model: a list of live pins (first page, page count, writable) over
 * a small buffer.  Random pins (often of a range pinned already), unpins,
 * splits and middle releases (split twice, unpin the middle, as the core
 * does) run on both; after each, every page's pin count (page_pins) must
 * equal the number of live model pins covering it, and every live pin must
 * still resolve each of its pages to the buffer (kaddr, physical address,
 * a copy through pin_rw).  Then a page moved aside by the program's unmap
 * while shared pins hold it: every holder follows it.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "core/host.h"
#include "host/inproc.h"

#define NPG 12
#define MAXPINS 256

struct model_pin {
	struct host_pin *pin;
	unsigned int first, n;
	bool writable;
};

static struct model_pin pins[MAXPINS];
static unsigned int npins;
static unsigned int seed = 777;

static unsigned int rnd(unsigned int n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

static struct uiommufd_host *host(void)
{
	return uiommufd_host_inproc();
}

static void add_pin(struct host_pin *pin, unsigned int first, unsigned int n, bool writable)
{
	assert_true(npins < MAXPINS);
	pins[npins++] = (struct model_pin){ pin, first, n, writable };
}

static void drop_pin(unsigned int k)
{
	pins[k] = pins[--npins];
}

static void check_all(uint8_t *buf)
{
	unsigned int pg, k, i;

	for (pg = 0; pg != NPG; pg++) {
		long want = 0;

		for (k = 0; k != npins; k++)
			want += pg >= pins[k].first && pg < pins[k].first + pins[k].n;
		assert_int_equal(uiommufd_page_pins(host(), (uintptr_t)(buf + pg * PSZ)), want);
	}
	for (k = 0; k != npins; k++) {
		for (i = 0; i != pins[k].n; i++) {
			uint8_t *page = buf + (pins[k].first + i) * PSZ;
			uint8_t got = 0;
			size_t run;

			assert_ptr_equal(host()->ops->pin_kaddr(host(), pins[k].pin, i * PSZ), page);
			/* Private pages keep their user address as physical address. */
			assert_int_equal(host()->ops->pin_phys(host(), pins[k].pin, i * PSZ, &run),
					 (uintptr_t)page);
			assert_true(run >= PSZ);
			assert_int_equal(host()->ops->pin_rw(host(), pins[k].pin, i * PSZ + 5, &got, 1,
							     false), 0);
			assert_int_equal(got, page[5]);
		}
	}
}

static void random_op(uint8_t *buf)
{
	unsigned int op = rnd(10), k, first, n, at;
	struct host_pin *pin, *mid, *back;
	bool writable;

	if (op < 5 || !npins) {
		/* Often the same range as a live pin: the shared case. */
		if (npins && rnd(2)) {
			k = rnd(npins);
			first = pins[k].first;
			n = pins[k].n;
			writable = rnd(4) ? pins[k].writable : !pins[k].writable;
		} else {
			first = rnd(NPG);
			n = 1 + rnd(NPG - first);
			writable = rnd(2);
		}
		if (npins == MAXPINS)
			return;
		assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)(buf + first * PSZ),
						       n * PSZ, writable, &pin), 0);
		add_pin(pin, first, n, writable);
	} else if (op < 7) {
		k = rnd(npins);
		host()->ops->unpin(host(), pins[k].pin);
		drop_pin(k);
	} else if (op < 9) {
		k = rnd(npins);
		if (pins[k].n < 2 || npins == MAXPINS)
			return;
		at = 1 + rnd(pins[k].n - 1);
		assert_int_equal(host()->ops->pin_split(host(), pins[k].pin, at * PSZ, &back), 0);
		add_pin(back, pins[k].first + at, pins[k].n - at, pins[k].writable);
		pins[k].n = at;
	} else {
		/* Release a middle page, as the core's pin_run_release() does. */
		k = rnd(npins);
		if (pins[k].n < 3 || npins == MAXPINS)
			return;
		at = 1 + rnd(pins[k].n - 2);
		assert_int_equal(host()->ops->pin_split(host(), pins[k].pin, at * PSZ, &mid), 0);
		assert_int_equal(host()->ops->pin_split(host(), mid, PSZ, &back), 0);
		host()->ops->unpin(host(), mid);
		add_pin(back, pins[k].first + at + 1, pins[k].n - at - 1, pins[k].writable);
		pins[k].n = at;
	}
}

static void test_share_model(void **state)
{
	uint8_t *buf = mmap(NULL, NPG * PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	unsigned int step, pg;

	(void)state;
	assert_ptr_not_equal(buf, MAP_FAILED);
	for (pg = 0; pg != NPG; pg++)
		memset(buf + pg * PSZ, (int)(pg + 1), PSZ);
	for (step = 0; step != 4000; step++) {
		random_op(buf);
		check_all(buf);
	}
	while (npins) {
		host()->ops->unpin(host(), pins[npins - 1].pin);
		npins--;
	}
	check_all(buf);
	munmap(buf, NPG * PSZ);
}

/* Shared pins of a page the program unmaps: all of them follow it aside. */
static void test_share_follows_move(void **state)
{
	uint8_t *buf = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	struct host_pin *a, *b, *c, *back;
	uint8_t *ka, *kb;

	(void)state;
	assert_ptr_not_equal(buf, MAP_FAILED);
	memset(buf, 0x5a, 2 * PSZ);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf, 2 * PSZ, true, &a), 0);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf, 2 * PSZ, true, &b), 0);
	assert_int_equal(uiommufd_page_pins(host(), (uintptr_t)buf), 2);
	uiommufd_host_inproc_unmap_notify(buf, 2 * PSZ);
	munmap(buf, 2 * PSZ);
	ka = host()->ops->pin_kaddr(host(), a, PSZ);
	kb = host()->ops->pin_kaddr(host(), b, PSZ);
	assert_non_null(ka);
	assert_ptr_equal(ka, kb);
	assert_int_equal(ka[7], 0x5a);
	/* One holder's split leaves the other whole. */
	assert_int_equal(host()->ops->pin_split(host(), a, PSZ, &back), 0);
	assert_ptr_equal(host()->ops->pin_kaddr(host(), b, PSZ), kb);
	assert_ptr_equal(host()->ops->pin_kaddr(host(), back, 0), kb);
	host()->ops->unpin(host(), a);
	host()->ops->unpin(host(), b);
	assert_int_equal(((uint8_t *)host()->ops->pin_kaddr(host(), back, 0))[7], 0x5a);
	host()->ops->unpin(host(), back);
	/* The address space is the program's again: a fresh pin of new memory works. */
	buf = mmap(NULL, PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(buf, MAP_FAILED);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf, PSZ, false, &c), 0);
	host()->ops->unpin(host(), c);
	munmap(buf, PSZ);
}

/*
 * A range pinned again after its pinned pages were moved aside (the
 * program unmapped it and mapped new memory there) gets the new pages:
 * the moved record, though made for the very same range, is not shared.
 */
static void test_repin_after_move_gets_new_pages(void **state)
{
	uint8_t *buf = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0), *again, *ka, *kc;
	struct host_pin *a, *b, *c;

	(void)state;
	assert_ptr_not_equal(buf, MAP_FAILED);
	memset(buf, 0x5a, 2 * PSZ);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf, 2 * PSZ, true, &a), 0);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf, 2 * PSZ, true, &b), 0);
	uiommufd_host_inproc_unmap_notify(buf, 2 * PSZ);
	again = mmap(buf, 2 * PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		     -1, 0);
	assert_ptr_equal(again, buf);
	memset(buf, 0xa5, 2 * PSZ);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf, 2 * PSZ, true, &c), 0);
	ka = host()->ops->pin_kaddr(host(), a, PSZ);
	kc = host()->ops->pin_kaddr(host(), c, PSZ);
	assert_ptr_equal(kc, buf + PSZ);
	assert_ptr_not_equal(ka, kc);
	assert_int_equal(ka[3], 0x5a);
	assert_int_equal(kc[3], 0xa5);
	assert_int_equal(uiommufd_page_pins(host(), (uintptr_t)buf + PSZ), 1);
	/* Pinned once more, the new pages are shared with c, not with a and b. */
	host()->ops->unpin(host(), a);
	host()->ops->unpin(host(), b);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf, 2 * PSZ, true, &a), 0);
	assert_ptr_equal(host()->ops->pin_kaddr(host(), a, PSZ), buf + PSZ);
	assert_int_equal(uiommufd_page_pins(host(), (uintptr_t)buf + PSZ), 2);
	host()->ops->unpin(host(), a);
	host()->ops->unpin(host(), c);
	munmap(buf, 2 * PSZ);
}

/*
 * A pin of a range pinned already trusts the record, not the VMAs, only
 * while the record says the program still has the pages there with the
 * pin's access: after mprotect, munmap, and in a fork child (which lacks
 * the MADV_DONTFORK memory) each pin is checked against the map again.
 */
static void test_repin_checks_the_map(void **state)
{
	uint8_t *buf = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	struct host_pin *a, *b;
	pid_t child;
	int status;

	(void)state;
	assert_ptr_not_equal(buf, MAP_FAILED);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf, PSZ, true, &a), 0);
	assert_int_equal(uiommufd_host_inproc_mprotect(buf, PSZ, PROT_READ), 0);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf, PSZ, true, &b), -EFAULT);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf, PSZ, false, &b), 0);
	host()->ops->unpin(host(), b);
	assert_int_equal(uiommufd_host_inproc_mprotect(buf, PSZ, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf, PSZ, true, &b), 0);
	assert_int_equal(uiommufd_page_pins(host(), (uintptr_t)buf), 2);
	host()->ops->unpin(host(), b);

	/* Not in the child of a fork: the page is not in its map. */
	assert_int_equal(madvise(buf, PSZ, MADV_DONTFORK), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(host()->ops->pin_user(host(), (uintptr_t)buf, PSZ, true, &b) == -EFAULT ? 0 : 1);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(madvise(buf, PSZ, MADV_DOFORK), 0);

	/* Unmapped (the pages moved aside with their pins): nothing to pin there. */
	uiommufd_host_inproc_unmap_notify(buf, 2 * PSZ);
	assert_int_equal(munmap(buf, 2 * PSZ), 0);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf, PSZ, true, &b), -EFAULT);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf, PSZ, false, &b), -EFAULT);
	host()->ops->unpin(host(), a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_model),
		cmocka_unit_test(test_share_follows_move),
		cmocka_unit_test(test_repin_after_move_gets_new_pages),
		cmocka_unit_test(test_repin_checks_the_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
