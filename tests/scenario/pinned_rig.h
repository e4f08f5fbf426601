/* SPDX-License-Identifier: MIT */
/*
 * The rig of the pinned-memory scenario tests: a context with an IOAS, a
 * mock domain that pins what is mapped, and an access whose ACCESS_RW slow
 * path shows what the device sees through the pinned pages.
 */
#ifndef TESTS_SCENARIO_PINNED_RIG_H
#define TESTS_SCENARIO_PINNED_RIG_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

#define RW_MAP (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

struct rig {
	int fd, access_fd;
	uint32_t ioas;
	size_t psz;
};

static inline void rig_open(struct rig *r)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = { .size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_test_cmd access = { .size = sizeof(access), .op = IOMMU_TEST_OP_CREATE_ACCESS };

	r->psz = (size_t)sysconf(_SC_PAGESIZE);
	r->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	assert_true(r->fd >= 0);
	assert_int_equal(ioctl(r->fd, IOMMU_IOAS_ALLOC, &alloc), 0);
	r->ioas = alloc.out_ioas_id;
	/* A domain pins the pages for as long as they are mapped. */
	mock.id = r->ioas;
	assert_int_equal(ioctl(r->fd, IOMMU_TEST_CMD, &mock), 0);
	access.id = r->ioas;
	assert_int_equal(ioctl(r->fd, IOMMU_TEST_CMD, &access), 0);
	r->access_fd = (int)access.create_access.out_access_fd;
}

static inline void rig_close(struct rig *r)
{
	close(r->access_fd);
	close(r->fd);
}

static inline uint64_t map_user(struct rig *r, void *p, size_t len)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map), .flags = RW_MAP, .ioas_id = r->ioas,
		.user_va = (uintptr_t)p, .length = len,
	};

	assert_int_equal(ioctl(r->fd, IOMMU_IOAS_MAP, &map), 0);
	return map.iova;
}

static inline uint64_t map_file(struct rig *r, int mfd, size_t len)
{
	struct iommu_ioas_map_file map = {
		.size = sizeof(map), .flags = RW_MAP, .ioas_id = r->ioas, .fd = mfd, .length = len,
	};

	assert_int_equal(ioctl(r->fd, IOMMU_IOAS_MAP_FILE, &map), 0);
	return map.iova;
}

static inline void unmap_iova(struct rig *r, uint64_t iova, size_t len)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = r->ioas, .iova = iova, .length = len,
	};

	assert_int_equal(ioctl(r->fd, IOMMU_IOAS_UNMAP, &unmap), 0);
}

/* ACCESS_RW of @iova with @flags besides the direction: 0 or -errno. */
static inline int device_rw_flags(struct rig *r, uint64_t iova, void *buf, size_t len, bool write,
				  uint32_t flags)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)r->access_fd,
		.access_rw = { .iova = iova, .length = len, .uptr = (uintptr_t)buf,
			       .flags = flags | (write ? MOCK_ACCESS_RW_WRITE : 0) },
	};

	return ioctl(r->fd, IOMMU_TEST_CMD, &cmd) ? -errno : 0;
}

/* The device's view of @iova, through the pinned pages. */
static inline void device_rw(struct rig *r, uint64_t iova, void *buf, size_t len, bool write)
{
	assert_int_equal(device_rw_flags(r, iova, buf, len, write, MOCK_ACCESS_RW_SLOW_PATH), 0);
}

static inline uint8_t device_byte(struct rig *r, uint64_t iova)
{
	uint8_t b = 0;

	device_rw(r, iova, &b, 1, false);
	return b;
}

static inline void device_poke(struct rig *r, uint64_t iova, uint8_t b)
{
	device_rw(r, iova, &b, 1, true);
}

static inline uint8_t *anon_pages(size_t len, int fill)
{
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_ptr_not_equal(p, MAP_FAILED);
	memset(p, fill, len);
	return p;
}

#endif
