// SPDX-License-Identifier: MIT
/*
 * IOMMU_TEST_CMD and the mock IOMMU: the kernel selftest's private ABI.
 *
 * The kernel builds this only for its own test suite (CONFIG_IOMMUFD_TEST);
 * uiommufd always has it, because running that suite unmodified is how we
 * check ourselves against the kernel.
 *
 * The mock IOMMU is a real driver of the driver interface: its paging
 * domains are AMDv1 page tables with a 2 KiB granule (smaller than a CPU
 * page on purpose), or the variant that maps 1 MiB pages, or real AMDv1;
 * the default variant's aperture is narrowed to [16 MiB, 2 GiB).  Its
 * devices can lack dirty tracking (NO_DIRTY) or have 20 PASID bits, and
 * each carries a 4-entry cache the vIOMMU tests inspect.  A mock device
 * lives in a selftest object (the "stdev"): destroying that object
 * detaches, unbinds and removes the device.
 *
 * Accesses made by CREATE_ACCESS are files, as in the kernel: the access
 * goes when its descriptor is closed.  The mock vIOMMU exposes two pages
 * through mmap of the iommufd file, resets device caches by virtual ID,
 * reports vEVENTs for the device's virtual ID, and takes HW queues in index
 * order, each depending on the one before.  PASID 1024 fails every second
 * set_dev_pasid with ENOMEM so that replace's rollback is exercised.
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

/* -------------------------------------------------------- the mock IOMMU */

struct mock_viommu;

struct mock_dev {
	struct device dev;
	unsigned long flags;
	uint32_t cache[MOCK_DEV_CACHE_NUM];
	struct mock_viommu *viommu;	/* of the nested domain it is attached to */
	uint64_t vdev_id;		/* its virtual ID there */
	bool pasid_1024_fail_next;	/* the next non-blocking set of PASID 1024 fails */
};

static inline struct mock_dev *to_mock_dev(struct device *dev)
{
	return container_of(dev, struct mock_dev, dev);
}

struct mock_iommu_domain {
	struct iommu_pt_domain pt;
};

static inline struct mock_iommu_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(to_pt_domain(domain), struct mock_iommu_domain, pt);
}

static const struct iommu_ops mock_ops;

/* A nested domain: no translation of its own here, only a fake IOTLB. */
struct mock_iommu_domain_nested {
	struct iommu_domain domain;
	struct mock_viommu *mock_viommu;	/* made on a vIOMMU, or NULL */
	uint32_t iotlb[MOCK_NESTED_DOMAIN_IOTLB_NUM];
};

static inline struct mock_iommu_domain_nested *to_mock_nested(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_iommu_domain_nested, domain);
}

/* The vIOMMU of the mock: a page the program can mmap, and its HW queues. */
struct mock_viommu {
	struct iommufd_viommu core;
	struct mock_iommu_domain *s2_parent;
	struct mock_hw_queue *hw_queue[IOMMU_TEST_HW_QUEUE_MAX];
	struct host_file *page_file;	/* two pages, the first word in_data */
	uint64_t mmap_offset;
};

static inline struct mock_viommu *to_mock_viommu(struct iommufd_viommu *viommu)
{
	return container_of(viommu, struct mock_viommu, core);
}

static int mock_domain_nop_attach(struct iommu_domain *domain, struct device *dev,
				  struct iommu_domain *old)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	struct mock_viommu *viommu = NULL;
	uint64_t vdev_id = 0;
	int rc;

	/* A device that cannot track dirty IOPTEs cannot use such a domain. */
	if (domain->dirty_ops && (mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return -EINVAL;
	/* Through a vIOMMU's nested domain the device needs a virtual ID. */
	if (domain->type == IOMMU_DOMAIN_NESTED && to_mock_nested(domain)->mock_viommu) {
		viommu = to_mock_nested(domain)->mock_viommu;
		rc = iommufd_viommu_get_vdev_id(&viommu->core, dev, &vdev_id);
		if (rc)
			return rc;
	}
	mdev->viommu = viommu;
	mdev->vdev_id = vdev_id;
	return 0;
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);

	iommu_pt_domain_deinit(&mock->pt);
	free(mock);
}

static int mock_domain_set_dirty_tracking(struct iommu_domain *domain, bool enable)
{
	if (enable && !domain->dirty_ops)
		return -EINVAL;
	to_pt_domain(domain)->dirty_tracking = enable;
	return 0;
}

/*
 * The mock keeps no per-PASID state, with one exception that lets the tests
 * reach the core's rollback: PASID IOMMU_TEST_PASID_RESERVED (1024) fails
 * every second setting with ENOMEM, counting from its attach, and blocking
 * it starts the count over.  So attach works, the replace after it fails
 * with the old domain still in place, and the one after that works again.
 */
static int mock_domain_set_dev_pasid(struct iommu_domain *domain, struct device *dev,
				     uint32_t pasid, struct iommu_domain *old)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	if (pasid != IOMMU_TEST_PASID_RESERVED)
		return 0;
	if (domain->type == IOMMU_DOMAIN_BLOCKED) {
		mdev->pasid_1024_fail_next = false;
	} else if (mdev->pasid_1024_fail_next) {
		mdev->pasid_1024_fail_next = false;
		return -ENOMEM;
	} else {
		mdev->pasid_1024_fail_next = true;
	}
	return 0;
}

static const struct iommu_domain_ops mock_blocking_ops = {
	.attach_dev = mock_domain_nop_attach,
	.set_dev_pasid = mock_domain_set_dev_pasid,
};

static struct iommu_domain mock_blocking_domain = {
	.type = IOMMU_DOMAIN_BLOCKED,
	.ops = &mock_blocking_ops,
};

static const struct iommu_domain_ops mock_paging_ops = {
	.attach_dev = mock_domain_nop_attach,
	.set_dev_pasid = mock_domain_set_dev_pasid,
	.map = iommu_pt_map,
	.unmap = iommu_pt_unmap,
	.iova_to_phys = iommu_pt_iova_to_phys,
	.translate = iommu_pt_translate,
	.free = mock_domain_free,
};

static const struct iommu_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_domain_set_dirty_tracking,
	.read_and_clear_dirty = iommu_pt_read_and_clear_dirty,
};

static struct iommu_domain *mock_domain_alloc_pgtable(const struct iommu_hwpt_selftest *cfg,
						      uint32_t flags)
{
	struct pt_cfg pcfg = { 0 };
	struct mock_iommu_domain *mock;
	enum pt_fmt fmt;
	int rc;

	switch (cfg->pagetable_type) {
	case MOCK_IOMMUPT_DEFAULT:
		fmt = PT_FMT_AMDV1_MOCK;
		break;
	case MOCK_IOMMUPT_HUGE:
		fmt = PT_FMT_AMDV1_MOCK_HUGE;
		break;
	case MOCK_IOMMUPT_AMDV1:
		/* Real AMDv1 with a 64-bit input space. */
		fmt = PT_FMT_AMDV1;
		pcfg.top_level = 5;
		break;
	default:
		return ERR_PTR(-EOPNOTSUPP);
	}

	mock = iommufd_zalloc(sizeof(*mock));
	if (!mock)
		return ERR_PTR(-ENOMEM);
	rc = iommu_pt_domain_init(&mock->pt, fmt, &pcfg);
	if (rc) {
		free(mock);
		return ERR_PTR(rc);
	}
	mock->pt.domain.ops = &mock_paging_ops;
	if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
		mock->pt.domain.dirty_ops = &mock_dirty_ops;
	/* The tests rely on this aperture to see IOVA ranges narrow. */
	if (cfg->pagetable_type == MOCK_IOMMUPT_DEFAULT) {
		mock->pt.domain.geometry.aperture_start = MOCK_APERTURE_START;
		mock->pt.domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	}
	return &mock->pt.domain;
}

static struct iommu_domain *mock_domain_alloc_paging_flags(struct device *dev, uint32_t flags,
							   const struct iommu_user_data *user_data)
{
	const uint32_t paging_flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
				      IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_PASID;
	bool no_dirty = to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY;
	struct iommu_hwpt_selftest cfg = { 0 };
	int rc;

	if ((flags & ~paging_flags) || ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && no_dirty))
		return ERR_PTR(-EOPNOTSUPP);
	if (user_data && user_data->type != IOMMU_HWPT_DATA_SELFTEST &&
	    user_data->type != IOMMU_HWPT_DATA_NONE)
		return ERR_PTR(-EOPNOTSUPP);
	if (user_data) {
		rc = iommu_copy_struct_from_user(&cfg, sizeof(cfg), user_data,
						 IOMMU_HWPT_DATA_SELFTEST, sizeof(cfg.iotlb));
		if (rc)
			return ERR_PTR(rc);
	}
	return mock_domain_alloc_pgtable(&cfg, flags);
}

static void mock_domain_free_nested(struct iommu_domain *domain)
{
	free(to_mock_nested(domain));
}

/* Each entry clears one IOTLB slot, or all; entry_num says how many went. */
static int mock_domain_cache_invalidate_user(struct iommu_domain *domain,
					     struct iommu_user_data_array *array)
{
	struct mock_iommu_domain_nested *mock_nested = to_mock_nested(domain);
	struct iommu_hwpt_invalidate_selftest inv;
	uint32_t processed = 0, i;
	int rc = 0, j;

	if (array->type != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) {
		rc = -EINVAL;
		goto out;
	}
	for (i = 0; i < array->entry_num; i++) {
		rc = iommu_copy_struct_from_user_array(&inv, sizeof(inv), array,
						       IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, i,
						       sizeof(inv));
		if (rc)
			break;
		if (inv.flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			rc = -EOPNOTSUPP;
			break;
		}
		if (inv.iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX) {
			rc = -EINVAL;
			break;
		}
		if (inv.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			for (j = 0; j < MOCK_NESTED_DOMAIN_IOTLB_NUM; j++)
				mock_nested->iotlb[j] = 0;
		} else {
			mock_nested->iotlb[inv.iotlb_id] = 0;
		}
		processed++;
	}
out:
	array->entry_num = processed;
	return rc;
}

static const struct iommu_domain_ops mock_nested_ops = {
	.attach_dev = mock_domain_nop_attach,
	.set_dev_pasid = mock_domain_set_dev_pasid,
	.cache_invalidate_user = mock_domain_cache_invalidate_user,
	.free = mock_domain_free_nested,
};

static struct mock_iommu_domain_nested *
__mock_domain_alloc_nested(const struct iommu_user_data *user_data)
{
	struct mock_iommu_domain_nested *mock_nested;
	struct iommu_hwpt_selftest cfg;
	int rc, i;

	if (user_data->type != IOMMU_HWPT_DATA_SELFTEST)
		return ERR_PTR(-EOPNOTSUPP);
	rc = iommu_copy_struct_from_user(&cfg, sizeof(cfg), user_data, IOMMU_HWPT_DATA_SELFTEST,
					 sizeof(cfg.iotlb));
	if (rc)
		return ERR_PTR(rc);
	mock_nested = iommufd_zalloc(sizeof(*mock_nested));
	if (!mock_nested)
		return ERR_PTR(-ENOMEM);
	mock_nested->domain.type = IOMMU_DOMAIN_NESTED;
	mock_nested->domain.ops = &mock_nested_ops;
	for (i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
		mock_nested->iotlb[i] = cfg.iotlb;
	return mock_nested;
}

static struct iommu_domain *mock_domain_alloc_nested(struct device *dev,
						     struct iommu_domain *parent, uint32_t flags,
						     const struct iommu_user_data *user_data)
{
	struct mock_iommu_domain_nested *mock_nested;

	if (flags & ~IOMMU_HWPT_ALLOC_PASID)
		return ERR_PTR(-EOPNOTSUPP);
	if (!parent || parent->type != IOMMU_DOMAIN_PAGING)
		return ERR_PTR(-EINVAL);
	mock_nested = __mock_domain_alloc_nested(user_data);
	return IS_ERR(mock_nested) ? ERR_PTR(PTR_ERR(mock_nested)) : &mock_nested->domain;
}

/* ------------------------------------------------------- the mock vIOMMU */

struct mock_hw_queue {
	struct iommufd_hw_queue core;
	struct mock_viommu *mock_viommu;
	struct mock_hw_queue *prev;	/* the queue at index - 1 it depends on */
	uint32_t index;
};

static void mock_viommu_destroy(struct iommufd_viommu *viommu)
{
	struct mock_viommu *mock_viommu = to_mock_viommu(viommu);
	struct uiommufd_host *host = viommu->ictx->host;

	if (mock_viommu->page_file) {
		iommufd_viommu_destroy_mmap(viommu, mock_viommu->mmap_offset);
		host->ops->file_put(host, mock_viommu->page_file);
	}
}

static struct iommu_domain *
mock_viommu_alloc_domain_nested(struct iommufd_viommu *viommu, uint32_t flags,
				const struct iommu_user_data *user_data)
{
	struct mock_iommu_domain_nested *mock_nested;

	if (flags & ~IOMMU_HWPT_ALLOC_PASID)
		return ERR_PTR(-EOPNOTSUPP);
	mock_nested = __mock_domain_alloc_nested(user_data);
	if (IS_ERR(mock_nested))
		return ERR_PTR(PTR_ERR(mock_nested));
	mock_nested->mock_viommu = to_mock_viommu(viommu);
	return &mock_nested->domain;
}

/*
 * Each entry resets one cache slot of the device at vdev_id, or all of
 * them.  The array is read whole first; entry_num says how many went.
 */
static int mock_viommu_cache_invalidate(struct iommufd_viommu *viommu,
					struct iommu_user_data_array *array)
{
	struct iommu_viommu_invalidate_selftest *cmds;
	uint32_t done = 0;
	int rc = 0, i;

	/* No entries only checks the type. */
	if (!array->entry_num && array->type == IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST)
		return 0;
	cmds = iommufd_realloc_array(NULL, array->entry_num ? array->entry_num : 1,
				     sizeof(*cmds));
	if (!cmds) {
		rc = -ENOMEM;
		goto out;
	}
	rc = iommu_copy_struct_from_full_user_array(cmds, sizeof(*cmds), array,
						    IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST);
	for (; !rc && done != array->entry_num; done++) {
		const struct iommu_viommu_invalidate_selftest *cur = &cmds[done];
		struct device *dev;

		if (cur->flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			rc = -EOPNOTSUPP;
			break;
		}
		if (cur->cache_id > MOCK_DEV_CACHE_ID_MAX) {
			rc = -EINVAL;
			break;
		}
		dev = iommufd_viommu_find_dev(viommu, cur->vdev_id);
		if (!dev) {
			rc = -EINVAL;
			break;
		}
		if (cur->flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			for (i = 0; i < MOCK_DEV_CACHE_NUM; i++)
				to_mock_dev(dev)->cache[i] = 0;
		} else {
			to_mock_dev(dev)->cache[cur->cache_id] = 0;
		}
	}
	free(cmds);
out:
	array->entry_num = done;
	return rc;
}

static size_t mock_viommu_get_hw_queue_size(struct iommufd_viommu *viommu, uint32_t type)
{
	return type == IOMMU_HW_QUEUE_TYPE_SELFTEST ? sizeof(struct mock_hw_queue) : 0;
}

static void mock_hw_queue_destroy(struct iommufd_hw_queue *hw_queue)
{
	struct mock_hw_queue *q = container_of(hw_queue, struct mock_hw_queue, core);

	q->mock_viommu->hw_queue[q->index] = NULL;
	if (q->prev)
		iommufd_hw_queue_undepend(&q->core, &q->prev->core);
}

/* Queues fill indexes in order; each depends on the one before it. */
static int mock_hw_queue_init_phys(struct iommufd_hw_queue *hw_queue, uint32_t index,
				   uint64_t base_pa)
{
	struct mock_hw_queue *q = container_of(hw_queue, struct mock_hw_queue, core);
	struct mock_viommu *mock_viommu = to_mock_viommu(hw_queue->viommu);
	struct mock_hw_queue *prev = NULL;

	if (index >= IOMMU_TEST_HW_QUEUE_MAX)
		return -EINVAL;
	if (mock_viommu->hw_queue[index])
		return -EEXIST;
	if (index) {
		prev = mock_viommu->hw_queue[index - 1];
		if (!prev)
			return -EIO;
	}
	/* The core must hand over what the stage 2 maps at base_addr. */
	if (base_pa != iommu_iova_to_phys(&mock_viommu->s2_parent->pt.domain,
					  hw_queue->base_addr))
		return -EFAULT;
	if (prev)
		iommufd_hw_queue_depend(&q->core, &prev->core);
	q->prev = prev;
	q->index = index;
	q->mock_viommu = mock_viommu;
	mock_viommu->hw_queue[index] = q;
	hw_queue->destroy = mock_hw_queue_destroy;
	return 0;
}

static const struct iommufd_viommu_ops mock_viommu_ops = {
	.destroy = mock_viommu_destroy,
	.alloc_domain_nested = mock_viommu_alloc_domain_nested,
	.cache_invalidate = mock_viommu_cache_invalidate,
	.get_hw_queue_size = mock_viommu_get_hw_queue_size,
	.hw_queue_init_phys = mock_hw_queue_init_phys,
};

static size_t mock_get_viommu_size(struct device *dev, uint32_t type)
{
	return type == IOMMU_VIOMMU_TYPE_SELFTEST ? sizeof(struct mock_viommu) : 0;
}

/* With user data: two pages the program can mmap, in_data in the first word. */
static int mock_viommu_init_page(struct mock_viommu *mock_viommu,
				 const struct iommu_user_data *user_data)
{
	struct uiommufd_host *host = mock_viommu->core.ictx->host;
	struct iommu_viommu_selftest data;
	const size_t length = 2 * PAGE_SIZE;
	void *page;
	int rc;

	rc = iommu_copy_struct_from_user(&data, sizeof(data), user_data,
					 IOMMU_VIOMMU_TYPE_SELFTEST,
					 offsetof(struct iommu_viommu_selftest, out_data));
	if (rc)
		return rc;
	rc = host->ops->file_create(host, length, &mock_viommu->page_file);
	if (rc)
		return rc;
	rc = host->ops->file_mmap(host, mock_viommu->page_file, NULL, length,
				  PROT_READ | PROT_WRITE, MAP_SHARED, 0, &page);
	if (rc)
		goto err_put_file;
	*(uint32_t *)page = data.in_data;
	host->ops->file_munmap(host, page, length);

	rc = iommufd_viommu_alloc_mmap(&mock_viommu->core, mock_viommu->page_file, length,
				       &mock_viommu->mmap_offset);
	if (rc)
		goto err_put_file;
	data.out_data = data.in_data;
	data.out_mmap_offset = mock_viommu->mmap_offset;
	data.out_mmap_length = length;
	rc = iommu_copy_struct_to_user(user_data, &data, sizeof(data),
				       IOMMU_VIOMMU_TYPE_SELFTEST,
				       offsetof(struct iommu_viommu_selftest, out_data));
	if (rc)
		goto err_destroy_mmap;
	return 0;

err_destroy_mmap:
	iommufd_viommu_destroy_mmap(&mock_viommu->core, mock_viommu->mmap_offset);
err_put_file:
	host->ops->file_put(host, mock_viommu->page_file);
	mock_viommu->page_file = NULL;
	return rc;
}

static int mock_viommu_init(struct iommufd_viommu *viommu, struct iommu_domain *parent,
			    const struct iommu_user_data *user_data)
{
	struct mock_viommu *mock_viommu = to_mock_viommu(viommu);
	int rc;

	if (user_data) {
		rc = mock_viommu_init_page(mock_viommu, user_data);
		if (rc)
			return rc;
	}
	mock_viommu->s2_parent = to_mock_domain(parent);
	viommu->ops = &mock_viommu_ops;
	return 0;
}

static bool mock_domain_capable(struct device *dev, enum iommu_cap cap)
{
	switch (cap) {
	case IOMMU_CAP_CACHE_COHERENCY:
		return true;
	case IOMMU_CAP_DIRTY_TRACKING:
		return !(to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
	default:
		return false;
	}
}

static void *mock_domain_hw_info(struct device *dev, uint32_t *length, uint32_t *type)
{
	struct iommu_test_hw_info *info;

	if (*type != IOMMU_HW_INFO_TYPE_DEFAULT && *type != IOMMU_HW_INFO_TYPE_SELFTEST)
		return ERR_PTR(-EOPNOTSUPP);
	info = iommufd_zalloc(sizeof(*info));
	if (!info)
		return ERR_PTR(-ENOMEM);
	info->test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL;
	*length = sizeof(*info);
	*type = IOMMU_HW_INFO_TYPE_SELFTEST;
	return info;
}

static const struct iommu_ops mock_ops = {
	.name = "iommufd_mock",
	.capable = mock_domain_capable,
	.hw_info = mock_domain_hw_info,
	.domain_alloc_paging_flags = mock_domain_alloc_paging_flags,
	.domain_alloc_nested = mock_domain_alloc_nested,
	.blocked_domain = &mock_blocking_domain,
	.get_viommu_size = mock_get_viommu_size,
	.viommu_init = mock_viommu_init,
};

static unsigned int mock_dev_next_id;

static struct mock_dev *mock_dev_create(struct uiommufd_host *host, unsigned long dev_flags)
{
	const unsigned long valid_flags = MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_PASID;
	struct mock_dev *mdev;
	int i;

	if (dev_flags & ~valid_flags)
		return ERR_PTR(-EINVAL);
	mdev = iommufd_zalloc(sizeof(*mdev));
	if (!mdev)
		return ERR_PTR(-ENOMEM);
	mdev->flags = dev_flags;
	for (i = 0; i != MOCK_DEV_CACHE_NUM; i++)
		mdev->cache[i] = IOMMU_TEST_DEV_CACHE_DEFAULT;
	snprintf(mdev->dev.name, sizeof(mdev->dev.name), "iommufd_mock%u",
		 __atomic_fetch_add(&mock_dev_next_id, 1, __ATOMIC_RELAXED));
	mdev->dev.iommu_ops = &mock_ops;
	mdev->dev.host = host;
	mdev->dev.domain = &mock_blocking_domain;
	if (dev_flags & MOCK_FLAGS_DEVICE_PASID)
		mdev->dev.max_pasid_lg2 = MOCK_PASID_WIDTH;
	return mdev;
}

/* A HWPT_PAGING whose domain is the mock's; EINVAL for another driver's. */
static struct iommufd_hw_pagetable *get_md_pagetable(struct iommufd_ucmd *ucmd, uint32_t id,
						     struct mock_iommu_domain **mock)
{
	struct iommufd_object *obj;
	struct iommufd_hw_pagetable *hwpt;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return (void *)obj;
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (hwpt->domain->type != IOMMU_DOMAIN_PAGING || hwpt->domain->owner != &mock_ops) {
		iommufd_put_object(ucmd->ictx, obj);
		return ERR_PTR(-EINVAL);
	}
	*mock = to_mock_domain(hwpt->domain);
	return hwpt;
}

/* ------------------------------------------------------ selftest objects */

struct selftest_obj {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_device *idev;
	struct mock_dev *mock_dev;
};

void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct selftest_obj *sobj = container_of(obj, struct selftest_obj, obj);

	if (!sobj->idev)
		return;
	iommufd_device_detach(sobj->idev, IOMMU_NO_PASID);
	iommufd_device_unbind(sobj->idev);
	free(sobj->mock_dev);
}

static int iommufd_test_mock_domain(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct selftest_obj *sobj;
	struct iommufd_device *idev;
	uint32_t pt_id = cmd->id, dev_flags = 0, idev_id;
	int rc;

	sobj = iommufd_object_alloc(ictx, sobj, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(sobj))
		return (int)PTR_ERR(sobj);
	sobj->ictx = ictx;
	if (cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS)
		dev_flags = cmd->mock_domain_flags.dev_flags;

	sobj->mock_dev = mock_dev_create(ictx->host, dev_flags);
	if (IS_ERR(sobj->mock_dev)) {
		rc = (int)PTR_ERR(sobj->mock_dev);
		goto out_sobj;
	}
	idev = iommufd_device_bind(ictx, &sobj->mock_dev->dev, &idev_id);
	if (IS_ERR(idev)) {
		rc = (int)PTR_ERR(idev);
		goto out_mdev;
	}
	rc = iommufd_device_attach(idev, IOMMU_NO_PASID, &pt_id);
	if (rc)
		goto out_unbind;

	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_stdev_id = sobj->obj.id;
	cmd->mock_domain.out_idev_id = idev_id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_detach;
	sobj->idev = idev;
	iommufd_object_finalize(ictx, &sobj->obj);
	return 0;

out_detach:
	iommufd_device_detach(idev, IOMMU_NO_PASID);
out_unbind:
	iommufd_device_unbind(idev);
out_mdev:
	free(sobj->mock_dev);
out_sobj:
	iommufd_object_abort(ictx, &sobj->obj);
	return rc;
}

static struct selftest_obj *iommufd_test_get_selftest_obj(struct iommufd_ctx *ictx, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_SELFTEST);

	if (IS_ERR(obj))
		return (void *)obj;
	return container_of(obj, struct selftest_obj, obj);
}

static int iommufd_test_mock_domain_replace(struct iommufd_ucmd *ucmd, uint32_t stdev_id,
					    uint32_t pt_id, struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj = iommufd_test_get_selftest_obj(ucmd->ictx, stdev_id);
	int rc;

	if (IS_ERR(sobj))
		return (int)PTR_ERR(sobj);
	rc = iommufd_device_replace(sobj->idev, IOMMU_NO_PASID, &pt_id);
	if (!rc) {
		cmd->mock_domain_replace.pt_id = pt_id;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd, uint32_t ioas_id,
				     unsigned long start, size_t length)
{
	struct iommufd_ioas *ioas;
	unsigned long last;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(start, length - 1, &last))
		return -EOVERFLOW;
	ioas = iommufd_get_ioas(ucmd->ictx, ioas_id);
	if (IS_ERR(ioas))
		return (int)PTR_ERR(ioas);
	/* Test reservations have no owner, so nothing ever removes them. */
	rc = iopt_reserve_iova(&ioas->iopt, start, last, NULL);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* Every page of the IOVA range must translate to the page at @uptr. */
static int iommufd_test_md_check_pa(struct iommufd_ucmd *ucmd, uint32_t id, unsigned long iova,
				    size_t length, uint64_t uptr)
{
	struct uiommufd_host *host = ucmd->ictx->host;
	struct iommufd_hw_pagetable *hwpt;
	struct mock_iommu_domain *mock;
	unsigned long page_size;
	uint64_t end;
	int rc = 0;

	hwpt = get_md_pagetable(ucmd, id, &mock);
	if (IS_ERR(hwpt))
		return (int)PTR_ERR(hwpt);
	page_size = iommu_domain_min_pgsize(hwpt->domain);
	if (iova % page_size || length % page_size || uptr % page_size ||
	    check_add_overflow(uptr, (uint64_t)length, &end)) {
		rc = -EINVAL;
		goto out_put;
	}
	for (; length; length -= page_size, iova += page_size, uptr += page_size) {
		uint64_t pa;

		rc = host->ops->user_phys(host, uptr, &pa);
		if (rc)
			break;
		if (iommu_iova_to_phys(hwpt->domain, iova) != pa) {
			rc = -EINVAL;
			break;
		}
	}
out_put:
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

/* Each page of the range must hold exactly @refs pins; EIO otherwise. */
static int iommufd_test_md_check_refs(struct iommufd_ucmd *ucmd, uint64_t uptr,
				      uint64_t length, unsigned int refs)
{
	struct uiommufd_host *host = ucmd->ictx->host;
	uint64_t end;

	if (length % PAGE_SIZE || uptr % PAGE_SIZE || check_add_overflow(uptr, length, &end))
		return -EINVAL;
	for (; length; length -= PAGE_SIZE, uptr += PAGE_SIZE) {
		long pins = host->ops->page_pins(host, uptr);

		if (pins < 0)
			return (int)pins;
		if (pins != refs)
			return -EIO;
	}
	return 0;
}

static int iommufd_test_dev_check_cache(struct iommufd_ucmd *ucmd, uint32_t idev_id,
					unsigned int cache_id, uint32_t cache)
{
	struct iommufd_device *idev = iommufd_get_device(ucmd->ictx, idev_id);
	int rc = 0;

	if (IS_ERR(idev))
		return (int)PTR_ERR(idev);
	if (idev->dev->iommu_ops != &mock_ops || cache_id > MOCK_DEV_CACHE_ID_MAX ||
	    to_mock_dev(idev->dev)->cache[cache_id] != cache)
		rc = -EINVAL;
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

static int iommufd_test_md_check_iotlb(struct iommufd_ucmd *ucmd, uint32_t id,
				       unsigned int iotlb_id, uint32_t iotlb)
{
	struct iommufd_object *obj;
	struct iommufd_hw_pagetable *hwpt;
	int rc = 0;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(obj))
		return (int)PTR_ERR(obj);
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (hwpt->domain->ops != &mock_nested_ops || iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX ||
	    to_mock_nested(hwpt->domain)->iotlb[iotlb_id] != iotlb)
		rc = -EINVAL;
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/*
 * A page request from the device, as the IOMMU's PRI queue would deliver
 * it: to the fault queue of what the device is attached to.
 */
static int iommufd_test_trigger_iopf(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct iommufd_device *idev = iommufd_get_device(ucmd->ictx, cmd->trigger_iopf.dev_id);
	uint32_t flags = IOMMU_PGFAULT_FLAGS_LAST_PAGE, pasid = cmd->trigger_iopf.pasid;
	struct iommufd_hw_pagetable *hwpt;
	void *handle;
	int rc = 0;

	if (IS_ERR(idev))
		return (int)PTR_ERR(idev);
	if (pasid != IOMMU_NO_PASID)
		flags |= IOMMU_PGFAULT_FLAGS_PASID_VALID;
	hwpt = iommufd_device_pasid_hwpt(idev, pasid, &handle);
	/*
	 * A PASID with no attachment of its own belongs to the RID's nested
	 * domain, if it has one: the mock IOMMU lets the guest own the PASID
	 * table there, as SMMUv3 does.
	 */
	if (!hwpt && pasid != IOMMU_NO_PASID) {
		hwpt = iommufd_device_pasid_hwpt(idev, IOMMU_NO_PASID, &handle);
		if (hwpt && hwpt->domain->type != IOMMU_DOMAIN_NESTED)
			hwpt = NULL;
	}
	/* With no fault queue there the request is dropped, as the kernel does. */
	if (hwpt && hwpt->fault)
		rc = iommufd_fault_report(hwpt->fault, idev->obj.id, pasid,
					  cmd->trigger_iopf.grpid, cmd->trigger_iopf.perm,
					  cmd->trigger_iopf.addr, flags, handle);
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/* An event about the device, to the vIOMMU its nested domain is on. */
static int iommufd_test_trigger_vevent(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct iommufd_device *idev = iommufd_get_device(ucmd->ictx, cmd->trigger_vevent.dev_id);
	struct iommu_viommu_event_selftest event = {};
	struct mock_dev *mdev;
	int rc = -ENOENT;

	if (IS_ERR(idev))
		return (int)PTR_ERR(idev);
	if (idev->dev->iommu_ops != &mock_ops)
		goto out_put;
	mdev = to_mock_dev(idev->dev);
	if (!mdev->viommu || !mdev->vdev_id)
		goto out_put;
	event.virt_id = (uint32_t)mdev->vdev_id;
	rc = iommufd_viommu_report_event(&mdev->viommu->core, IOMMU_VEVENTQ_TYPE_SELFTEST,
					 &event, sizeof(event));
out_put:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/* Mark each granule whose bit is set in the user bitmap dirty. */
static int iommufd_test_dirty(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	unsigned long iova = cmd->dirty.iova, length = cmd->dirty.length;
	unsigned long page_size = cmd->dirty.page_size, i, max;
	struct iommufd_hw_pagetable *hwpt;
	struct mock_iommu_domain *mock;
	uint64_t count = 0;
	uint8_t *bits;
	int rc;

	if (!page_size || !length || iova % page_size || length % page_size ||
	    !cmd->dirty.uptr)
		return -EINVAL;
	hwpt = get_md_pagetable(ucmd, cmd->id, &mock);
	if (IS_ERR(hwpt))
		return (int)PTR_ERR(hwpt);
	if (!mock->pt.dirty_tracking) {
		rc = -EINVAL;
		goto out_put;
	}
	max = length / page_size;
	bits = calloc((max + 7) / 8, 1);
	if (!bits) {
		rc = -ENOMEM;
		goto out_put;
	}
	rc = copy_from_user(ucmd->ictx->host, bits, cmd->dirty.uptr, (max + 7) / 8);
	if (rc)
		goto out_free;
	for (i = 0; i < max; i++) {
		struct pt_walk_result res;

		if (!(bits[i / 8] & (1u << (i % 8))))
			continue;
		/* As a device write through the table would. */
		pt_walk(&mock->pt.pt, iova + i * page_size, PT_WALK_WRITE, &res);
		count++;
	}
	cmd->dirty.out_nr_dirty = count;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	free(bits);
out_put:
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

/* --------------------------------------------------------- test accesses */

struct selftest_access_item {
	struct selftest_access_item *next;
	unsigned long iova;
	size_t length;
	unsigned int id;
};

struct selftest_access {
	struct iommufd_access *access;
	struct selftest_access_item *items;
	unsigned int next_id;
};

static void iommufd_test_access_unmap(void *data, unsigned long iova, unsigned long length)
{
	unsigned long iova_last = iova + length - 1;
	struct selftest_access *staccess = data;
	struct selftest_access_item **pp = &staccess->items;

	while (*pp) {
		struct selftest_access_item *item = *pp;

		if (iova > item->iova + item->length - 1 || iova_last < item->iova) {
			pp = &item->next;
			continue;
		}
		*pp = item->next;
		iommufd_access_unpin_pages(staccess->access, item->iova, item->length);
		free(item);
	}
}

static const struct iommufd_access_ops selftest_access_ops_pin = {
	.needs_pin_pages = true,
	.unmap = iommufd_test_access_unmap,
};

static const struct iommufd_access_ops selftest_access_ops = {
	.unmap = iommufd_test_access_unmap,
};

static void iommufd_test_staccess_release(void *priv)
{
	struct selftest_access *staccess = priv;

	if (staccess->access) {
		iommufd_test_access_unmap(staccess, 0, ULONG_MAX);
		iommufd_access_destroy(staccess->access);
	}
	free(staccess);
}

static const struct host_anon_ops iommufd_test_staccess_fops = {
	.name = "[iommufd_test_staccess]",
	.release = iommufd_test_staccess_release,
};

/* The access behind an access fd, with a file reference; EBADFD otherwise. */
static struct selftest_access *iommufd_access_get(struct iommufd_ctx *ictx, int fd,
						  struct host_anon **ref)
{
	struct uiommufd_host *host = ictx->host;
	struct selftest_access *staccess;

	staccess = host->ops->anon_get(host, fd, &iommufd_test_staccess_fops, ref);
	return staccess ? staccess : ERR_PTR(-EBADFD);
}

static int iommufd_test_create_access(struct iommufd_ucmd *ucmd, uint32_t ioas_id,
				      unsigned int flags)
{
	struct uiommufd_host *host = ucmd->ictx->host;
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct selftest_access *staccess;
	struct iommufd_access *access;
	uint32_t id;
	int fd, rc;

	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;
	staccess = iommufd_zalloc(sizeof(*staccess));
	if (!staccess)
		return -ENOMEM;
	access = iommufd_access_create(ucmd->ictx,
				       (flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) ?
					       &selftest_access_ops_pin : &selftest_access_ops,
				       staccess, &id);
	if (IS_ERR(access)) {
		rc = (int)PTR_ERR(access);
		goto out_free_staccess;
	}
	rc = iommufd_access_attach(access, ioas_id);
	if (rc)
		goto out_destroy;
	staccess->access = access;
	/* From here the file owns the access: closing it undoes everything. */
	fd = host->ops->anon_fd(host, &iommufd_test_staccess_fops, staccess, O_CLOEXEC);
	if (fd < 0) {
		rc = fd;
		staccess->access = NULL;
		goto out_destroy;
	}
	cmd->create_access.out_access_fd = (uint32_t)fd;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));

out_destroy:
	iommufd_access_destroy(access);
out_free_staccess:
	free(staccess);
	return rc;
}

static int iommufd_test_access_replace_ioas(struct iommufd_ucmd *ucmd, int fd, uint32_t ioas_id)
{
	struct uiommufd_host *host = ucmd->ictx->host;
	struct selftest_access *staccess;
	struct host_anon *ref;
	int rc;

	staccess = iommufd_access_get(ucmd->ictx, fd, &ref);
	if (IS_ERR(staccess))
		return (int)PTR_ERR(staccess);
	rc = iommufd_access_replace(staccess->access, ioas_id);
	host->ops->anon_put(host, ref);
	return rc;
}

static int iommufd_test_access_item_destroy(struct iommufd_ucmd *ucmd, int fd,
					    unsigned int item_id)
{
	struct uiommufd_host *host = ucmd->ictx->host;
	struct selftest_access_item **pp, *item;
	struct selftest_access *staccess;
	struct host_anon *ref;
	int rc = -ENOENT;

	staccess = iommufd_access_get(ucmd->ictx, fd, &ref);
	if (IS_ERR(staccess))
		return (int)PTR_ERR(staccess);
	for (pp = &staccess->items; (item = *pp); pp = &item->next) {
		if (item->id == item_id) {
			*pp = item->next;
			iommufd_access_unpin_pages(staccess->access, item->iova, item->length);
			free(item);
			rc = 0;
			break;
		}
	}
	host->ops->anon_put(host, ref);
	return rc;
}

/* The syzkaller encoding of an IOVA: the nth area, plus an offset. */
static unsigned long iommufd_test_syz_conv_iova(struct io_pagetable *iopt, uint64_t iova)
{
	uint32_t nth = (uint32_t)iova, offset = (uint32_t)(iova >> 32);

	if (nth >= iopt->nr_areas)
		return 0;
	return iopt->areas[nth]->iova + offset;
}

/* Each pinned page must be the page the program sees at @uptr. */
static int iommufd_test_check_pages(struct uiommufd_host *host, uint64_t uptr,
				    const uint64_t *pas, size_t npages)
{
	for (; npages; npages--, pas++, uptr += PAGE_SIZE) {
		uint64_t pa;
		int rc = host->ops->user_phys(host, uptr, &pa);

		if (rc)
			return rc;
		if ((pa & ~(PAGE_SIZE - 1)) != (*pas & ~(PAGE_SIZE - 1)))
			return -EBADE;
	}
	return 0;
}

static int iommufd_test_access_pages(struct iommufd_ucmd *ucmd, int fd, unsigned long iova,
				     size_t length, uint64_t uptr, uint32_t flags)
{
	struct uiommufd_host *host = ucmd->ictx->host;
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	struct host_anon *ref;
	uint64_t *pas;
	size_t npages;
	int rc;

	/* The kernel's bound on one test pin. */
	if (length > 16 * 1024 * 1024)
		return -ENOMEM;
	if (flags & ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	staccess = iommufd_access_get(ucmd->ictx, fd, &ref);
	if (IS_ERR(staccess))
		return (int)PTR_ERR(staccess);
	if (staccess->access->ops != &selftest_access_ops_pin) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	if ((flags & MOCK_FLAGS_ACCESS_SYZ) && staccess->access->ioas)
		iova = iommufd_test_syz_conv_iova(&staccess->access->ioas->iopt, iova);

	npages = ((iova + length + PAGE_SIZE - 1) / PAGE_SIZE) - iova / PAGE_SIZE;
	pas = calloc(npages ? npages : 1, sizeof(*pas));
	if (!pas) {
		rc = -ENOMEM;
		goto out_put;
	}
	rc = iommufd_access_pin_pages(staccess->access, iova, length, pas,
				      flags & MOCK_FLAGS_ACCESS_WRITE);
	if (rc)
		goto out_free;
	/* A NULL uptr skips the check (syzkaller). */
	if (uptr) {
		rc = iommufd_test_check_pages(host, uptr - (iova % PAGE_SIZE), pas, npages);
		if (rc)
			goto out_unaccess;
	}
	item = iommufd_zalloc(sizeof(*item));
	if (!item) {
		rc = -ENOMEM;
		goto out_unaccess;
	}
	item->iova = iova;
	item->length = length;
	item->id = staccess->next_id++;
	item->next = staccess->items;
	staccess->items = item;
	cmd->access_pages.out_access_pages_id = item->id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		staccess->items = item->next;
		free(item);
		goto out_unaccess;
	}
	goto out_free;

out_unaccess:
	iommufd_access_unpin_pages(staccess->access, iova, length);
out_free:
	free(pas);
out_put:
	host->ops->anon_put(host, ref);
	return rc;
}

static int iommufd_test_access_rw(struct iommufd_ucmd *ucmd, int fd, unsigned long iova,
				  size_t length, uint64_t ubuf, unsigned int flags)
{
	struct uiommufd_host *host = ucmd->ictx->host;
	struct selftest_access *staccess;
	struct host_anon *ref;
	void *tmp;
	int rc;

	if (length > 16 * 1024 * 1024)
		return -ENOMEM;
	if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	staccess = iommufd_access_get(ucmd->ictx, fd, &ref);
	if (IS_ERR(staccess))
		return (int)PTR_ERR(staccess);
	tmp = calloc(length ? length : 1, 1);
	if (!tmp) {
		rc = -ENOMEM;
		goto out_put;
	}
	if (flags & MOCK_ACCESS_RW_WRITE) {
		rc = copy_from_user(host, tmp, ubuf, length);
		if (rc)
			goto out_free;
	}
	if ((flags & MOCK_FLAGS_ACCESS_SYZ) && staccess->access->ioas)
		iova = iommufd_test_syz_conv_iova(&staccess->access->ioas->iopt, iova);
	rc = iommufd_access_rw(staccess->access, iova, tmp, length,
			       flags & (MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH));
	if (rc)
		goto out_free;
	if (!(flags & MOCK_ACCESS_RW_WRITE))
		rc = copy_to_user(host, ubuf, tmp, length);
out_free:
	free(tmp);
out_put:
	host->ops->anon_put(host, ref);
	return rc;
}
_Static_assert((int)MOCK_ACCESS_RW_WRITE == (int)IOMMUFD_ACCESS_RW_WRITE, "rw write flag");
_Static_assert((int)MOCK_ACCESS_RW_SLOW_PATH == (int)__IOMMUFD_ACCESS_RW_SLOW_PATH, "rw slow flag");

/* ------------------------------------------------------ test dma-bufs */

struct iommufd_test_dma_buf {
	struct iommufd_dmabuf dmabuf;
	struct uiommufd_host *host;
};

static void iommufd_test_dmabuf_release(void *priv)
{
	struct iommufd_test_dma_buf *tbuf = priv;

	tbuf->host->ops->file_put(tbuf->host, tbuf->dmabuf.file);
	free(tbuf);
}

const struct host_anon_ops iommufd_test_dmabuf_fops = {
	.name = "iommufd_test_dmabuf",
	.release = iommufd_test_dmabuf_release,
};

/* The ioctl returns the new dma-buf's fd. */
static int iommufd_test_dmabuf_get(struct iommufd_ucmd *ucmd, unsigned int open_flags,
				   size_t len)
{
	struct uiommufd_host *host = ucmd->ictx->host;
	struct iommufd_test_dma_buf *tbuf;
	int fd, rc;

	if (len == 0 || len > PAGE_SIZE * 512)
		return -EINVAL;
	if (open_flags & ~(unsigned int)O_CLOEXEC)
		return -EINVAL;
	tbuf = iommufd_zalloc(sizeof(*tbuf));
	if (!tbuf)
		return -ENOMEM;
	tbuf->host = host;
	tbuf->dmabuf.length = len;
	rc = host->ops->file_create(host, len, &tbuf->dmabuf.file);
	if (rc)
		goto err_free;
	fd = host->ops->anon_fd(host, &iommufd_test_dmabuf_fops, tbuf, (int)open_flags);
	if (fd < 0) {
		rc = fd;
		goto err_file;
	}
	return fd;

err_file:
	host->ops->file_put(host, tbuf->dmabuf.file);
err_free:
	free(tbuf);
	return rc;
}

static int iommufd_test_dmabuf_revoke(struct iommufd_ucmd *ucmd, int fd, bool revoked)
{
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct uiommufd_host *host = ictx->host;
	struct iommufd_test_dma_buf *tbuf;
	struct host_anon *ref;
	uint32_t id;

	tbuf = host->ops->anon_get(host, fd, &iommufd_test_dmabuf_fops, &ref);
	if (!tbuf)
		return -EBADF;
	tbuf->dmabuf.revoked = revoked;
	/* The move notification: every importer's mapping goes. */
	if (revoked) {
		for (id = 1; id < ictx->nr_slots; id++) {
			struct iommufd_ioas *ioas = iommufd_get_ioas(ictx, id);

			if (IS_ERR(ioas))
				continue;
			iopt_revoke_dmabuf(&ioas->iopt, &tbuf->dmabuf);
			iommufd_put_object(ictx, &ioas->obj);
		}
	}
	host->ops->anon_put(host, ref);
	return 0;
}

/* The physical address of byte @offset of a file, through a short pin. */
static int file_phys(struct uiommufd_host *host, struct host_file *file, uint64_t offset,
		     uint64_t *pa)
{
	uint64_t page = offset - offset % PAGE_SIZE;
	struct host_pin *pin;
	size_t len;
	int rc;

	rc = host->ops->pin_file(host, file, page, PAGE_SIZE, false, &pin);
	if (rc)
		return rc;
	*pa = host->ops->pin_phys(host, pin, offset - page, &len);
	host->ops->unpin(host, pin);
	return 0;
}

static int iommufd_test_md_check_dmabuf(struct iommufd_ucmd *ucmd, uint32_t id, int fd,
					unsigned long iova, size_t length, unsigned long offset)
{
	struct uiommufd_host *host = ucmd->ictx->host;
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_test_dma_buf *tbuf;
	struct mock_iommu_domain *mock;
	unsigned long page_size, end;
	struct host_anon *ref;
	size_t i;
	int rc = 0;

	hwpt = get_md_pagetable(ucmd, id, &mock);
	if (IS_ERR(hwpt))
		return (int)PTR_ERR(hwpt);
	tbuf = host->ops->anon_get(host, fd, &iommufd_test_dmabuf_fops, &ref);
	if (!tbuf) {
		rc = -EINVAL;
		goto out_put_hwpt;
	}
	page_size = iommu_domain_min_pgsize(hwpt->domain);
	if (iova % page_size || length % page_size || offset % page_size ||
	    check_add_overflow(offset, length, &end) || end > tbuf->dmabuf.length) {
		rc = -EINVAL;
		goto out_put;
	}
	for (i = 0; i < length && !rc; i += page_size) {
		uint64_t expected;

		rc = file_phys(host, tbuf->dmabuf.file, offset + i, &expected);
		if (!rc && iommu_iova_to_phys(hwpt->domain, iova + i) != expected)
			rc = -EINVAL;
	}
out_put:
	host->ops->anon_put(host, ref);
out_put_hwpt:
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

/* ------------------------------------------------- PASIDs of mock devices */

static int iommufd_test_pasid_attach(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj = iommufd_test_get_selftest_obj(ucmd->ictx, cmd->id);
	int rc;

	if (IS_ERR(sobj))
		return (int)PTR_ERR(sobj);
	rc = iommufd_device_attach(sobj->idev, cmd->pasid_attach.pasid, &cmd->pasid_attach.pt_id);
	if (rc)
		goto out_put;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	/* Not an attachment the program could know about. */
	if (rc)
		iommufd_device_detach(sobj->idev, cmd->pasid_attach.pasid);
out_put:
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

static int iommufd_test_pasid_replace(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj = iommufd_test_get_selftest_obj(ucmd->ictx, cmd->id);
	int rc;

	if (IS_ERR(sobj))
		return (int)PTR_ERR(sobj);
	rc = iommufd_device_replace(sobj->idev, cmd->pasid_replace.pasid,
				    &cmd->pasid_replace.pt_id);
	if (!rc)
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

/* Detaching a PASID that is not attached is not an error. */
static int iommufd_test_pasid_detach(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj = iommufd_test_get_selftest_obj(ucmd->ictx, cmd->id);

	if (IS_ERR(sobj))
		return (int)PTR_ERR(sobj);
	iommufd_device_detach(sobj->idev, cmd->pasid_detach.pasid);
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return 0;
}

/* A paging or nested HWPT; any other object is EINVAL. */
static struct iommufd_hw_pagetable *iommufd_test_get_hwpt(struct iommufd_ucmd *ucmd, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_ANY);

	if (IS_ERR(obj))
		return (void *)obj;
	if (obj->type != IOMMUFD_OBJ_HWPT_PAGING && obj->type != IOMMUFD_OBJ_HWPT_NESTED) {
		iommufd_put_object(ucmd->ictx, obj);
		return ERR_PTR(-EINVAL);
	}
	return container_of(obj, struct iommufd_hw_pagetable, obj);
}

/* The PASID must be attached to @hwpt_id's domain, or with @hwpt_id 0 to none. */
static int iommufd_test_pasid_check_hwpt(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj = iommufd_test_get_selftest_obj(ucmd->ictx, cmd->id);
	struct iommufd_hw_pagetable *attached, *hwpt;
	void *handle;
	int rc = 0;

	if (IS_ERR(sobj))
		return (int)PTR_ERR(sobj);
	attached = iommufd_device_pasid_hwpt(sobj->idev, cmd->pasid_check.pasid, &handle);
	if (!cmd->pasid_check.hwpt_id) {
		if (attached)
			rc = -EINVAL;
		goto out_put_sobj;
	}
	hwpt = iommufd_test_get_hwpt(ucmd, cmd->pasid_check.hwpt_id);
	if (IS_ERR(hwpt)) {
		rc = (int)PTR_ERR(hwpt);
		goto out_put_sobj;
	}
	if (!attached || attached->domain != hwpt->domain)
		rc = -EINVAL;
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
out_put_sobj:
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd->id, cmd->add_reserved.start,
						 cmd->add_reserved.length);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return iommufd_test_mock_domain(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return iommufd_test_mock_domain_replace(ucmd, cmd->id,
							cmd->mock_domain_replace.pt_id, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return iommufd_test_md_check_pa(ucmd, cmd->id, cmd->check_map.iova,
						cmd->check_map.length, cmd->check_map.uptr);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_md_check_refs(ucmd, cmd->check_refs.uptr,
						  cmd->check_refs.length, cmd->check_refs.refs);
	case IOMMU_TEST_OP_DEV_CHECK_CACHE:
		return iommufd_test_dev_check_cache(ucmd, cmd->id, cmd->check_dev_cache.id,
						    cmd->check_dev_cache.cache);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return iommufd_test_create_access(ucmd, cmd->id, cmd->create_access.flags);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return iommufd_test_access_replace_ioas(ucmd, (int)cmd->id,
							cmd->access_replace_ioas.ioas_id);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return iommufd_test_access_pages(ucmd, (int)cmd->id, cmd->access_pages.iova,
						 cmd->access_pages.length, cmd->access_pages.uptr,
						 cmd->access_pages.flags);
	case IOMMU_TEST_OP_ACCESS_RW:
		return iommufd_test_access_rw(ucmd, (int)cmd->id, cmd->access_rw.iova,
					      cmd->access_rw.length, cmd->access_rw.uptr,
					      cmd->access_rw.flags);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return iommufd_test_access_item_destroy(ucmd, (int)cmd->id,
							cmd->destroy_access_pages.access_pages_id);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		/* Global, as the kernel's module parameter is. */
		iommufd_temp_memory_limit = cmd->memory_limit.limit;
		return 0;
	case IOMMU_TEST_OP_DIRTY:
		return iommufd_test_dirty(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_IOTLB:
		return iommufd_test_md_check_iotlb(ucmd, cmd->id, cmd->check_iotlb.id,
						   cmd->check_iotlb.iotlb);
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		return iommufd_test_trigger_iopf(ucmd, cmd);
	case IOMMU_TEST_OP_TRIGGER_VEVENT:
		return iommufd_test_trigger_vevent(ucmd, cmd);
	case IOMMU_TEST_OP_DMABUF_GET:
		return iommufd_test_dmabuf_get(ucmd, cmd->dmabuf_get.open_flags,
					       cmd->dmabuf_get.length);
	case IOMMU_TEST_OP_DMABUF_REVOKE:
		return iommufd_test_dmabuf_revoke(ucmd, cmd->dmabuf_revoke.dmabuf_fd,
						  cmd->dmabuf_revoke.revoked);
	case IOMMU_TEST_OP_MD_CHECK_DMABUF:
		return iommufd_test_md_check_dmabuf(ucmd, cmd->id, cmd->check_dmabuf.dmabuf_fd,
						    cmd->check_dmabuf.iova,
						    cmd->check_dmabuf.length,
						    cmd->check_dmabuf.offset);
	case IOMMU_TEST_OP_PASID_ATTACH:
		return iommufd_test_pasid_attach(ucmd, cmd);
	case IOMMU_TEST_OP_PASID_REPLACE:
		return iommufd_test_pasid_replace(ucmd, cmd);
	case IOMMU_TEST_OP_PASID_DETACH:
		return iommufd_test_pasid_detach(ucmd, cmd);
	case IOMMU_TEST_OP_PASID_CHECK_HWPT:
		return iommufd_test_pasid_check_hwpt(ucmd, cmd);
	default:
		if (iommufd_debug)
			iommufd_log("IOMMU_TEST_CMD op %u is not implemented yet", cmd->op);
		return -EOPNOTSUPP;
	}
}
