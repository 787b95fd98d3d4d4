#include "format/gguf_writer.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/numeric.h"

namespace radseek::format {
namespace {

class Out {
 public:
  template <typename T>
  void put(T v) {
    const size_t at = b_.size();
    b_.resize(at + sizeof(T));
    std::memcpy(b_.data() + at, &v, sizeof(T));
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    b_.insert(b_.end(), s.begin(), s.end());
  }
  void pad_to(uint32_t alignment) { b_.resize((b_.size() + alignment - 1) / alignment * alignment, 0); }
  std::vector<uint8_t>& bytes() { return b_; }

 private:
  std::vector<uint8_t> b_;
};

void put_number(Out& o, GgufType t, int64_t i, double f) {
  switch (t) {
    case GgufType::kU8: case GgufType::kBool: o.put(static_cast<uint8_t>(i)); break;
    case GgufType::kI8: o.put(static_cast<int8_t>(i)); break;
    case GgufType::kU16: o.put(static_cast<uint16_t>(i)); break;
    case GgufType::kI16: o.put(static_cast<int16_t>(i)); break;
    case GgufType::kU32: o.put(static_cast<uint32_t>(i)); break;
    case GgufType::kI32: o.put(static_cast<int32_t>(i)); break;
    case GgufType::kU64: o.put(static_cast<uint64_t>(i)); break;
    case GgufType::kI64: o.put(i); break;
    case GgufType::kF32: o.put(static_cast<float>(f)); break;
    case GgufType::kF64: o.put(f); break;
    default: break;
  }
}

Status put_value(Out& o, const std::string& key, const GgufValue& v) {
  o.put(static_cast<uint32_t>(v.type));
  if (v.type == GgufType::kString) {
    o.str(v.s);
  } else if (v.type == GgufType::kArray) {
    if (v.elem_type == GgufType::kArray)
      return make_error(ErrorCode::kInvalidArgument, "metadata '" + key + "': arrays of arrays are not supported");
    o.put(static_cast<uint32_t>(v.elem_type));
    o.put<uint64_t>(v.array_size());
    if (v.elem_type == GgufType::kString)
      for (const auto& s : v.strings) o.str(s);
    else if (v.elem_type == GgufType::kF32 || v.elem_type == GgufType::kF64)
      for (double f : v.floats) put_number(o, v.elem_type, 0, f);
    else
      for (int64_t i : v.ints) put_number(o, v.elem_type, i, 0.0);
  } else {
    put_number(o, v.type, v.type == GgufType::kU64 ? static_cast<int64_t>(v.u) : v.i, v.f);
  }
  return {};
}

// The byte size of a well-formed spec.
Expected<size_t> check_spec(const GgufTensorSpec& t) {
  const GgmlTypeInfo* info = ggml_type_info(static_cast<uint32_t>(t.type));
  if (!info) return make_error(ErrorCode::kInvalidArgument, "tensor '" + t.name + "': unknown ggml type");
  if (t.shape.empty() || t.shape.size() > 4)
    return make_error(ErrorCode::kInvalidArgument, "tensor '" + t.name + "': GGUF tensors have 1 to 4 dimensions");
  int64_t n = 1;
  for (int64_t d : t.shape) n *= d;
  if (t.shape.back() % info->block_elems != 0)
    return make_error(ErrorCode::kBadShape, "tensor '" + t.name + "': innermost dimension " + std::to_string(t.shape.back()) +
                                                " is not a multiple of " + info->name + "'s block of " +
                                                std::to_string(info->block_elems));
  return ggml_row_bytes(t.type, n);
}

GgufTensorSpec spec_of(const GgufTensorData& t) { return {.name = t.name, .type = t.type, .shape = t.shape}; }

Status check_tensor(const GgufTensorData& t) {
  auto want = check_spec(spec_of(t));
  if (!want) return want.error();
  if (t.bytes.size() != *want)
    return make_error(ErrorCode::kBadShape, "tensor '" + t.name + "': " + std::to_string(t.bytes.size()) + " bytes, expected " +
                                                std::to_string(*want));
  return {};
}

size_t padded(size_t n, uint32_t alignment) { return (n + alignment - 1) / alignment * alignment; }

// Everything before the data section, padded to the alignment; `sizes` gets each tensor's byte size.
Status put_header(Out& o, const GgufStreamArgs& a, std::vector<size_t>& sizes) {
  if (a.alignment == 0 || (a.alignment & (a.alignment - 1)) != 0)
    return make_error(ErrorCode::kInvalidArgument, "GGUF alignment " + std::to_string(a.alignment) + " is not a power of two");
  o.put<uint32_t>(0x46554747u);  // "GGUF"
  o.put(a.version);
  o.put<uint64_t>(a.tensors.size());
  const bool write_alignment = a.alignment != 32;
  o.put<uint64_t>(a.metadata.size() + (write_alignment ? 1 : 0));
  if (write_alignment) {
    o.str("general.alignment");
    RADSEEK_TRY(put_value(o, "general.alignment", GgufValue::of_int(GgufType::kU32, a.alignment)));
  }
  for (const auto& [key, v] : a.metadata) {
    o.str(key);
    RADSEEK_TRY(put_value(o, key, v));
  }
  uint64_t offset = 0;
  for (const auto& t : a.tensors) {
    auto n = check_spec(t);
    if (!n) return n.error();
    sizes.push_back(*n);
    o.str(t.name);
    o.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) o.put<uint64_t>(static_cast<uint64_t>(*it));
    o.put(static_cast<uint32_t>(t.type));
    o.put(offset);
    offset += padded(*n, a.alignment);
  }
  o.pad_to(a.alignment);
  return {};
}

GgufStreamArgs stream_args(const GgufWriteArgs& a) {
  GgufStreamArgs s{.metadata = a.metadata, .tensors = {}, .alignment = a.alignment, .version = a.version};
  for (const auto& t : a.tensors) s.tensors.push_back(spec_of(t));
  return s;
}

}  // namespace

Expected<std::vector<uint8_t>> serialize_gguf(const GgufWriteArgs& a) {
  Out o;
  std::vector<size_t> sizes;
  RADSEEK_TRY(put_header(o, stream_args(a), sizes));
  for (const auto& t : a.tensors) RADSEEK_TRY(check_tensor(t));
  for (const auto& t : a.tensors) {
    o.bytes().insert(o.bytes().end(), t.bytes.begin(), t.bytes.end());
    o.pad_to(a.alignment);
  }
  return std::move(o.bytes());
}

struct GgufStreamWriter::State {
  std::string path, tmp;
  std::ofstream f;
  std::vector<std::string> names;
  std::vector<size_t> sizes;
  size_t cur = 0, done = 0;  // the tensor being written and its bytes so far
  uint32_t alignment = 32;

  // Pads and moves past complete tensors (zero-sized ones included).
  void advance() {
    static constexpr char kZeros[64] = {};
    while (cur < sizes.size() && done == sizes[cur]) {
      for (size_t pad = padded(sizes[cur], alignment) - sizes[cur]; pad > 0;) {
        const size_t n = std::min(pad, sizeof(kZeros));
        f.write(kZeros, static_cast<std::streamsize>(n));
        pad -= n;
      }
      ++cur;
      done = 0;
    }
  }
  Status write_failed() const { return make_error(ErrorCode::kIo, tmp + ": write failed (disk full?)"); }
  Error size_error(size_t got) const {
    return make_error(ErrorCode::kBadShape, path + ": tensor '" + names[cur] + "': " + std::to_string(got) + " bytes, expected " +
                                                std::to_string(sizes[cur]));
  }
};

GgufStreamWriter::GgufStreamWriter(std::unique_ptr<State> s) : s_(std::move(s)) {}
GgufStreamWriter::GgufStreamWriter(GgufStreamWriter&&) noexcept = default;
GgufStreamWriter& GgufStreamWriter::operator=(GgufStreamWriter&&) noexcept = default;

GgufStreamWriter::~GgufStreamWriter() {
  if (!s_) return;
  s_->f.close();
  std::error_code ec;
  std::filesystem::remove(s_->tmp, ec);
}

Expected<GgufStreamWriter> GgufStreamWriter::open(const std::string& path, const GgufStreamArgs& args) {
  Out o;
  auto s = std::make_unique<State>();
  if (Status st = put_header(o, args, s->sizes); !st) return st.error().with_context(path);
  for (const auto& t : args.tensors) s->names.push_back(t.name);
  s->path = path;
  s->tmp = path + ".tmp";  // never a half-written file under the real name
  s->alignment = args.alignment;
  s->f.open(s->tmp, std::ios::binary | std::ios::trunc);
  if (!s->f) return make_error(ErrorCode::kIo, s->tmp + ": cannot create");
  GgufStreamWriter w(std::move(s));
  w.s_->f.write(reinterpret_cast<const char*>(o.bytes().data()), static_cast<std::streamsize>(o.bytes().size()));
  w.s_->advance();
  if (!w.s_->f) return w.s_->write_failed().error();
  return w;
}

Status GgufStreamWriter::append(std::span<const uint8_t> bytes) {
  if (!s_) return make_error(ErrorCode::kInvalidArgument, "GGUF stream: append after finish");
  State& s = *s_;
  if (s.cur == s.sizes.size())
    return make_error(ErrorCode::kInvalidArgument, s.path + ": " + std::to_string(bytes.size()) + " bytes after the last tensor");
  if (bytes.size() > s.sizes[s.cur] - s.done) return s.size_error(s.done + bytes.size());
  s.f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  s.done += bytes.size();
  s.advance();
  if (!s.f) return s.write_failed();
  return {};
}

Status GgufStreamWriter::finish() {
  if (!s_) return make_error(ErrorCode::kInvalidArgument, "GGUF stream: finished twice");
  State& s = *s_;
  if (s.cur != s.sizes.size()) return s.size_error(s.done);
  s.f.close();
  if (!s.f) return s.write_failed();
  std::error_code ec;
  std::filesystem::rename(s.tmp, s.path, ec);
  if (ec) return make_error(ErrorCode::kIo, s.path + ": " + ec.message());
  s_.reset();  // nothing left for the destructor to remove
  return {};
}

Status write_gguf(const std::string& path, const GgufWriteArgs& args) {
  for (const auto& t : args.tensors)
    if (Status st = check_tensor(t); !st) return st.error().with_context(path);
  auto w = GgufStreamWriter::open(path, stream_args(args));
  if (!w) return w.error();
  for (const auto& t : args.tensors) RADSEEK_TRY(w->append(t.bytes));
  return w->finish();
}

std::vector<uint8_t> encode_f32(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::vector<uint8_t> encode_f16(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 2);
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = f32_to_fp16(v[i]);
    std::memcpy(out.data() + 2 * i, &h, 2);
  }
  return out;
}

std::vector<uint8_t> encode_bf16(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 2);
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = f32_to_bf16(v[i]);
    std::memcpy(out.data() + 2 * i, &h, 2);
  }
  return out;
}

}  // namespace radseek::format
