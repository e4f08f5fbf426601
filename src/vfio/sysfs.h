/* SPDX-License-Identifier: MIT */
/*
 * The sysfs tree builder's own interface: what it needs to know of each
 * emulated function, gathered from the device set by vfio_sysfs_build() or
 * written by hand in tests.  Keeping the builder apart from the device set
 * lets it be tested without devices.
 */
#ifndef UIOMMUFD_VFIO_SYSFS_H
#define UIOMMUFD_VFIO_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Character-device numbers of the nodes, unless vfio.h names them.  The
 * kernel gives VFIO a dynamic major; ours only need to agree between the
 * tree's "dev" files and fstat() of the descriptors.
 */
#ifndef VFIO_CDEV_MAJOR
#define VFIO_CDEV_MAJOR 237
#endif
#ifndef VFIO_GROUP_MAJOR
#define VFIO_GROUP_MAJOR 241
#endif
/* /dev/vfio/vfio is the misc device VFIO_MINOR. */
#define VFIO_CONTAINER_MAJOR 10
#define VFIO_CONTAINER_MINOR 196

#define SYSFS_PCI_NUM_RES 7	/* BAR0-5 and the expansion ROM */
#define SYSFS_RESV_MAX 8

struct vfio_sysfs_dev {
	char name[16];			/* "DDDD:BB:SS.F" */
	int group;			/* /dev/vfio/N or noiommu-N */
	bool noiommu;
	unsigned int cdev_minor;	/* vfio-dev/vfio<minor> */
	dev_t group_rdev, cdev_rdev;
	const uint8_t *config;		/* config space as sysfs's "config" shows it */
	size_t config_len;
	uint64_t res[SYSFS_PCI_NUM_RES][3];	/* start, end, flags */
	size_t nr_resv;			/* the group's reserved regions */
	uint64_t resv[SYSFS_RESV_MAX][2];	/* start, inclusive end */
};

/*
 * Make the tree for @devs under a new directory (mkdtemp in $TMPDIR or
 * /tmp), merging the entries of @real_sys (the machine's "/sys"; tests pass
 * a directory of their own) where directories mix.  *@root gets the new
 * directory; the tree is <root>/sys.  0 or a negative errno, nothing left
 * behind on failure.
 */
int vfio_sysfs_build_devs(const struct vfio_sysfs_dev *devs, size_t n, const char *real_sys,
			  char *root, size_t rootlen);

/*
 * Remove trees left behind in $TMPDIR (or /tmp) by processes that are gone,
 * and by this process's image before an exec (exit never ran for it).  The
 * shim calls it before it builds the tree of a new image.
 */
void vfio_sysfs_reap(void);

#endif
