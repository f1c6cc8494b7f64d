// franz fuzz targets — shared helpers: a reader over the fuzz input, a check
// that aborts (libFuzzer saves the input as a crash artifact), and a
// per-process scratch directory for targets that need real files.
//
// Thread-safety: single-threaded, as libFuzzer runs a target.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace franz::fuzz {

[[noreturn]] inline void check_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
  std::abort();
}

}  // namespace franz::fuzz

// An oracle beyond "no crash": aborts (a crash artifact) when cond is false.
#define FUZZ_CHECK(cond)                                                 \
  do {                                                                   \
    if (!(cond)) ::franz::fuzz::check_failed(#cond, __FILE__, __LINE__); \
  } while (0)

namespace franz::fuzz {

// Whether the oracles hold franz to every rule. FRANZ_FUZZ_STRICT=0 turns
// off the checks of the storage bugs listed in fuzz/README.md (all fixed
// now), to keep fuzzing past one of them should it come back.
inline bool strict() {
  static const bool v = [] {
    const char* e = std::getenv("FRANZ_FUZZ_STRICT");
    return e == nullptr || std::string_view(e) != "0";
  }();
  return v;
}

// Consumes the fuzz input front to back. Past the end every read yields
// zeros or empty views, so a target never has to special-case short input.
// Views point into the input (valid for the call of the target).
class input {
 public:
  input(const std::uint8_t* data, std::size_t size) noexcept : p_(reinterpret_cast<const char*>(data)), n_(size) {}

  [[nodiscard]] bool empty() const noexcept { return pos_ >= n_; }
  [[nodiscard]] std::size_t left() const noexcept { return n_ - pos_; }

  // A little-endian integer (zero-filled if the input runs out).
  template <class T>
  [[nodiscard]] T take() noexcept {
    std::byte buf[sizeof(T)]{};
    const std::size_t k = std::min(sizeof(T), left());
    if (k) std::memcpy(buf, p_ + pos_, k);
    pos_ += k;
    T v;
    std::memcpy(&v, buf, sizeof v);
    return v;
  }
  [[nodiscard]] std::uint8_t byte() noexcept { return take<std::uint8_t>(); }

  // Up to n bytes as a string view; never null (an empty view points at "").
  [[nodiscard]] std::string_view str(std::size_t n) noexcept {
    const std::size_t k = std::min(n, left());
    if (k == 0) return std::string_view("", 0);
    std::string_view s(p_ + pos_, k);
    pos_ += k;
    return s;
  }
  [[nodiscard]] std::span<const std::byte> bytes(std::size_t n) noexcept {
    const std::string_view s = str(n);
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
  }
  [[nodiscard]] std::span<const std::byte> rest() noexcept { return bytes(left()); }

 private:
  const char* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
};

// One scratch directory per process: under $FRANZ_FUZZ_TMPDIR, else
// /dev/shm (tmpfs: the targets fsync and mmap on every input), else the
// system temp directory. Removed at exit; a crashing run leaves it behind
// (franz-fuzz-XXXXXX).
class scratch_dir {
 public:
  static scratch_dir& instance() {
    static scratch_dir d;
    return d;
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::string sub(std::string_view name) const { return path_ + "/" + std::string(name); }

  // Removes everything inside (not the directory itself).
  void clear() const {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(path_, ec)) std::filesystem::remove_all(e.path(), ec);
  }

 private:
  scratch_dir() {
    std::string base;
    if (const char* env = std::getenv("FRANZ_FUZZ_TMPDIR"); env && *env)
      base = env;
    else if (::access("/dev/shm", W_OK) == 0)
      base = "/dev/shm";
    else
      base = std::filesystem::temp_directory_path().string();
    std::string tmpl = base + "/franz-fuzz-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("franz fuzz: mkdtemp");
      std::abort();
    }
    path_ = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path_;
};

// Writes bytes to path (created or truncated). Aborts on failure: the
// scratch directory is the harness's, not the code under test's.
inline void write_file(const std::string& path, std::span<const std::byte> bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(path.c_str());
    std::abort();
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w <= 0) {
      std::perror(path.c_str());
      std::abort();
    }
    done += static_cast<std::size_t>(w);
  }
  ::close(fd);
}

// Whether [p, p + n) lies inside [lo, hi).
inline bool inside(const void* p, std::size_t n, const void* lo, const void* hi) noexcept {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  return a >= reinterpret_cast<std::uintptr_t>(lo) && a + n <= reinterpret_cast<std::uintptr_t>(hi) && a + n >= a;
}

}  // namespace franz::fuzz
