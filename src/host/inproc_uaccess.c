// SPDX-License-Identifier: MIT
/*
 * The in-process host's user access.  The kernel's copy_from_user() turns
 * a bad pointer into EFAULT through its exception tables.  Here a fault in
 * a fast copy (code at known addresses: a few moves for up to 64 bytes, one
 * rep movsb past that) resumes at a known exit that reports it, and the
 * copy is done again under a per-thread guard: a SIGSEGV or SIGBUS raised
 * while the guard is armed jumps back to the copy, which returns -EFAULT.
 * Any other fault goes on to the handler the program had, or kills the
 * program as it would have without us.  The handler is installed on first use and
 * chained.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "core/host.h"
#include "host/inproc.h"
#include "host/inproc_int.h"
#include "host/mmio_trap.h"

/* User addresses above this are never valid (57-bit la57 included). */
#define USER_ADDR_LIMIT (1ULL << 56)

struct uaccess_guard {
	sigjmp_buf env;
	volatile sig_atomic_t armed;
};

/* Initial-exec: in the preloaded library the default model costs a call per access. */
static __thread struct uaccess_guard uaccess_guard __attribute__((tls_model("initial-exec")));
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

/*
 * The fast copy needs no jump buffer: it is one rep movsb at a known
 * address.  A fault there resumes at the instruction after it, where the
 * bytes left (rcx, which the string move counts down as it goes) become the
 * return value, as the kernel's exception table turns a faulting user copy
 * into a short one.  Saving a sigjmp_buf for every copy was the larger part
 * of a small copy's cost.
 */
#if defined(__x86_64__)
/* A code address the fault handler knows, and a function opening at one. */
#define UACCESS_ASM_LABEL(name) ".globl " #name "\n.hidden " #name "\n" #name ":\n"
#define UACCESS_ASM_FUNC(name) ".type " #name ", @function\n" UACCESS_ASM_LABEL(name)

size_t inproc_uaccess_movsb(void *dst, const void *src, size_t len);
extern const char inproc_uaccess_movsb_insn[], inproc_uaccess_movsb_resume[];
__asm__(".text\n"
	UACCESS_ASM_FUNC(inproc_uaccess_movsb)
	"\tmovq %rdx, %rcx\n"
	UACCESS_ASM_LABEL(inproc_uaccess_movsb_insn)
	"\trep movsb\n"
	UACCESS_ASM_LABEL(inproc_uaccess_movsb_resume)
	"\tmovq %rcx, %rax\n"
	"\tret\n"
	".size inproc_uaccess_movsb, .-inproc_uaccess_movsb\n");

/*
 * Copies of at most 64 bytes (an ioctl's header, its argument, its answer:
 * nearly every user copy) pay rep movsb's start-up, some fifteen cycles,
 * several times over.  They are two overlapping moves of the widest width
 * that fits instead: 1-3 bytes as the first, middle and last byte, 4-7 and
 * 8-15 as a word from each end, 16-32 as one 16-byte vector from each end,
 * 33-64 as two from each end.  Every load comes before every store, so a
 * copy between overlapping buffers is still right.  These are the pieces
 * iommu_dma_small_copy() moves for a device's DMA; here they are written
 * in assembly because a fault in them must land on addresses we know.  A
 * fault anywhere between inproc_uaccess_small and its fault exit resumes
 * there, which returns nonzero, and the guarded loop does the copy again,
 * as after a rep movsb that faulted; the MMIO trap never sees these moves,
 * so a trap's registers are reached by the same plain moves as before.
 */
#define UACCESS_SMALL_MAX 64
int inproc_uaccess_small(void *dst, const void *src, size_t len);
extern const char inproc_uaccess_small_fault[];
__asm__(".text\n"
	UACCESS_ASM_FUNC(inproc_uaccess_small)
	"\tcmpq $16, %rdx\n"
	"\tjb 3f\n"
	"\tcmpq $32, %rdx\n"
	"\tja 2f\n"
	/* 16..32 */
	"\tmovdqu (%rsi), %xmm0\n"
	"\tmovdqu -16(%rsi,%rdx), %xmm1\n"
	"\tmovdqu %xmm0, (%rdi)\n"
	"\tmovdqu %xmm1, -16(%rdi,%rdx)\n"
	"\txorl %eax, %eax\n"
	"\tret\n"
	/* 33..64 */
	"2:\tmovdqu (%rsi), %xmm0\n"
	"\tmovdqu 16(%rsi), %xmm1\n"
	"\tmovdqu -32(%rsi,%rdx), %xmm2\n"
	"\tmovdqu -16(%rsi,%rdx), %xmm3\n"
	"\tmovdqu %xmm0, (%rdi)\n"
	"\tmovdqu %xmm1, 16(%rdi)\n"
	"\tmovdqu %xmm2, -32(%rdi,%rdx)\n"
	"\tmovdqu %xmm3, -16(%rdi,%rdx)\n"
	"\txorl %eax, %eax\n"
	"\tret\n"
	"3:\tcmpq $8, %rdx\n"
	"\tjb 4f\n"
	/* 8..15 */
	"\tmovq (%rsi), %rax\n"
	"\tmovq -8(%rsi,%rdx), %rcx\n"
	"\tmovq %rax, (%rdi)\n"
	"\tmovq %rcx, -8(%rdi,%rdx)\n"
	"\txorl %eax, %eax\n"
	"\tret\n"
	"4:\tcmpq $4, %rdx\n"
	"\tjb 5f\n"
	/* 4..7 */
	"\tmovl (%rsi), %eax\n"
	"\tmovl -4(%rsi,%rdx), %ecx\n"
	"\tmovl %eax, (%rdi)\n"
	"\tmovl %ecx, -4(%rdi,%rdx)\n"
	"\txorl %eax, %eax\n"
	"\tret\n"
	/* 1..3: byte 0, byte len / 2, byte len - 1 */
	"5:\tmovq %rdx, %r8\n"
	"\tshrq $1, %r8\n"
	"\tmovzbl (%rsi), %eax\n"
	"\tmovzbl (%rsi,%r8), %ecx\n"
	"\tmovzbl -1(%rsi,%rdx), %r9d\n"
	"\tmovb %al, (%rdi)\n"
	"\tmovb %cl, (%rdi,%r8)\n"
	"\tmovb %r9b, -1(%rdi,%rdx)\n"
	"\txorl %eax, %eax\n"
	"\tret\n"
	/* The fault exit, and the end of the moves a fault may come from. */
	UACCESS_ASM_LABEL(inproc_uaccess_small_fault)
	"\tmovl $1, %eax\n"
	"\tret\n"
	".size inproc_uaccess_small, .-inproc_uaccess_small\n");

/* A fault inside inproc_uaccess_small(): resume at its fault exit. */
static bool uaccess_small_fixup(void *uctx)
{
	greg_t *g = ((ucontext_t *)uctx)->uc_mcontext.gregs;
	uintptr_t ip = (uintptr_t)g[REG_RIP];

	if (ip < (uintptr_t)inproc_uaccess_small || ip >= (uintptr_t)inproc_uaccess_small_fault)
		return false;
	g[REG_RIP] = (greg_t)(uintptr_t)inproc_uaccess_small_fault;
	return true;
}

/* A fault on the rep movsb: resume after it with the bytes left. */
static bool uaccess_fast_fixup(void *uctx)
{
	greg_t *g = ((ucontext_t *)uctx)->uc_mcontext.gregs;

	if (g[REG_RIP] != (greg_t)(uintptr_t)inproc_uaccess_movsb_insn)
		return false;
	g[REG_RIP] = (greg_t)(uintptr_t)inproc_uaccess_movsb_resume;
	return true;
}

/* The fast copy: nonzero when it faulted and must be done again under the guard. */
static inline size_t uaccess_copy_fast(void *dst, const void *src, size_t len)
{
	if (len <= UACCESS_SMALL_MAX)
		return (size_t)inproc_uaccess_small(dst, src, len);
	return inproc_uaccess_movsb(dst, src, len);
}
#else
static bool uaccess_small_fixup(void *uctx)
{
	(void)uctx;
	return false;
}

static bool uaccess_fast_fixup(void *uctx)
{
	(void)uctx;
	return false;
}
#endif

static void uaccess_fault(int sig, siginfo_t *info, void *uctx)
{
	/* A fast copy's own fault first: the guarded loop then does it again. */
	if (uaccess_small_fixup(uctx))
		return;
	/* An access to an MMIO trap is emulated and resumes, guard or not. */
	if (sig == SIGSEGV && mmio_trap_fault(info->si_addr, uctx))
		return;
	if (uaccess_fast_fixup(uctx))
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
 * the bad pointer we are about to turn into EFAULT.  On x86-64 the fast copy
 * is inproc_uaccess_small() up to 64 bytes and inproc_uaccess_movsb(), one
 * rep movsb, past that: code the compiler cannot split, widen or replace by
 * a call, which runs at memcpy speed.  Elsewhere, and when the fast
 * copy faults, the copy is this loop under the jump guard.
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

bool inproc_uaccess_range_ok(uint64_t uptr, size_t len)
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
static __thread struct uaccess_span uaccess_spans[UACCESS_SPANS]
	__attribute__((tls_model("initial-exec")));
static __thread unsigned int uaccess_span_next __attribute__((tls_model("initial-exec")));
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

/*
 * Whether [lo, hi) was all touched, for writing if @write, under @gen.
 * The spans' bounds are page aligned, so an unaligned [lo, hi) asks the
 * same as the pages under it.
 */
static inline bool uaccess_known(uint64_t lo, uint64_t hi, bool write, unsigned long gen)
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

/* The copy under the jump guard: plain moves, which the MMIO trap emulates. */
static int uaccess_copy_guarded(void *dst, const void *src, size_t len)
{
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
		return -EFAULT;
	}
	uaccess_guard.armed = 1;
	uaccess_copy_plain(dst, src, len);
	uaccess_guard.armed = 0;
	return 0;
}

/* @write: the user memory is the destination. */
int inproc_guarded_copy(void *dst, const void *src, size_t len, uint64_t uptr, bool write)
{
	unsigned long gen = atomic_load_explicit(&uaccess_gen, memory_order_relaxed);
	uint64_t lo = uptr & ~4095ULL, hi;
	bool known;
	int rc;

	if (!len)
		return 0;
	/* inproc_uaccess_range_ok() keeps uptr + len far below the top of the space. */
	hi = (uptr + len + 4095) & ~4095ULL;
	known = uaccess_known(lo, hi, write, gen);
	if (!known)
		uaccess_ensure_handler();
#if defined(__x86_64__)
	/*
	 * The MMIO trap emulates plain moves only, so a fast copy that faults
	 * is done again whole by the plain one: what the fast copy wrote before
	 * the fault was ordinary memory (the first touch of a trap faults),
	 * written again with the same bytes.
	 */
	rc = uaccess_copy_fast(dst, src, len) ? uaccess_copy_guarded(dst, src, len) : 0;
#else
	rc = uaccess_copy_guarded(dst, src, len);
#endif
	if (!rc && !known)
		uaccess_remember(lo, hi, write, gen);
	return rc;
}

/*
 * A copy inside pages this thread has touched since the map last changed,
 * the usual ioctl argument or buffer: checked and copied here, in the
 * caller, without inproc_guarded_copy()'s frame.  Anything else goes
 * the whole way.
 */
static inline int uaccess_copy(void *dst, const void *src, size_t len, uint64_t uptr, bool write)
{
#if defined(__x86_64__)
	unsigned long gen = atomic_load_explicit(&uaccess_gen, memory_order_relaxed);

	if (len && uaccess_known(uptr, uptr + len, write, gen))
		return uaccess_copy_fast(dst, src, len) ? uaccess_copy_guarded(dst, src, len) : 0;
#endif
	return inproc_guarded_copy(dst, src, len, uptr, write);
}

int inproc_copy_from_user(struct uiommufd_host *host, void *dst, uint64_t uptr,
				 size_t len)
{
	(void)host;
	if (!inproc_uaccess_range_ok(uptr, len))
		return -EFAULT;
	return uaccess_copy(dst, (const void *)(uintptr_t)uptr, len, uptr, false);
}

int inproc_copy_to_user(struct uiommufd_host *host, uint64_t uptr, const void *src,
			       size_t len)
{
	(void)host;
	if (!inproc_uaccess_range_ok(uptr, len))
		return -EFAULT;
	return uaccess_copy((void *)(uintptr_t)uptr, src, len, uptr, true);
}
