// SPDX-License-Identifier: MIT
/* x86-64 4/5-level page table (VT-d first stage, AMD v2). */
#define PTPFX x86_64
#define PT_SUPPORTED_FEATURES (PT_FEAT_SIGN_EXTEND)
#include "pt/fmt/x86_64.h"
#include "pt/iommu_pt.h"
