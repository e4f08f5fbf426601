/* SPDX-License-Identifier: MIT */
/* What the shim needs from the in-process host beyond the public API. */
#ifndef UIOMMUFD_HOST_INPROC_H
#define UIOMMUFD_HOST_INPROC_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "core/host.h"

/* sigaction() for SIGSEGV/SIGBUS once our guard handler is in place. */
int inproc_chain_sigaction(int sig, const struct sigaction *act, struct sigaction *oldact);
bool inproc_uaccess_installed(void);
/* Whether [addr, addr + length) holds pinned pages still at their user address. */
bool uiommufd_host_inproc_range_pinned(void *addr, size_t length);
/*
 * The program is about to move pinned pages (mremap): device DMA waits from
 * _begin until _end, by which the pins have followed.  Nests.
 */
void uiommufd_host_inproc_move_begin(void);
void uiommufd_host_inproc_move_end(void);
/*
 * The program's memory map is about to change (munmap, mremap, mmap over,
 * a discarding madvise): from _begin, which may wait for pins in progress,
 * until _end no pin is taken.  Nests within a thread.
 */
void uiommufd_host_inproc_mm_write_begin(void);
void uiommufd_host_inproc_mm_write_end(void);
/* Whether madvise(@advice) takes pages from the program (DONTNEED, FREE, REMOVE). */
bool uiommufd_host_inproc_advice_discards(int advice);
/* The program moved [old, old + size) to @new_addr with mremap(). */
void uiommufd_host_inproc_remap_notify(void *old, size_t size, void *new_addr);
/* The memory map changed (munmap, mremap, mmap over): forget validated pages. */
void uiommufd_host_inproc_mm_changed(void);
/* Whether @fd is an anon file's descriptor (ioctl answers ENOTTY on it). */
bool inproc_fd_is_anon(int fd);
/*
 * The anon files by descriptor (inproc.c); an entry is set only for a
 * descriptor the library handed out.  inproc_fd_maybe_anon() is the one
 * load that lets every other descriptor pass.
 */
#define INPROC_ANON_MAX_FDS 65536
extern __attribute__((visibility("hidden"))) _Atomic(struct host_anon *)
	inproc_anon_files[INPROC_ANON_MAX_FDS];

static inline bool inproc_fd_maybe_anon(int fd)
{
	return (unsigned int)fd < INPROC_ANON_MAX_FDS &&
	       atomic_load_explicit(&inproc_anon_files[fd], memory_order_relaxed);
}

/*
 * read() and write() of a stream anon file (an event queue): true if @fd is
 * one, with the bytes done or a negative errno in *@ret; false, errno
 * untouched, for any other descriptor.
 */
bool inproc_anon_read(int fd, void *buf, size_t count, ssize_t *ret);
bool inproc_anon_write(int fd, const void *buf, size_t count, ssize_t *ret);
/* Whether @fd is a stream anon file's descriptor; errno untouched. */
bool inproc_fd_is_stream(int fd);
/*
 * Device files (host_anon_ops' ioctl, rw, mmap, munmap, stat): each returns
 * false, errno untouched, when @fd is not an anon file's descriptor, else
 * true with the result (a negative errno) in *@ret.
 *
 * inproc_ioctl_is_vfs(): the ioctls the VFS answers for every file before
 * the file's own (FIOCLEX, FIONCLEX, FIONBIO, FIOASYNC).
 * inproc_anon_prw(): pread/pwrite at @off (a negative one is EINVAL).
 * inproc_anon_rw_pos(): read/write at the file position, moved on by what
 * was done; false for stream kinds, whose read and write are
 * inproc_anon_read()/_write().
 * inproc_anon_mmap(): the file's mmap; the mapping holds the file.
 * inproc_anon_stat(): false also when the kind has no stat (fstat of the
 * descriptor itself is right then).
 * inproc_anon_unmapped(): [addr, addr + len) is no longer mapped (munmap,
 * mmap over it): the files mapped there are told and let go.
 */
bool inproc_ioctl_is_vfs(unsigned long cmd);
bool inproc_anon_ioctl(int fd, unsigned long cmd, uint64_t uarg, long *ret);
bool inproc_anon_prw(int fd, uint64_t ubuf, size_t count, int64_t off, bool write,
		     ssize_t *ret);
bool inproc_anon_rw_pos(int fd, uint64_t ubuf, size_t count, bool write, ssize_t *ret);
bool inproc_anon_mmap(int fd, void *addr, size_t len, int prot, int flags, uint64_t off,
		      void **out, int *ret);
bool inproc_anon_stat(int fd, struct stat *st, int *ret);
void inproc_anon_unmapped(void *addr, size_t len);
/* Read VMAs from the text of /proc/self/maps, as before Linux 6.11 (tests). */
void inproc_vma_text_only(bool on);
/* Pages charged in @mode by this process (tests). */
unsigned long uiommufd_host_inproc_locked_pages(enum host_account_mode mode);

#endif
