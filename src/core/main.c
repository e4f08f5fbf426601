// SPDX-License-Identifier: MIT
/*
 * A context (one open /dev/iommu), its table of objects by ID, and the path
 * every iommufd ioctl takes from the caller's pointer to its handler and
 * back.  docs/uapi-behaviour.md is the specification this follows.
 *
 * The table is a flat array indexed by ID; slot 0 is never used.  Which
 * slots are free is kept in an id_map beside it, so the lowest free ID (the
 * kernel hands out the lowest) is found in O(log n), never by a scan.  A slot
 * holds one of three markers (free, held for an object still being built,
 * grave of an object whose ID must not come back before close) or the
 * object itself.  Anything at or below the grave marker is not an object,
 * which is all a lock-free reader needs to know (see table_publish()).
 *
 * While a command runs, every ID it reserves is remembered on the command
 * (ucmd->fresh).  The handler normally publishes or aborts each object
 * itself; whatever is still unresolved when it returns is published if the
 * command succeeded and torn down if it failed.  That is what makes "a
 * command that fails creates nothing" hold for every command, including the
 * ones whose reply to the caller faults after the object was built.
 *
 * The command table is written once, as a list of rows (COMMAND_ROWS); the
 * lookup table and the scratch buffer the argument is copied into are both
 * generated from it, so a new command is one line.
 *
 * Locking: the caller of every entry point here holds ictx->lock, except
 * the lock-free device DMA path in device.c, which only reads the table.
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

size_t iommufd_page_size = 4096;
size_t iommufd_temp_memory_limit = IOMMUFD_TEMP_MEMORY_LIMIT_DEFAULT;
bool iommufd_debug;

/* ------------------------------------------------ allocation and logging */

/* Fault injection hook: always false until a test arms it. */
bool iommufd_should_fail(void)
{
	return false;
}

void *iommufd_zalloc(size_t size)
{
	return iommufd_should_fail() ? NULL : calloc(1, size);
}

void *iommufd_realloc_array(void *ptr, size_t nmemb, size_t size)
{
	size_t total;

	if (iommufd_should_fail() || check_mul_overflow(nmemb, size, &total))
		return NULL;
	/* realloc(p, 0) may free p; a zero-length array is one byte here. */
	return realloc(ptr, total ? total : 1);
}

static FILE *log_stream(void)
{
	static FILE *stream;
	const char *where;

	if (stream)
		return stream;
	where = getenv("UIOMMUFD_LOG");
	if (where && *where)
		stream = fopen(where, "ae");
	if (!stream)
		stream = stderr;
	return stream;
}

void iommufd_log(const char *fmt, ...)
{
	FILE *out = log_stream();
	va_list args;

	/* One line per message even when threads log at once. */
	flockfile(out);
	fprintf(out, "uiommufd[%d]: ", (int)getpid());
	va_start(args, fmt);
	vfprintf(out, fmt, args);
	va_end(args);
	fputc('\n', out);
	funlockfile(out);
}

bool uiommufd_debug_enabled(void)
{
	return iommufd_debug;
}

void uiommufd_set_debug(bool on)
{
	iommufd_debug = on;
}

/* ------------------------------------------------------- the object table */

#define SLOT_FREE ((void *)0)
#define SLOT_HELD ((void *)1)	/* reserved: being built, invisible */
#define SLOT_GRAVE ((void *)2)	/* tombstone: gone, ID kept until close */
#define ID_CEILING 0x80000000u	/* IDs stay within 31 bits */

static inline bool slot_has_object(const void *slot)
{
	return (uintptr_t)slot > (uintptr_t)SLOT_GRAVE;
}

/*
 * Every store into the table is atomic because device.c reads it without
 * the lock.  Markers carry no data: relaxed is enough for them.
 */
static inline void table_mark(struct iommufd_ctx *ictx, uint32_t id, void *marker)
{
	__atomic_store_n(&ictx->objects[id], marker, __ATOMIC_RELAXED);
}

/* Release: a reader whose acquire load finds @obj sees all of its fill. */
static inline void table_publish(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	__atomic_store_n(&ictx->objects[obj->id], (void *)obj, __ATOMIC_RELEASE);
}

/* Make room for at least one more ID; the new slots are free. */
static int table_grow(struct iommufd_ctx *ictx)
{
	uint32_t had = ictx->nr_slots, want;
	void **moved;

	if (had >= ID_CEILING)
		return -EBUSY;	/* what the kernel's ID allocator says when full */
	want = had ? had * 2 : 16;
	if (want > ID_CEILING)
		want = ID_CEILING;

	/* The free-ID map first: a table it does not cover is never used. */
	if (id_map_resize(&ictx->free_ids, want))
		return -ENOMEM;
	if (!had)
		id_map_set_used(&ictx->free_ids, 0);	/* ID 0 is never handed out */

	/* realloc() may move the array: no lock-free reader may be in it. */
	iommu_dma_gate_begin();
	moved = iommufd_realloc_array(ictx->objects, want, sizeof(*moved));
	if (moved) {
		memset(moved + had, 0, (size_t)(want - had) * sizeof(*moved));
		__atomic_store_n(&ictx->objects, moved, __ATOMIC_RELEASE);
		__atomic_store_n(&ictx->nr_slots, want, __ATOMIC_RELEASE);
	}
	iommu_dma_gate_end();
	return moved ? 0 : -ENOMEM;
}

/* Hold the lowest free ID for @obj. */
static int table_reserve(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	uint32_t id;
	int err;

	/* The lowest free slot; a full table first grows (new slots are free). */
	if (!id_map_lowest(&ictx->free_ids, &id) || id >= ictx->nr_slots) {
		id = ictx->nr_slots ? ictx->nr_slots : 1;
		err = table_grow(ictx);
		if (err)
			return err;
	}
	id_map_set_used(&ictx->free_ids, id);
	table_mark(ictx, id, SLOT_HELD);
	ictx->nr_objects++;
	obj->id = id;
	return 0;
}

/* Give @id back (or leave a grave there), for the next reserve to find. */
static void table_vacate(struct iommufd_ctx *ictx, uint32_t id, bool grave)
{
	if (grave) {
		/* A grave still fills its slot: RLIMIT_MODE counts it as the kernel does. */
		table_mark(ictx, id, SLOT_GRAVE);
		return;
	}
	table_mark(ictx, id, SLOT_FREE);
	ictx->nr_objects--;
	id_map_set_free(&ictx->free_ids, id);
}

/* The published object at @id, or NULL. */
static struct iommufd_object *table_find(struct iommufd_ctx *ictx, uint32_t id)
{
	void *slot;

	if (id >= ictx->nr_slots)
		return NULL;
	slot = ictx->objects[id];
	return slot_has_object(slot) ? slot : NULL;
}

/* ----------------------------------------- objects made by a running command */

/* @obj is no longer the running command's to settle. */
static void fresh_forget(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	struct iommufd_object **link;

	if (!ictx->running)
		return;
	for (link = &ictx->running->fresh; *link; link = &(*link)->fresh_next) {
		if (*link == obj) {
			*link = obj->fresh_next;
			obj->fresh_next = NULL;
			return;
		}
	}
}

/*
 * The command is over: what it reserved and left unresolved is published
 * if it succeeded, undone if it failed.  Newest first, so an object goes
 * before the older ones it may hold.
 */
static void fresh_settle(struct iommufd_ucmd *ucmd, int result)
{
	struct iommufd_object *obj;

	while ((obj = ucmd->fresh)) {
		ucmd->fresh = obj->fresh_next;
		obj->fresh_next = NULL;
		if (result)
			iommufd_object_abort_and_destroy(ucmd->ictx, obj);
		else
			table_publish(ucmd->ictx, obj);
	}
}

/* ---------------------------------------------------------- object life */

struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx, size_t bytes,
					     enum iommufd_object_type kind)
{
	struct iommufd_object *obj = iommufd_zalloc(bytes);
	struct iommufd_ucmd *ucmd = ictx->running;
	int err;

	if (!obj)
		return ERR_PTR(-ENOMEM);
	err = table_reserve(ictx, obj);
	if (err) {
		free(obj);
		return ERR_PTR(err);
	}
	obj->type = kind;
	obj->users = 1;		/* the table's own hold, which destroy takes away */
	if (ucmd) {
		obj->fresh_next = ucmd->fresh;
		ucmd->fresh = obj;
	}
	return obj;
}

/* Every reservation is settled by dispatch; this one only names the intent. */
struct iommufd_object *_iommufd_object_alloc_ucmd(struct iommufd_ucmd *ucmd, size_t bytes,
						  enum iommufd_object_type kind)
{
	return _iommufd_object_alloc(ucmd->ictx, bytes, kind);
}

void iommufd_object_finalize(struct iommufd_ctx *ictx, struct iommufd_object *fresh)
{
	fresh_forget(ictx, fresh);
	table_publish(ictx, fresh);
}

/* The reservation goes; nothing of the object's own is undone. */
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *fresh)
{
	fresh_forget(ictx, fresh);
	table_vacate(ictx, fresh->id, false);
	free(fresh);
}

/* The reservation goes, after the object's kind undoes what it filled in. */
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx, struct iommufd_object *fresh)
{
	const struct iommufd_object_ops *how = &iommufd_object_ops[fresh->type];
	void (*undo)(struct iommufd_object *) = how->abort ? how->abort : how->destroy;

	if (undo)
		undo(fresh);
	iommufd_object_abort(ictx, fresh);
}

struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, uint32_t id,
					  enum iommufd_object_type kind)
{
	struct iommufd_object *found = table_find(ictx, id);

	if (!found || (kind != IOMMUFD_OBJ_ANY && kind != found->type))
		return ERR_PTR(-ENOENT);
	found->users++;
	return found;
}

/* Out of the table, destructor, memory: destroy cannot fail. */
static void object_teardown(struct iommufd_ctx *ictx, struct iommufd_object *obj, bool grave)
{
	void (*destructor)(struct iommufd_object *) = iommufd_object_ops[obj->type].destroy;

	/* The compat IOAS pointer holds nothing: it just forgets. */
	if (ictx->vfio_ioas && &ictx->vfio_ioas->obj == obj)
		ictx->vfio_ioas = NULL;
	/* A lock-free reader may hold the pointer it found until the gate. */
	iommu_dma_gate_begin();
	table_vacate(ictx, obj->id, grave);
	if (destructor)
		destructor(obj);
	free(obj);
	iommu_dma_gate_end();
}

static bool object_is_published(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	return table_find(ictx, obj->id) == obj;
}

void iommufd_object_destroy_user(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	if (object_is_published(ictx, obj))
		object_teardown(ictx, obj, false);
}

void iommufd_object_tombstone_user(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	if (object_is_published(ictx, obj))
		object_teardown(ictx, obj, true);
}

void iommufd_object_put_and_try_destroy(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	/* Down to the table's own hold: nobody needs it any more. */
	if (--obj->users == 1)
		iommufd_object_destroy_user(ictx, obj);
}

/* --------------------------------------------- IOMMU_DESTROY, IOMMU_OPTION */

int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *req = ucmd->cmd;
	struct iommufd_object *victim = table_find(ucmd->ictx, req->id);

	if (!victim)
		return -ENOENT;
	if (victim->users > 1)
		return -EBUSY;
	object_teardown(ucmd->ictx, victim, false);
	return 0;
}

/* IOMMU_OPTION_RLIMIT_MODE: how pinned pages are charged, per user or per process. */
static int option_rlimit_mode(struct iommufd_ctx *ictx, struct iommu_option *req)
{
	struct uiommufd_host *host = ictx->host;

	if (req->object_id)
		return -EOPNOTSUPP;
	switch (req->op) {
	case IOMMU_OPTION_OP_GET:
		req->val64 = ictx->account_mode == IOPT_PAGES_ACCOUNT_MM ? 1 : 0;
		return 0;
	case IOMMU_OPTION_OP_SET:
		if (!host->ops->capable(host, HOST_CAP_SYS_RESOURCE))
			return -EPERM;
		/* Charges already made must be uncharged in the mode they were made in. */
		if (ictx->nr_objects)
			return -EBUSY;
		if (req->val64 > 1)
			return -EINVAL;
		ictx->account_mode = req->val64 ? IOPT_PAGES_ACCOUNT_MM : IOPT_PAGES_ACCOUNT_USER;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *req = ucmd->cmd;
	int err;

	if (req->__reserved)
		return -EOPNOTSUPP;
	if (req->option_id == IOMMU_OPTION_RLIMIT_MODE)
		err = option_rlimit_mode(ucmd->ictx, req);
	else if (req->option_id == IOMMU_OPTION_HUGE_PAGES)
		err = iommufd_ioas_option(ucmd);
	else
		err = -EOPNOTSUPP;
	if (err)
		return err;
	/* The one output; the caller's other fields stay as they were. */
	return copy_to_user(ucmd->ictx->host, ucmd->ubuffer + offsetof(struct iommu_option, val64),
			    &req->val64, sizeof(req->val64));
}

/* --------------------------------------------------------------- dispatch */

int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len)
{
	/* Never past what the caller has, nor past what we know. */
	size_t n = ucmd->user_size < cmd_len ? ucmd->user_size : cmd_len;

	return copy_to_user(ucmd->ictx->host, ucmd->ubuffer, ucmd->cmd, n);
}

/*
 * Every command we serve: its number, its argument struct, the last field
 * that struct has had since the command first appeared (the minimum size
 * ends there), and its handler.
 */
#define COMMAND_ROWS(ROW)                                                                     \
	ROW(IOMMU_DESTROY, iommu_destroy, id, iommufd_destroy)                                \
	ROW(IOMMU_IOAS_ALLOC, iommu_ioas_alloc, out_ioas_id, iommufd_ioas_alloc_ioctl)        \
	ROW(IOMMU_IOAS_ALLOW_IOVAS, iommu_ioas_allow_iovas, allowed_iovas,                    \
	    iommufd_ioas_allow_iovas)                                                         \
	ROW(IOMMU_IOAS_COPY, iommu_ioas_copy, src_iova, iommufd_ioas_copy)                    \
	ROW(IOMMU_IOAS_IOVA_RANGES, iommu_ioas_iova_ranges, out_iova_alignment,               \
	    iommufd_ioas_iova_ranges)                                                         \
	ROW(IOMMU_IOAS_MAP, iommu_ioas_map, iova, iommufd_ioas_map)                           \
	ROW(IOMMU_IOAS_UNMAP, iommu_ioas_unmap, length, iommufd_ioas_unmap)                   \
	ROW(IOMMU_OPTION, iommu_option, val64, iommufd_option)                                \
	ROW(IOMMU_VFIO_IOAS, iommu_vfio_ioas, __reserved, iommufd_vfio_ioas)                  \
	ROW(IOMMU_HWPT_ALLOC, iommu_hwpt_alloc, __reserved, iommufd_hwpt_alloc)               \
	ROW(IOMMU_GET_HW_INFO, iommu_hw_info, __reserved, iommufd_get_hw_info)                \
	ROW(IOMMU_HWPT_SET_DIRTY_TRACKING, iommu_hwpt_set_dirty_tracking, __reserved,         \
	    iommufd_hwpt_set_dirty_tracking)                                                  \
	ROW(IOMMU_HWPT_GET_DIRTY_BITMAP, iommu_hwpt_get_dirty_bitmap, data,                   \
	    iommufd_hwpt_get_dirty_bitmap)                                                    \
	ROW(IOMMU_HWPT_INVALIDATE, iommu_hwpt_invalidate, __reserved, iommufd_hwpt_invalidate) \
	ROW(IOMMU_FAULT_QUEUE_ALLOC, iommu_fault_alloc, out_fault_fd, iommufd_fault_alloc)    \
	ROW(IOMMU_IOAS_MAP_FILE, iommu_ioas_map_file, iova, iommufd_ioas_map_file)            \
	ROW(IOMMU_VIOMMU_ALLOC, iommu_viommu_alloc, out_viommu_id, iommufd_viommu_alloc_ioctl) \
	ROW(IOMMU_VDEVICE_ALLOC, iommu_vdevice_alloc, virt_id, iommufd_vdevice_alloc_ioctl)   \
	ROW(IOMMU_IOAS_CHANGE_PROCESS, iommu_ioas_change_process, __reserved,                 \
	    iommufd_ioas_change_process)                                                      \
	ROW(IOMMU_VEVENTQ_ALLOC, iommu_veventq_alloc, out_veventq_fd, iommufd_veventq_alloc)  \
	ROW(IOMMU_HW_QUEUE_ALLOC, iommu_hw_queue_alloc, length, iommufd_hw_queue_alloc_ioctl) \
	ROW(IOMMU_IOAS_NOIOMMU_GET_PA, iommu_ioas_noiommu_get_pa, out_phys,                    \
	    iommufd_ioas_noiommu_get_pa)                                                      \
	ROW(IOMMU_TEST_CMD, iommu_test_cmd, last, iommufd_test)

/* Where a struct's @field ends: the size of a struct cut right after it. */
#define END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

typedef int (*ucmd_handler)(struct iommufd_ucmd *ucmd);

struct command {
	unsigned int number;	/* all 32 bits must match */
	uint32_t min_size;
	uint32_t full_size;
	ucmd_handler run;
};

/* Indexed by number byte less IOMMUFD_CMD_BASE; gaps have number 0. */
#define COMMAND_SLOT(num, tag, last, handler)                                                 \
	[_IOC_NR(num) - IOMMUFD_CMD_BASE] = {                                                 \
		.run = handler,                                                               \
		.number = num,                                                                \
		.full_size = sizeof(struct tag),                                              \
		.min_size = END_OF(struct tag, last),                                         \
	},
static const struct command commands[] = { COMMAND_ROWS(COMMAND_SLOT) };

/* Room for the largest argument, aligned for any of them. */
#define SCRATCH_MEMBER(num, tag, last, handler) struct tag handler##_arg;
union command_scratch {
	COMMAND_ROWS(SCRATCH_MEMBER)
};

/*
 * A caller newer than us may send more than we know; that is fine only if
 * every extra byte is zero.  Read them in small steps, whatever @len says.
 */
static int tail_is_zero(struct uiommufd_host *host, uint64_t at, uint64_t len)
{
	uint64_t probe[8];

	while (len) {
		/* Aligned steps never straddle a page: bytes before a fault are seen. */
		size_t room = sizeof(probe) - (size_t)(at % sizeof(probe));
		size_t step = len < room ? (size_t)len : room;
		uint64_t any = 0;
		size_t w;

		memset(probe, 0, sizeof(probe));
		if (copy_from_user(host, probe, at, step))
			return -EFAULT;
		for (w = 0; w != ARRAY_SIZE(probe); w++)
			any |= probe[w];
		if (any)
			return -E2BIG;
		at += step;
		len -= step;
	}
	return 0;
}

/*
 * The caller's @usize bytes at @uarg into our @full bytes at @into; with
 * @have, the first @have bytes are there already.
 */
static int fetch_argument(struct uiommufd_host *host, void *into, uint32_t full, uint64_t uarg,
			  uint32_t usize, uint32_t have)
{
	uint32_t known = usize < full ? usize : full;
	int err;

	if (usize > full) {
		err = tail_is_zero(host, uarg + full, usize - full);
		if (err)
			return err;
	}
	if (known > have && copy_from_user(host, (char *)into + have, uarg + have, known - have))
		return -EFAULT;
	/* Fields the caller does not have read as zero: their old meaning. */
	if (full > known)
		memset((char *)into + known, 0, full - known);
	return 0;
}

/*
 * The size and the rest of the argument in one copy when they share a
 * page: the page is readable whole or not at all, so the copy faults
 * exactly when reading the size alone would.  The bytes past the caller's
 * size it reads are then cleared as if never read.  Returns the bytes
 * fetched (0: read the size alone) or -EFAULT.
 */
static int fetch_head(struct uiommufd_host *host, void *into, uint32_t full, uint64_t uarg)
{
	if ((uarg & (PAGE_SIZE - 1)) + full > PAGE_SIZE)
		return 0;
	return copy_from_user(host, into, uarg, full) ? -EFAULT : (int)full;
}

static long dispatch(struct iommufd_ctx *ictx, unsigned int number, uint64_t uarg)
{
	unsigned int slot = _IOC_NR(number) - IOMMUFD_CMD_BASE;	/* wraps below the base */
	union command_scratch scratch;
	const struct command *cmd;
	struct iommufd_ucmd ucmd;
	uint32_t usize;
	int result, have;

	/* Pins an unmap kept back go before any other command could see them. */
	if (ictx->late_pinned && number != IOMMU_IOAS_MAP && number != IOMMU_IOAS_UNMAP)
		iopt_late_drain(ictx);
	if (slot >= ARRAY_SIZE(commands))
		return iommufd_vfio_ioctl(ictx, number, uarg);
	cmd = &commands[slot];
	/* The size comes first, even for a number we do not serve. */
	have = cmd->number == number ? fetch_head(ictx->host, &scratch, cmd->full_size, uarg) : 0;
	if (have < 0)
		return -EFAULT;
	if (have)
		memcpy(&usize, &scratch, sizeof(usize));
	else if (copy_from_user(ictx->host, &usize, uarg, sizeof(usize)))
		return -EFAULT;
	if (cmd->number != number)
		return -ENOTTY;
	if (usize < cmd->min_size)
		return -EINVAL;
	result = fetch_argument(ictx->host, &scratch, cmd->full_size, uarg, usize, (uint32_t)have);
	if (result)
		return result;

	ucmd = (struct iommufd_ucmd){
		.ictx = ictx, .ubuffer = uarg, .user_size = usize, .cmd = &scratch,
		.outer = ictx->running,
	};
	ictx->running = &ucmd;
	result = cmd->run(&ucmd);
	if (ucmd.fresh)
		fresh_settle(&ucmd, result);
	ictx->running = ucmd.outer;
	return result;
}

/*
 * Contexts that have kept pins back (iommufd_ctx.late), for what looks at
 * pins from outside any command.  The list's lock comes before a
 * context's; a context, locked, only ever tries it, so that neither order
 * can wait on the other.  A context stays listed until it is released.
 */
static pthread_mutex_t late_ctxs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct iommufd_ctx *late_ctxs;

bool iommufd_late_list(struct iommufd_ctx *ictx)
{
	if (ictx->late_listed)
		return true;
	if (ictx->late_closed || pthread_mutex_trylock(&late_ctxs_lock))
		return false;
	ictx->late_list_next = late_ctxs;
	late_ctxs = ictx;
	ictx->late_listed = true;
	pthread_mutex_unlock(&late_ctxs_lock);
	return true;
}

void iommufd_late_drain_all(void)
{
	struct iommufd_ctx *ictx;

	pthread_mutex_lock(&late_ctxs_lock);
	for (ictx = late_ctxs; ictx; ictx = ictx->late_list_next) {
		pthread_mutex_lock(&ictx->lock);
		if (ictx->late_pinned)
			iopt_late_drain(ictx);
		pthread_mutex_unlock(&ictx->lock);
	}
	pthread_mutex_unlock(&late_ctxs_lock);
}

/*
 * Off the list before a release tears the context down unlocked: a walk
 * must not find it then, and its last unmaps keep nothing back.
 */
static void late_unlist(struct iommufd_ctx *ictx)
{
	struct iommufd_ctx **at;

	ictx->late_closed = true;
	if (!ictx->late_listed)
		return;
	pthread_mutex_lock(&late_ctxs_lock);
	for (at = &late_ctxs; *at != ictx; at = &(*at)->late_list_next)
		;
	*at = ictx->late_list_next;
	ictx->late_listed = false;
	pthread_mutex_unlock(&late_ctxs_lock);
}

/* The pins an unmap kept back are pins no more to anyone who asks. */
long uiommufd_page_pins(struct uiommufd_host *host, uint64_t uaddr)
{
	iommufd_late_drain_all();
	return host->ops->page_pins(host, uaddr);
}

long uiommufd_ioctl(struct uiommufd_ctx *uctx, unsigned long cmd, uint64_t arg)
{
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)uctx;
	/* The kernel's ioctl number is an unsigned int: the upper half is dropped. */
	unsigned int number = (unsigned int)cmd;
	long result;

	pthread_mutex_lock(&ictx->lock);
	result = dispatch(ictx, number, arg);
	pthread_mutex_unlock(&ictx->lock);
	if (iommufd_debug)
		iommufd_log("ioctl %#lx (nr %#x) arg %#llx -> %ld%s%s", cmd, (unsigned int)_IOC_NR(cmd),
			    (unsigned long long)arg, result, result < 0 ? " " : "",
			    result < 0 ? strerror((int)-result) : "");
	return result;
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

	um = NULL;
	pthread_mutex_lock(&ictx->lock);
	for (immap = ictx->mmaps; immap; immap = immap->next)
		if (offset >= immap->offset && offset - immap->offset < immap->length)
			break;
	/* Only a region exactly, from its start, whole. */
	if (!immap || immap->offset != offset || immap->length != length) {
		rc = -ENXIO;
		goto out_unlock;
	}
	/* Sized by the region now, never by what the caller asked for. */
	um = calloc(1, sizeof(*um) + length / PAGE_SIZE);
	if (!um) {
		rc = -ENOMEM;
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
	pthread_mutexattr_t attr;

	if (flags & ~UIOMMUFD_OPEN_VFIO_CONTAINER)
		return -EINVAL;
	ictx = iommufd_zalloc(sizeof(*ictx));
	if (!ictx)
		return -ENOMEM;
	/* Recursive: an access's unmap callback comes back into the core. */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&ictx->lock, &attr);
	pthread_mutexattr_destroy(&attr);

	ictx->host = host;
	ictx->refs = 1;
	slab_init(&ictx->area_cache, sizeof(struct iopt_area));
	slab_init(&ictx->pages_cache, iopt_pages_struct_size());
	slab_init(&ictx->node_cache, iova_btree_node_size());
	slab_init(&ictx->pair_cache, iopt_pages_with_area_size());
	slab_init(&ictx->pin_node_cache, iopt_pages_pin_node_size());
	iommufd_page_size = host->page_size;
	ictx->opened_as_vfio = flags & UIOMMUFD_OPEN_VFIO_CONTAINER;
	/* Opened as /dev/vfio/vfio, pages are charged as VFIO type1 charges them. */
	ictx->account_mode = ictx->opened_as_vfio ? IOPT_PAGES_ACCOUNT_MM : IOPT_PAGES_ACCOUNT_USER;
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

/*
 * One pass over the table: tear down every object only the table holds.
 * Returns how many went; *@left counts the objects still there.
 */
static unsigned int sweep_unheld(struct iommufd_ctx *ictx, unsigned int *left)
{
	unsigned int gone = 0;
	uint32_t id;

	*left = 0;
	for (id = 1; id < ictx->nr_slots; id++) {
		struct iommufd_object *obj = table_find(ictx, id);

		if (!obj)
			continue;
		if (obj->users == 1) {
			object_teardown(ictx, obj, false);
			gone++;
		} else {
			(*left)++;
		}
	}
	return gone;
}

/* The last reference went: everything goes, leaves before what they hold. */
static void ctx_release(struct iommufd_ctx *ictx)
{
	unsigned int left;

	late_unlist(ictx);
	while (sweep_unheld(ictx, &left) && left)
		;
	if (left)	/* a cycle of holds: a core bug, never the user's doing */
		iommufd_log("release: objects still referenced, leaking them");
	free(ictx->objects);
	id_map_free(&ictx->free_ids);
	/* Each keeps its chunks if a leaked object still holds some. */
	slab_destroy(&ictx->area_cache);
	slab_destroy(&ictx->pages_cache);
	slab_destroy(&ictx->node_cache);
	slab_destroy(&ictx->pair_cache);
	slab_destroy(&ictx->pin_node_cache);
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
		ctx_release(ictx);
}

/* How each kind of object is torn down; kinds without an entry only free. */
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
