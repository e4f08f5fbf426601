// SPDX-License-Identifier: MIT
/*
 * Run through `uiommufd run`: the fault queue's fd as a plain program sees
 * it.  IOMMU_FAULT_QUEUE_ALLOC hands out a real descriptor; read(), write(),
 * readv(), writev(), poll(), epoll and close() on it behave as on the
 * kernel's [iommufd-pgfault] file, and every other descriptor is untouched.
 * Page requests themselves need a device attached to a HWPT with the queue
 * (the mock IOMMU's TRIGGER_IOPF); this client checks the fd's rules on an
 * empty queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cmocka.h>

#include "uapi/iommufd.h"

static int fault_alloc(int iommufd, uint32_t flags, uint32_t *id, int *fd)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd), .flags = flags };
	int rc = ioctl(iommufd, IOMMU_FAULT_QUEUE_ALLOC, &cmd);

	*id = rc ? 0 : cmd.out_fault_id;
	*fd = rc ? -1 : (int)cmd.out_fault_fd;
	return rc;
}

static int destroy(int iommufd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(iommufd, IOMMU_DESTROY, &cmd);
}

static void test_fault_fd(void **state)
{
	struct iommu_hwpt_page_response resp = { .cookie = 1 };
	struct iommu_hwpt_pgfault rec[2];
	struct pollfd p;
	uint32_t id;
	int iommufd, fd, d;

	(void)state;
	iommufd = open("/dev/iommu", O_RDWR);
	assert_true(iommufd >= 0);
	assert_int_equal(fault_alloc(iommufd, 1, &id, &fd), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(fault_alloc(iommufd, 0, &id, &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);

	/* Empty: writable, not readable; a read returns 0 at once. */
	p = (struct pollfd){ .fd = fd, .events = POLLIN | POLLOUT };
	assert_int_equal(poll(&p, 1, 0), 1);
	assert_int_equal(p.revents, POLLOUT);
	assert_int_equal(read(fd, rec, sizeof(rec)), 0);
	assert_int_equal(read(fd, rec, 0), 0);

	/* Whole records only. */
	errno = 0;
	assert_int_equal(read(fd, rec, 16), -1);
	assert_int_equal(errno, ESPIPE);
	assert_int_equal(write(fd, &resp, 4), -1);
	assert_int_equal(errno, ESPIPE);
	/* Nothing was read: no cookie is valid. */
	assert_int_equal(write(fd, &resp, sizeof(resp)), -1);
	assert_int_equal(errno, EINVAL);
	resp.code = 7;
	assert_int_equal(write(fd, &resp, sizeof(resp)), -1);
	assert_int_equal(errno, EINVAL);
	{
		const void *volatile bad = (const void *)8;

		assert_int_equal(write(fd, bad, sizeof(resp)), -1);
		assert_int_equal(errno, EFAULT);
	}

	/* The vectored forms go through the same file operations. */
	{
		struct iovec iov[2] = { { rec, sizeof(rec[0]) }, { &rec[1], 8 } };

		assert_int_equal(readv(fd, iov, 2), 0);
		iov[0].iov_len = 8;
		assert_int_equal(readv(fd, iov, 2), -1);
		assert_int_equal(errno, ESPIPE);
		iov[0] = (struct iovec){ &resp, sizeof(resp) };
		assert_int_equal(writev(fd, iov, 1), -1);
		assert_int_equal(errno, EINVAL);
		{
			const struct iovec *volatile bad = (const struct iovec *)8;

			assert_int_equal(readv(fd, bad, 1), -1);
			assert_int_equal(errno, EFAULT);
		}
	}

	/* Not seekable, no ioctls. */
	assert_int_equal(lseek(fd, 0, SEEK_SET), -1);
	assert_int_equal(errno, ESPIPE);
	assert_int_equal(pread(fd, rec, sizeof(rec[0]), 0), -1);
	assert_int_equal(errno, ESPIPE);
	assert_int_equal(ioctl(fd, IOMMU_DESTROY, NULL), -1);
	assert_int_equal(errno, ENOTTY);

	/* epoll takes it. */
	{
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT }, out;
		int ep = epoll_create1(EPOLL_CLOEXEC);

		assert_true(ep >= 0);
		assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
		assert_int_equal(epoll_wait(ep, &out, 1, 0), 1);
		assert_int_equal(out.events, EPOLLOUT);
		close(ep);
	}

	/* The fd holds the queue; a dup holds it too. */
	d = dup(fd);
	assert_true(d >= 0);
	assert_int_equal(destroy(iommufd, id), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(close(fd), 0);
	assert_int_equal(destroy(iommufd, id), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(read(d, rec, sizeof(rec)), 0);
	assert_int_equal(close(d), 0);
	assert_int_equal(destroy(iommufd, id), 0);
	assert_int_equal(destroy(iommufd, id), -1);
	assert_int_equal(errno, ENOENT);

	/* A queue whose fd outlives the iommufd. */
	assert_int_equal(fault_alloc(iommufd, 0, &id, &fd), 0);
	assert_int_equal(close(iommufd), 0);
	assert_int_equal(read(fd, rec, sizeof(rec)), 0);
	assert_int_equal(close(fd), 0);
}

/* Every other descriptor reads and writes as before, errno untouched. */
static void test_other_fds(void **state)
{
	struct iovec iov = { .iov_base = "xyz", .iov_len = 3 };
	char got[8] = {};
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	errno = 4242;
	assert_int_equal(write(p[1], "abc", 3), 3);
	assert_int_equal(writev(p[1], &iov, 1), 3);
	assert_int_equal(read(p[0], got, 3), 3);
	iov = (struct iovec){ .iov_base = got + 3, .iov_len = 3 };
	assert_int_equal(readv(p[0], &iov, 1), 3);
	assert_string_equal(got, "abcxyz");
	assert_int_equal(errno, 4242);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(read(p[0], got, 1), -1);
	assert_int_equal(errno, EAGAIN);
	close(p[0]);
	close(p[1]);
	assert_int_equal(read(p[0], got, 1), -1);
	assert_int_equal(errno, EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_fd),
		cmocka_unit_test(test_other_fds),
	};

	return cmocka_run_group_tests_name("fault queue fd", tests, NULL, NULL);
}
