// SPDX-License-Identifier: MIT
/*
 * The group file, /dev/vfio/N (or /dev/vfio/noiommu-N): how a program
 * claims a whole IOMMU group, gives it an IOMMU context and opens its
 * devices.  docs/uapi-behaviour.md ("VFIO groups and cdevs") is the
 * specification.
 *
 * Our /dev/vfio/vfio is an iommufd context opened in container mode, as
 * the kernel's is when iommufd provides the container, so SET_CONTAINER
 * takes either node the same way: the context is referenced, and either
 * gets its compat IOAS made or, for a no-IOMMU group, is put in no-IOMMU
 * mode.  Devices bind into the context when their first device fd opens.
 *
 * A group has one open file at a time.  Device fds opened through it keep
 * it in use: the release that happens while they are open only drops the
 * group fd's share, and the last device fd finishes the job (the kernel
 * gets the same from the device file holding the group file).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/iommufd_private.h"
#include "uapi/vfio_group.h"
#include "vfio/vfio_internal.h"

/* GET_DEVICE_FD reads at most a page of name, as strndup_user() does. */
#define NAME_MAX_READ 4096

struct group_file {
	struct vfio_group *group;
};

int vfio_group_create(struct vfio_devset *set, int id, bool noiommu, struct vfio_group **out)
{
	struct vfio_group *group = calloc(1, sizeof(*group));

	if (!group)
		return -ENOMEM;
	group->id = id;
	group->noiommu = noiommu;
	group->set = set;
	*out = group;
	return 0;
}

void vfio_group_destroy(struct vfio_group *group)
{
	if (group && group->ictx)
		uiommufd_ctx_put((struct uiommufd_ctx *)group->ictx);
	free(group);
}

/* Drop the container; set->lock held. */
static void group_unset(struct vfio_group *group)
{
	struct iommufd_ctx *ictx = group->ictx;

	group->ictx = NULL;
	if (ictx)
		uiommufd_ctx_put((struct uiommufd_ctx *)ictx);
}

void vfio_group_file_unuse(struct vfio_group *group)
{
	/* The last user of the group file: it is released now. */
	if (--group->file_users)
		return;
	group_unset(group);
	group->opened = false;
}

static void group_release(void *priv)
{
	struct group_file *gf = priv;
	struct vfio_devset *set = gf->group->set;

	pthread_mutex_lock(&set->lock);
	vfio_group_file_unuse(gf->group);
	pthread_mutex_unlock(&set->lock);
	free(gf);
}

/* ---- VFIO_GROUP_GET_STATUS */

static long group_get_status(struct vfio_group *group, uint64_t uarg)
{
	const size_t minsz = offsetof(struct vfio_group_status, flags) + sizeof(uint32_t);
	struct uiommufd_host *host = group->set->host;
	struct vfio_group_status status;

	if (copy_from_user(host, &status, uarg, minsz))
		return -EFAULT;
	if (status.argsz < minsz)
		return -EINVAL;
	/*
	 * Viable: nothing outside VFIO owns DMA of a member.  A member bound
	 * through its cdev cannot coexist with this open file, so every group
	 * we can be asked about is viable.
	 */
	pthread_mutex_lock(&group->set->lock);
	status.flags = VFIO_GROUP_FLAGS_VIABLE;
	if (group->ictx)
		status.flags |= VFIO_GROUP_FLAGS_CONTAINER_SET;
	pthread_mutex_unlock(&group->set->lock);
	return copy_to_user(host, uarg, &status, minsz) ? -EFAULT : 0;
}

/* ---- VFIO_GROUP_SET_CONTAINER / UNSET_CONTAINER */

static long group_set_container(struct vfio_group *group, uint64_t uarg)
{
	struct uiommufd_host *host = group->set->host;
	struct uiommufd_ctx *uctx = NULL;
	struct iommufd_ctx *ictx;
	struct host_file *probe;
	int32_t fd;
	long rc;

	if (copy_from_user(host, &fd, uarg, sizeof(fd)))
		return -EFAULT;
	/* A descriptor that is not open at all, before anything else. */
	rc = host->ops->file_get(host, fd, &probe);
	if (rc)
		return rc;
	host->ops->file_put(host, probe);

	pthread_mutex_lock(&group->set->lock);
	if (group->ictx) {
		rc = -EINVAL;
		goto out_unlock;
	}
	uctx = vfio_ctx_from_fd(fd);
	if (!uctx) {
		/* Open, but neither a container nor an iommufd. */
		rc = -EBADFD;
		goto out_unlock;
	}
	ictx = (struct iommufd_ctx *)uctx;
	pthread_mutex_lock(&ictx->lock);
	rc = group->noiommu ? iommufd_vfio_compat_set_no_iommu(ictx)
			    : iommufd_vfio_compat_ioas_create(ictx);
	pthread_mutex_unlock(&ictx->lock);
	if (rc)
		goto out_put;
	group->ictx = ictx;	/* keeps the resolver's reference */
	uctx = NULL;
out_put:
	if (uctx)
		uiommufd_ctx_put(uctx);
out_unlock:
	pthread_mutex_unlock(&group->set->lock);
	return rc;
}

/*
 * Our containers are all iommufd contexts, so there is no busy rule here:
 * the kernel refuses only its legacy container while devices are open.
 * An open device keeps its own binding and reference to the context.
 */
static long group_unset_container(struct vfio_group *group)
{
	long rc = 0;

	pthread_mutex_lock(&group->set->lock);
	if (group->ictx)
		group_unset(group);
	else
		rc = -EINVAL;
	pthread_mutex_unlock(&group->set->lock);
	return rc;
}

/* ---- VFIO_GROUP_GET_DEVICE_FD */

/*
 * The NUL-terminated name at @uarg, at most a page: EFAULT when it cannot
 * be read, EINVAL when it has no end within the page.  Read in aligned
 * steps so the bytes before an unmapped page are still seen.
 */
static int read_name(struct uiommufd_host *host, uint64_t uarg, char *out, size_t room)
{
	size_t got = 0;

	while (got < NAME_MAX_READ) {
		size_t step = 64 - (size_t)((uarg + got) % 64);
		char chunk[64];
		size_t k;

		if (step > NAME_MAX_READ - got)
			step = NAME_MAX_READ - got;
		if (copy_from_user(host, chunk, uarg + got, step))
			return -EFAULT;
		for (k = 0; k < step; k++) {
			if (got + k < room)
				out[got + k] = chunk[k];
			if (!chunk[k]) {
				if (got + k >= room)
					out[room - 1] = 0;	/* longer than any name: no match */
				return 0;
			}
		}
		got += step;
	}
	return -EINVAL;
}

/* Whether @s starts with a UUID in its 36-character text form. */
static bool uuid_text(const char *s)
{
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/*
 * vfio-pci's reading of a GET_DEVICE_FD name against member @vdev: 1 when
 * it names @vdev, 0 when not, or a negative errno that ends the search.
 * After the BDF come only spaces and at most one "vf_token=UUID"; a token
 * is refused since our functions are neither SR-IOV PFs nor VFs.
 */
static int name_matches(const struct vfio_device *vdev, const char *name)
{
	size_t len = strlen(vdev->name);
	const char *opt;
	bool token = false;

	if (strncmp(name, vdev->name, len))
		return 0;
	opt = name + len;
	if (*opt && *opt != ' ')
		return 0;
	while (*opt) {
		if (*opt == ' ') {
			opt++;
			continue;
		}
		if (token || strncmp(opt, "vf_token=", 9))
			return -EINVAL;
		opt += 9;
		if (strlen(opt) < 36 || !uuid_text(opt))
			return -EINVAL;
		opt += 36;
		token = true;
	}
	return token ? -EINVAL : 1;
}

static long group_get_device_fd(struct vfio_group *group, uint64_t uarg)
{
	struct vfio_devset *set = group->set;
	struct vfio_device_file *df;
	struct vfio_device *vdev = NULL;
	char name[NAME_MAX_READ];
	size_t k;
	int fd, rc;

	rc = read_name(set->host, uarg, name, sizeof(name));
	if (rc)
		return rc;
	for (k = 0; k < group->nr_devices && !vdev; k++) {
		rc = name_matches(group->devices[k], name);
		if (rc < 0)
			return rc;
		if (rc)
			vdev = group->devices[k];
	}
	if (!vdev)
		return -ENODEV;
	df = calloc(1, sizeof(*df));
	if (!df)
		return -ENOMEM;
	df->vdev = vdev;
	df->group = group;

	pthread_mutex_lock(&set->lock);
	rc = vfio_device_group_open(vdev, group);
	if (rc)
		goto err_unlock;
	df->access_granted = true;
	group->file_users++;
	pthread_mutex_unlock(&set->lock);

	/* Device fds are close-on-exec, as the kernel makes them. */
	fd = set->host->ops->anon_fd(set->host, &vfio_group_device_fops, df, O_CLOEXEC);
	if (fd < 0) {
		pthread_mutex_lock(&set->lock);
		vfio_device_group_close(vdev);
		vfio_group_file_unuse(group);
		pthread_mutex_unlock(&set->lock);
		free(df);
	}
	return fd;

err_unlock:
	pthread_mutex_unlock(&set->lock);
	free(df);
	return rc;
}

/* ---- the file */

static long group_ioctl(void *priv, unsigned long cmd, uint64_t uarg)
{
	struct group_file *gf = priv;

	switch ((unsigned int)cmd) {
	case VFIO_GROUP_GET_DEVICE_FD:
		return group_get_device_fd(gf->group, uarg);
	case VFIO_GROUP_GET_STATUS:
		return group_get_status(gf->group, uarg);
	case VFIO_GROUP_SET_CONTAINER:
		return group_set_container(gf->group, uarg);
	case VFIO_GROUP_UNSET_CONTAINER:
		return group_unset_container(gf->group);
	default:
		return -ENOTTY;
	}
}

static int group_stat(void *priv, struct stat *st)
{
	struct group_file *gf = priv;

	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0600;
	st->st_rdev = makedev(VFIO_GROUP_MAJOR, (unsigned int)gf->group->id);
	st->st_nlink = 1;
	st->st_blksize = 4096;
	return 0;
}

const struct host_anon_ops vfio_group_fops = {
	.name = "vfio-group",
	.release = group_release,
	.ioctl = group_ioctl,
	.stat = group_stat,
};

int vfio_group_open(struct vfio_group *group, int oflags)
{
	struct vfio_devset *set = group->set;
	struct group_file *gf = calloc(1, sizeof(*gf));
	int fd, rc = 0;

	if (!gf)
		return -ENOMEM;
	gf->group = group;
	pthread_mutex_lock(&set->lock);
	/* Unprotected DMA is raw I/O; then one open at a time, none beside a cdev bind. */
	if (group->noiommu && !set->host->ops->capable(set->host, HOST_CAP_SYS_RAWIO))
		rc = -EPERM;
	else if (group->opened || group->cdev_binds)
		rc = -EBUSY;
	else {
		group->opened = true;
		group->file_users = 1;
	}
	pthread_mutex_unlock(&set->lock);
	if (rc) {
		free(gf);
		return rc;
	}
	fd = set->host->ops->anon_fd(set->host, &vfio_group_fops, gf,
				     oflags & (O_CLOEXEC | O_NONBLOCK));
	if (fd < 0) {
		pthread_mutex_lock(&set->lock);
		vfio_group_file_unuse(group);
		pthread_mutex_unlock(&set->lock);
		free(gf);
	}
	return fd;
}

struct vfio_group *vfio_group_from_fd(int fd)
{
	struct vfio_devset *set = vfio_devset_current();
	struct vfio_group *group = NULL;
	struct host_anon *ref;
	struct group_file *gf;

	if (!set)
		return NULL;
	gf = set->host->ops->anon_get(set->host, fd, &vfio_group_fops, &ref);
	if (!gf)
		return NULL;
	/* Groups live as long as their set: the pointer outlives the file. */
	if (gf->group->set == set)
		group = gf->group;
	set->host->ops->anon_put(set->host, ref);
	return group;
}
