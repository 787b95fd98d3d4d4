// Each subcommand lives in its own cmd_*.cpp and registers itself on the app here.
#pragma once

#include <CLI/CLI.hpp>

namespace radseek::cli {

// Engine commands (cmd_engine.cpp and friends).
void register_info(CLI::App& app);
void register_score(CLI::App& app);
void register_generate(CLI::App& app);
void register_gen_checkpoint(CLI::App& app);
void register_quantize(CLI::App& app);
void register_chat(CLI::App& app);
void register_bench(CLI::App& app);

// Tokenizer commands (cmd_tokenize.cpp).
void register_tokenize(CLI::App& app);
void register_detokenize(CLI::App& app);

// Radiology commands (cmd_classify.cpp, cmd_eval.cpp, cmd_synth.cpp).
void register_classify(CLI::App& app);
void register_eval(CLI::App& app);
void register_synth(CLI::App& app);

// Training (cmd_train.cpp): tokenizer, pretrain, sft; grpo (cmd_grpo.cpp) under the same "train".
void register_train(CLI::App& app);
void register_train_grpo(CLI::App& train);

// Server (cmd_serve.cpp).
void register_serve(CLI::App& app);

// Charts (cmd_plot.cpp): loss CSVs -> SVG.
void register_plot(CLI::App& app);

}  // namespace radseek::cli
