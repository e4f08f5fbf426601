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

/*
 * IOMMU_TEST_CMD: one ioctl, many operations.  The number in each comment is
 * the op code; the union member of struct iommu_test_cmd the operation reads
 * is named after it.  docs/uapi-behaviour.md says what each one does.
 */
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,		/* add_reserved */
	IOMMU_TEST_OP_MOCK_DOMAIN = 2,		/* mock_domain */
	IOMMU_TEST_OP_MD_CHECK_MAP = 3,		/* check_map */
	IOMMU_TEST_OP_MD_CHECK_REFS = 4,	/* check_refs */
	IOMMU_TEST_OP_CREATE_ACCESS = 5,	/* create_access */
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES = 6,	/* destroy_access_pages */
	IOMMU_TEST_OP_ACCESS_PAGES = 7,		/* access_pages */
	IOMMU_TEST_OP_ACCESS_RW = 8,		/* access_rw */
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT = 9,	/* memory_limit */
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = 10,	/* mock_domain_replace */
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS = 11,	/* access_replace_ioas */
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12,	/* mock_domain_flags */
	IOMMU_TEST_OP_DIRTY = 13,		/* dirty */
	IOMMU_TEST_OP_MD_CHECK_IOTLB = 14,	/* check_iotlb */
	IOMMU_TEST_OP_TRIGGER_IOPF = 15,	/* trigger_iopf */
	IOMMU_TEST_OP_DEV_CHECK_CACHE = 16,	/* check_dev_cache */
	IOMMU_TEST_OP_TRIGGER_VEVENT = 17,	/* trigger_vevent */
	IOMMU_TEST_OP_PASID_ATTACH = 18,	/* pasid_attach */
	IOMMU_TEST_OP_PASID_REPLACE = 19,	/* pasid_replace */
	IOMMU_TEST_OP_PASID_DETACH = 20,	/* pasid_detach */
	IOMMU_TEST_OP_PASID_CHECK_HWPT = 21,	/* pasid_check */
	IOMMU_TEST_OP_DMABUF_GET = 22,		/* dmabuf_get */
	IOMMU_TEST_OP_DMABUF_REVOKE = 23,	/* dmabuf_revoke */
	IOMMU_TEST_OP_MD_CHECK_DMABUF = 24,	/* check_dmabuf */
};

/*
 * The argument.  Four u32 of header, a 48-byte union at offset 16 (the
 * largest member is dirty), and `last` at 64, whose end (68) is the smallest
 * size the ioctl accepts.  Members are listed by op code; fields of one type
 * that follow each other share a declaration.
 */
struct iommu_test_cmd {
	__u32 size, op, id, __reserved;
	union {
		struct {				/* 1 */
			__aligned_u64 start, length;
		} add_reserved;
		struct {				/* 2: all three returned */
			__u32 out_stdev_id, out_hwpt_id, out_idev_id;
		} mock_domain;
		struct {				/* 3 */
			__aligned_u64 iova, length, uptr;
		} check_map;
		struct {				/* 4 */
			__aligned_u64 length, uptr;
			__u32 refs;
		} check_refs;
		struct {				/* 5: fd returned */
			__u32 out_access_fd, flags;	/* flags: MOCK_FLAGS_ACCESS_CREATE_* */
		} create_access;
		struct {				/* 6 */
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {				/* 7: pin id returned */
			__u32 flags, out_access_pages_id;	/* flags: MOCK_FLAGS_ACCESS_* */
			__aligned_u64 iova, length, uptr;
		} access_pages;
		struct {				/* 8 */
			__aligned_u64 iova, length, uptr;
			__u32 flags;	/* MOCK_ACCESS_RW_*, MOCK_FLAGS_ACCESS_SYZ */
		} access_rw;
		struct {				/* 9: in pages */
			__u32 limit;
		} memory_limit;
		struct {				/* 10: HWPT returned */
			__u32 pt_id;
		} mock_domain_replace;
		struct {				/* 11 */
			__u32 ioas_id;
		} access_replace_ioas;
		struct {				/* 12: 2 plus dev_flags */
			__u32 out_stdev_id, out_hwpt_id, out_idev_id;
			__u32 dev_flags;	/* MOCK_FLAGS_DEVICE_* */
		} mock_domain_flags;
		struct {				/* 13: count returned */
			__u32 flags;
			__aligned_u64 iova, length, page_size, uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {				/* 14 */
			__u32 id, iotlb;
		} check_iotlb;
		struct {				/* 15 */
			__u32 dev_id, pasid, grpid, perm;
			__u64 addr;	/* a plain __u64, naturally at 32 */
		} trigger_iopf;
		struct {				/* 16 */
			__u32 id, cache;
		} check_dev_cache;
		struct {				/* 17 */
			__u32 dev_id;
		} trigger_vevent;
		struct {				/* 18: HWPT returned */
			__u32 pasid, pt_id;
		} pasid_attach;
		struct {				/* 19: HWPT returned */
			__u32 pasid, pt_id;
		} pasid_replace;
		struct {				/* 20 */
			__u32 pasid;
		} pasid_detach;
		struct {				/* 21 */
			__u32 pasid, hwpt_id;
		} pasid_check;
		struct {				/* 22: fd is the result */
			__u32 length, open_flags;
		} dmabuf_get;
		struct {				/* 23 */
			__s32 dmabuf_fd;
			__u32 revoked;
		} dmabuf_revoke;
		struct {				/* 24 */
			__s32 dmabuf_fd;
			__aligned_u64 iova, length, offset;
		} check_dmabuf;
	};
	__u32 last;
};

/* ------------------------------------------------------------ flags */

/* create_access.flags: the access may pin pages (ACCESS_PAGES). */
enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 0x1,
};

/*
 * access_pages.flags and access_rw.flags.  ACCESS_RW's two bits equal the
 * core's IOMMUFD_ACCESS_RW_* so they pass straight through; SYZ marks an
 * IOVA in syzkaller's area-index encoding and is valid for both.
 */
enum {
	MOCK_FLAGS_ACCESS_WRITE = 0x1,
	MOCK_FLAGS_ACCESS_SYZ = 0x10000,
};
enum {
	MOCK_ACCESS_RW_WRITE = 0x1,
	MOCK_ACCESS_RW_SLOW_PATH = 0x4,
};

/*
 * mock_domain_flags.dev_flags.  0x2 (HUGE_IOVA) is only in older kernels;
 * the name stays for their test programs and the bit is never reused.
 */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 0x1,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 0x2,
	MOCK_FLAGS_DEVICE_PASID = 0x4,
};

/* ------------------------------------------------- the mock device */

/* hw_info of the mock: IOMMU_GET_HW_INFO data type and its register. */
#define IOMMU_HW_INFO_TYPE_SELFTEST 0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL 0xdeadbeef

struct iommu_test_hw_info {
	__u32 flags, test_reg;	/* 0 and IOMMU_HW_INFO_SELFTEST_REGVAL */
};

/* Mock devices made with MOCK_FLAGS_DEVICE_PASID have this many PASID bits. */
#define MOCK_PASID_WIDTH 20

/* The PASID whose every second set fails, so replace must roll back. */
#define IOMMU_TEST_PASID_RESERVED 1024

/* Each device has a small cache the vIOMMU invalidation resets. */
#define IOMMU_TEST_DEV_CACHE_DEFAULT 0xbaddad
enum {
	MOCK_DEV_CACHE_NUM = 4,
	MOCK_DEV_CACHE_ID_MAX = MOCK_DEV_CACHE_NUM - 1,
};

/* ------------------------------------------- paging and nested HWPTs */

/* Geometry of the default mock page table: 2 KiB granule, [16 MiB, 2 GiB). */
enum {
	MOCK_PAGE_SIZE = 0x800,
	MOCK_HUGE_PAGE_SIZE = 0x100000,		/* 512 granules */
	MOCK_APERTURE_START = 0x1000000,
	MOCK_APERTURE_LAST = 0x7fffffff,
};

/* iommu_hwpt_selftest.pagetable_type */
enum {
	MOCK_IOMMUPT_DEFAULT = 0,	/* the 2 KiB mock format above */
	MOCK_IOMMUPT_HUGE = 1,		/* the same, mapping 1 MiB pages */
	MOCK_IOMMUPT_AMDV1 = 2,		/* real AMDv1, 64-bit input */
};

/*
 * IOMMU_HWPT_ALLOC data of the mock driver (not in enum
 * iommu_hwpt_data_type).  For a nested HWPT @iotlb seeds every IOTLB entry;
 * for a paging HWPT @pagetable_type picks the format.
 */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
struct iommu_hwpt_selftest {
	__u32 iotlb, pagetable_type;
};

/* The nested domain's fake IOTLB and the value tests seed it with. */
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef
enum {
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = MOCK_NESTED_DOMAIN_IOTLB_NUM - 1,
};

/*
 * Invalidation entries.  Both kinds take one flag: reset every entry and
 * ignore the index.  _INVALID types exist so tests can send a type the mock
 * refuses.
 */
#define IOMMU_TEST_INVALIDATE_FLAG_ALL 0x1

#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef
struct iommu_hwpt_invalidate_selftest {
	__u32 flags, iotlb_id;	/* iotlb_id: 0..MOCK_NESTED_DOMAIN_IOTLB_ID_MAX */
};

/* -------------------------------------------------- the mock vIOMMU */

/*
 * IOMMU_VIOMMU_ALLOC data: @in_data comes back in @out_data and in the first
 * word of the mmap-able region described by @out_mmap_offset/_length.
 */
#define IOMMU_VIOMMU_TYPE_SELFTEST 0xdeadbeef
struct iommu_viommu_selftest {
	__u32 in_data, out_data;
	__aligned_u64 out_mmap_offset, out_mmap_length;
};

/* vIOMMU invalidation: reset cache entries of the device at @vdev_id. */
#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef
struct iommu_viommu_invalidate_selftest {
	__u32 flags, vdev_id, cache_id;
};

/* vEVENT of the mock, from IOMMU_TEST_OP_TRIGGER_VEVENT. */
#define IOMMU_VEVENTQ_TYPE_SELFTEST 0xbeefbeef
struct iommu_viommu_event_selftest {
	__u32 virt_id;
};

/* HW queues of the mock: indexes 0 .. IOMMU_TEST_HW_QUEUE_MAX - 1. */
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

_Static_assert(MOCK_NESTED_DOMAIN_IOTLB_NUM == 4 && MOCK_NESTED_DOMAIN_IOTLB_ID_MAX == 3 &&
	       MOCK_DEV_CACHE_NUM == 4 && MOCK_DEV_CACHE_ID_MAX == 3, "ABI: mock cache sizes");
_Static_assert(IOMMU_TEST_PASID_RESERVED == 1024 && MOCK_PASID_WIDTH == 20 &&
	       IOMMU_TEST_HW_QUEUE_MAX == 2, "ABI: mock PASID and HW queue limits");
_Static_assert(IOMMU_HW_INFO_TYPE_SELFTEST == 0xfeedbeef &&
	       IOMMU_HW_INFO_SELFTEST_REGVAL == 0xdeadbeef && IOMMU_HWPT_DATA_SELFTEST == 0xdead &&
	       IOMMU_TEST_IOTLB_DEFAULT == 0xbadbeef && IOMMU_TEST_DEV_CACHE_DEFAULT == 0xbaddad,
	       "ABI: mock data types and seeds");
_Static_assert(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST == 0xdeadbeef &&
	       IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID == 0xdadbeef &&
	       IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST == 0xdeadbeef &&
	       IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID == 0xdadbeef &&
	       IOMMU_TEST_INVALIDATE_FLAG_ALL == 1, "ABI: mock invalidation types");
_Static_assert(IOMMU_VIOMMU_TYPE_SELFTEST == 0xdeadbeef &&
	       IOMMU_VEVENTQ_TYPE_SELFTEST == 0xbeefbeef &&
	       IOMMU_HW_QUEUE_TYPE_SELFTEST == 0xdeadbeef, "ABI: mock vIOMMU types");

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
