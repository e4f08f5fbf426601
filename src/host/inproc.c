// SPDX-License-Identifier: MIT
/*
 * The in-process host: user memory is this process's memory.
 *
 * User access.  The kernel's copy_from_user() turns a bad pointer into
 * EFAULT through its exception tables.  Here the copy runs under a
 * per-thread guard: a SIGSEGV or SIGBUS raised while the guard is armed
 * jumps back to the copy, which returns -EFAULT.  Any other fault goes on to
 * the handler the program had, or kills the program as it would have
 * without us.  The handler is installed on first use and chained.
 *
 * Pins.  A pin records a range of user memory the core needs to stay put.
 * In-process, the core reaches pinned memory through its own address
 * (kaddr), so nothing is copied and nothing is mapped twice.  The kernel
 * keeps pinned pages alive whatever the program does to its mapping; so do
 * we: before the program unmaps, remaps or discards pinned memory, the shim
 * calls uiommufd_host_inproc_unmap_notify(), which moves the pinned pages
 * aside with mremap(MREMAP_DONTUNMAP) (no copy; the program's range stays
 * mapped, empty) and points the pins there.  madvise() goes through
 * uiommufd_host_inproc_madvise(): DONTNEED moves pinned private pages aside
 * the same way, FREE spares them, and REMOVE, which takes shared pages out
 * of their file, copies them.  A pin is a list of segments so that a range
 * whose middle was moved still resolves; pins of the very same range share
 * one such record, as the kernel's pins share a page's refcount, and each
 * holder keeps only a handle.  Moved memory lives in refcounted
 * "shelters" freed with their last pin.  A memory-map lock (mm_lock) keeps
 * pins out of the time between moving pages aside and the call it prepares.
 *
 * Validation of a pin reads the VMAs of its range once (PROCMAP_QUERY on
 * a descriptor kept open, or the text of /proc/self/maps before Linux
 * 6.11): every page must be mapped, readable, and writable for a writable
 * pin (EFAULT otherwise), as get_user_pages() demands.  A pin of the very
 * range of a record still at its user address, with its access, takes
 * that record without the look: the shim's reports keep such records true
 * to the map (rec_hash_vouches).
 *
 * Physical addresses.  A page's physical address (PA) is its identity, as
 * its PFN is in the kernel; it is fixed when the page is pinned and stays
 * whatever the program does to the mapping.  The 51-bit space:
 *
 *   [0, 1 << 49)        private memory: the user address at pin time, so a
 *                       pin is contiguous and naturally aligned as THP is
 *   [1 << 49, 1 << 50)  aliases, bump allocated, for private pages whose
 *                       address an older pin still holds for other pages
 *                       (the program moved or dropped those), and for user
 *                       addresses at or above 1 << 49
 *   [1 << 50, 1 << 51)  1024 windows of 1 TiB: a window per (device,
 *                       inode, TiB of file offset) of MAP_SHARED file and
 *                       shmem pages (memfd, shared anonymous, hugetlbfs)
 *                       and of pin_file(), plus the offset, so a page has
 *                       one address through every mapping and through
 *                       pin_file().  A file larger than 1 TiB takes one
 *                       window per TiB.  Windows stay (and keep their
 *                       addresses) until the slot is needed for another
 *                       file and no pin uses them; with all 1024 in use a
 *                       new file's pages get aliases.
 *
 * Pages pinned already keep their address when pinned again, so the same
 * private page pinned twice, or moved by mremap and pinned again, has one
 * address.  Every segment is indexed by PA (phys_kaddr) and, while its
 * pages are still at their user address, by user address.
 *
 * Anon files.  anon_fd() makes a real descriptor (a memfd) with the core's
 * object behind it; the shim reports dup and close of descriptors so the
 * object is released with the last descriptor and anon_get() reference.
 * Kinds the program reads and writes (event queues) are sockets instead,
 * whose readiness poll() sees; the shim sends their read() and write()
 * here (inproc_anon_read(), inproc_anon_write()).
 *
 * Accounting.  Locked pages are counted per mode against RLIMIT_MEMLOCK.
 * The kernel's per-user count spans every process of the user; ours sees
 * this process only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/host.h"
#include "host/inproc.h"
#include "host/mmio_trap.h"
#include "iommu/iommu.h"
#include "uiommufd.h"

/* User addresses above this are never valid (57-bit la57 included). */
#define USER_ADDR_LIMIT (1ULL << 56)

/* ---------------------------------------------------------------- uaccess */

struct uaccess_guard {
	sigjmp_buf env;
	volatile sig_atomic_t armed;
};

static __thread struct uaccess_guard uaccess_guard;
static struct sigaction prev_segv, prev_bus;
static pthread_once_t uaccess_once = PTHREAD_ONCE_INIT;
static atomic_bool uaccess_installed;

static void chain_signal(const struct sigaction *prev, int sig, siginfo_t *info, void *uctx)
{
	if (prev->sa_flags & SA_SIGINFO) {
		prev->sa_sigaction(sig, info, uctx);
		return;
	}
	if (prev->sa_handler == SIG_IGN || prev->sa_handler == SIG_DFL) {
		/*
		 * Let the fault happen again with the default action.  The raw
		 * call: inside the preloaded shim signal() is the shim's, which
		 * keeps our handler in front and the fault would repeat forever.
		 */
		struct kernel_sigaction {
			void *handler;
			unsigned long flags;
			void *restorer;
			uint64_t mask;
		} dfl = { .handler = SIG_DFL };

		syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
		return;
	}
	prev->sa_handler(sig);
}

static void uaccess_fault(int sig, siginfo_t *info, void *uctx)
{
	/* An access to an MMIO trap is emulated and resumes, guard or not. */
	if (sig == SIGSEGV && mmio_trap_fault(info->si_addr, uctx))
		return;
	if (uaccess_guard.armed) {
		uaccess_guard.armed = 0;
		siglongjmp(uaccess_guard.env, 1);
	}
	chain_signal(sig == SIGBUS ? &prev_bus : &prev_segv, sig, info, uctx);
}

static void uaccess_install(void)
{
	struct sigaction sa = {
		.sa_sigaction = uaccess_fault,
		/* NODEFER: leaving by longjmp must not leave the signal blocked. */
		.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK,
	}, old_segv, old_bus;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	/*
	 * Installing again while ours is in: never chain to ourselves.  (Under
	 * an interposer that wraps handlers, TSan's, the kernel never shows
	 * ours, so uaccess_ensure_handler() installs again each time.)
	 */
	if (old_segv.sa_sigaction != uaccess_fault)
		prev_segv = old_segv;
	if (old_bus.sa_sigaction != uaccess_fault)
		prev_bus = old_bus;
	atomic_store(&uaccess_installed, true);
}

int inproc_chain_sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	struct sigaction *prev = sig == SIGBUS ? &prev_bus : &prev_segv;

	/* Our handler stays first; the program's becomes the one we chain to. */
	if (oldact)
		*oldact = *prev;
	if (act)
		*prev = *act;
	return 0;
}

/* Set once our handler is in; the shim then keeps it in front. */
bool inproc_uaccess_installed(void)
{
	return atomic_load(&uaccess_installed);
}

/*
 * Copying must not go through instrumented memcpy: a sanitizer would report
 * the bad pointer we are about to turn into EFAULT.  On x86-64 one rep movsb
 * does it: the compiler sees only an opaque instruction it cannot split,
 * widen or replace by a call, a fault inside it lands in uaccess_fault() like
 * any other, and on every CPU with fast string moves it runs at memcpy speed.
 */
__attribute__((noinline, no_sanitize("address", "undefined"))) static void
uaccess_copy_plain(volatile uint8_t *dst, const volatile uint8_t *src, size_t len)
{
	while (len >= 8 && !(((uintptr_t)dst | (uintptr_t)src) & 7)) {
		*(volatile uint64_t *)dst = *(const volatile uint64_t *)src;
		dst += 8;
		src += 8;
		len -= 8;
	}
	while (len--)
		*dst++ = *src++;
}

/*
 * The MMIO trap emulates plain moves only, so a copy that faults is done
 * again by uaccess_copy_plain(): what the fast copy wrote before the fault
 * was ordinary memory (the first touch of a trap faults), written again with
 * the same bytes.
 */
__attribute__((noinline, no_sanitize("address", "undefined"))) static void
uaccess_copy(volatile uint8_t *dst, const volatile uint8_t *src, size_t len)
{
#if defined(__x86_64__)
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(len) : : "memory");
#else
	uaccess_copy_plain(dst, src, len);
#endif
}

static bool uaccess_range_ok(uint64_t uptr, size_t len)
{
	uint64_t end;

	if (__builtin_add_overflow(uptr, (uint64_t)len, &end))
		return false;
	return end <= USER_ADDR_LIMIT && (len == 0 || uptr != 0);
}

/*
 * Anyone may replace our SIGSEGV handler behind our back (a test framework,
 * a runtime, a raw syscall).  Before touching memory we have not touched
 * lately, check with the kernel that the handler is still ours and put it
 * back in front if not.  A copy that cannot fault needs no handler, so each
 * thread remembers a few spans of pages it copied from (readable) or to
 * (writable) without a fault since the last change of the memory map.  A
 * span only grows by a copy that overlaps or adjoins it, so every page in
 * it was really touched: a program streaming through a buffer stays in one
 * span and makes no system call, however large the buffer.
 */
#define UACCESS_SPANS 4
struct uaccess_span {
	uint64_t lo, hi;	/* [lo, hi), page aligned; empty when lo == hi */
	unsigned long gen;
	bool writable;
};
static __thread struct uaccess_span uaccess_spans[UACCESS_SPANS];
static __thread unsigned int uaccess_span_next;
static atomic_ulong uaccess_gen = 1;

void uiommufd_host_inproc_mm_changed(void)
{
	atomic_fetch_add_explicit(&uaccess_gen, 1, memory_order_relaxed);
}

struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static void uaccess_ensure_handler(void)
{
	struct kernel_sigaction cur;

	pthread_once(&uaccess_once, uaccess_install);
	/* Ask the kernel directly: sigaction() itself may be ours. */
	if (syscall(SYS_rt_sigaction, SIGSEGV, NULL, &cur, sizeof(cur.mask)) == 0 &&
	    cur.handler == (void *)uaccess_fault)
		return;
	atomic_store(&uaccess_installed, false);
	uaccess_install();
}

void inproc_fault_handler_ensure(void)
{
	uaccess_ensure_handler();
}

/* Whether [lo, hi) was all touched, for writing if @write, under @gen. */
static bool uaccess_known(uint64_t lo, uint64_t hi, bool write, unsigned long gen)
{
	unsigned int i;

	for (i = 0; i != UACCESS_SPANS; i++) {
		const struct uaccess_span *sp = &uaccess_spans[i];

		if (sp->gen == gen && sp->lo <= lo && hi <= sp->hi && (sp->writable || !write))
			return true;
	}
	return false;
}

/* [lo, hi) was touched without a fault: grow a span it meets, or start one. */
static void uaccess_remember(uint64_t lo, uint64_t hi, bool write, unsigned long gen)
{
	struct uaccess_span *sp;
	unsigned int i;

	for (i = 0; i != UACCESS_SPANS; i++) {
		sp = &uaccess_spans[i];
		if (sp->gen == gen && sp->writable == write && lo <= sp->hi && sp->lo <= hi) {
			sp->lo = lo < sp->lo ? lo : sp->lo;
			sp->hi = hi > sp->hi ? hi : sp->hi;
			return;
		}
	}
	sp = &uaccess_spans[uaccess_span_next++ % UACCESS_SPANS];
	sp->lo = lo;
	sp->hi = hi;
	sp->gen = gen;
	sp->writable = write;
}

/* @write: the user memory is the destination. */
static int guarded_copy(void *dst, const void *src, size_t len, uint64_t uptr, bool write)
{
	unsigned long gen = atomic_load_explicit(&uaccess_gen, memory_order_relaxed);
	uint64_t lo = uptr & ~4095ULL, hi;
	volatile bool known, plain = false;

	if (!len)
		return 0;
	/* uaccess_range_ok() keeps uptr + len far below the top of the space. */
	hi = (uptr + len + 4095) & ~4095ULL;
	known = uaccess_known(lo, hi, write, gen);
	if (!known)
		uaccess_ensure_handler();
again:
	if (sigsetjmp(uaccess_guard.env, 0)) {
		/*
		 * SA_NODEFER leaves the signal unblocked after the jump; under an
		 * interposer that installs its own handler for ours (TSan) the
		 * kernel never saw that flag, so unblock it here, on the fault
		 * path only.
		 */
		sigset_t faults;

		sigemptyset(&faults);
		sigaddset(&faults, SIGSEGV);
		sigaddset(&faults, SIGBUS);
		pthread_sigmask(SIG_UNBLOCK, &faults, NULL);
		if (!plain) {
			plain = true;
			goto again;
		}
		return -EFAULT;
	}
	uaccess_guard.armed = 1;
	if (plain)
		uaccess_copy_plain(dst, src, len);
	else
		uaccess_copy(dst, src, len);
	uaccess_guard.armed = 0;
	if (!known)
		uaccess_remember(lo, hi, write, gen);
	return 0;
}

static int inproc_copy_from_user(struct uiommufd_host *host, void *dst, uint64_t uptr,
				 size_t len)
{
	(void)host;
	if (!uaccess_range_ok(uptr, len))
		return -EFAULT;
	return guarded_copy(dst, (const void *)(uintptr_t)uptr, len, uptr, false);
}

static int inproc_copy_to_user(struct uiommufd_host *host, uint64_t uptr, const void *src,
			       size_t len)
{
	(void)host;
	if (!uaccess_range_ok(uptr, len))
		return -EFAULT;
	return guarded_copy((void *)(uintptr_t)uptr, src, len, uptr, true);
}

/* ------------------------------------------------------------------- pins */

/* Physical address space: see the file comment. */
#define PA_ALIAS_BASE (1ULL << 49)
#define PA_ALIAS_END (1ULL << 50)
#define PA_ALIAS_ALIGN (1ULL << 21)	/* aliases keep a 2 MiB page's offset */
#define PA_WINDOW_BASE (1ULL << 50)
#define PA_WINDOW_SHIFT 40
#define PA_WINDOW_SIZE (1ULL << PA_WINDOW_SHIFT)
#define PA_NR_WINDOWS ((size_t)(((1ULL << 51) - PA_WINDOW_BASE) >> PA_WINDOW_SHIFT))

#define seg_of(node, member) \
	((struct pin_seg *)((char *)(node) - offsetof(struct pin_seg, member)))

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*
 * Interval index: a treap ordered by start, each node knowing the largest
 * end below it, so finding who covers an address is one walk down.
 * Intervals may overlap (the same page pinned twice).
 */
struct itree_node {
	uint64_t start, end;	/* [start, end) */
	uint64_t max_end;	/* largest end in the subtree */
	uint32_t prio;
	struct itree_node *left, *right;
};

static uint32_t itree_seed = 2463534242u;

/* Callers hold pins_lock, which covers the seed too. */
static uint32_t itree_prio(void)
{
	itree_seed ^= itree_seed << 13;
	itree_seed ^= itree_seed >> 17;
	itree_seed ^= itree_seed << 5;
	return itree_seed;
}

/*
 * Ordered by start, then end, then node address, so that every node has
 * one place and the nodes of one exact interval sit together (the same
 * range pinned again is found in one descent: itree_visit_exact()).
 */
static bool itree_less(const struct itree_node *a, const struct itree_node *b)
{
	if (a->start != b->start)
		return a->start < b->start;
	if (a->end != b->end)
		return a->end < b->end;
	return (uintptr_t)a < (uintptr_t)b;
}

static void itree_update(struct itree_node *n)
{
	n->max_end = n->end;
	if (n->left && n->left->max_end > n->max_end)
		n->max_end = n->left->max_end;
	if (n->right && n->right->max_end > n->max_end)
		n->max_end = n->right->max_end;
}

/* *@l gets the nodes ordered before @key, *@r the rest. */
static void itree_split(struct itree_node *t, const struct itree_node *key, struct itree_node **l,
			struct itree_node **r)
{
	if (!t) {
		*l = *r = NULL;
	} else if (itree_less(t, key)) {
		itree_split(t->right, key, &t->right, r);
		*l = t;
		itree_update(t);
	} else {
		itree_split(t->left, key, l, &t->left);
		*r = t;
		itree_update(t);
	}
}

/* Every node of @a is ordered before every node of @b. */
static struct itree_node *itree_merge(struct itree_node *a, struct itree_node *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->prio > b->prio) {
		a->right = itree_merge(a->right, b);
		itree_update(a);
		return a;
	}
	b->left = itree_merge(a, b->left);
	itree_update(b);
	return b;
}

static struct itree_node *itree_insert_at(struct itree_node *t, struct itree_node *n)
{
	if (!t)
		return n;
	if (n->prio > t->prio) {
		itree_split(t, n, &n->left, &n->right);
		itree_update(n);
		return n;
	}
	if (itree_less(n, t))
		t->left = itree_insert_at(t->left, n);
	else
		t->right = itree_insert_at(t->right, n);
	itree_update(t);
	return t;
}

static void itree_insert(struct itree_node **root, struct itree_node *n, uint64_t start,
			 uint64_t end)
{
	n->start = start;
	n->end = end;
	n->max_end = end;
	n->prio = itree_prio();
	n->left = n->right = NULL;
	*root = itree_insert_at(*root, n);
}

static struct itree_node *itree_remove_at(struct itree_node *t, struct itree_node *n)
{
	if (!t)
		return NULL;
	if (t == n)
		return itree_merge(n->left, n->right);
	if (itree_less(n, t))
		t->left = itree_remove_at(t->left, n);
	else
		t->right = itree_remove_at(t->right, n);
	itree_update(t);
	return t;
}

static void itree_remove(struct itree_node **root, struct itree_node *n)
{
	*root = itree_remove_at(*root, n);
}

/*
 * Some node covering @addr.  When the left subtree reaches past @addr
 * but holds no cover, its far-reaching node starts above @addr, and so
 * does everything after it: going left is always safe then.
 */
static struct itree_node *itree_find(struct itree_node *t, uint64_t addr)
{
	while (t) {
		if (t->start <= addr && addr < t->end)
			return t;
		if (t->left && t->left->max_end > addr)
			t = t->left;
		else if (t->start <= addr)
			t = t->right;
		else
			return NULL;
	}
	return NULL;
}

/*
 * Call @fn on every node meeting [lo, hi), in order, until it returns
 * nonzero, which is returned.  @fn must not change the tree.
 */
static int itree_visit(struct itree_node *t, uint64_t lo, uint64_t hi,
		       int (*fn)(struct itree_node *n, void *arg), void *arg)
{
	int rc;

	if (!t || t->max_end <= lo)
		return 0;
	rc = itree_visit(t->left, lo, hi, fn, arg);
	if (rc || t->start >= hi)
		return rc;
	if (t->end > lo) {
		rc = fn(t, arg);
		if (rc)
			return rc;
	}
	return itree_visit(t->right, lo, hi, fn, arg);
}

/* The first node, in order, that starts at or after @addr. */
static struct itree_node *itree_first_from(struct itree_node *t, uint64_t addr)
{
	struct itree_node *best = NULL;

	while (t) {
		if (t->start >= addr) {
			best = t;
			t = t->left;
		} else {
			t = t->right;
		}
	}
	return best;
}

/*
 * Call @fn on the nodes of exactly [start, end) until it returns nonzero,
 * which is returned: one descent plus the nodes of that interval.
 */
static int itree_visit_exact(struct itree_node *t, uint64_t start, uint64_t end,
			     int (*fn)(struct itree_node *n, void *arg), void *arg)
{
	int rc;

	while (t) {
		if (t->start < start || (t->start == start && t->end < end)) {
			t = t->right;
		} else if (t->start > start || t->end > end) {
			t = t->left;
		} else {
			/* Equal keys may lie on both sides of this one. */
			rc = itree_visit_exact(t->left, start, end, fn, arg);
			if (!rc)
				rc = fn(t, arg);
			return rc ? rc : itree_visit_exact(t->right, start, end, fn, arg);
		}
	}
	return 0;
}

/* Which file a shared page belongs to, as /proc/self/maps and fstat() tell. */
struct file_key {
	uint32_t major, minor;
	uint64_t ino;
};

/* Memory moved out of the program's way, shared by the pins into it. */
struct shelter {
	void *addr;
	size_t len;
	unsigned int refs;
	struct shelter *next_free;	/* on a list to unmap once unlocked */
};

/* The physical window of one TiB (@chunk) of one file. */
struct pa_window {
	struct file_key key;
	uint64_t chunk;
	unsigned long refs;	/* segments in it; at 0 it stays until its slot is needed */
};

struct pin_seg {
	struct pin_rec *pin;
	size_t offset;		/* into the pin */
	size_t len;
	uint64_t uaddr;		/* where the program had it (user pins) */
	uint8_t *kaddr;		/* where the core reaches it */
	uint8_t *own;		/* a file pin's piece of its own mapping, unmapped with it */
	uint64_t pa;		/* physical address of the first byte */
	struct shelter *shelter; /* set once moved out of the program's way */
	struct pa_window *win;	/* the window @pa lies in, referenced; NULL if none */
	bool at_uaddr;		/* a user pin's pages still at @uaddr: in va_root */
	bool writable;		/* @kaddr takes stores: the pin was writable */
	/*
	 * The program's protection (mprotect) keeps the core from @kaddr, its
	 * own private mapping: copies go through /proc/self/mem (mem_rw()).
	 */
	bool indirect;
	struct itree_node pa_node;	/* in pa_root */
	struct itree_node va_node;	/* in va_root while @at_uaddr */
};

/*
 * What is pinned: the segments of one range.  Pinning the very same range
 * again (a page mapped at many IOVAs) takes another reference on the
 * record, as the kernel takes another reference on the page, instead of a
 * second set of segments: O(log n) to find, and no bookkeeping but the
 * handle.  What happens to the pages (moves, protection) happens to every
 * holder alike, so it may reshape a shared record; what one holder does
 * (split) may not: that holder first gets a copy of its own (rec_unshare()).
 */
struct pin_rec {
	size_t len;
	bool file;
	bool hashed;		/* in rec_hash, under @hval */
	unsigned long refs;	/* handles on it */
	struct pin_seg **segs;	/* by offset; &@one_seg while there is one */
	size_t nr_segs;
	struct pin_rec *hnext;	/* rec_hash chain */
	uint64_t hval;
	struct pin_seg *one_seg;
	/*
	 * The first segment of a record made by rec_alloc(), in the same
	 * block: a lookup reads the record and its segment at once, not one
	 * miss after the other.  It never moves to another record.
	 */
	struct pin_seg seg0;
};

/*
 * What the core holds: one handle per pin, so every pin is told apart
 * (unpin, split) while records are shared.  Handles come from slabs of
 * HANDLES_PER_SLAB and go back on a free list, never to malloc: a pin of
 * a page pinned already costs 8 bytes.
 */
struct host_pin {
	union {
		struct pin_rec *rec;
		struct host_pin *next_free;
	};
};

#define HANDLES_PER_SLAB 512

/*
 * pins_lock covers every segment, both indexes, the windows and the alias
 * allocator.  pa_gen moves on every change to pa_root or to a kaddr, so a
 * thread's cached resolution is good while pa_gen has not moved.
 */
static pthread_mutex_t pins_lock = PTHREAD_MUTEX_INITIALIZER;
static struct itree_node *pa_root;	/* every segment, by physical address */
static struct itree_node *va_root;	/* user segments still at their user address */
static atomic_ulong pa_gen = 1;
static struct pa_window pa_windows[PA_NR_WINDOWS];
static size_t pa_windows_used;
static uint64_t pa_alias_next = PA_ALIAS_BASE;
static struct host_pin *handles_free;	/* under pins_lock */

/*
 * Records of one plain private segment, by (user address, length,
 * writable) as they were made: a pin of a range pinned already (the
 * vIOMMU's page at many IOVAs) finds the record to share in one probe
 * instead of two descents of va_root, each a cache miss per level.  A
 * record found here is shared only if it still is what pin_shareable()
 * would pick (one whole segment at its user address, neither moved nor
 * protected); one that has changed since is left to the slow path.  The
 * table only speeds up; when it cannot grow, records go unhashed.
 */
static struct pin_rec **rec_hash;	/* under pins_lock */
static size_t rec_hash_size, rec_hash_count;	/* buckets (a power of two), records */

/*
 * Whether a record found in rec_hash vouches for the program's mapping, so
 * a pin of a range pinned already needs no look at the VMAs.  The shim
 * reports every munmap, mremap, MAP_FIXED mmap, discarding madvise and
 * mprotect of pinned memory before it happens, and each of them moves the
 * pages aside or marks them indirect, which puts the record out of
 * rec_hash_find()'s reach; what the shim cannot see it cannot see for the
 * pins made already either (README, Known limits).  Cleared for good in a
 * fork child, whose map lacks what MADV_DONTFORK kept from it, and when a
 * protection change could not be recorded (out of memory).
 */
static bool rec_hash_vouches = true;	/* under pins_lock */

static void pins_untracked(void)
{
	pthread_mutex_lock(&pins_lock);
	rec_hash_vouches = false;
	pthread_mutex_unlock(&pins_lock);
}

static uint64_t rec_key(uint64_t uaddr, size_t len, bool writable)
{
	uint64_t k = (uaddr >> 12) ^ ((uint64_t)len << 40) ^ (writable ? 1ULL << 63 : 0);

	k *= 0x9e3779b97f4a7c15ULL;
	return k ^ (k >> 29);
}

static bool rec_hash_grow(void)
{
	size_t size = rec_hash_size ? 2 * rec_hash_size : 1024, i;
	struct pin_rec **b = calloc(size, sizeof(*b));

	if (!b)
		return false;
	for (i = 0; i != rec_hash_size; i++) {
		struct pin_rec *r = rec_hash[i], *next;

		for (; r; r = next) {
			next = r->hnext;
			r->hnext = b[r->hval & (size - 1)];
			b[r->hval & (size - 1)] = r;
		}
	}
	free(rec_hash);
	rec_hash = b;
	rec_hash_size = size;
	return true;
}

static void rec_hash_add(struct pin_rec *rec, uint64_t uaddr, bool writable)
{
	struct pin_rec **head;

	if (rec_hash_count >= rec_hash_size && !rec_hash_grow())
		return;
	rec->hval = rec_key(uaddr, rec->len, writable);
	head = &rec_hash[rec->hval & (rec_hash_size - 1)];
	rec->hnext = *head;
	*head = rec;
	rec->hashed = true;
	rec_hash_count++;
}

static void rec_hash_del(struct pin_rec *rec)
{
	struct pin_rec **at;

	if (!rec->hashed)
		return;
	for (at = &rec_hash[rec->hval & (rec_hash_size - 1)]; *at != rec; at = &(*at)->hnext)
		;
	*at = rec->hnext;
	rec->hashed = false;
	rec_hash_count--;
}

/* A record to share for a private pin of [uaddr, uaddr + len), or NULL. */
static struct pin_rec *rec_hash_find(uint64_t uaddr, size_t len, bool writable)
{
	uint64_t h = rec_key(uaddr, len, writable);
	struct pin_rec *r;

	if (!rec_hash_size)
		return NULL;
	for (r = rec_hash[h & (rec_hash_size - 1)]; r; r = r->hnext) {
		const struct pin_seg *seg;

		/* Hashed records are rec_alloc()'s: their one segment is seg0. */
		seg = &r->seg0;
		if (r->hval != h || r->len != len || r->nr_segs != 1 || r->segs[0] != seg)
			continue;
		if (seg->at_uaddr && seg->uaddr == uaddr && seg->writable == writable &&
		    !seg->indirect && !seg->shelter)
			return r;
	}
	return NULL;
}

/* A handle on @rec, which it takes the caller's reference of; NULL if out of memory. */
static struct host_pin *handle_new(struct pin_rec *rec)
{
	struct host_pin *h = handles_free;

	if (!h) {
		struct host_pin *slab = malloc(HANDLES_PER_SLAB * sizeof(*slab));
		size_t i;

		if (!slab)
			return NULL;
		/* Slabs stay for good: a process that pinned this many may again. */
		for (i = 1; i != HANDLES_PER_SLAB; i++)
			slab[i].next_free = i + 1 != HANDLES_PER_SLAB ? &slab[i + 1] : NULL;
		handles_free = &slab[1];
		h = &slab[0];
	} else {
		handles_free = h->next_free;
	}
	h->rec = rec;
	return h;
}

static void handle_free(struct host_pin *h)
{
	h->next_free = handles_free;
	handles_free = h;
}

/* The shim calls into the mapping functions: ours must not come back. */
static void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static int sys_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/*
 * Move [old, old + len) to @to.  MREMAP_DONTUNMAP (Linux 5.7, every kind of
 * mapping since 5.13) leaves the program's range mapped with no pages, as
 * MADV_DONTNEED would: anonymous memory reads zero, a file mapping reads
 * the file.  Older kernels get a plain move, which leaves a hole.
 */
static void *sys_mremap_fixed(void *old, size_t len, void *to)
{
	void *p = (void *)syscall(SYS_mremap, old, len, len,
				  MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to);

	if (p == MAP_FAILED && errno == EINVAL)
		p = (void *)syscall(SYS_mremap, old, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	return p;
}

static void pa_changed(void)
{
	atomic_fetch_add_explicit(&pa_gen, 1, memory_order_release);
}

static void seg_index(struct pin_seg *seg)
{
	itree_insert(&pa_root, &seg->pa_node, seg->pa, seg->pa + seg->len);
	if (seg->at_uaddr)
		itree_insert(&va_root, &seg->va_node, seg->uaddr, seg->uaddr + seg->len);
	pa_changed();
}

static void seg_unindex(struct pin_seg *seg)
{
	itree_remove(&pa_root, &seg->pa_node);
	if (seg->at_uaddr)
		itree_remove(&va_root, &seg->va_node);
	pa_changed();
}

static uint64_t window_pa(const struct pa_window *w)
{
	return PA_WINDOW_BASE + ((uint64_t)(w - pa_windows) << PA_WINDOW_SHIFT);
}

static bool file_key_eq(const struct file_key *a, const struct file_key *b)
{
	return a->major == b->major && a->minor == b->minor && a->ino == b->ino;
}

/*
 * The window of (@key, @chunk).  Windows outlive their pins, so a page
 * keeps its address across unpin and pin again, until the slot is needed
 * for another file.  With @make, a missing window takes a free slot or one
 * no segment uses; NULL when there is none.
 */
static struct pa_window *window_get(const struct file_key *key, uint64_t chunk, bool make)
{
	struct pa_window *idle = NULL;
	size_t i;

	for (i = 0; i != pa_windows_used; i++) {
		struct pa_window *w = &pa_windows[i];

		if (w->chunk == chunk && file_key_eq(&w->key, key))
			return w;
		if (!w->refs && !idle)
			idle = w;
	}
	if (!make)
		return NULL;
	if (pa_windows_used != PA_NR_WINDOWS)
		idle = &pa_windows[pa_windows_used++];
	if (idle)
		*idle = (struct pa_window){ .key = *key, .chunk = chunk };
	return idle;
}

/* A fresh alias range; 0 once the region is spent. */
static uint64_t alias_alloc(uint64_t hint, uint64_t len)
{
	uint64_t base = (pa_alias_next + PA_ALIAS_ALIGN - 1) & ~(PA_ALIAS_ALIGN - 1);

	base += hint & (PA_ALIAS_ALIGN - 1);
	if (base + len > PA_ALIAS_END)
		return 0;
	pa_alias_next = base + len;
	return base;
}

/* Pieces of a pin being made: contiguous in both spaces, in pin order. */
struct pa_piece {
	uint64_t off, len, pa;
	struct pa_window *win;	/* one reference, handed to the segment */
};

struct pa_pieces {
	struct pa_piece *v;
	size_t nr, cap;
};

/* Takes the caller's reference on @win, also on failure. */
static int pieces_add(struct pa_pieces *pp, uint64_t off, uint64_t len, uint64_t pa,
		      struct pa_window *win)
{
	struct pa_piece *last = pp->nr ? &pp->v[pp->nr - 1] : NULL;

	if (last && last->off + last->len == off && last->pa + last->len == pa &&
	    last->win == win) {
		last->len += len;
		if (win)
			win->refs--;
		return 0;
	}
	if (pp->nr == pp->cap) {
		size_t cap = pp->cap ? 2 * pp->cap : 4;
		struct pa_piece *v = realloc(pp->v, cap * sizeof(*v));

		if (!v) {
			if (win)
				win->refs--;
			return -ENOMEM;
		}
		pp->v = v;
		pp->cap = cap;
	}
	pp->v[pp->nr++] = (struct pa_piece){ .off = off, .len = len, .pa = pa, .win = win };
	return 0;
}

static void pieces_release(struct pa_pieces *pp)
{
	size_t i;

	for (i = 0; i != pp->nr; i++)
		if (pp->v[i].win)
			pp->v[i].win->refs--;
	free(pp->v);
}

/*
 * Shared file pages: the file's window plus the offset.  @hint gives an
 * alias, when no window slot is left, the natural alignment.
 */
static int pieces_add_file(struct pa_pieces *pp, uint64_t off, const struct file_key *key,
			   uint64_t foff, uint64_t len, uint64_t hint)
{
	while (len) {
		uint64_t in = foff & (PA_WINDOW_SIZE - 1), n = min_u64(len, PA_WINDOW_SIZE - in);
		struct pa_window *w = window_get(key, foff >> PA_WINDOW_SHIFT, true);
		uint64_t pa;
		int rc;

		if (w) {
			w->refs++;
			pa = window_pa(w) + in;
		} else {
			pa = alias_alloc(hint, n);
			if (!pa)
				return -ENOMEM;
		}
		rc = pieces_add(pp, off, n, pa, w);
		if (rc)
			return rc;
		off += n;
		foff += n;
		hint += n;
		len -= n;
	}
	return 0;
}

static int pa_taken(struct itree_node *n, void *arg)
{
	(void)n;
	(void)arg;
	return 1;
}

/*
 * Private pages nobody pins are known by their user address, unless an
 * older pin still holds that address for pages the program has since
 * moved or dropped: then they get an alias.
 */
static int pieces_add_fresh(struct pa_pieces *pp, uint64_t off, uint64_t va, uint64_t len)
{
	uint64_t pa = va;

	if (va + len > PA_ALIAS_BASE || itree_visit(pa_root, va, va + len, pa_taken, NULL)) {
		pa = alias_alloc(va, len);
		if (!pa)
			return -ENOMEM;
	}
	return pieces_add(pp, off, len, pa, NULL);
}

struct seg_vec {
	struct pin_seg **v;
	size_t nr, cap;
};

static int seg_vec_push(struct seg_vec *sv, struct pin_seg *seg)
{
	if (sv->nr == sv->cap) {
		size_t cap = sv->cap ? 2 * sv->cap : 8;
		struct pin_seg **v = realloc(sv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->nr++] = seg;
	return 0;
}

static int collect_va(struct itree_node *n, void *arg)
{
	return seg_vec_push(arg, seg_of(n, va_node));
}

/*
 * Private pages at [va, va + len): those a pin holds already keep the
 * address they have, which is their identity (they may have moved with
 * mremap, or carry an alias); the rest are fresh.  Every pin still at a
 * page's user address gives that page the same address, so any one cover
 * will do: each step is one descent, however many pins share the page.
 */
static int pieces_add_private(struct pa_pieces *pp, uint64_t off, uint64_t va, uint64_t len)
{
	uint64_t x = va, end = va + len;
	int rc = 0;

	while (!rc && x < end) {
		struct itree_node *n = itree_find(va_root, x);
		uint64_t next;

		if (n) {
			const struct pin_seg *held = seg_of(n, va_node);

			next = min_u64(held->uaddr + held->len, end);
			if (held->win)
				held->win->refs++;
			rc = pieces_add(pp, off + (x - va), next - x, held->pa + (x - held->uaddr),
					held->win);
		} else {
			n = itree_first_from(va_root, x);
			next = n && n->start < end ? n->start : end;
			rc = pieces_add_fresh(pp, off + (x - va), x, next - x);
		}
		x = next;
	}
	return rc;
}

/* Make a pin of @pp's pieces and index it; the pieces' references move to it. */
/* Free @rec's memory: its segments and their array (nothing else is undone). */
static void rec_free_mem(struct pin_rec *rec)
{
	size_t i;

	for (i = 0; i != rec->nr_segs; i++)
		if (rec->segs[i] != &rec->seg0)
			free(rec->segs[i]);
	if (rec->segs != &rec->one_seg)
		free(rec->segs);
	free(rec);
}

/* A zeroed record of @nr zeroed segments (@nr >= 1), the first its seg0; NULL if out of memory. */
static struct pin_rec *rec_alloc(size_t nr)
{
	struct pin_rec *rec = calloc(1, sizeof(*rec));

	if (!rec)
		return NULL;
	rec->segs = nr == 1 ? &rec->one_seg : calloc(nr, sizeof(*rec->segs));
	if (!rec->segs) {
		free(rec);
		return NULL;
	}
	rec->segs[0] = &rec->seg0;
	for (rec->nr_segs = 1; rec->nr_segs != nr; rec->nr_segs++) {
		rec->segs[rec->nr_segs] = calloc(1, sizeof(**rec->segs));
		if (!rec->segs[rec->nr_segs]) {
			rec_free_mem(rec);
			return NULL;
		}
	}
	return rec;
}

static struct pin_rec *pin_build(struct pa_pieces *pp, size_t len, bool file, bool writable,
				 uint64_t uaddr, uint8_t *kbase)
{
	struct pin_rec *pin = rec_alloc(pp->nr);
	size_t i;

	if (!pin)
		return NULL;
	pin->len = len;
	pin->file = file;
	pin->refs = 1;
	for (i = 0; i != pp->nr; i++) {
		struct pin_seg *seg = pin->segs[i];
		const struct pa_piece *pc = &pp->v[i];

		seg->pin = pin;
		seg->offset = pc->off;
		seg->len = pc->len;
		seg->pa = pc->pa;
		seg->win = pc->win;
		seg->writable = writable;
		pp->v[i].win = NULL;
		if (file) {
			seg->kaddr = kbase + pc->off;
			seg->own = seg->kaddr;
		} else {
			seg->uaddr = uaddr + pc->off;
			seg->kaddr = (uint8_t *)(uintptr_t)seg->uaddr;
			seg->at_uaddr = true;
		}
		seg_index(seg);
	}
	return pin;
}

/* The index of the segment holding byte @offset of @pin, or nr_segs. */
static size_t seg_find(const struct pin_rec *pin, size_t offset)
{
	size_t lo = 0, hi = pin->nr_segs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pin_seg *seg = pin->segs[mid];

		if (offset < seg->offset)
			hi = mid;
		else if (offset - seg->offset >= seg->len)
			lo = mid + 1;
		else
			return mid;
	}
	return pin->nr_segs;
}

/* Split segs[i] of @pin at @at bytes into it; both halves stay put. */
static int pin_seg_split(struct pin_rec *pin, size_t i, size_t at)
{
	struct pin_seg *front = pin->segs[i], *back, **segs;

	back = malloc(sizeof(*back));
	if (!back)
		return -ENOMEM;
	if (pin->segs == &pin->one_seg) {
		segs = malloc(2 * sizeof(*segs));
		if (segs)
			segs[0] = pin->one_seg;
	} else {
		segs = realloc(pin->segs, (pin->nr_segs + 1) * sizeof(*segs));
	}
	if (!segs) {
		free(back);
		return -ENOMEM;
	}
	pin->segs = segs;
	seg_unindex(front);
	*back = *front;
	front->len = at;
	back->offset += at;
	back->len -= at;
	back->kaddr += at;
	if (back->own)
		back->own += at;
	back->pa += at;
	if (back->at_uaddr || back->shelter)
		back->uaddr += at;
	if (back->shelter)
		back->shelter->refs++;
	if (back->win)
		back->win->refs++;
	memmove(&segs[i + 2], &segs[i + 1], (pin->nr_segs - i - 1) * sizeof(*segs));
	segs[i + 1] = back;
	pin->nr_segs++;
	seg_index(front);
	seg_index(back);
	return 0;
}

static int collect_pa(struct itree_node *n, void *arg)
{
	return seg_vec_push(arg, seg_of(n, pa_node));
}

/* Cut the segments straddling @addr there: user addresses, or physical ones with @by_pa. */
static int segs_cut(bool by_pa, uint64_t addr)
{
	struct seg_vec sv = {};
	size_t k;
	int rc;

	rc = itree_visit(by_pa ? pa_root : va_root, addr, addr + 1, by_pa ? collect_pa : collect_va,
			 &sv);
	for (k = 0; !rc && k != sv.nr; k++) {
		struct pin_seg *seg = sv.v[k];
		uint64_t base = by_pa ? seg->pa : seg->uaddr;

		if (base < addr)
			rc = pin_seg_split(seg->pin, seg_find(seg->pin, seg->offset), addr - base);
	}
	free(sv.v);
	return rc;
}

static int segs_cut_at(uint64_t addr)
{
	return segs_cut(false, addr);
}

/* The user segments lying wholly inside [lo, hi). */
static int segs_inside(uint64_t lo, uint64_t hi, struct seg_vec *sv)
{
	size_t k, n = 0;
	int rc;

	rc = itree_visit(va_root, lo, hi, collect_va, sv);
	for (k = 0; k != sv->nr; k++)
		if (sv->v[k]->uaddr >= lo && sv->v[k]->uaddr + sv->v[k]->len <= hi)
			sv->v[n++] = sv->v[k];
	sv->nr = n;
	return rc;
}

struct vma_info {
	uint64_t start, end;
	uint64_t offset;	/* into the file */
	struct file_key key;
	bool read, write, shared;
};

/* MAP_SHARED of a file or shmem: its pages are the file's. */
static bool vma_file_shared(const struct vma_info *v)
{
	return v->shared && (v->key.ino || v->key.major || v->key.minor);
}

/*
 * VMAs come from PROCMAP_QUERY (Linux 6.11), one ioctl per VMA, or else
 * from the text of /proc/self/maps.
 */
struct procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#define PROCMAP_QUERY_VMA_READABLE 0x01
#define PROCMAP_QUERY_VMA_WRITABLE 0x02
#define PROCMAP_QUERY_VMA_SHARED 0x08
#define PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10

static atomic_bool procmap_query_missing;

void inproc_vma_text_only(bool on)
{
	atomic_store(&procmap_query_missing, on);
}

struct vma_walk {
	int fd;
	bool kept;	/* @fd is the kept descriptor below: not ours to close */
	FILE *f;	/* once reading text */
};

/*
 * /proc/self/maps stays open between walks: opening it costs several
 * microseconds, more than the rest of a pin.  The descriptor is the
 * program's to take away, though (close, dup2, closefrom), and a fork
 * child inherits one that reads its parent.  Checking both before every
 * walk (getpid() and fstat()) cost two system calls per pin, so the checks
 * wait for a reason: a fork child learns it from our atfork hook
 * (maps_forked), and fstat() runs again only after the shim has seen a
 * close or dup (anon_fd_gen moved).  A number that changed hands by a raw
 * system call makes PROCMAP_QUERY fail on the foreign file; the walk then
 * asks again on a fresh descriptor and forgets the kept one
 * (vma_walk_reopen()).  One that is not ours any more is forgotten, never
 * closed: the number is someone else's now.  It sits high, out of the way
 * of programs that count on low numbers.
 */
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static int maps_fd = -1;
static dev_t maps_dev;
static ino_t maps_ino;
static unsigned long maps_seen_gen;	/* anon_fd_gen at the last fstat() */
static bool maps_forked;		/* set in a fork child: maps_fd reads the parent */
static pthread_once_t maps_fork_once = PTHREAD_ONCE_INIT;

#define MAPS_FD_MIN 200

static unsigned long fd_event_gen(void);

static void maps_fork_child(void)
{
	maps_forked = true;
}

static void maps_fork_register(void)
{
	pthread_atfork(NULL, NULL, maps_fork_child);
}

static int maps_fd_open(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Whether the kept @fd is still the file it was: dev and inode. */
static bool maps_fd_same(int fd)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_dev == maps_dev && st.st_ino == maps_ino;
}

/* The kept descriptor, checked, or a fresh one kept from now on; -errno. */
static int maps_fd_get(void)
{
	unsigned long gen = fd_event_gen();
	struct stat st;
	int fd, high;

	pthread_once(&maps_fork_once, maps_fork_register);
	pthread_mutex_lock(&maps_lock);
	fd = maps_fd;
	if (fd >= 0 && maps_forked) {
		/* Inherited across fork: ours, but the parent's file. */
		if (maps_fd_same(fd))
			close(fd);
		fd = maps_fd = -1;
	} else if (fd >= 0 && gen != maps_seen_gen) {
		if (maps_fd_same(fd))
			maps_seen_gen = gen;
		else
			fd = maps_fd = -1;
	}
	maps_forked = false;
	if (fd < 0) {
		fd = maps_fd_open();
		if (fd >= 0) {
			high = fcntl(fd, F_DUPFD_CLOEXEC, MAPS_FD_MIN);
			if (high >= 0) {
				close(fd);
				fd = high;
			}
			if (fstat(fd, &st)) {
				close(fd);
				fd = -errno;
			} else {
				maps_fd = fd;
				maps_dev = st.st_dev;
				maps_ino = st.st_ino;
				maps_seen_gen = gen;
			}
		}
	}
	pthread_mutex_unlock(&maps_lock);
	return fd;
}

/* The kept @fd failed a query that a fresh descriptor answered: not ours any more. */
static void maps_fd_forget(int fd)
{
	pthread_mutex_lock(&maps_lock);
	if (maps_fd == fd)
		maps_fd = -1;
	pthread_mutex_unlock(&maps_lock);
}

static int vma_walk_begin(struct vma_walk *w)
{
	w->f = NULL;
	/* The text fallback reads (and closes) a descriptor of its own. */
	w->kept = !atomic_load_explicit(&procmap_query_missing, memory_order_relaxed);
	w->fd = w->kept ? maps_fd_get() : maps_fd_open();
	return w->fd < 0 ? w->fd : 0;
}

static void vma_walk_end(struct vma_walk *w)
{
	if (w->f)
		fclose(w->f);
	else if (!w->kept)
		close(w->fd);
}

/*
 * A failed query on the kept descriptor may be the program's doing (it
 * took the number between our check and the call): ask once more on a
 * descriptor of this walk's own before deciding the kernel lacks it.
 */
static bool vma_walk_reopen(struct vma_walk *w)
{
	int fd = maps_fd_open();

	if (fd < 0)
		return false;
	w->fd = fd;
	w->kept = false;
	return true;
}

/*
 * The VMA covering @addr, or else the first above it: 0, or -ENOENT when
 * there is none.  @addr must not go down between calls.
 */
static int vma_walk_next(struct vma_walk *w, uint64_t addr, struct vma_info *v)
{
	char line[512];

	if (!w->f && !atomic_load_explicit(&procmap_query_missing, memory_order_relaxed)) {
		struct procmap_query q = {
			.size = sizeof(q),
			.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
			.query_addr = addr,
		};

		int kept_fd = w->kept ? w->fd : -1;

		if (ioctl(w->fd, PROCMAP_QUERY, &q) == 0 ||
		    (errno != ENOENT && w->kept && vma_walk_reopen(w) &&
		     ioctl(w->fd, PROCMAP_QUERY, &q) == 0)) {
			if (kept_fd >= 0 && !w->kept)
				maps_fd_forget(kept_fd);
			*v = (struct vma_info){
				.start = q.vma_start,
				.end = q.vma_end,
				.offset = q.vma_offset,
				.key = { q.dev_major, q.dev_minor, q.inode },
				.read = q.vma_flags & PROCMAP_QUERY_VMA_READABLE,
				.write = q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE,
				.shared = q.vma_flags & PROCMAP_QUERY_VMA_SHARED,
			};
			return 0;
		}
		if (errno == ENOENT)
			return -ENOENT;
		atomic_store_explicit(&procmap_query_missing, true, memory_order_relaxed);
	}
	if (!w->f) {
		w->f = fdopen(w->fd, "re");
		if (!w->f)
			return -ENOMEM;
	}
	while (fgets(line, sizeof(line), w->f)) {
		unsigned long long lo, hi, off, ino;
		unsigned int maj, min;
		char perms[5];
		int c;

		/* A long path name: drop the rest of the line. */
		if (!strchr(line, '\n'))
			while ((c = fgetc(w->f)) != EOF && c != '\n')
				;
		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu", &lo, &hi, perms, &off, &maj, &min,
			   &ino) != 7 || hi <= addr)
			continue;
		*v = (struct vma_info){
			.start = lo,
			.end = hi,
			.offset = off,
			.key = { maj, min, ino },
			.read = perms[0] == 'r',
			.write = perms[1] == 'w',
			.shared = perms[3] == 's',
		};
		return 0;
	}
	return -ENOENT;
}

/* The VMA mapped at @addr now: -EFAULT if none. */
static int vma_at(uint64_t addr, struct vma_info *v)
{
	struct vma_walk w;
	int rc;

	rc = vma_walk_begin(&w);
	if (rc)
		return rc;
	rc = vma_walk_next(&w, addr, v);
	vma_walk_end(&w);
	if (rc || v->start > addr)
		return -EFAULT;
	return 0;
}

/*
 * The VMAs of [start, end): every page must be mapped, readable, and
 * writable for a writable pin (EFAULT otherwise), as get_user_pages()
 * demands.  With @any, whatever VMAs meet the range, holes and all.
 */
static int user_vmas(uint64_t start, uint64_t end, bool writable, bool any,
		     struct vma_info **out, size_t *nr_out)
{
	struct vma_info *vmas = NULL, v;
	uint64_t covered = start;
	size_t nr = 0, cap = 0;
	struct vma_walk w;
	int rc;

	rc = vma_walk_begin(&w);
	if (rc)
		return rc;
	while (covered < end) {
		rc = vma_walk_next(&w, covered, &v);
		if (any && (rc == -ENOENT || (!rc && v.start >= end))) {
			rc = 0;
			break;
		}
		if (!any && (rc == -ENOENT ||
			     (!rc && (v.start > covered || !v.read || (writable && !v.write)))))
			rc = -EFAULT;
		if (rc)
			break;
		if (nr == cap) {
			struct vma_info *grown;

			cap = cap ? 2 * cap : 4;
			grown = realloc(vmas, cap * sizeof(*vmas));
			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			vmas = grown;
		}
		vmas[nr++] = v;
		covered = v.end;
	}
	vma_walk_end(&w);
	if (rc) {
		free(vmas);
		return rc;
	}
	*out = vmas;
	*nr_out = nr;
	return 0;
}

/*
 * The program's memory map against pins, as mmap_lock orders them in the
 * kernel: a pin reads the VMAs of its range and records it under the read
 * side.  The shim holds the write side from the step that moves pinned
 * pages out of a range until the munmap, mremap, mmap or madvise it
 * prepares is done, so no pin lands in between and goes unmoved.  The
 * write side nests within a thread: the shim's mmap may come back through
 * the core's own mapping calls.
 */
static pthread_rwlock_t mm_lock = PTHREAD_RWLOCK_INITIALIZER;
static __thread unsigned int mm_write_depth;
static pthread_once_t mm_fork_once = PTHREAD_ONCE_INIT;
static bool mm_fork_held;

/* A child of fork() must not inherit the lock held by a thread it lacks. */
static void mm_fork_prepare(void)
{
	mm_fork_held = !mm_write_depth;
	if (mm_fork_held)
		pthread_rwlock_wrlock(&mm_lock);
}

static void mm_fork_parent(void)
{
	if (mm_fork_held)
		pthread_rwlock_unlock(&mm_lock);
}

static void mm_fork_child(void)
{
	rec_hash_vouches = false;
	/* The unlock would look for the parent's thread: start afresh. */
	pthread_rwlock_init(&mm_lock, NULL);
	mm_write_depth = 0;
}

static void mm_fork_register(void)
{
	pthread_atfork(mm_fork_prepare, mm_fork_parent, mm_fork_child);
}

void uiommufd_host_inproc_mm_write_begin(void)
{
	pthread_once(&mm_fork_once, mm_fork_register);
	if (mm_write_depth++ == 0)
		pthread_rwlock_wrlock(&mm_lock);
}

void uiommufd_host_inproc_mm_write_end(void)
{
	if (--mm_write_depth == 0)
		pthread_rwlock_unlock(&mm_lock);
}

static int pin_user_range(struct uiommufd_host *host, uint64_t uptr, size_t len, bool writable,
			  struct host_pin **out);

static int inproc_pin_user(struct uiommufd_host *host, uint64_t uptr, size_t len,
			   bool writable, struct host_pin **out)
{
	/* Under the write side already, this thread is the one changing the map. */
	bool reader = !mm_write_depth;
	int rc;

	pthread_once(&mm_fork_once, mm_fork_register);
	if (reader)
		pthread_rwlock_rdlock(&mm_lock);
	rc = pin_user_range(host, uptr, len, writable, out);
	if (reader)
		pthread_rwlock_unlock(&mm_lock);
	return rc;
}

/* Drop @seg's shelter reference; a shelter left unused goes on *@free_list. */
static void seg_leave_shelter(struct pin_seg *seg, struct shelter **free_list)
{
	if (seg->shelter && --seg->shelter->refs == 0) {
		seg->shelter->next_free = *free_list;
		*free_list = seg->shelter;
	}
	seg->shelter = NULL;
}

/* Unmap the shelters of @free_list, outside pins_lock. */
static void shelters_free(struct shelter *free_list)
{
	while (free_list) {
		struct shelter *s = free_list;

		free_list = s->next_free;
		sys_munmap(s->addr, s->len);
		free(s);
	}
}

/*
 * Drop a reference on @rec, under pins_lock.  At the last its segments
 * leave the indexes and true is returned: rec_free() it once unlocked,
 * after shelters_free(*@free_list).
 */
static bool rec_put_locked(struct pin_rec *rec, struct shelter **free_list)
{
	size_t i;

	if (--rec->refs)
		return false;
	rec_hash_del(rec);
	for (i = 0; i != rec->nr_segs; i++) {
		struct pin_seg *seg = rec->segs[i];

		seg_unindex(seg);
		if (seg->win)
			seg->win->refs--;
		seg_leave_shelter(seg, free_list);
	}
	return true;
}

static void rec_free(struct pin_rec *rec)
{
	size_t i;

	/* A file pin's segments are pieces of our own mapping. */
	for (i = 0; i != rec->nr_segs; i++)
		if (rec->segs[i]->own)
			sys_munmap(rec->segs[i]->own, rec->segs[i]->len);
	rec_free_mem(rec);
}

/*
 * A copy of shared @rec for one holder, under pins_lock: new segments over
 * the same pages, as a pin of its own would have.  User pins only (file
 * pins are never shared).  NULL if out of memory.
 */
static struct pin_rec *rec_unshare(struct pin_rec *rec)
{
	struct pin_rec *copy = rec_alloc(rec->nr_segs);
	size_t i;

	if (!copy)
		return NULL;
	copy->len = rec->len;
	copy->file = rec->file;
	copy->refs = 1;
	for (i = 0; i != rec->nr_segs; i++) {
		struct pin_seg *seg = copy->segs[i];

		*seg = *rec->segs[i];
		seg->pin = copy;
		if (seg->shelter)
			seg->shelter->refs++;
		if (seg->win)
			seg->win->refs++;
		seg_index(seg);
	}
	rec->refs--;
	return copy;
}

struct share_query {
	const struct pa_piece *piece;
	size_t len;
	bool writable;
	struct pin_rec *found;
};

/* A record of one whole, plain segment that a new pin of the same pages would copy. */
static int share_match(struct itree_node *n, void *arg)
{
	struct share_query *q = arg;
	struct pin_seg *seg = seg_of(n, va_node);
	struct pin_rec *rec = seg->pin;

	if (rec->nr_segs != 1 || rec->file || rec->len != q->len || seg->writable != q->writable ||
	    seg->indirect || seg->shelter || seg->pa != q->piece->pa || seg->win != q->piece->win)
		return 0;
	q->found = rec;
	return 1;
}

/* The record to share for a pin of [uptr, uptr + len) made of @pp, or NULL. */
static struct pin_rec *pin_shareable(const struct pa_pieces *pp, uint64_t uptr, size_t len,
				     bool writable)
{
	struct share_query q = { .piece = pp->v, .len = len, .writable = writable };

	if (pp->nr != 1 || pp->v[0].len != len)
		return NULL;
	itree_visit_exact(va_root, uptr, uptr + len, share_match, &q);
	return q.found;
}

static int pin_user_range(struct uiommufd_host *host, uint64_t uptr, size_t len, bool writable,
			  struct host_pin **out)
{
	struct pin_rec *pin = NULL, *dead = NULL;
	struct shelter *free_list = NULL;
	struct pa_pieces pp = {};
	struct host_pin *handle = NULL;
	struct vma_info *vmas;
	uint64_t end = uptr + len;
	bool private;
	size_t nr, i;
	int rc;

	if (!len || uptr % host->page_size || len % host->page_size ||
	    !uaccess_range_ok(uptr, len))
		return -EFAULT;
	/* The vIOMMU's page at yet another IOVA: what the record knows will do. */
	pthread_mutex_lock(&pins_lock);
	pin = rec_hash_vouches ? rec_hash_find(uptr, len, writable) : NULL;
	handle = pin ? handle_new(pin) : NULL;
	if (handle)
		pin->refs++;
	pthread_mutex_unlock(&pins_lock);
	if (handle) {
		*out = handle;
		return 0;
	}
	pin = NULL;
	rc = user_vmas(uptr, end, writable, false, &vmas, &nr);
	if (rc)
		return rc;
	private = nr == 1 && !vma_file_shared(&vmas[0]);
	pthread_mutex_lock(&pins_lock);
	if (private) {
		pin = rec_hash_find(uptr, len, writable);
		if (pin) {
			handle = handle_new(pin);
			if (handle) {
				pin->refs++;
				goto out_unlock;
			}
			pin = NULL;
		}
	}
	for (i = 0; !rc && i != nr; i++) {
		const struct vma_info *v = &vmas[i];
		uint64_t lo = max_u64(v->start, uptr), hi = min_u64(v->end, end);

		if (vma_file_shared(v))
			rc = pieces_add_file(&pp, lo - uptr, &v->key, v->offset + (lo - v->start),
					     hi - lo, lo);
		else
			rc = pieces_add_private(&pp, lo - uptr, lo, hi - lo);
	}
	if (!rc) {
		pin = pin_shareable(&pp, uptr, len, writable);
		if (pin) {
			pin->refs++;
		} else {
			pin = pin_build(&pp, len, false, writable, uptr, NULL);
			if (pin && private && pin->nr_segs == 1)
				rec_hash_add(pin, uptr, writable);
		}
		handle = pin ? handle_new(pin) : NULL;
		if (!handle) {
			rc = -ENOMEM;
			if (pin && rec_put_locked(pin, &free_list))
				dead = pin;
		}
	}
	pieces_release(&pp);
out_unlock:
	pthread_mutex_unlock(&pins_lock);
	free(vmas);
	shelters_free(free_list);
	if (dead)
		rec_free(dead);
	if (!rc)
		*out = handle;
	return rc;
}

struct host_file {
	int fd;
};

static int inproc_pin_file(struct uiommufd_host *host, struct host_file *file, uint64_t offset,
			   size_t len, bool writable, struct host_pin **out)
{
	struct host_pin *handle = NULL;
	struct pa_pieces pp = {};
	struct pin_rec *pin = NULL;
	struct file_key key;
	struct stat st;
	void *addr;
	int rc;

	if (!len || offset % host->page_size || len % host->page_size)
		return -EINVAL;
	if (fstat(file->fd, &st))
		return -EBADF;
	key = (struct file_key){ major(st.st_dev), minor(st.st_dev), st.st_ino };
	addr = sys_mmap(NULL, len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, file->fd,
			(off_t)offset);
	if (addr == MAP_FAILED)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	pthread_mutex_lock(&pins_lock);
	rc = pieces_add_file(&pp, 0, &key, offset, len, offset);
	if (!rc) {
		/* Our own mapping: the program cannot take it away. */
		handle = handle_new(NULL);
		pin = handle ? pin_build(&pp, len, true, writable, 0, addr) : NULL;
		if (!pin)
			rc = -ENOMEM;
		if (handle && !pin)
			handle_free(handle);
	}
	pieces_release(&pp);
	pthread_mutex_unlock(&pins_lock);
	if (rc) {
		sys_munmap(addr, len);
		return rc;
	}
	handle->rec = pin;
	*out = handle;
	return 0;
}

static int inproc_pin_split(struct uiommufd_host *host, struct host_pin *handle, size_t offset,
			    struct host_pin **out)
{
	struct host_pin *back_handle;
	struct pin_rec *pin, *back;
	size_t i, j;
	int rc = -EINVAL;

	(void)host;
	pthread_mutex_lock(&pins_lock);
	pin = handle->rec;
	i = seg_find(pin, offset);
	if (i == pin->nr_segs || offset == 0)
		goto out;
	rc = -ENOMEM;
	back_handle = handle_new(NULL);
	if (!back_handle)
		goto out;
	/* The other holders keep the whole range. */
	if (pin->refs > 1) {
		pin = rec_unshare(pin);
		if (!pin)
			goto out_handle;
		handle->rec = pin;
	}
	if (offset != pin->segs[i]->offset) {
		rc = pin_seg_split(pin, i, offset - pin->segs[i]->offset);
		if (rc)
			goto out_handle;
		i++;
	}
	rc = -ENOMEM;
	back = calloc(1, sizeof(*back));
	if (!back)
		goto out_handle;
	back->segs = calloc(pin->nr_segs - i, sizeof(*back->segs));
	if (!back->segs) {
		free(back);
		goto out_handle;
	}
	back->len = pin->len - offset;
	back->file = pin->file;
	back->refs = 1;
	back->nr_segs = pin->nr_segs - i;
	for (j = i; j != pin->nr_segs; j++) {
		struct pin_seg *seg = pin->segs[j];

		seg->pin = back;
		seg->offset -= offset;
		back->segs[j - i] = seg;
	}
	pin->nr_segs = i;
	pin->len = offset;
	back_handle->rec = back;
	*out = back_handle;
	pthread_mutex_unlock(&pins_lock);
	return 0;
out_handle:
	handle_free(back_handle);
out:
	pthread_mutex_unlock(&pins_lock);
	return rc;
}

static void inproc_unpin(struct uiommufd_host *host, struct host_pin *handle)
{
	struct shelter *free_list = NULL;
	struct pin_rec *pin;
	bool last;

	(void)host;
	pthread_mutex_lock(&pins_lock);
	pin = handle->rec;
	handle_free(handle);
	last = rec_put_locked(pin, &free_list);
	pthread_mutex_unlock(&pins_lock);
	shelters_free(free_list);
	if (last)
		rec_free(pin);
}

static int seg_indirect_rw(const struct pin_seg *seg, size_t at, void *buf, size_t len,
			   bool write);

static void *inproc_pin_kaddr(struct uiommufd_host *host, struct host_pin *handle, size_t offset)
{
	struct pin_rec *pin;
	void *kaddr = NULL;
	size_t i;

	(void)host;
	pthread_mutex_lock(&pins_lock);
	pin = handle->rec;
	i = seg_find(pin, offset);
	if (i != pin->nr_segs && !pin->segs[i]->indirect)
		kaddr = pin->segs[i]->kaddr + (offset - pin->segs[i]->offset);
	pthread_mutex_unlock(&pins_lock);
	return kaddr;
}

static int inproc_pin_rw(struct uiommufd_host *host, struct host_pin *handle, size_t offset,
			 void *buf, size_t len, bool write)
{
	struct pin_rec *pin;
	const struct pin_seg *seg;
	int rc = -EFAULT;
	size_t i, at;

	(void)host;
	pthread_mutex_lock(&pins_lock);
	pin = handle->rec;
	i = seg_find(pin, offset);
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
	pthread_mutex_unlock(&pins_lock);
	return rc;
}

static uint64_t inproc_pin_phys(struct uiommufd_host *host, struct host_pin *handle, size_t offset,
				size_t *len)
{
	struct pin_rec *pin;
	uint64_t pa = 0;
	size_t i, run = 0;

	(void)host;
	pthread_mutex_lock(&pins_lock);
	pin = handle->rec;
	i = seg_find(pin, offset);
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
	pthread_mutex_unlock(&pins_lock);
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
	pthread_mutex_lock(&pins_lock);
	if (c->gen != atomic_load_explicit(&pa_gen, memory_order_relaxed)) {
		memset(c, 0, sizeof(*c));
		c->gen = atomic_load_explicit(&pa_gen, memory_order_relaxed);
	}
	if (write)
		itree_visit(pa_root, pa, pa + 1, first_writable, &n);
	else
		n = itree_find(pa_root, pa);
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
	pthread_mutex_unlock(&pins_lock);
	return kaddr;
}

static void *inproc_phys_kaddr(struct uiommufd_host *host, uint64_t pa, bool write, size_t *len)
{
	struct phys_cache *c = &phys_cache;
	unsigned int i;

	(void)host;
	if (c->gen == atomic_load_explicit(&pa_gen, memory_order_acquire)) {
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

static int inproc_phys_rw(struct uiommufd_host *host, uint64_t pa, void *buf, size_t len,
			  bool write)
{
	struct itree_node *n = NULL;
	int rc = 0;

	(void)host;
	pthread_mutex_lock(&pins_lock);
	while (len && !rc) {
		const struct pin_seg *seg;
		size_t at, chunk;

		n = NULL;
		if (write)
			itree_visit(pa_root, pa, pa + 1, first_writable, &n);
		else
			n = itree_find(pa_root, pa);
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
	pthread_mutex_unlock(&pins_lock);
	return rc;
}

static int inproc_user_phys(struct uiommufd_host *host, uint64_t uaddr, uint64_t *pa)
{
	struct itree_node *n;
	struct vma_info v;
	int rc = 0;

	(void)host;
	if (!uaccess_range_ok(uaddr, 1) || vma_at(uaddr, &v))
		return -EFAULT;
	pthread_mutex_lock(&pins_lock);
	if (vma_file_shared(&v)) {
		uint64_t foff = v.offset + (uaddr - v.start);
		struct pa_window *w = window_get(&v.key, foff >> PA_WINDOW_SHIFT, true);

		if (w) {
			*pa = window_pa(w) + (foff & (PA_WINDOW_SIZE - 1));
			goto out;
		}
	}
	/* A pinned page has the address its pin gave it. */
	n = itree_find(va_root, uaddr);
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
	pthread_mutex_unlock(&pins_lock);
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
static long inproc_page_pins(struct uiommufd_host *host, uint64_t uaddr)
{
	struct pa_window *w = NULL;
	struct vma_info v;
	long pins = 0;

	uaddr -= uaddr % host->page_size;
	if (!uaccess_range_ok(uaddr, host->page_size) || vma_at(uaddr, &v))
		return -EFAULT;
	pthread_mutex_lock(&pins_lock);
	if (vma_file_shared(&v)) {
		uint64_t foff = v.offset + (uaddr - v.start);

		w = window_get(&v.key, foff >> PA_WINDOW_SHIFT, false);
		if (w) {
			uint64_t pa = window_pa(w) + (foff & (PA_WINDOW_SIZE - 1));

			itree_visit(pa_root, pa, pa + 1, count_pa_node, &pins);
		}
	}
	if (!w)
		itree_visit(va_root, uaddr, uaddr + 1, count_va_node, &pins);
	pthread_mutex_unlock(&pins_lock);
	return pins;
}

long uiommufd_page_pins(struct uiommufd_host *host, uint64_t uaddr)
{
	return host->ops->page_pins(host, uaddr);
}

/*
 * A PROT_NONE spot of @len bytes for a shelter, outside [avoid_lo,
 * avoid_hi): the program is about to unmap that range, holes and all, and
 * the kernel readily puts a new mapping in a hole there (one an earlier run
 * of the same unmap just left, say), which the program's unmap would then
 * take with our pages.  Spots that land inside stay mapped as blockers
 * until one lands outside.
 */
#define SHELTER_TRIES 8
static void *shelter_spot(size_t len, uint64_t avoid_lo, uint64_t avoid_hi)
{
	void *blocker[SHELTER_TRIES], *p;
	unsigned int nr = 0, i;

	for (;;) {
		p = sys_mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			     0);
		if (p == MAP_FAILED || (uintptr_t)p >= avoid_hi || (uintptr_t)p + len <= avoid_lo)
			break;
		if (nr == SHELTER_TRIES) {
			sys_munmap(p, len);
			p = MAP_FAILED;
			break;
		}
		blocker[nr++] = p;
	}
	for (i = 0; i != nr; i++)
		sys_munmap(blocker[i], len);
	return p;
}

/*
 * Move [lo, hi) aside and point every segment at it there.  Segments are
 * cut at the ends first: if a cut fails nothing moves.  The shelter goes
 * outside [avoid_lo, avoid_hi), the whole range being unmapped.
 */
static void shelter_run(uint64_t lo, uint64_t hi, uint64_t avoid_lo, uint64_t avoid_hi)
{
	struct seg_vec sv = {};
	struct shelter *s;
	void *moved;
	size_t k;

	if (segs_cut_at(lo) || segs_cut_at(hi) || segs_inside(lo, hi, &sv))
		goto untracked;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto untracked;
	/* Same-size mremap is a no-op unless told where: reserve a spot first. */
	moved = shelter_spot(hi - lo, avoid_lo, avoid_hi);
	if (moved != MAP_FAILED && sys_mremap_fixed((void *)(uintptr_t)lo, hi - lo, moved) ==
				       MAP_FAILED) {
		sys_munmap(moved, hi - lo);
		moved = MAP_FAILED;
	}
	if (moved == MAP_FAILED) {
		/* It spans several mappings, or memory ran out: leave it be. */
		free(s);
		goto untracked;
	}
	/*
	 * The mapping moved with the program's protection; a pin's device
	 * writes need stores whatever the program had (a read-only file
	 * mapping refuses and keeps read: its pins are read-only).
	 */
	if (syscall(SYS_mprotect, moved, hi - lo, PROT_READ | PROT_WRITE))
		syscall(SYS_mprotect, moved, hi - lo, PROT_READ);
	s->addr = moved;
	s->len = hi - lo;
	for (k = 0; k != sv.nr; k++) {
		struct pin_seg *seg = sv.v[k];

		itree_remove(&va_root, &seg->va_node);
		seg->at_uaddr = false;
		seg->kaddr = (uint8_t *)moved + (seg->uaddr - lo);
		seg->indirect = false;
		seg->shelter = s;
		s->refs++;
	}
	pa_changed();
	if (!s->refs) {
		sys_munmap(s->addr, s->len);
		free(s);
	}
	goto out;
untracked:
	/* Pins left at an address the program is about to change: records no longer vouch. */
	rec_hash_vouches = false;
out:
	free(sv.v);
}

struct run {
	uint64_t lo, hi;	/* hi exclusive */
};

struct run_vec {
	struct run *v;
	size_t nr, cap;
	uint64_t start, end;	/* clamp */
};

/* Segments come in start order: extend the last run or open one. */
static int run_add(struct run_vec *rv, uint64_t seg_lo, uint64_t seg_hi)
{
	uint64_t lo = max_u64(seg_lo, rv->start), hi = min_u64(seg_hi, rv->end);

	if (rv->nr && lo <= rv->v[rv->nr - 1].hi) {
		rv->v[rv->nr - 1].hi = max_u64(rv->v[rv->nr - 1].hi, hi);
		return 0;
	}
	if (rv->nr == rv->cap) {
		size_t cap = rv->cap ? 2 * rv->cap : 4;
		struct run *v = realloc(rv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		rv->v = v;
		rv->cap = cap;
	}
	rv->v[rv->nr++] = (struct run){ lo, hi };
	return 0;
}

static int collect_run(struct itree_node *n, void *arg)
{
	const struct pin_seg *seg = seg_of(n, va_node);

	return run_add(arg, seg->uaddr, seg->uaddr + seg->len);
}

/* As collect_run(), over physical addresses. */
static int collect_run_pa(struct itree_node *n, void *arg)
{
	const struct pin_seg *seg = seg_of(n, pa_node);

	return run_add(arg, seg->pa, seg->pa + seg->len);
}

/*
 * Move the pinned pages of [start, end) out of the program's way.  Each
 * maximal run of pinned pages moves once, with mremap (no copy).
 */
static void shelter_range(uint64_t start, uint64_t end)
{
	struct run_vec rv = { .start = start, .end = end };
	size_t i;

	if (!itree_visit(va_root, start, end, collect_run, &rv))
		for (i = 0; i != rv.nr; i++)
			shelter_run(rv.v[i].lo, rv.v[i].hi, start, end);
	else
		rec_hash_vouches = false;
	free(rv.v);
}

/*
 * Device DMA copies through the host address of pinned pages without any
 * lock, so pages are moved only behind the DMA gate, as the kernel's mmu
 * notifiers bracket a change to the page tables.  The gate also flushes the
 * device IOTLBs, which hold those addresses.
 */
void uiommufd_host_inproc_move_begin(void)
{
	iommu_dma_gate_begin();
}

void uiommufd_host_inproc_move_end(void)
{
	iommu_dma_gate_end();
}

void uiommufd_host_inproc_unmap_notify(void *addr, size_t length)
{
	uint64_t start = (uintptr_t)addr, end;

	if (!length || __builtin_add_overflow(start, (uint64_t)length, &end))
		return;
	uiommufd_host_inproc_move_begin();
	pthread_mutex_lock(&pins_lock);
	if (va_root)
		shelter_range(start, end);
	pthread_mutex_unlock(&pins_lock);
	uiommufd_host_inproc_move_end();
}

void uiommufd_host_inproc_remap_notify(void *old, size_t size, void *new_addr)
{
	uint64_t lo = (uintptr_t)old, hi, delta = (uintptr_t)new_addr - lo;
	struct seg_vec sv = {};
	size_t k;

	if (!size || __builtin_add_overflow(lo, (uint64_t)size, &hi))
		return;
	pthread_mutex_lock(&pins_lock);
	/*
	 * A failed cut leaves the straddling segment out: it is not wholly
	 * inside, and stays where the pages no longer are.
	 */
	if (segs_cut_at(lo) | segs_cut_at(hi) | segs_inside(lo, hi, &sv))
		rec_hash_vouches = false;
	for (k = 0; k != sv.nr; k++) {
		struct pin_seg *seg = sv.v[k];

		/* The pages went with the mapping; the pin follows, their address stays. */
		itree_remove(&va_root, &seg->va_node);
		seg->uaddr += delta;
		/* In integers: a move down wraps @delta, which a pointer may not do. */
		seg->kaddr = (uint8_t *)((uintptr_t)seg->kaddr + delta);
		itree_insert(&va_root, &seg->va_node, seg->uaddr, seg->uaddr + seg->len);
	}
	if (sv.nr)
		pa_changed();
	pthread_mutex_unlock(&pins_lock);
	free(sv.v);
}

/* --------------------------------------------------------------- madvise */

/*
 * The file pages at physical [lo, hi) are punched out of their file
 * (MADV_REMOVE) while pins hold them.  The kernel's pinned pages outlive
 * the hole and the file gets new pages; here the pins get a private copy,
 * made from @src, which maps the pages now.  Every segment of those pages
 * points at the copy, whichever mapping or file pin it came through.
 */
static void shelter_copy(uint64_t lo, uint64_t hi, uint64_t src, struct shelter **free_list)
{
	struct seg_vec sv = {};
	struct shelter *s;
	void *copy;
	size_t k;

	if (segs_cut(true, lo) || segs_cut(true, hi) ||
	    itree_visit(pa_root, lo, hi, collect_pa, &sv))
		goto out;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto out;
	copy = sys_mmap(NULL, hi - lo, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy == MAP_FAILED ||
	    guarded_copy(copy, (const void *)(uintptr_t)src, hi - lo, src, false)) {
		/* Out of memory, or not readable: the pins keep following the file. */
		if (copy != MAP_FAILED)
			sys_munmap(copy, hi - lo);
		free(s);
		goto out;
	}
	s->addr = copy;
	s->len = hi - lo;
	for (k = 0; k != sv.nr; k++) {
		struct pin_seg *seg = sv.v[k];

		if (seg->at_uaddr) {
			itree_remove(&va_root, &seg->va_node);
			seg->at_uaddr = false;
		}
		seg_leave_shelter(seg, free_list);
		seg->shelter = s;
		s->refs++;
		seg->kaddr = (uint8_t *)copy + (seg->pa - lo);
		seg->indirect = false;
		seg->writable = true;
	}
	pa_changed();
out:
	free(sv.v);
}

/*
 * MADV_REMOVE of [lo, hi) of shared file VMA @v: copy out what pins hold
 * of it.  The window then retires, so that the file's new pages get new
 * addresses: pages of the window pinned again get new ones too, a split
 * the kernel does not have, but no two pages ever share one.
 */
static void shelter_removed(const struct vma_info *v, uint64_t lo, uint64_t hi,
			    struct shelter **free_list)
{
	uint64_t foff = v->offset + (lo - v->start);
	struct run_vec rv = {};
	size_t i;

	while (lo < hi) {
		uint64_t in = foff & (PA_WINDOW_SIZE - 1), n = min_u64(hi - lo, PA_WINDOW_SIZE - in);
		struct pa_window *w = window_get(&v->key, foff >> PA_WINDOW_SHIFT, false);

		rv.nr = 0;
		if (w) {
			rv.start = window_pa(w) + in;
			rv.end = rv.start + n;
			if (!itree_visit(pa_root, rv.start, rv.end, collect_run_pa, &rv))
				for (i = 0; i != rv.nr; i++)
					shelter_copy(rv.v[i].lo, rv.v[i].hi,
						     lo + (rv.v[i].lo - rv.start), free_list);
			if (rv.nr)
				w->chunk = UINT64_MAX;	/* matches no file offset */
		}
		lo += n;
		foff += n;
	}
	free(rv.v);
}

static bool advice_zaps(int advice)
{
	return advice == MADV_DONTNEED || advice == MADV_DONTNEED_LOCKED;
}

bool uiommufd_host_inproc_advice_discards(int advice)
{
	return advice_zaps(advice) || advice == MADV_FREE || advice == MADV_REMOVE;
}

/* MADV_FREE of the pages of [start, end) no pin holds. */
static int madvise_free_unpinned(uint64_t start, uint64_t end)
{
	struct run_vec rv = { .start = start, .end = end };
	uint64_t at = start;
	size_t i;
	int rc = 0, one;

	pthread_mutex_lock(&pins_lock);
	one = itree_visit(va_root, start, end, collect_run, &rv);
	pthread_mutex_unlock(&pins_lock);
	if (one) {
		free(rv.v);
		return -ENOMEM;
	}
	for (i = 0; i <= rv.nr; i++) {
		uint64_t to = i == rv.nr ? end : rv.v[i].lo;

		one = to > at ? (int)syscall(SYS_madvise, at, to - at, MADV_FREE) : 0;
		if (one && !rc)
			rc = -errno;
		if (i != rv.nr)
			at = rv.v[i].hi;
	}
	free(rv.v);
	return rc;
}

int uiommufd_host_inproc_madvise(void *addr, size_t length, int advice)
{
	uint64_t start = (uintptr_t)addr, end, page = uiommufd_host_inproc()->page_size;
	struct shelter *free_list = NULL;
	struct vma_info *vmas = NULL;
	size_t nr = 0, i;
	long rc;

	/* Arguments the kernel refuses change nothing: let it say so. */
	if (start % page || __builtin_add_overflow(start, (uint64_t)length + page - 1, &end) ||
	    !length || !uiommufd_host_inproc_advice_discards(advice))
		goto pass;
	end &= ~(page - 1);
	if (end <= start)
		goto pass;
	/* A pinned page is never freed while pinned: the program keeps it. */
	if (advice == MADV_FREE)
		return madvise_free_unpinned(start, end);
	if (user_vmas(start, end, false, true, &vmas, &nr)) {
		pins_untracked();
		goto pass;
	}
	uiommufd_host_inproc_move_begin();
	pthread_mutex_lock(&pins_lock);
	for (i = 0; i != nr; i++) {
		const struct vma_info *v = &vmas[i];
		uint64_t lo = max_u64(v->start, start), hi = min_u64(v->end, end);

		/* A shared page stays the file's: the program faults the same page back. */
		if (advice_zaps(advice) && !vma_file_shared(v) && va_root)
			shelter_range(lo, hi);
		else if (advice == MADV_REMOVE && vma_file_shared(v) && v->write && pa_root)
			shelter_removed(v, lo, hi, &free_list);
	}
	pthread_mutex_unlock(&pins_lock);
	uiommufd_host_inproc_move_end();
	shelters_free(free_list);
	free(vmas);
pass:
	rc = syscall(SYS_madvise, addr, length, advice);
	return rc ? -errno : 0;
}

bool uiommufd_host_inproc_range_pinned(void *addr, size_t length)
{
	uint64_t start = (uintptr_t)addr, end;
	bool pinned;

	if (!length || __builtin_add_overflow(start, (uint64_t)length, &end))
		return false;
	pthread_mutex_lock(&pins_lock);
	pinned = itree_visit(va_root, start, end, pa_taken, NULL);
	pthread_mutex_unlock(&pins_lock);
	return pinned;
}

/* -------------------------------------------------------------- mprotect */

/*
 * mprotect() changes what the program may do with its pages, never what a
 * pin may: the kernel's device keeps writing a pinned page the program
 * made read-only, and keeps reading one made PROT_NONE, and the program
 * sees those writes through its read-only mapping.  Here the core reaches
 * pinned pages through the program's own address, which after mprotect
 * would fault.  So before the protection drops:
 *
 *  - shared memory (a file, shmem, memfd, shared anonymous): mremap() with
 *    old size 0 maps the same pages once more, read-write; the pins move
 *    there and leave the user-address index (nothing the program does to
 *    that range later concerns them);
 *  - private memory has no second mapping: its segments are marked
 *    indirect and copies go through /proc/self/mem, which reaches the
 *    program's pages whatever their protection (as ptrace does), until the
 *    protection comes back or the pages move aside.
 *
 * The program's mapping itself is never changed.
 */
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

static void *protect_alias(const struct vma_info *v, uint64_t lo, uint64_t hi)
{
	void *alias = (void *)syscall(SYS_mremap, (void *)(uintptr_t)lo, 0, hi - lo,
				      MREMAP_MAYMOVE);

	if (alias != MAP_FAILED && v->write)
		syscall(SYS_mprotect, alias, hi - lo, PROT_READ | PROT_WRITE);
	return alias;
}

static bool any_writable(const struct seg_vec *sv)
{
	size_t k;

	for (k = 0; k != sv->nr; k++)
		if (sv->v[k]->writable)
			return true;
	return false;
}

/* The pinned run [lo, hi) of VMA @v is about to get protection @prot. */
static void protect_run(const struct vma_info *v, uint64_t lo, uint64_t hi, int prot)
{
	bool full = (prot & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE);
	struct seg_vec sv = {};
	struct shelter *s;
	void *alias;
	size_t k;

	if (segs_cut_at(lo) || segs_cut_at(hi) || segs_inside(lo, hi, &sv)) {
		/* Pins that should have gone indirect did not: records no longer vouch. */
		rec_hash_vouches = false;
		goto out;
	}
	if (!sv.nr)
		goto out;
	if (!v->shared) {
		/* Indirect while the program's protection is short of a pin's needs. */
		bool need = !full && (!(prot & PROT_READ) || any_writable(&sv));

		for (k = 0; k != sv.nr; k++)
			sv.v[k]->indirect = need;
		pa_changed();
		goto out;
	}
	/* Read-only pins lose nothing to a read-only program mapping. */
	if (full || ((prot & PROT_READ) && !any_writable(&sv)))
		goto out;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto out;
	alias = protect_alias(v, lo, hi);
	if (alias == MAP_FAILED) {
		free(s);
		goto out;
	}
	s->addr = alias;
	s->len = hi - lo;
	for (k = 0; k != sv.nr; k++) {
		struct pin_seg *seg = sv.v[k];

		itree_remove(&va_root, &seg->va_node);
		seg->at_uaddr = false;
		seg->kaddr = (uint8_t *)alias + (seg->uaddr - lo);
		seg->shelter = s;
		s->refs++;
	}
	pa_changed();
out:
	free(sv.v);
}

int uiommufd_host_inproc_mprotect(void *addr, size_t length, int prot)
{
	uint64_t start = (uintptr_t)addr, end, page = uiommufd_host_inproc()->page_size;
	struct vma_info *vmas = NULL;
	size_t nr = 0, i, r;
	long rc;

	/* Arguments the kernel refuses change nothing: let it say so. */
	if (start % page || !length ||
	    __builtin_add_overflow(start, (uint64_t)length + page - 1, &end))
		goto pass;
	end &= ~(page - 1);
	if (end <= start)
		goto pass;
	if (user_vmas(start, end, false, true, &vmas, &nr)) {
		pins_untracked();
		goto pass;
	}
	uiommufd_host_inproc_move_begin();
	pthread_mutex_lock(&pins_lock);
	for (i = 0; i != nr && va_root; i++) {
		struct run_vec rv = { .start = max_u64(vmas[i].start, start),
				      .end = min_u64(vmas[i].end, end) };

		if (!itree_visit(va_root, rv.start, rv.end, collect_run, &rv))
			for (r = 0; r != rv.nr; r++)
				protect_run(&vmas[i], rv.v[r].lo, rv.v[r].hi, prot);
		else
			rec_hash_vouches = false;
		free(rv.v);
	}
	pthread_mutex_unlock(&pins_lock);
	uiommufd_host_inproc_move_end();
	free(vmas);
pass:
	rc = syscall(SYS_mprotect, addr, length, prot);
	return rc ? -errno : 0;
}

/* ------------------------------------------------------------------ files */

static int inproc_file_get(struct uiommufd_host *host, int fd, struct host_file **out)
{
	struct host_file *file;
	int dup_fd;

	(void)host;
	if (fd < 0)
		return -EBADF;
	/* The kernel holds a file reference; we hold a descriptor. */
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 64);
	if (dup_fd < 0)
		return errno == EBADF ? -EBADF : -ENOMEM;
	file = calloc(1, sizeof(*file));
	if (!file) {
		close(dup_fd);
		return -ENOMEM;
	}
	file->fd = dup_fd;
	*out = file;
	return 0;
}

static void inproc_file_put(struct uiommufd_host *host, struct host_file *file)
{
	(void)host;
	close(file->fd);
	free(file);
}

/* Kernel memory for an exporter: a memfd above the program's usual fds. */
static int inproc_file_create(struct uiommufd_host *host, size_t len, struct host_file **out)
{
	struct host_file *file;
	int fd, hi;

	(void)host;
	fd = memfd_create("uiommufd-kmem", MFD_CLOEXEC);
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE ? -EMFILE : -ENOMEM;
	if (ftruncate(fd, (off_t)len)) {
		close(fd);
		return -ENOMEM;
	}
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 64);
	if (hi >= 0) {
		close(fd);
		fd = hi;
	}
	file = calloc(1, sizeof(*file));
	if (!file) {
		close(fd);
		return -ENOMEM;
	}
	file->fd = fd;
	*out = file;
	return 0;
}

static int inproc_file_mmap(struct uiommufd_host *host, struct host_file *file, void *addr,
			    size_t len, int prot, int flags, uint64_t offset, void **out)
{
	void *p;

	(void)host;
	p = mmap(addr, len, prot, flags, file->fd, (off_t)offset);
	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	return 0;
}

static void inproc_file_munmap(struct uiommufd_host *host, void *addr, size_t len)
{
	(void)host;
	munmap(addr, len);
}

static int64_t inproc_file_size(struct uiommufd_host *host, struct host_file *file)
{
	struct stat st;

	(void)host;
	if (fstat(file->fd, &st))
		return -errno;
	/* Only memory-like files can back DMA. */
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return -EINVAL;
	return st.st_size;
}

/* ------------------------------------------------------------- anon files */

#define ANON_MAX_FDS INPROC_ANON_MAX_FDS

/*
 * One open anon file.  @refs counts its descriptors and the anon_get()
 * references.  @dev and @ino name the file behind the descriptors, so that
 * a descriptor closed behind our back and reused for another file is not
 * taken for this one.
 *
 * A stream kind (ops with read or write: event queues) is one end of a
 * Unix socket pair rather than a memfd, so that poll(), select() and epoll
 * report its readiness natively.  @sig_fd is the other end, ours: a byte
 * sent through it makes the program's end poll readable and wakes its
 * pollers.  @drain_fd is our own descriptor of the program's end, through
 * which the bytes are taken back when the file stops being readable.  The
 * program's end never sends (its writes go to ops->write), so it always
 * polls writable.  Sockets have an inode each, which @dev and @ino need
 * (eventfds all share one).  Both are -1 for other kinds.
 */
struct host_anon {
	const struct host_anon_ops *ops;
	void *priv;
	/*
	 * Taken only under anon_lock from a table entry (which holds one), or
	 * from a reference held; dropped without the lock, so it is atomic.
	 */
	atomic_ulong refs;
	dev_t dev;
	ino_t ino;
	int sig_fd, drain_fd;
	/* anon_fd_gen when fstat last showed the file still behind its number */
	atomic_ulong seen_gen;
};

/*
 * Bumped by every close and dup the program makes through the shim (and by
 * each new anon file): while it stands still, no descriptor number can have
 * changed hands except by a raw system call, so a file fstat has shown
 * behind its number since is still there and needs no new look.
 */
static atomic_ulong anon_fd_gen = 1;

static void anon_fd_event(void)
{
	atomic_fetch_add_explicit(&anon_fd_gen, 1, memory_order_acq_rel);
}

/* For the kept /proc/self/maps descriptor (maps_fd_get()). */
static unsigned long fd_event_gen(void)
{
	return atomic_load_explicit(&anon_fd_gen, memory_order_acquire);
}

/* anon_lock orders every table change with the refcounts, as fget() and close do. */
static pthread_mutex_t anon_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic(struct host_anon *) inproc_anon_files[ANON_MAX_FDS];
#define anon_files inproc_anon_files

static void anon_drop(struct host_anon *a)
{
	/* The last reference: no table entry is left to find @a by. */
	if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (a->ops->release)
		a->ops->release(a->priv);
	/* Past release nothing signals the file any more. */
	if (a->sig_fd >= 0)
		syscall(SYS_close, a->sig_fd);
	if (a->drain_fd >= 0)
		syscall(SYS_close, a->drain_fd);
	free(a);
}

/* Forget @fd's entry if it is still @a. */
static void anon_forget(int fd, struct host_anon *a)
{
	struct host_anon *expected = a;
	bool was;

	pthread_mutex_lock(&anon_lock);
	was = atomic_compare_exchange_strong(&anon_files[fd], &expected, NULL);
	pthread_mutex_unlock(&anon_lock);
	if (was)
		anon_drop(a);
}

static bool anon_is_stream(const struct host_anon_ops *ops)
{
	return ops->read || ops->write;
}

/* Move a descriptor of ours above the program's usual range, if there is room. */
static int anon_private_fd(int fd)
{
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, 64);

	if (hi < 0)
		return fd;
	syscall(SYS_close, fd);
	return hi;
}

/* A stream kind: the program's end of a socket pair; see struct host_anon. */
static int anon_open_stream(struct host_anon *a, int flags)
{
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return errno == EMFILE || errno == ENFILE ? -errno : -ENOMEM;
	a->sig_fd = anon_private_fd(sv[1]);
	a->drain_fd = fcntl(sv[0], F_DUPFD_CLOEXEC, 64);
	if (a->drain_fd < 0)
		goto err;
	if (!(flags & O_CLOEXEC) && fcntl(sv[0], F_SETFD, 0))
		goto err;
	if ((flags & O_NONBLOCK) && fcntl(sv[0], F_SETFL, O_NONBLOCK))
		goto err;
	return sv[0];

err:
	rc = errno == EMFILE || errno == ENFILE ? -errno : -ENOMEM;
	syscall(SYS_close, sv[0]);
	return rc;
}

/*
 * What backs the descriptor of other kinds: a memfd, named after the file
 * as the kernel's anon inodes are.
 */
static int anon_open(const struct host_anon_ops *ops, int flags)
{
	int fd, rc;

	fd = memfd_create(ops->name ? ops->name : "anon_inode", flags & O_CLOEXEC ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -errno;
	if ((flags & O_NONBLOCK) && fcntl(fd, F_SETFL, O_NONBLOCK)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int inproc_anon_fd_file(struct uiommufd_host *host, const struct host_anon_ops *ops,
			       void *priv, int flags, struct host_anon **file)
{
	struct host_anon *a, *stale;
	struct stat st;
	int fd;

	(void)host;
	if (flags & ~(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->sig_fd = a->drain_fd = -1;
	fd = anon_is_stream(ops) ? anon_open_stream(a, flags) : anon_open(ops, flags);
	if (fd >= 0 && (fd >= ANON_MAX_FDS || syscall(SYS_fstat, fd, &st))) {
		close(fd);
		fd = -EMFILE;
	}
	if (fd < 0) {
		if (a->sig_fd >= 0)
			syscall(SYS_close, a->sig_fd);
		if (a->drain_fd >= 0)
			syscall(SYS_close, a->drain_fd);
		free(a);
		return fd;
	}
	a->ops = ops;
	a->priv = priv;
	atomic_init(&a->refs, 1);
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	pthread_mutex_lock(&anon_lock);
	stale = atomic_exchange(&anon_files[fd], a);
	pthread_mutex_unlock(&anon_lock);
	anon_fd_event();
	/* The number was closed behind our back: that file is gone. */
	if (stale)
		anon_drop(stale);
	if (file)
		*file = a;
	return fd;
}

static int inproc_anon_fd(struct uiommufd_host *host, const struct host_anon_ops *ops, void *priv,
			  int flags)
{
	return inproc_anon_fd_file(host, ops, priv, flags, NULL);
}

static void inproc_anon_set_readable(struct uiommufd_host *host, struct host_anon *a,
				     bool readable)
{
	int err = errno;

	(void)host;
	if (a->sig_fd < 0)
		return;
	if (readable) {
		char c = 0;

		/* A full socket still polls readable: only this wake-up is lost. */
		(void)send(a->sig_fd, &c, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	} else {
		char buf[256];

		while (recv(a->drain_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	}
	errno = err;
}

/* Whether @fd still refers to @a's file; a stale entry is forgotten. */
static bool anon_still(int fd, struct host_anon *a)
{
	unsigned long gen = atomic_load_explicit(&anon_fd_gen, memory_order_acquire);
	struct stat st;

	if (atomic_load_explicit(&a->seen_gen, memory_order_relaxed) == gen)
		return true;
	/* Raw: the shim's fstat() asks this file's ops, which would come back here. */
	if (!syscall(SYS_fstat, fd, &st) && st.st_dev == a->dev && st.st_ino == a->ino) {
		atomic_store_explicit(&a->seen_gen, gen, memory_order_relaxed);
		return true;
	}
	anon_forget(fd, a);
	return false;
}

static void *inproc_anon_get(struct uiommufd_host *host, int fd, const struct host_anon_ops *ops,
			     struct host_anon **ref)
{
	struct host_anon *a;

	(void)host;
	if (fd < 0 || fd >= ANON_MAX_FDS)
		return NULL;
	pthread_mutex_lock(&anon_lock);
	a = atomic_load(&anon_files[fd]);
	if (a && a->ops == ops)
		atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
	else
		a = NULL;
	pthread_mutex_unlock(&anon_lock);
	if (!a)
		return NULL;
	if (!anon_still(fd, a)) {
		anon_drop(a);
		return NULL;
	}
	*ref = a;
	return a->priv;
}

static void inproc_anon_put(struct uiommufd_host *host, struct host_anon *ref)
{
	(void)host;
	anon_drop(ref);
}

static void inproc_anon_withdraw(struct uiommufd_host *host, int fd)
{
	(void)host;
	uiommufd_host_inproc_fd_closed(fd);
	syscall(SYS_close, fd);
}

/* The stream anon file behind @fd, referenced; NULL for any other descriptor. */
static struct host_anon *anon_stream_get(int fd)
{
	struct host_anon *a;

	if (fd < 0 || fd >= ANON_MAX_FDS ||
	    !atomic_load_explicit(&anon_files[fd], memory_order_relaxed))
		return NULL;
	pthread_mutex_lock(&anon_lock);
	a = atomic_load(&anon_files[fd]);
	if (a && a->sig_fd >= 0)
		atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
	else
		a = NULL;
	pthread_mutex_unlock(&anon_lock);
	if (!a)
		return NULL;
	if (!anon_still(fd, a)) {
		anon_drop(a);
		return NULL;
	}
	return a;
}

/* The VFS's cap on one read or write (MAX_RW_COUNT). */
#define ANON_MAX_RW ((size_t)INT_MAX & ~(size_t)4095)

static bool anon_rw(int fd, uint64_t ubuf, size_t count, bool write, ssize_t *ret)
{
	ssize_t (*fn)(void *, uint64_t, size_t, int);
	int err = errno;
	struct host_anon *a;
	long fflags;

	a = anon_stream_get(fd);
	if (!a) {
		errno = err;
		return false;
	}
	fflags = syscall(SYS_fcntl, fd, F_GETFL);
	if (fflags < 0)
		fflags = 0;
	errno = err;
	fn = write ? a->ops->write : a->ops->read;
	if (count > ANON_MAX_RW)
		count = ANON_MAX_RW;
	*ret = fn ? fn(a->priv, ubuf, count, (int)fflags) : -EINVAL;
	anon_drop(a);
	return true;
}

bool inproc_anon_read(int fd, void *buf, size_t count, ssize_t *ret)
{
	return anon_rw(fd, (uintptr_t)buf, count, false, ret);
}

bool inproc_anon_write(int fd, const void *buf, size_t count, ssize_t *ret)
{
	return anon_rw(fd, (uintptr_t)buf, count, true, ret);
}

bool inproc_fd_is_stream(int fd)
{
	struct host_anon *a;

	if (fd < 0 || fd >= ANON_MAX_FDS ||
	    !atomic_load_explicit(&anon_files[fd], memory_order_relaxed))
		return false;
	int err = errno;

	a = anon_stream_get(fd);
	errno = err;
	if (!a)
		return false;
	anon_drop(a);
	return true;
}

/* An anon file's own read or write, else the plain system call; -errno. */
static ssize_t fd_rw(int fd, uintptr_t buf, size_t count, bool write)
{
	int err = errno;
	ssize_t ret;

	if (anon_rw(fd, buf, count, write, &ret))
		return ret;
	ret = syscall(write ? SYS_write : SYS_read, fd, buf, count);
	if (ret < 0)
		ret = -errno;
	errno = err;
	return ret;
}

ssize_t uiommufd_host_inproc_fd_read(int fd, void *buf, size_t count)
{
	return fd_rw(fd, (uintptr_t)buf, count, false);
}

ssize_t uiommufd_host_inproc_fd_write(int fd, const void *buf, size_t count)
{
	return fd_rw(fd, (uintptr_t)buf, count, true);
}

void uiommufd_host_inproc_fd_closed(int fd)
{
	struct host_anon *a;

	anon_fd_event();
	if (fd < 0 || fd >= ANON_MAX_FDS ||
	    !atomic_load_explicit(&anon_files[fd], memory_order_relaxed))
		return;
	pthread_mutex_lock(&anon_lock);
	a = atomic_exchange(&anon_files[fd], NULL);
	pthread_mutex_unlock(&anon_lock);
	if (a)
		anon_drop(a);
}

void uiommufd_host_inproc_fd_dup(int oldfd, int newfd)
{
	struct host_anon *a = NULL, *prev;
	bool old_ok = oldfd >= 0 && oldfd < ANON_MAX_FDS;

	anon_fd_event();
	if (oldfd == newfd || newfd < 0 || newfd >= ANON_MAX_FDS)
		return;
	if (!(old_ok && atomic_load_explicit(&anon_files[oldfd], memory_order_relaxed)) &&
	    !atomic_load_explicit(&anon_files[newfd], memory_order_relaxed))
		return;
	pthread_mutex_lock(&anon_lock);
	if (old_ok) {
		a = atomic_load(&anon_files[oldfd]);
		if (a)
			atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
	}
	/* What @newfd had was closed by the dup. */
	prev = atomic_exchange(&anon_files[newfd], a);
	pthread_mutex_unlock(&anon_lock);
	if (prev)
		anon_drop(prev);
}

bool inproc_fd_is_anon(int fd)
{
	struct host_anon *a;
	bool still;

	if (fd < 0 || fd >= ANON_MAX_FDS ||
	    !atomic_load_explicit(&anon_files[fd], memory_order_relaxed))
		return false;
	pthread_mutex_lock(&anon_lock);
	a = atomic_load(&anon_files[fd]);
	if (a)
		atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&anon_lock);
	if (!a)
		return false;
	still = anon_still(fd, a);
	anon_drop(a);
	return still;
}

/*
 * Device files (VFIO groups and device fds): ioctl, pread/pwrite, read and
 * write at the file position, mmap and fstat of their descriptors reach the
 * kind's ops (see host_anon_ops), each holding a reference on the file for
 * the call.  A mapping keeps one until every page of it is unmapped.
 */

/* Any anon file behind @fd, referenced; NULL for any other descriptor. */
static struct host_anon *anon_file_get(int fd)
{
	struct host_anon *a;
	int err = errno;

	if (fd < 0 || fd >= ANON_MAX_FDS ||
	    !atomic_load_explicit(&anon_files[fd], memory_order_relaxed))
		return NULL;
	pthread_mutex_lock(&anon_lock);
	a = atomic_load(&anon_files[fd]);
	if (a)
		atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&anon_lock);
	if (a && !anon_still(fd, a)) {
		anon_drop(a);
		a = NULL;
	}
	errno = err;
	return a;
}

bool inproc_ioctl_is_vfs(unsigned long cmd)
{
	return cmd == FIOCLEX || cmd == FIONCLEX || cmd == FIONBIO || cmd == FIOASYNC;
}

bool inproc_anon_ioctl(int fd, unsigned long cmd, uint64_t uarg, long *ret)
{
	struct host_anon *a = anon_file_get(fd);
	int err = errno;

	if (!a)
		return false;
	*ret = a->ops->ioctl ? a->ops->ioctl(a->priv, cmd, uarg) : -ENOTTY;
	anon_drop(a);
	errno = err;
	return true;
}

/* The VFS's checks before a positioned transfer, then the file's rw. */
static ssize_t anon_prw(struct host_anon *a, uint64_t ubuf, size_t count, int64_t off,
			bool write)
{
	if (anon_is_stream(a->ops))
		return -ESPIPE;
	if (!a->ops->rw || (ssize_t)count < 0 || (uint64_t)off + count > INT64_MAX)
		return -EINVAL;
	if (count > ANON_MAX_RW)
		count = ANON_MAX_RW;
	return a->ops->rw(a->priv, ubuf, count, (uint64_t)off, write);
}

bool inproc_anon_prw(int fd, uint64_t ubuf, size_t count, int64_t off, bool write,
		     ssize_t *ret)
{
	struct host_anon *a;
	int err = errno;

	/* A negative offset fails before the descriptor is looked at. */
	if (off < 0) {
		if (!inproc_fd_maybe_anon(fd))
			return false;
		*ret = -EINVAL;
		return true;
	}
	a = anon_file_get(fd);
	if (!a)
		return false;
	*ret = anon_prw(a, ubuf, count, off, write);
	anon_drop(a);
	errno = err;
	return true;
}

bool inproc_anon_rw_pos(int fd, uint64_t ubuf, size_t count, bool write, ssize_t *ret)
{
	struct host_anon *a = anon_file_get(fd);
	int err = errno;
	long pos;

	if (!a)
		return false;
	if (anon_is_stream(a->ops)) {
		anon_drop(a);
		return false;
	}
	/* The descriptor's own position (the memfd's) is the file position. */
	pos = syscall(SYS_lseek, fd, 0L, SEEK_CUR);
	if (pos < 0) {
		*ret = -ESPIPE;
	} else {
		*ret = anon_prw(a, ubuf, count, pos, write);
		if (*ret > 0)
			syscall(SYS_lseek, fd, pos + *ret, SEEK_SET);
	}
	anon_drop(a);
	errno = err;
	return true;
}

bool inproc_anon_stat(int fd, struct stat *st, int *ret)
{
	struct host_anon *a = anon_file_get(fd);
	int err = errno;

	if (!a)
		return false;
	if (!a->ops->stat) {
		anon_drop(a);
		return false;
	}
	memset(st, 0, sizeof(*st));
	*ret = a->ops->stat(a->priv, st);
	anon_drop(a);
	errno = err;
	return true;
}

/* One mapping of a device file; holds a reference on it. */
struct anon_map {
	struct anon_map *next;
	uintptr_t start, end;
	struct host_anon *file;
};

static pthread_mutex_t anon_map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct anon_map *anon_maps;
static atomic_size_t anon_maps_live;

bool inproc_anon_mmap(int fd, void *addr, size_t len, int prot, int flags, uint64_t off,
		      void **out, int *ret)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct host_anon *a = anon_file_get(fd);
	struct anon_map *m;
	int err = errno;
	void *p;

	if (!a)
		return false;
	*ret = 0;
	if (!len || (off & (page - 1)))
		*ret = -EINVAL;
	else if (len > SIZE_MAX - page + 1)
		*ret = -ENOMEM;
	else if (!a->ops->mmap)
		*ret = -ENODEV;
	if (*ret)
		goto drop;
	len = (len + page - 1) & ~(page - 1);
	m = calloc(1, sizeof(*m));
	if (!m) {
		*ret = -ENOMEM;
		goto drop;
	}
	*ret = a->ops->mmap(a->priv, addr, len, prot, flags, off, &p);
	if (*ret) {
		free(m);
		goto drop;
	}
	/* The mapping takes over our reference. */
	m->start = (uintptr_t)p;
	m->end = (uintptr_t)p + len;
	m->file = a;
	pthread_mutex_lock(&anon_map_lock);
	m->next = anon_maps;
	anon_maps = m;
	atomic_fetch_add(&anon_maps_live, 1);
	pthread_mutex_unlock(&anon_map_lock);
	*out = p;
	errno = err;
	return true;

drop:
	anon_drop(a);
	errno = err;
	return true;
}

/* A part of a mapping that went, to tell its file about outside the lock. */
struct anon_unmapped {
	struct host_anon *file;
	uintptr_t start, end;
};

void inproc_anon_unmapped(void *addr, size_t len)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	struct anon_unmapped told[16];
	struct anon_map **pm, *m, *spare;
	unsigned int passes = 0;
	size_t n;
	int err = errno;

	if (!atomic_load_explicit(&anon_maps_live, memory_order_acquire) || !len || hi < lo)
		return;
again:
	n = 0;
	/* A range inside one mapping splits it in two: the second half's record. */
	spare = malloc(sizeof(*spare));
	pthread_mutex_lock(&anon_map_lock);
	for (pm = &anon_maps; (m = *pm) && n < sizeof(told) / sizeof(told[0]);) {
		uintptr_t s = lo > m->start ? lo : m->start, e = hi < m->end ? hi : m->end;

		if (s >= e) {
			pm = &m->next;
			continue;
		}
		told[n].file = m->file;
		told[n].start = s;
		told[n].end = e;
		n++;
		if (s == m->start && e == m->end) {
			/* All of it: its reference goes with the call. */
			*pm = m->next;
			free(m);
			atomic_fetch_sub(&anon_maps_live, 1);
			continue;
		}
		pthread_mutex_lock(&anon_lock);
		m->file->refs++;
		pthread_mutex_unlock(&anon_lock);
		if (s == m->start) {
			m->start = e;
		} else if (e == m->end) {
			m->end = s;
		} else if (spare) {
			spare->start = e;
			spare->end = m->end;
			spare->file = m->file;
			spare->next = m->next;
			m->end = s;
			m->next = spare;
			pthread_mutex_lock(&anon_lock);
			m->file->refs++;
			pthread_mutex_unlock(&anon_lock);
			atomic_fetch_add(&anon_maps_live, 1);
			spare = NULL;
			m = m->next;
		}
		pm = &m->next;
	}
	pthread_mutex_unlock(&anon_map_lock);
	free(spare);
	for (size_t i = 0; i < n; i++) {
		struct host_anon *a = told[i].file;

		if (a->ops->munmap)
			a->ops->munmap(a->priv, (void *)told[i].start, told[i].end - told[i].start);
		anon_drop(a);
	}
	/* More mappings in the range than one pass tells: another pass. */
	if (n == sizeof(told) / sizeof(told[0]) && ++passes < 1024)
		goto again;
	errno = err;
}

long uiommufd_fd_ioctl(int fd, unsigned long cmd, void *arg)
{
	int err = errno;
	long ret;

	if (!inproc_ioctl_is_vfs(cmd) && inproc_anon_ioctl(fd, cmd, (uintptr_t)arg, &ret))
		return ret;
	ret = syscall(SYS_ioctl, fd, cmd, arg);
	if (ret < 0)
		ret = -errno;
	errno = err;
	return ret;
}

ssize_t uiommufd_fd_rw(int fd, void *buf, size_t count, uint64_t off, bool write)
{
	int err = errno;
	ssize_t ret;

	if (inproc_anon_prw(fd, (uintptr_t)buf, count, (int64_t)off, write, &ret))
		return ret;
	ret = syscall(write ? SYS_pwrite64 : SYS_pread64, fd, buf, count, (long)off);
	if (ret < 0)
		ret = -errno;
	errno = err;
	return ret;
}

int uiommufd_fd_mmap(int fd, void *addr, size_t len, int prot, int flags, uint64_t off,
		     void **out)
{
	int err = errno, ret;
	void *p;

	if (inproc_anon_mmap(fd, addr, len, prot, flags, off, out, &ret))
		return ret;
	p = sys_mmap(addr, len, prot, flags, fd, (off_t)off);
	ret = p == MAP_FAILED ? -errno : 0;
	if (!ret)
		*out = p;
	errno = err;
	return ret;
}

/* ------------------------------------------------------------- accounting */

static pthread_mutex_t account_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long locked_pages[3];

static int inproc_account(struct uiommufd_host *host, enum host_account_mode mode, long npages)
{
	unsigned long limit = ULONG_MAX;
	struct rlimit rl;
	int rc = 0;

	if (mode == HOST_ACCOUNT_NONE || mode > HOST_ACCOUNT_MM)
		return 0;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		limit = rl.rlim_cur / host->page_size;
	pthread_mutex_lock(&account_lock);
	if (npages < 0) {
		unsigned long n = (unsigned long)-npages;

		locked_pages[mode] -= n < locked_pages[mode] ? n : locked_pages[mode];
	} else if (locked_pages[mode] + (unsigned long)npages > limit) {
		rc = -ENOMEM;
	} else {
		locked_pages[mode] += (unsigned long)npages;
	}
	pthread_mutex_unlock(&account_lock);
	return rc;
}

unsigned long uiommufd_host_inproc_locked_pages(enum host_account_mode mode)
{
	unsigned long n;

	pthread_mutex_lock(&account_lock);
	n = mode <= HOST_ACCOUNT_MM ? locked_pages[mode] : 0;
	pthread_mutex_unlock(&account_lock);
	return n;
}

/*
 * Capabilities are asked on every IOAS_MAP (the charge mode of new pages),
 * and a capget per map would be a system call on the fastest path we have.
 * So each thread (capabilities are per thread) keeps the effective set it
 * last read, valid while the credentials generation has not moved.  The
 * shim moves it after every libc call that can change the effective set
 * (capset, prctl, the setuid family); a program that changes them by a raw
 * system call (syscall(SYS_capset, ...) included), or an embedding program
 * not under the shim, must call uiommufd_host_inproc_creds_changed().
 */
static atomic_ulong creds_gen = 1;
static __thread unsigned long caps_seen_gen;	/* 0: nothing read yet */
static __thread uint64_t caps_seen;

void uiommufd_host_inproc_creds_changed(void)
{
	atomic_fetch_add_explicit(&creds_gen, 1, memory_order_release);
}

static bool inproc_capable(struct uiommufd_host *host, enum host_cap cap)
{
	unsigned long gen = atomic_load_explicit(&creds_gen, memory_order_acquire);
	unsigned int bit = cap == HOST_CAP_IPC_LOCK ? CAP_IPC_LOCK
			   : cap == HOST_CAP_SYS_RAWIO ? CAP_SYS_RAWIO
						       : CAP_SYS_RESOURCE;

	(void)host;
	if (caps_seen_gen != gen) {
		struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct data[2] = {};

		/* A failed read is "no capability", and is asked again next time. */
		if (syscall(SYS_capget, &hdr, data))
			return false;
		caps_seen = (uint64_t)data[1].effective << 32 | data[0].effective;
		caps_seen_gen = gen;
	}
	return caps_seen >> bit & 1;
}

static const struct host_ops inproc_ops = {
	.copy_from_user = inproc_copy_from_user,
	.copy_to_user = inproc_copy_to_user,
	.pin_user = inproc_pin_user,
	.pin_file = inproc_pin_file,
	.pin_split = inproc_pin_split,
	.unpin = inproc_unpin,
	.pin_kaddr = inproc_pin_kaddr,
	.pin_rw = inproc_pin_rw,
	.pin_phys = inproc_pin_phys,
	.phys_kaddr = inproc_phys_kaddr,
	.phys_rw = inproc_phys_rw,
	.user_phys = inproc_user_phys,
	.page_pins = inproc_page_pins,
	.file_get = inproc_file_get,
	.file_put = inproc_file_put,
	.file_create = inproc_file_create,
	.file_size = inproc_file_size,
	.file_mmap = inproc_file_mmap,
	.file_munmap = inproc_file_munmap,
	.anon_fd = inproc_anon_fd,
	.anon_get = inproc_anon_get,
	.anon_put = inproc_anon_put,
	.anon_fd_file = inproc_anon_fd_file,
	.anon_set_readable = inproc_anon_set_readable,
	.anon_withdraw = inproc_anon_withdraw,
	.account = inproc_account,
	.capable = inproc_capable,
};

static struct uiommufd_host inproc_host = { .ops = &inproc_ops };

struct uiommufd_host *uiommufd_host_inproc(void)
{
	if (!inproc_host.page_size) {
		long ps = sysconf(_SC_PAGESIZE);

		inproc_host.page_size = ps > 0 ? (size_t)ps : 4096;
	}
	return &inproc_host;
}
