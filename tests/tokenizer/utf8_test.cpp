#include "tokenizer/utf8.h"

#include <gtest/gtest.h>

#include "tokenizer/byte_level.h"

namespace radseek::tokenizer {
namespace {

TEST(Utf8, FindsInvalidSequences) {
  EXPECT_FALSE(find_invalid_utf8("plain ascii, café, 中文, 😀").has_value());
  EXPECT_EQ(find_invalid_utf8("ab\xff"), 2u);
  EXPECT_EQ(find_invalid_utf8("a\xc0\xaf"), 1u);          // overlong "/"
  EXPECT_EQ(find_invalid_utf8("\xed\xa0\x80"), 0u);       // UTF-16 surrogate D800
  EXPECT_EQ(find_invalid_utf8("\xf4\x90\x80\x80"), 0u);   // past U+10FFFF
  EXPECT_EQ(find_invalid_utf8("ok\xe4\xb8"), 2u);         // truncated at the end
}

TEST(Utf8, LossyReplacesMaximalSubparts) {
  // WHATWG / Rust from_utf8_lossy: one U+FFFD per maximal invalid subpart.
  EXPECT_EQ(utf8_lossy("a\xe4\xb8z"), "a\xEF\xBF\xBDz");           // truncated 3-byte char: one FFFD
  EXPECT_EQ(utf8_lossy("\xff\xfe"), "\xEF\xBF\xBD\xEF\xBF\xBD");   // two invalid bytes: two
  EXPECT_EQ(utf8_lossy("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate: each byte
  EXPECT_EQ(utf8_lossy("中文"), "中文");
}

TEST(Utf8, CompletePrefixHoldsBackOnlyUnfinishedCharacters) {
  const std::string smile = "😀";  // F0 9F 98 80
  EXPECT_EQ(utf8_complete_prefix("ab"), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab" + smile.substr(0, 1)), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab" + smile.substr(0, 3)), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab" + smile), 6u);
  EXPECT_EQ(utf8_complete_prefix("ab\xff"), 3u);       // invalid, not unfinished: emit (as U+FFFD)
  EXPECT_EQ(utf8_complete_prefix("ab\xe4\x41"), 4u);   // broken sequence: nothing to wait for
  EXPECT_EQ(utf8_complete_prefix("\x80\x80"), 2u);     // stray continuation bytes
}

TEST(ByteLevel, Gpt2Table) {
  const auto& t = byte_to_code_point();
  EXPECT_EQ(t[' '], 0x120u);   // "Ġ"
  EXPECT_EQ(t['\n'], 0x10Au);  // "Ċ"
  EXPECT_EQ(t['a'], static_cast<uint16_t>('a'));
  EXPECT_EQ(t[0xAD], 0x143u);  // the last of the 68 remapped bytes
  EXPECT_EQ(bytes_to_byte_level("a b\n"), "aĠbĊ");
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(byte_level_to_bytes(bytes_to_byte_level(all)), all);
  EXPECT_FALSE(byte_level_to_bytes("<｜User｜>").has_value());
}

}  // namespace
}  // namespace radseek::tokenizer
