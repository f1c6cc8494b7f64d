// franz example: a game (telemetry) server that embeds franz.
//
//   telemetry_server [DATA_DIR] [SECONDS] [EVENTS_PER_TICK]
//       defaults: /tmp/franz-examples/telemetry_server 2 20
//
// What it shows: franz inside a fixed-rate server loop, with no thread of
// franz's own doing maintenance.
//
//  * Tick-driven mode. The broker is opened with background_maintenance =
//    false: the loop calls broker->tick() itself, once per 1 ms tick, so
//    retention (and segment.ms, flush.ms) run at a point of the frame the
//    server chooses, on its thread. The topic "telemetry" has tiny segments
//    (segment.bytes 32 KiB) and retention.bytes 256 KiB per partition, so
//    the output shows tick() deleting old segments within a second. The
//    loop times every tick() call: most cost microseconds, but one that
//    deletes a segment rewrites the partition's checkpoint file durably
//    (two fsyncs), which on a disk takes milliseconds — the frame budget.
//    A server that cannot afford that calls tick() less often (each call
//    then deletes several segments for the same two fsyncs) or from a
//    thread that may block.
//  * The loop appends a burst of small events per tick through a producer:
//    acks=0 and linger.ms=1. Telemetry can lose the last events of a crash
//    and nothing in the loop waits for or reads a report, so acks=0 asks for
//    none; linger.ms=1 groups each tick's burst into one batch per partition,
//    which the producer's I/O thread appends, so send() costs the loop only
//    a copy into the open batch.
//  * A shipper consumer, on its own thread, polls the events and batches
//    them into shipments of up to 1500 events or 50 ms of age (the oldest
//    event's), as a log shipper does before an HTTP or object-store upload.
//    Every half second the loop has a 50 ms "fight" with four times the
//    events: shipments then fill up by count, otherwise they go by age.
//    Why its own thread: shipping is network I/O with unbounded latency,
//    and the loop must not miss ticks because an upload is slow. The log is
//    the queue between them: the loop never waits for the shipper, the
//    shipper's poll wakes when events are appended, and a slow shipper only
//    lets the log grow (up to retention.bytes: past that, retention deletes
//    events it has not shipped yet, which the check below would report as
//    lost). The consumer stays on the shipper's thread: a franz::consumer
//    is used by one thread at a time.
//
// It runs for SECONDS, prints events/s appended and shipped, shipment and
// tick() statistics, and what retention deleted, then checks that every
// event appended before shutdown was shipped, with no gap. Exits 1 if not.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
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

const std::string topic = "telemetry";
constexpr int partition_count = 2;
constexpr int players = 16;
constexpr std::size_t shipment_max_events = 1500;
constexpr std::int64_t shipment_max_age_ms = 50;

double seconds_since(steady::time_point t) { return std::chrono::duration<double>(steady::now() - t).count(); }

// The shipper: one consumer on its own thread, every partition assigned.
// The loop tells it to finish with drain(): ship everything up to the given
// log ends, then stop.
class shipper {
 public:
  explicit shipper(std::unique_ptr<franz::consumer> c) : consumer_(std::move(c)) {}
  shipper(const shipper&) = delete;
  shipper& operator=(const shipper&) = delete;
  ~shipper() {
    drain({});
    join();
  }

  void start(const franz::clock& clk) {
    clk_ = &clk;
    started_ = steady::now();
    thread_ = std::thread([this] { run(); });
  }
  // Ship everything below `ends` (per partition), then stop. An empty
  // vector: stop now.
  void drain(std::vector<std::int64_t> ends) {
    {
      std::lock_guard l(mu_);
      if (draining_) return;
      draining_ = true;
      drain_ends_ = std::move(ends);
    }
    consumer_->wakeup();  // a poll waiting for events returns at once
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] long shipped() const { return shipped_.load(); }

  // Read after join().
  struct stats {
    long shipments = 0, by_count = 0, by_age = 0, at_shutdown = 0;
    long events = 0, gaps = 0;
    std::uint64_t bytes = 0;
    std::int64_t max_age_ms = 0;  // oldest event's age when shipped
    double seconds = 0;           // from start to the last shipment
    bool failed = false;
  };
  [[nodiscard]] const stats& result() const { return stats_; }

 private:
  void run() {
    std::vector<std::int64_t> next(partition_count, 0);  // next offset expected per partition
    for (;;) {
      // Wait for events at most until the open shipment is due by age.
      auto timeout = 100ms;
      if (count_ > 0)
        timeout = std::chrono::milliseconds(std::clamp<std::int64_t>(
            oldest_ms_ + shipment_max_age_ms - clk_->now_ms(), 1, shipment_max_age_ms));
      auto records = consumer_->poll(timeout);
      if (!records && records.code() != franz::errc::wakeup) {
        std::printf("shipper: poll: %s\n", records.error().to_string().c_str());
        stats_.failed = true;
        break;
      }
      if (records) {
        for (const auto& r : *records) {
          // Offsets are dense: a jump means events were deleted by retention
          // before the shipper read them (auto.offset.reset moved it on).
          auto& expected = next[static_cast<std::size_t>(r.partition)];
          if (r.off.value() != expected) stats_.gaps += r.off.value() - expected;
          expected = r.off.value() + 1;
          // Views are valid until the next poll: copy what the shipment keeps.
          payload_.append(r.key.data(), r.key.size()).append(" ").append(r.value.data(), r.value.size()).append("\n");
          if (count_++ == 0) oldest_ms_ = r.ts.value();
          oldest_ms_ = std::min(oldest_ms_, r.ts.value());
          if (count_ == shipment_max_events) ship("count");
        }
      }
      if (count_ > 0 && clk_->now_ms() - oldest_ms_ >= shipment_max_age_ms) ship("age");
      // Draining: done once every partition is read up to its end.
      std::vector<std::int64_t> ends;
      bool draining = false;
      {
        std::lock_guard l(mu_);
        draining = draining_;
        ends = drain_ends_;
      }
      if (draining) {
        bool done = true;
        for (std::size_t p = 0; p < ends.size(); ++p) done = done && next[p] >= ends[p];
        if (done) {
          if (count_ > 0) ship("shutdown");
          break;
        }
      }
    }
    if (auto s = consumer_->close(); !s.ok()) {
      std::printf("shipper: close: %s\n", s.error().to_string().c_str());
      stats_.failed = true;
    }
  }

  // "Uploads" the shipment: here it only counts it (and prints the first
  // few); a real shipper would send payload_ and retry until it succeeded.
  void ship(const char* why) {
    const std::int64_t age = clk_->now_ms() - oldest_ms_;
    ++stats_.shipments;
    if (why[0] == 'c') ++stats_.by_count;
    else if (why[0] == 'a') ++stats_.by_age;
    else ++stats_.at_shutdown;
    stats_.events += static_cast<long>(count_);
    stats_.bytes += payload_.size();
    stats_.max_age_ms = std::max(stats_.max_age_ms, age);
    stats_.seconds = seconds_since(started_);
    if (stats_.shipments <= 3 || why[0] == 's')
      std::printf("shipment %ld: %zu events, %zu bytes, oldest event %lld ms old (shipped by %s)\n", stats_.shipments,
                  count_, payload_.size(), static_cast<long long>(age), why);
    shipped_.store(stats_.events);
    payload_.clear();
    count_ = 0;
  }

  std::unique_ptr<franz::consumer> consumer_;
  const franz::clock* clk_ = nullptr;
  std::thread thread_;
  steady::time_point started_;
  std::mutex mu_;
  bool draining_ = false;                 // mu_
  std::vector<std::int64_t> drain_ends_;  // mu_
  std::atomic<long> shipped_{0};
  // The open shipment (shipper thread only).
  std::string payload_;
  std::size_t count_ = 0;
  std::int64_t oldest_ms_ = 0;
  stats stats_;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/franz-examples/telemetry_server";
  const double seconds = argc > 2 ? std::atof(argv[2]) : 2.0;
  const int per_tick = argc > 3 ? std::atoi(argv[3]) : 20;
  if (seconds <= 0 || per_tick < 1) {
    std::fprintf(stderr, "usage: telemetry_server [DATA_DIR] [SECONDS > 0] [EVENTS_PER_TICK >= 1]\n");
    return 2;
  }

  // The broker creates its data directory, but not the parents.
  if (std::error_code ec; !std::filesystem::create_directories(dir, ec) && ec) {
    std::fprintf(stderr, "create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  // Tick-driven: no maintenance thread; the loop below calls tick().
  auto broker = franz::broker::open({.data_dir = dir, .background_maintenance = false});
  if (!broker) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), broker.error().to_string().c_str());
    return 1;
  }
  auto& b = **broker;

  // A fresh topic each run, so its offsets count this run's events from 0.
  // No flush.ms: it would make tick() fsync on the loop's thread. The data
  // is in the page cache as soon as it is appended (a crash of the process
  // loses nothing; a power loss loses what the kernel had not written back),
  // and close() flushes.
  if (auto s = b.delete_topic(topic); !s.ok() && s.code() != franz::errc::unknown_topic_or_partition) {
    std::fprintf(stderr, "delete topic: %s\n", s.error().to_string().c_str());
    return 1;
  }
  const std::int64_t segment_bytes = 32 * 1024, retention_bytes = 256 * 1024;
  if (auto s = b.create_topic(topic, partition_count,
                              {{"segment.bytes", std::to_string(segment_bytes)},
                               {"retention.bytes", std::to_string(retention_bytes)}});
      !s.ok()) {
    std::fprintf(stderr, "create topic: %s\n", s.error().to_string().c_str());
    return 1;
  }
  std::printf("topic %s: %d partitions, segment.bytes %lld, retention.bytes %lld, in %s\n", topic.c_str(),
              partition_count, static_cast<long long>(segment_bytes), static_cast<long long>(retention_bytes),
              dir.c_str());
  std::printf("loop: 1 ms ticks for %.1f s, %d events per tick; broker->tick() every tick\n", seconds, per_tick);

  auto producer = franz::producer::create(b, {.acks = franz::ack::none, .linger_ms = 1});
  if (!producer) {
    std::fprintf(stderr, "producer: %s\n", producer.error().to_string().c_str());
    return 1;
  }
  std::vector<franz::topic_partition> tps;
  for (int p = 0; p < partition_count; ++p) tps.push_back({topic, p});
  auto consumer = franz::consumer::create(b, {.max_poll_records = 4000,
                                              .auto_offset_reset = franz::offset_reset::earliest,
                                              .client_id = "shipper"});
  if (!consumer) {
    std::fprintf(stderr, "consumer: %s\n", consumer.error().to_string().c_str());
    return 1;
  }
  if (auto s = (*consumer)->assign(tps); !s.ok()) {
    std::fprintf(stderr, "assign: %s\n", s.error().to_string().c_str());
    return 1;
  }
  // Declared after the producer: on an early return it stops first.
  shipper ship(std::move(*consumer));
  ship.start(b.clk());

  std::vector<std::string> keys;
  for (int i = 0; i < players; ++i) keys.push_back("player-" + std::to_string(i));

  // The loop. Fixed rate: tick n starts at start + n ms; a tick that starts
  // late does not make the next ones hurry (no catch-up burst).
  const auto start = steady::now();
  const auto end = start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
  auto next_tick = start;
  long ticks = 0, late = 0, appended = 0;
  std::vector<double> tick_us;  // the cost of each broker->tick() call
  auto next_report = start + 500ms;
  bool retention_seen = false;
  char value[128];
  while (steady::now() < end) {
    ++ticks;
    // 1. Game logic: this tick's events; four times as many in a fight (the
    //    first 50 ticks of every 500). Keyed by player, so each player's
    //    events stay in order on one partition.
    const bool fight = ticks % 500 < 50;
    const int events = fight ? 4 * per_tick : per_tick;
    for (int e = 0; e < events; ++e) {
      const int player = static_cast<int>((ticks * 7 + e) % players);
      const int n = std::snprintf(value, sizeof value, "tick=%ld kind=%s x=%d y=%d hp=%d", ticks,
                                  fight && e % 2 == 0 ? "hit" : "move", static_cast<int>((ticks * 31 + e * 17) % 1000),
                                  static_cast<int>((ticks * 13 + e * 29) % 1000), 100 - e % 100);
      auto s = (*producer)->send({.topic = topic,
                                  .key = keys[static_cast<std::size_t>(player)],
                                  .value = std::string_view(value, static_cast<std::size_t>(n))});
      if (!s.ok()) {
        std::fprintf(stderr, "send: %s\n", s.error().to_string().c_str());
        return 1;
      }
      ++appended;
    }
    // 2. franz's maintenance, on this thread: retention (and segment.ms,
    //    flush.ms if configured). Timed, to show what it costs a frame.
    const auto t0 = steady::now();
    if (auto s = b.tick(); !s.ok()) {
      std::fprintf(stderr, "tick: %s\n", s.error().to_string().c_str());
      return 1;
    }
    tick_us.push_back(std::chrono::duration<double, std::micro>(steady::now() - t0).count());
    // 3. Twice a second: progress, and where retention has moved the logs.
    if (steady::now() >= next_report) {
      next_report += 500ms;
      auto d = b.describe_topic(topic);
      if (!d) {
        std::fprintf(stderr, "describe: %s\n", d.error().to_string().c_str());
        return 1;
      }
      std::printf("t=%.1fs appended %ld, shipped %ld;", seconds_since(start), appended, ship.shipped());
      for (const auto& p : d->partitions) {
        std::printf(" p%d offsets %lld..%lld (%zu segments, %llu KiB)", p.partition,
                    static_cast<long long>(p.log_start.value()), static_cast<long long>(p.log_end.value()),
                    p.segments, static_cast<unsigned long long>(p.size_bytes / 1024));
        retention_seen = retention_seen || p.log_start.value() > 0;
      }
      std::printf("\n");
    }
    // 4. Sleep until the next tick.
    next_tick += 1ms;
    const auto now = steady::now();
    if (now > next_tick + 1ms) {
      ++late;
      next_tick = now;
    }
    std::this_thread::sleep_until(next_tick);
  }
  const double loop_seconds = seconds_since(start);

  // Shutdown: append what lingers, then let the shipper finish everything
  // up to the log ends as they are now.
  if (auto s = (*producer)->flush(); !s.ok()) {
    std::fprintf(stderr, "flush: %s\n", s.error().to_string().c_str());
    return 1;
  }
  auto d = b.describe_topic(topic);
  if (!d) {
    std::fprintf(stderr, "describe: %s\n", d.error().to_string().c_str());
    return 1;
  }
  std::vector<std::int64_t> ends;
  std::int64_t in_log = 0;
  for (const auto& p : d->partitions) {
    ends.push_back(p.log_end.value());
    in_log += p.log_end.value();
  }
  ship.drain(ends);
  ship.join();
  const auto& st = ship.result();

  std::sort(tick_us.begin(), tick_us.end());
  const auto over_budget = tick_us.end() - std::upper_bound(tick_us.begin(), tick_us.end(), 1000.0);
  std::printf("loop: %ld ticks in %.2f s (%ld started late); broker->tick() median %.1f us, max %.1f us, %ld calls "
              "over the 1 ms frame (retention's fsyncs)\n",
              ticks, loop_seconds, late, tick_us.empty() ? 0.0 : tick_us[tick_us.size() / 2],
              tick_us.empty() ? 0.0 : tick_us.back(), static_cast<long>(over_budget));
  std::printf("appended %ld events (%.0f/s); shipped %ld events (%.0f/s) in %ld shipments (%ld full, %ld by age, "
              "%ld at shutdown), %.1f KiB, oldest event at shipping %lld ms\n",
              appended, static_cast<double>(appended) / loop_seconds, st.events,
              st.seconds > 0 ? static_cast<double>(st.events) / st.seconds : 0.0, st.shipments, st.by_count,
              st.by_age, st.at_shutdown, static_cast<double>(st.bytes) / 1024.0, static_cast<long long>(st.max_age_ms));
  for (const auto& p : d->partitions) {
    std::printf("retention: p%d keeps offsets %lld..%lld in %zu segments, %llu KiB (retention.bytes %lld KiB); "
                "tick() deleted %lld older events\n",
                p.partition, static_cast<long long>(p.log_start.value()), static_cast<long long>(p.log_end.value()),
                p.segments, static_cast<unsigned long long>(p.size_bytes / 1024),
                static_cast<long long>(retention_bytes / 1024), static_cast<long long>(p.log_start.value()));
    retention_seen = retention_seen || p.log_start.value() > 0;
  }
  if (!retention_seen)
    std::printf("retention: nothing deleted yet (run longer, or with more events per tick)\n");

  if (auto s = (*producer)->close(); !s.ok()) {
    std::fprintf(stderr, "producer close: %s\n", s.error().to_string().c_str());
    return 1;
  }
  if (st.failed || st.gaps != 0 || st.events != appended || in_log != appended) {
    std::printf("check FAILED: appended %ld, in the log %lld, shipped %ld, %ld lost to retention before shipping\n",
                appended, static_cast<long long>(in_log), st.events, st.gaps);
    return 1;
  }
  std::printf("check OK: all %ld events appended before shutdown were shipped, none lost\n", appended);
  return 0;
}
