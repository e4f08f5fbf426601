// SPDX-License-Identifier: MIT
/*
 * Run through `uiommufd run`: what a program sees of the mock IOMMU's bus
 * in sysfs, of the descriptors the library hands out itself (anon files),
 * and of unmapping pinned memory.
 *
 * No ioctl hands out an anon file yet, so this client reaches the host
 * through uiommufd_host_inproc(), which the preloaded shim exports, and
 * then uses only plain libc calls on what it gets.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/host.h"

#define MOCK_BUS "/sys/bus/iommufd_mock"

/* What programs built before glibc 2.33 call for stat(). */
int __xstat(int ver, const char *path, struct stat *buf);

static void test_mock_bus_is_a_directory(void **state)
{
	struct statx stx;
	struct stat st;
	struct dirent *de;
	DIR *d;

	(void)state;
	errno = 4242;
	assert_int_equal(access(MOCK_BUS, F_OK), 0);
	assert_int_equal(access(MOCK_BUS "/", R_OK | X_OK), 0);
	assert_int_equal(faccessat(AT_FDCWD, MOCK_BUS, F_OK, 0), 0);
	assert_int_equal(faccessat(AT_FDCWD, MOCK_BUS, R_OK, AT_EACCESS), 0);
	assert_int_equal(euidaccess(MOCK_BUS, F_OK), 0);
	if (geteuid()) {
		assert_int_equal(access(MOCK_BUS, W_OK), -1);
		assert_int_equal(errno, EACCES);
		errno = 4242;
	}
	assert_int_equal(stat(MOCK_BUS, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(lstat(MOCK_BUS "/", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(fstatat(AT_FDCWD, MOCK_BUS, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	memset(&st, 0, sizeof(st));
	assert_int_equal(__xstat(1, MOCK_BUS, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(statx(AT_FDCWD, MOCK_BUS, 0, STATX_BASIC_STATS, &stx), 0);
	assert_true(stx.stx_mask & STATX_TYPE);
	assert_true(S_ISDIR(stx.stx_mode));
	d = opendir(MOCK_BUS);
	assert_non_null(d);
	while ((de = readdir(d)))
		assert_true(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."));
	assert_int_equal(closedir(d), 0);
	/* Success leaves errno alone, as the kernel's does. */
	assert_int_equal(errno, 4242);
}

static void test_other_paths_pass_through(void **state)
{
	struct stat st;

	(void)state;
	errno = 0;
	assert_int_equal(stat(MOCK_BUS "x", &st), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(access("/nonexistent/iommufd_mock", F_OK), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_null(opendir(MOCK_BUS "/devices"));
	assert_int_equal(errno, ENOENT);
	errno = 4242;
	assert_int_equal(stat("/", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(errno, 4242);
}

static struct uiommufd_host *shim_host(void)
{
	struct uiommufd_host *(*get)(void) = (struct uiommufd_host * (*)(void))
		dlsym(RTLD_DEFAULT, "uiommufd_host_inproc");

	assert_non_null(get);
	return get();
}

static void count_release(void *priv)
{
	(*(int *)priv)++;
}

static const struct host_anon_ops test_ops = { .name = "[test-anon]", .release = count_release };

/* Whether @fd is still the anon file made with @released. */
static bool same_file(struct uiommufd_host *host, int fd, int *released)
{
	struct host_anon *ref;
	void *priv = host->ops->anon_get(host, fd, &test_ops, &ref);

	if (!priv)
		return false;
	host->ops->anon_put(host, ref);
	return priv == released;
}

static void test_anon_fd_descriptors(void **state)
{
	struct uiommufd_host *host = shim_host();
	int released = 0, fd, d[5], n = -1, i;

	(void)state;
	fd = host->ops->anon_fd(host, &test_ops, &released, O_CLOEXEC);
	assert_true(fd >= 0);
	/* No ioctls of its own; the VFS's still work. */
	errno = 0;
	assert_int_equal(ioctl(fd, FIONREAD, &n), -1);
	assert_int_equal(errno, ENOTTY);
	assert_int_equal(ioctl(fd, FIONCLEX), 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);

	/* Every way to duplicate gives the same file. */
	d[0] = dup(fd);
	d[1] = dup2(fd, 300);
	d[2] = dup3(fd, 301, O_CLOEXEC);
	d[3] = fcntl(fd, F_DUPFD, 310);
	d[4] = fcntl(fd, F_DUPFD_CLOEXEC, 320);
	assert_true(d[0] >= 0 && d[1] == 300 && d[2] == 301 && d[3] >= 310 && d[4] >= 320);
	for (i = 0; i != 5; i++)
		assert_true(same_file(host, d[i], &released));
	assert_int_equal(close(fd), 0);
	assert_false(same_file(host, fd, &released));
	for (i = 0; i != 4; i++)
		assert_int_equal(close(d[i]), 0);
	assert_int_equal(released, 0);
	assert_true(same_file(host, d[4], &released));
	/* close_range closes the last one. */
	assert_int_equal(close_range((unsigned int)d[4], (unsigned int)d[4], 0), 0);
	assert_int_equal(released, 1);
}

static void test_anon_fd_dup2_over(void **state)
{
	struct uiommufd_host *host = shim_host();
	int released = 0, fd, other = open("/dev/null", O_RDONLY | O_CLOEXEC);

	(void)state;
	fd = host->ops->anon_fd(host, &test_ops, &released, 0);
	assert_true(fd >= 0 && other >= 0);
	/* Replacing the descriptor closes the file; the number then is /dev/null's. */
	assert_int_equal(dup2(other, fd), fd);
	assert_int_equal(released, 1);
	errno = 0;
	assert_int_equal(ioctl(fd, FIONREAD, &(int){ 0 }), -1);
	assert_int_not_equal(errno, 0);
	assert_false(same_file(host, fd, &released));
	close(fd);
	close(other);
}

static void test_munmap_of_pinned_memory(void **state)
{
	struct uiommufd_host *host = shim_host();
	long psz = sysconf(_SC_PAGESIZE);
	uint8_t *buf = mmap(NULL, 2 * (size_t)psz, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct host_pin *pin;
	uint8_t *k;
	size_t len;

	(void)state;
	assert_ptr_not_equal(buf, MAP_FAILED);
	buf[psz] = 0x5c;
	assert_int_equal(host->ops->pin_user(host, (uintptr_t)buf, 2 * (size_t)psz, true, &pin), 0);
	/* The shim moves the pinned pages aside; they stay what they were. */
	assert_int_equal(munmap(buf, 2 * (size_t)psz), 0);
	k = host->ops->phys_kaddr(host, (uintptr_t)buf + (uint64_t)psz, false, &len);
	assert_non_null(k);
	assert_ptr_not_equal(k, buf + psz);
	assert_int_equal(k[0], 0x5c);
	assert_int_equal(len, (size_t)psz);
	host->ops->unpin(host, pin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mock_bus_is_a_directory),
		cmocka_unit_test(test_other_paths_pass_through),
		cmocka_unit_test(test_anon_fd_descriptors),
		cmocka_unit_test(test_anon_fd_dup2_over),
		cmocka_unit_test(test_munmap_of_pinned_memory),
	};

	return cmocka_run_group_tests_name("anon and sysfs", tests, NULL, NULL);
}
