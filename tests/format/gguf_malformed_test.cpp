// Malformed GGUF files, built byte by byte: each must be refused with an error naming the file, the
// field or tensor, and what was expected, without reading outside the buffer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "format/gguf.h"
#include "test_util.h"

namespace radseek::format {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::error_of;

// Appends little-endian fields; the helpers mirror the GGUF grammar in format/gguf.h.
class Raw {
 public:
  Raw& u32(uint32_t v) { return put(v); }
  Raw& u64(uint64_t v) { return put(v); }
  Raw& u8(uint8_t v) { return put(v); }
  Raw& str(const std::string& s) {
    u64(s.size());
    b_.insert(b_.end(), s.begin(), s.end());
    return *this;
  }
  Raw& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return u32(0x46554747u).u32(version).u64(n_tensors).u64(n_kv);
  }
  Raw& kv_u32(const std::string& key, uint32_t v) { return str(key).u32(4).u32(v); }
  // name, dims given innermost first (as stored), ggml type, offset
  Raw& tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) u64(d);
    return u32(type).u64(offset);
  }
  Raw& pad(size_t alignment) {
    b_.resize((b_.size() + alignment - 1) / alignment * alignment, 0);
    return *this;
  }
  Raw& zeros(size_t n) {
    b_.resize(b_.size() + n, 0);
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return b_; }

 private:
  template <typename T>
  Raw& put(T v) {
    const size_t at = b_.size();
    b_.resize(at + sizeof(T));
    std::memcpy(b_.data() + at, &v, sizeof(T));
    return *this;
  }
  std::vector<uint8_t> b_;
};

std::string parse_error(const Raw& r) {
  const auto& b = r.bytes();
  std::vector<uint8_t> own(b.begin(), b.end());  // exact-size buffer, so ASan flags any overread
  return error_of(parse_gguf(own.data(), own.size(), "bad.gguf"));
}

constexpr uint32_t kF32 = 0, kQ4_K = 12;

TEST(GgufMalformed, ValidMinimalFileParses) {
  Raw r;
  r.header(1, 1).kv_u32("general.alignment", 32).tensor("w", {4, 2}, kF32, 0).pad(32).zeros(32);
  auto c = parse_gguf(r.bytes().data(), r.bytes().size(), "ok.gguf");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->tensors[0].shape, (std::vector<int64_t>{2, 4}));
}

TEST(GgufMalformed, MagicAndVersion) {
  EXPECT_THAT(parse_error(Raw().u8('G').u8('G')), AllOf(HasSubstr("bad.gguf: magic needs 4 bytes"), HasSubstr("truncated")));
  EXPECT_THAT(parse_error(Raw().u32(0x46554746u).u32(3)), AllOf(HasSubstr("not a GGUF file"), HasSubstr("expected the bytes 'GGUF'")));
  EXPECT_THAT(parse_error(Raw().header(0, 0, 1)), HasSubstr("GGUF version 1 is not supported (expected 2 or 3)"));
  EXPECT_THAT(parse_error(Raw().header(0, 0, 4)), HasSubstr("GGUF version 4 is not supported"));
  EXPECT_THAT(parse_error(Raw().header(0, 0, 0x03000000u)), HasSubstr("big-endian"));
  EXPECT_THAT(parse_error(Raw().u32(0x46554747u).u32(3).u64(0)), HasSubstr("metadata count needs 8 bytes"));
}

TEST(GgufMalformed, CountsThatCannotFit) {
  EXPECT_THAT(parse_error(Raw().header(0, uint64_t{1} << 62)),
              AllOf(HasSubstr("metadata count 4611686018427387904"), HasSubstr("cannot fit")));
  EXPECT_THAT(parse_error(Raw().header(UINT64_MAX, 0)), AllOf(HasSubstr("tensor count 18446744073709551615"), HasSubstr("cannot fit")));
}

TEST(GgufMalformed, MetadataValues) {
  EXPECT_THAT(parse_error(Raw().header(0, 1).u64(1000).zeros(16)),
              AllOf(HasSubstr("metadata key #0"), HasSubstr("1000 bytes"), HasSubstr("truncated")));
  EXPECT_THAT(parse_error(Raw().header(0, 1).str("k").u32(13).zeros(8)),
              AllOf(HasSubstr("metadata 'k' value type is 13"), HasSubstr("expected 0 to 12")));
  EXPECT_THAT(parse_error(Raw().header(0, 1).str("k").u32(7).u8(2)), HasSubstr("metadata 'k' is a bool stored as 2 (expected 0 or 1)"));
  EXPECT_THAT(parse_error(Raw().header(0, 1).str("k").u32(8).u64(UINT64_MAX)), AllOf(HasSubstr("metadata 'k'"), HasSubstr("truncated")));
  EXPECT_THAT(parse_error(Raw().header(0, 1).str("k").u32(6).u8(0)), AllOf(HasSubstr("metadata 'k' needs 4 bytes"), HasSubstr("only 1 remain")));
  EXPECT_THAT(parse_error(Raw().header(0, 2).kv_u32("k", 1).kv_u32("k", 2)), HasSubstr("metadata key 'k' appears twice"));
  EXPECT_THAT(parse_error(Raw().header(0, 1).str(std::string("a\nb", 3)).u32(99)), HasSubstr("metadata 'a\\x0ab'"));
}

TEST(GgufMalformed, Arrays) {
  EXPECT_THAT(parse_error(Raw().header(0, 1).str("arr").u32(9).u32(9).u64(1).zeros(12)),
              AllOf(HasSubstr("metadata 'arr'"), HasSubstr("array of arrays")));
  EXPECT_THAT(parse_error(Raw().header(0, 1).str("arr").u32(9).u32(5).u64(uint64_t{1} << 61).zeros(16)),
              AllOf(HasSubstr("metadata 'arr' claims 2305843009213693952 elements of i32"), HasSubstr("truncated")));
  EXPECT_THAT(parse_error(Raw().header(0, 1).str("arr").u32(9).u32(8).u64(2).str("ok").u64(50)),
              AllOf(HasSubstr("metadata 'arr'[1]"), HasSubstr("50 bytes")));
  EXPECT_THAT(parse_error(Raw().header(0, 1).str("arr").u32(9).u32(77).u64(0)), HasSubstr("element type is 77"));
}

TEST(GgufMalformed, Alignment) {
  EXPECT_THAT(parse_error(Raw().header(0, 1).kv_u32("general.alignment", 48)),
              HasSubstr("'general.alignment' must be a u32 power of two, got u32 48"));
  EXPECT_THAT(parse_error(Raw().header(0, 1).kv_u32("general.alignment", 0)), HasSubstr("power of two"));
  EXPECT_THAT(parse_error(Raw().header(0, 1).str("general.alignment").u32(10).u64(32)), HasSubstr("got u64"));
}

TEST(GgufMalformed, TensorInfos) {
  EXPECT_THAT(parse_error(Raw().header(1, 0).tensor("w", {1, 1, 1, 1, 1}, kF32, 0).zeros(64)),
              HasSubstr("tensor 'w' has n_dims 5 (expected 1 to 4)"));
  EXPECT_THAT(parse_error(Raw().header(1, 0).tensor("w", {}, kF32, 0).zeros(64)), HasSubstr("n_dims 0"));
  EXPECT_THAT(parse_error(Raw().header(1, 0).tensor("w", {4}, 4, 0).zeros(64)), HasSubstr("tensor 'w' has unknown ggml type 4"));
  EXPECT_THAT(parse_error(Raw().header(1, 0).tensor("w", {4}, 1000, 0).zeros(64)), HasSubstr("unknown ggml type 1000"));
  EXPECT_THAT(parse_error(Raw().header(1, 0).tensor("w", {100, 2}, kQ4_K, 0).zeros(512)),
              HasSubstr("tensor 'w' has ne[0] = 100, not a multiple of q4_K's block of 256 elements"));
  EXPECT_THAT(parse_error(Raw().header(1, 0).tensor("w", {1u << 30, 1u << 30}, kF32, 0).zeros(64)),
              AllOf(HasSubstr("tensor 'w'"), HasSubstr("more than 2^48 elements")));
  EXPECT_THAT(parse_error(Raw().header(1, 0).tensor("w", {0, UINT64_MAX}, kF32, 0).zeros(64)), HasSubstr("2^48"));
  EXPECT_THAT(parse_error(Raw().header(2, 0).tensor("w", {4}, kF32, 0).tensor("w", {4}, kF32, 32).zeros(64)),
              HasSubstr("tensor 'w' appears twice"));
  const std::string long_name(20, 'w');  // long enough that the tensor count fits, so ne[1] is what is cut
  EXPECT_THAT(parse_error(Raw().header(1, 0).str(long_name).u32(2).u64(4)),
              AllOf(HasSubstr("tensor '" + long_name + "' ne[1] needs 8 bytes"), HasSubstr("truncated")));
}

TEST(GgufMalformed, TensorDataPlacement) {
  EXPECT_THAT(parse_error(Raw().header(1, 0).tensor("w", {4}, kF32, 8).pad(32).zeros(64)),
              HasSubstr("tensor 'w' offset 8 is not a multiple of the alignment 32"));
  EXPECT_THAT(parse_error(Raw().header(1, 0).tensor("w", {16}, kF32, 0).pad(32).zeros(40)),
              AllOf(HasSubstr("bad.gguf: tensor 'w' (f32 [16], 64 bytes at offset 0) runs past the data section of 40 bytes"),
                    HasSubstr("truncated")));
  EXPECT_THAT(parse_error(Raw().header(1, 0).tensor("w", {8}, kF32, 0xFFFFFFFFFFFFFFE0ull).pad(32).zeros(64)),
              HasSubstr("runs past the data section"));
  EXPECT_THAT(parse_error(Raw().header(2, 0).tensor("a", {16}, kF32, 0).tensor("b", {8}, kF32, 32).pad(32).zeros(96)),
              AllOf(HasSubstr("tensors 'a' and 'b' overlap"), HasSubstr("offsets 0 and 32")));
  // Header ends exactly where padding would start and there is no data: a tensor has nowhere to live.
  EXPECT_THAT(parse_error(Raw().header(1, 0).tensor("w", {1}, kF32, 0)),
              AllOf(HasSubstr("the data section starts at 64 (alignment 32), past the end of the file (57 bytes"),
                    HasSubstr("truncated")));
  EXPECT_THAT(parse_error(Raw().header(1, 0).tensor("w", {1}, kF32, 0).pad(32)), HasSubstr("data section of 0 bytes"));
  // Fuzz finding: a large alignment pushed the data section past the end, and a zero-sized tensor was
  // accepted with a data pointer outside the buffer.
  EXPECT_THAT(parse_error(Raw().header(1, 1).kv_u32("general.alignment", 16384).tensor("w", {4, 0}, kF32, 0).zeros(64)),
              HasSubstr("the data section starts at 16384 (alignment 16384), past the end of the file"));
  // Without tensors the file may end right after the header.
  Raw no_tensors;
  no_tensors.header(0, 1).kv_u32("general.alignment", 16384);
  EXPECT_TRUE(parse_gguf(no_tensors.bytes().data(), no_tensors.bytes().size(), "ok.gguf").ok());
}

}  // namespace
}  // namespace radseek::format
