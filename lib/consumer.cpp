// franz — the consumer: assignment, positions, fetching, blocking poll.
#include "franz/messaging/consumer.hpp"

#include <algorithm>
#include <charconv>
#include <thread>

#include <fmt/format.h>

#include "franz/codec/codec.hpp"
#include "properties.hpp"

namespace franz {

namespace {

using props::parse_long;
constexpr auto bad_config = props::bad;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

status consumer_config::validate() const {
  constexpr std::int64_t max_int32 = std::numeric_limits<std::int32_t>::max();
  FRANZ_TRY(props::check_range("max.poll.records", max_poll_records, 1, max_int32));
  FRANZ_TRY(props::check_range("fetch.max.bytes", fetch_max_bytes, 0, max_int32));
  FRANZ_TRY(props::check_range("max.partition.fetch.bytes", max_partition_fetch_bytes, 0, max_int32));
  FRANZ_TRY(props::check_range("poll.spin.us", poll_spin_us, 0, 1'000'000));
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
      if (v == "true") c.check_crcs = true;
      else if (v == "false") c.check_crcs = false;
      else return bad_config(k, fmt::format("'{}' is not true or false", v));
    } else if (k == "client.id") {
      c.client_id = v;
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
  if (b.closed()) return make_error(errc::illegal_state, "the broker is closed");
  return std::unique_ptr<consumer>(new consumer(b, std::move(cfg)));
}

consumer::~consumer() { (void)close(); }

status consumer::check_usable() const {
  if (closed_) return make_error(errc::illegal_state, "the consumer is closed");
  return {};
}

result<std::shared_ptr<detail::partition>> consumer::find(const topic_partition& tp) const {
  FRANZ_ASSIGN_OR_RETURN(auto t, broker_->find_topic(tp.topic));
  if (tp.partition < 0 || static_cast<std::size_t>(tp.partition) >= t->partitions.size())
    return make_error(errc::unknown_topic_or_partition, fmt::format("topic '{}' has no partition {} (it has {})",
                                                                    tp.topic, tp.partition, t->partitions.size()));
  return t->partitions[static_cast<std::size_t>(tp.partition)];
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
    a.position = records_.back().off.value() + 1;
    pins_.push_back(std::move(*read));
  }
  return {};
}

status consumer::fetch() {
  const std::size_t n = assigned_.size();
  std::size_t bytes_left = static_cast<std::size_t>(cfg_.fetch_max_bytes);
  const std::size_t start = next_start_ % n;
  for (std::size_t i = 0; i < n; ++i) {
    auto& a = assigned_[(start + i) % n];
    if (a.paused) continue;
    if (a.part->deleted()) return a.part->gone();
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
  using clock = std::chrono::steady_clock;
  auto changed = [&] { return waiter_.seq.load(std::memory_order_seq_cst) != seen || woken_.load(); };
  if (cfg_.poll_spin_us > 0) {
    // Check the signal on every iteration (a pause is ~25 ns on some
    // CPUs), the clock only every 64.
    const auto spin_until = std::min(deadline, clock::now() + std::chrono::microseconds(cfg_.poll_spin_us));
    for (unsigned i = 1; !changed(); ++i) {
      cpu_relax();
      if (i % 64 == 0 && clock::now() >= spin_until) break;
    }
    if (changed()) return;
  }
  waiter_.sleeping.store(true, std::memory_order_seq_cst);
  {
    std::unique_lock l(waiter_.mu);
    waiter_.cv.wait_until(l, deadline, changed);
  }
  waiter_.sleeping.store(false, std::memory_order_seq_cst);
}

result<consumer_records> consumer::poll(std::chrono::milliseconds timeout) {
  FRANZ_TRY(check_usable());
  release_poll();
  if (assigned_.empty())
    return make_error(errc::illegal_state, "poll on a consumer with no assigned partitions; assign first");
  const auto deadline = timeout.count() <= 0 ? std::chrono::steady_clock::now()
                        : timeout >= std::chrono::hours(24 * 365)
                            ? std::chrono::steady_clock::time_point::max()
                            : std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (woken_.exchange(false)) {
      release_poll();
      return make_error(errc::wakeup, "poll was interrupted by wakeup()");
    }
    // Read the signal before looking for data: an append after the look
    // then changes it, so the wait below cannot miss it.
    const std::uint64_t seen = waiter_.seq.load(std::memory_order_seq_cst);
    if (auto s = fetch(); !s.ok()) {
      if (!records_.empty()) break;  // return what we have; the error recurs next poll
      return std::move(s).error();
    }
    if (!records_.empty()) break;
    if (std::chrono::steady_clock::now() >= deadline) break;
    wait_for_data(seen, deadline);
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

status consumer::close() {
  if (closed_) return {};
  closed_ = true;
  release_poll();
  for (auto& a : assigned_) a.part->remove_waiter(&waiter_);
  assigned_.clear();
  return {};
}

}  // namespace franz
