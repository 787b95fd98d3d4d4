#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "base/mapped_file.h"

namespace radseek {
namespace {

namespace fs = std::filesystem;

std::string write_file(const std::string& name, const std::vector<uint8_t>& bytes) {
  const fs::path p = fs::temp_directory_path() / ("radseek_mapped_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return p.string();
}

// Both backings give the file's bytes: a size that is not a multiple of the 2 MiB pages (the
// resident copy's last page is partly past the file) and a one-byte file.
TEST(MappedFile, ResidentAndMappedHoldTheSameBytes) {
  for (size_t size : {size_t{1}, (size_t{2} << 20) + 12345}) {
    std::vector<uint8_t> bytes(size);
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
    const std::string path = write_file(std::to_string(size), bytes);
    auto mapped = MappedFile::open(path, FileBacking::kMapped);
    auto resident = MappedFile::open(path, FileBacking::kResident);
    ASSERT_TRUE(mapped.ok()) << mapped.error().message;
    ASSERT_TRUE(resident.ok()) << resident.error().message;
    EXPECT_EQ(mapped->backing(), FileBacking::kMapped);
    EXPECT_EQ(resident->backing(), FileBacking::kResident);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(resident->data()) % (size_t{2} << 20), 0u) << "2 MiB aligned";
    ASSERT_EQ(resident->size(), size);
    ASSERT_EQ(mapped->size(), size);
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), resident->data()));
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), mapped->data()));
    MappedFile moved = std::move(*resident);  // ownership moves with the bytes
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), moved.data()));
    EXPECT_EQ(resident->data(), nullptr);
    fs::remove(path);
  }
}

TEST(MappedFile, EmptyAndMissingFiles) {
  const std::string path = write_file("empty", {});
  for (FileBacking b : {FileBacking::kMapped, FileBacking::kResident}) {
    auto f = MappedFile::open(path, b);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->size(), 0u);
    auto missing = MappedFile::open(path + ".missing", b);
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find(path + ".missing"), std::string::npos) << "names the file";
  }
  fs::remove(path);
}

// A file that would not leave a tenth of the available memory and 512 MiB is mapped instead of read
// (a model larger than RAM must still load).
TEST(MappedFile, ResidentOnlyWhenTheFileFits) {
  constexpr uint64_t kGiB = uint64_t{1} << 30;
  EXPECT_TRUE(resident_fits(3 * kGiB, 20 * kGiB));
  EXPECT_TRUE(resident_fits(17 * kGiB, 20 * kGiB));    // of 20 GiB available, up to 17.5 GiB
  EXPECT_FALSE(resident_fits(18 * kGiB, 20 * kGiB));
  EXPECT_FALSE(resident_fits(700 * kGiB, 512 * kGiB));  // the 671B model on a 512 GiB machine
  EXPECT_FALSE(resident_fits(1, 0));                     // /proc/meminfo unreadable: map
  EXPECT_FALSE(resident_fits(1, 256 << 20));
}

}  // namespace
}  // namespace radseek
