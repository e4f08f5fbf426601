// SPDX-License-Identifier: MIT
/*
 * The private sysfs tree: what tools read about our devices before they
 * open a VFIO node (see docs/uapi-behaviour.md, "shim: the private sysfs
 * tree").
 *
 * umockdev's technique: a directory of ordinary files, directories and
 * symbolic links laid out as sysfs is, which the shim redirects /sys paths
 * into (src/shim/redirect.c).  The files are written once, when the tree
 * is built; the two that change in the kernel (enable, the config bytes)
 * are rewritten from the device whenever the shim hands out a path to them
 * (vfio_sysfs_refresh()).
 *
 * Directories that exist in the machine's sysfs too (/sys/bus/pci/devices,
 * /sys/module, ...) are merged: each real entry the tree lacks becomes a
 * link, so a listing shows real and emulated entries side by side.  A real
 * symbolic link is copied with its own (relative) text, which resolves
 * through the merged directories and reads back as the kernel's; any other
 * real entry becomes a link to its absolute path, which the shim
 * recognises as "not ours" and passes through.
 *
 * The builder works from a plain description of each function (sysfs.h),
 * so that tests can make a tree without a device set.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vfio/sysfs.h"
#include "vfio/vfio.h"

#define TREE_PREFIX "uiommufd-sysfs-"
#define CFG_MAX 4096

struct tree {
	char root[PATH_MAX];		/* the mkdtemp directory */
	const char *real;		/* the machine's sysfs */
	unsigned int res_lines;		/* lines of a "resource" file */
	char cpulist[256];		/* online CPUs, as a list */
	char cpumask[256];		/* and as a bitmap */
};

/* <root>/sys/<rel> into @buf; -ENAMETOOLONG when it does not fit. */
static int tree_path(const struct tree *t, const char *rel, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/sys%s%s", t->root, *rel ? "/" : "", rel);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int tree_mkdir(const struct tree *t, const char *fmt, ...)
{
	char rel[PATH_MAX], path[PATH_MAX];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (rc < 0 || (size_t)rc >= sizeof(rel))
		return -ENAMETOOLONG;
	rc = tree_path(t, rel, path, sizeof(path));
	if (rc)
		return rc;
	/* Parents first, each one that is not there yet. */
	for (char *p = path + strlen(t->root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		rc = mkdir(path, 0755);
		*p = '/';
		if (rc && errno != EEXIST)
			return -errno;
	}
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int tree_write(const struct tree *t, const char *rel, mode_t mode, const void *data,
		      size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, rc;

	rc = tree_path(t, rel, path, sizeof(path));
	if (rc)
		return rc;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = len ? write(fd, data, len) : 0;
	rc = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	if (!rc && fchmod(fd, mode))
		rc = -errno;
	close(fd);
	return rc;
}

/* A text attribute at @rel with printf-formatted contents. */
static int tree_printf(const struct tree *t, const char *rel, mode_t mode, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EOVERFLOW;
	return tree_write(t, rel, mode, buf, (size_t)n);
}

static int tree_link(const struct tree *t, const char *target, const char *rel)
{
	char path[PATH_MAX];
	int rc = tree_path(t, rel, path, sizeof(path));

	if (rc)
		return rc;
	if (symlink(target, path) && errno != EEXIST)
		return -errno;
	return 0;
}

/* ---------------------------------------------------------- machine facts */

static int read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = 0;
	return 0;
}

/*
 * How many lines a function's "resource" file has on this kernel (BARs,
 * ROM and, with SR-IOV, the VF BARs): as the machine's own devices show;
 * 13, a distribution kernel's count, when there are none to ask.
 */
static unsigned int resource_lines(const char *real)
{
	char dir[PATH_MAX], path[PATH_MAX + 300], buf[4096];
	unsigned int lines = 13;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/bus/pci/devices", real);
	d = opendir(dir);
	if (!d)
		return lines;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/resource", dir, de->d_name);
		if (read_small(path, buf, sizeof(buf)))
			continue;
		lines = 0;
		for (char *p = buf; *p; p++)
			lines += *p == '\n';
		break;
	}
	closedir(d);
	return lines >= SYSFS_PCI_NUM_RES ? lines : 13;
}

/*
 * The online CPUs, which a function with no NUMA node reports as local:
 * the list as the machine prints it, and the bitmap the kernel prints for
 * it (32-bit words in hex, high word first, comma separated, the first
 * one only as wide as the CPU count needs).
 */
static void cpu_masks(struct tree *t)
{
	char path[PATH_MAX], possible[256];
	unsigned long words[64] = { 0 };
	unsigned int nbits = 0, top, i;
	char *p, *end;
	size_t off = 0;

	snprintf(path, sizeof(path), "%s/devices/system/cpu/online", t->real);
	if (read_small(path, t->cpulist, sizeof(t->cpulist)) || !t->cpulist[0])
		snprintf(t->cpulist, sizeof(t->cpulist), "0\n");
	for (p = t->cpulist; *p && *p != '\n';) {
		unsigned long lo = strtoul(p, &end, 10), hi = lo;

		if (end == p)
			break;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		for (unsigned long c = lo; c <= hi && c < 64 * 32; c++) {
			words[c / 32] |= 1ul << (c % 32);
			if (c + 1 > nbits)
				nbits = (unsigned int)c + 1;
		}
		p = *end == ',' ? end + 1 : end;
	}
	/* The bitmap is nr_cpu_ids wide: the highest possible CPU decides. */
	snprintf(path, sizeof(path), "%s/devices/system/cpu/possible", t->real);
	if (!read_small(path, possible, sizeof(possible))) {
		char *last = strrchr(possible, '-');
		unsigned long n = strtoul(last ? last + 1 : possible, NULL, 10) + 1;

		if (n > nbits && n <= 64 * 32)
			nbits = (unsigned int)n;
	}
	if (!nbits)
		nbits = 1;
	top = (nbits - 1) / 32;
	for (i = top + 1; i-- > 0;) {
		int width = i == top ? (int)(((nbits - 1) % 32) / 4 + 1) : 8;

		off += (size_t)snprintf(t->cpumask + off, sizeof(t->cpumask) - off, "%s%0*lx",
					i == top ? "" : ",", width, words[i]);
		if (off >= sizeof(t->cpumask) - 2)
			break;
	}
	snprintf(t->cpumask + off, sizeof(t->cpumask) - off, "\n");
}

/* ------------------------------------------------------------- functions */

static unsigned int cfg16(const struct vfio_sysfs_dev *d, size_t off)
{
	if (off + 2 > d->config_len)
		return 0xffff;
	return d->config[off] | (unsigned int)d->config[off + 1] << 8;
}

static unsigned int cfg8(const struct vfio_sysfs_dev *d, size_t off)
{
	return off < d->config_len ? d->config[off] : 0xff;
}

static void bus_dir(const struct vfio_sysfs_dev *d, char *buf, size_t len)
{
	/* "DDDD:BB" of the BDF: the root bus the function sits on. */
	snprintf(buf, len, "pci%.7s", d->name);
}

static int group_name(const struct vfio_sysfs_dev *d, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%d", d->noiommu ? "noiommu-" : "", d->group);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int build_function(const struct tree *t, const struct vfio_sysfs_dev *d)
{
	unsigned int vendor = cfg16(d, 0x00), device = cfg16(d, 0x02);
	unsigned int svendor = cfg16(d, 0x2c), sdevice = cfg16(d, 0x2e);
	unsigned int rev = cfg8(d, 0x08);
	unsigned int cls = cfg8(d, 0x09) | cfg8(d, 0x0a) << 8 | cfg8(d, 0x0b) << 16;
	unsigned int irq = cfg8(d, 0x3d) ? cfg8(d, 0x3c) : 0;
	char bus[16], dir[PATH_MAX], rel[PATH_MAX + 64], modalias[128], res[2048];
	size_t off = 0;
	int rc;

	bus_dir(d, bus, sizeof(bus));
	snprintf(dir, sizeof(dir), "devices/%s/%s", bus, d->name);
	rc = tree_mkdir(t, "%s/vfio-dev/vfio%u", dir, d->cdev_minor);
	if (rc)
		return rc;
	snprintf(modalias, sizeof(modalias), "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", vendor,
		 device, svendor, sdevice, cls >> 16, (cls >> 8) & 0xff, cls & 0xff);
	for (unsigned int i = 0; i < t->res_lines; i++) {
		const uint64_t *r = i < SYSFS_PCI_NUM_RES ? d->res[i] : (const uint64_t[3]){ 0 };

		off += (size_t)snprintf(res + off, sizeof(res) - off, "0x%016llx 0x%016llx 0x%016llx\n",
					(unsigned long long)r[0], (unsigned long long)r[1],
					(unsigned long long)r[2]);
		if (off >= sizeof(res))
			return -EOVERFLOW;
	}

#define ATTR(name, mode, ...)                                                      \
	do {                                                                       \
		snprintf(rel, sizeof(rel), "%s/%s", dir, name);                    \
		rc = tree_printf(t, rel, mode, __VA_ARGS__);                       \
		if (rc)                                                            \
			return rc;                                                 \
	} while (0)
	ATTR("vendor", 0444, "0x%04x\n", vendor);
	ATTR("device", 0444, "0x%04x\n", device);
	ATTR("subsystem_vendor", 0444, "0x%04x\n", svendor);
	ATTR("subsystem_device", 0444, "0x%04x\n", sdevice);
	ATTR("class", 0444, "0x%06x\n", cls);
	ATTR("revision", 0444, "0x%02x\n", rev);
	ATTR("irq", 0444, "%u\n", irq);
	ATTR("numa_node", 0644, "%d\n", -1);
	ATTR("enable", 0644, "%u\n", 0u);
	ATTR("local_cpus", 0444, "%s", t->cpumask);
	ATTR("local_cpulist", 0444, "%s", t->cpulist);
	ATTR("modalias", 0444, "%s\n", modalias);
	ATTR("driver_override", 0644, "(null)\n");
	ATTR("resource", 0444, "%s", res);
	ATTR("uevent", 0644,
	     "DRIVER=vfio-pci\nPCI_CLASS=%X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\n"
	     "PCI_SLOT_NAME=%s\nMODALIAS=%s\n",
	     cls, vendor, device, svendor, sdevice, d->name, modalias);
	snprintf(rel, sizeof(rel), "%s/vfio-dev/vfio%u/dev", dir, d->cdev_minor);
	rc = tree_printf(t, rel, 0444, "%u:%u\n", major(d->cdev_rdev), minor(d->cdev_rdev));
	if (rc)
		return rc;
	snprintf(rel, sizeof(rel), "%s/vfio-dev/vfio%u/uevent", dir, d->cdev_minor);
	rc = tree_printf(t, rel, 0644, "MAJOR=%u\nMINOR=%u\nDEVNAME=vfio/devices/vfio%u\n",
			 major(d->cdev_rdev), minor(d->cdev_rdev), d->cdev_minor);
	if (rc)
		return rc;
#undef ATTR
	snprintf(rel, sizeof(rel), "%s/config", dir);
	rc = tree_write(t, rel, 0644, d->config, d->config_len);
	if (rc)
		return rc;

#define LINK(target, ...)                                                          \
	do {                                                                       \
		snprintf(rel, sizeof(rel), __VA_ARGS__);                           \
		rc = tree_link(t, target, rel);                                    \
		if (rc)                                                            \
			return rc;                                                 \
	} while (0)
	char target[PATH_MAX], gname[32];

	rc = group_name(d, gname, sizeof(gname));
	if (rc)
		return rc;
	LINK("../../../bus/pci/drivers/vfio-pci", "%s/driver", dir);
	LINK("../../../bus/pci", "%s/subsystem", dir);
	snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%d", d->group);
	LINK(target, "%s/iommu_group", dir);
	snprintf(target, sizeof(target), "../../../%s", d->name);
	LINK(target, "%s/vfio-dev/vfio%u/device", dir, d->cdev_minor);
	LINK("../../../../../class/vfio-dev", "%s/vfio-dev/vfio%u/subsystem", dir, d->cdev_minor);
	snprintf(target, sizeof(target), "../../../devices/%s/%s", bus, d->name);
	LINK(target, "bus/pci/devices/%s", d->name);
	snprintf(target, sizeof(target), "../../../../devices/%s/%s", bus, d->name);
	LINK(target, "bus/pci/drivers/vfio-pci/%s", d->name);
	snprintf(target, sizeof(target), "../../../../devices/%s/%s", bus, d->name);
	LINK(target, "kernel/iommu_groups/%d/devices/%s", d->group, d->name);
	snprintf(target, sizeof(target), "../../devices/%s/%s/vfio-dev/vfio%u", bus, d->name,
		 d->cdev_minor);
	LINK(target, "class/vfio-dev/vfio%u", d->cdev_minor);
	snprintf(target, sizeof(target), "../../devices/virtual/vfio/%s", gname);
	LINK(target, "class/vfio/%s", gname);
#undef LINK
	return 0;
}

static int build_group(const struct tree *t, const struct vfio_sysfs_dev *d)
{
	char rel[PATH_MAX], gname[32], resv[SYSFS_RESV_MAX * 64] = "";
	size_t off = 0;
	int rc;

	rc = group_name(d, gname, sizeof(gname));
	if (!rc)
		rc = tree_mkdir(t, "kernel/iommu_groups/%d/devices", d->group);
	if (!rc)
		rc = tree_mkdir(t, "devices/virtual/vfio/%s", gname);
	if (rc)
		return rc;
	for (size_t i = 0; i < d->nr_resv && i < SYSFS_RESV_MAX; i++)
		off += (size_t)snprintf(resv + off, sizeof(resv) - off, "0x%016llx 0x%016llx reserved\n",
					(unsigned long long)d->resv[i][0],
					(unsigned long long)d->resv[i][1]);
	snprintf(rel, sizeof(rel), "kernel/iommu_groups/%d/type", d->group);
	rc = tree_printf(t, rel, 0644, "%s\n", d->noiommu ? "unknown" : "DMA");
	if (!rc) {
		snprintf(rel, sizeof(rel), "kernel/iommu_groups/%d/reserved_regions", d->group);
		rc = tree_printf(t, rel, 0444, "%s", resv);
	}
	if (!rc && d->noiommu) {
		snprintf(rel, sizeof(rel), "kernel/iommu_groups/%d/name", d->group);
		rc = tree_printf(t, rel, 0444, "vfio-noiommu\n");
	}
	if (!rc) {
		snprintf(rel, sizeof(rel), "devices/virtual/vfio/%s/dev", gname);
		rc = tree_printf(t, rel, 0444, "%u:%u\n", major(d->group_rdev), minor(d->group_rdev));
	}
	if (!rc) {
		snprintf(rel, sizeof(rel), "devices/virtual/vfio/%s/uevent", gname);
		rc = tree_printf(t, rel, 0644, "MAJOR=%u\nMINOR=%u\nDEVNAME=vfio/%s\n",
				 major(d->group_rdev), minor(d->group_rdev), gname);
	}
	if (!rc) {
		snprintf(rel, sizeof(rel), "devices/virtual/vfio/%s/subsystem", gname);
		rc = tree_link(t, "../../../../class/vfio", rel);
	}
	return rc;
}

/*
 * The directories every tree has.  Each one and every directory above it
 * also exists in a machine's sysfs (with the modules loaded), so these
 * are where the tree is merged with it.
 */
static const char *const common_dirs[] = {
	"bus/pci/devices",	    "bus/pci/drivers/vfio-pci", "devices/virtual/vfio",
	"devices/virtual/misc",	    "kernel/iommu_groups",	"class/vfio",
	"class/vfio-dev",	    "class/misc",		"module/vfio/parameters",
	"module/vfio_pci/parameters", "module/vfio_iommu_type1/parameters",
};

/* Driver, modules and the container's misc device: the same for any set. */
static int build_common(const struct tree *t, bool noiommu)
{
	static const char *const drv_files[] = { "bind", "unbind", "new_id", "remove_id" };
	static const char *const modules[] = { "vfio", "vfio_pci", "vfio_iommu_type1" };
	char rel[128];
	int rc = 0;

	for (size_t i = 0; i < sizeof(common_dirs) / sizeof(common_dirs[0]) && !rc; i++)
		rc = tree_mkdir(t, "%s", common_dirs[i]);
	if (!rc)
		rc = tree_mkdir(t, "devices/virtual/misc/vfio");
	for (size_t i = 0; i < sizeof(drv_files) / sizeof(drv_files[0]) && !rc; i++) {
		snprintf(rel, sizeof(rel), "bus/pci/drivers/vfio-pci/%s", drv_files[i]);
		rc = tree_write(t, rel, 0200, "", 0);
	}
	if (!rc)
		rc = tree_write(t, "bus/pci/drivers/vfio-pci/uevent", 0200, "", 0);
	if (!rc)
		rc = tree_link(t, "../../../../module/vfio_pci", "bus/pci/drivers/vfio-pci/module");
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]) && !rc; i++) {
		snprintf(rel, sizeof(rel), "module/%s/initstate", modules[i]);
		rc = tree_printf(t, rel, 0444, "live\n");
	}
	if (!rc)
		rc = tree_printf(t, "module/vfio/parameters/enable_unsafe_noiommu_mode", 0644, "%c\n",
				 noiommu ? 'Y' : 'N');
	if (!rc)
		rc = tree_printf(t, "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
				 0644, "N\n");
	if (!rc)
		rc = tree_printf(t, "module/vfio_iommu_type1/parameters/dma_entry_limit", 0644,
				 "65535\n");
	if (!rc)
		rc = tree_printf(t, "devices/virtual/misc/vfio/dev", 0444, "%u:%u\n",
				 VFIO_CONTAINER_MAJOR, VFIO_CONTAINER_MINOR);
	if (!rc)
		rc = tree_printf(t, "devices/virtual/misc/vfio/uevent", 0644,
				 "MAJOR=%u\nMINOR=%u\nDEVNAME=vfio/vfio\n", VFIO_CONTAINER_MAJOR,
				 VFIO_CONTAINER_MINOR);
	if (!rc)
		rc = tree_link(t, "../../devices/virtual/misc/vfio", "class/misc/vfio");
	return rc;
}

/* ------------------------------------------------------------------ merge */

/* Give tree directory <root>/sys/<rel> every entry of the real one it lacks. */
static int merge_dir(const struct tree *t, const char *rel)
{
	char real_dir[PATH_MAX], tdir[PATH_MAX], rpath[PATH_MAX + 256], tpath[PATH_MAX + 256];
	char text[PATH_MAX + 256];
	struct dirent *de;
	struct stat st;
	int rc = 0;
	DIR *d;

	snprintf(real_dir, sizeof(real_dir), "%s%s%s", t->real, *rel ? "/" : "", rel);
	if (tree_path(t, rel, tdir, sizeof(tdir)))
		return -ENAMETOOLONG;
	d = opendir(real_dir);
	if (!d)
		return 0;	/* nothing real to merge */
	while (!rc && (de = readdir(d))) {
		ssize_t n;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(tpath, sizeof(tpath), "%s/%s", tdir, de->d_name);
		if (!lstat(tpath, &st))
			continue;	/* ours hides the real one */
		snprintf(rpath, sizeof(rpath), "%s/%s", real_dir, de->d_name);
		if (lstat(rpath, &st))
			continue;	/* gone meanwhile */
		if (S_ISLNK(st.st_mode)) {
			n = readlink(rpath, text, sizeof(text) - 1);
			if (n < 0)
				continue;
			text[n] = 0;
		} else {
			snprintf(text, sizeof(text), "%s", rpath);
		}
		if (symlink(text, tpath) && errno != EEXIST)
			rc = -errno;
	}
	closedir(d);
	return rc;
}

/* Merge @rel and each directory above it, each once (@done remembers). */
static int merge_up(const struct tree *t, const char *rel, char done[][64], size_t *ndone,
		    size_t max)
{
	char prefix[64];
	size_t len = strlen(rel);
	int rc = 0;

	if (len >= sizeof(prefix))
		return -ENAMETOOLONG;
	for (size_t end = 0; end <= len && !rc; end++) {
		bool seen = false;

		if (end != len && rel[end] != '/')
			continue;
		memcpy(prefix, rel, end);
		prefix[end] = 0;
		for (size_t i = 0; i < *ndone && !seen; i++)
			seen = !strcmp(done[i], prefix);
		if (seen)
			continue;
		rc = merge_dir(t, prefix);
		if (*ndone < max)
			memcpy(done[(*ndone)++], prefix, end + 1);
	}
	return rc;
}

/*
 * The directories of the tree that mix ours with the machine's: the common
 * ones, the root buses of our functions, and everything above them.  Never
 * a function's, a group's or a class device's own directory.
 */
static int merge_all(const struct tree *t, const struct vfio_sysfs_dev *devs, size_t n)
{
	char done[64][64], rel[64];
	size_t ndone = 0;
	int rc = 0;

	for (size_t i = 0; i < sizeof(common_dirs) / sizeof(common_dirs[0]) && !rc; i++)
		rc = merge_up(t, common_dirs[i], done, &ndone, 64);
	for (size_t i = 0; i < n && !rc; i++) {
		char bus[16];

		bus_dir(&devs[i], bus, sizeof(bus));
		snprintf(rel, sizeof(rel), "devices/%s", bus);
		rc = merge_up(t, rel, done, &ndone, 64);
	}
	return rc;
}

/* ---------------------------------------------------------------- removal */

static void remove_tree_at(const char *path)
{
	char child[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(path, &st))
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	if (d) {
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (snprintf(child, sizeof(child), "%s/%s", path, de->d_name) <
			    (int)sizeof(child))
				remove_tree_at(child);
		}
		closedir(d);
	}
	rmdir(path);
}

void vfio_sysfs_remove(const char *root)
{
	const char *base;
	int err = errno;

	/* Only ever a directory this file made. */
	if (!root || !(base = strrchr(root, '/')) || strncmp(base + 1, TREE_PREFIX,
							     strlen(TREE_PREFIX)))
		return;
	remove_tree_at(root);
	errno = err;
}

/* ------------------------------------------------------------------ build */

/*
 * The tree's owner, beside (not inside) its sys/: the process whose exit
 * removes it.  A process that execs never gets to remove its tree; the
 * next image (same pid) or any later start finds it by this file.
 */
static int write_owner(const char *root)
{
	char path[PATH_MAX + 16], text[32];
	int fd, n, rc = 0;

	snprintf(path, sizeof(path), "%s/owner", root);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
	if (write(fd, text, (size_t)n) != n)
		rc = -EIO;
	close(fd);
	return rc;
}

static const char *tmp_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	return tmp && *tmp ? tmp : "/tmp";
}

void vfio_sysfs_reap(void)
{
	char path[PATH_MAX], text[32];
	const char *tmp = tmp_dir();
	struct dirent *de;
	int err = errno;
	DIR *d;

	d = opendir(tmp);
	if (!d)
		return;
	while ((de = readdir(d))) {
		long pid;

		if (strncmp(de->d_name, TREE_PREFIX, strlen(TREE_PREFIX)))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/owner", tmp, de->d_name) >=
		    (int)sizeof(path))
			continue;
		/* No owner yet: being built, or not ours to judge. */
		if (read_small(path, text, sizeof(text)))
			continue;
		pid = strtol(text, NULL, 10);
		if (pid <= 0)
			continue;
		if (pid != getpid() && !(kill((pid_t)pid, 0) && errno == ESRCH))
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmp, de->d_name);
		vfio_sysfs_remove(path);
	}
	closedir(d);
	errno = err;
}

int vfio_sysfs_build_devs(const struct vfio_sysfs_dev *devs, size_t n, const char *real_sys,
			  char *root, size_t rootlen)
{
	const char *tmp = tmp_dir();
	struct tree *t;
	bool noiommu = false;
	int err = errno, rc;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	rc = snprintf(t->root, sizeof(t->root), "%s/" TREE_PREFIX "XXXXXX", tmp);
	if (rc < 0 || (size_t)rc >= sizeof(t->root) || (size_t)rc >= rootlen) {
		rc = -ENAMETOOLONG;
		goto free_tree;
	}
	if (!mkdtemp(t->root)) {
		rc = -errno;
		goto free_tree;
	}
	rc = write_owner(t->root);
	if (rc)
		goto remove_dir;
	t->real = real_sys;
	t->res_lines = resource_lines(real_sys);
	cpu_masks(t);
	for (size_t i = 0; i < n; i++)
		noiommu |= devs[i].noiommu;
	rc = build_common(t, noiommu);
	for (size_t i = 0; i < n && !rc; i++) {
		rc = build_group(t, &devs[i]);
		if (!rc)
			rc = build_function(t, &devs[i]);
	}
	if (!rc)
		rc = merge_all(t, devs, n);
	if (rc)
		goto remove_dir;
	memcpy(root, t->root, strlen(t->root) + 1);
	free(t);
	errno = err;
	return 0;

remove_dir:
	vfio_sysfs_remove(t->root);
free_tree:
	free(t);
	errno = err;
	return rc;
}

int vfio_sysfs_build(struct vfio_devset *set, char *root, size_t rootlen)
{
	struct vfio_sysfs_dev *devs;
	uint8_t *cfg;
	size_t n, i;
	int rc;

	if (!set)
		return -EINVAL;
	n = vfio_devset_count(set);
	devs = calloc(n ? n : 1, sizeof(*devs));
	cfg = calloc(n ? n : 1, CFG_MAX);
	if (!devs || !cfg) {
		rc = -ENOMEM;
		goto free_bufs;
	}
	for (i = 0; i < n; i++) {
		struct vfio_device *vdev = vfio_devset_device(set, i);
		struct vfio_sysfs_dev *d = &devs[i];

		snprintf(d->name, sizeof(d->name), "%s", vdev->name);
		d->group = vfio_group_id(vdev->group);
		d->noiommu = vdev->spec.noiommu;
		d->cdev_minor = vdev->cdev_minor;
		/* The group's minor is its number; see sysfs.h for the majors. */
		d->group_rdev = makedev(VFIO_GROUP_MAJOR, (unsigned int)d->group);
		d->cdev_rdev = makedev(VFIO_CDEV_MAJOR, vdev->cdev_minor);
		d->config = cfg + i * CFG_MAX;
		d->config_len = vfio_pci_config_snapshot(vdev, cfg + i * CFG_MAX, 0, CFG_MAX);
		for (unsigned int bar = 0; bar < SYSFS_PCI_NUM_RES; bar++)
			vfio_pci_bar_resource(vdev, bar, &d->res[bar][0], &d->res[bar][1],
					      &d->res[bar][2]);
		if (vdev->dev.iommu_ops && vdev->dev.iommu_ops->get_resv_regions) {
			struct iommu_resv_region r[SYSFS_RESV_MAX];

			d->nr_resv = vdev->dev.iommu_ops->get_resv_regions(&vdev->dev, r,
									 SYSFS_RESV_MAX);
			if (d->nr_resv > SYSFS_RESV_MAX)
				d->nr_resv = SYSFS_RESV_MAX;
			for (size_t k = 0; k < d->nr_resv; k++) {
				d->resv[k][0] = r[k].start;
				d->resv[k][1] = r[k].start + r[k].length - 1;
			}
		}
	}
	rc = vfio_sysfs_build_devs(devs, n, "/sys", root, rootlen);
free_bufs:
	free(cfg);
	free(devs);
	return rc;
}

/* ---------------------------------------------------- live attributes */

/* The function whose directory @dirfd is, or NULL (not one of ours). */
static struct vfio_device *function_of_dir(struct vfio_devset *set, int dirfd)
{
	char link[64], where[PATH_MAX];
	const char *name;
	ssize_t n;

	/* The kernel's resolution of every link on the way: one spelling for all. */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = syscall(SYS_readlinkat, AT_FDCWD, link, where, sizeof(where) - 1);
	if (n <= 0)
		return NULL;
	where[n] = 0;
	name = strrchr(where, '/');
	if (!name || !strstr(where, "/sys/devices/pci"))
		return NULL;
	return vfio_devset_device_by_name(set, name + 1);
}

void vfio_sysfs_refresh(const char *tree_path)
{
	const char *leaf = tree_path ? strrchr(tree_path, '/') : NULL;
	struct vfio_devset *set = vfio_devset_current();
	struct vfio_device *vdev;
	uint8_t buf[CFG_MAX];
	char dir[PATH_MAX];
	size_t dlen, len;
	int err = errno, dirfd, fd;
	bool config;

	if (!leaf || !set)
		return;
	config = !strcmp(leaf + 1, "config");
	if (!config && strcmp(leaf + 1, "enable"))
		return;
	dlen = (size_t)(leaf - tree_path);
	if (!dlen || dlen >= sizeof(dir))
		return;
	memcpy(dir, tree_path, dlen);
	dir[dlen] = 0;
	dirfd = (int)syscall(SYS_openat, AT_FDCWD, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		goto out;
	vdev = function_of_dir(set, dirfd);
	if (!vdev)
		goto out_close_dir;
	if (config)
		len = vfio_pci_config_snapshot(vdev, buf, 0, sizeof(buf));
	else
		len = (size_t)snprintf((char *)buf, sizeof(buf), "%u\n", vfio_pci_enable_count(vdev));
	/* Same length as before: rewritten in place, never seen empty. */
	fd = (int)syscall(SYS_openat, dirfd, leaf + 1, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!syscall(SYS_pwrite64, fd, buf, len, 0);
		syscall(SYS_close, fd);
	}
out_close_dir:
	syscall(SYS_close, dirfd);
out:
	errno = err;
}
