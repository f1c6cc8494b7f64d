// Kafka in the peer benchmarks (bench/peers/driver.hpp has the workloads):
// librdkafka 2.0.2 clients against its in-process mock cluster
// (rdkafka_mock.h), one broker, no server to start. The mock keeps the log in
// memory: no disk, no fsync, so Kafka offers only durability::none, and its
// figures are those of the client library and the Kafka protocol over
// loopback TCP, not of a real broker.
//
// Each store and handoff has a mock cluster of its own (the mock cannot
// delete topics; destroying the cluster frees its log). A record is one
// message: no key, the record's bytes as the value (RD_KAFKA_MSG_F_COPY).
//
// Two limits of the 2.0.2 mock shape the layout (rdkafka_mock.c,
// rdkafka_mock_handlers.c):
//  - a partition keeps at most 5 MiB (and 100000 message sets) and drops its
//    oldest message sets beyond that, so a log of 1M x 100 B cannot live in
//    one partition. The log is a chain of topics of one partition (one
//    replica) holding chunk_records records each (about 4 MiB with the
//    framing), all created at open: record i goes to topic i / chunk_records,
//    reads go through the topics in order.
//  - a Fetch is answered with one message set, so a consumer gets as many
//    records per round trip as the producer put in one produce request.
//
// Producer: acks=1 (the leader's ack; with one broker and one replica
// acks=all would wait for the same), compression.codec=none, idempotence off
// (the default). Stores: linger.ms=5 (the default: a batch's messages form
// message sets while it is produced), then rd_kafka_flush per batch (flush
// ignores linger.ms and returns once every delivery report is in; a failed
// delivery dies). Single records: produce + flush (one round trip).
// Reads: a consumer (the high-level API, no group membership) assigned each
// topic's partition 0 from RD_KAFKA_OFFSET_BEGINNING in turn,
// rd_kafka_consumer_poll per message, every offset checked.
// Handoff: producer with linger.ms=0 (send = produce; the producer's thread
// transmits at once; delivery reports served by rd_kafka_poll(0) after each
// send); the receiver polls a consumer with fetch.wait.max.ms=1 (the mock
// answers an empty fetch only after the full wait: it does not cut the wait
// short when data arrives) and assigns itself the next topic of the chain
// once it has received a topic's records.
//
// Both clients look up every topic's leader at open (rd_kafka_metadata): a
// partition assigned before its leader is known waits 500 ms for its first
// offset query, and a message produced before it waits for the metadata.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <initializer_list>
#include <utility>

#include "driver.hpp"

namespace {

using namespace peers;

constexpr int flush_timeout_ms = 60'000;
constexpr int poll_timeout_ms = 10'000;  // a read's next message (the log holds it)
constexpr std::size_t receive_max = 1000;  // records per receive()

using setting = std::pair<const char*, std::string>;
using settings_list = std::initializer_list<setting>;

// Dies on a failed delivery (called from rd_kafka_poll / rd_kafka_flush).
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
    die("delivery of message at offset %lld: %s", static_cast<long long>(m->offset), rd_kafka_err2str(m->err));
}

rd_kafka_t* make_client(rd_kafka_type_t type, const std::vector<setting>& settings) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [name, value] : settings)
    if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      die("rd_kafka_conf_set %s=%s: %s", name, value.c_str(), err);
  if (type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);  // owns conf on success
  if (rk == nullptr) die("rd_kafka_new (%s): %s", type == RD_KAFKA_PRODUCER ? "producer" : "consumer", err);
  return rk;
}

// A mock cluster of one broker; its topics have one partition, one replica.
class mock_cluster {
 public:
  mock_cluster() {
    static std::uint64_t n = 0;
    prefix_ = fmt::format("franz-peers-{}", n++);
    // The mock's owner: a handle of its own, never used to produce.
    owner_ = make_client(RD_KAFKA_PRODUCER, {{"log_level", "3"}});
    mc_ = rd_kafka_mock_cluster_new(owner_, 1);
    if (mc_ == nullptr) die("rd_kafka_mock_cluster_new: failed (see the librdkafka log above)");
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(mc_);
  }
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;
  ~mock_cluster() {
    rd_kafka_mock_cluster_destroy(mc_);
    rd_kafka_destroy(owner_);
  }
  [[nodiscard]] const std::string& bootstraps() const noexcept { return bootstraps_; }
  // Creates topic k ("<prefix>-<k>"); returns its name.
  std::string create_topic(std::size_t k) {
    std::string name = fmt::format("{}-{}", prefix_, k);
    if (const rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc_, name.c_str(), 1, 1); e != RD_KAFKA_RESP_ERR_NO_ERROR)
      die("rd_kafka_mock_topic_create %s: %s", name.c_str(), rd_kafka_err2str(e));
    return name;
  }

 private:
  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
  std::string bootstraps_, prefix_;
};

class producer {
 public:
  producer(const mock_cluster& mc, int linger_ms)
      : rk_(make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", mc.bootstraps()},
                                            {"acks", "1"},
                                            {"linger.ms", std::to_string(linger_ms)},
                                            {"compression.codec", "none"}})) {}
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;
  ~producer() { close(); }

  // A topic handle (its metadata is looked up from now on); the producer
  // destroys it.
  rd_kafka_topic_t* topic(const std::string& name) {
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
    if (t == nullptr) die("rd_kafka_topic_new %s: %s", name.c_str(), rd_kafka_err2str(rd_kafka_last_error()));
    topics_.push_back(t);
    return t;
  }
  // Waits for the metadata of every topic (their leaders).
  void learn() {
    const rd_kafka_metadata_t* md = nullptr;
    if (const rd_kafka_resp_err_t e = rd_kafka_metadata(rk_, 1, nullptr, &md, poll_timeout_ms); e != RD_KAFKA_RESP_ERR_NO_ERROR)
      die("rd_kafka_metadata: %s", rd_kafka_err2str(e));
    rd_kafka_metadata_destroy(md);
  }
  // Queues one message for partition 0 of t (the producer's thread sends it).
  void produce(rd_kafka_topic_t* t, const std::byte* rec, std::size_t size) {
    for (;;) {
      const rd_kafka_resp_err_t e =
          rd_kafka_producev(rk_, RD_KAFKA_V_RKT(t), RD_KAFKA_V_PARTITION(0),
                            RD_KAFKA_V_VALUE(const_cast<std::byte*>(rec), size),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return;
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("rd_kafka_producev: %s", rd_kafka_err2str(e));
      rd_kafka_poll(rk_, 10);  // the queue is full: serve delivery reports, then retry
    }
  }
  // Serves the delivery reports that are in (no wait).
  void poll() { rd_kafka_poll(rk_, 0); }
  // Returns once every queued message is delivered (acked by the broker).
  void flush() {
    if (const rd_kafka_resp_err_t e = rd_kafka_flush(rk_, flush_timeout_ms); e != RD_KAFKA_RESP_ERR_NO_ERROR)
      die("rd_kafka_flush: %s (%d messages outstanding)", rd_kafka_err2str(e), rd_kafka_outq_len(rk_));
  }
  void close() {
    if (rk_ == nullptr) return;
    flush();
    for (rd_kafka_topic_t* t : topics_) rd_kafka_topic_destroy(t);
    topics_.clear();
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }

 private:
  rd_kafka_t* rk_;
  std::vector<rd_kafka_topic_t*> topics_;
};

class consumer {
 public:
  consumer(const mock_cluster& mc, settings_list extra) {
    std::vector<setting> s{{"bootstrap.servers", mc.bootstraps()},
                                                       {"group.id", "franz-peers"},
                                                       {"enable.auto.commit", "false"},
                                                       {"enable.auto.offset.store", "false"},
                                                       {"auto.offset.reset", "error"},
                                                       {"enable.partition.eof", "false"}};
    s.insert(s.end(), extra.begin(), extra.end());
    rk_ = make_client(RD_KAFKA_CONSUMER, s);
    if (const rd_kafka_resp_err_t e = rd_kafka_poll_set_consumer(rk_); e != RD_KAFKA_RESP_ERR_NO_ERROR)
      die("rd_kafka_poll_set_consumer: %s", rd_kafka_err2str(e));
  }
  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;
  ~consumer() { close(); }

  // Learns the topics' leaders now: a partition assigned before its leader
  // is known waits 500 ms for its first offset query.
  void learn(const std::vector<std::string>& names) {
    for (std::size_t k = topics_.size(); k < names.size(); ++k) {
      rd_kafka_topic_t* t = rd_kafka_topic_new(rk_, names[k].c_str(), nullptr);
      if (t == nullptr) die("rd_kafka_topic_new %s: %s", names[k].c_str(), rd_kafka_err2str(rd_kafka_last_error()));
      topics_.push_back(t);
    }
    const rd_kafka_metadata_t* md = nullptr;
    if (const rd_kafka_resp_err_t e = rd_kafka_metadata(rk_, 1, nullptr, &md, poll_timeout_ms); e != RD_KAFKA_RESP_ERR_NO_ERROR)
      die("rd_kafka_metadata: %s", rd_kafka_err2str(e));
    rd_kafka_metadata_destroy(md);
  }
  // Partition 0 of topic from its first message (instead of what was assigned).
  void assign_from_beginning(const std::string& topic) {
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    const rd_kafka_resp_err_t e = rd_kafka_assign(rk_, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) die("rd_kafka_assign: %s", rd_kafka_err2str(e));
    next_ = 0;
  }
  void unassign() {
    if (const rd_kafka_resp_err_t e = rd_kafka_assign(rk_, nullptr); e != RD_KAFKA_RESP_ERR_NO_ERROR)
      die("rd_kafka_assign (none): %s", rd_kafka_err2str(e));
  }
  // The next message to out; false if none came within wait_ms.
  bool next(sink& out, int wait_ms) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, wait_ms);
    if (m == nullptr) return false;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const std::string what = rd_kafka_message_errstr(m);
      rd_kafka_message_destroy(m);
      die("rd_kafka_consumer_poll: %s", what.c_str());
    }
    if (m->offset != next_)
      die("rd_kafka_consumer_poll: offset %lld where %lld was expected", static_cast<long long>(m->offset),
          static_cast<long long>(next_));
    ++next_;
    out(static_cast<const std::byte*>(m->payload), m->len);
    rd_kafka_message_destroy(m);
    return true;
  }
  void close() {
    if (rk_ == nullptr) return;
    if (const rd_kafka_resp_err_t e = rd_kafka_consumer_close(rk_); e != RD_KAFKA_RESP_ERR_NO_ERROR)
      die("rd_kafka_consumer_close: %s", rd_kafka_err2str(e));
    for (rd_kafka_topic_t* t : topics_) rd_kafka_topic_destroy(t);
    topics_.clear();
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  std::vector<rd_kafka_topic_t*> topics_;  // handles of the topics learn() was told
  std::int64_t next_ = 0;
};

std::size_t chunk_records(std::size_t record_bytes) {
  return std::clamp<std::size_t>((4u << 20) / (record_bytes + 80), 1, 50'000);
}

// A mock cluster, its chain of topics (created for `records` records, more
// added by add_topic), a producer and a consumer that know them all.
class chain {
 public:
  chain(const open_params& p, int linger_ms)
      : chunk_(chunk_records(p.record_bytes)), producer_(mc_, linger_ms), consumer_(mc_, {{"fetch.wait.max.ms", "1"}}) {
    const std::uint64_t topics = std::max<std::uint64_t>(1, (p.records + chunk_ - 1) / chunk_);
    for (std::uint64_t k = 0; k < topics; ++k) add_topic();
    learn();
  }
  [[nodiscard]] std::size_t chunk() const noexcept { return chunk_; }
  [[nodiscard]] std::size_t topics() const noexcept { return names_.size(); }
  void add_topic() {
    names_.push_back(mc_.create_topic(names_.size()));
    handles_.push_back(producer_.topic(names_.back()));
  }
  // After add_topic: the clients look the new topics up.
  void learn() {
    if (learned_ == names_.size()) return;
    producer_.learn();
    consumer_.learn(names_);
    learned_ = names_.size();
  }
  // Record `index` of the log to its topic.
  void produce(std::uint64_t index, const std::byte* rec, std::size_t size) {
    producer_.produce(handles_[index / chunk_], rec, size);
  }
  // The consumer to the topic of record `index` (a multiple of chunk()).
  void assign(std::uint64_t index) { consumer_.assign_from_beginning(names_[index / chunk_]); }
  producer& writer() noexcept { return producer_; }
  consumer& reader() noexcept { return consumer_; }
  void close() {
    consumer_.close();
    producer_.close();
  }

 private:
  std::size_t chunk_;
  mock_cluster mc_;  // before the clients: destroyed after them
  producer producer_;
  consumer consumer_;
  std::vector<std::string> names_;
  std::vector<rd_kafka_topic_t*> handles_;  // the producer's, owned by it
  std::size_t learned_ = 0;
};

class topic_store final : public store {
 public:
  explicit topic_store(const open_params& p) : p_(p), c_(p, 5) {}
  ~topic_store() override { close(); }
  void append_batch(std::uint64_t, const std::byte* recs, std::size_t count) override {
    for (std::size_t k = 0; k < count; ++k) produce(recs + k * p_.record_bytes);
    c_.writer().flush();
  }
  void append_one(std::uint64_t, const std::byte* rec) override {
    produce(rec);
    c_.writer().flush();
  }
  void read_all(sink& out) override {
    c_.learn();  // topics added after open
    for (std::uint64_t first = 0; first < written_; first += c_.chunk()) {
      c_.assign(first);
      const std::uint64_t n = std::min<std::uint64_t>(c_.chunk(), written_ - first);
      for (std::uint64_t got = 0; got < n; ++got)
        if (!c_.reader().next(out, poll_timeout_ms))
          die("read: no record %llu within %d ms", static_cast<unsigned long long>(first + got), poll_timeout_ms);
    }
    c_.reader().unassign();
  }
  void close() override { c_.close(); }

 private:
  void produce(const std::byte* rec) {
    if (written_ / c_.chunk() == c_.topics()) c_.add_topic();  // more records than open_params::records
    c_.produce(written_++, rec, p_.record_bytes);
  }

  open_params p_;
  chain c_;
  std::uint64_t written_ = 0;
};

class topic_handoff final : public handoff {
 public:
  explicit topic_handoff(const open_params& p) : p_(p), c_(p, 0) { c_.assign(0); }
  ~topic_handoff() override { close(); }
  // Producer thread.
  void send(std::uint64_t, const std::byte* rec) override {
    if (sent_ / c_.chunk() == c_.topics())
      die("handoff: more records sent than open_params::records (%llu)", static_cast<unsigned long long>(p_.records));
    c_.produce(sent_++, rec, p_.record_bytes);
    c_.writer().poll();
  }
  // Consumer thread.
  std::size_t receive(sink& out, std::chrono::milliseconds wait) override {
    if (!next(out, static_cast<int>(std::max<std::int64_t>(wait.count(), 0)))) return 0;
    std::size_t n = 1;
    while (n < receive_max && next(out, 0)) ++n;
    return n;
  }
  void close() override { c_.close(); }

 private:
  bool next(sink& out, int wait_ms) {
    if (!c_.reader().next(out, wait_ms)) return false;
    if (++received_ % c_.chunk() == 0 && received_ / c_.chunk() < c_.topics()) c_.assign(received_);
    return true;
  }

  open_params p_;
  chain c_;
  std::uint64_t sent_ = 0, received_ = 0;  // the sender's, the receiver's
};

class kafka_system final : public system {
 public:
  std::string name() const override { return "kafka"; }
  std::string settings(durability) const override {
    return "librdkafka 2.0.2 mock cluster (in memory, no disk); acks=1, compression none; batches: linger.ms=5 + "
           "rd_kafka_flush; handoff: linger.ms=0, fetch.wait.max.ms=1; the log a chain of 1-partition topics of "
           "~4 MiB (the mock keeps 5 MiB per partition)";
  }
  bool offers(durability d) const override { return d == durability::none; }
  std::unique_ptr<store> open(const open_params& p) override { return std::make_unique<topic_store>(p); }
  std::unique_ptr<handoff> open_handoff(const open_params& p) override {
    return std::make_unique<topic_handoff>(p);
  }
};

}  // namespace

int main(int argc, char** argv) {
  kafka_system s;
  return peers::run(argc, argv, s);
}
