#include "tokenizer/nfc.h"

#include <gtest/gtest.h>

#include "tiny_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace radseek::tokenizer {
namespace {

TEST(Nfc, ComposesDecomposesAndReorders) {
  EXPECT_EQ(nfc_normalize("cafe\u0301"), "caf\u00e9");
  EXPECT_EQ(nfc_normalize("\u212B"), "\u00C5");                   // singleton: Angstrom sign -> Å
  EXPECT_EQ(nfc_normalize("\u0958"), "\u0915\u093C");             // composition exclusion stays apart
  EXPECT_EQ(nfc_normalize("a\u0323\u0302"), "\u1EAD");            // ậ from dot below + circumflex
  EXPECT_EQ(nfc_normalize("a\u0302\u0323"), "\u1EAD");            // same after canonical reordering
  EXPECT_EQ(nfc_normalize("\u1100\u1161\u11A8"), "\uAC01");       // Hangul L V T -> 각
  EXPECT_EQ(nfc_normalize("\u0344"), "\u0308\u0301");             // non-starter decomposition
  EXPECT_EQ(nfc_normalize("ascii stays, 3.2 x 1.5 cm"), "ascii stays, 3.2 x 1.5 cm");
  EXPECT_EQ(nfc_normalize("e\u0301\u0301"), "\u00e9\u0301");      // the second acute is blocked
}

TEST(Nfc, TokenizerAppliesItToPlainTextOnly) {
  auto doc = testing::tiny_tokenizer_json({.added_tokens = nlohmann::json::array({testing::added_token(900, "<e\u0301>", true)})});
  doc["normalizer"] = {{"type", "Sequence"}, {"normalizers", nlohmann::json::array({{{"type", "NFC"}}})}};
  auto tok = Tokenizer::from_json(doc.dump(), "", "nfc/tokenizer.json");
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  EXPECT_EQ(*tok->encode("e\u0301"), *tok->encode("\u00e9"));
  // Added tokens are matched on the raw text, before normalization.
  EXPECT_EQ(*tok->encode("<e\u0301>"), (std::vector<int32_t>{900}));
}

}  // namespace
}  // namespace radseek::tokenizer
