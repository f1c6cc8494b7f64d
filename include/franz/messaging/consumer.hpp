// franz — consumer: pull records from assigned partitions.
//
//   auto c = franz::consumer::create(*broker, {.auto_offset_reset = franz::offset_reset::earliest});
//   (void)(*c)->assign({{"events", 0}, {"events", 1}});
//   for (;;) {
//     auto recs = (*c)->poll(std::chrono::milliseconds(100));
//     if (!recs) break;
//     for (const auto& r : *recs) use(r.key, r.value);
//   }
//
// poll returns records as zero-copy views into the log's mapped segments
// (or into the consumer's buffers, for compressed batches). The views are
// valid until the next poll, close or destruction of this consumer — copy
// what must live longer. Checksums are verified (check.crcs) and compressed
// batches are decompressed transparently. A blocking poll wakes as soon as
// a producer appends to an assigned partition: it spins for a few
// microseconds, then sleeps on a condition variable; wakeup() interrupts it
// from another thread (poll then fails with WAKEUP, as Kafka's
// WakeupException).
//
// Standalone: partitions are given with assign(); subscribe() with a group
// arrives with consumer groups. Positions start per auto.offset.reset.
//
// Thread-safety: one thread at a time (as Kafka's consumer), except
// wakeup(), which any thread may call. Lifetime: the broker outlives the
// consumer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "franz/error.hpp"
#include "franz/format/record_batch.hpp"
#include "franz/messaging/broker.hpp"
#include "franz/storage/log.hpp"
#include "franz/types.hpp"

namespace franz {

// auto.offset.reset: where a partition without a valid position starts.
enum class offset_reset : std::uint8_t {
  earliest,  // the log start
  latest,    // the end (Kafka's default): only records appended from now
  none,      // no guess: NO_OFFSET_FOR_PARTITION / OFFSET_OUT_OF_RANGE
};

// isolation.level.
enum class isolation_level : std::uint8_t {
  read_uncommitted,  // everything appended (Kafka's default)
  read_durable,      // only below the durable offset: records fsynced
};

struct consumer_config {
  // max.poll.records: most records one poll returns. Default 500.
  std::int32_t max_poll_records = 500;
  // fetch.max.bytes: most bytes of batches one poll reads, over all
  // partitions; at least one batch is returned even if larger. Default 50 MiB.
  std::int64_t fetch_max_bytes = 52428800;
  // max.partition.fetch.bytes: the same per partition. Default 1 MiB.
  std::int64_t max_partition_fetch_bytes = 1048576;
  offset_reset auto_offset_reset = offset_reset::latest;
  isolation_level isolation = isolation_level::read_uncommitted;
  // check.crcs: verify each batch's checksum. Default true.
  bool check_crcs = true;
  // franz: microseconds a poll spins waiting for data before it sleeps.
  // Spinning keeps producer-to-consumer latency under a microsecond; 0
  // sleeps at once. Default 50.
  std::int64_t poll_spin_us = 50;
  std::string client_id{};

  // Applies Kafka-style properties: max.poll.records, fetch.max.bytes,
  // max.partition.fetch.bytes, auto.offset.reset, isolation.level,
  // check.crcs, client.id (and franz's poll.spin.us). INVALID_CONFIG for
  // unknown keys and bad values; on error *this is unchanged.
  [[nodiscard]] status apply(const std::map<std::string, std::string>& props);
  [[nodiscard]] status validate() const;
};

// One record of a poll. Views are valid until the next poll (see above).
struct consumer_record {
  std::string_view topic;
  std::int32_t partition = 0;
  offset off;
  timestamp ts;
  timestamp_type ts_type = timestamp_type::create_time;
  bytes_view key;
  bytes_view value;
  std::span<const std::byte> headers_bytes;
  std::int32_t header_count = 0;

  // Iterates the record's headers: `record_header h; while (it.next(h))`.
  [[nodiscard]] header_iterator headers() const noexcept {
    record_view v;
    v.headers_bytes = headers_bytes;
    v.header_count = header_count;
    return header_iterator(v);
  }
};

// The records of one poll, in partition order within each partition.
class consumer_records {
 public:
  consumer_records() = default;
  explicit consumer_records(std::span<const consumer_record> r) : recs_(r) {}
  [[nodiscard]] auto begin() const noexcept { return recs_.begin(); }
  [[nodiscard]] auto end() const noexcept { return recs_.end(); }
  [[nodiscard]] std::size_t size() const noexcept { return recs_.size(); }
  [[nodiscard]] bool empty() const noexcept { return recs_.empty(); }
  [[nodiscard]] const consumer_record& operator[](std::size_t i) const noexcept { return recs_[i]; }

 private:
  std::span<const consumer_record> recs_;
};

// offsets_for_times' answer for one partition.
struct offset_and_timestamp {
  offset off;
  timestamp ts;
};

class consumer {
 public:
  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;
  ~consumer();

  // INVALID_CONFIG; ILLEGAL_STATE for a closed broker.
  [[nodiscard]] static result<std::unique_ptr<consumer>> create(broker& b, consumer_config cfg = {});

  // Replaces the assignment. Partitions kept keep their position and pause
  // state; new ones start per auto.offset.reset. UNKNOWN_TOPIC_OR_PARTITION
  // (nothing changes) if one does not exist. An empty list unassigns all.
  [[nodiscard]] status assign(const std::vector<topic_partition>& partitions);
  [[nodiscard]] std::vector<topic_partition> assignment() const;

  // Records from the assigned, unpaused partitions, waiting up to timeout
  // for some. Errors: ILLEGAL_STATE (no assignment, closed), WAKEUP,
  // UNKNOWN_TOPIC_OR_PARTITION (a topic was deleted), NO_OFFSET_FOR_PARTITION
  // / OFFSET_OUT_OF_RANGE (auto.offset.reset=none), CORRUPT_MESSAGE (the
  // position stays before the damaged batch). The previous poll's views
  // become invalid when poll is called.
  [[nodiscard]] result<consumer_records> poll(std::chrono::milliseconds timeout);

  // Interrupts a poll in progress, or the next one (any thread).
  void wakeup() noexcept;

  // --- positions (assigned partitions only, else ILLEGAL_STATE) -------------
  [[nodiscard]] status seek(const topic_partition& tp, offset off);
  // An empty list means every assigned partition.
  [[nodiscard]] status seek_to_beginning(const std::vector<topic_partition>& tps = {});
  [[nodiscard]] status seek_to_end(const std::vector<topic_partition>& tps = {});
  // The offset the next poll fetches from (resolving auto.offset.reset).
  [[nodiscard]] result<offset> position(const topic_partition& tp);
  [[nodiscard]] status pause(const std::vector<topic_partition>& tps);
  [[nodiscard]] status resume(const std::vector<topic_partition>& tps);
  [[nodiscard]] std::vector<topic_partition> paused() const;

  // --- offsets of any partition ---------------------------------------------
  // The first offset whose timestamp is >= the given one, per partition
  // (nullopt: none that late).
  [[nodiscard]] result<std::map<topic_partition, std::optional<offset_and_timestamp>>> offsets_for_times(
      const std::map<topic_partition, timestamp>& query);
  [[nodiscard]] result<std::map<topic_partition, offset>> beginning_offsets(const std::vector<topic_partition>& tps);
  // The log end, or the durable offset under read_durable.
  [[nodiscard]] result<std::map<topic_partition, offset>> end_offsets(const std::vector<topic_partition>& tps);

  // Unassigns everything and releases the last poll's views. Idempotent.
  [[nodiscard]] status close();
  [[nodiscard]] const consumer_config& config() const noexcept { return cfg_; }

 private:
  struct assigned {
    topic_partition tp;
    std::shared_ptr<detail::partition> part;
    std::optional<std::int64_t> position;  // nullopt: reset on next use
    bool paused = false;
  };

  consumer(broker& b, consumer_config cfg);
  [[nodiscard]] result<std::shared_ptr<detail::partition>> find(const topic_partition& tp) const;
  [[nodiscard]] result<assigned*> find_assigned(const topic_partition& tp);
  [[nodiscard]] std::vector<assigned*> targets(const std::vector<topic_partition>& tps, status& st);
  // Runs f on each target (tps, or every assigned partition if empty).
  template <class F>
  [[nodiscard]] status for_each_target(const std::vector<topic_partition>& tps, F&& f);
  [[nodiscard]] offset end_of(const detail::partition& p) const noexcept;
  [[nodiscard]] status reset_position(assigned& a, bool out_of_range);
  // One pass over the assigned partitions; appends to records_.
  [[nodiscard]] status fetch();
  [[nodiscard]] status fetch_partition(assigned& a, std::size_t& bytes_left);
  void wait_for_data(std::uint64_t seen, std::chrono::steady_clock::time_point deadline);
  void release_poll() noexcept;
  [[nodiscard]] status check_usable() const;

  broker* broker_;
  consumer_config cfg_;
  std::vector<assigned> assigned_;
  std::size_t next_start_ = 0;  // round-robin over partitions, for fairness
  // What the last poll's views point into.
  std::vector<consumer_record> records_;
  std::vector<log_read> pins_;
  std::vector<std::vector<std::byte>> buffers_;  // decompressed sections
  std::size_t buffers_used_ = 0;
  detail::waiter waiter_;
  std::atomic<bool> woken_{false};
  bool closed_ = false;
};

}  // namespace franz
