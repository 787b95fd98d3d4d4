// HL7 v2 ORU^R01: MSH header, PID, then one OBR per report with its OBX text segments.
#include <algorithm>
#include <cctype>

#include "radiology/readers.h"

namespace radseek::radiology {
namespace {

std::vector<std::string_view> split(std::string_view s, char d) {
  std::vector<std::string_view> out;
  size_t i = 0;
  for (;;) {
    const size_t j = s.find(d, i);
    out.push_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

std::vector<std::string_view> segments(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find_first_of("\r\n", i);
    if (j == std::string_view::npos) j = text.size();
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

struct Obx {
  int set_id = 0;
  size_t order = 0;
  std::string text;
};

struct Group {
  std::string id;
  std::string where;
  std::vector<Obx> obx;
  std::optional<std::string> error;
};

std::string_view field(const std::vector<std::string_view>& f, size_t i) {
  return i < f.size() ? f[i] : std::string_view();
}

std::string first_component(std::string_view v, const Hl7Delimiters& d) {
  return std::string(v.substr(0, v.find(d.component)));
}

// OBX-3 naming a section ("&IMP", "IMPRESSION", "&GDT" findings) puts a heading before the text.
std::string section_heading(std::string_view obx3) {
  std::string u(obx3);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (u.find("IMP") != std::string::npos) return "IMPRESSION: ";
  if (u.find("GDT") != std::string::npos || u.find("FINDING") != std::string::npos) return "FINDINGS: ";
  return {};
}

ReportRecord finish(Group& g) {
  ReportRecord r;
  r.id = g.id;
  r.where = g.where;
  if (g.error) {
    r.error = *g.error;
    return r;
  }
  if (g.obx.empty()) {
    r.error = g.where + ": OBR has no OBX text segment";
    return r;
  }
  std::stable_sort(g.obx.begin(), g.obx.end(),
                   [](const Obx& a, const Obx& b) { return a.set_id < b.set_id; });
  for (const Obx& o : g.obx) {
    if (!r.text.empty()) r.text.push_back('\n');
    r.text += o.text;
  }
  return r;
}

struct MessageState {
  Hl7Delimiters d;
  std::string control_id;
  std::vector<Group> groups;
  bool has_msh = false;
};

void handle_obx(MessageState& m, const std::vector<std::string_view>& f, const std::string& where) {
  if (m.groups.empty()) {
    Group g;
    g.id = m.control_id + "-orphan-obx";
    g.where = where;
    g.error = where + ": OBX before any OBR";
    m.groups.push_back(std::move(g));
    return;
  }
  Group& g = m.groups.back();
  const std::string_view type = field(f, 2);
  if (!type.empty() && type != "TX" && type != "FT" && type != "ST" && type != "CE" && type != "CWE") {
    return;  // numeric or coded-only values are not report text
  }
  Obx o;
  o.order = g.obx.size();
  const std::string set_id(field(f, 1));
  o.set_id = set_id.empty() || !std::all_of(set_id.begin(), set_id.end(), ::isdigit)
                 ? static_cast<int>(g.obx.size()) + 1
                 : std::stoi(set_id);
  std::string value;
  for (std::string_view rep : split(field(f, 5), m.d.repetition)) {
    if (!value.empty()) value.push_back('\n');
    value += hl7_unescape(rep, m.d);
  }
  const std::string heading = section_heading(field(f, 3));
  const bool has_heading = !heading.empty() && value.find(heading.substr(0, heading.size() - 2)) != 0;
  o.text = has_heading ? heading + value : value;
  g.obx.push_back(std::move(o));
}

void handle_msh(MessageState& m, std::string_view seg, const std::string& where) {
  m.has_msh = true;
  if (seg.size() >= 8) {
    m.d.field = seg[3];
    m.d.component = seg[4];
    m.d.repetition = seg[5];
    m.d.escape = seg[6];
    m.d.subcomponent = seg[7];
  }
  const auto f = split(seg, m.d.field);
  // MSH-1 is the separator itself, so MSH-n is f[n-1].
  m.control_id = std::string(field(f, 9));
  const std::string type(field(f, 8));
  if (m.control_id.empty()) m.control_id = where;
  if (type.rfind(std::string("ORU") + m.d.component + "R01", 0) != 0 && type.rfind("ORU", 0) != 0) {
    Group g;
    g.id = m.control_id;
    g.where = where;
    g.error = where + ": MSH-9 message type '" + type + "' is not ORU^R01";
    m.groups.push_back(std::move(g));
  }
}

}  // namespace

std::string hl7_unescape(std::string_view s, const Hl7Delimiters& d) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != d.escape) {
      out.push_back(s[i]);
      continue;
    }
    const size_t j = s.find(d.escape, i + 1);
    if (j == std::string_view::npos) {
      out.append(s.substr(i));  // a lone escape character stays as written
      break;
    }
    const std::string_view code = s.substr(i + 1, j - i - 1);
    if (code == "F") out.push_back(d.field);
    else if (code == "S") out.push_back(d.component);
    else if (code == "T") out.push_back(d.subcomponent);
    else if (code == "R") out.push_back(d.repetition);
    else if (code == "E") out.push_back(d.escape);
    else if (code == ".br") out.push_back('\n');
    else if (code == "H" || code == "N" || code.rfind(".sp", 0) == 0 || code.rfind(".in", 0) == 0 ||
             code.rfind(".ti", 0) == 0 || code == ".fi" || code == ".nf" || code.rfind(".ce", 0) == 0) {
      if (code.rfind(".sp", 0) == 0) out.push_back('\n');
    } else if (!code.empty() && code[0] == 'X' && code.size() % 2 == 1) {
      for (size_t k = 1; k + 1 < code.size(); k += 2) {
        out.push_back(static_cast<char>(std::stoi(std::string(code.substr(k, 2)), nullptr, 16)));
      }
    } else {
      out.append(s.substr(i, j - i + 1));  // unknown sequence: keep literally
    }
    i = j;
  }
  return out;
}

std::vector<ReportRecord> parse_hl7(std::string_view text, const std::string& origin) {
  std::vector<ReportRecord> out;
  MessageState m;
  std::string msh_where;
  auto flush = [&]() {
    if (m.has_msh && m.groups.empty() && !msh_where.empty()) {
      ReportRecord r;
      r.id = m.control_id;
      r.where = msh_where;
      r.error = msh_where + ": message has no OBR segment (no report)";
      out.push_back(std::move(r));
    }
    for (Group& g : m.groups) out.push_back(finish(g));
    m = MessageState{};
  };
  const auto segs = segments(text);
  for (size_t si = 0; si < segs.size(); ++si) {
    const std::string_view seg = segs[si];
    const std::string where = origin + ": segment " + std::to_string(si + 1);
    if (seg.rfind("MSH", 0) == 0) {
      flush();
      msh_where = where;
      handle_msh(m, seg, where);
      continue;
    }
    if (!m.has_msh) {
      ReportRecord r;
      r.id = origin + "#" + std::to_string(si + 1);
      r.where = where;
      r.error = where + ": segment '" + std::string(seg.substr(0, 3)) + "' before any MSH header";
      out.push_back(std::move(r));
      m.has_msh = true;  // report once, then read on
      continue;
    }
    const auto f = split(seg, m.d.field);
    if (f[0] == "OBR") {
      Group g;
      g.where = where;
      g.id = first_component(field(f, 3), m.d);
      if (g.id.empty()) g.id = first_component(field(f, 2), m.d);
      if (g.id.empty()) g.id = m.control_id + "-" + std::to_string(m.groups.size() + 1);
      m.groups.push_back(std::move(g));
    } else if (f[0] == "OBX") {
      handle_obx(m, f, where);
    }
  }
  flush();
  if (out.empty()) {
    ReportRecord r;
    r.id = origin;
    r.where = origin;
    r.error = origin + ": no HL7 message (no MSH segment) found";
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace radseek::radiology
