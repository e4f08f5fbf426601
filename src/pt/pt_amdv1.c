// SPDX-License-Identifier: MIT
/* AMD IOMMU v1 page table: the algorithms of iommu_pt.h for fmt/amdv1.h. */
#define PTPFX amdv1
#define PT_SUPPORTED_FEATURES (PT_FEAT_FORCE_COHERENCE | PT_FEAT_DYNAMIC_TOP)
#include "pt/fmt/amdv1.h"
#include "pt/iommu_pt.h"
