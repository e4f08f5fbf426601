// SPDX-License-Identifier: MIT
/*
 * IOMMU_TEST_CMD and the mock IOMMU: the kernel selftest's private ABI.
 *
 * The kernel only builds its copy for its own test suite; we always carry
 * ours, because running that suite unmodified is how uiommufd is checked
 * against the kernel.  docs/uapi-behaviour.md describes every operation and
 * the mock's behaviour; this file is written from that note.
 *
 * Two halves:
 *  - the mock IOMMU ("mk_"): a driver of src/iommu's interface like any
 *    other.  Paging domains are src/pt tables (2 KiB-granule AMDv1, its
 *    1 MiB variant, or real AMDv1); nested domains hold a four-entry fake
 *    IOTLB; the vIOMMU owns an mmap-able region, per-device caches reset by
 *    virtual ID, vEVENTs and two HW queues that must be made in order.
 *  - the test operations ("op_"): one handler per op code, found through a
 *    table.  A mock device lives in a selftest object ("stdev") whose
 *    destruction detaches, unbinds and frees it; an access lives in a file
 *    whose release undoes it.
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
#include "uapi/iommufd_test.h"

/* ================================================ mock IOMMU: objects */

struct mk_viommu;

struct mk_dev {
	struct device dev;
	unsigned long flags;			/* MOCK_FLAGS_DEVICE_* */
	uint32_t cache[MOCK_DEV_CACHE_NUM];
	/* Set while attached to a nested domain made on a vIOMMU. */
	struct mk_viommu *viommu;
	uint64_t vdev_id;
	/* PASID 1024: whether its next non-blocking set must fail. */
	bool reserved_pasid_armed;
	/* Default paging domains span all IOVA (iommufd_mock_dev_init()). */
	bool full_aperture;
};

/* Paging domains are nothing but a src/pt table. */
struct mk_paging {
	struct iommu_pt_domain pt;
};

/* Nested domains translate nothing here; the tests only watch the IOTLB. */
struct mk_nested {
	struct iommu_domain domain;
	struct mk_viommu *viommu;		/* made on a vIOMMU, else NULL */
	uint32_t iotlb[MOCK_NESTED_DOMAIN_IOTLB_NUM];
};

struct mk_queue;

struct mk_viommu {
	struct iommufd_viommu core;
	struct mk_paging *s2;			/* the nesting parent */
	struct mk_queue *queue[IOMMU_TEST_HW_QUEUE_MAX];
	struct host_file *region;		/* mmap-able pages, or NULL */
	uint64_t region_offset;
};

struct mk_queue {
	struct iommufd_hw_queue core;
	struct mk_viommu *viommu;
	struct mk_queue *below;			/* the queue at index - 1 */
	uint32_t index;
};

/*
 * The mock's state of a device.  It is found through driver_data, not by
 * containment, so that a device embedded elsewhere (a VFIO device) can sit
 * behind the mock IOMMU too (iommufd_mock_dev_init()).
 */
static struct mk_dev *mk_dev_of(struct device *dev)
{
	return dev->driver_data;
}

static struct mk_paging *mk_paging_of(struct iommu_domain *domain)
{
	return container_of(to_pt_domain(domain), struct mk_paging, pt);
}

static struct mk_nested *mk_nested_of(struct iommu_domain *domain)
{
	return container_of(domain, struct mk_nested, domain);
}

static struct mk_viommu *mk_viommu_of(struct iommufd_viommu *viommu)
{
	return container_of(viommu, struct mk_viommu, core);
}

static struct mk_queue *mk_queue_of(struct iommufd_hw_queue *hw_queue)
{
	return container_of(hw_queue, struct mk_queue, core);
}

static const struct iommu_ops mk_iommu_ops;
static const struct iommu_domain_ops mk_nested_domain_ops;

/* ================================================ mock IOMMU: domains */

/*
 * Attaching keeps no mapping state: it refuses a dirty-tracking domain to a
 * device that cannot track, and on a vIOMMU's nested domain it records the
 * device's virtual ID there (vEVENTs carry it).
 */
static int mk_attach(struct iommu_domain *domain, struct device *dev, struct iommu_domain *old)
{
	struct mk_dev *mdev = mk_dev_of(dev);
	struct mk_viommu *on = NULL;
	uint64_t virt_id = 0;

	if ((mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY) && domain->dirty_ops)
		return -EINVAL;
	if (domain->type == IOMMU_DOMAIN_NESTED)
		on = mk_nested_of(domain)->viommu;
	if (on) {
		int rc = iommufd_viommu_get_vdev_id(&on->core, dev, &virt_id);

		if (rc)
			return rc;
	}
	mdev->viommu = on;
	mdev->vdev_id = virt_id;
	return 0;
}

/*
 * The one PASID quirk (IOMMU_TEST_PASID_RESERVED): sets alternate between
 * success and ENOMEM, starting with success, and blocking the PASID re-arms
 * the success.  That way attach works and the replace after it fails with
 * the old domain in place, which is what exercises the core's rollback.
 */
static int mk_set_pasid(struct iommu_domain *domain, struct device *dev, uint32_t pasid,
			struct iommu_domain *old)
{
	struct mk_dev *mdev = mk_dev_of(dev);
	bool fail;

	if (pasid != IOMMU_TEST_PASID_RESERVED)
		return 0;
	if (domain->type == IOMMU_DOMAIN_BLOCKED) {
		mdev->reserved_pasid_armed = false;
		return 0;
	}
	fail = mdev->reserved_pasid_armed;
	mdev->reserved_pasid_armed = !fail;
	return fail ? -ENOMEM : 0;
}

static const struct iommu_domain_ops mk_blocked_domain_ops = {
	.attach_dev = mk_attach,
	.set_dev_pasid = mk_set_pasid,
};

static struct iommu_domain mk_blocked_domain = {
	.ops = &mk_blocked_domain_ops,
	.type = IOMMU_DOMAIN_BLOCKED,
};

static void mk_paging_free(struct iommu_domain *domain)
{
	struct mk_paging *paging = mk_paging_of(domain);

	iommu_pt_domain_deinit(&paging->pt);
	free(paging);
}

static int mk_paging_track_dirty(struct iommu_domain *domain, bool enable)
{
	/* Only a domain allocated with DIRTY_TRACKING may switch it on. */
	if (!domain->dirty_ops && enable)
		return -EINVAL;
	to_pt_domain(domain)->dirty_tracking = enable;
	return 0;
}

static const struct iommu_domain_ops mk_paging_domain_ops = {
	.attach_dev = mk_attach,
	.set_dev_pasid = mk_set_pasid,
	.free = mk_paging_free,
	.map = iommu_pt_map,
	.unmap = iommu_pt_unmap,
	.iova_to_phys = iommu_pt_iova_to_phys,
	.translate = iommu_pt_translate,
};

static const struct iommu_dirty_ops mk_paging_dirty_ops = {
	.read_and_clear_dirty = iommu_pt_read_and_clear_dirty,
	.set_dirty_tracking = mk_paging_track_dirty,
};

/* The src/pt format behind each iommu_hwpt_selftest.pagetable_type. */
static int mk_pick_format(uint32_t pagetable_type, enum pt_fmt *fmt, struct pt_cfg *pcfg)
{
	if (pagetable_type == MOCK_IOMMUPT_DEFAULT)
		*fmt = PT_FMT_AMDV1_MOCK;
	else if (pagetable_type == MOCK_IOMMUPT_HUGE)
		*fmt = PT_FMT_AMDV1_MOCK_HUGE;
	else if (pagetable_type == MOCK_IOMMUPT_AMDV1) {
		*fmt = PT_FMT_AMDV1;
		pcfg->top_level = 5;	/* the full 64-bit input */
	} else
		return -EOPNOTSUPP;
	return 0;
}

static struct iommu_domain *mk_paging_new(uint32_t pagetable_type, uint32_t flags)
{
	struct pt_cfg pcfg = { 0 };
	struct mk_paging *paging;
	enum pt_fmt fmt;
	int rc;

	rc = mk_pick_format(pagetable_type, &fmt, &pcfg);
	if (rc)
		return ERR_PTR(rc);
	paging = iommufd_zalloc(sizeof(*paging));
	if (!paging)
		return ERR_PTR(-ENOMEM);
	rc = iommu_pt_domain_init(&paging->pt, fmt, &pcfg);
	if (rc) {
		free(paging);
		return ERR_PTR(rc);
	}
	paging->pt.domain.ops = &mk_paging_domain_ops;
	if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
		paging->pt.domain.dirty_ops = &mk_paging_dirty_ops;
	/* Only the default format narrows its aperture; tests see the ranges shrink. */
	if (pagetable_type == MOCK_IOMMUPT_DEFAULT) {
		paging->pt.domain.geometry.aperture_start = MOCK_APERTURE_START;
		paging->pt.domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	}
	return &paging->pt.domain;
}

static struct iommu_domain *mk_alloc_paging(struct device *dev, uint32_t flags,
					    const struct iommu_user_data *user_data)
{
	const uint32_t known = IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
			       IOMMU_HWPT_ALLOC_PASID;
	struct iommu_hwpt_selftest data = { 0 };

	if (flags & ~known)
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    (mk_dev_of(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return ERR_PTR(-EOPNOTSUPP);
	if (user_data) {
		int rc;

		if (user_data->type != IOMMU_HWPT_DATA_NONE &&
		    user_data->type != IOMMU_HWPT_DATA_SELFTEST)
			return ERR_PTR(-EOPNOTSUPP);
		/* Only iotlb is required; an older, shorter struct is zero extended. */
		rc = iommu_copy_struct_from_user(&data, sizeof(data), user_data,
						 IOMMU_HWPT_DATA_SELFTEST, sizeof(data.iotlb));
		if (rc)
			return ERR_PTR(rc);
	}
	/*
	 * A device a real program drives (VFIO) gets the whole 64-bit IOVA
	 * space by default: a VMM maps guest RAM from IOVA 0.
	 */
	if (data.pagetable_type == MOCK_IOMMUPT_DEFAULT && mk_dev_of(dev)->full_aperture)
		data.pagetable_type = MOCK_IOMMUPT_AMDV1;
	return mk_paging_new(data.pagetable_type, flags);
}

/* ---------------------------------------------------- nested domains */

static void mk_nested_free(struct iommu_domain *domain)
{
	free(mk_nested_of(domain));
}

/* Act on one entry of a nested domain's invalidation array. */
static int mk_iotlb_reset(struct mk_nested *nested, const struct iommu_hwpt_invalidate_selftest *e)
{
	unsigned int slot;

	if (e->flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL)
		return -EOPNOTSUPP;
	if (e->iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
		return -EINVAL;
	if (!(e->flags & IOMMU_TEST_INVALIDATE_FLAG_ALL)) {
		nested->iotlb[e->iotlb_id] = 0;
		return 0;
	}
	for (slot = 0; slot != MOCK_NESTED_DOMAIN_IOTLB_NUM; slot++)
		nested->iotlb[slot] = 0;
	return 0;
}

/*
 * Entries are copied and acted on one at a time, as the kernel's mock does,
 * so the memory used never depends on entry_num; entry_num comes back as
 * how many were acted on before the first failure.
 */
static int mk_nested_invalidate(struct iommu_domain *domain, struct iommu_user_data_array *array)
{
	struct mk_nested *nested = mk_nested_of(domain);
	struct iommu_hwpt_invalidate_selftest entry;
	uint32_t acted = 0;
	int rc = 0;

	if (array->type != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST)
		rc = -EINVAL;
	while (!rc && acted < array->entry_num) {
		rc = iommu_copy_struct_from_user_array(&entry, sizeof(entry), array,
						       IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, acted,
						       sizeof(entry));
		if (!rc)
			rc = mk_iotlb_reset(nested, &entry);
		if (!rc)
			acted++;
	}
	array->entry_num = acted;
	return rc;
}

static const struct iommu_domain_ops mk_nested_domain_ops = {
	.attach_dev = mk_attach,
	.set_dev_pasid = mk_set_pasid,
	.free = mk_nested_free,
	.cache_invalidate_user = mk_nested_invalidate,
};

/* A nested domain from the mock's HWPT data; @viommu may be NULL. */
static struct iommu_domain *mk_nested_new(uint32_t flags, const struct iommu_user_data *user_data,
					  struct mk_viommu *viommu)
{
	struct iommu_hwpt_selftest data;
	struct mk_nested *nested;
	unsigned int slot;
	int rc;

	if (flags & ~IOMMU_HWPT_ALLOC_PASID)
		return ERR_PTR(-EOPNOTSUPP);
	if (user_data->type != IOMMU_HWPT_DATA_SELFTEST)
		return ERR_PTR(-EOPNOTSUPP);
	rc = iommu_copy_struct_from_user(&data, sizeof(data), user_data, IOMMU_HWPT_DATA_SELFTEST,
					 sizeof(data.iotlb));
	if (rc)
		return ERR_PTR(rc);
	nested = iommufd_zalloc(sizeof(*nested));
	if (!nested)
		return ERR_PTR(-ENOMEM);
	nested->domain.type = IOMMU_DOMAIN_NESTED;
	nested->domain.ops = &mk_nested_domain_ops;
	nested->viommu = viommu;
	for (slot = 0; slot != MOCK_NESTED_DOMAIN_IOTLB_NUM; slot++)
		nested->iotlb[slot] = data.iotlb;
	return &nested->domain;
}

static struct iommu_domain *mk_alloc_nested(struct device *dev, struct iommu_domain *parent,
					    uint32_t flags, const struct iommu_user_data *user_data)
{
	/* The flags are checked before the parent, as the kernel's mock does. */
	if (flags & ~IOMMU_HWPT_ALLOC_PASID)
		return ERR_PTR(-EOPNOTSUPP);
	if (!parent || parent->type != IOMMU_DOMAIN_PAGING)
		return ERR_PTR(-EINVAL);
	return mk_nested_new(flags, user_data, NULL);
}

/* ================================================ mock IOMMU: vIOMMU */

static void mk_viommu_destroy(struct iommufd_viommu *viommu)
{
	struct mk_viommu *mv = mk_viommu_of(viommu);
	struct uiommufd_host *host = viommu->ictx->host;

	if (!mv->region)
		return;
	iommufd_viommu_destroy_mmap(viommu, mv->region_offset);
	host->ops->file_put(host, mv->region);
}

static struct iommu_domain *mk_viommu_alloc_nested(struct iommufd_viommu *viommu, uint32_t flags,
						   const struct iommu_user_data *user_data)
{
	return mk_nested_new(flags, user_data, mk_viommu_of(viommu));
}

/*
 * The kernel's mock copies a vIOMMU invalidation array into one kernel
 * allocation, and the kernel allocator refuses more than 4 MiB; so a longer
 * array is ENOMEM there, with entry_num left as the caller passed it.
 */
#define MK_KERNEL_ALLOC_MAX (4u << 20)

static int mk_viommu_entry(const struct iommu_user_data_array *array, uint32_t index,
			   struct iommu_viommu_invalidate_selftest *e)
{
	return iommu_copy_struct_from_user_array(e, sizeof(*e), array,
						 IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, index,
						 sizeof(*e));
}

/* Act on one entry: reset cache entries of the device at vdev_id. */
static int mk_cache_reset(struct iommufd_viommu *viommu,
			  const struct iommu_viommu_invalidate_selftest *e)
{
	struct device *dev;
	struct mk_dev *mdev;
	unsigned int slot;

	if (e->flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL)
		return -EOPNOTSUPP;
	if (e->cache_id > MOCK_DEV_CACHE_ID_MAX)
		return -EINVAL;
	dev = iommufd_viommu_find_dev(viommu, e->vdev_id);
	if (!dev)
		return -EINVAL;
	mdev = mk_dev_of(dev);
	if (!(e->flags & IOMMU_TEST_INVALIDATE_FLAG_ALL)) {
		mdev->cache[e->cache_id] = 0;
		return 0;
	}
	for (slot = 0; slot != MOCK_DEV_CACHE_NUM; slot++)
		mdev->cache[slot] = 0;
	return 0;
}

/*
 * What the caller sees is the kernel's: every entry must copy before any
 * acts (a copy failure is entry_num 0), then entries act in order.  We get
 * there holding one entry at a time: a first pass only copies, a second
 * copies again and acts.
 */
static int mk_viommu_invalidate(struct iommufd_viommu *viommu, struct iommu_user_data_array *array)
{
	struct iommu_viommu_invalidate_selftest e;
	const uint32_t total = array->entry_num;
	uint32_t i;
	int rc = 0;

	/* An empty array of the right type is how a caller probes for it. */
	if (!total && array->type == IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST)
		return 0;
	if ((uint64_t)total * sizeof(e) > MK_KERNEL_ALLOC_MAX)
		return -ENOMEM;
	if (array->type != IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST)
		rc = -EINVAL;
	for (i = 0; !rc && i < total; i++)
		rc = mk_viommu_entry(array, i, &e);
	if (rc) {
		array->entry_num = 0;
		return rc;
	}
	for (i = 0; i < total; i++) {
		rc = mk_viommu_entry(array, i, &e);
		if (!rc)
			rc = mk_cache_reset(viommu, &e);
		if (rc)
			break;
	}
	array->entry_num = i;
	return rc;
}

static size_t mk_queue_size(struct iommufd_viommu *viommu, uint32_t type)
{
	if (type != IOMMU_HW_QUEUE_TYPE_SELFTEST)
		return 0;
	return sizeof(struct mk_queue);
}

static void mk_queue_destroy(struct iommufd_hw_queue *hw_queue)
{
	struct mk_queue *q = mk_queue_of(hw_queue);

	if (q->below)
		iommufd_hw_queue_undepend(&q->core, &q->below->core);
	q->viommu->queue[q->index] = NULL;
}

/*
 * Queues take their indexes in order and each one above 0 depends on the
 * one below it, so the core's depend/undepend rules get exercised.
 */
static int mk_queue_init(struct iommufd_hw_queue *hw_queue, uint32_t index, uint64_t base_pa)
{
	struct mk_viommu *mv = mk_viommu_of(hw_queue->viommu);
	struct mk_queue *q = mk_queue_of(hw_queue);
	struct mk_queue *below = NULL;
	uint64_t s2_pa;

	if (index >= IOMMU_TEST_HW_QUEUE_MAX)
		return -EINVAL;
	if (mv->queue[index])
		return -EEXIST;
	if (index > 0) {
		below = mv->queue[index - 1];
		if (!below)
			return -EIO;
	}
	/* What the core hands over must be what the stage 2 maps at the base. */
	s2_pa = iommu_iova_to_phys(&mv->s2->pt.domain, hw_queue->base_addr);
	if (s2_pa != base_pa)
		return -EFAULT;
	q->viommu = mv;
	q->index = index;
	q->below = below;
	if (below)
		iommufd_hw_queue_depend(&q->core, &below->core);
	mv->queue[index] = q;
	hw_queue->destroy = mk_queue_destroy;
	return 0;
}

static const struct iommufd_viommu_ops mk_viommu_ops = {
	.alloc_domain_nested = mk_viommu_alloc_nested,
	.cache_invalidate = mk_viommu_invalidate,
	.destroy = mk_viommu_destroy,
	.get_hw_queue_size = mk_queue_size,
	.hw_queue_init_phys = mk_queue_init,
};

static size_t mk_viommu_size(struct device *dev, uint32_t type)
{
	if (type != IOMMU_VIOMMU_TYPE_SELFTEST)
		return 0;
	return sizeof(struct mk_viommu);
}

/* Make the two-page region, its first word in_data, and offer it for mmap. */
static int mk_region_create(struct mk_viommu *mv, uint32_t in_data, size_t len)
{
	struct uiommufd_host *host = mv->core.ictx->host;
	void *va;
	int rc;

	rc = host->ops->file_create(host, len, &mv->region);
	if (rc)
		return rc;
	rc = host->ops->file_mmap(host, mv->region, NULL, len, PROT_READ | PROT_WRITE,
				  MAP_SHARED, 0, &va);
	if (rc)
		goto err_drop_file;
	memcpy(va, &in_data, sizeof(in_data));
	host->ops->file_munmap(host, va, len);
	rc = iommufd_viommu_alloc_mmap(&mv->core, mv->region, len, &mv->region_offset);
	if (rc)
		goto err_drop_file;
	return 0;

err_drop_file:
	host->ops->file_put(host, mv->region);
	mv->region = NULL;
	return rc;
}

/* With driver data: loop in_data back and report the region. */
static int mk_viommu_data(struct mk_viommu *mv, const struct iommu_user_data *user_data)
{
	const size_t min_len = offsetof(struct iommu_viommu_selftest, out_data);
	const size_t region_len = 2 * PAGE_SIZE;
	struct uiommufd_host *host = mv->core.ictx->host;
	struct iommu_viommu_selftest data;
	int rc;

	rc = iommu_copy_struct_from_user(&data, sizeof(data), user_data,
					 IOMMU_VIOMMU_TYPE_SELFTEST, min_len);
	if (rc)
		return rc;
	rc = mk_region_create(mv, data.in_data, region_len);
	if (rc)
		return rc;
	data.out_data = data.in_data;
	data.out_mmap_offset = mv->region_offset;
	data.out_mmap_length = region_len;
	rc = iommu_copy_struct_to_user(user_data, &data, sizeof(data), IOMMU_VIOMMU_TYPE_SELFTEST,
				       min_len);
	if (!rc)
		return 0;
	iommufd_viommu_destroy_mmap(&mv->core, mv->region_offset);
	host->ops->file_put(host, mv->region);
	mv->region = NULL;
	return rc;
}

static int mk_viommu_init(struct iommufd_viommu *viommu, struct iommu_domain *parent,
			  const struct iommu_user_data *user_data)
{
	struct mk_viommu *mv = mk_viommu_of(viommu);

	if (user_data) {
		int rc = mk_viommu_data(mv, user_data);

		if (rc)
			return rc;
	}
	mv->s2 = mk_paging_of(parent);
	viommu->ops = &mk_viommu_ops;
	return 0;
}

/* ================================================ mock IOMMU: devices */

static bool mk_capable(struct device *dev, enum iommu_cap cap)
{
	if (cap == IOMMU_CAP_DIRTY_TRACKING)
		return !(mk_dev_of(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
	return cap == IOMMU_CAP_CACHE_COHERENCY;
}

static void *mk_hw_info(struct device *dev, uint32_t *length, uint32_t *type)
{
	struct iommu_test_hw_info *reply;

	if (*type != IOMMU_HW_INFO_TYPE_SELFTEST && *type != IOMMU_HW_INFO_TYPE_DEFAULT)
		return ERR_PTR(-EOPNOTSUPP);
	reply = iommufd_zalloc(sizeof(*reply));
	if (!reply)
		return ERR_PTR(-ENOMEM);
	reply->test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL;
	*type = IOMMU_HW_INFO_TYPE_SELFTEST;
	*length = sizeof(*reply);
	return reply;
}

static const struct iommu_ops mk_iommu_ops = {
	.name = "iommufd_mock",
	.blocked_domain = &mk_blocked_domain,
	.capable = mk_capable,
	.domain_alloc_nested = mk_alloc_nested,
	.domain_alloc_paging_flags = mk_alloc_paging,
	.get_viommu_size = mk_viommu_size,
	.hw_info = mk_hw_info,
	.viommu_init = mk_viommu_init,
};

static unsigned int mk_dev_serial;

static struct mk_dev *mk_dev_new(struct uiommufd_host *host, uint32_t dev_flags)
{
	struct mk_dev *mdev;
	unsigned int slot;

	if (dev_flags & ~(uint32_t)(MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_PASID))
		return ERR_PTR(-EINVAL);
	mdev = iommufd_zalloc(sizeof(*mdev));
	if (!mdev)
		return ERR_PTR(-ENOMEM);
	mdev->flags = dev_flags;
	for (slot = 0; slot != MOCK_DEV_CACHE_NUM; slot++)
		mdev->cache[slot] = IOMMU_TEST_DEV_CACHE_DEFAULT;
	snprintf(mdev->dev.name, sizeof(mdev->dev.name), "iommufd_mock%u",
		 __atomic_fetch_add(&mk_dev_serial, 1, __ATOMIC_RELAXED));
	mdev->dev.host = host;
	mdev->dev.iommu_ops = &mk_iommu_ops;
	mdev->dev.domain = &mk_blocked_domain;
	mdev->dev.driver_data = mdev;
	if (dev_flags & MOCK_FLAGS_DEVICE_PASID)
		mdev->dev.max_pasid_lg2 = MOCK_PASID_WIDTH;
	return mdev;
}

/*
 * Put @dev, a device the caller owns, behind the mock IOMMU: VFIO devices
 * use it as their IOMMU driver.  The mock's state lives in a shadow
 * mk_dev that @dev's driver_data names; @dev keeps its own name.
 */
int iommufd_mock_dev_init(struct device *dev, struct uiommufd_host *host, uint32_t dev_flags)
{
	struct mk_dev *shadow = mk_dev_new(host, dev_flags);

	if (IS_ERR(shadow))
		return (int)PTR_ERR(shadow);
	dev->host = host;
	dev->iommu_ops = &mk_iommu_ops;
	dev->domain = &mk_blocked_domain;
	dev->max_pasid_lg2 = shadow->dev.max_pasid_lg2;
	dev->driver_data = shadow;
	shadow->full_aperture = true;
	return 0;
}

void iommufd_mock_dev_uninit(struct device *dev)
{
	free(dev->driver_data);
	dev->driver_data = NULL;
}

/* ================================================ lookups for the ops */

/* A paging HWPT whose domain belongs to the mock; EINVAL for any other. */
static struct iommufd_hw_pagetable *st_mock_paging(struct iommufd_ucmd *ucmd, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	struct iommufd_hw_pagetable *hwpt;

	if (IS_ERR(obj))
		return (void *)obj;
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (hwpt->domain->owner == &mk_iommu_ops && hwpt->domain->type == IOMMU_DOMAIN_PAGING)
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
	stdev->mdev = mk_dev_new(ictx->host, dev_flags);
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
	same = idev->dev->iommu_ops == &mk_iommu_ops && slot <= MOCK_DEV_CACHE_ID_MAX &&
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
	same = domain->ops == &mk_nested_domain_ops && slot <= MOCK_NESTED_DOMAIN_IOTLB_ID_MAX &&
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
	if (idev->dev->iommu_ops == &mk_iommu_ops)
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
