// franz — the group coordinator: consumer-group membership, rebalances and
// committed offsets, in-process. Kafka's GroupCoordinator without the
// network: consumers of one broker that share a group.id meet here.
//
//   auto& groups = broker->groups();
//   for (auto& g : groups.list_groups()) ...;
//   auto d = groups.describe_group("billing");       // members, lag per partition
//   (void)groups.reset_offsets("billing", {}, franz::offset_spec::earliest());
//
// Membership. A consumer that subscribes joins its group; each rebalance
// moves the group to a new generation and gives every member its
// partitions, computed by the group's assignor (see assignor.hpp). A
// rebalance starts when a member joins, leaves (close, unsubscribe), is
// removed (session.timeout.ms after its last heartbeat, or
// max.poll.interval.ms without a poll), changes its subscription, or when
// the subscribed topics change (partitions added, a topic deleted, a new
// topic matching a pattern). It completes when every member has rejoined,
// or after the rebalance timeout (the members' largest max.poll.interval.ms)
// without the stragglers, which are removed.
//
// Heartbeats. In-process a member is alive while its consumer object is
// open and polls within max.poll.interval.ms: that is when Kafka's
// heartbeat thread keeps sending. A consumer closed with remain_in_group
// (and a static member's plain close) stops heartbeating at once; its
// partitions stay assigned, unread, until session.timeout.ms passes. The
// checks run on every broker tick (the maintenance thread, or the
// application's tick()) and whenever a member of the group polls.
//
// Protocols. eager: a member gives up all of its partitions before it
// rejoins. cooperative (all members' assignors support it): members keep
// their partitions; a partition that moves is first revoked by its owner,
// and handed to its new owner by a second rebalance once the owner has let
// it go. Either way a partition has at most one owner at any moment.
//
// Offsets. Commits are records in the internal topic __consumer_offsets
// (format/offsets_record.hpp), created on the first commit; the broker
// reads them back when it opens, and the last commit of a partition wins.
// A commit is checked against the member's generation and assignment; the
// errors are Kafka's (ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS,
// UNKNOWN_MEMBER_ID).
//
// Thread-safety: every public member is safe from any thread; one mutex
// guards all groups. Order: the coordinator's mutex may be held while
// taking the broker's admin mutex and a partition's writer mutex, never the
// reverse. Lifetime: owned by its broker.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "franz/error.hpp"
#include "franz/messaging/assignor.hpp"
#include "franz/messaging/broker.hpp"
#include "franz/types.hpp"

namespace franz {

// A committed offset: the next offset to read, and the committer's note.
struct offset_and_metadata {
  offset off;
  std::string metadata{};
  friend bool operator==(const offset_and_metadata&, const offset_and_metadata&) = default;
};

// Kafka's group states.
enum class group_state : std::uint8_t {
  empty,                 // no members; may hold committed offsets
  preparing_rebalance,   // waiting for the members to rejoin
  completing_rebalance,  // assignment computed; members picking it up
  stable,
  dead,                  // deleted (Kafka's state; a deleted group is
                         // gone from list_groups, so never returned)
};
// "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead".
[[nodiscard]] std::string_view group_state_name(group_state s) noexcept;

struct group_listing {
  std::string group_id;
  group_state state = group_state::empty;
};

struct member_description {
  std::string member_id;
  std::optional<std::string> group_instance_id{};
  std::string client_id{};
  // Its partitions in the current generation.
  std::vector<topic_partition> assignment{};
};

// One row of `kafka-consumer-groups --describe`: a partition the group
// owns or has committed.
struct partition_lag {
  topic_partition tp;
  std::optional<offset_and_metadata> committed{};
  offset log_end;
  // log end - committed; nullopt without a commit.
  std::optional<std::int64_t> lag{};
  // The member that owns it; empty if none.
  std::string owner{};
};

struct group_description {
  std::string group_id;
  group_state state = group_state::empty;
  std::string assignor{};  // the assignor the group uses ("" when empty)
  rebalance_protocol protocol = rebalance_protocol::eager;
  std::int32_t generation = 0;
  std::string leader{};
  std::vector<member_description> members{};
  std::vector<partition_lag> partitions{};  // sorted
};

// Where reset_offsets moves a group (kafka-consumer-groups --reset-offsets).
struct offset_spec {
  enum class kind : std::uint8_t { earliest, latest, to_offset, to_timestamp, shift_by };
  kind k = kind::earliest;
  std::int64_t value = 0;
  static offset_spec earliest() { return {kind::earliest, 0}; }
  static offset_spec latest() { return {kind::latest, 0}; }
  static offset_spec to(offset o) { return {kind::to_offset, o.value()}; }
  // The first offset whose timestamp is >= ts (the log end if none).
  static offset_spec at_time(timestamp ts) { return {kind::to_timestamp, ts.value()}; }
  // The committed offset plus n (negative: back); clamped to the log.
  static offset_spec shift(std::int64_t n) { return {kind::shift_by, n}; }
};

namespace detail {

// What one member shares with the coordinator. The consumer's poll reads
// `epoch` (a change means: call the coordinator) and publishes `last_poll`;
// the rest is the coordinator's, under its mutex.
struct member_state {
  std::atomic<std::uint64_t> epoch{0};
  std::atomic<std::int64_t> last_poll_ms{0};
  // Guarded by the coordinator's mutex.
  std::string group_id;
  std::string member_id;
  waiter* w = nullptr;  // the consumer's poll waiter; null once closed
  std::optional<error> fenced{};  // removed from the group (and why)
};

// How a member joins: its identity, subscription and settings.
struct join_request {
  std::string group_id;
  std::string client_id{};
  std::optional<std::string> group_instance_id{};
  std::vector<std::string> topics{};       // a list subscription, or
  std::optional<std::regex> pattern{};     // a pattern subscription
  std::vector<std::shared_ptr<partition_assignor>> assignors{};  // preference order
  rebalance_protocol protocol = rebalance_protocol::eager;
  std::int64_t session_timeout_ms = 45000;
  std::int64_t rebalance_timeout_ms = 300000;  // max.poll.interval.ms
  waiter* w = nullptr;
};

// What the coordinator tells a member to do next.
struct member_step {
  enum class kind : std::uint8_t {
    none,        // nothing: consume
    join,        // a rebalance started: (eager: revoke all, then) rejoin
    wait,        // joined; the rebalance is not complete yet
    assignment,  // a rebalance completed: take `assignment`, then ack it
    fenced,      // removed from the group: partitions lost
  };
  kind k = kind::none;
  std::int32_t generation = -1;
  std::vector<topic_partition> assignment{};
};

}  // namespace detail

class group_coordinator {
 public:
  explicit group_coordinator(broker& b);
  group_coordinator(const group_coordinator&) = delete;
  group_coordinator& operator=(const group_coordinator&) = delete;
  ~group_coordinator();

  // --- admin (Kafka's Admin client: consumer groups) -------------------------
  [[nodiscard]] std::vector<group_listing> list_groups() const;
  // GROUP_ID_NOT_FOUND, INVALID_GROUP_ID.
  [[nodiscard]] result<group_description> describe_group(std::string_view group_id) const;
  // The group's committed offsets. GROUP_ID_NOT_FOUND.
  [[nodiscard]] result<std::map<topic_partition, offset_and_metadata>> list_offsets(std::string_view group_id) const;
  // Sets committed offsets (Kafka's alterConsumerGroupOffsets); creates the
  // group if needed. Only while the group has no members: NON_EMPTY_GROUP.
  // UNKNOWN_TOPIC_OR_PARTITION, OFFSET_OUT_OF_RANGE (outside the log),
  // OFFSET_METADATA_TOO_LARGE; all or nothing.
  [[nodiscard]] status alter_offsets(std::string_view group_id,
                                     const std::map<topic_partition, offset_and_metadata>& offsets);
  // Resets the group's offsets of `partitions` (empty: every partition it
  // has committed) per `spec`, and returns the new offsets. dry_run computes
  // them without committing. Errors as alter_offsets.
  [[nodiscard]] result<std::map<topic_partition, offset>> reset_offsets(std::string_view group_id,
                                                                        const std::vector<topic_partition>& partitions,
                                                                        offset_spec spec, bool dry_run = false);
  // Deletes an empty group and its committed offsets (tombstones).
  // GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP.
  [[nodiscard]] status delete_group(std::string_view group_id);

  // Session and rebalance timeouts, and subscriptions against topic
  // changes, for every group. The broker's tick() calls it.
  [[nodiscard]] status tick();

  // --- for consumers (franz internals) ----------------------------------------
  // Adds a member (or, for a static member, takes over a departed one's
  // place). Errors: INVALID_GROUP_ID, INCONSISTENT_GROUP_PROTOCOL,
  // UNRELEASED_INSTANCE_ID, INVALID_REGULAR_EXPRESSION.
  [[nodiscard]] result<std::shared_ptr<detail::member_state>> join_group(const detail::join_request& req);
  // The member's next step (see member_step); runs the group's timers.
  [[nodiscard]] detail::member_step next_step(detail::member_state& m);
  // Rejoins the rebalance in progress, giving what the member holds (for
  // cooperative) or held (eager, for sticky) and the subscription.
  [[nodiscard]] status rejoin(detail::member_state& m, const detail::join_request& req,
                              const std::vector<topic_partition>& owned, const std::vector<topic_partition>& previous);
  // The member now holds the assignment of `generation` (and has revoked
  // what it lost).
  void ack_assignment(detail::member_state& m, std::int32_t generation);
  // Whether the group removed the member (session or poll timeout): its
  // partitions are then lost, not revoked.
  [[nodiscard]] bool fenced(const detail::member_state& m) const;
  // Leaves the group (rebalance), or stays until session.timeout.ms passes
  // (remain: a static member's close, or close(remain_in_group)).
  void leave_group(detail::member_state& m, bool remain);
  // Commits offsets for a member (generation, assignment checked), or for a
  // consumer outside the group (generation -1, member null: only while the
  // group has no members, as Kafka's "simple" consumers). durable: returns
  // after the commit is fsynced. If that fsync fails (KAFKA_STORAGE_ERROR)
  // the commit is already in the log and in memory, durability unknown; the
  // offsets log is then offline and later commits fail until a reopen.
  [[nodiscard]] status commit(detail::member_state* m, std::string_view group_id, std::int32_t generation,
                              const std::map<topic_partition, offset_and_metadata>& offsets, bool durable);
  // The committed offsets of `tps` in the group (nullopt: none).
  [[nodiscard]] std::map<topic_partition, std::optional<offset_and_metadata>> committed(
      std::string_view group_id, const std::vector<topic_partition>& tps) const;

  // Reads __consumer_offsets (broker open). CORRUPT_MESSAGE names the bad
  // record.
  [[nodiscard]] status load();
  // Drops the committed offsets of a deleted topic (tombstones).
  void topic_deleted(std::string_view topic);

  struct group;  // lib/group_coordinator.cpp

 private:
  // The internal topic's partition (mu_ held), created on first use.
  [[nodiscard]] result<std::shared_ptr<detail::partition>> offsets_partition();

  broker* broker_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<group>, std::less<>> groups_;
  std::uint64_t next_member_ = 1;
};

}  // namespace franz
