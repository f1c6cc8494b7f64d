// SQLite 3.40 as a queue in the peer benchmarks.
//
// CREATE TABLE log(seq INTEGER PRIMARY KEY, data BLOB NOT NULL): seq is the
// rowid, the fastest append shape. journal_mode=WAL. Batches: BEGIN, one
// prepared INSERT (SQLITE_STATIC blob) per record, COMMIT. No fsync:
// synchronous=OFF; fsync per batch: synchronous=FULL (the WAL is synced at
// every commit). Single records: the same INSERT in autocommit mode. Reads:
// SELECT data FROM log ORDER BY seq. Handoff: a second connection (WAL lets
// it read beside the writer) polls SELECT ... WHERE seq >= next, spinning
// until rows appear (no cross-connection wake-up).
#include <sqlite3.h>

#include "driver.hpp"

namespace {

using namespace peers;

class db {
 public:
  db(const std::string& path, durability d) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK)
      fail("sqlite3_open_v2");
    // A connection can find the other's lock in the handoff (WAL set-up,
    // checkpoints): wait for it, as applications do, rather than fail.
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec(d == durability::none ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=FULL");
    exec("CREATE TABLE IF NOT EXISTS log(seq INTEGER PRIMARY KEY, data BLOB NOT NULL)");
  }
  ~db() { close(); }
  db(const db&) = delete;
  db& operator=(const db&) = delete;

  void close() {
    for (auto* s : statements_) sqlite3_finalize(s);
    statements_.clear();
    if (db_ != nullptr) sqlite3_close(db_);
    db_ = nullptr;
  }
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) fail(sql);
    statements_.push_back(s);
    return s;
  }
  // Steps a statement that returns no rows, then resets it.
  void run(sqlite3_stmt* s, const char* what) {
    if (sqlite3_step(s) != SQLITE_DONE) fail(what);
    sqlite3_reset(s);
  }
  // Steps a query: every row's blob column 0 goes to out (at most max rows).
  std::size_t rows(sqlite3_stmt* s, sink& out, std::size_t max) {
    std::size_t n = 0;
    int rc;
    while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
      out(static_cast<const std::byte*>(sqlite3_column_blob(s, 0)), static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
      ++n;
    }
    if (n < max && rc != SQLITE_DONE) fail("SELECT");
    sqlite3_reset(s);
    return n;
  }
  [[noreturn]] void fail(const char* what) const { die("%s: %s", what, db_ ? sqlite3_errmsg(db_) : "out of memory"); }

 private:
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> statements_;
};

class sqlite_store final : public store {
 public:
  explicit sqlite_store(const open_params& p) : p_(p), db_(p.dir + "/log.db", p.sync) {
    insert_ = db_.prepare("INSERT INTO log(seq, data) VALUES(?1, ?2)");
    begin_ = db_.prepare("BEGIN");
    commit_ = db_.prepare("COMMIT");
  }
  void append_batch(std::uint64_t first, const std::byte* recs, std::size_t count) override {
    db_.run(begin_, "BEGIN");
    for (std::size_t k = 0; k < count; ++k) insert(first + k, recs + k * p_.record_bytes);
    db_.run(commit_, "COMMIT");
  }
  void append_one(std::uint64_t seq, const std::byte* rec) override { insert(seq, rec); }
  void read_all(sink& out) override {
    sqlite3_stmt* s = db_.prepare("SELECT data FROM log ORDER BY seq");
    db_.rows(s, out, SIZE_MAX);
  }
  void close() override { db_.close(); }

 private:
  void insert(std::uint64_t seq, const std::byte* rec) {
    sqlite3_bind_int64(insert_, 1, static_cast<sqlite3_int64>(seq));
    sqlite3_bind_blob(insert_, 2, rec, static_cast<int>(p_.record_bytes), SQLITE_STATIC);
    db_.run(insert_, "INSERT");
  }

  open_params p_;
  db db_;
  sqlite3_stmt* insert_;
  sqlite3_stmt* begin_;
  sqlite3_stmt* commit_;
};

class sqlite_handoff final : public handoff {
 public:
  explicit sqlite_handoff(const open_params& p) : w_(p), r_(p.dir + "/log.db", p.sync) {
    select_ = r_.prepare("SELECT data FROM log WHERE seq >= ?1 ORDER BY seq LIMIT 1000");
  }
  void send(std::uint64_t seq, const std::byte* rec) override { w_.append_one(seq, rec); }
  std::size_t receive(sink& out, std::chrono::milliseconds wait) override {
    return spin_until(wait, [&] {
      sqlite3_bind_int64(select_, 1, static_cast<sqlite3_int64>(next_));
      const std::size_t n = r_.rows(select_, out, SIZE_MAX);
      next_ += n;
      return n;
    });
  }
  void close() override {
    r_.close();
    w_.close();
  }

 private:
  sqlite_store w_;
  db r_;
  sqlite3_stmt* select_;
  std::uint64_t next_ = 0;
};

class sqlite_system final : public system {
 public:
  std::string name() const override { return "sqlite"; }
  std::string settings(durability d) const override {
    return d == durability::none ? "journal_mode=WAL, synchronous=OFF, one transaction per batch"
                                 : "journal_mode=WAL, synchronous=FULL, one transaction per batch";
  }
  std::unique_ptr<store> open(const open_params& p) override { return std::make_unique<sqlite_store>(p); }
  std::unique_ptr<handoff> open_handoff(const open_params& p) override {
    return std::make_unique<sqlite_handoff>(p);
  }
};

}  // namespace

int main(int argc, char** argv) {
  sqlite_system s;
  return peers::run(argc, argv, s);
}
