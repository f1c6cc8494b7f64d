// franz — the broker's shared state per partition, and the type-erased
// storage under it. Internal to the messaging layer (namespace detail):
// applications use broker, producer and consumer.
//
// A broker is not a template: it reaches basic_log<FS> and the file system
// through two small interfaces (partition_log, storage_env) so that tests
// run the whole messaging layer on io::fault_fs while producer and consumer
// stay compiled once in lib/. The virtual call costs nothing next to an
// append or a read.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "franz/error.hpp"
#include "franz/io/file.hpp"
#include "franz/storage/log.hpp"

namespace franz::detail {

// The operations the messaging layer needs from one basic_log<FS>.
// Thread-safety and lifetimes are basic_log's (see storage/log.hpp).
class partition_log {
 public:
  virtual ~partition_log() = default;
  [[nodiscard]] virtual result<append_info> append_batch(std::span<const std::byte> batch, batch_check check) = 0;
  [[nodiscard]] virtual status flush() = 0;
  [[nodiscard]] virtual status flush_until(offset target) = 0;
  [[nodiscard]] virtual status tick() = 0;
  [[nodiscard]] virtual bool flush_due() const noexcept = 0;
  [[nodiscard]] virtual status set_config(const log_config& c) = 0;
  [[nodiscard]] virtual result<offset> delete_records(offset to) = 0;
  [[nodiscard]] virtual status close() = 0;
  [[nodiscard]] virtual result<log_read> read(offset from, std::size_t max_bytes, std::optional<offset> max_offset,
                                              bool at_least_one) const = 0;
  [[nodiscard]] virtual result<std::optional<time_lookup>> offsets_for_time(timestamp ts) const = 0;
  [[nodiscard]] virtual offset log_start_offset() const noexcept = 0;
  [[nodiscard]] virtual offset log_end_offset() const noexcept = 0;
  [[nodiscard]] virtual offset durable_offset() const noexcept = 0;
  [[nodiscard]] virtual std::uint64_t size_bytes() const = 0;
  [[nodiscard]] virtual std::vector<segment_info> segments() const = 0;
  [[nodiscard]] virtual bool offline() const noexcept = 0;
};

template <class FS>
class log_adapter final : public partition_log {
 public:
  explicit log_adapter(std::unique_ptr<basic_log<FS>> log) : log_(std::move(log)) {}
  result<append_info> append_batch(std::span<const std::byte> b, batch_check c) override {
    return log_->append_batch(b, c);
  }
  status flush() override { return log_->flush(); }
  status flush_until(offset t) override { return log_->flush_until(t); }
  status tick() override { return log_->tick(); }
  bool flush_due() const noexcept override { return log_->flush_due(); }
  status set_config(const log_config& c) override { return log_->set_config(c); }
  result<offset> delete_records(offset to) override { return log_->delete_records(to); }
  status close() override { return log_->close(); }
  result<log_read> read(offset f, std::size_t n, std::optional<offset> m, bool one) const override {
    return log_->read(f, n, m, one);
  }
  result<std::optional<time_lookup>> offsets_for_time(timestamp ts) const override {
    return log_->offsets_for_time(ts);
  }
  offset log_start_offset() const noexcept override { return log_->log_start_offset(); }
  offset log_end_offset() const noexcept override { return log_->log_end_offset(); }
  offset durable_offset() const noexcept override { return log_->durable_offset(); }
  std::uint64_t size_bytes() const override { return log_->size_bytes(); }
  std::vector<segment_info> segments() const override { return log_->segments(); }
  bool offline() const noexcept override { return log_->offline(); }

 private:
  std::unique_ptr<basic_log<FS>> log_;
};

// The file-system calls the broker makes for its own files (the topics
// file, partition directories, its lock), and how it opens a log.
// Thread-safety: called under the broker's admin mutex only. Lifetime: the
// FS it wraps outlives it (and every log it opened).
class storage_env {
 public:
  virtual ~storage_env() = default;
  [[nodiscard]] virtual result<std::unique_ptr<partition_log>> open_log(std::string dir, const log_options& o) = 0;
  // See io::write_file_atomically (and its `replaced`).
  [[nodiscard]] virtual status write_file_atomically(const std::string& dir, std::string_view name,
                                                     std::span<const std::byte> data, bool* replaced) = 0;
  // The whole file (an error with sys_errno ENOENT if it does not exist);
  // files over max_bytes are CORRUPT_MESSAGE.
  [[nodiscard]] virtual result<std::vector<std::byte>> read_file(const std::string& path, std::size_t max_bytes) = 0;
  [[nodiscard]] virtual result<io::path_type> stat(const std::string& path) = 0;
  // mkdir, then fsync the parent (see io::make_dir_durable).
  [[nodiscard]] virtual status make_dir_durable(const std::string& path) = 0;
  [[nodiscard]] virtual status fsync_dir(const std::string& path,
                                         io::sync_site where = io::sync_site::here()) = 0;
  [[nodiscard]] virtual result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  [[nodiscard]] virtual status rename(const std::string& from, const std::string& to) = 0;
  // Removes a directory and the files in it (partition directories hold no
  // subdirectories).
  [[nodiscard]] virtual status remove_dir(const std::string& path) = 0;
  [[nodiscard]] virtual status unlink(const std::string& path) = 0;
  // Takes the exclusive lock on path (created if missing) until release.
  [[nodiscard]] virtual status lock(const std::string& path) = 0;
  virtual void release_lock() = 0;
};

template <class FS>
class fs_env final : public storage_env {
 public:
  explicit fs_env(FS& fs) : fs_(&fs) {}
  result<std::unique_ptr<partition_log>> open_log(std::string dir, const log_options& o) override {
    auto log = basic_log<FS>::open(std::move(dir), o, *fs_);
    if (!log) return std::move(log).error();
    return std::unique_ptr<partition_log>(new log_adapter<FS>(std::move(*log)));
  }
  status write_file_atomically(const std::string& dir, std::string_view name, std::span<const std::byte> data,
                               bool* replaced) override {
    return io::write_file_atomically(*fs_, dir, std::string(name), data.data(), data.size(), replaced);
  }
  result<std::vector<std::byte>> read_file(const std::string& path, std::size_t max_bytes) override {
    FRANZ_ASSIGN_OR_RETURN(auto f, io::basic_file<FS>::open(*fs_, path, io::open_mode::read_only));
    FRANZ_ASSIGN_OR_RETURN(const std::uint64_t size, f.size());
    if (size > max_bytes)
      return make_error(errc::corrupt_message, fmt::format("{}: {} bytes is larger than any valid file", path, size));
    std::vector<std::byte> out(static_cast<std::size_t>(size));
    FRANZ_ASSIGN_OR_RETURN(const std::size_t n, f.pread(out.data(), out.size(), 0));
    out.resize(n);
    return out;
  }
  result<io::path_type> stat(const std::string& p) override { return fs_->stat(p); }
  status make_dir_durable(const std::string& p) override { return io::make_dir_durable(*fs_, p); }
  status fsync_dir(const std::string& p,
                   io::sync_site where = io::sync_site::here()) override {
    return fs_->fsync_dir(p, where);
  }
  result<std::vector<std::string>> list_dir(const std::string& p) override { return fs_->list_dir(p); }
  status rename(const std::string& a, const std::string& b) override { return fs_->rename(a, b); }
  status unlink(const std::string& p) override { return fs_->unlink(p); }
  status remove_dir(const std::string& p) override {
    FRANZ_ASSIGN_OR_RETURN(auto names, fs_->list_dir(p));
    for (const auto& n : names) FRANZ_TRY(fs_->unlink(p + "/" + n));
    return fs_->rmdir(p);
  }
  status lock(const std::string& path) override {
    FRANZ_ASSIGN_OR_RETURN(lock_, io::basic_file<FS>::open(*fs_, path, io::open_mode::create));
    return lock_.lock();
  }
  void release_lock() override { (void)lock_.close(); }

 private:
  FS* fs_;
  io::basic_file<FS> lock_;
};

// A consumer blocked in poll (owned by the consumer, registered with the
// partitions it is assigned; thread-safe). Appenders bump seq and, if the consumer is
// asleep, wake it; a consumer spins on seq for a few microseconds first
// (a futex wake-up costs more than the whole end-to-end budget).
struct waiter {
  std::atomic<std::uint64_t> seq{0};
  std::atomic<bool> sleeping{false};
  std::mutex mu;
  std::condition_variable cv;

  void signal() {
    seq.fetch_add(1, std::memory_order_seq_cst);
    if (sleeping.load(std::memory_order_seq_cst)) {
      std::lock_guard g(mu);
      cv.notify_all();
    }
  }

  // Returns once seq moved from `seen` or stop() holds, or at deadline.
  // Spins first for spin_us (checking the signal every iteration — a pause
  // is ~25 ns on some CPUs — and the clock every 64), then sleeps: spinning
  // keeps a producer-to-consumer hand-off under a microsecond.
  template <class Stop>
  void wait(std::uint64_t seen, std::chrono::steady_clock::time_point deadline, std::int64_t spin_us, Stop&& stop) {
    using clock = std::chrono::steady_clock;
    auto changed = [&] { return seq.load(std::memory_order_seq_cst) != seen || stop(); };
    if (spin_us > 0) {
      const auto spin_until = std::min(deadline, clock::now() + std::chrono::microseconds(spin_us));
      for (unsigned i = 1; !changed(); ++i) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if (i % 64 == 0 && clock::now() >= spin_until) break;
      }
      if (changed()) return;
    }
    sleeping.store(true, std::memory_order_seq_cst);
    {
      std::unique_lock l(mu);
      cv.wait_until(l, deadline, changed);
    }
    sleeping.store(false, std::memory_order_seq_cst);
  }
};

// One partition of a topic, shared by the broker, producers and consumers
// (shared_ptr): a deleted topic's partitions stay valid objects for as long
// as a client holds them, and answer UNKNOWN_TOPIC_OR_PARTITION.
// Thread-safety: all members are safe from any thread.
class partition {
 public:
  partition(std::string topic, std::int32_t id, std::unique_ptr<partition_log> log)
      : topic_(std::move(topic)), id_(id), log_(std::move(log)) {}

  [[nodiscard]] const std::string& topic() const noexcept { return topic_; }
  [[nodiscard]] std::int32_t id() const noexcept { return id_; }
  [[nodiscard]] bool deleted() const noexcept { return deleted_.load(std::memory_order_acquire); }

  // Appends one batch as the log's single writer and wakes waiting
  // consumers. UNKNOWN_TOPIC_OR_PARTITION once the topic is deleted;
  // KAFKA_STORAGE_ERROR if the partition is unlisted (see mark_unlisted).
  [[nodiscard]] result<append_info> append(std::span<const std::byte> batch, batch_check check) {
    result<append_info> r = [&]() -> result<append_info> {
      std::lock_guard g(write_mu_);
      if (deleted()) return gone();
      if (unlisted()) return unlisted_error();
      return log_->append_batch(batch, check);
    }();
    if (r.ok()) notify();
    return r;
  }

  // Group commit (see basic_log::flush_until); safe during appends. The
  // log's close (on deletion) waits for a flush in progress.
  [[nodiscard]] status flush_until(offset target) {
    if (deleted()) return gone();
    if (unlisted()) return unlisted_error();
    auto s = log_->flush_until(target);
    if (!s.ok() && deleted()) return gone();
    notify();  // read_durable consumers wait for the durable offset
    return s;
  }

  // Time-driven work (log::tick). A flush.ms fsync runs outside the writer
  // mutex, as producers' group commits do, so sends continue during it.
  [[nodiscard]] status tick() {
    bool due = false;
    {
      std::lock_guard g(write_mu_);
      if (deleted()) return gone();
      due = log_->flush_due();
    }
    if (due) FRANZ_TRY(flush_until(log_->log_end_offset()));
    return with_writer([](partition_log& log) { return log.tick(); });
  }

  // Runs f(log) as the log's writer (tick, config changes, delete_records).
  template <class F>
  auto with_writer(F&& f) -> decltype(f(std::declval<partition_log&>())) {
    auto r = [&]() -> decltype(f(std::declval<partition_log&>())) {
      std::lock_guard g(write_mu_);
      if (deleted()) return gone();
      if (unlisted()) return unlisted_error();
      return f(*log_);
    }();
    notify();  // a tick may have flushed
    return r;
  }

  // The log, for reads (any thread). Valid while this partition lives;
  // after deletion its reads fail and callers should report gone().
  [[nodiscard]] const partition_log& log() const noexcept { return *log_; }

  // Marks the partition deleted and closes its log, waiting out appends.
  status mark_deleted_and_close() {
    std::lock_guard g(write_mu_);
    deleted_.store(true, std::memory_order_release);
    auto s = log_->close();
    notify();
    return s;
  }

  // Closes the log (the broker is closing). Later appends fail ILLEGAL_STATE.
  status close() {
    std::lock_guard g(write_mu_);
    auto s = log_->close();
    notify();
    return s;
  }

  // The contract after a failed fsync: nothing whose durability depended
  // on it is ever acknowledged. A partition made by a create_topic or
  // create_partitions whose topics.meta directory fsync failed exists in
  // this broker (topics.meta was replaced: the broker shows what the disk
  // shows) but not durably: a power loss can roll topics.meta back, and the
  // next open then removes the partition and everything in it. So from
  // then until the broker is reopened its writes (append, flush_until,
  // delete_records, tick) fail with KAFKA_STORAGE_ERROR, as an offline
  // log's do, and no record or commit in it is acknowledged. Set by the
  // broker (admin mutex held) before the partition is published.
  void mark_unlisted() noexcept { unlisted_.store(true, std::memory_order_release); }
  [[nodiscard]] bool unlisted() const noexcept { return unlisted_.load(std::memory_order_acquire); }
  [[nodiscard]] error unlisted_error() const {
    return make_error(errc::kafka_storage_error,
                      fmt::format("{}-{}: the fsync that would have made the partition's creation durable "
                                  "(topics.meta) failed; close and reopen the broker",
                                  topic_, id_));
  }

  [[nodiscard]] error gone() const {
    return make_error(errc::unknown_topic_or_partition,
                      fmt::format("{}-{}: the topic was deleted", topic_, id_));
  }

  void add_waiter(waiter* w) {
    std::lock_guard g(waiters_mu_);
    waiters_.push_back(w);
    has_waiters_.store(true, std::memory_order_seq_cst);
  }
  void remove_waiter(waiter* w) {
    std::lock_guard g(waiters_mu_);
    std::erase(waiters_, w);
    has_waiters_.store(!waiters_.empty(), std::memory_order_seq_cst);
  }
  void notify() {
    if (!has_waiters_.load(std::memory_order_seq_cst)) return;
    std::lock_guard g(waiters_mu_);
    for (auto* w : waiters_) w->signal();
  }

 private:
  const std::string topic_;
  const std::int32_t id_;
  std::unique_ptr<partition_log> log_;
  std::mutex write_mu_;  // the log's one writer
  std::atomic<bool> deleted_{false};
  std::atomic<bool> unlisted_{false};  // see mark_unlisted
  std::mutex waiters_mu_;
  std::vector<waiter*> waiters_;
  std::atomic<bool> has_waiters_{false};
};

}  // namespace franz::detail
