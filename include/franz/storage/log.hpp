// franz — basic_log<FS>: the ordered segments of one partition directory.
//
//   auto log = franz::log::open("/tmp/franz/orders-0", {});
//   auto info = (*log)->append(franz::record{.key = "k", .value = "v"});
//   auto read = (*log)->read(franz::offset{0}, 1 << 20);
//
// append assigns dense offsets from the log end and encodes the batch
// straight into the active segment's mapping. read returns zero-copy views.
// The log keeps three offsets, as Kafka does (all exclusive ends):
//   log_start_offset <= durable_offset <= log_end_offset
// durable_offset (Kafka's high watermark here) is the log end at the last
// successful fsync: every record below it survives a power loss.
//
// Recovery on open validates every batch past the recovery point (from
// partition.checkpoint), truncates a torn or corrupt tail and reports what
// was dropped, rebuilds damaged indexes and removes leftover .tmp files.
// Damage below the recovery point is CORRUPT_MESSAGE unless repair is set.
//
// After a failed fsync or write the log is offline: every later write or
// flush returns LOG_OFFLINE. Close and reopen it; recovery then drops
// whatever was never made durable. A failed fsync is never retried.
//
// Thread-safety: writes (append, append_batch, roll, truncate_to,
// delete_records, enforce_retention, tick, set_config, close) need external
// serialization: one writer at a time. flush() and flush_until() may also
// run on other threads, concurrently with the writer's appends: fsyncs run
// outside the writer's path, so appends continue while a flush waits on the
// disk (group commit: one fsync covers every append before it). Reads (read,
// offsets_for_time, the offset getters, transfer_to) are safe from any
// thread, concurrently with the writer, except that truncate_to must not run
// while readers hold views past the new end.
// Lifetime: views in a log_read stay valid while the log_read lives (it
// pins its segment), even if retention deletes the segment; close the log
// only after readers are done. The FS and clock outlive the log.
#pragma once

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "franz/codec/codec.hpp"
#include "franz/error.hpp"
#include "franz/format/checkpoint.hpp"
#include "franz/format/file_names.hpp"
#include "franz/format/record_batch.hpp"
#include "franz/io/file.hpp"
#include "franz/io/posix_fs.hpp"
#include "franz/storage/config.hpp"
#include "franz/storage/reader.hpp"
#include "franz/storage/segment.hpp"
#include "franz/types.hpp"

namespace franz {

// How much append_batch checks a batch before storing it.
enum class batch_check : std::uint8_t {
  full,         // checksum, header and every record (input from outside)
  header_only,  // header fields only: a batch franz's encoder just built
};

// Where an append landed.
struct append_info {
  offset base_offset;
  offset last_offset;
  // The batch's max timestamp as stored (LogAppendTime: the append time).
  timestamp max_timestamp;
  std::uint64_t bytes = 0;
};

// What recovery did on open.
struct recovery_report {
  bool clean = true;                       // nothing was truncated, rebuilt or removed
  std::uint64_t truncated_bytes = 0;       // torn/corrupt tail bytes dropped
  std::uint64_t segments_validated = 0;    // segments walked batch by batch
  std::uint64_t segments_deleted = 0;      // segments past a truncation point
  std::uint64_t indexes_rebuilt = 0;
  std::uint64_t temp_files_removed = 0;
  std::uint64_t orphan_files_removed = 0;  // indexes without a .log
  // The lowest base offset of a segment open walked batch by batch (one it
  // validated or rebuilt), INT64_MAX if it trusted them all: segments below
  // it were loaded from their indexes, as every segment sealed and flushed
  // below the recovery point must be.
  std::int64_t first_walked_base = INT64_MAX;
  std::string detail;                      // why the tail was truncated, if it was
};

struct log_options {
  log_config config{};
  // Time source for timestamps, segment.ms, flush.ms and retention.ms.
  const clock* clk = &system_clock::instance();
  // Create the directory (mode 0700) if it does not exist. Its parent must.
  bool create_if_missing = true;
  // Validate every batch of every segment on open, not only those past the
  // recovery point. Slow on big logs; finds silent damage early.
  bool verify_all = false;
  // Damage below the recovery point truncates the log there (losing what
  // follows) instead of failing the open with CORRUPT_MESSAGE.
  bool repair = false;
  // Keep this process's resident memory flat however much is written or
  // read: pages more than 4 MiB behind the writer and behind each read are
  // unmapped (they stay in the page cache). Costs one page fault per 64 KiB
  // when mapped data is read again (re-reading hot data measured ~22%
  // slower). false: pages stay mapped, and RSS grows with what was touched.
  bool bounded_residency = true;
};

// Bytes read from one segment: whole batches, zero-copy. The first batch
// may hold records before the requested offset (batches are not split);
// record_reader skips them. Copyable; pins the segment.
class log_read {
 public:
  log_read() = default;
  // source names the segment file; it lives in the pinned segment.
  log_read(std::shared_ptr<const void> pin, std::span<const std::byte> data, offset from, std::string_view source,
           std::uint64_t position)
      : pin_(std::move(pin)), data_(data), from_(from), source_(source), position_(position) {}

  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return data_; }
  [[nodiscard]] bool empty() const noexcept { return data_.empty(); }
  [[nodiscard]] offset from() const noexcept { return from_; }
  // The segment file and byte position the data starts at.
  [[nodiscard]] std::string_view source() const noexcept { return source_; }
  [[nodiscard]] std::uint64_t position() const noexcept { return position_; }

  [[nodiscard]] batch_reader batches(bool verify_checksums = true) const {
    return batch_reader(data_, verify_checksums, source_, position_);
  }
  [[nodiscard]] record_reader records(bool verify_checksums = true) const {
    return record_reader(data_, from_, verify_checksums, source_, position_);
  }

 private:
  std::shared_ptr<const void> pin_;
  std::span<const std::byte> data_;
  offset from_{0};
  std::string_view source_;
  std::uint64_t position_ = 0;
};

// offsets_for_time's answer: the first record with timestamp >= the target.
struct time_lookup {
  offset off;
  timestamp ts;
};

// Kafka's ListOffsets special timestamps.
inline constexpr timestamp latest_timestamp{-1};
inline constexpr timestamp earliest_timestamp{-2};

// Size and offsets of one segment, for describe and tests.
struct segment_info {
  offset base_offset;
  offset next_offset;
  std::uint64_t bytes = 0;
  timestamp max_timestamp;
  std::size_t index_entries = 0;
  std::size_t time_index_entries = 0;
  // A lookup met an index entry that disagrees with the data; the indexes
  // are rebuilt at close (lookups stay correct meanwhile).
  bool index_damaged = false;
};

template <class FS = io::posix_fs>
class basic_log {
  using segment = basic_segment<FS>;
  using segment_ptr = std::shared_ptr<segment>;
  using segment_list = std::vector<segment_ptr>;

 public:
  basic_log(const basic_log&) = delete;
  basic_log& operator=(const basic_log&) = delete;
  ~basic_log() { (void)close(); }

  // Opens (creating if allowed) the log in dir and runs recovery. Errors:
  // INVALID_CONFIG, INVALID_LOG_DIR (not a directory, or missing),
  // FOREIGN_FILE, LOG_DIR_LOCKED, CORRUPT_MESSAGE (damage below the
  // recovery point without repair), KAFKA_STORAGE_ERROR / OUT_OF_SPACE.
  [[nodiscard]] static result<std::unique_ptr<basic_log>> open(std::string dir, log_options opts = {},
                                                               FS& fs = FS::instance()) {
    FRANZ_TRY(opts.config.validate());
    std::unique_ptr<basic_log> log(new basic_log(fs, std::move(dir), opts));
    if (auto s = log->open_dir(opts); !s.ok()) {
      log->release_all();
      log->closed_ = true;
      return std::move(s).error();
    }
    return log;
  }

  // --- writes ---------------------------------------------------------------

  // Appends recs as one batch. Records without a timestamp get the clock's
  // now (CreateTime); under LogAppendTime all get now. Errors:
  // INVALID_RECORD (empty), INVALID_TIMESTAMP, RECORD_TOO_LARGE,
  // OUT_OF_SPACE / KAFKA_STORAGE_ERROR (nothing written), LOG_OFFLINE. If
  // flush.messages or flush.ms make this append flush and the fsync fails,
  // the batch was written but the error is returned and the log goes offline.
  // params carries the producer id, epoch and base sequence, and the
  // transactional bit; other attribute bits and the base offset are the log's.
  [[nodiscard]] result<append_info> append(std::span<const record> recs, const format::batch_params& params = {}) {
    if (!writable()) [[unlikely]] return not_writable();
    if (recs.empty()) [[unlikely]] return make_error(errc::invalid_record, "append of an empty batch");
    const std::int64_t now = clk_->now_ms();
    const bool append_time = cfg_.message_timestamp_type == timestamp_type::log_append_time;
    // Under LogAppendTime every record gets now and the stored deltas are 0.
    format::batch_times t{now, now, now, append_time};
    std::int64_t bad_ts = 0;
    if (bodies_.size() < recs.size()) bodies_.resize(recs.size());
    const auto measured = format::measure(recs, t, &bad_ts, bodies_.data());
    if (!measured) [[unlikely]]
      return make_error(errc::invalid_timestamp, fmt::format("timestamp {} is negative", bad_ts));
    const std::size_t records_bytes = *measured;
    const std::int64_t base = log_end_.load(std::memory_order_relaxed);
    FRANZ_TRY(offsets_left(base, static_cast<std::int64_t>(recs.size())));
    const std::int64_t last = base + static_cast<std::int64_t>(recs.size()) - 1;
    format::batch_params p = params;
    p.base_offset = base;
    // Callers may mark a batch transactional; the codec, timestamp type and
    // control bits belong to the log.
    p.attributes = static_cast<std::uint16_t>(params.attributes & format::attr_transactional);
    if (append_time) p.attributes |= format::attr_timestamp_type;
    const auto count = static_cast<std::int64_t>(recs.size());

    const compression codec = cfg_.compression_type.value_or(compression::none);
    if (codec == compression::none) {
      const std::size_t n = format::batch_header_size + records_bytes;
      if (too_large(n)) [[unlikely]] return size_error(n);
      if (n < pwrite_threshold) {
        // Small: encode straight into the mapping.
        FRANZ_ASSIGN_OR_RETURN(std::byte * dst, place(n, last, now, /*mapped=*/true));
        format::encode_batch(dst, recs, t, p, bodies_.data());
        return finish_append(n, base, last, t.max, now);
      }
      // Large: encode into scratch (hot in cache), then one pwrite.
      if (scratch_.size() < n) scratch_.resize(n);
      format::encode_batch(scratch_.data(), recs, t, p, bodies_.data());
      FRANZ_TRY(store(scratch_.data(), n, last, now));
      return finish_append(n, base, last, t.max, now);
    }
    // Compressed: encode the records into scratch, compress into a second
    // scratch area behind a header, then store the finished batch.
    if (scratch_.size() < records_bytes) scratch_.resize(records_bytes);
    format::put_records(scratch_.data(), recs, t, bodies_.data());
    const std::size_t bound = format::batch_header_size + codec::compressed_bound(codec, records_bytes);
    if (packed_.size() < bound) packed_.resize(bound);
    FRANZ_ASSIGN_OR_RETURN(
        const std::size_t csize,
        codec::compress(codec, std::span<const std::byte>(scratch_.data(), records_bytes),
                        packed_.data() + format::batch_header_size));
    p.attributes |= static_cast<std::uint16_t>(codec);
    format::seal_batch(packed_.data(), csize, static_cast<std::int32_t>(count), static_cast<std::int32_t>(count) - 1,
                       p, t.first, t.max);
    const std::size_t n = format::batch_header_size + csize;
    if (too_large(n)) [[unlikely]] return size_error(n);
    FRANZ_TRY(store(packed_.data(), n, last, now));
    return finish_append(n, base, last, t.max, now);
  }

  [[nodiscard]] result<append_info> append(const record& r) { return append(std::span<const record>(&r, 1)); }

  // Appends a batch already encoded in franz's format (e.g. by a producer).
  // The log assigns its base offset; under LogAppendTime it also sets the
  // timestamps and re-checksums. The batch is validated first: checksum
  // (CORRUPT_MESSAGE), header and records (INVALID_RECORD), codec
  // (UNSUPPORTED_COMPRESSION_TYPE), size (RECORD_TOO_LARGE).
  // check = header_only skips the checksum and the walk over the records;
  // it is for batches franz's own encoder has just built (the producer).
  [[nodiscard]] result<append_info> append_batch(std::span<const std::byte> batch,
                                                 batch_check check = batch_check::full) {
    if (!writable()) [[unlikely]] return not_writable();
    if (too_large(batch.size())) [[unlikely]] return size_error(batch.size());
    const bool full = check == batch_check::full;
    const auto probe = format::probe_batch(batch.data(), batch.size(), full);
    if (probe.kind != format::batch_probe::ok || probe.size != batch.size())
      return make_error(errc::corrupt_message,
                        fmt::format("appended batch is invalid: {}",
                                    probe.kind == format::batch_probe::ok ? "trailing bytes after the batch" : probe.why));
    const batch_view in(batch);
    if (full) FRANZ_TRY(validate_incoming(in));
    const std::int64_t now = clk_->now_ms();
    const std::int64_t base = log_end_.load(std::memory_order_relaxed);
    FRANZ_TRY(offsets_left(base, std::int64_t{in.header().last_offset_delta} + 1));
    const std::int64_t last = base + in.header().last_offset_delta;
    // The header is patched in a copy; the body is stored as it came.
    std::byte head[format::batch_header_size];
    std::memcpy(head, batch.data(), sizeof head);
    format::store_le(head, base);
    std::int64_t max_ts = in.header().max_timestamp;
    if (cfg_.message_timestamp_type == timestamp_type::log_append_time) {
      max_ts = now;
      format::store_le(head + offsetof(format::batch_header, max_timestamp), now);
      format::store_le(head + offsetof(format::batch_header, attributes),
                       static_cast<std::uint16_t>(in.header().attributes | format::attr_timestamp_type));
      XXH3_state_t st;
      XXH3_64bits_reset(&st);
      XXH3_64bits_update(&st, head + format::checksummed_from, sizeof head - format::checksummed_from);
      XXH3_64bits_update(&st, batch.data() + sizeof head, batch.size() - sizeof head);
      format::store_le(head + offsetof(format::batch_header, checksum), XXH3_64bits_digest(&st));
    }
    FRANZ_TRY(store(head, sizeof head, last, now, batch.subspan(sizeof head)));
    return finish_append(batch.size(), base, last, max_ts, now);
  }

  // fsyncs every segment written since the last flush (and the directory if
  // segments were created), then advances durable_offset to the log end.
  // Any thread (see the class comment); concurrent flushes queue on one
  // mutex and each syncs what was appended before it started.
  [[nodiscard]] status flush() {
    std::lock_guard f(flush_mu_);
    return flush_locked();
  }

  // Group commit: returns once every record below `target` is durable. If a
  // flush in progress (or an earlier one) already covered target, no fsync
  // is issued; otherwise one fsync covers everything appended so far.
  // A target past the log end is clamped to it.
  [[nodiscard]] status flush_until(offset target) {
    if (durable_.load(std::memory_order_acquire) >= target.value()) return {};
    std::lock_guard f(flush_mu_);
    if (durable_.load(std::memory_order_acquire) >= target.value()) return {};
    return flush_locked();
  }

  // Replaces the configuration (Kafka's alter configs). Takes effect for
  // the next append, roll and retention pass; index sizes apply to segments
  // created from now on. Writer-serialized. INVALID_CONFIG leaves it as is.
  [[nodiscard]] status set_config(const log_config& c) {
    FRANZ_TRY(c.validate());
    std::lock_guard f(flush_mu_);
    cfg_ = c;
    return {};
  }

 private:
  [[nodiscard]] status flush_locked() {
    FRANZ_TRY(check_writable());
    const std::int64_t end = log_end_.load(std::memory_order_acquire);
    if (durable_.load(std::memory_order_relaxed) == end && !dir_dirty_) return {};
    // Segments before synced_from_base_ were fully synced (with their
    // indexes) when they were sealed; sealed ones since then need indexes too.
    auto segs = snapshot();
    for (const auto& s : *segs) {
      if (s->base_offset() < synced_from_base_) continue;
      if (auto st = s->sync(s->sealed()); !st.ok()) return sync_failed(std::move(st));
    }
    if (dir_dirty_) {
      // Out of descriptors, nothing was synced: the next flush tries again.
      if (auto st = fs_->fsync_dir(dir_); !st.ok())
        return io::sync_may_have_lost_data(st.error()) ? sync_failed(std::move(st)) : std::move(st).error();
      dir_dirty_ = false;
    }
    synced_from_base_ = active_->base_offset();
    durable_.store(end, std::memory_order_release);
    bytes_since_flush_.store(0, std::memory_order_relaxed);
    last_flush_ms_.store(clk_->now_ms(), std::memory_order_relaxed);
    // Persist the recovery point once it moves past a segment boundary, so
    // recovery walks about one segment, at one checkpoint write per segment.
    if (segment_holding(end) != segment_holding(recovery_point_)) {
      if (auto st = move_recovery_point(log_start_.load(std::memory_order_relaxed), end); !st.ok())
        return go_offline(std::move(st));
    }
    return {};
  }

 public:
  // Whether flush.ms calls for a flush now (records not yet durable and the
  // last flush older than flush.ms). Writer-serialized (reads the config).
  [[nodiscard]] bool flush_due() const noexcept {
    return durable_.load(std::memory_order_relaxed) != log_end_.load(std::memory_order_relaxed) &&
           clk_->now_ms() - last_flush_ms_.load(std::memory_order_relaxed) >= cfg_.flush_ms;
  }

  // Time-driven work, for callers without background threads: flush when
  // flush.ms has passed, roll when segment.ms has passed, and retention.
  [[nodiscard]] status tick() {
    FRANZ_TRY(check_writable());
    const std::int64_t now = clk_->now_ms();
    if (flush_due()) FRANZ_TRY(flush());
    if (!active_->empty() && active_->needs_roll(0, log_end_.load(std::memory_order_relaxed), now, cfg_))
      FRANZ_TRY(roll());
    auto deleted = enforce_retention();
    if (!deleted) return std::move(deleted).error();
    return {};
  }

  // Seals the active segment and starts a new one at the log end (no-op if
  // the active segment is empty).
  [[nodiscard]] status roll() {
    std::lock_guard f(flush_mu_);
    return roll_locked();
  }

  // Removes every batch holding an offset >= to (the whole batch holding
  // `to`, if `to` is inside one). Durable on return. Errors:
  // OFFSET_OUT_OF_RANGE if to < log start.
  [[nodiscard]] status truncate_to(offset to) {
    std::lock_guard f(flush_mu_);
    FRANZ_TRY(check_writable());
    const std::int64_t t = to.value();
    if (t >= log_end_.load(std::memory_order_relaxed)) return {};
    const std::int64_t start = log_start_.load(std::memory_order_relaxed);
    if (t < start)
      return make_error(errc::offset_out_of_range,
                        fmt::format("truncate_to {} is below the log start {}", t, start));
    auto segs = snapshot();
    const std::size_t i = index_of_segment(*segs, t);
    auto& seg = (*segs)[i];
    FRANZ_ASSIGN_OR_RETURN(const std::uint64_t pos, seg->position_of(t));
    // The whole batch holding t goes, so the new end is that batch's base.
    const std::int64_t new_end =
        pos < seg->size() ? format::read_header(seg->data() + pos).base_offset : seg->next_offset();
    if (new_end < start)
      return make_error(errc::offset_out_of_range,
                        fmt::format("truncate_to {} would remove the batch starting at {}, below the log start {}", t,
                                    new_end, start));
    // Lower the recovery point first: a crash part-way through then leaves
    // bytes past it, which recovery validates, never a hole below it.
    if (recovery_point_ > new_end) {
      if (auto s = write_checkpoint(start, new_end); !s.ok()) return go_offline(std::move(s));
    }
    auto list = std::make_shared<segment_list>(segs->begin(), segs->begin() + static_cast<std::ptrdiff_t>(i) + 1);
    publish(list);
    for (std::size_t j = i + 1; j < segs->size(); ++j)
      if (auto s = (*segs)[j]->delete_files(); !s.ok()) return go_offline(std::move(s));
    if (auto s = fs_->fsync_dir(dir_); !s.ok()) return sync_failed(std::move(s));
    auto end = seg->truncate_to(t);
    if (!end) return go_offline(std::move(end).error());
    active_ = seg;
    log_end_.store(*end, std::memory_order_release);
    if (durable_.load() > *end) durable_.store(*end, std::memory_order_release);
    synced_from_base_ = std::min(synced_from_base_, seg->base_offset());
    if (auto s = seg->sync(true); !s.ok()) return sync_failed(std::move(s));
    dir_dirty_ = false;
    return {};
  }

  // Moves the log start offset forward to `to` (Kafka's DeleteRecords),
  // persists it, and deletes segments wholly below it. A `to` at or below
  // the current start is a no-op. Errors: OFFSET_OUT_OF_RANGE if to is past
  // the log end. Returns the new log start.
  [[nodiscard]] result<offset> delete_records(offset to) {
    std::lock_guard f(flush_mu_);
    FRANZ_TRY(check_writable());
    const std::int64_t t = to.value();
    const std::int64_t end = log_end_.load(std::memory_order_relaxed);
    if (t > end)
      return make_error(errc::offset_out_of_range,
                        fmt::format("delete_records to {} is past the log end {}", t, end));
    if (t <= log_start_.load(std::memory_order_relaxed)) return offset{log_start_.load()};
    if (auto s = write_checkpoint(t, recovery_point_); !s.ok()) {
      if (s.code() != errc::out_of_space) return go_offline(std::move(s));
      // A disk with no free page for the checkpoint's .tmp: free what lies
      // wholly below t first (see delete_segments_below), then try again.
      // If that frees nothing, OUT_OF_SPACE, with the start perhaps moved
      // part of the way.
      FRANZ_TRY(delete_segments_below([&](const segment& sg) { return sg.next_offset() <= t; }));
      if (auto again = write_checkpoint(t, recovery_point_); !again.ok()) return go_offline(std::move(again));
    }
    log_start_.store(t, std::memory_order_release);
    // Kafka rolls an active segment that lies wholly below the new start so
    // that it can be deleted too.
    if (t == end && !active_->empty()) FRANZ_TRY(roll_locked());
    FRANZ_TRY(delete_segments_below([&](const segment& s) { return s.next_offset() <= t; }));
    return offset{t};
  }

  // Applies retention.ms and retention.bytes to sealed segments, oldest
  // first; the active segment is never deleted. Returns segments deleted.
  [[nodiscard]] result<std::size_t> enforce_retention() {
    std::lock_guard f(flush_mu_);
    FRANZ_TRY(check_writable());
    const std::int64_t now = clk_->now_ms();
    std::size_t deleted = 0;
    if (cfg_.retention_ms >= 0) {
      auto n = delete_segments_below(
          [&](const segment& s) { return s.max_timestamp() < now - cfg_.retention_ms; });
      if (!n) return n;
      deleted += *n;
    }
    if (cfg_.retention_bytes >= 0) {
      std::int64_t excess = static_cast<std::int64_t>(size_bytes()) - cfg_.retention_bytes;
      auto n = delete_segments_below([&](const segment& s) {
        if (excess - static_cast<std::int64_t>(s.size()) < 0) return false;
        excess -= static_cast<std::int64_t>(s.size());
        return true;
      });
      if (!n) return n;
      deleted += *n;
    }
    return deleted;
  }

  // Flushes, trims the active segment and its indexes, writes the recovery
  // point and releases the directory lock. Idempotent; the destructor calls
  // it and ignores errors.
  [[nodiscard]] status close() {
    std::lock_guard f(flush_mu_);
    if (closed_) return {};
    status first;
    if (!offline_) {
      auto s = flush_for_close();
      if (!s.ok()) first = std::move(s);
    }
    closed_ = true;
    release_all();
    return first;
  }

  // --- reads (any thread) ---------------------------------------------------

  // Whole batches from the one holding `from`, up to max_bytes (but at least
  // one batch unless at_least_one is false, so a consumer never stalls on a
  // batch larger than its buffer), ending before any batch with offsets >=
  // max_offset (default: the log end; pass durable_offset() to read only
  // durable records). from == log end gives an empty read.
  // OFFSET_OUT_OF_RANGE outside [log_start, log_end].
  [[nodiscard]] result<log_read> read(offset from, std::size_t max_bytes,
                                      std::optional<offset> max_offset = std::nullopt,
                                      bool at_least_one = true) const {
    auto loc = locate(from, max_bytes, max_offset, at_least_one);
    if (!loc) return std::move(loc).error();
    if (!loc->seg) return log_read({}, {}, from, {}, 0);
    const std::byte* p = loc->seg->data() + loc->pos;
    const std::string_view source = loc->seg->log_path();
    return log_read(std::shared_ptr<const void>(std::move(loc->seg)), std::span<const std::byte>(p, loc->len), from,
                    source, loc->pos);
  }

  // Sends what read(from, max_bytes) would return to out_fd with sendfile,
  // without copying through user space. Returns bytes sent.
  [[nodiscard]] result<std::size_t> transfer_to(int out_fd, offset from, std::size_t max_bytes) const {
    auto loc = locate(from, max_bytes, std::nullopt);
    if (!loc) return std::move(loc).error();
    if (!loc->seg) return std::size_t{0};
    auto sent = fs_->sendfile(out_fd, loc->seg->log_fd(), loc->pos, loc->len);
    if (!sent) return io::with_path(std::move(sent).error(), loc->seg->log_path());
    return sent;
  }

  // The first record whose timestamp is >= ts (Kafka's ListOffsets), or
  // nullopt if there is none. latest_timestamp / earliest_timestamp give
  // the log end / log start.
  [[nodiscard]] result<std::optional<time_lookup>> offsets_for_time(timestamp ts) const {
    if (ts == latest_timestamp) return std::optional<time_lookup>(time_lookup{log_end_offset(), timestamp::none()});
    if (ts == earliest_timestamp)
      return std::optional<time_lookup>(time_lookup{log_start_offset(), timestamp::none()});
    if (ts.value() < 0) return make_error(errc::invalid_timestamp, fmt::format("timestamp {} is negative", ts.value()));
    const std::int64_t start = log_start_.load(std::memory_order_acquire);
    auto segs = snapshot();
    for (const auto& s : *segs) {
      if (s->max_timestamp() < ts.value() || s->next_offset() <= start) continue;
      const auto [pos, base] = s->position_for_time(ts.value());
      const std::uint64_t size = s->size();
      record_reader rr(std::span<const std::byte>(s->data() + pos, size - pos), offset{start}, true, s->log_path(),
                       pos);
      rr.expect(offset{base});
      record_view r;
      while (rr.next(r)) {
        if (r.ts.value() >= ts.value()) return std::optional<time_lookup>(time_lookup{r.off, r.ts});
      }
      if (!rr.status().ok()) return rr.status().error();
    }
    return std::optional<time_lookup>();
  }

  [[nodiscard]] offset log_start_offset() const noexcept { return offset{log_start_.load(std::memory_order_acquire)}; }
  [[nodiscard]] offset log_end_offset() const noexcept { return offset{log_end_.load(std::memory_order_acquire)}; }
  [[nodiscard]] offset durable_offset() const noexcept { return offset{durable_.load(std::memory_order_acquire)}; }
  [[nodiscard]] bool offline() const noexcept { return offline_; }

  [[nodiscard]] std::uint64_t size_bytes() const {
    std::uint64_t n = 0;
    // Keep the snapshot alive: a range-for over *snapshot() destroys the
    // list before the loop runs, and a concurrent roll frees it.
    const auto segs = snapshot();
    for (const auto& s : *segs) n += s->size();
    return n;
  }
  [[nodiscard]] std::vector<segment_info> segments() const {
    std::vector<segment_info> out;
    const auto segs = snapshot();
    for (const auto& s : *segs)
      out.push_back({offset{s->base_offset()}, offset{s->next_offset()}, s->size(), timestamp{s->max_timestamp()},
                     s->oindex().entries(), s->tindex().entries(), s->index_damaged()});
    return out;
  }
  [[nodiscard]] const recovery_report& recovery() const noexcept { return report_; }
  [[nodiscard]] const log_config& config() const noexcept { return cfg_; }
  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

 private:
  basic_log(FS& fs, std::string dir, const log_options& o)
      : fs_(&fs),
        dir_(std::move(dir)),
        cfg_(o.config),
        clk_(o.clk),
        bounded_residency_(o.bounded_residency),
        segs_(std::make_shared<segment_list>()) {}

  struct location {
    std::shared_ptr<segment> seg;  // null: nothing to read
    std::uint64_t pos = 0;
    std::size_t len = 0;
  };

  [[nodiscard]] result<location> locate(offset from, std::size_t max_bytes, std::optional<offset> max_offset,
                                        bool at_least_one = true) const {
    const std::int64_t f = from.value();
    // Load the end before the start: a concurrent delete_records only moves
    // the start up, so start <= end holds for what we read.
    const std::int64_t end = log_end_.load(std::memory_order_acquire);
    const std::int64_t start = log_start_.load(std::memory_order_acquire);
    if (f < start || f > end)
      return make_error(errc::offset_out_of_range,
                        fmt::format("offset {} is outside the log [{}, {}]", f, start, end));
    const std::int64_t limit = max_offset ? std::min(max_offset->value(), end) : end;
    if (f >= limit) return location{};
    auto segs = snapshot();
    // Retention may have deleted f's segment after the start was loaded.
    if (segs->empty() || f < segs->front()->base_offset())
      return make_error(errc::offset_out_of_range, fmt::format("offset {} was deleted by retention", f));
    const std::size_t i = index_of_segment(*segs, f);
    const auto& s = (*segs)[i];
    const std::uint64_t size = s->size();
    FRANZ_ASSIGN_OR_RETURN(const std::uint64_t pos, s->position_of(f));
    // s holds f (the last segment with base <= f, and f is below the log
    // end, so its batch is published): a walk that does not find f met
    // damage, a length that skipped batches. Reading the next segment
    // instead would hand out later offsets as if they were f.
    if (pos >= size) return s->missing_offset(f);
    std::uint64_t p = pos, prev = pos;
    std::int64_t expected = 0;  // the next batch's base offset
    while (p < size) {
      auto n = s->batch_size_at(p, size);
      if (!n) return s->blame(prev, p, std::move(n).error());
      const auto h = format::read_header(s->data() + p);
      const std::int64_t last = format::last_offset_of(h);
      // The batch holding f was published whole before `end` was loaded, so
      // it ends below it. One that claims more has a damaged header; leaving
      // it out (as a batch past the limit is) would return nothing, forever.
      if (p == pos && last >= end) return s->bad_header(p, "last offset past the log end");
      // position_of checked the offsets up to f's batch, not past it: a
      // later batch that does not start where its predecessor ended is
      // damage. The read stops before it; the next one starts there and
      // names it.
      if (p > pos && h.base_offset != expected) break;
      if (last >= limit) break;
      if ((p > pos || !at_least_one) && p + *n - pos > max_bytes) break;
      expected = last + 1;  // last < limit
      prev = p;
      p += *n;
    }
    // Keep resident memory flat for readers streaming through the log: drop
    // what this read leaves behind, and the previous segment once the
    // reader is well into this one.
    if (bounded_residency_) {
      s->drop_passed(pos, p);
      if (i > 0 && pos < segment::drop_keep && p >= segment::drop_keep) (*segs)[i - 1]->drop_all();
    }
    return location{s, pos, static_cast<std::size_t>(p - pos)};
  }

  [[nodiscard]] std::shared_ptr<const segment_list> snapshot() const {
    std::lock_guard g(seg_mu_);
    return segs_;
  }
  void publish(std::shared_ptr<const segment_list> l) {
    std::lock_guard g(seg_mu_);
    segs_ = std::move(l);
  }

  // The index of the last segment with base <= off (0 if none).
  static std::size_t index_of_segment(const segment_list& segs, std::int64_t off) noexcept {
    auto it = std::upper_bound(segs.begin(), segs.end(), off,
                               [](std::int64_t o, const segment_ptr& s) { return o < s->base_offset(); });
    return it == segs.begin() ? 0 : static_cast<std::size_t>(it - segs.begin() - 1);
  }
  [[nodiscard]] std::int64_t segment_holding(std::int64_t off) const {
    auto segs = snapshot();
    return segs->empty() ? 0 : (*segs)[index_of_segment(*segs, off)]->base_offset();
  }

  [[nodiscard]] status roll_locked() {
    FRANZ_TRY(check_writable());
    if (active_->empty()) return {};
    if (auto s = active_->seal(); !s.ok()) return go_offline(std::move(s));
    const std::int64_t base = log_end_.load(std::memory_order_relaxed);
    auto seg = segment::open(*fs_, dir_, base, cfg_, /*create=*/true);
    if (!seg) {
      remove_segment_files(base);
      active_->unseal();
      return std::move(seg).error();
    }
    auto list = std::make_shared<segment_list>(*snapshot());
    list->push_back(*seg);
    publish(std::move(list));
    if (bounded_residency_) active_->drop_all();  // the writer is done with it
    active_ = *seg;
    dir_dirty_ = true;
    return {};
  }

  [[nodiscard]] bool writable() const noexcept { return !closed_ && !offline_; }
  [[nodiscard]] error not_writable() const {
    if (closed_) return make_error(errc::illegal_state, fmt::format("{}: the log is closed", dir_));
    return make_error(errc::log_offline,
                      fmt::format("{}: an earlier I/O error took the log offline; close and reopen it", dir_));
  }
  [[nodiscard]] status check_writable() const {
    if (!writable()) [[unlikely]] return not_writable();
    return {};
  }
  [[nodiscard]] bool too_large(std::size_t n) const noexcept {
    return static_cast<std::int64_t>(n) > cfg_.max_batch_bytes();
  }
  [[nodiscard]] error size_error(std::size_t n) const {
    return make_error(errc::record_too_large,
                      fmt::format("a {}-byte batch exceeds the limit of {} bytes (max.message.bytes {}, segment.bytes {})",
                                  n, cfg_.max_batch_bytes(), cfg_.max_message_bytes, cfg_.segment_bytes));
  }

  // Takes the log offline after an I/O error of uncertain effect. A full
  // disk (OUT_OF_SPACE from allocation) fails the call cleanly instead; a
  // failed fsync never does (see flush).
  [[nodiscard]] error go_offline(error e) {
    if (e.code != errc::out_of_space) offline_ = true;
    return e;
  }
  [[nodiscard]] error sync_failed(error e) {
    offline_ = true;
    return e;
  }
  [[nodiscard]] error sync_failed(status s) { return sync_failed(std::move(s).error()); }
  [[nodiscard]] error go_offline(status s) { return go_offline(std::move(s).error()); }

  // Batches at least this big are written with pwrite, smaller ones with
  // stores into the mapping (see segment.hpp for why).
  static constexpr std::size_t pwrite_threshold = 8192;

  // Rolls if needed and reserves n bytes for a batch ending at `last`.
  // mapped: the caller will store through the mapping, so prefault ahead —
  // unless an fsync came within the last window of bytes: prefaulted but
  // unwritten pages would then be written back as zeros.
  [[nodiscard]] result<std::byte*> place(std::size_t n, std::int64_t last, std::int64_t now, bool mapped) {
    if (active_->needs_roll(n, last, now, cfg_)) FRANZ_TRY(roll());
    const bool prefault = mapped && bytes_since_flush_.load(std::memory_order_relaxed) >= segment::prefault_window;
    auto dst = active_->reserve(n, cfg_, prefault, bounded_residency_);
    if (!dst) return go_offline(std::move(dst).error());
    return dst;
  }

  // Stores a finished batch of n bytes from src (plus an optional tail
  // written right after it) at the log end: through the mapping when small,
  // with pwrite when large. Nothing is published until finish_append.
  [[nodiscard]] status store(const std::byte* src, std::size_t n, std::int64_t last, std::int64_t now,
                             std::span<const std::byte> tail = {}) {
    const std::size_t total = n + tail.size();
    const bool mapped = total < pwrite_threshold;
    FRANZ_ASSIGN_OR_RETURN(std::byte * dst, place(total, last, now, mapped));
    if (mapped) {
      std::memcpy(dst, src, n);
      if (!tail.empty()) std::memcpy(dst + n, tail.data(), tail.size());
      return {};
    }
    if (auto s = active_->write_reserved(src, n); !s.ok()) return go_offline(std::move(s));
    if (!tail.empty()) {
      if (auto s = active_->write_reserved(tail.data(), tail.size(), n); !s.ok()) return go_offline(std::move(s));
    }
    return {};
  }

  [[nodiscard]] result<append_info> finish_append(std::size_t n, std::int64_t base, std::int64_t last,
                                                  std::int64_t max_ts, std::int64_t now) {
    active_->commit(n, base, last, max_ts, cfg_, now);
    log_end_.store(last + 1, std::memory_order_release);
    // Only this thread adds; a concurrent flush may reset it to 0 (a lost
    // reset only means one extra prefault).
    bytes_since_flush_.store(bytes_since_flush_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    // Offsets are dense, so the records not yet flushed are end - durable.
    if (last + 1 - durable_.load(std::memory_order_relaxed) >= cfg_.flush_messages ||
        now - last_flush_ms_.load(std::memory_order_relaxed) >= cfg_.flush_ms)
      FRANZ_TRY(flush());
    return append_info{offset{base}, offset{last}, timestamp{max_ts}, n};
  }

  // OFFSET_OUT_OF_RANGE unless count more offsets fit after base (the log
  // end after them, last + 1, must be an offset). Only a damaged or crafted
  // checkpoint can put the log end this high.
  [[nodiscard]] static status offsets_left(std::int64_t base, std::int64_t count) {
    if (count <= INT64_MAX - base) return {};
    return make_error(errc::offset_out_of_range,
                      fmt::format("the log end {} leaves no room for {} more offsets", base, count));
  }

  [[nodiscard]] status validate_incoming(const batch_view& b) {
    const auto& h = b.header();
    if (h.record_count < 1 || h.record_count != h.last_offset_delta + 1)
      return make_error(errc::invalid_record,
                        fmt::format("batch of {} records has last offset delta {}", h.record_count, h.last_offset_delta));
    if (h.attributes & format::attr_control) return make_error(errc::invalid_record, "control batches are internal");
    const auto c = b.codec();
    if (c != compression::none && c != compression::lz4 && c != compression::zstd)
      return make_error(errc::unsupported_compression_type, fmt::format("codec {}", static_cast<int>(c)));
    if (cfg_.message_timestamp_type == timestamp_type::create_time && (h.max_timestamp < 0 || h.first_timestamp < 0))
      return make_error(errc::invalid_timestamp, "batch has a negative timestamp");
    record_reader rr(b.bytes(), offset{0}, /*verify_checksums=*/false);
    record_view r;
    std::int32_t n = 0;
    std::int64_t max_ts = -1;
    while (rr.next(r)) {
      if (r.off.value() - h.base_offset != n) return make_error(errc::invalid_record, "offset deltas are not dense");
      if (r.ts.value() < 0 && cfg_.message_timestamp_type == timestamp_type::create_time)
        return make_error(errc::invalid_timestamp, fmt::format("record {} has timestamp {}", n, r.ts.value()));
      max_ts = std::max(max_ts, r.ts.value());
      ++n;
    }
    if (!rr.status().ok()) return make_error(errc::invalid_record, rr.status().error().message);
    // The header's max timestamp drives the time index and retention.ms, so
    // it must be the records' true maximum (Kafka's LogValidator rule).
    if (cfg_.message_timestamp_type == timestamp_type::create_time && max_ts != h.max_timestamp)
      return make_error(errc::invalid_record, fmt::format("batch max timestamp {} but its records' maximum is {}",
                                                          h.max_timestamp, max_ts));
    return {};
  }

  template <class Pred>
  [[nodiscard]] result<std::size_t> delete_segments_below(Pred pred) {
    auto segs = snapshot();
    std::size_t n = 0;
    // Oldest first; stop at the first segment to keep; never the active one.
    while (n + 1 < segs->size() && pred(*(*segs)[n])) ++n;
    if (n == 0) return std::size_t{0};
    const std::int64_t new_start = std::max(log_start_.load(), (*segs)[n]->base_offset());
    bool persisted = true;
    if (new_start != log_start_.load() || checkpoint_log_start_ != new_start) {
      if (auto s = write_checkpoint(new_start, recovery_point_); !s.ok()) {
        if (s.code() != errc::out_of_space) return go_offline(std::move(s));
        // A full disk: delete first, persist after. Recovery takes the start
        // from the first segment when that is past the checkpoint's, so once
        // the deletions are durable the start cannot go back either way.
        persisted = false;
      }
      log_start_.store(new_start, std::memory_order_release);
    }
    publish(std::make_shared<segment_list>(segs->begin() + static_cast<std::ptrdiff_t>(n), segs->end()));
    for (std::size_t i = 0; i < n; ++i)
      if (auto s = (*segs)[i]->delete_files(); !s.ok()) return go_offline(std::move(s));
    dir_dirty_ = true;
    if (!persisted) {
      segs.reset();  // the space comes back when the last reference goes
      if (auto s = fs_->fsync_dir(dir_); !s.ok()) return sync_failed(std::move(s));
      dir_dirty_ = false;
      // Still no room: the start stays as the segments say (a flush or
      // close writes it when it can).
      if (auto s = write_checkpoint(new_start, recovery_point_); !s.ok() && s.code() != errc::out_of_space)
        return go_offline(std::move(s));
    }
    return n;
  }

  [[nodiscard]] status write_checkpoint(std::int64_t log_start, std::int64_t recovery_point) {
    const auto bytes = format::encode_checkpoint({log_start, recovery_point});
    FRANZ_TRY(io::write_file_atomically(*fs_, dir_, std::string(format::checkpoint_file), bytes.data(), bytes.size()));
    checkpoint_log_start_ = log_start;
    recovery_point_ = recovery_point;
    return {};
  }

  // Writes the checkpoint after a flush made [start, end) durable. The data
  // is durable already, so a checkpoint that cannot be written for lack of
  // space is no error: only the recovery point stays behind (a longer
  // recovery). The log start loses nothing either: delete_records and
  // retention persist a start before moving it or, on a full disk, make the
  // deletions that imply it durable first, so a start the checkpoint lacks
  // is one recovery derives from the first segment again.
  [[nodiscard]] status move_recovery_point(std::int64_t start, std::int64_t end) {
    auto st = write_checkpoint(start, end);
    if (!st.ok() && st.code() == errc::out_of_space) return {};
    return st;
  }

  void remove_segment_files(std::int64_t base) {
    for (auto suffix : {format::log_suffix, format::index_suffix, format::time_index_suffix})
      (void)fs_->unlink(dir_ + "/" + format::segment_file(base, suffix));
  }

  [[nodiscard]] status flush_for_close() {
    if (!active_) return {};
    FRANZ_TRY(active_->seal());
    // Indexes a lookup found damaged are rebuilt here, where no reader can
    // use them (rebuilding under readers would race their lookups), rather
    // than on open, which does not read the data under trusted indexes.
    // rebuild_indexes syncs what it rewrote.
    const auto segs = snapshot();
    for (const auto& s : *segs)
      if (s->index_damaged()) FRANZ_TRY(s->rebuild_indexes(cfg_));
    dir_dirty_ = true;  // force the sync pass even if nothing new was appended
    FRANZ_TRY(flush_locked());
    const std::int64_t end = log_end_.load();
    const std::int64_t start = log_start_.load();
    if (recovery_point_ != end || checkpoint_log_start_ != start) FRANZ_TRY(move_recovery_point(start, end));
    return {};
  }

  void release_all() {
    {
      std::lock_guard g(seg_mu_);
      segs_ = std::make_shared<segment_list>();
    }
    active_.reset();
    (void)lock_.close();
  }

  // --- open and recovery ----------------------------------------------------

  [[nodiscard]] status open_dir(const log_options& opts) {
    FRANZ_ASSIGN_OR_RETURN(const io::path_type type, fs_->stat(dir_));
    if (type == io::path_type::missing) {
      if (!opts.create_if_missing)
        return make_error(errc::invalid_log_dir, fmt::format("{}: no such directory", dir_));
      // The new directory is an entry of its parent: without the parent's
      // fsync a power loss could take the directory, and every record
      // flushed into it, away.
      FRANZ_TRY(io::make_dir_durable(*fs_, dir_));
    } else if (type != io::path_type::directory) {
      return make_error(errc::invalid_log_dir, fmt::format("{}: not a directory", dir_));
    }
    // Refuse foreign files before writing anything, even the lock file.
    FRANZ_ASSIGN_OR_RETURN(auto names, fs_->list_dir(dir_));
    for (const auto& n : names) {
      if (format::parse_file_name(n).kind == format::file_kind::foreign)
        return make_error(errc::foreign_file,
                          fmt::format("{}: '{}' is not a franz file; move it away", dir_, n));
    }
    FRANZ_ASSIGN_OR_RETURN(lock_, io::basic_file<FS>::open(*fs_, dir_ + "/" + std::string(format::lock_file),
                                                            io::open_mode::create));
    if (auto s = lock_.lock(); !s.ok()) {
      auto e = std::move(s).error();
      if (e.code == errc::log_dir_locked)
        e.message = fmt::format("{}: another writer (this or another process) has the log open", dir_);
      return e;
    }
    return recover(opts, names);
  }

  static constexpr int has_log = 1, has_index = 2, has_time_index = 4;

  [[nodiscard]] status recover(const log_options& opts, const std::vector<std::string>& names) {
    // 1. Classify files; remove temporaries and orphaned indexes.
    std::map<std::int64_t, int> bases;  // base -> bit set of present files
    for (const auto& n : names) {
      const auto parsed = format::parse_file_name(n);
      switch (parsed.kind) {
        case format::file_kind::temporary:
          FRANZ_TRY(fs_->unlink(dir_ + "/" + n));
          ++report_.temp_files_removed;
          break;
        case format::file_kind::log: bases[parsed.base_offset] |= has_log; break;
        case format::file_kind::index: bases[parsed.base_offset] |= has_index; break;
        case format::file_kind::time_index: bases[parsed.base_offset] |= has_time_index; break;
        default: break;
      }
    }
    for (auto it = bases.begin(); it != bases.end();) {
      if ((it->second & has_log) == 0) {
        for (auto suffix : {format::index_suffix, format::time_index_suffix}) {
          const std::string p = dir_ + "/" + format::segment_file(it->first, suffix);
          if (auto st = fs_->stat(p); st && *st == io::path_type::regular) {
            FRANZ_TRY(fs_->unlink(p));
            ++report_.orphan_files_removed;
          }
        }
        it = bases.erase(it);
      } else {
        ++it;
      }
    }

    // 2. The checkpoint. A damaged one only costs a longer recovery.
    format::checkpoint cp{};
    bool have_cp = false;
    {
      auto f = io::basic_file<FS>::open(*fs_, dir_ + "/" + std::string(format::checkpoint_file),
                                        io::open_mode::read_only);
      if (f) {
        std::byte buf[format::checkpoint_size + 1];
        auto n = f->pread(buf, sizeof buf, 0);
        if (!n) return std::move(n).error();
        if (auto c = format::decode_checkpoint(std::span<const std::byte>(buf, *n))) {
          cp = *c;
          have_cp = true;
        } else {
          report_.clean = false;
          report_.detail = "partition.checkpoint is damaged; recovering every segment";
        }
      } else if (f.error().sys_errno != ENOENT) {
        return std::move(f).error();
      }
    }
    const std::int64_t rp = have_cp ? cp.recovery_point : 0;

    // 3. Open the segments, oldest first, trusting those below the recovery
    //    point and validating the rest.
    auto list = std::make_shared<segment_list>();
    std::vector<bool> indexes_present;
    for (const auto& [base, present] : bases) {
      auto seg = segment::open(*fs_, dir_, base, cfg_, /*create=*/false);
      if (!seg) return std::move(seg).error();
      list->push_back(*seg);
      indexes_present.push_back((present & (has_index | has_time_index)) == (has_index | has_time_index));
    }
    std::int64_t expected = list->empty() ? 0 : list->front()->base_offset();
    std::int64_t rebuilt_from = INT64_MAX;  // lowest segment whose indexes were rebuilt
    std::size_t keep = list->size();
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto& s = (*list)[i];
      const bool last = i + 1 == list->size();
      const std::int64_t next_base = last ? INT64_MAX : (*list)[i + 1]->base_offset();
      // A segment is trusted when the whole of it lies below the recovery
      // point. For the last one that means it ends exactly there (a clean
      // close): then open reads no data at all.
      const bool trusted = !opts.verify_all && (last ? s->base_offset() < rp : next_base <= rp);
      // Offsets are dense across segments: each starts where the previous
      // ended (roll always starts the next segment at the log end), so a gap
      // is lost data, not a hole to step over.
      const bool starts_right = i == 0 || s->base_offset() == expected;
      if (trusted) {
        trust t = trust::damaged;
        if (indexes_present[i]) {
          FRANZ_ASSIGN_OR_RETURN(t, s->load_trusted(cfg_));
          if (t == trust::trusted && last && s->next_offset() != rp) t = trust::damaged;
          if (t == trust::trusted && !last && s->next_offset() != next_base) t = trust::damaged;
        }
        if (t == trust::trusted && starts_right) {
          if (!last) s->mark_sealed();
          expected = s->next_offset();
          continue;
        }
        // An unsealed segment (active at a crash) is validated like one past
        // the recovery point: nothing was found wrong with it.
        if (t != trust::unsealed || !last) {
          ++report_.indexes_rebuilt;
          report_.clean = false;
        }
        rebuilt_from = std::min(rebuilt_from, s->base_offset());
      }
      ++report_.segments_validated;
      report_.first_walked_base = std::min(report_.first_walked_base, s->base_offset());
      FRANZ_ASSIGN_OR_RETURN(segment_scan scan, s->recover(cfg_));
      auto file_size = fs_->file_size(s->log_fd());
      if (!file_size) return std::move(file_size).error();
      const bool bad_start = !starts_right;
      bool torn = scan.stop != format::batch_probe::end;
      // A segment that ends before the next one's base lost its tail.
      if (!torn && !last && scan.next_offset != next_base) {
        torn = true;
        scan.why = "the segment ends before the next segment's base offset";
      }
      // So did a last segment that ends below the recovery point: those
      // records were fsynced once.
      if (!torn && last && scan.next_offset < rp) {
        torn = true;
        scan.why = "the log ends below the recovery point";
      }
      if (!bad_start && !torn) {
        if (!last) FRANZ_TRY(s->seal());
        expected = s->next_offset();
        continue;
      }
      // Damage. Below the recovery point it is an error unless repairing.
      const std::int64_t at_offset = bad_start ? s->base_offset() : scan.next_offset;
      const std::uint64_t at_pos = bad_start ? 0 : scan.valid_bytes;
      if (at_offset < rp && !opts.repair) {
        return s->corrupt_at(at_pos, fmt::format("{} (offset {} is below the recovery point {}; "
                                                 "open with repair to truncate here)",
                                                 bad_start ? "segment does not start where its predecessor ended" : scan.why,
                                                 at_offset, rp));
      }
      report_.clean = false;
      report_.detail = fmt::format("{} at byte {}: {}; truncated", s->log_path(), at_pos,
                                   bad_start ? "segment does not start where its predecessor ended" : scan.why);
      FRANZ_ASSIGN_OR_RETURN(const std::uint64_t dropped, written_bytes_after(*s, at_pos, *file_size));
      report_.truncated_bytes += dropped;
      if (bad_start) {
        keep = i;
      } else {
        FRANZ_TRY(s->truncate_file(scan.valid_bytes));
        keep = i + 1;
      }
      break;
    }
    // 4. Drop everything past a truncation point.
    for (std::size_t j = keep; j < list->size(); ++j) {
      report_.truncated_bytes += (*list)[j]->size();
      FRANZ_TRY((*list)[j]->delete_files());
      ++report_.segments_deleted;
      dir_dirty_ = true;
    }
    list->resize(keep);

    // 5. Offsets. The log start never moves back; if it is past the end
    //    (data lost after delete_records), start over there.
    std::int64_t start = have_cp ? cp.log_start : 0;
    if (!list->empty()) start = std::max(start, list->front()->base_offset());
    std::int64_t end = list->empty() ? start : list->back()->next_offset();
    if (start > end) {
      for (auto& s : *list) {
        FRANZ_TRY(s->delete_files());
        ++report_.segments_deleted;
      }
      list->clear();
      end = start;
    }
    if (list->empty()) {
      remove_segment_files(start);
      FRANZ_ASSIGN_OR_RETURN(auto seg, segment::open(*fs_, dir_, start, cfg_, /*create=*/true));
      list->push_back(seg);
      dir_dirty_ = true;
    }
    active_ = list->back();
    active_->unseal();
    segs_ = list;
    log_start_.store(start);
    log_end_.store(end);
    checkpoint_log_start_ = have_cp ? cp.log_start : -1;
    last_flush_ms_.store(clk_->now_ms());
    // 6. What is known durable: everything below the checkpoint's recovery
    //    point (clamped to what survived). Bytes recovered past it may live
    //    only in the page cache (after a kill -9); open does not fsync them,
    //    which would mean writing back up to a segment of data before
    //    returning. The next flush() makes them durable, together with any
    //    indexes rebuilt below the recovery point and the directory.
    const std::int64_t known = have_cp ? std::clamp(rp, start, end) : start;
    recovery_point_ = known;
    durable_.store(known);
    synced_from_base_ = std::min(segment_holding(known), rebuilt_from);
    if (rebuilt_from != INT64_MAX || known != end) dir_dirty_ = true;
    // Persist a lowered recovery point (repair) or a moved log start.
    if (!have_cp || cp.recovery_point != known || cp.log_start != start) FRANZ_TRY(write_checkpoint(start, known));
    if (report_.truncated_bytes || report_.indexes_rebuilt || report_.temp_files_removed ||
        report_.orphan_files_removed || report_.segments_deleted)
      report_.clean = false;
    return {};
  }

  // Bytes from pos to the last non-zero byte of the file: what a torn or
  // corrupt tail held, not counting preallocated zeros.
  [[nodiscard]] result<std::uint64_t> written_bytes_after(const segment& s, std::uint64_t pos,
                                                          std::uint64_t file_size) const {
    const std::uint64_t limit = std::min(file_size, s.capacity());
    const std::byte* d = s.data();
    std::uint64_t end = limit;
    while (end > pos && d[end - 1] == std::byte{0}) --end;
    return end - pos;
  }

  FS* fs_;
  std::string dir_;
  log_config cfg_;
  const clock* clk_;
  const bool bounded_residency_;
  io::basic_file<FS> lock_;

  mutable std::mutex seg_mu_;
  std::shared_ptr<const segment_list> segs_;  // replaced whole, never mutated
  segment_ptr active_;

  std::atomic<std::int64_t> log_start_{0};
  std::atomic<std::int64_t> log_end_{0};
  std::atomic<std::int64_t> durable_{0};

  // Writer-only state.
  std::int64_t recovery_point_ = 0;        // as persisted in the checkpoint
  std::int64_t checkpoint_log_start_ = -1;  // as persisted in the checkpoint
  std::int64_t synced_from_base_ = 0;      // first segment that may hold unsynced data
  // Shared with flushers on other threads (see flush()).
  // Starts "long ago" so a fresh log prefaults from its first append.
  std::atomic<std::uint64_t> bytes_since_flush_{segment::prefault_window};
  std::atomic<std::int64_t> last_flush_ms_{0};
  // Serializes flushes with each other and with every writer call that
  // changes the segment list, the active segment, the directory or the
  // checkpoint (roll, truncate_to, delete_records, retention, close); the
  // append path takes it only to roll or to flush.
  mutable std::mutex flush_mu_;
  bool dir_dirty_ = false;                 // flush_mu_
  std::atomic<bool> offline_{false};  // read by offline() from any thread
  std::atomic<bool> closed_{false};
  std::vector<std::byte> scratch_;     // large batches are encoded here
  std::vector<std::byte> packed_;      // compressed batches
  std::vector<std::uint32_t> bodies_;  // record body sizes from measure()
  recovery_report report_;
};

using log = basic_log<io::posix_fs>;
extern template class basic_log<io::posix_fs>;

}  // namespace franz
