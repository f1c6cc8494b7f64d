// Simulated power loss (doc/reliability.md, test 1).
//
// A workload runs against a log (or a broker) on fault_fs. After every
// mutating file operation — every prefix of the recorded operations — and at
// the end of every step, fault_fs writes crash images of the data directory:
// what a power loss at that instant could leave (unsynced data dropped, kept,
// kept in part, zeroed, garbled or page-scrambled; unsynced creates, renames
// and unlinks rolled back or kept). Each image is opened on the real file
// system and checked against a model of what the workload was promised:
//  - no acknowledged-durable record lost (acknowledged = below the durable
//    offset that flush, acks=all or truncate_to reported);
//  - every record returned was written at that offset (none corrupt, none
//    invented), and offsets are dense from the log start;
//  - the log start lies between the last durable delete and what the
//    attempted deletes and retention could have removed;
//  - committed offsets are values that were committed, not behind the last
//    durable commit, and not past the log end;
//  - topics whose creation returned exist; no topic that was never created;
//  - segments sealed when a flush completed are trusted on open: loaded
//    from their indexes, not walked (the index fsync's promise: recovery
//    time, not data);
//  - a second open finds exactly what the first found.
//
// Workload steps are a table (step_kind); a new feature (compaction,
// transactions, readers in other processes) joins as a new step with its
// model update, and every check and crash state applies to it unchanged.
// One step is a power cycle: a crash between steps, then a reopen on the
// same fault_fs, so that recovery's own file operations are crash points
// and the workload goes on from what recovery left.
//
// Forms: CI runs every sequence of up to 3 steps for both subjects (those
// with a power cycle up to 3 steps for the log, 2 for the broker) plus 25
// random workloads per subject (sanitizer builds skip for now);
// FRANZ_POWER_RANDOM=N sets the random workloads per subject (long run:
// 250) and FRANZ_POWER_VARIANTS=N the random crash images per crash point
// besides the all-dropped and all-kept ones (long run: .ci/long power).
// To reproduce one failure: FRANZ_POWER_SEED=N runs only the workload of
// that seed (sequences and random workloads have distinct seeds); FRANZ_POWER_SITE=file:line makes the sensitivity test drop
// that one sync site.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <xxhash.h>

#include "franz/format/file_names.hpp"
#include "franz/franz.hpp"
#include "franz/io/fault_fs.hpp"
#include "test_util.hpp"

namespace franz::test {
namespace {

using io::crash_kind;


std::uint64_t env_or(const char* name, std::uint64_t dflt) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : dflt;
}

struct rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::int64_t in(std::int64_t lo, std::int64_t hi) {  // [lo, hi]
    return hi <= lo ? lo : lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
};

// --- the model: what a crash may and must leave ------------------------------

struct partition_model {
  std::map<std::int64_t, std::string> cur;            // the live log, offset -> value
  std::map<std::int64_t, std::int64_t> ts;            // offset -> timestamp of cur
  std::map<std::int64_t, std::set<std::string>> may;  // every value a crash may bring back
  std::map<std::int64_t, std::string> must;           // acknowledged durable, not deleted
  std::int64_t min_start = 0;                         // durable deletes reached here
  std::int64_t max_start = 0;                         // attempted deletes could reach here
  // Segments with a base below this were sealed when a flush completed
  // (their indexes synced, the recovery point past them): open must trust
  // them, loading their indexes without walking their data (doc/storage.md,
  // "On open"). Lowered by truncate_to; deletes only remove such segments.
  std::int64_t trusted_below = 0;
};

struct commit_model {
  std::optional<std::int64_t> durable;  // the last commit_sync that returned
  std::set<std::int64_t> allowed;       // the durable one and every one tried since
};

struct model {
  std::map<std::string, partition_model> parts;  // "topic-partition"
  std::set<std::string> topics_must, topics_may;
  std::map<std::string, commit_model> commits;  // "topic-partition" of group g
};

std::string key_of(std::string_view topic, std::int32_t p) { return fmt::format("{}-{}", topic, p); }

// What an opened image holds, for the twice-opened comparison.
struct image_state {
  std::map<std::string, std::int64_t> starts;
  std::map<std::string, std::vector<std::pair<std::int64_t, std::string>>> records;
  std::map<std::string, std::int64_t> commits;
  bool operator==(const image_state&) const = default;
};

// Checks one partition's recovered records against the model.
void check_partition(const std::string& name, const partition_model& m, std::int64_t start,
                     const std::vector<std::pair<std::int64_t, std::string>>& recs, std::vector<std::string>& bad) {
  if (start < m.min_start || start > std::max(m.max_start, m.min_start))
    bad.push_back(fmt::format("{}: log start {} outside [{}, {}]", name, start, m.min_start, m.max_start));
  std::int64_t expect = start;
  for (const auto& [off, value] : recs) {
    if (off != expect) {
      bad.push_back(fmt::format("{}: offset {} where {} was due (offsets not dense)", name, off, expect));
      return;
    }
    ++expect;
    const auto it = m.may.find(off);
    if (it == m.may.end() || it->second.count(value) == 0) {
      bad.push_back(fmt::format("{}: offset {} holds a value never written there ({} bytes)", name, off, value.size()));
      return;
    }
  }
  for (const auto& [off, value] : m.must) {
    if (off < start) continue;
    if (off >= expect) {
      bad.push_back(fmt::format("{}: acknowledged-durable offset {} lost (log ends at {})", name, off, expect));
      return;
    }
    if (recs[static_cast<std::size_t>(off - start)].second != value) {
      bad.push_back(fmt::format("{}: acknowledged-durable offset {} changed", name, off));
      return;
    }
  }
}

// --- workload steps -------------------------------------------------------------

enum class step_kind : std::uint8_t {
  append_one,
  append_many,
  roll,
  flush,
  retention,
  delete_records,
  delete_records_full,
  commit_offset,
  truncate,
  create_topic,
  rewrite,
  power_cycle,
};
constexpr std::array all_steps{step_kind::append_one,          step_kind::append_many,   step_kind::roll,
                               step_kind::flush,               step_kind::retention,     step_kind::delete_records,
                               step_kind::delete_records_full, step_kind::commit_offset, step_kind::truncate,
                               step_kind::create_topic,        step_kind::rewrite,       step_kind::power_cycle};

const char* step_name(step_kind k) {
  switch (k) {
    case step_kind::append_one: return "append 1";
    case step_kind::append_many: return "append many";
    case step_kind::roll: return "roll";
    case step_kind::flush: return "flush";
    case step_kind::retention: return "retention";
    case step_kind::delete_records: return "delete records";
    case step_kind::delete_records_full: return "delete records, disk full";
    case step_kind::commit_offset: return "commit offset";
    case step_kind::truncate: return "truncate";
    case step_kind::create_topic: return "create topic";
    case step_kind::rewrite: return "rewrite";
    case step_kind::power_cycle: return "power cycle";
  }
  return "?";
}

constexpr std::int64_t segment_ms = 2000;
constexpr std::int64_t flush_ms = 500;
constexpr std::int64_t retention_ms = 8000;

log_config workload_config() {
  log_config c;
  c.segment_bytes = 4096;
  c.segment_index_bytes = 240;  // 20 entries: index files stay small
  c.index_interval_bytes = 128;
  c.segment_ms = segment_ms;
  c.retention_ms = retention_ms;
  return c;
}

// A system under test: a storage log, or a broker with topics and a group.
// Steps run on the test's thread; the op hook may run on franz's threads, so
// every model change happens under mu and the checks work on a copy.
class subject {
 public:
  virtual ~subject() = default;
  virtual bool supports(step_kind k) const = 0;
  // Opens the system and makes its starting state (not checked).
  virtual void setup() = 0;
  virtual void run(step_kind k, rng& r) = 0;
  // Opens the image at root twice and checks it.
  virtual std::vector<std::string> check_image(const std::string& root, const model& m) = 0;
  virtual void shut() = 0;
  // After a power cycle: opens the system again on the same fault_fs (its
  // recovery's file operations are crash points too) and learns what
  // survived. Sets error if it cannot.
  virtual void reopen() = 0;

  model snapshot() {
    std::lock_guard g(mu);
    return m;
  }

  std::mutex mu;
  model m;
  manual_clock clk{1'700'000'000'000};
  io::fault_fs fs;
  std::string root;   // the tree crash images are made of
  std::string error;  // a step that failed unexpectedly
  // While set, file operations are no crash points (the power cycle's
  // crashed shutdown, whose calls all fail, changes nothing on disk).
  std::atomic<bool> quiet{false};
  // Set by the power cycle: the machine goes down after this many more file
  // operations (counted by the op hook, see run_workload).
  std::atomic<std::int64_t> crash_countdown{0};
  void crash_now() {
    quiet = true;
    fs.crash();
    crashed_ = true;
  }

 protected:
  // The power cycle step: a power loss between steps, then a reopen on the
  // same fault_fs. The tree becomes a crash image of the kind the step
  // draws (all unsynced changes dropped, all kept, or mixed), so recovery
  // meets torn tails as well as clean rollbacks. The model needs no update
  // for the crash itself: every check already allows what a crash may
  // leave; reopen() makes the live state (cur) what survived.
  void power_cycle(rng& r) {
    // Half the cycles lose power inside a step: another step runs, and the
    // machine goes down after a random number of its file operations. What
    // it attempted is in the model already; its error is the crash's (a
    // step that fails without the crash stays a failure). A flush cut short
    // may have moved the durable offset without writing its checkpoint: the
    // trusted bound does not move for it.
    if (r.in(0, 1) == 0) {
      std::vector<step_kind> ks;
      for (auto k : all_steps)
        if (k != step_kind::power_cycle && supports(k)) ks.push_back(k);
      const step_kind k = ks[static_cast<std::size_t>(r.in(0, static_cast<std::int64_t>(ks.size()) - 1))];
      crashed_ = false;
      interrupted_ = true;
      crash_countdown = r.in(1, 30);
      run(k, r);
      crash_countdown = 0;
      interrupted_ = false;
      if (crashed_) error.clear();
      if (!error.empty()) return;
    }
    crash_now();
    shut();
    constexpr std::array kinds{crash_kind::drop, crash_kind::keep, crash_kind::mixed};
    const crash_kind kind = kinds[static_cast<std::size_t>(r.in(0, 2))];
    const std::string image = root + ".cycle";
    status st = fs.write_crash_image(root, image, kind, r.next());
    // reboot() brings fault_fs back up and forgets what it tracked; the
    // tree is then replaced by the image before fault_fs touches it again,
    // so what it finds there is the durable state it starts from.
    if (auto b = fs.reboot(); st.ok() && !b.ok()) st = std::move(b);
    if (st.ok()) {
      std::error_code ec;
      std::filesystem::remove_all(root, ec);
      if (!ec) std::filesystem::rename(image, root, ec);
      if (ec) st = make_error(errc::kafka_storage_error, "power cycle: replacing the tree: " + ec.message());
    }
    quiet = false;
    if (!st.ok()) {
      if (error.empty()) error = "power cycle: " + st.error().to_string();
      return;
    }
    {
      // What the model knew as durable before is what reopen() starts from.
      std::lock_guard g(mu);
      last_durable_.clear();
    }
    reopen();
  }
  // The records a reopen found become the live log; their timestamps are
  // the ones they were written with.
  void survived(const std::string& part, const std::vector<std::pair<std::int64_t, std::string>>& recs) {
    std::lock_guard g(mu);
    auto& p = m.parts[part];
    std::map<std::int64_t, std::string> cur;
    std::map<std::int64_t, std::int64_t> ts;
    for (const auto& [off, v] : recs) {
      cur[off] = v;
      const auto t = p.ts.find(off);
      ts[off] = t != p.ts.end() ? t->second : clk.now_ms();
    }
    p.cur = std::move(cur);
    p.ts = std::move(ts);
  }
  // After a step, with the partition's durable offset and segment bases:
  // if durable moved up to D, a flush ran to completion; the segment then
  // active is the last one with a base below D (later ones start at D or
  // above), and every segment before it was sealed then, so synced with its
  // indexes. (If that flush found an empty active segment based at D, the
  // bound is one segment short: the check is only weaker.)
  void note_durable(const std::string& part, std::int64_t durable, const std::vector<std::int64_t>& bases) {
    std::lock_guard g(mu);
    auto [last, fresh] = last_durable_.try_emplace(part, durable);
    if (interrupted_) return;
    if (!fresh && durable > last->second) {
      auto& p = m.parts[part];
      for (const auto b : bases)
        if (b < durable) p.trusted_below = std::max(p.trusted_below, b);
    }
    last->second = durable;
  }
  // Before a truncate_to: the segment holding the target becomes the
  // active one and is walked on open from then on.
  void untrust_from(const std::string& part, std::int64_t base) {
    std::lock_guard g(mu);
    auto& p = m.parts[part];
    p.trusted_below = std::min(p.trusted_below, base);
  }

  // A new value of exactly n bytes (distinct from every earlier one but by
  // chance when n is shorter than the sequence-number prefix).
  std::string value_sized(rng& r, std::size_t n) {
    std::string v = fmt::format("v{}-", ++seq_);
    if (v.size() > n) v.clear();
    while (v.size() < n) v.push_back(static_cast<char>((v.empty() || v[0] != 'v' ? 'A' : 'a') + r.in(0, 25)));
    return v;
  }
  std::string next_value(rng& r) {
    const std::size_t n = static_cast<std::size_t>(r.in(1, 120));
    std::string v = fmt::format("v{}-", ++seq_);
    while (v.size() < n) v.push_back(static_cast<char>('a' + r.in(0, 25)));
    return v;
  }
  // Before an append at `off` of value v: a crash from now on may keep it.
  void may_write(const std::string& part, std::int64_t off, const std::string& v) {
    std::lock_guard g(mu);
    m.parts[part].may[off].insert(v);
  }
  // After a step: the live log is [start, end) with cur; below durable is acknowledged.
  void settle(const std::string& part, std::int64_t start, std::int64_t end, std::int64_t durable) {
    // A step the power cycle cut short leaves no state to learn from: its
    // system crashed part-way (a truncate that failed still shows what it
    // was removing); reopen() learns what survived.
    if (interrupted_) return;
    std::lock_guard g(mu);
    auto& p = m.parts[part];
    p.cur.erase(p.cur.lower_bound(end), p.cur.end());
    p.ts.erase(p.ts.lower_bound(end), p.ts.end());
    p.cur.erase(p.cur.begin(), p.cur.lower_bound(start));
    p.must.erase(p.must.begin(), p.must.lower_bound(start));
    for (auto it = p.cur.lower_bound(start); it != p.cur.end() && it->first < durable; ++it)
      p.must[it->first] = it->second;
  }
  // The highest start retention could reach now: the first record not yet expired.
  std::int64_t retention_reach(const std::string& part, std::int64_t end) {
    std::lock_guard g(mu);
    const auto& p = m.parts[part];
    for (const auto& [off, t] : p.ts)
      if (t >= clk.now_ms() - retention_ms) return off;
    return end;
  }
  void allow_start(const std::string& part, std::int64_t up_to) {
    std::lock_guard g(mu);
    auto& p = m.parts[part];
    p.max_start = std::max(p.max_start, up_to);
  }

 private:
  std::uint64_t seq_ = 0;
  std::map<std::string, std::int64_t> last_durable_;  // per partition, under mu
  std::atomic<bool> crashed_{false};   // crash_now() ran
  std::atomic<bool> interrupted_{false};  // a step the power cycle cuts short is running
};

// An opened log's recovery against the model's trusted bound: no segment
// below it was walked (validated or rebuilt). A segment wholly below the
// log start is exempt: it is one whose deletion a power loss rolled back,
// and recovery walks such a segment when the checkpoint's recovery point
// is below it (it holds no record anyone can read; see the report).
template <class Log>
void check_trusted(const std::string& name, const partition_model& m, const Log& l, std::vector<std::string>& bad) {
  const recovery_report& rep = l.recovery();
  if (rep.first_walked_base >= m.trusted_below) return;
  for (const auto& seg : l.segments())
    if (seg.base_offset.value() == rep.first_walked_base && seg.next_offset <= l.log_start_offset()) return;
  bad.push_back(fmt::format("{}: open walked the segment at {}, sealed and flushed below the recovery point "
                            "(segments below {} must be trusted; {} validated, {} indexes rebuilt)",
                            name, rep.first_walked_base, m.trusted_below, rep.segments_validated,
                            rep.indexes_rebuilt));
}

// --- subject 1: the storage log -------------------------------------------------

class log_subject final : public subject {
 public:
  explicit log_subject(std::string dir) : dir_(std::move(dir)) { root = dir_; }

  bool supports(step_kind k) const override {
    return k != step_kind::commit_offset && k != step_kind::create_topic;
  }
  // The longest sequences holding a power cycle (run_all_sequences).
  static constexpr std::size_t power_cycle_max_len = 3;

  void setup() override {
    auto l = basic_log<io::fault_fs>::open(dir_ + "/t-0", opts_for(workload_config(), &clk), fs);
    REQUIRE(l.ok());
    log_ = std::move(*l);
    rng r{7};
    for (int i = 0; i < 12; ++i) REQUIRE(append(r, 1).ok());
    REQUIRE(log_->flush().ok());
    after();
  }

  void run(step_kind k, rng& r) override {
    clk.advance(r.in(1, 20));
    status st;
    switch (k) {
      case step_kind::append_one:
        st = append(r, 1);
        break;
      case step_kind::append_many:
        for (int i = 0; i < 3 && st.ok(); ++i) st = append(r, static_cast<int>(r.in(4, 14)));
        break;
      case step_kind::roll:
        st = log_->roll();
        break;
      case step_kind::flush:
        st = log_->flush();
        break;
      case step_kind::retention: {
        clk.advance(retention_ms / 2 + r.in(0, retention_ms));
        allow_start("t-0", retention_reach("t-0", end()));
        auto n = log_->enforce_retention();
        if (!n) st = std::move(n).error();
        break;
      }
      case step_kind::delete_records: {
        const std::int64_t to = r.in(start(), end());
        allow_start("t-0", to);
        auto s = log_->delete_records(offset{to});
        if (!s) {
          st = std::move(s).error();
        } else {
          std::lock_guard g(mu);
          auto& p = m.parts["t-0"];
          p.min_start = std::max(p.min_start, s->value());
        }
        break;
      }
      case step_kind::delete_records_full: {
        // No free block, not even for the checkpoint's .tmp: delete_records
        // deletes segments first. Half the time that frees space (as when
        // no reader holds them), half the time not (OUT_OF_SPACE). Either
        // way the start the log reports on return was made durable first.
        const std::int64_t to = r.in(start(), end());
        allow_start("t-0", to);
        fs.set_space_budget(0, /*unlink_refunds=*/r.in(0, 1) == 1);
        auto s = log_->delete_records(offset{to});
        fs.set_space_budget(std::nullopt);
        if (!s && s.code() != errc::out_of_space) {
          st = std::move(s).error();
        } else {
          const std::int64_t now = start();
          std::lock_guard g(mu);
          auto& p = m.parts["t-0"];
          p.min_start = std::max(p.min_start, now);
        }
        break;
      }
      case step_kind::truncate:
        st = truncate_some(r, INT64_MAX, nullptr, nullptr);
        break;
      case step_kind::rewrite: {
        // What a follower does when its leader changes: truncate, then
        // append the removed batches again (new values of the same sizes)
        // in the same segments, flushing each. First a durable segment
        // boundary above the cut: the segment rolled there again reuses
        // the name of the one truncate deleted, and only truncate's
        // directory fsync keeps the old file (with the old records) from
        // coming back after a power loss.
        st = log_->roll();
        const std::int64_t boundary = end();
        if (st.ok()) st = append(r, static_cast<int>(r.in(1, 4)));
        if (st.ok()) st = log_->flush();
        std::vector<std::vector<std::size_t>> shapes;
        std::set<std::int64_t> bases;
        if (st.ok()) st = truncate_some(r, boundary, &shapes, &bases);
        for (const auto& shape : shapes) {
          if (!st.ok()) break;
          if (bases.count(end()) != 0) st = log_->roll();
          std::vector<std::string> values;
          for (const auto n : shape) values.push_back(value_sized(r, n));
          if (st.ok()) st = append_values(std::move(values));
          if (st.ok()) st = log_->flush();
        }
        break;
      }
      case step_kind::power_cycle:
        power_cycle(r);
        break;
      default:
        FAIL("unsupported step");
    }
    if (!st.ok() && error.empty()) error = fmt::format("{}: {}", step_name(k), st.error().to_string());
    if (log_) after();
  }

  void reopen() override {
    auto l = basic_log<io::fault_fs>::open(dir_ + "/t-0", opts_for(workload_config(), &clk), fs);
    if (!l.ok()) {
      error = "power cycle: reopen failed: " + l.error().to_string();
      return;
    }
    log_ = std::move(*l);
    std::vector<std::string> bad;
    check_trusted("t-0", snapshot().parts["t-0"], *log_, bad);
    std::vector<std::pair<std::int64_t, std::string>> recs;
    if (read_log(*log_, recs, bad)) survived("t-0", recs);
    if (!bad.empty()) {
      error = "power cycle: " + bad.front();
      return;
    }
    batches_.erase(batches_.lower_bound(end()), batches_.end());
  }

  std::vector<std::string> check_image(const std::string& image, const model& want) override {
    std::vector<std::string> bad;
    image_state first;
    for (int round = 0; round < 2; ++round) {
      image_state s;
      {
        io::fault_fs real;  // passes through to the image's files, without slow real fsyncs
        auto l = basic_log<io::fault_fs>::open(image + "/t-0", opts_for(workload_config(), &clk), real);
        if (!l.ok()) {
          bad.push_back(fmt::format("open #{} failed: {}", round + 1, l.error().to_string()));
          return bad;
        }
        s.starts["t-0"] = (*l)->log_start_offset().value();
        if (round == 0) check_trusted("t-0", want.parts.at("t-0"), **l, bad);
        if (!read_log(**l, s.records["t-0"], bad)) return bad;
        if (auto c = (*l)->close(); !c.ok()) bad.push_back("close failed: " + c.error().to_string());
      }
      if (round == 0) {
        check_partition("t-0", want.parts.at("t-0"), s.starts["t-0"], s.records["t-0"], bad);
        first = std::move(s);
      } else if (!(s == first)) {
        bad.push_back("a second open found a different log than the first");
      }
    }
    return bad;
  }

  void shut() override {
    if (log_) (void)log_->close();
    log_.reset();
  }

  template <class Log>
  static bool read_log(const Log& l, std::vector<std::pair<std::int64_t, std::string>>& out,
                       std::vector<std::string>& bad) {
    std::int64_t next = l.log_start_offset().value();
    while (next < l.log_end_offset().value()) {
      auto rd = l.read(offset{next}, 1 << 20);
      if (!rd.ok()) {
        bad.push_back(fmt::format("read at {} failed: {}", next, rd.error().to_string()));
        return false;
      }
      if (rd->empty()) {
        bad.push_back(fmt::format("read at {} returned nothing before the log end", next));
        return false;
      }
      auto rr = rd->records();
      record_view v;
      while (rr.next(v)) {
        out.emplace_back(v.off.value(), std::string(v.value));
        next = v.off.value() + 1;
      }
      if (!rr.status().ok()) {
        bad.push_back("decode failed: " + rr.status().error().to_string());
        return false;
      }
    }
    return true;
  }

 private:
  std::int64_t start() const { return log_->log_start_offset().value(); }
  std::int64_t end() const { return log_->log_end_offset().value(); }

  status append(rng& r, int n) {
    std::vector<std::string> values;
    for (int i = 0; i < n; ++i) values.push_back(next_value(r));
    return append_values(std::move(values));
  }
  status append_values(std::vector<std::string> values) {
    const int n = static_cast<int>(values.size());
    std::vector<record> recs;
    for (const auto& v : values) recs.push_back({.value = as_bytes_view(v)});
    const std::int64_t base = end();
    for (int i = 0; i < n; ++i) may_write("t-0", base + i, values[static_cast<std::size_t>(i)]);
    auto info = log_->append(recs);
    if (!info) return std::move(info).error();
    auto& sizes = batches_[base];
    for (const auto& v : values) sizes.push_back(v.size());
    std::lock_guard g(mu);
    auto& p = m.parts["t-0"];
    for (int i = 0; i < n; ++i) {
      p.cur[base + i] = values[static_cast<std::size_t>(i)];
      p.ts[base + i] = clk.now_ms();
    }
    return {};
  }
  static bytes_view as_bytes_view(const std::string& s) { return bytes_view(s); }

  void after() {
    settle("t-0", start(), end(), log_->durable_offset().value());
    std::vector<std::int64_t> bases;
    for (const auto& seg : log_->segments()) bases.push_back(seg.base_offset.value());
    note_durable("t-0", log_->durable_offset().value(), bases);
  }

  std::string dir_;
  std::unique_ptr<basic_log<io::fault_fs>> log_;
  std::map<std::int64_t, std::vector<std::size_t>> batches_;  // start -> its values' sizes

  // Truncates at a random offset (below `below` if it can); the removed
  // batches' shapes go to *removed and the removed segment bases to *bases
  // (if given).
  status truncate_some(rng& r, std::int64_t below, std::vector<std::vector<std::size_t>>* removed,
                       std::set<std::int64_t>* bases) {
    // truncate_to removes the whole batch holding its target: aim at
    // an offset whose batch starts at or above the log start.
    const auto first = batches_.lower_bound(start());
    if (first == batches_.end() || first->first >= end()) return {};
    const std::int64_t hi = first->first < below ? std::min(below, end()) - 1 : end() - 1;
    const std::int64_t to = r.in(first->first, hi);
    const std::int64_t cut = std::prev(batches_.upper_bound(to))->first;
    for (const auto& seg : log_->segments()) {
      if (seg.base_offset.value() <= to && to < seg.next_offset.value()) untrust_from("t-0", seg.base_offset.value());
      if (bases && seg.base_offset.value() > to) bases->insert(seg.base_offset.value());
    }
    {
      // Acknowledged records from the cut on are being removed on purpose.
      std::lock_guard g(mu);
      auto& p = m.parts["t-0"];
      p.must.erase(p.must.lower_bound(cut), p.must.end());
    }
    auto st = log_->truncate_to(offset{to});
    if (st.ok()) {  // durable on return: what was cut can never come back
      {
        std::lock_guard g(mu);
        auto& p = m.parts["t-0"];
        p.may.erase(p.may.lower_bound(end()), p.may.end());
      }
      const auto from = batches_.lower_bound(end());
      if (removed)
        for (auto it = from; it != batches_.end(); ++it) removed->push_back(it->second);
      batches_.erase(from, batches_.end());
    }
    return st;
  }
};

// --- subject 2: a broker, its topics and a group's offsets -------------------------

class broker_subject final : public subject {
 public:
  explicit broker_subject(std::string dir) : dir_(std::move(dir)) { root = dir_; }

  bool supports(step_kind k) const override {
    return k != step_kind::truncate && k != step_kind::rewrite && k != step_kind::delete_records_full;
  }
  // The broker's 3-step sequences are the suite's bulk: the 3-step ones
  // with a power cycle would add 40% to them; 2 steps cover every step
  // before and after a power cycle, and the random workloads the rest.
  static constexpr std::size_t power_cycle_max_len = 2;

  broker_options options(const std::string& data_dir) {
    broker_options o;
    o.data_dir = data_dir;
    o.log_defaults = workload_config();
    o.log_defaults.flush_ms = flush_ms;
    o.clk = &clk;
    o.background_maintenance = false;
    return o;
  }

  void setup() override {
    b_ = open_broker(options(dir_ + "/data"), fs);
    REQUIRE(b_->create_topic("t", 2).ok());
    {
      std::lock_guard g(mu);
      m.topics_must.insert("t");
    }
    REQUIRE(clients().ok());
    rng r{11};
    REQUIRE(send(r, 10, true).ok());
    after();
  }

  void run(step_kind k, rng& r) override {
    clk.advance(r.in(1, 20));
    status st;
    switch (k) {
      case step_kind::append_one:
        st = send(r, 1, true);
        break;
      case step_kind::append_many:
        st = send(r, static_cast<int>(r.in(10, 30)), false);
        break;
      case step_kind::roll:
        clk.advance(segment_ms);
        st = tick();
        break;
      case step_kind::flush:
        clk.advance(flush_ms);
        st = tick();
        break;
      case step_kind::retention:
        clk.advance(retention_ms / 2 + r.in(0, retention_ms));
        st = tick();
        break;
      case step_kind::delete_records: {
        const auto [topic, p] = pick(r);
        const auto d = describe(topic, p);
        const std::int64_t to = r.in(d.log_start.value(), d.log_end.value());
        allow_start(key_of(topic, p), to);
        auto s = b_->delete_records(topic, p, offset{to});
        if (!s) {
          st = std::move(s).error();
        } else {
          std::lock_guard g(mu);
          auto& pm = m.parts[key_of(topic, p)];
          pm.min_start = std::max(pm.min_start, s->value());
        }
        break;
      }
      case step_kind::commit_offset: {
        const auto [topic, p] = pick(r);
        const auto d = describe(topic, p);
        const std::string key = key_of(topic, p);
        std::int64_t from = 0;
        {
          std::lock_guard g(mu);
          auto& cm = m.commits[key];
          if (cm.durable) from = *cm.durable;
        }
        const std::int64_t to = r.in(std::min(from, d.log_end.value()), d.log_end.value());
        {
          std::lock_guard g(mu);
          m.commits[key].allowed.insert(to);
        }
        st = cons_->commit_sync({{topic_partition{topic, p}, offset_and_metadata{offset{to}}}});
        if (st.ok()) {
          std::lock_guard g(mu);
          auto& cm = m.commits[key];
          cm.durable = to;
          cm.allowed = {to};
        }
        break;
      }
      case step_kind::create_topic: {
        const std::string name = fmt::format("c{}", topics_.size());
        {
          std::lock_guard g(mu);
          m.topics_may.insert(name);
        }
        st = b_->create_topic(name, 1);
        if (st.ok()) {
          topics_.push_back(name);
          std::lock_guard g(mu);
          m.topics_must.insert(name);
        }
        break;
      }
      case step_kind::power_cycle:
        power_cycle(r);
        break;
      default:
        FAIL("unsupported step");
    }
    if (!st.ok() && error.empty()) error = fmt::format("{}: {}", step_name(k), st.error().to_string());
    if (b_) after();
  }

  void reopen() override {
    auto b = broker::open(options(dir_ + "/data"), fs);
    if (!b.ok()) {
      error = "power cycle: reopen failed: " + b.error().to_string();
      return;
    }
    b_ = std::move(*b);
    if (auto s = clients(); !s.ok()) {
      error = "power cycle: " + s.error().to_string();
      return;
    }
    std::vector<std::string> bad;
    for (const auto& t : b_->list_topics()) {
      auto d = b_->describe_topic(t);
      if (!d.ok()) {
        error = "power cycle: describe failed: " + d.error().to_string();
        return;
      }
      for (const auto& pd : d->partitions) {
        std::vector<std::pair<std::int64_t, std::string>> recs;
        if (!read_partition(*b_, t, pd, recs, bad)) {
          error = "power cycle: " + bad.front();
          return;
        }
        survived(key_of(t, pd.partition), recs);
      }
    }
  }

  std::vector<std::string> check_image(const std::string& image, const model& want) override {
    std::vector<std::string> bad;
    check_trusted_segments(image, want, bad);
    image_state first;
    for (int round = 0; round < 2; ++round) {
      io::fault_fs real;  // passes through to the image's files, without slow real fsyncs
      auto b = broker::open(options(image + "/data"), real);
      if (!b.ok()) {
        bad.push_back(fmt::format("open #{} failed: {}", round + 1, b.error().to_string()));
        return bad;
      }
      image_state s;
      const auto names = (*b)->list_topics();
      for (const auto& t : want.topics_must)
        if (std::find(names.begin(), names.end(), t) == names.end())
          bad.push_back(fmt::format("topic {} was created but is gone", t));
      for (const auto& t : names) {
        if (want.topics_must.count(t) == 0 && want.topics_may.count(t) == 0)
          bad.push_back(fmt::format("topic {} was never created", t));
        auto d = (*b)->describe_topic(t);
        if (!d.ok()) {
          bad.push_back("describe failed: " + d.error().to_string());
          return bad;
        }
        for (const auto& pd : d->partitions) {
          const std::string key = key_of(t, pd.partition);
          s.starts[key] = pd.log_start.value();
          if (!read_partition(**b, t, pd, s.records[key], bad)) return bad;
        }
      }
      auto offs = (*b)->groups().list_offsets("g");
      if (offs.ok()) {
        for (const auto& [tp, om] : *offs) s.commits[key_of(tp.topic, tp.partition)] = om.off.value();
      } else if (offs.code() != errc::group_id_not_found) {
        bad.push_back("list_offsets failed: " + offs.error().to_string());
      }
      if (auto c = (*b)->close(); !c.ok()) bad.push_back("close failed: " + c.error().to_string());
      if (round == 0) {
        for (const auto& [key, recs] : s.records) {
          const auto pm = want.parts.find(key);
          if (pm == want.parts.end()) {
            if (!recs.empty()) bad.push_back(fmt::format("{}: records in a partition never written", key));
            continue;
          }
          check_partition(key, pm->second, s.starts[key], recs, bad);
        }
        for (const auto& [key, cm] : want.commits) {
          const auto got = s.commits.find(key);
          if (got == s.commits.end()) {
            if (cm.durable) bad.push_back(fmt::format("{}: the durable commit {} is gone", key, *cm.durable));
            continue;
          }
          if (cm.allowed.count(got->second) == 0)
            bad.push_back(fmt::format("{}: committed offset {} was never committed after the last durable one", key,
                                      got->second));
          const auto recs = s.records.find(key);
          const std::int64_t end =
              recs == s.records.end() ? 0 : s.starts[key] + static_cast<std::int64_t>(recs->second.size());
          if (got->second > end)
            bad.push_back(fmt::format("{}: committed offset {} is past the log end {}", key, got->second, end));
        }
        for (const auto& [key, off] : s.commits)
          if (want.commits.count(key) == 0) bad.push_back(fmt::format("{}: commit {} never made", key, off));
        first = std::move(s);
      } else if (!(s == first)) {
        bad.push_back("a second open found a different state than the first");
      }
    }
    return bad;
  }

  void shut() override {
    if (cons_) (void)cons_->close();
    cons_.reset();
    if (prod_) (void)prod_->close();
    prod_.reset();
    if (durable_prod_) (void)durable_prod_->close();
    durable_prod_.reset();
    if (b_) (void)b_->close();
    b_.reset();
  }

 private:
  // The producer (acks=1) and the group's consumer; the acks=all producer
  // is made when first needed.
  status clients() {
    producer_config pc;
    pc.linger_ms = 0;
    pc.acks = ack::leader;
    auto p = producer::create(*b_, pc);
    if (!p.ok()) return std::move(p).error();
    prod_ = std::move(*p);
    consumer_config cc;
    cc.group_id = "g";
    auto c = consumer::create(*b_, cc);
    if (!c.ok()) return std::move(c).error();
    cons_ = std::move(*c);
    return {};
  }

  // The broker's API does not show a partition's recovery report: each
  // partition holding segments that must be trusted is opened as a storage
  // log on a copy of its directory (the image itself must reach the broker
  // untouched), before the broker opens the image.
  void check_trusted_segments(const std::string& image, const model& want, std::vector<std::string>& bad) {
    for (const auto& [key, pm] : want.parts) {
      if (pm.trusted_below <= 0) continue;
      const std::string src = image + "/data/" + key;
      std::error_code ec;
      if (!std::filesystem::is_directory(src, ec)) continue;  // check_partition judges a lost partition
      const std::string copy = image + ".trust";
      std::filesystem::remove_all(copy, ec);
      std::filesystem::copy(src, copy, std::filesystem::copy_options::recursive, ec);
      if (ec) {
        bad.push_back(fmt::format("{}: copying the partition failed: {}", key, ec.message()));
        return;
      }
      {
        io::fault_fs real;
        log_config c = workload_config();
        c.flush_ms = flush_ms;
        auto l = basic_log<io::fault_fs>::open(copy, opts_for(c, &clk), real);
        if (!l.ok()) {
          bad.push_back(fmt::format("{}: open as a log failed: {}", key, l.error().to_string()));
        } else {
          check_trusted(key, pm, **l, bad);
          (void)(*l)->close();
        }
      }
      std::filesystem::remove_all(copy, ec);
    }
  }

  static bool read_partition(broker& b, const std::string& t, const partition_description& pd,
                             std::vector<std::pair<std::int64_t, std::string>>& out, std::vector<std::string>& bad) {
    if (pd.log_end.value() == pd.log_start.value()) return true;
    auto c = consumer::create(b, consumer_config{});
    if (!c.ok()) {
      bad.push_back("consumer: " + c.error().to_string());
      return false;
    }
    const topic_partition tp{t, pd.partition};
    if (auto s = (*c)->assign({tp}); !s.ok()) {
      bad.push_back("assign: " + s.error().to_string());
      return false;
    }
    if (auto s = (*c)->seek(tp, pd.log_start); !s.ok()) {
      bad.push_back("seek: " + s.error().to_string());
      return false;
    }
    for (int spins = 0; spins < 100000; ++spins) {
      auto recs = (*c)->poll(std::chrono::milliseconds(0));
      if (!recs.ok()) {
        bad.push_back(fmt::format("{}-{}: poll failed: {}", t, pd.partition, recs.error().to_string()));
        return false;
      }
      for (const auto& r : *recs) out.emplace_back(r.off.value(), std::string(r.value));
      auto pos = (*c)->position(tp);
      if (pos.ok() && pos->value() >= pd.log_end.value()) return true;
    }
    bad.push_back(fmt::format("{}-{}: could not read to the log end {}", t, pd.partition, pd.log_end.value()));
    return false;
  }

  std::pair<std::string, std::int32_t> pick(rng& r) {
    if (topics_.empty() || r.in(0, 2) != 0) return {"t", static_cast<std::int32_t>(r.in(0, 1))};
    return {topics_[static_cast<std::size_t>(r.in(0, static_cast<std::int64_t>(topics_.size()) - 1))], 0};
  }

  partition_description describe(const std::string& topic, std::int32_t p) {
    auto d = b_->describe_topic(topic);
    REQUIRE(d.ok());
    return d->partitions.at(static_cast<std::size_t>(p));
  }

  // Retention may run at any tick: before one, the model allows the log
  // start to reach whatever has expired by now.
  status tick() {
    allow_expired();
    return b_->tick();
  }

  void allow_expired() {
    for (const auto& t : b_->list_topics()) {
      auto d = b_->describe_topic(t);
      if (!d.ok()) continue;
      for (const auto& pd : d->partitions) {
        const std::string key = key_of(t, pd.partition);
        allow_start(key, retention_reach(key, pd.log_end.value()));
      }
    }
  }

  // Sends n records (acks=all: each waited for; else acks=1 then flush()).
  status send(rng& r, int n, bool durable) {
    std::vector<std::future<result<record_metadata>>> acks;
    std::vector<std::tuple<std::string, std::int32_t, std::string>> sent;
    for (int i = 0; i < n; ++i) {
      const auto [topic, p] = pick(r);
      const std::string key = key_of(topic, p);
      std::string v = next_value(r);
      // A send appends at once (linger.ms=0): its offset is the log end now.
      may_write(key, describe(topic, p).log_end.value(), v);
      const producer_record rec{.topic = topic, .partition = p, .value = bytes_view(v)};
      if (durable) {
        // acks=all is a producer setting: a second producer for these.
        if (!durable_prod_) {
          producer_config pc;
          pc.linger_ms = 0;
          auto dp = producer::create(*b_, pc);
          if (!dp.ok()) return std::move(dp).error();
          durable_prod_ = std::move(*dp);
        }
        acks.push_back(durable_prod_->send_future(rec));
      } else {
        auto s = prod_->send(rec);
        if (!s.ok()) return s;
      }
      {
        // Asked before taking mu: franz's I/O thread reaches the op hook
        // (which takes mu) while holding franz's locks, so mu is never held
        // across a call into franz.
        const std::int64_t off = describe(topic, p).log_end.value() - 1;
        std::lock_guard g(mu);
        auto& pm = m.parts[key];
        pm.cur[off] = v;
        pm.ts[off] = clk.now_ms();
      }
      sent.emplace_back(topic, p, std::move(v));
    }
    for (auto& f : acks) {
      auto md = f.get();
      if (!md.ok()) return std::move(md).error();
    }
    if (!durable) return prod_->flush();
    return {};
  }

  void after() {
    for (const auto& t : b_->list_topics()) {
      auto d = b_->describe_topic(t);
      if (!d.ok()) continue;
      for (const auto& pd : d->partitions) {
        const std::string key = key_of(t, pd.partition);
        settle(key, pd.log_start.value(), pd.log_end.value(), pd.durable.value());
        note_durable(key, pd.durable.value(), segment_bases(dir_ + "/data/" + format::partition_dir(t, pd.partition)));
      }
    }
  }

  static std::vector<std::int64_t> segment_bases(const std::string& dir) {
    std::vector<std::int64_t> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      const auto n = format::parse_file_name(e.path().filename().string());
      if (n.kind == format::file_kind::log) out.push_back(n.base_offset);
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<broker> b_;
  std::unique_ptr<producer> prod_, durable_prod_;
  std::unique_ptr<consumer> cons_;
  std::vector<std::string> topics_;
};

// --- the harness --------------------------------------------------------------

const char* kind_name(crash_kind k) {
  switch (k) {
    case crash_kind::drop: return "unsynced-dropped";
    case crash_kind::keep: return "all-kept";
    case crash_kind::prefix: return "prefix";
    case crash_kind::zeroed: return "zeroed";
    case crash_kind::garbled: return "garbled";
    case crash_kind::pages: return "pages";
    case crash_kind::mixed: return "mixed";
  }
  return "?";
}

// A hash of a directory tree: names and contents.
std::uint64_t fingerprint(const std::string& dir) {
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) paths.push_back(e.path().string());
  std::sort(paths.begin(), paths.end());
  std::string all;
  for (const auto& p : paths) {
    all += p.substr(dir.size());
    all.push_back('\0');
    if (std::filesystem::is_regular_file(p)) all += read_file(p);
    all.push_back('\1');
  }
  return XXH3_64bits(all.data(), all.size());
}

std::uint64_t fingerprint(const model& m) {
  std::string all;
  for (const auto& [k, p] : m.parts) {
    all += fmt::format("P{}:{}:{}:{}|", k, p.min_start, p.max_start, p.trusted_below);
    for (const auto& [o, vs] : p.may)
      for (const auto& v : vs) all += fmt::format("m{}={};", o, v);
    for (const auto& [o, v] : p.must) all += fmt::format("M{}={};", o, v);
  }
  for (const auto& t : m.topics_must) all += "T" + t;
  for (const auto& t : m.topics_may) all += "t" + t;
  for (const auto& [k, c] : m.commits) {
    all += fmt::format("C{}:{}", k, c.durable.value_or(-1));
    for (auto a : c.allowed) all += fmt::format(",{}", a);
  }
  return XXH3_64bits(all.data(), all.size());
}

struct run_stats {
  std::uint64_t workloads = 0, crash_points = 0, images = 0, checked = 0;
  std::vector<std::string> failures;
};

struct harness_options {
  std::uint64_t random_variants = 2;  // mixed images per crash point, besides drop and keep
  std::size_t max_failures = 5;
  bool check = true;          // false: run the steps only (to collect sync sites)
  std::string ignored_site;  // sensitivity: syncs from this site do nothing
};

// Runs `steps` on a fresh subject; checks crash images at every operation of
// the steps from `check_from` on, and after each of those steps.
// Workloads and images live under scratch_base() (test_util.hpp).

template <class Subject>
void run_workload(const std::vector<step_kind>& steps, std::size_t check_from, std::uint64_t seed,
                  const harness_options& o, run_stats& st, std::set<std::string>* sites = nullptr) {
  temp_dir d(scratch_base());
  Subject s(d.sub("live"));
  std::filesystem::create_directories(s.root);
  if (!o.ignored_site.empty()) s.fs.ignore_sync_site(o.ignored_site);
  s.setup();
  ++st.workloads;
  const std::string desc = [&] {
    std::string out;
    for (auto k : steps) out += fmt::format("{}{}", out.empty() ? "" : ", ", step_name(k));
    return fmt::format("[{}] seed {}", out, seed);
  }();
  std::mutex check_mu;  // the hook may fire on franz's threads
  std::set<std::uint64_t> seen;
  std::uint64_t image_no = 0;
  std::atomic<std::size_t> at_step{0};
  std::atomic<bool> checking{false};
  auto check_now = [&] {
    if (!o.check || !checking.load() || s.quiet.load()) return;
    std::lock_guard g(check_mu);
    if (st.failures.size() >= o.max_failures) return;
    const model want = s.snapshot();
    const std::uint64_t model_fp = fingerprint(want);
    ++st.crash_points;
    std::vector<std::pair<crash_kind, std::uint64_t>> kinds{{crash_kind::drop, 0}, {crash_kind::keep, 0}};
    for (std::uint64_t v = 0; v < o.random_variants; ++v) kinds.emplace_back(crash_kind::mixed, seed * 1000003 + ++image_no);
    for (const auto& [kind, kseed] : kinds) {
      const std::string image = d.sub(fmt::format("image-{}", image_no++));
      ++st.images;
      if (auto w = s.fs.write_crash_image(s.root, image, kind, kseed); !w.ok()) {
        st.failures.push_back(fmt::format("{}: crash image failed: {}", desc, w.error().to_string()));
        return;
      }
      // The same bytes judged against the same promises need one check.
      const std::uint64_t key = fingerprint(image) ^ (model_fp * 0x9e3779b97f4a7c15ULL);
      if (seen.insert(key).second) {
        ++st.checked;
        for (auto& b : s.check_image(image, want))
          st.failures.push_back(fmt::format("{}: during step {} ({}), {} image: {}", desc, at_step.load() + 1,
                                            step_name(steps[at_step.load()]), kind_name(kind), b));
      }
      std::error_code ec;
      std::filesystem::remove_all(image, ec);
    }
  };
  s.fs.set_op_hook([&] {
    check_now();
    // The power cycle's crash inside a step: after the images of this
    // operation, the machine goes down.
    if (s.crash_countdown.load() > 0 && s.crash_countdown.fetch_sub(1) == 1) s.crash_now();
  });
  rng r{seed};
  for (std::size_t i = 0; i < steps.size(); ++i) {
    at_step = i;
    checking = i >= check_from;
    s.run(steps[i], r);
    check_now();  // mmap'd stores are no file operation: look after the step too
    if (!s.error.empty()) {
      std::lock_guard g(check_mu);
      st.failures.push_back(fmt::format("{}: step {} failed: {}", desc, i + 1, s.error));
      break;
    }
  }
  checking = false;
  s.fs.set_op_hook({});
  s.shut();
  if (sites) {
    const auto seen_sites = s.fs.sync_sites();
    sites->insert(seen_sites.begin(), seen_sites.end());
  }
}

// Every sequence of 1 to 3 steps the subject supports. Only the last step's
// crash points are checked: the earlier ones are the shorter sequences'.
template <class Subject>
run_stats run_all_sequences(const harness_options& o, std::set<std::string>* sites = nullptr,
                            bool stop_at_first = false) {
  run_stats st;
  std::vector<step_kind> kinds;
  {
    temp_dir d;
    Subject probe(d.sub("probe"));
    for (auto k : all_steps)
      if (probe.supports(k)) kinds.push_back(k);
  }
  std::vector<std::vector<step_kind>> seqs{{}};
  std::vector<std::vector<step_kind>> all;
  // Sanitizer builds run single steps: they look for memory and thread
  // errors on the same code paths (the random workloads reach the longer
  // ones); the release build runs every sequence.
  const int max_len = sanitized ? 1 : 3;
  for (int len = 1; len <= max_len; ++len) {
    std::vector<std::vector<step_kind>> longer;
    for (const auto& s : seqs)
      for (auto k : kinds) {
        auto n = s;
        n.push_back(k);
        longer.push_back(n);
        if (n.size() <= Subject::power_cycle_max_len ||
            std::find(n.begin(), n.end(), step_kind::power_cycle) == n.end())
          all.push_back(n);
      }
    seqs = std::move(longer);
  }
  std::uint64_t seed = 1;
  // FRANZ_POWER_SEED=N runs only the workload of that seed (a failure's).
  const std::uint64_t only = env_or("FRANZ_POWER_SEED", 0);
  for (const auto& s : all) {
    if (only != 0 && seed != only) {
      ++seed;
      continue;
    }
    run_workload<Subject>(s, s.size() - 1, seed++, o, st, sites);
    if (stop_at_first && !st.failures.empty()) break;
  }
  return st;
}

template <class Subject>
run_stats run_random(std::uint64_t count, std::uint64_t first_seed, const harness_options& o,
                     bool stop_at_first = false) {
  run_stats st;
  std::vector<step_kind> kinds;
  {
    temp_dir d;
    Subject probe(d.sub("probe"));
    for (auto k : all_steps)
      if (probe.supports(k)) kinds.push_back(k);
  }
  const std::uint64_t only = env_or("FRANZ_POWER_SEED", 0);
  for (std::uint64_t i = 0; i < count; ++i) {
    if (only != 0 && first_seed + i != only) continue;
    rng r{first_seed + i};
    std::vector<step_kind> steps(static_cast<std::size_t>(r.in(4, 12)));
    for (auto& k : steps) k = kinds[static_cast<std::size_t>(r.in(0, static_cast<std::int64_t>(kinds.size()) - 1))];
    run_workload<Subject>(steps, 0, first_seed + i, o, st);
    if (stop_at_first && !st.failures.empty()) break;
  }
  return st;
}

void report(const char* what, const run_stats& st) {
  std::printf("power loss, %s: %llu workloads, %llu crash points, %llu images, %llu checked, %zu failures\n", what,
              static_cast<unsigned long long>(st.workloads), static_cast<unsigned long long>(st.crash_points),
              static_cast<unsigned long long>(st.images), static_cast<unsigned long long>(st.checked),
              st.failures.size());
  for (const auto& f : st.failures) {
    std::printf("  %s\n", f.c_str());
    UNSCOPED_INFO(f);
  }
}

harness_options ci_options() {
  harness_options o;
  // Sanitizer builds run several times slower: they check the two extreme
  // images (all unsynced data dropped, all kept) and fewer random workloads.
  o.random_variants = env_or("FRANZ_POWER_VARIANTS", sanitized ? 0 : 2);
  return o;
}

}  // namespace

TEST_CASE("log: every sequence of up to 3 steps survives a power loss at every file operation",
          "[reliability][power]") {
  const auto st = run_all_sequences<log_subject>(ci_options());
  report("log, sequences", st);
  CHECK(st.checked > (sanitized ? 10u : 1000u));
  CHECK(st.failures.empty());
}

TEST_CASE("broker: every sequence of up to 3 steps survives a power loss at every file operation",
          "[reliability][power]") {
  const auto st = run_all_sequences<broker_subject>(ci_options());
  report("broker, sequences", st);
  CHECK(st.checked > (sanitized ? 10u : 1000u));
  CHECK(st.failures.empty());
}

TEST_CASE("without any one of franz's fsyncs or directory fsyncs, the power-loss suite fails",
          "[.][reliability][power][sensitivity]") {
  if (sanitized) {
    // It tests the suite, not franz: the release build's run is the proof.
    WARN("skipped in sanitizer builds (the release build runs it)");
    return;
  }
  // The sync sites the workloads reach, then each one dropped in turn: the
  // suite (sequences, then random workloads) must catch every one.
  std::set<std::string> sites;
  harness_options collect;
  collect.check = false;
  (void)run_all_sequences<log_subject>(collect, &sites);
  (void)run_all_sequences<broker_subject>(collect, &sites);
  REQUIRE(sites.size() >= 5);
  // FRANZ_POWER_SITE=file:line checks that one site only (it must be one
  // the workloads reach).
  if (const char* only = std::getenv("FRANZ_POWER_SITE"); only != nullptr && *only != '\0') {
    INFO("FRANZ_POWER_SITE " << only << " is not a sync site the workloads reach");
    REQUIRE(sites.count(only) == 1);
    sites = {only};
  }
  for (const auto& site : sites) {
    harness_options o = ci_options();
    o.ignored_site = site;
    o.max_failures = 1;
    run_stats st = run_all_sequences<log_subject>(o, nullptr, true);
    if (st.failures.empty()) st = run_all_sequences<broker_subject>(o, nullptr, true);
    if (st.failures.empty()) st = run_random<log_subject>(50, 1000, o, true);
    if (st.failures.empty()) st = run_random<broker_subject>(50, 5000, o, true);
    std::printf("sensitivity: without the sync at %s: %s\n", site.c_str(),
                st.failures.empty() ? "NOT CAUGHT" : st.failures.front().c_str());
    INFO("the sync at " << site << " can be removed and the power-loss suite still passes");
    CHECK_FALSE(st.failures.empty());
  }
}

// 25 per subject in CI (about 40 s in release); the long form sets
// FRANZ_POWER_RANDOM=250 (500 in all).
TEST_CASE("random longer workloads survive a power loss at every file operation", "[reliability][power]") {
  const std::uint64_t n = env_or("FRANZ_POWER_RANDOM", sanitized ? 4 : 25);
  auto o = ci_options();
  const auto a = run_random<log_subject>(n, 1000, o);
  report("log, random", a);
  CHECK(a.failures.empty());
  const auto b = run_random<broker_subject>(n, 5000, o);
  report("broker, random", b);
  CHECK(b.failures.empty());
}

}  // namespace franz::test
