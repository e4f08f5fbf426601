// SPDX-License-Identifier: MIT
/*
 * Interrupts of an emulated PCI function: from the model's irq(vector) to
 * the eventfds the program handed to VFIO_DEVICE_SET_IRQS.
 *
 * One interrupt type is enabled at a time (INTx, MSI or MSI-X), as on the
 * hardware and in the kernel's vfio-pci; ERR and REQ have an eventfd each
 * besides.  Every eventfd is our own duplicate of the program's
 * descriptor, so the program may close its copy.  INTx is level triggered
 * and automasked: one signal, then nothing until the program unmasks.  The
 * MSI-X table and pending bits live here too: the program may read and
 * write the table through the BAR, and a masked vector's interrupt waits in
 * the PBA until it is unmasked, as the PCI spec has it.
 *
 * The signal path runs on device threads, inside bar_write and inside the
 * MMIO trap handler (signal context): it takes only irq_lock and write()s
 * an eventfd.  The behaviour note is docs/uapi-behaviour.md, "vfio-pci".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "vfio/pci.h"
#include "uapi/vfio_device.h"

/* ---- eventfds */

int vfio_pci_eventfd_get(int fd)
{
	char path[64], target[64];
	ssize_t n;
	int dup;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	/* eventfd_ctx_fdget() refuses any other file with EINVAL. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n >= 0) {
		target[n] = 0;
		if (strcmp(target, "anon_inode:[eventfd]"))
			return -EINVAL;
	}
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return dup < 0 ? -errno : dup;
}

void vfio_pci_eventfd_put(struct vfio_pci_trigger *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

void vfio_pci_eventfd_signal(const struct vfio_pci_trigger *t)
{
	uint64_t one = 1;

	/* A full counter (EAGAIN) is a signal already pending: nothing lost. */
	if (t->fd >= 0 && write(t->fd, &one, sizeof(one)) < 0)
		return;
}

/* ---- MSI-X table and PBA */

static unsigned int msix_vectors(const struct vfio_pci_dev *pci)
{
	return pci->type->caps.msix ? pci->type->caps.msix_vectors : 0;
}

static uint32_t *msix_entry(struct vfio_pci_dev *pci, unsigned int v)
{
	return pci->msix_table + 4 * v;
}

static bool msix_masked(struct vfio_pci_dev *pci, unsigned int v)
{
	const struct devmodel_caps *c = &pci->type->caps;
	uint16_t flags = pci->cfg[c->msix + PCI_MSIX_FLAGS] |
			 (uint16_t)pci->cfg[c->msix + PCI_MSIX_FLAGS + 1] << 8;

	return (msix_entry(pci, v)[3] & PCI_MSIX_ENTRY_CTRL_MASKBIT) ||
	       (flags & PCI_MSIX_FLAGS_MASKALL);
}

static void msix_set_mask(struct vfio_pci_dev *pci, unsigned int v, bool mask)
{
	uint32_t *e = msix_entry(pci, v);

	if (mask) {
		e[3] |= PCI_MSIX_ENTRY_CTRL_MASKBIT;
	} else {
		e[3] &= ~PCI_MSIX_ENTRY_CTRL_MASKBIT;
		/* As the host kernel programs an entry it enables. */
		e[0] = 0xfee00000;
		e[1] = 0;
		e[2] = v;
	}
}

static bool pba_test_and_clear(struct vfio_pci_dev *pci, unsigned int v)
{
	uint64_t bit = 1ull << (v % 64);
	bool was = pci->msix_pba[v / 64] & bit;

	pci->msix_pba[v / 64] &= ~bit;
	return was;
}

/* An unmasked vector delivers what waited in the PBA; irq_lock held. */
static void msix_unmasked(struct vfio_pci_dev *pci, unsigned int v)
{
	if (msix_masked(pci, v) || !pba_test_and_clear(pci, v))
		return;
	if (pci->irq_type == VFIO_PCI_MSIX_IRQ_INDEX && v < pci->nr_triggers)
		vfio_pci_eventfd_signal(&pci->triggers[v]);
}

bool vfio_pci_msix_access(struct vfio_pci_dev *pci, unsigned int bar, uint64_t off,
			  unsigned int size, uint64_t *val, bool write)
{
	const struct devmodel_caps *c = &pci->type->caps;
	unsigned int n = msix_vectors(pci);
	uint64_t tlen = 16ull * n, plen = ((n + 63) / 64) * 8;

	if (!n || bar != c->msix_bar)
		return false;
	if (off >= c->msix_table_off && off + size <= c->msix_table_off + tlen) {
		uint64_t rel = off - c->msix_table_off;
		unsigned int v = rel / 16;
		uint8_t *bytes = (uint8_t *)pci->msix_table + rel;

		pthread_mutex_lock(&pci->irq_lock);
		if (write) {
			for (unsigned int i = 0; i < size; i++)
				bytes[i] = *val >> (8 * i);
			msix_unmasked(pci, v);
		} else {
			*val = 0;
			for (unsigned int i = 0; i < size; i++)
				*val |= (uint64_t)bytes[i] << (8 * i);
		}
		pthread_mutex_unlock(&pci->irq_lock);
		return true;
	}
	if (off >= c->msix_pba_off && off + size <= c->msix_pba_off + plen) {
		uint8_t *bytes = (uint8_t *)pci->msix_pba + (off - c->msix_pba_off);

		/* The PBA is read only. */
		if (!write) {
			pthread_mutex_lock(&pci->irq_lock);
			*val = 0;
			for (unsigned int i = 0; i < size; i++)
				*val |= (uint64_t)bytes[i] << (8 * i);
			pthread_mutex_unlock(&pci->irq_lock);
		}
		return true;
	}
	return false;
}

/* ---- set up and tear down */

int vfio_pci_irq_init(struct vfio_pci_dev *pci)
{
	unsigned int n = msix_vectors(pci);

	pci->irq_type = -1;
	pci->intx_unmask = NULL;
	pci->err.fd = pci->req.fd = -1;
	if (!n)
		return 0;
	pci->msix_table = calloc(4 * n, sizeof(uint32_t));
	if (!pci->msix_table)
		return -ENOMEM;
	pci->msix_pba = calloc((n + 63) / 64, sizeof(uint64_t));
	if (!pci->msix_pba) {
		free(pci->msix_table);
		pci->msix_table = NULL;
		return -ENOMEM;
	}
	/* Every vector comes out of reset masked. */
	for (unsigned int v = 0; v < n; v++)
		msix_set_mask(pci, v, true);
	return 0;
}

void vfio_pci_irq_free(struct vfio_pci_dev *pci)
{
	free(pci->msix_table);
	free(pci->msix_pba);
	pci->msix_table = NULL;
	pci->msix_pba = NULL;
}

/* The INTx unmask eventfd stops unmasking; irq_lock held. */
static void drop_unmask_eventfd(struct vfio_pci_dev *pci)
{
	if (pci->intx_unmask)
		vfio_pci_watch_retire(&pci->watcher, pci->intx_unmask);
	pci->intx_unmask = NULL;
}

/* Disable the enabled type; irq_lock and reg_lock held. */
static void irq_disable(struct vfio_pci_dev *pci)
{
	for (unsigned int i = 0; i < pci->nr_triggers; i++) {
		vfio_pci_eventfd_put(&pci->triggers[i]);
		if (pci->irq_type == VFIO_PCI_MSIX_IRQ_INDEX)
			msix_set_mask(pci, i, true);
	}
	if (pci->irq_type == VFIO_PCI_MSI_IRQ_INDEX)
		vfio_pci_config_msi_enabled(pci, 0);
	if (pci->irq_type == VFIO_PCI_MSIX_IRQ_INDEX)
		vfio_pci_config_msix_enabled(pci, false);
	if (pci->irq_type == VFIO_PCI_INTX_IRQ_INDEX)
		drop_unmask_eventfd(pci);
	free(pci->triggers);
	pci->triggers = NULL;
	pci->nr_triggers = 0;
	pci->irq_type = -1;
	pci->intx_masked = pci->intx_pending = false;
}

static int irq_enable(struct vfio_pci_dev *pci, int type, unsigned int n)
{
	struct vfio_pci_trigger *t = calloc(n, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		t[i].fd = -1;
	pci->triggers = t;
	pci->nr_triggers = n;
	pci->irq_type = type;
	pci->intx_masked = pci->intx_pending = false;
	if (type == VFIO_PCI_MSI_IRQ_INDEX)
		vfio_pci_config_msi_enabled(pci, n);
	if (type == VFIO_PCI_MSIX_IRQ_INDEX)
		vfio_pci_config_msix_enabled(pci, true);
	return 0;
}

void vfio_pci_irq_teardown(struct vfio_pci_dev *pci)
{
	pthread_mutex_lock(&pci->irq_lock);
	irq_disable(pci);
	vfio_pci_eventfd_put(&pci->err);
	vfio_pci_eventfd_put(&pci->req);
	pthread_mutex_unlock(&pci->irq_lock);
}

void vfio_pci_irq_reset(struct vfio_pci_dev *pci)
{
	unsigned int n = msix_vectors(pci);

	pthread_mutex_lock(&pci->irq_lock);
	pci->intx_pending = false;
	if (n)
		memset(pci->msix_pba, 0, ((n + 63) / 64) * sizeof(uint64_t));
	pthread_mutex_unlock(&pci->irq_lock);
}

unsigned int vfio_pci_irq_count(struct vfio_pci_dev *pci, uint32_t index)
{
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		return vfio_pci_has_intx(pci) ? 1 : 0;
	case VFIO_PCI_MSI_IRQ_INDEX:
		return vfio_pci_msi_vectors(pci);
	case VFIO_PCI_MSIX_IRQ_INDEX:
		return msix_vectors(pci);
	case VFIO_PCI_ERR_IRQ_INDEX:
		return vfio_pci_is_pcie(pci) ? 1 : 0;
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	}
	return 0;
}

/* ---- the model's interrupt */

static void intx_fire(struct vfio_pci_dev *pci)
{
	uint16_t cmd = pci->cfg[PCI_COMMAND] | (uint16_t)pci->cfg[PCI_COMMAND + 1] << 8;

	if (pci->intx_masked || (cmd & PCI_COMMAND_INTX_DISABLE)) {
		pci->intx_pending = true;
		return;
	}
	pci->intx_masked = true;
	pci->intx_pending = false;
	if (pci->nr_triggers)
		vfio_pci_eventfd_signal(&pci->triggers[0]);
}

void vfio_pci_irq_signal(void *opaque, unsigned int vector)
{
	struct vfio_pci_dev *pci = opaque;
	unsigned int n = msix_vectors(pci);

	pthread_mutex_lock(&pci->irq_lock);
	switch (pci->irq_type) {
	case VFIO_PCI_MSIX_IRQ_INDEX:
		if (vector >= n)
			break;
		if (msix_masked(pci, vector))
			pci->msix_pba[vector / 64] |= 1ull << (vector % 64);
		else if (vector < pci->nr_triggers)
			vfio_pci_eventfd_signal(&pci->triggers[vector]);
		break;
	case VFIO_PCI_MSI_IRQ_INDEX:
		/* With fewer messages than vectors, the device folds them onto the last. */
		if (pci->nr_triggers)
			vfio_pci_eventfd_signal(
				&pci->triggers[vector < pci->nr_triggers ? vector
									 : pci->nr_triggers - 1]);
		break;
	case VFIO_PCI_INTX_IRQ_INDEX:
		intx_fire(pci);
		break;
	default:
		/* Nothing enabled: a masked MSI-X vector still records its pending bit. */
		if (vector < n && msix_masked(pci, vector))
			pci->msix_pba[vector / 64] |= 1ull << (vector % 64);
		break;
	}
	pthread_mutex_unlock(&pci->irq_lock);
}

void vfio_pci_irq_command_changed(struct vfio_pci_dev *pci)
{
	/* Clearing Interrupt Disable lets a still-pending INTx through. */
	pthread_mutex_lock(&pci->irq_lock);
	if (pci->irq_type == VFIO_PCI_INTX_IRQ_INDEX && pci->intx_pending && !pci->intx_masked)
		intx_fire(pci);
	pthread_mutex_unlock(&pci->irq_lock);
}

/* ---- VFIO_DEVICE_SET_IRQS, after the generic checks */

static bool want(uint32_t flags, const void *data, unsigned int i)
{
	if (flags & VFIO_IRQ_SET_DATA_NONE)
		return true;
	return ((const uint8_t *)data)[i] != 0;
}

static void intx_unmask(struct vfio_pci_dev *pci)
{
	pci->intx_masked = false;
	if (pci->intx_pending)
		intx_fire(pci);
}

/* The unmask eventfd was signalled: what UNMASK does, unless it went meanwhile. */
static void unmask_fired(struct vfio_pci_watch *w)
{
	struct vfio_pci_dev *pci = w->pci;

	pthread_mutex_lock(&pci->irq_lock);
	if (!w->retired && pci->irq_type == VFIO_PCI_INTX_IRQ_INDEX)
		intx_unmask(pci);
	pthread_mutex_unlock(&pci->irq_lock);
}

/* UNMASK with DATA_EVENTFD: a negative fd removes, one while set is EBUSY. */
static int set_unmask_eventfd(struct vfio_pci_dev *pci, int32_t fd)
{
	struct vfio_pci_watch *w;
	int nfd, rc;

	if (fd < 0) {
		drop_unmask_eventfd(pci);
		return 0;
	}
	nfd = vfio_pci_eventfd_get(fd);
	if (nfd < 0)
		return nfd;
	rc = -EBUSY;
	if (pci->intx_unmask)
		goto err_close;
	rc = -ENOMEM;
	w = calloc(1, sizeof(*w));
	if (!w)
		goto err_close;
	w->pci = pci;
	w->fd = nfd;
	w->fire = unmask_fired;
	rc = vfio_pci_watch_add(&pci->watcher, w);
	if (rc)
		goto err_free;
	pci->intx_unmask = w;
	return 0;

err_free:
	free(w);
err_close:
	close(nfd);
	return rc;
}

static int set_intx_mask(struct vfio_pci_dev *pci, uint32_t flags, uint32_t start,
			 uint32_t count, const void *data, bool unmask)
{
	if (pci->irq_type != VFIO_PCI_INTX_IRQ_INDEX || start != 0 || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		/* Masking from an eventfd is not served (the kernel's "implement me"). */
		if (!unmask)
			return -ENOTTY;
		return set_unmask_eventfd(pci, *(const int32_t *)data);
	}
	if (!want(flags, data, 0))
		return 0;
	if (unmask)
		intx_unmask(pci);
	else
		pci->intx_masked = true;
	return 0;
}

static int set_intx_trigger(struct vfio_pci_dev *pci, uint32_t flags, uint32_t start,
			    uint32_t count, const void *data)
{
	bool is_intx = pci->irq_type == VFIO_PCI_INTX_IRQ_INDEX;

	if (is_intx && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		irq_disable(pci);
		return 0;
	}
	if (!(is_intx || pci->irq_type < 0) || start != 0 || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int32_t fd = *(const int32_t *)data;
		int nfd, rc;

		if (fd < 0) {
			if (is_intx)
				irq_disable(pci);
			return 0;
		}
		nfd = vfio_pci_eventfd_get(fd);
		if (nfd < 0)
			return nfd;
		if (!is_intx) {
			rc = irq_enable(pci, VFIO_PCI_INTX_IRQ_INDEX, 1);
			if (rc) {
				close(nfd);
				return rc;
			}
		}
		vfio_pci_eventfd_put(&pci->triggers[0]);
		pci->triggers[0].fd = nfd;
		return 0;
	}
	if (!is_intx)
		return -EINVAL;
	if (want(flags, data, 0))
		vfio_pci_eventfd_signal(&pci->triggers[0]);
	return 0;
}

/* Give vectors [start, start + count) the eventfds in @fds (-1: none). */
static int msi_set_block(struct vfio_pci_dev *pci, uint32_t start, uint32_t count,
			 const int32_t *fds)
{
	bool msix = pci->irq_type == VFIO_PCI_MSIX_IRQ_INDEX;

	if (start >= pci->nr_triggers || count > pci->nr_triggers - start)
		return -EINVAL;
	for (uint32_t j = 0; j < count; j++) {
		struct vfio_pci_trigger *t = &pci->triggers[start + j];
		int nfd = -1;

		if (fds[j] >= 0) {
			nfd = vfio_pci_eventfd_get(fds[j]);
			if (nfd < 0) {
				/* Vectors this call set go back to none. */
				for (uint32_t k = 0; k < j; k++) {
					vfio_pci_eventfd_put(&pci->triggers[start + k]);
					if (msix)
						msix_set_mask(pci, start + k, true);
				}
				return nfd;
			}
		}
		vfio_pci_eventfd_put(t);
		t->fd = nfd;
		if (msix) {
			msix_set_mask(pci, start + j, nfd < 0);
			if (nfd >= 0)
				msix_unmasked(pci, start + j);
		}
	}
	return 0;
}

static int set_msi_trigger(struct vfio_pci_dev *pci, uint32_t index, uint32_t flags,
			   uint32_t start, uint32_t count, const void *data)
{
	bool is = pci->irq_type == (int)index;
	int rc;

	if (is && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		irq_disable(pci);
		return 0;
	}
	if (!(is || pci->irq_type < 0))
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		unsigned int n = start + count;

		if (is)
			return msi_set_block(pci, start, count, data);
		/* MSI-X enables the whole table; MSI the vectors asked for. */
		if (index == VFIO_PCI_MSIX_IRQ_INDEX)
			n = msix_vectors(pci);
		rc = irq_enable(pci, index, n);
		if (rc)
			return rc;
		rc = msi_set_block(pci, start, count, data);
		if (rc)
			irq_disable(pci);
		return rc;
	}
	if (!is)
		return -EINVAL;
	for (uint32_t i = start; i < start + count && i < pci->nr_triggers; i++)
		if (want(flags, data, i - start))
			vfio_pci_eventfd_signal(&pci->triggers[i]);
	return 0;
}

/* ERR and REQ: one eventfd each. */
static int set_single_trigger(struct vfio_pci_trigger *t, uint32_t flags, uint32_t start,
			      uint32_t count, const void *data)
{
	if (start != 0 || count > 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_NONE) {
		if (t->fd < 0)
			return -EINVAL;
		if (count)
			vfio_pci_eventfd_signal(t);
		else
			vfio_pci_eventfd_put(t);
		return 0;
	}
	if (!count)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (*(const uint8_t *)data)
			vfio_pci_eventfd_signal(t);
		return 0;
	}
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int32_t fd = *(const int32_t *)data;
		int nfd;

		if (fd == -1) {
			vfio_pci_eventfd_put(t);
		} else if (fd >= 0) {
			nfd = vfio_pci_eventfd_get(fd);
			if (nfd < 0)
				return nfd;
			vfio_pci_eventfd_put(t);
			t->fd = nfd;
		}
		return 0;
	}
	return -EINVAL;
}

int vfio_pci_set_irqs(struct vfio_pci_dev *pci, uint32_t flags, uint32_t index, uint32_t start,
		      uint32_t count, const void *data)
{
	uint32_t action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	int rc = -ENOTTY;

	pthread_mutex_lock(&pci->irq_lock);
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_MASK)
			rc = set_intx_mask(pci, flags, start, count, data, false);
		else if (action == VFIO_IRQ_SET_ACTION_UNMASK)
			rc = set_intx_mask(pci, flags, start, count, data, true);
		else if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			rc = set_intx_trigger(pci, flags, start, count, data);
		break;
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_MSIX_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			rc = set_msi_trigger(pci, index, flags, start, count, data);
		break;
	case VFIO_PCI_ERR_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER && vfio_pci_is_pcie(pci))
			rc = set_single_trigger(&pci->err, flags, start, count, data);
		break;
	case VFIO_PCI_REQ_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			rc = set_single_trigger(&pci->req, flags, start, count, data);
		break;
	}
	pthread_mutex_unlock(&pci->irq_lock);
	return rc;
}
