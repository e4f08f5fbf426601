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
 * aside with mremap() (no copy) and points the pins there.  A pin is a list
 * of segments so that a range whose middle was moved still resolves.  Moved
 * memory lives in refcounted "shelters" freed with their last pin.
 *
 * Validation of a pin reads /proc/self/maps once: every page must be
 * mapped, readable, and writable for a writable pin (EFAULT otherwise), as
 * get_user_pages() demands.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/host.h"
#include "host/inproc.h"
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
		/* Let the fault happen again with the default action. */
		signal(sig, SIG_DFL);
		return;
	}
	prev->sa_handler(sig);
}

static void uaccess_fault(int sig, siginfo_t *info, void *uctx)
{
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
	};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &prev_segv);
	sigaction(SIGBUS, &sa, &prev_bus);
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
 * the bad pointer we are about to turn into EFAULT.
 */
__attribute__((noinline, no_sanitize("address", "undefined"))) static void
uaccess_copy(volatile uint8_t *dst, const volatile uint8_t *src, size_t len)
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

static bool uaccess_range_ok(uint64_t uptr, size_t len)
{
	uint64_t end;

	if (__builtin_add_overflow(uptr, (uint64_t)len, &end))
		return false;
	return end <= USER_ADDR_LIMIT && (len == 0 || uptr != 0);
}

/*
 * Anyone may replace our SIGSEGV handler behind our back (a test framework,
 * a runtime, a raw syscall).  Before touching a page we have not touched
 * lately, check with the kernel that the handler is still ours and put it
 * back in front if not.  Pages touched since the last change of the memory
 * map are remembered per thread, so the hot path makes no system call.
 */
#define UACCESS_CACHE 8
struct uaccess_cache_entry {
	uint64_t page;
	unsigned long gen;
};
static __thread struct uaccess_cache_entry uaccess_cache[UACCESS_CACHE];
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

static bool uaccess_cached(uint64_t page, unsigned long gen)
{
	const struct uaccess_cache_entry *e = &uaccess_cache[(page >> 12) % UACCESS_CACHE];

	return e->page == page && e->gen == gen;
}

static void uaccess_remember(uint64_t page, unsigned long gen)
{
	struct uaccess_cache_entry *e = &uaccess_cache[(page >> 12) % UACCESS_CACHE];

	e->page = page;
	e->gen = gen;
}

static int guarded_copy(void *dst, const void *src, size_t len, uint64_t uptr)
{
	unsigned long gen = atomic_load_explicit(&uaccess_gen, memory_order_relaxed);
	uint64_t first = uptr & ~4095ULL, last = (uptr + len - 1) & ~4095ULL;
	volatile bool known;

	if (!len)
		return 0;
	known = uaccess_cached(first, gen) && uaccess_cached(last, gen);
	if (!known)
		uaccess_ensure_handler();
	if (sigsetjmp(uaccess_guard.env, 0))
		return -EFAULT;
	uaccess_guard.armed = 1;
	uaccess_copy(dst, src, len);
	uaccess_guard.armed = 0;
	if (!known) {
		uaccess_remember(first, gen);
		uaccess_remember(last, gen);
	}
	return 0;
}

static int inproc_copy_from_user(struct uiommufd_host *host, void *dst, uint64_t uptr,
				 size_t len)
{
	(void)host;
	if (!uaccess_range_ok(uptr, len))
		return -EFAULT;
	return guarded_copy(dst, (const void *)(uintptr_t)uptr, len, uptr);
}

static int inproc_copy_to_user(struct uiommufd_host *host, uint64_t uptr, const void *src,
			       size_t len)
{
	(void)host;
	if (!uaccess_range_ok(uptr, len))
		return -EFAULT;
	return guarded_copy((void *)(uintptr_t)uptr, src, len, uptr);
}

/* ------------------------------------------------------------------- pins */

/* Memory moved out of the program's way, shared by the pins into it. */
struct shelter {
	void *addr;
	size_t len;
	unsigned int refs;
};

struct pin_seg {
	size_t offset;		/* into the pin */
	size_t len;
	uint64_t uaddr;		/* where the program had it */
	uint8_t *kaddr;		/* where the core reaches it */
	struct shelter *shelter; /* set once moved out of the program's way */
};

struct host_pin {
	size_t len;
	bool file;
	bool shared;		/* MAP_SHARED: discarding does not free it */
	struct pin_seg *segs;
	size_t nr_segs;
	struct host_pin *prev, *next;	/* live user pins, for notify */
};

static pthread_mutex_t pins_lock = PTHREAD_MUTEX_INITIALIZER;
static struct host_pin *user_pins;

static void pins_link(struct host_pin *pin)
{
	pin->prev = NULL;
	pin->next = user_pins;
	if (user_pins)
		user_pins->prev = pin;
	user_pins = pin;
}

static void pins_unlink(struct host_pin *pin)
{
	if (pin->prev)
		pin->prev->next = pin->next;
	else if (user_pins == pin)
		user_pins = pin->next;
	if (pin->next)
		pin->next->prev = pin->prev;
	pin->prev = pin->next = NULL;
}

static void shelter_put(struct shelter *s)
{
	if (s && --s->refs == 0) {
		munmap(s->addr, s->len);
		free(s);
	}
}

struct vma_check {
	uint64_t start, end;	/* the range to check, end exclusive */
	uint64_t covered;	/* checked up to here */
	bool writable;
	bool shared;
	int rc;
};

/* Walk /proc/self/maps: the range must be mapped with the right rights. */
static int check_user_range(uint64_t start, uint64_t end, bool writable, bool *shared)
{
	char line[512];
	uint64_t covered = start;
	bool all_shared = true;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	while (covered < end && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[5];

		if (sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) != 3)
			continue;
		if (hi <= covered)
			continue;
		if (lo > covered)
			break;		/* a hole */
		if (perms[0] != 'r' || (writable && perms[1] != 'w'))
			break;
		if (perms[3] != 's')
			all_shared = false;
		covered = hi;
	}
	fclose(f);
	if (covered < end)
		return -EFAULT;
	*shared = all_shared;
	return 0;
}

static struct host_pin *pin_alloc(size_t len, size_t nr_segs)
{
	struct host_pin *pin = calloc(1, sizeof(*pin));

	if (!pin)
		return NULL;
	pin->segs = calloc(nr_segs, sizeof(*pin->segs));
	if (!pin->segs) {
		free(pin);
		return NULL;
	}
	pin->len = len;
	pin->nr_segs = nr_segs;
	return pin;
}

static int inproc_pin_user(struct uiommufd_host *host, uint64_t uptr, size_t len,
			   bool writable, struct host_pin **out)
{
	struct host_pin *pin;
	bool shared;
	int rc;

	if (!len || uptr % host->page_size || len % host->page_size ||
	    !uaccess_range_ok(uptr, len))
		return -EFAULT;
	rc = check_user_range(uptr, uptr + len, writable, &shared);
	if (rc)
		return rc;
	pin = pin_alloc(len, 1);
	if (!pin)
		return -ENOMEM;
	pin->shared = shared;
	pin->segs[0] = (struct pin_seg){ .len = len, .uaddr = uptr,
					 .kaddr = (uint8_t *)(uintptr_t)uptr };
	pthread_mutex_lock(&pins_lock);
	pins_link(pin);
	pthread_mutex_unlock(&pins_lock);
	*out = pin;
	return 0;
}

struct host_file {
	int fd;
};

static int inproc_pin_file(struct uiommufd_host *host, struct host_file *file, uint64_t offset,
			   size_t len, bool writable, struct host_pin **out)
{
	struct host_pin *pin;
	void *addr;

	if (!len || offset % host->page_size || len % host->page_size)
		return -EINVAL;
	addr = mmap(NULL, len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, file->fd,
		    (off_t)offset);
	if (addr == MAP_FAILED)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	pin = pin_alloc(len, 1);
	if (!pin) {
		munmap(addr, len);
		return -ENOMEM;
	}
	pin->file = true;
	pin->shared = true;
	/* Our own mapping: the program cannot take it away. */
	pin->segs[0] = (struct pin_seg){ .len = len, .kaddr = addr };
	*out = pin;
	return 0;
}

/* Split segment @i of @pin at @at bytes into it; both halves stay put. */
static int pin_seg_split(struct host_pin *pin, size_t i, size_t at)
{
	struct pin_seg *segs;

	segs = realloc(pin->segs, (pin->nr_segs + 1) * sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	pin->segs = segs;
	memmove(&segs[i + 1], &segs[i], (pin->nr_segs - i) * sizeof(*segs));
	pin->nr_segs++;
	segs[i].len = at;
	segs[i + 1].offset += at;
	segs[i + 1].len -= at;
	segs[i + 1].uaddr += at;
	segs[i + 1].kaddr += at;
	if (segs[i].shelter)
		segs[i].shelter->refs++;
	return 0;
}

static void pin_free(struct host_pin *pin)
{
	size_t i;

	for (i = 0; i != pin->nr_segs; i++)
		shelter_put(pin->segs[i].shelter);
	if (pin->file)
		munmap(pin->segs[0].kaddr - pin->segs[0].offset, pin->len);
	free(pin->segs);
	free(pin);
}

static int inproc_pin_split(struct uiommufd_host *host, struct host_pin *pin, size_t offset,
			    struct host_pin **out)
{
	struct host_pin *back;
	size_t i, j;

	(void)host;
	if (pin->file)
		return -EOPNOTSUPP;	/* one mapping, released whole */
	pthread_mutex_lock(&pins_lock);
	for (i = 0; i != pin->nr_segs; i++)
		if (offset < pin->segs[i].offset + pin->segs[i].len)
			break;
	if (i == pin->nr_segs || offset == 0)
		goto err_inval;
	if (offset != pin->segs[i].offset && pin_seg_split(pin, i, offset - pin->segs[i].offset))
		goto err_nomem;
	if (offset != pin->segs[i].offset)
		i++;
	back = pin_alloc(pin->len - offset, pin->nr_segs - i);
	if (!back)
		goto err_nomem;
	back->shared = pin->shared;
	for (j = i; j != pin->nr_segs; j++) {
		back->segs[j - i] = pin->segs[j];
		back->segs[j - i].offset -= offset;
	}
	pin->nr_segs = i;
	pin->len = offset;
	pins_link(back);
	pthread_mutex_unlock(&pins_lock);
	*out = back;
	return 0;

err_inval:
	pthread_mutex_unlock(&pins_lock);
	return -EINVAL;
err_nomem:
	pthread_mutex_unlock(&pins_lock);
	return -ENOMEM;
}

static void inproc_unpin(struct uiommufd_host *host, struct host_pin *pin)
{
	(void)host;
	if (!pin->file) {
		pthread_mutex_lock(&pins_lock);
		pins_unlink(pin);
		pthread_mutex_unlock(&pins_lock);
	}
	pin_free(pin);
}

static void *inproc_pin_kaddr(struct uiommufd_host *host, struct host_pin *pin, size_t offset)
{
	void *kaddr = NULL;
	size_t i;

	(void)host;
	pthread_mutex_lock(&pins_lock);
	for (i = 0; i != pin->nr_segs; i++) {
		const struct pin_seg *seg = &pin->segs[i];

		if (offset >= seg->offset && offset - seg->offset < seg->len) {
			kaddr = seg->kaddr + (offset - seg->offset);
			break;
		}
	}
	pthread_mutex_unlock(&pins_lock);
	return kaddr;
}

static bool user_page_mapped(uint64_t uaddr, size_t page_size)
{
	unsigned char vec;

	return mincore((void *)(uintptr_t)uaddr, page_size, &vec) == 0;
}

static long inproc_page_pins(struct uiommufd_host *host, uint64_t uaddr)
{
	struct host_pin *pin;
	long pins = 0;

	uaddr -= uaddr % host->page_size;
	if (!uaccess_range_ok(uaddr, host->page_size) || !user_page_mapped(uaddr, host->page_size))
		return -EFAULT;
	pthread_mutex_lock(&pins_lock);
	for (pin = user_pins; pin; pin = pin->next) {
		size_t i;

		for (i = 0; i != pin->nr_segs; i++) {
			const struct pin_seg *seg = &pin->segs[i];

			if (!seg->shelter && uaddr >= seg->uaddr && uaddr - seg->uaddr < seg->len)
				pins++;
		}
	}
	pthread_mutex_unlock(&pins_lock);
	return pins;
}

long uiommufd_page_pins(struct uiommufd_host *host, uint64_t uaddr)
{
	return host->ops->page_pins(host, uaddr);
}

struct run {
	uint64_t lo, hi;	/* hi exclusive */
};

static int run_cmp(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Move [lo, hi) aside and point every unmoved segment inside it there. */
static void shelter_run(uint64_t lo, uint64_t hi)
{
	struct host_pin *pin;
	struct shelter *s;
	void *moved;

	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	/* Same-size mremap is a no-op unless told where: reserve a spot first. */
	moved = mmap(NULL, hi - lo, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (moved != MAP_FAILED)
		moved = mremap((void *)(uintptr_t)lo, hi - lo, hi - lo,
			       MREMAP_MAYMOVE | MREMAP_FIXED, moved);
	if (moved == MAP_FAILED) {
		/* It spans several mappings, or memory ran out: leave it be. */
		free(s);
		return;
	}
	s->addr = moved;
	s->len = hi - lo;
	for (pin = user_pins; pin; pin = pin->next) {
		size_t i;

		for (i = 0; i < pin->nr_segs; i++) {
			struct pin_seg *seg = &pin->segs[i];
			uint64_t s_lo = seg->uaddr, s_hi = seg->uaddr + seg->len;

			if (seg->shelter || s_hi <= lo || s_lo >= hi)
				continue;
			/* Cut off what lies outside the run; it is visited on its own. */
			if (s_lo < lo) {
				pin_seg_split(pin, i, lo - s_lo);
				continue;
			}
			if (s_hi > hi && pin_seg_split(pin, i, hi - s_lo))
				continue;
			seg = &pin->segs[i];
			seg->kaddr = (uint8_t *)moved + (seg->uaddr - lo);
			seg->shelter = s;
			s->refs++;
		}
	}
	if (!s->refs) {
		munmap(s->addr, s->len);
		free(s);
	}
}

/*
 * Move the pinned pages of [start, end) out of the program's way.  Each
 * maximal run of pinned pages moves once, with mremap (no copy).
 */
static void shelter_range(uint64_t start, uint64_t end)
{
	struct run *runs = NULL, *grown;
	size_t nr = 0, merged = 0, i;
	struct host_pin *pin;

	for (pin = user_pins; pin; pin = pin->next) {
		for (i = 0; i != pin->nr_segs; i++) {
			const struct pin_seg *seg = &pin->segs[i];
			uint64_t lo = seg->uaddr, hi = seg->uaddr + seg->len;

			if (seg->shelter || pin->file || hi <= start || lo >= end)
				continue;
			grown = realloc(runs, (nr + 1) * sizeof(*runs));
			if (!grown)
				goto out;
			runs = grown;
			runs[nr].lo = lo < start ? start : lo;
			runs[nr].hi = hi > end ? end : hi;
			nr++;
		}
	}
	if (!nr)
		goto out;
	qsort(runs, nr, sizeof(*runs), run_cmp);
	for (i = 1; i != nr; i++) {
		if (runs[i].lo <= runs[merged].hi) {
			if (runs[i].hi > runs[merged].hi)
				runs[merged].hi = runs[i].hi;
		} else {
			runs[++merged] = runs[i];
		}
	}
	for (i = 0; i <= merged; i++)
		shelter_run(runs[i].lo, runs[i].hi);
out:
	free(runs);
}

void uiommufd_host_inproc_unmap_notify(void *addr, size_t length)
{
	uint64_t start = (uintptr_t)addr, end;

	if (!length || __builtin_add_overflow(start, (uint64_t)length, &end))
		return;
	pthread_mutex_lock(&pins_lock);
	if (user_pins)
		shelter_range(start, end);
	pthread_mutex_unlock(&pins_lock);
}

void uiommufd_host_inproc_remap_notify(void *old, size_t size, void *new_addr)
{
	uint64_t lo = (uintptr_t)old, hi, delta = (uintptr_t)new_addr - lo;
	struct host_pin *pin;

	if (!size || __builtin_add_overflow(lo, (uint64_t)size, &hi))
		return;
	pthread_mutex_lock(&pins_lock);
	for (pin = user_pins; pin; pin = pin->next) {
		size_t i;

		for (i = 0; i < pin->nr_segs; i++) {
			struct pin_seg *seg = &pin->segs[i];
			uint64_t s_lo = seg->uaddr, s_hi = seg->uaddr + seg->len;

			if (seg->shelter || s_hi <= lo || s_lo >= hi)
				continue;
			if (s_lo < lo) {
				pin_seg_split(pin, i, lo - s_lo);
				continue;
			}
			if (s_hi > hi && pin_seg_split(pin, i, hi - s_lo))
				continue;
			/* The pages went with the mapping; the pin follows them. */
			seg = &pin->segs[i];
			seg->uaddr += delta;
			seg->kaddr += delta;
		}
	}
	pthread_mutex_unlock(&pins_lock);
}

bool uiommufd_host_inproc_range_pinned(void *addr, size_t length)
{
	uint64_t start = (uintptr_t)addr, end = start + length;
	struct host_pin *pin;
	bool pinned = false;

	pthread_mutex_lock(&pins_lock);
	for (pin = user_pins; pin && !pinned; pin = pin->next) {
		size_t i;

		for (i = 0; i != pin->nr_segs; i++) {
			const struct pin_seg *seg = &pin->segs[i];

			if (!seg->shelter && !pin->shared && seg->uaddr < end &&
			    seg->uaddr + seg->len > start) {
				pinned = true;
				break;
			}
		}
	}
	pthread_mutex_unlock(&pins_lock);
	return pinned;
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

static bool inproc_capable(struct uiommufd_host *host, enum host_cap cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	unsigned int bit = cap == HOST_CAP_IPC_LOCK ? CAP_IPC_LOCK : CAP_SYS_RESOURCE;

	(void)host;
	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[bit / 32].effective & (1u << (bit % 32));
}

static const struct host_ops inproc_ops = {
	.copy_from_user = inproc_copy_from_user,
	.copy_to_user = inproc_copy_to_user,
	.pin_user = inproc_pin_user,
	.pin_file = inproc_pin_file,
	.pin_split = inproc_pin_split,
	.unpin = inproc_unpin,
	.pin_kaddr = inproc_pin_kaddr,
	.page_pins = inproc_page_pins,
	.file_get = inproc_file_get,
	.file_put = inproc_file_put,
	.file_size = inproc_file_size,
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
