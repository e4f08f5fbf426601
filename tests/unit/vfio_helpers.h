/* SPDX-License-Identifier: MIT */
/*
 * What test_vfio_group.c and test_vfio_cdev.c share: a tiny device model
 * and a recording stand-in for the vfio-pci layer, an fd resolver for the
 * contexts a test opens, and calls on VFIO fds without the shim.
 *
 * The stand-ins are weak definitions.  Until pci.c and models.c are
 * merged they are all there is; after the merge the real ones win if
 * anything pulls them in, and these tests only look at what the vfio layer
 * itself does (open/close counting, routing), so they hold either way
 * except where a test says it reads the stand-in's counters.
 */
#ifndef UIOMMUFD_TEST_VFIO_HELPERS_H
#define UIOMMUFD_TEST_VFIO_HELPERS_H

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "helpers.h"
#include "core/host.h"
#include "devices/model.h"
#include "uapi/vfio.h"
#include "uapi/vfio_group.h"
#include "vfio/vfio.h"
#include "vfio/vfio_internal.h"

/* ---- a device model that does nothing */

static const struct devmodel_type fake_model = {
	.name = "fake",
	.summary = "test model",
	.vendor = 0x8086,
	.device = 0x2021,
};

__attribute__((weak)) const struct devmodel_type *devmodel_find(const char *name)
{
	return name && !strcmp(name, "fake") ? &fake_model : NULL;
}

/* ---- the vfio-pci layer's stand-in: counts calls, answers a marker */

#define FAKE_PCI_IOCTL_ANSWER 0x5a5a
static int fake_creates, fake_destroys, fake_opens, fake_closes;
static unsigned long fake_last_cmd;

__attribute__((weak)) int vfio_pci_create(struct vfio_device *vdev)
{
	fake_creates++;
	return 0;
}
__attribute__((weak)) void vfio_pci_destroy(struct vfio_device *vdev)
{
	fake_destroys++;
}
__attribute__((weak)) int vfio_pci_open_device(struct vfio_device *vdev)
{
	fake_opens++;
	return 0;
}
__attribute__((weak)) void vfio_pci_close_device(struct vfio_device *vdev)
{
	fake_closes++;
}
__attribute__((weak)) long vfio_pci_ioctl(struct vfio_device *vdev, unsigned long cmd,
					  uint64_t uarg)
{
	fake_last_cmd = cmd;
	return FAKE_PCI_IOCTL_ANSWER;
}
__attribute__((weak)) ssize_t vfio_pci_rw(struct vfio_device *vdev, uint64_t ubuf, size_t count,
					  uint64_t off, bool write)
{
	return (ssize_t)count;
}
__attribute__((weak)) int vfio_pci_mmap(struct vfio_device *vdev, void *addr, size_t len,
					int prot, int flags, uint64_t off, void **out)
{
	return -ENODEV;
}
__attribute__((weak)) void vfio_pci_munmap(struct vfio_device *vdev, void *addr, size_t len)
{
}

/* ---- descriptors standing for opened /dev/iommu or /dev/vfio/vfio */

#define MAX_CTX_FDS 16
static struct {
	int fd;
	struct uiommufd_ctx *ctx;
} ctx_fds[MAX_CTX_FDS];

static struct uiommufd_ctx *test_resolver(int fd)
{
	size_t k;

	for (k = 0; k < MAX_CTX_FDS; k++) {
		if (ctx_fds[k].ctx && ctx_fds[k].fd == fd) {
			uiommufd_ctx_get(ctx_fds[k].ctx);
			return ctx_fds[k].ctx;
		}
	}
	return NULL;
}

/* A context and a real descriptor the resolver maps to it. */
static inline int open_ctx_fd(unsigned int flags, struct uiommufd_ctx **out)
{
	size_t k;
	int fd;

	uiommufd_set_fd_resolver(test_resolver);
	assert_int_equal(uiommufd_ctx_open(uiommufd_host_inproc(), flags, out), 0);
	fd = eventfd(0, EFD_CLOEXEC);
	assert_true(fd >= 0);
	for (k = 0; k < MAX_CTX_FDS && ctx_fds[k].ctx; k++)
		;
	assert_true(k < MAX_CTX_FDS);
	ctx_fds[k].fd = fd;
	ctx_fds[k].ctx = *out;
	return fd;
}

/* As close() of that descriptor: the context loses the fd's reference. */
static inline void close_ctx_fd(int fd)
{
	size_t k;

	for (k = 0; k < MAX_CTX_FDS; k++) {
		if (ctx_fds[k].ctx && ctx_fds[k].fd == fd) {
			uiommufd_ctx_put(ctx_fds[k].ctx);
			ctx_fds[k].ctx = NULL;
		}
	}
	close(fd);
}

/* ---- calls on our fds, as the shim would route them */

static const struct host_anon_ops *const vfio_kinds[] = {
	&vfio_group_fops, &vfio_group_device_fops, &vfio_cdev_fops,
};

static inline struct uiommufd_host *host(void)
{
	return uiommufd_host_inproc();
}

static inline const struct host_anon_ops *fd_kind(int fd, void **priv, struct host_anon **ref)
{
	size_t k;

	for (k = 0; k < sizeof(vfio_kinds) / sizeof(vfio_kinds[0]); k++) {
		*priv = host()->ops->anon_get(host(), fd, vfio_kinds[k], ref);
		if (*priv)
			return vfio_kinds[k];
	}
	return NULL;
}

static inline long vioctl(int fd, unsigned long cmd, const void *arg)
{
	const struct host_anon_ops *ops;
	struct host_anon *ref;
	void *priv;
	long rc;

	ops = fd_kind(fd, &priv, &ref);
	if (!ops)
		return -EBADF;
	rc = ops->ioctl(priv, cmd, (uint64_t)(uintptr_t)arg);
	host()->ops->anon_put(host(), ref);
	return rc;
}

static inline long vioctl_int(int fd, unsigned long cmd, unsigned long arg)
{
	return vioctl(fd, cmd, (const void *)(uintptr_t)arg);
}

static inline ssize_t vrw(int fd, void *buf, size_t count, uint64_t off, bool write)
{
	const struct host_anon_ops *ops;
	struct host_anon *ref;
	void *priv;
	ssize_t rc;

	ops = fd_kind(fd, &priv, &ref);
	if (!ops)
		return -EBADF;
	rc = ops->rw(priv, (uint64_t)(uintptr_t)buf, count, off, write);
	host()->ops->anon_put(host(), ref);
	return rc;
}

static inline int vmmap(int fd, size_t len, void **out)
{
	const struct host_anon_ops *ops;
	struct host_anon *ref;
	void *priv;
	int rc;

	ops = fd_kind(fd, &priv, &ref);
	if (!ops)
		return -EBADF;
	rc = ops->mmap(priv, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0, out);
	host()->ops->anon_put(host(), ref);
	return rc;
}

static inline int vstat(int fd, struct stat *st)
{
	const struct host_anon_ops *ops;
	struct host_anon *ref;
	void *priv;
	int rc;

	ops = fd_kind(fd, &priv, &ref);
	if (!ops)
		return -EBADF;
	rc = ops->stat ? ops->stat(priv, st) : -ENOSYS;
	host()->ops->anon_put(host(), ref);
	return rc;
}

/* close() as the shim reports it. */
static inline void vclose(int fd)
{
	uiommufd_host_inproc_fd_closed(fd);
	close(fd);
}

/* ---- the set */

static inline struct vfio_devset *make_set(const char *spec)
{
	struct vfio_devset *set;
	char err[256];
	int rc;

	rc = vfio_devset_create(host(), spec, &set, err, sizeof(err));
	if (rc)
		print_error("devset '%s': %d %s\n", spec, rc, err);
	assert_int_equal(rc, 0);
	return set;
}

static inline int open_group_of(struct vfio_device *vdev)
{
	char path[64], node[32];

	vfio_group_node_name(vdev->group, node, sizeof(node));
	snprintf(path, sizeof(path), "/dev/vfio/%s", node);
	return vfio_open_path(path, O_RDWR);
}

static inline int open_cdev_of(struct vfio_device *vdev)
{
	char path[64], node[32];

	vfio_device_cdev_name(vdev, node, sizeof(node));
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", node);
	return vfio_open_path(path, O_RDWR);
}

static inline long set_container(int group_fd, int ctx_fd)
{
	int32_t fd = ctx_fd;

	return vioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &fd);
}

/* The device's DMA, as the vfio-pci layer makes it: 0 or a negative errno. */
static inline int vdev_dma(struct uiommufd_ctx *ctx, struct vfio_device *vdev, uint64_t iova,
			   void *buf, size_t len, bool write)
{
	return uiommufd_device_dma(ctx, vdev->dev_id, iova, buf, len,
				   write ? UIOMMUFD_DMA_WRITE : 0);
}

#endif
