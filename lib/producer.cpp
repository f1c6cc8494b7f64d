// franz — the producer: accumulators, partitioners, the I/O thread.
#include "franz/messaging/producer.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <list>

#include <fmt/format.h>

#include "franz/codec/codec.hpp"
#include "properties.hpp"

namespace franz {

// --- config ---------------------------------------------------------------------

namespace {

using props::parse_long;
constexpr auto bad_config = props::bad;
constexpr auto in_range = props::check_range;

// A small, fast generator for the sticky partitioner's choices.
std::uint32_t next_random() noexcept {
  thread_local std::uint64_t s = 0x9e3779b97f4a7c15ull ^ reinterpret_cast<std::uintptr_t>(&s);
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return static_cast<std::uint32_t>(s >> 32);
}

}  // namespace

status producer_config::validate() const {
  constexpr std::int64_t max_int32 = std::numeric_limits<std::int32_t>::max();
  FRANZ_TRY(in_range("batch.size", batch_size, 0, max_int32));
  FRANZ_TRY(in_range("linger.ms", linger_ms, 0, max_int32));
  FRANZ_TRY(in_range("buffer.memory", buffer_memory, 1024, std::numeric_limits<std::int64_t>::max()));
  FRANZ_TRY(in_range("max.block.ms", max_block_ms, 0, std::numeric_limits<std::int64_t>::max()));
  FRANZ_TRY(in_range("max.request.size", max_request_size, static_cast<std::int64_t>(format::batch_header_size) + 1,
                     max_int32));
  if (acks != ack::none && acks != ack::leader && acks != ack::all)
    return bad_config("acks", fmt::format("{} is not 0, 1 or all", static_cast<int>(acks)));
  if (compression_type != compression::none && compression_type != compression::lz4 &&
      compression_type != compression::zstd)
    return bad_config("compression.type", "not one of none, lz4, zstd");
  for (const auto& i : interceptors)
    if (!i) return bad_config("interceptor.classes", "an interceptor is null");
  return {};
}

status producer_config::apply(const std::map<std::string, std::string>& props) {
  producer_config c = *this;
  for (const auto& kv : props) {
    // Named references, not structured bindings: clang 14 cannot capture those.
    const std::string& k = kv.first;
    const std::string& v = kv.second;
    auto set_long = [&](std::int64_t& field) -> status {
      FRANZ_ASSIGN_OR_RETURN(field, parse_long(k, v));
      return {};
    };
    if (k == "acks") {
      if (v == "0") c.acks = ack::none;
      else if (v == "1") c.acks = ack::leader;
      else if (v == "all" || v == "-1") c.acks = ack::all;
      else return bad_config(k, fmt::format("'{}' is not 0, 1, all or -1", v));
    } else if (k == "batch.size") FRANZ_TRY(set_long(c.batch_size));
    else if (k == "linger.ms") FRANZ_TRY(set_long(c.linger_ms));
    else if (k == "buffer.memory") FRANZ_TRY(set_long(c.buffer_memory));
    else if (k == "max.block.ms") FRANZ_TRY(set_long(c.max_block_ms));
    else if (k == "max.request.size") FRANZ_TRY(set_long(c.max_request_size));
    else if (k == "compression.type") {
      auto codec = codec::parse_compression(v);
      if (!codec) return bad_config(k, fmt::format("'{}' is not one of none, lz4, zstd", v));
      c.compression_type = *codec;
    } else if (k == "partitioner.class") {
      if (v == "sticky" || v == "default") c.partitioner_class = partitioner_kind::sticky;
      else if (v == "round_robin" || v == "RoundRobinPartitioner") c.partitioner_class = partitioner_kind::round_robin;
      else return bad_config(k, fmt::format("'{}' is not sticky or round_robin", v));
    } else if (k == "client.id") {
      c.client_id = v;
    } else {
      return bad_config(k, "unknown producer config key");
    }
  }
  FRANZ_TRY(c.validate());
  *this = std::move(c);
  return {};
}

std::uint32_t murmur2(bytes_view key) noexcept {
  // Kafka's Utils.murmur2 (seed 0x9747b28c), byte for byte, so that keys go
  // to the partitions a Kafka producer would choose.
  constexpr std::uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const auto len = static_cast<std::uint32_t>(key.size());
  std::uint32_t h = 0x9747b28cu ^ len;
  const std::uint32_t words = len / 4;
  for (std::uint32_t i = 0; i < words; ++i) {
    std::uint32_t k = static_cast<std::uint32_t>(data[4 * i]) | static_cast<std::uint32_t>(data[4 * i + 1]) << 8 |
                      static_cast<std::uint32_t>(data[4 * i + 2]) << 16 |
                      static_cast<std::uint32_t>(data[4 * i + 3]) << 24;
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const std::uint32_t tail = len & ~3u;
  switch (len % 4) {
    case 3: h ^= static_cast<std::uint32_t>(data[tail + 2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<std::uint32_t>(data[tail + 1]) << 8; [[fallthrough]];
    case 1:
      h ^= data[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

// --- internals ------------------------------------------------------------------

struct producer::pending {
  std::int32_t offset_delta = 0;
  std::int64_t ts = 0;
  send_callback cb;
  std::unique_ptr<std::promise<result<record_metadata>>> fut;
};

// One partition's open batch. Its buffer holds the 64-byte header room and
// the records encoded so far; sealing fills the header.
struct producer::accumulator {
  std::mutex mu;
  std::shared_ptr<detail::partition> part;
  // From the topic's config (refreshed when it changes).
  compression codec = compression::none;
  std::size_t limit = 0;  // bytes in one batch: min(batch.size, max.message.bytes)
  std::size_t max_batch = 0;
  bool log_append_time = false;
  // The open batch.
  std::vector<std::byte> buf;
  std::size_t size = format::batch_header_size;
  std::int32_t count = 0;
  std::int64_t first_ts = 0;
  std::int64_t max_ts = 0;
  std::int64_t opened_ms = 0;
  std::size_t reserved = 0;  // buffer.memory held by this batch
  std::vector<pending> pend;
  std::vector<std::byte> packed;  // compressed batches
  // Queue nodes allocated ahead (see seal_and_append): send fills this up
  // before it changes anything, so that once a record is in the batch no
  // allocation stands between the append and the queued reports.
  std::list<completion> spare;
};

// A batch handed to the I/O thread: its append result and its reports.
struct producer::completion {
  std::shared_ptr<detail::partition> part;
  result<append_info> appended = make_error(errc::none, "");
  bool log_append_time = false;
  std::vector<pending> pend;
  std::size_t reserved = 0;
};

// A topic as this producer sends to it. Immutable once published (only the
// partitioner's atomics change): a new incarnation, more partitions or a
// new config make a new entry, and old entries are kept (retired_) so a
// thread that still holds one never sees it freed.
struct producer::topic_entry {
  std::shared_ptr<const detail::topic_state> state;
  std::uint64_t version = 0;  // the broker's metadata version at resolution
  std::vector<std::shared_ptr<accumulator>> accs;
  std::atomic<std::int32_t> sticky{-1};
  std::atomic<std::uint32_t> next{0};
};

namespace {
// Each sending thread remembers the last topic it resolved, so the common
// case (one topic, no metadata change) takes no lock and builds no string.
std::atomic<std::uint64_t> next_producer_id{1};
// Trivially constructible (no std::string), so reaching it costs no
// thread-local initialization check.
struct send_cache {
  std::uint64_t producer_id;
  std::uint64_t version;
  void* entry;
  std::size_t topic_len;
  char topic[format::max_topic_name_length];
  [[nodiscard]] std::string_view name() const noexcept { return {topic, topic_len}; }
};
thread_local send_cache tl_cache;
}  // namespace

producer::producer(broker& b, producer_config cfg)
    : broker_(&b), cfg_(std::move(cfg)), clk_(&b.clk()), id_(next_producer_id.fetch_add(1)) {}

result<std::unique_ptr<producer>> producer::create(broker& b, producer_config cfg) {
  FRANZ_TRY(cfg.validate());
  if (b.closed()) return make_error(errc::illegal_state, "the broker is closed");
  std::unique_ptr<producer> p(new producer(b, std::move(cfg)));
  p->io_ = std::thread([q = p.get()] { q->sender_loop(); });
  p->io_thread_id_ = p->io_.get_id();
  return p;
}

producer::~producer() {
  (void)close();
  if (tl_cache.producer_id == id_) tl_cache.producer_id = 0;
}

result<producer::topic_entry*> producer::lookup(std::string_view topic) {
  const std::uint64_t v = broker_->metadata_version();
  if (tl_cache.producer_id == id_ && tl_cache.version == v && tl_cache.name() == topic) [[likely]]
    return static_cast<topic_entry*>(tl_cache.entry);
  topic_entry* e = nullptr;
  {
    std::lock_guard g(cache_mu_);
    FRANZ_ASSIGN_OR_RETURN(e, resolve(topic, v));
  }
  // (resolve succeeded, so the name is valid and fits.)
  tl_cache.producer_id = id_;
  tl_cache.version = v;
  tl_cache.topic_len = topic.size();
  std::memcpy(tl_cache.topic, topic.data(), topic.size());
  tl_cache.entry = e;
  return e;
}

result<producer::topic_entry*> producer::resolve(std::string_view topic, std::uint64_t v) {
  // cache_mu_ held. Same topic id keeps the accumulators (so per-partition
  // order holds across re-resolution); a new incarnation of the name gets
  // new ones.
  auto it = topics_.find(std::string(topic));
  if (it != topics_.end() && it->second->version == v) return it->second.get();
  if (topic == offsets_topic)
    return make_error(errc::invalid_topic_exception,
                      fmt::format("'{}' is franz's internal topic; commit offsets with a consumer", topic));
  FRANZ_ASSIGN_OR_RETURN(auto state, broker_->find_topic(topic));
  auto e = std::make_unique<topic_entry>();
  e->state = state;
  e->version = v;
  if (it != topics_.end() && it->second->state->topic_id == state->topic_id) {
    e->accs = it->second->accs;
    e->sticky.store(it->second->sticky.load());
    e->next.store(it->second->next.load());
  }
  const auto& cfg = state->config;
  while (e->accs.size() < state->partitions.size()) {
    auto acc = std::make_shared<accumulator>();
    acc->part = state->partitions[e->accs.size()];
    e->accs.push_back(acc);
    accs_.push_back(std::move(acc));
  }
  for (auto& acc : e->accs) {
    std::lock_guard g(acc->mu);
    acc->codec = cfg.compression_type.value_or(cfg_.compression_type);
    acc->max_batch = static_cast<std::size_t>(cfg.max_batch_bytes());
    acc->limit = std::min(static_cast<std::size_t>(cfg_.batch_size), acc->max_batch);
    acc->log_append_time = cfg.message_timestamp_type == timestamp_type::log_append_time;
  }
  topic_entry* out = e.get();
  if (it != topics_.end()) {
    retired_.push_back(std::move(it->second));
    it->second = std::move(e);
  } else {
    topics_.emplace(std::string(topic), std::move(e));
  }
  return out;
}

result<std::int32_t> producer::choose_partition(topic_entry& e, const producer_record& r) {
  const auto n = static_cast<std::int32_t>(e.accs.size());
  if (r.partition) {
    if (*r.partition < 0 || *r.partition >= n)
      return make_error(errc::unknown_topic_or_partition,
                        fmt::format("topic '{}' has no partition {} (it has {})", r.topic, *r.partition, n));
    return *r.partition;
  }
  if (cfg_.custom_partitioner) {
    const std::int32_t p = cfg_.custom_partitioner->partition(r.topic, r.key, r.value, n);
    if (p < 0 || p >= n)
      return make_error(errc::unknown_topic_or_partition,
                        fmt::format("the custom partitioner chose partition {} of '{}', which has {}", p, r.topic, n));
    return p;
  }
  if (r.key.data() != nullptr) return partition_for_key(r.key, n);
  if (cfg_.partitioner_class == partitioner_kind::round_robin)
    return static_cast<std::int32_t>(e.next.fetch_add(1, std::memory_order_relaxed) % static_cast<std::uint32_t>(n));
  std::int32_t s = e.sticky.load(std::memory_order_relaxed);
  if (s < 0 || s >= n) {
    const auto pick = static_cast<std::int32_t>(next_random() % static_cast<std::uint32_t>(n));
    e.sticky.compare_exchange_strong(s, pick, std::memory_order_relaxed);
    s = e.sticky.load(std::memory_order_relaxed);
  }
  return s;
}

bool producer::try_reserve(std::size_t n) {
  std::lock_guard g(mem_mu_);
  if (mem_used_ + n > static_cast<std::size_t>(cfg_.buffer_memory)) return false;
  mem_used_ += n;
  return true;
}

status producer::reserve_blocking(std::size_t n, std::chrono::steady_clock::time_point deadline) {
  {
    // Ask the I/O thread to append whatever lingers: it frees memory sooner.
    std::lock_guard q(q_mu_);
    drain_ = true;
  }
  q_cv_.notify_one();
  std::unique_lock l(mem_mu_);
  const bool ok = mem_cv_.wait_until(l, deadline, [&] {
    return closed_.load() || mem_used_ + n <= static_cast<std::size_t>(cfg_.buffer_memory);
  });
  if (closed_.load()) return make_error(errc::illegal_state, "the producer is closed");
  if (!ok)
    return make_error(errc::request_timed_out,
                      fmt::format("no room in buffer.memory ({} bytes) for {} bytes within max.block.ms ({})",
                                  cfg_.buffer_memory, n, cfg_.max_block_ms));
  mem_used_ += n;
  return {};
}

void producer::release(std::size_t n) {
  if (n == 0) return;
  {
    std::lock_guard g(mem_mu_);
    mem_used_ -= n;
  }
  mem_cv_.notify_all();
}

status producer::send(const producer_record& r, send_callback cb) {
  std::unique_ptr<std::promise<result<record_metadata>>> none;
  return send_impl(r, cb, none);
}

std::future<result<record_metadata>> producer::send_future(const producer_record& r) {
  auto p = std::make_unique<std::promise<result<record_metadata>>>();
  auto f = p->get_future();
  send_callback cb;
  if (auto s = send_impl(r, cb, p); !s.ok()) {
    // send_impl leaves the promise with us when it fails.
    p->set_value(std::move(s).error());
  }
  return f;
}

status producer::send_impl(const producer_record& in, send_callback& cb,
                           std::unique_ptr<std::promise<result<record_metadata>>>& fut) {
  if (closed_.load(std::memory_order_acquire)) [[unlikely]]
    return make_error(errc::illegal_state, "send after the producer was closed");
  // Interceptors may change the record; without them it is used as is.
  std::optional<producer_record> changed;
  if (!cfg_.interceptors.empty()) {
    changed.emplace(in);
    for (auto& i : cfg_.interceptors) i->on_send(*changed);
  }
  const producer_record& r = changed ? *changed : in;
  if (r.ts.value() < -1) [[unlikely]]
    return make_error(errc::invalid_timestamp, fmt::format("timestamp {} is negative", r.ts.value()));
  const std::int64_t ts = r.ts.value() < 0 ? clk_->now_ms() : r.ts.value();
  const record rec{r.key, r.value, r.headers, timestamp{ts}};

  topic_entry* entry = nullptr;
  std::int32_t p = 0;
  FRANZ_ASSIGN_OR_RETURN(entry, lookup(r.topic));
  FRANZ_ASSIGN_OR_RETURN(p, choose_partition(*entry, r));
  accumulator* acc = entry->accs[static_cast<std::size_t>(p)].get();
  const bool report = cb || fut || !cfg_.interceptors.empty();
  // Sizes are computed once: a record's body with deltas (t, o) is body0
  // with the two one-byte zero deltas replaced by varints of t and o.
  const std::size_t body0 = format::record_body_size(rec, 0, 0);
  auto body_with = [body0](std::int64_t t, std::int32_t o) {
    return body0 - 2 + format::varint_size(t) + format::varint_size(o);
  };
  auto encoded = [](std::size_t body) { return format::varint_size(static_cast<std::int64_t>(body)) + body; };
  // The record alone, with the largest deltas it could get: an upper bound.
  const std::size_t alone = format::batch_header_size + encoded(body0) + format::max_varint64_bytes +
                            format::max_varint32_bytes;
  if (alone > static_cast<std::size_t>(cfg_.max_request_size) ||
      alone > static_cast<std::size_t>(cfg_.buffer_memory))
    return make_error(errc::record_too_large,
                      fmt::format("a record of about {} bytes exceeds max.request.size ({}) or buffer.memory ({})",
                                  alone, cfg_.max_request_size, cfg_.buffer_memory));
  std::optional<std::chrono::steady_clock::time_point> deadline;  // set when send first blocks
  bool opened = false;
  bool rotate_sticky = false;
  {
    std::unique_lock l(acc->mu);
    // close() sets closed_ and then seals every accumulator under its lock:
    // a record added before that visit is sealed by close, and one that
    // comes after sees the flag here. Either way it is reported once.
    if (closed_.load(std::memory_order_acquire)) [[unlikely]]
      return make_error(errc::illegal_state, "send after the producer was closed");
    // One send seals at most two batches (a full one, then its own under
    // linger.ms=0 or when it fills one alone).
    while (acc->spare.size() < 2) acc->spare.emplace_back();
    if (alone > acc->max_batch)
      return make_error(errc::record_too_large,
                        fmt::format("a record of about {} bytes exceeds max.message.bytes of '{}' ({})", alone,
                                    r.topic, acc->max_batch));
    std::size_t need = 0, body = 0;
    for (;;) {
      if (acc->count > 0) {
        body = body_with(ts - acc->first_ts, acc->count);
        need = encoded(body);
        if (acc->size + need <= acc->limit) break;
        seal_and_append(*acc);
        rotate_sticky = true;
      }
      // Open a batch: reserve its room in buffer.memory. Buffers grow
      // first: a bad_alloc then leaves nothing reserved.
      const std::size_t one = format::batch_header_size + encoded(body0);
      const std::size_t room = std::max(acc->limit, one);
      if (acc->buf.size() < room) acc->buf.resize(room);
      if (report && acc->pend.capacity() == 0) acc->pend.reserve(8);
      if (!try_reserve(room)) {
        l.unlock();
        if (!deadline) deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg_.max_block_ms);
        FRANZ_TRY(reserve_blocking(room, *deadline));
        l.lock();
        if (closed_.load(std::memory_order_acquire)) {
          release(room);
          return make_error(errc::illegal_state, "the producer was closed while send waited for buffer.memory");
        }
        if (acc->count > 0) {  // another sender opened one meanwhile
          release(room);
          continue;
        }
      }
      acc->reserved = room;
      acc->size = format::batch_header_size;
      acc->first_ts = ts;
      acc->max_ts = ts;
      acc->opened_ms = clk_->now_ms();
      body = body0;
      need = one - format::batch_header_size;
      opened = true;
      break;
    }
    if (acc->buf.size() < acc->size + need) acc->buf.resize(acc->size + need);
    // Room for the report first: once the record is in the batch, nothing
    // may fail before its report is queued with it. (A batch just opened
    // has room already: nothing here may fail once buffer.memory is held.)
    if (report && acc->pend.size() == acc->pend.capacity())
      acc->pend.reserve(std::max<std::size_t>(8, 2 * acc->pend.capacity()));
    const std::int32_t delta = acc->count;
    format::put_record(acc->buf.data() + acc->size, rec, ts - acc->first_ts, delta, body);
    acc->size += need;
    acc->max_ts = std::max(acc->max_ts, ts);
    ++acc->count;
    if (report) acc->pend.push_back({delta, ts, std::move(cb), std::move(fut)});
    if (cfg_.linger_ms == 0 || acc->size >= acc->limit) {
      rotate_sticky = rotate_sticky || acc->size >= acc->limit;
      seal_and_append(*acc);
      opened = false;
    }
  }
  // Kafka's sticky partitioner moves on once its batch is full.
  if (rotate_sticky && !r.partition && r.key.data() == nullptr && !cfg_.custom_partitioner &&
      cfg_.partitioner_class == partitioner_kind::sticky) {
    const auto n = static_cast<std::int32_t>(entry->accs.size());
    std::int32_t cur = p;
    const auto pick = n <= 1 ? 0 : static_cast<std::int32_t>((p + 1 + next_random() % static_cast<std::uint32_t>(n - 1)) % n);
    entry->sticky.compare_exchange_strong(cur, pick, std::memory_order_relaxed);
  }
  if (opened) {
    // A batch now waits on linger.ms: make sure the I/O thread has a timer.
    bool wake = false;
    {
      std::lock_guard q(q_mu_);
      if (!lingering_) lingering_ = wake = true;
    }
    if (wake) q_cv_.notify_one();
  }
  return {};
}

void producer::seal_and_append(accumulator& acc) {
  // acc.mu held.
  const std::size_t records_bytes = acc.size - format::batch_header_size;
  format::batch_params params;
  std::span<const std::byte> batch;
  if (acc.codec == compression::none) {
    format::seal_batch(acc.buf.data(), records_bytes, acc.count, acc.count - 1, params, acc.first_ts, acc.max_ts);
    batch = std::span<const std::byte>(acc.buf.data(), acc.size);
  } else {
    const std::size_t bound = format::batch_header_size + codec::compressed_bound(acc.codec, records_bytes);
    if (acc.packed.size() < bound) acc.packed.resize(bound);
    auto csize = codec::compress(acc.codec,
                                 std::span<const std::byte>(acc.buf.data() + format::batch_header_size, records_bytes),
                                 acc.packed.data() + format::batch_header_size);
    if (csize) {
      params.attributes = static_cast<std::uint16_t>(acc.codec);
      format::seal_batch(acc.packed.data(), *csize, acc.count, acc.count - 1, params, acc.first_ts, acc.max_ts);
      batch = std::span<const std::byte>(acc.packed.data(), format::batch_header_size + *csize);
    }
  }
  // A batch with reports gets its queue node before the append: once the
  // batch is in the log, no allocation may fail before its reports (and
  // its buffer.memory) are handed to the I/O thread.
  std::list<completion> node;
  if (!acc.pend.empty() || cfg_.acks == ack::all) {
    if (acc.spare.empty()) acc.spare.emplace_back();
    node.splice(node.end(), acc.spare, acc.spare.begin());
  }
  completion unqueued;
  completion& c = node.empty() ? unqueued : node.front();
  c.part = acc.part;
  c.appended = batch.empty() ? result<append_info>(make_error(errc::kafka_storage_error, "compression failed"))
                             : acc.part->append(batch, batch_check::header_only);
  c.log_append_time = acc.log_append_time;
  c.pend = std::move(acc.pend);
  acc.pend.clear();
  c.reserved = acc.reserved;
  acc.count = 0;
  acc.size = format::batch_header_size;
  acc.reserved = 0;
  const bool durable = cfg_.acks == ack::all && c.appended.ok();
  if (c.pend.empty() && !durable) {
    release(c.reserved);
    return;
  }
  {
    std::lock_guard q(q_mu_);
    queue_.splice(queue_.end(), node);
    ++enqueued_;
  }
  q_cv_.notify_one();
}

void producer::seal_all(bool only_expired, std::int64_t now, std::int64_t* next_deadline) {
  std::lock_guard g(cache_mu_);
  for (auto& acc : accs_) {
    std::lock_guard a(acc->mu);
    if (acc->count == 0) continue;
    const std::int64_t due = acc->opened_ms + cfg_.linger_ms;
    if (!only_expired || due <= now) {
      seal_and_append(*acc);
    } else if (next_deadline) {
      *next_deadline = std::min(*next_deadline, due);
    }
  }
}

void producer::complete(std::vector<completion>& done, bool abort) {
  // Group commit: one flush per partition covers every batch in `done`.
  std::vector<std::pair<detail::partition*, std::int64_t>> ends;
  if (cfg_.acks == ack::all && !abort) {
    for (auto& c : done) {
      if (!c.appended.ok()) continue;
      const std::int64_t end = c.appended->last_offset.value() + 1;
      auto it = std::find_if(ends.begin(), ends.end(), [&](auto& e) { return e.first == c.part.get(); });
      if (it == ends.end()) ends.emplace_back(c.part.get(), end);
      else it->second = std::max(it->second, end);
    }
  }
  std::vector<std::pair<detail::partition*, status>> synced;
  for (auto& [part, end] : ends) synced.emplace_back(part, part->flush_until(offset{end}));
  for (auto& c : done) {
    status st;
    if (!c.appended.ok()) {
      st = c.appended.error();
    } else if (cfg_.acks == ack::all) {
      if (abort) {
        st = make_error(errc::request_timed_out, "the producer was closed before the record was fsynced");
      } else {
        for (auto& [part, s] : synced)
          if (part == c.part.get() && !s.ok()) st = s;
      }
    }
    for (auto& p : c.pend) {
      result<record_metadata> md = st.ok() ? result<record_metadata>(record_metadata{
                                                 c.part->topic(), c.part->id(),
                                                 cfg_.acks == ack::none
                                                     ? offset{-1}
                                                     : c.appended->base_offset + p.offset_delta,
                                                 timestamp{c.log_append_time ? c.appended->max_timestamp.value()
                                                                             : p.ts}})
                                           : result<record_metadata>(st.error());
      for (auto& i : cfg_.interceptors) i->on_acknowledgement(md);
      if (p.cb) p.cb(md);
      if (p.fut) p.fut->set_value(std::move(md));
    }
    release(c.reserved);
  }
}

void producer::sender_loop() {
  std::vector<completion> local;
  std::int64_t next_due = INT64_MAX;
  for (;;) {
    bool drain = false, stop = false, abort = false;
    {
      std::unique_lock l(q_mu_);
      auto ready = [&] { return stop_ || drain_ || !queue_.empty() || (lingering_ && next_due == INT64_MAX); };
      if (next_due == INT64_MAX) {
        q_cv_.wait(l, ready);
      } else {
        const auto wait_ms = std::max<std::int64_t>(0, next_due - clk_->now_ms());
        q_cv_.wait_for(l, std::chrono::milliseconds(wait_ms), ready);
      }
      drain = drain_ || stop_;
      drain_ = false;
      stop = stop_;
      abort = abort_;
      lingering_ = false;
    }
    // Append batches whose linger expired (or all of them when draining).
    next_due = INT64_MAX;
    seal_all(!drain, clk_->now_ms(), &next_due);
    if (next_due != INT64_MAX) {
      std::lock_guard l(q_mu_);
      lingering_ = true;
    }
    {
      std::lock_guard l(q_mu_);
      local.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
      abort = abort_;
    }
    if (!local.empty()) {
      complete(local, abort);
      {
        std::lock_guard l(q_mu_);
        reported_ += local.size();
      }
      local.clear();
      done_cv_.notify_all();
    }
    if (stop) {
      std::lock_guard l(q_mu_);
      if (queue_.empty()) break;
    }
  }
}

status producer::wait_reported(std::uint64_t target, std::chrono::steady_clock::time_point deadline) {
  // The caller sealed every open batch already; asking the I/O thread to
  // drain as well would append batches opened after the call early.
  std::unique_lock l(q_mu_);
  q_cv_.notify_one();
  if (!done_cv_.wait_until(l, deadline, [&] { return reported_ >= target; }))
    return make_error(errc::request_timed_out, "records were still unacknowledged at the deadline");
  return {};
}

status producer::flush() {
  if (closed_.load()) return make_error(errc::illegal_state, "flush after the producer was closed");
  if (std::this_thread::get_id() == io_thread_id_)
    return make_error(errc::illegal_state, "flush from a send callback would wait for itself");
  seal_all(false, 0, nullptr);
  std::uint64_t target;
  {
    std::lock_guard l(q_mu_);
    target = enqueued_;
  }
  return wait_reported(target, std::chrono::steady_clock::time_point::max());
}

status producer::close(std::chrono::milliseconds timeout) {
  if (std::this_thread::get_id() == io_thread_id_)
    return make_error(errc::illegal_state, "close from a send callback would wait for itself");
  if (closed_.exchange(true)) return {};
  mem_cv_.notify_all();  // senders blocked on buffer.memory give up
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = timeout >= std::chrono::milliseconds(std::chrono::hours(24 * 365))
                            ? std::chrono::steady_clock::time_point::max()
                            : now + timeout;
  seal_all(false, 0, nullptr);
  std::uint64_t target;
  {
    std::lock_guard l(q_mu_);
    target = enqueued_;
  }
  status st = wait_reported(target, deadline);
  {
    std::lock_guard l(q_mu_);
    stop_ = true;
    if (!st.ok()) abort_ = true;
  }
  q_cv_.notify_one();
  if (io_.joinable()) io_.join();
  return st;
}

result<std::int32_t> producer::partitions_for(std::string_view topic) {
  FRANZ_ASSIGN_OR_RETURN(auto t, broker_->find_topic(topic));
  return static_cast<std::int32_t>(t->partitions.size());
}

}  // namespace franz
