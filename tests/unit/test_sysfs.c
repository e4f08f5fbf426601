// SPDX-License-Identifier: MIT
/*
 * The private sysfs tree (src/vfio/sysfs.c) built from a hand-made list of
 * functions over a small fake "real" sysfs, and the shim's path
 * redirection into it (src/shim/redirect.c, compiled in here: the shim is
 * not part of the library).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "helpers.h"
#include "vfio/sysfs.h"
#include "vfio/vfio.h"
#include "shim/redirect.c"

struct fixture {
	char real[PATH_MAX];	/* the fake machine sysfs */
	char root[PATH_MAX];	/* the tree */
	uint8_t config[2][4096];
	struct vfio_sysfs_dev devs[2];
};

static void put_file(const char *dir, const char *rel, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void put_dir(const char *dir, const char *rel)
{
	char path[PATH_MAX * 2], *p;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (p = path + strlen(dir) + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			mkdir(path, 0755);
			*p = '/';
		}
	}
	mkdir(path, 0755);
}

static void put_link(const char *dir, const char *target, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* Contents of tree file <root>/sys/<rel>, or NULL when it cannot be read. */
static char *slurp(const char *root, const char *rel, size_t *len)
{
	static char buf[8192];
	char path[PATH_MAX * 2];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/sys/%s", root, rel);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	if (len)
		*len = (size_t)n;
	return buf;
}

static void assert_text(const char *root, const char *rel, const char *want)
{
	char *got = slurp(root, rel, NULL);

	if (!got)
		fail_msg("%s: cannot read", rel);
	assert_string_equal(got, want);
}

static void assert_link(const char *root, const char *rel, const char *want)
{
	char path[PATH_MAX * 2], text[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/sys/%s", root, rel);
	n = readlink(path, text, sizeof(text) - 1);
	if (n < 0)
		fail_msg("%s: not a link (%s)", rel, strerror(errno));
	text[n] = 0;
	assert_string_equal(text, want);
}

static bool dir_has(const char *root, const char *rel, const char *name)
{
	char path[PATH_MAX * 2];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "%s/sys/%s", root, rel);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)))
		found |= !strcmp(de->d_name, name);
	closedir(d);
	return found;
}

/* An I/OAT-like function: 8086:2021, class 088000, PCIe (4 KiB config). */
static void make_config(uint8_t *c, unsigned int dev_id)
{
	memset(c, 0, 4096);
	c[0x00] = 0x86, c[0x01] = 0x80;
	c[0x02] = (uint8_t)dev_id, c[0x03] = (uint8_t)(dev_id >> 8);
	c[0x08] = 0x07;				/* revision */
	c[0x09] = 0x00, c[0x0a] = 0x80, c[0x0b] = 0x08;	/* class 08 80 00 */
	c[0x2c] = 0x86, c[0x2d] = 0x80, c[0x2e] = 0x34, c[0x2f] = 0x12;
	c[0x3c] = 0x0b, c[0x3d] = 0x01;		/* INTA# routed to 11 */
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char real[] = "/tmp/uiommufd-test-realsys-XXXXXX";

	if (!f || !mkdtemp(real))
		return -1;
	strcpy(f->real, real);
	/* A machine with one PCI function, a module and two of four CPUs online. */
	put_dir(f->real, "devices/pci0000:00/0000:00:03.0");
	put_file(f->real, "devices/pci0000:00/0000:00:03.0/vendor", "0x1af4\n");
	put_file(f->real, "devices/pci0000:00/0000:00:03.0/resource",
		 "0x1 0x2 0x3\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n"
		 "0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n");
	put_dir(f->real, "devices/system/cpu");
	put_file(f->real, "devices/system/cpu/online", "0-1\n");
	put_file(f->real, "devices/system/cpu/possible", "0-3\n");
	put_dir(f->real, "bus/pci/devices");
	put_dir(f->real, "bus/pci/drivers/virtio-pci");
	put_file(f->real, "bus/pci/rescan", "");
	put_link(f->real, "../../../devices/pci0000:00/0000:00:03.0",
		 "bus/pci/devices/0000:00:03.0");
	put_dir(f->real, "module/kvm");
	put_dir(f->real, "kernel/mm");

	make_config(f->config[0], 0x2021);
	make_config(f->config[1], 0x2f20);
	f->config[1][0x3d] = 0;			/* no INTx pin: irq 0 */
	strcpy(f->devs[0].name, "0000:01:00.0");
	f->devs[0].group = 3;
	f->devs[0].cdev_minor = 0;
	f->devs[0].group_rdev = makedev(VFIO_GROUP_MAJOR, 3);
	f->devs[0].cdev_rdev = makedev(VFIO_CDEV_MAJOR, 0);
	f->devs[0].config = f->config[0];
	f->devs[0].config_len = 4096;
	f->devs[0].res[0][0] = 0x4000000000ull;
	f->devs[0].res[0][1] = 0x4000003fffull;
	f->devs[0].res[0][2] = 0x140204;
	f->devs[0].nr_resv = 1;
	f->devs[0].resv[0][0] = 0xfee00000;
	f->devs[0].resv[0][1] = 0xfeefffff;
	strcpy(f->devs[1].name, "0000:02:01.7");
	f->devs[1].group = 5;
	f->devs[1].noiommu = true;
	f->devs[1].cdev_minor = 1;
	f->devs[1].group_rdev = makedev(VFIO_GROUP_MAJOR, 5);
	f->devs[1].cdev_rdev = makedev(VFIO_CDEV_MAJOR, 1);
	f->devs[1].config = f->config[1];
	f->devs[1].config_len = 256;
	if (vfio_sysfs_build_devs(f->devs, 2, f->real, f->root, sizeof(f->root)))
		return -1;
	*state = f;
	return 0;
}

static void rm_rf(const char *path)
{
	char cmd[PATH_MAX * 2];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	redirect_set_root(NULL);
	vfio_sysfs_remove(f->root);
	rm_rf(f->real);
	free(f);
	return 0;
}

static void test_function_attributes(void **state)
{
	struct fixture *f = *state;
	const char *d = "devices/pci0000:01/0000:01:00.0";
	char rel[256], *cfg;
	size_t len;

	assert_memory_equal(f->root, "/tmp/uiommufd-sysfs-", 20);
#define T(attr, want)                                       \
	do {                                                \
		snprintf(rel, sizeof(rel), "%s/%s", d, attr); \
		assert_text(f->root, rel, want);            \
	} while (0)
	T("vendor", "0x8086\n");
	T("device", "0x2021\n");
	T("subsystem_vendor", "0x8086\n");
	T("subsystem_device", "0x1234\n");
	T("class", "0x088000\n");
	T("revision", "0x07\n");
	T("irq", "11\n");
	T("numa_node", "-1\n");
	T("enable", "0\n");
	T("driver_override", "(null)\n");
	T("local_cpulist", "0-1\n");
	/* Four possible CPUs: one hex digit; two online: 3. */
	T("local_cpus", "3\n");
	T("modalias", "pci:v00008086d00002021sv00008086sd00001234bc08sc80i00\n");
	T("uevent", "DRIVER=vfio-pci\nPCI_CLASS=88000\nPCI_ID=8086:2021\n"
		    "PCI_SUBSYS_ID=8086:1234\nPCI_SLOT_NAME=0000:01:00.0\n"
		    "MODALIAS=pci:v00008086d00002021sv00008086sd00001234bc08sc80i00\n");
	/* As many resource lines as the machine's own function has (7 here). */
	T("resource", "0x0000004000000000 0x0000004000003fff 0x0000000000140204\n"
		      "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		      "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		      "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		      "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		      "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		      "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
	T("vfio-dev/vfio0/dev", "237:0\n");
	T("vfio-dev/vfio0/uevent", "MAJOR=237\nMINOR=0\nDEVNAME=vfio/devices/vfio0\n");
#undef T
	snprintf(rel, sizeof(rel), "%s/config", d);
	cfg = slurp(f->root, rel, &len);
	assert_non_null(cfg);
	assert_int_equal(len, 4096);
	assert_memory_equal(cfg, f->config[0], 4096);

	/* The second function: no INTx, conventional config space. */
	assert_text(f->root, "devices/pci0000:02/0000:02:01.7/irq", "0\n");
	assert_text(f->root, "devices/pci0000:02/0000:02:01.7/device", "0x2f20\n");
	assert_non_null(slurp(f->root, "devices/pci0000:02/0000:02:01.7/config", &len));
	assert_int_equal(len, 256);
}

static void test_links(void **state)
{
	struct fixture *f = *state;
	const char *d = "devices/pci0000:01/0000:01:00.0";
	char rel[256];

#define L(attr, want)                                       \
	do {                                                \
		snprintf(rel, sizeof(rel), "%s/%s", d, attr); \
		assert_link(f->root, rel, want);            \
	} while (0)
	L("driver", "../../../bus/pci/drivers/vfio-pci");
	L("iommu_group", "../../../kernel/iommu_groups/3");
	L("subsystem", "../../../bus/pci");
	L("vfio-dev/vfio0/device", "../../../0000:01:00.0");
	L("vfio-dev/vfio0/subsystem", "../../../../../class/vfio-dev");
#undef L
	assert_link(f->root, "bus/pci/devices/0000:01:00.0",
		    "../../../devices/pci0000:01/0000:01:00.0");
	assert_link(f->root, "bus/pci/drivers/vfio-pci/0000:01:00.0",
		    "../../../../devices/pci0000:01/0000:01:00.0");
	assert_link(f->root, "kernel/iommu_groups/3/devices/0000:01:00.0",
		    "../../../../devices/pci0000:01/0000:01:00.0");
	assert_link(f->root, "class/vfio-dev/vfio1",
		    "../../devices/pci0000:02/0000:02:01.7/vfio-dev/vfio1");
	assert_link(f->root, "class/vfio/3", "../../devices/virtual/vfio/3");
	assert_link(f->root, "class/vfio/noiommu-5", "../../devices/virtual/vfio/noiommu-5");
	assert_link(f->root, "class/misc/vfio", "../../devices/virtual/misc/vfio");

	/* Every link of ours resolves inside the tree. */
	assert_text(f->root, "bus/pci/devices/0000:01:00.0/vendor", "0x8086\n");
	assert_text(f->root, "bus/pci/devices/0000:01:00.0/iommu_group/type", "DMA\n");
	assert_text(f->root, "bus/pci/devices/0000:01:00.0/driver/0000:01:00.0/class",
		    "0x088000\n");
	assert_text(f->root, "class/vfio-dev/vfio0/device/revision", "0x07\n");
	assert_text(f->root, "class/vfio/noiommu-5/dev", "241:5\n");
	assert_text(f->root, "class/misc/vfio/dev", "10:196\n");
}

static void test_groups_and_modules(void **state)
{
	struct fixture *f = *state;

	assert_text(f->root, "kernel/iommu_groups/3/type", "DMA\n");
	assert_text(f->root, "kernel/iommu_groups/3/reserved_regions",
		    "0x00000000fee00000 0x00000000feefffff reserved\n");
	assert_text(f->root, "kernel/iommu_groups/5/type", "unknown\n");
	assert_text(f->root, "kernel/iommu_groups/5/name", "vfio-noiommu\n");
	assert_text(f->root, "kernel/iommu_groups/5/reserved_regions", "");
	assert_true(dir_has(f->root, "kernel/iommu_groups/5/devices", "0000:02:01.7"));
	assert_text(f->root, "devices/virtual/vfio/3/dev", "241:3\n");
	assert_text(f->root, "devices/virtual/vfio/noiommu-5/uevent",
		    "MAJOR=241\nMINOR=5\nDEVNAME=vfio/noiommu-5\n");
	/* A no-IOMMU function is in the set: the module parameter says so. */
	assert_text(f->root, "module/vfio/parameters/enable_unsafe_noiommu_mode", "Y\n");
	assert_text(f->root, "module/vfio_pci/initstate", "live\n");
	assert_text(f->root, "module/vfio_iommu_type1/parameters/dma_entry_limit", "65535\n");
	assert_true(dir_has(f->root, "bus/pci/drivers/vfio-pci", "bind"));
	assert_true(dir_has(f->root, "bus/pci/drivers/vfio-pci", "new_id"));
	assert_link(f->root, "bus/pci/drivers/vfio-pci/module", "../../../../module/vfio_pci");
}

/* Real entries appear beside ours: links copied or pointing at the real path. */
static void test_merge(void **state)
{
	struct fixture *f = *state;
	char want[PATH_MAX * 2];

	assert_true(dir_has(f->root, "bus/pci/devices", "0000:00:03.0"));
	assert_true(dir_has(f->root, "bus/pci/devices", "0000:01:00.0"));
	assert_true(dir_has(f->root, "bus/pci/devices", "0000:02:01.7"));
	/* A real relative link keeps its text ... */
	assert_link(f->root, "bus/pci/devices/0000:00:03.0",
		    "../../../devices/pci0000:00/0000:00:03.0");
	/* ... and resolves through the merged /sys/devices to the real entry. */
	assert_text(f->root, "bus/pci/devices/0000:00:03.0/vendor", "0x1af4\n");
	/* Real files and directories are links to their absolute paths. */
	snprintf(want, sizeof(want), "%s/bus/pci/rescan", f->real);
	assert_link(f->root, "bus/pci/rescan", want);
	snprintf(want, sizeof(want), "%s/bus/pci/drivers/virtio-pci", f->real);
	assert_link(f->root, "bus/pci/drivers/virtio-pci", want);
	snprintf(want, sizeof(want), "%s/module/kvm", f->real);
	assert_link(f->root, "module/kvm", want);
	snprintf(want, sizeof(want), "%s/devices/system", f->real);
	assert_link(f->root, "devices/system", want);
	assert_true(dir_has(f->root, "module", "vfio"));
	assert_true(dir_has(f->root, "kernel", "iommu_groups"));
	assert_true(dir_has(f->root, "kernel", "mm"));
}

static void test_remove(void **state)
{
	char not_ours[] = "/tmp/uiommufd-test-notours-XXXXXX";
	char root[PATH_MAX];
	struct stat st;

	(void)state;
	assert_int_equal(vfio_sysfs_build_devs(NULL, 0, "/nonexistent", root, sizeof(root)), 0);
	assert_int_equal(stat(root, &st), 0);
	assert_text(root, "module/vfio/parameters/enable_unsafe_noiommu_mode", "N\n");
	/* 13 resource lines when the machine has no function to ask: none here. */
	vfio_sysfs_remove(root);
	assert_int_equal(lstat(root, &st), -1);
	assert_int_equal(errno, ENOENT);
	/* Only a directory of its own making. */
	assert_non_null(mkdtemp(not_ours));
	vfio_sysfs_remove(not_ours);
	assert_int_equal(stat(not_ours, &st), 0);
	rmdir(not_ours);
	/* A root that does not fit is refused and leaves nothing. */
	assert_int_equal(vfio_sysfs_build_devs(NULL, 0, "/nonexistent", root, 8), -ENAMETOOLONG);
}

static void test_resource_lines_default(void **state)
{
	struct vfio_sysfs_dev d = { .name = "0000:01:00.0", .group = 1 };
	uint8_t cfg[4096];
	char root[PATH_MAX], *res;
	unsigned int lines = 0;

	(void)state;
	make_config(cfg, 0x2021);
	d.config = cfg;
	d.config_len = 256;
	assert_int_equal(vfio_sysfs_build_devs(&d, 1, "/nonexistent", root, sizeof(root)), 0);
	res = slurp(root, "devices/pci0000:01/0000:01:00.0/resource", NULL);
	assert_non_null(res);
	for (char *p = res; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 13);
	vfio_sysfs_remove(root);
}

/* ------------------------------------------------------------ redirection */

static void test_redirect_paths(void **state)
{
	struct fixture *f = *state;
	char buf[PATH_MAX], want[PATH_MAX * 2];
	const char *p;

	/* No tree: nothing moves. */
	redirect_set_root(NULL);
	p = "/sys/bus/pci/devices/0000:01:00.0";
	assert_ptr_equal(redirect_sys(p, buf, sizeof(buf)), p);
	assert_false(redirect_maybe(p));

	redirect_set_root(f->root);
	assert_true(redirect_maybe("/sys"));
	assert_true(redirect_maybe("/sys/bus"));
	assert_true(redirect_maybe("/dev/vfio/3"));
	assert_false(redirect_maybe("/system"));
	assert_false(redirect_maybe("sys/bus"));
	assert_false(redirect_maybe("/etc/passwd"));

	/* Ours, however spelled. */
	snprintf(want, sizeof(want), "%s/sys/bus/pci/devices/0000:01:00.0/vendor", f->root);
	assert_string_equal(redirect_sys("/sys/bus/pci/devices/0000:01:00.0/vendor", buf,
					 sizeof(buf)), want);
	assert_string_equal(redirect_sys("/sys//bus/./pci/devices/0000:01:00.0/vendor", buf,
					 sizeof(buf)), want);
	snprintf(want, sizeof(want), "%s/sys/bus/pci/devices/", f->root);
	assert_string_equal(redirect_sys("/sys/bus/pci/devices/", buf, sizeof(buf)), want);
	snprintf(want, sizeof(want), "%s/sys", f->root);
	assert_string_equal(redirect_sys("/sys", buf, sizeof(buf)), want);
	/* Merged directories are ours too (their listing is the tree's). */
	snprintf(want, sizeof(want), "%s/sys/module", f->root);
	assert_string_equal(redirect_sys("/sys/module", buf, sizeof(buf)), want);

	/* A relative link ends the walk: the rest resolves in the tree. */
	snprintf(want, sizeof(want), "%s/sys/bus/pci/devices/0000:00:03.0/vendor", f->root);
	assert_string_equal(redirect_sys("/sys/bus/pci/devices/0000:00:03.0/vendor", buf,
					 sizeof(buf)), want);

	/* Real entries (links to absolute paths), missing ones and ".." pass. */
	p = "/sys/module/kvm";
	assert_ptr_equal(redirect_sys(p, buf, sizeof(buf)), p);
	p = "/sys/module/kvm/parameters/x";
	assert_ptr_equal(redirect_sys(p, buf, sizeof(buf)), p);
	p = "/sys/bus/pci/rescan";
	assert_ptr_equal(redirect_sys(p, buf, sizeof(buf)), p);
	p = "/sys/devices/system/cpu/online";
	assert_ptr_equal(redirect_sys(p, buf, sizeof(buf)), p);
	p = "/sys/nonexistent/entry";
	assert_ptr_equal(redirect_sys(p, buf, sizeof(buf)), p);
	p = "/sys/bus/pci/devices/0000:01:00.0/../0000:02:01.7";
	assert_ptr_equal(redirect_sys(p, buf, sizeof(buf)), p);
	p = "/sysfs/x";
	assert_ptr_equal(redirect_sys(p, buf, sizeof(buf)), p);
	/* A buffer too small for the tree path: the real path, never a cut one. */
	p = "/sys/bus/pci/devices/0000:01:00.0/vendor";
	assert_ptr_equal(redirect_sys(p, buf, strlen(f->root) + 10), p);
}

static void test_redirect_unmap(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX * 2];

	redirect_set_root(f->root);
	snprintf(path, sizeof(path), "%s/sys/devices/pci0000:01/0000:01:00.0", f->root);
	assert_true(redirect_unmap(path));
	assert_string_equal(path, "/sys/devices/pci0000:01/0000:01:00.0");
	snprintf(path, sizeof(path), "%sx/sys", f->root);	/* a sibling, not the tree */
	assert_false(redirect_unmap(path));
	strcpy(path, "/sys/devices/pci0000:00");
	assert_false(redirect_unmap(path));
	assert_string_equal(path, "/sys/devices/pci0000:00");
}

static void test_redirect_dev_nodes(void **state)
{
	struct fixture *f = *state;
	dev_t rdev = 0;

	redirect_set_root(f->root);
	assert_int_equal(redirect_dev_node("/dev/vfio/3", &rdev), 0);
	assert_int_equal(rdev, makedev(VFIO_GROUP_MAJOR, 3));
	assert_int_equal(redirect_dev_node("/dev/vfio/noiommu-5", &rdev), 0);
	assert_int_equal(rdev, makedev(VFIO_GROUP_MAJOR, 5));
	assert_int_equal(redirect_dev_node("/dev/vfio/devices/vfio1", &rdev), 0);
	assert_int_equal(rdev, makedev(VFIO_CDEV_MAJOR, 1));
	assert_int_equal(redirect_dev_node("/dev/vfio/vfio", &rdev), 0);
	assert_int_equal(rdev, makedev(10, 196));
	/* Not in the set, or not a node name. */
	assert_int_equal(redirect_dev_node("/dev/vfio/4", &rdev), -ENOENT);
	assert_int_equal(redirect_dev_node("/dev/vfio/noiommu-3", &rdev), -ENOENT);
	assert_int_equal(redirect_dev_node("/dev/vfio/devices/vfio7", &rdev), -ENOENT);
	assert_int_equal(redirect_dev_node("/dev/vfio/devices/vfiox", &rdev), -ENOENT);
	assert_int_equal(redirect_dev_node("/dev/vfio/../vfio/3", &rdev), -ENOENT);
	assert_int_equal(redirect_dev_node("/dev/vfio/3/", &rdev), -ENOENT);
	assert_int_equal(redirect_dev_node("/dev/vfio/", &rdev), -ENOENT);

	assert_true(redirect_vfio_node("/dev/vfio/3"));
	assert_true(redirect_vfio_node("/dev/vfio/noiommu-12"));
	assert_true(redirect_vfio_node("/dev/vfio/devices/vfio0"));
	assert_false(redirect_vfio_node("/dev/vfio/vfio"));
	assert_false(redirect_vfio_node("/dev/vfio/noiommu-"));
	assert_false(redirect_vfio_node("/dev/vfio/devices/vfio"));
	assert_false(redirect_vfio_node("/dev/iommu"));

	redirect_set_root(NULL);
	assert_int_equal(redirect_dev_node("/dev/vfio/3", &rdev), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_function_attributes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_groups_and_modules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_resource_lines_default),
		cmocka_unit_test_setup_teardown(test_redirect_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redirect_unmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redirect_dev_nodes, setup, teardown),
	};

	/* The tree goes to $TMPDIR or /tmp: these tests expect /tmp. */
	unsetenv("TMPDIR");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
