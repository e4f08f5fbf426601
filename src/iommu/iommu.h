/* SPDX-License-Identifier: MIT */
/*
 * The IOMMU driver interface: what the kernel's iommu core and its
 * iommu_ops / iommu_domain_ops give iommufd.
 *
 * A driver (the selftest's mock IOMMU today; VT-d, SMMUv3 and AMD models
 * later) fills a struct iommu_ops for its devices and allocates domains.
 * Paging domains keep their translations in a real hardware page-table
 * format through src/pt: a driver embeds struct iommu_pt_domain and uses
 * the iommu_pt_* domain ops, as kernel drivers use IOMMU_PT_DOMAIN_OPS.
 *
 * A device is in exactly one domain at a time: the driver's blocked
 * domain until it is attached, and again after it is detached.  Device
 * DMA (iommu_dev_dma) reads and writes IOVA through that domain as the
 * hardware would, marking leaves dirty when tracking is on.
 *
 * Locking is the caller's: iommufd calls all of this under its context
 * lock, which also keeps DMA from racing an unmap.
 */
#ifndef UIOMMUFD_IOMMU_H
#define UIOMMUFD_IOMMU_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/slab.h"
#include "pt/pt.h"

struct uiommufd_host;
struct device;
struct iommu_domain;

/* PASID of requests without one. */
#define IOMMU_NO_PASID 0

enum iommu_cap {
	IOMMU_CAP_CACHE_COHERENCY,	   /* DMA is cache coherent */
	IOMMU_CAP_DIRTY_TRACKING,	   /* the IOMMU tracks dirty IOPTEs */
	IOMMU_CAP_ENFORCE_CACHE_COHERENCY, /* can force no-snoop off */
};

enum iommu_domain_type {
	IOMMU_DOMAIN_BLOCKED,
	IOMMU_DOMAIN_PAGING,	/* kernel-managed translation (UNMANAGED) */
	IOMMU_DOMAIN_NESTED,	/* user-managed stage 1 on a paging parent */
};

/* Driver-specific data from user space, as struct iommu_user_data. */
struct iommufd_viommu;

struct iommu_user_data {
	struct uiommufd_host *host;
	uint32_t type;
	uint64_t uptr;
	size_t len;
};

/*
 * Copy user data of @type into a kernel struct of @ksize bytes: shorter
 * than @min_len or longer than @ksize is EINVAL, a short copy is zero
 * extended, a bad pointer is EFAULT and another type EINVAL.
 */
int iommu_copy_struct_from_user(void *dst, size_t ksize, const struct iommu_user_data *src,
				uint32_t type, size_t min_len);

/* An array of driver entries (cache invalidation requests). */
struct iommu_user_data_array {
	struct uiommufd_host *host;
	uint32_t type;
	uint64_t uptr;
	uint32_t entry_len;
	uint32_t entry_num;	/* in: entries; out: how many were handled */
};

/* Entry @index of @src by the rules of iommu_copy_struct_from_user(). */
int iommu_copy_struct_from_user_array(void *dst, size_t ksize,
				      const struct iommu_user_data_array *src, uint32_t type,
				      unsigned int index, size_t min_len);

/*
 * Every entry of @src into an array of entry_num structs of @ksize bytes,
 * each by the rules above with nothing shorter than @ksize: all or nothing,
 * before the driver acts on any of them.
 */
int iommu_copy_struct_from_full_user_array(void *dst, size_t ksize,
					   const struct iommu_user_data_array *src, uint32_t type);

/*
 * Copy a driver struct of @ksize bytes back into user data of @type: as
 * much as the user's length holds; shorter than @min_len is EINVAL.
 */
int iommu_copy_struct_to_user(const struct iommu_user_data *dst, const void *src, size_t ksize,
			      uint32_t type, size_t min_len);

struct iommu_domain_geometry {
	unsigned long aperture_start;
	unsigned long aperture_end;	/* inclusive */
};

/* Regions of a device's IOVA space that nothing may be mapped in. */
struct iommu_resv_region {
	unsigned long start;
	unsigned long length;
};

struct iommu_ops {
	const char *name;
	bool (*capable)(struct device *dev, enum iommu_cap cap);
	/*
	 * Driver data for IOMMU_GET_HW_INFO; *@type is the type asked for
	 * (DEFAULT for the driver's own) and gets the type returned.  A
	 * malloc'd blob of *@len_out bytes, or an ERR_PTR.
	 */
	void *(*hw_info)(struct device *dev, uint32_t *len_out, uint32_t *type);
	/* @flags are IOMMU_HWPT_ALLOC_*; @user_data may be NULL. */
	struct iommu_domain *(*domain_alloc_paging_flags)(struct device *dev, uint32_t flags,
							  const struct iommu_user_data *user_data);
	struct iommu_domain *(*domain_alloc_nested)(struct device *dev,
						    struct iommu_domain *parent, uint32_t flags,
						    const struct iommu_user_data *user_data);
	/* The device's reserved regions; *@nr may be 0. */
	size_t (*get_resv_regions)(struct device *dev, struct iommu_resv_region *regions,
				   size_t max);
	struct iommu_domain *blocked_domain;
	/* vIOMMUs: the driver's struct size for @type (0: unsupported), then its set up. */
	size_t (*get_viommu_size)(struct device *dev, uint32_t type);
	int (*viommu_init)(struct iommufd_viommu *viommu, struct iommu_domain *parent,
			   const struct iommu_user_data *user_data);
};

struct iommu_domain_ops {
	/* Make @dev translate through @domain instead of @prev. */
	int (*attach_dev)(struct iommu_domain *domain, struct device *dev,
			  struct iommu_domain *prev);
	int (*set_dev_pasid)(struct iommu_domain *domain, struct device *dev, uint32_t pasid,
			     struct iommu_domain *prev);
	/* Paging domains: see pt_map() and pt_unmap() for the rules. */
	int (*map)(struct iommu_domain *domain, unsigned long iova, uint64_t pa, size_t len,
		   int prot, unsigned int flags);
	size_t (*unmap)(struct iommu_domain *domain, unsigned long iova, size_t len);
	/* Optional: a hint that @iova is about to be mapped or unmapped (pt_prefetch()). */
	void (*prefetch)(struct iommu_domain *domain, unsigned long iova);
	uint64_t (*iova_to_phys)(struct iommu_domain *domain, unsigned long iova);
	/* A hardware walk for DMA: 0 and @res, or -ENOENT. */
	int (*translate)(struct iommu_domain *domain, unsigned long iova, unsigned int flags,
			 struct pt_walk_result *res);
	/* Nested domains: user-managed cache invalidation. */
	int (*cache_invalidate_user)(struct iommu_domain *domain,
				     struct iommu_user_data_array *array);
	void (*free)(struct iommu_domain *domain);
};

struct iommu_dirty_ops {
	int (*set_dirty_tracking)(struct iommu_domain *domain, bool enable);
	/* Report (and unless PT_DIRTY_NO_CLEAR, clear) dirty IOPTEs. */
	int (*read_and_clear_dirty)(struct iommu_domain *domain, unsigned long iova,
				    size_t len, unsigned int flags,
				    const struct pt_dirty *dirty);
};

struct iommu_domain {
	enum iommu_domain_type type;
	const struct iommu_ops *owner;
	const struct iommu_domain_ops *ops;
	const struct iommu_dirty_ops *dirty_ops;
	unsigned long pgsize_bitmap;
	struct iommu_domain_geometry geometry;
	void *iommufd_hwpt;	/* back pointer for iommufd */
};

/* A paging domain whose translations live in a src/pt page table. */
struct iommu_pt_domain {
	struct iommu_domain domain;
	struct pt_table pt;
	struct slab_cache tables;	/* its 4 KiB tables (iommu.c) */
	bool dirty_tracking;
};

/*
 * Set up @pd as a paging domain in @fmt.  pgsize_bitmap and the aperture
 * come from the table; the driver may narrow them afterwards.
 */
int iommu_pt_domain_init(struct iommu_pt_domain *pd, enum pt_fmt fmt,
			 const struct pt_cfg *cfg);
void iommu_pt_domain_deinit(struct iommu_pt_domain *pd);
static inline struct iommu_pt_domain *to_pt_domain(struct iommu_domain *domain)
{
	return (struct iommu_pt_domain *)((char *)domain - offsetof(struct iommu_pt_domain, domain));
}
int iommu_pt_map(struct iommu_domain *domain, unsigned long iova, uint64_t pa, size_t len,
		 int prot, unsigned int flags);
size_t iommu_pt_unmap(struct iommu_domain *domain, unsigned long iova, size_t len);
void iommu_pt_prefetch(struct iommu_domain *domain, unsigned long iova);
uint64_t iommu_pt_iova_to_phys(struct iommu_domain *domain, unsigned long iova);
int iommu_pt_translate(struct iommu_domain *domain, unsigned long iova, unsigned int flags,
		       struct pt_walk_result *res);
int iommu_pt_read_and_clear_dirty(struct iommu_domain *domain, unsigned long iova,
				  size_t size, unsigned int flags, const struct pt_dirty *dirty);

/* A device as the iommu core sees it. */
struct device {
	char name[32];
	const struct iommu_ops *iommu_ops;
	struct uiommufd_host *host;	/* whose memory DMA reaches */
	struct iommu_domain *domain;	/* what the RID translates through now */
	unsigned int max_pasid_lg2;	/* 0: no PASID support */
	void *driver_data;
};

static inline bool device_iommu_capable(struct device *dev, enum iommu_cap cap)
{
	return dev->iommu_ops->capable && dev->iommu_ops->capable(dev, cap);
}

/* iommu_map() flags */
enum {
	IOMMU_MAP_NO_LARGE = PT_MAP_NO_LARGE,
};

int iommu_map(struct iommu_domain *domain, unsigned long iova, uint64_t pa, size_t len,
	      int prot, unsigned int flags);
/* Unmap must unmap what was mapped: a short unmap is a bug in the caller. */
size_t iommu_unmap(struct iommu_domain *domain, unsigned long iova, size_t len);

/* A hint that @iova is about to be mapped or unmapped in @domain; changes nothing. */
static inline void iommu_prefetch(struct iommu_domain *domain, unsigned long iova)
{
	if (domain->ops->prefetch)
		domain->ops->prefetch(domain, iova);
}
uint64_t iommu_iova_to_phys(struct iommu_domain *domain, unsigned long iova);
void iommu_domain_free(struct iommu_domain *domain);
/* The smallest page size the domain maps. */
unsigned long iommu_domain_min_pgsize(const struct iommu_domain *domain);

/*
 * Attach @dev to @domain (NULL: the driver's blocked domain).  On failure
 * the device stays where it was.
 */
int iommu_attach_device(struct iommu_domain *domain, struct device *dev);

/*
 * PASIDs of @dev: [1, 1 << max_pasid_lg2).  The caller keeps what is
 * attached at each PASID: attach wants the PASID free, replace wants @old
 * attached there, detach wants @domain there and goes through the driver's
 * blocked domain.  The domain and the blocked domain need set_dev_pasid
 * (else EOPNOTSUPP); a domain of another IOMMU or a PASID out of range is
 * EINVAL.  A failed attach or replace leaves the PASID as it was.
 */
int iommu_attach_device_pasid(struct iommu_domain *domain, struct device *dev, uint32_t pasid);
int iommu_replace_device_pasid(struct iommu_domain *domain, struct device *dev, uint32_t pasid,
			       struct iommu_domain *old);
void iommu_detach_device_pasid(struct iommu_domain *domain, struct device *dev, uint32_t pasid);

/*
 * DMA without the context lock.  A DMA reader marks itself active with a
 * plain store and checks the gate; whoever frees or changes what a reader
 * may be walking (page tables, domains, device and object memory) first
 * raises the gate, which forces a barrier on every thread (membarrier) and
 * waits for active readers to finish: the hardware's IOTLB flush, for
 * threads.  Readers pay no atomic instruction; writers pay a system call,
 * and only once some thread has read this way.
 *
 * iommu_dma_read_begin() returns false when the caller must take the
 * locked path instead (gate raised, or no membarrier on this kernel).
 * iommu_dma_reader_register() is called once per thread, with the
 * context lock held.  The locked path still reads as a reader: the host
 * moving pinned pages raises the gate without the context lock, and
 * iommu_dma_read_begin_locked() waits that out; it returns false when
 * there is nothing to mark (no membarrier, or this thread holds the gate),
 * true when iommu_dma_read_end() must follow.
 *
 * Gates nest, and also flush every thread's device IOTLB.
 */
bool iommu_dma_reader_register(void);
bool iommu_dma_read_begin_locked(void);

/* A thread's reader record; inline so a DMA's begin and end cost a few instructions. */
struct iommu_dma_reader {
	atomic_int active;
	struct iommu_dma_reader *next;
};

extern __thread struct iommu_dma_reader *iommu_dma_self __attribute__((tls_model("initial-exec")));
extern atomic_int iommu_dma_gate;

static inline bool iommu_dma_read_begin(void)
{
	struct iommu_dma_reader *r = iommu_dma_self;

	if (!r)
		return false;
	atomic_store_explicit(&r->active, 1, memory_order_relaxed);
	/* The writer's membarrier supplies the hardware half of this fence. */
	atomic_signal_fence(memory_order_seq_cst);
	/* Acquire: a reader that sees a gate fall sees the IOTLB flush with it. */
	if (atomic_load_explicit(&iommu_dma_gate, memory_order_acquire)) {
		atomic_store_explicit(&r->active, 0, memory_order_release);
		return false;
	}
	return true;
}

static inline void iommu_dma_read_end(void)
{
	atomic_store_explicit(&iommu_dma_self->active, 0, memory_order_release);
}
void iommu_dma_gate_begin(void);
void iommu_dma_gate_end(void);

/* iommu_dev_dma() flags */
enum {
	IOMMU_DMA_WRITE = 1 << 0,	/* device writes memory */
};

/* iommu_dev_dma() but for a hit in the thread's IOTLB: fills, spans, faults, indirect copies. */
int iommu_dev_dma_walk(struct device *dev, unsigned long iova, void *buf, size_t len,
		       unsigned int flags);

/* The copy device DMA uses, for the benchmark's like-for-like baseline. */
void iommu_dma_memcpy(void *dst, const void *src, size_t len);

/*
 * A one-entry IOTLB per thread (iommu.c fills it): a span of IOVA that
 * translates linearly to one host range.  It lives here so a hit, the
 * common DMA, inlines into its caller: a few compares and the copy.
 */
struct dma_iotlb {
	const struct iommu_domain *domain;
	unsigned long seq;
	unsigned long iova, last;	/* the span, inclusive */
	uint8_t *kaddr;			/* host address of @iova; NULL: copy through phys_rw */
	uint64_t pa;			/* physical address of @iova */
	unsigned int prot;		/* PT_READ / PT_WRITE of the leaves */
	unsigned int walk;		/* PT_WALK_WRITE when a write filled it */
	unsigned int fast;		/* DMA_FAST_*: what a hit may copy at once */
	unsigned long ahead;		/* the next fill's reach past its transfer; 0: the minimum */
	/*
	 * uiommufd_device_dma()'s tag: the context and device ID whose
	 * domain the entry was filled through, so that a hit needs no lookup
	 * of the device.  Every fill clears it; attach moves the gate's
	 * sequence, so a tag outlives no change of the device's domain.
	 */
	const void *owner;
	uint32_t owner_id;
};

/* A hit copies without further checks: reads of a readable span, writes of a written one. */
enum {
	DMA_FAST_READ = 1 << 0,
	DMA_FAST_WRITE = 1 << 1,
};

extern __thread struct dma_iotlb iommu_dma_iotlb __attribute__((tls_model("initial-exec")));
extern atomic_ulong iommu_dma_gate_seq;	/* moves as a gate rises and falls: flushes IOTLBs */

/* Below this the engine's string move loses to memcpy (iommu_dma_memcpy()). */
#define IOMMU_DMA_ENGINE_MIN 2048

/* Whether @tlb, still current at @seq, copies the whole of [iova, iova + len) at once. */
static inline bool dma_iotlb_covers(const struct dma_iotlb *tlb, unsigned long seq,
				    unsigned int fast, unsigned long iova, size_t len)
{
	return tlb->seq == seq && (tlb->fast & fast) && iova - tlb->iova <= tlb->last - tlb->iova &&
	       len - 1 <= tlb->last - iova;
}

/* Whether @tlb serves the whole of [iova, iova + len) for @domain as it stands. */
static inline bool dma_iotlb_hit(const struct dma_iotlb *tlb, const struct iommu_domain *domain,
				 unsigned long seq, unsigned int fast, unsigned long iova, size_t len)
{
	return tlb->domain == domain && dma_iotlb_covers(tlb, seq, fast, iova, len);
}

/* Sixteen bytes in a vector register: no alignment asked, none assumed. */
typedef uint8_t dma_v16 __attribute__((vector_size(16), aligned(1)));

/*
 * The first and the last sizeof(@type) of @len bytes (sizeof <= len <= 2
 * sizeof), both loaded before either is stored.  Whole registers, not byte
 * arrays: an array the compiler keeps on the stack costs a store per
 * piece on top of the copy.
 */
#define IOMMU_DMA_COPY_ENDS(type, d, s, len)                          \
	do {                                                          \
		type head_, tail_;                                    \
		__builtin_memcpy(&head_, (s), sizeof(type));          \
		__builtin_memcpy(&tail_, (s) + (len) - sizeof(type), sizeof(type)); \
		__builtin_memcpy((d), &head_, sizeof(type));          \
		__builtin_memcpy((d) + (len) - sizeof(type), &tail_, sizeof(type)); \
	} while (0)

/*
 * 1 to 64 bytes (never 0) in registers, right for any overlap, and no
 * call (a descriptor or a completion word is a line or less).  Each
 * branch moves fixed-size pieces from both ends.
 */
static inline void iommu_dma_small_copy(uint8_t *d, const uint8_t *s, size_t len)
{
	if (len >= 32) {
		dma_v16 a, b, y, z;

		/*
		 * 32 to 64: two vectors from each end, written out: through
		 * IOMMU_DMA_COPY_ENDS a struct of two vectors goes by the stack.
		 */
		__builtin_memcpy(&a, s, 16);
		__builtin_memcpy(&b, s + 16, 16);
		__builtin_memcpy(&y, s + len - 32, 16);
		__builtin_memcpy(&z, s + len - 16, 16);
		__builtin_memcpy(d, &a, 16);
		__builtin_memcpy(d + 16, &b, 16);
		__builtin_memcpy(d + len - 32, &y, 16);
		__builtin_memcpy(d + len - 16, &z, 16);
	} else if (len >= 16) {
		IOMMU_DMA_COPY_ENDS(dma_v16, d, s, len);
	} else if (len >= 8) {
		IOMMU_DMA_COPY_ENDS(uint64_t, d, s, len);
	} else if (len >= 4) {
		IOMMU_DMA_COPY_ENDS(uint32_t, d, s, len);
	} else {
		uint8_t x = s[0], y = s[len / 2], z = s[len - 1];

		d[0] = x;
		d[len / 2] = y;
		d[len - 1] = z;
	}
}

/* A hit's copy: @len (not 0) bytes between @buf and the span's memory at @iova. */
static inline __attribute__((always_inline)) void dma_iotlb_copy(const struct dma_iotlb *tlb,
								 unsigned long iova, void *buf,
								 size_t len, bool write)
{
	uint8_t *kaddr = tlb->kaddr + (iova - tlb->iova);
	uint8_t *to = write ? kaddr : (uint8_t *)buf;
	uint8_t *from = write ? (uint8_t *)buf : kaddr;

	if (len <= 64)
		iommu_dma_small_copy(to, from, len);
	else if (len < IOMMU_DMA_ENGINE_MIN)
		memcpy(to, from, len);
	else
		iommu_dma_memcpy(to, from, len);
}

/*
 * Device DMA: copy @len bytes between @buf and IOVA @iova through the
 * device's current domain.  -EFAULT when part of the range is not mapped
 * (nothing is transferred past that point), -EPERM on a permission fault.
 * Writes mark the IOPTEs dirty while the domain tracks dirty state.
 *
 * Always inlined: the call it saves is a good part of a 64-byte DMA.
 */
static inline __attribute__((always_inline)) int iommu_dev_dma(struct device *dev,
							       unsigned long iova, void *buf,
							       size_t len, unsigned int flags)
{
	/*
	 * Attach publishes the domain without raising the DMA gate (it only
	 * moves its sequence); the old one stays until its free raises the
	 * gate, so a DMA that read it just before a replace finishes on it,
	 * as in-flight DMA does on hardware.
	 */
	struct iommu_domain *domain = __atomic_load_n(&dev->domain, __ATOMIC_ACQUIRE);
	unsigned long seq = atomic_load_explicit(&iommu_dma_gate_seq, memory_order_relaxed);
	const struct dma_iotlb *tlb = &iommu_dma_iotlb;
	bool write = flags & IOMMU_DMA_WRITE;

	if (!domain)
		return -EFAULT;	/* blocked: every request faults */
	if (!len)
		return 0;
	/* A hit needs no look at the domain: only a walk of it fills the entry. */
	if (__builtin_expect(!dma_iotlb_hit(tlb, domain, seq,
					    write ? DMA_FAST_WRITE : DMA_FAST_READ, iova, len), 0))
		return iommu_dev_dma_walk(dev, iova, buf, len, flags);
	dma_iotlb_copy(tlb, iova, buf, len, write);
	return 0;
}

/*
 * Device-to-device DMA: copy @len bytes from IOVA @src to IOVA @dst, both
 * through the device's current domain, without a bounce buffer (a DMA
 * engine's copy).  The source is checked for reads and the destination
 * for writes, piece by piece (one IOPTE span of each at a time), so on a
 * fault everything before the faulting piece has been copied and nothing
 * after it: *@done (may be NULL) says how many bytes.  -EFAULT for an
 * unmapped byte, -EPERM for a permission fault; *@dst_fault (may be NULL)
 * says which side faulted.  Destination IOPTEs are marked dirty as
 * iommu_dev_dma() writes mark them.  Overlapping ranges (undefined for a
 * real engine) are copied forward piece by piece, each piece as memmove.
 */
int iommu_dev_dma_copy_walk(struct device *dev, unsigned long dst, unsigned long src, size_t len,
			    size_t *done, bool *dst_fault);

/* The copy's own IOTLB entries, source then destination (iommu.c fills them). */
extern __thread struct dma_iotlb iommu_dma_copy_iotlb[2] __attribute__((tls_model("initial-exec")));

/*
 * As iommu_dev_dma(), a copy whose both sides hit their entries is done
 * here: a DMA engine's descriptor then costs its caller a few compares
 * and the move.
 */
static inline __attribute__((always_inline)) int iommu_dev_dma_copy(struct device *dev,
								    unsigned long dst,
								    unsigned long src, size_t len,
								    size_t *done, bool *dst_fault)
{
	struct iommu_domain *domain = __atomic_load_n(&dev->domain, __ATOMIC_ACQUIRE);
	unsigned long seq = atomic_load_explicit(&iommu_dma_gate_seq, memory_order_relaxed);
	const struct dma_iotlb *rd = &iommu_dma_copy_iotlb[0], *wr = &iommu_dma_copy_iotlb[1];
	uintptr_t s, d;

	if (__builtin_expect(!domain || !len ||
			     !dma_iotlb_hit(rd, domain, seq, DMA_FAST_READ, src, len) ||
			     !dma_iotlb_hit(wr, domain, seq, DMA_FAST_WRITE, dst, len), 0))
		return iommu_dev_dma_copy_walk(dev, dst, src, len, done, dst_fault);
	s = (uintptr_t)(rd->kaddr + (src - rd->iova));
	d = (uintptr_t)(wr->kaddr + (dst - wr->iova));
	/* The same pages on both sides: the result is defined (memmove's). */
	if (d < s + len && s < d + len)
		memmove((void *)d, (const void *)s, len);
	else
		iommu_dma_memcpy((void *)d, (const void *)s, len);
	if (done)
		*done = len;
	if (dst_fault)
		*dst_fault = false;
	return 0;
}

#endif
