/* SPDX-License-Identifier: MIT */
/*
 * The mock IOMMU of the kernel selftest (mock.c), as the selftest's
 * operations (src/core/selftest.c) see it: its devices, its paging and
 * nested domains, and the ops that tell its objects from other drivers'.
 */
#ifndef UIOMMUFD_IOMMU_MOCK_H
#define UIOMMUFD_IOMMU_MOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/iommufd_private.h"
#include "uapi/iommufd_test.h"

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

/*
 * The mock's state of a device.  It is found through driver_data, not by
 * containment, so that a device embedded elsewhere (a VFIO device) can sit
 * behind the mock IOMMU too (iommufd_mock_dev_init()).
 */
static inline struct mk_dev *mk_dev_of(struct device *dev)
{
	return dev->driver_data;
}

static inline struct mk_paging *mk_paging_of(struct iommu_domain *domain)
{
	return container_of(to_pt_domain(domain), struct mk_paging, pt);
}

static inline struct mk_nested *mk_nested_of(struct iommu_domain *domain)
{
	return container_of(domain, struct mk_nested, domain);
}

struct mk_queue;

struct mk_viommu {
	struct iommufd_viommu core;
	struct mk_paging *s2;			/* the nesting parent */
	struct mk_queue *queue[IOMMU_TEST_HW_QUEUE_MAX];
	struct host_file *region;		/* mmap-able pages, or NULL */
	uint64_t region_offset;
};

extern const struct iommu_ops iommu_mock_ops;
extern const struct iommu_domain_ops iommu_mock_nested_ops;

/* A device of the mock with MOCK_FLAGS_DEVICE_* @dev_flags, unbound; NULL if out of memory. */
struct mk_dev *iommu_mock_dev_new(struct uiommufd_host *host, uint32_t dev_flags);

#endif
