// The peer benchmarks' adapter interface: what every system under comparison
// (franz, the raw file, LMDB, RocksDB, ...) implements, the records they all
// store, and the sink every read goes through.
//
// One program per system (bench/peers/<system>_peer.cpp) defines a `system`
// and calls peers::run (driver.hpp), which runs the same workloads on it.
//
// Records. Record i of a workload whose batches hold B records and whose
// records are S bytes is le64(i) followed by S - 8 bytes that depend only on
// i % B (see record_maker). Producers fill a batch buffer once and rewrite
// only the 8-byte sequence numbers per batch, so building records costs every
// system the same 8-byte store per record. Every read passes each record to a
// sink, which touches every byte; the smoke test (--smoke) compares each
// record with the one written at its position.
//
// Thread-safety: a store is used by one thread. A handoff's send runs on one
// thread and its receive on one other thread, concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../bench_util.hpp"

namespace peers {

using franz::bench::die;

// Whether a write returns before its data is on disk.
enum class durability {
  none,       // no fsync asked for (each system's "page cache" setting)
  per_batch,  // append_batch returns once its records are durable
};

inline const char* name_of(durability d) { return d == durability::none ? "none" : "fsync per batch"; }

// What a store is opened for.
struct open_params {
  std::string dir;               // a fresh, empty directory for the system's files
  durability sync = durability::none;
  std::size_t record_bytes = 100;
  std::size_t batch_records = 1000;
  std::uint64_t records = 0;     // how many will be written, at most (to size maps, files, topics)
  std::string server;            // host:port of the system's server, for client-server systems
};

// The records of a workload (see the file comment).
class record_maker {
 public:
  record_maker(std::size_t record_bytes, std::size_t batch_records)
      : size_(record_bytes), batch_(batch_records), buf_(record_bytes * batch_records) {
    if (record_bytes < 8) die("records must be at least 8 bytes (their sequence number)");
    for (std::size_t slot = 0; slot < batch_; ++slot) {
      std::uint64_t x = 0x9E3779B97F4A7C15ull ^ (slot * 0x100000001B3ull) ^ record_bytes;
      std::byte* r = buf_.data() + slot * size_;
      for (std::size_t j = 8; j < size_; j += 8) {
        const std::uint64_t v = franz::bench::xorshift64s(x);
        std::memcpy(r + j, &v, std::min<std::size_t>(8, size_ - j));
      }
    }
  }
  [[nodiscard]] std::size_t record_bytes() const noexcept { return size_; }
  [[nodiscard]] std::size_t batch_records() const noexcept { return batch_; }

  // The batch buffer holding records first .. first + count - 1 (first a
  // multiple of batch_records, count <= batch_records).
  const std::byte* batch(std::uint64_t first, std::size_t count) noexcept {
    for (std::size_t k = 0; k < count; ++k) {
      const std::uint64_t seq = first + k;
      std::memcpy(buf_.data() + k * size_, &seq, 8);
    }
    return buf_.data();
  }
  // Record seq, in the buffer slot it shares with its batch (valid until
  // the next call).
  std::byte* one(std::uint64_t seq) noexcept {
    std::byte* r = buf_.data() + (seq % batch_) * size_;
    std::memcpy(r, &seq, 8);
    return r;
  }
  // Whether p[0..n) is record seq.
  [[nodiscard]] bool matches(std::uint64_t seq, const std::byte* p, std::size_t n) const noexcept {
    if (n != size_) return false;
    std::uint64_t got;
    std::memcpy(&got, p, 8);
    const std::byte* want = buf_.data() + (seq % batch_) * size_;
    return got == seq && std::memcmp(p + 8, want + 8, size_ - 8) == 0;
  }
  // byte_sum over records 0 .. n - 1 (what a sink's sum must come to).
  [[nodiscard]] std::uint64_t expected_sum(std::uint64_t n) const {
    std::uint64_t s = 0;
    std::vector<std::uint64_t> tail(batch_);
    for (std::size_t slot = 0; slot < batch_; ++slot)
      tail[slot] = franz::bench::byte_sum(reinterpret_cast<const char*>(buf_.data() + slot * size_ + 8), size_ - 8);
    for (std::uint64_t i = 0; i < n; ++i) {
      s += tail[i % batch_];
      for (int b = 0; b < 8; ++b) s += (i >> (8 * b)) & 0xff;
    }
    return s;
  }

 private:
  std::size_t size_, batch_;
  std::vector<std::byte> buf_;
};

// Where reads deliver records, in order. Touches every byte: sums them, or
// (verify) compares each record with the one written at its position, or
// (latency) also takes the now - send time carried in bytes 8..16.
class sink {
 public:
  enum class mode { sum, verify, latency };
  sink(mode m, const record_maker* rm = nullptr) : mode_(m), rm_(rm) {}

  void operator()(const std::byte* p, std::size_t n) {
    sum_ += franz::bench::byte_sum(reinterpret_cast<const char*>(p), n);
    if (mode_ == mode::verify) [[unlikely]] {
      if (!rm_->matches(count_, p, n)) mismatch(p, n);
    } else if (mode_ == mode::latency) [[unlikely]] {
      const std::uint64_t now = franz::bench::mono_ns();
      std::uint64_t seq, sent;
      std::memcpy(&seq, p, 8);
      std::memcpy(&sent, p + 8, 8);
      if (seq != count_ || n < 16) mismatch(p, n);
      latencies_.push_back(now - sent);
    }
    ++count_;
  }
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t sum() const noexcept { return sum_; }
  std::vector<std::uint64_t>& latencies() noexcept { return latencies_; }

 private:
  [[noreturn]] void mismatch(const std::byte* p, std::size_t n) const {
    std::uint64_t got = 0;
    std::memcpy(&got, p, std::min<std::size_t>(8, n));
    die("read back record %llu: got %zu bytes with sequence number %llu, not what was written",
        static_cast<unsigned long long>(count_), n, static_cast<unsigned long long>(got));
  }
  mode mode_;
  const record_maker* rm_;
  std::uint64_t count_ = 0, sum_ = 0;
  std::vector<std::uint64_t> latencies_;
};

// An open store: appends, then reads back what it holds.
class store {
 public:
  virtual ~store() = default;
  // Appends count records of p.record_bytes each, back to back at recs,
  // sequence numbers first .. first + count - 1. With durability::per_batch
  // they are durable on return.
  virtual void append_batch(std::uint64_t first, const std::byte* recs, std::size_t count) = 0;
  // Appends one record (durability::none).
  virtual void append_one(std::uint64_t seq, const std::byte* rec) = 0;
  // Reads every record from the first, in order, into out. Called after the
  // appends, on the same thread (the writer is done).
  virtual void read_all(sink& out) = 0;
  // Closes the store (untimed); its files are removed by the driver.
  virtual void close() {}
};

// A producer thread handing records to a consumer thread through the system.
class handoff {
 public:
  virtual ~handoff() = default;
  // Producer thread: appends one record and makes it visible to receive.
  virtual void send(std::uint64_t seq, const std::byte* rec) = 0;
  // Consumer thread: delivers the records available, in order, waiting up
  // to `wait` for the first; returns how many it delivered.
  virtual std::size_t receive(sink& out, std::chrono::milliseconds wait) = 0;
  // After both threads are done.
  virtual void close() {}
};

// For systems without a wake-up: calls try_once() (which delivers the
// records there are and returns how many) until it delivers some or `wait`
// has passed, spinning between tries.
template <class F>
std::size_t spin_until(std::chrono::milliseconds wait, F try_once) {
  const std::uint64_t deadline = franz::bench::mono_ns() + static_cast<std::uint64_t>(wait.count()) * 1'000'000;
  do {
    if (const std::size_t n = try_once(); n > 0) return n;
    franz::bench::cpu_relax();
  } while (franz::bench::mono_ns() < deadline);
  return 0;
}

// One system under comparison.
class system {
 public:
  virtual ~system() = default;
  [[nodiscard]] virtual std::string name() const = 0;
  // The settings behind a durability, as printed next to its figures
  // (e.g. "MDB_NOSYNC", "synchronous=FULL, journal_mode=WAL").
  [[nodiscard]] virtual std::string settings(durability d) const = 0;
  // Whether the system can offer d at all (a server without an fsync
  // setting cannot offer per_batch).
  [[nodiscard]] virtual bool offers(durability) const { return true; }
  // Whether the system needs --server (a server the run script started).
  [[nodiscard]] virtual bool needs_server() const { return false; }
  [[nodiscard]] virtual std::unique_ptr<store> open(const open_params& p) = 0;
  [[nodiscard]] virtual std::unique_ptr<handoff> open_handoff(const open_params& p) = 0;
  // A store whose batches go round-robin to `partitions` partitions (batch
  // k to partition k % partitions) and whose read_all reads them back in
  // the same rotation, a batch from each in turn; nullptr if the system has
  // no partitions (only franz has: the partition-scaling workload).
  [[nodiscard]] virtual std::unique_ptr<store> open_partitioned(const open_params&, int /*partitions*/) {
    return nullptr;
  }
};

}  // namespace peers
