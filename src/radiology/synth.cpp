#include "radiology/synth.h"

#include <algorithm>
#include <array>
#include <random>

#include "radiology/labels.h"

namespace radseek::radiology {
namespace {

using Rng = std::mt19937_64;

struct Finding {
  const char* name;       // the multiple-choice option text
  const char* chexpert;   // CheXpert-14 label or ""
  const char* cxr14;      // ChestX-ray14 label or ""
  std::vector<const char*> positive;   // {S} size, {L} side, {Z} zone
  std::vector<const char*> uncertain;
  std::vector<const char*> negative;
  const char* impression;  // short impression phrase
};

const std::vector<Finding>& chest_findings() {
  static const std::vector<Finding> k = {
      {"Pleural effusion", "Pleural Effusion", "Effusion",
       {"There is a {S} {L} pleural effusion.", "{S} {L} pleural effusion with blunting of the costophrenic angle.",
        "A {S} {L} effusion layers posteriorly.", "Fluid is present in the {L} pleural space."},
       {"Possible {S} {L} pleural effusion.", "A trace {L} effusion cannot be excluded.", "Blunting of the {L} costophrenic angle may represent a small effusion."},
       {"No pleural effusion.", "There is no pleural effusion.", "No effusion is seen.", "The costophrenic angles are sharp without effusion."},
       "{L} pleural effusion"},
      {"Pneumothorax", "Pneumothorax", "Pneumothorax",
       {"There is a {S} {L} apical pneumothorax.", "A {S} {L} pneumothorax is present.", "{L} pneumothorax measuring about 2 cm."},
       {"Questionable {S} {L} apical pneumothorax.", "A tiny {L} pneumothorax is not excluded."},
       {"No pneumothorax.", "There is no pneumothorax.", "No evidence of pneumothorax.", "Pneumothorax is not seen."},
       "{L} pneumothorax"},
      {"Cardiomegaly", "Cardiomegaly", "Cardiomegaly",
       {"The heart is enlarged.", "{S2} cardiomegaly.", "The cardiac silhouette is {S2} enlarged.", "There is cardiomegaly."},
       {"The heart size is at the upper limits of normal, possibly mildly enlarged.", "Possible mild cardiomegaly."},
       {"Heart size is normal.", "The heart is not enlarged.", "Normal cardiac silhouette.", "No cardiomegaly."},
       "cardiomegaly"},
      {"Atelectasis", "Atelectasis", "Atelectasis",
       {"{S} {L} basilar atelectasis.", "Linear atelectasis at the {L} lung base.", "There is subsegmental atelectasis in the {Z}."},
       {"Opacity at the {L} base may represent atelectasis.", "Probable {S} atelectasis in the {Z}."},
       {"No atelectasis.", "There is no lobar collapse or atelectasis."},
       "{L} basilar atelectasis"},
      {"Consolidation", "Consolidation", "Consolidation",
       {"Dense consolidation in the {Z}.", "There is {L} lower lobe consolidation.", "Airspace consolidation is present in the {Z}."},
       {"Possible early consolidation in the {Z}.", "Patchy opacity in the {Z}, cannot exclude consolidation."},
       {"No focal consolidation.", "There is no consolidation.", "No focal airspace consolidation."},
       "consolidation in the {Z}"},
      {"Pneumonia", "Pneumonia", "Pneumonia",
       {"Findings consistent with {L} lower lobe pneumonia.", "Airspace disease in the {Z} compatible with pneumonia."},
       {"Opacity in the {Z}, which may represent pneumonia.", "Early pneumonia cannot be excluded in the {Z}."},
       {"No radiographic evidence of pneumonia.", "No findings to suggest pneumonia."},
       "pneumonia in the {Z}"},
      {"Pulmonary edema", "Edema", "Edema",
       {"There is {S2} interstitial pulmonary edema.", "Diffuse pulmonary edema with Kerley B lines.", "Findings of {S2} pulmonary edema."},
       {"Indistinct vasculature may reflect mild pulmonary edema.", "Possible mild interstitial edema."},
       {"No pulmonary edema.", "There is no edema.", "No signs of pulmonary edema."},
       "pulmonary edema"},
      {"Pulmonary nodule", "Lung Lesion", "Nodule",
       {"A {N} mm nodule is seen in the {Z}.", "There is a {N} mm pulmonary nodule in the {Z}.", "Noncalcified nodule in the {Z} measuring {N} mm."},
       {"A possible nodule projects over the {Z}.", "Nodular density in the {Z}, nodule not excluded."},
       {"No suspicious pulmonary nodules.", "No nodules are identified."},
       "{N} mm nodule in the {Z}"},
      {"Lung mass", "Lung Lesion", "Mass",
       {"There is a {M} cm mass in the {Z}.", "A large mass is present in the {Z}, measuring {M} cm."},
       {"Fullness in the {Z} could represent a mass.", "Possible mass in the {Z}."},
       {"No mass is seen.", "There is no pulmonary mass."},
       "{M} cm mass in the {Z}"},
      {"Emphysema", "", "Emphysema",
       {"The lungs are hyperinflated with emphysematous changes.", "Changes of emphysema are present.", "Upper lobe predominant emphysema."},
       {"Hyperinflation possibly reflecting emphysema."},
       {"No emphysema."},
       "emphysema"},
      {"Pulmonary fibrosis", "Lung Opacity", "Fibrosis",
       {"Reticular opacities at the bases consistent with pulmonary fibrosis.", "Chronic interstitial fibrosis is again seen."},
       {"Coarse basilar markings may reflect early fibrosis."},
       {"No fibrosis."},
       "pulmonary fibrosis"},
      {"Pleural thickening", "Pleural Other", "Pleural_Thickening",
       {"There is {L} apical pleural thickening.", "Pleural thickening along the {L} lateral chest wall."},
       {"Possible {L} pleural thickening."},
       {"No pleural thickening."},
       "{L} pleural thickening"},
      {"Hiatal hernia", "", "Hernia",
       {"A {S} hiatal hernia is present.", "Retrocardiac air-fluid level consistent with a hiatal hernia."},
       {"Retrocardiac density may represent a small hiatal hernia."},
       {"No hiatal hernia."},
       "{S} hiatal hernia"},
      {"Rib fracture", "Fracture", "",
       {"There is an acute fracture of the {L} {R} rib.", "Displaced {L} {R} rib fracture."},
       {"Possible nondisplaced fracture of the {L} {R} rib."},
       {"No acute fracture.", "No displaced rib fractures."},
       "{L} {R} rib fracture"},
      {"Lung infiltrate", "Lung Opacity", "Infiltration",
       {"There is a patchy infiltrate in the {Z}.", "Interstitial infiltrates in the {Z}."},
       {"Hazy opacity in the {Z} may represent an infiltrate."},
       {"No infiltrates.", "No focal infiltrate."},
       "infiltrate in the {Z}"},
      {"Support device", "Support Devices", "",
       {"Endotracheal tube tip 4 cm above the carina.", "A right internal jugular central line terminates in the SVC.",
        "Left chest wall pacemaker with leads in the right atrium and ventricle.", "A nasogastric tube courses below the diaphragm."},
       {}, {}, "support device in place"},
  };
  return k;
}

struct CtMri {
  const char* modality;
  const char* name;
  const char* sentence;
  const char* cxr14;  // "" when the finding is outside the chest label sets
  const char* chexpert;
};
const std::vector<CtMri>& cross_sectional() {
  static const std::vector<CtMri> k = {
      {"CT chest", "Pulmonary embolism", "Filling defects in the {L} lower lobe pulmonary arteries consistent with acute pulmonary embolism.", "", ""},
      {"CT chest", "Pulmonary nodule", "A {N} mm solid nodule in the {Z}.", "Nodule", "Lung Lesion"},
      {"CT chest", "Emphysema", "Centrilobular emphysema, upper lobe predominant.", "Emphysema", ""},
      {"CT chest", "Hiatal hernia", "A moderate hiatal hernia is present.", "Hernia", ""},
      {"CT chest", "Pleural effusion", "A {S} {L} pleural effusion with adjacent atelectasis.", "Effusion", "Pleural Effusion"},
      {"MRI brain", "Acute ischemic infarct", "Restricted diffusion in the {L} MCA territory consistent with an acute infarct.", "", ""},
      {"MRI brain", "Meningioma", "An extra-axial dural-based enhancing mass along the {L} convexity, most consistent with meningioma.", "", ""},
      {"MRI brain", "Multiple sclerosis", "Multiple periventricular T2 hyperintense lesions oriented perpendicular to the ventricles.", "", ""},
      {"MRI brain", "Subdural hematoma", "A crescentic {L} subdural collection measuring 8 mm.", "", ""},
  };
  return k;
}

template <typename T>
const T& pick(Rng& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

std::string fill(std::string s, Rng& rng) {
  static const std::vector<std::string> kSize = {"small", "moderate", "large", "trace", "tiny"};
  static const std::vector<std::string> kSize2 = {"mild", "moderate", "severe", "marked"};
  static const std::vector<std::string> kSide = {"left", "right", "bilateral"};
  static const std::vector<std::string> kZone = {"right upper lobe", "left upper lobe", "right lower lobe", "left lower lobe", "right middle lobe", "lingula", "left base", "right base"};
  static const std::vector<std::string> kRib = {"fourth", "fifth", "sixth", "seventh", "eighth"};
  const std::array<std::pair<std::string, const std::vector<std::string>*>, 5> subs = {{{"{S}", &kSize}, {"{S2}", &kSize2}, {"{L}", &kSide}, {"{Z}", &kZone}, {"{R}", &kRib}}};
  for (const auto& [key, list] : subs) {
    for (size_t p = s.find(key); p != std::string::npos; p = s.find(key)) s.replace(p, key.size(), pick(rng, *list));
  }
  for (size_t p = s.find("{N}"); p != std::string::npos; p = s.find("{N}")) s.replace(p, 3, std::to_string(std::uniform_int_distribution<int>(4, 18)(rng)));
  for (size_t p = s.find("{M}"); p != std::string::npos; p = s.find("{M}")) s.replace(p, 3, std::to_string(std::uniform_int_distribution<int>(3, 8)(rng)));
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

const std::vector<const char*> kNormal = {
    "The lungs are clear.", "Lungs are well expanded and clear.", "The mediastinal contours are normal.",
    "Visualized osseous structures are intact.", "Pulmonary vascularity is within normal limits.",
    "The trachea is midline.", "No acute bony abnormality.", "Degenerative changes of the thoracic spine."};
const std::vector<const char*> kIndication = {"Cough.", "Shortness of breath.", "Chest pain.", "Fever.", "Preoperative evaluation.", "Follow-up.", "Trauma.", "Hypoxia."};
const std::vector<const char*> kNormalImpression = {"No acute cardiopulmonary process.", "No acute cardiopulmonary abnormality.", "Normal chest radiograph.", "No active disease."};

struct Stated {
  const Finding* f;
  int value;  // 1, -1 or 0
  std::string sentence;
};

nlohmann::json label_object(const LabelSet& set, const std::vector<Stated>& stated, bool cxr14) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& d : set.labels) j[d.name] = nullptr;
  for (const Stated& s : stated) {
    const std::string name = cxr14 ? s.f->cxr14 : s.f->chexpert;
    if (name.empty() || set.index_of(name) < 0) continue;
    const nlohmann::json& cur = j[name];
    const int rank_new = s.value == 1 ? 3 : (s.value == -1 ? 2 : 1);
    const int rank_cur = cur.is_null() ? 0 : (cur.get<int>() == 1 ? 3 : (cur.get<int>() == -1 ? 2 : 1));
    if (rank_new > rank_cur) j[name] = s.value;
  }
  if (set.no_finding >= 0) {
    bool any = false;
    for (const Stated& s : stated) any |= s.value != 0 && std::string(s.f->chexpert) != "Support Devices" && s.f->chexpert[0] != '\0';
    j[set.labels[set.no_finding].name] = any ? nlohmann::json() : nlohmann::json(1);
  }
  return j;
}

nlohmann::json mc_question(Rng& rng, const std::string& correct, std::vector<std::string> pool, std::string* answer) {
  pool.erase(std::remove(pool.begin(), pool.end(), correct), pool.end());
  std::shuffle(pool.begin(), pool.end(), rng);
  pool.resize(std::min<size_t>(3, pool.size()));
  pool.push_back(correct);
  std::shuffle(pool.begin(), pool.end(), rng);
  nlohmann::json options = nlohmann::json::object();
  for (size_t i = 0; i < pool.size(); ++i) {
    const std::string letter(1, static_cast<char>('A' + i));
    options[letter] = pool[i];
    if (pool[i] == correct) *answer = letter;
  }
  return options;
}

nlohmann::json chest_report(const SynthOptions& o, Rng& rng, int index) {
  const auto& all = chest_findings();
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Stated> stated;
  std::vector<size_t> order(all.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  const int n_abnormal = u(rng) < o.normal_fraction ? 0 : std::uniform_int_distribution<int>(1, 3)(rng);
  for (int k = 0; k < n_abnormal; ++k) {
    const Finding& f = all[order[k]];
    const bool hedge = !f.uncertain.empty() && u(rng) < o.uncertain_fraction;
    stated.push_back({&f, hedge ? -1 : 1, fill(hedge ? pick(rng, f.uncertain) : pick(rng, f.positive), rng)});
  }
  for (size_t k = n_abnormal; k < order.size(); ++k) {
    const Finding& f = all[order[k]];
    if (!f.negative.empty() && u(rng) < 0.3) stated.push_back({&f, 0, fill(pick(rng, f.negative), rng)});
  }
  std::string findings;
  std::vector<Stated> shuffled = stated;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (const auto& s : shuffled) findings += s.sentence + " ";
  findings += pick(rng, kNormal);
  std::string impression;
  int item = 1;
  for (const auto& s : stated) {
    if (s.value == 0 || std::string(s.f->name) == "Support device") continue;
    impression += std::to_string(item++) + ". " + (s.value == -1 ? "Possible " : "") + fill(s.f->impression, rng) + ". ";
  }
  if (impression.empty()) impression = pick(rng, kNormalImpression);
  nlohmann::json j;
  j["modality"] = "CXR";
  j["text"] = "EXAMINATION: Chest radiograph, PA and lateral.\nINDICATION: " + std::string(pick(rng, kIndication)) +
              "\nFINDINGS: " + findings + "\nIMPRESSION: " + impression;
  const LabelSet chexpert = builtin_chexpert14();
  const LabelSet cxr14 = builtin_chestxray14();
  j["labels_chexpert"] = label_object(chexpert, stated, false);
  j["labels_chestxray14"] = label_object(cxr14, stated, true);
  std::vector<std::string> pool;
  for (const auto& f : all) if (std::string(f.name) != "Support device") pool.push_back(f.name);
  pool.push_back("No acute abnormality");
  const Stated* key = nullptr;
  for (int want : {1, -1}) {
    for (const auto& s : stated) {
      if (s.value == want && std::string(s.f->name) != "Support device" && key == nullptr) key = &s;
    }
  }
  std::vector<std::string> present;
  for (const auto& s : stated) if (s.value != 0) present.push_back(s.f->name);
  for (const auto& p : present) if (key == nullptr || p != key->f->name) pool.erase(std::remove(pool.begin(), pool.end(), p), pool.end());
  const std::string correct = key != nullptr ? key->f->name : "No acute abnormality";
  std::string answer;
  j["question"] = "Which finding does this chest radiograph report describe?";
  j["options"] = mc_question(rng, correct, pool, &answer);
  j["answer"] = answer;
  std::string reasoning;
  for (const auto& s : stated) {
    const char* verdict = s.value == 1 ? "present" : (s.value == -1 ? "uncertain" : "absent");
    reasoning += "The report says \"" + s.sentence + "\", so " + std::string(s.f->name) + " is " + verdict + ". ";
  }
  if (stated.empty()) reasoning = "The report describes no abnormal finding. ";
  j["reasoning"] = reasoning + "Answer: " + answer + ".";
  // The stated findings with their exact sentences: what SFT answers quote (radiology/sft.h).
  j["findings"] = nlohmann::json::array();
  for (const auto& s : stated)
    j["findings"].push_back({{"name", s.f->name}, {"chexpert", s.f->chexpert}, {"chestxray14", s.f->cxr14},
                             {"value", s.value}, {"sentence", s.sentence}});
  (void)index;
  return j;
}

nlohmann::json cross_sectional_report(Rng& rng) {
  const auto& all = cross_sectional();
  const CtMri& c = pick(rng, all);
  const std::string sentence = fill(c.sentence, rng);
  nlohmann::json j;
  j["modality"] = c.modality;
  j["text"] = "EXAMINATION: " + std::string(c.modality) + (std::string(c.modality) == "CT chest" ? " with contrast." : " without and with contrast.") +
              "\nFINDINGS: " + sentence + " No other acute abnormality.\nIMPRESSION: " + c.name + ".";
  std::vector<std::string> pool;
  for (const auto& o : all) if (std::string(o.modality) == c.modality) pool.push_back(o.name);
  if (pool.size() < 4) pool.insert(pool.end(), {"Normal study", "Pneumothorax", "Lymphoma"});
  std::string answer;
  j["question"] = "What is the main finding of this " + std::string(c.modality) + " report?";
  j["options"] = mc_question(rng, c.name, pool, &answer);
  j["answer"] = answer;
  j["reasoning"] = "The report says \"" + sentence + "\", which indicates " + c.name + ". Answer: " + answer + ".";
  nlohmann::json cx = nlohmann::json::object(), cp = nlohmann::json::object();
  for (const auto& d : builtin_chestxray14().labels) cx[d.name] = nullptr;
  for (const auto& d : builtin_chexpert14().labels) cp[d.name] = nullptr;
  if (c.cxr14[0] != '\0') cx[c.cxr14] = 1;
  if (c.chexpert[0] != '\0') cp[c.chexpert] = 1;
  j["labels_chexpert"] = cp;
  j["labels_chestxray14"] = cx;
  j["findings"] = nlohmann::json::array({{{"name", c.name}, {"chexpert", c.chexpert}, {"chestxray14", c.cxr14},
                                          {"value", 1}, {"sentence", sentence}}});
  return j;
}

}  // namespace

nlohmann::json synth_report(const SynthOptions& opts, int index) {
  // One generator per report, seeded from (seed, index): reports do not depend on --count.
  std::seed_seq seq{static_cast<uint32_t>(opts.seed), static_cast<uint32_t>(opts.seed >> 32), static_cast<uint32_t>(index)};
  Rng rng(seq);
  const bool cross = std::uniform_real_distribution<double>(0, 1)(rng) < opts.ct_mri_fraction;
  nlohmann::json j = cross ? cross_sectional_report(rng) : chest_report(opts, rng, index);
  nlohmann::json out;
  out["id"] = "synth-" + std::to_string(opts.seed) + "-" + std::to_string(index);
  for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = it.value();
  out["labels"] = opts.labels == "chestxray14" ? out["labels_chestxray14"] : out["labels_chexpert"];
  out["synthetic"] = true;
  return out;
}

}  // namespace radseek::radiology
