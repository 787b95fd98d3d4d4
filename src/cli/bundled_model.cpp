#include "cli/bundled_model.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace radseek::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBundledName = "radseek-mini";

std::optional<fs::path> executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec || exe.empty()) return std::nullopt;
  return exe.parent_path();
}

}  // namespace

std::vector<std::string> bundled_model_candidates() {
  if (const char* env = std::getenv("RADSEEK_MODEL"); env != nullptr && *env != '\0') return {env};
  std::vector<std::string> out;
  if (auto dir = executable_dir()) out.push_back((*dir / ".." / "share" / "radseek" / "models" / kBundledName).lexically_normal());
#ifdef RADSEEK_SOURCE_DIR
  out.push_back((fs::path(RADSEEK_SOURCE_DIR) / "models" / kBundledName).string());
#endif
  return out;
}

Expected<std::string> find_bundled_model() {
  const std::vector<std::string> places = bundled_model_candidates();
  std::string looked;
  for (const std::string& p : places) {
    std::error_code ec;
    if (fs::is_regular_file(fs::path(p) / "config.json", ec) || (fs::is_regular_file(p, ec) && p.ends_with(".gguf")))
      return p;
    looked += (looked.empty() ? "" : ", ") + p;
  }
  const bool from_env = std::getenv("RADSEEK_MODEL") != nullptr && *std::getenv("RADSEEK_MODEL") != '\0';
  return make_error(ErrorCode::kNotFound, std::string(from_env ? "RADSEEK_MODEL=" : "no bundled model at ") + looked +
                                              (from_env ? ": no config.json (or .gguf file) there" : "") +
                                              "; pass -m DIR (a model folder or .gguf file)");
}

Expected<std::string> resolve_model_dir(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  return find_bundled_model();
}

}  // namespace radseek::cli
