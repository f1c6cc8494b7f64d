// franz — the group coordinator: membership, rebalances, committed offsets.
// The state machine is described in doc/groups.md.
#include "franz/messaging/group_coordinator.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "franz/format/offsets_record.hpp"
#include "franz/format/record_batch.hpp"
#include "franz/messaging/consumer.hpp"

namespace franz {

std::string_view group_state_name(group_state s) noexcept {
  switch (s) {
    case group_state::empty: return "Empty";
    case group_state::preparing_rebalance: return "PreparingRebalance";
    case group_state::completing_rebalance: return "CompletingRebalance";
    case group_state::stable: return "Stable";
    case group_state::dead: return "Dead";
  }
  return "Unknown";
}

namespace {

using tp_list = std::vector<topic_partition>;

struct member {
  std::shared_ptr<detail::member_state> ms;
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::vector<std::string> list;         // a list subscription, or
  std::optional<std::regex> pattern;     // a pattern
  std::vector<std::string> topics;       // resolved, sorted
  std::vector<std::shared_ptr<partition_assignor>> assignors;
  rebalance_protocol protocol = rebalance_protocol::eager;
  std::int64_t session_timeout_ms = 0;
  std::int64_t rebalance_timeout_ms = 0;
  std::int32_t joined_round = -1;   // the round it last joined
  tp_list owned;                    // what it holds (acknowledged)
  tp_list previous;                 // what it held when it joined
  std::int32_t previous_generation = -1;
  std::int32_t generation = -1;         // last acknowledged generation
  std::int32_t target_generation = -1;  // generation of `target`
  tp_list target;                       // its assignment in target_generation
  bool open = true;                     // its consumer is open (heartbeating)
  std::int64_t closed_at_ms = 0;
  std::uint64_t order = 0;  // join order (the leader is the oldest)
};

bool contains(const tp_list& l, const topic_partition& tp) { return std::binary_search(l.begin(), l.end(), tp); }

}  // namespace

struct group_coordinator::group {
  std::string id;
  group_state state = group_state::empty;
  std::int32_t generation = 0;
  std::int32_t round = 0;
  std::string assignor;
  rebalance_protocol protocol = rebalance_protocol::eager;
  std::string leader;
  std::map<std::string, member> members;
  std::map<topic_partition, offset_and_metadata> offsets;
  std::int64_t rebalance_deadline_ms = 0;
  // The topics as of the last assignment: topic -> (id, partitions).
  std::map<std::string, std::pair<std::uint64_t, std::int32_t>> seen_topics;
  bool follow_up = false;  // cooperative: partitions were withheld
  std::uint64_t metadata_version = 0;
};

// The coordinator's internals, kept out of the header: every function runs
// with mu_ held.
namespace {

struct ops {
  broker& b;

  std::int64_t now() const { return b.clk().now_ms(); }

  static void poke(member& m) {
    m.ms->epoch.fetch_add(1, std::memory_order_acq_rel);
    if (m.ms->w != nullptr) m.ms->w->signal();
  }
  static void poke_all(group_coordinator::group& g) {
    for (auto& [id, m] : g.members) poke(m);
  }

  // The topics a member subscribes to that exist, sorted.
  std::vector<std::string> resolve(const member& m) const {
    std::vector<std::string> out;
    if (m.pattern) {
      for (auto& t : b.list_topics())
        if (std::regex_match(t, *m.pattern)) out.push_back(t);
    } else {
      for (const auto& t : m.list)
        if (b.find_topic(t).ok()) out.push_back(t);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  void prepare_rebalance(group_coordinator::group& g) {
    if (g.members.empty()) {
      g.state = group_state::empty;
      return;
    }
    if (g.state == group_state::preparing_rebalance) return;
    g.state = group_state::preparing_rebalance;
    ++g.round;
    std::int64_t timeout = 0;
    for (auto& [id, m] : g.members) timeout = std::max(timeout, m.rebalance_timeout_ms);
    g.rebalance_deadline_ms = now() + timeout;
    poke_all(g);
  }

  // The first of the leader's assignors that every member has.
  static std::shared_ptr<partition_assignor> common_assignor(const group_coordinator::group& g, const member* extra) {
    const member* leader = extra;
    for (auto& [id, m] : g.members)
      if (leader == nullptr || m.order < leader->order) leader = &m;
    if (leader == nullptr) return nullptr;
    for (const auto& a : leader->assignors) {
      auto has = [&](const member& m) {
        return std::any_of(m.assignors.begin(), m.assignors.end(),
                           [&](const auto& x) { return x->name() == a->name(); });
      };
      bool all = extra == nullptr || has(*extra);
      for (auto& [id, m] : g.members) all = all && has(m);
      if (all) return a;
    }
    return nullptr;
  }

  void complete(group_coordinator::group& g) {
    if (g.members.empty()) {
      g.state = group_state::empty;
      ++g.generation;
      g.assignor.clear();
      g.leader.clear();
      return;
    }
    const member* leader = nullptr;
    for (auto& [id, m] : g.members)
      if (leader == nullptr || m.order < leader->order) leader = &m;
    g.leader = leader->id;
    auto assignor = common_assignor(g, nullptr);  // joins keep a common one
    bool cooperative = assignor != nullptr;
    if (assignor) {
      auto sp = assignor->supported_protocols();
      cooperative = std::find(sp.begin(), sp.end(), rebalance_protocol::cooperative) != sp.end();
    }
    for (auto& [id, m] : g.members) cooperative = cooperative && m.protocol == rebalance_protocol::cooperative;
    g.protocol = cooperative ? rebalance_protocol::cooperative : rebalance_protocol::eager;
    g.assignor = assignor ? std::string(assignor->name()) : std::string();

    partition_counts counts;
    g.seen_topics.clear();
    std::vector<member_subscription> subs;
    for (auto& [id, m] : g.members) {
      m.topics = resolve(m);
      for (const auto& t : m.topics) {
        if (counts.count(t)) continue;
        auto st = b.find_topic(t);
        if (!st) continue;
        counts[t] = static_cast<std::int32_t>((*st)->partitions.size());
        g.seen_topics[t] = {(*st)->topic_id, counts[t]};
      }
      subs.push_back({m.id, m.instance_id, m.topics, m.previous, m.previous_generation});
    }
    group_assignment out;
    if (assignor) out = assignor->assign(counts, subs);

    // Trust nothing: each partition once, to a member subscribed to it.
    std::set<topic_partition> given;
    for (auto& [id, m] : g.members) {
      m.target.clear();
      auto it = out.find(id);
      if (it == out.end()) continue;
      for (const auto& tp : it->second) {
        auto c = counts.find(tp.topic);
        if (c == counts.end() || tp.partition < 0 || tp.partition >= c->second) continue;
        if (!std::binary_search(m.topics.begin(), m.topics.end(), tp.topic)) continue;
        if (!given.insert(tp).second) continue;
        m.target.push_back(tp);
      }
      std::sort(m.target.begin(), m.target.end());
    }
    // A partition still held by another member is withheld from its new
    // owner until the holder has revoked it; a second rebalance hands it on.
    g.follow_up = false;
    for (auto& kv : g.members) {
      const std::string& id = kv.first;
      std::erase_if(kv.second.target, [&](const topic_partition& tp) {
        for (auto& [oid, o] : g.members)
          if (oid != id && contains(o.owned, tp)) return g.follow_up = true;
        return false;
      });
    }
    ++g.generation;
    for (auto& [id, m] : g.members) m.target_generation = g.generation;
    g.state = group_state::completing_rebalance;
    poke_all(g);
  }

  void maybe_complete(group_coordinator::group& g) {
    if (g.state != group_state::preparing_rebalance) return;
    for (auto& [id, m] : g.members)
      if (m.joined_round != g.round) return;
    complete(g);
  }

  // Removes a member; a rebalance follows if others remain.
  void remove(group_coordinator::group& g, const std::string& id, std::optional<error> why) {
    auto it = g.members.find(id);
    if (it == g.members.end()) return;
    it->second.ms->fenced = std::move(why);
    if (!it->second.ms->fenced)
      it->second.ms->fenced = make_error(errc::unknown_member_id, fmt::format("member {} left group {}", id, g.id));
    poke(it->second);
    it->second.ms->w = nullptr;
    g.members.erase(it);
    if (g.members.empty()) {
      complete(g);  // to Empty, with a new generation
      return;
    }
    prepare_rebalance(g);
    maybe_complete(g);
  }

  // Members whose heartbeats stopped, or that missed a rebalance.
  void expire(group_coordinator::group& g) {
    const std::int64_t t = now();
    std::vector<std::pair<std::string, std::string>> dead;
    for (auto& [id, m] : g.members) {
      const std::int64_t last_poll = m.ms->last_poll_ms.load(std::memory_order_acquire);
      if (!m.open) {
        if (t - m.closed_at_ms > m.session_timeout_ms)
          dead.emplace_back(id, fmt::format("session.timeout.ms ({} ms) passed without a heartbeat", m.session_timeout_ms));
      } else if (!m.instance_id) {
        if (t - last_poll > m.rebalance_timeout_ms)
          dead.emplace_back(id, fmt::format("max.poll.interval.ms ({} ms) passed without a poll", m.rebalance_timeout_ms));
      } else if (t - last_poll > m.rebalance_timeout_ms + m.session_timeout_ms) {
        dead.emplace_back(id, fmt::format("static member: no poll for max.poll.interval.ms + session.timeout.ms ({} ms)",
                                          m.rebalance_timeout_ms + m.session_timeout_ms));
      }
    }
    if (g.state == group_state::preparing_rebalance && t > g.rebalance_deadline_ms) {
      for (auto& [id, m] : g.members)
        if (m.joined_round != g.round) dead.emplace_back(id, "did not rejoin within the rebalance timeout (max.poll.interval.ms)");
    }
    for (auto& [id, why] : dead)
      remove(g, id, make_error(errc::unknown_member_id, fmt::format("member {} of group {} was removed: {}", id, g.id, why)));
  }

  // A rebalance when the subscribed topics changed since the last one.
  void check_metadata(group_coordinator::group& g) {
    if (b.closed()) return;  // every topic looks gone; members get ILLEGAL_STATE
    const std::uint64_t v = b.metadata_version();
    if (v == g.metadata_version) return;
    g.metadata_version = v;
    if (g.members.empty() || g.state == group_state::preparing_rebalance) return;
    bool changed = false;
    std::set<std::string> all;
    for (auto& [id, m] : g.members) {
      auto now_topics = resolve(m);
      changed = changed || now_topics != m.topics;
      all.insert(now_topics.begin(), now_topics.end());
    }
    if (!changed) {
      for (const auto& t : all) {
        auto st = b.find_topic(t);
        auto seen = g.seen_topics.find(t);
        if (!st || seen == g.seen_topics.end() || seen->second.first != (*st)->topic_id ||
            seen->second.second != static_cast<std::int32_t>((*st)->partitions.size()))
          changed = true;
      }
      for (const auto& [t, seen] : g.seen_topics) changed = changed || !all.count(t);
    }
    if (changed) prepare_rebalance(g);
  }

  // Checks offsets against the topics: UNKNOWN_TOPIC_OR_PARTITION,
  // OFFSET_OUT_OF_RANGE, OFFSET_METADATA_TOO_LARGE.
  status validate(const std::map<topic_partition, offset_and_metadata>& offsets) const {
    for (const auto& [tp, om] : offsets) {
      if (tp.topic == offsets_topic)
        return make_error(errc::invalid_topic_exception, "offsets of the internal topic cannot be committed");
      FRANZ_ASSIGN_OR_RETURN(auto part, b.find_partition(tp.topic, tp.partition));
      const auto end = part->log().log_end_offset();
      if (om.off.value() < 0 || om.off > end)
        return make_error(errc::offset_out_of_range,
                          fmt::format("{}-{}: offset {} is outside [0, {}] (the log end)", tp.topic, tp.partition,
                                      om.off.value(), end.value()));
      if (om.metadata.size() > format::max_offset_metadata)
        return make_error(errc::offset_metadata_too_large,
                          fmt::format("{}-{}: metadata of {} bytes exceeds offset.metadata.max.bytes ({})", tp.topic,
                                      tp.partition, om.metadata.size(), format::max_offset_metadata));
    }
    return {};
  }

  // Appends one record per entry (nullopt: a tombstone) as one batch, so a
  // commit is all or nothing. Returns the partition and the end offset to
  // flush to.
  result<std::pair<std::shared_ptr<detail::partition>, offset>> write(
      const std::shared_ptr<detail::partition>& part, std::string_view group_id,
      const std::map<topic_partition, std::optional<offset_and_metadata>>& entries) {
    if (entries.empty()) return std::pair{part, part->log().log_end_offset()};
    const std::int64_t t = now();
    std::vector<std::string> keys, values;
    std::vector<record> recs;
    keys.reserve(entries.size());
    values.reserve(entries.size());
    for (const auto& [tp, om] : entries) {
      keys.push_back(format::encode_offset_key({std::string(group_id), tp.topic, tp.partition}));
      if (om) values.push_back(format::encode_offset_value({om->off.value(), t, om->metadata}));
      recs.push_back(record{.key = keys.back(), .value = om ? bytes_view(values.back()) : null_bytes, .ts = timestamp{t}});
    }
    const auto times = format::times_of(recs, t);
    std::vector<std::byte> buf(format::batch_header_size + format::records_size(recs, times));
    const std::size_t n = format::encode_batch(buf.data(), recs, times, {});
    FRANZ_ASSIGN_OR_RETURN(auto info, part->append(std::span(buf.data(), n), batch_check::header_only));
    return std::pair{part, offset{info.last_offset.value() + 1}};
  }
};

}  // namespace

group_coordinator::group_coordinator(broker& b) : broker_(&b) {}
group_coordinator::~group_coordinator() = default;

result<std::shared_ptr<detail::partition>> group_coordinator::offsets_partition() {
  auto t = broker_->find_topic(offsets_topic);
  if (!t && t.code() == errc::unknown_topic_or_partition) {
    FRANZ_TRY(broker_->create_internal_topic(offsets_topic));
    t = broker_->find_topic(offsets_topic);
  }
  if (!t) return std::move(t).error();
  return (*t)->partitions.at(0);
}

namespace {
status check_group_id(std::string_view id) {
  if (id.empty()) return make_error(errc::invalid_group_id, "group.id is empty");
  if (id.size() > format::max_group_id_size)
    return make_error(errc::invalid_group_id, fmt::format("group.id of {} bytes is too long", id.size()));
  return {};
}
}  // namespace

// ---- admin --------------------------------------------------------------------

std::vector<group_listing> group_coordinator::list_groups() const {
  std::lock_guard l(mu_);
  std::vector<group_listing> out;
  for (const auto& [id, g] : groups_) out.push_back({id, g->state});
  return out;
}

result<group_description> group_coordinator::describe_group(std::string_view group_id) const {
  FRANZ_TRY(check_group_id(group_id));
  std::lock_guard l(mu_);
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return make_error(errc::group_id_not_found, fmt::format("no group '{}'", group_id));
  const group& g = *it->second;
  group_description d{g.id, g.state, g.assignor, g.protocol, g.generation, g.leader};
  std::map<topic_partition, partition_lag> rows;
  for (const auto& [id, m] : g.members) {
    const tp_list& a = m.target_generation == g.generation ? m.target : m.owned;
    d.members.push_back({m.id, m.instance_id, m.client_id, a});
    for (const auto& tp : a) rows[tp].owner = m.id;
  }
  for (const auto& [tp, om] : g.offsets) rows[tp].committed = om;
  for (auto& [tp, row] : rows) {
    row.tp = tp;
    if (auto part = broker_->find_partition(tp.topic, tp.partition)) row.log_end = (*part)->log().log_end_offset();
    if (row.committed) row.lag = std::max<std::int64_t>(0, row.log_end.value() - row.committed->off.value());
    d.partitions.push_back(std::move(row));
  }
  return d;
}

result<std::map<topic_partition, offset_and_metadata>> group_coordinator::list_offsets(std::string_view group_id) const {
  FRANZ_TRY(check_group_id(group_id));
  std::lock_guard l(mu_);
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return make_error(errc::group_id_not_found, fmt::format("no group '{}'", group_id));
  return it->second->offsets;
}

status group_coordinator::alter_offsets(std::string_view group_id,
                                        const std::map<topic_partition, offset_and_metadata>& offsets) {
  FRANZ_TRY(check_group_id(group_id));
  std::lock_guard l(mu_);
  ops o{*broker_};
  auto it = groups_.find(group_id);
  if (it != groups_.end() && !it->second->members.empty())
    return make_error(errc::non_empty_group,
                      fmt::format("group '{}' has {} member(s); offsets can be altered only while it is empty",
                                  group_id, it->second->members.size()));
  FRANZ_TRY(o.validate(offsets));
  std::map<topic_partition, std::optional<offset_and_metadata>> entries(offsets.begin(), offsets.end());
  FRANZ_ASSIGN_OR_RETURN(auto part, offsets_partition());
  FRANZ_TRY(o.write(part, group_id, entries));
  if (it == groups_.end()) {
    auto g = std::make_unique<group>();
    g->id = std::string(group_id);
    it = groups_.emplace(g->id, std::move(g)).first;
  }
  for (const auto& [tp, om] : offsets) it->second->offsets[tp] = om;
  return {};
}

result<std::map<topic_partition, offset>> group_coordinator::reset_offsets(std::string_view group_id,
                                                                           const std::vector<topic_partition>& partitions,
                                                                           offset_spec spec, bool dry_run) {
  FRANZ_TRY(check_group_id(group_id));
  std::map<topic_partition, offset_and_metadata> next;
  {
    std::lock_guard l(mu_);
    auto it = groups_.find(group_id);
    const group* g = it == groups_.end() ? nullptr : it->second.get();
    if (g != nullptr && !g->members.empty())
      return make_error(errc::non_empty_group,
                        fmt::format("group '{}' has {} member(s); stop its consumers before resetting offsets",
                                    group_id, g->members.size()));
    std::vector<topic_partition> tps = partitions;
    if (tps.empty()) {
      if (g == nullptr) return make_error(errc::group_id_not_found, fmt::format("no group '{}'", group_id));
      for (const auto& [tp, om] : g->offsets) tps.push_back(tp);
    }
    for (const auto& tp : tps) {
      FRANZ_ASSIGN_OR_RETURN(auto part, broker_->find_partition(tp.topic, tp.partition));
      const auto& log = part->log();
      const std::int64_t lo = log.log_start_offset().value(), hi = log.log_end_offset().value();
      std::int64_t at = lo;
      switch (spec.k) {
        case offset_spec::kind::earliest: at = lo; break;
        case offset_spec::kind::latest: at = hi; break;
        case offset_spec::kind::to_offset: at = spec.value; break;
        case offset_spec::kind::to_timestamp: {
          FRANZ_ASSIGN_OR_RETURN(auto found, log.offsets_for_time(timestamp{spec.value}));
          at = found ? found->off.value() : hi;
          break;
        }
        case offset_spec::kind::shift_by: {
          const offset_and_metadata* cur = nullptr;
          if (g != nullptr) {
            auto c = g->offsets.find(tp);
            if (c != g->offsets.end()) cur = &c->second;
          }
          if (cur == nullptr)
            return make_error(errc::no_offset_for_partition,
                              fmt::format("{}-{}: group '{}' has no committed offset to shift", tp.topic,
                                          tp.partition, group_id));
          at = cur->off.value() + spec.value;
          break;
        }
      }
      // As kafka-consumer-groups does: clamp into the log.
      next[tp] = offset_and_metadata{offset{std::clamp(at, lo, hi)}, {}};
    }
  }
  if (!dry_run) FRANZ_TRY(alter_offsets(group_id, next));
  std::map<topic_partition, offset> out;
  for (const auto& [tp, om] : next) out[tp] = om.off;
  return out;
}

status group_coordinator::delete_group(std::string_view group_id) {
  FRANZ_TRY(check_group_id(group_id));
  std::lock_guard l(mu_);
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return make_error(errc::group_id_not_found, fmt::format("no group '{}'", group_id));
  group& g = *it->second;
  if (!g.members.empty())
    return make_error(errc::non_empty_group,
                      fmt::format("group '{}' has {} member(s); it can be deleted only when empty", group_id,
                                  g.members.size()));
  std::map<topic_partition, std::optional<offset_and_metadata>> tombstones;
  for (const auto& [tp, om] : g.offsets) tombstones[tp] = std::nullopt;
  ops o{*broker_};
  if (!tombstones.empty()) {
    FRANZ_ASSIGN_OR_RETURN(auto part, offsets_partition());
    FRANZ_TRY(o.write(part, group_id, tombstones));
  }
  groups_.erase(it);
  return {};
}

status group_coordinator::tick() {
  std::lock_guard l(mu_);
  ops o{*broker_};
  for (auto& [id, g] : groups_) {
    o.expire(*g);
    o.check_metadata(*g);
  }
  return {};
}

// ---- members --------------------------------------------------------------------

namespace {
status check_broker_open(const broker& b) {
  if (b.closed()) return make_error(errc::illegal_state, "the broker is closed");
  return {};
}
}  // namespace

result<std::shared_ptr<detail::member_state>> group_coordinator::join_group(const detail::join_request& req) {
  FRANZ_TRY(check_group_id(req.group_id));
  FRANZ_TRY(check_broker_open(*broker_));
  if (req.assignors.empty()) return make_error(errc::invalid_config, "partition.assignment.strategy is empty");
  std::lock_guard l(mu_);
  ops o{*broker_};
  auto it = groups_.find(req.group_id);
  if (it == groups_.end()) {
    auto g = std::make_unique<group>();
    g->id = req.group_id;
    g->metadata_version = broker_->metadata_version();
    it = groups_.emplace(g->id, std::move(g)).first;
  }
  group& g = *it->second;
  o.expire(g);

  member m;
  m.ms = std::make_shared<detail::member_state>();
  m.ms->group_id = req.group_id;
  m.ms->w = req.w;
  m.ms->last_poll_ms.store(o.now(), std::memory_order_release);
  m.instance_id = req.group_instance_id;
  m.client_id = req.client_id;
  m.list = req.topics;
  m.pattern = req.pattern;
  m.assignors = req.assignors;
  m.protocol = req.protocol;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.order = next_member_;
  m.id = fmt::format("{}-{}", req.client_id.empty() ? "consumer" : req.client_id, next_member_++);
  m.ms->member_id = m.id;
  m.topics = o.resolve(m);

  if (!g.members.empty() && o.common_assignor(g, &m) == nullptr)
    return make_error(errc::inconsistent_group_protocol,
                      fmt::format("group '{}': none of this member's assignors is shared by every member (group uses "
                                  "'{}')", g.id, g.assignor));
  if (m.instance_id) {
    for (auto& [id, old] : g.members) {
      if (old.instance_id != m.instance_id) continue;
      if (old.open)
        return make_error(errc::unreleased_instance_id,
                          fmt::format("group.instance.id '{}' is held by member {}, whose consumer is still open",
                                      *m.instance_id, old.id));
      // A static member back within session.timeout.ms: it takes the old
      // member's place and assignment, with no rebalance.
      const bool same = old.topics == m.topics;
      m.order = old.order;
      m.owned = old.owned;
      m.previous = old.previous;
      m.previous_generation = old.previous_generation;
      m.joined_round = old.joined_round;
      m.target = old.target_generation == g.generation ? old.target : old.owned;
      m.target_generation = g.generation;
      m.generation = -1;
      if (g.leader == old.id) g.leader = m.id;
      old.ms->fenced = make_error(errc::unknown_member_id,
                                  fmt::format("a new consumer took group.instance.id '{}' over", *m.instance_id));
      old.ms->w = nullptr;
      g.members.erase(id);
      auto ms = m.ms;
      g.members.emplace(m.id, std::move(m));
      if (!same) o.prepare_rebalance(g);
      return ms;
    }
  }
  auto ms = m.ms;
  const std::string mid = m.id;
  g.members.emplace(mid, std::move(m));
  o.prepare_rebalance(g);
  g.members[mid].joined_round = g.round;
  o.maybe_complete(g);
  return ms;
}

namespace {
// The member of ms in its group, or null (with the group) if it is gone.
template <class Groups>
member* find_member(Groups& groups, detail::member_state& ms, group_coordinator::group** gout) {
  auto it = groups.find(ms.group_id);
  if (it == groups.end()) return nullptr;
  auto m = it->second->members.find(ms.member_id);
  if (m == it->second->members.end() || m->second.ms.get() != &ms) return nullptr;
  *gout = it->second.get();
  return &m->second;
}

error gone_error(const detail::member_state& ms) {
  if (ms.fenced) return *ms.fenced;
  return make_error(errc::unknown_member_id, fmt::format("member {} is not in group '{}'", ms.member_id, ms.group_id));
}
}  // namespace

detail::member_step group_coordinator::next_step(detail::member_state& ms) {
  std::lock_guard l(mu_);
  ops o{*broker_};
  group* g = nullptr;
  member* m = find_member(groups_, ms, &g);
  if (m != nullptr) {
    o.expire(*g);
    o.check_metadata(*g);
    m = find_member(groups_, ms, &g);
  }
  if (m == nullptr) return {detail::member_step::kind::fenced, -1, {}};
  if (m->target_generation > m->generation) return {detail::member_step::kind::assignment, m->target_generation, m->target};
  if (g->state == group_state::preparing_rebalance)
    return {m->joined_round == g->round ? detail::member_step::kind::wait : detail::member_step::kind::join,
            g->generation, {}};
  return {};
}

status group_coordinator::rejoin(detail::member_state& ms, const detail::join_request& req,
                                 const std::vector<topic_partition>& owned,
                                 const std::vector<topic_partition>& previous) {
  std::lock_guard l(mu_);
  ops o{*broker_};
  group* g = nullptr;
  member* m = find_member(groups_, ms, &g);
  if (m == nullptr) return gone_error(ms);
  m->list = req.topics;
  m->pattern = req.pattern;
  m->topics = o.resolve(*m);
  m->owned = owned;
  std::sort(m->owned.begin(), m->owned.end());
  m->previous = previous;
  std::sort(m->previous.begin(), m->previous.end());
  m->previous_generation = m->generation;
  if (g->state != group_state::preparing_rebalance) o.prepare_rebalance(*g);  // a subscription change
  m->joined_round = g->round;
  o.maybe_complete(*g);
  return {};
}

void group_coordinator::ack_assignment(detail::member_state& ms, std::int32_t generation) {
  std::lock_guard l(mu_);
  ops o{*broker_};
  group* g = nullptr;
  member* m = find_member(groups_, ms, &g);
  if (m == nullptr || m->target_generation != generation) return;
  m->generation = generation;
  m->owned = m->target;
  if (g->state != group_state::completing_rebalance) return;
  for (auto& [id, x] : g->members)
    if (x.generation != g->generation) return;
  g->state = group_state::stable;
  if (g->follow_up) {
    g->follow_up = false;
    o.prepare_rebalance(*g);
  }
}

bool group_coordinator::fenced(const detail::member_state& m) const {
  std::lock_guard l(mu_);
  return m.fenced.has_value();
}

void group_coordinator::leave_group(detail::member_state& ms, bool remain) {
  std::lock_guard l(mu_);
  ops o{*broker_};
  group* g = nullptr;
  member* m = find_member(groups_, ms, &g);
  ms.w = nullptr;
  if (m == nullptr) return;
  if (remain) {
    m->open = false;
    m->closed_at_ms = o.now();
    return;
  }
  o.remove(*g, m->id, make_error(errc::unknown_member_id, fmt::format("member {} left group '{}'", m->id, g->id)));
}

status group_coordinator::commit(detail::member_state* ms, std::string_view group_id, std::int32_t generation,
                                 const std::map<topic_partition, offset_and_metadata>& offsets, bool durable) {
  FRANZ_TRY(check_group_id(group_id));
  // A durable commit must never point past durable data: after a power loss
  // it would skip the records later written at the lost offsets. So the
  // records below each committed offset are made durable first (no fsync if
  // they are already). Unknown partitions are left to validate() below.
  if (durable) {
    for (const auto& [tp, om] : offsets)
      if (auto part = broker_->find_partition(tp.topic, tp.partition); part.ok())
        FRANZ_TRY((*part)->flush_until(om.off));
  }
  std::pair<std::shared_ptr<detail::partition>, offset> written;
  {
    std::lock_guard l(mu_);
    ops o{*broker_};
    group* g = nullptr;
    if (ms != nullptr) {
      member* m = find_member(groups_, *ms, &g);
      if (m == nullptr) return gone_error(*ms);
      if (g->state == group_state::preparing_rebalance && m->joined_round == g->round)
        return make_error(errc::rebalance_in_progress,
                          fmt::format("group '{}' is rebalancing and member {} has rejoined; poll to complete the "
                                      "rebalance, then commit",
                                      g->id, m->id));
      if (generation != g->generation || m->target_generation != generation)
        return make_error(errc::illegal_generation,
                          fmt::format("commit of generation {} to group '{}', which is at generation {}", generation,
                                      g->id, g->generation));
      for (const auto& [tp, om] : offsets)
        if (!contains(m->owned, tp))
          return make_error(errc::illegal_state,
                            fmt::format("{}-{} is not assigned to member {} (generation {})", tp.topic, tp.partition,
                                        m->id, generation));
    } else {
      auto it = groups_.find(group_id);
      g = it == groups_.end() ? nullptr : it->second.get();
      if (g != nullptr && !g->members.empty())
        return make_error(errc::unknown_member_id,
                          fmt::format("group '{}' has members; a consumer outside it (assign) cannot commit to it",
                                      group_id));
      if (generation != -1)
        return make_error(errc::illegal_generation, "a consumer outside the group commits with generation -1");
    }
    FRANZ_TRY(o.validate(offsets));
    std::map<topic_partition, std::optional<offset_and_metadata>> entries(offsets.begin(), offsets.end());
    FRANZ_ASSIGN_OR_RETURN(auto part, offsets_partition());
    // Everything the new state needs is allocated before the write: once
    // the commit is in the log, no bad_alloc may leave memory showing the
    // old offsets (a reopen would show the new ones).
    auto updated = g != nullptr ? g->offsets : decltype(g->offsets){};
    for (const auto& [tp, om] : offsets) updated[tp] = om;
    decltype(groups_) created;
    if (g == nullptr) {
      auto ng = std::make_unique<group>();
      ng->id = std::string(group_id);
      g = ng.get();
      created.emplace(ng->id, std::move(ng));
    }
    FRANZ_ASSIGN_OR_RETURN(written, o.write(part, group_id, entries));
    g->offsets.swap(updated);
    groups_.merge(created);  // moves the node: no allocation
  }
  // Outside the lock: concurrent committers share one fsync.
  if (durable && !offsets.empty()) FRANZ_TRY(written.first->flush_until(written.second));
  return {};
}

std::map<topic_partition, std::optional<offset_and_metadata>> group_coordinator::committed(
    std::string_view group_id, const std::vector<topic_partition>& tps) const {
  std::lock_guard l(mu_);
  std::map<topic_partition, std::optional<offset_and_metadata>> out;
  auto it = groups_.find(group_id);
  for (const auto& tp : tps) {
    out[tp] = std::nullopt;
    if (it == groups_.end()) continue;
    auto c = it->second->offsets.find(tp);
    if (c != it->second->offsets.end()) out[tp] = c->second;
  }
  return out;
}

status group_coordinator::load() {
  auto t = broker_->find_topic(offsets_topic);
  if (!t) return t.code() == errc::unknown_topic_or_partition ? status{} : status(std::move(t).error());
  FRANZ_ASSIGN_OR_RETURN(auto c, consumer::create(*broker_, {.max_poll_records = 100000,
                                                             .auto_offset_reset = offset_reset::earliest}));
  std::vector<topic_partition> tps;
  for (std::size_t p = 0; p < (*t)->partitions.size(); ++p) tps.push_back({std::string(offsets_topic), static_cast<std::int32_t>(p)});
  FRANZ_TRY(c->assign(tps));
  FRANZ_ASSIGN_OR_RETURN(const auto ends, c->end_offsets(tps));
  std::lock_guard l(mu_);
  for (;;) {
    bool done = true;
    for (const auto& tp : tps) {
      FRANZ_ASSIGN_OR_RETURN(auto pos, c->position(tp));
      done = done && pos >= ends.at(tp);
    }
    if (done) break;
    FRANZ_ASSIGN_OR_RETURN(auto recs, c->poll(std::chrono::milliseconds(0)));
    // Nothing is appended while the broker opens, so a poll below the end
    // always returns records or an error; if it ever returned neither,
    // waiting for more would never end.
    if (recs.empty()) {
      std::string where;
      for (const auto& tp : tps) {
        auto pos = c->position(tp);
        where += fmt::format(" {}-{} at {} of {};", tp.topic, tp.partition, pos ? pos->value() : -1,
                             ends.at(tp).value());
      }
      return make_error(errc::corrupt_message,
                        fmt::format("{} cannot be read to its end:{}", offsets_topic, where));
    }
    for (const auto& r : recs) {
      auto where = [&] { return fmt::format(" ({}-{} offset {})", r.topic, r.partition, r.off.value()); };
      auto v = format::offsets_key_version(r.key);
      if (!v) return make_error(errc::corrupt_message, v.error().message + where());
      if (*v == format::group_key_version) continue;  // reserved
      auto k = format::decode_offset_key(r.key);
      if (!k) return make_error(errc::corrupt_message, k.error().message + where());
      auto& g = groups_[k->group];
      if (!g) {
        g = std::make_unique<group>();
        g->id = k->group;
        g->metadata_version = broker_->metadata_version();
      }
      const topic_partition tp{k->topic, k->partition};
      if (r.value.data() == nullptr) {
        g->offsets.erase(tp);
        continue;
      }
      auto val = format::decode_offset_value(r.value);
      if (!val) return make_error(errc::corrupt_message, val.error().message + where());
      g->offsets[tp] = offset_and_metadata{offset{val->offset}, std::move(val->metadata)};
    }
  }
  // Offsets of topics that no longer exist (a deletion whose tombstones a
  // crash lost) must not apply to a topic created later with the name.
  for (auto& [id, g] : groups_)
    std::erase_if(g->offsets, [&](const auto& kv) { return !broker_->find_topic(kv.first.topic).ok(); });
  // A commit that is not durable (commit.sync.durable=false, async) may
  // reach the disk while the records below it did not: a power loss then
  // leaves it past the log end. It is lowered to the log end, so records
  // written there from now on are delivered, not skipped.
  for (auto& [id, g] : groups_)
    for (auto& [tp, om] : g->offsets)
      if (auto part = broker_->find_partition(tp.topic, tp.partition); part.ok())
        om.off = std::min(om.off, (*part)->log().log_end_offset());
  // Groups whose offsets were all deleted are gone.
  std::erase_if(groups_, [](const auto& kv) { return kv.second->offsets.empty(); });
  return c->close();
}

void group_coordinator::topic_deleted(std::string_view topic) {
  std::lock_guard l(mu_);
  ops o{*broker_};
  for (auto& [id, g] : groups_) {
    std::map<topic_partition, std::optional<offset_and_metadata>> tombstones;
    for (const auto& [tp, om] : g->offsets)
      if (tp.topic == topic) tombstones[tp] = std::nullopt;
    if (tombstones.empty()) continue;
    // Best effort: offsets a failed write leaves behind belong to a topic
    // that no longer exists, and load() drops those.
    if (auto part = offsets_partition(); part) (void)o.write(*part, id, tombstones);
    for (const auto& [tp, none] : tombstones) g->offsets.erase(tp);
    o.check_metadata(*g);
  }
}

}  // namespace franz
