// SPDX-License-Identifier: MIT
/*
 * Run through `uiommufd run`: a program that crashes still crashes.  The
 * host's fault guard sits in front of SIGSEGV and SIGBUS once a copy from
 * user memory has run; a fault that is not ours must end the program with
 * the signal, as it would without uiommufd, not loop in the handler.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "uapi/iommufd.h"

/* Arm the guard: an ioctl whose argument is not mapped gets EFAULT. */
static void use_the_guard(void)
{
	int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	errno = 0;
	assert_int_equal(ioctl(fd, IOMMU_IOAS_ALLOC, (void *)16), -1);
	assert_int_equal(errno, EFAULT);
	close(fd);
}

static void crash_in_child(int expect_sig, void (*crash)(void))
{
	pid_t pid;
	int status;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(10);	/* a handler loop ends as SIGALRM, not a hang */
		/* cmocka catches crashes; the child wants the default action. */
		signal(SIGSEGV, SIG_DFL);
		use_the_guard();
		crash();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), expect_sig);
}

static volatile uintptr_t bad_address = 8;

static void null_store(void)
{
	*(volatile int *)bad_address = 1;
}

static void test_segv_with_default_action(void **state)
{
	(void)state;
	crash_in_child(SIGSEGV, null_store);
}

static sigjmp_buf handled;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(handled, 1);
}

static void test_program_handler_still_runs(void **state)
{
	struct sigaction sa = { .sa_handler = on_segv }, old;
	volatile int reached = 0;

	(void)state;
	use_the_guard();
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGSEGV, &sa, &old), 0);
	if (!sigsetjmp(handled, 1))
		null_store();
	else
		reached = 1;
	assert_int_equal(sigaction(SIGSEGV, &old, NULL), 0);
	assert_int_equal(reached, 1);
	/* And the guard still answers EFAULT afterwards. */
	use_the_guard();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segv_with_default_action),
		cmocka_unit_test(test_program_handler_still_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
