// franz — the consumer: assignment, positions, fetching, blocking poll.
#include "franz/messaging/consumer.hpp"

#include <algorithm>
#include <charconv>
#include <thread>

#include <fmt/format.h>

#include "franz/codec/codec.hpp"
#include "franz/format/file_names.hpp"
#include "properties.hpp"

namespace franz {

namespace {

using props::parse_bool;
using props::parse_long;
constexpr auto bad_config = props::bad;

}  // namespace

status consumer_config::validate() const {
  constexpr std::int64_t max_int32 = std::numeric_limits<std::int32_t>::max();
  FRANZ_TRY(props::check_range("max.poll.records", max_poll_records, 1, max_int32));
  FRANZ_TRY(props::check_range("fetch.max.bytes", fetch_max_bytes, 0, max_int32));
  FRANZ_TRY(props::check_range("max.partition.fetch.bytes", max_partition_fetch_bytes, 0, max_int32));
  FRANZ_TRY(props::check_range("poll.spin.us", poll_spin_us, 0, 1'000'000));
  FRANZ_TRY(props::check_range("session.timeout.ms", session_timeout_ms, 1, max_int32));
  FRANZ_TRY(props::check_range("heartbeat.interval.ms", heartbeat_interval_ms, 1, session_timeout_ms - 1));
  FRANZ_TRY(props::check_range("max.poll.interval.ms", max_poll_interval_ms, 1, max_int32));
  FRANZ_TRY(props::check_range("auto.commit.interval.ms", auto_commit_interval_ms, 0, max_int32));
  if (partition_assignment_strategy.empty()) return bad_config("partition.assignment.strategy", "the list is empty");
  if (group_instance_id && group_instance_id->empty()) return bad_config("group.instance.id", "it is empty");
  return {};
}

status consumer_config::apply(const std::map<std::string, std::string>& props) {
  consumer_config c = *this;
  for (const auto& [k, v] : props) {
    if (k == "max.poll.records") {
      FRANZ_ASSIGN_OR_RETURN(const auto n, parse_long(k, v));
      FRANZ_TRY(props::check_range(k, n, 1, std::numeric_limits<std::int32_t>::max()));
      c.max_poll_records = static_cast<std::int32_t>(n);
    } else if (k == "fetch.max.bytes") {
      FRANZ_ASSIGN_OR_RETURN(c.fetch_max_bytes, parse_long(k, v));
    } else if (k == "max.partition.fetch.bytes") {
      FRANZ_ASSIGN_OR_RETURN(c.max_partition_fetch_bytes, parse_long(k, v));
    } else if (k == "poll.spin.us") {
      FRANZ_ASSIGN_OR_RETURN(c.poll_spin_us, parse_long(k, v));
    } else if (k == "auto.offset.reset") {
      if (v == "earliest") c.auto_offset_reset = offset_reset::earliest;
      else if (v == "latest") c.auto_offset_reset = offset_reset::latest;
      else if (v == "none") c.auto_offset_reset = offset_reset::none;
      else return bad_config(k, fmt::format("'{}' is not earliest, latest or none", v));
    } else if (k == "isolation.level") {
      if (v == "read_uncommitted") c.isolation = isolation_level::read_uncommitted;
      else if (v == "read_durable") c.isolation = isolation_level::read_durable;
      else if (v == "read_committed")
        return bad_config(k, "read_committed needs transactions, which franz does not have yet");
      else return bad_config(k, fmt::format("'{}' is not read_uncommitted or read_durable", v));
    } else if (k == "check.crcs") {
      FRANZ_ASSIGN_OR_RETURN(c.check_crcs, parse_bool(k, v));
    } else if (k == "client.id") {
      c.client_id = v;
    } else if (k == "group.id") {
      c.group_id = v;
    } else if (k == "group.instance.id") {
      c.group_instance_id = v;
    } else if (k == "partition.assignment.strategy") {
      c.partition_assignment_strategy.clear();
      std::size_t at = 0;
      while (at <= v.size()) {
        const std::size_t comma = std::min(v.find(',', at), v.size());
        std::string name = v.substr(at, comma - at);
        name.erase(0, name.find_first_not_of(' '));
        name.erase(name.find_last_not_of(' ') + 1);
        if (!name.empty()) c.partition_assignment_strategy.push_back(name);
        at = comma + 1;
      }
    } else if (k == "enable.auto.commit") {
      FRANZ_ASSIGN_OR_RETURN(c.enable_auto_commit, parse_bool(k, v));
    } else if (k == "commit.sync.durable") {
      FRANZ_ASSIGN_OR_RETURN(c.commit_sync_durable, parse_bool(k, v));
    } else if (k == "auto.commit.interval.ms") {
      FRANZ_ASSIGN_OR_RETURN(c.auto_commit_interval_ms, parse_long(k, v));
    } else if (k == "session.timeout.ms") {
      FRANZ_ASSIGN_OR_RETURN(c.session_timeout_ms, parse_long(k, v));
    } else if (k == "heartbeat.interval.ms") {
      FRANZ_ASSIGN_OR_RETURN(c.heartbeat_interval_ms, parse_long(k, v));
    } else if (k == "max.poll.interval.ms") {
      FRANZ_ASSIGN_OR_RETURN(c.max_poll_interval_ms, parse_long(k, v));
    } else {
      return bad_config(k, "unknown consumer config key");
    }
  }
  FRANZ_TRY(c.validate());
  *this = std::move(c);
  return {};
}

consumer::consumer(broker& b, consumer_config cfg) : broker_(&b), cfg_(std::move(cfg)) {}

result<std::unique_ptr<consumer>> consumer::create(broker& b, consumer_config cfg) {
  FRANZ_TRY(cfg.validate());
  if (cfg.group_id && cfg.group_id->empty()) return make_error(errc::invalid_group_id, "group.id is empty");
  if (b.closed()) return make_error(errc::illegal_state, "the broker is closed");
  detail::join_request req;
  bool cooperative = true;
  for (const auto& name : cfg.partition_assignment_strategy) {
    std::shared_ptr<partition_assignor> a;
    for (const auto& custom : cfg.assignors)
      if (custom && custom->name() == name) a = custom;
    if (!a) {
      FRANZ_ASSIGN_OR_RETURN(a, make_assignor(name));
    }
    const auto protos = a->supported_protocols();
    cooperative = cooperative &&
                  std::find(protos.begin(), protos.end(), rebalance_protocol::cooperative) != protos.end();
    req.assignors.push_back(std::move(a));
  }
  req.group_id = cfg.group_id.value_or("");
  req.client_id = cfg.client_id;
  req.group_instance_id = cfg.group_instance_id;
  req.protocol = cooperative ? rebalance_protocol::cooperative : rebalance_protocol::eager;
  req.session_timeout_ms = cfg.session_timeout_ms;
  req.rebalance_timeout_ms = cfg.max_poll_interval_ms;
  std::unique_ptr<consumer> c(new consumer(b, std::move(cfg)));
  req.w = &c->waiter_;
  c->join_ = std::move(req);
  c->next_auto_commit_ms_ = b.clk().now_ms() + c->cfg_.auto_commit_interval_ms;
  return c;
}

consumer::~consumer() { (void)close(); }

status consumer::check_usable() const {
  if (closed_) return make_error(errc::illegal_state, "the consumer is closed");
  return {};
}

status consumer::check_not_in_listener(const char* what) const {
  if (in_listener_)
    return make_error(errc::illegal_state, fmt::format("{} from inside a rebalance listener", what));
  return {};
}

result<std::shared_ptr<detail::partition>> consumer::find(const topic_partition& tp) const {
  return broker_->find_partition(tp.topic, tp.partition);
}

result<consumer::assigned*> consumer::find_assigned(const topic_partition& tp) {
  for (auto& a : assigned_)
    if (a.tp == tp) return &a;
  return make_error(errc::illegal_state,
                    fmt::format("{}-{} is not assigned to this consumer", tp.topic, tp.partition));
}

std::vector<consumer::assigned*> consumer::targets(const std::vector<topic_partition>& tps, status& st) {
  std::vector<assigned*> out;
  if (tps.empty()) {
    for (auto& a : assigned_) out.push_back(&a);
    return out;
  }
  for (const auto& tp : tps) {
    auto a = find_assigned(tp);
    if (!a) {
      st = std::move(a).error();
      return {};
    }
    out.push_back(*a);
  }
  return out;
}

status consumer::assign(const std::vector<topic_partition>& partitions) {
  FRANZ_TRY(check_usable());
  FRANZ_TRY(check_not_in_listener("assign()"));
  if (mode_ == mode::subscribed)
    return make_error(errc::illegal_state, "assign() on a subscribed consumer; unsubscribe() first");
  std::vector<assigned> next;
  for (const auto& tp : partitions) {
    if (std::any_of(next.begin(), next.end(), [&](const assigned& a) { return a.tp == tp; })) continue;
    auto kept = std::find_if(assigned_.begin(), assigned_.end(), [&](const assigned& a) { return a.tp == tp; });
    if (kept != assigned_.end() && !kept->part->deleted()) {
      next.push_back(*kept);
      continue;
    }
    FRANZ_ASSIGN_OR_RETURN(auto part, find(tp));
    next.push_back({tp, std::move(part), std::nullopt, false});
  }
  release_poll();
  for (auto& a : assigned_) a.part->remove_waiter(&waiter_);
  assigned_ = std::move(next);
  for (auto& a : assigned_) a.part->add_waiter(&waiter_);
  next_start_ = 0;
  mode_ = assigned_.empty() ? mode::none : mode::assigned;
  return {};
}

std::vector<topic_partition> consumer::assignment() const {
  std::vector<topic_partition> out;
  for (const auto& a : assigned_) out.push_back(a.tp);
  return out;
}

offset consumer::end_of(const detail::partition& p) const noexcept {
  return cfg_.isolation == isolation_level::read_durable ? p.log().durable_offset() : p.log().log_end_offset();
}

status consumer::reset_position(assigned& a, bool out_of_range) {
  if (a.part->deleted()) return a.part->gone();
  switch (cfg_.auto_offset_reset) {
    case offset_reset::earliest: a.position = a.part->log().log_start_offset().value(); return {};
    case offset_reset::latest: a.position = end_of(*a.part).value(); return {};
    case offset_reset::none: break;
  }
  if (out_of_range)
    return make_error(errc::offset_out_of_range,
                      fmt::format("{}-{}: offset {} is outside [{}, {}] and auto.offset.reset is none", a.tp.topic,
                                  a.tp.partition, a.position.value_or(-1), a.part->log().log_start_offset().value(),
                                  end_of(*a.part).value()));
  return make_error(errc::no_offset_for_partition,
                    fmt::format("{}-{} has no position and auto.offset.reset is none; seek first", a.tp.topic,
                                a.tp.partition));
}

void consumer::release_poll() noexcept {
  records_.clear();
  pins_.clear();
  buffers_used_ = 0;
  for (auto& a : assigned_) a.fetched_to.reset();
}

status consumer::fetch_partition(assigned& a, std::size_t& bytes_left) {
  const auto& log = a.part->log();
  if (!a.position) FRANZ_TRY(reset_position(a, false));
  const std::optional<offset> limit =
      cfg_.isolation == isolation_level::read_durable ? std::optional<offset>(log.durable_offset()) : std::nullopt;
  std::int64_t pos = *a.position;
  if (pos == (limit ? *limit : log.log_end_offset()).value()) return {};
  const std::size_t max_bytes =
      std::min(bytes_left, static_cast<std::size_t>(cfg_.max_partition_fetch_bytes));
  // Only the first partition of a poll may return more than the budget
  // (one whole batch, as in Kafka); later ones wait for the next poll.
  const bool at_least_one = records_.empty();
  auto read = log.read(offset{pos}, max_bytes, limit, at_least_one);
  if (!read) {
    if (a.part->deleted()) return a.part->gone();
    if (read.code() != errc::offset_out_of_range) return std::move(read).error();
    // Kafka applies auto.offset.reset to an out-of-range position.
    FRANZ_TRY(reset_position(a, true));
    pos = *a.position;
    read = log.read(offset{pos}, max_bytes, limit, at_least_one);
    if (!read) return a.part->deleted() ? a.part->gone() : std::move(read).error();
  }
  if (read->empty()) return {};
  const std::size_t before = records_.size();
  const std::size_t room = static_cast<std::size_t>(cfg_.max_poll_records) - before;
  batch_reader batches = read->batches(cfg_.check_crcs);
  batch_view b;
  std::size_t taken = 0;
  while (taken < room && batches.next(b)) {
    if (b.last_offset().value() < pos) continue;
    auto section = b.records_section();
    if (b.codec() != compression::none) {
      if (buffers_used_ == buffers_.size()) buffers_.emplace_back();
      auto& buf = buffers_[buffers_used_++];
      if (auto s = codec::decompress(b.codec(), section, buf); !s.ok()) {
        records_.resize(before);
        return s;
      }
      section = buf;
    }
    record_decoder dec(b, section);
    record_view r;
    while (taken < room && dec.next(r)) {
      if (r.off.value() < pos) continue;
      records_.push_back({a.tp.topic, a.tp.partition, r.off, r.ts, b.ts_type(), r.key, r.value, r.headers_bytes,
                          r.header_count});
      ++taken;
    }
    if (dec.failed()) {
      records_.resize(before);
      return make_error(errc::corrupt_message, fmt::format("{} at byte {}: batch at offset {}: {}", read->source(),
                                                           read->position(), b.base_offset().value(), dec.why()));
    }
  }
  if (!batches.status().ok()) {
    // Records before the damage are returned; the position stops at it.
    if (records_.size() == before) return batches.status();
  }
  bytes_left -= std::min(bytes_left, read->bytes().size());
  if (records_.size() > before) {
    pins_.push_back(std::move(*read));
    a.fetched_to = records_.back().off.value() + 1;
  }
  return {};
}

status consumer::fetch() {
  const std::size_t n = assigned_.size();
  if (n == 0) return {};
  std::size_t bytes_left = static_cast<std::size_t>(cfg_.fetch_max_bytes);
  const std::size_t start = next_start_ % n;
  for (std::size_t i = 0; i < n; ++i) {
    auto& a = assigned_[(start + i) % n];
    if (a.paused) continue;
    if (a.part->deleted()) {
      if (mode_ == mode::subscribed) continue;  // the rebalance that follows revokes it
      return a.part->gone();
    }
    FRANZ_TRY(fetch_partition(a, bytes_left));
    if (records_.size() >= static_cast<std::size_t>(cfg_.max_poll_records)) {
      // The next poll starts after this partition, so none starves.
      next_start_ = (start + i + 1) % n;
      return {};
    }
    if (bytes_left == 0 && !records_.empty()) break;
  }
  next_start_ = (start + 1) % n;
  return {};
}

void consumer::wait_for_data(std::uint64_t seen, std::chrono::steady_clock::time_point deadline) {
  waiter_.wait(seen, deadline, cfg_.poll_spin_us, [this] { return woken_.load(); });
}

result<consumer_records> consumer::poll(std::chrono::milliseconds timeout) {
  FRANZ_TRY(check_usable());
  FRANZ_TRY(check_not_in_listener("poll()"));
  release_poll();
  run_commit_callbacks();
  if (mode_ == mode::none)
    return make_error(errc::illegal_state, "poll on a consumer with no assigned partitions; assign or subscribe first");
  using steady = std::chrono::steady_clock;
  const auto deadline = timeout.count() <= 0                    ? steady::now()
                        : timeout >= std::chrono::hours(24 * 365) ? steady::time_point::max()
                                                                  : steady::now() + timeout;
  // Records returned by earlier polls count as processed (Kafka's rule).
  if (cfg_.group_id && cfg_.enable_auto_commit && broker_->clk().now_ms() >= next_auto_commit_ms_) {
    auto_commit({});
    next_auto_commit_ms_ = broker_->clk().now_ms() + cfg_.auto_commit_interval_ms;
  }
  for (;;) {
    if (woken_.exchange(false)) {
      release_poll();
      return make_error(errc::wakeup, "poll was interrupted by wakeup()");
    }
    // Read the signal before looking for data: an append (or a group
    // change) after the look then changes it, so the wait cannot miss it.
    const std::uint64_t seen = waiter_.seq.load(std::memory_order_seq_cst);
    bool waiting = false;
    if (mode_ == mode::subscribed) FRANZ_TRY(group_step(waiting));
    if (!waiting) {
      if (auto s = fetch(); !s.ok()) {
        if (!records_.empty()) break;  // return what we have; the error recurs next poll
        return std::move(s).error();
      }
    }
    if (!records_.empty()) break;
    const auto now = steady::now();
    if (now >= deadline) break;
    // A member keeps polling while it waits: wake at least twice per
    // max.poll.interval.ms to say so.
    auto until = deadline;
    if (mode_ == mode::subscribed)
      until = std::min(until, now + std::chrono::milliseconds(std::max<std::int64_t>(1, cfg_.max_poll_interval_ms / 2)));
    wait_for_data(seen, until);
  }
  // Nothing below allocates: the positions move with the records returned.
  for (auto& a : assigned_) {
    if (a.fetched_to) a.position = *a.fetched_to;
    a.fetched_to.reset();
  }
  return consumer_records(records_);
}

void consumer::wakeup() noexcept {
  woken_.store(true);
  waiter_.signal();
}

status consumer::seek(const topic_partition& tp, offset off) {
  FRANZ_TRY(check_usable());
  if (off.value() < 0)
    return make_error(errc::offset_out_of_range, fmt::format("seek to negative offset {}", off.value()));
  FRANZ_ASSIGN_OR_RETURN(auto* a, find_assigned(tp));
  a->position = off.value();
  return {};
}

template <class F>
status consumer::for_each_target(const std::vector<topic_partition>& tps, F&& f) {
  FRANZ_TRY(check_usable());
  status st;
  auto ts = targets(tps, st);
  FRANZ_TRY(std::move(st));
  for (auto* a : ts) f(*a);
  return {};
}

status consumer::seek_to_beginning(const std::vector<topic_partition>& tps) {
  return for_each_target(tps, [](assigned& a) { a.position = a.part->log().log_start_offset().value(); });
}

status consumer::seek_to_end(const std::vector<topic_partition>& tps) {
  return for_each_target(tps, [this](assigned& a) { a.position = end_of(*a.part).value(); });
}

result<offset> consumer::position(const topic_partition& tp) {
  FRANZ_TRY(check_usable());
  FRANZ_ASSIGN_OR_RETURN(auto* a, find_assigned(tp));
  if (!a->position) FRANZ_TRY(reset_position(*a, false));
  return offset{*a->position};
}

status consumer::pause(const std::vector<topic_partition>& tps) {
  return for_each_target(tps, [](assigned& a) { a.paused = true; });
}

status consumer::resume(const std::vector<topic_partition>& tps) {
  return for_each_target(tps, [](assigned& a) { a.paused = false; });
}

std::vector<topic_partition> consumer::paused() const {
  std::vector<topic_partition> out;
  for (const auto& a : assigned_)
    if (a.paused) out.push_back(a.tp);
  return out;
}

result<std::map<topic_partition, std::optional<offset_and_timestamp>>> consumer::offsets_for_times(
    const std::map<topic_partition, timestamp>& query) {
  FRANZ_TRY(check_usable());
  std::map<topic_partition, std::optional<offset_and_timestamp>> out;
  for (const auto& [tp, ts] : query) {
    FRANZ_ASSIGN_OR_RETURN(auto part, find(tp));
    auto found = part->log().offsets_for_time(ts);
    if (!found) return part->deleted() ? part->gone() : std::move(found).error();
    if (*found) out[tp] = offset_and_timestamp{(*found)->off, (*found)->ts};
    else out[tp] = std::nullopt;
  }
  return out;
}

result<std::map<topic_partition, offset>> consumer::beginning_offsets(const std::vector<topic_partition>& tps) {
  FRANZ_TRY(check_usable());
  std::map<topic_partition, offset> out;
  for (const auto& tp : tps) {
    FRANZ_ASSIGN_OR_RETURN(auto part, find(tp));
    out[tp] = part->log().log_start_offset();
  }
  return out;
}

result<std::map<topic_partition, offset>> consumer::end_offsets(const std::vector<topic_partition>& tps) {
  FRANZ_TRY(check_usable());
  std::map<topic_partition, offset> out;
  for (const auto& tp : tps) {
    FRANZ_ASSIGN_OR_RETURN(auto part, find(tp));
    out[tp] = end_of(*part);
  }
  return out;
}

status consumer::close(group_membership op) {
  if (closed_) return {};
  FRANZ_TRY(check_not_in_listener("close()"));
  run_commit_callbacks();
  if (member_) {
    const bool remain = op == group_membership::remain_in_group ||
                        (op == group_membership::default_operation && join_.group_instance_id);
    // A member the group already removed lost its partitions: no commit
    // (it would fail with UNKNOWN_MEMBER_ID), on_partitions_lost.
    if (remain) auto_commit({});
    else revoke(assignment(), coordinator().fenced(*member_));  // commits, then the listener
    coordinator().leave_group(*member_, remain);
    member_.reset();
  } else if (mode_ == mode::assigned && cfg_.group_id) {
    auto_commit({});
  }
  run_commit_callbacks();
  closed_ = true;
  release_poll();
  for (auto& a : assigned_) a.part->remove_waiter(&waiter_);
  assigned_.clear();
  mode_ = mode::none;
  return {};
}

// ---- consumer groups ------------------------------------------------------------

template <class F>
void consumer::call_listener(F&& f) {
  if (listener_ == nullptr) return;
  in_listener_ = true;
  f(*listener_);
  in_listener_ = false;
}

status consumer::subscribe(const std::vector<std::string>& topics, consumer_rebalance_listener* listener) {
  FRANZ_TRY(check_usable());
  if (topics.empty()) return unsubscribe();
  for (const auto& t : topics)
    if (const char* why = format::topic_name_problem(t))
      return make_error(errc::invalid_topic_exception, fmt::format("subscribe: '{}': {}", t.substr(0, 300), why));
  detail::join_request req = join_;
  req.topics = topics;
  req.pattern.reset();
  return subscribe_with(std::move(req), listener);
}

status consumer::subscribe_pattern(std::string_view regex, consumer_rebalance_listener* listener) {
  FRANZ_TRY(check_usable());
  detail::join_request req = join_;
  req.topics.clear();
  try {
    req.pattern.emplace(std::string(regex), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return make_error(errc::invalid_regular_expression, fmt::format("'{}': {}", regex, e.what()));
  }
  return subscribe_with(std::move(req), listener);
}

status consumer::subscribe_with(detail::join_request req, consumer_rebalance_listener* listener) {
  FRANZ_TRY(check_not_in_listener("subscribe()"));
  if (!cfg_.group_id)
    return make_error(errc::invalid_group_id, "subscribe needs a group.id (consumer_config::group_id)");
  if (mode_ == mode::assigned)
    return make_error(errc::illegal_state, "subscribe() after assign(); assign({}) or unsubscribe() first");
  join_ = std::move(req);
  listener_ = listener;
  mode_ = mode::subscribed;
  resubscribe_ = member_ != nullptr;
  seen_epoch_ = ~std::uint64_t{0};
  return {};
}

std::vector<std::string> consumer::subscription() const {
  if (mode_ != mode::subscribed) return {};
  if (!join_.pattern) return join_.topics;
  std::vector<std::string> out;
  for (auto& t : broker_->list_topics())
    if (std::regex_match(t, *join_.pattern)) out.push_back(t);
  return out;
}

status consumer::unsubscribe() {
  FRANZ_TRY(check_usable());
  FRANZ_TRY(check_not_in_listener("unsubscribe()"));
  if (member_) {
    revoke(assignment(), coordinator().fenced(*member_));
    coordinator().leave_group(*member_, false);
    member_.reset();
  }
  release_poll();
  for (auto& a : assigned_) a.part->remove_waiter(&waiter_);
  assigned_.clear();
  mode_ = mode::none;
  generation_ = -1;
  listener_ = nullptr;
  resubscribe_ = false;
  return {};
}

std::string consumer::member_id() const { return member_ ? member_->member_id : std::string(); }

status consumer::group_step(bool& waiting) {
  waiting = false;
  if (broker_->closed()) return make_error(errc::illegal_state, "the broker is closed");
  if (!member_) {
    FRANZ_ASSIGN_OR_RETURN(member_, coordinator().join_group(join_));
    seen_epoch_ = ~std::uint64_t{0};
    resubscribe_ = false;
    joined_ = false;
    generation_ = -1;
  }
  member_->last_poll_ms.store(broker_->clk().now_ms(), std::memory_order_release);
  for (;;) {
    const std::uint64_t epoch = member_->epoch.load(std::memory_order_acquire);
    const std::uint64_t version = broker_->metadata_version();
    // While joined, ask every time: next_step also runs the group's timers,
    // which must fire even when no broker tick does (tick-driven mode).
    if (epoch == seen_epoch_ && version == seen_metadata_ && !resubscribe_ && !joined_) return {};
    auto step = coordinator().next_step(*member_);
    seen_epoch_ = epoch;
    seen_metadata_ = version;
    using kind = detail::member_step::kind;
    joined_ = step.k == kind::wait;
    switch (step.k) {
      case kind::none:
        if (!resubscribe_) return {};
        [[fallthrough]];
      case kind::join: {
        resubscribe_ = false;
        const auto held = assignment();
        // Eager: give everything up before rejoining; cooperative: keep it.
        if (join_.protocol == rebalance_protocol::eager) revoke(held, false);
        auto s = coordinator().rejoin(*member_, join_, assignment(), held);
        if (!s.ok() && s.code() != errc::unknown_member_id) return s;
        seen_epoch_ = ~std::uint64_t{0};  // ask again: wait, or (the last to join) the assignment
        continue;
      }
      case kind::wait:
        waiting = true;
        return {};
      case kind::assignment:
        FRANZ_TRY(apply_assignment(step.generation, step.assignment));
        // A new round may have started before this member took its
        // assignment; the epoch it bumped was already seen. Ask again.
        seen_epoch_ = ~std::uint64_t{0};
        continue;
      case kind::fenced: {
        revoke(assignment(), true);
        generation_ = -1;
        // Kafka's consumer forgets its member id and joins again; if that
        // fails, the next poll tries again (and reports why).
        member_.reset();
        FRANZ_ASSIGN_OR_RETURN(member_, coordinator().join_group(join_));
        member_->last_poll_ms.store(broker_->clk().now_ms(), std::memory_order_release);
        seen_epoch_ = ~std::uint64_t{0};
        continue;
      }
    }
  }
}

void consumer::revoke(const std::vector<topic_partition>& tps, bool lost) {
  if (tps.empty()) return;
  if (!lost) auto_commit(tps);
  call_listener([&](consumer_rebalance_listener& l) {
    if (lost) l.on_partitions_lost(*this, tps);
    else l.on_partitions_revoked(*this, tps);
  });
  release_poll();
  std::erase_if(assigned_, [&](const assigned& a) {
    if (std::find(tps.begin(), tps.end(), a.tp) == tps.end()) return false;
    a.part->remove_waiter(&waiter_);
    return true;
  });
  next_start_ = 0;
}

status consumer::apply_assignment(std::int32_t generation, const std::vector<topic_partition>& target) {
  generation_ = generation;
  std::vector<topic_partition> revoked, added;
  for (const auto& a : assigned_)
    if (!std::binary_search(target.begin(), target.end(), a.tp)) revoked.push_back(a.tp);
  revoke(revoked, false);
  for (const auto& tp : target) {
    if (std::any_of(assigned_.begin(), assigned_.end(), [&](const assigned& a) { return a.tp == tp; })) continue;
    auto part = find(tp);
    if (!part) continue;  // deleted meanwhile: the next rebalance drops it
    (*part)->add_waiter(&waiter_);
    assigned_.push_back({tp, std::move(*part), std::nullopt, false});
    added.push_back(tp);
  }
  std::sort(assigned_.begin(), assigned_.end(), [](const assigned& x, const assigned& y) { return x.tp < y.tp; });
  coordinator().ack_assignment(*member_, generation);
  call_listener([&](consumer_rebalance_listener& l) { l.on_partitions_assigned(*this, added); });
  // Start where the group left off, unless the listener sought.
  std::vector<topic_partition> unset;
  for (const auto& a : assigned_)
    if (!a.position && std::find(added.begin(), added.end(), a.tp) != added.end()) unset.push_back(a.tp);
  for (const auto& [tp, om] : coordinator().committed(*cfg_.group_id, unset)) {
    if (!om) continue;
    for (auto& a : assigned_)
      if (a.tp == tp) a.position = om->off.value();
  }
  return {};
}

std::map<topic_partition, offset_and_metadata> consumer::positions_of(const std::vector<topic_partition>& tps) const {
  std::map<topic_partition, offset_and_metadata> out;
  for (const auto& a : assigned_) {
    // A deleted topic's partitions (and the internal topic) cannot be
    // committed; they must not fail the commit of the others.
    if (!a.position || a.part->deleted() || a.tp.topic == offsets_topic) continue;
    if (!tps.empty() && std::find(tps.begin(), tps.end(), a.tp) == tps.end()) continue;
    out[a.tp] = offset_and_metadata{offset{*a.position}, {}};
  }
  return out;
}

status consumer::commit_now(const std::map<topic_partition, offset_and_metadata>& offsets, bool durable) {
  FRANZ_TRY(check_usable());
  if (!cfg_.group_id) return make_error(errc::invalid_group_id, "commit needs a group.id (consumer_config::group_id)");
  if (mode_ == mode::subscribed) {
    if (!member_) {
      if (offsets.empty()) return {};
      return make_error(errc::unknown_member_id, "the consumer has not joined its group yet; poll first");
    }
    return coordinator().commit(member_.get(), *cfg_.group_id, generation_, offsets, durable);
  }
  return coordinator().commit(nullptr, *cfg_.group_id, -1, offsets, durable);
}

void consumer::auto_commit(const std::vector<topic_partition>& tps) {
  if (!cfg_.enable_auto_commit || !cfg_.group_id) return;
  auto offsets = positions_of(tps);
  if (offsets.empty()) return;
  // Failures (a rebalance under way) mean redelivery, never loss: the
  // records after the last commit are read again by the next owner.
  (void)commit_now(offsets, false);
}

status consumer::commit_sync() {
  run_commit_callbacks();
  return commit_now(positions_of({}), cfg_.commit_sync_durable);
}

status consumer::commit_sync(const std::map<topic_partition, offset_and_metadata>& offsets) {
  run_commit_callbacks();
  return commit_now(offsets, cfg_.commit_sync_durable);
}

void consumer::commit_async(offset_commit_callback callback) { commit_async(positions_of({}), std::move(callback)); }

void consumer::commit_async(const std::map<topic_partition, offset_and_metadata>& offsets,
                            offset_commit_callback callback) {
  auto st = commit_now(offsets, false);
  if (callback)
    commit_callbacks_.push_back([cb = std::move(callback), offsets, st = std::move(st)] { cb(offsets, st); });
}

void consumer::run_commit_callbacks() {
  auto cbs = std::move(commit_callbacks_);
  commit_callbacks_.clear();
  for (auto& f : cbs) f();
}

result<std::map<topic_partition, std::optional<offset_and_metadata>>> consumer::committed(
    const std::vector<topic_partition>& tps) const {
  if (!cfg_.group_id) return make_error(errc::invalid_group_id, "committed() needs a group.id");
  return coordinator().committed(*cfg_.group_id, tps);
}

}  // namespace franz
