/* SPDX-License-Identifier: MIT */
/*
 * uiommufd: the VFIO group-fd calls and the device-cdev calls of the
 * kernel's include/uapi/linux/vfio.h (the container and type1 calls are in
 * vfio.h, the vfio-pci device calls in vfio_device.h).  Byte compatible
 * with the kernel's layouts and numbers; the text is our own.  The cdev
 * numbers (VFIO_BASE + 18..20) are those mainline settled on in 6.6.
 */
#ifndef UIOMMUFD_UAPI_VFIO_GROUP_H
#define UIOMMUFD_UAPI_VFIO_GROUP_H

#include "vfio.h"

/* ---- group fd (/dev/vfio/N) ------------------------------------------- */

/**
 * struct vfio_group_status - argument of VFIO_GROUP_GET_STATUS
 * @argsz: bytes provided (at least 8)
 * @flags: VFIO_GROUP_FLAGS_* returned
 */
struct vfio_group_status {
	__u32 argsz;
	__u32 flags;
#define VFIO_GROUP_FLAGS_VIABLE (1 << 0)	 /* every member may be used */
#define VFIO_GROUP_FLAGS_CONTAINER_SET (1 << 1) /* a container or iommufd is set */
};
#define VFIO_GROUP_GET_STATUS _IO(VFIO_TYPE, VFIO_BASE + 3)
/* Argument: pointer to the __s32 fd of a container or iommufd. */
#define VFIO_GROUP_SET_CONTAINER _IO(VFIO_TYPE, VFIO_BASE + 4)
/* No argument. */
#define VFIO_GROUP_UNSET_CONTAINER _IO(VFIO_TYPE, VFIO_BASE + 5)
/* Argument: the device's name, a NUL-terminated string; returns an fd. */
#define VFIO_GROUP_GET_DEVICE_FD _IO(VFIO_TYPE, VFIO_BASE + 6)

/* ---- device cdev (/dev/vfio/devices/vfioX) ------------------------------ */

/**
 * struct vfio_device_bind_iommufd - argument of VFIO_DEVICE_BIND_IOMMUFD
 * @argsz: bytes provided (at least 16)
 * @flags: 0 or VFIO_DEVICE_BIND_FLAG_TOKEN
 * @iommufd: the iommufd to bind the device into
 * @out_devid: returns the device's object ID in that iommufd
 * @token_uuid_ptr: with VFIO_DEVICE_BIND_FLAG_TOKEN, the address of a
 *	16-byte VF token (a UUID); ignored without it
 */
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_BIND_FLAG_TOKEN (1 << 0)
	__s32 iommufd;
	__u32 out_devid;
	__aligned_u64 token_uuid_ptr;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)

/**
 * struct vfio_device_attach_iommufd_pt - argument of VFIO_DEVICE_ATTACH_IOMMUFD_PT
 * @argsz: bytes provided (12, or 16 with VFIO_DEVICE_ATTACH_PASID)
 * @flags: 0 or VFIO_DEVICE_ATTACH_PASID
 * @pt_id: in: an IOAS or HWPT ID; out: the HWPT attached
 * @pasid: with VFIO_DEVICE_ATTACH_PASID, the PASID to attach
 */
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_ATTACH_PASID (1 << 0)
	__u32 pt_id;
	__u32 pasid;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)

/**
 * struct vfio_device_detach_iommufd_pt - argument of VFIO_DEVICE_DETACH_IOMMUFD_PT
 * @argsz: bytes provided (8, or 12 with VFIO_DEVICE_DETACH_PASID)
 * @flags: 0 or VFIO_DEVICE_DETACH_PASID
 * @pasid: with VFIO_DEVICE_DETACH_PASID, the PASID to detach
 */
struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_DETACH_PASID (1 << 0)
	__u32 pasid;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)

_Static_assert(sizeof(struct vfio_group_status) == 8, "ABI: vfio_group_status");
_Static_assert(sizeof(struct vfio_device_bind_iommufd) == 24 &&
	       offsetof(struct vfio_device_bind_iommufd, token_uuid_ptr) == 16, "ABI: bind_iommufd");
_Static_assert(sizeof(struct vfio_device_attach_iommufd_pt) == 16, "ABI: attach_iommufd_pt");
_Static_assert(sizeof(struct vfio_device_detach_iommufd_pt) == 12, "ABI: detach_iommufd_pt");
_Static_assert(VFIO_GROUP_GET_STATUS == 0x3b67 && VFIO_GROUP_GET_DEVICE_FD == 0x3b6a &&
	       VFIO_DEVICE_BIND_IOMMUFD == 0x3b76 && VFIO_DEVICE_DETACH_IOMMUFD_PT == 0x3b78,
	       "ABI: group and cdev ioctl numbers");

#endif
