// franz messaging benchmark: producer and consumer against raw file I/O (and,
// for latency, a bare atomic hand-off), measured in the same run.
//
//   messaging_bench [--records N] [--reps K] [--only LIST] [--csv] [--help] ...
//
// Records are 100 bytes of payload, as in log_bench: an 8-byte key (the
// record's index, little-endian) and a 92-byte value (pseudo-random, from a
// ring of 4096), no headers, CreateTime stamped by the producer. Keyed
// records go to murmur2(key) % partitions (Kafka's default partitioner);
// --routing explicit gives thread t partition t % partitions instead.
// Workloads (each in a fresh broker directory per run, topic "bench" with the
// default topic config: no flush.messages / flush.ms, segment.bytes 1 GiB;
// broker with background_maintenance = false):
//
//   send_1t_linger0  one thread: producer.send (no callback) x N, acks=1,
//                    linger.ms=0 (every send appends a one-record batch),
//                    then flush(). Timed from the first send to flush's
//                    return. Baseline: write() of the same bytes in 16 KiB
//                    chunks. Also ns/send (wall time / N).
//   send_1t_linger5  the same with linger.ms=5, batch.size=16384.
//   send_2t_linger0, send_2t_linger5
//                    two threads share one producer, N/2 each, topic of 2
//                    partitions; main thread flushes after both finish.
//   acks_all_4t      four threads share one producer, acks=all,
//                    batch.size=128 KiB (~1190 records a batch), linger.ms=5,
//                    N/4 each, each thread flushes at its end. Baseline:
//                    write() + fdatasync() per 100 KB (1000 records), one
//                    thread. fdatasync/fsync calls are counted by wrapping
//                    the libc functions in this program (see below).
//   poll             N records produced first (untimed: linger 5, 16 KiB
//                    batches), then a consumer (auto.offset.reset=earliest,
//                    check.crcs on) polls until it has all N, touching each
//                    record (offset checked dense, value size summed, first
//                    value byte read). max.poll.records 10000 ("franz") and
//                    500 ("franz_mpr500"). Baseline: read() of a file of the
//                    same payload bytes (N x 100 B) in 1 MiB chunks, every
//                    byte summed (SSE2 sum pass).
//   e2e_latency      a producer thread sends one record every U[5,20] us
//                    (busy-wait pacing; --pace-us) with linger.ms=0, acks=1,
//                    CLOCK_MONOTONIC ns of the send in the value's first 8
//                    bytes; a consumer thread polls (poll.spin.us default 50)
//                    and records now - send time for each record.
//                    Percentiles over --latency-records after --warmup
//                    records. Baseline: the same pacing handing the
//                    timestamp over one std::atomic<uint64_t>.
//   compression      telemetry JSON records (200-400 B, key null) for
//                    codecs none, lz4, zstd: produce N (linger 5, batch
//                    64 KiB, acks=1) then consume them (max.poll.records
//                    10000, decompression included). Reports produce and
//                    consume rec/s and MB/s (of JSON bytes) and the on-disk
//                    ratio raw JSON bytes / describe_topic size_bytes.
//                    Baselines: write() of the JSON byte stream in 16 KiB
//                    chunks, and read() of it in 1 MiB chunks + sum pass.
//
// Method. Each workload runs --reps times (default 5); baseline and franz
// runs alternate (which goes first alternates too). Figures are medians over
// the runs; every run is listed. The page cache is warmed before each write
// run (see prewarm() in bench_util.hpp). "cpu=" is the process's CPU time
// over the wall time of the run (all threads, including the producer's I/O
// thread, so it can exceed 100%). Temporary directories live under --tmpdir
// and are removed at exit; throwaway logs have their .log files truncated
// before the broker closes, so close() does not fsync gigabytes (as
// log_bench does).
//
// Units: rec/s; MB/s of payload (1 MB = 1e6 B). Output: one line per figure
// (key=value) and a summary table; --csv prints rows of
// workload,impl,metric,value,unit,target,verdict instead. Progress: stderr.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>


#include <fmt/format.h>

#include <franz/franz.hpp>

#include "bench_util.hpp"

// --- fsync counting ----------------------------------------------------------------------
//
// franz (linked statically into this program) calls ::fdatasync / ::fsync;
// these definitions take precedence over libc's, count the calls and make
// the system call directly. The raw baselines go through them too.
namespace {
std::atomic<std::uint64_t> g_fdatasync_calls{0};
std::atomic<std::uint64_t> g_fsync_calls{0};
}  // namespace

extern "C" int fdatasync(int fd) {
  g_fdatasync_calls.fetch_add(1, std::memory_order_relaxed);
  return static_cast<int>(::syscall(SYS_fdatasync, fd));
}

extern "C" int fsync(int fd) {
  g_fsync_calls.fetch_add(1, std::memory_order_relaxed);
  return static_cast<int>(::syscall(SYS_fsync, fd));
}

namespace {

using namespace franz::bench;

constexpr std::size_t record_bytes = 100;
constexpr std::size_t key_bytes = 8;
constexpr std::size_t value_bytes = record_bytes - key_bytes;
constexpr std::size_t ring_records = 4096;       // 409,600 B = 25 x 16 KiB
constexpr std::size_t raw_chunk = 16384;         // the send baselines' write() size
constexpr std::size_t sync_ring_records = 4000;  // 4 x 100 KB
constexpr std::size_t sync_chunk = 100'000;      // the acks=all baseline: write()+fdatasync() per 100 KB
constexpr std::string_view topic_name = "bench";

constexpr double target_linger5_rps = 10e6;
constexpr double target_acks_all_rps = 5e6;
constexpr double target_poll_rps = 40e6;
constexpr double target_e2e_p50_ns = 1000;
constexpr double target_e2e_p99_ns = 10000;

// --- options -----------------------------------------------------------------------------

constexpr std::array<std::string_view, 8> workloads = {"send_1t_linger0", "send_1t_linger5", "send_2t_linger0",
                                                       "send_2t_linger5", "acks_all_4t",     "poll",
                                                       "e2e_latency",     "compression"};

struct options : common_options {  // and --only, --tmpdir, --csv, --quiet, --no-prewarm, --no-baseline
  std::uint64_t records = 2'000'000;
  std::uint64_t latency_records = 200'000;
  std::uint64_t warmup_records = 10'000;
  std::optional<std::uint64_t> compression_records;  // default: records
  int reps = 5;
  std::uint64_t pace_min_us = 5;
  std::uint64_t pace_max_us = 20;
  std::int64_t poll_spin_us = 50;
  bool explicit_routing = false;
  bool pin = false;
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: messaging_bench [options]\n"
               "  --records N              records per throughput workload (default 2M)\n"
               "  --reps K                 runs per workload; medians are reported (default 5)\n"
               "  --only LIST              comma-separated subset of send_1t_linger0,send_1t_linger5,\n"
               "                           send_2t_linger0,send_2t_linger5,acks_all_4t,poll,\n"
               "                           e2e_latency,compression\n"
               "  --csv                    CSV rows: workload,impl,metric,value,unit,target,verdict\n"
               "  --latency-records N      e2e_latency samples per run (default 200k)\n"
               "  --warmup N               e2e_latency records sent before sampling (default 10k)\n"
               "  --pace-us MIN:MAX        e2e_latency send interval, uniform in [MIN,MAX] us (default 5:20)\n"
               "  --poll-spin-us N         the e2e consumer's poll.spin.us (default 50, the library's)\n"
               "  --pin                    e2e_latency: pin the producer thread to cpu 0, the consumer to cpu 1\n"
               "  --compression-records N  records per codec in compression (default: --records)\n"
               "  --routing key|explicit   multi-thread sends: murmur2(key) (default), or thread t\n"
               "                           sends to partition t %% partitions\n"
               "  --tmpdir DIR             parent of the temporary directory (default /tmp)\n"
               "  --no-prewarm             do not warm the page cache before write runs\n"
               "  --no-baseline            franz only (for profiling)\n"
               "  --quiet                  no progress on stderr\n"
               "  --help                   this text\n"
               "N takes k/M/G suffixes (2M) and exponents (2e6).\n");
}

using franz::bench::parse_count;

options parse_args(int argc, char** argv) {
  options o;
  // This program's own options; franz::bench::parse_args takes the common ones.
  auto own = [&](std::string_view a, const char* flag, const auto& value) {
    if (a == "--records") {
      o.records = parse_count(flag, value());
    } else if (a == "--reps") {
      o.reps = static_cast<int>(std::min<std::uint64_t>(parse_count(flag, value()), 1000));
    } else if (a == "--latency-records") {
      o.latency_records = parse_count(flag, value());
    } else if (a == "--warmup") {
      o.warmup_records = parse_count(flag, value(), 0);
    } else if (a == "--compression-records") {
      o.compression_records = parse_count(flag, value());
    } else if (a == "--poll-spin-us") {
      o.poll_spin_us = static_cast<std::int64_t>(parse_count(flag, value(), 0));
    } else if (a == "--pace-us") {
      const std::string v = value();
      const auto colon = v.find(':');
      if (colon == std::string::npos) {
        std::fprintf(stderr, "messaging_bench: --pace-us needs MIN:MAX, got '%s'\n", v.c_str());
        std::exit(2);
      }
      o.pace_min_us = parse_count(flag, v.substr(0, colon).c_str());
      o.pace_max_us = parse_count(flag, v.substr(colon + 1).c_str());
      if (o.pace_max_us < o.pace_min_us) std::swap(o.pace_min_us, o.pace_max_us);
    } else if (a == "--routing") {
      const std::string_view v = value();
      if (v == "key") o.explicit_routing = false;
      else if (v == "explicit") o.explicit_routing = true;
      else {
        std::fprintf(stderr, "messaging_bench: --routing is key or explicit, got '%.*s'\n",
                     static_cast<int>(v.size()), v.data());
        std::exit(2);
      }
    } else if (a == "--pin") {
      o.pin = true;
    } else {
      return false;
    }
    return true;
  };
  franz::bench::parse_args(argc, argv, o, workloads, usage, own);
  return o;
}

// Keeps touched values alive so the compiler cannot drop the work.
std::atomic<std::uint64_t> g_sink{0};

// --- clocks ------------------------------------------------------------------------------

// Pins the calling thread to one cpu (e2e_latency --pin).
void pin_to(const options& o, int cpu) {
  if (!o.pin) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % static_cast<int>(cpu_count()), &set);
  if (int e = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set); e != 0)
    die("pthread_setaffinity_np: %s", std::strerror(e));
}

// Wall time of one run and the process's CPU time during it (all threads).
using stopwatch = basic_stopwatch<CLOCK_PROCESS_CPUTIME_ID>;

// Median cost of one mono_ns() call, in ns.
double mono_ns_cost() {
  std::vector<double> v;
  for (int rep = 0; rep < 9; ++rep) {
    const std::uint64_t a = mono_ns();
    std::uint64_t x = 0;
    for (int i = 0; i < 10000; ++i) x += mono_ns();
    const std::uint64_t b = mono_ns();
    g_sink += x;
    v.push_back(static_cast<double>(b - a) / 10000.0);
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// --- payload -----------------------------------------------------------------------------

// 4096 records of 100 bytes laid out as the raw baselines write them. The
// value bytes are fixed; the raw writers rewrite the key slots per pass,
// franz senders keep their keys in a local buffer.
struct ring {
  std::vector<char> buf = std::vector<char>(ring_records * record_bytes);

  ring() {
    std::uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (std::size_t i = 0; i < ring_records; ++i)
      for (std::size_t j = 0; j < value_bytes; ++j)
        buf[i * record_bytes + key_bytes + j] = static_cast<char>(xorshift64s(x) >> 56);
  }
  [[nodiscard]] franz::bytes_view value(std::uint64_t i) const noexcept {
    return {buf.data() + (i % ring_records) * record_bytes + key_bytes, value_bytes};
  }
  void set_keys(std::uint64_t first, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t k = first + i;
      std::memcpy(buf.data() + i * record_bytes, &k, key_bytes);
    }
  }
};

// Telemetry-like JSON documents, 200-400 bytes each, concatenated.
struct json_pool {
  std::vector<char> buf;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> recs;  // offset, length
  std::size_t min_len = SIZE_MAX, max_len = 0;

  explicit json_pool(std::size_t count) {
    static constexpr std::array<const char*, 12> metrics = {
        "cpu.user",        "cpu.system",       "cpu.iowait",     "mem.used",       "mem.available",   "disk.read_bytes",
        "disk.write_bytes", "net.rx_packets",  "net.tx_packets", "http.requests",  "http.latency_p99", "gc.pause_ms"};
    static constexpr std::array<const char*, 12> units = {"percent", "percent", "percent", "bytes",  "bytes", "bytes",
                                                          "bytes",   "count",   "count",   "count", "ms",    "ms"};
    static constexpr std::array<const char*, 5> dcs = {"eu-west", "eu-central", "us-east", "us-west", "ap-south"};
    static constexpr std::array<const char*, 3> envs = {"prod", "staging", "canary"};
    static constexpr std::array<const char*, 6> services = {"checkout", "search",   "auth",
                                                            "catalog",  "payments", "gateway"};
    std::uint64_t x = 0x243f6a8885a308d3ULL;
    auto rnd = [&] { return xorshift64s(x); };
    auto unit_rnd = [&] { return static_cast<double>(rnd() >> 11) * 0x1.0p-53; };
    std::int64_t ts = 1'763'700'000'000;
    char doc[1024];
    for (std::size_t i = 0; i < count; ++i) {
      ts += static_cast<std::int64_t>(rnd() % 50);
      const std::size_t m = rnd() % metrics.size();
      const double scale = m < 3 ? 100.0 : m < 7 ? 1e9 : m < 10 ? 1e5 : 500.0;
      const double value = unit_rnd() * scale;
      const double lo = value * (0.5 + 0.4 * unit_rnd()), hi = value * (1.0 + unit_rnd());
      int len = std::snprintf(
          doc, sizeof doc,
          "{\"ts\":%lld,\"host\":\"web-%02u\",\"metric\":\"%s\",\"value\":%.2f,\"unit\":\"%s\","
          "\"tags\":{\"dc\":\"%s\",\"rack\":\"r%02u\",\"env\":\"%s\",\"service\":\"%s\",\"version\":\"2.%u.%u\"},"
          "\"window\":{\"min\":%.2f,\"max\":%.2f,\"avg\":%.3f,\"count\":%u},\"samples\":[",
          static_cast<long long>(ts), static_cast<unsigned>(rnd() % 64), metrics[m], value, units[m],
          dcs[rnd() % dcs.size()], static_cast<unsigned>(rnd() % 40), envs[rnd() % envs.size()],
          services[rnd() % services.size()], static_cast<unsigned>(rnd() % 12), static_cast<unsigned>(rnd() % 30),
          lo, hi, (lo + hi) / 2, static_cast<unsigned>(1 + rnd() % 600));
      // Samples up to a length drawn from [200, 400].
      const int want = 200 + static_cast<int>(rnd() % 201);
      for (int k = 0; len + 16 < want; ++k) {
        len += std::snprintf(doc + len, sizeof doc - static_cast<std::size_t>(len), "%s%.1f", k ? "," : "",
                             lo + (hi - lo) * unit_rnd());
      }
      len += std::snprintf(doc + len, sizeof doc - static_cast<std::size_t>(len), "]}");
      recs.emplace_back(static_cast<std::uint32_t>(buf.size()), static_cast<std::uint32_t>(len));
      buf.insert(buf.end(), doc, doc + len);
      min_len = std::min(min_len, static_cast<std::size_t>(len));
      max_len = std::max(max_len, static_cast<std::size_t>(len));
    }
  }
  [[nodiscard]] franz::bytes_view at(std::uint64_t i) const noexcept {
    const auto& [off, len] = recs[i % recs.size()];
    return {buf.data() + off, len};
  }
  // Bytes of records [0, n): the pool repeated.
  [[nodiscard]] std::uint64_t bytes_for(std::uint64_t n) const noexcept {
    const std::uint64_t full = n / recs.size();
    const std::uint64_t rest = n % recs.size();
    return full * buf.size() + (rest == 0 ? 0 : recs[rest - 1].first + recs[rest - 1].second);
  }
};

// --- raw file baselines ------------------------------------------------------------------

// write() of records [0, n) in chunk-byte pieces, through the first ring_n
// slots of the ring (keys rewritten per pass), optionally fdatasync per piece.
timing raw_write(const std::string& path, std::uint64_t n, ring& rg, std::size_t ring_n, std::size_t chunk,
                 bool sync) {
  const int fd = create_file(path);
  const stopwatch sw;
  for (std::uint64_t done = 0; done < n;) {
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(ring_n, n - done));
    rg.set_keys(done, k);
    const std::size_t bytes = k * record_bytes;
    for (std::size_t off = 0; off < bytes; off += chunk) {
      write_all(fd, rg.buf.data() + off, std::min(chunk, bytes - off));
      if (sync && ::fdatasync(fd) != 0) die("fdatasync: %s", std::strerror(errno));
    }
    done += k;
  }
  const timing t = sw.stop();
  ::close(fd);
  return t;
}

// write() of the JSON stream of records [0, n) in 16 KiB pieces.
timing raw_write_json(const std::string& path, std::uint64_t n, const json_pool& pool) {
  const int fd = create_file(path);
  std::uint64_t left = pool.bytes_for(n);
  std::size_t pos = 0;
  const stopwatch sw;
  while (left > 0) {
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>({raw_chunk, pool.buf.size() - pos, left}));
    write_all(fd, pool.buf.data() + pos, k);
    pos = (pos + k) % pool.buf.size();
    left -= k;
  }
  const timing t = sw.stop();
  ::close(fd);
  return t;
}

// read() of the whole file in 1 MiB chunks, every byte summed.
file_read raw_read(const std::string& path) {
  const file_read st = read_file_summed<stopwatch>(path);
  g_sink += st.digest;
  return st;
}

// Writes back everything dirty on the file system (untimed), so writeback
// of one run's data does not land in the next measurement.
void sync_fs(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::syncfs(fd) != 0) die("syncfs %s: %s", dir.c_str(), std::strerror(errno));
  ::close(fd);
}

// --- franz -------------------------------------------------------------------------------

std::unique_ptr<franz::broker> open_broker(const std::string& dir, std::int32_t partitions) {
  auto b = franz::broker::open({.data_dir = dir, .background_maintenance = false});
  check(b, "broker::open");
  check((*b)->create_topic(topic_name, partitions, {}), "create_topic");
  return std::move(*b);
}

// Closes a throwaway broker without fsyncing what it holds (see discard()).
void discard_broker(std::unique_ptr<franz::broker>& b, const std::string& dir) { discard(b, dir, "broker::close"); }

struct topic_totals {
  std::uint64_t records = 0;  // sum of log ends (log start is 0)
  std::uint64_t durable = 0;
  std::uint64_t bytes = 0;
  std::uint64_t min_partition = UINT64_MAX, max_partition = 0;
};

topic_totals totals(const franz::broker& b) {
  auto d = b.describe_topic(topic_name);
  check(d, "describe_topic");
  topic_totals t;
  for (const auto& p : d->partitions) {
    const auto end = static_cast<std::uint64_t>(p.log_end.value());
    t.records += end;
    t.durable += static_cast<std::uint64_t>(p.durable.value());
    t.bytes += p.size_bytes;
    t.min_partition = std::min(t.min_partition, end);
    t.max_partition = std::max(t.max_partition, end);
  }
  return t;
}

std::unique_ptr<franz::producer> make_producer(franz::broker& b, franz::ack acks, std::int64_t linger_ms,
                                               std::int64_t batch_size,
                                               franz::compression codec = franz::compression::none) {
  franz::producer_config pc;
  pc.acks = acks;
  pc.linger_ms = linger_ms;
  pc.batch_size = batch_size;
  pc.compression_type = codec;
  auto p = franz::producer::create(b, pc);
  check(p, "producer::create");
  return std::move(*p);
}

struct send_spec {
  const char* name;
  int threads;
  std::int32_t partitions;
  franz::ack acks;
  std::int64_t linger_ms;
  std::int64_t batch_size;
  bool flush_per_thread;
};

struct send_result {
  timing time;
  std::uint64_t fdatasyncs = 0;
  std::uint64_t fsyncs = 0;
  double disk_bytes_per_record = 0;
  double partition_skew = 0;  // records of the largest partition / mean
};

// Sends records [first, first + count) through p.
void send_range(franz::producer& p, const ring& rg, std::uint64_t first, std::uint64_t count,
                std::optional<std::int32_t> partition) {
  char key[key_bytes];
  for (std::uint64_t i = first; i < first + count; ++i) {
    std::memcpy(key, &i, key_bytes);
    franz::producer_record r{.topic = topic_name, .partition = partition, .key = franz::bytes_view(key, key_bytes),
                             .value = rg.value(i)};
    if (auto st = p.send(r); !st.ok()) [[unlikely]]
      die("send of record %" PRIu64 ": %s", i, st.error().to_string().c_str());
  }
}

send_result franz_send(const options& opt, const send_spec& s, std::uint64_t n, const ring& rg,
                       const std::string& dir) {
  auto b = open_broker(dir, s.partitions);
  prewarm(opt, footprint(n, 120));
  auto p = make_producer(*b, s.acks, s.linger_ms, s.batch_size);
  const std::uint64_t f0 = g_fdatasync_calls.load(), s0 = g_fsync_calls.load();
  send_result res;
  if (s.threads == 1) {
    const stopwatch sw;
    send_range(*p, rg, 0, n, std::nullopt);
    check(p->flush(), "flush");
    res.time = sw.stop();
  } else {
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (int t = 0; t < s.threads; ++t) {
      const std::uint64_t first = n * static_cast<std::uint64_t>(t) / static_cast<std::uint64_t>(s.threads);
      const std::uint64_t last = n * static_cast<std::uint64_t>(t + 1) / static_cast<std::uint64_t>(s.threads);
      const std::optional<std::int32_t> part =
          opt.explicit_routing ? std::optional<std::int32_t>(t % s.partitions) : std::nullopt;
      ts.emplace_back([&, first, last, part] {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        send_range(*p, rg, first, last - first, part);
        if (s.flush_per_thread) check(p->flush(), "flush");
      });
    }
    const stopwatch sw;
    go.store(true, std::memory_order_release);
    for (auto& t : ts) t.join();
    check(p->flush(), "flush");
    res.time = sw.stop();
  }
  res.fdatasyncs = g_fdatasync_calls.load() - f0;
  res.fsyncs = g_fsync_calls.load() - s0;
  check(p->close(), "producer::close");
  p.reset();
  const topic_totals t = totals(*b);
  if (t.records != n) die("%s: the topic holds %" PRIu64 " records after flush, expected %" PRIu64, s.name, t.records, n);
  if (s.acks == franz::ack::all && t.durable != n)
    die("%s: acks=all flush returned with %" PRIu64 " of %" PRIu64 " records durable", s.name, t.durable, n);
  res.disk_bytes_per_record = static_cast<double>(t.bytes) / static_cast<double>(n);
  res.partition_skew =
      static_cast<double>(t.max_partition) / (static_cast<double>(n) / static_cast<double>(s.partitions));
  discard_broker(b, dir);
  return res;
}

// Produces records [0, n) untimed (linger 5, 16 KiB batches, acks=1).
void produce_untimed(franz::broker& b, std::uint64_t n, const ring& rg) {
  auto p = make_producer(b, franz::ack::leader, 5, 16384);
  send_range(*p, rg, 0, n, std::nullopt);
  check(p->flush(), "flush");
  check(p->close(), "producer::close");
}

struct poll_result {
  timing time;
  std::uint64_t polls = 0;
  std::uint64_t value_bytes = 0;
};

// A consumer from offset 0 polls until it has n records; each record's
// offset is checked, its value size summed and its first value byte read.
poll_result franz_poll(franz::broker& b, std::uint64_t n, std::int32_t max_poll_records) {
  franz::consumer_config cc;
  cc.auto_offset_reset = franz::offset_reset::earliest;
  cc.max_poll_records = max_poll_records;
  auto c = franz::consumer::create(b, cc);
  check(c, "consumer::create");
  check((*c)->assign({{std::string(topic_name), 0}}), "assign");
  poll_result res;
  std::uint64_t got = 0, touch = 0;
  std::int64_t next = 0;
  int empty_polls = 0;
  const stopwatch sw;
  while (got < n) {
    auto recs = (*c)->poll(std::chrono::milliseconds(100));
    check(recs, "poll");
    ++res.polls;
    if (recs->empty()) {
      if (++empty_polls > 50) die("poll: stalled at %" PRIu64 " of %" PRIu64 " records (5 s without data)", got, n);
      continue;
    }
    for (const auto& r : *recs) {
      if (r.off.value() != next) [[unlikely]]
        die("poll: offset %" PRId64 " where %" PRId64 " was expected", r.off.value(), next);
      ++next;
      res.value_bytes += r.value.size();
      touch += static_cast<unsigned char>(r.value[0]);
    }
    got += recs->size();
  }
  res.time = sw.stop();
  g_sink += touch;
  check((*c)->close(), "consumer::close");
  return res;
}

// --- output ----------------------------------------------------------------------------

std::string mega(double v) { return fmt::format("{:.2f}M", v / 1e6); }

struct summary_row {
  std::string workload, impl, rps, mbs, baseline, ratio, extra, target, verdict;
};

// Text labels 16 wide; info() values with 3 decimals in CSV; and a summary table.
struct output : table_output {
  std::vector<summary_row> summary;

  // One throughput figure: median rec/s over runs of n records of
  // bytes_per_record payload, the ratio to a baseline (name, rec/s),
  // extra key=value text, the target and verdict. Baseline rows
  // (baseline_name empty and add_summary false) are not in the summary.
  void throughput(const char* workload, const char* impl, const std::vector<timing>& runs, std::uint64_t n,
                  double bytes_per_record, const std::string& baseline_name = {},
                  std::optional<double> base = std::nullopt, const std::string& extra = {},
                  const std::string& target = {}, std::optional<bool> pass = std::nullopt,
                  bool add_summary = true) {
    const run_rates rr = rates_of(runs, n);
    const double r = rr.median_rps;
    const double mbs = r * bytes_per_record / 1e6;
    if (add_summary)
      summary.push_back({workload, impl, mega(r), fmt::format("{:.0f}", mbs),
                         base ? fmt::format("{} {}", baseline_name, mega(*base)) : std::string("-"),
                         base ? fmt::format("{:.2f}x", r / *base) : std::string("-"), extra, target,
                         verdict(pass)});
    if (csv) {
      csv_rates(workload, impl, r, mbs, quoted(target), pass);
      if (base) std::printf("%s,%s,ratio_%s,%.3f,x,,\n", workload, impl, baseline_name.c_str(), r / *base);
      std::printf("%s,%s,cpu,%.0f,%%,,\n", workload, impl, rr.median_oncpu);
      csv_runs(workload, impl, rr.rps);
      return;
    }
    std::string rat;
    if (base) rat = fmt::format("ratio={:.2f} vs {}", r / *base, baseline_name);
    std::printf("%-16s %-14s rec/s=%7.2fM  MB/s=%7.1f  cpu=%3.0f%%  %-28s %s%s%-20s %-4s runs(Mrec/s)=%s\n",
                workload, impl, r / 1e6, mbs, rr.median_oncpu, rat.c_str(), extra.c_str(), extra.empty() ? "" : "  ",
                target_text(target).c_str(), verdict(pass), run_list(rr.rps, 1e6, 2).c_str());
  }

  // A plain metric printed with a csv row (for fsync counts, ns/send...).
  void metric(const char* workload, const char* impl, const char* metric, double value, const char* unit) const {
    if (csv) std::printf("%s,%s,%s,%.2f,%s,,\n", workload, impl, metric, value, unit);
  }

  // Latency percentiles (ns), medians over runs.
  void latency(const char* workload, const char* impl, const char* name, const std::vector<double>& runs,
               const std::string& target = {}, std::optional<bool> pass = std::nullopt) const {
    const double ns = median(runs);
    if (csv) {
      std::printf("%s,%s,%s,%.1f,ns,%s,%s\n", workload, impl, name, ns, quoted(target).c_str(), verdict(pass));
      return;
    }
    std::printf("%-16s %-14s %-6s=%10.0f ns  %-20s %-4s runs(ns)=%s\n", workload, impl, name, ns,
                target_text(target).c_str(), verdict(pass), run_list(runs, 1, 0).c_str());
  }

  void print_summary() const {
    if (csv || summary.empty()) return;
    std::size_t w[9] = {8, 4, 5, 4, 8, 5, 5, 6, 7};
    auto widen = [&](const summary_row& r) {
      const std::string* f[9] = {&r.workload, &r.impl, &r.rps, &r.mbs, &r.baseline,
                                 &r.ratio,    &r.extra, &r.target, &r.verdict};
      for (int i = 0; i < 9; ++i) w[i] = std::max(w[i], f[i]->size());
    };
    const summary_row head{"workload", "impl", "rec/s", "MB/s", "baseline", "ratio", "extra", "target", "verdict"};
    widen(head);
    for (const auto& r : summary) widen(r);
    auto line = [&](const summary_row& r) {
      std::printf("| %-*s | %-*s | %*s | %*s | %-*s | %*s | %-*s | %-*s | %-*s |\n", static_cast<int>(w[0]),
                  r.workload.c_str(), static_cast<int>(w[1]), r.impl.c_str(), static_cast<int>(w[2]), r.rps.c_str(),
                  static_cast<int>(w[3]), r.mbs.c_str(), static_cast<int>(w[4]), r.baseline.c_str(),
                  static_cast<int>(w[5]), r.ratio.c_str(), static_cast<int>(w[6]), r.extra.c_str(),
                  static_cast<int>(w[7]), r.target.c_str(), static_cast<int>(w[8]), r.verdict.c_str());
    };
    std::printf("\n# summary (medians; ratio = franz / baseline of the same run)\n");
    line(head);
    std::string sep = "|";
    for (auto x : w) sep += std::string(x + 2, '-') + "|";
    std::printf("%s\n", sep.c_str());
    for (const auto& r : summary) line(r);
  }
};

// --- e2e latency -------------------------------------------------------------------------

struct pacer {
  std::uint64_t x;
  std::uint64_t min_ns, span_ns;
  pacer(const options& o, std::uint64_t seed)
      : x(seed | 1), min_ns(o.pace_min_us * 1000), span_ns((o.pace_max_us - o.pace_min_us) * 1000 + 1) {}
  std::uint64_t next_gap() noexcept { return min_ns + xorshift64s(x) % span_ns; }
};

struct latency_stats {
  double p50 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
  std::uint64_t samples = 0;
  double send_rate = 0;  // records/s the producer achieved
};

latency_stats summarize(std::vector<std::uint64_t>& s) {
  latency_stats st;
  std::sort(s.begin(), s.end());
  st.samples = s.size();
  st.p50 = percentile(s, 0.50);
  st.p99 = percentile(s, 0.99);
  st.p999 = percentile(s, 0.999);
  st.max = s.empty() ? 0 : static_cast<double>(s.back());
  double sum = 0;
  for (auto v : s) sum += static_cast<double>(v);
  st.mean = s.empty() ? 0 : sum / static_cast<double>(s.size());
  return st;
}

// Producer thread paced sends (linger 0, acks=1), consumer thread polls.
latency_stats franz_e2e(const options& opt, const std::string& dir, const ring& rg, std::uint64_t seed) {
  auto b = open_broker(dir, 1);
  prewarm(opt, footprint(opt.warmup_records + opt.latency_records, 200));
  auto p = make_producer(*b, franz::ack::leader, 0, 16384);
  franz::consumer_config cc;
  cc.auto_offset_reset = franz::offset_reset::earliest;
  cc.poll_spin_us = opt.poll_spin_us;
  auto c = franz::consumer::create(*b, cc);
  check(c, "consumer::create");
  check((*c)->assign({{std::string(topic_name), 0}}), "assign");
  const std::uint64_t warm = opt.warmup_records, total = opt.warmup_records + opt.latency_records;
  std::vector<std::uint64_t> samples;
  samples.reserve(opt.latency_records);
  std::atomic<bool> consumer_ready{false};
  std::thread consumer_thread([&] {
    franz::consumer& con = **c;
    pin_to(opt, 1);
    consumer_ready.store(true);
    std::uint64_t got = 0;
    int empty_polls = 0;
    while (got < total) {
      auto recs = con.poll(std::chrono::milliseconds(100));
      check(recs, "poll");
      if (recs->empty()) {
        if (++empty_polls > 100)
          die("e2e: the consumer stalled at %" PRIu64 " of %" PRIu64 " records (10 s without data)", got, total);
        continue;
      }
      empty_polls = 0;
      for (const auto& r : *recs) {
        const std::uint64_t now = mono_ns();
        std::uint64_t sent;
        std::memcpy(&sent, r.value.data(), sizeof sent);
        if (static_cast<std::uint64_t>(r.off.value()) != got) [[unlikely]]
          die("e2e: offset %" PRId64 " where %" PRIu64 " was expected", r.off.value(), got);
        if (got >= warm) samples.push_back(now - sent);
        ++got;
      }
    }
  });
  while (!consumer_ready.load()) std::this_thread::yield();
  double send_rate = 0;
  std::thread producer_thread([&] {
    pin_to(opt, 0);
    pacer pc(opt, seed);
    char key[key_bytes];
    char value[value_bytes];
    std::memcpy(value, rg.value(0).data(), value_bytes);
    std::uint64_t next = mono_ns();
    const std::uint64_t start = next;
    for (std::uint64_t i = 0; i < total; ++i) {
      std::uint64_t now;
      while ((now = mono_ns()) < next) cpu_relax();
      std::memcpy(key, &i, key_bytes);
      std::memcpy(value, &now, sizeof now);
      const franz::producer_record r{.topic = topic_name, .key = franz::bytes_view(key, key_bytes),
                                     .value = franz::bytes_view(value, value_bytes)};
      if (auto st = p->send(r); !st.ok()) [[unlikely]]
        die("e2e send: %s", st.error().to_string().c_str());
      next = now + pc.next_gap();
    }
    send_rate = static_cast<double>(total) / (static_cast<double>(mono_ns() - start) * 1e-9);
  });
  producer_thread.join();
  consumer_thread.join();
  check(p->close(), "producer::close");
  p.reset();
  check((*c)->close(), "consumer::close");
  c->reset();
  discard_broker(b, dir);
  latency_stats st = summarize(samples);
  st.send_rate = send_rate;
  return st;
}

// The same pacing, handing the timestamp over one atomic.
latency_stats atomic_e2e(const options& opt, std::uint64_t seed) {
  const std::uint64_t warm = opt.warmup_records, total = opt.warmup_records + opt.latency_records;
  alignas(64) std::atomic<std::uint64_t> slot{0};
  alignas(64) std::atomic<bool> done{false};
  std::vector<std::uint64_t> samples;
  samples.reserve(opt.latency_records);
  std::atomic<bool> consumer_ready{false};
  std::thread consumer_thread([&] {
    std::uint64_t last = 0, seen = 0;
    pin_to(opt, 1);
    consumer_ready.store(true);
    for (;;) {
      const std::uint64_t v = slot.load(std::memory_order_acquire);
      if (v != last) {
        const std::uint64_t now = mono_ns();
        if (seen++ >= warm) samples.push_back(now - v);
        last = v;
      } else if (done.load(std::memory_order_acquire)) {
        if (slot.load(std::memory_order_acquire) == last) break;
      } else {
        cpu_relax();
      }
    }
  });
  while (!consumer_ready.load()) std::this_thread::yield();
  double send_rate = 0;
  std::thread producer_thread([&] {
    pin_to(opt, 0);
    pacer pc(opt, seed);
    std::uint64_t next = mono_ns();
    const std::uint64_t start = next;
    for (std::uint64_t i = 0; i < total; ++i) {
      std::uint64_t now;
      while ((now = mono_ns()) < next) cpu_relax();
      slot.store(now, std::memory_order_release);
      next = now + pc.next_gap();
    }
    done.store(true, std::memory_order_release);
    send_rate = static_cast<double>(total) / (static_cast<double>(mono_ns() - start) * 1e-9);
  });
  producer_thread.join();
  consumer_thread.join();
  latency_stats st = summarize(samples);
  st.send_rate = send_rate;
  return st;
}

}  // namespace

int main(int argc, char** argv) {
  g_prog = "messaging_bench";
  const options opt = parse_args(argc, argv);
  g_quiet = opt.quiet;
  output out{{opt.csv, 16, 3}, {}};
  make_temp_dir(opt.tmpdir, "franz-msgbench");

  const std::string load = load_average();
  const machine_cpu cpu0 = sample_machine_cpu();
  const unsigned ncpu = cpu_count();
  const int reps = std::max(1, opt.reps);
  const std::uint64_t n = opt.records;
  const std::uint64_t nc = opt.compression_records.value_or(opt.records);

  out.header();
  out.meta("machine", machine_description(ncpu, load));
  out.meta("sizes", fmt::format("records={} reps={} latency_records={} warmup={} compression_records={}", n, reps,
                                opt.latency_records, opt.warmup_records, nc));
  out.meta("e2e", fmt::format("pace U[{},{}] us, consumer poll.spin.us={}, threads {}", opt.pace_min_us,
                              opt.pace_max_us, opt.poll_spin_us, opt.pin ? "pinned to cpus 0/1" : "not pinned"));
  out.meta("record", fmt::format("{} B payload = {} B key (index) + {} B value; topic '{}' with default config "
                                 "(no flush.messages/flush.ms, segment.bytes 1 GiB); routing {}",
                                 record_bytes, key_bytes, value_bytes, topic_name,
                                 opt.explicit_routing ? "explicit (thread t -> partition t % P)" : "murmur2(key)"));
  out.meta("method", fmt::format("median of {} runs; raw and franz runs alternate; page cache {}; MB = 1e6 B of "
                                 "payload; cpu = process CPU time / wall (all threads)",
                                 reps, opt.prewarm ? "prewarmed before each write run" : "not prewarmed"));
  out.meta("dir", g_tmp);
  std::fflush(stdout);

  ring rg;

  // 1-3. send_*: producer throughput against write() of 16 KiB chunks.
  const std::array<send_spec, 4> send_specs = {{
      {"send_1t_linger0", 1, 1, franz::ack::leader, 0, 16384, false},
      {"send_1t_linger5", 1, 1, franz::ack::leader, 5, 16384, false},
      {"send_2t_linger0", 2, 2, franz::ack::leader, 0, 16384, false},
      {"send_2t_linger5", 2, 2, franz::ack::leader, 5, 16384, false},
  }};
  for (const auto& s : send_specs) {
    if (!opt.wants(s.name)) continue;
    std::vector<timing> raw_t, franz_t;
    std::vector<double> bpr, skew;
    for (int rep = 0; rep < reps; ++rep) {
      progress("%s run %d/%d (%" PRIu64 " records)", s.name, rep + 1, reps, n);
      run_pair(
          opt, rep,
          [&] {
            const std::string path = fresh("raw") + ".dat";
            prewarm(opt, footprint(n, 110));
            raw_t.push_back(raw_write(path, n, rg, ring_records, raw_chunk, false));
            ::unlink(path.c_str());
          },
          [&] {
            const send_result r = franz_send(opt, s, n, rg, fresh("franz"));
            franz_t.push_back(r.time);
            bpr.push_back(r.disk_bytes_per_record);
            skew.push_back(r.partition_skew);
          });
    }
    const auto raw = baseline_rps(raw_t, n);
    const double f = median_rps(franz_t, n);
    const double ns_per_send = 1e9 / f;
    const bool linger5 = s.linger_ms > 0;
    if (raw) out.throughput(s.name, "raw_write16k", raw_t, n, record_bytes, {}, std::nullopt, {}, {}, std::nullopt,
                            false);
    std::string extra = fmt::format("ns/send={:.1f} disk={:.0f}B/rec", ns_per_send * s.threads, median(bpr));
    if (s.partitions > 1) extra += fmt::format(" max_part/mean={:.2f}", median(skew));
    out.throughput(s.name, "franz", franz_t, n, record_bytes, "raw_write16k", raw, extra,
                   linger5 ? ">=10M rec/s" : std::string(),
                   linger5 ? std::optional<bool>(f >= target_linger5_rps) : std::nullopt);
    out.metric(s.name, "franz", "ns_per_send_per_thread", ns_per_send * s.threads, "ns");
    out.metric(s.name, "franz", "disk_bytes_per_record", median(bpr), "B");
    std::fflush(stdout);
  }

  // 4. acks_all_4t: group commit against write()+fdatasync() per 100 KB.
  if (opt.wants("acks_all_4t")) {
    const send_spec s{"acks_all_4t", 4, 1, franz::ack::all, 5, 128 << 10, true};
    std::vector<timing> raw_t, franz_t;
    std::vector<double> syncs, raw_syncs, fs;
    for (int rep = 0; rep < reps; ++rep) {
      progress("acks_all_4t run %d/%d (%" PRIu64 " records)", rep + 1, reps, n);
      run_pair(
          opt, rep,
          [&] {
            const std::string path = fresh("rawsync") + ".dat";
            prewarm(opt, footprint(n, 110));
            const std::uint64_t f0 = g_fdatasync_calls.load();
            raw_t.push_back(raw_write(path, n, rg, sync_ring_records, sync_chunk, true));
            raw_syncs.push_back(static_cast<double>(g_fdatasync_calls.load() - f0));
            ::unlink(path.c_str());
          },
          [&] {
            const send_result r = franz_send(opt, s, n, rg, fresh("franzsync"));
            franz_t.push_back(r.time);
            syncs.push_back(static_cast<double>(r.fdatasyncs));
            fs.push_back(static_cast<double>(r.fsyncs));
          });
    }
    const auto raw = baseline_rps(raw_t, n);
    const double f = median_rps(franz_t, n);
    const double ds = median(syncs);
    if (raw) {
      out.throughput(s.name, "raw_write+fds", raw_t, n, record_bytes, {}, std::nullopt,
                     fmt::format("fdatasyncs={:.0f}", median(raw_syncs)), {}, std::nullopt, false);
      std::vector<double> walls;
      for (const auto& t : raw_t) walls.push_back(t.wall);
      const double us = 1e6 * median(walls) / std::max(1.0, median(raw_syncs));
      out.info(s.name, "raw_write+fds", "us_per_fdatasync", us, "us",
               fmt::format("raw write()+fdatasync() of 100 KB: {:.0f} us each", us));
    }
    out.throughput(s.name, "franz", franz_t, n, record_bytes, "raw_write+fds", raw,
                   fmt::format("fdatasyncs={:.0f} fsyncs={:.0f} rec/fdatasync={:.0f} wall_us/fdatasync={:.0f}", ds,
                               median(fs), static_cast<double>(n) / std::max(1.0, ds),
                               1e6 * (static_cast<double>(n) / f) / std::max(1.0, ds)),
                   ">=5M rec/s", f >= target_acks_all_rps);
    out.metric(s.name, "franz", "fdatasyncs", ds, "calls");
    out.metric(s.name, "franz", "fsyncs", median(fs), "calls");
    std::fflush(stdout);
  }

  // 5. poll: a consumer reading N records against read() + sum pass.
  if (opt.wants("poll")) {
    std::vector<timing> raw_t, big_t, small_t;
    std::vector<double> big_polls, small_polls;
    for (int rep = 0; rep < reps; ++rep) {
      progress("poll run %d/%d (%" PRIu64 " records; producing them first, untimed)", rep + 1, reps, n);
      const std::string dir = fresh("franzpoll");
      auto b = open_broker(dir, 1);
      prewarm(opt, footprint(n, 120));
      produce_untimed(*b, n, rg);
      const std::string path = fresh("rawpoll") + ".dat";
      if (opt.baselines) (void)raw_write(path, n, rg, ring_records, raw_chunk, false);
      sync_fs(g_tmp);
      auto consume = [&](std::int32_t mpr, std::vector<timing>& into, std::vector<double>& polls) {
        const poll_result r = franz_poll(*b, n, mpr);
        if (r.value_bytes != n * value_bytes) die("poll: %" PRIu64 " value bytes, expected %" PRIu64, r.value_bytes,
                                                   n * value_bytes);
        into.push_back(r.time);
        polls.push_back(static_cast<double>(r.polls));
      };
      run_pair(
          opt, rep,
          [&] {
            const file_read s = raw_read(path);
            if (s.bytes != n * record_bytes) die("raw read: %" PRIu64 " bytes", s.bytes);
            raw_t.push_back(s.time);
          },
          [&] {
            if (rep % 2 == 0) {
              consume(10000, big_t, big_polls);
              consume(500, small_t, small_polls);
            } else {
              consume(500, small_t, small_polls);
              consume(10000, big_t, big_polls);
            }
          });
      ::unlink(path.c_str());
      discard_broker(b, dir);
    }
    const auto raw = baseline_rps(raw_t, n);
    if (raw) out.throughput("poll", "raw_read+sum", raw_t, n, record_bytes, {}, std::nullopt, {}, {}, std::nullopt,
                            false);
    const double f = median_rps(big_t, n);
    out.throughput("poll", "franz_mpr10000", big_t, n, record_bytes, "raw_read+sum", raw,
                   fmt::format("polls={:.0f}", median(big_polls)), ">=40M rec/s", f >= target_poll_rps);
    out.throughput("poll", "franz_mpr500", small_t, n, record_bytes, "raw_read+sum", raw,
                   fmt::format("polls={:.0f}", median(small_polls)));
    std::fflush(stdout);
  }

  // 6. e2e_latency: paced sends, a polling consumer; an atomic hand-off as baseline.
  if (opt.wants("e2e_latency")) {
    const double clock_cost = mono_ns_cost();
    std::vector<double> p50, p99, p999, pmax, mean, rate, a50, a99, a999, amax, aseen;
    for (int rep = 0; rep < reps; ++rep) {
      progress("e2e_latency run %d/%d (%" PRIu64 " + %" PRIu64 " warm-up records, one per %" PRIu64 "-%" PRIu64
               " us)",
               rep + 1, reps, opt.latency_records, opt.warmup_records, opt.pace_min_us, opt.pace_max_us);
      const auto seed = 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(rep + 1);
      run_pair(
          opt, rep,
          [&] {
            const latency_stats s = atomic_e2e(opt, seed);
            aseen.push_back(100.0 * static_cast<double>(s.samples) / static_cast<double>(opt.latency_records));
            if (s.samples == 0) return;  // the consumer never ran: no percentiles
            a50.push_back(s.p50);
            a99.push_back(s.p99);
            a999.push_back(s.p999);
            amax.push_back(s.max);
          },
          [&] {
            const latency_stats s = franz_e2e(opt, fresh("franze2e"), rg, seed);
            if (s.samples != opt.latency_records) die("e2e: %" PRIu64 " samples", s.samples);
            p50.push_back(s.p50);
            p99.push_back(s.p99);
            p999.push_back(s.p999);
            pmax.push_back(s.max);
            mean.push_back(s.mean);
            rate.push_back(s.send_rate);
          });
    }
    out.info("e2e_latency", "meta", "clock_ns", clock_cost, "ns",
             fmt::format("timestamps: CLOCK_MONOTONIC, {:.0f} ns per read (included once in each sample); "
                         "franz producer sent {:.0f}k rec/s",
                         clock_cost, median(rate) / 1e3));
    out.latency("e2e_latency", "franz", "p50", p50, "<=1000 ns", median(p50) <= target_e2e_p50_ns);
    out.latency("e2e_latency", "franz", "p99", p99, "<=10000 ns", median(p99) <= target_e2e_p99_ns);
    out.latency("e2e_latency", "franz", "p99.9", p999);
    out.latency("e2e_latency", "franz", "max", pmax);
    out.latency("e2e_latency", "franz", "mean", mean);
    if (!aseen.empty()) {
      out.info("e2e_latency", "atomic", "seen_pct", median(aseen), "%",
               fmt::format("atomic hand-off: the consumer saw {:.1f}% of the stores (a value overwritten while the "
                           "consumer was descheduled is lost, so its tail omits backlogs that franz counts)",
                           median(aseen)));
    }
    if (!a50.empty()) {
      out.latency("e2e_latency", "atomic", "p50", a50);
      out.latency("e2e_latency", "atomic", "p99", a99);
      out.latency("e2e_latency", "atomic", "p99.9", a999);
      out.latency("e2e_latency", "atomic", "max", amax);
    }
    auto us = [](double ns) { return fmt::format("{:.2f}", ns / 1e3); };
    out.summary.push_back(
        {"e2e_latency", "franz", "-", "-",
         a50.empty() ? std::string("-")
                     : fmt::format("atomic p50/p99 {}/{} us", us(median(a50)), us(median(a99))),
         a50.empty() ? std::string("-") : fmt::format("{:.1f}x p50", median(p50) / std::max(1.0, median(a50))),
         fmt::format("p50/p99/p99.9/max {}/{}/{}/{} us", us(median(p50)), us(median(p99)), us(median(p999)),
                     us(median(pmax))),
         "p50<=1us p99<=10us",
         verdict(median(p50) <= target_e2e_p50_ns && median(p99) <= target_e2e_p99_ns)});
    std::fflush(stdout);
  }

  // 7. compression: JSON telemetry through none / lz4 / zstd.
  if (opt.wants("compression")) {
    const json_pool pool(16384);
    const std::uint64_t raw_bytes = pool.bytes_for(nc);
    const double bpr = static_cast<double>(raw_bytes) / static_cast<double>(nc);
    out.info("compression", "meta", "json_bytes_per_record", bpr, "B",
             fmt::format("{} distinct JSON records of {}-{} B (mean {:.0f} B), key null", pool.recs.size(),
                         pool.min_len, pool.max_len, bpr));
    struct codec_runs {
      franz::compression codec;
      const char* name;
      std::vector<timing> produce, consume;
      std::vector<double> ratio;
    };
    std::array<codec_runs, 3> codecs = {{{franz::compression::none, "none", {}, {}, {}},
                                         {franz::compression::lz4, "lz4", {}, {}, {}},
                                         {franz::compression::zstd, "zstd", {}, {}, {}}}};
    std::vector<timing> raw_w, raw_r;
    for (int rep = 0; rep < reps; ++rep) {
      progress("compression run %d/%d (%" PRIu64 " JSON records per codec)", rep + 1, reps, nc);
      run_pair(
          opt, rep,
          [&] {
            const std::string path = fresh("rawjson") + ".dat";
            prewarm(opt, footprint(nc, static_cast<std::uint64_t>(bpr) + 10));
            raw_w.push_back(raw_write_json(path, nc, pool));
            const file_read s = raw_read(path);
            if (s.bytes != raw_bytes) die("raw json read: %" PRIu64 " bytes", s.bytes);
            raw_r.push_back(s.time);
            ::unlink(path.c_str());
          },
          [&] {
            for (auto& c : codecs) {
              const std::string dir = fresh("franzjson");
              auto b = open_broker(dir, 1);
              prewarm(opt, footprint(nc, static_cast<std::uint64_t>(bpr) + 20));
              auto p = make_producer(*b, franz::ack::leader, 5, 64 << 10, c.codec);
              const stopwatch sw;
              for (std::uint64_t i = 0; i < nc; ++i) {
                const franz::producer_record r{.topic = topic_name, .value = pool.at(i)};
                if (auto st = p->send(r); !st.ok()) [[unlikely]]
                  die("compression send (%s): %s", c.name, st.error().to_string().c_str());
              }
              check(p->flush(), "flush");
              c.produce.push_back(sw.stop());
              check(p->close(), "producer::close");
              p.reset();
              const topic_totals t = totals(*b);
              if (t.records != nc) die("compression (%s): %" PRIu64 " records in the topic", c.name, t.records);
              c.ratio.push_back(static_cast<double>(raw_bytes) / static_cast<double>(t.bytes));
              const poll_result pr = franz_poll(*b, nc, 10000);
              if (pr.value_bytes != raw_bytes)
                die("compression (%s): consumed %" PRIu64 " value bytes, expected %" PRIu64, c.name, pr.value_bytes,
                    raw_bytes);
              c.consume.push_back(pr.time);
              discard_broker(b, dir);
            }
          });
    }
    const auto rw = baseline_rps(raw_w, nc);
    const auto rr = baseline_rps(raw_r, nc);
    if (rw) {
      out.throughput("compression", "raw_write16k", raw_w, nc, bpr, {}, std::nullopt, {}, {}, std::nullopt, false);
      out.throughput("compression", "raw_read+sum", raw_r, nc, bpr, {}, std::nullopt, {}, {}, std::nullopt, false);
    }
    for (auto& c : codecs) {
      const std::string pw = fmt::format("produce_{}", c.name), cw = fmt::format("consume_{}", c.name);
      out.throughput("compression", pw.c_str(), c.produce, nc, bpr, "raw_write16k", rw,
                     fmt::format("disk_ratio={:.2f}", median(c.ratio)));
      out.throughput("compression", cw.c_str(), c.consume, nc, bpr, "raw_read+sum", rr);
      out.metric("compression", pw.c_str(), "disk_ratio", median(c.ratio), "x");
    }
    std::fflush(stdout);
  }

  out.contention(cpu0, ncpu);
  out.print_summary();
  if (g_sink.load() == 42) std::printf("\n");  // keeps the touched bytes observable
  cleanup();
  return 0;
}
