/* SPDX-License-Identifier: MIT */
/*
 * What the core files share: the context and its objects, the command a
 * handler is given, and the structs and entry points each core file offers
 * the others.  Names follow the kernel's vocabulary so the kernel's
 * documentation reads across; the code behind them is ours.
 *
 * Locking.  Each context has a single mutex, ctx->lock, taken around every
 * ioctl, mmap bookkeeping and close.  In the kernel many threads and drivers
 * reach one iommufd at once and need several finer locks; here everything
 * enters through an ioctl or a release, so one lock gives the same observable
 * atomicity and no ordering between locks to get wrong.  Reference counts
 * (users) are plain integers under it.  The one reader that runs without it
 * is device DMA (device.c), which peeks at the object table: main.c stores
 * into the table atomically and publishes objects with release ordering.
 * State shared between contexts (pins, accounting) is the host's to lock.
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
#include "core/slab.h"
#include "core/host.h"
#include "core/id_map.h"
#include "iommu/iommu.h"

/* ============================================================ small tools */

/*
 * An errno folded into a pointer: the top 4095 addresses are never valid,
 * so a pointer there is an error, as with the kernel's ERR_PTR().
 */
#define MAX_ERRNO 4095
static inline bool IS_ERR(const void *ptr)
{
	return (uintptr_t)ptr >= (uintptr_t)-MAX_ERRNO;
}
static inline long PTR_ERR(const void *ptr)
{
	return (long)ptr;
}
static inline void *ERR_PTR(long error)
{
	return (void *)error;
}

#define ARRAY_SIZE(arr) (sizeof(arr) / sizeof((arr)[0]))
#define container_of(member_ptr, outer, field) \
	((outer *)((char *)(member_ptr) - offsetof(outer, field)))
#define max_t(kind, x, y) ((kind)(x) > (kind)(y) ? (kind)(x) : (kind)(y))
#define min_t(kind, x, y) ((kind)(x) < (kind)(y) ? (kind)(x) : (kind)(y))
#define check_mul_overflow(x, y, res) __builtin_mul_overflow(x, y, res)
#define check_add_overflow(x, y, res) __builtin_add_overflow(x, y, res)

/* The kernel keeps IOVAs in unsigned long; we build for LP64 only. */
_Static_assert(sizeof(unsigned long) == 8, "uiommufd needs an LP64 target");

/* Set from the host when a context opens. */
extern size_t iommufd_page_size;
#define PAGE_SIZE ((unsigned long)iommufd_page_size)
/* Automatic IOVAs keep their source's alignment up to the THP size. */
#define HPAGE_SIZE (512 * PAGE_SIZE)

/* Access rights an area hands to the domains it is mapped into. */
#define IOMMU_MMIO (1 << 4)
#define IOMMU_CACHE (1 << 2)
#define IOMMU_WRITE (1 << 1)
#define IOMMU_READ (1 << 0)

/* Allocation a test can make fail; see iommufd_should_fail(). */
bool iommufd_should_fail(void);
void *iommufd_zalloc(size_t size);
void *iommufd_realloc_array(void *old, size_t count, size_t each);

/* Cap on the scratch memory pages.c batches in (IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT). */
#define IOMMUFD_TEMP_MEMORY_LIMIT_DEFAULT 65536
extern size_t iommufd_temp_memory_limit;

/* A line to the debug log; uiommufd_set_debug() turns ioctl tracing on. */
extern bool iommufd_debug;
void iommufd_log(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* =================================================== context and objects */

/* Kinds of objects; ANY matches every kind in a lookup. */
enum iommufd_object_type {
	IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_ANY = IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_ACCESS,
	IOMMUFD_OBJ_HWPT_PAGING,
	IOMMUFD_OBJ_HWPT_NESTED,
	IOMMUFD_OBJ_FAULT,
	IOMMUFD_OBJ_VIOMMU,
	IOMMUFD_OBJ_VDEVICE,
	IOMMUFD_OBJ_VEVENTQ,
	IOMMUFD_OBJ_HW_QUEUE,
	IOMMUFD_OBJ_SELFTEST,
	IOMMUFD_OBJ_MAX,
};

/*
 * The head of every object.  @users is the number of holders: 1 for the
 * table while the object is in it, plus one for each object that depends on
 * it, each mapping of a region it owns and each lookup not yet put back.
 * IOMMU_DESTROY only succeeds while the table is the sole holder.
 */
struct iommufd_object {
	uint32_t id;
	enum iommufd_object_type type;
	unsigned int users;
	/* On the running command's list of unsettled objects (main.c). */
	struct iommufd_object *fresh_next;
};

/* How pinned pages are charged to RLIMIT_MEMLOCK (the kernel's iopt_pages modes). */
enum iopt_account_mode {
	IOPT_PAGES_ACCOUNT_NONE = HOST_ACCOUNT_NONE,
	IOPT_PAGES_ACCOUNT_USER = HOST_ACCOUNT_USER,
	IOPT_PAGES_ACCOUNT_MM = HOST_ACCOUNT_MM,
};

struct iommufd_ioas;
struct iommufd_device;
struct iommufd_mmap;
struct iommufd_ucmd;

/* Unmapped areas kept back before they are unpinned and freed (io_pagetable.c). */
#define IOMMUFD_LATE_AREAS 8

struct iopt_area;

struct iommufd_ctx {
	struct uiommufd_host *host;
	pthread_mutex_t lock;	/* recursive: access callbacks come back in */
	unsigned int refs;	/* fds and dups of the file, and mappings of it */

	/* The object table by ID; main.c describes the slot markers. */
	void **objects;
	uint32_t nr_slots;
	uint32_t nr_objects;	/* slots in use, graves too: RLIMIT_MODE's EBUSY */
	struct id_map free_ids;	/* the free slots, for the lowest free ID */
	struct iommufd_ucmd *running;	/* the command being dispatched, or NULL */

	struct iommufd_ioas *vfio_ioas;	/* what VFIO type1 calls work on; holds nothing */
	bool opened_as_vfio;
	enum iopt_account_mode account_mode;
	bool no_iommu_mode;	/* a no-IOMMU group joined; no compat IOAS may exist */
	struct iommufd_mmap *mmaps;	/* file regions a program may mmap, by offset */
	/* Per-area bookkeeping of every IOAS here, used under @lock (slab.h). */
	struct slab_cache area_cache, pages_cache, node_cache, pair_cache, pin_node_cache;
	/*
	 * Areas out of their IOAS's index and out of its domains, unpinned
	 * and freed IOMMUFD_LATE_AREAS unmaps later (io_pagetable.c);
	 * @late_pinned counts those that still hold a pin, which every
	 * command but IOAS_MAP and IOAS_UNMAP first lets go.
	 */
	struct iopt_area *late[IOMMUFD_LATE_AREAS];
	bool late_pin[IOMMUFD_LATE_AREAS];
	unsigned int late_next, late_pinned;
	bool late_listed;		/* on the list iommufd_late_drain_all() walks */
	bool late_closed;		/* being released: never listed again */
	struct iommufd_ctx *late_list_next;
};

/*
 * Put @ictx (locked) on the list of contexts whose kept-back pins
 * iommufd_late_drain_all() lets go; false if that cannot be done now
 * without waiting, and then its unmaps keep no pin back.
 */
bool iommufd_late_list(struct iommufd_ctx *ictx);
/* Let every context's kept-back pins go; never with a context locked. */
void iommufd_late_drain_all(void);

/*
 * One ioctl being served.  The handler reads and edits @cmd, the argument
 * copied in at our size, and writes outputs back with iommufd_ucmd_respond().
 */
struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	void *cmd;
	uint64_t ubuffer;	/* where the caller's struct is */
	uint32_t user_size;	/* its size as the caller gave it */
	/* IDs reserved by this command and not yet published or aborted. */
	struct iommufd_object *fresh;
	struct iommufd_ucmd *outer;	/* the command this one runs inside, if any */
};

/* Write @len bytes of the command back, cut to what the caller has. */
int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t len);

/* What tearing down an object of a kind means; neither can fail. */
struct iommufd_object_ops {
	/* Undo a filled but unpublished object; destroy stands in when absent. */
	void (*abort)(struct iommufd_object *gone);
	/* Undo a published one. */
	void (*destroy)(struct iommufd_object *gone);
};
extern const struct iommufd_object_ops iommufd_object_ops[IOMMUFD_OBJ_MAX];

/*
 * Making an object: reserve an ID (the object is zeroed, invisible), fill
 * it, then publish it with iommufd_object_finalize() or give the ID back
 * with iommufd_object_abort() (nothing filled in) or
 * iommufd_object_abort_and_destroy() (runs the kind's abort).  Inside an
 * ioctl, whatever the handler leaves reserved is published on success and
 * aborted on failure by the dispatcher; the _ucmd spelling says a handler
 * relies on that.
 */
struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx, size_t bytes,
					     enum iommufd_object_type kind);
struct iommufd_object *_iommufd_object_alloc_ucmd(struct iommufd_ucmd *ucmd, size_t bytes,
						  enum iommufd_object_type kind);
#define iommufd_object_alloc(ctx_, var_, kind_) \
	((__typeof__(var_))_iommufd_object_alloc(ctx_, sizeof(*(var_)), kind_))
#define iommufd_object_alloc_ucmd(ucmd_, var_, kind_) \
	((__typeof__(var_))_iommufd_object_alloc_ucmd(ucmd_, sizeof(*(var_)), kind_))
void iommufd_object_finalize(struct iommufd_ctx *ictx, struct iommufd_object *fresh);
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *fresh);
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx, struct iommufd_object *fresh);

/* A published object of @kind at @id with one more holder, or ENOENT. */
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, uint32_t id,
					  enum iommufd_object_type kind);
static inline void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *held)
{
	(void)ictx;
	held->users--;
}

/*
 * Tearing down a published object from the core's side (its owner has
 * dropped its own hold).  The tombstone form keeps the ID out of use until
 * close.  put_and_try_destroy drops a hold and tears down if only the table
 * is left holding.
 */
void iommufd_object_destroy_user(struct iommufd_ctx *ictx, struct iommufd_object *victim);
void iommufd_object_tombstone_user(struct iommufd_ctx *ictx, struct iommufd_object *victim);
void iommufd_object_put_and_try_destroy(struct iommufd_ctx *ictx, struct iommufd_object *held);

/*
 * A part of the iommufd file a driver offers to mmap (a vIOMMU's MMIO
 * page): @length bytes of @file, seen at file offset @offset.  Every live
 * mapping holds @owner (destroy is EBUSY meanwhile) and the context, as a
 * VMA holds its file.
 */
struct iommufd_mmap {
	struct iommufd_mmap *next;
	struct iommufd_object *owner;
	struct host_file *file;
	uint64_t offset;
	size_t length;
};

int _iommufd_alloc_mmap(struct iommufd_ctx *ictx, struct iommufd_object *owner,
			struct host_file *backing, size_t bytes, uint64_t *at);
void _iommufd_destroy_mmap(struct iommufd_ctx *ictx, uint64_t at);

/* ================================================== the ioctl handlers */

/* main.c */
int iommufd_destroy(struct iommufd_ucmd *ucmd);
int iommufd_option(struct iommufd_ucmd *ucmd);
/* ioas.c */
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_change_process(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd);
int iommufd_ioas_option(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
/* vfio_compat.c */
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd);
/* hw_pagetable.c and device.c */
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd);
/* eventq.c */
int iommufd_fault_alloc(struct iommufd_ucmd *ucmd);
int iommufd_veventq_alloc(struct iommufd_ucmd *ucmd);
/* viommu.c */
int iommufd_hw_queue_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_vdevice_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_viommu_alloc_ioctl(struct iommufd_ucmd *ucmd);
/* selftest.c */
int iommufd_test(struct iommufd_ucmd *ucmd);

/* VFIO type1 container calls made on the iommufd (vfio_compat.c). */
int iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int number, uint64_t uarg);

/* ==================================================================== IOAS */

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx);
struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx, uint32_t ioas_id);
void iommufd_ioas_destroy(struct iommufd_object *obj);

/*
 * Memory an exporter (the selftest) hands out as a dma-buf fd.  An IOAS
 * mapping of it is MMIO: not charged, not reachable through an access.
 * Revoking it takes it out of every domain; new maps meanwhile are ENODEV.
 */
struct iommufd_dmabuf {
	struct host_file *file;
	size_t length;
	bool revoked;
};
extern const struct host_anon_ops iommufd_test_dmabuf_fops;

/* ============================================= HWPTs (hw_pagetable.c) */

struct iommufd_fault;

/* What every HWPT has, paging or nested. */
struct iommufd_hw_pagetable {
	struct iommufd_object obj;
	struct iommu_domain *domain;
	struct iommufd_fault *fault;	/* its page requests' queue, from FAULT_ID_VALID */
	bool pasid_compat;		/* made with IOMMU_HWPT_ALLOC_PASID */
};

/* A domain the core maps from an IOAS. */
struct iommufd_hwpt_paging {
	struct iommufd_hw_pagetable common;
	struct iommufd_ioas *ioas;
	struct iommufd_hwpt_paging *ioas_next;	/* next on its IOAS's list */
	bool nest_parent;
	bool enforce_cache_coherency;
	bool auto_domain;	/* attach made it; the last detach frees it */
	bool linked;		/* on the IOAS's list and in its set of domains */
};

/* A stage 1 the user runs, over a NEST_PARENT paging HWPT. */
struct iommufd_hwpt_nested {
	struct iommufd_hw_pagetable common;
	struct iommufd_hwpt_paging *parent;
	struct iommufd_viommu *viommu;	/* the vIOMMU it was made on, if any */
};

static inline struct iommufd_hwpt_paging *to_hwpt_paging(struct iommufd_hw_pagetable *base)
{
	return container_of(base, struct iommufd_hwpt_paging, common);
}

static inline struct iommufd_hwpt_nested *to_hwpt_nested(struct iommufd_hw_pagetable *base)
{
	return container_of(base, struct iommufd_hwpt_nested, common);
}

struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *on,
			  struct iommufd_device *for_dev, uint32_t alloc_flags, bool attach_now,
			  const struct iommu_user_data *driver_data);
void iommufd_hwpt_paging_abort(struct iommufd_object *obj);
void iommufd_hwpt_paging_destroy(struct iommufd_object *obj);
void iommufd_hwpt_nested_destroy(struct iommufd_object *obj);

/* ============================================ devices and accesses (device.c) */

struct iommufd_device {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct device *dev;
	struct iommufd_hw_pagetable *hwpt;	/* where the RID is attached, or NULL */
	struct iommufd_pasid_attach *pasids;	/* attachments by PASID, in no order */
	struct iommufd_vdevice *vdev;		/* its vDEVICE, or NULL */
	bool enforce_cache_coherency;
};

struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx, struct device *target,
					   uint32_t *out_id);
void iommufd_device_unbind(struct iommufd_device *idev);
struct iommufd_device *iommufd_get_device(struct iommufd_ctx *ictx, uint32_t dev_id);
int iommufd_device_attach(struct iommufd_device *idev, uint32_t pasid, uint32_t *io_pt);
int iommufd_device_replace(struct iommufd_device *idev, uint32_t pasid, uint32_t *io_pt);
void iommufd_device_detach(struct iommufd_device *idev, uint32_t pasid);
int iommufd_hw_pagetable_attach(struct iommufd_hw_pagetable *to, struct iommufd_device *idev);
/*
 * The HWPT @pasid of @idev is attached to (IOMMU_NO_PASID for the RID), or
 * NULL.  *@attach_handle is set to the attachment's identity, which the
 * page requests arriving through it carry (see iommufd_fault_report()).
 */
struct iommufd_hw_pagetable *iommufd_device_pasid_hwpt(struct iommufd_device *idev,
						       uint32_t pasid, void **attach_handle);

/* The callbacks the driver of an emulated device gives its access. */
struct iommufd_access_ops {
	/* Called for every unmap over the access's IOAS: drop pins in [iova, iova + length). */
	void (*unmap)(void *data, unsigned long iova, unsigned long length);
	bool needs_pin_pages;
};

struct iommufd_access {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	const struct iommufd_access_ops *ops;
	void *data;
	struct iommufd_ioas *ioas;
	unsigned long iova_alignment;
};

struct iommufd_access *iommufd_access_create(struct iommufd_ctx *ictx,
					     const struct iommufd_access_ops *callbacks,
					     void *cookie, uint32_t *out_id);
void iommufd_access_destroy(struct iommufd_access *access);
void iommufd_access_destroy_object(struct iommufd_object *obj);
int iommufd_access_attach(struct iommufd_access *access, uint32_t to_ioas);
int iommufd_access_replace(struct iommufd_access *access, uint32_t to_ioas);
void iommufd_access_detach(struct iommufd_access *access);
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long start,
			     unsigned long bytes, uint64_t *phys_out, unsigned int pin_flags);
void iommufd_access_unpin_pages(struct iommufd_access *access, unsigned long start,
				unsigned long bytes);
int iommufd_access_rw(struct iommufd_access *access, unsigned long start, void *buf,
		      size_t bytes, unsigned int rw_flags);
/*
 * iommufd_access_rw() between the IOVA range and the user buffer at @uptr
 * with no buffer between, when that gives the kernel's outcome (see
 * iopt_access_rw_user()); -EAGAIN: not done, bounce instead.  The caller
 * holds the lock of @held (a command running in it); an access of that
 * context is served under it, any other takes its own context's lock.
 */
int iommufd_access_rw_user(struct iommufd_access *access, struct iommufd_ctx *held,
			   unsigned long start, uint64_t uptr, size_t len, unsigned int rw_flags);

/* ============================== vIOMMUs, vDEVICEs, HW queues (viommu.c) */

/*
 * A vIOMMU is what a VM sees of one physical IOMMU instance.  It holds its
 * nesting parent HWPT, keeps the VM's device IDs (vDEVICEs) and owns its
 * vEVENTQs and HW queues.  The driver's struct begins with it and its size
 * comes from iommu_ops.get_viommu_size.  All of it changes under ctx->lock.
 */
struct iommufd_viommu;
struct iommufd_vdevice;
struct iommufd_veventq;
struct iommufd_hw_queue;

struct iommufd_viommu_ops {
	void (*destroy)(struct iommufd_viommu *viommu);
	/* Make a nested domain under this vIOMMU (@flags: IOMMU_HWPT_ALLOC_*). */
	struct iommu_domain *(*alloc_domain_nested)(struct iommufd_viommu *viommu, uint32_t flags,
						    const struct iommu_user_data *data);
	/* IOMMU_HWPT_INVALIDATE aimed at the vIOMMU; entry_num says how far it got. */
	int (*cache_invalidate)(struct iommufd_viommu *viommu,
				struct iommu_user_data_array *requests);
	/* Bytes of the driver's HW queue struct for @queue_type; 0: no such type. */
	size_t (*get_hw_queue_size)(struct iommufd_viommu *viommu, uint32_t queue_type);
	/* Bring up @hw_queue as number @slot over memory at physical @phys. */
	int (*hw_queue_init_phys)(struct iommufd_hw_queue *hw_queue, uint32_t slot,
				  uint64_t phys);
};

struct iommufd_viommu {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	uint32_t type;
	const struct iommufd_viommu_ops *ops;
	const struct iommu_ops *iommu_dev;	/* devices must sit behind this IOMMU */
	struct iommufd_hwpt_paging *hwpt;	/* stage 2, the nesting parent */
	struct iommufd_vdevice **vdevs;		/* in no order; keyed by virt_id */
	size_t nr_vdevs, max_vdevs;
	struct iommufd_veventq *veventqs;	/* eventq.c keeps this list */
};

/* The ID a VM knows a device by, inside one vIOMMU. */
struct iommufd_vdevice {
	struct iommufd_object obj;
	uint64_t virt_id;
	struct iommufd_viommu *viommu;	/* held */
	struct iommufd_device *idev;	/* NULL after the tombstone */
};

struct iommufd_hw_queue {
	struct iommufd_object obj;
	struct iommufd_viommu *viommu;	/* held */
	uint32_t type;
	uint64_t base_addr;	/* an IOVA of the nesting parent */
	uint64_t length;
	bool pinned;		/* its memory is pinned and its IOVA locked */
	void (*destroy)(struct iommufd_hw_queue *hw_queue);	/* the driver's teardown */
};

struct iommufd_viommu *iommufd_get_viommu(struct iommufd_ctx *ictx, uint32_t viommu_id);
void iommufd_viommu_destroy(struct iommufd_object *obj);
void iommufd_vdevice_destroy(struct iommufd_object *obj);
void iommufd_hw_queue_destroy(struct iommufd_object *obj);
/* The device known as @vid inside @viommu, or NULL. */
struct device *iommufd_viommu_find_dev(struct iommufd_viommu *viommu, uint64_t vid);
/* 0 and the ID @dev has inside @viommu, or -ENOENT when it has no vDEVICE there. */
int iommufd_viommu_get_vdev_id(struct iommufd_viommu *viommu, struct device *dev,
			       uint64_t *vid);
/* A region of @viommu for the program to mmap (struct iommufd_mmap). */
int iommufd_viommu_alloc_mmap(struct iommufd_viommu *viommu, struct host_file *backing,
			      size_t bytes, uint64_t *at);
void iommufd_viommu_destroy_mmap(struct iommufd_viommu *viommu, uint64_t at);

/* @user relies on @needed, which therefore cannot be destroyed before it. */
static inline void iommufd_hw_queue_depend(struct iommufd_hw_queue *user,
					   struct iommufd_hw_queue *needed)
{
	(void)user;
	needed->obj.users++;
}

static inline void iommufd_hw_queue_undepend(struct iommufd_hw_queue *user,
					     struct iommufd_hw_queue *needed)
{
	(void)user;
	needed->obj.users--;
}

/* ================================================== vEVENTQs (eventq.c) */

/*
 * Queue one event of @event_type (@bytes of @payload) on @viommu's vEVENTQ of
 * that type.  Under ctx->lock.  0; -EOPNOTSUPP when there is no such queue;
 * -ENOMEM.
 */
int iommufd_viommu_report_event(struct iommufd_viommu *viommu, uint32_t event_type,
				const void *payload, size_t bytes);
void iommufd_veventq_destroy(struct iommufd_object *obj);

/* ============================ the selftest's device (selftest.c, iommu/mock) */

void iommufd_selftest_destroy(struct iommufd_object *obj);
/*
 * The mock IOMMU as the driver of a device the caller owns (VFIO's emulated
 * PCI functions): @dev_flags are MOCK_FLAGS_DEVICE_*.  0 or -EINVAL/-ENOMEM.
 */
int iommufd_mock_dev_init(struct device *dev, struct uiommufd_host *host, uint32_t dev_flags);
void iommufd_mock_dev_uninit(struct device *dev);

/* ======================================= VFIO groups and no-IOMMU (vfio_compat.c) */

/*
 * What a group joining a context asks of it: the compat IOAS made if there
 * is none (EINVAL in no-IOMMU mode), or no-IOMMU mode (EINVAL once there
 * is a compat IOAS).  Under ctx->lock.
 */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx);
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx);
/* The compat IOAS's ID; -ENODEV when there is none. */
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, uint32_t *out_ioas_id);
/* Whether the process offers no-IOMMU VFIO devices (the module parameter). */
extern bool iommufd_vfio_noiommu_enabled;
/* ioas.c: IOMMU_IOAS_NOIOMMU_GET_PA */
int iommufd_ioas_noiommu_get_pa(struct iommufd_ucmd *ucmd);

#endif
