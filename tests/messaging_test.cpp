// Producer and consumer behaviour through the public API. Producer: order
// per partition under concurrent senders, key hashing, partitioners, linger
// and batching, buffer.memory back-pressure, acks levels (with a power
// loss), group commit, errors, compression, serializers, interceptors and
// timestamps. Consumer: poll limits, blocking poll and wakeup, positions,
// pause/resume, offset lookups, auto.offset.reset, isolation, bad input,
// headers, and the lifetime of the views a poll returns.
//
// Catch2's assertions are not thread-safe: threads collect, the main
// thread asserts after joining them.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "test_util.hpp"

namespace franz {

using namespace franz::test;  // temp_dir, list_files, open_broker, ...
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

// Sanitizer builds run the concurrent tests with fewer records.
#if defined(__SANITIZE_THREAD__)
constexpr int slowdown = 4;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr int slowdown = 4;
#else
constexpr int slowdown = 1;
#endif
#else
constexpr int slowdown = 1;
#endif

long long ms_since(steady::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
}

broker_options options_for(const temp_dir& d) {
  broker_options o;
  o.data_dir = d.sub("data");
  o.background_maintenance = false;
  return o;
}

std::unique_ptr<producer> make_producer(broker& b, producer_config c = {}) {
  auto p = producer::create(b, std::move(c));
  INFO((p.ok() ? std::string() : p.error().to_string()));
  REQUIRE(p.ok());
  return std::move(*p);
}

std::unique_ptr<consumer> make_consumer(broker& b, consumer_config c = {}) {
  auto p = consumer::create(b, std::move(c));
  INFO((p.ok() ? std::string() : p.error().to_string()));
  REQUIRE(p.ok());
  return std::move(*p);
}

consumer_config from_earliest(std::int32_t max_poll_records = 500) {
  consumer_config c;
  c.auto_offset_reset = offset_reset::earliest;
  c.max_poll_records = max_poll_records;
  return c;
}

// Appends on every send (on the sending thread).
producer_config immediate(ack a = ack::leader) {
  producer_config c;
  c.acks = a;
  c.linger_ms = 0;
  return c;
}

// Appends only on flush (or a full 1 MiB batch).
producer_config lingering(ack a = ack::leader) {
  producer_config c;
  c.acks = a;
  c.linger_ms = 60000;
  c.batch_size = 1 << 20;
  return c;
}

const detail::partition_log& log_of(const broker& b, std::string_view topic, std::int32_t p) {
  auto t = b.find_topic(topic);
  REQUIRE_OK(t);
  REQUIRE(static_cast<std::size_t>(p) < (*t)->partitions.size());
  return (*t)->partitions[static_cast<std::size_t>(p)]->log();
}

std::int64_t end_of(const broker& b, std::string_view topic, std::int32_t p) {
  return log_of(b, topic, p).log_end_offset().value();
}

struct batch_info {
  std::int64_t base = 0, last = 0;
  std::int32_t count = 0;
  compression codec = compression::none;
  timestamp_type ts_type = timestamp_type::create_time;
  std::size_t bytes = 0;
};

// Every batch of a partition, read straight from its log.
std::vector<batch_info> batches_of(const broker& b, std::string_view topic, std::int32_t p) {
  const auto& log = log_of(b, topic, p);
  std::vector<batch_info> out;
  std::int64_t next = log.log_start_offset().value();
  const std::int64_t end = log.log_end_offset().value();
  while (next < end) {
    auto rd = log.read(offset{next}, std::size_t{1} << 30, std::nullopt, true);
    REQUIRE_OK(rd);
    REQUIRE(!rd->empty());
    auto br = rd->batches();
    batch_view v;
    while (br.next(v)) {
      out.push_back({v.base_offset().value(), v.last_offset().value(), v.record_count(), v.codec(), v.ts_type(),
                     v.size()});
      next = v.next_offset().value();
    }
    REQUIRE_OK(br.status());
  }
  return out;
}

// A polled record, owning its bytes.
struct got {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t off = -1;
  std::int64_t ts = -1;
  timestamp_type ts_type = timestamp_type::create_time;
  std::string key, value;
  bool key_null = false, value_null = false;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

got copy_of(const consumer_record& r) {
  got g;
  g.topic = std::string(r.topic);
  g.partition = r.partition;
  g.off = r.off.value();
  g.ts = r.ts.value();
  g.ts_type = r.ts_type;
  g.key_null = r.key.data() == nullptr;
  g.value_null = r.value.data() == nullptr;
  g.key = std::string(r.key);
  g.value = std::string(r.value);
  auto it = r.headers();
  record_header h;
  while (it.next(h))
    g.headers.emplace_back(std::string(h.key),
                           h.value.data() ? std::optional<std::string>(std::string(h.value)) : std::nullopt);
  return g;
}

// Polls until n records came back or the time is up.
std::vector<got> poll_n(consumer& c, std::size_t n, std::chrono::milliseconds timeout = 10s) {
  std::vector<got> out;
  const auto deadline = steady::now() + timeout;
  while (out.size() < n && steady::now() < deadline) {
    auto recs = c.poll(100ms);
    REQUIRE_OK(recs);
    for (const auto& r : *recs) out.push_back(copy_of(r));
  }
  return out;
}

// Every record of a topic (each partition's in consumer order).
std::vector<got> read_topic(broker& b, std::string_view topic, std::int32_t partitions) {
  auto c = make_consumer(b, from_earliest());
  std::vector<topic_partition> tps;
  std::size_t total = 0;
  for (std::int32_t p = 0; p < partitions; ++p) {
    tps.push_back({std::string(topic), p});
    total += static_cast<std::size_t>(end_of(b, topic, p) - log_of(b, topic, p).log_start_offset().value());
  }
  REQUIRE_OK(c->assign(tps));
  auto out = poll_n(*c, total);
  REQUIRE(out.size() == total);
  auto more = c->poll(0ms);
  REQUIRE_OK(more);
  REQUIRE(more->empty());
  return out;
}

// The encoded size of a batch of k copies of rec (equal timestamps).
std::size_t batch_bytes(const record& rec, int k) {
  std::size_t full = format::batch_header_size;
  for (int i = 0; i < k; ++i) full += format::record_size(rec, 0, i);
  return full;
}

std::string key_of(int i) { return fmt::format("k{:06}", i); }

std::string value_of(int i, std::size_t size = 32) {
  std::string v = fmt::format("v{:06}-", i);
  if (v.size() < size) v.append(size - v.size(), static_cast<char>('a' + i % 26));
  return v;
}

// Sends records first..first+n-1 (key_of(i), value_of(i, value_size)) to one
// partition, per_batch records to a batch; returns once all are appended.
// (A producer per batch, closed after it: batches are cut exactly there.)
void produce(broker& b, std::string_view topic, std::int32_t partition, int first, int n, int per_batch = 1,
             std::int64_t ts = -1, std::size_t value_size = 32) {
  for (int start = first; start < first + n; start += per_batch) {
    auto p = make_producer(b, lingering());
    for (int i = start; i < std::min(start + per_batch, first + n); ++i) {
      const std::string key = key_of(i), value = value_of(i, value_size);
      REQUIRE_OK(p->send({.topic = topic, .partition = partition, .ts = timestamp{ts}, .key = key, .value = value}));
    }
    REQUIRE_OK(p->close());
  }
}

// Sizes of successive poll(0) results until one comes back empty.
std::vector<std::size_t> poll_sizes(consumer& c, std::vector<got>* all = nullptr) {
  std::vector<std::size_t> sizes;
  for (int i = 0; i < 1000; ++i) {
    auto recs = c.poll(0ms);
    REQUIRE_OK(recs);
    if (recs->empty()) break;
    sizes.push_back(recs->size());
    if (all)
      for (const auto& r : *recs) all->push_back(copy_of(r));
  }
  return sizes;
}

// A test-owned gate: callbacks wait on it; opened at the latest on scope exit
// so a failing test never leaves the producer's I/O thread blocked.
class gate {
 public:
  gate() : opened_(p_.get_future().share()) {}
  ~gate() { open(); }
  gate(const gate&) = delete;
  gate& operator=(const gate&) = delete;
  void open() {
    if (!done_.exchange(true)) p_.set_value();
  }
  [[nodiscard]] std::shared_future<void> waiter() const { return opened_; }

 private:
  std::promise<void> p_;
  std::shared_future<void> opened_;
  std::atomic<bool> done_{false};
};

// fault_fs whose file syncs take as long as a real disk's.
class slow_sync_fs : public io::fault_fs {
 public:
  [[nodiscard]] status fsync(int fd, io::sync_site where = io::sync_site::here()) {
    std::this_thread::sleep_for(1ms);
    return io::fault_fs::fsync(fd, where);
  }
  [[nodiscard]] status fdatasync(int fd, io::sync_site where = io::sync_site::here()) {
    std::this_thread::sleep_for(1ms);
    return io::fault_fs::fdatasync(fd, where);
  }
};

}  // namespace

// =============================================================================
// Producer
// =============================================================================

namespace {

struct send_report {
  int calls = 0;
  errc code = errc::none;
  std::int32_t partition = -1;
  std::int64_t off = -1;
};

// 4 threads send n keyed records each ("t<thread>-<seq>") through
// `producers` producers to a 3-partition topic, then everything is read back.
void check_concurrent_order(std::size_t producers, const producer_config& cfg) {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("orders", 3));
  constexpr int threads = 4;
  const int n = 2000 / slowdown;
  std::vector<std::unique_ptr<producer>> ps;
  for (std::size_t i = 0; i < producers; ++i) ps.push_back(make_producer(*b, cfg));

  std::mutex mu;
  std::vector<std::vector<send_report>> reports(threads, std::vector<send_report>(static_cast<std::size_t>(n)));
  // Per producer and partition: a producer reports in offset order per partition.
  std::vector<std::vector<std::int64_t>> callback_offsets(producers * 3);
  std::vector<int> send_errors(threads, 0);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      producer& p = *ps[static_cast<std::size_t>(t) % ps.size()];
      for (int i = 0; i < n; ++i) {
        const std::string key = fmt::format("t{}-{:06}", t, i);
        const std::string value = fmt::format("value of t{} #{}", t, i);
        auto s = p.send({.topic = "orders", .key = key, .value = value},
                        [&, t, i](const result<record_metadata>& md) {
                          std::lock_guard g(mu);
                          auto& r = reports[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)];
                          ++r.calls;
                          r.code = md.code();
                          if (md.ok()) {
                            r.partition = md->partition;
                            r.off = md->off.value();
                            if (md->partition >= 0 && md->partition < 3)
                              callback_offsets[static_cast<std::size_t>(t) % producers * 3 +
                                               static_cast<std::size_t>(md->partition)]
                                  .push_back(r.off);
                          }
                        });
        if (!s.ok()) ++send_errors[static_cast<std::size_t>(t)];
      }
    });
  for (auto& th : ts) th.join();
  for (auto& p : ps) REQUIRE_OK(p->flush());

  for (int t = 0; t < threads; ++t) REQUIRE(send_errors[static_cast<std::size_t>(t)] == 0);
  {
    std::lock_guard g(mu);
    // Exactly one report per record, in offset order per partition.
    for (const auto& per_thread : reports)
      for (const auto& r : per_thread) {
        REQUIRE(r.calls == 1);
        REQUIRE(r.code == errc::none);
      }
    for (const auto& offs : callback_offsets)
      REQUIRE(std::adjacent_find(offs.begin(), offs.end(), std::greater_equal<>()) == offs.end());
  }

  const auto all = read_topic(*b, "orders", 3);
  REQUIRE(all.size() == static_cast<std::size_t>(threads * n));
  std::vector<std::vector<bool>> seen(threads, std::vector<bool>(static_cast<std::size_t>(n), false));
  std::map<std::pair<std::int32_t, int>, int> last_seq;  // (partition, thread) -> seq
  std::vector<std::int64_t> next_off(3, 0);
  std::lock_guard g(mu);
  for (const auto& r : all) {
    // Dense offsets from 0 in every partition.
    REQUIRE(r.off == next_off[static_cast<std::size_t>(r.partition)]++);
    int t = -1, i = -1;
    REQUIRE(std::sscanf(r.key.c_str(), "t%d-%d", &t, &i) == 2);
    REQUIRE((t >= 0 && t < threads && i >= 0 && i < n));
    REQUIRE(r.value == fmt::format("value of t{} #{}", t, i));
    // Every record exactly once, on its key's partition.
    REQUIRE(!seen[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)]);
    seen[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)] = true;
    REQUIRE(r.partition == partition_for_key(r.key, 3));
    // Each sender's records in send order within the partition.
    auto [it, fresh] = last_seq.try_emplace({r.partition, t}, i);
    if (!fresh) {
      REQUIRE(i > it->second);
      it->second = i;
    }
    // The callback said where the record is.
    const auto& rep = reports[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)];
    REQUIRE(rep.partition == r.partition);
    REQUIRE(rep.off == r.off);
  }
}

}  // namespace

TEST_CASE("4 threads sharing one producer: per-partition send order, dense offsets, exact callback offsets",
          "[producer][concurrency]") {
  producer_config cfg;  // acks=all, linger.ms=5: the I/O thread seals too
  cfg.batch_size = 1024;  // senders seal full batches while the I/O thread seals lingering ones
  check_concurrent_order(1, cfg);
}

TEST_CASE("4 producers on 4 threads: per-partition send order, dense offsets, exact callback offsets",
          "[producer][concurrency]") {
  check_concurrent_order(4, immediate(ack::leader));
}

TEST_CASE("murmur2 matches Kafka's Utils.murmur2 test vectors", "[producer]") {
  CHECK(static_cast<std::int32_t>(murmur2("21")) == -973932308);
  CHECK(static_cast<std::int32_t>(murmur2("foobar")) == -790332482);
  CHECK(static_cast<std::int32_t>(murmur2("a-little-bit-long-string")) == -985981536);
  CHECK(static_cast<std::int32_t>(murmur2("a-little-bit-longer-string")) == -1486304829);
  CHECK(static_cast<std::int32_t>(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")) == -58897971);
  const char abc[] = {'a', 'b', 'c'};
  CHECK(static_cast<std::int32_t>(murmur2(bytes_view(abc, 3))) == 479470107);
  // Bytes >= 0x80 count as unsigned (Java's `& 0xff`); a port of Kafka's code gives these.
  const char high[] = {'\x80', '\xff', '\x00', '\xfe', '\x7f'};
  CHECK(static_cast<std::int32_t>(murmur2(bytes_view(high, 5))) == -188473051);
  CHECK(static_cast<std::int32_t>(murmur2(bytes_view("", 0))) == 275646681);
}

TEST_CASE("partition_for_key is Kafka's toPositive(murmur2) modulo the partition count", "[producer]") {
  struct want {
    std::string_view key;
    std::int32_t p3, p7, p100;
  };
  const want cases[] = {
      {"21", 0, 3, 40},
      {"foobar", 0, 0, 66},
      {"a-little-bit-long-string", 2, 1, 12},
      {"a-little-bit-longer-string", 2, 0, 19},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 2, 3, 77},
      {std::string_view("\x80\xff\x00\xfe\x7f", 5), 1, 5, 97},
  };
  for (const auto& c : cases) {
    INFO(c.key);
    CHECK(partition_for_key(c.key, 1) == 0);
    CHECK(partition_for_key(c.key, 3) == c.p3);
    CHECK(partition_for_key(c.key, 7) == c.p7);
    CHECK(partition_for_key(c.key, 100) == c.p100);
  }
}

TEST_CASE("records with the same key land on the same partition, also after a broker reopen with a new producer",
          "[producer]") {
  temp_dir d;
  std::mutex mu;
  std::map<std::string, std::set<std::int32_t>> where;
  auto send_keys = [&](broker& b) {
    auto p = make_producer(b, immediate());
    for (int round = 0; round < 3; ++round)
      for (int k = 0; k < 40; ++k) {
        const std::string key = fmt::format("user-{}", k);
        REQUIRE_OK(p->send({.topic = "keyed", .key = key, .value = "x"}, [&, key](const result<record_metadata>& md) {
          std::lock_guard g(mu);
          where[key].insert(md.ok() ? md->partition : -1);
        }));
      }
    REQUIRE_OK(p->flush());
  };
  {
    auto b = open_broker(options_for(d));
    REQUIRE_OK(b->create_topic("keyed", 5));
    send_keys(*b);
  }
  auto b = open_broker(options_for(d));
  send_keys(*b);
  std::lock_guard g(mu);
  REQUIRE(where.size() == 40);
  std::set<std::int32_t> used;
  for (const auto& [key, ps] : where) {
    INFO(key);
    REQUIRE(ps.size() == 1);
    REQUIRE(*ps.begin() == partition_for_key(key, 5));
    used.insert(*ps.begin());
  }
  REQUIRE(used.size() > 1);  // the keys do spread
  const auto all = read_topic(*b, "keyed", 5);
  REQUIRE(all.size() == 240);
  for (const auto& r : all) REQUIRE(r.partition == partition_for_key(r.key, 5));
}

TEST_CASE("an explicit partition overrides the key's hash; one out of range gives UNKNOWN_TOPIC_OR_PARTITION",
          "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("explicit", 3));
  auto p = make_producer(*b, immediate());
  std::atomic<int> calls{0};
  std::atomic<std::int32_t> reported{-1};
  REQUIRE(partition_for_key("21", 3) == 0);
  REQUIRE_OK(p->send({.topic = "explicit", .partition = 2, .key = "21", .value = "v"},
                     [&](const result<record_metadata>& md) {
                       reported = md.ok() ? md->partition : -2;
                       ++calls;
                     }));
  REQUIRE_OK(p->flush());
  REQUIRE(reported == 2);
  for (std::int32_t bad : {3, -1, 1000}) {
    INFO(bad);
    auto s = p->send({.topic = "explicit", .partition = bad, .key = "21", .value = "v"},
                     [&](const result<record_metadata>&) { ++calls; });
    REQUIRE(s.code() == errc::unknown_topic_or_partition);
  }
  REQUIRE_OK(p->flush());
  REQUIRE(calls == 1);
  REQUIRE(end_of(*b, "explicit", 0) == 0);
  REQUIRE(end_of(*b, "explicit", 1) == 0);
  REQUIRE(end_of(*b, "explicit", 2) == 1);
}

TEST_CASE("the round_robin partitioner spreads keyless records evenly, one partition after the other", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("rr", 3));
  auto cfg = immediate();
  cfg.partitioner_class = partitioner_kind::round_robin;
  auto p = make_producer(*b, cfg);
  std::mutex mu;
  std::vector<std::int32_t> where(300, -1);
  for (int i = 0; i < 300; ++i)
    REQUIRE_OK(p->send({.topic = "rr", .value = value_of(i)}, [&, i](const result<record_metadata>& md) {
      std::lock_guard g(mu);
      where[static_cast<std::size_t>(i)] = md.ok() ? md->partition : -1;
    }));
  REQUIRE_OK(p->flush());
  for (std::int32_t part = 0; part < 3; ++part) REQUIRE(end_of(*b, "rr", part) == 100);
  std::lock_guard g(mu);
  for (std::size_t i = 0; i < where.size(); ++i) REQUIRE(where[i] == (where[0] + static_cast<std::int32_t>(i)) % 3);
}

TEST_CASE("the sticky partitioner keeps keyless records on one partition until its batch is full, then moves on",
          "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("sticky", 3));
  // Equal records with equal timestamps: every record of a batch has the
  // same encoded size, so batch.size can be exactly k records.
  const std::string value(50, 's');
  constexpr std::int64_t ts = 1'000'000;
  const record rec{null_bytes, value, {}, timestamp{ts}};
  constexpr int k = 5;
  const std::size_t full = batch_bytes(rec, k);
  auto cfg = lingering();
  const bool exact = GENERATE(true, false);
  // Exact: the k-th record fills the batch. Otherwise the (k+1)-th does
  // not fit and seals it.
  cfg.batch_size = static_cast<std::int64_t>(exact ? full : full + format::record_size(rec, 0, k) / 2);
  INFO((exact ? "batch.size of exactly k records" : "batch.size between k and k+1 records"));
  auto p = make_producer(*b, cfg);
  constexpr int n = 60;
  std::mutex mu;
  std::vector<std::int32_t> where(n, -1);
  for (int i = 0; i < n; ++i)
    REQUIRE_OK(p->send({.topic = "sticky", .ts = timestamp{ts}, .value = value}, [&, i](const result<record_metadata>& md) {
      std::lock_guard g(mu);
      where[static_cast<std::size_t>(i)] = md.ok() ? md->partition : -1;
    }));
  REQUIRE_OK(p->flush());
  std::lock_guard g(mu);
  for (auto w : where) REQUIRE(w >= 0);
  std::int64_t total = 0;
  for (std::int32_t part = 0; part < 3; ++part) {
    const auto bs = batches_of(*b, "sticky", part);
    total += end_of(*b, "sticky", part);
    // Every batch but the last of each partition (appended by flush) is full.
    for (std::size_t i = 0; i + 1 < bs.size(); ++i) REQUIRE(bs[i].count == k);
    if (exact && !bs.empty()) REQUIRE(bs.back().count == k);
  }
  REQUIRE(total == n);
  // Runs of one partition in send order.
  std::vector<int> runs{1};
  for (std::size_t i = 1; i < where.size(); ++i) {
    if (where[i] == where[i - 1]) ++runs.back();
    else runs.push_back(1);
  }
  INFO("runs: " << fmt::format("{}", fmt::join(runs, " ")));
  if (exact) {
    // Exactly one batch per run: the partition changes right after each fill.
    REQUIRE(runs.size() == static_cast<std::size_t>(n / k));
    for (int r : runs) REQUIRE(r == k);
  } else {
    REQUIRE(runs.size() >= static_cast<std::size_t>(n / (k + 1)));
    for (int r : runs) REQUIRE(r <= k + 1);
  }
}

namespace {

// Picks the partition named by the value's first digit.
class by_first_digit final : public partitioner {
 public:
  std::int32_t partition(std::string_view topic, bytes_view key, bytes_view value, std::int32_t count) override {
    (void)key;
    calls.fetch_add(1);
    if (topic != "custom" || count != 3) wrong_args.fetch_add(1);
    if (value.empty()) return -1;
    return value[0] - '0';
  }
  std::atomic<int> calls{0};
  std::atomic<int> wrong_args{0};
};

}  // namespace

TEST_CASE("a custom partitioner is called for records without a partition and its choice is used; "
          "an out-of-range choice gives UNKNOWN_TOPIC_OR_PARTITION",
          "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("custom", 3));
  auto part = std::make_shared<by_first_digit>();
  auto cfg = immediate();
  cfg.custom_partitioner = part;
  auto p = make_producer(*b, cfg);
  std::mutex mu;
  std::map<std::string, std::int32_t> where;
  auto cb = [&](std::string v) {
    return [&, v](const result<record_metadata>& md) {
      std::lock_guard g(mu);
      where[v] = md.ok() ? md->partition : -1;
    };
  };
  // Keyed records too: the custom partitioner replaces the key hash ("21" hashes to 0).
  for (std::string v : {"2a", "0b", "1c", "2d"}) REQUIRE_OK(p->send({.topic = "custom", .key = "21", .value = v}, cb(v)));
  REQUIRE_OK(p->send({.topic = "custom", .value = "1e"}, cb("1e")));
  // An explicit partition wins; the partitioner is not asked.
  REQUIRE_OK(p->send({.topic = "custom", .partition = 0, .value = "2f"}, cb("2f")));
  REQUIRE(part->calls == 5);
  REQUIRE(p->send({.topic = "custom", .value = "3"}).code() == errc::unknown_topic_or_partition);
  REQUIRE(p->send({.topic = "custom", .value = ""}).code() == errc::unknown_topic_or_partition);  // -1
  REQUIRE(part->calls == 7);
  REQUIRE(part->wrong_args == 0);
  REQUIRE_OK(p->flush());
  std::lock_guard g(mu);
  REQUIRE(where == std::map<std::string, std::int32_t>{{"2a", 2}, {"0b", 0}, {"1c", 1}, {"2d", 2}, {"1e", 1}, {"2f", 0}});
  REQUIRE(end_of(*b, "custom", 0) == 2);
  REQUIRE(end_of(*b, "custom", 1) == 2);
  REQUIRE(end_of(*b, "custom", 2) == 2);
}

TEST_CASE("with linger.ms=0 every send is appended, and visible to a consumer, before send returns", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("now", 1));
  auto p = make_producer(*b, immediate());
  auto c = make_consumer(*b, from_earliest());
  REQUIRE_OK(c->assign({{"now", 0}}));
  for (int i = 0; i < 20; ++i) {
    const std::string v = value_of(i);
    REQUIRE_OK(p->send({.topic = "now", .value = v}));
    REQUIRE(end_of(*b, "now", 0) == i + 1);
    auto recs = c->poll(0ms);
    REQUIRE_OK(recs);
    REQUIRE(recs->size() == 1);
    REQUIRE((*recs)[0].off.value() == i);
    REQUIRE((*recs)[0].value == v);
  }
  const auto bs = batches_of(*b, "now", 0);
  REQUIRE(bs.size() == 20);
  for (const auto& x : bs) REQUIRE(x.count == 1);
}

TEST_CASE("with a long linger.ms and a large batch.size nothing is appended before flush, which appends one batch",
          "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("later", 1));
  auto p = make_producer(*b, lingering());
  auto c = make_consumer(*b, from_earliest());
  REQUIRE_OK(c->assign({{"later", 0}}));
  for (int i = 0; i < 50; ++i) {
    REQUIRE_OK(p->send({.topic = "later", .value = value_of(i)}));
    REQUIRE(end_of(*b, "later", 0) == 0);
  }
  std::this_thread::sleep_for(30ms);
  REQUIRE(end_of(*b, "later", 0) == 0);
  auto none = c->poll(0ms);
  REQUIRE_OK(none);
  REQUIRE(none->empty());
  REQUIRE_OK(p->flush());
  REQUIRE(end_of(*b, "later", 0) == 50);
  const auto bs = batches_of(*b, "later", 0);
  REQUIRE(bs.size() == 1);
  REQUIRE(bs[0].count == 50);
  const auto recs = poll_n(*c, 50);
  REQUIRE(recs.size() == 50);
  for (int i = 0; i < 50; ++i) REQUIRE(recs[static_cast<std::size_t>(i)].value == value_of(i));
}

TEST_CASE("a record sent after flush returned waits for linger.ms like any other", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("after", 1));
  auto p = make_producer(*b, lingering());  // linger.ms = 60 s
  int early = 0;
  for (int i = 0; i < 30; ++i) {
    REQUIRE_OK(p->flush());  // appends what is open
    const auto end = end_of(*b, "after", 0);
    REQUIRE(end == i);
    REQUIRE_OK(p->send({.topic = "after", .value = value_of(i)}));  // opens a new batch
    std::this_thread::sleep_for(2ms);
    if (end_of(*b, "after", 0) != end) ++early;  // appended with neither flush nor linger.ms
  }
  INFO(early << " of 30 records were appended before their linger.ms, without a flush");
  REQUIRE(early == 0);
}

TEST_CASE("with a long linger.ms a batch is appended as soon as it is full", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("full", 1));
  const std::string value(40, 'f');
  constexpr std::int64_t ts = 5'000;
  const record rec{null_bytes, value, {}, timestamp{ts}};
  constexpr int k = 10;
  const std::size_t full = batch_bytes(rec, k);
  auto cfg = lingering();
  cfg.batch_size = static_cast<std::int64_t>(full);
  auto p = make_producer(*b, cfg);
  for (int i = 0; i < k - 1; ++i) REQUIRE_OK(p->send({.topic = "full", .ts = timestamp{ts}, .value = value}));
  REQUIRE(end_of(*b, "full", 0) == 0);
  REQUIRE_OK(p->send({.topic = "full", .ts = timestamp{ts}, .value = value}));
  REQUIRE(end_of(*b, "full", 0) == k);  // on send's return, not a linger later
  for (int i = 0; i < 5; ++i) REQUIRE_OK(p->send({.topic = "full", .ts = timestamp{ts}, .value = value}));
  REQUIRE(end_of(*b, "full", 0) == k);
  REQUIRE_OK(p->flush());
  REQUIRE(end_of(*b, "full", 0) == k + 5);
  const auto bs = batches_of(*b, "full", 0);
  REQUIRE(bs.size() == 2);
  REQUIRE(bs[0].count == k);
  REQUIRE(bs[0].bytes == full);
  REQUIRE(bs[1].count == 5);
}

TEST_CASE("with a short linger.ms records are appended without flush, several to a batch", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("linger", 1));
  producer_config cfg;
  cfg.acks = ack::leader;
  cfg.linger_ms = 20;
  auto p = make_producer(*b, cfg);
  auto c = make_consumer(*b, from_earliest());
  REQUIRE_OK(c->assign({{"linger", 0}}));
  const auto t0 = steady::now();
  for (int i = 0; i < 10; ++i) REQUIRE_OK(p->send({.topic = "linger", .value = value_of(i)}));
  auto first = c->poll(5s);
  const auto waited = ms_since(t0);
  REQUIRE_OK(first);
  REQUIRE(!first->empty());
  std::size_t n = first->size();
  n += poll_n(*c, 10 - n, 5s).size();
  REQUIRE(n == 10);
  CHECK(waited >= 10);    // the batch waited for linger.ms (20 ms, coarse clock)
  CHECK(waited < 3000);   // and no longer than that, give or take a loaded machine
  const auto bs = batches_of(*b, "linger", 0);
  REQUIRE(bs.size() < 10);
  REQUIRE(std::any_of(bs.begin(), bs.end(), [](const batch_info& x) { return x.count > 1; }));
}

TEST_CASE("send fails with REQUEST_TIMED_OUT after max.block.ms while buffer.memory is held, "
          "and succeeds once memory is freed",
          "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("bp", 1, {{"flush.ms", "9223372036854775807"}}));
  producer_config cfg;
  cfg.acks = ack::all;
  cfg.linger_ms = 0;
  cfg.batch_size = 16384;         // each batch holds 16 KiB of buffer.memory
  cfg.buffer_memory = 64 << 10;   // room for 4
  cfg.max_block_ms = 50;
  auto p = make_producer(*b, cfg);
  gate g;  // declared after p: opened before p's destructor waits for the I/O thread
  std::atomic<int> acked{0}, late{0};
  const std::string value(100, 'b');
  // The first report blocks the I/O thread, so no memory is released.
  REQUIRE_OK(p->send({.topic = "bp", .value = value}, [w = g.waiter(), &acked](const result<record_metadata>& md) {
    w.wait();
    if (md.ok()) ++acked;
  }));
  for (int i = 1; i < 4; ++i)
    REQUIRE_OK(p->send({.topic = "bp", .value = value}, [&acked](const result<record_metadata>& md) {
      if (md.ok()) ++acked;
    }));
  auto t0 = steady::now();
  auto s = p->send({.topic = "bp", .value = value}, [&late](const result<record_metadata>&) { ++late; });
  const auto waited = ms_since(t0);
  REQUIRE(s.code() == errc::request_timed_out);
  CHECK(waited >= 45);
  CHECK(waited < 2000);
  REQUIRE(end_of(*b, "bp", 0) == 4);  // the refused record was not appended
  g.open();
  REQUIRE_OK(p->flush());
  REQUIRE(acked == 4);
  t0 = steady::now();
  REQUIRE_OK(p->send({.topic = "bp", .value = value}, [&acked](const result<record_metadata>& md) {
    if (md.ok()) ++acked;
  }));
  CHECK(ms_since(t0) < 1000);
  REQUIRE_OK(p->flush());
  REQUIRE(acked == 5);
  REQUIRE(late == 0);
  REQUIRE(end_of(*b, "bp", 0) == 5);
}

TEST_CASE("acks=0 reports offset -1 and still appends", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("a0", 2));
  auto p = make_producer(*b, immediate(ack::none));
  std::mutex mu;
  std::vector<record_metadata> mds;
  int errors = 0;
  for (int i = 0; i < 10; ++i)
    REQUIRE_OK(p->send({.topic = "a0", .partition = 1, .value = value_of(i)}, [&](const result<record_metadata>& md) {
      std::lock_guard g(mu);
      if (md.ok()) mds.push_back(*md);
      else ++errors;
    }));
  REQUIRE_OK(p->flush());
  std::lock_guard g(mu);
  REQUIRE(errors == 0);
  REQUIRE(mds.size() == 10);
  for (const auto& md : mds) {
    REQUIRE(md.off.value() == -1);
    REQUIRE(md.partition == 1);
    REQUIRE(md.topic == "a0");
  }
  const auto all = read_topic(*b, "a0", 2);
  REQUIRE(all.size() == 10);
  for (int i = 0; i < 10; ++i) REQUIRE(all[static_cast<std::size_t>(i)].value == value_of(i));
}

TEST_CASE("acks=1 reports the real offset of a record already readable, without waiting for an fsync",
          "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("a1", 1));
  const auto* log = &log_of(*b, "a1", 0);
  auto p = make_producer(*b, immediate(ack::leader));
  std::mutex mu;
  std::vector<std::int64_t> offs;
  int unreadable = 0, errors = 0;
  for (int i = 0; i < 50; ++i)
    REQUIRE_OK(p->send({.topic = "a1", .value = value_of(i)}, [&](const result<record_metadata>& md) {
      std::lock_guard g(mu);
      if (!md.ok()) {
        ++errors;
        return;
      }
      offs.push_back(md->off.value());
      if (log->log_end_offset() <= md->off) ++unreadable;
    }));
  REQUIRE_OK(p->flush());
  std::lock_guard g(mu);
  REQUIRE(errors == 0);
  REQUIRE(unreadable == 0);
  REQUIRE(offs.size() == 50);
  for (std::size_t i = 0; i < offs.size(); ++i) REQUIRE(offs[i] == static_cast<std::int64_t>(i));
  const auto all = read_topic(*b, "a1", 1);
  for (std::size_t i = 0; i < all.size(); ++i) REQUIRE(all[i].value == value_of(static_cast<int>(i)));
  REQUIRE(log->durable_offset().value() == 0);  // acks=1 never waited for (or caused) an fsync
}

TEST_CASE("acks=all reports a record only once the durable offset covers it", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("aall", 2));
  const detail::partition_log* logs[] = {&log_of(*b, "aall", 0), &log_of(*b, "aall", 1)};
  producer_config cfg;
  cfg.acks = ack::all;
  cfg.linger_ms = 1;
  auto p = make_producer(*b, cfg);
  std::atomic<int> reported{0}, uncovered{0}, failed{0};
  const int n = 400 / slowdown;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < n; ++i) {
        const std::string key = fmt::format("{}-{}", t, i);
        auto s = p->send({.topic = "aall", .key = key, .value = "v"}, [&](const result<record_metadata>& md) {
          if (!md.ok()) {
            ++failed;
          } else if (md->partition < 0 || md->partition > 1 ||
                     logs[md->partition]->durable_offset() <= md->off) {
            ++uncovered;
          }
          ++reported;
        });
        if (!s.ok()) ++failed;
      }
    });
  for (auto& th : ts) th.join();
  REQUIRE_OK(p->flush());
  REQUIRE(failed == 0);
  REQUIRE(uncovered == 0);
  REQUIRE(reported == 4 * n);
  REQUIRE(logs[0]->durable_offset() == logs[0]->log_end_offset());
  REQUIRE(logs[1]->durable_offset() == logs[1]->log_end_offset());
}

TEST_CASE("after a power loss every record acknowledged under acks=all is in the log at its offset",
          "[producer][power]") {
  io::fault_fs fs;
  temp_dir d;
  const broker_options opts = options_for(d);
  struct acked_record {
    std::int32_t partition;
    std::int64_t off;
    std::string key, value;
  };
  std::mutex mu;
  std::vector<acked_record> acked;
  std::size_t attempted = 0;
  {
    auto b = open_broker(opts, fs);
    REQUIRE_OK(b->create_topic("power", 3));
    producer_config cfg;
    cfg.acks = ack::all;
    cfg.linger_ms = 1;
    auto p = make_producer(*b, cfg);
    std::atomic<int> acks{0};
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> sent{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 3; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; !stop.load(); ++i) {
          const std::string key = fmt::format("t{}-{}", t, i), value = fmt::format("value {} of sender {}", i, t);
          auto s = p->send({.topic = "power", .key = key, .value = value},
                           [&, key, value](const result<record_metadata>& md) {
                             if (!md.ok()) return;
                             std::lock_guard g(mu);
                             acked.push_back({md->partition, md->off.value(), key, value});
                             ++acks;
                           });
          if (s.ok()) ++sent;
          if (i % 64 == 63) std::this_thread::yield();
        }
      });
    const auto deadline = steady::now() + 20s;
    while (acks.load() < 1000 / slowdown && steady::now() < deadline) std::this_thread::sleep_for(1ms);
    fs.crash();                        // power loss, while the senders go on
    std::this_thread::sleep_for(20ms);
    stop = true;
    for (auto& th : ts) th.join();
    p.reset();  // reports the rest (failed: the disk is gone)
    b.reset();
    attempted = sent.load();
  }
  std::lock_guard g(mu);
  REQUIRE(acked.size() >= static_cast<std::size_t>(1000 / slowdown));
  CHECK(acked.size() < attempted);  // the crash did cut the stream
  REQUIRE_OK(fs.reboot());
  auto b = open_broker(opts, fs);
  for (const auto& a : acked) {
    INFO(a.key << " at " << a.partition << "/" << a.off);
    const auto& log = log_of(*b, "power", a.partition);
    REQUIRE(a.off < log.log_end_offset().value());
    auto rd = log.read(offset{a.off}, 1, std::nullopt, true);
    REQUIRE_OK(rd);
    auto rr = rd->records();
    record_view v;
    REQUIRE(rr.next(v));
    REQUIRE(v.off.value() == a.off);
    REQUIRE(v.key == a.key);
    REQUIRE(v.value == a.value);
  }
}

TEST_CASE("group commit: concurrent acks=all senders share fsyncs, far fewer than the batches appended",
          "[producer][fsync]") {
  slow_sync_fs fs;
  temp_dir d;
  auto b = open_broker(options_for(d), fs);
  REQUIRE_OK(b->create_topic("gc", 1));
  const bool shared = GENERATE(true, false);
  INFO((shared ? "one producer shared by 4 threads" : "4 producers"));
  std::vector<std::unique_ptr<producer>> ps;
  for (int i = 0; i < (shared ? 1 : 4); ++i) ps.push_back(make_producer(*b, immediate(ack::all)));  // a batch per send
  const std::uint64_t syncs_before = fs.sync_calls();
  const int n = 250;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      producer& p = *ps[static_cast<std::size_t>(t) % ps.size()];
      for (int i = 0; i < n; ++i) {
        auto s = p.send({.topic = "gc", .value = "v"}, [&](const result<record_metadata>& md) {
          if (md.ok()) ++ok;
          else ++failed;
        });
        if (!s.ok()) ++failed;
      }
    });
  for (auto& th : ts) th.join();
  for (auto& p : ps) REQUIRE_OK(p->flush());
  const std::uint64_t syncs = fs.sync_calls() - syncs_before;
  const auto batches = batches_of(*b, "gc", 0).size();
  REQUIRE(failed == 0);
  REQUIRE(ok == 4 * n);
  REQUIRE(batches == static_cast<std::size_t>(4 * n));
  INFO(syncs << " fsyncs for " << batches << " batches");
  REQUIRE(syncs >= 1);
  REQUIRE(syncs * 10 < batches);
  REQUIRE(log_of(*b, "gc", 0).durable_offset().value() == 4 * n);
}

TEST_CASE("a record over max.request.size or the topic's max.message.bytes gives RECORD_TOO_LARGE and appends nothing",
          "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("big", 1));
  REQUIRE_OK(b->create_topic("small", 1, {{"max.message.bytes", "1024"}}));
  std::atomic<int> calls{0};
  auto count = [&](const result<record_metadata>&) { ++calls; };
  const std::string fits(500, 'a'), too_big(2000, 'z');
  SECTION("max.request.size") {
    auto cfg = immediate();
    cfg.max_request_size = 1024;
    auto p = make_producer(*b, cfg);
    REQUIRE(p->send({.topic = "big", .value = too_big}, count).code() == errc::record_too_large);
    REQUIRE(end_of(*b, "big", 0) == 0);
    auto f = p->send_future({.topic = "big", .value = too_big});
    REQUIRE(f.wait_for(0s) == std::future_status::ready);
    REQUIRE(f.get().code() == errc::record_too_large);
    REQUIRE_OK(p->send({.topic = "big", .value = fits}, count));
    REQUIRE_OK(p->flush());
    REQUIRE(end_of(*b, "big", 0) == 1);
  }
  SECTION("max.message.bytes") {
    auto p = make_producer(*b, immediate());
    REQUIRE(p->send({.topic = "small", .value = too_big}, count).code() == errc::record_too_large);
    REQUIRE(end_of(*b, "small", 0) == 0);
    REQUIRE_OK(p->send({.topic = "small", .value = fits}, count));
    REQUIRE_OK(p->send({.topic = "big", .value = too_big}, count));  // only that topic is limited
    REQUIRE_OK(p->flush());
    REQUIRE(end_of(*b, "small", 0) == 1);
    REQUIRE(end_of(*b, "big", 0) == 1);
  }
  REQUIRE(calls == (end_of(*b, "small", 0) + end_of(*b, "big", 0)));
}

TEST_CASE("a timestamp below -1 gives INVALID_TIMESTAMP; an unknown topic gives UNKNOWN_TOPIC_OR_PARTITION", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("ts", 1));
  auto p = make_producer(*b, immediate());
  std::atomic<int> calls{0};
  auto count = [&](const result<record_metadata>&) { ++calls; };
  REQUIRE(p->send({.topic = "ts", .ts = timestamp{-2}, .value = "v"}, count).code() == errc::invalid_timestamp);
  REQUIRE(p->send({.topic = "ts", .ts = timestamp{-1000}, .value = "v"}, count).code() == errc::invalid_timestamp);
  REQUIRE(p->send({.topic = "nope", .value = "v"}, count).code() == errc::unknown_topic_or_partition);
  REQUIRE(p->partitions_for("nope").code() == errc::unknown_topic_or_partition);
  REQUIRE(p->partitions_for("ts").value() == 1);
  REQUIRE(end_of(*b, "ts", 0) == 0);
  REQUIRE_OK(p->send({.topic = "ts", .ts = timestamp{0}, .value = "v"}, count));
  REQUIRE_OK(p->send({.topic = "ts", .ts = timestamp::none(), .value = "v"}, count));
  REQUIRE_OK(p->flush());
  REQUIRE(calls == 2);
  REQUIRE(end_of(*b, "ts", 0) == 2);
}

TEST_CASE("send, send_future and flush after close give ILLEGAL_STATE; close is idempotent", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("closed", 1));
  auto p = make_producer(*b, immediate());
  REQUIRE_OK(p->send({.topic = "closed", .value = "before"}));
  REQUIRE_OK(p->close());
  REQUIRE_OK(p->close());
  REQUIRE(p->send({.topic = "closed", .value = "after"}).code() == errc::illegal_state);
  REQUIRE(p->send_future({.topic = "closed", .value = "after"}).get().code() == errc::illegal_state);
  REQUIRE(p->flush().code() == errc::illegal_state);
  REQUIRE(end_of(*b, "closed", 0) == 1);
}

TEST_CASE("flush waits until every record sent before it is reported", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("fl", 3));
  auto p = make_producer(*b, lingering(ack::all));
  std::atomic<int> reported{0};
  const int n = 200 / slowdown;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < n; ++i) {
        const std::string key = fmt::format("{}-{}", t, i);
        (void)p->send({.topic = "fl", .key = key, .value = "v"}, [&](const result<record_metadata>& md) {
          if (md.ok()) ++reported;
        });
      }
    });
  for (auto& th : ts) th.join();
  REQUIRE(reported == 0);  // nothing lingered long enough yet
  REQUIRE_OK(p->flush());
  REQUIRE(reported == 4 * n);
  std::int64_t total = 0;
  for (std::int32_t part = 0; part < 3; ++part) {
    total += end_of(*b, "fl", part);
    REQUIRE(log_of(*b, "fl", part).durable_offset() == log_of(*b, "fl", part).log_end_offset());
  }
  REQUIRE(total == 4 * n);
}

TEST_CASE("close(timeout) appends pending records and reports them before returning", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("cl", 1));
  auto p = make_producer(*b, lingering(ack::all));
  std::atomic<int> reported{0};
  for (int i = 0; i < 10; ++i)
    REQUIRE_OK(p->send({.topic = "cl", .value = value_of(i)}, [&](const result<record_metadata>& md) {
      if (md.ok()) ++reported;
    }));
  REQUIRE(end_of(*b, "cl", 0) == 0);
  REQUIRE_OK(p->close(5s));
  REQUIRE(reported == 10);
  const auto all = read_topic(*b, "cl", 1);
  REQUIRE(all.size() == 10);
  for (int i = 0; i < 10; ++i) REQUIRE(all[static_cast<std::size_t>(i)].value == value_of(i));
}

TEST_CASE("close while other threads send: every record whose send succeeded is appended and reported once",
          "[producer][concurrency]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("race", 3));
  std::int64_t appended_before = 0;
  for (int round = 0; round < 50 / slowdown; ++round) {
    INFO("round " << round);
    producer_config cfg;
    cfg.acks = ack::leader;
    cfg.linger_ms = 5;  // a record left in an open batch after close would never be appended
    auto p = make_producer(*b, cfg);
    std::atomic<std::int64_t> accepted{0}, reported{0}, reported_ok{0};
    std::atomic<int> other_errors{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 3; ++t)
      ts.emplace_back([&] {
        for (;;) {
          auto s = p->send({.topic = "race", .value = "v"}, [&](const result<record_metadata>& md) {
            ++reported;
            if (md.ok()) ++reported_ok;
          });
          if (s.ok()) {
            ++accepted;
          } else {
            if (s.code() != errc::illegal_state) ++other_errors;
            break;
          }
        }
      });
    std::this_thread::sleep_for(2ms);
    const auto closed = p->close();
    for (auto& th : ts) th.join();
    p.reset();
    REQUIRE_OK(closed);
    REQUIRE(other_errors == 0);
    REQUIRE(reported == accepted);
    REQUIRE(reported_ok == accepted);
    std::int64_t appended = 0;
    for (std::int32_t part = 0; part < 3; ++part) appended += end_of(*b, "race", part);
    REQUIRE(appended - appended_before == accepted);
    appended_before = appended;
  }
}

TEST_CASE("send_future delivers the record's metadata, and send's own errors through the future", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("fut", 2));
  producer_config cfg;  // acks=all, linger 5
  auto p = make_producer(*b, cfg);
  auto f0 = p->send_future({.topic = "fut", .partition = 1, .value = "a"});
  auto f1 = p->send_future({.topic = "fut", .partition = 1, .value = "b"});
  auto bad = p->send_future({.topic = "missing", .value = "c"});
  auto bad_ts = p->send_future({.topic = "fut", .ts = timestamp{-5}, .value = "c"});
  REQUIRE(bad.wait_for(0s) == std::future_status::ready);
  REQUIRE(bad.get().code() == errc::unknown_topic_or_partition);
  REQUIRE(bad_ts.get().code() == errc::invalid_timestamp);
  REQUIRE(f1.wait_for(5s) == std::future_status::ready);  // linger.ms passes without a flush
  auto m0 = f0.get();
  auto m1 = f1.get();
  REQUIRE_OK(m0);
  REQUIRE_OK(m1);
  REQUIRE(m0->topic == "fut");
  REQUIRE(m0->partition == 1);
  REQUIRE(m0->off.value() == 0);
  REQUIRE(m1->off.value() == 1);
  REQUIRE(log_of(*b, "fut", 1).durable_offset().value() >= 2);
}

TEST_CASE("flush from a send callback gives ILLEGAL_STATE instead of deadlocking", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("cb", 1));
  auto p = make_producer(*b, immediate());
  std::promise<errc> code;
  auto f = code.get_future();
  REQUIRE_OK(p->send({.topic = "cb", .value = "v"}, [&](const result<record_metadata>&) {
    code.set_value(p->flush().code());
  }));
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  REQUIRE(f.get() == errc::illegal_state);
  REQUIRE_OK(p->send({.topic = "cb", .value = "still open"}));
  REQUIRE_OK(p->flush());
  REQUIRE(end_of(*b, "cb", 0) == 2);
}

TEST_CASE("lz4 and zstd batches from the producer read back exactly", "[producer][compression]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  const compression codec = GENERATE(compression::lz4, compression::zstd);
  INFO(static_cast<int>(codec));
  REQUIRE_OK(b->create_topic("z", 1));
  auto cfg = lingering();
  cfg.batch_size = 16384;
  cfg.compression_type = codec;
  auto p = make_producer(*b, cfg);
  const record_header hs[] = {{"n", "1"}, {"nil", null_bytes}};
  for (int i = 0; i < 300; ++i) {
    const std::string key = key_of(i), value = value_of(i, 10 + static_cast<std::size_t>(i * 37 % 300));
    REQUIRE_OK(p->send({.topic = "z", .key = key, .value = value, .headers = hs}));
  }
  REQUIRE_OK(p->flush());
  const auto bs = batches_of(*b, "z", 0);
  REQUIRE(bs.size() > 1);
  for (const auto& x : bs) REQUIRE(x.codec == codec);
  const auto all = read_topic(*b, "z", 1);
  REQUIRE(all.size() == 300);
  for (int i = 0; i < 300; ++i) {
    const auto& r = all[static_cast<std::size_t>(i)];
    REQUIRE(r.off == i);
    REQUIRE(r.key == key_of(i));
    REQUIRE(r.value == value_of(i, 10 + static_cast<std::size_t>(i * 37 % 300)));
    REQUIRE(r.headers.size() == 2);
    REQUIRE(r.headers[0] == std::pair<std::string, std::optional<std::string>>{"n", "1"});
    REQUIRE(r.headers[1] == std::pair<std::string, std::optional<std::string>>{"nil", std::nullopt});
  }
}

TEST_CASE("a topic's compression.type overrides the producer's compression.type", "[producer][compression]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("tz", 1, {{"compression.type", "zstd"}}));
  REQUIRE_OK(b->create_topic("tn", 1, {{"compression.type", "none"}}));
  REQUIRE_OK(b->create_topic("tp", 1, {{"compression.type", "producer"}}));
  auto cfg = lingering();
  cfg.compression_type = compression::lz4;
  auto p = make_producer(*b, cfg);
  for (const char* t : {"tz", "tn", "tp"})
    for (int i = 0; i < 20; ++i) REQUIRE_OK(p->send({.topic = t, .value = value_of(i, 200)}));
  REQUIRE_OK(p->flush());
  const std::pair<const char*, compression> want[] = {
      {"tz", compression::zstd}, {"tn", compression::none}, {"tp", compression::lz4}};
  for (const auto& [t, codec] : want) {
    INFO(t);
    const auto bs = batches_of(*b, t, 0);
    REQUIRE(!bs.empty());
    for (const auto& x : bs) REQUIRE(x.codec == codec);
    const auto all = read_topic(*b, t, 1);
    REQUIRE(all.size() == 20);
    for (int i = 0; i < 20; ++i) REQUIRE(all[static_cast<std::size_t>(i)].value == value_of(i, 200));
  }
}

TEST_CASE("batches of different codecs in one partition read back in order", "[producer][compression]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("mixed", 1));
  const compression codecs[] = {compression::none, compression::lz4, compression::zstd};
  std::vector<std::unique_ptr<producer>> ps;
  for (auto c : codecs) {
    auto cfg = lingering();
    cfg.compression_type = c;
    ps.push_back(make_producer(*b, cfg));
  }
  std::vector<compression> expected;
  int i = 0;
  for (int round = 0; round < 9; ++round) {
    const auto which = static_cast<std::size_t>((round * 2) % 3);  // none, zstd, lz4, none, ...
    for (int j = 0; j < 10; ++j, ++i) REQUIRE_OK(ps[which]->send({.topic = "mixed", .key = key_of(i), .value = value_of(i, 100)}));
    REQUIRE_OK(ps[which]->flush());
    expected.push_back(codecs[which]);
  }
  const auto bs = batches_of(*b, "mixed", 0);
  REQUIRE(bs.size() == expected.size());
  for (std::size_t k = 0; k < bs.size(); ++k) REQUIRE(bs[k].codec == expected[k]);
  auto c = make_consumer(*b, from_earliest(7));  // polls end inside batches of every codec
  REQUIRE_OK(c->assign({{"mixed", 0}}));
  const auto all = poll_n(*c, 90);
  REQUIRE(all.size() == 90);
  for (int k = 0; k < 90; ++k) {
    REQUIRE(all[static_cast<std::size_t>(k)].off == k);
    REQUIRE(all[static_cast<std::size_t>(k)].key == key_of(k));
    REQUIRE(all[static_cast<std::size_t>(k)].value == value_of(k, 100));
  }
}

TEST_CASE("compressed batches of incompressible records still fit the topic's max.message.bytes",
          "[producer][compression]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  const compression codec = GENERATE(compression::lz4, compression::zstd);
  INFO(static_cast<int>(codec));
  // batch.size (16 KiB) is above max.message.bytes: batches are cut at 1024 bytes.
  REQUIRE_OK(b->create_topic("tight", 1, {{"max.message.bytes", "1024"}}));
  auto cfg = lingering();
  cfg.batch_size = 16384;
  cfg.compression_type = codec;
  auto p = make_producer(*b, cfg);
  std::mt19937_64 rng(42);
  std::atomic<int> ok{0};
  std::mutex mu;
  std::vector<std::string> errors;
  for (int i = 0; i < 50; ++i) {
    std::string value(100, '\0');
    for (auto& ch : value) ch = static_cast<char>(rng());
    REQUIRE_OK(p->send({.topic = "tight", .value = value}, [&](const result<record_metadata>& md) {
      if (md.ok()) {
        ++ok;
      } else {
        std::lock_guard g(mu);
        errors.push_back(md.error().to_string());
      }
    }));
  }
  REQUIRE_OK(p->flush());
  std::lock_guard g(mu);
  INFO((errors.empty() ? std::string() : errors.front()));
  REQUIRE(errors.empty());
  REQUIRE(ok == 50);
  REQUIRE(end_of(*b, "tight", 0) == 50);
}

TEST_CASE("compressible data takes much less space on disk when compressed", "[producer][compression]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("plain", 1));
  REQUIRE_OK(b->create_topic("packed", 1));
  auto plain = make_producer(*b, lingering());
  auto cfg = lingering();
  cfg.batch_size = 64 << 10;
  cfg.compression_type = compression::zstd;
  auto packed = make_producer(*b, cfg);
  const std::string value(1000, 'x');
  for (int i = 0; i < 200; ++i) {
    REQUIRE_OK(plain->send({.topic = "plain", .value = value}));
    REQUIRE_OK(packed->send({.topic = "packed", .value = value}));
  }
  REQUIRE_OK(plain->flush());
  REQUIRE_OK(packed->flush());
  const auto a = b->describe_topic("plain");
  const auto z = b->describe_topic("packed");
  REQUIRE_OK(a);
  REQUIRE_OK(z);
  INFO(a->partitions[0].size_bytes << " plain, " << z->partitions[0].size_bytes << " zstd");
  REQUIRE(a->partitions[0].size_bytes >= 200'000);
  REQUIRE(z->partitions[0].size_bytes * 10 < a->partitions[0].size_bytes);
  REQUIRE(read_topic(*b, "packed", 1).size() == 200);
}

TEST_CASE("typed_producer serializes std::string, std::string_view and byte-vector keys and values", "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("typed", 1));
  auto p = make_producer(*b, immediate());
  typed_producer<std::string, std::string> strings(*p);
  typed_producer<std::string_view, std::string_view> views(*p);
  typed_producer<std::vector<std::byte>, std::vector<std::byte>> bytes(*p);
  const record_header hs[] = {{"h", "1"}};
  std::atomic<int> acked{0};
  REQUIRE_OK(strings.send("typed", std::string("k1"), std::string("v1"),
                          [&](const result<record_metadata>& md) { if (md.ok()) ++acked; }, 0, hs));
  REQUIRE_OK(views.send("typed", std::string_view("k2"), std::string_view("v2")));
  const std::vector<std::byte> kb{std::byte{0}, std::byte{0xff}, std::byte{'k'}};
  const std::vector<std::byte> vb{std::byte{0x80}, std::byte{0}, std::byte{1}, std::byte{0x7f}};
  REQUIRE_OK(bytes.send("typed", kb, vb));
  REQUIRE_OK(strings.send("typed", std::string("no key")));
  REQUIRE_OK(bytes.send("typed", std::vector<std::byte>{}, std::vector<std::byte>{}));
  REQUIRE(&strings.untyped() == p.get());
  REQUIRE_OK(p->flush());
  REQUIRE(acked == 1);
  const auto all = read_topic(*b, "typed", 1);
  REQUIRE(all.size() == 5);
  REQUIRE(all[0].key == "k1");
  REQUIRE(all[0].value == "v1");
  REQUIRE(all[0].headers.size() == 1);
  REQUIRE(all[0].headers[0].first == "h");
  REQUIRE(all[1].key == "k2");
  REQUIRE(all[1].value == "v2");
  REQUIRE(all[2].key == std::string("\0\xffk", 3));
  REQUIRE(all[2].value == std::string("\x80\0\x01\x7f", 4));
  REQUIRE(all[3].key_null);
  REQUIRE(all[3].value == "no key");
  REQUIRE((!all[4].key_null && all[4].key.empty()));  // empty, not null
  REQUIRE((!all[4].value_null && all[4].value.empty()));
}

namespace {

// Appends its suffix to every value; logs acknowledgements.
class suffixing final : public producer_interceptor {
 public:
  suffixing(std::string suffix, std::mutex& mu, std::vector<std::string>& events)
      : suffix_(std::move(suffix)), mu_(&mu), events_(&events) {}
  void on_send(producer_record& r) override {
    buf_ = std::string(r.value) + suffix_;  // single sending thread in this test
    r.value = buf_;
  }
  void on_acknowledgement(const result<record_metadata>& md) override {
    std::lock_guard g(*mu_);
    events_->push_back(fmt::format("{} ack {}", suffix_, md.ok() ? md->off.value() : -100));
  }

 private:
  std::string suffix_;
  std::string buf_;
  std::mutex* mu_;
  std::vector<std::string>* events_;
};

}  // namespace

TEST_CASE("interceptors: on_send may change the value; on_acknowledgement runs once per record, before its callback",
          "[producer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("icpt", 1));
  std::mutex mu;
  std::vector<std::string> events;
  producer_config cfg;
  cfg.acks = ack::all;
  cfg.interceptors = {std::make_shared<suffixing>("+a", mu, events), std::make_shared<suffixing>("+b", mu, events)};
  auto p = make_producer(*b, cfg);
  for (int i = 0; i < 10; ++i) {
    const std::string v = fmt::format("v{}", i);
    if (i % 2 == 0) {
      REQUIRE_OK(p->send({.topic = "icpt", .value = v}, [&](const result<record_metadata>& md) {
        std::lock_guard g(mu);
        events.push_back(fmt::format("cb {}", md.ok() ? md->off.value() : -100));
      }));
    } else {
      REQUIRE_OK(p->send({.topic = "icpt", .value = v}));  // no callback: still acknowledged to interceptors
    }
  }
  REQUIRE_OK(p->flush());
  const auto all = read_topic(*b, "icpt", 1);
  REQUIRE(all.size() == 10);
  for (int i = 0; i < 10; ++i) REQUIRE(all[static_cast<std::size_t>(i)].value == fmt::format("v{}+a+b", i));
  std::lock_guard g(mu);
  auto index_of = [&](const std::string& e) {
    INFO(e);
    REQUIRE(std::count(events.begin(), events.end(), e) == 1);
    return std::find(events.begin(), events.end(), e) - events.begin();
  };
  for (int i = 0; i < 10; ++i) {
    const auto a = index_of(fmt::format("+a ack {}", i));
    const auto bb = index_of(fmt::format("+b ack {}", i));
    REQUIRE(a < bb);  // interceptors in order
    if (i % 2 == 0) REQUIRE(bb < index_of(fmt::format("cb {}", i)));
  }
  REQUIRE(events.size() == 25);
}

TEST_CASE("CreateTime keeps the producer's timestamps; a record without one gets the broker clock's time",
          "[producer][time]") {
  temp_dir d;
  manual_clock clk(1'700'000'000'000);
  auto o = options_for(d);
  o.clk = &clk;
  auto b = open_broker(o);
  REQUIRE_OK(b->create_topic("ct", 1));
  auto p = make_producer(*b, immediate());
  std::mutex mu;
  std::vector<std::int64_t> reported;
  const std::int64_t sent[] = {1000, 5000, 3000, -1};
  for (auto ts : sent)
    REQUIRE_OK(p->send({.topic = "ct", .ts = timestamp{ts}, .value = "v"}, [&](const result<record_metadata>& md) {
      std::lock_guard g(mu);
      reported.push_back(md.ok() ? md->ts.value() : -100);
    }));
  REQUIRE_OK(p->flush());
  const std::vector<std::int64_t> want{1000, 5000, 3000, clk.now_ms()};
  std::lock_guard g(mu);
  REQUIRE(reported == want);
  const auto all = read_topic(*b, "ct", 1);
  REQUIRE(all.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    REQUIRE(all[i].ts == want[i]);
    REQUIRE(all[i].ts_type == timestamp_type::create_time);
  }
}

TEST_CASE("a LogAppendTime topic stamps, stores and reports the append time", "[producer][time]") {
  temp_dir d;
  manual_clock clk(1'700'000'000'000);
  auto o = options_for(d);
  o.clk = &clk;
  auto b = open_broker(o);
  REQUIRE_OK(b->create_topic("lat", 1, {{"message.timestamp.type", "LogAppendTime"}}));
  std::mutex mu;
  std::vector<std::int64_t> reported;
  auto cb = [&](const result<record_metadata>& md) {
    std::lock_guard g(mu);
    reported.push_back(md.ok() ? md->ts.value() : -100);
  };
  const std::int64_t t0 = clk.now_ms();
  {
    auto p = make_producer(*b, immediate());
    REQUIRE_OK(p->send({.topic = "lat", .ts = timestamp{1000}, .value = "a"}, cb));
    clk.advance(250);
    REQUIRE_OK(p->send({.topic = "lat", .value = "b"}, cb));
    REQUIRE_OK(p->flush());
  }
  {
    auto p = make_producer(*b, lingering());  // one batch of three, appended at flush
    for (std::int64_t ts : {5, 6, 7}) REQUIRE_OK(p->send({.topic = "lat", .ts = timestamp{ts}, .value = "c"}, cb));
    clk.advance(1000);
    REQUIRE_OK(p->flush());
  }
  const std::int64_t t2 = t0 + 1250;
  const std::vector<std::int64_t> want{t0, t0 + 250, t2, t2, t2};
  {
    std::lock_guard g(mu);
    REQUIRE(reported == want);
  }
  const auto all = read_topic(*b, "lat", 1);
  REQUIRE(all.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    REQUIRE(all[i].ts == want[i]);
    REQUIRE(all[i].ts_type == timestamp_type::log_append_time);
  }
  // offsets_for_times sees the stored (append) times.
  auto c = make_consumer(*b);
  auto found = c->offsets_for_times({{{"lat", 0}, timestamp{t0 + 1}}});
  REQUIRE_OK(found);
  REQUIRE(found->at({"lat", 0}).has_value());
  REQUIRE(found->at({"lat", 0})->off.value() == 1);
}

// =============================================================================
// Consumer
// =============================================================================

TEST_CASE("max.poll.records bounds every poll exactly, across batches and partitions", "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("mpr", 2));
  produce(*b, "mpr", 0, 0, 20, 4);
  produce(*b, "mpr", 1, 100, 20, 4);
  auto c = make_consumer(*b, from_earliest(7));
  std::vector<got> all;
  SECTION("one partition") {
    REQUIRE_OK(c->assign({{"mpr", 0}}));
    REQUIRE(poll_sizes(*c, &all) == std::vector<std::size_t>{7, 7, 6});
    for (std::size_t i = 0; i < all.size(); ++i) {
      REQUIRE(all[i].off == static_cast<std::int64_t>(i));
      REQUIRE(all[i].value == value_of(static_cast<int>(i)));
    }
  }
  SECTION("two partitions") {
    REQUIRE_OK(c->assign({{"mpr", 0}, {"mpr", 1}}));
    REQUIRE(poll_sizes(*c, &all) == std::vector<std::size_t>{7, 7, 7, 7, 7, 5});
    std::int64_t next[2] = {0, 0};
    for (const auto& r : all) {
      REQUIRE(r.off == next[r.partition]++);
      REQUIRE(r.value == value_of(static_cast<int>(r.off) + 100 * r.partition));
    }
    REQUIRE(next[0] == 20);
    REQUIRE(next[1] == 20);
  }
}

TEST_CASE("max.partition.fetch.bytes and fetch.max.bytes bound the bytes of a poll, but one batch always comes back",
          "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("bytes", 2));
  // Batches of 4 equal records: equal sizes.
  produce(*b, "bytes", 0, 0, 40, 4, 1'000'000);
  produce(*b, "bytes", 1, 100, 40, 4, 1'000'000);
  const auto bs = batches_of(*b, "bytes", 0);
  REQUIRE(bs.size() == 10);
  const std::size_t batch = bs[0].bytes;
  for (const auto& x : bs) REQUIRE(x.bytes == batch);
  const auto two_and_a_half = static_cast<std::int64_t>(batch * 5 / 2);
  auto cfg = from_earliest();
  std::vector<topic_partition> tps{{"bytes", 0}};
  std::vector<std::size_t> want;
  SECTION("max.partition.fetch.bytes of two and a half batches") {
    cfg.max_partition_fetch_bytes = two_and_a_half;
    want.assign(5, 8);
  }
  SECTION("max.partition.fetch.bytes smaller than one batch") {
    cfg.max_partition_fetch_bytes = 10;
    want.assign(10, 4);
  }
  SECTION("fetch.max.bytes of two and a half batches") {
    cfg.fetch_max_bytes = two_and_a_half;
    want.assign(5, 8);
  }
  SECTION("fetch.max.bytes smaller than one batch, two partitions") {
    cfg.fetch_max_bytes = 10;
    tps.push_back({"bytes", 1});
    want.assign(20, 4);
  }
  SECTION("max.partition.fetch.bytes of two and a half batches, two partitions") {
    cfg.max_partition_fetch_bytes = two_and_a_half;
    tps.push_back({"bytes", 1});
    want.assign(5, 16);
  }
  auto c = make_consumer(*b, cfg);
  REQUIRE_OK(c->assign(tps));
  std::vector<got> all;
  REQUIRE(poll_sizes(*c, &all) == want);
  REQUIRE(all.size() == 40 * tps.size());
}

TEST_CASE("fetch.max.bytes bounds a poll over several partitions: a second partition adds no batch past the limit",
          "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("fmb", 2));
  produce(*b, "fmb", 0, 0, 40, 4, 1'000'000);
  produce(*b, "fmb", 1, 100, 40, 4, 1'000'000);
  const std::size_t batch = batches_of(*b, "fmb", 0)[0].bytes;
  auto cfg = from_earliest();
  cfg.fetch_max_bytes = static_cast<std::int64_t>(batch * 5 / 2);  // room for two whole batches
  auto c = make_consumer(*b, cfg);
  REQUIRE_OK(c->assign({{"fmb", 0}, {"fmb", 1}}));
  std::vector<got> all;
  const auto sizes = poll_sizes(*c, &all);
  REQUIRE(all.size() == 80);
  INFO("poll sizes: " << fmt::format("{}", fmt::join(sizes, " ")));
  for (auto n : sizes) REQUIRE(n <= 8);  // at most 2 batches = 2.5 batches' bytes, rounded down
}

TEST_CASE("a blocking poll returns as soon as a producer appends", "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("wake", 1));
  auto c = make_consumer(*b);  // latest
  REQUIRE_OK(c->assign({{"wake", 0}}));
  auto pos = c->position({"wake", 0});
  REQUIRE_OK(pos);
  REQUIRE(pos->value() == 0);
  auto p = make_producer(*b, immediate());
  status sent;
  std::thread sender([&] {
    std::this_thread::sleep_for(50ms);
    sent = p->send({.topic = "wake", .value = "hello"});
  });
  const auto t0 = steady::now();
  auto recs = c->poll(5s);
  const auto waited = ms_since(t0);
  sender.join();
  REQUIRE_OK(sent);
  REQUIRE_OK(recs);
  REQUIRE(recs->size() == 1);
  REQUIRE((*recs)[0].value == "hello");
  CHECK(waited >= 30);
  CHECK(waited < 2500);
}

TEST_CASE("wakeup from another thread interrupts a blocking poll with WAKEUP, once", "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("wk", 1));
  auto c = make_consumer(*b);
  REQUIRE_OK(c->assign({{"wk", 0}}));
  std::thread waker([&] {
    std::this_thread::sleep_for(50ms);
    c->wakeup();
  });
  const auto t0 = steady::now();
  auto recs = c->poll(5s);
  const auto waited = ms_since(t0);
  waker.join();
  REQUIRE(recs.code() == errc::wakeup);
  CHECK(waited >= 30);
  CHECK(waited < 2500);
  auto again = c->poll(0ms);
  REQUIRE_OK(again);
  REQUIRE(again->empty());
}

TEST_CASE("wakeup before poll makes the next poll return WAKEUP at once, and only that one", "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("wk", 1));
  produce(*b, "wk", 0, 0, 3);
  auto c = make_consumer(*b, from_earliest());
  REQUIRE_OK(c->assign({{"wk", 0}}));
  c->wakeup();
  const auto t0 = steady::now();
  REQUIRE(c->poll(5s).code() == errc::wakeup);
  CHECK(ms_since(t0) < 1000);
  auto recs = c->poll(5s);
  REQUIRE_OK(recs);
  REQUIRE(recs->size() == 3);
  REQUIRE((*recs)[0].off.value() == 0);  // the interrupted poll consumed nothing
}

TEST_CASE("poll without data returns empty after about its timeout", "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("idle", 1));
  auto c = make_consumer(*b, from_earliest());
  REQUIRE_OK(c->assign({{"idle", 0}}));
  auto t0 = steady::now();
  auto recs = c->poll(100ms);
  auto waited = ms_since(t0);
  REQUIRE_OK(recs);
  REQUIRE(recs->empty());
  CHECK(waited >= 90);
  CHECK(waited < 2000);
  t0 = steady::now();
  recs = c->poll(0ms);
  REQUIRE_OK(recs);
  REQUIRE(recs->empty());
  CHECK(ms_since(t0) < 500);
}

TEST_CASE("seek, seek_to_beginning, seek_to_end and position set where the next poll reads", "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("pos", 1));
  produce(*b, "pos", 0, 0, 20, 4);
  auto c = make_consumer(*b, from_earliest(3));
  const topic_partition tp{"pos", 0};
  REQUIRE_OK(c->assign({tp}));
  auto offsets_of_poll = [&] {
    auto recs = c->poll(0ms);
    REQUIRE_OK(recs);
    std::vector<std::int64_t> out;
    for (const auto& r : *recs) {
      REQUIRE(r.value == value_of(static_cast<int>(r.off.value())));
      out.push_back(r.off.value());
    }
    return out;
  };
  auto position = [&] {
    auto p = c->position(tp);
    REQUIRE_OK(p);
    return p->value();
  };
  REQUIRE(position() == 0);
  REQUIRE(offsets_of_poll() == std::vector<std::int64_t>{0, 1, 2});
  REQUIRE(position() == 3);
  REQUIRE_OK(c->seek(tp, offset{6}));  // inside the second batch
  REQUIRE(position() == 6);
  REQUIRE(offsets_of_poll() == std::vector<std::int64_t>{6, 7, 8});
  REQUIRE_OK(c->seek_to_end({tp}));
  REQUIRE(position() == 20);
  REQUIRE(offsets_of_poll().empty());
  REQUIRE_OK(c->seek_to_beginning());  // every assigned partition
  REQUIRE(position() == 0);
  REQUIRE(offsets_of_poll() == std::vector<std::int64_t>{0, 1, 2});
  REQUIRE_OK(c->seek(tp, offset{19}));
  REQUIRE(offsets_of_poll() == std::vector<std::int64_t>{19});
  REQUIRE(position() == 20);
  REQUIRE_OK(b->delete_records("pos", 0, offset{8}));
  REQUIRE_OK(c->seek_to_beginning({tp}));
  REQUIRE(position() == 8);
  REQUIRE(offsets_of_poll() == std::vector<std::int64_t>{8, 9, 10});
}

TEST_CASE("paused partitions return nothing; resumed ones continue where they were", "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("pr", 2));
  produce(*b, "pr", 0, 0, 10, 2);
  produce(*b, "pr", 1, 100, 10, 2);
  auto c = make_consumer(*b, from_earliest(4));
  const topic_partition p0{"pr", 0}, p1{"pr", 1};
  REQUIRE_OK(c->assign({p0, p1}));
  REQUIRE_OK(c->pause({p1}));
  REQUIRE(c->paused() == std::vector<topic_partition>{p1});
  auto only = [&](std::int32_t part, std::vector<std::int64_t> offs) {
    auto recs = c->poll(0ms);
    REQUIRE_OK(recs);
    std::vector<std::int64_t> got_offs;
    for (const auto& r : *recs) {
      REQUIRE(r.partition == part);
      got_offs.push_back(r.off.value());
    }
    REQUIRE(got_offs == offs);
  };
  only(0, {0, 1, 2, 3});
  only(0, {4, 5, 6, 7});
  REQUIRE_OK(c->pause({p0}));
  REQUIRE_OK(c->resume({p1}));
  only(1, {0, 1, 2, 3});
  REQUIRE_OK(c->pause({p1}));
  REQUIRE(c->paused().size() == 2);
  auto none = c->poll(50ms);
  REQUIRE_OK(none);
  REQUIRE(none->empty());
  REQUIRE(c->position(p0)->value() == 8);
  REQUIRE_OK(c->resume({p0, p1}));
  REQUIRE(c->paused().empty());
  const auto rest = poll_n(*c, 8);
  REQUIRE(rest.size() == 8);
  std::map<std::int32_t, std::vector<std::int64_t>> by_partition;
  for (const auto& r : rest) by_partition[r.partition].push_back(r.off);
  REQUIRE(by_partition[0] == std::vector<std::int64_t>{8, 9});
  REQUIRE(by_partition[1] == std::vector<std::int64_t>{4, 5, 6, 7, 8, 9});
}

TEST_CASE("assign keeps the position and pause state of partitions it keeps; new ones start per auto.offset.reset",
          "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("keep", 3));
  for (std::int32_t part = 0; part < 3; ++part) produce(*b, "keep", part, 100 * part, 10);
  auto c = make_consumer(*b, from_earliest(3));
  const topic_partition p0{"keep", 0}, p1{"keep", 1}, p2{"keep", 2};
  REQUIRE_OK(c->assign({p0, p1}));
  REQUIRE_OK(c->pause({p1}));
  REQUIRE_OK(c->seek(p1, offset{7}));
  auto recs = c->poll(0ms);
  REQUIRE_OK(recs);
  REQUIRE(recs->size() == 3);
  REQUIRE(c->position(p0)->value() == 3);
  REQUIRE_OK(c->assign({p1, p0, p2}));
  REQUIRE(c->assignment() == std::vector<topic_partition>{p1, p0, p2});
  REQUIRE(c->position(p0)->value() == 3);
  REQUIRE(c->position(p1)->value() == 7);
  REQUIRE(c->position(p2)->value() == 0);
  REQUIRE(c->paused() == std::vector<topic_partition>{p1});
  REQUIRE_OK(c->assign({p2}));
  REQUIRE_OK(c->assign({p0}));  // dropped and assigned again: a new start
  REQUIRE(c->position(p0)->value() == 0);
}

TEST_CASE("offsets_for_times finds the first record at or after a timestamp; beginning and end offsets", "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("times", 2));
  {
    auto p = make_producer(*b, lingering());
    for (int i = 0; i < 10; ++i) {
      REQUIRE_OK(p->send({.topic = "times", .partition = 0, .ts = timestamp{1000 * (i + 1)}, .value = value_of(i)}));
      REQUIRE_OK(p->send({.topic = "times", .partition = 1, .ts = timestamp{500 + 1000 * i}, .value = value_of(i)}));
      if (i % 2 == 1) REQUIRE_OK(p->flush());  // batches of 2
    }
  }
  auto c = make_consumer(*b);  // no assignment needed
  const topic_partition p0{"times", 0}, p1{"times", 1};
  auto lookup = [&](const topic_partition& tp, std::int64_t ts) -> std::optional<std::pair<std::int64_t, std::int64_t>> {
    auto r = c->offsets_for_times({{tp, timestamp{ts}}});
    REQUIRE_OK(r);
    REQUIRE(r->size() == 1);
    const auto& a = r->at(tp);
    if (!a) return std::nullopt;
    return std::pair{a->off.value(), a->ts.value()};
  };
  using pr = std::pair<std::int64_t, std::int64_t>;
  REQUIRE(lookup(p0, 0) == pr{0, 1000});
  REQUIRE(lookup(p0, 1000) == pr{0, 1000});
  REQUIRE(lookup(p0, 1500) == pr{1, 2000});  // inside a batch
  REQUIRE(lookup(p0, 2000) == pr{1, 2000});
  REQUIRE(lookup(p0, 10000) == pr{9, 10000});
  REQUIRE(lookup(p0, 10001) == std::nullopt);
  REQUIRE(lookup(p1, 1500) == pr{1, 1500});
  REQUIRE(lookup(p1, 1501) == pr{2, 2500});
  auto both = c->offsets_for_times({{p0, timestamp{4500}}, {p1, timestamp{4500}}});
  REQUIRE_OK(both);
  REQUIRE(both->at(p0)->off.value() == 4);
  REQUIRE(both->at(p1)->off.value() == 4);
  auto begin = c->beginning_offsets({p0, p1});
  auto end = c->end_offsets({p0, p1});
  REQUIRE_OK(begin);
  REQUIRE_OK(end);
  REQUIRE(begin->at(p0).value() == 0);
  REQUIRE(end->at(p0).value() == 10);
  REQUIRE(end->at(p1).value() == 10);
  REQUIRE_OK(b->delete_records("times", 0, offset{4}));
  begin = c->beginning_offsets({p0, p1});
  REQUIRE_OK(begin);
  REQUIRE(begin->at(p0).value() == 4);
  REQUIRE(begin->at(p1).value() == 0);
  REQUIRE(lookup(p0, 1000) == pr{4, 5000});  // records below the log start are gone
  REQUIRE(c->offsets_for_times({{{"times", 2}, timestamp{0}}}).code() == errc::unknown_topic_or_partition);
  REQUIRE(c->beginning_offsets({{"nope", 0}}).code() == errc::unknown_topic_or_partition);
  REQUIRE(c->end_offsets({{"times", 7}}).code() == errc::unknown_topic_or_partition);
}

TEST_CASE("auto.offset.reset earliest starts at the log start, latest at the log end", "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("reset", 1));
  produce(*b, "reset", 0, 0, 10);
  REQUIRE_OK(b->delete_records("reset", 0, offset{3}));
  const topic_partition tp{"reset", 0};
  auto early = make_consumer(*b, from_earliest());
  consumer_config late_cfg;
  late_cfg.auto_offset_reset = offset_reset::latest;
  auto late = make_consumer(*b, late_cfg);
  REQUIRE_OK(early->assign({tp}));
  REQUIRE_OK(late->assign({tp}));
  REQUIRE(early->position(tp)->value() == 3);
  REQUIRE(late->position(tp)->value() == 10);
  const auto from_start = poll_n(*early, 7);
  REQUIRE(from_start.size() == 7);
  REQUIRE(from_start.front().off == 3);
  auto none = late->poll(0ms);
  REQUIRE_OK(none);
  REQUIRE(none->empty());
  produce(*b, "reset", 0, 10, 2);
  const auto fresh = poll_n(*late, 2);
  REQUIRE(fresh.size() == 2);
  REQUIRE(fresh[0].off == 10);
  REQUIRE(fresh[1].off == 11);
}

TEST_CASE("auto.offset.reset none: NO_OFFSET_FOR_PARTITION without a position, OFFSET_OUT_OF_RANGE once the log "
          "start passes it",
          "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("strict", 1));
  produce(*b, "strict", 0, 0, 10);
  const topic_partition tp{"strict", 0};
  consumer_config cfg;
  cfg.auto_offset_reset = offset_reset::none;
  cfg.max_poll_records = 3;
  auto c = make_consumer(*b, cfg);
  REQUIRE_OK(c->assign({tp}));
  REQUIRE(c->poll(0ms).code() == errc::no_offset_for_partition);
  REQUIRE(c->position(tp).code() == errc::no_offset_for_partition);
  REQUIRE_OK(c->seek(tp, offset{2}));
  auto recs = c->poll(0ms);
  REQUIRE_OK(recs);
  REQUIRE(recs->size() == 3);
  REQUIRE((*recs)[0].off.value() == 2);
  REQUIRE_OK(b->delete_records("strict", 0, offset{8}));
  REQUIRE(c->poll(0ms).code() == errc::offset_out_of_range);
  REQUIRE(c->poll(0ms).code() == errc::offset_out_of_range);  // stays until the application seeks
  REQUIRE_OK(c->seek(tp, offset{8}));
  recs = c->poll(0ms);
  REQUIRE_OK(recs);
  REQUIRE(recs->size() == 2);
  REQUIRE((*recs)[0].off.value() == 8);

  // The same out-of-range position under earliest jumps to the new log start.
  auto e = make_consumer(*b, from_earliest());
  REQUIRE_OK(e->assign({tp}));
  REQUIRE_OK(e->seek(tp, offset{9}));
  REQUIRE_OK(b->delete_records("strict", 0, offset{10}));
  produce(*b, "strict", 0, 10, 2);
  auto jumped = e->poll(0ms);
  REQUIRE_OK(jumped);
  REQUIRE(jumped->size() == 2);
  REQUIRE((*jumped)[0].off.value() == 10);
}

TEST_CASE("read_durable returns only records below the durable offset; read_uncommitted returns all", "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("iso", 1, {{"flush.messages", "9223372036854775807"}}));
  const topic_partition tp{"iso", 0};
  const auto& log = log_of(*b, "iso", 0);
  auto leader = make_producer(*b, immediate(ack::leader));
  for (int i = 0; i < 10; ++i) REQUIRE_OK(leader->send({.topic = "iso", .value = value_of(i)}));
  REQUIRE_OK(leader->flush());
  REQUIRE(log.durable_offset().value() == 0);

  auto durable_cfg = from_earliest();
  durable_cfg.isolation = isolation_level::read_durable;
  auto durable = make_consumer(*b, durable_cfg);
  auto all = make_consumer(*b, from_earliest());
  REQUIRE_OK(durable->assign({tp}));
  REQUIRE_OK(all->assign({tp}));
  auto none = durable->poll(50ms);
  REQUIRE_OK(none);
  REQUIRE(none->empty());
  REQUIRE(durable->end_offsets({tp})->at(tp).value() == 0);
  REQUIRE(all->end_offsets({tp})->at(tp).value() == 10);
  REQUIRE(poll_n(*all, 10).size() == 10);

  // An acks=all record fsyncs everything before it; a blocked read_durable poll wakes for it.
  auto full = make_producer(*b, immediate(ack::all));
  status sent;
  std::thread t([&] {
    std::this_thread::sleep_for(50ms);
    sent = full->send({.topic = "iso", .value = value_of(10)});
  });
  const auto t0 = steady::now();
  auto woke = durable->poll(5s);
  const auto waited = ms_since(t0);
  t.join();
  REQUIRE_OK(sent);
  REQUIRE_OK(woke);
  CHECK(waited < 2500);
  std::size_t n = woke->size();
  REQUIRE(n > 0);
  REQUIRE((*woke)[0].off.value() == 0);
  n += poll_n(*durable, 11 - n).size();
  REQUIRE(n == 11);
  REQUIRE(log.durable_offset().value() == 11);

  // More acks=1 records stay invisible until a tick flushes them (flush.ms=0).
  for (int i = 11; i < 16; ++i) REQUIRE_OK(leader->send({.topic = "iso", .value = value_of(i)}));
  REQUIRE_OK(leader->flush());
  none = durable->poll(0ms);
  REQUIRE_OK(none);
  REQUIRE(none->empty());
  REQUIRE(poll_n(*all, 6).size() == 6);
  REQUIRE_OK(b->alter_topic_config("iso", {{"flush.ms", "0"}}));
  REQUIRE_OK(b->tick());
  REQUIRE(log.durable_offset().value() == 16);
  const auto rest = poll_n(*durable, 5);
  REQUIRE(rest.size() == 5);
  REQUIRE(rest.front().off == 11);
  REQUIRE(rest.back().value == value_of(15));
}

TEST_CASE("consumer misuse: no assignment, unknown partitions, unassigned partitions, use after close", "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("bad", 2));
  auto c = make_consumer(*b, from_earliest());
  const topic_partition p0{"bad", 0}, p1{"bad", 1};
  REQUIRE(c->poll(0ms).code() == errc::illegal_state);
  REQUIRE(c->assign({{"nope", 0}}).code() == errc::unknown_topic_or_partition);
  REQUIRE(c->assign({{"bad", 2}}).code() == errc::unknown_topic_or_partition);
  REQUIRE(c->assign({{"bad", -1}}).code() == errc::unknown_topic_or_partition);
  REQUIRE(c->assignment().empty());
  REQUIRE_OK(c->assign({p0}));
  REQUIRE(c->assign({p1, {"bad", 5}}).code() == errc::unknown_topic_or_partition);
  REQUIRE(c->assignment() == std::vector<topic_partition>{p0});  // unchanged
  REQUIRE(c->seek(p1, offset{0}).code() == errc::illegal_state);
  REQUIRE(c->position(p1).code() == errc::illegal_state);
  REQUIRE(c->pause({p1}).code() == errc::illegal_state);
  REQUIRE(c->resume({p1}).code() == errc::illegal_state);
  REQUIRE(c->seek_to_beginning({p1}).code() == errc::illegal_state);
  REQUIRE(c->seek_to_end({p1}).code() == errc::illegal_state);
  REQUIRE_OK(c->assign({}));
  REQUIRE(c->poll(0ms).code() == errc::illegal_state);
  REQUIRE_OK(c->assign({p0}));
  REQUIRE_OK(c->poll(0ms));
  REQUIRE_OK(c->close());
  REQUIRE_OK(c->close());
  REQUIRE(c->poll(0ms).code() == errc::illegal_state);
  REQUIRE(c->assign({p0}).code() == errc::illegal_state);
  REQUIRE(c->seek(p0, offset{0}).code() == errc::illegal_state);
  REQUIRE(c->position(p0).code() == errc::illegal_state);
  REQUIRE(c->offsets_for_times({{p0, timestamp{0}}}).code() == errc::illegal_state);
  REQUIRE(c->beginning_offsets({p0}).code() == errc::illegal_state);
  REQUIRE(c->end_offsets({p0}).code() == errc::illegal_state);
  REQUIRE(c->assignment().empty());
}

TEST_CASE("producer_config and consumer_config apply: unknown keys and bad values give INVALID_CONFIG and change nothing",
          "[producer][consumer][config]") {
  producer_config p;
  for (const std::map<std::string, std::string>& bad : std::vector<std::map<std::string, std::string>>{
           {{"no.such.key", "1"}},
           {{"acks", "2"}},
           {{"linger.ms", "-1"}},
           {{"linger.ms", "5ms"}},
           {{"batch.size", ""}},
           {{"buffer.memory", "10"}},
           {{"compression.type", "gzip"}},
           {{"partitioner.class", "random"}},
           {{"linger.ms", "7"}, {"max.request.size", "x"}},  // one bad key spoils the lot
       }) {
    INFO(bad.begin()->first);
    REQUIRE(p.apply(bad).code() == errc::invalid_config);
    REQUIRE(p.linger_ms == 5);
  }
  REQUIRE_OK(p.apply({{"acks", "0"}, {"linger.ms", "7"}, {"compression.type", "zstd"},
                      {"partitioner.class", "round_robin"}, {"batch.size", "1000"}, {"client.id", "me"}}));
  REQUIRE(p.acks == ack::none);
  REQUIRE(p.linger_ms == 7);
  REQUIRE(p.compression_type == compression::zstd);
  REQUIRE(p.partitioner_class == partitioner_kind::round_robin);
  REQUIRE(p.batch_size == 1000);
  REQUIRE(p.client_id == "me");
  REQUIRE_OK(p.apply({{"acks", "all"}}));
  REQUIRE(p.acks == ack::all);
  REQUIRE_OK(p.apply({{"acks", "-1"}, {"linger.ms", "0"}}));

  consumer_config c;
  for (const std::map<std::string, std::string>& bad : std::vector<std::map<std::string, std::string>>{
           {{"no.such.key", "1"}},
           {{"max.poll.records", "0"}},
           {{"max.poll.records", "many"}},
           {{"fetch.max.bytes", "-1"}},
           {{"max.partition.fetch.bytes", "99999999999"}},
           {{"auto.offset.reset", "middle"}},
           {{"isolation.level", "read_committed"}},
           {{"check.crcs", "yes"}},
           {{"max.poll.records", "9"}, {"bogus", "1"}},
       }) {
    INFO(bad.begin()->first);
    REQUIRE(c.apply(bad).code() == errc::invalid_config);
    REQUIRE(c.max_poll_records == 500);
  }
  REQUIRE_OK(c.apply({{"max.poll.records", "9"}, {"auto.offset.reset", "earliest"},
                      {"isolation.level", "read_durable"}, {"check.crcs", "false"}, {"fetch.max.bytes", "1000"}}));
  REQUIRE(c.max_poll_records == 9);
  REQUIRE(c.auto_offset_reset == offset_reset::earliest);
  REQUIRE(c.isolation == isolation_level::read_durable);
  REQUIRE(!c.check_crcs);
  REQUIRE(c.fetch_max_bytes == 1000);

  // create refuses a bad config, and a closed broker.
  temp_dir d;
  auto b = open_broker(options_for(d));
  producer_config bad_p;
  bad_p.linger_ms = -5;
  REQUIRE(producer::create(*b, bad_p).code() == errc::invalid_config);
  consumer_config bad_c;
  bad_c.max_poll_records = 0;
  REQUIRE(consumer::create(*b, bad_c).code() == errc::invalid_config);
  REQUIRE_OK(b->close());
  REQUIRE(producer::create(*b).code() == errc::illegal_state);
  REQUIRE(consumer::create(*b).code() == errc::illegal_state);
}

TEST_CASE("headers, null keys and values, and empty values round trip through the consumer", "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("hdr", 1));
  auto p = make_producer(*b, immediate());
  const record_header hs[] = {{"trace", "abc"}, {"nil", null_bytes}, {"empty", ""}, {"trace", "second"}};
  REQUIRE_OK(p->send({.topic = "hdr", .key = "k", .value = "v", .headers = hs}));
  REQUIRE_OK(p->send({.topic = "hdr"}));                       // null key, null value (a tombstone)
  REQUIRE_OK(p->send({.topic = "hdr", .key = "", .value = ""}));  // empty, not null
  REQUIRE_OK(p->flush());
  const auto all = read_topic(*b, "hdr", 1);
  REQUIRE(all.size() == 3);
  using h = std::pair<std::string, std::optional<std::string>>;
  REQUIRE(all[0].headers == std::vector<h>{{"trace", "abc"}, {"nil", std::nullopt}, {"empty", ""}, {"trace", "second"}});
  REQUIRE(all[0].key == "k");
  REQUIRE(all[0].value == "v");
  REQUIRE(all[1].headers.empty());
  REQUIRE(all[1].key_null);
  REQUIRE(all[1].value_null);
  REQUIRE(!all[2].key_null);
  REQUIRE(!all[2].value_null);
  REQUIRE(all[2].key.empty());
  REQUIRE(all[2].value.empty());
}

TEST_CASE("poll returns zero-copy views into the log that stay valid and unchanged until the next poll",
          "[consumer]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("views", 1, {{"segment.bytes", "4096"}}));
  produce(*b, "views", 0, 0, 30, 1, -1, 100);
  auto c1 = make_consumer(*b, from_earliest(10));
  auto c2 = make_consumer(*b, from_earliest(10));
  REQUIRE_OK(c1->assign({{"views", 0}}));
  REQUIRE_OK(c2->assign({{"views", 0}}));
  auto r1 = c1->poll(0ms);
  auto r2 = c2->poll(0ms);
  REQUIRE_OK(r1);
  REQUIRE_OK(r2);
  REQUIRE(r1->size() == 10);
  REQUIRE(r2->size() == 10);
  const auto& log = log_of(*b, "views", 0);
  std::vector<std::string> saved;
  std::vector<const char*> where;
  for (std::size_t i = 0; i < 10; ++i) {
    const auto& r = (*r1)[i];
    REQUIRE(r.value == value_of(static_cast<int>(i), 100));
    // The value lies inside the log's own bytes, and both consumers see the same bytes.
    auto rd = log.read(r.off, 1, std::nullopt, true);
    REQUIRE_OK(rd);
    const auto* lo = reinterpret_cast<const char*>(rd->bytes().data());
    REQUIRE(r.value.data() >= lo);
    REQUIRE(r.value.data() + r.value.size() <= lo + rd->bytes().size());
    REQUIRE(r.value.data() == (*r2)[i].value.data());
    saved.emplace_back(r.value);
    where.push_back(r.value.data());
  }
  // Much more data, then every segment under the views deleted.
  produce(*b, "views", 0, 30, 60, 1, -1, 100);
  REQUIRE_OK(b->delete_records("views", 0, offset{90}));
  REQUIRE_OK(b->tick());
  REQUIRE(!std::filesystem::exists(d.sub(fmt::format("data/views-0/{}", format::segment_file(0, format::log_suffix)))));
  for (std::size_t i = 0; i < 10; ++i) {
    REQUIRE((*r1)[i].value.data() == where[i]);
    REQUIRE((*r1)[i].value == saved[i]);
    REQUIRE((*r1)[i].key == key_of(static_cast<int>(i)));
  }
  auto next = c1->poll(0ms);  // out of range: earliest moves to the new start, the end
  REQUIRE_OK(next);
  REQUIRE(next->empty());
  REQUIRE(c1->position({"views", 0})->value() == 90);
}

TEST_CASE("views into decompressed batches stay valid for the whole poll", "[consumer][compression]") {
  temp_dir d;
  auto b = open_broker(options_for(d));
  REQUIRE_OK(b->create_topic("zviews", 2));
  auto cfg = lingering();
  cfg.compression_type = compression::zstd;
  auto p = make_producer(*b, cfg);
  for (int i = 0; i < 60; ++i) {
    REQUIRE_OK(p->send({.topic = "zviews", .partition = i % 2, .value = value_of(i, 50 + static_cast<std::size_t>(i))}));
    if (i % 12 == 11) REQUIRE_OK(p->flush());  // 5 batches per partition
  }
  auto c = make_consumer(*b, from_earliest());
  REQUIRE_OK(c->assign({{"zviews", 0}, {"zviews", 1}}));
  auto recs = c->poll(0ms);
  REQUIRE_OK(recs);
  REQUIRE(recs->size() == 60);  // ten decompressed batches behind one poll's views
  for (const auto& r : *recs) {
    const int i = static_cast<int>(r.off.value()) * 2 + r.partition;
    REQUIRE(r.value == value_of(i, 50 + static_cast<std::size_t>(i)));
  }
}

}  // namespace franz
