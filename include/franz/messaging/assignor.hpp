// franz — partition assignors: who in a consumer group reads which
// partition.
//
// When a group rebalances, the coordinator hands the chosen assignor every
// member's subscription and the partition count of every subscribed topic;
// the assignor returns each member's partitions. As in Kafka:
//   range               per topic, consecutive ranges over the members
//                       subscribed to it (Kafka's default)
//   roundrobin          all partitions dealt round-robin to the members
//   sticky              balanced, and keeps each member's previous
//                       partitions where balance allows
//   cooperative-sticky  sticky, for the cooperative protocol: members keep
//                       consuming what they keep during a rebalance
// A custom assignor derives from partition_assignor and is passed to the
// consumer (consumer_config::assignors).
//
// Names and orders: members are identified by member id. range and
// roundrobin order members by group.instance.id when a member has one, else
// by member id (static members first, as Kafka's KIP-345 asks), so a
// restarted static member gets the same partitions.
//
// Thread-safety: assign() is called by the group coordinator under its
// lock, from whichever consumer thread completes a rebalance; it must not
// call back into franz. The built-in assignors are stateless (any thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "franz/error.hpp"
#include "franz/messaging/broker.hpp"

namespace franz {

// Kafka's RebalanceProtocol. eager: every member gives up all of its
// partitions before a rebalance; cooperative: only the partitions that move
// are given up, in a second round.
enum class rebalance_protocol : std::uint8_t { eager, cooperative };

// One member as the assignor sees it.
struct member_subscription {
  std::string member_id;
  std::optional<std::string> group_instance_id{};
  // The topics it subscribes to (resolved from its list or regex), sorted.
  std::vector<std::string> topics{};
  // The partitions it held in `generation` (Kafka's ownedPartitions, and
  // the sticky assignors' user data): under the eager protocol too, so that
  // sticky can keep them. Sorted.
  std::vector<topic_partition> owned{};
  // The generation `owned` is from; -1 if none. When two members claim a
  // partition, the higher generation wins.
  std::int32_t generation = -1;
};

// topic name -> partition count, for every topic some member subscribes to
// (and that exists).
using partition_counts = std::map<std::string, std::int32_t, std::less<>>;

// member id -> its partitions, sorted. Every member of the input appears,
// possibly with no partitions.
using group_assignment = std::map<std::string, std::vector<topic_partition>>;

class partition_assignor {
 public:
  virtual ~partition_assignor() = default;
  // The name members agree on (partition.assignment.strategy).
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  // The protocols this assignor supports; the best one all members of a
  // group support is used. Default: eager only.
  [[nodiscard]] virtual std::vector<rebalance_protocol> supported_protocols() const {
    return {rebalance_protocol::eager};
  }
  // Each partition of `counts` to at most one member subscribed to its
  // topic. The coordinator checks the result: a partition that does not
  // exist or that goes to a member not subscribed to its topic is dropped;
  // one given to several members stays with the first in member-id order.
  [[nodiscard]] virtual group_assignment assign(const partition_counts& counts,
                                                const std::vector<member_subscription>& members) = 0;
};

// The built-in assignors by name: "range", "roundrobin", "sticky",
// "cooperative-sticky" (Kafka's class names, such as
// org.apache.kafka.clients.consumer.RangeAssignor, are accepted too).
// INVALID_CONFIG for any other name.
[[nodiscard]] result<std::shared_ptr<partition_assignor>> make_assignor(std::string_view name);

}  // namespace franz
