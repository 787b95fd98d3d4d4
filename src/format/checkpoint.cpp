#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "format/json_text.h"
#include "format/safetensors.h"

namespace radseek::format {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// weight_map values must name a .safetensors file directly inside the model folder: a '/' or '\\'
// (e.g. "../x" or an absolute path) would let an index make us map files outside it, and a NUL or
// control character would silently shorten the path handed to open().
bool is_plain_shard_name(const std::string& f) {
  const std::string ext = ".safetensors";
  if (f.size() <= ext.size() || f.compare(f.size() - ext.size(), ext.size(), ext) != 0) return false;
  if (f == "." || f == ".." || f[0] == '.') return false;
  for (unsigned char ch : f)
    if (ch == '/' || ch == '\\' || ch < 0x20 || ch == 0x7f) return false;
  return true;
}

// Reads model.safetensors.index.json: tensor name -> shard file name.
Status read_index(const std::string& index_path, std::map<std::string, std::string>& weight_map) {
  auto text = read_text_file(index_path);
  if (!text) return text.error();
  auto j = parse_json_text(text->data(), text->data() + text->size(), index_path, "the index");
  if (!j) return j.error();
  if (!j->is_object()) return make_error(ErrorCode::kParse, index_path + ": expected a JSON object, got " + describe_json(*j));
  auto wm = j->find("weight_map");
  if (wm == j->end() || !wm->is_object())
    return make_error(ErrorCode::kParse, index_path + ": missing object field 'weight_map'");
  if (wm->empty())
    return make_error(ErrorCode::kParse, index_path + ": 'weight_map' is empty (expected tensor name -> shard file)");
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    if (!it.value().is_string())
      return make_error(ErrorCode::kParse, index_path + ": weight_map['" + it.key() + "'] must be a file name, got " +
                                               describe_json(it.value()));
    const std::string& f = it.value().get_ref<const std::string&>();
    if (!is_plain_shard_name(f))
      return make_error(ErrorCode::kParse, index_path + ": weight_map['" + it.key() + "'] = " + describe_json(it.value()) +
                                               " is not a .safetensors file name inside the model folder");
    weight_map[it.key()] = f;
  }
  return {};
}

// Opens one shard named by the index, saying which tensor made us look for it when it is missing.
Expected<SafetensorsFile> open_shard(const std::string& dir, const std::string& index_path, const std::string& shard,
                                     const std::map<std::string, std::string>& weight_map, FileBacking backing) {
  const std::string path = (fs::path(dir) / shard).string();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    std::string example;
    for (const auto& [name, file] : weight_map)
      if (file == shard) {
        example = name;
        break;
      }
    return make_error(ErrorCode::kNotFound, index_path + ": shard '" + shard + "' (listed for tensor '" + example +
                                                "' and others) does not exist at " + path);
  }
  return SafetensorsFile::open(path, backing);
}

// Every tensor of a shard must be assigned to that shard by the index: anything else means the index
// and the files disagree, and guessing which one is right would load the wrong weights.
Status check_against_index(const SafetensorsFile& sf, const std::string& shard, const std::string& index_path,
                           const std::map<std::string, std::string>& weight_map) {
  for (const auto& t : sf.tensors()) {
    auto it = weight_map.find(t.name);
    if (it == weight_map.end())
      return make_error(ErrorCode::kParse, sf.path() + ": tensor '" + t.name + "' is not listed in " + index_path +
                                               " (expected every tensor of a shard in weight_map)");
    if (it->second != shard)
      return make_error(ErrorCode::kParse, sf.path() + ": tensor '" + t.name + "' is assigned to '" + it->second +
                                               "' by " + index_path + ", not to this shard");
  }
  return {};
}

}  // namespace

Expected<Checkpoint> Checkpoint::open(const std::string& dir, FileBacking backing) {
  Checkpoint c;
  c.dir_ = dir;
  const std::string index = (fs::path(dir) / "model.safetensors.index.json").string();
  std::map<std::string, std::string> weight_map;
  std::set<std::string> files;
  std::error_code ec;
  if (fs::exists(index, ec)) {
    RADSEEK_TRY(read_index(index, weight_map));
    for (const auto& [_, f] : weight_map) files.insert(f);
  } else if (fs::exists(fs::path(dir) / "model.safetensors", ec)) {
    files = {"model.safetensors"};
  } else {
    return make_error(ErrorCode::kNotFound,
                      dir + ": no model.safetensors or model.safetensors.index.json in this folder");
  }
  for (const auto& name : files) {
    auto sf = weight_map.empty() ? SafetensorsFile::open((fs::path(dir) / name).string(), backing)
                                 : open_shard(dir, index, name, weight_map, backing);
    if (!sf) return sf.error();
    if (!weight_map.empty()) RADSEEK_TRY(check_against_index(*sf, name, index, weight_map));
    c.files_.push_back(std::make_unique<SafetensorsFile>(std::move(*sf)));
    for (const auto& t : c.files_.back()->tensors()) c.by_name_.emplace(t.name, t);
  }
  for (const auto& [name, file] : weight_map)
    if (!c.by_name_.count(name))
      return make_error(ErrorCode::kNotFound, index + ": tensor '" + name + "' is listed for '" + file +
                                                  "' but that file does not contain it");
  return c;
}

Checkpoint Checkpoint::from_tensors(std::string dir, std::map<std::string, TensorInfo> tensors,
                                   std::shared_ptr<const void> owner) {
  Checkpoint c;
  c.dir_ = std::move(dir);
  c.by_name_ = std::move(tensors);
  c.owner_ = std::move(owner);
  return c;
}

const TensorInfo* Checkpoint::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

size_t Checkpoint::total_bytes() const {
  size_t n = 0;
  for (const auto& [_, t] : by_name_) n += t.nbytes;
  return n;
}

}  // namespace radseek::format
