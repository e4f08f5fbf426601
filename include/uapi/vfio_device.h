/* SPDX-License-Identifier: MIT */
/*
 * uiommufd: the device-fd part of the VFIO ioctl ABI as vfio-pci serves it
 * -- device, region and interrupt information, interrupt setup, resets and
 * device features -- and the PCI region and interrupt indexes.
 *
 * Byte compatible with the kernel's include/uapi/linux/vfio.h; the text is
 * our own.  Kept apart from vfio.h (the container and type1 calls) so the
 * group and cdev calls can grow there independently.
 */
#ifndef UIOMMUFD_UAPI_VFIO_DEVICE_H
#define UIOMMUFD_UAPI_VFIO_DEVICE_H

#include "uapi/vfio.h"

/* ---- the device's description ------------------------------------------ */

struct vfio_device_info {
	__u32 argsz;
	__u32 flags;
	__u32 num_regions;	/* highest region index + 1 */
	__u32 num_irqs;		/* highest interrupt index + 1 */
	__u32 cap_offset;	/* first capability, from the start of this struct */
	__u32 pad;
};
#define VFIO_DEVICE_FLAGS_RESET (1 << 0)	/* VFIO_DEVICE_RESET works */
#define VFIO_DEVICE_FLAGS_PCI (1 << 1)		/* a PCI function */
#define VFIO_DEVICE_FLAGS_PLATFORM (1 << 2)
#define VFIO_DEVICE_FLAGS_AMBA (1 << 3)
#define VFIO_DEVICE_FLAGS_CCW (1 << 4)
#define VFIO_DEVICE_FLAGS_AP (1 << 5)
#define VFIO_DEVICE_FLAGS_FSL_MC (1 << 6)
#define VFIO_DEVICE_FLAGS_CAPS (1 << 7)		/* @cap_offset is meaningful */
#define VFIO_DEVICE_FLAGS_CDX (1 << 8)
#define VFIO_DEVICE_GET_INFO _IO(VFIO_TYPE, VFIO_BASE + 7)

struct vfio_region_info {
	__u32 argsz;
	__u32 flags;
	__u32 index;
	__u32 cap_offset;
	__aligned_u64 size;	/* bytes; 0: the region does not exist */
	__aligned_u64 offset;	/* where it starts in the device fd */
};
#define VFIO_REGION_INFO_FLAG_READ (1 << 0)
#define VFIO_REGION_INFO_FLAG_WRITE (1 << 1)
#define VFIO_REGION_INFO_FLAG_MMAP (1 << 2)
#define VFIO_REGION_INFO_FLAG_CAPS (1 << 3)
#define VFIO_DEVICE_GET_REGION_INFO _IO(VFIO_TYPE, VFIO_BASE + 8)

/* Region capabilities. */
#define VFIO_REGION_INFO_CAP_SPARSE_MMAP 1
struct vfio_region_sparse_mmap_area {
	__aligned_u64 offset;
	__aligned_u64 size;
};
struct vfio_region_info_cap_sparse_mmap {
	struct vfio_info_cap_header header;
	__u32 nr_areas;
	__u32 reserved;
	struct vfio_region_sparse_mmap_area areas[];
};
#define VFIO_REGION_INFO_CAP_TYPE 2
struct vfio_region_info_cap_type {
	struct vfio_info_cap_header header;
	__u32 type;
	__u32 subtype;
};
/* The MSI-X table in this BAR may be mapped with the rest (header only). */
#define VFIO_REGION_INFO_CAP_MSIX_MAPPABLE 3

struct vfio_irq_info {
	__u32 argsz;
	__u32 flags;
	__u32 index;
	__u32 count;	/* interrupts of this index */
};
#define VFIO_IRQ_INFO_EVENTFD (1 << 0)
#define VFIO_IRQ_INFO_MASKABLE (1 << 1)
#define VFIO_IRQ_INFO_AUTOMASKED (1 << 2)
#define VFIO_IRQ_INFO_NORESIZE (1 << 3)
#define VFIO_DEVICE_GET_IRQ_INFO _IO(VFIO_TYPE, VFIO_BASE + 9)

struct vfio_irq_set {
	__u32 argsz;
	__u32 flags;
	__u32 index;
	__u32 start;
	__u32 count;
	__u8 data[];
};
#define VFIO_IRQ_SET_DATA_NONE (1 << 0)
#define VFIO_IRQ_SET_DATA_BOOL (1 << 1)
#define VFIO_IRQ_SET_DATA_EVENTFD (1 << 2)
#define VFIO_IRQ_SET_ACTION_MASK (1 << 3)
#define VFIO_IRQ_SET_ACTION_UNMASK (1 << 4)
#define VFIO_IRQ_SET_ACTION_TRIGGER (1 << 5)
#define VFIO_IRQ_SET_DATA_TYPE_MASK \
	(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_EVENTFD)
#define VFIO_IRQ_SET_ACTION_TYPE_MASK \
	(VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_ACTION_TRIGGER)
#define VFIO_DEVICE_SET_IRQS _IO(VFIO_TYPE, VFIO_BASE + 10)

#define VFIO_DEVICE_RESET _IO(VFIO_TYPE, VFIO_BASE + 11)

/* ---- PCI region and interrupt indexes ---------------------------------- */

enum {
	VFIO_PCI_BAR0_REGION_INDEX,
	VFIO_PCI_BAR1_REGION_INDEX,
	VFIO_PCI_BAR2_REGION_INDEX,
	VFIO_PCI_BAR3_REGION_INDEX,
	VFIO_PCI_BAR4_REGION_INDEX,
	VFIO_PCI_BAR5_REGION_INDEX,
	VFIO_PCI_ROM_REGION_INDEX,
	VFIO_PCI_CONFIG_REGION_INDEX,
	VFIO_PCI_VGA_REGION_INDEX,
	VFIO_PCI_NUM_REGIONS = 9
};

enum {
	VFIO_PCI_INTX_IRQ_INDEX,
	VFIO_PCI_MSI_IRQ_INDEX,
	VFIO_PCI_MSIX_IRQ_INDEX,
	VFIO_PCI_ERR_IRQ_INDEX,
	VFIO_PCI_REQ_IRQ_INDEX,
	VFIO_PCI_NUM_IRQS
};

/* Region @index starts at this device-fd offset (vfio-pci's own layout). */
#define VFIO_PCI_OFFSET_SHIFT 40
#define VFIO_PCI_INDEX_TO_OFFSET(index) ((__u64)(index) << VFIO_PCI_OFFSET_SHIFT)
#define VFIO_PCI_OFFSET_TO_INDEX(off) ((off) >> VFIO_PCI_OFFSET_SHIFT)
#define VFIO_PCI_OFFSET_MASK ((1ULL << VFIO_PCI_OFFSET_SHIFT) - 1)

/* ---- hot reset ---------------------------------------------------------- */

struct vfio_pci_dependent_device {
	union {
		__u32 group_id;
		__u32 devid;	/* with VFIO_PCI_HOT_RESET_FLAG_DEV_ID */
	};
	__u16 segment;
	__u8 bus;
	__u8 devfn;
};
#define VFIO_PCI_DEVID_OWNED 0
#define VFIO_PCI_DEVID_NOT_OWNED -1

struct vfio_pci_hot_reset_info {
	__u32 argsz;
	__u32 flags;
	__u32 count;
	struct vfio_pci_dependent_device devices[];
};
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID (1 << 0)
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED (1 << 1)
#define VFIO_DEVICE_GET_PCI_HOT_RESET_INFO _IO(VFIO_TYPE, VFIO_BASE + 12)

struct vfio_pci_hot_reset {
	__u32 argsz;
	__u32 flags;
	__u32 count;
	__s32 group_fds[];
};
#define VFIO_DEVICE_PCI_HOT_RESET _IO(VFIO_TYPE, VFIO_BASE + 13)

/* ---- device features ---------------------------------------------------- */

struct vfio_device_feature {
	__u32 argsz;
	__u32 flags;
	__u8 data[];
};
#define VFIO_DEVICE_FEATURE_MASK 0xffff
#define VFIO_DEVICE_FEATURE_GET (1 << 16)
#define VFIO_DEVICE_FEATURE_SET (1 << 17)
#define VFIO_DEVICE_FEATURE_PROBE (1 << 18)
#define VFIO_DEVICE_FEATURE _IO(VFIO_TYPE, VFIO_BASE + 17)

#define VFIO_DEVICE_FEATURE_PCI_VF_TOKEN 0
#define VFIO_DEVICE_FEATURE_MIGRATION 1
#define VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE 2
#define VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY 3
#define VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP 4
#define VFIO_DEVICE_FEATURE_LOW_POWER_EXIT 5
#define VFIO_DEVICE_FEATURE_DMA_LOGGING_START 6
#define VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP 7
#define VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT 8
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9

struct vfio_device_low_power_entry_with_wakeup {
	__s32 wakeup_eventfd;
	__u32 reserved;
};

/*
 * VFIO_DEVICE_IOEVENTFD: when @fd is signalled, write the low 1, 2, 4 or 8
 * bytes (one size flag) of @data at region offset @offset.  fd -1 removes
 * the registration with the same offset, data and size.
 */
struct vfio_device_ioeventfd {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_IOEVENTFD_8 (1 << 0)
#define VFIO_DEVICE_IOEVENTFD_16 (1 << 1)
#define VFIO_DEVICE_IOEVENTFD_32 (1 << 2)
#define VFIO_DEVICE_IOEVENTFD_64 (1 << 3)
#define VFIO_DEVICE_IOEVENTFD_SIZE_MASK (0xf)
	__aligned_u64 offset;
	__aligned_u64 data;
	__s32 fd;
	__u32 reserved;
};
#define VFIO_DEVICE_IOEVENTFD _IO(VFIO_TYPE, VFIO_BASE + 16)

/* ---- static checks ------------------------------------------------------ */

UIOMMUFD_UAPI_SIZE(struct vfio_device_info, 24);
UIOMMUFD_UAPI_OFFSET(struct vfio_device_info, num_irqs, 12);
UIOMMUFD_UAPI_OFFSET(struct vfio_device_info, cap_offset, 16);
UIOMMUFD_UAPI_SIZE(struct vfio_region_info, 32);
UIOMMUFD_UAPI_OFFSET(struct vfio_region_info, cap_offset, 12);
UIOMMUFD_UAPI_OFFSET(struct vfio_region_info, size, 16);
UIOMMUFD_UAPI_OFFSET(struct vfio_region_info, offset, 24);
UIOMMUFD_UAPI_SIZE(struct vfio_region_info_cap_sparse_mmap, 16);
UIOMMUFD_UAPI_SIZE(struct vfio_region_sparse_mmap_area, 16);
UIOMMUFD_UAPI_SIZE(struct vfio_region_info_cap_type, 16);
UIOMMUFD_UAPI_SIZE(struct vfio_irq_info, 16);
UIOMMUFD_UAPI_SIZE(struct vfio_irq_set, 20);
UIOMMUFD_UAPI_SIZE(struct vfio_pci_dependent_device, 8);
UIOMMUFD_UAPI_OFFSET(struct vfio_pci_dependent_device, segment, 4);
UIOMMUFD_UAPI_OFFSET(struct vfio_pci_dependent_device, devfn, 7);
UIOMMUFD_UAPI_SIZE(struct vfio_pci_hot_reset_info, 12);
UIOMMUFD_UAPI_SIZE(struct vfio_pci_hot_reset, 12);
UIOMMUFD_UAPI_SIZE(struct vfio_device_feature, 8);
UIOMMUFD_UAPI_SIZE(struct vfio_device_low_power_entry_with_wakeup, 8);
UIOMMUFD_UAPI_IOCTL(VFIO_DEVICE_GET_INFO, 0x3b, 0x6b);
UIOMMUFD_UAPI_IOCTL(VFIO_DEVICE_GET_REGION_INFO, 0x3b, 0x6c);
UIOMMUFD_UAPI_IOCTL(VFIO_DEVICE_GET_IRQ_INFO, 0x3b, 0x6d);
UIOMMUFD_UAPI_IOCTL(VFIO_DEVICE_SET_IRQS, 0x3b, 0x6e);
UIOMMUFD_UAPI_IOCTL(VFIO_DEVICE_RESET, 0x3b, 0x6f);
UIOMMUFD_UAPI_IOCTL(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 0x3b, 0x70);
UIOMMUFD_UAPI_IOCTL(VFIO_DEVICE_PCI_HOT_RESET, 0x3b, 0x71);
UIOMMUFD_UAPI_IOCTL(VFIO_DEVICE_FEATURE, 0x3b, 0x75);
UIOMMUFD_UAPI_SIZE(struct vfio_device_ioeventfd, 32);
UIOMMUFD_UAPI_OFFSET(struct vfio_device_ioeventfd, data, 16);
UIOMMUFD_UAPI_OFFSET(struct vfio_device_ioeventfd, fd, 24);
UIOMMUFD_UAPI_IOCTL(VFIO_DEVICE_IOEVENTFD, 0x3b, 0x74);

#endif
