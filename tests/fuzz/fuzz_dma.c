// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for device DMA against a shadow model.
 *
 * Each input gets a context with one IOAS, a mock device attached to it
 * (IOMMU_TEST_OP_MOCK_DOMAIN) and a selftest access, and a window of 32
 * pages of its own memory ("slots"; the first 16 read-write, the rest
 * PROT_NONE).  The input is a list of operations: map slots at an IOVA with
 * some permission, unmap IOVA ranges, device DMA (uiommufd_device_dma),
 * ACCESS_RW, CPU writes, and what a program does to its memory: munmap,
 * mmap(MAP_FIXED), mremap, fork, madvise(MADV_DONTNEED) and mprotect.  Memory operations tell the host what the shim would, in the
 * order the shim does.
 *
 * The model.  A page of memory is a "frame" with contents.  A slot shows
 * one frame (or none); an IOVA page maps one frame with the area's
 * permission.  Pinning takes the frame a slot shows; the pin keeps it
 * whatever later happens to the slot, as the kernel's pins keep their
 * pages: munmap leaves the slot without a frame, MAP_FIXED and madvise give
 * it a fresh zero frame, mremap moves the frame to another slot.  Then:
 *   - map succeeds iff the slots show frames with the access the pin needs
 *     and the IOVA pages are free;
 *   - unmap removes whole areas in IOVA order and stops (ENOENT) at the
 *     first area the range cuts;
 *   - DMA walks page by page: an unmapped page is EFAULT, a missing
 *     permission EPERM; bytes before that page move, none after;
 *   - ACCESS_RW's slow path goes through the frames as DMA does; its fast
 *     path through the program's current mapping of the area's address;
 *   - a successful read returns exactly the frames' bytes; a write changes
 *     exactly the bytes it covers;
 *   - what the program reads in its slots is its frames' contents.
 * At the end the context is closed: nothing may stay pinned or charged.
 */
#include <sched.h>
#include <sys/wait.h>

#include "fuzz_common.h"

#define SLOTS 32
#define RW_SLOTS 16
#define IOVA_PAGES 64
#define IOVA_BASE (1UL << 24)	/* the mock aperture starts here */
#define MAX_FRAMES 512
#define MAX_OPS 64
#define DMA_MAX (3 * FZ_PAGE)

enum slot_state { SLOT_GONE, SLOT_NONE, SLOT_RO, SLOT_RW, SLOT_FOREIGN };

struct slot {
	enum slot_state state;
	int frame;		/* -1: none */
};

struct iova_page {
	int frame;		/* -1: unmapped */
	unsigned int slot;	/* the user address it was mapped from */
	unsigned int prot;	/* IOMMU_IOAS_MAP_READABLE / _WRITEABLE */
	unsigned int area;	/* first IOVA page of the area */
};

struct area {
	unsigned int first, npages;
	bool used;
};

static struct {
	struct uiommufd_ctx *ctx;
	uint32_t ioas, idev;
	int access_fd;
	uint8_t *win;
	struct slot slot[SLOTS];
	struct iova_page iova[IOVA_PAGES];
	struct area area[IOVA_PAGES];
	uint8_t frame[MAX_FRAMES][FZ_PAGE];
	int nframes;
	bool trace;
} m;

static uint8_t dmabuf[DMA_MAX + FZ_PAGE];
static uint8_t expect[DMA_MAX + FZ_PAGE];

static uint8_t *slot_addr(unsigned int s)
{
	return m.win + (size_t)s * FZ_PAGE;
}

/* A fresh zero frame, or -1 when the input used them all (then: no more ops). */
static int frame_new(void)
{
	if (m.nframes == MAX_FRAMES)
		return -1;
	memset(m.frame[m.nframes], 0, FZ_PAGE);
	return m.nframes++;
}

static bool slot_shows(unsigned int s)
{
	return m.slot[s].state == SLOT_RO || m.slot[s].state == SLOT_RW;
}

/* ---- program memory, with the host told what the shim would tell it */

static void shim_unmapping(void *addr, size_t len)
{
	uiommufd_host_inproc_mm_changed();
	if (uiommufd_host_inproc_range_pinned(addr, len))
		uiommufd_host_inproc_unmap_notify(addr, len);
}

/* Put a PROT_NONE placeholder in a hole so nothing else lands there. */
static void slots_reserve(unsigned int s, unsigned int n)
{
	unsigned int i;
	void *p = mmap(slot_addr(s), n * FZ_PAGE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	for (i = s; i != s + n; i++) {
		m.slot[i].state = p == slot_addr(s) ? SLOT_NONE : SLOT_FOREIGN;
		m.slot[i].frame = -1;
	}
	if (p != MAP_FAILED && p != slot_addr(s))
		munmap(p, n * FZ_PAGE);	/* an old kernel took the hint elsewhere */
}

static bool slots_own(unsigned int s, unsigned int n)
{
	unsigned int i;

	for (i = s; i != s + n; i++)
		if (m.slot[i].state == SLOT_FOREIGN)
			return false;
	return true;
}

static void op_munmap(unsigned int s, unsigned int n)
{
	if (!slots_own(s, n))
		return;
	shim_unmapping(slot_addr(s), n * FZ_PAGE);
	if (munmap(slot_addr(s), n * FZ_PAGE))
		fz_fail("munmap");
	uiommufd_munmap_notify(slot_addr(s), n * FZ_PAGE);
	slots_reserve(s, n);
}

static void op_map_fixed(unsigned int s, unsigned int n)
{
	unsigned int i;

	if (!slots_own(s, n) || m.nframes + (int)n > MAX_FRAMES)
		return;
	shim_unmapping(slot_addr(s), n * FZ_PAGE);
	if (mmap(slot_addr(s), n * FZ_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != slot_addr(s))
		fz_fail("mmap MAP_FIXED");
	uiommufd_munmap_notify(slot_addr(s), n * FZ_PAGE);
	for (i = s; i != s + n; i++) {
		m.slot[i].state = SLOT_RW;
		m.slot[i].frame = frame_new();
	}
}

/* mremap(MREMAP_FIXED) of slots [s, s+n) to [d, d+n), as the shim wraps it. */
static void op_mremap(unsigned int s, unsigned int d, unsigned int n)
{
	struct slot moved[SLOTS];
	void *old = slot_addr(s), *to = slot_addr(d), *p;
	size_t len = n * FZ_PAGE;
	unsigned int i;

	if ((s < d ? d - s : s - d) < n || !slots_own(s, n) || !slots_own(d, n))
		return;
	for (i = s; i != s + n; i++)
		if (!slot_shows(i) || m.slot[i].state != m.slot[s].state)
			return;
	shim_unmapping(to, len);
	uiommufd_host_inproc_mm_changed();
	if (uiommufd_host_inproc_range_pinned(old, len)) {
		uiommufd_host_inproc_move_begin();
		p = mremap(old, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (p != MAP_FAILED && p != old)
			uiommufd_host_inproc_remap_notify(old, len, p);
		uiommufd_host_inproc_move_end();
	} else {
		p = mremap(old, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	}
	if (p == MAP_FAILED)
		return;	/* the slots were separate mappings: nothing moved */
	memcpy(moved, &m.slot[s], n * sizeof(moved[0]));
	memcpy(&m.slot[d], moved, n * sizeof(moved[0]));
	slots_reserve(s, n);
}

/* The child scribbles over its copy and leaves; the parent sees nothing of it. */
static void op_fork(unsigned int s)
{
	int status;
	pid_t pid, rc;

	pid = fork();
	if (pid < 0)
		return;
	if (!pid) {
		if (m.slot[s].state == SLOT_RW)
			memset(slot_addr(s), 0xcc, FZ_PAGE);
		_exit(0);
	}
	/* libFuzzer's timeout alarm interrupts the wait. */
	while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (rc != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fz_fail("fork child: %d status %#x", (int)rc, status);
}

/* As the shim's madvise() does: through the host, which keeps pinned pages. */
static void op_madvise(unsigned int s, unsigned int n)
{
	unsigned int i;

	if (!slots_own(s, n) || m.nframes + (int)n > MAX_FRAMES)
		return;
	for (i = s; i != s + n; i++)
		if (!slot_shows(i))
			return;
	uiommufd_host_inproc_mm_changed();
	if (uiommufd_host_inproc_madvise(slot_addr(s), n * FZ_PAGE, MADV_DONTNEED))
		fz_fail("madvise(MADV_DONTNEED) of mapped slots %u+%u", s, n);
	for (i = s; i != s + n; i++)
		m.slot[i].frame = frame_new();
}

static void op_mprotect(unsigned int s, unsigned int n, bool ro)
{
	unsigned int i;

	if (!slots_own(s, n))
		return;
	for (i = s; i != s + n; i++)
		if (!slot_shows(i))
			return;
	/* As the shim's mprotect() does. */
	if (uiommufd_host_inproc_mprotect(slot_addr(s), n * FZ_PAGE,
					  ro ? PROT_READ : PROT_READ | PROT_WRITE))
		fz_fail("mprotect of slots %u+%u", s, n);
	uiommufd_host_inproc_mm_changed();
	for (i = s; i != s + n; i++)
		m.slot[i].state = ro ? SLOT_RO : SLOT_RW;
}

static void op_cpu_write(unsigned int s, unsigned int off, unsigned int len, uint8_t seed)
{
	unsigned int i;

	if (m.slot[s].state != SLOT_RW)
		return;
	off %= FZ_PAGE;
	if (len > FZ_PAGE - off)
		len = FZ_PAGE - off;
	for (i = 0; i != len; i++) {
		slot_addr(s)[off + i] = (uint8_t)(seed + i * 7);
		m.frame[m.slot[s].frame][off + i] = (uint8_t)(seed + i * 7);
	}
}

/* ---- the IOAS */

static void op_map(unsigned int s, unsigned int n, unsigned int ip, unsigned int prot)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | prot,
		.ioas_id = m.ioas,
		.user_va = (uintptr_t)slot_addr(s),
		.length = n * FZ_PAGE,
		.iova = IOVA_BASE + ip * FZ_PAGE,
	};
	bool ok = prot && s + n <= SLOTS && ip + n <= IOVA_PAGES;
	unsigned int i;
	long rc;

	for (i = 0; ok && i != n; i++) {
		enum slot_state st = m.slot[s + i].state;

		if (m.iova[ip + i].frame >= 0 || !slot_shows(s + i) ||
		    ((prot & IOMMU_IOAS_MAP_WRITEABLE) && st != SLOT_RW))
			ok = false;
	}
	if (s + n > SLOTS || ip + n > IOVA_PAGES)
		return;	/* past the window: not ours to say */
	rc = fz_ioctl(m.ctx, IOMMU_IOAS_MAP, &cmd);
	if (!rc != ok)
		fz_fail("map slots %u+%u at iova page %u prot %u: rc %ld, model says %s", s, n, ip,
			prot, rc, ok ? "ok" : "fail");
	if (rc)
		return;
	for (i = 0; i != n; i++) {
		m.iova[ip + i].frame = m.slot[s + i].frame;
		m.iova[ip + i].slot = s + i;
		m.iova[ip + i].prot = prot;
		m.iova[ip + i].area = ip;
	}
	m.area[ip] = (struct area){ .first = ip, .npages = n, .used = true };
}

static void op_unmap(unsigned int ip, unsigned int n)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = m.ioas,
		.iova = IOVA_BASE + ip * FZ_PAGE, .length = n * FZ_PAGE,
	};
	unsigned int i, j, last = ip + n - 1;
	uint64_t gone = 0;
	long want = 0, rc;

	if (!n)
		return;
	for (i = 0; i != IOVA_PAGES; i++) {
		struct area *a = &m.area[i];

		if (!a->used || a->first + a->npages <= ip || a->first > last)
			continue;
		if (a->first < ip || a->first + a->npages - 1 > last) {
			want = -ENOENT;
			break;
		}
		for (j = a->first; j != a->first + a->npages; j++)
			m.iova[j].frame = -1;
		gone += a->npages * FZ_PAGE;
		a->used = false;
	}
	rc = fz_ioctl(m.ctx, IOMMU_IOAS_UNMAP, &cmd);
	if (rc != want && !(want == 0 && !gone && rc == -ENOENT))
		fz_fail("unmap iova pages %u+%u: rc %ld, model says %ld", ip, n, rc, want);
	if (!rc && cmd.length != gone)
		fz_fail("unmap iova pages %u+%u: %llu bytes, model says %llu", ip, n,
			(unsigned long long)cmd.length, (unsigned long long)gone);
}

/*
 * How a transfer reaches memory.  Device DMA and the access's slow path go
 * through the pinned frames.  The access's fast path copies through the
 * user address the area was mapped from, as the kernel's copy_to_user()
 * fast path does ("ignoring pinning inconsistencies"): it sees what the
 * program has there now, and faults where the program has nothing.
 */
enum path { VIA_DEVICE, VIA_ACCESS_FAST, VIA_ACCESS_SLOW };

/* The frame a transfer through @path touches at IOVA page @page; -1: fault. */
static int path_frame(unsigned int page, enum path path, bool write)
{
	const struct slot *sl = &m.slot[m.iova[page].slot];

	if (path != VIA_ACCESS_FAST)
		return m.iova[page].frame;
	if (sl->state == SLOT_RW || (sl->state == SLOT_RO && !write))
		return sl->frame;
	return -1;
}

/*
 * Where a transfer of @len bytes at IOVA page @ip, offset @off, stops: the
 * bytes that move, and the errno after them.  Device DMA and ACCESS_RW
 * both check the mapping's permission (the kernel's access checks the
 * area's, READABLE for reads).
 */
static long model_transfer(unsigned int ip, unsigned int off, size_t len, bool write,
			   enum path path, size_t *moved)
{
	size_t done = 0;

	while (done < len) {
		unsigned int page = ip + (unsigned int)((off + done) / FZ_PAGE);
		size_t in_page = FZ_PAGE - (off + done) % FZ_PAGE;

		if (page >= IOVA_PAGES || m.iova[page].frame < 0) {
			*moved = done;
			return -EFAULT;
		}
		if ((write && !(m.iova[page].prot & IOMMU_IOAS_MAP_WRITEABLE)) ||
		    (!write && !(m.iova[page].prot & IOMMU_IOAS_MAP_READABLE))) {
			*moved = done;
			return -EPERM;
		}
		if (path_frame(page, path, write) < 0) {
			*moved = done;
			return -EFAULT;
		}
		done += in_page < len - done ? in_page : len - done;
	}
	*moved = len;
	return 0;
}

/* Apply (write) or gather (read) @len bytes at IOVA page @ip + @off in the model. */
static void model_copy(unsigned int ip, unsigned int off, uint8_t *buf, size_t len, bool write,
		       enum path path)
{
	size_t done = 0;

	while (done < len) {
		unsigned int page = ip + (unsigned int)((off + done) / FZ_PAGE);
		size_t at = (off + done) % FZ_PAGE, n = FZ_PAGE - at;
		uint8_t *f = m.frame[path_frame(page, path, write)] + at;

		if (n > len - done)
			n = len - done;
		if (write)
			memcpy(f, buf + done, n);
		else
			memcpy(buf + done, f, n);
		done += n;
	}
}

/* A frame's new bytes show in every slot that shows it. */
static void slots_refresh(void)
{
	unsigned int s;

	for (s = 0; s != SLOTS; s++) {
		if (!slot_shows(s))
			continue;
		if (memcmp(slot_addr(s), m.frame[m.slot[s].frame], FZ_PAGE))
			fz_fail("slot %u does not show its frame %d", s, m.slot[s].frame);
	}
}

static void op_dma(unsigned int ip, unsigned int off, size_t len, bool write, uint8_t seed,
		   bool via_access, bool slow)
{
	enum path path = !via_access ? VIA_DEVICE : slow ? VIA_ACCESS_SLOW : VIA_ACCESS_FAST;
	size_t moved, i;
	long want, rc;

	if (!len)
		return;
	for (i = 0; i != len; i++)
		dmabuf[i] = (uint8_t)(seed ^ (i * 13));
	want = model_transfer(ip, off, len, write, path, &moved);
	if (via_access) {
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)m.access_fd,
			.access_rw = {
				.iova = IOVA_BASE + ip * FZ_PAGE + off, .length = len,
				.uptr = (uintptr_t)dmabuf,
				.flags = (write ? MOCK_ACCESS_RW_WRITE : 0) |
					 (slow ? MOCK_ACCESS_RW_SLOW_PATH : 0),
			},
		};

		rc = fz_ioctl(m.ctx, IOMMU_TEST_CMD, &cmd);
		/* The access reports a hole its own way; only success is exact. */
		if (!rc != !want)
			fz_fail("access_rw %s iova page %u+%u len %zu: rc %ld, model says %ld",
				write ? "write" : "read", ip, off, len, rc, want);
	} else {
		rc = uiommufd_device_dma(m.ctx, m.idev, IOVA_BASE + ip * FZ_PAGE + off, dmabuf, len,
					 write ? UIOMMUFD_DMA_WRITE : 0);
		if (rc != want)
			fz_fail("device dma %s iova page %u+%u len %zu: rc %ld, model says %ld",
				write ? "write" : "read", ip, off, len, rc, want);
	}
	if (write) {
		model_copy(ip, off, dmabuf, moved, true, path);
	} else if (!rc) {
		model_copy(ip, off, expect, len, false, path);
		for (i = 0; i != len; i++)
			if (dmabuf[i] != expect[i])
				fz_fail("%s read iova page %u+%u: byte %zu is %#x, model says %#x",
					via_access ? "access" : "device", ip, off, i, dmabuf[i],
					expect[i]);
	}
}

/* ---- per input */

static bool begin(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd md = { .size = sizeof(md), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_test_cmd acc = { .size = sizeof(acc), .op = IOMMU_TEST_OP_CREATE_ACCESS };
	unsigned int i;

	memset(m.slot, 0, sizeof(m.slot));
	m.nframes = 0;
	m.win = mmap(NULL, SLOTS * FZ_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m.win == MAP_FAILED)
		fz_fail("window mmap");
	if (mprotect(m.win, RW_SLOTS * FZ_PAGE, PROT_READ | PROT_WRITE))
		fz_fail("window mprotect");
	for (i = 0; i != SLOTS; i++) {
		m.slot[i].state = i < RW_SLOTS ? SLOT_RW : SLOT_NONE;
		m.slot[i].frame = i < RW_SLOTS ? frame_new() : -1;
	}
	for (i = 0; i != IOVA_PAGES; i++) {
		m.iova[i].frame = -1;
		m.area[i].used = false;
	}
	if (uiommufd_ctx_open(uiommufd_host_inproc(), 0, &m.ctx))
		fz_fail("ctx open");
	if (fz_ioctl(m.ctx, IOMMU_IOAS_ALLOC, &alloc))
		fz_fail("IOAS_ALLOC");
	m.ioas = alloc.out_ioas_id;
	md.id = m.ioas;
	if (fz_ioctl(m.ctx, IOMMU_TEST_CMD, &md))
		fz_fail("MOCK_DOMAIN");
	m.idev = md.mock_domain.out_idev_id;
	acc.id = m.ioas;
	if (fz_ioctl(m.ctx, IOMMU_TEST_CMD, &acc))
		fz_fail("CREATE_ACCESS");
	m.access_fd = (int)acc.create_access.out_access_fd;
	return true;
}

static void end(void)
{
	unsigned int s;

	uiommufd_ctx_put(m.ctx);
	fz_fds_cleanup();
	if (uiommufd_host_inproc_locked_pages(HOST_ACCOUNT_USER) ||
	    uiommufd_host_inproc_locked_pages(HOST_ACCOUNT_MM))
		fz_fail("pages still charged after close");
	for (s = 0; s != SLOTS; s++) {
		if (m.slot[s].state == SLOT_FOREIGN)
			continue;
		long pins = uiommufd_page_pins(uiommufd_host_inproc(), (uintptr_t)slot_addr(s));

		/* A negative answer: the slot is gone, which only the library could do. */
		if (pins)
			fz_fail("slot %u after close: %s (%ld)", s,
				pins > 0 ? "still pinned" : "no longer mapped", pins);
		shim_unmapping(slot_addr(s), FZ_PAGE);
		munmap(slot_addr(s), FZ_PAGE);
	}
	fz_check_healthy();
}

static const unsigned int prots[4] = {
	0, IOMMU_IOAS_MAP_READABLE, IOMMU_IOAS_MAP_WRITEABLE,
	IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool once;
	struct fz_in in = { data, size };
	unsigned int ops = 0;

	if (!once) {
		once = true;
		/* FUZZ_DMA_TRACE=1: each operation on stderr, for reading a reproducer. */
		m.trace = getenv("FUZZ_DMA_TRACE") && atoi(getenv("FUZZ_DMA_TRACE"));
		fz_fds_baseline();
	}
	begin();
	while (in.n && ops++ < MAX_OPS) {
		uint8_t op = fz_u8(&in), a = fz_u8(&in), b = fz_u8(&in), c = fz_u8(&in);
		unsigned int s = a % SLOTS, n = 1 + (b >> 5) % 4, ip = b % IOVA_PAGES;
		unsigned int off = (unsigned int)(fz_bytes(&in, 2) % FZ_PAGE);
		size_t len = 1 + (size_t)(fz_bytes(&in, 2) % DMA_MAX);

		if (m.nframes + 8 > MAX_FRAMES)
			break;
		if (m.trace)
			fprintf(stderr, "op %2u a %3u b %3u c %3u off %4u len %5zu\n", op % 16, a, b, c,
				off, len);
		switch (op % 16) {
		case 0: case 1:
			op_map(s, n, c % IOVA_PAGES, prots[c >> 6]);
			break;
		case 2:
			op_unmap(ip, 1 + c % 8);
			break;
		case 3: case 4:
			op_dma(ip, off, len, false, c, false, false);
			break;
		case 5: case 6:
			op_dma(ip, off, len, true, c, false, false);
			break;
		case 7:
			op_dma(ip, off, len, c & 1, c, true, c & 2);
			break;
		case 8:
			op_cpu_write(s, off, (unsigned int)len, c);
			break;
		case 9:
			op_munmap(s % (SLOTS - n + 1), n);
			break;
		case 10:
			op_map_fixed(s % (SLOTS - n + 1), n);
			break;
		case 11:
			op_mremap(s % (SLOTS - n + 1), c % (SLOTS - n + 1), n);
			break;
		case 12:
			if (!(c & 0xf))	/* fork is slow: rarely */
				op_fork(s);
			break;
		case 13:
			op_madvise(s % (SLOTS - n + 1), n);
			break;
		case 14:
			op_mprotect(s % (SLOTS - n + 1), n, c & 1);
			break;
		default:
			op_unmap(0, IOVA_PAGES);
			break;
		}
		slots_refresh();
	}
	end();
	return 0;
}
