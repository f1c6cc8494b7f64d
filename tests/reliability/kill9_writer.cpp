// franz — kill9_writer: the process tests/kill9_test.cpp kills with SIGKILL.
//
//   kill9_writer DATA_DIR MODE RUN SEED ACK_FILE
//
// Opens DATA_DIR (recovering whatever an earlier, killed writer left) and
// writes self-checking records to it forever, from several threads, until it
// is killed. Every record franz acknowledges is reported by appending one
// 64-byte line to ACK_FILE with write(2) (O_APPEND), only after franz
// reported it:
//
//   acked <topic> <partition> <offset> <run> <seq> <line checksum>
//
// A line is 64 bytes, so with O_APPEND every write lies inside one page and
// a kill cannot tear it; the checksum lets the verifier reject a torn one
// anyway. RUN must be unique per writer run: (RUN, seq) names a record.
//
// MODE:
//   acks0     producer, acks=0 (nothing is acknowledged)
//   acks1     producer, acks=1 (appended; survives kill -9: the page cache does)
//   acksall   producer, acks=all (fsynced)
//   log       basic_log::append directly, flush.messages at its default
//   log_flush basic_log::append with flush.messages=1
// Producer modes use topic "k9" (3 partitions, created if missing) of a
// broker with a 5 ms maintenance tick; log modes use logs DATA_DIR/p0..p2,
// one writer thread each plus a thread flushing them concurrently. Segments
// are small (rolls, index entries) and retention.bytes bounds the data, so
// kills land in appends, rolls, flushes, retention and index writes, and in
// open/recovery when they come early. SEED randomizes batch sizes, linger,
// compression and the pacing.
//
// The payload of (RUN, seq) on partition p is a pure function of the three
// (kill9_payload.hpp, shared with tests/kill9_test.cpp, which rejects any
// record that differs from it). Exit codes (it never exits on its own otherwise): 2 bad usage,
// 3 open failed, 4 a write failed.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "franz/franz.hpp"
#include "kill9_payload.hpp"

namespace {

constexpr std::int32_t partitions = 3;
constexpr std::string_view topic = "k9";
constexpr std::size_t ack_line_size = 64;

using franz::kill9::fnv1a;
using franz::kill9::make_payload;
using franz::kill9::payload;

// --- acknowledgements -------------------------------------------------------

int ack_fd = -1;

[[noreturn]] void die(int code, const std::string& what) {
  const std::string line = "kill9_writer: " + what + "\n";
  (void)!::write(2, line.data(), line.size());
  ::_exit(code);
}

void ack(std::string_view t, std::int32_t partition, std::int64_t off, std::uint32_t run, std::uint64_t seq) {
  char line[ack_line_size + 1];
  const int n = std::snprintf(line, sizeof line, "acked %-10.*s %4d %12lld %8u %10llu ", static_cast<int>(t.size()),
                              t.data(), partition, static_cast<long long>(off), run,
                              static_cast<unsigned long long>(seq));
  if (n != static_cast<int>(ack_line_size - 9)) die(2, "ack line layout");
  const auto sum = static_cast<std::uint32_t>(fnv1a(std::string_view(line, static_cast<std::size_t>(n))));
  std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n), "%08x\n", sum);
  if (::write(ack_fd, line, ack_line_size) != static_cast<ssize_t>(ack_line_size))
    die(4, std::string("write to the ack file: ") + std::strerror(errno));
}

// Tells the test (which reads stdout after the kill) that the open is
// done, and when: CLOCK_MONOTONIC nanoseconds, the clock of the test's
// std::chrono::steady_clock, so it learns how long an open takes.
void say_opened() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  char line[64];
  const int n = std::snprintf(line, sizeof line, "opened %lld\n",
                              static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
  (void)!::write(1, line, static_cast<std::size_t>(n));
}

void pause_us(std::mt19937_64& rng, int max_us) {
  std::this_thread::sleep_for(std::chrono::microseconds(500 + rng() % static_cast<unsigned>(max_us)));
}

// --- producer modes ---------------------------------------------------------

int run_producer(const std::string& data_dir, franz::ack acks, std::uint32_t run, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  franz::broker_options bo;
  bo.data_dir = data_dir;
  bo.maintenance_interval_ms = 5;
  auto b = franz::broker::open(bo);
  if (!b) die(3, "broker open: " + b.error().to_string());
  if (!(*b)->find_topic(topic).ok()) {
    auto s = (*b)->create_topic(topic, partitions,
                                {{"segment.bytes", "65536"},
                                 {"index.interval.bytes", "512"},
                                 {"retention.bytes", "524288"},
                                 {"retention.ms", "-1"}});
    if (!s.ok()) die(3, "create_topic: " + s.error().to_string());
  }
  franz::producer_config pc;
  pc.acks = acks;
  const std::int64_t batch_sizes[] = {256, 2048, 16384};
  const std::int64_t lingers[] = {0, 0, 1, 5};
  const franz::compression codecs[] = {franz::compression::none, franz::compression::lz4,
                                       franz::compression::zstd};
  pc.batch_size = batch_sizes[rng() % 3];
  pc.linger_ms = lingers[rng() % 4];
  pc.compression_type = codecs[rng() % 3];
  auto p = franz::producer::create(**b, pc);
  if (!p) die(3, "producer: " + p.error().to_string());
  say_opened();

  std::atomic<std::uint64_t> next_seq{0};
  franz::producer& prod = **p;
  auto sender = [&](std::uint64_t tseed, bool flusher) {
    std::mt19937_64 r(tseed);
    for (std::uint64_t burst = 0;; ++burst) {
      const int n = 1 + static_cast<int>(r() % 50);
      for (int i = 0; i < n; ++i) {
        const std::uint64_t seq = next_seq.fetch_add(1);
        const auto part = static_cast<std::int32_t>(r() % partitions);
        const payload pl = make_payload(run, seq, part);
        const franz::record_header hdr{"h", pl.header};
        franz::producer_record rec{.topic = topic, .partition = part, .key = pl.key, .value = pl.value};
        if (!pl.header.empty()) rec.headers = std::span<const franz::record_header>(&hdr, 1);
        franz::send_callback cb;
        if (acks != franz::ack::none) {
          cb = [run, seq, part](const franz::result<franz::record_metadata>& md) {
            if (!md) die(4, "send report: " + md.error().to_string());
            if (md->partition != part) die(4, "report names another partition");
            ack(topic, part, md->off.value(), run, seq);
          };
        }
        if (auto s = prod.send(rec, std::move(cb)); !s.ok()) die(4, "send: " + s.error().to_string());
      }
      if (flusher && burst % 16 == 15) {
        if (auto s = prod.flush(); !s.ok()) die(4, "producer flush: " + s.error().to_string());
      }
      pause_us(r, 2500);
    }
  };
  std::thread t1(sender, rng(), true);
  std::thread t2(sender, rng(), false);
  t1.join();  // never returns: the process is killed
  t2.join();
  return 0;
}

// --- log modes --------------------------------------------------------------

int run_log(const std::string& data_dir, bool flush_each, std::uint32_t run, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST)
    die(3, "mkdir " + data_dir + ": " + std::strerror(errno));
  franz::log_options o;
  o.config.segment_bytes = 65536;
  o.config.index_interval_bytes = 512;
  o.config.retention_bytes = 524288;
  o.config.retention_ms = -1;
  if (flush_each) o.config.flush_messages = 1;
  const std::optional<franz::compression> codecs[] = {std::nullopt, franz::compression::lz4,
                                                      franz::compression::zstd};
  o.config.compression_type = codecs[rng() % 3];
  std::vector<std::unique_ptr<franz::log>> logs;
  for (std::int32_t i = 0; i < partitions; ++i) {
    auto l = franz::log::open(data_dir + "/p" + std::to_string(i), o);
    if (!l) die(3, "log open: " + l.error().to_string());
    logs.push_back(std::move(*l));
  }
  say_opened();

  std::atomic<std::uint64_t> next_seq{0};
  auto writer = [&](std::int32_t part, std::uint64_t tseed) {
    std::mt19937_64 r(tseed);
    franz::log& l = *logs[static_cast<std::size_t>(part)];
    std::vector<payload> owned;
    std::vector<franz::record_header> hdrs;
    std::vector<franz::record> recs;
    for (std::uint64_t n = 0;; ++n) {
      const std::size_t count = 1 + r() % 40;
      owned.clear();
      recs.clear();
      hdrs.clear();
      hdrs.reserve(count);
      const std::uint64_t first = next_seq.fetch_add(count);
      for (std::size_t i = 0; i < count; ++i) owned.push_back(make_payload(run, first + i, part));
      for (const auto& pl : owned) {
        franz::record rec{.key = pl.key, .value = pl.value};
        if (!pl.header.empty()) {
          hdrs.push_back({"h", pl.header});
          rec.headers = std::span<const franz::record_header>(&hdrs.back(), 1);
        }
        recs.push_back(rec);
      }
      auto info = l.append(recs);
      if (!info) die(4, "append: " + info.error().to_string());
      for (std::size_t i = 0; i < count; ++i)
        ack("log", part, info->base_offset.value() + static_cast<std::int64_t>(i), run, first + i);
      if (n % 8 == 7) {
        if (auto d = l.enforce_retention(); !d) die(4, "retention: " + d.error().to_string());
        if (auto s = l.tick(); !s.ok()) die(4, "tick: " + s.error().to_string());
      }
      if (n % 64 == 63) {
        if (auto s = l.roll(); !s.ok()) die(4, "roll: " + s.error().to_string());
      }
      pause_us(r, 2500);
    }
  };
  // flush() may run on any thread, concurrently with the writer's appends.
  std::thread flusher([&, fseed = rng()] {
    std::mt19937_64 r(fseed);
    for (;;) {
      for (auto& l : logs)
        if (auto s = l->flush(); !s.ok()) die(4, "flush: " + s.error().to_string());
      pause_us(r, 4000);
    }
  });
  std::vector<std::thread> writers;
  for (std::int32_t i = 0; i < partitions; ++i) writers.emplace_back(writer, i, rng());
  for (auto& t : writers) t.join();  // never returns: the process is killed
  flusher.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) die(2, "usage: kill9_writer DATA_DIR MODE RUN SEED ACK_FILE");
  const std::string data_dir = argv[1];
  const std::string mode = argv[2];
  const auto run = static_cast<std::uint32_t>(std::strtoul(argv[3], nullptr, 10));
  const std::uint64_t seed = std::strtoull(argv[4], nullptr, 10);
  ack_fd = ::open(argv[5], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (ack_fd < 0) die(2, std::string("open ack file: ") + std::strerror(errno));
  if (mode == "acks0") return run_producer(data_dir, franz::ack::none, run, seed);
  if (mode == "acks1") return run_producer(data_dir, franz::ack::leader, run, seed);
  if (mode == "acksall") return run_producer(data_dir, franz::ack::all, run, seed);
  if (mode == "log") return run_log(data_dir, false, run, seed);
  if (mode == "log_flush") return run_log(data_dir, true, run, seed);
  die(2, "unknown mode " + mode);
}
