// SPDX-License-Identifier: MIT
/* The object table and ioctl dispatch (main.c). */
#include "helpers.h"
#include "core/iommufd_private.h"
#include "host/inproc.h"

static void test_ids_start_at_one_and_reuse_lowest(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	uint32_t a = ioas_alloc(ctx), b = ioas_alloc(ctx), c = ioas_alloc(ctx);

	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	assert_int_equal(c, 3);
	assert_int_equal(destroy(ctx, b), 0);
	assert_int_equal(destroy(ctx, a), 0);
	/* The lowest free ID goes first. */
	assert_int_equal(ioas_alloc(ctx), 1);
	assert_int_equal(ioas_alloc(ctx), 2);
	assert_int_equal(ioas_alloc(ctx), 4);
}

static void test_destroy_errors(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	struct iommufd_ctx *ictx = (struct iommufd_ctx *)ctx;
	struct iommufd_object *obj;
	uint32_t id = ioas_alloc(ctx);

	assert_int_equal(destroy(ctx, 0), -ENOENT);
	assert_int_equal(destroy(ctx, id + 1), -ENOENT);
	assert_int_equal(destroy(ctx, UINT32_MAX), -ENOENT);

	/* Another holder makes destroy EBUSY and leaves the object alone. */
	obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_IOAS);
	assert_false(IS_ERR(obj));
	assert_int_equal(destroy(ctx, id), -EBUSY);
	iommufd_put_object(ictx, obj);
	assert_int_equal(destroy(ctx, id), 0);
	assert_int_equal(destroy(ctx, id), -ENOENT);
}

static void test_wrong_type_is_enoent(void **state)
{
	struct iommufd_ctx *ictx = *state;
	uint32_t id = ioas_alloc(*state);

	assert_true(IS_ERR(iommufd_get_object(ictx, id, IOMMUFD_OBJ_DEVICE)));
	assert_int_equal(PTR_ERR(iommufd_get_object(ictx, id, IOMMUFD_OBJ_HWPT_PAGING)), -ENOENT);
}

static void test_dispatch_size_rules(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	struct {
		struct iommu_destroy cmd;
		uint64_t future;
	} big = { .cmd = { .size = sizeof(big), .id = 77 } };
	struct iommu_ioas_alloc alloc = { .size = 4 };

	/* Longer struct with a zero tail: understood, object missing. */
	assert_int_equal(ictl(ctx, IOMMU_DESTROY, &big), -ENOENT);
	big.future = 1;
	assert_int_equal(ictl(ctx, IOMMU_DESTROY, &big), -E2BIG);
	big.cmd.size = sizeof(big.cmd) - 1;
	assert_int_equal(ictl(ctx, IOMMU_DESTROY, &big), -EINVAL);
	/* Below the minimum (out_ioas_id) is EINVAL and nothing is created. */
	assert_int_equal(ictl(ctx, IOMMU_IOAS_ALLOC, &alloc), -EINVAL);
	assert_int_equal(destroy(ctx, 1), -ENOENT);
}

static void test_dispatch_unknown_and_bad_pointer(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	struct iommu_destroy cmd = { .size = sizeof(cmd) };

	/* Inside the iommufd range but not a command: ENOTTY. */
	assert_int_equal(ictl(ctx, _IO(IOMMUFD_TYPE, 0x9f), &cmd), -ENOTTY);
	/* A command number with the wrong type byte: ENOTTY. */
	assert_int_equal(ictl(ctx, _IO('x', IOMMUFD_CMD_DESTROY), &cmd), -ENOTTY);
	assert_int_equal(ictl(ctx, 0x1234, &cmd), -ENOTTY);
	/* The size is read first: a bad pointer is EFAULT. */
	assert_int_equal(ictl(ctx, IOMMU_DESTROY, NULL), -EFAULT);
	assert_int_equal(uiommufd_ioctl(ctx, IOMMU_DESTROY, 0x10), -EFAULT);
	assert_int_equal(uiommufd_ioctl(ctx, IOMMU_DESTROY, UINT64_MAX - 2), -EFAULT);
}

static void test_bad_pointer_in_unmapped_page(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	uint8_t *p = map_pages(2);
	struct iommu_destroy *cmd;

	/* The struct straddles into a page that is gone. */
	assert_int_equal(munmap(p + PSZ, PSZ), 0);
	cmd = (struct iommu_destroy *)(p + PSZ - 4);
	cmd->size = sizeof(*cmd);
	assert_int_equal(ictl(ctx, IOMMU_DESTROY, cmd), -EFAULT);
	munmap(p, PSZ);
}

/*
 * An older caller's shorter struct is read no further than its size says:
 * one that ends at the edge of a page followed by nothing works, and bytes
 * past its size in the same page change nothing.
 */
static void test_short_struct_read_to_its_size(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	const size_t old_size = offsetof(struct iommu_hw_info, out_capabilities);
	uint8_t *p = map_pages(2);
	struct iommu_hw_info *info;

	assert_int_equal(munmap(p + PSZ, PSZ), 0);
	info = (struct iommu_hw_info *)(p + PSZ - old_size);
	memset(info, 0, old_size);
	info->size = (uint32_t)old_size;
	info->dev_id = 99;
	assert_int_equal(ictl(ctx, IOMMU_GET_HW_INFO, info), -ENOENT);
	info->flags = 0x80;
	assert_int_equal(ictl(ctx, IOMMU_GET_HW_INFO, info), -EOPNOTSUPP);
	/* Eight bytes past the end of the page: the size is read, then EFAULT. */
	info = (struct iommu_hw_info *)(p + PSZ - old_size + 8);
	memset(info, 0, old_size - 8);
	info->size = (uint32_t)old_size;
	assert_int_equal(ictl(ctx, IOMMU_GET_HW_INFO, info), -EFAULT);
	/* At the start of the page, with bytes past its size set. */
	memset(p, 0xff, 64);
	info = (struct iommu_hw_info *)p;
	memset(info, 0, old_size);
	info->size = (uint32_t)old_size;
	info->dev_id = 99;
	assert_int_equal(ictl(ctx, IOMMU_GET_HW_INFO, info), -ENOENT);
	munmap(p, PSZ);
}

static void test_output_not_written_on_bad_tail(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	struct {
		struct iommu_ioas_alloc cmd;
		uint32_t future;
	} big = { .cmd = { .size = sizeof(big) }, .future = 9 };

	assert_int_equal(ictl(ctx, IOMMU_IOAS_ALLOC, &big), -E2BIG);
	assert_int_equal(big.cmd.out_ioas_id, 0);
	big.future = 0;
	assert_int_equal(ictl(ctx, IOMMU_IOAS_ALLOC, &big), 0);
	assert_int_equal(big.cmd.out_ioas_id, 1);
}

static void test_rlimit_mode_option(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	struct iommu_option opt = {
		.size = sizeof(opt), .option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET, .val64 = 7,
	};
	struct uiommufd_host *host = uiommufd_host_inproc();
	bool can = ((struct uiommufd_host *)host)->ops->capable(host, HOST_CAP_SYS_RESOURCE);

	assert_int_equal(ictl(ctx, IOMMU_OPTION, &opt), 0);
	assert_int_equal(opt.val64, 0);
	opt.object_id = 1;
	assert_int_equal(ictl(ctx, IOMMU_OPTION, &opt), -EOPNOTSUPP);
	opt.object_id = 0;
	opt.__reserved = 1;
	assert_int_equal(ictl(ctx, IOMMU_OPTION, &opt), -EOPNOTSUPP);
	opt.__reserved = 0;
	opt.op = 5;
	assert_int_equal(ictl(ctx, IOMMU_OPTION, &opt), -EOPNOTSUPP);
	opt.op = IOMMU_OPTION_OP_SET;
	opt.val64 = 1;
	/* The kernel's privilege rule: CAP_SYS_RESOURCE, else EPERM. */
	assert_int_equal(ictl(ctx, IOMMU_OPTION, &opt), can ? 0 : -EPERM);
	if (can) {
		opt.val64 = 2;
		assert_int_equal(ictl(ctx, IOMMU_OPTION, &opt), -EINVAL);
		ioas_alloc(ctx);
		opt.val64 = 0;
		assert_int_equal(ictl(ctx, IOMMU_OPTION, &opt), -EBUSY);
	}
	opt.option_id = 99;
	assert_int_equal(ictl(ctx, IOMMU_OPTION, &opt), -EOPNOTSUPP);
}

static void test_release_destroys_everything(void **state)
{
	struct uiommufd_ctx *ctx;
	uint8_t *buf = map_pages(4);
	int i;

	(void)state;
	assert_int_equal(uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx), 0);
	for (i = 0; i != 8; i++) {
		uint32_t id = ioas_alloc(ctx);
		uint64_t iova = 0;

		assert_int_equal(ioas_map(ctx, id, buf, 4 * PSZ, &iova, RW), 0);
	}
	/* A dup'd reference keeps it alive; the last put frees all (ASan checks). */
	uiommufd_ctx_get(ctx);
	uiommufd_ctx_put(ctx);
	assert_int_equal(ioas_alloc(ctx), 9);
	uiommufd_ctx_put(ctx);
	assert_int_equal(uiommufd_ctx_open(uiommufd_host_inproc(), 7, &ctx), -EINVAL);
	munmap(buf, 4 * PSZ);
}

static void test_stub_commands_answer_enoent(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	struct iommu_hwpt_alloc hwpt = { .size = sizeof(hwpt), .dev_id = 5, .pt_id = 1 };
	struct iommu_hw_info info = { .size = sizeof(info), .dev_id = 5 };
	struct iommu_viommu_alloc viommu = { .size = sizeof(viommu), .type = 1, .dev_id = 5 };
	struct iommu_vdevice_alloc vdev = { .size = sizeof(vdev), .viommu_id = 5 };
	struct iommu_hwpt_invalidate inv = { .size = sizeof(inv), .hwpt_id = 9, .entry_num = 3 };
	struct iommu_hwpt_set_dirty_tracking dirty = { .size = sizeof(dirty), .hwpt_id = 2 };

	assert_int_equal(ictl(ctx, IOMMU_HWPT_ALLOC, &hwpt), -ENOENT);
	hwpt.data_len = 8;
	assert_int_equal(ictl(ctx, IOMMU_HWPT_ALLOC, &hwpt), -EINVAL);
	assert_int_equal(ictl(ctx, IOMMU_GET_HW_INFO, &info), -ENOENT);
	info.flags = 0x80;
	assert_int_equal(ictl(ctx, IOMMU_GET_HW_INFO, &info), -EOPNOTSUPP);
	assert_int_equal(ictl(ctx, IOMMU_VIOMMU_ALLOC, &viommu), -ENOENT);
	viommu.type = 0;
	assert_int_equal(ictl(ctx, IOMMU_VIOMMU_ALLOC, &viommu), -EOPNOTSUPP);
	assert_int_equal(ictl(ctx, IOMMU_VDEVICE_ALLOC, &vdev), -ENOENT);
	/* Invalidation reports entries handled even when it fails. */
	assert_int_equal(ictl(ctx, IOMMU_HWPT_INVALIDATE, &inv), -EINVAL);
	assert_int_equal(inv.entry_num, 0);
	inv.entry_num = 0;
	assert_int_equal(ictl(ctx, IOMMU_HWPT_INVALIDATE, &inv), -ENOENT);
	assert_int_equal(ictl(ctx, IOMMU_HWPT_SET_DIRTY_TRACKING, &dirty), -ENOENT);
	dirty.flags = 2;
	assert_int_equal(ictl(ctx, IOMMU_HWPT_SET_DIRTY_TRACKING, &dirty), -EOPNOTSUPP);
}

/* ------------------------------------------ create, then a reply that faults */

/*
 * Every ioctl that creates an object writes its ID (and maybe an fd) back
 * last.  When that write faults the ioctl is EFAULT and must leave nothing:
 * not the ID (the next object gets the one it would have had), not an fd,
 * not a reference on what the object would have held.
 */
struct leftovers {
	uint32_t next_id;
	int next_fd;
};

static int lowest_free_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

static void note_leftovers(struct uiommufd_ctx *ctx, struct leftovers *before)
{
	before->next_id = ioas_alloc(ctx);
	assert_int_equal(destroy(ctx, before->next_id), 0);
	before->next_fd = lowest_free_fd();
}

static void assert_no_leftovers(struct uiommufd_ctx *ctx, const struct leftovers *before)
{
	uint32_t id = ioas_alloc(ctx);

	assert_int_equal(id, before->next_id);
	assert_int_equal(destroy(ctx, id), 0);
	assert_int_equal(lowest_free_fd(), before->next_fd);
}

/* Run @number with a copy of @arg on a page mapped read-only: EFAULT, nothing made. */
static void create_with_readonly_arg(struct uiommufd_ctx *ctx, unsigned long number,
				     const void *arg, size_t len)
{
	struct leftovers before;
	void *page = map_pages(1);

	memcpy(page, arg, len);
	assert_int_equal(mprotect(page, PSZ, PROT_READ), 0);
	/* Earlier tests had pages here, unmapped without the shim to say so. */
	uiommufd_host_inproc_mm_changed();
	note_leftovers(ctx, &before);
	assert_int_equal(ictl(ctx, number, page), -EFAULT);
	assert_no_leftovers(ctx, &before);
	/* The argument was never written. */
	assert_memory_equal(page, arg, len);
	munmap(page, PSZ);
}

static void test_reply_fault_ioas_alloc(void **state)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	create_with_readonly_arg(*state, IOMMU_IOAS_ALLOC, &cmd, sizeof(cmd));
}

static void test_reply_fault_hwpt_alloc(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	uint32_t ioas = ioas_alloc(ctx), other = ioas_alloc(ctx);
	struct mock_ids dev = {};
	struct iommu_hwpt_alloc cmd = { .size = sizeof(cmd), .pt_id = other };

	assert_int_equal(mock_domain(ctx, ioas, &dev), 0);
	cmd.dev_id = dev.idev;
	create_with_readonly_arg(ctx, IOMMU_HWPT_ALLOC, &cmd, sizeof(cmd));
	/* The HWPT that never was holds no IOAS. */
	assert_int_equal(destroy(ctx, other), 0);
}

static void test_reply_fault_fault_queue_alloc(void **state)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };

	create_with_readonly_arg(*state, IOMMU_FAULT_QUEUE_ALLOC, &cmd, sizeof(cmd));
}

static void test_reply_fault_mock_domain(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	uint32_t ioas = ioas_alloc(ctx);
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = ioas,
	};

	create_with_readonly_arg(ctx, IOMMU_TEST_CMD, &cmd, sizeof(cmd));
	/* Neither the device nor its automatic HWPT holds the IOAS. */
	assert_int_equal(destroy(ctx, ioas), 0);
}

/* A device and a NEST_PARENT HWPT on @ioas, no vIOMMU yet. */
static void nest_parent_rig(struct uiommufd_ctx *ctx, uint32_t ioas, struct viommu_ids *v)
{
	assert_int_equal(mock_domain(ctx, ioas, &v->dev), 0);
	assert_int_equal(hwpt_alloc(ctx, v->dev.idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
				    &v->parent), 0);
}

static void test_reply_fault_viommu_alloc(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	struct viommu_ids v = {};
	struct iommu_viommu_alloc cmd = { .size = sizeof(cmd), .type = IOMMU_VIOMMU_TYPE_SELFTEST };

	nest_parent_rig(ctx, ioas_alloc(ctx), &v);
	cmd.dev_id = v.dev.idev;
	cmd.hwpt_id = v.parent;
	create_with_readonly_arg(ctx, IOMMU_VIOMMU_ALLOC, &cmd, sizeof(cmd));
	/* The parent is held by nothing. */
	assert_int_equal(destroy(ctx, v.parent), 0);
}

static void test_reply_fault_vdevice_alloc(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	struct viommu_ids v = {};
	struct iommu_vdevice_alloc cmd = { .size = sizeof(cmd), .virt_id = 0x44 };
	uint32_t vdev = 0;

	viommu_rig(ctx, ioas_alloc(ctx), &v);
	cmd.viommu_id = v.viommu;
	cmd.dev_id = v.dev.idev;
	create_with_readonly_arg(ctx, IOMMU_VDEVICE_ALLOC, &cmd, sizeof(cmd));
	/* The device has no vDEVICE: a real one can be made, and the vIOMMU is free. */
	assert_int_equal(vdevice_alloc(ctx, v.viommu, v.dev.idev, 0x44, &vdev), 0);
	assert_int_equal(destroy(ctx, vdev), 0);
	assert_int_equal(destroy(ctx, v.viommu), 0);
}

static void test_reply_fault_veventq_alloc(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	struct viommu_ids v = {};
	struct iommu_veventq_alloc cmd = {
		.size = sizeof(cmd), .type = IOMMU_VEVENTQ_TYPE_SELFTEST, .veventq_depth = 2,
	};
	uint32_t id;

	viommu_rig(ctx, ioas_alloc(ctx), &v);
	cmd.viommu_id = v.viommu;
	create_with_readonly_arg(ctx, IOMMU_VEVENTQ_ALLOC, &cmd, sizeof(cmd));
	/* No queue of that type is left on the vIOMMU. */
	assert_int_equal(ictl(ctx, IOMMU_VEVENTQ_ALLOC, &cmd), 0);
	id = cmd.out_veventq_id;
	/* close() as the shim reports it. */
	uiommufd_host_inproc_fd_closed((int)cmd.out_veventq_fd);
	close((int)cmd.out_veventq_fd);
	assert_int_equal(destroy(ctx, id), 0);
	assert_int_equal(destroy(ctx, v.viommu), 0);
}

static void test_reply_fault_hw_queue_alloc(void **state)
{
	struct uiommufd_ctx *ctx = *state;
	uint32_t ioas = ioas_alloc(ctx);
	uint64_t iova = MOCK_APERTURE_START;
	uint8_t *buf = map_pages(1);
	struct viommu_ids v = {};
	struct iommu_hw_queue_alloc cmd = {
		.size = sizeof(cmd), .type = IOMMU_HW_QUEUE_TYPE_SELFTEST,
		.nesting_parent_iova = MOCK_APERTURE_START, .length = PSZ,
	};

	viommu_rig(ctx, ioas, &v);
	assert_int_equal(ioas_map(ctx, ioas, buf, PSZ, &iova, RW_FIXED), 0);
	cmd.viommu_id = v.viommu;
	create_with_readonly_arg(ctx, IOMMU_HW_QUEUE_ALLOC, &cmd, sizeof(cmd));
	/* No extra pin, no lock on the IOVA, no hold on the vIOMMU. */
	assert_int_equal(check_refs(ctx, buf, PSZ, 1), 0);
	assert_int_equal(ioas_unmap(ctx, ioas, iova, PSZ, NULL), 0);
	assert_int_equal(destroy(ctx, v.viommu), 0);
	munmap(buf, PSZ);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids_start_at_one_and_reuse_lowest, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_destroy_errors, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_wrong_type_is_enoent, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_dispatch_size_rules, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_dispatch_unknown_and_bad_pointer, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_bad_pointer_in_unmapped_page, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_short_struct_read_to_its_size, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_output_not_written_on_bad_tail, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_rlimit_mode_option, setup_ctx, teardown_ctx),
		cmocka_unit_test(test_release_destroys_everything),
		cmocka_unit_test_setup_teardown(test_stub_commands_answer_enoent, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_reply_fault_ioas_alloc, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_reply_fault_hwpt_alloc, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_reply_fault_fault_queue_alloc, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_reply_fault_mock_domain, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_reply_fault_viommu_alloc, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_reply_fault_vdevice_alloc, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_reply_fault_veventq_alloc, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_reply_fault_hw_queue_alloc, setup_ctx, teardown_ctx),
	};

	return cmocka_run_group_tests_name("main", tests, NULL, NULL);
}
