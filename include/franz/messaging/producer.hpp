// franz — producer: batched, partitioned, acknowledged appends to topics.
//
//   auto p = franz::producer::create(*broker, {.acks = franz::ack::all});
//   (void)(*p)->send({.topic = "events", .key = "user-7", .value = "clicked"},
//                    [](const franz::result<franz::record_metadata>& md) { ... });
//   (void)(*p)->flush();
//
// send() copies the record into a per-partition batch (the accumulator)
// and returns; batches are appended when they reach batch.size, when
// linger.ms has passed since their first record, on flush() and on close().
// With linger.ms = 0 every send appends at once, on the sending thread.
// Acknowledgement follows acks: 0 = fire and forget (the report carries
// offset -1), 1 = appended and visible to consumers, all = fsynced. For
// acks=all the producer's I/O thread makes one fsync per partition cover
// every batch appended since the last (group commit, shared across
// producers through basic_log::flush_until).
//
// Errors found in send() itself (unknown topic or partition, oversized
// record, bad timestamp, buffer.memory exhausted for max.block.ms, closed
// producer) are returned by send and the callback is not called. Every
// record send accepted gets exactly one report: its callback (and future)
// runs once, on the producer's I/O thread, in offset order per partition.
// Callbacks must not block for long and must not call flush() or close().
//
// Thread-safety: send, send_future, flush and partitions_for are safe from
// any number of threads. close is safe from any thread except a callback.
// Lifetime: the broker outlives the producer. A record_metadata's topic
// view is valid while the producer lives.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "franz/error.hpp"
#include "franz/format/record_batch.hpp"
#include "franz/messaging/broker.hpp"
#include "franz/types.hpp"

namespace franz {

// Kafka's acks, as durability levels.
enum class ack : std::int8_t {
  none = 0,    // acks=0: not reported (offset -1 in the report)
  leader = 1,  // acks=1: appended, visible to read_uncommitted consumers
  all = -1,    // acks=all: fsynced, below the durable offset
};

enum class partitioner_kind : std::uint8_t {
  sticky,       // Kafka's default for records without a key: stay on one
                // partition until its batch is full, then move on
  round_robin,  // Kafka's RoundRobinPartitioner: next partition every record
};

// Where a record landed. topic views the producer's copy of the name.
struct record_metadata {
  std::string_view topic;
  std::int32_t partition = -1;
  offset off{-1};  // -1 under acks=0
  timestamp ts;    // CreateTime as sent, or the LogAppendTime stamped
};

// A record to send, fields in the order of Kafka's ProducerRecord
// (topic, partition, timestamp, key, value, headers). Views: the bytes need
// to live only until send returns.
struct producer_record {
  std::string_view topic;
  // An explicit partition; otherwise the partitioner picks.
  std::optional<std::int32_t> partition = std::nullopt;
  // CreateTime in ms; none() means the producer's clock at send.
  timestamp ts = timestamp::none();
  bytes_view key = null_bytes;
  bytes_view value = null_bytes;
  std::span<const record_header> headers = {};
};

using send_callback = std::function<void(const result<record_metadata>&)>;

// A custom partitioner (Kafka's Partitioner). Called on the sending thread,
// from any number of threads at once, for records without an explicit
// partition. Must return a partition in [0, partition_count).
class partitioner {
 public:
  virtual ~partitioner() = default;
  virtual std::int32_t partition(std::string_view topic, bytes_view key, bytes_view value,
                                 std::int32_t partition_count) = 0;
};

// Kafka's ProducerInterceptor. on_send runs on the sending thread before
// the record is partitioned; it may change the record's fields (the bytes
// it points them at must live until send returns). on_acknowledgement runs
// on the producer's I/O thread for every reported record, before its
// callback. Both run from several threads at once if the producer is
// shared.
class producer_interceptor {
 public:
  virtual ~producer_interceptor() = default;
  virtual void on_send(producer_record& r) { (void)r; }
  virtual void on_acknowledgement(const result<record_metadata>& r) { (void)r; }
};

struct producer_config {
  // acks: "0", "1", "all" (or "-1"). Default all, as in Kafka 3+.
  ack acks = ack::all;
  // batch.size: a partition's batch is appended once it holds this many
  // bytes. A record larger than this gets a batch of its own. Default 16384.
  std::int64_t batch_size = 16384;
  // linger.ms: how long a batch waits for more records. Default 5 (Kafka
  // 4.0's); 0 appends on every send.
  std::int64_t linger_ms = 5;
  // buffer.memory: bytes of batches not yet acknowledged. send blocks while
  // it is used up. Default 32 MiB.
  std::int64_t buffer_memory = 32LL << 20;
  // max.block.ms: how long send may block for buffer.memory before it fails
  // with REQUEST_TIMED_OUT. Default 60000.
  std::int64_t max_block_ms = 60000;
  // max.request.size: the largest record (as one batch) send accepts, else
  // RECORD_TOO_LARGE. Default 1048576.
  std::int64_t max_request_size = 1048576;
  // compression.type: none (default), lz4 or zstd, applied to whole
  // batches. A topic whose compression.type names a codec overrides it.
  compression compression_type = compression::none;
  // partitioner.class for records without key or partition: sticky
  // (default) or round_robin. Keyed records always go to
  // murmur2(key) % partitions, as in Kafka, so keys land where a Kafka
  // producer would put them.
  partitioner_kind partitioner_class = partitioner_kind::sticky;
  // A custom partitioner replaces all of the above (except an explicit
  // partition).
  std::shared_ptr<partitioner> custom_partitioner{};
  // interceptor.classes, in order.
  std::vector<std::shared_ptr<producer_interceptor>> interceptors{};
  // client.id: names the producer in errors.
  std::string client_id{};

  // Applies Kafka-style properties (the keys above). Unknown keys and bad
  // values give INVALID_CONFIG; on error *this is unchanged.
  [[nodiscard]] status apply(const std::map<std::string, std::string>& props);
  [[nodiscard]] status validate() const;
};

// Kafka's default partitioner hash: murmur2 of the key bytes, made positive.
[[nodiscard]] std::uint32_t murmur2(bytes_view key) noexcept;
[[nodiscard]] inline std::int32_t partition_for_key(bytes_view key, std::int32_t partition_count) noexcept {
  return static_cast<std::int32_t>((murmur2(key) & 0x7fffffffu) % static_cast<std::uint32_t>(partition_count));
}

class producer {
 public:
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;
  // Closes with no time limit.
  ~producer();

  // INVALID_CONFIG for a bad config; ILLEGAL_STATE for a closed broker.
  [[nodiscard]] static result<std::unique_ptr<producer>> create(broker& b, producer_config cfg = {});

  // Queues r (see the file comment). Errors: UNKNOWN_TOPIC_OR_PARTITION,
  // RECORD_TOO_LARGE, INVALID_TIMESTAMP, REQUEST_TIMED_OUT (buffer.memory
  // full for max.block.ms), ILLEGAL_STATE (closed). On error nothing was
  // queued and cb is not called.
  [[nodiscard]] status send(const producer_record& r, send_callback cb = {});
  // send, reporting through a future. Errors of send itself are delivered
  // through the future too.
  [[nodiscard]] std::future<result<record_metadata>> send_future(const producer_record& r);
  // Appends every open batch and waits until every record sent before the
  // call is reported. ILLEGAL_STATE from a callback or after close.
  [[nodiscard]] status flush();
  // Stops accepting sends, appends what is open, and waits up to timeout
  // for every report; records still unacknowledged then are reported with
  // REQUEST_TIMED_OUT (records appended may still be in the log). Returns
  // REQUEST_TIMED_OUT in that case. Idempotent.
  [[nodiscard]] status close(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

  // Kafka's partitionsFor: the topic's partition count.
  [[nodiscard]] result<std::int32_t> partitions_for(std::string_view topic);
  [[nodiscard]] const producer_config& config() const noexcept { return cfg_; }

 private:
  struct pending;
  struct accumulator;
  struct completion;
  struct topic_entry;

  producer(broker& b, producer_config cfg);
  [[nodiscard]] status send_impl(const producer_record& r, send_callback& cb,
                                 std::unique_ptr<std::promise<result<record_metadata>>>& fut);
  [[nodiscard]] result<topic_entry*> lookup(std::string_view topic);
  [[nodiscard]] result<topic_entry*> resolve(std::string_view topic, std::uint64_t version);
  [[nodiscard]] result<std::int32_t> choose_partition(topic_entry& e, const producer_record& r);
  // Appends acc's open batch (acc->mu held) and queues its reports.
  void seal_and_append(accumulator& acc);
  [[nodiscard]] bool try_reserve(std::size_t n);
  [[nodiscard]] status reserve_blocking(std::size_t n, std::chrono::steady_clock::time_point deadline);
  void release(std::size_t n);
  void seal_all(bool only_expired, std::int64_t now, std::int64_t* next_deadline);
  void sender_loop();
  void complete(std::vector<completion>& batch, bool abort);
  [[nodiscard]] status wait_reported(std::uint64_t target, std::chrono::steady_clock::time_point deadline);

  broker* broker_;
  producer_config cfg_;
  const clock* clk_;

  const std::uint64_t id_;  // unique per producer (keys the per-thread topic cache)
  std::mutex cache_mu_;     // guards topics_, retired_ and accs_
  std::unordered_map<std::string, std::unique_ptr<topic_entry>> topics_;
  std::vector<std::unique_ptr<topic_entry>> retired_;
  std::vector<std::shared_ptr<accumulator>> accs_;  // every accumulator ever made

  std::mutex mem_mu_;
  std::condition_variable mem_cv_;
  std::size_t mem_used_ = 0;

  std::mutex q_mu_;  // guards queue_, the counters and the flags below
  std::condition_variable q_cv_;     // wakes the I/O thread
  std::condition_variable done_cv_;  // wakes flush/close
  std::list<completion> queue_;  // a list: seal_and_append allocates the node before appending
  std::uint64_t enqueued_ = 0;
  std::uint64_t reported_ = 0;
  bool drain_ = false;       // append open batches now (flush, close, memory pressure)
  bool stop_ = false;
  bool abort_ = false;       // close timed out: fail what is left
  bool lingering_ = false;   // some batch waits on linger.ms
  std::atomic<bool> closed_{false};
  std::thread::id io_thread_id_;
  std::thread io_;
};

// Serializers for typed_producer: bytes_view operator()(const T&, std::string&
// scratch) returns the bytes, which may live in scratch. Defaults for
// std::string, std::string_view and bytes (std::vector<std::byte>,
// std::span<const std::byte>).
template <class T>
struct serializer;

template <>
struct serializer<std::string> {
  bytes_view operator()(const std::string& v, std::string&) const noexcept { return v; }
};
template <>
struct serializer<std::string_view> {
  bytes_view operator()(std::string_view v, std::string&) const noexcept {
    return v.data() ? v : std::string_view("", 0);
  }
};
template <>
struct serializer<std::span<const std::byte>> {
  bytes_view operator()(std::span<const std::byte> v, std::string&) const noexcept {
    return {v.data() ? reinterpret_cast<const char*>(v.data()) : "", v.size()};
  }
};
template <>
struct serializer<std::vector<std::byte>> {
  bytes_view operator()(const std::vector<std::byte>& v, std::string& s) const noexcept {
    return serializer<std::span<const std::byte>>{}(std::span<const std::byte>(v), s);
  }
};

// A producer of typed keys and values (Kafka's KafkaProducer<K, V>): it
// serializes and forwards to a producer, which it does not own and which
// must outlive it. Thread-safe if the serializers are.
template <class K, class V, class KS = serializer<K>, class VS = serializer<V>>
class typed_producer {
 public:
  explicit typed_producer(producer& p, KS ks = {}, VS vs = {}) : p_(&p), ks_(std::move(ks)), vs_(std::move(vs)) {}

  [[nodiscard]] status send(std::string_view topic, const K& key, const V& value, send_callback cb = {},
                            std::optional<std::int32_t> partition = std::nullopt,
                            std::span<const record_header> headers = {}) {
    std::string kbuf, vbuf;
    return p_->send({.topic = topic, .partition = partition, .key = ks_(key, kbuf), .value = vs_(value, vbuf),
                     .headers = headers},
                    std::move(cb));
  }
  // A record with a null key.
  [[nodiscard]] status send(std::string_view topic, const V& value, send_callback cb = {}) {
    std::string vbuf;
    return p_->send({.topic = topic, .value = vs_(value, vbuf)}, std::move(cb));
  }
  [[nodiscard]] producer& untyped() noexcept { return *p_; }

 private:
  producer* p_;
  KS ks_;
  VS vs_;
};

}  // namespace franz
