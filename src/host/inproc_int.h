/* SPDX-License-Identifier: MIT */
/* Between the in-process host's files (inproc*.c); nothing else includes it. */
#ifndef UIOMMUFD_HOST_INPROC_INT_H
#define UIOMMUFD_HOST_INPROC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/host.h"

/*
 * User access (inproc_uaccess.c).  inproc_guarded_copy() copies @len
 * bytes, one side of them the user's at @uptr (the destination if
 * @write), and returns -EFAULT where the kernel's copy would fault.
 * inproc_uaccess_range_ok(): @uptr and @len stay inside the user space.
 */
int inproc_guarded_copy(void *dst, const void *src, size_t len, uint64_t uptr, bool write);
bool inproc_uaccess_range_ok(uint64_t uptr, size_t len);
int inproc_copy_from_user(struct uiommufd_host *host, void *dst, uint64_t uptr, size_t len);
int inproc_copy_to_user(struct uiommufd_host *host, uint64_t uptr, const void *src, size_t len);

/* Which file a shared page belongs to, as /proc/self/maps and fstat() tell. */
struct file_key {
	uint32_t major, minor;
	uint64_t ino;
};

/* One VMA of the program's (inproc_vma.c). */
struct vma_info {
	uint64_t start, end;
	uint64_t offset;	/* into the file */
	struct file_key key;
	bool read, write, shared;
};

/* MAP_SHARED of a file or shmem: its pages are the file's. */
static inline bool vma_file_shared(const struct vma_info *v)
{
	return v->shared && (v->key.ino || v->key.major || v->key.minor);
}

/* The VMA mapped at @addr now: -EFAULT if none. */
int inproc_vma_at(uint64_t addr, struct vma_info *v);
/*
 * The VMAs of [start, end) in a malloc'ed array: every page must be
 * mapped, readable, and writable for a writable pin (EFAULT otherwise),
 * as get_user_pages() demands.  With @any, whatever VMAs meet the range,
 * holes and all.
 */
int inproc_user_vmas(uint64_t start, uint64_t end, bool writable, bool any,
		     struct vma_info **out, size_t *nr_out);

/* mmap(2) without the shim's wrapper, which would come back to us (inproc.c). */
void *inproc_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

/*
 * Anon files (inproc_anon.c): the host ops of that name, and a count
 * moved on by every close and dup the shim reports, for the kept
 * /proc/self/maps descriptor.
 */
int inproc_anon_fd_file(struct uiommufd_host *host, const struct host_anon_ops *ops, void *priv,
			int flags, struct host_anon **file);
int inproc_anon_fd(struct uiommufd_host *host, const struct host_anon_ops *ops, void *priv,
		   int flags);
void inproc_anon_set_readable(struct uiommufd_host *host, struct host_anon *a, bool readable);
void *inproc_anon_get(struct uiommufd_host *host, int fd, const struct host_anon_ops *ops,
		      struct host_anon **ref);
void inproc_anon_put(struct uiommufd_host *host, struct host_anon *ref);
void inproc_anon_withdraw(struct uiommufd_host *host, int fd);
unsigned long inproc_fd_event_gen(void);

#endif
