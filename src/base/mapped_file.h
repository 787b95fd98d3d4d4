// A whole file's bytes, read-only: mapped from the page cache, or read once into memory of its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace radseek {

// Where a file's bytes live once opened.
enum class FileBacking {
  // The file's page-cache pages, mapped (4 KiB pages): nothing copied, pages shared with other
  // processes and loaded on first touch.
  kMapped,
  // Read once into anonymous memory advised for 2 MiB transparent huge pages; kMapped instead when
  // the file would not fit in the memory available (resident_fits) or that memory cannot be had, so
  // a model larger than RAM still loads (paged from disk) instead of meeting the OOM killer. Why: decode streams every weight once a token, and on 4 KiB
  // pages the page walks cost time of their own — in a VM two-dimensional ones (V2-Lite-8L, 2 threads,
  // alternating runs: FP8 22.8 → 24.4 tok/s, Q4_K_M 39.9 → 42.2).
  kResident,
};

// Whether a file of `file_bytes` may be read into memory when `available_bytes` are available
// (/proc/meminfo MemAvailable, which counts reclaimable page cache): it must leave a tenth of them
// and 512 MiB for the KV cache, scratch and everything else.
bool resident_fits(uint64_t file_bytes, uint64_t available_bytes);

class MappedFile {
 public:
  static Expected<MappedFile> open(const std::string& path, FileBacking backing = FileBacking::kMapped);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // What open gave (kResident may have fallen back to kMapped).
  FileBacking backing() const { return backing_; }

 private:
  void release();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  void* region_ = nullptr;  // the whole mapping to unmap: data_'s, or the larger anonymous one
  size_t region_size_ = 0;
  FileBacking backing_ = FileBacking::kMapped;
  std::string path_;
};

// Reads a whole (small) text file, e.g. config.json.
Expected<std::string> read_text_file(const std::string& path);

}  // namespace radseek
