// SPDX-License-Identifier: MIT
/*
 * Run through `uiommufd run`: a vIOMMU's page mapped with plain mmap() of
 * the /dev/iommu descriptor, as a VMM maps a vIOMMU's MMIO, and released
 * by plain munmap().
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

static int destroy(int iommufd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(iommufd, IOMMU_DESTROY, &cmd);
}

/* A mock device, a NEST_PARENT HWPT and a vIOMMU with driver data. */
static uint32_t viommu_with_page(int iommufd, struct iommu_viommu_selftest *data)
{
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct iommu_test_cmd mock = { .size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_hwpt_alloc parent = {
		.size = sizeof(parent), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
	};
	struct iommu_viommu_alloc viommu = {
		.size = sizeof(viommu), .type = IOMMU_VIOMMU_TYPE_SELFTEST,
		.data_uptr = (uintptr_t)data, .data_len = sizeof(*data),
	};

	assert_int_equal(ioctl(iommufd, IOMMU_IOAS_ALLOC, &ioas), 0);
	mock.id = ioas.out_ioas_id;
	assert_int_equal(ioctl(iommufd, IOMMU_TEST_CMD, &mock), 0);
	parent.dev_id = mock.mock_domain.out_idev_id;
	parent.pt_id = ioas.out_ioas_id;
	assert_int_equal(ioctl(iommufd, IOMMU_HWPT_ALLOC, &parent), 0);
	viommu.dev_id = parent.dev_id;
	viommu.hwpt_id = parent.out_hwpt_id;
	assert_int_equal(ioctl(iommufd, IOMMU_VIOMMU_ALLOC, &viommu), 0);
	return viommu.out_viommu_id;
}

static void test_viommu_page_through_mmap(void **state)
{
	struct iommu_viommu_selftest data = { .in_data = 0xc0ffee };
	long psz = sysconf(_SC_PAGESIZE);
	uint32_t viommu;
	uint32_t *page, *again;
	int iommufd;

	(void)state;
	iommufd = open("/dev/iommu", O_RDWR);
	assert_true(iommufd >= 0);
	viommu = viommu_with_page(iommufd, &data);
	assert_int_equal(data.out_data, 0xc0ffee);

	/* Not the region exactly: ENXIO; not shared: EINVAL. */
	errno = 0;
	assert_ptr_equal(mmap(NULL, data.out_mmap_length, PROT_READ, MAP_SHARED, iommufd,
			      (off_t)data.out_mmap_offset + psz), MAP_FAILED);
	assert_int_equal(errno, ENXIO);
	assert_ptr_equal(mmap(NULL, data.out_mmap_length / 2, PROT_READ, MAP_SHARED, iommufd,
			      (off_t)data.out_mmap_offset), MAP_FAILED);
	assert_int_equal(errno, ENXIO);
	assert_ptr_equal(mmap(NULL, data.out_mmap_length, PROT_READ, MAP_PRIVATE, iommufd,
			      (off_t)data.out_mmap_offset), MAP_FAILED);
	assert_int_equal(errno, EINVAL);

	page = mmap(NULL, data.out_mmap_length, PROT_READ | PROT_WRITE, MAP_SHARED, iommufd,
		    (off_t)data.out_mmap_offset);
	assert_ptr_not_equal(page, MAP_FAILED);
	assert_int_equal(page[0], 0xc0ffee);
	/* Two mappings of one page share it. */
	again = mmap(NULL, data.out_mmap_length, PROT_READ, MAP_SHARED, iommufd,
		     (off_t)data.out_mmap_offset);
	assert_ptr_not_equal(again, MAP_FAILED);
	page[1] = 42;
	assert_int_equal(again[1], 42);

	errno = 0;
	assert_int_equal(destroy(iommufd, viommu), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(munmap(page, data.out_mmap_length), 0);
	assert_int_equal(destroy(iommufd, viommu), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(munmap(again, data.out_mmap_length), 0);
	assert_int_equal(destroy(iommufd, viommu), 0);
	assert_int_equal(close(iommufd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_viommu_page_through_mmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
