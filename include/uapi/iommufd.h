/* SPDX-License-Identifier: MIT */
/*
 * uiommufd: our own description of the Linux iommufd ioctl ABI (/dev/iommu).
 *
 * Every number, struct layout and identifier here is chosen to be byte for
 * byte compatible with the kernel's include/uapi/linux/iommufd.h, so that a
 * program built against either header talks to either implementation.  The
 * text and comments are written for this project.
 *
 * Where the facts come from (newest superset of the mirrors we compared):
 *   - analogdevicesinc/linux @ 77674683853c (newest copy seen: AMD guest DTE,
 *     AMD hw_info, SMMUv3 hw_info flags, PCI_ATS_NOT_SUPPORTED capability and
 *     IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA)
 *   - torvalds/linux @ b4d90dbc4c1b (ends at IOMMUFD_CMD_HW_QUEUE_ALLOC; lacks
 *     the items listed above, otherwise the same layouts)
 *   - jgunthorpe/linux @ c568ecb8c3ef and torvalds/linux @ 03476e687eb0
 *     (older subsets, used only to confirm the unchanged parts)
 *
 * Only <linux/types.h> and <linux/ioctl.h> are needed.  The layout checks at
 * the bottom restate the kernel's sizes and offsets as literal numbers; they
 * were worked out from the kernel's field list, not from this file.
 */
#ifndef UIOMMUFD_UAPI_IOMMUFD_H
#define UIOMMUFD_UAPI_IOMMUFD_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* ioctl "magic" shared by every iommufd command (and by VFIO). */
#define IOMMUFD_TYPE (';')

/*
 * Conventions that hold for every command below:
 *
 * The argument is a pointer to a struct whose first __u32 is @size, the
 * number of bytes user space passes.  Bytes past what the kernel knows must
 * be zero; a shorter struct is accepted when it still covers the fields the
 * command needs.  Common errno meanings: ENOTTY unknown ioctl, E2BIG non-zero
 * unknown tail, EOPNOTSUPP a known field has an unsupported value, EINVAL a
 * field is wrong, ENOENT no such ID/IOVA, ENOMEM, EOVERFLOW arithmetic
 * overflow.
 */

/* Command numbers (the ioctl "nr" field). */
enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
	IOMMUFD_CMD_IOAS_COPY = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_OPTION = 0x87,
	IOMMUFD_CMD_VFIO_IOAS = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
	IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
	IOMMUFD_CMD_IOAS_MAP_FILE = 0x8f,
	IOMMUFD_CMD_VIOMMU_ALLOC = 0x90,
	IOMMUFD_CMD_VDEVICE_ALLOC = 0x91,
	IOMMUFD_CMD_IOAS_CHANGE_PROCESS = 0x92,
	IOMMUFD_CMD_VEVENTQ_ALLOC = 0x93,
	IOMMUFD_CMD_HW_QUEUE_ALLOC = 0x94,
	/*
	 * Newest kernels only (noiommu cdev support); absent from the
	 * torvalds/linux copy we compared.  Not one of the 21 core commands.
	 */
	IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA = 0x95,
};

/* ------------------------------------------------------------------------ */
/* Objects and IO address spaces                                            */
/* ------------------------------------------------------------------------ */

/**
 * struct iommu_destroy - argument of IOMMU_DESTROY
 * @size: bytes passed, sizeof(struct iommu_destroy)
 * @id: object to destroy; any destroyable object type
 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/**
 * struct iommu_ioas_alloc - argument of IOMMU_IOAS_ALLOC
 * @size: bytes passed, sizeof(struct iommu_ioas_alloc)
 * @flags: no flags defined, must be 0
 * @out_ioas_id: returns the ID of the new, empty IO address space
 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/**
 * struct iommu_iova_range - one closed interval of IOVA
 * @start: first IOVA in the interval
 * @last: last IOVA in the interval (inclusive)
 */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct iommu_ioas_iova_ranges - argument of IOMMU_IOAS_IOVA_RANGES
 * @size: bytes passed, sizeof(struct iommu_ioas_iova_ranges)
 * @ioas_id: IOAS to query
 * @num_iovas: in: capacity of @allowed_iovas; out: number of ranges that
 *             exist (EMSGSIZE when the capacity was too small)
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range that
 *                 receives the ranges currently usable for mapping
 * @out_iova_alignment: returns the alignment MAP/COPY need for IOVA and
 *                      length (1 means any; never above PAGE_SIZE)
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/**
 * struct iommu_ioas_allow_iovas - argument of IOMMU_IOAS_ALLOW_IOVAS
 * @size: bytes passed, sizeof(struct iommu_ioas_allow_iovas)
 * @ioas_id: IOAS whose allowed list is replaced
 * @num_iovas: number of entries in @allowed_iovas
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range that
 *                 must stay usable; later attaches may not narrow them and
 *                 automatic IOVA allocation stays inside them
 */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};
#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

/**
 * enum iommufd_ioas_map_flags - flags of IOAS_MAP, IOAS_MAP_FILE, IOAS_COPY
 * @IOMMU_IOAS_MAP_FIXED_IOVA: the caller's @iova is used as is; without it
 *                             the kernel picks a free IOVA and returns it
 * @IOMMU_IOAS_MAP_WRITEABLE: devices may write through the mapping
 * @IOMMU_IOAS_MAP_READABLE: devices may read through the mapping
 */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/**
 * struct iommu_ioas_map - argument of IOMMU_IOAS_MAP
 * @size: bytes passed, sizeof(struct iommu_ioas_map)
 * @flags: enum iommufd_ioas_map_flags
 * @ioas_id: IOAS that receives the mapping
 * @__reserved: must be 0
 * @user_va: start of the process memory to map
 * @length: number of bytes to map
 * @iova: in with FIXED_IOVA: where to map (range must be unused);
 *        otherwise out: where the kernel placed the mapping
 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/**
 * struct iommu_ioas_noiommu_get_pa - argument of IOMMU_IOAS_NOIOMMU_GET_PA
 * @size: bytes passed, sizeof(struct iommu_ioas_noiommu_get_pa)
 * @flags: no flags defined, must be 0
 * @ioas_id: IOAS to look the IOVA up in
 * @__reserved: must be 0
 * @iova: IOVA to translate; it must already be mapped
 * @length: in: largest span to look at (non-zero); out: bytes that are
 *          physically contiguous from @out_phys, never more than the input
 * @out_phys: returns the physical address behind @iova
 *
 * Newest kernels only, for noiommu devices doing unprotected DMA.
 */
struct iommu_ioas_noiommu_get_pa {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 out_phys;
};
#define IOMMU_IOAS_NOIOMMU_GET_PA \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA)

/**
 * struct iommu_ioas_map_file - argument of IOMMU_IOAS_MAP_FILE
 * @size: bytes passed, sizeof(struct iommu_ioas_map_file)
 * @flags: enum iommufd_ioas_map_flags, as for IOMMU_IOAS_MAP
 * @ioas_id: IOAS that receives the mapping
 * @fd: memfd (or a supported dma-buf) whose pages are mapped
 * @start: byte offset into the file where the mapping begins
 * @length: number of bytes to map
 * @iova: as for struct iommu_ioas_map
 */
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)

/**
 * struct iommu_ioas_copy - argument of IOMMU_IOAS_COPY
 * @size: bytes passed, sizeof(struct iommu_ioas_copy)
 * @flags: enum iommufd_ioas_map_flags for the new mapping
 * @dst_ioas_id: IOAS that receives the copy
 * @src_ioas_id: IOAS that already holds the pages
 * @length: bytes to copy; with @src_iova it must match an existing map
 * @dst_iova: as @iova of struct iommu_ioas_map, in @dst_ioas_id
 * @src_iova: start of the existing mapping in @src_ioas_id
 *
 * The new mapping shares the pinned pages of the source mapping.
 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};
#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/**
 * struct iommu_ioas_unmap - argument of IOMMU_IOAS_UNMAP
 * @size: bytes passed, sizeof(struct iommu_ioas_unmap)
 * @ioas_id: IOAS to remove mappings from
 * @iova: first IOVA to unmap
 * @length: in: bytes to unmap; out: bytes actually unmapped.  The range must
 *          cover whole mappings; iova 0 with length U64_MAX clears all.
 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

/**
 * enum iommufd_option - option IDs of IOMMU_OPTION
 * @IOMMU_OPTION_RLIMIT_MODE: global (object_id 0), privileged to set:
 *                            0 = charge pinned pages to the user (default),
 *                            1 = charge them to the process
 * @IOMMU_OPTION_HUGE_PAGES: per IOAS (object_id = IOAS ID): 1 = merge
 *                           contiguous pages into large IOPTEs (default),
 *                           0 = map everything at PAGE_SIZE
 */
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

/**
 * enum iommufd_option_ops - what IOMMU_OPTION does with the value
 * @IOMMU_OPTION_OP_SET: store @val64 into the option
 * @IOMMU_OPTION_OP_GET: read the option into @val64
 */
enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/**
 * struct iommu_option - argument of IOMMU_OPTION
 * @size: bytes passed, sizeof(struct iommu_option)
 * @option_id: enum iommufd_option
 * @op: enum iommufd_option_ops
 * @__reserved: must be 0
 * @object_id: object the option belongs to, 0 for global options
 * @val64: value to set, or the value read back
 */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};
#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

/**
 * enum iommufd_vfio_ioas_op - operations of IOMMU_VFIO_IOAS
 * @IOMMU_VFIO_IOAS_GET: return the IOAS used by the VFIO compatibility layer
 * @IOMMU_VFIO_IOAS_SET: make @ioas_id the compatibility IOAS
 * @IOMMU_VFIO_IOAS_CLEAR: forget the compatibility IOAS
 */
enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/**
 * struct iommu_vfio_ioas - argument of IOMMU_VFIO_IOAS
 * @size: bytes passed, sizeof(struct iommu_vfio_ioas)
 * @ioas_id: in for SET, out for GET
 * @op: enum iommufd_vfio_ioas_op
 * @__reserved: must be 0
 *
 * VFIO container ioctls carry no object ID, so one IOAS stands in for the
 * container.  SET and CLEAR never destroy an IOAS created automatically.
 */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};
#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

/* ------------------------------------------------------------------------ */
/* Hardware page tables                                                     */
/* ------------------------------------------------------------------------ */

/**
 * enum iommufd_hwpt_alloc_flags - flags of IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_ALLOC_NEST_PARENT: the HWPT may later be the stage-2 parent of
 *                                nested HWPTs
 * @IOMMU_HWPT_ALLOC_DIRTY_TRACKING: only devices whose IOMMU can track dirty
 *                                   IOPTEs may attach
 * @IOMMU_HWPT_FAULT_ID_VALID: @fault_id names a fault queue for the HWPT
 * @IOMMU_HWPT_ALLOC_PASID: the domain may be attached to PASIDs; the
 *                          device's non-PASID domain must carry it too
 *                          (EOPNOTSUPP without PASID hardware)
 */
enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
	IOMMU_HWPT_ALLOC_PASID = 1 << 3,
};

/**
 * enum iommu_hwpt_vtd_s1_flags - stage-1 attributes for Intel VT-d
 * @IOMMU_VTD_S1_SRE: supervisor requests allowed
 * @IOMMU_VTD_S1_EAFE: extended access flag enabled
 * @IOMMU_VTD_S1_WPE: write protect honoured
 */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

/**
 * struct iommu_hwpt_vtd_s1 - data for IOMMU_HWPT_DATA_VTD_S1
 * @flags: enum iommu_hwpt_vtd_s1_flags
 * @pgtbl_addr: guest address of the stage-1 page table root
 * @addr_width: input address width of that table
 * @__reserved: must be 0
 */
struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

/**
 * struct iommu_hwpt_arm_smmuv3 - data for IOMMU_HWPT_DATA_ARM_SMMUV3
 * @ste: first two 64-bit words of the guest's Stream Table Entry,
 *       little-endian.  Only V, Cfg, S1Fmt, S1ContextPtr, S1CDMax (word 0)
 *       and EATS, S1DSS, S1CIR, S1COR, S1CSH, S1STALLD (word 1) may be set;
 *       anything else gives EIO.
 */
struct iommu_hwpt_arm_smmuv3 {
	__aligned_le64 ste[2];
};

/**
 * struct iommu_hwpt_amd_guest - data for IOMMU_HWPT_DATA_AMD_GUEST
 * @dte: the guest's 256-bit Device Table Entry
 */
struct iommu_hwpt_amd_guest {
	__aligned_u64 dte[4];
};

/**
 * enum iommu_hwpt_data_type - layout of @data_uptr in IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_DATA_NONE: no driver data (kernel-managed page table)
 * @IOMMU_HWPT_DATA_VTD_S1: struct iommu_hwpt_vtd_s1
 * @IOMMU_HWPT_DATA_ARM_SMMUV3: struct iommu_hwpt_arm_smmuv3
 * @IOMMU_HWPT_DATA_AMD_GUEST: struct iommu_hwpt_amd_guest
 */
enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
	IOMMU_HWPT_DATA_ARM_SMMUV3 = 2,
	IOMMU_HWPT_DATA_AMD_GUEST = 3,
};

/**
 * struct iommu_hwpt_alloc - argument of IOMMU_HWPT_ALLOC
 * @size: bytes passed, sizeof(struct iommu_hwpt_alloc)
 * @flags: enum iommufd_hwpt_alloc_flags
 * @dev_id: device the page table is built for
 * @pt_id: IOAS (kernel-managed HWPT), or parent HWPT / vIOMMU (nested HWPT)
 * @out_hwpt_id: returns the new HWPT ID
 * @__reserved: must be 0
 * @data_type: enum iommu_hwpt_data_type; NONE for kernel-managed tables
 * @data_len: bytes of driver data at @data_uptr (0 for NONE)
 * @data_uptr: user pointer to the driver data (0 for NONE)
 * @fault_id: fault queue object, read only with IOMMU_HWPT_FAULT_ID_VALID
 * @__reserved2: pads to 8 bytes, must be 0
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};
#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

/* ------------------------------------------------------------------------ */
/* Hardware information                                                     */
/* ------------------------------------------------------------------------ */

/**
 * enum iommu_hw_info_vtd_flags - flags of struct iommu_hw_info_vtd
 * @IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: read-only mappings must not be
 *                                         used in a nesting parent
 *                                         (Intel erratum 772415)
 */
enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/**
 * struct iommu_hw_info_vtd - data for IOMMU_HW_INFO_TYPE_INTEL_VTD
 * @flags: enum iommu_hw_info_vtd_flags
 * @__reserved: must be 0
 * @cap_reg: raw VT-d Capability Register
 * @ecap_reg: raw VT-d Extended Capability Register
 */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

/**
 * enum iommu_hw_info_arm_smmuv3_flags - flags of iommu_hw_info_arm_smmuv3
 * @IOMMU_HW_INFO_ARM_SMMUV3_ERRATA_REPEAT_TLBI_CFGI: user space must send
 *     each TLBI/CFGI + SYNC invalidation twice (hardware erratum)
 */
enum iommu_hw_info_arm_smmuv3_flags {
	IOMMU_HW_INFO_ARM_SMMUV3_ERRATA_REPEAT_TLBI_CFGI = 1 << 0,
};

/**
 * struct iommu_hw_info_arm_smmuv3 - data for IOMMU_HW_INFO_TYPE_ARM_SMMUV3
 * @flags: enum iommu_hw_info_arm_smmuv3_flags
 * @__reserved: must be 0
 * @idr: raw SMMU_IDR0..SMMU_IDR5 (only documented fields are meaningful)
 * @iidr: raw SMMU_IIDR (implementer and revision)
 * @aidr: raw SMMU_AIDR (architecture version)
 */
struct iommu_hw_info_arm_smmuv3 {
	__u32 flags;
	__u32 __reserved;
	__u32 idr[6];
	__u32 iidr;
	__u32 aidr;
};

/**
 * struct iommu_hw_info_tegra241_cmdqv - data for
 *                                       IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV
 * @flags: must be 0
 * @version: CMDQ-V version, PARAM bits 3:0
 * @log2vcmdqs: log2 of the number of VCMDQs, PARAM bits 7:4
 * @log2vsids: log2 of the number of SID replacements, PARAM bits 15:12
 * @__reserved: must be 0
 */
struct iommu_hw_info_tegra241_cmdqv {
	__u32 flags;
	__u8 version;
	__u8 log2vcmdqs;
	__u8 log2vsids;
	__u8 __reserved;
};

/**
 * struct iommu_hw_info_amd - data for IOMMU_HW_INFO_TYPE_AMD
 * @efr: raw Extended Feature Register (MMIO 0x30)
 * @efr2: raw Extended Feature 2 Register (MMIO 0x1a0)
 */
struct iommu_hw_info_amd {
	__aligned_u64 efr;
	__aligned_u64 efr2;
};

/**
 * enum iommu_hw_info_type - kind of data IOMMU_GET_HW_INFO returns
 * @IOMMU_HW_INFO_TYPE_NONE: output: the driver reports no data
 * @IOMMU_HW_INFO_TYPE_DEFAULT: input: whatever the driver reports by default
 * @IOMMU_HW_INFO_TYPE_INTEL_VTD: struct iommu_hw_info_vtd
 * @IOMMU_HW_INFO_TYPE_ARM_SMMUV3: struct iommu_hw_info_arm_smmuv3
 * @IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV: struct iommu_hw_info_tegra241_cmdqv
 * @IOMMU_HW_INFO_TYPE_AMD: struct iommu_hw_info_amd
 */
enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_DEFAULT = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
	IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2,
	IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV = 3,
	IOMMU_HW_INFO_TYPE_AMD = 4,
};

/**
 * enum iommufd_hw_capabilities - bits of @out_capabilities
 * @IOMMU_HW_CAP_DIRTY_TRACKING: HWPT_SET_DIRTY_TRACKING and
 *                               HWPT_GET_DIRTY_BITMAP can be used
 * @IOMMU_HW_CAP_PCI_PASID_EXEC: PASID Execute permission supported
 *                               (ignore when out_max_pasid_log2 is 0)
 * @IOMMU_HW_CAP_PCI_PASID_PRIV: PASID Privileged mode supported
 *                               (ignore when out_max_pasid_log2 is 0)
 * @IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED: ATS cannot be used on this device;
 *                                      clear means it may be enabled
 */
enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
	IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED = 1 << 3,
};

/**
 * enum iommufd_hw_info_flags - flags of IOMMU_GET_HW_INFO
 * @IOMMU_HW_INFO_FLAG_INPUT_TYPE: @in_data_type asks for a specific type;
 *                                 without it the input is treated as DEFAULT
 */
enum iommufd_hw_info_flags {
	IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0,
};

/**
 * struct iommu_hw_info - argument of IOMMU_GET_HW_INFO
 * @size: bytes passed, sizeof(struct iommu_hw_info)
 * @flags: enum iommufd_hw_info_flags
 * @dev_id: bound device whose IOMMU is described
 * @data_len: in: size of the buffer at @data_uptr; out: size of the data
 *            the kernel has (the buffer tail past it is zeroed)
 * @data_uptr: user buffer that receives the type specific data
 * @in_data_type: with IOMMU_HW_INFO_FLAG_INPUT_TYPE, the type requested
 * @out_data_type: returns enum iommu_hw_info_type of the data written
 *                 (same storage as @in_data_type)
 * @out_max_pasid_log2: returns the PASID width, 0 for no PASID support
 * @__reserved: must be 0
 * @out_capabilities: returns enum iommufd_hw_capabilities bits
 */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	union {
		__u32 in_data_type;
		__u32 out_data_type;
	};
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};
#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

/* ------------------------------------------------------------------------ */
/* Dirty tracking                                                           */
/* ------------------------------------------------------------------------ */

/**
 * enum iommufd_hwpt_set_dirty_tracking_flags - flags of
 *                                              IOMMU_HWPT_SET_DIRTY_TRACKING
 * @IOMMU_HWPT_DIRTY_TRACKING_ENABLE: set turns tracking on, clear turns it off
 */
enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/**
 * struct iommu_hwpt_set_dirty_tracking - argument of
 *                                        IOMMU_HWPT_SET_DIRTY_TRACKING
 * @size: bytes passed, sizeof(struct iommu_hwpt_set_dirty_tracking)
 * @flags: enum iommufd_hwpt_set_dirty_tracking_flags
 * @hwpt_id: HWPT to switch
 * @__reserved: must be 0
 */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};
#define IOMMU_HWPT_SET_DIRTY_TRACKING \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

/**
 * enum iommufd_hwpt_get_dirty_bitmap_flags - flags of
 *                                            IOMMU_HWPT_GET_DIRTY_BITMAP
 * @IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR: report dirty bits but leave them
 *                                        set (e.g. right before an unmap)
 */
enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/**
 * struct iommu_hwpt_get_dirty_bitmap - argument of IOMMU_HWPT_GET_DIRTY_BITMAP
 * @size: bytes passed, sizeof(struct iommu_hwpt_get_dirty_bitmap)
 * @hwpt_id: HWPT to read
 * @flags: enum iommufd_hwpt_get_dirty_bitmap_flags
 * @__reserved: must be 0
 * @iova: IOVA described by bit 0 of the bitmap
 * @length: bytes of IOVA covered
 * @page_size: bytes of IOVA per bit
 * @data: user pointer to a __u64 bitmap; bit n (n = (addr - @iova) /
 *        @page_size, 64 per word) is set when that page was written
 */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};
#define IOMMU_HWPT_GET_DIRTY_BITMAP \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

/* ------------------------------------------------------------------------ */
/* Cache invalidation                                                       */
/* ------------------------------------------------------------------------ */

/**
 * enum iommu_hwpt_invalidate_data_type - layout of IOMMU_HWPT_INVALIDATE
 *                                        entries
 * @IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: struct iommu_hwpt_vtd_s1_invalidate
 *                                     (nested HWPT)
 * @IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3: struct
 *                                           iommu_viommu_arm_smmuv3_invalidate
 *                                           (vIOMMU)
 */
enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
	IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 = 1,
};

/**
 * enum iommu_hwpt_vtd_s1_invalidate_flags - flags of a VT-d entry
 * @IOMMU_VTD_INV_FLAGS_LEAF: only leaf PTE caches are affected, not the
 *                            paging-structure caches
 */
enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

/**
 * struct iommu_hwpt_vtd_s1_invalidate - one VT-d stage-1 invalidation
 * @addr: first address, 4 KiB aligned
 * @npages: number of 4 KiB pages (@addr 0 with U64_MAX means everything)
 * @flags: enum iommu_hwpt_vtd_s1_invalidate_flags
 * @__reserved: must be 0
 */
struct iommu_hwpt_vtd_s1_invalidate {
	__aligned_u64 addr;
	__aligned_u64 npages;
	__u32 flags;
	__u32 __reserved;
};

/**
 * struct iommu_viommu_arm_smmuv3_invalidate - one SMMUv3 invalidation
 * @cmd: a 128-bit CMDQ command, little-endian: TLBI_NSNH_ALL, TLBI_NH_VA,
 *       TLBI_NH_VAA, TLBI_NH_ALL, TLBI_NH_ASID, ATC_INV, CFGI_CD or
 *       CFGI_CD_ALL; anything else (or an unsupported field) gives EIO
 */
struct iommu_viommu_arm_smmuv3_invalidate {
	__aligned_le64 cmd[2];
};

/**
 * struct iommu_hwpt_invalidate - argument of IOMMU_HWPT_INVALIDATE
 * @size: bytes passed, sizeof(struct iommu_hwpt_invalidate)
 * @hwpt_id: nested HWPT or vIOMMU whose caches are flushed
 * @data_uptr: user pointer to an array of entries of @data_type
 * @data_type: enum iommu_hwpt_invalidate_data_type of every entry
 * @entry_len: bytes per entry
 * @entry_num: in: number of entries; out: number handled.  0 only probes
 *             whether @data_type is supported.
 * @__reserved: must be 0
 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};
#define IOMMU_HWPT_INVALIDATE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

/* ------------------------------------------------------------------------ */
/* I/O page faults                                                          */
/* ------------------------------------------------------------------------ */

/**
 * enum iommu_hwpt_pgfault_flags - flags of struct iommu_hwpt_pgfault
 * @IOMMU_PGFAULT_FLAGS_PASID_VALID: @pasid holds a PASID
 * @IOMMU_PGFAULT_FLAGS_LAST_PAGE: last fault of its group; answer it
 */
enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID = (1 << 0),
	IOMMU_PGFAULT_FLAGS_LAST_PAGE = (1 << 1),
};

/**
 * enum iommu_hwpt_pgfault_perm - access requested by a fault
 * @IOMMU_PGFAULT_PERM_READ: read access
 * @IOMMU_PGFAULT_PERM_WRITE: write access
 * @IOMMU_PGFAULT_PERM_EXEC: PASID prefix had Execute Requested set
 * @IOMMU_PGFAULT_PERM_PRIV: PASID prefix had Privileged Mode Requested set
 */
enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ = (1 << 0),
	IOMMU_PGFAULT_PERM_WRITE = (1 << 1),
	IOMMU_PGFAULT_PERM_EXEC = (1 << 2),
	IOMMU_PGFAULT_PERM_PRIV = (1 << 3),
};

/**
 * struct iommu_hwpt_pgfault - one record read from a fault queue fd
 * @flags: enum iommu_hwpt_pgfault_flags
 * @dev_id: device that faulted
 * @pasid: PASID of the request when PASID_VALID
 * @grpid: page request group index
 * @perm: enum iommu_hwpt_pgfault_perm
 * @__reserved: must be 0
 * @addr: faulting address
 * @length: hint of how many bytes the device expects to touch, 0 if unknown
 * @cookie: tag of the group; echo it in struct iommu_hwpt_page_response
 */
struct iommu_hwpt_pgfault {
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u32 __reserved;
	__aligned_u64 addr;
	__u32 length;
	__u32 cookie;
};

/**
 * enum iommufd_page_response_code - result written back for a fault group
 * @IOMMUFD_PAGE_RESP_SUCCESS: fault resolved, the device retries (PCI
 *                             "Success")
 * @IOMMUFD_PAGE_RESP_INVALID: fault not resolved, no retry (PCI "Invalid
 *                             Request")
 */
enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0,
	IOMMUFD_PAGE_RESP_INVALID = 1,
};

/**
 * struct iommu_hwpt_page_response - one record written to a fault queue fd
 * @cookie: cookie of the last fault of the group being answered
 * @code: enum iommufd_page_response_code
 */
struct iommu_hwpt_page_response {
	__u32 cookie;
	__u32 code;
};

/**
 * struct iommu_fault_alloc - argument of IOMMU_FAULT_QUEUE_ALLOC
 * @size: bytes passed, sizeof(struct iommu_fault_alloc)
 * @flags: no flags defined, must be 0
 * @out_fault_id: returns the fault queue object ID
 * @out_fault_fd: returns the fd to read faults from and write responses to
 */
struct iommu_fault_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_fault_id;
	__u32 out_fault_fd;
};
#define IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

/* ------------------------------------------------------------------------ */
/* Virtual IOMMUs and virtual devices                                       */
/* ------------------------------------------------------------------------ */

/**
 * enum iommu_viommu_type - kind of vIOMMU
 * @IOMMU_VIOMMU_TYPE_DEFAULT: reserved
 * @IOMMU_VIOMMU_TYPE_ARM_SMMUV3: ARM SMMUv3
 * @IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV: ARM SMMUv3 with the NVIDIA Tegra241
 *                                    CMDQV extension (VMM must present the
 *                                    VINTF with HYP_OWN = 0)
 */
enum iommu_viommu_type {
	IOMMU_VIOMMU_TYPE_DEFAULT = 0,
	IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 1,
	IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV = 2,
};

/**
 * struct iommu_viommu_tegra241_cmdqv - data for
 *                                      IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV
 * @out_vintf_mmap_offset: returns the mmap offset of the VINTF page 0
 * @out_vintf_mmap_length: returns the mmap length of the VINTF page 0
 */
struct iommu_viommu_tegra241_cmdqv {
	__aligned_u64 out_vintf_mmap_offset;
	__aligned_u64 out_vintf_mmap_length;
};

/**
 * struct iommu_viommu_alloc - argument of IOMMU_VIOMMU_ALLOC
 * @size: bytes passed, sizeof(struct iommu_viommu_alloc)
 * @flags: no flags defined, must be 0
 * @type: enum iommu_viommu_type
 * @dev_id: device whose physical IOMMU backs the vIOMMU
 * @hwpt_id: nesting parent HWPT the vIOMMU wraps
 * @out_viommu_id: returns the vIOMMU ID
 * @data_len: bytes of driver data at @data_uptr
 * @__reserved: must be 0
 * @data_uptr: user pointer to type specific data (in and out)
 */
struct iommu_viommu_alloc {
	__u32 size;
	__u32 flags;
	__u32 type;
	__u32 dev_id;
	__u32 hwpt_id;
	__u32 out_viommu_id;
	__u32 data_len;
	__u32 __reserved;
	__aligned_u64 data_uptr;
};
#define IOMMU_VIOMMU_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VIOMMU_ALLOC)

/**
 * struct iommu_vdevice_alloc - argument of IOMMU_VDEVICE_ALLOC
 * @size: bytes passed, sizeof(struct iommu_vdevice_alloc)
 * @viommu_id: vIOMMU the virtual device belongs to
 * @dev_id: physical device being virtualised
 * @out_vdevice_id: returns the vDEVICE ID (destroy it with IOMMU_DESTROY
 *                  before the physical device goes away)
 * @virt_id: the device's ID as the guest sees it (vSID, vDeviceID, vRID)
 */
struct iommu_vdevice_alloc {
	__u32 size;
	__u32 viommu_id;
	__u32 dev_id;
	__u32 out_vdevice_id;
	__aligned_u64 virt_id;
};
#define IOMMU_VDEVICE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VDEVICE_ALLOC)

/**
 * struct iommu_ioas_change_process - argument of IOMMU_IOAS_CHANGE_PROCESS
 * @size: bytes passed, sizeof(struct iommu_ioas_change_process)
 * @__reserved: must be 0
 *
 * Moves the pinned-page accounting of every mapping to the calling process.
 * Only IOMMU_IOAS_MAP_FILE mappings qualify (EINVAL otherwise); on failure
 * nothing changes.
 */
struct iommu_ioas_change_process {
	__u32 size;
	__u32 __reserved;
};
#define IOMMU_IOAS_CHANGE_PROCESS \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS)

/* ------------------------------------------------------------------------ */
/* Virtual event queues                                                     */
/* ------------------------------------------------------------------------ */

/**
 * enum iommu_veventq_flag - flags of struct iommufd_vevent_header
 * @IOMMU_VEVENTQ_FLAG_LOST_EVENTS: events were dropped; no payload follows
 */
enum iommu_veventq_flag {
	IOMMU_VEVENTQ_FLAG_LOST_EVENTS = (1U << 0),
};

/**
 * struct iommufd_vevent_header - header in front of every vEVENT
 * @flags: enum iommu_veventq_flag
 * @sequence: index of the event, counting 0..INT_MAX then wrapping to 0; a
 *            gap larger than 1 means events were lost
 */
struct iommufd_vevent_header {
	__u32 flags;
	__u32 sequence;
};

/**
 * enum iommu_veventq_type - kind of vEVENTQ
 * @IOMMU_VEVENTQ_TYPE_DEFAULT: reserved
 * @IOMMU_VEVENTQ_TYPE_ARM_SMMUV3: payload struct iommu_vevent_arm_smmuv3
 * @IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV: payload struct
 *                                     iommu_vevent_tegra241_cmdqv
 */
enum iommu_veventq_type {
	IOMMU_VEVENTQ_TYPE_DEFAULT = 0,
	IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 = 1,
	IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV = 2,
};

/**
 * struct iommu_vevent_arm_smmuv3 - SMMUv3 vEVENT payload
 * @evt: the 256-bit event record, little-endian, with the StreamID replaced
 *       by the vDEVICE's virtual ID
 */
struct iommu_vevent_arm_smmuv3 {
	__aligned_le64 evt[4];
};

/**
 * struct iommu_vevent_tegra241_cmdqv - Tegra241 CMDQV vEVENT payload
 * @lvcmdq_err_map: the VINTF's 128-bit LVCMDQ_ERR_MAP, little-endian
 */
struct iommu_vevent_tegra241_cmdqv {
	__aligned_le64 lvcmdq_err_map[2];
};

/**
 * struct iommu_veventq_alloc - argument of IOMMU_VEVENTQ_ALLOC
 * @size: bytes passed, sizeof(struct iommu_veventq_alloc)
 * @flags: no flags defined, must be 0
 * @viommu_id: vIOMMU the queue reports for (one queue per type)
 * @type: enum iommu_veventq_type
 * @veventq_depth: events kept before new ones are dropped
 * @out_veventq_id: returns the vEVENTQ ID
 * @out_veventq_fd: returns the fd to read events from (caller closes it)
 * @__reserved: must be 0
 */
struct iommu_veventq_alloc {
	__u32 size;
	__u32 flags;
	__u32 viommu_id;
	__u32 type;
	__u32 veventq_depth;
	__u32 out_veventq_id;
	__u32 out_veventq_fd;
	__u32 __reserved;
};
#define IOMMU_VEVENTQ_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VEVENTQ_ALLOC)

/* ------------------------------------------------------------------------ */
/* Hardware queues                                                          */
/* ------------------------------------------------------------------------ */

/**
 * enum iommu_hw_queue_type - kind of HW queue
 * @IOMMU_HW_QUEUE_TYPE_DEFAULT: reserved
 * @IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV: Tegra241 VCMDQ.  Indexes are
 *     allocated upwards from 0 and freed downwards; the queue memory must be
 *     mapped in the IOAS, a power of two between 32 bytes and
 *     2^IDR1.CMDQS * 16 bytes, and aligned to its length.
 */
enum iommu_hw_queue_type {
	IOMMU_HW_QUEUE_TYPE_DEFAULT = 0,
	IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV = 1,
};

/**
 * struct iommu_hw_queue_alloc - argument of IOMMU_HW_QUEUE_ALLOC
 * @size: bytes passed, sizeof(struct iommu_hw_queue_alloc)
 * @flags: no flags defined, must be 0
 * @viommu_id: vIOMMU that owns the queue
 * @type: enum iommu_hw_queue_type
 * @index: queue number within (@viommu_id, @type)
 * @out_hw_queue_id: returns the HW queue ID
 * @nesting_parent_iova: guest physical address of the queue memory
 * @length: bytes of queue memory
 */
struct iommu_hw_queue_alloc {
	__u32 size;
	__u32 flags;
	__u32 viommu_id;
	__u32 type;
	__u32 index;
	__u32 out_hw_queue_id;
	__aligned_u64 nesting_parent_iova;
	__aligned_u64 length;
};
#define IOMMU_HW_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HW_QUEUE_ALLOC)

/* ======================================================================== */
/* Static ABI checks                                                        */
/* ======================================================================== */

/*
 * Each number below is the kernel's, restated by hand: sizes and offsets on
 * every Linux ABI (all 64-bit members here are __aligned_u64 / __aligned_le64,
 * so 32- and 64-bit builds agree), and the ioctl type/nr of every command.
 */
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

/* Command numbers */
_Static_assert(IOMMUFD_CMD_BASE == 0x80, "ABI: IOMMUFD_CMD_BASE");
_Static_assert(IOMMUFD_CMD_DESTROY == 0x80, "ABI: CMD_DESTROY");
_Static_assert(IOMMUFD_CMD_IOAS_ALLOC == 0x81, "ABI: CMD_IOAS_ALLOC");
_Static_assert(IOMMUFD_CMD_IOAS_ALLOW_IOVAS == 0x82, "ABI: CMD_IOAS_ALLOW_IOVAS");
_Static_assert(IOMMUFD_CMD_IOAS_COPY == 0x83, "ABI: CMD_IOAS_COPY");
_Static_assert(IOMMUFD_CMD_IOAS_IOVA_RANGES == 0x84, "ABI: CMD_IOAS_IOVA_RANGES");
_Static_assert(IOMMUFD_CMD_IOAS_MAP == 0x85, "ABI: CMD_IOAS_MAP");
_Static_assert(IOMMUFD_CMD_IOAS_UNMAP == 0x86, "ABI: CMD_IOAS_UNMAP");
_Static_assert(IOMMUFD_CMD_OPTION == 0x87, "ABI: CMD_OPTION");
_Static_assert(IOMMUFD_CMD_VFIO_IOAS == 0x88, "ABI: CMD_VFIO_IOAS");
_Static_assert(IOMMUFD_CMD_HWPT_ALLOC == 0x89, "ABI: CMD_HWPT_ALLOC");
_Static_assert(IOMMUFD_CMD_GET_HW_INFO == 0x8a, "ABI: CMD_GET_HW_INFO");
_Static_assert(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING == 0x8b, "ABI: CMD_HWPT_SET_DIRTY_TRACKING");
_Static_assert(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP == 0x8c, "ABI: CMD_HWPT_GET_DIRTY_BITMAP");
_Static_assert(IOMMUFD_CMD_HWPT_INVALIDATE == 0x8d, "ABI: CMD_HWPT_INVALIDATE");
_Static_assert(IOMMUFD_CMD_FAULT_QUEUE_ALLOC == 0x8e, "ABI: CMD_FAULT_QUEUE_ALLOC");
_Static_assert(IOMMUFD_CMD_IOAS_MAP_FILE == 0x8f, "ABI: CMD_IOAS_MAP_FILE");
_Static_assert(IOMMUFD_CMD_VIOMMU_ALLOC == 0x90, "ABI: CMD_VIOMMU_ALLOC");
_Static_assert(IOMMUFD_CMD_VDEVICE_ALLOC == 0x91, "ABI: CMD_VDEVICE_ALLOC");
_Static_assert(IOMMUFD_CMD_IOAS_CHANGE_PROCESS == 0x92, "ABI: CMD_IOAS_CHANGE_PROCESS");
_Static_assert(IOMMUFD_CMD_VEVENTQ_ALLOC == 0x93, "ABI: CMD_VEVENTQ_ALLOC");
_Static_assert(IOMMUFD_CMD_HW_QUEUE_ALLOC == 0x94, "ABI: CMD_HW_QUEUE_ALLOC");
_Static_assert(IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA == 0x95, "ABI: CMD_IOAS_NOIOMMU_GET_PA");

/* ioctl request numbers: type ';' (0x3b), no direction, size 0 */
UIOMMUFD_UAPI_IOCTL(IOMMU_DESTROY, 0x3b, 0x80);
UIOMMUFD_UAPI_IOCTL(IOMMU_IOAS_ALLOC, 0x3b, 0x81);
UIOMMUFD_UAPI_IOCTL(IOMMU_IOAS_ALLOW_IOVAS, 0x3b, 0x82);
UIOMMUFD_UAPI_IOCTL(IOMMU_IOAS_COPY, 0x3b, 0x83);
UIOMMUFD_UAPI_IOCTL(IOMMU_IOAS_IOVA_RANGES, 0x3b, 0x84);
UIOMMUFD_UAPI_IOCTL(IOMMU_IOAS_MAP, 0x3b, 0x85);
UIOMMUFD_UAPI_IOCTL(IOMMU_IOAS_UNMAP, 0x3b, 0x86);
UIOMMUFD_UAPI_IOCTL(IOMMU_OPTION, 0x3b, 0x87);
UIOMMUFD_UAPI_IOCTL(IOMMU_VFIO_IOAS, 0x3b, 0x88);
UIOMMUFD_UAPI_IOCTL(IOMMU_HWPT_ALLOC, 0x3b, 0x89);
UIOMMUFD_UAPI_IOCTL(IOMMU_GET_HW_INFO, 0x3b, 0x8a);
UIOMMUFD_UAPI_IOCTL(IOMMU_HWPT_SET_DIRTY_TRACKING, 0x3b, 0x8b);
UIOMMUFD_UAPI_IOCTL(IOMMU_HWPT_GET_DIRTY_BITMAP, 0x3b, 0x8c);
UIOMMUFD_UAPI_IOCTL(IOMMU_HWPT_INVALIDATE, 0x3b, 0x8d);
UIOMMUFD_UAPI_IOCTL(IOMMU_FAULT_QUEUE_ALLOC, 0x3b, 0x8e);
UIOMMUFD_UAPI_IOCTL(IOMMU_IOAS_MAP_FILE, 0x3b, 0x8f);
UIOMMUFD_UAPI_IOCTL(IOMMU_VIOMMU_ALLOC, 0x3b, 0x90);
UIOMMUFD_UAPI_IOCTL(IOMMU_VDEVICE_ALLOC, 0x3b, 0x91);
UIOMMUFD_UAPI_IOCTL(IOMMU_IOAS_CHANGE_PROCESS, 0x3b, 0x92);
UIOMMUFD_UAPI_IOCTL(IOMMU_VEVENTQ_ALLOC, 0x3b, 0x93);
UIOMMUFD_UAPI_IOCTL(IOMMU_HW_QUEUE_ALLOC, 0x3b, 0x94);
UIOMMUFD_UAPI_IOCTL(IOMMU_IOAS_NOIOMMU_GET_PA, 0x3b, 0x95);

/* Enumerations and flag values */
_Static_assert(IOMMU_IOAS_MAP_FIXED_IOVA == 1 && IOMMU_IOAS_MAP_WRITEABLE == 2 &&
	       IOMMU_IOAS_MAP_READABLE == 4, "ABI: iommufd_ioas_map_flags");
_Static_assert(IOMMU_OPTION_RLIMIT_MODE == 0 && IOMMU_OPTION_HUGE_PAGES == 1,
	       "ABI: iommufd_option");
_Static_assert(IOMMU_OPTION_OP_SET == 0 && IOMMU_OPTION_OP_GET == 1,
	       "ABI: iommufd_option_ops");
_Static_assert(IOMMU_VFIO_IOAS_GET == 0 && IOMMU_VFIO_IOAS_SET == 1 &&
	       IOMMU_VFIO_IOAS_CLEAR == 2, "ABI: iommufd_vfio_ioas_op");
_Static_assert(IOMMU_HWPT_ALLOC_NEST_PARENT == 1 && IOMMU_HWPT_ALLOC_DIRTY_TRACKING == 2 &&
	       IOMMU_HWPT_FAULT_ID_VALID == 4 && IOMMU_HWPT_ALLOC_PASID == 8,
	       "ABI: iommufd_hwpt_alloc_flags");
_Static_assert(IOMMU_VTD_S1_SRE == 1 && IOMMU_VTD_S1_EAFE == 2 && IOMMU_VTD_S1_WPE == 4,
	       "ABI: iommu_hwpt_vtd_s1_flags");
_Static_assert(IOMMU_HWPT_DATA_NONE == 0 && IOMMU_HWPT_DATA_VTD_S1 == 1 &&
	       IOMMU_HWPT_DATA_ARM_SMMUV3 == 2 && IOMMU_HWPT_DATA_AMD_GUEST == 3,
	       "ABI: iommu_hwpt_data_type");
_Static_assert(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 == 1, "ABI: iommu_hw_info_vtd_flags");
_Static_assert(IOMMU_HW_INFO_ARM_SMMUV3_ERRATA_REPEAT_TLBI_CFGI == 1,
	       "ABI: iommu_hw_info_arm_smmuv3_flags");
_Static_assert(IOMMU_HW_INFO_TYPE_NONE == 0 && IOMMU_HW_INFO_TYPE_DEFAULT == 0 &&
	       IOMMU_HW_INFO_TYPE_INTEL_VTD == 1 && IOMMU_HW_INFO_TYPE_ARM_SMMUV3 == 2 &&
	       IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV == 3 && IOMMU_HW_INFO_TYPE_AMD == 4,
	       "ABI: iommu_hw_info_type");
_Static_assert(IOMMU_HW_CAP_DIRTY_TRACKING == 1 && IOMMU_HW_CAP_PCI_PASID_EXEC == 2 &&
	       IOMMU_HW_CAP_PCI_PASID_PRIV == 4 && IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED == 8,
	       "ABI: iommufd_hw_capabilities");
_Static_assert(IOMMU_HW_INFO_FLAG_INPUT_TYPE == 1, "ABI: iommufd_hw_info_flags");
_Static_assert(IOMMU_HWPT_DIRTY_TRACKING_ENABLE == 1,
	       "ABI: iommufd_hwpt_set_dirty_tracking_flags");
_Static_assert(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR == 1,
	       "ABI: iommufd_hwpt_get_dirty_bitmap_flags");
_Static_assert(IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 == 0 &&
	       IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 == 1,
	       "ABI: iommu_hwpt_invalidate_data_type");
_Static_assert(IOMMU_VTD_INV_FLAGS_LEAF == 1, "ABI: iommu_hwpt_vtd_s1_invalidate_flags");
_Static_assert(IOMMU_PGFAULT_FLAGS_PASID_VALID == 1 && IOMMU_PGFAULT_FLAGS_LAST_PAGE == 2,
	       "ABI: iommu_hwpt_pgfault_flags");
_Static_assert(IOMMU_PGFAULT_PERM_READ == 1 && IOMMU_PGFAULT_PERM_WRITE == 2 &&
	       IOMMU_PGFAULT_PERM_EXEC == 4 && IOMMU_PGFAULT_PERM_PRIV == 8,
	       "ABI: iommu_hwpt_pgfault_perm");
_Static_assert(IOMMUFD_PAGE_RESP_SUCCESS == 0 && IOMMUFD_PAGE_RESP_INVALID == 1,
	       "ABI: iommufd_page_response_code");
_Static_assert(IOMMU_VIOMMU_TYPE_DEFAULT == 0 && IOMMU_VIOMMU_TYPE_ARM_SMMUV3 == 1 &&
	       IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV == 2, "ABI: iommu_viommu_type");
_Static_assert(IOMMU_VEVENTQ_FLAG_LOST_EVENTS == 1, "ABI: iommu_veventq_flag");
_Static_assert(IOMMU_VEVENTQ_TYPE_DEFAULT == 0 && IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 == 1 &&
	       IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV == 2, "ABI: iommu_veventq_type");
_Static_assert(IOMMU_HW_QUEUE_TYPE_DEFAULT == 0 && IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV == 1,
	       "ABI: iommu_hw_queue_type");

/* struct iommu_destroy */
UIOMMUFD_UAPI_SIZE(struct iommu_destroy, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_destroy, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_destroy, id, 4);

/* struct iommu_ioas_alloc */
UIOMMUFD_UAPI_SIZE(struct iommu_ioas_alloc, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_alloc, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_alloc, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_alloc, out_ioas_id, 8);

/* struct iommu_iova_range */
UIOMMUFD_UAPI_SIZE(struct iommu_iova_range, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_iova_range, start, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_iova_range, last, 8);

/* struct iommu_ioas_iova_ranges */
UIOMMUFD_UAPI_SIZE(struct iommu_ioas_iova_ranges, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_iova_ranges, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_iova_ranges, ioas_id, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_iova_ranges, num_iovas, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_iova_ranges, __reserved, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_iova_ranges, allowed_iovas, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_iova_ranges, out_iova_alignment, 24);

/* struct iommu_ioas_allow_iovas */
UIOMMUFD_UAPI_SIZE(struct iommu_ioas_allow_iovas, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_allow_iovas, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_allow_iovas, ioas_id, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_allow_iovas, num_iovas, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_allow_iovas, __reserved, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_allow_iovas, allowed_iovas, 16);

/* struct iommu_ioas_map */
UIOMMUFD_UAPI_SIZE(struct iommu_ioas_map, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map, ioas_id, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map, __reserved, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map, user_va, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map, length, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map, iova, 32);

/* struct iommu_ioas_noiommu_get_pa */
UIOMMUFD_UAPI_SIZE(struct iommu_ioas_noiommu_get_pa, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_noiommu_get_pa, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_noiommu_get_pa, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_noiommu_get_pa, ioas_id, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_noiommu_get_pa, __reserved, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_noiommu_get_pa, iova, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_noiommu_get_pa, length, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_noiommu_get_pa, out_phys, 32);

/* struct iommu_ioas_map_file */
UIOMMUFD_UAPI_SIZE(struct iommu_ioas_map_file, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map_file, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map_file, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map_file, ioas_id, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map_file, fd, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map_file, start, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map_file, length, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_map_file, iova, 32);

/* struct iommu_ioas_copy */
UIOMMUFD_UAPI_SIZE(struct iommu_ioas_copy, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_copy, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_copy, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_copy, dst_ioas_id, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_copy, src_ioas_id, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_copy, length, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_copy, dst_iova, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_copy, src_iova, 32);

/* struct iommu_ioas_unmap */
UIOMMUFD_UAPI_SIZE(struct iommu_ioas_unmap, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_unmap, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_unmap, ioas_id, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_unmap, iova, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_unmap, length, 16);

/* struct iommu_option */
UIOMMUFD_UAPI_SIZE(struct iommu_option, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_option, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_option, option_id, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_option, op, 8);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_option, op, 2);
UIOMMUFD_UAPI_OFFSET(struct iommu_option, __reserved, 10);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_option, __reserved, 2);
UIOMMUFD_UAPI_OFFSET(struct iommu_option, object_id, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_option, val64, 16);

/* struct iommu_vfio_ioas */
UIOMMUFD_UAPI_SIZE(struct iommu_vfio_ioas, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_vfio_ioas, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_vfio_ioas, ioas_id, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_vfio_ioas, op, 8);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_vfio_ioas, op, 2);
UIOMMUFD_UAPI_OFFSET(struct iommu_vfio_ioas, __reserved, 10);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_vfio_ioas, __reserved, 2);

/* struct iommu_hwpt_vtd_s1 */
UIOMMUFD_UAPI_SIZE(struct iommu_hwpt_vtd_s1, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_vtd_s1, flags, 0);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_hwpt_vtd_s1, flags, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_vtd_s1, pgtbl_addr, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_vtd_s1, addr_width, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_vtd_s1, __reserved, 20);

/* struct iommu_hwpt_arm_smmuv3 */
UIOMMUFD_UAPI_SIZE(struct iommu_hwpt_arm_smmuv3, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_arm_smmuv3, ste, 0);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_hwpt_arm_smmuv3, ste, 16);

/* struct iommu_hwpt_amd_guest */
UIOMMUFD_UAPI_SIZE(struct iommu_hwpt_amd_guest, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_amd_guest, dte, 0);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_hwpt_amd_guest, dte, 32);

/* struct iommu_hwpt_alloc */
UIOMMUFD_UAPI_SIZE(struct iommu_hwpt_alloc, 48);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_alloc, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_alloc, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_alloc, dev_id, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_alloc, pt_id, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_alloc, out_hwpt_id, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_alloc, __reserved, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_alloc, data_type, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_alloc, data_len, 28);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_alloc, data_uptr, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_alloc, fault_id, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_alloc, __reserved2, 44);

/* struct iommu_hw_info_vtd */
UIOMMUFD_UAPI_SIZE(struct iommu_hw_info_vtd, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_vtd, flags, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_vtd, __reserved, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_vtd, cap_reg, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_vtd, ecap_reg, 16);

/* struct iommu_hw_info_arm_smmuv3 */
UIOMMUFD_UAPI_SIZE(struct iommu_hw_info_arm_smmuv3, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_arm_smmuv3, flags, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_arm_smmuv3, __reserved, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_arm_smmuv3, idr, 8);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_hw_info_arm_smmuv3, idr, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_arm_smmuv3, iidr, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_arm_smmuv3, aidr, 36);

/* struct iommu_hw_info_tegra241_cmdqv */
UIOMMUFD_UAPI_SIZE(struct iommu_hw_info_tegra241_cmdqv, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_tegra241_cmdqv, flags, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_tegra241_cmdqv, version, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_tegra241_cmdqv, log2vcmdqs, 5);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_tegra241_cmdqv, log2vsids, 6);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_tegra241_cmdqv, __reserved, 7);

/* struct iommu_hw_info_amd */
UIOMMUFD_UAPI_SIZE(struct iommu_hw_info_amd, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_amd, efr, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info_amd, efr2, 8);

/* struct iommu_hw_info */
UIOMMUFD_UAPI_SIZE(struct iommu_hw_info, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info, dev_id, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info, data_len, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info, data_uptr, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info, in_data_type, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info, out_data_type, 24);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_hw_info, out_data_type, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info, out_max_pasid_log2, 28);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info, __reserved, 29);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_hw_info, __reserved, 3);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_info, out_capabilities, 32);

/* struct iommu_hwpt_set_dirty_tracking */
UIOMMUFD_UAPI_SIZE(struct iommu_hwpt_set_dirty_tracking, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_set_dirty_tracking, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_set_dirty_tracking, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_set_dirty_tracking, hwpt_id, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_set_dirty_tracking, __reserved, 12);

/* struct iommu_hwpt_get_dirty_bitmap */
UIOMMUFD_UAPI_SIZE(struct iommu_hwpt_get_dirty_bitmap, 48);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, hwpt_id, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, flags, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, __reserved, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, iova, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, length, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, page_size, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, data, 40);

/* struct iommu_hwpt_vtd_s1_invalidate */
UIOMMUFD_UAPI_SIZE(struct iommu_hwpt_vtd_s1_invalidate, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_vtd_s1_invalidate, addr, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_vtd_s1_invalidate, npages, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_vtd_s1_invalidate, flags, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_vtd_s1_invalidate, __reserved, 20);

/* struct iommu_viommu_arm_smmuv3_invalidate */
UIOMMUFD_UAPI_SIZE(struct iommu_viommu_arm_smmuv3_invalidate, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_arm_smmuv3_invalidate, cmd, 0);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_viommu_arm_smmuv3_invalidate, cmd, 16);

/* struct iommu_hwpt_invalidate */
UIOMMUFD_UAPI_SIZE(struct iommu_hwpt_invalidate, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_invalidate, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_invalidate, hwpt_id, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_invalidate, data_uptr, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_invalidate, data_type, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_invalidate, entry_len, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_invalidate, entry_num, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_invalidate, __reserved, 28);

/* struct iommu_hwpt_pgfault */
UIOMMUFD_UAPI_SIZE(struct iommu_hwpt_pgfault, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_pgfault, flags, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_pgfault, dev_id, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_pgfault, pasid, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_pgfault, grpid, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_pgfault, perm, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_pgfault, __reserved, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_pgfault, addr, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_pgfault, length, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_pgfault, cookie, 36);

/* struct iommu_hwpt_page_response */
UIOMMUFD_UAPI_SIZE(struct iommu_hwpt_page_response, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_page_response, cookie, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hwpt_page_response, code, 4);

/* struct iommu_fault_alloc */
UIOMMUFD_UAPI_SIZE(struct iommu_fault_alloc, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_fault_alloc, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_fault_alloc, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_fault_alloc, out_fault_id, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_fault_alloc, out_fault_fd, 12);

/* struct iommu_viommu_tegra241_cmdqv */
UIOMMUFD_UAPI_SIZE(struct iommu_viommu_tegra241_cmdqv, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_tegra241_cmdqv, out_vintf_mmap_offset, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_tegra241_cmdqv, out_vintf_mmap_length, 8);

/* struct iommu_viommu_alloc */
UIOMMUFD_UAPI_SIZE(struct iommu_viommu_alloc, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_alloc, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_alloc, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_alloc, type, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_alloc, dev_id, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_alloc, hwpt_id, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_alloc, out_viommu_id, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_alloc, data_len, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_alloc, __reserved, 28);
UIOMMUFD_UAPI_OFFSET(struct iommu_viommu_alloc, data_uptr, 32);

/* struct iommu_vdevice_alloc */
UIOMMUFD_UAPI_SIZE(struct iommu_vdevice_alloc, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_vdevice_alloc, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_vdevice_alloc, viommu_id, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_vdevice_alloc, dev_id, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_vdevice_alloc, out_vdevice_id, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_vdevice_alloc, virt_id, 16);

/* struct iommu_ioas_change_process */
UIOMMUFD_UAPI_SIZE(struct iommu_ioas_change_process, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_change_process, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_ioas_change_process, __reserved, 4);

/* struct iommufd_vevent_header */
UIOMMUFD_UAPI_SIZE(struct iommufd_vevent_header, 8);
UIOMMUFD_UAPI_OFFSET(struct iommufd_vevent_header, flags, 0);
UIOMMUFD_UAPI_OFFSET(struct iommufd_vevent_header, sequence, 4);

/* struct iommu_vevent_arm_smmuv3 */
UIOMMUFD_UAPI_SIZE(struct iommu_vevent_arm_smmuv3, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_vevent_arm_smmuv3, evt, 0);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_vevent_arm_smmuv3, evt, 32);

/* struct iommu_vevent_tegra241_cmdqv */
UIOMMUFD_UAPI_SIZE(struct iommu_vevent_tegra241_cmdqv, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_vevent_tegra241_cmdqv, lvcmdq_err_map, 0);
UIOMMUFD_UAPI_FIELD_SIZE(struct iommu_vevent_tegra241_cmdqv, lvcmdq_err_map, 16);

/* struct iommu_veventq_alloc */
UIOMMUFD_UAPI_SIZE(struct iommu_veventq_alloc, 32);
UIOMMUFD_UAPI_OFFSET(struct iommu_veventq_alloc, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_veventq_alloc, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_veventq_alloc, viommu_id, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_veventq_alloc, type, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_veventq_alloc, veventq_depth, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_veventq_alloc, out_veventq_id, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_veventq_alloc, out_veventq_fd, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_veventq_alloc, __reserved, 28);

/* struct iommu_hw_queue_alloc */
UIOMMUFD_UAPI_SIZE(struct iommu_hw_queue_alloc, 40);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_queue_alloc, size, 0);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_queue_alloc, flags, 4);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_queue_alloc, viommu_id, 8);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_queue_alloc, type, 12);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_queue_alloc, index, 16);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_queue_alloc, out_hw_queue_id, 20);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_queue_alloc, nesting_parent_iova, 24);
UIOMMUFD_UAPI_OFFSET(struct iommu_hw_queue_alloc, length, 32);

#endif /* UIOMMUFD_UAPI_IOMMUFD_H */
