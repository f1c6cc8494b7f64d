// Redis Streams in the peer benchmarks (bench/peers/driver.hpp has the
// workloads): hiredis 0.14 (blocking API, RESP2) against the redis-server the
// run script started (--server HOST:PORT).
//
// Each store and handoff is one stream key of its own
// ("franz-peers:<pid>:<n>"), deleted (DEL) on close. A record is one stream
// entry: XADD key * d <record>, the record's bytes as the value of field "d".
//
// Durability: the AOF. Every open sets CONFIG SET appendonly yes and
// appendfsync no (durability::none: the AOF is written, the OS flushes it)
// or always (durability::per_batch: the server fsyncs the AOF once per
// event-loop iteration, before that iteration's replies go out; a pipelined
// batch whose commands arrive over several iterations is covered by several
// fsyncs, and its last reply comes after the fsync of its last command).
// It also sets auto-aof-rewrite-percentage 0, and every open and close runs
// BGREWRITEAOF and waits for it (untimed): the AOF holds no deleted stream
// (it stays bounded across runs), and no automatic rewrite forks the server
// in the middle of a timed run (whether one did would depend on the AOF's
// history).
//
// Batches: pipelining, redisAppendCommandArgv x batch, then every reply read
// (each an entry id; an error reply dies). Single records: one XADD round
// trip. Reads: XRANGE key <start> + COUNT 1000, start "-" then "(<last id>"
// (exclusive). Handoff: send = one XADD round trip on the producer's
// connection; receive = XREAD COUNT 1000 BLOCK <ms> STREAMS key <last id> on
// a second connection (the server wakes the blocked reader).
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <array>
#include <initializer_list>
#include <string_view>

#include "driver.hpp"

namespace {

using namespace peers;

constexpr std::size_t read_chunk = 1000;  // XRANGE / XREAD COUNT
constexpr const char* field = "d";

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply = std::unique_ptr<redisReply, reply_deleter>;

std::string fresh_key() {
  static std::uint64_t n = 0;
  return fmt::format("franz-peers:{}:{}", ::getpid(), n++);
}

// One blocking connection.
class connection {
 public:
  explicit connection(const std::string& server) {
    const auto colon = server.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == server.size())
      die("--server %s: not HOST:PORT", server.c_str());
    const std::string host = server.substr(0, colon);
    const int port = static_cast<int>(parse_count("--server", server.c_str() + colon + 1));
    c_ = redisConnect(host.c_str(), port);
    if (c_ == nullptr) die("redisConnect %s: cannot allocate the context", server.c_str());
    if (c_->err != 0) die("redisConnect %s: %s", server.c_str(), c_->errstr);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() {
    if (c_ != nullptr) redisFree(c_);
  }

  // Queues a command (pipelining); its reply is read by get().
  void append(int argc, const char** argv, const std::size_t* lens, const char* what) {
    if (redisAppendCommandArgv(c_, argc, argv, lens) != REDIS_OK) die("%s (redisAppendCommandArgv): %s", what, c_->errstr);
  }
  // The next reply (sends what is queued first); an error reply dies.
  reply get(const char* what) {
    void* r = nullptr;
    if (redisGetReply(c_, &r) != REDIS_OK || r == nullptr)
      die("%s (redisGetReply): %s", what, c_->err != 0 ? c_->errstr : "no reply");
    reply rep(static_cast<redisReply*>(r));
    if (rep->type == REDIS_REPLY_ERROR) die("%s: %.*s", what, static_cast<int>(rep->len), rep->str);
    return rep;
  }
  // One command, one round trip.
  reply command(int argc, const char** argv, const std::size_t* lens, const char* what) {
    append(argc, argv, lens, what);
    return get(what);
  }
  reply command(std::initializer_list<std::string_view> args, const char* what) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return command(static_cast<int>(argv.size()), argv.data(), lens.data(), what);
  }

 private:
  redisContext* c_ = nullptr;
};

// XADD key * d <record>: the argument vector, the record pointer set per call.
class xadd_args {
 public:
  explicit xadd_args(const std::string& key, std::size_t record_bytes) : key_(key) {
    argv_ = {"XADD", key_.c_str(), "*", field, nullptr};
    lens_ = {4, key_.size(), 1, 1, record_bytes};
  }
  xadd_args(const xadd_args&) = delete;  // argv_ points into key_
  xadd_args& operator=(const xadd_args&) = delete;
  const char** argv(const std::byte* rec) {
    argv_[4] = reinterpret_cast<const char*>(rec);
    return argv_.data();
  }
  const std::size_t* lens() const { return lens_.data(); }

 private:
  std::string key_;
  std::array<const char*, 5> argv_{};
  std::array<std::size_t, 5> lens_{};
};

// A field-value entry [id, [d, value]]: hands the value to out, returns the id.
std::string_view deliver(const redisReply* entry, sink& out, const char* what) {
  if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 || entry->element[0]->type != REDIS_REPLY_STRING ||
      entry->element[1]->type != REDIS_REPLY_ARRAY || entry->element[1]->elements != 2)
    die("%s: a stream entry that is not [id, [field, value]]", what);
  const redisReply* v = entry->element[1]->element[1];
  if (v->type != REDIS_REPLY_STRING) die("%s: a stream entry whose value is not a string", what);
  out(reinterpret_cast<const std::byte*>(v->str), v->len);
  return {entry->element[0]->str, entry->element[0]->len};
}

// Waits until no AOF rewrite runs or is scheduled; dies if the last one failed.
void wait_for_rewrite(connection& c, const char* what) {
  const std::uint64_t deadline = mono_ns() + 120'000'000'000ull;
  for (;;) {
    reply r = c.command({"INFO", "persistence"}, "INFO persistence");
    if (r->type != REDIS_REPLY_STRING) die("INFO persistence: not a string reply");
    const std::string_view info(r->str, r->len);
    if (info.find("aof_rewrite_in_progress:0") != std::string_view::npos &&
        info.find("aof_rewrite_scheduled:0") != std::string_view::npos) {
      if (info.find("aof_last_bgrewrite_status:ok") == std::string_view::npos)
        die("%s: the AOF rewrite failed (INFO persistence: aof_last_bgrewrite_status is not ok)", what);
      return;
    }
    if (mono_ns() > deadline) die("%s: the AOF rewrite did not finish in 120 s", what);
    ::usleep(10'000);
  }
}

// The AOF on, with appendfsync for d (server-wide settings), automatic
// rewrites off, and the AOF rewritten now (untimed): it holds only the live
// keys, none of the deleted streams of earlier runs, and no rewrite forks
// the server during a timed run.
void configure(connection& c, durability d) {
  c.command({"CONFIG", "SET", "appendonly", "yes"}, "CONFIG SET appendonly yes");
  c.command({"CONFIG", "SET", "appendfsync", d == durability::none ? "no" : "always"}, "CONFIG SET appendfsync");
  c.command({"CONFIG", "SET", "auto-aof-rewrite-percentage", "0"}, "CONFIG SET auto-aof-rewrite-percentage 0");
  wait_for_rewrite(c, "CONFIG SET appendonly yes");  // turning the AOF on starts one
  c.command({"BGREWRITEAOF"}, "BGREWRITEAOF");
  wait_for_rewrite(c, "BGREWRITEAOF");
}

class stream_store final : public store {
 public:
  explicit stream_store(const open_params& p) : p_(p), c_(p.server), key_(fresh_key()), xadd_(key_, p.record_bytes) {
    configure(c_, p.sync);
  }
  ~stream_store() override { close(); }
  void append_batch(std::uint64_t, const std::byte* recs, std::size_t count) override {
    for (std::size_t k = 0; k < count; ++k) c_.append(5, xadd_.argv(recs + k * p_.record_bytes), xadd_.lens(), "XADD");
    for (std::size_t k = 0; k < count; ++k) {
      reply r = c_.get("XADD");
      if (r->type != REDIS_REPLY_STRING) die("XADD: the reply is not an entry id");
    }
  }
  void append_one(std::uint64_t, const std::byte* rec) override {
    reply r = c_.command(5, xadd_.argv(rec), xadd_.lens(), "XADD");
    if (r->type != REDIS_REPLY_STRING) die("XADD: the reply is not an entry id");
  }
  void read_all(sink& out) override {
    const std::string count = std::to_string(read_chunk);
    std::string start = "-";
    for (;;) {
      reply r = c_.command({"XRANGE", key_, start, "+", "COUNT", count}, "XRANGE");
      if (r->type != REDIS_REPLY_ARRAY) die("XRANGE: the reply is not an array");
      std::string_view last;
      for (std::size_t i = 0; i < r->elements; ++i) last = deliver(r->element[i], out, "XRANGE");
      if (r->elements < read_chunk) return;
      start.assign("(").append(last);
    }
  }
  [[nodiscard]] const std::string& key() const noexcept { return key_; }
  // DEL, then the AOF rewritten without the stream (untimed).
  void close() override {
    if (!open_) return;
    open_ = false;
    c_.command({"DEL", key_}, "DEL");
    c_.command({"BGREWRITEAOF"}, "BGREWRITEAOF");
    wait_for_rewrite(c_, "BGREWRITEAOF");
  }

 private:
  open_params p_;
  connection c_;
  std::string key_;
  xadd_args xadd_;
  bool open_ = true;
};

class stream_handoff final : public handoff {
 public:
  explicit stream_handoff(const open_params& p)
      : w_(p), r_(p.server), key_(w_.key()), count_(std::to_string(read_chunk)) {}
  ~stream_handoff() override { close(); }
  void send(std::uint64_t seq, const std::byte* rec) override { w_.append_one(seq, rec); }
  std::size_t receive(sink& out, std::chrono::milliseconds wait) override {
    // BLOCK 0 would wait forever: no wait = no BLOCK.
    const std::string block = std::to_string(wait.count());
    reply r = wait.count() > 0
                  ? r_.command({"XREAD", "COUNT", count_, "BLOCK", block, "STREAMS", key_, last_}, "XREAD")
                  : r_.command({"XREAD", "COUNT", count_, "STREAMS", key_, last_}, "XREAD");
    if (r->type == REDIS_REPLY_NIL) return 0;  // timed out
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 || r->element[0]->type != REDIS_REPLY_ARRAY ||
        r->element[0]->elements != 2 || r->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
      die("XREAD: the reply is not [[key, [entries]]]");
    const redisReply* entries = r->element[0]->element[1];
    std::string_view last;
    for (std::size_t i = 0; i < entries->elements; ++i) last = deliver(entries->element[i], out, "XREAD");
    if (entries->elements > 0) last_.assign(last);
    return entries->elements;
  }
  void close() override { w_.close(); }

 private:
  stream_store w_;  // the producer's side: its connection, the key, XADD
  connection r_;
  std::string key_, count_;
  std::string last_ = "0-0";
};

class redis_system final : public system {
 public:
  std::string name() const override { return "redis"; }
  std::string settings(durability d) const override {
    const char* path =
        "redis-server 7.0 stream; batches: XADD pipelined; single records and handoff sends: one XADD round trip; "
        "handoff: XREAD BLOCK on a second connection; ";
    return std::string(path) +
           (d == durability::none
                ? "appendonly yes, appendfsync no (AOF in the page cache), auto-aof-rewrite off"
                : "appendonly yes, appendfsync always (the server fsyncs once per event-loop iteration before "
                  "replying, so a pipelined batch may be covered by one or several fsyncs, all before its last "
                  "reply), auto-aof-rewrite off");
  }
  bool needs_server() const override { return true; }
  std::unique_ptr<store> open(const open_params& p) override { return std::make_unique<stream_store>(p); }
  std::unique_ptr<handoff> open_handoff(const open_params& p) override {
    return std::make_unique<stream_handoff>(p);
  }
};

}  // namespace

int main(int argc, char** argv) {
  redis_system s;
  return peers::run(argc, argv, s);
}
