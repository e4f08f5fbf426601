// SPDX-License-Identifier: MIT
/* VT-d second-stage page table. */
#define PTPFX vtdss
#define PT_SUPPORTED_FEATURES (PT_FEAT_FORCE_COHERENCE)
#include "pt/fmt/vtdss.h"
#include "pt/iommu_pt.h"
