// SPDX-License-Identifier: MIT
/*
 * A plain iommufd client, run through `uiommufd run`: it knows nothing of
 * uiommufd and checks what a program sees through /dev/iommu: descriptors,
 * dup and close, errnos, and pass-through of everything else.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "uapi/iommufd.h"

static uint32_t ioas_alloc(int fd)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	assert_int_equal(ioctl(fd, IOMMU_IOAS_ALLOC, &cmd), 0);
	return cmd.out_ioas_id;
}

static void test_open_variants(void **state)
{
	int fds[4], i;

	(void)state;
	fds[0] = open("/dev/iommu", O_RDWR);
	fds[1] = openat(AT_FDCWD, "/dev/iommu", O_RDWR | O_CLOEXEC);
	fds[2] = open64("/dev/iommu", O_RDWR);
	fds[3] = open("/dev/vfio/vfio", O_RDWR);
	for (i = 0; i != 4; i++) {
		assert_true(fds[i] >= 0);
		/* Each open is its own context: IDs start at 1 in each. */
		assert_int_equal(ioas_alloc(fds[i]), 1);
	}
	assert_int_equal(fcntl(fds[1], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, 0);
	/* The VFIO container answers the type1 ioctls. */
	assert_int_equal(ioctl(fds[3], _IO(';', 100)), 0);	/* VFIO_GET_API_VERSION */
	for (i = 0; i != 4; i++)
		assert_int_equal(close(fds[i]), 0);
}

static void test_dup_shares_context(void **state)
{
	int fd = open("/dev/iommu", O_RDWR), d1, d2, d3;
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = 1 };

	(void)state;
	assert_int_equal(ioas_alloc(fd), 1);
	d1 = dup(fd);
	d2 = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	d3 = dup2(fd, 200);
	assert_true(d1 >= 0 && d2 >= 100 && d3 == 200);
	assert_int_equal(close(fd), 0);
	/* The context lives while any descriptor does. */
	assert_int_equal(ioas_alloc(d1), 2);
	assert_int_equal(ioas_alloc(d2), 3);
	assert_int_equal(ioctl(d3, IOMMU_DESTROY, &destroy), 0);
	assert_int_equal(ioas_alloc(d1), 1);
	/* dup2 over a descriptor releases what it had. */
	fd = open("/dev/iommu", O_RDWR);
	assert_int_equal(dup2(fd, d3), d3);
	assert_int_equal(ioas_alloc(d3), 1);
	close(fd);
	close(d3);
	close(d2);
	assert_int_equal(ioas_alloc(d1), 4);
	close(d1);
}

static void test_errnos_reach_the_program(void **state)
{
	int fd = open("/dev/iommu", O_RDWR);
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = 42 };
	struct iommu_ioas_map map = { .size = sizeof(map), .flags = 0x17, .ioas_id = 1 };

	(void)state;
	errno = 0;
	assert_int_equal(ioctl(fd, IOMMU_DESTROY, &destroy), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(ioctl(fd, IOMMU_DESTROY, NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(ioctl(fd, IOMMU_IOAS_MAP, (void *)16), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(ioctl(fd, _IO(';', 0x9e), &destroy), -1);
	assert_int_equal(errno, ENOTTY);
	assert_int_equal(ioctl(fd, IOMMU_IOAS_MAP, &map), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	close(fd);
}

static void test_other_fds_pass_through(void **state)
{
	int efd = eventfd(0, 0), n = -1;

	(void)state;
	/* Not ours: the kernel answers, errno and all. */
	errno = 0;
	assert_int_equal(ioctl(efd, FIONREAD, &n), -1);
	assert_int_equal(errno, ENOTTY);
	assert_int_equal(ioctl(12345, FIONREAD, &n), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(open("/dev/nonexistent-iommu", O_RDWR), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(close(efd), 0);
	assert_int_equal(close(efd), -1);
	assert_int_equal(errno, EBADF);
}

static void *map_unmap_loop(void *arg)
{
	int fd = *(int *)arg, i;
	uint8_t *buf = malloc(4096);
	uint32_t ioas = ioas_alloc(fd);

	for (i = 0; i != 2000; i++) {
		struct iommu_ioas_map map = {
			.size = sizeof(map), .ioas_id = ioas, .user_va = (uintptr_t)buf,
			.length = 4096,
			.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		};
		struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = ioas };

		if (ioctl(fd, IOMMU_IOAS_MAP, &map))
			return (void *)1;
		unmap.iova = map.iova;
		unmap.length = 4096;
		if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap) || unmap.length != 4096)
			return (void *)2;
	}
	free(buf);
	return NULL;
}

static void test_threads_share_a_context(void **state)
{
	int fd = open("/dev/iommu", O_RDWR), i;
	pthread_t t[4];
	void *ret;

	(void)state;
	for (i = 0; i != 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, map_unmap_loop, &fd), 0);
	for (i = 0; i != 4; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	close(fd);
}

static sigjmp_buf segv_env;
static volatile uintptr_t bad_addr = 8;
static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(segv_env, 1);
}

static void test_program_segv_handler_still_works(void **state)
{
	int fd = open("/dev/iommu", O_RDWR);
	struct sigaction sa = { .sa_handler = on_segv }, old;
	volatile int caught = 0;

	(void)state;
	/* Our bad-pointer guard and the program's own handler coexist. */
	assert_int_equal(ioctl(fd, IOMMU_DESTROY, (void *)8), -1);
	assert_int_equal(errno, EFAULT);
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGSEGV, &sa, &old), 0);
	if (!sigsetjmp(segv_env, 1))
		*(volatile int *)bad_addr = 1;
	else
		caught = 1;
	assert_int_equal(caught, 1);
	assert_int_equal(ioctl(fd, IOMMU_DESTROY, (void *)8), -1);
	assert_int_equal(errno, EFAULT);
	sigaction(SIGSEGV, &old, NULL);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_variants),
		cmocka_unit_test(test_dup_shares_context),
		cmocka_unit_test(test_errnos_reach_the_program),
		cmocka_unit_test(test_other_fds_pass_through),
		cmocka_unit_test(test_threads_share_a_context),
		cmocka_unit_test(test_program_segv_handler_still_works),
	};

	return cmocka_run_group_tests_name("shim", tests, NULL, NULL);
}
