#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "format/safetensors.h"

namespace radseek::format {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Shard file names from model.safetensors.index.json's weight_map, checked to stay inside dir.
Expected<std::vector<std::string>> shards_from_index(const std::string& dir, const std::string& index_path,
                                                     std::map<std::string, std::string>& weight_map) {
  auto text = read_text_file(index_path);
  if (!text) return text.error();
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(ErrorCode::kParse, index_path + ": not valid JSON");
  auto wm = j.find("weight_map");
  if (wm == j.end() || !wm->is_object())
    return make_error(ErrorCode::kParse, index_path + ": missing object field 'weight_map'");
  std::set<std::string> files;
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    if (!it.value().is_string())
      return make_error(ErrorCode::kParse, index_path + ": weight_map['" + it.key() + "'] must be a file name");
    const std::string f = it.value().get<std::string>();
    if (f.empty() || f.find('/') != std::string::npos || f == "." || f == "..")
      return make_error(ErrorCode::kParse, index_path + ": weight_map['" + it.key() + "'] = '" + f +
                                               "' is not a file name in the model folder");
    weight_map[it.key()] = f;
    files.insert(f);
  }
  (void)dir;
  return std::vector<std::string>(files.begin(), files.end());
}

}  // namespace

Expected<Checkpoint> Checkpoint::open(const std::string& dir) {
  Checkpoint c;
  c.dir_ = dir;
  const std::string index = (fs::path(dir) / "model.safetensors.index.json").string();
  std::map<std::string, std::string> weight_map;
  std::vector<std::string> files;
  if (fs::exists(index)) {
    auto f = shards_from_index(dir, index, weight_map);
    if (!f) return f.error();
    files = std::move(*f);
  } else if (fs::exists(fs::path(dir) / "model.safetensors")) {
    files = {"model.safetensors"};
  } else {
    return make_error(ErrorCode::kNotFound,
                      dir + ": no model.safetensors or model.safetensors.index.json in this folder");
  }
  for (const auto& name : files) {
    auto sf = SafetensorsFile::open((fs::path(dir) / name).string());
    if (!sf) return sf.error();
    c.files_.push_back(std::make_unique<SafetensorsFile>(std::move(*sf)));
    for (const auto& t : c.files_.back()->tensors()) {
      if (!weight_map.empty()) {
        auto it = weight_map.find(t.name);
        if (it == weight_map.end() || it->second != name) continue;  // index says it lives elsewhere
      }
      if (!c.by_name_.emplace(t.name, t).second)
        return make_error(ErrorCode::kParse, c.files_.back()->path() + ": tensor '" + t.name +
                                                 "' appears in more than one file");
    }
  }
  for (const auto& [name, file] : weight_map)
    if (!c.by_name_.count(name))
      return make_error(ErrorCode::kNotFound, index + ": tensor '" + name + "' is listed for '" + file +
                                                  "' but that file does not contain it");
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
