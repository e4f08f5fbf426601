// SPDX-License-Identifier: MIT
/*
 * A short tour of the IOAS API, written as any iommufd client is: it opens
 * /dev/iommu and issues ioctls.  Run it under `uiommufd run` on any machine,
 * or on a kernel with CONFIG_IOMMUFD against the real thing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uapi/iommufd.h"

#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static int fd;

static void check(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "ioas_tour: %s failed: %s\n", what, strerror(errno));
		exit(1);
	}
}

static uint32_t ioas_alloc(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	check(ioctl(fd, IOMMU_IOAS_ALLOC, &cmd), "IOMMU_IOAS_ALLOC");
	return cmd.out_ioas_id;
}

static void show_ranges(uint32_t ioas)
{
	struct iommu_iova_range ranges[8];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = 8,
		.allowed_iovas = (uintptr_t)ranges,
	};
	uint32_t i;

	check(ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd), "IOMMU_IOAS_IOVA_RANGES");
	printf("IOAS %u: %u usable IOVA range(s), alignment %llu\n", ioas, cmd.num_iovas,
	       (unsigned long long)cmd.out_iova_alignment);
	for (i = 0; i != cmd.num_iovas; i++)
		printf("  [%#llx, %#llx]\n", (unsigned long long)ranges[i].start,
		       (unsigned long long)ranges[i].last);
}

int main(void)
{
	size_t len = 16 * 4096;
	uint8_t *buf;
	uint32_t ioas, copy;

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "ioas_tour: cannot open /dev/iommu: %s\n"
				"  run it as `uiommufd run -- %s`\n", strerror(errno), "ioas_tour");
		return 1;
	}
	ioas = ioas_alloc();
	printf("opened /dev/iommu as fd %d, allocated IOAS %u\n", fd, ioas);

	/* Reserve a hole, the way a device's MSI window would. */
	{
		struct iommu_iova_range allowed = { .start = 1 << 20, .last = (1 << 30) - 1 };
		struct iommu_ioas_allow_iovas cmd = {
			.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = 1,
			.allowed_iovas = (uintptr_t)&allowed,
		};

		check(ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd), "IOMMU_IOAS_ALLOW_IOVAS");
		printf("automatic IOVAs now come from [%#x, %#x]\n", 1 << 20, (1 << 30) - 1);
	}
	show_ranges(ioas);

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	{
		struct iommu_ioas_map map = {
			.size = sizeof(map), .flags = RW, .ioas_id = ioas,
			.user_va = (uintptr_t)buf, .length = len,
		};
		struct iommu_ioas_copy cp = {
			.size = sizeof(cp), .flags = RW, .src_ioas_id = ioas,
			.length = 4 * 4096,
		};
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap), .ioas_id = ioas, .iova = 0, .length = UINT64_MAX,
		};

		check(ioctl(fd, IOMMU_IOAS_MAP, &map), "IOMMU_IOAS_MAP");
		printf("mapped %zu bytes at %p to IOVA %#llx\n", len, (void *)buf,
		       (unsigned long long)map.iova);

		copy = ioas_alloc();
		cp.dst_ioas_id = copy;
		cp.src_iova = map.iova + 4 * 4096;
		check(ioctl(fd, IOMMU_IOAS_COPY, &cp), "IOMMU_IOAS_COPY");
		printf("copied 4 pages of IOAS %u into IOAS %u at IOVA %#llx (same pages)\n", ioas,
		       copy, (unsigned long long)cp.dst_iova);

		/* A range that cuts an area is refused, as the kernel refuses it. */
		unmap.iova = map.iova;
		unmap.length = 4096;
		if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap) == 0 || errno != ENOENT) {
			fprintf(stderr, "ioas_tour: partial unmap should fail with ENOENT\n");
			return 1;
		}
		printf("unmapping one page of a 16-page area: %s (as the kernel)\n", strerror(errno));

		unmap.iova = 0;
		unmap.length = UINT64_MAX;
		check(ioctl(fd, IOMMU_IOAS_UNMAP, &unmap), "IOMMU_IOAS_UNMAP");
		printf("unmapped everything in IOAS %u: %llu bytes\n", ioas,
		       (unsigned long long)unmap.length);
	}
	{
		struct iommu_destroy d = { .size = sizeof(d), .id = ioas };

		check(ioctl(fd, IOMMU_DESTROY, &d), "IOMMU_DESTROY");
		printf("destroyed IOAS %u; IOAS %u still holds its copy until close\n", ioas, copy);
	}
	close(fd);
	munmap(buf, len);
	printf("done\n");
	return 0;
}
