/* SPDX-License-Identifier: MIT */
/* Shared helpers for the unit tests: a context per test, ioctl shortcuts. */
#ifndef UIOMMUFD_TEST_HELPERS_H
#define UIOMMUFD_TEST_HELPERS_H

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "uiommufd.h"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

#define PSZ ((uint64_t)sysconf(_SC_PAGESIZE))

/* Entries of a directory under /proc (self/fd, self/task), "." and ".." not counted. */
static inline int proc_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * Open descriptors of this process, the directory's own not counted: the
 * host holds files as dups, so a file reference left behind shows here.
 */
static inline int count_fds(void)
{
	return proc_entries("/proc/self/fd") - 1;
}

static inline long ictl(struct uiommufd_ctx *ctx, unsigned long cmd, void *arg)
{
	return uiommufd_ioctl(ctx, cmd, (uint64_t)(uintptr_t)arg);
}

static inline int setup_ctx(void **state)
{
	struct uiommufd_ctx *ctx;

	if (uiommufd_ctx_open(uiommufd_host_inproc(), 0, &ctx))
		return -1;
	*state = ctx;
	return 0;
}

static inline int teardown_ctx(void **state)
{
	uiommufd_ctx_put(*state);
	return 0;
}

static inline uint32_t ioas_alloc(struct uiommufd_ctx *ctx)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	assert_int_equal(ictl(ctx, IOMMU_IOAS_ALLOC, &cmd), 0);
	assert_int_not_equal(cmd.out_ioas_id, 0);
	return cmd.out_ioas_id;
}

static inline long ioas_map(struct uiommufd_ctx *ctx, uint32_t ioas, void *buf, uint64_t len,
			    uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas,
		.user_va = (uintptr_t)buf,
		.length = len,
		.iova = *iova,
	};
	long rc = ictl(ctx, IOMMU_IOAS_MAP, &cmd);

	if (!rc)
		*iova = cmd.iova;
	return rc;
}

#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define RW_FIXED (RW | IOMMU_IOAS_MAP_FIXED_IOVA)

static inline long ioas_unmap(struct uiommufd_ctx *ctx, uint32_t ioas, uint64_t iova,
			      uint64_t len, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = len,
	};
	long rc = ictl(ctx, IOMMU_IOAS_UNMAP, &cmd);

	if (unmapped)
		*unmapped = cmd.length;
	return rc;
}

static inline long destroy(struct uiommufd_ctx *ctx, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ictl(ctx, IOMMU_DESTROY, &cmd);
}

static inline void *map_pages(size_t npages)
{
	void *p = mmap(NULL, npages * PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	assert_ptr_not_equal(p, MAP_FAILED);
	memset(p, 0x5a, npages * PSZ);
	return p;
}

/* The usual fixture: a context, one IOAS and @npages pages of fresh memory. */
static inline int fixture_open(struct uiommufd_ctx **ctx, uint32_t *ioas, uint8_t **buf,
			       size_t npages)
{
	if (uiommufd_ctx_open(uiommufd_host_inproc(), 0, ctx))
		return -1;
	*ioas = ioas_alloc(*ctx);
	*buf = map_pages(npages);
	return 0;
}

static inline void fixture_close(struct uiommufd_ctx *ctx, uint8_t *buf, size_t npages)
{
	uiommufd_ctx_put(ctx);
	munmap(buf, npages * PSZ);
}

/* ---- mock devices, HWPTs and the selftest checks (IOMMU_TEST_CMD) */

struct mock_ids {
	uint32_t stdev;		/* the selftest object: destroying it removes the device */
	uint32_t hwpt;		/* the HWPT the device was attached to */
	uint32_t idev;		/* the iommufd device */
};

/*
 * IOMMU_TEST_OP_MOCK_DOMAIN(_FLAGS): a mock device attached to @pt_id.  Both
 * ops answer in the same leading fields.
 */
static inline long mock_domain_op(struct uiommufd_ctx *ctx, uint32_t op, uint32_t pt_id,
				  uint32_t dev_flags, struct mock_ids *out)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = op, .id = pt_id,
		.mock_domain_flags = { .dev_flags = dev_flags },
	};
	long rc = ictl(ctx, IOMMU_TEST_CMD, &cmd);

	if (!rc && out) {
		out->stdev = cmd.mock_domain.out_stdev_id;
		out->hwpt = cmd.mock_domain.out_hwpt_id;
		out->idev = cmd.mock_domain.out_idev_id;
	}
	return rc;
}

static inline long mock_domain_flags(struct uiommufd_ctx *ctx, uint32_t pt_id,
				     uint32_t dev_flags, struct mock_ids *out)
{
	return mock_domain_op(ctx, IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, pt_id, dev_flags, out);
}

static inline long mock_domain(struct uiommufd_ctx *ctx, uint32_t pt_id, struct mock_ids *out)
{
	return mock_domain_op(ctx, IOMMU_TEST_OP_MOCK_DOMAIN, pt_id, 0, out);
}


/* IOMMU_HWPT_INVALIDATE on a HWPT or vIOMMU; *@entry_num gets what the kernel wrote back. */
static inline long invalidate(struct uiommufd_ctx *ctx, uint32_t id, uint32_t type,
			      const void *reqs, uint32_t entry_len, uint32_t *entry_num)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd), .hwpt_id = id, .data_type = type,
		.data_uptr = (uintptr_t)reqs, .entry_len = entry_len, .entry_num = *entry_num,
	};
	long rc = ictl(ctx, IOMMU_HWPT_INVALIDATE, &cmd);

	*entry_num = cmd.entry_num;
	return rc;
}

/* IOMMU_TEST_OP_DEV_CHECK_CACHE: cache slot @id of device @idev holds @want. */
static inline long check_cache(struct uiommufd_ctx *ctx, uint32_t idev, uint32_t id,
			       uint32_t want)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DEV_CHECK_CACHE, .id = idev,
		.check_dev_cache = { .id = id, .cache = want },
	};

	return ictl(ctx, IOMMU_TEST_CMD, &cmd);
}

/* IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE; *@pt_id gets the HWPT now attached. */
static inline long mock_domain_replace(struct uiommufd_ctx *ctx, uint32_t stdev, uint32_t *pt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev,
		.mock_domain_replace = { .pt_id = *pt_id },
	};
	long rc = ictl(ctx, IOMMU_TEST_CMD, &cmd);

	if (!rc)
		*pt_id = cmd.mock_domain_replace.pt_id;
	return rc;
}

/* IOMMU_TEST_OP_MD_CHECK_REFS: every page of the range holds @refs pins. */
static inline long check_refs(struct uiommufd_ctx *ctx, const void *p, uint64_t len,
			      uint32_t refs)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = len, .uptr = (uintptr_t)p, .refs = refs },
	};

	return ictl(ctx, IOMMU_TEST_CMD, &cmd);
}

/* IOMMU_TEST_OP_MD_CHECK_MAP: the mock HWPT maps [iova, +len) to @p. */
static inline long check_map(struct uiommufd_ctx *ctx, uint32_t hwpt, uint64_t iova,
			     uint64_t len, const void *p)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_MAP, .id = hwpt,
		.check_map = { .iova = iova, .length = len, .uptr = (uintptr_t)p },
	};

	return ictl(ctx, IOMMU_TEST_CMD, &cmd);
}

/* IOMMU_IOAS_IOVA_RANGES into @ranges (room for *@num); *@num gets the count. */
static inline long iova_ranges(struct uiommufd_ctx *ctx, uint32_t ioas,
			       struct iommu_iova_range *ranges, uint32_t *num, uint64_t *align)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = *num,
		.allowed_iovas = (uintptr_t)ranges,
	};
	long rc = ictl(ctx, IOMMU_IOAS_IOVA_RANGES, &cmd);

	*num = cmd.num_iovas;
	if (align)
		*align = cmd.out_iova_alignment;
	return rc;
}

/* Assert the IOAS reports exactly one usable range [start, last] and @align. */
static inline void assert_one_range(struct uiommufd_ctx *ctx, uint32_t ioas, uint64_t start,
				    uint64_t last, uint64_t align)
{
	struct iommu_iova_range r[4] = {};
	uint32_t num = 4;
	uint64_t got_align = 0;

	assert_int_equal(iova_ranges(ctx, ioas, r, &num, &got_align), 0);
	assert_int_equal(num, 1);
	assert_int_equal(r[0].start, start);
	assert_int_equal(r[0].last, last);
	assert_int_equal(got_align, align);
}

/* IOMMU_HWPT_ALLOC of a paging HWPT with no driver data. */
static inline long hwpt_alloc(struct uiommufd_ctx *ctx, uint32_t dev_id, uint32_t pt_id,
			      uint32_t flags, uint32_t *out)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev_id, .pt_id = pt_id,
	};
	long rc = ictl(ctx, IOMMU_HWPT_ALLOC, &cmd);

	if (!rc && out)
		*out = cmd.out_hwpt_id;
	return rc;
}

/* IOMMU_OPTION HUGE_PAGES on an IOAS (0: map at PAGE_SIZE only). */
static inline long ioas_set_huge_pages(struct uiommufd_ctx *ctx, uint32_t ioas, uint64_t val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_SET, .object_id = ioas, .val64 = val,
	};

	return ictl(ctx, IOMMU_OPTION, &cmd);
}

/* ---- vIOMMUs */

/* IOMMU_VIOMMU_ALLOC of the mock's type; @data (may be NULL) is its driver data. */
static inline long viommu_alloc(struct uiommufd_ctx *ctx, uint32_t dev_id, uint32_t hwpt_id,
				uint32_t type, void *data, uint32_t data_len, uint32_t *out)
{
	struct iommu_viommu_alloc cmd = {
		.size = sizeof(cmd), .type = type, .dev_id = dev_id, .hwpt_id = hwpt_id,
		.data_len = data_len, .data_uptr = (uintptr_t)data,
	};
	long rc = ictl(ctx, IOMMU_VIOMMU_ALLOC, &cmd);

	if (!rc && out)
		*out = cmd.out_viommu_id;
	return rc;
}

static inline long vdevice_alloc(struct uiommufd_ctx *ctx, uint32_t viommu_id, uint32_t dev_id,
				 uint64_t virt_id, uint32_t *out)
{
	struct iommu_vdevice_alloc cmd = {
		.size = sizeof(cmd), .viommu_id = viommu_id, .dev_id = dev_id, .virt_id = virt_id,
	};
	long rc = ictl(ctx, IOMMU_VDEVICE_ALLOC, &cmd);

	if (!rc && out)
		*out = cmd.out_vdevice_id;
	return rc;
}

/* A nested HWPT of the mock's data type on @pt_id (a NEST_PARENT HWPT or a vIOMMU). */
static inline long hwpt_alloc_nested(struct uiommufd_ctx *ctx, uint32_t dev_id, uint32_t pt_id,
				     uint32_t flags, uint32_t fault_id, uint32_t *out)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev_id, .pt_id = pt_id,
		.fault_id = fault_id, .data_type = IOMMU_HWPT_DATA_SELFTEST,
		.data_len = sizeof(data), .data_uptr = (uintptr_t)&data,
	};
	long rc = ictl(ctx, IOMMU_HWPT_ALLOC, &cmd);

	if (!rc && out)
		*out = cmd.out_hwpt_id;
	return rc;
}

/*
 * The usual vIOMMU rig: a mock device on @ioas, a NEST_PARENT HWPT and a
 * vIOMMU of the mock's type on it.
 */
struct viommu_ids {
	struct mock_ids dev;
	uint32_t parent;
	uint32_t viommu;
};

static inline void viommu_rig(struct uiommufd_ctx *ctx, uint32_t ioas, struct viommu_ids *v)
{
	assert_int_equal(mock_domain(ctx, ioas, &v->dev), 0);
	assert_int_equal(hwpt_alloc(ctx, v->dev.idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
				    &v->parent), 0);
	assert_int_equal(viommu_alloc(ctx, v->dev.idev, v->parent, IOMMU_VIOMMU_TYPE_SELFTEST,
				      NULL, 0, &v->viommu), 0);
}

#endif
