#include "format/safetensors.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "format/json_text.h"

namespace radseek::format {
namespace {

using nlohmann::json;

// Headers above this are not plausible (the real DeepSeek-V3 shards have < 200 KB headers);
// refusing them keeps a corrupt length from making us parse gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
// Far above any real tensor (DeepSeek-V3's largest has 0.9e9 elements), far below overflow: keeps
// numel * dtype_size and every int64 shape product exact.
constexpr uint64_t kMaxElements = 1ull << 48;
constexpr const char* kKnownDTypes = "F32, F16, BF16, F8_E4M3, I8, U8, I16, I32, I64, F64, BOOL";

Error bad(const std::string& label, const std::string& what) {
  return make_error(ErrorCode::kParse, label + ": " + what);
}

// Dimensions outermost first; each must be a non-negative integer and the element count must stay
// below kMaxElements (checked per dimension, so a zero dimension cannot hide a huge one).
Expected<uint64_t> parse_shape(const json& sh, std::vector<int64_t>& dims) {
  uint64_t numel = 1, nonzero = 1;
  for (const auto& d : sh) {
    if (!d.is_number_unsigned())
      return make_error(ErrorCode::kParse, "shape entries must be non-negative integers, got " + describe_json(d));
    const uint64_t v = d.get<uint64_t>();
    if (v > kMaxElements || (v != 0 && nonzero > kMaxElements / v))
      return make_error(ErrorCode::kParse, "shape has more than 2^48 elements (dimension " + std::to_string(v) + ")");
    if (v != 0) nonzero *= v;
    numel *= v;
    dims.push_back(static_cast<int64_t>(v));
  }
  return numel;
}

Expected<TensorInfo> parse_entry(const std::string& name, const json& e, const uint8_t* data,
                                 uint64_t data_size, const std::string& label) {
  const std::string where = "tensor '" + name + "'";
  if (!e.is_object()) return bad(label, where + ": expected an object");
  auto dt = e.find("dtype");
  if (dt == e.end() || !dt->is_string()) return bad(label, where + ": missing string field 'dtype'");
  auto dtype = dtype_from_name(dt->get_ref<const std::string&>());
  if (!dtype)
    return make_error(ErrorCode::kBadDType, label + ": " + where + ": unknown dtype " + describe_json(*dt) +
                                                " (expected one of " + kKnownDTypes + ")");
  auto sh = e.find("shape");
  if (sh == e.end() || !sh->is_array()) return bad(label, where + ": missing array field 'shape'");
  TensorInfo t;
  t.name = name;
  t.dtype = *dtype;
  t.file = label;
  auto numel = parse_shape(*sh, t.shape);
  if (!numel) return bad(label, where + ": " + numel.error().message);
  auto off = e.find("data_offsets");
  if (off == e.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    return bad(label, where + ": 'data_offsets' must be [begin, end]");
  const uint64_t begin = (*off)[0].get<uint64_t>(), end = (*off)[1].get<uint64_t>();
  if (begin > end)
    return bad(label, where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                          "] has begin > end (expected [begin, end] with begin <= end)");
  if (end > data_size)
    return make_error(ErrorCode::kOutOfRange,
                      label + ": " + where + ": data_offsets [" + std::to_string(begin) + ", " +
                          std::to_string(end) + "] outside the data section of " +
                          std::to_string(data_size) + " bytes (truncated file?)");
  const uint64_t expected = *numel * dtype_size(t.dtype);
  if (end - begin != expected)
    return make_error(ErrorCode::kBadShape, label + ": " + where + ": data_offsets span " +
                                                std::to_string(end - begin) + " bytes but shape " + t.shape_str() +
                                                " of " + std::string(dtype_name(t.dtype)) + " needs " +
                                                std::to_string(expected));
  t.data = data + begin;
  t.nbytes = static_cast<size_t>(expected);
  return t;
}

std::string range_str(const TensorInfo& t, const uint8_t* base) {
  const auto b = static_cast<uint64_t>(t.data - base);
  return "[" + std::to_string(b) + ", " + std::to_string(b + t.nbytes) + ")";
}

// Two tensors sharing bytes means a corrupt header (writers never alias); zero-sized tensors own
// no bytes and cannot overlap anything.
Status check_overlaps(const std::vector<TensorInfo>& ts, const uint8_t* base, const std::string& label) {
  std::vector<const TensorInfo*> order;
  for (const auto& t : ts) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->data < b->data; });
  for (size_t i = 1; i < order.size(); ++i) {
    const TensorInfo* p = order[i - 1];
    if (p->nbytes > 0 && order[i]->nbytes > 0 && p->data + p->nbytes > order[i]->data)
      return bad(label, "tensors '" + p->name + "' (bytes " + range_str(*p, base) + ") and '" + order[i]->name +
                            "' (bytes " + range_str(*order[i], base) +
                            ") overlap (expected each tensor to own its data_offsets range)");
  }
  return {};
}

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorInfo::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Expected<std::vector<TensorInfo>> parse_safetensors(const uint8_t* bytes, size_t size,
                                                    const std::string& label) {
  if (size < 8) return bad(label, "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > size - 8)
    return bad(label, "header length " + std::to_string(n) + " runs past the end of the file (" +
                          std::to_string(size) + " bytes; expected at most " + std::to_string(size - 8) +
                          "; truncated file?)");
  if (n > kMaxHeaderBytes)
    return bad(label, "header length " + std::to_string(n) + " exceeds the " +
                          std::to_string(kMaxHeaderBytes >> 20) + " MiB limit (corrupt length field?)");
  const char* h = reinterpret_cast<const char*>(bytes + 8);
  auto parsed = parse_json_text(h, h + n, label, "header");
  if (!parsed) return parsed.error();
  const json& header = *parsed;
  if (!header.is_object()) return bad(label, "header must be a JSON object, got " + describe_json(header));
  const uint8_t* data = bytes + 8 + n;
  const uint64_t data_size = size - 8 - n;
  std::vector<TensorInfo> out;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object())
        return bad(label, "'__metadata__' must be an object, got " + describe_json(it.value()));
      continue;
    }
    auto t = parse_entry(it.key(), it.value(), data, data_size, label);
    if (!t) return t.error();
    out.push_back(std::move(*t));
  }
  RADSEEK_TRY(check_overlaps(out, data, label));
  return out;
}

Expected<SafetensorsFile> SafetensorsFile::open(const std::string& path, FileBacking backing) {
  auto f = MappedFile::open(path, backing);
  if (!f) return f.error();
  SafetensorsFile s;
  s.file_ = std::move(*f);
  auto ts = parse_safetensors(s.file_.data(), s.file_.size(), path);
  if (!ts) return ts.error();
  s.tensors_ = std::move(*ts);
  return s;
}

}  // namespace radseek::format
