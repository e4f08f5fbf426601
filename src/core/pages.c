// SPDX-License-Identifier: MIT
/*
 * The memory behind areas: iopt_pages, pinning and accounting.
 *
 * An iopt_pages is one run of source memory (user addresses or a file
 * range) in PAGE_SIZE indexes, shared by every area that maps part of it.
 * Nothing is pinned when it is created.  Pages are pinned when something
 * needs them to stay put (a domain being filled, an access), and each page
 * is pinned once however many users want it: @pin_users counts the users
 * per page, and @runs records the pinned ranges with the host pin that
 * holds each.  Indexes use inclusive `last` bounds throughout.
 *
 * Accounting follows the pins: pages are charged when first pinned and
 * uncharged when last unpinned, in the mode the pages were created with
 * (none with CAP_IPC_LOCK, else per user, or per process for VFIO-style
 * contexts).  As in the kernel, the charge is taken after the pin, and a
 * charge past RLIMIT_MEMLOCK undoes the pin: ENOMEM, nothing held.
 *
 * Destroy never fails.  Releasing part of a pinned run needs the host to
 * split its pin; if that cannot be done the pages stay pinned, still
 * recorded in @runs, until the whole run is released.
 */
#include <stdlib.h>
#include <string.h>

#include "core/io_pagetable.h"
#include "iommu/iommu.h"

enum iopt_address_type {
	IOPT_ADDRESS_USER,
	IOPT_ADDRESS_FILE,
};

struct iopt_pin_run {
	unsigned long first;
	unsigned long last;
	struct host_pin *pin;
};

struct iopt_pages {
	unsigned int refs;
	enum iopt_address_type type;
	struct uiommufd_host *host;
	uint64_t uptr;			/* IOPT_ADDRESS_USER: page aligned */
	struct host_file *file;		/* IOPT_ADDRESS_FILE */
	struct iommufd_dmabuf *dmabuf;	/* set for dma-buf files: file is its */
	struct host_anon *dmabuf_ref;
	uint64_t start;			/* IOPT_ADDRESS_FILE: page aligned offset */
	unsigned long npages;
	bool writable;
	enum iopt_account_mode account_mode;

	uint32_t *pin_users;		/* per page, allocated on first pin */
	struct iopt_pin_run *runs;	/* sorted, disjoint */
	size_t nr_runs;
	size_t max_runs;
	unsigned long npinned;		/* pages covered by runs */
};

static struct iopt_pages *iopt_alloc_pages(struct iommufd_ctx *ictx, unsigned long start_byte,
					   unsigned long length, bool writable)
{
	struct iopt_pages *pages;

	/* size_t lengths, and the round up below, must not overflow. */
	if (length > SIZE_MAX - PAGE_SIZE || length == 0)
		return ERR_PTR(-EINVAL);

	pages = iommufd_zalloc(sizeof(*pages));
	if (!pages)
		return ERR_PTR(-ENOMEM);
	pages->refs = 1;
	pages->host = ictx->host;
	pages->npages = (length + start_byte + PAGE_SIZE - 1) / PAGE_SIZE;
	pages->writable = writable;
	if (ictx->host->ops->capable(ictx->host, HOST_CAP_IPC_LOCK))
		pages->account_mode = IOPT_PAGES_ACCOUNT_NONE;
	else if (ictx->account_mode == IOPT_PAGES_ACCOUNT_MM)
		pages->account_mode = IOPT_PAGES_ACCOUNT_MM;
	else
		pages->account_mode = IOPT_PAGES_ACCOUNT_USER;
	return pages;
}

struct iopt_pages *iopt_alloc_user_pages(struct iommufd_ctx *ictx, uint64_t uptr,
					 unsigned long length, bool writable)
{
	unsigned long start_byte = uptr % PAGE_SIZE;
	struct iopt_pages *pages;
	uint64_t end;

	if (!length)
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(uptr, (uint64_t)length, &end))
		return ERR_PTR(-EOVERFLOW);

	pages = iopt_alloc_pages(ictx, start_byte, length, writable);
	if (IS_ERR(pages))
		return pages;
	pages->type = IOPT_ADDRESS_USER;
	pages->uptr = uptr - start_byte;
	return pages;
}

struct iopt_pages *iopt_alloc_file_pages(struct iommufd_ctx *ictx, struct host_file *file,
					 unsigned long start, unsigned long length,
					 bool writable)
{
	unsigned long start_down = start - start % PAGE_SIZE;
	struct iopt_pages *pages;
	unsigned long end;

	if (length && check_add_overflow(start, length - 1, &end))
		return ERR_PTR(-EOVERFLOW);

	pages = iopt_alloc_pages(ictx, start - start_down, length, writable);
	if (IS_ERR(pages))
		return pages;
	pages->type = IOPT_ADDRESS_FILE;
	pages->file = file;
	pages->start = start_down;
	return pages;
}

struct iopt_pages *iopt_alloc_dmabuf_pages(struct iommufd_ctx *ictx,
					   struct iommufd_dmabuf *dmabuf, struct host_anon *ref,
					   unsigned long start, unsigned long length, bool writable)
{
	struct iopt_pages *pages;

	pages = iopt_alloc_file_pages(ictx, dmabuf->file, start, length, writable);
	if (IS_ERR(pages))
		return pages;
	/* Device memory is never charged. */
	pages->account_mode = IOPT_PAGES_ACCOUNT_NONE;
	pages->dmabuf = dmabuf;
	pages->dmabuf_ref = ref;
	return pages;
}

struct iommufd_dmabuf *iopt_pages_dmabuf(const struct iopt_pages *pages)
{
	return pages->dmabuf;
}

void iopt_get_pages_ref(struct iopt_pages *pages)
{
	pages->refs++;
}

static void iopt_release_pages(struct iopt_pages *pages)
{
	struct uiommufd_host *host = pages->host;
	size_t i;

	for (i = 0; i != pages->nr_runs; i++)
		host->ops->unpin(host, pages->runs[i].pin);
	if (pages->npinned && pages->account_mode != IOPT_PAGES_ACCOUNT_NONE)
		host->ops->account(host, (enum host_account_mode)pages->account_mode,
				   -(long)pages->npinned);
	if (pages->dmabuf)
		host->ops->anon_put(host, pages->dmabuf_ref);
	else if (pages->file)
		host->ops->file_put(host, pages->file);
	free(pages->runs);
	free(pages->pin_users);
	free(pages);
}

void iopt_put_pages(struct iopt_pages *pages)
{
	if (--pages->refs == 0)
		iopt_release_pages(pages);
}

bool iopt_pages_writable(const struct iopt_pages *pages)
{
	return pages->writable;
}

unsigned long iopt_pages_npages(const struct iopt_pages *pages)
{
	return pages->npages;
}

uint64_t iopt_pages_source_start(const struct iopt_pages *pages)
{
	return pages->type == IOPT_ADDRESS_USER ? pages->uptr : pages->start;
}

unsigned long iopt_pages_npinned(const struct iopt_pages *pages)
{
	return pages->npinned;
}

/* Index of the first run whose last >= @index. */
static size_t pin_run_lower_bound(const struct iopt_pages *pages, unsigned long index)
{
	size_t lo = 0, hi = pages->nr_runs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pages->runs[mid].last < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int pin_runs_reserve(struct iopt_pages *pages, size_t extra)
{
	struct iopt_pin_run *grown;
	size_t cap;

	if (pages->nr_runs + extra <= pages->max_runs)
		return 0;
	cap = max_t(size_t, pages->nr_runs + extra, pages->max_runs * 2);
	grown = iommufd_realloc_array(pages->runs, cap, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	pages->runs = grown;
	pages->max_runs = cap;
	return 0;
}

/* Capacity must have been reserved; [first, last] must be unpinned. */
static void pin_run_insert(struct iopt_pages *pages, unsigned long first, unsigned long last,
			   struct host_pin *pin)
{
	size_t i = pin_run_lower_bound(pages, first);

	memmove(&pages->runs[i + 1], &pages->runs[i],
		(pages->nr_runs - i) * sizeof(*pages->runs));
	pages->runs[i] = (struct iopt_pin_run){ .first = first, .last = last, .pin = pin };
	pages->nr_runs++;
	pages->npinned += last - first + 1;
}

static int host_pin_index_range(struct iopt_pages *pages, unsigned long first,
				unsigned long last, struct host_pin **out)
{
	struct uiommufd_host *host = pages->host;
	size_t len = (last - first + 1) * PAGE_SIZE;

	if (pages->type == IOPT_ADDRESS_USER)
		return host->ops->pin_user(host, pages->uptr + first * PAGE_SIZE, len,
					   pages->writable, out);
	return host->ops->pin_file(host, pages->file, pages->start + first * PAGE_SIZE, len,
				   pages->writable, out);
}

static void pages_uncharge(struct iopt_pages *pages, unsigned long npages)
{
	struct uiommufd_host *host = pages->host;

	if (pages->account_mode != IOPT_PAGES_ACCOUNT_NONE)
		host->ops->account(host, (enum host_account_mode)pages->account_mode,
				   -(long)npages);
}

/*
 * Unpin the indexes [first, last], which lie inside run @i.  The run's host
 * pin is split around them; if a split cannot be made, what could not be
 * cut off stays pinned and recorded.
 */
static void pin_run_release(struct iopt_pages *pages, size_t i, unsigned long first,
			    unsigned long last)
{
	struct uiommufd_host *host = pages->host;
	struct iopt_pin_run *run = &pages->runs[i];
	struct host_pin *mid = run->pin, *back;
	unsigned long run_last = run->last;

	if (first > run->first) {
		/* A cut in the middle leaves a back piece needing a slot. */
		if (last < run_last && pin_runs_reserve(pages, 1))
			return;
		run = &pages->runs[i];
		if (host->ops->pin_split(host, run->pin, (first - run->first) * PAGE_SIZE, &mid))
			return;
		run->last = first - 1;
		pages->npinned -= run_last - first + 1;
	} else {
		memmove(run, run + 1, (pages->nr_runs - i - 1) * sizeof(*run));
		pages->nr_runs--;
		pages->npinned -= run_last - first + 1;
	}
	/* mid now holds [first, run_last] and is not in the run list. */
	if (last < run_last) {
		if (host->ops->pin_split(host, mid, (last - first + 1) * PAGE_SIZE, &back)) {
			pin_run_insert(pages, first, run_last, mid);
			return;
		}
		pin_run_insert(pages, last + 1, run_last, back);
	}
	host->ops->unpin(host, mid);
	pages_uncharge(pages, last - first + 1);
}

/*
 * Pin the indexes [start_index, last_index] for one more user.  Pages no
 * user held yet are pinned through the host and charged.  On failure
 * nothing changes.
 */
int iopt_pages_pin(struct iopt_pages *pages, unsigned long start_index,
		   unsigned long last_index)
{
	struct uiommufd_host *host = pages->host;
	unsigned long idx, newly = 0;
	size_t nr_new = 0, i;
	int rc;

	if (start_index > last_index || last_index >= pages->npages)
		return -EINVAL;
	if (!pages->pin_users) {
		pages->pin_users = iommufd_realloc_array(NULL, pages->npages,
							 sizeof(*pages->pin_users));
		if (!pages->pin_users)
			return -ENOMEM;
		memset(pages->pin_users, 0, pages->npages * sizeof(*pages->pin_users));
	}

	/* Pin every hole between the runs that already exist. */
	idx = start_index;
	while (idx <= last_index) {
		unsigned long hole_last = last_index;
		struct host_pin *pin;

		/* Runs are re-found by position: inserts shift them. */
		i = pin_run_lower_bound(pages, idx);
		if (i != pages->nr_runs && pages->runs[i].first <= idx) {
			if (pages->runs[i].last >= last_index)
				break;
			idx = pages->runs[i].last + 1;
			continue;
		}
		if (i != pages->nr_runs && pages->runs[i].first <= last_index)
			hole_last = pages->runs[i].first - 1;

		rc = pin_runs_reserve(pages, 1);
		if (rc)
			goto err_unpin;
		rc = host_pin_index_range(pages, idx, hole_last, &pin);
		if (rc)
			goto err_unpin;
		pin_run_insert(pages, idx, hole_last, pin);
		newly += hole_last - idx + 1;
		nr_new++;
		if (hole_last == last_index)
			break;
		idx = hole_last + 1;
	}

	if (newly && pages->account_mode != IOPT_PAGES_ACCOUNT_NONE) {
		rc = host->ops->account(host, (enum host_account_mode)pages->account_mode,
					(long)newly);
		if (rc)
			goto err_unpin;
	}
	for (idx = start_index; idx <= last_index; idx++)
		pages->pin_users[idx]++;
	return 0;

err_unpin:
	/* Undo the runs this call added: exactly those with no users. */
	for (i = 0; nr_new && i < pages->nr_runs;) {
		struct iopt_pin_run *run = &pages->runs[i];

		if (run->first >= start_index && run->last <= last_index &&
		    !pages->pin_users[run->first]) {
			struct host_pin *pin = run->pin;

			pages->npinned -= run->last - run->first + 1;
			memmove(run, run + 1, (pages->nr_runs - i - 1) * sizeof(*run));
			pages->nr_runs--;
			host->ops->unpin(host, pin);
			nr_new--;
			continue;
		}
		i++;
	}
	return rc;
}

/* Drop one user of [start_index, last_index]; unpin what nobody uses. */
void iopt_pages_unpin(struct iopt_pages *pages, unsigned long start_index,
		      unsigned long last_index)
{
	unsigned long idx = start_index;

	if (!pages->pin_users || start_index > last_index || last_index >= pages->npages)
		return;
	for (idx = start_index; idx <= last_index; idx++)
		if (pages->pin_users[idx])
			pages->pin_users[idx]--;

	/* Release maximal runs of unused pages inside each pinned run. */
	idx = start_index;
	while (idx <= last_index) {
		size_t i = pin_run_lower_bound(pages, idx);
		unsigned long first, last, stop;

		if (i == pages->nr_runs || pages->runs[i].first > last_index)
			break;
		idx = max_t(unsigned long, idx, pages->runs[i].first);
		stop = min_t(unsigned long, pages->runs[i].last, last_index);
		while (idx <= stop && pages->pin_users[idx])
			idx++;
		if (idx > stop) {
			if (stop == last_index)
				break;
			idx = stop + 1;
			continue;
		}
		first = idx;
		while (idx <= stop && !pages->pin_users[idx])
			idx++;
		last = idx - 1;
		pin_run_release(pages, i, first, last);
		if (last == last_index)
			break;
	}
}

void *iopt_pages_kaddr(struct iopt_pages *pages, unsigned long index)
{
	size_t i = pin_run_lower_bound(pages, index);
	const struct iopt_pin_run *run;

	if (i == pages->nr_runs || pages->runs[i].first > index)
		return NULL;
	run = &pages->runs[i];
	return pages->host->ops->pin_kaddr(pages->host, run->pin,
					   (index - run->first) * PAGE_SIZE);
}

bool iopt_pages_is_file(const struct iopt_pages *pages)
{
	return pages->type == IOPT_ADDRESS_FILE;
}

uint64_t iopt_pages_phys(struct iopt_pages *pages, unsigned long byte, size_t *len)
{
	unsigned long index = byte / PAGE_SIZE;
	size_t i = pin_run_lower_bound(pages, index);
	const struct iopt_pin_run *run;

	if (i == pages->nr_runs || pages->runs[i].first > index) {
		*len = 0;
		return 0;
	}
	run = &pages->runs[i];
	return pages->host->ops->pin_phys(pages->host, run->pin,
					  byte - run->first * PAGE_SIZE, len);
}

/* Copy @n bytes at @byte (inside one page) through the pin that holds them. */
static int iopt_pages_rw_pinned(struct iopt_pages *pages, unsigned long byte, void *data,
				size_t n, bool write)
{
	unsigned long index = byte / PAGE_SIZE;
	size_t i = pin_run_lower_bound(pages, index);
	const struct iopt_pin_run *run;

	if (i == pages->nr_runs || pages->runs[i].first > index)
		return -EFAULT;
	run = &pages->runs[i];
	return pages->host->ops->pin_rw(pages->host, run->pin, byte - run->first * PAGE_SIZE, data,
					n, write);
}

/*
 * Copy through pins: required for files, and the way every copy goes when
 * the caller asks for the slow path.  The pages are pinned for the copy.
 */
static int iopt_pages_rw_slow(struct iopt_pages *pages, unsigned long start_byte, uint8_t *data,
			      unsigned long length, bool write)
{
	unsigned long first = start_byte / PAGE_SIZE;
	unsigned long last = (start_byte + length - 1) / PAGE_SIZE;
	int rc;

	rc = iopt_pages_pin(pages, first, last);
	if (rc)
		return rc;
	while (length) {
		unsigned long offset = start_byte % PAGE_SIZE;
		unsigned long n = min_t(unsigned long, length, PAGE_SIZE - offset);
		uint8_t *kaddr = iopt_pages_kaddr(pages, start_byte / PAGE_SIZE);

		if (!kaddr) {
			/* The program's protection hides the page: the host copies. */
			rc = iopt_pages_rw_pinned(pages, start_byte, data, n, write);
			if (rc)
				break;
		} else if (write) {
			memcpy(kaddr + offset, data, n);
		} else {
			memcpy(data, kaddr + offset, n);
		}
		data += n;
		start_byte += n;
		length -= n;
	}
	iopt_pages_unpin(pages, first, last);
	return rc;
}

/*
 * The fast path's copy at user address @uptr.  The pages a pin holds at
 * their user address (a domain is filled, say) are the user's memory, and
 * the host keeps them in place while a DMA reader is in: those are copied
 * with a plain memcpy, no fault guard and no check of the user's mapping,
 * in one piece per run of such pages.  What is not pinned there (never
 * pinned, moved aside, hidden by mprotect) goes through copy_to_user() and
 * copy_from_user() as before, from the first such page on, so faults and
 * EFAULT are the kernel's.
 */
static int iopt_pages_rw_user(struct iopt_pages *pages, uint64_t uptr, uint8_t *data,
			      unsigned long length, bool write)
{
	struct uiommufd_host *host = pages->host;
	unsigned long done = 0;
	bool reading;

	/* Under the context lock: registering is allowed, and later calls skip it. */
	iommu_dma_reader_register();
	reading = iommu_dma_read_begin_locked();
	while (done < length) {
		uint64_t at = uptr + done;
		unsigned long index = (unsigned long)(at - pages->uptr) / PAGE_SIZE;
		uint64_t page = at - (at - pages->uptr) % PAGE_SIZE;

		if ((uintptr_t)iopt_pages_kaddr(pages, index) != (uintptr_t)page)
			break;
		done += (unsigned long)min_t(uint64_t, length - done, page + PAGE_SIZE - at);
	}
	if (done) {
		if (write)
			memcpy((void *)(uintptr_t)uptr, data, done);
		else
			memcpy(data, (const void *)(uintptr_t)uptr, done);
	}
	if (reading)
		iommu_dma_read_end();
	if (done == length)
		return 0;
	if (write)
		return copy_to_user(host, uptr + done, data + done, length - done);
	return copy_from_user(host, data + done, uptr + done, length - done);
}

int iopt_pages_rw_access(struct iopt_pages *pages, unsigned long start_byte, void *data,
			 unsigned long length, unsigned int flags)
{
	bool write = flags & IOMMUFD_ACCESS_RW_WRITE;
	uint64_t uptr;

	if (pages->dmabuf)
		return -EINVAL;	/* device memory has no CPU path */
	if (write && !pages->writable)
		return -EPERM;
	if (pages->type == IOPT_ADDRESS_FILE || (flags & __IOMMUFD_ACCESS_RW_SLOW_PATH))
		return iopt_pages_rw_slow(pages, start_byte, data, length, write);

	/* As the kernel's fast path: the source memory, pinned or not. */
	uptr = pages->uptr + start_byte;
	return iopt_pages_rw_user(pages, uptr, data, length, write);
}
