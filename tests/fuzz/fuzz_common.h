/* SPDX-License-Identifier: MIT */
/*
 * What both libFuzzer harnesses share: a reader over the fuzzer's bytes,
 * cleanup of the descriptors an input made, and the checks every input
 * ends with (nothing pinned or charged, a fresh context still works).
 *
 * A failed check calls fz_fail(), which prints why and aborts: libFuzzer
 * records the input as a crash.
 */
#ifndef UIOMMUFD_FUZZ_COMMON_H
#define UIOMMUFD_FUZZ_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uiommufd.h"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"
#include "uapi/vfio.h"
#include "host/inproc.h"

#define FZ_PAGE 4096UL

/*
 * A copy of stderr taken at start (fz_fds_baseline()), so a report still
 * reaches the log if an input managed to close or replace descriptor 2.
 */
static int fz_report_fd = 2;

__attribute__((noreturn, format(printf, 1, 2))) static void fz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dprintf(fz_report_fd, "fuzz check failed: ");
	vdprintf(fz_report_fd, fmt, ap);
	dprintf(fz_report_fd, "\n");
	va_end(ap);
	abort();
}

/* The input, consumed from the front; reads past the end give zeros. */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint64_t fz_bytes(struct fz_in *in, unsigned int nbytes)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i != nbytes; i++)
		v |= (uint64_t)fz_u8(in) << (8 * i);
	return v;
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	return (uint32_t)fz_bytes(in, 4);
}

static inline uint64_t fz_u64(struct fz_in *in)
{
	return fz_bytes(in, 8);
}

/* ---- descriptors: an input closes whatever it opened */

#define FZ_MAX_FD 1024
static uint8_t fz_fd_was_open[FZ_MAX_FD];

static struct stat fz_fd_was[FZ_MAX_FD];

static inline void fz_fds_baseline(void)
{
	int fd;

	fz_report_fd = fcntl(2, F_DUPFD_CLOEXEC, FZ_MAX_FD / 2);
	if (fz_report_fd < 0)
		fz_report_fd = 2;
	for (fd = 0; fd != FZ_MAX_FD; fd++) {
		fz_fd_was_open[fd] = fcntl(fd, F_GETFD) != -1;
		if (fz_fd_was_open[fd])
			fstat(fd, &fz_fd_was[fd]);
	}
}

/* The program's own descriptors stay the program's: none closed or replaced. */
static inline void fz_fds_check_own(void)
{
	struct stat st;
	int fd;

	for (fd = 0; fd != FZ_MAX_FD; fd++)
		if (fz_fd_was_open[fd] &&
		    (fstat(fd, &st) || st.st_ino != fz_fd_was[fd].st_ino ||
		     st.st_dev != fz_fd_was[fd].st_dev))
			fz_fail("descriptor %d, open before the input, was closed or replaced", fd);
}

/* Close (as the shim reports it) every descriptor the input left open. */
static inline void fz_fds_cleanup(void)
{
	int fd;

	fz_fds_check_own();
	for (fd = 0; fd != FZ_MAX_FD; fd++) {
		if (fz_fd_was_open[fd] || fcntl(fd, F_GETFD) == -1)
			continue;
		uiommufd_host_inproc_fd_closed(fd);
		close(fd);
	}
}

/* ---- end-of-input checks */

static inline void fz_check_unpinned(const uint8_t *base, size_t npages)
{
	size_t i;

	for (i = 0; i != npages; i++) {
		long pins = uiommufd_page_pins(uiommufd_host_inproc(),
					       (uintptr_t)(base + i * FZ_PAGE));
		if (pins)
			fz_fail("page %zu of the arena still has %ld pins after close", i, pins);
	}
	if (uiommufd_host_inproc_locked_pages(HOST_ACCOUNT_USER) ||
	    uiommufd_host_inproc_locked_pages(HOST_ACCOUNT_MM))
		fz_fail("pages still charged after close: user %lu mm %lu",
			uiommufd_host_inproc_locked_pages(HOST_ACCOUNT_USER),
			uiommufd_host_inproc_locked_pages(HOST_ACCOUNT_MM));
}

static inline long fz_ioctl(struct uiommufd_ctx *ctx, unsigned long cmd, void *arg)
{
	return uiommufd_ioctl(ctx, cmd, (uint64_t)(uintptr_t)arg);
}

/* Normal operation after whatever the input did: alloc, map, unmap, close. */
static inline void fz_check_healthy(void)
{
	static uint8_t page[FZ_PAGE] __attribute__((aligned(4096)));
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)page,
		.length = sizeof(page),
	};
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	struct uiommufd_ctx *ctx;
	long rc;

	if (uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx))
		fz_fail("fresh context open");
	rc = fz_ioctl(ctx, IOMMU_IOAS_ALLOC, &alloc);
	if (rc || alloc.out_ioas_id != 1)
		fz_fail("fresh IOAS_ALLOC: rc %ld id %u", rc, alloc.out_ioas_id);
	map.ioas_id = alloc.out_ioas_id;
	rc = fz_ioctl(ctx, IOMMU_IOAS_MAP, &map);
	if (rc)
		fz_fail("fresh IOAS_MAP: rc %ld", rc);
	unmap.ioas_id = alloc.out_ioas_id;
	unmap.iova = map.iova;
	unmap.length = sizeof(page);
	rc = fz_ioctl(ctx, IOMMU_IOAS_UNMAP, &unmap);
	if (rc || unmap.length != sizeof(page))
		fz_fail("fresh IOAS_UNMAP: rc %ld length %llu", rc,
			(unsigned long long)unmap.length);
	uiommufd_ctx_put(ctx);
	if (uiommufd_page_pins(uiommufd_host_inproc(), (uintptr_t)page))
		fz_fail("fresh map left a pin");
}

#endif
