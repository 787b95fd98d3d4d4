// radseek synth: seeded synthetic labelled reports (JSONL) for tests, demos and training.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "radiology/sft.h"
#include "radiology/synth.h"

namespace radseek::cli {
namespace {

namespace rad = radseek::radiology;

struct SftFlags {
  bool sft = false;              // write chat examples instead of reports
  std::string family = "compact";
  std::string tasks = "chexpert,chestxray14,mc";
};

// One report's lines: the report itself, or its SFT chat examples.
Status write_report(const rad::SynthOptions& o, const SftFlags& f, int index, std::ostream& out) {
  const nlohmann::json r = rad::synth_report(o, index);
  if (!f.sft) {
    out << r.dump() << "\n";
    return {};
  }
  auto family = rad::parse_model_family(f.family);
  if (!family) return family.error();
  auto ex = rad::synth_sft_examples(r, {.family = *family,
                                        .chexpert = f.tasks.find("chexpert") != std::string::npos,
                                        .chestxray14 = f.tasks.find("chestxray14") != std::string::npos,
                                        .mc = f.tasks.find("mc") != std::string::npos});
  if (!ex) return ex.error();
  for (const auto& e : *ex) out << e.dump() << "\n";
  return {};
}

int run_synth(const rad::SynthOptions& o, const SftFlags& sft, const std::string& output) {
  if (o.labels != "chexpert" && o.labels != "chestxray14") {
    std::fprintf(stderr, "radseek synth: --labels must be chexpert or chestxray14, got '%s'\n", o.labels.c_str());
    return 1;
  }
  if (o.count < 0 || o.normal_fraction < 0 || o.normal_fraction > 1 || o.uncertain_fraction < 0 || o.uncertain_fraction > 1) {
    std::fprintf(stderr, "radseek synth: --count must be >= 0 and fractions within [0, 1]\n");
    return 1;
  }
  std::ofstream file;
  if (output != "-") {
    file.open(output, std::ios::binary);
    if (!file) {
      std::fprintf(stderr, "radseek synth: %s: cannot open for writing\n", output.c_str());
      return 1;
    }
  }
  std::ostream& out = output == "-" ? std::cout : file;
  for (int i = 0; i < o.count; ++i) {
    const Status st = write_report(o, sft, i, out);
    if (!st) {
      std::fprintf(stderr, "radseek synth: %s\n", st.error().message.c_str());
      return 1;
    }
  }
  out.flush();
  return out ? 0 : 1;
}

}  // namespace

void register_synth(CLI::App& app) {
  auto o = std::make_shared<rad::SynthOptions>();
  auto output = std::make_shared<std::string>("-");
  auto* cmd = app.add_subcommand("synth", "Generate seeded synthetic radiology reports with gold labels and MC questions (JSONL)");
  cmd->add_option("-n,--count", o->count, "Number of reports")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed (same seed, same reports)")->capture_default_str();
  cmd->add_option("--labels", o->labels, "Label set written to the 'labels' field: chexpert or chestxray14 (both are always in labels_*)")
      ->capture_default_str();
  cmd->add_option("--normal-fraction", o->normal_fraction, "Share of reports without abnormal findings")->capture_default_str();
  cmd->add_option("--uncertain-fraction", o->uncertain_fraction, "Share of findings stated with hedging (-1)")->capture_default_str();
  cmd->add_option("--ct-mri-fraction", o->ct_mri_fraction, "Share of CT chest / MRI brain reports")->capture_default_str();
  auto sft = std::make_shared<SftFlags>();
  cmd->add_flag("--sft", sft->sft, "Write SFT chat examples ({\"messages\": [...]}) in the local classify backend's prompt format");
  cmd->add_option("--family", sft->family, "--sft prompt family: compact, r1 or generic (as classify --family)")->capture_default_str();
  cmd->add_option("--tasks", sft->tasks, "--sft examples per report: any of chexpert, chestxray14, mc")->capture_default_str();
  cmd->add_option("-o,--output", *output, "Output JSONL ('-' = stdout)")->capture_default_str();
  cmd->footer(
      "Each line: {id, modality, text, labels, labels_chexpert, labels_chestxray14, question, options, answer,\n"
      "reasoning, synthetic: true}. Usable directly as classify input and as eval gold.\n"
      "With --sft, each report gives up to three {id, task, messages} lines for radseek train sft.\n"
      "Example: radseek synth -n 1000 --seed 7 --labels chestxray14 -o synth.jsonl\n"
      "         radseek synth -n 1000 --seed 7 --sft -o sft.jsonl");
  cmd->callback([o, sft, output] { std::exit(run_synth(*o, *sft, *output)); });
}

}  // namespace radseek::cli
