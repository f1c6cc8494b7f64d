// franz in the peer benchmarks (bench/peers/driver.hpp has the workloads).
//
// Stores: franz::log (the storage core, as an embedding program appends to
// one partition): append(span of records) per batch, each record's bytes as
// its value (no key, no headers, CreateTime "now", no compression);
// fsync per batch = flush() (fdatasync) after each append. Reads:
// read(off, 1 MiB) from offset 0, batch checksums verified.
// Partitions: one franz::log per partition, batches dealt round-robin.
// Handoff: the messaging API, as an application would use it: a producer
// (acks=1, linger.ms=0) on the sending thread, a consumer (assign, poll,
// poll.spin.us 50, the default) on the receiving thread, one partition.
#include <franz/franz.hpp>

#include "driver.hpp"

namespace {

using namespace peers;

constexpr std::size_t read_max_bytes = 1 << 20;
constexpr std::string_view topic = "peers";

// The records of one batch as franz::record views of the maker's buffer.
class record_views {
 public:
  std::span<const franz::record> of(const std::byte* recs, std::size_t size, std::size_t count) {
    if (recs != base_ || size != size_ || v_.size() < count) {
      base_ = recs;
      size_ = size;
      v_.assign(std::max(count, v_.size()), franz::record{});
      for (std::size_t k = 0; k < v_.size(); ++k)
        v_[k].value = franz::bytes_view(reinterpret_cast<const char*>(recs + k * size), size);
    }
    return {v_.data(), count};
  }

 private:
  const std::byte* base_ = nullptr;
  std::size_t size_ = 0;
  std::vector<franz::record> v_;
};

std::unique_ptr<franz::log> open_log(const std::string& dir) {
  franz::log_options lo;
  lo.create_if_missing = true;
  auto l = franz::log::open(dir, lo);
  check(l, "log::open");
  return std::move(*l);
}

// Reads one log from `next` until `count` records were delivered or the
// log ends; returns the next offset.
std::int64_t read_records(const franz::log& log, std::int64_t next, std::uint64_t count, sink& out) {
  const std::int64_t end = log.log_end_offset().value();
  std::uint64_t got = 0;
  while (next < end && got < count) {
    auto rd = log.read(franz::offset{next}, read_max_bytes);
    check(rd, "read");
    if (rd->empty()) die("read at %lld: empty before the log end", static_cast<long long>(next));
    auto recs = rd->records(/*verify_checksums=*/true);
    franz::record_view r;
    while (got < count && recs.next(r)) {
      if (r.off.value() < next) continue;  // earlier records of the first batch
      if (r.off.value() != next) die("read: offset %lld where %lld was expected", static_cast<long long>(r.off.value()),
                                     static_cast<long long>(next));
      out(reinterpret_cast<const std::byte*>(r.value.data()), r.value.size());
      ++next;
      ++got;
    }
    check(recs.status(), "record_reader");
  }
  return next;
}

class log_store final : public store {
 public:
  log_store(const open_params& p, int partitions) : p_(p) {
    for (int i = 0; i < partitions; ++i) logs_.push_back(open_log(dir_of(i)));
  }
  void append_batch(std::uint64_t first, const std::byte* recs, std::size_t count) override {
    franz::log& log = *logs_[(first / p_.batch_records) % logs_.size()];
    auto r = log.append(views_.of(recs, p_.record_bytes, count));
    check(r, "append");
    if (p_.sync == durability::per_batch) check(log.flush(), "flush");
  }
  void append_one(std::uint64_t, const std::byte* rec) override {
    auto r = logs_[0]->append(franz::record{.value = franz::bytes_view(reinterpret_cast<const char*>(rec), p_.record_bytes)});
    check(r, "append");
  }
  void read_all(sink& out) override {
    std::vector<std::int64_t> next(logs_.size(), 0);
    for (bool more = true; more;) {
      more = false;
      for (std::size_t i = 0; i < logs_.size(); ++i) {
        const std::int64_t was = next[i];
        next[i] = read_records(*logs_[i], next[i], logs_.size() == 1 ? UINT64_MAX : p_.batch_records, out);
        more |= next[i] != was;
      }
    }
  }
  void close() override {
    for (std::size_t i = 0; i < logs_.size(); ++i) discard(logs_[i], dir_of(i), "log::close");
  }

 private:
  [[nodiscard]] std::string dir_of(std::size_t partition) const {
    return fmt::format("{}/peers-{}", p_.dir, partition);
  }

  open_params p_;
  std::vector<std::unique_ptr<franz::log>> logs_;
  record_views views_;
};

class messaging_handoff final : public handoff {
 public:
  explicit messaging_handoff(const open_params& p) : p_(p) {
    auto b = franz::broker::open({.data_dir = p.dir, .background_maintenance = false});
    check(b, "broker::open");
    broker_ = std::move(*b);
    check(broker_->create_topic(topic, 1, {}), "create_topic");
    franz::producer_config pc;
    pc.acks = franz::ack::leader;
    pc.linger_ms = 0;
    auto pr = franz::producer::create(*broker_, pc);
    check(pr, "producer::create");
    producer_ = std::move(*pr);
    franz::consumer_config cc;
    cc.auto_offset_reset = franz::offset_reset::earliest;
    auto c = franz::consumer::create(*broker_, cc);
    check(c, "consumer::create");
    consumer_ = std::move(*c);
    check(consumer_->assign({{std::string(topic), 0}}), "assign");
  }
  void send(std::uint64_t, const std::byte* rec) override {
    const franz::producer_record r{.topic = topic,
                                   .value = franz::bytes_view(reinterpret_cast<const char*>(rec), p_.record_bytes)};
    check(producer_->send(r), "send");
  }
  std::size_t receive(sink& out, std::chrono::milliseconds wait) override {
    auto recs = consumer_->poll(wait);
    check(recs, "poll");
    for (const auto& r : *recs) out(reinterpret_cast<const std::byte*>(r.value.data()), r.value.size());
    return recs->size();
  }
  void close() override {
    check(producer_->close(), "producer::close");
    check(consumer_->close(), "consumer::close");
    producer_.reset();
    consumer_.reset();
    discard(broker_, p_.dir, "broker::close");
  }

 private:
  open_params p_;
  std::unique_ptr<franz::broker> broker_;
  std::unique_ptr<franz::producer> producer_;
  std::unique_ptr<franz::consumer> consumer_;
};

class franz_system final : public system {
 public:
  std::string name() const override { return "franz"; }
  std::string settings(durability d) const override {
    return d == durability::none ? "franz::log, no flush (page cache)" : "franz::log, flush() (fdatasync) per batch";
  }
  std::unique_ptr<store> open(const open_params& p) override { return std::make_unique<log_store>(p, 1); }
  std::unique_ptr<store> open_partitioned(const open_params& p, int partitions) override {
    return std::make_unique<log_store>(p, partitions);
  }
  std::unique_ptr<handoff> open_handoff(const open_params& p) override {
    return std::make_unique<messaging_handoff>(p);
  }
};

}  // namespace

int main(int argc, char** argv) {
  franz_system s;
  return peers::run(argc, argv, s);
}
