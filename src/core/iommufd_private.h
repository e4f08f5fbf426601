/* SPDX-License-Identifier: MIT */
/*
 * The core's internal structures: the context, the object table and the
 * ioctl command wrapper.  One header for every core file, as the kernel has
 * iommufd_private.h.
 *
 * Locking: one mutex per context, ctx->lock, is held across every ioctl
 * and across close.  The kernel needs its finer locks (the xarray lock, the
 * per-IOAS rwsems, pages->mutex) because any number of threads and kernel
 * drivers reach an iommufd concurrently; here every path into a context is
 * an ioctl or a release, so one lock gives the kernel's observable
 * atomicity with no lock ordering to get wrong.  Object reference counts
 * are plain integers under that lock.  The host has its own lock for state
 * shared by all contexts (pins, accounting).
 */
#ifndef UIOMMUFD_CORE_PRIVATE_H
#define UIOMMUFD_CORE_PRIVATE_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uiommufd.h"
#include "uapi/iommufd.h"
#include "core/host.h"
#include "iommu/iommu.h"

/* Pointers that carry an errno, as the kernel's ERR_PTR(). */
#define MAX_ERRNO 4095
static inline void *ERR_PTR(long err)
{
	return (void *)err;
}
static inline long PTR_ERR(const void *p)
{
	return (long)p;
}
static inline bool IS_ERR(const void *p)
{
	return (uintptr_t)p >= (uintptr_t)-MAX_ERRNO;
}

#define check_add_overflow(a, b, d) __builtin_add_overflow(a, b, d)
#define check_mul_overflow(a, b, d) __builtin_mul_overflow(a, b, d)
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b) ((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* IOVAs are unsigned long in the kernel; this project is LP64 only. */
_Static_assert(sizeof(unsigned long) == 8, "uiommufd needs an LP64 target");

/* The CPU page size, read from the host once. */
extern size_t iommufd_page_size;
#define PAGE_SIZE ((unsigned long)iommufd_page_size)
/* The THP size: automatic IOVAs keep the source alignment up to this. */
#define HPAGE_SIZE (512 * PAGE_SIZE)

/* IOMMU_READ etc, the prot bits areas carry to domains. */
#define IOMMU_READ (1 << 0)
#define IOMMU_WRITE (1 << 1)
#define IOMMU_CACHE (1 << 2)
#define IOMMU_MMIO (1 << 4)

enum iommufd_object_type {
	IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_ANY = IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_HWPT_PAGING,
	IOMMUFD_OBJ_HWPT_NESTED,
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_ACCESS,
	IOMMUFD_OBJ_FAULT,
	IOMMUFD_OBJ_VIOMMU,
	IOMMUFD_OBJ_VDEVICE,
	IOMMUFD_OBJ_VEVENTQ,
	IOMMUFD_OBJ_HW_QUEUE,
	IOMMUFD_OBJ_SELFTEST,
	IOMMUFD_OBJ_MAX,
};

/*
 * Every object starts with this.  @users counts the table's own reference
 * (1 while published) plus one per dependent object and per lookup in
 * progress; IOMMU_DESTROY succeeds only when the table's is the last one.
 */
struct iommufd_object {
	unsigned int users;
	enum iommufd_object_type type;
	uint32_t id;
};

/* The kernel's accounting modes for pages (enum iopt_pages_account_mode). */
enum iopt_account_mode {
	IOPT_PAGES_ACCOUNT_NONE = HOST_ACCOUNT_NONE,
	IOPT_PAGES_ACCOUNT_USER = HOST_ACCOUNT_USER,
	IOPT_PAGES_ACCOUNT_MM = HOST_ACCOUNT_MM,
};

struct iommufd_mmap;
struct iommufd_ioas;
struct iommufd_device;

struct iommufd_ctx {
	pthread_mutex_t lock;	/* recursive: access callbacks re-enter */
	unsigned int refs;	/* open file references: fds and dups */
	struct uiommufd_host *host;

	/* ID -> object; see the slot markers in main.c */
	void **objects;
	uint32_t nr_slots;
	uint32_t nr_objects;	/* published objects, for RLIMIT_MODE's EBUSY */

	enum iopt_account_mode account_mode;
	struct iommufd_ioas *vfio_ioas;	/* the VFIO compatibility IOAS */
	bool opened_as_vfio;
	struct iommufd_mmap *mmaps;	/* regions of the file a program may mmap */
};

/*
 * A region of the iommufd file that a driver lets the program mmap (a
 * vIOMMU's MMIO page): @length bytes of @file at file offset @offset.  Each
 * mapping holds a users reference on @owner, so it cannot be destroyed
 * while mapped (EBUSY), and a context reference, as a VMA holds its file.
 */
struct iommufd_mmap {
	struct iommufd_object *owner;
	struct host_file *file;
	uint64_t offset;
	size_t length;
	struct iommufd_mmap *next;
};

int _iommufd_alloc_mmap(struct iommufd_ctx *ictx, struct iommufd_object *owner,
			struct host_file *file, size_t length, uint64_t *offset);
void _iommufd_destroy_mmap(struct iommufd_ctx *ictx, uint64_t offset);

/* The state of one ioctl call, handed to its handler. */
struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	uint64_t ubuffer;	/* the user's argument */
	uint32_t user_size;	/* what the user said the struct's size is */
	void *cmd;		/* the kernel-sized copy of the argument */
	struct iommufd_object *new_obj; /* finalized or aborted by dispatch */
};

/* Copy the command back; only as much as both sides know. */
int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len);

/* Per-type destructors; destroy cannot fail. */
struct iommufd_object_ops {
	void (*destroy)(struct iommufd_object *obj);
	void (*abort)(struct iommufd_object *obj);
};
extern const struct iommufd_object_ops iommufd_object_ops[IOMMUFD_OBJ_MAX];

/* Two-phase creation: reserve an ID, fill, then finalize or abort. */
struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx, size_t size,
					     enum iommufd_object_type type);
#define iommufd_object_alloc(ictx, ptr, type)                                           \
	((__typeof__(ptr))_iommufd_object_alloc(ictx, sizeof(*(ptr)), type))
/* As above, and dispatch finalizes on success or aborts on failure. */
struct iommufd_object *_iommufd_object_alloc_ucmd(struct iommufd_ucmd *ucmd, size_t size,
						  enum iommufd_object_type type);
#define iommufd_object_alloc_ucmd(ucmd, ptr, type)                                      \
	((__typeof__(ptr))_iommufd_object_alloc_ucmd(ucmd, sizeof(*(ptr)), type))
void iommufd_object_finalize(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx, struct iommufd_object *obj);
/* Remove a published object now; its driver dropped its own reference. */
void iommufd_object_destroy_user(struct iommufd_ctx *ictx, struct iommufd_object *obj);
/* Drop a reference; destroy the object if only the table holds it now. */
/* Destroy @obj but keep its ID from reuse until close; later lookups fail. */
void iommufd_object_tombstone_user(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_put_and_try_destroy(struct iommufd_ctx *ictx, struct iommufd_object *obj);

struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, uint32_t id,
					  enum iommufd_object_type type);
static inline void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	(void)ictx;
	obj->users--;
}

/* Allocation that tests can make fail (see iommufd_should_fail()). */
void *iommufd_zalloc(size_t size);
void *iommufd_realloc_array(void *ptr, size_t nmemb, size_t size);
bool iommufd_should_fail(void);

/* The temporary-memory cap pages.c batches under (IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT). */
extern size_t iommufd_temp_memory_limit;
#define IOMMUFD_TEMP_MEMORY_LIMIT_DEFAULT 65536

/* Debug log, see uiommufd_set_debug(). */
void iommufd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool iommufd_debug;

/* ioctl handlers, one per file as the kernel splits them */
int iommufd_destroy(struct iommufd_ucmd *ucmd);
int iommufd_option(struct iommufd_ucmd *ucmd);
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
int iommufd_ioas_option(struct iommufd_ucmd *ucmd);
int iommufd_ioas_change_process(struct iommufd_ucmd *ucmd);
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd);
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd);
int iommufd_fault_alloc(struct iommufd_ucmd *ucmd);
int iommufd_viommu_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_vdevice_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_veventq_alloc(struct iommufd_ucmd *ucmd);
int iommufd_hw_queue_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_test(struct iommufd_ucmd *ucmd);

/* Hardware page tables (hw_pagetable.c) */
struct iommufd_fault;

struct iommufd_hw_pagetable {
	struct iommufd_object obj;
	struct iommu_domain *domain;
	struct iommufd_fault *fault;	/* page requests go here (FAULT_ID_VALID) */
	bool pasid_compat;		/* allocated with IOMMU_HWPT_ALLOC_PASID */
};

/* A user-managed stage 1 on a kernel-managed NEST_PARENT stage 2. */
struct iommufd_hwpt_nested {
	struct iommufd_hw_pagetable common;
	struct iommufd_hwpt_paging *parent;
	struct iommufd_viommu *viommu;	/* made on a vIOMMU, or NULL */
};

static inline struct iommufd_hwpt_nested *to_hwpt_nested(struct iommufd_hw_pagetable *hwpt)
{
	return container_of(hwpt, struct iommufd_hwpt_nested, common);
}

void iommufd_hwpt_nested_destroy(struct iommufd_object *obj);

struct iommufd_hwpt_paging {
	struct iommufd_hw_pagetable common;
	struct iommufd_ioas *ioas;
	struct iommufd_hwpt_paging *ioas_next;	/* the IOAS's list of HWPTs */
	bool auto_domain;		/* made by attach to an IOAS, freed with its last device */
	bool linked;			/* on the IOAS list and in its domain set */
	bool enforce_cache_coherency;
	bool nest_parent;
};

static inline struct iommufd_hwpt_paging *to_hwpt_paging(struct iommufd_hw_pagetable *hwpt)
{
	return container_of(hwpt, struct iommufd_hwpt_paging, common);
}

struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  struct iommufd_device *idev, uint32_t flags, bool immediate_attach,
			  const struct iommu_user_data *user_data);
void iommufd_hwpt_paging_destroy(struct iommufd_object *obj);
void iommufd_hwpt_paging_abort(struct iommufd_object *obj);

/* Devices and accesses (device.c) */
struct iommufd_device {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct device *dev;
	struct iommufd_hw_pagetable *hwpt;	/* the RID's attachment, or NULL */
	struct iommufd_vdevice *vdev;		/* its vDEVICE, or NULL */
	struct iommufd_pasid_attach *pasids;	/* PASID attachments, unsorted */
	bool enforce_cache_coherency;
};

struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx, struct device *dev,
					   uint32_t *id);
void iommufd_device_unbind(struct iommufd_device *idev);
int iommufd_device_attach(struct iommufd_device *idev, uint32_t pasid, uint32_t *pt_id);
int iommufd_device_replace(struct iommufd_device *idev, uint32_t pasid, uint32_t *pt_id);
void iommufd_device_detach(struct iommufd_device *idev, uint32_t pasid);
struct iommufd_device *iommufd_get_device(struct iommufd_ctx *ictx, uint32_t id);
int iommufd_hw_pagetable_attach(struct iommufd_hw_pagetable *hwpt,
				struct iommufd_device *idev);
/*
 * What @pasid of @idev is attached to (IOMMU_NO_PASID: the RID), or NULL;
 * *@attach_handle gets the attachment's identity, what page requests that
 * came through it carry (see iommufd_fault_report()).
 */
struct iommufd_hw_pagetable *iommufd_device_pasid_hwpt(struct iommufd_device *idev,
						       uint32_t pasid, void **attach_handle);

/* What a driver of an emulated device gives its access. */
struct iommufd_access_ops {
	bool needs_pin_pages;
	/* [iova, iova + length) is being unmapped: unpin everything there. */
	void (*unmap)(void *data, unsigned long iova, unsigned long length);
};

struct iommufd_access {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_ioas *ioas;
	const struct iommufd_access_ops *ops;
	void *data;
	unsigned long iova_alignment;
};

struct iommufd_access *iommufd_access_create(struct iommufd_ctx *ictx,
					     const struct iommufd_access_ops *ops, void *data,
					     uint32_t *id);
void iommufd_access_destroy(struct iommufd_access *access);
int iommufd_access_attach(struct iommufd_access *access, uint32_t ioas_id);
int iommufd_access_replace(struct iommufd_access *access, uint32_t ioas_id);
void iommufd_access_detach(struct iommufd_access *access);
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, uint64_t *out_pa, unsigned int flags);
void iommufd_access_unpin_pages(struct iommufd_access *access, unsigned long iova,
				unsigned long length);
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova, void *data,
		      size_t len, unsigned int flags);
void iommufd_access_destroy_object(struct iommufd_object *obj);

/*
 * A dma-buf: memory an exporter (the selftest) hands out as an fd.  IOAS
 * maps of it are MMIO, uncharged and cannot be read or written through an
 * access; a revoke pulls them out of every domain, and while revoked new
 * maps fail with ENODEV.
 */
struct iommufd_dmabuf {
	struct host_file *file;	/* the memory */
	size_t length;
	bool revoked;
};
extern const struct host_anon_ops iommufd_test_dmabuf_fops;

/*
 * vIOMMUs (viommu.c).  A vIOMMU stands for one physical IOMMU instance seen
 * by a VM: it holds its nesting parent HWPT (users reference), the table
 * from virtual device IDs to vDEVICEs, its vEVENTQs and HW queues.  The
 * driver embeds it first in a larger struct whose size it gives through
 * iommu_ops.get_viommu_size.  Everything here changes under ctx->lock.
 */
struct iommufd_viommu;
struct iommufd_vdevice;
struct iommufd_veventq;
struct iommufd_hw_queue;

struct iommufd_viommu_ops {
	void (*destroy)(struct iommufd_viommu *viommu);
	/* A nested domain on this vIOMMU; @flags are IOMMU_HWPT_ALLOC_*. */
	struct iommu_domain *(*alloc_domain_nested)(struct iommufd_viommu *viommu, uint32_t flags,
						    const struct iommu_user_data *user_data);
	/* IOMMU_HWPT_INVALIDATE on the vIOMMU; writes back entry_num handled. */
	int (*cache_invalidate)(struct iommufd_viommu *viommu,
				struct iommu_user_data_array *array);
	/* Size of the driver's HW queue struct for @type, 0 if unsupported. */
	size_t (*get_hw_queue_size)(struct iommufd_viommu *viommu, uint32_t type);
	/* Set up @hw_queue at @index, its memory at physical address @base_pa. */
	int (*hw_queue_init_phys)(struct iommufd_hw_queue *hw_queue, uint32_t index,
				  uint64_t base_pa);
};

struct iommufd_viommu {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	const struct iommu_ops *iommu_dev;	/* the physical IOMMU: devices must match */
	struct iommufd_hwpt_paging *hwpt;	/* the nesting parent (stage 2) */
	const struct iommufd_viommu_ops *ops;
	uint32_t type;
	struct iommufd_vdevice **vdevs;		/* by virt_id, unsorted */
	size_t nr_vdevs, max_vdevs;
	struct iommufd_veventq *veventqs;	/* eventq.c's list */
};

/* A device's ID inside a vIOMMU (what the VM calls it). */
struct iommufd_vdevice {
	struct iommufd_object obj;
	struct iommufd_viommu *viommu;	/* users reference */
	struct iommufd_device *idev;	/* NULL once tombstoned */
	uint64_t virt_id;
};

struct iommufd_hw_queue {
	struct iommufd_object obj;
	struct iommufd_viommu *viommu;	/* users reference */
	bool pinned;			/* its pages pinned and locked in the IOAS */
	uint32_t type;
	uint64_t base_addr;		/* nesting parent IOVA */
	uint64_t length;
	void (*destroy)(struct iommufd_hw_queue *hw_queue);	/* the driver's undo */
};

struct iommufd_viommu *iommufd_get_viommu(struct iommufd_ctx *ictx, uint32_t id);
/* The device at @virt_id of @viommu, or NULL. */
struct device *iommufd_viommu_find_dev(struct iommufd_viommu *viommu, uint64_t virt_id);
/* The virtual ID @dev has in @viommu: 0, or -ENOENT without a vDEVICE. */
int iommufd_viommu_get_vdev_id(struct iommufd_viommu *viommu, struct device *dev,
			       uint64_t *virt_id);
void iommufd_viommu_destroy(struct iommufd_object *obj);
void iommufd_vdevice_destroy(struct iommufd_object *obj);
void iommufd_hw_queue_destroy(struct iommufd_object *obj);
/* A region of @viommu the program may mmap; see struct iommufd_mmap. */
int iommufd_viommu_alloc_mmap(struct iommufd_viommu *viommu, struct host_file *file,
			      size_t length, uint64_t *offset);
void iommufd_viommu_destroy_mmap(struct iommufd_viommu *viommu, uint64_t offset);
/* @hw_queue needs @depended: the latter cannot be destroyed first. */
static inline void iommufd_hw_queue_depend(struct iommufd_hw_queue *hw_queue,
					   struct iommufd_hw_queue *depended)
{
	(void)hw_queue;
	depended->obj.users++;
}

static inline void iommufd_hw_queue_undepend(struct iommufd_hw_queue *hw_queue,
					     struct iommufd_hw_queue *depended)
{
	(void)hw_queue;
	depended->obj.users--;
}

/*
 * vEVENTQs (eventq.c).  Report one event of @type with @len bytes of @data
 * to @viommu's queue of that type, as iommufd_viommu_report_event() does.
 * Called with ctx->lock held.  0, -EOPNOTSUPP without such a queue, -ENOMEM.
 */
int iommufd_viommu_report_event(struct iommufd_viommu *viommu, uint32_t type, const void *data,
				size_t len);
void iommufd_veventq_destroy(struct iommufd_object *obj);

/* The selftest's mock device object (selftest.c) */
void iommufd_selftest_destroy(struct iommufd_object *obj);

/* VFIO type1 container ioctls on the iommufd (vfio_compat.c) */
int iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd, uint64_t arg);

/* Objects of the IOAS (ioas.c) */
struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx, uint32_t id);
struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx);
void iommufd_ioas_destroy(struct iommufd_object *obj);

#endif
