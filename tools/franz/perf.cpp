// franz perf — producer and consumer throughput and latency over one topic
// (Kafka's kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh).
//
// perf produce: sends --num-records records of --record-size bytes (one
// prebuilt payload of random capital letters, as Kafka's tool; null key),
// at most --throughput records/s. Each record's latency runs from send() to
// its callback. stdout gets a window line every --reporting-interval ms and
// a summary with percentiles at the end:
//   N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency.
//   N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency,
//   P ms 50th, P ms 95th, P ms 99th, P ms 99.9th.
// (the summary is one line). Latencies are printed in ms with 3 decimals:
// in-process they are microseconds. Exit 1 if any record failed.
//
// perf consume: reads --num-records records from every partition's log
// start (or as a member of --group) and sums every value byte, so the
// figures include touching the data. Gives up --timeout ms after the last
// record (exit 1). stdout gets a window line every --reporting-interval ms,
// then Kafka's header and values, then the latency of the polls that
// returned records.
//
// Threads: send callbacks run on the producer's I/O thread and touch only
// produce_stats (atomics, plus latency slots the main thread reads only
// after flush() has returned, which orders them). stdout, stderr and the
// progress bar belong to the main thread.
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "cli.hpp"

namespace franz::cli {
namespace {

constexpr std::string_view cmd = "perf";
using steady = std::chrono::steady_clock;

// At most this many latency samples are kept (every stride-th record beyond
// it): 32 MiB, whatever --num-records is.
constexpr std::uint64_t max_samples = std::uint64_t{1} << 22;

// Durations from options, capped at ~31 years so that steady_clock's
// nanoseconds cannot overflow in comparisons and sums.
std::chrono::milliseconds option_ms(std::int64_t v) {
  return std::chrono::milliseconds(std::min<std::int64_t>(v, 1'000'000'000'000));
}

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }
double seconds(steady::duration d) { return std::chrono::duration<double>(d).count(); }
double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }
// x per second over `secs`; 0 for an empty interval rather than inf.
double rate(double x, double secs) { return secs > 0 ? x / secs : 0; }

// Kafka's percentile: the sample at index p * n of the sorted samples.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size()));
  return sorted[std::min(i, sorted.size() - 1)];
}

// "P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th" (sorts ns).
std::string percentiles(std::vector<std::int64_t>& ns) {
  std::sort(ns.begin(), ns.end());
  return fmt::format("{:.3f} ms 50th, {:.3f} ms 95th, {:.3f} ms 99th, {:.3f} ms 99.9th", ms(percentile(ns, 0.5)),
                     ms(percentile(ns, 0.95)), ms(percentile(ns, 0.99)), ms(percentile(ns, 0.999)));
}

// Kafka's consumer-perf-test time format, local time: "YYYY-MM-DD HH:MM:SS:mmm".
std::string wall_time(std::chrono::system_clock::time_point t) {
  const auto since = t.time_since_epoch();
  const std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(since).count();
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000;
  struct tm tm {};
  ::localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return fmt::format("{}:{:03d}", buf, millis);
}

// One line to stdout, flushed so that a reader of a pipe sees it at once.
// The bar is erased first: on a terminal both streams share the line.
void print_line(progress_bar& bar, const std::string& line) {
  bar.finish();
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void raise_to(std::atomic<std::int64_t>& a, std::int64_t v) noexcept {
  std::int64_t cur = a.load(std::memory_order_relaxed);
  while (cur < v && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

// The topic must exist: perf never creates one (its config is the user's
// choice). exit_ok, or the reported exit code.
int check_topic(const broker& b, const std::string& topic) {
  auto t = b.find_topic(topic);
  if (t) return exit_ok;
  if (t.error().code == errc::unknown_topic_or_partition)
    return report(cmd, exit_not_found,
                  fmt::format("topic '{}' does not exist (create it with `franz topics --create --topic {}`)", topic,
                              topic));
  return report(cmd, t.error());
}

// Checks common to both modes, before the data directory is touched.
int validate(const perf_args& a) {
  if (a.num_records < 1)
    return report(cmd, exit_usage, fmt::format("--num-records must be at least 1 (got {})", a.num_records));
  if (a.reporting_interval_ms < 1)
    return report(cmd, exit_usage,
                  fmt::format("--reporting-interval must be at least 1 ms (got {})", a.reporting_interval_ms));
  return exit_ok;
}

// --- produce ---------------------------------------------------------------------

// What the send callbacks report. Written on the producer's I/O thread, read
// on the main thread.
struct produce_stats {
  std::atomic<std::uint64_t> ok{0}, failed{0};
  // The current window's latency sum and max; the main thread takes them
  // with exchange() and adds them to its totals.
  std::atomic<std::int64_t> window_ns{0}, window_max_ns{0};
  // Slot k: the latency of the (k * stride)-th successful acknowledgement.
  // Preallocated (no allocation on the I/O thread); read after flush().
  std::vector<std::int64_t> samples;
  std::uint64_t stride = 1;
  std::mutex error_mu;  // the error path only
  std::optional<error> first_error;

  void on_ack(const result<record_metadata>& md, steady::time_point sent) {
    const std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - sent).count();
    if (!md.ok()) {
      {
        std::lock_guard l(error_mu);
        if (!first_error) first_error = md.error();
      }
      failed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    window_ns.fetch_add(ns, std::memory_order_relaxed);
    raise_to(window_max_ns, ns);
    const std::uint64_t k = ok.fetch_add(1, std::memory_order_relaxed);
    if (k % stride == 0 && k / stride < samples.size()) samples[k / stride] = ns;
  }
};

int run_produce(const context& ctx, const perf_args& a) {
  if (a.record_size < 0)
    return report(cmd, exit_usage, fmt::format("--record-size must be 0 or more (got {})", a.record_size));
  // -1 or a positive rate; NaN fails both tests.
  if (!(a.throughput > 0) && a.throughput != -1)
    return report(cmd, exit_usage,
                  fmt::format("--throughput must be a positive number of records/s, or -1 for unthrottled (got {})",
                              a.throughput));
  // The options first, then --producer-props (which win over them).
  producer_config cfg;
  if (auto st = cfg.apply({{"acks", a.acks}, {"compression.type", a.compression}}); !st) return report(cmd, st.error());
  const auto props = parse_properties(cmd, "--producer-props", a.producer_props);
  if (!props) return exit_usage;
  if (auto st = cfg.apply(*props); !st)
    return report(cmd, exit_code_of(st.error()), fmt::format("--producer-props: {}", st.error().to_string()));
  // Bounds the payload allocation; the topic's max.message.bytes is checked
  // by send() (RECORD_TOO_LARGE).
  if (a.record_size > cfg.max_request_size)
    return report(cmd, exit_usage,
                  fmt::format("--record-size {} is larger than max.request.size {} (raise it with --producer-props "
                              "max.request.size=N)",
                              a.record_size, cfg.max_request_size));

  auto opened = open_data_dir(ctx, cmd);
  if (!opened.b) return opened.rc;
  broker& b = *opened.b;
  if (int rc = check_topic(b, a.topic); rc != exit_ok) return rc;

  std::string payload(static_cast<std::size_t>(a.record_size), 'A');
  std::mt19937_64 rng(0x5eed);
  for (char& c : payload) c = static_cast<char>('A' + rng() % 26);

  const auto n = static_cast<std::uint64_t>(a.num_records);
  produce_stats st;
  st.stride = (n + max_samples - 1) / max_samples;
  st.samples.assign(n / st.stride + 1, 0);

  auto p = producer::create(b, cfg);
  if (!p) return report(cmd, p.error());
  producer& prod = **p;

  progress_bar bar("produce", n);
  const bool throttled = a.throughput != -1;
  const auto interval = option_ms(a.reporting_interval_ms);
  std::uint64_t sent = 0;
  std::optional<error> send_error;
  // Totals over the windows taken so far.
  std::int64_t total_ns = 0, max_ns = 0;
  const auto start = steady::now();
  auto window_start = start;
  std::uint64_t window_ok = 0;  // st.ok at window_start

  // Takes the window's latency sums (always, so the totals stay whole) and
  // prints its line if `print`.
  auto take_window = [&](steady::time_point now, bool print) {
    const std::uint64_t ok = st.ok.load(std::memory_order_relaxed);
    const std::int64_t sum = st.window_ns.exchange(0, std::memory_order_relaxed);
    const std::int64_t mx = st.window_max_ns.exchange(0, std::memory_order_relaxed);
    total_ns += sum;
    max_ns = std::max(max_ns, mx);
    const auto count = ok - window_ok;
    const double secs = seconds(now - window_start);
    if (print)
      print_line(bar, fmt::format("{} records sent, {:.1f} records/sec ({:.2f} MB/sec), {:.3f} ms avg latency, "
                                  "{:.3f} ms max latency.",
                                  count, rate(static_cast<double>(count), secs),
                                  mib(rate(static_cast<double>(count) * static_cast<double>(a.record_size), secs)),
                                  count ? ms(sum) / static_cast<double>(count) : 0.0, ms(mx)));
    window_ok = ok;
    window_start = now;
  };

  produce_stats* stats = &st;
  for (std::uint64_t i = 0; i < n; ++i) {
    auto now = steady::now();
    if (throttled) {
      // Record i is due i / throughput s after the start; sleeping only when
      // ahead lets a late sender catch up with a burst, as Kafka's throttler.
      const auto due = start + std::chrono::duration_cast<steady::duration>(
                                   std::chrono::duration<double>(std::min(static_cast<double>(i) / a.throughput, 1e9)));
      if (now < due) {
        std::this_thread::sleep_until(due);
        now = steady::now();
      }
    }
    // Captures 16 trivially copyable bytes: std::function stores them
    // inline, so a send allocates nothing for its callback.
    auto s = prod.send({.topic = a.topic, .value = payload},
                       [stats, now](const result<record_metadata>& md) { stats->on_ack(md, now); });
    if (!s) {
      send_error = s.error();
      break;
    }
    ++sent;
    if (throttled || (i & 1023) == 0) {
      bar.update(st.ok.load(std::memory_order_relaxed) + st.failed.load(std::memory_order_relaxed));
      if (now - window_start >= interval) take_window(now, true);
    }
  }
  // Every accepted record is reported by the time flush returns; its
  // internal lock orders the callbacks' writes before our reads below.
  const status flushed = prod.flush();
  const auto end = steady::now();
  take_window(end, false);
  bar.update(st.ok.load() + st.failed.load());
  bar.finish();
  const status closed = prod.close();

  const std::uint64_t ok = st.ok.load();
  std::vector<std::int64_t> lat(st.samples.begin(),
                                st.samples.begin() + static_cast<std::ptrdiff_t>((ok + st.stride - 1) / st.stride));
  const double secs = seconds(end - start);
  print_line(bar, fmt::format("{} records sent, {:.1f} records/sec ({:.2f} MB/sec), {:.3f} ms avg latency, "
                              "{:.3f} ms max latency, {}.",
                              ok, rate(static_cast<double>(ok), secs),
                              mib(rate(static_cast<double>(ok) * static_cast<double>(a.record_size), secs)),
                              ok ? ms(total_ns) / static_cast<double>(ok) : 0.0, ms(max_ns), percentiles(lat)));

  if (send_error) {
    if (send_error->code == errc::record_too_large)
      return report(cmd, exit_usage, fmt::format("--record-size {}: {}", a.record_size, send_error->to_string()));
    return report(cmd, *send_error);
  }
  if (const std::uint64_t failed = st.failed.load(); failed > 0) {
    std::lock_guard l(st.error_mu);
    return report(cmd, exit_failed,
                  fmt::format("{} of {} records failed; the first: {}", failed, sent,
                              st.first_error ? st.first_error->to_string() : std::string("?")));
  }
  if (!flushed) return report(cmd, flushed.error());
  if (!closed) return report(cmd, closed.error());
  return exit_ok;
}

// --- consume ---------------------------------------------------------------------

// Sums the time spent in rebalances: from subscribe (or a revocation) to
// the next assignment. Runs inside poll(), on the main thread.
class rebalance_timer : public consumer_rebalance_listener {
 public:
  explicit rebalance_timer(steady::time_point start) : join_start_(start) {}
  void on_partitions_revoked(consumer&, const std::vector<topic_partition>&) override {
    if (!join_start_) join_start_ = steady::now();
  }
  void on_partitions_assigned(consumer&, const std::vector<topic_partition>&) override {
    if (join_start_) total_ += steady::now() - *join_start_;
    join_start_.reset();
  }
  [[nodiscard]] steady::duration total() const noexcept { return total_; }

 private:
  std::optional<steady::time_point> join_start_;
  steady::duration total_{};
};

// Keeps the value sums observable, so the compiler cannot drop the reads.
volatile std::uint64_t value_sum_sink = 0;

int run_consume(const context& ctx, const perf_args& a) {
  if (a.timeout_ms < 0)
    return report(cmd, exit_usage, fmt::format("--timeout must be 0 or more ms (got {})", a.timeout_ms));
  // Defaults first, so that --consumer-props may override them.
  consumer_config cfg;
  cfg.auto_offset_reset = offset_reset::earliest;
  const auto props = parse_properties(cmd, "--consumer-props", a.consumer_props);
  if (!props) return exit_usage;
  if (auto st = cfg.apply(*props); !st)
    return report(cmd, exit_code_of(st.error()), fmt::format("--consumer-props: {}", st.error().to_string()));
  if (a.group) cfg.group_id = *a.group;
  if (cfg.group_id && cfg.group_id->empty())
    return report(cmd, exit_usage, "--group: a group id must not be empty");

  auto opened = open_data_dir(ctx, cmd);
  if (!opened.b) return opened.rc;
  broker& b = *opened.b;
  if (int rc = check_topic(b, a.topic); rc != exit_ok) return rc;

  auto created = consumer::create(b, cfg);
  if (!created) return report(cmd, created.error());
  consumer& c = **created;

  const auto start_wall = std::chrono::system_clock::now();
  const auto start = steady::now();
  rebalance_timer timer(start);
  if (cfg.group_id) {
    // A group member: the group's committed offsets, else the log start.
    if (auto st = c.subscribe({a.topic}, &timer); !st) return report(cmd, st.error());
  } else {
    auto t = b.find_topic(a.topic);
    if (!t) return report(cmd, t.error());
    std::vector<topic_partition> tps;
    for (std::size_t i = 0; i < (*t)->partitions.size(); ++i)
      tps.push_back({a.topic, static_cast<std::int32_t>(i)});
    if (auto st = c.assign(tps); !st) return report(cmd, st.error());
  }

  const auto n = static_cast<std::uint64_t>(a.num_records);
  const auto timeout = option_ms(a.timeout_ms);
  const auto interval = option_ms(a.reporting_interval_ms);
  progress_bar bar("consume", n);
  std::uint64_t consumed = 0, bytes = 0, sum = 0;
  std::vector<std::int64_t> poll_ns;  // polls that returned records
  auto last_record = start;
  auto window_start = start;
  std::uint64_t window_records = 0, window_bytes = 0;
  int rc = exit_ok;

  while (consumed < n) {
    const auto idle = steady::now() - last_record;
    const auto wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(timeout - idle),
                                 std::chrono::milliseconds(0), std::chrono::milliseconds(100));
    const auto t0 = steady::now();
    auto recs = c.poll(wait);
    const auto t1 = steady::now();
    if (!recs) {
      bar.finish();
      rc = report(cmd, recs.error());
      break;
    }
    if (!recs->empty()) {
      poll_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
      last_record = t1;
      for (const consumer_record& r : *recs) {
        if (consumed == n) break;  // report exactly --num-records
        ++consumed;
        ++window_records;
        bytes += r.key.size() + r.value.size();  // Kafka counts both
        window_bytes += r.key.size() + r.value.size();
        for (const char ch : r.value) sum += static_cast<unsigned char>(ch);
      }
      bar.update(consumed);
    } else if (t1 - last_record >= timeout) {
      break;
    }
    if (t1 - window_start >= interval) {
      const double secs = seconds(t1 - window_start);
      print_line(bar, fmt::format("{} records consumed, {:.1f} records/sec ({:.2f} MB/sec).", window_records,
                                  rate(static_cast<double>(window_records), secs),
                                  mib(rate(static_cast<double>(window_bytes), secs))));
      window_start = t1;
      window_records = window_bytes = 0;
    }
  }
  value_sum_sink = sum;
  bar.finish();
  if (rc != exit_ok) {
    (void)c.close();
    return rc;
  }

  // The run ends at the last record: a timeout's idle wait is not fetch time.
  const auto end = last_record;
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(end - start).count();
  const auto rebalance_ms = std::chrono::duration_cast<std::chrono::milliseconds>(timer.total()).count();
  const auto fetch_ms = std::max<std::int64_t>(0, elapsed_ms - rebalance_ms);
  const double secs = seconds(end - start);
  const double fetch_secs = static_cast<double>(fetch_ms) / 1000.0;
  const double mb = mib(static_cast<double>(bytes));
  const auto end_wall = start_wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(end - start);
  print_line(bar, "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                  "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec");
  print_line(bar, fmt::format("{}, {}, {:.4f}, {:.4f}, {}, {:.4f}, {}, {}, {:.4f}, {:.4f}", wall_time(start_wall),
                              wall_time(end_wall), mb, rate(mb, secs), consumed,
                              rate(static_cast<double>(consumed), secs), rebalance_ms, fetch_ms,
                              rate(mb, fetch_secs), rate(static_cast<double>(consumed), fetch_secs)));
  const std::size_t polls = poll_ns.size();
  std::int64_t poll_total = 0, poll_max = 0;
  for (const std::int64_t ns : poll_ns) {
    poll_total += ns;
    poll_max = std::max(poll_max, ns);
  }
  print_line(bar, fmt::format("poll latency, over the {} polls that returned records: {:.3f} ms avg, {:.3f} ms max, {}.",
                              polls, polls ? ms(poll_total) / static_cast<double>(polls) : 0.0, ms(poll_max),
                              percentiles(poll_ns)));

  const status closed = c.close();
  if (consumed < n)
    return report(cmd, exit_failed,
                  fmt::format("only {} of {} records arrived (none for --timeout {} ms)", consumed, n, a.timeout_ms));
  if (!closed) return report(cmd, closed.error());
  return exit_ok;
}

}  // namespace

int run_perf(const context& ctx, const perf_args& a) {
  if (int rc = validate(a); rc != exit_ok) return rc;
  if (a.mode == "produce") return run_produce(ctx, a);
  if (a.mode == "consume") return run_consume(ctx, a);
  return report(cmd, exit_usage, fmt::format("unknown mode '{}' (produce or consume)", a.mode));
}

}  // namespace franz::cli
