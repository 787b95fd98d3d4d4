// radseek: DeepSeek-family reasoning models for radiology reports, on the hospital's own hardware.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"radseek: run DeepSeek-family models locally and read radiology reports with them"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "radseek 0.1.0");
  radseek::cli::register_info(app);
  radseek::cli::register_score(app);
  radseek::cli::register_generate(app);
  radseek::cli::register_chat(app);
  radseek::cli::register_bench(app);
  radseek::cli::register_gen_checkpoint(app);
  radseek::cli::register_quantize(app);
  radseek::cli::register_tokenize(app);
  radseek::cli::register_detokenize(app);
  radseek::cli::register_classify(app);
  radseek::cli::register_eval(app);
  radseek::cli::register_synth(app);
  radseek::cli::register_train(app);
  radseek::cli::register_serve(app);
  radseek::cli::register_plot(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
