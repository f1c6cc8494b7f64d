// tkrzw 1.0.25's MessageQueue in the peer benchmarks: the closest embeddable
// C++ persistent queue (an append-only series of files with a timestamp per
// message; no sequence numbers, no batches).
//
// Open(prefix, 1 GiB files, OPEN_TRUNCATE). Batches: one Write per record
// (the API has no batch write; each Write takes the queue's mutex, appends
// and wakes readers); fsync per batch: Synchronize(true) after the batch
// (metadata and a physical sync). No fsync: nothing more (Close()
// synchronizes). Timestamps: 0 for every message (the queue clamps them to
// be non-decreasing; a reader from 0 reads everything), so no clock is read
// per Write. Reads: a Reader from timestamp 0, Read until there is nothing
// left (each Read copies the message into a reused std::string). Handoff:
// a Reader of the same queue object on the consumer thread blocks in
// Read(wait) on the queue's condition variable: the native in-process
// wake-up.
#include <tkrzw_message_queue.h>

#include "driver.hpp"

namespace {

using namespace peers;

void ok(const tkrzw::Status& s, const char* what) {
  if (s != tkrzw::Status::SUCCESS) die("%s: %s", what, s.GetMessage().c_str());
}

constexpr std::int64_t file_bytes = 1ll << 30;

class tkrzw_store final : public store {
 public:
  explicit tkrzw_store(const open_params& p) : p_(p) {
    ok(q_.Open(p.dir + "/queue", file_bytes, tkrzw::MessageQueue::OPEN_TRUNCATE), "MessageQueue::Open");
  }
  ~tkrzw_store() override { close(); }
  void append_batch(std::uint64_t, const std::byte* recs, std::size_t count) override {
    for (std::size_t k = 0; k < count; ++k) write(recs + k * p_.record_bytes);
    if (p_.sync == durability::per_batch) ok(q_.Synchronize(true), "MessageQueue::Synchronize");
  }
  void append_one(std::uint64_t, const std::byte* rec) override { write(rec); }
  void read_all(sink& out) override {
    auto r = q_.MakeReader(0);
    std::int64_t ts;
    std::string msg;
    while (true) {
      const tkrzw::Status s = r->Read(&ts, &msg, 0);
      if (s == tkrzw::Status::INFEASIBLE_ERROR || s == tkrzw::Status::NOT_FOUND_ERROR) break;
      ok(s, "Reader::Read");
      out(reinterpret_cast<const std::byte*>(msg.data()), msg.size());
    }
  }
  void close() override {
    if (open_) ok(q_.Close(), "MessageQueue::Close");
    open_ = false;
  }
  tkrzw::MessageQueue& queue() noexcept { return q_; }

 private:
  void write(const std::byte* rec) {
    ok(q_.Write(0, std::string_view(reinterpret_cast<const char*>(rec), p_.record_bytes)), "MessageQueue::Write");
  }

  open_params p_;
  tkrzw::MessageQueue q_;
  bool open_ = true;
};

class tkrzw_handoff final : public handoff {
 public:
  explicit tkrzw_handoff(const open_params& p) : w_(p), reader_(w_.queue().MakeReader(0)) {}
  ~tkrzw_handoff() override { close(); }
  void send(std::uint64_t seq, const std::byte* rec) override { w_.append_one(seq, rec); }
  std::size_t receive(sink& out, std::chrono::milliseconds wait) override {
    std::int64_t ts;
    std::size_t n = 0;
    double w = static_cast<double>(wait.count()) / 1000.0;
    while (n < 1000) {
      const tkrzw::Status s = reader_->Read(&ts, &msg_, w);
      if (s == tkrzw::Status::INFEASIBLE_ERROR) break;
      ok(s, "Reader::Read");
      out(reinterpret_cast<const std::byte*>(msg_.data()), msg_.size());
      ++n;
      w = 0;  // take what is there, wait only for the first
    }
    return n;
  }
  void close() override {
    reader_.reset();
    w_.close();
  }

 private:
  tkrzw_store w_;
  std::unique_ptr<tkrzw::MessageQueue::Reader> reader_;
  std::string msg_;
};

class tkrzw_system final : public system {
 public:
  std::string name() const override { return "tkrzw"; }
  std::string settings(durability d) const override {
    return d == durability::none ? "MessageQueue, Write per record, no Synchronize"
                                 : "MessageQueue, Write per record, Synchronize(hard) per batch";
  }
  std::unique_ptr<store> open(const open_params& p) override { return std::make_unique<tkrzw_store>(p); }
  std::unique_ptr<handoff> open_handoff(const open_params& p) override {
    return std::make_unique<tkrzw_handoff>(p);
  }
};

}  // namespace

int main(int argc, char** argv) {
  tkrzw_system s;
  return peers::run(argc, argv, s);
}
