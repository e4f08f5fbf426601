// SPDX-License-Identifier: MIT
/*
 * MMIO traps (src/host/mmio_trap.c) and the x86-64 decoder behind them.
 *
 * The strongest check is differential: each instruction of a table runs
 * once on ordinary memory and once on a trap backed by a fake device that
 * holds the same bytes, from the same registers; the registers (all GPRs
 * and XMMs) and the memory afterwards must match what the CPU itself did.
 * Around it: accesses as the compiler emits them, the device's view
 * (offsets, sizes, order), threads, unmap while threads access, forgetting
 * parts of a trap, instructions that cannot be emulated, the uaccess guard.
 */
#include <asm/prctl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "helpers.h"
#include "core/host.h"
#include "host/mmio_trap.h"
#include "host/x86_decode.h"

#define PG 4096UL
/*
 * The device changes under the compiler's feet, as a real device does: a
 * volatile access does not order the plain loads of the log around it.
 */
#define barrier() __asm__ volatile("" ::: "memory")
#define DEV_PAGES 4
#define BASE_OFF 0x10000ULL

/* ------------------------------------------------------------ fake device */

struct access {
	bool write;
	uint64_t off;
	unsigned int size;
	uint64_t val;
};

static struct fake_dev {
	uint8_t regs[DEV_PAGES * PG];	/* offset BASE_OFF is regs[0] */
	uint64_t base;
	bool log_on;			/* single-threaded tests only */
	struct access log[64];
	unsigned int nlog;
	atomic_ulong reads, writes;
	atomic_bool dead;		/* set once mmio_trap_unmap() returned */
	atomic_ulong late_calls;	/* ops called after that: must stay 0 */
	atomic_ulong bad_calls;		/* out of range or odd size */
} dev;

static bool dev_check(uint64_t off, unsigned int size)
{
	if (atomic_load(&dev.dead))
		atomic_fetch_add(&dev.late_calls, 1);
	if ((size != 1 && size != 2 && size != 4 && size != 8) || off < dev.base ||
	    off - dev.base + size > sizeof(dev.regs)) {
		atomic_fetch_add(&dev.bad_calls, 1);
		return false;
	}
	return true;
}

static void dev_log(bool write, uint64_t off, unsigned int size, uint64_t val)
{
	if (dev.log_on && dev.nlog < 64)
		dev.log[dev.nlog++] = (struct access){ write, off, size, val };
}

static uint64_t dev_read(void *priv, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	assert_ptr_equal(priv, &dev);
	atomic_fetch_add(&dev.reads, 1);
	if (!dev_check(off, size))
		return 0;
	memcpy(&v, &dev.regs[off - dev.base], size);
	dev_log(false, off, size, v);
	return v;
}

static void dev_write(void *priv, uint64_t off, unsigned int size, uint64_t val)
{
	atomic_fetch_add(&dev.writes, 1);
	if (!dev_check(off, size))
		return;
	memcpy(&dev.regs[off - dev.base], &val, size);
	dev_log(true, off, size, val);
}

static const struct mmio_trap_ops dev_ops = { .read = dev_read, .write = dev_write };

static void dev_reset(void)
{
	memset(&dev, 0, sizeof(dev));
	dev.base = BASE_OFF;
	dev.log_on = true;
}

static uint8_t *trap_new(size_t pages, struct mmio_trap **trap)
{
	void *where = NULL;

	assert_int_equal(mmio_trap_map(NULL, pages * PG, 0, &dev_ops, &dev, BASE_OFF, trap,
				       &where), 0);
	assert_non_null(where);
	return where;
}

/* Whether [p, p + PG) is mapped at all. */
static bool mapped(const void *p)
{
	return msync((void *)((uintptr_t)p & ~(PG - 1)), PG, MS_ASYNC) == 0;
}

/* The protection letters /proc/self/maps shows for @p ("---p" for a trap). */
static bool maps_prot(const void *p, char out[5])
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	bool found = false;

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, out) == 3 && (uintptr_t)p >= lo &&
		    (uintptr_t)p < hi)
			found = true;
	}
	fclose(f);
	return found;
}

/* -------------------------------------------- the program's SIGSEGV handler */

/*
 * A handler of "the program": installed before a trap is made, so the
 * host's handler (put in front by mmio_trap_map()) chains to it.  A thread
 * that armed it jumps back; any other fault is a real crash.
 */
static __thread sigjmp_buf *segv_jmp;
static atomic_ulong segv_caught;

static void program_segv(int sig, siginfo_t *info, void *uctx)
{
	(void)info;
	(void)uctx;
	if (segv_jmp) {
		sigjmp_buf *env = segv_jmp;

		segv_jmp = NULL;
		atomic_fetch_add(&segv_caught, 1);
		siglongjmp(*env, 1);
	}
	signal(sig, SIG_DFL);
}

static void install_program_handler(void)
{
	struct sigaction sa = { .sa_sigaction = program_segv,
				.sa_flags = SA_SIGINFO | SA_NODEFER };

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGSEGV, &sa, NULL), 0);
	atomic_store(&segv_caught, 0);
}

/* --------------------------------------------------- running raw bytes */

/*
 * The CPU state a table entry runs with.  gpr[] in x86 numbering (RAX, RCX,
 * RDX, RBX, RSP (not used), RBP, RSI, RDI, R8-R15), then XMM0-15.
 */
struct cpu {
	uint64_t gpr[16];
	uint8_t xmm[16][16];
	uint64_t rflags;	/* only the arithmetic flags are loaded */
};

#define ARITH_FLAGS 0x8d5ULL	/* CF PF AF ZF SF OF */

void mmio_test_run(struct cpu *cpu, const void *code);

/*
 * mmio_test_run(cpu, code): load every register but RSP from *cpu, call
 * code (the instruction under test followed by RET), store every register
 * back.  Written in assembly so nothing but the instruction touches them.
 */
__asm__(".text\n"
	".globl mmio_test_run\n"
	".hidden mmio_test_run\n"
	".type mmio_test_run, @function\n"
	"mmio_test_run:\n"
	"	push %rbx\n	push %rbp\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n"
	"	push %rdi\n"
	"	push %rsi\n"
	"	pushq 384(%rdi)\n	popfq\n"
	"	movdqu 128(%rdi), %xmm0\n	movdqu 144(%rdi), %xmm1\n"
	"	movdqu 160(%rdi), %xmm2\n	movdqu 176(%rdi), %xmm3\n"
	"	movdqu 192(%rdi), %xmm4\n	movdqu 208(%rdi), %xmm5\n"
	"	movdqu 224(%rdi), %xmm6\n	movdqu 240(%rdi), %xmm7\n"
	"	movdqu 256(%rdi), %xmm8\n	movdqu 272(%rdi), %xmm9\n"
	"	movdqu 288(%rdi), %xmm10\n	movdqu 304(%rdi), %xmm11\n"
	"	movdqu 320(%rdi), %xmm12\n	movdqu 336(%rdi), %xmm13\n"
	"	movdqu 352(%rdi), %xmm14\n	movdqu 368(%rdi), %xmm15\n"
	"	mov 0(%rdi), %rax\n	mov 8(%rdi), %rcx\n	mov 16(%rdi), %rdx\n"
	"	mov 24(%rdi), %rbx\n	mov 40(%rdi), %rbp\n	mov 48(%rdi), %rsi\n"
	"	mov 64(%rdi), %r8\n	mov 72(%rdi), %r9\n	mov 80(%rdi), %r10\n"
	"	mov 88(%rdi), %r11\n	mov 96(%rdi), %r12\n	mov 104(%rdi), %r13\n"
	"	mov 112(%rdi), %r14\n	mov 120(%rdi), %r15\n"
	"	mov 56(%rdi), %rdi\n"
	"	call *(%rsp)\n"
	"	pushfq\n"
	"	xchg %rdi, 16(%rsp)\n"
	"	mov %rax, 0(%rdi)\n	mov %rcx, 8(%rdi)\n	mov %rdx, 16(%rdi)\n"
	"	mov %rbx, 24(%rdi)\n	mov %rbp, 40(%rdi)\n	mov %rsi, 48(%rdi)\n"
	"	mov %r8, 64(%rdi)\n	mov %r9, 72(%rdi)\n	mov %r10, 80(%rdi)\n"
	"	mov %r11, 88(%rdi)\n	mov %r12, 96(%rdi)\n	mov %r13, 104(%rdi)\n"
	"	mov %r14, 112(%rdi)\n	mov %r15, 120(%rdi)\n"
	"	mov 16(%rsp), %rax\n	mov %rax, 56(%rdi)\n"
	"	pop %rax\n	mov %rax, 384(%rdi)\n"
	"	movdqu %xmm0, 128(%rdi)\n	movdqu %xmm1, 144(%rdi)\n"
	"	movdqu %xmm2, 160(%rdi)\n	movdqu %xmm3, 176(%rdi)\n"
	"	movdqu %xmm4, 192(%rdi)\n	movdqu %xmm5, 208(%rdi)\n"
	"	movdqu %xmm6, 224(%rdi)\n	movdqu %xmm7, 240(%rdi)\n"
	"	movdqu %xmm8, 256(%rdi)\n	movdqu %xmm9, 272(%rdi)\n"
	"	movdqu %xmm10, 288(%rdi)\n	movdqu %xmm11, 304(%rdi)\n"
	"	movdqu %xmm12, 320(%rdi)\n	movdqu %xmm13, 336(%rdi)\n"
	"	movdqu %xmm14, 352(%rdi)\n	movdqu %xmm15, 368(%rdi)\n"
	"	add $16, %rsp\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbp\n	pop %rbx\n"
	"	ret\n"
	".size mmio_test_run, .-mmio_test_run\n");

/* Put @n bytes and a RET at the start of the (RW, then RX) page @code. */
static void code_set(uint8_t *code, const uint8_t *bytes, size_t n)
{
	assert_int_equal(mprotect(code, PG, PROT_READ | PROT_WRITE), 0);
	memcpy(code, bytes, n);
	code[n] = 0xc3;
	assert_int_equal(mprotect(code, PG, PROT_READ | PROT_EXEC), 0);
}

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

enum ptr_mode {
	PTR_PLAIN,	/* the register holds the address */
	PTR_DIV4,	/* the address / 4 (an index scaled by 4, no base) */
	PTR_FS,		/* the address minus the FS base */
	PTR_GS,		/* the address minus the GS base */
	PTR_HI,		/* the address with junk above bit 31 (0x67 ignores it) */
	PTR_NONE,	/* the address is in the instruction */
};

enum patch {
	PATCH_NONE,
	PATCH_ABS64,	/* 8 bytes of address at .at (moffs) */
	PATCH_ABS32,	/* 4 bytes of address at .at (moffs with 0x67, disp32 without base) */
	PATCH_RIP32,	/* disp32 at .at relative to the end of the instruction */
};

struct form {
	const char *name;
	uint8_t bytes[X86_MAX_INSN_LEN];
	uint8_t n;
	int8_t ptr_reg;
	uint8_t ptr_mode;
	uint16_t off;		/* the address is memory + off */
	uint8_t patch;
	uint8_t at;
	bool avx;		/* VEX-encoded: runs only where the CPU has AVX */
};

#define B(...) .bytes = { __VA_ARGS__ }, .n = sizeof((uint8_t[]){ __VA_ARGS__ })
#define M64 0, 0, 0, 0, 0, 0, 0, 0
#define M32 0, 0, 0, 0

/*
 * Index registers hold 3 (RSI) and the table's displacements keep every
 * access inside the page.  Entries marked 16 are aligned for movdqa/movaps.
 */
static const struct form forms[] = {
	/* 88/89: stores of registers */
	{ "mov [rdi],al", B(0x88, 0x07), RDI, PTR_PLAIN, 0x101, 0, 0 },
	{ "mov [rdi],ah", B(0x88, 0x27), RDI, PTR_PLAIN, 0x102, 0, 0 },
	{ "mov [rdi],dh", B(0x88, 0x37), RDI, PTR_PLAIN, 0x103, 0, 0 },
	{ "mov [rdi],sil", B(0x40, 0x88, 0x37), RDI, PTR_PLAIN, 0x103, 0, 0 },
	{ "mov [rdi+5],r8b", B(0x44, 0x88, 0x47, 0x05), RDI, PTR_PLAIN, 0x100, 0, 0 },
	{ "mov [rdi],ax", B(0x66, 0x89, 0x07), RDI, PTR_PLAIN, 0x102, 0, 0 },
	{ "mov [rdi+127],ecx", B(0x89, 0x4f, 0x7f), RDI, PTR_PLAIN, 0x100, 0, 0 },
	{ "mov [rdi-8],ecx", B(0x89, 0x4f, 0xf8), RDI, PTR_PLAIN, 0x100, 0, 0 },
	{ "mov [rdi+0x100],rdx", B(0x48, 0x89, 0x97, 0x00, 0x01, 0x00, 0x00), RDI, PTR_PLAIN,
	  0x100, 0, 0 },
	{ "mov [rdi+rsi*8],r15", B(0x4c, 0x89, 0x3c, 0xf7), RDI, PTR_PLAIN, 0x100, 0, 0 },
	{ "mov [r12+r13*2+0x10],rax", B(0x4b, 0x89, 0x44, 0x6c, 0x10), R12, PTR_PLAIN, 0x100,
	  0, 0 },
	{ "mov [rbp+rsi*4],r9d", B(0x44, 0x89, 0x4c, 0xb5, 0x00), RBP, PTR_PLAIN, 0x100, 0, 0 },
	{ "mov [r13],r11w", B(0x66, 0x45, 0x89, 0x5d, 0x00), R13, PTR_PLAIN, 0x106, 0, 0 },
	{ "rex then 66 (rex void): mov [rdi],ax", B(0x48, 0x66, 0x89, 0x07), RDI, PTR_PLAIN,
	  0x108, 0, 0 },
	{ "ds: mov [rdi],eax", B(0x3e, 0x89, 0x07), RDI, PTR_PLAIN, 0x108, 0, 0 },
	/* 8A/8B: loads */
	{ "mov al,[rdi]", B(0x8a, 0x07), RDI, PTR_PLAIN, 0x101, 0, 0 },
	{ "mov ah,[rdi]", B(0x8a, 0x27), RDI, PTR_PLAIN, 0x102, 0, 0 },
	{ "mov bh,[rdi]", B(0x8a, 0x3f), RDI, PTR_PLAIN, 0x102, 0, 0 },
	{ "mov dil,[rsi]", B(0x40, 0x8a, 0x3e), RSI, PTR_PLAIN, 0x103, 0, 0 },
	{ "mov r10b,[rdi]", B(0x44, 0x8a, 0x17), RDI, PTR_PLAIN, 0x104, 0, 0 },
	{ "mov dx,[rdi]", B(0x66, 0x8b, 0x17), RDI, PTR_PLAIN, 0x106, 0, 0 },
	{ "mov edx,[rdi]", B(0x8b, 0x17), RDI, PTR_PLAIN, 0x108, 0, 0 },
	{ "mov rbx,[rdi+8]", B(0x48, 0x8b, 0x5f, 0x08), RDI, PTR_PLAIN, 0x100, 0, 0 },
	{ "mov eax,[r13+0]", B(0x41, 0x8b, 0x45, 0x00), R13, PTR_PLAIN, 0x10c, 0, 0 },
	{ "mov r14,[rsp-form r12]", B(0x4d, 0x8b, 0x34, 0x24), R12, PTR_PLAIN, 0x110, 0, 0 },
	{ "mov eax,[rsi*4]", B(0x8b, 0x04, 0xb5, M32), RSI, PTR_DIV4, 0x120, 0, 0 },
	{ "mov eax,fs:[rdi]", B(0x64, 0x8b, 0x07), RDI, PTR_FS, 0x124, 0, 0 },
	{ "mov rax,gs:[rdi]", B(0x65, 0x48, 0x8b, 0x07), RDI, PTR_GS, 0x128, 0, 0 },
	{ "mov ecx,[rip+x]", B(0x8b, 0x0d, M32), -1, PTR_NONE, 0x130, PATCH_RIP32, 2 },
	{ "mov r8,[rip+x]", B(0x4c, 0x8b, 0x05, M32), -1, PTR_NONE, 0x138, PATCH_RIP32, 3 },
	{ "mov eax,[edi]", B(0x67, 0x8b, 0x07), RDI, PTR_HI, 0x13c, 0, 0 },
	{ "mov edx,[abs32]", B(0x8b, 0x14, 0x25, M32), -1, PTR_NONE, 0x140, PATCH_ABS32, 3 },
	/* C6/C7: immediates */
	{ "mov byte [rdi],0x5a", B(0xc6, 0x07, 0x5a), RDI, PTR_PLAIN, 0x101, 0, 0 },
	{ "mov word [rdi],0x1234", B(0x66, 0xc7, 0x07, 0x34, 0x12), RDI, PTR_PLAIN, 0x102, 0,
	  0 },
	{ "mov dword [rdi],0xdeadbeef", B(0xc7, 0x07, 0xef, 0xbe, 0xad, 0xde), RDI, PTR_PLAIN,
	  0x104, 0, 0 },
	{ "mov qword [rdi],-2", B(0x48, 0xc7, 0x07, 0xfe, 0xff, 0xff, 0xff), RDI, PTR_PLAIN,
	  0x108, 0, 0 },
	{ "mov qword [rdi+0x100],0x80000000",
	  B(0x48, 0xc7, 0x87, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80), RDI, PTR_PLAIN,
	  0x100, 0, 0 },
	{ "mov byte [r9+rsi],0x80", B(0x41, 0xc6, 0x04, 0x31, 0x80), R9, PTR_PLAIN, 0x100, 0,
	  0 },
	/* movzx/movsx/movsxd */
	{ "movzx eax,byte [rdi]", B(0x0f, 0xb6, 0x07), RDI, PTR_PLAIN, 0x105, 0, 0 },
	{ "movzx ax,byte [rdi]", B(0x66, 0x0f, 0xb6, 0x07), RDI, PTR_PLAIN, 0x105, 0, 0 },
	{ "movzx r11,word [rdi]", B(0x4c, 0x0f, 0xb7, 0x1f), RDI, PTR_PLAIN, 0x106, 0, 0 },
	{ "movsx eax,byte [rdi]", B(0x0f, 0xbe, 0x07), RDI, PTR_PLAIN, 0x105, 0, 0 },
	{ "movsx ax,byte [rdi]", B(0x66, 0x0f, 0xbe, 0x07), RDI, PTR_PLAIN, 0x105, 0, 0 },
	{ "movsx rax,word [rdi]", B(0x48, 0x0f, 0xbf, 0x07), RDI, PTR_PLAIN, 0x10e, 0, 0 },
	{ "movsx rcx,byte [rdi]", B(0x48, 0x0f, 0xbe, 0x0f), RDI, PTR_PLAIN, 0x10f, 0, 0 },
	{ "movsxd rax,[rdi]", B(0x48, 0x63, 0x07), RDI, PTR_PLAIN, 0x110, 0, 0 },
	{ "movsxd r12,[rdi]", B(0x4c, 0x63, 0x27), RDI, PTR_PLAIN, 0x114, 0, 0 },
	{ "movsxd eax,[rdi] (no W)", B(0x63, 0x07), RDI, PTR_PLAIN, 0x110, 0, 0 },
	/* moffs */
	{ "mov al,[moffs64]", B(0xa0, M64), -1, PTR_NONE, 0x151, PATCH_ABS64, 1 },
	{ "mov ax,[moffs64]", B(0x66, 0xa1, M64), -1, PTR_NONE, 0x152, PATCH_ABS64, 2 },
	{ "mov eax,[moffs64]", B(0xa1, M64), -1, PTR_NONE, 0x154, PATCH_ABS64, 1 },
	{ "mov rax,[moffs64]", B(0x48, 0xa1, M64), -1, PTR_NONE, 0x158, PATCH_ABS64, 2 },
	{ "mov [moffs64],al", B(0xa2, M64), -1, PTR_NONE, 0x161, PATCH_ABS64, 1 },
	{ "mov [moffs64],eax", B(0xa3, M64), -1, PTR_NONE, 0x164, PATCH_ABS64, 1 },
	{ "mov [moffs64],rax", B(0x48, 0xa3, M64), -1, PTR_NONE, 0x168, PATCH_ABS64, 2 },
	{ "mov eax,[moffs32]", B(0x67, 0xa1, M32), -1, PTR_NONE, 0x170, PATCH_ABS32, 2 },
	/* movnti, xchg */
	{ "movnti [rdi],eax", B(0x0f, 0xc3, 0x07), RDI, PTR_PLAIN, 0x174, 0, 0 },
	{ "movnti [rdi],r10", B(0x4c, 0x0f, 0xc3, 0x17), RDI, PTR_PLAIN, 0x178, 0, 0 },
	{ "xchg [rdi],al", B(0x86, 0x07), RDI, PTR_PLAIN, 0x181, 0, 0 },
	{ "xchg [rdi],ch", B(0x86, 0x2f), RDI, PTR_PLAIN, 0x182, 0, 0 },
	{ "xchg [rdi],ax", B(0x66, 0x87, 0x07), RDI, PTR_PLAIN, 0x184, 0, 0 },
	{ "xchg [rdi],edx", B(0x87, 0x17), RDI, PTR_PLAIN, 0x188, 0, 0 },
	{ "lock xchg [rdi],r9", B(0xf0, 0x4c, 0x87, 0x0f), RDI, PTR_PLAIN, 0x190, 0, 0 },
	/* SSE */
	{ "movd xmm0,[rdi]", B(0x66, 0x0f, 0x6e, 0x07), RDI, PTR_PLAIN, 0x1a4, 0, 0 },
	{ "movq xmm1,[rdi] (66 W 6E)", B(0x66, 0x48, 0x0f, 0x6e, 0x0f), RDI, PTR_PLAIN, 0x1a8,
	  0, 0 },
	{ "movd [rdi],xmm2", B(0x66, 0x0f, 0x7e, 0x17), RDI, PTR_PLAIN, 0x1b4, 0, 0 },
	{ "movq [rdi],xmm3 (66 W 7E)", B(0x66, 0x48, 0x0f, 0x7e, 0x1f), RDI, PTR_PLAIN, 0x1b8,
	  0, 0 },
	{ "movq xmm4,[rdi] (F3 7E)", B(0xf3, 0x0f, 0x7e, 0x27), RDI, PTR_PLAIN, 0x1c0, 0, 0 },
	{ "movq [rdi],xmm5 (66 D6)", B(0x66, 0x0f, 0xd6, 0x2f), RDI, PTR_PLAIN, 0x1c8, 0, 0 },
	{ "movq [rdi],xmm8", B(0x66, 0x44, 0x0f, 0xd6, 0x07), RDI, PTR_PLAIN, 0x1d0, 0, 0 },
	{ "movq xmm15,[r14]", B(0xf3, 0x45, 0x0f, 0x7e, 0x3e), R14, PTR_PLAIN, 0x1d8, 0, 0 },
	{ "movss xmm6,[rdi]", B(0xf3, 0x0f, 0x10, 0x37), RDI, PTR_PLAIN, 0x1e4, 0, 0 },
	{ "movsd xmm7,[rdi]", B(0xf2, 0x0f, 0x10, 0x3f), RDI, PTR_PLAIN, 0x1e8, 0, 0 },
	{ "movss [rdi],xmm6", B(0xf3, 0x0f, 0x11, 0x37), RDI, PTR_PLAIN, 0x1f4, 0, 0 },
	{ "movsd [rdi],xmm7", B(0xf2, 0x0f, 0x11, 0x3f), RDI, PTR_PLAIN, 0x1f8, 0, 0 },
	{ "movups xmm1,[rdi]", B(0x0f, 0x10, 0x0f), RDI, PTR_PLAIN, 0x204, 0, 0 },
	{ "movups [rdi],xmm2", B(0x0f, 0x11, 0x17), RDI, PTR_PLAIN, 0x214, 0, 0 },
	{ "movupd xmm9,[rdi]", B(0x66, 0x44, 0x0f, 0x10, 0x0f), RDI, PTR_PLAIN, 0x224, 0, 0 },
	{ "movaps xmm3,[rdi] 16", B(0x0f, 0x28, 0x1f), RDI, PTR_PLAIN, 0x230, 0, 0 },
	{ "movaps [rdi],xmm4 16", B(0x0f, 0x29, 0x27), RDI, PTR_PLAIN, 0x240, 0, 0 },
	{ "movdqa xmm5,[rdi] 16", B(0x66, 0x0f, 0x6f, 0x2f), RDI, PTR_PLAIN, 0x250, 0, 0 },
	{ "movdqa [rdi],xmm10 16", B(0x66, 0x44, 0x0f, 0x7f, 0x17), RDI, PTR_PLAIN, 0x260, 0,
	  0 },
	{ "movdqu xmm11,[rdi]", B(0xf3, 0x44, 0x0f, 0x6f, 0x1f), RDI, PTR_PLAIN, 0x274, 0, 0 },
	{ "movdqu [rdi],xmm12", B(0xf3, 0x44, 0x0f, 0x7f, 0x27), RDI, PTR_PLAIN, 0x284, 0, 0 },
	{ "movlps xmm1,[rdi]", B(0x0f, 0x12, 0x0f), RDI, PTR_PLAIN, 0x298, 0, 0 },
	{ "movhps xmm2,[rdi]", B(0x0f, 0x16, 0x17), RDI, PTR_PLAIN, 0x2a0, 0, 0 },
	{ "movlps [rdi],xmm3", B(0x0f, 0x13, 0x1f), RDI, PTR_PLAIN, 0x2a8, 0, 0 },
	{ "movhps [rdi],xmm4", B(0x0f, 0x17, 0x27), RDI, PTR_PLAIN, 0x2b0, 0, 0 },
	{ "movhpd xmm13,[rdi]", B(0x66, 0x44, 0x0f, 0x16, 0x2f), RDI, PTR_PLAIN, 0x2b8, 0, 0 },
	{ "movntdq [rdi],xmm6 16", B(0x66, 0x0f, 0xe7, 0x37), RDI, PTR_PLAIN, 0x2c0, 0, 0 },
	{ "movntps [rdi],xmm7 16", B(0x0f, 0x2b, 0x3f), RDI, PTR_PLAIN, 0x2d0, 0, 0 },
	/* ALU, memory as destination */
	{ "add [rdi],eax", B(0x01, 0x07), RDI, PTR_PLAIN, 0x300, 0, 0 },
	{ "add [rdi],eax (cf in)", B(0x01, 0x07), RDI, PTR_PLAIN, 0x304, 0, 0 },
	{ "or [rdi],cl", B(0x08, 0x0f), RDI, PTR_PLAIN, 0x309, 0, 0 },
	{ "adc [rdi],edx", B(0x11, 0x17), RDI, PTR_PLAIN, 0x30c, 0, 0 },
	{ "adc [rdi],edx (cf in)", B(0x11, 0x17), RDI, PTR_PLAIN, 0x30c, 0, 0 },
	{ "sbb [rdi],bx", B(0x66, 0x19, 0x1f), RDI, PTR_PLAIN, 0x312, 0, 0 },
	{ "sbb [rdi],bx (cf in)", B(0x66, 0x19, 0x1f), RDI, PTR_PLAIN, 0x312, 0, 0 },
	{ "and [rdi],r8", B(0x4c, 0x21, 0x07), RDI, PTR_PLAIN, 0x318, 0, 0 },
	{ "sub [rdi],ah", B(0x28, 0x27), RDI, PTR_PLAIN, 0x321, 0, 0 },
	{ "xor [rdi+rsi*4],r12d", B(0x44, 0x31, 0x24, 0xb7), RDI, PTR_PLAIN, 0x324, 0, 0 },
	{ "cmp [rdi],eax", B(0x39, 0x07), RDI, PTR_PLAIN, 0x334, 0, 0 },
	{ "lock or dword [rdi],1", B(0xf0, 0x83, 0x0f, 0x01), RDI, PTR_PLAIN, 0x339, 0, 0 },
	/* ALU, register as destination */
	{ "add eax,[rdi]", B(0x03, 0x07), RDI, PTR_PLAIN, 0x340, 0, 0 },
	{ "or al,[rdi]", B(0x0a, 0x07), RDI, PTR_PLAIN, 0x345, 0, 0 },
	{ "adc rcx,[rdi]", B(0x48, 0x13, 0x0f), RDI, PTR_PLAIN, 0x348, 0, 0 },
	{ "sbb edx,[rdi]", B(0x1b, 0x17), RDI, PTR_PLAIN, 0x350, 0, 0 },
	{ "and r9d,[rdi]", B(0x44, 0x23, 0x0f), RDI, PTR_PLAIN, 0x354, 0, 0 },
	{ "sub bx,[rdi]", B(0x66, 0x2b, 0x1f), RDI, PTR_PLAIN, 0x358, 0, 0 },
	{ "xor ch,[rdi]", B(0x32, 0x2f), RDI, PTR_PLAIN, 0x35b, 0, 0 },
	{ "cmp eax,[rdi]", B(0x3b, 0x07), RDI, PTR_PLAIN, 0x35c, 0, 0 },
	{ "cmp r10,[rdi+8]", B(0x4c, 0x3b, 0x57, 0x08), RDI, PTR_PLAIN, 0x360, 0, 0 },
	/* ALU with immediates */
	{ "add dword [rdi],0x12345678", B(0x81, 0x07, 0x78, 0x56, 0x34, 0x12), RDI, PTR_PLAIN,
	  0x370, 0, 0 },
	{ "or byte [rdi],0x80", B(0x80, 0x0f, 0x80), RDI, PTR_PLAIN, 0x37e, 0, 0 },
	{ "and qword [rdi],-16", B(0x48, 0x83, 0x27, 0xf0), RDI, PTR_PLAIN, 0x378, 0, 0 },
	{ "sub word [rdi],0x1234", B(0x66, 0x81, 0x2f, 0x34, 0x12), RDI, PTR_PLAIN, 0x382, 0,
	  0 },
	{ "xor dword [rdi],1", B(0x83, 0x37, 0x01), RDI, PTR_PLAIN, 0x384, 0, 0 },
	{ "adc dword [rdi],5", B(0x83, 0x17, 0x05), RDI, PTR_PLAIN, 0x388, 0, 0 },
	{ "sbb qword [rdi],0x7fffffff", B(0x48, 0x81, 0x1f, 0xff, 0xff, 0xff, 0x7f), RDI,
	  PTR_PLAIN, 0x390, 0, 0 },
	{ "cmp byte [rdi],0x93", B(0x80, 0x3f, 0x93), RDI, PTR_PLAIN, 0x3a0, 0, 0 },
	{ "cmp dword [rdi],-1", B(0x83, 0x3f, 0xff), RDI, PTR_PLAIN, 0x3a4, 0, 0 },
	{ "cmp qword [rdi],imm32", B(0x48, 0x81, 0x3f, 0x00, 0x00, 0x00, 0x80), RDI, PTR_PLAIN,
	  0x3a8, 0, 0 },
	/* test */
	{ "test [rdi],eax", B(0x85, 0x07), RDI, PTR_PLAIN, 0x3b0, 0, 0 },
	{ "test [rdi],bl", B(0x84, 0x1f), RDI, PTR_PLAIN, 0x3b5, 0, 0 },
	{ "test byte [rdi],1", B(0xf6, 0x07, 0x01), RDI, PTR_PLAIN, 0x3b9, 0, 0 },
	{ "test dword [rdi],0x80000000", B(0xf7, 0x07, 0x00, 0x00, 0x00, 0x80), RDI, PTR_PLAIN,
	  0x3bc, 0, 0 },
	{ "test word [rdi],0x8000", B(0x66, 0xf7, 0x07, 0x00, 0x80), RDI, PTR_PLAIN, 0x3c2, 0,
	  0 },
	{ "test qword [r8],-1", B(0x49, 0xf7, 0x00, 0xff, 0xff, 0xff, 0xff), R8, PTR_PLAIN,
	  0x3c8, 0, 0 },
	/* VEX (the YMM/ZMM upper parts: test_vex_upper) */
	{ "vmovd xmm0,[rdi]", B(0xc5, 0xf9, 0x6e, 0x07), RDI, PTR_PLAIN, 0x404, 0, 0, true },
	{ "vmovq xmm1,[rdi] (C4, W)", B(0xc4, 0xe1, 0xf9, 0x6e, 0x0f), RDI, PTR_PLAIN, 0x408, 0,
	  0, true },
	{ "vmovq xmm2,[rdi] (F3 7E)", B(0xc5, 0xfa, 0x7e, 0x17), RDI, PTR_PLAIN, 0x410, 0, 0,
	  true },
	{ "vmovq [rdi],xmm3", B(0xc5, 0xf9, 0xd6, 0x1f), RDI, PTR_PLAIN, 0x418, 0, 0, true },
	{ "vmovd [rdi],xmm4", B(0xc5, 0xf9, 0x7e, 0x27), RDI, PTR_PLAIN, 0x424, 0, 0, true },
	{ "vmovdqu xmm5,[rdi]", B(0xc5, 0xfa, 0x6f, 0x2f), RDI, PTR_PLAIN, 0x428, 0, 0, true },
	{ "vmovdqa [rdi],xmm6 16", B(0xc5, 0xf9, 0x7f, 0x37), RDI, PTR_PLAIN, 0x440, 0, 0, true },
	{ "vmovups xmm8,[rdi]", B(0xc5, 0x78, 0x10, 0x07), RDI, PTR_PLAIN, 0x454, 0, 0, true },
	{ "vmovaps [r14],xmm9 16", B(0xc4, 0x41, 0x78, 0x29, 0x0e), R14, PTR_PLAIN, 0x460, 0, 0,
	  true },
	{ "vmovss xmm10,[rdi]", B(0xc5, 0x7a, 0x10, 0x17), RDI, PTR_PLAIN, 0x474, 0, 0, true },
	{ "vmovsd [rdi],xmm11", B(0xc5, 0x7b, 0x11, 0x1f), RDI, PTR_PLAIN, 0x478, 0, 0, true },
	{ "vmovntdq [rdi],xmm7 16", B(0xc5, 0xf9, 0xe7, 0x3f), RDI, PTR_PLAIN, 0x480, 0, 0,
	  true },
};

static uint64_t seg_base(int which)
{
	unsigned long b = 0;

	assert_int_equal(syscall(SYS_arch_prctl, which, &b), 0);
	return b;
}

/*
 * Two areas below 2 GiB (so that 32-bit addresses reach them), each a code
 * page followed by a data page: the data page is ordinary memory in one and
 * a trap in the other, so RIP-relative forms reach both.
 */
struct arena {
	uint8_t *code, *mem;
};

static void arena_reserve(struct arena *a)
{
	uint8_t *p = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1,
			  0);

	assert_ptr_not_equal(p, MAP_FAILED);
	assert_int_equal(mprotect(p, PG, PROT_READ | PROT_WRITE), 0);
	a->code = p;
	a->mem = p + PG;
}

static void form_prepare(const struct form *f, const struct arena *a, uint8_t *bytes,
			 struct cpu *cpu)
{
	uintptr_t addr = (uintptr_t)a->mem + f->off;
	unsigned int i, j;

	for (i = 0; i < 16; i++)
		cpu->gpr[i] = 0xf0e0d0c0b0a09080ULL + i * 0x0111011101110111ULL;
	for (i = 0; i < 16; i++)
		for (j = 0; j < 16; j++)
			cpu->xmm[i][j] = (uint8_t)(0x40 + i * 16 + j);
	cpu->gpr[RSP] = 0;
	/* Every other form starts with all arithmetic flags set (adc, sbb read CF). */
	cpu->rflags = 0x2 | (((f - forms) & 1) ? ARITH_FLAGS : 0);
	/* Index registers of the table: RSI and R13 hold 3. */
	cpu->gpr[RSI] = 3;
	cpu->gpr[R13] = 3;
	switch (f->ptr_mode) {
	case PTR_PLAIN:
		cpu->gpr[f->ptr_reg] = addr;
		break;
	case PTR_DIV4:
		cpu->gpr[f->ptr_reg] = addr / 4;
		break;
	case PTR_FS:
		cpu->gpr[f->ptr_reg] = addr - seg_base(ARCH_GET_FS);
		break;
	case PTR_GS:
		cpu->gpr[f->ptr_reg] = addr - seg_base(ARCH_GET_GS);
		break;
	case PTR_HI:
		cpu->gpr[f->ptr_reg] = addr | 0xabcd123400000000ULL;
		break;
	}
	memcpy(bytes, f->bytes, f->n);
	if (f->patch == PATCH_ABS64) {
		uint64_t v = addr;

		memcpy(bytes + f->at, &v, 8);
	} else if (f->patch == PATCH_ABS32) {
		uint32_t v = (uint32_t)addr;

		assert_true(addr < (1ULL << 31));
		memcpy(bytes + f->at, &v, 4);
	} else if (f->patch == PATCH_RIP32) {
		int32_t v = (int32_t)(addr - ((uintptr_t)a->code + f->n));

		memcpy(bytes + f->at, &v, 4);
	}
}

static void fill_pattern(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + 0x93);
}

static void test_forms_match_cpu(void **state)
{
	static uint8_t fresh[PG];
	struct arena plain, trapped;
	struct mmio_trap *trap;
	void *where;
	size_t k;

	(void)state;
	dev_reset();
	arena_reserve(&plain);
	arena_reserve(&trapped);
	assert_int_equal(mprotect(plain.mem, PG, PROT_READ | PROT_WRITE), 0);
	/* MAP_FIXED onto the reserved page: the trap lands exactly there. */
	assert_int_equal(mmio_trap_map(trapped.mem, PG, MAP_SHARED | MAP_FIXED, &dev_ops, &dev,
				       BASE_OFF, &trap, &where), 0);
	assert_ptr_equal(where, trapped.mem);

	for (k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
		const struct form *f = &forms[k];
		uint8_t bytes[X86_MAX_INSN_LEN];
		struct cpu a, b, a_in, b_in;
		struct x86_insn insn;
		unsigned int i;

		if (f->avx && !__builtin_cpu_supports("avx"))
			continue;
		/* The decoder agrees with the table on the length. */
		if (x86_decode(f->bytes, sizeof(f->bytes), &insn) || insn.len != f->n) {
			fail_msg("%s: decode failed or length %u != %u", f->name, insn.len, f->n);
		}

		fill_pattern(plain.mem, PG);
		fill_pattern(dev.regs, PG);
		form_prepare(f, &plain, bytes, &a);
		a_in = a;
		code_set(plain.code, bytes, f->n);
		mmio_test_run(&a, plain.code);

		form_prepare(f, &trapped, bytes, &b);
		b_in = b;
		code_set(trapped.code, bytes, f->n);
		dev.nlog = 0;
		mmio_test_run(&b, trapped.code);

		if (!dev.nlog)
			fail_msg("%s: the device saw no access", f->name);
		for (i = 0; i < 16; i++) {
			if (i == RSP)
				continue;
			if (f->ptr_mode != PTR_NONE && (int)i == f->ptr_reg) {
				if (a.gpr[i] != a_in.gpr[i] || b.gpr[i] != b_in.gpr[i])
					fail_msg("%s: address register %u changed", f->name, i);
				continue;
			}
			if (a.gpr[i] != b.gpr[i])
				fail_msg("%s: gpr %u: cpu %#llx, trap %#llx", f->name, i,
					 (unsigned long long)a.gpr[i], (unsigned long long)b.gpr[i]);
		}
		for (i = 0; i < 16; i++)
			if (memcmp(a.xmm[i], b.xmm[i], 16))
				fail_msg("%s: xmm%u differs", f->name, i);
		if ((a.rflags ^ b.rflags) & 0xfff)
			fail_msg("%s: flags: cpu %#llx, trap %#llx", f->name,
				 (unsigned long long)a.rflags, (unsigned long long)b.rflags);
		if (memcmp(plain.mem, dev.regs, PG)) {
			for (i = 0; i < PG && plain.mem[i] == dev.regs[i]; i++)
				;
			fail_msg("%s: memory differs at %#x: cpu %#x, trap %#x", f->name, i,
				 plain.mem[i], dev.regs[i]);
		}
		/* Loads change a register, stores memory: the comparison has teeth. */
		fill_pattern(fresh, PG);
		if (dev.log[dev.nlog - 1].write ? !memcmp(fresh, dev.regs, PG)
						: !memcmp(&a, &a_in, sizeof(a)))
			fail_msg("%s: the access changed nothing", f->name);
	}
	assert_int_equal(atomic_load(&dev.bad_calls), 0);
	mmio_trap_unmap(trap);
	assert_false(mapped(trapped.mem));
	munmap(plain.code, 2 * PG);
	munmap(trapped.code, PG);
}

/* ------------------------------------------------------------ mapping */

static void test_map_args(void **state)
{
	struct mmio_trap *trap = NULL;
	struct mmio_trap_ops no_read = { .write = dev_write };
	void *where = NULL;
	char prot[5];
	uint8_t *p;

	(void)state;
	dev_reset();
	assert_int_equal(mmio_trap_map(NULL, 0, 0, &dev_ops, &dev, 0, &trap, &where), -EINVAL);
	assert_int_equal(mmio_trap_map(NULL, PG + 1, 0, &dev_ops, &dev, 0, &trap, &where),
			 -EINVAL);
	assert_int_equal(mmio_trap_map(NULL, PG, 0, NULL, &dev, 0, &trap, &where), -EINVAL);
	assert_int_equal(mmio_trap_map(NULL, PG, 0, &no_read, &dev, 0, &trap, &where), -EINVAL);
	assert_int_equal(mmio_trap_map((void *)0x10001000 + 1, PG, MAP_FIXED, &dev_ops, &dev, 0,
				       &trap, &where), -EINVAL);
	assert_null(trap);
	assert_null(where);

	/* MAP_FIXED_NOREPLACE over a mapping: EEXIST, and that mapping intact. */
	p = map_pages(1);
	assert_int_equal(mmio_trap_map(p, PG, MAP_FIXED_NOREPLACE, &dev_ops, &dev, 0, &trap,
				       &where), -EEXIST);
	assert_int_equal(p[0], 0x5a);
	munmap(p, PG);

	p = trap_new(2, &trap);
	assert_true(maps_prot(p, prot));
	assert_string_equal(prot, "---p");
	assert_true(maps_prot(p + PG, prot));
	mmio_trap_unmap(trap);
	assert_false(mapped(p));
	assert_false(mapped(p + PG));
	mmio_trap_unmap(NULL);
	assert_int_equal(atomic_load(&dev.reads) + atomic_load(&dev.writes), 0);
}

/* --------------------------------------------- accesses the compiler emits */

static void test_volatile_c(void **state)
{
	struct mmio_trap *trap;
	uint8_t *p;
	volatile uint8_t *p8;
	volatile uint16_t *p16;
	volatile uint32_t *p32;
	volatile uint64_t *p64;
	unsigned int i;

	(void)state;
	dev_reset();
	p = trap_new(2, &trap);
	p8 = (volatile uint8_t *)(p + 0x11);
	p16 = (volatile uint16_t *)(p + 0x22);
	p32 = (volatile uint32_t *)(p + 0x44);
	p64 = (volatile uint64_t *)(p + PG + 0x88);

	*p8 = 0xa5;
	*p16 = 0xbeef;
	*p32 = 0xdeadbeef;
	*p64 = 0x0123456789abcdefULL;
	barrier();
	assert_int_equal(dev.nlog, 4);
	assert_true(dev.log[0].write);
	assert_int_equal(dev.log[0].off, BASE_OFF + 0x11);
	assert_int_equal(dev.log[0].size, 1);
	assert_int_equal(dev.log[0].val, 0xa5);
	assert_int_equal(dev.log[1].off, BASE_OFF + 0x22);
	assert_int_equal(dev.log[1].size, 2);
	assert_int_equal(dev.log[1].val, 0xbeef);
	assert_int_equal(dev.log[2].off, BASE_OFF + 0x44);
	assert_int_equal(dev.log[2].size, 4);
	assert_int_equal(dev.log[2].val, 0xdeadbeef);
	assert_int_equal(dev.log[3].off, BASE_OFF + PG + 0x88);
	assert_int_equal(dev.log[3].size, 8);
	assert_int_equal(dev.log[3].val, 0x0123456789abcdefULL);

	/* Values round-trip, and the device's own changes show. */
	assert_int_equal(*p8, 0xa5);
	assert_int_equal(*p16, 0xbeef);
	assert_int_equal(*p32, 0xdeadbeef);
	assert_int_equal(*p64, 0x0123456789abcdefULL);
	dev.regs[0x44] = 0x01;
	barrier();
	assert_int_equal(*p32, 0xdeadbe01);
	barrier();
	assert_int_equal(dev.log[dev.nlog - 1].size, 4);
	assert_false(dev.log[dev.nlog - 1].write);

	/* Signed loads, arithmetic on loaded values, indexed loops. */
	*(volatile int8_t *)p8 = -3;
	assert_int_equal(*(volatile int8_t *)p8 * 2, -6);
	for (i = 0; i < 64; i++)
		((volatile uint32_t *)p)[i] = i * 0x01010101u;
	for (i = 0; i < 64; i++)
		assert_int_equal(((volatile uint32_t *)p)[i], i * 0x01010101u);
	for (i = 0; i < 32; i++)
		((volatile uint64_t *)(p + PG))[i] = ~(uint64_t)i;
	for (i = 0; i < 32; i++)
		assert_int_equal(((volatile uint64_t *)(p + PG))[i], ~(uint64_t)i);
	/* Tests and compares the compiler may fold into one instruction (test/cmp mem). */
	dev.regs[0x200] = 0x04;
	barrier();
	assert_true(*(volatile uint32_t *)(p + 0x200) & 0x4);
	assert_false(*(volatile uint8_t *)(p + 0x200) & 0x1);
	assert_true(*(volatile uint8_t *)(p + 0x200) == 0x04);
	assert_true(*(volatile uint64_t *)(p + 0x200) < 5);
	assert_int_equal(atomic_load(&dev.bad_calls), 0);
	mmio_trap_unmap(trap);
}

/* A few forms as the assembler spells them, with their expected results. */
static void test_inline_asm(void **state)
{
	struct mmio_trap *trap;
	uint8_t *p;
	uint64_t v, x;
	uint8_t out[16];

	(void)state;
	dev_reset();
	p = trap_new(1, &trap);
	memcpy(dev.regs, "\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff\x00", 16);

	/* AH merges: the rest of RAX stays. */
	v = 0x1111111111111111ULL;
	__asm__ volatile("movb (%1), %%ah" : "+a"(v) : "r"(p + 2) : "memory");
	assert_int_equal(v, 0x1111111111113311ULL);
	/* 32-bit loads clear the top; 16-bit ones merge. */
	v = ~0ULL;
	__asm__ volatile("movl (%1), %k0" : "+r"(v) : "r"(p) : "memory");
	assert_int_equal(v, 0x44332211ULL);
	v = ~0ULL;
	__asm__ volatile("movw (%1), %w0" : "+r"(v) : "r"(p) : "memory");
	assert_int_equal(v, 0xffffffffffff2211ULL);
	/* Sign and zero extension. */
	__asm__ volatile("movsbq (%1), %0" : "=r"(v) : "r"(p + 14) : "memory");
	assert_int_equal(v, 0xffffffffffffffffULL);
	__asm__ volatile("movzwl (%1), %k0" : "=r"(v) : "r"(p + 14) : "memory");
	assert_int_equal(v, 0x00ffULL);
	__asm__ volatile("movslq (%1), %0" : "=r"(v) : "r"(p + 12) : "memory");
	assert_int_equal(v, 0x00ffeeddULL);
	__asm__ volatile("movswq (%1), %0" : "=r"(v) : "r"(p + 10) : "memory");
	assert_int_equal(v, 0xffffffffffffccbbULL);
	/* A high register as the value, an index register in the address. */
	{
		register uint64_t r13 __asm__("r13") = 0x5566778899aabbccULL;
		uint64_t idx = 3;

		__asm__ volatile("movq %0, 8(%1,%2,8)" : : "r"(r13), "r"(p), "r"(idx) : "memory");
		assert_int_equal(dev.log[dev.nlog - 1].off, BASE_OFF + 32);
		assert_int_equal(dev.log[dev.nlog - 1].val, 0x5566778899aabbccULL);
	}
	/* xchg: the old value comes back, the new one is stored. */
	v = 0xcafef00dULL;
	__asm__ volatile("xchgl %k0, (%1)" : "+r"(v) : "r"(p + 32) : "memory");
	assert_int_equal(v, 0x99aabbccULL);
	memcpy(&x, dev.regs + 32, 8);
	assert_int_equal(x, 0x55667788cafef00dULL);
	/* movnti */
	v = 0x1234567890abcdefULL;
	__asm__ volatile("movnti %0, (%1)" : : "r"(v), "r"(p + 40) : "memory");
	memcpy(&x, dev.regs + 40, 8);
	assert_int_equal(x, v);
	/* movq/movd through XMM */
	__asm__ volatile("movq (%1), %%xmm0\n\tmovdqu %%xmm0, (%0)"
			 : : "r"(out), "r"(p) : "xmm0", "memory");
	assert_memory_equal(out, "\x11\x22\x33\x44\x55\x66\x77\x88\0\0\0\0\0\0\0\0", 16);
	__asm__ volatile("movd (%1), %%xmm1\n\tmovdqu %%xmm1, (%0)"
			 : : "r"(out), "r"(p + 4) : "xmm1", "memory");
	assert_memory_equal(out, "\x55\x66\x77\x88\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	v = 0xa1a2a3a4a5a6a7a8ULL;
	__asm__ volatile("movq %0, %%xmm2\n\tmovq %%xmm2, (%1)"
			 : : "r"(v), "r"(p + 48) : "xmm2", "memory");
	memcpy(&x, dev.regs + 48, 8);
	assert_int_equal(x, v);
	__asm__ volatile("movq %0, %%xmm3\n\tmovd %%xmm3, (%1)"
			 : : "r"(v), "r"(p + 56) : "xmm3", "memory");
	memcpy(&x, dev.regs + 56, 8);
	assert_int_equal(x, 0xa5a6a7a8ULL);
	mmio_trap_unmap(trap);
}

/* What the device sees: sizes, order, and 16-byte moves split in two. */
static void test_device_view(void **state)
{
	struct mmio_trap *trap;
	uint8_t *p, buf[16];
	uint64_t v = 7;

	(void)state;
	dev_reset();
	p = trap_new(1, &trap);
	memset(dev.regs, 0x33, 64);
	__asm__ volatile("xchgq %0, 16(%1)" : "+r"(v) : "r"(p) : "memory");
	assert_int_equal(v, 0x3333333333333333ULL);
	assert_int_equal(dev.nlog, 2);
	assert_false(dev.log[0].write);
	assert_true(dev.log[1].write);
	assert_int_equal(dev.log[1].val, 7);
	assert_int_equal(dev.log[0].off, BASE_OFF + 16);
	assert_int_equal(dev.log[1].off, BASE_OFF + 16);

	dev.nlog = 0;
	memset(buf, 0x77, sizeof(buf));
	__asm__ volatile("movdqu (%0), %%xmm0\n\tmovdqu %%xmm0, 32(%1)"
			 : : "r"(buf), "r"(p) : "xmm0", "memory");
	assert_int_equal(dev.nlog, 2);
	assert_int_equal(dev.log[0].off, BASE_OFF + 32);
	assert_int_equal(dev.log[0].size, 8);
	assert_int_equal(dev.log[1].off, BASE_OFF + 40);
	assert_int_equal(dev.log[1].size, 8);
	assert_int_equal(dev.log[1].val, 0x7777777777777777ULL);
	mmio_trap_unmap(trap);
}

/*
 * VEX loads clear the register up to its full width (YMM, and ZMM where the
 * CPU has AVX-512), which lives in the XSAVE part of the signal frame.
 */
static void test_vex_upper(void **state)
{
	struct mmio_trap *trap;
	uint8_t out[64], in[32], *p;
	unsigned int i;

	(void)state;
	if (!__builtin_cpu_supports("avx"))
		skip();
	dev_reset();
	p = trap_new(1, &trap);
	fill_pattern(dev.regs, PG);
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(0xc0 + i);

	/* vmovq into a YMM whose upper half was all ones. */
	memset(out, 0xee, sizeof(out));
	__asm__ volatile("vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
			 "vmovq (%1), %%xmm0\n\t"
			 "vmovdqu %%ymm0, (%0)\n\t"
			 "vzeroupper"
			 : : "r"(out), "r"(p) : "xmm0", "memory");
	assert_memory_equal(out, dev.regs, 8);
	for (i = 8; i < 32; i++)
		assert_int_equal(out[i], 0);

	/* A 32-byte load, with the YMM state initial before it (vzeroupper). */
	dev.nlog = 0;
	__asm__ volatile("vzeroupper\n\t"
			 "vmovdqu 32(%1), %%ymm1\n\t"
			 "vmovdqu %%ymm1, (%0)\n\t"
			 "vzeroupper"
			 : : "r"(out), "r"(p) : "xmm1", "memory");
	barrier();
	assert_memory_equal(out, dev.regs + 32, 32);
	assert_int_equal(dev.nlog, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(dev.log[i].off, BASE_OFF + 32 + 8 * i);
		assert_int_equal(dev.log[i].size, 8);
	}

	/* A 32-byte store takes the upper half from the frame too. */
	__asm__ volatile("vmovdqu (%0), %%ymm2\n\t"
			 "vmovdqu %%ymm2, 64(%1)\n\t"
			 "vzeroupper"
			 : : "r"(in), "r"(p) : "xmm2", "memory");
	barrier();
	assert_memory_equal(dev.regs + 64, in, 32);

	if (__builtin_cpu_supports("avx512f")) {
		memset(out, 0xee, sizeof(out));
		__asm__ volatile("vpternlogd $0xff, %%zmm3, %%zmm3, %%zmm3\n\t"
				 "vmovd 4(%1), %%xmm3\n\t"
				 "vmovdqu64 %%zmm3, (%0)\n\t"
				 "vzeroupper"
				 : : "r"(out), "r"(p) : "xmm3", "memory");
		assert_memory_equal(out, dev.regs + 4, 4);
		for (i = 4; i < 64; i++)
			assert_int_equal(out[i], 0);
	}
	assert_int_equal(atomic_load(&dev.bad_calls), 0);
	mmio_trap_unmap(trap);
}

/* ---------------------------------------------------------- the decoder */

static void test_decode_bytes(void **state)
{
	struct x86_insn in;
	uint64_t gpr[16] = { 0 };

	(void)state;
	/* mov eax, [rbx + rcx*4 - 0x80]: SIB, disp8 */
	assert_int_equal(x86_decode((const uint8_t *)"\x8b\x44\x8b\x80", 4, &in), 0);
	assert_int_equal(in.len, 4);
	assert_int_equal(in.access, X86_LOAD);
	assert_int_equal(in.size, 4);
	assert_int_equal(in.reg, 0);
	assert_int_equal(in.mem.base, 3);
	assert_int_equal(in.mem.index, 1);
	assert_int_equal(in.mem.scale, 4);
	assert_int_equal(in.mem.disp, -0x80);
	gpr[3] = 0x1000;
	gpr[1] = 2;
	assert_int_equal(x86_mem_addr(&in.mem, gpr, 0), 0x1000 + 8 - 0x80);

	/* mov [rip + 0x10], r9: RIP-relative counts from the next instruction */
	assert_int_equal(x86_decode((const uint8_t *)"\x4c\x89\x0d\x10\x00\x00\x00", 15, &in), 0);
	assert_int_equal(in.len, 7);
	assert_true(in.mem.rip);
	assert_int_equal(in.reg, 9);
	assert_int_equal(in.access, X86_STORE);
	assert_int_equal(x86_mem_addr(&in.mem, gpr, 0x400000), 0x400010);

	/* 67: the address wraps at 32 bits */
	assert_int_equal(x86_decode((const uint8_t *)"\x67\x8b\x47\x10", 4, &in), 0);
	assert_true(in.mem.addr32);
	gpr[7] = 0x12345678fffffff8ULL;
	assert_int_equal(x86_mem_addr(&in.mem, gpr, 0), 0x8);

	/* SIB with index 4 and no REX.X: no index; REX.X makes it R12 */
	assert_int_equal(x86_decode((const uint8_t *)"\x8b\x04\x24", 3, &in), 0);
	assert_int_equal(in.mem.index, -1);
	assert_int_equal(in.mem.base, 4);
	assert_int_equal(x86_decode((const uint8_t *)"\x42\x8b\x04\x24", 4, &in), 0);
	assert_int_equal(in.mem.index, 12);

	/* mod 0 with SIB base 5: a disp32 and no base, even with REX.B */
	assert_int_equal(x86_decode((const uint8_t *)"\x41\x8b\x04\x25\x00\x10\x00\x00", 8, &in), 0);
	assert_int_equal(in.mem.base, -1);
	assert_int_equal(in.mem.disp, 0x1000);

	/* mov qword [rax], imm32 sign-extended; the 66 form takes an imm16 */
	assert_int_equal(x86_decode((const uint8_t *)"\x48\xc7\x00\x00\x00\x00\x80", 7, &in), 0);
	assert_int_equal(in.imm, 0xffffffff80000000ULL);
	assert_int_equal(in.size, 8);
	assert_int_equal(x86_decode((const uint8_t *)"\x66\xc7\x00\xcd\xab", 5, &in), 0);
	assert_int_equal(in.len, 5);
	assert_int_equal(in.imm, 0xabcd);

	/* Byte registers: AH without REX, SPL with */
	assert_int_equal(x86_decode((const uint8_t *)"\x88\x20", 2, &in), 0);
	assert_true(in.high8);
	assert_int_equal(in.reg, 0);
	assert_int_equal(x86_decode((const uint8_t *)"\x40\x88\x20", 3, &in), 0);
	assert_false(in.high8);
	assert_int_equal(in.reg, 4);

	/* moffs: 8 address bytes, 4 with 67 */
	assert_int_equal(x86_decode((const uint8_t *)"\x48\xa1\x08\x07\x06\x05\x04\x03\x02\x01",
				    10, &in), 0);
	assert_int_equal(in.len, 10);
	assert_int_equal(in.mem.disp, 0x0102030405060708LL);
	assert_int_equal(x86_decode((const uint8_t *)"\x67\xa3\x00\x00\x00\xf0", 6, &in), 0);
	assert_int_equal(in.len, 6);
	assert_int_equal(x86_mem_addr(&in.mem, gpr, 0), 0xf0000000ULL);

	/* FS/GS are noted; other segment prefixes are flat */
	assert_int_equal(x86_decode((const uint8_t *)"\x64\x8b\x00", 3, &in), 0);
	assert_int_equal(in.mem.seg, X86_SEG_FS);
	assert_int_equal(x86_decode((const uint8_t *)"\x2e\x8b\x00", 3, &in), 0);
	assert_int_equal(in.mem.seg, X86_SEG_FLAT);

	/* VEX: 2- and 3-byte forms; refused with a real 66 before, or vvvv in use */
	assert_int_equal(x86_decode((const uint8_t *)"\xc5\xfe\x6f\x47\x20", 5, &in), 0);
	assert_int_equal(in.len, 5);
	assert_int_equal(in.size, 32);
	assert_true(in.vex);
	assert_int_equal(in.mem.disp, 0x20);
	assert_int_equal(x86_decode((const uint8_t *)"\xc4\xc1\x7e\x7f\x04\x24", 6, &in), 0);
	assert_int_equal(in.access, X86_STORE);
	assert_int_equal(in.mem.base, 12);
	assert_int_equal(in.size, 32);
	assert_int_equal(x86_decode((const uint8_t *)"\x66\xc5\xf9\x6e\x07", 5, &in),
			 -EOPNOTSUPP);
	assert_int_equal(x86_decode((const uint8_t *)"\xc5\xf1\x6e\x07", 4, &in), -EOPNOTSUPP);
	assert_int_equal(x86_decode((const uint8_t *)"\xc5\xfd\x6e\x07", 4, &in), -EOPNOTSUPP);
	assert_int_equal(x86_decode((const uint8_t *)"\xc4\xe2\x79\x18\x07", 5, &in),
			 -EOPNOTSUPP);

	/* Refused: register forms, other opcodes, MMX, C7 /1, truncation, > 15 bytes */
	assert_int_equal(x86_decode((const uint8_t *)"\x89\xc0", 2, &in), -EOPNOTSUPP);
	assert_int_equal(x86_decode((const uint8_t *)"\xff\x07", 2, &in), -EOPNOTSUPP);
	assert_int_equal(x86_decode((const uint8_t *)"\xf7\x17", 2, &in), -EOPNOTSUPP);
	assert_int_equal(x86_decode((const uint8_t *)"\x0f\x7e\x07", 3, &in), -EOPNOTSUPP);
	assert_int_equal(x86_decode((const uint8_t *)"\xc7\x08\x00\x00\x00\x00", 6, &in),
			 -EOPNOTSUPP);
	assert_int_equal(x86_decode((const uint8_t *)"\xf3\xa5", 2, &in), -EOPNOTSUPP);
	assert_int_equal(x86_decode((const uint8_t *)"\x8b\x80\x00\x00", 4, &in), -EINVAL);
	assert_int_equal(x86_decode((const uint8_t *)"\x48", 1, &in), -EINVAL);
	assert_int_equal(x86_decode((const uint8_t *)"\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66"
				    "\x66\x66\x66\x66\x8b\x00", 16, &in), -EINVAL);
	assert_int_equal(x86_decode((const uint8_t *)"\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66"
				    "\x66\x66\x8b\x00", 14, &in), 0);
	assert_int_equal(in.len, 14);
}

/* ------------------------------------------------------------- threads */

#define NTHREADS 4
#define ITERS 20000

struct worker {
	pthread_t tid;
	uint8_t *p;
	unsigned int id;
	unsigned long done;
	unsigned long mismatches;
	atomic_bool *stop;
	bool faulted;
};

/* Each thread owns one 8-byte register: what it stores it reads back. */
static void *rw_worker(void *arg)
{
	struct worker *w = arg;
	volatile uint64_t *reg = (volatile uint64_t *)(w->p + 64 * w->id);
	unsigned long i;

	for (i = 0; i < ITERS; i++) {
		uint64_t v = ((uint64_t)w->id << 56) | i;

		*reg = v;
		if (*reg != v)
			w->mismatches++;
		w->done++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct worker w[NTHREADS];
	struct mmio_trap *trap;
	uint8_t *p;
	unsigned int i;

	(void)state;
	dev_reset();
	dev.log_on = false;
	p = trap_new(1, &trap);
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .p = p, .id = i };
		assert_int_equal(pthread_create(&w[i].tid, NULL, rw_worker, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].tid, NULL);
		assert_int_equal(w[i].done, ITERS);
		assert_int_equal(w[i].mismatches, 0);
	}
	assert_int_equal(atomic_load(&dev.reads), NTHREADS * ITERS);
	assert_int_equal(atomic_load(&dev.writes), NTHREADS * ITERS);
	assert_int_equal(atomic_load(&dev.bad_calls), 0);
	mmio_trap_unmap(trap);
}

/*
 * Readers that go on until their access faults: after the unmap the fault
 * goes to the program's handler, which takes the thread out.
 */
static void *read_until_fault(void *arg)
{
	struct worker *w = arg;
	volatile uint32_t *reg = (volatile uint32_t *)(w->p + 4 * w->id);
	sigjmp_buf env;

	if (sigsetjmp(env, 1)) {
		w->faulted = true;
		return NULL;
	}
	segv_jmp = &env;
	while (!atomic_load(w->stop)) {
		(void)*reg;
		w->done++;
	}
	segv_jmp = NULL;
	return NULL;
}

static void test_unmap_while_accessing(void **state)
{
	struct worker w[NTHREADS];
	atomic_bool stop = false;
	struct mmio_trap *trap;
	unsigned int i, round;

	(void)state;
	install_program_handler();
	for (round = 0; round < 3; round++) {
		uint8_t *p;

		dev_reset();
		dev.log_on = false;
		atomic_store(&stop, false);
		p = trap_new(1, &trap);
		for (i = 0; i < NTHREADS; i++) {
			w[i] = (struct worker){ .p = p, .id = i, .stop = &stop };
			assert_int_equal(pthread_create(&w[i].tid, NULL, read_until_fault, &w[i]),
					 0);
		}
		while (atomic_load(&dev.reads) < 2000)
			sched_yield();
		mmio_trap_unmap(trap);
		/* From here on, no read or write may reach the device. */
		atomic_store(&dev.dead, true);
		atomic_store(&stop, true);
		for (i = 0; i < NTHREADS; i++)
			pthread_join(w[i].tid, NULL);
		assert_int_equal(atomic_load(&dev.late_calls), 0);
		assert_int_equal(atomic_load(&dev.bad_calls), 0);
		assert_false(mapped(p));
	}
}

/* ------------------------------------------- the program's own mappings */

static void test_forget_range(void **state)
{
	struct mmio_trap *trap;
	uint8_t *p, *mid;

	(void)state;
	dev_reset();
	p = trap_new(3, &trap);
	/* The program maps ordinary memory over the middle page. */
	mmio_trap_forget_range(p + PG, PG);
	mid = mmap(p + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		   -1, 0);
	assert_ptr_equal(mid, p + PG);
	mid[0] = 0x42;
	barrier();
	assert_int_equal(dev.nlog, 0);

	/* The outer pages still trap, with their own offsets. */
	*(volatile uint32_t *)(p + 8) = 1;
	*(volatile uint32_t *)(p + 2 * PG + 8) = 2;
	barrier();
	assert_int_equal(dev.nlog, 2);
	assert_int_equal(dev.log[0].off, BASE_OFF + 8);
	assert_int_equal(dev.log[1].off, BASE_OFF + 2 * PG + 8);
	assert_int_equal(*(volatile uint32_t *)(p + 2 * PG + 8), 2);

	/* Unmapping the trap leaves the program's page alone. */
	mmio_trap_unmap(trap);
	assert_false(mapped(p));
	assert_false(mapped(p + 2 * PG));
	assert_true(mapped(mid));
	assert_int_equal(mid[0], 0x42);
	munmap(mid, PG);

	/* Forgetting all of it: the trap then only waits for its unmap. */
	p = trap_new(2, &trap);
	mmio_trap_forget_range(p - PG, 4 * PG);
	munmap(p, 2 * PG);
	mid = mmap(p, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	assert_ptr_equal(mid, p);
	mmio_trap_unmap(trap);
	assert_true(mapped(mid));
	munmap(mid, PG);
	mmio_trap_forget_range(NULL, 0);
}

static void test_map_fixed_over_trap(void **state)
{
	struct mmio_trap *a, *b;
	void *where;
	uint8_t *p;

	(void)state;
	dev_reset();
	p = trap_new(2, &a);
	/* A second trap over the second page, at offsets of its own. */
	assert_int_equal(mmio_trap_map(p + PG, PG, MAP_FIXED, &dev_ops, &dev, BASE_OFF + 2 * PG,
				       &b, &where), 0);
	assert_ptr_equal(where, p + PG);
	*(volatile uint8_t *)(p + 1) = 1;
	*(volatile uint8_t *)(p + PG + 1) = 2;
	barrier();
	assert_int_equal(dev.log[0].off, BASE_OFF + 1);
	assert_int_equal(dev.log[1].off, BASE_OFF + 2 * PG + 1);
	/* The first trap no longer owns that page: its unmap leaves it. */
	mmio_trap_unmap(a);
	assert_false(mapped(p));
	assert_true(mapped(p + PG));
	assert_int_equal(*(volatile uint8_t *)(p + PG + 1), 2);
	mmio_trap_unmap(b);
	assert_false(mapped(p + PG));
}

/* ---------------------------------------------- what cannot be emulated */

static void run_expecting_segv(const uint8_t *bytes, size_t n, uint8_t *code, void *target,
			       bool call_target)
{
	struct cpu cpu = { { 0 } };
	sigjmp_buf env;

	code_set(code, bytes, n);
	cpu.gpr[RDI] = (uintptr_t)target;
	if (sigsetjmp(env, 1) == 0) {
		segv_jmp = &env;
		mmio_test_run(&cpu, call_target ? target : code);
		segv_jmp = NULL;
		fail_msg("no SIGSEGV reached the program's handler");
	}
}

static void test_unemulated_goes_to_program(void **state)
{
	static const uint8_t cmpxchg[] = { 0x0f, 0xb1, 0x0f };	/* cmpxchg [rdi], ecx */
	static const uint8_t inc_mem[] = { 0xff, 0x07 };	/* inc dword [rdi] */
	struct mmio_trap *trap;
	uint8_t *code, *p;

	(void)state;
	install_program_handler();
	dev_reset();
	p = trap_new(1, &trap);
	code = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(code, MAP_FAILED);

	run_expecting_segv(cmpxchg, sizeof(cmpxchg), code, p + 16, false);
	assert_int_equal(atomic_load(&segv_caught), 1);
	run_expecting_segv(inc_mem, sizeof(inc_mem), code, p, false);
	assert_int_equal(atomic_load(&segv_caught), 2);
	/* Jumping into the trap: an instruction fetch, never decoded from there. */
	run_expecting_segv(cmpxchg, 0, code, p, true);
	assert_int_equal(atomic_load(&segv_caught), 3);
	assert_int_equal(atomic_load(&dev.reads) + atomic_load(&dev.writes), 0);

	/* The trap works as before, and so does a fault elsewhere. */
	*(volatile uint16_t *)(p + 2) = 0x1234;
	barrier();
	assert_int_equal(dev.nlog, 1);
	mmio_trap_unmap(trap);
	run_expecting_segv((const uint8_t *)"\x8b\x07", 2, code, p, false);
	assert_int_equal(atomic_load(&segv_caught), 4);
	munmap(code, PG);
}

/* A write that unmaps its own trap (a reset through a register). */
static struct mmio_trap *self_trap;

static void self_unmap_write(void *priv, uint64_t off, unsigned int size, uint64_t val)
{
	dev_write(priv, off, size, val);
	if (val == 0xdead)
		mmio_trap_unmap(self_trap);
}

static void test_unmap_from_own_write(void **state)
{
	static const struct mmio_trap_ops ops = { .read = dev_read, .write = self_unmap_write };
	struct mmio_trap *other;
	void *where;
	uint8_t *p, *q;

	(void)state;
	dev_reset();
	assert_int_equal(mmio_trap_map(NULL, PG, 0, &ops, &dev, BASE_OFF, &self_trap, &where), 0);
	p = where;
	*(volatile uint32_t *)(p + 4) = 0xdead;
	barrier();
	assert_false(mapped(p));
	assert_int_equal(dev.nlog, 1);
	/* A later unmap elsewhere retires what the first could not free. */
	q = trap_new(1, &other);
	*(volatile uint8_t *)q = 1;
	mmio_trap_unmap(other);
}

/*
 * One thread unmaps a trap and waits for handlers while the handler of
 * another thread, inside its trap's write, unmaps that trap: neither may
 * wait for the other (a watchdog alarm kills the test if they do).
 */
static struct mmio_trap *slow_trap;
static atomic_int slow_phase;

static void slow_unmap_write(void *priv, uint64_t off, unsigned int size, uint64_t val)
{
	struct timespec t = { 0, 20 * 1000 * 1000 };

	dev_write(priv, off, size, val);
	atomic_store(&slow_phase, 1);
	nanosleep(&t, NULL);	/* the other thread is now waiting for us */
	mmio_trap_unmap(slow_trap);
	atomic_store(&slow_phase, 2);
}

static void *store_to_slow_trap(void *arg)
{
	*(volatile uint32_t *)arg = 1;
	return NULL;
}

static void test_unmap_from_op_while_unmapping(void **state)
{
	static const struct mmio_trap_ops ops = { .read = dev_read, .write = slow_unmap_write };
	struct mmio_trap *other;
	pthread_t tid;
	void *where;
	uint8_t *q;

	(void)state;
	dev_reset();
	dev.log_on = false;
	atomic_store(&slow_phase, 0);
	assert_int_equal(mmio_trap_map(NULL, PG, 0, &ops, &dev, BASE_OFF, &slow_trap, &where),
			 0);
	q = trap_new(1, &other);
	alarm(20);
	assert_int_equal(pthread_create(&tid, NULL, store_to_slow_trap, where), 0);
	while (atomic_load(&slow_phase) == 0)
		sched_yield();
	mmio_trap_unmap(other);
	/* Our unmap waited for the handler, which unmapped its own trap meanwhile. */
	assert_int_equal(atomic_load(&slow_phase), 2);
	pthread_join(tid, NULL);
	alarm(0);
	assert_false(mapped(where));
	assert_false(mapped(q));
}

/* ------------------------------------------------------ the uaccess guard */

static void test_uaccess_guard(void **state)
{
	struct uiommufd_host *host = uiommufd_host_inproc();
	struct mmio_trap *trap;
	uint8_t buf[16], *gone, *p;

	(void)state;
	dev_reset();
	p = trap_new(1, &trap);
	gone = map_pages(1);
	munmap(gone, PG);

	/* Bad pointers are still EFAULT with a trap in place. */
	assert_int_equal(host->ops->copy_from_user(host, buf, (uintptr_t)gone, 8), -EFAULT);
	assert_int_equal(host->ops->copy_to_user(host, (uintptr_t)gone, buf, 8), -EFAULT);
	assert_int_equal(dev.nlog, 0);

	/* Copies from and to a trap go through the device, as a read() into a BAR would. */
	memcpy(dev.regs, "0123456789abcdef", 16);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(host->ops->copy_from_user(host, buf, (uintptr_t)p, 16), 0);
	assert_memory_equal(buf, "0123456789abcdef", 16);
	assert_int_equal(host->ops->copy_to_user(host, (uintptr_t)p + 32, "ABCDEFGH", 8), 0);
	assert_memory_equal(dev.regs + 32, "ABCDEFGH", 8);
	assert_int_equal(atomic_load(&dev.bad_calls), 0);
	mmio_trap_unmap(trap);
	assert_int_equal(host->ops->copy_from_user(host, buf, (uintptr_t)p, 8), -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_args),
		cmocka_unit_test(test_decode_bytes),
		cmocka_unit_test(test_volatile_c),
		cmocka_unit_test(test_inline_asm),
		cmocka_unit_test(test_device_view),
		cmocka_unit_test(test_forms_match_cpu),
		cmocka_unit_test(test_vex_upper),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_unmap_while_accessing),
		cmocka_unit_test(test_forget_range),
		cmocka_unit_test(test_map_fixed_over_trap),
		cmocka_unit_test(test_unemulated_goes_to_program),
		cmocka_unit_test(test_unmap_from_own_write),
		cmocka_unit_test(test_unmap_from_op_while_unmapping),
		cmocka_unit_test(test_uaccess_guard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
