/* SPDX-License-Identifier: MIT */
/*
 * uiommufd: the test-only ioctl ABI of the kernel's iommufd selftest
 * (IOMMU_TEST_CMD and the mock driver's data structures).
 *
 * Byte compatible with the kernel's drivers/iommu/iommufd/iommufd_test.h so
 * the kernel's tools/testing/selftests/iommu programs can run against us.
 * Text and comments are our own.
 *
 * Sources compared (newest superset taken):
 *   - jgunthorpe/linux @ 7815c190f793 (newest: IOMMU_TEST_OP_MD_CHECK_DMABUF
 *     and check_dmabuf, DMABUF_GET/REVOKE, pagetable_type with
 *     MOCK_IOMMUPT_AMDV1, MOCK_PAGE_SIZE / MOCK_HUGE_PAGE_SIZE)
 *   - Aarav90-cpu/linux-kotlin @ a663adb68e0e and ziuziakowska/linux
 *     @ 392448cb0f3e (one step older: no MD_CHECK_DMABUF; the former carries
 *     an unresolved merge conflict around MOCK_IOMMUPT_AMDV1)
 *   - torvalds/linux @ 80478a2b450e (older: ops end at PASID_CHECK_HWPT, no
 *     pagetable_type, and still has MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
 *     which the newest copy dropped in favour of MOCK_IOMMUPT_HUGE)
 * Choices: everything from the newest copy; MOCK_FLAGS_DEVICE_HUGE_IOVA is
 * kept as a retired value (its bit is not reused) so older test programs
 * still build.
 */
#ifndef UIOMMUFD_UAPI_IOMMUFD_TEST_H
#define UIOMMUFD_UAPI_IOMMUFD_TEST_H

#include <linux/types.h>

#include "iommufd.h"

/* Operation codes carried in iommu_test_cmd.op. */
enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN = 2,
	IOMMU_TEST_OP_MD_CHECK_MAP = 3,
	IOMMU_TEST_OP_MD_CHECK_REFS = 4,
	IOMMU_TEST_OP_CREATE_ACCESS = 5,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES = 6,
	IOMMU_TEST_OP_ACCESS_PAGES = 7,
	IOMMU_TEST_OP_ACCESS_RW = 8,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT = 9,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = 10,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS = 11,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12,
	IOMMU_TEST_OP_DIRTY = 13,
	IOMMU_TEST_OP_MD_CHECK_IOTLB = 14,
	IOMMU_TEST_OP_TRIGGER_IOPF = 15,
	IOMMU_TEST_OP_DEV_CHECK_CACHE = 16,
	IOMMU_TEST_OP_TRIGGER_VEVENT = 17,
	IOMMU_TEST_OP_PASID_ATTACH = 18,
	IOMMU_TEST_OP_PASID_REPLACE = 19,
	IOMMU_TEST_OP_PASID_DETACH = 20,
	IOMMU_TEST_OP_PASID_CHECK_HWPT = 21,
	IOMMU_TEST_OP_DMABUF_GET = 22,
	IOMMU_TEST_OP_DMABUF_REVOKE = 23,
	IOMMU_TEST_OP_MD_CHECK_DMABUF = 24,
};

/* Page table formats of the mock domain (iommu_hwpt_selftest.pagetable_type). */
enum {
	MOCK_IOMMUPT_DEFAULT = 0,
	MOCK_IOMMUPT_HUGE = 1,
	MOCK_IOMMUPT_AMDV1 = 2,
};

/* Geometry of the mock domain in its default page table format. */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
	MOCK_PAGE_SIZE = 2048,
	MOCK_HUGE_PAGE_SIZE = 512 * MOCK_PAGE_SIZE,
};

/* create_access.flags */
enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,
};

/* access_rw.flags */
enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

/* create_access.flags (continued) */
enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

/* mock_domain_flags.dev_flags */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	/* Retired (older kernels only); the bit is not reused. */
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
	MOCK_FLAGS_DEVICE_PASID = 1 << 2,
};

/* Mock nested domain: IOTLB entries, indexes 0..MAX. */
enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

/* Mock vIOMMU: per-device cache entries, indexes 0..MAX. */
enum {
	MOCK_DEV_CACHE_ID_MAX = 3,
	MOCK_DEV_CACHE_NUM = 4,
};

/* PASID set aside for the PASID replace test. */
#define IOMMU_TEST_PASID_RESERVED 1024

/**
 * struct iommu_test_cmd - argument of IOMMU_TEST_CMD
 * @size: bytes passed, sizeof(struct iommu_test_cmd)
 * @op: IOMMU_TEST_OP_*
 * @id: object the operation acts on (IOAS, HWPT, access, stdev, ...)
 * @__reserved: must be 0
 * @last: marks the end of the known struct (the kernel's minimum size is
 *        the end of this field)
 *
 * Union members, one per operation:
 * @add_reserved: ADD_RESERVED: @start/@length of an IOVA range to reserve
 * @mock_domain: MOCK_DOMAIN: returns the mock device (stdev), its HWPT and
 *               its standard iommufd device ID
 * @mock_domain_flags: MOCK_DOMAIN_FLAGS: MOCK_DOMAIN plus @dev_flags
 *                     (MOCK_FLAGS_DEVICE_*)
 * @mock_domain_replace: MOCK_DOMAIN_REPLACE: new page table @pt_id
 * @check_map: MD_CHECK_MAP: IOVA range expected to map @uptr
 * @check_refs: MD_CHECK_REFS: expected page refcount @refs of user range
 * @create_access: CREATE_ACCESS: returns an access fd; MOCK_FLAGS_ACCESS_*
 * @destroy_access_pages: DESTROY_ACCESS_PAGES: pages handle to release
 * @access_pages: ACCESS_PAGES: pin an IOVA range, returns a pages handle
 * @access_rw: ACCESS_RW: copy through the access, MOCK_ACCESS_RW_* flags
 * @memory_limit: SET_TEMP_MEMORY_LIMIT: pages allowed temporarily
 * @access_replace_ioas: ACCESS_REPLACE_IOAS: IOAS the access moves to
 * @dirty: DIRTY: mark pages dirty from a bitmap, returns how many were set
 * @check_iotlb: MD_CHECK_IOTLB: IOTLB entry @id should hold @iotlb
 * @trigger_iopf: TRIGGER_IOPF: inject a page fault for a device
 * @check_dev_cache: DEV_CHECK_CACHE: cache entry @id should hold @cache
 * @trigger_vevent: TRIGGER_VEVENT: inject a vEVENT for @dev_id
 * @pasid_attach: PASID_ATTACH: attach @pt_id at @pasid (@id is the stdev)
 * @pasid_replace: PASID_REPLACE: replace the domain at @pasid with @pt_id
 * @pasid_detach: PASID_DETACH: detach @pasid
 * @pasid_check: PASID_CHECK_HWPT: @pasid should be attached to @hwpt_id
 * @dmabuf_get: DMABUF_GET: create a test dma-buf of @length bytes
 * @dmabuf_revoke: DMABUF_REVOKE: set the revoked state of @dmabuf_fd
 * @check_dmabuf: MD_CHECK_DMABUF: IOVA range expected to map @dmabuf_fd at
 *                @offset
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;
		} mock_domain_flags;
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		struct {
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 ioas_id;
		} access_replace_ioas;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
		struct {
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__u64 addr; /* plain __u64 in the kernel too */
		} trigger_iopf;
		struct {
			__u32 id;
			__u32 cache;
		} check_dev_cache;
		struct {
			__u32 dev_id;
		} trigger_vevent;
		struct {
			__u32 pasid;
			__u32 pt_id;
		} pasid_attach;
		struct {
			__u32 pasid;
			__u32 pt_id;
		} pasid_replace;
		struct {
			__u32 pasid;
		} pasid_detach;
		struct {
			__u32 pasid;
			__u32 hwpt_id;
		} pasid_check;
		struct {
			__u32 length;
			__u32 open_flags;
		} dmabuf_get;
		struct {
			__s32 dmabuf_fd;
			__u32 revoked;
		} dmabuf_revoke;
		struct {
			__s32 dmabuf_fd;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 offset;
		} check_dmabuf;
	};
	__u32 last;
};
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

/* PASID width reported by the mock device and IOMMU. */
#define MOCK_PASID_WIDTH 20

/* IOMMU_GET_HW_INFO data type and register value of the mock driver. */
#define IOMMU_HW_INFO_TYPE_SELFTEST 0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL 0xdeadbeef

/**
 * struct iommu_test_hw_info - mock data for IOMMU_HW_INFO_TYPE_SELFTEST
 * @flags: always 0
 * @test_reg: always IOMMU_HW_INFO_SELFTEST_REGVAL
 */
struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

/* HWPT data type of the mock driver; outside enum iommu_hwpt_data_type. */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
/* Initial value of every mock nested-domain IOTLB entry. */
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef
/* Initial value of every mock vIOMMU device cache entry. */
#define IOMMU_TEST_DEV_CACHE_DEFAULT 0xbaddad

/**
 * struct iommu_hwpt_selftest - data for IOMMU_HWPT_DATA_SELFTEST
 * @iotlb: value written into every IOTLB entry (IOMMU_TEST_IOTLB_DEFAULT)
 * @pagetable_type: MOCK_IOMMUPT_* format of the domain
 */
struct iommu_hwpt_selftest {
	__u32 iotlb;
	__u32 pagetable_type;
};

/* Invalidation data types of the mock driver (nested HWPT). */
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

/* flags of the selftest invalidation entries: ignore the index, flush all */
#define IOMMU_TEST_INVALIDATE_FLAG_ALL (1 << 0)

/**
 * struct iommu_hwpt_invalidate_selftest - entry for
 *                                         IOMMU_HWPT_INVALIDATE_DATA_SELFTEST
 * @flags: IOMMU_TEST_INVALIDATE_FLAG_ALL or 0
 * @iotlb_id: IOTLB entry to reset (ignored with FLAG_ALL)
 */
struct iommu_hwpt_invalidate_selftest {
	__u32 flags;
	__u32 iotlb_id;
};

/* vIOMMU type of the mock driver. */
#define IOMMU_VIOMMU_TYPE_SELFTEST 0xdeadbeef

/**
 * struct iommu_viommu_selftest - data for IOMMU_VIOMMU_TYPE_SELFTEST
 * @in_data: any value from user space
 * @out_data: returns @in_data (loopback check)
 * @out_mmap_offset: returns the mmap offset of the mock MMIO page
 * @out_mmap_length: returns the mmap length of the mock MMIO page
 */
struct iommu_viommu_selftest {
	__u32 in_data;
	__u32 out_data;
	__aligned_u64 out_mmap_offset;
	__aligned_u64 out_mmap_length;
};

/* Invalidation data types of the mock driver (vIOMMU). */
#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

/**
 * struct iommu_viommu_invalidate_selftest - entry for
 *                                         IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST
 * @flags: IOMMU_TEST_INVALIDATE_FLAG_ALL or 0
 * @vdev_id: virtual device (its virt_id) whose cache is flushed
 * @cache_id: cache entry to reset (ignored with FLAG_ALL)
 */
struct iommu_viommu_invalidate_selftest {
	__u32 flags;
	__u32 vdev_id;
	__u32 cache_id;
};

/* vEVENTQ type of the mock driver. */
#define IOMMU_VEVENTQ_TYPE_SELFTEST 0xbeefbeef

/**
 * struct iommu_viommu_event_selftest - payload of a mock vEVENT
 * @virt_id: virtual ID of the device the event is about
 */
struct iommu_viommu_event_selftest {
	__u32 virt_id;
};

/* HW queue type of the mock driver, and how many indexes it accepts. */
#define IOMMU_HW_QUEUE_TYPE_SELFTEST 0xdeadbeef
#define IOMMU_TEST_HW_QUEUE_MAX 2

/* ======================================================================== */
/* Static ABI checks (kernel numbers restated by hand)                      */
/* ======================================================================== */

UIOMMUFD_UAPI_IOCTL(IOMMU_TEST_CMD, 0x3b, 0xa0);

_Static_assert(IOMMU_TEST_OP_ADD_RESERVED == 1 && IOMMU_TEST_OP_PASID_CHECK_HWPT == 21 &&
	       IOMMU_TEST_OP_DMABUF_GET == 22 && IOMMU_TEST_OP_DMABUF_REVOKE == 23 &&
	       IOMMU_TEST_OP_MD_CHECK_DMABUF == 24, "ABI: IOMMU_TEST_OP_*");
_Static_assert(MOCK_IOMMUPT_DEFAULT == 0 && MOCK_IOMMUPT_HUGE == 1 && MOCK_IOMMUPT_AMDV1 == 2,
	       "ABI: MOCK_IOMMUPT_*");
_Static_assert(MOCK_APERTURE_START == 0x1000000 && MOCK_APERTURE_LAST == 0x7fffffff &&
	       MOCK_PAGE_SIZE == 2048 && MOCK_HUGE_PAGE_SIZE == 0x100000,
	       "ABI: mock aperture");
_Static_assert(MOCK_FLAGS_ACCESS_WRITE == 1 && MOCK_FLAGS_ACCESS_SYZ == 0x10000 &&
	       MOCK_ACCESS_RW_WRITE == 1 && MOCK_ACCESS_RW_SLOW_PATH == 4 &&
	       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES == 1, "ABI: mock access flags");
_Static_assert(MOCK_FLAGS_DEVICE_NO_DIRTY == 1 && MOCK_FLAGS_DEVICE_HUGE_IOVA == 2 &&
	       MOCK_FLAGS_DEVICE_PASID == 4, "ABI: mock device flags");

/* struct iommu_test_cmd: header, union at 16 (largest member: dirty, 48) */
UIOMMUFD_UAPI_SIZE(struct iommu_test_cmd, 72);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, op, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, id, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, __reserved, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, add_reserved.start, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, add_reserved.length, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, mock_domain.out_stdev_id, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, mock_domain.out_hwpt_id, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, mock_domain.out_idev_id, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, mock_domain_flags.out_stdev_id, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, mock_domain_flags.out_hwpt_id, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, mock_domain_flags.out_idev_id, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, mock_domain_flags.dev_flags, 28);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, mock_domain_replace.pt_id, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_map.iova, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_map.length, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_map.uptr, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_refs.length, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_refs.uptr, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_refs.refs, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, create_access.out_access_fd, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, create_access.flags, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, destroy_access_pages.access_pages_id, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, access_pages.flags, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, access_pages.out_access_pages_id, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, access_pages.iova, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, access_pages.length, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, access_pages.uptr, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, access_rw.iova, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, access_rw.length, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, access_rw.uptr, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, access_rw.flags, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, memory_limit.limit, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, access_replace_ioas.ioas_id, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, dirty.flags, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, dirty.iova, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, dirty.length, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, dirty.page_size, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, dirty.uptr, 48);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, dirty.out_nr_dirty, 56);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_iotlb.id, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_iotlb.iotlb, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, trigger_iopf.dev_id, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, trigger_iopf.pasid, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, trigger_iopf.grpid, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, trigger_iopf.perm, 28);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, trigger_iopf.addr, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_dev_cache.id, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_dev_cache.cache, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, trigger_vevent.dev_id, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, pasid_attach.pasid, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, pasid_attach.pt_id, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, pasid_replace.pasid, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, pasid_replace.pt_id, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, pasid_detach.pasid, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, pasid_check.pasid, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, pasid_check.hwpt_id, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, dmabuf_get.length, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, dmabuf_get.open_flags, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, dmabuf_revoke.dmabuf_fd, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, dmabuf_revoke.revoked, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_dmabuf.dmabuf_fd, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_dmabuf.iova, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_dmabuf.length, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, check_dmabuf.offset, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_cmd, last, 64);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_test_cmd, dirty, 48);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_test_cmd, check_dmabuf, 32);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_test_cmd, trigger_iopf, 24);

/* struct iommu_test_hw_info */
UIOMMUFD_UAPI_SIZE(struct iommu_test_hw_info, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_hw_info, flags, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_test_hw_info, test_reg, 4);

/* struct iommu_hwpt_selftest */
UIOMMUFD_UAPI_SIZE(struct iommu_hwpt_selftest, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_selftest, iotlb, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_selftest, pagetable_type, 4);

/* struct iommu_hwpt_invalidate_selftest */
UIOMMUFD_UAPI_SIZE(struct iommu_hwpt_invalidate_selftest, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_invalidate_selftest, flags, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_invalidate_selftest, iotlb_id, 4);

/* struct iommu_viommu_selftest */
UIOMMUFD_UAPI_SIZE(struct iommu_viommu_selftest, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_selftest, in_data, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_selftest, out_data, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_selftest, out_mmap_offset, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_selftest, out_mmap_length, 16);

/* struct iommu_viommu_invalidate_selftest */
UIOMMUFD_UAPI_SIZE(struct iommu_viommu_invalidate_selftest, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_invalidate_selftest, flags, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_invalidate_selftest, vdev_id, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_invalidate_selftest, cache_id, 8);

/* struct iommu_viommu_event_selftest */
UIOMMUFD_UAPI_SIZE(struct iommu_viommu_event_selftest, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_event_selftest, virt_id, 0);

#endif /* UIOMMUFD_UAPI_IOMMUFD_TEST_H */
