// The model radseek ships (models/radseek-mini, trained by scripts/train_bundled.sh): what `classify`,
// `generate`, `chat`, `serve` and the other model commands load when no -m is given.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace radseek::cli {

// Where a bundled model is looked for, in order: $RADSEEK_MODEL (when set, it is the only place),
// <exe>/../share/radseek/models/radseek-mini (an installed tree), then the source tree the binary
// was built from (so a build works from any working directory).
std::vector<std::string> bundled_model_candidates();

// The first candidate holding a config.json, or an error listing every place looked at.
Expected<std::string> find_bundled_model();

// -m as given, or the bundled model when -m is empty; the error names the flag and the places looked.
Expected<std::string> resolve_model_dir(const std::string& flag_value);

}  // namespace radseek::cli
