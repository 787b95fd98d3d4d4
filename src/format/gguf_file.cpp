// GgufValue constructors and the mapped GgufFile with its typed metadata lookups.
#include <limits>

#include "format/gguf.h"

namespace radseek::format {

GgufValue GgufValue::of_int(GgufType t, int64_t v) {
  GgufValue g;
  g.type = t;
  g.i = v;
  g.u = static_cast<uint64_t>(v);
  return g;
}

GgufValue GgufValue::of_u64(uint64_t v) {
  GgufValue g = of_int(GgufType::kU64, static_cast<int64_t>(v));
  g.u = v;
  return g;
}

GgufValue GgufValue::of_float(GgufType t, double v) {
  GgufValue g;
  g.type = t;
  g.f = v;
  return g;
}

GgufValue GgufValue::of_string(std::string v) {
  GgufValue g;
  g.type = GgufType::kString;
  g.s = std::move(v);
  return g;
}

GgufValue GgufValue::of_ints(GgufType elem, std::vector<int64_t> v) {
  GgufValue g;
  g.type = GgufType::kArray;
  g.elem_type = elem;
  g.ints = std::move(v);
  return g;
}

GgufValue GgufValue::of_floats(GgufType elem, std::vector<double> v) {
  GgufValue g;
  g.type = GgufType::kArray;
  g.elem_type = elem;
  g.floats = std::move(v);
  return g;
}

GgufValue GgufValue::of_strings(std::vector<std::string> v) {
  GgufValue g;
  g.type = GgufType::kArray;
  g.elem_type = GgufType::kString;
  g.strings = std::move(v);
  return g;
}

size_t GgufValue::array_size() const {
  if (type != GgufType::kArray) return 0;
  if (elem_type == GgufType::kString) return strings.size();
  if (elem_type == GgufType::kF32 || elem_type == GgufType::kF64) return floats.size();
  return ints.size();
}

namespace {

bool is_int_type(GgufType t) {
  return t == GgufType::kU8 || t == GgufType::kI8 || t == GgufType::kU16 || t == GgufType::kI16 ||
         t == GgufType::kU32 || t == GgufType::kI32 || t == GgufType::kU64 || t == GgufType::kI64;
}
bool is_float_type(GgufType t) { return t == GgufType::kF32 || t == GgufType::kF64; }

std::string describe(const GgufValue& v) {
  if (v.type == GgufType::kArray)
    return std::string("array of ") + std::to_string(v.array_size()) + " " + gguf_type_name(v.elem_type);
  std::string s = gguf_type_name(v.type);
  if (v.type == GgufType::kString) return s + " '" + v.s.substr(0, 40) + (v.s.size() > 40 ? "...'" : "'");
  if (is_float_type(v.type)) return s + " " + std::to_string(v.f);
  if (v.type == GgufType::kU64) return s + " " + std::to_string(v.u);
  return s + " " + std::to_string(v.i);
}

}  // namespace

Expected<GgufFile> GgufFile::open(const std::string& path, FileBacking backing) {
  auto f = MappedFile::open(path, backing);
  if (!f) return f.error();
  GgufFile g;
  g.file_ = std::move(*f);
  auto c = parse_gguf(g.file_.data(), g.file_.size(), path);
  if (!c) return c.error();
  g.c_ = std::move(*c);
  for (size_t i = 0; i < g.c_.metadata.size(); ++i) g.key_index_[g.c_.metadata[i].first] = i;
  for (size_t i = 0; i < g.c_.tensors.size(); ++i) g.tensor_index_[g.c_.tensors[i].name] = i;
  return g;
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &c_.metadata[it->second].second;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &c_.tensors[it->second];
}

Expected<const GgufValue*> GgufFile::typed(const std::string& key, bool (*accept)(const GgufValue&),
                                           const char* expected) const {
  const GgufValue* v = find(key);
  if (!v) return make_error(ErrorCode::kNotFound, path() + ": metadata key '" + key + "' is missing (expected " + expected + ")");
  if (!accept(*v))
    return make_error(ErrorCode::kParse, path() + ": metadata key '" + key + "' is " + describe(*v) + ", expected " + expected);
  return v;
}

Expected<uint64_t> GgufFile::get_uint(const std::string& key) const {
  auto v = typed(key, [](const GgufValue& g) { return is_int_type(g.type) && (g.type == GgufType::kU64 || g.i >= 0); },
                 "a non-negative integer");
  if (!v) return v.error();
  return (*v)->u;
}

Expected<int64_t> GgufFile::get_int(const std::string& key) const {
  auto v = typed(key, [](const GgufValue& g) {
    return is_int_type(g.type) && (g.type != GgufType::kU64 || g.u <= uint64_t(std::numeric_limits<int64_t>::max()));
  }, "an integer");
  if (!v) return v.error();
  return (*v)->i;
}

Expected<double> GgufFile::get_float(const std::string& key) const {
  auto v = typed(key, [](const GgufValue& g) { return is_float_type(g.type) || is_int_type(g.type); }, "a number");
  if (!v) return v.error();
  if (is_float_type((*v)->type)) return (*v)->f;
  return (*v)->type == GgufType::kU64 ? static_cast<double>((*v)->u) : static_cast<double>((*v)->i);
}

Expected<bool> GgufFile::get_bool(const std::string& key) const {
  auto v = typed(key, [](const GgufValue& g) { return g.type == GgufType::kBool; }, "a bool");
  if (!v) return v.error();
  return (*v)->i != 0;
}

Expected<std::string> GgufFile::get_string(const std::string& key) const {
  auto v = typed(key, [](const GgufValue& g) { return g.type == GgufType::kString; }, "a string");
  if (!v) return v.error();
  return (*v)->s;
}

Expected<const std::vector<std::string>*> GgufFile::get_string_array(const std::string& key) const {
  auto v = typed(key, [](const GgufValue& g) { return g.type == GgufType::kArray && g.elem_type == GgufType::kString; },
                 "an array of strings");
  if (!v) return v.error();
  return &(*v)->strings;
}

Expected<const std::vector<int64_t>*> GgufFile::get_int_array(const std::string& key) const {
  auto v = typed(key, [](const GgufValue& g) { return g.type == GgufType::kArray && is_int_type(g.elem_type); },
                 "an array of integers");
  if (!v) return v.error();
  return &(*v)->ints;
}

Expected<const std::vector<double>*> GgufFile::get_float_array(const std::string& key) const {
  auto v = typed(key, [](const GgufValue& g) { return g.type == GgufType::kArray && is_float_type(g.elem_type); },
                 "an array of floats");
  if (!v) return v.error();
  return &(*v)->floats;
}

}  // namespace radseek::format
