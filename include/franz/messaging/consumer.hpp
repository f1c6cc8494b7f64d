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
// Two ways to get partitions, as in Kafka (mixing them is ILLEGAL_STATE):
// assign() names them; subscribe() joins the consumer group group.id and
// lets the group coordinator share the subscribed topics' partitions among
// its members (see group_coordinator.hpp), calling a rebalance listener
// when they change. A group member starts each new partition at the
// group's committed offset, else per auto.offset.reset; commit_sync,
// commit_async and auto-commit (enable.auto.commit) store positions in the
// group. Group work (joining, rebalances, auto-commit) runs inside poll().
//
// Thread-safety: one thread at a time (as Kafka's consumer), except
// wakeup(), which any thread may call. Lifetime: the broker outlives the
// consumer.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
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
#include "franz/messaging/assignor.hpp"
#include "franz/messaging/broker.hpp"
#include "franz/messaging/group_coordinator.hpp"
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

  // --- consumer groups ---
  // group.id: the group subscribe() joins and commits go to. nullopt: none
  // (assign() only, no commits). An empty id is INVALID_GROUP_ID.
  std::optional<std::string> group_id{};
  // group.instance.id: makes the member static. A static member's close
  // keeps its place for session.timeout.ms; a consumer with the same id
  // back within it gets the same partitions with no rebalance.
  std::optional<std::string> group_instance_id{};
  // partition.assignment.strategy: assignor names in preference order; the
  // group uses the first one every member lists. Built-in: range (default),
  // roundrobin, sticky, cooperative-sticky; or the name() of one of
  // `assignors`. The rebalance protocol is cooperative when every listed
  // assignor supports it (cooperative-sticky), else eager.
  std::vector<std::string> partition_assignment_strategy{"range"};
  // Custom assignors, matched by name() against the strategy list.
  std::vector<std::shared_ptr<partition_assignor>> assignors{};
  // enable.auto.commit: poll() commits the positions of the records it
  // returned before, every auto.commit.interval.ms; so do a revocation and
  // close(). Default true, 5000 ms.
  bool enable_auto_commit = true;
  std::int64_t auto_commit_interval_ms = 5000;
  // session.timeout.ms: how long the group keeps a member whose heartbeats
  // stopped (closed with remain_in_group, or a static member's close).
  // Default 45000.
  std::int64_t session_timeout_ms = 45000;
  // heartbeat.interval.ms: accepted for Kafka compatibility and checked to
  // be below session.timeout.ms. In-process the coordinator sees a
  // member's liveness directly (see group_coordinator.hpp), so there are no
  // heartbeat messages to space out. Default 3000.
  std::int64_t heartbeat_interval_ms = 3000;
  // max.poll.interval.ms: a member that does not poll for this long leaves
  // the group (a static member: is removed session.timeout.ms later); also
  // the time a rebalance waits for members to rejoin. Default 300000.
  std::int64_t max_poll_interval_ms = 300000;
  // franz: commit_sync returns once the commit is fsynced (commits by many
  // consumers share fsyncs). false: once it is appended; a crash may then
  // lose the last commits, and records after them are delivered again.
  // Default true.
  bool commit_sync_durable = true;

  // Applies Kafka-style properties: max.poll.records, fetch.max.bytes,
  // max.partition.fetch.bytes, auto.offset.reset, isolation.level,
  // check.crcs, client.id, group.id, group.instance.id,
  // partition.assignment.strategy (comma-separated), enable.auto.commit,
  // auto.commit.interval.ms, session.timeout.ms, heartbeat.interval.ms,
  // max.poll.interval.ms (and franz's poll.spin.us, commit.sync.durable).
  // INVALID_CONFIG for unknown keys and bad values; on error *this is
  // unchanged.
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

class consumer;

// Kafka's ConsumerRebalanceListener. Called from inside poll() (and
// unsubscribe() and close()) on the consumer's thread, which may commit,
// seek and read positions in them; poll, assign, subscribe, unsubscribe
// and close are ILLEGAL_STATE there.
//   revoked: partitions this member gives up; commit their progress here.
//   assigned: partitions it gained (called after every rebalance, maybe
//             with none); seek here to override the committed offsets.
//   lost: partitions it no longer owns without having given them up (it
//         was removed from the group); others may already read them, so
//         commits for them fail. By default, calls revoked.
// Order: eager: revoked(all) before rejoining, then assigned(new).
// cooperative: after the rebalance, revoked(moved away) then assigned(new).
class consumer_rebalance_listener {
 public:
  virtual ~consumer_rebalance_listener() = default;
  virtual void on_partitions_revoked(consumer& c, const std::vector<topic_partition>& partitions) {
    (void)c, (void)partitions;
  }
  virtual void on_partitions_assigned(consumer& c, const std::vector<topic_partition>& partitions) {
    (void)c, (void)partitions;
  }
  virtual void on_partitions_lost(consumer& c, const std::vector<topic_partition>& partitions) {
    on_partitions_revoked(c, partitions);
  }
};

// Kafka's CloseOptions.GroupMembershipOperation (KIP-1092).
enum class group_membership : std::uint8_t {
  default_operation,  // dynamic members leave; static members remain
  leave_group,        // leave now: the group rebalances at once
  remain_in_group,    // stop heartbeating but keep the place until
                      // session.timeout.ms passes (as a crashed process)
};

// commit_async's completion: the offsets and how the commit went.
using offset_commit_callback =
    std::function<void(const std::map<topic_partition, offset_and_metadata>& offsets, const status& result)>;

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
  // ILLEGAL_STATE while subscribed.
  [[nodiscard]] status assign(const std::vector<topic_partition>& partitions);
  // The partitions this consumer reads now (assigned, or owned in its group).
  [[nodiscard]] std::vector<topic_partition> assignment() const;

  // --- consumer groups --------------------------------------------------------
  // Joins group.id (on the next poll) to share these topics' partitions
  // with the group's other members; topics created later are picked up.
  // Subscribing again replaces the subscription (a rebalance). An empty
  // list is unsubscribe(). INVALID_GROUP_ID without a group.id,
  // ILLEGAL_STATE after assign(), INVALID_TOPIC_EXCEPTION for a bad name.
  // The listener, if any, must outlive the subscription.
  [[nodiscard]] status subscribe(const std::vector<std::string>& topics,
                                 consumer_rebalance_listener* listener = nullptr);
  // Subscribes to every topic whose whole name matches an ECMAScript
  // regular expression, now and as topics are created (internal topics
  // excluded). INVALID_REGULAR_EXPRESSION.
  [[nodiscard]] status subscribe_pattern(std::string_view regex, consumer_rebalance_listener* listener = nullptr);
  // The subscribed topics (for a pattern: the topics it matches now).
  [[nodiscard]] std::vector<std::string> subscription() const;
  // Revokes every partition (listener; auto-commit first) and leaves the
  // group. Then assign() or subscribe() may be used.
  [[nodiscard]] status unsubscribe();

  // Commits the position of every partition it reads (what poll returned
  // so far) or the given offsets (the next offset to read, plus metadata),
  // and waits for it (durable: see commit_sync_durable). In a group the
  // commit carries the member's generation: ILLEGAL_GENERATION (a rebalance
  // happened: poll, and expect redelivery from the last commit),
  // REBALANCE_IN_PROGRESS (poll to finish it), UNKNOWN_MEMBER_ID (removed
  // from the group), ILLEGAL_STATE (a partition it does not own),
  // OFFSET_OUT_OF_RANGE (beyond the log end), OFFSET_METADATA_TOO_LARGE,
  // INVALID_GROUP_ID (no group.id). A consumer with a group.id that uses
  // assign() commits only while the group has no members.
  [[nodiscard]] status commit_sync();
  [[nodiscard]] status commit_sync(const std::map<topic_partition, offset_and_metadata>& offsets);
  // The same checks and write without waiting for the fsync; the callback
  // runs on this consumer's thread during a later poll, commit or close,
  // in commit order.
  void commit_async(offset_commit_callback callback = {});
  void commit_async(const std::map<topic_partition, offset_and_metadata>& offsets,
                    offset_commit_callback callback = {});
  // The group's committed offsets (nullopt: none). INVALID_GROUP_ID.
  [[nodiscard]] result<std::map<topic_partition, std::optional<offset_and_metadata>>> committed(
      const std::vector<topic_partition>& tps) const;
  // This member's id ("" before it joins) and generation (-1).
  [[nodiscard]] std::string member_id() const;
  [[nodiscard]] std::int32_t generation() const noexcept { return generation_; }

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

  // Commits (with enable.auto.commit), leaves the group or stays per `op`
  // (the revoke listener runs when it leaves), unassigns everything and
  // releases the last poll's views. Idempotent.
  [[nodiscard]] status close(group_membership op = group_membership::default_operation);
  [[nodiscard]] const consumer_config& config() const noexcept { return cfg_; }

 private:
  struct assigned {
    topic_partition tp;
    std::shared_ptr<detail::partition> part;
    std::optional<std::int64_t> position;  // nullopt: reset on next use
    bool paused = false;
    // Where this poll's records end; becomes the position only when poll
    // returns them, so a poll that fails (bad_alloc included) skips nothing.
    std::optional<std::int64_t> fetched_to = std::nullopt;
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
  // ILLEGAL_STATE for calls a rebalance listener may not make.
  [[nodiscard]] status check_not_in_listener(const char* what) const;

  // --- groups (lib/consumer.cpp) ---
  [[nodiscard]] group_coordinator& coordinator() const noexcept { return broker_->groups(); }
  [[nodiscard]] status subscribe_with(detail::join_request req, consumer_rebalance_listener* listener);
  // Runs the member's next steps until none is left; `waiting` when it has
  // joined a rebalance that is not complete.
  [[nodiscard]] status group_step(bool& waiting);
  [[nodiscard]] status apply_assignment(std::int32_t generation, const std::vector<topic_partition>& target);
  // Gives up `tps` (auto-commit, listener), removing them from assigned_.
  void revoke(const std::vector<topic_partition>& tps, bool lost);
  [[nodiscard]] std::map<topic_partition, offset_and_metadata> positions_of(
      const std::vector<topic_partition>& tps) const;
  [[nodiscard]] status commit_now(const std::map<topic_partition, offset_and_metadata>& offsets, bool durable);
  void auto_commit(const std::vector<topic_partition>& tps);
  void run_commit_callbacks();
  template <class F>
  void call_listener(F&& f);

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

  // Group membership (subscribe mode).
  enum class mode : std::uint8_t { none, assigned, subscribed };
  mode mode_ = mode::none;
  detail::join_request join_;
  consumer_rebalance_listener* listener_ = nullptr;
  std::shared_ptr<detail::member_state> member_;
  std::uint64_t seen_epoch_ = ~std::uint64_t{0};
  std::uint64_t seen_metadata_ = 0;
  std::int32_t generation_ = -1;
  bool resubscribe_ = false;   // the subscription changed: rejoin
  bool joined_ = false;        // joined a rebalance that is not complete:
                               // no fetching (its commits would fail)
  bool in_listener_ = false;
  std::int64_t next_auto_commit_ms_ = 0;
  std::vector<std::function<void()>> commit_callbacks_;
};

}  // namespace franz
