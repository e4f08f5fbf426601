// SPDX-License-Identifier: MIT
/*
 * The IOAS ioctls.  Each handler does what the kernel's does, in the same
 * order, so that a request with several things wrong fails with the same
 * errno: flags and reserved fields first (EOPNOTSUPP), then ranges that do
 * not fit an unsigned long (EOVERFLOW), then values (EINVAL), then the
 * object lookup (ENOENT), then the work in io_pagetable.c.  Outputs are
 * written back only on success.
 */
#include <stdlib.h>
#include <string.h>

#include "core/io_pagetable.h"
#include "core/ioas.h"

struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_IOAS);

	if (IS_ERR(obj))
		return (struct iommufd_ioas *)obj;
	return container_of(obj, struct iommufd_ioas, obj);
}

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	ioas = iommufd_object_alloc(ictx, ioas, IOMMUFD_OBJ_IOAS);
	if (IS_ERR(ioas))
		return ioas;
	iopt_init_table(&ioas->iopt);
	return ioas;
}

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);

	iopt_destroy_table(&ioas->iopt);
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	ioas = iommufd_ioas_alloc(ucmd->ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	cmd->out_ioas_id = ioas->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_table;
	iommufd_object_finalize(ucmd->ictx, &ioas->obj);
	return 0;

out_table:
	iommufd_object_abort_and_destroy(ucmd->ictx, &ioas->obj);
	return rc;
}

struct iova_ranges_fill {
	struct uiommufd_host *host;
	uint64_t uranges;
	uint32_t max_iovas;
	uint32_t num_iovas;
};

static int iova_ranges_fill_one(void *arg, unsigned long start, unsigned long last)
{
	struct iova_ranges_fill *fill = arg;

	if (fill->num_iovas < fill->max_iovas) {
		struct iommu_iova_range elm = { .start = start, .last = last };

		if (copy_to_user(fill->host, fill->uranges + fill->num_iovas * sizeof(elm), &elm,
				 sizeof(elm)))
			return -EFAULT;
	}
	fill->num_iovas++;
	return 0;
}

int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iova_ranges_fill fill = {
		.host = ucmd->ictx->host,
		.uranges = cmd->allowed_iovas,
		.max_iovas = cmd->num_iovas,
	};
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	cmd->out_iova_alignment = ioas->iopt.iova_alignment;
	rc = iopt_for_each_iova_hole(&ioas->iopt, iova_ranges_fill_one, &fill);
	if (rc)
		goto out_put;
	/* The count is reported even when the array was too small for it. */
	cmd->num_iovas = fill.num_iovas;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_put;
	if (fill.num_iovas > fill.max_iovas)
		rc = -EMSGSIZE;
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* Read the user's ranges; they must be proper and must not overlap. */
static int iommufd_ioas_load_iovas(struct uiommufd_host *host, uint64_t uranges, uint32_t num,
				   struct iopt_span **out)
{
	struct iopt_span *spans = NULL;
	uint32_t i, j;

	if (num) {
		spans = iommufd_realloc_array(NULL, num, sizeof(*spans));
		if (!spans)
			return -ENOMEM;
	}
	for (i = 0; i != num; i++) {
		struct iommu_iova_range range;

		if (copy_from_user(host, &range, uranges + (uint64_t)i * sizeof(range),
				   sizeof(range)))
			goto err_efault;
		if (range.start >= range.last)
			goto err_einval;
		for (j = 0; j != i; j++)
			if (range.start <= spans[j].last && range.last >= spans[j].start)
				goto err_einval;
		spans[i].start = range.start;
		spans[i].last = range.last;
	}
	*out = spans;
	return 0;

err_efault:
	free(spans);
	return -EFAULT;
err_einval:
	free(spans);
	return -EINVAL;
}

int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	struct iopt_span *spans = NULL;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	rc = iommufd_ioas_load_iovas(ucmd->ictx->host, cmd->allowed_iovas, cmd->num_iovas,
				     &spans);
	if (rc)
		goto out_put;
	/* Swapped in whole, or not at all. */
	rc = iopt_set_allow_iova(&ioas->iopt, spans, cmd->num_iovas);
	if (rc)
		free(spans);
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

static int conv_iommu_prot(uint32_t map_flags)
{
	/* iommufd never offers non-coherent DMA. */
	int iommu_prot = IOMMU_CACHE;

	if (map_flags & IOMMU_IOAS_MAP_WRITEABLE)
		iommu_prot |= IOMMU_WRITE;
	if (map_flags & IOMMU_IOAS_MAP_READABLE)
		iommu_prot |= IOMMU_READ;
	return iommu_prot;
}

#define IOAS_MAP_FLAGS                                                                  \
	(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)

int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map_file *cmd = ucmd->cmd;
	struct uiommufd_host *host = ucmd->ictx->host;
	unsigned long iova = cmd->iova;
	struct iommufd_ioas *ioas;
	struct host_anon *dmabuf_ref = NULL;
	struct iommufd_dmabuf *dmabuf;
	struct host_file *file;
	unsigned int flags = 0;
	int64_t size;
	uint64_t end;
	int rc;

	if (cmd->flags & ~IOAS_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;

	/* A dma-buf first, as the kernel tries dma_buf_get() first. */
	dmabuf = host->ops->anon_get(host, cmd->fd, &iommufd_test_dmabuf_fops, &dmabuf_ref);
	if (dmabuf) {
		if (dmabuf->revoked) {
			rc = -ENODEV;
		} else if (!cmd->length || check_add_overflow(cmd->start, cmd->length, &end) ||
			   end > dmabuf->length) {
			rc = -EINVAL;
		} else {
			/* Takes the reference, whatever happens. */
			rc = iopt_map_dmabuf_pages(ucmd->ictx, &ioas->iopt, &iova, dmabuf,
						   dmabuf_ref, cmd->start, cmd->length,
						   conv_iommu_prot(cmd->flags), flags);
			dmabuf_ref = NULL;
		}
		if (dmabuf_ref)
			host->ops->anon_put(host, dmabuf_ref);
		if (rc)
			goto out_put;
		goto out_respond;
	}

	rc = host->ops->file_get(host, cmd->fd, &file);
	if (rc)
		goto out_put;
	/* The range must lie inside the file as it is now. */
	size = host->ops->file_size(host, file);
	if (size < 0) {
		rc = (int)size;
		goto out_file;
	}
	if (check_add_overflow(cmd->start, cmd->length, &end) || end > (uint64_t)size) {
		rc = -EINVAL;
		goto out_file;
	}
	/* On success the pages own the file reference. */
	rc = iopt_map_file_pages(ucmd->ictx, &ioas->iopt, &iova, file, cmd->start,
				 cmd->length, conv_iommu_prot(cmd->flags), flags);
	file = NULL;
	if (rc)
		goto out_put;
out_respond:
	cmd->iova = iova;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	goto out_put;
out_file:
	host->ops->file_put(host, file);
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_map(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova;
	struct iommufd_ioas *ioas;
	unsigned int flags = 0;
	int rc;

	if ((cmd->flags & ~IOAS_MAP_FLAGS) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;
	rc = iopt_map_user_pages(ucmd->ictx, &ioas->iopt, &iova, cmd->user_va, cmd->length,
				 conv_iommu_prot(cmd->flags), flags);
	if (rc)
		goto out_put;

	cmd->iova = iova;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_copy(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	struct iommufd_ioas *src_ioas, *dst_ioas;
	struct iopt_pages_list *list;
	unsigned int flags = 0;
	unsigned long iova;
	size_t nr;
	int rc;

	if (cmd->flags & ~IOAS_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->length >= ULONG_MAX || cmd->src_iova >= ULONG_MAX ||
	    cmd->dst_iova >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;

	src_ioas = iommufd_get_ioas(ucmd->ictx, cmd->src_ioas_id);
	if (IS_ERR(src_ioas))
		return PTR_ERR(src_ioas);
	rc = iopt_get_pages(&src_ioas->iopt, cmd->src_iova, cmd->length, &list, &nr);
	iommufd_put_object(ucmd->ictx, &src_ioas->obj);
	if (rc)
		return rc;

	dst_ioas = iommufd_get_ioas(ucmd->ictx, cmd->dst_ioas_id);
	if (IS_ERR(dst_ioas)) {
		rc = PTR_ERR(dst_ioas);
		goto out_pages;
	}

	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;
	iova = cmd->dst_iova;
	rc = iopt_map_pages(&dst_ioas->iopt, list, nr, cmd->length, &iova,
			    conv_iommu_prot(cmd->flags), flags);
	if (rc)
		goto out_put_dst;

	cmd->dst_iova = iova;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put_dst:
	iommufd_put_object(ucmd->ictx, &dst_ioas->obj);
out_pages:
	iopt_free_pages_list(list, nr);
	return rc;
}

int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	unsigned long unmapped = 0;
	int rc;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (cmd->iova == 0 && cmd->length == UINT64_MAX) {
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
		if (rc)
			goto out_put;
	} else {
		if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX) {
			rc = -EOVERFLOW;
			goto out_put;
		}
		rc = iopt_unmap_iova(&ioas->iopt, cmd->iova, cmd->length, &unmapped);
		if (rc)
			goto out_put;
		if (!unmapped) {
			rc = -ENOENT;
			goto out_put;
		}
	}

	cmd->length = unmapped;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

static int iommufd_ioas_option_huge_pages(struct iommu_option *cmd, struct iommufd_ioas *ioas)
{
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = !ioas->iopt.disable_large_pages;
		return 0;
	}
	if (cmd->op == IOMMU_OPTION_OP_SET) {
		if (cmd->val64 == 0)
			return iopt_disable_large_pages(&ioas->iopt);
		if (cmd->val64 == 1) {
			iopt_enable_large_pages(&ioas->iopt);
			return 0;
		}
		return -EINVAL;
	}
	return -EOPNOTSUPP;
}

int iommufd_ioas_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->object_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	switch (cmd->option_id) {
	case IOMMU_OPTION_HUGE_PAGES:
		rc = iommufd_ioas_option_huge_pages(cmd, ioas);
		break;
	default:
		rc = -EOPNOTSUPP;
	}

	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/*
 * IOAS_CHANGE_PROCESS moves the charge for every pinned page to the calling
 * process; every area must be file backed.  A host serving one process has
 * only that process to move it to, so after the kernel's checks there is
 * nothing to move.
 */
int iommufd_ioas_change_process(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_change_process *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	uint32_t id;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	for (id = 1; id < ictx->nr_slots; id++) {
		struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_IOAS);
		struct iommufd_ioas *ioas;
		size_t i;

		if (IS_ERR(obj))
			continue;
		ioas = container_of(obj, struct iommufd_ioas, obj);
		for (i = 0; i != ioas->iopt.nr_areas; i++) {
			if (!iopt_pages_is_file(ioas->iopt.areas[i]->pages)) {
				iommufd_put_object(ictx, obj);
				return -EINVAL;
			}
		}
		iommufd_put_object(ictx, obj);
	}
	return 0;
}
