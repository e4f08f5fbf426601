// SPDX-License-Identifier: MIT
/* Pinning and accounting (pages.c) over the in-process host (inproc.c). */
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "helpers.h"
#include "core/io_pagetable.h"
#include "host/inproc.h"

static long pins_at(const void *p)
{
	return uiommufd_page_pins(uiommufd_host_inproc(), (uintptr_t)p);
}

static struct iopt_pages *user_pages(struct uiommufd_ctx *ctx, void *p, size_t len)
{
	struct iopt_pages *pages =
		iopt_alloc_user_pages((struct iommufd_ctx *)ctx, (uintptr_t)p, len, true);

	assert_false(IS_ERR(pages));
	return pages;
}

static void test_pin_counts_once_per_page(void **state)
{
	uint8_t *buf = map_pages(8);
	struct iopt_pages *pages = user_pages(*state, buf, 8 * PSZ);

	assert_int_equal(iopt_pages_pin(pages, 0, 3), 0);
	/* A second user of overlapping pages does not pin them twice. */
	assert_int_equal(iopt_pages_pin(pages, 2, 5), 0);
	assert_int_equal(iopt_pages_npinned(pages), 6);
	assert_int_equal(pins_at(buf + 2 * PSZ), 1);
	assert_int_equal(pins_at(buf + 5 * PSZ), 1);
	assert_int_equal(pins_at(buf + 6 * PSZ), 0);
	assert_ptr_equal(iopt_pages_kaddr(pages, 4), buf + 4 * PSZ);

	/* Release the first user: only the pages nobody holds go. */
	iopt_pages_unpin(pages, 0, 3);
	assert_int_equal(iopt_pages_npinned(pages), 4);
	assert_int_equal(pins_at(buf), 0);
	assert_int_equal(pins_at(buf + 2 * PSZ), 1);
	assert_null(iopt_pages_kaddr(pages, 0));
	iopt_pages_unpin(pages, 2, 5);
	assert_int_equal(iopt_pages_npinned(pages), 0);
	assert_int_equal(pins_at(buf + 3 * PSZ), 0);
	iopt_put_pages(pages);
	munmap(buf, 8 * PSZ);
}

static void test_unpin_middle_splits(void **state)
{
	uint8_t *buf = map_pages(8);
	struct iopt_pages *pages = user_pages(*state, buf, 8 * PSZ);

	assert_int_equal(iopt_pages_pin(pages, 0, 7), 0);
	assert_int_equal(iopt_pages_pin(pages, 0, 1), 0);
	assert_int_equal(iopt_pages_pin(pages, 6, 7), 0);
	iopt_pages_unpin(pages, 0, 7);
	assert_int_equal(iopt_pages_npinned(pages), 4);
	assert_int_equal(pins_at(buf + 1 * PSZ), 1);
	assert_int_equal(pins_at(buf + 3 * PSZ), 0);
	assert_int_equal(pins_at(buf + 6 * PSZ), 1);
	assert_ptr_equal(iopt_pages_kaddr(pages, 7), buf + 7 * PSZ);
	/* Destroy releases whatever is left. */
	iopt_put_pages(pages);
	assert_int_equal(pins_at(buf + 1 * PSZ), 0);
	assert_int_equal(pins_at(buf + 7 * PSZ), 0);
	munmap(buf, 8 * PSZ);
}

static void test_pin_efault_leaves_nothing(void **state)
{
	uint8_t *buf = map_pages(8);
	struct iopt_pages *pages = user_pages(*state, buf, 8 * PSZ);
	const uint8_t *ro;

	/* A hole in the middle fails the whole pin. */
	assert_int_equal(munmap(buf + 4 * PSZ, PSZ), 0);
	assert_int_equal(iopt_pages_pin(pages, 0, 7), -EFAULT);
	assert_int_equal(iopt_pages_npinned(pages), 0);
	assert_int_equal(pins_at(buf), 0);
	/* Out of the pages' range is EINVAL. */
	assert_int_equal(iopt_pages_pin(pages, 3, 8), -EINVAL);
	assert_int_equal(pins_at(buf + 4 * PSZ), -EFAULT);
	iopt_put_pages(pages);

	/* A writable pin of read-only memory is EFAULT, as get_user_pages. */
	ro = mmap(NULL, PSZ, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pages = user_pages(*state, (void *)ro, PSZ);
	assert_int_equal(iopt_pages_pin(pages, 0, 0), -EFAULT);
	iopt_put_pages(pages);
	munmap((void *)ro, PSZ);
	munmap(buf, 4 * PSZ);
	munmap(buf + 5 * PSZ, 3 * PSZ);
}

static void test_pinned_pages_survive_munmap(void **state)
{
	uint8_t *buf = map_pages(4), *k;
	struct iopt_pages *pages = user_pages(*state, buf, 4 * PSZ);

	assert_int_equal(iopt_pages_pin(pages, 1, 2), 0);
	buf[PSZ] = 0xab;
	/* What the shim does before the program's munmap. */
	uiommufd_host_inproc_unmap_notify(buf, 4 * PSZ);
	assert_int_equal(munmap(buf, 4 * PSZ), 0);
	k = iopt_pages_kaddr(pages, 1);
	assert_non_null(k);
	assert_ptr_not_equal(k, buf + PSZ);
	/* The pinned pages still hold what the program wrote. */
	assert_int_equal(k[0], 0xab);
	assert_int_equal(((uint8_t *)iopt_pages_kaddr(pages, 2))[5], 0x5a);
	/* The user address is not pinned any more: the program gave it up. */
	assert_int_equal(pins_at(buf + PSZ), -EFAULT);
	/* Partial release of moved pages works too. */
	iopt_pages_unpin(pages, 2, 2);
	assert_int_equal(iopt_pages_npinned(pages), 1);
	assert_int_equal(((uint8_t *)iopt_pages_kaddr(pages, 1))[0], 0xab);
	iopt_put_pages(pages);
}

static void test_pinned_pages_follow_mremap(void **state)
{
	uint8_t *buf = map_pages(2), *moved;
	struct iopt_pages *pages = user_pages(*state, buf, 2 * PSZ);
	void *hole = mmap(NULL, 4 * PSZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_int_equal(iopt_pages_pin(pages, 0, 1), 0);
	moved = mremap(buf, 2 * PSZ, 2 * PSZ, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
	assert_ptr_equal(moved, hole);
	uiommufd_host_inproc_remap_notify(buf, 2 * PSZ, moved);
	/* The pages moved with the mapping; the pin went with them. */
	assert_ptr_equal(iopt_pages_kaddr(pages, 1), moved + PSZ);
	assert_int_equal(pins_at(moved), 1);
	iopt_put_pages(pages);
	assert_int_equal(pins_at(moved), 0);
	munmap(hole, 4 * PSZ);
}

static int set_effective_cap(int cap, bool on)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	if (on)
		data[cap / 32].effective |= 1u << (cap % 32);
	else
		data[cap / 32].effective &= ~(1u << (cap % 32));
	if (syscall(SYS_capset, &hdr, data))
		return -1;
	/* A raw capset, past the shim: the host's cached capabilities must be told. */
	uiommufd_host_inproc_creds_changed();
	return 0;
}

static void test_accounting_rlimit(void **state)
{
	uint8_t *buf = map_pages(8);
	struct rlimit old, lim;
	struct iopt_pages *pages;
	bool had_cap;

	(void)state;
	getrlimit(RLIMIT_MEMLOCK, &old);
	had_cap = uiommufd_host_inproc()->ops->capable(uiommufd_host_inproc(), HOST_CAP_IPC_LOCK);
	if (had_cap)
		assert_int_equal(set_effective_cap(CAP_IPC_LOCK, false), 0);
	lim.rlim_cur = 4 * PSZ;
	lim.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_MEMLOCK, &lim), 0);

	pages = user_pages(*state, buf, 8 * PSZ);
	assert_int_equal(iopt_pages_pin(pages, 0, 2), 0);
	assert_int_equal(uiommufd_host_inproc_locked_pages(HOST_ACCOUNT_USER), 3);
	/* Past the limit: ENOMEM, nothing more pinned or charged. */
	assert_int_equal(iopt_pages_pin(pages, 3, 5), -ENOMEM);
	assert_int_equal(iopt_pages_npinned(pages), 3);
	assert_int_equal(pins_at(buf + 4 * PSZ), 0);
	assert_int_equal(uiommufd_host_inproc_locked_pages(HOST_ACCOUNT_USER), 3);
	/* Already pinned pages cost nothing more. */
	assert_int_equal(iopt_pages_pin(pages, 0, 3), 0);
	assert_int_equal(uiommufd_host_inproc_locked_pages(HOST_ACCOUNT_USER), 4);
	iopt_put_pages(pages);
	assert_int_equal(uiommufd_host_inproc_locked_pages(HOST_ACCOUNT_USER), 0);

	setrlimit(RLIMIT_MEMLOCK, &old);
	if (had_cap)
		assert_int_equal(set_effective_cap(CAP_IPC_LOCK, true), 0);
	munmap(buf, 8 * PSZ);
}

static void test_close_releases_pins(void **state)
{
	struct uiommufd_ctx *ctx;
	uint8_t *buf = map_pages(4);
	struct iopt_pages *pages;

	(void)state;
	assert_int_equal(uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx), 0);
	pages = user_pages(ctx, buf, 4 * PSZ);
	assert_int_equal(iopt_pages_pin(pages, 0, 3), 0);
	iopt_put_pages(pages);
	uiommufd_ctx_put(ctx);
	/* What the selftest's teardown checks with MD_CHECK_REFS. */
	assert_int_equal(uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx), 0);
	{
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_REFS,
			.check_refs = { .length = 4 * PSZ, .uptr = (uintptr_t)buf, .refs = 0 },
		};

		assert_int_equal(ictl(ctx, IOMMU_TEST_CMD, &cmd), 0);
		cmd.check_refs.refs = 1;
		assert_int_equal(ictl(ctx, IOMMU_TEST_CMD, &cmd), -EIO);
		cmd.check_refs.uptr += 1;
		assert_int_equal(ictl(ctx, IOMMU_TEST_CMD, &cmd), -EINVAL);
	}
	uiommufd_ctx_put(ctx);
	munmap(buf, 4 * PSZ);
}

static void test_file_pin(void **state)
{
	int mfd = memfd_create("pin", 0);
	struct host_file *file;
	struct iopt_pages *pages;
	uint8_t *k;
	struct uiommufd_host *host = uiommufd_host_inproc();

	assert_int_equal(ftruncate(mfd, 4 * PSZ), 0);
	assert_int_equal(pwrite(mfd, "hello", 5, PSZ), 5);
	assert_int_equal(host->ops->file_get(host, mfd, &file), 0);
	pages = iopt_alloc_file_pages((struct iommufd_ctx *)*state, file, PSZ, 2 * PSZ, true);
	assert_false(IS_ERR(pages));
	/* The descriptor may go: the pages hold the file. */
	close(mfd);
	assert_int_equal(iopt_pages_pin(pages, 0, 1), 0);
	k = iopt_pages_kaddr(pages, 0);
	assert_memory_equal(k, "hello", 5);
	iopt_put_pages(pages);
}

static uint64_t map_file(struct uiommufd_ctx *ctx, uint32_t ioas, int fd, uint64_t len,
			 uint32_t flags)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd), .flags = flags, .ioas_id = ioas, .fd = fd, .length = len,
	};

	assert_int_equal(ictl(ctx, IOMMU_IOAS_MAP_FILE, &cmd), 0);
	return cmd.iova;
}

/*
 * One file page pinned read-only and writable: both pins share its
 * physical address, and a device write through the writable IOVA lands
 * in the file, never through the read-only pin's view (which would fault).
 */
static void test_file_mapped_ro_and_rw_dma(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	uint32_t ioas = ioas_alloc(ctx);
	int mfd = memfd_create("ro-rw", MFD_CLOEXEC), i;
	uint64_t ro, rw, ro2, word;
	struct mock_ids dev = {};
	char got[8];

	assert_int_equal(ftruncate(mfd, 4 * PSZ), 0);
	assert_int_equal(mock_domain(ctx, ioas, &dev), 0);
	/* Read-only pins on both sides of the writable one, whatever the index keeps first. */
	ro = map_file(ctx, ioas, mfd, 4 * PSZ, IOMMU_IOAS_MAP_READABLE);
	rw = map_file(ctx, ioas, mfd, 4 * PSZ, RW);
	ro2 = map_file(ctx, ioas, mfd, 4 * PSZ, IOMMU_IOAS_MAP_READABLE);
	for (i = 0; i != 4; i++) {
		word = 0x1122334455667700ULL + (uint64_t)i;
		assert_int_equal(uiommufd_device_dma(ctx, dev.idev, rw + i * PSZ + 8, &word, 8,
						     UIOMMUFD_DMA_WRITE), 0);
		assert_int_equal(pread(mfd, got, 8, (off_t)(i * PSZ + 8)), 8);
		assert_memory_equal(got, &word, 8);
		word = 0;
		assert_int_equal(uiommufd_device_dma(ctx, dev.idev, ro + i * PSZ + 8, &word, 8, 0), 0);
		assert_int_equal(word, 0x1122334455667700ULL + (uint64_t)i);
		/* Through a read-only IOVA a write is the IOMMU's to refuse. */
		assert_int_equal(uiommufd_device_dma(ctx, dev.idev, ro2 + i * PSZ, &word, 8,
						     UIOMMUFD_DMA_WRITE), -EPERM);
	}
	/* With only read-only pins left, writes still fail cleanly. */
	assert_int_equal(ioas_unmap(ctx, ioas, rw, 4 * PSZ, NULL), 0);
	assert_int_equal(uiommufd_device_dma(ctx, dev.idev, ro, &word, 8, UIOMMUFD_DMA_WRITE),
			 -EPERM);
	assert_int_equal(uiommufd_device_dma(ctx, dev.idev, ro2 + PSZ + 8, &word, 8, 0), 0);
	assert_int_equal(word, 0x1122334455667701ULL);
	close(mfd);
}

/* Device DMA after MADV_DONTNEED of its pinned pages: the device keeps them. */
static void test_device_dma_after_dontneed(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	uint32_t ioas = ioas_alloc(ctx);
	uint8_t *buf = map_pages(2), got[4];
	struct mock_ids dev = {};
	uint64_t iova = 0;

	assert_int_equal(mock_domain(ctx, ioas, &dev), 0);
	assert_int_equal(ioas_map(ctx, ioas, buf, 2 * PSZ, &iova, RW), 0);
	assert_int_equal(uiommufd_device_dma(ctx, dev.idev, iova, got, 4, 0), 0);
	assert_int_equal(got[0], 0x5a);
	assert_int_equal(uiommufd_host_inproc_madvise(buf, 2 * PSZ, MADV_DONTNEED), 0);
	assert_int_equal(buf[PSZ], 0);
	assert_int_equal(uiommufd_device_dma(ctx, dev.idev, iova + PSZ, got, 4, 0), 0);
	assert_int_equal(got[3], 0x5a);
	/* A device write lands in the pinned page, not in the program's new one. */
	memset(got, 0xa7, 4);
	assert_int_equal(uiommufd_device_dma(ctx, dev.idev, iova + PSZ, got, 4, UIOMMUFD_DMA_WRITE),
			 0);
	assert_int_equal(buf[PSZ], 0);
	memset(got, 0, 4);
	assert_int_equal(uiommufd_device_dma(ctx, dev.idev, iova + PSZ, got, 4, 0), 0);
	assert_int_equal(got[0], 0xa7);
	assert_int_equal(ioas_unmap(ctx, ioas, iova, 2 * PSZ, NULL), 0);
	munmap(buf, 2 * PSZ);
}

/*
 * Single pages mapped with a domain, then unmapped: an unmap keeps such
 * pins back a few unmaps (io_pagetable.c), which nothing may show.  The
 * device faults at once, the pages read no pins, the next command sees
 * none, and under RLIMIT_MEMLOCK a map right after finds the charge free.
 */
enum { LATE_N = 6 };	/* fewer than the areas kept back: all are still waiting */
#define LATE_IOVA(i) ((1ul << 24) + (uint64_t)(i) * PSZ)

static void map_and_unmap_each(struct uiommufd_ctx *ctx, uint32_t ioas, uint8_t *buf)
{
	uint64_t iova;
	int i;

	for (i = 0; i != LATE_N; i++) {
		iova = LATE_IOVA(i);
		assert_int_equal(ioas_map(ctx, ioas, buf + i * PSZ, PSZ, &iova, RW_FIXED), 0);
	}
	for (i = 0; i != LATE_N; i++)
		assert_int_equal(ioas_unmap(ctx, ioas, LATE_IOVA(i), PSZ, NULL), 0);
}

static void test_unmapped_pins_go_at_once(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	uint32_t ioas = ioas_alloc(ctx);
	uint8_t *buf = map_pages(2 * LATE_N), got[4];
	struct mock_ids dev = {};
	struct rlimit old, lim;
	bool had_cap;
	int i;

	assert_int_equal(mock_domain(ctx, ioas, &dev), 0);
	map_and_unmap_each(ctx, ioas, buf);
	for (i = 0; i != LATE_N; i++) {
		assert_int_equal(uiommufd_device_dma(ctx, dev.idev, LATE_IOVA(i), got, 4, 0), -EFAULT);
		assert_int_equal(pins_at(buf + i * PSZ), 0);
	}
	map_and_unmap_each(ctx, ioas, buf);
	assert_int_equal(check_refs(ctx, buf, LATE_N * PSZ, 0), 0);

	/* The limit is exactly one round's pages: each round needs the last one's back. */
	getrlimit(RLIMIT_MEMLOCK, &old);
	had_cap = uiommufd_host_inproc()->ops->capable(uiommufd_host_inproc(), HOST_CAP_IPC_LOCK);
	if (had_cap)
		assert_int_equal(set_effective_cap(CAP_IPC_LOCK, false), 0);
	lim.rlim_cur = LATE_N * PSZ;
	lim.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_MEMLOCK, &lim), 0);
	for (i = 0; i != 4; i++)
		map_and_unmap_each(ctx, ioas, buf + (i % 2) * LATE_N * PSZ);
	assert_int_equal(check_refs(ctx, buf, 2 * LATE_N * PSZ, 0), 0);
	assert_int_equal(uiommufd_host_inproc_locked_pages(HOST_ACCOUNT_USER), 0);
	setrlimit(RLIMIT_MEMLOCK, &old);
	if (had_cap)
		assert_int_equal(set_effective_cap(CAP_IPC_LOCK, true), 0);
	munmap(buf, 2 * LATE_N * PSZ);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_ctx, teardown_ctx)
	const struct CMUnitTest tests[] = {
		T(test_pin_counts_once_per_page),
		T(test_unpin_middle_splits),
		T(test_pin_efault_leaves_nothing),
		T(test_pinned_pages_survive_munmap),
		T(test_pinned_pages_follow_mremap),
		T(test_accounting_rlimit),
		T(test_close_releases_pins),
		T(test_file_pin),
		T(test_file_mapped_ro_and_rw_dma),
		T(test_device_dma_after_dontneed),
		T(test_unmapped_pins_go_at_once),
	};

	return cmocka_run_group_tests_name("pages", tests, NULL, NULL);
}
