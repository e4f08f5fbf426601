// SPDX-License-Identifier: MIT
/*
 * Run through `uiommufd run`: a thread maps memory into an IOAS while
 * another thread munmaps it.  The shim moves the pinned pages aside and
 * then unmaps; a pin taken in between would hold pages about to go.  As
 * with the kernel's mmap_lock, the pin must come wholly before the munmap
 * (and keep its pages) or wholly after it (and fail with EFAULT).
 *
 * The shim's test hook UIOMMUFD_TEST_UNMAP_DELAY_US holds each munmap
 * between the two steps, so the other thread's IOAS_MAP lands in the
 * window every time; the test runs itself again with it set.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

#define DELAY_ENV "UIOMMUFD_TEST_UNMAP_DELAY_US"
#define RW_MAP (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

struct racer {
	int fd;
	uint32_t ioas;
	uint8_t *buf;
	size_t len;
	atomic_int go;
	int rc, err;
	uint64_t iova;
};

static int map(int fd, uint32_t ioas, void *p, size_t len, uint64_t *iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = RW_MAP, .ioas_id = ioas,
		.user_va = (uintptr_t)p, .length = len,
	};
	int rc = ioctl(fd, IOMMU_IOAS_MAP, &cmd);

	*iova = cmd.iova;
	return rc;
}

static void *map_in_the_window(void *arg)
{
	struct racer *r = arg;

	while (!atomic_load(&r->go))
		sched_yield();
	/* Well inside the other thread's munmap, past its move of the pages. */
	usleep(20 * 1000);
	r->rc = map(r->fd, r->ioas, r->buf, r->len, &r->iova);
	r->err = errno;
	return NULL;
}

static void test_pin_during_munmap(void **state)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = { .size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct racer r = { .len = 2 * (size_t)sysconf(_SC_PAGESIZE) };
	uint64_t first;
	pthread_t t;

	(void)state;
	r.fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	assert_true(r.fd >= 0);
	assert_int_equal(ioctl(r.fd, IOMMU_IOAS_ALLOC, &alloc), 0);
	r.ioas = alloc.out_ioas_id;
	mock.id = r.ioas;
	assert_int_equal(ioctl(r.fd, IOMMU_TEST_CMD, &mock), 0);
	r.buf = mmap(NULL, r.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(r.buf, MAP_FAILED);
	memset(r.buf, 0xaa, r.len);
	/* Pinned already, so the munmap moves pages aside before it unmaps. */
	assert_int_equal(map(r.fd, r.ioas, r.buf, r.len, &first), 0);
	assert_int_equal(pthread_create(&t, NULL, map_in_the_window, &r), 0);
	atomic_store(&r.go, 1);
	assert_int_equal(munmap(r.buf, r.len), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* The second pin waited for the munmap and found nothing mapped. */
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.err, EFAULT);
	close(r.fd);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_during_munmap),
	};

	(void)argc;
	if (!getenv(DELAY_ENV)) {
		/* The shim reads its hook when it starts: start again with it. */
		setenv(DELAY_ENV, "200000", 1);
		execv("/proc/self/exe", argv);
		return 1;
	}
	return cmocka_run_group_tests_name("pin against munmap", tests, NULL, NULL);
}
