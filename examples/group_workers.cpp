// franz example: a consumer group processed by worker threads.
//
//   group_workers [DATA_DIR] [RECORDS] [STALL_MS] [ASSIGNOR]
//       defaults: /tmp/franz-examples/group_workers 6000 1200 range
//
// What it shows: Kafka's threading model for a consumer group. Each worker
// thread owns one consumer (a franz::consumer is used by one thread at a
// time, like a KafkaConsumer); all of them subscribe to the topic "work"
// (6 partitions) in the group "workers", and the group coordinator shares
// the partitions among them. Every worker has a rebalance listener that
// logs the partitions it is assigned, gives up (revoked) or loses (lost),
// and that commits the offsets it has processed when partitions are revoked,
// so the next owner starts right after them.
//
// The run: a producer feeds the topic for about a second while w1 starts,
// w2 and w3 join one by one, w1 stalls in the middle of a batch for longer
// than max.poll.interval.ms (a slow call, a GC pause: STALL_MS, 0 = no
// stall) and is removed from the group, and w2 leaves. Each of these is a
// rebalance the output shows. At the end the program checks that every
// record produced was processed at least once, prints how often records
// were processed again (the stall's redeliveries: at-least-once, never
// lost), the per-worker counts and a `kafka-consumer-groups --describe`
// style table of the group. It exits 1 if the check fails. ASSIGNOR is a
// partition.assignment.strategy: range, roundrobin, sticky (eager: every
// rebalance revokes everything) or cooperative-sticky (only the partitions
// that move are revoked).
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <franz/franz.hpp>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

const std::string topic = "work";
const std::string group = "workers";
constexpr int partition_count = 6;
// Short so that the stall below gets a worker removed quickly. It is also
// the rebalance timeout: how long a rebalance waits for members to rejoin.
constexpr std::int64_t max_poll_interval_ms = 500;

const steady::time_point started = steady::now();

// One printf per line, so lines of different threads never interleave.
__attribute__((format(printf, 1, 2))) void say(const char* fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  const double t = std::chrono::duration<double>(steady::now() - started).count();
  std::printf("[%6.3fs] %s\n", t, line);
}

std::string names(const std::vector<franz::topic_partition>& tps) {
  if (tps.empty()) return "(none)";
  std::string s;
  for (const auto& tp : tps) {
    if (!s.empty()) s += ' ';
    s += tp.topic + "-" + std::to_string(tp.partition);
  }
  return s;
}

std::string offsets_text(const std::map<franz::topic_partition, franz::offset_and_metadata>& offsets) {
  std::string s;
  for (const auto& kv : offsets) {
    if (!s.empty()) s += ' ';
    s += kv.first.topic + "-" + std::to_string(kv.first.partition) + "@" + std::to_string(kv.second.off.value());
  }
  return s;
}

// How many times each record was processed, over all workers: the
// at-least-once check at the end reads it. Shared by the worker threads,
// hence the mutex (in a real application this is the database or service
// the workers write to).
class ledger {
 public:
  void processed(std::int32_t partition, std::int64_t off) {
    std::lock_guard l(mu_);
    auto& times = times_[static_cast<std::size_t>(partition)];
    if (times.size() <= static_cast<std::size_t>(off)) times.resize(static_cast<std::size_t>(off) + 1, 0);
    ++times[static_cast<std::size_t>(off)];
  }
  // Records below ends[p] (the topic is new, so offsets start at 0) never
  // processed.
  std::int64_t missing(const std::vector<std::int64_t>& ends) {
    std::lock_guard l(mu_);
    std::int64_t n = 0;
    for (std::size_t p = 0; p < ends.size(); ++p)
      for (std::int64_t o = 0; o < ends[p]; ++o)
        if (static_cast<std::size_t>(o) >= times_[p].size() || times_[p][static_cast<std::size_t>(o)] == 0) ++n;
    return n;
  }
  // Processings beyond the first.
  std::int64_t redeliveries() {
    std::lock_guard l(mu_);
    std::int64_t n = 0;
    for (const auto& times : times_)
      for (const int t : times) n += t > 1 ? t - 1 : 0;
    return n;
  }

 private:
  std::mutex mu_;
  std::vector<std::vector<int>> times_ = std::vector<std::vector<int>>(partition_count);
};

// A worker: one thread, one consumer, and the consumer's rebalance
// listener. The listener's callbacks run inside the consumer's poll() and
// close(), so on the worker's own thread: they may touch done_ without a
// lock.
class worker final : public franz::consumer_rebalance_listener {
 public:
  worker(std::string name, ledger& l) : name_(std::move(name)), ledger_(&l) {}
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;
  // Stops the thread first, so an early return from main cannot leave it
  // running against a closed broker.
  ~worker() override {
    stop();
    join();
  }

  // Creates the consumer and subscribes here, on the main thread, so setup
  // errors are reported before the thread starts; from then on only the
  // worker's thread touches the consumer (and wakeup(), which any thread
  // may call).
  franz::status start(franz::broker& b, const std::string& assignor) {
    franz::consumer_config cfg;
    cfg.client_id = name_;
    cfg.group_id = group;
    cfg.auto_offset_reset = franz::offset_reset::earliest;  // a partition nobody committed: from its start
    cfg.partition_assignment_strategy = {assignor};
    cfg.max_poll_records = 200;
    cfg.max_poll_interval_ms = max_poll_interval_ms;
    // The worker commits what it processed itself; auto-commit would also
    // commit on a schedule of its own.
    cfg.enable_auto_commit = false;
    auto c = franz::consumer::create(b, cfg);
    if (!c) return std::move(c).error();
    consumer_ = std::move(*c);
    if (auto s = consumer_->subscribe({topic}, this); !s.ok()) return s;
    say("%s: starts and joins group %s", name_.c_str(), group.c_str());
    thread_ = std::thread([this] { run(); });
    return {};
  }

  // Asks the worker to stall (sleep) in the middle of its next batch.
  void stall(std::int64_t ms) { stall_ms_.store(ms); }
  // The stall happened and the worker has polled again since (the poll that
  // finds out what the stall cost it).
  [[nodiscard]] bool stall_over() const { return stall_over_.load(); }

  // Asks the worker to finish: its poll is interrupted with WAKEUP, and it
  // closes its consumer (revoking and committing) and leaves the group.
  void stop() {
    stop_.store(true);
    if (consumer_) consumer_->wakeup();
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  // Read after join().
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] long processed() const { return processed_; }
  [[nodiscard]] bool failed() const { return failed_; }

  // --- consumer_rebalance_listener (on this worker's thread) ---------------
  void on_partitions_assigned(franz::consumer& c, const std::vector<franz::topic_partition>& tps) override {
    // Where each new partition resumes: the group's committed offset
    // (none: auto.offset.reset, here the partition's start).
    std::string from;
    if (auto committed = c.committed(tps); committed) {
      for (const auto& kv : *committed) {
        if (!from.empty()) from += ' ';
        from += kv.first.topic + "-" + std::to_string(kv.first.partition) + "@" +
                (kv.second ? std::to_string(kv.second->off.value()) : std::string("start"));
      }
    }
    say("%s: assigned %s (generation %d, member %s)", name_.c_str(), from.empty() ? "(none)" : from.c_str(),
        c.generation(), c.member_id().c_str());
  }

  void on_partitions_revoked(franz::consumer& c, const std::vector<franz::topic_partition>& tps) override {
    // Commit what was processed of the partitions given up, and wait for it:
    // their next owner starts at the committed offset, so this is what keeps
    // a rebalance from redelivering. It must happen here, before the
    // partitions move on.
    std::map<franz::topic_partition, franz::offset_and_metadata> offsets;
    for (const auto& tp : tps) {
      auto it = done_.find(tp);
      if (it != done_.end()) offsets.insert(*it);
    }
    for (const auto& tp : tps) done_.erase(tp);
    if (offsets.empty()) {
      say("%s: revoked %s (nothing processed to commit)", name_.c_str(), names(tps).c_str());
      return;
    }
    if (auto s = c.commit_sync(offsets); s.ok())
      say("%s: revoked %s, committed %s", name_.c_str(), names(tps).c_str(), offsets_text(offsets).c_str());
    else
      say("%s: revoked %s, commit failed: %s", name_.c_str(), names(tps).c_str(), s.error().to_string().c_str());
  }

  void on_partitions_lost(franz::consumer&, const std::vector<franz::topic_partition>& tps) override {
    // Removed from the group: others may already own these partitions, so a
    // commit would fail (and must not win). The new owners start from the
    // last commit; what this worker processed after it is processed again.
    say("%s: lost %s (removed from the group: no commit; it rejoins as a new member)", name_.c_str(),
        names(tps).c_str());
    for (const auto& tp : tps) done_.erase(tp);
  }

 private:
  void run() {
    while (!stop_.load()) {
      auto records = consumer_->poll(100ms);
      if (after_stall_) {
        after_stall_ = false;
        stall_over_.store(true);
      }
      if (!records) {
        if (records.code() == franz::errc::wakeup) continue;  // stop() interrupted the poll
        say("%s: poll: %s", name_.c_str(), records.error().to_string().c_str());
        failed_ = true;
        break;
      }
      if (records->empty()) continue;
      const std::int64_t stall = stall_ms_.exchange(0);
      if (stall > 0) {
        say("%s: stalls for %lld ms in the middle of a batch of %zu records (max.poll.interval.ms is %lld)",
            name_.c_str(), static_cast<long long>(stall), records->size(),
            static_cast<long long>(max_poll_interval_ms));
        std::this_thread::sleep_for(std::chrono::milliseconds(stall));
      }
      for (const auto& r : *records) {
        // "Processing": in a real worker, the side effect the records are for.
        ledger_->processed(r.partition, r.off.value());
        ++processed_;
        done_[{std::string(r.topic), r.partition}] = {r.off + 1};
      }
      if (stall > 0) {
        // After a stall the worker finds out it was removed: its commit is
        // refused (UNKNOWN_MEMBER_ID), and its next poll reports the
        // partitions lost and rejoins.
        if (auto s = consumer_->commit_sync(done_); s.ok())
          say("%s: commit after the stall succeeded", name_.c_str());
        else
          say("%s: commit after the stall failed: %s", name_.c_str(), s.error().to_string().c_str());
        after_stall_ = true;
        continue;
      }
      // Commit in the background after each batch: cheap (no fsync wait),
      // and a crash then redelivers at most what came after the last commit.
      // Failures are reported at a later poll, on this thread.
      consumer_->commit_async(done_, [this](const std::map<franz::topic_partition, franz::offset_and_metadata>&,
                                            const franz::status& s) {
        if (!s.ok()) say("%s: async commit failed: %s", name_.c_str(), s.error().to_string().c_str());
      });
    }
    // close() revokes everything (the listener commits) and leaves the
    // group, which rebalances the partitions to the remaining workers.
    if (auto s = consumer_->close(); !s.ok()) {
      say("%s: close: %s", name_.c_str(), s.error().to_string().c_str());
      failed_ = true;
      return;
    }
    say("%s: closed its consumer and left the group after processing %ld records", name_.c_str(), processed_);
  }

  std::string name_;
  ledger* ledger_;
  std::unique_ptr<franz::consumer> consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> stall_ms_{0};
  std::atomic<bool> stall_over_{false};
  bool after_stall_ = false;
  // Next offset to process per owned partition (what a commit stores).
  std::map<franz::topic_partition, franz::offset_and_metadata> done_;
  long processed_ = 0;
  bool failed_ = false;
};

void print_group(franz::broker& b, const char* when) {
  auto d = b.groups().describe_group(group);
  if (!d) {
    std::fprintf(stderr, "describe group %s: %s\n", group.c_str(), d.error().to_string().c_str());
    return;
  }
  std::printf("group %s %s: state %s, generation %d, protocol %s, assignor %s, %zu member(s)\n", group.c_str(), when,
              std::string(franz::group_state_name(d->state)).c_str(), d->generation,
              d->protocol == franz::rebalance_protocol::eager ? "eager" : "cooperative",
              d->assignor.empty() ? "-" : d->assignor.c_str(), d->members.size());
  for (const auto& m : d->members)
    std::printf("  member %-8s client %-4s %s\n", m.member_id.c_str(), m.client_id.c_str(),
                names(m.assignment).c_str());
  std::printf("  %-8s %-6s %9s %14s %14s %5s  %s\n", "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
              "LAG", "CONSUMER-ID");
  for (const auto& row : d->partitions)
    std::printf("  %-8s %-6s %9d %14s %14lld %5s  %s\n", group.c_str(), row.tp.topic.c_str(), row.tp.partition,
                row.committed ? std::to_string(row.committed->off.value()).c_str() : "-",
                static_cast<long long>(row.log_end.value()), row.lag ? std::to_string(*row.lag).c_str() : "-",
                row.owner.empty() ? "-" : row.owner.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/franz-examples/group_workers";
  const long records = argc > 2 ? std::atol(argv[2]) : 6000;
  const std::int64_t stall_ms = argc > 3 ? std::atoll(argv[3]) : 1200;
  const std::string assignor = argc > 4 ? argv[4] : "range";
  if (records < 1 || stall_ms < 0) {
    std::fprintf(stderr, "usage: group_workers [DATA_DIR] [RECORDS >= 1] [STALL_MS >= 0] [ASSIGNOR]\n");
    return 2;
  }

  // The broker creates its data directory, but not the parents.
  if (std::error_code ec; !std::filesystem::create_directories(dir, ec) && ec) {
    std::fprintf(stderr, "create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  // Background maintenance stays on: its tick() is what notices a member
  // that stopped polling (the stalled worker) and removes it.
  auto broker = franz::broker::open({.data_dir = dir});
  if (!broker) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), broker.error().to_string().c_str());
    return 1;
  }
  auto& b = **broker;

  // A fresh topic and group on every run: offsets then start at 0, and the
  // group has no committed offsets from an earlier run. Deleting the topic
  // also deletes the group's commits for it.
  if (auto s = b.delete_topic(topic); !s.ok() && s.code() != franz::errc::unknown_topic_or_partition) {
    std::fprintf(stderr, "delete topic: %s\n", s.error().to_string().c_str());
    return 1;
  }
  if (auto s = b.groups().delete_group(group); !s.ok() && s.code() != franz::errc::group_id_not_found) {
    std::fprintf(stderr, "delete group: %s\n", s.error().to_string().c_str());
    return 1;
  }
  if (auto s = b.create_topic(topic, partition_count); !s.ok()) {
    std::fprintf(stderr, "create topic: %s\n", s.error().to_string().c_str());
    return 1;
  }
  std::printf("topic %s: %d partitions in %s; %ld records; workers use %s; max.poll.interval.ms %lld\n",
              topic.c_str(), partition_count, dir.c_str(), records, assignor.c_str(),
              static_cast<long long>(max_poll_interval_ms));

  // Declared before the producer: its callbacks count into them until it
  // is closed or destroyed.
  std::atomic<long> acked{0}, failed{0};
  // acks=1: a record counts as produced once it is in the log (visible to
  // the workers); this example is about consumption, not durability.
  auto producer = franz::producer::create(b, {.acks = franz::ack::leader, .linger_ms = 5});
  if (!producer) {
    std::fprintf(stderr, "producer: %s\n", producer.error().to_string().c_str());
    return 1;
  }

  // Declared after the broker and the producer, so on any early return the
  // workers are stopped (their destructors) before those close.
  ledger ledger;
  std::vector<std::unique_ptr<worker>> workers;
  for (const char* name : {"w1", "w2", "w3"}) workers.push_back(std::make_unique<worker>(name, ledger));
  auto start_worker = [&](worker& w) {
    if (auto s = w.start(b, assignor); !s.ok()) {
      std::fprintf(stderr, "%s: %s\n", w.name().c_str(), s.error().to_string().c_str());
      return false;
    }
    return true;
  };

  // Produce in 40 chunks, 25 ms apart (about a second), and change the
  // group between chunks: w2 and w3 join, w1 stalls, w2 leaves.
  if (!start_worker(*workers[0])) return 1;
  constexpr int chunks = 40;
  long sent = 0;
  for (int chunk = 0; chunk < chunks; ++chunk) {
    if (chunk == 8 && !start_worker(*workers[1])) return 1;
    if (chunk == 16 && !start_worker(*workers[2])) return 1;
    if (chunk == 20 && stall_ms > 0) workers[0]->stall(stall_ms);
    if (chunk == 30) {
      say("main: w2 leaves");
      workers[1]->stop();
      workers[1]->join();
    }
    const long until = records * (chunk + 1) / chunks;
    for (; sent < until; ++sent) {
      // Keyed records: each key always lands on the same partition.
      const std::string key = "order-" + std::to_string(sent % 1000);
      const std::string value = "order " + std::to_string(sent);
      auto s = (*producer)->send({.topic = topic, .key = key, .value = value},
                                 [&](const franz::result<franz::record_metadata>& md) {
                                   if (md) ++acked;
                                   else if (failed++ == 0)
                                     std::fprintf(stderr, "send: %s\n", md.error().to_string().c_str());
                                 });
      if (!s.ok()) {
        std::fprintf(stderr, "send: %s\n", s.error().to_string().c_str());
        return 1;
      }
    }
    std::this_thread::sleep_for(25ms);
  }
  if (auto s = (*producer)->close(); !s.ok()) {
    std::fprintf(stderr, "producer close: %s\n", s.error().to_string().c_str());
    return 1;
  }
  say("main: produced %ld records (%ld acknowledged, %ld failed)", sent, acked.load(), failed.load());

  auto description = b.describe_topic(topic);
  if (!description) {
    std::fprintf(stderr, "describe topic: %s\n", description.error().to_string().c_str());
    return 1;
  }
  std::vector<std::int64_t> ends;
  std::int64_t in_log = 0;
  for (const auto& p : description->partitions) {
    ends.push_back(p.log_end.value());
    in_log += p.log_end.value();
  }
  // Wait until every record in the log was processed, the stalled worker is
  // back (it has polled after its stall, so the output shows what the stall
  // cost it) and the group is Stable: the workers then close with the
  // generation the group has, so their final commits are accepted.
  const auto deadline = steady::now() + 60s;
  std::int64_t missing = in_log;
  for (;;) {
    missing = ledger.missing(ends);
    const bool stall_done = stall_ms == 0 || workers[0]->stall_over();
    auto d = b.groups().describe_group(group);
    const bool stable = d && d->state == franz::group_state::stable;
    if ((missing == 0 && stall_done && stable) || steady::now() >= deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  say("main: %lld of %lld records processed; stopping the workers", static_cast<long long>(in_log - missing),
      static_cast<long long>(in_log));
  print_group(b, "while running");

  // Stop them all at once (each one's close() commits and leaves), then wait.
  for (auto& w : workers) w->stop();
  for (auto& w : workers) w->join();
  bool workers_failed = false;
  for (const auto& w : workers) {
    std::printf("%s: processed %ld records\n", w->name().c_str(), w->processed());
    workers_failed = workers_failed || w->failed();
  }
  print_group(b, "after the workers left");

  // The check: every record in the log was processed at least once, and the
  // group's commits reached the log end of every partition (nothing left
  // for a restart to redo).
  std::int64_t committed_behind = 0;
  if (auto d = b.groups().describe_group(group); d) {
    for (std::size_t p = 0; p < ends.size(); ++p) {
      bool found = false;
      for (const auto& row : d->partitions)
        if (row.tp.partition == static_cast<std::int32_t>(p) && row.committed) {
          found = true;
          committed_behind += ends[p] - row.committed->off.value();
        }
      if (!found) committed_behind += ends[p];
    }
  } else {
    std::fprintf(stderr, "describe group: %s\n", d.error().to_string().c_str());
    return 1;
  }
  const std::int64_t redelivered = ledger.redeliveries();
  if (missing != 0 || in_log != sent || failed.load() != 0 || committed_behind != 0 || workers_failed) {
    std::printf("check FAILED: %lld of %ld records never processed, %lld in the log, %ld send failures, "
                "commits %lld records behind the log end%s\n",
                static_cast<long long>(missing), sent, static_cast<long long>(in_log), failed.load(),
                static_cast<long long>(committed_behind), workers_failed ? ", a worker failed" : "");
    return 1;
  }
  std::printf("check OK: all %ld records processed at least once (%lld redelivered), commits at the log end of all "
              "%d partitions\n",
              sent, static_cast<long long>(redelivered), partition_count);
  return 0;
}
