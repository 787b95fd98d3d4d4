// Shared by the kernel tests: the ISA levels to test and how a level the CPU lacks is reported.
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "kernels/kernels.h"

namespace radseek::kernels {
// gtest prints parameters through this (found by ADL), so failures name the level.
inline void PrintTo(Isa isa, std::ostream* os) { *os << isa_name(isa); }
}  // namespace radseek::kernels

namespace radseek::kernels::testing {

// Every level with its own entries; kScalar is the oracle itself.
inline const Isa kFastLevels[] = {Isa::kAvx2, Isa::kAvx512, Isa::kAmx};

inline std::string level_name(const ::testing::TestParamInfo<Isa>& info) { return isa_name(info.param); }

// A fixture parameterised by level; SetUp skips, with the reason, when this CPU cannot run it.
class IsaTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    const Isa best = best_supported_isa(detect_cpu_features());
    if (GetParam() > best) {
      GTEST_SKIP() << "CPU lacks " << isa_name(GetParam()) << " (best level here: " << isa_name(best)
                   << "); this level is untested on this machine";
    }
    table_ = make_kernel_table(GetParam());
    ref_ = reference_kernels();
  }
  KernelTable table_;
  KernelTable ref_;
};

}  // namespace radseek::kernels::testing
