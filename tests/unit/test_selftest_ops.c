// SPDX-License-Identifier: MIT
/*
 * IOMMU_TEST_CMD operations (selftest.c) under hostile input: user counts
 * and lengths that must not size an allocation, and creating operations
 * whose reply cannot be written back (the argument is mapped read-only),
 * which must leave no descriptor, object or IOAS reference behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "helpers.h"
#include "host/inproc.h"

#define NPAGES 4

struct fixture {
	struct uiommufd_ctx *ctx;
	uint32_t ioas;
	uint8_t *buf;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fixture_open(&f->ctx, &f->ioas, &f->buf, NPAGES))
		return -1;
	/*
	 * cmocka swaps SIGSEGV handlers between tests behind the host's back,
	 * and the pages we fault on are mapped where earlier tests' were; the
	 * shim would have reported those munmaps.
	 */
	uiommufd_host_inproc_mm_changed();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fixture_close(f->ctx, f->buf, NPAGES);
	free(f);
	return 0;
}

/* VmPeak of this process in KiB. */
static long vm_peak_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *fp = fopen("/proc/self/status", "r");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmPeak: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	assert_true(kib > 0);
	return kib;
}

#define PEAK_SLACK_KIB (4 * 1024)

/* Two pages, the second unmapped: an entry of @len at the end of the first is the last readable. */
static uint8_t *edge_entry(const void *entry, size_t len)
{
	uint8_t *p = map_pages(2);

	assert_int_equal(munmap(p + PSZ, PSZ), 0);
	memcpy(p + PSZ - len, entry, len);
	return p + PSZ - len;
}

static long check_iotlb(struct uiommufd_ctx *ctx, uint32_t hwpt, uint32_t id, uint32_t want)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_IOTLB, .id = hwpt,
		.check_iotlb = { .id = id, .iotlb = want },
	};

	return ictl(ctx, IOMMU_TEST_CMD, &cmd);
}

/*
 * The kernel's mock copies the vIOMMU array into one allocation, which its
 * allocator refuses past 4 MiB: ENOMEM with entry_num as passed, and no
 * entry acted on.  We must say the same without allocating anything like it.
 */
static void test_viommu_invalidate_huge_entry_num(void **state)
{
	struct fixture *f = *state;
	const struct iommu_viommu_invalidate_selftest one = { .vdev_id = 0x99, .cache_id = 1 };
	const uint32_t T = IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, L = sizeof(one);
	struct viommu_ids v = { 0 };
	uint8_t *entry = edge_entry(&one, L);
	uint32_t vdev = 0, n;
	long peak;

	viommu_rig(f->ctx, f->ioas, &v);
	assert_int_equal(vdevice_alloc(f->ctx, v.viommu, v.dev.idev, 0x99, &vdev), 0);

	peak = vm_peak_kib();
	n = 0x10000000;
	assert_int_equal(invalidate(f->ctx, v.viommu, T, entry, L, &n), -ENOMEM);
	assert_int_equal(n, 0x10000000);
	assert_true(vm_peak_kib() - peak < PEAK_SLACK_KIB);
	assert_int_equal(check_cache(f->ctx, v.dev.idev, 1, IOMMU_TEST_DEV_CACHE_DEFAULT), 0);

	/* The largest array the kernel copies: the unreadable second entry fails it whole. */
	n = (4u << 20) / L;
	assert_int_equal(invalidate(f->ctx, v.viommu, T, entry, L, &n), -EFAULT);
	assert_int_equal(n, 0);
	n = (4u << 20) / L + 1;
	assert_int_equal(invalidate(f->ctx, v.viommu, T, entry, L, &n), -ENOMEM);
	assert_int_equal(n, (4u << 20) / L + 1);
	assert_true(vm_peak_kib() - peak < PEAK_SLACK_KIB);
	assert_int_equal(check_cache(f->ctx, v.dev.idev, 1, IOMMU_TEST_DEV_CACHE_DEFAULT), 0);

	/* Still works: one entry acts. */
	n = 1;
	assert_int_equal(invalidate(f->ctx, v.viommu, T, entry, L, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(check_cache(f->ctx, v.dev.idev, 1, 0), 0);
	assert_int_equal(check_cache(f->ctx, v.dev.idev, 0, IOMMU_TEST_DEV_CACHE_DEFAULT), 0);
	munmap(entry + L - PSZ, PSZ);
}

/* A nested HWPT reads entry by entry: the valid one acts, the next faults. */
static void test_nested_invalidate_huge_entry_num(void **state)
{
	struct fixture *f = *state;
	const struct iommu_hwpt_invalidate_selftest one = { .iotlb_id = 2 };
	struct mock_ids dev = { 0 };
	uint32_t parent = 0, nested = 0, n;
	uint8_t *entry = edge_entry(&one, sizeof(one));
	long peak;

	assert_int_equal(mock_domain(f->ctx, f->ioas, &dev), 0);
	assert_int_equal(hwpt_alloc(f->ctx, dev.idev, f->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
				    &parent), 0);
	assert_int_equal(hwpt_alloc_nested(f->ctx, dev.idev, parent, 0, 0, &nested), 0);

	peak = vm_peak_kib();
	n = 0x10000000;
	assert_int_equal(invalidate(f->ctx, nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, entry,
				    sizeof(one), &n), -EFAULT);
	assert_int_equal(n, 1);
	assert_true(vm_peak_kib() - peak < PEAK_SLACK_KIB);
	assert_int_equal(check_iotlb(f->ctx, nested, 2, 0), 0);
	assert_int_equal(check_iotlb(f->ctx, nested, 1, IOMMU_TEST_IOTLB_DEFAULT), 0);
	munmap(entry + sizeof(one) - PSZ, PSZ);
}

static long mark_dirty(struct uiommufd_ctx *ctx, uint32_t hwpt, uint64_t iova, uint64_t len,
		       uint64_t page_size, const void *bitmap, uint64_t *nr)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DIRTY, .id = hwpt,
		.dirty = { .iova = iova, .length = len, .page_size = page_size,
			   .uptr = (uintptr_t)bitmap },
	};
	long rc = ictl(ctx, IOMMU_TEST_CMD, &cmd);

	if (!rc && nr)
		*nr = cmd.dirty.out_nr_dirty;
	return rc;
}

static long dirty_hwpt(struct fixture *f, uint32_t *hwpt)
{
	struct iommu_hwpt_set_dirty_tracking on = {
		.size = sizeof(on), .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
	};
	struct mock_ids dev = { 0 };

	assert_int_equal(mock_domain(f->ctx, f->ioas, &dev), 0);
	assert_int_equal(hwpt_alloc(f->ctx, dev.idev, f->ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				    hwpt), 0);
	on.hwpt_id = *hwpt;
	return ictl(f->ctx, IOMMU_HWPT_SET_DIRTY_TRACKING, &on);
}

/*
 * DIRTY's bitmap is sized by length / page_size: a 1 GiB bitmap over one
 * readable page is EFAULT without a 1 GiB buffer, and one larger than the
 * kernel's kvzalloc() allows (INT_MAX bytes) is ENOMEM.
 */
static void test_dirty_huge_bitmap(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = MOCK_APERTURE_START, nr = 0, got[1] = { 0 };
	uint8_t *bits = edge_entry(&(uint8_t){ 0xff }, 1);
	uint32_t hwpt = 0;
	long peak;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(dirty_hwpt(f, &hwpt), 0);

	peak = vm_peak_kib();
	assert_int_equal(mark_dirty(f->ctx, hwpt, 0, 1ull << 33, 1, bits, &nr), -EFAULT);
	assert_int_equal(mark_dirty(f->ctx, hwpt, 0, 1ull << 40, 1, bits, &nr), -ENOMEM);
	assert_true(vm_peak_kib() - peak < PEAK_SLACK_KIB);

	/* Bits whose granules were readable were not marked either: the bitmap faulted. */
	{
		struct iommu_hwpt_get_dirty_bitmap get = {
			.size = sizeof(get), .hwpt_id = hwpt, .iova = MOCK_APERTURE_START,
			.length = NPAGES * PSZ, .page_size = PSZ, .data = (uintptr_t)got,
		};
		uint8_t *two = edge_entry(&(uint8_t){ 0x0f }, 1);

		/* One readable byte then a fault: EFAULT and nothing dirty. */
		assert_int_equal(mark_dirty(f->ctx, hwpt, MOCK_APERTURE_START, 16 * PSZ, PSZ,
					    two, &nr), -EFAULT);
		assert_int_equal(ictl(f->ctx, IOMMU_HWPT_GET_DIRTY_BITMAP, &get), 0);
		assert_int_equal(got[0], 0);
		/* The same byte alone marks the four pages. */
		assert_int_equal(mark_dirty(f->ctx, hwpt, MOCK_APERTURE_START, NPAGES * PSZ, PSZ,
					    two, &nr), 0);
		assert_int_equal(nr, 4);
		assert_int_equal(ictl(f->ctx, IOMMU_HWPT_GET_DIRTY_BITMAP, &get), 0);
		assert_int_equal(got[0], 0xf);
		munmap(two + 1 - PSZ, PSZ);
	}
	munmap(bits + 1 - PSZ, PSZ);
}

/* close() as the shim would report it: without the shim nothing sees close(). */
static void access_close(int fd)
{
	uiommufd_host_inproc_fd_closed(fd);
	assert_int_equal(close(fd), 0);
}

static long create_access(struct uiommufd_ctx *ctx, uint32_t ioas, uint32_t flags, int *fd)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = ioas,
		.create_access = { .flags = flags },
	};
	long rc = ictl(ctx, IOMMU_TEST_CMD, &cmd);

	if (!rc)
		*fd = (int)cmd.create_access.out_access_fd;
	return rc;
}

/* @cmd copied into a page that is then made read-only; munmap the result. */
static struct iommu_test_cmd *read_only_cmd(const struct iommu_test_cmd *cmd)
{
	struct iommu_test_cmd *ro = (void *)map_pages(1);

	memcpy(ro, cmd, sizeof(*cmd));
	assert_int_equal(mprotect(ro, PSZ, PROT_READ), 0);
	return ro;
}

/* ACCESS_PAGES over a range that wraps the IOVA space: the pin says EOVERFLOW. */
static void test_access_pages_wrapping_range(void **state)
{
	struct fixture *f = *state;
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_PAGES,
		.access_pages = { .iova = -PSZ, .length = 2 * PSZ },
	};
	int fd = -1;

	assert_int_equal(create_access(f->ctx, f->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				       &fd), 0);
	cmd.id = (uint32_t)fd;
	assert_int_equal(ictl(f->ctx, IOMMU_TEST_CMD, &cmd), -EOVERFLOW);
	access_close(fd);
}

/* CREATE_ACCESS with a reply that cannot be written: nothing stays. */
static void test_create_access_reply_faults(void **state)
{
	struct fixture *f = *state;
	const struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = f->ioas,
		.create_access = { .flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES },
	};
	struct iommu_test_cmd *ro = read_only_cmd(&cmd);
	int before = count_fds(), fd = -1;

	assert_int_equal(ictl(f->ctx, IOMMU_TEST_CMD, ro), -EFAULT);
	assert_int_equal(count_fds(), before);
	/* The IOAS has no user left. */
	assert_int_equal(destroy(f->ctx, f->ioas), 0);

	/* And the op itself still works on a fresh IOAS. */
	f->ioas = ioas_alloc(f->ctx);
	assert_int_equal(create_access(f->ctx, f->ioas, 0, &fd), 0);
	assert_int_equal(count_fds(), before + 1);
	assert_int_equal(destroy(f->ctx, f->ioas), -EBUSY);
	access_close(fd);
	assert_int_equal(destroy(f->ctx, f->ioas), 0);
	munmap(ro, PSZ);
}

/* MOCK_DOMAIN(_FLAGS) with a faulting reply: no device, no HWPT, no object. */
static void test_mock_domain_reply_faults(void **state)
{
	struct fixture *f = *state;
	static const uint32_t ops[] = { IOMMU_TEST_OP_MOCK_DOMAIN, IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS };
	struct mock_ids ids = { 0 };
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const struct iommu_test_cmd cmd = {
			.size = sizeof(cmd), .op = ops[i], .id = f->ioas,
		};
		struct iommu_test_cmd *ro = read_only_cmd(&cmd);

		assert_int_equal(ictl(f->ctx, IOMMU_TEST_CMD, ro), -EFAULT);
		munmap(ro, PSZ);
	}
	/* The IOAS had nothing attached; the next objects take the lowest IDs. */
	assert_int_equal(mock_domain(f->ctx, f->ioas, &ids), 0);
	assert_int_equal(ids.stdev, f->ioas + 1);
	assert_int_equal(destroy(f->ctx, ids.stdev), 0);
	assert_int_equal(destroy(f->ctx, f->ioas), 0);
}

/*
 * MD_CHECK_REFS over a huge PROT_NONE reservation: the kernel's
 * get_user_pages() refuses the first unreadable page, so the answer is
 * EFAULT at once, not a walk of every page (found by fuzz_ioctl as a
 * 26-second timeout over ASan's shadow gap).
 */
static void test_check_refs_unreadable_reservation(void **state)
{
	struct fixture *f = *state;
	const size_t len = 1ULL << 40;
	void *resv = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = len, .uptr = (uintptr_t)resv, .refs = 0 },
	};
	struct timespec t0, t1;

	assert_ptr_not_equal(resv, MAP_FAILED);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(ictl(f->ctx, IOMMU_TEST_CMD, &cmd), -EFAULT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Not a benchmark: a walk of 2^28 pages would take minutes. */
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	/* Readable, unpinned pages still count 0 refs. */
	cmd.check_refs.uptr = (uintptr_t)f->buf;
	cmd.check_refs.length = PSZ;
	assert_int_equal(ictl(f->ctx, IOMMU_TEST_CMD, &cmd), 0);
	munmap(resv, len);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		/* First: VmPeak only shows growth beyond every earlier peak. */
		T(test_dirty_huge_bitmap),
		T(test_viommu_invalidate_huge_entry_num),
		T(test_nested_invalidate_huge_entry_num),
		T(test_access_pages_wrapping_range),
		T(test_create_access_reply_faults),
		T(test_mock_domain_reply_faults),
		T(test_check_refs_unreadable_reservation),
	};

	/* ST_FILTER=name runs one test while debugging. */
	if (getenv("ST_FILTER"))
		cmocka_set_test_filter(getenv("ST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
