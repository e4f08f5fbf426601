// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness over the ioctl surface: iommufd, VFIO type1 and the
 * selftest command, on one in-process context per input.
 *
 * An input is a header byte and then a list of calls.  Each call names an
 * ioctl from the table below and says where its argument lives (the arena,
 * right against a PROT_NONE page, NULL, PROT_NONE, unmapped), what goes in
 * its size field (the real size, shorter, longer with a zero or non-zero
 * tail, 0xffffffff, any), and its bytes: raw from the input or all ones,
 * then a few patches that drop plausible values (small object IDs,
 * pointers into the arena or at bad memory, page-sized lengths, IOVAs, a
 * memfd) at chosen offsets, so the fuzzer reaches past the first checks.
 *
 * Every result must be success or an errno the kernel could give.  After
 * the input the context is closed and its descriptors too; then no page of
 * the arena may be pinned or charged and a fresh context must alloc, map
 * and unmap an IOAS.  LeakSanitizer catches anything left allocated.
 */
#include "fuzz_common.h"

#define ARENA_PAGES 32		/* read-write; page ARENA_PAGES is PROT_NONE */
#define ARG_PAGE 24		/* where arguments normally go */
#define ARG_MAX 512		/* room for the largest struct plus a tail */
#define IOVA_BASE (1UL << 24)	/* the mock aperture starts here */
#define MAX_CALLS 48

extern size_t iommufd_temp_memory_limit;

static uint8_t *arena;
static uint8_t *none_page;
static int memfd = -1;
static size_t saved_memory_limit;

/* Never mapped: below mmap_min_addr, and not canonical. */
#define UNMAPPED_LOW 0x1000UL
#define UNMAPPED_HIGH 0x8000000000000000UL

enum arg_kind {
	ARG_STRUCT,	/* a pointer to a struct whose first u32 is its size */
	ARG_VALUE,	/* a plain integer (VFIO_CHECK_EXTENSION and friends) */
};

struct fz_ioctl {
	unsigned long cmd;
	uint32_t size;	/* the real struct size; 0 for commands that take none */
	enum arg_kind kind;
};

#define S(cmd, type) { cmd, sizeof(struct type), ARG_STRUCT }
static const struct fz_ioctl table[] = {
	S(IOMMU_DESTROY, iommu_destroy),
	S(IOMMU_IOAS_ALLOC, iommu_ioas_alloc),
	S(IOMMU_IOAS_ALLOW_IOVAS, iommu_ioas_allow_iovas),
	S(IOMMU_IOAS_COPY, iommu_ioas_copy),
	S(IOMMU_IOAS_IOVA_RANGES, iommu_ioas_iova_ranges),
	S(IOMMU_IOAS_MAP, iommu_ioas_map),
	S(IOMMU_IOAS_UNMAP, iommu_ioas_unmap),
	S(IOMMU_OPTION, iommu_option),
	S(IOMMU_VFIO_IOAS, iommu_vfio_ioas),
	S(IOMMU_HWPT_ALLOC, iommu_hwpt_alloc),
	S(IOMMU_GET_HW_INFO, iommu_hw_info),
	S(IOMMU_HWPT_SET_DIRTY_TRACKING, iommu_hwpt_set_dirty_tracking),
	S(IOMMU_HWPT_GET_DIRTY_BITMAP, iommu_hwpt_get_dirty_bitmap),
	S(IOMMU_HWPT_INVALIDATE, iommu_hwpt_invalidate),
	S(IOMMU_FAULT_QUEUE_ALLOC, iommu_fault_alloc),
	S(IOMMU_IOAS_MAP_FILE, iommu_ioas_map_file),
	S(IOMMU_VIOMMU_ALLOC, iommu_viommu_alloc),
	S(IOMMU_VDEVICE_ALLOC, iommu_vdevice_alloc),
	S(IOMMU_IOAS_CHANGE_PROCESS, iommu_ioas_change_process),
	S(IOMMU_VEVENTQ_ALLOC, iommu_veventq_alloc),
	S(IOMMU_HW_QUEUE_ALLOC, iommu_hw_queue_alloc),
	S(IOMMU_IOAS_NOIOMMU_GET_PA, iommu_ioas_noiommu_get_pa),
	{ _IO(IOMMUFD_TYPE, 0x96), 32, ARG_STRUCT },
	S(IOMMU_TEST_CMD, iommu_test_cmd),
	S(IOMMU_TEST_CMD, iommu_test_cmd),	/* twice: the selftest has many ops */
	S(IOMMU_TEST_CMD, iommu_test_cmd),
	{ VFIO_GET_API_VERSION, 0, ARG_VALUE },
	{ VFIO_CHECK_EXTENSION, 0, ARG_VALUE },
	{ VFIO_SET_IOMMU, 0, ARG_VALUE },
	S(VFIO_IOMMU_GET_INFO, vfio_iommu_type1_info),
	S(VFIO_IOMMU_MAP_DMA, vfio_iommu_type1_dma_map),
	S(VFIO_IOMMU_UNMAP_DMA, vfio_iommu_type1_dma_unmap),
	{ VFIO_IOMMU_ENABLE, 0, ARG_VALUE },
	{ VFIO_IOMMU_DISABLE, 0, ARG_VALUE },
	S(VFIO_IOMMU_DIRTY_PAGES, vfio_iommu_type1_dirty_bitmap),
};
#undef S
#define NR_IOCTLS (sizeof(table) / sizeof(table[0]))

static void setup_once(void)
{
	uint8_t *m;

	m = mmap(NULL, (ARENA_PAGES + 1) * FZ_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fz_fail("arena mmap");
	none_page = m + ARENA_PAGES * FZ_PAGE;
	if (mprotect(none_page, FZ_PAGE, PROT_NONE))
		fz_fail("arena mprotect");
	arena = m;
	memfd = memfd_create("fuzz_ioctl", 0);
	if (memfd < 0 || ftruncate(memfd, 16 * FZ_PAGE))
		fz_fail("memfd");
	saved_memory_limit = iommufd_temp_memory_limit;
	fz_fds_baseline();
}

/* What the kernel may answer; anything else is a bug. */
static bool errno_ok(long rc)
{
	switch (-rc) {
	case EFAULT: case EINVAL: case E2BIG: case ENOTTY: case EOPNOTSUPP: case ENOENT:
	case EOVERFLOW: case EBUSY: case ENOMEM: case ENOSPC: case EPERM: case EEXIST:
	case EADDRINUSE: case EBADF: case EIO: case ESPIPE: case EDEADLK: case ENODEV:
	case ENXIO: case ERANGE: case EBADE: case EACCES: case EMSGSIZE:
	case EBADFD:
		return true;
	default:
		return false;
	}
}

/* Objects everything else can refer to: IOAS 1, mock device 2-4, an access. */
static int prelude(struct uiommufd_ctx *ctx, unsigned int what)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 IOMMU_IOAS_MAP_FIXED_IOVA,
		.ioas_id = 1,
		.user_va = (uintptr_t)arena,
		.length = 8 * FZ_PAGE,
		.iova = IOVA_BASE,
	};
	struct iommu_test_cmd md = {
		.size = sizeof(md), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = 1,
	};
	struct iommu_test_cmd acc = {
		.size = sizeof(acc), .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = 1,
		.create_access = { .flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES },
	};

	if (fz_ioctl(ctx, IOMMU_IOAS_ALLOC, &alloc) || alloc.out_ioas_id != 1)
		fz_fail("prelude IOAS_ALLOC");
	if (fz_ioctl(ctx, IOMMU_IOAS_MAP, &map))
		fz_fail("prelude IOAS_MAP");
	if (what & 1) {
		long rc = fz_ioctl(ctx, IOMMU_TEST_CMD, &md);

		if (rc)
			fz_fail("prelude MOCK_DOMAIN: %ld", rc);
	}
	if (what & 2) {
		if (fz_ioctl(ctx, IOMMU_TEST_CMD, &acc))
			fz_fail("prelude CREATE_ACCESS");
		return (int)acc.create_access.out_access_fd;
	}
	return -1;
}

/* Drop one plausible value into the argument at a chosen offset. */
static void patch(struct fz_in *in, uint8_t *arg, uint32_t real, int access_fd)
{
	unsigned int off = (fz_u8(in) * 4u) % (real ? real : 4);
	uint8_t kind = fz_u8(in), b = fz_u8(in);
	uint64_t v64;
	uint32_t v32;
	bool wide = true;

	switch (kind % 10) {
	case 0: v32 = 1 + b % 8; wide = false; break;
	case 1: v64 = (uintptr_t)arena + (b % ARENA_PAGES) * FZ_PAGE; break;
	case 2: v64 = (uintptr_t)none_page + (b & 0xf) * 8; break;
	case 3: v64 = (b & 1) ? UNMAPPED_HIGH : UNMAPPED_LOW; break;
	case 4: v64 = (uint64_t)(b % 16 + 1) * FZ_PAGE; break;
	case 5: v64 = IOVA_BASE + (uint64_t)(b % 16) * FZ_PAGE; break;
	case 6: v32 = (uint32_t)memfd; wide = false; break;
	case 7: v64 = ~0ULL; break;
	case 8: v32 = (uint32_t)access_fd; wide = false; break;
	default: v32 = b; wide = false; break;
	}
	if (wide) {
		off &= ~7u;
		if (off + 8 > ARG_MAX)
			return;
		memcpy(arg + off, &v64, 8);
	} else {
		memcpy(arg + off, &v32, 4);
	}
}

/* The size field an argument claims. */
static uint32_t claimed_size(struct fz_in *in, unsigned int mode, uint32_t real, uint8_t *arg)
{
	switch (mode) {
	case 3: return real > 8 ? real - 1 - fz_u8(in) % 8 : 0;
	case 4: return real + 8;	/* tail left zero */
	case 5: arg[real + (fz_u8(in) & 7)] = 1 + fz_u8(in) % 255; return real + 8;
	case 6: return fz_u32(in);
	case 7: return 0xffffffffu;
	default: return real;
	}
}

/*
 * MD_CHECK_REFS looks at every page of its range, in the kernel as here:
 * its cost is its length.  A fuzzed length over a huge readable mapping
 * (ASan's shadow) is a timeout, not a finding; keep it to 64 MiB.
 */
static void check_refs_bound(const struct fz_ioctl *io, uint8_t *arg)
{
	const size_t at = offsetof(struct iommu_test_cmd, check_refs.length);
	uint64_t len;
	uint32_t op;

	if (io->cmd != IOMMU_TEST_CMD)
		return;
	memcpy(&op, arg + offsetof(struct iommu_test_cmd, op), sizeof(op));
	if (op != IOMMU_TEST_OP_MD_CHECK_REFS)
		return;
	memcpy(&len, arg + at, sizeof(len));
	len &= (1ULL << 26) - 1;
	memcpy(arg + at, &len, sizeof(len));
}

/* Whether a test command's argument asked for a dma-buf (its result is an fd). */
static bool dmabuf_get_op(const uint8_t *arg)
{
	uint32_t op;

	memcpy(&op, arg + offsetof(struct iommu_test_cmd, op), sizeof(op));
	return op == IOMMU_TEST_OP_DMABUF_GET;
}

static void one_call(struct uiommufd_ctx *ctx, struct fz_in *in, int access_fd)
{
	const struct fz_ioctl *io = &table[fz_u8(in) % NR_IOCTLS];
	uint8_t mode = fz_u8(in);
	unsigned int where = mode & 7, size_mode = (mode >> 3) & 7, npatches, i;
	uint8_t arg[ARG_MAX + 16] = {};
	uint64_t uarg;
	uint32_t size;
	long rc;

	if (io->kind == ARG_VALUE) {
		rc = uiommufd_ioctl(ctx, io->cmd, (mode & 0x80) ? fz_u64(in) : fz_u8(in));
		if (rc < 0 && !errno_ok(rc))
			fz_fail("ioctl %#lx (value) gave %ld", io->cmd, rc);
		return;
	}
	if (mode & 0x40)
		memset(arg, 0xff, io->size);
	else
		for (i = 0; i != io->size; i++)
			arg[i] = fz_u8(in);
	npatches = fz_u8(in) % 8;
	for (i = 0; i != npatches; i++)
		patch(in, arg, io->size, access_fd);
	size = claimed_size(in, size_mode, io->size, arg);
	memcpy(arg, &size, sizeof(size));
	check_refs_bound(io, arg);

	switch (where) {
	case 4:	/* right against the PROT_NONE page: reading past real size faults */
		uarg = (uintptr_t)none_page - io->size;
		memcpy((void *)(uintptr_t)uarg, arg, io->size);
		break;
	case 5: uarg = 0; break;
	case 6: uarg = (uintptr_t)none_page; break;
	case 7: uarg = (mode & 0x80) ? UNMAPPED_HIGH : UNMAPPED_LOW; break;
	default:
		uarg = (uintptr_t)arena + ARG_PAGE * FZ_PAGE;
		memcpy(arena + ARG_PAGE * FZ_PAGE, arg, sizeof(arg));
		break;
	}
	rc = uiommufd_ioctl(ctx, io->cmd, uarg);
	if (rc < 0 && !errno_ok(rc))
		fz_fail("ioctl %#lx size %u at %#llx gave %ld", io->cmd, size,
			(unsigned long long)uarg, rc);
	/*
	 * iommufd commands answer 0 or an errno; only VFIO's have values, and
	 * the selftest's DMABUF_GET, whose result is the new descriptor.
	 */
	if (rc > 0 && _IOC_NR(io->cmd) >= IOMMUFD_CMD_BASE && io->cmd != VFIO_IOMMU_GET_INFO &&
	    !(io->cmd == IOMMU_TEST_CMD && dmabuf_get_op(arg)))
		fz_fail("ioctl %#lx returned %ld", io->cmd, rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct uiommufd_ctx *ctx;
	uint8_t head;
	unsigned int calls = 0;
	int access_fd = -1;

	if (!arena)
		setup_once();
	head = fz_u8(&in);
	if (uiommufd_ctx_open(uiommufd_host_inproc(),
			      (head & 1) ? UIOMMUFD_OPEN_VFIO_CONTAINER : 0, &ctx))
		fz_fail("ctx open");
	if (head & 2)
		access_fd = prelude(ctx, head >> 2);
	while (in.n && calls++ < MAX_CALLS)
		one_call(ctx, &in, access_fd);

	uiommufd_ctx_put(ctx);
	fz_fds_cleanup();
	iommufd_temp_memory_limit = saved_memory_limit;
	fz_check_unpinned(arena, ARENA_PAGES);
	fz_check_healthy();
	return 0;
}
