// SPDX-License-Identifier: MIT
/*
 * The device cdev (cdev.c, device.c): access refused before bind,
 * BIND_IOMMUFD's rules and its dev_id as an iommufd device (GET_HW_INFO,
 * HWPT_ALLOC with NEST_PARENT, DIRTY_TRACKING and a fault queue), the
 * blocked domain after bind, ATTACH/DETACH_IOMMUFD_PT with and without a
 * PASID, fstat, the close order, and IOMMU_IOAS_NOIOMMU_GET_PA for a
 * no-IOMMU device.  The rules are docs/uapi-behaviour.md, "VFIO groups and
 * cdevs".
 *
 * The devices are real I/OAT functions behind the real vfio-pci layer and
 * MMIO traps: binding shows as the function opening (decode on, reset),
 * the last close as it closing again, and a bound cdev answers with
 * vfio-pci's replies, its registers and its engine's copies.
 */
#include <stdio.h>
#include <stdlib.h>

#include "vfio_helpers.h"
#include "core/iommufd_private.h"
#include "vfio/pci.h"

static long bind_cdev(int cdev, int iommufd, uint32_t *devid)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
	long rc = vioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind);

	if (!rc && devid)
		*devid = bind.out_devid;
	return rc;
}

static long attach_pt(int cdev, uint32_t *pt_id)
{
	struct vfio_device_attach_iommufd_pt at = { .argsz = 12, .pt_id = *pt_id };
	long rc = vioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);

	*pt_id = at.pt_id;
	return rc;
}

static long detach_pt(int cdev)
{
	struct vfio_device_detach_iommufd_pt de = { .argsz = 8 };

	return vioctl(cdev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de);
}

static void *map_ioas(struct uiommufd_ctx *ctx, uint32_t ioas, uint64_t iova, size_t len)
{
	void *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t at = iova;

	assert_true(buf != MAP_FAILED);
	memset(buf, 0x77, len);
	assert_int_equal(ioas_map(ctx, ioas, buf, len, &at, IOMMU_IOAS_MAP_FIXED_IOVA |
				  IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE), 0);
	return buf;
}

/* Runs first: no no-IOMMU device has existed in this process yet. */
static void test_get_pa_needs_noiommu(void **state)
{
	struct uiommufd_ctx *ctx;
	struct iommu_ioas_noiommu_get_pa pa = { .size = sizeof(pa) };

	assert_int_equal(uiommufd_ctx_open(host(), 0, &ctx), 0);
	pa.ioas_id = ioas_alloc(ctx);
	assert_int_equal(ictl(ctx, IOMMU_IOAS_NOIOMMU_GET_PA, &pa), -EPERM);
	pa.flags = 1;
	assert_int_equal(ictl(ctx, IOMMU_IOAS_NOIOMMU_GET_PA, &pa), -EOPNOTSUPP);
	uiommufd_ctx_put(ctx);
}

static void test_access_before_bind(void **state)
{
	struct vfio_devset *set = make_set("ioat;ioat");
	struct vfio_device *vdev = vfio_devset_device(set, 1);
	uint32_t pt = 1;
	char buf[8];
	struct stat st;
	void *out;
	int cdev;

	assert_int_equal(vfio_open_path("/dev/vfio/devices/vfio2", O_RDWR), -ENOENT);
	assert_int_equal(vfio_open_path("/dev/vfio/devices/noiommu-vfio1", O_RDWR), -ENOENT);
	cdev = vfio_open_path("/dev/vfio/devices/vfio1", O_RDWR);
	assert_true(cdev >= 0);
	assert_int_equal(vstat(cdev, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), VFIO_CDEV_MAJOR);
	assert_int_equal(minor(st.st_rdev), vdev->cdev_minor);
	/* Nothing but BIND_IOMMUFD before the bind, not even a well-formed GET_INFO. */
	{
		struct vfio_device_info info = { .argsz = sizeof(info) };

		assert_int_equal(vioctl(cdev, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
		assert_int_equal(info.flags, 0);
	}
	assert_int_equal(attach_pt(cdev, &pt), -EINVAL);
	assert_int_equal(detach_pt(cdev), -EINVAL);
	assert_int_equal(vrw(cdev, buf, sizeof(buf), 0, false), -EINVAL);
	assert_int_equal(vmmap(cdev, 4096, &out), -EINVAL);
	assert_int_equal(vdev->open_count, 0);
	assert_false(function_open(vdev));
	vclose(cdev);
	vfio_devset_destroy(set);
}

static void test_bind_rules(void **state)
{
	struct vfio_devset *set = make_set("ioat");
	struct vfio_device *vdev = vfio_devset_device(set, 0);
	struct uiommufd_ctx *ctx;
	int cfd = open_ctx_fd(0, &ctx);
	int plain = eventfd(0, EFD_CLOEXEC);
	int cdev = open_cdev_of(vdev), cdev2 = open_cdev_of(vdev);
	struct vfio_device_bind_iommufd bind = { .argsz = 12, .iommufd = cfd };
	uint32_t devid = 0;
	void *bar;

	assert_true(cdev >= 0 && cdev2 >= 0);
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, (void *)8), -EFAULT);
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EINVAL);
	bind.argsz = sizeof(bind);
	/* Flags beyond the token's: EINVAL, checked before the token is read. */
	bind.flags = 2;
	bind.token_uuid_ptr = 8;
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EINVAL);
	{
		/* A longer struct from a newer caller: its extra bytes must be zero. */
		struct {
			struct vfio_device_bind_iommufd b;
			uint64_t more;
		} big = { .b = { .argsz = sizeof(big), .iommufd = cfd }, .more = 1 };
		uint8_t uuid[16] = { 0x12, 0x34 };

		assert_int_equal(vioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &big), -E2BIG);
		/* A token: read from its pointer (EFAULT), then refused: not a PF or VF. */
		big.more = 0;
		big.b.flags = VFIO_DEVICE_BIND_FLAG_TOKEN;
		big.b.token_uuid_ptr = 8;
		assert_int_equal(vioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &big), -EFAULT);
		big.b.token_uuid_ptr = (uintptr_t)uuid;
		assert_int_equal(vioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &big), -EINVAL);
		/* A 16-byte caller has no pointer: the token flag faults on address 0. */
		big.b.argsz = 16;
		assert_int_equal(vioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &big), -EFAULT);
		/* Without the flag the pointer is ignored. */
		big.b.flags = 0;
		big.b.token_uuid_ptr = 8;
		big.b.iommufd = 1000;
		assert_int_equal(vioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &big), -EBADF);
	}
	bind.flags = 0;
	bind.token_uuid_ptr = 0;
	assert_int_equal(bind_cdev(cdev, -1, NULL), -EINVAL);
	assert_int_equal(bind_cdev(cdev, 1000, NULL), -EBADF);
	assert_int_equal(bind_cdev(cdev, plain, NULL), -EBADFD);
	/* Failed binds opened nothing. */
	assert_false(function_open(vdev));
	assert_int_equal(vdev->group->cdev_binds, 0);

	assert_false(vfio_device_cdev_opened(vdev));
	assert_int_equal(bind_cdev(cdev, cfd, &devid), 0);
	assert_true(vfio_device_cdev_opened(vdev));
	assert_int_not_equal(devid, 0);
	assert_int_equal(devid, vdev->dev_id);
	/* The bind opened the function: decode on, bus mastering off. */
	assert_true(function_open(vdev));
	assert_int_equal(cfg_rd(cdev, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	/* Bound once per file, and one cdev user per device. */
	assert_int_equal(bind_cdev(cdev, cfd, NULL), -EINVAL);
	assert_int_equal(bind_cdev(cdev2, cfd, NULL), -EINVAL);
	/* Now the device answers, and only through the bound file. */
	assert_pci_device_info(cdev);
	{
		struct vfio_device_info info = { .argsz = sizeof(info) };
		uint8_t b;

		assert_int_equal(vioctl(cdev2, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
		assert_int_equal(vrw(cdev2, &b, 1, IOAT_R_CBVER, false), -EINVAL);
	}
	assert_int_equal(bar0_rd(cdev, IOAT_R_CBVER, 1), IOAT_CBVER_3_3);
	/* BAR0 mapped: loads and stores through the MMIO trap reach the registers. */
	assert_int_equal(vmmap(cdev, IOAT_BAR0_SIZE, &bar), 0);
	assert_int_equal(*(volatile uint8_t *)((uint8_t *)bar + IOAT_R_CBVER), IOAT_CBVER_3_3);
	*(volatile uint64_t *)((uint8_t *)bar + IOAT_CHAN_BASE + IOAT_C_CHANCMP) = MARK_CHANCMP;
	assert_true(bar0_rd(cdev, IOAT_CHAN_BASE + IOAT_C_CHANCMP, 8) == MARK_CHANCMP);
	vmunmap(bar, IOAT_BAR0_SIZE);
	assert_null(vdev->pci->maps);
	mark_function(cdev);

	/* The device is an iommufd device of the context, in no domain yet: DMA faults. */
	{
		struct iommu_hw_info info = { .size = sizeof(info), .dev_id = devid };
		uint8_t b;

		assert_int_equal(ictl(ctx, IOMMU_GET_HW_INFO, &info), 0);
		assert_int_equal(info.out_data_type, IOMMU_HW_INFO_TYPE_SELFTEST);
		assert_true(info.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING);
		assert_int_equal(vdev_dma(ctx, vdev, 0, &b, 1, false), -EFAULT);
	}

	/* The context outlives the program's fd while the device is bound. */
	close_ctx_fd(cfd);
	{
		struct iommu_hw_info info = { .size = sizeof(info), .dev_id = devid };

		assert_int_equal(ictl(ctx, IOMMU_GET_HW_INFO, &info), 0);
	}
	/* The unbound file's close changes nothing; the bound one's closes the function. */
	vclose(cdev2);
	assert_true(function_open(vdev));
	assert_true(function_marked(cdev));
	vclose(cdev);
	assert_false(function_open(vdev));
	assert_false(vfio_device_cdev_opened(vdev));
	assert_null(vdev->idev);
	assert_int_equal(vdev->group->cdev_binds, 0);
	close(plain);
	vfio_devset_destroy(set);
}

static void test_attach_detach(void **state)
{
	struct vfio_devset *set = make_set("ioat");
	struct vfio_device *vdev = vfio_devset_device(set, 0);
	struct uiommufd_ctx *ctx;
	int cfd = open_ctx_fd(0, &ctx);
	int cdev = open_cdev_of(vdev);
	struct vfio_device_attach_iommufd_pt at = { .argsz = 8 };
	struct vfio_device_detach_iommufd_pt de = { .argsz = 4 };
	uint32_t devid = 0, ioas, ioas2, pt;
	uint8_t seen[8], *buf, *buf2;
	uint64_t sts;

	assert_int_equal(bind_cdev(cdev, cfd, &devid), 0);
	ioas = ioas_alloc(ctx);
	ioas2 = ioas_alloc(ctx);
	buf = map_ioas(ctx, ioas, 0, 4 * PSZ);
	buf2 = map_ioas(ctx, ioas2, 0, PSZ);
	buf2[0] = 0x99;

	assert_int_equal(vioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -EINVAL);
	at.argsz = 12;
	at.flags = 2;
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -EINVAL);
	at.flags = VFIO_DEVICE_ATTACH_PASID;	/* needs the 16-byte form */
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -EINVAL);
	pt = 0xdead;
	assert_int_equal(attach_pt(cdev, &pt), -ENOENT);

	/* An IOAS: an automatic HWPT, whose ID comes back; DMA translates from IOVA 0. */
	pt = ioas;
	assert_int_equal(attach_pt(cdev, &pt), 0);
	assert_int_not_equal(pt, ioas);
	assert_int_equal(vdev_dma(ctx, vdev, 8, seen, 8, false), 0);
	assert_int_equal(seen[0], 0x77);
	assert_int_equal(vdev_dma(ctx, vdev, 4 * PSZ, seen, 8, false), -EFAULT);
	/* The engine copies through that HWPT: descriptor at IOVA 0, source page 2, destination 3. */
	for (unsigned int i = 0; i < 1000; i++)
		buf[2 * PSZ + i] = (uint8_t)(i * 3);
	ioat_copy_desc(buf, 0, 2 * PSZ, 3 * PSZ, 1000, 0);
	sts = ioat_run_one(cdev, 0, PSZ);
	assert_int_equal(sts & IOAT_STS_STATE_MASK, IOAT_ST_DONE);
	assert_memory_equal(buf + 3 * PSZ, buf + 2 * PSZ, 1000);
	assert_int_equal(buf[3 * PSZ + 1000], 0x77);
	/* A second attach replaces. */
	pt = ioas2;
	assert_int_equal(attach_pt(cdev, &pt), 0);
	assert_int_equal(vdev_dma(ctx, vdev, 0, seen, 1, false), 0);
	assert_int_equal(seen[0], 0x99);

	assert_int_equal(vioctl(cdev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de), -EINVAL);
	de.argsz = 8;
	de.flags = 4;
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de), -EINVAL);
	de.flags = VFIO_DEVICE_DETACH_PASID;
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de), -EINVAL);
	assert_int_equal(detach_pt(cdev), 0);
	/* Back in the blocked domain: the engine cannot even fetch its descriptor. */
	assert_int_equal(vdev_dma(ctx, vdev, 0, seen, 1, false), -EFAULT);
	memset(buf + 3 * PSZ, 0x77, PSZ);
	sts = ioat_run_one(cdev, 0, PSZ);
	assert_int_equal(sts & IOAT_STS_STATE_MASK, IOAT_ST_HALTED);
	assert_int_not_equal(bar0_rd(cdev, IOAT_CHAN_BASE + IOAT_C_CHANERR, 4), 0);
	assert_int_equal(buf[3 * PSZ], 0x77);
	assert_int_equal(detach_pt(cdev), 0);

	vclose(cdev);
	munmap(buf, 4 * PSZ);
	munmap(buf2, PSZ);
	close_ctx_fd(cfd);
	vfio_devset_destroy(set);
}

static void test_devid_hwpts_and_pasid(void **state)
{
	struct vfio_devset *set = make_set("ioat");
	struct vfio_device *vdev = vfio_devset_device(set, 0);
	struct uiommufd_ctx *ctx;
	int cfd = open_ctx_fd(0, &ctx);
	int cdev = open_cdev_of(vdev);
	struct iommu_fault_alloc fault = { .size = sizeof(fault) };
	struct iommu_hwpt_alloc hwpt = { .size = sizeof(hwpt) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	struct vfio_device_detach_iommufd_pt de = { .argsz = sizeof(de) };
	uint32_t devid = 0, ioas, pt, parent;
	void *handle;

	assert_int_equal(bind_cdev(cdev, cfd, &devid), 0);
	ioas = ioas_alloc(ctx);

	hwpt.dev_id = devid;
	hwpt.pt_id = ioas;
	/* PASID capable too: a RID HWPT must be while PASIDs are attached. */
	hwpt.flags = IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
		     IOMMU_HWPT_ALLOC_PASID;
	assert_int_equal(ictl(ctx, IOMMU_HWPT_ALLOC, &hwpt), 0);
	parent = hwpt.out_hwpt_id;
	pt = parent;
	assert_int_equal(attach_pt(cdev, &pt), 0);
	assert_int_equal(pt, parent);

	/* A HWPT with a fault queue. */
	assert_int_equal(ictl(ctx, IOMMU_FAULT_QUEUE_ALLOC, &fault), 0);
	hwpt.flags = IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID;
	hwpt.fault_id = fault.out_fault_id;
	assert_int_equal(ictl(ctx, IOMMU_HWPT_ALLOC, &hwpt), 0);

	/* That one at PASID 1, beside the RID's. */
	at.flags = VFIO_DEVICE_ATTACH_PASID;
	at.pasid = 1;
	at.pt_id = hwpt.out_hwpt_id;
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
	assert_int_equal(at.pt_id, hwpt.out_hwpt_id);
	assert_non_null(iommufd_device_pasid_hwpt(vdev->idev, 1, &handle));
	/* Again at the same PASID: a replace. */
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
	de.flags = VFIO_DEVICE_DETACH_PASID;
	de.pasid = 1;
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de), 0);
	assert_null(iommufd_device_pasid_hwpt(vdev->idev, 1, &handle));
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de), 0);
	/* Attached at PASID 2 when the file closes: undone with the binding. */
	at.pasid = 2;
	assert_int_equal(vioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);

	vclose(cdev);
	assert_null(vdev->idev);
	/* The HWPTs are the program's and outlive the device. */
	{
		struct iommu_destroy d = { .size = sizeof(d), .id = hwpt.out_hwpt_id };

		assert_int_equal(ictl(ctx, IOMMU_DESTROY, &d), 0);
		d.id = parent;
		assert_int_equal(ictl(ctx, IOMMU_DESTROY, &d), 0);
	}
	vclose((int)fault.out_fault_fd);
	close_ctx_fd(cfd);
	vfio_devset_destroy(set);
}

struct bind_case {
	struct vfio_device *vdev;
	int cfd;
};

/* In a child without CAP_SYS_RAWIO: a no-IOMMU cdev does not bind. */
static int noiommu_bind_refused(void *p)
{
	struct bind_case *c = p;
	int cdev = open_cdev_of(c->vdev);

	if (cdev < 0)
		return 1;
	if (bind_cdev(cdev, c->cfd, NULL) != -EPERM)
		return 2;
	/* Refused before the group was blocked or anything opened. */
	if (c->vdev->group->cdev_binds || c->vdev->open_count)
		return 3;
	return 0;
}

static void test_noiommu_bind_needs_rawio(void **state)
{
	struct vfio_devset *set = make_set("ioat,noiommu");
	struct bind_case c = { .vdev = vfio_devset_device(set, 0) };
	struct uiommufd_ctx *ctx;
	int cdev;

	c.cfd = open_ctx_fd(0, &ctx);
	if (!have_rawio()) {
		close_ctx_fd(c.cfd);
		vfio_devset_destroy(set);
		skip();
	}
	assert_int_equal(without_rawio(noiommu_bind_refused, &c), 0);
	cdev = open_cdev_of(c.vdev);
	assert_int_equal(bind_cdev(cdev, c.cfd, NULL), 0);
	assert_true(function_open(c.vdev));
	vclose(cdev);
	close_ctx_fd(c.cfd);
	vfio_devset_destroy(set);
}

static void test_noiommu_cdev_get_pa(void **state)
{
	struct vfio_devset *set = make_set("ioat,noiommu");
	struct vfio_device *vdev = vfio_devset_device(set, 0);
	struct iommu_ioas_noiommu_get_pa pa = { .size = sizeof(pa) };
	struct uiommufd_ctx *ctx;
	int cfd = open_ctx_fd(0, &ctx), cdev;
	uint32_t devid = 0, ioas, pt;
	uint64_t want;
	uint8_t *buf;

	/* Mainline's name for a no-IOMMU cdev is the plain one. */
	assert_true(vdev->spec.noiommu);
	assert_int_equal(vfio_open_path("/dev/vfio/devices/noiommu-vfio0", O_RDWR), -ENOENT);
	cdev = vfio_open_path("/dev/vfio/devices/vfio0", O_RDWR);
	assert_true(cdev >= 0);
	assert_int_equal(bind_cdev(cdev, cfd, &devid), 0);
	ioas = ioas_alloc(ctx);
	pa.ioas_id = ioas;
	pa.iova = 0x200000;
	/* Nothing attached, nothing mapped: nothing to tell. */
	assert_int_equal(ictl(ctx, IOMMU_IOAS_NOIOMMU_GET_PA, &pa), -ENOENT);
	pt = ioas;
	assert_int_equal(attach_pt(cdev, &pt), 0);
	buf = map_ioas(ctx, ioas, 0x200000, 8 * PSZ);
	assert_int_equal(ictl(ctx, IOMMU_IOAS_NOIOMMU_GET_PA, &pa), 0);
	assert_int_equal(host()->ops->user_phys(host(), (uintptr_t)buf, &want), 0);
	assert_int_equal(pa.out_phys, want);
	assert_true(pa.length >= PSZ && pa.length <= 8 * PSZ);
	assert_int_equal((pa.out_phys + pa.length) % PSZ, 0);

	/* An offset inside the page, and a cap on the length. */
	pa.iova = 0x200000 + PSZ + 0x80;
	pa.length = 0;
	assert_int_equal(ictl(ctx, IOMMU_IOAS_NOIOMMU_GET_PA, &pa), 0);
	assert_int_equal(host()->ops->user_phys(host(), (uintptr_t)buf + PSZ + 0x80, &want), 0);
	assert_int_equal(pa.out_phys, want);
	assert_int_equal((pa.out_phys + pa.length) % PSZ, 0);
	pa.length = 0x10;
	assert_int_equal(ictl(ctx, IOMMU_IOAS_NOIOMMU_GET_PA, &pa), 0);
	assert_int_equal(pa.length, 0x10);

	pa.iova = 0x200000 + 8 * PSZ;
	assert_int_equal(ictl(ctx, IOMMU_IOAS_NOIOMMU_GET_PA, &pa), -ENOENT);
	pa.__reserved = 1;
	assert_int_equal(ictl(ctx, IOMMU_IOAS_NOIOMMU_GET_PA, &pa), -EOPNOTSUPP);
	pa.__reserved = 0;
	pa.ioas_id = devid;
	assert_int_not_equal(ictl(ctx, IOMMU_IOAS_NOIOMMU_GET_PA, &pa), 0);

	vclose(cdev);
	munmap(buf, 8 * PSZ);
	close_ctx_fd(cfd);
	vfio_devset_destroy(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_pa_needs_noiommu),
		cmocka_unit_test(test_noiommu_bind_needs_rawio),
		cmocka_unit_test(test_access_before_bind),
		cmocka_unit_test(test_bind_rules),
		cmocka_unit_test(test_attach_detach),
		cmocka_unit_test(test_devid_hwpts_and_pasid),
		cmocka_unit_test(test_noiommu_cdev_get_pa),
	};

	return cmocka_run_group_tests_name("vfio_cdev", tests, NULL, NULL);
}
