// Every input format, well-formed and malformed.
#include <gtest/gtest.h>

#include "radiology/readers.h"
#include "test_util.h"

namespace radseek::radiology {
namespace {

using testing::TempDir;

std::vector<ReportRecord> read_all(const std::string& path, InputFormat f = InputFormat::kAuto, bool mc = false) {
  auto r = open_reader(ReaderOptions{.path = path, .format = f, .multiple_choice = mc});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  std::vector<ReportRecord> out;
  if (!r.ok()) return out;
  ReportRecord rec;
  while ((*r)->next(rec)) out.push_back(rec);
  return out;
}

TEST(Jsonl, GoodAndMalformedLines) {
  TempDir d;
  const auto p = d.file("r.jsonl", "{\"id\":\"a\",\"text\":\"No effusion.\",\"labels\":{\"Effusion\":0}}\n"
                                   "{not json\n"
                                   "\n"
                                   "{\"id\":7,\"report\":\"Clear lungs.\"}\n"
                                   "{\"id\":\"c\"}\n");
  const auto recs = read_all(p);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].id, "a");
  EXPECT_EQ(recs[0].gold["Effusion"], 0);
  ASSERT_TRUE(recs[1].error.has_value());
  EXPECT_NE(recs[1].error->find("r.jsonl:2"), std::string::npos);
  EXPECT_EQ(recs[2].id, "7");
  EXPECT_EQ(recs[2].text, "Clear lungs.");
  ASSERT_TRUE(recs[3].error.has_value());
  EXPECT_NE(recs[3].error->find("field 'text'"), std::string::npos);
}

TEST(Jsonl, MultipleChoice) {
  TempDir d;
  const auto p = d.file("q.jsonl", "{\"id\":\"q1\",\"report\":\"Small effusion.\",\"options\":{\"A\":\"Effusion\",\"B\":\"Mass\"},\"question\":\"Which?\"}\n"
                                   "{\"id\":\"q2\",\"report\":\"x\",\"options\":[\"One\",\"Two\"]}\n"
                                   "{\"id\":\"q3\",\"report\":\"x\"}\n");
  const auto recs = read_all(p, InputFormat::kAuto, true);
  ASSERT_EQ(recs.size(), 3u);
  ASSERT_EQ(recs[0].options.size(), 2u);
  EXPECT_EQ(recs[0].options[1].second, "Mass");
  EXPECT_EQ(recs[1].options[1].first, "B");
  EXPECT_TRUE(recs[2].error.has_value());
}

TEST(Csv, HeaderWithGoldQuotesAndErrors) {
  TempDir d;
  const auto p = d.file("r.csv", "id,text,Effusion\n"
                                 "1,\"No effusion, no pneumothorax.\",0\n"
                                 "2,\"Line one\nline \"\"two\"\"\",1\n"
                                 "3,too,many,fields\n"
                                 "4,\"unterminated\n");
  const auto recs = read_all(p);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].text, "No effusion, no pneumothorax.");
  EXPECT_EQ(recs[0].gold["Effusion"], 0);
  EXPECT_EQ(recs[1].text, "Line one\nline \"two\"");
  ASSERT_TRUE(recs[2].error.has_value());
  EXPECT_NE(recs[2].error->find("r.csv:5"), std::string::npos);
  ASSERT_TRUE(recs[3].error.has_value());
  EXPECT_NE(recs[3].error->find("unterminated"), std::string::npos);
}

TEST(Csv, HeaderlessOneColumnLikeTheCheXpertLabeler) {
  TempDir d;
  const auto p = d.file("reports.csv", "\"No acute process, lungs clear.\"\nSmall left effusion.\n");
  const auto recs = read_all(p);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].id, "1");
  EXPECT_EQ(recs[0].text, "No acute process, lungs clear.");
  EXPECT_EQ(recs[1].id, "2");
  TempDir d2;
  EXPECT_FALSE(open_reader(ReaderOptions{.path = d2.file("bad.csv", "a,b\n1,2\n")}).ok());
}

TEST(PlainText, WholeFileIsOneReport) {
  TempDir d;
  const auto recs = read_all(d.file("case12.txt", "FINDINGS: Clear.\nIMPRESSION: Normal."));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].id, "case12");
}

TEST(Hl7, ObxOrderEscapesAndGroups) {
  const std::string msg =
      "MSH|^~\\&|RIS|HOSP|RADSEEK|HOSP|202401011200||ORU^R01|MSG001|P|2.5\r"
      "PID|1||12345^^^HOSP||DOE^JANE\r"
      "OBR|1|ORD1|ACC1|71046^XR CHEST 2V\r"
      "OBX|2|TX|&IMP^Impression||Small left effusion\\F\\ no pneumothorax.\r"
      "OBX|1|TX|&GDT^Findings||Heart size normal.\\.br\\Lungs: clear \\T\\ expanded \\S\\ \\R\\ \\E\\.\r"
      "OBR|2|ORD2|ACC2|71045^XR CHEST 1V\r"
      "OBX|1|FT|||No acute disease.\r";
  const auto recs = parse_hl7(msg, "m.hl7");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].id, "ACC1");
  EXPECT_EQ(recs[0].text, "FINDINGS: Heart size normal.\nLungs: clear & expanded ^ ~ \\.\nIMPRESSION: Small left effusion| no pneumothorax.");
  EXPECT_EQ(recs[1].id, "ACC2");
  EXPECT_EQ(recs[1].text, "No acute disease.");
  EXPECT_FALSE(recs[0].error.has_value());
}

TEST(Hl7, MalformedMessagesBecomeErrorRecords) {
  auto no_msh = parse_hl7("OBR|1|A\rOBX|1|TX|||text\r", "a.hl7");
  ASSERT_FALSE(no_msh.empty());
  EXPECT_NE(no_msh[0].error->find("before any MSH"), std::string::npos);
  auto orphan = parse_hl7("MSH|^~\\&|A|B|C|D|1||ORU^R01|M2|P|2.5\rOBX|1|TX|||text\r", "b.hl7");
  ASSERT_EQ(orphan.size(), 1u);
  EXPECT_NE(orphan[0].error->find("OBX before any OBR"), std::string::npos);
  auto wrong = parse_hl7("MSH|^~\\&|A|B|C|D|1||ADT^A01|M3|P|2.5\r", "c.hl7");
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_NE(wrong[0].error->find("not ORU^R01"), std::string::npos);
  auto empty_obr = parse_hl7("MSH|^~\\&|A|B|C|D|1||ORU^R01|M4|P|2.5\rOBR|1|X|Y\r", "d.hl7");
  ASSERT_EQ(empty_obr.size(), 1u);
  EXPECT_NE(empty_obr[0].error->find("no OBX"), std::string::npos);
  EXPECT_TRUE(parse_hl7("garbage", "e.hl7")[0].error.has_value());
}

TEST(Hl7, UnescapeUsesTheMessageDelimiters) {
  Hl7Delimiters d{.field = '#', .component = '^', .repetition = '~', .escape = '!', .subcomponent = '&'};
  EXPECT_EQ(hl7_unescape("a!F!b!.br!c!X41!", d), "a#b\ncA");
  EXPECT_EQ(hl7_unescape("keep !Z! as is", d), "keep !Z! as is");
}

TEST(Fhir, PresentedFormNarrativeAndBundle) {
  // "Small left effusion." in base64.
  const std::string doc = R"({"resourceType":"Bundle","entry":[
    {"resource":{"resourceType":"DiagnosticReport","id":"dr1","presentedForm":[{"contentType":"text/plain","data":"U21hbGwgbGVmdCBlZmZ1c2lvbi4="}]}},
    {"resource":{"resourceType":"Patient","id":"p1"}},
    {"resource":{"resourceType":"DiagnosticReport","id":"dr2","conclusion":"No acute disease.",
      "text":{"div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Heart &amp; lungs normal.</p><p>No effusion.</p></div>"}}},
    {"resource":{"resourceType":"DiagnosticReport","id":"dr3","presentedForm":[{"contentType":"text/plain","data":"!!!"}]}},
    {"resource":{"resourceType":"DiagnosticReport","id":"dr4"}}]})";
  const auto recs = parse_fhir(doc, "b.json");
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].text, "Small left effusion.");
  EXPECT_EQ(recs[1].text, "Heart & lungs normal.\nNo effusion.\nIMPRESSION: No acute disease.");
  ASSERT_TRUE(recs[2].error.has_value());
  EXPECT_NE(recs[2].error->find("invalid base64"), std::string::npos);
  ASSERT_TRUE(recs[3].error.has_value());
  EXPECT_NE(recs[3].error->find("entry[4]"), std::string::npos);
}

TEST(Fhir, MalformedDocuments) {
  EXPECT_NE(parse_fhir("{\"resourceType\":", "x.json")[0].error->find("not a valid FHIR JSON"), std::string::npos);
  EXPECT_NE(parse_fhir("{\"resourceType\":\"Patient\"}", "x.json")[0].error->find("neither"), std::string::npos);
  EXPECT_TRUE(parse_fhir("{\"resourceType\":\"Bundle\",\"entry\":[]}", "x.json")[0].error.has_value());
  EXPECT_EQ(base64_decode("TWFu").value(), "Man");
  EXPECT_EQ(base64_decode("TWE=").value(), "Ma");
  EXPECT_FALSE(base64_decode("TW=E").has_value());
}

TEST(Fhir, NdjsonLinesAndAutoDetection) {
  TempDir d;
  const auto p = d.file("dr.ndjson", "{\"resourceType\":\"DiagnosticReport\",\"id\":\"n1\",\"conclusion\":\"Cardiomegaly.\"}\n");
  const auto recs = read_all(p);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].id, "n1");
  const auto p2 = d.file("dr.json", "{\n \"resourceType\": \"DiagnosticReport\",\n \"id\": \"j1\",\n \"conclusion\": \"Clear.\"\n}\n");
  const auto recs2 = read_all(p2);
  ASSERT_EQ(recs2.size(), 1u);
  EXPECT_EQ(recs2[0].id, "j1");
}

}  // namespace
}  // namespace radseek::radiology
