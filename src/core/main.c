// SPDX-License-Identifier: MIT
/*
 * The context, its object table and ioctl dispatch.
 *
 * Object IDs behave as the kernel's xarray with ALLOC1 does: they start at
 * 1, the lowest free ID is handed out, and a destroyed ID is reused.  A slot
 * is in one of four states: free (NULL), reserved for an object that is being
 * built and is not visible yet (SLOT_RESERVED), a tombstone that keeps an ID
 * from being reused until close (SLOT_TOMBSTONE), or a published object.
 * Lookups see only published objects.
 *
 * Creation has two phases: reserve an ID and fill the object, then
 * finalize (publish) or abort (release the ID, undo, free).  Everything that
 * can fail happens before finalize.  IOMMU_DESTROY removes an object only
 * if nothing but the table holds it (EBUSY otherwise, nothing changed).
 * Closing the last reference destroys objects leaf first: an object whose
 * only user is the table goes, which frees its hold on its parents, and so
 * on until the table is empty.
 *
 * Dispatch follows the kernel's rules for extensible structs: the leading
 * u32 is the user's idea of the size; below the command's minimum is
 * EINVAL; a short struct is zero extended; bytes beyond what we know must be
 * zero, else E2BIG; an unknown command is ENOTTY.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/ioctl.h>

#include "core/iommufd_private.h"
#include "core/io_pagetable.h"
#include "core/ioas.h"
#include "core/eventq.h"
#include "uapi/iommufd_test.h"

#define SLOT_RESERVED ((void *)1)
#define SLOT_TOMBSTONE ((void *)2)
#define OBJ_ID_LIMIT 0x7fffffffu	/* 31-bit IDs, as the kernel's */

size_t iommufd_page_size = 4096;
size_t iommufd_temp_memory_limit = IOMMUFD_TEMP_MEMORY_LIMIT_DEFAULT;
bool iommufd_debug;

static bool slot_is_object(const void *slot)
{
	return slot && slot != SLOT_RESERVED && slot != SLOT_TOMBSTONE;
}

/* Fault injection hook: always false until a test arms it. */
bool iommufd_should_fail(void)
{
	return false;
}

void *iommufd_zalloc(size_t size)
{
	if (iommufd_should_fail())
		return NULL;
	return calloc(1, size);
}

void *iommufd_realloc_array(void *ptr, size_t nmemb, size_t size)
{
	size_t bytes;

	if (iommufd_should_fail() || check_mul_overflow(nmemb, size, &bytes))
		return NULL;
	return realloc(ptr, bytes ? bytes : 1);
}

static FILE *log_file(void)
{
	static FILE *f;
	const char *path;

	if (f)
		return f;
	path = getenv("UIOMMUFD_LOG");
	if (path && *path)
		f = fopen(path, "ae");
	if (!f)
		f = stderr;
	return f;
}

void iommufd_log(const char *fmt, ...)
{
	FILE *f = log_file();
	va_list ap;

	va_start(ap, fmt);
	flockfile(f);
	fprintf(f, "uiommufd[%d]: ", (int)getpid());
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	funlockfile(f);
	va_end(ap);
}

bool uiommufd_debug_enabled(void)
{
	return iommufd_debug;
}

void uiommufd_set_debug(bool on)
{
	iommufd_debug = on;
}

/* Find the lowest free ID and mark it reserved. */
static int object_table_reserve(struct iommufd_ctx *ictx, uint32_t *out_id)
{
	uint32_t id;

	for (id = 1; id < ictx->nr_slots; id++)
		if (!ictx->objects[id])
			goto found;

	if (ictx->nr_slots > OBJ_ID_LIMIT)
		return -ENOSPC;
	{
		uint32_t new_nr = ictx->nr_slots ? ictx->nr_slots * 2 : 16;
		void **grown;

		if (new_nr > OBJ_ID_LIMIT + 1)
			new_nr = OBJ_ID_LIMIT + 1;
		/* Lock-free DMA reads the table: keep it still while it moves. */
		iommu_dma_gate_begin();
		grown = iommufd_realloc_array(ictx->objects, new_nr, sizeof(*grown));
		if (!grown) {
			iommu_dma_gate_end();
			return -ENOMEM;
		}
		memset(grown + ictx->nr_slots, 0, (new_nr - ictx->nr_slots) * sizeof(*grown));
		id = ictx->nr_slots ? ictx->nr_slots : 1;
		ictx->objects = grown;
		ictx->nr_slots = new_nr;
		iommu_dma_gate_end();
	}
found:
	ictx->objects[id] = SLOT_RESERVED;
	ictx->nr_objects++;
	*out_id = id;
	return 0;
}

static void object_table_release(struct iommufd_ctx *ictx, uint32_t id)
{
	ictx->objects[id] = NULL;
	ictx->nr_objects--;
}

struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx, size_t size,
					     enum iommufd_object_type type)
{
	struct iommufd_object *obj;
	int rc;

	obj = iommufd_zalloc(size);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->type = type;
	/* The table's reference, dropped by destroy. */
	obj->users = 1;
	rc = object_table_reserve(ictx, &obj->id);
	if (rc)
		goto err_free;
	return obj;

err_free:
	free(obj);
	return ERR_PTR(rc);
}

struct iommufd_object *_iommufd_object_alloc_ucmd(struct iommufd_ucmd *ucmd, size_t size,
						  enum iommufd_object_type type)
{
	struct iommufd_object *obj;

	/* One automatic object per command; a second is a core bug. */
	if (ucmd->new_obj)
		return ERR_PTR(-EBUSY);
	obj = _iommufd_object_alloc(ucmd->ictx, size, type);
	if (!IS_ERR(obj))
		ucmd->new_obj = obj;
	return obj;
}

void iommufd_object_finalize(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	ictx->objects[obj->id] = obj;
}

/* Undo a reservation for an object whose fill did not start or was undone. */
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	object_table_release(ictx, obj->id);
	free(obj);
}

/* Undo a reservation for a filled object: run its abort or destroy first. */
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	const struct iommufd_object_ops *ops = &iommufd_object_ops[obj->type];

	if (ops->abort)
		ops->abort(obj);
	else if (ops->destroy)
		ops->destroy(obj);
	iommufd_object_abort(ictx, obj);
}

struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, uint32_t id,
					  enum iommufd_object_type type)
{
	struct iommufd_object *obj;

	if (id >= ictx->nr_slots || !slot_is_object(ictx->objects[id]))
		return ERR_PTR(-ENOENT);
	obj = ictx->objects[id];
	if (type != IOMMUFD_OBJ_ANY && obj->type != type)
		return ERR_PTR(-ENOENT);
	obj->users++;
	return obj;
}

static void object_destroy(struct iommufd_ctx *ictx, struct iommufd_object *obj, bool tombstone)
{
	/* The compat IOAS is a weak pointer: it goes with its object. */
	if (ictx->vfio_ioas && &ictx->vfio_ioas->obj == obj)
		ictx->vfio_ioas = NULL;
	iommu_dma_gate_begin();
	object_table_release(ictx, obj->id);
	if (tombstone)
		ictx->objects[obj->id] = SLOT_TOMBSTONE;
	if (iommufd_object_ops[obj->type].destroy)
		iommufd_object_ops[obj->type].destroy(obj);
	free(obj);
	iommu_dma_gate_end();
}

void iommufd_object_destroy_user(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	if (obj->id < ictx->nr_slots && ictx->objects[obj->id] == obj)
		object_destroy(ictx, obj, false);
}

void iommufd_object_tombstone_user(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	if (obj->id < ictx->nr_slots && ictx->objects[obj->id] == obj)
		object_destroy(ictx, obj, true);
}

void iommufd_object_put_and_try_destroy(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	obj->users--;
	if (obj->users == 1)
		iommufd_object_destroy_user(ictx, obj);
}

/* IOMMU_DESTROY: only an object nothing else holds can go. */
int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_object *obj;

	if (cmd->id >= ictx->nr_slots || !slot_is_object(ictx->objects[cmd->id]))
		return -ENOENT;
	obj = ictx->objects[cmd->id];
	if (obj->users != 1)
		return -EBUSY;
	object_destroy(ictx, obj, false);
	return 0;
}

int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len)
{
	size_t len = min_t(size_t, ucmd->user_size, cmd_len);

	return copy_to_user(ucmd->ictx->host, ucmd->ubuffer, ucmd->cmd, len);
}

static int iommufd_option_rlimit_mode(struct iommu_option *cmd, struct iommufd_ctx *ictx)
{
	if (cmd->object_id)
		return -EOPNOTSUPP;

	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = ictx->account_mode == IOPT_PAGES_ACCOUNT_MM;
		return 0;
	}
	if (cmd->op == IOMMU_OPTION_OP_SET) {
		if (!ictx->host->ops->capable(ictx->host, HOST_CAP_SYS_RESOURCE))
			return -EPERM;
		/* Pages already charged keep the mode they were charged in. */
		if (ictx->nr_objects)
			return -EBUSY;
		if (cmd->val64 == 0)
			ictx->account_mode = IOPT_PAGES_ACCOUNT_USER;
		else if (cmd->val64 == 1)
			ictx->account_mode = IOPT_PAGES_ACCOUNT_MM;
		else
			return -EINVAL;
		return 0;
	}
	return -EOPNOTSUPP;
}

int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		rc = iommufd_option_rlimit_mode(cmd, ucmd->ictx);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		rc = iommufd_ioas_option(ucmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc)
		return rc;
	/* Only val64 is an output; the rest of the struct is left alone. */
	return copy_to_user(ucmd->ictx->host, ucmd->ubuffer + offsetof(struct iommu_option, val64),
			    &cmd->val64, sizeof(cmd->val64));
}

union ucmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_fault_alloc fault;
	struct iommu_hw_info info;
	struct iommu_hw_queue_alloc hw_queue;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_hwpt_get_dirty_bitmap get_dirty_bitmap;
	struct iommu_hwpt_invalidate cache;
	struct iommu_hwpt_set_dirty_tracking set_dirty_tracking;
	struct iommu_ioas_alloc alloc;
	struct iommu_ioas_allow_iovas allow_iovas;
	struct iommu_ioas_change_process change_process;
	struct iommu_ioas_copy ioas_copy;
	struct iommu_ioas_iova_ranges iova_ranges;
	struct iommu_ioas_map map;
	struct iommu_ioas_map_file map_file;
	struct iommu_ioas_unmap unmap;
	struct iommu_option option;
	struct iommu_vdevice_alloc vdev;
	struct iommu_veventq_alloc veventq;
	struct iommu_vfio_ioas vfio_ioas;
	struct iommu_viommu_alloc viommu;
	struct iommu_test_cmd test;
};

struct iommufd_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct iommufd_ucmd *ucmd);
};

#define offsetofend(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))

#define IOCTL_OP(_ioctl, _fn, _struct, _last)                                           \
	[_IOC_NR(_ioctl) - IOMMUFD_CMD_BASE] = {                                        \
		.size = sizeof(_struct),                                                \
		.min_size = offsetofend(_struct, _last),                                \
		.ioctl_num = _ioctl,                                                    \
		.execute = _fn,                                                         \
	}

static const struct iommufd_ioctl_op iommufd_ioctl_ops[] = {
	IOCTL_OP(IOMMU_DESTROY, iommufd_destroy, struct iommu_destroy, id),
	IOCTL_OP(IOMMU_FAULT_QUEUE_ALLOC, iommufd_fault_alloc, struct iommu_fault_alloc,
		 out_fault_fd),
	IOCTL_OP(IOMMU_GET_HW_INFO, iommufd_get_hw_info, struct iommu_hw_info, __reserved),
	IOCTL_OP(IOMMU_HWPT_ALLOC, iommufd_hwpt_alloc, struct iommu_hwpt_alloc, __reserved),
	IOCTL_OP(IOMMU_HWPT_GET_DIRTY_BITMAP, iommufd_hwpt_get_dirty_bitmap,
		 struct iommu_hwpt_get_dirty_bitmap, data),
	IOCTL_OP(IOMMU_HWPT_INVALIDATE, iommufd_hwpt_invalidate, struct iommu_hwpt_invalidate,
		 __reserved),
	IOCTL_OP(IOMMU_HWPT_SET_DIRTY_TRACKING, iommufd_hwpt_set_dirty_tracking,
		 struct iommu_hwpt_set_dirty_tracking, __reserved),
	IOCTL_OP(IOMMU_IOAS_ALLOC, iommufd_ioas_alloc_ioctl, struct iommu_ioas_alloc,
		 out_ioas_id),
	IOCTL_OP(IOMMU_IOAS_ALLOW_IOVAS, iommufd_ioas_allow_iovas,
		 struct iommu_ioas_allow_iovas, allowed_iovas),
	IOCTL_OP(IOMMU_IOAS_CHANGE_PROCESS, iommufd_ioas_change_process,
		 struct iommu_ioas_change_process, __reserved),
	IOCTL_OP(IOMMU_IOAS_COPY, iommufd_ioas_copy, struct iommu_ioas_copy, src_iova),
	IOCTL_OP(IOMMU_IOAS_IOVA_RANGES, iommufd_ioas_iova_ranges,
		 struct iommu_ioas_iova_ranges, out_iova_alignment),
	IOCTL_OP(IOMMU_IOAS_MAP, iommufd_ioas_map, struct iommu_ioas_map, iova),
	IOCTL_OP(IOMMU_IOAS_MAP_FILE, iommufd_ioas_map_file, struct iommu_ioas_map_file, iova),
	IOCTL_OP(IOMMU_IOAS_UNMAP, iommufd_ioas_unmap, struct iommu_ioas_unmap, length),
	IOCTL_OP(IOMMU_OPTION, iommufd_option, struct iommu_option, val64),
	IOCTL_OP(IOMMU_VDEVICE_ALLOC, iommufd_vdevice_alloc_ioctl, struct iommu_vdevice_alloc,
		 virt_id),
	IOCTL_OP(IOMMU_VEVENTQ_ALLOC, iommufd_veventq_alloc, struct iommu_veventq_alloc,
		 out_veventq_fd),
	IOCTL_OP(IOMMU_VFIO_IOAS, iommufd_vfio_ioas, struct iommu_vfio_ioas, __reserved),
	IOCTL_OP(IOMMU_VIOMMU_ALLOC, iommufd_viommu_alloc_ioctl, struct iommu_viommu_alloc,
		 out_viommu_id),
	IOCTL_OP(IOMMU_HW_QUEUE_ALLOC, iommufd_hw_queue_alloc_ioctl,
		 struct iommu_hw_queue_alloc, length),
	IOCTL_OP(IOMMU_TEST_CMD, iommufd_test, struct iommu_test_cmd, last),
};

/*
 * Copy a user struct of @usize bytes into @dst of @ksize bytes: zero extend
 * a short one, insist that the tail of a long one is zero.
 */
static int copy_struct_from_user(struct uiommufd_host *host, void *dst, size_t ksize,
				 uint64_t src, size_t usize)
{
	size_t size = min_t(size_t, ksize, usize);

	if (usize > ksize) {
		uint8_t chunk[64];
		uint64_t pos = src + ksize;
		size_t left = usize - ksize;

		while (left) {
			/* Aligned chunks never straddle a page: bytes before a fault are seen. */
			size_t n = min_t(size_t, left, sizeof(chunk) - pos % sizeof(chunk));
			size_t i;

			if (copy_from_user(host, chunk, pos, n))
				return -EFAULT;
			for (i = 0; i != n; i++)
				if (chunk[i])
					return -E2BIG;
			pos += n;
			left -= n;
		}
	}
	if (copy_from_user(host, dst, src, size))
		return -EFAULT;
	memset((uint8_t *)dst + size, 0, ksize - size);
	return 0;
}

static long iommufd_dispatch(struct iommufd_ctx *ictx, unsigned int cmd, uint64_t arg)
{
	const struct iommufd_ioctl_op *op;
	struct iommufd_ucmd ucmd = {};
	union ucmd_buffer buf;
	unsigned int nr = _IOC_NR(cmd);
	int rc;

	if (nr < IOMMUFD_CMD_BASE || nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_ioctl_ops))
		return iommufd_vfio_ioctl(ictx, cmd, arg);

	ucmd.ictx = ictx;
	ucmd.ubuffer = arg;
	/* As the kernel does, the size is read before the number is checked. */
	if (copy_from_user(ictx->host, &ucmd.user_size, arg, sizeof(ucmd.user_size)))
		return -EFAULT;

	op = &iommufd_ioctl_ops[nr - IOMMUFD_CMD_BASE];
	if (op->ioctl_num != cmd)
		return -ENOTTY;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;

	ucmd.cmd = &buf;
	rc = copy_struct_from_user(ictx->host, ucmd.cmd, op->size, arg, ucmd.user_size);
	if (rc)
		return rc;
	rc = op->execute(&ucmd);

	if (ucmd.new_obj) {
		if (rc)
			iommufd_object_abort_and_destroy(ictx, ucmd.new_obj);
		else
			iommufd_object_finalize(ictx, ucmd.new_obj);
	}
	return rc;
}

long uiommufd_ioctl(struct uiommufd_ctx *uctx, unsigned long cmd, uint64_t arg)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)uctx;
	long rc;

	/* ioctl numbers are 32 bits; the kernel ignores the upper half. */
	pthread_mutex_lock(&ictx->lock);
	rc = iommufd_dispatch(ictx, (unsigned int)cmd, arg);
	pthread_mutex_unlock(&ictx->lock);
	if (iommufd_debug)
		iommufd_log("ioctl %#lx (nr %#x) arg %#llx -> %ld%s%s", cmd, (unsigned int)_IOC_NR(cmd),
			    (unsigned long long)arg, rc, rc < 0 ? " " : "",
			    rc < 0 ? strerror((int)-rc) : "");
	return rc;
}

/* ------------------------------------------------------- mmap of the file */

/*
 * Driver regions live at page-aligned file offsets from PAGE_SIZE up, the
 * lowest free range first.  The program maps a region whole, never a part.
 */
int _iommufd_alloc_mmap(struct iommufd_ctx *ictx, struct iommufd_object *owner,
			struct host_file *file, size_t length, uint64_t *offset)
{
	struct iommufd_mmap *immap, **pos;
	uint64_t start = PAGE_SIZE;

	if (!length || length % PAGE_SIZE)
		return -EINVAL;
	immap = iommufd_zalloc(sizeof(*immap));
	if (!immap)
		return -ENOMEM;
	/* The list is sorted by offset: take the first gap that fits. */
	for (pos = &ictx->mmaps; *pos; pos = &(*pos)->next) {
		if ((*pos)->offset - start >= length)
			break;
		start = (*pos)->offset + (*pos)->length;
	}
	immap->owner = owner;
	immap->file = file;
	immap->offset = start;
	immap->length = length;
	immap->next = *pos;
	*pos = immap;
	*offset = start;
	return 0;
}

void _iommufd_destroy_mmap(struct iommufd_ctx *ictx, uint64_t offset)
{
	struct iommufd_mmap **pos;

	for (pos = &ictx->mmaps; *pos; pos = &(*pos)->next) {
		if ((*pos)->offset == offset) {
			struct iommufd_mmap *immap = *pos;

			*pos = immap->next;
			free(immap);
			return;
		}
	}
}

/*
 * The program's mappings of driver regions, process wide as munmap() is:
 * each page still mapped has its bit set; the last one unmapped lets go of
 * the region's owner and of the context.
 */
struct iommufd_user_mapping {
	uintptr_t addr;
	size_t npages;
	size_t mapped;			/* pages still mapped */
	struct iommufd_ctx *ictx;
	struct iommufd_object *owner;
	struct iommufd_user_mapping *next;
	unsigned char present[];	/* per page */
};

static pthread_mutex_t user_mappings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct iommufd_user_mapping *user_mappings;
static atomic_uint nr_user_mappings;

int uiommufd_mmap(struct uiommufd_ctx *uctx, void *addr, size_t length, int prot, int flags,
		  uint64_t offset, void **out)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)uctx;
	struct uiommufd_host *host = ictx->host;
	struct iommufd_user_mapping *um;
	struct iommufd_mmap *immap;
	void *p;
	int rc;

	length = (length + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);
	if (!length || offset % PAGE_SIZE)
		return -EINVAL;
	if ((flags & MAP_TYPE) != MAP_SHARED && (flags & MAP_TYPE) != MAP_SHARED_VALIDATE)
		return -EINVAL;
	if (prot & PROT_EXEC)
		return -EPERM;

	um = calloc(1, sizeof(*um) + length / PAGE_SIZE);
	if (!um)
		return -ENOMEM;
	pthread_mutex_lock(&ictx->lock);
	for (immap = ictx->mmaps; immap; immap = immap->next)
		if (offset >= immap->offset && offset - immap->offset < immap->length)
			break;
	/* Only a region exactly, from its start, whole. */
	if (!immap || immap->offset != offset || immap->length != length) {
		rc = -ENXIO;
		goto out_unlock;
	}
	rc = host->ops->file_mmap(host, immap->file, addr, length, prot, flags, 0, &p);
	if (rc)
		goto out_unlock;
	immap->owner->users++;
	ictx->refs++;
	um->addr = (uintptr_t)p;
	um->npages = um->mapped = length / PAGE_SIZE;
	memset(um->present, 1, um->npages);
	um->ictx = ictx;
	um->owner = immap->owner;
	pthread_mutex_unlock(&ictx->lock);

	pthread_mutex_lock(&user_mappings_lock);
	um->next = user_mappings;
	user_mappings = um;
	atomic_fetch_add(&nr_user_mappings, 1);
	pthread_mutex_unlock(&user_mappings_lock);
	*out = p;
	return 0;

out_unlock:
	pthread_mutex_unlock(&ictx->lock);
	free(um);
	return rc;
}

void uiommufd_munmap_notify(void *addr, size_t length)
{
	uintptr_t start = (uintptr_t)addr, end = start + length;
	struct iommufd_user_mapping **pos, *gone = NULL;

	if (!atomic_load_explicit(&nr_user_mappings, memory_order_relaxed) || end < start)
		return;
	pthread_mutex_lock(&user_mappings_lock);
	for (pos = &user_mappings; *pos;) {
		struct iommufd_user_mapping *um = *pos;
		size_t i;

		for (i = 0; i != um->npages; i++) {
			uintptr_t page = um->addr + i * PAGE_SIZE;

			if (um->present[i] && page + PAGE_SIZE > start && page < end) {
				um->present[i] = 0;
				um->mapped--;
			}
		}
		if (um->mapped) {
			pos = &um->next;
			continue;
		}
		*pos = um->next;
		um->next = gone;
		gone = um;
		atomic_fetch_sub(&nr_user_mappings, 1);
	}
	pthread_mutex_unlock(&user_mappings_lock);

	while (gone) {
		struct iommufd_user_mapping *um = gone;

		gone = um->next;
		pthread_mutex_lock(&um->ictx->lock);
		um->owner->users--;
		pthread_mutex_unlock(&um->ictx->lock);
		uiommufd_ctx_put((struct uiommufd_ctx *)um->ictx);
		free(um);
	}
}

int uiommufd_ctx_open(struct uiommufd_host *host, unsigned int flags,
		      struct uiommufd_ctx **out)
{
	struct iommufd_ctx *ictx;

	if (flags & ~UIOMMUFD_OPEN_VFIO_CONTAINER)
		return -EINVAL;
	ictx = iommufd_zalloc(sizeof(*ictx));
	if (!ictx)
		return -ENOMEM;
	{
		pthread_mutexattr_t attr;

		/* Access unmap callbacks call back into the core. */
		pthread_mutexattr_init(&attr);
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&ictx->lock, &attr);
		pthread_mutexattr_destroy(&attr);
	}
	ictx->refs = 1;
	ictx->host = host;
	iommufd_page_size = host->page_size;
	ictx->opened_as_vfio = flags & UIOMMUFD_OPEN_VFIO_CONTAINER;
	/* A context opened as /dev/vfio/vfio accounts like VFIO type1. */
	ictx->account_mode = ictx->opened_as_vfio ? IOPT_PAGES_ACCOUNT_MM :
						    IOPT_PAGES_ACCOUNT_USER;
	*out = (struct uiommufd_ctx *)ictx;
	return 0;
}

void uiommufd_ctx_get(struct uiommufd_ctx *uctx)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)uctx;

	pthread_mutex_lock(&ictx->lock);
	ictx->refs++;
	pthread_mutex_unlock(&ictx->lock);
}

/* Destroy everything, leaf first, as the kernel's release does. */
static void iommufd_release(struct iommufd_ctx *ictx)
{
	for (;;) {
		unsigned int destroyed = 0;
		bool empty = true;
		uint32_t id;

		for (id = 1; id < ictx->nr_slots; id++) {
			struct iommufd_object *obj = ictx->objects[id];

			if (!slot_is_object(obj))
				continue;
			empty = false;
			if (obj->users != 1)
				continue;
			object_destroy(ictx, obj, false);
			destroyed++;
		}
		if (empty)
			break;
		if (!destroyed) {
			/* A reference cycle: a core bug, never a user error. */
			iommufd_log("release: objects still referenced, leaking them");
			break;
		}
	}
	free(ictx->objects);
	pthread_mutex_destroy(&ictx->lock);
	free(ictx);
}

void uiommufd_ctx_put(struct uiommufd_ctx *uctx)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)uctx;
	bool last;

	pthread_mutex_lock(&ictx->lock);
	last = --ictx->refs == 0;
	if (last)
		ictx->vfio_ioas = NULL;
	pthread_mutex_unlock(&ictx->lock);
	if (last)
		iommufd_release(ictx);
}

const struct iommufd_object_ops iommufd_object_ops[IOMMUFD_OBJ_MAX] = {
	[IOMMUFD_OBJ_IOAS] = { .destroy = iommufd_ioas_destroy },
	[IOMMUFD_OBJ_HWPT_PAGING] = { .destroy = iommufd_hwpt_paging_destroy },
	[IOMMUFD_OBJ_HWPT_NESTED] = { .destroy = iommufd_hwpt_nested_destroy },
	[IOMMUFD_OBJ_FAULT] = { .destroy = iommufd_fault_destroy },
	[IOMMUFD_OBJ_ACCESS] = { .destroy = iommufd_access_destroy_object },
	[IOMMUFD_OBJ_VIOMMU] = { .destroy = iommufd_viommu_destroy },
	[IOMMUFD_OBJ_VDEVICE] = { .destroy = iommufd_vdevice_destroy },
	[IOMMUFD_OBJ_VEVENTQ] = { .destroy = iommufd_veventq_destroy },
	[IOMMUFD_OBJ_HW_QUEUE] = { .destroy = iommufd_hw_queue_destroy },
	[IOMMUFD_OBJ_SELFTEST] = { .destroy = iommufd_selftest_destroy },
};
