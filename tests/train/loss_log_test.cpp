// The training loss log (train/loss_log.h): header and rows, flushed per row, resume keeps the rows up
// to the resumed step and drops later ones, and the CSV reader `radseek plot` uses.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "train/loss_log.h"

namespace radseek::train {
namespace {

std::string temp_file(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() / ("radseek_losslog_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove(p);
  return p.string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LossLog, RowsAreFlushedAndResumeDropsRowsAfterTheSavedStep) {
  const std::string path = temp_file("resume.csv");
  {
    auto log = LossLog::open({.path = path});
    ASSERT_TRUE(log.ok()) << log.error().message;
    for (int64_t s = 1; s <= 3; ++s)
      ASSERT_TRUE(log->write({.step = s, .loss = 5.0 - static_cast<double>(s), .lr = 1e-3, .grad_norm = 0.5}).ok());
    // Readable while the log is still open: every row is flushed.
    EXPECT_EQ(slurp(path), "step,loss,lr,grad_norm\n1,4,0.001,0.5\n2,3,0.001,0.5\n3,2,0.001,0.5\n");
  }
  {
    // The run's last saved state was step 2: step 3's row belongs to the lost part and goes.
    auto log = LossLog::open({.path = path, .resume_after = 2});
    ASSERT_TRUE(log.ok()) << log.error().message;
    ASSERT_TRUE(log->write({.step = 3, .loss = 2.5, .lr = 2e-4, .grad_norm = 0.25}).ok());
  }
  EXPECT_EQ(slurp(path), "step,loss,lr,grad_norm\n1,4,0.001,0.5\n2,3,0.001,0.5\n3,2.5,0.0002,0.25\n");
  // A fresh run overwrites.
  { ASSERT_TRUE(LossLog::open({.path = path}).ok()); }
  EXPECT_EQ(slurp(path), "step,loss,lr,grad_norm\n");
}

TEST(LossLog, MtpColumnAndHeaderMismatchOnResume) {
  const std::string path = temp_file("mtp.csv");
  {
    auto log = LossLog::open({.path = path, .with_mtp = true});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE(log->write({.step = 1, .loss = 3.0, .mtp_loss = 3.5, .lr = 1e-3, .grad_norm = 1.0}).ok());
  }
  EXPECT_EQ(slurp(path), "step,loss,mtp_loss,lr,grad_norm\n1,3,3.5,0.001,1\n");
  auto wrong = LossLog::open({.path = path, .with_mtp = false, .resume_after = 1});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("header"), std::string::npos);
}

TEST(NumericCsv, ColumnsByNameAndErrorsNameTheLine) {
  const std::string path = temp_file("table.csv");
  std::ofstream(path) << "step,loss,lr\n1,4.5,1e-3\n2,,2e-3\n";
  auto t = read_numeric_csv(path);
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto loss = t->column("loss");
  ASSERT_TRUE(loss.ok());
  ASSERT_EQ(loss->size(), 2u);
  EXPECT_EQ((*loss)[0], 4.5);
  EXPECT_TRUE(std::isnan((*loss)[1]));
  auto missing = t->column("mtp_loss");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("step, loss, lr"), std::string::npos);
  std::ofstream(path) << "step,loss\n1,x\n";
  auto bad = read_numeric_csv(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find(":2:"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace radseek::train
