/* SPDX-License-Identifier: MIT */
/*
 * Path redirection into the private sysfs tree (redirect.c): which /sys
 * paths the tree serves, tree paths back to /sys paths, and the device
 * numbers of our /dev/vfio nodes.  Everything here uses raw system calls,
 * so the shim's own wrappers never see its look-ups.
 */
#ifndef UIOMMUFD_SHIM_REDIRECT_H
#define UIOMMUFD_SHIM_REDIRECT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

/* Set once the tree exists; NULL (or never) while there is none. */
void redirect_set_root(const char *root);
/* The tree's root directory, or NULL. */
const char *redirect_root(void);

extern __attribute__((visibility("hidden"))) atomic_bool redirect_active;

/* The cheap test every path call makes: a tree exists and @path is under /sys or /dev/vfio. */
static inline bool redirect_maybe(const char *path)
{
	return atomic_load_explicit(&redirect_active, memory_order_acquire) && path &&
	       path[0] == '/' &&
	       ((path[1] == 's' && path[2] == 'y' && path[3] == 's' &&
		 (path[4] == '/' || !path[4])) ||
		!strncmp(path, "/dev/vfio", 9));
}

/*
 * Where a call on @path should go: the tree's path (written to @buf) when
 * the tree serves it, else @path itself.
 */
const char *redirect_sys(const char *path, char *buf, size_t len);
/* A path inside the tree back to its /sys form, in place; true if it was one. */
bool redirect_unmap(char *path);
/*
 * The device number of @path if it is one of our VFIO nodes
 * (/dev/vfio/N, /dev/vfio/noiommu-N, /dev/vfio/devices/vfioX,
 * /dev/vfio/vfio), as the tree's "dev" file gives it: 0, or -ENOENT.
 */
int redirect_dev_node(const char *path, dev_t *rdev);
/* Whether @path names a /dev/vfio node other than the container. */
bool redirect_vfio_node(const char *path);

#endif
