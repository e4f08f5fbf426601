/* SPDX-License-Identifier: MIT */
/*
 * The VFIO layer: emulated PCI functions bound to "vfio-pci", their IOMMU
 * groups (/dev/vfio/N) and their device cdevs (/dev/vfio/devices/vfioX).
 *
 * Who owns what (one file per concept):
 *   devset.c   the process's device set, from UIOMMUFD_DEVICES / the
 *              embedding API: parse the --device list, make each
 *              vfio_device (its struct device for the iommu core, its
 *              group, its cdev minor), find them by path and BDF
 *   group.c    the group file: GET_STATUS, SET/UNSET_CONTAINER (a VFIO
 *              type1 container or an iommufd), GET_DEVICE_FD; viability
 *   cdev.c     the device cdev: BIND_IOMMUFD, ATTACH/DETACH_IOMMUFD_PT
 *   device.c   the device file (group- or cdev-opened): open counting,
 *              the anon-file ops, dispatch to cdev.c and pci.c
 *   pci.c, pci_config.c, pci_irq.c
 *              vfio-pci: device-fd ioctls, regions, config space, IRQs
 *   sysfs.c    the private sysfs tree the shim redirects /sys paths into
 *
 * A vfio_device lives from devset creation to devset destruction (the
 * process's lifetime under the shim); files reference it, never free it.
 */
#ifndef UIOMMUFD_VFIO_H
#define UIOMMUFD_VFIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "iommu/iommu.h"

struct uiommufd_host;
struct iommufd_ctx;
struct iommufd_device;
struct devmodel_type;
struct vfio_group;
struct vfio_pci_dev;
struct vfio_devset;

/* One --device entry after parsing. */
struct vfio_dev_spec {
	const struct devmodel_type *type;
	uint32_t domain;		/* PCI address */
	uint8_t bus, slot, func;
	int group;			/* -1: a group of its own */
	bool noiommu;
	char model_opts[128];		/* the keys the model parses */
};

/* An emulated PCI function. */
struct vfio_device {
	char name[16];			/* "0000:01:00.0", as sysfs and VFIO name it */
	struct vfio_dev_spec spec;
	struct vfio_devset *set;
	struct vfio_group *group;
	unsigned int cdev_minor;	/* /dev/vfio/devices/vfio<minor> */
	struct device dev;		/* the iommu core's view: domain, DMA */
	struct vfio_pci_dev *pci;	/* vfio-pci state (pci.c) */

	pthread_mutex_t lock;		/* open_count, the binding */
	unsigned int open_count;	/* device files open (group or cdev) */
	struct iommufd_ctx *ictx;	/* bound context while open */
	struct iommufd_device *idev;	/* its binding there */
	uint32_t dev_id;		/* idev's object ID */
	bool cdev_bound;		/* open through its cdev (vfio_device_cdev_opened()) */
};

/* ---- devset.c */
int vfio_devset_create(struct uiommufd_host *host, const char *spec_list,
		       struct vfio_devset **out, char *err, size_t errlen);
void vfio_devset_destroy(struct vfio_devset *set);
size_t vfio_devset_count(const struct vfio_devset *set);
struct vfio_device *vfio_devset_device(struct vfio_devset *set, size_t i);
struct vfio_group *vfio_devset_group_by_id(struct vfio_devset *set, int id);
/* The process's set under the shim (NULL without --device). */
struct vfio_devset *vfio_devset_current(void);
/* The group id of @group (its /dev/vfio/N). */
int vfio_group_id(const struct vfio_group *group);
/*
 * Open a VFIO node of the current set by path: "/dev/vfio/N",
 * "/dev/vfio/noiommu-N", "/dev/vfio/devices/vfioX".  Returns the new
 * descriptor, -ENOENT when the path is not one of ours (the shim then
 * passes the call on), or another negative errno.
 */
int vfio_open_path(const char *path, int oflags);
/*
 * stat() of such a path without opening it (an open group would be
 * busy): S_IFCHR, mode 0600, st_rdev as fstat() of an open one shows;
 * -ENOENT when the path is not ours.
 */
struct stat;
int vfio_stat_path(const char *path, struct stat *st);
/*
 * The iommufd context behind descriptor @fd (an open /dev/iommu or
 * /dev/vfio/vfio), referenced; NULL if @fd is not one.  Uses the resolver
 * the shim (or an embedder) set with uiommufd_set_fd_resolver().
 */
struct uiommufd_ctx *vfio_ctx_from_fd(int fd);

/*
 * Device numbers of our nodes, as stat() and sysfs show them: groups are
 * makedev(VFIO_GROUP_MAJOR, group id), cdevs makedev(VFIO_CDEV_MAJOR,
 * cdev_minor).  Dynamic majors on a real machine; these are free ones.
 */
#define VFIO_GROUP_MAJOR 241
#define VFIO_CDEV_MAJOR 237

/*
 * Check a --device list without making anything (the command validates
 * before it runs the program): 0, or the errno vfio_devset_create() would
 * give with the same message in @err.
 */
int vfio_devset_validate(const char *spec_list, char *err, size_t errlen);
/* The device named @name ("0000:01:00.0") in @set, or NULL. */
struct vfio_device *vfio_devset_device_by_name(struct vfio_devset *set, const char *name);
/* Whether @group is a no-IOMMU group (/dev/vfio/noiommu-N). */
bool vfio_group_is_noiommu(const struct vfio_group *group);
/*
 * The node names, as /dev and sysfs spell them: the group's "N" or
 * "noiommu-N", the cdev's "vfioX" (no-IOMMU devices' too, as mainline).
 */
void vfio_group_node_name(const struct vfio_group *group, char *buf, size_t len);
void vfio_device_cdev_name(const struct vfio_device *vdev, char *buf, size_t len);
/*
 * The group behind an open group fd of the current set, NULL for any
 * other fd (see also vfio_file_has_dev() below).
 */
struct vfio_group *vfio_group_from_fd(int fd);

/* ---- pci.c: the vfio-pci layer */
int vfio_pci_create(struct vfio_device *vdev);
void vfio_pci_destroy(struct vfio_device *vdev);
/* First open of the device (enable, reset) and last close (disable, reset). */
int vfio_pci_open_device(struct vfio_device *vdev);
void vfio_pci_close_device(struct vfio_device *vdev);
/* Device-fd ioctls (GET_INFO, regions, IRQs, reset, features). */
long vfio_pci_ioctl(struct vfio_device *vdev, unsigned long cmd, uint64_t uarg);
ssize_t vfio_pci_rw(struct vfio_device *vdev, uint64_t ubuf, size_t count, uint64_t off,
		    bool write);
int vfio_pci_mmap(struct vfio_device *vdev, void *addr, size_t len, int prot, int flags,
		  uint64_t off, void **out);
void vfio_pci_munmap(struct vfio_device *vdev, void *addr, size_t len);
/*
 * Config space as sysfs's "config" shows it (@len bytes from @off) and
 * the BAR table as sysfs's "resource" file lists it.
 */
size_t vfio_pci_config_snapshot(struct vfio_device *vdev, uint8_t *buf, size_t off, size_t len);
void vfio_pci_bar_resource(struct vfio_device *vdev, unsigned int bar, uint64_t *start,
			   uint64_t *end, uint64_t *flags);
/* sysfs's "enable": the function's enable count (1 while open). */
unsigned int vfio_pci_enable_count(struct vfio_device *vdev);

/*
 * For vfio-pci's hot reset (added by "pci"; group.c / device.c implement
 * them): whether the file behind @fd is @vdev's group file or one of
 * @vdev's device files (1 yes, 0 no), -EBADF when @fd is not open, -EINVAL
 * when it is neither a VFIO group nor a VFIO device file; and whether
 * @vdev's device file was opened through its cdev (not its group).
 */
int vfio_file_has_dev(int fd, struct vfio_device *vdev);
bool vfio_device_cdev_opened(struct vfio_device *vdev);

/* ---- sysfs.c: the private tree, built once the set exists */
/*
 * Make the tree under a new private directory and return its root
 * (the shim's redirection prefix); remove it with vfio_sysfs_remove().
 */
int vfio_sysfs_build(struct vfio_devset *set, char *root, size_t rootlen);
/*
 * @tree_path (a path inside the tree) is about to be used: if it names the
 * "config" or "enable" file of one of the current set's functions, rewrite
 * that file from the device's present state.  Raw system calls only; errno
 * is kept.  The shim's redirection calls it for every tree path it hands out.
 */
void vfio_sysfs_refresh(const char *tree_path);
void vfio_sysfs_remove(const char *root);

#endif
