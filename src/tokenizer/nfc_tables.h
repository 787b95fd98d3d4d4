// Unicode canonical data for NFC (generated into nfc_tables.cpp by gen_nfc_tables.py).
#pragma once

#include <cstddef>
#include <cstdint>

namespace radseek::tokenizer::nfc {

struct CccRange {
  uint32_t first;
  uint32_t last;
  uint32_t ccc;  // canonical combining class, non-zero
};

struct Decomposition {
  uint32_t cp;
  uint32_t first;
  uint32_t second;  // 0 for a singleton decomposition
};

struct Composite {
  uint32_t first;
  uint32_t second;
  uint32_t cp;
};

// Each sorted by its first field(s).
extern const CccRange kCombiningClasses[];
extern const size_t kCombiningClassesSize;
extern const Decomposition kDecompositions[];
extern const size_t kDecompositionsSize;
extern const Composite kComposites[];
extern const size_t kCompositesSize;

}  // namespace radseek::tokenizer::nfc
