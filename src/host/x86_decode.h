/* SPDX-License-Identifier: MIT */
/*
 * Decoding of the x86-64 instructions that move data between a register
 * (or an immediate) and memory, as an MMIO trap needs them: what is read or
 * written, how many bytes, which register takes or gives the value, how the
 * memory address is formed, and how long the instruction is.  Pure: it
 * knows nothing of signals or traps, so it is tested on byte sequences.
 */
#ifndef UIOMMUFD_HOST_X86_DECODE_H
#define UIOMMUFD_HOST_X86_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The architectural limit on an instruction's length. */
#define X86_MAX_INSN_LEN 15

enum x86_access {
	X86_LOAD,	/* memory -> register */
	X86_STORE,	/* register or immediate -> memory */
	X86_XCHG,	/* both: the old memory value lands in the register */
	X86_ALU,	/* arithmetic/logic with a memory operand (see alu) */
};

/* The ALU operations, numbered as in the opcode map (00-3F, 80-83 /n). */
enum x86_alu {
	X86_ALU_ADD,
	X86_ALU_OR,
	X86_ALU_ADC,
	X86_ALU_SBB,
	X86_ALU_AND,
	X86_ALU_SUB,
	X86_ALU_XOR,
	X86_ALU_CMP,
	X86_ALU_TEST,	/* 84/85, F6/F7 /0 */
};

enum x86_regfile {
	X86_REG_NONE,	/* a store of an immediate */
	X86_REG_GPR,
	X86_REG_XMM,
};

enum x86_ext {
	X86_EXT_NONE,	/* size == reg_size */
	X86_EXT_ZERO,	/* movzx */
	X86_EXT_SIGN,	/* movsx, movsxd */
};

enum x86_seg {
	X86_SEG_FLAT,	/* no override, or one that is flat in 64-bit mode */
	X86_SEG_FS,
	X86_SEG_GS,
};

/* How the memory operand's address is formed. */
struct x86_mem {
	int8_t base;	/* GPR number 0-15, or -1 */
	int8_t index;	/* GPR number 0-15, or -1 */
	uint8_t scale;	/* 1, 2, 4 or 8 */
	bool rip;	/* disp counts from the end of the instruction */
	bool addr32;	/* 0x67: the address wraps at 32 bits */
	uint8_t seg;	/* enum x86_seg; FS/GS bases are not part of x86_mem_addr() */
	int64_t disp;	/* or the absolute address of a moffs form */
};

struct x86_insn {
	uint8_t len;		/* bytes, prefixes included */
	uint8_t access;		/* enum x86_access */
	uint8_t size;		/* bytes of memory touched: 1, 2, 4, 8, 16 or 32 */
	uint8_t regfile;	/* enum x86_regfile */
	uint8_t reg;		/* register number 0-15 */
	bool high8;		/* AH, CH, DH or BH (reg is then 0-3) */
	uint8_t reg_size;	/* GPR bytes a load writes (movzx/movsx: wider than size) */
	uint8_t ext;		/* enum x86_ext */
	/*
	 * XMM: the byte of the register the memory data starts at (8 for
	 * movhps), and whether a load clears the rest of the low 128 bits
	 * (movd, movq, movss, movsd) or leaves it (movlps, movhps).
	 */
	uint8_t xmm_lane;
	bool xmm_zero_rest;
	/*
	 * VEX-encoded: a load also clears the register above bit 127 (YMM,
	 * ZMM upper parts); size may be 32 (a YMM register).
	 */
	bool vex;
	/*
	 * X86_ALU: the operation, and whether memory is its first operand
	 * (the destination, or the left side of cmp/test) with the register
	 * or immediate second; otherwise the register is first.  CMP and TEST
	 * write only the flags.
	 */
	uint8_t alu;
	bool alu_mem_first;
	uint64_t imm;		/* an immediate, already extended to size */
	struct x86_mem mem;
	uint8_t opcode[3];	/* the opcode bytes, for messages */
	uint8_t opcode_len;
};

/*
 * Decode the instruction at @code, of which @avail bytes may be read; bytes
 * are read in order and never past the end of the instruction.  Returns 0
 * with *@insn filled, -EOPNOTSUPP for an instruction outside the supported
 * set (or one without a memory operand), -EINVAL for a truncated or
 * over-long one.
 */
int x86_decode(const uint8_t *code, size_t avail, struct x86_insn *insn);

/*
 * The address of the memory operand from the general registers (indexed by
 * x86 register number: RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8-R15) and
 * the address of the next instruction.  A segment base is not added.
 */
uint64_t x86_mem_addr(const struct x86_mem *mem, const uint64_t gpr[16], uint64_t next_rip);

#endif
