#include "format/gguf.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <set>

namespace radseek::format {
namespace {

constexpr std::array<GgmlTypeInfo, 32> kGgmlTypes{{
    {GgmlType::kF32, "f32", 1, 4},         {GgmlType::kF16, "f16", 1, 2},
    {GgmlType::kQ4_0, "q4_0", 32, 18},     {GgmlType::kQ4_1, "q4_1", 32, 20},
    {GgmlType::kQ5_0, "q5_0", 32, 22},     {GgmlType::kQ5_1, "q5_1", 32, 24},
    {GgmlType::kQ8_0, "q8_0", 32, 34},     {GgmlType::kQ8_1, "q8_1", 32, 36},
    {GgmlType::kQ2_K, "q2_K", 256, 84},    {GgmlType::kQ3_K, "q3_K", 256, 110},
    {GgmlType::kQ4_K, "q4_K", 256, 144},   {GgmlType::kQ5_K, "q5_K", 256, 176},
    {GgmlType::kQ6_K, "q6_K", 256, 210},   {GgmlType::kQ8_K, "q8_K", 256, 292},
    {GgmlType::kIQ2_XXS, "iq2_xxs", 256, 66}, {GgmlType::kIQ2_XS, "iq2_xs", 256, 74},
    {GgmlType::kIQ3_XXS, "iq3_xxs", 256, 98}, {GgmlType::kIQ1_S, "iq1_s", 256, 50},
    {GgmlType::kIQ4_NL, "iq4_nl", 32, 18}, {GgmlType::kIQ3_S, "iq3_s", 256, 110},
    {GgmlType::kIQ2_S, "iq2_s", 256, 82},  {GgmlType::kIQ4_XS, "iq4_xs", 256, 136},
    {GgmlType::kI8, "i8", 1, 1},           {GgmlType::kI16, "i16", 1, 2},
    {GgmlType::kI32, "i32", 1, 4},         {GgmlType::kI64, "i64", 1, 8},
    {GgmlType::kF64, "f64", 1, 8},         {GgmlType::kIQ1_M, "iq1_m", 256, 56},
    {GgmlType::kBF16, "bf16", 1, 2},       {GgmlType::kTQ1_0, "tq1_0", 256, 54},
    {GgmlType::kTQ2_0, "tq2_0", 256, 66},  {GgmlType::kMXFP4, "mxfp4", 32, 17},
}};

constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS
// Far above any real tensor, far below overflow of element counts and byte sizes.
constexpr uint64_t kMaxElements = uint64_t{1} << 48;
// Smallest encodings, used to refuse counts that cannot fit in the bytes left before allocating:
// a KV is key length (8) + type (4) + a 1-byte value; a tensor info is name length (8) + n_dims (4)
// + one dim (8) + type (4) + offset (8).
constexpr uint64_t kMinKvBytes = 13;
constexpr uint64_t kMinTensorInfoBytes = 32;

// Keys and names come from the file: quote them with control bytes escaped and a length cap.
std::string quoted(const std::string& s) {
  constexpr size_t kMax = 80;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + (s.size() > kMax ? "...'" : "'");
}

// Bounds-checked little-endian reads; every error names the file, the byte offset and the field.
class Cursor {
 public:
  Cursor(const uint8_t* p, size_t n, const std::string& label) : p_(p), n_(n), label_(label) {}

  size_t pos() const { return pos_; }
  size_t left() const { return n_ - pos_; }
  Error error(const std::string& what, ErrorCode code = ErrorCode::kParse) const {
    return make_error(code, label_ + ": " + what);
  }
  Error truncated(const std::string& field, uint64_t need) const {
    return make_error(ErrorCode::kOutOfRange, label_ + ": " + field + " needs " + std::to_string(need) +
                                                  " bytes at offset " + std::to_string(pos_) + " but only " +
                                                  std::to_string(left()) + " remain (truncated file?)");
  }
  template <typename T>
  Expected<T> read(const std::string& field) {
    if (left() < sizeof(T)) return truncated(field, sizeof(T));
    T v{};
    std::memcpy(&v, p_ + pos_, sizeof(T));  // GGUF is little-endian, as is every CPU radseek runs on
    pos_ += sizeof(T);
    return v;
  }
  Expected<std::string> string(const std::string& field) {
    auto len = read<uint64_t>(field + " length");
    if (!len) return len.error();
    if (*len > left()) return truncated(field + " (string of " + std::to_string(*len) + " bytes)", *len);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(*len));
    pos_ += static_cast<size_t>(*len);
    return s;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  const std::string& label_;
};

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: return 1;
    case GgufType::kU16: case GgufType::kI16: return 2;
    case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
    case GgufType::kU64: case GgufType::kI64: case GgufType::kF64: return 8;
    case GgufType::kString: return 8;  // at least the length field
    case GgufType::kArray: return 12;  // at least element type + count
  }
  return 0;
}

Expected<GgufType> read_type(Cursor& c, const std::string& field) {
  auto t = c.read<uint32_t>(field);
  if (!t) return t.error();
  if (*t > static_cast<uint32_t>(GgufType::kF64))
    return c.error(field + " is " + std::to_string(*t) + ", not a GGUF value type (expected 0 to 12)");
  return static_cast<GgufType>(*t);
}

// One integer, bool or float of type t into v (i/u or f).
Status read_number(Cursor& c, GgufType t, const std::string& field, GgufValue& v) {
  auto rd = [&](auto tag) -> Expected<decltype(tag)> { return c.read<decltype(tag)>(field); };
  auto set_int = [&](auto r) -> Status {
    if (!r) return r.error();
    v.i = static_cast<int64_t>(*r);
    v.u = static_cast<uint64_t>(*r);
    return {};
  };
  switch (t) {
    case GgufType::kU8: return set_int(rd(uint8_t{}));
    case GgufType::kI8: return set_int(rd(int8_t{}));
    case GgufType::kU16: return set_int(rd(uint16_t{}));
    case GgufType::kI16: return set_int(rd(int16_t{}));
    case GgufType::kU32: return set_int(rd(uint32_t{}));
    case GgufType::kI32: return set_int(rd(int32_t{}));
    case GgufType::kU64: return set_int(rd(uint64_t{}));
    case GgufType::kI64: return set_int(rd(int64_t{}));
    case GgufType::kBool: {
      auto b = rd(uint8_t{});
      if (!b) return b.error();
      if (*b > 1) return c.error(field + " is a bool stored as " + std::to_string(*b) + " (expected 0 or 1)");
      v.i = v.u = *b;
      return {};
    }
    case GgufType::kF32: {
      auto f = rd(float{});
      if (!f) return f.error();
      v.f = *f;
      return {};
    }
    case GgufType::kF64: {
      auto f = rd(double{});
      if (!f) return f.error();
      v.f = *f;
      return {};
    }
    default: return c.error(field + ": internal: not a number type");
  }
}

Status read_array(Cursor& c, const std::string& field, GgufValue& v) {
  auto et = read_type(c, field + " element type");
  if (!et) return et.error();
  if (*et == GgufType::kArray) return c.error(field + " is an array of arrays (not supported; expected scalars or strings)");
  auto n = c.read<uint64_t>(field + " element count");
  if (!n) return n.error();
  // Refuse counts that cannot fit before reserving memory for them.
  if (*n > c.left() / scalar_size(*et))
    return c.error(field + " claims " + std::to_string(*n) + " elements of " + gguf_type_name(*et) +
                       ", more than the " + std::to_string(c.left()) + " bytes left can hold (truncated file?)",
                   ErrorCode::kOutOfRange);
  v.elem_type = *et;
  const size_t count = static_cast<size_t>(*n);
  for (size_t k = 0; k < count; ++k) {
    if (*et == GgufType::kString) {
      auto s = c.string(field + "[" + std::to_string(k) + "]");
      if (!s) return s.error();
      v.strings.push_back(std::move(*s));
      continue;
    }
    GgufValue e;
    RADSEEK_TRY(read_number(c, *et, field + "[" + std::to_string(k) + "]", e));
    if (*et == GgufType::kF32 || *et == GgufType::kF64) v.floats.push_back(e.f);
    else v.ints.push_back(e.i);
  }
  return {};
}

Expected<GgufValue> read_value(Cursor& c, const std::string& key) {
  const std::string field = "metadata " + quoted(key);
  auto t = read_type(c, field + " value type");
  if (!t) return t.error();
  GgufValue v;
  v.type = *t;
  if (*t == GgufType::kString) {
    auto s = c.string(field);
    if (!s) return s.error();
    v.s = std::move(*s);
  } else if (*t == GgufType::kArray) {
    RADSEEK_TRY(read_array(c, field, v));
  } else {
    RADSEEK_TRY(read_number(c, *t, field, v));
  }
  return v;
}

Status read_header(Cursor& c, GgufContents& out, uint64_t& n_tensors, uint64_t& n_kv) {
  auto magic = c.read<uint32_t>("magic");
  if (!magic) return magic.error();
  if (*magic != 0x46554747u) {  // "GGUF" read as a little-endian u32
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", *magic);
    return c.error(std::string("not a GGUF file (magic ") + hex + ", expected the bytes 'GGUF')");
  }
  auto version = c.read<uint32_t>("version");
  if (!version) return version.error();
  if (*version != 2 && *version != 3) {
    if ((*version & 0xFFFFu) == 0 && *version != 0)
      return c.error("version field " + std::to_string(*version) + " looks byte-swapped: big-endian GGUF files are not supported");
    return c.error("GGUF version " + std::to_string(*version) + " is not supported (expected 2 or 3)");
  }
  out.version = *version;
  auto nt = c.read<uint64_t>("tensor count");
  if (!nt) return nt.error();
  auto nk = c.read<uint64_t>("metadata count");
  if (!nk) return nk.error();
  if (*nk > c.left() / kMinKvBytes)
    return c.error("metadata count " + std::to_string(*nk) + " cannot fit in the " + std::to_string(c.left()) + " bytes left");
  n_tensors = *nt;
  n_kv = *nk;
  return {};
}

Status read_metadata(Cursor& c, uint64_t n_kv, GgufContents& out) {
  std::set<std::string> seen;
  for (uint64_t k = 0; k < n_kv; ++k) {
    auto key = c.string("metadata key #" + std::to_string(k));
    if (!key) return key.error();
    if (!seen.insert(*key).second) return c.error("metadata key " + quoted(*key) + " appears twice");
    auto v = read_value(c, *key);
    if (!v) return v.error();
    out.metadata.emplace_back(std::move(*key), std::move(*v));
  }
  for (const auto& [key, v] : out.metadata) {
    if (key != "general.alignment") continue;
    // llama.cpp writes and requires a u32 power of two here.
    if (v.type != GgufType::kU32 || v.u == 0 || (v.u & (v.u - 1)) != 0)
      return c.error("metadata 'general.alignment' must be a u32 power of two, got " +
                     std::string(gguf_type_name(v.type)) + " " + std::to_string(v.i));
    out.alignment = static_cast<uint32_t>(v.u);
  }
  return {};
}

// n_dims, ne (checked for size overflow and whole blocks), type; the data range is checked later.
Status read_tensor_shape(Cursor& c, const std::string& where, GgufTensorInfo& t) {
  auto nd = c.read<uint32_t>(where + " n_dims");
  if (!nd) return nd.error();
  if (*nd < 1 || *nd > kMaxDims)
    return c.error(where + " has n_dims " + std::to_string(*nd) + " (expected 1 to " + std::to_string(kMaxDims) + ")");
  uint64_t nonzero = 1;
  for (uint32_t d = 0; d < *nd; ++d) {
    auto v = c.read<uint64_t>(where + " ne[" + std::to_string(d) + "]");
    if (!v) return v.error();
    if (*v > kMaxElements || (*v != 0 && nonzero > kMaxElements / *v))
      return c.error(where + " has more than 2^48 elements (ne[" + std::to_string(d) + "] = " + std::to_string(*v) + ")");
    if (*v != 0) nonzero *= *v;
    t.ne.push_back(static_cast<int64_t>(*v));
  }
  t.shape.assign(t.ne.rbegin(), t.ne.rend());
  auto ty = c.read<uint32_t>(where + " type");
  if (!ty) return ty.error();
  const GgmlTypeInfo* info = ggml_type_info(*ty);
  if (!info) return c.error(where + " has unknown ggml type " + std::to_string(*ty), ErrorCode::kBadDType);
  t.type = info->type;
  if (t.ne[0] % info->block_elems != 0)
    return c.error(where + " has ne[0] = " + std::to_string(t.ne[0]) + ", not a multiple of " + info->name +
                       "'s block of " + std::to_string(info->block_elems) + " elements",
                   ErrorCode::kBadShape);
  return {};
}

Status read_tensor_infos(Cursor& c, uint64_t n_tensors, GgufContents& out) {
  if (n_tensors > c.left() / kMinTensorInfoBytes)
    return c.error("tensor count " + std::to_string(n_tensors) + " cannot fit in the " + std::to_string(c.left()) + " bytes left");
  std::set<std::string> seen;
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo t;
    auto name = c.string("tensor #" + std::to_string(k) + " name");
    if (!name) return name.error();
    t.name = std::move(*name);
    const std::string where = "tensor " + quoted(t.name);
    if (!seen.insert(t.name).second) return c.error(where + " appears twice");
    RADSEEK_TRY(read_tensor_shape(c, where, t));
    auto off = c.read<uint64_t>(where + " offset");
    if (!off) return off.error();
    t.offset = *off;
    out.tensors.push_back(std::move(t));
  }
  return {};
}

// Places every tensor inside the data section: aligned, in bounds, no two sharing bytes.
Status place_tensors(const uint8_t* bytes, size_t size, const std::string& label, GgufContents& out) {
  // Files without tensors may end right after the header; with tensors, even zero-sized ones would
  // otherwise point past the end of the buffer (a fuzz finding).
  if (out.data_offset > size) {
    if (out.tensors.empty()) return {};
    return make_error(ErrorCode::kOutOfRange, label + ": the data section starts at " + std::to_string(out.data_offset) +
                                                  " (alignment " + std::to_string(out.alignment) +
                                                  "), past the end of the file (" + std::to_string(size) +
                                                  " bytes; truncated file?)");
  }
  const uint64_t data_size = size - out.data_offset;
  for (auto& t : out.tensors) {
    const std::string where = label + ": tensor " + quoted(t.name);
    t.nbytes = ggml_row_bytes(t.type, t.numel());
    if (t.offset % out.alignment != 0)
      return make_error(ErrorCode::kParse, where + " offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                                               std::to_string(out.alignment));
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      return make_error(ErrorCode::kOutOfRange, where + " (" + ggml_type_name(t.type) + " " + t.shape_str() + ", " +
                                                    std::to_string(t.nbytes) + " bytes at offset " + std::to_string(t.offset) +
                                                    ") runs past the data section of " + std::to_string(data_size) +
                                                    " bytes (truncated file?)");
    t.data = bytes + out.data_offset + t.offset;
  }
  std::vector<const GgufTensorInfo*> order;
  for (const auto& t : out.tensors)
    if (t.nbytes > 0) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < order.size(); ++i)
    if (order[i - 1]->offset + order[i - 1]->nbytes > order[i]->offset)
      return make_error(ErrorCode::kParse, label + ": tensors " + quoted(order[i - 1]->name) + " and " + quoted(order[i]->name) +
                                               " overlap in the data section (offsets " + std::to_string(order[i - 1]->offset) +
                                               " and " + std::to_string(order[i]->offset) + ")");
  return {};
}

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t id) {
  for (const auto& t : kGgmlTypes)
    if (static_cast<uint32_t>(t.type) == id) return &t;
  return nullptr;
}

const char* ggml_type_name(GgmlType t) {
  const GgmlTypeInfo* i = ggml_type_info(static_cast<uint32_t>(t));
  return i ? i->name : "?";
}

size_t ggml_row_bytes(GgmlType t, int64_t n) {
  const GgmlTypeInfo* i = ggml_type_info(static_cast<uint32_t>(t));
  return i ? static_cast<size_t>(n / i->block_elems) * i->block_bytes : 0;
}

const char* gguf_type_name(GgufType t) {
  static constexpr std::array<const char*, 13> kNames = {"u8",  "i8",     "u16",   "i16", "u32", "i32", "f32",
                                                         "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i < kNames.size() ? kNames[i] : "?";
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

std::string GgufTensorInfo::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Expected<GgufContents> parse_gguf(const uint8_t* bytes, size_t size, const std::string& label) {
  Cursor c(bytes, size, label);
  GgufContents out;
  uint64_t n_tensors = 0, n_kv = 0;
  RADSEEK_TRY(read_header(c, out, n_tensors, n_kv));
  RADSEEK_TRY(read_metadata(c, n_kv, out));
  RADSEEK_TRY(read_tensor_infos(c, n_tensors, out));
  out.data_offset = (c.pos() + out.alignment - 1) / out.alignment * out.alignment;
  RADSEEK_TRY(place_tensors(bytes, size, label, out));
  return out;
}

}  // namespace radseek::format
