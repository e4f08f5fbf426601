// SPDX-License-Identifier: MIT
/*
 * The I/OAT model (src/devices/ioat.c) driven as Linux's ioatdma and
 * DPDK's ioat dmadev drive the hardware, through a fake devmodel_bus: a
 * plain buffer standing for memory at bus address MEM_BASE, with holes
 * that fault, a call counter and an interrupt counter.  The last test
 * puts a real mock IOMMU domain behind the bus.  Every expectation is a
 * rule of docs/devices/ioat.md.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#include "core/iommufd_private.h"
#include "devices/ioat_hw.h"
#include "devices/model.h"
#include "iommu/iommu.h"

#define MEM_BASE 0x10000000ull
#define MEM_SIZE (4u << 20)
#define RING	 (MEM_BASE + 0x1000)	/* descriptor ring */
#define COMPL	 (MEM_BASE + 0x800)	/* completion word */
#define DATA	 (MEM_BASE + 0x100000)	/* buffers */
#define HOLE	 0x7000000000ull	/* faults */
#define CH	 IOAT_CHAN_BASE

struct fake {
	uint8_t *mem;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned long calls;
	unsigned long irqs;
	unsigned long copies;		/* bus->copy calls (bus made by setup_copy) */
	unsigned int last_vector;
	unsigned int delay_us;		/* per DMA call, to make descriptors slow */
	uint64_t ro_start, ro_end;	/* writes fault here */
	bool dead;			/* set after destroy: no call may come */
	bool called_dead;
	/* Set: DMA goes through this IOMMU-bound device instead of mem. */
	struct uiommufd_ctx *ctx;
	uint32_t idev;
	const struct devmodel_type *t;
	void *m;
};

static int fake_dma(void *opaque, uint64_t iova, void *buf, size_t len, bool write)
{
	struct fake *f = opaque;
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	f->calls++;
	if (f->dead)
		f->called_dead = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (__atomic_load_n(&f->delay_us, __ATOMIC_RELAXED))
		usleep(__atomic_load_n(&f->delay_us, __ATOMIC_RELAXED));
	if (f->ctx)
		return uiommufd_device_dma(f->ctx, f->idev, iova, buf, len,
					   write ? UIOMMUFD_DMA_WRITE : 0);
	if (iova < MEM_BASE || iova + len > MEM_BASE + MEM_SIZE || iova + len < iova)
		return -EFAULT;
	if (write && iova < f->ro_end && iova + len > f->ro_start)
		return -EPERM;
	if (write)
		memcpy(f->mem + (iova - MEM_BASE), buf, len);
	else
		memcpy(buf, f->mem + (iova - MEM_BASE), len);
	return rc;
}

/*
 * The bus's copy, as the vfio-pci layer offers it: the source checked for
 * reads, the destination for writes, no bounce.  The holes and the
 * read-only window are fake_dma's; a fault copies nothing here.
 */
static int fake_copy(void *opaque, uint64_t dst, uint64_t src, size_t len, size_t *done_out,
		     bool *dst_fault_out)
{
	struct fake *f = opaque;
	size_t done_here, *done = done_out ? done_out : &done_here;	/* both may be NULL */
	bool side_here, *dst_fault = dst_fault_out ? dst_fault_out : &side_here;

	pthread_mutex_lock(&f->lock);
	f->calls++;
	f->copies++;
	if (f->dead)
		f->called_dead = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (__atomic_load_n(&f->delay_us, __ATOMIC_RELAXED))
		usleep(__atomic_load_n(&f->delay_us, __ATOMIC_RELAXED));
	*done = 0;
	*dst_fault = false;
	if (src < MEM_BASE || src + len > MEM_BASE + MEM_SIZE || src + len < src)
		return -EFAULT;
	*dst_fault = true;
	if (dst < MEM_BASE || dst + len > MEM_BASE + MEM_SIZE || dst + len < dst)
		return -EFAULT;
	if (dst < f->ro_end && dst + len > f->ro_start)
		return -EPERM;
	*dst_fault = false;
	memmove(f->mem + (dst - MEM_BASE), f->mem + (src - MEM_BASE), len);
	*done = len;
	return 0;
}

static void fake_irq(void *opaque, unsigned int vector)
{
	struct fake *f = opaque;

	pthread_mutex_lock(&f->lock);
	if (f->dead)
		f->called_dead = true;
	f->irqs++;
	f->last_vector = vector;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static void *at(struct fake *f, uint64_t addr)
{
	return f->mem + (addr - MEM_BASE);
}

/* ---- register access as a driver does it */

static uint64_t rd(struct fake *f, uint64_t off, unsigned int size)
{
	return f->t->bar_read(f->m, 0, off, size);
}

static void wr(struct fake *f, uint64_t off, unsigned int size, uint64_t val)
{
	f->t->bar_write(f->m, 0, off, size, val);
}

static uint64_t chansts(struct fake *f)
{
	return rd(f, CH + IOAT_C_CHANSTS, 8);
}

static uint64_t compl_word(struct fake *f)
{
	return __atomic_load_n((uint64_t *)at(f, COMPL), __ATOMIC_ACQUIRE);
}

/* A descriptor at bus address @addr. */
static void put_desc_at(struct fake *f, uint64_t addr, uint32_t size, uint32_t ctl, uint64_t src,
			uint64_t dst, uint64_t next)
{
	uint8_t *d = at(f, addr);

	memset(d, 0, 64);
	memcpy(d + IOAT_D_SIZE, &size, 4);
	memcpy(d + IOAT_D_CTL, &ctl, 4);
	memcpy(d + IOAT_D_SRC, &src, 8);
	memcpy(d + IOAT_D_DST, &dst, 8);
	memcpy(d + IOAT_D_NEXT, &next, 8);
}

/* Slot @i of a ring of @nr at RING, linked to the next slot. */
static void put_desc(struct fake *f, unsigned int i, unsigned int nr, uint32_t size, uint32_t ctl,
		     uint64_t src, uint64_t dst)
{
	put_desc_at(f, RING + (uint64_t)i * 64, size, ctl, src, dst,
		    RING + (uint64_t)((i + 1) % nr) * 64);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Poll (as DPDK does) until the completion word equals @want; false on timeout. */
static bool wait_compl(struct fake *f, uint64_t want)
{
	uint64_t end = now_ms() + 5000;

	while (compl_word(f) != want) {
		if (now_ms() > end)
			return false;
		usleep(50);
	}
	return true;
}

static bool wait_irqs(struct fake *f, unsigned long n, unsigned int ms)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&f->lock);
	while (f->irqs < n && pthread_cond_timedwait(&f->cond, &f->lock, &ts) == 0)
		;
	ok = f->irqs >= n;
	pthread_mutex_unlock(&f->lock);
	return ok;
}

static unsigned long irqs(struct fake *f)
{
	unsigned long n;

	pthread_mutex_lock(&f->lock);
	n = f->irqs;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static unsigned long calls(struct fake *f)
{
	unsigned long n;

	pthread_mutex_lock(&f->lock);
	n = f->calls;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static int setup_bus(void **state, bool with_copy)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct devmodel_bus bus = { .dma = fake_dma, .irq = fake_irq };

	if (with_copy)
		bus.copy = fake_copy;

	if (!f)
		return -1;
	f->mem = calloc(1, MEM_SIZE);
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->t = devmodel_find("ioat");
	bus.opaque = f;
	if (!f->mem || !f->t || f->t->create(&bus, "", &f->m))
		return -1;
	*state = f;
	return 0;
}

/* The model on a bus with no copy: copy descriptors go through its bounce buffer. */
static int setup(void **state)
{
	return setup_bus(state, false);
}

/* The model on a bus offering copy, as the vfio-pci layer's does. */
static int setup_copy(void **state)
{
	return setup_bus(state, true);
}

static int teardown(void **state)
{
	struct fake *f = *state;

	if (f->m)
		f->t->destroy(f->m);
	pthread_mutex_lock(&f->lock);
	f->dead = true;
	pthread_mutex_unlock(&f->lock);
	usleep(1000);
	assert_false(f->called_dead);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f->mem);
	free(f);
	return 0;
}

/* Linux's channel bring-up: reset, CHANCTRL, CHANCMP in halves, then a chain. */
static void linux_start(struct fake *f, uint64_t chain)
{
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_SUSPEND);
	wr(f, CH + IOAT_C_CHANERR, 4, rd(f, CH + IOAT_C_CHANERR, 4));
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_RESET);
	assert_int_equal(rd(f, CH + IOAT_C_CHANCMD, 1) & IOAT_CMD_RESET, 0);
	wr(f, IOAT_R_INTRCTRL, 1, IOAT_INTRCTRL_MASTER | IOAT_INTRCTRL_MSIX_VC);
	wr(f, CH + IOAT_C_CHANCTRL, 2,
	   IOAT_CTRL_REARM | IOAT_CTRL_ERR_INT | IOAT_CTRL_ERR_COMPL | IOAT_CTRL_ERR_ABORT);
	wr(f, CH + IOAT_C_CHANCMP, 4, COMPL & 0xffffffff);
	wr(f, CH + IOAT_C_CHANCMP + 4, 4, COMPL >> 32);
	wr(f, CH + IOAT_C_CHAINADDR, 4, chain & 0xffffffff);
	wr(f, CH + IOAT_C_CHAINADDR + 4, 4, chain >> 32);
}

/* DPDK's: CHAINADDR, CHANCMP as 64-bit stores, abort + completion on error. */
static void dpdk_start(struct fake *f, uint64_t chain)
{
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_SUSPEND);
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_RESET);
	wr(f, CH + IOAT_C_CHANCTRL, 2, IOAT_CTRL_ERR_ABORT | IOAT_CTRL_ERR_COMPL);
	wr(f, CH + IOAT_C_CHAINADDR, 8, chain);
	wr(f, CH + IOAT_C_CHANCMP, 8, COMPL);
}

/* ------------------------------------------------------------- tests */

static void test_identity(void **state)
{
	struct fake *f = *state;
	const struct devmodel_type *t = f->t;
	struct devmodel_bus bus = { .opaque = f, .dma = fake_dma, .irq = fake_irq };
	void *m = NULL;

	assert_ptr_equal(devmodel_types[0], &ioat_devmodel_type);
	assert_null(devmodel_types[1]);
	assert_ptr_equal(t, &ioat_devmodel_type);
	assert_null(devmodel_find("nvme-nope"));
	assert_null(devmodel_find(NULL));
	assert_string_equal(t->name, "ioat");
	assert_int_equal(t->vendor, 0x8086);
	assert_int_equal(t->device, 0x2021);
	assert_int_equal(t->class_code, 0x088000);
	assert_int_equal(t->bars[0].size, 16384);
	assert_true(t->bars[0].mem64);
	for (int i = 1; i < 6; i++)
		assert_int_equal(t->bars[i].size, 0);
	assert_int_equal(t->caps.msix_vectors, 1);
	assert_int_equal(t->caps.msix_bar, 0);
	assert_true(t->caps.msix_table_off >= 0x100 && t->caps.msix_table_off < 16384);
	assert_true(t->caps.msix_pba_off >= 0x100 && t->caps.msix_pba_off < 16384);
	assert_int_not_equal(t->caps.pcie, 0);
	assert_int_equal(t->create(&bus, "bogus=1", &m), -EINVAL);
	assert_null(m);

	assert_int_equal(rd(f, IOAT_R_CHANCNT, 1), 1);
	assert_int_equal(rd(f, IOAT_R_XFERCAP, 1), 20);
	assert_int_equal(rd(f, IOAT_R_CBVER, 1), 0x33);
	assert_int_equal(rd(f, IOAT_R_DMACAP, 4) & (IOAT_DMACAP_XOR | IOAT_DMACAP_PQ | 0x10), 0);
	assert_int_equal(rd(f, IOAT_R_DCAOFFSET, 2), 0);
	assert_int_equal(rd(f, CH + IOAT_C_DMACOMP, 2), 2);
	/* Power-on: halted, nothing completed, no error. */
	assert_int_equal(chansts(f), IOAT_ST_HALTED);
	assert_int_equal(rd(f, CH + IOAT_C_CHANERR, 4), 0);
	/* A wide read covers several registers; a narrow one part of one. */
	assert_int_equal(rd(f, 0, 4), 1 | 20 << 8);
	assert_int_equal(rd(f, CH + IOAT_C_CHANSTS, 1), 3);
	assert_int_equal(rd(f, CH + IOAT_C_CHANSTS + 4, 4), 0);
	/* Holes and out of range read 0, writes there do nothing. */
	assert_int_equal(rd(f, 0x40, 4), 0);
	assert_int_equal(rd(f, 0x200, 8), 0);
	assert_int_equal(rd(f, 16384, 4), 0);
	assert_int_equal(f->t->bar_read(f->m, 1, 0, 4), 0);
	wr(f, 0x40, 4, 0xffffffff);
	wr(f, IOAT_R_CBVER, 1, 0x12);
	assert_int_equal(rd(f, IOAT_R_CBVER, 1), 0x33);
	/* Registers keep what software writes. */
	wr(f, CH + IOAT_C_DCACTRL, 4, 0xffffffff);
	assert_int_equal(rd(f, CH + IOAT_C_DCACTRL, 4), 0xffffffff);
	wr(f, CH + IOAT_C_CHANERR_MASK, 2, 0x3e07);
	assert_int_equal(rd(f, CH + IOAT_C_CHANERR_MASK, 4), 0x3e07);
	assert_int_equal(calls(f), 0);
}

static void test_config_registers(void **state)
{
	struct fake *f = *state;
	uint32_t v = 1;

	assert_true(f->t->config_read(f->m, IOAT_CFG_CHANERR_INT, 4, &v));
	assert_int_equal(v, 0);
	assert_true(f->t->config_write(f->m, IOAT_CFG_CHANERR_INT, 4, 0xffffffff));
	assert_true(f->t->config_read(f->m, IOAT_CFG_CHANERR_INT, 4, &v));
	assert_int_equal(v, 0);
	assert_true(f->t->config_write(f->m, IOAT_CFG_UNCERR_STS, 4, 0x10));
	assert_true(f->t->config_read(f->m, IOAT_CFG_UNCERR_STS, 4, &v));
	assert_int_equal(v, 0);
	assert_true(f->t->config_write(f->m, IOAT_CFG_CHANERR_INT_MASK, 4, 0x3e07));
	assert_true(f->t->config_read(f->m, IOAT_CFG_CHANERR_INT_MASK, 4, &v));
	assert_int_equal(v, 0x3e07);
	assert_true(f->t->config_write(f->m, IOAT_CFG_CHANERR_INT_MASK + 1, 1, 0xaa));
	assert_true(f->t->config_read(f->m, IOAT_CFG_CHANERR_INT_MASK + 1, 1, &v));
	assert_int_equal(v, 0xaa);
	assert_true(f->t->config_read(f->m, IOAT_CFG_CHANERR_INT_MASK, 2, &v));
	assert_int_equal(v, 0xaa07);
	/* Not ours: the layer handles it. */
	assert_false(f->t->config_read(f->m, 0x40, 4, &v));
	assert_false(f->t->config_write(f->m, 0x100, 4, 0));
	assert_false(f->t->config_read(f->m, IOAT_CFG_CHANERR_INT + 2, 4, &v));
	/* Function reset clears the mask. */
	f->t->reset(f->m);
	assert_true(f->t->config_read(f->m, IOAT_CFG_CHANERR_INT_MASK, 4, &v));
	assert_int_equal(v, 0);
}

/* Linux's probe: null descriptor start, then ioat_dma_self_test's 2000-byte copy. */
static void test_linux_null_then_selftest_copy(void **state)
{
	struct fake *f = *state;
	const unsigned int nr = 16;
	uint8_t *src = at(f, DATA), *dst = at(f, DATA + 0x10000);
	uint64_t sts;

	for (unsigned int i = 0; i < 2000; i++)
		src[i] = (uint8_t)i;
	put_desc(f, 0, nr, 1, IOAT_DCTL_NULL | IOAT_DCTL_INT | IOAT_DCTL_COMPL, 0, 0);
	linux_start(f, RING);
	assert_int_equal(chansts(f), IOAT_ST_ARMED);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	/* Linux looks for active-or-idle right after the doorbell. */
	sts = chansts(f) & IOAT_STS_STATE_MASK;
	assert_true(sts == IOAT_ST_ACTIVE || sts == IOAT_ST_DONE);
	assert_true(wait_irqs(f, 1, 5000));
	assert_int_equal(f->last_vector, 0);
	assert_true(wait_compl(f, RING | IOAT_ST_DONE));
	assert_int_equal(chansts(f), RING | IOAT_ST_DONE);
	/* The interrupt consumed the arm bit; ATTNSTATUS says channel 0, once. */
	assert_int_equal(rd(f, CH + IOAT_C_CHANCTRL, 2) & IOAT_CTRL_REARM, 0);
	assert_true(rd(f, IOAT_R_INTRCTRL, 1) & IOAT_INTRCTRL_STATUS);
	assert_int_equal(rd(f, IOAT_R_ATTNSTATUS, 4), 1);
	assert_int_equal(rd(f, IOAT_R_ATTNSTATUS, 4), 0);
	assert_int_equal(rd(f, IOAT_R_INTRCTRL, 1) & IOAT_INTRCTRL_STATUS, 0);

	/* Cleanup re-arms; then the self-test copy. */
	wr(f, CH + IOAT_C_CHANCTRL, 2,
	   IOAT_CTRL_REARM | IOAT_CTRL_ERR_INT | IOAT_CTRL_ERR_COMPL | IOAT_CTRL_ERR_ABORT);
	put_desc(f, 1, nr, 2000, IOAT_DCTL_INT | IOAT_DCTL_COMPL, DATA, DATA + 0x10000);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 2);
	assert_true(wait_irqs(f, 2, 5000));
	assert_true(wait_compl(f, (RING + 64) | IOAT_ST_DONE));
	assert_memory_equal(src, dst, 2000);
	assert_int_equal(dst[2000], 0);
	assert_int_equal(rd(f, CH + IOAT_C_CDAR, 8), RING + 64);

	/* Not re-armed: the next completion's interrupt waits for the arm. */
	put_desc(f, 2, nr, 8, IOAT_DCTL_INT | IOAT_DCTL_COMPL, DATA, DATA + 0x20000);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 3);
	assert_true(wait_compl(f, (RING + 128) | IOAT_ST_DONE));
	usleep(20000);
	assert_int_equal(irqs(f), 2);
	wr(f, CH + IOAT_C_CHANCTRL, 2, IOAT_CTRL_REARM | IOAT_CTRL_ERR_INT | IOAT_CTRL_ERR_COMPL);
	assert_int_equal(irqs(f), 3);	/* signalled from the write itself */

	/* Linux's teardown: quiesce (suspend from idle), reset. */
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_SUSPEND);
	assert_int_equal(chansts(f) & IOAT_STS_STATE_MASK, IOAT_ST_SUSPENDED);
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_RESET);
	assert_int_equal(chansts(f), IOAT_ST_HALTED);
	assert_int_equal(rd(f, CH + IOAT_C_DMACOUNT, 2), 0);
}

static void test_master_enable_gates_interrupts(void **state)
{
	struct fake *f = *state;

	put_desc(f, 0, 4, 1, IOAT_DCTL_NULL | IOAT_DCTL_INT | IOAT_DCTL_COMPL, 0, 0);
	linux_start(f, RING);
	wr(f, IOAT_R_INTRCTRL, 1, 0);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	assert_true(wait_compl(f, RING | IOAT_ST_DONE));
	usleep(20000);
	assert_int_equal(irqs(f), 0);
	assert_int_equal(rd(f, IOAT_R_INTRCTRL, 1) & (IOAT_INTRCTRL_STATUS | IOAT_INTRCTRL_ASSERTED),
			 IOAT_INTRCTRL_STATUS);
	wr(f, IOAT_R_INTRCTRL, 1, IOAT_INTRCTRL_MASTER);
	assert_int_equal(irqs(f), 1);
	/* No descriptor interrupt bit: no interrupt. */
	wr(f, CH + IOAT_C_CHANCTRL, 2, IOAT_CTRL_REARM);
	put_desc(f, 1, 4, 1, IOAT_DCTL_NULL | IOAT_DCTL_COMPL, 0, 0);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 2);
	assert_true(wait_compl(f, (RING + 64) | IOAT_ST_DONE));
	usleep(20000);
	assert_int_equal(irqs(f), 1);
}

static void test_fill(void **state)
{
	struct fake *f = *state;
	const uint64_t pat = 0x0123456789abcdefull;
	uint8_t *dst = at(f, DATA);

	memset(dst, 0xee, 2048);
	put_desc(f, 0, 4, 1001, (IOAT_OP_FILL << IOAT_DCTL_OP_SHIFT) | IOAT_DCTL_COMPL, pat, DATA + 3);
	dpdk_start(f, RING);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	assert_true(wait_compl(f, RING | IOAT_ST_DONE));
	assert_int_equal(dst[2], 0xee);
	for (unsigned int i = 0; i < 1001; i++)
		assert_int_equal(dst[3 + i], (uint8_t)(pat >> (8 * (i % 8))));
	assert_int_equal(dst[3 + 1001], 0xee);
}

/* A long fill crosses chunk boundaries with the pattern in phase. */
static void test_large_fill_and_copy(void **state)
{
	struct fake *f = *state;
	const uint32_t len = 1u << 20;
	uint8_t *a = at(f, DATA), *b = at(f, DATA + len + 64);

	put_desc(f, 0, 4, len, (IOAT_OP_FILL << IOAT_DCTL_OP_SHIFT), 0x1122334455667788ull, DATA);
	put_desc(f, 1, 4, len, IOAT_DCTL_COMPL, DATA, DATA + len + 64);
	dpdk_start(f, RING);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 2);
	assert_true(wait_compl(f, (RING + 64) | IOAT_ST_DONE));
	for (uint32_t i = 0; i < len; i += 4093)
		assert_int_equal(a[i], (uint8_t)(0x1122334455667788ull >> (8 * (i % 8))));
	assert_memory_equal(a, b, len);
}

/* DPDK's ring: every descriptor writes a completion; the 16-bit count wraps. */
static void test_dpdk_ring_and_count_wrap(void **state)
{
	struct fake *f = *state;
	const unsigned int nr = 32, burst = 31;
	unsigned int write = 0;
	uint8_t *src = at(f, DATA), *dst = at(f, DATA + 0x10000);

	for (unsigned int i = 0; i < nr; i++)
		put_desc(f, i, nr, 8, IOAT_DCTL_COMPL, DATA + i * 8, DATA + 0x10000 + i * 8);
	dpdk_start(f, RING);
	assert_int_equal(chansts(f), IOAT_ST_ARMED);	/* exactly: DPDK compares all 64 bits */
	while (write < 70000) {
		for (unsigned int i = 0; i < burst; i++)
			memset(src + ((write + i) % nr) * 8, (uint8_t)(write + i), 8);
		write += burst;
		wr(f, CH + IOAT_C_DMACOUNT, 2, (uint16_t)write);
		assert_true(wait_compl(f, (RING + ((write - 1) % nr) * 64) | IOAT_ST_DONE));
		for (unsigned int i = write - burst; i < write; i++)
			assert_int_equal(dst[(i % nr) * 8], (uint8_t)i);
	}
	assert_int_equal(rd(f, CH + IOAT_C_CHANERR, 4), 0);
	/* Stop: suspend from idle is immediate. */
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_SUSPEND);
	assert_int_equal(chansts(f) & IOAT_STS_STATE_MASK, IOAT_ST_SUSPENDED);
}

/* A batch: a completion written while more is offered says ACTIVE, the last DONE. */
static void test_completion_status_in_batch(void **state)
{
	struct fake *f = *state;

	put_desc(f, 0, 4, 8, IOAT_DCTL_COMPL, DATA, DATA + 64);
	put_desc(f, 1, 4, 8, 0, DATA, DATA + 128);
	put_desc(f, 2, 4, 8, IOAT_DCTL_COMPL, DATA, DATA + 192);
	dpdk_start(f, RING);
	__atomic_store_n(&f->delay_us, 20000, __ATOMIC_RELAXED);	/* time to see the first completion */
	wr(f, CH + IOAT_C_DMACOUNT, 2, 3);
	assert_true(wait_compl(f, RING | IOAT_ST_ACTIVE));
	__atomic_store_n(&f->delay_us, 0, __ATOMIC_RELAXED);
	assert_true(wait_compl(f, (RING + 128) | IOAT_ST_DONE));
	assert_int_equal(rd(f, CH + IOAT_C_CHANSTS, 8), (RING + 128) | IOAT_ST_DONE);
}

/* Source fault: READ_DATA only, HALTED, the completion names the last good one. */
static void test_source_fault_and_dpdk_recovery(void **state)
{
	struct fake *f = *state;
	const unsigned int nr = 8;
	uint8_t *dst2 = at(f, DATA + 0x2000);

	memset(at(f, DATA), 0x11, 0x3000);
	memset(dst2, 0, 64);
	put_desc(f, 0, nr, 64, IOAT_DCTL_COMPL, DATA, DATA + 0x1000);
	put_desc(f, 1, nr, 64, IOAT_DCTL_COMPL, HOLE, DATA + 0x1800);
	put_desc(f, 2, nr, 64, IOAT_DCTL_COMPL, DATA, DATA + 0x2000);
	memset(at(f, DATA + 0x1800), 0, 64);
	dpdk_start(f, RING);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 3);
	assert_true(wait_compl(f, RING | IOAT_ST_HALTED));
	assert_int_equal(chansts(f), RING | IOAT_ST_HALTED);
	assert_int_equal(rd(f, CH + IOAT_C_CHANERR, 4), IOAT_ERR_READ_DATA);
	assert_int_equal(rd(f, CH + IOAT_C_CDAR, 8), RING + 64);
	usleep(20000);
	/* Nothing after the failing descriptor ran. */
	assert_int_equal(*(uint8_t *)at(f, DATA + 0x1800), 0);
	assert_int_equal(dst2[0], 0);
	/* No doorbell moves a halted channel. */
	wr(f, CH + IOAT_C_DMACOUNT, 2, 4);
	usleep(10000);
	assert_int_equal(chansts(f), RING | IOAT_ST_HALTED);

	/* DPDK's __ioat_recover. */
	wr(f, CH + IOAT_C_CHANERR, 4, rd(f, CH + IOAT_C_CHANERR, 4));
	assert_int_equal(rd(f, CH + IOAT_C_CHANERR, 4), 0);
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_RESET);
	assert_int_equal(chansts(f), IOAT_ST_HALTED);
	wr(f, CH + IOAT_C_CHAINADDR, 8, RING + 128);
	wr(f, CH + IOAT_C_CHANCTRL, 2, IOAT_CTRL_ERR_ABORT | IOAT_CTRL_ERR_COMPL);
	wr(f, CH + IOAT_C_CHANCMP, 8, COMPL);
	assert_int_equal(chansts(f), IOAT_ST_ARMED);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	assert_true(wait_compl(f, (RING + 128) | IOAT_ST_DONE));
	assert_int_equal(dst2[0], 0x11);
}

/* Destination fault with error interrupts on: WRITE_DATA, and the vector fires. */
static void test_dest_fault_interrupts(void **state)
{
	struct fake *f = *state;

	f->ro_start = DATA + 0x3000;
	f->ro_end = DATA + 0x4000;
	put_desc(f, 0, 4, 64, IOAT_DCTL_COMPL, DATA, DATA + 0x3000);
	linux_start(f, RING);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	/* The first descriptor of the chain failed: no completed address. */
	assert_true(wait_compl(f, IOAT_ST_HALTED));
	assert_true(wait_irqs(f, 1, 5000));
	assert_int_equal(rd(f, CH + IOAT_C_CHANERR, 4), IOAT_ERR_WRITE_DATA);

	/* Masked: recorded and halted, no interrupt. */
	wr(f, CH + IOAT_C_CHANERR_MASK, 4, IOAT_ERR_WRITE_DATA);
	linux_start(f, RING);
	memset(at(f, COMPL), 0, 8);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	assert_true(wait_compl(f, IOAT_ST_HALTED));
	usleep(20000);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, CH + IOAT_C_CHANERR, 4), IOAT_ERR_WRITE_DATA);

	/* Without ERR_COMPL the completion word stays as it was. */
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_RESET);
	wr(f, CH + IOAT_C_CHANCTRL, 2, IOAT_CTRL_ERR_ABORT);
	wr(f, CH + IOAT_C_CHAINADDR, 8, RING);
	memset(at(f, COMPL), 0xab, 8);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	for (int i = 0; i < 500 && (chansts(f) & 7) != IOAT_ST_HALTED; i++)
		usleep(1000);
	assert_int_equal(chansts(f), IOAT_ST_HALTED);
	assert_int_equal(compl_word(f), 0xababababababababull);
}

static uint32_t run_bad(struct fake *f, uint64_t chain)
{
	dpdk_start(f, chain);
	memset(at(f, COMPL), 0xcd, 8);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	for (int i = 0; i < 5000 && (chansts(f) & 7) != IOAT_ST_HALTED; i++)
		usleep(1000);
	assert_int_equal(chansts(f) & 7, IOAT_ST_HALTED);
	return (uint32_t)rd(f, CH + IOAT_C_CHANERR, 4);
}

static void test_descriptor_errors(void **state)
{
	struct fake *f = *state;

	put_desc(f, 0, 4, 64, (0x87u << IOAT_DCTL_OP_SHIFT) | IOAT_DCTL_COMPL, DATA, DATA + 64);
	assert_int_equal(run_bad(f, RING), IOAT_ERR_CONTROL);
	put_desc(f, 0, 4, 0, IOAT_DCTL_COMPL, DATA, DATA + 64);
	assert_int_equal(run_bad(f, RING), IOAT_ERR_LENGTH);
	put_desc(f, 0, 4, (1u << 20) + 1, IOAT_DCTL_COMPL, DATA, DATA + 64);
	assert_int_equal(run_bad(f, RING), IOAT_ERR_LENGTH);
	assert_int_equal(run_bad(f, RING + 8), IOAT_ERR_DESC_ALIGN);
	assert_int_equal(run_bad(f, HOLE), IOAT_ERR_NEXT_ADDR);
	/* A null descriptor of size 0 is fine. */
	put_desc(f, 0, 4, 0, IOAT_DCTL_NULL | IOAT_DCTL_COMPL, 0, 0);
	dpdk_start(f, RING);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	assert_true(wait_compl(f, RING | IOAT_ST_DONE));
	/* Unaligned completion address: the completion error, nothing written. */
	put_desc(f, 1, 4, 8, IOAT_DCTL_COMPL, DATA, DATA + 64);
	wr(f, CH + IOAT_C_CHANCMP, 8, COMPL + 4);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 2);
	for (int i = 0; i < 5000 && (chansts(f) & 7) != IOAT_ST_HALTED; i++)
		usleep(1000);
	assert_int_equal(rd(f, CH + IOAT_C_CHANERR, 4), IOAT_ERR_COMPL_ADDR);
	assert_int_equal(compl_word(f), RING | IOAT_ST_DONE);
}

/* The channel follows the next field software links after it went idle. */
static void test_relink_after_idle(void **state)
{
	struct fake *f = *state;
	uint64_t other = RING + 0x800;
	uint8_t *d = at(f, other);
	uint32_t size = 8, ctl = IOAT_DCTL_COMPL;
	uint64_t src = DATA, dst = DATA + 0x40;

	memset(at(f, DATA), 0x42, 8);
	put_desc(f, 0, 1, 1, IOAT_DCTL_NULL | IOAT_DCTL_COMPL, 0, 0);	/* next: itself */
	dpdk_start(f, RING);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	assert_true(wait_compl(f, RING | IOAT_ST_DONE));
	memset(d, 0, 64);
	memcpy(d + IOAT_D_SIZE, &size, 4);
	memcpy(d + IOAT_D_CTL, &ctl, 4);
	memcpy(d + IOAT_D_SRC, &src, 8);
	memcpy(d + IOAT_D_DST, &dst, 8);
	memcpy(at(f, RING + IOAT_D_NEXT), &other, 8);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 2);
	assert_true(wait_compl(f, other | IOAT_ST_DONE));
	assert_int_equal(*(uint8_t *)at(f, DATA + 0x40), 0x42);
}

/* Suspend while active returns suspended; resume finishes the chain. */
static void test_suspend_resume_active(void **state)
{
	struct fake *f = *state;
	const unsigned int nr = 16;
	uint64_t sts;

	for (unsigned int i = 0; i < nr; i++) {
		memset(at(f, DATA + i * 0x10000), (int)i + 1, 0x10000);
		put_desc(f, i, nr, 0x10000, IOAT_DCTL_COMPL, DATA + i * 0x10000,
			 DATA + 0x100000 + i * 0x10000);
	}
	__atomic_store_n(&f->delay_us, 500, __ATOMIC_RELAXED);
	dpdk_start(f, RING);
	wr(f, CH + IOAT_C_DMACOUNT, 2, nr);
	usleep(2000);
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_SUSPEND);
	sts = chansts(f);
	assert_int_equal(sts & 7, IOAT_ST_SUSPENDED);
	usleep(10000);
	assert_int_equal(chansts(f), sts);	/* nothing moves while suspended */
	__atomic_store_n(&f->delay_us, 0, __ATOMIC_RELAXED);
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_RESUME);
	assert_true(wait_compl(f, (RING + (nr - 1) * 64) | IOAT_ST_DONE));
	for (unsigned int i = 0; i < nr; i++)
		assert_memory_equal(at(f, DATA + i * 0x10000), at(f, DATA + 0x100000 + i * 0x10000),
				    0x10000);
}

/* Suspend before any work; a doorbell while suspended waits for resume. */
static void test_suspend_armed_doorbell_waits(void **state)
{
	struct fake *f = *state;

	memset(at(f, DATA), 0x77, 64);
	put_desc(f, 0, 4, 64, IOAT_DCTL_COMPL, DATA, DATA + 64);
	dpdk_start(f, RING);
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_SUSPEND);
	assert_int_equal(chansts(f), IOAT_ST_SUSPENDED);
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_RESUME);
	assert_int_equal(chansts(f), IOAT_ST_ARMED);
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_SUSPEND);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	usleep(20000);
	assert_int_equal(chansts(f), IOAT_ST_SUSPENDED);
	assert_int_equal(calls(f), 0);
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_RESUME);
	assert_true(wait_compl(f, RING | IOAT_ST_DONE));
	assert_int_equal(*(uint8_t *)at(f, DATA + 64), 0x77);
	/* Suspend and resume from idle keep the completed address. */
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_SUSPEND);
	assert_int_equal(chansts(f), RING | IOAT_ST_SUSPENDED);
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_RESUME);
	assert_int_equal(chansts(f), RING | IOAT_ST_DONE);
}

/* Reset in the middle of a 1 MiB descriptor: prompt, and no DMA afterwards. */
static void test_reset_mid_descriptor(void **state)
{
	struct fake *f = *state;
	uint64_t t0;
	unsigned long n;

	put_desc(f, 0, 2, 1u << 20, IOAT_DCTL_COMPL | IOAT_DCTL_INT, DATA, DATA + (1u << 20) + 64);
	memset(at(f, COMPL), 0, 8);
	linux_start(f, RING);
	/* 33 slowed calls: 1.6 s for the whole descriptor */
	__atomic_store_n(&f->delay_us, 50000, __ATOMIC_RELAXED);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	while (calls(f) < 3)
		usleep(1000);
	t0 = now_ms();
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_RESET);
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(chansts(f), IOAT_ST_HALTED);
	n = calls(f);
	usleep(150000);
	assert_int_equal(calls(f), n);
	assert_int_equal(compl_word(f), 0);
	assert_int_equal(irqs(f), 0);
	__atomic_store_n(&f->delay_us, 0, __ATOMIC_RELAXED);
	/* The channel works again after a new chain. */
	put_desc(f, 0, 2, 64, IOAT_DCTL_COMPL, DATA, DATA + 64);
	wr(f, CH + IOAT_C_CHAINADDR, 8, RING);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	assert_true(wait_compl(f, RING | IOAT_ST_DONE));
}

/* Abort: halted without an error bit, the descriptor dropped. */
static void test_abort(void **state)
{
	struct fake *f = *state;

	put_desc(f, 0, 2, 1u << 20, IOAT_DCTL_COMPL, DATA, DATA + (1u << 20) + 64);
	dpdk_start(f, RING);
	__atomic_store_n(&f->delay_us, 20000, __ATOMIC_RELAXED);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	while (calls(f) < 2)
		usleep(1000);
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_ABORT);
	assert_int_equal(chansts(f) & 7, IOAT_ST_HALTED);
	assert_int_equal(rd(f, CH + IOAT_C_CHANERR, 4), 0);
	__atomic_store_n(&f->delay_us, 0, __ATOMIC_RELAXED);
}

/* Doorbells raced by reset, abort, suspend and function reset: no hang, right state. */
static void test_command_storm(void **state)
{
	struct fake *f = *state;
	const unsigned int nr = 8;
	unsigned int seed = 12345;

	for (unsigned int i = 0; i < nr; i++)
		put_desc(f, i, nr, 0x10000, IOAT_DCTL_COMPL | IOAT_DCTL_INT, DATA + i * 0x10000,
			 DATA + 0x100000 + i * 0x10000);
	for (int round = 0; round < 300; round++) {
		unsigned int pick;
		unsigned long n;

		seed = seed * 1103515245 + 12345;
		pick = (seed >> 16) % 4;
		linux_start(f, RING);
		wr(f, CH + IOAT_C_DMACOUNT, 2, 1 + (seed >> 8) % nr);
		usleep((seed >> 4) % 300);
		switch (pick) {
		case 0:
			wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_RESET);
			assert_int_equal(chansts(f), IOAT_ST_HALTED);
			break;
		case 1:
			wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_ABORT);
			assert_int_equal(chansts(f) & 7, IOAT_ST_HALTED);
			break;
		case 2:
			wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_SUSPEND);
			assert_int_equal(chansts(f) & 7, IOAT_ST_SUSPENDED);
			break;
		default:
			f->t->reset(f->m);
			assert_int_equal(chansts(f), IOAT_ST_HALTED);
			break;
		}
		/* Stopped means stopped: no bus call afterwards. */
		n = calls(f);
		usleep(200);
		assert_int_equal(calls(f), n);
	}
	assert_int_equal(rd(f, CH + IOAT_C_CHANERR, 4), 0);
}

/* Function reset: power-on values everywhere. */
static void test_function_reset(void **state)
{
	struct fake *f = *state;

	put_desc(f, 0, 4, 1, IOAT_DCTL_NULL | IOAT_DCTL_COMPL, 0, 0);
	linux_start(f, RING);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	assert_true(wait_compl(f, RING | IOAT_ST_DONE));
	wr(f, CH + IOAT_C_DCACTRL, 4, 0xffffffff);
	wr(f, IOAT_R_INTRDELAY, 2, 0x1234);
	assert_int_equal(rd(f, IOAT_R_INTRDELAY, 2), 0x1234);
	f->t->reset(f->m);
	assert_int_equal(chansts(f), IOAT_ST_HALTED);
	assert_int_equal(rd(f, CH + IOAT_C_CHANCTRL, 2), 0);
	assert_int_equal(rd(f, CH + IOAT_C_CHANCMP, 8), 0);
	assert_int_equal(rd(f, CH + IOAT_C_CHAINADDR, 8), 0);
	assert_int_equal(rd(f, CH + IOAT_C_DCACTRL, 4), 0);
	assert_int_equal(rd(f, CH + IOAT_C_DMACOUNT, 2), 0);
	assert_int_equal(rd(f, IOAT_R_INTRCTRL, 1), 0);
	assert_int_equal(rd(f, IOAT_R_INTRDELAY, 2), 0);
}

/* Destroy while a huge descriptor is in flight: prompt; teardown checks no later call. */
static void test_destroy_while_busy(void **state)
{
	struct fake *f = *state;
	uint64_t t0;

	put_desc(f, 0, 2, 1u << 20, IOAT_DCTL_COMPL | IOAT_DCTL_INT, DATA, DATA + (1u << 20) + 64);
	linux_start(f, RING);
	__atomic_store_n(&f->delay_us, 50000, __ATOMIC_RELAXED);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	while (calls(f) < 3)
		usleep(1000);
	t0 = now_ms();
	f->t->destroy(f->m);
	f->m = NULL;
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(irqs(f), 0);
}

/* The engine thread is named, blocks asynchronous signals and keeps faults deliverable. */
static void test_engine_thread_signals(void **state)
{
	struct fake *f = *state;
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	int found = 0;

	/* Let the thread run first: it starts life with everything blocked. */
	put_desc(f, 0, 4, 1, IOAT_DCTL_NULL | IOAT_DCTL_COMPL, 0, 0);
	dpdk_start(f, RING);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	assert_true(wait_compl(f, RING | IOAT_ST_DONE));
	assert_non_null(dir);
	while ((e = readdir(dir))) {
		char path[300], line[256];
		unsigned long long blk = 0;
		FILE *fp;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		fp = fopen(path, "r");
		if (!fp)
			continue;
		if (!fgets(line, sizeof(line), fp) || strcmp(line, "uiommufd-ioat\n") != 0) {
			fclose(fp);
			continue;
		}
		fclose(fp);
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		fp = fopen(path, "r");
		assert_non_null(fp);
		while (fgets(line, sizeof(line), fp))
			if (sscanf(line, "SigBlk: %llx", &blk) == 1)
				break;
		fclose(fp);
		assert_true(blk & (1ull << (SIGALRM - 1)));
		assert_true(blk & (1ull << (SIGUSR1 - 1)));
		assert_false(blk & (1ull << (SIGSEGV - 1)));
		assert_false(blk & (1ull << (SIGBUS - 1)));
		found++;
	}
	closedir(dir);
	assert_int_equal(found, 1);
}

/* Through a real mock IOMMU domain: mapped IOVA works, a hole faults. */
static void test_through_mock_iommu(void **state)
{
	struct fake *f = *state;
	struct mock_ids ids = {};
	uint32_t ioas = 0;
	uint8_t *buf = NULL;
	uint64_t iova = 0x40000000;
	size_t npages = 64;
	uint8_t *ring, *src, *dst;
	uint64_t ring_iova, compl_iova, src_iova, dst_iova, v;

	assert_int_equal(fixture_open(&f->ctx, &ioas, &buf, npages), 0);
	assert_int_equal(ioas_map(f->ctx, ioas, buf, npages * PSZ, &iova, RW_FIXED), 0);
	assert_int_equal(mock_domain(f->ctx, ioas, &ids), 0);
	f->idev = ids.idev;
	ring = buf;
	ring_iova = iova;
	compl_iova = iova + PSZ;
	src = buf + 2 * PSZ;
	src_iova = iova + 2 * PSZ;
	dst = buf + 20 * PSZ;
	dst_iova = iova + 20 * PSZ;
	memset(ring, 0, 2 * PSZ);
	for (size_t i = 0; i < 16 * PSZ; i++)
		src[i] = (uint8_t)(i * 7);
	for (unsigned int i = 0; i < 2; i++) {
		uint32_t size = (uint32_t)(16 * PSZ), ctl = IOAT_DCTL_COMPL;
		uint64_t s = i ? 0x90000000ull : src_iova, next = ring_iova + ((i + 1) % 4) * 64;

		memcpy(ring + i * 64 + IOAT_D_SIZE, &size, 4);
		memcpy(ring + i * 64 + IOAT_D_CTL, &ctl, 4);
		memcpy(ring + i * 64 + IOAT_D_SRC, &s, 8);
		memcpy(ring + i * 64 + IOAT_D_DST, &dst_iova, 8);
		memcpy(ring + i * 64 + IOAT_D_NEXT, &next, 8);
	}
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_RESET);
	wr(f, CH + IOAT_C_CHANCTRL, 2, IOAT_CTRL_ERR_ABORT | IOAT_CTRL_ERR_COMPL);
	wr(f, CH + IOAT_C_CHAINADDR, 8, ring_iova);
	wr(f, CH + IOAT_C_CHANCMP, 8, compl_iova);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 2);
	for (int i = 0; i < 5000 && (chansts(f) & 7) != IOAT_ST_HALTED; i++)
		usleep(1000);
	assert_int_equal(chansts(f), ring_iova | IOAT_ST_HALTED);
	assert_int_equal(rd(f, CH + IOAT_C_CHANERR, 4), IOAT_ERR_READ_DATA);
	memcpy(&v, buf + PSZ, 8);
	assert_int_equal(v, ring_iova | IOAT_ST_HALTED);
	assert_memory_equal(src, dst, 16 * PSZ);
	f->t->destroy(f->m);
	f->m = NULL;
	fixture_close(f->ctx, buf, npages);
	f->ctx = NULL;
}

/* ------------------------------------------------ the bus's copy (bus->copy) */

/* Copy descriptors go through bus->copy, a chunk a call; fills still through dma. */
static void test_copy_uses_bus_copy(void **state)
{
	struct fake *f = *state;
	const uint32_t len = 200000;	/* three whole chunks and a part */
	uint8_t *a = at(f, DATA), *b = at(f, DATA + 0x100000);
	unsigned long before;

	for (uint32_t i = 0; i < len; i++)
		a[i] = (uint8_t)(i * 13 + 1);
	put_desc(f, 0, 4, len, IOAT_DCTL_COMPL, DATA, DATA + 0x100000);
	put_desc(f, 1, 4, 4096, (IOAT_OP_FILL << IOAT_DCTL_OP_SHIFT) | IOAT_DCTL_COMPL,
		 0x0102030405060708ull, DATA + 0x200000);
	dpdk_start(f, RING);
	before = calls(f);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	assert_true(wait_compl(f, RING | IOAT_ST_DONE));
	assert_memory_equal(a, b, len);
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->copies, 4);
	/* The rest: the descriptor fetch and the completion write. */
	assert_int_equal(f->calls - before - f->copies, 2);
	pthread_mutex_unlock(&f->lock);

	wr(f, CH + IOAT_C_DMACOUNT, 2, 2);
	assert_true(wait_compl(f, (RING + 64) | IOAT_ST_DONE));
	assert_int_equal(*(uint8_t *)at(f, DATA + 0x200000 + 4095), 0x01);
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->copies, 4);
	pthread_mutex_unlock(&f->lock);
}

/* A fault in bus->copy names its side: source read vs destination write. */
static void test_copy_faults_by_side(void **state)
{
	struct fake *f = *state;
	static const struct {
		uint64_t src, dst;
		uint32_t err;
	} cases[] = {
		{ HOLE, DATA + 0x3000, IOAT_ERR_READ_DATA },		/* unmapped source */
		{ DATA, HOLE, IOAT_ERR_WRITE_DATA },			/* unmapped destination */
		{ DATA, DATA + 0x8000, IOAT_ERR_WRITE_DATA },		/* read-only destination */
		{ HOLE, DATA + 0x8000, IOAT_ERR_READ_DATA },		/* both: the read first */
	};

	f->ro_start = DATA + 0x8000;
	f->ro_end = DATA + 0x9000;
	memset(at(f, DATA + 0x8000), 0x77, 0x1000);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put_desc(f, 0, 4, 256, IOAT_DCTL_COMPL, cases[i].src, cases[i].dst);
		linux_start(f, RING);
		memset(at(f, COMPL), 0, 8);
		wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
		assert_true(wait_compl(f, IOAT_ST_HALTED));
		assert_int_equal(rd(f, CH + IOAT_C_CHANERR, 4), cases[i].err);
	}
	/* Nothing reached the read-only page. */
	for (unsigned int k = 0; k < 0x1000; k++)
		assert_int_equal(*(uint8_t *)at(f, DATA + 0x8000 + k), 0x77);
}

/*
 * iommu_dev_dma_copy() through a real mock domain: 4 KiB IOPTEs, a
 * read-write run, a hole, a read-only run.  Faults name their side, stop
 * at the faulting piece with the prefix copied, and touch nothing else.
 */
static void test_iommu_dev_dma_copy(void **state)
{
	const size_t npages = 12;
	struct uiommufd_ctx *ctx;
	struct iommufd_ctx *ictx;
	struct iommufd_device *idev;
	struct mock_ids ids = { 0 };
	uint32_t ioas = 0;
	uint8_t *buf = NULL, *ref;
	const uint64_t A = 0x40000000;
	uint64_t iova;
	size_t done, P = PSZ;
	bool dside;
	struct device *dev;

	(void)state;
	assert_int_equal(fixture_open(&ctx, &ioas, &buf, npages), 0);
	iova = A;
	assert_int_equal(ioas_map(ctx, ioas, buf, 8 * P, &iova, RW_FIXED), 0);
	iova = A + 10 * P;
	assert_int_equal(ioas_map(ctx, ioas, buf + 10 * P, 2 * P, &iova,
				  IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA), 0);
	assert_int_equal(mock_domain(ctx, ioas, &ids), 0);
	for (size_t i = 0; i < npages * P; i++)
		buf[i] = (uint8_t)(i * 7 + i / 4096);
	ref = malloc(npages * P);
	assert_non_null(ref);

	ictx = (struct iommufd_ctx *)ctx;
	pthread_mutex_lock(&ictx->lock);
	idev = iommufd_get_device(ictx, ids.idev);
	assert_false(IS_ERR(idev));
	dev = idev->dev;

	/* Across pages, misaligned: all of it. */
	memcpy(ref, buf, npages * P);
	assert_int_equal(iommu_dev_dma_copy(dev, A + 4 * P + 100, A + 100, 3 * P, &done, &dside), 0);
	assert_int_equal(done, 3 * P);
	assert_false(dside);
	memcpy(ref + 4 * P + 100, ref + 100, 3 * P);
	assert_memory_equal(buf, ref, npages * P);

	/* The source runs into the hole: the 1000 bytes before it, nothing after. */
	memcpy(ref, buf, npages * P);
	assert_int_equal(iommu_dev_dma_copy(dev, A, A + 8 * P - 1000, 3000, &done, &dside),
			 -EFAULT);
	assert_int_equal(done, 1000);
	assert_false(dside);
	memcpy(ref, ref + 8 * P - 1000, 1000);
	assert_memory_equal(buf, ref, npages * P);

	/* The destination runs into the hole: likewise, on the write side. */
	memcpy(ref, buf, npages * P);
	assert_int_equal(iommu_dev_dma_copy(dev, A + 8 * P - 1000, A, 3000, &done, &dside),
			 -EFAULT);
	assert_int_equal(done, 1000);
	assert_true(dside);
	memcpy(ref + 8 * P - 1000, ref, 1000);
	assert_memory_equal(buf, ref, npages * P);

	/* A read-only destination: EPERM, nothing written. */
	memcpy(ref, buf, npages * P);
	assert_int_equal(iommu_dev_dma_copy(dev, A + 10 * P, A, 64, &done, &dside), -EPERM);
	assert_int_equal(done, 0);
	assert_true(dside);
	/* Read-only is fine as a source. */
	assert_int_equal(iommu_dev_dma_copy(dev, A + P, A + 11 * P, 64, &done, &dside), 0);
	assert_memory_equal(buf + P, ref + 11 * P, 64);
	memcpy(ref + P, ref + 11 * P, 64);
	/* Both sides bad: the read is issued first. */
	assert_int_equal(iommu_dev_dma_copy(dev, A + 10 * P, A + 9 * P, 64, NULL, &dside), -EFAULT);
	assert_false(dside);
	assert_memory_equal(buf, ref, npages * P);

	/* Overlapping inside one IOPTE: as memmove (across pieces it is a forward copy). */
	memcpy(ref, buf, npages * P);
	assert_int_equal(iommu_dev_dma_copy(dev, A + 100, A, 1000, NULL, NULL), 0);
	memmove(ref + 100, ref, 1000);
	assert_memory_equal(buf, ref, npages * P);
	/* Both sides' entries are filled now, so these take the inline hit: memmove's result still. */
	assert_int_equal(iommu_dev_dma_copy(dev, A + 100, A, 1000, &done, &dside), 0);
	assert_int_equal(done, 1000);
	assert_false(dside);
	memmove(ref + 100, ref, 1000);
	assert_int_equal(iommu_dev_dma_copy(dev, A, A + 100, 1000, NULL, NULL), 0);
	memmove(ref, ref + 100, 1000);
	assert_int_equal(iommu_dev_dma_copy(dev, A + 2 * P, A, 4000, NULL, NULL), 0);
	memcpy(ref + 2 * P, ref, 4000);
	assert_memory_equal(buf, ref, npages * P);
	/* Nothing to copy: no fault even into the hole. */
	assert_int_equal(iommu_dev_dma_copy(dev, A + 9 * P, A + 9 * P, 0, &done, &dside), 0);
	assert_int_equal(done, 0);

	iommufd_put_object(ictx, &idev->obj);
	pthread_mutex_unlock(&ictx->lock);
	free(ref);
	fixture_close(ctx, buf, npages);
}

/*
 * A run of descriptors, each asking for a completion, once the completion
 * address has taken a write: one read of the ring ahead (the 31 after
 * slot 0 fill the rest of its 2 KiB block), one copy each, and one
 * completion write for all of them (software sees only the last).
 */
static void test_completions_coalesced_per_run(void **state)
{
	struct fake *f = *state;
	const unsigned int nr = 32;
	unsigned long before;

	for (unsigned int i = 0; i < nr; i++)
		put_desc(f, i, nr, 8, IOAT_DCTL_COMPL, DATA + i * 8, DATA + 0x10000 + i * 8);
	for (unsigned int i = 0; i < nr * 8; i++)
		*(uint8_t *)at(f, DATA + i) = (uint8_t)(i + 3);
	dpdk_start(f, RING);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	assert_true(wait_compl(f, RING | IOAT_ST_DONE));
	before = calls(f);
	wr(f, CH + IOAT_C_DMACOUNT, 2, nr);
	assert_true(wait_compl(f, (RING + (nr - 1) * 64) | IOAT_ST_DONE));
	assert_int_equal(chansts(f), (RING + (nr - 1) * 64) | IOAT_ST_DONE);
	assert_int_equal(rd(f, CH + IOAT_C_CDAR, 8), RING + (nr - 1) * 64);
	assert_memory_equal(at(f, DATA), at(f, DATA + 0x10000), nr * 8);
	/* The relink read of slot 0's next, one read of slots 1..31, the copies, one write. */
	assert_int_equal(calls(f) - before, 1 + 1 + (nr - 1) + 1);
}

/*
 * The descriptor read-ahead stays off what software did not offer or did
 * not map: a ring filling the last 256 bytes of memory, its last
 * descriptor linking to the hole just past the end, eight descriptors
 * offered.  The four in memory complete; the fault is the fifth's
 * (NEXT_ADDR), not the first's, as it would be had one read asked for
 * all eight at once.
 */
static void test_read_ahead_stops_at_unmapped(void **state)
{
	struct fake *f = *state;
	const uint64_t tail = MEM_BASE + MEM_SIZE - 4 * 64;

	/* The last one links to MEM_BASE + MEM_SIZE. */
	for (unsigned int i = 0; i < 4; i++)
		put_desc_at(f, tail + i * 64, 8, IOAT_DCTL_COMPL, DATA + i * 8,
			    DATA + 0x10000 + i * 8, tail + (i + 1) * 64);
	for (unsigned int i = 0; i < 32; i++)
		*(uint8_t *)at(f, DATA + i) = (uint8_t)(0xa0 + i);
	memset(at(f, DATA + 0x10000), 0, 32);
	dpdk_start(f, tail);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 8);
	assert_true(wait_compl(f, (tail + 3 * 64) | IOAT_ST_HALTED));
	assert_int_equal(rd(f, CH + IOAT_C_CHANERR, 4), IOAT_ERR_NEXT_ADDR);
	assert_memory_equal(at(f, DATA), at(f, DATA + 0x10000), 32);
}

/*
 * A completion address that faults halts the channel at the first
 * descriptor asking for a completion, not at the end of a run: the
 * descriptors after it are not executed.  Also after CHANCMP moves from a
 * good address to a bad one.
 */
static void test_bad_completion_address_halts_at_once(void **state)
{
	struct fake *f = *state;

	for (unsigned int i = 0; i < 4; i++)
		put_desc(f, i, 4, 64, IOAT_DCTL_COMPL, DATA, DATA + 0x1000 + i * 0x100);
	memset(at(f, DATA), 0x5a, 64);
	for (int round = 0; round < 2; round++) {
		memset(at(f, DATA + 0x1000), 0, 0x400);
		dpdk_start(f, RING);
		if (round) {
			/* The address first takes a completion, then software moves it. */
			wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
			assert_true(wait_compl(f, RING | IOAT_ST_DONE));
			memset(at(f, DATA + 0x1000), 0, 64);
		}
		wr(f, CH + IOAT_C_CHANCMP, 8, HOLE);
		wr(f, CH + IOAT_C_DMACOUNT, 2, round ? 4 : 3);
		for (int i = 0; i < 5000 && (chansts(f) & 7) != IOAT_ST_HALTED; i++)
			usleep(1000);
		assert_int_equal(rd(f, CH + IOAT_C_CHANERR, 4), IOAT_ERR_COMPL_ADDR);
		assert_int_equal(chansts(f), (RING + round * 64) | IOAT_ST_HALTED);
		assert_int_equal(*(uint8_t *)at(f, DATA + 0x1000 + round * 0x100), 0x5a);
		assert_int_equal(*(uint8_t *)at(f, DATA + 0x1100 + round * 0x100), 0);
	}
}

/*
 * Abort in the middle of a run: the descriptors the run finished are
 * complete in CHANSTS, and their completion is in memory when the abort
 * returns.
 */
static void test_abort_mid_run_writes_finished_completion(void **state)
{
	struct fake *f = *state;
	const unsigned int nr = 8;
	uint64_t sts;

	put_desc(f, 0, nr, 1, IOAT_DCTL_NULL | IOAT_DCTL_COMPL, 0, 0);
	for (unsigned int i = 1; i < nr; i++)
		put_desc(f, i, nr, 0x10000, IOAT_DCTL_COMPL, DATA, DATA + 0x100000 + i * 0x10000);
	dpdk_start(f, RING);
	wr(f, CH + IOAT_C_DMACOUNT, 2, 1);
	assert_true(wait_compl(f, RING | IOAT_ST_DONE));
	__atomic_store_n(&f->delay_us, 20000, __ATOMIC_RELAXED);
	wr(f, CH + IOAT_C_DMACOUNT, 2, nr);
	/* The ring read, then two copies done and a third under way. */
	while (calls(f) < 2 + 1 + 3)
		usleep(1000);
	wr(f, CH + IOAT_C_CHANCMD, 1, IOAT_CMD_ABORT);
	sts = chansts(f);
	assert_int_equal(sts & 7, IOAT_ST_HALTED);
	assert_true((sts & IOAT_STS_ADDR_MASK) > RING);
	assert_true((sts & IOAT_STS_ADDR_MASK) < RING + (nr - 1) * 64);
	assert_int_equal(compl_word(f), (sts & IOAT_STS_ADDR_MASK) | IOAT_ST_ACTIVE);
	__atomic_store_n(&f->delay_us, 0, __ATOMIC_RELAXED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_null_then_selftest_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_master_enable_gates_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_fill_and_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpdk_ring_and_count_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_completion_status_in_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_fault_and_dpdk_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dest_fault_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_descriptor_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relink_after_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_suspend_resume_active, setup, teardown),
		cmocka_unit_test_setup_teardown(test_suspend_armed_doorbell_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_mid_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_storm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_function_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_while_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_thread_signals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_through_mock_iommu, setup, teardown),
		/* The same model on a bus with copy (the vfio-pci layer's). */
		cmocka_unit_test_setup_teardown(test_copy_uses_bus_copy, setup_copy, teardown),
		cmocka_unit_test_setup_teardown(test_copy_faults_by_side, setup_copy, teardown),
		cmocka_unit_test_setup_teardown(test_linux_null_then_selftest_copy, setup_copy,
						teardown),
		cmocka_unit_test_setup_teardown(test_large_fill_and_copy, setup_copy, teardown),
		cmocka_unit_test_setup_teardown(test_dpdk_ring_and_count_wrap, setup_copy, teardown),
		cmocka_unit_test_setup_teardown(test_source_fault_and_dpdk_recovery, setup_copy,
						teardown),
		cmocka_unit_test_setup_teardown(test_dest_fault_interrupts, setup_copy, teardown),
		cmocka_unit_test_setup_teardown(test_reset_mid_descriptor, setup_copy, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_while_busy, setup_copy, teardown),
		cmocka_unit_test_setup_teardown(test_read_ahead_stops_at_unmapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_ahead_stops_at_unmapped, setup_copy,
						teardown),
		cmocka_unit_test_setup_teardown(test_completions_coalesced_per_run, setup_copy,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_completion_address_halts_at_once,
						setup_copy, teardown),
		cmocka_unit_test_setup_teardown(test_abort_mid_run_writes_finished_completion,
						setup_copy, teardown),
		cmocka_unit_test(test_iommu_dev_dma_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
