// SPDX-License-Identifier: MIT
/*
 * Event queues: the fault queue (IOPF) and the vIOMMU event queue.
 *
 * Both are objects with a file descriptor the program reads records from.
 *
 * The fault queue (IOMMUFD_OBJ_FAULT) is the kernel's: a HWPT allocated
 * with IOMMU_HWPT_FAULT_ID_VALID sends the page requests of its devices
 * here.  A request waits on the deliver list until read() takes it; read()
 * gives each group a cookie, the lowest free one from 1 (an ALLOC1 xarray
 * in the kernel), and moves it to the response table, where it waits for
 * the program to write() a struct iommu_hwpt_page_response with that
 * cookie.  Reads and writes move whole records only: a count that is not a
 * multiple of the record is ESPIPE; a read that finds nothing returns 0 and
 * never blocks, O_NONBLOCK or not; an unknown cookie or response code is
 * EINVAL; both return the bytes done before a failure, if any.  The file
 * always polls writable and polls readable while the deliver list is not
 * empty.  When an attachment goes (detach, replace) its groups are answered
 * INVALID; so is everything left when the object goes.
 *
 * The file holds a users reference on the object and a reference on the
 * context until its last close, as the kernel's does: IOMMU_DESTROY of the
 * queue is EBUSY while the fd is open.
 *
 * Locking: reports, auto responses and destroy run under ctx->lock; read()
 * and write() of the file come from any thread without it.  The queue's
 * own mutex covers its lists and is taken after ctx->lock, never before.
 *
 * Until vIOMMUs land, IOMMU_VEVENTQ_ALLOC runs the kernel's argument checks
 * and fails with the errno of a missing vIOMMU.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "core/eventq.h"

#define IOMMU_VEVENTQ_MAX_DEPTH (1u << 19)

/* The response table's cap, as xa_limit_32b would be reached: never in practice. */
#define FAULT_COOKIE_LIMIT (1u << 31)

/* One page request group: a single fault here (see iommufd_fault_report()). */
struct iommufd_fault_group {
	struct iommufd_fault_group *next;	/* on the deliver list */
	void *attach_handle;
	uint32_t cookie;			/* in the response table once read */
	struct iommu_hwpt_pgfault rec;		/* the record, but its cookie */
};

struct iommufd_fault {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct uiommufd_host *host;
	pthread_mutex_t mutex;		/* everything below */
	struct iommufd_fault_group *deliver, **deliver_tail;
	struct iommufd_fault_group **response;	/* cookie -> group; slot 0 unused */
	uint32_t nr_response;		/* slots */
	uint32_t response_hint;		/* every cookie below it is taken */
	struct host_anon *file;		/* the fd's file; NULL once released */
	uint64_t nr_success, nr_invalid;	/* groups answered, by code */
};

struct iommufd_object *iommufd_fault_obj(struct iommufd_fault *fault)
{
	return &fault->obj;
}

struct iommufd_fault *iommufd_get_fault(struct iommufd_ctx *ictx, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_FAULT);

	if (IS_ERR(obj))
		return (void *)obj;
	return container_of(obj, struct iommufd_fault, obj);
}

/* The file polls readable exactly while something waits to be read. */
static void fault_update_readable(struct iommufd_fault *fault, bool woken)
{
	if (!fault->file)
		return;
	if (woken)
		fault->host->ops->anon_set_readable(fault->host, fault->file, true);
	else if (!fault->deliver)
		fault->host->ops->anon_set_readable(fault->host, fault->file, false);
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
	struct iommufd_fault *fault = priv;
	struct iommufd_fault_group *group;
	size_t done = 0;
	int rc = 0;

	if (count % fault_size)
		return -ESPIPE;

	pthread_mutex_lock(&fault->mutex);
	/* Whole groups only; every group here is one record. */
	while ((group = fault->deliver) && done < count && fault_size <= count - done) {
		struct iommu_hwpt_pgfault rec;

		rc = fault_response_alloc(fault, group);
		if (rc)
			break;
		rec = group->rec;
		rec.cookie = group->cookie;
		if (copy_to_user(fault->host, ubuf + done, &rec, fault_size)) {
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
	pthread_mutex_unlock(&fault->mutex);

	return done ? (ssize_t)done : rc;
}

static ssize_t iommufd_fault_fops_write(void *priv, uint64_t ubuf, size_t count, int fflags)
{
	const size_t response_size = sizeof(struct iommu_hwpt_page_response);
	struct iommufd_fault *fault = priv;
	struct iommu_hwpt_page_response response;
	struct iommufd_fault_group *group;
	size_t done = 0;
	int rc = 0;

	if (count % response_size)
		return -ESPIPE;

	pthread_mutex_lock(&fault->mutex);
	while (count > done) {
		/*
		 * The kernel returns copy_from_user()'s count of bytes not
		 * copied here (a positive "success"); EFAULT is what it means.
		 */
		if (copy_from_user(fault->host, &response, ubuf + done, response_size)) {
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
	pthread_mutex_unlock(&fault->mutex);

	return done ? (ssize_t)done : rc;
}

/* The last close of the fd: the file's references go, as the kernel's release. */
static void iommufd_fault_fops_release(void *priv)
{
	struct iommufd_fault *fault = priv;
	struct iommufd_ctx *ictx = fault->ictx;

	pthread_mutex_lock(&ictx->lock);
	pthread_mutex_lock(&fault->mutex);
	fault->file = NULL;
	pthread_mutex_unlock(&fault->mutex);
	fault->obj.users--;
	pthread_mutex_unlock(&ictx->lock);
	uiommufd_ctx_put((struct uiommufd_ctx *)ictx);
}

static const struct host_anon_ops iommufd_fault_fops = {
	.name = "[iommufd-pgfault]",
	.release = iommufd_fault_fops_release,
	.read = iommufd_fault_fops_read,
	.write = iommufd_fault_fops_write,
};

int iommufd_fault_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_fault_alloc *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct uiommufd_host *host = ictx->host;
	struct iommufd_fault *fault;
	int fd, rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	fault = iommufd_object_alloc_ucmd(ucmd, fault, IOMMUFD_OBJ_FAULT);
	if (IS_ERR(fault))
		return (int)PTR_ERR(fault);
	fault->ictx = ictx;
	fault->host = host;
	pthread_mutex_init(&fault->mutex, NULL);
	fault->deliver_tail = &fault->deliver;
	fault->response_hint = 1;

	/* The file's references, which its release drops. */
	fault->obj.users++;
	ictx->refs++;
	fd = host->ops->anon_fd_file(host, &iommufd_fault_fops, fault, O_CLOEXEC, &fault->file);
	if (fd < 0) {
		fault->obj.users--;
		ictx->refs--;	/* the caller holds another */
		return fd;
	}

	cmd->out_fault_id = fault->obj.id;
	cmd->out_fault_fd = (uint32_t)fd;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	/* Dispatch aborts the object once the file has let it go. */
	if (rc)
		host->ops->anon_withdraw(host, fd);
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

	pthread_mutex_lock(&fault->mutex);
	*fault->deliver_tail = group;
	fault->deliver_tail = &group->next;
	fault_update_readable(fault, true);
	pthread_mutex_unlock(&fault->mutex);
	return 0;
}

void iommufd_fault_auto_response(struct iommufd_fault *fault, void *attach_handle)
{
	struct iommufd_fault_group **pp, *group;
	bool undelivered = false;
	uint32_t id;

	if (!fault || !attach_handle)
		return;

	pthread_mutex_lock(&fault->mutex);
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
	pthread_mutex_unlock(&fault->mutex);
}

void iommufd_fault_responses(struct iommufd_fault *fault, uint64_t *success, uint64_t *invalid)
{
	pthread_mutex_lock(&fault->mutex);
	*success = fault->nr_success;
	*invalid = fault->nr_invalid;
	pthread_mutex_unlock(&fault->mutex);
}

/* Nothing holds the queue but the table: its file is closed. */
void iommufd_fault_destroy(struct iommufd_object *obj)
{
	struct iommufd_fault *fault = container_of(obj, struct iommufd_fault, obj);
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
	pthread_mutex_destroy(&fault->mutex);
}

int iommufd_veventq_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_veventq_alloc *cmd = ucmd->cmd;
	struct iommufd_object *viommu;

	if (cmd->flags || cmd->__reserved || cmd->type == IOMMU_VEVENTQ_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	if (!cmd->veventq_depth || cmd->veventq_depth > IOMMU_VEVENTQ_MAX_DEPTH)
		return -EINVAL;
	viommu = iommufd_get_object(ucmd->ictx, cmd->viommu_id, IOMMUFD_OBJ_VIOMMU);
	if (IS_ERR(viommu))
		return PTR_ERR(viommu);
	iommufd_put_object(ucmd->ictx, viommu);
	return -EOPNOTSUPP;
}
