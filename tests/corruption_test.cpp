// franz — the corruption suite (reliability issue, part 4).
//
// A small real data set is written once per test case: a partition
// directory of several sealed segments and an active one, as a clean close
// leaves it and as a kill -9 leaves it (the files copied while the log is
// open: exactly what the page cache holds), and a broker data directory
// (topics.meta, a topic, and __consumer_offsets holding a group's
// commits). Then every byte of every file is damaged in turn — a bit flip
// (bit = position % 8), a cut — and so is every structure in targeted
// ways: zeroed 512-byte sectors and 4 KiB pages, bad magic, batch lengths
// of 0, 2^32-1 and past the file, offsets going backwards, index entries
// past the end of the log, leftover temporary files. Each damaged copy is
// reopened and held to the oracle (check_log_copy, check_broker_copy):
//  - open succeeds, or fails with CORRUPT_MESSAGE; no crash, no other code;
//  - every record a full read, a read at each offset or a lookup by
//    timestamp returns is the record written at that offset, offsets are
//    dense, and lookups by timestamp find the right record (0 bad records);
//  - records are lost only from a damaged batch past the recovery point
//    on; damage to fsynced data (below it) is CORRUPT_MESSAGE naming the
//    .log file and the damaged batch's byte, at open or at the read that
//    meets it;
//  - damaged indexes and checkpoints cost a rebuild, never data: after a
//    clean close every file is byte-identical to what an undamaged copy
//    leaves (sealed segments' indexes already after the lookups, unless a
//    lookup marked them damaged: those are rebuilt at close);
//  - committed offsets read back are the last ones committed or, for damage
//    in the unsynced tail, those of an earlier commit; never anything else;
//    damaged topics.meta is CORRUPT_MESSAGE, never other topics.
//
// Bytes damaged: every byte of each file's data and the 64 bytes after it;
// in preallocated zero tails (an active segment's files), one byte in 61
// of the first 4 KiB, then one per 64 KiB. Under sanitizers (ASan, TSan)
// only every 7th byte of the data, plus in the partition suites every
// batch-header byte and the first 32 bytes of other files. FRANZ_LONG=1:
// every byte in every build (past 64 KiB of zeros, one per 512 bytes).
// FRANZ_VERBOSE=1 prints how the damaged copies ended (refused, cut, named
// on read, rebuilt) per test case; FRANZ_TRACE=1 names each copy on stderr
// before it is opened.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "franz/format/checkpoint.hpp"
#include "franz/format/topics_meta.hpp"
#include "test_util.hpp"

namespace franz {

using namespace franz::test;  // make_record, opts_for, small_config, read_file, write_file

namespace {


bool env_is_1(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::string_view(v) == "1";
}
bool long_form() { return env_is_1("FRANZ_LONG"); }
// FRANZ_TRACE=1: each damaged copy is named on stderr before it is opened.
bool trace() {
  static const bool on = env_is_1("FRANZ_TRACE");
  return on;
}
std::size_t data_stride() { return sanitized && !long_form() ? 7 : 1; }

// A scratch directory on tmpfs when there is one: every damaged copy is
// written, recovered and closed, and recovery and close fsync; on a disk
// the fsyncs of thousands of copies would dominate the run. Removed with
// its contents on scope exit. One thread.
class scratch_dir {
 public:
  scratch_dir() {
    std::string tmpl = scratch_base() + "/franz-corrupt-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  [[nodiscard]] std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Every regular file under a directory: relative path -> contents.
using tree = std::map<std::string, std::string>;

std::string slurp(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[1 << 16];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

tree snapshot(const std::string& root) {
  tree t;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file()) t[e.path().string().substr(root.size() + 1)] = slurp(e.path().string());
  return t;
}

// Writes data at path: its non-zero prefix, then the size, so zeros past
// the data (preallocated space: an active segment's file grows by the MiB)
// become a hole that costs nothing to write and reads back as zeros.
void put_file(const std::string& path, const std::string& data) {
  std::size_t n = data.size();
  while (n > 0 && data[n - 1] == '\0') --n;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) FAIL("cannot write " << path);
  for (std::size_t done = 0; done < n;) {
    const ssize_t w = ::write(fd, data.data() + done, n - done);
    if (w <= 0) FAIL("cannot write " << path);
    done += static_cast<std::size_t>(w);
  }
  if (::ftruncate(fd, static_cast<off_t>(data.size())) != 0) FAIL("cannot size " << path);
  ::close(fd);
}

// Makes root hold exactly the files of t (in place: a copy is restored
// thousands of times).
void restore(const std::string& root, const tree& t) {
  std::vector<std::string> extra;
  std::error_code ec;
  if (std::filesystem::is_directory(root, ec)) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      const std::string rel = e.path().string().substr(root.size() + 1);
      if (e.is_directory()) {
        auto it = t.lower_bound(rel + "/");
        if (it == t.end() || !it->first.starts_with(rel + "/")) extra.push_back(e.path().string());
      } else if (!t.count(rel)) {
        extra.push_back(e.path().string());
      }
    }
  }
  for (const auto& p : extra) std::filesystem::remove_all(p, ec);
  std::filesystem::create_directories(root);
  for (const auto& [rel, data] : t) {
    const auto slash = rel.rfind('/');
    if (slash != std::string::npos) std::filesystem::create_directories(root + "/" + rel.substr(0, slash));
    put_file(root + "/" + rel, data);
  }
}

std::string base_name(const std::string& rel) { return std::filesystem::path(rel).filename().string(); }
bool ends_with(const std::string& s, std::string_view suffix) { return s.ends_with(suffix); }
bool is_log(const std::string& rel) { return ends_with(rel, ".log"); }
bool is_index(const std::string& rel) { return ends_with(rel, ".index") || ends_with(rel, ".timeindex"); }

// One batch of a .log file.
struct batch_loc {
  std::string file{};  // relative path of the .log
  std::uint64_t pos = 0;
  std::uint64_t size = 0;
  std::int64_t base = 0;
};

// The batches of a .log file's contents, up to the first that is not one.
std::vector<batch_loc> batches_of(const std::string& rel, const std::string& data) {
  std::vector<batch_loc> out;
  std::uint64_t pos = 0;
  while (true) {
    const auto p = format::probe_batch(reinterpret_cast<const std::byte*>(data.data()) + pos, data.size() - pos);
    if (p.kind != format::batch_probe::ok) break;
    const auto h = format::read_header(reinterpret_cast<const std::byte*>(data.data()) + pos);
    out.push_back({rel, pos, p.size, h.base_offset});
    pos += p.size;
  }
  return out;
}

// Where a file's contents end: past the last batch of a .log, past the
// last non-zero byte of anything else (preallocated index space is zero).
std::size_t data_end(const std::string& rel, const std::string& data) {
  if (is_log(rel)) {
    const auto b = batches_of(rel, data);
    return b.empty() ? 0 : b.back().pos + b.back().size;
  }
  std::size_t n = data.size();
  while (n > 0 && data[n - 1] == '\0') --n;
  return n;
}

// The byte positions of a file that the every-byte loops damage: see the
// file comment. headers: with a stride, add every header byte too.
std::vector<std::size_t> positions(const std::string& rel, const std::string& data, bool headers = true) {
  std::set<std::size_t> at;
  const std::size_t end = std::min(data.size(), data_end(rel, data) + 64);
  const std::size_t stride = data_stride();
  for (std::size_t i = 0; i < end; i += stride) at.insert(i);
  if (stride > 1 && headers) {
    if (is_log(rel)) {
      for (const auto& b : batches_of(rel, data))
        for (std::size_t i = 0; i < format::batch_header_size; ++i) at.insert(b.pos + i);
    } else {
      for (std::size_t i = 0; i < std::min<std::size_t>(end, 32); ++i) at.insert(i);
    }
  }
  // Preallocated zeros: one byte in 61 of the first 4 KiB past the data,
  // then one per 64 KiB (the offsets topic's active segment is
  // preallocated by the MiB). Long form: every byte of the first 64 KiB,
  // then one per 512-byte sector.
  const bool all = long_form();
  for (std::size_t i = end; i < data.size(); i += i < end + (all ? 65536 : 4096) ? (all ? 1 : 61) : (all ? 512 : 65536))
    at.insert(i);
  return {at.begin(), at.end()};
}

// A damaged copy: which file, how, and which of its batches changed.
struct damage {
  std::string file{};  // relative path
  std::string what{};
  std::vector<batch_loc> batches{};  // .log batches whose bytes changed, in order
  [[nodiscard]] bool data() const { return !batches.empty(); }
};

// Applies `change` to one file of `image` and describes the damage. The
// batches that changed are found by comparing bytes (a cut changes every
// byte past it).
struct damaged_tree {
  tree files{};
  damage d{};
};
damaged_tree make_damage(const tree& image, const std::string& rel, std::string what,
                         const std::function<void(std::string&)>& change) {
  damaged_tree out{image, {rel, std::move(what)}};
  std::string& data = out.files.at(rel);
  change(data);
  if (is_log(rel)) {
    const std::string& orig = image.at(rel);
    for (const auto& b : batches_of(rel, orig)) {
      bool changed = false;
      for (std::uint64_t i = b.pos; i < b.pos + b.size && !changed; ++i)
        changed = i >= data.size() || data[i] != orig[i];
      if (changed) out.d.batches.push_back(b);
    }
  }
  return out;
}

damaged_tree flip_bit(const tree& image, const std::string& rel, std::size_t at) {
  return make_damage(image, rel, fmt::format("{}: bit {} of byte {} flipped", rel, at % 8, at),
                     [at](std::string& d) { d[at] = static_cast<char>(d[at] ^ (1 << (at % 8))); });
}
damaged_tree cut(const tree& image, const std::string& rel, std::size_t len) {
  return make_damage(image, rel, fmt::format("{}: cut to {} bytes", rel, len),
                     [len](std::string& d) { d.resize(len); });
}
damaged_tree zero_range(const tree& image, const std::string& rel, std::size_t from, std::size_t n) {
  return make_damage(image, rel, fmt::format("{}: bytes [{}, {}) zeroed", rel, from, from + n),
                     [from, n](std::string& d) {
                       std::fill_n(d.begin() + static_cast<std::ptrdiff_t>(from), n, '\0');
                     });
}
template <class T>
damaged_tree store_at(const tree& image, const std::string& rel, std::size_t at, T v, const std::string& what) {
  return make_damage(image, rel, fmt::format("{}: {} (byte {})", rel, what, at),
                     [at, v](std::string& d) { format::store_le(reinterpret_cast<std::byte*>(d.data() + at), v); });
}

// Whether an error names `file` (a .log under dir) and one of the damaged
// batches' byte positions, exactly as the storage layer formats it.
bool names_damaged_batch(const error& e, const std::string& dir, const damage& d) {
  for (const auto& b : d.batches)
    if (e.message.find(fmt::format("{}/{} at byte {}:", dir, b.file, b.pos)) != std::string::npos) return true;
  return false;
}

// How damaged copies ended, for FRANZ_VERBOSE.
struct tally {
  std::size_t copies = 0, refused = 0, cut = 0, named_on_read = 0, rebuilt = 0, rewritten = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  void print(const char* what) const {
    if (!env_is_1("FRANZ_VERBOSE")) return;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %zu copies in %.2f s: %zu refused at open, %zu cut, %zu named on read, %zu indexes rebuilt, "
                "%zu rewritten by recovery anyway\n",
                what, copies, s, refused, cut, named_on_read, rebuilt, rewritten);
  }
};

std::int64_t ts_of(std::int64_t off) { return 1'600'000'000'000 + 7 * off; }

bool same_record(const record_view& v, const owned_record& want) {
  return v.key.data() != nullptr && v.key == want.key && v.value.data() != nullptr && v.value == want.value &&
         v.ts.value() == want.ts && v.header_count == 0;
}

// =============================================================================
// The partition directory
// =============================================================================

struct log_fixture {
  std::string name{};
  log_config cfg{};
  std::vector<owned_record> recs{};  // the record at each offset
  tree image{};                      // what is damaged
  tree reference{};                  // what an undamaged copy leaves after open + close
  std::int64_t rp = 0;               // image's recovery point
  std::int64_t end = 0;
};

std::int64_t recovery_point_of(const std::string& checkpoint) {
  const auto c = format::decode_checkpoint(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(checkpoint.data()), checkpoint.size()));
  REQUIRE(c.has_value());
  return c->recovery_point;
}

// Five segments of ~1 KiB (batches of 1 to 4 records, some lz4 or zstd
// compressed), an index entry at almost every batch, timestamps that grow
// with every record (so each time-index entry has its own batch). Returns
// {kill -9 image, clean-close image}: the first copied while the log is
// open, after a flush that moved the recovery point into the second
// segment, so that one sealed segment lies below it and two past it.
std::pair<log_fixture, log_fixture> make_log_fixtures(const scratch_dir& s) {
  log_config cfg = small_config(1024);
  cfg.index_interval_bytes = 100;
  log_fixture crashed{"kill -9 image", cfg}, clean{"clean image", cfg};
  const std::string dir = s.sub("build/t-0");
  std::filesystem::create_directories(s.sub("build"));
  std::vector<owned_record> recs;
  {
    auto l = log::open(dir, opts_for(cfg));
    REQUIRE_OK(l);
    const int counts[] = {3, 1, 2, 4, 2, 3, 1, 2};
    std::int64_t off = 0;
    for (int b = 0; b < 26; ++b) {
      log_config c = cfg;
      if (b % 5 == 3) c.compression_type = compression::lz4;
      if (b == 4 || b == 17) c.compression_type = compression::zstd;
      REQUIRE_OK((*l)->set_config(c));
      std::vector<record> batch;
      const std::size_t first = recs.size();
      for (int i = 0; i < counts[b % 8]; ++i, ++off)
        recs.push_back(make_record(off, 10 + static_cast<std::size_t>(off * 13 % 50), ts_of(off)));
      for (std::size_t i = first; i < recs.size(); ++i) batch.push_back(recs[i].view());
      REQUIRE_OK((*l)->append(batch));
      if (b == 7) REQUIRE_OK((*l)->flush());
    }
    crashed.image = snapshot(dir);
    const auto segs = (*l)->segments();
    REQUIRE(segs.size() >= 5);
    const std::int64_t rp = recovery_point_of(crashed.image.at("partition.checkpoint"));
    REQUIRE(segs[1].base_offset.value() < rp);
    REQUIRE(segs[1].next_offset.value() > rp);
    REQUIRE(segs[2].base_offset.value() > rp);
    REQUIRE_OK((*l)->close());
  }
  clean.image = snapshot(dir);
  for (log_fixture* f : {&crashed, &clean}) {
    f->recs = recs;
    f->end = static_cast<std::int64_t>(recs.size());
    f->rp = recovery_point_of(f->image.at("partition.checkpoint"));
    const std::string ref = s.sub("reference");
    restore(ref, f->image);
    {
      auto l = log::open(ref, opts_for(cfg));
      REQUIRE_OK(l);
      REQUIRE((*l)->log_end_offset().value() == f->end);
      REQUIRE_OK((*l)->close());
    }
    f->reference = snapshot(ref);
  }
  // The kill -9 image has sealed segments and an active one past the
  // recovery point, and a trusted prefix below it.
  REQUIRE(crashed.rp > 0);
  REQUIRE(crashed.rp < crashed.end);
  REQUIRE(clean.rp == clean.end);
  REQUIRE(clean.reference == clean.image);
  return {std::move(crashed), std::move(clean)};
}

// The oracle for one damaged partition directory (see the file comment).
// Returns "" or what went wrong.
std::string check_log_copy(const log_fixture& fx, const std::string& dir, const damage& d, tally& t) {
  ++t.copies;
  auto l = log::open(dir, opts_for(fx.cfg));
  const std::int64_t first_damaged = d.data() ? d.batches.front().base : INT64_MAX;
  if (!l) {
    const error& e = l.error();
    if (!d.data()) return "open failed, with the data intact: " + e.to_string();
    if (e.code != errc::corrupt_message) return "open failed with a code other than CORRUPT_MESSAGE: " + e.to_string();
    if (first_damaged >= fx.rp) return "damage past the recovery point failed the open: " + e.to_string();
    if (!names_damaged_batch(e, dir, d)) return "the error does not name the damaged batch: " + e.to_string();
    ++t.refused;
    return "";
  }
  auto& log = **l;
  // Below the recovery point (trusted segments) damage may go unnoticed
  // until a read meets it; past it, recovery validates and cuts there.
  const bool lazy = d.data() && first_damaged < fx.rp;
  const std::int64_t want_end = d.data() && !lazy ? first_damaged : fx.end;
  if (log.log_start_offset() != offset{0}) return fmt::format("log start {}", log.log_start_offset().value());
  const std::int64_t end = log.log_end_offset().value();
  if (end != want_end) return fmt::format("log end {} where {} was expected", end, want_end);
  if (end < fx.end) ++t.cut;

  std::string problem;
  bool named = false;
  auto on_error = [&](const error& e, const char* where) {
    if (!problem.empty()) return;
    if (!lazy) problem = fmt::format("{}: {}", where, e.to_string());
    else if (e.code != errc::corrupt_message || !names_damaged_batch(e, dir, d))
      problem = fmt::format("{}: the error does not name the damaged batch: {}", where, e.to_string());
    named = true;
  };

  // 1. Everything from the start, a few batches per read.
  std::int64_t next = 0;
  while (next < end && problem.empty()) {
    auto r = log.read(offset{next}, 600);
    if (!r) {
      on_error(r.error(), "full read");
      break;
    }
    const std::int64_t before = next;
    auto rr = r->records();
    record_view v;
    while (rr.next(v)) {
      if (v.off.value() != next || next >= end || !same_record(v, fx.recs[static_cast<std::size_t>(next)]))
        return fmt::format("full read: offset {} returned where {} was due, or a different record", v.off.value(),
                           next);
      ++next;
    }
    if (!rr.status().ok()) {
      on_error(rr.status().error(), "full read");
      break;
    }
    if (next == before) return fmt::format("full read: nothing at {}", next);
  }
  if (!problem.empty()) return problem;
  if (next != end && !lazy) return fmt::format("full read ended at {} of {}", next, end);
  // 2. Each offset on its own (the offset index's floor entry each time).
  for (std::int64_t o = 0; o < end && problem.empty(); ++o) {
    auto r = log.read(offset{o}, 1);
    if (!r) {
      on_error(r.error(), "read at an offset");
      continue;
    }
    auto rr = r->records();
    record_view v;
    if (!rr.next(v)) {
      if (rr.status().ok()) return fmt::format("read at {}: no record", o);
      on_error(rr.status().error(), "read at an offset");
      continue;
    }
    if (v.off.value() != o || !same_record(v, fx.recs[static_cast<std::size_t>(o)]))
      return fmt::format("read at {}: got offset {} or a different record", o, v.off.value());
  }
  // 3. Each record's timestamp, and one past it (the time index's entries).
  for (std::int64_t o = 0; o < end && problem.empty(); ++o) {
    for (const std::int64_t delta : {0, 1}) {
      auto r = log.offsets_for_time(timestamp{ts_of(o) + delta});
      if (!r) {
        on_error(r.error(), "offsets_for_time");
        break;
      }
      const std::int64_t want = o + delta;
      if (want >= end) {
        if (r->has_value()) return fmt::format("offsets_for_time past the end found {}", (*r)->off.value());
      } else if (!r->has_value() || (*r)->off.value() != want || (*r)->ts.value() != ts_of(want)) {
        return fmt::format("offsets_for_time({}) gave {} where {} was due", ts_of(o) + delta,
                           r->has_value() ? (*r)->off.value() : -1, want);
      }
    }
  }
  if (!problem.empty()) return problem;
  if (named) ++t.named_on_read;

  // 4. Sealed segments' indexes are already rebuilt, unless a lookup marked
  //    them damaged (rebuilt at close). The active one is rebuilt into
  //    preallocated files, trimmed at close.
  const auto segs = log.segments();
  bool marked = false;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    marked = marked || segs[i].index_damaged;
    if (d.data() || i + 1 == segs.size() || segs[i].index_damaged) continue;
    for (const char* suffix : {".index", ".timeindex"}) {
      const std::string n = format::segment_file(segs[i].base_offset.value(), suffix);
      if (read_file(dir + "/" + n) != fx.reference.at(n)) return n + " differs from an undamaged run's after open";
    }
  }
  if (marked && d.data()) return "damaged data marked an index damaged";
  if (log.recovery().indexes_rebuilt > 0 || marked) ++t.rebuilt;
  else if (!d.data()) ++t.rewritten;  // a file past the recovery point, or a zero tail

  // 5. A clean close leaves exactly what an undamaged copy leaves.
  if (auto c = log.close(); !c.ok()) return "close: " + c.error().to_string();
  l->reset();
  if (!d.data()) {
    const tree after = snapshot(dir);
    for (const auto& [n, data] : fx.reference) {
      auto it = after.find(n);
      if (it == after.end()) return n + " is missing after close";
      if (it->second != data) return n + " differs from an undamaged run's after close";
    }
    for (const auto& [n, data] : after)
      if (!fx.reference.count(n)) return n + " is left over after close";
  }
  return "";
}

// Runs the oracle on one damaged copy of fx.
void run_log_copy(const log_fixture& fx, const std::string& dir, const damaged_tree& dt, tally& t) {
  if (trace()) std::fprintf(stderr, "%s: %s\n", fx.name.c_str(), dt.d.what.c_str());
  restore(dir, dt.files);
  const std::string problem = check_log_copy(fx, dir, dt.d, t);
  if (!problem.empty()) {
    INFO(fx.name << ": " << dt.d.what);
    FAIL(problem);
  }
}

std::vector<std::string> damageable(const tree& image) {
  std::vector<std::string> out;
  for (const auto& [n, data] : image)
    if (base_name(n) != ".lock") out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("a bit flip at every byte of every partition file: a named error, a cut past the recovery point or a rebuild",
          "[reliability][corruption]") {
  scratch_dir s;
  const auto [crashed, clean] = make_log_fixtures(s);
  for (const log_fixture* fx : {&crashed, &clean}) {
    tally t;
    for (const auto& rel : damageable(fx->image))
      for (const std::size_t at : positions(rel, fx->image.at(rel)))
        run_log_copy(*fx, s.sub("copy"), flip_bit(fx->image, rel, at), t);
    t.print(("bit flips, " + fx->name).c_str());
    CHECK(t.copies > 0);
  }
}

TEST_CASE("every partition file cut at every byte: a named error, a cut past the recovery point or a rebuild",
          "[reliability][corruption]") {
  scratch_dir s;
  const auto [crashed, clean] = make_log_fixtures(s);
  for (const log_fixture* fx : {&crashed, &clean}) {
    tally t;
    for (const auto& rel : damageable(fx->image))
      for (const std::size_t len : positions(rel, fx->image.at(rel)))
        run_log_copy(*fx, s.sub("copy"), cut(fx->image, rel, len), t);
    t.print(("cuts, " + fx->name).c_str());
    CHECK(t.copies > 0);
  }
}

TEST_CASE("zeroed 512-byte sectors and 4 KiB pages of every partition file", "[reliability][corruption]") {
  scratch_dir s;
  const auto [crashed, clean] = make_log_fixtures(s);
  for (const log_fixture* fx : {&crashed, &clean}) {
    tally t;
    for (const auto& rel : damageable(fx->image)) {
      const std::size_t size = fx->image.at(rel).size();
      for (const std::size_t unit : {512, 4096})
        for (std::size_t at = 0; at < size; at += unit)
          run_log_copy(*fx, s.sub("copy"), zero_range(fx->image, rel, at, std::min(unit, size - at)), t);
    }
    t.print(("zeroed sectors and pages, " + fx->name).c_str());
    CHECK(t.copies > 0);
  }
}

TEST_CASE("bad magic; batch lengths of 0 / 2^32-1 / past the file; offsets going backwards or past the end",
          "[reliability][corruption]") {
  scratch_dir s;
  const auto [crashed, clean] = make_log_fixtures(s);
  for (const log_fixture* fx : {&crashed, &clean}) {
    tally t;
    for (const auto& rel : damageable(fx->image)) {
      if (!is_log(rel)) continue;
      const std::string& data = fx->image.at(rel);
      const auto batches = batches_of(rel, data);
      for (std::size_t k = 0; k < batches.size(); ++k) {
        const auto& b = batches[k];
        auto put = [&]<class T>(std::size_t at, T v, const std::string& what) {
          run_log_copy(*fx, s.sub("copy"), store_at<T>(fx->image, rel, at, v, what), t);
        };
        for (const std::uint8_t magic : {0, 2, 0xff}) put(b.pos + 12, magic, fmt::format("magic {}", magic));
        // 0, 2^32-1, 2^31-1, below the header, one past the file, and right
        // to the end of the file (a header walk then skips the batches
        // after it without meeting a bad header).
        const auto to_end = static_cast<std::uint32_t>(data.size() - b.pos - format::log_overhead);
        for (const std::uint32_t len : {0u, 0xffffffffu, 0x7fffffffu, 20u, to_end + 1, to_end})
          put(b.pos + 8, len, fmt::format("batch length {}", len));
        // Offsets past the log end claimed by the last offset delta (inside
        // the checksum): a read must not take the batch for one beyond it.
        for (const std::uint32_t lod : {0x7fffffffu, 0xffffffffu, 1000u})
          put(b.pos + 28, lod, fmt::format("last offset delta {}", lod));
        // Offsets going backwards (base_offset is outside the checksum).
        for (const std::int64_t base : {b.base - 1, b.base - 3, std::int64_t{0}, k > 0 ? batches[k - 1].base : -1}) {
          if (base < 0 || base == b.base) continue;
          put(b.pos, base, fmt::format("base offset {}", base));
        }
      }
    }
    t.print(("header fields, " + fx->name).c_str());
    CHECK(t.copies > 0);
  }
}

TEST_CASE("index entries past the end of the log are rebuilt and never followed", "[reliability][corruption][index]") {
  scratch_dir s;
  const auto [crashed, clean] = make_log_fixtures(s);
  for (const log_fixture* fx : {&crashed, &clean}) {
    tally t;
    for (const auto& rel : damageable(fx->image)) {
      if (!is_index(rel)) continue;
      const std::string& data = fx->image.at(rel);
      const std::string log_name = rel.substr(0, rel.find('.')) + ".log";
      const auto log_size = static_cast<std::uint32_t>(data_end(log_name, fx->image.at(log_name)));
      const std::int64_t base = std::stoll(rel.substr(0, rel.find('.')));
      const auto segment_batches = batches_of(log_name, fx->image.at(log_name));
      const auto next_rel = static_cast<std::uint32_t>(
          segment_batches.empty() ? 0 : fx->end - base);  // past the last offset of any segment
      const bool offset_index = ends_with(rel, ".index");
      const std::size_t entry = offset_index ? 8 : 12;
      const std::size_t entries = data_end(rel, data) / entry;
      const std::string dir = s.sub("copy");
      auto put = [&]<class T>(std::size_t at, T v, const std::string& what) {
        run_log_copy(*fx, dir, store_at<T>(fx->image, rel, at, v, what), t);
      };
      for (std::size_t i = 0; i < entries; ++i) {
        const std::size_t at = i * entry;
        if (offset_index) {
          for (const std::uint32_t pos : {log_size, log_size + 100, 0xffffffffu})
            put(at + 4, pos, fmt::format("entry {} at position {}", i, pos));
          for (const std::uint32_t off : {next_rel, 0xffffffffu})
            put(at, off, fmt::format("entry {} for offset +{}", i, off));
        } else {
          for (const std::uint32_t off : {next_rel, 0xffffffffu})
            put(at + 8, off, fmt::format("entry {} for offset +{}", i, off));
          put(at, std::int64_t{INT64_MAX}, fmt::format("entry {} at the largest time", i));
        }
      }
      // One more entry, after the last, for data that does not exist.
      const std::size_t used = entries * entry;
      auto extra = [&](std::string& d) {
        if (d.size() < used + entry) d.resize(used + entry);
        std::byte* p = reinterpret_cast<std::byte*>(d.data() + used);
        if (offset_index) format::offset_entry{next_rel, log_size + 10}.store(p);
        else format::time_entry{ts_of(fx->end + 5), next_rel}.store(p);
      };
      run_log_copy(*fx, dir, make_damage(fx->image, rel, rel + ": an extra entry past the log's end", extra), t);
    }
    t.print(("index entries past the end, " + fx->name).c_str());
    CHECK(t.copies > 0);
  }
}

TEST_CASE("leftover temporary files of every kind franz writes are removed and change nothing",
          "[reliability][corruption]") {
  scratch_dir s;
  const auto [crashed, clean] = make_log_fixtures(s);
  for (const log_fixture* fx : {&crashed, &clean}) {
    tally t;
    // What a crash during write_file_atomically leaves: an empty, a half and
    // a whole new file — even one whose contents look valid and would say
    // something else (a recovery point of 0, a log start past the end).
    const auto other_cp = format::encode_checkpoint({fx->end + 10, 0});
    const std::string valid_cp(reinterpret_cast<const char*>(other_cp.data()), other_cp.size());
    for (const std::string& contents : {std::string(), valid_cp.substr(0, 13), valid_cp, std::string(4096, 'x')}) {
      std::vector<std::string> names = {"partition.checkpoint.tmp"};
      for (const auto& [n, data] : fx->image)
        if (is_log(n) || is_index(n)) names.push_back(n + ".tmp");
      for (const auto& n : names) {
        damaged_tree dt{fx->image, {n, n + " left over"}};
        dt.files[n] = contents;
        run_log_copy(*fx, s.sub("copy"), dt, t);
      }
      damaged_tree all{fx->image, {"*.tmp", "every kind at once"}};
      for (const auto& n : names) all.files[n] = contents;
      run_log_copy(*fx, s.sub("copy"), all, t);
    }
    t.print(("temporary files, " + fx->name).c_str());
    CHECK(t.copies > 0);
  }
}

// =============================================================================
// The broker: topics.meta and the __consumer_offsets topic
// =============================================================================

namespace {

using commits = std::map<topic_partition, offset_and_metadata>;

struct broker_fixture {
  std::string name{};
  tree image{};
  tree reference{};
  // history[k]: the group's committed offsets after k commits; commit k
  // (from 1) is the k-th batch of __consumer_offsets-0.
  std::vector<commits> history{};
  std::vector<std::int64_t> commit_bases{};  // base offset of each commit's batch
  std::vector<std::int64_t> commit_ts{};     // and its timestamp
  std::int64_t offsets_rp = 0;               // recovery point of __consumer_offsets-0 in image
  std::vector<owned_record> topic_recs[2] = {};
  std::map<std::string, std::string> overrides{};
};

const std::string offsets_dir = std::string(offsets_topic) + "-0";
constexpr int commit_count = 10;

broker_options broker_opts(const std::string& dir, const clock* clk) {
  broker_options o;
  o.data_dir = dir;
  o.background_maintenance = false;
  o.log_defaults = small_config(1024);
  o.log_defaults.index_interval_bytes = 100;
  o.clk = clk;
  return o;
}

// Topic t (2 partitions of 40 records) and 10 commits of group g, each
// one batch in __consumer_offsets with its own timestamp. Returns {kill -9
// image (the commits were never flushed: all past the recovery point),
// clean-close image}.
std::pair<broker_fixture, broker_fixture> make_broker_fixtures(const scratch_dir& s, manual_clock& clk) {
  broker_fixture crashed{"kill -9 image"}, clean{"clean image"};
  const std::string dir = s.sub("build-broker");
  std::vector<commits> history{commits{}};
  std::vector<owned_record> recs[2];
  const std::map<std::string, std::string> overrides{{"segment.bytes", "2048"}, {"retention.ms", "-1"}};
  {
    auto b = open_broker(broker_opts(dir, &clk));
    REQUIRE_OK(b->create_topic("t", 2, overrides));
    for (std::int32_t p = 0; p < 2; ++p) {
      auto part = b->find_partition("t", p);
      REQUIRE_OK(part);
      for (int i = 0; i < 40; ++i) {
        recs[p].push_back(make_record(i, 20, ts_of(i)));
        const record r = recs[p].back().view();
        const std::span<const record> one(&r, 1);
        const auto times = format::times_of(one, 0);
        std::vector<std::byte> buf(format::batch_header_size + format::records_size(one, times));
        const std::size_t n = format::encode_batch(buf.data(), one, times, {});
        REQUIRE_OK((*part)->append(std::span<const std::byte>(buf.data(), n), batch_check::full));
      }
    }
    std::vector<std::int64_t> commit_ts;
    for (int k = 1; k <= commit_count; ++k) {
      clk.advance(1);
      commit_ts.push_back(clk.now_ms());
      commits c;
      c[{"t", 0}] = {offset{k + 1}, k % 2 ? fmt::format("m{}", k) : ""};
      if (k % 3 != 0) c[{"t", 1}] = {offset{2 * k}, ""};
      REQUIRE_OK(b->groups().alter_offsets("g", c));
      commits all = history.back();
      for (const auto& [tp, om] : c) all[tp] = om;
      history.push_back(all);
    }
    crashed.image = snapshot(dir);
    REQUIRE_OK(b->close());
    crashed.commit_ts = clean.commit_ts = commit_ts;
  }
  clean.image = snapshot(dir);
  for (broker_fixture* f : {&crashed, &clean}) {
    f->history = history;
    f->topic_recs[0] = recs[0];
    f->topic_recs[1] = recs[1];
    f->overrides = overrides;
    auto cp = f->image.find(offsets_dir + "/partition.checkpoint");
    f->offsets_rp = cp == f->image.end() ? 0 : recovery_point_of(cp->second);
    const std::string ref = s.sub("reference-broker");
    restore(ref, f->image);
    {
      auto b = open_broker(broker_opts(ref, &clk));
      REQUIRE(b->groups().list_offsets("g").ok());
      REQUIRE(*b->groups().list_offsets("g") == history.back());
      REQUIRE_OK(b->close());
    }
    f->reference = snapshot(ref);
    const std::string log0 = offsets_dir + "/" + format::segment_file(0, ".log");
    for (const auto& b : batches_of(log0, f->image.at(log0))) f->commit_bases.push_back(b.base);
    REQUIRE(f->commit_bases.size() == std::size_t{commit_count});
  }
  // Commits are not flushed: the kill -9 image holds them all past the
  // recovery point (the unsynced tail); the clean close synced them all.
  REQUIRE(crashed.offsets_rp == 0);
  REQUIRE(clean.offsets_rp > clean.commit_bases.back());
  return {std::move(crashed), std::move(clean)};
}

// The oracle for one damaged data directory. Returns "" or what went wrong.
std::string check_broker_copy(const broker_fixture& fx, const std::string& dir, const manual_clock& clk,
                              const damage& d, tally& t) {
  ++t.copies;
  const bool topics_file = d.file == format::topics_file;
  const bool offsets_data = d.data() && d.file.starts_with(offsets_dir + "/");
  // Damage to commits past the recovery point (never synced) may cost them.
  const bool unsynced = offsets_data && d.batches.front().base >= fx.offsets_rp;
  auto b = broker::open(broker_opts(dir, &clk));
  if (!b) {
    const error& e = b.error();
    if (e.code != errc::corrupt_message) return "open failed with a code other than CORRUPT_MESSAGE: " + e.to_string();
    if (topics_file) {
      if (e.message.find(dir) == std::string::npos ||
          e.message.find(std::string(format::topics_file)) == std::string::npos)
        return "the error does not name topics.meta: " + e.to_string();
    } else if (!offsets_data || unsynced) {
      return "open failed on damage it should survive: " + e.to_string();
    } else if (!names_damaged_batch(e, dir, d)) {
      return "the error does not name the damaged batch: " + e.to_string();
    }
    ++t.refused;
    return "";
  }
  if (topics_file) return "a damaged topics.meta was accepted";
  broker& br = **b;
  if (br.list_topics() != std::vector<std::string>{"t"}) return "other topics after open";
  auto desc = br.describe_topic("t");
  if (!desc || desc->partitions.size() != 2 || desc->overrides != fx.overrides) return "topic t changed";
  // Committed offsets: the last commit's, or with damage in the unsynced
  // tail exactly those before the damaged commit.
  std::size_t k = fx.history.size() - 1;
  if (unsynced) {
    k = 0;
    while (k < fx.commit_bases.size() && fx.commit_bases[k] < d.batches.front().base) ++k;
  }
  const commits& want = fx.history[k];
  auto got = br.groups().list_offsets("g");
  if (want.empty()) {
    if (got || got.code() != errc::group_id_not_found) return "a group with no surviving commit exists";
  } else if (!got || *got != want) {
    return fmt::format("committed offsets are not those after commit {}", k);
  }
  if (k + 1 < fx.history.size()) ++t.cut;
  // Lookups on __consumer_offsets-0 by offset and by time, so that every
  // entry of its indexes is used (and checked) before the close.
  {
    auto part = br.find_partition(offsets_topic, 0);
    if (!part) return "no __consumer_offsets-0";
    const detail::partition_log& log = (*part)->log();
    const std::int64_t end = log.log_end_offset().value();
    for (std::int64_t o = 0; o < end; ++o) {
      auto r = log.read(offset{o}, 1, std::nullopt, true);
      if (!r) return "__consumer_offsets read: " + r.error().to_string();
      auto rr = r->records();
      record_view v;
      if (!rr.next(v) || v.off.value() != o) return fmt::format("__consumer_offsets read at {} failed", o);
    }
    for (std::size_t c = 0; c < fx.commit_ts.size(); ++c) {
      auto r = log.offsets_for_time(timestamp{fx.commit_ts[c]});
      if (!r) return "__consumer_offsets offsets_for_time: " + r.error().to_string();
      const bool there = fx.commit_bases[c] < end;
      if (there != r->has_value() || (there && (*r)->off.value() != fx.commit_bases[c]))
        return fmt::format("__consumer_offsets offsets_for_time of commit {} is wrong", c + 1);
    }
  }
  for (std::int32_t p = 0; p < 2; ++p) {
    auto part = br.find_partition("t", p);
    if (!part) return "partition missing";
    const auto& recs = fx.topic_recs[p];
    std::size_t n = 0;
    while (n < recs.size()) {
      auto r = (*part)->log().read(offset{static_cast<std::int64_t>(n)}, 1 << 20, std::nullopt, true);
      if (!r) return r.error().to_string();
      auto rr = r->records();
      record_view v;
      const std::size_t before = n;
      while (rr.next(v)) {
        if (v.off.value() != static_cast<std::int64_t>(n) || n >= recs.size() || !same_record(v, recs[n]))
          return "a record of t differs";
        ++n;
      }
      if (!rr.status().ok() || n == before) return "t lost records";
    }
    if ((*part)->log().log_end_offset().value() != static_cast<std::int64_t>(n)) return "t has other records";
  }
  if (auto c = br.close(); !c.ok()) return "close: " + c.error().to_string();
  b->reset();
  if (!d.data()) {
    if (snapshot(dir) != fx.reference) return "the files after close differ from an undamaged run's";
    ++t.rebuilt;
  }
  return "";
}

void run_broker_copy(const broker_fixture& fx, const std::string& dir, const manual_clock& clk, const damaged_tree& dt,
                     tally& t) {
  if (trace()) std::fprintf(stderr, "%s: %s\n", fx.name.c_str(), dt.d.what.c_str());
  restore(dir, dt.files);
  const std::string problem = check_broker_copy(fx, dir, clk, dt.d, t);
  if (!problem.empty()) {
    INFO(fx.name << ": " << dt.d.what);
    FAIL(problem);
  }
}

// topics.meta and every file of __consumer_offsets-0.
std::vector<std::string> broker_damageable(const tree& image) {
  std::vector<std::string> out{std::string(format::topics_file)};
  for (const auto& [n, data] : image)
    if (n.starts_with(offsets_dir + "/") && base_name(n) != ".lock") out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("a bit flip or a cut at every byte of topics.meta and __consumer_offsets: a named error or the commits kept",
          "[reliability][corruption][group]") {
  scratch_dir s;
  manual_clock clk;
  const auto [crashed, clean] = make_broker_fixtures(s, clk);
  for (const broker_fixture* fx : {&crashed, &clean}) {
    tally t;
    for (const auto& rel : broker_damageable(fx->image)) {
      // Under sanitizers, no extra header bytes here: the partition suites
      // cover them, and a broker copy costs ten of a log copy.
      for (const std::size_t at : positions(rel, fx->image.at(rel), /*headers=*/false)) {
        run_broker_copy(*fx, s.sub("copy"), clk, flip_bit(fx->image, rel, at), t);
        run_broker_copy(*fx, s.sub("copy"), clk, cut(fx->image, rel, at), t);
      }
    }
    t.print(("broker bit flips and cuts, " + fx->name).c_str());
    CHECK(t.copies > 0);
  }
}

TEST_CASE("a leftover topics.meta.tmp changes nothing (even a valid one listing other topics)",
          "[reliability][corruption][admin]") {
  scratch_dir s;
  manual_clock clk;
  const auto [crashed, clean] = make_broker_fixtures(s, clk);
  format::topics_meta other;
  other.next_topic_id = 9;
  other.topics.push_back({"other", 7, 3, {}});
  const auto bytes = format::encode_topics(other);
  const std::string valid(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  for (const broker_fixture* fx : {&crashed, &clean}) {
    tally t;
    for (const std::string& contents : {std::string(), valid.substr(0, 20), valid}) {
      damaged_tree dt{fx->image, {"topics.meta.tmp", "topics.meta.tmp left over"}};
      dt.files["topics.meta.tmp"] = contents;
      dt.files[offsets_dir + "/partition.checkpoint.tmp"] = contents;
      run_broker_copy(*fx, s.sub("copy"), clk, dt, t);
    }
    CHECK(t.copies == 3);
  }
}

// =============================================================================
// The storage fixes the suite needs, pinned one by one
// =============================================================================

namespace {

// A log of 3 segments whose second is sealed with a dense index.
struct three_segments {
  log_config cfg{};
  std::vector<owned_record> recs{};
};

three_segments write_three_segments(const std::string& dir) {
  three_segments t{small_config(1024), {}};
  t.cfg.index_interval_bytes = 0;  // an index entry at every batch after the first
  auto l = log::open(dir, opts_for(t.cfg));
  REQUIRE_OK(l);
  for (std::int64_t o = 0; (*l)->segments().size() < 3; ++o) {
    t.recs.push_back(make_record(o, 40, ts_of(o)));
    REQUIRE_OK((*l)->append(t.recs.back().view()));
  }
  REQUIRE_OK((*l)->close());
  return t;
}

}  // namespace

TEST_CASE("a preallocated index holds its entries and not its zero tail", "[reliability][corruption][index]") {
  scratch_dir s;
  const std::string path = s.sub("00000000000000000000.timeindex");
  auto& fs = io::posix_fs::instance();
  {
    time_index<io::posix_fs> ti;
    REQUIRE_OK(ti.open(fs, path, 1 << 20));
    for (std::uint32_t i = 0; i < 3; ++i) {
      REQUIRE_OK(ti.reserve_one());
      ti.append({ts_of(i), i * 2 + 1});
    }
    REQUIRE_OK(ti.release());
  }
  const std::string data = read_file(path);
  REQUIRE(data.size() % 12 != 0);  // a page, as the active segment leaves it
  {
    time_index<io::posix_fs> ti;
    REQUIRE_OK(ti.open(fs, path, 1 << 20));
    CHECK(ti.entries() == 3);
    CHECK(ti.check(data.size(), UINT32_MAX));
    REQUIRE_OK(ti.release());
  }
  // A byte that is not zero past the entries is damage, not preallocation.
  std::string bad = data;
  bad[3 * 12 + 100] = 'x';
  write_file(path, bad);
  time_index<io::posix_fs> ti;
  REQUIRE_OK(ti.open(fs, path, 1 << 20));
  CHECK_FALSE(ti.check(bad.size(), UINT32_MAX));
  REQUIRE_OK(ti.release());
}

TEST_CASE("the segment active at a kill -9 is validated (not counted as damaged) even below the recovery point",
          "[reliability][corruption][index][recovery]") {
  scratch_dir s;
  const std::string dir = s.sub("t-0");
  log_config cfg = small_config(1 << 20);
  cfg.index_interval_bytes = 100;
  tree image;
  {
    auto l = log::open(dir, opts_for(cfg));
    REQUIRE_OK(l);
    for (std::int64_t o = 0; o < 30; ++o) REQUIRE_OK((*l)->append(make_record(o, 40, ts_of(o)).view()));
    // The recovery point moves to the log end when a flush crosses a
    // segment: roll, append a few batches (the indexes grow by a
    // preallocated page), flush.
    REQUIRE_OK((*l)->roll());
    for (std::int64_t o = 30; o < 36; ++o) REQUIRE_OK((*l)->append(make_record(o, 40, ts_of(o)).view()));
    REQUIRE((*l)->segments().back().time_index_entries > 0);
    REQUIRE_OK((*l)->flush());
    image = snapshot(dir);  // what a kill -9 now leaves
  }
  const tree closed = snapshot(dir);
  REQUIRE(image.at(format::segment_file(30, ".timeindex")).size() % 12 != 0);  // preallocated
  REQUIRE(recovery_point_of(image.at("partition.checkpoint")) == 36);
  restore(dir, image);
  {
    auto l = log::open(dir, opts_for(cfg));
    REQUIRE_OK(l);
    // Its indexes were never fsynced: walked like data past the recovery
    // point, but nothing was wrong, and the sealed segment is trusted.
    CHECK((*l)->recovery().segments_validated == 1);
    CHECK((*l)->recovery().indexes_rebuilt == 0);
    CHECK((*l)->recovery().clean);
    CHECK((*l)->log_end_offset() == offset{36});
    test::require_each_offset_found(**l, 0, 36);
    REQUIRE_OK((*l)->close());
  }
  CHECK(snapshot(dir) == closed);
}

TEST_CASE("a damaged middle offset-index entry is found by the lookup that uses it and rebuilt identical at close",
          "[reliability][corruption][index]") {
  scratch_dir s;
  const std::string dir = s.sub("t-0");
  const auto t = write_three_segments(dir);
  const tree original = snapshot(dir);
  const std::string idx = format::segment_file(0, ".index");
  const std::string& data = original.at(idx);
  REQUIRE(data.size() >= 5 * 8);
  // Entry 2 points at entry 3's batch: still in order, so the open's checks
  // pass; a lookup landing there finds the wrong batch.
  std::string bad = data;
  std::memcpy(bad.data() + 2 * 8 + 4, data.data() + 3 * 8 + 4, 4);
  bad[3 * 8 + 4] = static_cast<char>(bad[3 * 8 + 4] + 1);  // keep positions increasing
  restore(dir, original);
  write_file(dir + "/" + idx, bad);
  {
    auto l = log::open(dir, opts_for(t.cfg));
    REQUIRE_OK(l);
    CHECK((*l)->recovery().indexes_rebuilt == 0);  // cheap open: not noticed yet
    require_each_offset_found(**l, 0, static_cast<std::int64_t>(t.recs.size()));
    CHECK((*l)->segments()[0].index_damaged);
    REQUIRE_OK((*l)->close());
  }
  CHECK(read_file(dir + "/" + idx) == data);
  auto l = log::open(dir, opts_for(t.cfg));
  REQUIRE_OK(l);
  CHECK((*l)->recovery().clean);
  CHECK_FALSE((*l)->segments()[0].index_damaged);
}

TEST_CASE("a too-small middle time-index timestamp never makes offsets_for_time skip a record",
          "[reliability][corruption][index][time]") {
  scratch_dir s;
  const std::string dir = s.sub("t-0");
  const auto t = write_three_segments(dir);
  const tree original = snapshot(dir);
  const std::string ti = format::segment_file(0, ".timeindex");
  const std::string& data = original.at(ti);
  REQUIRE(data.size() >= 5 * 12);
  // Entry 3's timestamp lowered to just above entry 2's: still in order.
  std::string bad = data;
  const auto t2 = format::load_le<std::int64_t>(reinterpret_cast<const std::byte*>(data.data()) + 2 * 12);
  const auto t3 = format::load_le<std::int64_t>(reinterpret_cast<const std::byte*>(data.data()) + 3 * 12);
  REQUIRE(t3 > t2 + 1);
  format::store_le(reinterpret_cast<std::byte*>(bad.data()) + 3 * 12, t2 + 1);
  write_file(dir + "/" + ti, bad);
  {
    auto l = log::open(dir, opts_for(t.cfg));
    REQUIRE_OK(l);
    // The record with timestamp t3 (and those between) lies at or before
    // the damaged entry's offset: a lookup that trusted it would skip them.
    for (std::int64_t ts = t2 + 1; ts <= t3; ++ts) {
      auto r = (*l)->offsets_for_time(timestamp{ts});
      REQUIRE_OK(r);
      REQUIRE(r->has_value());
      std::int64_t want = 0;
      while (ts_of(want) < ts) ++want;
      CHECK((*r)->off.value() == want);
    }
    CHECK((*l)->segments()[0].index_damaged);
    REQUIRE_OK((*l)->close());
  }
  CHECK(read_file(dir + "/" + ti) == data);
}

TEST_CASE("a record that fails to decode under a valid checksum names its file and byte",
          "[reliability][corruption]") {
  scratch_dir s;
  const std::string dir = s.sub("t-0");
  const log_config cfg = small_config(1 << 20);
  std::uint64_t second = 0;
  {
    auto l = log::open(dir, opts_for(cfg));
    REQUIRE_OK(l);
    REQUIRE_OK((*l)->append(make_record(0, 30, ts_of(0)).view()));
    second = (*l)->size_bytes();
    REQUIRE_OK((*l)->append(make_record(1, 30, ts_of(1)).view()));
    REQUIRE_OK((*l)->close());
  }
  // The second batch's record attributes byte (must be 0) set to 1, and
  // the checksum recomputed: the batch passes every check but decoding.
  const std::string log0 = format::segment_file(0, ".log");
  std::string data = read_file(dir + "/" + log0);
  auto* p = reinterpret_cast<std::byte*>(data.data() + second);
  const auto h = format::read_header(p);
  p[format::batch_header_size + 1] = std::byte{1};
  format::store_le(p + 16, format::checksum_of(p, static_cast<std::size_t>(h.batch_length) + format::log_overhead));
  write_file(dir + "/" + log0, data);
  auto l = log::open(dir, opts_for(cfg));
  REQUIRE_OK(l);
  auto rd = (*l)->read(offset{0}, 1 << 20);
  REQUIRE_OK(rd);
  auto rr = rd->records();
  record_view v;
  REQUIRE(rr.next(v));
  CHECK_FALSE(rr.next(v));
  REQUIRE(rr.status().code() == errc::corrupt_message);
  CHECK(rr.status().error().message.find(fmt::format("{}/{} at byte {}: batch at offset 1", dir, log0, second)) !=
        std::string::npos);
}

}  // namespace franz
