// NATS JetStream in the peer benchmarks (bench/peers/driver.hpp has the
// workloads): nats.c 3.4 against the nats-server (2.9, -js) the run script
// started (--server HOST:PORT).
//
// Each store and handoff is a stream of its own ("FRANZ_PEERS_<pid>_<n>",
// subject "franz.peers.<pid>.<n>", file storage, the server's defaults
// otherwise: limits retention, one replica), deleted (js_DeleteStream) on
// close. A record is one message, its bytes the whole payload.
//
// Durability: nats-server 2.9 has no fsync setting (sync_interval came in
// 2.10); its file store syncs on its own timer. A PubAck means the message is
// in the server (written to the store's block file, in the page cache), not
// on disk, so JetStream offers only durability::none.
//
// Batches: js_PublishAsync x batch, then js_PublishAsyncComplete (every
// PubAck back; a failed one dies through the ErrHandler). Single records:
// js_Publish, which waits for the PubAck (one round trip). Reads: an ordered
// consumer (ephemeral, push, no acks, flow control; js_SubscribeSync,
// natsSubscription_NextMsg) from the stream's first message.
// Handoff: two connections, as two processes would have. The producer's
// send is js_Publish (one round trip: the record is in the stream when send
// returns); the consumer thread blocks in natsSubscription_NextMsg on an
// ordered consumer subscribed at open, then takes what else is pending.
#include <nats/nats.h>
#include <unistd.h>

#include "driver.hpp"

namespace {

using namespace peers;

constexpr int64_t api_wait_ms = 30'000;        // JetStream API calls, PubAcks
constexpr int64_t next_msg_wait_ms = 10'000;   // a read's next message (the stream holds it)
constexpr std::size_t receive_max = 1000;      // records per receive()

void check_nats(natsStatus s, const char* what, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  if (s == NATS_OK) return;
  const char* detail = nats_GetLastError(nullptr);
  die("%s: %s%s%s (JetStream error %d)", what, natsStatus_GetText(s), detail != nullptr ? ": " : "",
      detail != nullptr ? detail : "", static_cast<int>(jerr));
}

// An async publish the server refused (or whose PubAck timed out).
void on_publish_error(jsCtx*, jsPubAckErr* pae, void*) {
  die("js_PublishAsync: %s (%s, JetStream error %d)", natsStatus_GetText(pae->Err),
      pae->ErrText != nullptr ? pae->ErrText : "", static_cast<int>(pae->ErrCode));
}

// A connection and its JetStream context.
class client {
 public:
  client(const std::string& server, int64_t max_pending) {
    if (server.empty()) die("--server HOST:PORT is empty");
    const std::string url = "nats://" + server;
    check_nats(natsConnection_ConnectTo(&nc_, url.c_str()), "natsConnection_ConnectTo");
    jsOptions o;
    check_nats(jsOptions_Init(&o), "jsOptions_Init");
    o.Wait = api_wait_ms;
    o.PublishAsync.MaxPending = max_pending;
    o.PublishAsync.StallWait = api_wait_ms;
    o.PublishAsync.ErrHandler = on_publish_error;
    check_nats(natsConnection_JetStream(&js_, nc_, &o), "natsConnection_JetStream");
  }
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  ~client() {
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
  }
  [[nodiscard]] jsCtx* js() const noexcept { return js_; }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

// An ordered consumer on subject: every message of the stream, in order.
class ordered_sub {
 public:
  ordered_sub(jsCtx* js, const std::string& subject) {
    jsSubOptions so;
    check_nats(jsSubOptions_Init(&so), "jsSubOptions_Init");
    so.Ordered = true;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    check_nats(js_SubscribeSync(&sub_, js, subject.c_str(), nullptr, &so, &jerr), "js_SubscribeSync (ordered)", jerr);
  }
  ordered_sub(const ordered_sub&) = delete;
  ordered_sub& operator=(const ordered_sub&) = delete;
  ~ordered_sub() { close(); }

  // The next message to out; false if none came within wait_ms.
  bool next(sink& out, int64_t wait_ms) {
    natsMsg* m = nullptr;
    const natsStatus s = natsSubscription_NextMsg(&m, sub_, wait_ms);
    if (s == NATS_TIMEOUT) return false;
    check_nats(s, "natsSubscription_NextMsg");
    out(reinterpret_cast<const std::byte*>(natsMsg_GetData(m)), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
    natsMsg_Destroy(m);
    return true;
  }
  // Unsubscribe deletes the ephemeral consumer in the server.
  void close() {
    if (sub_ == nullptr) return;
    check_nats(natsSubscription_Unsubscribe(sub_), "natsSubscription_Unsubscribe");
    natsSubscription_Destroy(sub_);
    sub_ = nullptr;
  }

 private:
  natsSubscription* sub_ = nullptr;
};

// The stream of one store or handoff: created at construction, deleted by close().
class stream {
 public:
  explicit stream(jsCtx* js) : js_(js) {
    static std::uint64_t n = 0;
    const std::uint64_t id = n++;
    name_ = fmt::format("FRANZ_PEERS_{}_{}", ::getpid(), id);
    subject_ = fmt::format("franz.peers.{}.{}", ::getpid(), id);
    jsStreamConfig sc;
    check_nats(jsStreamConfig_Init(&sc), "jsStreamConfig_Init");
    const char* subjects[] = {subject_.c_str()};
    sc.Name = name_.c_str();
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    check_nats(js_AddStream(&si, js_, &sc, nullptr, &jerr), "js_AddStream", jerr);
    jsStreamInfo_Destroy(si);
  }
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream() { close(); }
  [[nodiscard]] const std::string& subject() const noexcept { return subject_; }
  void close() {
    if (js_ == nullptr) return;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    check_nats(js_DeleteStream(js_, name_.c_str(), nullptr, &jerr), "js_DeleteStream", jerr);
    js_ = nullptr;
  }

 private:
  jsCtx* js_;
  std::string name_, subject_;
};

void publish(jsCtx* js, const std::string& subject, const std::byte* rec, std::size_t size) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  check_nats(js_Publish(nullptr, js, subject.c_str(), rec, static_cast<int>(size), nullptr, &jerr), "js_Publish",
             jerr);
}

class stream_store final : public store {
 public:
  explicit stream_store(const open_params& p)
      : p_(p), c_(p.server, static_cast<int64_t>(std::max<std::size_t>(p.batch_records, 4096))), s_(c_.js()) {}
  ~stream_store() override { close(); }
  void append_batch(std::uint64_t, const std::byte* recs, std::size_t count) override {
    for (std::size_t k = 0; k < count; ++k)
      check_nats(js_PublishAsync(c_.js(), s_.subject().c_str(), recs + k * p_.record_bytes,
                                 static_cast<int>(p_.record_bytes), nullptr),
                 "js_PublishAsync");
    jsPubOptions po;
    check_nats(jsPubOptions_Init(&po), "jsPubOptions_Init");
    po.MaxWait = api_wait_ms;
    check_nats(js_PublishAsyncComplete(c_.js(), &po), "js_PublishAsyncComplete");
    written_ += count;
  }
  void append_one(std::uint64_t, const std::byte* rec) override {
    publish(c_.js(), s_.subject(), rec, p_.record_bytes);
    ++written_;
  }
  void read_all(sink& out) override {
    ordered_sub sub(c_.js(), s_.subject());
    for (std::uint64_t got = 0; got < written_; ++got)
      if (!sub.next(out, next_msg_wait_ms))
        die("read: no message %llu of %llu within %lld ms", static_cast<unsigned long long>(got),
            static_cast<unsigned long long>(written_), static_cast<long long>(next_msg_wait_ms));
    sub.close();
  }
  void close() override { s_.close(); }

 private:
  open_params p_;
  client c_;
  stream s_;
  std::uint64_t written_ = 0;
};

class stream_handoff final : public handoff {
 public:
  explicit stream_handoff(const open_params& p)
      : p_(p), producer_(p.server, 4096), consumer_(p.server, 4096), s_(producer_.js()),
        sub_(consumer_.js(), s_.subject()) {}
  ~stream_handoff() override { close(); }
  void send(std::uint64_t, const std::byte* rec) override { publish(producer_.js(), s_.subject(), rec, p_.record_bytes); }
  std::size_t receive(sink& out, std::chrono::milliseconds wait) override {
    if (!sub_.next(out, std::max<int64_t>(wait.count(), 0))) return 0;
    std::size_t n = 1;
    while (n < receive_max && sub_.next(out, 0)) ++n;  // 0: only what is pending in the client
    return n;
  }
  void close() override {
    sub_.close();
    s_.close();
  }

 private:
  open_params p_;
  client producer_, consumer_;
  stream s_;
  ordered_sub sub_;
};

class nats_system final : public system {
 public:
  ~nats_system() override { nats_Close(); }
  std::string name() const override { return "nats"; }
  std::string settings(durability) const override {
    return "JetStream file store, no fsync setting in nats-server 2.9 (PubAck = in the server); batches: "
           "js_PublishAsync x batch + js_PublishAsyncComplete; single records and handoff: js_Publish; reads: ordered "
           "consumer";
  }
  bool offers(durability d) const override { return d == durability::none; }
  bool needs_server() const override { return true; }
  std::unique_ptr<store> open(const open_params& p) override { return std::make_unique<stream_store>(p); }
  std::unique_ptr<handoff> open_handoff(const open_params& p) override {
    return std::make_unique<stream_handoff>(p);
  }
};

}  // namespace

int main(int argc, char** argv) {
  nats_system s;
  return peers::run(argc, argv, s);
}
