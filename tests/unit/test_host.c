// SPDX-License-Identifier: MIT
/* The in-process host (inproc.c, inproc_anon.c): physical addresses and anon files. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "helpers.h"
#include "core/host.h"
#include "host/inproc.h"

#define PA_ALIAS_BASE (1ULL << 49)
#define PA_WINDOW_BASE (1ULL << 50)
#define PA_END (1ULL << 51)

static struct uiommufd_host *host(void)
{
	return uiommufd_host_inproc();
}

static struct host_pin *pin_user(const void *p, size_t len, bool writable)
{
	struct host_pin *pin;

	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)p, len, writable, &pin), 0);
	return pin;
}

static void unpin(struct host_pin *pin)
{
	host()->ops->unpin(host(), pin);
}

static uint64_t pin_pa(struct host_pin *pin, size_t offset, size_t *len)
{
	return host()->ops->pin_phys(host(), pin, offset, len);
}

static uint64_t user_pa(const void *p)
{
	uint64_t pa = 0;

	assert_int_equal(host()->ops->user_phys(host(), (uintptr_t)p, &pa), 0);
	return pa;
}

static uint8_t *kaddr_of(uint64_t pa, size_t *len)
{
	return host()->ops->phys_kaddr(host(), pa, false, len);
}

static long pins_at(const void *p)
{
	return uiommufd_page_pins(host(), (uintptr_t)p);
}

static int memfd_pages(size_t npages)
{
	int fd = memfd_create("test_host", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(npages * PSZ)), 0);
	return fd;
}

static uint8_t *map_shared(int fd, size_t len, off_t off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);

	assert_ptr_not_equal(p, MAP_FAILED);
	return p;
}

static void test_private_pa_is_va(void **state)
{
	uint8_t *buf = map_pages(4);
	struct host_pin *pin = pin_user(buf, 4 * PSZ, true), *again, *back;
	uint64_t va = (uintptr_t)buf;
	size_t len;

	(void)state;
	/* Private memory is known by its address: one run, like THP. */
	assert_int_equal(pin_pa(pin, 0, &len), va);
	assert_int_equal(len, 4 * PSZ);
	assert_int_equal(pin_pa(pin, PSZ + 5, &len), va + PSZ + 5);
	assert_int_equal(len, 3 * PSZ - 5);
	assert_ptr_equal(kaddr_of(va + PSZ, &len), buf + PSZ);
	assert_int_equal(len, 3 * PSZ);
	assert_int_equal(user_pa(buf + 10), va + 10);

	/* The same pages pinned again have the same address. */
	again = pin_user(buf + PSZ, PSZ, false);
	assert_int_equal(pin_pa(again, 0, &len), va + PSZ);
	assert_int_equal(len, PSZ);
	assert_int_equal(pins_at(buf + PSZ), 2);

	/* A split keeps every address. */
	assert_int_equal(host()->ops->pin_split(host(), pin, 2 * PSZ, &back), 0);
	assert_int_equal(pin_pa(pin, 0, &len), va);
	assert_int_equal(len, 2 * PSZ);
	assert_int_equal(pin_pa(back, PSZ, &len), va + 3 * PSZ);
	assert_int_equal(len, PSZ);
	unpin(pin);
	assert_null(kaddr_of(va, &len));
	assert_int_equal(len, 0);
	assert_ptr_equal(kaddr_of(va + PSZ, &len), buf + PSZ);
	unpin(again);
	assert_null(kaddr_of(va + PSZ, &len));
	assert_ptr_equal(kaddr_of(va + 2 * PSZ, &len), buf + 2 * PSZ);
	unpin(back);
	assert_null(kaddr_of(va + 2 * PSZ, &len));
	munmap(buf, 4 * PSZ);
}

/*
 * A handle made in the caller's slot is a handle like any other: it
 * resolves, shares the record of a pin of the same range, splits (the
 * front stays in the slot, a copy when the record is shared), and its
 * unpin hands the slot back without the host's free list ever giving its
 * memory to another pin.
 */
static void test_pin_user_into_slot(void **state)
{
	uint8_t *buf = mmap(NULL, 4 * PSZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	uint64_t va = (uintptr_t)buf;
	struct host_pin_slot slot = { 0 };
	struct host_pin *in_slot = (struct host_pin *)&slot, *other, *back, *later[4];
	size_t len;
	int i;

	(void)state;
	assert_true(buf != MAP_FAILED);
	assert_int_equal(host()->ops->pin_user_into(host(), va, 4 * PSZ, true, &slot), 0);
	assert_true(slot.word != 0);
	assert_int_equal(pins_at(buf + 3 * PSZ), 1);
	assert_int_equal(pin_pa(in_slot, PSZ, &len), va + PSZ);
	assert_int_equal(len, 3 * PSZ);
	assert_ptr_equal(host()->ops->pin_kaddr(host(), in_slot, 2 * PSZ), buf + 2 * PSZ);

	/* The same range again shares the record; splitting ours leaves theirs whole. */
	other = pin_user(buf, 4 * PSZ, true);
	assert_int_equal(pins_at(buf), 2);
	assert_int_equal(host()->ops->pin_split(host(), in_slot, PSZ, &back), 0);
	assert_int_equal(pin_pa(in_slot, 0, &len), va);
	assert_int_equal(len, PSZ);
	assert_int_equal(pin_pa(back, 0, &len), va + PSZ);
	assert_int_equal(len, 3 * PSZ);
	assert_int_equal(pin_pa(other, 0, &len), va);
	assert_int_equal(len, 4 * PSZ);

	unpin(in_slot);
	assert_int_equal(slot.word, 0);
	assert_int_equal(pins_at(buf), 1);
	/* New handles come from the host's own memory, never from the slot. */
	for (i = 0; i != 4; i++) {
		later[i] = pin_user(buf, PSZ, false);
		assert_ptr_not_equal(later[i], in_slot);
	}
	for (i = 0; i != 4; i++)
		unpin(later[i]);
	unpin(back);
	unpin(other);
	assert_int_equal(pins_at(buf), 0);

	/* A bad range changes nothing, the slot included. */
	assert_int_equal(host()->ops->pin_user_into(host(), va + 1, PSZ, false, &slot), -EFAULT);
	assert_int_equal(slot.word, 0);
	munmap(buf, 4 * PSZ);
}

static void test_memfd_one_pa_everywhere(void **state)
{
	int mfd = memfd_pages(4);
	uint8_t *a = map_shared(mfd, 4 * PSZ, 0), *b = map_shared(mfd, 2 * PSZ, 2 * PSZ), *k;
	struct host_pin *fpin, *upin;
	struct host_file *file;
	uint64_t pa;
	size_t len;

	(void)state;
	/* A page of a shared file has one address through every mapping. */
	pa = user_pa(a + 2 * PSZ);
	assert_true(pa >= PA_WINDOW_BASE && pa < PA_END);
	assert_int_equal(user_pa(b), pa);
	assert_int_equal(user_pa(b + PSZ + 7), pa + PSZ + 7);
	assert_int_equal(user_pa(a), pa - 2 * PSZ);

	/* And through pin_file() of the same memfd. */
	assert_int_equal(host()->ops->file_get(host(), mfd, &file), 0);
	assert_int_equal(host()->ops->pin_file(host(), file, 2 * PSZ, 2 * PSZ, true, &fpin), 0);
	assert_int_equal(pin_pa(fpin, 0, &len), pa);
	assert_int_equal(len, 2 * PSZ);
	upin = pin_user(a, 4 * PSZ, true);
	assert_int_equal(pin_pa(upin, 2 * PSZ, &len), pa);
	assert_int_equal(len, 2 * PSZ);
	/* Each pin of the page counts, whichever way it was reached. */
	assert_int_equal(pins_at(b), 2);
	assert_int_equal(pins_at(a), 1);

	b[5] = 0x77;
	k = kaddr_of(pa, &len);
	assert_non_null(k);
	assert_int_equal(k[5], 0x77);
	unpin(upin);
	assert_int_equal(pins_at(b), 1);
	/* Now only the file pin holds it: its own mapping. */
	k = kaddr_of(pa + 5, &len);
	assert_ptr_not_equal(k, b + 5);
	assert_ptr_not_equal(k, a + 2 * PSZ + 5);
	assert_int_equal(*k, 0x77);
	assert_int_equal(len, 2 * PSZ - 5);
	unpin(fpin);
	assert_null(kaddr_of(pa, &len));
	/* The address outlives the pins. */
	assert_int_equal(user_pa(b), pa);
	host()->ops->file_put(host(), file);
	munmap(a, 4 * PSZ);
	munmap(b, 2 * PSZ);
	close(mfd);
}

static void test_shared_anon_mapped_twice(void **state)
{
	uint8_t *a = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t *b, *other;
	struct host_pin *pin;
	size_t len;

	(void)state;
	assert_ptr_not_equal(a, MAP_FAILED);
	/* mremap of size 0 maps the same shmem again. */
	b = mremap(a, 0, 2 * PSZ, MREMAP_MAYMOVE);
	assert_ptr_not_equal(b, MAP_FAILED);
	a[PSZ] = 3;
	assert_int_equal(b[PSZ], 3);
	assert_int_equal(user_pa(a + PSZ), user_pa(b + PSZ));
	assert_true(user_pa(a) >= PA_WINDOW_BASE);
	pin = pin_user(b, 2 * PSZ, true);
	assert_int_equal(pin_pa(pin, PSZ, &len), user_pa(a + PSZ));
	assert_int_equal(pins_at(a + PSZ), 1);

	/* Another shared anonymous mapping is another file. */
	other = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(other, MAP_FAILED);
	assert_true(user_pa(other) - user_pa(a) >= (1ULL << 40) ||
		    user_pa(a) - user_pa(other) >= (1ULL << 40));
	assert_int_equal(pins_at(other), 0);
	unpin(pin);
	munmap(a, 2 * PSZ);
	munmap(b, 2 * PSZ);
	munmap(other, 2 * PSZ);
}

static void test_pin_spans_vmas(void **state)
{
	uint8_t *buf = map_pages(3), *mid;
	int mfd = memfd_pages(2);
	struct host_pin *pin;
	uint64_t va = (uintptr_t)buf, file_pa;
	size_t len;

	(void)state;
	/* A page of a memfd in the middle of private memory. */
	mid = mmap(buf + PSZ, PSZ, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, mfd, PSZ);
	assert_ptr_equal(mid, buf + PSZ);
	file_pa = user_pa(mid);
	assert_true(file_pa >= PA_WINDOW_BASE);
	pin = pin_user(buf, 3 * PSZ, true);
	assert_int_equal(pin_pa(pin, 0, &len), va);
	assert_int_equal(len, PSZ);
	assert_int_equal(pin_pa(pin, PSZ, &len), file_pa);
	assert_int_equal(len, PSZ);
	assert_int_equal(pin_pa(pin, 2 * PSZ, &len), va + 2 * PSZ);
	assert_int_equal(len, PSZ);
	assert_ptr_equal(kaddr_of(file_pa + 1, &len), mid + 1);
	assert_int_equal(len, PSZ - 1);
	assert_ptr_equal(host()->ops->pin_kaddr(host(), pin, 2 * PSZ), buf + 2 * PSZ);
	unpin(pin);
	munmap(buf, 3 * PSZ);
	close(mfd);
}

static void test_phys_kaddr_after_munmap(void **state)
{
	uint8_t *buf = map_pages(4), *k;
	struct host_pin *pin = pin_user(buf + PSZ, 2 * PSZ, true);
	uint64_t pa = (uintptr_t)buf + PSZ, got;
	size_t len;

	(void)state;
	buf[PSZ] = 0xab;
	buf[2 * PSZ + 3] = 0xcd;
	assert_ptr_equal(kaddr_of(pa, &len), buf + PSZ);
	/* What the shim does before the program's munmap. */
	uiommufd_host_inproc_unmap_notify(buf, 4 * PSZ);
	assert_int_equal(munmap(buf, 4 * PSZ), 0);
	/* Same page, same address; the core reaches it elsewhere now. */
	k = kaddr_of(pa, &len);
	assert_non_null(k);
	assert_ptr_not_equal(k, buf + PSZ);
	assert_int_equal(len, 2 * PSZ);
	assert_int_equal(k[0], 0xab);
	assert_int_equal(kaddr_of(pa + PSZ + 3, &len)[0], 0xcd);
	assert_int_equal(pin_pa(pin, 0, &len), pa);
	assert_int_equal(len, 2 * PSZ);
	assert_int_equal(host()->ops->user_phys(host(), pa, &got), -EFAULT);
	unpin(pin);
	assert_null(kaddr_of(pa, &len));
}

static void test_collision_gets_alias(void **state)
{
	uint8_t *buf = map_pages(2), *again, *k;
	struct host_pin *old = pin_user(buf, 2 * PSZ, true), *fresh, *third, *later;
	uint64_t va = (uintptr_t)buf, pa;
	size_t len;

	(void)state;
	buf[0] = 1;
	uiommufd_host_inproc_unmap_notify(buf, 2 * PSZ);
	assert_int_equal(munmap(buf, 2 * PSZ), 0);
	/* New memory where the old pages were: their address is still held. */
	again = mmap(buf, 2 * PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		     -1, 0);
	assert_ptr_equal(again, buf);
	again[0] = 2;
	fresh = pin_user(again, 2 * PSZ, true);
	pa = pin_pa(fresh, 0, &len);
	assert_true(pa >= PA_ALIAS_BASE && pa < PA_WINDOW_BASE);
	assert_int_equal(len, 2 * PSZ);
	/* An alias keeps the natural alignment up to 2 MiB. */
	assert_int_equal(pa % (2 << 20), va % (2 << 20));
	assert_ptr_equal(kaddr_of(pa, &len), again);
	k = kaddr_of(va, &len);
	assert_ptr_not_equal(k, again);
	assert_int_equal(k[0], 1);
	assert_int_equal(user_pa(again + PSZ), pa + PSZ);
	/* The new pages pinned again join their alias. */
	third = pin_user(again + PSZ, PSZ, false);
	assert_int_equal(pin_pa(third, 0, &len), pa + PSZ);
	assert_int_equal(pins_at(again + PSZ), 2);
	unpin(fresh);
	unpin(third);
	unpin(old);
	/* Nobody holds the address any more: it is theirs again. */
	later = pin_user(again, PSZ, true);
	assert_int_equal(pin_pa(later, 0, &len), va);
	unpin(later);
	munmap(again, 2 * PSZ);
}

static void test_mremap_keeps_identity(void **state)
{
	uint8_t *buf = map_pages(2), *moved;
	void *hole = mmap(NULL, 4 * PSZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct host_pin *pin = pin_user(buf, 2 * PSZ, true), *again;
	uint64_t va = (uintptr_t)buf;
	size_t len;

	(void)state;
	assert_ptr_equal(kaddr_of(va + PSZ, &len), buf + PSZ);
	moved = mremap(buf, 2 * PSZ, 2 * PSZ, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
	assert_ptr_equal(moved, hole);
	uiommufd_host_inproc_remap_notify(buf, 2 * PSZ, moved);
	/* The pages moved; their address did not. */
	assert_ptr_equal(kaddr_of(va + PSZ, &len), moved + PSZ);
	assert_int_equal(user_pa(moved + PSZ), va + PSZ);
	again = pin_user(moved + PSZ, PSZ, true);
	assert_int_equal(pin_pa(again, 0, &len), va + PSZ);
	assert_int_equal(pins_at(moved + PSZ), 2);
	unpin(again);
	unpin(pin);
	munmap(hole, 4 * PSZ);
}

/*
 * A user copy that runs into an unmapped page is EFAULT, with the bytes
 * before the fault copied, and leaves the fault path ready for the next:
 * many faulting copies in a row, then a good one.
 */
static void test_user_copy_stops_at_fault(void **state)
{
	const struct host_ops *ops = host()->ops;
	uint8_t *buf = map_pages(2), src[2 * PSZ], back[2 * PSZ];
	size_t i;

	(void)state;
	assert_int_equal(munmap(buf + PSZ, PSZ), 0);
	memset(src, 0x5a, sizeof(src));
	memset(buf, 0, PSZ);
	assert_int_equal(ops->copy_to_user(host(), (uintptr_t)buf + 16, src, PSZ), -EFAULT);
	for (i = 16; i != PSZ; i++)
		assert_int_equal(buf[i], 0x5a);
	assert_int_equal(buf[15], 0);
	assert_int_equal(ops->copy_from_user(host(), back, (uintptr_t)buf, PSZ + 1), -EFAULT);
	for (i = 0; i != 1000; i++) {
		assert_int_equal(ops->copy_from_user(host(), back, (uintptr_t)buf + PSZ - 8, 64),
				 -EFAULT);
		assert_int_equal(ops->copy_to_user(host(), (uintptr_t)buf + PSZ - 1, src, 2),
				 -EFAULT);
	}
	memset(back, 0, sizeof(back));
	assert_int_equal(ops->copy_from_user(host(), back, (uintptr_t)buf + 16, PSZ - 16), 0);
	assert_memory_equal(back, src, PSZ - 16);
	assert_int_equal(ops->copy_to_user(host(), (uintptr_t)buf, src, PSZ), 0);
	assert_int_equal(buf[0], 0x5a);
	munmap(buf, PSZ);
}

/*
 * Every length a small copy can take (1 to 64 bytes, and a few past where
 * the copy changes method), at every alignment of a 16-byte lane: exactly
 * those bytes arrive, none beside them changes, both ways.  Then each
 * length ending one byte into an unmapped page is EFAULT both ways, and a
 * copy to the user still leaves the bytes before the page written.
 */
static void test_user_copy_every_small_length(void **state)
{
	const struct host_ops *ops = host()->ops;
	uint8_t *buf = map_pages(2), src[160], back[160];
	size_t len, off, i;

	(void)state;
	for (i = 0; i != sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	for (len = 1; len <= 80; len++) {
		for (off = 0; off != 16; off++) {
			memset(buf, 0xee, 256);
			assert_int_equal(ops->copy_to_user(host(), (uintptr_t)buf + 32 + off, src, len), 0);
			for (i = 0; i != 256; i++)
				assert_int_equal(buf[i], i >= 32 + off && i < 32 + off + len ?
							 src[i - 32 - off] : 0xee);
			memset(back, 0xcc, sizeof(back));
			assert_int_equal(ops->copy_from_user(host(), back + off, (uintptr_t)buf + 32 + off,
							     len), 0);
			for (i = 0; i != sizeof(back); i++)
				assert_int_equal(back[i], i >= off && i < off + len ? src[i - off] : 0xcc);
		}
	}

	assert_int_equal(munmap(buf + PSZ, PSZ), 0);
	for (len = 1; len <= 80; len++) {
		uint8_t *at = buf + PSZ - (len - 1);

		memset(buf + PSZ - 128, 0, 128);
		assert_int_equal(ops->copy_to_user(host(), (uintptr_t)at, src, len), -EFAULT);
		for (i = 0; i != len - 1; i++)
			assert_int_equal(at[i], src[i]);
		assert_int_equal(ops->copy_from_user(host(), back, (uintptr_t)at, len), -EFAULT);
	}
	munmap(buf, PSZ);
}

static void test_user_phys_efault(void **state)
{
	uint8_t *buf = map_pages(1);
	uint64_t pa;

	(void)state;
	assert_int_equal(host()->ops->user_phys(host(), 0, &pa), -EFAULT);
	assert_int_equal(host()->ops->user_phys(host(), 1ULL << 60, &pa), -EFAULT);
	munmap(buf, PSZ);
	assert_int_equal(host()->ops->user_phys(host(), (uintptr_t)buf, &pa), -EFAULT);
}

/* The descriptor numbers that read /proc/<our pid>/maps, at or above @from. */
static int maps_fds(int *out, int max, int from)
{
	char want[64], path[64], link[128];
	int n = 0, fd;

	snprintf(want, sizeof(want), "/proc/%d/maps", (int)getpid());
	for (fd = from; fd != 1024 && n != max; fd++) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = 0;
		if (!strcmp(link, want))
			out[n++] = fd;
	}
	return n;
}

/*
 * The host keeps /proc/self/maps open between pins and no longer checks
 * it before each one: a program that takes the number (here by dup2
 * without the shim, so nobody tells the host) must still get answers that
 * are right, and then a descriptor of the host's own again.
 */
static void test_kept_maps_fd_taken(void **state)
{
	uint8_t *buf = map_pages(2);
	struct host_pin *pin;
	int fds[8], now[8], n, i, pipefd[2];
	size_t len;

	(void)state;
	unpin(pin_user(buf, PSZ, true));
	n = maps_fds(fds, 8, 200);
	assert_true(n >= 1);
	assert_int_equal(pipe(pipefd), 0);
	for (i = 0; i != n; i++)
		assert_int_equal(dup2(pipefd[0], fds[i]), fds[i]);

	pin = pin_user(buf + PSZ, PSZ, true);
	assert_int_equal(pin_pa(pin, 0, &len), (uintptr_t)buf + PSZ);
	unpin(pin);
	/* The pipe is still the program's, untouched. */
	for (i = 0; i != n; i++)
		assert_int_equal(fcntl(fds[i], F_GETFD) >= 0, 1);
	munmap(buf + PSZ, PSZ);
	assert_int_equal(host()->ops->pin_user(host(), (uintptr_t)buf + PSZ, PSZ, true, &pin),
			 -EFAULT);
	/* A fresh kept descriptor is in use now: it reads our maps. */
	assert_true(maps_fds(now, 8, 200) >= 1);

	for (i = 0; i != n; i++)
		close(fds[i]);
	close(pipefd[0]);
	close(pipefd[1]);
	munmap(buf, PSZ);
}

/* A fork child's pins read the child's own memory map, not its parent's. */
static void test_fork_child_reads_own_map(void **state)
{
	uint8_t *buf = map_pages(2);
	int status;
	pid_t child;

	(void)state;
	unpin(pin_user(buf, 2 * PSZ, true));
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct host_pin *pin;
		uint64_t pa;
		size_t len;
		int fd = memfd_create("test_host_fork", 0);

		/* Shared file pages in the child only: the parent's map still has private ones. */
		if (fd < 0 || ftruncate(fd, PSZ) ||
		    mmap(buf + PSZ, PSZ, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
			    MAP_FAILED ||
		    host()->ops->pin_user(host(), (uintptr_t)buf + PSZ, PSZ, true, &pin))
			_exit(2);
		pa = pin_pa(pin, 0, &len);
		_exit(pa >= PA_WINDOW_BASE && pa < PA_END ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	unpin(pin_user(buf + PSZ, PSZ, true));
	munmap(buf, 2 * PSZ);
}

static void test_private_file_written_after_pin(void **state)
{
	int mfd = memfd_pages(1);
	uint8_t *p = mmap(NULL, PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
	struct host_pin *pin;
	size_t len;

	(void)state;
	assert_ptr_not_equal(p, MAP_FAILED);
	pin = pin_user(p, PSZ, false);
	assert_int_equal(pin_pa(pin, 0, &len), (uintptr_t)p);
	/* A private mapping is known by its address, copied on write or not. */
	p[0] = 9;
	assert_int_equal(user_pa(p), (uintptr_t)p);
	unpin(pin);
	munmap(p, PSZ);
	close(mfd);
}

static void test_file_pin_split(void **state)
{
	int mfd = memfd_pages(4);
	struct host_pin *pin, *back;
	struct host_file *file;
	uint64_t pa;
	size_t len;
	uint8_t *k;

	(void)state;
	assert_int_equal(pwrite(mfd, "x", 1, 3 * PSZ), 1);
	assert_int_equal(host()->ops->file_get(host(), mfd, &file), 0);
	assert_int_equal(host()->ops->pin_file(host(), file, 0, 4 * PSZ, false, &pin), 0);
	pa = pin_pa(pin, 0, &len);
	assert_int_equal(len, 4 * PSZ);
	assert_int_equal(host()->ops->pin_split(host(), pin, PSZ, &back), 0);
	assert_int_equal(pin_pa(back, 0, &len), pa + PSZ);
	assert_int_equal(len, 3 * PSZ);
	unpin(pin);
	assert_null(kaddr_of(pa, &len));
	k = kaddr_of(pa + 3 * PSZ, &len);
	assert_non_null(k);
	assert_int_equal(k[0], 'x');
	unpin(back);
	host()->ops->file_put(host(), file);
	close(mfd);
}

/* Random pins and splits over one buffer, against a brute-force count. */
static void test_random_pins_match_brute_force(void **state)
{
	enum { NPAGES = 32, NPINS = 16, ROUNDS = 150 };
	struct {
		struct host_pin *pin;
		size_t first, n;
	} pins[NPINS] = {};
	uint8_t *buf = map_pages(NPAGES);
	uint64_t va = (uintptr_t)buf;
	unsigned int seed = 7;
	size_t round, pg, i, j;

	(void)state;
	for (round = 0; round != ROUNDS; round++) {
		i = (size_t)rand_r(&seed) % NPINS;
		if (pins[i].pin && rand_r(&seed) % 2) {
			unpin(pins[i].pin);
			pins[i].pin = NULL;
		} else if (pins[i].pin) {
			/* Split into a free slot, if any. */
			for (j = 0; j != NPINS && pins[j].pin; j++)
				;
			if (j != NPINS && pins[i].n > 1) {
				size_t at = 1 + (size_t)rand_r(&seed) % (pins[i].n - 1);

				assert_int_equal(host()->ops->pin_split(host(), pins[i].pin, at * PSZ,
									&pins[j].pin), 0);
				pins[j].first = pins[i].first + at;
				pins[j].n = pins[i].n - at;
				pins[i].n = at;
			}
		} else {
			pins[i].first = (size_t)rand_r(&seed) % NPAGES;
			pins[i].n = 1 + (size_t)rand_r(&seed) % (NPAGES - pins[i].first);
			pins[i].pin = pin_user(buf + pins[i].first * PSZ, pins[i].n * PSZ, true);
		}
		for (pg = 0; pg != NPAGES; pg++) {
			long count = 0;
			size_t len, k;
			uint8_t *kaddr;

			for (j = 0; j != NPINS; j++)
				count += pins[j].pin && pg >= pins[j].first &&
					 pg < pins[j].first + pins[j].n;
			kaddr = kaddr_of(va + pg * PSZ + 1, &len);
			if (!count) {
				assert_null(kaddr);
				continue;
			}
			assert_ptr_equal(kaddr, buf + pg * PSZ + 1);
			/* Whatever run came back is pinned all along. */
			for (k = pg; k * PSZ < pg * PSZ + 1 + len; k++) {
				long held = 0;

				for (j = 0; j != NPINS; j++)
					held += pins[j].pin && k >= pins[j].first &&
						k < pins[j].first + pins[j].n;
				assert_true(held > 0);
			}
			if (round % 25 == 0)
				assert_int_equal(pins_at(buf + pg * PSZ), count);
		}
	}
	for (i = 0; i != NPINS; i++)
		if (pins[i].pin)
			unpin(pins[i].pin);
	munmap(buf, NPAGES * PSZ);
}

struct resolver {
	uint8_t *buf;
	size_t npages;
	atomic_bool *stop;
	long bad;
};

static void *resolve_loop(void *arg)
{
	struct resolver *r = arg;
	size_t pg, len;

	while (!atomic_load(r->stop)) {
		for (pg = 0; pg != r->npages; pg++) {
			uint8_t *k = kaddr_of((uintptr_t)r->buf + pg * PSZ, &len);

			r->bad += k != r->buf + pg * PSZ || len != (r->npages - pg) * PSZ;
		}
	}
	return NULL;
}

/* Lock-free resolution stays right while other pins come and go. */
static void test_phys_kaddr_concurrent(void **state)
{
	enum { NTHREADS = 3 };
	uint8_t *stable = map_pages(8), *churn = map_pages(4);
	struct host_pin *pin = pin_user(stable, 8 * PSZ, true);
	struct resolver r[NTHREADS];
	atomic_bool stop = false;
	pthread_t t[NTHREADS];
	int i;

	(void)state;
	for (i = 0; i != NTHREADS; i++) {
		r[i] = (struct resolver){ .buf = stable, .npages = 8, .stop = &stop };
		assert_int_equal(pthread_create(&t[i], NULL, resolve_loop, &r[i]), 0);
	}
	for (i = 0; i != 300; i++)
		unpin(pin_user(churn + (size_t)(i % 4) * PSZ, PSZ, true));
	atomic_store(&stop, true);
	for (i = 0; i != NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(r[i].bad, 0);
	}
	unpin(pin);
	munmap(stable, 8 * PSZ);
	munmap(churn, 4 * PSZ);
}

/* ------------------------------------------------------------- anon files */

static void count_release(void *priv)
{
	(*(int *)priv)++;
}

static const struct host_anon_ops test_anon_ops = { .name = "[test-anon]",
						    .release = count_release };
static const struct host_anon_ops other_anon_ops = { .name = "[other-anon]",
						     .release = count_release };

static int anon_fd(int *released, int flags)
{
	int fd = host()->ops->anon_fd(host(), &test_anon_ops, released, flags);

	assert_true(fd >= 0);
	return fd;
}

static void *anon_get(int fd, const struct host_anon_ops *ops, struct host_anon **ref)
{
	return host()->ops->anon_get(host(), fd, ops, ref);
}

/* What the shim does around the program's close(). */
static void close_fd(int fd)
{
	uiommufd_host_inproc_fd_closed(fd);
	assert_int_equal(close(fd), 0);
}

static void test_anon_release_on_last_close(void **state)
{
	int released = 0, fd = anon_fd(&released, O_CLOEXEC), d;
	struct host_anon *ref;

	(void)state;
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	assert_true(d >= 0);
	uiommufd_host_inproc_fd_dup(fd, d);
	close_fd(fd);
	assert_int_equal(released, 0);
	assert_false(inproc_fd_is_anon(fd));
	assert_true(inproc_fd_is_anon(d));
	/* The dup is the same file. */
	assert_ptr_equal(anon_get(d, &test_anon_ops, &ref), &released);
	host()->ops->anon_put(host(), ref);
	assert_int_equal(released, 0);
	assert_null(anon_get(d, &other_anon_ops, &ref));
	assert_null(anon_get(fd, &test_anon_ops, &ref));
	assert_null(anon_get(-1, &test_anon_ops, &ref));
	close_fd(d);
	assert_int_equal(released, 1);
	assert_false(inproc_fd_is_anon(d));
}

static void test_anon_get_ref_keeps_it(void **state)
{
	int released = 0, fd = anon_fd(&released, O_NONBLOCK);
	struct host_anon *ref;

	(void)state;
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	assert_ptr_equal(anon_get(fd, &test_anon_ops, &ref), &released);
	close_fd(fd);
	/* As fget() does, the reference holds the file open. */
	assert_int_equal(released, 0);
	host()->ops->anon_put(host(), ref);
	assert_int_equal(released, 1);
}

static void test_anon_dup2_over_closes_it(void **state)
{
	int released = 0, fd = anon_fd(&released, 0), efd = eventfd(0, EFD_CLOEXEC);
	struct host_anon *ref;

	(void)state;
	assert_true(efd >= 0);
	assert_int_equal(host()->ops->anon_fd(host(), &test_anon_ops, &released, O_RDWR), -EINVAL);
	/* dup2 onto the anon descriptor closes its file. */
	assert_int_equal(dup2(efd, fd), fd);
	uiommufd_host_inproc_fd_dup(efd, fd);
	assert_int_equal(released, 1);
	assert_null(anon_get(fd, &test_anon_ops, &ref));
	close_fd(fd);
	close_fd(efd);
	assert_int_equal(released, 1);
}

static void test_anon_closed_behind_our_back(void **state)
{
	int released = 0, fd = anon_fd(&released, 0), other;
	struct host_anon *ref;

	(void)state;
	/* A close we never heard of, and the number taken by another file. */
	assert_int_equal(close(fd), 0);
	other = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(other, fd);
	assert_null(anon_get(other, &test_anon_ops, &ref));
	assert_int_equal(released, 1);
	assert_false(inproc_fd_is_anon(other));
	close_fd(other);
	assert_int_equal(released, 1);
}

/*
 * Lookups race descriptors that come and go, the numbers reused at once:
 * a lookup that succeeds holds a file not yet released, of the kind it
 * asked for, and each file is released exactly once, when its last
 * reference goes.
 */
struct race_probe {
	atomic_int released;
};

static void probe_release(void *priv)
{
	atomic_fetch_add(&((struct race_probe *)priv)->released, 1);
}

static const struct host_anon_ops race_anon_ops = { .name = "[race-anon]",
						    .release = probe_release };

struct race_reader {
	pthread_t thread;
	atomic_bool *stop;
	atomic_long *got;
	int lo;
	long bad;
};

static void *race_lookups(void *arg)
{
	struct race_reader *r = arg;
	struct host_anon *ref;

	while (!atomic_load(r->stop)) {
		for (int fd = r->lo; fd != r->lo + 4; fd++) {
			struct race_probe *p = anon_get(fd, &race_anon_ops, &ref);

			if (p) {
				atomic_fetch_add(r->got, 1);
				r->bad += atomic_load(&p->released) != 0;
				host()->ops->anon_put(host(), ref);
			}
			if (anon_get(fd, &other_anon_ops, &ref))
				r->bad++;
		}
	}
	return NULL;
}

static void test_anon_lookups_race_closes(void **state)
{
	/* At least MIN_ROUNDS, and on until the readers have caught files often. */
	enum { MIN_ROUNDS = 20000, MAX_ROUNDS = 400000, READERS = 2 };
	struct race_probe *probes = calloc(MAX_ROUNDS, sizeof(*probes));
	struct race_reader readers[READERS] = {};
	atomic_bool stop = false;
	atomic_long got = 0;
	int i, n, fd;

	(void)state;
	assert_non_null(probes);
	fd = host()->ops->anon_fd(host(), &race_anon_ops, &probes[0], 0);
	assert_true(fd >= 0);
	for (i = 0; i != READERS; i++) {
		readers[i].stop = &stop;
		readers[i].got = &got;
		readers[i].lo = fd > 0 ? fd - 1 : 0;
		assert_int_equal(pthread_create(&readers[i].thread, NULL, race_lookups, &readers[i]),
				 0);
	}
	for (n = 1; n != MAX_ROUNDS && (n < MIN_ROUNDS || atomic_load(&got) < 1000); n++) {
		close_fd(fd);
		fd = host()->ops->anon_fd(host(), &race_anon_ops, &probes[n], 0);
		assert_true(fd >= 0);
	}
	close_fd(fd);
	atomic_store(&stop, true);
	for (i = 0; i != READERS; i++) {
		assert_int_equal(pthread_join(readers[i].thread, NULL), 0);
		assert_int_equal(readers[i].bad, 0);
	}
	assert_true(atomic_load(&got) > 0);
	for (i = 0; i != n; i++)
		assert_int_equal(atomic_load(&probes[i].released), 1);
	free(probes);
}

/* What an embedding program does before a madvise it makes itself. */
static void test_unmap_notify_leaves_range_usable(void **state)
{
	uint8_t *buf = map_pages(3);
	struct host_pin *pin = pin_user(buf, 2 * PSZ, true);
	uint64_t pa = (uintptr_t)buf;
	size_t len;
	uint8_t *k;

	(void)state;
	buf[PSZ + 9] = 0x9e;
	uiommufd_host_inproc_unmap_notify(buf, 3 * PSZ);
	/* The program's range is still mapped: fresh zero pages. */
	assert_int_equal(buf[PSZ + 9], 0);
	assert_int_equal(buf[2 * PSZ], 0x5a);
	buf[PSZ + 9] = 0x01;
	/* The pinned pages are elsewhere, as they were. */
	k = kaddr_of(pa, &len);
	assert_non_null(k);
	assert_ptr_not_equal(k, buf);
	assert_int_equal(len, 2 * PSZ);
	assert_int_equal(k[PSZ + 9], 0x9e);
	assert_int_equal(k[0], 0x5a);
	unpin(pin);
	munmap(buf, 3 * PSZ);
}

static void test_madvise_keeps_pinned_pages(void **state)
{
	int mfd = memfd_pages(2);
	uint8_t *buf = map_pages(2), *shared = map_shared(mfd, 2 * PSZ, 0), *k;
	struct host_pin *pin = pin_user(buf, 2 * PSZ, true), *spin, *fpin, *again;
	struct host_file *file;
	uint64_t pa = (uintptr_t)buf, fpa;
	size_t len;

	(void)state;
	/* DONTNEED of private memory: the program's pages are new, the pin's are not. */
	assert_int_equal(uiommufd_host_inproc_madvise(buf, 2 * PSZ, MADV_DONTNEED), 0);
	assert_int_equal(buf[0], 0);
	k = kaddr_of(pa, &len);
	assert_ptr_not_equal(k, buf);
	assert_int_equal(k[0], 0x5a);
	assert_int_equal(pins_at(buf), 0);
	buf[1] = 3;
	assert_int_equal(k[1], 0x5a);
	assert_int_equal(uiommufd_host_inproc_madvise(buf + 1, PSZ, MADV_DONTNEED), -EINVAL);

	/* REMOVE of a memfd page pinned through a mapping and through the file. */
	memset(shared, 0x4d, 2 * PSZ);
	spin = pin_user(shared, 2 * PSZ, true);
	assert_int_equal(host()->ops->file_get(host(), mfd, &file), 0);
	assert_int_equal(host()->ops->pin_file(host(), file, 0, 2 * PSZ, true, &fpin), 0);
	fpa = pin_pa(fpin, 0, &len);
	assert_int_equal(pin_pa(spin, 0, &len), fpa);
	assert_int_equal(uiommufd_host_inproc_madvise(shared, PSZ, MADV_REMOVE), 0);
	assert_int_equal(shared[0], 0);
	k = kaddr_of(fpa, &len);
	assert_int_equal(len, PSZ);
	assert_int_equal(k[0], 0x4d);
	assert_ptr_equal(host()->ops->pin_kaddr(host(), fpin, 0), k);
	assert_ptr_equal(host()->ops->pin_kaddr(host(), spin, 0), k);
	/* The page left in the file is still the file's. */
	shared[PSZ] = 0x31;
	assert_int_equal(((uint8_t *)host()->ops->pin_kaddr(host(), fpin, PSZ))[0], 0x31);
	/* The file's new page is another page, at another address. */
	shared[0] = 0x27;
	again = pin_user(shared, PSZ, false);
	assert_int_not_equal(pin_pa(again, 0, &len), fpa);
	assert_int_equal(((uint8_t *)host()->ops->pin_kaddr(host(), again, 0))[0], 0x27);
	assert_int_equal(kaddr_of(fpa, &len)[0], 0x4d);
	unpin(again);
	unpin(spin);
	unpin(fpin);
	host()->ops->file_put(host(), file);
	unpin(pin);
	munmap(shared, 2 * PSZ);
	munmap(buf, 2 * PSZ);
	close(mfd);
}

/* A pin racing the shim's munmap: moved aside first, then unmapped. */
struct unmap_racer {
	uint8_t *buf;
	atomic_int stage;	/* 1: pages moved aside, 2: munmap done */
	int pin_rc;
	int stage_after_pin;
};

static void *pin_in_the_window(void *arg)
{
	struct unmap_racer *r = arg;
	struct host_pin *pin = NULL;

	while (atomic_load(&r->stage) < 1)
		sched_yield();
	r->pin_rc = host()->ops->pin_user(host(), (uintptr_t)r->buf, PSZ, true, &pin);
	r->stage_after_pin = atomic_load(&r->stage);
	if (!r->pin_rc)
		unpin(pin);
	return NULL;
}

static void test_pin_waits_for_munmap(void **state)
{
	struct unmap_racer r = { .buf = map_pages(2) };
	struct host_pin *pin = pin_user(r.buf, 2 * PSZ, true);
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, pin_in_the_window, &r), 0);
	/* The shim's munmap: the memory-map lock over the move and the munmap. */
	uiommufd_host_inproc_mm_write_begin();
	uiommufd_host_inproc_unmap_notify(r.buf, 2 * PSZ);
	atomic_store(&r.stage, 1);
	usleep(50 * 1000);
	assert_int_equal(munmap(r.buf, 2 * PSZ), 0);
	atomic_store(&r.stage, 2);
	uiommufd_host_inproc_mm_write_end();
	assert_int_equal(pthread_join(t, NULL), 0);
	/* The pin came after the munmap: nothing is mapped there. */
	assert_int_equal(r.stage_after_pin, 2);
	assert_int_equal(r.pin_rc, -EFAULT);
	unpin(pin);
}

static int vma_text(void **state)
{
	(void)state;
	inproc_vma_text_only(true);
	return 0;
}

static int vma_query(void **state)
{
	(void)state;
	inproc_vma_text_only(false);
	return 0;
}

int main(void)
{
	const struct CMUnitTest pa_tests[] = {
		cmocka_unit_test(test_user_copy_stops_at_fault),
		cmocka_unit_test(test_user_copy_every_small_length),
		cmocka_unit_test(test_private_pa_is_va),
		cmocka_unit_test(test_memfd_one_pa_everywhere),
		cmocka_unit_test(test_shared_anon_mapped_twice),
		cmocka_unit_test(test_pin_spans_vmas),
		cmocka_unit_test(test_phys_kaddr_after_munmap),
		cmocka_unit_test(test_collision_gets_alias),
		cmocka_unit_test(test_mremap_keeps_identity),
		cmocka_unit_test(test_user_phys_efault),
		cmocka_unit_test(test_private_file_written_after_pin),
		cmocka_unit_test(test_file_pin_split),
		cmocka_unit_test(test_random_pins_match_brute_force),
		cmocka_unit_test(test_phys_kaddr_concurrent),
		cmocka_unit_test(test_unmap_notify_leaves_range_usable),
		cmocka_unit_test(test_madvise_keeps_pinned_pages),
		cmocka_unit_test(test_pin_waits_for_munmap),
		cmocka_unit_test(test_kept_maps_fd_taken),
		cmocka_unit_test(test_fork_child_reads_own_map),
	};
	/* The same with VMAs read as text, as on kernels before 6.11. */
	const struct CMUnitTest pa_text_tests[] = {
		cmocka_unit_test(test_memfd_one_pa_everywhere),
		cmocka_unit_test(test_pin_spans_vmas),
		cmocka_unit_test(test_collision_gets_alias),
		cmocka_unit_test(test_user_phys_efault),
	};
	const struct CMUnitTest anon_tests[] = {
		cmocka_unit_test(test_pin_user_into_slot),
		cmocka_unit_test(test_anon_release_on_last_close),
		cmocka_unit_test(test_anon_get_ref_keeps_it),
		cmocka_unit_test(test_anon_dup2_over_closes_it),
		cmocka_unit_test(test_anon_closed_behind_our_back),
		cmocka_unit_test(test_anon_lookups_race_closes),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("host physical addresses", pa_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("host physical addresses, maps text", pa_text_tests,
					      vma_text, vma_query);
	failed += cmocka_run_group_tests_name("host anon files", anon_tests, NULL, NULL);
	return failed;
}
