// SPDX-License-Identifier: MIT
/*
 * PASID attachments (device.c) through the mock IOMMU's PASID ops
 * (IOMMU_TEST_OP_PASID_ATTACH, _REPLACE, _DETACH, _CHECK_HWPT): the kernel's
 * errnos, the pasid-compat rules between the RID and its PASIDs, the
 * rollback of a replace the driver fails (the mock's PASID 1024), page
 * requests through a PASID, and what unbind does to PASIDs left attached.
 */
#include <pthread.h>
#include <stdlib.h>

#include "helpers.h"
#include "core/eventq.h"

#define NPAGES 4
#define PASID_A 100
#define PASID_B 200
#define PASID_MAX ((1u << MOCK_PASID_WIDTH) - 1)
#define REC sizeof(struct iommu_hwpt_pgfault)

struct fixture {
	struct uiommufd_ctx *ctx;
	uint32_t ioas;
	uint8_t *buf;
	struct mock_ids dev;	/* a PASID-capable mock device on an automatic HWPT */
	uint32_t s2;		/* a paging HWPT made with IOMMU_HWPT_ALLOC_PASID */
	uint32_t parent;	/* a NEST_PARENT paging HWPT, not pasid-compatible */
	uint32_t nested;	/* a pasid-compatible nested HWPT on @parent */
};

static long test_cmd(struct uiommufd_ctx *ctx, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return ictl(ctx, IOMMU_TEST_CMD, cmd);
}

/*
 * PASID_ATTACH, PASID_REPLACE or PASID_DETACH of @pasid on the stdev: the
 * three ops share one layout (pasid, then pt_id where it applies).
 */
static long pasid_op(struct uiommufd_ctx *ctx, uint32_t op, uint32_t stdev, uint32_t pasid,
		     uint32_t pt_id)
{
	struct iommu_test_cmd cmd = {
		.op = op, .id = stdev,
		.pasid_attach = { .pasid = pasid, .pt_id = pt_id },
	};

	return test_cmd(ctx, &cmd);
}

#define pasid_attach(ctx, stdev, pasid, pt_id) \
	pasid_op(ctx, IOMMU_TEST_OP_PASID_ATTACH, stdev, pasid, pt_id)
#define pasid_replace(ctx, stdev, pasid, pt_id) \
	pasid_op(ctx, IOMMU_TEST_OP_PASID_REPLACE, stdev, pasid, pt_id)
#define pasid_detach(ctx, stdev, pasid) \
	pasid_op(ctx, IOMMU_TEST_OP_PASID_DETACH, stdev, pasid, 0)

/* 0 when @pasid is attached to @hwpt (0: to nothing), else -EINVAL. */
static long pasid_check(struct uiommufd_ctx *ctx, uint32_t stdev, uint32_t pasid, uint32_t hwpt)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_PASID_CHECK_HWPT, .id = stdev,
		.pasid_check = { .pasid = pasid, .hwpt_id = hwpt },
	};

	return test_cmd(ctx, &cmd);
}

static long trigger_iopf(struct uiommufd_ctx *ctx, uint32_t dev_id, uint32_t pasid,
			 uint64_t addr)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = {
			.dev_id = dev_id, .pasid = pasid, .grpid = 0x2,
			.perm = IOMMU_PGFAULT_PERM_READ, .addr = addr,
		},
	};

	return test_cmd(ctx, &cmd);
}

static void fault_alloc(struct uiommufd_ctx *ctx, uint32_t *id, int *fd)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };

	assert_int_equal(ictl(ctx, IOMMU_FAULT_QUEUE_ALLOC, &cmd), 0);
	*id = cmd.out_fault_id;
	*fd = (int)cmd.out_fault_fd;
}

static void fault_close(int fd)
{
	uiommufd_host_inproc_fd_closed(fd);
	assert_int_equal(close(fd), 0);
}

/* Groups answered so far with SUCCESS and with INVALID by queue @id. */
static void fault_responses(struct uiommufd_ctx *ctx, uint32_t id, uint64_t *ok, uint64_t *inval)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)ctx;
	struct iommufd_fault *fault;

	pthread_mutex_lock(&ictx->lock);
	fault = iommufd_get_fault(ictx, id);
	assert_false(IS_ERR(fault));
	iommufd_fault_responses(fault, ok, inval);
	iommufd_put_object(ictx, iommufd_fault_obj(fault));
	pthread_mutex_unlock(&ictx->lock);
}

static ssize_t read_faults(int fd, struct iommu_hwpt_pgfault *rec, size_t n)
{
	return uiommufd_host_inproc_fd_read(fd, rec, n * REC);
}

static ssize_t respond(int fd, uint32_t cookie)
{
	struct iommu_hwpt_page_response r = { .cookie = cookie, .code = IOMMUFD_PAGE_RESP_SUCCESS };

	return uiommufd_host_inproc_fd_write(fd, &r, sizeof(r));
}

/* Nothing but the IDs in @keep (0-terminated) is left (IDs 1..63). */
static void assert_only_objects(struct uiommufd_ctx *ctx, const uint32_t *keep)
{
	uint32_t id;
	const uint32_t *k;

	for (id = 1; id < 64; id++) {
		for (k = keep; *k && *k != id; k++)
			;
		if (!*k)
			assert_int_equal(destroy(ctx, id), -ENOENT);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fixture_open(&f->ctx, &f->ioas, &f->buf, NPAGES))
		return -1;
	assert_int_equal(mock_domain_flags(f->ctx, f->ioas, MOCK_FLAGS_DEVICE_PASID, &f->dev), 0);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, IOMMU_HWPT_ALLOC_PASID, &f->s2),
			 0);
	assert_int_equal(hwpt_alloc(f->ctx, f->dev.idev, f->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
				    &f->parent), 0);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->dev.idev, f->parent, IOMMU_HWPT_ALLOC_PASID,
					   0, &f->nested), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fixture_close(f->ctx, f->buf, NPAGES);
	free(f);
	return 0;
}

/* Move the RID onto the pasid-compatible HWPT, as a PASID user must. */
static void rid_to_s2(struct fixture *f)
{
	uint32_t pt = f->s2;

	assert_int_equal(mock_domain_replace(f->ctx, f->dev.stdev, &pt), 0);
	assert_int_equal(pt, f->s2);
}

/* Destroy everything the fixture made; only the IOAS may remain. */
static void destroy_all(struct fixture *f)
{
	const uint32_t keep[] = { f->ioas, 0 };

	assert_int_equal(destroy(f->ctx, f->dev.stdev), 0);
	assert_int_equal(destroy(f->ctx, f->nested), 0);
	assert_int_equal(destroy(f->ctx, f->parent), 0);
	assert_int_equal(destroy(f->ctx, f->s2), 0);
	assert_only_objects(f->ctx, keep);
}

/* ------------------------------------------------------------- attach */

static void test_attach_detach(void **state)
{
	struct fixture *f = *state;

	/* Detaching what is not attached changes nothing and is no error. */
	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, PASID_A), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, 0), 0);

	rid_to_s2(f);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->s2), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, f->s2), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, f->nested), -EINVAL);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, 0), -EINVAL);
	/* Other PASIDs are untouched; the RID is at PASID 0. */
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_B, 0), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, IOMMU_NO_PASID, f->s2), 0);

	/* A nested HWPT at a second PASID, both at once. */
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_B, f->nested), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_B, f->nested), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, f->s2), 0);

	/* Attached HWPTs are busy. */
	assert_int_equal(destroy(f->ctx, f->nested), -EBUSY);
	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, PASID_B), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_B, 0), 0);
	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, PASID_B), 0);
	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, PASID_A), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, 0), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, IOMMU_NO_PASID, f->s2), 0);
	destroy_all(f);
}

static void test_attach_busy(void **state)
{
	struct fixture *f = *state;

	rid_to_s2(f);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->s2), 0);
	/* Attach never overwrites, with the same HWPT or another. */
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->s2), -EBUSY);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->nested), -EBUSY);
	/* EBUSY comes before the compat check and before the IOAS's auto domain. */
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->parent), -EBUSY);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->ioas), -EBUSY);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, f->s2), 0);
	/* One reference: a single detach frees the HWPT. */
	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, PASID_A), 0);
	destroy_all(f);
}

static void test_attach_bad_ids(void **state)
{
	struct fixture *f = *state;

	rid_to_s2(f);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, 9999), -ENOENT);
	/* Neither an IOAS nor a HWPT. */
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->dev.idev), -EINVAL);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->dev.stdev), -EINVAL);
	/* Not a mock device. */
	assert_int_equal(pasid_attach(f->ctx, f->dev.idev, PASID_A, f->s2), -ENOENT);
	assert_int_equal(pasid_attach(f->ctx, 9999, PASID_A, f->s2), -ENOENT);
	assert_int_equal(pasid_replace(f->ctx, f->s2, PASID_A, f->s2), -ENOENT);
	assert_int_equal(pasid_detach(f->ctx, f->ioas, PASID_A), -ENOENT);
	assert_int_equal(pasid_check(f->ctx, 9999, PASID_A, 0), -ENOENT);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, 9999), -ENOENT);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, f->ioas), -EINVAL);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, 0), 0);
	destroy_all(f);
}

/* An IOAS at a PASID: its automatic HWPTs are never pasid-compatible. */
static void test_attach_ioas(void **state)
{
	struct fixture *f = *state;
	const uint32_t keep[] = { f->ioas, f->dev.stdev, f->dev.idev, f->dev.hwpt, f->s2,
				  f->parent, f->nested, 0 };

	/* With the RID's automatic HWPT on the IOAS, and with none. */
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->ioas), -EINVAL);
	assert_only_objects(f->ctx, keep);
	rid_to_s2(f);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->ioas), -EINVAL);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, 0), 0);
	/* The HWPT made for the try is gone again: the RID's went with the replace. */
	assert_int_equal(destroy(f->ctx, f->dev.hwpt), -ENOENT);
	destroy_all(f);
}

/* --------------------------------------------------------- compat rules */

static void test_compat_rules(void **state)
{
	struct fixture *f = *state;
	uint32_t pt;

	/* The RID's automatic HWPT is not pasid-compatible: no PASID beside it. */
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->s2), -EINVAL);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, 0), 0);
	/* Nor beside a manual one without ALLOC_PASID. */
	pt = f->parent;
	assert_int_equal(mock_domain_replace(f->ctx, f->dev.stdev, &pt), 0);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->nested), -EINVAL);

	rid_to_s2(f);
	/* A HWPT without ALLOC_PASID never goes on a PASID. */
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->parent), -EINVAL);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, 0), 0);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->nested), 0);

	/* With a PASID attached the RID takes only pasid-compatible HWPTs. */
	pt = f->parent;
	assert_int_equal(mock_domain_replace(f->ctx, f->dev.stdev, &pt), -EINVAL);
	pt = f->ioas;
	assert_int_equal(mock_domain_replace(f->ctx, f->dev.stdev, &pt), -EINVAL);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, IOMMU_NO_PASID, f->s2), 0);
	pt = f->nested;
	assert_int_equal(mock_domain_replace(f->ctx, f->dev.stdev, &pt), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, IOMMU_NO_PASID, f->nested), 0);

	/* Once the last PASID goes, the RID is free again. */
	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, PASID_A), 0);
	pt = f->parent;
	assert_int_equal(mock_domain_replace(f->ctx, f->dev.stdev, &pt), 0);
	destroy_all(f);
}

/* PASID 0 through the PASID ops is the RID: it can be blocked meanwhile. */
static void test_blocked_rid(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, IOMMU_NO_PASID), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, IOMMU_NO_PASID, 0), 0);
	/* The automatic HWPT went with its last device. */
	assert_int_equal(destroy(f->ctx, f->dev.hwpt), -ENOENT);

	/* A blocked RID allows any PASID attachment. */
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->s2), 0);
	/* Re-attaching the RID obeys the compat rule. */
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, IOMMU_NO_PASID, f->parent), -EINVAL);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, IOMMU_NO_PASID, f->ioas), -EINVAL);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, IOMMU_NO_PASID, 0), 0);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, IOMMU_NO_PASID, f->nested), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, IOMMU_NO_PASID, f->nested), 0);

	/* Blocking the RID leaves the PASIDs where they are. */
	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, IOMMU_NO_PASID), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_A, f->s2), 0);
	assert_int_equal(destroy(f->ctx, f->nested), 0);
	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, PASID_A), 0);
	assert_int_equal(destroy(f->ctx, f->s2), 0);
	assert_int_equal(destroy(f->ctx, f->dev.stdev), 0);
	assert_int_equal(destroy(f->ctx, f->parent), 0);
}

/* A device's PASIDs are [1, 2^20); a device without PASIDs has none. */
static void test_pasid_range(void **state)
{
	struct fixture *f = *state;
	struct mock_ids nop = {};
	uint32_t pt = f->s2;

	rid_to_s2(f);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_MAX + 1, f->s2), -EINVAL);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, UINT32_MAX, f->s2), -EINVAL);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_MAX, f->s2), 0);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, 1, f->s2), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_MAX, f->s2), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, 1, f->s2), 0);

	/* Without PASID support, even beside a pasid-compatible RID HWPT. */
	assert_int_equal(mock_domain_flags(f->ctx, f->ioas, 0, &nop), 0);
	assert_int_equal(mock_domain_replace(f->ctx, nop.stdev, &pt), 0);
	assert_int_equal(pasid_attach(f->ctx, nop.stdev, PASID_A, f->s2), -EINVAL);
	assert_int_equal(pasid_attach(f->ctx, nop.stdev, 1, f->nested), -EINVAL);
	assert_int_equal(pasid_check(f->ctx, nop.stdev, PASID_A, 0), 0);
	/* ... but pasid-compatible HWPTs still serve its RID. */
	pt = f->nested;
	assert_int_equal(mock_domain_replace(f->ctx, nop.stdev, &pt), 0);
	assert_int_equal(destroy(f->ctx, nop.stdev), 0);
	destroy_all(f);
}

/* ------------------------------------------------------------- replace */

static void test_replace(void **state)
{
	struct fixture *f = *state;
	uint32_t nested2 = 0;

	rid_to_s2(f);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->dev.idev, f->parent, IOMMU_HWPT_ALLOC_PASID,
					   0, &nested2), 0);
	/* Replace needs something attached there. */
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, PASID_B, f->s2), -EINVAL);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_B, 0), 0);

	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_B, f->s2), 0);
	/* Failures leave the old HWPT in place. */
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, PASID_B, f->ioas), -EINVAL);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_B, f->s2), 0);
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, PASID_B, f->parent), -EINVAL);
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, PASID_B, 9999), -ENOENT);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_B, f->s2), 0);

	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, PASID_B, f->nested), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_B, f->nested), 0);
	/* The old HWPT was let go; the new one is held. */
	assert_int_equal(destroy(f->ctx, f->nested), -EBUSY);
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, PASID_B, nested2), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, PASID_B, nested2), 0);
	assert_int_equal(destroy(f->ctx, f->nested), 0);
	/* Replacing with what is there already is a no-op. */
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, PASID_B, nested2), 0);
	assert_int_equal(destroy(f->ctx, nested2), -EBUSY);
	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, PASID_B), 0);
	assert_int_equal(destroy(f->ctx, nested2), 0);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->dev.idev, f->parent, IOMMU_HWPT_ALLOC_PASID,
					   0, &f->nested), 0);
	destroy_all(f);
}

/*
 * The mock fails every second setting of PASID 1024 from its attach: the
 * core must keep the old HWPT on the PASID, and its references, when the
 * driver fails a replace.
 */
static void test_replace_rollback(void **state)
{
	struct fixture *f = *state;
	const uint32_t p = IOMMU_TEST_PASID_RESERVED;

	rid_to_s2(f);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, p, f->s2), 0);
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, p, f->nested), -ENOMEM);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, p, f->s2), 0);
	/* The failed target holds no reference; the old one still does. */
	assert_int_equal(destroy(f->ctx, f->s2), -EBUSY);
	assert_int_equal(destroy(f->ctx, f->nested), 0);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->dev.idev, f->parent, IOMMU_HWPT_ALLOC_PASID,
					   0, &f->nested), 0);

	/* The third setting works. */
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, p, f->nested), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, p, f->nested), 0);
	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, p), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, p, 0), 0);

	/* Detaching started the count over: attach, then a failing replace. */
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, p, f->nested), 0);
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, p, f->s2), -ENOMEM);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, p, f->nested), 0);
	/* A no-op replace does not reach the driver. */
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, p, f->nested), 0);
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, p, f->s2), 0);
	assert_int_equal(pasid_check(f->ctx, f->dev.stdev, p, f->s2), 0);
	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, p), 0);
	destroy_all(f);
}

/* --------------------------------------------------------------- faults */

struct iopf_fixture {
	uint32_t fault_id;
	int fault_fd;
	uint32_t iopf;		/* nested, pasid-compatible, with the fault queue */
};

static void iopf_setup(struct fixture *f, struct iopf_fixture *q)
{
	fault_alloc(f->ctx, &q->fault_id, &q->fault_fd);
	assert_int_equal(hwpt_alloc_nested(f->ctx, f->dev.idev, f->parent,
					   IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_FAULT_ID_VALID,
					   q->fault_id, &q->iopf), 0);
}

static void iopf_teardown(struct fixture *f, struct iopf_fixture *q)
{
	assert_int_equal(destroy(f->ctx, q->iopf), 0);
	fault_close(q->fault_fd);
	assert_int_equal(destroy(f->ctx, q->fault_id), 0);
}

static void test_iopf_through_pasid(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_pgfault rec[4];
	struct iopf_fixture q;
	uint64_t ok, inval;

	iopf_setup(f, &q);
	rid_to_s2(f);
	/* Nothing attached at the PASID, RID not nested: the request is dropped. */
	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, PASID_A, 0x1000), 0);
	assert_int_equal(read_faults(q.fault_fd, rec, 4), 0);

	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, q.iopf), 0);
	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, PASID_A, 0x2000), 0);
	assert_int_equal(read_faults(q.fault_fd, rec, 4), REC);
	assert_int_equal(rec[0].dev_id, f->dev.idev);
	assert_int_equal(rec[0].pasid, PASID_A);
	assert_int_equal(rec[0].addr, 0x2000);
	assert_true(rec[0].flags & IOMMU_PGFAULT_FLAGS_PASID_VALID);
	assert_true(rec[0].flags & IOMMU_PGFAULT_FLAGS_LAST_PAGE);
	assert_int_equal(respond(q.fault_fd, rec[0].cookie), sizeof(struct iommu_hwpt_page_response));
	/* Another PASID, and the RID (on a HWPT with no queue), go nowhere. */
	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, PASID_B, 0x3000), 0);
	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, IOMMU_NO_PASID, 0x3000), 0);
	assert_int_equal(read_faults(q.fault_fd, rec, 4), 0);

	/* Pending ones, read or not, are answered INVALID when the PASID moves. */
	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, PASID_A, 0x4000), 0);
	assert_int_equal(read_faults(q.fault_fd, rec, 4), REC);
	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, PASID_A, 0x5000), 0);
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, PASID_A, f->s2), 0);
	fault_responses(f->ctx, q.fault_id, &ok, &inval);
	assert_int_equal(ok, 1);
	assert_int_equal(inval, 2);
	assert_int_equal(read_faults(q.fault_fd, rec, 4), 0);
	assert_int_equal(respond(q.fault_fd, rec[0].cookie), -EINVAL);
	/* Now the PASID's HWPT has no queue: dropped. */
	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, PASID_A, 0x6000), 0);
	assert_int_equal(read_faults(q.fault_fd, rec, 4), 0);

	/* And on detach. */
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, PASID_A, q.iopf), 0);
	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, PASID_A, 0x7000), 0);
	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, PASID_A), 0);
	fault_responses(f->ctx, q.fault_id, &ok, &inval);
	assert_int_equal(ok, 1);
	assert_int_equal(inval, 3);
	assert_int_equal(read_faults(q.fault_fd, rec, 4), 0);
	iopf_teardown(f, &q);
	destroy_all(f);
}

/*
 * One queue, three attachments of the same HWPT (the RID and two PASIDs):
 * each attachment going answers only the requests that came through it.
 */
static void test_iopf_handles_per_attachment(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_pgfault rec[4];
	struct iopf_fixture q;
	uint64_t ok, inval;
	uint32_t pt;

	iopf_setup(f, &q);
	pt = q.iopf;
	assert_int_equal(mock_domain_replace(f->ctx, f->dev.stdev, &pt), 0);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, q.iopf), 0);
	/* A PASID on a HWPT without a queue does not fall back to the RID's. */
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_B, f->s2), 0);
	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, PASID_B, 0xb000), 0);
	assert_int_equal(read_faults(q.fault_fd, rec, 4), 0);
	assert_int_equal(pasid_replace(f->ctx, f->dev.stdev, PASID_B, q.iopf), 0);

	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, PASID_A, 0xa000), 0);
	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, PASID_B, 0xb000), 0);
	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, IOMMU_NO_PASID, 0xc000), 0);
	/* A PASID with no attachment of its own goes to the RID's nested HWPT. */
	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, 7, 0xd000), 0);

	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, PASID_A), 0);
	fault_responses(f->ctx, q.fault_id, &ok, &inval);
	assert_int_equal(inval, 1);
	assert_int_equal(read_faults(q.fault_fd, rec, 4), 3 * REC);
	assert_int_equal(rec[0].addr, 0xb000);
	assert_int_equal(rec[0].pasid, PASID_B);
	assert_int_equal(rec[1].addr, 0xc000);
	assert_false(rec[1].flags & IOMMU_PGFAULT_FLAGS_PASID_VALID);
	assert_int_equal(rec[2].addr, 0xd000);
	assert_int_equal(rec[2].pasid, 7);
	assert_true(rec[2].flags & IOMMU_PGFAULT_FLAGS_PASID_VALID);

	/* The RID moving answers its own two (its PASID-7 one came through it). */
	pt = f->s2;
	assert_int_equal(mock_domain_replace(f->ctx, f->dev.stdev, &pt), 0);
	fault_responses(f->ctx, q.fault_id, &ok, &inval);
	assert_int_equal(inval, 3);
	assert_int_equal(respond(q.fault_fd, rec[0].cookie), sizeof(struct iommu_hwpt_page_response));
	assert_int_equal(respond(q.fault_fd, rec[1].cookie), -EINVAL);
	fault_responses(f->ctx, q.fault_id, &ok, &inval);
	assert_int_equal(ok, 1);
	assert_int_equal(pasid_detach(f->ctx, f->dev.stdev, PASID_B), 0);
	iopf_teardown(f, &q);
	destroy_all(f);
}

/* ---------------------------------------------------------------- unbind */

/* Destroying the mock device detaches its PASIDs and answers their requests. */
static void test_unbind_detaches_pasids(void **state)
{
	struct fixture *f = *state;
	const uint32_t keep[] = { f->ioas, 0 };
	struct iopf_fixture q;
	uint64_t ok, inval;

	iopf_setup(f, &q);
	rid_to_s2(f);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, q.iopf), 0);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_B, f->nested), 0);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, IOMMU_TEST_PASID_RESERVED, f->s2), 0);
	assert_int_equal(trigger_iopf(f->ctx, f->dev.idev, PASID_A, 0x1000), 0);
	assert_int_equal(destroy(f->ctx, q.iopf), -EBUSY);

	assert_int_equal(destroy(f->ctx, f->dev.stdev), 0);
	fault_responses(f->ctx, q.fault_id, &ok, &inval);
	assert_int_equal(inval, 1);
	assert_int_equal(destroy(f->ctx, f->dev.idev), -ENOENT);
	iopf_teardown(f, &q);
	assert_int_equal(destroy(f->ctx, f->nested), 0);
	assert_int_equal(destroy(f->ctx, f->parent), 0);
	assert_int_equal(destroy(f->ctx, f->s2), 0);
	assert_only_objects(f->ctx, keep);
}

/* Closing the context with PASIDs attached frees everything (ASan sees leaks). */
static void test_close_with_pasids(void **state)
{
	struct fixture *f = *state;

	rid_to_s2(f);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_A, f->s2), 0);
	assert_int_equal(pasid_attach(f->ctx, f->dev.stdev, PASID_B, f->nested), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_attach_detach),
		T(test_attach_busy),
		T(test_attach_bad_ids),
		T(test_attach_ioas),
		T(test_compat_rules),
		T(test_blocked_rid),
		T(test_pasid_range),
		T(test_replace),
		T(test_replace_rollback),
		T(test_iopf_through_pasid),
		T(test_iopf_handles_per_attachment),
		T(test_unbind_detaches_pasids),
		T(test_close_with_pasids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
