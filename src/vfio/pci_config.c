// SPDX-License-Identifier: MIT
/*
 * The virtual config space of an emulated PCI function.
 *
 * There is no hardware behind it: the whole header and the standard
 * capabilities (PM, MSI, MSI-X, PCI Express) are built here from the
 * model's description, as an image plus two per-byte masks -- which bits a
 * write may change and which are write-one-to-clear.  That one rule gives
 * BAR sizing for free (a BAR's writable bits are its address bits), keeps
 * IDs and capability structure read only and clears status bits.  What a
 * write means beyond storing it (bus mastering, memory decode, FLR) is
 * applied afterwards from the new image.  Bytes outside the header and the
 * capabilities belong to the model's config hooks (device-specific
 * registers), and read as 0 when it does not claim them.
 *
 * The behaviour note is docs/uapi-behaviour.md, "vfio-pci: the device fd".
 */
#include <errno.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "vfio/pci.h"
#include "uapi/vfio_device.h"

/* Bytes of the PCIe v2 capability we lay out (through Slot Status 2). */
#define PCIE_CAP_LEN 0x3c

static void put8(struct vfio_pci_dev *pci, unsigned int off, uint8_t v, uint8_t wm)
{
	pci->cfg[off] = v;
	pci->wmask[off] = wm;
	pci->emul[off] = 1;
}

static void put16(struct vfio_pci_dev *pci, unsigned int off, uint16_t v, uint16_t wm)
{
	put8(pci, off, v & 0xff, wm & 0xff);
	put8(pci, off + 1, v >> 8, wm >> 8);
}

static void put32(struct vfio_pci_dev *pci, unsigned int off, uint32_t v, uint32_t wm)
{
	put16(pci, off, v & 0xffff, wm & 0xffff);
	put16(pci, off + 2, v >> 16, wm >> 16);
}

static void w1c16(struct vfio_pci_dev *pci, unsigned int off, uint16_t bits)
{
	pci->w1c[off] = bits & 0xff;
	pci->w1c[off + 1] = bits >> 8;
}

static uint16_t get16(const struct vfio_pci_dev *pci, unsigned int off)
{
	return pci->cfg[off] | (uint16_t)pci->cfg[off + 1] << 8;
}

static void set16(struct vfio_pci_dev *pci, unsigned int off, uint16_t v)
{
	pci->cfg[off] = v & 0xff;
	pci->cfg[off + 1] = v >> 8;
}

static void claim(struct vfio_pci_dev *pci, unsigned int off, unsigned int len)
{
	memset(pci->emul + off, 1, len);
}

static unsigned int log2_floor(unsigned int v)
{
	unsigned int l = 0;

	while (v > 1) {
		v >>= 1;
		l++;
	}
	return l;
}

bool vfio_pci_has_intx(const struct vfio_pci_dev *pci)
{
	return pci->type->caps.intx;
}

bool vfio_pci_is_pcie(const struct vfio_pci_dev *pci)
{
	return pci->type->caps.pcie != 0;
}

unsigned int vfio_pci_msi_vectors(const struct vfio_pci_dev *pci)
{
	const struct devmodel_caps *c = &pci->type->caps;

	if (!c->msi)
		return 0;
	return 1u << ((get16(pci, c->msi + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_QMASK) >> 1);
}

/*
 * BAR register @slot as the firmware programmed it: the assigned address
 * with the type bits (the high dword for the upper slot of a 64-bit BAR).
 * What the host's PCI core reads there whatever a program's sizing writes
 * left in our view.
 */
uint32_t vfio_pci_bar_assigned(const struct vfio_pci_dev *pci, unsigned int slot)
{
	const struct vfio_pci_bar *b = &pci->bars[slot];

	if (slot > 0 && !b->size && pci->bars[slot - 1].size && pci->bars[slot - 1].mem64)
		return (uint32_t)(pci->bars[slot - 1].addr >> 32);
	if (!b->size)
		return 0;
	if (b->io)
		return ((uint32_t)b->addr & PCI_BASE_ADDRESS_IO_MASK) | PCI_BASE_ADDRESS_SPACE_IO;
	return ((uint32_t)b->addr & (uint32_t)PCI_BASE_ADDRESS_MEM_MASK) |
	       (b->mem64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
	       (b->prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
}

static void init_bars(struct vfio_pci_dev *pci)
{
	for (unsigned int i = 0; i < 6; i++) {
		const struct vfio_pci_bar *b = &pci->bars[i];
		unsigned int off = PCI_BASE_ADDRESS_0 + 4 * i;
		uint32_t lo, wm;

		if (!b->size) {
			claim(pci, off, 4);	/* an upper half is written below */
			continue;
		}
		if (b->io) {
			lo = PCI_BASE_ADDRESS_SPACE_IO;
			wm = ~(uint32_t)(b->size - 1) & PCI_BASE_ADDRESS_IO_MASK;
		} else {
			lo = (b->mem64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
			     (b->prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
			wm = ~(uint32_t)(b->size - 1) & (uint32_t)PCI_BASE_ADDRESS_MEM_MASK;
			if (b->size > 0x80000000ull)
				wm = 0;	/* all address bits of the low half are size bits */
		}
		put32(pci, off, ((uint32_t)b->addr & wm) | lo, wm);
		if (b->mem64 && i < 5) {
			uint32_t hwm = (uint32_t)(~(b->size - 1) >> 32);

			put32(pci, off + 4, (uint32_t)(b->addr >> 32) & hwm, hwm);
			i++;
		}
	}
}

/* Capabilities in ascending offset order, linked from 0x34. */
static void link_caps(struct vfio_pci_dev *pci)
{
	const struct devmodel_caps *c = &pci->type->caps;
	uint8_t offs[4] = { c->pm, c->msi, c->msix, c->pcie };
	uint8_t prev = PCI_CAPABILITY_LIST;
	uint8_t last = 0;

	for (;;) {
		uint8_t next = 0;

		for (unsigned int i = 0; i < 4; i++)
			if (offs[i] > last && (!next || offs[i] < next))
				next = offs[i];
		if (!next)
			break;
		pci->cfg[prev] = next;
		prev = next + PCI_CAP_LIST_NEXT;
		last = next;
	}
	pci->cfg[prev] = 0;
}

static void init_caps(struct vfio_pci_dev *pci)
{
	const struct devmodel_caps *c = &pci->type->caps;

	if (c->pm) {
		put8(pci, c->pm, PCI_CAP_ID_PM, 0);
		put8(pci, c->pm + 1, 0, 0);
		put16(pci, c->pm + PCI_PM_PMC, 3, 0);	/* PM spec 1.2 */
		put16(pci, c->pm + PCI_PM_CTRL, PCI_PM_CTRL_NO_SOFT_RESET,
		      PCI_PM_CTRL_STATE_MASK | PCI_PM_CTRL_PME_ENABLE);
		w1c16(pci, c->pm + PCI_PM_CTRL, PCI_PM_CTRL_PME_STATUS);
		put16(pci, c->pm + 6, 0, 0);
	}
	if (c->msi) {
		unsigned int n = c->msi_vectors ? c->msi_vectors : 1;
		uint16_t flags = log2_floor(n) << 1;
		unsigned int data;

		if (c->msi_64bit)
			flags |= PCI_MSI_FLAGS_64BIT;
		if (c->msi_maskable)
			flags |= PCI_MSI_FLAGS_MASKBIT;
		put8(pci, c->msi, PCI_CAP_ID_MSI, 0);
		put8(pci, c->msi + 1, 0, 0);
		put16(pci, c->msi + PCI_MSI_FLAGS, flags, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
		put32(pci, c->msi + PCI_MSI_ADDRESS_LO, 0, 0xfffffffc);
		if (c->msi_64bit) {
			put32(pci, c->msi + PCI_MSI_ADDRESS_HI, 0, 0xffffffff);
			data = PCI_MSI_DATA_64;
		} else {
			data = PCI_MSI_DATA_32;
		}
		put16(pci, c->msi + data, 0, 0xffff);
		put16(pci, c->msi + data + 2, 0, 0);
		pci->msi_len = data + 4;
		if (c->msi_maskable) {
			put32(pci, c->msi + data + 4, 0, n >= 32 ? 0xffffffff : (1u << n) - 1);
			put32(pci, c->msi + data + 8, 0, 0);
			pci->msi_len = data + 12;
		}
	}
	if (c->msix) {
		put8(pci, c->msix, PCI_CAP_ID_MSIX, 0);
		put8(pci, c->msix + 1, 0, 0);
		/* Read only through config space: SET_IRQS owns enable and mask. */
		put16(pci, c->msix + PCI_MSIX_FLAGS, (c->msix_vectors - 1) & PCI_MSIX_FLAGS_QSIZE, 0);
		put32(pci, c->msix + PCI_MSIX_TABLE, c->msix_table_off | c->msix_bar, 0);
		put32(pci, c->msix + PCI_MSIX_PBA, c->msix_pba_off | c->msix_bar, 0);
	}
	if (c->pcie) {
		unsigned int p = c->pcie;
		uint16_t devctl_wm = PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE |
				     PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE |
				     PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_PAYLOAD |
				     PCI_EXP_DEVCTL_EXT_TAG | PCI_EXP_DEVCTL_PHANTOM |
				     PCI_EXP_DEVCTL_AUX_PME | PCI_EXP_DEVCTL_NOSNOOP_EN |
				     PCI_EXP_DEVCTL_READRQ;

		claim(pci, p, PCIE_CAP_LEN);
		put8(pci, p, PCI_CAP_ID_EXP, 0);
		put8(pci, p + 1, 0, 0);
		put16(pci, p + PCI_EXP_FLAGS, 2 | ((c->pcie_type << 4) & PCI_EXP_FLAGS_TYPE), 0);
		put32(pci, p + PCI_EXP_DEVCAP, c->flr ? PCI_EXP_DEVCAP_FLR : 0, 0);
		/* Read request 512 bytes, relaxed ordering and no-snoop on: reset values. */
		if (c->flr)
			devctl_wm |= PCI_EXP_DEVCTL_BCR_FLR;
		put16(pci, p + PCI_EXP_DEVCTL,
		      PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN | 0x2000, devctl_wm);
		put16(pci, p + PCI_EXP_DEVSTA, 0, 0);
		w1c16(pci, p + PCI_EXP_DEVSTA, PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED |
					     PCI_EXP_DEVSTA_FED | PCI_EXP_DEVSTA_URD);
		if (c->pcie_type != PCI_EXP_TYPE_RC_END) {
			/* A x1 link at 2.5 GT/s, trained. */
			put32(pci, p + PCI_EXP_LNKCAP, 0x11, 0);
			put16(pci, p + PCI_EXP_LNKCTL, 0, PCI_EXP_LNKCTL_ASPMC | PCI_EXP_LNKCTL_RCB |
							   PCI_EXP_LNKCTL_CCC | PCI_EXP_LNKCTL_ES);
			put16(pci, p + PCI_EXP_LNKSTA, 0x11, 0);
			put32(pci, p + PCI_EXP_LNKCAP2, 0x2, 0);
			put16(pci, p + PCI_EXP_LNKCTL2, 0x1, 0);
		}
		put16(pci, p + PCI_EXP_DEVCTL2, 0, PCI_EXP_DEVCTL2_COMP_TIMEOUT);
	}
	if (c->pm)
		claim(pci, c->pm, 8);
	if (c->msi)
		claim(pci, c->msi, pci->msi_len);
	if (c->msix)
		claim(pci, c->msix, 12);
	if (pci->cfg_size > PCI_CFG_SPACE_LEN)
		claim(pci, PCI_CFG_SPACE_LEN, 4);	/* no extended capabilities */
	link_caps(pci);
}

void vfio_pci_config_init(struct vfio_pci_dev *pci)
{
	const struct devmodel_type *t = pci->type;
	const struct devmodel_caps *c = &t->caps;
	uint16_t cmd_wm = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
			  PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE;
	bool has_io = false;

	memset(pci->cfg, 0, sizeof(pci->cfg));
	memset(pci->wmask, 0, sizeof(pci->wmask));
	memset(pci->w1c, 0, sizeof(pci->w1c));
	memset(pci->emul, 0, sizeof(pci->emul));
	pci->cfg_size = c->pcie ? PCI_CFG_SPACE_EXP_LEN : PCI_CFG_SPACE_LEN;
	pci->msi_len = 0;

	claim(pci, 0, PCI_STD_HEADER_SIZEOF);
	for (unsigned int i = 0; i < 6; i++)
		has_io |= pci->bars[i].size && pci->bars[i].io;
	if (has_io)
		cmd_wm |= PCI_COMMAND_IO;

	put16(pci, PCI_VENDOR_ID, t->vendor, 0);
	put16(pci, PCI_DEVICE_ID, t->device, 0);
	put16(pci, PCI_COMMAND, 0, cmd_wm);
	put16(pci, PCI_STATUS, (c->pm || c->msi || c->msix || c->pcie) ? PCI_STATUS_CAP_LIST : 0,
	      0);
	w1c16(pci, PCI_STATUS, PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |
			       PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT |
			       PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY);
	put8(pci, PCI_REVISION_ID, t->revision, 0);
	put8(pci, PCI_CLASS_PROG, t->class_code & 0xff, 0);
	put16(pci, PCI_CLASS_DEVICE, (t->class_code >> 8) & 0xffff, 0);
	put8(pci, PCI_CACHE_LINE_SIZE, 0, 0xff);
	init_bars(pci);
	put16(pci, PCI_SUBSYSTEM_VENDOR_ID, t->subsystem_vendor, 0);
	put16(pci, PCI_SUBSYSTEM_ID, t->subsystem_device, 0);
	put8(pci, PCI_INTERRUPT_LINE, 0, 0xff);
	put8(pci, PCI_INTERRUPT_PIN, c->intx ? 1 : 0, 0);
	init_caps(pci);
	atomic_store(&pci->bus_master, false);
	atomic_store(&pci->mem_enabled, false);
}

/* Decode and bus-master state from the command register. */
static void command_changed(struct vfio_pci_dev *pci)
{
	uint16_t cmd = get16(pci, PCI_COMMAND);

	atomic_store(&pci->mem_enabled, (cmd & PCI_COMMAND_MEMORY) != 0);
	atomic_store(&pci->bus_master, (cmd & PCI_COMMAND_MASTER) != 0);
}

void vfio_pci_config_enable(struct vfio_pci_dev *pci)
{
	uint16_t cmd = PCI_COMMAND_MEMORY;

	for (unsigned int i = 0; i < 6; i++)
		if (pci->bars[i].size && pci->bars[i].io)
			cmd |= PCI_COMMAND_IO;
	set16(pci, PCI_COMMAND, cmd);
	command_changed(pci);
}

void vfio_pci_config_disable(struct vfio_pci_dev *pci)
{
	set16(pci, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE);
	command_changed(pci);
}

void vfio_pci_config_msi_enabled(struct vfio_pci_dev *pci, unsigned int vectors)
{
	unsigned int msi = pci->type->caps.msi;
	uint16_t flags;

	if (!msi)
		return;
	flags = get16(pci, msi + PCI_MSI_FLAGS) & ~PCI_MSI_FLAGS_QSIZE;
	if (vectors)
		flags |= (log2_floor(vectors) << 4) & PCI_MSI_FLAGS_QSIZE;
	set16(pci, msi + PCI_MSI_FLAGS, flags);
}

void vfio_pci_config_msix_enabled(struct vfio_pci_dev *pci, bool on)
{
	unsigned int msix = pci->type->caps.msix;
	uint16_t flags;

	if (!msix)
		return;
	flags = get16(pci, msix + PCI_MSIX_FLAGS) & ~PCI_MSIX_FLAGS_ENABLE;
	set16(pci, msix + PCI_MSIX_FLAGS, flags | (on ? PCI_MSIX_FLAGS_ENABLE : 0));
}

/* Is any byte of [off, off + size) the layer's? */
static bool emulated(const struct vfio_pci_dev *pci, unsigned int off, unsigned int size)
{
	for (unsigned int i = 0; i < size; i++)
		if (pci->emul[off + i])
			return true;
	return false;
}

uint32_t vfio_pci_config_read(struct vfio_pci_dev *pci, unsigned int off, unsigned int size)
{
	uint32_t val = 0;

	if (!emulated(pci, off, size) && pci->type->config_read &&
	    pci->type->config_read(pci->model, off, size, &val))
		return val;
	for (unsigned int i = 0; i < size; i++)
		val |= (uint32_t)pci->cfg[off + i] << (8 * i);
	if (off <= PCI_STATUS && off + size > PCI_STATUS) {
		/* INTx pending shows in the status register. */
		bool pending;

		pthread_mutex_lock(&pci->irq_lock);
		pending = pci->intx_pending || (pci->irq_type == VFIO_PCI_INTX_IRQ_INDEX &&
						pci->intx_masked);
		pthread_mutex_unlock(&pci->irq_lock);
		if (pending)
			val |= (uint32_t)PCI_STATUS_INTERRUPT << (8 * (PCI_STATUS - off));
	}
	return val;
}

void vfio_pci_config_write(struct vfio_pci_dev *pci, unsigned int off, unsigned int size,
			   uint32_t val)
{
	const struct devmodel_caps *c = &pci->type->caps;
	bool flr = false;

	if (!emulated(pci, off, size)) {
		if (pci->type->config_write)
			pci->type->config_write(pci->model, off, size, val);
		return;
	}
	for (unsigned int i = 0; i < size; i++) {
		unsigned int o = off + i;
		uint8_t b = val >> (8 * i);

		pci->cfg[o] = (pci->cfg[o] & ~pci->wmask[o]) | (b & pci->wmask[o]);
		pci->cfg[o] &= ~(b & pci->w1c[o]);
	}
	if (off < PCI_COMMAND + 2 && off + size > PCI_COMMAND) {
		command_changed(pci);
		vfio_pci_irq_command_changed(pci);
	}
	if (c->pcie) {
		unsigned int devctl = c->pcie + PCI_EXP_DEVCTL;

		if (off < devctl + 2 && off + size > devctl) {
			uint16_t v = get16(pci, devctl);

			/* Initiate FLR reads back as 0; the reset is the side effect. */
			flr = v & PCI_EXP_DEVCTL_BCR_FLR;
			set16(pci, devctl, v & ~PCI_EXP_DEVCTL_BCR_FLR);
		}
	}
	if (flr)
		vfio_pci_reset_locked(pci);
}
