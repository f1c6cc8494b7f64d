// franz — the kill -9 loop (reliability suite, part 2).
//
// Each cycle spawns tests/reliability/kill9_writer (a real process, exec'd:
// TSan forbids forking a threaded parent), lets it run for a random time,
// kills it with SIGKILL, then reopens its data directory in this
// process and checks it against the acknowledgements the writer reported:
//   - every acknowledged (partition, offset) still in the log holds exactly
//     the record the writer sent (an acknowledged record is only allowed to
//     be gone when retention moved the log start past it — and retention
//     never leaves a log smaller than retention.bytes);
//   - every record has a good checksum and is one the writer could have
//     sent (its payload is a pure function of its key), none appears twice,
//     and offsets are dense from the log start to the log end;
//   - the reopen (the writer's, and this one) never fails.
// The directory is kept across cycles (state accumulates like a crashing
// service; retention bounds it), and replaced by a fresh one every
// fresh_every cycles; the first three cycles on a fresh directory kill the
// writer before its open is done, so kills land in the creation of the
// data directory, topics.meta, the topic and the logs. Otherwise a fifth
// of the kills come before the open is done (exec, open, recovery of what
// the previous cycle left; the writer reports when its open ended, and the
// test keeps a running estimate of how long that takes), the rest within
// 50 ms of writing. The summary counts the kills before the open was done.
//
// Modes (one test case each): producer acks=0 (nothing acknowledged: only
// integrity is checked), acks=1, acks=all, and basic_log::append with
// flush.messages at its default and at 1. Under kill -9 the page cache
// survives, so acks=1 and plain appends must lose nothing either.
//
// Cycles per mode: FRANZ_KILL9_CYCLES (default 150 in release builds, 60
// under sanitizers; a cycle costs 60-100 ms, most of it the fsyncs of the
// verifying reopen's close). The long run is FRANZ_KILL9_CYCLES=10000.
// FRANZ_KILL9_SEED repeats a run's kill times and writer seeds (it is
// printed on failure; timing still varies), FRANZ_KILL9_KEEP=DIR copies the
// data directory there when a check fails. Each case prints a one-line
// summary.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "process_util.hpp"
#include "reliability/kill9_payload.hpp"
#include "test_util.hpp"

namespace franz {

using namespace franz::test;

namespace {


constexpr std::int32_t partitions = 3;     // kill9_writer's
constexpr std::int64_t retention_bytes = 524288;  // kill9_writer's retention.bytes
constexpr int fresh_every = 30;
constexpr std::size_t ack_line_size = 64;

int cycles_per_mode() {
  if (const char* e = std::getenv("FRANZ_KILL9_CYCLES"); e != nullptr && *e != '\0') return std::atoi(e);
  return sanitized ? 60 : 150;
}

using kill9::fnv1a;
using kill9::make_payload;
using kill9::payload;

// --- acknowledgements -------------------------------------------------------

struct record_id {
  std::uint32_t run = 0;
  std::uint64_t seq = 0;
  friend auto operator<=>(const record_id&, const record_id&) = default;
};

struct ack_line {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t off = 0;
  record_id id;
};

struct ack_file {
  std::vector<ack_line> acks;
  std::size_t torn = 0;  // lines cut by the kill (or otherwise unreadable)
};

ack_file parse_acks(std::string_view data) {
  ack_file f;
  while (!data.empty()) {
    const auto nl = data.find('\n');
    if (nl == std::string_view::npos) {  // a last line without its newline
      ++f.torn;
      break;
    }
    const std::string_view line = data.substr(0, nl + 1);
    data.remove_prefix(nl + 1);
    char topic[16] = {};
    int part = 0;
    long long off = 0;
    unsigned run = 0;
    unsigned long long seq = 0;
    unsigned sum = 0;
    const std::string text(line);
    if (line.size() != ack_line_size ||
        static_cast<std::uint32_t>(fnv1a(line.substr(0, ack_line_size - 9))) !=
            static_cast<std::uint32_t>(std::strtoul(text.substr(ack_line_size - 9, 8).c_str(), nullptr, 16)) ||
        std::sscanf(text.c_str(), "acked %15s %d %lld %u %llu %x", topic, &part, &off, &run, &seq, &sum) != 6) {
      ++f.torn;
      continue;
    }
    f.acks.push_back({topic, part, off, {run, seq}});
  }
  return f;
}

// --- verification -----------------------------------------------------------

struct totals {
  int cycles = 0;
  int kills = 0;
  int early_kills = 0;            // before the writer reported its open done
  std::size_t acked = 0;          // acknowledgements reported by writers
  std::size_t verified = 0;       // ... found intact on their first check
  std::size_t rechecked = 0;      // later checks of earlier acknowledgements
  std::size_t retired = 0;        // ... gone below the log start (retention)
  std::size_t scanned = 0;        // records read and checked
  std::size_t torn_acks = 0;
  std::size_t lost = 0, duplicates = 0, corrupt = 0, failed_reopens = 0, gaps = 0;
  double kill_wait_s = 0;  // from SIGKILL until the writer was reaped
  double verify_s = 0;     // reopening and checking
  std::vector<std::string> problems;  // the first few, for the report

  void problem(std::size_t& counter, std::string what) {
    ++counter;
    if (problems.size() < 12) problems.push_back(std::move(what));
  }
};

// What the checks expect of one partition: acknowledged offsets and the
// records they hold; `fresh` marks acknowledgements of the current cycle.
struct expected_record {
  record_id id;
  bool fresh = false;
};
using expectations = std::map<std::int64_t, expected_record>;

// Reads the whole partition (any log with read/log_start_offset/...),
// checking every record, then checks the expectations against it and
// drops those below the log start.
template <class Log>
void verify_partition(const Log& log, std::int32_t part, expectations& exp, totals& t, std::set<record_id>& seen) {
  const std::int64_t start = log.log_start_offset().value();
  const std::int64_t end = log.log_end_offset().value();
  std::map<std::int64_t, record_id> present;
  std::int64_t next = start;
  while (next < end) {
    auto r = log.read(offset{next}, 1 << 20, std::nullopt, true);
    if (!r.ok()) {
      t.problem(t.corrupt, fmt::format("p{}: read at {}: {}", part, next, r.error().to_string()));
      break;
    }
    if (r->empty()) {
      t.problem(t.gaps, fmt::format("p{}: empty read at {} below the end {}", part, next, end));
      break;
    }
    auto rr = r->records();
    record_view v;
    const std::int64_t before = next;
    while (rr.next(v)) {
      ++t.scanned;
      if (v.off.value() != next) {
        t.problem(t.gaps, fmt::format("p{}: offset {} where {} was expected", part, v.off.value(), next));
        next = v.off.value();
      }
      ++next;
      unsigned run = 0;
      unsigned long long seq = 0;
      char tail = 0;
      const std::string key(v.key);
      if (std::sscanf(key.c_str(), "r%u.%llu%c", &run, &seq, &tail) != 2) {
        t.problem(t.corrupt, fmt::format("p{} offset {}: key '{}' is not the writer's", part, v.off.value(), key));
        continue;
      }
      const record_id id{run, seq};
      const payload want = make_payload(run, seq, part);
      std::string header;
      record_header h;
      header_iterator hi(v);
      std::size_t nh = 0;
      while (hi.next(h)) {
        ++nh;
        if (h.key == "h") header = std::string(h.value);
      }
      if (v.value != want.value || nh != (want.header.empty() ? 0u : 1u) || header != want.header) {
        t.problem(t.corrupt, fmt::format("p{} offset {}: record {} differs from what the writer sent", part,
                                         v.off.value(), key));
        continue;
      }
      if (!seen.insert(id).second)
        t.problem(t.duplicates, fmt::format("p{} offset {}: record {} appears twice", part, v.off.value(), key));
      present[v.off.value()] = id;
    }
    if (!rr.status().ok()) {
      t.problem(t.corrupt, fmt::format("p{}: {}", part, rr.status().error().to_string()));
      break;
    }
    if (next == before) {
      t.problem(t.gaps, fmt::format("p{}: a read at {} returned no records", part, next));
      break;
    }
  }
  if (next != end && t.problems.empty())
    t.problem(t.gaps, fmt::format("p{}: records end at {}, the log end is {}", part, next, end));
  // Retention keeps at least retention.bytes (it deletes a segment only if
  // what remains still holds that much); a smaller log past offset 0 lost
  // data below its start.
  if (start > 0 && static_cast<std::int64_t>(log.size_bytes()) < retention_bytes)
    t.problem(t.lost, fmt::format("p{}: log start {} but only {} bytes retained (retention.bytes {})", part, start,
                                  log.size_bytes(), retention_bytes));

  for (auto it = exp.begin(); it != exp.end();) {
    const std::int64_t off = it->first;
    const expected_record& e = it->second;
    if (off < start) {
      ++t.retired;
      it = exp.erase(it);
      continue;
    }
    if (e.fresh) ++t.verified;
    else ++t.rechecked;
    auto p = present.find(off);
    if (p == present.end())
      t.problem(t.lost, fmt::format("p{}: acknowledged offset {} (r{}.{}) is gone (log [{}, {}))", part, off,
                                    e.id.run, e.id.seq, start, end));
    else if (p->second != e.id)
      t.problem(t.lost, fmt::format("p{}: acknowledged offset {} holds r{}.{}, not r{}.{}", part, off,
                                    p->second.run, p->second.seq, e.id.run, e.id.seq));
    it->second.fresh = false;
    ++it;
  }
}

enum class kind { producer, log };

struct mode_spec {
  const char* name;  // kill9_writer's MODE
  kind k;
};

// Reopens the data directory and verifies every partition.
void verify_dir(const std::string& data, const mode_spec& m, std::vector<expectations>& exp, totals& t) {
  std::set<record_id> seen;
  if (m.k == kind::producer) {
    broker_options o;
    o.data_dir = data;
    o.create_if_missing = false;
    o.background_maintenance = false;
    if (!std::filesystem::exists(data)) {
      for (auto& e : exp)
        if (!e.empty()) t.problem(t.lost, "the data directory is gone");
      return;
    }
    auto b = broker::open(o);
    if (!b) {
      t.problem(t.failed_reopens, "broker reopen: " + b.error().to_string());
      return;
    }
    auto topic = (*b)->find_topic("k9");
    if (!topic) {
      // Killed before create_topic returned: nothing can have been acked.
      for (auto& e : exp)
        if (!e.empty()) t.problem(t.lost, "topic k9 is gone but records were acknowledged");
      return;
    }
    if ((*topic)->partitions.size() != static_cast<std::size_t>(partitions)) {
      t.problem(t.lost, fmt::format("topic k9 has {} partitions", (*topic)->partitions.size()));
      return;
    }
    for (std::int32_t p = 0; p < partitions; ++p)
      verify_partition((*topic)->partitions[static_cast<std::size_t>(p)]->log(), p,
                       exp[static_cast<std::size_t>(p)], t, seen);
    if (auto s = (*b)->close(); !s.ok()) t.problem(t.failed_reopens, "broker close: " + s.error().to_string());
  } else {
    for (std::int32_t p = 0; p < partitions; ++p) {
      const std::string dir = data + "/p" + std::to_string(p);
      auto& e = exp[static_cast<std::size_t>(p)];
      if (!std::filesystem::exists(dir)) {
        if (!e.empty()) t.problem(t.lost, dir + " is gone but records were acknowledged");
        continue;
      }
      log_options o;  // the writer's config
      o.config.segment_bytes = 65536;
      o.config.index_interval_bytes = 512;
      o.config.retention_bytes = retention_bytes;
      o.config.retention_ms = -1;
      o.create_if_missing = false;
      auto l = log::open(dir, o);
      if (!l) {
        t.problem(t.failed_reopens, "log reopen: " + l.error().to_string());
        continue;
      }
      verify_partition(**l, p, e, t, seen);
      if (auto s = (*l)->close(); !s.ok()) t.problem(t.failed_reopens, "log close: " + s.error().to_string());
    }
  }
}

bool has_sanitizer_report(const std::string& err) {
  return err.find("Sanitizer") != std::string::npos || err.find("runtime error:") != std::string::npos;
}

// The writer's environment: a sanitizer report ends it (exit code instead
// of SIGKILL), so a report cut short by the kill is still noticed.
std::map<std::string, std::string> writer_env() {
  std::map<std::string, std::string> env;
  for (const char* name : {"TSAN_OPTIONS", "UBSAN_OPTIONS"}) {
    const char* v = std::getenv(name);
    env[name] = std::string(v != nullptr && *v != '\0' ? std::string(v) + ":" : "") + "halt_on_error=1";
  }
  return env;
}

void run_kill9(const mode_spec& m) {
  const int cycles = cycles_per_mode();
  std::random_device rd;
  const std::uint64_t seed = std::getenv("FRANZ_KILL9_SEED") ? std::strtoull(std::getenv("FRANZ_KILL9_SEED"), nullptr, 10)
                                                            : (static_cast<std::uint64_t>(rd()) << 32 | rd());
  INFO("mode " << m.name << ", FRANZ_KILL9_SEED=" << seed);
  std::mt19937_64 rng(seed);
  totals t;
  const auto t0 = std::chrono::steady_clock::now();
  std::optional<temp_dir> dir;
  std::vector<expectations> exp(partitions);
  // How long a writer takes from spawn to open done, measured as it goes.
  double open_estimate_ms = sanitized ? 100 : 10;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (int c = 0; c < cycles; ++c) {
    if (c % fresh_every == 0) {
      dir.reset();
      dir.emplace();
      for (auto& e : exp) e.clear();
    }
    const std::string data = dir->sub("data");
    const std::string acks = dir->sub("acks");
    // Kills spread over the whole life of a writer: a fifth before its open
    // is done (exec, open, recovery), the rest while it writes; the first
    // cycles on a fresh directory all aim at its creation.
    const double open_ms = open_estimate_ms;
    const bool early = c % fresh_every < 3 || rng() % 5 == 0;
    const double delay_ms = early ? uniform(rng) * open_ms : open_ms + uniform(rng) * 50;
    INFO("cycle " << c << ", kill after " << delay_ms << " ms");
    run_result r;
    const auto spawned = std::chrono::steady_clock::now();
    {
      child w({FRANZ_KILL9_WRITER, data, m.name, std::to_string(c + 1), std::to_string(rng()), acks}, {},
              writer_env());
      std::this_thread::sleep_until(spawned + std::chrono::microseconds(static_cast<std::int64_t>(delay_ms * 1000)));
      const auto k0 = std::chrono::steady_clock::now();
      w.signal(SIGKILL);
      r = w.wait();
      t.kill_wait_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - k0).count();
    }
    ++t.cycles;
    INFO("writer stdout: " << r.out << "\nwriter stderr: " << r.err);
    // The writer never exits on its own: anything but SIGKILL is a failure
    // (3 = its reopen failed, 4 = a write failed).
    REQUIRE(r.rc == 128 + SIGKILL);
    REQUIRE_FALSE(has_sanitizer_report(r.err));
    ++t.kills;
    if (const auto at = r.out.find("opened "); at != std::string::npos) {
      // How long this open took: the estimate follows the directory's growth.
      const auto opened = std::chrono::steady_clock::time_point(
          std::chrono::nanoseconds(std::strtoll(r.out.c_str() + at + 7, nullptr, 10)));
      const double took = std::chrono::duration<double, std::milli>(opened - spawned).count();
      if (took > 0 && took < 10000) open_estimate_ms = 0.8 * open_estimate_ms + 0.2 * took;
    } else {
      ++t.early_kills;
    }

    auto f = parse_acks(read_file(acks));
    std::filesystem::remove(acks);
    t.torn_acks += f.torn;
    // Each writer thread can be cut inside at most one write.
    CHECK(f.torn <= 4);
    if (std::string_view(m.name) == "acks0") CHECK(f.acks.empty());
    for (const auto& a : f.acks) {
      ++t.acked;
      const bool ok_topic = a.topic == (m.k == kind::producer ? "k9" : "log");
      if (!ok_topic || a.partition < 0 || a.partition >= partitions || a.off < 0) {
        t.problem(t.corrupt, fmt::format("bad ack line: {} {} {}", a.topic, a.partition, a.off));
        continue;
      }
      auto [it, inserted] = exp[static_cast<std::size_t>(a.partition)].emplace(a.off, expected_record{a.id, true});
      if (!inserted && it->second.id != a.id)
        t.problem(t.duplicates, fmt::format("p{} offset {} acknowledged for r{}.{} and r{}.{}", a.partition, a.off,
                                            it->second.id.run, it->second.id.seq, a.id.run, a.id.seq));
    }
    const auto v0 = std::chrono::steady_clock::now();
    verify_dir(data, m, exp, t);
    t.verify_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - v0).count();
    if (!t.problems.empty()) {
      // For a post-mortem: the directory as the verifier left it.
      if (const char* keep = std::getenv("FRANZ_KILL9_KEEP"); keep != nullptr && *keep != '\0') {
        std::error_code ec;
        std::filesystem::copy(dir->path(), keep, std::filesystem::copy_options::recursive, ec);
      }
      break;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string summary = fmt::format(
      "kill9 {}: {} cycles, {} kills ({} before the writer's open finished), {} acks, {} verified on first check, "
      "{} re-checks, {} retired by retention, {} records scanned; lost {}, duplicates {}, corrupt {}, gaps {}, "
      "failed reopens {}, torn ack lines {}; {:.1f} s ({:.1f} s reaping killed writers, {:.1f} s verifying)",
      m.name, t.cycles, t.kills, t.early_kills, t.acked, t.verified, t.rechecked, t.retired, t.scanned, t.lost,
      t.duplicates, t.corrupt, t.gaps, t.failed_reopens, t.torn_acks, secs, t.kill_wait_s, t.verify_s);
  std::printf("%s\n", summary.c_str());
  std::string details;
  for (const auto& p : t.problems) details += p + "\n";
  INFO(details);
  CHECK(t.lost == 0);
  CHECK(t.duplicates == 0);
  CHECK(t.corrupt == 0);
  CHECK(t.gaps == 0);
  CHECK(t.failed_reopens == 0);
  CHECK(t.cycles == cycles);
  // The loop must have tested something: writes were acknowledged and
  // checked, and some kills landed during the writer's open.
  if (std::string_view(m.name) != "acks0" && cycles >= 20) CHECK(t.verified > 0);
  CHECK(t.scanned > 0);
}

}  // namespace

// Found by the loop: a writer killed inside its first broker open, between
// creating topics.meta.tmp and renaming it, leaves a data directory with
// the .tmp and no topics.meta. The next open writes (and renames) a fresh
// topics.meta.tmp before it removes the leftovers it listed.
TEST_CASE("a kill before the first topics.meta was renamed into place: the next open succeeds",
          "[reliability][kill9]") {
  temp_dir d;
  const std::string data = d.sub("data");
  REQUIRE(std::filesystem::create_directory(data));
  write_file(data + "/topics.meta.tmp", "half-written");
  broker_options o;
  o.data_dir = data;
  o.background_maintenance = false;
  auto b = broker::open(o);
  INFO((b.ok() ? std::string() : b.error().to_string()));
  REQUIRE(b.ok());
  CHECK((*b)->list_topics().empty());
  REQUIRE_OK((*b)->create_topic("t", 1));
  REQUIRE_OK((*b)->close());
  b = broker::open(o);
  REQUIRE(b.ok());
  CHECK((*b)->list_topics() == std::vector<std::string>{"t"});
  CHECK_FALSE(std::filesystem::exists(data + "/topics.meta.tmp"));
}

TEST_CASE("kill -9 of a producer with acks=0 leaves no corrupt, duplicate or missing-offset record",
          "[reliability][kill9]") {
  run_kill9({"acks0", kind::producer});
}

TEST_CASE("kill -9 of a producer with acks=1 loses no acknowledged record", "[reliability][kill9]") {
  run_kill9({"acks1", kind::producer});
}

TEST_CASE("kill -9 of a producer with acks=all loses no acknowledged record", "[reliability][kill9]") {
  run_kill9({"acksall", kind::producer});
}

TEST_CASE("kill -9 of a log writer (flush.messages default) loses no appended record", "[reliability][kill9]") {
  run_kill9({"log", kind::log});
}

TEST_CASE("kill -9 of a log writer with flush.messages=1 loses no appended record", "[reliability][kill9]") {
  run_kill9({"log_flush", kind::log});
}

}  // namespace franz
