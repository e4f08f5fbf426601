/* SPDX-License-Identifier: MIT */
/*
 * What devset.c, group.c, cdev.c and device.c share and nobody else needs:
 * the set and group structs, the device-file struct and the calls between
 * the four files.  docs/uapi-behaviour.md ("VFIO groups and cdevs") is the
 * specification they follow.
 *
 * Locking.  One mutex per set (set->lock) covers every group's state, every
 * device's open count and binding and every device file's access flag, as
 * the kernel's group_lock and dev_set lock together do.  It is taken before
 * a context's lock (bind, attach) and never while a context lock is held.
 * Calls into the vfio-pci layer for open/close run under it; the layer's
 * own I/O paths (ioctl, rw, mmap) run without it.
 */
#ifndef UIOMMUFD_VFIO_INTERNAL_H
#define UIOMMUFD_VFIO_INTERNAL_H

#include "vfio/vfio.h"
#include "core/host.h"
#include "devices/model.h"

struct iommufd_ctx;

#define VFIO_MAX_DEVICES 32	/* slots on bus 01, one function each */

struct vfio_group {
	int id;
	bool noiommu;
	struct vfio_devset *set;
	struct vfio_device *devices[VFIO_MAX_DEVICES];
	size_t nr_devices;

	/* Under set->lock: */
	bool opened;			/* the group file exists (one at a time) */
	unsigned int file_users;	/* the group fd + device fds opened through it */
	unsigned int cdev_binds;	/* its devices bound through their cdevs */
	struct iommufd_ctx *ictx;	/* the container or iommufd, referenced */
};

struct vfio_devset {
	struct uiommufd_host *host;
	pthread_mutex_t lock;
	struct vfio_device *devices[VFIO_MAX_DEVICES];
	size_t nr_devices;
	struct vfio_group *groups[VFIO_MAX_DEVICES];
	size_t nr_groups;
};

/* One open device file: a GET_DEVICE_FD result or an open cdev. */
struct vfio_device_file {
	struct vfio_device *vdev;
	struct vfio_group *group;	/* opened through it; NULL for a cdev */
	bool access_granted;		/* opened (group) or bound (cdev) */
	struct iommufd_ctx *bound;	/* cdev: BIND_IOMMUFD's context, referenced */
};

/* group.c */
extern const struct host_anon_ops vfio_group_fops;
int vfio_group_create(struct vfio_devset *set, int id, bool noiommu, struct vfio_group **out);
void vfio_group_destroy(struct vfio_group *group);
int vfio_group_open(struct vfio_group *group, int oflags);
/* A device file through @group let go of it (set->lock held). */
void vfio_group_file_unuse(struct vfio_group *group);

/* device.c */
extern const struct host_anon_ops vfio_group_device_fops;	/* GET_DEVICE_FD files */
extern const struct host_anon_ops vfio_cdev_fops;		/* /dev/vfio/devices/... */
int vfio_device_cdev_open(struct vfio_device *vdev, int oflags);
/*
 * The group path's open: first open binds into the group's context and
 * attaches to its compat IOAS (not for no-IOMMU), then opens the function.
 * set->lock held.  The close undoes it on the last close.
 */
int vfio_device_group_open(struct vfio_device *vdev, struct vfio_group *group);
void vfio_device_group_close(struct vfio_device *vdev);
/*
 * Bind @vdev into @ictx (first open only) and open the function; undone by
 * vfio_device_last_close().  set->lock held.
 */
int vfio_device_first_open(struct vfio_device *vdev, struct iommufd_ctx *ictx,
			   bool attach_compat);
void vfio_device_last_close(struct vfio_device *vdev);

/* cdev.c */
long vfio_cdev_bind(struct vfio_device_file *df, uint64_t uarg);
void vfio_cdev_unbind(struct vfio_device_file *df);
long vfio_cdev_attach(struct vfio_device_file *df, uint64_t uarg);
long vfio_cdev_detach(struct vfio_device_file *df, uint64_t uarg);

#endif
