#include "base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace radseek {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// MemAvailable in bytes; 0 when /proc/meminfo cannot be read (then nothing is made resident).
uint64_t mem_available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

// The file's bytes in anonymous memory, 2 MiB aligned and advised for huge pages; null (errno kept
// for the message) when the memory cannot be had, an error when the file cannot be read.
Expected<void*> read_resident(int fd, const std::string& path, size_t size, size_t& region_size) {
  region_size = (size + kHugePage - 1) / kHugePage * kHugePage + kHugePage;  // room to align
  void* region = ::mmap(nullptr, region_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) return static_cast<void*>(nullptr);
  auto* at = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(region) + kHugePage - 1) / kHugePage * kHugePage);
  ::madvise(at, region_size - static_cast<size_t>(at - static_cast<uint8_t*>(region)), MADV_HUGEPAGE);  // advice only
  for (size_t done = 0; done < size;) {
    const ssize_t r = ::pread(fd, at + done, std::min(size - done, size_t{1} << 30), static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const std::string why = r < 0 ? std::strerror(errno) : "file ended early";
      ::munmap(region, region_size);
      return make_error(ErrorCode::kIo, path + ": read failed at byte " + std::to_string(done) + " of " +
                                            std::to_string(size) + ": " + why);
    }
    done += static_cast<size_t>(r);
  }
  ::mprotect(region, region_size, PROT_READ);  // read-only, as the file mapping is
  return static_cast<void*>(region);
}

}  // namespace

bool resident_fits(uint64_t file_bytes, uint64_t available_bytes) {
  const uint64_t keep = available_bytes / 10 + (uint64_t{512} << 20);
  return available_bytes > keep && file_bytes <= available_bytes - keep;
}

Expected<MappedFile> MappedFile::open(const std::string& path, FileBacking backing) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::kIo, path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::kIo, path + ": not a regular file");
  }
  MappedFile f;
  f.path_ = path;
  f.size_ = static_cast<size_t>(st.st_size);
  if (f.size_ > 0 && backing == FileBacking::kResident && resident_fits(f.size_, mem_available_bytes())) {
    auto region = read_resident(fd, path, f.size_, f.region_size_);
    if (!region) {
      ::close(fd);
      return region.error();
    }
    if (*region != nullptr) {
      f.region_ = *region;
      f.data_ = reinterpret_cast<const uint8_t*>((reinterpret_cast<uintptr_t>(*region) + kHugePage - 1) / kHugePage * kHugePage);
      f.backing_ = FileBacking::kResident;
    }
  }
  if (f.size_ > 0 && f.data_ == nullptr) {
    void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return make_error(ErrorCode::kIo, path + ": mmap failed: " + std::strerror(errno));
    }
    f.data_ = static_cast<const uint8_t*>(p);
    f.region_ = p;
    f.region_size_ = f.size_;
  }
  ::close(fd);
  return f;
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : data_(o.data_), size_(o.size_), region_(o.region_), region_size_(o.region_size_), backing_(o.backing_),
      path_(std::move(o.path_)) {
  o.data_ = nullptr;
  o.size_ = 0;
  o.region_ = nullptr;
  o.region_size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    release();
    data_ = o.data_;
    size_ = o.size_;
    region_ = o.region_;
    region_size_ = o.region_size_;
    backing_ = o.backing_;
    path_ = std::move(o.path_);
    o.data_ = nullptr;
    o.size_ = 0;
    o.region_ = nullptr;
    o.region_size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() { release(); }

void MappedFile::release() {
  if (region_) ::munmap(region_, region_size_);
  region_ = nullptr;
  data_ = nullptr;
}

Expected<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error(ErrorCode::kIo, path + ": read failed");
  return ss.str();
}

}  // namespace radseek
