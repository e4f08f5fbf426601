// SPDX-License-Identifier: MIT
/*
 * Event queues: the fault queue (IOPF) and the vIOMMU event queue.
 *
 * Both are objects with a file descriptor the program reads records from.
 * What they share is struct iommufd_eventq, the kernel's: the object, the
 * file and a mutex over the queue's own state.  The file holds a users
 * reference on the object and a reference on the context until its last
 * close, as the kernel's does: IOMMU_DESTROY of a queue is EBUSY while its
 * fd is open, and closing /dev/iommu first leaves the queue working.  The
 * file polls readable exactly while a record waits to be read; a read
 * never blocks, O_NONBLOCK or not, and returns 0 on an empty queue.
 *
 * The fault queue (IOMMUFD_OBJ_FAULT) is the kernel's: a HWPT allocated
 * with IOMMU_HWPT_FAULT_ID_VALID sends the page requests of its devices
 * here.  A request waits on the deliver list until read() takes it; read()
 * gives each group a cookie, the lowest free one from 1 (an ALLOC1 xarray
 * in the kernel), and moves it to the response table, where it waits for
 * the program to write() a struct iommu_hwpt_page_response with that
 * cookie.  Reads and writes move whole records only: a count that is not a
 * multiple of the record is ESPIPE; an unknown cookie or response code is
 * EINVAL; both return the bytes done before a failure, if any.  When an
 * attachment goes (detach, replace) its groups are answered INVALID; so is
 * everything left when the object goes.
 *
 * The vIOMMU event queue (IOMMUFD_OBJ_VEVENTQ) carries a vIOMMU's events
 * of one type (one queue per type per vIOMMU), reported by its driver
 * through iommufd_viommu_report_event().  Each record is a struct
 * iommufd_vevent_header followed by the driver's payload.  Every report
 * takes the next sequence number, 0 to INT_MAX and round again.  At most
 * @depth records wait; a report beyond that queues the LOST_EVENTS marker
 * instead, a header with no payload.  There is one marker per queue and it
 * is only ever last: a later overflow moves it to the end with a new
 * number, and a later record replaces it, the gap in the sequence then
 * telling the loss.  read() returns whole records only: a count below a
 * header is EINVAL, and so is one too small for the first record; else as
 * many records as fit, stopping at the first that does not.  There is no
 * write().
 *
 * Locking: reports, auto responses, allocation and destroy run under
 * ctx->lock; read() and write() of the files come from any thread without
 * it.  A queue's own mutex covers its records and is taken after
 * ctx->lock, never before.  A vIOMMU's list of queues changes only under
 * ctx->lock, which reports hold, so a report never sees a queue going.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "core/eventq.h"

/* The kernel's arbitrary bound on veventq_depth. */
#define IOMMU_VEVENTQ_MAX_DEPTH (1u << 19)

/* The response table's cap, as xa_limit_32b would be reached: never in practice. */
#define FAULT_COOKIE_LIMIT (1u << 31)

/* ------------------------------------------------------------- common part */

/* What every event queue starts with (the kernel's struct iommufd_eventq). */
struct iommufd_eventq {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct uiommufd_host *host;
	pthread_mutex_t mutex;		/* the queue's records */
	struct host_anon *file;		/* the fd's file; NULL once released */
};

/* Say whether the file polls readable; true also wakes its pollers.  Under the mutex. */
static void eventq_set_readable(struct iommufd_eventq *eventq, bool readable)
{
	if (eventq->file)
		eventq->host->ops->anon_set_readable(eventq->host, eventq->file, readable);
}

/* The last close of the fd: the file's references go, as the kernel's release. */
static void iommufd_eventq_fops_release(void *priv)
{
	struct iommufd_eventq *eventq = priv;
	struct iommufd_ctx *ictx = eventq->ictx;

	pthread_mutex_lock(&ictx->lock);
	pthread_mutex_lock(&eventq->mutex);
	eventq->file = NULL;
	pthread_mutex_unlock(&eventq->mutex);
	eventq->obj.users--;
	pthread_mutex_unlock(&ictx->lock);
	uiommufd_ctx_put((struct uiommufd_ctx *)ictx);
}

/*
 * Set up @eventq, just allocated, and make its fd with @fops (whose
 * release must be iommufd_eventq_fops_release()).  Returns the fd, or a
 * negative errno with the file's references undone; the mutex is set up
 * either way, for the destructor.  A caller whose command then fails
 * withdraws the fd, which drops the references again, before dispatch
 * aborts the object.
 */
static int iommufd_eventq_init(struct iommufd_eventq *eventq, struct iommufd_ctx *ictx,
			       const struct host_anon_ops *fops)
{
	struct uiommufd_host *host = ictx->host;
	int fd;

	eventq->ictx = ictx;
	eventq->host = host;
	pthread_mutex_init(&eventq->mutex, NULL);

	/* The file's references, which its release drops. */
	eventq->obj.users++;
	ictx->refs++;
	fd = host->ops->anon_fd_file(host, fops, eventq, O_CLOEXEC, &eventq->file);
	if (fd < 0) {
		eventq->obj.users--;
		ictx->refs--;	/* the caller holds another */
	}
	return fd;
}

/* ------------------------------------------------------------- fault queue */

/* One page request group: a single fault here (see iommufd_fault_report()). */
struct iommufd_fault_group {
	struct iommufd_fault_group *next;	/* on the deliver list */
	void *attach_handle;
	uint32_t cookie;			/* in the response table once read */
	struct iommu_hwpt_pgfault rec;		/* the record, but its cookie */
};

struct iommufd_fault {
	struct iommufd_eventq common;
	/* Under common.mutex: */
	struct iommufd_fault_group *deliver, **deliver_tail;
	struct iommufd_fault_group **response;	/* cookie -> group; slot 0 unused */
	uint32_t nr_response;		/* slots */
	uint32_t response_hint;		/* every cookie below it is taken */
	uint64_t nr_success, nr_invalid;	/* groups answered, by code */
};

static struct iommufd_fault *eventq_to_fault(void *eventq)
{
	return container_of(eventq, struct iommufd_fault, common);
}

struct iommufd_object *iommufd_fault_obj(struct iommufd_fault *fault)
{
	return &fault->common.obj;
}

struct iommufd_fault *iommufd_get_fault(struct iommufd_ctx *ictx, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_FAULT);

	if (IS_ERR(obj))
		return (void *)obj;
	return container_of(obj, struct iommufd_fault, common.obj);
}

/* The file polls readable exactly while something waits to be read. */
static void fault_update_readable(struct iommufd_fault *fault, bool woken)
{
	if (woken)
		eventq_set_readable(&fault->common, true);
	else if (!fault->deliver)
		eventq_set_readable(&fault->common, false);
}

/* The device gets its answer (the mock IOMMU's page_response does nothing more). */
static void fault_group_respond(struct iommufd_fault *fault, struct iommufd_fault_group *group,
				uint32_t code)
{
	if (code == IOMMUFD_PAGE_RESP_SUCCESS)
		fault->nr_success++;
	else
		fault->nr_invalid++;
	free(group);
}

/* Give @group the lowest free cookie, as xa_alloc() on an ALLOC1 xarray. */
static int fault_response_alloc(struct iommufd_fault *fault, struct iommufd_fault_group *group)
{
	uint32_t id;

	for (id = fault->response_hint; id < fault->nr_response; id++)
		if (!fault->response[id])
			goto found;
	{
		uint32_t old_nr = fault->nr_response;
		uint32_t new_nr = old_nr ? old_nr * 2 : 16;
		struct iommufd_fault_group **grown;

		if (old_nr >= FAULT_COOKIE_LIMIT)
			return -EBUSY;
		grown = iommufd_realloc_array(fault->response, new_nr, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		memset(grown + old_nr, 0, (new_nr - old_nr) * sizeof(*grown));
		fault->response = grown;
		fault->nr_response = new_nr;
		id = old_nr ? old_nr : 1;
	}
found:
	fault->response[id] = group;
	group->cookie = id;
	fault->response_hint = id + 1;
	return 0;
}

static struct iommufd_fault_group *fault_response_erase(struct iommufd_fault *fault,
							 uint32_t cookie)
{
	struct iommufd_fault_group *group;

	if (!cookie || cookie >= fault->nr_response)
		return NULL;
	group = fault->response[cookie];
	if (!group)
		return NULL;
	fault->response[cookie] = NULL;
	if (cookie < fault->response_hint)
		fault->response_hint = cookie;
	return group;
}

static ssize_t iommufd_fault_fops_read(void *priv, uint64_t ubuf, size_t count, int fflags)
{
	const size_t fault_size = sizeof(struct iommu_hwpt_pgfault);
	struct iommufd_fault *fault = eventq_to_fault(priv);
	struct iommufd_fault_group *group;
	size_t done = 0;
	int rc = 0;

	if (count % fault_size)
		return -ESPIPE;

	pthread_mutex_lock(&fault->common.mutex);
	/* Whole groups only; every group here is one record. */
	while ((group = fault->deliver) && done < count && fault_size <= count - done) {
		struct iommu_hwpt_pgfault rec;

		rc = fault_response_alloc(fault, group);
		if (rc)
			break;
		rec = group->rec;
		rec.cookie = group->cookie;
		if (copy_to_user(fault->common.host, ubuf + done, &rec, fault_size)) {
			fault_response_erase(fault, group->cookie);
			rc = -EFAULT;
			break;
		}
		fault->deliver = group->next;
		if (!fault->deliver)
			fault->deliver_tail = &fault->deliver;
		group->next = NULL;
		done += fault_size;
	}
	if (done)
		fault_update_readable(fault, false);
	pthread_mutex_unlock(&fault->common.mutex);

	return done ? (ssize_t)done : rc;
}

static ssize_t iommufd_fault_fops_write(void *priv, uint64_t ubuf, size_t count, int fflags)
{
	const size_t response_size = sizeof(struct iommu_hwpt_page_response);
	struct iommufd_fault *fault = eventq_to_fault(priv);
	struct iommu_hwpt_page_response response;
	struct iommufd_fault_group *group;
	size_t done = 0;
	int rc = 0;

	if (count % response_size)
		return -ESPIPE;

	pthread_mutex_lock(&fault->common.mutex);
	while (count > done) {
		/*
		 * The kernel returns copy_from_user()'s count of bytes not
		 * copied here (a positive "success"); EFAULT is what it means.
		 */
		if (copy_from_user(fault->common.host, &response, ubuf + done, response_size)) {
			rc = -EFAULT;
			break;
		}
		if (response.code != IOMMUFD_PAGE_RESP_SUCCESS &&
		    response.code != IOMMUFD_PAGE_RESP_INVALID) {
			rc = -EINVAL;
			break;
		}
		group = fault_response_erase(fault, response.cookie);
		if (!group) {
			rc = -EINVAL;
			break;
		}
		fault_group_respond(fault, group, response.code);
		done += response_size;
	}
	pthread_mutex_unlock(&fault->common.mutex);

	return done ? (ssize_t)done : rc;
}

static const struct host_anon_ops iommufd_fault_fops = {
	.name = "[iommufd-pgfault]",
	.release = iommufd_eventq_fops_release,
	.read = iommufd_fault_fops_read,
	.write = iommufd_fault_fops_write,
};

int iommufd_fault_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_fault_alloc *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_fault *fault;
	int fd, rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	fault = iommufd_object_alloc_ucmd(ucmd, fault, IOMMUFD_OBJ_FAULT);
	if (IS_ERR(fault))
		return (int)PTR_ERR(fault);
	fault->deliver_tail = &fault->deliver;
	fault->response_hint = 1;

	/* On any failure from here dispatch aborts the object. */
	fd = iommufd_eventq_init(&fault->common, ictx, &iommufd_fault_fops);
	if (fd < 0)
		return fd;

	cmd->out_fault_id = fault->common.obj.id;
	cmd->out_fault_fd = (uint32_t)fd;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		ictx->host->ops->anon_withdraw(ictx->host, fd);
	return rc;
}

int iommufd_fault_report(struct iommufd_fault *fault, uint32_t dev_id, uint32_t pasid,
			 uint32_t grpid, uint32_t perm, uint64_t addr, uint32_t flags,
			 void *attach_handle)
{
	struct iommufd_fault_group *group = iommufd_zalloc(sizeof(*group));

	if (!group)
		return -ENOMEM;
	group->attach_handle = attach_handle;
	group->rec = (struct iommu_hwpt_pgfault){
		.flags = flags | IOMMU_PGFAULT_FLAGS_LAST_PAGE,
		.dev_id = dev_id,
		.pasid = pasid,
		.grpid = grpid,
		.perm = perm,
		.addr = addr,
		.length = 0,
	};

	pthread_mutex_lock(&fault->common.mutex);
	*fault->deliver_tail = group;
	fault->deliver_tail = &group->next;
	fault_update_readable(fault, true);
	pthread_mutex_unlock(&fault->common.mutex);
	return 0;
}

void iommufd_fault_auto_response(struct iommufd_fault *fault, void *attach_handle)
{
	struct iommufd_fault_group **pp, *group;
	bool undelivered = false;
	uint32_t id;

	if (!fault || !attach_handle)
		return;

	pthread_mutex_lock(&fault->common.mutex);
	fault->deliver_tail = &fault->deliver;
	for (pp = &fault->deliver; (group = *pp);) {
		if (group->attach_handle != attach_handle) {
			pp = &group->next;
			fault->deliver_tail = pp;
			continue;
		}
		*pp = group->next;
		fault_group_respond(fault, group, IOMMUFD_PAGE_RESP_INVALID);
		undelivered = true;
	}
	for (id = 1; id < fault->nr_response; id++) {
		group = fault->response[id];
		if (group && group->attach_handle == attach_handle)
			fault_group_respond(fault, fault_response_erase(fault, id),
					    IOMMUFD_PAGE_RESP_INVALID);
	}
	if (undelivered)
		fault_update_readable(fault, false);
	pthread_mutex_unlock(&fault->common.mutex);
}

void iommufd_fault_responses(struct iommufd_fault *fault, uint64_t *success, uint64_t *invalid)
{
	pthread_mutex_lock(&fault->common.mutex);
	*success = fault->nr_success;
	*invalid = fault->nr_invalid;
	pthread_mutex_unlock(&fault->common.mutex);
}

/* Nothing holds the queue but the table: its file is closed. */
void iommufd_fault_destroy(struct iommufd_object *obj)
{
	struct iommufd_fault *fault = container_of(obj, struct iommufd_fault, common.obj);
	struct iommufd_fault_group *group;
	uint32_t id;

	while ((group = fault->deliver)) {
		fault->deliver = group->next;
		fault_group_respond(fault, group, IOMMUFD_PAGE_RESP_INVALID);
	}
	for (id = 1; id < fault->nr_response; id++)
		if (fault->response[id])
			fault_group_respond(fault, fault->response[id], IOMMUFD_PAGE_RESP_INVALID);
	free(fault->response);
	pthread_mutex_destroy(&fault->common.mutex);
}

/* ------------------------------------------------------- vIOMMU event queue */

/* One reported event: its header, then its payload, contiguous for one copy. */
struct iommufd_vevent {
	struct iommufd_vevent *next;	/* on the deliver list */
	size_t data_len;
	struct iommufd_vevent_header header;
	uint8_t data[];
};
_Static_assert(offsetof(struct iommufd_vevent, data) ==
		       offsetof(struct iommufd_vevent, header) +
			       sizeof(struct iommufd_vevent_header),
	       "a vEVENT's payload follows its header");

struct iommufd_veventq {
	struct iommufd_eventq common;
	struct iommufd_viommu *viommu;	/* users reference */
	struct iommufd_veventq *next;	/* on viommu->veventqs */
	uint32_t type;
	uint32_t depth;
	/* Under common.mutex: */
	struct iommufd_vevent *deliver, **deliver_tail;
	uint32_t num_events;		/* records on deliver; the marker is not one */
	uint32_t sequence;		/* the next report's */
	/*
	 * The LOST_EVENTS marker, the kernel's lost_events_header: queued
	 * after the last record while @lost_queued.  Being always last, it
	 * needs no place on the list.
	 */
	bool lost_queued;
	uint32_t lost_sequence;
};

static struct iommufd_veventq *eventq_to_veventq(void *eventq)
{
	return container_of(eventq, struct iommufd_veventq, common);
}

static struct iommufd_veventq *viommu_find_veventq(struct iommufd_viommu *viommu, uint32_t type)
{
	struct iommufd_veventq *veventq;

	for (veventq = viommu->veventqs; veventq; veventq = veventq->next)
		if (veventq->type == type)
			return veventq;
	return NULL;
}

/*
 * Queue @vevent, or the marker if NULL, as iommufd_vevent_handler() does:
 * whatever comes replaces a trailing marker, so the marker stays last and
 * appears once, and it takes the next sequence number.  Under the mutex.
 */
static void veventq_deliver(struct iommufd_veventq *veventq, struct iommufd_vevent *vevent)
{
	uint32_t sequence = veventq->sequence;

	veventq->sequence = (sequence + 1) & INT_MAX;
	veventq->lost_queued = !vevent;
	if (vevent) {
		vevent->header.sequence = sequence;
		*veventq->deliver_tail = vevent;
		veventq->deliver_tail = &vevent->next;
	} else {
		veventq->lost_sequence = sequence;
	}
	eventq_set_readable(&veventq->common, true);
}

int iommufd_viommu_report_event(struct iommufd_viommu *viommu, uint32_t type, const void *data,
				size_t len)
{
	struct iommufd_veventq *veventq;
	struct iommufd_vevent *vevent = NULL;
	size_t size;
	int rc = 0;

	/* A driver bug in the kernel (a WARN); no record without a payload. */
	if (!data || !len || check_add_overflow(sizeof(*vevent), len, &size))
		return -EINVAL;

	veventq = viommu_find_veventq(viommu, type);
	if (!veventq)
		return -EOPNOTSUPP;

	pthread_mutex_lock(&veventq->common.mutex);
	/* Full, or no memory: the event is lost, and the marker says so. */
	if (veventq->num_events != veventq->depth) {
		vevent = iommufd_zalloc(size);
		if (!vevent)
			rc = -ENOMEM;
	}
	if (vevent) {
		memcpy(vevent->data, data, len);
		vevent->data_len = len;
		veventq->num_events++;
	}
	veventq_deliver(veventq, vevent);
	pthread_mutex_unlock(&veventq->common.mutex);
	return rc;
}

static ssize_t iommufd_veventq_fops_read(void *priv, uint64_t ubuf, size_t count, int fflags)
{
	const size_t hdr_size = sizeof(struct iommufd_vevent_header);
	struct iommufd_veventq *veventq = eventq_to_veventq(priv);
	struct uiommufd_host *host = veventq->common.host;
	struct iommufd_vevent *cur;
	size_t done = 0;
	int rc = 0;

	/* Room for a header at least, even on an empty queue. */
	if (count < hdr_size)
		return -EINVAL;

	pthread_mutex_lock(&veventq->common.mutex);
	while ((cur = veventq->deliver)) {
		size_t len = hdr_size + cur->data_len;

		/* Whole records only; a first one that cannot fit is the caller's error. */
		if (len > count - done) {
			if (!done)
				rc = -EINVAL;
			break;
		}
		if (copy_to_user(host, ubuf + done, &cur->header, len)) {
			rc = -EFAULT;
			break;
		}
		veventq->deliver = cur->next;
		if (!veventq->deliver)
			veventq->deliver_tail = &veventq->deliver;
		veventq->num_events--;
		free(cur);
		done += len;
	}
	/* The marker, last and only a header, once every record before it went. */
	if (!cur && !rc && veventq->lost_queued && hdr_size <= count - done) {
		struct iommufd_vevent_header hdr = {
			.flags = IOMMU_VEVENTQ_FLAG_LOST_EVENTS,
			.sequence = veventq->lost_sequence,
		};

		if (copy_to_user(host, ubuf + done, &hdr, hdr_size)) {
			rc = -EFAULT;
		} else {
			veventq->lost_queued = false;
			done += hdr_size;
		}
	}
	if (done && !veventq->deliver && !veventq->lost_queued)
		eventq_set_readable(&veventq->common, false);
	pthread_mutex_unlock(&veventq->common.mutex);

	return done ? (ssize_t)done : rc;
}

/* Read and poll only: write() is EINVAL, as for a file without one. */
static const struct host_anon_ops iommufd_veventq_fops = {
	.name = "[iommufd-viommu-event]",
	.release = iommufd_eventq_fops_release,
	.read = iommufd_veventq_fops_read,
};

int iommufd_veventq_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_veventq_alloc *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_veventq *veventq;
	struct iommufd_viommu *viommu;
	int fd, rc;

	if (cmd->flags || cmd->__reserved || cmd->type == IOMMU_VEVENTQ_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	if (!cmd->veventq_depth || cmd->veventq_depth > IOMMU_VEVENTQ_MAX_DEPTH)
		return -EINVAL;

	viommu = iommufd_get_viommu(ictx, cmd->viommu_id);
	if (IS_ERR(viommu))
		return (int)PTR_ERR(viommu);

	if (viommu_find_veventq(viommu, cmd->type)) {
		rc = -EEXIST;
		goto out_put_viommu;
	}

	veventq = iommufd_object_alloc_ucmd(ucmd, veventq, IOMMUFD_OBJ_VEVENTQ);
	if (IS_ERR(veventq)) {
		rc = (int)PTR_ERR(veventq);
		goto out_put_viommu;
	}
	/* On any failure from here dispatch aborts the object: destroy undoes all this. */
	veventq->type = cmd->type;
	veventq->depth = cmd->veventq_depth;
	veventq->deliver_tail = &veventq->deliver;
	veventq->viommu = viommu;
	viommu->obj.users++;
	veventq->next = viommu->veventqs;
	viommu->veventqs = veventq;

	fd = iommufd_eventq_init(&veventq->common, ictx, &iommufd_veventq_fops);
	if (fd < 0) {
		rc = fd;
		goto out_put_viommu;
	}

	cmd->out_veventq_id = veventq->common.obj.id;
	cmd->out_veventq_fd = (uint32_t)fd;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		ictx->host->ops->anon_withdraw(ictx->host, fd);
out_put_viommu:
	iommufd_put_object(ictx, &viommu->obj);
	return rc;
}

/* Nothing holds the queue but the table: its file is closed. */
void iommufd_veventq_destroy(struct iommufd_object *obj)
{
	struct iommufd_veventq *veventq = container_of(obj, struct iommufd_veventq, common.obj);
	struct iommufd_viommu *viommu = veventq->viommu;
	struct iommufd_veventq **pp;
	struct iommufd_vevent *cur;

	while ((cur = veventq->deliver)) {
		veventq->deliver = cur->next;
		free(cur);
	}
	for (pp = &viommu->veventqs; *pp; pp = &(*pp)->next) {
		if (*pp == veventq) {
			*pp = veventq->next;
			break;
		}
	}
	viommu->obj.users--;
	pthread_mutex_destroy(&veventq->common.mutex);
}
