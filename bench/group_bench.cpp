// franz consumer-group benchmark: rebalance latency, commit throughput and
// group consumption, each beside a baseline measured in the same run (the
// machine is a shared, noisy 2-cpu VM: quote the ratios).
//
//   group_bench [--rebalances N] [--reps K] [--records N] [--only LIST] [--csv] [--help] ...
//
// Records are 100 bytes of payload, as in messaging_bench: an 8-byte key (the
// record's index, little-endian) and a 92-byte value (pseudo-random, from a
// ring of 4096). Every broker runs with its default background maintenance
// thread (tick every 100 ms: session timeouts, max.poll.interval.ms). Every
// consumer has enable.auto.commit=false and check.crcs on. Groups are formed
// one member at a time, each join settled before the next (untimed set-up,
// so every member's generation is known). Workloads:
//
//   rebalance  8 members x 64 partitions of one topic (no data), in two
//              groups side by side: "eager" (range assignor) and
//              "cooperative" (cooperative-sticky). In each group 7 members
//              are subscribed and stable, each polled by its own thread in a
//              loop of poll(100 ms). One sample: an 8th consumer is created
//              and subscribed (untimed) and its thread starts polling;
//              t0 = just before its first poll (where it joins). done = the
//              group is Stable at a new generation with all 64 partitions
//              owned: every member's on_partitions_assigned listener
//              reports (generation, assignment().size()) into a shared
//              table under a mutex, stamped with CLOCK_MONOTONIC at the
//              call's entry; the call that finds all 8 members at the same
//              generation G > G0 (G0: the generation before the join)
//              holding 64 partitions in total ends the sample, and done is
//              the latest stamp of the 8 G reports. A member's listener runs
//              right after it acknowledges generation G to the coordinator;
//              the last acknowledgement makes the group Stable, and 64 owned
//              means nothing was withheld, so no follow-up rebalance is due:
//              done is when the last member can start reading, a few
//              microseconds after the coordinator turns Stable. (Polling
//              describe_group from another thread would take the
//              coordinator's mutex the members need, and a polling interval
//              would quantize the result.) Then, untimed: describe_group
//              must say Stable, generation G, 8 members of 8 partitions
//              each; the 8th member close()s (leaves, the 7 rebalance), and
//              the next sample starts 1 ms after describe_group shows the 7
//              Stable again and every listener has run. Samples of eager,
//              cooperative and the baseline alternate (the order rotates).
//              The whole workload runs once per --poll-spin-us value
//              (default 0 and the library's 50): spinning matters with 8
//              threads on 2 cpus, since every member that wakes and finds
//              nothing to do spins that long. Reported: p50, p99, max and
//              mean over --rebalances samples (microseconds), generations
//              per rebalance (eager 1; cooperative 2: the second hands on
//              the revoked partitions) and partitions revoked per rebalance.
//              Baseline (cv_barrier): the synchronization skeleton of one
//              eager rebalance round, without the coordinator's work: 8
//              threads, each sleeping on its own waiter (an atomic counter,
//              a mutex and a condition variable, signalled as the
//              consumer's poll waiter is; the same poll.spin.us), 7 asleep
//              in 100 ms waits; the 8th, at t0, takes a shared mutex and
//              wakes the 7 (wave 1); each checks in under the mutex, the
//              last wakes all 8 (wave 2); each acknowledges, and the last
//              acknowledgement is done. An eager rebalance is one such
//              round (two wake-up waves), a cooperative one two rounds.
//   commit     one group member owning all 8 partitions of a topic (1000
//              records each) commits partition 0's offset repeatedly, with
//              an explicit one-entry offsets map, for --commit-ms:
//              commit_sync with commit.sync.durable=true (each commit
//              fsynced; concurrent committers share fsyncs), commit_sync
//              with commit.sync.durable=false (appended, not fsynced), and
//              commit_async (no callback). Then 4 members of one group (2
//              partitions each, 4 threads) each commit_sync (durable) one of
//              its own partitions concurrently for --commit-ms. Each run
//              uses a fresh broker directory; one untimed commit first
//              (it creates __consumer_offsets), then syncfs(), then the
//              timed loop. fdatasync/fsync calls, and the time spent in
//              fdatasync, are counted by wrapping the libc functions (as
//              messaging_bench does): us/fdatasync shows how fast the disk
//              was during each figure (it varies 20x over minutes here).
//              Baselines: write() of a 100-byte record + fdatasync() in a
//              loop, and write() of a 100-byte record in a loop, appending
//              to a fresh file (syncfs() first), for --commit-ms each. The
//              raw file grows with every write, so each of its fdatasyncs
//              also commits the new size; franz's segments are
//              preallocated.
//   consume    N records (--records, default 4M) produced first (untimed:
//              explicit partition i % 8 of 8, linger 5, 16 KiB batches),
//              then read to the end by one consumer (a group of one) and by
//              a group of 4 members (4 threads, 2 partitions each), each in
//              a fresh group (so from offset 0, auto.offset.reset=earliest),
//              max.poll.records 10000. The group is formed first, untimed:
//              members subscribe and poll, and a rebalance listener pauses
//              every partition it is assigned, so nothing is fetched until
//              describe_group shows the group Stable and every member holds
//              its generation; then all members start together (t0), resume
//              their partitions and poll until they hold every record of
//              their partitions (end offsets read before t0); the time ends
//              when the last member has its last record. Each record is
//              touched (offset checked dense per partition, value size
//              summed, first value byte read). Baseline: read() of a file of
//              the same payload bytes (N x 100 B) in 1 MiB chunks, every byte
//              summed (messaging_bench's poll baseline), one thread.
//
// Method. commit and consume run --reps times (default 5) and report the
// median with every run listed; the order of the baseline and franz runs
// rotates from run to run. cpu = the process's CPU time / wall time (all
// threads; at most 200% on 2 cpus). The page cache is warmed before the
// consume workload's writes (see prewarm() in bench_util.hpp). Throwaway
// brokers have their .log files truncated before close, so close() does not
// fsync what the run wrote.
//
// Output: one line per figure (key=value) and a summary table; --csv prints
// rows of workload,impl,metric,value,unit,target,verdict instead (target and
// verdict are empty: no targets are set for groups yet). Progress: stderr.
#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <franz/franz.hpp>

#include "bench_util.hpp"

// --- fsync counting ----------------------------------------------------------------------
//
// franz (linked statically into this program) calls ::fdatasync / ::fsync;
// these definitions take precedence over libc's, count the calls and make
// the system call directly. The raw baselines go through them too.
namespace {
std::atomic<std::uint64_t> g_fdatasync_calls{0};
std::atomic<std::uint64_t> g_fdatasync_ns{0};  // time spent in fdatasync, all threads
std::atomic<std::uint64_t> g_fsync_calls{0};

inline std::uint64_t mono_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}
}  // namespace

extern "C" int fdatasync(int fd) {
  const std::uint64_t t0 = mono_ns();
  const int r = static_cast<int>(::syscall(SYS_fdatasync, fd));
  g_fdatasync_ns.fetch_add(mono_ns() - t0, std::memory_order_relaxed);
  g_fdatasync_calls.fetch_add(1, std::memory_order_relaxed);
  return r;
}

extern "C" int fsync(int fd) {
  g_fsync_calls.fetch_add(1, std::memory_order_relaxed);
  return static_cast<int>(::syscall(SYS_fsync, fd));
}

namespace {

using namespace franz::bench;
using namespace std::chrono_literals;

constexpr std::size_t record_bytes = 100;
constexpr std::size_t key_bytes = 8;
constexpr std::size_t value_bytes = record_bytes - key_bytes;
constexpr std::size_t ring_records = 4096;
constexpr std::size_t raw_chunk = 16384;  // the raw file's write() size

constexpr int rb_members = 8;
constexpr std::int32_t rb_partitions = 64;
constexpr std::string_view rb_topic = "rebalance";

constexpr std::string_view commit_topic = "commits";
constexpr std::int32_t commit_partitions = 8;
constexpr std::int64_t commit_records_per_partition = 1000;
constexpr int commit_threads = 4;

constexpr std::string_view consume_topic = "consume";
constexpr std::int32_t consume_partitions = 8;
constexpr int consume_members = 4;

constexpr auto settle_timeout = 30s;

// --- options -----------------------------------------------------------------------------

constexpr std::array<std::string_view, 3> workloads = {"rebalance", "commit", "consume"};

struct options : common_options {  // and --only, --tmpdir, --csv, --quiet, --no-prewarm, --no-baseline
  std::uint64_t records = 4'000'000;
  int reps = 5;
  int rebalances = 200;
  std::int64_t commit_ms = 1000;
  std::int32_t max_poll_records = 10000;
  std::vector<std::int64_t> poll_spins = {0, 50};
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: group_bench [options]\n"
               "workloads (--only, comma-separated; default all):\n"
               "  rebalance   join latency of an 8th member to 7 stable ones, 64 partitions: eager (range)\n"
               "              and cooperative (cooperative-sticky); baseline: two wake-up waves of 8 threads\n"
               "  commit      commits/s of one member: commit_sync durable, commit_sync not durable,\n"
               "              commit_async; 4 members committing durable at once; baselines: write()+fdatasync()\n"
               "              and write() of 100 B records\n"
               "  consume     N records of 8 partitions read by one consumer and by a group of 4;\n"
               "              baseline: read() of the same bytes in 1 MiB chunks + a sum pass\n"
               "options:\n"
               "  --rebalances N       rebalance samples per protocol (default 200)\n"
               "  --reps K             runs of commit and consume; medians are reported (default 5)\n"
               "  --records N          consume: records produced and read per run (default 4M)\n"
               "  --commit-ms N        commit: length of each timed run in ms (default 1000)\n"
               "  --max-poll-records N consume: max.poll.records (default 10000)\n"
               "  --poll-spin-us LIST  rebalance: poll.spin.us of the members and of the baseline's waits,\n"
               "                       comma-separated; the workload runs once per value (default 0,50;\n"
               "                       50 is the library's default)\n"
               "  --only LIST          run only these workloads\n"
               "  --csv                CSV rows: workload,impl,metric,value,unit,target,verdict\n"
               "  --dir DIR, --tmpdir DIR\n"
               "                       parent of the temporary directory (default /tmp)\n"
               "  --no-prewarm         do not warm the page cache before the consume workload's writes\n"
               "  --no-baseline        franz only (for profiling)\n"
               "  --quiet              no progress on stderr\n"
               "  --help               this text\n"
               "N takes k/M/G suffixes (4M) and exponents (4e6).\n");
}

using franz::bench::parse_count;

options parse_args(int argc, char** argv) {
  options o;
  auto own = [&](std::string_view a, const char* flag, const auto& value) {
    if (a == "--records") {
      o.records = parse_count(flag, value());
    } else if (a == "--reps") {
      o.reps = static_cast<int>(std::min<std::uint64_t>(parse_count(flag, value()), 1000));
    } else if (a == "--rebalances") {
      o.rebalances = static_cast<int>(std::min<std::uint64_t>(parse_count(flag, value()), 100000));
    } else if (a == "--commit-ms") {
      o.commit_ms = static_cast<std::int64_t>(std::min<std::uint64_t>(parse_count(flag, value()), 3'600'000));
    } else if (a == "--max-poll-records") {
      o.max_poll_records = static_cast<std::int32_t>(std::min<std::uint64_t>(parse_count(flag, value()), 1'000'000));
    } else if (a == "--poll-spin-us") {
      o.poll_spins.clear();
      for (std::string_view rest = value(); !rest.empty();) {
        const auto comma = rest.find(',');
        const std::string one(rest.substr(0, comma));
        o.poll_spins.push_back(
            static_cast<std::int64_t>(std::min<std::uint64_t>(parse_count(flag, one.c_str(), 0), 1'000'000)));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      if (o.poll_spins.empty()) o.poll_spins.push_back(0);
    } else if (a == "--dir") {
      o.tmpdir = value();
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
//
// mono_ns() (above): CLOCK_MONOTONIC in ns (vDSO), comparable across threads.

// Wall time of one run and the process's CPU time during it (all threads).
using stopwatch = basic_stopwatch<CLOCK_PROCESS_CPUTIME_ID>;

// Calls done() every 2 ms until it returns true; dies with what() after
// settle_timeout.
template <class Done, class What>
void wait_until(Done done, What what) {
  const auto deadline = std::chrono::steady_clock::now() + settle_timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) die("timed out after 30 s waiting for %s", what().c_str());
    std::this_thread::sleep_for(2ms);
  }
}

// --- payload -----------------------------------------------------------------------------

// 4096 records of 100 bytes laid out as the raw baselines write them.
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

// --- raw file baselines ------------------------------------------------------------------

// write() of records [0, n) in 16 KiB pieces (keys rewritten per pass).
void raw_write_file(const std::string& path, std::uint64_t n, ring& rg) {
  const int fd = create_file(path);
  for (std::uint64_t done = 0; done < n;) {
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(ring_records, n - done));
    rg.set_keys(done, k);
    const std::size_t bytes = k * record_bytes;
    for (std::size_t off = 0; off < bytes; off += raw_chunk)
      write_all(fd, rg.buf.data() + off, std::min(raw_chunk, bytes - off));
    done += k;
  }
  ::close(fd);
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

// Operations per second, the fdatasync calls they made and the time spent
// in them (summed over threads).
struct op_rate {
  double per_s = 0;
  std::uint64_t ops = 0;
  std::uint64_t fdatasyncs = 0;
  std::uint64_t fdatasync_ns = 0;
  timing time;
};

// The fdatasync counters since construction.
struct sync_meter {
  std::uint64_t calls0 = g_fdatasync_calls.load(), ns0 = g_fdatasync_ns.load();
  void stop(op_rate& r) const {
    r.fdatasyncs = g_fdatasync_calls.load() - calls0;
    r.fdatasync_ns = g_fdatasync_ns.load() - ns0;
  }
};

// write() of one 100-byte record at the end of a fresh file, in a loop for
// ms milliseconds, with or without an fdatasync() after each.
op_rate raw_record_loop(const std::string& path, std::int64_t ms, ring& rg, bool sync) {
  const int fd = create_file(path);
  sync_fs(g_tmp);
  const unsigned check_every = sync ? 1 : 64;
  op_rate r;
  const sync_meter meter;
  const std::uint64_t end_ns = mono_ns() + static_cast<std::uint64_t>(ms) * 1'000'000u;
  const stopwatch sw;
  for (bool more = true; more;) {
    for (unsigned k = 0; k < check_every; ++k) {
      std::memcpy(rg.buf.data(), &r.ops, key_bytes);
      write_all(fd, rg.buf.data(), record_bytes);
      if (sync && ::fdatasync(fd) != 0) die("fdatasync: %s", std::strerror(errno));
      ++r.ops;
    }
    more = mono_ns() < end_ns;
  }
  r.time = sw.stop();
  meter.stop(r);
  r.per_s = static_cast<double>(r.ops) / r.time.wall;
  ::close(fd);
  ::unlink(path.c_str());
  return r;
}

// --- franz -------------------------------------------------------------------------------

std::unique_ptr<franz::broker> open_broker(const std::string& dir) {
  auto b = franz::broker::open({.data_dir = dir});  // background maintenance on (the default)
  check(b, "broker::open");
  return std::move(*b);
}

// Closes a throwaway broker without fsyncing what it holds (see discard()).
void discard_broker(std::unique_ptr<franz::broker>& b, const std::string& dir) { discard(b, dir, "broker::close"); }

// Produces records [0, n) untimed to partition i % partitions (linger 5,
// 16 KiB batches, acks=1).
void produce_untimed(franz::broker& b, std::string_view topic, std::int32_t partitions, std::uint64_t n,
                     const ring& rg) {
  franz::producer_config pc;
  pc.acks = franz::ack::leader;
  pc.linger_ms = 5;
  pc.batch_size = 16384;
  auto p = franz::producer::create(b, pc);
  check(p, "producer::create");
  char key[key_bytes];
  for (std::uint64_t i = 0; i < n; ++i) {
    std::memcpy(key, &i, key_bytes);
    const franz::producer_record r{.topic = topic,
                                   .partition = static_cast<std::int32_t>(i % static_cast<std::uint64_t>(partitions)),
                                   .key = franz::bytes_view(key, key_bytes),
                                   .value = rg.value(i)};
    if (auto st = (*p)->send(r); !st.ok()) [[unlikely]]
      die("send of record %" PRIu64 ": %s", i, st.error().to_string().c_str());
  }
  check((*p)->flush(), "flush");
  check((*p)->close(), "producer::close");
}

franz::consumer_config member_config(const std::string& group, const char* strategy) {
  franz::consumer_config c;
  c.group_id = group;
  c.partition_assignment_strategy = {strategy};
  c.auto_offset_reset = franz::offset_reset::earliest;
  c.enable_auto_commit = false;
  c.check_crcs = true;
  return c;
}

std::unique_ptr<franz::consumer> make_consumer(franz::broker& b, franz::consumer_config cfg) {
  auto c = franz::consumer::create(b, std::move(cfg));
  check(c, "consumer::create");
  return std::move(*c);
}

// What describe_group says, in one line (for failure messages).
std::string describe(const franz::broker& b, const std::string& group) {
  auto d = b.groups().describe_group(group);
  if (!d) return fmt::format("group {}: {}", group, d.error().to_string());
  std::string s = fmt::format("group {}: {} generation {} members", group, franz::group_state_name(d->state),
                              d->generation);
  for (const auto& m : d->members) s += fmt::format(" {}({})", m.member_id, m.assignment.size());
  return s;
}

// The group's generation once it is Stable with `members` members, every
// one of `partitions` partitions owned, at a generation above `above`, and
// ok(generation) holds (untimed; dies after settle_timeout).
template <class Ok>
std::int32_t settle(const franz::broker& b, const std::string& group, std::size_t members, std::int32_t partitions,
                    std::int32_t above, Ok ok) {
  std::int32_t gen = -1;
  wait_until(
      [&] {
        auto d = b.groups().describe_group(group);
        if (!d || d->state != franz::group_state::stable || d->members.size() != members || d->generation <= above)
          return false;
        std::int32_t owned = 0;
        for (const auto& p : d->partitions) owned += p.owner.empty() ? 0 : 1;
        if (owned != partitions) return false;
        gen = d->generation;
        return ok(gen);
      },
      [&] { return fmt::format("{} to settle with {} members: {}", group, members, describe(b, group)); });
  return gen;
}

// Starts members' threads one at a time (start(i)), waiting after each
// until the group is Stable with all of them at one generation (gens[j]:
// the generation member j's thread last saw after a poll). One join at a
// time keeps the untimed set-up simple to check; the measured samples of
// the rebalance workload are single joins to a Stable group.
template <class Start, class Gens>
void form_group(const franz::broker& b, const std::string& group, int members, std::int32_t partitions, Start start,
                const Gens& gens) {
  std::int32_t gen = 0;
  for (int i = 0; i < members; ++i) {
    start(i);
    gen = settle(b, group, static_cast<std::size_t>(i) + 1, partitions, gen, [&](std::int32_t g) {
      return std::all_of(gens.begin(), gens.begin() + i + 1, [&](const auto& x) { return x.load() == g; });
    });
  }
}

// Polls c until stop, ignoring the WAKEUP that interrupts it.
void poll_until(franz::consumer& c, const std::atomic<bool>& stop, std::chrono::milliseconds timeout) {
  while (!stop.load(std::memory_order_acquire)) {
    auto r = c.poll(timeout);
    if (!r && r.code() != franz::errc::wakeup) die("poll: %s", r.error().to_string().c_str());
  }
}

// --- rebalance ---------------------------------------------------------------------------

// Every member's last on_partitions_assigned: generation, partitions held,
// time of the call. Armed for one sample, it finds the moment the group is
// Stable at a new generation with every partition owned (see the file
// comment).
struct tracker {
  struct slot {
    std::int32_t gen = -1;
    std::size_t owned = 0;
    std::uint64_t at_ns = 0;
    bool active = false;  // a member of the group now
  };
  std::mutex mu;
  std::condition_variable cv;
  std::array<slot, rb_members> slots{};
  bool armed = false;
  std::int32_t above = 0;
  bool done = false;
  std::uint64_t done_ns = 0;
  std::int32_t done_gen = 0;
  std::uint64_t revoked = 0;
  std::uint64_t lost = 0;

  void assigned(int i, std::int32_t gen, std::size_t owned) {
    const std::uint64_t t = mono_ns();
    std::lock_guard l(mu);
    auto& s = slots[static_cast<std::size_t>(i)];
    s.gen = gen, s.owned = owned, s.at_ns = t;
    if (!armed || done || gen <= above) return;
    std::size_t sum = 0;
    std::uint64_t last = 0;
    for (const auto& x : slots) {
      if (!x.active) continue;
      if (x.gen != gen) return;
      sum += x.owned;
      last = std::max(last, x.at_ns);
    }
    if (sum != static_cast<std::size_t>(rb_partitions)) return;
    done = true, done_ns = last, done_gen = gen;
    cv.notify_all();
  }
  void revoked_n(std::size_t n, bool was_lost) {
    std::lock_guard l(mu);
    if (was_lost) lost += n;
    if (armed && !done) revoked += n;
  }
  // Every active member has reported generation gen.
  bool all_at(std::int32_t gen) {
    std::lock_guard l(mu);
    return std::all_of(slots.begin(), slots.end(), [&](const slot& x) { return !x.active || x.gen == gen; });
  }
};

struct rb_listener final : franz::consumer_rebalance_listener {
  tracker* tr = nullptr;
  int slot = 0;
  void on_partitions_assigned(franz::consumer& c, const std::vector<franz::topic_partition>&) override {
    tr->assigned(slot, c.generation(), c.assignment().size());
  }
  void on_partitions_revoked(franz::consumer&, const std::vector<franz::topic_partition>& ps) override {
    tr->revoked_n(ps.size(), false);
  }
  void on_partitions_lost(franz::consumer&, const std::vector<franz::topic_partition>& ps) override {
    tr->revoked_n(ps.size(), true);
  }
};

// One group of the rebalance workload: 7 stable members on their threads,
// and the 8th that joins and leaves per sample.
struct rb_group {
  const char* name;      // eager, cooperative
  const char* strategy;  // range, cooperative-sticky
  std::string group;
  std::int64_t spin_us = 50;
  tracker tr;
  std::array<rb_listener, rb_members> listeners{};
  std::array<std::unique_ptr<franz::consumer>, rb_members> cs{};
  std::array<std::atomic<bool>, rb_members> stop{};
  std::array<std::thread, rb_members> threads{};
  std::int32_t gen = 0;  // the settled generation with 7 members
  std::vector<double> us;
  std::vector<double> gens, revoked;

  rb_group(const char* n, const char* s) : name(n), strategy(s), group(fmt::format("rebalance-{}", n)) {}

  franz::consumer_config config() const {
    auto c = member_config(group, strategy);
    c.poll_spin_us = spin_us;
    return c;
  }

  void start_member(franz::broker& b, int i, std::atomic<std::uint64_t>* t0) {
    const auto k = static_cast<std::size_t>(i);
    listeners[k].tr = &tr;
    listeners[k].slot = i;
    cs[k] = make_consumer(b, config());
    check(cs[k]->subscribe({std::string(rb_topic)}, &listeners[k]), "subscribe");
    stop[k].store(false);
    {
      std::lock_guard l(tr.mu);
      tr.slots[k] = {};
      tr.slots[k].active = true;
    }
    threads[k] = std::thread([this, k, t0] {
      if (t0 != nullptr) t0->store(mono_ns(), std::memory_order_release);
      poll_until(*cs[k], stop[k], 100ms);
      check(cs[k]->close(), "consumer::close");
    });
  }

  void stop_member(int i) {
    const auto k = static_cast<std::size_t>(i);
    stop[k].store(true, std::memory_order_release);
    cs[k]->wakeup();
    threads[k].join();
    cs[k].reset();
    std::lock_guard l(tr.mu);
    tr.slots[k].active = false;
  }

  // Waits until the group is Stable (above generation `above`) with its
  // active members, and every listener has run.
  void settle_members(const franz::broker& b, std::size_t members, std::int32_t above) {
    gen = settle(b, group, members, rb_partitions, above, [&](std::int32_t g) { return tr.all_at(g); });
  }

  // One member at a time, each settled before the next joins (see
  // form_group()).
  void start(franz::broker& b) {
    gen = 0;
    for (int i = 0; i < rb_members - 1; ++i) {
      start_member(b, i, nullptr);
      settle_members(b, static_cast<std::size_t>(i) + 1, gen);
    }
  }

  // One sample: the 8th member joins; returns nothing, appends to us.
  void sample(franz::broker& b) {
    {
      std::lock_guard l(tr.mu);
      tr.armed = true, tr.above = gen, tr.done = false, tr.revoked = 0;
    }
    std::this_thread::sleep_for(1ms);  // the 7 are asleep in poll
    std::atomic<std::uint64_t> t0_ns{0};
    start_member(b, rb_members - 1, &t0_ns);
    std::int32_t done_gen = 0;
    std::uint64_t done_ns = 0, rev = 0;
    {
      std::unique_lock l(tr.mu);
      if (!tr.cv.wait_for(l, settle_timeout, [&] { return tr.done; }))
        die("rebalance (%s): no Stable generation with 64 partitions owned within 30 s: %s", name,
            describe(b, group).c_str());
      done_gen = tr.done_gen, done_ns = tr.done_ns, rev = tr.revoked;
      tr.armed = false;
    }
    const std::uint64_t t0 = t0_ns.load(std::memory_order_acquire);
    // Untimed checks: the group agrees.
    auto d = b.groups().describe_group(group);
    check(d, "describe_group");
    if (d->state != franz::group_state::stable || d->generation != done_gen || d->members.size() != rb_members)
      die("rebalance (%s): listeners saw generation %d complete, but %s", name, done_gen, describe(b, group).c_str());
    for (const auto& m : d->members)
      if (m.assignment.size() != static_cast<std::size_t>(rb_partitions / rb_members))
        die("rebalance (%s): unbalanced: %s", name, describe(b, group).c_str());
    if (done_ns < t0) die("rebalance (%s): done before the join", name);
    us.push_back(static_cast<double>(done_ns - t0) / 1e3);
    gens.push_back(static_cast<double>(done_gen - gen));
    revoked.push_back(static_cast<double>(rev));
    // The 8th leaves; the 7 rebalance back (untimed).
    stop_member(rb_members - 1);
    settle_members(b, rb_members - 1, done_gen);
  }

  void shutdown() {
    for (int i = 0; i < rb_members - 1; ++i) stop_member(i);
  }
};

// The consumer's poll waiter itself: a signal bumps seq and notifies only a
// sleeper; a wait spins spin_us, then sleeps.
using cv_waiter = franz::detail::waiter;

// The baseline: two wake-up waves over 8 threads under one mutex (see the
// file comment). Thread 7 is the joiner; main starts a round through it.
struct cv_barrier {
  std::int64_t spin_us;
  std::array<cv_waiter, rb_members> w;
  std::mutex mu;  // the "coordinator"
  std::condition_variable done_cv;
  enum class phase { idle, joining, assigning } ph = phase::idle;
  int round = 0, joined = 0, acked = 0;
  int go_round = 0;  // main's request to thread 7
  std::array<int, rb_members> join_round{}, ack_round{};
  std::uint64_t t0 = 0, done_ns = 0;
  bool done = false;
  std::atomic<bool> stop{false};
  std::array<std::thread, rb_members> threads;
  std::vector<double> us;

  explicit cv_barrier(std::int64_t spin) : spin_us(spin) {
    for (int i = 0; i < rb_members; ++i) threads[static_cast<std::size_t>(i)] = std::thread([this, i] { run(i); });
  }

  void signal_all(int except) {
    for (int j = 0; j < rb_members; ++j)
      if (j != except) w[static_cast<std::size_t>(j)].signal();
  }

  void step(int i) {
    const auto k = static_cast<std::size_t>(i);
    if (i == rb_members - 1) {
      std::lock_guard l(mu);
      if (go_round > round) {  // the join
        t0 = mono_ns();
        ++round;
        ph = phase::joining;
        joined = 1, acked = 0;
        join_round[k] = round;
        signal_all(i);
      }
    }
    std::lock_guard l(mu);
    if (ph == phase::joining && join_round[k] != round) {  // wave 1: rejoin
      join_round[k] = round;
      if (++joined == rb_members) {
        ph = phase::assigning;
        signal_all(-1);
      }
    } else if (ph == phase::assigning && ack_round[k] != round) {  // wave 2: ack
      ack_round[k] = round;
      if (++acked == rb_members) {
        ph = phase::idle;
        done_ns = mono_ns();
        done = true;
        done_cv.notify_all();
      }
    }
  }

  void run(int i) {
    auto& me = w[static_cast<std::size_t>(i)];
    while (!stop.load(std::memory_order_acquire)) {
      const std::uint64_t seen = me.seq.load(std::memory_order_seq_cst);
      step(i);
      me.wait(seen, std::chrono::steady_clock::now() + 100ms, spin_us, [] { return false; });
    }
  }

  void sample() {
    std::this_thread::sleep_for(1ms);  // all asleep
    {
      std::lock_guard l(mu);
      done = false;
      ++go_round;
    }
    w[rb_members - 1].signal();
    std::unique_lock l(mu);
    if (!done_cv.wait_for(l, settle_timeout, [&] { return done; })) die("cv_barrier: a round did not complete in 30 s");
    us.push_back(static_cast<double>(done_ns - t0) / 1e3);
  }

  void shutdown() {
    stop.store(true, std::memory_order_release);
    for (auto& x : w) x.signal();
    for (auto& t : threads) t.join();
  }
};

// --- commit ------------------------------------------------------------------------------

enum class commit_mode { sync_durable, sync, async };

// A fresh broker with the commit topic: 8 partitions of 1000 records.
std::unique_ptr<franz::broker> commit_broker(const std::string& dir, const ring& rg) {
  auto b = open_broker(dir);
  check(b->create_topic(commit_topic, commit_partitions, {}), "create_topic");
  produce_untimed(*b, commit_topic, commit_partitions,
                  static_cast<std::uint64_t>(commit_records_per_partition * commit_partitions), rg);
  return b;
}

// Offsets committed in turn: 0..1000, never beyond the log end.
inline franz::offset commit_offset(std::uint64_t i) {
  return franz::offset{static_cast<std::int64_t>(i % static_cast<std::uint64_t>(commit_records_per_partition + 1))};
}

// One member owning all 8 partitions commits partition 0 for ms.
op_rate franz_commit_1(const options& opt, commit_mode mode, const ring& rg) {
  const std::string dir = fresh("commit1");
  auto b = commit_broker(dir, rg);
  auto cfg = member_config("commit-1", "range");
  cfg.commit_sync_durable = mode == commit_mode::sync_durable;
  auto c = make_consumer(*b, cfg);
  check(c->subscribe({std::string(commit_topic)}), "subscribe");
  wait_until(
      [&] {
        check(c->poll(1ms), "poll");
        return c->assignment().size() == static_cast<std::size_t>(commit_partitions);
      },
      [&] { return describe(*b, "commit-1"); });
  std::map<franz::topic_partition, franz::offset_and_metadata> offsets{
      {franz::topic_partition{std::string(commit_topic), 0}, franz::offset_and_metadata{franz::offset{0}, {}}}};
  auto& slot = offsets.begin()->second.off;
  // Untimed: the first commit creates __consumer_offsets; then nothing dirty.
  check(c->commit_sync(offsets), "commit_sync");
  sync_fs(g_tmp);
  const unsigned check_every = mode == commit_mode::sync_durable ? 1 : 64;
  op_rate r;
  const sync_meter meter;
  const std::uint64_t end_ns = mono_ns() + static_cast<std::uint64_t>(opt.commit_ms) * 1'000'000u;
  const stopwatch sw;
  for (bool more = true; more;) {
    for (unsigned k = 0; k < check_every; ++k) {
      slot = commit_offset(r.ops);
      if (mode == commit_mode::async) {
        c->commit_async(offsets);
      } else if (auto st = c->commit_sync(offsets); !st.ok()) [[unlikely]] {
        die("commit_sync: %s", st.error().to_string().c_str());
      }
      ++r.ops;
    }
    more = mono_ns() < end_ns;
  }
  r.time = sw.stop();
  meter.stop(r);
  r.per_s = static_cast<double>(r.ops) / r.time.wall;
  // The last commit is in the group (commit_async's errors show here).
  auto got = c->committed({offsets.begin()->first});
  check(got, "committed");
  const auto& last = got->begin()->second;
  if (!last || last->off != commit_offset(r.ops - 1))
    die("commit: the group holds offset %" PRId64 ", the last commit was %" PRId64,
        last ? last->off.value() : std::int64_t{-1}, commit_offset(r.ops - 1).value());
  check(c->close(), "consumer::close");
  c.reset();
  discard_broker(b, dir);
  return r;
}

// 4 members of one group, each committing one of its partitions (durable)
// on its own thread for ms.
op_rate franz_commit_4t(const options& opt, const ring& rg) {
  const std::string dir = fresh("commit4");
  auto b = commit_broker(dir, rg);
  const std::string group = "commit-4";
  std::array<std::unique_ptr<franz::consumer>, commit_threads> cs;
  for (auto& c : cs) {
    c = make_consumer(*b, member_config(group, "range"));
    check(c->subscribe({std::string(commit_topic)}), "subscribe");
  }
  std::atomic<bool> settled{false}, go{false};
  std::atomic<int> ready{0}, finished{0};
  std::array<std::atomic<std::int32_t>, commit_threads> gens{};
  std::array<std::uint64_t, commit_threads> ops{}, end_at{};
  std::uint64_t end_ns = 0;
  for (auto& g : gens) g.store(-1);
  std::vector<std::thread> ts;
  ts.reserve(static_cast<std::size_t>(gens.size()));
  auto start = [&](int t) {
    ts.emplace_back([&, t] {
      const auto k = static_cast<std::size_t>(t);
      franz::consumer& c = *cs[k];
      while (!settled.load(std::memory_order_acquire)) {
        check(c.poll(1ms), "poll");
        gens[k].store(c.generation(), std::memory_order_release);
      }
      const auto mine = c.assignment();
      if (mine.empty()) die("commit_4t: member %d owns no partition", t);
      std::map<franz::topic_partition, franz::offset_and_metadata> offsets{
          {mine.front(), franz::offset_and_metadata{franz::offset{0}, {}}}};
      auto& slot = offsets.begin()->second.off;
      check(c.commit_sync(offsets), "commit_sync");  // untimed: the first creates __consumer_offsets
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      std::uint64_t n = 0;
      do {
        slot = commit_offset(n);
        if (auto st = c.commit_sync(offsets); !st.ok()) [[unlikely]]
          die("commit_4t: commit_sync: %s", st.error().to_string().c_str());
        ++n;
      } while (mono_ns() < end_ns);
      ops[k] = n;
      end_at[k] = mono_ns();
      // Leave only when every member is done: a leave starts a rebalance.
      finished.fetch_add(1);
      while (finished.load() < commit_threads) std::this_thread::yield();
      check(c.close(), "consumer::close");
    });
  };
  form_group(*b, group, commit_threads, commit_partitions, start, gens);
  settled.store(true, std::memory_order_release);
  while (ready.load() < commit_threads) std::this_thread::yield();
  sync_fs(g_tmp);
  const sync_meter meter;
  const stopwatch sw;
  const std::uint64_t t0 = mono_ns();
  end_ns = t0 + static_cast<std::uint64_t>(opt.commit_ms) * 1'000'000u;
  go.store(true, std::memory_order_release);
  for (auto& t : ts) t.join();
  op_rate r;
  r.time = sw.stop();
  r.time.wall = static_cast<double>(*std::max_element(end_at.begin(), end_at.end()) - t0) * 1e-9;
  meter.stop(r);
  for (auto n : ops) r.ops += n;
  r.per_s = static_cast<double>(r.ops) / r.time.wall;
  for (auto& c : cs) c.reset();
  discard_broker(b, dir);
  return r;
}

// --- consume -----------------------------------------------------------------------------

struct consume_result {
  timing time;
  std::uint64_t records = 0;
  std::uint64_t value_bytes = 0;
  std::uint64_t polls = 0;
};

// Pauses every partition it is assigned: nothing is fetched until the run
// starts.
struct pausing_listener final : franz::consumer_rebalance_listener {
  void on_partitions_assigned(franz::consumer& c, const std::vector<franz::topic_partition>& ps) override {
    if (!ps.empty()) check(c.pause(ps), "pause");
  }
};

// A fresh group of `members` members (one thread each) reads the n records
// of the consume topic to the end (see the file comment).
consume_result group_consume(const options& opt, franz::broker& b, std::uint64_t n, int members,
                             const std::string& group) {
  std::vector<std::unique_ptr<franz::consumer>> cs;
  std::vector<pausing_listener> ls(static_cast<std::size_t>(members));
  for (int i = 0; i < members; ++i) {
    auto cfg = member_config(group, "range");
    cfg.max_poll_records = opt.max_poll_records;
    cs.push_back(make_consumer(b, cfg));
    check(cs.back()->subscribe({std::string(consume_topic)}, &ls[static_cast<std::size_t>(i)]), "subscribe");
  }
  std::atomic<bool> settled{false}, go{false};
  std::atomic<int> ready{0};
  std::vector<std::atomic<std::int32_t>> gens(static_cast<std::size_t>(members));
  std::vector<consume_result> res(static_cast<std::size_t>(members));
  std::vector<std::uint64_t> end_at(static_cast<std::size_t>(members));
  for (auto& g : gens) g.store(-1);
  std::vector<std::thread> ts;
  ts.reserve(static_cast<std::size_t>(gens.size()));
  auto start = [&](int t) {
    ts.emplace_back([&, t] {
      const auto k = static_cast<std::size_t>(t);
      franz::consumer& c = *cs[k];
      while (!settled.load(std::memory_order_acquire)) {
        auto r = c.poll(1ms);
        check(r, "poll");
        if (!r->empty()) die("consume: a member fetched records before the start");
        gens[k].store(c.generation(), std::memory_order_release);
      }
      const auto mine = c.assignment();
      auto ends = c.end_offsets(mine);
      check(ends, "end_offsets");
      std::uint64_t want = 0;
      for (const auto& [tp, end] : *ends) want += static_cast<std::uint64_t>(end.value());
      std::vector<std::int64_t> next(static_cast<std::size_t>(consume_partitions), 0);
      consume_result& me = res[k];
      std::uint64_t touch = 0;
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      check(c.resume(mine), "resume");
      int empty_polls = 0;
      while (me.records < want) {
        auto recs = c.poll(100ms);
        check(recs, "poll");
        ++me.polls;
        if (recs->empty()) {
          if (++empty_polls > 50)
            die("consume: member %d stalled at %" PRIu64 " of %" PRIu64 " records (5 s without data)", t, me.records,
                want);
          continue;
        }
        for (const auto& r : *recs) {
          auto& nx = next[static_cast<std::size_t>(r.partition)];
          if (r.off.value() != nx) [[unlikely]]
            die("consume: %d-%" PRId64 " where %" PRId64 " was expected", r.partition, r.off.value(), nx);
          ++nx;
          me.value_bytes += r.value.size();
          touch += static_cast<unsigned char>(r.value[0]);
        }
        me.records += recs->size();
      }
      end_at[k] = mono_ns();
      g_sink += touch;
    });
  };
  form_group(b, group, members, consume_partitions, start, gens);
  settled.store(true, std::memory_order_release);
  while (ready.load() < members) std::this_thread::yield();
  const stopwatch sw;
  const std::uint64_t t0 = mono_ns();
  go.store(true, std::memory_order_release);
  for (auto& t : ts) t.join();
  consume_result out;
  out.time = sw.stop();
  out.time.wall = static_cast<double>(*std::max_element(end_at.begin(), end_at.end()) - t0) * 1e-9;
  for (const auto& r : res) {
    out.records += r.records;
    out.value_bytes += r.value_bytes;
    out.polls += r.polls;
  }
  if (out.records != n || out.value_bytes != n * value_bytes)
    die("consume (%d members): %" PRIu64 " records, %" PRIu64 " value bytes; expected %" PRIu64 ", %" PRIu64, members,
        out.records, out.value_bytes, n, n * value_bytes);
  for (auto& c : cs) check(c->close(), "consumer::close");
  return out;
}

// --- output ------------------------------------------------------------------------------

struct summary_row {
  std::string workload, impl, value, baseline, ratio, extra;
};

// Text labels 10 wide; info() values with 3 decimals in CSV; a summary table.
struct output : table_output {
  std::vector<summary_row> summary;

  // Operations per second of every run (commits/s, records/s): the median,
  // the ratio to a baseline (name, median rate), cpu, extra key=value text.
  void rate(const char* workload, const char* impl, const std::vector<double>& per_s, const std::vector<double>& cpu,
            const char* unit, const std::string& baseline_name = {}, std::optional<double> base = std::nullopt,
            const std::string& extra = {}, bool add_summary = true, double bytes_per_op = 0) {
    const double r = median(per_s);
    const double c = median(cpu);
    if (add_summary)
      summary.push_back({workload, impl, fmt::format("{} {}/s", human(r), unit),
                         base ? fmt::format("{} {}", baseline_name, human(*base)) : std::string("-"),
                         base ? fmt::format("{:.2f}x", r / *base) : std::string("-"), extra});
    if (csv) {
      std::printf("%s,%s,per_s,%.0f,%s/s,,\n", workload, impl, r, unit);
      if (bytes_per_op > 0) std::printf("%s,%s,mb_per_s,%.1f,MB/s,,\n", workload, impl, r * bytes_per_op / 1e6);
      if (base) std::printf("%s,%s,ratio_%s,%.3f,x,,\n", workload, impl, baseline_name.c_str(), r / *base);
      std::printf("%s,%s,cpu,%.0f,%%,,\n", workload, impl, c);
      for (std::size_t i = 0; i < per_s.size(); ++i)
        std::printf("%s,%s,run%zu_per_s,%.0f,%s/s,,\n", workload, impl, i + 1, per_s[i], unit);
      return;
    }
    std::string rat;
    if (base) rat = fmt::format("ratio={:.3f} vs {}", r / *base, baseline_name);
    std::string mbs;
    if (bytes_per_op > 0) mbs = fmt::format("MB/s={:7.1f}  ", r * bytes_per_op / 1e6);
    std::printf("%-10s %-17s %s/s=%9s  %scpu=%3.0f%%  %-28s %s%sruns=%s\n", workload, impl, unit, human(r).c_str(),
                mbs.c_str(), c, rat.c_str(), extra.c_str(), extra.empty() ? "" : "  ", run_list(per_s).c_str());
  }

  // Latency samples (us): p50, p99, max, mean, and ratios to a baseline's.
  void latency(const char* workload, const char* impl, std::vector<double> us, const std::string& baseline_name,
               const std::vector<double>* base, const std::string& extra = {}) {
    std::sort(us.begin(), us.end());
    const double p50 = percentile(us, 0.50), p99 = percentile(us, 0.99), mx = us.empty() ? 0 : us.back();
    double mean = 0;
    for (double x : us) mean += x;
    mean = us.empty() ? 0 : mean / static_cast<double>(us.size());
    double b50 = 0, b99 = 0;
    if (base != nullptr) {
      auto b = *base;
      std::sort(b.begin(), b.end());
      b50 = percentile(b, 0.50), b99 = percentile(b, 0.99);
    }
    const bool ratio = base != nullptr && b50 > 0 && b99 > 0;
    summary.push_back({workload, impl, fmt::format("p50 {:.1f} us, p99 {:.1f} us", p50, p99),
                         ratio ? fmt::format("{} p50 {:.1f} us", baseline_name, b50) : std::string("-"),
                         ratio ? fmt::format("{:.1f}x p50, {:.1f}x p99", p50 / b50, p99 / b99) : std::string("-"),
                         extra});
    if (csv) {
      std::printf("%s,%s,p50,%.1f,us,,\n%s,%s,p99,%.1f,us,,\n%s,%s,max,%.1f,us,,\n%s,%s,mean,%.1f,us,,\n", workload,
                  impl, p50, workload, impl, p99, workload, impl, mx, workload, impl, mean);
      std::printf("%s,%s,samples,%zu,,,\n", workload, impl, us.size());
      if (ratio) {
        std::printf("%s,%s,ratio_p50_%s,%.3f,x,,\n", workload, impl, baseline_name.c_str(), p50 / b50);
        std::printf("%s,%s,ratio_p99_%s,%.3f,x,,\n", workload, impl, baseline_name.c_str(), p99 / b99);
      }
      return;
    }
    std::string rat;
    if (ratio) rat = fmt::format("ratio p50={:.1f}x p99={:.1f}x vs {}", p50 / b50, p99 / b99, baseline_name);
    std::printf("%-10s %-17s p50=%9.1f us  p99=%9.1f us  max=%9.1f us  mean=%9.1f us  n=%zu  %s%s%s\n", workload, impl,
                p50, p99, mx, mean, us.size(), rat.c_str(), rat.empty() || extra.empty() ? "" : "  ", extra.c_str());
  }

  // A plain metric printed as a csv row only.
  void metric(const char* workload, const char* impl, const char* metric, double value, const char* unit) const {
    if (csv) std::printf("%s,%s,%s,%.3f,%s,,\n", workload, impl, metric, value, unit);
  }

  static std::string human(double v) {
    if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
    if (v >= 1e4) return fmt::format("{:.1f}k", v / 1e3);
    return fmt::format("{:.0f}", v);
  }
  static std::string run_list(const std::vector<double>& runs) {
    std::string s;
    for (double x : runs) s += (s.empty() ? "" : ",") + human(x);
    return s;
  }

  void print_summary() const {
    if (csv || summary.empty()) return;
    std::size_t w[6] = {8, 4, 5, 8, 5, 5};
    auto widen = [&](const summary_row& r) {
      const std::string* f[6] = {&r.workload, &r.impl, &r.value, &r.baseline, &r.ratio, &r.extra};
      for (int i = 0; i < 6; ++i) w[i] = std::max(w[i], f[i]->size());
    };
    const summary_row head{"workload", "impl", "value", "baseline", "ratio", "extra"};
    widen(head);
    for (const auto& r : summary) widen(r);
    auto line = [&](const summary_row& r) {
      std::printf("| %-*s | %-*s | %*s | %-*s | %*s | %-*s |\n", static_cast<int>(w[0]), r.workload.c_str(),
                  static_cast<int>(w[1]), r.impl.c_str(), static_cast<int>(w[2]), r.value.c_str(),
                  static_cast<int>(w[3]), r.baseline.c_str(), static_cast<int>(w[4]), r.ratio.c_str(),
                  static_cast<int>(w[5]), r.extra.c_str());
    };
    std::printf("\n# summary (medians over runs; rebalance: percentiles over samples; ratio = franz / baseline of "
                "the same run)\n");
    line(head);
    std::string sep = "|";
    for (auto x : w) sep += std::string(x + 2, '-') + "|";
    std::printf("%s\n", sep.c_str());
    for (const auto& r : summary) line(r);
  }
};

// Runs the callables in an order rotated by rep (baseline and franz runs
// take turns going first).
template <class... F>
void rotate_runs(int rep, F&... f) {
  std::array<std::function<void()>, sizeof...(F)> runs{std::function<void()>(f)...};
  for (std::size_t i = 0; i < runs.size(); ++i) runs[(i + static_cast<std::size_t>(rep)) % runs.size()]();
}

}  // namespace

int main(int argc, char** argv) {
  g_prog = "group_bench";
  const options opt = parse_args(argc, argv);
  g_quiet = opt.quiet;
  output out{{opt.csv, 10, 3}, {}};
  make_temp_dir(opt.tmpdir, "franz-groupbench");

  const std::string load = load_average();
  const machine_cpu cpu0 = sample_machine_cpu();
  const unsigned ncpu = cpu_count();
  const int reps = std::max(1, opt.reps);
  const std::uint64_t n = opt.records;

  out.header();
  out.meta("machine", machine_description(ncpu, load));
  out.meta("sizes", fmt::format("rebalances={} reps={} records={} commit_ms={} max_poll_records={} "
                                "poll_spin_us(rebalance)={}",
                                opt.rebalances, reps, n, opt.commit_ms, opt.max_poll_records,
                                fmt::join(opt.poll_spins, ",")));
  out.meta("record", fmt::format("{} B payload = {} B key (index) + {} B value; brokers with background maintenance "
                                 "(100 ms); consumers: enable.auto.commit=false, check.crcs=true",
                                 record_bytes, key_bytes, value_bytes));
  out.meta("method", fmt::format("rebalance: percentiles over {} samples per protocol, eager/cooperative/baseline "
                                 "samples alternate; commit, consume: median of {} runs, baseline and franz runs "
                                 "alternate; cpu = process CPU time / wall (all threads)",
                                 opt.rebalances, reps));
  out.meta("dir", g_tmp);
  std::fflush(stdout);

  ring rg;

  // 1. rebalance: an 8th member joins 7 stable ones; eager, cooperative, cv
  // baseline; once per poll.spin.us setting, each with its own broker.
  if (opt.wants("rebalance")) {
    for (const std::int64_t spin : opt.poll_spins) {
      const std::string dir = fresh("rebalance");
      auto b = open_broker(dir);
      check(b->create_topic(rb_topic, rb_partitions, {}), "create_topic");
      rb_group eager("eager", "range"), coop("cooperative", "cooperative-sticky");
      eager.spin_us = coop.spin_us = spin;
      progress("rebalance (poll.spin.us=%" PRId64 "): starting 2 x 7 stable members", spin);
      eager.start(*b);
      coop.start(*b);
      std::optional<cv_barrier> base;
      if (opt.baselines) base.emplace(spin);
      const int every = std::max(1, opt.rebalances / 5);
      for (int rep = 0; rep < opt.rebalances; ++rep) {
        if (rep % every == 0)
          progress("rebalance (poll.spin.us=%" PRId64 ") sample %d/%d", spin, rep + 1, opt.rebalances);
        auto e = [&] { eager.sample(*b); };
        auto c = [&] { coop.sample(*b); };
        auto r = [&] {
          if (base) base->sample();
        };
        rotate_runs(rep, r, e, c);
      }
      eager.shutdown();
      coop.shutdown();
      if (base) base->shutdown();
      discard_broker(b, dir);
      auto name = [&](const char* what) { return fmt::format("{}/spin{}", what, spin); };
      const std::string base_name = name("cv_barrier");
      const std::vector<double>* bs = base ? &base->us : nullptr;
      if (base) out.latency("rebalance", base_name.c_str(), base->us, {}, nullptr, "2 wake-up waves x 8 threads");
      for (rb_group* g : {&eager, &coop}) {
        const std::string impl = name(g->name);
        out.latency("rebalance", impl.c_str(), g->us, base_name, bs,
                    fmt::format("{} generations={:.0f} revoked={:.0f}", g->strategy, median(g->gens),
                                median(g->revoked)));
        out.metric("rebalance", impl.c_str(), "generations_per_rebalance", median(g->gens), "generations");
        out.metric("rebalance", impl.c_str(), "partitions_revoked", median(g->revoked), "partitions");
        if (g->tr.lost != 0) die("rebalance (%s): %" PRIu64 " partitions were lost", g->name, g->tr.lost);
      }
      auto e = eager.us, c = coop.us;
      std::sort(e.begin(), e.end());
      std::sort(c.begin(), c.end());
      const double r50 = percentile(c, 0.5) / percentile(e, 0.5), r99 = percentile(c, 0.99) / percentile(e, 0.99);
      const std::string impl = name("cooperative");
      out.info("rebalance", impl.c_str(), "ratio_p50_eager", r50, "x",
               fmt::format("poll.spin.us={}: cooperative / eager = {:.2f}x p50, {:.2f}x p99", spin, r50, r99));
      out.metric("rebalance", impl.c_str(), "ratio_p99_eager", r99, "x");
      std::fflush(stdout);
    }
  }

  // 2. commit: commits/s against write()+fdatasync() and write() of 100 B.
  if (opt.wants("commit")) {
    struct series {
      std::vector<double> per_s, cpu, per_sync, us_per_sync;
      void add(const op_rate& r) {
        per_s.push_back(r.per_s);
        cpu.push_back(100.0 * r.time.cpu / r.time.wall);
        const double syncs = std::max<double>(1, static_cast<double>(r.fdatasyncs));
        per_sync.push_back(static_cast<double>(r.ops) / syncs);
        us_per_sync.push_back(static_cast<double>(r.fdatasync_ns) / 1e3 / syncs);
      }
    };
    series raw_fds, raw_w, durable, sync, async, four;
    for (int rep = 0; rep < reps; ++rep) {
      progress("commit run %d/%d (%" PRId64 " ms per variant)", rep + 1, reps, opt.commit_ms);
      auto rf = [&] {
        if (opt.baselines) raw_fds.add(raw_record_loop(fresh("rawfds") + ".dat", opt.commit_ms, rg, true));
      };
      auto rw = [&] {
        if (opt.baselines) raw_w.add(raw_record_loop(fresh("raww") + ".dat", opt.commit_ms, rg, false));
      };
      auto d = [&] { durable.add(franz_commit_1(opt, commit_mode::sync_durable, rg)); };
      auto s = [&] { sync.add(franz_commit_1(opt, commit_mode::sync, rg)); };
      auto a = [&] { async.add(franz_commit_1(opt, commit_mode::async, rg)); };
      auto f = [&] { four.add(franz_commit_4t(opt, rg)); };
      rotate_runs(rep, rf, d, f, rw, s, a);
      sync_fs(g_tmp);
    }
    std::optional<double> bf, bw;
    if (opt.baselines) {
      bf = median(raw_fds.per_s), bw = median(raw_w.per_s);
      out.rate("commit", "raw_write+fds", raw_fds.per_s, raw_fds.cpu, "ops", {}, std::nullopt,
               fmt::format("us/op={:.1f} us/fdatasync={:.1f}", 1e6 / *bf, median(raw_fds.us_per_sync)), false);
      out.metric("commit", "raw_write+fds", "us_per_fdatasync", median(raw_fds.us_per_sync), "us");
      out.rate("commit", "raw_write", raw_w.per_s, raw_w.cpu, "ops", {}, std::nullopt,
               fmt::format("us/op={:.2f}", 1e6 / *bw), false);
    }
    out.rate("commit", "sync_durable", durable.per_s, durable.cpu, "commits", "raw_write+fds", bf,
             fmt::format("commits/fdatasync={:.2f} us/fdatasync={:.1f}", median(durable.per_sync),
                         median(durable.us_per_sync)));
    out.rate("commit", "sync_durable_4t", four.per_s, four.cpu, "commits", "raw_write+fds", bf,
             fmt::format("commits/fdatasync={:.2f} us/fdatasync={:.1f}", median(four.per_sync),
                         median(four.us_per_sync)));
    out.rate("commit", "sync", sync.per_s, sync.cpu, "commits", "raw_write", bw,
             fmt::format("us/commit={:.2f}", 1e6 / median(sync.per_s)));
    out.rate("commit", "async", async.per_s, async.cpu, "commits", "raw_write", bw,
             fmt::format("us/commit={:.2f}", 1e6 / median(async.per_s)));
    out.metric("commit", "sync_durable", "commits_per_fdatasync", median(durable.per_sync), "commits");
    out.metric("commit", "sync_durable", "us_per_fdatasync", median(durable.us_per_sync), "us");
    out.metric("commit", "sync_durable_4t", "commits_per_fdatasync", median(four.per_sync), "commits");
    out.metric("commit", "sync_durable_4t", "us_per_fdatasync", median(four.us_per_sync), "us");
    out.info("commit", "sync_durable_4t", "ratio_1t", median(four.per_s) / median(durable.per_s), "x",
             fmt::format("4 members committing durable at once / 1 member: {:.2f}x",
                         median(four.per_s) / median(durable.per_s)));
    std::fflush(stdout);
  }

  // 3. consume: one consumer and a group of 4 read N records; read() baseline.
  if (opt.wants("consume")) {
    std::vector<double> raw_r, raw_c, one_r, one_c, four_r, four_c, one_polls, four_polls;
    for (int rep = 0; rep < reps; ++rep) {
      progress("consume run %d/%d (%" PRIu64 " records; producing them first, untimed)", rep + 1, reps, n);
      const std::string dir = fresh("consume");
      auto b = open_broker(dir);
      check(b->create_topic(consume_topic, consume_partitions, {}), "create_topic");
      prewarm(opt, footprint(n, 120));
      produce_untimed(*b, consume_topic, consume_partitions, n, rg);
      const std::string path = fresh("rawread") + ".dat";
      if (opt.baselines) raw_write_file(path, n, rg);
      sync_fs(g_tmp);
      auto r = [&] {
        if (!opt.baselines) return;
        const file_read s = raw_read(path);
        if (s.bytes != n * record_bytes) die("raw read: %" PRIu64 " bytes", s.bytes);
        raw_r.push_back(static_cast<double>(n) / s.time.wall);
        raw_c.push_back(100.0 * s.time.cpu / s.time.wall);
      };
      auto one = [&] {
        const consume_result c = group_consume(opt, *b, n, 1, fmt::format("consume-1-{}", rep));
        one_r.push_back(static_cast<double>(n) / c.time.wall);
        one_c.push_back(100.0 * c.time.cpu / c.time.wall);
        one_polls.push_back(static_cast<double>(c.polls));
      };
      auto four = [&] {
        const consume_result c = group_consume(opt, *b, n, consume_members, fmt::format("consume-4-{}", rep));
        four_r.push_back(static_cast<double>(n) / c.time.wall);
        four_c.push_back(100.0 * c.time.cpu / c.time.wall);
        four_polls.push_back(static_cast<double>(c.polls));
      };
      rotate_runs(rep, r, one, four);
      ::unlink(path.c_str());
      discard_broker(b, dir);
    }
    std::optional<double> base;
    if (opt.baselines) {
      base = median(raw_r);
      out.rate("consume", "raw_read+sum", raw_r, raw_c, "rec", {}, std::nullopt, {}, false, record_bytes);
    }
    out.rate("consume", "franz_1", one_r, one_c, "rec", "raw_read+sum", base,
             fmt::format("polls={:.0f}", median(one_polls)), true, record_bytes);
    out.rate("consume", "franz_group4", four_r, four_c, "rec", "raw_read+sum", base,
             fmt::format("polls={:.0f} group4/1={:.2f}x", median(four_polls), median(four_r) / median(one_r)), true,
             record_bytes);
    out.metric("consume", "franz_group4", "ratio_franz_1", median(four_r) / median(one_r), "x");
    std::fflush(stdout);
  }

  out.contention(cpu0, ncpu);
  out.print_summary();
  if (g_sink.load() == 42) std::printf("\n");  // keeps the touched bytes observable
  cleanup();
  return 0;
}
