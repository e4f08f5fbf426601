// SPDX-License-Identifier: MIT
/*
 * The I/OAT DMA engine model: one Skylake-SP CBDMA channel function
 * (8086:2021, CBVER 3.3) as docs/devices/ioat.md specifies it.
 *
 * Two sides share one lock.  The register side (bar_read, bar_write,
 * config_*, reset) runs on program threads, serialised by the vfio-pci
 * layer.  The engine is one thread that sleeps on a condition variable
 * while the channel is not ACTIVE; the doorbell, resume and teardown wake
 * it (after the register write has dropped the lock, so it does not wake
 * only to wait for it).  The engine never holds the lock across a bus
 * call: it marks itself busy, drops the lock and makes a trip: a run of
 * the descriptors offered so far (ioat_take()), each moved in chunks of
 * at most IOAT_CHUNK bytes with the bus's copy when it offers one, else
 * through a bounce buffer, the ring read ahead in blocks, and the epoch
 * looked at between chunks.  Back under the lock it settles the trip at
 * once: consumed count, state, errors, one completion write for all the
 * completions the trip owes, the interrupt.  CDAR and the completed
 * address in CHANSTS are published descriptor by descriptor, so software
 * reading them mid-trip sees the engine where it is.  A channel reset,
 * abort, function reset or teardown bumps the epoch and waits until the
 * engine is no longer busy, so it never waits for more than one chunk
 * (and the completion of what the trip had finished); what the engine
 * was doing is dropped without further trace in the registers.
 * Interrupts are decided under the lock and signalled after it is
 * dropped, for the same reason.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/ioat_hw.h"
#include "devices/model.h"

/* Largest piece of a descriptor moved between two looks at the epoch. */
#define IOAT_CHUNK (64u * 1024)
/* Most descriptors, and bytes, the engine moves in one trip outside the lock. */
#define IOAT_RUN_DESCS 64u
#define IOAT_RUN_BYTES (256u * 1024)
/*
 * Descriptors are read ahead within blocks of this size: the smallest
 * IOMMU page of any domain (the selftest's mock has 2 KiB ones).
 */
#define IOAT_FETCH_SPAN 2048u

struct ioat_chan {
	/* Registers as software wrote them. */
	uint16_t ctrl;
	uint16_t dmacount;
	uint64_t chainaddr;
	uint64_t chancmp;
	uint32_t chanerr;
	uint32_t errmask;
	uint32_t dcactrl;

	/* Engine state. */
	enum ioat_chan_state state;
	uint64_t completed;	/* last descriptor done in this chain; 0: none */
	uint64_t cdar;		/* descriptor being (or last) worked on */
	uint64_t next;		/* where the next descriptor is fetched */
	bool relink;		/* re-read completed's next field before fetching */
	uint16_t consumed;	/* descriptors taken since the chain began */
	bool suspend_req;	/* the engine also reads it outside the lock */
	bool compl_proven;	/* a completion reached proven_at, and CHANCMP still says so */
	uint64_t proven_at;
	bool int_pending;	/* raised while not armed / master disabled */
	unsigned int epoch;	/* bumped to drop what the engine is doing */
	bool busy;		/* the engine is outside the lock */
};

struct ioat {
	struct devmodel_bus bus;
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* the engine waits here for work */
	pthread_cond_t quiet;	/* the register side waits here for the engine */
	pthread_t thread;
	bool stopping;
	bool kick;		/* wake the engine once the register write lets go of the lock */
	uint8_t *bounce;

	/* Engine only: the descriptors last read ahead. */
	uint64_t fetched_at;
	unsigned int fetched_len;
	uint8_t fetched[IOAT_FETCH_SPAN];

	uint8_t genctrl;
	uint8_t intrctrl;
	uint32_t attn;
	uint16_t intrdelay;
	uint32_t cfg_uncerr;
	uint32_t cfg_chanerr_int;
	uint32_t cfg_chanerr_mask;

	struct ioat_chan ch;
};

/* ------------------------------------------------------------ helpers */

/* Descriptor fields, little-endian in memory: one load or store each on this host. */
static inline uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	__builtin_memcpy(p, &v, sizeof(v));
}

static uint64_t ioat_chansts(const struct ioat_chan *c)
{
	/* The engine moves the address outside the lock, descriptor by descriptor. */
	uint64_t done = __atomic_load_n(&c->completed, __ATOMIC_ACQUIRE);

	return (done & IOAT_STS_ADDR_MASK) | (uint64_t)c->state;
}

static unsigned int ioat_epoch(struct ioat_chan *c)
{
	return __atomic_load_n(&c->epoch, __ATOMIC_ACQUIRE);
}

/*
 * Drop whatever the engine is doing and wait until it is off the bus.
 * Every caller ends with the channel halted; halting it first also keeps
 * the engine from picking up the next descriptor while we wait.
 */
static void ioat_quench(struct ioat *d)
{
	struct ioat_chan *c = &d->ch;

	c->state = IOAT_ST_HALTED;
	__atomic_store_n(&c->suspend_req, false, __ATOMIC_RELAXED);
	__atomic_store_n(&c->epoch, c->epoch + 1, __ATOMIC_RELEASE);
	while (c->busy)
		pthread_cond_wait(&d->quiet, &d->lock);
}

/* Engine bookkeeping around a bus call made without the lock. */
static void ioat_off_lock(struct ioat *d)
{
	d->ch.busy = true;
	pthread_mutex_unlock(&d->lock);
}

/* Back under the lock; false when the work was dropped meanwhile. */
static bool ioat_on_lock(struct ioat *d, unsigned int epoch)
{
	pthread_mutex_lock(&d->lock);
	d->ch.busy = false;
	pthread_cond_broadcast(&d->quiet);
	return epoch == d->ch.epoch && !d->stopping;
}

/* The channel state a reset leaves (registers software programs stay). */
static void ioat_chan_clear(struct ioat_chan *c)
{
	c->dmacount = 0;
	c->chanerr = 0;
	c->state = IOAT_ST_HALTED;
	c->completed = 0;
	c->cdar = 0;
	c->next = 0;
	c->relink = false;
	c->consumed = 0;
	c->suspend_req = false;
	c->compl_proven = false;
	c->int_pending = false;
}

/* ---------------------------------------------------------- interrupts */

/*
 * Signal the pending interrupt if software lets it through now; the
 * caller calls bus->irq after dropping the lock when this says so.
 */
static bool ioat_intr_deliverable(struct ioat *d)
{
	struct ioat_chan *c = &d->ch;

	if (!c->int_pending || !(d->intrctrl & IOAT_INTRCTRL_MASTER) || !(c->ctrl & IOAT_CTRL_REARM))
		return false;
	/* Arming is good for one interrupt; the driver arms again after cleanup. */
	c->ctrl &= (uint16_t)~IOAT_CTRL_REARM;
	c->int_pending = false;
	return true;
}

static bool ioat_intr_raise(struct ioat *d)
{
	d->attn |= 1u;
	d->ch.int_pending = true;
	return ioat_intr_deliverable(d);
}

/* -------------------------------------------------------------- engine */

struct ioat_desc {
	uint32_t size;
	uint32_t ctl;
	uint64_t src;
	uint64_t dst;
	uint64_t next;
};

/*
 * What one trip outside the lock did.  The engine takes the descriptors
 * offered when the trip began, at most IOAT_RUN_DESCS of them, and comes
 * back early after IOAT_RUN_BYTES (so completions keep reaching software
 * during a long stream), after a descriptor that asks for an interrupt,
 * on an error, a suspend request or a drop.
 */
struct ioat_run {
	unsigned int epoch;
	unsigned int limit;	/* descriptors this trip may take */
	unsigned int done;	/* descriptors finished */
	unsigned int compl_at;	/* done count at the last one asking for a completion; 0: none */
	uint64_t compl_addr;	/* that descriptor */
	uint64_t cur;		/* the descriptor fetched last (CDAR) */
	uint64_t addr;		/* where the next one is fetched; on error the failing one */
	uint64_t prev;		/* the last one completed before the trip */
	uint64_t where;		/* CHANCMP when the trip began */
	uint64_t bytes;
	uint32_t err;
	bool relink;
	bool proven;		/* a completion already reached CHANCMP as it stands */
	bool intr;		/* the last one finished asks for an interrupt */
};

static bool ioat_dropped(struct ioat *d, unsigned int epoch)
{
	return ioat_epoch(&d->ch) != epoch || __atomic_load_n(&d->stopping, __ATOMIC_ACQUIRE);
}

static void ioat_decode(const uint8_t *raw, struct ioat_desc *out)
{
	out->size = get_le32(raw + IOAT_D_SIZE);
	out->ctl = get_le32(raw + IOAT_D_CTL);
	out->src = get_le64(raw + IOAT_D_SRC);
	out->dst = get_le64(raw + IOAT_D_DST);
	out->next = get_le64(raw + IOAT_D_NEXT);
}

/*
 * The descriptor at @addr; 0 or a CHANERR bit.  Rings are laid out in a
 * line, so a miss reads ahead: up to @left descriptors (what is offered),
 * never past the IOAT_FETCH_SPAN block @addr is in, so the read lands on
 * no IOMMU page the wanted descriptor is not on.  The block serves only
 * the trip that read it: every descriptor it may serve was offered before
 * the read.
 */
static uint32_t ioat_fetch(struct ioat *d, uint64_t addr, unsigned int left,
			   struct ioat_desc *out)
{
	if (addr & (IOAT_DESC_SIZE - 1))
		return IOAT_ERR_DESC_ALIGN;
	if (addr - d->fetched_at >= d->fetched_len) {
		unsigned int room = (IOAT_FETCH_SPAN - (unsigned int)(addr & (IOAT_FETCH_SPAN - 1))) /
				    IOAT_DESC_SIZE;
		unsigned int n = left < room ? left : room;

		d->fetched_len = 0;
		if (d->bus.dma(d->bus.opaque, addr, d->fetched, (size_t)n * IOAT_DESC_SIZE, false) < 0)
			return IOAT_ERR_NEXT_ADDR;
		d->fetched_at = addr;
		d->fetched_len = n * IOAT_DESC_SIZE;
	}
	ioat_decode(d->fetched + (addr - d->fetched_at), out);
	return 0;
}

/* Carry out one descriptor in chunks; 0 or a CHANERR bit. */
static uint32_t ioat_execute(struct ioat *d, const struct ioat_desc *desc, unsigned int epoch)
{
	unsigned int op = IOAT_DCTL_OP(desc->ctl);
	uint64_t done;

	if (desc->ctl & IOAT_DCTL_NULL)
		return 0;
	if (op != IOAT_OP_COPY && op != IOAT_OP_FILL)
		return IOAT_ERR_CONTROL;
	if (desc->size == 0 || desc->size > (1u << IOAT_XFERCAP_LOG))
		return IOAT_ERR_LENGTH;

	if (op == IOAT_OP_FILL) {
		/* Chunks are multiples of 8, so every chunk starts at pattern byte 0. */
		size_t n = desc->size < IOAT_CHUNK ? desc->size : IOAT_CHUNK;

		for (size_t i = 0; i < n; i++)
			d->bounce[i] = (uint8_t)(desc->src >> (8 * (i % 8)));
	}
	for (done = 0; done < desc->size;) {
		size_t n = desc->size - done < IOAT_CHUNK ? (size_t)(desc->size - done) : IOAT_CHUNK;

		if (ioat_dropped(d, epoch))
			return 0;	/* the caller drops the result */
		if (op == IOAT_OP_COPY && d->bus.copy) {
			bool dst_fault = false;

			/* Straight from source to destination, as the engine moves data. */
			if (d->bus.copy(d->bus.opaque, desc->dst + done, desc->src + done, n, NULL,
					&dst_fault) < 0)
				return dst_fault ? IOAT_ERR_WRITE_DATA : IOAT_ERR_READ_DATA;
			done += n;
			continue;
		}
		if (op == IOAT_OP_COPY &&
		    d->bus.dma(d->bus.opaque, desc->src + done, d->bounce, n, false) < 0)
			return IOAT_ERR_READ_DATA;
		if (d->bus.dma(d->bus.opaque, desc->dst + done, d->bounce, n, true) < 0)
			return IOAT_ERR_WRITE_DATA;
		done += n;
	}
	return 0;
}

/*
 * The trip itself, without the lock.  CDAR and the completed address in
 * CHANSTS move descriptor by descriptor (software may read them at any
 * time); the rest waits for the trip's end.
 */
static void ioat_take(struct ioat *d, struct ioat_run *r)
{
	struct ioat_chan *c = &d->ch;
	struct ioat_desc desc;

	d->fetched_len = 0;
	if (r->relink) {
		uint8_t raw[8];

		/* Software may have linked more behind the last one since it was read. */
		if (d->bus.dma(d->bus.opaque, r->prev + IOAT_D_NEXT, raw, sizeof(raw), false) < 0) {
			r->err = IOAT_ERR_NEXT_ADDR;
			return;
		}
		r->addr = get_le64(raw);
	}
	while (r->done < r->limit) {
		r->cur = r->addr;
		__atomic_store_n(&c->cdar, r->addr, __ATOMIC_RELAXED);
		r->err = ioat_fetch(d, r->addr, r->limit - r->done, &desc);
		if (!r->err)
			r->err = ioat_execute(d, &desc, r->epoch);
		if (r->err || ioat_dropped(d, r->epoch))
			return;
		/* Release: whoever reads it as completed sees the data. */
		__atomic_store_n(&c->completed, r->addr, __ATOMIC_RELEASE);
		r->done++;
		r->addr = desc.next;
		if (desc.ctl & IOAT_DCTL_COMPL) {
			r->compl_at = r->done;
			r->compl_addr = r->cur;
		}
		/* An interrupt follows its completion at once. */
		r->intr = desc.ctl & IOAT_DCTL_INT;
		if (r->intr)
			return;
		/* So does a completion to an address not yet proven: it may fault here. */
		if ((desc.ctl & IOAT_DCTL_COMPL) && !r->proven)
			return;
		if (!(desc.ctl & IOAT_DCTL_NULL))
			r->bytes += desc.size;
		if (r->bytes >= IOAT_RUN_BYTES || __atomic_load_n(&c->suspend_req, __ATOMIC_ACQUIRE))
			return;
	}
}

/* The channel stops on @err; returns whether a completion must be written. */
static bool ioat_halt(struct ioat *d, uint32_t err, bool *fire)
{
	struct ioat_chan *c = &d->ch;

	c->chanerr |= err;
	c->state = IOAT_ST_HALTED;
	__atomic_store_n(&c->suspend_req, false, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&d->quiet);
	if ((c->ctrl & IOAT_CTRL_ERR_INT) && !(c->errmask & err))
		*fire = ioat_intr_raise(d) || *fire;
	return (c->ctrl & IOAT_CTRL_ERR_COMPL) != 0;
}

/* Write @value to @where through the bus; 0 or a negative errno. */
static int ioat_write_compl(struct ioat *d, uint64_t where, uint64_t value)
{
	uint8_t val[8];

	if (where & 7)
		return -EINVAL;
	put_le64(val, value);
	return d->bus.dma(d->bus.opaque, where, val, sizeof(val), true);
}

/*
 * Write @value to CHANCMP and/or signal the vector, without the lock.
 * Returns false when the channel was reset meanwhile.
 */
static bool ioat_report(struct ioat *d, unsigned int epoch, bool writeback, uint64_t value,
			bool fire, bool on_error)
{
	struct ioat_chan *c = &d->ch;
	uint64_t where = c->chancmp;
	int rc = 0;

	if (!writeback && !fire)
		return true;
	ioat_off_lock(d);
	if (writeback)
		rc = ioat_write_compl(d, where, value);
	if (fire)
		d->bus.irq(d->bus.opaque, 0);
	if (!ioat_on_lock(d, epoch))
		return false;
	if (writeback) {
		c->compl_proven = rc == 0;
		c->proven_at = where;
	}
	if (rc < 0 && !on_error) {
		bool more = false;

		/* No second completion for the completion that failed. */
		ioat_halt(d, IOAT_ERR_COMPL_ADDR, &more);
		if (more) {
			ioat_off_lock(d);
			d->bus.irq(d->bus.opaque, 0);
			return ioat_on_lock(d, epoch);
		}
	} else if (rc < 0) {
		c->chanerr |= IOAT_ERR_COMPL_ADDR;
	}
	return true;
}

/*
 * Back from a trip that was dropped (reset, abort, teardown).  The
 * descriptors it finished did complete: their completion goes out before
 * the engine lets the register side go on, as a real channel's would have
 * gone out before the command took effect.
 */
static void ioat_drop_trip(struct ioat *d, const struct ioat_run *r)
{
	if (r->compl_at && !__atomic_load_n(&d->stopping, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&d->lock);
		ioat_write_compl(d, r->where, r->compl_addr | IOAT_ST_ACTIVE);
		pthread_mutex_lock(&d->lock);
	}
	d->ch.busy = false;
	pthread_cond_broadcast(&d->quiet);
}

/* One trip: entered and left with the lock held. */
static void ioat_trip(struct ioat *d)
{
	struct ioat_chan *c = &d->ch;
	struct ioat_run r = { 0 };
	bool writeback = false, fire = false;
	uint64_t value = 0;

	if (c->suspend_req) {
		__atomic_store_n(&c->suspend_req, false, __ATOMIC_RELAXED);
		c->state = IOAT_ST_SUSPENDED;
		c->relink = true;
		pthread_cond_broadcast(&d->quiet);
		return;
	}
	r.epoch = c->epoch;
	r.limit = (uint16_t)(c->dmacount - c->consumed);
	if (r.limit > IOAT_RUN_DESCS)
		r.limit = IOAT_RUN_DESCS;
	r.relink = c->relink && c->completed != 0;
	r.prev = c->completed;
	r.addr = c->next;
	r.cur = c->next;
	r.where = c->chancmp;
	r.proven = c->compl_proven && c->proven_at == c->chancmp;
	ioat_off_lock(d);
	ioat_take(d, &r);
	pthread_mutex_lock(&d->lock);
	if (r.epoch != c->epoch || d->stopping) {
		ioat_drop_trip(d, &r);
		return;
	}
	c->busy = false;

	c->relink = false;
	c->cdar = r.cur;
	c->next = r.addr;
	c->consumed = (uint16_t)(c->consumed + r.done);
	if (r.err) {
		writeback = ioat_halt(d, r.err, &fire);
		if (writeback) {
			value = ioat_chansts(c);
		} else if (r.compl_at) {
			/* What the last good one wrote; the error itself writes nothing. */
			writeback = true;
			value = r.compl_addr | IOAT_ST_ACTIVE;
		}
		ioat_report(d, r.epoch, writeback, value, fire, true);
		return;
	}
	if (c->suspend_req || c->consumed == c->dmacount) {
		/* Stopping: software may link more behind this descriptor meanwhile. */
		c->state = c->suspend_req ? IOAT_ST_SUSPENDED : IOAT_ST_DONE;
		__atomic_store_n(&c->suspend_req, false, __ATOMIC_RELAXED);
		c->relink = true;
	}
	pthread_cond_broadcast(&d->quiet);
	if (r.compl_at) {
		/*
		 * One write for the trip: the value the last completion would
		 * have written, the state ACTIVE unless it was the trip's last.
		 */
		writeback = true;
		value = r.compl_at == r.done ? ioat_chansts(c) : (r.compl_addr | IOAT_ST_ACTIVE);
	}
	if (r.intr)
		fire = ioat_intr_raise(d);
	ioat_report(d, r.epoch, writeback, value, fire, false);
}

static void *ioat_engine(void *arg)
{
	struct ioat *d = arg;
	struct ioat_chan *c = &d->ch;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		if (d->stopping)
			break;
		if (c->state == IOAT_ST_ACTIVE && c->consumed == c->dmacount) {
			/* Software took its offer back; nothing is left to do. */
			c->state = IOAT_ST_DONE;
			c->relink = true;
			pthread_cond_broadcast(&d->quiet);
		}
		if (c->state != IOAT_ST_ACTIVE) {
			pthread_cond_wait(&d->wake, &d->lock);
			continue;
		}
		ioat_trip(d);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* ------------------------------------------------------------ registers */

struct ioat_reg {
	uint16_t off;
	uint8_t width;
};

/* Every register the model decodes, device block then channel 0. */
static const struct ioat_reg ioat_regs[] = {
	{ IOAT_R_CHANCNT, 1 },	 { IOAT_R_XFERCAP, 1 },	 { IOAT_R_GENCTRL, 1 },
	{ IOAT_R_INTRCTRL, 1 },	 { IOAT_R_ATTNSTATUS, 4 }, { IOAT_R_CBVER, 1 },
	{ IOAT_R_PERPORT, 2 },	 { IOAT_R_INTRDELAY, 2 }, { IOAT_R_CSSTATUS, 2 },
	{ IOAT_R_DMACAP, 4 },	 { IOAT_R_DCAOFFSET, 2 },
	{ IOAT_CHAN_BASE + IOAT_C_CHANCTRL, 2 },   { IOAT_CHAN_BASE + IOAT_C_DMACOMP, 2 },
	{ IOAT_CHAN_BASE + IOAT_C_CHANCMD, 1 },	   { IOAT_CHAN_BASE + IOAT_C_DMACOUNT, 2 },
	{ IOAT_CHAN_BASE + IOAT_C_CHANSTS, 8 },	   { IOAT_CHAN_BASE + IOAT_C_CHAINADDR, 8 },
	{ IOAT_CHAN_BASE + IOAT_C_CHANCMP, 8 },	   { IOAT_CHAN_BASE + IOAT_C_CDAR, 8 },
	{ IOAT_CHAN_BASE + IOAT_C_CHANERR, 4 },	   { IOAT_CHAN_BASE + IOAT_C_CHANERR_MASK, 4 },
	{ IOAT_CHAN_BASE + IOAT_C_DCACTRL, 4 },
};

static uint64_t ioat_reg_get(struct ioat *d, unsigned int off)
{
	struct ioat_chan *c = &d->ch;
	uint32_t v;

	switch (off) {
	case IOAT_R_CHANCNT:
		return 1;
	case IOAT_R_XFERCAP:
		return IOAT_XFERCAP_LOG;
	case IOAT_R_GENCTRL:
		return d->genctrl;
	case IOAT_R_INTRCTRL:
		v = d->intrctrl & (IOAT_INTRCTRL_MASTER | IOAT_INTRCTRL_MSIX_VC);
		if (d->attn)
			v |= IOAT_INTRCTRL_STATUS;
		if (d->attn && (d->intrctrl & IOAT_INTRCTRL_MASTER))
			v |= IOAT_INTRCTRL_ASSERTED;
		return v;
	case IOAT_R_ATTNSTATUS:
		/* Reading is acknowledging. */
		v = d->attn;
		d->attn = 0;
		return v;
	case IOAT_R_CBVER:
		return IOAT_CBVER_3_3;
	case IOAT_R_INTRDELAY:
		return d->intrdelay;
	case IOAT_R_DMACAP:
		return IOAT_DMACAP_FILL;
	case IOAT_CHAN_BASE + IOAT_C_CHANCTRL:
		return c->ctrl;
	case IOAT_CHAN_BASE + IOAT_C_DMACOMP:
		return IOAT_DMACOMP_V2;
	case IOAT_CHAN_BASE + IOAT_C_DMACOUNT:
		return c->dmacount;
	case IOAT_CHAN_BASE + IOAT_C_CHANSTS:
		return ioat_chansts(c);
	case IOAT_CHAN_BASE + IOAT_C_CHAINADDR:
		return c->chainaddr;
	case IOAT_CHAN_BASE + IOAT_C_CHANCMP:
		return c->chancmp;
	case IOAT_CHAN_BASE + IOAT_C_CDAR:
		return __atomic_load_n(&c->cdar, __ATOMIC_RELAXED);
	case IOAT_CHAN_BASE + IOAT_C_CHANERR:
		return c->chanerr;
	case IOAT_CHAN_BASE + IOAT_C_CHANERR_MASK:
		return c->errmask;
	case IOAT_CHAN_BASE + IOAT_C_DCACTRL:
		return c->dcactrl;
	default:
		/* CHANCMD (commands complete at once), PERPORT, CS_STATUS, DCAOFFSET */
		return 0;
	}
}

/*
 * Under the lock: the engine has something new to look at.  The wake
 * itself is sent after the lock is dropped, so the engine does not wake
 * only to wait for the lock the writer still holds.
 */
static void ioat_kick(struct ioat *d)
{
	d->kick = true;
}

/* After dropping the lock: send the wake ioat_kick() asked for. */
static void ioat_send_kick(struct ioat *d, bool kick)
{
	if (kick)
		pthread_cond_broadcast(&d->wake);
}

static void ioat_cmd(struct ioat *d, uint8_t cmd)
{
	struct ioat_chan *c = &d->ch;

	if (cmd & IOAT_CMD_RESET) {
		ioat_quench(d);
		ioat_chan_clear(c);
		return;
	}
	if (cmd & IOAT_CMD_ABORT) {
		ioat_quench(d);
		return;
	}
	if (cmd & IOAT_CMD_SUSPEND) {
		if (c->state == IOAT_ST_ACTIVE) {
			/* The engine finishes the descriptor it has, then stops. */
			__atomic_store_n(&c->suspend_req, true, __ATOMIC_RELEASE);
			pthread_cond_broadcast(&d->wake);
			while (c->state == IOAT_ST_ACTIVE && !d->stopping)
				pthread_cond_wait(&d->quiet, &d->lock);
			__atomic_store_n(&c->suspend_req, false, __ATOMIC_RELAXED);
		}
		if (c->state == IOAT_ST_DONE || c->state == IOAT_ST_ARMED)
			c->state = IOAT_ST_SUSPENDED;
		/* Suspended includes the last descriptor's completion and interrupt. */
		while (c->busy)
			pthread_cond_wait(&d->quiet, &d->lock);
		return;
	}
	if ((cmd & IOAT_CMD_RESUME) && c->state == IOAT_ST_SUSPENDED) {
		if (c->consumed != c->dmacount)
			c->state = IOAT_ST_ACTIVE;
		else	/* back to waiting, as before the suspend */
			c->state = c->completed ? IOAT_ST_DONE : IOAT_ST_ARMED;
		ioat_kick(d);
	}
}

/* A write to a 64-bit chain address half starts a new chain when idle. */
static void ioat_new_chain(struct ioat_chan *c)
{
	if (c->state == IOAT_ST_ACTIVE)
		return;
	c->next = c->chainaddr;
	c->consumed = 0;
	c->completed = 0;
	c->relink = false;
	c->state = IOAT_ST_ARMED;
}

static void ioat_doorbell(struct ioat *d)
{
	struct ioat_chan *c = &d->ch;

	if ((c->state == IOAT_ST_ARMED || c->state == IOAT_ST_DONE) && c->consumed != c->dmacount) {
		/* Active before the write returns: drivers poll for it at once. */
		c->state = IOAT_ST_ACTIVE;
		ioat_kick(d);
	}
}

static uint64_t merge(uint64_t old, uint64_t val, uint64_t mask)
{
	return (old & ~mask) | (val & mask);
}

/* @val holds the bytes written, placed as in the register; @mask says which. */
static void ioat_reg_set(struct ioat *d, unsigned int off, uint64_t val, uint64_t mask, bool *fire)
{
	struct ioat_chan *c = &d->ch;

	switch (off) {
	case IOAT_R_GENCTRL:
		d->genctrl = (uint8_t)val;
		break;
	case IOAT_R_INTRCTRL:
		d->intrctrl = (uint8_t)(val & (IOAT_INTRCTRL_MASTER | IOAT_INTRCTRL_MSIX_VC));
		*fire = ioat_intr_deliverable(d) || *fire;
		break;
	case IOAT_R_INTRDELAY:
		d->intrdelay = (uint16_t)merge(d->intrdelay, val, mask & IOAT_INTRDELAY_VALUE);
		break;
	case IOAT_CHAN_BASE + IOAT_C_CHANCTRL:
		c->ctrl = (uint16_t)merge(c->ctrl, val, mask);
		*fire = ioat_intr_deliverable(d) || *fire;
		break;
	case IOAT_CHAN_BASE + IOAT_C_CHANCMD:
		ioat_cmd(d, (uint8_t)val);
		break;
	case IOAT_CHAN_BASE + IOAT_C_DMACOUNT:
		c->dmacount = (uint16_t)merge(c->dmacount, val, mask);
		ioat_doorbell(d);
		break;
	case IOAT_CHAN_BASE + IOAT_C_CHAINADDR:
		c->chainaddr = merge(c->chainaddr, val, mask);
		ioat_new_chain(c);
		break;
	case IOAT_CHAN_BASE + IOAT_C_CHANCMP:
		c->chancmp = merge(c->chancmp, val, mask);
		break;
	case IOAT_CHAN_BASE + IOAT_C_CHANERR:
		c->chanerr &= ~(uint32_t)(val & mask);
		break;
	case IOAT_CHAN_BASE + IOAT_C_CHANERR_MASK:
		c->errmask = (uint32_t)merge(c->errmask, val, mask);
		break;
	case IOAT_CHAN_BASE + IOAT_C_DCACTRL:
		c->dcactrl = (uint32_t)merge(c->dcactrl, val, mask);
		break;
	default:
		/* read-only or unimplemented */
		break;
	}
}

static uint64_t ioat_bar_read(void *m, unsigned int bar, uint64_t off, unsigned int size)
{
	struct ioat *d = m;
	uint64_t out = 0;

	if (bar != 0 || size > 8 || off >= IOAT_BAR0_SIZE || off + size > IOAT_BAR0_SIZE)
		return 0;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < sizeof(ioat_regs) / sizeof(ioat_regs[0]); i++) {
		const struct ioat_reg *r = &ioat_regs[i];
		uint64_t lo = off > r->off ? off : r->off;
		uint64_t hi = off + size < (uint64_t)r->off + r->width ? off + size : r->off + r->width;
		uint64_t v;

		if (lo >= hi)
			continue;
		v = ioat_reg_get(d, r->off);
		for (uint64_t b = lo; b < hi; b++)
			out |= ((v >> (8 * (b - r->off))) & 0xff) << (8 * (b - off));
	}
	pthread_mutex_unlock(&d->lock);
	return out;
}

static void ioat_bar_write(void *m, unsigned int bar, uint64_t off, unsigned int size,
			   uint64_t val)
{
	struct ioat *d = m;
	bool fire = false, kick;

	if (bar != 0 || size > 8 || off >= IOAT_BAR0_SIZE || off + size > IOAT_BAR0_SIZE)
		return;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < sizeof(ioat_regs) / sizeof(ioat_regs[0]); i++) {
		const struct ioat_reg *r = &ioat_regs[i];
		uint64_t lo = off > r->off ? off : r->off;
		uint64_t hi = off + size < (uint64_t)r->off + r->width ? off + size : r->off + r->width;
		uint64_t part = 0, mask = 0;

		if (lo >= hi)
			continue;
		for (uint64_t b = lo; b < hi; b++) {
			part |= ((val >> (8 * (b - off))) & 0xff) << (8 * (b - r->off));
			mask |= (uint64_t)0xff << (8 * (b - r->off));
		}
		ioat_reg_set(d, r->off, part, mask, &fire);
	}
	kick = d->kick;
	d->kick = false;
	pthread_mutex_unlock(&d->lock);
	ioat_send_kick(d, kick);
	if (fire)
		d->bus.irq(d->bus.opaque, 0);
}

/* ------------------------------------------------------- config space */

static uint32_t *ioat_cfg_reg(struct ioat *d, unsigned int off)
{
	switch (off & ~3u) {
	case IOAT_CFG_UNCERR_STS:
		return &d->cfg_uncerr;
	case IOAT_CFG_CHANERR_INT:
		return &d->cfg_chanerr_int;
	case IOAT_CFG_CHANERR_INT_MASK:
		return &d->cfg_chanerr_mask;
	default:
		return NULL;
	}
}

static bool ioat_config_read(void *m, unsigned int off, unsigned int size, uint32_t *val)
{
	struct ioat *d = m;
	uint32_t *reg = ioat_cfg_reg(d, off);
	unsigned int shift = 8 * (off & 3);

	if (!reg || (off & 3) + size > 4)
		return false;
	pthread_mutex_lock(&d->lock);
	*val = (uint32_t)((*reg >> shift) & (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1));
	pthread_mutex_unlock(&d->lock);
	return true;
}

static bool ioat_config_write(void *m, unsigned int off, unsigned int size, uint32_t val)
{
	struct ioat *d = m;
	uint32_t *reg = ioat_cfg_reg(d, off);
	unsigned int shift = 8 * (off & 3);
	uint32_t mask, bits;

	if (!reg || (off & 3) + size > 4)
		return false;
	mask = (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1) << shift;
	bits = (val << shift) & mask;
	pthread_mutex_lock(&d->lock);
	if (reg == &d->cfg_chanerr_mask)
		*reg = (*reg & ~mask) | bits;
	else
		*reg &= ~bits;	/* status registers: write 1 to clear */
	pthread_mutex_unlock(&d->lock);
	return true;
}

/* ------------------------------------------------------------ lifetime */

static void ioat_power_on(struct ioat *d)
{
	struct ioat_chan *c = &d->ch;

	c->ctrl = 0;
	c->chainaddr = 0;
	c->chancmp = 0;
	c->errmask = 0;
	c->dcactrl = 0;
	ioat_chan_clear(c);
	d->genctrl = 0;
	d->intrctrl = 0;
	d->attn = 0;
	d->intrdelay = 0;
	d->cfg_uncerr = 0;
	d->cfg_chanerr_int = 0;
	d->cfg_chanerr_mask = 0;
}

static void ioat_reset(void *m)
{
	struct ioat *d = m;

	pthread_mutex_lock(&d->lock);
	ioat_quench(d);
	ioat_power_on(d);
	pthread_mutex_unlock(&d->lock);
}

/*
 * The engine thread must not take the program's asynchronous signals (a
 * VMM's timer or IPI signals would run on it), so it starts with them
 * blocked.  Faults stay deliverable: the host's guarded copies rely on
 * catching SIGSEGV/SIGBUS on whatever thread does the DMA.
 */
static int ioat_start_engine(struct ioat *d)
{
	static const int sync_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP };
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	for (size_t i = 0; i < sizeof(sync_signals) / sizeof(sync_signals[0]); i++)
		sigdelset(&all, sync_signals[i]);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&d->thread, NULL, ioat_engine, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;
	pthread_setname_np(d->thread, "uiommufd-ioat");
	return 0;
}

static int ioat_create(const struct devmodel_bus *bus, const char *opts, void **out)
{
	struct ioat *d;
	int rc;

	if (!bus || !bus->dma || !bus->irq || !out)
		return -EINVAL;
	/* The model has no options of its own. */
	if (opts && *opts)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->bus = *bus;
	d->bounce = malloc(IOAT_CHUNK);
	if (!d->bounce) {
		rc = -ENOMEM;
		goto free_dev;
	}
	rc = -pthread_mutex_init(&d->lock, NULL);
	if (rc)
		goto free_bounce;
	rc = -pthread_cond_init(&d->wake, NULL);
	if (rc)
		goto destroy_lock;
	rc = -pthread_cond_init(&d->quiet, NULL);
	if (rc)
		goto destroy_wake;
	ioat_power_on(d);
	rc = ioat_start_engine(d);
	if (rc)
		goto destroy_quiet;
	*out = d;
	return 0;

destroy_quiet:
	pthread_cond_destroy(&d->quiet);
destroy_wake:
	pthread_cond_destroy(&d->wake);
destroy_lock:
	pthread_mutex_destroy(&d->lock);
free_bounce:
	free(d->bounce);
free_dev:
	free(d);
	return rc;
}

static void ioat_destroy(void *m)
{
	struct ioat *d = m;

	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	__atomic_store_n(&d->stopping, true, __ATOMIC_RELEASE);
	ioat_quench(d);
	pthread_cond_broadcast(&d->wake);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	pthread_cond_destroy(&d->quiet);
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d->bounce);
	free(d);
}

const struct devmodel_type ioat_devmodel_type = {
	.name = "ioat",
	.summary = "Intel I/OAT DMA engine: Skylake-SP CBDMA function 8086:2021, "
		   "CBVER 3.3, one channel, copy/fill/null, MSI-X",
	.vendor = IOAT_PCI_VENDOR,
	.device = IOAT_PCI_DEVICE_SKX,
	.subsystem_vendor = IOAT_PCI_VENDOR,
	.subsystem_device = 0,
	.class_code = IOAT_PCI_CLASS,
	.revision = IOAT_PCI_REVISION,
	.bars = { [0] = { .size = IOAT_BAR0_SIZE, .mem64 = true } },
	.caps = {
		.pm = IOAT_CAP_OFF_PM,
		.msix = IOAT_CAP_OFF_MSIX,
		.pcie = IOAT_CAP_OFF_PCIE,
		.msix_vectors = 1,
		.msix_bar = 0,
		.msix_table_off = IOAT_MSIX_TABLE,
		.msix_pba_off = IOAT_MSIX_PBA,
		.pcie_type = 0x9,	/* root complex integrated endpoint */
		.flr = true,
		.intx = true,
	},
	.create = ioat_create,
	.destroy = ioat_destroy,
	.bar_read = ioat_bar_read,
	.bar_write = ioat_bar_write,
	.config_read = ioat_config_read,
	.config_write = ioat_config_write,
	.reset = ioat_reset,
};
