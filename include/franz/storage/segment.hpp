// franz — basic_segment<FS>: one .log file and its two indexes.
//
// The .log file is mapped once, MAP_SHARED, at the segment's capacity
// (segment.bytes rounded to pages: address space only). The writer encodes
// small batches straight into the mapping: no system call per append. The
// file grows with fallocate in chunks ahead of the writer, so a store can
// never fault with SIGBUS on a full disk; ENOSPC surfaces from fallocate,
// before a byte of the batch is written. For small appends the next window
// of pages is prefaulted (MADV_POPULATE_WRITE) so they take no page faults.
// Large batches are written with pwrite into the reserved space instead:
// the kernel copies into the page cache faster than it can zero-fill,
// prefault and page_mkwrite fresh mapped pages (readers still see the bytes
// through the mapping: the page cache is shared).
//
// Readers see bytes below size(), published with a release store after the
// batch and its index entries are complete.
//
// Thread-safety: one writer (everything non-const), concurrent readers of
// the const members. Lifetime: shared_ptr-owned; a reader's view pins the
// segment, so retention may unlink a segment while views of it live. The FS
// outlives every segment.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "franz/error.hpp"
#include "franz/format/file_names.hpp"
#include "franz/format/record_batch.hpp"
#include "franz/io/file.hpp"
#include "franz/storage/config.hpp"
#include "franz/storage/index.hpp"

namespace franz {

// What load_trusted found.
enum class trust : std::uint8_t {
  trusted,   // indexes loaded; the segment's end found
  damaged,   // the indexes disagree with themselves or the data: rebuild
  unsealed,  // the segment was active at a crash (never trimmed): validate it
};

// How a recovery walk over a segment ended.
struct segment_scan {
  std::uint64_t valid_bytes = 0;    // bytes of whole, valid batches
  std::int64_t next_offset = 0;     // offset after the last valid batch
  format::batch_probe stop = format::batch_probe::end;
  const char* why = "";
};

template <class FS>
class basic_segment {
 public:
  basic_segment(const basic_segment&) = delete;
  basic_segment& operator=(const basic_segment&) = delete;
  ~basic_segment() { (void)release(); }

  // Opens (or creates, when create is true) the three files of the segment
  // at base in dir. A created segment is empty and active.
  [[nodiscard]] static result<std::shared_ptr<basic_segment>> open(FS& fs, const std::string& dir, std::int64_t base,
                                                                   const log_config& cfg, bool create) {
    std::shared_ptr<basic_segment> s(new basic_segment(fs, dir, base));
    FRANZ_TRY(s->open_files(cfg, create));
    return s;
  }

  [[nodiscard]] std::int64_t base_offset() const noexcept { return base_; }
  // Published bytes: readers may read [0, size()).
  [[nodiscard]] std::uint64_t size() const noexcept { return size_.load(std::memory_order_acquire); }
  [[nodiscard]] const std::byte* data() const noexcept { return map_.data; }
  [[nodiscard]] std::uint64_t capacity() const noexcept { return map_.size; }
  [[nodiscard]] std::int64_t next_offset() const noexcept { return next_offset_.load(std::memory_order_acquire); }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  // Largest record timestamp in the segment; -1 if it has none.
  [[nodiscard]] std::int64_t max_timestamp() const noexcept { return max_ts_.load(std::memory_order_acquire); }
  [[nodiscard]] bool sealed() const noexcept { return sealed_; }
  [[nodiscard]] const std::string& log_path() const noexcept { return log_.path(); }
  [[nodiscard]] int log_fd() const noexcept { return log_.fd(); }
  [[nodiscard]] const offset_index<FS>& oindex() const noexcept { return oidx_; }
  [[nodiscard]] const time_index<FS>& tindex() const noexcept { return tidx_; }

  // Would appending a batch of n bytes spanning [first, last] need a roll?
  [[nodiscard]] bool needs_roll(std::uint64_t n, std::int64_t last, std::int64_t now_ms,
                                const log_config& cfg) const noexcept {
    const std::uint64_t sz = size();
    if (sz == 0) return false;  // an empty segment takes any batch that fits the limits
    return sz + n > static_cast<std::uint64_t>(cfg.segment_bytes) || sz + n > capacity() || oidx_.full() ||
           tidx_.full(1) || last - base_ > INT32_MAX || now_ms - roll_start_ms_ >= cfg.segment_ms;
  }

  // Makes room for a batch of n bytes (file space, prefaulted pages, index
  // space) and returns where to write it. Requires size() + n <= capacity().
  // On error nothing changed.
  // drop: unmap the writer's trail (see drop_passed).
  [[nodiscard]] result<std::byte*> reserve(std::uint64_t n, const log_config& cfg, bool prefault, bool drop) {
    const std::uint64_t pos = size();
    const std::uint64_t need = pos + n;
    if (need > allocated_) {
      // Doubling chunks (1 MiB .. 64 MiB): few fallocate calls, bounded
      // reservation beyond the data.
      const std::uint64_t step = std::clamp<std::uint64_t>(allocated_, 1 << 20, 64 << 20);
      const std::uint64_t target = std::min<std::uint64_t>(capacity(), std::max(need, allocated_ + step));
      FRANZ_TRY(log_.allocate(allocated_, target - allocated_));
      allocated_ = target;
    }
    if (drop) drop_passed(pos, need);
    if (prefault && need > populated_) {
      const std::uint64_t from = std::max(populated_, pos);
      const std::uint64_t to = std::min<std::uint64_t>(allocated_, need + prefault_window);
      FRANZ_TRY(log_.fs().populate(map_, from, to - from));
      populated_ = to;
    }
    if (index_due(cfg)) {
      FRANZ_TRY(oidx_.reserve_one());
      FRANZ_TRY(tidx_.reserve_one());
    }
    return map_.data + pos;
  }

  // Publishes a batch of n bytes written at the reserve()d position.
  void commit(std::uint64_t n, std::int64_t batch_base, std::int64_t batch_last, std::int64_t batch_max_ts,
              const log_config& cfg, std::int64_t now_ms) noexcept {
    const std::uint64_t pos = size();
    if (pos == 0) roll_start_ms_ = now_ms;
    if (index_due(cfg)) {
      oidx_.append({static_cast<std::uint32_t>(batch_base - base_), static_cast<std::uint32_t>(pos)});
      maybe_append_time_entry(batch_base - 1);
      bytes_since_index_ = 0;
    }
    bytes_since_index_ += n;
    if (batch_max_ts > max_ts_.load(std::memory_order_relaxed)) max_ts_.store(batch_max_ts, std::memory_order_relaxed);
    next_offset_.store(batch_last + 1, std::memory_order_relaxed);
    size_.store(pos + n, std::memory_order_release);
  }

  // Seals the segment: a final time-index entry (so the largest timestamp
  // survives a reopen), then the log and both indexes trimmed to size.
  [[nodiscard]] status seal() {
    // Reserve only if an entry will be added: a full disk must not fail a
    // seal (roll, close) that needs no new space.
    if (time_entry_due(next_offset() - 1)) {
      FRANZ_TRY(tidx_.reserve_one());
      maybe_append_time_entry(next_offset() - 1);
    }
    FRANZ_TRY(log_.truncate(size()));
    allocated_ = populated_ = size();
    FRANZ_TRY(oidx_.trim());
    FRANZ_TRY(tidx_.trim());
    sealed_ = true;
    return {};
  }

  // Makes a sealed segment writable again (after a reopen or truncate_to).
  void unseal() noexcept { sealed_ = false; }
  // Records that a segment loaded from disk is already sealed (trimmed).
  void mark_sealed() noexcept { sealed_ = true; }

  // Cuts the .log file to n bytes (dropping a torn tail found by recover).
  [[nodiscard]] status truncate_file(std::uint64_t n) {
    FRANZ_TRY(log_.truncate(n));
    allocated_ = n;
    populated_ = 0;
    return {};
  }

  // fdatasync of the .log, and of both indexes when with_indexes.
  [[nodiscard]] status sync(bool with_indexes) {
    FRANZ_TRY(log_.fdatasync());
    if (with_indexes) {
      FRANZ_TRY(oidx_.sync());
      FRANZ_TRY(tidx_.sync());
    }
    return {};
  }

  // Position of the first batch whose last offset is >= target, or size()
  // if there is none. Starts from the offset index; walks headers only.
  //
  // Index entries are checked where they are used, not on open (a clean
  // open reads no index entry's batch): the entry's batch must lie below
  // size() and start at the entry's offset (walk_to checks the first
  // header it reads). An entry that fails is damage: the answer comes from
  // a walk from position 0, which does not depend on the index, and the
  // index is marked damaged (rebuilt at close, see rebuild_indexes).
  [[nodiscard]] result<std::uint64_t> position_of(std::int64_t target) const {
    const std::uint64_t limit = size();
    if (target > base_) {
      const std::int64_t rel = std::min<std::int64_t>(target - base_, UINT32_MAX);
      if (auto e = oidx_.floor(static_cast<std::uint32_t>(rel))) {
        if (e->position > 0 && e->position < limit) {
          auto r = walk_to(e->position, base_ + e->relative_offset, target, limit);
          if (r) return r;
        }
        auto r = walk_to(0, base_, target, limit);
        // Only an index that led astray while the data walks fine is the
        // index's fault; damaged data is reported as such.
        if (r) note_index_damage();
        return r;
      }
    }
    return walk_to(0, base_, target, limit);
  }

  // The batch header at pos (which is < size() and a batch start), checked
  // for a sane length. Used by readers that walk batches.
  [[nodiscard]] result<std::uint64_t> batch_size_at(std::uint64_t pos, std::uint64_t limit) const {
    if (limit - pos < format::batch_header_size) return corrupt_at(pos, "a partial batch header");
    const auto len = format::load_le<std::int32_t>(map_.data + pos + 8);
    if (len < static_cast<std::int32_t>(format::batch_header_size - format::log_overhead) ||
        static_cast<std::uint64_t>(len) + format::log_overhead > limit - pos)
      return corrupt_at(pos, "batch length out of bounds");
    if (static_cast<std::uint8_t>(map_.data[pos + 12]) != format::batch_magic) return corrupt_at(pos, "bad magic");
    return static_cast<std::uint64_t>(len) + format::log_overhead;
  }

  // Where to start looking for the first record with timestamp >= ts: the
  // position of a batch at or before it (never after).
  //
  // Entries are (T, R): every record at offset <= base + R has a timestamp
  // <= T. So with T < ts the answer lies beyond base + R. A damaged T that
  // is too small, or R too large, would skip the answer, so the entry used
  // is checked first (check_time_entry); one that fails marks the index
  // damaged and the search starts at position 0.
  //
  // Returns the position and the base offset of the batch there, which the
  // caller's reader must check (expect): base offsets are outside the
  // checksum.
  [[nodiscard]] std::pair<std::uint64_t, std::int64_t> position_for_time(std::int64_t ts) const {
    const std::pair<std::uint64_t, std::int64_t> start{0, base_};
    const std::size_t below = tidx_.count_below(ts);
    if (below == 0) return start;
    const auto e = tidx_.at(below - 1);
    const std::int64_t from = below >= 2 ? std::int64_t{tidx_.at(below - 2).relative_offset} + 1 : 0;
    const auto c = check_time_entry(e, base_ + from);
    // No verdict (damaged data in the way): the reader's walk from 0 meets
    // the damage and names it.
    if (c.v == time_check::verdict::no_verdict) return start;
    if (c.v == time_check::verdict::damaged) {
      note_index_damage();
      return start;
    }
    return {c.pos, base_ + std::int64_t{e.relative_offset} + 1};
  }

  // Whether a lookup found an index entry that disagrees with the data.
  // The index then stays usable (every lookup checks the entry it uses) and
  // is rebuilt by rebuild_indexes at close.
  [[nodiscard]] bool index_damaged() const noexcept { return index_damaged_.load(std::memory_order_relaxed); }
  void note_index_damage() const noexcept { index_damaged_.store(true, std::memory_order_relaxed); }

  // Rebuilds both indexes from the data after a lookup found them damaged.
  // Writer-serialized, and no reader may use the segment (close). The data,
  // size and offsets do not change: if the walk stops before the end (the
  // data is damaged too), the indexes cover the valid prefix only, which
  // the next open's checks (an entry missing where one was due) reject, so
  // that open validates the segment and names the damage.
  [[nodiscard]] status rebuild_indexes(const log_config& cfg) {
    const std::uint64_t old_size = size();
    const std::int64_t old_next = next_offset();
    const std::int64_t old_max = max_timestamp();
    const bool was_sealed = sealed_;
    FRANZ_ASSIGN_OR_RETURN(const segment_scan scan, recover(cfg));
    if (scan.valid_bytes != old_size || scan.next_offset != old_next) {
      size_.store(old_size, std::memory_order_release);
      next_offset_.store(old_next, std::memory_order_relaxed);
      max_ts_.store(old_max, std::memory_order_relaxed);
    } else {
      index_damaged_.store(false, std::memory_order_relaxed);
    }
    if (was_sealed) FRANZ_TRY(seal());
    return sync(true);
  }

  // Walks every batch from position 0 with full validation (checksum,
  // offsets that only increase, first offset >= base), rebuilding both
  // indexes and the in-memory state. Stops at the first invalid batch.
  [[nodiscard]] result<segment_scan> recover(const log_config& cfg) {
    oidx_.clear();
    tidx_.clear();
    max_ts_.store(-1, std::memory_order_relaxed);
    bytes_since_index_ = 0;
    size_.store(0, std::memory_order_release);
    next_offset_.store(base_, std::memory_order_relaxed);
    auto file_size = log_.size();
    if (!file_size) return std::move(file_size).error();
    const std::uint64_t limit = std::min<std::uint64_t>(*file_size, capacity());
    segment_scan s;
    std::uint64_t pos = 0;
    while (true) {
      const auto p = format::probe_batch(map_.data + pos, limit - pos);
      if (p.kind != format::batch_probe::ok) {
        s.stop = p.kind;
        s.why = p.why;
        break;
      }
      const auto h = format::read_header(map_.data + pos);
      // Dense offsets: base_offset is outside the checksum, so continuity is
      // what catches a damaged one.
      if (h.base_offset != next_offset()) {
        s.stop = format::batch_probe::corrupt;
        s.why = "batch base offset does not follow the previous batch";
        break;
      }
      if (const char* why = format::stored_batch_problem(h)) {
        s.stop = format::batch_probe::corrupt;
        s.why = why;
        break;
      }
      if (index_due(cfg)) {
        FRANZ_TRY(oidx_.reserve_one());
        FRANZ_TRY(tidx_.reserve_one());
      }
      commit(p.size, h.base_offset, h.base_offset + h.last_offset_delta, h.max_timestamp, cfg, h.max_timestamp);
      pos += p.size;
    }
    s.valid_bytes = pos;
    s.next_offset = next_offset();
    allocated_ = *file_size;
    populated_ = 0;
    return s;
  }

  // Trusts the indexes of a sealed segment below the recovery point: checks
  // them and finds the end by walking from the last offset-index entry.
  // Returns damaged when they cannot be trusted and the segment needs
  // recover():
  // entries out of order or past the data, or missing — no entry where
  // one was due in the walked tail (a short index), no final time entry —
  // or the two indexes disagree (indexes_agree). These checks read only
  // the index files and the walked tail; entries in the middle are checked
  // by the lookups that use them (position_of, position_for_time).
  [[nodiscard]] result<trust> load_trusted(const log_config& cfg) {
    auto file_size = log_.size();
    if (!file_size) return std::move(file_size).error();
    auto oi = oidx_.file_size();
    auto ti = tidx_.file_size();
    if (!oi || !ti) return trust::damaged;
    if (!oidx_.check(*oi, *file_size) || !tidx_.check(*ti, UINT32_MAX)) return trust::damaged;
    // Every lookup adds relative offsets to the base: an entry past the
    // largest offset a stored batch can hold (INT64_MAX - 1) is damage. The
    // entries increase (check), so the last ones bound the rest.
    const std::int64_t room = INT64_MAX - 1 - base_;
    const auto oe = oidx_.last();
    const auto te = tidx_.last();
    if ((oe && std::int64_t{oe->relative_offset} > room) || (te && std::int64_t{te->relative_offset} > room))
      return trust::damaged;
    std::uint64_t pos = 0;
    std::int64_t next = base_;
    if (oe) {
      pos = oe->position;
      next = base_ + oe->relative_offset;
    }
    const std::uint64_t from = pos;
    std::int64_t walked_max_ts = -1;
    std::uint64_t since = 0;
    const std::uint64_t limit = std::min<std::uint64_t>(*file_size, capacity());
    while (true) {
      const auto p = format::probe_batch(map_.data + pos, limit - pos, /*verify_checksum=*/false);
      if (p.kind == format::batch_probe::end) break;
      if (p.kind != format::batch_probe::ok) return trust::damaged;
      const auto h = format::read_header(map_.data + pos);
      if (h.base_offset != next || format::stored_batch_problem(h) != nullptr) return trust::damaged;
      // An entry was due here and is missing (unless the index is full).
      if (since > static_cast<std::uint64_t>(cfg.index_interval_bytes) && !oidx_.full() && !tidx_.full(1))
        return trust::damaged;
      since += p.size;
      next = h.base_offset + h.last_offset_delta + 1;
      walked_max_ts = std::max(walked_max_ts, h.max_timestamp);
      pos += p.size;
    }
    // seal() trims the .log to its data; bytes past it (preallocated space)
    // mean the segment was active when the process died. Its indexes were
    // never fsynced (flush syncs only the active segment's data), so a
    // power loss may have left them stale: a lost time entry would make
    // max_timestamp too small and time lookups skip the segment.
    if (pos < limit) return trust::unsealed;
    const auto t = tidx_.last();
    if (pos > 0 && (!t || walked_max_ts > t->timestamp)) return trust::damaged;  // the final time entry is missing
    if (t && static_cast<std::int64_t>(t->relative_offset) + base_ >= next) return trust::damaged;
    // A final time entry that ends the segment was added by seal() because
    // the walked tail raised the maximum (index points before it did not,
    // or they would hold it): its timestamp is the tail's maximum.
    if (t && static_cast<std::int64_t>(t->relative_offset) + base_ == next - 1 && t->timestamp != walked_max_ts)
      return trust::damaged;
    if (!indexes_agree(next)) return trust::damaged;
    next_offset_.store(next, std::memory_order_relaxed);
    max_ts_.store(t ? t->timestamp : -1, std::memory_order_relaxed);
    bytes_since_index_ = pos - from;
    allocated_ = *file_size;
    roll_start_ms_ = pos > 0 ? format::read_header(map_.data).max_timestamp : 0;
    size_.store(pos, std::memory_order_release);
    return trust::trusted;
  }

  // Removes every batch holding an offset >= target (zeroing the bytes and
  // trimming the indexes). The segment becomes writable. Returns the new
  // next offset.
  [[nodiscard]] result<std::int64_t> truncate_to(std::int64_t target) {
    auto pos = position_of(target);
    if (!pos) return std::move(pos).error();
    const std::uint64_t old = size();
    if (*pos >= old) return next_offset();
    // The surviving prefix is re-walked to restore next offset and max ts.
    std::uint64_t p = 0;
    std::int64_t next = base_, max_ts = -1;
    while (p < *pos) {
      const auto h = format::read_header(map_.data + p);
      next = h.base_offset + h.last_offset_delta + 1;
      max_ts = std::max(max_ts, h.max_timestamp);
      p += static_cast<std::uint64_t>(h.batch_length) + format::log_overhead;
    }
    size_.store(*pos, std::memory_order_release);
    std::memset(map_.data + *pos, 0, old - *pos);
    oidx_.truncate_to(oidx_.count_below(static_cast<std::uint32_t>(next - base_)));
    // A time entry ending right at the new end goes too: it belonged to the
    // index point at `next`, whose offset entry went. The next append (an
    // index point again) or seal() adds the same entry back, so the index
    // stays what a rebuild produces (see indexes_agree).
    std::size_t keep = tidx_.entries();
    while (keep > 0 && base_ + static_cast<std::int64_t>(tidx_.at(keep - 1).relative_offset) >= next - 1) --keep;
    tidx_.truncate_to(keep);
    next_offset_.store(next, std::memory_order_relaxed);
    max_ts_.store(max_ts, std::memory_order_relaxed);
    bytes_since_index_ = *pos - (oidx_.last() ? oidx_.last()->position : 0);
    sealed_ = false;
    return next;
  }

  // Unlinks the three files; the mapping stays valid for readers that pin
  // this segment.
  [[nodiscard]] status delete_files() {
    deleted_ = true;
    FS& fs = log_.fs();
    FRANZ_TRY(fs.unlink(log_.path()));
    FRANZ_TRY(fs.unlink(oidx_.path()));
    return fs.unlink(tidx_.path());
  }

  [[nodiscard]] status release() {
    status s = io::unmap(*fs_, map_);
    auto a = oidx_.release();
    auto b = tidx_.release();
    auto c = log_.close();
    if (!s.ok()) return s;
    if (!a.ok()) return a;
    if (!b.ok()) return b;
    return c;
  }

  // Writes n bytes at offset `at` past the published end, into space that
  // reserve() set aside (used for large batches instead of mmap stores).
  [[nodiscard]] status write_reserved(const std::byte* src, std::size_t n, std::uint64_t at = 0) {
    return log_.pwrite(src, n, size() + at);
  }

  // 1 MiB of pages prefaulted ahead of the writer: a single populate call
  // every 1 MiB keeps page faults off ~all small appends (p99.9).
  static constexpr std::uint64_t prefault_window = 1 << 20;

  // Resident memory stays flat however much of the log is written or read:
  // whoever moves through [from, to) — the writer, or a reader — drops the
  // drop_step-aligned chunks that fall more than drop_keep behind it from
  // this process's page tables. Stateless, so each actor drops its own
  // trail once per chunk it passes. The bytes stay in the page cache; a
  // lagging reader that needs them again takes one fault-around per 64 KiB.
  static constexpr std::uint64_t drop_keep = 4 << 20;
  static constexpr std::uint64_t drop_step = 2 << 20;

  void drop_passed(std::uint64_t from, std::uint64_t to) const noexcept {
    if (to <= drop_keep + drop_step) return;
    const std::uint64_t hi = (to - drop_keep) / drop_step * drop_step;
    const std::uint64_t lo = from > drop_keep ? (from - drop_keep) / drop_step * drop_step : 0;
    // Only a hint: madvise does not fail on a valid range, and if it did the
    // cost would be memory, not data.
    if (hi > lo) (void)fs_->drop_pages(map_, lo, hi - lo);
  }
  // Drops every mapped page (a segment the caller has moved past).
  void drop_all() const noexcept { (void)fs_->drop_pages(map_, 0, size()); }

  [[nodiscard]] error corrupt_at(std::uint64_t pos, std::string_view why) const {
    return make_error(errc::corrupt_message, fmt::format("{} at byte {}: {}", log_.path(), pos, why));
  }

  // A walk over batch headers (which trusts each length) met damage at pos,
  // coming from the batch at prev. If prev's checksum fails, its length is
  // what led the walk astray: name prev, the batch at fault. Else e.
  [[nodiscard]] error blame(std::uint64_t prev, std::uint64_t pos, error e) const {
    if (prev >= pos) return e;
    const std::uint64_t limit = size();
    if (prev >= limit) return e;
    const auto p = format::probe_batch(map_.data + prev, limit - prev);
    if (p.kind != format::batch_probe::ok) return corrupt_at(prev, p.why);
    return e;
  }

  // CORRUPT_MESSAGE for the batch at pos, whose header fields cannot be
  // right: its checksum's verdict if that fails, else why.
  [[nodiscard]] error bad_header(std::uint64_t pos, std::string_view why) const {
    const std::uint64_t limit = size();
    if (pos < limit) {
      const auto p = format::probe_batch(map_.data + pos, limit - pos);
      if (p.kind != format::batch_probe::ok) return corrupt_at(pos, p.why);
    }
    return corrupt_at(pos, why);
  }

  // CORRUPT_MESSAGE for an offset below the segment's end that no batch
  // holds: a damaged length made a header walk skip batches. Names the
  // first batch whose checksum fails.
  [[nodiscard]] error missing_offset(std::int64_t off) const {
    auto s = verify_checksums(0, size(), size());
    if (!s.ok()) return std::move(s).error();
    return corrupt_at(0, fmt::format("no batch holds offset {}", off));
  }

 private:
  basic_segment(FS& fs, std::string dir, std::int64_t base) : fs_(&fs), dir_(std::move(dir)), base_(base) {}

  [[nodiscard]] status open_files(const log_config& cfg, bool create) {
    const std::string log_path = dir_ + "/" + format::segment_file(base_, format::log_suffix);
    auto f = io::basic_file<FS>::open(*fs_, log_path,
                                      create ? io::open_mode::create_exclusive : io::open_mode::read_write);
    if (!f) return std::move(f).error();
    log_ = std::move(*f);
    auto size = log_.size();
    if (!size) return std::move(size).error();
    allocated_ = *size;
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    const std::uint64_t want = std::max<std::uint64_t>(*size, static_cast<std::uint64_t>(cfg.segment_bytes));
    auto m = log_.map((want + page - 1) / page * page, true);
    if (!m) return std::move(m).error();
    map_ = *m;
    FRANZ_TRY(oidx_.open(*fs_, dir_ + "/" + format::segment_file(base_, format::index_suffix),
                         cfg.segment_index_bytes));
    FRANZ_TRY(tidx_.open(*fs_, dir_ + "/" + format::segment_file(base_, format::time_index_suffix),
                         cfg.segment_index_bytes));
    next_offset_.store(base_, std::memory_order_relaxed);
    return {};
  }

  // An index entry is due after more than index.interval.bytes, and only
  // while both indexes have room (a full index during recovery — after
  // segment.index.bytes was lowered — just stays sparser).
  [[nodiscard]] bool index_due(const log_config& cfg) const noexcept {
    return bytes_since_index_ > static_cast<std::uint64_t>(cfg.index_interval_bytes) && !oidx_.full() &&
           !tidx_.full(1);
  }

  // Appends (max ts so far, last_offset) if the max timestamp grew since
  // the last entry. Index space must have been reserved.
  [[nodiscard]] bool time_entry_due(std::int64_t last_offset) const noexcept {
    const std::int64_t max_ts = max_ts_.load(std::memory_order_relaxed);
    if (max_ts < 0 || last_offset < base_) return false;
    const auto last = tidx_.last();
    return !last || last->timestamp < max_ts;
  }
  void maybe_append_time_entry(std::int64_t last_offset) noexcept {
    if (!time_entry_due(last_offset)) return;
    tidx_.append({max_ts_.load(std::memory_order_relaxed), static_cast<std::uint32_t>(last_offset - base_)});
  }

  FS* fs_;
  std::string dir_;
  std::int64_t base_;
  io::basic_file<FS> log_;
  io::mapping map_{};
  offset_index<FS> oidx_;
  time_index<FS> tidx_;
  std::atomic<std::uint64_t> size_{0};
  std::uint64_t allocated_ = 0;  // file size: fallocated bytes
  std::uint64_t populated_ = 0;  // prefaulted up to here
  std::uint64_t bytes_since_index_ = 0;
  // Read by other threads (offsets_for_time, retention views): atomics.
  std::atomic<std::int64_t> next_offset_{0};
  std::atomic<std::int64_t> max_ts_{-1};
  std::int64_t roll_start_ms_ = 0;
  bool sealed_ = false;
  bool deleted_ = false;
  // Set by any reader whose lookup met a damaged entry (see position_of).
  mutable std::atomic<bool> index_damaged_{false};

  // The structure both indexes share, checked on open: entries are added
  // together at index points (an offset entry at a batch base K, and a time
  // entry ending at K - 1 if the maximum timestamp grew), plus a final time
  // entry ending the segment at seal. So the first offset entry is never
  // at position 0 (the first batch is no index point), and every time
  // entry ends right before an offset entry's batch, or (the last one) at
  // the segment's end. next: the segment's next offset.
  [[nodiscard]] bool indexes_agree(std::int64_t next) const noexcept {
    const std::size_t no = oidx_.entries(), nt = tidx_.entries();
    if (no > 0 && (oidx_.at(0).relative_offset == 0 || oidx_.at(0).position == 0)) return false;
    std::size_t k = 0;
    for (std::size_t j = 0; j < nt; ++j) {
      const std::int64_t key = std::int64_t{tidx_.at(j).relative_offset} + 1;
      if (j + 1 == nt && base_ + key == next) break;
      while (k < no && std::int64_t{oidx_.at(k).relative_offset} < key) ++k;
      if (k == no || std::int64_t{oidx_.at(k).relative_offset} != key) return false;
    }
    return true;
  }

  // What check_time_entry concluded.
  struct time_check {
    enum class verdict : std::uint8_t {
      ok,          // the entry holds; pos is where the batches after it start
      damaged,     // the entry disagrees with intact data: index damage
      no_verdict,  // damaged data, or a batch not yet published, in the way
    };
    verdict v = verdict::no_verdict;
    std::uint64_t pos = 0;
  };

  // Checks the time entry e against the data: the batches from offset
  // `from` (the previous entry's end + 1; the segment base for the first
  // entry) end exactly at e's offset, and their largest timestamp is e's.
  // That holds for every entry the writer adds: it adds one only when the
  // maximum grew, so the growth lies after the previous entry. Walks
  // headers only: about index.interval.bytes of them, plus the header of
  // the batch after the entry, where the caller's reader starts (a damaged
  // length would start it inside a batch).
  [[nodiscard]] time_check check_time_entry(format::time_entry e, std::int64_t from) const {
    using verdict = typename time_check::verdict;
    // No stored batch ends at INT64_MAX (stored_batch_problem), so an entry
    // there, or past it, is damage.
    std::int64_t last = 0;
    if (__builtin_add_overflow(base_, std::int64_t{e.relative_offset}, &last) || last == INT64_MAX)
      return {verdict::damaged};
    if (from > last) return {verdict::damaged};
    auto landing = position_of(from);
    const std::uint64_t limit = size();
    if (!landing || *landing >= limit) return {};
    const std::uint64_t start = *landing;
    std::uint64_t pos = start;
    std::int64_t expected = from, max_ts = -1;
    bool mismatch = false;
    while (pos < limit) {
      auto n = batch_size_at(pos, limit);
      if (!n) return {};
      const auto h = format::read_header(map_.data + pos);
      if (h.base_offset != expected) {
        // position_of lands on the batch holding `from`, having checked the
        // offsets on the way: if it does not start there, `from` is no
        // batch start (unless that batch's header is damaged: see below).
        // Later, the offsets are not dense: damaged data.
        if (pos != start) return {};
        mismatch = true;
        break;
      }
      const std::int64_t batch_last = format::last_offset_of(h);
      if (expected == last + 1 || h.last_offset_delta < 0 || batch_last == INT64_MAX) break;
      max_ts = std::max(max_ts, h.max_timestamp);
      expected = batch_last + 1;
      pos += *n;
      if (expected > last + 1) break;
    }
    if (!mismatch) {
      // Ran out of data before the entry's end, or ended at `limit` where
      // the segment does not (a length that skipped batches, or batches
      // published after `limit` was loaded): no verdict on the entry.
      if (expected <= last) return {};
      if (pos == limit && expected == last + 1 && next_offset() != expected) return {};
      mismatch = expected != last + 1 || max_ts != e.timestamp;
    }
    if (mismatch) {
      // The walk read headers only: a damaged batch on the way (its fields
      // past the base offset are checksummed) is the data's fault.
      if (!verify_checksums(start, std::min(pos + 1, limit), limit).ok()) return {};
      return {verdict::damaged};
    }
    return {verdict::ok, pos};
  }

  // CORRUPT_MESSAGE for the first batch in [from, to) whose checksum fails.
  [[nodiscard]] status verify_checksums(std::uint64_t from, std::uint64_t to, std::uint64_t limit) const {
    for (std::uint64_t p = from; p < to && p < limit;) {
      const auto probe = format::probe_batch(map_.data + p, limit - p);
      if (probe.kind != format::batch_probe::ok) return corrupt_at(p, probe.why);
      p += probe.size;
    }
    return {};
  }

  // Walks batch headers from pos (the start of the batch at offset
  // expected) to the first batch whose last offset is >= target. Offsets
  // must be dense: base_offset is outside the checksum, so a batch whose
  // base is not the previous batch's next offset is damage, not data.
  [[nodiscard]] result<std::uint64_t> walk_to(std::uint64_t pos, std::int64_t expected, std::int64_t target,
                                              std::uint64_t limit) const {
    std::uint64_t prev = pos;
    while (pos < limit) {
      auto n = batch_size_at(pos, limit);
      if (!n) return blame(prev, pos, std::move(n).error());
      const auto h = format::read_header(map_.data + pos);
      if (h.base_offset != expected)
        return blame(prev, pos, corrupt_at(pos, fmt::format("batch base offset {} where {} was expected",
                                                            h.base_offset, expected)));
      if (h.last_offset_delta < 0) return blame(prev, pos, corrupt_at(pos, "negative last offset delta"));
      const std::int64_t last = format::last_offset_of(h);
      if (last >= target) return pos;
      expected = last + 1;  // last < target
      prev = pos;
      pos += *n;
    }
    return limit;
  }
};

}  // namespace franz
