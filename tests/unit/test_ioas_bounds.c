// SPDX-License-Identifier: MIT
/*
 * IOAS ioctls against hostile counts and failing paths (issue 11): no
 * descriptor or file reference left behind by a failed MAP_FILE, no
 * allocation sized by the num_iovas a caller claims.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "helpers.h"

/* A "Name:   N kB" line of /proc/self/status, in bytes. */
static uint64_t status_bytes(const char *name)
{
	char line[256];
	size_t len = strlen(name);
	uint64_t kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':')
			kb = strtoull(line + len + 1, NULL, 10);
	fclose(f);
	assert_int_not_equal(kb, 0);
	return kb * 1024;
}

static long map_file(struct uiommufd_ctx *ctx, uint32_t ioas, int fd, uint64_t start,
		     uint64_t len, uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = *iova, .flags = flags,
		.fd = fd, .start = start, .length = len,
	};
	long rc = ictl(ctx, IOMMU_IOAS_MAP_FILE, &cmd);

	if (!rc)
		*iova = cmd.iova;
	return rc;
}

#define ROUNDS 200

/* Issue 11: MAP_FILE with length 0 kept a dup of the descriptor each call. */
static void test_map_file_zero_length_no_leak(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	uint32_t ioas = ioas_alloc(ctx);
	int mfd = memfd_create("bounds", MFD_CLOEXEC);
	uint64_t iova = 0;
	int before, i;

	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, 4 * PSZ), 0);
	before = count_fds();
	for (i = 0; i < ROUNDS; i++)
		assert_int_equal(map_file(ctx, ioas, mfd, 0, 0, &iova, RW), -EINVAL);
	assert_int_equal(count_fds(), before);
	/* Nothing was mapped either. */
	assert_int_equal(ioas_unmap(ctx, ioas, 0, UINT64_MAX, NULL), 0);
	close(mfd);
}

/* Every other failing MAP_FILE path drops its file reference too. */
static void test_map_file_failures_no_leak(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	uint32_t ioas = ioas_alloc(ctx);
	int mfd = memfd_create("bounds", MFD_CLOEXEC);
	int pipefd[2];
	uint64_t iova = 0, fixed;
	int before, i;

	assert_true(mfd >= 0);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(ftruncate(mfd, 4 * PSZ), 0);
	assert_int_equal(map_file(ctx, ioas, mfd, 0, 2 * PSZ, &iova, RW), 0);
	fixed = iova;

	before = count_fds();
	for (i = 0; i < ROUNDS; i++) {
		uint64_t at = fixed;

		/* past the end of the file */
		assert_int_equal(map_file(ctx, ioas, mfd, 3 * PSZ, 2 * PSZ, &at, RW), -EINVAL);
		/* start + length wrapping */
		assert_int_equal(map_file(ctx, ioas, mfd, UINT64_MAX - PSZ + 1, 2 * PSZ, &at, RW),
				 -EINVAL);
		/* not a file that can back DMA */
		assert_int_equal(map_file(ctx, ioas, pipefd[0], 0, PSZ, &at, RW), -EINVAL);
		/* the pages are made, the IOVA is taken */
		assert_int_equal(map_file(ctx, ioas, mfd, 0, PSZ, &at, RW_FIXED), -EEXIST);
		/* the pages are made, the IOVA wraps */
		at = ULONG_MAX - PSZ + 1;
		assert_int_equal(map_file(ctx, ioas, mfd, 0, 2 * PSZ, &at, RW_FIXED),
				 -EOVERFLOW);
	}
	assert_int_equal(count_fds(), before);

	/* The one good mapping still holds its reference until unmapped. */
	assert_int_equal(ioas_unmap(ctx, ioas, 0, UINT64_MAX, NULL), 0);
	assert_int_equal(count_fds(), before - 1);
	close(pipefd[0]);
	close(pipefd[1]);
	close(mfd);
}

static long allow_iovas(struct uiommufd_ctx *ctx, uint32_t ioas, const void *ranges,
			uint32_t num)
{
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = num,
		.allowed_iovas = (uintptr_t)ranges,
	};

	return ictl(ctx, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

/*
 * One readable page followed by an inaccessible one: *@last points at the
 * last range of the readable page, so only one entry can be read.
 */
static void *guarded_range(struct iommu_iova_range **last)
{
	uint8_t *p = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	assert_ptr_not_equal(p, MAP_FAILED);
	assert_int_equal(mprotect(p + PSZ, PSZ, PROT_NONE), 0);
	*last = (struct iommu_iova_range *)(p + PSZ) - 1;
	return p;
}

/* Automatic IOVA must come from inside [start, last]. */
static void assert_auto_iova_in(struct uiommufd_ctx *ctx, uint32_t ioas, void *buf,
				uint64_t start, uint64_t last)
{
	uint64_t iova = 0;

	assert_int_equal(ioas_map(ctx, ioas, buf, PSZ, &iova, RW), 0);
	assert_true(iova >= start && iova + PSZ - 1 <= last);
	assert_int_equal(ioas_unmap(ctx, ioas, iova, PSZ, NULL), 0);
}

/*
 * Issue 11: num_iovas 0x10000000 with one readable entry allocated 4 GiB
 * before reading anything.  Now: EFAULT at the unreadable entry, no growth,
 * and the old allowed set untouched.
 */
static void test_allow_iovas_huge_count(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	uint32_t ioas = ioas_alloc(ctx);
	struct iommu_iova_range keep = { .start = 0x40000000, .last = 0x4fffffff };
	struct iommu_iova_range *last;
	void *guard = guarded_range(&last);
	void *buf = map_pages(1);
	uint64_t peak, size;

	assert_int_equal(allow_iovas(ctx, ioas, &keep, 1), 0);

	last->start = 0x10000;
	last->last = 0x1ffff;
	peak = status_bytes("VmPeak");
	size = status_bytes("VmSize");
	assert_int_equal(allow_iovas(ctx, ioas, last, 0x10000000), -EFAULT);
	assert_true(status_bytes("VmPeak") < peak + (8 << 20));
	assert_true(status_bytes("VmSize") < size + (8 << 20));

	/* The allowed set is the old one. */
	assert_auto_iova_in(ctx, ioas, buf, keep.start, keep.last);

	/* An overlap among the entries read before the fault is EINVAL, as in the kernel. */
	last[-1].start = 0x18000;
	last[-1].last = 0x28000;
	assert_int_equal(allow_iovas(ctx, ioas, last - 1, 0x10000000), -EINVAL);
	assert_auto_iova_in(ctx, ioas, buf, keep.start, keep.last);

	munmap(guard, 2 * PSZ);
	munmap(buf, PSZ);
}

/* Many entries, in any order: accepted, and an overlap far apart is found. */
static void test_allow_iovas_many(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	uint32_t ioas = ioas_alloc(ctx);
	const uint32_t n = 65536;
	struct iommu_iova_range *r = calloc(n, sizeof(*r));
	void *buf = map_pages(1);
	uint32_t k;

	assert_non_null(r);
	/* Descending, each 1 MiB apart, the lowest at 1 GiB. */
	for (k = 0; k < n; k++) {
		r[k].start = (1ULL << 30) + (uint64_t)(n - 1 - k) * (1 << 20);
		r[k].last = r[k].start + (1 << 16) - 1;
	}
	assert_int_equal(allow_iovas(ctx, ioas, r, n), 0);
	/* The lowest allowed range is the first hole that fits. */
	assert_auto_iova_in(ctx, ioas, buf, r[n - 1].start, r[n - 1].last);

	/* The first and the last entry overlap; nothing in between does. */
	r[n - 1].start = r[0].start + 0x1000;
	r[n - 1].last = r[0].start + 0x1fff;
	assert_int_equal(allow_iovas(ctx, ioas, r, n), -EINVAL);
	/* The set from before is kept. */
	assert_auto_iova_in(ctx, ioas, buf, 1ULL << 30, (1ULL << 30) + 0xffff);

	free(r);
	munmap(buf, PSZ);
}

/* IOVA_RANGES with a huge num_iovas writes only the holes there are. */
static void test_iova_ranges_huge_count(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	uint32_t ioas = ioas_alloc(ctx);
	struct iommu_iova_range *last;
	void *guard = guarded_range(&last);
	uint32_t num = 0x10000000;
	uint64_t peak = status_bytes("VmPeak");

	/* One hole, [0, ULONG_MAX]: fits in the one readable slot. */
	assert_int_equal(iova_ranges(ctx, ioas, last, &num, NULL), 0);
	assert_int_equal(num, 1);
	assert_int_equal(last->start, 0);
	assert_int_equal(last->last, ULONG_MAX);
	assert_true(status_bytes("VmPeak") < peak + (8 << 20));
	munmap(guard, 2 * PSZ);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_ctx, teardown_ctx)
	/* The huge-count test first, while VmPeak is still the process's start. */
	const struct CMUnitTest tests[] = {
		T(test_allow_iovas_huge_count),
		T(test_iova_ranges_huge_count),
		T(test_allow_iovas_many),
		T(test_map_file_zero_length_no_leak),
		T(test_map_file_failures_no_leak),
	};

	return cmocka_run_group_tests_name("ioas_bounds", tests, NULL, NULL);
}
