// franz — built-in partition assignors (see messaging/assignor.hpp).
#include "franz/messaging/assignor.hpp"

#include <algorithm>
#include <cstddef>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace franz {

namespace {

// The group as every built-in assignor sees it. Members are numbered by
// rank, Kafka's order: static members first by group.instance.id, then
// dynamic ones by member id (ties by member id). Topics are numbered in name
// order (the order of `counts`), so (topic number, partition) sorts as
// topic_partition does. A subscription to a topic missing from `counts` is
// ignored. `counts` and `members` must outlive the view.
class group_view {
 public:
  group_view(const partition_counts& counts, const std::vector<member_subscription>& members) {
    for (const auto& [name, n] : counts) topics_.push_back({&name, std::max<std::int32_t>(n, 0), {}});
    for (const auto& m : members) members_.push_back({&m, {}});
    std::sort(members_.begin(), members_.end(), [](const member& a, const member& b) {
      const auto& x = *a.sub;
      const auto& y = *b.sub;
      if (x.group_instance_id.has_value() != y.group_instance_id.has_value()) return x.group_instance_id.has_value();
      if (x.group_instance_id && *x.group_instance_id != *y.group_instance_id)
        return *x.group_instance_id < *y.group_instance_id;
      return x.member_id < y.member_id;
    });
    for (std::size_t r = 0; r < members_.size(); ++r) {
      auto& ts = members_[r].topics;
      for (const auto& name : members_[r].sub->topics)
        if (auto t = topic_index(name)) ts.push_back(*t);
      std::sort(ts.begin(), ts.end());
      ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
      for (std::size_t t : ts) topics_[t].subscribers.push_back(r);
    }
  }

  [[nodiscard]] std::size_t member_count() const { return members_.size(); }
  [[nodiscard]] const member_subscription& member_at(std::size_t rank) const { return *members_[rank].sub; }
  // Topic numbers member `rank` subscribes to, ascending.
  [[nodiscard]] const std::vector<std::size_t>& topics_of(std::size_t rank) const { return members_[rank].topics; }
  [[nodiscard]] bool subscribes(std::size_t rank, std::size_t topic) const {
    return std::binary_search(members_[rank].topics.begin(), members_[rank].topics.end(), topic);
  }

  [[nodiscard]] std::size_t topic_count() const { return topics_.size(); }
  [[nodiscard]] const std::string& topic_name(std::size_t t) const { return *topics_[t].name; }
  // A negative count in `counts` reads as 0.
  [[nodiscard]] std::int32_t partitions(std::size_t t) const { return topics_[t].partitions; }
  // Ranks subscribed to topic t, ascending.
  [[nodiscard]] const std::vector<std::size_t>& subscribers(std::size_t t) const { return topics_[t].subscribers; }
  [[nodiscard]] std::optional<std::size_t> topic_index(std::string_view name) const {
    auto it = std::lower_bound(topics_.begin(), topics_.end(), name,
                               [](const topic& t, std::string_view n) { return *t.name < n; });
    if (it == topics_.end() || *it->name != name) return std::nullopt;
    return static_cast<std::size_t>(it - topics_.begin());
  }

  // Every member, with no partitions yet.
  [[nodiscard]] group_assignment empty_assignment() const {
    group_assignment out;
    for (const auto& m : members_) out[m.sub->member_id];
    return out;
  }
  void add(group_assignment& out, std::size_t rank, std::size_t topic, std::int32_t partition) const {
    out[member_at(rank).member_id].push_back({topic_name(topic), partition});
  }

 private:
  struct topic {
    const std::string* name;
    std::int32_t partitions;
    std::vector<std::size_t> subscribers;
  };
  struct member {
    const member_subscription* sub;
    std::vector<std::size_t> topics;
  };
  std::vector<topic> topics_;
  std::vector<member> members_;
};

// Kafka's RangeAssignor: per topic, the c subscribers (in rank order) get
// consecutive ranges; the first n % c get one partition more.
class range_assignor final : public partition_assignor {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "range"; }

  [[nodiscard]] group_assignment assign(const partition_counts& counts,
                                        const std::vector<member_subscription>& members) override {
    const group_view g(counts, members);
    group_assignment out = g.empty_assignment();
    for (std::size_t t = 0; t < g.topic_count(); ++t) {
      const auto& subs = g.subscribers(t);
      if (subs.empty()) continue;
      const auto c = static_cast<std::int32_t>(subs.size());
      const std::int32_t per = g.partitions(t) / c;
      const std::int32_t extra = g.partitions(t) % c;
      for (std::int32_t i = 0; i < c; ++i) {
        const std::int32_t first = i * per + std::min(i, extra);
        const std::int32_t len = per + (i < extra ? 1 : 0);
        for (std::int32_t p = first; p < first + len; ++p) g.add(out, subs[static_cast<std::size_t>(i)], t, p);
      }
    }
    return out;
  }
};

// Kafka's RoundRobinAssignor: every partition in (topic, partition) order
// goes to the next member of a circular walk over the ranks, skipping
// members not subscribed to its topic (Kafka's CircularIterator: the walk
// resumes after the member that took the last partition).
class roundrobin_assignor final : public partition_assignor {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "roundrobin"; }

  [[nodiscard]] group_assignment assign(const partition_counts& counts,
                                        const std::vector<member_subscription>& members) override {
    const group_view g(counts, members);
    group_assignment out = g.empty_assignment();
    std::size_t next = 0;  // the walk's position, a rank
    for (std::size_t t = 0; t < g.topic_count(); ++t) {
      if (g.subscribers(t).empty()) continue;  // else the walk would never end
      for (std::int32_t p = 0; p < g.partitions(t); ++p) {
        while (!g.subscribes(next, t)) next = (next + 1) % g.member_count();
        g.add(out, next, t, p);
        next = (next + 1) % g.member_count();
      }
    }
    return out;
  }
};

// Kafka's StickyAssignor and CooperativeStickyAssignor (one algorithm; they
// differ in name and protocols):
//  1. Claims: a member keeps an owned partition if it still subscribes to
//     the topic and the partition exists. Of several claimants the highest
//     generation wins, ties to the smallest member id.
//  2. Every unclaimed partition, in (topic, partition) order, goes to the
//     subscriber with the fewest partitions, ties to the lowest rank.
//  3. Balance: while some member A holds a partition of a topic some member
//     B subscribes to and load(B) + 1 < load(A), move one. A is the most
//     loaded member that has such a move (ties: the highest rank, so lower
//     ranks keep the extra partition, as in range); B the least loaded
//     member A can give to (ties: the lowest rank). Of A's partitions of
//     the topics B subscribes to, the one moved is the highest
//     (topic, partition) A was given in this rebalance (steps 2 and 3) if
//     any, else its highest kept one.
// Each move lowers the sum of squared loads, so 3 ends; when it does, the
// assignment is balanced in Kafka's sense. With identical subscriptions
// loads differ by at most 1 and only the owned partitions that balance
// forces out move.
//
// Cost: claims O(owned log P), step 2 O(P * M), step 3 O(log M + topics A
// holds) per move with identical subscriptions; with differing ones a move
// may try O(M^2) (A, B) pairs.
class sticky_assignor final : public partition_assignor {
 public:
  explicit sticky_assignor(bool cooperative) : cooperative_(cooperative) {}

  [[nodiscard]] std::string_view name() const noexcept override {
    return cooperative_ ? "cooperative-sticky" : "sticky";
  }
  [[nodiscard]] std::vector<rebalance_protocol> supported_protocols() const override {
    if (cooperative_) return {rebalance_protocol::cooperative, rebalance_protocol::eager};
    return {rebalance_protocol::eager};
  }

  [[nodiscard]] group_assignment assign(const partition_counts& counts,
                                        const std::vector<member_subscription>& members) override {
    const group_view g(counts, members);
    state s(g);
    s.claim();
    s.place_unclaimed();
    s.balance();
    return s.result();
  }

 private:
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  // One rebalance's working state. Partitions are numbered globally: topic
  // t's partition p is first_[t] + p, so the numbers sort as
  // (topic, partition).
  class state {
   public:
    explicit state(const group_view& g)
        : g_(g), first_(g.topic_count() + 1, 0), held_(g.member_count()), load_(g.member_count(), 0),
          fresh_(g.member_count(), 0) {
      for (std::size_t t = 0; t < g.topic_count(); ++t)
        first_[t + 1] = first_[t] + static_cast<std::size_t>(g.partitions(t));
      holder_.assign(first_.back(), none);
    }

    // Step 1.
    void claim() {
      for (std::size_t r = 0; r < g_.member_count(); ++r) {
        const auto& m = g_.member_at(r);
        for (const auto& tp : m.owned) {
          const auto t = g_.topic_index(tp.topic);
          if (!t || tp.partition < 0 || tp.partition >= g_.partitions(*t) || !g_.subscribes(r, *t)) continue;
          std::size_t& h = holder_[id(*t, tp.partition)];
          if (h == none || beats(m, g_.member_at(h))) h = r;
        }
      }
      for (std::size_t t = 0; t < g_.topic_count(); ++t)
        for (std::int32_t p = 0; p < g_.partitions(t); ++p)
          if (const std::size_t r = holder_[id(t, p)]; r != none) {
            held_[r][t].kept.push_back(p);
            ++load_[r];
          }
    }

    // Step 2.
    void place_unclaimed() {
      for (std::size_t t = 0; t < g_.topic_count(); ++t) {
        const auto& subs = g_.subscribers(t);
        if (subs.empty()) continue;
        for (std::int32_t p = 0; p < g_.partitions(t); ++p) {
          if (holder_[id(t, p)] != none) continue;
          std::size_t to = subs.front();
          for (std::size_t r : subs)
            if (load_[r] < load_[to]) to = r;
          give(to, t, p);
        }
      }
    }

    // Step 3.
    void balance() {
      // Members without a subscription can neither give nor take.
      load_order by_load;
      for (std::size_t r = 0; r < g_.member_count(); ++r)
        if (!g_.topics_of(r).empty()) by_load.insert({load_[r], r});
      while (auto mv = find_move(by_load)) {
        by_load.erase({load_[mv->from], mv->from});
        by_load.erase({load_[mv->to], mv->to});
        take(mv->from, mv->topic, mv->from_fresh);
        give(mv->to, mv->topic, mv->partition);
        by_load.insert({load_[mv->from], mv->from});
        by_load.insert({load_[mv->to], mv->to});
      }
    }

    [[nodiscard]] group_assignment result() const {
      group_assignment out = g_.empty_assignment();
      for (std::size_t t = 0; t < g_.topic_count(); ++t)
        for (std::int32_t p = 0; p < g_.partitions(t); ++p)
          if (const std::size_t r = holder_[id(t, p)]; r != none) g_.add(out, r, t, p);
      return out;
    }

   private:
    using load_order = std::set<std::pair<std::int64_t, std::size_t>>;  // (load, rank)

    // A member's partitions of one topic, each list ascending: `kept` from
    // its claims, `fresh` given in this rebalance.
    struct holding {
      std::vector<std::int32_t> kept, fresh;
    };
    struct transfer {
      std::size_t from, to, topic;
      std::int32_t partition;
      bool from_fresh;
    };

    [[nodiscard]] std::size_t id(std::size_t t, std::int32_t p) const {
      return first_[t] + static_cast<std::size_t>(p);
    }

    static bool beats(const member_subscription& a, const member_subscription& b) {
      if (a.generation != b.generation) return a.generation > b.generation;
      return a.member_id < b.member_id;
    }

    // The move step 3 makes next, if any (see the class comment).
    [[nodiscard]] std::optional<transfer> find_move(const load_order& by_load) const {
      if (by_load.empty()) return std::nullopt;
      const std::int64_t least = by_load.begin()->first;
      for (auto a = by_load.rbegin(); a != by_load.rend() && a->first >= least + 2; ++a)
        for (auto b = by_load.begin(); b->first + 1 < a->first; ++b)
          if (auto mv = pick(a->second, b->second)) return mv;
      return std::nullopt;
    }

    // The partition `from` gives `to`, of the topics `to` subscribes to:
    // its highest fresh (topic, partition) if any, else its highest kept.
    [[nodiscard]] std::optional<transfer> pick(std::size_t from, std::size_t to) const {
      std::optional<transfer> kept;
      for (auto it = held_[from].rbegin(); it != held_[from].rend(); ++it) {
        const auto& [t, h] = *it;
        if (!g_.subscribes(to, t)) continue;
        if (!h.fresh.empty()) return transfer{from, to, t, h.fresh.back(), true};
        if (!kept) kept = transfer{from, to, t, h.kept.back(), false};
        if (fresh_[from] == 0) break;
      }
      return kept;
    }

    void give(std::size_t r, std::size_t t, std::int32_t p) {
      auto& fresh = held_[r][t].fresh;
      fresh.insert(std::upper_bound(fresh.begin(), fresh.end(), p), p);
      holder_[id(t, p)] = r;
      ++load_[r];
      ++fresh_[r];
    }

    // Removes r's highest partition of topic t from its fresh or kept list.
    void take(std::size_t r, std::size_t t, bool from_fresh) {
      auto it = held_[r].find(t);
      auto& list = from_fresh ? it->second.fresh : it->second.kept;
      list.pop_back();
      if (from_fresh) --fresh_[r];
      if (it->second.kept.empty() && it->second.fresh.empty()) held_[r].erase(it);
      --load_[r];
    }

    const group_view& g_;
    std::vector<std::size_t> first_;                    // topic -> its first partition's number; back() = P
    std::vector<std::size_t> holder_;                   // partition number -> rank, or none
    std::vector<std::map<std::size_t, holding>> held_;  // rank -> topic -> partitions; no empty entries
    std::vector<std::int64_t> load_;                    // rank -> partitions held
    std::vector<std::int64_t> fresh_;                   // rank -> partitions in its fresh lists
  };

  bool cooperative_;
};

}  // namespace

result<std::shared_ptr<partition_assignor>> make_assignor(std::string_view name) {
  auto is = [name](std::string_view short_name, std::string_view kafka_class) {
    constexpr std::string_view package = "org.apache.kafka.clients.consumer.";
    return name == short_name || (name.size() == package.size() + kafka_class.size() && name.starts_with(package) &&
                                  name.ends_with(kafka_class));
  };
  std::shared_ptr<partition_assignor> a;
  if (is("range", "RangeAssignor")) a = std::make_shared<range_assignor>();
  else if (is("roundrobin", "RoundRobinAssignor")) a = std::make_shared<roundrobin_assignor>();
  else if (is("sticky", "StickyAssignor")) a = std::make_shared<sticky_assignor>(false);
  else if (is("cooperative-sticky", "CooperativeStickyAssignor")) a = std::make_shared<sticky_assignor>(true);
  else
    return make_error(errc::invalid_config,
                      fmt::format("partition.assignment.strategy: unknown assignor '{}' (range, roundrobin, sticky, "
                                  "cooperative-sticky)",
                                  name));
  return a;
}

}  // namespace franz
