// SPDX-License-Identifier: MIT
/*
 * x86-64 decoding for MMIO emulation (see x86_decode.h).
 *
 * What is covered, and why: the register/memory moves a compiler emits for
 * a volatile access of 1, 2, 4 or 8 bytes, the zero/sign-extending loads,
 * the moffs forms, movnti, xchg, and the SSE moves, legacy or VEX, that
 * move 4, 8, 16 (or with VEX 32) bytes between memory and a vector register
 * (a compiler may route a 64-bit volatile copy through XMM).  Also the ALU
 * instructions with a memory operand (add, or, adc, sbb, and, sub, xor,
 * cmp, test): a compiler may fold a volatile load into "test $1, (reg)" or
 * "cmp (reg), %eax", a single access it is allowed to make.  Everything
 * else (string instructions, EVEX, cmpxchg, ...) is refused so that the
 * trap reports it instead of guessing.
 *
 * The encoding as the Intel SDM (vol. 2, chapter 2) describes it:
 *   [legacy prefixes] [REX] opcode [ModRM [SIB] [disp]] [imm]
 * - legacy prefixes in any order: 66 (operand size 16), 67 (address size
 *   32), F2/F3 (for SSE: they select the instruction), segment overrides
 *   (only FS 64 and GS 65 mean anything in 64-bit mode), F0 (lock);
 * - REX (40-4F) counts only right before the opcode: W = 64-bit operand
 *   (beats 66), R extends ModRM.reg, X SIB.index, B ModRM.rm or SIB.base.
 *   With any REX, byte registers 4-7 are SPL..DIL; without, AH..BH;
 * - ModRM: mod (2 bits) reg (3) rm (3).  mod 3 names a register (no memory
 *   here, so refused).  rm 4 brings a SIB byte: scale (2) index (3) base
 *   (3); index 4 (without REX.X) means none; base 5 with mod 0 means no
 *   base and a disp32.  rm 5 with mod 0 is RIP-relative disp32.  mod 1
 *   adds a disp8, mod 2 a disp32, both sign-extended.
 * - moffs (A0-A3) has no ModRM: an absolute address of 8 bytes (4 with 67).
 * - VEX (C4/C5) replaces REX and the mandatory prefix of SSE moves; a VEX
 *   load clears the register above what it loads, up to the widest vector
 *   length the CPU has (x86_insn.vex tells the emulator).
 */
#include <errno.h>
#include <string.h>

#include "host/x86_decode.h"

struct cursor {
	const uint8_t *code;
	size_t avail;
	size_t pos;
};

static int next_byte(struct cursor *c, uint8_t *b)
{
	if (c->pos >= c->avail || c->pos >= X86_MAX_INSN_LEN)
		return -EINVAL;
	*b = c->code[c->pos++];
	return 0;
}

/* Little-endian @n bytes, sign-extended from their top bit. */
static int next_signed(struct cursor *c, unsigned int n, int64_t *out)
{
	uint64_t v = 0;
	uint8_t b;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (next_byte(c, &b))
			return -EINVAL;
		v |= (uint64_t)b << (8 * i);
	}
	if (n < 8 && (v & (1ULL << (8 * n - 1))))
		v |= ~0ULL << (8 * n);
	*out = (int64_t)v;
	return 0;
}

struct prefixes {
	bool opsize;	/* 66 */
	bool addr32;	/* 67 */
	uint8_t rep;	/* 0, 0xF2 or 0xF3: the last one seen */
	uint8_t seg;
	uint8_t rex;	/* 0 or 0x40-0x4F */
};

#define REX_W 8
#define REX_R 4
#define REX_X 2
#define REX_B 1

static int read_prefixes(struct cursor *c, struct prefixes *p, uint8_t *opcode)
{
	uint8_t b;

	memset(p, 0, sizeof(*p));
	for (;;) {
		if (next_byte(c, &b))
			return -EINVAL;
		if ((b & 0xf0) == 0x40) {
			p->rex = b;
			continue;
		}
		switch (b) {
		case 0x66:
			p->opsize = true;
			break;
		case 0x67:
			p->addr32 = true;
			break;
		case 0xf2:
		case 0xf3:
			p->rep = b;
			break;
		case 0x64:
			p->seg = X86_SEG_FS;
			break;
		case 0x65:
			p->seg = X86_SEG_GS;
			break;
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
			/* Ignored in 64-bit mode (AMD APM vol. 3, 1.2.4): FS/GS stay. */
		case 0xf0:
			break;
		default:
			*opcode = b;
			return 0;
		}
		/* A legacy prefix after REX cancels it: REX must touch the opcode. */
		p->rex = 0;
	}
}

/* ModRM, SIB and displacement of a memory operand; the reg field in *@reg. */
static int read_modrm(struct cursor *c, const struct prefixes *p, struct x86_mem *m,
		      uint8_t *reg)
{
	uint8_t modrm, sib, mod, rm;
	int64_t disp = 0;

	if (next_byte(c, &modrm))
		return -EINVAL;
	mod = modrm >> 6;
	rm = modrm & 7;
	*reg = ((modrm >> 3) & 7) | ((p->rex & REX_R) ? 8 : 0);
	if (mod == 3)
		return -EOPNOTSUPP;

	m->base = -1;
	m->index = -1;
	m->scale = 1;
	m->rip = false;
	m->addr32 = p->addr32;
	m->seg = p->seg;
	if (rm == 4) {
		uint8_t index, base;

		if (next_byte(c, &sib))
			return -EINVAL;
		m->scale = 1 << (sib >> 6);
		index = ((sib >> 3) & 7) | ((p->rex & REX_X) ? 8 : 0);
		if (index != 4)
			m->index = index;
		base = sib & 7;
		if (base == 5 && mod == 0) {
			if (next_signed(c, 4, &disp))
				return -EINVAL;
		} else {
			m->base = base | ((p->rex & REX_B) ? 8 : 0);
		}
	} else if (rm == 5 && mod == 0) {
		m->rip = true;
		if (next_signed(c, 4, &disp))
			return -EINVAL;
	} else {
		m->base = rm | ((p->rex & REX_B) ? 8 : 0);
	}
	if (mod == 1 && next_signed(c, 1, &disp))
		return -EINVAL;
	if (mod == 2 && next_signed(c, 4, &disp))
		return -EINVAL;
	m->disp = disp;
	return 0;
}

static unsigned int operand_size(const struct prefixes *p)
{
	if (p->rex & REX_W)
		return 8;
	return p->opsize ? 2 : 4;
}

/* A GPR operand from the reg field (or AL/rAX): byte registers need care. */
static void set_gpr(struct x86_insn *insn, const struct prefixes *p, uint8_t reg,
		    unsigned int size)
{
	insn->regfile = X86_REG_GPR;
	insn->reg = reg;
	insn->reg_size = size;
	if (size == 1 && !p->rex && reg >= 4 && reg < 8) {
		insn->high8 = true;
		insn->reg = reg - 4;
	}
}

/* An immediate of @n bytes, sign-extended to and truncated at @size. */
static int read_imm(struct cursor *c, unsigned int n, unsigned int size, uint64_t *imm)
{
	int64_t v;

	if (next_signed(c, n, &v))
		return -EINVAL;
	*imm = size == 8 ? (uint64_t)v : (uint64_t)v & ((1ULL << (8 * size)) - 1);
	return 0;
}

/*
 * The ALU family: op r/m, r and op r, r/m (00-3B, low bits 0-3), the
 * immediate groups 80/81/83, test (84/85, F6/F7 /0 and its alias /1).
 */
static int decode_alu(struct cursor *c, const struct prefixes *p, uint8_t op,
		      struct x86_insn *insn)
{
	unsigned int osize = operand_size(p), imm_len;
	uint8_t reg;
	int ret;

	ret = read_modrm(c, p, &insn->mem, &reg);
	if (ret)
		return ret;
	insn->access = X86_ALU;
	insn->size = (op & 1) ? osize : 1;
	if (op < 0x40) {
		insn->alu = op >> 3;
		/* Bit 1 set: the register is the destination. */
		insn->alu_mem_first = !(op & 2);
		set_gpr(insn, p, reg, insn->size);
		return 0;
	}
	if (op == 0x84 || op == 0x85) {
		insn->alu = X86_ALU_TEST;
		insn->alu_mem_first = true;
		set_gpr(insn, p, reg, insn->size);
		return 0;
	}
	if (op == 0xf6 || op == 0xf7) {
		if ((reg & 7) > 1)
			return -EOPNOTSUPP;	/* not, neg, mul, imul, div, idiv */
		insn->alu = X86_ALU_TEST;
	} else {
		insn->alu = reg & 7;
	}
	/* 83 takes an imm8; the others imm8 for bytes, imm16 with 66, else imm32. */
	imm_len = op == 0x83 || insn->size == 1 ? 1 : insn->size == 2 ? 2 : 4;
	insn->alu_mem_first = true;
	insn->regfile = X86_REG_NONE;
	return read_imm(c, imm_len, insn->size, &insn->imm);
}

/* One-byte opcodes. */
static int decode_primary(struct cursor *c, const struct prefixes *p, uint8_t op,
			  struct x86_insn *insn)
{
	unsigned int osize = operand_size(p);
	uint8_t reg;
	int64_t v;
	int ret;

	if ((op < 0x40 && (op & 7) < 4) || (op >= 0x80 && op <= 0x85 && op != 0x82) ||
	    op == 0xf6 || op == 0xf7)
		return decode_alu(c, p, op, insn);
	switch (op) {
	case 0x88:	/* mov r/m8, r8 */
	case 0x89:	/* mov r/m, r */
	case 0x8a:	/* mov r8, r/m8 */
	case 0x8b:	/* mov r, r/m */
	case 0x86:	/* xchg r/m8, r8 */
	case 0x87:	/* xchg r/m, r */
		ret = read_modrm(c, p, &insn->mem, &reg);
		if (ret)
			return ret;
		insn->size = (op & 1) ? osize : 1;
		insn->access = op <= 0x87 ? X86_XCHG : (op & 2) ? X86_LOAD : X86_STORE;
		set_gpr(insn, p, reg, insn->size);
		return 0;
	case 0xc6:	/* mov r/m8, imm8 */
	case 0xc7:	/* mov r/m, imm16/32 (sign-extended to 64 with REX.W) */
		ret = read_modrm(c, p, &insn->mem, &reg);
		if (ret)
			return ret;
		if ((reg & 7) != 0)
			return -EOPNOTSUPP;
		insn->size = op == 0xc6 ? 1 : osize;
		insn->access = X86_STORE;
		insn->regfile = X86_REG_NONE;
		return read_imm(c, insn->size == 8 ? 4 : insn->size, insn->size, &insn->imm);
	case 0x63:	/* movsxd r, r/m32 (a plain 32-bit move without REX.W) */
		ret = read_modrm(c, p, &insn->mem, &reg);
		if (ret)
			return ret;
		insn->access = X86_LOAD;
		insn->size = osize == 2 ? 2 : 4;
		set_gpr(insn, p, reg, osize);
		insn->ext = osize == 8 ? X86_EXT_SIGN : X86_EXT_NONE;
		return 0;
	case 0xa0:	/* mov al, moffs8 */
	case 0xa1:	/* mov rAX, moffs */
	case 0xa2:	/* mov moffs8, al */
	case 0xa3:	/* mov moffs, rAX */
		if (next_signed(c, p->addr32 ? 4 : 8, &v))
			return -EINVAL;
		insn->mem.base = -1;
		insn->mem.index = -1;
		insn->mem.scale = 1;
		insn->mem.rip = false;
		insn->mem.addr32 = p->addr32;
		insn->mem.seg = p->seg;
		insn->mem.disp = p->addr32 ? (int64_t)(uint32_t)v : v;
		insn->size = (op & 1) ? osize : 1;
		insn->access = (op & 2) ? X86_STORE : X86_LOAD;
		/* AL/rAX: register 0, never AH. */
		insn->regfile = X86_REG_GPR;
		insn->reg = 0;
		insn->reg_size = insn->size;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * SSE moves with a memory operand: size, direction, lane.  @vex_l is -1 for
 * the legacy encoding, else VEX.L (0: 128-bit, 1: 256-bit).
 */
static int decode_sse(struct cursor *c, const struct prefixes *p, uint8_t op,
		      struct x86_insn *insn, int vex_l)
{
	/* The mandatory prefix: F2/F3 take precedence over 66. */
	uint8_t mp = p->rep ? p->rep : p->opsize ? 0x66 : 0;
	unsigned int size = 0, lane = 0;
	bool zero_rest = false;
	int access = -1;
	uint8_t reg;
	int ret;

	switch (op) {
	case 0x10:	/* movups/movupd/movss/movsd xmm, m */
	case 0x11:	/* the stores */
		access = op == 0x10 ? X86_LOAD : X86_STORE;
		size = mp == 0xf3 ? 4 : mp == 0xf2 ? 8 : 16;
		zero_rest = size < 16;
		break;
	case 0x12:	/* movlps/movlpd xmm, m64: the high half stays */
	case 0x13:
	case 0x16:	/* movhps/movhpd xmm, m64: into the high half */
	case 0x17:
		if (mp != 0 && mp != 0x66)
			return -EOPNOTSUPP;	/* movddup, movsldup, movshdup */
		access = (op & 1) ? X86_STORE : X86_LOAD;
		size = 8;
		lane = op >= 0x16 ? 8 : 0;
		break;
	case 0x28:	/* movaps/movapd */
	case 0x29:
	case 0x2b:	/* movntps/movntpd */
		if (mp != 0 && mp != 0x66)
			return -EOPNOTSUPP;
		access = op == 0x28 ? X86_LOAD : X86_STORE;
		size = 16;
		break;
	case 0x6f:	/* movdqa (66) / movdqu (F3) */
	case 0x7f:
		if (mp != 0x66 && mp != 0xf3)
			return -EOPNOTSUPP;	/* MMX movq */
		access = op == 0x6f ? X86_LOAD : X86_STORE;
		size = 16;
		break;
	case 0x6e:	/* 66: movd/movq xmm, r/m32/64 */
		if (mp != 0x66)
			return -EOPNOTSUPP;
		access = X86_LOAD;
		size = (p->rex & REX_W) ? 8 : 4;
		zero_rest = true;
		break;
	case 0x7e:	/* 66: movd/movq r/m, xmm; F3: movq xmm, m64 */
		if (mp == 0x66) {
			access = X86_STORE;
			size = (p->rex & REX_W) ? 8 : 4;
		} else if (mp == 0xf3) {
			access = X86_LOAD;
			size = 8;
			zero_rest = true;
		} else {
			return -EOPNOTSUPP;
		}
		break;
	case 0xd6:	/* 66: movq m64, xmm */
		if (mp != 0x66)
			return -EOPNOTSUPP;
		access = X86_STORE;
		size = 8;
		break;
	case 0xe7:	/* 66: movntdq */
		if (mp != 0x66)
			return -EOPNOTSUPP;
		access = X86_STORE;
		size = 16;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (vex_l >= 0) {
		/* VEX movlps/movhps merge with a third register: not a plain move. */
		if (op == 0x12 || op == 0x13 || op == 0x16 || op == 0x17)
			return -EOPNOTSUPP;
		/* VEX.256: full-width moves double; movd/movq have no 256-bit form. */
		if (vex_l == 1 && size == 16)
			size = 32;
		else if (vex_l == 1 && (op == 0x6e || op == 0x7e || op == 0xd6))
			return -EOPNOTSUPP;
	}
	ret = read_modrm(c, p, &insn->mem, &reg);
	if (ret)
		return ret;
	insn->access = access;
	insn->size = size;
	insn->vex = vex_l >= 0;
	insn->regfile = X86_REG_XMM;
	insn->reg = reg;
	insn->reg_size = size;
	insn->xmm_lane = lane;
	insn->xmm_zero_rest = zero_rest;
	return 0;
}

/* Two-byte opcodes (0F xx). */
static int decode_0f(struct cursor *c, const struct prefixes *p, uint8_t op,
		     struct x86_insn *insn)
{
	uint8_t reg;
	int ret;

	switch (op) {
	case 0xb6:	/* movzx r, r/m8 */
	case 0xb7:	/* movzx r, r/m16 */
	case 0xbe:	/* movsx r, r/m8 */
	case 0xbf:	/* movsx r, r/m16 */
		ret = read_modrm(c, p, &insn->mem, &reg);
		if (ret)
			return ret;
		insn->access = X86_LOAD;
		insn->size = (op & 1) ? 2 : 1;
		/* The destination is never a byte register: no AH..BH here. */
		insn->regfile = X86_REG_GPR;
		insn->reg = reg;
		insn->reg_size = operand_size(p);
		insn->ext = op >= 0xbe ? X86_EXT_SIGN : X86_EXT_ZERO;
		return 0;
	case 0xc3:	/* movnti m32/m64, r32/r64 */
		if (p->opsize || p->rep)
			return -EOPNOTSUPP;
		ret = read_modrm(c, p, &insn->mem, &reg);
		if (ret)
			return ret;
		insn->access = X86_STORE;
		insn->size = (p->rex & REX_W) ? 8 : 4;
		insn->regfile = X86_REG_GPR;
		insn->reg = reg;
		insn->reg_size = insn->size;
		return 0;
	default:
		return decode_sse(c, p, op, insn, -1);
	}
}

/*
 * VEX (C5: 2 bytes, C4: 3 bytes; never LES/LDS in 64-bit mode).  C5 xx:
 * ~R, ~vvvv, L, pp.  C4 xx yy: ~R ~X ~B and the opcode map (1 = 0F), then
 * W, ~vvvv, L, pp.  pp stands for the mandatory prefix (none, 66, F3, F2);
 * a real 66/F2/F3/REX before VEX is invalid.  The moves here take no
 * second source, so vvvv must be 1111.
 */
static int decode_vex(struct cursor *c, const struct prefixes *legacy, uint8_t op,
		      struct x86_insn *insn)
{
	static const uint8_t pp_prefix[4] = { 0, 0x66, 0xf3, 0xf2 };
	struct prefixes p = *legacy;
	uint8_t b1, b2, opc;

	if (legacy->opsize || legacy->rep || legacy->rex)
		return -EOPNOTSUPP;
	if (next_byte(c, &b1))
		return -EINVAL;
	if (op == 0xc5) {
		b2 = b1;
		p.rex = 0x40 | ((b1 & 0x80) ? 0 : REX_R);
	} else {
		if (next_byte(c, &b2))
			return -EINVAL;
		if ((b1 & 0x1f) != 1)
			return -EOPNOTSUPP;	/* the 0F38 and 0F3A maps */
		p.rex = 0x40 | ((b1 & 0x80) ? 0 : REX_R) | ((b1 & 0x40) ? 0 : REX_X) |
			((b1 & 0x20) ? 0 : REX_B) | ((b2 & 0x80) ? REX_W : 0);
	}
	if (((b2 >> 3) & 15) != 15)
		return -EOPNOTSUPP;
	p.opsize = (b2 & 3) == 1;
	p.rep = pp_prefix[b2 & 3] == 0x66 ? 0 : pp_prefix[b2 & 3];
	if (next_byte(c, &opc))
		return -EINVAL;
	insn->opcode[1] = opc;
	insn->opcode_len = 2;
	return decode_sse(c, &p, opc, insn, (b2 >> 2) & 1);
}

int x86_decode(const uint8_t *code, size_t avail, struct x86_insn *insn)
{
	struct cursor c = { .code = code, .avail = avail };
	struct prefixes p;
	uint8_t op, op2;
	int ret;

	memset(insn, 0, sizeof(*insn));
	ret = read_prefixes(&c, &p, &op);
	if (ret)
		return ret;
	insn->opcode[0] = op;
	insn->opcode_len = 1;
	if (op == 0xc4 || op == 0xc5) {
		ret = decode_vex(&c, &p, op, insn);
	} else if (op == 0x0f) {
		if (next_byte(&c, &op2))
			return -EINVAL;
		insn->opcode[1] = op2;
		insn->opcode_len = 2;
		ret = decode_0f(&c, &p, op2, insn);
	} else {
		ret = decode_primary(&c, &p, op, insn);
	}
	if (ret)
		return ret;
	insn->len = (uint8_t)c.pos;
	return 0;
}

uint64_t x86_mem_addr(const struct x86_mem *mem, const uint64_t gpr[16], uint64_t next_rip)
{
	uint64_t a = (uint64_t)mem->disp;

	if (mem->rip)
		a += next_rip;
	if (mem->base >= 0)
		a += gpr[mem->base];
	if (mem->index >= 0)
		a += gpr[mem->index] * mem->scale;
	return mem->addr32 ? (uint32_t)a : a;
}
