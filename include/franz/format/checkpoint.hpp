// franz — the partition checkpoint file (partition.checkpoint), version 1.
//
//   0       4       8               16              24              32
//   +-------+-------+---------------+---------------+---------------+
//   | magic |version| log_start     | recovery_point| checksum      |
//   +-------+-------+---------------+---------------+---------------+
//
// magic is "FZCP" (0x5043'5a46 LE). checksum is XXH3-64 of bytes [0, 24).
// log_start: the first offset readers may see (moved by retention and
// delete_records). recovery_point: every byte below this offset was fsynced,
// so recovery on open validates only from the segment holding it. The file is
// replaced atomically (write .tmp, fsync, rename, fsync the directory).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "franz/format/endian.hpp"
#include "franz/format/record_batch.hpp"  // XXH3, inlined

namespace franz::format {

inline constexpr std::uint32_t checkpoint_magic = 0x50435a46;  // "FZCP"
inline constexpr std::uint32_t checkpoint_version = 1;
inline constexpr std::size_t checkpoint_size = 32;

struct checkpoint {
  std::int64_t log_start = 0;
  std::int64_t recovery_point = 0;
  friend bool operator==(const checkpoint&, const checkpoint&) = default;
};

[[nodiscard]] inline std::array<std::byte, checkpoint_size> encode_checkpoint(const checkpoint& c) noexcept {
  std::array<std::byte, checkpoint_size> out{};
  store_le(out.data() + 0, checkpoint_magic);
  store_le(out.data() + 4, checkpoint_version);
  store_le(out.data() + 8, c.log_start);
  store_le(out.data() + 16, c.recovery_point);
  store_le(out.data() + 24, XXH3_64bits(out.data(), 24));
  return out;
}

// nullopt if the bytes are not a valid version-1 checkpoint.
[[nodiscard]] inline std::optional<checkpoint> decode_checkpoint(std::span<const std::byte> in) noexcept {
  if (in.size() != checkpoint_size) return std::nullopt;
  if (load_le<std::uint32_t>(in.data()) != checkpoint_magic) return std::nullopt;
  if (load_le<std::uint32_t>(in.data() + 4) != checkpoint_version) return std::nullopt;
  if (load_le<std::uint64_t>(in.data() + 24) != XXH3_64bits(in.data(), 24)) return std::nullopt;
  checkpoint c{load_le<std::int64_t>(in.data() + 8), load_le<std::int64_t>(in.data() + 16)};
  if (c.log_start < 0 || c.recovery_point < 0) return std::nullopt;
  return c;
}

}  // namespace franz::format
