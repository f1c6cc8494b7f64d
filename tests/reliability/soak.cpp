// franz — soak: the whole messaging stack under steady load for a bounded
// time, with consumers dying and restarting, then a check of the entire
// history (reliability suite, part 7).
//
//   soak [--seconds N] [--data-dir D] [--keep] [--kill-every S] [--seed N]
//        [--rate R] [--samples CSV]
//
//   --seconds N     length of the load phase (default 120: the CI form; the
//                   long form is --seconds 1200)
//   --data-dir D    data directory (default: a fresh /tmp/franz-soak-XXXXXX,
//                   removed at the end unless --keep; a given one is kept)
//   --kill-every S  a consumer is killed or restarted every S seconds
//                   (default 30; 0: never)
//   --seed N        payloads (default 1)
//   --rate R        records/s over all producers (default 20000, ~5 MB/s;
//                   ASan 6000 and TSan 4000 records of up to 1 KiB, ~3.5
//                   and ~2.3 MB/s: about one core in each build)
//   --samples CSV   writes the per-second RSS and fd samples
//
// Prints a summary and a last line "soak: PASS" or "soak: FAIL: <reasons>";
// exits 0 only on PASS (1 on FAIL, 2 on a bad command line).
//
// One process, public API only: a broker (background maintenance on) with
// one topic of 16 partitions, 1 MiB segments, retention.bytes 3 MiB and
// retention.ms 10 s per partition, so segments roll and are deleted all the
// time. 8 producers (each its own producer object; 6 with acks=1, 2 with
// acks=all), throttled. Record key "p<producer>-<seq>" (so each producer
// spreads over every partition, and the partition of a (producer, seq) is
// fixed by the key); value = magic, producer, seq, payload length, a payload
// derived from (seed, producer, seq), XXH3 of everything before it.
// 3 groups x 4 consumers (range/eager, cooperative-sticky, roundrobin/eager;
// per consumer commit_sync, auto-commit or commit_async). An auditor — one
// assign()-mode consumer without a group — reads every partition as it
// grows, so the history is checked before retention deletes it.
//
// What is checked, and how (bounded memory: RSS is measured, so the harness
// keeps no per-record state beyond a fixed ring per partition):
//  * Log (auditor, live): offsets dense from the log start (a jump only over
//    records retention deleted: the jump's end is <= the log start right
//    after); every record's checksum, payload and key (its partition is the
//    key's); per (producer, partition) sequences strictly increasing in offset
//    order — since a (producer, seq) always maps to one partition, that also
//    means no (producer, seq) twice in the log. The auditor remembers the
//    identity at each of the last W offsets of each partition (W covers more
//    than retention keeps).
//  * Acknowledgements: each ack (partition, offset) of (producer, seq) is
//    compared with the identity the auditor read at that offset (now, or
//    when the auditor gets there). A different identity, or an offset the log
//    never reaches, is LOST; an offset the auditor saw deleted by retention
//    before it got there is counted (not a failure: below the log start).
//    Per producer, acks of one partition come in increasing offset order.
//  * Log start: never goes back, is always a segment base offset, and each
//    move is retention's: after a retention.bytes deletion the log keeps
//    >= retention.bytes, so a move is accepted if the partition now holds
//    >= retention.bytes, or if every deleted record is older than
//    retention.ms (newest timestamp below the new start, from the auditor's
//    per-256-record prefix maxima: a lower bound, so the check never fails a
//    correct deletion; 1 s slack for clock coarseness).
//  * Groups (at least once): a member tracks, per partition it owns, the next
//    offset it must get: the group's committed offset when it was assigned
//    (0 without one). Within one ownership delivery is dense; a forward jump
//    is allowed only over records deleted by retention (jump end <= log start
//    just after the poll), and is recorded as a justified skip. At the end,
//    per group and partition, delivered ∪ justified skips must cover
//    [0, log end). Two live owners of one partition are a failure. Offsets
//    delivered again are counted as duplicates delivered (allowed: kills
//    lose the uncommitted tail). After the drain each group's committed
//    offsets must equal the log end (so lie in [log start, log end]), and
//    must read back the same after the broker is reopened.
//  * Final checker: every client and the broker closed, the data directory
//    is reopened (no maintenance) and every partition read from its log
//    start to its end with the auditor's checks, an explicit set for
//    "(producer, seq) twice", the same log end as before the close, a log
//    start no lower, and the same identity at each offset as the auditor saw
//    live (so acked records still in the log are at their offsets).
//  * Memory (/proc/self/status every second: VmRSS, RssAnon, RssFile).
//    Warm-up = the first 20% of the run, at least 10 s. RSS has two parts
//    that behave differently. Mapped segment pages (RssFile) follow the
//    segments: a sawtooth with each roll of the 16 active segments, and a
//    bulge while a group that a kill stalled catches up through sealed
//    segments (readers keep those pages mapped until retention deletes the
//    segment); they are bounded by retention, not by time, so the check is a
//    bound: max RssFile after warm-up <= RssFile before the broker opened +
//    16 * (retention.bytes + 2 segments) + 16 MiB (index pages, and the
//    offsets topic's writer window, which fills to ~7 MiB in the first
//    minutes: 4 MiB kept behind the writer, a 2 MiB drop step, 1 MiB
//    prefaulted ahead).
//    Anonymous memory (heap, stacks, sanitizer shadow) is where a leak
//    grows: RSS growth = (max RssAnon in the last W s of the run - max
//    RssAnon in the last W s of warm-up) / max VmRSS in the last W s of
//    warm-up, < 10%; W = 1.5 segment-roll periods (measured) clamped to
//    [5 s, warm-up / 2]. Peaks of two windows that each span the sawtooth
//    compare like with like: a trend shows, the oscillation does not. The
//    denominator is the whole RSS, as "RSS grows < 10%" means; anonymous
//    memory alone is small (~12 MiB) and its allocator high-water mark
//    settles by ~1 MiB over the first minutes as consumers are replaced
//    (malloc arenas, thread stacks), which would be 10% of it. Under ASan
//    (quarantine, set to 16 MiB here; allocator caches) and TSan (shadow of
//    the mapped segments, which follows the sawtooth; per-thread state of
//    replaced consumers) the limit is 25%.
//    Total VmRSS and its growth by the same windows are printed too.
//  * fds (/proc/self/fd, every second, classified by readlink): after
//    warm-up, max - min of all fds <= 2 * 16 * F + 16, where F is the fds a
//    segment holds (measured at start: .log, .index, .timeindex). At a
//    steady rate a partition's segment count moves by one over each roll
//    cycle (a roll adds the next segment; retention, on the 100 ms
//    maintenance tick, removes the oldest once the data past it alone
//    satisfies retention.bytes or it aged past retention.ms), and by one
//    more when the rate wobbles across the retention boundary: 2 per
//    partition. 16 for transient fds (checkpoint and topics.meta rewrites,
//    directory fsyncs, the offsets topic, this sampler). Fds that are not
//    segment files must stay within 8 of their minimum, and once every
//    client is closed no fd may point at a deleted segment file.
//
// Kills (every --kill-every s, rotating over the groups, alternating with
// restarts): the member's thread stops between processing a poll and
// committing it. Even kills abandon the consumer (no call at all: the group
// removes it after max.poll.interval.ms); odd kills of a member that does
// not auto-commit close it with remain_in_group (no commit; removed after
// session.timeout.ms). A replacement joins at once; the dead consumer is
// destroyed once the group has removed it (its partitions are then "lost",
// without a commit). A restart is a clean close (commit, leave) and a new
// consumer.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "franz/franz.hpp"  // also XXH3_64bits (inlined by format/record_batch.hpp)

namespace {

using namespace std::chrono_literals;
using franz::offset;
using steady = std::chrono::steady_clock;

#if defined(__SANITIZE_ADDRESS__)
#define SOAK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define SOAK_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SOAK_TSAN 1
#endif
#endif
#ifdef SOAK_ASAN
constexpr bool asan = true;
#else
constexpr bool asan = false;
#endif
#ifdef SOAK_TSAN
constexpr bool tsan = true;
#else
constexpr bool tsan = false;
#endif

// ---- shape of the run ------------------------------------------------------------

constexpr std::string_view topic = "soak";
constexpr int partitions = 16;
constexpr int producers = 8;
constexpr int acks_all_producers = 2;  // the last two
constexpr int groups = 3;
constexpr int members_per_group = 4;
constexpr std::int64_t segment_bytes = 1 << 20;
constexpr std::int64_t retention_bytes = 3 << 20;
constexpr std::int64_t retention_ms = 10000;
constexpr std::int64_t session_timeout_ms = 3000;
constexpr std::int64_t max_poll_interval_ms = 5000;
// Sanitized builds send fewer, larger records: segments still roll every
// few seconds (the roll sets the period of the RSS sawtooth, see summarize)
// for less CPU per byte of log.
constexpr std::size_t payload_min = 64, payload_max = asan || tsan ? 1024 : 320;
constexpr std::array<const char*, groups> strategies{"range", "cooperative-sticky", "roundrobin"};

struct options {
  int seconds = 120;
  std::string data_dir{};
  bool keep = false;
  int kill_every = 30;
  std::uint64_t seed = 1;
  double rate = tsan ? 4000 : asan ? 6000 : 20000;
  std::string samples_file{};
};

double since(steady::time_point t0) { return std::chrono::duration<double>(steady::now() - t0).count(); }
std::int64_t wall_ms() { return franz::system_clock::instance().now_ms(); }

// ---- failures ----------------------------------------------------------------------

// Every check that fails lands here, by category (the FAIL line lists the
// categories); the first messages are printed. Thread-safe.
class failures {
 public:
  void add(const std::string& category, std::string message) {
    std::lock_guard g(mu_);
    ++counts_[category];
    if (first_.size() < 40) first_.push_back(category + ": " + std::move(message));
  }
  [[nodiscard]] bool empty() const {
    std::lock_guard g(mu_);
    return counts_.empty();
  }
  [[nodiscard]] std::string reasons() const {
    std::lock_guard g(mu_);
    std::string s;
    for (const auto& [k, v] : counts_) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", v, k);
    return s;
  }
  void print_first() const {
    std::lock_guard g(mu_);
    for (const auto& m : first_) std::printf("  ! %s\n", m.c_str());
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> counts_;
  std::vector<std::string> first_;
};

failures fail;

// ---- records ---------------------------------------------------------------------

// Value layout (little endian): u32 magic, u8 producer, u64 seq, u32 payload
// length, payload, u64 XXH3-64 of every byte before it.
constexpr std::uint32_t magic = 0x4b414f53;  // "SOAK"
constexpr std::size_t head_bytes = 4 + 1 + 8 + 4;
constexpr std::size_t value_overhead = head_bytes + 8;

std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

template <class T>
void put_le(char* p, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff);
}
template <class T>
T get_le(const char* p) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return static_cast<T>(v);
}

// The payload of (producer, seq) is a function of the seed: the auditor and
// the checker regenerate it, so "same content" is checked byte for byte.
struct payload_gen {
  std::uint64_t seed = 0;
  [[nodiscard]] std::uint64_t start(int prod, std::uint64_t seq) const {
    return mix64(seed ^ (static_cast<std::uint64_t>(prod) << 56) ^ mix64(seq));
  }
  [[nodiscard]] std::size_t length(int prod, std::uint64_t seq) const {
    return payload_min + mix64(start(prod, seq)) % (payload_max - payload_min + 1);
  }
  void fill(int prod, std::uint64_t seq, char* out, std::size_t n) const {
    std::uint64_t s = start(prod, seq);
    for (std::size_t i = 0; i < n; i += 8) {
      s = mix64(s);
      const std::size_t k = std::min<std::size_t>(8, n - i);
      for (std::size_t j = 0; j < k; ++j) out[i + j] = static_cast<char>((s >> (8 * j)) & 0xff);
    }
  }
  [[nodiscard]] bool matches(int prod, std::uint64_t seq, const char* p, std::size_t n) const {
    std::uint64_t s = start(prod, seq);
    for (std::size_t i = 0; i < n; i += 8) {
      s = mix64(s);
      const std::size_t k = std::min<std::size_t>(8, n - i);
      for (std::size_t j = 0; j < k; ++j)
        if (p[i + j] != static_cast<char>((s >> (8 * j)) & 0xff)) return false;
    }
    return true;
  }
};

void encode_value(const payload_gen& g, int prod, std::uint64_t seq, std::string& out) {
  const std::size_t n = g.length(prod, seq);
  out.resize(value_overhead + n);
  char* p = out.data();
  put_le<std::uint32_t>(p, magic);
  put_le<std::uint8_t>(p + 4, static_cast<std::uint8_t>(prod));
  put_le<std::uint64_t>(p + 5, seq);
  put_le<std::uint32_t>(p + 13, static_cast<std::uint32_t>(n));
  g.fill(prod, seq, p + head_bytes, n);
  put_le<std::uint64_t>(p + head_bytes + n, XXH3_64bits(p, head_bytes + n));
}

// Writes "p<prod>-<seq>" into buf; returns the key.
std::string_view make_key(int prod, std::uint64_t seq, std::array<char, 32>& buf) {
  auto r = fmt::format_to_n(buf.data(), buf.size(), "p{}-{}", prod, seq);
  return {buf.data(), r.size};
}

// (producer, seq) packed; 0 = not seen yet, deleted_mark = deleted by
// retention before the auditor read it.
constexpr std::uint64_t deleted_mark = ~std::uint64_t{0};
std::uint64_t ident(int prod, std::uint64_t seq) { return (static_cast<std::uint64_t>(prod + 1) << 48) | seq; }
std::string ident_str(std::uint64_t id) {
  if (id == 0) return "nothing";
  if (id == deleted_mark) return "a deleted record";
  return fmt::format("(p{}, seq {})", static_cast<int>(id >> 48) - 1, id & ((std::uint64_t{1} << 48) - 1));
}

struct decoded {
  const char* problem = nullptr;  // null: good
  int prod = 0;
  std::uint64_t seq = 0;
  std::size_t payload = 0;
};

// Checks framing, checksum and the key; with `full`, also the payload bytes.
decoded decode(const payload_gen& g, franz::bytes_view key, franz::bytes_view value, std::int32_t partition,
               bool full) {
  decoded d;
  if (value.size() < value_overhead) return d.problem = "value too short", d;
  const char* p = value.data();
  if (get_le<std::uint32_t>(p) != magic) return d.problem = "bad magic", d;
  d.prod = get_le<std::uint8_t>(p + 4);
  d.seq = get_le<std::uint64_t>(p + 5);
  d.payload = get_le<std::uint32_t>(p + 13);
  if (d.prod >= producers) return d.problem = "bad producer id", d;
  if (d.payload != value.size() - value_overhead) return d.problem = "payload length disagrees with the value size", d;
  if (XXH3_64bits(p, head_bytes + d.payload) != get_le<std::uint64_t>(p + head_bytes + d.payload))
    return d.problem = "checksum mismatch", d;
  std::array<char, 32> kb{};
  const auto k = make_key(d.prod, d.seq, kb);
  if (key != k) return d.problem = "key does not match (producer, seq)", d;
  if (franz::partition_for_key(k, partitions) != partition) return d.problem = "record in the wrong partition for its key", d;
  if (full && (d.payload != g.length(d.prod, d.seq) || !g.matches(d.prod, d.seq, p + head_bytes, d.payload)))
    return d.problem = "payload differs from what the producer sent", d;
  return d;
}

// ---- interval sets -------------------------------------------------------------------

// Disjoint, non-adjacent [start, end) ranges of offsets. Delivery is dense
// within an ownership, so a group's delivered set stays a few ranges.
class span_set {
 public:
  // Adds [a, b); returns how many of those offsets were already present.
  std::int64_t add(std::int64_t a, std::int64_t b) {
    if (a >= b) return 0;
    std::int64_t overlap = 0, na = a, nb = b;
    auto it = m_.upper_bound(a);
    if (it != m_.begin() && std::prev(it)->second >= a) it = std::prev(it);
    while (it != m_.end() && it->first <= b) {
      overlap += std::max<std::int64_t>(0, std::min(it->second, b) - std::max(it->first, a));
      na = std::min(na, it->first);
      nb = std::max(nb, it->second);
      it = m_.erase(it);
    }
    m_.emplace(na, nb);
    total_ += (b - a) - overlap;
    return overlap;
  }
  [[nodiscard]] std::int64_t total() const noexcept { return total_; }
  [[nodiscard]] const std::map<std::int64_t, std::int64_t>& ranges() const noexcept { return m_; }

 private:
  std::map<std::int64_t, std::int64_t> m_;
  std::int64_t total_ = 0;
};

// Offsets of [0, end) in neither set; the first missing range goes to *first.
std::int64_t missing(const span_set& a, const span_set& b, std::int64_t end, std::string* first) {
  std::vector<std::pair<std::int64_t, std::int64_t>> r(a.ranges().begin(), a.ranges().end());
  r.insert(r.end(), b.ranges().begin(), b.ranges().end());
  std::sort(r.begin(), r.end());
  std::int64_t at = 0, miss = 0;
  auto gap = [&](std::int64_t from, std::int64_t to) {
    if (from >= to) return;
    if (miss == 0 && first) *first = fmt::format("[{}, {})", from, to);
    miss += to - from;
  };
  for (const auto& [s, e] : r) {
    if (s >= end) break;
    gap(at, s);
    at = std::max(at, e);
  }
  gap(at, end);
  return miss;
}

// ---- the auditor -----------------------------------------------------------------------

// Reads the log as it grows and keeps, per partition, the identity at each
// of the last `window` offsets, against which acknowledgements are checked.
// Thread-safety: ack() from producer I/O threads, reads on the auditor
// thread, queries from main; each partition's state under its mutex.
class auditor {
 public:
  struct part {
    std::mutex mu;
    std::int64_t next = 0;               // every offset below was read (or seen deleted)
    std::vector<std::uint64_t> ring;     // identity at offset o in ring[o & mask]
    std::vector<std::pair<std::int64_t, std::uint64_t>> pending;  // acks at offsets >= next
    std::array<std::int64_t, producers> last_seq{};
    std::int64_t prefix_max_ts = -1;
    std::deque<std::pair<std::int64_t, std::int64_t>> marks;  // (offset, newest timestamp up to it)
  };

  auditor(franz::broker& b, const payload_gen& g, std::size_t window) : gen_(g), mask_(window - 1) {
    for (auto& p : parts_) {
      p.ring.assign(window, 0);  // touched now, so RSS does not grow as it fills
      p.last_seq.fill(-1);
      p.pending.reserve(4096);
    }
    franz::consumer_config cc;
    cc.client_id = "auditor";
    cc.auto_offset_reset = franz::offset_reset::earliest;
    cc.max_poll_records = 2000;
    auto c = franz::consumer::create(b, cc);
    if (!c) {
      fail.add("client", "auditor: " + c.error().to_string());
      return;
    }
    c_ = std::move(*c);
    std::vector<franz::topic_partition> all;
    for (int p = 0; p < partitions; ++p) all.push_back({std::string(topic), p});
    if (auto s = c_->assign(all); !s.ok()) fail.add("client", "auditor assign: " + s.error().to_string());
    th_ = std::thread([this] { run(); });
  }
  ~auditor() { stop(); }

  void stop() {
    if (!th_.joinable()) return;
    stop_ = true;
    c_->wakeup();
    th_.join();
    if (auto s = c_->close(); !s.ok()) fail.add("client", "auditor close: " + s.error().to_string());
  }

  // A producer's acknowledgement of `id` at (p, o).
  void ack(int p, std::int64_t o, std::uint64_t id) {
    auto& s = parts_[static_cast<std::size_t>(p)];
    std::lock_guard g(s.mu);
    if (o >= s.next) {
      s.pending.emplace_back(o, id);
      return;
    }
    settle(p, s, o, id);
  }

  [[nodiscard]] std::int64_t next(int p) {
    auto& s = parts_[static_cast<std::size_t>(p)];
    std::lock_guard g(s.mu);
    return s.next;
  }
  // The identity read at offset o (0 if outside the window).
  [[nodiscard]] std::uint64_t seen(int p, std::int64_t o) {
    auto& s = parts_[static_cast<std::size_t>(p)];
    std::lock_guard g(s.mu);
    if (o >= s.next || o < s.next - static_cast<std::int64_t>(mask_ + 1)) return 0;
    return s.ring[static_cast<std::size_t>(o) & mask_];
  }
  [[nodiscard]] std::size_t window() const noexcept { return mask_ + 1; }

  // A lower bound of the newest timestamp below offset `start` (nullopt if
  // the auditor has not read that far). Forgets marks below start - 1.
  [[nodiscard]] std::optional<std::int64_t> newest_before(int p, std::int64_t start) {
    auto& s = parts_[static_cast<std::size_t>(p)];
    std::lock_guard g(s.mu);
    if (s.next < start) return std::nullopt;
    while (s.marks.size() >= 2 && s.marks[1].first <= start - 1) s.marks.pop_front();
    if (s.marks.empty() || s.marks.front().first > start - 1) return std::nullopt;
    return s.marks.front().second;
  }

  // Acks still waiting for their offset: each one is lost. Call after stop().
  void report_pending() {
    for (int p = 0; p < partitions; ++p) {
      auto& s = parts_[static_cast<std::size_t>(p)];
      std::lock_guard g(s.mu);
      for (const auto& [o, id] : s.pending)
        fail.add("lost", fmt::format("{} acknowledged at {}-{}, but the log ends at {}", ident_str(id), p, o, s.next));
    }
  }

  std::atomic<std::uint64_t> records{0}, acks_verified{0}, acks_deleted_unaudited{0}, deleted_unaudited{0};

 private:
  static constexpr std::int64_t mark_every = 256;

  void settle(int p, part& s, std::int64_t o, std::uint64_t id) {
    if (o < s.next - static_cast<std::int64_t>(mask_ + 1)) {
      fail.add("unverifiable", fmt::format("ack of {} at {}-{} came after the auditor's window", ident_str(id), p, o));
      return;
    }
    const std::uint64_t have = s.ring[static_cast<std::size_t>(o) & mask_];
    if (have == id) {
      ++acks_verified;
    } else if (have == deleted_mark) {
      ++acks_deleted_unaudited;
    } else {
      fail.add("lost", fmt::format("{} acknowledged at {}-{}, but the log has {} there", ident_str(id), p, o,
                                   ident_str(have)));
    }
  }

  void run() {
    while (!stop_.load()) {
      auto recs = c_->poll(100ms);
      if (!recs) {
        if (recs.code() != franz::errc::wakeup) {
          fail.add("client", "auditor poll: " + recs.error().to_string());
          std::this_thread::sleep_for(50ms);
        }
        continue;
      }
      std::size_t i = 0;
      const auto& rs = *recs;
      while (i < rs.size()) {
        std::size_t j = i;
        while (j < rs.size() && rs[j].partition == rs[i].partition) ++j;
        take(rs, i, j);
        i = j;
      }
    }
  }

  // Records [i, j) of one partition, in offset order.
  void take(const franz::consumer_records& rs, std::size_t i, std::size_t j) {
    const int p = rs[i].partition;
    auto& s = parts_[static_cast<std::size_t>(p)];
    std::lock_guard g(s.mu);
    for (; i < j; ++i) {
      const auto& r = rs[i];
      const std::int64_t o = r.off.value();
      if (o < s.next) {
        fail.add("inconsistent", fmt::format("auditor: partition {} offset {} after {}", p, o, s.next - 1));
        continue;
      }
      if (o > s.next) {
        // Only retention may make the auditor jump: the jump must end at or
        // below the log start.
        auto start = c_->beginning_offsets({{std::string(topic), p}});
        const std::int64_t ls = start ? start->begin()->second.value() : -1;
        if (o > ls)
          fail.add("inconsistent", fmt::format("auditor: partition {} jumped from {} to {} with the log start at {}",
                                               p, s.next, o, ls));
        deleted_unaudited += static_cast<std::uint64_t>(o - s.next);
        for (std::int64_t k = std::max(s.next, o - static_cast<std::int64_t>(mask_ + 1)); k < o; ++k)
          s.ring[static_cast<std::size_t>(k) & mask_] = deleted_mark;
      }
      s.next = o + 1;
      const auto d = decode(gen_, r.key, r.value, p, true);
      if (d.problem) {
        fail.add("content", fmt::format("auditor: {}-{}: {}", p, o, d.problem));
        s.ring[static_cast<std::size_t>(o) & mask_] = deleted_mark - 1;  // matches no ack
        continue;
      }
      auto& last = s.last_seq[static_cast<std::size_t>(d.prod)];
      if (static_cast<std::int64_t>(d.seq) == last)
        fail.add("duplicate", fmt::format("(p{}, seq {}) twice in partition {} (again at {})", d.prod, d.seq, p, o));
      else if (static_cast<std::int64_t>(d.seq) < last)
        fail.add("order", fmt::format("partition {} offset {}: p{} seq {} after seq {}", p, o, d.prod, d.seq, last));
      last = std::max(last, static_cast<std::int64_t>(d.seq));
      s.ring[static_cast<std::size_t>(o) & mask_] = ident(d.prod, d.seq);
      s.prefix_max_ts = std::max(s.prefix_max_ts, r.ts.value());
      if ((o + 1) % mark_every == 0) s.marks.emplace_back(o, s.prefix_max_ts);
      ++records;
    }
    // Acks that were waiting for these offsets.
    for (std::size_t k = 0; k < s.pending.size();) {
      if (s.pending[k].first < s.next) {
        settle(p, s, s.pending[k].first, s.pending[k].second);
        s.pending[k] = s.pending.back();
        s.pending.pop_back();
      } else {
        ++k;
      }
    }
  }

  const payload_gen gen_;
  const std::size_t mask_;
  std::array<part, partitions> parts_;
  std::unique_ptr<franz::consumer> c_;
  std::atomic<bool> stop_{false};
  std::thread th_;
};

// ---- producers --------------------------------------------------------------------------

struct producer_state {
  int id = 0;
  franz::ack acks = franz::ack::leader;
  std::unique_ptr<franz::producer> p{};
  std::thread th{};
  std::atomic<std::uint64_t> sent{0}, acked{0}, failed{0};
  std::array<std::int64_t, partitions> last_acked{};  // I/O thread only
};

void on_ack(producer_state* st, auditor* au, std::uint64_t seq, const franz::result<franz::record_metadata>& md) {
  if (!md) {
    ++st->failed;
    fail.add("producer", fmt::format("p{} seq {}: {}", st->id, seq, md.error().to_string()));
    return;
  }
  std::array<char, 32> kb{};
  const int p = md->partition;
  const std::int64_t o = md->off.value();
  if (p != franz::partition_for_key(make_key(st->id, seq, kb), partitions) || p < 0 || p >= partitions) {
    fail.add("inconsistent", fmt::format("p{} seq {} acknowledged in partition {}, not its key's", st->id, seq, p));
    return;
  }
  auto& last = st->last_acked[static_cast<std::size_t>(p)];
  if (o <= last)
    fail.add("inconsistent", fmt::format("p{}: ack at {}-{} after one at offset {}", st->id, p, o, last));
  last = std::max(last, o);
  ++st->acked;
  au->ack(p, o, ident(st->id, seq));
}

void produce(producer_state* st, auditor* au, const payload_gen* gen, double per_second,
             const std::atomic<bool>* stop) {
  std::string value;
  std::array<char, 32> kb{};
  std::uint64_t seq = 0;
  const auto t0 = steady::now();
  while (!stop->load()) {
    const auto due = static_cast<std::uint64_t>(since(t0) * per_second);
    for (int burst = 0; seq < due && burst < 512; ++burst, ++seq) {
      encode_value(*gen, st->id, seq, value);
      const auto key = make_key(st->id, seq, kb);
      auto s = st->p->send({.topic = topic, .key = key, .value = value},
                           [st, au, seq](const franz::result<franz::record_metadata>& md) { on_ack(st, au, seq, md); });
      if (!s.ok()) {
        ++st->failed;
        fail.add("producer", fmt::format("p{} send seq {}: {}", st->id, seq, s.error().to_string()));
      } else {
        ++st->sent;
      }
    }
    std::this_thread::sleep_for(2ms);
  }
  if (auto s = st->p->close(); !s.ok()) fail.add("producer", fmt::format("p{} close: {}", st->id, s.error().to_string()));
}

// ---- consumer groups ------------------------------------------------------------------

// What a group delivered, shared by its members. Guarded by mu.
struct group_track {
  int id = 0;
  std::string name{};
  std::mutex mu;
  std::array<span_set, partitions> delivered{};
  std::array<span_set, partitions> skipped{};  // deleted by retention before the group got there
  std::array<std::string, partitions> owner{};
  std::uint64_t deliveries = 0, duplicates = 0;
  std::uint64_t assigned_calls = 0, revoked_calls = 0, lost_calls = 0;
  std::uint64_t commits_ok = 0, commits_refused = 0;  // refused: rebalance / generation / member errors
};

enum class commit_mode : std::uint8_t { sync, autocommit, async };
const char* mode_name(commit_mode m) {
  return m == commit_mode::sync ? "commit_sync" : m == commit_mode::autocommit ? "auto-commit" : "commit_async";
}

enum class command : int { run = 0, stop = 1, kill = 2 };

// One group member and its thread. The listener and `expect` are touched
// only on the member's thread (callbacks run inside its calls), or by main
// once the thread has ended.
struct member {
  group_track* g = nullptr;
  payload_gen gen{};
  int slot = 0;
  std::string tag{};
  commit_mode mode = commit_mode::sync;
  bool abandon = false;  // how a kill dies; set before cmd = kill
  std::atomic<int> cmd{0};
  std::unique_ptr<franz::consumer> c{};
  std::thread th{};
  std::map<std::int32_t, std::int64_t> expect{};  // next offset this ownership must deliver
  std::string dead_id{};
  steady::time_point died{};

  struct listener final : franz::consumer_rebalance_listener {
    member* m = nullptr;
    void on_partitions_assigned(franz::consumer& c, const std::vector<franz::topic_partition>& ps) override {
      m->assigned(c, ps);
    }
    void on_partitions_revoked(franz::consumer& c, const std::vector<franz::topic_partition>& ps) override {
      // What Kafka applications do: commit what was processed before giving
      // the partitions up (auto-commit does it itself).
      if (m->mode != commit_mode::autocommit && !ps.empty()) m->count_commit(c.commit_sync(), "revoke commit");
      m->released(ps, false);
    }
    void on_partitions_lost(franz::consumer&, const std::vector<franz::topic_partition>& ps) override {
      m->released(ps, true);  // no commit: others may own them already
    }
  } l{};

  void count_commit(const franz::status& s, const char* what) {
    std::lock_guard lk(g->mu);
    if (s.ok()) {
      ++g->commits_ok;
    } else if (s.code() == franz::errc::rebalance_in_progress || s.code() == franz::errc::illegal_generation ||
               s.code() == franz::errc::unknown_member_id) {
      ++g->commits_refused;
    } else {
      fail.add("client", fmt::format("{} {}: {}", tag, what, s.error().to_string()));
    }
  }

  void assigned(franz::consumer& c, const std::vector<franz::topic_partition>& ps) {
    auto committed = c.committed(ps);
    if (!committed) fail.add("client", tag + " committed(): " + committed.error().to_string());
    std::lock_guard lk(g->mu);
    ++g->assigned_calls;
    for (const auto& tp : ps) {
      std::int64_t start = 0;
      if (committed) {
        auto it = committed->find(tp);
        if (it != committed->end() && it->second) start = it->second->off.value();
      }
      expect[tp.partition] = start;
      auto& o = g->owner[static_cast<std::size_t>(tp.partition)];
      if (!o.empty() && o != tag)
        fail.add("at-least-once", fmt::format("{}: partition {} given to {} while {} owns it", g->name, tp.partition,
                                              tag, o));
      o = tag;
    }
  }

  void released(const std::vector<franz::topic_partition>& ps, bool lost) {
    std::lock_guard lk(g->mu);
    ++(lost ? g->lost_calls : g->revoked_calls);
    for (const auto& tp : ps) {
      expect.erase(tp.partition);
      auto& o = g->owner[static_cast<std::size_t>(tp.partition)];
      if (o == tag) o.clear();
    }
  }

  // Validates and records one poll's records.
  void process(const franz::consumer_records& rs) {
    std::lock_guard lk(g->mu);
    std::size_t i = 0;
    while (i < rs.size()) {
      const std::int32_t p = rs[i].partition;
      auto e = expect.find(p);
      std::int64_t run_from = -1, run_to = -1;
      auto flush_run = [&] {
        if (run_from < 0) return;
        const auto dup = g->delivered[static_cast<std::size_t>(p)].add(run_from, run_to);
        g->duplicates += static_cast<std::uint64_t>(dup);
        run_from = run_to = -1;
      };
      for (; i < rs.size() && rs[i].partition == p; ++i) {
        const auto& r = rs[i];
        const std::int64_t o = r.off.value();
        ++g->deliveries;
        const auto d = decode(gen, r.key, r.value, p, false);
        if (d.problem) fail.add("content", fmt::format("{} got {}-{}: {}", tag, p, o, d.problem));
        if (e == expect.end()) {
          fail.add("at-least-once", fmt::format("{} got {}-{} without owning the partition", tag, p, o));
        } else if (o > e->second) {
          // A jump is allowed only over records retention deleted.
          auto start = c->beginning_offsets({{std::string(topic), p}});
          const std::int64_t ls = start ? start->begin()->second.value() : -1;
          if (o <= ls) {
            g->skipped[static_cast<std::size_t>(p)].add(e->second, o);
          } else {
            fail.add("at-least-once", fmt::format("{} skipped {}-[{}, {}) still in the log (log start {})", tag, p,
                                                  e->second, o, ls));
          }
          e->second = o + 1;
        } else if (o < e->second) {
          fail.add("at-least-once", fmt::format("{} got {}-{}, expected {} (went back within one ownership)", tag, p,
                                                o, e->second));
          e->second = std::max(e->second, o + 1);
        } else {
          ++e->second;
        }
        if (o == run_to) {
          ++run_to;
        } else {
          flush_run();
          run_from = o;
          run_to = o + 1;
        }
      }
      flush_run();
    }
  }

  void run() {
    auto last_commit = steady::now();
    bool dirty = false;
    const auto interval = mode == commit_mode::sync ? 200ms : 100ms;
    for (;;) {
      const auto cm = static_cast<command>(cmd.load());
      if (cm == command::kill) return die();
      if (cm == command::stop) break;
      auto recs = c->poll(100ms);
      if (!recs) {
        if (recs.code() != franz::errc::wakeup) {
          fail.add("client", tag + " poll: " + recs.error().to_string());
          std::this_thread::sleep_for(50ms);
        }
        continue;
      }
      if (!recs->empty()) {
        process(*recs);
        dirty = true;
      }
      // Killed between processing and committing, as a crash would.
      if (static_cast<command>(cmd.load()) == command::kill) return die();
      if (dirty && mode != commit_mode::autocommit && steady::now() - last_commit >= interval) {
        last_commit = steady::now();
        dirty = false;
        if (mode == commit_mode::sync) {
          auto s = c->commit_sync();
          if (!s.ok()) dirty = true;
          count_commit(s, "commit_sync");
        } else {
          c->commit_async([this](const auto&, const franz::status& s) { count_commit(s, "commit_async"); });
        }
      }
      if (!recs->empty()) std::this_thread::sleep_for(5ms);  // "processing"
    }
    if (mode != commit_mode::autocommit) count_commit(c->commit_sync(), "final commit");
    if (auto s = c->close(); !s.ok()) fail.add("client", tag + " close: " + s.error().to_string());
  }

  void die() {
    dead_id = c->member_id();
    if (!abandon) {
      if (auto s = c->close(franz::group_membership::remain_in_group); !s.ok())
        fail.add("client", tag + " close(remain_in_group): " + s.error().to_string());
    }
  }
};

// ---- /proc sampling ------------------------------------------------------------------

// VmRSS and its parts from /proc/self/status: RssAnon (heap, stacks: where
// a leak shows) and RssFile (mapped files: segments, indexes, the binary).
struct memory {
  std::int64_t rss = -1, anon = -1, file = -1;
};

memory read_memory() {
  memory m;
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return m;
  char line[256];
  while (std::fgets(line, sizeof(line), f)) {
    long long kb = 0;
    if (std::sscanf(line, "VmRSS: %lld kB", &kb) == 1) m.rss = kb << 10;
    else if (std::sscanf(line, "RssAnon: %lld kB", &kb) == 1) m.anon = kb << 10;
    else if (std::sscanf(line, "RssFile: %lld kB", &kb) == 1) m.file = kb << 10;
  }
  std::fclose(f);
  return m;
}

struct fd_counts {
  int total = 0;
  int segment = 0;          // .log/.index/.timeindex files in the data directory
  int deleted_segment = 0;  // ... already unlinked
  [[nodiscard]] int other() const noexcept { return total - segment; }
};

fd_counts count_fds(const std::string& data_dir) {
  fd_counts c;
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return c;
  const std::string prefix = data_dir + "/";
  char target[4096];
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    ++c.total;
    const std::string link = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
    if (n <= 0) continue;
    std::string_view t(target, static_cast<std::size_t>(n));
    if (!t.starts_with(prefix)) continue;
    const bool gone = t.ends_with(" (deleted)");
    if (gone) t.remove_suffix(std::string_view(" (deleted)").size());
    if (t.ends_with(".log") || t.ends_with(".index") || t.ends_with(".timeindex")) {
      ++c.segment;
      if (gone) ++c.deleted_segment;
    }
  }
  ::closedir(d);
  return c;
}

// Base offsets of the .log files in a partition directory.
std::set<std::int64_t> segment_bases(const std::string& dir) {
  std::set<std::int64_t> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (const dirent* e = ::readdir(d)) {
    std::string_view n(e->d_name);
    if (n.size() == 24 && n.ends_with(".log")) out.insert(std::strtoll(std::string(n.substr(0, 20)).c_str(), nullptr, 10));
  }
  ::closedir(d);
  return out;
}

struct sample {
  double t = 0;
  memory mem{};
  fd_counts fds{};
};

// ---- the run ---------------------------------------------------------------------------

int usage(const char* why) {
  std::fprintf(stderr,
               "soak: %s\nusage: soak [--seconds N] [--data-dir D] [--keep] [--kill-every S] [--seed N] [--rate R] [--samples CSV]\n",
               why);
  return 2;
}

double mib(std::int64_t b) { return static_cast<double>(b) / (1 << 20); }

class soak {
 public:
  explicit soak(options o) : opt_(std::move(o)) { gen_.seed = opt_.seed; }

  int run() {
    if (!setup()) {
      abort_run();
      return finish();
    }
    load_phase();
    drain_phase();
    close_clients();
    check_offsets_and_fds();
    if (auto s = broker_->close(); !s.ok()) fail.add("client", "broker close: " + s.error().to_string());
    broker_.reset();
    final_check();
    return finish();
  }

 private:
  // ---- setup ----
  bool setup() {
    if (opt_.data_dir.empty()) {
      char tmpl[] = "/tmp/franz-soak-XXXXXX";
      if (!::mkdtemp(tmpl)) return fail.add("setup", "mkdtemp failed"), false;
      opt_.data_dir = tmpl;
      remove_dir_ = !opt_.keep;
    }
    std::printf("soak: %d s, seed %" PRIu64 ", %.0f records/s target%s, kill every %d s, data dir %s\n", opt_.seconds,
                opt_.seed, opt_.rate, asan ? " (ASan)" : tsan ? " (TSan)" : "", opt_.kill_every, opt_.data_dir.c_str());
    std::fflush(stdout);
    file_at_start_ = read_memory().file;
    auto b = franz::broker::open({.data_dir = opt_.data_dir});
    if (!b) return fail.add("setup", "broker open: " + b.error().to_string()), false;
    broker_ = std::move(*b);
    auto s = broker_->create_topic(topic, partitions,
                                   {{"segment.bytes", std::to_string(segment_bytes)},
                                    {"retention.bytes", std::to_string(retention_bytes)},
                                    {"retention.ms", std::to_string(retention_ms)}});
    if (!s.ok()) return fail.add("setup", "create_topic: " + s.error().to_string()), false;
    const auto fds = count_fds(opt_.data_dir);
    fds_per_segment_ = std::max(1, fds.segment / partitions);

    // The identity ring covers every record retention can keep, plus two
    // segments, at the smallest record size (value + key + ~12 bytes of
    // record framing; batch headers only add to it).
    const std::int64_t min_record = static_cast<std::int64_t>(value_overhead + payload_min) + 4 + 12;
    std::size_t w = 1;
    while (static_cast<std::int64_t>(w) < (retention_bytes + 2 * segment_bytes) / min_record) w <<= 1;
    audit_ = std::make_unique<auditor>(*broker_, gen_, w);

    for (int g = 0; g < groups; ++g) {
      groups_[static_cast<std::size_t>(g)].id = g;
      groups_[static_cast<std::size_t>(g)].name = fmt::format("soak-g{}", g);
      for (int m = 0; m < members_per_group; ++m) start_member(g, m);
    }
    for (int i = 0; i < producers; ++i) {
      auto& st = prods_[static_cast<std::size_t>(i)];
      st.id = i;
      st.acks = i >= producers - acks_all_producers ? franz::ack::all : franz::ack::leader;
      st.last_acked.fill(-1);
      auto p = franz::producer::create(*broker_, {.acks = st.acks, .client_id = fmt::format("p{}", i)});
      if (!p) return fail.add("setup", "producer: " + p.error().to_string()), false;
      st.p = std::move(*p);
    }
    for (auto& st : prods_)
      st.th = std::thread(produce, &st, audit_.get(), &gen_, opt_.rate / producers, &stop_producing_);
    samples_.reserve(static_cast<std::size_t>(opt_.seconds) + 16);
    return true;
  }

  void start_member(int g, int slot) {
    auto m = std::make_unique<member>();
    m->g = &groups_[static_cast<std::size_t>(g)];
    m->gen = gen_;
    m->slot = slot;
    m->tag = fmt::format("g{}.s{}.{}", g, slot, incarnation_++);
    m->mode = static_cast<commit_mode>((g + slot) % 3);
    m->l.m = m.get();
    franz::consumer_config cc;
    cc.client_id = m->tag;
    cc.group_id = m->g->name;
    cc.auto_offset_reset = franz::offset_reset::earliest;
    cc.partition_assignment_strategy = {strategies[static_cast<std::size_t>(g)]};
    cc.enable_auto_commit = m->mode == commit_mode::autocommit;
    cc.auto_commit_interval_ms = 1000;
    cc.session_timeout_ms = session_timeout_ms;
    cc.heartbeat_interval_ms = 1000;
    cc.max_poll_interval_ms = max_poll_interval_ms;
    auto c = franz::consumer::create(*broker_, cc);
    if (!c) {
      fail.add("setup", m->tag + ": " + c.error().to_string());
      return;
    }
    m->c = std::move(*c);
    if (auto s = m->c->subscribe({std::string(topic)}, &m->l); !s.ok()) {
      fail.add("setup", m->tag + " subscribe: " + s.error().to_string());
      return;
    }
    m->th = std::thread([p = m.get()] { p->run(); });
    members_[static_cast<std::size_t>(g)][static_cast<std::size_t>(slot)] = std::move(m);
  }

  // ---- load ----
  void load_phase() {
    t0_ = steady::now();
    int next_event = 1;
    for (int sec = 1;; ++sec) {
      std::this_thread::sleep_until(t0_ + std::chrono::seconds(sec));
      take_sample();
      reap();
      if (sec >= opt_.seconds) break;
      while (opt_.kill_every > 0 && next_event * opt_.kill_every <= sec) event(next_event++ - 1);
      if (sec % 30 == 0) progress();
    }
    stop_producing_ = true;
    for (auto& st : prods_) st.th.join();
    load_seconds_ = since(t0_);
    for (const auto& st : prods_) (st.acks == franz::ack::all ? acked_all_ : acked_one_) += st.acked.load();
  }

  void progress() {
    std::uint64_t acked = 0;
    for (const auto& st : prods_) acked += st.acked.load();
    const auto& s = samples_.back();
    std::printf("  t=%3.0fs acked %" PRIu64 " (%.0f/s) audited %" PRIu64 " rss %.1f MiB fds %d segs rolled %" PRIu64
                " deleted %" PRIu64 " kills %d restarts %d\n",
                s.t, acked, static_cast<double>(acked) / s.t, audit_->records.load(), mib(s.mem.rss), s.fds.total,
                rolled_, seg_deleted_, kills_, restarts_);
    std::fflush(stdout);
  }

  void take_sample() {
    sample s;
    s.t = since(t0_);
    s.mem = read_memory();
    s.fds = count_fds(opt_.data_dir);
    samples_.push_back(s);
    check_log_starts();
  }

  // Rolls and deletions from the partition directories, and the log start
  // checks (see the file comment).
  void check_log_starts() {
    auto d = broker_->describe_topic(topic);
    if (!d) return fail.add("client", "describe_topic: " + d.error().to_string());
    const std::int64_t now = wall_ms();
    for (int p = 0; p < partitions; ++p) {
      const auto ps = static_cast<std::size_t>(p);
      const auto bases = segment_bases(fmt::format("{}/{}-{}", opt_.data_dir, topic, p));
      for (auto b : bases) {
        seen_bases_[ps].insert(b);
        // Segments are created in base order: a base above every one seen
        // is a roll.
        if (b > newest_base_[ps]) ++rolled_, newest_base_[ps] = b;
      }
      for (auto b : live_bases_[ps])
        if (!bases.contains(b)) ++seg_deleted_;
      live_bases_[ps] = bases;
      const auto& pd = d->partitions[ps];
      const std::int64_t ls = pd.log_start.value(), old = log_start_[ps];
      if (ls < old) {
        fail.add("inconsistent", fmt::format("partition {}: log start went back from {} to {}", p, old, ls));
      } else if (ls > old) {
        if (!seen_bases_[ps].contains(ls))
          fail.add("inconsistent", fmt::format("partition {}: log start {} is not a segment base", p, ls));
        const auto newest = audit_->newest_before(p, ls);
        if (static_cast<std::int64_t>(pd.size_bytes) >= retention_bytes) {
          ++moves_by_bytes_;
        } else if (newest && *newest < now - retention_ms + 1000) {
          ++moves_by_time_;
        } else if (!newest) {
          ++moves_unverified_;
        } else {
          fail.add("inconsistent", fmt::format("partition {}: log start {} -> {} with {} bytes left (< retention.bytes) "
                                               "and records only {} ms old deleted",
                                               p, old, ls, pd.size_bytes, now - *newest));
        }
        log_start_[ps] = ls;
        std::erase_if(seen_bases_[ps], [&](std::int64_t b) { return b < ls; });
      }
    }
  }

  void event(int k) {
    const int g = k % groups;
    const int slot = (k / groups) % members_per_group;
    auto& m = members_[static_cast<std::size_t>(g)][static_cast<std::size_t>(slot)];
    if (!m) return;
    if (k % 2 == 0) {
      // Kill: even kills abandon, odd ones close with remain_in_group
      // (unless the member auto-commits: that close would commit).
      const int kill_no = kills_++;
      m->abandon = kill_no % 2 == 0 || m->mode == commit_mode::autocommit;
      (m->abandon ? abandoned_ : remained_)++;
      m->cmd = static_cast<int>(command::kill);
      m->th.join();
      m->died = steady::now();
      {
        // A dead member processes nothing from the moment it dies.
        std::lock_guard lk(m->g->mu);
        for (auto& o : m->g->owner)
          if (o == m->tag) o.clear();
      }
      std::printf("  t=%3.0fs kill %s (%s, %s)\n", since(t0_), m->tag.c_str(), mode_name(m->mode),
                  m->abandon ? "abandoned" : "closed with remain_in_group");
      dead_.push_back(std::move(m));
    } else {
      ++restarts_;
      m->cmd = static_cast<int>(command::stop);
      m->c->wakeup();
      m->th.join();
      std::printf("  t=%3.0fs restart %s (%s)\n", since(t0_), m->tag.c_str(), mode_name(m->mode));
      m.reset();
    }
    std::fflush(stdout);
    start_member(g, slot);
  }

  // Destroys dead members once their group has removed them.
  void reap() {
    for (auto it = dead_.begin(); it != dead_.end();) {
      auto& m = *it;
      auto d = broker_->groups().describe_group(m->g->name);
      bool present = false;
      if (d)
        for (const auto& md : d->members) present |= md.member_id == m->dead_id;
      const double waited = std::chrono::duration<double>(steady::now() - m->died).count();
      const double limit = 4.0 * max_poll_interval_ms / 1000.0;
      if (present && waited < limit) {
        ++it;
        continue;
      }
      if (present)
        fail.add("at-least-once", fmt::format("{} still a member of {} {:.0f} s after it died", m->tag, m->g->name, waited));
      else
        removal_seconds_.push_back(waited);
      m->c.reset();  // its partitions are lost: no commit
      it = dead_.erase(it);
    }
  }

  // ---- drain ----
  void drain_phase() {
    auto d = broker_->describe_topic(topic);
    if (!d) return fail.add("client", "describe_topic: " + d.error().to_string());
    for (int p = 0; p < partitions; ++p) end_[static_cast<std::size_t>(p)] = d->partitions[static_cast<std::size_t>(p)].log_end.value();
    const auto t = steady::now();
    const auto limit = tsan || asan ? 300s : 120s;
    std::string why;
    for (;;) {
      reap();
      why = drained();
      if (why.empty()) break;
      if (steady::now() - t > limit) {
        fail.add("at-least-once", "drain timed out: " + why);
        break;
      }
      std::this_thread::sleep_for(200ms);
    }
    drain_seconds_ = std::chrono::duration<double>(steady::now() - t).count();
    for (auto& gt : groups_) {
      auto gd = broker_->groups().describe_group(gt.name);
      generation_[static_cast<std::size_t>(gt.id)] = gd ? gd->generation : -1;
    }
  }

  // "" when the auditor and every group reached the log end (the group's
  // commits included); else what is missing.
  std::string drained() {
    if (!dead_.empty()) return fmt::format("{} dead member(s) not yet removed", dead_.size());
    for (int p = 0; p < partitions; ++p)
      if (audit_->next(p) < end_[static_cast<std::size_t>(p)])
        return fmt::format("auditor at {}-{} of {}", p, audit_->next(p), end_[static_cast<std::size_t>(p)]);
    for (auto& gt : groups_) {
      {
        std::lock_guard lk(gt.mu);
        for (int p = 0; p < partitions; ++p) {
          const auto ps = static_cast<std::size_t>(p);
          std::string first;
          if (missing(gt.delivered[ps], gt.skipped[ps], end_[ps], &first) > 0)
            return fmt::format("{} has not seen {}-{}", gt.name, p, first);
        }
      }
      auto offs = broker_->groups().list_offsets(gt.name);
      if (!offs) return gt.name + ": " + offs.error().to_string();
      for (int p = 0; p < partitions; ++p) {
        auto it = offs->find({std::string(topic), p});
        if (it == offs->end() || it->second.off.value() != end_[static_cast<std::size_t>(p)])
          return fmt::format("{} committed {}-{}", gt.name, p, it == offs->end() ? -1 : it->second.off.value());
      }
    }
    return {};
  }

  void close_clients() {
    for (auto& row : members_)
      for (auto& m : row)
        if (m && m->th.joinable()) {
          m->cmd = static_cast<int>(command::stop);
          m->c->wakeup();
        }
    for (auto& row : members_)
      for (auto& m : row)
        if (m) {
          if (m->th.joinable()) m->th.join();
          m.reset();
        }
    dead_.clear();
    if (audit_) {
      audit_->stop();
      audit_->report_pending();
    }
  }

  // Setup failed part-way: stop whatever runs.
  void abort_run() {
    stop_producing_ = true;
    for (auto& st : prods_)
      if (st.th.joinable()) st.th.join();
    close_clients();
    if (broker_) (void)broker_->close();
    broker_.reset();
  }

  void check_offsets_and_fds() {
    auto d = broker_->describe_topic(topic);
    if (!d) return fail.add("client", "describe_topic: " + d.error().to_string());
    for (int p = 0; p < partitions; ++p) {
      const auto& pd = d->partitions[static_cast<std::size_t>(p)];
      last_start_[static_cast<std::size_t>(p)] = pd.log_start.value();
      if (pd.log_end.value() != end_[static_cast<std::size_t>(p)])
        fail.add("inconsistent", fmt::format("partition {}: log end moved from {} to {} with no producer", p,
                                             end_[static_cast<std::size_t>(p)], pd.log_end.value()));
    }
    for (auto& gt : groups_) {
      auto offs = broker_->groups().list_offsets(gt.name);
      if (!offs) {
        fail.add("at-least-once", gt.name + " offsets: " + offs.error().to_string());
        continue;
      }
      for (int p = 0; p < partitions; ++p) {
        const auto ps = static_cast<std::size_t>(p);
        auto it = offs->find({std::string(topic), p});
        const std::int64_t c = it == offs->end() ? -1 : it->second.off.value();
        committed_[static_cast<std::size_t>(gt.id)][ps] = c;
        if (c < last_start_[ps] || c > end_[ps])
          fail.add("inconsistent", fmt::format("{} committed {}-{} outside [{}, {}]", gt.name, p, c, last_start_[ps],
                                               end_[ps]));
        else if (c != end_[ps])
          fail.add("at-least-once", fmt::format("{} committed {}-{} after draining to {}", gt.name, p, c, end_[ps]));
      }
    }
    closed_fds_ = count_fds(opt_.data_dir);
    if (closed_fds_.deleted_segment != 0)
      fail.add("fd", fmt::format("{} fds still open on deleted segment files with every client closed",
                                 closed_fds_.deleted_segment));
  }

  // ---- the checker ----
  void final_check() {
    auto b = franz::broker::open({.data_dir = opt_.data_dir, .background_maintenance = false});
    if (!b) return fail.add("checker", "reopen: " + b.error().to_string());
    auto d = (*b)->describe_topic(topic);
    if (!d) return fail.add("checker", "describe: " + d.error().to_string());
    franz::consumer_config cc;
    cc.client_id = "checker";
    cc.auto_offset_reset = franz::offset_reset::earliest;
    cc.max_poll_records = 5000;
    auto c = franz::consumer::create(**b, cc);
    if (!c) return fail.add("checker", "consumer: " + c.error().to_string());
    std::unordered_set<std::uint64_t> idents;
    for (int p = 0; p < partitions; ++p) {
      const auto ps = static_cast<std::size_t>(p);
      const auto& pd = d->partitions[ps];
      const std::int64_t ls = pd.log_start.value(), le = pd.log_end.value();
      if (le != end_[ps]) fail.add("lost", fmt::format("partition {}: log end {} after reopen, {} before", p, le, end_[ps]));
      if (ls < last_start_[ps])
        fail.add("inconsistent", fmt::format("partition {}: log start {} after reopen, {} before", p, ls, last_start_[ps]));
      if (auto s = (*c)->assign({{std::string(topic), p}}); !s.ok()) {
        fail.add("checker", "assign: " + s.error().to_string());
        continue;
      }
      std::array<std::int64_t, producers> last_seq{};
      last_seq.fill(-1);
      std::int64_t next = ls;
      int idle = 0;
      while (next < le && idle < 50) {
        auto recs = (*c)->poll(100ms);
        if (!recs) {
          fail.add("checker", fmt::format("poll {}: {}", p, recs.error().to_string()));
          break;
        }
        idle = recs->empty() ? idle + 1 : 0;
        for (const auto& r : *recs) {
          const std::int64_t o = r.off.value();
          if (o != next)
            fail.add("inconsistent", fmt::format("checker: partition {} offset {} where {} was due", p, o, next));
          next = o + 1;
          ++checked_;
          const auto dd = decode(gen_, r.key, r.value, p, true);
          if (dd.problem) {
            fail.add("content", fmt::format("checker: {}-{}: {}", p, o, dd.problem));
            continue;
          }
          const std::uint64_t id = ident(dd.prod, dd.seq);
          if (!idents.insert(id).second) fail.add("duplicate", fmt::format("checker: {} twice (again at {}-{})", ident_str(id), p, o));
          auto& last = last_seq[static_cast<std::size_t>(dd.prod)];
          if (static_cast<std::int64_t>(dd.seq) <= last)
            fail.add("order", fmt::format("checker: {}-{}: p{} seq {} after seq {}", p, o, dd.prod, dd.seq, last));
          last = std::max(last, static_cast<std::int64_t>(dd.seq));
          // What the auditor read live at this offset (acks were checked
          // against it) must still be here.
          const std::uint64_t live = audit_->seen(p, o);
          if (live == 0) ++not_compared_;
          else if (live != id)
            fail.add("lost", fmt::format("checker: {}-{} holds {}, the auditor read {} there", p, o, ident_str(id), ident_str(live)));
        }
      }
      if (next != le) fail.add("lost", fmt::format("checker: partition {} read up to {} of {}", p, next, le));
    }
    if (auto s = (*c)->close(); !s.ok()) fail.add("checker", "close: " + s.error().to_string());
    // Committed offsets survive a clean close.
    for (auto& gt : groups_) {
      auto offs = (*b)->groups().list_offsets(gt.name);
      if (!offs) {
        fail.add("checker", gt.name + " offsets after reopen: " + offs.error().to_string());
        continue;
      }
      for (int p = 0; p < partitions; ++p) {
        auto it = offs->find({std::string(topic), p});
        const std::int64_t c2 = it == offs->end() ? -1 : it->second.off.value();
        if (c2 != committed_[static_cast<std::size_t>(gt.id)][static_cast<std::size_t>(p)])
          fail.add("inconsistent", fmt::format("{} committed {}-{} after reopen, {} before", gt.name, p, c2,
                                               committed_[static_cast<std::size_t>(gt.id)][static_cast<std::size_t>(p)]));
      }
    }
    if (auto s = (*b)->close(); !s.ok()) fail.add("checker", "close broker: " + s.error().to_string());
  }

  // ---- summary ----
  int finish() {
    summarize();
    if (!opt_.samples_file.empty()) write_samples();
    audit_.reset();
    if (remove_dir_) {
      std::error_code ec;
      std::filesystem::remove_all(opt_.data_dir, ec);
    }
    if (fail.empty()) {
      std::printf("soak: PASS\n");
      return 0;
    }
    fail.print_first();
    std::printf("soak: FAIL: %s\n", fail.reasons().c_str());
    return 1;
  }

  void write_samples() const {
    std::FILE* f = std::fopen(opt_.samples_file.c_str(), "w");
    if (!f) return;
    std::fprintf(f, "t,rss_mib,anon_mib,file_mib,fds,segment_fds,deleted_segment_fds\n");
    for (const auto& s : samples_)
      std::fprintf(f, "%.1f,%.2f,%.2f,%.2f,%d,%d,%d\n", s.t, mib(s.mem.rss), mib(s.mem.anon), mib(s.mem.file),
                   s.fds.total, s.fds.segment, s.fds.deleted_segment);
    std::fclose(f);
  }

  void summarize() {
    if (samples_.empty()) return;
    const double warm = std::min<double>(opt_.seconds, std::max(10.0, 0.2 * opt_.seconds));
    // Both windows span 1.5 segment-roll periods (the period of the RSS
    // sawtooth: pages of the 16 active segments), at least 5 s, at most
    // half the warm-up.
    const double roll_period = rolled_ > 0 ? load_seconds_ * partitions / static_cast<double>(rolled_) : 0;
    const double tail = std::clamp(1.5 * roll_period, std::min(5.0, warm / 2), warm / 2);
    // Per component: the largest value in the last `tail` seconds of
    // warm-up, after warm-up, and in the last `tail` seconds.
    struct window_max {
      std::int64_t base = 0, after = 0, tail = 0;
      [[nodiscard]] double growth() const {
        return base > 0 ? 100.0 * (static_cast<double>(tail) / static_cast<double>(base) - 1.0) : 0;
      }
    } rss, anon, file;
    auto track = [&](window_max& w, std::int64_t v, const sample& s) {
      if (s.t > warm - tail && s.t <= warm + 0.5) w.base = std::max(w.base, v);
      if (s.t > warm + 0.5) w.after = std::max(w.after, v);
      if (s.t >= samples_.back().t - tail) w.tail = std::max(w.tail, v);
    };
    int fd_min = 1 << 30, fd_max = 0, other_min = 1 << 30, other_max = 0, seg_min = 1 << 30, seg_max = 0, del_max = 0;
    for (const auto& s : samples_) {
      track(rss, s.mem.rss, s);
      track(anon, s.mem.anon, s);
      track(file, s.mem.file, s);
      if (s.t > warm + 0.5) {
        fd_min = std::min(fd_min, s.fds.total);
        fd_max = std::max(fd_max, s.fds.total);
        other_min = std::min(other_min, s.fds.other());
        other_max = std::max(other_max, s.fds.other());
        seg_min = std::min(seg_min, s.fds.segment);
        seg_max = std::max(seg_max, s.fds.segment);
        del_max = std::max(del_max, s.fds.deleted_segment);
      }
    }
    const double growth_limit = asan || tsan ? 25.0 : 10.0;
    // RSS growth that is not mapped segment pages, as a share of the RSS at
    // the end of warm-up.
    const double growth = rss.base > 0 ? 100.0 * static_cast<double>(anon.tail - anon.base) / static_cast<double>(rss.base) : 0;
    // Mapped segment pages: at most every retained segment (retention.bytes
    // + one sealed segment + the active one per partition) fully resident,
    // plus the offsets topic's writer window and index pages (16 MiB), over
    // what was mapped before the broker opened (the binary, libraries).
    const std::int64_t file_limit = file_at_start_ + partitions * (retention_bytes + 2 * segment_bytes) + (16 << 20);
    const int fd_limit = 2 * partitions * fds_per_segment_ + 16, other_limit = 8;

    std::uint64_t sent = 0, acked = 0, failed = 0;
    for (const auto& st : prods_) sent += st.sent.load(), acked += st.acked.load(), failed += st.failed.load();
    std::int64_t log_total = 0, log_deleted = 0;
    for (int p = 0; p < partitions; ++p) log_total += end_[static_cast<std::size_t>(p)], log_deleted += log_start_[static_cast<std::size_t>(p)];

    std::printf("summary:\n");
    std::printf("  load: %.1f s, drain %.1f s\n", load_seconds_, drain_seconds_);
    std::printf("  producers: sent %" PRIu64 ", acked %" PRIu64 " (acks=1 %" PRIu64 ", acks=all %" PRIu64
                "), failed %" PRIu64 ", %.0f records/s\n",
                sent, acked, acked_one_, acked_all_, failed, load_seconds_ > 0 ? static_cast<double>(acked) / load_seconds_ : 0.0);
    std::printf("  log: %" PRId64 " records in 16 partitions, %" PRId64 " below the log starts at the end; segments rolled %"
                PRIu64 ", deleted %" PRIu64 "; log start moves: %" PRIu64 " by size, %" PRIu64 " by age, %" PRIu64
                " unverified\n",
                log_total, log_deleted, rolled_, seg_deleted_, moves_by_bytes_, moves_by_time_, moves_unverified_);
    if (audit_)
      std::printf("  auditor: %" PRIu64 " records read, acks verified %" PRIu64 ", acked but deleted before audit %" PRIu64
                  ", records deleted before audit %" PRIu64 ", ring %zu per partition\n",
                  audit_->records.load(), audit_->acks_verified.load(), audit_->acks_deleted_unaudited.load(),
                  audit_->deleted_unaudited.load(), audit_->window());
    std::printf("  checker: %" PRIu64 " records re-read after reopen (%" PRIu64 " outside the auditor's window)\n", checked_,
                not_compared_);
    for (auto& gt : groups_) {
      std::lock_guard lk(gt.mu);
      std::int64_t distinct = 0, skipped = 0;
      for (int p = 0; p < partitions; ++p)
        distinct += gt.delivered[static_cast<std::size_t>(p)].total(), skipped += gt.skipped[static_cast<std::size_t>(p)].total();
      std::printf("  %s (%s): consumed %" PRIu64 ", distinct %" PRId64 ", duplicates delivered %" PRIu64
                  ", skipped (deleted first) %" PRId64 ", rebalances (generation) %d, assigned/revoked/lost callbacks %" PRIu64 "/%" PRIu64
                  "/%" PRIu64 ", commits ok %" PRIu64 ", refused %" PRIu64 "\n",
                  gt.name.c_str(), strategies[static_cast<std::size_t>(gt.id)], gt.deliveries, distinct, gt.duplicates,
                  skipped, generation_[static_cast<std::size_t>(gt.id)], gt.assigned_calls, gt.revoked_calls,
                  gt.lost_calls, gt.commits_ok, gt.commits_refused);
    }
    double rm = 0;
    for (double r : removal_seconds_) rm = std::max(rm, r);
    std::printf("  kills %d (abandoned %d, remain_in_group %d; removed by the group after at most %.1f s), restarts %d\n",
                kills_, abandoned_, remained_, rm, restarts_);
    std::printf("  RSS: warm-up (%.0f s) %.1f MiB, max after %.1f MiB, last %.0f s max %.1f MiB, end %.1f MiB, growth %.1f%%\n",
                warm, mib(rss.base), mib(rss.after), tail, mib(rss.tail), mib(samples_.back().mem.rss), rss.growth());
    std::printf("    anonymous: warm-up %.1f MiB, max after %.1f MiB, last %.0f s max %.1f MiB (%+.1f%%): RSS growth %.1f%% "
                "(limit %.0f%%)\n",
                mib(anon.base), mib(anon.after), tail, mib(anon.tail), anon.growth(), growth, growth_limit);
    std::printf("    file-backed (segments): warm-up %.1f MiB, max after %.1f MiB (limit %.1f MiB), last %.0f s max %.1f MiB\n",
                mib(file.base), mib(file.after), mib(file_limit), tail, mib(file.tail));
    std::printf("  fds after warm-up: %d..%d (limit range %d); segment files %d..%d (%d per segment), other %d..%d "
                "(limit range %d); on deleted segments: max %d running, %d with clients closed\n",
                fd_min, fd_max, fd_limit, seg_min, seg_max, fds_per_segment_, other_min, other_max, other_limit, del_max,
                closed_fds_.deleted_segment);
    if (fd_max >= fd_min) {
      if (fd_max - fd_min > fd_limit) fail.add("fd", fmt::format("fd count ranged {}..{}", fd_min, fd_max));
      if (other_max - other_min > other_limit)
        fail.add("fd", fmt::format("non-segment fd count ranged {}..{}", other_min, other_max));
    }
    if (growth >= growth_limit)
      fail.add("rss", fmt::format("RSS grew {:.1f}% after warm-up (anonymous memory)", growth));
    if (file.after > file_limit)
      fail.add("rss", fmt::format("file-backed RSS reached {:.1f} MiB, over what retention allows", mib(file.after)));
  }

  options opt_;
  payload_gen gen_{};
  bool remove_dir_ = false;
  std::unique_ptr<franz::broker> broker_;
  std::unique_ptr<auditor> audit_;
  std::array<producer_state, producers> prods_{};
  std::atomic<bool> stop_producing_{false};
  std::array<group_track, groups> groups_{};
  std::array<std::array<std::unique_ptr<member>, members_per_group>, groups> members_{};
  std::vector<std::unique_ptr<member>> dead_;
  int incarnation_ = 0;
  steady::time_point t0_{};
  std::vector<sample> samples_;
  int fds_per_segment_ = 3;
  std::int64_t file_at_start_ = 0;
  std::array<std::set<std::int64_t>, partitions> seen_bases_{}, live_bases_{};
  std::array<std::int64_t, partitions> log_start_{}, end_{}, last_start_{}, newest_base_{};
  std::array<std::array<std::int64_t, partitions>, groups> committed_{};
  std::array<int, groups> generation_{};
  std::uint64_t rolled_ = 0, seg_deleted_ = 0, moves_by_bytes_ = 0, moves_by_time_ = 0, moves_unverified_ = 0;
  std::uint64_t acked_one_ = 0, acked_all_ = 0, checked_ = 0, not_compared_ = 0;
  int kills_ = 0, abandoned_ = 0, remained_ = 0, restarts_ = 0;
  std::vector<double> removal_seconds_;
  double load_seconds_ = 0, drain_seconds_ = 0;
  fd_counts closed_fds_{};
};

}  // namespace

#ifdef SOAK_ASAN
// ASan keeps freed blocks in a quarantine (256 MiB by default) before
// reusing them: at the soak's allocation rate its RSS would climb for
// minutes, which is the quarantine filling, not a leak. A small one keeps
// the RSS check meaningful. ASAN_OPTIONS still overrides it.
extern "C" const char* __asan_default_options() { return "quarantine_size_mb=16"; }
#endif

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    auto number = [&](auto& out) {
      const char* v = value();
      if (!v) return false;
      char* end = nullptr;
      const double d = std::strtod(v, &end);
      if (*end != '\0' || d < 0) return false;
      out = static_cast<std::remove_reference_t<decltype(out)>>(d);
      return true;
    };
    bool ok = true;
    if (a == "--seconds") ok = number(o.seconds) && o.seconds > 0;
    else if (a == "--kill-every") ok = number(o.kill_every);
    else if (a == "--seed") {
      const char* v = value();
      char* end = nullptr;
      ok = v != nullptr;
      if (v) o.seed = std::strtoull(v, &end, 10), ok = *end == '\0';
    }
    else if (a == "--rate") ok = number(o.rate) && o.rate > 0;
    else if (a == "--keep") o.keep = true;
    else if (a == "--samples") {
      const char* v = value();
      ok = v != nullptr;
      if (v) o.samples_file = v;
    }
    else if (a == "--data-dir") {
      const char* v = value();
      ok = v != nullptr;
      if (v) o.data_dir = v;
    } else if (a == "--help" || a == "-h") {
      (void)usage("a soak test of franz (see the comment at the top of tests/reliability/soak.cpp)");
      return 0;
    } else {
      return usage(fmt::format("unknown argument '{}'", a).c_str());
    }
    if (!ok) return usage(fmt::format("bad value for {}", a).c_str());
  }
  return soak(std::move(o)).run();
}
