// SPDX-License-Identifier: MIT
/* The IOAS ioctls (ioas.c, io_pagetable.c): results, errnos, partial outputs. */
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "helpers.h"

struct fixture {
	struct uiommufd_ctx *ctx;
	uint32_t ioas;
	uint8_t *buf;		/* 16 pages, 2 MiB aligned */
};

#define NPAGES 16

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || uiommufd_ctx_open(uiommufd_host_inproc(), 0, &f->ctx))
		return -1;
	f->ioas = ioas_alloc(f->ctx);
	if (posix_memalign((void **)&f->buf, 2 << 20, NPAGES * PSZ))
		return -1;
	memset(f->buf, 0x11, NPAGES * PSZ);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	uiommufd_ctx_put(f->ctx);
	free(f->buf);
	free(f);
	return 0;
}

static void test_map_bad_input(void **state)
{
	struct fixture *f = *state;
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = RW, .ioas_id = f->ioas,
		.user_va = (uintptr_t)f->buf, .length = PSZ,
	};

	cmd.flags = RW | (1 << 10);
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP, &cmd), -EOPNOTSUPP);
	cmd.flags = RW;
	cmd.__reserved = 1;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP, &cmd), -EOPNOTSUPP);
	cmd.__reserved = 0;
	cmd.length = UINT64_MAX;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP, &cmd), -EOVERFLOW);
	cmd.length = PSZ;
	cmd.flags = IOMMU_IOAS_MAP_FIXED_IOVA;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP, &cmd), -EINVAL);
	cmd.flags = RW;
	cmd.ioas_id = f->ioas + 100;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP, &cmd), -ENOENT);
	cmd.ioas_id = f->ioas;
	cmd.length = 0;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP, &cmd), -EINVAL);
	/* user_va + length wrapping the address space */
	cmd.user_va = UINT64_MAX - PSZ + 1;
	cmd.length = 2 * PSZ;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP, &cmd), -EOVERFLOW);
	/* Fixed IOVA whose end overflows */
	cmd.user_va = (uintptr_t)f->buf;
	cmd.flags = RW_FIXED;
	cmd.iova = ULONG_MAX - PSZ;
	cmd.length = 2 * PSZ;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP, &cmd), -EOVERFLOW);
	/* Nothing of the above left anything behind. */
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, 0, UINT64_MAX, NULL), 0);
}

static void test_map_fixed_and_overlap(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = 1 << 20, unmapped;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 4 * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(iova, 1 << 20);
	/* Any overlap with an area is EEXIST. */
	iova = (1 << 20) + 3 * PSZ;
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 4 * PSZ, &iova, RW_FIXED), -EEXIST);
	iova = (1 << 20) - PSZ;
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 2 * PSZ, &iova, RW_FIXED), -EEXIST);
	/* Touching is fine. */
	iova = (1 << 20) + 4 * PSZ;
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, 1 << 20, 5 * PSZ, &unmapped), 0);
	assert_int_equal(unmapped, 5 * PSZ);
}

static void test_map_without_domain_is_lazy(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = 0;

	/* Nothing is pinned or touched without a domain: as the kernel. */
	assert_int_equal(ioas_map(f->ctx, f->ioas, (void *)(1UL << 31), PSZ, &iova, RW), 0);
	iova = 0;
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 1, &iova, RW), 0);
	assert_int_equal(uiommufd_page_pins(uiommufd_host_inproc(), (uintptr_t)f->buf), 0);
}

static void test_auto_iova_rules(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = 0, iova2 = 0;

	/* Never IOVA 0; the alignment of the source is kept. */
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 4 * PSZ, &iova, RW), 0);
	assert_int_not_equal(iova, 0);
	assert_int_equal(iova % (4 * PSZ), 0);
	/* The page offset of the user address is kept. */
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf + 0x123, 100, &iova2, RW), 0);
	assert_int_equal(iova2 % PSZ, 0x123);
	assert_true(iova2 + 100 <= iova || iova2 >= iova + 4 * PSZ);
}

static void test_auto_iova_enospc_with_allowed(void **state)
{
	struct fixture *f = *state;
	struct iommu_iova_range range = { .start = 1 << 24, .last = (1 << 24) + 4 * PSZ - 1 };
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow), .ioas_id = f->ioas, .num_iovas = 1,
		.allowed_iovas = (uintptr_t)&range,
	};
	uint64_t iova = 0;

	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_ALLOW_IOVAS, &allow), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 4 * PSZ, &iova, RW), 0);
	assert_int_equal(iova, 1 << 24);
	iova = 0;
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova, RW), -ENOSPC);
	/* Fixed maps may go outside the allowed ranges. */
	iova = 1 << 30;
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova, RW_FIXED), 0);
}

static void test_allow_iovas_rules(void **state)
{
	struct fixture *f = *state;
	struct iommu_iova_range ranges[2] = {
		{ .start = 0x10000, .last = 0x1ffff }, { .start = 0x18000, .last = 0x2ffff },
	};
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow), .ioas_id = f->ioas, .num_iovas = 2,
		.allowed_iovas = (uintptr_t)ranges,
	};
	struct iommu_test_cmd resv = {
		.size = sizeof(resv), .op = IOMMU_TEST_OP_ADD_RESERVED, .id = f->ioas,
		.add_reserved = { .start = 0x40000, .length = 0x1000 },
	};

	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_ALLOW_IOVAS, &allow), -EINVAL);	/* overlap */
	ranges[1].start = 0x30000;
	ranges[1].last = 0x30000;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_ALLOW_IOVAS, &allow), -EINVAL);	/* start >= last */
	allow.allowed_iovas = 8;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_ALLOW_IOVAS, &allow), -EFAULT);
	allow.allowed_iovas = (uintptr_t)ranges;
	allow.__reserved = 1;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_ALLOW_IOVAS, &allow), -EOPNOTSUPP);
	allow.__reserved = 0;

	/* A reserved range inside a new allowed range refuses the whole set. */
	assert_int_equal(ictl(f->ctx, IOMMU_TEST_CMD, &resv), 0);
	ranges[1].start = 0x40000;
	ranges[1].last = 0x4ffff;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_ALLOW_IOVAS, &allow), -EADDRINUSE);
	/* And reserving inside an allowed range is refused too. */
	ranges[1].start = 0x50000;
	ranges[1].last = 0x5ffff;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_ALLOW_IOVAS, &allow), 0);
	resv.add_reserved.start = 0x51000;
	assert_int_equal(ictl(f->ctx, IOMMU_TEST_CMD, &resv), -EADDRINUSE);
	/* An empty set clears them. */
	allow.num_iovas = 0;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_ALLOW_IOVAS, &allow), 0);
	assert_int_equal(ictl(f->ctx, IOMMU_TEST_CMD, &resv), 0);
}

static void test_iova_ranges_emsgsize(void **state)
{
	struct fixture *f = *state;
	struct iommu_iova_range ranges[4] = {};
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd), .ioas_id = f->ioas, .num_iovas = 0,
		.allowed_iovas = (uintptr_t)ranges,
	};
	struct iommu_test_cmd resv = {
		.size = sizeof(resv), .op = IOMMU_TEST_OP_ADD_RESERVED, .id = f->ioas,
		.add_reserved = { .start = PSZ, .length = PSZ },
	};

	/* Nothing reserved: one range, the whole space. */
	cmd.num_iovas = 4;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_IOVA_RANGES, &cmd), 0);
	assert_int_equal(cmd.num_iovas, 1);
	assert_int_equal(ranges[0].start, 0);
	assert_int_equal(ranges[0].last, UINT64_MAX);
	assert_int_equal(cmd.out_iova_alignment, 1);

	assert_int_equal(ictl(f->ctx, IOMMU_TEST_CMD, &resv), 0);
	/* Too small an array: EMSGSIZE, with the count needed written back. */
	cmd.num_iovas = 1;
	memset(ranges, 0, sizeof(ranges));
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_IOVA_RANGES, &cmd), -EMSGSIZE);
	assert_int_equal(cmd.num_iovas, 2);
	assert_int_equal(ranges[0].last, PSZ - 1);
	assert_int_equal(ranges[1].start, 0);	/* not written */
	cmd.num_iovas = 2;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_IOVA_RANGES, &cmd), 0);
	assert_int_equal(ranges[1].start, 2 * PSZ);
	assert_int_equal(ranges[1].last, UINT64_MAX);
	cmd.allowed_iovas = 8;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_IOVA_RANGES, &cmd), -EFAULT);
}

static void test_unmap_rules(void **state)
{
	struct fixture *f = *state;
	uint64_t base = 1 << 24, iova, unmapped = 77;
	int i;

	for (i = 0; i != 4; i++) {
		iova = base + i * 2 * PSZ;
		assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 2 * PSZ, &iova, RW_FIXED), 0);
	}
	/* Cutting an area is ENOENT; so is a range with nothing in it. */
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, base + PSZ, PSZ, NULL), -ENOENT);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, base - 4 * PSZ, 2 * PSZ, NULL), -ENOENT);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, base, 0, NULL), -EINVAL);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, UINT64_MAX - 2, 1, NULL), -ENOENT);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, UINT64_MAX - 2, 4, NULL), -EOVERFLOW);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, UINT64_MAX, 1, NULL), -EOVERFLOW);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas + 9, base, PSZ, NULL), -ENOENT);
	/* A failing unmap keeps what it removed before the cut (the kernel's rule). */
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, base, 3 * PSZ, NULL), -ENOENT);
	iova = base;
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 2 * PSZ, &iova, RW_FIXED), 0);
	/* Whole areas inside the range go; length reports the bytes. */
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, base - PSZ, 5 * PSZ, &unmapped), 0);
	assert_int_equal(unmapped, 4 * PSZ);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, 0, UINT64_MAX, &unmapped), 0);
	assert_int_equal(unmapped, 4 * PSZ);
	/* Unmap all of nothing succeeds with 0. */
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, 0, UINT64_MAX, &unmapped), 0);
	assert_int_equal(unmapped, 0);
}

static void test_copy(void **state)
{
	struct fixture *f = *state;
	uint32_t dst = ioas_alloc(f->ctx);
	uint64_t iova = 1 << 24, unmapped;
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd), .flags = RW_FIXED, .dst_ioas_id = dst, .src_ioas_id = f->ioas,
		.dst_iova = 1 << 26, .length = 2 * PSZ, .src_iova = (1 << 24) + PSZ,
	};

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 4 * PSZ, &iova, RW_FIXED), 0);
	iova += 4 * PSZ;
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 4 * PSZ, &iova, RW_FIXED), 0);
	/* Any slice of contiguous areas may be copied. */
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_COPY, &cmd), 0);
	cmd.src_iova = (1 << 24) + 3 * PSZ;
	cmd.dst_iova = 1 << 27;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_COPY, &cmd), 0);	/* spans two areas */
	/* One piece per source area: cutting between them is fine, through one is not. */
	assert_int_equal(ioas_unmap(f->ctx, dst, (1 << 27) + PSZ / 2, PSZ, &unmapped), -ENOENT);
	assert_int_equal(ioas_unmap(f->ctx, dst, 1 << 27, PSZ, &unmapped), 0);
	assert_int_equal(unmapped, PSZ);
	/* A hole in the source is ENOENT; a taken destination EEXIST. */
	cmd.src_iova = (1 << 24) + 7 * PSZ;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_COPY, &cmd), -ENOENT);
	cmd.src_iova = 1 << 24;
	cmd.dst_iova = 1 << 26;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_COPY, &cmd), -EEXIST);
	cmd.dst_ioas_id = 99;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_COPY, &cmd), -ENOENT);
	cmd.dst_ioas_id = dst;
	cmd.flags = 0;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_COPY, &cmd), -EINVAL);
	cmd.flags = 1 << 9;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_COPY, &cmd), -EOPNOTSUPP);
	/* Automatic destination IOVA. */
	cmd.flags = RW;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_COPY, &cmd), 0);
	assert_int_not_equal(cmd.dst_iova, 1 << 26);
	/* The source going away leaves the copies intact. */
	assert_int_equal(destroy(f->ctx, f->ioas), 0);
	assert_int_equal(ioas_unmap(f->ctx, dst, 0, UINT64_MAX, &unmapped), 0);
	assert_int_equal(unmapped, 5 * PSZ);
}

static void test_huge_pages_option_and_alignment(void **state)
{
	struct fixture *f = *state;
	struct iommu_option opt = {
		.size = sizeof(opt), .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_GET, .object_id = f->ioas,
	};
	struct iommu_ioas_iova_ranges ranges = { .size = sizeof(ranges), .ioas_id = f->ioas };
	uint64_t iova = 0;

	assert_int_equal(ictl(f->ctx, IOMMU_OPTION, &opt), 0);
	assert_int_equal(opt.val64, 1);
	/* An unaligned area blocks disabling large pages (alignment PAGE_SIZE). */
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf + 1, PSZ, &iova, RW), 0);
	opt.op = IOMMU_OPTION_OP_SET;
	opt.val64 = 0;
	assert_int_equal(ictl(f->ctx, IOMMU_OPTION, &opt), -EADDRINUSE);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, 0, UINT64_MAX, NULL), 0);
	assert_int_equal(ictl(f->ctx, IOMMU_OPTION, &opt), 0);
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_IOVA_RANGES, &ranges), -EMSGSIZE);
	assert_int_equal(ranges.out_iova_alignment, PSZ);
	/* Now unaligned maps fail. */
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf + 1, PSZ, &iova, RW), -EINVAL);
	opt.val64 = 2;
	assert_int_equal(ictl(f->ctx, IOMMU_OPTION, &opt), -EINVAL);
	opt.val64 = 1;
	assert_int_equal(ictl(f->ctx, IOMMU_OPTION, &opt), 0);
	opt.object_id = 77;
	assert_int_equal(ictl(f->ctx, IOMMU_OPTION, &opt), -ENOENT);
}

static void test_map_file(void **state)
{
	struct fixture *f = *state;
	int mfd = memfd_create("t", 0);
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd), .flags = RW, .ioas_id = f->ioas, .fd = mfd,
		.start = PSZ, .length = 2 * PSZ,
	};

	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, 4 * PSZ), 0);
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP_FILE, &cmd), 0);
	assert_int_equal(cmd.iova % PSZ, 0);
	/* Outside the file: EINVAL; a bad descriptor: EBADF. */
	cmd.start = 3 * PSZ;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP_FILE, &cmd), -EINVAL);
	cmd.start = 0;
	cmd.fd = -1;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP_FILE, &cmd), -EBADF);
	cmd.fd = 9999;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP_FILE, &cmd), -EBADF);
	cmd.fd = mfd;
	assert_int_equal(ftruncate(mfd, 0), 0);
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP_FILE, &cmd), -EINVAL);
	close(mfd);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, 0, UINT64_MAX, NULL), 0);
}

static void map_file_at(struct fixture *f, int mfd, uint64_t iova)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd), .flags = RW_FIXED, .ioas_id = f->ioas, .fd = mfd,
		.length = PSZ, .iova = iova,
	};

	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_MAP_FILE, &cmd), 0);
}

/*
 * Unmapped user memory may be forgotten a few unmaps late (its release is
 * invisible), but a file area lets go of its file before the unmap returns,
 * whatever else the IOAS holds and however many unmaps came before.
 */
static void test_unmap_releases_file_at_once(void **state)
{
	struct fixture *f = *state;
	uint64_t base = 1 << 24, iova, unmapped;
	int mfd = memfd_create("t", 0), before, i;

	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, PSZ), 0);
	before = count_fds();
	/* A file area among user areas, the user areas going first. */
	for (i = 0; i != 3; i++) {
		iova = base + i * PSZ;
		assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova, RW_FIXED), 0);
	}
	map_file_at(f, mfd, base + 3 * PSZ);
	assert_int_equal(count_fds(), before + 1);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, base, 3 * PSZ, &unmapped), 0);
	assert_int_equal(unmapped, 3 * PSZ);
	assert_int_equal(count_fds(), before + 1);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, base + 3 * PSZ, PSZ, &unmapped), 0);
	assert_int_equal(unmapped, PSZ);
	assert_int_equal(count_fds(), before);
	/* Many user areas come and go (their frees wait), then a file area alone. */
	for (i = 0; i != 40; i++) {
		iova = base + (uint64_t)(i % 5) * PSZ;
		assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf + (i % NPAGES) * PSZ, PSZ, &iova,
					  RW_FIXED), 0);
		if (i % 5 == 4) {
			assert_int_equal(ioas_unmap(f->ctx, f->ioas, base, 5 * PSZ, &unmapped), 0);
			assert_int_equal(unmapped, 5 * PSZ);
		}
	}
	map_file_at(f, mfd, base);
	assert_int_equal(count_fds(), before + 1);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, base, PSZ, &unmapped), 0);
	assert_int_equal(count_fds(), before);
	/* One unmap over a user area and, after it, a file area. */
	iova = base;
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova, RW_FIXED), 0);
	map_file_at(f, mfd, base + PSZ);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, base, 2 * PSZ, &unmapped), 0);
	assert_int_equal(unmapped, 2 * PSZ);
	assert_int_equal(count_fds(), before);
	close(mfd);
}

static void test_change_process(void **state)
{
	struct fixture *f = *state;
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };
	uint64_t iova = 0;

	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_CHANGE_PROCESS, &cmd), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova, RW), 0);
	/* Only file-backed areas can change owner. */
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_CHANGE_PROCESS, &cmd), -EINVAL);
	cmd.__reserved = 1;
	assert_int_equal(ictl(f->ctx, IOMMU_IOAS_CHANGE_PROCESS, &cmd), -EOPNOTSUPP);
}

static void test_vfio_compat(void **state)
{
	struct fixture *f = *state;
	struct iommu_vfio_ioas vio = { .size = sizeof(vio), .op = IOMMU_VFIO_IOAS_GET };

	assert_int_equal(ictl(f->ctx, IOMMU_VFIO_IOAS, &vio), -ENODEV);
	vio.op = IOMMU_VFIO_IOAS_SET;
	vio.ioas_id = f->ioas;
	assert_int_equal(ictl(f->ctx, IOMMU_VFIO_IOAS, &vio), 0);
	vio.op = IOMMU_VFIO_IOAS_GET;
	vio.ioas_id = 0;
	assert_int_equal(ictl(f->ctx, IOMMU_VFIO_IOAS, &vio), 0);
	assert_int_equal(vio.ioas_id, f->ioas);
	/* The compat IOAS does not keep its object alive. */
	assert_int_equal(destroy(f->ctx, f->ioas), 0);
	assert_int_equal(ictl(f->ctx, IOMMU_VFIO_IOAS, &vio), -ENODEV);
	vio.op = 9;
	assert_int_equal(ictl(f->ctx, IOMMU_VFIO_IOAS, &vio), -EOPNOTSUPP);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_map_bad_input),
		T(test_map_fixed_and_overlap),
		T(test_map_without_domain_is_lazy),
		T(test_auto_iova_rules),
		T(test_auto_iova_enospc_with_allowed),
		T(test_allow_iovas_rules),
		T(test_iova_ranges_emsgsize),
		T(test_unmap_rules),
		T(test_copy),
		T(test_huge_pages_option_and_alignment),
		T(test_map_file),
		T(test_unmap_releases_file_at_once),
		T(test_change_process),
		T(test_vfio_compat),
	};

	return cmocka_run_group_tests_name("ioas", tests, NULL, NULL);
}
