// SPDX-License-Identifier: MIT
/*
 * IOMMU_TEST_CMD and the mock IOMMU: the kernel selftest's private ABI.
 *
 * The kernel only builds its copy for its own test suite; we always carry
 * ours, because running that suite unmodified is how uiommufd is checked
 * against the kernel.  docs/uapi-behaviour.md describes every operation and
 * the mock's behaviour; this file is written from that note.
 *
 * The mock IOMMU the operations drive ("mk_") is src/iommu/mock, a driver
 * of src/iommu's interface like any other.  Here are the test operations
 * ("op_"): one handler per op code, found through a table.  A mock device
 * lives in a selftest object ("stdev") whose destruction detaches, unbinds
 * and frees it; an access lives in a file whose release undoes it.
 *
 * Rules kept throughout: nothing is allocated from a user count before that
 * count meets a real bound, user arrays are read one entry or one bounded
 * chunk at a time, and an operation that creates something and then cannot
 * tell the caller about it (the reply faults) takes it all back.
 */
#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io_pagetable.h"
#include "core/ioas.h"
#include "core/eventq.h"
#include "iommu/mock/mock.h"
#include "uapi/iommufd_test.h"

/* ================================================ lookups for the ops */

/* A paging HWPT whose domain belongs to the mock; EINVAL for any other. */
static struct iommufd_hw_pagetable *st_mock_paging(struct iommufd_ucmd *ucmd, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	struct iommufd_hw_pagetable *hwpt;

	if (IS_ERR(obj))
		return (void *)obj;
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (hwpt->domain->owner == &iommu_mock_ops && hwpt->domain->type == IOMMU_DOMAIN_PAGING)
		return hwpt;
	iommufd_put_object(ucmd->ictx, obj);
	return ERR_PTR(-EINVAL);
}

/* A paging or nested HWPT of any driver; another kind of object is EINVAL. */
static struct iommufd_hw_pagetable *st_any_hwpt(struct iommufd_ucmd *ucmd, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_ANY);

	if (IS_ERR(obj))
		return (void *)obj;
	if (obj->type == IOMMUFD_OBJ_HWPT_PAGING || obj->type == IOMMUFD_OBJ_HWPT_NESTED)
		return container_of(obj, struct iommufd_hw_pagetable, obj);
	iommufd_put_object(ucmd->ictx, obj);
	return ERR_PTR(-EINVAL);
}

/* ================================================ selftest devices */

/* The "stdev": owns one mock device, bound and attached. */
struct st_device {
	struct iommufd_object obj;
	struct iommufd_device *idev;	/* NULL until published */
	struct mk_dev *mdev;
};

static struct st_device *st_device_get(struct iommufd_ucmd *ucmd, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_SELFTEST);

	if (IS_ERR(obj))
		return (void *)obj;
	return container_of(obj, struct st_device, obj);
}

void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct st_device *stdev = container_of(obj, struct st_device, obj);

	/* An aborted reservation never got a device. */
	if (!stdev->idev)
		return;
	iommufd_device_detach(stdev->idev, IOMMU_NO_PASID);
	iommufd_device_unbind(stdev->idev);
	free(stdev->mdev);
}

/* MOCK_DOMAIN and MOCK_DOMAIN_FLAGS: reserve, build, reply, then publish. */
static int op_mock_domain(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	uint32_t dev_flags = 0, attached_to = cmd->id, dev_id;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_device *idev;
	struct st_device *stdev;
	int rc;

	if (cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS)
		dev_flags = cmd->mock_domain_flags.dev_flags;
	stdev = iommufd_object_alloc(ictx, stdev, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(stdev))
		return (int)PTR_ERR(stdev);
	stdev->mdev = iommu_mock_dev_new(ictx->host, dev_flags);
	if (IS_ERR(stdev->mdev)) {
		rc = (int)PTR_ERR(stdev->mdev);
		goto err_abort;
	}
	idev = iommufd_device_bind(ictx, &stdev->mdev->dev, &dev_id);
	if (IS_ERR(idev)) {
		rc = (int)PTR_ERR(idev);
		goto err_free_mdev;
	}
	rc = iommufd_device_attach(idev, IOMMU_NO_PASID, &attached_to);
	if (rc)
		goto err_unbind;

	/* The three ids sit at the same offsets in both ops' members. */
	cmd->mock_domain.out_stdev_id = stdev->obj.id;
	cmd->mock_domain.out_hwpt_id = attached_to;
	cmd->mock_domain.out_idev_id = dev_id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto err_detach;
	stdev->idev = idev;
	iommufd_object_finalize(ictx, &stdev->obj);
	return 0;

err_detach:
	iommufd_device_detach(idev, IOMMU_NO_PASID);
err_unbind:
	iommufd_device_unbind(idev);
err_free_mdev:
	free(stdev->mdev);
err_abort:
	iommufd_object_abort(ictx, &stdev->obj);
	return rc;
}

/* As the kernel does, a replacement stays even when the reply faults. */
static int op_mock_domain_replace(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct st_device *stdev = st_device_get(ucmd, cmd->id);
	uint32_t target = cmd->mock_domain_replace.pt_id;
	int rc;

	if (IS_ERR(stdev))
		return (int)PTR_ERR(stdev);
	rc = iommufd_device_replace(stdev->idev, IOMMU_NO_PASID, &target);
	if (!rc) {
		cmd->mock_domain_replace.pt_id = target;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &stdev->obj);
	return rc;
}

/* ================================================ checks and injections */

static int op_add_reserved(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	const uint64_t first = cmd->add_reserved.start, len = cmd->add_reserved.length;
	struct iommufd_ioas *ioas;
	unsigned long last;
	int rc;

	if (len == 0)
		return -EINVAL;
	if (check_add_overflow(first, len - 1, &last))
		return -EOVERFLOW;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->id);
	if (IS_ERR(ioas))
		return (int)PTR_ERR(ioas);
	/* No owner: nothing will ever take a test reservation away. */
	rc = iopt_reserve_iova(&ioas->iopt, first, last, NULL);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* Does every domain page of the range translate to the user page behind it? */
static int st_compare_map(struct uiommufd_host *host, struct iommu_domain *domain,
			  uint64_t iova, uint64_t uptr, uint64_t len, uint64_t step)
{
	uint64_t off;

	for (off = 0; off < len; off += step) {
		uint64_t want;
		int rc = host->ops->user_phys(host, uptr + off, &want);

		if (rc)
			return rc;
		if (iommu_iova_to_phys(domain, iova + off) != want)
			return -EINVAL;
	}
	return 0;
}

static int op_md_check_map(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	const uint64_t iova = cmd->check_map.iova, len = cmd->check_map.length;
	const uint64_t uptr = cmd->check_map.uptr;
	struct iommufd_hw_pagetable *hwpt;
	uint64_t step, uend;
	int rc = -EINVAL;

	hwpt = st_mock_paging(ucmd, cmd->id);
	if (IS_ERR(hwpt))
		return (int)PTR_ERR(hwpt);
	step = iommu_domain_min_pgsize(hwpt->domain);
	if (!(iova % step) && !(len % step) && !(uptr % step) &&
	    !check_add_overflow(uptr, len, &uend))
		rc = st_compare_map(ucmd->ictx->host, hwpt->domain, iova, uptr, len, step);
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

static int op_md_check_refs(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	const uint64_t uptr = cmd->check_refs.uptr, len = cmd->check_refs.length;
	struct uiommufd_host *host = ucmd->ictx->host;
	uint64_t off, uend;

	if ((uptr | len) % PAGE_SIZE || check_add_overflow(uptr, len, &uend))
		return -EINVAL;
	for (off = 0; off < len; off += PAGE_SIZE) {
		long pins;
		uint8_t probe;
		int rc;

		/*
		 * The kernel looks each page up with get_user_pages(): an
		 * unreadable page (PROT_NONE) is EFAULT there, and so the first
		 * such page ends a walk over a huge reservation.
		 */
		rc = copy_from_user(host, &probe, uptr + off, 1);
		if (rc)
			return rc;
		pins = host->ops->page_pins(host, uptr + off);
		if (pins < 0)
			return (int)pins;
		if ((uint64_t)pins != cmd->check_refs.refs)
			return -EIO;
	}
	return 0;
}

static int op_dev_check_cache(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	const uint32_t slot = cmd->check_dev_cache.id;
	struct iommufd_device *idev = iommufd_get_device(ucmd->ictx, cmd->id);
	bool same;

	if (IS_ERR(idev))
		return (int)PTR_ERR(idev);
	same = idev->dev->iommu_ops == &iommu_mock_ops && slot <= MOCK_DEV_CACHE_ID_MAX &&
	       mk_dev_of(idev->dev)->cache[slot] == cmd->check_dev_cache.cache;
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return same ? 0 : -EINVAL;
}

static int op_md_check_iotlb(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	const uint32_t slot = cmd->check_iotlb.id;
	struct iommufd_object *obj;
	struct iommu_domain *domain;
	bool same;

	obj = iommufd_get_object(ucmd->ictx, cmd->id, IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(obj))
		return (int)PTR_ERR(obj);
	domain = container_of(obj, struct iommufd_hw_pagetable, obj)->domain;
	same = domain->ops == &iommu_mock_nested_ops && slot <= MOCK_NESTED_DOMAIN_IOTLB_ID_MAX &&
	       mk_nested_of(domain)->iotlb[slot] == cmd->check_iotlb.iotlb;
	iommufd_put_object(ucmd->ictx, obj);
	return same ? 0 : -EINVAL;
}

/*
 * Where a page request from the device lands: the HWPT at its PASID, or,
 * for a PASID with nothing of its own, the RID's nested HWPT (the guest
 * owns the PASID table there, as on SMMUv3).
 */
static struct iommufd_hw_pagetable *st_fault_target(struct iommufd_device *idev, uint32_t pasid,
						    void **handle)
{
	struct iommufd_hw_pagetable *hwpt = iommufd_device_pasid_hwpt(idev, pasid, handle);

	if (hwpt || pasid == IOMMU_NO_PASID)
		return hwpt;
	hwpt = iommufd_device_pasid_hwpt(idev, IOMMU_NO_PASID, handle);
	return hwpt && hwpt->domain->type == IOMMU_DOMAIN_NESTED ? hwpt : NULL;
}

static int op_trigger_iopf(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	const uint32_t pasid = cmd->trigger_iopf.pasid;
	struct iommufd_hw_pagetable *target;
	struct iommufd_device *idev;
	uint32_t flags;
	void *handle;
	int rc = 0;

	idev = iommufd_get_device(ucmd->ictx, cmd->trigger_iopf.dev_id);
	if (IS_ERR(idev))
		return (int)PTR_ERR(idev);
	flags = IOMMU_PGFAULT_FLAGS_LAST_PAGE;
	if (pasid != IOMMU_NO_PASID)
		flags |= IOMMU_PGFAULT_FLAGS_PASID_VALID;
	target = st_fault_target(idev, pasid, &handle);
	/* No fault queue: the request is dropped and that is not an error. */
	if (target && target->fault)
		rc = iommufd_fault_report(target->fault, idev->obj.id, pasid,
					  cmd->trigger_iopf.grpid, cmd->trigger_iopf.perm,
					  cmd->trigger_iopf.addr, flags, handle);
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

static int op_trigger_vevent(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct iommufd_device *idev = iommufd_get_device(ucmd->ictx, cmd->trigger_vevent.dev_id);
	struct iommu_viommu_event_selftest record = { 0 };
	struct mk_dev *mdev = NULL;
	int rc = -ENOENT;

	if (IS_ERR(idev))
		return (int)PTR_ERR(idev);
	if (idev->dev->iommu_ops == &iommu_mock_ops)
		mdev = mk_dev_of(idev->dev);
	/* Only a device with a virtual ID on a vIOMMU has anyone to tell. */
	if (mdev && mdev->viommu && mdev->vdev_id) {
		record.virt_id = (uint32_t)mdev->vdev_id;
		rc = iommufd_viommu_report_event(&mdev->viommu->core, IOMMU_VEVENTQ_TYPE_SELFTEST,
						 &record, sizeof(record));
	}
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/* ------------------------------------------------------- DIRTY */

/*
 * The kernel copies the bitmap, rounded up to whole longs, into one
 * kvzalloc(), which refuses anything above INT_MAX bytes.
 */
#define ST_KERNEL_KVMALLOC_MAX 0x7fffffffull
/* We read the bitmap through a buffer of this many bytes at a time. */
#define ST_BITMAP_CHUNK 512

/*
 * Read @nbits bits of the user bitmap, a chunk at a time; with @table, mark
 * dirty the granule of every set bit.  Returns how many bits were set.
 */
static int st_scan_bitmap(struct uiommufd_host *host, uint64_t uptr, uint64_t nbits,
			  struct pt_table *table, uint64_t iova, uint64_t granule, uint64_t *nset)
{
	uint8_t chunk[ST_BITMAP_CHUNK];
	uint64_t done, count = 0;

	for (done = 0; done < nbits; done += 8 * sizeof(chunk)) {
		uint64_t bits = nbits - done < 8 * sizeof(chunk) ? nbits - done : 8 * sizeof(chunk);
		uint64_t b;
		int rc;

		rc = copy_from_user(host, chunk, uptr + done / 8, (bits + 7) / 8);
		if (rc)
			return rc;
		for (b = 0; b < bits; b++) {
			struct pt_walk_result res;

			if (!(chunk[b / 8] >> (b % 8) & 1))
				continue;
			count++;
			/* A device write through the table sets the dirty bit. */
			if (table)
				pt_walk(table, iova + (done + b) * granule, PT_WALK_WRITE, &res);
		}
	}
	*nset = count;
	return 0;
}

static int op_dirty(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	const uint64_t iova = cmd->dirty.iova, len = cmd->dirty.length;
	const uint64_t granule = cmd->dirty.page_size, uptr = cmd->dirty.uptr;
	struct uiommufd_host *host = ucmd->ictx->host;
	struct iommufd_hw_pagetable *hwpt;
	struct mk_paging *paging;
	uint64_t nbits, nset;
	int rc;

	if (!granule || !len || iova % granule || len % granule || !uptr)
		return -EINVAL;
	hwpt = st_mock_paging(ucmd, cmd->id);
	if (IS_ERR(hwpt))
		return (int)PTR_ERR(hwpt);
	paging = mk_paging_of(hwpt->domain);
	nbits = len / granule;
	if (!paging->pt.dirty_tracking)
		rc = -EINVAL;
	else if ((nbits + 63) / 64 * 8 > ST_KERNEL_KVMALLOC_MAX)
		rc = -ENOMEM;
	else	/* The whole bitmap must read before any granule is marked. */
		rc = st_scan_bitmap(host, uptr, nbits, NULL, 0, 0, &nset);
	if (!rc)
		rc = st_scan_bitmap(host, uptr, nbits, &paging->pt.pt, iova, granule, &nset);
	if (!rc) {
		cmd->dirty.out_nr_dirty = nset;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

/* ================================================ test accesses */

/* One ACCESS_PAGES pin, on the access's list until unpinned. */
struct st_pin {
	struct st_pin *next;
	unsigned long iova;
	size_t length;
	unsigned int id;
};

/* What an access fd holds. */
struct st_access {
	struct iommufd_access *access;	/* NULL until the fd owns it */
	struct st_pin *pins;
	unsigned int next_pin_id;
};

/* Unpin and forget every pin that touches [first, last]. */
static void st_access_drop_pins(struct st_access *sa, unsigned long first, unsigned long last)
{
	struct st_pin **link = &sa->pins;

	while (*link) {
		struct st_pin *pin = *link;
		unsigned long pin_last = pin->iova + pin->length - 1;

		if (pin_last < first || pin->iova > last) {
			link = &pin->next;
			continue;
		}
		*link = pin->next;
		iommufd_access_unpin_pages(sa->access, pin->iova, pin->length);
		free(pin);
	}
}

/* The core tells the access a range is going away: let go of it. */
static void st_access_unmap(void *data, unsigned long iova, unsigned long length)
{
	st_access_drop_pins(data, iova, iova + length - 1);
}

static const struct iommufd_access_ops st_access_pinning = {
	.needs_pin_pages = true,
	.unmap = st_access_unmap,
};

static const struct iommufd_access_ops st_access_copying = {
	.unmap = st_access_unmap,
};

static void st_access_release(void *priv)
{
	struct st_access *sa = priv;

	if (sa->access) {
		st_access_drop_pins(sa, 0, ULONG_MAX);
		iommufd_access_destroy(sa->access);
	}
	free(sa);
}

static const struct host_anon_ops st_access_fops = {
	.name = "[iommufd_test_staccess]",
	.release = st_access_release,
};

/* The access behind descriptor @fd, with a file reference; EBADFD otherwise. */
static struct st_access *st_access_get(struct iommufd_ucmd *ucmd, int fd, struct host_anon **ref)
{
	struct uiommufd_host *host = ucmd->ictx->host;
	struct st_access *sa = host->ops->anon_get(host, fd, &st_access_fops, ref);

	return sa ? sa : ERR_PTR(-EBADFD);
}

static void st_access_put(struct iommufd_ucmd *ucmd, struct host_anon *ref)
{
	ucmd->ictx->host->ops->anon_put(ucmd->ictx->host, ref);
}

/*
 * The reply carries the new descriptor; when it cannot be written the
 * descriptor is withdrawn, and its release takes the access, its IOAS
 * reference and everything else with it.
 */
static int op_create_access(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	const uint32_t flags = cmd->create_access.flags;
	struct uiommufd_host *host = ucmd->ictx->host;
	struct iommufd_access *access;
	struct st_access *sa;
	uint32_t access_id;
	int fd, rc;

	if (flags & ~(uint32_t)MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;
	sa = iommufd_zalloc(sizeof(*sa));
	if (!sa)
		return -ENOMEM;
	access = iommufd_access_create(ucmd->ictx,
				       flags ? &st_access_pinning : &st_access_copying, sa,
				       &access_id);
	if (IS_ERR(access)) {
		rc = (int)PTR_ERR(access);
		goto err_free;
	}
	rc = iommufd_access_attach(access, cmd->id);
	if (rc)
		goto err_destroy;
	sa->access = access;
	fd = host->ops->anon_fd(host, &st_access_fops, sa, O_CLOEXEC);
	if (fd < 0) {
		sa->access = NULL;
		rc = fd;
		goto err_destroy;
	}
	/* From here the descriptor owns everything. */
	cmd->create_access.out_access_fd = (uint32_t)fd;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		host->ops->anon_withdraw(host, fd);
	return rc;

err_destroy:
	iommufd_access_destroy(access);
err_free:
	free(sa);
	return rc;
}

static int op_access_replace_ioas(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct host_anon *ref;
	struct st_access *sa = st_access_get(ucmd, (int)cmd->id, &ref);
	int rc;

	if (IS_ERR(sa))
		return (int)PTR_ERR(sa);
	rc = iommufd_access_replace(sa->access, cmd->access_replace_ioas.ioas_id);
	st_access_put(ucmd, ref);
	return rc;
}

/* Unpin and forget the pin numbered @id; false if there is none. */
static bool st_access_drop_pin(struct st_access *sa, unsigned int id)
{
	struct st_pin **link, *pin;

	for (link = &sa->pins; (pin = *link); link = &pin->next) {
		if (pin->id != id)
			continue;
		*link = pin->next;
		iommufd_access_unpin_pages(sa->access, pin->iova, pin->length);
		free(pin);
		return true;
	}
	return false;
}

static int op_destroy_access_pages(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct host_anon *ref;
	struct st_access *sa = st_access_get(ucmd, (int)cmd->id, &ref);
	bool found;

	if (IS_ERR(sa))
		return (int)PTR_ERR(sa);
	found = st_access_drop_pin(sa, cmd->destroy_access_pages.access_pages_id);
	st_access_put(ucmd, ref);
	return found ? 0 : -ENOENT;
}

/* syzkaller's IOVA: low 32 bits pick an area by index, high 32 an offset in it. */
static unsigned long st_syz_iova(struct iommufd_access *access, uint64_t coded)
{
	const uint32_t area = (uint32_t)coded, offset = (uint32_t)(coded >> 32);
	struct io_pagetable *iopt;
	struct iopt_area *at;
	uint32_t k;

	if (!access->ioas)
		return coded;
	iopt = &access->ioas->iopt;
	if (area >= iopt->nr_areas)
		return 0;
	/* Counting areas in IOVA order: test-only, so a walk will do. */
	at = iopt_area_iter_first(iopt, 0, ULONG_MAX);
	for (k = 0; k < area; k++)
		at = iopt_area_iter_next(iopt, at, ULONG_MAX);
	return iopt_area_iova(at) + offset;
}

/* The kernel's cap on one ACCESS_PAGES or ACCESS_RW request. */
#define ST_ACCESS_MAX_LEN (16ul << 20)
/* Up to this many bytes ACCESS_RW bounces on the stack. */
#define ST_ACCESS_SMALL 4096

/* Every pinned page must be the page the program has at the same offset of @uptr. */
static int st_pins_match(struct uiommufd_host *host, uint64_t uptr, const uint64_t *pa,
			 size_t npages)
{
	const uint64_t frame = ~(uint64_t)(PAGE_SIZE - 1);
	size_t i;

	for (i = 0; i < npages; i++) {
		uint64_t seen;
		int rc = host->ops->user_phys(host, uptr + i * PAGE_SIZE, &seen);

		if (rc)
			return rc;
		if ((seen & frame) != (pa[i] & frame))
			return -EBADE;
	}
	return 0;
}

/* Pin through the access, check the pages, remember the pin, reply. */
static int st_pin_and_record(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd,
			     struct st_access *sa, unsigned long iova, uint64_t *pa, size_t npages)
{
	const uint64_t uptr = cmd->access_pages.uptr;
	const size_t len = cmd->access_pages.length;
	struct st_pin *pin;
	int rc;

	rc = iommufd_access_pin_pages(sa->access, iova, len, pa,
				      cmd->access_pages.flags & MOCK_FLAGS_ACCESS_WRITE);
	if (rc)
		return rc;
	/* syzkaller passes no user pointer and skips the comparison. */
	if (uptr)
		rc = st_pins_match(ucmd->ictx->host, uptr - iova % PAGE_SIZE, pa, npages);
	if (rc)
		goto err_unpin;
	pin = iommufd_zalloc(sizeof(*pin));
	if (!pin) {
		rc = -ENOMEM;
		goto err_unpin;
	}
	pin->iova = iova;
	pin->length = len;
	pin->id = sa->next_pin_id++;
	/* Listed before the reply, so an unmap meanwhile finds and drops it. */
	pin->next = sa->pins;
	sa->pins = pin;
	cmd->access_pages.out_access_pages_id = pin->id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		st_access_drop_pin(sa, cmd->access_pages.out_access_pages_id);
	return rc;

err_unpin:
	iommufd_access_unpin_pages(sa->access, iova, len);
	return rc;
}

static int op_access_pages(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	const uint32_t flags = cmd->access_pages.flags;
	const size_t len = cmd->access_pages.length;
	unsigned long iova = cmd->access_pages.iova;
	struct host_anon *ref;
	struct st_access *sa;
	uint64_t *pa;
	size_t npages;
	int rc;

	if (len > ST_ACCESS_MAX_LEN)
		return -ENOMEM;
	if (flags & ~(uint32_t)(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	sa = st_access_get(ucmd, (int)cmd->id, &ref);
	if (IS_ERR(sa))
		return (int)PTR_ERR(sa);
	if (sa->access->ops != &st_access_pinning) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	if (flags & MOCK_FLAGS_ACCESS_SYZ)
		iova = st_syz_iova(sa->access, iova);
	/*
	 * Pages the range touches, counted from its offset in the first page so
	 * that a range wrapping the IOVA space still counts right (at most
	 * 16 MiB / PAGE_SIZE + 1): the pin reports the wrap.
	 */
	npages = (iova % PAGE_SIZE + len + PAGE_SIZE - 1) / PAGE_SIZE;
	pa = calloc(npages ? npages : 1, sizeof(*pa));
	if (!pa) {
		rc = -ENOMEM;
		goto out_put;
	}
	rc = st_pin_and_record(ucmd, cmd, sa, iova, pa, npages);
	free(pa);
out_put:
	st_access_put(ucmd, ref);
	return rc;
}

/*
 * ACCESS_RW bounces through a buffer of the whole length (at most 16 MiB):
 * a write must read all of the user buffer before touching the IOVA range,
 * and a read writes the user buffer only after the whole range was read.
 * When nothing but the user copy can fail, the copy goes straight between
 * the user buffer and the IOVA range's memory instead, with that outcome.
 */
static int op_access_rw(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	const uint32_t flags = cmd->access_rw.flags;
	const size_t len = cmd->access_rw.length;
	const uint64_t ubuf = cmd->access_rw.uptr;
	const bool to_iova = flags & MOCK_ACCESS_RW_WRITE;
	struct uiommufd_host *host = ucmd->ictx->host;
	unsigned long iova = cmd->access_rw.iova;
	struct host_anon *ref;
	/* Small requests, the common case, bounce on the stack: no allocation. */
	uint8_t small[ST_ACCESS_SMALL];
	struct st_access *sa;
	void *bounce;
	int rc;

	if (len > ST_ACCESS_MAX_LEN)
		return -ENOMEM;
	if (flags & ~(uint32_t)(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH |
				MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	sa = st_access_get(ucmd, (int)cmd->id, &ref);
	if (IS_ERR(sa))
		return (int)PTR_ERR(sa);
	if (!(flags & MOCK_FLAGS_ACCESS_SYZ)) {
		rc = iommufd_access_rw_user(sa->access, ucmd->ictx, iova, ubuf, len,
					    flags & (MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH));
		if (rc != -EAGAIN)
			goto out;
	}
	/*
	 * Not cleared: a write fills it from the user before use, and a read
	 * hands it back only once iommufd_access_rw() has filled all of it.
	 */
	bounce = len <= sizeof(small) ? small : malloc(len);
	rc = bounce ? 0 : -ENOMEM;
	if (!rc && to_iova)
		rc = copy_from_user(host, bounce, ubuf, len);
	if (!rc && (flags & MOCK_FLAGS_ACCESS_SYZ))
		iova = st_syz_iova(sa->access, iova);
	if (!rc)
		rc = iommufd_access_rw(sa->access, iova, bounce, len,
				       flags & (MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH));
	if (!rc && !to_iova)
		rc = copy_to_user(host, ubuf, bounce, len);
	if (bounce != small)
		free(bounce);
out:
	st_access_put(ucmd, ref);
	return rc;
}
_Static_assert((int)MOCK_ACCESS_RW_WRITE == (int)IOMMUFD_ACCESS_RW_WRITE, "rw write flag");
_Static_assert((int)MOCK_ACCESS_RW_SLOW_PATH == (int)__IOMMUFD_ACCESS_RW_SLOW_PATH, "rw slow flag");

static int op_set_temp_memory_limit(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	/* Global, as the kernel's module parameter is. */
	iommufd_temp_memory_limit = cmd->memory_limit.limit;
	return 0;
}

/* ================================================ test dma-bufs */

/* A memfd standing in for an exporter's dma-buf. */
struct st_dmabuf {
	struct iommufd_dmabuf dmabuf;
	struct uiommufd_host *host;
};

static void st_dmabuf_release(void *priv)
{
	struct st_dmabuf *buf = priv;

	buf->host->ops->file_put(buf->host, buf->dmabuf.file);
	free(buf);
}

/* ioas.c recognises our dma-bufs by these ops. */
const struct host_anon_ops iommufd_test_dmabuf_fops = {
	.name = "iommufd_test_dmabuf",
	.release = st_dmabuf_release,
};

/* Nothing is written back: the new descriptor is the ioctl's result. */
static int op_dmabuf_get(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	const size_t len = cmd->dmabuf_get.length;
	const unsigned int oflags = cmd->dmabuf_get.open_flags;
	struct uiommufd_host *host = ucmd->ictx->host;
	struct st_dmabuf *buf;
	int fd, rc;

	if (!len || len > 512 * PAGE_SIZE || (oflags & ~(unsigned int)O_CLOEXEC))
		return -EINVAL;
	buf = iommufd_zalloc(sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	buf->host = host;
	buf->dmabuf.length = len;
	rc = host->ops->file_create(host, len, &buf->dmabuf.file);
	if (rc)
		goto err_free;
	fd = host->ops->anon_fd(host, &iommufd_test_dmabuf_fops, buf, (int)oflags);
	if (fd >= 0)
		return fd;
	rc = fd;
	host->ops->file_put(host, buf->dmabuf.file);
err_free:
	free(buf);
	return rc;
}

/* Revoking is the exporter's move notice: every IOAS drops its mappings of the buffer. */
static void st_dmabuf_revoke_everywhere(struct iommufd_ctx *ictx, struct iommufd_dmabuf *dmabuf)
{
	uint32_t id;

	for (id = 1; id < ictx->nr_slots; id++) {
		struct iommufd_ioas *ioas = iommufd_get_ioas(ictx, id);

		if (IS_ERR(ioas))
			continue;
		iopt_revoke_dmabuf(&ioas->iopt, dmabuf);
		iommufd_put_object(ictx, &ioas->obj);
	}
}

static int op_dmabuf_revoke(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct uiommufd_host *host = ucmd->ictx->host;
	struct st_dmabuf *buf;
	struct host_anon *ref;

	buf = host->ops->anon_get(host, cmd->dmabuf_revoke.dmabuf_fd, &iommufd_test_dmabuf_fops,
				  &ref);
	if (!buf)
		return -EBADF;
	buf->dmabuf.revoked = cmd->dmabuf_revoke.revoked;
	if (buf->dmabuf.revoked)
		st_dmabuf_revoke_everywhere(ucmd->ictx, &buf->dmabuf);
	host->ops->anon_put(host, ref);
	return 0;
}

/* The physical address of byte @offset of @file, through a one-page pin. */
static int st_file_phys(struct uiommufd_host *host, struct host_file *file, uint64_t offset,
			uint64_t *pa)
{
	const uint64_t base = offset - offset % PAGE_SIZE;
	struct host_pin *pin;
	size_t contig;
	int rc;

	rc = host->ops->pin_file(host, file, base, PAGE_SIZE, false, &pin);
	if (rc)
		return rc;
	*pa = host->ops->pin_phys(host, pin, offset - base, &contig);
	host->ops->unpin(host, pin);
	return 0;
}

static int st_compare_dmabuf(struct uiommufd_host *host, struct iommu_domain *domain,
			     struct host_file *file, uint64_t iova, uint64_t offset, uint64_t len,
			     uint64_t step)
{
	uint64_t done;

	for (done = 0; done < len; done += step) {
		uint64_t want;
		int rc = st_file_phys(host, file, offset + done, &want);

		if (rc)
			return rc;
		if (iommu_iova_to_phys(domain, iova + done) != want)
			return -EINVAL;
	}
	return 0;
}

static int op_md_check_dmabuf(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	const uint64_t iova = cmd->check_dmabuf.iova, len = cmd->check_dmabuf.length;
	const uint64_t offset = cmd->check_dmabuf.offset;
	struct uiommufd_host *host = ucmd->ictx->host;
	struct iommufd_hw_pagetable *hwpt;
	struct st_dmabuf *buf;
	struct host_anon *ref;
	uint64_t step, end;
	int rc = -EINVAL;

	hwpt = st_mock_paging(ucmd, cmd->id);
	if (IS_ERR(hwpt))
		return (int)PTR_ERR(hwpt);
	buf = host->ops->anon_get(host, cmd->check_dmabuf.dmabuf_fd, &iommufd_test_dmabuf_fops,
				  &ref);
	if (buf) {
		step = iommu_domain_min_pgsize(hwpt->domain);
		if (!((iova | len | offset) % step) && !check_add_overflow(offset, len, &end) &&
		    end <= buf->dmabuf.length)
			rc = st_compare_dmabuf(host, hwpt->domain, buf->dmabuf.file, iova, offset,
					       len, step);
		host->ops->anon_put(host, ref);
	}
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

/* ================================================ PASIDs of mock devices */

static int op_pasid_attach(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	const uint32_t pasid = cmd->pasid_attach.pasid;
	struct st_device *stdev = st_device_get(ucmd, cmd->id);
	int rc;

	if (IS_ERR(stdev))
		return (int)PTR_ERR(stdev);
	rc = iommufd_device_attach(stdev->idev, pasid, &cmd->pasid_attach.pt_id);
	if (!rc) {
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
		/* An attachment the program never heard of is taken back. */
		if (rc)
			iommufd_device_detach(stdev->idev, pasid);
	}
	iommufd_put_object(ucmd->ictx, &stdev->obj);
	return rc;
}

static int op_pasid_replace(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct st_device *stdev = st_device_get(ucmd, cmd->id);
	int rc;

	if (IS_ERR(stdev))
		return (int)PTR_ERR(stdev);
	rc = iommufd_device_replace(stdev->idev, cmd->pasid_replace.pasid,
				    &cmd->pasid_replace.pt_id);
	if (!rc)
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	iommufd_put_object(ucmd->ictx, &stdev->obj);
	return rc;
}

/* Detaching a PASID with nothing attached is not an error. */
static int op_pasid_detach(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct st_device *stdev = st_device_get(ucmd, cmd->id);

	if (IS_ERR(stdev))
		return (int)PTR_ERR(stdev);
	iommufd_device_detach(stdev->idev, cmd->pasid_detach.pasid);
	iommufd_put_object(ucmd->ictx, &stdev->obj);
	return 0;
}

/* hwpt_id 0 asks that nothing be attached at the PASID. */
static int op_pasid_check_hwpt(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct st_device *stdev = st_device_get(ucmd, cmd->id);
	struct iommufd_hw_pagetable *now, *expected;
	void *handle;
	int rc;

	if (IS_ERR(stdev))
		return (int)PTR_ERR(stdev);
	now = iommufd_device_pasid_hwpt(stdev->idev, cmd->pasid_check.pasid, &handle);
	if (!cmd->pasid_check.hwpt_id) {
		rc = now ? -EINVAL : 0;
		goto out_put;
	}
	expected = st_any_hwpt(ucmd, cmd->pasid_check.hwpt_id);
	if (IS_ERR(expected)) {
		rc = (int)PTR_ERR(expected);
		goto out_put;
	}
	rc = now && now->domain == expected->domain ? 0 : -EINVAL;
	iommufd_put_object(ucmd->ictx, &expected->obj);
out_put:
	iommufd_put_object(ucmd->ictx, &stdev->obj);
	return rc;
}

/* ================================================ dispatch */

typedef int (*st_op_handler)(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd);

static const st_op_handler st_handlers[] = {
	[IOMMU_TEST_OP_ADD_RESERVED] = op_add_reserved,
	[IOMMU_TEST_OP_MOCK_DOMAIN] = op_mock_domain,
	[IOMMU_TEST_OP_MD_CHECK_MAP] = op_md_check_map,
	[IOMMU_TEST_OP_MD_CHECK_REFS] = op_md_check_refs,
	[IOMMU_TEST_OP_CREATE_ACCESS] = op_create_access,
	[IOMMU_TEST_OP_DESTROY_ACCESS_PAGES] = op_destroy_access_pages,
	[IOMMU_TEST_OP_ACCESS_PAGES] = op_access_pages,
	[IOMMU_TEST_OP_ACCESS_RW] = op_access_rw,
	[IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT] = op_set_temp_memory_limit,
	[IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE] = op_mock_domain_replace,
	[IOMMU_TEST_OP_ACCESS_REPLACE_IOAS] = op_access_replace_ioas,
	[IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS] = op_mock_domain,
	[IOMMU_TEST_OP_DIRTY] = op_dirty,
	[IOMMU_TEST_OP_MD_CHECK_IOTLB] = op_md_check_iotlb,
	[IOMMU_TEST_OP_TRIGGER_IOPF] = op_trigger_iopf,
	[IOMMU_TEST_OP_DEV_CHECK_CACHE] = op_dev_check_cache,
	[IOMMU_TEST_OP_TRIGGER_VEVENT] = op_trigger_vevent,
	[IOMMU_TEST_OP_PASID_ATTACH] = op_pasid_attach,
	[IOMMU_TEST_OP_PASID_REPLACE] = op_pasid_replace,
	[IOMMU_TEST_OP_PASID_DETACH] = op_pasid_detach,
	[IOMMU_TEST_OP_PASID_CHECK_HWPT] = op_pasid_check_hwpt,
	[IOMMU_TEST_OP_DMABUF_GET] = op_dmabuf_get,
	[IOMMU_TEST_OP_DMABUF_REVOKE] = op_dmabuf_revoke,
	[IOMMU_TEST_OP_MD_CHECK_DMABUF] = op_md_check_dmabuf,
};

int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	st_op_handler handler = NULL;

	if (cmd->op < ARRAY_SIZE(st_handlers))
		handler = st_handlers[cmd->op];
	if (handler)
		return handler(ucmd, cmd);
	if (iommufd_debug)
		iommufd_log("IOMMU_TEST_CMD op %u is not implemented", cmd->op);
	return -EOPNOTSUPP;
}
