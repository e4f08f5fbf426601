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
#include <sys/types.h>
#include <sys/stat.h>

struct uiommufd_host;
struct host_pin;
struct host_file;
struct host_anon;

/* Room in the caller's memory for one pin handle (pin_user_into()). */
struct host_pin_slot {
	uintptr_t word;
};

/*
 * A file the core creates and hands to the program as a descriptor, as the
 * kernel's anon_inode_getfd() does (access fds, test dma-bufs, event fds).
 * @release runs once, on the last close of the last descriptor, outside
 * every core lock.
 *
 * A kind with @read or @write is a stream the program reads and writes
 * (event queues): read() and write() of its descriptors, from any thread,
 * land there with the user buffer as a user address, @count as given and
 * @fflags the descriptor's file status flags (O_NONBLOCK); they return the
 * bytes done or a negative errno, as the kernel's file operations do.  The
 * missing one of the two fails with EINVAL, as a file without it does.
 * Such a file does not seek (ESPIPE), always polls writable, and polls
 * readable while anon_set_readable() says so.  @read and @write run with no
 * host lock held; one in progress holds a reference on the file, so
 * @release never runs during it.
 */
struct host_anon_ops {
	const char *name;
	void (*release)(void *priv);
	ssize_t (*read)(void *priv, uint64_t ubuf, size_t count, int fflags);
	ssize_t (*write)(void *priv, uint64_t ubuf, size_t count, int fflags);
	/*
	 * Kinds that are device files (VFIO groups, VFIO device fds) fill in
	 * the rest; a NULL member keeps the anon-inode answer (ENOTTY for
	 * ioctl, EINVAL for pread/pwrite, ENODEV for mmap, fstat as a memfd).
	 *
	 * @ioctl: every ioctl of the descriptor but the VFS's own (FIONBIO,
	 *	FIOCLEX, ...); @uarg as the program passed it.  Returns >= 0 or a
	 *	negative errno.
	 * @rw: pread()/pwrite() (and preadv/pwritev, read/write at the file
	 *	position) at file offset @off; bytes done or a negative errno.
	 * @mmap: mmap() of @len bytes at file offset @off with the program's
	 *	@addr hint, @prot and @flags; *@out is where it landed.  The file
	 *	stays referenced while mapped; @munmap (may be NULL) is told when
	 *	the program unmaps any part of it.
	 * @stat: what fstat() reports (S_IFCHR and st_rdev for a device node).
	 */
	long (*ioctl)(void *priv, unsigned long cmd, uint64_t uarg);
	ssize_t (*rw)(void *priv, uint64_t ubuf, size_t count, uint64_t off, bool write);
	int (*mmap)(void *priv, void *addr, size_t len, int prot, int flags, uint64_t off,
		    void **out);
	void (*munmap)(void *priv, void *addr, size_t len);
	int (*stat)(void *priv, struct stat *st);
};

/* The kernel's RLIMIT_MEMLOCK accounting modes (pages.c). */
enum host_account_mode {
	HOST_ACCOUNT_NONE,
	HOST_ACCOUNT_USER, /* per user, as io_uring does */
	HOST_ACCOUNT_MM,   /* per process, as VFIO type1 does */
};

enum host_cap {
	HOST_CAP_IPC_LOCK,
	HOST_CAP_SYS_RESOURCE,
	HOST_CAP_SYS_RAWIO,
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
	/*
	 * Optional: pin_user() with the handle made in the caller's @slot,
	 * which must stay where it is, untouched, until the pin is unpinned;
	 * the handle is then (struct host_pin *)@slot, for every op as any
	 * other (a split leaves the front there).  An unpin of it reads no
	 * memory of the host's to find the pin.
	 */
	int (*pin_user_into)(struct uiommufd_host *host, uint64_t uptr, size_t len, bool writable,
			     struct host_pin_slot *slot);
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
	/*
	 * Optional hint, which changes nothing: a pin_user() of this range is
	 * coming; start fetching what it will read, so that its cache misses
	 * overlap the caller's own.
	 */
	void (*pin_user_prefetch)(struct uiommufd_host *host, uint64_t uptr, size_t len,
				  bool writable);
	/* Optional hint, likewise: an unpin() of @pin is coming. */
	void (*unpin_prefetch)(struct uiommufd_host *host, const struct host_pin *pin);
	/*
	 * Where the core reaches byte @offset of a pin right now (to its page
	 * end); NULL when the program's protection keeps the core from the
	 * page's address, and pin_rw() must copy instead.
	 */
	void *(*pin_kaddr)(struct uiommufd_host *host, struct host_pin *pin, size_t offset);
	/*
	 * Copy @len bytes at byte @offset of @pin (inside one segment: one
	 * page at most is always fine) whatever the program's protection of
	 * the page; -EFAULT if the pin does not hold them (writably).
	 */
	int (*pin_rw)(struct uiommufd_host *host, struct host_pin *pin, size_t offset, void *buf,
		      size_t len, bool write);
	/*
	 * Physical addresses.  Every page has one: the address a device
	 * page table holds and device DMA resolves.  It is the page's
	 * identity, as a PFN is in the kernel: a page of a shared file or
	 * shmem mapping has one address however it is reached (any mapping,
	 * pin_file of the same file); a page of a private mapping is known by
	 * its user address.  Addresses fit in 51 bits.
	 *
	 * pin_phys(): the address of byte @offset of @pin; *@len gets how many
	 * bytes from there are physically contiguous (to the pin's end at most).
	 */
	uint64_t (*pin_phys)(struct uiommufd_host *host, struct host_pin *pin, size_t offset,
			     size_t *len);
	/*
	 * Where the core reaches physical address @pa right now, while a pin
	 * holds it; *@len gets how many bytes from there are contiguous in
	 * both spaces.  With @write, only through a writable pin: the address
	 * returned takes stores.  NULL when no (writable) pin holds @pa
	 * (*@len 0), or when a pin holds it but the core cannot address it
	 * now (*@len > 0: copy with phys_rw()).
	 */
	void *(*phys_kaddr)(struct uiommufd_host *host, uint64_t pa, bool write, size_t *len);
	/* Copy @len bytes at @pa through the pins holding them; -EFAULT if none. */
	int (*phys_rw)(struct uiommufd_host *host, uint64_t pa, void *buf, size_t len, bool write);
	/*
	 * The physical address of the byte mapped at @uaddr now, as
	 * get_user_pages() would find it; -EFAULT when nothing is mapped.
	 */
	int (*user_phys)(struct uiommufd_host *host, uint64_t uaddr, uint64_t *pa);
	/* Pins held on the page at @uaddr (the page's pin references). */
	long (*page_pins)(struct uiommufd_host *host, uint64_t uaddr);

	/* Take a reference on the file behind @fd; -EBADF if there is none. */
	int (*file_get)(struct uiommufd_host *host, int fd, struct host_file **out);
	void (*file_put)(struct uiommufd_host *host, struct host_file *file);
	/*
	 * A new anonymous memory file of @len zeroed bytes, as kernel memory
	 * an exporter hands out (the selftest's dma-bufs).
	 */
	int (*file_create)(struct uiommufd_host *host, size_t len, struct host_file **out);
	/* The file's current size in bytes, or a negative errno. */
	int64_t (*file_size)(struct uiommufd_host *host, struct host_file *file);
	/*
	 * Map @len bytes of @file from @offset as mmap(2) would (@addr, @prot,
	 * @flags likewise), for the program's mmap of a driver region or the
	 * driver's own view; *@out is the address.  Undo with file_munmap.
	 */
	int (*file_mmap)(struct uiommufd_host *host, struct host_file *file, void *addr,
			 size_t len, int prot, int flags, uint64_t offset, void **out);
	void (*file_munmap)(struct uiommufd_host *host, void *addr, size_t len);

	/*
	 * Create a descriptor for an anon file (flags: O_CLOEXEC, O_NONBLOCK);
	 * returns the fd or a negative errno.  @priv is given back by
	 * anon_get() and to @ops->release.
	 */
	int (*anon_fd)(struct uiommufd_host *host, const struct host_anon_ops *ops, void *priv,
		       int flags);
	/*
	 * The priv of the anon file behind @fd if it was made with @ops, with
	 * a reference in *@ref that anon_put() drops (the file stays open
	 * until then, as fget() keeps it); NULL otherwise.
	 */
	void *(*anon_get)(struct uiommufd_host *host, int fd, const struct host_anon_ops *ops,
			  struct host_anon **ref);
	void (*anon_put)(struct uiommufd_host *host, struct host_anon *ref);
	/*
	 * As anon_fd(), and *@file gets the new file itself, for
	 * anon_set_readable().  *@file holds no reference: it stays valid
	 * until @ops->release returns, and release must end every use of it
	 * before it returns.
	 */
	int (*anon_fd_file)(struct uiommufd_host *host, const struct host_anon_ops *ops,
			    void *priv, int flags, struct host_anon **file);
	/*
	 * Whether a file of a kind with @read polls readable (POLLIN), as a
	 * file's poll() reports from its state.  true also wakes its pollers
	 * once per call, as wake_up() does, so edge-triggered epoll sees every
	 * call.  Takes no host lock; callable from any thread.
	 */
	void (*anon_set_readable)(struct uiommufd_host *host, struct host_anon *file,
				  bool readable);
	/*
	 * Take back descriptor @fd, just made by anon_fd() or anon_fd_file()
	 * and never given to the program (the ioctl making it failed), as
	 * put_unused_fd() and fput() do: the descriptor is closed and, when
	 * nothing else holds the file, @ops->release runs before this returns.
	 */
	void (*anon_withdraw)(struct uiommufd_host *host, int fd);

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
