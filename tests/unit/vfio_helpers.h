/* SPDX-License-Identifier: MIT */
/*
 * What test_vfio_group.c and test_vfio_cdev.c share: an fd resolver for
 * the contexts a test opens, calls on VFIO fds as the shim routes them
 * (the library's own routing: uiommufd_fd_ioctl/_rw/_mmap and the host's
 * anon-file table), and what a program can see of an I/OAT function
 * behind a device fd.
 *
 * Everything below runs against the real layers: the "ioat" model, the
 * vfio-pci layer and the MMIO traps, all linked from the library.  So a
 * test sees the device's open counting the way a program does: the first
 * open resets the function and turns memory decode on, the last close
 * resets it again and turns decode off (the command register in sysfs's
 * config file), and what a program wrote into the device stays only while
 * some file keeps it open.
 */
#ifndef UIOMMUFD_TEST_VFIO_HELPERS_H
#define UIOMMUFD_TEST_VFIO_HELPERS_H

#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/capability.h>
#include <linux/pci_regs.h>

#include "helpers.h"
#include "core/host.h"
#include "devices/ioat_hw.h"
#include "devices/model.h"
#include "host/inproc.h"
#include "host/mmio_trap.h"
#include "uapi/vfio.h"
#include "uapi/vfio_device.h"
#include "uapi/vfio_group.h"
#include "vfio/vfio.h"
#include "vfio/vfio_internal.h"

/* ---- descriptors standing for opened /dev/iommu or /dev/vfio/vfio */

#define MAX_CTX_FDS 16
static struct {
	int fd;
	struct uiommufd_ctx *ctx;
} ctx_fds[MAX_CTX_FDS];

static struct uiommufd_ctx *test_resolver(int fd)
{
	size_t k;

	for (k = 0; k < MAX_CTX_FDS; k++) {
		if (ctx_fds[k].ctx && ctx_fds[k].fd == fd) {
			uiommufd_ctx_get(ctx_fds[k].ctx);
			return ctx_fds[k].ctx;
		}
	}
	return NULL;
}

/* A context and a real descriptor the resolver maps to it. */
static inline int open_ctx_fd(unsigned int flags, struct uiommufd_ctx **out)
{
	size_t k;
	int fd;

	uiommufd_set_fd_resolver(test_resolver);
	assert_int_equal(uiommufd_ctx_open(uiommufd_host_inproc(), flags, out), 0);
	fd = eventfd(0, EFD_CLOEXEC);
	assert_true(fd >= 0);
	for (k = 0; k < MAX_CTX_FDS && ctx_fds[k].ctx; k++)
		;
	assert_true(k < MAX_CTX_FDS);
	ctx_fds[k].fd = fd;
	ctx_fds[k].ctx = *out;
	return fd;
}

/* As close() of that descriptor: the context loses the fd's reference. */
static inline void close_ctx_fd(int fd)
{
	size_t k;

	for (k = 0; k < MAX_CTX_FDS; k++) {
		if (ctx_fds[k].ctx && ctx_fds[k].fd == fd) {
			uiommufd_ctx_put(ctx_fds[k].ctx);
			ctx_fds[k].ctx = NULL;
		}
	}
	close(fd);
}

/* ---- calls on our fds, routed as the shim routes the libc calls */

static inline struct uiommufd_host *host(void)
{
	return uiommufd_host_inproc();
}

static inline long vioctl(int fd, unsigned long cmd, const void *arg)
{
	return uiommufd_fd_ioctl(fd, cmd, (void *)arg);
}

static inline ssize_t vrw(int fd, void *buf, size_t count, uint64_t off, bool write)
{
	return uiommufd_fd_rw(fd, buf, count, off, write);
}

/* A shared read/write mapping of @len bytes at region offset @off. */
static inline int vmmap_at(int fd, size_t len, uint64_t off, void **out)
{
	return uiommufd_fd_mmap(fd, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, off, out);
}

static inline int vmmap(int fd, size_t len, void **out)
{
	return vmmap_at(fd, len, 0, out);
}

/* munmap() as the shim does it: the traps forget, the mapping goes, the file hears. */
static inline void vmunmap(void *addr, size_t len)
{
	mmio_trap_forget_range(addr, len);
	assert_int_equal(munmap(addr, len), 0);
	inproc_anon_unmapped(addr, len);
}

/* fstat() as the shim answers it for our descriptors. */
static inline int vstat(int fd, struct stat *st)
{
	int rc = -ENOSYS;

	if (!inproc_anon_stat(fd, st, &rc))
		return -ENOSYS;
	return rc;
}

/* close() as the shim reports it. */
static inline void vclose(int fd)
{
	uiommufd_host_inproc_fd_closed(fd);
	close(fd);
}

/* ---- the set */

static inline struct vfio_devset *make_set(const char *spec)
{
	struct vfio_devset *set;
	char err[256];
	int rc;

	rc = vfio_devset_create(host(), spec, &set, err, sizeof(err));
	if (rc)
		print_error("devset '%s': %d %s\n", spec, rc, err);
	assert_int_equal(rc, 0);
	return set;
}

static inline int open_group_of(struct vfio_device *vdev)
{
	char path[64], node[32];

	vfio_group_node_name(vdev->group, node, sizeof(node));
	snprintf(path, sizeof(path), "/dev/vfio/%s", node);
	return vfio_open_path(path, O_RDWR);
}

static inline int open_cdev_of(struct vfio_device *vdev)
{
	char path[64], node[32];

	vfio_device_cdev_name(vdev, node, sizeof(node));
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", node);
	return vfio_open_path(path, O_RDWR);
}

static inline long set_container(int group_fd, int ctx_fd)
{
	int32_t fd = ctx_fd;

	return vioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &fd);
}

/* The device's DMA, as the vfio-pci layer makes it: 0 or a negative errno. */
static inline int vdev_dma(struct uiommufd_ctx *ctx, struct vfio_device *vdev, uint64_t iova,
			   void *buf, size_t len, bool write)
{
	return uiommufd_device_dma(ctx, vdev->dev_id, iova, buf, len,
				   write ? UIOMMUFD_DMA_WRITE : 0);
}

/* Threads of this process, as /proc/self/task lists them (the engines are threads). */
static inline int thread_count(void)
{
	return proc_entries("/proc/self/task");
}

/* ---- CAP_SYS_RAWIO, which no-IOMMU devices want */

static inline bool have_rawio(void)
{
	return host()->ops->capable(host(), HOST_CAP_SYS_RAWIO);
}

/*
 * Run @fn in a child process whose calling thread has CAP_SYS_RAWIO out of
 * its effective set.  Returns what @fn returned (0: its checks held), 100
 * when the capability could not be dropped, 101 when the child died.
 */
static inline int without_rawio(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct caps[2];

		if (syscall(SYS_capget, &hdr, caps))
			_exit(100);
		caps[CAP_SYS_RAWIO / 32].effective &= ~(1u << (CAP_SYS_RAWIO % 32));
		if (syscall(SYS_capset, &hdr, caps))
			_exit(100);
		/* A raw capset, past the shim: the host's cached capabilities must be told. */
		uiommufd_host_inproc_creds_changed();
		if (have_rawio())
			_exit(100);
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 101;
}

/* ---- an I/OAT function behind a device fd, as a program sees it */

/* The command register in sysfs's config file: readable with no file open. */
static inline uint16_t sysfs_command(struct vfio_device *vdev)
{
	uint8_t b[2] = { 0, 0 };

	assert_int_equal(vfio_pci_config_snapshot(vdev, b, PCI_COMMAND, 2), 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

/* Opened (memory decode on after the first open) or closed (off after the last). */
static inline bool function_open(struct vfio_device *vdev)
{
	return sysfs_command(vdev) & PCI_COMMAND_MEMORY;
}

static inline uint64_t bar0_rd(int dfd, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	assert_int_equal(vrw(dfd, &v, size, VFIO_PCI_INDEX_TO_OFFSET(0) + off, false), size);
	return v;
}

static inline void bar0_wr(int dfd, uint64_t off, unsigned int size, uint64_t v)
{
	assert_int_equal(vrw(dfd, &v, size, VFIO_PCI_INDEX_TO_OFFSET(0) + off, true), size);
}

static inline uint32_t cfg_rd(int dfd, unsigned int off, unsigned int size)
{
	uint32_t v = 0;

	assert_int_equal(vrw(dfd, &v, size,
			     VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX) + off, false),
			 size);
	return v;
}

static inline void cfg_wr(int dfd, unsigned int off, unsigned int size, uint32_t v)
{
	assert_int_equal(vrw(dfd, &v, size,
			     VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX) + off, true),
			 size);
}

/*
 * State a program leaves in the function: a completion address in the
 * channel and bus mastering on.  A reset (first open, last close) clears
 * both; a second open of an open function keeps them.
 */
#define MARK_CHANCMP 0x5a5a5a40ull

static inline void mark_function(int dfd)
{
	bar0_wr(dfd, IOAT_CHAN_BASE + IOAT_C_CHANCMP, 8, MARK_CHANCMP);
	cfg_wr(dfd, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static inline bool function_marked(int dfd)
{
	return bar0_rd(dfd, IOAT_CHAN_BASE + IOAT_C_CHANCMP, 8) == MARK_CHANCMP &&
	       (cfg_rd(dfd, PCI_COMMAND, 2) & PCI_COMMAND_MASTER);
}

/* VFIO_DEVICE_GET_INFO answers as vfio-pci's does for a PCI function. */
static inline void assert_pci_device_info(int dfd)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	assert_int_equal(vioctl(dfd, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	assert_int_equal(info.num_regions, VFIO_PCI_NUM_REGIONS);
	assert_int_equal(info.num_irqs, VFIO_PCI_NUM_IRQS);
}

/* Write one 64-byte copy descriptor at @d (bus address @self: the chain is a ring of one). */
static inline void ioat_copy_desc(uint8_t *d, uint64_t self, uint64_t src, uint64_t dst,
				  uint32_t len, uint32_t ctl)
{
	memset(d, 0, IOAT_DESC_SIZE);
	memcpy(d + IOAT_D_SIZE, &len, 4);
	ctl |= IOAT_DCTL_COMPL | (IOAT_OP_COPY << IOAT_DCTL_OP_SHIFT);
	memcpy(d + IOAT_D_CTL, &ctl, 4);
	memcpy(d + IOAT_D_SRC, &src, 8);
	memcpy(d + IOAT_D_DST, &dst, 8);
	memcpy(d + IOAT_D_NEXT, &self, 8);
}

/*
 * Start the channel on the descriptor at bus address @desc the way Linux's
 * driver does (reset, error reporting, completion address, chain, one
 * descriptor through the doorbell), with bus mastering on, and wait until
 * it stops.  Returns CHANSTS.
 */
static inline uint64_t ioat_run_one(int dfd, uint64_t desc, uint64_t compl)
{
	const uint64_t ch = IOAT_CHAN_BASE;
	struct timespec pause = { 0, 1000000 };
	uint64_t sts = 0;
	int k;

	cfg_wr(dfd, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	bar0_wr(dfd, ch + IOAT_C_CHANCMD, 1, IOAT_CMD_RESET);
	bar0_wr(dfd, ch + IOAT_C_CHANCTRL, 2, IOAT_CTRL_ERR_INT | IOAT_CTRL_ERR_COMPL |
						  IOAT_CTRL_ERR_ABORT);
	bar0_wr(dfd, ch + IOAT_C_CHANCMP, 8, compl);
	bar0_wr(dfd, ch + IOAT_C_CHAINADDR, 8, desc);
	bar0_wr(dfd, ch + IOAT_C_DMACOUNT, 2, 1);
	for (k = 0; k < 10000; k++) {
		sts = bar0_rd(dfd, ch + IOAT_C_CHANSTS, 8);
		if ((sts & IOAT_STS_STATE_MASK) == IOAT_ST_DONE ||
		    (sts & IOAT_STS_STATE_MASK) == IOAT_ST_HALTED)
			break;
		nanosleep(&pause, NULL);
	}
	return sts;
}

#endif
