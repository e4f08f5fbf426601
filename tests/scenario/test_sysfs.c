// SPDX-License-Identifier: MIT
/*
 * Run through `uiommufd run`: what a program sees of an emulated device in
 * sysfs and /dev/vfio, with plain libc calls only, as QEMU and DPDK look
 * for it: the listing of /sys/bus/pci/devices (real and emulated side by
 * side), attribute files, the driver and iommu_group links, realpath(),
 * the group and cdev nodes and fstat() of their descriptors.
 *
 * The test re-runs itself with UIOMMUFD_DEVICES set (what `uiommufd run
 * --device ioat,bdf=0000:01:00.0` sets), so the preloaded shim starts with
 * the device.  A shim built without the VFIO layer (it exports no
 * uiommufd_devset_create) has no devices to show: then the tests skip.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cmocka.h>

#include "uapi/vfio.h"

#define BDF "0000:01:00.0"
#define DEV "/sys/bus/pci/devices/" BDF

/* The group and device ioctls this client uses (linux/vfio.h). */
#ifndef VFIO_GROUP_GET_STATUS
#define VFIO_GROUP_GET_STATUS _IO(VFIO_TYPE, VFIO_BASE + 3)
#endif
#ifndef VFIO_DEVICE_GET_INFO
#define VFIO_DEVICE_GET_INFO _IO(VFIO_TYPE, VFIO_BASE + 7)
#endif
#ifndef VFIO_DEVICE_BIND_IOMMUFD
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif
#define GROUP_FLAGS_VIABLE (1u << 0)
/* vfio-pci's region offsets: index << 40; config space is region 7. */
#define REGION_OFFSET(i) ((uint64_t)(i) << 40)
#define CONFIG_REGION 7
/* The I/OAT model's version register in BAR0 (CBVER) and its value. */
#define IOAT_CBVER_OFF 0x08
#define IOAT_CBVER 0x33

struct bind_iommufd_arg {
	uint32_t argsz;
	uint32_t flags;
	int32_t iommufd;
	uint32_t out_devid;
};

struct group_status_arg {
	uint32_t argsz;
	uint32_t flags;
};

/* The fortified spellings a program built with _FORTIFY_SOURCE calls. */
ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t nbytes, off64_t off, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t nbytes, off_t off, size_t buflen);
char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen);

static bool have_devices;

static char *read_text(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

static void assert_file(const char *path, const char *want)
{
	char *got = read_text(path);

	if (!got)
		fail_msg("%s: %s", path, strerror(errno));
	assert_string_equal(got, want);
}

static void assert_link(const char *path, const char *want)
{
	char text[PATH_MAX];
	ssize_t n = readlink(path, text, sizeof(text) - 1);

	if (n < 0)
		fail_msg("readlink %s: %s", path, strerror(errno));
	text[n] = 0;
	assert_string_equal(text, want);
}

/* The machine's own listing, read past the shim with raw system calls. */
static size_t real_entries(const char *dir, char names[][256], size_t max)
{
	char buf[16384];
	size_t n = 0;
	long got;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < got;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);

			if (de->d_name[0] != '.' && n < max)
				snprintf(names[n++], 256, "%s", de->d_name);
			off += de->d_reclen;
		}
	}
	syscall(SYS_close, fd);
	return n;
}

static bool listed(const char *dir, const char *name)
{
	struct dirent *de;
	bool found = false;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)))
		found |= !strcmp(de->d_name, name);
	closedir(d);
	return found;
}

static int group_of_device(void)
{
	char text[PATH_MAX], *slash;
	ssize_t n = readlink(DEV "/iommu_group", text, sizeof(text) - 1);

	assert_true(n > 0);
	text[n] = 0;
	slash = strrchr(text, '/');
	assert_non_null(slash);
	return atoi(slash + 1);
}

static dev_t dev_file(const char *path)
{
	unsigned int maj, min;
	char *text = read_text(path);

	if (!text || sscanf(text, "%u:%u", &maj, &min) != 2)
		fail_msg("%s: no MAJ:MIN", path);
	return makedev(maj, min);
}

static void test_listing_merges_real_functions(void **state)
{
	static char names[512][256];
	size_t n = real_entries("/sys/bus/pci/devices", names, 512);

	(void)state;
	if (!have_devices)
		skip();
	assert_true(listed("/sys/bus/pci/devices", BDF));
	for (size_t i = 0; i < n; i++)
		if (!listed("/sys/bus/pci/devices", names[i]))
			fail_msg("real function %s missing from the listing", names[i]);
	/* Modules too: ours and the machine's. */
	assert_true(listed("/sys/module", "vfio"));
	assert_true(listed("/sys/module", "vfio_pci"));
	n = real_entries("/sys/module", names, 512);
	for (size_t i = 0; i < n; i++)
		assert_true(listed("/sys/module", names[i]));
	assert_int_equal(access("/sys/module/vfio", F_OK), 0);
}

static void test_attributes(void **state)
{
	uint8_t cfg[4];
	struct stat st;
	int fd;

	(void)state;
	if (!have_devices)
		skip();
	assert_file(DEV "/vendor", "0x8086\n");
	assert_file(DEV "/device", "0x2021\n");
	assert_file(DEV "/class", "0x088000\n");
	assert_file(DEV "/numa_node", "-1\n");
	assert_file(DEV "/driver_override", "(null)\n");
	fd = open(DEV "/config", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, cfg, 4), 4);
	assert_int_equal(cfg[0], 0x86);
	assert_int_equal(cfg[1], 0x80);
	assert_int_equal(cfg[2], 0x21);
	assert_int_equal(cfg[3], 0x20);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	close(fd);
	assert_int_equal(stat(DEV "/resource", &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(lstat(DEV, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(DEV, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void test_links_and_realpath(void **state)
{
	char buf[PATH_MAX], want[64], *p;
	int group;

	(void)state;
	if (!have_devices)
		skip();
	assert_link(DEV, "../../../devices/pci0000:01/" BDF);
	assert_link(DEV "/driver", "../../../bus/pci/drivers/vfio-pci");
	group = group_of_device();
	snprintf(want, sizeof(want), "../../../kernel/iommu_groups/%d", group);
	assert_link(DEV "/iommu_group", want);
	assert_true(__readlink_chk(DEV "/driver", buf, sizeof(buf), sizeof(buf)) > 0);

	/* realpath() answers /sys paths, never the private tree's. */
	assert_non_null(realpath(DEV, buf));
	assert_string_equal(buf, "/sys/devices/pci0000:01/" BDF);
	assert_non_null(__realpath_chk(DEV "/iommu_group", buf, sizeof(buf)));
	snprintf(want, sizeof(want), "/sys/kernel/iommu_groups/%d", group);
	assert_string_equal(buf, want);
	p = canonicalize_file_name(DEV "/driver");
	assert_non_null(p);
	assert_string_equal(p, "/sys/bus/pci/drivers/vfio-pci");
	free(p);
	snprintf(buf, sizeof(buf), "/sys/kernel/iommu_groups/%d/devices", group);
	assert_true(listed(buf, BDF));
	assert_true(listed("/sys/bus/pci/drivers/vfio-pci", BDF));
}

/* Everything not ours is the machine's, as before. */
static void test_real_sysfs_untouched(void **state)
{
	static char names[512][256];
	char raw[256] = "", *text;
	struct stat st;
	long n;
	int fd;

	(void)state;
	if (!have_devices)
		skip();
	fd = (int)syscall(SYS_openat, AT_FDCWD, "/sys/devices/system/cpu/online", O_RDONLY);
	if (fd >= 0) {
		n = syscall(SYS_read, fd, raw, sizeof(raw) - 1);
		raw[n > 0 ? n : 0] = 0;
		syscall(SYS_close, fd);
		text = read_text("/sys/devices/system/cpu/online");
		assert_non_null(text);
		assert_string_equal(text, raw);
	}
	assert_int_equal(stat("/sys/kernel", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(access("/sys/no-such-entry", F_OK), -1);
	assert_int_equal(errno, ENOENT);
	/* A real function reads as it does without the shim. */
	if (real_entries("/sys/bus/pci/devices", names, 512)) {
		char path[PATH_MAX], real_text[PATH_MAX], *got;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", names[0]);
		n = syscall(SYS_readlinkat, AT_FDCWD, path, real_text, sizeof(real_text) - 1);
		assert_true(n > 0);
		real_text[n] = 0;
		if (strcmp(names[0], BDF)) {
			assert_link(path, real_text);
			got = realpath(path, NULL);
			assert_non_null(got);
			assert_memory_equal(got, "/sys/devices/", 13);
			free(got);
		}
	}
}

static void test_group_node(void **state)
{
	struct group_status_arg status = { .argsz = sizeof(status) };
	char path[64], cls[96];
	struct stat st, fst;
	uint8_t b;
	void *p;
	int fd, group;

	(void)state;
	if (!have_devices)
		skip();
	group = group_of_device();
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	snprintf(cls, sizeof(cls), "/sys/class/vfio/%d/dev", group);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, dev_file(cls));
	assert_int_equal(access(path, R_OK | W_OK), 0);

	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &fst), 0);
	assert_true(S_ISCHR(fst.st_mode));
	assert_int_equal(fst.st_rdev, st.st_rdev);
	/* The group's own ioctl, through plain ioctl(). */
	assert_int_equal(ioctl(fd, VFIO_GROUP_GET_STATUS, &status), 0);
	assert_true(status.flags & GROUP_FLAGS_VIABLE);
	/* A group file has no read and no mmap. */
	assert_int_equal(pread(fd, &b, 1, 0), -1);
	assert_int_equal(errno, EINVAL);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	assert_ptr_equal(p, MAP_FAILED);
	assert_int_equal(errno, ENODEV);
	close(fd);

	/* Not a group of the set. */
	assert_int_equal(open("/dev/vfio/4095", O_RDWR), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(stat("/dev/vfio/4095", &st), -1);
}

static void test_cdev_node(void **state)
{
	char dir[] = DEV "/vfio-dev", name[256] = "", path[PATH_MAX];
	struct dirent *de;
	struct statx stx;
	struct stat st, fst;
	dev_t rdev;
	uint8_t b;
	DIR *d;
	int fd;

	(void)state;
	if (!have_devices)
		skip();
	/* As QEMU finds it: the vfio-dev directory names the cdev. */
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4))
			snprintf(name, sizeof(name), "%s", de->d_name);
	closedir(d);
	assert_true(name[0]);
	snprintf(path, sizeof(path), "%s/%s/dev", dir, name);
	rdev = dev_file(path);
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, rdev);

	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &fst), 0);
	assert_true(S_ISCHR(fst.st_mode));
	assert_int_equal(fst.st_rdev, rdev);
	assert_int_equal(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx), 0);
	assert_true(S_ISCHR(stx.stx_mode));
	assert_int_equal(makedev(stx.stx_rdev_major, stx.stx_rdev_minor), rdev);
	/* Before BIND_IOMMUFD the device refuses access, as the kernel's. */
	assert_int_equal(ioctl(fd, VFIO_DEVICE_GET_INFO, path), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pread(fd, &b, 1, 0), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);
}

/*
 * A bound device's regions through every libc spelling the shim routes,
 * and a BAR mapped into the program (stores and loads trapped to the model).
 */
static void test_device_region_calls(void **state)
{
	struct bind_iommufd_arg bind = { .argsz = sizeof(bind) };
	uint16_t vendor = 0, device = 0;
	struct iovec iov[2] = { { &vendor, 2 }, { &device, 2 } };
	uint64_t cfg = REGION_OFFSET(CONFIG_REGION);
	volatile uint8_t *bar;
	struct stat st;
	int ifd, dfd;

	(void)state;
	if (!have_devices)
		skip();
	ifd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	assert_true(ifd >= 0);
	dfd = open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);
	assert_true(dfd >= 0);
	bind.iommufd = ifd;
	assert_int_equal(ioctl(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);

	assert_int_equal(pread(dfd, &vendor, 2, (off_t)cfg), 2);
	assert_int_equal(vendor, 0x8086);
	vendor = 0;
	assert_int_equal(pread64(dfd, &vendor, 2, (off64_t)cfg), 2);
	assert_int_equal(vendor, 0x8086);
	vendor = 0;
	assert_int_equal(__pread64_chk(dfd, &vendor, 2, (off64_t)cfg, sizeof(vendor)), 2);
	assert_int_equal(vendor, 0x8086);
	device = 0;
	assert_int_equal(__pread_chk(dfd, &device, 2, (off_t)cfg + 2, sizeof(device)), 2);
	assert_int_equal(device, 0x2021);
	vendor = device = 0;
	assert_int_equal(preadv(dfd, iov, 2, (off_t)cfg), 4);
	assert_int_equal(vendor, 0x8086);
	assert_int_equal(device, 0x2021);
	vendor = device = 0;
	assert_int_equal(preadv2(dfd, iov, 2, (off_t)cfg, 0), 4);
	assert_int_equal(device, 0x2021);
	assert_int_equal(preadv2(dfd, iov, 2, (off_t)cfg, RWF_NOWAIT), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	/* read() at the file position, which moves on. */
	assert_int_equal(lseek(dfd, (off_t)cfg, SEEK_SET), (off_t)cfg);
	vendor = device = 0;
	assert_int_equal(read(dfd, &vendor, 2), 2);
	assert_int_equal(read(dfd, &device, 2), 2);
	assert_int_equal(vendor, 0x8086);
	assert_int_equal(device, 0x2021);
	assert_int_equal(pread(dfd, &vendor, 2, -1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fstat(dfd, &st), 0);
	assert_true(S_ISCHR(st.st_mode));

	/* BAR0 in the program's memory: a load reaches the model's register. */
	bar = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, (off_t)REGION_OFFSET(0));
	assert_ptr_not_equal(bar, MAP_FAILED);
	assert_int_equal(bar[IOAT_CBVER_OFF], IOAT_CBVER);
	/* The mapping holds the device file: it outlives the descriptor. */
	close(dfd);
	assert_int_equal(bar[IOAT_CBVER_OFF], IOAT_CBVER);
	assert_int_equal(munmap((void *)bar, 4096), 0);
	close(ifd);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listing_merges_real_functions),
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_links_and_realpath),
		cmocka_unit_test(test_real_sysfs_untouched),
		cmocka_unit_test(test_group_node),
		cmocka_unit_test(test_cdev_node),
		cmocka_unit_test(test_device_region_calls),
	};

	(void)argc;
	if (!getenv("UIOMMUFD_DEVICES")) {
		setenv("UIOMMUFD_DEVICES", "ioat,bdf=" BDF, 1);
		execv("/proc/self/exe", argv);
		perror("re-running with UIOMMUFD_DEVICES");
		return 1;
	}
	have_devices = dlsym(RTLD_DEFAULT, "uiommufd_devset_create") != NULL;
	if (!have_devices)
		fprintf(stderr, "no VFIO layer in this build: the sysfs tests skip\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
