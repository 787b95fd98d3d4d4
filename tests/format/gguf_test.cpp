// GGUF: files written by the project's writer read back exactly (metadata of every type, tensors of
// F32/F16/BF16/Q8_0/Q4_0 with reversed dims and aligned offsets); hand-built malformed files each get
// one error naming the file, the field or tensor, and what was expected; no prefix of a valid file
// is accepted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "kernels/ref/ggml_quants.h"
#include "test_util.h"

namespace radseek::format {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::error_of;

std::vector<float> ramp(int n, float scale) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = scale * static_cast<float>(i - n / 2);
  return v;
}

GgufTensorData quantized(const std::string& name, GgmlType type, std::vector<int64_t> shape, const std::vector<float>& x) {
  GgufTensorData t{.name = name, .type = type, .shape = std::move(shape), .bytes = {}};
  t.bytes.resize(ggml_row_bytes(type, static_cast<int64_t>(x.size())));
  if (type == GgmlType::kQ8_0) kernels::ref::quantize_row_q8_0(x.data(), t.bytes.data(), static_cast<int64_t>(x.size()));
  else kernels::ref::quantize_row_q4_0(x.data(), t.bytes.data(), static_cast<int64_t>(x.size()));
  return t;
}

GgufWriteArgs sample_file(uint32_t alignment) {
  GgufWriteArgs a;
  a.alignment = alignment;
  a.metadata = {
      {"general.architecture", GgufValue::of_string("deepseek2")},
      {"u8", GgufValue::of_int(GgufType::kU8, 200)},      {"i8", GgufValue::of_int(GgufType::kI8, -100)},
      {"u16", GgufValue::of_int(GgufType::kU16, 60000)},  {"i16", GgufValue::of_int(GgufType::kI16, -30000)},
      {"u32", GgufValue::of_int(GgufType::kU32, 4000000000)}, {"i32", GgufValue::of_int(GgufType::kI32, -7)},
      {"u64", GgufValue::of_u64(18446744073709551615ull)}, {"i64", GgufValue::of_int(GgufType::kI64, -(int64_t{1} << 40))},
      {"f32", GgufValue::of_float(GgufType::kF32, 0.1)},  {"f64", GgufValue::of_float(GgufType::kF64, 1e-300)},
      {"flag", GgufValue::of_int(GgufType::kBool, 1)},
      {"tokenizer.ggml.tokens", GgufValue::of_strings({"<s>", "hello", "", "\xe4\xbd\xa0"})},
      {"tokenizer.ggml.token_type", GgufValue::of_ints(GgufType::kI32, {3, 1, 1, -1})},
      {"tokenizer.ggml.scores", GgufValue::of_floats(GgufType::kF32, {0.0, -1.5, 2.25})},
  };
  a.tensors = {
      {.name = "a.f32", .type = GgmlType::kF32, .shape = {3, 4}, .bytes = encode_f32(ramp(12, 0.5f))},
      {.name = "b.f16", .type = GgmlType::kF16, .shape = {5}, .bytes = encode_f16(ramp(5, 0.25f))},
      {.name = "c.bf16", .type = GgmlType::kBF16, .shape = {2, 1, 3}, .bytes = encode_bf16(ramp(6, 2.0f))},
      quantized("d.q8_0", GgmlType::kQ8_0, {2, 64}, ramp(128, 0.01f)),
      quantized("e.q4_0", GgmlType::kQ4_0, {1, 32}, ramp(32, 0.125f)),
  };
  return a;
}

class GgufRoundTrip : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufRoundTrip, MetadataAndTensorsReadBack) {
  testing::ScratchDir dir;
  const std::string path = dir.file("m.gguf");
  const GgufWriteArgs args = sample_file(GetParam());
  ASSERT_TRUE(write_gguf(path, args).ok());
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), GetParam());
  EXPECT_EQ(*f->get_string("general.architecture"), "deepseek2");
  EXPECT_EQ(*f->get_uint("u8"), 200u);
  EXPECT_EQ(*f->get_int("i8"), -100);
  EXPECT_EQ(*f->get_uint("u16"), 60000u);
  EXPECT_EQ(*f->get_int("i16"), -30000);
  EXPECT_EQ(*f->get_uint("u32"), 4000000000u);
  EXPECT_EQ(*f->get_int("i32"), -7);
  EXPECT_EQ(*f->get_uint("u64"), 18446744073709551615ull);
  EXPECT_EQ(*f->get_int("i64"), -(int64_t{1} << 40));
  EXPECT_EQ(*f->get_float("f32"), static_cast<double>(0.1f));
  EXPECT_EQ(*f->get_float("f64"), 1e-300);
  EXPECT_TRUE(*f->get_bool("flag"));
  EXPECT_EQ(**f->get_string_array("tokenizer.ggml.tokens"), (std::vector<std::string>{"<s>", "hello", "", "\xe4\xbd\xa0"}));
  EXPECT_EQ(**f->get_int_array("tokenizer.ggml.token_type"), (std::vector<int64_t>{3, 1, 1, -1}));
  EXPECT_EQ(**f->get_float_array("tokenizer.ggml.scores"), (std::vector<double>{0.0, -1.5, 2.25}));
  ASSERT_EQ(f->tensors().size(), args.tensors.size());
  for (const auto& want : args.tensors) {
    const GgufTensorInfo* t = f->find_tensor(want.name);
    ASSERT_NE(t, nullptr) << want.name;
    EXPECT_EQ(t->type, want.type);
    EXPECT_EQ(t->shape, want.shape);
    EXPECT_EQ(t->ne, std::vector<int64_t>(want.shape.rbegin(), want.shape.rend()));
    EXPECT_EQ(t->offset % GetParam(), 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % GetParam(), 0u) << "data section start must be aligned";
    ASSERT_EQ(t->nbytes, want.bytes.size());
    EXPECT_EQ(std::memcmp(t->data, want.bytes.data(), t->nbytes), 0) << want.name;
  }
  // Q8_0 values come back within half a quantisation step.
  const GgufTensorInfo* q = f->find_tensor("d.q8_0");
  std::vector<float> y(128);
  kernels::ref::dequantize_row_q8_0(q->data, y.data(), 128);
  const auto x = ramp(128, 0.01f);
  for (int i = 0; i < 128; ++i) EXPECT_NEAR(y[i], x[i], 0.64f / 127 * 0.51f + 1e-3f) << i;
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufRoundTrip, ::testing::Values(32u, 64u, 4096u));

TEST(Gguf, TypedGettersNameKeyAndType) {
  auto img = serialize_gguf(sample_file(32));
  ASSERT_TRUE(img.ok());
  testing::ScratchDir dir;
  testing::write_bytes(dir.file("m.gguf"), *img);
  auto f = GgufFile::open(dir.file("m.gguf"));
  ASSERT_TRUE(f.ok());
  EXPECT_THAT(error_of(f->get_uint("general.architecture")),
              AllOf(HasSubstr(dir.file("m.gguf")), HasSubstr("'general.architecture' is string 'deepseek2'"),
                    HasSubstr("expected a non-negative integer")));
  EXPECT_THAT(error_of(f->get_uint("i8")), HasSubstr("'i8' is i8 -100, expected a non-negative integer"));
  EXPECT_THAT(error_of(f->get_int("u64")), HasSubstr("expected an integer"));
  EXPECT_THAT(error_of(f->get_string("deepseek2.block_count")),
              AllOf(HasSubstr("'deepseek2.block_count' is missing"), HasSubstr("expected a string")));
  EXPECT_THAT(error_of(f->get_string_array("tokenizer.ggml.scores")), HasSubstr("array of 3 f32, expected an array of strings"));
}

TEST(Gguf, VersionTwoIsAccepted) {
  GgufWriteArgs a = sample_file(32);
  a.version = 2;
  auto img = serialize_gguf(a);
  auto c = parse_gguf(img->data(), img->size(), "v2.gguf");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->version, 2u);
}

TEST(Gguf, WriterRefusesInconsistentTensors) {
  GgufWriteArgs a;
  a.tensors = {{.name = "w", .type = GgmlType::kQ4_0, .shape = {2, 48}, .bytes = std::vector<uint8_t>(54)}};
  EXPECT_THAT(error_of(serialize_gguf(a)), AllOf(HasSubstr("tensor 'w'"), HasSubstr("not a multiple of q4_0's block of 32")));
  a.tensors = {{.name = "w", .type = GgmlType::kF32, .shape = {2, 2}, .bytes = std::vector<uint8_t>(15)}};
  EXPECT_THAT(error_of(serialize_gguf(a)), AllOf(HasSubstr("tensor 'w'"), HasSubstr("15 bytes, expected 16")));
}

TEST(Gguf, NoPrefixOfAValidFileIsAccepted) {
  auto img = serialize_gguf(sample_file(32));
  ASSERT_TRUE(img.ok());
  auto full = parse_gguf(img->data(), img->size(), "m.gguf");
  ASSERT_TRUE(full.ok());
  size_t end = 0;  // the last byte any tensor uses; the padding after it is optional
  for (const auto& t : full->tensors) end = std::max(end, full->data_offset + t.offset + t.nbytes);
  for (size_t n = 0; n < end; ++n) {
    std::vector<uint8_t> prefix(img->begin(), img->begin() + static_cast<std::ptrdiff_t>(n));  // own buffer: ASan sees overreads
    auto r = parse_gguf(prefix.data(), prefix.size(), "m.gguf");
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
    EXPECT_THAT(r.error().message, HasSubstr("m.gguf: "));
  }
}

}  // namespace
}  // namespace radseek::format
