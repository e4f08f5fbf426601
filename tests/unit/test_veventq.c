// SPDX-License-Identifier: MIT
/*
 * The vIOMMU event queue (eventq.c): IOMMU_VEVENTQ_ALLOC, the queue's fd
 * and the records on it, as the kernel's iommufd_veventq_fops do.
 *
 * Events come from the mock vIOMMU: a mock device with a vDEVICE (virtual
 * ID 0x99) attached to a nested HWPT on the vIOMMU, and
 * IOMMU_TEST_OP_TRIGGER_VEVENT, which reports one struct
 * iommu_viommu_event_selftest carrying the virtual ID.  Some tests report
 * straight through iommufd_viommu_report_event() instead, under the
 * context lock as a driver would, for payloads the mock never sends.
 * Without the shim read() of the fd is the library's helper
 * (uiommufd_host_inproc_fd_read) and close() is reported with
 * uiommufd_host_inproc_fd_closed(), as an embedding program does; poll(),
 * select() and epoll work on the descriptor itself.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <time.h>

#include "helpers.h"
#include "core/eventq.h"
#include "host/inproc.h"

#define HDR sizeof(struct iommufd_vevent_header)
#define PAYLOAD sizeof(struct iommu_viommu_event_selftest)
#define REC (HDR + PAYLOAD)
#define MAX_DEPTH (1u << 19)
#define VIRT_ID 0x99

/* One record as the mock sends it. */
struct rec {
	struct iommufd_vevent_header hdr;
	struct iommu_viommu_event_selftest ev;
};
_Static_assert(sizeof(struct rec) == REC, "records are packed back to back");

struct fixture {
	struct uiommufd_ctx *ctx;
	uint32_t ioas;
	struct mock_ids dev;
	uint32_t parent;	/* the NEST_PARENT HWPT */
	uint32_t viommu;
	uint32_t vdev;
	uint32_t nested;	/* on the vIOMMU; the device is attached to it */
	uint32_t id;		/* the vEVENTQ, depth 2 unless a test makes its own */
	int fd;
};

/* ------------------------------------------------------------ ioctls */

static long veq_alloc(struct uiommufd_ctx *ctx, uint32_t viommu, uint32_t type, uint32_t depth,
		      uint32_t *id, int *fd)
{
	struct iommu_veventq_alloc cmd = {
		.size = sizeof(cmd), .viommu_id = viommu, .type = type, .veventq_depth = depth,
	};
	long rc = ictl(ctx, IOMMU_VEVENTQ_ALLOC, &cmd);

	if (id)
		*id = rc ? 0 : cmd.out_veventq_id;
	if (fd)
		*fd = rc ? -1 : (int)cmd.out_veventq_fd;
	return rc;
}

/* IOMMU_TEST_OP_TRIGGER_VEVENT on device @dev, @n times; the first failure. */
static long trigger(struct uiommufd_ctx *ctx, uint32_t dev, unsigned int n)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_TRIGGER_VEVENT,
		.trigger_vevent = { .dev_id = dev },
	};
	long rc = 0;

	while (n-- && !rc)
		rc = ictl(ctx, IOMMU_TEST_CMD, &cmd);
	return rc;
}

/* A driver's report, as iommufd_viommu_report_event() is called: under the lock. */
static int report_raw(struct uiommufd_ctx *ctx, uint32_t viommu_id, uint32_t type,
		      const void *data, size_t len)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)ctx;
	struct iommufd_viommu *viommu;
	int rc;

	pthread_mutex_lock(&ictx->lock);
	viommu = iommufd_get_viommu(ictx, viommu_id);
	assert_false(IS_ERR(viommu));
	rc = iommufd_viommu_report_event(viommu, type, data, len);
	iommufd_put_object(ictx, &viommu->obj);
	pthread_mutex_unlock(&ictx->lock);
	return rc;
}

/* close() as the shim would report it. */
static void veq_close(int fd)
{
	uiommufd_host_inproc_fd_closed(fd);
	assert_int_equal(close(fd), 0);
}

static ssize_t rd(int fd, void *buf, size_t count)
{
	return uiommufd_host_inproc_fd_read(fd, buf, count);
}

static short poll_events(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDNORM };

	assert_true(poll(&p, 1, 0) >= 0);
	assert_false(p.revents & (POLLHUP | POLLERR | POLLNVAL));
	return p.revents;
}

static bool readable(int fd)
{
	return poll_events(fd) & POLLIN;
}

static void assert_rec(const struct rec *r, uint32_t sequence, uint32_t virt_id)
{
	assert_int_equal(r->hdr.flags, 0);
	assert_int_equal(r->hdr.sequence, sequence);
	assert_int_equal(r->ev.virt_id, virt_id);
}

static void assert_lost(const struct iommufd_vevent_header *h, uint32_t sequence)
{
	assert_int_equal(h->flags, IOMMU_VEVENTQ_FLAG_LOST_EVENTS);
	assert_int_equal(h->sequence, sequence);
}

/* ------------------------------------------------------------ fixtures */

/* A mock device, its NEST_PARENT HWPT and a vIOMMU on it: nothing more. */
static int open_viommu(struct fixture *f)
{
	if (uiommufd_ctx_open(uiommufd_host_inproc(), 0, &f->ctx))
		return -1;
	f->fd = -1;
	f->ioas = ioas_alloc(f->ctx);
	if (mock_domain(f->ctx, f->ioas, &f->dev) ||
	    hwpt_alloc(f->ctx, f->dev.idev, f->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &f->parent) ||
	    viommu_alloc(f->ctx, f->dev.idev, f->parent, IOMMU_VIOMMU_TYPE_SELFTEST, NULL, 0,
			 &f->viommu))
		return -1;
	return 0;
}

/* As the kernel's iommufd_viommu fixture: the device reports through the vIOMMU as 0x99. */
static int open_attached(struct fixture *f)
{
	uint32_t pt;

	if (open_viommu(f) ||
	    vdevice_alloc(f->ctx, f->viommu, f->dev.idev, VIRT_ID, &f->vdev) ||
	    hwpt_alloc_nested(f->ctx, f->dev.idev, f->viommu, 0, 0, &f->nested))
		return -1;
	pt = f->nested;
	return mock_domain_replace(f->ctx, f->dev.stdev, &pt) ? -1 : 0;
}

static int setup_bare(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	return f && !open_viommu(f) ? 0 : -1;
}

static int setup_attached(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	return f && !open_attached(f) ? 0 : -1;
}

/* Attached, with a depth 2 queue of the mock's type. */
static int setup(void **state)
{
	struct fixture *f;

	if (setup_attached(state))
		return -1;
	f = *state;
	return veq_alloc(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, &f->id, &f->fd) ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	if (f->fd >= 0)
		veq_close(f->fd);
	if (f->ctx)
		uiommufd_ctx_put(f->ctx);
	free(f);
	return 0;
}

/* Replace the fixture's queue with one of @depth. */
static void requeue(struct fixture *f, uint32_t depth)
{
	veq_close(f->fd);
	assert_int_equal(destroy(f->ctx, f->id), 0);
	assert_int_equal(veq_alloc(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, depth, &f->id,
				   &f->fd),
			 0);
}

/* ------------------------------------------------------------ allocation */

static void test_alloc_errors(void **state)
{
	struct fixture *f = *state;
	struct iommu_veventq_alloc cmd = {
		.size = sizeof(cmd), .viommu_id = f->viommu, .type = IOMMU_VEVENTQ_TYPE_SELFTEST,
		.veventq_depth = 2,
	};
	uint32_t id;
	int fd;

	cmd.flags = 1;
	assert_int_equal(ictl(f->ctx, IOMMU_VEVENTQ_ALLOC, &cmd), -EOPNOTSUPP);
	cmd.flags = 0;
	cmd.__reserved = 1;
	assert_int_equal(ictl(f->ctx, IOMMU_VEVENTQ_ALLOC, &cmd), -EOPNOTSUPP);
	cmd.__reserved = 0;
	cmd.type = IOMMU_VEVENTQ_TYPE_DEFAULT;
	assert_int_equal(ictl(f->ctx, IOMMU_VEVENTQ_ALLOC, &cmd), -EOPNOTSUPP);
	/* The argument checks come in the kernel's order, before the lookup. */
	cmd.veventq_depth = 0;
	cmd.viommu_id = 999;
	assert_int_equal(ictl(f->ctx, IOMMU_VEVENTQ_ALLOC, &cmd), -EOPNOTSUPP);
	cmd.type = IOMMU_VEVENTQ_TYPE_SELFTEST;
	assert_int_equal(ictl(f->ctx, IOMMU_VEVENTQ_ALLOC, &cmd), -EINVAL);
	cmd.veventq_depth = MAX_DEPTH + 1;
	assert_int_equal(ictl(f->ctx, IOMMU_VEVENTQ_ALLOC, &cmd), -EINVAL);
	cmd.veventq_depth = UINT32_MAX;
	assert_int_equal(ictl(f->ctx, IOMMU_VEVENTQ_ALLOC, &cmd), -EINVAL);

	/* Not a vIOMMU: no such ID, or another kind of object. */
	assert_int_equal(veq_alloc(f->ctx, 999, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, NULL, NULL),
			 -ENOENT);
	assert_int_equal(veq_alloc(f->ctx, 0, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, NULL, NULL),
			 -ENOENT);
	assert_int_equal(veq_alloc(f->ctx, f->ioas, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, NULL, NULL),
			 -ENOENT);
	assert_int_equal(veq_alloc(f->ctx, f->parent, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, NULL, NULL),
			 -ENOENT);

	/* The largest depth is fine. */
	assert_int_equal(veq_alloc(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, MAX_DEPTH, &id,
				   &fd),
			 0);
	veq_close(fd);
	assert_int_equal(destroy(f->ctx, id), 0);
}

/* One queue per type per vIOMMU; another type may have its own. */
static void test_alloc_duplicate(void **state)
{
	struct fixture *f = *state;
	uint32_t id, id2, id3;
	int fd, fd2, fd3;

	assert_int_equal(veq_alloc(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, &id, &fd), 0);
	assert_int_not_equal(id, 0);
	assert_true(fd >= 0);
	/* O_CLOEXEC, as get_unused_fd_flags(O_CLOEXEC); not O_NONBLOCK. */
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	assert_false(readable(fd));

	assert_int_equal(veq_alloc(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 8, NULL, NULL),
			 -EEXIST);
	assert_int_equal(veq_alloc(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 2, &id2, &fd2),
			 0);
	assert_int_not_equal(id2, id);
	assert_int_not_equal(fd2, fd);
	assert_int_equal(veq_alloc(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 2, NULL, NULL),
			 -EEXIST);

	/* Gone, its type is free again. */
	veq_close(fd);
	assert_int_equal(destroy(f->ctx, id), 0);
	assert_int_equal(veq_alloc(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, &id3, &fd3),
			 0);
	veq_close(fd3);
	assert_int_equal(destroy(f->ctx, id3), 0);
	veq_close(fd2);
	assert_int_equal(destroy(f->ctx, id2), 0);
}

/* The queue holds its vIOMMU; the fd holds the queue. */
static void test_alloc_holds_viommu(void **state)
{
	struct fixture *f = *state;
	uint32_t id;
	int fd;

	assert_int_equal(veq_alloc(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, &id, &fd), 0);
	assert_int_equal(destroy(f->ctx, f->viommu), -EBUSY);
	assert_int_equal(destroy(f->ctx, id), -EBUSY);
	veq_close(fd);
	assert_int_equal(destroy(f->ctx, f->viommu), -EBUSY);
	assert_int_equal(destroy(f->ctx, id), 0);
	assert_int_equal(destroy(f->ctx, id), -ENOENT);
	assert_int_equal(destroy(f->ctx, f->viommu), 0);
}

/* A failed copy back withdraws the fd and the object: nothing is left. */
static void test_alloc_respond_fails(void **state)
{
	struct fixture *f = *state;
	struct iommu_veventq_alloc *cmd;
	int probe, probe2, fd;
	uint32_t id;

	cmd = mmap(NULL, PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(cmd, MAP_FAILED);
	*cmd = (struct iommu_veventq_alloc){
		.size = sizeof(*cmd), .viommu_id = f->viommu,
		.type = IOMMU_VEVENTQ_TYPE_SELFTEST, .veventq_depth = 2,
	};
	assert_int_equal(mprotect(cmd, PSZ, PROT_READ), 0);
	probe = dup(0);
	assert_true(probe >= 0);
	close(probe);
	assert_int_equal(ictl(f->ctx, IOMMU_VEVENTQ_ALLOC, cmd), -EFAULT);
	/* The descriptor went back... */
	probe2 = dup(0);
	assert_int_equal(probe2, probe);
	close(probe2);
	munmap(cmd, PSZ);
	/* ...the type is free, the ID is next again... */
	assert_int_equal(veq_alloc(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, &id, &fd), 0);
	assert_int_equal(id, f->viommu + 1);
	veq_close(fd);
	assert_int_equal(destroy(f->ctx, id), 0);
	/* ...and the vIOMMU is held by nothing. */
	assert_int_equal(destroy(f->ctx, f->viommu), 0);
}

/* ------------------------------------------------------------ reports */

/* What the mock sends, in order, numbered from 0. */
static void test_read_records(void **state)
{
	struct fixture *f = *state;
	struct rec r[4];

	requeue(f, 8);
	assert_false(readable(f->fd));
	assert_int_equal(trigger(f->ctx, f->dev.idev, 3), 0);
	assert_true(readable(f->fd));
	assert_true(poll_events(f->fd) & POLLRDNORM);

	memset(r, 0xff, sizeof(r));
	assert_int_equal(rd(f->fd, r, REC), REC);
	assert_rec(&r[0], 0, VIRT_ID);
	assert_true(readable(f->fd));
	assert_int_equal(rd(f->fd, r, sizeof(r)), 2 * REC);
	assert_rec(&r[0], 1, VIRT_ID);
	assert_rec(&r[1], 2, VIRT_ID);
	assert_false(readable(f->fd));
	assert_int_equal(rd(f->fd, r, sizeof(r)), 0);

	/* The numbering goes on across reads. */
	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), 0);
	assert_int_equal(rd(f->fd, r, sizeof(r)), REC);
	assert_rec(&r[0], 3, VIRT_ID);
}

/* Payloads of any length, each right after its header. */
static void test_payload_lengths(void **state)
{
	struct fixture *f = *state;
	uint8_t big[100], buf[256];
	uint32_t small = 0x12345678;
	struct iommufd_vevent_header h;
	size_t i;

	requeue(f, 8);
	for (i = 0; i != sizeof(big); i++)
		big[i] = (uint8_t)i;
	assert_int_equal(report_raw(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, big,
				    sizeof(big)),
			 0);
	assert_int_equal(report_raw(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, &small, 1), 0);
	assert_int_equal(rd(f->fd, buf, sizeof(buf)), HDR + sizeof(big) + HDR + 1);
	memcpy(&h, buf, HDR);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.sequence, 0);
	assert_memory_equal(buf + HDR, big, sizeof(big));
	memcpy(&h, buf + HDR + sizeof(big), HDR);
	assert_int_equal(h.sequence, 1);
	assert_int_equal(buf[2 * HDR + sizeof(big)], 0x78);
}

/* Reports without a queue of their type, or with nothing to carry. */
static void test_report_errors(void **state)
{
	struct fixture *f = *state;
	uint32_t v = 1;
	struct rec r;

	/* The mock's own type has no queue yet. */
	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), -EOPNOTSUPP);
	assert_int_equal(report_raw(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, &v, 4),
			 -EOPNOTSUPP);

	assert_int_equal(veq_alloc(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, &f->id,
				   &f->fd),
			 0);
	assert_int_equal(report_raw(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, &v, 4),
			 -EOPNOTSUPP);
	assert_int_equal(report_raw(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, &v, 0),
			 -EINVAL);
	assert_int_equal(report_raw(f->ctx, f->viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, NULL, 4),
			 -EINVAL);
	/* None of those took a number. */
	assert_false(readable(f->fd));
	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), 0);
	assert_int_equal(rd(f->fd, &r, sizeof(r)), REC);
	assert_rec(&r, 0, VIRT_ID);
}

/* ------------------------------------------------------------ read sizes */

static void test_read_sizes(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[64];
	struct rec r[2];

	/* Below a header is EINVAL, even with nothing to read. */
	assert_int_equal(rd(f->fd, buf, 0), -EINVAL);
	assert_int_equal(rd(f->fd, buf, HDR - 1), -EINVAL);
	assert_int_equal(rd(f->fd, buf, HDR), 0);
	assert_int_equal(rd(f->fd, buf, sizeof(buf)), 0);

	assert_int_equal(trigger(f->ctx, f->dev.idev, 2), 0);
	assert_int_equal(rd(f->fd, buf, 0), -EINVAL);
	assert_int_equal(rd(f->fd, buf, HDR - 1), -EINVAL);
	/* The header fits, the payload does not: the record stays whole. */
	assert_int_equal(rd(f->fd, buf, HDR), -EINVAL);
	assert_int_equal(rd(f->fd, buf, REC - 1), -EINVAL);
	assert_true(readable(f->fd));

	/* One and a bit: one. */
	assert_int_equal(rd(f->fd, r, 2 * REC - 1), REC);
	assert_rec(&r[0], 0, VIRT_ID);
	/* The rest, with room to spare. */
	assert_int_equal(rd(f->fd, buf, sizeof(buf)), REC);
	memcpy(r, buf, REC);
	assert_rec(&r[0], 1, VIRT_ID);
	assert_false(readable(f->fd));
}

/* A bad buffer: EFAULT, and the record stays to be read. */
static void test_read_efault(void **state)
{
	struct fixture *f = *state;
	uint8_t *two;
	struct rec r[2];
	void *ro;

	/*
	 * cmocka swaps SIGSEGV handlers between tests behind the host's back;
	 * the shim would have reported the munmaps that freed these addresses.
	 */
	uiommufd_host_inproc_mm_changed();
	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), 0);
	assert_int_equal(rd(f->fd, NULL, REC), -EFAULT);
	ro = mmap(NULL, PSZ, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(ro, MAP_FAILED);
	assert_int_equal(rd(f->fd, ro, REC), -EFAULT);
	munmap(ro, PSZ);
	assert_true(readable(f->fd));
	assert_int_equal(rd(f->fd, r, REC), REC);
	assert_rec(&r[0], 0, VIRT_ID);

	/* A fault on the second record: the first is returned, the second stays. */
	two = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(two, MAP_FAILED);
	assert_int_equal(mprotect(two + PSZ, PSZ, PROT_READ), 0);
	assert_int_equal(trigger(f->ctx, f->dev.idev, 2), 0);
	assert_int_equal(rd(f->fd, two + PSZ - REC, 2 * REC), REC);
	memcpy(r, two + PSZ - REC, REC);
	assert_rec(&r[0], 1, VIRT_ID);
	munmap(two, 2 * PSZ);
	assert_true(readable(f->fd));
	assert_int_equal(rd(f->fd, r, sizeof(r)), REC);
	assert_rec(&r[0], 2, VIRT_ID);
	assert_false(readable(f->fd));
}

/* Read never blocks: an empty queue reads 0, with O_NONBLOCK or without. */
static void test_read_never_blocks(void **state)
{
	struct fixture *f = *state;
	int fl = fcntl(f->fd, F_GETFL);
	struct rec r;

	assert_int_equal(rd(f->fd, &r, sizeof(r)), 0);
	assert_int_equal(fcntl(f->fd, F_SETFL, fl | O_NONBLOCK), 0);
	assert_int_equal(rd(f->fd, &r, sizeof(r)), 0);
	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), 0);
	assert_int_equal(rd(f->fd, &r, sizeof(r)), REC);
	assert_int_equal(rd(f->fd, &r, sizeof(r)), 0);
}

/* The file has no write(). */
static void test_write(void **state)
{
	struct fixture *f = *state;
	struct rec r = {};

	assert_int_equal(uiommufd_host_inproc_fd_write(f->fd, &r, sizeof(r)), -EINVAL);
	assert_int_equal(uiommufd_host_inproc_fd_write(f->fd, &r, 0), -EINVAL);
}

/* ------------------------------------------------------------ overflow */

/* The kernel selftest's case: depth 2, three events, the third is lost. */
static void test_overflow(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[3 * REC];
	struct iommufd_vevent_header h;
	struct rec r[2];

	assert_int_equal(trigger(f->ctx, f->dev.idev, 3), 0);
	/* The marker carries no payload. */
	assert_int_equal(rd(f->fd, buf, sizeof(buf)), 2 * REC + HDR);
	memcpy(r, buf, 2 * REC);
	assert_rec(&r[0], 0, VIRT_ID);
	assert_rec(&r[1], 1, VIRT_ID);
	memcpy(&h, buf + 2 * REC, HDR);
	assert_lost(&h, 2);
	assert_false(readable(f->fd));

	/* Gone once read; numbering goes on. */
	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), 0);
	assert_int_equal(rd(f->fd, buf, sizeof(buf)), REC);
	memcpy(r, buf, REC);
	assert_rec(&r[0], 3, VIRT_ID);
}

/* One marker, always last: more losses move it along with a new number. */
static void test_overflow_marker_moves(void **state)
{
	struct fixture *f = *state;
	struct iommufd_vevent_header h;
	uint8_t buf[8 * REC];
	struct rec r[2];

	assert_int_equal(trigger(f->ctx, f->dev.idev, 5), 0);
	assert_int_equal(rd(f->fd, buf, sizeof(buf)), 2 * REC + HDR);
	memcpy(r, buf, 2 * REC);
	assert_rec(&r[0], 0, VIRT_ID);
	assert_rec(&r[1], 1, VIRT_ID);
	memcpy(&h, buf + 2 * REC, HDR);
	assert_lost(&h, 4);

	/* Records first, then the marker, which fits a header-sized read. */
	assert_int_equal(trigger(f->ctx, f->dev.idev, 3), 0);
	assert_int_equal(rd(f->fd, r, sizeof(r)), 2 * REC);
	assert_rec(&r[0], 5, VIRT_ID);
	assert_rec(&r[1], 6, VIRT_ID);
	assert_true(readable(f->fd));
	assert_int_equal(rd(f->fd, &h, HDR), HDR);
	assert_lost(&h, 7);
	assert_false(readable(f->fd));
}

/* A record after the marker takes its place: the sequence gap tells the loss. */
static void test_overflow_marker_replaced(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8 * REC];
	struct rec r[2];

	assert_int_equal(trigger(f->ctx, f->dev.idev, 3), 0);
	assert_int_equal(rd(f->fd, r, REC), REC);
	assert_rec(&r[0], 0, VIRT_ID);
	/* Room for one again: it replaces the marker (number 2). */
	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), 0);
	assert_int_equal(rd(f->fd, buf, sizeof(buf)), 2 * REC);
	memcpy(r, buf, 2 * REC);
	assert_rec(&r[0], 1, VIRT_ID);
	assert_rec(&r[1], 3, VIRT_ID);
	assert_false(readable(f->fd));
}

/* The marker alone makes the file readable, and reads at any header-sized count. */
static void test_overflow_marker_alone(void **state)
{
	struct fixture *f = *state;
	struct iommufd_vevent_header h;
	struct rec r[2];

	requeue(f, 1);
	assert_int_equal(trigger(f->ctx, f->dev.idev, 2), 0);
	assert_int_equal(rd(f->fd, r, REC), REC);
	assert_rec(&r[0], 0, VIRT_ID);
	assert_true(readable(f->fd));
	assert_int_equal(rd(f->fd, &h, HDR - 1), -EINVAL);
	assert_int_equal(rd(f->fd, &h, HDR), HDR);
	assert_lost(&h, 1);
	assert_false(readable(f->fd));
}

/* ------------------------------------------------------------ readiness */

/* poll() and select() say readable exactly while something waits; so does a dup. */
static void test_poll(void **state)
{
	struct fixture *f = *state;
	struct timeval tv = { 0, 0 };
	struct rec r;
	fd_set rd_set;
	int i, d;

	for (i = 0; i != 3; i++) {
		assert_false(readable(f->fd));
		assert_int_equal(trigger(f->ctx, f->dev.idev, 2), 0);
		assert_true(readable(f->fd));
		FD_ZERO(&rd_set);
		FD_SET(f->fd, &rd_set);
		assert_int_equal(select(f->fd + 1, &rd_set, NULL, NULL, &tv), 1);
		assert_int_equal(rd(f->fd, &r, sizeof(r)), REC);
		assert_true(readable(f->fd));
		assert_int_equal(rd(f->fd, &r, sizeof(r)), REC);
		assert_false(readable(f->fd));
		FD_ZERO(&rd_set);
		FD_SET(f->fd, &rd_set);
		assert_int_equal(select(f->fd + 1, &rd_set, NULL, NULL, &tv), 0);
	}

	d = dup(f->fd);
	assert_true(d >= 0);
	uiommufd_host_inproc_fd_dup(f->fd, d);
	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), 0);
	assert_true(readable(d));
	assert_int_equal(rd(d, &r, sizeof(r)), REC);
	assert_rec(&r, 6, VIRT_ID);
	assert_false(readable(f->fd));
	veq_close(d);
}

/* epoll, edge-triggered: every report is an event, as wake_up() gives; and level. */
static void test_epoll(void **state)
{
	struct fixture *f = *state;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET }, out[2];
	struct rec r[2];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	requeue(f, 8);
	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, f->fd, &ev), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 0);

	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 1);
	assert_true(out[0].events & EPOLLIN);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 0);
	/* Still pending, and a new one comes: an event again. */
	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 1);
	assert_int_equal(rd(f->fd, r, sizeof(r)), 2 * REC);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 0);

	/* Level-triggered: readable until read. */
	ev.events = EPOLLIN;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_MOD, f->fd, &ev), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 0);
	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 1);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 1);
	assert_int_equal(rd(f->fd, r, sizeof(r)), REC);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 0);
	close(ep);
}

/* ------------------------------------------------------------ lifetime */

/* dup and close: the queue lives while any descriptor does. */
static void test_dup_close(void **state)
{
	struct fixture *f = *state;
	struct rec r;
	int d = dup(f->fd);

	assert_true(d >= 0);
	uiommufd_host_inproc_fd_dup(f->fd, d);
	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), 0);
	veq_close(f->fd);
	f->fd = -1;
	assert_int_equal(destroy(f->ctx, f->id), -EBUSY);
	assert_true(readable(d));
	assert_int_equal(rd(d, &r, sizeof(r)), REC);
	assert_rec(&r, 0, VIRT_ID);
	veq_close(d);
	assert_int_equal(destroy(f->ctx, f->id), 0);
	/* Reports have nowhere to go now. */
	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), -EOPNOTSUPP);
}

/* Destroy waits for the fd; pending records go with the object (ASan sees leaks). */
static void test_destroy_with_pending(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(trigger(f->ctx, f->dev.idev, 5), 0);
	assert_int_equal(destroy(f->ctx, f->id), -EBUSY);
	assert_true(readable(f->fd));
	veq_close(f->fd);
	f->fd = -1;
	assert_int_equal(destroy(f->ctx, f->id), 0);
	assert_int_equal(destroy(f->ctx, f->id), -ENOENT);
}

/* Closing /dev/iommu first leaves the queue working; its last close takes all. */
static void test_fd_keeps_context(void **state)
{
	struct fixture *f = *state;
	struct iommufd_vevent_header h;
	uint8_t buf[4 * REC];
	struct rec r[2];

	assert_int_equal(trigger(f->ctx, f->dev.idev, 3), 0);
	uiommufd_ctx_put(f->ctx);
	f->ctx = NULL;
	assert_true(readable(f->fd));
	assert_int_equal(rd(f->fd, buf, sizeof(buf)), 2 * REC + HDR);
	memcpy(r, buf, 2 * REC);
	assert_rec(&r[1], 1, VIRT_ID);
	memcpy(&h, buf + 2 * REC, HDR);
	assert_lost(&h, 2);
	/* teardown's close releases the context, the vIOMMU and the rest. */
}

/* ------------------------------------------------------------ threads */

#define NR_EVENTS 1000

struct consumer {
	int fd;
	uint32_t nr_events;	/* the last sequence number is nr_events - 1 */
	uint32_t records, lost_markers, skipped;
	bool in_order, payload_ok, done;
	int err;
};

/*
 * An epoll loop, as a VMM's event thread: wait, read everything there is,
 * account for every sequence number until the last one shows up, as a
 * record or as the marker.  Each number is a record, a gap or a marker.
 */
static void *consumer_thread(void *arg)
{
	struct consumer *c = arg;
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int64_t prev = -1;
	uint8_t buf[64 * REC];
	int ep, idle = 0;

	c->in_order = c->payload_ok = true;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev)) {
		c->err = errno;
		goto out;
	}
	while (!c->done && idle < 100) {
		ssize_t n, off;
		int ready = epoll_wait(ep, &out, 1, 100);

		if (ready < 0) {
			c->err = errno;
			break;
		}
		if (!ready) {
			idle++;
			continue;
		}
		idle = 0;
		n = uiommufd_host_inproc_fd_read(c->fd, buf, sizeof(buf));
		if (n < 0) {
			c->err = (int)-n;
			break;
		}
		for (off = 0; off < n;) {
			struct iommufd_vevent_header h;
			struct iommu_viommu_event_selftest e;

			memcpy(&h, buf + off, HDR);
			off += HDR;
			if (h.sequence <= prev)
				c->in_order = false;
			c->skipped += (uint32_t)(h.sequence - prev - 1);
			prev = h.sequence;
			if (h.flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS) {
				c->lost_markers++;
			} else {
				memcpy(&e, buf + off, PAYLOAD);
				off += PAYLOAD;
				if (e.virt_id != VIRT_ID)
					c->payload_ok = false;
				c->records++;
			}
			if (h.sequence == c->nr_events - 1)
				c->done = true;
		}
	}
out:
	if (ep >= 0)
		close(ep);
	return NULL;
}

static void run_producer_consumer(struct fixture *f, uint32_t depth, struct consumer *c)
{
	pthread_t t;
	unsigned int i;

	requeue(f, depth);
	*c = (struct consumer){ .fd = f->fd, .nr_events = NR_EVENTS };
	assert_int_equal(pthread_create(&t, NULL, consumer_thread, c), 0);
	for (i = 0; i != NR_EVENTS; i++) {
		assert_int_equal(trigger(f->ctx, f->dev.idev, 1), 0);
		/* Let the consumer in now and then, so reads interleave with reports. */
		if (!(i % 64))
			sched_yield();
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(c->err, 0);
	assert_true(c->done);
	assert_true(c->in_order);
	assert_true(c->payload_ok);
	assert_int_equal(c->records + c->skipped + c->lost_markers, NR_EVENTS);
	assert_false(readable(f->fd));
}

/* Deep enough for all: every event arrives, in order, none lost. */
static void test_thread_epoll_no_loss(void **state)
{
	struct consumer c;

	run_producer_consumer(*state, NR_EVENTS, &c);
	assert_int_equal(c.records, NR_EVENTS);
	assert_int_equal(c.skipped, 0);
	assert_int_equal(c.lost_markers, 0);
}

/* Shallow: losses happen, and every sequence number is accounted for. */
static void test_thread_epoll_lossy(void **state)
{
	struct consumer c;

	run_producer_consumer(*state, 4, &c);
	assert_true(c.records >= 4);
	print_message("depth 4: %u records, %u skipped, %u markers\n", c.records, c.skipped,
		      c.lost_markers);
}

/* A thread blocked in poll() wakes on a report from another. */
struct waiter {
	int fd;
	struct rec r;
	ssize_t got;
};

static void *waiter_thread(void *arg)
{
	struct waiter *w = arg;
	struct pollfd p = { .fd = w->fd, .events = POLLIN };

	if (poll(&p, 1, 10000) == 1)
		w->got = uiommufd_host_inproc_fd_read(w->fd, &w->r, sizeof(w->r));
	return NULL;
}

static void test_poll_wakes_thread(void **state)
{
	struct fixture *f = *state;
	struct waiter w = { .fd = f->fd };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, waiter_thread, &w), 0);
	usleep(20000);
	assert_int_equal(trigger(f->ctx, f->dev.idev, 1), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.got, REC);
	assert_rec(&w.r, 0, VIRT_ID);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define A(fn) cmocka_unit_test_setup_teardown(fn, setup_attached, teardown)
#define B(fn) cmocka_unit_test_setup_teardown(fn, setup_bare, teardown)
	const struct CMUnitTest tests[] = {
		A(test_alloc_errors),
		A(test_alloc_duplicate),
		B(test_alloc_holds_viommu),
		B(test_alloc_respond_fails),
		T(test_read_records),
		T(test_payload_lengths),
		A(test_report_errors),
		T(test_read_sizes),
		T(test_read_efault),
		T(test_read_never_blocks),
		T(test_write),
		T(test_overflow),
		T(test_overflow_marker_moves),
		T(test_overflow_marker_replaced),
		T(test_overflow_marker_alone),
		T(test_poll),
		T(test_epoll),
		T(test_dup_close),
		T(test_destroy_with_pending),
		T(test_fd_keeps_context),
		T(test_thread_epoll_no_loss),
		T(test_thread_epoll_lossy),
		T(test_poll_wakes_thread),
	};

	return cmocka_run_group_tests_name("veventq", tests, NULL, NULL);
}
