// SPDX-License-Identifier: MIT
/*
 * The mock IOMMU: the kernel selftest's driver of src/iommu's interface,
 * written from docs/uapi-behaviour.md like everything else here.  Paging
 * domains are src/pt tables (2 KiB-granule AMDv1, its 1 MiB variant, or
 * real AMDv1); nested domains hold a four-entry fake IOTLB; the vIOMMU
 * owns an mmap-able region, per-device caches reset by virtual ID,
 * vEVENTs and two HW queues that must be made in order.  The selftest's
 * operations that drive it are src/core/selftest.c.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/eventq.h"
#include "core/io_pagetable.h"
#include "core/ioas.h"
#include "iommu/mock/mock.h"

/* ================================================ mock IOMMU: objects */

struct mk_queue {
	struct iommufd_hw_queue core;
	struct mk_viommu *viommu;
	struct mk_queue *below;			/* the queue at index - 1 */
	uint32_t index;
};

static struct mk_viommu *mk_viommu_of(struct iommufd_viommu *viommu)
{
	return container_of(viommu, struct mk_viommu, core);
}

static struct mk_queue *mk_queue_of(struct iommufd_hw_queue *hw_queue)
{
	return container_of(hw_queue, struct mk_queue, core);
}


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
	.prefetch = iommu_pt_prefetch,
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
		/* As the kernel's: three levels to start, more as maps reach higher, up to 64 bits. */
		pcfg->top_level = 2;
		pcfg->vasz_lg2 = 64;
		pcfg->features |= PT_FEAT_DYNAMIC_TOP;
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

const struct iommu_domain_ops iommu_mock_nested_ops = {
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
	nested->domain.ops = &iommu_mock_nested_ops;
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

const struct iommu_ops iommu_mock_ops = {
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

struct mk_dev *iommu_mock_dev_new(struct uiommufd_host *host, uint32_t dev_flags)
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
	mdev->dev.iommu_ops = &iommu_mock_ops;
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
	struct mk_dev *shadow = iommu_mock_dev_new(host, dev_flags);

	if (IS_ERR(shadow))
		return (int)PTR_ERR(shadow);
	dev->host = host;
	dev->iommu_ops = &iommu_mock_ops;
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
