// Partition assignors against hand-checked tables: range, roundrobin, sticky
// and cooperative-sticky (member order, uneven counts, differing
// subscriptions, more members than partitions, empty input), the sticky
// pair's stickiness and claim resolution, seeded random rebalances checked
// against invariants, and make_assignor's names.
#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "franz/messaging/assignor.hpp"
#include "test_util.hpp"

namespace franz {

namespace {

using tps = std::vector<topic_partition>;

constexpr std::string_view all_assignors[] = {"range", "roundrobin", "sticky", "cooperative-sticky"};
constexpr std::string_view sticky_assignors[] = {"sticky", "cooperative-sticky"};

member_subscription sub(std::string id, std::vector<std::string> topics, tps owned = {}, std::int32_t generation = 1) {
  return member_subscription{.member_id = std::move(id),
                             .topics = std::move(topics),
                             .owned = std::move(owned),
                             .generation = generation};
}

member_subscription static_sub(std::string id, std::string instance, std::vector<std::string> topics) {
  member_subscription m = sub(std::move(id), std::move(topics));
  m.group_instance_id = std::move(instance);
  return m;
}

group_assignment assign(std::string_view assignor, const partition_counts& counts,
                        const std::vector<member_subscription>& members) {
  auto a = make_assignor(assignor);
  REQUIRE_OK(a);
  return (*a)->assign(counts, members);
}

// "c0=[t0-0 t0-1] c1=[]": compared as text so a failure prints both sides.
std::string show(const group_assignment& a) {
  std::string out;
  for (const auto& [member, parts] : a) {
    out += fmt::format("{}{}=[", out.empty() ? "" : " ", member);
    for (std::size_t i = 0; i < parts.size(); ++i)
      out += fmt::format("{}{}-{}", i == 0 ? "" : " ", parts[i].topic, parts[i].partition);
    out += "]";
  }
  return out;
}

bool subscribes(const member_subscription& m, const std::string& topic) {
  return std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end();
}

// Every member appears; every list is sorted; every partition of a topic
// someone subscribes to goes to exactly one subscriber, and nothing else is
// assigned.
void check_valid(const partition_counts& counts, const std::vector<member_subscription>& members,
                 const group_assignment& got) {
  REQUIRE(got.size() == members.size());
  std::map<topic_partition, int> times;
  for (const auto& m : members) {
    REQUIRE(got.count(m.member_id) == 1);
    const auto& parts = got.at(m.member_id);
    CHECK(std::is_sorted(parts.begin(), parts.end()));
    for (const auto& tp : parts) {
      CHECK(subscribes(m, tp.topic));
      ++times[tp];
    }
  }
  for (const auto& kv : counts) {  // not a structured binding: clang 14 cannot capture one
    const std::string& topic = kv.first;
    const bool wanted =
        std::any_of(members.begin(), members.end(), [&](const auto& m) { return subscribes(m, topic); });
    for (std::int32_t p = 0; p < kv.second; ++p) {
      INFO(topic << "-" << p);
      CHECK(times[{topic, p}] == (wanted ? 1 : 0));
    }
  }
  for (const auto& [tp, n] : times) {
    INFO(tp.topic << "-" << tp.partition);
    CHECK((counts.count(tp.topic) == 1 && tp.partition < counts.at(tp.topic)));
  }
}

// Kafka's balance: no member holds a partition of a topic that a member
// with at least 2 fewer partitions subscribes to.
void check_balanced(const std::vector<member_subscription>& members, const group_assignment& got) {
  for (const auto& a : members)
    for (const auto& b : members) {
      const auto& held = got.at(a.member_id);
      if (held.size() < got.at(b.member_id).size() + 2) continue;
      for (const auto& tp : held) {
        INFO(a.member_id << " could give " << tp.topic << "-" << tp.partition << " to " << b.member_id);
        CHECK_FALSE(subscribes(b, tp.topic));
      }
    }
}

// Owned partitions that still exist (the members' claims do not overlap).
std::size_t still_valid(const partition_counts& counts, const member_subscription& m) {
  return static_cast<std::size_t>(std::count_if(m.owned.begin(), m.owned.end(), [&](const topic_partition& tp) {
    auto it = counts.find(tp.topic);
    return it != counts.end() && tp.partition < it->second && subscribes(m, tp.topic);
  }));
}

// Owned, still valid partitions that changed owner.
std::size_t moved(const partition_counts& counts, const std::vector<member_subscription>& members,
                  const group_assignment& got) {
  std::size_t n = 0;
  for (const auto& m : members) {
    const auto& now = got.at(m.member_id);
    for (const auto& tp : m.owned) {
      auto it = counts.find(tp.topic);
      if (it == counts.end() || tp.partition >= it->second || !subscribes(m, tp.topic)) continue;
      if (!std::binary_search(now.begin(), now.end(), tp)) ++n;
    }
  }
  return n;
}

// With identical subscriptions and disjoint claims, the fewest moves a
// balanced assignment allows: P / M each and one more for P % M members,
// the extra ones going to the members that keep the most.
std::size_t fewest_moves(const partition_counts& counts, const std::vector<member_subscription>& members) {
  std::size_t total = 0;
  for (const auto& [topic, n] : counts) total += static_cast<std::size_t>(n);
  std::vector<std::size_t> kept;
  for (const auto& m : members) kept.push_back(still_valid(counts, m));
  std::sort(kept.rbegin(), kept.rend());
  const std::size_t quota = total / members.size();
  const std::size_t extra = total % members.size();
  std::size_t n = 0;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    const std::size_t q = quota + (i < extra ? 1 : 0);
    if (kept[i] > q) n += kept[i] - q;
  }
  return n;
}

std::pair<std::size_t, std::size_t> min_max_load(const group_assignment& got) {
  std::size_t lo = SIZE_MAX, hi = 0;
  for (const auto& [m, parts] : got) {
    lo = std::min(lo, parts.size());
    hi = std::max(hi, parts.size());
  }
  return {lo, hi};
}

}  // namespace

// --- range ---

TEST_CASE("range gives the first n % c members of each topic one partition more", "[assignor]") {
  const partition_counts counts{{"t0", 3}, {"t1", 5}};
  const group_assignment two{
      {"c0", {{"t0", 0}, {"t0", 1}, {"t1", 0}, {"t1", 1}, {"t1", 2}}},
      {"c1", {{"t0", 2}, {"t1", 3}, {"t1", 4}}},
  };
  CHECK(show(assign("range", counts, {sub("c0", {"t0", "t1"}), sub("c1", {"t0", "t1"})})) == show(two));

  const group_assignment three{
      {"c0", {{"t0", 0}, {"t1", 0}, {"t1", 1}}},
      {"c1", {{"t0", 1}, {"t1", 2}, {"t1", 3}}},
      {"c2", {{"t0", 2}, {"t1", 4}}},
  };
  // Input order does not matter: members are ranked by member id.
  CHECK(show(assign("range", counts, {sub("c2", {"t0", "t1"}), sub("c0", {"t0", "t1"}), sub("c1", {"t0", "t1"})})) ==
        show(three));
}

TEST_CASE("range splits each topic over its own subscribers only", "[assignor]") {
  // t9 is subscribed to but absent from counts; t2 has no subscriber.
  const partition_counts counts{{"t0", 3}, {"t1", 5}, {"t2", 2}};
  const std::vector<member_subscription> members{sub("c0", {"t0", "t9"}), sub("c1", {"t0", "t1"}), sub("c2", {"t1"})};
  const group_assignment want{
      {"c0", {{"t0", 0}, {"t0", 1}}},
      {"c1", {{"t0", 2}, {"t1", 0}, {"t1", 1}, {"t1", 2}}},
      {"c2", {{"t1", 3}, {"t1", 4}}},
  };
  CHECK(show(assign("range", counts, members)) == show(want));
}

TEST_CASE("range and roundrobin rank static members by group.instance.id before dynamic ones by member id",
          "[assignor]") {
  const partition_counts counts{{"t0", 5}};
  // Ranks: m-c (instance "a"), m-b (instance "z"), m-0, m-a.
  const std::vector<member_subscription> members{sub("m-a", {"t0"}), static_sub("m-b", "z", {"t0"}),
                                                 sub("m-0", {"t0"}), static_sub("m-c", "a", {"t0"})};
  const group_assignment range{
      {"m-c", {{"t0", 0}, {"t0", 1}}},
      {"m-b", {{"t0", 2}}},
      {"m-0", {{"t0", 3}}},
      {"m-a", {{"t0", 4}}},
  };
  CHECK(show(assign("range", counts, members)) == show(range));
  const group_assignment roundrobin{
      {"m-c", {{"t0", 0}, {"t0", 4}}},
      {"m-b", {{"t0", 1}}},
      {"m-0", {{"t0", 2}}},
      {"m-a", {{"t0", 3}}},
  };
  CHECK(show(assign("roundrobin", counts, members)) == show(roundrobin));
}

// --- roundrobin ---

TEST_CASE("roundrobin deals the partitions of all topics in one circle", "[assignor]") {
  const partition_counts counts{{"t0", 3}, {"t1", 5}};
  const std::vector<member_subscription> members{sub("c0", {"t0", "t1"}), sub("c1", {"t0", "t1"}),
                                                 sub("c2", {"t0", "t1"})};
  const group_assignment want{
      {"c0", {{"t0", 0}, {"t1", 0}, {"t1", 3}}},
      {"c1", {{"t0", 1}, {"t1", 1}, {"t1", 4}}},
      {"c2", {{"t0", 2}, {"t1", 2}}},
  };
  CHECK(show(assign("roundrobin", counts, members)) == show(want));
}

TEST_CASE("roundrobin skips unsubscribed members and resumes the circle after the last taker", "[assignor]") {
  // Kafka's documented example for differing subscriptions.
  const partition_counts counts{{"t0", 1}, {"t1", 2}, {"t2", 3}};
  const std::vector<member_subscription> members{sub("C0", {"t0"}), sub("C1", {"t0", "t1"}),
                                                 sub("C2", {"t0", "t1", "t2"})};
  const group_assignment want{
      {"C0", {{"t0", 0}}},
      {"C1", {{"t1", 0}}},
      {"C2", {{"t1", 1}, {"t2", 0}, {"t2", 1}, {"t2", 2}}},
  };
  CHECK(show(assign("roundrobin", counts, members)) == show(want));
}

// --- every assignor ---

TEST_CASE("more members than partitions leaves the extra members with empty lists", "[assignor]") {
  const partition_counts counts{{"t0", 2}};
  const std::vector<member_subscription> members{sub("c0", {"t0"}), sub("c1", {"t0"}), sub("c2", {"t0"}),
                                                 sub("c3", {"t0"})};
  const group_assignment want{{"c0", {{"t0", 0}}}, {"c1", {{"t0", 1}}}, {"c2", {}}, {"c3", {}}};
  for (auto name : all_assignors) {
    INFO(name);
    CHECK(show(assign(name, counts, members)) == show(want));
  }
}

TEST_CASE("empty groups, topics without partitions and members without topics assign nothing", "[assignor]") {
  for (auto name : all_assignors) {
    INFO(name);
    CHECK(assign(name, {{"t0", 4}}, {}).empty());
    CHECK(show(assign(name, {}, {sub("c0", {"t0"}), sub("c1", {})})) == "c0=[] c1=[]");
    CHECK(show(assign(name, {{"t0", 0}}, {sub("c0", {"t0"}, {{"t0", 0}}), sub("c1", {})})) == "c0=[] c1=[]");
    CHECK(show(assign(name, {{"t0", 0}, {"t1", 1}}, {sub("c0", {"t0", "t1"}), sub("c1", {})})) == "c0=[t1-0] c1=[]");
  }
}

// --- sticky and cooperative-sticky ---

TEST_CASE("sticky: when a member leaves, survivors keep theirs and only the leaver's partitions move",
          "[assignor]") {
  const partition_counts counts{{"t0", 6}};
  // c2 owned t0-4 and t0-5 and left.
  const std::vector<member_subscription> members{sub("c0", {"t0"}, {{"t0", 0}, {"t0", 1}}),
                                                 sub("c1", {"t0"}, {{"t0", 2}, {"t0", 3}})};
  const group_assignment want{
      {"c0", {{"t0", 0}, {"t0", 1}, {"t0", 4}}},
      {"c1", {{"t0", 2}, {"t0", 3}, {"t0", 5}}},
  };
  for (auto name : sticky_assignors) {
    INFO(name);
    CHECK(show(assign(name, counts, members)) == show(want));
  }
}

TEST_CASE("sticky: a joiner gets floor or ceil of the share and only that many partitions move", "[assignor]") {
  for (auto name : sticky_assignors) {
    INFO(name);
    // 6 over 3: the highest-ranked of the most loaded gives first, its
    // highest partition.
    const group_assignment even{
        {"c0", {{"t0", 0}, {"t0", 1}}},
        {"c1", {{"t0", 3}, {"t0", 4}}},
        {"c2", {{"t0", 2}, {"t0", 5}}},
    };
    CHECK(show(assign(name, {{"t0", 6}},
                      {sub("c0", {"t0"}, {{"t0", 0}, {"t0", 1}, {"t0", 2}}),
                       sub("c1", {"t0"}, {{"t0", 3}, {"t0", 4}, {"t0", 5}}), sub("c2", {"t0"})})) == show(even));
    // 7 over 3: c0 keeps the extra partition; 2 moves (c0 and c1 one each).
    const group_assignment uneven{
        {"c0", {{"t0", 0}, {"t0", 1}, {"t0", 2}}},
        {"c1", {{"t0", 4}, {"t0", 5}}},
        {"c2", {{"t0", 3}, {"t0", 6}}},
    };
    CHECK(show(assign(name, {{"t0", 7}},
                      {sub("c0", {"t0"}, {{"t0", 0}, {"t0", 1}, {"t0", 2}, {"t0", 3}}),
                       sub("c1", {"t0"}, {{"t0", 4}, {"t0", 5}, {"t0", 6}}), sub("c2", {"t0"})})) == show(uneven));
  }
}

TEST_CASE("sticky: a member that owned everything gives away all but its share", "[assignor]") {
  const partition_counts counts{{"t0", 5}};
  const std::vector<member_subscription> members{
      sub("c0", {"t0"}, {{"t0", 0}, {"t0", 1}, {"t0", 2}, {"t0", 3}, {"t0", 4}}), sub("c1", {"t0"}),
      sub("c2", {"t0"})};
  const group_assignment want{
      {"c0", {{"t0", 0}, {"t0", 1}}},
      {"c1", {{"t0", 2}, {"t0", 4}}},
      {"c2", {{"t0", 3}}},
  };
  for (auto name : sticky_assignors) {
    INFO(name);
    CHECK(show(assign(name, counts, members)) == show(want));
  }
}

TEST_CASE("sticky: a partition claimed twice goes to the higher generation, then the smaller member id",
          "[assignor]") {
  for (auto name : sticky_assignors) {
    INFO(name);
    // c1's claim of t0-1 is a generation older than c0's.
    const group_assignment by_generation{
        {"c0", {{"t0", 0}, {"t0", 1}}},
        {"c1", {{"t0", 2}}},
        {"c2", {{"t0", 3}}},
    };
    CHECK(show(assign(name, {{"t0", 4}},
                      {sub("c1", {"t0"}, {{"t0", 1}, {"t0", 2}}, 2), sub("c0", {"t0"}, {{"t0", 0}, {"t0", 1}}, 3),
                       sub("c2", {"t0"}, {{"t0", 3}}, 3)})) == show(by_generation));
    // Same generation: the smaller member id wins, even though c1, a
    // static member, ranks first.
    member_subscription c1 = static_sub("c1", "i1", {"t0"});
    c1.owned = {{"t0", 0}, {"t0", 1}};
    c1.generation = 3;
    const group_assignment by_member_id{{"c0", {{"t0", 0}}}, {"c1", {{"t0", 1}}}};
    CHECK(show(assign(name, {{"t0", 2}}, {c1, sub("c0", {"t0"}, {{"t0", 0}}, 3)})) == show(by_member_id));
  }
}

TEST_CASE("sticky: owned partitions of a deleted or unsubscribed topic, or past the count, are dropped",
          "[assignor]") {
  // t1 was deleted; c1 no longer subscribes to t2; t0 has no partition 7.
  const partition_counts counts{{"t0", 3}, {"t2", 2}};
  const std::vector<member_subscription> members{
      sub("c0", {"t0", "t2"}, {{"t0", 0}, {"t0", 7}, {"t1", 0}}),
      sub("c1", {"t0"}, {{"t0", 1}, {"t0", 2}, {"t2", 0}, {"t2", 1}}),
  };
  const group_assignment want{
      {"c0", {{"t0", 0}, {"t2", 0}, {"t2", 1}}},
      {"c1", {{"t0", 1}, {"t0", 2}}},
  };
  for (auto name : sticky_assignors) {
    INFO(name);
    CHECK(show(assign(name, counts, members)) == show(want));
  }
}

TEST_CASE("sticky: balance moves a partition only to a member subscribed to its topic", "[assignor]") {
  // c0 is the only subscriber of t1 and takes both of its partitions; it
  // can give c1 only t0-0, and does, so c0 has 2 and c1 has 1.
  const partition_counts counts{{"t0", 1}, {"t1", 2}};
  const std::vector<member_subscription> members{sub("c0", {"t0", "t1"}, {{"t0", 0}}), sub("c1", {"t0"})};
  for (auto name : sticky_assignors) {
    INFO(name);
    CHECK(show(assign(name, counts, members)) == "c0=[t1-0 t1-1] c1=[t0-0]");
  }
}

TEST_CASE("sticky: balance gives away partitions new to the giver before ones it owned", "[assignor]") {
  // t1 and t2 are new. c0 gets t1-0 (a tie with c1) and all of t2 (its own
  // topic), so it has 5 against c1's 3 and gives c1 t1-0, not t0-1.
  const partition_counts counts{{"t0", 4}, {"t1", 2}, {"t2", 2}};
  const std::vector<member_subscription> members{
      sub("c0", {"t0", "t1", "t2"}, {{"t0", 0}, {"t0", 1}}),
      sub("c1", {"t0", "t1"}, {{"t0", 2}, {"t0", 3}}),
  };
  const group_assignment want{
      {"c0", {{"t0", 0}, {"t0", 1}, {"t2", 0}, {"t2", 1}}},
      {"c1", {{"t0", 2}, {"t0", 3}, {"t1", 0}, {"t1", 1}}},
  };
  for (auto name : sticky_assignors) {
    INFO(name);
    CHECK(show(assign(name, counts, members)) == show(want));
  }
}

TEST_CASE("sticky: seeded random rebalances with identical subscriptions move only what balance forces",
          "[assignor]") {
  std::mt19937 rng(20240607);
  auto below = [&](std::uint32_t n) { return static_cast<std::int32_t>(rng() % n); };
  for (int scenario = 0; scenario < 300; ++scenario) {
    // The previous generation: up to 3 topics, up to 6 members, each
    // partition owned by one member or by nobody.
    partition_counts before;
    const int topics = 1 + below(3);
    for (int t = 0; t < topics; ++t) before[fmt::format("t{}", t)] = below(13);
    const int old_members = 1 + below(6);
    std::vector<tps> owned(static_cast<std::size_t>(old_members));
    for (const auto& [topic, n] : before)
      for (std::int32_t p = 0; p < n; ++p)
        if (const auto o = below(static_cast<std::uint32_t>(old_members) + 1); o < old_members)
          owned[static_cast<std::size_t>(o)].push_back({topic, p});
    // This generation: topics grow or are deleted, members stay, leave or
    // join; everyone subscribes to every topic (a deleted one too).
    partition_counts counts = before;
    for (auto& [topic, n] : counts) n += below(3) == 0 ? below(4) : 0;
    if (topics > 1 && below(4) == 0) counts.erase("t0");
    std::vector<std::string> all_topics;
    for (const auto& [topic, n] : before) all_topics.push_back(topic);
    std::vector<member_subscription> members;
    for (int m = 0; m < old_members; ++m)
      if (below(4) != 0) members.push_back(sub(fmt::format("m{}", m), all_topics, owned[static_cast<std::size_t>(m)]));
    for (int j = below(4); j > 0; --j) members.push_back(sub(fmt::format("j{}", j), all_topics));
    for (auto& m : members)
      if (below(3) == 0) m.group_instance_id = fmt::format("i{}", below(100));
    if (members.empty()) continue;

    for (auto name : sticky_assignors) {
      INFO("scenario " << scenario << ", " << name);
      const group_assignment got = assign(name, counts, members);
      check_valid(counts, members, got);
      const auto [lo, hi] = min_max_load(got);
      CHECK(hi - lo <= 1);
      CHECK(moved(counts, members, got) == fewest_moves(counts, members));
      // A member that kept no more than its share loses nothing.
      std::size_t total = 0;
      for (const auto& [topic, n] : counts) total += static_cast<std::size_t>(n);
      for (const auto& m : members) {
        if (still_valid(counts, m) > total / members.size()) continue;
        const auto& now = got.at(m.member_id);
        for (const auto& tp : m.owned)
          if (counts.count(tp.topic) == 1 && tp.partition < counts.at(tp.topic))
            CHECK(std::binary_search(now.begin(), now.end(), tp));
      }
    }
  }
}

TEST_CASE("every assignor: seeded random subscriptions and conflicting claims give valid assignments",
          "[assignor]") {
  std::mt19937 rng(7);
  auto below = [&](std::uint32_t n) { return static_cast<std::int32_t>(rng() % n); };
  for (int scenario = 0; scenario < 300; ++scenario) {
    partition_counts counts;
    const int topics = 1 + below(4);
    for (int t = 0; t < topics; ++t) counts[fmt::format("t{}", t)] = below(9);
    std::vector<member_subscription> members;
    for (int m = below(7); m > 0; --m) {
      std::vector<std::string> subscribed;
      for (int t = 0; t <= topics; ++t)  // t == topics: a topic not in counts
        if (below(2) == 0) subscribed.push_back(fmt::format("t{}", t));
      tps owned;
      for (int k = below(6); k > 0; --k) owned.push_back({fmt::format("t{}", below(5)), below(10)});
      std::sort(owned.begin(), owned.end());
      owned.erase(std::unique(owned.begin(), owned.end()), owned.end());
      members.push_back(sub(fmt::format("m{}", m), std::move(subscribed), std::move(owned), below(3)));
      if (below(3) == 0) members.back().group_instance_id = fmt::format("i{}", below(100));
    }
    for (auto name : all_assignors) {
      INFO("scenario " << scenario << ", " << name);
      const group_assignment got = assign(name, counts, members);
      check_valid(counts, members, got);
      if (name == "sticky" || name == "cooperative-sticky") check_balanced(members, got);
    }
  }
}

TEST_CASE("sticky: 10k partitions over 100 members, after joins, leaves and a total handover", "[assignor]") {
  partition_counts counts;
  for (int t = 0; t < 100; ++t) counts[fmt::format("t{:02}", t)] = 100;
  std::vector<std::string> all_topics;
  for (const auto& [topic, n] : counts) all_topics.push_back(topic);
  // 95 of 100 previous owners stay, 5 join.
  std::vector<member_subscription> churn;
  std::vector<tps> owned(100);
  std::size_t i = 0;
  for (const auto& [topic, n] : counts)
    for (std::int32_t p = 0; p < n; ++p) owned[i++ % 100].push_back({topic, p});
  for (std::size_t m = 0; m < 100; ++m) {
    std::sort(owned[m].begin(), owned[m].end());
    if (m % 20 != 7) churn.push_back(sub(fmt::format("m{:03}", m), all_topics, owned[m]));
  }
  for (int j = 0; j < 5; ++j) churn.push_back(sub(fmt::format("j{:03}", j), all_topics));
  // One member owned everything; 99 join.
  std::vector<member_subscription> handover{sub("m000", all_topics, {})};
  for (const auto& [topic, n] : counts)
    for (std::int32_t p = 0; p < n; ++p) handover[0].owned.push_back({topic, p});
  for (int j = 1; j < 100; ++j) handover.push_back(sub(fmt::format("m{:03}", j), all_topics));

  for (const auto* members : {&churn, &handover})
    for (auto name : sticky_assignors) {
      INFO(name);
      const group_assignment got = assign(name, counts, *members);
      check_valid(counts, *members, got);
      const auto [lo, hi] = min_max_load(got);
      CHECK(lo == 100);
      CHECK(hi == 100);
      CHECK(moved(counts, *members, got) == fewest_moves(counts, *members));
    }
}

// --- make_assignor ---

TEST_CASE("make_assignor accepts the short names and Kafka's class names", "[assignor]") {
  const std::pair<std::string_view, std::string_view> names[] = {
      {"range", "range"},
      {"roundrobin", "roundrobin"},
      {"sticky", "sticky"},
      {"cooperative-sticky", "cooperative-sticky"},
      {"org.apache.kafka.clients.consumer.RangeAssignor", "range"},
      {"org.apache.kafka.clients.consumer.RoundRobinAssignor", "roundrobin"},
      {"org.apache.kafka.clients.consumer.StickyAssignor", "sticky"},
      {"org.apache.kafka.clients.consumer.CooperativeStickyAssignor", "cooperative-sticky"},
  };
  for (const auto& [given, short_name] : names) {
    INFO(given);
    auto a = make_assignor(given);
    REQUIRE_OK(a);
    CHECK((*a)->name() == short_name);
  }
}

TEST_CASE("make_assignor rejects an unknown name with INVALID_CONFIG", "[assignor]") {
  for (std::string_view bad : {"", "Range", "round-robin", "org.apache.kafka.clients.consumer.FancyAssignor",
                               "org.apache.kafka.clients.consumer.range"}) {
    INFO(bad);
    auto a = make_assignor(bad);
    REQUIRE_FALSE(a.ok());
    CHECK(a.code() == errc::invalid_config);
    CHECK(a.error().message.find(fmt::format("'{}'", bad)) != std::string::npos);
  }
  CHECK(make_assignor("nope").error().message ==
        "partition.assignment.strategy: unknown assignor 'nope' (range, roundrobin, sticky, cooperative-sticky)");
}

TEST_CASE("only cooperative-sticky supports the cooperative protocol, preferring it to eager", "[assignor]") {
  for (auto name : {"range", "roundrobin", "sticky"}) {
    INFO(name);
    auto a = make_assignor(name);
    REQUIRE_OK(a);
    CHECK((*a)->supported_protocols() == std::vector<rebalance_protocol>{rebalance_protocol::eager});
  }
  auto a = make_assignor("cooperative-sticky");
  REQUIRE_OK(a);
  CHECK((*a)->supported_protocols() ==
        std::vector<rebalance_protocol>{rebalance_protocol::cooperative, rebalance_protocol::eager});
}

}  // namespace franz
