/* SPDX-License-Identifier: MIT */
/*
 * uiommufd: the part of the VFIO ioctl ABI that iommufd's VFIO container
 * compatibility serves -- the container fd (/dev/vfio/vfio) calls and the
 * type1 IOMMU backend.  Group, device and SPAPR calls are not described.
 *
 * Byte compatible with the kernel's include/uapi/linux/vfio.h; the text and
 * comments are our own.  Facts follow the newest kernel, which
 *   - declares vfio_iommu_type1_info.iova_pgsizes __aligned_u64 and adds an
 *     explicit trailing @pad (same bytes as before on 64-bit ABIs; on i386
 *     the struct grew from 20 to 24 bytes), and
 *   - renamed extension 6 to __VFIO_RESERVED_TYPE1_NESTING_IOMMU (we keep
 *     the old name VFIO_TYPE1_NESTING_IOMMU as an alias).
 * Cross-checked against Debian's linux-libc-dev 6.1 <linux/vfio.h>.
 */
#ifndef UIOMMUFD_UAPI_VFIO_H
#define UIOMMUFD_UAPI_VFIO_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Value returned by VFIO_GET_API_VERSION. */
#define VFIO_API_VERSION 0

/* Extension numbers, passed to VFIO_CHECK_EXTENSION and VFIO_SET_IOMMU. */
#define VFIO_TYPE1_IOMMU 1          /* type1 IOMMU, original semantics */
#define VFIO_SPAPR_TCE_IOMMU 2      /* POWER TCE IOMMU (not served) */
#define VFIO_TYPE1v2_IOMMU 3        /* type1 IOMMU, v2 semantics */
#define VFIO_DMA_CC_IOMMU 4         /* DMA is cache coherent (no-snoop blocked) */
#define VFIO_EEH 5                  /* POWER EEH (not served) */
#define __VFIO_RESERVED_TYPE1_NESTING_IOMMU 6 /* retired nesting type, acts as v2 */
#define VFIO_TYPE1_NESTING_IOMMU __VFIO_RESERVED_TYPE1_NESTING_IOMMU /* old name */
#define VFIO_SPAPR_TCE_v2_IOMMU 7   /* POWER TCE IOMMU v2 (not served) */
#define VFIO_NOIOMMU_IOMMU 8        /* no translation, no isolation */
#define VFIO_UNMAP_ALL 9            /* VFIO_DMA_UNMAP_FLAG_ALL is accepted */
#define VFIO_UPDATE_VADDR 10        /* the VADDR flags of map/unmap are accepted */

/* ioctl "magic" and first number of the VFIO range (iommufd shares ';'). */
#define VFIO_TYPE (';')
#define VFIO_BASE 100

/*
 * Like iommufd, VFIO ioctls are encoded with _IO() (no size in the number);
 * each struct starts with @argsz, the number of bytes the caller provides.
 */

/* ---- container fd ------------------------------------------------------- */

/* VFIO_GET_API_VERSION - no argument; returns VFIO_API_VERSION. */
#define VFIO_GET_API_VERSION _IO(VFIO_TYPE, VFIO_BASE + 0)

/* VFIO_CHECK_EXTENSION - argument is an extension number; returns > 0 when
 * it is supported, 0 when not. */
#define VFIO_CHECK_EXTENSION _IO(VFIO_TYPE, VFIO_BASE + 1)

/* VFIO_SET_IOMMU - argument is an IOMMU extension number; selects the IOMMU
 * model once a group is attached to the container. */
#define VFIO_SET_IOMMU _IO(VFIO_TYPE, VFIO_BASE + 2)

/* ---- type1 IOMMU ------------------------------------------------------- */

/**
 * struct vfio_info_cap_header - header of one entry in a capability chain
 * @id: capability ID (meaning depends on the info ioctl)
 * @version: version of that capability's layout
 * @next: offset of the next header from the start of the info struct,
 *        0 at the end of the chain
 */
struct vfio_info_cap_header {
	__u16 id;
	__u16 version;
	__u32 next;
};

/**
 * struct vfio_iommu_type1_info - argument of VFIO_IOMMU_GET_INFO
 * @argsz: bytes provided; raised by the kernel when the caps do not fit
 * @flags: VFIO_IOMMU_INFO_* bits describing what was filled in
 * @iova_pgsizes: bitmap of supported IOMMU page sizes
 * @cap_offset: offset of the first struct vfio_info_cap_header from the
 *              start of this struct (0 when none fit in @argsz)
 * @pad: padding, written as 0
 */
struct vfio_iommu_type1_info {
	__u32 argsz;
	__u32 flags;
#define VFIO_IOMMU_INFO_PGSIZES (1 << 0) /* @iova_pgsizes is valid */
#define VFIO_IOMMU_INFO_CAPS (1 << 1)    /* @cap_offset is valid */
	__aligned_u64 iova_pgsizes;
	__u32 cap_offset;
	__u32 pad;
};

/* Capability ID: list of usable IOVA ranges (version 1). */
#define VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE 1

/**
 * struct vfio_iova_range - one usable IOVA interval
 * @start: first usable IOVA
 * @end: last usable IOVA (inclusive)
 */
struct vfio_iova_range {
	__u64 start;
	__u64 end;
};

/**
 * struct vfio_iommu_type1_info_cap_iova_range - VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE
 * @header: chain header, id VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE
 * @nr_iovas: number of entries in @iova_ranges
 * @reserved: padding, 0
 * @iova_ranges: the usable ranges, ascending
 */
struct vfio_iommu_type1_info_cap_iova_range {
	struct vfio_info_cap_header header;
	__u32 nr_iovas;
	__u32 reserved;
	struct vfio_iova_range iova_ranges[];
};

/* Capability ID: dirty page logging support (version 1). */
#define VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION 2

/**
 * struct vfio_iommu_type1_info_cap_migration - VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION
 * @header: chain header, id VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION
 * @flags: no flags defined
 * @pgsize_bitmap: page sizes usable for dirty bitmaps
 * @max_dirty_bitmap_size: largest dirty bitmap, in bytes, one call returns
 */
struct vfio_iommu_type1_info_cap_migration {
	struct vfio_info_cap_header header;
	__u32 flags;
	__u64 pgsize_bitmap;
	__u64 max_dirty_bitmap_size;
};

/* Capability ID: remaining number of DMA mappings (version 1). */
#define VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL 3

/**
 * struct vfio_iommu_type1_info_dma_avail - VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL
 * @header: chain header, id VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL
 * @avail: how many more mappings may be created right now
 */
struct vfio_iommu_type1_info_dma_avail {
	struct vfio_info_cap_header header;
	__u32 avail;
};

#define VFIO_IOMMU_GET_INFO _IO(VFIO_TYPE, VFIO_BASE + 12)

/**
 * struct vfio_iommu_type1_dma_map - argument of VFIO_IOMMU_MAP_DMA
 * @argsz: bytes provided, sizeof(struct vfio_iommu_type1_dma_map)
 * @flags: VFIO_DMA_MAP_FLAG_* bits
 * @vaddr: process address of the memory to map
 * @iova: device address to map it at
 * @size: bytes to map
 *
 * With VFIO_DMA_MAP_FLAG_VADDR nothing new is mapped: @vaddr replaces the
 * address of an existing mapping (same @iova/@size) that was invalidated by
 * VFIO_DMA_UNMAP_FLAG_VADDR; READ/WRITE must then be clear.
 */
struct vfio_iommu_type1_dma_map {
	__u32 argsz;
	__u32 flags;
#define VFIO_DMA_MAP_FLAG_READ (1 << 0)  /* device may read */
#define VFIO_DMA_MAP_FLAG_WRITE (1 << 1) /* device may write */
#define VFIO_DMA_MAP_FLAG_VADDR (1 << 2) /* update the process address only */
	__u64 vaddr;
	__u64 iova;
	__u64 size;
};

#define VFIO_IOMMU_MAP_DMA _IO(VFIO_TYPE, VFIO_BASE + 13)

/**
 * struct vfio_bitmap - user buffer for a dirty bitmap
 * @pgsize: bytes of IOVA per bit
 * @size: bytes of the buffer at @data
 * @data: zeroed user buffer, one bit per page starting at the range's IOVA
 */
struct vfio_bitmap {
	__u64 pgsize;
	__u64 size;
	__u64 *data;
};

/**
 * struct vfio_iommu_type1_dma_unmap - argument of VFIO_IOMMU_UNMAP_DMA
 * @argsz: bytes provided (include a struct vfio_bitmap in @data when
 *         VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP is set)
 * @flags: VFIO_DMA_UNMAP_FLAG_* bits
 * @iova: first IOVA to unmap (0 with FLAG_ALL)
 * @size: in: bytes to unmap (0 with FLAG_ALL); out: bytes unmapped
 * @data: optional struct vfio_bitmap
 *
 * FLAG_ALL and FLAG_VADDR cannot be combined with GET_DIRTY_BITMAP.
 * FLAG_VADDR keeps the mappings but invalidates their process addresses.
 */
struct vfio_iommu_type1_dma_unmap {
	__u32 argsz;
	__u32 flags;
#define VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP (1 << 0) /* report dirty pages */
#define VFIO_DMA_UNMAP_FLAG_ALL (1 << 1)              /* unmap everything */
#define VFIO_DMA_UNMAP_FLAG_VADDR (1 << 2)            /* invalidate vaddr only */
	__u64 iova;
	__u64 size;
	__u8 data[];
};

#define VFIO_IOMMU_UNMAP_DMA _IO(VFIO_TYPE, VFIO_BASE + 14)

/* Container-wide enable/disable; no argument. */
#define VFIO_IOMMU_ENABLE _IO(VFIO_TYPE, VFIO_BASE + 15)
#define VFIO_IOMMU_DISABLE _IO(VFIO_TYPE, VFIO_BASE + 16)

/**
 * struct vfio_iommu_type1_dirty_bitmap - argument of VFIO_IOMMU_DIRTY_PAGES
 * @argsz: bytes provided (with GET_BITMAP, up to the end of the struct
 *         vfio_iommu_type1_dirty_bitmap_get in @data, not the bitmap)
 * @flags: exactly one VFIO_IOMMU_DIRTY_PAGES_FLAG_* bit
 * @data: struct vfio_iommu_type1_dirty_bitmap_get for GET_BITMAP
 */
struct vfio_iommu_type1_dirty_bitmap {
	__u32 argsz;
	__u32 flags;
#define VFIO_IOMMU_DIRTY_PAGES_FLAG_START (1 << 0)      /* start logging */
#define VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP (1 << 1)       /* stop logging */
#define VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP (1 << 2) /* read the log */
	__u8 data[];
};

/**
 * struct vfio_iommu_type1_dirty_bitmap_get - payload of GET_BITMAP
 * @iova: first IOVA of the range
 * @size: bytes of IOVA in the range
 * @bitmap: where the dirty bits go
 */
struct vfio_iommu_type1_dirty_bitmap_get {
	__u64 iova;
	__u64 size;
	struct vfio_bitmap bitmap;
};

#define VFIO_IOMMU_DIRTY_PAGES _IO(VFIO_TYPE, VFIO_BASE + 17)

/* ======================================================================== */
/* Static ABI checks (kernel numbers restated by hand)                      */
/* ======================================================================== */

#ifndef UIOMMUFD_UAPI_CHECK_HELPERS
#define UIOMMUFD_UAPI_CHECK_HELPERS
#if defined(__cplusplus) && !defined(_Static_assert)
#define _Static_assert static_assert /* C++ spelling of the same check */
#endif
#define UIOMMUFD_UAPI_SIZE(type, n) \
	_Static_assert(sizeof(type) == (n), "ABI: sizeof(" #type ") != " #n)
#define UIOMMUFD_UAPI_OFFSET(type, field, n)                        \
	_Static_assert(__builtin_offsetof(type, field) == (n),       \
		       "ABI: offsetof(" #type ", " #field ") != " #n)
#define UIOMMUFD_UAPI_FIELD_SIZE(type, field, n)                    \
	_Static_assert(sizeof(((type *)0)->field) == (n),            \
		       "ABI: sizeof(" #type "." #field ") != " #n)
#define UIOMMUFD_UAPI_IOCTL(cmd, type, nr)                          \
	_Static_assert(_IOC_TYPE(cmd) == (type) && _IOC_NR(cmd) == (nr) && \
		       _IOC_SIZE(cmd) == 0 && _IOC_DIR(cmd) == _IOC_NONE, \
		       "ABI: ioctl number of " #cmd)
#endif

_Static_assert(VFIO_API_VERSION == 0, "ABI: VFIO_API_VERSION");
_Static_assert(VFIO_TYPE1_IOMMU == 1 && VFIO_SPAPR_TCE_IOMMU == 2 && VFIO_TYPE1v2_IOMMU == 3 &&
	       VFIO_DMA_CC_IOMMU == 4 && VFIO_EEH == 5 && VFIO_TYPE1_NESTING_IOMMU == 6 &&
	       VFIO_SPAPR_TCE_v2_IOMMU == 7 && VFIO_NOIOMMU_IOMMU == 8 &&
	       VFIO_UNMAP_ALL == 9 && VFIO_UPDATE_VADDR == 10, "ABI: VFIO extensions");
_Static_assert(VFIO_IOMMU_INFO_PGSIZES == 1 && VFIO_IOMMU_INFO_CAPS == 2,
	       "ABI: VFIO_IOMMU_INFO_*");
_Static_assert(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE == 1 &&
	       VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION == 2 && VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL == 3,
	       "ABI: type1 capability IDs");
_Static_assert(VFIO_DMA_MAP_FLAG_READ == 1 && VFIO_DMA_MAP_FLAG_WRITE == 2 &&
	       VFIO_DMA_MAP_FLAG_VADDR == 4, "ABI: VFIO_DMA_MAP_FLAG_*");
_Static_assert(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP == 1 && VFIO_DMA_UNMAP_FLAG_ALL == 2 &&
	       VFIO_DMA_UNMAP_FLAG_VADDR == 4, "ABI: VFIO_DMA_UNMAP_FLAG_*");
_Static_assert(VFIO_IOMMU_DIRTY_PAGES_FLAG_START == 1 && VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP == 2 &&
	       VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP == 4, "ABI: VFIO_IOMMU_DIRTY_PAGES_FLAG_*");

/* VFIO_BASE is 100 (0x64) */
UIOMMUFD_UAPI_IOCTL(VFIO_GET_API_VERSION, 0x3b, 0x64);
UIOMMUFD_UAPI_IOCTL(VFIO_CHECK_EXTENSION, 0x3b, 0x65);
UIOMMUFD_UAPI_IOCTL(VFIO_SET_IOMMU, 0x3b, 0x66);
UIOMMUFD_UAPI_IOCTL(VFIO_IOMMU_GET_INFO, 0x3b, 0x70);
UIOMMUFD_UAPI_IOCTL(VFIO_IOMMU_MAP_DMA, 0x3b, 0x71);
UIOMMUFD_UAPI_IOCTL(VFIO_IOMMU_UNMAP_DMA, 0x3b, 0x72);
UIOMMUFD_UAPI_IOCTL(VFIO_IOMMU_ENABLE, 0x3b, 0x73);
UIOMMUFD_UAPI_IOCTL(VFIO_IOMMU_DISABLE, 0x3b, 0x74);
UIOMMUFD_UAPI_IOCTL(VFIO_IOMMU_DIRTY_PAGES, 0x3b, 0x75);

/* struct vfio_info_cap_header */
UIOMMUFD_UAPI_SIZE(struct vfio_info_cap_header, 8);
UIOMMUFD_UAPI_OFFSET(struct vfio_info_cap_header, id, 0);
UIOMMUFD_UAPI_OFFSET(struct vfio_info_cap_header, version, 2);
UIOMMUFD_UAPI_OFFSET(struct vfio_info_cap_header, next, 4);

/* struct vfio_iommu_type1_info */
UIOMMUFD_UAPI_SIZE(struct vfio_iommu_type1_info, 24);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info, argsz, 0);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info, iova_pgsizes, 8);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info, cap_offset, 16);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info, pad, 20);

/* struct vfio_iova_range */
UIOMMUFD_UAPI_SIZE(struct vfio_iova_range, 16);
UIOMMUFD_UAPI_OFFSET(struct vfio_iova_range, start, 0);
UIOMMUFD_UAPI_OFFSET(struct vfio_iova_range, end, 8);

/* struct vfio_iommu_type1_info_cap_iova_range */
UIOMMUFD_UAPI_SIZE(struct vfio_iommu_type1_info_cap_iova_range, 16);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_cap_iova_range, header, 0);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_cap_iova_range, nr_iovas, 8);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_cap_iova_range, reserved, 12);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_cap_iova_range, iova_ranges, 16);

/* struct vfio_iommu_type1_info_dma_avail */
UIOMMUFD_UAPI_SIZE(struct vfio_iommu_type1_info_dma_avail, 12);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_dma_avail, header, 0);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_dma_avail, avail, 8);

/* struct vfio_iommu_type1_dma_map */
UIOMMUFD_UAPI_SIZE(struct vfio_iommu_type1_dma_map, 32);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dma_map, argsz, 0);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dma_map, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dma_map, vaddr, 8);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dma_map, iova, 16);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dma_map, size, 24);

/* struct vfio_iommu_type1_dma_unmap */
UIOMMUFD_UAPI_SIZE(struct vfio_iommu_type1_dma_unmap, 24);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dma_unmap, argsz, 0);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dma_unmap, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dma_unmap, iova, 8);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dma_unmap, size, 16);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dma_unmap, data, 24);

/* struct vfio_iommu_type1_dirty_bitmap */
UIOMMUFD_UAPI_SIZE(struct vfio_iommu_type1_dirty_bitmap, 8);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dirty_bitmap, argsz, 0);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dirty_bitmap, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dirty_bitmap, data, 8);

/*
 * The structs below use plain __u64 (and a pointer), so their layout follows
 * the C ABI: i386 aligns 64-bit members to 4 bytes, every other Linux ABI
 * to 8.  The kernel's compat layer deals with 32-bit callers of these.
 */
#if defined(__i386__)
/* struct vfio_iommu_type1_info_cap_migration (i386) */
UIOMMUFD_UAPI_SIZE(struct vfio_iommu_type1_info_cap_migration, 28);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_cap_migration, header, 0);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_cap_migration, flags, 8);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_cap_migration, pgsize_bitmap, 12);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_cap_migration, max_dirty_bitmap_size, 20);
#else
/* struct vfio_iommu_type1_info_cap_migration */
UIOMMUFD_UAPI_SIZE(struct vfio_iommu_type1_info_cap_migration, 32);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_cap_migration, header, 0);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_cap_migration, flags, 8);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_cap_migration, pgsize_bitmap, 16);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_info_cap_migration, max_dirty_bitmap_size, 24);
#endif

/* struct vfio_bitmap: two __u64 then a user pointer */
#if __SIZEOF_POINTER__ == 8
UIOMMUFD_UAPI_SIZE(struct vfio_bitmap, 24);
UIOMMUFD_UAPI_SIZE(struct vfio_iommu_type1_dirty_bitmap_get, 40);
#elif defined(__i386__)
UIOMMUFD_UAPI_SIZE(struct vfio_bitmap, 20);
UIOMMUFD_UAPI_SIZE(struct vfio_iommu_type1_dirty_bitmap_get, 36);
#else /* other 32-bit ABIs: 4-byte pointer, 8-byte aligned __u64 */
UIOMMUFD_UAPI_SIZE(struct vfio_bitmap, 24);
UIOMMUFD_UAPI_SIZE(struct vfio_iommu_type1_dirty_bitmap_get, 40);
#endif
UIOMMUFD_UAPI_OFFSET(struct vfio_bitmap, pgsize, 0);
UIOMMUFD_UAPI_OFFSET(struct vfio_bitmap, size, 8);
UIOMMUFD_UAPI_OFFSET(struct vfio_bitmap, data, 16);

/* struct vfio_iommu_type1_dirty_bitmap_get */
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dirty_bitmap_get, iova, 0);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dirty_bitmap_get, size, 8);
UIOMMUFD_UAPI_OFFSET(struct vfio_iommu_type1_dirty_bitmap_get, bitmap, 16);

#endif /* UIOMMUFD_UAPI_VFIO_H */
