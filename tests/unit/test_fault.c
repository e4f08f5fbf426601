// SPDX-License-Identifier: MIT
/*
 * The fault queue (eventq.c): IOMMU_FAULT_QUEUE_ALLOC, the queue's fd and
 * the records on it, as the kernel's iommufd_fault_fops do.
 *
 * Page requests come from a device attached to a HWPT with a fault queue;
 * these tests deliver them straight through iommufd_fault_report(), as the
 * mock IOMMU's TRIGGER_IOPF does, under the context lock.  Without the shim
 * read() and write() of the fd are the library's helpers
 * (uiommufd_host_inproc_fd_read/_write) and close() is reported with
 * uiommufd_host_inproc_fd_closed(), as an embedding program does; poll()
 * and epoll work on the descriptor itself.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "helpers.h"
#include "core/eventq.h"
#include "host/inproc.h"

#define REC sizeof(struct iommu_hwpt_pgfault)
#define RESP sizeof(struct iommu_hwpt_page_response)

/* Two attachments' handles: only their addresses matter. */
static int handle_a, handle_b;

static long fault_alloc(struct uiommufd_ctx *ctx, uint32_t flags, uint32_t *id, int *fd)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd), .flags = flags };
	long rc = ictl(ctx, IOMMU_FAULT_QUEUE_ALLOC, &cmd);

	*id = rc ? 0 : cmd.out_fault_id;
	*fd = rc ? -1 : (int)cmd.out_fault_fd;
	return rc;
}

/* close() as the shim would report it. */
static void fault_close(int fd)
{
	uiommufd_host_inproc_fd_closed(fd);
	assert_int_equal(close(fd), 0);
}

static struct iommufd_fault *get_fault(struct uiommufd_ctx *ctx, uint32_t id)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)ctx;
	struct iommufd_fault *fault;

	pthread_mutex_lock(&ictx->lock);
	fault = iommufd_get_fault(ictx, id);
	pthread_mutex_unlock(&ictx->lock);
	assert_false(IS_ERR(fault));
	return fault;
}

static void put_fault(struct uiommufd_ctx *ctx, struct iommufd_fault *fault)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)ctx;

	pthread_mutex_lock(&ictx->lock);
	iommufd_put_object(ictx, iommufd_fault_obj(fault));
	pthread_mutex_unlock(&ictx->lock);
}

/* A page request of @dev_id at @addr, as TRIGGER_IOPF makes one. */
static void report(struct uiommufd_ctx *ctx, struct iommufd_fault *fault, uint32_t dev_id,
		   uint64_t addr, void *handle)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)ctx;

	pthread_mutex_lock(&ictx->lock);
	assert_int_equal(iommufd_fault_report(fault, dev_id, 0x10, 0x20,
					      IOMMU_PGFAULT_PERM_READ, addr,
					      IOMMU_PGFAULT_FLAGS_LAST_PAGE, handle),
			 0);
	pthread_mutex_unlock(&ictx->lock);
}

static void auto_response(struct uiommufd_ctx *ctx, struct iommufd_fault *fault, void *handle)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)ctx;

	pthread_mutex_lock(&ictx->lock);
	iommufd_fault_auto_response(fault, handle);
	pthread_mutex_unlock(&ictx->lock);
}

static short poll_events(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDNORM };

	assert_int_equal(poll(&p, 1, 0), 1);
	return p.revents;
}

static bool readable(int fd)
{
	short ev = poll_events(fd);

	/* A fault queue is always writable and never hangs up. */
	assert_true(ev & POLLOUT);
	assert_false(ev & (POLLHUP | POLLERR));
	return ev & POLLIN;
}

static ssize_t respond(int fd, uint32_t cookie, uint32_t code)
{
	struct iommu_hwpt_page_response r = { .cookie = cookie, .code = code };

	return uiommufd_host_inproc_fd_write(fd, &r, sizeof(r));
}

struct fixture {
	struct uiommufd_ctx *ctx;
	uint32_t id;
	int fd;
	struct iommufd_fault *fault;	/* with a users reference */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || uiommufd_ctx_open(uiommufd_host_inproc(), 0, &f->ctx))
		return -1;
	if (fault_alloc(f->ctx, 0, &f->id, &f->fd))
		return -1;
	f->fault = get_fault(f->ctx, f->id);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->fault)
		put_fault(f->ctx, f->fault);
	if (f->fd >= 0)
		fault_close(f->fd);
	uiommufd_ctx_put(f->ctx);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ allocation */

static void test_alloc(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd), .flags = 1 };
	uint32_t id, id2;
	struct stat st;
	int fd, fd2;

	assert_int_equal(ictl(ctx, IOMMU_FAULT_QUEUE_ALLOC, &cmd), -EOPNOTSUPP);
	cmd.flags = 0x80000000u;
	assert_int_equal(ictl(ctx, IOMMU_FAULT_QUEUE_ALLOC, &cmd), -EOPNOTSUPP);

	assert_int_equal(fault_alloc(ctx, 0, &id, &fd), 0);
	assert_int_not_equal(id, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	/* O_CLOEXEC, as get_unused_fd_flags(O_CLOEXEC); not O_NONBLOCK. */
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	assert_false(readable(fd));

	assert_int_equal(fault_alloc(ctx, 0, &id2, &fd2), 0);
	assert_int_not_equal(id2, id);
	assert_int_not_equal(fd2, fd);

	/* The fd holds the object: destroy waits for its close. */
	assert_int_equal(destroy(ctx, id), -EBUSY);
	fault_close(fd);
	assert_int_equal(destroy(ctx, id), 0);
	assert_int_equal(destroy(ctx, id), -ENOENT);
	fault_close(fd2);
	assert_int_equal(destroy(ctx, id2), 0);
}

/* The fault queue is not something else's object. */
static void test_get_fault_type(void **state)
{
	struct iommufd_ctx *ictx = *state;
	uint32_t ioas = ioas_alloc(*state);

	pthread_mutex_lock(&ictx->lock);
	assert_int_equal(PTR_ERR(iommufd_get_fault(ictx, ioas)), -ENOENT);
	assert_int_equal(PTR_ERR(iommufd_get_fault(ictx, 999)), -ENOENT);
	pthread_mutex_unlock(&ictx->lock);
}

/* A failed respond withdraws the fd and the object: nothing is left. */
static void test_alloc_respond_fails(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	struct iommu_fault_alloc *cmd;
	int probe, probe2;
	uint32_t id;
	int fd;

	cmd = mmap(NULL, PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(cmd, MAP_FAILED);
	*cmd = (struct iommu_fault_alloc){ .size = sizeof(*cmd) };
	assert_int_equal(mprotect(cmd, PSZ, PROT_READ), 0);
	probe = dup(0);
	assert_true(probe >= 0);
	close(probe);
	assert_int_equal(ictl(ctx, IOMMU_FAULT_QUEUE_ALLOC, cmd), -EFAULT);
	/* The descriptor went back... */
	probe2 = dup(0);
	assert_int_equal(probe2, probe);
	close(probe2);
	munmap(cmd, PSZ);
	/* ...and so did the ID. */
	assert_int_equal(fault_alloc(ctx, 0, &id, &fd), 0);
	assert_int_equal(id, 1);
	fault_close(fd);
	assert_int_equal(destroy(ctx, id), 0);
}

/* The fd keeps the context alive, as the kernel's file does. */
static void test_fd_keeps_context(void **state)
{
	struct uiommufd_ctx *ctx;
	struct iommufd_fault *fault;
	struct iommu_hwpt_pgfault rec;
	uint32_t id;
	int fd;

	(void)state;
	assert_int_equal(uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx), 0);
	assert_int_equal(fault_alloc(ctx, 0, &id, &fd), 0);
	fault = get_fault(ctx, id);
	report(ctx, fault, 7, 0x1000, &handle_a);
	put_fault(ctx, fault);
	/* The program closes /dev/iommu first; the queue still works. */
	uiommufd_ctx_put(ctx);
	assert_true(readable(fd));
	assert_int_equal(uiommufd_host_inproc_fd_read(fd, &rec, sizeof(rec)), REC);
	assert_int_equal(rec.dev_id, 7);
	assert_int_equal(respond(fd, rec.cookie, IOMMUFD_PAGE_RESP_SUCCESS), RESP);
	/* The last close takes the context with it (ASan sees any leak). */
	fault_close(fd);
}

/* Pending groups go with the object, answered (no leak under ASan). */
static void test_destroy_with_pending(void **state)
{
	struct uiommufd_ctx *ctx;
	struct iommufd_fault *fault;
	struct iommu_hwpt_pgfault rec;
	uint32_t id;
	int fd;

	(void)state;
	assert_int_equal(uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx), 0);
	assert_int_equal(fault_alloc(ctx, 0, &id, &fd), 0);
	fault = get_fault(ctx, id);
	report(ctx, fault, 1, 0x1000, &handle_a);
	report(ctx, fault, 1, 0x2000, &handle_a);
	report(ctx, fault, 1, 0x3000, &handle_b);
	/* One read and unanswered, two never read. */
	assert_int_equal(uiommufd_host_inproc_fd_read(fd, &rec, sizeof(rec)), REC);
	put_fault(ctx, fault);
	fault_close(fd);
	assert_int_equal(destroy(ctx, id), 0);
	uiommufd_ctx_put(ctx);
}

/* ------------------------------------------------------------ reading */

static void test_read_record(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_pgfault rec;
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)f->ctx;

	/* Nothing pending: not readable, and read returns 0 at once. */
	assert_false(readable(f->fd));
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, &rec, sizeof(rec)), 0);

	pthread_mutex_lock(&ictx->lock);
	assert_int_equal(iommufd_fault_report(f->fault, 5, 0x1234, 0x56,
					      IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE,
					      0xdeadb000,
					      IOMMU_PGFAULT_FLAGS_PASID_VALID |
						      IOMMU_PGFAULT_FLAGS_LAST_PAGE,
					      &handle_a),
			 0);
	pthread_mutex_unlock(&ictx->lock);
	assert_true(readable(f->fd));
	assert_true(poll_events(f->fd) & POLLRDNORM);

	memset(&rec, 0xff, sizeof(rec));
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, &rec, sizeof(rec)), REC);
	assert_int_equal(rec.flags,
			 IOMMU_PGFAULT_FLAGS_PASID_VALID | IOMMU_PGFAULT_FLAGS_LAST_PAGE);
	assert_int_equal(rec.dev_id, 5);
	assert_int_equal(rec.pasid, 0x1234);
	assert_int_equal(rec.grpid, 0x56);
	assert_int_equal(rec.perm, IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE);
	assert_int_equal(rec.__reserved, 0);
	assert_int_equal(rec.addr, 0xdeadb000);
	assert_int_equal(rec.length, 0);
	assert_int_equal(rec.cookie, 1);

	/* Read moves it to the response table: nothing left to read. */
	assert_false(readable(f->fd));
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, &rec, sizeof(rec)), 0);
}

/* A group is always its own last page. */
static void test_report_sets_last_page(void **state)
{
	struct fixture *f = *state;
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)f->ctx;
	struct iommu_hwpt_pgfault rec;

	pthread_mutex_lock(&ictx->lock);
	assert_int_equal(iommufd_fault_report(f->fault, 1, 0, 0, 0, 0, 0, &handle_a), 0);
	pthread_mutex_unlock(&ictx->lock);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, &rec, sizeof(rec)), REC);
	assert_int_equal(rec.flags, IOMMU_PGFAULT_FLAGS_LAST_PAGE);
}

/* Sizes: whole records only (ESPIPE otherwise); as many as fit. */
static void test_read_sizes(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_pgfault rec[4];
	int i;

	for (i = 0; i != 3; i++)
		report(f->ctx, f->fault, 1, 0x1000 * (i + 1), &handle_a);

	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, REC - 1), -ESPIPE);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, 16), -ESPIPE);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, REC + 1), -ESPIPE);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, 2 * REC - 8), -ESPIPE);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, 0), 0);
	assert_true(readable(f->fd));

	/* Two fit: two come, in order, still readable after. */
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, 2 * REC), 2 * REC);
	assert_int_equal(rec[0].addr, 0x1000);
	assert_int_equal(rec[0].cookie, 1);
	assert_int_equal(rec[1].addr, 0x2000);
	assert_int_equal(rec[1].cookie, 2);
	assert_true(readable(f->fd));

	/* Room for four, one left. */
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, 4 * REC), REC);
	assert_int_equal(rec[0].addr, 0x3000);
	assert_int_equal(rec[0].cookie, 3);
	assert_false(readable(f->fd));
}

/* A bad buffer: EFAULT, and the record stays to be read. */
static void test_read_efault(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_pgfault rec[2];
	void *ro;

	/*
	 * cmocka swaps SIGSEGV handlers between tests behind the host's back;
	 * the shim would have reported the munmaps that freed these addresses.
	 */
	uiommufd_host_inproc_mm_changed();
	report(f->ctx, f->fault, 1, 0x1000, &handle_a);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, NULL, REC), -EFAULT);
	ro = mmap(NULL, PSZ, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(ro, MAP_FAILED);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, ro, REC), -EFAULT);
	munmap(ro, PSZ);
	assert_true(readable(f->fd));
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, REC), REC);
	/* The failed reads took no cookie. */
	assert_int_equal(rec[0].cookie, 1);

	/* A fault on the second record: the first is returned. */
	{
		uint8_t *two = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct iommu_hwpt_pgfault *r;

		assert_ptr_not_equal(two, MAP_FAILED);
		assert_int_equal(mprotect(two + PSZ, PSZ, PROT_READ), 0);
		r = (struct iommu_hwpt_pgfault *)(two + PSZ - REC);
		report(f->ctx, f->fault, 1, 0x2000, &handle_a);
		report(f->ctx, f->fault, 1, 0x3000, &handle_a);
		assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, r, 2 * REC), REC);
		assert_int_equal(r->addr, 0x2000);
		assert_int_equal(r->cookie, 2);
		munmap(two, 2 * PSZ);
		assert_true(readable(f->fd));
		assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, 2 * REC), REC);
		assert_int_equal(rec[0].addr, 0x3000);
		assert_int_equal(rec[0].cookie, 3);
	}
}

/* O_NONBLOCK changes nothing: an empty queue reads 0, never EAGAIN. */
static void test_read_nonblock(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_pgfault rec;
	int fl = fcntl(f->fd, F_GETFL);

	assert_int_equal(fcntl(f->fd, F_SETFL, fl | O_NONBLOCK), 0);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, &rec, sizeof(rec)), 0);
	report(f->ctx, f->fault, 1, 0x1000, &handle_a);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, &rec, sizeof(rec)), REC);
}

/* ------------------------------------------------------------ responses */

static void test_respond(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_page_response r[3];
	struct iommu_hwpt_pgfault rec[2];
	uint64_t ok, inval;

	report(f->ctx, f->fault, 1, 0x1000, &handle_a);
	report(f->ctx, f->fault, 1, 0x2000, &handle_a);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, sizeof(rec)), 2 * REC);

	/* Unknown cookies, 0 included; unknown codes; partial records. */
	assert_int_equal(respond(f->fd, 0, IOMMUFD_PAGE_RESP_SUCCESS), -EINVAL);
	assert_int_equal(respond(f->fd, 99, IOMMUFD_PAGE_RESP_SUCCESS), -EINVAL);
	assert_int_equal(respond(f->fd, rec[0].cookie, 2), -EINVAL);
	assert_int_equal(uiommufd_host_inproc_fd_write(f->fd, r, RESP - 1), -ESPIPE);
	assert_int_equal(uiommufd_host_inproc_fd_write(f->fd, r, RESP + 4), -ESPIPE);
	assert_int_equal(uiommufd_host_inproc_fd_write(f->fd, NULL, RESP), -EFAULT);
	assert_int_equal(uiommufd_host_inproc_fd_write(f->fd, r, 0), 0);
	iommufd_fault_responses(f->fault, &ok, &inval);
	assert_int_equal(ok, 0);
	assert_int_equal(inval, 0);

	/* A valid one is consumed, once. */
	assert_int_equal(respond(f->fd, rec[0].cookie, IOMMUFD_PAGE_RESP_SUCCESS), RESP);
	assert_int_equal(respond(f->fd, rec[0].cookie, IOMMUFD_PAGE_RESP_SUCCESS), -EINVAL);

	/* A batch stops at the first bad one and reports what it did. */
	r[0] = (struct iommu_hwpt_page_response){ rec[1].cookie, IOMMUFD_PAGE_RESP_INVALID };
	r[1] = (struct iommu_hwpt_page_response){ 77, IOMMUFD_PAGE_RESP_SUCCESS };
	r[2] = (struct iommu_hwpt_page_response){ rec[1].cookie, IOMMUFD_PAGE_RESP_SUCCESS };
	assert_int_equal(uiommufd_host_inproc_fd_write(f->fd, r, sizeof(r)), RESP);
	iommufd_fault_responses(f->fault, &ok, &inval);
	assert_int_equal(ok, 1);
	assert_int_equal(inval, 1);
}

/* Cookies are the lowest free from 1, as an ALLOC1 xarray gives them. */
static void test_cookie_reuse(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_page_response r[2];
	struct iommu_hwpt_pgfault rec[3];

	report(f->ctx, f->fault, 1, 0x1000, &handle_a);
	report(f->ctx, f->fault, 1, 0x2000, &handle_a);
	report(f->ctx, f->fault, 1, 0x3000, &handle_a);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, sizeof(rec)), 3 * REC);
	assert_int_equal(rec[2].cookie, 3);
	r[0] = (struct iommu_hwpt_page_response){ 2, IOMMUFD_PAGE_RESP_SUCCESS };
	r[1] = (struct iommu_hwpt_page_response){ 1, IOMMUFD_PAGE_RESP_SUCCESS };
	assert_int_equal(uiommufd_host_inproc_fd_write(f->fd, r, sizeof(r)), 2 * RESP);
	report(f->ctx, f->fault, 1, 0x4000, &handle_a);
	report(f->ctx, f->fault, 1, 0x5000, &handle_a);
	report(f->ctx, f->fault, 1, 0x6000, &handle_a);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, sizeof(rec)), 3 * REC);
	assert_int_equal(rec[0].cookie, 1);
	assert_int_equal(rec[1].cookie, 2);
	assert_int_equal(rec[2].cookie, 4);
}

/* Many outstanding groups: the table grows, every cookie answers once. */
static void test_many(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_page_response r;
	struct iommu_hwpt_pgfault rec;
	uint64_t ok, inval;
	uint32_t i;

	for (i = 0; i != 1000; i++)
		report(f->ctx, f->fault, 1, i, &handle_a);
	for (i = 0; i != 1000; i++) {
		assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, &rec, sizeof(rec)), REC);
		assert_int_equal(rec.addr, i);
		assert_int_equal(rec.cookie, i + 1);
	}
	assert_false(readable(f->fd));
	for (i = 1000; i; i--) {
		r = (struct iommu_hwpt_page_response){ i, IOMMUFD_PAGE_RESP_SUCCESS };
		assert_int_equal(uiommufd_host_inproc_fd_write(f->fd, &r, sizeof(r)), RESP);
	}
	iommufd_fault_responses(f->fault, &ok, &inval);
	assert_int_equal(ok, 1000);
	assert_int_equal(inval, 0);
}

/* ------------------------------------------------------------ readiness */

/* poll() says POLLIN exactly while records wait to be read. */
static void test_poll(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_pgfault rec;
	int i;

	for (i = 0; i != 3; i++) {
		assert_false(readable(f->fd));
		report(f->ctx, f->fault, 1, 0x1000, &handle_a);
		assert_true(readable(f->fd));
		report(f->ctx, f->fault, 1, 0x2000, &handle_a);
		assert_true(readable(f->fd));
		assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, &rec, sizeof(rec)), REC);
		assert_true(readable(f->fd));
		/* Answering does not change readability. */
		assert_int_equal(respond(f->fd, rec.cookie, IOMMUFD_PAGE_RESP_SUCCESS), RESP);
		assert_true(readable(f->fd));
		assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, &rec, sizeof(rec)), REC);
		assert_false(readable(f->fd));
		assert_int_equal(respond(f->fd, rec.cookie, IOMMUFD_PAGE_RESP_SUCCESS), RESP);
	}
	/* A dup sees the same file. */
	{
		int d = dup(f->fd);

		uiommufd_host_inproc_fd_dup(f->fd, d);
		report(f->ctx, f->fault, 1, 0x3000, &handle_a);
		assert_true(readable(d));
		assert_int_equal(uiommufd_host_inproc_fd_read(d, &rec, sizeof(rec)), REC);
		assert_false(readable(f->fd));
		fault_close(d);
	}
}

/* select() and epoll, edge-triggered: every report is an event, as wake_up() gives. */
static void test_epoll(void **state)
{
	struct fixture *f = *state;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET }, out[2];
	struct iommu_hwpt_pgfault rec[2];
	struct timeval tv = { 0, 0 };
	fd_set rd;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, f->fd, &ev), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 0);

	report(f->ctx, f->fault, 1, 0x1000, &handle_a);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 1);
	assert_true(out[0].events & EPOLLIN);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 0);
	/* Still pending, and a new one comes: an event again. */
	report(f->ctx, f->fault, 1, 0x2000, &handle_a);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 1);

	FD_ZERO(&rd);
	FD_SET(f->fd, &rd);
	assert_int_equal(select(f->fd + 1, &rd, NULL, NULL, &tv), 1);
	assert_true(FD_ISSET(f->fd, &rd));

	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, sizeof(rec)), 2 * REC);
	FD_ZERO(&rd);
	FD_SET(f->fd, &rd);
	assert_int_equal(select(f->fd + 1, &rd, NULL, NULL, &tv), 0);

	/* Level-triggered: readable until read. */
	ev.events = EPOLLIN;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_MOD, f->fd, &ev), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 0);
	report(f->ctx, f->fault, 1, 0x3000, &handle_a);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 1);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 1);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, sizeof(rec)), REC);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 0);
	close(ep);
}

struct reader {
	int fd;
	struct iommu_hwpt_pgfault rec;
	ssize_t got;
};

static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	struct pollfd p = { .fd = r->fd, .events = POLLIN };

	if (poll(&p, 1, 10000) == 1)
		r->got = uiommufd_host_inproc_fd_read(r->fd, &r->rec, sizeof(r->rec));
	if (r->got == REC)
		uiommufd_host_inproc_fd_write(r->fd,
					      &(struct iommu_hwpt_page_response){
						      r->rec.cookie, IOMMUFD_PAGE_RESP_SUCCESS },
					      RESP);
	return NULL;
}

/* A thread blocked in poll() wakes on a report from another. */
static void test_poll_wakes_thread(void **state)
{
	struct fixture *f = *state;
	struct reader r = { .fd = f->fd };
	uint64_t ok, inval;
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, reader_thread, &r), 0);
	usleep(20000);
	report(f->ctx, f->fault, 3, 0xabc000, &handle_a);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.got, REC);
	assert_int_equal(r.rec.dev_id, 3);
	assert_int_equal(r.rec.addr, 0xabc000);
	iommufd_fault_responses(f->fault, &ok, &inval);
	assert_int_equal(ok, 1);
}

/* ------------------------------------------------------------ auto response */

static void test_auto_response(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_pgfault rec[4];
	uint64_t ok, inval;

	/* Read but unanswered: one of A, one of B. */
	report(f->ctx, f->fault, 1, 0x1000, &handle_a);
	report(f->ctx, f->fault, 2, 0x2000, &handle_b);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, 2 * REC), 2 * REC);
	/* Pending: A, B, A. */
	report(f->ctx, f->fault, 1, 0x3000, &handle_a);
	report(f->ctx, f->fault, 2, 0x4000, &handle_b);
	report(f->ctx, f->fault, 1, 0x5000, &handle_a);

	auto_response(f->ctx, f->fault, NULL);	/* no handle: nothing */
	auto_response(f->ctx, f->fault, &handle_a);
	iommufd_fault_responses(f->fault, &ok, &inval);
	assert_int_equal(ok, 0);
	assert_int_equal(inval, 3);
	/* A's read group is gone from the response table. */
	assert_int_equal(respond(f->fd, rec[0].cookie, IOMMUFD_PAGE_RESP_SUCCESS), -EINVAL);
	assert_int_equal(respond(f->fd, rec[1].cookie, IOMMUFD_PAGE_RESP_SUCCESS), RESP);

	/* Only B's pending one is left; a report after still queues at the end. */
	assert_true(readable(f->fd));
	report(f->ctx, f->fault, 1, 0x6000, &handle_a);
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, sizeof(rec)), 2 * REC);
	assert_int_equal(rec[0].addr, 0x4000);
	assert_int_equal(rec[1].addr, 0x6000);
	assert_false(readable(f->fd));

	/* Clearing everything pending makes it unreadable. */
	report(f->ctx, f->fault, 2, 0x7000, &handle_b);
	assert_true(readable(f->fd));
	auto_response(f->ctx, f->fault, &handle_b);
	assert_false(readable(f->fd));
	assert_int_equal(uiommufd_host_inproc_fd_read(f->fd, rec, sizeof(rec)), 0);
	iommufd_fault_responses(f->fault, &ok, &inval);
	assert_int_equal(ok, 1);
	assert_int_equal(inval, 5);
}

/* ------------------------------------------------------------ helpers */

/* Any other descriptor reads and writes as usual through the helpers. */
static void test_helpers_pass_through(void **state)
{
	char buf[4] = "abc", got[4] = {};
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(uiommufd_host_inproc_fd_write(p[1], buf, 3), 3);
	assert_int_equal(uiommufd_host_inproc_fd_read(p[0], got, sizeof(got)), 3);
	assert_string_equal(got, "abc");
	close(p[0]);
	close(p[1]);
	errno = 1234;
	assert_int_equal(uiommufd_host_inproc_fd_read(p[0], got, 1), -EBADF);
	assert_int_equal(errno, 1234);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define C(fn) cmocka_unit_test_setup_teardown(fn, setup_ctx, teardown_ctx)
	const struct CMUnitTest tests[] = {
		C(test_alloc),
		C(test_get_fault_type),
		C(test_alloc_respond_fails),
		cmocka_unit_test(test_fd_keeps_context),
		cmocka_unit_test(test_destroy_with_pending),
		T(test_read_record),
		T(test_report_sets_last_page),
		T(test_read_sizes),
		T(test_read_efault),
		T(test_read_nonblock),
		T(test_respond),
		T(test_cookie_reuse),
		T(test_many),
		T(test_poll),
		T(test_epoll),
		T(test_poll_wakes_thread),
		T(test_auto_response),
		cmocka_unit_test(test_helpers_pass_through),
	};

	return cmocka_run_group_tests_name("fault", tests, NULL, NULL);
}
