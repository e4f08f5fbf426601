// SPDX-License-Identifier: MIT
/*
 * A plain VFIO client, as QEMU or DPDK is: it finds an emulated function
 * through sysfs and drives it through /dev/vfio the way the kernel's
 * interfaces are used, with the real libc calls (open, stat, ioctl,
 * pread, close).  It checks the group path with a type1 container, the
 * group path with an iommufd, the cdev path with BIND_IOMMUFD, the
 * errnos of the busy and bad-input cases, sysfs's live config and enable
 * files and an ioeventfd's BAR write.
 *
 * The Makefile runs scenario tests under plain `uiommufd run`; this one
 * then runs itself again under `uiommufd run --device ...` (the command
 * next to it in the build tree).  A build without the ioat model (the vfio
 * branch before the models are merged) says so and passes: there is
 * nothing to test.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "uapi/iommufd.h"
#include "uapi/vfio.h"
#include "uapi/vfio_group.h"

#define BDF "0000:01:00.0"
/* VFIO_DEVICE_GET_INFO: pci.c's, numbered here to need no more headers. */
#define DEVICE_GET_INFO _IO(VFIO_TYPE, VFIO_BASE + 7)
#define CONFIG_OFFSET (7ULL << 40)	/* VFIO_PCI_CONFIG_REGION_INDEX << 40 */

struct device_info {
	uint32_t argsz, flags, num_regions, num_irqs, cap_offset, pad;
};

/* /dev/vfio/N of a function, from its iommu_group link, as QEMU finds it. */
static void group_path(const char *bdf, char *out, size_t len)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(link, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = 0;
	snprintf(out, len, "/dev/vfio/%s", strrchr(target, '/') + 1);
}

static int get_info(int dev, struct device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	return ioctl(dev, DEVICE_GET_INFO, info);
}

static void test_type1_group_path(void **state)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map), .flags = 3, .size = 1 << 20 };
	struct device_info info;
	char path[64];
	struct stat st;
	uint32_t id = 0;
	int container, group, dev;
	void *ram;

	group_path(BDF, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	container = open("/dev/vfio/vfio", O_RDWR);
	group = open(path, O_RDWR);
	assert_true(container >= 0 && group >= 0);
	assert_int_equal(fstat(group, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	/* One open of a group at a time. */
	assert_int_equal(open(path, O_RDWR), -1);
	assert_int_equal(errno, EBUSY);

	assert_int_equal(ioctl(group, VFIO_GROUP_GET_STATUS, &status), 0);
	assert_int_equal(status.flags, VFIO_GROUP_FLAGS_VIABLE);
	assert_int_equal(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, BDF), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ioctl(group, VFIO_GROUP_SET_CONTAINER, &group), -1);
	assert_int_equal(errno, EBADFD);
	assert_int_equal(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container), 0);
	assert_int_equal(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	ram = mmap(NULL, map.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ram != MAP_FAILED);
	map.vaddr = (uintptr_t)ram;
	assert_int_equal(ioctl(container, VFIO_IOMMU_MAP_DMA, &map), 0);

	assert_int_equal(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:01:01.0"), -1);
	assert_int_equal(errno, ENODEV);
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, BDF);
	assert_true(dev >= 0);
	assert_int_equal(get_info(dev, &info), 0);
	assert_int_equal(info.num_regions, 9);
	assert_int_equal(pread(dev, &id, 4, CONFIG_OFFSET), 4);
	assert_int_equal(id, 0x20218086);
	/*
	 * An iommufd-provided container goes even while a device fd is open
	 * (no legacy container's EBUSY); the device fd keeps the group in use.
	 */
	assert_int_equal(ioctl(group, VFIO_GROUP_UNSET_CONTAINER), 0);
	assert_int_equal(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, BDF), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(close(group), 0);
	assert_int_equal(open(path, O_RDWR), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(get_info(dev, &info), 0);
	assert_int_equal(close(dev), 0);
	group = open(path, O_RDWR);
	assert_true(group >= 0);
	assert_int_equal(ioctl(group, VFIO_GROUP_GET_STATUS, &status), 0);
	assert_int_equal(status.flags, VFIO_GROUP_FLAGS_VIABLE);
	assert_int_equal(close(group), 0);
	assert_int_equal(close(container), 0);
	munmap(ram, map.size);
}

static void test_iommufd_group_path(void **state)
{
	char path[64];
	int iommufd, group, dev;
	struct device_info info;

	group_path("0000:01:01.0", path, sizeof(path));
	assert_string_equal(path, "/dev/vfio/40");
	iommufd = open("/dev/iommu", O_RDWR);
	group = open(path, O_RDWR);
	assert_true(iommufd >= 0 && group >= 0);
	assert_int_equal(ioctl(group, VFIO_GROUP_SET_CONTAINER, &iommufd), 0);
	/* The program's iommufd may go: the group holds the context. */
	assert_int_equal(close(iommufd), 0);
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:01:01.0");
	assert_true(dev >= 0);
	assert_int_equal(get_info(dev, &info), 0);
	assert_int_equal(close(dev), 0);
	assert_int_equal(ioctl(group, VFIO_GROUP_UNSET_CONTAINER), 0);
	assert_int_equal(close(group), 0);
}

static void test_cdev_path(void **state)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = 12 };
	struct device_info info;
	char path[64], devnum[32], want[32];
	struct stat st;
	int iommufd, cdev, group, fd;
	ssize_t n;

	/* sysfs's dev file names the cdev's number, which stat() of the node shows. */
	fd = open("/sys/bus/pci/devices/" BDF "/vfio-dev/vfio0/dev", O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, devnum, sizeof(devnum) - 1);
	assert_true(n > 0);
	devnum[n] = 0;
	close(fd);
	cdev = open("/dev/vfio/devices/vfio0", O_RDWR);
	assert_true(cdev >= 0);
	assert_int_equal(fstat(cdev, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	snprintf(want, sizeof(want), "%u:%u\n", major(st.st_rdev), minor(st.st_rdev));
	assert_string_equal(devnum, want);

	/* Nothing before the bind. */
	assert_int_equal(get_info(cdev, &info), -1);
	assert_int_equal(errno, EINVAL);
	iommufd = open("/dev/iommu", O_RDWR);
	bind.iommufd = iommufd;
	assert_int_equal(ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
	assert_int_not_equal(bind.out_devid, 0);
	/* The group of a bound device cannot be opened. */
	group_path(BDF, path, sizeof(path));
	assert_int_equal(open(path, O_RDWR), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc), 0);
	at.pt_id = alloc.out_ioas_id;
	assert_int_equal(ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
	assert_int_not_equal(at.pt_id, alloc.out_ioas_id);
	assert_int_equal(get_info(cdev, &info), 0);
	assert_int_equal(close(cdev), 0);
	group = open(path, O_RDWR);
	assert_true(group >= 0);
	assert_int_equal(close(group), 0);
	assert_int_equal(close(iommufd), 0);
}

/* The whole of a sysfs file of BDF, read with a fresh open as tools do. */
static size_t sysfs_read(const char *attr, void *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", BDF, attr);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, len);
	assert_true(n >= 0);
	close(fd);
	return (size_t)n;
}

static uint32_t sysfs_config_dword(unsigned int off)
{
	uint8_t cfg[256];
	uint32_t v;

	assert_true(sysfs_read("config", cfg, sizeof(cfg)) >= off + 4);
	memcpy(&v, cfg + off, 4);
	return v;
}

static int sysfs_enable(void)
{
	char text[16] = { 0 };

	sysfs_read("enable", text, sizeof(text) - 1);
	return atoi(text);
}

/*
 * sysfs's config and enable follow the device: the enable count while it
 * is open, the live command register, and BARs as assigned whatever
 * vfio's virtual view holds.
 */
static void test_sysfs_live(void **state)
{
	uint32_t bar0, sizing = 0xffffffff, cmd;
	char path[64];
	int iommufd, group, dev;

	group_path(BDF, path, sizeof(path));
	assert_int_equal(sysfs_enable(), 0);
	bar0 = sysfs_config_dword(0x10);
	assert_int_equal(sysfs_config_dword(0x04) & 0x7, 0);	/* no decode, no master */
	iommufd = open("/dev/iommu", O_RDWR);
	group = open(path, O_RDWR);
	assert_true(iommufd >= 0 && group >= 0);
	assert_int_equal(ioctl(group, VFIO_GROUP_SET_CONTAINER, &iommufd), 0);
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, BDF);
	assert_true(dev >= 0);
	/* Opened: enabled once, memory decode on. */
	assert_int_equal(sysfs_enable(), 1);
	assert_int_equal(sysfs_config_dword(0x04) & 0x6, 0x2);
	/* Bus master through vfio's config region shows in the host's view. */
	assert_int_equal(pread(dev, &cmd, 2, CONFIG_OFFSET + 4), 2);
	cmd |= 0x4;
	assert_int_equal(pwrite(dev, &cmd, 2, CONFIG_OFFSET + 4), 2);
	assert_int_equal(sysfs_config_dword(0x04) & 0x6, 0x6);
	/* A sizing write is vfio's business: the host still sees the address. */
	assert_int_equal(pwrite(dev, &sizing, 4, CONFIG_OFFSET + 0x10), 4);
	assert_int_equal(pread(dev, &sizing, 4, CONFIG_OFFSET + 0x10), 4);
	assert_true(sizing != bar0);
	assert_int_equal(sysfs_config_dword(0x10), bar0);
	assert_int_equal(close(dev), 0);
	/* The last close disabled it again. */
	assert_int_equal(sysfs_enable(), 0);
	assert_int_equal(sysfs_config_dword(0x04) & 0x7, 0);
	assert_int_equal(close(group), 0);
	assert_int_equal(close(iommufd), 0);
}

/* struct vfio_device_ioeventfd and its number, spelled out as a client would. */
struct ioeventfd_arg {
	uint32_t argsz, flags;
	uint64_t offset, data;
	int32_t fd;
	uint32_t reserved;
};
#define DEVICE_IOEVENTFD _IO(VFIO_TYPE, VFIO_BASE + 16)
#define IOAT_CHAN0_CHANCMP 0x98	/* channel 0's completion address: reads back */

/* An eventfd's signal becomes a BAR write, through the real libc calls. */
static void test_ioeventfd(void **state)
{
	struct ioeventfd_arg a = { .argsz = sizeof(a), .flags = 8,
				   .offset = IOAT_CHAN0_CHANCMP, .data = 0x12345640 };
	uint64_t one = 1, got = 0;
	char path[64];
	int iommufd, group, dev, e, k;

	group_path(BDF, path, sizeof(path));
	iommufd = open("/dev/iommu", O_RDWR);
	group = open(path, O_RDWR);
	assert_true(iommufd >= 0 && group >= 0);
	assert_int_equal(ioctl(group, VFIO_GROUP_SET_CONTAINER, &iommufd), 0);
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, BDF);
	assert_true(dev >= 0);
	e = eventfd(0, EFD_CLOEXEC);
	assert_true(e >= 0);
	a.fd = e;
	assert_int_equal(ioctl(dev, DEVICE_IOEVENTFD, &a), 0);
	assert_int_equal(ioctl(dev, DEVICE_IOEVENTFD, &a), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(write(e, &one, sizeof(one)), sizeof(one));
	for (k = 0; k < 2000 && got != a.data; k++) {
		assert_int_equal(pread(dev, &got, 8, IOAT_CHAN0_CHANCMP), 8);
		if (got != a.data)
			usleep(1000);
	}
	assert_int_equal(got, a.data);
	a.fd = -1;
	assert_int_equal(ioctl(dev, DEVICE_IOEVENTFD, &a), 0);
	assert_int_equal(ioctl(dev, DEVICE_IOEVENTFD, &a), -1);
	assert_int_equal(errno, ENODEV);
	/* The config region takes none. */
	a.offset = CONFIG_OFFSET;
	a.fd = e;
	assert_int_equal(ioctl(dev, DEVICE_IOEVENTFD, &a), -1);
	assert_int_equal(errno, EINVAL);
	close(e);
	assert_int_equal(close(dev), 0);
	assert_int_equal(close(group), 0);
	assert_int_equal(close(iommufd), 0);
}

/* The command of this build, next to this test: BUILD/tests/scenario/X -> BUILD/bin. */
static void build_tool(char *self, size_t len, char *tool, size_t tlen)
{
	ssize_t n = readlink("/proc/self/exe", self, len - 1);
	char dir[PATH_MAX];
	int up;

	if (n <= 0) {
		perror("readlink /proc/self/exe");
		exit(1);
	}
	self[n] = 0;
	snprintf(dir, sizeof(dir), "%s", self);
	for (up = 0; up < 3; up++)
		*strrchr(dir, '/') = 0;
	snprintf(tool, tlen, "%s/bin/uiommufd", dir);
}

/* Whether `uiommufd run --help` of this build lists the ioat model. */
static int build_has_ioat(const char *tool)
{
	char cmd[PATH_MAX + 64], line[256];
	int found = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' run --help", tool);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p))
		found |= !strncmp(line, "  ioat ", 7);
	pclose(p);
	return found;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type1_group_path),
		cmocka_unit_test(test_iommufd_group_path),
		cmocka_unit_test(test_cdev_path),
		cmocka_unit_test(test_sysfs_live),
		cmocka_unit_test(test_ioeventfd),
	};
	char self[PATH_MAX], tool[PATH_MAX + 16];
	int status;
	pid_t pid;

	if (getenv("UIOMMUFD_DEVICES"))
		return cmocka_run_group_tests_name("vfio_nodes", tests, NULL, NULL);
	build_tool(self, sizeof(self), tool, sizeof(tool));
	if (!build_has_ioat(tool)) {
		printf("test_vfio_nodes: this build has no ioat model; nothing to test\n");
		return 0;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		execl(tool, "uiommufd", "run", "--device", "ioat,bdf=" BDF, "--device",
		      "ioat,bdf=0000:01:01.0,group=40", "--", self, (char *)NULL);
		perror("exec uiommufd");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
