// SPDX-License-Identifier: MIT
/* The iommufd selftest's mock page table: AMDv1 with a 2 KiB granule. */
#define AMDV1_MOCK 1
#define PTPFX amdv1_mock
#define PT_SUPPORTED_FEATURES (0)
#include "pt/fmt/amdv1.h"
#include "pt/iommu_pt.h"
