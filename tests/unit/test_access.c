// SPDX-License-Identifier: MIT
/*
 * Accesses (device.c, io_pagetable.c) through the selftest's access files:
 * IOMMU_TEST_OP_CREATE_ACCESS hands out a descriptor, and ACCESS_PAGES,
 * ACCESS_RW, DESTROY_ACCESS_PAGES and ACCESS_REPLACE_IOAS name the access by
 * that descriptor.  Without the shim nothing sees close(), so the tests tell
 * the library themselves (uiommufd_host_inproc_fd_closed), as an embedding
 * program does.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "helpers.h"

struct fixture {
	struct uiommufd_ctx *ctx;
	uint32_t ioas;
	uint8_t *buf;		/* NPAGES pages of its own mapping */
};

#define NPAGES 16

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	size_t i;

	if (!f || fixture_open(&f->ctx, &f->ioas, &f->buf, NPAGES))
		return -1;
	for (i = 0; i != NPAGES * PSZ; i++)
		f->buf[i] = (uint8_t)(i * 13 + 1);
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

/* close() as the shim would report it. */
static void access_close(int fd)
{
	uiommufd_host_inproc_fd_closed(fd);
	assert_int_equal(close(fd), 0);
}

static long access_pages(struct uiommufd_ctx *ctx, int fd, uint64_t iova, uint64_t len,
			 const void *uptr, uint32_t flags, uint32_t *id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_PAGES, .id = (uint32_t)fd,
		.access_pages = { .flags = flags, .iova = iova, .length = len,
				  .uptr = (uintptr_t)uptr },
	};
	long rc = ictl(ctx, IOMMU_TEST_CMD, &cmd);

	if (!rc && id)
		*id = cmd.access_pages.out_access_pages_id;
	return rc;
}

static long destroy_access_pages(struct uiommufd_ctx *ctx, int fd, uint32_t id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, .id = (uint32_t)fd,
		.destroy_access_pages = { .access_pages_id = id },
	};

	return ictl(ctx, IOMMU_TEST_CMD, &cmd);
}

static long access_rw(struct uiommufd_ctx *ctx, int fd, uint64_t iova, void *buf, uint64_t len,
		      uint32_t flags)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)fd,
		.access_rw = { .iova = iova, .length = len, .uptr = (uintptr_t)buf,
			       .flags = flags },
	};

	return ictl(ctx, IOMMU_TEST_CMD, &cmd);
}

static long access_replace_ioas(struct uiommufd_ctx *ctx, int fd, uint32_t ioas)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, .id = (uint32_t)fd,
		.access_replace_ioas = { .ioas_id = ioas },
	};

	return ictl(ctx, IOMMU_TEST_CMD, &cmd);
}

static void test_create_access(void **state)
{
	struct fixture *f = *state;
	uint64_t align = 0;
	uint32_t num = 0;
	int fd = -1, fd2 = -1;

	assert_int_equal(create_access(f->ctx, f->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				       &fd), 0);
	assert_true(fd >= 0);
	/* A real descriptor, close-on-exec as the kernel's anon files. */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* A pinning access needs whole pages; a copying one any byte. */
	assert_int_equal(iova_ranges(f->ctx, f->ioas, NULL, &num, &align), -EMSGSIZE);
	assert_int_equal(align, PSZ);
	assert_int_equal(create_access(f->ctx, f->ioas, 0, &fd2), 0);
	assert_int_not_equal(fd2, fd);
	/* Accesses hold their IOAS. */
	assert_int_equal(destroy(f->ctx, f->ioas), -EBUSY);
	access_close(fd);
	num = 0;
	assert_int_equal(iova_ranges(f->ctx, f->ioas, NULL, &num, &align), -EMSGSIZE);
	assert_int_equal(align, 1);
	assert_int_equal(destroy(f->ctx, f->ioas), -EBUSY);
	access_close(fd2);
	assert_int_equal(destroy(f->ctx, f->ioas), 0);
}

static void test_create_access_errors(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = 0;
	uint32_t id;
	int fd = -1;

	assert_int_equal(create_access(f->ctx, f->ioas, 1u << 4, &fd), -EOPNOTSUPP);
	assert_int_equal(create_access(f->ctx, f->ioas + 100, 0, &fd), -ENOENT);
	/* An area that is not on a page boundary refuses a pinning access. */
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf + 0x100, 100, &iova, RW), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				       &fd), -EADDRINUSE);
	assert_int_equal(create_access(f->ctx, f->ioas, 0, &fd), 0);
	access_close(fd);
	/* Nothing was left in the object table. */
	for (id = 1; id < 32; id++)
		if (id != f->ioas)
			assert_int_equal(destroy(f->ctx, id), -ENOENT);
}

static void test_access_object_is_not_the_users(void **state)
{
	struct fixture *f = *state;
	uint32_t id;
	int fd = -1;

	assert_int_equal(create_access(f->ctx, f->ioas, 0, &fd), 0);
	/*
	 * The access has an object ID (the lowest free one, after the IOAS),
	 * but its driver holds it: IOMMU_DESTROY must not free it.
	 */
	for (id = 1; id < 32; id++)
		if (id != f->ioas)
			assert_int_not_equal(destroy(f->ctx, id), 0);
	assert_int_equal(access_rw(f->ctx, fd, 0, f->buf, 1, 0), -ENOENT);
	access_close(fd);
}

static void test_pin_then_unmap(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = 0, unmapped = 0;
	uint32_t item = 0, item2 = 0;
	int fd = -1;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				       &fd), 0);
	assert_int_equal(access_pages(f->ctx, fd, iova, 2 * PSZ, f->buf, 0, &item), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, 2 * PSZ, 1), 0);
	assert_int_equal(check_refs(f->ctx, f->buf + 2 * PSZ, (NPAGES - 2) * PSZ, 0), 0);
	/* Pinning the same pages again counts once. */
	assert_int_equal(access_pages(f->ctx, fd, iova + PSZ, 2 * PSZ, f->buf + PSZ,
				      MOCK_FLAGS_ACCESS_WRITE, &item2), 0);
	assert_int_not_equal(item2, item);
	assert_int_equal(check_refs(f->ctx, f->buf, 3 * PSZ, 1), 0);

	/* The unmap asks the access to let go, and then succeeds. */
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova, NPAGES * PSZ, &unmapped), 0);
	assert_int_equal(unmapped, NPAGES * PSZ);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 0), 0);
	assert_int_equal(destroy_access_pages(f->ctx, fd, item), -ENOENT);
	assert_int_equal(destroy_access_pages(f->ctx, fd, item2), -ENOENT);
	access_close(fd);
}

/*
 * An unmap decides from the index alone only while no access pins inside
 * any area: an area stays held while any of its pins is left, however the
 * pins in other areas come and go, and its unmap still asks the access.
 */
static void test_held_area_counted_per_area(void **state)
{
	struct fixture *f = *state;
	uint64_t iova[3], unmapped = 0;
	uint32_t a1 = 0, a2 = 0, b1 = 0;
	int fd = -1, i;

	for (i = 0; i != 3; i++) {
		iova[i] = 0;
		assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf + i * PSZ, PSZ, &iova[i], RW), 0);
	}
	assert_int_equal(create_access(f->ctx, f->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				       &fd), 0);
	assert_int_equal(access_pages(f->ctx, fd, iova[0], PSZ, f->buf, 0, &a1), 0);
	assert_int_equal(access_pages(f->ctx, fd, iova[0], PSZ, f->buf, 0, &a2), 0);
	assert_int_equal(access_pages(f->ctx, fd, iova[1], PSZ, f->buf + PSZ, 0, &b1), 0);
	/* The second area is let go, and one of the first's two pins. */
	assert_int_equal(destroy_access_pages(f->ctx, fd, b1), 0);
	assert_int_equal(destroy_access_pages(f->ctx, fd, a1), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, PSZ, 1), 0);
	assert_int_equal(check_refs(f->ctx, f->buf + PSZ, PSZ, 0), 0);
	/* Areas without pins go as ever; the held one makes the access let go first. */
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova[2], PSZ, &unmapped), 0);
	assert_int_equal(unmapped, PSZ);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova[1], PSZ, &unmapped), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova[0], PSZ, &unmapped), 0);
	assert_int_equal(unmapped, PSZ);
	assert_int_equal(destroy_access_pages(f->ctx, fd, a2), -ENOENT);
	assert_int_equal(check_refs(f->ctx, f->buf, 3 * PSZ, 0), 0);
	/* Nothing is held now: a pin and its release go by the same rules again. */
	iova[0] = 0;
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, PSZ, &iova[0], RW), 0);
	assert_int_equal(access_pages(f->ctx, fd, iova[0], PSZ, f->buf, 0, &a1), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, 0, UINT64_MAX, &unmapped), 0);
	assert_int_equal(unmapped, PSZ);
	assert_int_equal(destroy_access_pages(f->ctx, fd, a1), -ENOENT);
	assert_int_equal(check_refs(f->ctx, f->buf, PSZ, 0), 0);
	access_close(fd);
}

static void test_pin_errors(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = 1 << 24, ro_iova = (1 << 24) + 16 * PSZ;
	uint32_t item = 0;
	int fd = -1, copier = -1;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 4 * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf + 4 * PSZ, 2 * PSZ, &ro_iova,
				  IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				       &fd), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, 0, &copier), 0);

	/* An access made without NEEDS_PIN_PAGES cannot pin. */
	assert_int_equal(access_pages(f->ctx, copier, iova, PSZ, f->buf, 0, &item), -EOPNOTSUPP);
	/* Unknown flags; not an access. */
	assert_int_equal(access_pages(f->ctx, fd, iova, PSZ, f->buf, 1u << 5, &item),
			 -EOPNOTSUPP);
	assert_int_equal(access_pages(f->ctx, -1, iova, PSZ, f->buf, 0, &item), -EBADFD);
	/* Unmapped IOVA, or past the end of the area (nothing stays pinned). */
	assert_int_equal(access_pages(f->ctx, fd, iova + 64 * PSZ, PSZ, f->buf, 0, &item),
			 -ENOENT);
	assert_int_equal(access_pages(f->ctx, fd, iova + 3 * PSZ, 2 * PSZ, f->buf + 3 * PSZ, 0,
				      &item), -ENOENT);
	assert_int_equal(check_refs(f->ctx, f->buf, 6 * PSZ, 0), 0);
	/* Writing a read-only area. */
	assert_int_equal(access_pages(f->ctx, fd, ro_iova, PSZ, f->buf + 4 * PSZ,
				      MOCK_FLAGS_ACCESS_WRITE, &item), -EPERM);
	assert_int_equal(access_pages(f->ctx, fd, ro_iova, PSZ, f->buf + 4 * PSZ, 0, &item), 0);
	assert_int_equal(destroy_access_pages(f->ctx, fd, item), 0);
	/* The pages pinned must be the ones the program sees at uptr. */
	assert_int_equal(access_pages(f->ctx, fd, iova, PSZ, f->buf + PSZ, 0, &item), -EBADE);
	assert_int_equal(check_refs(f->ctx, f->buf, 6 * PSZ, 0), 0);
	/* Zero length. */
	assert_int_equal(access_pages(f->ctx, fd, iova, 0, f->buf, 0, &item), -EINVAL);

	/* A sub-page range pins its page. */
	assert_int_equal(access_pages(f->ctx, fd, iova + PSZ + 100, 200, f->buf + PSZ + 100, 0,
				      &item), 0);
	assert_int_equal(check_refs(f->ctx, f->buf + PSZ, PSZ, 1), 0);
	assert_int_equal(destroy_access_pages(f->ctx, fd, item), 0);
	assert_int_equal(destroy_access_pages(f->ctx, fd, item), -ENOENT);
	assert_int_equal(check_refs(f->ctx, f->buf, 6 * PSZ, 0), 0);
	assert_int_equal(destroy_access_pages(f->ctx, -1, item), -EBADFD);
	access_close(copier);
	access_close(fd);
}

static void test_pins_with_domain(void **state)
{
	struct fixture *f = *state;
	struct mock_ids m = {};
	uint64_t iova = 0;
	uint32_t item = 0;
	int fd = -1;

	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				       &fd), 0);
	assert_int_equal(access_pages(f->ctx, fd, iova, 4 * PSZ, f->buf, 0, &item), 0);
	/* The domain and the access share one pin per page. */
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 1), 0);
	assert_int_equal(destroy(f->ctx, m.stdev), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, 4 * PSZ, 1), 0);
	assert_int_equal(check_refs(f->ctx, f->buf + 4 * PSZ, (NPAGES - 4) * PSZ, 0), 0);
	/* A domain attached later maps the IOAS whatever the access holds. */
	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(check_map(f->ctx, m.hwpt, iova, NPAGES * PSZ, f->buf), 0);
	assert_int_equal(destroy_access_pages(f->ctx, fd, item), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 1), 0);
	access_close(fd);
	assert_int_equal(destroy(f->ctx, m.stdev), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 0), 0);
}

static void test_close_releases_pins(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = 0;
	uint32_t item = 0;
	int fd = -1, fd2;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				       &fd), 0);
	assert_int_equal(access_pages(f->ctx, fd, iova, NPAGES * PSZ, f->buf, 0, &item), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 1), 0);

	/* A duplicate keeps the file, and so the access and its pins, alive. */
	fd2 = dup(fd);
	assert_true(fd2 >= 0);
	uiommufd_host_inproc_fd_dup(fd, fd2);
	access_close(fd);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 1), 0);
	assert_int_equal(destroy_access_pages(f->ctx, fd2, item), 0);
	assert_int_equal(access_pages(f->ctx, fd2, iova, 2 * PSZ, f->buf, 0, &item), 0);
	assert_int_equal(destroy(f->ctx, f->ioas), -EBUSY);

	/* The last close unpins and detaches. */
	access_close(fd2);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 0), 0);
	assert_int_equal(access_pages(f->ctx, fd2, iova, PSZ, f->buf, 0, &item), -EBADFD);
	assert_int_equal(destroy(f->ctx, f->ioas), 0);
}

static void test_access_keeps_context(void **state)
{
	struct uiommufd_ctx *ctx;
	uint8_t *mem = map_pages(2);
	uint64_t iova = 0;
	uint32_t ioas;
	int fd = -1;

	(void)state;
	assert_int_equal(uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx), 0);
	ioas = ioas_alloc(ctx);
	assert_int_equal(ioas_map(ctx, ioas, mem, 2 * PSZ, &iova, RW), 0);
	assert_int_equal(create_access(ctx, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, &fd),
			 0);
	assert_int_equal(access_pages(ctx, fd, iova, 2 * PSZ, mem, 0, NULL), 0);
	/* The program closes /dev/iommu first: the access file keeps it going. */
	uiommufd_ctx_put(ctx);
	assert_int_equal(uiommufd_page_pins(uiommufd_host_inproc(), (uintptr_t)mem), 1);
	assert_int_equal(uiommufd_page_pins(uiommufd_host_inproc(), (uintptr_t)mem + PSZ), 1);
	/* Its last close lets go of the pins and of the context. */
	access_close(fd);
	assert_int_equal(uiommufd_page_pins(uiommufd_host_inproc(), (uintptr_t)mem), 0);
	assert_int_equal(uiommufd_page_pins(uiommufd_host_inproc(), (uintptr_t)mem + PSZ), 0);
	munmap(mem, 2 * PSZ);
}

/* ACCESS_RW reads and writes at @iova, checked against @mem. */
static void rw_round_trip(struct uiommufd_ctx *ctx, int fd, uint64_t iova, uint8_t *mem,
			  uint32_t extra)
{
	const struct { uint64_t off, len; } cases[] = {
		{ 0, 1 }, { 7, 9 }, { 0, PSZ }, { PSZ - 6, 12 }, { 100, 3 * PSZ },
		{ PSZ - 1, 1 }, { PSZ - 1, 2 }, { 1, 4 * PSZ - 2 },
	};
	uint8_t *tmp = malloc(4 * PSZ), *want = malloc(4 * PSZ);
	size_t c, i;

	assert_non_null(tmp);
	assert_non_null(want);
	for (c = 0; c != sizeof(cases) / sizeof(cases[0]); c++) {
		uint64_t off = cases[c].off, len = cases[c].len;

		memset(tmp, 0, len);
		assert_int_equal(access_rw(ctx, fd, iova + off, tmp, len, extra), 0);
		assert_memory_equal(tmp, mem + off, len);
		for (i = 0; i != len; i++)
			want[i] = (uint8_t)(c * 31 + i * 3);
		memcpy(tmp, want, len);
		assert_int_equal(access_rw(ctx, fd, iova + off, tmp, len,
					   extra | MOCK_ACCESS_RW_WRITE), 0);
		assert_memory_equal(mem + off, want, len);
	}
	free(tmp);
	free(want);
}

static void test_access_rw(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = MOCK_APERTURE_START;	/* where a mock domain can map it */
	struct mock_ids m = {};
	int fd = -1, pin_fd = -1;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, 0, &fd), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				       &pin_fd), 0);

	/* No domain: nothing pinned before or after. */
	rw_round_trip(f->ctx, fd, iova, f->buf, 0);
	rw_round_trip(f->ctx, fd, iova, f->buf, MOCK_ACCESS_RW_SLOW_PATH);
	rw_round_trip(f->ctx, pin_fd, iova, f->buf, 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 0), 0);

	/* With a domain the pages are pinned; the copies are the same. */
	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	rw_round_trip(f->ctx, fd, iova, f->buf, 0);
	rw_round_trip(f->ctx, fd, iova, f->buf, MOCK_ACCESS_RW_SLOW_PATH);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 1), 0);
	/* What the access wrote, the device reads. */
	{
		uint8_t w[32], r[32];

		memset(w, 0xa7, sizeof(w));
		assert_int_equal(access_rw(f->ctx, fd, iova + PSZ - 16, w, sizeof(w),
					   MOCK_ACCESS_RW_WRITE), 0);
		assert_int_equal(uiommufd_device_dma(f->ctx, m.idev, iova + PSZ - 16, r,
						     sizeof(r), 0), 0);
		assert_memory_equal(r, w, sizeof(r));
	}
	assert_int_equal(destroy(f->ctx, m.stdev), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, NPAGES * PSZ, 0), 0);
	access_close(fd);
	access_close(pin_fd);
}

static void test_access_rw_across_areas(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = 1 << 24, iova2 = (1 << 24) + 2 * PSZ;
	uint8_t tmp[64];
	int fd = -1;

	/* Two touching areas from different places of the buffer. */
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf + 8 * PSZ, 2 * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 2 * PSZ, &iova2, RW_FIXED), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, 0, &fd), 0);
	assert_int_equal(access_rw(f->ctx, fd, iova2 - 32, tmp, sizeof(tmp), 0), 0);
	assert_memory_equal(tmp, f->buf + 10 * PSZ - 32, 32);
	assert_memory_equal(tmp + 32, f->buf, 32);
	assert_int_equal(access_rw(f->ctx, fd, iova2 - 32, tmp, sizeof(tmp),
				   MOCK_ACCESS_RW_SLOW_PATH), 0);
	assert_memory_equal(tmp + 32, f->buf, 32);
	/* Off the end of the second: the gap after it. */
	assert_int_equal(access_rw(f->ctx, fd, iova2 + 2 * PSZ - 32, tmp, sizeof(tmp), 0),
			 -ENOENT);
	access_close(fd);
}

static void test_access_rw_errors(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = 1 << 24, ro_iova = (1 << 24) + 16 * PSZ;
	uint8_t tmp[16] = {};
	int fd = -1, pipefd[2];

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 4 * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf + 8 * PSZ, PSZ, &ro_iova,
				  IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, 0, &fd), 0);

	/* A read-only area reads but does not write, on either path. */
	assert_int_equal(access_rw(f->ctx, fd, ro_iova, tmp, sizeof(tmp), 0), 0);
	assert_int_equal(access_rw(f->ctx, fd, ro_iova, tmp, sizeof(tmp), MOCK_ACCESS_RW_WRITE),
			 -EPERM);
	assert_int_equal(access_rw(f->ctx, fd, ro_iova, tmp, sizeof(tmp),
				   MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH), -EPERM);
	/* IOVA that is not mapped, wholly or in part. */
	assert_int_equal(access_rw(f->ctx, fd, iova + 64 * PSZ, tmp, sizeof(tmp), 0), -ENOENT);
	assert_int_equal(access_rw(f->ctx, fd, iova + 4 * PSZ - 8, tmp, sizeof(tmp), 0),
			 -ENOENT);
	assert_int_equal(access_rw(f->ctx, fd, 0, tmp, sizeof(tmp), MOCK_ACCESS_RW_WRITE),
			 -ENOENT);
	/* Flags, lengths, and descriptors that are not accesses. */
	assert_int_equal(access_rw(f->ctx, fd, iova, tmp, sizeof(tmp), 1u << 5), -EOPNOTSUPP);
	assert_int_equal(access_rw(f->ctx, fd, iova, tmp, 0, 0), -EINVAL);
	assert_int_equal(access_rw(f->ctx, fd, iova, (void *)8, sizeof(tmp), 0), -EFAULT);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(access_rw(f->ctx, pipefd[0], iova, tmp, sizeof(tmp), 0), -EBADFD);
	assert_int_equal(access_rw(f->ctx, -1, iova, tmp, sizeof(tmp), 0), -EBADFD);
	assert_int_equal(access_rw(f->ctx, 1 << 20, iova, tmp, sizeof(tmp), 0), -EBADFD);
	assert_int_equal(access_replace_ioas(f->ctx, pipefd[0], f->ioas), -EBADFD);
	assert_int_equal(destroy_access_pages(f->ctx, pipefd[1], 0), -EBADFD);
	close(pipefd[0]);
	close(pipefd[1]);
	access_close(fd);
	/* A closed access descriptor is no access. */
	assert_int_equal(access_rw(f->ctx, fd, iova, tmp, sizeof(tmp), 0), -EBADFD);
}

/*
 * With a domain the pages are pinned where the program has them, and
 * ACCESS_RW copies straight between them and the caller's buffer.  The
 * outcome must still be the bounce's: a write from a buffer that faults
 * changes no IOVA memory, and a buffer overlapping the IOVA range's own
 * memory gets what a copy through a separate buffer gives.
 */
static void test_access_rw_without_bounce(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = MOCK_APERTURE_START;
	uint8_t *src = map_pages(2), *ro = map_pages(1), before[2 * PSZ], want[PSZ];
	struct mock_ids m = {};
	int fd = -1;

	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, NPAGES * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, 0, &fd), 0);

	/* A source whose second page is gone: EFAULT and the IOVA memory as it was. */
	memset(src, 0xee, PSZ);
	assert_int_equal(munmap(src + PSZ, PSZ), 0);
	memcpy(before, f->buf, sizeof(before));
	assert_int_equal(access_rw(f->ctx, fd, iova + 100, src + 8, PSZ, MOCK_ACCESS_RW_WRITE),
			 -EFAULT);
	assert_memory_equal(f->buf, before, sizeof(before));
	/* The readable part alone goes through. */
	assert_int_equal(access_rw(f->ctx, fd, iova + 100, src + 8, PSZ - 8,
				   MOCK_ACCESS_RW_WRITE), 0);
	assert_int_equal(f->buf[100], 0xee);
	assert_int_equal(f->buf[100 + PSZ - 9], 0xee);
	assert_int_equal(f->buf[100 + PSZ - 8], before[100 + PSZ - 8]);

	/* Reading into the range's own memory, 64 bytes on: a copy, not a smear. */
	memcpy(want, f->buf + PSZ, PSZ);
	assert_int_equal(access_rw(f->ctx, fd, iova + PSZ, f->buf + PSZ + 64, PSZ, 0), 0);
	assert_memory_equal(f->buf + PSZ + 64, want, PSZ);
	/* Writing from it, 64 bytes back. */
	memcpy(want, f->buf + 3 * PSZ - 64, PSZ);
	assert_int_equal(access_rw(f->ctx, fd, iova + 3 * PSZ, f->buf + 3 * PSZ - 64, PSZ,
				   MOCK_ACCESS_RW_WRITE), 0);
	assert_memory_equal(f->buf + 3 * PSZ, want, PSZ);

	/* Reading into a buffer the program may not write: EFAULT. */
	assert_int_equal(mprotect(ro, PSZ, PROT_READ), 0);
	assert_int_equal(access_rw(f->ctx, fd, iova, ro, 64, 0), -EFAULT);
	assert_int_equal(access_rw(f->ctx, fd, iova, ro, 64, MOCK_ACCESS_RW_WRITE), 0);
	assert_memory_equal(f->buf, ro, 64);

	access_close(fd);
	assert_int_equal(destroy(f->ctx, m.stdev), 0);
	munmap(src, PSZ);
	munmap(ro, PSZ);
}

/*
 * The direct copy remembers the area it last went through.  Each change of
 * the IOAS must be seen at once: memory mapped again at the same IOVA is
 * what the next copy reaches, a smaller area there is no longer enough for
 * a copy past its end, IOVA unmapped is ENOENT, and another IOAS's area at
 * that IOVA is not this one's.
 */
static void test_access_rw_follows_remap(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = MOCK_APERTURE_START;
	uint8_t *other = map_pages(2), got[64];
	struct mock_ids m = {}, m2 = {};
	uint32_t ioas2;
	int fd = -1;

	memset(other, 0x5a, PSZ);
	memset(other + PSZ, 0xa5, PSZ);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 2 * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(mock_domain(f->ctx, f->ioas, &m), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, 0, &fd), 0);
	assert_int_equal(access_rw(f->ctx, fd, iova + PSZ, got, sizeof(got), 0), 0);
	assert_memory_equal(got, f->buf + PSZ, sizeof(got));

	/* The same IOVA over other memory, one page only. */
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova, 2 * PSZ, NULL), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, other, PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(access_rw(f->ctx, fd, iova + 8, got, sizeof(got), 0), 0);
	assert_memory_equal(got, other + 8, sizeof(got));
	assert_int_equal(access_rw(f->ctx, fd, iova + PSZ, got, sizeof(got), 0), -ENOENT);
	assert_int_equal(access_rw(f->ctx, fd, iova + PSZ - 8, got, sizeof(got), 0), -ENOENT);

	/* A write lands in the memory mapped now, not in the first area's. */
	memset(got, 0xc3, sizeof(got));
	assert_int_equal(access_rw(f->ctx, fd, iova, got, sizeof(got), MOCK_ACCESS_RW_WRITE), 0);
	assert_memory_equal(other, got, sizeof(got));
	assert_int_not_equal(f->buf[0], 0xc3);

	/*
	 * Another IOAS's area, likely made in the memory of the one just
	 * unmapped, at the same IOVA, before this IOAS maps there again.
	 */
	ioas2 = ioas_alloc(f->ctx);
	assert_int_equal(mock_domain(f->ctx, ioas2, &m2), 0);
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova, PSZ, NULL), 0);
	assert_int_equal(ioas_map(f->ctx, ioas2, f->buf, PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(access_rw(f->ctx, fd, iova, got, sizeof(got), 0), -ENOENT);
	assert_int_equal(ioas_map(f->ctx, f->ioas, other + PSZ, PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(access_rw(f->ctx, fd, iova, got, sizeof(got), 0), 0);
	assert_memory_equal(got, other + PSZ, sizeof(got));

	access_close(fd);
	assert_int_equal(destroy(f->ctx, m.stdev), 0);
	assert_int_equal(destroy(f->ctx, m2.stdev), 0);
	assert_int_equal(destroy(f->ctx, ioas2), 0);
	munmap(other, 2 * PSZ);
}

static void test_replace_ioas(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = 1 << 24, iova2 = 1 << 24;
	uint8_t tmp[16];
	uint32_t ioas2, item = 0;
	int fd = -1;

	ioas2 = ioas_alloc(f->ctx);
	/* The same IOVA in both, backed by different pages. */
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 2 * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(ioas_map(f->ctx, ioas2, f->buf + 4 * PSZ, 2 * PSZ, &iova2, RW_FIXED), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				       &fd), 0);
	assert_int_equal(access_pages(f->ctx, fd, iova, 2 * PSZ, f->buf, 0, &item), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, 2 * PSZ, 1), 0);

	/* A missing IOAS changes nothing. */
	assert_int_equal(access_replace_ioas(f->ctx, fd, 9999), -ENOENT);
	assert_int_equal(check_refs(f->ctx, f->buf, 2 * PSZ, 1), 0);
	/* Replacing with the same IOAS is a no-op. */
	assert_int_equal(access_replace_ioas(f->ctx, fd, f->ioas), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, 2 * PSZ, 1), 0);

	/* Moving drops every pin held through the old IOAS. */
	assert_int_equal(access_replace_ioas(f->ctx, fd, ioas2), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, 2 * PSZ, 0), 0);
	assert_int_equal(destroy_access_pages(f->ctx, fd, item), -ENOENT);
	assert_int_equal(access_rw(f->ctx, fd, iova2, tmp, sizeof(tmp), 0), 0);
	assert_memory_equal(tmp, f->buf + 4 * PSZ, sizeof(tmp));
	/* The old IOAS is free now; the new one is held. */
	assert_int_equal(destroy(f->ctx, f->ioas), 0);
	assert_int_equal(destroy(f->ctx, ioas2), -EBUSY);
	assert_int_equal(access_pages(f->ctx, fd, iova2, PSZ, f->buf + 4 * PSZ, 0, &item), 0);
	assert_int_equal(check_refs(f->ctx, f->buf + 4 * PSZ, PSZ, 1), 0);
	access_close(fd);
	assert_int_equal(check_refs(f->ctx, f->buf + 4 * PSZ, PSZ, 0), 0);
	assert_int_equal(destroy(f->ctx, ioas2), 0);
}

static void test_replace_refused_keeps_old(void **state)
{
	struct fixture *f = *state;
	uint64_t iova = 1 << 24, odd = 0;
	uint32_t ioas2, item = 0;
	uint8_t tmp[16];
	int fd = -1;

	ioas2 = ioas_alloc(f->ctx);
	/* ioas2 has an area off any page boundary: a pinning access cannot join it. */
	assert_int_equal(ioas_map(f->ctx, ioas2, f->buf + 0x100, 100, &odd, RW), 0);
	assert_int_equal(ioas_map(f->ctx, f->ioas, f->buf, 2 * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(create_access(f->ctx, f->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				       &fd), 0);
	assert_int_equal(access_pages(f->ctx, fd, iova, 2 * PSZ, f->buf, 0, &item), 0);

	/* Joining comes first: the refusal leaves the access, its pins and holds alone. */
	assert_int_equal(access_replace_ioas(f->ctx, fd, ioas2), -EADDRINUSE);
	assert_int_equal(check_refs(f->ctx, f->buf, 2 * PSZ, 1), 0);
	assert_int_equal(access_rw(f->ctx, fd, iova, tmp, sizeof(tmp), 0), 0);
	assert_memory_equal(tmp, f->buf, sizeof(tmp));
	assert_int_equal(destroy(f->ctx, ioas2), 0);
	assert_int_equal(destroy(f->ctx, f->ioas), -EBUSY);
	/* Unmapping pinned IOVA tells the access, which unpins. */
	assert_int_equal(ioas_unmap(f->ctx, f->ioas, iova, 2 * PSZ, NULL), 0);
	assert_int_equal(check_refs(f->ctx, f->buf, 2 * PSZ, 0), 0);
	assert_int_equal(destroy_access_pages(f->ctx, fd, item), -ENOENT);
	access_close(fd);
	assert_int_equal(destroy(f->ctx, f->ioas), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_create_access),
		T(test_create_access_errors),
		T(test_access_object_is_not_the_users),
		T(test_pin_then_unmap),
		T(test_held_area_counted_per_area),
		T(test_pin_errors),
		T(test_pins_with_domain),
		T(test_close_releases_pins),
		cmocka_unit_test(test_access_keeps_context),
		T(test_access_rw),
		T(test_access_rw_across_areas),
		T(test_access_rw_errors),
		T(test_access_rw_without_bounce),
		T(test_access_rw_follows_remap),
		T(test_replace_ioas),
		T(test_replace_refused_keeps_old),
	};

	return cmocka_run_group_tests_name("access", tests, NULL, NULL);
}
