// Helpers shared by franz's benchmarks (log_bench, messaging_bench), each a
// single translation unit that includes this header: the program's name,
// temporary directory, failure and progress messages; parsing of the common
// command-line options and of counts; wall and CPU clocks and per-run
// timings; how busy the machine is; byte sums and the xorshift generator of
// the payloads; the raw-file I/O of the baselines; the page-cache warm-up;
// throwaway logs and brokers; medians and percentiles; and the parts of the
// text/CSV output that both benchmarks print alike.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdarg>
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
#include <vector>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define BENCH_X86 1
#endif

#include <fmt/format.h>

namespace franz::bench {

// --- the program, its temporary directory, failure, progress ----------------------------

inline const char* g_prog = "bench";  // set first thing in main(): prefixes every message
inline std::string g_tmp;             // removed at exit, also after a failure
inline bool g_quiet = false;          // no progress()

inline void cleanup() {
  if (g_tmp.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(g_tmp, ec);
  g_tmp.clear();
}

// Prints "<prog>: <message>", removes the temporary directory and exits 1.
// std::_Exit: other threads may still run, so no static destructors (stdout
// is flushed first, and cleanup() has run).
[[noreturn]] inline __attribute__((format(printf, 1, 2))) void die(const char* fmt, ...) {
  std::fflush(stdout);
  std::fprintf(stderr, "%s: ", g_prog);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "\n");
  cleanup();
  std::_Exit(1);
}

template <class R>
void check(const R& r, const char* what) {
  if (!r.ok()) die("%s: %s", what, r.error().to_string().c_str());
}

inline __attribute__((format(printf, 1, 2))) void progress(const char* fmt, ...) {
  if (g_quiet) return;
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "[%s] ", g_prog);
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, "\n");
  va_end(ap);
}

// Makes the temporary directory <parent>/<prefix>-XXXXXX (g_tmp), removed at exit.
inline void make_temp_dir(const std::string& parent, const char* prefix) {
  std::string tmpl = parent + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) die("mkdtemp %s: %s", tmpl.c_str(), std::strerror(errno));
  g_tmp = tmpl;
  std::atexit(cleanup);
}

// A new path under the temporary directory: <tmp>/<what>-<sequence number>.
inline std::string fresh(const char* what) {
  static int seq = 0;
  return fmt::format("{}/{}-{}", g_tmp, what, seq++);
}

// --- options -----------------------------------------------------------------------------

// The options both benchmarks take; each program's options derive from it.
struct common_options {
  std::string tmpdir = "/tmp";
  std::vector<std::string_view> only;  // empty: all workloads
  bool csv = false;
  bool quiet = false;
  bool prewarm = true;
  bool baselines = true;

  [[nodiscard]] bool wants(std::string_view w) const {
    return only.empty() || std::find(only.begin(), only.end(), w) != only.end();
  }
};

// A count from the command line: a number >= min and <= 1e12, with an
// optional k/M/G suffix (10M) or an exponent (1e7). Anything else prints
// "<prog>: <flag> needs <need>, got '<s>'" and exits 2.
inline std::uint64_t parse_count(const char* flag, const char* s, double min, const std::string& need) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s, &end);
  if (end != s && *end != '\0' && end[1] == '\0') {
    switch (*end) {
      case 'k': case 'K': v *= 1e3; ++end; break;
      case 'm': case 'M': v *= 1e6; ++end; break;
      case 'g': case 'G': v *= 1e9; ++end; break;
      default: break;
    }
  }
  if (end == s || *end != '\0' || errno != 0 || !(v >= min) || v > 1e12) {
    std::fprintf(stderr, "%s: %s needs %s, got '%s'\n", g_prog, flag, need.c_str(), s);
    std::exit(2);
  }
  return static_cast<std::uint64_t>(std::llround(v));
}

// The same, needing "a count >= min".
inline std::uint64_t parse_count(const char* flag, const char* s, double min = 1) {
  return parse_count(flag, s, min, fmt::format("a count >= {:.0f}", min));
}

// Parses the command line into o. Each argument goes first to
// own(arg, flag, value), which sets the program's own options and returns
// false for an argument it does not know; value() is the option's argument
// (exiting with a message if there is none). Then the common options:
// --only (a comma-separated subset of workloads), --tmpdir, --csv, --quiet,
// --no-prewarm, --no-baseline and --help/-h. Anything else prints usage to
// stderr and exits 2.
template <class Own>
void parse_args(int argc, char** argv, common_options& o, std::span<const std::string_view> workloads,
                void (*usage)(FILE*), Own own) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const char* const flag = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s: %s needs a value\n", g_prog, flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (own(a, flag, value)) {
      continue;
    } else if (a == "--only") {
      for (std::string_view rest = value(); !rest.empty();) {
        const auto comma = rest.find(',');
        const auto w = rest.substr(0, comma);
        const auto it = std::find(workloads.begin(), workloads.end(), w);
        if (it == workloads.end()) {
          std::fprintf(stderr, "%s: unknown workload '%.*s' in --only\n", g_prog, static_cast<int>(w.size()),
                       w.data());
          std::exit(2);
        }
        o.only.push_back(*it);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (a == "--tmpdir") {
      o.tmpdir = value();
    } else if (a == "--csv") {
      o.csv = true;
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (a == "--no-prewarm") {
      o.prewarm = false;
    } else if (a == "--no-baseline") {
      o.baselines = false;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "%s: unknown option '%s'\n", g_prog, argv[i]);
      usage(stderr);
      std::exit(2);
    }
  }
}

// Runs one repetition's baseline and franz halves, alternating which goes
// first so that drift on the machine hits both alike; franz alone with
// --no-baseline.
template <class Raw, class Franz>
void run_pair(const common_options& o, int rep, const Raw& raw, const Franz& franz_run) {
  if (!o.baselines) {
    franz_run();
  } else if (rep % 2 == 0) {
    raw();
    franz_run();
  } else {
    franz_run();
    raw();
  }
}

// --- clocks ------------------------------------------------------------------------------

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time of clock (CLOCK_THREAD_CPUTIME_ID, CLOCK_PROCESS_CPUTIME_ID), in s.
inline double cpu_s(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Wall time of one run, and the CPU time during it.
struct timing {
  double wall = 0;
  double cpu = 0;
};

// Times a run: wall time and the CPU time of CpuClock.
template <clockid_t CpuClock>
class basic_stopwatch {
 public:
  basic_stopwatch() : wall0_(now_s()), cpu0_(cpu_s(CpuClock)) {}
  [[nodiscard]] timing stop() const { return {now_s() - wall0_, cpu_s(CpuClock) - cpu0_}; }

 private:
  double wall0_, cpu0_;
};

// Per-call latency clock: rdtsc fenced on both sides (the first lfence waits
// for the timed call to retire, the second keeps later work from starting
// early), calibrated against steady_clock. Elsewhere: steady_clock in ns.
inline std::uint64_t ticks() noexcept {
#ifdef BENCH_X86
  _mm_lfence();
  const std::uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
#else
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
#endif
}

struct timer_info {
  const char* name;
  double ticks_per_ns;
  double overhead_ns;    // median cost of one timed empty call (back-to-back ticks())
  double resolution_ns;  // median non-zero step between consecutive readings
};

inline timer_info calibrate_timer() {
  timer_info t{};
#ifdef BENCH_X86
  t.name = "rdtsc+lfence";
  const double s0 = now_s();
  const std::uint64_t c0 = ticks();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::uint64_t c1 = ticks();
  const double s1 = now_s();
  t.ticks_per_ns = static_cast<double>(c1 - c0) / ((s1 - s0) * 1e9);
#else
  t.name = "steady_clock";
  t.ticks_per_ns = 1.0;
#endif
  std::vector<std::uint64_t> pair(100'000), step;
  for (auto& x : pair) {
    const std::uint64_t a = ticks();
    const std::uint64_t b = ticks();
    x = b - a;
    if (b > a) step.push_back(b - a);
  }
  auto med = [](std::vector<std::uint64_t>& v) {
    if (v.empty()) return 0.0;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return static_cast<double>(v[v.size() / 2]);
  };
  t.overhead_ns = med(pair) / t.ticks_per_ns;
  step.clear();
  for (int i = 0; i < 100'000; ++i) {
#ifdef BENCH_X86
    const std::uint64_t a = __rdtsc(), b = __rdtsc();
#else
    const std::uint64_t a = ticks(), b = ticks();
#endif
    if (b > a) step.push_back(b - a);
  }
  t.resolution_ns = med(step) / t.ticks_per_ns;
  return t;
}

// CLOCK_MONOTONIC in ns (vDSO): timestamps comparable across threads.
inline std::uint64_t mono_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// The spin-wait hint (pause), where there is one.
inline void cpu_relax() noexcept {
#ifdef BENCH_X86
  _mm_pause();
#endif
}

// --- the machine -------------------------------------------------------------------------

inline unsigned cpu_count() { return std::max(1u, std::thread::hardware_concurrency()); }

// CPU time used on the whole machine (all CPUs, from /proc/stat), to tell
// how busy the machine was besides this benchmark.
struct machine_cpu {
  double busy_s = 0;   // user + nice + system + irq + softirq
  double steal_s = 0;  // taken by the hypervisor
  double self_s = 0;   // this process (getrusage)
  double wall_s = 0;
};

inline machine_cpu sample_machine_cpu() {
  machine_cpu m;
  m.wall_s = now_s();
  if (FILE* f = std::fopen("/proc/stat", "r")) {
    unsigned long long v[8] = {};
    if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                    &v[6], &v[7]) == 8) {
      const auto hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
      m.busy_s = static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
      m.steal_s = static_cast<double>(v[7]) / hz;
    }
    std::fclose(f);
  }
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  m.self_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  return m;
}

inline std::string load_average() {
  char buf[64] = {};
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fgets(buf, sizeof buf, f) == nullptr) buf[0] = '\0';
    std::fclose(f);
  }
  std::string s(buf);
  // The first three fields: 1, 5 and 15 minute averages.
  std::size_t pos = 0;
  for (int i = 0; i < 3 && pos != std::string::npos; ++i) pos = s.find(' ', pos + 1);
  return s.substr(0, pos);
}

// "<os> <arch> <release>, <ncpu> cpus, load average <load> at start".
inline std::string machine_description(unsigned ncpu, const std::string& load) {
  utsname un{};
  (void)::uname(&un);
  return fmt::format("{} {} {}, {} cpus, load average {} at start", un.sysname, un.machine, un.release, ncpu, load);
}

// --- payload -----------------------------------------------------------------------------

// One step of xorshift64*: advances x, returns the next pseudo-random value.
inline std::uint64_t xorshift64s(std::uint64_t& x) noexcept {
  x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
  return x * 0x2545F4914F6CDD1DULL;
}

// Sum of all bytes: touches each byte once and is position-independent, so
// the digest of a record stream equals the digest of the raw file's bytes.
inline std::uint64_t byte_sum(const char* p, std::size_t n) noexcept {
  std::uint64_t s = 0;
#ifdef __SSE2__
  const char* const end = p + n;
  const __m128i zero = _mm_setzero_si128();
  __m128i acc = zero;
  for (; end - p >= 16; p += 16)
    acc = _mm_add_epi64(acc, _mm_sad_epu8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), zero));
  const auto tail = static_cast<std::size_t>(end - p);
  if (tail >= 8) {
    std::uint64_t a, b = 0;
    std::memcpy(&a, p, 8);
    if (tail > 8) {
      std::memcpy(&b, end - 8, 8);
      b >>= 8 * (16 - tail);  // drop the bytes already counted in a
    }
    acc = _mm_add_epi64(acc, _mm_sad_epu8(_mm_set_epi64x(static_cast<long long>(b), static_cast<long long>(a)), zero));
  } else {
    for (; p < end; ++p) s += static_cast<unsigned char>(*p);
  }
  s += static_cast<std::uint64_t>(_mm_cvtsi128_si64(acc)) +
       static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(acc, acc)));
#else
  for (std::size_t i = 0; i < n; ++i) s += static_cast<unsigned char>(p[i]);
#endif
  return s;
}

// Checks byte_sum's vector paths against the plain loop.
inline void check_byte_sum() {
  std::vector<char> b(300);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>(i * 131 + 7);
  for (std::size_t off = 0; off < 16; ++off)
    for (std::size_t n = 0; n + off <= b.size(); ++n) {
      std::uint64_t s = 0;
      for (std::size_t i = 0; i < n; ++i) s += static_cast<unsigned char>(b[off + i]);
      if (byte_sum(b.data() + off, n) != s) die("byte_sum self-check failed (off %zu, n %zu)", off, n);
    }
}

// --- raw file baselines ------------------------------------------------------------------

inline void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write: %s", std::strerror(errno));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

inline int create_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) die("open %s: %s", path.c_str(), std::strerror(errno));
  return fd;
}

struct file_read {
  timing time;
  std::uint64_t bytes = 0;
  std::uint64_t digest = 0;  // byte_sum of the whole file
};

constexpr std::size_t read_chunk_bytes = 1 << 20;

// read() of the whole file in 1 MiB chunks, every byte summed; timed with Stopwatch.
template <class Stopwatch>
file_read read_file_summed(const std::string& path) {
  static std::vector<char> buf(read_chunk_bytes);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path.c_str(), std::strerror(errno));
  file_read st;
  const Stopwatch sw;
  while (true) {
    const ssize_t r = ::read(fd, buf.data(), buf.size());
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read: %s", std::strerror(errno));
    }
    if (r == 0) break;
    st.digest += byte_sum(buf.data(), static_cast<std::size_t>(r));
    st.bytes += static_cast<std::uint64_t>(r);
  }
  st.time = sw.stop();
  ::close(fd);
  return st;
}

// --- page cache warm-up ------------------------------------------------------------------

// On a VM whose balloon reports free pages to the host (virtio_balloon with
// free page reporting, as on the Firecracker guest this was written on),
// the first touch of memory the guest freed more than ~2 s earlier takes a
// host page fault: ~3 us per 4 KiB, ~1 s per 300 MB. Whichever run
// allocates its page cache from such memory pays for it, and identical runs
// differed 2-5x. So before every measured write run, baseline and franz
// alike, we write `bytes` to a scratch file and unlink it: the run that
// follows gets its page cache from those just-freed, host-backed folios.
// (Touching anonymous memory did not help: the page cache takes folios of
// other orders.) mapped: then the same again through a shared mapping, one
// store per page, for systems that get their page cache from mmap write
// faults (Chronicle Queue's produce was bimodal, ~5M or ~20M rec/s, with
// the write() half alone; the peer benchmarks give every system both).
// Untimed; nothing with --no-prewarm.
inline void prewarm(const common_options& o, std::uint64_t bytes, bool mapped = false) {
  if (!o.prewarm) return;
  static const std::vector<char> chunk(1 << 20, 'w');
  const std::string path = g_tmp + "/prewarm.tmp";
  int fd = create_file(path);
  for (std::uint64_t done = 0; done < bytes; done += chunk.size()) write_all(fd, chunk.data(), chunk.size());
  ::close(fd);
  ::unlink(path.c_str());
  if (!mapped) return;
  fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(bytes)) != 0) die("prewarm %s: %s", path.c_str(), std::strerror(errno));
  void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) die("prewarm mmap: %s", std::strerror(errno));
  for (std::uint64_t i = 0; i < bytes; i += 4096) static_cast<volatile char*>(m)[i] = 'w';
  ::munmap(m, bytes);
  ::close(fd);
  ::unlink(path.c_str());
}

// Page cache a write run of n records can allocate, with slack for franz's
// framing, its fallocate-ahead (up to 64 MiB) and readahead.
inline std::uint64_t footprint(std::uint64_t n, std::uint64_t bytes_per_record) {
  return n * bytes_per_record + (96u << 20);
}

// --- franz -------------------------------------------------------------------------------

// Closes a throwaway log or broker kept in dir without paying close()'s
// fdatasync of everything appended (up to ~1.1 GB, which would also keep the
// disk busy during the next measurement): the .log files are truncated to
// zero first, so the final flush finds no dirty pages. Then removes dir.
// Untimed. (dir by value: it may be the closed log's own.)
template <class T>
void discard(std::unique_ptr<T>& p, std::string dir, const char* what) {
  if (!p) return;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.path().extension() == ".log") (void)::truncate(e.path().c_str(), 0);
  check(p->close(), what);
  p.reset();
  std::filesystem::remove_all(dir, ec);
}

// --- statistics --------------------------------------------------------------------------

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

inline double median_rps(const std::vector<timing>& runs, std::uint64_t n) {
  std::vector<double> r;
  for (const auto& t : runs) r.push_back(static_cast<double>(n) / t.wall);
  return median(r);
}

// The median records/s of baseline runs; none with --no-baseline.
inline std::optional<double> baseline_rps(const std::vector<timing>& runs, std::uint64_t n) {
  return runs.empty() ? std::optional<double>() : std::optional<double>(median_rps(runs, n));
}

// Nearest-rank percentile of sorted samples.
template <class T>
double percentile(const std::vector<T>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto n = sorted.size();
  const auto rank = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(n))));
  return static_cast<double>(sorted[std::min(rank, n) - 1]);
}

// Records/s and on-CPU share (%) of each run of n records, and their medians.
struct run_rates {
  std::vector<double> rps, oncpu;
  double median_rps = 0, median_oncpu = 0;
};

inline run_rates rates_of(const std::vector<timing>& runs, std::uint64_t n) {
  run_rates r;
  for (const auto& t : runs) {
    r.rps.push_back(static_cast<double>(n) / t.wall);
    r.oncpu.push_back(100.0 * t.cpu / t.wall);
  }
  r.median_rps = median(r.rps);
  r.median_oncpu = median(r.oncpu);
  return r;
}

// --- output ------------------------------------------------------------------------------

inline const char* verdict(std::optional<bool> pass) { return pass ? (*pass ? "PASS" : "MISS") : ""; }

// s in double quotes for a CSV field; nothing for no target.
inline std::string quoted(const char* s) { return s ? fmt::format("\"{}\"", s) : std::string(); }
inline std::string quoted(const std::string& s) { return s.empty() ? std::string() : fmt::format("\"{}\"", s); }

// "target <t>", or nothing for no target.
inline std::string target_text(const char* t) { return t ? fmt::format("target {}", t) : std::string(); }
inline std::string target_text(const std::string& t) {
  return t.empty() ? std::string() : fmt::format("target {}", t);
}

// The runs' figures divided by scale, comma-separated, with `decimals` decimals.
inline std::string run_list(const std::vector<double>& runs, double scale, int decimals) {
  std::string list;
  for (double x : runs) list += fmt::format("{}{:.{}f}", list.empty() ? "" : ",", x / scale, decimals);
  return list;
}

// The lines both benchmarks print alike: text lines (key=value fields,
// labels in a column label_width wide) or, with --csv, rows of
// workload,impl,metric,value,unit,target,verdict. Each benchmark's output
// derives from it and adds its throughput and latency figures.
struct table_output {
  bool csv;
  int label_width;     // the first column in text mode
  int info_decimals;   // of info() values in CSV rows

  void header() const {
    if (csv) std::printf("workload,impl,metric,value,unit,target,verdict\n");
  }

  void meta(const char* key, const std::string& value) const {
    if (csv) std::printf("meta,,%s,\"%s\",,,\n", key, value.c_str());
    else std::printf("# %-*s %s\n", label_width, key, value.c_str());
  }

  // A figure with no run list: value, unit, text for humans.
  void info(const char* workload, const char* impl, const char* metric, double value, const char* unit,
            const std::string& text) const {
    if (csv) std::printf("%s,%s,%s,%.*f,%s,,\n", workload, impl, metric, info_decimals, value, unit);
    else std::printf("# %-*s %s\n", label_width, workload, text.c_str());
  }

  // The CSV rows of one throughput figure that open it: rec/s (with target
  // and verdict) and payload MB/s.
  void csv_rates(const char* workload, const char* impl, double rps, double mbs, const std::string& quoted_target,
                 std::optional<bool> pass) const {
    std::printf("%s,%s,rec_per_s,%.0f,records/s,%s,%s\n", workload, impl, rps, quoted_target.c_str(), verdict(pass));
    std::printf("%s,%s,mb_per_s,%.1f,MB/s,,\n", workload, impl, mbs);
  }

  // The CSV rows that close one throughput figure: records/s of every run.
  void csv_runs(const char* workload, const char* impl, const std::vector<double>& rps) const {
    for (std::size_t i = 0; i < rps.size(); ++i)
      std::printf("%s,%s,run%zu_rec_per_s,%.0f,records/s,,\n", workload, impl, i + 1, rps[i]);
  }

  // How busy the machine was besides this benchmark since `before`: the
  // share of all cpus other processes and kernel threads used, and steal.
  void contention(const machine_cpu& before, unsigned ncpu) const {
    const machine_cpu after = sample_machine_cpu();
    const double wall = after.wall_s - before.wall_s;
    const double others = std::max(0.0, (after.busy_s - before.busy_s) - (after.self_s - before.self_s));
    const double share = 100.0 * others / (wall * ncpu);
    const double steal = 100.0 * (after.steal_s - before.steal_s) / (wall * ncpu);
    if (csv) {
      std::printf("meta,,others_cpu_pct,%.1f,%%,,\nmeta,,steal_pct,%.1f,%%,,\nmeta,,wall_s,%.1f,s,,\n", share,
                  steal, wall);
    } else {
      meta("contention", fmt::format("other processes and kernel threads used {:.0f}% of the {} cpus during the "
                                     "{:.0f} s run; steal {:.0f}%",
                                     share, ncpu, wall, steal));
    }
  }
};

}  // namespace franz::bench
