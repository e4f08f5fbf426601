// SPDX-License-Identifier: MIT
/* The object table and ioctl dispatch (main.c). */
#include "helpers.h"
#include "core/iommufd_private.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids_start_at_one_and_reuse_lowest, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_destroy_errors, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_wrong_type_is_enoent, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_dispatch_size_rules, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_dispatch_unknown_and_bad_pointer, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_bad_pointer_in_unmapped_page, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_output_not_written_on_bad_tail, setup_ctx, teardown_ctx),
		cmocka_unit_test_setup_teardown(test_rlimit_mode_option, setup_ctx, teardown_ctx),
		cmocka_unit_test(test_release_destroys_everything),
		cmocka_unit_test_setup_teardown(test_stub_commands_answer_enoent, setup_ctx, teardown_ctx),
	};

	return cmocka_run_group_tests_name("main", tests, NULL, NULL);
}
