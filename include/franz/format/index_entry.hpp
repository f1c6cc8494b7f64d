// franz — index entry formats, version 1. Layout only, no I/O.
//
// Offset index (.index): 8-byte entries, sorted by relative offset.
//   0               4               8
//   +---------------+---------------+
//   | relative_off  | position      |   u32 LE, u32 LE
//   +---------------+---------------+
// Time index (.timeindex): 12-byte entries, sorted by timestamp.
//   0                               8               12
//   +-------------------------------+---------------+
//   | timestamp (ms, i64 LE)        | relative_off  |
//   +-------------------------------+---------------+
// relative_off = offset - segment base offset; position = byte position of
// a batch start in the .log file. Both indexes are sparse: one entry per
// index.interval.bytes of log, at batch boundaries.
#pragma once

#include <cstddef>
#include <cstdint>

#include "franz/format/endian.hpp"

namespace franz::format {

struct offset_entry {
  std::uint32_t relative_offset;
  std::uint32_t position;

  static constexpr std::size_t size = 8;
  using key_type = std::uint32_t;
  [[nodiscard]] key_type key() const noexcept { return relative_offset; }
  [[nodiscard]] std::uint64_t value() const noexcept { return position; }
  static offset_entry load(const std::byte* p) noexcept {
    return {load_le<std::uint32_t>(p), load_le<std::uint32_t>(p + 4)};
  }
  void store(std::byte* p) const noexcept {
    store_le(p, relative_offset);
    store_le(p + 4, position);
  }
};

struct time_entry {
  std::int64_t timestamp;
  std::uint32_t relative_offset;

  static constexpr std::size_t size = 12;
  using key_type = std::int64_t;
  [[nodiscard]] key_type key() const noexcept { return timestamp; }
  [[nodiscard]] std::uint64_t value() const noexcept { return relative_offset; }
  static time_entry load(const std::byte* p) noexcept {
    return {load_le<std::int64_t>(p), load_le<std::uint32_t>(p + 8)};
  }
  void store(std::byte* p) const noexcept {
    store_le(p, timestamp);
    store_le(p + 8, relative_offset);
  }
};

}  // namespace franz::format
