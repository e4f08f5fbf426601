// SPDX-License-Identifier: MIT
/*
 * Run through `uiommufd run`: a sweep of bad arguments over every ioctl
 * number of /dev/iommu (';' 0x80 to 0x96 and the selftest's 0xa0) and of
 * the VFIO type1 container (/dev/vfio/vfio, VFIO_BASE + 0 to + 17).
 *
 * Each number gets: NULL, an unmapped address, a PROT_NONE page, a size
 * field of 0 and of 4, sizes just past the struct and 0xffffffff with the
 * struct right against a PROT_NONE page (zero tail, then a non-zero byte in
 * the tail), and all-ones contents with the real size and with the size
 * all-ones too.  The program must survive; every answer must be an errno
 * the kernel gives (exactly, where the kernel's order of checks fixes it);
 * VmPeak must not grow by 64 MiB over the sweep; and afterwards an IOAS
 * (and a type1 container) must still alloc, map and unmap.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"
#include "uapi/vfio.h"

#define PG 4096UL
#define SLOT 256		/* bytes before the PROT_NONE page an argument gets */

struct cmd {
	unsigned int nr;
	uint32_t size;		/* the real struct; 0: no such command */
};

#define C(n, type) { n, sizeof(struct type) }
static const struct cmd iommufd_cmds[] = {
	C(0x80, iommu_destroy),
	C(0x81, iommu_ioas_alloc),
	C(0x82, iommu_ioas_allow_iovas),
	C(0x83, iommu_ioas_copy),
	C(0x84, iommu_ioas_iova_ranges),
	C(0x85, iommu_ioas_map),
	C(0x86, iommu_ioas_unmap),
	C(0x87, iommu_option),
	C(0x88, iommu_vfio_ioas),
	C(0x89, iommu_hwpt_alloc),
	C(0x8a, iommu_hw_info),
	C(0x8b, iommu_hwpt_set_dirty_tracking),
	C(0x8c, iommu_hwpt_get_dirty_bitmap),
	C(0x8d, iommu_hwpt_invalidate),
	C(0x8e, iommu_fault_alloc),
	C(0x8f, iommu_ioas_map_file),
	C(0x90, iommu_viommu_alloc),
	C(0x91, iommu_vdevice_alloc),
	C(0x92, iommu_ioas_change_process),
	C(0x93, iommu_veventq_alloc),
	C(0x94, iommu_hw_queue_alloc),
	C(0x95, iommu_ioas_noiommu_get_pa),	/* newest kernels: may be ENOTTY */
	{ 0x96, 0 },
	C(0xa0, iommu_test_cmd),
};
#undef C

static uint8_t *rw_page;	/* followed by a PROT_NONE page */
static uint8_t *none_page;
static void *unmapped;
/* VFIO's argsz is room for output too: GET_INFO succeeds on much of the sweep. */
static bool may_succeed;

static bool errno_allowed(int e)
{
	switch (e) {
	case EFAULT: case EINVAL: case E2BIG: case ENOTTY: case EOPNOTSUPP: case ENOENT:
	case EOVERFLOW: case EBADF: case EBADFD: case ENODEV: case EPERM: case ERANGE:
		return true;
	default:
		return false;
	}
}

static long vm_peak_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPeak: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int setup(void **state)
{
	uint8_t *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	if (m == MAP_FAILED)
		return -1;
	rw_page = m;
	none_page = m + PG;
	unmapped = m + 2 * PG;
	if (mprotect(none_page, PG, PROT_NONE) || munmap(unmapped, PG))
		return -1;
	return 0;
}

/* ioctl() that must fail; its errno, checked against the allowed set. */
static int bad(int fd, unsigned long cmd, const void *arg, const char *what)
{
	long rc;

	errno = 0;
	rc = ioctl(fd, cmd, arg);
	if (rc >= 0 && may_succeed)
		return 0;
	if (rc != -1 || !errno_allowed(errno)) {
		print_error("ioctl %#lx (%s): rc %ld errno %d\n", cmd, what, rc, errno);
		fail();
	}
	return errno;
}

/* bad() that must give exactly @want (0: any allowed errno). */
static void expect(int fd, unsigned long cmd, const void *arg, const char *what, int want)
{
	int e = bad(fd, cmd, arg, what);

	if (want && e != want) {
		print_error("ioctl %#lx (%s): errno %d, the kernel gives %d\n", cmd, what, e, want);
		fail();
	}
}

/* An argument of @len bytes that ends right at the PROT_NONE page. */
static uint8_t *arg_at_edge(uint32_t len, uint8_t fill)
{
	uint8_t *p = none_page - SLOT;

	memset(rw_page, 0, PG);
	memset(p, fill, len < SLOT ? len : SLOT);
	return p;
}

static void set_size(uint8_t *arg, uint32_t size)
{
	memcpy(arg, &size, sizeof(size));
}

/*
 * The sweep for one command that reads a struct with a leading u32 size
 * (iommufd's size, VFIO's argsz).  @known: whether the command exists; an
 * unknown one is ENOTTY whatever the argument.  @exact: whether the
 * kernel's order of checks fixes each errno (iommufd's dispatcher does:
 * size read, minimum, then the tail).
 */
static void sweep(int fd, unsigned long cmd, uint32_t real, bool known, bool exact)
{
	/*
	 * iommufd reads the size before it looks the number up, so a number
	 * inside its table's range faults first even when nothing serves it.
	 */
	int fault = !exact ? 0 : EFAULT;
	int tail_fault = !exact ? 0 : known ? EFAULT : ENOTTY;
	int inval = !exact ? 0 : known ? EINVAL : ENOTTY;
	int big = !exact ? 0 : known ? E2BIG : ENOTTY;
	uint8_t *arg;

	expect(fd, cmd, NULL, "NULL", fault);
	expect(fd, cmd, unmapped, "unmapped", fault);
	expect(fd, cmd, none_page, "PROT_NONE", fault);
	expect(fd, cmd, (void *)(uintptr_t)0x8000000000000000ULL, "non-canonical", fault);
	/* The size field itself straddles into PROT_NONE. */
	expect(fd, cmd, none_page - 2, "size across PROT_NONE", fault);

	/* Shorter than any struct: EINVAL before anything else is read. */
	arg = arg_at_edge(real, 0);
	set_size(arg, 0);
	expect(fd, cmd, arg, "size 0", inval);
	set_size(arg, 4);
	expect(fd, cmd, arg, "size 4", inval);

	/* Longer than the struct with a zero tail that runs into PROT_NONE. */
	set_size(arg, SLOT + 8);
	expect(fd, cmd, arg, "zero tail into PROT_NONE", tail_fault);
	set_size(arg, 0xffffffffu);
	expect(fd, cmd, arg, "size 0xffffffff, zero tail", tail_fault);
	/* A non-zero byte in the tail comes first: E2BIG. */
	arg[SLOT - 1] = 1;
	expect(fd, cmd, arg, "size 0xffffffff, non-zero tail", big);
	set_size(arg, SLOT);
	expect(fd, cmd, arg, "non-zero tail", big);

	/* All-ones contents: with the real size, and with the size all ones. */
	if (real) {
		arg = arg_at_edge(real, 0xff);
		set_size(arg, real);
		expect(fd, cmd, arg, "all ones, real size", 0);
		arg = arg_at_edge(SLOT, 0xff);
		expect(fd, cmd, arg, "all ones", big);
	}
}

static int open_dev(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void test_iommufd_sweep(void **state)
{
	long before = vm_peak_kib();
	int fd = open_dev("/dev/iommu");
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	size_t i;

	(void)state;
	/* One object, so IDs 1 and all-ones meet both a real and no object. */
	assert_int_equal(ioctl(fd, IOMMU_IOAS_ALLOC, &alloc), 0);
	for (i = 0; i != sizeof(iommufd_cmds) / sizeof(iommufd_cmds[0]); i++) {
		const struct cmd *c = &iommufd_cmds[i];
		unsigned long cmd = _IO(IOMMUFD_TYPE, c->nr);
		bool known = c->size;

		/* A command this build leaves out answers ENOTTY, as an old kernel's. */
		memset(rw_page, 0, PG);
		if (known && ioctl(fd, cmd, rw_page) == -1 && errno == ENOTTY) {
			assert_int_equal(c->nr, 0x95);
			known = false;
		}
		sweep(fd, cmd, c->size, known, true);
	}
	/* Numbers between the core commands and the selftest's are nobody's. */
	memset(rw_page, 0, PG);
	for (i = 0x97; i != 0xa0; i++) {
		expect(fd, _IO(IOMMUFD_TYPE, i), NULL, "gap, NULL", EFAULT);
		expect(fd, _IO(IOMMUFD_TYPE, i), rw_page, "gap", ENOTTY);
	}
	/* Past the table: the VFIO layer's, which knows nothing there. */
	expect(fd, _IO(IOMMUFD_TYPE, 0xa1), NULL, "past the table", ENOTTY);
	/* The VFIO numbers reach the compat layer on /dev/iommu too. */
	may_succeed = true;
	for (i = VFIO_BASE + 12; i != VFIO_BASE + 18; i++)
		sweep(fd, _IO(VFIO_TYPE, i), 64, true, false);
	may_succeed = false;
	assert_int_equal(close(fd), 0);
	assert_true(vm_peak_kib() - before < 64 * 1024);
}

/* A container gets its IOAS from a group; without one, name it (IOMMU_VFIO_IOAS). */
static void container_ioas(int fd)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_vfio_ioas set = { .size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET };

	assert_int_equal(ioctl(fd, IOMMU_IOAS_ALLOC, &alloc), 0);
	set.ioas_id = alloc.out_ioas_id;
	assert_int_equal(ioctl(fd, IOMMU_VFIO_IOAS, &set), 0);
}

static void test_vfio_container_sweep(void **state)
{
	long before = vm_peak_kib();
	int fd = open_dev("/dev/vfio/vfio"), pass;
	unsigned int nr;

	(void)state;
	/* Before VFIO_SET_IOMMU and after it. */
	for (pass = 0; pass != 2; pass++) {
		assert_int_equal(ioctl(fd, VFIO_GET_API_VERSION, NULL), VFIO_API_VERSION);
		assert_int_equal(ioctl(fd, VFIO_GET_API_VERSION, (void *)~0UL), VFIO_API_VERSION);
		assert_int_equal(ioctl(fd, VFIO_CHECK_EXTENSION, (void *)~0UL), 0);
		assert_int_equal(ioctl(fd, VFIO_CHECK_EXTENSION, NULL), 0);
		expect(fd, VFIO_SET_IOMMU, (void *)~0UL, "SET_IOMMU ~0", EINVAL);
		may_succeed = true;
		for (nr = VFIO_BASE + 3; nr != VFIO_BASE + 18; nr++)
			sweep(fd, _IO(VFIO_TYPE, nr), 64, true, false);
		may_succeed = false;
		if (!pass) {
			/* No IOAS behind the container yet: ENODEV, as VFIO without a group. */
			expect(fd, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU,
			       "SET_IOMMU without an IOAS", ENODEV);
			container_ioas(fd);
			assert_int_equal(ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
		}
	}
	assert_int_equal(close(fd), 0);
	assert_true(vm_peak_kib() - before < 64 * 1024);
}

static void test_normal_operation_after(void **state)
{
	uint8_t *buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			    0);
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)buf, .length = 4 * PG,
	};
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	struct vfio_iommu_type1_dma_map vmap = {
		.argsz = sizeof(vmap),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf, .iova = 1UL << 30, .size = 4 * PG,
	};
	struct vfio_iommu_type1_dma_unmap vunmap = {
		.argsz = sizeof(vunmap), .iova = 1UL << 30, .size = 4 * PG,
	};
	int fd;

	(void)state;
	assert_ptr_not_equal(buf, MAP_FAILED);
	fd = open_dev("/dev/iommu");
	assert_int_equal(ioctl(fd, IOMMU_IOAS_ALLOC, &alloc), 0);
	assert_int_equal(alloc.out_ioas_id, 1);
	map.ioas_id = unmap.ioas_id = alloc.out_ioas_id;
	assert_int_equal(ioctl(fd, IOMMU_IOAS_MAP, &map), 0);
	unmap.iova = map.iova;
	unmap.length = 4 * PG;
	assert_int_equal(ioctl(fd, IOMMU_IOAS_UNMAP, &unmap), 0);
	assert_int_equal(unmap.length, 4 * PG);
	assert_int_equal(close(fd), 0);

	fd = open_dev("/dev/vfio/vfio");
	container_ioas(fd);
	assert_int_equal(ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(ioctl(fd, VFIO_IOMMU_MAP_DMA, &vmap), 0);
	assert_int_equal(ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &vunmap), 0);
	assert_int_equal(vunmap.size, 4 * PG);
	assert_int_equal(close(fd), 0);
	munmap(buf, 4 * PG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iommufd_sweep),
		cmocka_unit_test(test_vfio_container_sweep),
		cmocka_unit_test(test_normal_operation_after),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
