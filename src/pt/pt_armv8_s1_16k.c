// SPDX-License-Identifier: MIT
/* Arm VMSAv8-64 stage 1, 16 KiB granule. */
#define ARMV8_STAGE 1
#define ARMV8_GRANULE_LG2 14
#define PTPFX armv8_s1_16k
#define PT_SUPPORTED_FEATURES (PT_FEAT_ARM_DBM)
#include "pt/fmt/armv8.h"
#include "pt/iommu_pt.h"
