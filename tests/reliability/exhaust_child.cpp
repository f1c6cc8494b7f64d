// franz — exhaust_child: resource exhaustion scenarios that need a process
// of their own (tests/exhaustion_test.cpp runs them).
//
//   exhaust_child enospc DIR        DIR: an 8 MiB tmpfs (the test mounts it)
//   exhaust_child emfile DIR        RLIMIT_NOFILE 64
//   exhaust_child emfile-flush DIR  a flush with no descriptor free
//   exhaust_child efbig DIR         RLIMIT_FSIZE, SIGXFSZ ignored
//   exhaust_child alloc OP DIR [N]  the Nth allocation throws bad_alloc
//   exhaust_child alloc-selftest    is the operator new below in effect?
//
// Rlimits are per process, and the global operator new replaced here must
// not reach franz_tests: hence a child. Each scenario prints what it saw
// ("note: ..." lines carry figures for the report) and ends with "PASS";
// a broken expectation prints "FAIL: ..." and exits 1; a scenario this
// build cannot run prints "SKIP: why" and exits 77. A watchdog alarm
// turns a hang into death by SIGALRM; std::terminate prints the operation
// and allocation it happened in and exits 70.
//
// OP (alloc): open_fresh, reopen, create_topic, send, send_linger, poll,
// commit, commit_first. For
// N = 1, 2, ... the Nth allocation of the operation (counted on the calling
// thread only: background threads are not armed) throws std::bad_alloc,
// once; the call must then succeed, or fail with bad_alloc or a named
// error, and afterwards (disarmed) the same objects or a reopen must work
// and hold exactly the data that was acknowledged.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "franz/franz.hpp"

// --- allocation failure injection -------------------------------------------
//
// Counting is per thread (thread_local: plain TLS, usable at any time), so
// the producer's I/O thread and the maintenance thread are never armed.

namespace alloc {
thread_local bool armed = false;
thread_local std::uint64_t count = 0;    // allocations while armed
thread_local std::uint64_t fail_at = 0;  // the allocation that throws (0: none)

inline void on_alloc() {
  if (armed && ++count == fail_at) throw std::bad_alloc();
}
}  // namespace alloc

void* operator new(std::size_t n) {
  alloc::on_alloc();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  alloc::on_alloc();
  const auto al = static_cast<std::size_t>(a);
  void* p = nullptr;
  if (::posix_memalign(&p, std::max(al, sizeof(void*)), n == 0 ? 1 : n) != 0) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n, std::align_val_t a) { return ::operator new(n, a); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(n);
  } catch (...) {
    return nullptr;
  }
}
// Out of line: inlined into a replaced operator delete, a plain free() makes
// g++ warn that memory from operator new is freed with free (it is: the
// operator new above takes it from malloc).
[[gnu::noinline]] static void release_block(void* p) noexcept { std::free(p); }

void operator delete(void* p) noexcept { release_block(p); }
void operator delete[](void* p) noexcept { release_block(p); }
void operator delete(void* p, std::size_t) noexcept { release_block(p); }
void operator delete[](void* p, std::size_t) noexcept { release_block(p); }
void operator delete(void* p, std::align_val_t) noexcept { release_block(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release_block(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release_block(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { release_block(p); }

namespace {

using namespace std::chrono_literals;
using franz::errc;
using franz::offset;

// UBSan (built with ASan here) checks a vptr by writing the object to a
// pipe: each check needs two free descriptors, and with none it reports
// the object as invalid. Scenarios that use up every descriptor leave it
// those two.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t sanitizer_fds = 2;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
constexpr std::size_t sanitizer_fds = 2;
#else
constexpr std::size_t sanitizer_fds = 0;
#endif
#else
constexpr std::size_t sanitizer_fds = 0;
#endif

// Opens descriptors until EMFILE, then gives sanitizer_fds back.
std::vector<int> hog_descriptors() {
  std::vector<int> hogs;
  for (int fd; (fd = ::dup(0)) >= 0;) hogs.push_back(fd);
  const int e = errno;
  for (std::size_t i = 0; i < sanitizer_fds && !hogs.empty(); ++i) {
    ::close(hogs.back());
    hogs.pop_back();
  }
  errno = e;
  return hogs;
}

// --- reporting --------------------------------------------------------------

std::string current_op = "setup";
std::uint64_t current_n = 0;

[[noreturn]] void fail_at(int line, const char* cond, const std::string& msg) {
  alloc::armed = false;
  std::printf("FAIL: exhaust_child.cpp:%d: %s: %s [op %s, allocation %llu]\n", line, cond, msg.c_str(),
              current_op.c_str(), static_cast<unsigned long long>(current_n));
  std::fflush(stdout);
  std::_Exit(1);
}

#define EXPECT(cond, ...)                                            \
  do {                                                               \
    if (!(cond)) fail_at(__LINE__, #cond, fmt::format(__VA_ARGS__)); \
  } while (0)

// Requires r.ok(), printing its error otherwise.
// Evaluates r once (a second close() would report success).
#define EXPECT_OK(r, what)                                                                 \
  do {                                                                                     \
    const auto& expect_ok_r_ = (r);                                                        \
    EXPECT(expect_ok_r_.ok(), "{}: {}", what, expect_ok_r_.ok() ? "" : expect_ok_r_.error().to_string()); \
  } while (0)

void note(const std::string& s) {
  std::printf("note: %s\n", s.c_str());
  std::fflush(stdout);
}

void on_terminate() {
  alloc::armed = false;
  std::string what = "no exception";
  if (auto e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
      what = "unknown exception";
    }
  }
  std::printf("FAIL: std::terminate (%s) [op %s, allocation %llu]\n", what.c_str(), current_op.c_str(),
              static_cast<unsigned long long>(current_n));
  std::fflush(stdout);
  std::_Exit(70);
}

// --- helpers ----------------------------------------------------------------

int fd_count() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n - 1;  // the directory stream's own descriptor
}

void set_limit(int resource, rlim_t soft) {
  rlimit r{};
  EXPECT(::getrlimit(resource, &r) == 0, "getrlimit: {}", std::strerror(errno));
  r.rlim_cur = soft;
  EXPECT(::setrlimit(resource, &r) == 0, "setrlimit: {}", std::strerror(errno));
}
void restore_limit(int resource) {
  rlimit r{};
  EXPECT(::getrlimit(resource, &r) == 0, "getrlimit: {}", std::strerror(errno));
  r.rlim_cur = r.rlim_max;
  EXPECT(::setrlimit(resource, &r) == 0, "setrlimit: {}", std::strerror(errno));
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

// A stored record, as read back.
struct stored {
  std::int64_t off = 0;
  std::string key, value;
  friend bool operator==(const stored&, const stored&) = default;
};

// Every record of a log from its start, each checksum verified; offsets
// must be dense.
template <class Log>
std::vector<stored> read_all(const Log& log) {
  std::vector<stored> out;
  std::int64_t next = log.log_start_offset().value();
  const std::int64_t end = log.log_end_offset().value();
  while (next < end) {
    auto r = log.read(offset{next}, 1 << 20, std::nullopt, true);
    EXPECT_OK(r, fmt::format("read at {}", next));
    EXPECT(!r->empty(), "empty read at {} below the end {}", next, end);
    auto rr = r->records();
    franz::record_view v;
    while (rr.next(v)) {
      EXPECT(v.off.value() == next, "offset {} where {} was expected", v.off.value(), next);
      out.push_back({next, std::string(v.key), std::string(v.value)});
      ++next;
    }
    EXPECT(rr.status().ok(), "{}", rr.status().ok() ? "" : rr.status().error().to_string());
  }
  return out;
}

std::vector<stored> read_partition(franz::broker& b, std::string_view topic, std::int32_t p) {
  auto part = b.find_partition(topic, p);
  EXPECT_OK(part, fmt::format("find_partition {}-{}", topic, p));
  return read_all((*part)->log());
}

std::string value_of(std::uint64_t i, std::size_t size) {
  std::string v = fmt::format("v{}-", i);
  while (v.size() < size) v.push_back(static_cast<char>('a' + (i + v.size()) % 26));
  return v;
}

std::unique_ptr<franz::broker> open_broker(const std::string& dir, std::int64_t segment_bytes = 1 << 20) {
  franz::broker_options o;
  o.data_dir = dir;
  o.log_defaults.segment_bytes = segment_bytes;
  o.log_defaults.retention_ms = -1;
  o.background_maintenance = false;
  auto b = franz::broker::open(o);
  EXPECT_OK(b, "broker open " + dir);
  return std::move(*b);
}

std::unique_ptr<franz::producer> make_producer(franz::broker& b, franz::ack acks) {
  franz::producer_config pc;
  pc.acks = acks;
  pc.linger_ms = 0;
  auto p = franz::producer::create(b, pc);
  EXPECT_OK(p, "producer");
  return std::move(*p);
}

// What a sequence of sends produced: the acknowledged records per
// partition, and the errors of the others.
struct send_log {
  std::map<std::int32_t, std::vector<stored>> acked;
  std::vector<franz::error> failed;
  std::uint64_t next = 0;  // the next record number
};

// Sends records of `size` bytes round-robin over `partitions` until `stop`
// consecutive sends failed (or `limit` sends). Each send is waited for.
void send_until_failing(franz::producer& p, std::string_view topic, std::int32_t partitions, std::size_t size,
                        send_log& log, int stop, int limit = 200000) {
  int consecutive = 0;
  for (int i = 0; i < limit && consecutive < stop; ++i) {
    const std::uint64_t n = log.next++;
    const auto part = static_cast<std::int32_t>(n % static_cast<std::uint64_t>(partitions));
    const std::string key = fmt::format("k{}", n);
    const std::string value = value_of(n, size);
    auto md = p.send_future({.topic = topic, .partition = part, .key = key, .value = value}).get();
    if (md.ok()) {
      consecutive = 0;
      log.acked[part].push_back({md->off.value(), key, value});
    } else {
      ++consecutive;
      log.failed.push_back(md.error());
    }
  }
}

void expect_exactly(franz::broker& b, std::string_view topic, std::int32_t partitions, const send_log& log,
                    const char* when) {
  for (std::int32_t p = 0; p < partitions; ++p) {
    const auto got = read_partition(b, topic, p);
    auto it = log.acked.find(p);
    const std::vector<stored> want = it == log.acked.end() ? std::vector<stored>{} : it->second;
    // Only acknowledged records, all of them, nothing partial or extra.
    EXPECT(got == want, "{}: {}-{} holds {} records, {} were acknowledged", when, topic, p, got.size(), want.size());
  }
}

// --- ENOSPC -------------------------------------------------------------------
//
// DIR is a small tmpfs. franz preallocates segments and indexes with
// fallocate and stores small batches through the mapping: a full disk must
// surface as OUT_OF_SPACE from fallocate, never as SIGBUS on a store.

// Fills what is left of the file system with `path` (written with write(2)
// until ENOSPC). Returns the bytes written.
std::uint64_t fill_rest(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  EXPECT(fd >= 0, "open {}: {}", path, std::strerror(errno));
  std::string chunk(4096, 'z');
  std::uint64_t n = 0;
  for (;;) {
    const ssize_t w = ::write(fd, chunk.data(), chunk.size());
    if (w <= 0) break;
    n += static_cast<std::uint64_t>(w);
  }
  ::close(fd);
  return n;
}

void expect_full_errors(const send_log& log, const char* when) {
  EXPECT(!log.failed.empty(), "{}: the disk never filled up", when);
  for (const auto& e : log.failed)
    EXPECT(e.code == errc::out_of_space && e.sys_errno == ENOSPC, "{}: a send failed with {}, not OUT_OF_SPACE",
           when, e.to_string());
}

int run_enospc(const std::string& dir) {
  const std::string data = dir + "/data";
  const std::string filler = dir + "/filler";
  {
    std::string bytes(std::size_t{1} << 20, 'f');
    const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT(fd >= 0 && ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()), "{}: {}",
           filler, std::strerror(errno));
    ::close(fd);
  }
  constexpr std::int32_t parts = 2;
  send_log sent;
  offset end0;  // where delete_records moves fill-0's start
  {
    auto b = open_broker(data);
    EXPECT_OK(b->create_topic("fill", parts), "create_topic");
    auto p = make_producer(*b, franz::ack::all);
    // Fill the disk through the producer; small records are stored through
    // the mapping, so a missing preallocation would be a SIGBUS here.
    send_until_failing(*p, "fill", parts, 1000, sent, 20);
    expect_full_errors(sent, "filling");
    note(fmt::format("ENOSPC: {} records acknowledged before the 8 MiB tmpfs filled, {} sends failed with "
                     "OUT_OF_SPACE",
                     sent.acked[0].size() + sent.acked[1].size(), sent.failed.size()));
    for (std::int32_t i = 0; i < parts; ++i) {
      auto part = b->find_partition("fill", i);
      EXPECT_OK(part, "find_partition");
      EXPECT(!(*part)->log().offline(), "a full disk took fill-{} offline", i);
    }
    expect_exactly(*b, "fill", parts, sent, "full disk");
    EXPECT_OK(p->close(), "producer close on a full disk");
    EXPECT_OK(b->close(), "broker close on a full disk");
  }
  // Reopen on the full disk: nothing partial, nothing unacknowledged.
  sent.failed.clear();
  {
    auto b = open_broker(data);
    expect_exactly(*b, "fill", parts, sent, "reopened on a full disk");
    auto p = make_producer(*b, franz::ack::all);
    // Closing trimmed the preallocated tails: fill again what that freed.
    send_until_failing(*p, "fill", parts, 1000, sent, 20);
    expect_full_errors(sent, "refilling");
    sent.failed.clear();
    // Space is freed: appends resume until it is used up again (a segment
    // grows in 1 MiB fallocate chunks, then by exactly what a batch needs).
    EXPECT(::unlink(filler.c_str()) == 0, "unlink filler");
    const std::size_t before_free = sent.acked[0].size() + sent.acked[1].size();
    send_until_failing(*p, "fill", parts, 1000, sent, 1, 1);
    EXPECT(sent.failed.empty(), "the first send after 1 MiB was freed failed: {}", sent.failed.front().to_string());
    send_until_failing(*p, "fill", parts, 1000, sent, 20);
    const std::size_t resumed = sent.acked[0].size() + sent.acked[1].size() - before_free;
    expect_full_errors(sent, "after freeing");
    note(fmt::format("ENOSPC: after 1 MiB was freed {} more records were acknowledged", resumed));
    sent.failed.clear();
    const std::uint64_t rest = fill_rest(filler);
    note(fmt::format("ENOSPC: {} bytes were still free after OUT_OF_SPACE", rest));
    struct statvfs vfs {};
    EXPECT(::statvfs(dir.c_str(), &vfs) == 0 && vfs.f_bavail == 0, "{} blocks still free: the disk is not full",
           vfs.f_bavail);
    // delete_records is how franz frees space, so it must work on a disk
    // with no free page even for its checkpoint's .tmp: it deletes the
    // segments below the new start first (and syncs that), then persists it.
    auto part = b->find_partition("fill", 0);
    EXPECT_OK(part, "find_partition");
    const std::size_t sealed = (*part)->log().segments().size() - 1;
    EXPECT(sealed >= 1, "fill-0 has no sealed segment to delete");
    end0 = (*part)->log().log_end_offset();
    auto del = b->delete_records("fill", 0, end0);
    EXPECT_OK(del, "delete_records on a disk with no free byte");
    EXPECT(del->value() == end0.value(), "delete_records returned {}, not {}", del->value(), end0.value());
    note(fmt::format("ENOSPC: delete_records on a disk with no free byte deleted {} sealed segments and moved the "
                     "start to {}",
                     sealed, end0.value()));
    sent.acked[0].clear();  // below the new log start
    sent.failed.clear();
    send_until_failing(*p, "fill", parts, 1000, sent, 1, 200);
    EXPECT(sent.failed.empty(), "after delete_records freed space a send failed: {}",
           sent.failed.front().to_string());
    EXPECT_OK(p->close(), "producer close");
    EXPECT_OK(b->close(), "broker close");
  }
  {
    auto b = open_broker(data);
    expect_exactly(*b, "fill", parts, sent, "final reopen");
    auto part = b->find_partition("fill", 0);
    EXPECT_OK(part, "find_partition");
    EXPECT((*part)->log().log_start_offset() == end0, "the log start went back from {} to {} after a reopen",
           end0.value(), (*part)->log().log_start_offset().value());
  }

  // The storage layer directly, with batches large enough to be stored
  // with pwrite into the reserved space (not through the mapping).
  EXPECT(::unlink(filler.c_str()) == 0, "unlink filler");
  std::filesystem::remove_all(data);
  const std::string ldir = dir + "/log";
  franz::log_options o;
  o.config.segment_bytes = 1 << 20;
  o.config.retention_ms = -1;
  std::vector<stored> acked;
  std::optional<franz::error> full;
  {
    auto l = franz::log::open(ldir, o);
    EXPECT_OK(l, "log open");
    std::uint64_t n = 0;
    while (!full && n < 100000) {
      std::vector<std::string> keys, values;
      std::vector<franz::record> recs;
      for (int i = 0; i < 4; ++i, ++n) {
        keys.push_back(fmt::format("k{}", n));
        values.push_back(value_of(n, 3000));
      }
      for (std::size_t i = 0; i < keys.size(); ++i) recs.push_back({.key = keys[i], .value = values[i]});
      const auto end_before = (*l)->log_end_offset();
      auto info = (*l)->append(recs);
      if (!info.ok()) {
        full = info.error();
        EXPECT((*l)->log_end_offset() == end_before, "a failed append moved the log end");
        break;
      }
      for (std::size_t i = 0; i < keys.size(); ++i)
        acked.push_back({info->base_offset.value() + static_cast<std::int64_t>(i), keys[i], values[i]});
    }
    EXPECT(full.has_value(), "the disk never filled up");
    EXPECT(full->code == errc::out_of_space && full->sys_errno == ENOSPC, "append failed with {}",
           full->to_string());
    EXPECT(!(*l)->offline(), "a full disk took the log offline");
    EXPECT(read_all(**l) == acked, "the log holds other records than those appended");
    EXPECT_OK((*l)->close(), "log close on a full disk");
  }
  {
    auto l = franz::log::open(ldir, o);
    EXPECT_OK(l, "log reopen on a full disk");
    EXPECT(read_all(**l) == acked, "after a reopen the log holds other records than those appended");
    note(fmt::format("ENOSPC (pwrite path): {} records of 3000 bytes appended, then {}", acked.size(),
                     full->to_string()));
  }
  std::printf("PASS\n");
  return 0;
}

// --- EMFILE -------------------------------------------------------------------

void expect_emfile(const franz::status& s, const char* what) {
  EXPECT(!s.ok(), "{} succeeded at the descriptor limit", what);
  // errno_error maps EMFILE to KAFKA_STORAGE_ERROR (error.hpp has no code
  // of its own for it); the errno and the message name the cause.
  EXPECT(s.error().sys_errno == EMFILE && s.code() == errc::kafka_storage_error,
         "{} failed with {} (errno {}), not KAFKA_STORAGE_ERROR/EMFILE", what, s.error().to_string(),
         s.error().sys_errno);
}

bool has_entry_prefix(const std::string& dir, const std::string& prefix) {
  for (const auto& e : entries(dir))
    if (e.rfind(prefix, 0) == 0) return true;
  return false;
}

int run_emfile(const std::string& dir) {
  const std::string data = dir + "/data";
  constexpr rlim_t limit = 64;
  std::map<std::string, send_log> per_topic;
  int created = 0;
  int at_start = 0;
  {
    auto b = open_broker(data, 65536);
    auto p = make_producer(*b, franz::ack::leader);
    at_start = fd_count();
    set_limit(RLIMIT_NOFILE, limit);
    // 1. A topic of 100 partitions cannot be opened under 64 descriptors:
    //    a clean error, nothing left behind, and the count of open
    //    descriptors back where it was — every time.
    for (int attempt = 0; attempt < 3; ++attempt) {
      const int before = fd_count();
      auto s = b->create_topic("wide", 100);
      expect_emfile(s, "create_topic(wide, 100)");
      if (attempt == 0) note("EMFILE: create_topic(wide, 100) under RLIMIT_NOFILE 64: " + s.error().to_string());
      EXPECT(fd_count() == before, "attempt {}: {} descriptors open after the failure, {} before", attempt,
             fd_count(), before);
      EXPECT(!b->find_topic("wide").ok(), "a failed create left the topic listed");
      EXPECT(!has_entry_prefix(data, "wide-"), "a failed create left partition directories");
    }
    // 2. Topics of 3 partitions until the descriptors run out: the failing
    //    one is absent and costs no descriptor; the others keep working.
    for (;;) {
      const std::string name = fmt::format("t{}", created);
      const int before = fd_count();
      auto s = b->create_topic(name, 3);
      if (!s.ok()) {
        expect_emfile(s, "create_topic at the limit");
        EXPECT(fd_count() == before, "{} descriptors open after the failed create, {} before", fd_count(), before);
        EXPECT(!b->find_topic(name).ok(), "the failed topic is listed");
        EXPECT(!has_entry_prefix(data, name + "-"), "the failed topic left partition directories");
        break;
      }
      ++created;
      EXPECT(created < 40, "64 descriptors never ran out");
    }
    EXPECT(created >= 1, "not even one topic of 3 partitions fit in 64 descriptors");
    note(fmt::format("EMFILE: {} topics of 3 partitions fit under RLIMIT_NOFILE 64 ({} descriptors at the start)",
                     created, at_start));
    for (int t = 0; t < created; ++t) {
      auto& log = per_topic[fmt::format("t{}", t)];
      send_until_failing(*p, fmt::format("t{}", t), 3, 100, log, 1, 6);
      EXPECT(log.failed.empty(), "t{}: a send failed: {}", t, log.failed.front().to_string());
    }
    // 3. No descriptor left at all: appends that need none work; one that
    //    must roll a segment (three new files) fails cleanly, and works once
    //    descriptors are free again.
    std::vector<int> hogs = hog_descriptors();
    EXPECT(errno == EMFILE, "dup stopped with {}", std::strerror(errno));
    {
      auto& log = per_topic["t0"];
      send_until_failing(*p, "t0", 3, 100, log, 1, 3);
      EXPECT(log.failed.empty(), "an append needing no descriptor failed: {}", log.failed.front().to_string());
      // 65536-byte segments: 40 records of 2000 bytes need a roll.
      log.next = 3000;  // record numbers apart from the small ones
      std::optional<franz::error> roll_err;
      for (int i = 0; i < 40 && !roll_err; ++i) {
        const std::uint64_t n = log.next++;
        const std::string key = fmt::format("k{}", n), value = value_of(n, 2000);
        auto md = p->send_future({.topic = "t0", .partition = 0, .key = key, .value = value}).get();
        if (md.ok()) log.acked[0].push_back({md->off.value(), key, value});
        else roll_err = md.error();
      }
      EXPECT(roll_err.has_value(), "40 records of 2000 bytes never needed a segment roll");
      expect_emfile(franz::status(*roll_err), "an append that rolls with no descriptor free");
      note("EMFILE: a roll with no descriptor free: " + roll_err->to_string());
      auto part = b->find_partition("t0", 0);
      EXPECT_OK(part, "find_partition");
      EXPECT(!(*part)->log().offline(), "EMFILE during a roll took the log offline");
      for (int fd : hogs) ::close(fd);
      hogs.clear();
      const std::uint64_t n = log.next++;
      const std::string key = fmt::format("k{}", n), value = value_of(n, 2000);
      auto md = p->send_future({.topic = "t0", .partition = 0, .key = key, .value = value}).get();
      EXPECT_OK(md, "the append after descriptors were freed");
      log.acked[0].push_back({md->off.value(), key, value});
    }
    for (auto& [name, log] : per_topic) expect_exactly(*b, name, 3, log, "at the limit");
    EXPECT_OK(p->close(), "producer close");
    EXPECT_OK(b->close(), "broker close");
  }
  EXPECT(fd_count() <= at_start, "{} descriptors open after the broker closed, {} before it opened", fd_count(),
         at_start);
  // 4. Reopening needs as many descriptors as the partitions have files:
  //    under a tighter limit the open fails cleanly and leaks nothing.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int before = fd_count();
    set_limit(RLIMIT_NOFILE, static_cast<rlim_t>(before + 12));
    franz::broker_options o;
    o.data_dir = data;
    o.background_maintenance = false;
    auto b = franz::broker::open(o);
    expect_emfile(b.ok() ? franz::status() : franz::status(b.error()), "broker open at the limit");
    if (attempt == 0) note("EMFILE: broker open with 12 descriptors to spare: " + b.error().to_string());
    EXPECT(fd_count() == before, "{} descriptors open after the failed open, {} before", fd_count(), before);
  }
  // 5. Without the limit everything is there: the topics that were
  //    created, whole, and none of the failed ones.
  restore_limit(RLIMIT_NOFILE);
  {
    auto b = open_broker(data, 65536);
    EXPECT(!b->find_topic("wide").ok(), "the failed 100-partition topic exists after a reopen");
    EXPECT(!b->find_topic(fmt::format("t{}", created)).ok(), "the failed topic exists after a reopen");
    EXPECT(b->list_topics().size() == static_cast<std::size_t>(created), "{} topics after the reopen, {} created",
           b->list_topics().size(), created);
    for (auto& [name, log] : per_topic) expect_exactly(*b, name, 3, log, "after the reopen");
  }
  std::printf("PASS\n");
  return 0;
}

// A flush needs no new descriptor for the data (the segment files are
// open), but the first flush after a segment was created also syncs the
// partition directory, which it must open.
int run_emfile_flush(const std::string& dir) {
  if (sanitizer_fds > 0) {
    // One free descriptor is all the directory fsync needs.
    std::printf("SKIP: UBSan needs free descriptors of its own; this case needs none free\n");
    return 77;
  }
  const std::string data = dir + "/data";
  auto b = open_broker(data, 65536);
  EXPECT_OK(b->create_topic("f", 1), "create_topic");
  auto p = make_producer(*b, franz::ack::all);
  send_log sent;
  set_limit(RLIMIT_NOFILE, 64);
  std::vector<int> hogs = hog_descriptors();
  EXPECT(errno == EMFILE, "dup stopped with {}", std::strerror(errno));
  send_until_failing(*p, "f", 1, 100, sent, 1, 1);
  for (int fd : hogs) ::close(fd);
  restore_limit(RLIMIT_NOFILE);
  auto part = b->find_partition("f", 0);
  EXPECT_OK(part, "find_partition");
  const bool offline = (*part)->log().offline();
  if (!sent.failed.empty()) {
    note("EMFILE: an acks=all send with no descriptor free: " + sent.failed.front().to_string() +
         (offline ? "; the log is now offline" : ""));
    expect_emfile(franz::status(sent.failed.front()), "the fsync at the limit");
  }
  // Nothing failed but an open(): the log must not be poisoned, or every
  // later write fails with LOG_OFFLINE until the broker is reopened.
  EXPECT(!offline, "a flush at the descriptor limit took f-0 offline");
  sent.failed.clear();
  send_until_failing(*p, "f", 1, 100, sent, 1, 3);
  EXPECT(sent.failed.empty(), "a send after descriptors were freed failed: {}", sent.failed.front().to_string());
  std::printf("PASS\n");
  return 0;
}

// --- EFBIG --------------------------------------------------------------------

int run_efbig(const std::string& dir) {
  // The default action of SIGXFSZ kills the process; a server that sets
  // RLIMIT_FSIZE ignores it and gets EFBIG instead.
  ::signal(SIGXFSZ, SIG_IGN);
  constexpr rlim_t limit = 1536 << 10;  // 1.5 MiB
  franz::log_options o;
  o.config.segment_bytes = 8 << 20;
  o.config.retention_ms = -1;
  const std::string ldir = dir + "/log";
  std::vector<stored> acked;
  std::uint64_t n = 0;
  auto append_until_full = [&](franz::log& l, std::size_t value_size) -> franz::error {
    for (int guard = 0; guard < 100000; ++guard) {
      std::vector<std::string> keys, values;
      std::vector<franz::record> recs;
      for (int i = 0; i < 8; ++i, ++n) {
        keys.push_back(fmt::format("k{}", n));
        values.push_back(value_of(n, value_size));
      }
      for (std::size_t i = 0; i < keys.size(); ++i) recs.push_back({.key = keys[i], .value = values[i]});
      const auto end_before = l.log_end_offset();
      auto info = l.append(recs);
      if (!info.ok()) {
        EXPECT(l.log_end_offset() == end_before, "a failed append moved the log end");
        return info.error();
      }
      for (std::size_t i = 0; i < keys.size(); ++i)
        acked.push_back({info->base_offset.value() + static_cast<std::int64_t>(i), keys[i], values[i]});
    }
    fail_at(__LINE__, "append_until_full", "RLIMIT_FSIZE was never reached");
  };
  {
    auto l = franz::log::open(ldir, o);
    EXPECT_OK(l, "log open");
    set_limit(RLIMIT_FSIZE, limit);
    const franz::error e = append_until_full(**l, 200);
    EXPECT(e.code == errc::out_of_space && e.sys_errno == EFBIG, "append failed with {}", e.to_string());
    EXPECT(!(*l)->offline(), "EFBIG took the log offline");
    const auto size = (*l)->size_bytes();
    note(fmt::format("EFBIG: RLIMIT_FSIZE {} bytes: {} bytes of batches appended, then {}", limit, size,
                     e.to_string()));
    // A batch large enough for the pwrite path fails the same way.
    const franz::error big = append_until_full(**l, 4000);
    EXPECT(big.code == errc::out_of_space && big.sys_errno == EFBIG, "large append failed with {}", big.to_string());
    EXPECT(read_all(**l) == acked, "the log holds other records than those appended");
    // The limit is lifted: appends resume on the same log.
    restore_limit(RLIMIT_FSIZE);
    std::vector<std::string> keys{fmt::format("k{}", n)}, values{value_of(n, 200)};
    ++n;
    auto info = (*l)->append(franz::record{.key = keys[0], .value = values[0]});
    EXPECT_OK(info, "append after the limit was lifted");
    acked.push_back({info->base_offset.value(), keys[0], values[0]});
    EXPECT_OK((*l)->close(), "log close");
  }
  {
    auto l = franz::log::open(ldir, o);
    EXPECT_OK(l, "log reopen");
    EXPECT(read_all(**l) == acked, "after a reopen the log holds other records than those appended");
  }
  // A limit below the first preallocation chunk (1 MiB): not one record
  // fits, though one would — still a clean error, nothing written.
  {
    const std::string small = dir + "/small";
    auto l = franz::log::open(small, o);
    EXPECT_OK(l, "log open");
    set_limit(RLIMIT_FSIZE, 256 << 10);
    auto info = (*l)->append(franz::record{.key = "k", .value = "v"});
    if (info.ok()) {
      note("EFBIG: RLIMIT_FSIZE 256 KiB: a small record was appended");
    } else {
      EXPECT(info.code() == errc::out_of_space && info.error().sys_errno == EFBIG, "append failed with {}",
             info.error().to_string());
      note("EFBIG: RLIMIT_FSIZE 256 KiB: even a 2-byte record fails (" + info.error().to_string() + ")");
      EXPECT((*l)->log_end_offset() == offset{0}, "a failed append moved the log end");
    }
    restore_limit(RLIMIT_FSIZE);
  }
  // Through the producer: the report carries the error, nothing is acked.
  {
    const std::string data = dir + "/data";
    send_log sent;
    auto b = open_broker(data, 8 << 20);
    EXPECT_OK(b->create_topic("big", 1), "create_topic");
    auto p = make_producer(*b, franz::ack::all);
    set_limit(RLIMIT_FSIZE, limit);
    send_until_failing(*p, "big", 1, 1000, sent, 5);
    EXPECT(!sent.failed.empty(), "RLIMIT_FSIZE was never reached");
    for (const auto& e : sent.failed)
      EXPECT(e.code == errc::out_of_space && e.sys_errno == EFBIG, "a send failed with {}", e.to_string());
    expect_exactly(*b, "big", 1, sent, "at the limit");
    restore_limit(RLIMIT_FSIZE);
    sent.failed.clear();
    send_until_failing(*p, "big", 1, 1000, sent, 1, 10);
    EXPECT(sent.failed.empty(), "a send failed after the limit was lifted: {}", sent.failed.front().to_string());
    EXPECT_OK(p->close(), "producer close");
    EXPECT_OK(b->close(), "broker close");
    auto again = open_broker(data, 8 << 20);
    expect_exactly(*again, "big", 1, sent, "after the reopen");
  }
  std::printf("PASS\n");
  return 0;
}

// --- allocation failure -----------------------------------------------------

struct outcome {
  bool threw = false;        // bad_alloc came out
  bool completed = false;    // the armed run never reached allocation N
};

// Runs f with the Nth allocation of this thread throwing bad_alloc.
template <class F>
outcome armed_run(std::uint64_t n, F&& f) {
  outcome o;
  alloc::count = 0;
  alloc::fail_at = n;
  alloc::armed = true;
  try {
    f();
  } catch (const std::bad_alloc&) {
    o.threw = true;
  }
  alloc::armed = false;
  o.completed = alloc::count < n;
  return o;
}

// Runs op(N) for N = from, from + 1, ... until a run no longer reaches its
// Nth allocation. Returns the number of runs. same_fds: op(N) ends with as
// many descriptors open as it started with (a failure leaks none).
std::uint64_t for_each_allocation(const std::string& name, std::uint64_t from,
                                  const std::function<bool(std::uint64_t)>& op, bool same_fds = false) {
  current_op = name;
  std::uint64_t runs = 0, threw = 0;
  for (std::uint64_t n = from;; ++n) {
    current_n = n;
    const int fds = fd_count();
    const bool reached = op(n);
    if (same_fds) EXPECT(fd_count() == fds, "{} descriptors open after the run, {} before", fd_count(), fds);
    ++runs;
    if (!reached) break;
    ++threw;
    EXPECT(n < from + 100000, "more than 100000 allocations");
  }
  note(fmt::format("alloc {}: {} allocations failed one at a time (from {})", name, threw, from));
  return runs;
}

// A data directory with topic "a" (2 partitions, 10 records each) and a
// group "g" with a committed offset for a-0.
std::map<std::int32_t, std::vector<stored>> prepare(const std::string& data) {
  std::map<std::int32_t, std::vector<stored>> recs;
  auto b = open_broker(data, 4096);
  EXPECT_OK(b->create_topic("a", 2), "create_topic");
  auto p = make_producer(*b, franz::ack::all);
  for (std::uint64_t i = 0; i < 20; ++i) {
    const auto part = static_cast<std::int32_t>(i % 2);
    const std::string key = fmt::format("k{}", i), value = value_of(i, 300);
    auto md = p->send_future({.topic = "a", .partition = part, .key = key, .value = value}).get();
    EXPECT_OK(md, "send");
    recs[part].push_back({md->off.value(), key, value});
  }
  EXPECT_OK(p->close(), "producer close");
  franz::consumer_config cc;
  cc.group_id = "g";
  cc.enable_auto_commit = false;
  auto c = franz::consumer::create(*b, cc);
  EXPECT_OK(c, "consumer");
  EXPECT_OK((*c)->assign({{"a", 0}}), "assign");
  EXPECT_OK((*c)->commit_sync({{{"a", 0}, {offset{5}, "m"}}}), "commit");
  EXPECT_OK((*c)->close(), "consumer close");
  EXPECT_OK(b->close(), "broker close");
  return recs;
}

void expect_prepared(franz::broker& b, const std::map<std::int32_t, std::vector<stored>>& recs, const char* when) {
  for (const auto& [part, want] : recs)
    EXPECT(read_partition(b, "a", part) == want, "{}: a-{} changed", when, part);
  franz::consumer_config cc;
  cc.group_id = "g";
  auto c = franz::consumer::create(b, cc);
  EXPECT_OK(c, "consumer");
  auto got = (*c)->committed({{"a", 0}});
  EXPECT_OK(got, "committed");
  const auto& oam = got->at({"a", 0});
  EXPECT(oam && oam->off == offset{5}, "{}: the committed offset changed", when);
}

franz::broker_options opts_for(const std::string& data) {
  franz::broker_options o;
  o.data_dir = data;
  o.log_defaults.segment_bytes = 4096;
  o.log_defaults.retention_ms = -1;
  o.background_maintenance = false;
  return o;
}

// Named error, or success: anything else (code none with a failure) is a bug.
void expect_named(const franz::error& e, const char* what) {
  EXPECT(e.code != errc::none, "{} failed without a code: {}", what, e.message);
}

// send + flush with a new producer each time (its first send builds its
// topic cache and accumulator). linger 0: send appends; linger_flush: the
// batch waits, and flush appends it on the calling thread. buffer.memory
// holds one batch: a failure that leaked its reservation would block the
// next send (REQUEST_TIMED_OUT after max.block.ms).
void alloc_send(const std::string& dir, std::uint64_t from, bool linger_flush) {
  const std::string op = linger_flush ? "send_linger" : "send";
  const std::string data = dir + "/data";
  auto b = open_broker(data, 4096);
  EXPECT_OK(b->create_topic("s", 1), "create_topic");
  std::mutex mu;
  std::map<std::uint64_t, franz::result<franz::record_metadata>> reports;
  std::map<std::uint64_t, int> report_count;
  std::set<std::uint64_t> accepted, maybe;  // send returned ok / threw
  auto send_one = [&](franz::producer& p, std::uint64_t i) {
    const std::string key = fmt::format("k{}", i), value = value_of(i, 100);
    return p.send({.topic = "s", .partition = 0, .key = key, .value = value},
                  [&, i](const franz::result<franz::record_metadata>& md) {
                    std::lock_guard g(mu);
                    reports.insert_or_assign(i, md);
                    ++report_count[i];
                  });
  };
  std::uint64_t next_extra = 1000000;
  const std::uint64_t runs = for_each_allocation(op, from, [&](std::uint64_t n) {
    franz::producer_config pc;
    pc.acks = franz::ack::all;
    pc.linger_ms = linger_flush ? 100000 : 0;
    pc.batch_size = 1024;
    pc.buffer_memory = 1024;
    pc.max_block_ms = 2000;
    auto p = franz::producer::create(*b, pc);
    EXPECT_OK(p, "producer");
    franz::status s, f;
    bool returned = false;  // send returned (flush may still throw)
    const auto o = armed_run(n, [&] {
      s = send_one(**p, n);
      returned = true;
      f = (*p)->flush();
    });
    if (!returned) maybe.insert(n);
    else if (s.ok()) accepted.insert(n);
    else expect_named(s.error(), "send");
    if (!o.threw && !f.ok()) expect_named(f.error(), "flush");
    EXPECT_OK((*p)->flush(), "flush after the failure");
    // The producer keeps working, within its one-batch buffer.memory.
    for (int i = 0; i < 3; ++i) {
      const std::uint64_t x = next_extra++;
      EXPECT_OK(send_one(**p, x), "a send after the failure");
      accepted.insert(x);
      EXPECT_OK((*p)->flush(), "flush");
    }
    EXPECT_OK((*p)->close(), "producer close");
    return !o.completed;
  });
  {
    std::lock_guard g(mu);
    for (const auto i : accepted) {
      EXPECT(report_count[i] == 1, "record {} accepted by send was reported {} times", i, report_count[i]);
      EXPECT_OK(reports.at(i), fmt::format("report of record {}", i));
    }
    for (const auto& [i, count] : report_count) EXPECT(count == 1, "record {} reported {} times", i, count);
  }
  // The log: whole records only, each once, every acknowledged one.
  b.reset();
  b = open_broker(data, 4096);
  std::set<std::string> keys;
  for (const auto& r : read_partition(*b, "s", 0)) {
    EXPECT(keys.insert(r.key).second, "{} appears twice", r.key);
    const std::uint64_t i = std::stoull(r.key.substr(1));
    EXPECT(r.value == value_of(i, 100), "{} holds another value", r.key);
    EXPECT(accepted.count(i) || maybe.count(i), "{} is in the log but its send failed cleanly", r.key);
    auto it = reports.find(i);
    if (it != reports.end() && it->second.ok())
      EXPECT(it->second->off.value() == r.off, "{} reported at {} but stored at {}", r.key, it->second->off.value(),
             r.off);
  }
  for (const auto& [i, md] : reports)
    if (md.ok()) EXPECT(keys.count(fmt::format("k{}", i)), "acknowledged record {} is missing", i);
  note(fmt::format("alloc {}: {} runs; {} sends threw bad_alloc, of which {} records reached the log", op, runs,
                   maybe.size(), std::count_if(maybe.begin(), maybe.end(), [&](std::uint64_t i) {
                     return keys.count(fmt::format("k{}", i)) != 0;
                   })));
}

// poll with a new consumer each time (its first poll sizes its buffers):
// 50 records, half in zstd batches, 7 per poll. A poll that threw must not
// have moved the position; reading on gives exactly the records from there.
void alloc_poll(const std::string& dir, std::uint64_t from) {
  const std::string data = dir + "/data";
  auto b = open_broker(data, 4096);
  EXPECT_OK(b->create_topic("p", 1), "create_topic");
  std::vector<stored> all;
  for (int codec = 0; codec < 2; ++codec) {
    franz::producer_config pc;
    pc.acks = franz::ack::leader;
    pc.linger_ms = 1000;
    pc.compression_type = codec == 0 ? franz::compression::none : franz::compression::zstd;
    auto p = franz::producer::create(*b, pc);
    EXPECT_OK(p, "producer");
    for (int i = 0; i < 25; ++i) {
      const auto n = all.size() + static_cast<std::size_t>(i);
      EXPECT_OK((*p)->send({.topic = "p", .partition = 0, .key = fmt::format("k{}", n), .value = value_of(n, 150)}),
                "send");
    }
    EXPECT_OK((*p)->close(), "producer close");
    all = read_partition(*b, "p", 0);
  }
  EXPECT(all.size() == 50, "{} records", all.size());
  const franz::topic_partition tp{"p", 0};
  for_each_allocation("poll", from, [&](std::uint64_t n) {
    franz::consumer_config cc;
    cc.auto_offset_reset = franz::offset_reset::earliest;
    cc.max_poll_records = 7;
    cc.poll_spin_us = 0;
    auto c = franz::consumer::create(*b, cc);
    EXPECT_OK(c, "consumer");
    EXPECT_OK((*c)->assign({tp}), "assign");
    // Every third run starts inside the compressed half.
    const std::int64_t start = n % 3 == 0 ? 30 : static_cast<std::int64_t>(n % 20);
    EXPECT_OK((*c)->seek(tp, offset{start}), "seek");
    franz::result<franz::consumer_records> r = franz::consumer_records{};
    const auto o = armed_run(n, [&] { r = (*c)->poll(0ms); });
    std::vector<stored> got;
    if (!o.threw && r.ok())
      for (const auto& rec : *r) got.push_back({rec.off.value(), std::string(rec.key), std::string(rec.value)});
    if (!o.threw && !r.ok()) expect_named(r.error(), "poll");
    if (o.threw || !r.ok()) {
      auto pos = (*c)->position(tp);
      EXPECT_OK(pos, "position");
      EXPECT(pos->value() == start, "a failed poll moved the position from {} to {}", start, pos->value());
    }
    while (got.size() < all.size() - static_cast<std::size_t>(start)) {
      auto more = (*c)->poll(0ms);
      EXPECT_OK(more, "poll after the failure");
      if (more->empty()) break;
      for (const auto& rec : *more) got.push_back({rec.off.value(), std::string(rec.key), std::string(rec.value)});
    }
    EXPECT(got == std::vector<stored>(all.begin() + start, all.end()),
           "from {}: {} records read, not the {} stored from there", start, got.size(),
           all.size() - static_cast<std::size_t>(start));
    EXPECT_OK((*c)->close(), "consumer close");
    return !o.completed;
  });
}

// commit_sync of a consumer with a group.id that uses assign(), a new
// consumer each time. first: a new data directory each time, so the
// commit also creates __consumer_offsets. The committed offset is the new
// one after success, the old or the new one after bad_alloc, and what the
// consumer saw is what a reopen shows.
void alloc_commit(const std::string& dir, std::uint64_t from, bool first) {
  const franz::topic_partition tp{"c", 0};
  auto setup = [&](const std::string& data) {
    auto b = open_broker(data, 4096);
    EXPECT_OK(b->create_topic("c", 1), "create_topic");
    auto p = make_producer(*b, franz::ack::leader);
    send_log sent;
    send_until_failing(*p, "c", 1, 50, sent, 1, 30);
    EXPECT(sent.failed.empty(), "send failed");
    return b;
  };
  auto make_consumer = [&](franz::broker& b) {
    franz::consumer_config cc;
    cc.group_id = "g";
    cc.enable_auto_commit = false;
    auto c = franz::consumer::create(b, cc);
    EXPECT_OK(c, "consumer");
    EXPECT_OK((*c)->assign({tp}), "assign");
    return std::move(*c);
  };
  auto committed = [&](franz::consumer& c) -> std::optional<std::int64_t> {
    auto got = c.committed({tp});
    EXPECT_OK(got, "committed");
    const auto& oam = got->at(tp);
    return oam ? std::optional<std::int64_t>(oam->off.value()) : std::nullopt;
  };
  std::string data = dir + "/data";
  std::unique_ptr<franz::broker> b;
  std::optional<std::int64_t> last;
  if (!first) b = setup(data);
  for_each_allocation(first ? "commit_first" : "commit", from, [&](std::uint64_t n) {
    if (first) {
      data = fmt::format("{}/data-{}", dir, n);
      b = setup(data);
      last.reset();
    }
    auto c = make_consumer(*b);
    const auto off = static_cast<std::int64_t>(n % 29 + 1);
    franz::status s;
    const auto o = armed_run(n, [&] { s = c->commit_sync({{tp, {offset{off}, fmt::format("metadata of commit {}", n)}}}); });
    if (!o.threw && !s.ok()) expect_named(s.error(), "commit_sync");
    const auto now = committed(*c);
    if (!o.threw && s.ok()) EXPECT(now == off, "commit returned ok but the committed offset is not {}", off);
    else
      EXPECT(now == last || now == off, "a failed commit left the committed offset at neither {} nor {}",
             last.value_or(-1), off);
    last = now;
    if (first) {
      // What this broker said is what a reopen shows.
      EXPECT_OK(c->close(), "consumer close");
      c.reset();
      b.reset();
      b = open_broker(data, 4096);
      auto c2 = make_consumer(*b);
      EXPECT(committed(*c2) == last, "after a reopen the committed offset differs from what the broker said");
      EXPECT_OK(c2->commit_sync({{tp, {offset{off % 29 + 1}, ""}}}), "commit after the failure");
      EXPECT_OK(c2->close(), "consumer close");
      b.reset();
      std::filesystem::remove_all(data);
    } else {
      // The same consumer commits again, disarmed.
      const std::int64_t again = off % 29 + 1;
      EXPECT_OK(c->commit_sync({{tp, {offset{again}, ""}}}), "commit after the failure");
      last = again;
      EXPECT_OK(c->close(), "consumer close");
    }
    return !o.completed;
  });
  if (!first) {
    b.reset();
    b = open_broker(data, 4096);
    auto c = make_consumer(*b);
    EXPECT(committed(*c) == last, "after a reopen the committed offset is not the last one committed");
  }
}

int run_alloc(const std::string& op, const std::string& dir, std::uint64_t from) {
  std::set_terminate(on_terminate);
  if (op == "open_fresh") {
    // Creating a data directory.
    for_each_allocation(op, from, [&](std::uint64_t n) {
      const std::string data = fmt::format("{}/fresh-{}", dir, n);
      std::optional<franz::result<std::unique_ptr<franz::broker>>> b;
      const auto o = armed_run(n, [&] { b.emplace(franz::broker::open(opts_for(data))); });
      if (b && !b->ok()) expect_named(b->error(), "broker open");
      b.reset();
      auto again = open_broker(data, 4096);
      EXPECT_OK(again->create_topic("x", 1), "create_topic after a failed open");
      again.reset();
      std::filesystem::remove_all(data);
      return !o.completed;
    }, /*same_fds=*/true);
  } else if (op == "reopen") {
    // Reopening one with a topic, a group's commits and a partition whose
    // checkpoint is gone (so its recovery walks and rebuilds).
    const std::string data = dir + "/data";
    const auto recs = prepare(data);
    for_each_allocation(op, from, [&](std::uint64_t n) {
      std::filesystem::remove(data + "/a-1/partition.checkpoint");
      std::optional<franz::result<std::unique_ptr<franz::broker>>> b;
      const auto o = armed_run(n, [&] { b.emplace(franz::broker::open(opts_for(data))); });
      if (b && b->ok()) expect_prepared(***b, recs, "opened with an allocation failing");
      if (b && !b->ok()) expect_named(b->error(), "broker open");
      b.reset();
      auto again = open_broker(data, 4096);
      expect_prepared(*again, recs, "reopened after a failed open");
      again.reset();
      return !o.completed;
    }, /*same_fds=*/true);
  } else if (op == "create_topic") {
    const std::string data = dir + "/data";
    auto b = open_broker(data, 4096);
    for_each_allocation(op, from, [&](std::uint64_t n) {
      franz::status s;
      const auto o = armed_run(n, [&] { s = b->create_topic("x", 3); });
      if (!o.threw && !s.ok()) expect_named(s.error(), "create_topic");
      if (!o.threw && s.ok()) EXPECT(b->find_topic("x").ok(), "create_topic returned ok but x is not there");
      if (!o.threw && !s.ok()) EXPECT(!b->find_topic("x").ok(), "create_topic failed but x is there");
      const bool live = b->find_topic("x").ok();
      b.reset();
      b = open_broker(data, 4096);
      auto t = b->find_topic("x");
      // The topic is wholly there or not at all, and as the broker said.
      EXPECT(t.ok() == live, "the broker said x {} but a reopen shows it {}", live ? "exists" : "does not exist",
             t.ok() ? "exists" : "does not exist");
      if (t.ok()) {
        EXPECT((*t)->partitions.size() == 3, "x has {} partitions", (*t)->partitions.size());
        EXPECT_OK(b->delete_topic("x"), "delete_topic");
      }
      return !o.completed;
    }, /*same_fds=*/true);
  } else if (op == "send" || op == "send_linger") {
    alloc_send(dir, from, op == "send_linger");
  } else if (op == "poll") {
    alloc_poll(dir, from);
  } else if (op == "commit" || op == "commit_first") {
    alloc_commit(dir, from, op == "commit_first");
  } else {
    std::printf("unknown alloc op %s\n", op.c_str());
    return 2;
  }
  std::printf("PASS\n");
  return 0;
}

// Whether the operator new above is the one in use (a sanitizer runtime
// could, in principle, keep its own).
int run_alloc_selftest() {
  alloc::count = 0;
  alloc::armed = true;
  auto* p = new std::string(100, 'x');
  alloc::armed = false;
  const bool counted = alloc::count >= 1;
  delete p;
  const bool threw = armed_run(1, [] { auto v = std::make_unique<std::vector<int>>(10); }).threw;
  if (!counted || !threw) {
    std::printf("SKIP: the replaced operator new is not in effect in this build\n");
    return 77;
  }
  std::printf("PASS\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::alarm(300);  // a hang dies by SIGALRM instead of stalling the suite
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "enospc" && argc == 3) return run_enospc(argv[2]);
  if (cmd == "emfile" && argc == 3) return run_emfile(argv[2]);
  if (cmd == "emfile-flush" && argc == 3) return run_emfile_flush(argv[2]);
  if (cmd == "efbig" && argc == 3) return run_efbig(argv[2]);
  if (cmd == "alloc" && (argc == 4 || argc == 5))
    return run_alloc(argv[2], argv[3], argc == 5 ? std::strtoull(argv[4], nullptr, 10) : 1);
  if (cmd == "alloc-selftest") return run_alloc_selftest();
  std::fprintf(stderr, "usage: exhaust_child enospc|emfile|emfile-flush|efbig DIR | alloc OP DIR [N] | alloc-selftest\n");
  return 2;
}
