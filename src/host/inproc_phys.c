// SPDX-License-Identifier: MIT
/*
 * The in-process host, reaching pinned memory: through a pin's handle
 * (kaddr, copies, its physical address), through a physical address (the
 * devices' DMA, with a per-thread cache of recent resolutions), and the
 * count of pins on a page.  Making and releasing pins is inproc.c's; the
 * address spaces are described at its top.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/host.h"
#include "host/inproc.h"
#include "host/inproc_int.h"
#include "host/inproc_pins.h"
#include "host/itree.h"
#include "uiommufd.h"

/*
 * Copy @len bytes at user address @uaddr of this process.  The descriptor
 * is opened for each copy: one kept open could be closed or replaced by
 * the program (closefrom, dup2), and one opened before fork() reaches the
 * parent's memory.
 */
static int mem_rw(uint64_t uaddr, void *buf, size_t len, bool write)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/mem", O_RDWR | O_CLOEXEC);
	int rc = 0;
	ssize_t n;

	if (fd < 0)
		return -EFAULT;
	while (len) {
		n = write ? syscall(SYS_pwrite64, fd, buf, len, (off_t)uaddr)
			  : syscall(SYS_pread64, fd, buf, len, (off_t)uaddr);
		if (n <= 0) {
			rc = -EFAULT;
			break;
		}
		buf = (uint8_t *)buf + n;
		uaddr += (uint64_t)n;
		len -= (size_t)n;
	}
	syscall(SYS_close, fd);
	return rc;
}

static int seg_indirect_rw(const struct pin_seg *seg, size_t at, void *buf, size_t len,
			   bool write)
{
	return mem_rw((uintptr_t)seg->kaddr + at, buf, len, write);
}

/*
 * A device model's copies ask the kernel address of one page after
 * another of the same pin, so each thread keeps the plain segment it last
 * resolved: by its record (a handle may come to name another record; a
 * record's segments change only with pa_gen), good while pa_gen has not
 * moved.  A hit takes no lock.
 */
struct pin_seen {
	unsigned long gen;
	const struct pin_rec *rec;
	size_t offset, len;		/* the segment's place in the record */
	uint8_t *kaddr;
};

static __thread struct pin_seen pin_seen __attribute__((tls_model("initial-exec")));

void *inproc_pin_kaddr(struct uiommufd_host *host, struct host_pin *handle, size_t offset)
{
	unsigned long gen = atomic_load_explicit(&inproc_pa_gen, memory_order_acquire);
	struct pin_seen *seen = &pin_seen;
	const struct pin_seg *seg;
	struct pin_rec *pin;
	void *kaddr = NULL;
	size_t i;

	(void)host;
	if (seen->gen == gen && seen->rec == handle_rec(handle) && offset - seen->offset < seen->len)
		return seen->kaddr + (offset - seen->offset);
	pthread_mutex_lock(&inproc_pins_lock);
	pin = handle_rec(handle);
	i = inproc_seg_find(pin, offset);
	if (i != pin->nr_segs && !pin->segs[i]->indirect) {
		seg = pin->segs[i];
		kaddr = seg->kaddr + (offset - seg->offset);
		*seen = (struct pin_seen){
			.gen = atomic_load_explicit(&inproc_pa_gen, memory_order_relaxed),
			.rec = pin, .offset = seg->offset, .len = seg->len, .kaddr = seg->kaddr,
		};
	}
	pthread_mutex_unlock(&inproc_pins_lock);
	return kaddr;
}

int inproc_pin_rw(struct uiommufd_host *host, struct host_pin *handle, size_t offset,
			 void *buf, size_t len, bool write)
{
	struct pin_rec *pin;
	const struct pin_seg *seg;
	int rc = -EFAULT;
	size_t i, at;

	(void)host;
	pthread_mutex_lock(&inproc_pins_lock);
	pin = handle_rec(handle);
	i = inproc_seg_find(pin, offset);
	if (i == pin->nr_segs)
		goto out;
	seg = pin->segs[i];
	at = offset - seg->offset;
	if (len > seg->len - at || (write && !seg->writable))
		goto out;
	if (seg->indirect) {
		rc = seg_indirect_rw(seg, at, buf, len, write);
	} else {
		if (write)
			memcpy(seg->kaddr + at, buf, len);
		else
			memcpy(buf, seg->kaddr + at, len);
		rc = 0;
	}
out:
	pthread_mutex_unlock(&inproc_pins_lock);
	return rc;
}

uint64_t inproc_pin_phys(struct uiommufd_host *host, struct host_pin *handle, size_t offset,
				size_t *len)
{
	struct pin_rec *pin;
	uint64_t pa = 0;
	size_t i, run = 0;

	(void)host;
	pthread_mutex_lock(&inproc_pins_lock);
	pin = handle_rec(handle);
	i = inproc_seg_find(pin, offset);
	if (i != pin->nr_segs) {
		const struct pin_seg *seg = pin->segs[i];

		pa = seg->pa + (offset - seg->offset);
		run = seg->len - (offset - seg->offset);
		/* Segments cut apart by a move may still be one physical run. */
		for (i++; i != pin->nr_segs && pin->segs[i]->pa == seg->pa + seg->len; i++) {
			seg = pin->segs[i];
			run += seg->len;
		}
	}
	pthread_mutex_unlock(&inproc_pins_lock);
	*len = run;
	return pa;
}

/*
 * Device DMA resolves a physical address once per contiguous run, so the
 * common case must not lock: each thread keeps its last few resolved
 * segments, good while pa_gen has not moved.
 *
 * A page pinned twice, once read-only and once writable (a file mapped
 * both ways), has two segments at one address, and only the writable
 * one's kaddr takes a store: a lookup for a write passes over the others.
 */
#define PHYS_CACHE 4

struct phys_cache {
	unsigned long gen;
	unsigned int next;
	struct {
		uint64_t pa, len;
		uint8_t *kaddr;
		bool writable;
	} e[PHYS_CACHE];
};

/* initial-exec: a general-dynamic TLS access alone would double a hit's cost. */
static __thread struct phys_cache phys_cache __attribute__((tls_model("initial-exec")));

static int first_writable(struct itree_node *n, void *arg)
{
	if (!seg_of(n, pa_node)->writable)
		return 0;
	*(struct itree_node **)arg = n;
	return 1;
}

static __attribute__((noinline)) void *phys_kaddr_slow(uint64_t pa, bool write, size_t *len)
{
	struct phys_cache *c = &phys_cache;
	struct itree_node *n = NULL;
	void *kaddr = NULL;

	*len = 0;
	pthread_mutex_lock(&inproc_pins_lock);
	if (c->gen != atomic_load_explicit(&inproc_pa_gen, memory_order_relaxed)) {
		memset(c, 0, sizeof(*c));
		c->gen = atomic_load_explicit(&inproc_pa_gen, memory_order_relaxed);
	}
	if (write)
		itree_visit(inproc_pa_root, pa, pa + 1, first_writable, &n);
	else
		n = itree_find(inproc_pa_root, pa);
	if (n && seg_of(n, pa_node)->indirect) {
		const struct pin_seg *seg = seg_of(n, pa_node);

		/* Held, but only phys_rw() reaches it; never cached. */
		*len = seg->len - (pa - seg->pa);
	} else if (n) {
		const struct pin_seg *seg = seg_of(n, pa_node);

		kaddr = seg->kaddr + (pa - seg->pa);
		*len = seg->len - (pa - seg->pa);
		c->e[c->next].pa = seg->pa;
		c->e[c->next].len = seg->len;
		c->e[c->next].kaddr = seg->kaddr;
		c->e[c->next].writable = seg->writable;
		c->next = (c->next + 1) % PHYS_CACHE;
	}
	pthread_mutex_unlock(&inproc_pins_lock);
	return kaddr;
}

void *inproc_phys_kaddr(struct uiommufd_host *host, uint64_t pa, bool write, size_t *len)
{
	struct phys_cache *c = &phys_cache;
	unsigned int i;

	(void)host;
	if (c->gen == atomic_load_explicit(&inproc_pa_gen, memory_order_acquire)) {
		for (i = 0; i != PHYS_CACHE; i++) {
			uint64_t off = pa - c->e[i].pa;

			if (off < c->e[i].len && (c->e[i].writable || !write)) {
				*len = c->e[i].len - off;
				return c->e[i].kaddr + off;
			}
		}
	}
	return phys_kaddr_slow(pa, write, len);
}

int inproc_phys_rw(struct uiommufd_host *host, uint64_t pa, void *buf, size_t len,
			  bool write)
{
	struct itree_node *n = NULL;
	int rc = 0;

	(void)host;
	pthread_mutex_lock(&inproc_pins_lock);
	while (len && !rc) {
		const struct pin_seg *seg;
		size_t at, chunk;

		n = NULL;
		if (write)
			itree_visit(inproc_pa_root, pa, pa + 1, first_writable, &n);
		else
			n = itree_find(inproc_pa_root, pa);
		if (!n) {
			rc = -EFAULT;
			break;
		}
		seg = seg_of(n, pa_node);
		at = (size_t)(pa - seg->pa);
		chunk = seg->len - at < len ? seg->len - at : len;
		if (seg->indirect) {
			rc = seg_indirect_rw(seg, at, buf, chunk, write);
		} else if (write) {
			memcpy(seg->kaddr + at, buf, chunk);
		} else {
			memcpy(buf, seg->kaddr + at, chunk);
		}
		buf = (uint8_t *)buf + chunk;
		pa += chunk;
		len -= chunk;
	}
	pthread_mutex_unlock(&inproc_pins_lock);
	return rc;
}

int inproc_user_phys(struct uiommufd_host *host, uint64_t uaddr, uint64_t *pa)
{
	struct itree_node *n;
	struct vma_info v;
	int rc = 0;

	(void)host;
	if (!inproc_uaccess_range_ok(uaddr, 1) || inproc_vma_at(uaddr, &v))
		return -EFAULT;
	pthread_mutex_lock(&inproc_pins_lock);
	if (vma_file_shared(&v)) {
		uint64_t foff = v.offset + (uaddr - v.start);
		struct pa_window *w = inproc_window_get(&v.key, foff >> PA_WINDOW_SHIFT, true);

		if (w) {
			*pa = inproc_window_pa(w) + (foff & (PA_WINDOW_SIZE - 1));
			goto out;
		}
	}
	/* A pinned page has the address its pin gave it. */
	n = itree_find(inproc_va_root, uaddr);
	if (n) {
		const struct pin_seg *seg = seg_of(n, va_node);

		*pa = seg->pa + (uaddr - seg->uaddr);
	} else if (!vma_file_shared(&v) && uaddr < PA_ALIAS_BASE) {
		*pa = uaddr;
	} else {
		/* No window left, or beyond the VA rule: no address until pinned. */
		rc = -EFAULT;
	}
out:
	pthread_mutex_unlock(&inproc_pins_lock);
	return rc;
}

/* Every holder of a shared record counts, as every reference on a page does. */
static int count_node(struct itree_node *n, void *arg, bool by_pa)
{
	const struct pin_seg *seg = by_pa ? seg_of(n, pa_node) : seg_of(n, va_node);

	*(long *)arg += (long)seg->pin->refs;
	return 0;
}

static int count_pa_node(struct itree_node *n, void *arg)
{
	return count_node(n, arg, true);
}

static int count_va_node(struct itree_node *n, void *arg)
{
	return count_node(n, arg, false);
}

/*
 * A shared file page counts every pin of it, through any mapping or
 * pin_file(); a private page counts the pins of its user address.
 */
long inproc_page_pins(struct uiommufd_host *host, uint64_t uaddr)
{
	struct pa_window *w = NULL;
	struct vma_info v;
	long pins = 0;

	uaddr -= uaddr % host->page_size;
	if (!inproc_uaccess_range_ok(uaddr, host->page_size) || inproc_vma_at(uaddr, &v))
		return -EFAULT;
	pthread_mutex_lock(&inproc_pins_lock);
	if (vma_file_shared(&v)) {
		uint64_t foff = v.offset + (uaddr - v.start);

		w = inproc_window_get(&v.key, foff >> PA_WINDOW_SHIFT, false);
		if (w) {
			uint64_t pa = inproc_window_pa(w) + (foff & (PA_WINDOW_SIZE - 1));

			itree_visit(inproc_pa_root, pa, pa + 1, count_pa_node, &pins);
		}
	}
	if (!w)
		itree_visit(inproc_va_root, uaddr, uaddr + 1, count_va_node, &pins);
	pthread_mutex_unlock(&inproc_pins_lock);
	return pins;
}
