// SPDX-License-Identifier: MIT
/*
 * The IOAS's IOVA bookkeeping (io_pagetable.c over the span trees) against
 * a flat reference model: one entry per page of a small IOVA universe,
 * saying whether the page is reserved, or which area maps it.  Random
 * fixed and automatic maps, unmaps of random ranges and reservations run
 * through uiommufd_ioctl; each result (errno, chosen IOVA, bytes unmapped)
 * must be the model's, worked out by brute force with the documented rules:
 * automatic IOVAs take the lowest hole of each window in turn, aligned to
 * the smaller of the length rounded up to a power of two and the source
 * address's own alignment; unmap removes whole areas lowest first and stops
 * with ENOENT at one it would cut.
 *
 * Some fixed maps are of a memfd (IOAS_MAP_FILE), and an access pins and
 * unpins random mapped pages, so unmaps run both ways io_pagetable.c has:
 * judged from the index while nothing is pinned, from the area while an
 * access holds one, and freeing at once or a few unmaps later.  Neither may
 * change a result; the access's pins in an unmapped area must be gone
 * (asked to let go), and a file area's descriptor must be closed when its
 * unmap returns: the process's open descriptors are counted after each.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "helpers.h"

#define U 160			/* pages in the universe [0, U * PSZ) */
#define FREE (-1)
#define RESV (-2)

static unsigned long long seed;

static unsigned int rnd(unsigned int below)
{
	seed = seed * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned int)((seed >> 33) % below);
}

struct model {
	struct uiommufd_ctx *ctx;
	uint32_t ioas;
	int page[U];			/* FREE, RESV, or the area's first page */
	unsigned int len[U];		/* pages of the area starting there */
	unsigned int nwin;
	unsigned int win_first[4], win_last[4];	/* pages, inclusive */
	uint8_t *src;			/* 2 MiB aligned source memory */
	bool file[U];			/* the area starting there maps the memfd */
	int mfd;			/* the memfd */
	int access;			/* a pinning access on the IOAS */
	struct { uint32_t id; unsigned int page; } pin[32];
	unsigned int npins;
};

/* How many of the process's descriptors are of the same file as @fd. */
static int fds_of(int fd)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	struct stat want, st;
	char path[300];
	int n = 0;

	assert_non_null(d);
	assert_int_equal(fstat(fd, &want), 0);
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		if (e->d_name[0] != '.' && !stat(path, &st) && st.st_dev == want.st_dev &&
		    st.st_ino == want.st_ino)
			n++;
	}
	closedir(d);
	return n;
}

/* Every file area holds a descriptor of the memfd of its own; ours is the one more. */
static void check_fds(const struct model *m)
{
	int want = 1;
	unsigned int p;

	for (p = 0; p < U; p++)
		if (m->page[p] == (int)p && m->file[p])
			want++;
	assert_int_equal(fds_of(m->mfd), want);
}

static long access_cmd(struct model *m, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	cmd->id = (uint32_t)m->access;
	return ictl(m->ctx, IOMMU_TEST_CMD, cmd);
}

/* The access pins one random mapped page, or lets go of one of its pins. */
static void step_pin(struct model *m)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_ACCESS_PAGES };
	unsigned int p = 1 + rnd(U - 1), k;

	if (m->npins && (rnd(2) || m->npins == sizeof(m->pin) / sizeof(m->pin[0]))) {
		k = rnd(m->npins);
		cmd.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES;
		cmd.destroy_access_pages.access_pages_id = m->pin[k].id;
		assert_int_equal(access_cmd(m, &cmd), 0);
		m->pin[k] = m->pin[--m->npins];
		return;
	}
	if (m->page[p] < 0)
		return;
	cmd.access_pages.iova = p * PSZ;
	cmd.access_pages.length = PSZ;
	assert_int_equal(access_cmd(m, &cmd), 0);
	m->pin[m->npins].id = cmd.access_pages.out_access_pages_id;
	m->pin[m->npins++].page = p;
}

/*
 * [first, first + n) was unmapped: the access was told to let go of what it
 * pinned there, so those pins are gone already.
 */
static void drop_pins(struct model *m, unsigned int first, unsigned int n)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES };
	unsigned int k = 0;

	while (k < m->npins) {
		if (m->pin[k].page >= first && m->pin[k].page < first + n) {
			cmd.destroy_access_pages.access_pages_id = m->pin[k].id;
			assert_int_equal(access_cmd(m, &cmd), -ENOENT);
			m->pin[k] = m->pin[--m->npins];
		} else {
			k++;
		}
	}
}

static uint64_t pow2_up(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/* Where the model puts @n pages whose source is @src, or -1 for ENOSPC. */
static long model_alloc(const struct model *m, unsigned int n, uint64_t src)
{
	uint64_t len = n * PSZ, align = pow2_up(len), srcalign = src & -src;
	unsigned int w, nwin = m->nwin ? m->nwin : 1;

	if (src && srcalign < align)
		align = srcalign;
	if (align > (2u << 20))
		align = 2u << 20;
	for (w = 0; w < nwin; w++) {
		/* Without allowed ranges: the universe from page 1 (IOVA 0 is never used). */
		unsigned int lo = m->nwin ? m->win_first[w] : 1;
		unsigned int hi = m->nwin ? m->win_last[w] : U - 1;
		unsigned int p = lo;

		while (p <= hi) {
			unsigned int q;
			uint64_t hlo, hhi, base;

			if (m->page[p] != FREE) {
				p++;
				continue;
			}
			for (q = p; q + 1 <= hi && m->page[q + 1] == FREE; q++)
				;
			hlo = p * PSZ;
			hhi = (q + 1) * PSZ - 1;
			base = (hlo + align - 1) & ~(align - 1);
			if (base < hhi && hhi - base >= len - 1)
				return (long)(base / PSZ);
			p = q + 1;
		}
	}
	return -1;
}

static void model_place(struct model *m, unsigned int first, unsigned int n)
{
	unsigned int p;

	for (p = first; p < first + n; p++)
		m->page[p] = (int)first;
	m->len[first] = n;
}

static void step_map(struct model *m, bool fixed)
{
	unsigned int n = 1 + rnd(4), k = rnd(64);
	uint64_t src_off = k * PSZ, iova = 0;
	bool from_file = fixed && !rnd(4);
	long want, rc;
	unsigned int p, first = 0;

	if (fixed) {
		first = 1 + rnd(U - 4);
		iova = first * PSZ;
		want = 0;
		for (p = first; p < first + n && !want; p++)
			if (m->page[p] == RESV)
				want = -EINVAL;
		for (p = first; p < first + n && !want; p++)
			if (m->page[p] >= 0)
				want = -EEXIST;
	} else {
		long at = model_alloc(m, n, (uintptr_t)m->src + src_off);

		want = at < 0 ? -ENOSPC : 0;
		first = at < 0 ? 0 : (unsigned int)at;
	}
	if (from_file) {
		struct iommu_ioas_map_file cmd = {
			.size = sizeof(cmd), .flags = RW_FIXED, .ioas_id = m->ioas, .fd = m->mfd,
			.start = src_off, .length = n * PSZ, .iova = iova,
		};

		rc = ictl(m->ctx, IOMMU_IOAS_MAP_FILE, &cmd);
	} else {
		rc = ioas_map(m->ctx, m->ioas, m->src + src_off, n * PSZ, &iova,
			      fixed ? RW_FIXED : RW);
	}
	assert_int_equal(rc, want);
	if (rc)
		return;
	assert_int_equal(iova, first * PSZ);
	model_place(m, first, n);
	m->file[first] = from_file;
}

static void step_unmap(struct model *m)
{
	unsigned int a = rnd(U), b = a + rnd(U - a < 12 ? U - a : 12), p;
	uint64_t gone = 0, want_gone = 0;
	long want = 0, rc;

	/* Whole areas lowest first; one sticking out stops the walk. */
	for (p = a; p <= b; p++) {
		int first = m->page[p];

		if (first < 0)
			continue;
		if ((unsigned int)first < a || first + m->len[first] - 1 > b) {
			want = -ENOENT;
			break;
		}
		want_gone += m->len[first] * PSZ;
		p = (unsigned int)first + m->len[first] - 1;
	}
	if (!want && !want_gone)
		want = -ENOENT;
	rc = ioas_unmap(m->ctx, m->ioas, a * PSZ, (b - a + 1) * PSZ, &gone);
	assert_int_equal(rc, want);
	if (!rc)
		assert_int_equal(gone, want_gone);
	/* What was removed before a failure stays removed, as in the model's walk. */
	for (p = a; p <= b; p++) {
		int first = m->page[p];

		if (first < 0)
			continue;
		if ((unsigned int)first < a || first + m->len[first] - 1 > b)
			break;
		drop_pins(m, (unsigned int)first, m->len[first]);
		while (p < U && m->page[p] == first)
			m->page[p++] = FREE;
		p--;
	}
	check_fds(m);
}

static void step_reserve(struct model *m)
{
	unsigned int a = rnd(U), n = 1 + rnd(3), p;
	struct iommu_test_cmd resv = {
		.size = sizeof(resv), .op = IOMMU_TEST_OP_ADD_RESERVED, .id = m->ioas,
		.add_reserved = { .start = a * PSZ, .length = n * PSZ },
	};
	long want = 0;

	if (a + n > U)
		return;
	for (p = a; p < a + n; p++)
		if (m->page[p] >= 0)
			want = -EADDRINUSE;
	for (p = a; p < a + n && m->nwin; p++) {
		unsigned int w;

		for (w = 0; w < m->nwin; w++)
			if (p >= m->win_first[w] && p <= m->win_last[w])
				want = -EADDRINUSE;
	}
	assert_int_equal(ictl(m->ctx, IOMMU_TEST_CMD, &resv), want);
	if (want)
		return;
	for (p = a; p < a + n; p++)
		m->page[p] = RESV;
}

/* IOAS_IOVA_RANGES: the holes of reserved IOVA, as the model has them. */
static void check_ranges(struct model *m)
{
	struct iommu_iova_range ranges[U + 1];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd), .ioas_id = m->ioas, .num_iovas = U + 1,
		.allowed_iovas = (uintptr_t)ranges,
	};
	unsigned int p = 0, n = 0;

	assert_int_equal(ictl(m->ctx, IOMMU_IOAS_IOVA_RANGES, &cmd), 0);
	while (p < U) {
		unsigned int q;

		if (m->page[p] == RESV) {
			p++;
			continue;
		}
		for (q = p; q + 1 < U && m->page[q + 1] != RESV; q++)
			;
		assert_true(n < cmd.num_iovas);
		assert_int_equal(ranges[n].start, p * PSZ);
		/* The universe's end is reserved up to ULONG_MAX. */
		assert_int_equal(ranges[n].last, (q + 1) * PSZ - 1);
		n++;
		p = q + 1;
	}
	assert_int_equal(cmd.num_iovas, n);
}

static void run_model(unsigned long long s, bool with_windows)
{
	struct model *m = calloc(1, sizeof(*m));
	struct iommu_test_cmd top = {
		.size = sizeof(top), .op = IOMMU_TEST_OP_ADD_RESERVED,
		.add_reserved = { .start = U * PSZ, .length = -(uint64_t)(U * PSZ) },
	};
	unsigned int p, step;

	assert_non_null(m);
	seed = s;
	assert_int_equal(uiommufd_ctx_open(uiommufd_host_inproc(), 0, &m->ctx), 0);
	m->ioas = ioas_alloc(m->ctx);
	m->src = mmap(NULL, 4u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m->src != MAP_FAILED);
	m->src = (uint8_t *)(((uintptr_t)m->src + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
	for (p = 0; p < U; p++)
		m->page[p] = FREE;
	m->mfd = memfd_create("model", 0);
	assert_true(m->mfd >= 0);
	assert_int_equal(ftruncate(m->mfd, 68 * PSZ), 0);
	{
		struct iommu_test_cmd create = {
			.size = sizeof(create), .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = m->ioas,
			.create_access = { .flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES },
		};

		assert_int_equal(ictl(m->ctx, IOMMU_TEST_CMD, &create), 0);
		m->access = (int)create.create_access.out_access_fd;
	}
	top.id = m->ioas;
	assert_int_equal(ictl(m->ctx, IOMMU_TEST_CMD, &top), 0);

	if (with_windows) {
		struct iommu_iova_range r[3];
		struct iommu_ioas_allow_iovas allow = {
			.size = sizeof(allow), .ioas_id = m->ioas, .num_iovas = 3,
			.allowed_iovas = (uintptr_t)r,
		};
		static const unsigned int bounds[3][2] = { { 8, 23 }, { 40, 71 }, { 100, 140 } };

		for (p = 0; p < 3; p++) {
			m->win_first[p] = bounds[p][0];
			m->win_last[p] = bounds[p][1];
			r[p].start = bounds[p][0] * PSZ;
			r[p].last = (bounds[p][1] + 1) * PSZ - 1;
		}
		m->nwin = 3;
		assert_int_equal(ictl(m->ctx, IOMMU_IOAS_ALLOW_IOVAS, &allow), 0);
	}

	for (step = 0; step < 4000; step++) {
		unsigned int op = rnd(14);

		if (op < 4)
			step_map(m, false);
		else if (op < 6)
			step_map(m, true);
		else if (op < 10)
			step_unmap(m);
		else if (op == 10)
			step_reserve(m);
		else if (op == 11)
			check_ranges(m);
		else
			step_pin(m);
	}
	uiommufd_host_inproc_fd_closed(m->access);
	close(m->access);
	uiommufd_ctx_put(m->ctx);
	close(m->mfd);
	free(m);
}

static void test_ioas_model_default_window(void **state)
{
	run_model(11, false);
	run_model(12, false);
}

static void test_ioas_model_allowed_windows(void **state)
{
	run_model(21, true);
	run_model(22, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ioas_model_default_window),
		cmocka_unit_test(test_ioas_model_allowed_windows),
	};

	return cmocka_run_group_tests_name("ioas model", tests, NULL, NULL);
}
