/* SPDX-License-Identifier: MIT */
#ifndef UIOMMUFD_CORE_IOAS_H
#define UIOMMUFD_CORE_IOAS_H

#include "core/io_pagetable.h"

/* An IO address space: the user's map of IOVA to memory. */
struct iommufd_ioas {
	struct iommufd_object obj;
	struct io_pagetable iopt;
	struct iommufd_hwpt_paging *hwpt_list;	/* paging HWPTs on this IOAS */
};

#endif
