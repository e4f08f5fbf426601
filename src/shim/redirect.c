// SPDX-License-Identifier: MIT
/*
 * Path redirection: which /sys paths the private sysfs tree serves.
 *
 * The tree (src/vfio/sysfs.c) holds our devices' directories and, in
 * directories it shares with the machine's sysfs, a link per real entry:
 * the real one's own text when it is a relative symbolic link, an absolute
 * /sys path otherwise.  A /sys path is looked up in the tree one component
 * at a time: a missing component, or one that is a link to an absolute
 * path (a real entry), sends the call to the real path unchanged, so the
 * machine's sysfs answers exactly as before; anything else is the tree's.
 * A relative link ends the walk: the kernel resolves the rest inside the
 * tree, through merged directories that lead back to real entries where
 * the path goes there.
 *
 * A function's config and enable files are rewritten from the device each
 * time a path to them is handed out (vfio_sysfs_refresh()), so an open
 * reads the present state.
 *
 * Only absolute paths are looked at; paths with ".." components go to the
 * real /sys (sysfs's ".." after a link is not the lexical one, and tools
 * do not use them).  Look-ups are raw system calls: the shim's wrappers of
 * lstat() and readlink() must not see them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim/redirect.h"
#include "vfio/vfio.h"

atomic_bool redirect_active;
static char tree_root[PATH_MAX];
static size_t tree_root_len;

void redirect_set_root(const char *root)
{
	if (!root || !*root || strlen(root) >= sizeof(tree_root) - 8) {
		atomic_store_explicit(&redirect_active, false, memory_order_release);
		return;
	}
	memcpy(tree_root, root, strlen(root) + 1);
	tree_root_len = strlen(root);
	atomic_store_explicit(&redirect_active, true, memory_order_release);
}

const char *redirect_root(void)
{
	return atomic_load_explicit(&redirect_active, memory_order_acquire) ? tree_root : NULL;
}

static int raw_lstat(const char *path, struct stat *st)
{
	return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

/* Whether the link at @path points at an absolute path (a real entry). */
static bool link_is_absolute(const char *path)
{
	char c;

	/* The first byte of the text is enough. */
	return syscall(SYS_readlinkat, AT_FDCWD, path, &c, 1) == 1 && c == '/';
}

static bool is_sys_path(const char *path)
{
	return !strncmp(path, "/sys", 4) && (path[4] == '/' || !path[4]);
}

/*
 * A function's "config" and "enable" follow the device (config space, the
 * enable count): the VFIO layer rewrites them before the caller uses the
 * path.  Only those two names are worth the look.
 */
static void refresh_live(const char *tree_path, size_t len)
{
	static const char *const live[] = { "/config", "/enable" };

	for (size_t k = 0; k < sizeof(live) / sizeof(live[0]); k++) {
		size_t n = strlen(live[k]);

		if (len > n && !memcmp(tree_path + len - n, live[k], n)) {
			vfio_sysfs_refresh(tree_path);
			return;
		}
	}
}

const char *redirect_sys(const char *path, char *buf, size_t len)
{
	size_t out, end_of_root;
	const char *p;
	bool trailing;
	int err = errno;

	if (!atomic_load_explicit(&redirect_active, memory_order_acquire) || !path ||
	    !is_sys_path(path) || len < tree_root_len + 2)
		return path;
	/* The tree path, with repeated slashes and "." components dropped. */
	memcpy(buf, tree_root, tree_root_len);
	out = end_of_root = tree_root_len;
	for (p = path; *p;) {
		const char *c;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		for (c = p; *c && *c != '/'; c++)
			;
		n = (size_t)(c - p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return path;
		if (!(n == 1 && p[0] == '.')) {
			if (out + 1 + n + 2 > len)
				return path;
			buf[out++] = '/';
			memcpy(buf + out, p, n);
			out += n;
		}
		p = c;
	}
	trailing = path[strlen(path) - 1] == '/';
	buf[out] = 0;

	/* Walk it: every prefix must be in the tree and not a real entry's link. */
	for (size_t i = end_of_root + 1; i <= out; i++) {
		struct stat st;

		if (i != out && buf[i] != '/')
			continue;
		buf[i] = 0;
		if (raw_lstat(buf, &st)) {
			errno = err;
			return path;
		}
		if (S_ISLNK(st.st_mode)) {
			if (link_is_absolute(buf)) {
				errno = err;
				return path;
			}
			/* Ours: the kernel resolves the rest inside the tree. */
			if (i != out)
				buf[i] = '/';
			break;
		}
		if (i != out)
			buf[i] = '/';
	}
	if (trailing) {
		buf[out++] = '/';
		buf[out] = 0;
	}
	/* Attributes that change while the program runs are brought up to date. */
	refresh_live(buf, out);
	errno = err;
	return buf;
}

bool redirect_unmap(char *path)
{
	if (!atomic_load_explicit(&redirect_active, memory_order_acquire) || !path ||
	    strncmp(path, tree_root, tree_root_len) ||
	    (path[tree_root_len] != '/' && path[tree_root_len]))
		return false;
	memmove(path, path + tree_root_len, strlen(path + tree_root_len) + 1);
	if (!*path) {
		/* The root itself has no /sys name; "/" is where it sits. */
		path[0] = '/';
		path[1] = 0;
	}
	return true;
}

/* A group's node name: "N" or "noiommu-N". */
static bool group_node_name(const char *name)
{
	if (!strncmp(name, "noiommu-", 8))
		name += 8;
	if (!*name)
		return false;
	for (; *name; name++)
		if (*name < '0' || *name > '9')
			return false;
	return true;
}

static bool cdev_node_name(const char *name)
{
	if (strncmp(name, "vfio", 4) || !name[4])
		return false;
	for (name += 4; *name; name++)
		if (*name < '0' || *name > '9')
			return false;
	return true;
}

bool redirect_vfio_node(const char *path)
{
	if (!path || strncmp(path, "/dev/vfio/", 10))
		return false;
	path += 10;
	if (!strncmp(path, "devices/", 8))
		return cdev_node_name(path + 8);
	return group_node_name(path);
}

int redirect_dev_node(const char *path, dev_t *rdev)
{
	char file[PATH_MAX + 64], text[32];
	unsigned int maj, min;
	const char *name;
	int fd, err = errno;
	ssize_t n;

	if (!atomic_load_explicit(&redirect_active, memory_order_acquire) || !path ||
	    strncmp(path, "/dev/vfio/", 10))
		return -ENOENT;
	name = path + 10;
	if (!strcmp(name, "vfio"))
		snprintf(file, sizeof(file), "%s/sys/devices/virtual/misc/vfio/dev", tree_root);
	else if (!strncmp(name, "devices/", 8) && cdev_node_name(name + 8))
		snprintf(file, sizeof(file), "%s/sys/class/vfio-dev/%s/dev", tree_root, name + 8);
	else if (group_node_name(name))
		snprintf(file, sizeof(file), "%s/sys/class/vfio/%s/dev", tree_root, name);
	else
		return -ENOENT;
	fd = (int)syscall(SYS_openat, AT_FDCWD, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errno = err;
		return -ENOENT;
	}
	n = syscall(SYS_read, fd, text, sizeof(text) - 1);
	syscall(SYS_close, fd);
	errno = err;
	if (n <= 0)
		return -ENOENT;
	text[n] = 0;
	if (sscanf(text, "%u:%u", &maj, &min) != 2)
		return -ENOENT;
	*rdev = makedev(maj, min);
	return 0;
}
