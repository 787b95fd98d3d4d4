// FHIR R4 DiagnosticReport (alone, in a Bundle, or one per NDJSON line): presentedForm text/plain
// (base64) if present, else conclusion plus the XHTML narrative.
#include <cctype>

#include "radiology/readers.h"

namespace radseek::radiology {
namespace {

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::string decode_entities(std::string_view s) {
  static constexpr std::pair<std::string_view, std::string_view> kEntities[] = {
      {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"},
      {"&#39;", "'"}, {"&nbsp;", " "}, {"&#160;", " "}};
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool done = false;
    if (s[i] == '&') {
      for (const auto& [from, to] : kEntities) {
        if (s.substr(i, from.size()) == from) {
          out.append(to);
          i += from.size() - 1;
          done = true;
          break;
        }
      }
    }
    if (!done) out.push_back(s[i]);
  }
  return out;
}

std::optional<std::string> presented_text(const nlohmann::json& res, std::string* error) {
  if (!res.contains("presentedForm") || !res["presentedForm"].is_array()) return std::nullopt;
  for (size_t i = 0; i < res["presentedForm"].size(); ++i) {
    const auto& att = res["presentedForm"][i];
    const std::string type = att.value("contentType", std::string());
    if (type.rfind("text/plain", 0) != 0 || !att.contains("data")) continue;
    if (!att["data"].is_string()) {
      *error = "presentedForm[" + std::to_string(i) + "].data: not a string";
      return std::nullopt;
    }
    auto decoded = base64_decode(att["data"].get<std::string>());
    if (!decoded) {
      *error = "presentedForm[" + std::to_string(i) + "].data: invalid base64";
      return std::nullopt;
    }
    return decoded;
  }
  return std::nullopt;
}

std::string resource_id(const nlohmann::json& res, const std::string& fallback) {
  if (res.contains("id") && res["id"].is_string()) return res["id"].get<std::string>();
  if (res.contains("identifier") && res["identifier"].is_array() && !res["identifier"].empty() &&
      res["identifier"][0].contains("value") && res["identifier"][0]["value"].is_string()) {
    return res["identifier"][0]["value"].get<std::string>();
  }
  return fallback;
}

ReportRecord diagnostic_report(const nlohmann::json& res, const std::string& where) {
  ReportRecord r;
  r.where = where;
  r.id = resource_id(res, where);
  std::string err;
  auto text = presented_text(res, &err);
  if (!err.empty()) {
    r.error = where + ": " + err;
    return r;
  }
  if (text) {
    r.text = std::move(*text);
    return r;
  }
  std::string narrative;
  if (res.contains("text") && res["text"].is_object() && res["text"].contains("div") &&
      res["text"]["div"].is_string()) {
    narrative = strip_xhtml(res["text"]["div"].get<std::string>());
  }
  const std::string conclusion = res.value("conclusion", std::string());
  if (!narrative.empty()) r.text = narrative;
  if (!conclusion.empty() && narrative.find(conclusion) == std::string::npos) {
    r.text += (r.text.empty() ? "" : "\n") + std::string("IMPRESSION: ") + conclusion;
  }
  if (r.text.find_first_not_of(" \t\r\n") == std::string::npos) {
    r.error = where + ": DiagnosticReport has no presentedForm text/plain, conclusion or narrative";
  }
  return r;
}

}  // namespace

std::optional<std::string> base64_decode(std::string_view s) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return std::nullopt;  // data after padding
    const int v = b64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (pad > 2 || bits >= 6) return std::nullopt;
  return out;
}

std::string strip_xhtml(std::string_view html) {
  std::string out;
  size_t i = 0;
  while (i < html.size()) {
    if (html[i] != '<') {
      out.push_back(html[i++]);
      continue;
    }
    const size_t j = html.find('>', i);
    if (j == std::string_view::npos) break;
    std::string tag(html.substr(i + 1, j - i - 1));
    for (char& c : tag) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!tag.empty() && tag[0] == '/') tag.erase(0, 1);
    const std::string name = tag.substr(0, tag.find_first_of(" /"));
    if (name == "br" || name == "p" || name == "div" || name == "li" || name == "tr" || name == "h1" ||
        name == "h2" || name == "h3") {
      if (!out.empty() && out.back() != '\n') out.push_back('\n');
    }
    i = j + 1;
  }
  std::string decoded = decode_entities(out);
  const size_t b = decoded.find_first_not_of(" \t\r\n");
  const size_t e = decoded.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : decoded.substr(b, e - b + 1);
}

void fhir_resource_to_records(const nlohmann::json& res, const std::string& where,
                              std::vector<ReportRecord>& out) {
  const std::string type = res.value("resourceType", std::string());
  if (type == "DiagnosticReport") {
    out.push_back(diagnostic_report(res, where));
    return;
  }
  if (type == "Bundle") {
    if (!res.contains("entry") || !res["entry"].is_array()) return;
    for (size_t i = 0; i < res["entry"].size(); ++i) {
      const auto& e = res["entry"][i];
      if (!e.is_object() || !e.contains("resource") || !e["resource"].is_object()) continue;
      fhir_resource_to_records(e["resource"], where + ": entry[" + std::to_string(i) + "]", out);
    }
  }
}

std::vector<ReportRecord> parse_fhir(std::string_view json_text, const std::string& origin) {
  std::vector<ReportRecord> out;
  const nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  ReportRecord err;
  err.id = origin;
  err.where = origin;
  if (j.is_discarded() || !j.is_object()) {
    err.error = origin + ": not a valid FHIR JSON resource";
    out.push_back(std::move(err));
    return out;
  }
  const std::string type = j.value("resourceType", std::string());
  if (type != "DiagnosticReport" && type != "Bundle") {
    err.error = origin + ": resourceType '" + type + "' is neither DiagnosticReport nor Bundle";
    out.push_back(std::move(err));
    return out;
  }
  fhir_resource_to_records(j, origin, out);
  if (out.empty()) {
    err.error = origin + ": Bundle holds no DiagnosticReport";
    out.push_back(std::move(err));
  }
  return out;
}

}  // namespace radseek::radiology
