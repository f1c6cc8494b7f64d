// franz — an fsync failing with EIO, at every step of a workload of the calls
// applications make: broker open, create_topic, producer sends (acks=all,
// acks=1 on a flush.messages=1 topic, acks=1 then a flush.ms tick),
// consumer-group commit_sync (durable), delete_records and close.
//
// Issue 6, part 3: "fsync returning EIO at every step N. The error reaches
// the caller every time. The record is never acknowledged, and the fsync is
// never retried as if it had succeeded: the log is poisoned and must be
// reopened. After a reopen, nothing acknowledged is lost."
// tests/fault_test.cpp covers this for a storage log; this file covers the
// messaging layer over it.
//
// The workload is run once to count its sync calls (fsync, fdatasync and
// directory fsync alike), then once per sync N with the N-th failing
// (fault_fs::fail_fsync_at). Each run checks:
//  - the operation during which sync N ran reports an error (a status, a
//    producer callback or future), KAFKA_STORAGE_ERROR with errno EIO;
//  - the log the sync belonged to (found from the synced path) is poisoned:
//    every later write to that partition fails, and its durable offset
//    never moves again, until the broker is reopened; a topic whose creation
//    failed is never written to successfully either (its existence is not
//    durable);
//  - what was acknowledged durably (acks=all, acks=1 on a flush.messages=1
//    topic, everything below a partition's reported durable offset, every
//    record below an offset a durable commit_sync returned for), every
//    successful durable commit and every topic whose creation returned
//    success survive a power loss — the broker is reopened on crash images
//    with every unsynced byte and directory change dropped, one taken just
//    before close() and one after it.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>

#include "test_util.hpp"

using namespace franz;
using namespace franz::test;

namespace {

// A fault_fs that remembers which path the first failed sync was for (the
// file of an fsync/fdatasync, or the directory of a directory fsync), so
// the test knows which log a failure poisoned. The broker and its logs are
// templates over the file system, so they call these members.
class eio_fs : public io::fault_fs {
 public:
  [[nodiscard]] result<int> open(const std::string& path, io::open_mode mode) {
    auto r = io::fault_fs::open(path, mode);
    if (r.ok()) {
      std::lock_guard g(mu_);
      paths_[*r] = path;
    }
    return r;
  }
  [[nodiscard]] status close(int fd) {
    {
      std::lock_guard g(mu_);
      paths_.erase(fd);
    }
    return io::fault_fs::close(fd);
  }
  [[nodiscard]] status fsync(int fd, io::sync_site where = io::sync_site::here()) {
    const std::string p = path_of(fd);
    return note(io::fault_fs::fsync(fd, where), p);
  }
  [[nodiscard]] status fdatasync(int fd, io::sync_site where = io::sync_site::here()) {
    const std::string p = path_of(fd);
    return note(io::fault_fs::fdatasync(fd, where), p);
  }
  [[nodiscard]] status fsync_dir(const std::string& path, io::sync_site where = io::sync_site::here()) {
    return note(io::fault_fs::fsync_dir(path, where), path);
  }
  [[nodiscard]] std::optional<std::string> failed_path() const {
    std::lock_guard g(mu_);
    return failed_;
  }

 private:
  std::string path_of(int fd) const {
    std::lock_guard g(mu_);
    auto it = paths_.find(fd);
    return it == paths_.end() ? std::string("?") : it->second;
  }
  status note(status s, const std::string& path) {
    if (!s.ok() && s.error().sys_errno == EIO) {
      std::lock_guard g(mu_);
      if (!failed_) failed_ = path;
    }
    return s;
  }

  mutable std::mutex mu_;
  std::map<int, std::string> paths_;
  std::optional<std::string> failed_;
};

constexpr std::int64_t flush_ms = 1000;

broker_options eio_options(const std::string& data_dir, const franz::clock& clk) {
  broker_options o;
  o.data_dir = data_dir;
  o.log_defaults = small_config(1024);  // rolls every few records
  o.log_defaults.flush_ms = flush_ms;
  o.clk = &clk;
  o.background_maintenance = false;  // deterministic: every sync is the workload's
  return o;
}

std::string key_of(const std::string& topic, std::int32_t p) { return topic + "-" + std::to_string(p); }

struct kv {
  std::string key, value;
};

// One operation of the workload and how it went.
struct op_result {
  std::string name;
  std::string group;  // the workload step it belongs to (for the summary)
  std::uint64_t syncs_before = 0, syncs_after = 0;  // sync calls made before it started / when it ended
  std::optional<error> err;                          // the first error it reported
  void fail(const error& e) {
    if (!err) err = e;
  }
  void fail(const status& s) {
    if (!s.ok()) fail(s.error());
  }
};

// What one run of the workload was promised, and what it saw.
struct run_log {
  std::vector<op_result> ops;
  // Acknowledged durable: partition -> offset -> record.
  std::map<std::string, std::map<std::int64_t, kv>> acked;
  // Every record appended with a known offset (acks=1 and acks=all).
  std::map<std::string, std::map<std::int64_t, kv>> sent;
  // Committed offsets of group "g": the last durable commit that returned
  // success, and every value a reopen may show (it, and commits attempted
  // after it).
  std::map<std::string, std::int64_t> durable_commit;
  std::map<std::string, std::set<std::int64_t>> commit_allowed;
  std::set<std::string> topics_must, topics_may;
  // delete_records: the log start after a reopen lies in [min, max].
  std::map<std::string, std::int64_t> start_min, start_max;
  // Violations seen during the run (checked on the main thread after it).
  std::vector<std::string> violations;
  std::optional<std::string> close_error;
};

// The partition ("topic-p") a synced path belongs to, or "" for the data
// directory's own files (topics.meta, partition directory entries).
std::string partition_of_path(const std::string& data_dir, const std::string& path) {
  const std::string prefix = data_dir + "/";
  if (path.rfind(prefix, 0) != 0) return "";
  std::string rest = path.substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string::npos) {
    // A directory fsync of a partition directory itself, or a file of the
    // data directory (topics.meta.tmp).
    if (rest.find(format::topics_file) == 0) return "";
  } else {
    rest = rest.substr(0, slash);
  }
  // Only "<topic>-<n>" names a partition (not "<topic>-<n>.<id>-delete").
  const auto dash = rest.rfind('-');
  if (dash == std::string::npos || dash + 1 == rest.size() ||
      rest.find_first_not_of("0123456789", dash + 1) != std::string::npos)
    return "";
  return rest;
}

class workload {
 public:
  workload(eio_fs& fs, std::string root, run_log& out)
      : fs_(fs), root_(std::move(root)), data_(root_ + "/data"), out_(out) {}

  // Runs every operation; takes crash image `before_close` just before
  // closing the broker, then image `after_close`.
  void run(const std::string& before_close, const std::string& after_close) {
    std::filesystem::create_directories(root_);
    {
      auto& o = begin("open broker");
      auto b = broker::open(eio_options(data_, clk_), fs_);
      if (!b.ok()) {
        o.fail(b.error());
        end();
        image(before_close);
        image(after_close);
        return;
      }
      b_ = std::move(*b);
      end();
    }
    create_topic("t", 2, {});
    create_topic("m", 1, {{"flush.messages", "1"}});
    {
      producer_config pc;
      pc.linger_ms = 0;
      pc.acks = ack::all;
      auto p = producer::create(*b_, pc);
      REQUIRE_OK(p);
      all_ = std::move(*p);
      pc.acks = ack::leader;
      auto q = producer::create(*b_, pc);
      REQUIRE_OK(q);
      one_ = std::move(*q);
      consumer_config cc;
      cc.group_id = "g";
      cc.enable_auto_commit = false;
      cc.auto_offset_reset = offset_reset::earliest;
      auto c = consumer::create(*b_, cc);
      REQUIRE_OK(c);
      cons_ = std::move(*c);
    }
    send_all("acks=all: 4 records to t", "t", 2, 4);
    send_one("acks=1: 4 records to m (flush.messages=1), flush()", {{"m", 1, 4}}, /*tick=*/false);
    send_one("acks=1: 6 records to t, flush(), tick() after flush.ms", {{"t", 2, 6}}, /*tick=*/true);
    send_one("acks=1: 3 records to t, flush()", {{"t", 2, 3}}, /*tick=*/false);
    commit("commit_sync #1 t-0, t-1 to the log end (creates __consumer_offsets)");
    delete_records("t", 0, 2);
    send_all("acks=all: 4 records to t after delete_records", "t", 2, 4);
    create_topic("u", 1, {});
    send_all("acks=all: 3 records to u", "u", 1, 3);
    send_one("acks=1: 3 more records to t, flush()", {{"t", 2, 3}}, /*tick=*/false);
    commit("commit_sync #2 t-0, t-1 to the log end");
    send_one("acks=1: 3 records to m (flush.messages=1), flush()", {{"m", 1, 3}}, /*tick=*/false);
    send_one("acks=1: 4 records to u and t, flush(), tick() after flush.ms", {{"u", 1, 2}, {"t", 2, 2}},
             /*tick=*/true);
    commit("commit_sync #3 t-0, t-1 to the log end");
    image(before_close);
    {
      auto& o = begin("close");
      if (all_) o.fail(all_->close());
      if (one_) o.fail(one_->close());
      if (cons_) o.fail(cons_->close());
      auto s = b_->close();
      if (!s.ok()) out_.close_error = s.error().to_string();
      o.fail(s);
      end();
    }
    all_.reset();
    one_.reset();
    cons_.reset();
    b_.reset();
    image(after_close);
  }

 private:
  op_result& begin(std::string name, std::string group = {}) {
    out_.ops.push_back({});
    auto& o = out_.ops.back();
    o.group = group.empty() ? name : std::move(group);
    o.name = std::move(name);
    o.syncs_before = fs_.sync_calls();
    // Which topics exist before it: a topic that appears during a failing
    // operation was created by it, and its creation failed.
    before_topics_ = b_ ? b_->list_topics(true) : std::vector<std::string>{};
    return o;
  }

  void end() {
    auto& o = out_.ops.back();
    o.syncs_after = fs_.sync_calls();
    const auto failed = fs_.failed_path();
    if (failed && !poison_known_) {
      // The failure happened during this operation (or before, if the
      // operation did not notice: the caller checks that it did).
      poison_known_ = true;
      // The log the failed sync belonged to, if it still exists: a log
      // whose creation failed was removed, and a later one of the same
      // name is a new log.
      poisoned_.clear();
      const std::string part = partition_of_path(data_, *failed);
      if (!part.empty() && b_ && durable_of(part) >= 0) poisoned_.insert(part);
      if (b_) {
        for (const auto& t : b_->list_topics(true)) {
          if (std::find(before_topics_.begin(), before_topics_.end(), t) != before_topics_.end()) continue;
          if (auto d = b_->describe_topic(t); d.ok())
            for (const auto& pd : d->partitions) poisoned_.insert(key_of(t, pd.partition));
        }
      }
      if (b_)
        for (const auto& key : poisoned_) frozen_durable_[key] = durable_of(key);
    }
    observe_durable();
  }

  // Records below a partition's reported durable offset (the high
  // watermark: fsynced) are acknowledged durable; a poisoned partition's
  // durable offset never moves again.
  void observe_durable() {
    if (!b_ || b_->closed()) return;
    for (const auto& t : b_->list_topics(true)) {
      auto d = b_->describe_topic(t);
      if (!d.ok()) continue;
      for (const auto& pd : d->partitions) {
        const std::string key = key_of(t, pd.partition);
        const std::int64_t durable = pd.durable.value();
        if (auto f = frozen_durable_.find(key); f != frozen_durable_.end() && durable != f->second)
          violate(fmt::format("{}: the durable offset of the poisoned log moved from {} to {}", key, f->second,
                              durable));
        for (const auto& [off, r] : out_.sent[key])
          if (off < durable) out_.acked[key][off] = r;
      }
    }
  }

  std::int64_t durable_of(const std::string& key) {
    const auto dash = key.rfind('-');
    auto d = b_->describe_topic(key.substr(0, dash));
    if (!d.ok()) return -1;
    const auto p = static_cast<std::size_t>(std::stoi(key.substr(dash + 1)));
    return p < d->partitions.size() ? d->partitions[p].durable.value() : -1;
  }

  void violate(std::string what) { out_.violations.push_back(out_.ops.back().name + ": " + std::move(what)); }

  bool poisoned(const std::string& key) const { return poisoned_.count(key) != 0; }

  // A write to a poisoned partition that succeeded.
  void check_write(const std::string& key, bool poisoned_before, bool ok, const char* what) {
    if (poisoned_before && ok) violate(fmt::format("{} to {} succeeded after a failed fsync poisoned the log", what, key));
  }

  // Inside the failing operation: a failure poisons its log from the next
  // call on (end() then settles what stays poisoned).
  void refresh_poison() {
    const auto failed = fs_.failed_path();
    if (!failed || poison_known_) return;
    const std::string part = partition_of_path(data_, *failed);
    if (!part.empty()) poisoned_.insert(part);
  }

  void create_topic(const std::string& name, std::int32_t partitions, const std::map<std::string, std::string>& cfg) {
    auto& o = begin("create_topic " + name);
    out_.topics_may.insert(name);
    auto s = b_->create_topic(name, partitions, cfg);
    o.fail(s);
    if (s.ok()) out_.topics_must.insert(name);
    end();
  }

  std::string next_value() { return fmt::format("value-{}-{}", seq_, std::string(static_cast<std::size_t>(seq_ % 40), 'v')); }

  // acks=all: each send waited for (one operation each, so the send
  // during whose fsync the failure came must report it); a success is
  // acknowledged durable.
  void send_all(const std::string& name, const std::string& topic, std::int32_t partitions, int n) {
    for (int i = 0; i < n; ++i) {
      const std::int32_t p = i % partitions;
      const std::string key = key_of(topic, p);
      auto& o = begin(fmt::format("{}: send {} of {}, to {}", name, i + 1, n, key), name);
      const bool was_poisoned = poisoned(key);
      ++seq_;
      const std::string k = fmt::format("k{}", seq_);
      const std::string v = next_value();
      auto f = all_->send_future({.topic = topic, .partition = p, .key = bytes_view(k), .value = bytes_view(v)});
      auto md = f.get();
      check_write(key, was_poisoned, md.ok(), "an acks=all send");
      if (!md.ok()) {
        o.fail(md.error());
      } else {
        out_.sent[key][md->off.value()] = {k, v};
        out_.acked[key][md->off.value()] = {k, v};
      }
      end();
    }
  }

  struct target {
    std::string topic;
    std::int32_t partitions;
    int n;
  };

  // acks=1 (linger.ms=0: appended inside send), then flush(); with tick,
  // the clock passes flush.ms and the broker ticks (a flush.ms fsync).
  // Records of a flush.messages=1 topic are durable once acknowledged.
  void send_one(const std::string& name, const std::vector<target>& targets, bool tick) {
    auto& o = begin(name);
    struct report {
      std::string key, k, v;
      bool durable = false;
      bool was_poisoned = false;
      std::optional<result<record_metadata>> md;
    };
    std::size_t total = 0;
    for (const auto& t : targets) total += static_cast<std::size_t>(t.n);
    std::vector<report> reports(total);  // never reallocated: callbacks hold references
    std::mutex mu;
    std::size_t next = 0;
    for (const auto& t : targets) {
      for (int i = 0; i < t.n; ++i) {
        auto& r = reports[next++];
        const std::int32_t p = i % t.partitions;
        r.key = key_of(t.topic, p);
        r.durable = t.topic == "m";
        refresh_poison();
        r.was_poisoned = poisoned(r.key);
        ++seq_;
        r.k = fmt::format("k{}", seq_);
        r.v = next_value();
        auto s = one_->send({.topic = t.topic, .partition = p, .key = bytes_view(r.k), .value = bytes_view(r.v)},
                            [&mu, &r](const result<record_metadata>& md) {
                              std::lock_guard g(mu);
                              r.md = md;
                            });
        if (!s.ok()) {
          o.fail(s);
          std::lock_guard g(mu);
          r.md = result<record_metadata>(s.error());
        }
      }
    }
    o.fail(one_->flush());  // (flush reports no record's error: the callbacks do)
    {
      std::lock_guard g(mu);
      for (auto& r : reports) {
        if (!r.md) {
          violate(fmt::format("a record sent to {} was never reported", r.key));
          continue;
        }
        check_write(r.key, r.was_poisoned, r.md->ok(), "an acks=1 send");
        if (!r.md->ok()) {
          o.fail(r.md->error());
          continue;
        }
        const std::int64_t off = (*r.md)->off.value();
        out_.sent[r.key][off] = {r.k, r.v};
        if (r.durable) out_.acked[r.key][off] = {r.k, r.v};
      }
    }
    if (tick) {
      clk_.advance(flush_ms);
      o.fail(b_->tick());
    }
    end();
  }

  // A durable commit_sync of t-0 and t-1 at their log ends.
  void commit(const std::string& name) {
    auto& o = begin(name);
    std::map<topic_partition, offset_and_metadata> offs;
    if (auto d = b_->describe_topic("t"); d.ok()) {
      for (const auto& pd : d->partitions) offs[topic_partition{"t", pd.partition}] = offset_and_metadata{pd.log_end};
    }
    if (offs.empty()) {
      o.fail(make_error(errc::unknown_topic_or_partition, "no topic t to commit"));
      end();
      return;
    }
    if (auto a = cons_->assign({{"t", 0}, {"t", 1}}); !a.ok()) {
      o.fail(a);
      end();
      return;
    }
    refresh_poison();
    const bool offsets_poisoned = poisoned(key_of(std::string(offsets_topic), 0));
    for (const auto& [tp, om] : offs) out_.commit_allowed[key_of(tp.topic, tp.partition)].insert(om.off.value());
    auto s = cons_->commit_sync(offs);
    check_write(key_of(std::string(offsets_topic), 0), offsets_poisoned, s.ok(), "a commit_sync");
    o.fail(s);
    if (s.ok()) {
      for (const auto& [tp, om] : offs) {
        const std::string key = key_of(tp.topic, tp.partition);
        out_.durable_commit[key] = om.off.value();
        out_.commit_allowed[key] = {om.off.value()};
        // A durable commit makes the records below it durable first.
        for (const auto& [off, r] : out_.sent[key])
          if (off < om.off.value()) out_.acked[key][off] = r;
      }
    }
    end();
  }

  void delete_records(const std::string& topic, std::int32_t p, std::int64_t before) {
    auto& o = begin(fmt::format("delete_records {}-{} before {}", topic, p, before));
    const std::string key = key_of(topic, p);
    refresh_poison();
    const bool was_poisoned = poisoned(key);
    out_.start_max[key] = std::max(out_.start_max[key], before);
    auto r = b_->delete_records(topic, p, offset{before});
    check_write(key, was_poisoned, r.ok(), "delete_records");
    if (!r.ok()) {
      o.fail(r.error());
    } else {
      out_.start_min[key] = std::max(out_.start_min[key], r->value());
    }
    end();
  }

  void image(const std::string& to) {
    auto s = fs_.write_crash_image(root_, to, io::crash_kind::drop, 1);
    REQUIRE_OK(s);
  }

  eio_fs& fs_;
  std::string root_, data_;
  run_log& out_;
  manual_clock clk_{1'700'000'000'000};
  std::unique_ptr<broker> b_;
  std::unique_ptr<producer> all_, one_;
  std::unique_ptr<consumer> cons_;
  int seq_ = 0;
  bool poison_known_ = false;
  std::set<std::string> poisoned_;
  std::map<std::string, std::int64_t> frozen_durable_;
  std::vector<std::string> before_topics_;
};

// Reads one partition of an opened broker: offset -> record.
std::map<std::int64_t, kv> read_partition(broker& b, const std::string& topic, std::int32_t p, offset from,
                                          offset to, std::vector<std::string>& bad) {
  std::map<std::int64_t, kv> out;
  if (from >= to) return out;
  auto c = consumer::create(b, consumer_config{});
  if (!c.ok()) {
    bad.push_back("consumer: " + c.error().to_string());
    return out;
  }
  const topic_partition tp{topic, p};
  if (auto s = (*c)->assign({tp}); !s.ok()) {
    bad.push_back("assign: " + s.error().to_string());
    return out;
  }
  if (auto s = (*c)->seek(tp, from); !s.ok()) {
    bad.push_back("seek: " + s.error().to_string());
    return out;
  }
  for (int spins = 0; spins < 10000; ++spins) {
    auto recs = (*c)->poll(std::chrono::milliseconds(0));
    if (!recs.ok()) {
      bad.push_back(fmt::format("{}-{}: poll: {}", topic, p, recs.error().to_string()));
      return out;
    }
    for (const auto& r : *recs) out[r.off.value()] = {std::string(r.key), std::string(r.value)};
    auto pos = (*c)->position(tp);
    if (pos.ok() && *pos >= to) return out;
  }
  bad.push_back(fmt::format("{}-{}: could not read to the log end {}", topic, p, to.value()));
  return out;
}

// Opens the broker on a crash image and checks what the run was promised.
std::vector<std::string> check_image(const std::string& image, const run_log& want) {
  std::vector<std::string> bad;
  manual_clock clk{1'800'000'000'000};
  io::fault_fs real;  // the image's files, without slow real fsyncs
  auto b = broker::open(eio_options(image + "/data", clk), real);
  if (!b.ok()) {
    bad.push_back("reopen failed: " + b.error().to_string());
    return bad;
  }
  const auto names = (*b)->list_topics();
  for (const auto& t : want.topics_must)
    if (std::find(names.begin(), names.end(), t) == names.end())
      bad.push_back(fmt::format("topic {} was created (create_topic returned success) but is gone", t));
  for (const auto& t : names)
    if (want.topics_may.count(t) == 0) bad.push_back(fmt::format("topic {} was never created", t));
  for (const auto& [key, recs] : want.acked) {
    if (recs.empty()) continue;
    const auto dash = key.rfind('-');
    const std::string topic = key.substr(0, dash);
    const std::int32_t p = std::stoi(key.substr(dash + 1));
    auto d = (*b)->describe_topic(topic);
    if (!d.ok()) {
      bad.push_back(fmt::format("{}: {} acknowledged records, but the topic is gone: {}", key, recs.size(),
                                d.error().to_string()));
      continue;
    }
    const auto& pd = d->partitions.at(static_cast<std::size_t>(p));
    const std::int64_t smin = want.start_min.count(key) ? want.start_min.at(key) : 0;
    const std::int64_t smax = want.start_max.count(key) ? want.start_max.at(key) : 0;
    if (pd.log_start.value() < smin || pd.log_start.value() > smax)
      bad.push_back(fmt::format("{}: log start {} outside [{}, {}] (delete_records)", key, pd.log_start.value(), smin,
                                smax));
    const auto got = read_partition(**b, topic, p, pd.log_start, pd.log_end, bad);
    for (const auto& [off, r] : recs) {
      if (off < pd.log_start.value()) continue;  // deleted by delete_records
      auto it = got.find(off);
      if (it == got.end()) {
        bad.push_back(fmt::format("{}: acknowledged record at offset {} is lost (log end {})", key, off,
                                  pd.log_end.value()));
      } else if (it->second.key != r.key || it->second.value != r.value) {
        bad.push_back(fmt::format("{}: offset {} holds {}={}, acknowledged {}={}", key, off, it->second.key,
                                  it->second.value, r.key, r.value));
      }
    }
  }
  auto offs = (*b)->groups().list_offsets("g");
  std::map<std::string, std::int64_t> commits;
  if (offs.ok()) {
    for (const auto& [tp, om] : *offs) commits[key_of(tp.topic, tp.partition)] = om.off.value();
  } else if (offs.code() != errc::group_id_not_found) {
    bad.push_back("list_offsets: " + offs.error().to_string());
  }
  for (const auto& [key, v] : want.durable_commit)
    if (commits.count(key) == 0) bad.push_back(fmt::format("{}: the durable commit {} is gone", key, v));
  for (const auto& [key, v] : commits) {
    auto a = want.commit_allowed.find(key);
    if (a == want.commit_allowed.end() || a->second.count(v) == 0)
      bad.push_back(fmt::format("{}: committed offset {} was not committed at or after the last durable commit", key,
                                v));
  }
  if (auto c = (*b)->close(); !c.ok()) bad.push_back("close after reopen: " + c.error().to_string());
  return bad;
}

}  // namespace

TEST_CASE("an fsync failing with EIO at any step of broker, producer, commit and admin calls is reported, "
          "poisons its log until a reopen, and loses nothing acknowledged",
          "[reliability][eio]") {
  const std::string base = scratch_base();
  // The count: the workload with no failure.
  std::uint64_t total = 0;
  {
    temp_dir d(base);
    eio_fs fs;
    run_log out;
    workload w(fs, d.sub("live"), out);
    w.run(d.sub("img-before"), d.sub("img-after"));
    for (const auto& o : out.ops) {
      INFO(o.name << ": " << (o.err ? o.err->to_string() : std::string()));
      REQUIRE_FALSE(o.err.has_value());
    }
    REQUIRE(out.violations.empty());
    REQUIRE_FALSE(fs.failed_path().has_value());
    for (const auto& img : {d.sub("img-before"), d.sub("img-after")}) {
      const auto bad = check_image(img, out);
      INFO(img);
      for (const auto& b : bad) UNSCOPED_INFO(b);
      REQUIRE(bad.empty());
    }
    total = fs.sync_calls();
  }
  REQUIRE(total > 30);

  std::map<std::string, std::uint64_t> kinds;  // error kinds the failing operations reported
  std::map<std::string, std::uint64_t> per_op;  // failing syncs per operation
  std::uint64_t close_failed = 0;
  for (std::uint64_t n = 1; n <= total; ++n) {
    temp_dir d(base);
    eio_fs fs;
    fs.fail_fsync_at(n);
    run_log out;
    workload w(fs, d.sub("live"), out);
    w.run(d.sub("img-before"), d.sub("img-after"));
    INFO("sync #" << n << " of " << total << " fails with EIO (" << fs.failed_path().value_or("not reached") << ")");
    REQUIRE(fs.failed_path().has_value());
    // The operation during which sync n ran.
    const op_result* at = nullptr;
    for (const auto& o : out.ops)
      if (o.syncs_before < n && n <= o.syncs_after) at = &o;
    REQUIRE(at != nullptr);
    INFO("during: " << at->name);
    ++per_op[at->group];
    // The error reaches the caller.
    REQUIRE(at->err.has_value());
    INFO("reported: " << at->err->to_string());
    CHECK(at->err->code == errc::kafka_storage_error);
    CHECK(at->err->sys_errno == EIO);
    ++kinds[fmt::format("{} (errno {})", errc_name(at->err->code), at->err->sys_errno)];
    if (out.close_error && at->name != "close") ++close_failed;
    // No write to the poisoned log (or to a topic whose creation failed)
    // succeeded, and its durable offset stayed put.
    for (const auto& v : out.violations) UNSCOPED_INFO(v);
    CHECK(out.violations.empty());
    // A power loss just before close, and one after it: nothing
    // acknowledged is lost.
    for (const auto& img : {d.sub("img-before"), d.sub("img-after")}) {
      const auto bad = check_image(img, out);
      INFO("image " << img.substr(img.rfind('/') + 1));
      for (const auto& b : bad) UNSCOPED_INFO(b);
      CHECK(bad.empty());
    }
  }
  std::printf("fsync EIO: %llu steps N covered (%llu runs where close() failed too after an earlier failure)\n",
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(close_failed));
  for (const auto& [op, c] : per_op) std::printf("  %3llu during %s\n", static_cast<unsigned long long>(c), op.c_str());
  for (const auto& [k, c] : kinds) std::printf("  %3llu reported %s\n", static_cast<unsigned long long>(c), k.c_str());
}
