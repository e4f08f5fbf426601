// SPDX-License-Identifier: MIT
/*
 * The device set: the emulated PCI functions a process has, made from a
 * --device list ("ioat,bdf=0000:01:00.0;ioat,group=3;ioat,noiommu").
 *
 * Made in two passes so a bad list changes nothing: every entry is parsed
 * and checked first (model known, address well formed and free, group
 * joins consistent), then addresses, groups and cdev minors are handed
 * out and the devices are built.  Entries without bdf= take the free
 * slots of bus 01 in order, after the explicit addresses are placed.
 * Entries without group= get a group of their own, numbered from 0 and
 * skipping the numbers group= entries use and those the machine's own
 * /sys/kernel/iommu_groups has, so the merged sysfs tree stays unique.
 *
 * The first set made is the process's current one: the one whose nodes
 * vfio_open_path() opens.  Each device sits behind the mock IOMMU driver
 * (src/iommu/mock), which gives it real paging domains in the src/pt formats.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/iommufd_private.h"
#include "devices/model.h"
#include "uapi/iommufd_test.h"
#include "vfio/vfio_internal.h"

static struct vfio_devset *_Atomic current_set;
static struct uiommufd_ctx *(*fd_resolver)(int fd);

/* --------------------------------------------------------------- parsing */

static void say(char *err, size_t errlen, const char *fmt, const char *entry, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, entry, what);
}

/* "DDDD:BB:DD.F" or "BB:DD.F" (domain 0), hex, as lspci and sysfs write them. */
static bool parse_bdf(const char *s, struct vfio_dev_spec *spec)
{
	unsigned int dom = 0, bus, slot, func;
	int used = 0;

	if (sscanf(s, "%4x:%2x:%2x.%1u%n", &dom, &bus, &slot, &func, &used) != 4 || s[used]) {
		dom = 0;
		used = 0;
		if (sscanf(s, "%2x:%2x.%1u%n", &bus, &slot, &func, &used) != 3 || s[used])
			return false;
	}
	if (slot > 31 || func > 7)
		return false;
	spec->domain = dom;
	spec->bus = (uint8_t)bus;
	spec->slot = (uint8_t)slot;
	spec->func = (uint8_t)func;
	return true;
}

static bool parse_group(const char *s, int *id)
{
	char *end;
	long v;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 65535)
		return false;
	*id = (int)v;
	return true;
}

/* The options the model gets: the keys we do not consume, comma separated. */
static bool add_model_opt(struct vfio_dev_spec *spec, const char *opt)
{
	size_t have = strlen(spec->model_opts), add = strlen(opt);

	if (have + add + 2 > sizeof(spec->model_opts))
		return false;
	if (have)
		spec->model_opts[have++] = ',';
	memcpy(spec->model_opts + have, opt, add + 1);
	return true;
}

/*
 * One entry into @spec.  @has_bdf says whether bdf= was given.  Messages
 * name the entry as the user wrote it and say what to do.
 */
static int parse_entry(char *entry, struct vfio_dev_spec *spec, bool *has_bdf, char *err,
		       size_t errlen)
{
	char copy[256], *save = NULL, *tok;

	snprintf(copy, sizeof(copy), "%s", entry);
	memset(spec, 0, sizeof(*spec));
	spec->group = -1;
	*has_bdf = false;
	tok = strtok_r(entry, ",", &save);
	if (!tok) {
		say(err, errlen, "--device '%s': empty entry%s; give a model name, e.g. ioat",
		    copy, "");
		return -EINVAL;
	}
	spec->type = devmodel_find(tok);
	if (!spec->type) {
		say(err, errlen, "--device '%s': unknown model '%s'; `uiommufd run --help` lists the models",
		    copy, tok);
		return -EINVAL;
	}
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (!strncmp(tok, "bdf=", 4)) {
			if (!parse_bdf(tok + 4, spec)) {
				say(err, errlen,
				    "--device '%s': bad address '%s'; write it as DDDD:BB:DD.F, e.g. bdf=0000:01:00.0",
				    copy, tok + 4);
				return -EINVAL;
			}
			*has_bdf = true;
		} else if (!strncmp(tok, "group=", 6)) {
			if (!parse_group(tok + 6, &spec->group)) {
				say(err, errlen,
				    "--device '%s': bad group '%s'; give a number from 0 to 65535",
				    copy, tok + 6);
				return -EINVAL;
			}
		} else if (!strcmp(tok, "noiommu")) {
			spec->noiommu = true;
		} else if (!add_model_opt(spec, tok)) {
			say(err, errlen, "--device '%s': options too long at '%s'", copy, tok);
			return -EINVAL;
		}
	}
	return 0;
}

static bool same_addr(const struct vfio_dev_spec *a, const struct vfio_dev_spec *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->slot == b->slot &&
	       a->func == b->func;
}

static bool id_taken(const int *ids, size_t n, int id)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (ids[k] == id)
			return true;
	return false;
}

/* A number the machine itself uses for an IOMMU group. */
static bool machine_has_group(int id)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d", id);
	return access(path, F_OK) == 0;
}

/*
 * Parse the whole list into @specs (room for VFIO_MAX_DEVICES), give
 * every entry its address and group, and check the set is consistent.
 */
static int parse_list(const char *list, struct vfio_dev_spec *specs, size_t *count, char *err,
		      size_t errlen)
{
	bool has_bdf[VFIO_MAX_DEVICES];
	int used_ids[VFIO_MAX_DEVICES];
	size_t n = 0, nids = 0, k, j;
	char *dup, *save = NULL, *entry;
	int next_id = 0, rc = 0;
	unsigned int slot = 0;

	if (err && errlen)
		err[0] = 0;
	if (!list)
		list = "";
	dup = strdup(list);
	if (!dup)
		return -ENOMEM;
	for (entry = strtok_r(dup, ";", &save); entry; entry = strtok_r(NULL, ";", &save)) {
		if (n == VFIO_MAX_DEVICES) {
			say(err, errlen, "--device '%s': more than %s devices", entry, "32");
			rc = -EINVAL;
			goto out_free;
		}
		rc = parse_entry(entry, &specs[n], &has_bdf[n], err, errlen);
		if (rc)
			goto out_free;
		n++;
	}
	/* Explicit addresses first, then the free slots of bus 01. */
	for (k = 0; k < n; k++) {
		for (j = 0; j < k; j++) {
			if (has_bdf[k] && has_bdf[j] && same_addr(&specs[k], &specs[j])) {
				char name[16];

				snprintf(name, sizeof(name), "%04x:%02x:%02x.%u", specs[k].domain,
					 specs[k].bus, specs[k].slot, specs[k].func);
				say(err, errlen, "--device: address %s is given twice%s; give each device its own bdf=",
				    name, "");
				rc = -EEXIST;
				goto out_free;
			}
		}
	}
	for (k = 0; k < n; k++) {
		struct vfio_dev_spec probe = { .bus = 1 };
		bool clash = true;

		if (has_bdf[k])
			continue;
		while (clash && slot < 32) {
			probe.slot = (uint8_t)slot++;
			clash = false;
			for (j = 0; j < n && !clash; j++)
				clash = has_bdf[j] && same_addr(&probe, &specs[j]);
		}
		if (clash) {
			say(err, errlen, "--device: bus 01 is full%s%s; give the others bdf= on another bus",
			    "", "");
			rc = -EINVAL;
			goto out_free;
		}
		specs[k].domain = 0;
		specs[k].bus = 1;
		specs[k].slot = probe.slot;
		specs[k].func = 0;
	}
	/* A group is either translated or not, never both. */
	for (k = 0; k < n; k++) {
		if (specs[k].group < 0)
			continue;
		for (j = 0; j < k; j++) {
			if (specs[j].group == specs[k].group && specs[j].noiommu != specs[k].noiommu) {
				char gid[16];

				snprintf(gid, sizeof(gid), "%d", specs[k].group);
				say(err, errlen,
				    "--device: group %s has both noiommu and IOMMU devices%s; put them in different groups",
				    gid, "");
				rc = -EINVAL;
				goto out_free;
			}
		}
		if (!id_taken(used_ids, nids, specs[k].group))
			used_ids[nids++] = specs[k].group;
	}
	for (k = 0; k < n; k++) {
		if (specs[k].group >= 0)
			continue;
		while (id_taken(used_ids, nids, next_id) || machine_has_group(next_id))
			next_id++;
		specs[k].group = next_id;
		used_ids[nids++] = next_id;
	}
	*count = n;
out_free:
	free(dup);
	return rc;
}

int vfio_devset_validate(const char *spec_list, char *err, size_t errlen)
{
	struct vfio_dev_spec *specs = calloc(VFIO_MAX_DEVICES, sizeof(*specs));
	size_t n = 0;
	int rc;

	if (!specs)
		return -ENOMEM;
	rc = parse_list(spec_list, specs, &n, err, errlen);
	free(specs);
	return rc;
}

/* ------------------------------------------------------------- the set */

static struct vfio_group *find_group(struct vfio_devset *set, int id)
{
	size_t k;

	for (k = 0; k < set->nr_groups; k++)
		if (set->groups[k]->id == id)
			return set->groups[k];
	return NULL;
}

static void device_free(struct vfio_device *vdev)
{
	iommufd_mock_dev_uninit(&vdev->dev);
	pthread_mutex_destroy(&vdev->lock);
	free(vdev);
}

/* The device of @spec in @group: its identity, its IOMMU, its vfio-pci state. */
static int device_create(struct vfio_devset *set, const struct vfio_dev_spec *spec,
			 struct vfio_group *group, unsigned int minor, struct vfio_device **out)
{
	struct vfio_device *vdev = calloc(1, sizeof(*vdev));
	int rc;

	if (!vdev)
		return -ENOMEM;
	vdev->spec = *spec;
	vdev->set = set;
	vdev->group = group;
	vdev->cdev_minor = minor;
	snprintf(vdev->name, sizeof(vdev->name), "%04x:%02x:%02x.%u", spec->domain, spec->bus,
		 spec->slot, spec->func);
	pthread_mutex_init(&vdev->lock, NULL);
	/* PASID capable, dirty tracking capable: what the cdev uAPI can exercise. */
	rc = iommufd_mock_dev_init(&vdev->dev, set->host, MOCK_FLAGS_DEVICE_PASID);
	if (rc)
		goto err_free;
	snprintf(vdev->dev.name, sizeof(vdev->dev.name), "%s", vdev->name);
	rc = vfio_pci_create(vdev);
	if (rc)
		goto err_uninit;
	*out = vdev;
	return 0;

err_uninit:
	iommufd_mock_dev_uninit(&vdev->dev);
err_free:
	pthread_mutex_destroy(&vdev->lock);
	free(vdev);
	return rc;
}

void vfio_devset_destroy(struct vfio_devset *set)
{
	struct vfio_devset *expected = set;
	size_t k;

	if (!set)
		return;
	atomic_compare_exchange_strong(&current_set, &expected, NULL);
	for (k = set->nr_devices; k-- > 0;) {
		vfio_pci_destroy(set->devices[k]);
		device_free(set->devices[k]);
	}
	for (k = 0; k < set->nr_groups; k++)
		vfio_group_destroy(set->groups[k]);
	pthread_mutex_destroy(&set->lock);
	free(set);
}

int vfio_devset_create(struct uiommufd_host *host, const char *spec_list,
		       struct vfio_devset **out, char *err, size_t errlen)
{
	struct vfio_dev_spec *specs;
	struct vfio_devset *set;
	struct vfio_devset *none = NULL;
	size_t n = 0, k;
	int rc;

	specs = calloc(VFIO_MAX_DEVICES, sizeof(*specs));
	if (!specs)
		return -ENOMEM;
	rc = parse_list(spec_list, specs, &n, err, errlen);
	if (rc)
		goto out_specs;
	set = calloc(1, sizeof(*set));
	if (!set) {
		rc = -ENOMEM;
		goto out_specs;
	}
	set->host = host;
	pthread_mutex_init(&set->lock, NULL);
	for (k = 0; k < n; k++) {
		struct vfio_group *group = find_group(set, specs[k].group);
		struct vfio_device *vdev;

		if (!group) {
			rc = vfio_group_create(set, specs[k].group, specs[k].noiommu, &group);
			if (rc)
				goto err_destroy;
			set->groups[set->nr_groups++] = group;
		}
		rc = device_create(set, &specs[k], group, (unsigned int)k, &vdev);
		if (rc) {
			char name[16];

			snprintf(name, sizeof(name), "%04x:%02x:%02x.%u", specs[k].domain,
				 specs[k].bus, specs[k].slot, specs[k].func);
			say(err, errlen, "--device %s: cannot create the device (%s); see the message above",
			    name, strerror(-rc));
			goto err_destroy;
		}
		group->devices[group->nr_devices++] = vdev;
		set->devices[set->nr_devices++] = vdev;
		if (specs[k].noiommu)
			__atomic_store_n(&iommufd_vfio_noiommu_enabled, true, __ATOMIC_RELAXED);
	}
	atomic_compare_exchange_strong(&current_set, &none, set);
	*out = set;
	rc = 0;
	goto out_specs;

err_destroy:
	vfio_devset_destroy(set);
out_specs:
	free(specs);
	return rc;
}

size_t vfio_devset_count(const struct vfio_devset *set)
{
	return set ? set->nr_devices : 0;
}

struct vfio_device *vfio_devset_device(struct vfio_devset *set, size_t i)
{
	return set && i < set->nr_devices ? set->devices[i] : NULL;
}

struct vfio_device *vfio_devset_device_by_name(struct vfio_devset *set, const char *name)
{
	size_t k;

	for (k = 0; set && k < set->nr_devices; k++)
		if (!strcmp(set->devices[k]->name, name))
			return set->devices[k];
	return NULL;
}

struct vfio_group *vfio_devset_group_by_id(struct vfio_devset *set, int id)
{
	return set ? find_group(set, id) : NULL;
}

struct vfio_devset *vfio_devset_current(void)
{
	return atomic_load(&current_set);
}

int vfio_group_id(const struct vfio_group *group)
{
	return group->id;
}

bool vfio_group_is_noiommu(const struct vfio_group *group)
{
	return group->noiommu;
}

void vfio_group_node_name(const struct vfio_group *group, char *buf, size_t len)
{
	snprintf(buf, len, "%s%d", group->noiommu ? "noiommu-" : "", group->id);
}

void vfio_device_cdev_name(const struct vfio_device *vdev, char *buf, size_t len)
{
	/*
	 * Mainline names every device cdev vfioX, no-IOMMU ones too (the
	 * out-of-tree no-IOMMU cdev series calls them noiommu-vfioX).
	 */
	snprintf(buf, len, "vfio%u", vdev->cdev_minor);
}

/* --------------------------------------------------------- opening nodes */

/* @s is a decimal number without sign or leading zero; *@v gets it. */
static bool node_number(const char *s, unsigned int *v)
{
	char *end;
	unsigned long n;

	if (!*s || *s < '0' || *s > '9' || (s[0] == '0' && s[1]))
		return false;
	n = strtoul(s, &end, 10);
	if (*end || n > 0xfffff)
		return false;
	*v = (unsigned int)n;
	return true;
}

/*
 * Which of our nodes @path names: a group (*@group) or a cdev (*@vdev);
 * -ENOENT when none.  A no-IOMMU group has only its noiommu- name, a
 * translated one only its number.
 */
static int node_lookup(const char *path, struct vfio_group **group, struct vfio_device **vdev)
{
	struct vfio_devset *set = vfio_devset_current();
	const char *rest;
	unsigned int num;
	bool noiommu;
	size_t k;

	*group = NULL;
	*vdev = NULL;
	if (!set || !path || strncmp(path, "/dev/vfio/", 10))
		return -ENOENT;
	rest = path + 10;
	if (!strncmp(rest, "devices/", 8)) {
		char want[32];

		for (k = 0; k < set->nr_devices; k++) {
			vfio_device_cdev_name(set->devices[k], want, sizeof(want));
			if (!strcmp(rest + 8, want)) {
				*vdev = set->devices[k];
				return 0;
			}
		}
		return -ENOENT;
	}
	noiommu = !strncmp(rest, "noiommu-", 8);
	if (!node_number(noiommu ? rest + 8 : rest, &num))
		return -ENOENT;
	for (k = 0; k < set->nr_groups; k++) {
		if ((unsigned int)set->groups[k]->id == num && set->groups[k]->noiommu == noiommu) {
			*group = set->groups[k];
			return 0;
		}
	}
	return -ENOENT;
}

int vfio_open_path(const char *path, int oflags)
{
	struct vfio_device *vdev;
	struct vfio_group *group;
	int rc = node_lookup(path, &group, &vdev);

	if (rc)
		return rc;
	return group ? vfio_group_open(group, oflags) : vfio_device_cdev_open(vdev, oflags);
}

int vfio_stat_path(const char *path, struct stat *st)
{
	struct vfio_device *vdev;
	struct vfio_group *group;
	int rc = node_lookup(path, &group, &vdev);

	if (rc)
		return rc;
	memset(st, 0, sizeof(*st));
	/* As udev creates VFIO nodes: root's, character devices, mode 0600. */
	st->st_mode = S_IFCHR | 0600;
	st->st_nlink = 1;
	st->st_blksize = 4096;
	st->st_rdev = group ? makedev(VFIO_GROUP_MAJOR, (unsigned int)group->id)
			    : makedev(VFIO_CDEV_MAJOR, vdev->cdev_minor);
	return 0;
}

/* ----------------------------------------------------- contexts by fd */

struct uiommufd_ctx *vfio_ctx_from_fd(int fd)
{
	struct uiommufd_ctx *(*fn)(int) = __atomic_load_n(&fd_resolver, __ATOMIC_ACQUIRE);

	return fn && fd >= 0 ? fn(fd) : NULL;
}

/* ---------------------------------------------------------- public API */

UIOMMUFD_API void uiommufd_set_fd_resolver(struct uiommufd_ctx *(*fn)(int fd))
{
	__atomic_store_n(&fd_resolver, fn, __ATOMIC_RELEASE);
}

UIOMMUFD_API int uiommufd_devset_create(struct uiommufd_host *host, const char *spec,
					struct uiommufd_devset **out, char *err, size_t errlen)
{
	struct vfio_devset *set;
	int rc;

	if (!host || !out)
		return -EINVAL;
	rc = vfio_devset_create(host, spec, &set, err, errlen);
	if (!rc)
		*out = (struct uiommufd_devset *)set;
	return rc;
}

UIOMMUFD_API void uiommufd_devset_destroy(struct uiommufd_devset *set)
{
	vfio_devset_destroy((struct vfio_devset *)set);
}

UIOMMUFD_API int uiommufd_vfio_open(const char *path, int oflags)
{
	return vfio_open_path(path, oflags);
}
