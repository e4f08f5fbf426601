// SPDX-License-Identifier: MIT
/*
 * The device cdev's own calls: VFIO_DEVICE_BIND_IOMMUFD and
 * VFIO_DEVICE_ATTACH/DETACH_IOMMUFD_PT.  docs/uapi-behaviour.md ("VFIO
 * groups and cdevs") is the specification.
 *
 * Binding makes the device an iommufd_device of the given context: its
 * out_devid is a dev_id there like any other (GET_HW_INFO, HWPT_ALLOC,
 * fault queues), and the device starts in the driver's blocked domain
 * until the program attaches it.  While a device is bound through its
 * cdev its group cannot be opened, and an open group refuses the bind: one
 * path owns a group's DMA at a time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/iommufd_private.h"
#include "uapi/vfio_group.h"
#include "vfio/vfio_internal.h"

#define END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* The group path may not open the group while we hold it; set->lock held. */
static int block_group(struct vfio_group *group)
{
	if (group->opened)
		return -EBUSY;
	group->cdev_binds++;
	return 0;
}

/*
 * The context behind descriptor @fd, referenced: EBADF when @fd is not
 * open, EBADFD when it is not an iommufd (as iommufd_ctx_from_fd()).
 */
static int ctx_of_fd(struct uiommufd_host *host, int fd, struct iommufd_ctx **out)
{
	struct uiommufd_ctx *uctx;
	struct host_file *probe;
	int rc;

	rc = host->ops->file_get(host, fd, &probe);
	if (rc)
		return rc;
	host->ops->file_put(host, probe);
	uctx = vfio_ctx_from_fd(fd);
	if (!uctx)
		return -EBADFD;
	*out = (struct iommufd_ctx *)uctx;
	return 0;
}

/*
 * Bytes a newer caller sends past our struct must all be zero (E2BIG
 * otherwise), read a few at a time whatever their number.
 */
static int unknown_tail_zero(struct uiommufd_host *host, uint64_t from, uint64_t count)
{
	uint8_t chunk[64];

	while (count) {
		size_t n = count < sizeof(chunk) ? (size_t)count : sizeof(chunk);

		/* Never straddle a 64-byte boundary: a fault is seen where it is. */
		if (n > sizeof(chunk) - from % sizeof(chunk))
			n = sizeof(chunk) - from % sizeof(chunk);
		if (copy_from_user(host, chunk, from, n))
			return -EFAULT;
		for (size_t i = 0; i < n; i++)
			if (chunk[i])
				return -E2BIG;
		from += n;
		count -= n;
	}
	return 0;
}

/* BIND_IOMMUFD's struct at the caller's size (the extensible-struct rule). */
static int read_bind_args(struct uiommufd_host *host, uint64_t uarg,
			  struct vfio_device_bind_iommufd *req)
{
	const size_t minsz = END_OF(struct vfio_device_bind_iommufd, out_devid);
	uint32_t argsz;
	int rc;

	if (copy_from_user(host, &argsz, uarg, sizeof(argsz)))
		return -EFAULT;
	if (argsz < minsz)
		return -EINVAL;
	memset(req, 0, sizeof(*req));
	if (argsz > sizeof(*req)) {
		rc = unknown_tail_zero(host, uarg + sizeof(*req), argsz - sizeof(*req));
		if (rc)
			return rc;
	}
	if (copy_from_user(host, req, uarg, argsz < sizeof(*req) ? argsz : sizeof(*req)))
		return -EFAULT;
	return 0;
}

/*
 * The VF-token rule of vfio-pci for a function that is neither an SR-IOV
 * PF nor a VF: no token is needed, and one supplied is refused.
 */
static int check_vf_token(struct uiommufd_host *host, const struct vfio_device_bind_iommufd *req)
{
	uint8_t uuid[16];

	if (!(req->flags & VFIO_DEVICE_BIND_FLAG_TOKEN))
		return 0;
	if (copy_from_user(host, uuid, req->token_uuid_ptr, sizeof(uuid)))
		return -EFAULT;
	return -EINVAL;
}

long vfio_cdev_bind(struct vfio_device_file *df, uint64_t uarg)
{
	struct vfio_device *vdev = df->vdev;
	struct vfio_devset *set = vdev->set;
	struct vfio_device_bind_iommufd req;
	struct iommufd_ctx *ictx;
	uint32_t devid;
	long rc;

	rc = read_bind_args(set->host, uarg, &req);
	if (rc)
		return rc;
	/* Unknown flags, a negative fd, or a GET_DEVICE_FD file: all EINVAL. */
	if (req.iommufd < 0 || (req.flags & ~VFIO_DEVICE_BIND_FLAG_TOKEN) || df->group != NULL)
		return -EINVAL;
	/* Handing out a device without translation is raw I/O. */
	if (vdev->spec.noiommu && !set->host->ops->capable(set->host, HOST_CAP_SYS_RAWIO))
		return -EPERM;

	pthread_mutex_lock(&set->lock);
	rc = block_group(vdev->group);
	if (rc)
		goto out_unlock;
	/* One file binds once, and a device has one cdev user at a time. */
	if (df->access_granted || vdev->open_count) {
		rc = -EINVAL;
		goto err_unblock;
	}
	rc = check_vf_token(set->host, &req);
	if (rc)
		goto err_unblock;
	rc = ctx_of_fd(set->host, req.iommufd, &ictx);
	if (rc)
		goto err_unblock;
	rc = vfio_device_first_open(vdev, ictx, false);
	if (rc)
		goto err_put;
	/* A no-IOMMU device of mainline binds without an IOMMU object: ID 0. */
	devid = vdev->dev_id;
	if (copy_to_user(set->host, uarg + offsetof(struct vfio_device_bind_iommufd, out_devid),
			 &devid, sizeof(devid))) {
		rc = -EFAULT;
		goto err_close;
	}
	df->bound = ictx;
	__atomic_store_n(&vdev->cdev_bound, true, __ATOMIC_RELEASE);
	__atomic_store_n(&df->access_granted, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&set->lock);
	return 0;

err_close:
	vfio_device_last_close(vdev);
err_put:
	uiommufd_ctx_put((struct uiommufd_ctx *)ictx);
err_unblock:
	vdev->group->cdev_binds--;
out_unlock:
	pthread_mutex_unlock(&set->lock);
	return rc;
}

void vfio_cdev_unbind(struct vfio_device_file *df)
{
	struct vfio_devset *set = df->vdev->set;

	/* The last close: nobody else uses @df, the flag is stable. */
	if (!df->access_granted)
		return;
	pthread_mutex_lock(&set->lock);
	__atomic_store_n(&df->vdev->cdev_bound, false, __ATOMIC_RELEASE);
	vfio_device_last_close(df->vdev);
	uiommufd_ctx_put((struct uiommufd_ctx *)df->bound);
	df->bound = NULL;
	df->access_granted = false;
	df->vdev->group->cdev_binds--;
	pthread_mutex_unlock(&set->lock);
}

/*
 * Read a PT call's struct: the fixed head (@minsz bytes), then, with the
 * PASID flag, the @pasid field the longer form adds.
 */
static int read_pt_args(struct uiommufd_host *host, uint64_t uarg, void *dst, size_t minsz,
			size_t pasid_end, uint32_t pasid_flag, uint32_t *flags_out)
{
	uint32_t head[2];

	if (copy_from_user(host, dst, uarg, minsz))
		return -EFAULT;
	memcpy(head, dst, sizeof(head));
	if (head[0] < minsz)
		return -EINVAL;
	if (head[1] & ~pasid_flag)
		return -EINVAL;
	if (head[1] & pasid_flag) {
		if (head[0] < pasid_end)
			return -EINVAL;
		if (copy_from_user(host, (char *)dst + minsz, uarg + minsz, pasid_end - minsz))
			return -EFAULT;
	}
	*flags_out = head[1];
	return 0;
}

long vfio_cdev_attach(struct vfio_device_file *df, uint64_t uarg)
{
	const size_t minsz = END_OF(struct vfio_device_attach_iommufd_pt, pt_id);
	const size_t xend = END_OF(struct vfio_device_attach_iommufd_pt, pasid);
	struct vfio_device *vdev = df->vdev;
	struct vfio_devset *set = vdev->set;
	struct vfio_device_attach_iommufd_pt attach = { 0 };
	struct iommufd_device *idev;
	struct iommufd_ctx *ictx;
	uint32_t flags, pasid = IOMMU_NO_PASID;
	void *handle;
	long rc;

	rc = read_pt_args(set->host, uarg, &attach, minsz, xend, VFIO_DEVICE_ATTACH_PASID, &flags);
	if (rc)
		return rc;
	if (flags & VFIO_DEVICE_ATTACH_PASID)
		pasid = attach.pasid;

	pthread_mutex_lock(&set->lock);
	idev = vdev->idev;
	ictx = vdev->ictx;
	if (!idev) {
		rc = -EINVAL;
		goto out_unlock;
	}
	pthread_mutex_lock(&ictx->lock);
	/* Attached already: a replace, with no blocked moment in between. */
	if (iommufd_device_pasid_hwpt(idev, pasid, &handle))
		rc = iommufd_device_replace(idev, pasid, &attach.pt_id);
	else
		rc = iommufd_device_attach(idev, pasid, &attach.pt_id);
	if (!rc && copy_to_user(set->host,
				uarg + offsetof(struct vfio_device_attach_iommufd_pt, pt_id),
				&attach.pt_id, sizeof(attach.pt_id))) {
		iommufd_device_detach(idev, pasid);
		rc = -EFAULT;
	}
	pthread_mutex_unlock(&ictx->lock);
out_unlock:
	pthread_mutex_unlock(&set->lock);
	return rc;
}

long vfio_cdev_detach(struct vfio_device_file *df, uint64_t uarg)
{
	const size_t minsz = END_OF(struct vfio_device_detach_iommufd_pt, flags);
	const size_t xend = END_OF(struct vfio_device_detach_iommufd_pt, pasid);
	struct vfio_device *vdev = df->vdev;
	struct vfio_devset *set = vdev->set;
	struct vfio_device_detach_iommufd_pt detach = { 0 };
	uint32_t flags, pasid = IOMMU_NO_PASID;
	void *handle;
	long rc;

	rc = read_pt_args(set->host, uarg, &detach, minsz, xend, VFIO_DEVICE_DETACH_PASID, &flags);
	if (rc)
		return rc;
	if (flags & VFIO_DEVICE_DETACH_PASID)
		pasid = detach.pasid;

	pthread_mutex_lock(&set->lock);
	if (vdev->idev) {
		struct iommufd_ctx *ictx = vdev->ictx;

		pthread_mutex_lock(&ictx->lock);
		/* Detaching what is not attached is no error. */
		if (iommufd_device_pasid_hwpt(vdev->idev, pasid, &handle))
			iommufd_device_detach(vdev->idev, pasid);
		pthread_mutex_unlock(&ictx->lock);
	}
	pthread_mutex_unlock(&set->lock);
	return 0;
}
