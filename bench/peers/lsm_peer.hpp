// RocksDB and LevelDB as a queue in the peer benchmarks: the two share one
// C++ API shape, so one template serves both (rocksdb_peer.cpp and
// leveldb_peer.cpp give the library's types and settings as L).
//
// Key = the record's sequence number, 8 bytes big-endian (the default
// bytewise comparator then orders keys as the log), value = the record.
// Compression off. Batches: a WriteBatch of one Put per record, one Write;
// fsync per batch: WriteOptions::sync (one WAL fsync per Write). No fsync:
// sync false (the WAL is written to the page cache at each Write). Single
// records: one Put each. Reads: an iterator from the first key (what the
// run wrote is still in the memtable, or flushed to SST files for the
// larger runs: whichever the library did). Handoff: the writer Puts one
// record at a time; the reader seeks an iterator to the next key, spinning
// until it appears (neither library has a wake-up). L::fresh_iterator_per_poll:
// LevelDB iterators are snapshots, so each poll makes a new one; RocksDB
// has tailing iterators that see later writes.
#pragma once

#include <memory>

#include "driver.hpp"

namespace peers {

template <class L>
class lsm_store final : public store {
 public:
  explicit lsm_store(const open_params& p) : p_(p) {
    typename L::Options o;
    o.create_if_missing = true;
    o.error_if_exists = true;
    L::tune(o);
    typename L::DB* db = nullptr;
    ok(L::DB::Open(o, p.dir, &db), "DB::Open");
    db_.reset(db);
    wo_.sync = p.sync == durability::per_batch;
  }
  void append_batch(std::uint64_t first, const std::byte* recs, std::size_t count) override {
    typename L::WriteBatch b;
    char key[8];
    for (std::size_t k = 0; k < count; ++k) {
      encode(key, first + k);
      b.Put(typename L::Slice(key, 8), slice(recs + k * p_.record_bytes));
    }
    ok(db_->Write(wo_, &b), "DB::Write");
  }
  void append_one(std::uint64_t seq, const std::byte* rec) override {
    char key[8];
    encode(key, seq);
    ok(db_->Put(wo_, typename L::Slice(key, 8), slice(rec)), "DB::Put");
  }
  void read_all(sink& out) override {
    typename L::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<typename L::Iterator> it(db_->NewIterator(ro));
    for (it->SeekToFirst(); it->Valid(); it->Next()) deliver(it->value(), out);
    ok(it->status(), "Iterator");
  }
  void close() override { db_.reset(); }

  typename L::DB& db() { return *db_; }

  static void encode(char* key, std::uint64_t seq) noexcept {
    for (int i = 7; i >= 0; --i, seq >>= 8) key[i] = static_cast<char>(seq & 0xff);
  }
  static void deliver(const typename L::Slice& v, sink& out) {
    out(reinterpret_cast<const std::byte*>(v.data()), v.size());
  }
  template <class S>
  static void ok(const S& s, const char* what) {
    if (!s.ok()) die("%s: %s", what, s.ToString().c_str());
  }

 private:
  typename L::Slice slice(const std::byte* rec) const {
    return typename L::Slice(reinterpret_cast<const char*>(rec), p_.record_bytes);
  }

  open_params p_;
  std::unique_ptr<typename L::DB> db_;
  typename L::WriteOptions wo_;
};

template <class L>
class lsm_handoff final : public handoff {
 public:
  explicit lsm_handoff(const open_params& p) : w_(p) {}
  ~lsm_handoff() override { close(); }
  void send(std::uint64_t seq, const std::byte* rec) override { w_.append_one(seq, rec); }
  std::size_t receive(sink& out, std::chrono::milliseconds wait) override {
    return spin_until(wait, [&] {
      if (!it_ || L::fresh_iterator_per_poll) {
        typename L::ReadOptions ro;
        L::tail(ro);
        it_.reset(w_.db().NewIterator(ro));
      }
      char key[8];
      lsm_store<L>::encode(key, next_);
      std::size_t n = 0;
      for (it_->Seek(typename L::Slice(key, 8)); it_->Valid() && n < 1000; it_->Next(), ++n)
        lsm_store<L>::deliver(it_->value(), out);
      lsm_store<L>::ok(it_->status(), "Iterator");
      next_ += n;
      return n;
    });
  }
  void close() override {
    it_.reset();
    w_.close();
  }

 private:
  lsm_store<L> w_;
  std::unique_ptr<typename L::Iterator> it_;
  std::uint64_t next_ = 0;
};

template <class L>
class lsm_system final : public system {
 public:
  std::string name() const override { return L::name; }
  std::string settings(durability d) const override {
    return std::string(d == durability::none ? "WriteOptions.sync=false" : "WriteOptions.sync=true") +
           ", WriteBatch per batch, " + L::options_text;
  }
  std::unique_ptr<store> open(const open_params& p) override { return std::make_unique<lsm_store<L>>(p); }
  std::unique_ptr<handoff> open_handoff(const open_params& p) override {
    return std::make_unique<lsm_handoff<L>>(p);
  }
};

}  // namespace peers
