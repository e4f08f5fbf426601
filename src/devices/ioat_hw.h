/* SPDX-License-Identifier: MIT */
/*
 * Intel I/OAT (Crystal Beach DMA, version 3.3) as software sees it: the
 * BAR0 register map, the 64-byte descriptor and the config registers a
 * Skylake-SP channel function has.  Values and meanings are described
 * in docs/devices/ioat.md; the model is src/devices/ioat.c.
 */
#ifndef UIOMMUFD_DEVICES_IOAT_HW_H
#define UIOMMUFD_DEVICES_IOAT_HW_H

#include <stdint.h>

#include "devices/model.h"

/* The registry entry (src/devices/models.c lists it). */
extern const struct devmodel_type ioat_devmodel_type;

/* ---- PCI identity of one SKX CBDMA channel function */
#define IOAT_PCI_VENDOR		0x8086
#define IOAT_PCI_DEVICE_SKX	0x2021
#define IOAT_PCI_CLASS		0x088000
#define IOAT_PCI_REVISION	0x04
#define IOAT_BAR0_SIZE		0x4000u
#define IOAT_MSIX_TABLE		0x2000u
#define IOAT_MSIX_PBA		0x3000u
#define IOAT_CAP_OFF_MSIX	0x80
#define IOAT_CAP_OFF_PCIE	0x90
#define IOAT_CAP_OFF_PM		0xe0

/* Device-specific registers in extended config space (all 32-bit). */
#define IOAT_CFG_UNCERR_STS	0x148	/* W1C */
#define IOAT_CFG_CHANERR_INT	0x180	/* W1C */
#define IOAT_CFG_CHANERR_INT_MASK 0x184

/* ---- BAR0, device-wide block */
#define IOAT_R_CHANCNT		0x00	/* 8 */
#define IOAT_R_XFERCAP		0x01	/* 8: log2 max bytes per descriptor */
#define IOAT_R_GENCTRL		0x02	/* 8 */
#define IOAT_R_INTRCTRL		0x03	/* 8 */
#define IOAT_R_ATTNSTATUS	0x04	/* 32, read clears */
#define IOAT_R_CBVER		0x08	/* 8 */
#define IOAT_R_PERPORT		0x0a	/* 16 */
#define IOAT_R_INTRDELAY	0x0c	/* 16 */
#define IOAT_R_CSSTATUS		0x0e	/* 16 */
#define IOAT_R_DMACAP		0x10	/* 32 */
#define IOAT_R_DCAOFFSET	0x14	/* 16 */

#define IOAT_CBVER_3_3		0x33
#define IOAT_XFERCAP_LOG	20	/* 1 MiB per descriptor */

#define IOAT_INTRCTRL_MASTER	(1u << 0)
#define IOAT_INTRCTRL_STATUS	(1u << 1)	/* read only */
#define IOAT_INTRCTRL_ASSERTED	(1u << 2)	/* read only */
#define IOAT_INTRCTRL_MSIX_VC	(1u << 3)

#define IOAT_INTRDELAY_VALUE	0x3fffu

#define IOAT_DMACAP_FILL	(1u << 6)
#define IOAT_DMACAP_XOR		(1u << 8)
#define IOAT_DMACAP_PQ		(1u << 9)

/* ---- BAR0, the channel block (channel n at 0x80 * (n + 1)) */
#define IOAT_CHAN_BASE		0x80u
#define IOAT_CHAN_STRIDE	0x80u

#define IOAT_C_CHANCTRL		0x00	/* 16 */
#define IOAT_C_DMACOMP		0x02	/* 16, read only */
#define IOAT_C_CHANCMD		0x04	/* 8 */
#define IOAT_C_DMACOUNT		0x06	/* 16: the doorbell */
#define IOAT_C_CHANSTS		0x08	/* 64, read only */
#define IOAT_C_CHAINADDR	0x10	/* 64 */
#define IOAT_C_CHANCMP		0x18	/* 64 */
#define IOAT_C_CDAR		0x20	/* 64, read only */
#define IOAT_C_CHANERR		0x28	/* 32, W1C */
#define IOAT_C_CHANERR_MASK	0x2c	/* 32 */
#define IOAT_C_DCACTRL		0x30	/* 32 */
#define IOAT_C_END		0x34

#define IOAT_DMACOMP_V2		0x0002

#define IOAT_CTRL_REARM		(1u << 0)
#define IOAT_CTRL_ERR_COMPL	(1u << 2)
#define IOAT_CTRL_ERR_ABORT	(1u << 3)
#define IOAT_CTRL_ERR_INT	(1u << 4)
#define IOAT_CTRL_DESC_SNOOP	(1u << 5)
#define IOAT_CTRL_IN_USE	(1u << 8)
#define IOAT_CTRL_COMPL_DCA	(1u << 9)

#define IOAT_CMD_START		(1u << 0)
#define IOAT_CMD_APPEND		(1u << 1)
#define IOAT_CMD_SUSPEND	(1u << 2)
#define IOAT_CMD_ABORT		(1u << 3)
#define IOAT_CMD_RESUME		(1u << 4)
#define IOAT_CMD_RESET		(1u << 5)

/* CHANSTS: completed descriptor address in 63:6, state in 2:0. */
#define IOAT_STS_ADDR_MASK	(~(uint64_t)0x3f)
#define IOAT_STS_STATE_MASK	0x7u
enum ioat_chan_state {
	IOAT_ST_ACTIVE = 0,
	IOAT_ST_DONE = 1,
	IOAT_ST_SUSPENDED = 2,
	IOAT_ST_HALTED = 3,
	IOAT_ST_ARMED = 4,
};

/* CHANERR bits the model sets. */
#define IOAT_ERR_NEXT_ADDR	(1u << 2)
#define IOAT_ERR_DESC_ALIGN	(1u << 3)
#define IOAT_ERR_READ_DATA	(1u << 8)
#define IOAT_ERR_WRITE_DATA	(1u << 9)
#define IOAT_ERR_CONTROL	(1u << 10)
#define IOAT_ERR_LENGTH		(1u << 11)
#define IOAT_ERR_COMPL_ADDR	(1u << 12)

/* ---- The 64-byte descriptor (little endian) */
#define IOAT_DESC_SIZE		64u
#define IOAT_D_SIZE		0x00	/* 32 */
#define IOAT_D_CTL		0x04	/* 32 */
#define IOAT_D_SRC		0x08	/* 64: source, or the fill pattern */
#define IOAT_D_DST		0x10	/* 64 */
#define IOAT_D_NEXT		0x18	/* 64 */

#define IOAT_DCTL_INT		(1u << 0)
#define IOAT_DCTL_SRC_NOSNOOP	(1u << 1)
#define IOAT_DCTL_DST_NOSNOOP	(1u << 2)
#define IOAT_DCTL_COMPL		(1u << 3)
#define IOAT_DCTL_FENCE		(1u << 4)
#define IOAT_DCTL_NULL		(1u << 5)
#define IOAT_DCTL_OP_SHIFT	24
#define IOAT_DCTL_OP(ctl)	((ctl) >> IOAT_DCTL_OP_SHIFT)

#define IOAT_OP_COPY		0x00
#define IOAT_OP_FILL		0x01

#endif
