// Consumer groups through the public API: membership and rebalances
// (eager and cooperative), listeners, session and poll timeouts, static
// membership, commits and their fencing errors, committed offsets across
// reopens, the groups admin calls, and at-least-once delivery while
// members are killed.
//
// Most cases run several consumers on the test's thread with a manual
// clock and no maintenance thread, so every step is deterministic: a
// consumer takes part in a rebalance only inside its poll().
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "test_util.hpp"

namespace franz {

using namespace franz::test;
using namespace std::chrono_literals;

namespace {

using tp_vec = std::vector<topic_partition>;

std::string errname(const status& s) { return std::string(errc_name(s.code())); }
template <class T>
std::string errname(const result<T>& r) {
  return std::string(errc_name(r.code()));
}

// A broker on a manual clock, ticked by the test.
struct env {
  temp_dir dir;
  manual_clock clk;
  std::unique_ptr<broker> b;
  explicit env(bool background = false) { open(background); }
  void open(bool background = false) {
    b = open_broker({.data_dir = dir.path(), .clk = &clk, .background_maintenance = background});
  }
  void reopen() {
    REQUIRE_OK(b->close());
    b.reset();
    open();
  }
  void topic(const std::string& name, std::int32_t partitions) { REQUIRE_OK(b->create_topic(name, partitions)); }
  // n records with values "<topic>-<p>-<i>" into one partition.
  void fill(const std::string& t, std::int32_t p, int n) {
    auto pr = producer::create(*b, {.linger_ms = 0});
    REQUIRE_OK(pr);
    for (int i = 0; i < n; ++i) {
      const std::string v = fmt::format("{}-{}-{}", t, p, i);
      REQUIRE_OK((*pr)->send({.topic = t, .partition = p, .value = v}));
    }
    REQUIRE_OK((*pr)->close());
  }
  group_coordinator& groups() { return b->groups(); }
};

consumer_config member_config(const std::string& group, std::vector<std::string> strategy = {"range"}) {
  consumer_config c;
  c.group_id = group;
  c.auto_offset_reset = offset_reset::earliest;
  c.enable_auto_commit = false;
  c.poll_spin_us = 0;
  c.partition_assignment_strategy = std::move(strategy);
  return c;
}

std::unique_ptr<consumer> make_consumer(broker& b, consumer_config cfg) {
  auto c = consumer::create(b, std::move(cfg));
  INFO((c.ok() ? std::string() : c.error().to_string()));
  REQUIRE(c.ok());
  return std::move(*c);
}

// Records a listener's calls, and who owns what across the group.
struct ownership {
  std::mutex mu;
  std::map<topic_partition, std::string> owner;  // partition -> member tag
  std::vector<std::string> violations;
};

struct recorder : consumer_rebalance_listener {
  std::string tag;
  ownership* own = nullptr;
  std::vector<std::string> events;
  void on_partitions_revoked(consumer&, const tp_vec& ps) override { note("revoked", ps, false); }
  void on_partitions_assigned(consumer&, const tp_vec& ps) override { note("assigned", ps, true); }
  void on_partitions_lost(consumer&, const tp_vec& ps) override { note("lost", ps, false); }
  void note(const char* what, const tp_vec& ps, bool take) {
    std::string e = what;
    for (const auto& tp : ps) e += fmt::format(" {}-{}", tp.topic, tp.partition);
    events.push_back(e);
    if (own == nullptr) return;
    std::lock_guard g(own->mu);
    for (const auto& tp : ps) {
      auto it = own->owner.find(tp);
      if (take) {
        if (it != own->owner.end())
          own->violations.push_back(fmt::format("{}-{} given to {} while {} owns it", tp.topic, tp.partition, tag,
                                                it->second));
        own->owner[tp] = tag;
      } else if (it != own->owner.end() && it->second == tag) {
        own->owner.erase(it);
      }
    }
  }
};

// Polls every consumer (timeout 0) until the group is Stable and every
// consumer holds the current generation. Returns the records polled.
std::size_t settle(env& e, const std::string& group, const std::vector<consumer*>& cs, int rounds = 50) {
  std::size_t polled = 0;
  for (int i = 0; i < rounds; ++i) {
    for (auto* c : cs) {
      auto r = c->poll(0ms);
      REQUIRE_OK(r);
      polled += r->size();
    }
    auto d = e.groups().describe_group(group);
    REQUIRE_OK(d);
    bool done = d->state == group_state::stable;
    for (auto* c : cs) done = done && c->generation() == d->generation;
    if (done) return polled;
  }
  FAIL("group " << group << " did not settle");
  return polled;
}

tp_vec tps(const std::string& t, std::initializer_list<std::int32_t> ps) {
  tp_vec out;
  for (auto p : ps) out.push_back({t, p});
  return out;
}

}  // namespace

// ---- bad input -------------------------------------------------------------------

TEST_CASE("an empty group.id is INVALID_GROUP_ID; subscribe without a group.id is INVALID_GROUP_ID", "[group]") {
  env e;
  e.topic("t", 1);
  auto bad = consumer::create(*e.b, member_config(""));
  CHECK(errname(bad) == "INVALID_GROUP_ID");
  auto c = make_consumer(*e.b, {});
  CHECK(errname(c->subscribe({"t"})) == "INVALID_GROUP_ID");
  CHECK(errname(c->commit_sync()) == "INVALID_GROUP_ID");
  CHECK(errname(e.groups().describe_group("")) == "INVALID_GROUP_ID");
  CHECK(e.groups().list_groups().empty());
}

TEST_CASE("an unknown assignor name is INVALID_CONFIG at create", "[group]") {
  env e;
  CHECK(errname(consumer::create(*e.b, member_config("g", {"range", "fair-share"}))) == "INVALID_CONFIG");
  consumer_config c = member_config("g");
  // apply() takes the names; create() resolves them.
  REQUIRE_OK(c.apply({{"partition.assignment.strategy", "roundrobin, nope"}}));
  CHECK(c.partition_assignment_strategy == std::vector<std::string>{"roundrobin", "nope"});
  CHECK(errname(consumer::create(*e.b, c)) == "INVALID_CONFIG");
}

TEST_CASE("group config keys: bad values are INVALID_CONFIG and change nothing", "[group][config]") {
  consumer_config c = member_config("g");
  REQUIRE_OK(c.apply({{"group.id", "billing"},
                      {"group.instance.id", "w1"},
                      {"enable.auto.commit", "true"},
                      {"auto.commit.interval.ms", "250"},
                      {"session.timeout.ms", "6000"},
                      {"heartbeat.interval.ms", "2000"},
                      {"max.poll.interval.ms", "9000"},
                      {"commit.sync.durable", "false"}}));
  CHECK(c.group_id == "billing");
  CHECK(c.group_instance_id == "w1");
  CHECK(c.enable_auto_commit);
  CHECK(c.auto_commit_interval_ms == 250);
  CHECK(c.session_timeout_ms == 6000);
  CHECK(c.heartbeat_interval_ms == 2000);
  CHECK(c.max_poll_interval_ms == 9000);
  CHECK_FALSE(c.commit_sync_durable);
  const consumer_config before = c;
  for (const auto& bad : std::vector<std::map<std::string, std::string>>{
           {{"enable.auto.commit", "yes"}},
           {{"heartbeat.interval.ms", "6000"}},  // must stay below session.timeout.ms
           {{"session.timeout.ms", "0"}},
           {{"max.poll.interval.ms", "-1"}},
           {{"group.instance.id", ""}},
           {{"partition.assignment.strategy", " , "}},
           {{"group.id", "other"}, {"auto.commit.interval.ms", "soon"}}}) {
    INFO(bad.begin()->first);
    CHECK(errname(c.apply(bad)) == "INVALID_CONFIG");
    CHECK(c.group_id == before.group_id);
    CHECK(c.heartbeat_interval_ms == before.heartbeat_interval_ms);
    CHECK(c.partition_assignment_strategy == before.partition_assignment_strategy);
  }
}

TEST_CASE("subscribe after assign, and assign after subscribe, are ILLEGAL_STATE", "[group]") {
  env e;
  e.topic("t", 2);
  auto a = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(a->assign({{"t", 0}}));
  CHECK(errname(a->subscribe({"t"})) == "ILLEGAL_STATE");
  auto s = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(s->subscribe({"t"}));
  CHECK(errname(s->assign({{"t", 0}})) == "ILLEGAL_STATE");
  // After unsubscribe both are allowed again.
  REQUIRE_OK(s->unsubscribe());
  REQUIRE_OK(s->assign({{"t", 1}}));
  CHECK(s->assignment() == tps("t", {1}));
}

TEST_CASE("a bad subscription pattern is INVALID_REGULAR_EXPRESSION", "[group]") {
  env e;
  auto c = make_consumer(*e.b, member_config("g"));
  CHECK(errname(c->subscribe_pattern("events-(")) == "INVALID_REGULAR_EXPRESSION");
  CHECK(errname(c->subscribe({"bad/name"})) == "INVALID_TOPIC_EXCEPTION");
}

// ---- membership ------------------------------------------------------------------

TEST_CASE("a lone member gets every partition of its topics, generation 1, state Stable", "[group]") {
  env e;
  e.topic("a", 3);
  e.topic("b", 2);
  auto c = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(c->subscribe({"a", "b"}));
  CHECK(c->member_id().empty());
  settle(e, "g", {c.get()});
  CHECK(c->assignment() == tp_vec{{"a", 0}, {"a", 1}, {"a", 2}, {"b", 0}, {"b", 1}});
  CHECK(c->generation() == 1);
  auto d = e.groups().describe_group("g");
  REQUIRE_OK(d);
  CHECK(d->state == group_state::stable);
  CHECK(d->assignor == "range");
  REQUIRE(d->members.size() == 1);
  CHECK(d->members[0].member_id == c->member_id());
  CHECK(d->leader == c->member_id());
}

TEST_CASE("every group sees every record; within a group each record goes to exactly one member", "[group]") {
  env e;
  e.topic("t", 4);
  std::map<std::string, std::multiset<std::string>> seen;  // group -> values
  std::vector<std::unique_ptr<consumer>> cs;
  std::map<consumer*, std::string> group_of;
  for (const char* g : {"g1", "g2"}) {
    for (int i = 0; i < 2; ++i) {
      cs.push_back(make_consumer(*e.b, member_config(g)));
      REQUIRE_OK(cs.back()->subscribe({"t"}));
      group_of[cs.back().get()] = g;
    }
    settle(e, g, {cs[cs.size() - 2].get(), cs.back().get()});
  }
  for (int p = 0; p < 4; ++p) e.fill("t", p, 25);
  for (int round = 0; round < 200; ++round) {
    for (auto& c : cs) {
      auto r = c->poll(0ms);
      REQUIRE_OK(r);
      for (const auto& rec : *r) seen[group_of[c.get()]].insert(std::string(rec.value));
    }
  }
  for (const char* g : {"g1", "g2"}) {
    INFO(g);
    CHECK(seen[g].size() == 100);  // no duplicates: one member per record
    CHECK(std::set<std::string>(seen[g].begin(), seen[g].end()).size() == 100);
  }
  // Within each group the two members split the partitions.
  CHECK(cs[0]->assignment().size() == 2);
  CHECK(cs[1]->assignment().size() == 2);
}

TEST_CASE("more members than partitions: the extra members sit idle, with every assignor", "[group]") {
  for (const char* strategy : {"range", "roundrobin", "sticky", "cooperative-sticky"}) {
    INFO(strategy);
    env e;
    e.topic("t", 3);
    std::vector<std::unique_ptr<consumer>> cs;
    std::vector<consumer*> raw;
    for (int i = 0; i < 5; ++i) {
      cs.push_back(make_consumer(*e.b, member_config("g", {strategy})));
      REQUIRE_OK(cs.back()->subscribe({"t"}));
      raw.push_back(cs.back().get());
    }
    settle(e, "g", raw);
    std::size_t busy = 0, total = 0;
    for (auto* c : raw) {
      busy += c->assignment().empty() ? 0 : 1;
      total += c->assignment().size();
      CHECK(c->assignment().size() <= 1);
    }
    CHECK(busy == 3);
    CHECK(total == 3);
  }
}

TEST_CASE("eager: a join revokes everything from everyone, then assigns; listeners in that order", "[group]") {
  env e;
  e.topic("t", 4);
  recorder ra, rb;
  auto a = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(a->subscribe({"t"}, &ra));
  settle(e, "g", {a.get()});
  CHECK(ra.events == std::vector<std::string>{"assigned t-0 t-1 t-2 t-3"});
  auto b = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(b->subscribe({"t"}, &rb));
  settle(e, "g", {a.get(), b.get()});
  CHECK(ra.events == std::vector<std::string>{"assigned t-0 t-1 t-2 t-3", "revoked t-0 t-1 t-2 t-3", "assigned t-0 t-1"});
  CHECK(rb.events == std::vector<std::string>{"assigned t-2 t-3"});
  CHECK(a->generation() == 2);
  // b leaves through close: a gets all back, after revoking its own (eager).
  REQUIRE_OK(b->close());
  CHECK(rb.events.back() == "revoked t-2 t-3");
  settle(e, "g", {a.get()});
  CHECK(ra.events.back() == "assigned t-0 t-1 t-2 t-3");
  CHECK(ra.events[ra.events.size() - 2] == "revoked t-0 t-1");
}

TEST_CASE("cooperative: only moved partitions are revoked, handed on by a second rebalance; never two owners",
          "[group]") {
  env e;
  e.topic("t", 6);
  ownership own;
  recorder ra, rb, rc;
  ra.tag = "a", rb.tag = "b", rc.tag = "c";
  ra.own = rb.own = rc.own = &own;
  auto a = make_consumer(*e.b, member_config("g", {"cooperative-sticky"}));
  REQUIRE_OK(a->subscribe({"t"}, &ra));
  settle(e, "g", {a.get()});
  CHECK(ra.events == std::vector<std::string>{"assigned t-0 t-1 t-2 t-3 t-4 t-5"});
  auto b = make_consumer(*e.b, member_config("g", {"cooperative-sticky"}));
  REQUIRE_OK(b->subscribe({"t"}, &rb));
  // The newcomer polls first each round, so it would take a partition
  // before its old owner revoked it if the coordinator did not withhold it.
  settle(e, "g", {b.get(), a.get()});
  // a keeps three, revokes three, and is never revoked what it keeps.
  REQUIRE(ra.events.size() >= 3);
  CHECK(ra.events[1].rfind("revoked", 0) == 0);
  CHECK(a->assignment().size() == 3);
  CHECK(b->assignment().size() == 3);
  auto d = e.groups().describe_group("g");
  REQUIRE_OK(d);
  CHECK(d->protocol == rebalance_protocol::cooperative);
  CHECK(d->generation == 3);  // the join, then the follow-up that hands the revoked three on
  auto c = make_consumer(*e.b, member_config("g", {"cooperative-sticky"}));
  REQUIRE_OK(c->subscribe({"t"}, &rc));
  settle(e, "g", {c.get(), b.get(), a.get()});
  CHECK(a->assignment().size() == 2);
  CHECK(b->assignment().size() == 2);
  CHECK(c->assignment().size() == 2);
  std::lock_guard g(own.mu);
  INFO(fmt::format("{}", fmt::join(own.violations, "; ")));
  CHECK(own.violations.empty());
  CHECK(own.owner.size() == 6);
}

TEST_CASE("unsubscribe revokes and leaves; the others rebalance at once", "[group]") {
  env e;
  e.topic("t", 2);
  recorder ra;
  auto a = make_consumer(*e.b, member_config("g"));
  auto b = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(a->subscribe({"t"}, &ra));
  REQUIRE_OK(b->subscribe({"t"}));
  settle(e, "g", {a.get(), b.get()});
  REQUIRE(a->assignment().size() == 1);
  REQUIRE_OK(a->unsubscribe());
  CHECK(ra.events.back() == "revoked t-0");
  CHECK(a->assignment().empty());
  settle(e, "g", {b.get()});
  CHECK(b->assignment() == tps("t", {0, 1}));
}

TEST_CASE("inside a listener: commit and seek work; poll, close, unsubscribe and assign are ILLEGAL_STATE",
          "[group]") {
  env e;
  e.topic("t", 2);
  e.fill("t", 0, 10);
  e.fill("t", 1, 10);
  struct probe : consumer_rebalance_listener {
    std::vector<std::string> seen;
    void on_partitions_assigned(consumer& c, const tp_vec& ps) override {
      seen.push_back(errname(c.poll(0ms)));
      seen.push_back(errname(c.close()));
      seen.push_back(errname(c.unsubscribe()));
      seen.push_back(errname(c.assign({})));
      for (const auto& tp : ps) seen.push_back(errname(c.seek(tp, offset{7})));
    }
    void on_partitions_revoked(consumer& c, const tp_vec&) override { seen.push_back(errname(c.commit_sync())); }
  } l;
  auto a = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(a->subscribe({"t"}, &l));
  std::vector<std::string> values;
  for (int i = 0; i < 5; ++i) {
    auto recs = a->poll(0ms);
    REQUIRE_OK(recs);
    for (const auto& r : *recs) values.emplace_back(r.value);
  }
  CHECK(l.seen == std::vector<std::string>{"ILLEGAL_STATE", "ILLEGAL_STATE", "ILLEGAL_STATE", "ILLEGAL_STATE",
                                           "NONE", "NONE"});
  REQUIRE(values.size() == 6);  // the listener's seek to 7 wins over auto.offset.reset
  CHECK(values.front() == "t-0-7");
  // The revoke listener's commit (before the eager rejoin) is accepted.
  auto b = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(b->subscribe({"t"}));
  settle(e, "g", {a.get(), b.get()});
  CHECK(l.seen.back() == "NONE");
  CHECK(e.groups().list_offsets("g")->at({"t", 0}).off == offset{10});
}

TEST_CASE("a join while others are still picking up the last assignment completes (no stall until the timeout)",
          "[group]") {
  for (const char* strategy : {"range", "cooperative-sticky"}) {
    INFO(strategy);
    env e;
    e.topic("t", 6);
    auto a = make_consumer(*e.b, member_config("g", {strategy}));
    auto b = make_consumer(*e.b, member_config("g", {strategy}));
    auto c = make_consumer(*e.b, member_config("g", {strategy}));
    REQUIRE_OK(a->subscribe({"t"}));
    REQUIRE_OK(a->poll(0ms));
    REQUIRE_OK(b->subscribe({"t"}));
    REQUIRE_OK(b->poll(0ms));  // round 2 opens
    REQUIRE_OK(a->poll(0ms));  // a rejoins: round 2 completes; b has not picked it up
    REQUIRE_OK(c->subscribe({"t"}));
    REQUIRE_OK(c->poll(0ms));  // round 3 opens before b took generation 2
    settle(e, "g", {a.get(), b.get(), c.get()}, 10);
    CHECK(a->assignment().size() == 2);
    CHECK(b->assignment().size() == 2);
    CHECK(c->assignment().size() == 2);
  }
}

// ---- liveness ---------------------------------------------------------------------

TEST_CASE("a member that dies is removed after session.timeout.ms, not before, and its partitions move",
          "[group]") {
  env e;
  e.topic("t", 2);
  auto cfg = member_config("g");
  cfg.session_timeout_ms = 10'000;
  cfg.heartbeat_interval_ms = 1'000;
  auto a = make_consumer(*e.b, cfg);
  auto b = make_consumer(*e.b, cfg);
  REQUIRE_OK(a->subscribe({"t"}));
  REQUIRE_OK(b->subscribe({"t"}));
  settle(e, "g", {a.get(), b.get()});
  const auto gen = b->generation();
  // a "crashes": no leave, no commit.
  REQUIRE_OK(a->close(group_membership::remain_in_group));
  e.clk.advance(10'000);
  REQUIRE_OK(e.b->tick());
  REQUIRE_OK(b->poll(0ms));
  CHECK(b->generation() == gen);  // still within the session timeout
  CHECK(e.groups().describe_group("g")->members.size() == 2);
  e.clk.advance(1'000);  // one heartbeat later
  REQUIRE_OK(e.b->tick());
  CHECK(e.groups().describe_group("g")->members.size() == 1);
  settle(e, "g", {b.get()});
  CHECK(b->assignment() == tps("t", {0, 1}));
}

TEST_CASE("max.poll.interval.ms: a member that stops polling is removed; its next poll reports lost and rejoins",
          "[group]") {
  env e;
  e.topic("t", 2);
  auto cfg = member_config("g");
  cfg.max_poll_interval_ms = 5'000;
  recorder ra;
  auto a = make_consumer(*e.b, cfg);
  auto b = make_consumer(*e.b, cfg);
  REQUIRE_OK(a->subscribe({"t"}, &ra));
  REQUIRE_OK(b->subscribe({"t"}));
  settle(e, "g", {a.get(), b.get()});
  const auto old_id = a->member_id();
  e.clk.advance(3'000);
  REQUIRE_OK(b->poll(0ms));
  e.clk.advance(3'000);  // a: 6 s without a poll; b: 3 s
  REQUIRE_OK(e.b->tick());
  auto d = e.groups().describe_group("g");
  REQUIRE(d->members.size() == 1);
  CHECK(d->members[0].member_id == b->member_id());
  settle(e, "g", {b.get()});
  CHECK(b->assignment().size() == 2);
  // a's commits are fenced now; its next poll loses its partitions and rejoins.
  CHECK(errname(a->commit_sync({{{"t", 0}, {offset{0}}}})) == "UNKNOWN_MEMBER_ID");
  settle(e, "g", {a.get(), b.get()});
  CHECK(std::find(ra.events.begin(), ra.events.end(), "lost t-0") != ra.events.end());
  CHECK(a->member_id() != old_id);
  CHECK(a->assignment().size() == 1);
}

TEST_CASE("close or unsubscribe of a member the group removed reports its partitions lost, not revoked",
          "[group]") {
  for (const bool use_close : {true, false}) {
    env e;
    e.topic("t", 2);
    auto cfg = member_config("g");
    cfg.max_poll_interval_ms = 5'000;
    recorder ra;
    auto a = make_consumer(*e.b, cfg);
    auto b = make_consumer(*e.b, cfg);
    REQUIRE_OK(a->subscribe({"t"}, &ra));
    REQUIRE_OK(b->subscribe({"t"}));
    settle(e, "g", {a.get(), b.get()});
    const auto owned = a->assignment();
    REQUIRE(owned.size() == 1);
    e.clk.advance(6'000);  // a stops polling past max.poll.interval.ms
    REQUIRE_OK(b->poll(0ms));
    REQUIRE_OK(e.b->tick());
    REQUIRE(e.groups().describe_group("g")->members.size() == 1);
    ra.events.clear();
    REQUIRE_OK(use_close ? a->close() : a->unsubscribe());
    const std::string lost = fmt::format("lost t-{}", owned[0].partition);
    INFO((use_close ? "close" : "unsubscribe"));
    CHECK(ra.events == std::vector<std::string>{lost});
  }
}

TEST_CASE("a static member that restarts within session.timeout.ms gets its partitions back with no rebalance",
          "[group]") {
  env e;
  e.topic("t", 4);
  auto cfg_a = member_config("g");
  cfg_a.group_instance_id = "worker-a";
  auto cfg_b = member_config("g");
  cfg_b.group_instance_id = "worker-b";
  auto a = make_consumer(*e.b, cfg_a);
  auto b = make_consumer(*e.b, cfg_b);
  REQUIRE_OK(a->subscribe({"t"}));
  REQUIRE_OK(b->subscribe({"t"}));
  settle(e, "g", {a.get(), b.get()});
  const auto before = a->assignment();
  const auto gen = a->generation();
  REQUIRE_OK(a->close());  // static: remains in the group
  e.clk.advance(20'000);
  REQUIRE_OK(e.b->tick());
  recorder r2;
  auto a2 = make_consumer(*e.b, cfg_a);
  REQUIRE_OK(a2->subscribe({"t"}, &r2));
  settle(e, "g", {a2.get(), b.get()});
  CHECK(a2->assignment() == before);
  CHECK(a2->generation() == gen);  // no rebalance
  CHECK(b->generation() == gen);
  CHECK(r2.events.size() == 1);
  // Away for longer than the session timeout: removed, and b takes over.
  REQUIRE_OK(a2->close());
  e.clk.advance(45'001);
  REQUIRE_OK(b->poll(0ms));
  REQUIRE_OK(e.b->tick());
  settle(e, "g", {b.get()});
  CHECK(b->assignment().size() == 4);
  CHECK(b->generation() > gen);
}

TEST_CASE("a second open consumer with the same group.instance.id gets UNRELEASED_INSTANCE_ID; the group is unchanged",
          "[group]") {
  env e;
  e.topic("t", 2);
  auto cfg = member_config("g");
  cfg.group_instance_id = "only-one";
  auto a = make_consumer(*e.b, cfg);
  REQUIRE_OK(a->subscribe({"t"}));
  settle(e, "g", {a.get()});
  auto twin = make_consumer(*e.b, cfg);
  REQUIRE_OK(twin->subscribe({"t"}));
  auto r = twin->poll(0ms);
  CHECK(errname(r) == "UNRELEASED_INSTANCE_ID");
  auto d = e.groups().describe_group("g");
  CHECK(d->members.size() == 1);
  CHECK(d->state == group_state::stable);
  CHECK(a->assignment().size() == 2);
  REQUIRE_OK(a->poll(0ms));
  CHECK(a->generation() == 1);
}

TEST_CASE("a member sharing no assignor with the group gets INCONSISTENT_GROUP_PROTOCOL", "[group]") {
  env e;
  e.topic("t", 2);
  auto a = make_consumer(*e.b, member_config("g", {"range"}));
  REQUIRE_OK(a->subscribe({"t"}));
  settle(e, "g", {a.get()});
  auto b = make_consumer(*e.b, member_config("g", {"roundrobin"}));
  REQUIRE_OK(b->subscribe({"t"}));
  CHECK(errname(b->poll(0ms)) == "INCONSISTENT_GROUP_PROTOCOL");
  CHECK(e.groups().describe_group("g")->members.size() == 1);
  // One that lists range second joins, and the group keeps range.
  auto c = make_consumer(*e.b, member_config("g", {"roundrobin", "range"}));
  REQUIRE_OK(c->subscribe({"t"}));
  settle(e, "g", {a.get(), c.get()});
  CHECK(e.groups().describe_group("g")->assignor == "range");
}

namespace {
// Gives every partition to the member whose id sorts last, plus junk: a
// duplicate, a partition that does not exist, a topic nobody subscribed
// to, and t-1 to the first member too.
struct greedy_assignor : partition_assignor {
  int calls = 0;
  std::string_view name() const noexcept override { return "greedy"; }
  group_assignment assign(const partition_counts& counts, const std::vector<member_subscription>& members) override {
    ++calls;
    group_assignment out;
    for (const auto& m : members) out[m.member_id];
    const auto& last = members.back().member_id;
    for (const auto& [t, n] : counts)
      for (std::int32_t p = 0; p < n; ++p) out[last].push_back({t, p});
    out[last].push_back({"t", 0});
    out[last].push_back({"t", 99});
    out[last].push_back({"other", 0});
    if (members.size() > 1) out[members.front().member_id].push_back({"t", 1});
    return out;
  }
};
}  // namespace

TEST_CASE("a custom assignor is used by name; what it gets wrong is dropped, each partition stays single-owned",
          "[group]") {
  env e;
  e.topic("t", 3);
  e.topic("other", 1);
  auto greedy = std::make_shared<greedy_assignor>();
  auto cfg = member_config("g", {"greedy"});
  cfg.assignors = {greedy};
  auto a = make_consumer(*e.b, cfg);
  auto b = make_consumer(*e.b, cfg);
  REQUIRE_OK(a->subscribe({"t"}));
  REQUIRE_OK(b->subscribe({"t"}));
  settle(e, "g", {a.get(), b.get()});
  CHECK(greedy->calls >= 1);
  CHECK(e.groups().describe_group("g")->assignor == "greedy");
  consumer* last = a->member_id() > b->member_id() ? a.get() : b.get();
  consumer* first = last == a.get() ? b.get() : a.get();
  // t-1 was given to both: the member first in member-id order keeps it.
  CHECK(last->assignment() == tps("t", {0, 2}));
  CHECK(first->assignment() == tps("t", {1}));
}

// ---- commits ----------------------------------------------------------------------

TEST_CASE("commit fencing: ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS and UNKNOWN_MEMBER_ID", "[group]") {
  env e;
  e.topic("t", 2);
  e.fill("t", 0, 10);
  e.fill("t", 1, 10);
  auto a = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(a->subscribe({"t"}));
  settle(e, "g", {a.get()});
  REQUIRE_OK(a->commit_sync({{{"t", 0}, {offset{3}, "a was here"}}}));
  // b joins: a round starts. a has not rejoined: its commit (generation 1)
  // is still accepted, as Kafka accepts commits while PreparingRebalance.
  auto b = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(b->subscribe({"t"}));
  REQUIRE_OK(b->poll(0ms));
  CHECK(e.groups().describe_group("g")->state == group_state::preparing_rebalance);
  REQUIRE_OK(a->commit_sync({{{"t", 0}, {offset{4}}}}));
  // b has joined the round: REBALANCE_IN_PROGRESS.
  CHECK(errname(b->commit_sync({{{"t", 1}, {offset{1}}}})) == "REBALANCE_IN_PROGRESS");
  // a rejoins, the round completes (generation 2); b has not picked its
  // generation up yet: its commit with generation 1 is ILLEGAL_GENERATION.
  REQUIRE_OK(a->poll(0ms));
  CHECK(e.groups().describe_group("g")->generation == 2);
  CHECK(errname(b->commit_sync({{{"t", 1}, {offset{1}}}})) == "ILLEGAL_GENERATION");
  settle(e, "g", {a.get(), b.get()});
  REQUIRE_OK(b->commit_sync({{b->assignment()[0], {offset{1}}}}));
  // A member holding a real, older generation: c joins (round 3), b rejoins,
  // a rejoins and takes generation 3 at once; b still has generation 2.
  {
    auto c = make_consumer(*e.b, member_config("g"));
    REQUIRE_OK(c->subscribe({"t"}));
    REQUIRE_OK(c->poll(0ms));
    REQUIRE_OK(b->poll(0ms));
    REQUIRE_OK(a->poll(0ms));
    REQUIRE(b->generation() == 2);
    REQUIRE(e.groups().describe_group("g")->generation == 3);
    CHECK(errname(b->commit_sync({{{"t", 1}, {offset{1}}}})) == "ILLEGAL_GENERATION");
    REQUIRE_OK(c->close());
    settle(e, "g", {a.get(), b.get()});
  }
  // b is removed (session timeout) and a round starts; a has not rejoined
  // it, so a's commit is still accepted.
  REQUIRE_OK(b->close(group_membership::remain_in_group));
  e.clk.advance(45'001);
  REQUIRE_OK(e.b->tick());
  CHECK(e.groups().describe_group("g")->state == group_state::preparing_rebalance);
  REQUIRE(a->assignment() == tps("t", {0}));
  REQUIRE_OK(a->commit_sync({{{"t", 0}, {offset{2}}}}));
  auto committed = e.groups().list_offsets("g");
  REQUIRE_OK(committed);
  CHECK(committed->at({"t", 0}).off == offset{2});
  CHECK(committed->at({"t", 0}).metadata.empty());
  CHECK(committed->at({"t", 1}).off == offset{1});
}

TEST_CASE("commit of a partition not owned, beyond the log end, or with huge metadata: named errors, nothing stored",
          "[group]") {
  env e;
  e.topic("t", 2);
  e.fill("t", 0, 5);
  auto a = make_consumer(*e.b, member_config("g"));
  auto b = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(a->subscribe({"t"}));
  REQUIRE_OK(b->subscribe({"t"}));
  settle(e, "g", {a.get(), b.get()});
  REQUIRE(a->assignment() == tps("t", {0}));
  CHECK(errname(a->commit_sync({{{"t", 1}, {offset{0}}}})) == "ILLEGAL_STATE");
  // All or nothing: the valid t-0 entry is not stored either.
  CHECK(errname(a->commit_sync({{{"t", 0}, {offset{2}}}, {{"t", 1}, {offset{0}}}})) == "ILLEGAL_STATE");
  CHECK(errname(a->commit_sync({{{"t", 0}, {offset{6}}}})) == "OFFSET_OUT_OF_RANGE");
  CHECK(errname(a->commit_sync({{{"t", 0}, {offset{-1}}}})) == "OFFSET_OUT_OF_RANGE");
  CHECK(errname(a->commit_sync({{{"t", 0}, {offset{1}, std::string(4097, 'm')}}})) == "OFFSET_METADATA_TOO_LARGE");
  CHECK(errname(a->commit_sync({{{"nope", 0}, {offset{0}}}})) == "ILLEGAL_STATE");
  CHECK(e.groups().describe_group("g")->partitions.size() == 2);  // owned rows only, no commits
  auto c = a->committed(tps("t", {0, 1}));
  REQUIRE_OK(c);
  CHECK(!c->at({"t", 0}));
  REQUIRE_OK(a->commit_sync({{{"t", 0}, {offset{5}}}}));  // the log end itself is fine
  CHECK(a->committed(tps("t", {0}))->at({"t", 0})->off == offset{5});
}

TEST_CASE("committed offsets survive a reopen, the last commit wins, and a new member starts there", "[group]") {
  env e;
  e.topic("t", 1);
  e.fill("t", 0, 20);
  {
    auto a = make_consumer(*e.b, member_config("g"));
    REQUIRE_OK(a->subscribe({"t"}));
    settle(e, "g", {a.get()});
    REQUIRE_OK(a->commit_sync({{{"t", 0}, {offset{5}, "first"}}}));
    REQUIRE_OK(a->commit_sync({{{"t", 0}, {offset{12}, "second"}}}));
    REQUIRE_OK(a->close());
  }
  e.reopen();
  auto offs = e.groups().list_offsets("g");
  REQUIRE_OK(offs);
  CHECK(offs->at({"t", 0}) == offset_and_metadata{offset{12}, "second"});
  auto groups = e.groups().list_groups();
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].group_id == "g");
  CHECK(groups[0].state == group_state::empty);
  auto b = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(b->subscribe({"t"}));
  std::vector<std::string> got;
  for (int i = 0; i < 20; ++i) {
    auto r = b->poll(0ms);
    REQUIRE_OK(r);
    for (const auto& rec : *r) got.emplace_back(rec.value);
  }
  REQUIRE(got.size() == 8);
  CHECK(got.front() == "t-0-12");
  // The internal topic is hidden from list_topics and cannot be written.
  CHECK(e.b->list_topics() == std::vector<std::string>{"t"});
  CHECK(e.b->list_topics(true) == std::vector<std::string>{"__consumer_offsets", "t"});
}

TEST_CASE("the internal topic refuses producers, deletion, config changes and manual creation; no retention",
          "[group]") {
  env e;
  e.topic("t", 1);
  REQUIRE_OK(e.groups().alter_offsets("g", {{{"t", 0}, {offset{0}}}}));
  // Nothing but compaction may ever remove a group's last commit.
  auto d = e.b->describe_topic("__consumer_offsets");
  REQUIRE_OK(d);
  CHECK(d->config.at("retention.ms") == "-1");
  CHECK(d->config.at("retention.bytes") == "-1");
  CHECK(d->config.at("cleanup.policy") == "compact");
  CHECK(errname(e.b->alter_topic_config("__consumer_offsets", {{"retention.ms", "1000"}})) ==
        "INVALID_TOPIC_EXCEPTION");
  CHECK(errname(e.b->delete_topic("__consumer_offsets")) == "INVALID_TOPIC_EXCEPTION");
  CHECK(errname(e.b->create_partitions("__consumer_offsets", 4)) == "INVALID_TOPIC_EXCEPTION");
  CHECK(errname(e.b->delete_records("__consumer_offsets", 0, offset{1})) == "INVALID_TOPIC_EXCEPTION");
  auto p = producer::create(*e.b, {});
  REQUIRE_OK(p);
  CHECK(errname((*p)->send({.topic = "__consumer_offsets", .partition = 0, .value = "x"})) ==
        "INVALID_TOPIC_EXCEPTION");
  REQUIRE_OK((*p)->close());
  temp_dir other;
  auto b2 = open_broker({.data_dir = other.path()});
  CHECK(errname(b2->create_topic("__consumer_offsets", 1)) == "INVALID_TOPIC_EXCEPTION");
}

TEST_CASE("auto-commit: poll commits what earlier polls returned every auto.commit.interval.ms, and close commits",
          "[group]") {
  env e;
  e.topic("t", 1);
  e.fill("t", 0, 10);
  auto cfg = member_config("g");
  cfg.enable_auto_commit = true;
  cfg.auto_commit_interval_ms = 1'000;
  cfg.max_poll_records = 4;
  auto a = make_consumer(*e.b, cfg);
  REQUIRE_OK(a->subscribe({"t"}));
  settle(e, "g", {a.get()});
  auto first = a->poll(0ms);  // 4 records (settle may have returned some)
  REQUIRE_OK(first);
  const auto pos = a->position({"t", 0});
  REQUIRE_OK(pos);
  CHECK(!a->committed(tps("t", {0}))->at({"t", 0}));
  e.clk.advance(1'000);
  REQUIRE_OK(a->poll(0ms));  // commits `pos` first, then fetches more
  CHECK(a->committed(tps("t", {0}))->at({"t", 0})->off == *pos);
  while (!a->poll(0ms)->empty()) {
  }
  REQUIRE_OK(a->close());
  CHECK(e.groups().list_offsets("g")->at({"t", 0}).off == offset{10});
}

TEST_CASE("commit_async callbacks run in commit order during the next poll", "[group]") {
  env e;
  e.topic("t", 1);
  e.fill("t", 0, 3);
  auto a = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(a->subscribe({"t"}));
  settle(e, "g", {a.get()});
  std::vector<std::string> calls;
  a->commit_async({{{"t", 0}, {offset{1}}}},
                  [&](const auto& o, const status& s) { calls.push_back(fmt::format("{}:{}", o.begin()->second.off.value(), errname(s))); });
  a->commit_async({{{"t", 0}, {offset{9}}}},
                  [&](const auto& o, const status& s) { calls.push_back(fmt::format("{}:{}", o.begin()->second.off.value(), errname(s))); });
  CHECK(calls.empty());
  REQUIRE_OK(a->poll(0ms));
  CHECK(calls == std::vector<std::string>{"1:NONE", "9:OFFSET_OUT_OF_RANGE"});
  CHECK(a->committed(tps("t", {0}))->at({"t", 0})->off == offset{1});
}

// ---- topic changes ------------------------------------------------------------------

TEST_CASE("subscribe by pattern: a new matching topic triggers a rebalance and is assigned", "[group]") {
  env e;
  e.topic("events-a", 1);
  e.topic("other", 1);
  auto c = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(c->subscribe_pattern("events-.*"));
  settle(e, "g", {c.get()});
  CHECK(c->assignment() == tps("events-a", {0}));
  CHECK(c->subscription() == std::vector<std::string>{"events-a"});
  const auto gen = c->generation();
  e.topic("events-b", 2);
  settle(e, "g", {c.get()});
  CHECK(c->generation() == gen + 1);
  CHECK(c->assignment() == tp_vec{{"events-a", 0}, {"events-b", 0}, {"events-b", 1}});
  // Committing makes __consumer_offsets exist; the pattern ignores it.
  REQUIRE_OK(c->commit_sync());
  REQUIRE_OK(c->subscribe_pattern(".*"));
  settle(e, "g", {c.get()});
  CHECK(c->assignment().size() == 4);  // events-a, events-b x2, other
}

TEST_CASE("partitions added to a subscribed topic trigger a rebalance", "[group]") {
  env e;
  e.topic("t", 2);
  auto a = make_consumer(*e.b, member_config("g"));
  auto b = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(a->subscribe({"t"}));
  REQUIRE_OK(b->subscribe({"t"}));
  settle(e, "g", {a.get(), b.get()});
  const auto gen = a->generation();
  REQUIRE_OK(e.b->create_partitions("t", 6));
  settle(e, "g", {a.get(), b.get()});
  CHECK(a->generation() > gen);
  CHECK(a->assignment().size() == 3);
  CHECK(b->assignment().size() == 3);
}

TEST_CASE("deleting a topic drops the groups' committed offsets for it", "[group]") {
  env e;
  e.topic("t", 1);
  e.topic("keep", 1);
  e.fill("t", 0, 3);
  REQUIRE_OK(e.groups().alter_offsets("g", {{{"t", 0}, {offset{2}}}, {{"keep", 0}, {offset{0}}}}));
  REQUIRE_OK(e.b->delete_topic("t"));
  CHECK(e.groups().list_offsets("g")->count({"t", 0}) == 0);
  e.reopen();
  auto offs = e.groups().list_offsets("g");
  REQUIRE_OK(offs);
  CHECK(offs->size() == 1);
  CHECK(offs->count({"keep", 0}) == 1);
}

TEST_CASE("commit_sync() after a subscribed topic is deleted still commits the other topics' positions", "[group]") {
  env e;
  e.topic("t1", 1);
  e.topic("t2", 1);
  e.fill("t1", 0, 10);
  auto a = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(a->subscribe({"t1", "t2"}));
  settle(e, "g", {a.get()});
  while (!a->poll(0ms)->empty()) {
  }
  REQUIRE_OK(e.b->delete_topic("t2"));
  REQUIRE_OK(a->commit_sync());
  CHECK(e.groups().list_offsets("g")->at({"t1", 0}).off == offset{10});
  settle(e, "g", {a.get()});
  CHECK(a->assignment() == tps("t1", {0}));
}

TEST_CASE("power loss: a durable commit survives; a deleted topic's offsets do not come back", "[group][power]") {
  temp_dir d;
  io::fault_fs ffs;
  const broker_options o{.data_dir = d.sub("data"), .background_maintenance = false};
  {
    auto b = open_broker(o, ffs);
    REQUIRE_OK(b->create_topic("t", 1));
    REQUIRE_OK(b->create_topic("gone", 1));
    auto pr = producer::create(*b, {.acks = ack::all, .linger_ms = 0});
    REQUIRE_OK(pr);
    for (int i = 0; i < 10; ++i) {
      REQUIRE_OK((*pr)->send_future({.topic = "t", .partition = 0, .value = "v"}).get());
      REQUIRE_OK((*pr)->send_future({.topic = "gone", .partition = 0, .value = "v"}).get());
    }
    REQUIRE_OK((*pr)->close());
    auto c = make_consumer(*b, member_config("g"));
    REQUIRE_OK(c->subscribe({"t", "gone"}));
    REQUIRE_OK(c->poll(0ms));
    REQUIRE_OK(c->commit_sync({{{"t", 0}, {offset{7}}}, {{"gone", 0}, {offset{10}}}}));
    REQUIRE_OK(c->commit_sync({{{"t", 0}, {offset{8}}}}));
    REQUIRE_OK(b->delete_topic("gone"));
    ffs.crash();
    REQUIRE_OK(c->close(group_membership::remain_in_group));
  }
  REQUIRE_OK(ffs.reboot());
  auto b = open_broker(o, ffs);
  auto offs = b->groups().list_offsets("g");
  REQUIRE_OK(offs);
  CHECK(*offs == std::map<topic_partition, offset_and_metadata>{{{"t", 0}, {offset{8}}}});
  // A topic created again under the deleted name starts from scratch.
  REQUIRE_OK(b->create_topic("gone", 1));
  CHECK(b->groups().list_offsets("g")->count({"gone", 0}) == 0);
}

TEST_CASE("with the broker closed, a member's poll fails with ILLEGAL_STATE instead of rebalancing", "[group]") {
  env e;
  e.topic("t", 2);
  recorder r;
  auto a = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(a->subscribe({"t"}, &r));
  settle(e, "g", {a.get()});
  const auto events = r.events;
  REQUIRE_OK(e.b->close());
  CHECK(errname(a->poll(0ms)) == "ILLEGAL_STATE");
  CHECK(r.events == events);
  CHECK(errname(consumer::create(*e.b, member_config("g"))) == "ILLEGAL_STATE");
}

TEST_CASE("tick-driven mode: a round waiting for a dead member completes as the others poll, with no tick",
          "[group]") {
  env e;
  e.topic("t", 2);
  auto cfg = member_config("g");
  cfg.session_timeout_ms = 1'000;
  cfg.heartbeat_interval_ms = 100;
  auto a = make_consumer(*e.b, cfg);
  auto b = make_consumer(*e.b, cfg);
  REQUIRE_OK(a->subscribe({"t"}));
  REQUIRE_OK(b->subscribe({"t"}));
  settle(e, "g", {a.get(), b.get()});
  REQUIRE_OK(a->close(group_membership::remain_in_group));
  auto c = make_consumer(*e.b, cfg);
  REQUIRE_OK(c->subscribe({"t"}));
  for (int i = 0; i < 3; ++i) {
    REQUIRE_OK(b->poll(0ms));
    REQUIRE_OK(c->poll(0ms));
  }
  CHECK(e.groups().describe_group("g")->state == group_state::preparing_rebalance);
  e.clk.advance(1'001);
  settle(e, "g", {b.get(), c.get()});  // no e.b->tick() anywhere
  CHECK(b->assignment().size() == 1);
  CHECK(c->assignment().size() == 1);
}

// ---- admin ------------------------------------------------------------------------

TEST_CASE("describe_group: members, assignment, committed offsets and lag per partition", "[group]") {
  env e;
  e.topic("t", 2);
  e.fill("t", 0, 10);
  e.fill("t", 1, 4);
  auto cfg = member_config("g");
  cfg.client_id = "svc";
  auto a = make_consumer(*e.b, cfg);
  REQUIRE_OK(a->subscribe({"t"}));
  settle(e, "g", {a.get()});
  REQUIRE_OK(a->commit_sync({{{"t", 0}, {offset{7}, "m"}}}));
  auto d = e.groups().describe_group("g");
  REQUIRE_OK(d);
  REQUIRE(d->members.size() == 1);
  CHECK(d->members[0].client_id == "svc");
  CHECK(d->members[0].member_id.rfind("svc-", 0) == 0);
  CHECK(d->members[0].assignment == tps("t", {0, 1}));
  REQUIRE(d->partitions.size() == 2);
  CHECK(d->partitions[0].tp == topic_partition{"t", 0});
  CHECK(d->partitions[0].committed == offset_and_metadata{offset{7}, "m"});
  CHECK(d->partitions[0].log_end == offset{10});
  CHECK(d->partitions[0].lag == 3);
  CHECK(d->partitions[0].owner == a->member_id());
  CHECK(d->partitions[1].log_end == offset{4});
  CHECK(!d->partitions[1].lag);  // nothing committed
  CHECK(errname(e.groups().describe_group("nope")) == "GROUP_ID_NOT_FOUND");
}

TEST_CASE("reset_offsets: earliest, latest, an offset, a timestamp, shift-by; dry run; only while empty", "[group]") {
  env e;
  e.topic("t", 1);
  {
    auto pr = producer::create(*e.b, {.linger_ms = 0});
    REQUIRE_OK(pr);
    for (int i = 0; i < 10; ++i)
      REQUIRE_OK((*pr)->send({.topic = "t", .partition = 0, .ts = timestamp{1000 + 100 * i}, .value = "v"}));
    REQUIRE_OK((*pr)->close());
  }
  const tp_vec p0 = tps("t", {0});
  REQUIRE_OK(e.groups().alter_offsets("g", {{{"t", 0}, {offset{5}}}}));
  auto at = [&](offset_spec s, bool dry = false) {
    auto r = e.groups().reset_offsets("g", p0, s, dry);
    REQUIRE_OK(r);
    return r->at({"t", 0}).value();
  };
  CHECK(at(offset_spec::earliest()) == 0);
  CHECK(at(offset_spec::latest()) == 10);
  CHECK(at(offset_spec::to(offset{3})) == 3);
  CHECK(at(offset_spec::to(offset{99})) == 10);  // clamped into the log
  CHECK(at(offset_spec::at_time(timestamp{1450})) == 5);
  CHECK(at(offset_spec::at_time(timestamp{99999})) == 10);
  CHECK(at(offset_spec::shift(-2)) == 8);
  CHECK(at(offset_spec::shift(-100), true) == 0);
  CHECK(e.groups().list_offsets("g")->at({"t", 0}).off == offset{8});  // the dry run changed nothing
  // All partitions with commits, when none are named.
  auto all = e.groups().reset_offsets("g", {}, offset_spec::earliest());
  REQUIRE_OK(all);
  CHECK(all->size() == 1);
  // Not while the group has members.
  auto c = make_consumer(*e.b, member_config("g"));
  REQUIRE_OK(c->subscribe({"t"}));
  REQUIRE_OK(c->poll(0ms));
  CHECK(errname(e.groups().reset_offsets("g", p0, offset_spec::latest())) == "NON_EMPTY_GROUP");
  CHECK(errname(e.groups().alter_offsets("g", {{{"t", 0}, {offset{1}}}})) == "NON_EMPTY_GROUP");
  CHECK(errname(e.groups().delete_group("g")) == "NON_EMPTY_GROUP");
  CHECK(e.groups().list_offsets("g")->at({"t", 0}).off == offset{0});
  CHECK(errname(e.groups().reset_offsets("nope", {}, offset_spec::latest())) == "GROUP_ID_NOT_FOUND");
}

TEST_CASE("delete_group removes an empty group and its offsets, also across a reopen", "[group]") {
  env e;
  e.topic("t", 1);
  REQUIRE_OK(e.groups().alter_offsets("gone", {{{"t", 0}, {offset{0}}}}));
  REQUIRE_OK(e.groups().alter_offsets("kept", {{{"t", 0}, {offset{0}}}}));
  REQUIRE_OK(e.groups().delete_group("gone"));
  CHECK(errname(e.groups().delete_group("gone")) == "GROUP_ID_NOT_FOUND");
  CHECK(errname(e.groups().list_offsets("gone")) == "GROUP_ID_NOT_FOUND");
  e.reopen();
  auto l = e.groups().list_groups();
  REQUIRE(l.size() == 1);
  CHECK(l[0].group_id == "kept");
}

}  // namespace franz

// ---- at least once --------------------------------------------------------------

namespace franz {
namespace {

// One member of the kill test: polls, "processes" (records each delivery),
// then commits. Killed, it stops between processing and committing and
// closes without leaving, as a crashed process would.
struct worker {
  std::string tag;
  std::unique_ptr<consumer> c;
  std::atomic<bool> kill{false}, stop{false};
  std::thread th;
  struct listener : consumer_rebalance_listener {
    worker* w = nullptr;
    void on_partitions_assigned(consumer& c, const tp_vec& ps) override { w->assigned(c, ps); }
    void on_partitions_revoked(consumer&, const tp_vec& ps) override { w->released(ps); }
  } l;
  // Shared with the test (under mu).
  struct shared {
    std::mutex mu;
    ownership own;
    std::set<std::pair<std::int32_t, std::int64_t>> delivered;
    std::size_t deliveries = 0;
    std::vector<std::string> violations;
    std::int64_t next_epoch = 0;
  }* sh = nullptr;
  // This member's view: the next offset each epoch must deliver.
  std::map<std::int32_t, std::int64_t> expect;

  void assigned(consumer& c, const tp_vec& ps) {
    auto committed = c.committed(ps);
    std::lock_guard g(sh->mu);
    for (const auto& tp : ps) {
      std::int64_t start = 0;
      if (committed && committed->at(tp)) start = committed->at(tp)->off.value();
      expect[tp.partition] = start;
      auto it = sh->own.owner.find(tp);
      if (it != sh->own.owner.end())
        sh->violations.push_back(fmt::format("{} given to {} while {} owns it", tp.partition, tag, it->second));
      sh->own.owner[tp] = tag;
    }
  }
  void released(const tp_vec& ps) {
    std::lock_guard g(sh->mu);
    for (const auto& tp : ps) {
      expect.erase(tp.partition);
      auto it = sh->own.owner.find(tp);
      if (it != sh->own.owner.end() && it->second == tag) sh->own.owner.erase(it);
    }
  }
  void run() {
    while (!stop.load()) {
      auto recs = c->poll(20ms);
      if (!recs) {
        std::lock_guard g(sh->mu);
        sh->violations.push_back(tag + " poll: " + recs.error().to_string());
        return;
      }
      {
        std::lock_guard g(sh->mu);
        for (const auto& r : *recs) {
          ++sh->deliveries;
          sh->delivered.insert({r.partition, r.off.value()});
          auto e = expect.find(r.partition);
          if (e == expect.end()) {
            sh->violations.push_back(fmt::format("{} got {}-{} without owning it", tag, r.partition, r.off.value()));
          } else if (e->second != r.off.value()) {
            // Within one ownership, delivery is dense from the last commit.
            sh->violations.push_back(fmt::format("{} got {}-{}, expected offset {}", tag, r.partition, r.off.value(),
                                                 e->second));
            e->second = r.off.value() + 1;
          } else {
            ++e->second;
          }
        }
      }
      if (!recs->empty()) std::this_thread::sleep_for(1ms);  // processing
      if (kill.load()) {
        (void)c->close(group_membership::remain_in_group);
        return;
      }
      auto s = c->commit_sync();
      if (!s.ok() && s.code() != errc::rebalance_in_progress && s.code() != errc::illegal_generation &&
          s.code() != errc::unknown_member_id) {
        std::lock_guard g(sh->mu);
        sh->violations.push_back(tag + " commit: " + s.error().to_string());
      }
    }
    (void)c->close();
  }
};

void at_least_once_under_kills(const char* strategy) {
  temp_dir dir;
  auto b = open_broker({.data_dir = dir.path(), .maintenance_interval_ms = 10});
  constexpr int partitions = 6, kills_wanted = 8;
  REQUIRE_OK(b->create_topic("t", partitions));
  // Records keep arriving while members die.
  std::atomic<bool> producing{true};
  std::atomic<bool> produce_failed{false};
  std::thread feeder([&] {
    auto pr = producer::create(*b, {.linger_ms = 0});
    if (!pr) {
      produce_failed = true;
      return;
    }
    for (int i = 0; producing.load(); ++i) {
      if (!(*pr)->send({.topic = "t", .partition = i % partitions, .value = "v"}).ok()) produce_failed = true;
      if (i % 8 == 7) std::this_thread::sleep_for(1ms);
    }
    if (!(*pr)->close().ok()) produce_failed = true;
  });
  worker::shared sh;
  auto cfg = member_config("g", {strategy});
  cfg.session_timeout_ms = 200;
  cfg.heartbeat_interval_ms = 50;
  cfg.max_poll_records = 5;
  cfg.commit_sync_durable = false;
  std::vector<std::unique_ptr<worker>> ws(4);
  int started = 0;
  auto start = [&](std::size_t i) {
    auto w = std::make_unique<worker>();
    w->tag = fmt::format("w{}", started++);
    w->sh = &sh;
    w->l.w = w.get();
    w->c = make_consumer(*b, cfg);
    REQUIRE_OK(w->c->subscribe({"t"}, &w->l));
    w->th = std::thread([p = w.get()] { p->run(); });
    ws[i] = std::move(w);
  };
  for (std::size_t i = 0; i < ws.size(); ++i) start(i);
  std::mt19937 rng(42);
  for (int kills = 0; kills < kills_wanted; ++kills) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 200));
    const std::size_t victim = rng() % ws.size();
    ws[victim]->kill = true;
    ws[victim]->th.join();
    {
      // A dead member owns nothing from the moment it dies.
      std::lock_guard g(sh.mu);
      std::erase_if(sh.own.owner, [&](const auto& kv) { return kv.second == ws[victim]->tag; });
    }
    ws[victim].reset();
    start(victim);
  }
  producing = false;
  feeder.join();
  REQUIRE_FALSE(produce_failed.load());
  std::size_t total = 0;
  auto described = b->describe_topic("t");
  REQUIRE_OK(described);
  for (const auto& p : described->partitions) total += static_cast<std::size_t>(p.log_end.value());
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  for (;;) {
    {
      std::lock_guard g(sh.mu);
      if (sh.delivered.size() >= total || !sh.violations.empty()) break;
    }
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(10ms);
  }
  for (auto& w : ws) w->stop = true;
  for (auto& w : ws) w->th.join();
  std::lock_guard g(sh.mu);
  INFO(fmt::format("{} deliveries of {} records", sh.deliveries, total));
  INFO(fmt::format("{}", fmt::join(sh.violations.begin(),
                                   sh.violations.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(10, sh.violations.size())),
                                   "\n")));
  CHECK(sh.violations.empty());
  CHECK(total > 1000);
  CHECK(sh.delivered.size() == total);  // nothing lost
  // Only a killed member's last poll was processed without a commit: at
  // most max.poll.records per kill come again.
  CHECK(sh.deliveries > total);
  CHECK(sh.deliveries - total <= std::size_t{kills_wanted} * 5);
}

}  // namespace

TEST_CASE("at least once: killing random members loses nothing; redelivery only from the last commit (eager)",
          "[group][kill]") {
  at_least_once_under_kills("range");
}

TEST_CASE("at least once: killing random members loses nothing; redelivery only from the last commit (cooperative)",
          "[group][kill]") {
  at_least_once_under_kills("cooperative-sticky");
}

}  // namespace franz
