// SPDX-License-Identifier: MIT
/*
 * The device file: what GET_DEVICE_FD returns and what opening a cdev
 * gives.  docs/uapi-behaviour.md ("VFIO groups and cdevs") is the
 * specification.
 *
 * Both kinds are host anon files with the same calls; only a cdev file
 * stats as a character device and takes BIND_IOMMUFD.  A file gives access
 * to the function only once granted: at once for the group path (the open
 * happened in GET_DEVICE_FD), after BIND_IOMMUFD for a cdev.  Before that
 * every call but BIND_IOMMUFD is EINVAL, as the kernel answers.
 *
 * Open counting.  The first open of a device binds it into the context
 * (its iommufd_device, in the driver's blocked domain), attaches it to the
 * compat IOAS on the group path, and opens the vfio-pci function; the last
 * close closes the function first (its DMA stops and its threads are idle
 * before that returns), then detaches and unbinds.  So closing the device
 * fd while DMA runs stops the device before its translation goes; the
 * context stays alive meanwhile because the binding holds a reference,
 * whatever the program does with its iommufd descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/iommufd_private.h"
#include "uapi/vfio_group.h"
#include "vfio/vfio_internal.h"

/* Undo a binding made by bind_and_attach(); set->lock held. */
static void unbind(struct vfio_device *vdev)
{
	struct iommufd_ctx *ictx = vdev->ictx;

	if (!ictx)
		return;
	if (vdev->idev) {
		pthread_mutex_lock(&ictx->lock);
		/* The RID and every PASID back to the blocked domain, then gone. */
		if (vdev->idev->hwpt)
			iommufd_device_detach(vdev->idev, IOMMU_NO_PASID);
		iommufd_device_unbind(vdev->idev);
		pthread_mutex_unlock(&ictx->lock);
	}
	vdev->idev = NULL;
	vdev->dev_id = 0;
	/* vfio-pci's DMA path reads it without the set's lock. */
	__atomic_store_n(&vdev->ictx, NULL, __ATOMIC_RELEASE);
	uiommufd_ctx_put((struct uiommufd_ctx *)ictx);
}

/*
 * Bind @vdev into @ictx and, for the group path, attach it to the compat
 * IOAS.  A no-IOMMU device of a group binds to nothing: it has no IOMMU.
 */
static int bind_and_attach(struct vfio_device *vdev, struct iommufd_ctx *ictx,
			   bool attach_compat)
{
	struct iommufd_device *idev;
	uint32_t id, ioas_id;
	int rc;

	uiommufd_ctx_get((struct uiommufd_ctx *)ictx);
	__atomic_store_n(&vdev->ictx, ictx, __ATOMIC_RELEASE);
	if (attach_compat && vdev->spec.noiommu)
		return 0;
	pthread_mutex_lock(&ictx->lock);
	idev = iommufd_device_bind(ictx, &vdev->dev, &id);
	if (IS_ERR(idev)) {
		rc = (int)PTR_ERR(idev);
		goto err_unlock;
	}
	if (attach_compat) {
		rc = iommufd_vfio_compat_ioas_get_id(ictx, &ioas_id);
		if (!rc)
			rc = iommufd_device_attach(idev, IOMMU_NO_PASID, &ioas_id);
		if (rc)
			goto err_unbind;
	}
	pthread_mutex_unlock(&ictx->lock);
	vdev->idev = idev;
	vdev->dev_id = id;
	return 0;

err_unbind:
	iommufd_device_unbind(idev);
err_unlock:
	pthread_mutex_unlock(&ictx->lock);
	__atomic_store_n(&vdev->ictx, NULL, __ATOMIC_RELEASE);
	uiommufd_ctx_put((struct uiommufd_ctx *)ictx);
	return rc;
}

int vfio_device_first_open(struct vfio_device *vdev, struct iommufd_ctx *ictx,
			   bool attach_compat)
{
	int rc;

	rc = bind_and_attach(vdev, ictx, attach_compat);
	if (rc)
		return rc;
	rc = vfio_pci_open_device(vdev);
	if (rc) {
		unbind(vdev);
		return rc;
	}
	vdev->open_count = 1;
	return 0;
}

void vfio_device_last_close(struct vfio_device *vdev)
{
	/* The function stops (no DMA, no interrupt) before its IOMMU goes. */
	vfio_pci_close_device(vdev);
	unbind(vdev);
	vdev->open_count = 0;
}

/*
 * A no-IOMMU function may be opened only by a caller with CAP_SYS_RAWIO,
 * and only if the context promises no translation (it has no compat IOAS).
 */
static bool noiommu_open_allowed(struct vfio_device *vdev, struct iommufd_ctx *ictx)
{
	struct uiommufd_host *host = vdev->set->host;
	uint32_t ioas_id;
	bool translated;

	if (!host->ops->capable(host, HOST_CAP_SYS_RAWIO))
		return false;
	pthread_mutex_lock(&ictx->lock);
	translated = !iommufd_vfio_compat_ioas_get_id(ictx, &ioas_id);
	pthread_mutex_unlock(&ictx->lock);
	return !translated;
}

int vfio_device_group_open(struct vfio_device *vdev, struct vfio_group *group)
{
	/* No container or iommufd yet: nothing to translate through. */
	if (!group->ictx)
		return -EINVAL;
	if (vdev->open_count) {
		vdev->open_count++;
		return 0;
	}
	if (vdev->spec.noiommu && !noiommu_open_allowed(vdev, group->ictx))
		return -EPERM;
	return vfio_device_first_open(vdev, group->ictx, true);
}

void vfio_device_group_close(struct vfio_device *vdev)
{
	if (vdev->open_count > 1)
		vdev->open_count--;
	else if (vdev->open_count == 1)
		vfio_device_last_close(vdev);
}

static bool granted(struct vfio_device_file *df)
{
	return __atomic_load_n(&df->access_granted, __ATOMIC_ACQUIRE);
}

bool vfio_device_cdev_opened(struct vfio_device *vdev)
{
	/* Lock free: callable from inside vfio_pci_open_device() as well. */
	return __atomic_load_n(&vdev->cdev_bound, __ATOMIC_ACQUIRE);
}

int vfio_file_has_dev(int fd, struct vfio_device *vdev)
{
	struct uiommufd_host *host = vdev->set->host;
	static const struct host_anon_ops *const device_kinds[] = {
		&vfio_group_device_fops, &vfio_cdev_fops,
	};
	struct host_file *probe;
	struct host_anon *ref;
	struct vfio_device_file *df;
	size_t k;
	int rc;

	rc = host->ops->file_get(host, fd, &probe);
	if (rc)
		return rc;
	host->ops->file_put(host, probe);
	if (vfio_group_from_fd(fd))
		return vfio_group_from_fd(fd) == vdev->group;
	for (k = 0; k < sizeof(device_kinds) / sizeof(device_kinds[0]); k++) {
		df = host->ops->anon_get(host, fd, device_kinds[k], &ref);
		if (!df)
			continue;
		/* An unbound cdev file grants nothing yet. */
		rc = df->vdev == vdev && granted(df);
		host->ops->anon_put(host, ref);
		return rc;
	}
	return -EINVAL;
}

/* ---- the file's calls */

static long device_ioctl(void *priv, unsigned long cmd, uint64_t uarg)
{
	struct vfio_device_file *df = priv;
	unsigned int nr = (unsigned int)cmd;

	if (nr == VFIO_DEVICE_BIND_IOMMUFD)
		return vfio_cdev_bind(df, uarg);
	if (!granted(df))
		return -EINVAL;
	if (!df->group) {
		if (nr == VFIO_DEVICE_ATTACH_IOMMUFD_PT)
			return vfio_cdev_attach(df, uarg);
		if (nr == VFIO_DEVICE_DETACH_IOMMUFD_PT)
			return vfio_cdev_detach(df, uarg);
	}
	return vfio_pci_ioctl(df->vdev, cmd, uarg);
}

static ssize_t device_rw(void *priv, uint64_t ubuf, size_t count, uint64_t off, bool write)
{
	struct vfio_device_file *df = priv;

	if (!granted(df))
		return -EINVAL;
	return vfio_pci_rw(df->vdev, ubuf, count, off, write);
}

static int device_mmap(void *priv, void *addr, size_t len, int prot, int flags, uint64_t off,
		       void **out)
{
	struct vfio_device_file *df = priv;

	if (!granted(df))
		return -EINVAL;
	return vfio_pci_mmap(df->vdev, addr, len, prot, flags, off, out);
}

static void device_munmap(void *priv, void *addr, size_t len)
{
	struct vfio_device_file *df = priv;

	vfio_pci_munmap(df->vdev, addr, len);
}

static void group_device_release(void *priv)
{
	struct vfio_device_file *df = priv;
	struct vfio_devset *set = df->vdev->set;

	pthread_mutex_lock(&set->lock);
	vfio_device_group_close(df->vdev);
	vfio_group_file_unuse(df->group);
	pthread_mutex_unlock(&set->lock);
	free(df);
}

static void cdev_release(void *priv)
{
	struct vfio_device_file *df = priv;

	vfio_cdev_unbind(df);
	free(df);
}

static int cdev_stat(void *priv, struct stat *st)
{
	struct vfio_device_file *df = priv;

	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0600;
	st->st_rdev = makedev(VFIO_CDEV_MAJOR, df->vdev->cdev_minor);
	st->st_nlink = 1;
	st->st_blksize = 4096;
	return 0;
}

const struct host_anon_ops vfio_group_device_fops = {
	.name = "[vfio-device]",
	.release = group_device_release,
	.ioctl = device_ioctl,
	.rw = device_rw,
	.mmap = device_mmap,
	.munmap = device_munmap,
};

const struct host_anon_ops vfio_cdev_fops = {
	.name = "vfio-dev",
	.release = cdev_release,
	.ioctl = device_ioctl,
	.rw = device_rw,
	.mmap = device_mmap,
	.munmap = device_munmap,
	.stat = cdev_stat,
};

/* Opening a cdev grants nothing yet: BIND_IOMMUFD does. */
int vfio_device_cdev_open(struct vfio_device *vdev, int oflags)
{
	struct uiommufd_host *host = vdev->set->host;
	struct vfio_device_file *df = calloc(1, sizeof(*df));
	int fd;

	if (!df)
		return -ENOMEM;
	df->vdev = vdev;
	fd = host->ops->anon_fd(host, &vfio_cdev_fops, df, oflags & (O_CLOEXEC | O_NONBLOCK));
	if (fd < 0)
		free(df);
	return fd;
}
