// SPDX-License-Identifier: MIT
/*
 * MMIO traps (see mmio_trap.h): PROT_NONE memory whose loads and stores
 * are emulated from the host's SIGSEGV handler.
 *
 * Lookup.  The handler runs on any thread at any moment, so it takes no
 * lock.  The live address ranges are published in a fixed array of atomic
 * pointers to immutable range records; the handler scans it.  A trap owns
 * one record, or more once the program has unmapped a hole in it
 * (mmio_trap_forget_range() replaces a record by the pieces that remain).
 *
 * Retiring.  Changes are made under trap_lock (held briefly, never while
 * waiting, so a trap's own read/write may map or unmap traps too).  A
 * record taken out of the array may still be in use by a handler that
 * found it a moment before, so it is freed only after a grace period:
 * handlers count themselves in one of two reader counters (the one
 * srcu_idx names when they start); the writer flips srcu_idx and waits for
 * the old counter to drain, twice, so every handler that started before
 * the change has returned (the scheme of sleepable RCU).  New handlers
 * move to the other counter, so a steady stream of faults cannot starve
 * the writer.  All of it is sequentially consistent: a handler that counts
 * itself after the writer saw zero also sees the record gone.
 *
 * Emulation.  The faulting instruction is decoded (x86_decode.c); its
 * memory address is computed from the saved registers rather than taken
 * from si_addr, which for an access spanning two pages names the second,
 * and which a handler installed with signal() (no SA_SIGINFO) does not get
 * at all.  Only if the whole access lies inside one live range is it
 * emulated: read/write of the trap with the offset, the destination
 * register updated in the saved context as the CPU would have, RIP moved
 * past the instruction.  An ALU instruction is done by this CPU on the
 * values (alu_host()), so its flags are the CPU's own.  A VEX load also
 * clears the YMM/ZMM upper parts, which the frame keeps in its XSAVE area.
 * Anything else goes back to the host's handler, after a message if it
 * looked like an access of a trap.
 */
#include <asm/prctl.h>
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "host/mmio_trap.h"
#include "host/x86_decode.h"

#define MMIO_MAX_RANGES 1024
#define MMIO_MAX_MESSAGES 32

/* x86 page-fault vector and the error-code bit of an instruction fetch. */
#define X86_TRAP_PF 14
#define X86_PF_INSTR 0x10

struct mmio_trap {
	struct mmio_trap_ops ops;
	void *priv;
	uint64_t base_off;
	uintptr_t start;	/* offsets count from here, whatever was forgotten */
	size_t len;
	struct mmio_trap *zombie_next;
};

/* Immutable once published; [lo, hi) traps into @trap. */
struct mmio_range {
	uintptr_t lo, hi;
	struct mmio_trap *trap;
	struct mmio_range *retired_next;	/* writer only */
};

static _Atomic(struct mmio_range *) ranges[MMIO_MAX_RANGES];
static atomic_uint ranges_used;	/* slots [0, ranges_used) may be set */
static pthread_mutex_t trap_lock = PTHREAD_MUTEX_INITIALIZER;
/* Serialises grace periods; never held with trap_lock, so a handler may take trap_lock. */
static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;

static atomic_uint srcu_idx;
static atomic_long srcu_readers[2];
/* Handlers running on this thread (an unmap from inside one cannot wait). */
static __thread unsigned int handler_depth __attribute__((tls_model("initial-exec")));
/* Retired from inside a handler: freed after the next grace period (trap_lock). */
static struct mmio_trap *zombie_traps;
static struct mmio_range *zombie_ranges;
static atomic_uint messages;

/*
 * The vector registers above bit 127 live in the XSAVE area of the signal
 * frame (standard format, after the 512-byte FXSAVE image and the 64-byte
 * header): component 2 holds bits 128-255 of YMM0-15, component 6 bits
 * 256-511 of ZMM0-15.  A component whose XSTATE_BV bit is clear is in its
 * initial state (zero) and its bytes in the frame mean nothing.
 */
#define FP_XSTATE_MAGIC1 0x46505853U
#define XSAVE_SW_BYTES 464	/* struct _fpx_sw_bytes inside the FXSAVE image */
#define XSAVE_HEADER 512
#define XFEATURE_YMM 2
#define XFEATURE_ZMM_HI256 6

static uint32_t xfeature_off[8], xfeature_size[8];
static pthread_once_t xfeature_once = PTHREAD_ONCE_INIT;

static void xfeature_probe(void)
{
	unsigned int comp;

	for (comp = XFEATURE_YMM; comp <= XFEATURE_ZMM_HI256; comp += 4) {
		unsigned int eax, ebx, ecx, edx;

		if (__get_cpuid_max(0, NULL) < 0xd)
			return;
		__cpuid_count(0xd, comp, eax, ebx, ecx, edx);
		xfeature_size[comp] = eax;
		xfeature_off[comp] = ebx;
	}
}

/* ------------------------------------------------------------ grace period */

static unsigned int srcu_read_lock(void)
{
	unsigned int idx = atomic_load(&srcu_idx) & 1;

	atomic_fetch_add(&srcu_readers[idx], 1);
	return idx;
}

static void srcu_read_unlock(unsigned int idx)
{
	atomic_fetch_sub(&srcu_readers[idx], 1);
}

/* Wait for every handler that started before; not from a handler. */
static void synchronize_handlers(void)
{
	struct timespec pause = { 0, 20000 };
	int round;

	pthread_mutex_lock(&sync_lock);
	for (round = 0; round < 2; round++) {
		unsigned int old = atomic_load(&srcu_idx) & 1;
		unsigned int spins = 0;

		atomic_store(&srcu_idx, old ^ 1);
		while (atomic_load(&srcu_readers[old])) {
			/* Handlers are short: yield first, then sleep a little. */
			if (++spins < 64)
				sched_yield();
			else
				nanosleep(&pause, NULL);
		}
	}
	pthread_mutex_unlock(&sync_lock);
}

/* ------------------------------------------------------------------ ranges */

static struct mmio_range *range_lookup(uintptr_t a)
{
	unsigned int n = atomic_load(&ranges_used), i;

	for (i = 0; i < n; i++) {
		struct mmio_range *r = atomic_load(&ranges[i]);

		if (r && a >= r->lo && a < r->hi)
			return r;
	}
	return NULL;
}

static struct mmio_range *range_new(uintptr_t lo, uintptr_t hi, struct mmio_trap *trap)
{
	struct mmio_range *r = malloc(sizeof(*r));

	if (r) {
		r->lo = lo;
		r->hi = hi;
		r->trap = trap;
		r->retired_next = NULL;
	}
	return r;
}

/* With trap_lock held. */
static int range_publish(struct mmio_range *r)
{
	unsigned int n = atomic_load(&ranges_used), i;

	for (i = 0; i < n; i++) {
		if (!atomic_load(&ranges[i])) {
			atomic_store(&ranges[i], r);
			return 0;
		}
	}
	if (n == MMIO_MAX_RANGES)
		return -ENOMEM;
	atomic_store(&ranges[n], r);
	atomic_store(&ranges_used, n + 1);
	return 0;
}

/*
 * With trap_lock held: stop trapping [lo, hi).  Records overlapping it are
 * taken out and put on *@retired; the parts outside go back in as new
 * records (if memory or slots run out, those parts stop trapping too,
 * which makes accesses fault as on any PROT_NONE page instead of reaching
 * the wrong place).
 */
static void forget_locked(uintptr_t lo, uintptr_t hi, struct mmio_range **retired)
{
	unsigned int n = atomic_load(&ranges_used), i;

	for (i = 0; i < n; i++) {
		struct mmio_range *r = atomic_load(&ranges[i]), *left = NULL, *right = NULL;

		if (!r || r->hi <= lo || r->lo >= hi)
			continue;
		if (r->lo < lo)
			left = range_new(r->lo, lo, r->trap);
		if (r->hi > hi)
			right = range_new(hi, r->hi, r->trap);
		/* Take the old record out first: pieces never overlap it in the array. */
		atomic_store(&ranges[i], NULL);
		r->retired_next = *retired;
		*retired = r;
		if (left && range_publish(left))
			free(left);
		if (right && range_publish(right))
			free(right);
	}
}

static void free_ranges(struct mmio_range *r)
{
	while (r) {
		struct mmio_range *next = r->retired_next;

		free(r);
		r = next;
	}
}

/*
 * Without trap_lock: free what was taken out of the array (and @trap) once
 * no handler can hold it.  From a trap's own read/write, waiting would
 * wait for ourselves: it is left for the next grace period instead.
 */
static void retire(struct mmio_range *retired, struct mmio_trap *trap)
{
	struct mmio_range *zr;
	struct mmio_trap *zt;

	if (!retired && !trap)
		return;
	pthread_mutex_lock(&trap_lock);
	if (handler_depth) {
		while (retired) {
			struct mmio_range *r = retired;

			retired = r->retired_next;
			r->retired_next = zombie_ranges;
			zombie_ranges = r;
		}
		if (trap) {
			trap->zombie_next = zombie_traps;
			zombie_traps = trap;
		}
		pthread_mutex_unlock(&trap_lock);
		return;
	}
	/* Zombies retired before this grace period are covered by it. */
	zr = zombie_ranges;
	zt = zombie_traps;
	zombie_ranges = NULL;
	zombie_traps = NULL;
	pthread_mutex_unlock(&trap_lock);

	synchronize_handlers();
	free_ranges(retired);
	free_ranges(zr);
	free(trap);
	while (zt) {
		struct mmio_trap *next = zt->zombie_next;

		free(zt);
		zt = next;
	}
}

/* --------------------------------------------------------------- public API */

int mmio_trap_map(void *addr, size_t len, int flags, const struct mmio_trap_ops *ops,
		  void *priv, uint64_t base_off, struct mmio_trap **out, void **where)
{
	size_t psz = (size_t)sysconf(_SC_PAGESIZE);
	int mflags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		     (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE));
	struct mmio_range *range, *retired = NULL;
	struct mmio_trap *trap;
	void *p;
	int ret;

	if (!len || len % psz || !ops || !ops->read || !ops->write || !out || !where)
		return -EINVAL;
	if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && (uintptr_t)addr % psz)
		return -EINVAL;
	trap = calloc(1, sizeof(*trap));
	if (!trap)
		return -ENOMEM;
	trap->ops = *ops;
	trap->priv = priv;
	trap->base_off = base_off;
	trap->len = len;

	/* The handler must be in front before the first access can happen. */
	inproc_fault_handler_ensure();
	pthread_once(&xfeature_once, xfeature_probe);

	p = mmap(addr, len, PROT_NONE, mflags, -1, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto free_trap;
	}
	/* Kernels before 4.17 take MAP_FIXED_NOREPLACE as a hint. */
	if ((flags & MAP_FIXED_NOREPLACE) && p != addr) {
		ret = -EEXIST;
		goto unmap_memory;
	}
	trap->start = (uintptr_t)p;
	range = range_new((uintptr_t)p, (uintptr_t)p + len, trap);
	if (!range) {
		ret = -ENOMEM;
		goto unmap_memory;
	}

	pthread_mutex_lock(&trap_lock);
	/* Mapping over an old trap (MAP_FIXED) replaced its pages. */
	forget_locked((uintptr_t)p, (uintptr_t)p + len, &retired);
	ret = range_publish(range);
	pthread_mutex_unlock(&trap_lock);
	retire(retired, NULL);
	if (ret)
		goto free_range;

	*out = trap;
	*where = p;
	return 0;

free_range:
	free(range);
unmap_memory:
	munmap(p, len);
free_trap:
	free(trap);
	return ret;
}

void mmio_trap_unmap(struct mmio_trap *trap)
{
	struct mmio_range *retired = NULL;
	unsigned int n, i;

	if (!trap)
		return;
	pthread_mutex_lock(&trap_lock);
	n = atomic_load(&ranges_used);
	for (i = 0; i < n; i++) {
		struct mmio_range *r = atomic_load(&ranges[i]);

		if (r && r->trap == trap) {
			atomic_store(&ranges[i], NULL);
			r->retired_next = retired;
			retired = r;
		}
	}
	/* Only what still traps is ours to unmap: forgotten parts are the program's. */
	for (struct mmio_range *r = retired; r; r = r->retired_next)
		munmap((void *)r->lo, r->hi - r->lo);
	pthread_mutex_unlock(&trap_lock);
	retire(retired, trap);
}

void mmio_trap_forget_range(void *addr, size_t len)
{
	struct mmio_range *retired = NULL;
	uintptr_t lo = (uintptr_t)addr, hi;

	if (!len || !atomic_load(&ranges_used))
		return;
	if (__builtin_add_overflow(lo, len, &hi))
		hi = UINTPTR_MAX;
	pthread_mutex_lock(&trap_lock);
	forget_locked(lo, hi, &retired);
	pthread_mutex_unlock(&trap_lock);
	retire(retired, NULL);
}

/* ---------------------------------------------------------------- messages */

struct msgbuf {
	char buf[320];
	size_t len;
};

static void msg_str(struct msgbuf *m, const char *s)
{
	while (*s && m->len < sizeof(m->buf) - 1)
		m->buf[m->len++] = *s++;
}

static void msg_hex(struct msgbuf *m, uint64_t v, unsigned int min_digits)
{
	char tmp[16];
	unsigned int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v || n < min_digits);
	while (n && m->len < sizeof(m->buf) - 1)
		m->buf[m->len++] = tmp[--n];
}

/*
 * From signal context, so no stdio: what faulted, where, on which trap, and
 * the bytes at RIP (the reader can decode them with any disassembler).
 */
static void report(const char *what, uintptr_t addr, const struct mmio_range *r,
		   uintptr_t rip, bool show_bytes)
{
	struct msgbuf m = { .len = 0 };
	unsigned int i;

	if (atomic_fetch_add(&messages, 1) >= MMIO_MAX_MESSAGES)
		return;
	msg_str(&m, "uiommufd: MMIO trap: ");
	msg_str(&m, what);
	msg_str(&m, " at address 0x");
	msg_hex(&m, addr, 1);
	if (r) {
		msg_str(&m, " (trap 0x");
		msg_hex(&m, r->trap->start, 1);
		msg_str(&m, "-0x");
		msg_hex(&m, r->trap->start + r->trap->len, 1);
		msg_str(&m, ", offset 0x");
		msg_hex(&m, r->trap->base_off + (addr - r->trap->start), 1);
		msg_str(&m, ")");
	}
	msg_str(&m, ", rip 0x");
	msg_hex(&m, rip, 1);
	if (show_bytes) {
		/* Up to the end of RIP's page: the next one may not be mapped. */
		unsigned int n = 4096 - (rip & 4095);

		msg_str(&m, ", bytes");
		for (i = 0; i < X86_MAX_INSN_LEN && i < n; i++) {
			msg_str(&m, " ");
			msg_hex(&m, ((const uint8_t *)rip)[i], 2);
		}
	}
	msg_str(&m, "; the fault goes to the program's SIGSEGV handler\n");
	if (write(STDERR_FILENO, m.buf, m.len) < 0) {
		/* Nothing more to do from a signal handler. */
	}
}

/* --------------------------------------------------------------- emulation */

/* x86 register number -> gregs index. */
static const int gpr_slot[16] = {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

static uint64_t size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static uint64_t gpr_get(const greg_t *g, const struct x86_insn *insn)
{
	uint64_t v = (uint64_t)g[gpr_slot[insn->reg]];

	if (insn->high8)
		v >>= 8;
	return v & size_mask(insn->size);
}

/* As the CPU writes: 32-bit results zero-extend, 8/16-bit ones merge. */
static void gpr_set(greg_t *g, const struct x86_insn *insn, uint64_t v)
{
	uint64_t old = (uint64_t)g[gpr_slot[insn->reg]], mask;

	v &= size_mask(insn->size);
	if (insn->ext == X86_EXT_SIGN && insn->size < 8 && (v >> (8 * insn->size - 1)) & 1)
		v |= ~size_mask(insn->size);
	switch (insn->reg_size) {
	case 1:
	case 2:
		mask = size_mask(insn->reg_size);
		if (insn->high8)
			v = (old & ~(mask << 8)) | ((v & mask) << 8);
		else
			v = (old & ~mask) | (v & mask);
		break;
	case 4:
		v &= 0xffffffffULL;
		break;
	default:
		break;
	}
	g[gpr_slot[insn->reg]] = (greg_t)v;
}

/* The memory side, in at most 8-byte pieces (a 16-byte move is two). */
static void dev_read(const struct mmio_trap *t, uint64_t off, unsigned int size, uint8_t *data)
{
	unsigned int step = size > 8 ? 8 : size, i;

	for (i = 0; i < size; i += step) {
		uint64_t v = t->ops.read(t->priv, off + i, step) & size_mask(step);

		memcpy(data + i, &v, step);
	}
}

static void dev_write(const struct mmio_trap *t, uint64_t off, unsigned int size,
		      const uint8_t *data)
{
	unsigned int step = size > 8 ? 8 : size, i;

	for (i = 0; i < size; i += step) {
		uint64_t v = 0;

		memcpy(&v, data + i, step);
		t->ops.write(t->priv, off + i, step, v);
	}
}

/* The arithmetic flags: CF, PF, AF, ZF, SF, OF. */
#define X86_ARITH_FLAGS 0x8d5ULL

/*
 * One ALU operation done by this CPU, so its flags are exactly the CPU's:
 * the program's arithmetic flags go in (adc and sbb read CF), the result
 * and the new flags come out.  The stack pointer steps over the red zone
 * before pushf/popf touch the stack.
 */
#define ALU_ASM(mnem, sfx, mod)                                                          \
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\t"                                      \
			 "pushq %[fin]\n\t"                                                  \
			 "popfq\n\t" mnem sfx " %" mod "[b], %" mod "[a]\n\t"                \
			 "pushfq\n\t"                                                        \
			 "popq %[fout]\n\t"                                                  \
			 "lea 128(%%rsp), %%rsp"                                             \
			 : [a] "+r"(a), [fout] "=&r"(fout)                                   \
			 : [b] "r"(b), [fin] "r"(fin)                                        \
			 : "cc")

#define ALU_SIZES(mnem)                          \
	do {                                     \
		switch (size) {                  \
		case 1:                          \
			ALU_ASM(mnem, "b", "b"); \
			break;                   \
		case 2:                          \
			ALU_ASM(mnem, "w", "w"); \
			break;                   \
		case 4:                          \
			ALU_ASM(mnem, "l", "k"); \
			break;                   \
		default:                         \
			ALU_ASM(mnem, "q", "q"); \
			break;                   \
		}                                \
	} while (0)

static uint64_t alu_host(unsigned int op, unsigned int size, uint64_t a, uint64_t b,
			 uint64_t *flags)
{
	uint64_t fin = (*flags & X86_ARITH_FLAGS) | 2, fout = fin;

	switch (op) {
	case X86_ALU_ADD:
		ALU_SIZES("add");
		break;
	case X86_ALU_OR:
		ALU_SIZES("or");
		break;
	case X86_ALU_ADC:
		ALU_SIZES("adc");
		break;
	case X86_ALU_SBB:
		ALU_SIZES("sbb");
		break;
	case X86_ALU_AND:
		ALU_SIZES("and");
		break;
	case X86_ALU_SUB:
		ALU_SIZES("sub");
		break;
	case X86_ALU_XOR:
		ALU_SIZES("xor");
		break;
	case X86_ALU_CMP:
		ALU_SIZES("cmp");
		break;
	default:
		ALU_SIZES("test");
		break;
	}
	*flags = (*flags & ~X86_ARITH_FLAGS) | (fout & X86_ARITH_FLAGS);
	return a;
}

/* op mem, src / op reg, mem: flags always, the result unless cmp or test. */
static void emulate_alu(const struct x86_insn *insn, const struct mmio_trap *t, uint64_t off,
			greg_t *g)
{
	uint8_t data[8] = { 0 };
	uint64_t m, other, a, b, r, flags = (uint64_t)g[REG_EFL];

	dev_read(t, off, insn->size, data);
	memcpy(&m, data, 8);
	other = insn->regfile == X86_REG_NONE ? insn->imm : gpr_get(g, insn);
	a = insn->alu_mem_first ? m : other;
	b = insn->alu_mem_first ? other : m;
	r = alu_host(insn->alu, insn->size, a, b, &flags);
	g[REG_EFL] = (greg_t)flags;
	if (insn->alu == X86_ALU_CMP || insn->alu == X86_ALU_TEST)
		return;
	if (insn->alu_mem_first) {
		memcpy(data, &r, 8);
		dev_write(t, off, insn->size, data);
	} else {
		gpr_set(g, insn, r);
	}
}

static int seg_base(uint8_t seg, uint64_t *base)
{
	unsigned long b;

	if (syscall(SYS_arch_prctl, seg == X86_SEG_FS ? ARCH_GET_FS : ARCH_GET_GS, &b))
		return -1;
	*base = b;
	return 0;
}

struct xsave_view {
	uint8_t *base;
	uint32_t size;
	uint64_t features;	/* what the frame may hold */
};

static bool xsave_view(ucontext_t *uc, struct xsave_view *x)
{
	uint8_t *base = (uint8_t *)uc->uc_mcontext.fpregs;
	uint32_t magic, size;

	if (!base)
		return false;
	memcpy(&magic, base + XSAVE_SW_BYTES, 4);
	if (magic != FP_XSTATE_MAGIC1)
		return false;
	memcpy(&x->features, base + XSAVE_SW_BYTES + 8, 8);
	memcpy(&size, base + XSAVE_SW_BYTES + 16, 4);
	x->base = base;
	x->size = size;
	return true;
}

/* Register @reg's @n bytes of component @comp, or NULL when it is zero. */
static uint8_t *xsave_slot(const struct xsave_view *x, unsigned int comp, unsigned int reg,
			   unsigned int n, bool for_write)
{
	uint64_t bv;

	if (!(x->features & (1ULL << comp)) || !xfeature_size[comp] ||
	    xfeature_off[comp] + xfeature_size[comp] > x->size)
		return NULL;
	memcpy(&bv, x->base + XSAVE_HEADER, 8);
	if (!(bv & (1ULL << comp))) {
		if (!for_write)
			return NULL;
		/* Out of its initial state: every register's part starts at zero. */
		memset(x->base + xfeature_off[comp], 0, xfeature_size[comp]);
		bv |= 1ULL << comp;
		memcpy(x->base + XSAVE_HEADER, &bv, 8);
	}
	return x->base + xfeature_off[comp] + reg * n;
}

/*
 * A VEX load writes the whole register: @hi (16 bytes, or NULL for zero)
 * above bit 127, zero above bit 255.
 */
static void vex_set_upper(const struct xsave_view *x, unsigned int reg, const uint8_t *hi)
{
	uint8_t *slot = xsave_slot(x, XFEATURE_YMM, reg, 16, hi != NULL);

	if (slot) {
		if (hi)
			memcpy(slot, hi, 16);
		else
			memset(slot, 0, 16);
	}
	slot = xsave_slot(x, XFEATURE_ZMM_HI256, reg, 32, false);
	if (slot)
		memset(slot, 0, 32);
}

static void emulate(const struct x86_insn *insn, const struct mmio_trap *t, uint64_t off,
		    ucontext_t *uc)
{
	greg_t *g = uc->uc_mcontext.gregs;
	uint8_t *xmm = insn->regfile == X86_REG_XMM
			       ? (uint8_t *)&uc->uc_mcontext.fpregs->_xmm[insn->reg] : NULL;
	unsigned int low = insn->size > 16 ? 16 : insn->size;
	uint8_t data[32] = { 0 };
	struct xsave_view x;
	uint64_t v;

	if (insn->vex && !xsave_view(uc, &x))
		return;	/* checked by the caller */
	switch (insn->access) {
	case X86_LOAD:
		dev_read(t, off, insn->size, data);
		if (xmm) {
			if (insn->xmm_zero_rest || insn->vex)
				memset(xmm, 0, 16);
			memcpy(xmm + insn->xmm_lane, data, low);
			if (insn->vex)
				vex_set_upper(&x, insn->reg, insn->size == 32 ? data + 16 : NULL);
		} else {
			memcpy(&v, data, 8);
			gpr_set(g, insn, v);
		}
		break;
	case X86_STORE:
		if (xmm) {
			memcpy(data, xmm + insn->xmm_lane, low);
			if (insn->size == 32) {
				const uint8_t *hi = xsave_slot(&x, XFEATURE_YMM, insn->reg, 16,
							       false);

				if (hi)
					memcpy(data + 16, hi, 16);
			}
		} else {
			v = insn->regfile == X86_REG_NONE ? insn->imm : gpr_get(g, insn);
			memcpy(data, &v, 8);
		}
		dev_write(t, off, insn->size, data);
		break;
	case X86_ALU:
		emulate_alu(insn, t, off, g);
		break;
	case X86_XCHG:
		/* A locked read-modify-write: the old value, then the new. */
		dev_read(t, off, insn->size, data);
		v = gpr_get(g, insn);
		dev_write(t, off, insn->size, (const uint8_t *)&v);
		memcpy(&v, data, 8);
		gpr_set(g, insn, v);
		break;
	}
}

static bool fault_locked(uintptr_t fault_addr, ucontext_t *uc)
{
	greg_t *g = uc->uc_mcontext.gregs;
	uintptr_t cr2 = (uintptr_t)g[REG_CR2], rip = (uintptr_t)g[REG_RIP];
	const struct mmio_range *r, *ar;
	struct xsave_view xs;
	struct x86_insn insn;
	uint64_t gpr[16], ea, end, base;
	unsigned int i;

	/* si_addr, or (a handler installed without SA_SIGINFO) CR2. */
	r = range_lookup(fault_addr);
	if (!r) {
		fault_addr = cr2;
		r = range_lookup(fault_addr);
	}
	if (!r || g[REG_TRAPNO] != X86_TRAP_PF)
		return false;
	if ((g[REG_ERR] & X86_PF_INSTR) || range_lookup(rip)) {
		report("instruction fetch", fault_addr, r, rip, false);
		return false;
	}
	if (x86_decode((const uint8_t *)rip, X86_MAX_INSN_LEN, &insn)) {
		report("cannot emulate the instruction", fault_addr, r, rip, true);
		return false;
	}
	for (i = 0; i < 16; i++)
		gpr[i] = (uint64_t)g[gpr_slot[i]];
	ea = x86_mem_addr(&insn.mem, gpr, rip + insn.len);
	if (insn.mem.seg != X86_SEG_FLAT) {
		if (seg_base(insn.mem.seg, &base))
			ea = fault_addr;
		else
			ea += base;
	}
	/* A stale CR2 or a foreign SIGSEGV: the access is not near any trap. */
	if (__builtin_add_overflow(ea, (uint64_t)insn.size, &end))
		return false;
	/* The range that faulted first: it may be leaving the table right now. */
	ar = ea >= r->lo && ea < r->hi ? r : range_lookup(ea);
	if (!ar || end > ar->hi) {
		if (fault_addr >= ea && fault_addr < end)
			report("access crossing the edge of the trap", fault_addr, r, rip, true);
		return false;
	}
	if (insn.regfile == X86_REG_XMM && !uc->uc_mcontext.fpregs)
		return false;
	if (insn.vex && !xsave_view(uc, &xs)) {
		report("a VEX move but no XSAVE state in the signal frame", fault_addr, r, rip, true);
		return false;
	}
	emulate(&insn, ar->trap, ar->trap->base_off + (ea - ar->trap->start), uc);
	g[REG_RIP] = (greg_t)(rip + insn.len);
	return true;
}

int mmio_trap_fault(void *fault_addr, void *ucontext)
{
	unsigned int idx;
	bool handled;

	/* The common SIGSEGV of a process without traps costs one load. */
	if (!ucontext || !atomic_load_explicit(&ranges_used, memory_order_relaxed))
		return 0;
	idx = srcu_read_lock();
	handler_depth++;
	handled = fault_locked((uintptr_t)fault_addr, ucontext);
	handler_depth--;
	srcu_read_unlock(idx);
	return handled;
}
