// Shared helpers for franz's tests: temporary directories, record builders,
// a reader that collects a whole log, hex test data, REQUIRE_OK and opening
// a broker.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "franz/franz.hpp"
#include "franz/io/fault_fs.hpp"

// Requires a result/status to be ok, printing its error otherwise.
#define REQUIRE_OK(expr)                                                          \
  do {                                                                            \
    const auto& require_ok_ = (expr);                                             \
    INFO((require_ok_.ok() ? std::string() : require_ok_.error().to_string()));   \
    REQUIRE(require_ok_.ok());                                                    \
  } while (0)

namespace franz::test {

// Whether this is an ASan or TSan build (g++ or clang): slow tests run a
// smaller form there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif

// Where tests that open thousands of copies put them: /dev/shm when it is
// there and writable (tmpfs keeps that CPU-bound: every open and close
// fsyncs), else the temporary directory.
inline std::string scratch_base() {
  static const std::string base = [] {
    std::error_code ec;
    if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK | X_OK) == 0)
      return std::string("/dev/shm");
    return std::filesystem::temp_directory_path().string();
  }();
  return base;
}


// A fresh directory under /tmp (or under base), removed (with its
// contents) on scope exit.
class temp_dir {
 public:
  temp_dir() : temp_dir(std::filesystem::temp_directory_path().string()) {}
  explicit temp_dir(const std::string& base) {
    std::string tmpl = base + "/franz-test-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    REQUIRE(p != nullptr);
    path_ = p;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A record whose key and value are owned by the test (record views point
// into these strings).
struct owned_record {
  std::string key, value;
  std::int64_t ts = -1;
  [[nodiscard]] record view() const { return record{.key = key, .value = value, .ts = timestamp{ts}}; }
};

inline owned_record make_record(std::int64_t i, std::size_t value_size = 20, std::int64_t ts = -1) {
  owned_record r;
  r.key = "key-" + std::to_string(i);
  r.value = "value-" + std::to_string(i);
  if (r.value.size() < value_size) r.value.append(value_size - r.value.size(), static_cast<char>('a' + i % 26));
  r.ts = ts;
  return r;
}

// A record as read back, owning its bytes.
struct read_record {
  std::int64_t off;
  std::int64_t ts;
  std::string key, value;
  bool key_null, value_null;
  friend bool operator==(const read_record&, const read_record&) = default;
};

// Reads every record from `from` to the log end, max_bytes per read call.
template <class Log>
std::vector<read_record> read_all(const Log& log, std::int64_t from = -1, std::size_t max_bytes = 1 << 20) {
  std::vector<read_record> out;
  std::int64_t next = from < 0 ? log.log_start_offset().value() : from;
  while (next < log.log_end_offset().value()) {
    auto r = log.read(offset{next}, max_bytes);
    REQUIRE(r.ok());
    REQUIRE(!r->empty());
    auto rr = r->records();
    record_view v;
    while (rr.next(v)) {
      out.push_back({v.off.value(), v.ts.value(), std::string(v.key), std::string(v.value), v.key.data() == nullptr,
                     v.value.data() == nullptr});
      next = v.off.value() + 1;
    }
    REQUIRE(rr.status().ok());
  }
  return out;
}

// Every offset in [from, to) is found: read(o, 1) starts with record o.
template <class Log>
void require_each_offset_found(const Log& log, std::int64_t from, std::int64_t to) {
  for (std::int64_t o = from; o < to; ++o) {
    auto rd = log.read(offset{o}, 1);
    REQUIRE(rd.ok());
    auto rr = rd->records();
    record_view v;
    REQUIRE(rr.next(v));
    REQUIRE(v.off == offset{o});
  }
}

inline std::vector<std::string> list_files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

inline void write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

inline std::uint64_t file_size(const std::string& path) { return std::filesystem::file_size(path); }

inline unsigned file_mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

using fault_log = basic_log<io::fault_fs>;

// Options with config c and clock clk.
inline log_options opts_for(log_config c, const clock* clk = &system_clock::instance()) {
  log_options o;
  o.config = c;
  o.clk = clk;
  return o;
}

// "e8 03 00" -> {0xe8, 0x03, 0x00}. Whitespace is ignored; anything else
// that is not a pair of hex digits is a bug in the test.
inline std::vector<std::byte> from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    FAIL("bad hex digit in test data: " << c);
    return 0;
  };
  std::vector<std::byte> out;
  int hi = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\n') continue;
    const int v = nibble(c);
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::byte>(hi * 16 + v));
      hi = -1;
    }
  }
  REQUIRE(hi < 0);
  return out;
}

// Opens a broker with options o on fs, requiring success.
template <class FS = io::posix_fs>
std::unique_ptr<broker> open_broker(broker_options o, FS& fs = FS::instance()) {
  auto b = broker::open(std::move(o), fs);
  INFO((b.ok() ? std::string() : b.error().to_string()));
  REQUIRE(b.ok());
  return std::move(*b);
}

// A small config that rolls often, for tests.
inline log_config small_config(std::int64_t segment_bytes = 4096) {
  log_config c;
  c.segment_bytes = segment_bytes;
  c.index_interval_bytes = 256;
  c.retention_ms = -1;
  return c;
}

}  // namespace franz::test
