/* SPDX-License-Identifier: MIT */
/*
 * The host interface: everything the core needs from outside the "kernel".
 *
 * The core never dereferences a user pointer, never opens a file and never
 * asks the operating system about limits or privileges itself.  It goes
 * through these operations, which play the roles of copy_from_user(),
 * pin_user_pages(), fget(), capable() and the locked_vm accounting in the
 * kernel.  The in-process host (src/host/inproc.c) serves a program that
 * the library lives in; a server host that serves other processes
 * implements the same operations over their memory and files, and the core
 * does not change.
 *
 * User addresses are u64 values in the host's address space.  Pins and
 * files are opaque to the core.  Every operation returns 0 or a negative
 * errno.
 */
#ifndef UIOMMUFD_CORE_HOST_H
#define UIOMMUFD_CORE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uiommufd_host;
struct host_pin;
struct host_file;

/* The kernel's RLIMIT_MEMLOCK accounting modes (pages.c). */
enum host_account_mode {
	HOST_ACCOUNT_NONE,
	HOST_ACCOUNT_USER, /* per user, as io_uring does */
	HOST_ACCOUNT_MM,   /* per process, as VFIO type1 does */
};

enum host_cap {
	HOST_CAP_IPC_LOCK,
	HOST_CAP_SYS_RESOURCE,
};

struct host_ops {
	/* Copy between the core and user memory; -EFAULT on a bad address. */
	int (*copy_from_user)(struct uiommufd_host *host, void *dst, uint64_t uptr,
			      size_t len);
	int (*copy_to_user)(struct uiommufd_host *host, uint64_t uptr, const void *src,
			    size_t len);

	/*
	 * Pin [uptr, uptr + len) of user memory, both page aligned.  The
	 * whole range must be mapped (else -EFAULT, nothing pinned) and, if
	 * @writable, writable.  While the pin lives its pages stay reachable
	 * through host_pin_kaddr() whatever the program does to its mapping.
	 */
	int (*pin_user)(struct uiommufd_host *host, uint64_t uptr, size_t len, bool writable,
			struct host_pin **out);
	/* Pin [offset, offset + len) of a file, both page aligned. */
	int (*pin_file)(struct uiommufd_host *host, struct host_file *file, uint64_t offset,
			size_t len, bool writable, struct host_pin **out);
	/*
	 * Split a pin at @offset bytes (page aligned, inside it): @pin keeps
	 * the front, *@out gets the back.  Lets the core release part of a
	 * pinned run.
	 */
	int (*pin_split)(struct uiommufd_host *host, struct host_pin *pin, size_t offset,
			 struct host_pin **out);
	void (*unpin)(struct uiommufd_host *host, struct host_pin *pin);
	/* Where the core reaches byte @offset of a pin right now (to its page end). */
	void *(*pin_kaddr)(struct uiommufd_host *host, struct host_pin *pin, size_t offset);
	/* Pins held on the page at @uaddr (the page's pin references). */
	long (*page_pins)(struct uiommufd_host *host, uint64_t uaddr);

	/* Take a reference on the file behind @fd; -EBADF if there is none. */
	int (*file_get)(struct uiommufd_host *host, int fd, struct host_file **out);
	void (*file_put)(struct uiommufd_host *host, struct host_file *file);
	/* The file's current size in bytes, or a negative errno. */
	int64_t (*file_size)(struct uiommufd_host *host, struct host_file *file);

	/*
	 * Charge (@npages > 0) or uncharge (< 0) locked memory in @mode
	 * against RLIMIT_MEMLOCK; -ENOMEM past the limit, nothing charged.
	 */
	int (*account)(struct uiommufd_host *host, enum host_account_mode mode, long npages);
	/* Whether the calling task holds @cap in its effective set. */
	bool (*capable)(struct uiommufd_host *host, enum host_cap cap);
};

struct uiommufd_host {
	const struct host_ops *ops;
	size_t page_size;
};

static inline int copy_from_user(struct uiommufd_host *host, void *dst, uint64_t uptr,
				 size_t len)
{
	return host->ops->copy_from_user(host, dst, uptr, len);
}

static inline int copy_to_user(struct uiommufd_host *host, uint64_t uptr, const void *src,
			       size_t len)
{
	return host->ops->copy_to_user(host, uptr, src, len);
}

#endif
