// SPDX-License-Identifier: MIT
/*
 * The iommu core's part: domains, attach, and DMA through a domain.
 *
 * Paging domains built on src/pt share one set of ops here, so a driver
 * writes only what is its own (allocation, attach, hw_info).  DMA walks
 * the device's domain page by page as the hardware's table walker would,
 * then copies through the host's view of each physical run, so a 64 KiB
 * transfer over large IOPTEs costs one walk.
 */
#include <errno.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/host.h"
#include "core/slab.h"
#include "iommu/iommu.h"
#include "pt/pt_defs.h"

int iommu_copy_struct_from_user(void *dst, size_t ksize, const struct iommu_user_data *src,
				uint32_t type, size_t min_len)
{
	if (src->type != type)
		return -EINVAL;
	/* Unlike most ioctl structs, driver data may not be longer than ours. */
	if (src->len < min_len || ksize < src->len)
		return -EINVAL;
	memset(dst, 0, ksize);
	return copy_from_user(src->host, dst, src->uptr, src->len);
}

int iommu_copy_struct_from_user_array(void *dst, size_t ksize,
				      const struct iommu_user_data_array *src, uint32_t type,
				      unsigned int index, size_t min_len)
{
	struct iommu_user_data one = {
		.host = src->host,
		.type = src->type,
		.uptr = src->uptr + (uint64_t)src->entry_len * index,
		.len = src->entry_len,
	};

	if (index >= src->entry_num || !src->entry_len)
		return -EINVAL;
	return iommu_copy_struct_from_user(dst, ksize, &one, type, min_len);
}

int iommu_copy_struct_from_full_user_array(void *dst, size_t ksize,
					   const struct iommu_user_data_array *src, uint32_t type)
{
	unsigned int i;
	int rc;

	for (i = 0; i != src->entry_num; i++) {
		rc = iommu_copy_struct_from_user_array((uint8_t *)dst + ksize * i, ksize, src, type,
						       i, ksize);
		if (rc)
			return rc;
	}
	return 0;
}

int iommu_copy_struct_to_user(const struct iommu_user_data *dst, const void *src, size_t ksize,
			      uint32_t type, size_t min_len)
{
	if (dst->type != type || dst->len < min_len)
		return -EINVAL;
	return copy_to_user(dst->host, dst->uptr, src, dst->len < ksize ? dst->len : ksize);
}

/*
 * A domain's 4 KiB tables come from its own cache (slab.h), 2 MiB chunks
 * on huge pages once there is more than one: a vIOMMU's many small maps
 * touch tables all over a wide IOVA space, and from the default allocator
 * each would be a page of its own, a TLB miss on every touch.  Other
 * sizes (some formats' top tables, 16 and 64 KiB granules) take the
 * default.  Tables are allocated and freed under the context lock, as
 * every map and unmap is.
 */
#define PT_DOMAIN_TABLE_LG2 12

static void *pt_domain_table_alloc(void *priv, unsigned int lg2sz)
{
	struct iommu_pt_domain *pd = priv;

	if (lg2sz != PT_DOMAIN_TABLE_LG2)
		return pt_table_mem_alloc(lg2sz);
	return slab_zalloc(&pd->tables);
}

static void pt_domain_table_free(void *priv, void *table, unsigned int lg2sz)
{
	struct iommu_pt_domain *pd = priv;

	if (lg2sz != PT_DOMAIN_TABLE_LG2)
		pt_table_mem_free(table, lg2sz, false);
	else
		slab_free(&pd->tables, table);
}

int iommu_pt_domain_init(struct iommu_pt_domain *pd, enum pt_fmt fmt, const struct pt_cfg *cfg)
{
	struct pt_cfg with_tables = *cfg;
	int rc;

	if (!cfg->alloc.alloc_table) {
		slab_init_aligned(&pd->tables, 1u << PT_DOMAIN_TABLE_LG2, 1u << PT_DOMAIN_TABLE_LG2);
		with_tables.alloc = (struct pt_alloc_ops){
			.alloc_table = pt_domain_table_alloc,
			.free_table = pt_domain_table_free,
			.priv = pd,
		};
	}
	rc = pt_init(&pd->pt, fmt, &with_tables);
	if (rc) {
		slab_destroy(&pd->tables);
		return rc;
	}
	pd->domain.type = IOMMU_DOMAIN_PAGING;
	pd->domain.pgsize_bitmap = pd->pt.pgsize_bitmap;
	pd->domain.geometry.aperture_start = 0;
	pd->domain.geometry.aperture_end =
		pd->pt.max_vasz_lg2 >= 64 ? ~0UL : (1UL << pd->pt.max_vasz_lg2) - 1;
	return 0;
}

void iommu_pt_domain_deinit(struct iommu_pt_domain *pd)
{
	pt_deinit(&pd->pt);
	slab_destroy(&pd->tables);
}

int iommu_pt_map(struct iommu_domain *domain, unsigned long iova, uint64_t pa, size_t len,
		 int prot, unsigned int flags)
{
	return pt_map(&to_pt_domain(domain)->pt, iova, pa, len, (unsigned int)prot, flags);
}

size_t iommu_pt_unmap(struct iommu_domain *domain, unsigned long iova, size_t len)
{
	return pt_unmap(&to_pt_domain(domain)->pt, iova, len);
}

void iommu_pt_prefetch(struct iommu_domain *domain, unsigned long iova)
{
	pt_prefetch(&to_pt_domain(domain)->pt, iova);
}

uint64_t iommu_pt_iova_to_phys(struct iommu_domain *domain, unsigned long iova)
{
	return pt_iova_to_phys(&to_pt_domain(domain)->pt, iova);
}

int iommu_pt_translate(struct iommu_domain *domain, unsigned long iova, unsigned int flags,
		       struct pt_walk_result *res)
{
	struct iommu_pt_domain *pd = to_pt_domain(domain);

	/* The hardware records dirty state only while tracking is on. */
	if (!pd->dirty_tracking)
		flags &= ~PT_WALK_WRITE;
	return pt_walk(&pd->pt, iova, flags, res);
}

int iommu_pt_read_and_clear_dirty(struct iommu_domain *domain, unsigned long iova,
				  size_t size, unsigned int flags, const struct pt_dirty *dirty)
{
	return pt_read_and_clear_dirty(&to_pt_domain(domain)->pt, iova, size, flags, dirty);
}

/* Inline readers (iommu.h) reach these directly. */
__thread struct iommu_dma_reader *iommu_dma_self __attribute__((tls_model("initial-exec")));
atomic_int iommu_dma_gate;
#define dma_self iommu_dma_self
#define dma_gate iommu_dma_gate
#define dma_reader iommu_dma_reader
static __thread unsigned int dma_gate_depth __attribute__((tls_model("initial-exec")));	/* gates this thread holds */
static _Atomic(struct dma_reader *) dma_readers;
atomic_ulong iommu_dma_gate_seq;	/* bumped as a gate rises and falls: flushes IOTLBs */
static atomic_bool dma_used;
static pthread_mutex_t dma_register_lock = PTHREAD_MUTEX_INITIALIZER;
static int dma_membarrier_ok = -1;	/* unknown, 0, 1 */

bool iommu_dma_reader_register(void)
{
	struct dma_reader *r;

	if (dma_self)
		return true;
	pthread_mutex_lock(&dma_register_lock);
	if (dma_membarrier_ok < 0)
		dma_membarrier_ok = syscall(SYS_membarrier,
					    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
	r = dma_membarrier_ok ? calloc(1, sizeof(*r)) : NULL;
	if (r) {
		/* Records live as long as the process: a few bytes per thread. */
		r->next = atomic_load(&dma_readers);
		atomic_store(&dma_readers, r);
		atomic_store(&dma_used, true);
		dma_self = r;
	}
	pthread_mutex_unlock(&dma_register_lock);
	return r;
}

bool iommu_dma_read_begin_locked(void)
{
	if (!dma_self || dma_gate_depth)
		return false;
	while (!iommu_dma_read_begin())
		sched_yield();
	return true;
}

void iommu_dma_gate_begin(void)
{
	struct dma_reader *r;

	dma_gate_depth++;
	atomic_fetch_add(&dma_gate, 1);
	atomic_fetch_add(&iommu_dma_gate_seq, 1);
	if (!atomic_load(&dma_used))
		return;
	syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	for (r = atomic_load(&dma_readers); r; r = r->next) {
		if (r == dma_self)
			continue;
		while (atomic_load_explicit(&r->active, memory_order_acquire))
			sched_yield();
	}
}

void iommu_dma_gate_end(void)
{
	dma_gate_depth--;
	/* Entries filled while the gate was up (by a reader that was already in) are stale. */
	atomic_fetch_add(&iommu_dma_gate_seq, 1);
	atomic_fetch_sub(&dma_gate, 1);
}

int iommu_map(struct iommu_domain *domain, unsigned long iova, uint64_t pa, size_t len,
	      int prot, unsigned int flags)
{
	int rc;

	if (!domain->ops->map)
		return -EINVAL;
	/* A failed map frees the tables it made, which a walker may be in. */
	iommu_dma_gate_begin();
	rc = domain->ops->map(domain, iova, pa, len, prot, flags);
	iommu_dma_gate_end();
	return rc;
}

size_t iommu_unmap(struct iommu_domain *domain, unsigned long iova, size_t len)
{
	size_t unmapped;

	if (!domain->ops->unmap)
		return 0;
	iommu_dma_gate_begin();
	unmapped = domain->ops->unmap(domain, iova, len);
	iommu_dma_gate_end();
	return unmapped;
}

uint64_t iommu_iova_to_phys(struct iommu_domain *domain, unsigned long iova)
{
	return domain->ops->iova_to_phys ? domain->ops->iova_to_phys(domain, iova) : 0;
}

void iommu_domain_free(struct iommu_domain *domain)
{
	iommu_dma_gate_begin();
	domain->ops->free(domain);
	iommu_dma_gate_end();
}

unsigned long iommu_domain_min_pgsize(const struct iommu_domain *domain)
{
	return domain->pgsize_bitmap ? domain->pgsize_bitmap & -domain->pgsize_bitmap : 1;
}

int iommu_attach_device(struct iommu_domain *domain, struct device *dev)
{
	struct iommu_domain *old = dev->domain;
	int rc;

	if (!domain)
		domain = dev->iommu_ops->blocked_domain;
	if (domain == old)
		return 0;
	rc = domain->ops->attach_dev(domain, dev, old);
	if (rc)
		return rc;
	/* Lock-free DMA reads this: it must see the domain whole (iommu_dev_dma). */
	__atomic_store_n(&dev->domain, domain, __ATOMIC_RELEASE);
	/* After the store: an IOTLB entry tagged with the device, not the domain, goes stale. */
	atomic_fetch_add_explicit(&iommu_dma_gate_seq, 1, memory_order_release);
	return 0;
}

/* Whether @domain may go on PASID @pasid of @dev at all. */
static int iommu_pasid_domain_check(struct iommu_domain *domain, struct device *dev,
				    uint32_t pasid)
{
	struct iommu_domain *blocked = dev->iommu_ops->blocked_domain;

	/* Detach goes through the blocked domain, so it must take PASIDs too. */
	if (!domain->ops->set_dev_pasid || !blocked || !blocked->ops->set_dev_pasid)
		return -EOPNOTSUPP;
	if (domain->owner != dev->iommu_ops || pasid == IOMMU_NO_PASID)
		return -EINVAL;
	return 0;
}

int iommu_attach_device_pasid(struct iommu_domain *domain, struct device *dev, uint32_t pasid)
{
	int rc;

	rc = iommu_pasid_domain_check(domain, dev, pasid);
	if (rc)
		return rc;
	/* A device without PASID support has only PASID 0, the RID. */
	if ((uint64_t)pasid >= (1ULL << dev->max_pasid_lg2))
		return -EINVAL;
	return domain->ops->set_dev_pasid(domain, dev, pasid, NULL);
}

int iommu_replace_device_pasid(struct iommu_domain *domain, struct device *dev, uint32_t pasid,
			       struct iommu_domain *old)
{
	int rc;

	rc = iommu_pasid_domain_check(domain, dev, pasid);
	if (rc)
		return rc;
	if (domain == old)
		return 0;
	/* The driver keeps @old in place when it fails. */
	return domain->ops->set_dev_pasid(domain, dev, pasid, old);
}

void iommu_detach_device_pasid(struct iommu_domain *domain, struct device *dev, uint32_t pasid)
{
	struct iommu_domain *blocked = dev->iommu_ops->blocked_domain;

	/* Blocking must not fail (the kernel WARNs); the PASID is detached regardless. */
	blocked->ops->set_dev_pasid(blocked, dev, pasid, domain);
}

/*
 * The DMA engine's copy.  Device DMA moves whole pages between page-aligned
 * buffers, where x86's string move (ERMS) beats a vector loop, as it does
 * for the kernel's own page and user copies; small or mutually misaligned
 * copies go to memcpy, which wins there.
 */
void iommu_dma_memcpy(void *dst, const void *src, size_t len)
{
#if defined(__x86_64__)
	static atomic_int erms = -1;	/* unknown, 0, 1 */
	int has = atomic_load_explicit(&erms, memory_order_relaxed);

	if (has < 0) {
		unsigned int eax, ebx, ecx, edx;

		/* CPUID.(EAX=7, ECX=0):EBX bit 9 is ERMS. */
		has = __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (ebx & (1u << 9));
		atomic_store_explicit(&erms, has, memory_order_relaxed);
	}
	if (has && len >= IOMMU_DMA_ENGINE_MIN && !(((uintptr_t)dst - (uintptr_t)src) & 63)) {
		__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(len) : : "memory");
		return;
	}
#endif
	memcpy(dst, src, len);
}

/*
 * A one-entry IOTLB per thread: a span of IOVA that translates linearly to
 * one host range, with the host address of its first byte, so a hit is a
 * compare and a copy.  On a paging domain of src/pt the span is a run of
 * leaves (pt_walk_run()): consecutive IOPTEs whose outputs follow each
 * other, as a VMM's guest RAM mapped in 4 KiB pages mostly is, so a stream
 * of DMAs descends the table once per run rather than once per leaf.  The
 * run reaches DMA_RUN_AHEAD past the transfer, no more: a fill scans each
 * IOPTE it takes, and a random pattern would pay for scanning far ahead.
 * A stream earns a longer reach: a fill that starts where the last span
 * ended doubles the reach (up to DMA_RUN_AHEAD_MAX), one elsewhere cuts it
 * by a quarter, so a sequential pass over many pages descends the table a few times
 * rather than once every 64 KiB, and random traffic soon scans the minimum.
 *
 * Any gate (map, unmap, domain free, dirty tracking turned on, dirty bits
 * cleared, the host moving pinned pages) flushes the entry.  As in
 * hardware, an entry filled by a read does not serve a write: the write
 * walks so the walk can mark the leaves dirty, and the entry it leaves
 * serves both until the next flush.  While the domain tracks dirty state a
 * write's run stops at the end of the transfer, so no leaf is marked that
 * the transfer does not write.
 */
#define DMA_RUN_AHEAD (64UL << 10)
#define DMA_RUN_AHEAD_MAX (1UL << 20)

__thread struct dma_iotlb iommu_dma_iotlb __attribute__((tls_model("initial-exec")));

/*
 * Translate @iova for a transfer whose last byte is @xfer_last: the leaf in
 * @res and the last IOVA of the run it starts.  Domains on src/pt are
 * walked here directly, which every driver that uses iommu_pt_translate
 * gets without an op of its own; others (nested) give one leaf.
 */
static int iommu_dma_translate(struct iommu_domain *domain, unsigned long iova,
			       unsigned long xfer_last, unsigned long ahead, unsigned int walk,
			       struct pt_walk_result *res, uint64_t *run_last)
{
	if (domain->ops->translate == iommu_pt_translate) {
		struct iommu_pt_domain *pd = to_pt_domain(domain);
		uint64_t scan_last = xfer_last;

		if (!pd->dirty_tracking)
			walk &= ~PT_WALK_WRITE;
		if (!(walk & PT_WALK_WRITE))
			scan_last = scan_last + ahead < scan_last ? ~0ULL : scan_last + ahead;
		return pt_walk_run(&pd->pt, iova, scan_last, walk, res, run_last) ? -EFAULT : 0;
	}
	if (domain->ops->translate(domain, iova, walk, res))
		return -EFAULT;
	*run_last = (iova - (res->oa - res->page_oa)) + ((1ULL << res->pgsize_lg2) - 1);
	return 0;
}

/* Walk @iova and resolve the host range behind its run of leaves into @tlb. */
static int iommu_dma_iotlb_fill(struct dma_iotlb *tlb, struct iommu_domain *domain,
				struct uiommufd_host *host, unsigned long iova,
				unsigned long xfer_last, unsigned int walk, unsigned long seq)
{
	struct pt_walk_result res;
	uint64_t run_last, span_m1;
	unsigned long ahead = tlb->ahead ? tlb->ahead : DMA_RUN_AHEAD;
	size_t klen;
	void *kaddr;
	bool store;

	/* Only a guess about the traffic, so a stale entry's span serves as well as a live one. */
	if (iova == tlb->last + 1)
		ahead = ahead < DMA_RUN_AHEAD_MAX ? ahead * 2 : DMA_RUN_AHEAD_MAX;
	else if (ahead > DMA_RUN_AHEAD)
		ahead -= ahead / 4;
	tlb->ahead = ahead;
	if (!domain->ops->translate ||
	    iommu_dma_translate(domain, iova, xfer_last, ahead, walk, &res, &run_last))
		return -EFAULT;
	/* A write needs a host address that takes stores; a read-only leaf is EPERM later. */
	store = (walk & PT_WALK_WRITE) && (res.prot & PT_WRITE);
	/* Usually one pin backs the whole run; else the span starts at @iova. */
	kaddr = host->ops->phys_kaddr(host, res.page_oa, store, &klen);
	if (klen > res.oa - res.page_oa) {
		tlb->iova = iova - (res.oa - res.page_oa);
		tlb->pa = res.page_oa;
	} else {
		kaddr = host->ops->phys_kaddr(host, res.oa, store, &klen);
		if (!klen)
			return -EFAULT;
		tlb->iova = iova;
		tlb->pa = res.oa;
	}
	span_m1 = run_last - tlb->iova;
	if (klen - 1 < span_m1)
		span_m1 = klen - 1;
	tlb->last = tlb->iova + span_m1;
	tlb->kaddr = kaddr;
	tlb->prot = res.prot;
	tlb->walk = walk;
	tlb->fast = !kaddr ? 0
			   : ((res.prot & PT_READ) ? DMA_FAST_READ : 0) |
				     (store ? DMA_FAST_WRITE : 0);
	tlb->domain = domain;
	tlb->seq = seq;
	tlb->owner = NULL;
	return 0;
}

/* Everything but a hit in one piece: fills, spans, faults and indirect copies. */
int iommu_dev_dma_walk(struct device *dev, unsigned long iova, void *buf, size_t len,
		       unsigned int flags)
{
	/*
	 * Read again rather than passed: with the caller's own arguments the
	 * call is a plain jump.  A domain attached in between is what a DMA
	 * issued a moment later would have used.
	 */
	struct iommu_domain *domain = __atomic_load_n(&dev->domain, __ATOMIC_ACQUIRE);
	unsigned long seq = atomic_load_explicit(&iommu_dma_gate_seq, memory_order_relaxed);
	uint8_t *p = buf;
	bool write = flags & IOMMU_DMA_WRITE;
	unsigned int walk = write ? PT_WALK_WRITE : 0;
	unsigned int need = write ? PT_WRITE : PT_READ;
	struct dma_iotlb *tlb = &iommu_dma_iotlb;

	if (!domain)
		return -EFAULT;
	while (len) {
		size_t n;
		uint8_t *kaddr;

		if (tlb->domain != domain || tlb->seq != seq || (walk & ~tlb->walk) ||
		    iova - tlb->iova > tlb->last - tlb->iova) {
			tlb->domain = NULL;
			tlb->owner = NULL;
			if (iommu_dma_iotlb_fill(tlb, domain, dev->host, iova, iova + (len - 1),
						 walk, seq))
				return -EFAULT;
		}
		if (!(tlb->prot & need))
			return -EPERM;
		n = tlb->last - iova + 1;
		if (n > len || n == 0)	/* 0: the span is the whole address space */
			n = len;
		if (!tlb->kaddr) {
			/* The program's protection hides the page from us: the host copies. */
			int rc = dev->host->ops->phys_rw(dev->host, tlb->pa + (iova - tlb->iova), p,
							 n, write);

			if (rc)
				return rc;
		} else {
			kaddr = tlb->kaddr + (iova - tlb->iova);
			if (write)
				iommu_dma_memcpy(kaddr, p, n);
			else
				iommu_dma_memcpy(p, kaddr, n);
		}
		p += n;
		iova += n;
		len -= n;
	}
	return 0;
}

/*
 * The copy's own IOTLB entries, one for each side, so a copy streaming
 * through two buffers does not evict the entry iommu_dev_dma() keeps for
 * the descriptor ring (and the two sides do not evict each other).
 */
__thread struct dma_iotlb iommu_dma_copy_iotlb[2] __attribute__((tls_model("initial-exec")));

/* How many bytes from @iova one entry of @tlb covers (at most @len), refilled as needed. */
static int iommu_dma_copy_span(struct dma_iotlb *tlb, struct iommu_domain *domain,
			       struct uiommufd_host *host, unsigned long iova, bool write,
			       unsigned long seq, size_t len, size_t *n)
{
	unsigned int walk = write ? PT_WALK_WRITE : 0;
	unsigned int need = write ? PT_WRITE : PT_READ;

	if (tlb->domain != domain || tlb->seq != seq || (walk & ~tlb->walk) ||
	    iova - tlb->iova > tlb->last - tlb->iova) {
		tlb->domain = NULL;
		if (iommu_dma_iotlb_fill(tlb, domain, host, iova, iova + (len - 1), walk, seq))
			return -EFAULT;
	}
	if (!(tlb->prot & need))
		return -EPERM;
	*n = tlb->last - iova + 1;
	if (*n > len || *n == 0)	/* 0: the span is the whole address space */
		*n = len;
	return 0;
}

int iommu_dev_dma_copy_walk(struct device *dev, unsigned long dst, unsigned long src, size_t len,
			    size_t *done, bool *dst_fault)
{
	/* As in iommu_dev_dma(): the domain read once, kept until its free's gate. */
	struct iommu_domain *domain = __atomic_load_n(&dev->domain, __ATOMIC_ACQUIRE);
	unsigned long seq = atomic_load_explicit(&iommu_dma_gate_seq, memory_order_relaxed);
	struct dma_iotlb *rd = &iommu_dma_copy_iotlb[0], *wr = &iommu_dma_copy_iotlb[1];
	struct uiommufd_host *host = dev->host;
	bool dside = false;
	size_t moved = 0;
	int rc = 0;

	if (!domain || !domain->ops->translate) {
		rc = len ? -EFAULT : 0;	/* blocked: the first read faults */
		goto out;
	}
	while (len) {
		size_t ns, nd, n;
		uint8_t *ks, *kd;

		/* The read is issued first, so a fault on both sides is the read's. */
		rc = iommu_dma_copy_span(rd, domain, host, src, false, seq, len, &ns);
		if (rc)
			break;
		rc = iommu_dma_copy_span(wr, domain, host, dst, true, seq, len, &nd);
		if (rc) {
			dside = true;
			break;
		}
		n = ns < nd ? ns : nd;
		ks = rd->kaddr ? rd->kaddr + (src - rd->iova) : NULL;
		kd = wr->kaddr ? wr->kaddr + (dst - wr->iova) : NULL;
		if (__builtin_expect(ks && kd, 1)) {
			uintptr_t s = (uintptr_t)ks, d = (uintptr_t)kd;

			/* The same pages on both sides: the result is defined (memmove's). */
			if (d < s + n && s < d + n)
				memmove(kd, ks, n);
			else
				iommu_dma_memcpy(kd, ks, n);
		} else {
			/* A side the program's protection hides: the host copies, a bit at a time. */
			uint8_t bounce[512];

			if (n > sizeof(bounce))
				n = sizeof(bounce);
			if (ks)
				memcpy(bounce, ks, n);
			else if ((rc = host->ops->phys_rw(host, rd->pa + (src - rd->iova), bounce, n,
							  false)))
				break;
			if (kd) {
				memcpy(kd, bounce, n);
			} else if ((rc = host->ops->phys_rw(host, wr->pa + (dst - wr->iova), bounce, n,
							    true))) {
				dside = true;
				break;
			}
		}
		moved += n;
		src += n;
		dst += n;
		len -= n;
	}
out:
	if (done)
		*done = moved;
	if (dst_fault)
		*dst_fault = rc && dside;
	return rc;
}
