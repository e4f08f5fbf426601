// SPDX-License-Identifier: MIT
/*
 * Run through `uiommufd run`: madvise() of memory an IOAS has pinned, as a
 * VMM's balloon or a driver's buffer recycling does.  What the device sees
 * is read and written with the selftest's ACCESS_RW on its slow path, which
 * goes through the pinned pages, as the kernel's does.
 *
 * The kernel's rules: after MADV_DONTNEED the program has fresh pages (zero
 * for private anonymous memory) while the device keeps the pinned ones, and
 * device writes no longer show in the program's memory; MADV_FREE never
 * frees a pinned page, so nothing changes; MADV_REMOVE punches the file's
 * pages, the device keeps the pinned ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

#include "scenario/pinned_rig.h"

static void test_dontneed_of_pinned_anon(void **state)
{
	struct rig r;
	uint8_t *buf;
	uint64_t iova;

	(void)state;
	rig_open(&r);
	buf = anon_pages(4 * r.psz, 0x5a);
	iova = map_user(&r, buf, 4 * r.psz);
	assert_int_equal(device_byte(&r, iova + r.psz), 0x5a);
	/* The middle two pages: the program's get fresh zero pages. */
	assert_int_equal(madvise(buf + r.psz, 2 * r.psz, MADV_DONTNEED), 0);
	assert_int_equal(buf[r.psz], 0);
	assert_int_equal(buf[3 * r.psz - 1], 0);
	assert_int_equal(buf[0], 0x5a);
	assert_int_equal(buf[3 * r.psz], 0x5a);
	/* The device keeps the pinned pages and what they held. */
	assert_int_equal(device_byte(&r, iova + r.psz), 0x5a);
	assert_int_equal(device_byte(&r, iova + 3 * r.psz - 1), 0x5a);
	/* The two sides are different pages now. */
	device_poke(&r, iova + r.psz + 7, 0xd1);
	assert_int_equal(buf[r.psz + 7], 0);
	buf[2 * r.psz] = 0x77;
	assert_int_equal(device_byte(&r, iova + 2 * r.psz), 0x5a);
	/* The untouched pages are still shared. */
	device_poke(&r, iova, 0xe2);
	assert_int_equal(buf[0], 0xe2);
	/* MADV_DONTNEED_LOCKED is the same. */
	assert_int_equal(madvise(buf, r.psz, MADV_DONTNEED_LOCKED), 0);
	assert_int_equal(buf[0], 0);
	assert_int_equal(device_byte(&r, iova), 0xe2);
	unmap_iova(&r, iova, 4 * r.psz);
	assert_int_equal(munmap(buf, 4 * r.psz), 0);
	rig_close(&r);
}

/*
 * ACCESS_RW without the slow path flag copies at the program's address, as
 * the kernel's fast path does, pinned or not: after MADV_DONTNEED it sees
 * the program's fresh page, while the slow path still sees the pinned one.
 * A copy just before the madvise() must not make the next one go by what
 * it found then.
 */
static void test_dontneed_then_fast_path(void **state)
{
	struct rig r;
	uint8_t *buf, got[64], mark[64];
	uint64_t iova;

	(void)state;
	rig_open(&r);
	buf = anon_pages(2 * r.psz, 0x3c);
	iova = map_user(&r, buf, 2 * r.psz);
	assert_int_equal(device_rw_flags(&r, iova + r.psz, got, sizeof(got), false, 0), 0);
	assert_int_equal(got[0], 0x3c);
	assert_int_equal(madvise(buf + r.psz, r.psz, MADV_DONTNEED), 0);
	assert_int_equal(device_rw_flags(&r, iova + r.psz, got, sizeof(got), false, 0), 0);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[63], 0);
	assert_int_equal(device_byte(&r, iova + r.psz), 0x3c);
	memset(mark, 0x9e, sizeof(mark));
	assert_int_equal(device_rw_flags(&r, iova + r.psz, mark, sizeof(mark), true, 0), 0);
	assert_int_equal(buf[r.psz], 0x9e);
	assert_int_equal(device_byte(&r, iova + r.psz), 0x3c);
	/* The first page is pinned where the program has it: one page, both ways. */
	assert_int_equal(device_rw_flags(&r, iova, mark, sizeof(mark), true, 0), 0);
	assert_int_equal(buf[0], 0x9e);
	assert_int_equal(device_byte(&r, iova), 0x9e);
	/* Unmapped by the program: the fast path faults (EFAULT), the pins still serve. */
	assert_int_equal(munmap(buf, 2 * r.psz), 0);
	assert_int_equal(device_rw_flags(&r, iova, got, sizeof(got), false, 0), -EFAULT);
	assert_int_equal(device_rw_flags(&r, iova, mark, sizeof(mark), true, 0), -EFAULT);
	assert_int_equal(device_byte(&r, iova + 1), 0x9e);
	unmap_iova(&r, iova, 2 * r.psz);
	rig_close(&r);
}

static void test_free_of_pinned_anon(void **state)
{
	struct rig r;
	uint8_t *buf;
	uint64_t iova;

	(void)state;
	rig_open(&r);
	buf = anon_pages(4 * r.psz, 0x3c);
	iova = map_user(&r, buf, 2 * r.psz);
	/*
	 * A pinned page is never freed: it stays the program's and the
	 * device's.  MADV_PAGEOUT reclaims at once what MADV_FREE let go.
	 */
	assert_int_equal(madvise(buf, 4 * r.psz, MADV_FREE), 0);
	madvise(buf, 4 * r.psz, MADV_PAGEOUT);
	if (buf[2 * r.psz] != 0)
		print_message("MADV_PAGEOUT did not reclaim: MADV_FREE goes unchecked\n");
	assert_int_equal(buf[0], 0x3c);
	assert_int_equal(buf[r.psz], 0x3c);
	device_poke(&r, iova + r.psz, 0x99);
	assert_int_equal(buf[r.psz], 0x99);
	buf[5] = 0x11;
	assert_int_equal(device_byte(&r, iova + 5), 0x11);
	unmap_iova(&r, iova, 2 * r.psz);
	assert_int_equal(munmap(buf, 4 * r.psz), 0);
	rig_close(&r);
}

static void test_remove_of_pinned_memfd(void **state)
{
	int mfd = memfd_create("madvise-remove", MFD_CLOEXEC);
	uint64_t via_va, via_file;
	uint8_t *map, got = 0xff;
	struct rig r;

	(void)state;
	rig_open(&r);
	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, (off_t)(2 * r.psz)), 0);
	map = mmap(NULL, 2 * r.psz, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	assert_ptr_not_equal(map, MAP_FAILED);
	memset(map, 0x6b, 2 * r.psz);
	/* The same pages pinned through the mapping and through the file. */
	via_va = map_user(&r, map, 2 * r.psz);
	via_file = map_file(&r, mfd, 2 * r.psz);
	/* A shared page stays the file's on DONTNEED: still one page for both. */
	assert_int_equal(madvise(map, 2 * r.psz, MADV_DONTNEED), 0);
	assert_int_equal(map[0], 0x6b);
	device_poke(&r, via_va + 1, 0x21);
	assert_int_equal(map[1], 0x21);

	/* MADV_REMOVE punches the file; the pinned pages stay the device's. */
	assert_int_equal(madvise(map, r.psz, MADV_REMOVE), 0);
	assert_int_equal(map[0], 0);
	assert_int_equal(pread(mfd, &got, 1, 0), 1);
	assert_int_equal(got, 0);
	assert_int_equal(device_byte(&r, via_va), 0x6b);
	assert_int_equal(device_byte(&r, via_va + 1), 0x21);
	assert_int_equal(device_byte(&r, via_file + 1), 0x21);
	/* Both pins still hold one page, and it is no longer the file's. */
	device_poke(&r, via_file + 2, 0x42);
	assert_int_equal(device_byte(&r, via_va + 2), 0x42);
	assert_int_equal(map[2], 0);
	map[3] = 0x13;
	assert_int_equal(device_byte(&r, via_va + 3), 0x6b);
	/* The page left alone is still shared by everyone. */
	device_poke(&r, via_file + r.psz, 0x55);
	assert_int_equal(map[r.psz], 0x55);
	assert_int_equal(device_byte(&r, via_va + r.psz), 0x55);
	unmap_iova(&r, via_va, 2 * r.psz);
	unmap_iova(&r, via_file, 2 * r.psz);
	assert_int_equal(munmap(map, 2 * r.psz), 0);
	close(mfd);
	rig_close(&r);
}

static void test_madvise_errors_pass_through(void **state)
{
	struct rig r;
	uint8_t *buf;
	uint64_t iova;

	(void)state;
	rig_open(&r);
	buf = anon_pages(2 * r.psz, 0x01);
	iova = map_user(&r, buf, 2 * r.psz);
	/* What the kernel refuses changes nothing. */
	errno = 0;
	assert_int_equal(madvise(buf + 1, r.psz, MADV_DONTNEED), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(madvise(buf, r.psz, MADV_REMOVE), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(buf[0], 0x01);
	device_poke(&r, iova, 0x02);
	assert_int_equal(buf[0], 0x02);
	/* Success leaves errno alone. */
	errno = 4242;
	assert_int_equal(madvise(buf, 2 * r.psz, MADV_WILLNEED), 0);
	assert_int_equal(madvise(buf, 0, MADV_DONTNEED), 0);
	assert_int_equal(errno, 4242);
	unmap_iova(&r, iova, 2 * r.psz);
	assert_int_equal(munmap(buf, 2 * r.psz), 0);
	rig_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dontneed_of_pinned_anon),
		cmocka_unit_test(test_dontneed_then_fast_path),
		cmocka_unit_test(test_free_of_pinned_anon),
		cmocka_unit_test(test_remove_of_pinned_memfd),
		cmocka_unit_test(test_madvise_errors_pass_through),
	};

	return cmocka_run_group_tests_name("madvise of pinned memory", tests, NULL, NULL);
}
