// SPDX-License-Identifier: MIT
/*
 * Run through `uiommufd run`: mprotect() of memory an IOAS has pinned, as a
 * VMM does when it write-protects guest memory for migration or a JIT does
 * with its code buffers.  The device's view is read and written with the
 * selftest's ACCESS_RW slow path, which goes through the pinned pages.
 *
 * The kernel's rule: the pin keeps its access whatever the program's
 * protection.  The device still writes a page the program made read-only
 * (and the program sees the write), still reads one made PROT_NONE, and the
 * program's own accesses fault as its protection says.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

#include "scenario/pinned_rig.h"

static sigjmp_buf fault_env;

static void on_fault(int sig)
{
	(void)sig;
	siglongjmp(fault_env, 1);
}

/* Whether a store by the program to @p faults. */
static bool store_faults(volatile uint8_t *p, uint8_t v)
{
	struct sigaction sa = { .sa_handler = on_fault }, old;
	volatile bool faulted = false;

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGSEGV, &sa, &old), 0);
	if (sigsetjmp(fault_env, 1))
		faulted = true;
	else
		*p = v;
	assert_int_equal(sigaction(SIGSEGV, &old, NULL), 0);
	return faulted;
}

static void test_readonly_private_still_takes_device_writes(void **state)
{
	struct rig r;
	size_t len;
	uint8_t *p;
	uint64_t iova;

	(void)state;
	rig_open(&r);
	len = 4 * r.psz;
	p = anon_pages(len, 0x11);
	iova = map_user(&r, p, len);
	assert_int_equal(mprotect(p, len, PROT_READ), 0);
	/* The device writes the second page; the program reads it back. */
	device_poke(&r, iova + r.psz + 5, 0xa5);
	assert_int_equal(p[r.psz + 5], 0xa5);
	assert_int_equal(p[0], 0x11);
	/* The program's own protection holds. */
	assert_true(store_faults(p + 3 * r.psz, 0x22));
	/* Back to read-write: program and device share the pinned page again. */
	assert_int_equal(mprotect(p, len, PROT_READ | PROT_WRITE), 0);
	p[2 * r.psz] = 0x5a;
	assert_int_equal(device_byte(&r, iova + 2 * r.psz), 0x5a);
	device_poke(&r, iova, 0x77);
	assert_int_equal(p[0], 0x77);
	unmap_iova(&r, iova, len);
	assert_int_equal(munmap(p, len), 0);
	rig_close(&r);
}

static void test_prot_none_still_read_by_device(void **state)
{
	struct rig r;
	size_t len;
	uint8_t *p;
	uint64_t iova;

	(void)state;
	rig_open(&r);
	len = 2 * r.psz;
	p = anon_pages(len, 0x3c);
	iova = map_user(&r, p, len);
	assert_int_equal(mprotect(p, len, PROT_NONE), 0);
	assert_int_equal(device_byte(&r, iova + r.psz + 1), 0x3c);
	device_poke(&r, iova + 9, 0xc3);
	assert_int_equal(mprotect(p, len, PROT_READ), 0);
	assert_int_equal(p[9], 0xc3);
	unmap_iova(&r, iova, len);
	assert_int_equal(munmap(p, len), 0);
	rig_close(&r);
}

static void test_readonly_shared_memfd(void **state)
{
	struct rig r;
	size_t len;
	uint8_t *p;
	uint64_t iova;
	int mfd;

	(void)state;
	rig_open(&r);
	len = 2 * r.psz;
	mfd = memfd_create("pinned", MFD_CLOEXEC);
	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, (off_t)len), 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	memset(p, 0x44, len);
	iova = map_user(&r, p, len);
	assert_int_equal(mprotect(p, len, PROT_READ), 0);
	device_poke(&r, iova + r.psz, 0x99);
	assert_int_equal(p[r.psz], 0x99);
	/* The write is in the file: another mapping of it sees it too. */
	{
		uint8_t b = 0;

		assert_int_equal(pread(mfd, &b, 1, (off_t)r.psz), 1);
		assert_int_equal(b, 0x99);
	}
	assert_true(store_faults(p, 1));
	unmap_iova(&r, iova, len);
	assert_int_equal(munmap(p, len), 0);
	close(mfd);
	rig_close(&r);
}

static void test_readonly_then_munmap_keeps_device_pages(void **state)
{
	struct rig r;
	size_t len;
	uint8_t *p;
	uint64_t iova;

	(void)state;
	rig_open(&r);
	len = 2 * r.psz;
	p = anon_pages(len, 0x61);
	iova = map_user(&r, p, len);
	assert_int_equal(mprotect(p, len, PROT_READ), 0);
	assert_int_equal(munmap(p, len), 0);
	device_poke(&r, iova + 1, 0x62);
	assert_int_equal(device_byte(&r, iova + 1), 0x62);
	assert_int_equal(device_byte(&r, iova + r.psz), 0x61);
	unmap_iova(&r, iova, len);
	rig_close(&r);
}

static void test_partly_pinned_range(void **state)
{
	struct rig r;
	size_t len;
	uint8_t *p;
	uint64_t iova;

	(void)state;
	rig_open(&r);
	len = 4 * r.psz;
	p = anon_pages(len, 0x70);
	/* Only the middle two pages are pinned. */
	iova = map_user(&r, p + r.psz, 2 * r.psz);
	assert_int_equal(mprotect(p, len, PROT_READ), 0);
	device_poke(&r, iova + r.psz, 0x71);
	assert_int_equal(p[2 * r.psz], 0x71);
	assert_int_equal(p[0], 0x70);
	assert_int_equal(p[3 * r.psz], 0x70);
	assert_true(store_faults(p, 1));
	assert_true(store_faults(p + 3 * r.psz, 1));
	unmap_iova(&r, iova, 2 * r.psz);
	assert_int_equal(munmap(p, len), 0);
	rig_close(&r);
}

static void test_mprotect_errors_pass_through(void **state)
{
	struct rig r;
	uint8_t *p;
	uint64_t iova;

	(void)state;
	rig_open(&r);
	p = anon_pages(r.psz, 0);
	iova = map_user(&r, p, r.psz);
	errno = 0;
	assert_int_equal(mprotect(p + 1, r.psz, PROT_READ), -1);
	assert_int_equal(errno, EINVAL);
	/* Nothing changed: the program still writes its page. */
	assert_false(store_faults(p, 0x13));
	assert_int_equal(device_byte(&r, iova), 0x13);
	unmap_iova(&r, iova, r.psz);
	assert_int_equal(munmap(p, r.psz), 0);
	rig_close(&r);
}

/* Private memory stays private across fork, protected and pinned or not. */
static void test_fork_child_gets_its_own_copy(void **state)
{
	struct rig r;
	size_t len;
	uint8_t *p;
	uint64_t iova;
	pid_t pid;
	int status;

	(void)state;
	rig_open(&r);
	len = 2 * r.psz;
	p = anon_pages(len, 0x21);
	iova = map_user(&r, p, len);
	assert_int_equal(mprotect(p, len, PROT_READ), 0);
	assert_int_equal(mprotect(p, len, PROT_READ | PROT_WRITE), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		memset(p, 0xee, len);
		_exit(p[0] == 0xee ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(p[0], 0x21);
	assert_int_equal(p[len - 1], 0x21);
	assert_int_equal(device_byte(&r, iova + r.psz), 0x21);
	unmap_iova(&r, iova, len);
	assert_int_equal(munmap(p, len), 0);
	rig_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readonly_private_still_takes_device_writes),
		cmocka_unit_test(test_prot_none_still_read_by_device),
		cmocka_unit_test(test_readonly_shared_memfd),
		cmocka_unit_test(test_readonly_then_munmap_keeps_device_pages),
		cmocka_unit_test(test_partly_pinned_range),
		cmocka_unit_test(test_mprotect_errors_pass_through),
		cmocka_unit_test(test_fork_child_gets_its_own_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
