// SPDX-License-Identifier: MIT
/*
 * Under the shim: a program that drops CAP_IPC_LOCK with capset() (as
 * libcap's cap_set_proc() does) has its next maps charged against
 * RLIMIT_MEMLOCK, and raising it again stops the charge, although the host
 * keeps the capabilities it read between credential changes (inproc.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

/* glibc's; no system header declares it. */
int capset(cap_user_header_t hdr, const cap_user_data_t data);
int capget(cap_user_header_t hdr, cap_user_data_t data);

#define NPAGES 16

static int set_ipc_lock(int on)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (capget(&hdr, data))
		return -1;
	if (on)
		data[0].effective |= 1u << CAP_IPC_LOCK;
	else
		data[0].effective &= ~(1u << CAP_IPC_LOCK);
	return capset(&hdr, data);
}

static int has_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	return !capget(&hdr, data) && (data[0].effective & (1u << CAP_IPC_LOCK));
}

static int map_once(int fd, uint32_t ioas, void *buf, size_t len)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map), .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = len,
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
	};
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = ioas };

	if (ioctl(fd, IOMMU_IOAS_MAP, &map))
		return -errno;
	unmap.iova = map.iova;
	unmap.length = len;
	assert_int_equal(ioctl(fd, IOMMU_IOAS_UNMAP, &unmap), 0);
	return 0;
}

static void test_capset_changes_charging(void **state)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = { .size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	size_t psz = (size_t)sysconf(_SC_PAGESIZE);
	struct rlimit old, lim;
	uint8_t *buf;
	int fd;

	(void)state;
	if (!has_ipc_lock())
		skip();
	buf = mmap(NULL, NPAGES * psz, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	assert_true(buf != MAP_FAILED);
	fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, IOMMU_IOAS_ALLOC, &alloc), 0);
	/* A domain pins, and so charges, what is mapped. */
	mock.id = alloc.out_ioas_id;
	assert_int_equal(ioctl(fd, IOMMU_TEST_CMD, &mock), 0);

	assert_int_equal(getrlimit(RLIMIT_MEMLOCK, &old), 0);
	lim.rlim_cur = 4 * psz;
	lim.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_MEMLOCK, &lim), 0);

	/* With the capability nothing is charged: past the limit is fine. */
	assert_int_equal(map_once(fd, alloc.out_ioas_id, buf, NPAGES * psz), 0);
	assert_int_equal(set_ipc_lock(0), 0);
	assert_int_equal(map_once(fd, alloc.out_ioas_id, buf, NPAGES * psz), -ENOMEM);
	assert_int_equal(map_once(fd, alloc.out_ioas_id, buf, 2 * psz), 0);
	assert_int_equal(set_ipc_lock(1), 0);
	assert_int_equal(map_once(fd, alloc.out_ioas_id, buf, NPAGES * psz), 0);

	setrlimit(RLIMIT_MEMLOCK, &old);
	close(fd);
	munmap(buf, NPAGES * psz);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capset_changes_charging),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
