/* SPDX-License-Identifier: MIT */
/*
 * uiommufd: the Linux iommufd subsystem (/dev/iommu) in userspace.
 *
 * This is the library's one public header.  A program normally never
 * includes it: it opens /dev/iommu under `uiommufd run` and the preloaded
 * shim routes its ioctls here.  Embedding programs, tests and tools use it
 * to drive a context directly, without a file descriptor in between.
 *
 * Every function returns 0 (or a non-negative value) on success and a
 * negative errno on failure; errno itself is never touched.  Handles are
 * opaque.  The ioctl argument layouts are the kernel's, defined in
 * <uiommufd/uapi/iommufd.h>.
 */
#ifndef UIOMMUFD_H
#define UIOMMUFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UIOMMUFD_API __attribute__((visibility("default")))

/** struct uiommufd_ctx - one open of /dev/iommu: its objects and options */
struct uiommufd_ctx;

/** struct uiommufd_host - what a context reaches the calling program through */
struct uiommufd_host;

/**
 * enum uiommufd_open_flags - how a context was opened
 * @UIOMMUFD_OPEN_VFIO_CONTAINER: opened as /dev/vfio/vfio; the context
 *	starts in the VFIO ("process") memory accounting mode, as the kernel's
 *	does.
 */
enum uiommufd_open_flags {
	UIOMMUFD_OPEN_VFIO_CONTAINER = 1 << 0,
};

/**
 * uiommufd_host_inproc() - the host for the calling process itself
 *
 * User pointers handed to ioctls are addresses in this process.  The host is
 * a process-wide singleton; it never fails.
 */
UIOMMUFD_API struct uiommufd_host *uiommufd_host_inproc(void);

/**
 * uiommufd_ctx_open() - create a context, as open("/dev/iommu") does
 * @host: where user pointers live (see uiommufd_host_inproc())
 * @flags: a mask of enum uiommufd_open_flags
 * @out: the new context, holding one reference
 *
 * Return: 0, -EINVAL for unknown @flags, -ENOMEM.
 */
UIOMMUFD_API int uiommufd_ctx_open(struct uiommufd_host *host, unsigned int flags,
				   struct uiommufd_ctx **out);

/**
 * uiommufd_ctx_get() - take another reference, as dup() of the fd does
 * @ctx: the context
 */
UIOMMUFD_API void uiommufd_ctx_get(struct uiommufd_ctx *ctx);

/**
 * uiommufd_ctx_put() - drop a reference, as close() of the fd does
 * @ctx: the context
 *
 * The last reference destroys every object of the context and releases
 * everything they pinned or charged.  It cannot fail.
 */
UIOMMUFD_API void uiommufd_ctx_put(struct uiommufd_ctx *ctx);

/**
 * uiommufd_ioctl() - run one ioctl on a context
 * @ctx: the context
 * @cmd: the ioctl number (IOMMU_IOAS_MAP, VFIO_IOMMU_MAP_DMA, ...)
 * @arg: the argument, a pointer in the host's address space
 *
 * Return: the ioctl's non-negative result, or the kernel's negative errno
 * (-ENOTTY for an unknown command).
 */
UIOMMUFD_API long uiommufd_ioctl(struct uiommufd_ctx *ctx, unsigned long cmd, uint64_t arg);

/**
 * uiommufd_host_inproc_unmap_notify() - the program is about to unmap memory
 * @addr: start of the range (page aligned)
 * @length: length in bytes
 *
 * munmap(), mremap(), mmap(MAP_FIXED) and madvise(MADV_DONTNEED) of a range
 * with pinned pages would pull the pages out from under DMA.  The kernel keeps
 * pinned pages alive whatever the program does to its mapping; this call does
 * the same by moving the pinned pages aside first.  The range stays mapped,
 * with no pages: anonymous memory reads zero again, a file mapping the file
 * (on kernels before 5.7, before 5.13 for other than private anonymous
 * memory, the range is left unmapped).  The shim calls it before each such
 * call; an embedding program that unmaps pinned memory calls it itself, and
 * must not pin the range from another thread until its munmap is done.  It
 * cannot fail: when pages cannot be moved they stay mapped.  For madvise()
 * use uiommufd_host_inproc_madvise().
 */
UIOMMUFD_API void uiommufd_host_inproc_unmap_notify(void *addr, size_t length);

/**
 * uiommufd_host_inproc_madvise() - madvise() with pinned pages kept
 * @addr: @length: @advice: as for madvise(2)
 *
 * As the kernel keeps pinned pages: MADV_DONTNEED (and _LOCKED) of private
 * memory gives the program fresh pages (zero, or the file's) while the device
 * keeps the pinned ones; a shared page stays the file's and so stays shared.
 * MADV_FREE leaves pinned pages alone, as the kernel never frees a pinned
 * page.  MADV_REMOVE of shared memory punches the file; the device keeps a
 * copy of the pinned pages, the file gets new ones.  Other advice goes
 * straight to madvise(2).  The shim routes the program's madvise() here;
 * posix_madvise() needs nothing (glibc ignores POSIX_MADV_DONTNEED).
 *
 * Return: 0 or what madvise(2) fails with, as a negative errno.
 */
UIOMMUFD_API int uiommufd_host_inproc_madvise(void *addr, size_t length, int advice);

/**
 * uiommufd_host_inproc_mprotect() - mprotect() with pinned pages kept usable
 * @addr: start of the range, page aligned
 * @length: bytes
 * @prot: the new protection, as mprotect(2) takes it
 *
 * A pin keeps its access whatever the program's protection: device writes
 * still reach a page the program made read-only, and the program sees them.
 * Pinned shared pages losing read or write first get a second mapping of
 * their own for the device; private ones are reached through /proc/self/mem
 * until their protection comes back.  The program's mapping is unchanged.
 * The shim's mprotect() calls this.
 *
 * Return: 0, or the negative errno mprotect(2) gives.
 */
UIOMMUFD_API int uiommufd_host_inproc_mprotect(void *addr, size_t length, int prot);

/**
 * uiommufd_host_inproc_creds_changed() - the program changed its capabilities
 *
 * The in-process host reads a thread's capabilities (CAP_IPC_LOCK for
 * pinned-memory accounting, CAP_SYS_RAWIO for no-IOMMU devices) once and
 * keeps them until told that they may have changed.  The shim tells it after
 * capset(), prctl() and the set*uid() family through libc; a program that
 * changes them any other way (a raw system call), or an embedding program
 * not under the shim, calls this afterwards.  Cheap; never fails.
 */
UIOMMUFD_API void uiommufd_host_inproc_creds_changed(void);

/**
 * uiommufd_mmap() - mmap() of the iommufd file, as the kernel's fops do
 * @ctx: the context whose file is mapped
 * @addr: @length: @prot: @flags: as for mmap(2)
 * @offset: the file offset a driver handed out (a vIOMMU's out_mmap_offset)
 * @out: the address of the new mapping
 *
 * Only a driver region can be mapped, whole and from its start.  While it
 * is mapped, its owner cannot be destroyed (EBUSY) and the context stays
 * open; uiommufd_munmap_notify() ends that.  The shim calls both.
 *
 * Return: 0; -ENXIO for an offset or length that is not exactly a region;
 * -EINVAL without MAP_SHARED or for an unaligned offset; -EPERM for
 * PROT_EXEC; what mmap(2) itself returns.
 */
UIOMMUFD_API int uiommufd_mmap(struct uiommufd_ctx *ctx, void *addr, size_t length, int prot,
			       int flags, uint64_t offset, void **out);

/**
 * uiommufd_munmap_notify() - the program has unmapped a range
 * @addr: start of the range
 * @length: length in bytes
 *
 * Pages of uiommufd_mmap() mappings in the range are gone; a mapping with
 * no page left releases its region.  Cheap when there are no mappings.
 */
UIOMMUFD_API void uiommufd_munmap_notify(void *addr, size_t length);

/* uiommufd_device_dma() flags */
#define UIOMMUFD_DMA_WRITE (1u << 0)	/* the device writes memory */

/**
 * uiommufd_device_dma() - DMA by a bound device through its IOMMU
 * @ctx: the context the device is bound to
 * @dev_id: the device's object ID (e.g. out_idev_id of a mock device)
 * @iova: where the device reads or writes
 * @buf: the device-side buffer
 * @len: bytes to transfer
 * @flags: UIOMMUFD_DMA_WRITE to write memory, 0 to read it
 *
 * Translates through the domain the device is attached to, as the IOMMU
 * hardware would, and marks IOPTEs dirty while dirty tracking is on.
 *
 * Return: 0; -ENOENT for an unknown device; -EFAULT when part of the range
 * is not mapped or the device is not attached; -EPERM when the mapping
 * does not allow the access.  On failure the bytes before the faulting
 * page may have been transferred, as with a real device.
 */
UIOMMUFD_API int uiommufd_device_dma(struct uiommufd_ctx *ctx, uint32_t dev_id, uint64_t iova,
				     void *buf, size_t len, unsigned int flags);

/**
 * uiommufd_page_pins() - how many pins hold the page at a user address
 * @host: the host
 * @uaddr: any address inside the page
 *
 * The count the kernel keeps in a page's pin references: one per pinned
 * pages object covering it.  For tests and inspection.  Pins an unmap of
 * a small area kept back are let go first, as the kernel would have at
 * the unmap, so this takes every context's lock in turn: not to be
 * called from inside a callback of the library.
 */
UIOMMUFD_API long uiommufd_page_pins(struct uiommufd_host *host, uint64_t uaddr);

/**
 * uiommufd_host_inproc_fd_closed() - a descriptor of the program was closed
 * @fd: the descriptor
 *
 * Files the library hands out as descriptors (access, event and dma-buf
 * fds, as the kernel's anon_inode_getfd() makes) live while a descriptor
 * of them does, as kernel files do.  The library cannot see close(): the
 * shim calls this for every close() and close_range() of the program, just
 * before the descriptor goes; an embedding program that closes such a
 * descriptor calls it itself.  Any other @fd is ignored.
 */
UIOMMUFD_API void uiommufd_host_inproc_fd_closed(int fd);

/**
 * uiommufd_host_inproc_fd_dup() - a descriptor was duplicated
 * @oldfd: the descriptor duplicated
 * @newfd: the new descriptor (dup(), dup2(), dup3(), fcntl(F_DUPFD*))
 *
 * @newfd now refers to what @oldfd does, and whatever @newfd referred to
 * before was closed, as dup2() does.  The shim calls it; an embedding
 * program that duplicates a descriptor the library handed out calls it
 * itself.
 */
UIOMMUFD_API void uiommufd_host_inproc_fd_dup(int oldfd, int newfd);

/**
 * uiommufd_host_inproc_fd_read() - read() a descriptor as the shim does
 * @fd: the descriptor
 * @buf: where the bytes go
 * @count: bytes wanted
 *
 * The event queue fds the library hands out (IOMMU_FAULT_QUEUE_ALLOC's
 * out_fault_fd) are read and written through the library, as the kernel's
 * file operations are; the shim routes read() and write() of them here.  An
 * embedding program without the shim calls this (and
 * uiommufd_host_inproc_fd_write()) instead; poll(), select() and epoll work
 * on the descriptor directly.  Any other @fd is read(2) as usual.
 *
 * Return: the bytes read, or a negative errno (as the kernel's: a fault
 * queue returns -ESPIPE for a @count that is not a whole number of
 * records, and 0 when nothing is pending).
 */
UIOMMUFD_API ssize_t uiommufd_host_inproc_fd_read(int fd, void *buf, size_t count);

/**
 * uiommufd_host_inproc_fd_write() - write() a descriptor as the shim does
 * @fd: the descriptor
 * @buf: the bytes
 * @count: how many
 *
 * See uiommufd_host_inproc_fd_read().
 *
 * Return: the bytes consumed, or a negative errno.
 */
UIOMMUFD_API ssize_t uiommufd_host_inproc_fd_write(int fd, const void *buf, size_t count);

/**
 * struct uiommufd_devset - emulated VFIO PCI devices (groups, cdevs, models)
 *
 * The devices `uiommufd run --device ...` gives a program.  Under the shim
 * the set is made from the UIOMMUFD_DEVICES environment variable at start;
 * an embedding program makes its own.
 */
struct uiommufd_devset;

/**
 * uiommufd_devset_create() - make a device set, as --device options do
 * @host: whose memory the devices' DMA reaches
 * @spec: device entries separated by ';', each as --device takes it
 *	("ioat,bdf=0000:01:00.0", "ioat,group=3", "ioat,noiommu")
 * @out: the set
 * @err: a message naming the bad entry and what to do (may be NULL)
 * @errlen: size of @err
 *
 * The first set made becomes the process's current set, the one whose
 * /dev/vfio nodes uiommufd_vfio_open() and the shim serve.
 *
 * Return: 0, -EINVAL for a bad entry, -EEXIST for a duplicate address,
 * -ENOMEM.
 */
UIOMMUFD_API int uiommufd_devset_create(struct uiommufd_host *host, const char *spec,
					struct uiommufd_devset **out, char *err, size_t errlen);
/** uiommufd_devset_destroy() - stop every device and free the set */
UIOMMUFD_API void uiommufd_devset_destroy(struct uiommufd_devset *set);

/**
 * uiommufd_vfio_open() - open a VFIO node of the current device set
 * @path: "/dev/vfio/N", "/dev/vfio/noiommu-N" or "/dev/vfio/devices/vfioX"
 * @oflags: open(2) flags (O_CLOEXEC, O_NONBLOCK are honoured)
 *
 * Return: a descriptor whose ioctl, pread, pwrite and mmap go through
 * uiommufd_fd_ioctl() and friends (the shim routes the libc calls there),
 * -ENOENT when @path is not a node of the set, or another negative errno.
 */
UIOMMUFD_API int uiommufd_vfio_open(const char *path, int oflags);

/**
 * uiommufd_fd_ioctl() / uiommufd_fd_rw() / uiommufd_fd_mmap() - calls on a
 * descriptor the library handed out (VFIO group and device fds, access
 * and event fds), for programs that run without the shim
 *
 * Return: as the system call would, with a negative errno instead of -1.
 */
UIOMMUFD_API long uiommufd_fd_ioctl(int fd, unsigned long cmd, void *arg);
UIOMMUFD_API ssize_t uiommufd_fd_rw(int fd, void *buf, size_t count, uint64_t off, bool write);
UIOMMUFD_API int uiommufd_fd_mmap(int fd, void *addr, size_t len, int prot, int flags,
				  uint64_t off, void **out);

/**
 * uiommufd_set_fd_resolver() - how the library finds the context behind an
 * iommufd or VFIO container descriptor (VFIO_GROUP_SET_CONTAINER,
 * VFIO_DEVICE_BIND_IOMMUFD pass one)
 * @fn: returns the context referenced (uiommufd_ctx_get()), or NULL
 *
 * The shim sets its own; an embedding program sets one mapping its
 * descriptors to the contexts it opened.
 */
UIOMMUFD_API void uiommufd_set_fd_resolver(struct uiommufd_ctx *(*fn)(int fd));

/**
 * uiommufd_debug_enabled() / uiommufd_set_debug() - the debug log
 *
 * When on, every ioctl is logged to stderr (or to the file named by the
 * UIOMMUFD_LOG environment variable) with its result.  UIOMMUFD_DEBUG=1 in
 * the environment turns it on at start.
 */
UIOMMUFD_API bool uiommufd_debug_enabled(void);
UIOMMUFD_API void uiommufd_set_debug(bool on);

#ifdef __cplusplus
}
#endif
#endif
