// The peer benchmarks' driver: runs the same workloads on any peers::system
// and prints CSV rows (or, with --smoke, checks that every record reads back
// exactly as written). Each <system>_peer.cpp's main() is
//
//   int main(int argc, char** argv) { my_system s; return peers::run(argc, argv, s); }
//
// Workloads (--only picks some; every one at --records N, default 1M):
//   produce          N records in batches (default 1000 x 100 B), no fsync
//   produce_fsync    the same, durable at the end of every batch
//   consume          reads back what produce's last run wrote, every byte
//                    summed (one untimed pass first: all systems read warm)
//   append_latency   N single-record appends, each timed (rdtsc); one run
//                    only if the first took over 20 s (round-trip systems)
//   e2e              a producer thread sends one record every U[5,20] us
//                    with its CLOCK_MONOTONIC send time; a consumer thread
//                    receives it: receive time - send time
//   size_sweep       produce + consume at each --sizes (16 B .. 64 KiB);
//                    records per size min(N, --sweep-bytes / size), batches
//                    of min(1000, 512 KiB / size) records (franz refuses
//                    batches over max.message.bytes, 1 MiB)
//   partitions       produce + consume spread over 1..64 partitions (only
//                    systems with partitions: franz)
//
// Method: each write run starts in a fresh directory after the page cache
// is warmed through write() and through a mapping (bench_util.hpp,
// prewarm); --reps runs (default 3) per figure,
// the median is reported and every run listed. Rates count records from the
// first append to the return of the last (with fsync per batch, to the last
// fsync). Reads are checked: count and byte sum (the smoke test: each
// record byte for byte).
//
// Output: CSV on stdout, one row per figure:
//   system,workload,durability,settings,records,record_bytes,batch_records,
//   partitions,metric,value,unit,runs
// and, for the latency workloads, a CDF file per system and workload in
// --cdf-dir: "latency_ns fraction" lines.
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "peer.hpp"

namespace peers {

using namespace franz::bench;

// Wall time of a run and the process's CPU time (peers' own threads included).
using stopwatch = basic_stopwatch<CLOCK_PROCESS_CPUTIME_ID>;

struct options : common_options {
  std::uint64_t records = 1'000'000;
  std::size_t record_bytes = 100;
  std::size_t batch_records = 1000;
  int reps = 3;
  bool smoke = false;
  std::string server;
  std::string cdf_dir;
  std::vector<std::size_t> sizes{16, 64, 256, 1024, 4096, 16384, 65536};
  std::uint64_t sweep_bytes = 1ull << 30;
  std::vector<int> partitions{1, 2, 4, 8, 16, 32, 64};
  std::uint64_t e2e_warmup = 10'000;
  std::uint64_t pace_min_ns = 5'000, pace_max_ns = 20'000;
};

// append_latency stops after its first run if that run took longer.
inline constexpr double long_latency_run_s = 20;

inline constexpr std::string_view all_workloads[] = {"produce", "produce_fsync", "consume", "append_latency",
                                                     "e2e", "size_sweep", "partitions"};

inline void usage(FILE* out) {
  std::fprintf(out,
               "usage: %s [options]\n"
               "  --records N        records per workload (default 1M)\n"
               "  --record-bytes S   record size (default 100)\n"
               "  --batch N          records per batch (default 1000)\n"
               "  --reps R           runs per figure, median reported (default 3)\n"
               "  --only LIST        comma-separated subset of produce,produce_fsync,consume,\n"
               "                     append_latency,e2e,size_sweep,partitions\n"
               "  --sizes LIST       record sizes for size_sweep (default 16,...,65536)\n"
               "  --sweep-bytes N    bytes per size_sweep run at most (default 1G; --smoke: 16M)\n"
               "  --partitions LIST  partition counts for partitions (default 1,2,4,...,64)\n"
               "  --server HOST:PORT the system's server (client-server systems)\n"
               "  --cdf-dir DIR      where latency CDF files go (default: none written)\n"
               "  --smoke            check instead of time: every workload's records read\n"
               "                     back exactly as written (default --records 10k)\n"
               "  --tmpdir DIR       parent of the temporary directory (default /tmp)\n"
               "  --no-prewarm       do not warm the page cache before write runs\n"
               "  --quiet            no progress on stderr\n",
               g_prog);
}

template <class T>
std::vector<T> parse_list(const char* flag, const char* s) {
  std::vector<T> v;
  std::string_view rest = s;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string item(rest.substr(0, comma));
    v.push_back(static_cast<T>(parse_count(flag, item.c_str())));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (v.empty()) parse_count(flag, "");  // prints the error
  return v;
}

inline options parse_options(int argc, char** argv) {
  options o;
  bool records_set = false, sweep_set = false;
  auto own = [&](std::string_view a, const char* flag, const auto& value) {
    if (a == "--records") {
      o.records = parse_count(flag, value());
      records_set = true;
    } else if (a == "--record-bytes") {
      o.record_bytes = parse_count(flag, value(), 16);
    } else if (a == "--batch") {
      o.batch_records = parse_count(flag, value());
    } else if (a == "--reps") {
      o.reps = static_cast<int>(std::min<std::uint64_t>(parse_count(flag, value()), 100));
    } else if (a == "--sizes") {
      o.sizes = parse_list<std::size_t>(flag, value());
      for (auto s : o.sizes)
        if (s < 16) parse_count(flag, "8", 16);
    } else if (a == "--sweep-bytes") {
      o.sweep_bytes = parse_count(flag, value());
      sweep_set = true;
    } else if (a == "--partitions") {
      o.partitions = parse_list<int>(flag, value());
    } else if (a == "--server") {
      o.server = value();
    } else if (a == "--cdf-dir") {
      o.cdf_dir = value();
    } else if (a == "--smoke") {
      o.smoke = true;
    } else {
      return false;
    }
    return true;
  };
  franz::bench::parse_args(argc, argv, o, all_workloads, usage, own);
  if (o.smoke && !records_set) o.records = 10'000;
  if (o.smoke && !sweep_set) o.sweep_bytes = 16u << 20;
  return o;
}

// --- output ------------------------------------------------------------------------------

struct figure {
  std::string workload;
  durability sync = durability::none;
  std::uint64_t records = 0;
  std::size_t record_bytes = 0, batch_records = 0;
  int partitions = 1;
};

class reporter {
 public:
  reporter(const system& s, const options& o) : sys_(s), o_(o) {}

  void header() const {
    if (o_.smoke) return;
    std::printf("system,workload,durability,settings,records,record_bytes,batch_records,partitions,metric,value,"
                "unit,runs\n");
  }
  void row(const figure& f, const char* metric, double value, const char* unit, const std::vector<double>& runs) {
    if (o_.smoke) return;
    std::string list;
    for (double r : runs) list += fmt::format("{}{:.6g}", list.empty() ? "" : ";", r);
    std::string settings = sys_.settings(f.sync);
    std::replace(settings.begin(), settings.end(), '"', '\'');
    std::printf("%s,%s,%s,\"%s\",%" PRIu64 ",%zu,%zu,%d,%s,%.6g,%s,%s\n", sys_.name().c_str(), f.workload.c_str(),
                name_of(f.sync), settings.c_str(), f.records, f.record_bytes, f.batch_records, f.partitions, metric,
                value, unit, list.c_str());
    std::fflush(stdout);
  }
  // The median rate over runs, in records/s and MB/s.
  void rates(const figure& f, const std::vector<timing>& runs) {
    std::vector<double> rps;
    for (const auto& t : runs) rps.push_back(static_cast<double>(f.records) / t.wall);
    row(f, "rate", median(rps), "rec/s", rps);
    std::vector<double> mbs;
    for (double r : rps) mbs.push_back(r * static_cast<double>(f.record_bytes) / 1e6);
    row(f, "throughput", median(mbs), "MB/s", mbs);
  }
  // Percentiles per run (each run's samples sorted), medians reported; the
  // CDF of the run with the median p99 goes to --cdf-dir.
  void latencies(const figure& f, std::vector<std::vector<std::uint64_t>>& runs) {
    std::vector<double> p50, p99, p999, mx;
    for (auto& s : runs) {
      std::sort(s.begin(), s.end());
      p50.push_back(percentile(s, 0.50));
      p99.push_back(percentile(s, 0.99));
      p999.push_back(percentile(s, 0.999));
      mx.push_back(s.empty() ? 0.0 : static_cast<double>(s.back()));
    }
    row(f, "p50", median(p50), "ns", p50);
    row(f, "p99", median(p99), "ns", p99);
    row(f, "p99.9", median(p999), "ns", p999);
    row(f, "max", median(mx), "ns", mx);
    if (o_.cdf_dir.empty() || runs.empty()) return;
    std::size_t pick = 0;
    for (std::size_t i = 0; i < runs.size(); ++i)
      if (p99[i] == median(p99) || (std::abs(p99[i] - median(p99)) < std::abs(p99[pick] - median(p99)))) pick = i;
    const auto& s = runs[pick];
    const std::string path = fmt::format("{}/cdf-{}-{}.dat", o_.cdf_dir, sys_.name(), f.workload);
    FILE* out = std::fopen(path.c_str(), "w");
    if (out == nullptr) die("cannot write %s: %s", path.c_str(), std::strerror(errno));
    std::fprintf(out, "# %s %s: latency_ns fraction (%zu samples)\n", sys_.name().c_str(), f.workload.c_str(),
                 s.size());
    // 1000 evenly spaced points, then the tail at finer steps.
    for (int i = 0; i < 1000; ++i) {
      const double q = i / 1000.0;
      std::fprintf(out, "%.1f %.6f\n", percentile(s, q), q);
    }
    for (double q : {0.999, 0.9995, 0.9999, 0.99995, 0.99999, 1.0}) std::fprintf(out, "%.1f %.6f\n", percentile(s, q), q);
    std::fclose(out);
  }

 private:
  const system& sys_;
  const options& o_;
};

// --- workloads ---------------------------------------------------------------------------

class runner {
 public:
  runner(system& s, const options& o) : sys_(s), o_(o), out_(s, o) {}

  int run() {
    out_.header();
    const bool partitioned = o_.wants("partitions") && probe_partitions();
    if (o_.wants("produce") || o_.wants("consume")) produce_consume(o_.record_bytes, o_.records, o_.batch_records, "produce", "consume", o_.wants("consume"));
    if (o_.wants("produce_fsync")) {
      if (sys_.offers(durability::per_batch)) {
        produce_only(durability::per_batch);
      } else {
        note("produce_fsync skipped: %s has no fsync setting", sys_.name().c_str());
      }
    }
    if (o_.wants("append_latency")) append_latency();
    if (o_.wants("e2e")) e2e();
    if (o_.wants("size_sweep")) {
      for (std::size_t size : o_.sizes) {
        const std::uint64_t n = std::max<std::uint64_t>(1, std::min<std::uint64_t>(o_.records, o_.sweep_bytes / size));
        const std::size_t batch = std::clamp<std::size_t>((512u << 10) / size, 1, o_.batch_records);
        produce_consume(size, n, batch, "size_produce", "size_consume", true);
      }
    }
    if (partitioned) {
      for (int p : o_.partitions) produce_consume(o_.record_bytes, o_.records, o_.batch_records, "partitions_produce", "partitions_consume", true, p);
    }
    if (o_.smoke) {
      std::printf("%s: %d workloads read back exactly what they wrote\n", sys_.name().c_str(), checked_);
      std::printf("%d passed, 0 failed\n", checked_);
    }
    return 0;
  }

 private:
  __attribute__((format(printf, 2, 3))) void note(const char* fmt, ...) {
    std::va_list ap;
    va_start(ap, fmt);
    std::fprintf(stderr, "%s: ", g_prog);
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
    va_end(ap);
  }

  open_params params(std::size_t size, std::size_t batch, std::uint64_t n, durability d) const {
    open_params p;
    p.dir = fresh(sys_.name().c_str());
    if (::mkdir(p.dir.c_str(), 0700) != 0) die("mkdir %s: %s", p.dir.c_str(), std::strerror(errno));
    p.sync = d;
    p.record_bytes = size;
    p.batch_records = batch;
    p.records = n;
    p.server = o_.server;
    return p;
  }

  bool probe_partitions() {
    auto s = sys_.open_partitioned(params(o_.record_bytes, o_.batch_records, 0, durability::none), 1);
    if (!s) {
      note("partitions skipped: %s has no partitions", sys_.name().c_str());
      return false;
    }
    s->close();
    return true;
  }

  std::unique_ptr<store> open(const open_params& p, int partitions) {
    if (partitions == 0) return sys_.open(p);
    return sys_.open_partitioned(p, partitions);
  }

  // Appends n records in batches; returns the run's timing.
  timing write(store& s, record_maker& rm, std::uint64_t n) {
    const std::size_t b = rm.batch_records();
    const stopwatch sw;
    for (std::uint64_t first = 0; first < n; first += b) {
      const std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(b, n - first));
      s.append_batch(first, rm.batch(first, count), count);
    }
    return sw.stop();
  }

  void check_read(const sink& k, const record_maker& rm, std::uint64_t n, const char* what) {
    if (k.count() != n)
      die("%s: read back %" PRIu64 " records of the %" PRIu64 " written", what, k.count(), n);
    if (k.sum() != rm.expected_sum(n)) die("%s: the records read back differ from those written (byte sum)", what);
  }

  // reps write runs of n records; the last run's store is then read back
  // (if consume) once untimed and reps times timed. partitions 0: the
  // system's plain store.
  void produce_consume(std::size_t size, std::uint64_t n, std::size_t batch, const char* wname, const char* rname,
                       bool consume, int partitions = 0) {
    record_maker rm(size, batch);
    std::vector<timing> runs;
    std::unique_ptr<store> last;
    const int reps = o_.smoke ? 1 : o_.reps;
    for (int rep = 0; rep < reps; ++rep) {
      if (last) {
        last->close();
        last.reset();
      }
      progress("%s %s run %d/%d (%" PRIu64 " x %zu B%s)", sys_.name().c_str(), wname, rep + 1, reps, n, size,
               partitions > 0 ? fmt::format(", {} partitions", partitions).c_str() : "");
      prewarm(o_, n * size + (64u << 20), true);
      last = open(params(size, batch, n, durability::none), partitions);
      runs.push_back(write(*last, rm, n));
    }
    figure f{wname, durability::none, n, size, batch, std::max(partitions, 1)};
    out_.rates(f, runs);
    if (consume) {
      std::vector<timing> reads;
      if (o_.smoke) {
        sink k(sink::mode::verify, &rm);
        last->read_all(k);
        check_read(k, rm, n, rname);
        ++checked_;
      } else {
        for (int rep = 0; rep <= o_.reps; ++rep) {  // rep 0: the untimed warm-up pass
          sink k(sink::mode::sum);
          const stopwatch sw;
          last->read_all(k);
          const timing t = sw.stop();
          check_read(k, rm, n, rname);
          if (rep > 0) reads.push_back(t);
        }
        f.workload = rname;
        out_.rates(f, reads);
      }
    }
    last->close();
  }

  void produce_only(durability d) {
    record_maker rm(o_.record_bytes, o_.batch_records);
    std::vector<timing> runs;
    const int reps = o_.smoke ? 1 : o_.reps;
    for (int rep = 0; rep < reps; ++rep) {
      progress("%s produce_fsync run %d/%d", sys_.name().c_str(), rep + 1, reps);
      prewarm(o_, o_.records * o_.record_bytes + (64u << 20), true);
      auto s = sys_.open(params(o_.record_bytes, o_.batch_records, o_.records, d));
      runs.push_back(write(*s, rm, o_.records));
      if (o_.smoke) {
        sink k(sink::mode::verify, &rm);
        s->read_all(k);
        check_read(k, rm, o_.records, "produce_fsync");
        ++checked_;
      }
      s->close();
    }
    out_.rates({"produce_fsync", d, o_.records, o_.record_bytes, o_.batch_records, 1}, runs);
  }

  void append_latency() {
    const timer_info tm = calibrate_timer();
    record_maker rm(o_.record_bytes, o_.batch_records);
    std::vector<std::vector<std::uint64_t>> runs;
    const int reps = o_.smoke ? 1 : o_.reps;
    // A system whose appends are round trips (tens of us each) takes
    // minutes per run: one run of N samples is then enough.
    const double t0 = now_s();
    for (int rep = 0; rep < reps && (rep == 0 || now_s() - t0 < long_latency_run_s); ++rep) {
      progress("%s append_latency run %d/%d", sys_.name().c_str(), rep + 1, reps);
      prewarm(o_, o_.records * o_.record_bytes * 2 + (64u << 20), true);
      auto s = sys_.open(params(o_.record_bytes, o_.batch_records, o_.records, durability::none));
      std::vector<std::uint64_t> ns;
      ns.reserve(o_.records);
      for (std::uint64_t i = 0; i < o_.records; ++i) {
        const std::byte* r = rm.one(i);
        const std::uint64_t a = ticks();
        s->append_one(i, r);
        const std::uint64_t b = ticks();
        const double d = static_cast<double>(b - a) / tm.ticks_per_ns - tm.overhead_ns;
        ns.push_back(d > 0 ? static_cast<std::uint64_t>(d + 0.5) : 0);
      }
      if (o_.smoke) {
        sink k(sink::mode::verify, &rm);
        s->read_all(k);
        check_read(k, rm, o_.records, "append_latency");
        ++checked_;
      }
      s->close();
      runs.push_back(std::move(ns));
    }
    out_.latencies({"append_latency", durability::none, o_.records, o_.record_bytes, 1, 1}, runs);
  }

  void e2e() {
    const std::uint64_t warm = o_.smoke ? 0 : o_.e2e_warmup, total = warm + o_.records;
    record_maker rm(o_.record_bytes, o_.batch_records);
    progress("%s e2e (%" PRIu64 " records, one per %" PRIu64 "-%" PRIu64 " us)", sys_.name().c_str(), total,
             o_.pace_min_ns / 1000, o_.pace_max_ns / 1000);
    if (o_.record_bytes < 16) die("e2e needs records of at least 16 bytes");
    auto h = sys_.open_handoff(params(o_.record_bytes, o_.batch_records, total, durability::none));
    sink k(o_.smoke ? sink::mode::verify : sink::mode::latency, &rm);
    std::atomic<bool> ready{false};
    std::thread consumer([&] {
      ready.store(true);
      int idle = 0;
      while (k.count() < total) {
        if (h->receive(k, std::chrono::milliseconds(100)) > 0) {
          idle = 0;
        } else if (++idle > 100) {
          die("e2e: the consumer stalled at %" PRIu64 " of %" PRIu64 " records (10 s without data)", k.count(),
              total);
        }
      }
    });
    while (!ready.load()) std::this_thread::yield();
    // A private record maker: latency mode overwrites bytes 8..16.
    record_maker sender(o_.record_bytes, o_.batch_records);
    std::uint64_t x = 0x2545F4914F6CDD1Dull;
    const std::uint64_t span = o_.pace_max_ns - o_.pace_min_ns + 1;
    std::uint64_t next = mono_ns();
    for (std::uint64_t i = 0; i < total; ++i) {
      std::uint64_t now;
      while ((now = mono_ns()) < next) cpu_relax();
      std::byte* r = sender.one(i);
      if (!o_.smoke) std::memcpy(r + 8, &now, 8);
      h->send(i, r);
      next = now + o_.pace_min_ns + xorshift64s(x) % span;
    }
    consumer.join();
    h->close();
    if (o_.smoke) {
      if (k.count() != total) die("e2e: %" PRIu64 " of %" PRIu64 " records received", k.count(), total);
      ++checked_;
      return;
    }
    std::vector<std::vector<std::uint64_t>> runs(1);
    runs[0].assign(k.latencies().begin() + static_cast<std::ptrdiff_t>(warm), k.latencies().end());
    out_.latencies({"e2e", durability::none, o_.records, o_.record_bytes, 1, 1}, runs);
  }

  system& sys_;
  const options& o_;
  reporter out_;
  int checked_ = 0;
};

// The whole program: parses the options, makes the temporary directory,
// runs the workloads on s.
inline int run(int argc, char** argv, system& s) {
  const std::string prog = s.name() + "_peer";
  g_prog = prog.c_str();
  const options o = parse_options(argc, argv);
  g_quiet = o.quiet;
  if (s.needs_server() && o.server.empty()) die("needs --server HOST:PORT (bench/peers/run.sh starts one)");
  check_byte_sum();
  make_temp_dir(o.tmpdir, "franz-peers");
  if (!o.cdf_dir.empty()) ::mkdir(o.cdf_dir.c_str(), 0755);
  runner r(s, o);
  const int rc = r.run();
  cleanup();
  return rc;
}

}  // namespace peers
