// safetensors parsing: valid files round-trip through the writer; every malformed header gets one
// error that names the file, the tensor and what was expected.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "format/safetensors.h"
#include "format/safetensors_writer.h"
#include "test_util.h"

namespace radseek::format {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::error_of;
using testing::image;
using testing::ScratchDir;

Expected<std::vector<TensorInfo>> parse(const std::vector<uint8_t>& img) {
  return parse_safetensors(img.data(), img.size(), "t.safetensors");
}

Expected<std::vector<TensorInfo>> parse_header(const std::string& header, size_t data_bytes) {
  return parse(image(header, data_bytes));
}

TensorData f32_tensor(const std::string& name, std::vector<int64_t> shape, float first) {
  TensorData t{.spec = {.name = name, .dtype = DType::kF32, .shape = std::move(shape)}, .bytes = {}};
  t.bytes.resize(t.spec.nbytes());
  for (size_t i = 0; i < t.bytes.size() / 4; ++i) {
    const float v = first + static_cast<float>(i);
    std::memcpy(t.bytes.data() + 4 * i, &v, 4);
  }
  return t;
}

TEST(Safetensors, WriterOutputParsesBack) {
  const auto img = serialize_safetensors({f32_tensor("a", {2, 3}, 1.0f), f32_tensor("b", {4}, 10.0f)});
  auto ts = parse(img);
  ASSERT_TRUE(ts.ok()) << ts.error().message;
  ASSERT_EQ(ts->size(), 2u);
  const TensorInfo& b = (*ts)[0].name == "b" ? (*ts)[0] : (*ts)[1];
  EXPECT_EQ(b.shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(b.dtype, DType::kF32);
  EXPECT_EQ(b.nbytes, 16u);
  float v = 0;
  std::memcpy(&v, b.data + 4, 4);
  EXPECT_EQ(v, 11.0f);
  EXPECT_EQ(b.file, "t.safetensors");
}

TEST(Safetensors, EmptyAndZeroSizedTensorsAreValid) {
  EXPECT_TRUE(parse_header(R"({"__metadata__":{"format":"pt"}})", 0).ok());
  auto ts = parse_header(R"({"z":{"dtype":"F32","shape":[0,5],"data_offsets":[0,0]},)"
                         R"("s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})",
                         4);
  ASSERT_TRUE(ts.ok()) << ts.error().message;
  EXPECT_EQ(ts->size(), 2u);
}

TEST(Safetensors, FileShorterThanLengthField) {
  const std::vector<uint8_t> img = {1, 2, 3};
  EXPECT_THAT(error_of(parse(img)), AllOf(HasSubstr("t.safetensors"), HasSubstr("3 bytes"), HasSubstr("8-byte")));
}

TEST(Safetensors, HeaderLengthPastEndOfFile) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  const auto msg = error_of(parse(image(h, 4, 5000)));
  EXPECT_THAT(msg, AllOf(HasSubstr("t.safetensors"), HasSubstr("header length 5000"), HasSubstr("past the end")));
  // A length with the top bit set must not wrap around in the bounds check.
  EXPECT_THAT(error_of(parse(image(h, 4, INT64_MAX))), HasSubstr("past the end"));
}

TEST(Safetensors, InvalidJsonHeaderSaysWhere) {
  const auto msg = error_of(parse_header(R"({"a": {"dtype": "F32",, }})", 0));
  EXPECT_THAT(msg, AllOf(HasSubstr("t.safetensors"), HasSubstr("header is not valid JSON"), HasSubstr("column")));
  EXPECT_THAT(error_of(parse_header("", 0)), HasSubstr("header is not valid JSON"));
  EXPECT_THAT(error_of(parse_header("[1,2]", 0)), HasSubstr("header must be a JSON object, got array"));
  EXPECT_THAT(error_of(parse_header(R"({"__metadata__":[1]})", 0)), HasSubstr("'__metadata__' must be an object"));
}

TEST(Safetensors, DuplicateTensorNameRejected) {
  const auto msg = error_of(parse_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                         R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                         8));
  EXPECT_THAT(msg, AllOf(HasSubstr("t.safetensors"), HasSubstr("'w' twice")));
}

TEST(Safetensors, UnknownDtypeNamesTensorAndKnownTypes) {
  auto r = parse_header(R"({"w":{"dtype":"F8_E5M3","shape":[2],"data_offsets":[0,2]}})", 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kBadDType);
  EXPECT_THAT(r.error().message, AllOf(HasSubstr("t.safetensors"), HasSubstr("tensor 'w'"), HasSubstr("F8_E5M3"),
                                       HasSubstr("expected one of"), HasSubstr("F8_E4M3")));
  EXPECT_THAT(error_of(parse_header(R"({"w":{"shape":[2],"data_offsets":[0,2]}})", 2)),
              AllOf(HasSubstr("tensor 'w'"), HasSubstr("'dtype'")));
}

TEST(Safetensors, ShapeDisagreeingWithByteCount) {
  auto r = parse_header(R"({"w":{"dtype":"BF16","shape":[3,4],"data_offsets":[0,20]}})", 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kBadShape);
  EXPECT_THAT(r.error().message, AllOf(HasSubstr("tensor 'w'"), HasSubstr("span 20 bytes"), HasSubstr("[3, 4]"),
                                       HasSubstr("BF16 needs 24")));
}

TEST(Safetensors, MalformedShapes) {
  EXPECT_THAT(error_of(parse_header(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0)),
              AllOf(HasSubstr("tensor 'w'"), HasSubstr("non-negative integers, got number -1")));
  EXPECT_THAT(error_of(parse_header(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4)),
              HasSubstr("non-negative integers"));
  EXPECT_THAT(error_of(parse_header(R"({"w":{"dtype":"F32","shape":"[1]","data_offsets":[0,4]}})", 4)),
              HasSubstr("'shape'"));
  // Products that would overflow 64 bits, also when a zero dimension comes first.
  EXPECT_THAT(error_of(parse_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0)),
              AllOf(HasSubstr("tensor 'w'"), HasSubstr("2^48")));
  EXPECT_THAT(error_of(parse_header(R"({"w":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}})", 0)),
              HasSubstr("2^48"));
}

TEST(Safetensors, OffsetsOutOfRange) {
  auto r = parse_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 12);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kOutOfRange);
  EXPECT_THAT(r.error().message, AllOf(HasSubstr("t.safetensors"), HasSubstr("tensor 'w'"), HasSubstr("[0, 16]"),
                                       HasSubstr("12 bytes")));
  EXPECT_THAT(error_of(parse_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8)),
              AllOf(HasSubstr("tensor 'w'"), HasSubstr("begin > end")));
  EXPECT_THAT(error_of(parse_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 8)),
              AllOf(HasSubstr("tensor 'w'"), HasSubstr("[begin, end]")));
  EXPECT_THAT(error_of(parse_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 8)),
              HasSubstr("[begin, end]"));
  EXPECT_THAT(error_of(parse_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]}})", 8)),
              HasSubstr("outside the data section"));
}

TEST(Safetensors, OverlappingOffsetsNameBothTensors) {
  const auto msg = error_of(parse_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
                                         20));
  EXPECT_THAT(msg, AllOf(HasSubstr("t.safetensors"), HasSubstr("'a' (bytes [0, 16))"), HasSubstr("'b' (bytes [12, 20))"),
                         HasSubstr("overlap")));
  // Adjacent ranges and zero-sized tensors at the same offset are fine.
  EXPECT_TRUE(parse_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                           R"("b":{"dtype":"F32","shape":[0],"data_offsets":[16,16]},)"
                           R"("c":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}})",
                           20)
                  .ok());
}

TEST(Safetensors, TruncatedFileOnDiskNamesPathAndTensor) {
  ScratchDir dir;
  const std::string path = dir.file("model.safetensors");
  ASSERT_TRUE(write_safetensors(path, {f32_tensor("a", {8}, 0.0f), f32_tensor("last", {8}, 0.0f)}).ok());
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);
  auto f = SafetensorsFile::open(path);
  const auto msg = error_of(f);
  EXPECT_THAT(msg, AllOf(HasSubstr(path), HasSubstr("tensor 'last'"), HasSubstr("truncated")));
  // Truncated inside the header: the length field now points past the end.
  std::filesystem::resize_file(path, 20);
  EXPECT_THAT(error_of(SafetensorsFile::open(path)), AllOf(HasSubstr(path), HasSubstr("past the end")));
  EXPECT_THAT(error_of(SafetensorsFile::open(dir.file("absent.safetensors"))), HasSubstr("absent.safetensors"));
}

}  // namespace
}  // namespace radseek::format
