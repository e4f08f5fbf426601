/* SPDX-License-Identifier: MIT */
/*
 * Event queues (eventq.c): the fault queue, IOMMUFD_OBJ_FAULT, and the
 * vIOMMU event queue, IOMMUFD_OBJ_VEVENTQ.
 *
 * Each is an object with a file.  Page requests reported to a fault queue
 * wait on its deliver list until the program read()s them from the file;
 * each group read gets a cookie and waits in the response table until the
 * program write()s an answer for that cookie.  vIOMMU events reported
 * with iommufd_viommu_report_event() (declared in iommufd_private.h, the
 * drivers' side) wait, at most veventq_depth of them, until read(); the
 * file has no write().  A file polls readable while its deliver list is
 * not empty.
 *
 * Locking: each queue has its own mutex.  Reports, auto responses and the
 * destructors run under ctx->lock (inside ioctls); read() and write() of
 * the files come from any thread without it.  Order: ctx->lock, then the
 * queue's mutex.
 */
#ifndef UIOMMUFD_CORE_EVENTQ_H
#define UIOMMUFD_CORE_EVENTQ_H

#include "core/iommufd_private.h"

struct iommufd_fault;

/* The fault queue @id of @ictx with a users reference; ERR_PTR(-ENOENT) if none. */
struct iommufd_fault *iommufd_get_fault(struct iommufd_ctx *ictx, uint32_t id);

/* The queue's object, for reference counting (users). */
struct iommufd_object *iommufd_fault_obj(struct iommufd_fault *fault);

/*
 * Deliver one page request of device @dev_id (the iommufd device's object
 * ID), as iommufd_fault_iopf_handler() does: a group of one fault, which is
 * its own last page (IOMMU_PGFAULT_FLAGS_LAST_PAGE is set in @flags if
 * missing).  @flags are IOMMU_PGFAULT_FLAGS_*, @perm IOMMU_PGFAULT_PERM_*.
 * @attach_handle is opaque: the attachment the request came through, for
 * iommufd_fault_auto_response().  The file's pollers are woken.  Called
 * with ctx->lock held.  Returns 0 or -ENOMEM.
 */
int iommufd_fault_report(struct iommufd_fault *fault, uint32_t dev_id, uint32_t pasid,
			 uint32_t grpid, uint32_t perm, uint64_t addr, uint32_t flags,
			 void *attach_handle);

/*
 * Answer IOMMUFD_PAGE_RESP_INVALID to every group of @attach_handle, read
 * or not, and drop them, as iommufd_auto_response_faults() does when the
 * attachment goes (detach, replace).  Called with ctx->lock held.
 */
void iommufd_fault_auto_response(struct iommufd_fault *fault, void *attach_handle);

/* The object destructor (IOMMUFD_OBJ_FAULT): pending groups are answered INVALID. */
void iommufd_fault_destroy(struct iommufd_object *obj);

/*
 * Groups answered so far with each code (IOMMUFD_PAGE_RESP_SUCCESS,
 * IOMMUFD_PAGE_RESP_INVALID), by the program or automatically: what the
 * device saw, for tests.
 */
void iommufd_fault_responses(struct iommufd_fault *fault, uint64_t *success,
			     uint64_t *invalid);

#endif
