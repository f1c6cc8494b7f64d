// franz — basic_index<FS, Entry>: one mmapped, sparse, sorted index.
//
// The offset index and the time index differ only in Entry (see
// format/index_entry.hpp): the mapping, growth, binary search, trimming and
// sanity checks are shared here, as Kafka's AbstractIndex shares them.
//
// The file is mapped once at its maximum size (segment.index.bytes, rounded
// to pages; address space only) and grown with fallocate in chunks ahead of
// the writer, so a store into the mapping can never hit ENOSPC as SIGBUS.
// When the segment is sealed the file is trimmed to its entries.
//
// Thread-safety: one writer (append/truncate/trim), any number of readers
// (lookups). Entries are published by a release store of the count, so a
// reader sees only whole entries. truncate_to must not race with readers.
// Lifetime: the FS outlives the index.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "franz/error.hpp"
#include "franz/format/index_entry.hpp"
#include "franz/io/file.hpp"

namespace franz {

template <class FS, class Entry>
class basic_index {
 public:
  using key_type = typename Entry::key_type;

  basic_index() = default;
  basic_index(const basic_index&) = delete;
  basic_index& operator=(const basic_index&) = delete;
  ~basic_index() { (void)release(); }

  // Opens (creating if missing) the index at path with room for
  // max_bytes / Entry::size entries. Existing whole entries are kept, up to
  // the last one that is not all zero: an active segment's index file is
  // preallocated (fallocate, page-sized), so its tail reads as zeros that
  // are no entries. check() tells whether the entries can be trusted.
  [[nodiscard]] status open(FS& fs, std::string path, std::int64_t max_bytes) {
    auto f = io::basic_file<FS>::open(fs, std::move(path), io::open_mode::create);
    if (!f) return std::move(f).error();
    file_ = std::move(*f);
    max_entries_ = static_cast<std::size_t>(max_bytes) / Entry::size;
    auto size = file_.size();
    if (!size) return std::move(size).error();
    allocated_ = *size;
    std::size_t existing = std::min<std::size_t>(*size / Entry::size, max_entries_);
    const std::size_t map_len = round_up(std::max<std::size_t>(max_entries_ * Entry::size, *size));
    auto m = file_.map(map_len, true);
    if (!m) return std::move(m).error();
    map_ = *m;
    // Preallocation at most doubles the entries' bytes (reserve_one), so
    // this walks back over no more zeros than there are entries.
    while (existing > 0 && all_zero(map_.data + (existing - 1) * Entry::size, Entry::size)) --existing;
    count_.store(existing, std::memory_order_release);
    return {};
  }

  [[nodiscard]] std::size_t entries() const noexcept { return count_.load(std::memory_order_acquire); }
  [[nodiscard]] std::size_t max_entries() const noexcept { return max_entries_; }
  [[nodiscard]] bool full(std::size_t spare = 0) const noexcept { return entries() + spare >= max_entries_; }
  [[nodiscard]] const std::string& path() const noexcept { return file_.path(); }

  [[nodiscard]] Entry at(std::size_t i) const noexcept { return Entry::load(map_.data + i * Entry::size); }
  [[nodiscard]] std::optional<Entry> last() const noexcept {
    const std::size_t n = entries();
    if (n == 0) return std::nullopt;
    return at(n - 1);
  }

  // Makes room for one more entry (fallocate ahead). Fails with
  // OUT_OF_SPACE, leaving the index unchanged.
  [[nodiscard]] status reserve_one() {
    const std::size_t need = (entries() + 1) * Entry::size;
    if (need <= allocated_) return {};
    if (need > map_.size || entries() >= max_entries_)
      return make_error(errc::illegal_state, fmt::format("{}: index is full", file_.path()));
    // Grow by doubling, from one page, up to the mapping.
    const std::size_t step = std::max<std::size_t>(page_size(), allocated_);
    const std::size_t target = std::min(map_.size, std::max(need, allocated_ + step));
    FRANZ_TRY(file_.allocate(allocated_, target - allocated_));
    allocated_ = target;
    return {};
  }

  // Appends e after reserve_one() succeeded. Keys must not decrease.
  void append(const Entry& e) noexcept {
    const std::size_t n = count_.load(std::memory_order_relaxed);
    e.store(map_.data + n * Entry::size);
    count_.store(n + 1, std::memory_order_release);
  }

  // The last entry whose key is <= target (Kafka's "floor"), or nullopt.
  //
  // Why two searches: consumers read near the tail, and the tail pages of an
  // index are always resident, while a plain binary search over the whole
  // file first probes the middle — pages that may be cold and fault in from
  // disk. So, as Kafka does, search the last warm_bytes first and touch the
  // cold part only for lookups that need it.
  [[nodiscard]] std::optional<Entry> floor(key_type target) const noexcept {
    const std::size_t n = entries();
    if (n == 0 || at(0).key() > target) return std::nullopt;
    constexpr std::size_t warm_entries = warm_bytes / Entry::size;
    const std::size_t warm_start = n > warm_entries ? n - warm_entries : 0;
    if (at(warm_start).key() <= target) return at(floor_in(warm_start, n, target));
    return at(floor_in(0, warm_start, target));
  }

  // The number of entries whose key is strictly below target.
  [[nodiscard]] std::size_t count_below(key_type target) const noexcept {
    std::size_t lo = 0, hi = entries();
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (at(mid).key() < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // Keeps the first n entries (n <= entries()). Zeroes the rest so a later
  // recovery cannot mistake them for entries.
  void truncate_to(std::size_t n) noexcept {
    const std::size_t old = entries();
    if (n >= old) return;
    count_.store(n, std::memory_order_release);
    std::memset(map_.data + n * Entry::size, 0, (old - n) * Entry::size);
  }

  // Empties the index (for a rebuild).
  void clear() noexcept { truncate_to(0); }

  // Shrinks the file to exactly its entries (when the segment is sealed).
  [[nodiscard]] status trim() {
    const std::size_t bytes = entries() * Entry::size;
    FRANZ_TRY(file_.truncate(bytes));
    allocated_ = bytes;
    return {};
  }

  [[nodiscard]] status sync() { return file_.fdatasync(); }

  // Checks what can be checked without the log: every byte of the file
  // past the entries is zero (preallocated space, not a torn or damaged
  // entry), keys and values strictly increase (each entry names a different
  // batch), and values stay below value_limit. A failed check means
  // "rebuild me".
  [[nodiscard]] bool check(std::uint64_t file_bytes, std::uint64_t value_limit) const noexcept {
    const std::size_t n = entries();
    const std::uint64_t used = n * Entry::size;
    if (file_bytes < used || file_bytes > map_.size) return false;
    if (!all_zero(map_.data + used, static_cast<std::size_t>(file_bytes - used))) return false;
    for (std::size_t i = 0; i < n; ++i) {
      const Entry e = at(i);
      if (e.value() >= value_limit && !(e.value() == 0 && value_limit == 0)) return false;
      if (i > 0) {
        const Entry p = at(i - 1);
        if (!(p.key() < e.key()) || !(p.value() < e.value())) return false;
      }
    }
    return true;
  }

  [[nodiscard]] result<std::uint64_t> file_size() const { return file_.size(); }

  // Unmaps and closes (idempotent).
  [[nodiscard]] status release() {
    if (!file_.is_open()) return {};
    auto s = io::unmap(file_.fs(), map_);
    auto c = file_.close();
    return s.ok() ? c : s;
  }

 private:
  static constexpr std::size_t warm_bytes = 8192;

  static std::size_t page_size() noexcept {
    static const auto p = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return p;
  }
  static bool all_zero(const std::byte* p, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i)
      if (p[i] != std::byte{0}) return false;
    return true;
  }
  static std::size_t round_up(std::size_t n) noexcept {
    const std::size_t p = page_size();
    return std::max(p, (n + p - 1) / p * p);
  }
  // Index of the last entry in [lo, hi) with key <= target; at(lo) <= target.
  [[nodiscard]] std::size_t floor_in(std::size_t lo, std::size_t hi, key_type target) const noexcept {
    while (hi - lo > 1) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (at(mid).key() <= target) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  io::basic_file<FS> file_;
  io::mapping map_{};
  std::size_t max_entries_ = 0;
  std::size_t allocated_ = 0;
  std::atomic<std::size_t> count_{0};
};

template <class FS>
using offset_index = basic_index<FS, format::offset_entry>;
template <class FS>
using time_index = basic_index<FS, format::time_entry>;

}  // namespace franz
