// Mention vocabularies of the built-in label sets. The ChestX-ray14 vocabulary follows how the
// Open-i (Indiana) reports were coded with MeSH terms: "calcified granuloma", "scarring" (Cicatrix),
// "hyperexpanded lungs" (Lung/hyperdistention) and "blunted costophrenic angle" are coded apart from
// Nodule, Fibrosis, Emphysema and Effusion, so they are not mentions of those labels here. The
// CheXpert vocabulary follows the CheXpert labeler's broader observation classes (opacity, devices).
#include "radiology/labels.h"

namespace radseek::radiology {
namespace {

// Shared by both families.
const std::vector<std::string> kAtelectasis = {
    "atelecta*", "lobe|lobar|segmental|subsegmental|lung ~2 collapse*", "collapsed lung|lobe",
    "collapse ~3 lobe|lung"};
const std::vector<std::string> kCardiomegalyCore = {
    "cardiomegaly",
    "cardiac|heart enlargement",
    "enlarged|enlarging|enlargement|large ~3 heart|cardiac",
    "heart|cardiac ~4 enlarged|enlargement|enlarging|large|larger|prominent|borderline",
    "borderline ~2 heart|cardiac",
    "heart|cardiac size ~3 increased",
    "heart|cardiac ~8 mildly|moderately|markedly|severely|slightly|minimally enlarged",
    "cardiomyopathy"};
const std::vector<std::string> kCardiomegalyExcl = {
    "cardiac|heart ~4 enlargement|enlarged ~2 pulmonary|hilar|mediastinal|aorta|aortic",
    "enlarged ~3 cardiac ~1 vein|veins"};
const std::vector<std::string> kEffusionCore = {
    "effusion*", "pleural fluid", "fluid ~3 pleural ~1 space*", "hydrothorax", "hydropneumothora*",
    "fluid ~2 in|within the ~1 fissure*"};
const std::vector<std::string> kEffusionExcl = {"pericardial effusion*", "joint effusion*",
                                                "pericardial ~2 fluid", "knee|elbow effusion*"};
const std::vector<std::string> kPneumothorax = {"pneumothora*", "hydropneumothora*",
                                                "pneumothoraces"};
const std::vector<std::string> kConsolidation = {"consolidat*"};
const std::vector<std::string> kPneumonia = {"pneumonia*", "bronchopneumonia", "pneumonitis",
                                             "pneumonic"};
const std::vector<std::string> kEdemaCore = {"edema*", "oedema*"};
const std::vector<std::string> kEdemaExcl = {"soft tissue ~1 edema*", "subcutaneous edema*",
                                             "extremity|leg|pedal|facial|scalp edema*"};
const std::vector<std::string> kFracture = {"fracture*", "fx", "fractured", "broken ~2 rib*"};

LabelDef def(std::string name, std::vector<std::string> mentions,
             std::vector<std::string> exclusions = {}, std::string description = {}) {
  return LabelDef{.name = std::move(name),
                  .description = std::move(description),
                  .mentions = std::move(mentions),
                  .exclusions = std::move(exclusions)};
}

std::vector<std::string> join(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Open-i codes "cardiomegaly" and an enlarged heart as Cardiomegaly, but an enlarged cardiac or
// cardiomediastinal silhouette as "Cardiac Shadow/enlarged": the silhouette may be enlarged by
// pericardial fluid or projection, so radiologists word it apart. It reads as uncertain here.
LabelDef chestxray14_cardiomegaly() {
  LabelDef d = def("Cardiomegaly",
                   join(kCardiomegalyCore, {"enlarged|enlargement ~3 cardiomediastinal|cardiopericardial",
                                            "cardiomediastinal|cardiopericardial ~4 enlarged|enlargement|large"}),
                   kCardiomegalyExcl, "Enlarged heart or cardiac silhouette");
  d.hedges = {"cardiac|cardiomediastinal|cardiopericardial|heart silhouette|shadow|contour* ~4 enlarg*|large|larger|prominent|borderline",
              "enlarg*|large|prominent|borderline ~3 cardiac|cardiomediastinal|cardiopericardial|heart silhouette|shadow|contour*",
              "cardiomediastinal|cardiopericardial ~4 enlarg*|large"};
  return d;
}

LabelDef chexpert_enlarged_cardiomediastinum() {
  return def("Enlarged Cardiomediastinum",
             {"enlarged|widened|widening|wide|prominent|enlargement ~3 mediastin*|cardiomediastin*",
              "mediastin*|cardiomediastin* ~4 widen*|wide|enlarg*|large|prominen*",
              "mediastinal ~1 mass*|lymphadenopathy|adenopathy", "aortic|aorta ~3 enlarg*|dilat*|ectasia|aneurysm*",
              "tortuous|tortuosity ~4 aorta|aortic", "aorta|aortic ~3 tortuous|tortuosity",
              "pericardial effusion*"},
             {}, "Widened mediastinum or enlarged cardiomediastinal silhouette");
}

LabelDef chexpert_lung_lesion() {
  return def("Lung Lesion",
             {"nodule*", "nodular ~1 opacit*|densit*|lesion*", "mass|masses", "lesion*", "tumor*",
              "tumour*", "neoplasm*", "carcinoma*", "malignan*", "metasta*", "cavitary|cavitation|cavity",
              "cyst|cysts|cystic", "bulla|bullae|bullous"},
             {"mass effect", "body mass", "bone|osseous|lytic|sclerotic|blastic|skin lesion*",
              "breast mass*", "soft tissue ~1 mass|masses", "hilar ~1 mass|masses"},
             "Nodule, mass or other focal lung lesion");
}

LabelDef chexpert_lung_opacity() {
  return def("Lung Opacity",
             {"opacit*", "opacification", "opacified", "infiltrat*", "airspace ~1 disease|process", "air space ~1 disease|process",
              "densit*", "hazy|haziness", "ground ~1 glass", "reticular*", "reticulonodular",
              "interstitial ~2 marking*|prominence|opacit*|pattern|thickening|disease|changes",
              "marking* ~3 prominent|increased|coarse*", "prominent|increased|coarse* ~2 marking*",
              "scar*", "fibros*", "fibrotic"},
             {"soft tissue ~2 densit*|opacit*", "bone ~1 density", "calcified ~2 density|densities"},
             "Any increased lung density: opacity, infiltrate, airspace or interstitial disease");
}

LabelDef chexpert_support_devices() {
  return def("Support Devices",
             {"tube|tubes", "endotracheal|ett|ngt|nasogastric|orogastric|enteric|feeding ~1 tube*",
              "tracheostomy|tracheotomy", "catheter*", "picc", "central|venous|jugular|subclavian|midline ~2 line*",
              "port a cath", "portacath|port", "porta cath", "pacemaker*", "pacer*", "aicd|icd", "defibrillator*",
              "pacing|pacer|pacemaker ~2 lead*|wire*", "stent*", "drain|drains", "swan ~1 ganz",
              "valve ~1 replacement|prosthesis", "prosthetic ~2 valve*", "balloon ~1 pump", "iabp",
              "lvad", "monitor* ~2 lead*", "ecg|ekg ~1 lead*", "device*", "hardware", "sternotomy ~1 wire*"},
             {"gastric ~1 tube ~2 shadow", "no device*"},
             "Lines, tubes, pacemakers, stents, valves and other hardware");
}

}  // namespace

LabelSet builtin_chexpert14() {
  LabelSet s;
  s.name = "chexpert";
  s.labels = {
      def("No Finding", {}, {}, "No observation other than support devices is positive or uncertain"),
      chexpert_enlarged_cardiomediastinum(),
      def("Cardiomegaly", kCardiomegalyCore, kCardiomegalyExcl, "Enlarged heart"),
      chexpert_lung_lesion(),
      chexpert_lung_opacity(),
      def("Edema",
          join(kEdemaCore, {"vascular|venous ~2 congestion", "pulmonary congestion", "congestion",
                            "vascular ~1 redistribution|cephalization", "cephalization", "kerley",
                            "engorge* ~3 vascula*|vessel*|veins", "vascula* ~3 engorge*"}),
          kEdemaExcl, "Pulmonary edema or vascular congestion"),
      def("Consolidation", kConsolidation, {}, "Airspace consolidation"),
      def("Pneumonia", join(kPneumonia, {"infection*", "infectious", "infective"}), {},
          "Pneumonia or pulmonary infection"),
      def("Atelectasis", join(kAtelectasis, {"volume loss"}), {}, "Atelectasis or collapse"),
      def("Pneumothorax", kPneumothorax, {}, "Air in the pleural space"),
      def("Pleural Effusion",
          join(kEffusionCore, {"costophrenic ~3 blunt*", "blunt* ~4 costophrenic|cp|angle*|sulc*",
                               "meniscus"}),
          kEffusionExcl, "Fluid in the pleural space"),
      def("Pleural Other",
          {"pleural ~3 thicken*|plaque*|scar*|calcif*", "thicken* ~4 pleura|pleural", "fibrothorax",
           "pleuroparenchymal ~2 thicken*|scar*", "apical ~1 capping|cap", "pleural ~1 based ~1 opacit*"},
          {}, "Pleural thickening, plaques, scarring or calcification"),
      def("Fracture", kFracture, {}, "Fracture of any bone seen"),
      chexpert_support_devices(),
  };
  s.no_finding = 0;
  s.no_finding_ignores = {13};
  s.heart_failure_target = 2;
  s.heart_failure_mentions = {"heart failure", "chf", "cardiac failure", "congestive"};
  return s;
}

LabelSet builtin_chexpert13() {
  LabelSet s = builtin_chexpert14();
  s.name = "chexpert13";
  s.labels.erase(s.labels.begin());
  s.no_finding = -1;
  s.no_finding_ignores.clear();
  s.heart_failure_target = 1;
  return s;
}

LabelSet builtin_chestxray14() {
  LabelSet s;
  s.name = "chestxray14";
  s.labels = {
      def("Atelectasis", kAtelectasis, {}, "Atelectasis or lobar collapse"),
      chestxray14_cardiomegaly(),
      def("Effusion", kEffusionCore, kEffusionExcl, "Pleural effusion"),
      def("Infiltration", {"infiltrat*"}, {}, "Pulmonary infiltrate"),
      def("Mass", {"mass|masses"},
          {"mass effect", "body mass", "breast mass*", "hilar ~1 mass|masses", "muscle mass"},
          "Mass (a lesion larger than 3 cm)"),
      def("Nodule", {"nodule*", "nodular ~1 density|densities"}, {}, "Pulmonary nodule"),
      def("Pneumonia", kPneumonia, {}, "Pneumonia"),
      def("Pneumothorax", kPneumothorax, {}, "Pneumothorax"),
      def("Consolidation", kConsolidation, {}, "Airspace consolidation"),
      def("Edema", kEdemaCore, kEdemaExcl, "Pulmonary edema"),
      def("Emphysema", {"emphysema*", "emphysematous"},
          {"subcutaneous|mediastinal|interstitial|surgical ~2 emphysema", "soft tissue ~1 emphysema"}, "Emphysema"),
      def("Fibrosis", {"fibros*", "fibrotic"}, {"cystic fibrosis"}, "Pulmonary fibrosis"),
      def("Pleural_Thickening",
          {"pleural ~3 thicken*", "thicken* ~4 pleura|pleural", "pleuroparenchymal ~2 thicken*",
           "pleural ~1 based ~1 thicken*", "apical ~1 capping"},
          {}, "Pleural thickening"),
      def("Hernia", {"hernia*", "herniation ~3 stomach|bowel|diaphragm*"}, {}, "Hiatal or diaphragmatic hernia"),
  };
  return s;
}

}  // namespace radseek::radiology
