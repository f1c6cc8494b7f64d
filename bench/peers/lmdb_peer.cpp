// LMDB (liblmdb 0.9.24) as a queue in the peer benchmarks.
//
// One database, MDB_INTEGERKEY, key = the record's sequence number (size_t),
// value = the record. Batches: one write transaction of mdb_put(MDB_APPEND)
// per record (appends skip the B-tree search and fill pages densely), then
// commit. No fsync: MDB_WRITEMAP | MDB_NOSYNC (commits store into the
// shared map; the OS writes it back). Fsync per batch: default flags, each
// commit writes its pages, syncs them, then the meta page. (Measured here:
// MDB_WRITEMAP makes a single-record commit ~10x faster, 0.5 vs 4.8 us, and
// batches no slower; with sync it is slower, 0.8-1.0M vs 1.5-1.8M rec/s.)
// Single records: one
// transaction each (MDB_NOSYNC). Reads: a read transaction and a cursor,
// zero-copy. Handoff: the writer commits one transaction per record; the
// reader renews a read transaction and seeks (MDB_SET_RANGE) to the next
// sequence number, spinning until it appears (LMDB has no wake-up).
#include <lmdb.h>

#include "driver.hpp"

namespace {

using namespace peers;

void ok(int rc, const char* what) {
  if (rc != MDB_SUCCESS) die("%s: %s", what, mdb_strerror(rc));
}

class env {
 public:
  env(const open_params& p, unsigned flags) {
    ok(mdb_env_create(&env_), "mdb_env_create");
    // The map is sparse; room for the records, LMDB's page overhead and
    // overflow pages (a record larger than half a page gets its own pages).
    const std::size_t per =
        p.record_bytes + 16 > 2000 ? (p.record_bytes + 16 + 4095) / 4096 * 4096 : p.record_bytes + 32;
    const std::size_t map = (static_cast<std::size_t>(p.records) * per * 2 + (256u << 20)) / 4096 * 4096;
    ok(mdb_env_set_mapsize(env_, map), "mdb_env_set_mapsize");
    ok(mdb_env_open(env_, p.dir.c_str(), flags | MDB_NOTLS, 0600), "mdb_env_open");
    MDB_txn* t;
    ok(mdb_txn_begin(env_, nullptr, 0, &t), "mdb_txn_begin");
    ok(mdb_dbi_open(t, nullptr, MDB_INTEGERKEY | MDB_CREATE, &dbi_), "mdb_dbi_open");
    ok(mdb_txn_commit(t), "mdb_txn_commit");
  }
  ~env() { close(); }
  void close() {
    if (env_ != nullptr) mdb_env_close(env_);
    env_ = nullptr;
  }
  MDB_env* get() const noexcept { return env_; }
  MDB_dbi dbi() const noexcept { return dbi_; }

  void put(MDB_txn* t, std::uint64_t seq, const std::byte* rec, std::size_t n) const {
    std::size_t k = seq;
    MDB_val key{sizeof k, &k}, val{n, const_cast<std::byte*>(rec)};
    ok(mdb_put(t, dbi_, &key, &val, MDB_APPEND), "mdb_put");
  }

 private:
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
};

// Delivers records from `from` on, at most max, through a cursor of t;
// returns how many.
std::size_t scan(const env& e, MDB_txn* t, std::uint64_t from, std::uint64_t max, sink& out) {
  MDB_cursor* c;
  ok(mdb_cursor_open(t, e.dbi(), &c), "mdb_cursor_open");
  std::size_t k = from;
  MDB_val key{sizeof k, &k}, val;
  std::size_t n = 0;
  for (int rc = mdb_cursor_get(c, &key, &val, from == 0 ? MDB_FIRST : MDB_SET_RANGE); n < max;
       rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
    if (rc == MDB_NOTFOUND) break;
    ok(rc, "mdb_cursor_get");
    out(static_cast<const std::byte*>(val.mv_data), val.mv_size);
    ++n;
  }
  mdb_cursor_close(c);
  return n;
}

class lmdb_store final : public store {
 public:
  explicit lmdb_store(const open_params& p)
      : p_(p), e_(p, p.sync == durability::none ? (MDB_WRITEMAP | MDB_NOSYNC) : 0u) {}
  void append_batch(std::uint64_t first, const std::byte* recs, std::size_t count) override {
    MDB_txn* t;
    ok(mdb_txn_begin(e_.get(), nullptr, 0, &t), "mdb_txn_begin");
    for (std::size_t k = 0; k < count; ++k) e_.put(t, first + k, recs + k * p_.record_bytes, p_.record_bytes);
    ok(mdb_txn_commit(t), "mdb_txn_commit");
  }
  void append_one(std::uint64_t seq, const std::byte* rec) override {
    MDB_txn* t;
    ok(mdb_txn_begin(e_.get(), nullptr, 0, &t), "mdb_txn_begin");
    e_.put(t, seq, rec, p_.record_bytes);
    ok(mdb_txn_commit(t), "mdb_txn_commit");
  }
  void read_all(sink& out) override {
    MDB_txn* t;
    ok(mdb_txn_begin(e_.get(), nullptr, MDB_RDONLY, &t), "mdb_txn_begin (read)");
    scan(e_, t, 0, UINT64_MAX, out);
    mdb_txn_abort(t);
  }
  void close() override { e_.close(); }
  const env& environment() const noexcept { return e_; }

 private:
  open_params p_;
  env e_;
};

class lmdb_handoff final : public handoff {
 public:
  explicit lmdb_handoff(const open_params& p) : w_(p) {}
  ~lmdb_handoff() override { close(); }
  void send(std::uint64_t seq, const std::byte* rec) override { w_.append_one(seq, rec); }
  std::size_t receive(sink& out, std::chrono::milliseconds wait) override {
    return spin_until(wait, [&] {
      if (reader_ == nullptr) {
        ok(mdb_txn_begin(w_env().get(), nullptr, MDB_RDONLY, &reader_), "mdb_txn_begin (read)");
      } else {
        ok(mdb_txn_renew(reader_), "mdb_txn_renew");
      }
      const std::size_t n = scan(w_env(), reader_, next_, 1000, out);
      mdb_txn_reset(reader_);
      next_ += n;
      return n;
    });
  }
  void close() override {
    if (reader_ != nullptr) mdb_txn_abort(reader_);
    reader_ = nullptr;
    w_.close();
  }

 private:
  const env& w_env() const noexcept { return w_.environment(); }
  lmdb_store w_;
  MDB_txn* reader_ = nullptr;
  std::uint64_t next_ = 0;
};

class lmdb_system final : public system {
 public:
  std::string name() const override { return "lmdb"; }
  std::string settings(durability d) const override {
    return d == durability::none ? "MDB_WRITEMAP|MDB_NOSYNC, MDB_APPEND, one txn per batch"
                                 : "default flags (commit syncs), MDB_APPEND, one txn per batch";
  }
  std::unique_ptr<store> open(const open_params& p) override { return std::make_unique<lmdb_store>(p); }
  std::unique_ptr<handoff> open_handoff(const open_params& p) override { return std::make_unique<lmdb_handoff>(p); }
};

}  // namespace

int main(int argc, char** argv) {
  lmdb_system s;
  return peers::run(argc, argv, s);
}
