// franz log benchmark: franz::log against raw file I/O, measured in the same run.
//
//   log_bench [--records N] [--fsync-records N] [--latency-appends N] [--reps R]
//             [--only LIST] [--tmpdir DIR] [--csv] [--no-prewarm] [--no-baseline]
//
// Every record is 100 bytes of payload: an 8-byte key (the record's index,
// little-endian) and a 92-byte value (pseudo-random, one per batch slot); no
// headers, no timestamp (the log stamps "now"), no compression. Workloads:
//
//   append_batch   append(span of 1000 records), no fsync
//                  baseline: write() of the same 100 KB per 1000 records
//   append_fsync   the same, plus flush() (fdatasync) after every batch
//                  baseline: write() + fdatasync() per 100 KB
//   append_single  append(const record&), one record per call, no fsync:
//                  throughput (untimed loop) and per-call latency (a second
//                  run in which every call is timed with rdtsc)
//                  baselines: write() of 100 KB per 1000 records ("ratio"),
//                  and write() of 100 B per record ("ratio_1rec").
//                  Latency: nearest-rank percentiles over every call of a
//                  run, minus the timer's own cost (fenced rdtsc pair); the
//                  median over runs is printed. "franz_timed" is the
//                  throughput of that timed run.
//   (append_single also reads its log back one record at a time:
//                  read(off, 1) per record, checksums verified, every byte
//                  summed — "read_single"; baseline: pread() of 100 B per
//                  record from the raw single-write file)
//   read_verify    read(off, 1 MiB) in a loop from offset 0, advancing to the
//                  last offset seen + 1; record_reader verifies checksums;
//                  every byte of every key and value is summed
//                  baseline: read() of the raw file into a 1 MiB buffer,
//                  every byte summed
//
// Method. Each workload runs --reps times (default 7), baseline and franz
// runs alternating (which one goes first alternates too), each in a fresh
// file or log directory under a temporary directory that is removed at
// exit. Figures are medians over the runs; every run is listed. Before each
// write run the page cache is warmed (see prewarm() in bench_util.hpp).
// read_verify reads the data of the last append_batch runs (made durable
// untimed first) through the writer's still-open log, as an in-process
// consumer would, after one untimed warm-up pass of each reader. Both read
// digests are checked against the expected sum of all payload bytes, and
// offsets must be dense from 0.
// "cpu=" is the share of a run's wall time the benchmark thread was on a
// CPU: well below 100% for a workload that does not wait on the disk means
// the machine was busy and the figure is pessimistic.
//
// Units. rec/s: records per second. MB/s: payload (100 B/record) per second,
// 1 MB = 1e6 B; franz also stores its framing (reported per workload as
// disk bytes/record). Output: one line per figure, fields key=value; --csv
// prints rows of workload,impl,metric,value,unit,target,verdict instead.
// Progress goes to stderr.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>


#include <franz/franz.hpp>

#include "bench_util.hpp"

namespace {

using namespace franz::bench;

constexpr std::size_t record_bytes = 100;
constexpr std::size_t key_bytes = 8;
constexpr std::size_t value_bytes = record_bytes - key_bytes;
constexpr std::size_t batch_records = 1000;
constexpr std::size_t read_max_bytes = 1 << 20;

// The targets printed next to the figures.
constexpr double target_append_ratio = 0.65;
constexpr double target_append_rps = 15e6;
constexpr double target_read_rps = 40e6;
constexpr double target_p50_ns = 60;
constexpr double target_p99_ns = 150;
constexpr double target_fsync_rps = 5e6;

// --- options ---------------------------------------------------------------------------

constexpr std::array<std::string_view, 5> workloads = {"append_batch", "append_fsync", "append_single",
                                                       "read_verify", "recover"};

struct options : common_options {  // and --only, --tmpdir, --csv, --quiet, --no-prewarm, --no-baseline
  std::uint64_t records = 10'000'000;
  std::uint64_t fsync_records = 200'000;
  std::uint64_t latency_appends = 1'000'000;
  int reps = 7;
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: log_bench [options]\n"
               "  --records N          records for append_batch and read_verify (default 10M)\n"
               "  --fsync-records N    records for append_fsync (default 200k)\n"
               "  --latency-appends N  single-record appends for append_single (default 1M)\n"
               "  --reps R             runs per workload; medians are reported (default 7)\n"
               "  --only LIST          comma-separated subset of append_batch,append_fsync,\n"
               "                       append_single,read_verify,recover (read_verify reads\n"
               "                       what append_batch wrote, so it runs append_batch too)\n"
               "  --tmpdir DIR         parent of the temporary directory (default /tmp)\n"
               "  --csv                CSV rows: workload,impl,metric,value,unit,target,verdict\n"
               "  --no-prewarm         do not warm the page cache before each run\n"
               "  --no-baseline        franz only, no raw-file runs (for profiling)\n"
               "  --quiet              no progress on stderr\n"
               "N takes k/M/G suffixes (10M) and exponents (1e7).\n");
}

std::uint64_t parse_count(const char* flag, const char* s) {
  return franz::bench::parse_count(flag, s, 1, "a positive count");
}

options parse_args(int argc, char** argv) {
  options o;
  // This program's own options; franz::bench::parse_args takes the common ones.
  auto own = [&](std::string_view a, const char* flag, const auto& value) {
    if (a == "--records") {
      o.records = parse_count(flag, value());
    } else if (a == "--fsync-records") {
      o.fsync_records = parse_count(flag, value());
    } else if (a == "--latency-appends") {
      o.latency_appends = parse_count(flag, value());
    } else if (a == "--reps") {
      o.reps = static_cast<int>(std::min<std::uint64_t>(parse_count(flag, value()), 1000));
    } else {
      return false;
    }
    return true;
  };
  franz::bench::parse_args(argc, argv, o, workloads, usage, own);
  return o;
}

// --- clocks ------------------------------------------------------------------------------

// Wall time of one run, and the CPU time of this thread during it.
using stopwatch = basic_stopwatch<CLOCK_THREAD_CPUTIME_ID>;

// Resident set size of this process, in bytes (VmRSS: anonymous memory and
// mapped file pages alike).
std::uint64_t rss_bytes() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  std::uint64_t kb = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmRSS: %" SCNu64 " kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb * 1024;
}

// --- payload ------------------------------------------------------------------------------

// 1000 records of 100 bytes, laid out exactly as the raw baseline writes
// them; the franz records view the same bytes. Keys are rewritten per batch.
struct payload {
  std::vector<char> buf = std::vector<char>(batch_records * record_bytes);
  std::array<franz::record, batch_records> recs{};
  std::array<std::uint64_t, batch_records> value_sum{};  // byte sum of each slot's value

  payload() {
    std::uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (std::size_t i = 0; i < batch_records; ++i) {
      char* rec = record_at(i);
      for (std::size_t j = 0; j < value_bytes; ++j) rec[key_bytes + j] = static_cast<char>(xorshift64s(x) >> 56);
      value_sum[i] = byte_sum(rec + key_bytes, value_bytes);
      recs[i].key = std::string_view(rec, key_bytes);
      recs[i].value = std::string_view(rec + key_bytes, value_bytes);
    }
  }
  char* record_at(std::size_t slot) noexcept { return buf.data() + slot * record_bytes; }
  void set_key(std::size_t slot, std::uint64_t index) noexcept { std::memcpy(record_at(slot), &index, 8); }
  // Keys of the records [first, first + n) into slots [0, n).
  void set_keys(std::uint64_t first, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) set_key(i, first + i);
  }
  // The digest a full read of records [0, n) must produce.
  [[nodiscard]] std::uint64_t expected_digest(std::uint64_t n) const noexcept {
    std::uint64_t s = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      for (int b = 0; b < 8; ++b) s += (i >> (8 * b)) & 0xff;
      s += value_sum[i % batch_records];
    }
    return s;
  }
};

// --- raw file baselines ----------------------------------------------------------------------

void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fdatasync(fd) != 0) die("fdatasync %s: %s", path.c_str(), std::strerror(errno));
  ::close(fd);
}

// write() of 1000 records (100 KB) per call, optionally fdatasync per call.
timing raw_write_batches(const std::string& path, std::uint64_t n, bool sync, payload& pl) {
  const int fd = create_file(path);
  const stopwatch sw;
  for (std::uint64_t done = 0; done < n;) {
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(batch_records, n - done));
    pl.set_keys(done, k);
    write_all(fd, pl.buf.data(), k * record_bytes);
    if (sync && ::fdatasync(fd) != 0) die("fdatasync: %s", std::strerror(errno));
    done += k;
  }
  const timing t = sw.stop();
  ::close(fd);
  return t;
}

// write() of one 100-byte record per call.
timing raw_write_single(const std::string& path, std::uint64_t n, payload& pl) {
  const int fd = create_file(path);
  const stopwatch sw;
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::size_t slot = i % batch_records;
    pl.set_key(slot, i);
    write_all(fd, pl.record_at(slot), record_bytes);
  }
  const timing t = sw.stop();
  ::close(fd);
  return t;
}

struct read_stats {
  timing time;
  std::uint64_t records = 0;
  std::uint64_t digest = 0;
};

read_stats raw_read(const std::string& path) {
  const file_read r = read_file_summed<stopwatch>(path);
  return {r.time, r.bytes / record_bytes, r.digest};
}

// --- franz ----------------------------------------------------------------------------------

std::unique_ptr<franz::log> open_log(const std::string& dir) {
  franz::log_options o;  // defaults: segment.bytes 1 GiB, no flush.messages / flush.ms
  auto l = franz::log::open(dir, o);
  check(l, "log::open");
  return std::move(*l);
}

// Closes a throwaway log without fsyncing what it holds (see discard()).
void discard_log(std::unique_ptr<franz::log>& log) {
  if (log) discard(log, log->dir(), "log::close");
}

void check_end(const franz::log& log, std::uint64_t n) {
  if (log.log_end_offset().value() != static_cast<std::int64_t>(n))
    die("append: log end offset %" PRId64 " after %" PRIu64 " records", log.log_end_offset().value(), n);
}

// append(span) of 1000 records per call, optionally flush() after each.
timing franz_append_batches(franz::log& log, std::uint64_t n, bool flush, payload& pl) {
  const stopwatch sw;
  for (std::uint64_t done = 0; done < n;) {
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(batch_records, n - done));
    pl.set_keys(done, k);
    auto r = log.append(std::span<const franz::record>(pl.recs.data(), k));
    if (!r) die("append: %s", r.error().to_string().c_str());
    if (flush) check(log.flush(), "flush");
    done += k;
  }
  const timing t = sw.stop();
  check_end(log, n);
  if (flush && log.durable_offset() != log.log_end_offset()) die("flush: the durable offset is behind the log end");
  return t;
}

// append(const record&) n times. With samples, every call is timed (ticks).
timing franz_append_single(franz::log& log, std::uint64_t n, payload& pl, std::vector<std::uint32_t>* samples) {
  const stopwatch sw;
  if (samples == nullptr) {
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::size_t slot = i % batch_records;
      pl.set_key(slot, i);
      auto r = log.append(pl.recs[slot]);
      if (!r) die("append: %s", r.error().to_string().c_str());
    }
  } else {
    std::uint32_t* out = samples->data();
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::size_t slot = i % batch_records;
      pl.set_key(slot, i);
      const std::uint64_t a = ticks();
      auto r = log.append(pl.recs[slot]);
      const std::uint64_t b = ticks();
      if (!r) die("append: %s", r.error().to_string().c_str());
      out[i] = static_cast<std::uint32_t>(std::min<std::uint64_t>(b - a, UINT32_MAX));
    }
  }
  const timing t = sw.stop();
  check_end(log, n);
  return t;
}

// Reads the whole log: read(off, 1 MiB) from 0, checksums verified, every
// key and value byte summed, offsets checked to be dense.
read_stats franz_read(const franz::log& log) {
  read_stats st;
  const std::int64_t end = log.log_end_offset().value();
  std::int64_t next = 0;
  const stopwatch sw;
  while (next < end) {
    auto rd = log.read(franz::offset{next}, read_max_bytes);
    if (!rd) die("read at %" PRId64 ": %s", next, rd.error().to_string().c_str());
    if (rd->empty()) die("read at %" PRId64 ": empty before the log end %" PRId64, next, end);
    auto records = rd->records(/*verify_checksums=*/true);
    franz::record_view r;
    while (records.next(r)) {
      if (r.off.value() != next) die("read: offset %" PRId64 " where %" PRId64 " was expected", r.off.value(), next);
      st.digest += byte_sum(r.key.data(), r.key.size()) + byte_sum(r.value.data(), r.value.size());
      ++next;  // continue from the last offset seen + 1
    }
    check(records.status(), "record_reader");
  }
  st.time = sw.stop();
  st.records = static_cast<std::uint64_t>(next);
  return st;
}

// Reads the log one record per read() call: read(off, 1) returns the one
// batch holding off (KIP-74: at least one batch), checksum verified.
read_stats franz_read_single(const franz::log& log) {
  read_stats st;
  const std::int64_t end = log.log_end_offset().value();
  const stopwatch sw;
  for (std::int64_t off = 0; off < end; ++off) {
    auto rd = log.read(franz::offset{off}, 1);
    if (!rd) die("read at %" PRId64 ": %s", off, rd.error().to_string().c_str());
    auto records = rd->records(/*verify_checksums=*/true);
    franz::record_view r;
    if (!records.next(r) || r.off.value() != off) die("read_single: no record at %" PRId64, off);
    st.digest += byte_sum(r.key.data(), r.key.size()) + byte_sum(r.value.data(), r.value.size());
  }
  st.time = sw.stop();
  st.records = static_cast<std::uint64_t>(end);
  return st;
}

// pread() of one 100-byte record per call.
read_stats raw_read_single(const std::string& path, std::uint64_t n) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path.c_str(), std::strerror(errno));
  char buf[record_bytes];
  read_stats st;
  const stopwatch sw;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (::pread(fd, buf, record_bytes, static_cast<off_t>(i * record_bytes)) != static_cast<ssize_t>(record_bytes))
      die("pread: %s", std::strerror(errno));
    st.digest += byte_sum(buf, record_bytes);
  }
  st.time = sw.stop();
  ::close(fd);
  st.records = n;
  return st;
}

// --- output ----------------------------------------------------------------------------------

// Text labels 14 wide; info() values with 2 decimals in CSV.
struct output : table_output {
  // One throughput figure: the median records/s over the runs, payload MB/s,
  // the ratio to each baseline given (name, baseline records/s), the target
  // and the verdict.
  void throughput(const char* workload, const char* impl, const std::vector<timing>& runs, std::uint64_t n,
                  const std::vector<std::pair<const char*, std::optional<double>>>& ratios = {},
                  const char* target = nullptr, std::optional<bool> pass = std::nullopt) const {
    const run_rates rr = rates_of(runs, n);
    const double r = rr.median_rps;
    const double mbs = r * record_bytes / 1e6;
    if (csv) {
      csv_rates(workload, impl, r, mbs, quoted(target), pass);
      for (const auto& [name, base] : ratios)
        if (base) std::printf("%s,%s,%s,%.3f,x,,\n", workload, impl, name, r / *base);
      std::printf("%s,%s,oncpu,%.0f,%%,,\n", workload, impl, rr.median_oncpu);
      csv_runs(workload, impl, rr.rps);
      return;
    }
    std::string rat;
    for (const auto& [name, base] : ratios)
      if (base) rat += fmt::format("{}{}={:.2f}", rat.empty() ? "" : " ", name, r / *base);
    std::printf("%-14s %-14s rec/s=%7.2fM  MB/s=%7.1f  cpu=%3.0f%%  %-21s %-32s %-4s runs(Mrec/s)=%s\n", workload,
                impl, r / 1e6, mbs, rr.median_oncpu, rat.c_str(), target_text(target).c_str(), verdict(pass),
                run_list(rr.rps, 1e6, 2).c_str());
  }

  // One latency figure (ns, timer overhead subtracted), median over runs.
  void latency(const char* workload, const char* metric, const std::vector<double>& runs, double overhead_ns,
               const char* target, std::optional<bool> pass) const {
    const double ns = median(runs);
    if (csv) {
      std::printf("%s,franz,%s,%.1f,ns,%s,%s\n", workload, metric, ns, quoted(target).c_str(), verdict(pass));
      return;
    }
    std::printf("%-14s %-14s %-6s=%8.1f ns (incl. timer %8.1f)  %-35s %-4s runs(ns)=%s\n", workload, "franz", metric,
                ns, ns + overhead_ns, target_text(target).c_str(), verdict(pass), run_list(runs, 1, 0).c_str());
  }
};

}  // namespace

int main(int argc, char** argv) {
  g_prog = "log_bench";
  const options opt = parse_args(argc, argv);
  g_quiet = opt.quiet;
  const output out{{opt.csv, 14, 2}};
  check_byte_sum();
  make_temp_dir(opt.tmpdir, "franz-bench");

  const std::string load = load_average();
  progress("calibrating the timer");
  const timer_info tm = calibrate_timer();
  const machine_cpu cpu0 = sample_machine_cpu();
  const unsigned ncpu = cpu_count();

  const int reps = std::max(1, opt.reps);
  out.header();
  out.meta("machine", machine_description(ncpu, load));
  out.meta("sizes", fmt::format("records={} fsync_records={} latency_appends={} reps={}", opt.records,
                                opt.fsync_records, opt.latency_appends, reps));
  out.meta("record", fmt::format("{} B payload = {} B key + {} B value, no headers/timestamp/compression; "
                                 "batch = {} records; segment.bytes = 1 GiB",
                                 record_bytes, key_bytes, value_bytes, batch_records));
  out.meta("method", fmt::format("median of {} runs; raw and franz runs alternate; page cache {}; MB = 1e6 B "
                                 "of payload; cpu = on-CPU share of wall time",
                                 reps, opt.prewarm ? "prewarmed before each write run" : "not prewarmed"));
  out.meta("timer", fmt::format("{}: {:.3f} ticks/ns, resolution ~{:.0f} ns, overhead {:.1f} ns per timed call "
                                "(subtracted from latencies)",
                                tm.name, tm.ticks_per_ns, tm.resolution_ns, tm.overhead_ns));
  out.meta("dir", g_tmp);
  std::fflush(stdout);

  payload pl;

  // 1. append_batch. The last run's data is kept for read_verify.
  std::unique_ptr<franz::log> read_log;
  std::string read_raw_path;
  if (opt.wants("append_batch") || opt.wants("read_verify")) {
    const std::uint64_t n = opt.records;
    std::vector<timing> raw_t, franz_t;
    double disk_bytes_per_record = 0;
    for (int rep = 0; rep < reps; ++rep) {
      const bool last = rep + 1 == reps;
      progress("append_batch run %d/%d (%" PRIu64 " records)", rep + 1, reps, n);
      run_pair(
          opt, rep,
          [&] {
            const std::string path = fresh("raw") + ".dat";
            prewarm(opt, footprint(n, 110));
            raw_t.push_back(raw_write_batches(path, n, false, pl));
            if (!last) {
              ::unlink(path.c_str());
              return;
            }
            sync_file(path);  // untimed: no writeback of it during later runs
            read_raw_path = path;
          },
          [&] {
            auto log = open_log(fresh("franz"));
            prewarm(opt, footprint(n, 120));
            franz_t.push_back(franz_append_batches(*log, n, false, pl));
            disk_bytes_per_record = static_cast<double>(log->size_bytes()) / static_cast<double>(n);
            if (!last) {
              discard_log(log);
              return;
            }
            check(log->flush(), "flush");  // untimed, as above
            read_log = std::move(log);
          });
    }
    if (opt.wants("append_batch")) {
      const auto raw = baseline_rps(raw_t, n);
      const double f = median_rps(franz_t, n);
      if (raw) out.throughput("append_batch", "raw_write", raw_t, n);
      out.throughput("append_batch", "franz", franz_t, n, {{"ratio", raw}}, ">=0.65x raw, >=15M rec/s",
                     f >= target_append_rps && (!raw || f >= target_append_ratio * *raw));
      out.info("append_batch", "franz", "disk_bytes_per_record", disk_bytes_per_record, "B",
               fmt::format("franz stores {:.1f} B/record on disk in 1000-record batches", disk_bytes_per_record));
      std::fflush(stdout);
    }
  }

  // 4. read_verify, over the last append_batch runs' data.
  if (opt.wants("read_verify")) {
    const std::uint64_t n = opt.records;
    const std::uint64_t expect = pl.expected_digest(n);
    auto raw_pass = [&] {
      const read_stats s = raw_read(read_raw_path);
      if (s.records != n || s.digest != expect)
        die("raw read: %" PRIu64 " records, digest %" PRIu64 " (expected %" PRIu64 ", %" PRIu64 ")", s.records,
            s.digest, n, expect);
      return s.time;
    };
    auto franz_pass = [&] {
      const read_stats s = franz_read(*read_log);
      if (s.records != n || s.digest != expect)
        die("franz read: %" PRIu64 " records, digest %" PRIu64 " (expected %" PRIu64 ", %" PRIu64 ")", s.records,
            s.digest, n, expect);
      return s.time;
    };
    progress("read_verify warm-up pass (untimed)");
    run_pair(opt, 0, [&] { (void)raw_pass(); }, [&] { (void)franz_pass(); });
    std::vector<timing> raw_t, franz_t;
    for (int rep = 0; rep < reps; ++rep) {
      progress("read_verify run %d/%d", rep + 1, reps);
      run_pair(opt, rep, [&] { raw_t.push_back(raw_pass()); }, [&] { franz_t.push_back(franz_pass()); });
    }
    const auto raw = baseline_rps(raw_t, n);
    const double f = median_rps(franz_t, n);
    if (raw) out.throughput("read_verify", "raw_read", raw_t, n);
    out.throughput("read_verify", "franz", franz_t, n, {{"ratio", raw}}, ">=40M rec/s", f >= target_read_rps);
    const double rss_mib = static_cast<double>(rss_bytes()) / (1 << 20);
    out.info("read_verify", "franz", "rss_mib", rss_mib, "MiB",
             fmt::format("RSS after writing and reading {:.2f} GB through one open log: {:.0f} MiB "
                         "(target: flat, <= 64 MiB)",
                         static_cast<double>(read_log->size_bytes()) / 1e9, rss_mib));
    std::fflush(stdout);
  }
  discard_log(read_log);
  if (!read_raw_path.empty()) ::unlink(read_raw_path.c_str());

  // 2. append_fsync.
  if (opt.wants("append_fsync")) {
    const std::uint64_t n = opt.fsync_records;
    std::vector<timing> raw_t, franz_t;
    for (int rep = 0; rep < reps; ++rep) {
      progress("append_fsync run %d/%d (%" PRIu64 " records)", rep + 1, reps, n);
      run_pair(
          opt, rep,
          [&] {
            const std::string path = fresh("rawsync") + ".dat";
            prewarm(opt, footprint(n, 110));
            raw_t.push_back(raw_write_batches(path, n, true, pl));
            ::unlink(path.c_str());
          },
          [&] {
            auto log = open_log(fresh("franzsync"));
            prewarm(opt, footprint(n, 120));
            franz_t.push_back(franz_append_batches(*log, n, true, pl));
            discard_log(log);
          });
    }
    const auto raw = baseline_rps(raw_t, n);
    const double f = median_rps(franz_t, n);
    if (raw) out.throughput("append_fsync", "raw_write+fds", raw_t, n);
    out.throughput("append_fsync", "franz", franz_t, n, {{"ratio", raw}}, ">=5M rec/s", f >= target_fsync_rps);
    if (raw) {
      const double per_batch_us = 1e6 * static_cast<double>(batch_records) / *raw;
      out.info("append_fsync", "raw_write+fds", "us_per_batch", per_batch_us,
               "us", fmt::format("raw write()+fdatasync() of 100 KB takes {:.0f} us here (5M rec/s needs <= 200 us)",
                                 per_batch_us));
    }
    std::fflush(stdout);
  }

  // 3. append_single: throughput (untimed loop) and latency (every call timed).
  if (opt.wants("append_single")) {
    const std::uint64_t n = opt.latency_appends;
    std::vector<timing> rawb_t, raw1_t, franz_t, timed_t, rawr1_t, franzr1_t;
    const std::uint64_t expect_single = pl.expected_digest(n);
    std::vector<double> p50, p99, p999, p9999, pmax, mean;
    std::vector<std::uint32_t> samples(n);  // allocated and touched before any timing
    double disk_bytes_per_record = 0;
    for (int rep = 0; rep < reps; ++rep) {
      progress("append_single run %d/%d (%" PRIu64 " appends, then %" PRIu64 " timed)", rep + 1, reps, n, n);
      run_pair(
          opt, rep,
          [&] {
            const std::string path = fresh("raw1") + ".dat";
            prewarm(opt, footprint(n, 110));
            rawb_t.push_back(raw_write_batches(path, n, false, pl));
            ::unlink(path.c_str());
            prewarm(opt, footprint(n, 110));
            raw1_t.push_back(raw_write_single(path, n, pl));
            const read_stats rs = raw_read_single(path, n);
            if (rs.digest != expect_single) die("raw read_single: digest mismatch");
            rawr1_t.push_back(rs.time);
            ::unlink(path.c_str());
          },
          [&] {
            auto log = open_log(fresh("franz1"));
            prewarm(opt, footprint(n, 200));
            franz_t.push_back(franz_append_single(*log, n, pl, nullptr));
            disk_bytes_per_record = static_cast<double>(log->size_bytes()) / static_cast<double>(n);
            const read_stats rs = franz_read_single(*log);
            if (rs.records != n || rs.digest != expect_single) die("franz read_single: digest mismatch");
            franzr1_t.push_back(rs.time);
            discard_log(log);
          });
      auto log = open_log(fresh("franzlat"));
      prewarm(opt, footprint(n, 200));
      timed_t.push_back(franz_append_single(*log, n, pl, &samples));
      discard_log(log);
      std::sort(samples.begin(), samples.end());
      auto at = [&](double q) {  // nearest-rank percentile, ns, timer overhead subtracted
        return std::max(0.0, percentile(samples, q) / tm.ticks_per_ns - tm.overhead_ns);
      };
      double sum = 0;
      for (auto s : samples) sum += s;
      p50.push_back(at(0.50));
      p99.push_back(at(0.99));
      p999.push_back(at(0.999));
      p9999.push_back(at(0.9999));
      pmax.push_back(at(1.0));
      mean.push_back(std::max(0.0, sum / static_cast<double>(n) / tm.ticks_per_ns - tm.overhead_ns));
    }
    const auto rawb = baseline_rps(rawb_t, n);
    const auto raw1 = baseline_rps(raw1_t, n);
    if (rawb) {
      out.throughput("append_single", "raw_write", rawb_t, n);
      out.throughput("append_single", "raw_write_1rec", raw1_t, n);
    }
    out.throughput("append_single", "franz", franz_t, n, {{"ratio", rawb}, {"ratio_1rec", raw1}});
    out.throughput("append_single", "franz_timed", timed_t, n);
    out.latency("append_single", "p50", p50, tm.overhead_ns, "<=60 ns", median(p50) <= target_p50_ns);
    out.latency("append_single", "p99", p99, tm.overhead_ns, "<=150 ns", median(p99) <= target_p99_ns);
    out.latency("append_single", "p99.9", p999, tm.overhead_ns, nullptr, std::nullopt);
    out.latency("append_single", "p99.99", p9999, tm.overhead_ns, nullptr, std::nullopt);
    out.latency("append_single", "max", pmax, tm.overhead_ns, nullptr, std::nullopt);
    out.latency("append_single", "mean", mean, tm.overhead_ns, nullptr, std::nullopt);
    const auto rawr1 = baseline_rps(rawr1_t, n);
    if (rawr1) out.throughput("read_single", "raw_pread_1rec", rawr1_t, n);
    out.throughput("read_single", "franz", franzr1_t, n, {{"ratio_1rec", rawr1}});
    out.info("append_single", "franz", "disk_bytes_per_record", disk_bytes_per_record, "B",
             fmt::format("franz stores {:.1f} B/record on disk in single-record batches", disk_bytes_per_record));
    std::fflush(stdout);
  }

  // 5. recover: reopen after kill -9. A forked child appends --records
  // records in batches (never flushed) and SIGKILLs itself; the parent
  // times log::open, which validates every batch past the recovery point
  // (all of them here) and rebuilds the indexes. The page cache survives a
  // kill -9, so this is the CPU cost of recovery, not disk reads.
  if (opt.wants("recover")) {
    const std::uint64_t n = opt.records;
    std::vector<double> secs;
    double bytes = 0;
    for (int rep = 0; rep < reps; ++rep) {
      progress("recover run %d/%d (%" PRIu64 " records)", rep + 1, reps, n);
      const std::string dir = fresh("franzkill");
      std::fflush(nullptr);
      const pid_t pid = ::fork();
      if (pid < 0) die("fork: %s", std::strerror(errno));
      if (pid == 0) {
        auto log = open_log(dir);
        (void)franz_append_batches(*log, n, false, pl);
        ::kill(::getpid(), SIGKILL);
        ::_exit(1);
      }
      int status = 0;
      if (::waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status)) die("recover: the writer did not die by SIGKILL");
      const stopwatch sw;
      auto l = franz::log::open(dir, franz::log_options{});
      const timing t = sw.stop();
      check(l, "recover: log::open");
      if ((*l)->log_end_offset().value() != static_cast<std::int64_t>(n))
        die("recover: log end %" PRId64 " after reopen, expected %" PRIu64, (*l)->log_end_offset().value(), n);
      if ((*l)->recovery().segments_validated == 0) die("recover: nothing was validated");
      bytes = static_cast<double>((*l)->size_bytes());
      secs.push_back(t.wall);
      discard_log(*l);
    }
    const double med = median(secs);
    const double per_gib = med / (bytes / static_cast<double>(1ull << 30));
    out.info("recover", "franz", "open_s_per_gib", per_gib, "s",
             fmt::format("reopen after kill -9: {:.3f} s for {:.2f} GB ({:.3f} s per GiB, {:.1f} GB/s validated; "
                         "target <= 0.5 s per GiB: {}) runs(s)={:.3f}",
                         med, bytes / 1e9, per_gib, bytes / 1e9 / med, per_gib <= 0.5 ? "PASS" : "MISS",
                         fmt::join(secs, ",")));
    std::fflush(stdout);
  }

  // How busy the machine was besides this benchmark.
  out.contention(cpu0, ncpu);
  cleanup();
  return 0;
}
