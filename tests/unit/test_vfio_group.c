// SPDX-License-Identifier: MIT
/*
 * The device set and the VFIO group file (devset.c, group.c, device.c):
 * parsing and address assignment, opening nodes, GET_STATUS,
 * SET/UNSET_CONTAINER with a type1 container or an iommufd, GET_DEVICE_FD,
 * the device's binding and DMA through the compat IOAS, the busy rules and
 * no-IOMMU groups.  The rules are docs/uapi-behaviour.md, "VFIO groups and
 * cdevs".
 *
 * The devices are real I/OAT functions behind the real vfio-pci layer:
 * what the tests check is what a program sees (the function's reset and
 * decode state on first open and last close, vfio-pci's answers through
 * the device fd, copies the engine makes through the container's IOAS or,
 * without an IOMMU, at physical addresses), and each engine is a thread,
 * so /proc/self/task shows a set torn down whole.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "vfio_helpers.h"
#include "core/iommufd_private.h"

#define NAME_MAX_TEST 4096

/* ---- the set */

/* Wait (a little) for exited engine threads to leave /proc/self/task. */
static int settle_threads(int want)
{
	struct timespec pause = { 0, 1000000 };
	int n = thread_count(), k;

	for (k = 0; k < 2000 && n != want; k++) {
		nanosleep(&pause, NULL);
		n = thread_count();
	}
	return n;
}

static void test_devset_assigns_addresses_groups_minors(void **state)
{
	int threads = settle_threads(1);	/* earlier tests' device threads gone */
	struct vfio_devset *set = make_set("ioat;ioat,bdf=0000:01:00.0;ioat;ioat,group=9");
	struct vfio_device *a, *b, *c, *d;

	assert_int_equal(vfio_devset_count(set), 4);
	a = vfio_devset_device(set, 0);
	b = vfio_devset_device(set, 1);
	c = vfio_devset_device(set, 2);
	d = vfio_devset_device(set, 3);
	/* The explicit address is placed first; the others take the next free slots. */
	assert_string_equal(b->name, "0000:01:00.0");
	assert_string_equal(a->name, "0000:01:01.0");
	assert_string_equal(c->name, "0000:01:02.0");
	assert_string_equal(d->name, "0000:01:03.0");
	assert_int_equal(a->cdev_minor, 0);
	assert_int_equal(d->cdev_minor, 3);
	/* A group each, never the one group= took. */
	assert_ptr_not_equal(a->group, b->group);
	assert_ptr_not_equal(b->group, c->group);
	assert_int_equal(vfio_group_id(d->group), 9);
	assert_int_not_equal(vfio_group_id(a->group), 9);
	assert_ptr_equal(vfio_devset_group_by_id(set, 9), d->group);
	assert_ptr_equal(vfio_devset_device_by_name(set, "0000:01:02.0"), c);
	assert_null(vfio_devset_device_by_name(set, "0000:01:04.0"));
	assert_ptr_equal(vfio_devset_current(), set);
	/* Real functions, closed until a device file opens them; an engine thread each. */
	assert_int_equal(thread_count(), threads + 4);
	assert_false(function_open(a));
	{
		uint8_t id[4];

		assert_int_equal(vfio_pci_config_snapshot(d, id, PCI_VENDOR_ID, 4), 4);
		assert_int_equal(id[0] | id[1] << 8, IOAT_PCI_VENDOR);
		assert_int_equal(id[2] | id[3] << 8, IOAT_PCI_DEVICE_SKX);
	}
	vfio_devset_destroy(set);
	assert_null(vfio_devset_current());
	assert_int_equal(settle_threads(threads), threads);
}

static void test_devset_group_joins(void **state)
{
	struct vfio_devset *set = make_set("ioat,group=7;ioat,bdf=02:03.1,group=7");
	struct vfio_device *a = vfio_devset_device(set, 0), *b = vfio_devset_device(set, 1);

	assert_ptr_equal(a->group, b->group);
	assert_int_equal(a->group->nr_devices, 2);
	assert_string_equal(b->name, "0000:02:03.1");
	vfio_devset_destroy(set);
}

static void test_devset_bad_lists(void **state)
{
	static const struct {
		const char *list;
		int rc;
		const char *names;	/* a part of the message */
	} bad[] = {
		{ "nosuch", -EINVAL, "nosuch" },
		{ "ioat,bdf=0000:01:20.0", -EINVAL, "01:20.0" },
		{ "ioat,bdf=zz", -EINVAL, "zz" },
		{ "ioat,bdf=0000:01:00.8", -EINVAL, "bdf" },
		{ "ioat,group=-1", -EINVAL, "-1" },
		{ "ioat,group=x", -EINVAL, "group" },
		{ "ioat,bdf=0000:01:00.0;ioat,bdf=01:00.0", -EEXIST, "0000:01:00.0" },
		{ "ioat,group=3;ioat,group=3,noiommu", -EINVAL, "noiommu" },
		{ "ioat;;ioat,bdf=1", -EINVAL, "bdf=1" },
	};
	struct vfio_devset *set = NULL;
	int threads = settle_threads(1);	/* earlier tests' device threads gone */
	char err[256];
	size_t k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		err[0] = 0;
		assert_int_equal(vfio_devset_validate(bad[k].list, err, sizeof(err)), bad[k].rc);
		assert_non_null(strstr(err, bad[k].names));
		err[0] = 0;
		assert_int_equal(vfio_devset_create(host(), bad[k].list, &set, err, sizeof(err)),
				 bad[k].rc);
		assert_non_null(strstr(err, bad[k].names));
		assert_null(vfio_devset_current());
	}
	assert_int_equal(vfio_devset_validate("ioat;ioat,noiommu", err, sizeof(err)), 0);
	assert_int_equal(thread_count(), threads);
	/*
	 * The list parses, but the model refuses the second entry's option:
	 * the first device, made already, goes again (its engine thread too).
	 */
	assert_int_equal(vfio_devset_validate("ioat;ioat,nosuchopt=1", err, sizeof(err)), 0);
	err[0] = 0;
	assert_int_equal(vfio_devset_create(host(), "ioat;ioat,nosuchopt=1", &set, err,
					    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "0000:01:01.0"));
	assert_null(vfio_devset_current());
	assert_int_equal(settle_threads(threads), threads);
}

static void test_public_api(void **state)
{
	struct uiommufd_devset *set;
	char err[128];
	int fd;

	assert_int_equal(uiommufd_devset_create(host(), "ioat,bdf=0000:01:05.0,group=4", &set, err,
						sizeof(err)), 0);
	assert_int_equal(uiommufd_vfio_open("/dev/vfio/5", O_RDWR), -ENOENT);
	fd = uiommufd_vfio_open("/dev/vfio/4", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	vclose(fd);
	uiommufd_devset_destroy(set);
	assert_int_equal(uiommufd_vfio_open("/dev/vfio/4", O_RDWR), -ENOENT);
}

/* ---- the group file */

static void test_group_open_rules(void **state)
{
	struct vfio_devset *set = make_set("ioat,group=3");
	struct stat st;
	int fd, again;

	assert_int_equal(vfio_open_path("/dev/vfio/noiommu-3", O_RDWR), -ENOENT);
	assert_int_equal(vfio_open_path("/dev/vfio/03", O_RDWR), -ENOENT);
	assert_int_equal(vfio_open_path("/dev/vfio/30", O_RDWR), -ENOENT);
	assert_int_equal(vfio_open_path("/dev/vfio/vfio", O_RDWR), -ENOENT);
	assert_int_equal(vfio_open_path("/dev/iommu", O_RDWR), -ENOENT);
	fd = vfio_open_path("/dev/vfio/3", O_RDWR);
	assert_true(fd >= 0);
	/* One open at a time. */
	assert_int_equal(vfio_open_path("/dev/vfio/3", O_RDWR), -EBUSY);
	assert_ptr_equal(vfio_group_from_fd(fd), vfio_devset_device(set, 0)->group);
	assert_null(vfio_group_from_fd(0));
	assert_null(vfio_group_from_fd(-1));
	assert_int_equal(vstat(fd, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), VFIO_GROUP_MAJOR);
	assert_int_equal(minor(st.st_rdev), 3);
	assert_int_equal(vioctl(fd, VFIO_GET_API_VERSION, NULL), -ENOTTY);
	/* stat() of the path says the same, open or not, and opens nothing. */
	memset(&st, 0, sizeof(st));
	assert_int_equal(vfio_stat_path("/dev/vfio/3", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(VFIO_GROUP_MAJOR, 3));
	assert_int_equal(vfio_stat_path("/dev/vfio/devices/vfio0", &st), 0);
	assert_int_equal(st.st_rdev, makedev(VFIO_CDEV_MAJOR, 0));
	assert_int_equal(vfio_stat_path("/dev/vfio/devices/vfio1", &st), -ENOENT);
	assert_int_equal(vfio_stat_path("/dev/vfio/noiommu-3", &st), -ENOENT);
	assert_int_equal(vfio_stat_path("/dev/vfio/vfio", &st), -ENOENT);
	vclose(fd);
	again = vfio_open_path("/dev/vfio/3", O_RDWR);
	assert_true(again >= 0);
	vclose(again);
	vfio_devset_destroy(set);
}

static void test_group_status(void **state)
{
	struct vfio_devset *set = make_set("ioat");
	struct vfio_group_status status = { .argsz = 4 };
	struct uiommufd_ctx *ctx;
	int gfd = open_group_of(vfio_devset_device(set, 0));
	int cfd = open_ctx_fd(UIOMMUFD_OPEN_VFIO_CONTAINER, &ctx);

	assert_true(gfd >= 0);
	assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_STATUS, &status), -EINVAL);
	assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_STATUS, (void *)8), -EFAULT);
	status.argsz = sizeof(status);
	status.flags = 0xff00;
	assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_STATUS, &status), 0);
	assert_int_equal(status.flags, VFIO_GROUP_FLAGS_VIABLE);
	assert_int_equal(set_container(gfd, cfd), 0);
	assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_STATUS, &status), 0);
	assert_int_equal(status.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	vclose(gfd);
	close_ctx_fd(cfd);
	vfio_devset_destroy(set);
}

static void test_set_container_errors(void **state)
{
	struct vfio_devset *set = make_set("ioat");
	struct iommu_vfio_ioas vioas = { .size = sizeof(vioas), .op = IOMMU_VFIO_IOAS_GET };
	struct uiommufd_ctx *ctx, *other;
	int gfd = open_group_of(vfio_devset_device(set, 0));
	int cfd = open_ctx_fd(UIOMMUFD_OPEN_VFIO_CONTAINER, &ctx);
	int ofd = open_ctx_fd(0, &other);
	int plain = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(vioctl(gfd, VFIO_GROUP_SET_CONTAINER, NULL), -EFAULT);
	assert_int_equal(set_container(gfd, -1), -EBADF);
	assert_int_equal(set_container(gfd, 1000), -EBADF);
	/* Open, but neither a container nor an iommufd. */
	assert_int_equal(set_container(gfd, plain), -EBADFD);
	assert_int_equal(ictl(ctx, IOMMU_VFIO_IOAS, &vioas), -ENODEV);
	assert_int_equal(set_container(gfd, cfd), 0);
	/* SET_CONTAINER made the compat IOAS the type1 calls work on. */
	assert_int_equal(ictl(ctx, IOMMU_VFIO_IOAS, &vioas), 0);
	assert_int_not_equal(vioas.ioas_id, 0);
	assert_int_equal(ictl(ctx, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU), 0);
	/* Set already: EINVAL, even before the fd is looked at. */
	assert_int_equal(set_container(gfd, ofd), -EINVAL);
	assert_int_equal(set_container(gfd, plain), -EINVAL);
	/* The group holds the context: the program's fd may go. */
	close_ctx_fd(cfd);
	assert_int_equal(vioctl(gfd, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	assert_int_equal(vioctl(gfd, VFIO_GROUP_UNSET_CONTAINER, NULL), -EINVAL);
	/* An iommufd works as the container too. */
	assert_int_equal(set_container(gfd, ofd), 0);
	vclose(gfd);
	close_ctx_fd(ofd);
	close(plain);
	vfio_devset_destroy(set);
}

/* A buffer mapped through the type1 container at @iova. */
static void *map_type1(struct uiommufd_ctx *ctx, uint64_t iova, size_t len)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = iova,
		.size = len,
	};
	void *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(buf != MAP_FAILED);
	map.vaddr = (uintptr_t)buf;
	assert_int_equal(ictl(ctx, VFIO_IOMMU_MAP_DMA, &map), 0);
	return buf;
}

static void test_get_device_fd_binds_and_translates(void **state)
{
	struct vfio_devset *set = make_set("ioat;ioat");
	struct vfio_device *vdev = vfio_devset_device(set, 0);
	struct uiommufd_ctx *ctx;
	int gfd = open_group_of(vdev);
	int cfd = open_ctx_fd(UIOMMUFD_OPEN_VFIO_CONTAINER, &ctx);
	char *longname = malloc(NAME_MAX_TEST + 1);
	uint8_t seen[64], *buf, *mem;
	uint64_t sts;
	int dfd, dfd2;

	/* No container yet. */
	assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, vdev->name), -EINVAL);
	assert_int_equal(set_container(gfd, cfd), 0);
	assert_int_equal(ictl(ctx, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU), 0);
	buf = map_type1(ctx, 0x100000, 2 * PSZ);
	memset(buf, 0xa5, 2 * PSZ);

	assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "0000:01:09.0"), -ENODEV);
	/* The other device of the set is not in this group. */
	assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_DEVICE_FD,
				vfio_devset_device(set, 1)->name), -ENODEV);
	assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, (void *)16), -EFAULT);
	memset(longname, 'a', NAME_MAX_TEST);
	longname[NAME_MAX_TEST] = 0;
	assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, longname), -EINVAL);
	longname[NAME_MAX_TEST - 1] = 0;	/* a page with its NUL: just unknown */
	assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, longname), -ENODEV);
	/* None of that opened the function. */
	assert_false(function_open(vdev));
	assert_null(vdev->idev);

	dfd = (int)vioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, vdev->name);
	if (dfd < 0)
		print_error("GET_DEVICE_FD: %d\n", dfd);
	assert_true(dfd >= 0);
	assert_true(fcntl(dfd, F_GETFD) & FD_CLOEXEC);
	/* The first open enabled the function: decode on, bus mastering off. */
	assert_true(function_open(vdev));
	assert_int_equal(cfg_rd(dfd, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	assert_int_equal(cfg_rd(dfd, PCI_VENDOR_ID, 2), IOAT_PCI_VENDOR);
	assert_pci_device_info(dfd);
	assert_non_null(vdev->idev);
	/* Bound and attached to the compat IOAS: DMA translates. */
	assert_int_equal(vdev_dma(ctx, vdev, 0x100000 + PSZ - 8, seen, 16, false), 0);
	assert_int_equal(seen[0], 0xa5);
	assert_int_equal(seen[15], 0xa5);
	memset(seen, 0x3c, sizeof(seen));
	assert_int_equal(vdev_dma(ctx, vdev, 0x100000 + 8, seen, 8, true), 0);
	assert_int_equal(buf[8], 0x3c);
	assert_int_equal(vdev_dma(ctx, vdev, 0x400000, seen, 8, false), -EFAULT);

	/*
	 * The engine itself, through the container: a descriptor, its
	 * completion writeback, source and destination, all at IOVAs the
	 * program mapped with VFIO_IOMMU_MAP_DMA.
	 */
	mem = map_type1(ctx, 0x200000, 4 * PSZ);
	memset(mem, 0, 4 * PSZ);
	for (unsigned int i = 0; i < 3000; i++)
		mem[2 * PSZ + i] = (uint8_t)(i * 13 + 1);
	ioat_copy_desc(mem, 0x200000, 0x200000 + 2 * PSZ, 0x200000 + 3 * PSZ, 3000, 0);
	sts = ioat_run_one(dfd, 0x200000, 0x200000 + PSZ);
	assert_int_equal(sts & IOAT_STS_STATE_MASK, IOAT_ST_DONE);
	assert_true((sts & IOAT_STS_ADDR_MASK) == 0x200000);
	assert_memory_equal(mem + 3 * PSZ, mem + 2 * PSZ, 3000);
	assert_int_equal(mem[3 * PSZ + 3000], 0);
	assert_true(*(volatile uint64_t *)(mem + PSZ) == sts);
	/* A destination outside what was mapped: the channel halts, memory untouched. */
	ioat_copy_desc(mem, 0x200000, 0x200000 + 2 * PSZ, 0x900000, 64, 0);
	sts = ioat_run_one(dfd, 0x200000, 0x200000 + PSZ);
	assert_int_equal(sts & IOAT_STS_STATE_MASK, IOAT_ST_HALTED);
	assert_true(bar0_rd(dfd, IOAT_CHAN_BASE + IOAT_C_CHANERR, 4) & IOAT_ERR_WRITE_DATA);

	/* What vfio-pci's hot reset asks about the files it is handed. */
	{
		struct vfio_device *other = vfio_devset_device(set, 1);
		int plain = eventfd(0, EFD_CLOEXEC), ocdev = open_cdev_of(other);

		assert_int_equal(vfio_file_has_dev(gfd, vdev), 1);
		assert_int_equal(vfio_file_has_dev(gfd, other), 0);
		assert_int_equal(vfio_file_has_dev(dfd, vdev), 1);
		assert_int_equal(vfio_file_has_dev(dfd, other), 0);
		/* A cdev not bound grants nothing. */
		assert_int_equal(vfio_file_has_dev(ocdev, other), 0);
		assert_int_equal(vfio_file_has_dev(plain, vdev), -EINVAL);
		assert_int_equal(vfio_file_has_dev(-1, vdev), -EBADF);
		assert_false(vfio_device_cdev_opened(vdev));
		vclose(ocdev);
		close(plain);
	}

	/* A second device fd: the function is opened once, so not reset again. */
	mark_function(dfd);
	dfd2 = (int)vioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, vdev->name);
	assert_true(dfd2 >= 0);
	assert_true(function_marked(dfd2));
	/* Device ioctls go to vfio-pci; the cdev-only ones too on this path (not its). */
	assert_pci_device_info(dfd2);
	assert_int_equal(vioctl(dfd, VFIO_DEVICE_GET_INFO, NULL), -EFAULT);
	{
		struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = 1 };
		struct vfio_device_detach_iommufd_pt de = { .argsz = sizeof(de) };

		assert_int_equal(vioctl(dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -ENOTTY);
		assert_int_equal(vioctl(dfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de), -ENOTTY);
	}
	{
		struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = cfd };

		assert_int_equal(vioctl(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EINVAL);
	}
	/* Region reads reach the registers: CHANCNT 1, XFERCAP as the model has it. */
	memset(seen, 0xff, sizeof(seen));
	assert_int_equal(vrw(dfd, seen, 4, 0, false), 4);
	assert_int_equal(seen[IOAT_R_CHANCNT], 1);
	assert_int_equal(seen[IOAT_R_XFERCAP], IOAT_XFERCAP_LOG);
	/* Still the group's translation after all that: still bound in the container. */
	assert_int_equal(vdev_dma(ctx, vdev, 0x100000, seen, 1, false), 0);
	assert_int_equal(seen[0], 0xa5);

	/*
	 * Device fds in use: with an iommufd as the container (ours always
	 * is) the group lets go of it anyway; the kernel's EBUSY is its
	 * legacy container's.  The open devices keep their own binding.
	 */
	assert_int_equal(vioctl(gfd, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	assert_int_equal(vioctl(gfd, VFIO_GROUP_UNSET_CONTAINER, NULL), -EINVAL);
	{
		struct vfio_group_status st = { .argsz = sizeof(st) };

		assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_STATUS, &st), 0);
		assert_int_equal(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	}
	assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, vdev->name), -EINVAL);
	seen[0] = 0;
	assert_int_equal(vdev_dma(ctx, vdev, 0x100000, seen, 1, false), 0);
	assert_int_equal(seen[0], 0xa5);
	assert_non_null(vdev->idev);
	vclose(dfd);
	assert_true(function_open(vdev));
	assert_true(function_marked(dfd2));
	vclose(dfd2);
	/* The last close reset the function and turned decode off. */
	assert_false(function_open(vdev));
	assert_null(vdev->idev);
	assert_null(vdev->ictx);
	/* The group takes a container again, and lets it go. */
	assert_int_equal(set_container(gfd, cfd), 0);
	assert_int_equal(vioctl(gfd, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);

	free(longname);
	munmap(mem, 4 * PSZ);
	munmap(buf, 2 * PSZ);
	vclose(gfd);
	close_ctx_fd(cfd);
	vfio_devset_destroy(set);
}

static void test_two_groups_one_container(void **state)
{
	struct vfio_devset *set = make_set("ioat;ioat");
	struct vfio_device *a = vfio_devset_device(set, 0), *b = vfio_devset_device(set, 1);
	struct uiommufd_ctx *ctx;
	int cfd = open_ctx_fd(UIOMMUFD_OPEN_VFIO_CONTAINER, &ctx);
	int ga = open_group_of(a), gb = open_group_of(b), da, db;
	uint8_t *buf, seen = 0;

	assert_int_equal(set_container(ga, cfd), 0);
	/* The second group finds the compat IOAS made and joins it. */
	assert_int_equal(set_container(gb, cfd), 0);
	assert_int_equal(ictl(ctx, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU), 0);
	buf = map_type1(ctx, 0, PSZ);
	buf[5] = 0x42;
	da = (int)vioctl(ga, VFIO_GROUP_GET_DEVICE_FD, a->name);
	db = (int)vioctl(gb, VFIO_GROUP_GET_DEVICE_FD, b->name);
	assert_true(da >= 0 && db >= 0);
	assert_ptr_equal(a->ictx, b->ictx);
	/* One compat IOAS, one automatic HWPT both devices share. */
	assert_ptr_equal(a->idev->hwpt, b->idev->hwpt);
	assert_int_equal(vdev_dma(ctx, a, 5, &seen, 1, false), 0);
	assert_int_equal(seen, 0x42);
	seen = 0;
	assert_int_equal(vdev_dma(ctx, b, 5, &seen, 1, false), 0);
	assert_int_equal(seen, 0x42);
	/* Unmapping reaches both at once. */
	{
		struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap), .size = PSZ };

		assert_int_equal(ictl(ctx, VFIO_IOMMU_UNMAP_DMA, &unmap), 0);
		assert_int_equal(unmap.size, PSZ);
	}
	assert_int_equal(vdev_dma(ctx, a, 5, &seen, 1, false), -EFAULT);
	assert_int_equal(vdev_dma(ctx, b, 5, &seen, 1, false), -EFAULT);
	vclose(da);
	vclose(db);
	vclose(ga);
	vclose(gb);
	munmap(buf, PSZ);
	close_ctx_fd(cfd);
	vfio_devset_destroy(set);
}

static void test_device_fd_keeps_group(void **state)
{
	struct vfio_devset *set = make_set("ioat");
	struct vfio_device *vdev = vfio_devset_device(set, 0);
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct uiommufd_ctx *ctx;
	int gfd = open_group_of(vdev);
	int cfd = open_ctx_fd(0, &ctx);
	int dfd;

	assert_int_equal(set_container(gfd, cfd), 0);
	close_ctx_fd(cfd);
	dfd = (int)vioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, vdev->name);
	assert_true(dfd >= 0);
	/* The group fd goes, but the device fd still holds the group and its context. */
	vclose(gfd);
	assert_int_equal(open_group_of(vdev), -EBUSY);
	assert_true(function_open(vdev));
	assert_pci_device_info(dfd);
	mark_function(dfd);
	assert_true(function_marked(dfd));
	vclose(dfd);
	assert_false(function_open(vdev));
	gfd = open_group_of(vdev);
	assert_true(gfd >= 0);
	/* Released whole: the container went with it. */
	assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_STATUS, &status), 0);
	assert_int_equal(status.flags, VFIO_GROUP_FLAGS_VIABLE);
	vclose(gfd);
	vfio_devset_destroy(set);
}

static void test_group_and_cdev_exclude(void **state)
{
	struct vfio_devset *set = make_set("ioat");
	struct vfio_device *vdev = vfio_devset_device(set, 0);
	struct uiommufd_ctx *ctx;
	int cfd = open_ctx_fd(0, &ctx);
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = cfd };
	int gfd = open_group_of(vdev), cdev = open_cdev_of(vdev);

	assert_true(gfd >= 0 && cdev >= 0);
	/* The group is open: its DMA is the group path's. */
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EBUSY);
	vclose(gfd);
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
	assert_true(function_open(vdev));
	assert_int_equal(open_group_of(vdev), -EBUSY);
	vclose(cdev);
	assert_false(function_open(vdev));
	gfd = open_group_of(vdev);
	assert_true(gfd >= 0);
	vclose(gfd);
	close_ctx_fd(cfd);
	vfio_devset_destroy(set);
}

/* Device fds opened and closed from several threads at once. */
struct churn {
	int gfd;
	struct vfio_device *vdev;
	int failures;
};

/* GET_INFO as vfio-pci answers it, without cmocka (not on the main thread). */
static bool info_ok(int dfd)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	return vioctl(dfd, VFIO_DEVICE_GET_INFO, &info) == 0 &&
	       info.flags == (VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET) &&
	       info.num_regions == VFIO_PCI_NUM_REGIONS;
}

static void *churn_device_fds(void *arg)
{
	struct churn *c = arg;
	int k;

	for (k = 0; k < 200; k++) {
		int fd = (int)vioctl(c->gfd, VFIO_GROUP_GET_DEVICE_FD, c->vdev->name);
		uint8_t cmd[2] = { 0, 0 };

		if (fd < 0) {
			c->failures++;
			continue;
		}
		if (!info_ok(fd))
			c->failures++;
		/* While this file is open the function is: decode is on. */
		vfio_pci_config_snapshot(c->vdev, cmd, PCI_COMMAND, 2);
		if (!(cmd[0] & PCI_COMMAND_MEMORY))
			c->failures++;
		vclose(fd);
	}
	return NULL;
}

static void test_device_fds_from_threads(void **state)
{
	struct vfio_devset *set = make_set("ioat");
	struct vfio_device *vdev = vfio_devset_device(set, 0);
	struct uiommufd_ctx *ctx;
	int cfd = open_ctx_fd(UIOMMUFD_OPEN_VFIO_CONTAINER, &ctx);
	int gfd = open_group_of(vdev);
	struct churn c[4];
	pthread_t t[4];
	int k;

	assert_int_equal(set_container(gfd, cfd), 0);
	for (k = 0; k < 4; k++) {
		c[k] = (struct churn){ .gfd = gfd, .vdev = vdev };
		assert_int_equal(pthread_create(&t[k], NULL, churn_device_fds, &c[k]), 0);
	}
	for (k = 0; k < 4; k++) {
		assert_int_equal(pthread_join(t[k], NULL), 0);
		assert_int_equal(c[k].failures, 0);
	}
	/* Every first open had its last close; nothing is left open or bound. */
	assert_false(function_open(vdev));
	assert_int_equal(vdev->open_count, 0);
	assert_null(vdev->idev);
	assert_int_equal(vioctl(gfd, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	vclose(gfd);
	close_ctx_fd(cfd);
	vfio_devset_destroy(set);
}

/* ---- no-IOMMU groups */

/* In a child without CAP_SYS_RAWIO: what a no-IOMMU group refuses. */
struct rawio_case {
	struct vfio_device *vdev;
	int gfd;		/* the group, opened with the capability */
};

static int noiommu_refusals(void *p)
{
	struct rawio_case *c = p;
	struct vfio_device *vdev = c->vdev;

	/* EPERM comes before the group's busy answer (the parent has it open). */
	if (open_group_of(vdev) != -EPERM)
		return 1;
	/* The first open of the device wants the capability too. */
	if (vioctl(c->gfd, VFIO_GROUP_GET_DEVICE_FD, vdev->name) != -EPERM)
		return 2;
	if (vdev->open_count || vdev->ictx)
		return 3;
	return 0;
}

static void test_noiommu_needs_rawio(void **state)
{
	struct vfio_devset *set = make_set("ioat,noiommu,group=6;ioat,group=7");
	struct vfio_device *vdev = vfio_devset_device(set, 0);
	struct rawio_case c = { .vdev = vdev };
	struct uiommufd_ctx *ctx;
	int cfd = open_ctx_fd(UIOMMUFD_OPEN_VFIO_CONTAINER, &ctx);
	int dfd;

	if (!have_rawio()) {
		close_ctx_fd(cfd);
		vfio_devset_destroy(set);
		skip();
	}
	c.gfd = open_group_of(vdev);
	assert_true(c.gfd >= 0);
	assert_int_equal(set_container(c.gfd, cfd), 0);
	assert_int_equal(without_rawio(noiommu_refusals, &c), 0);
	/* A context that was given a compat IOAS promises translation: EPERM too. */
	{
		struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
		struct iommu_vfio_ioas vioas = { .size = sizeof(vioas),
						 .op = IOMMU_VFIO_IOAS_SET };

		assert_int_equal(ictl(ctx, IOMMU_IOAS_ALLOC, &alloc), 0);
		vioas.ioas_id = alloc.out_ioas_id;
		assert_int_equal(ictl(ctx, IOMMU_VFIO_IOAS, &vioas), 0);
		assert_int_equal(vioctl(c.gfd, VFIO_GROUP_GET_DEVICE_FD, vdev->name), -EPERM);
		assert_int_equal(vdev->open_count, 0);
		vioas.op = IOMMU_VFIO_IOAS_CLEAR;
		assert_int_equal(ictl(ctx, IOMMU_VFIO_IOAS, &vioas), 0);
	}
	/* With the capability both succeed. */
	dfd = (int)vioctl(c.gfd, VFIO_GROUP_GET_DEVICE_FD, vdev->name);
	assert_true(dfd >= 0);
	assert_true(function_open(vdev));
	vclose(dfd);
	vclose(c.gfd);
	close_ctx_fd(cfd);
	vfio_devset_destroy(set);
}

/* GET_DEVICE_FD names as vfio-pci parses them: the BDF, then options. */
static void test_device_name_options(void **state)
{
	struct vfio_devset *set = make_set("ioat,bdf=0000:01:00.0,group=9");
	struct vfio_device *vdev = vfio_devset_device(set, 0);
	static const struct {
		const char *name;
		long rc;
	} cases[] = {
		{ "0000:01:00.0x", -ENODEV },		/* text right after the BDF */
		{ "0000:01:00.", -ENODEV },
		{ "0000:01:00.0 bogus", -EINVAL },	/* an unknown option */
		{ "0000:01:00.0 vf_token=1234", -EINVAL },	/* too short for a UUID */
		{ "0000:01:00.0 vf_token=zzzzzzzz-5a5f-4f5a-a211-f591514ba1f3", -EINVAL },
		/* A well-formed token: refused, the function is no PF or VF. */
		{ "0000:01:00.0 vf_token=bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3", -EINVAL },
		{ "0000:01:00.0 vf_token=bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3 x", -EINVAL },
	};
	struct uiommufd_ctx *ctx;
	int cfd = open_ctx_fd(0, &ctx), gfd = open_group_of(vdev), dfd;

	assert_true(gfd >= 0);
	assert_int_equal(set_container(gfd, cfd), 0);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		assert_int_equal(vioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, cases[k].name), cases[k].rc);
		assert_int_equal(vdev->open_count, 0);
	}
	/* Trailing spaces are only spaces. */
	dfd = (int)vioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, "0000:01:00.0   ");
	assert_true(dfd >= 0);
	vclose(dfd);
	vclose(gfd);
	close_ctx_fd(cfd);
	vfio_devset_destroy(set);
}

static void test_noiommu_group(void **state)
{
	struct vfio_devset *set = make_set("ioat,noiommu,group=6");
	struct vfio_device *vdev = vfio_devset_device(set, 0);
	struct iommu_vfio_ioas vioas = { .size = sizeof(vioas), .op = IOMMU_VFIO_IOAS_GET };
	struct uiommufd_ctx *ctx, *translated;
	int cfd = open_ctx_fd(UIOMMUFD_OPEN_VFIO_CONTAINER, &ctx);
	int tfd = open_ctx_fd(UIOMMUFD_OPEN_VFIO_CONTAINER, &translated);
	struct host_pin *pin;
	uint64_t pa[4], sts;
	uint8_t *mem;
	int gfd, dfd;
	char cdev[32];

	assert_true(vfio_group_is_noiommu(vdev->group));
	vfio_device_cdev_name(vdev, cdev, sizeof(cdev));
	assert_string_equal(cdev, "vfio0");
	assert_int_equal(vfio_open_path("/dev/vfio/6", O_RDWR), -ENOENT);
	gfd = vfio_open_path("/dev/vfio/noiommu-6", O_RDWR);
	assert_true(gfd >= 0);
	assert_int_equal(ictl(ctx, VFIO_CHECK_EXTENSION, (void *)(uintptr_t)VFIO_NOIOMMU_IOMMU), 1);
	/* Before the group joins, the no-IOMMU model is unknown to the container. */
	assert_int_equal(ictl(ctx, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_NOIOMMU_IOMMU), -EINVAL);

	/* A context with a compat IOAS cannot go untranslated. */
	assert_int_equal(ictl(translated, IOMMU_VFIO_IOAS, &vioas), -ENODEV);
	{
		struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

		assert_int_equal(ictl(translated, IOMMU_IOAS_ALLOC, &alloc), 0);
		vioas.op = IOMMU_VFIO_IOAS_SET;
		vioas.ioas_id = alloc.out_ioas_id;
		assert_int_equal(ictl(translated, IOMMU_VFIO_IOAS, &vioas), 0);
	}
	assert_int_equal(set_container(gfd, tfd), -EINVAL);

	assert_int_equal(set_container(gfd, cfd), 0);
	/* No compat IOAS was made, and only the no-IOMMU model is taken now. */
	vioas.op = IOMMU_VFIO_IOAS_GET;
	assert_int_equal(ictl(ctx, IOMMU_VFIO_IOAS, &vioas), -ENODEV);
	assert_int_equal(ictl(ctx, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU), -EINVAL);
	assert_int_equal(ictl(ctx, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_NOIOMMU_IOMMU), 0);
	dfd = (int)vioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, vdev->name);
	assert_true(dfd >= 0);
	assert_true(function_open(vdev));
	assert_pci_device_info(dfd);
	/* Nothing to bind: the device has no IOMMU. */
	assert_null(vdev->idev);

	/*
	 * Bus addresses are physical addresses of pinned pages, as a no-IOMMU
	 * driver finds them: descriptor, completion, source and destination a
	 * page each.
	 */
	mem = map_pages(4);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)mem, 4 * PSZ, true, &pin), 0);
	for (unsigned int i = 0; i < 4; i++) {
		size_t clen = 0;

		pa[i] = host()->ops->pin_phys(host(), pin, i * PSZ, &clen);
	}
	memset(mem, 0, 4 * PSZ);
	for (unsigned int i = 0; i < 512; i++)
		mem[2 * PSZ + i] = (uint8_t)(i ^ 0x5c);
	ioat_copy_desc(mem, pa[0], pa[2], pa[3], 512, 0);
	sts = ioat_run_one(dfd, pa[0], pa[1]);
	assert_int_equal(sts & IOAT_STS_STATE_MASK, IOAT_ST_DONE);
	assert_true((sts & IOAT_STS_ADDR_MASK) == pa[0]);
	assert_memory_equal(mem + 3 * PSZ, mem + 2 * PSZ, 512);
	assert_true(*(volatile uint64_t *)(mem + PSZ) == sts);
	host()->ops->unpin(host(), pin);
	munmap(mem, 4 * PSZ);

	vclose(dfd);
	assert_false(function_open(vdev));
	vclose(gfd);
	close_ctx_fd(cfd);
	close_ctx_fd(tfd);
	vfio_devset_destroy(set);
}

/* ---- the command's --device */

/* The command of this build: BUILD/bin/uiommufd for this BUILD/tests/unit/test. */
static void tool_path(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int up;

	assert_true(n > 0);
	self[n] = 0;
	for (up = 0; up < 3; up++)
		*strrchr(self, '/') = 0;
	snprintf(out, len, "%s/bin/uiommufd", self);
}

/* Run the command with @args; its exit status, stdout+stderr in @out. */
static int run_tool(const char *const *args, char *out, size_t len)
{
	char tool[PATH_MAX + 32];
	const char *argv[16];
	int pipefd[2], status;
	size_t got = 0, k;
	pid_t pid;
	ssize_t n;

	tool_path(tool, sizeof(tool));
	argv[0] = tool;
	for (k = 0; args[k]; k++)
		argv[k + 1] = args[k];
	argv[k + 1] = NULL;
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		unsetenv("LD_PRELOAD");
		execv(tool, (char *const *)argv);
		_exit(99);
	}
	close(pipefd[1]);
	while (got + 1 < len && (n = read(pipefd[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = 0;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_tool_device_option(void **state)
{
	static const char *const help[] = { "run", "--help", NULL };
	static const char *const unknown[] = { "run", "--device", "nosuch,bdf=0000:01:00.0", "--",
					       "true", NULL };
	static const char *const joined[] = { "run", "--device", "a;b", "--", "true", NULL };
	static const char *const twice[] = { "run", "--shim", "/dev/null", "--device",
					     "ioat,bdf=0000:01:00.0", "--device", "ioat,bdf=01:00.0",
					     "--", "true", NULL };
	static const char *const good[] = { "run", "--shim", "/dev/null", "--device",
					    "ioat,bdf=0000:01:00.0", "-D", "ioat,noiommu", "--", "sh",
					    "-c", "printf '<%s>' \"$UIOMMUFD_DEVICES\"", NULL };
	char out[4096];

	assert_int_equal(run_tool(help, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "--device SPEC"));
	assert_non_null(strstr(out, "device models:"));
	/* A bad list stops before the program runs, naming the entry. */
	assert_int_equal(run_tool(unknown, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "nosuch"));
	assert_int_equal(run_tool(joined, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "a;b"));
	/* The help lists the models the library has. */
	assert_int_equal(run_tool(help, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "  ioat "));
	assert_int_equal(run_tool(twice, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "0000:01:00.0"));
	assert_int_equal(run_tool(good, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "<ioat,bdf=0000:01:00.0;ioat,noiommu>"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_devset_assigns_addresses_groups_minors),
		cmocka_unit_test(test_devset_group_joins),
		cmocka_unit_test(test_devset_bad_lists),
		cmocka_unit_test(test_public_api),
		cmocka_unit_test(test_group_open_rules),
		cmocka_unit_test(test_group_status),
		cmocka_unit_test(test_set_container_errors),
		cmocka_unit_test(test_get_device_fd_binds_and_translates),
		cmocka_unit_test(test_two_groups_one_container),
		cmocka_unit_test(test_device_fd_keeps_group),
		cmocka_unit_test(test_group_and_cdev_exclude),
		cmocka_unit_test(test_device_fds_from_threads),
		cmocka_unit_test(test_noiommu_group),
		cmocka_unit_test(test_noiommu_needs_rawio),
		cmocka_unit_test(test_device_name_options),
		cmocka_unit_test(test_tool_device_option),
	};

	return cmocka_run_group_tests_name("vfio_group", tests, NULL, NULL);
}
