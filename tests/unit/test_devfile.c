// SPDX-License-Identifier: MIT
/*
 * Device files in the in-process host: the calls a program makes on a VFIO
 * group or device descriptor (ioctl, pread/pwrite, read/write at the file
 * position, mmap, fstat) reach the anon file's ops, as host_anon_ops says,
 * through uiommufd_fd_ioctl()/_rw()/_mmap() and the inproc_anon_*() calls
 * the shim makes.  A small fake device kind records what it was asked.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "helpers.h"
#include "core/host.h"
#include "host/inproc.h"

#define FAKE_IOCTL 0xc0de4242ul

struct fake_dev {
	uint8_t regs[16384];
	int releases;
	unsigned long last_cmd;
	uint64_t last_uarg;
	uint64_t last_off;
	size_t last_count;
	int mmaps;
	void *map;
	size_t map_len;
	uintptr_t unmapped_start;
	size_t unmapped_len;
	int munmaps;
};

static struct uiommufd_host *host(void)
{
	return uiommufd_host_inproc();
}

static void fake_release(void *priv)
{
	((struct fake_dev *)priv)->releases++;
}

static long fake_ioctl(void *priv, unsigned long cmd, uint64_t uarg)
{
	struct fake_dev *d = priv;

	d->last_cmd = cmd;
	d->last_uarg = uarg;
	return cmd == FAKE_IOCTL ? 42 : -EINVAL;
}

/* Region access as a device would: bounded by its register file. */
static ssize_t fake_rw(void *priv, uint64_t ubuf, size_t count, uint64_t off, bool write)
{
	struct fake_dev *d = priv;

	d->last_off = off;
	d->last_count = count;
	if (off >= sizeof(d->regs))
		return -EINVAL;
	if (count > sizeof(d->regs) - off)
		count = sizeof(d->regs) - off;
	if (write ? copy_from_user(host(), d->regs + off, ubuf, count)
		  : copy_to_user(host(), ubuf, d->regs + off, count))
		return -EFAULT;
	return (ssize_t)count;
}

static int fake_mmap(void *priv, void *addr, size_t len, int prot, int flags, uint64_t off,
		     void **out)
{
	struct fake_dev *d = priv;
	void *p;

	if (off + len > sizeof(d->regs))
		return -EINVAL;
	p = mmap(addr, len, prot, (flags & MAP_FIXED) | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	d->mmaps++;
	d->map = p;
	d->map_len = len;
	*out = p;
	return 0;
}

static void fake_munmap(void *priv, void *addr, size_t len)
{
	struct fake_dev *d = priv;

	d->munmaps++;
	d->unmapped_start = (uintptr_t)addr;
	d->unmapped_len = len;
}

static int fake_stat(void *priv, struct stat *st)
{
	st->st_mode = S_IFCHR | 0600;
	st->st_rdev = makedev(237, 3);
	return 0;
}

static const struct host_anon_ops fake_ops = {
	.name = "[vfio-device]",
	.release = fake_release,
	.ioctl = fake_ioctl,
	.rw = fake_rw,
	.mmap = fake_mmap,
	.munmap = fake_munmap,
	.stat = fake_stat,
};

/* An anon kind of the old sort: no device members at all. */
static const struct host_anon_ops plain_ops = {
	.name = "[plain]",
	.release = fake_release,
};

static ssize_t stream_read(void *priv, uint64_t ubuf, size_t count, int fflags)
{
	return 0;
}

static const struct host_anon_ops stream_ops = {
	.name = "[stream]",
	.release = fake_release,
	.read = stream_read,
};

static int dev_fd(const struct host_anon_ops *ops, struct fake_dev *d)
{
	int fd = host()->ops->anon_fd(host(), ops, d, O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void close_fd(int fd)
{
	uiommufd_host_inproc_fd_closed(fd);
	close(fd);
}

static void test_ioctl(void **state)
{
	struct fake_dev *d = calloc(1, sizeof(*d)), *p = calloc(1, sizeof(*p));
	int fd = dev_fd(&fake_ops, d), pfd = dev_fd(&plain_ops, p);
	long ret = 0;
	int flags;

	(void)state;
	assert_int_equal(uiommufd_fd_ioctl(fd, FAKE_IOCTL, (void *)0x1234), 42);
	assert_int_equal(d->last_cmd, FAKE_IOCTL);
	assert_int_equal(d->last_uarg, 0x1234);
	assert_int_equal(uiommufd_fd_ioctl(fd, 0x5678, NULL), -EINVAL);
	/* The VFS's own ioctls are the descriptor's, never the file's. */
	d->last_cmd = 0;
	assert_int_equal(uiommufd_fd_ioctl(fd, FIOCLEX, NULL), 0);
	assert_int_equal(d->last_cmd, 0);
	flags = fcntl(fd, F_GETFD);
	assert_true(flags & FD_CLOEXEC);
	assert_int_equal(uiommufd_fd_ioctl(fd, FIONCLEX, NULL), 0);
	assert_false(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* A kind without ioctl: ENOTTY, as an anon inode. */
	assert_int_equal(uiommufd_fd_ioctl(pfd, FAKE_IOCTL, NULL), -ENOTTY);
	assert_true(inproc_anon_ioctl(pfd, FAKE_IOCTL, 0, &ret));
	assert_int_equal(ret, -ENOTTY);
	/* Not ours: the shim passes it on; the public call is the system call. */
	assert_false(inproc_anon_ioctl(0x7fff, FAKE_IOCTL, 0, &ret));
	assert_int_equal(uiommufd_fd_ioctl(-1, FAKE_IOCTL, NULL), -EBADF);
	assert_true(inproc_ioctl_is_vfs(FIONBIO));
	assert_false(inproc_ioctl_is_vfs(FAKE_IOCTL));

	close_fd(fd);
	close_fd(pfd);
	assert_int_equal(d->releases, 1);
	assert_int_equal(p->releases, 1);
	/* Closed: no longer ours. */
	assert_false(inproc_anon_ioctl(fd, FAKE_IOCTL, 0, &ret));
	free(d);
	free(p);
}

static void test_pread_pwrite(void **state)
{
	struct fake_dev *d = calloc(1, sizeof(*d)), *p = calloc(1, sizeof(*p));
	int fd = dev_fd(&fake_ops, d), pfd = dev_fd(&plain_ops, p);
	uint8_t buf[64], out[256];
	uint32_t v = 0xa5a5f00d;
	ssize_t ret;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(uiommufd_fd_rw(fd, buf, sizeof(buf), 100, true), sizeof(buf));
	assert_memory_equal(d->regs + 100, buf, sizeof(buf));
	assert_int_equal(uiommufd_fd_rw(fd, out, sizeof(buf), 100, false), sizeof(buf));
	assert_memory_equal(out, buf, sizeof(buf));
	assert_int_equal(uiommufd_fd_rw(fd, &v, 4, 0x10, true), 4);
	assert_int_equal(d->last_off, 0x10);
	assert_memory_equal(d->regs + 0x10, &v, 4);
	/* The file's errors come back as they are. */
	assert_int_equal(uiommufd_fd_rw(fd, out, 4, 1ull << 40, false), -EINVAL);
	assert_int_equal(d->last_off, 1ull << 40);
	assert_int_equal(uiommufd_fd_rw(fd, (void *)8, 4, 0, false), -EFAULT);

	/* The VFS's checks come first: the file is not asked. */
	d->last_off = 0;
	assert_int_equal(uiommufd_fd_rw(fd, out, 4, 1ull << 63, false), -EINVAL);
	assert_true(inproc_anon_prw(fd, (uintptr_t)out, 4, -1, false, &ret));
	assert_int_equal(ret, -EINVAL);
	assert_int_equal(uiommufd_fd_rw(fd, out, 16, INT64_MAX - 8, false), -EINVAL);
	assert_int_equal(uiommufd_fd_rw(fd, out, (size_t)-1, 0, false), -EINVAL);
	assert_int_equal(d->last_off, 0);
	/* A huge count is cut to the VFS's largest transfer. */
	assert_int_equal(uiommufd_fd_rw(fd, out, (size_t)INT_MAX + 100, 16200, false), 184);
	assert_int_equal(d->last_count, (size_t)INT_MAX & ~(size_t)4095);

	/* Kinds without rw: EINVAL; streams: ESPIPE. */
	assert_int_equal(uiommufd_fd_rw(pfd, out, 4, 0, false), -EINVAL);
	assert_int_equal(uiommufd_fd_rw(pfd, out, 4, 0, true), -EINVAL);
	{
		struct fake_dev *s = calloc(1, sizeof(*s));
		int sfd = dev_fd(&stream_ops, s);

		assert_int_equal(uiommufd_fd_rw(sfd, out, 4, 0, false), -ESPIPE);
		assert_true(inproc_anon_prw(sfd, (uintptr_t)out, 4, -5, false, &ret));
		assert_int_equal(ret, -EINVAL);	/* the offset is checked first */
		assert_false(inproc_anon_rw_pos(sfd, (uintptr_t)out, 4, false, &ret));
		close_fd(sfd);
		free(s);
	}
	close_fd(fd);
	close_fd(pfd);
	free(d);
	free(p);
}

static void test_pread_plain_file(void **state)
{
	char path[] = "/tmp/uiommufd-devfile-XXXXXX";
	char buf[8] = { 0 };
	int fd = mkstemp(path);
	ssize_t ret;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "abcdefgh", 8), 8);
	/* Not ours: pread(2) itself. */
	assert_false(inproc_anon_prw(fd, (uintptr_t)buf, 4, 2, false, &ret));
	assert_int_equal(uiommufd_fd_rw(fd, buf, 4, 2, false), 4);
	assert_memory_equal(buf, "cdef", 4);
	assert_int_equal(uiommufd_fd_rw(fd, "XY", 2, 0, true), 2);
	assert_int_equal(uiommufd_fd_rw(fd, buf, 3, 0, false), 3);
	assert_memory_equal(buf, "XYc", 3);
	assert_int_equal(uiommufd_fd_rw(-1, buf, 3, 0, false), -EBADF);
	close(fd);
}

static void test_rw_at_position(void **state)
{
	struct fake_dev *d = calloc(1, sizeof(*d));
	int fd = dev_fd(&fake_ops, d);
	uint8_t out[16];
	ssize_t ret;

	(void)state;
	for (size_t i = 0; i < sizeof(d->regs); i++)
		d->regs[i] = (uint8_t)i;
	/* read() transfers at the position and moves it on. */
	assert_true(inproc_anon_rw_pos(fd, (uintptr_t)out, 8, false, &ret));
	assert_int_equal(ret, 8);
	assert_int_equal(d->last_off, 0);
	assert_true(inproc_anon_rw_pos(fd, (uintptr_t)out, 8, false, &ret));
	assert_int_equal(ret, 8);
	assert_int_equal(d->last_off, 8);
	assert_int_equal(out[0], 8);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 16);
	assert_int_equal(lseek(fd, 4000, SEEK_SET), 4000);
	assert_true(inproc_anon_rw_pos(fd, (uintptr_t)"zz", 2, true, &ret));
	assert_int_equal(ret, 2);
	assert_int_equal(d->regs[4000], 'z');
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 4002);
	/* A failed transfer leaves the position. */
	assert_int_equal(lseek(fd, 20000, SEEK_SET), 20000);
	assert_true(inproc_anon_rw_pos(fd, (uintptr_t)out, 4, false, &ret));
	assert_int_equal(ret, -EINVAL);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 20000);
	close_fd(fd);
	free(d);
}

static void test_mmap_lifetime(void **state)
{
	struct fake_dev *d = calloc(1, sizeof(*d)), *p = calloc(1, sizeof(*p));
	int fd = dev_fd(&fake_ops, d), pfd = dev_fd(&plain_ops, p);
	size_t psz = PSZ;
	uint8_t *m;
	void *out = NULL;

	(void)state;
	/* mmap's own checks first. */
	assert_int_equal(uiommufd_fd_mmap(fd, NULL, 0, PROT_READ, MAP_SHARED, 0, &out), -EINVAL);
	assert_int_equal(uiommufd_fd_mmap(fd, NULL, psz, PROT_READ, MAP_SHARED, 100, &out),
			 -EINVAL);
	assert_int_equal(d->mmaps, 0);
	assert_int_equal(uiommufd_fd_mmap(pfd, NULL, psz, PROT_READ, MAP_SHARED, 0, &out),
			 -ENODEV);
	/* The file's refusal. */
	assert_int_equal(uiommufd_fd_mmap(fd, NULL, psz, PROT_READ, MAP_SHARED, 1 << 20, &out),
			 -EINVAL);

	/* A short length is rounded up to a page. */
	assert_int_equal(uiommufd_fd_mmap(fd, NULL, psz + 1, PROT_READ | PROT_WRITE, MAP_SHARED,
					  0, &out), 0);
	assert_int_equal(d->map_len, 2 * psz);
	m = out;
	assert_ptr_equal(m, d->map);
	m[0] = 1;

	/* Closing the descriptor keeps the file while it is mapped. */
	close_fd(fd);
	assert_int_equal(d->releases, 0);
	/* Unmapping the front: told, still held. */
	assert_int_equal(munmap(m, psz), 0);
	inproc_anon_unmapped(m, psz);
	assert_int_equal(d->munmaps, 1);
	assert_int_equal(d->unmapped_start, (uintptr_t)m);
	assert_int_equal(d->unmapped_len, psz);
	assert_int_equal(d->releases, 0);
	/* Unmapping it again tells nothing. */
	inproc_anon_unmapped(m, psz);
	assert_int_equal(d->munmaps, 1);
	/* A range over the rest and beyond: the last page goes, and the file. */
	assert_int_equal(munmap(m + psz, psz), 0);
	inproc_anon_unmapped(m, 4 * psz);
	assert_int_equal(d->munmaps, 2);
	assert_int_equal(d->unmapped_start, (uintptr_t)(m + psz));
	assert_int_equal(d->unmapped_len, psz);
	assert_int_equal(d->releases, 1);

	close_fd(pfd);
	free(d);
	free(p);
}

static void test_mmap_split(void **state)
{
	struct fake_dev *d = calloc(1, sizeof(*d));
	int fd = dev_fd(&fake_ops, d);
	size_t psz = PSZ;
	uint8_t *m;
	void *out;

	(void)state;
	assert_int_equal(uiommufd_fd_mmap(fd, NULL, 3 * psz, PROT_READ, MAP_SHARED, 0, &out), 0);
	m = out;
	close_fd(fd);
	/* The middle page: the mapping is now two, both holding the file. */
	assert_int_equal(munmap(m + psz, psz), 0);
	inproc_anon_unmapped(m + psz, psz);
	assert_int_equal(d->unmapped_start, (uintptr_t)(m + psz));
	assert_int_equal(d->unmapped_len, psz);
	assert_int_equal(munmap(m, psz), 0);
	inproc_anon_unmapped(m, psz);
	assert_int_equal(d->releases, 0);
	assert_int_equal(munmap(m + 2 * psz, psz), 0);
	inproc_anon_unmapped(m + 2 * psz, psz);
	assert_int_equal(d->munmaps, 3);
	assert_int_equal(d->releases, 1);
	free(d);
}

static void test_stat(void **state)
{
	struct fake_dev *d = calloc(1, sizeof(*d)), *p = calloc(1, sizeof(*p));
	int fd = dev_fd(&fake_ops, d), pfd = dev_fd(&plain_ops, p);
	struct stat st;
	int rc = -1;

	(void)state;
	memset(&st, 0xff, sizeof(st));
	assert_true(inproc_anon_stat(fd, &st, &rc));
	assert_int_equal(rc, 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(237, 3));
	assert_int_equal(st.st_size, 0);	/* what the file did not fill is zero */
	/* A kind without stat: the descriptor's own fstat is right. */
	assert_false(inproc_anon_stat(pfd, &st, &rc));
	assert_false(inproc_anon_stat(0x7fff, &st, &rc));
	close_fd(fd);
	close_fd(pfd);
	free(d);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ioctl),
		cmocka_unit_test(test_pread_pwrite),
		cmocka_unit_test(test_pread_plain_file),
		cmocka_unit_test(test_rw_at_position),
		cmocka_unit_test(test_mmap_lifetime),
		cmocka_unit_test(test_mmap_split),
		cmocka_unit_test(test_stat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
