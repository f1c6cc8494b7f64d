// franz — zigzag varints, as in Kafka's record format (and protobuf's sint64).
//
// A varint holds 7 bits a byte, low bits first; the high bit says "more".
// Signed values are zigzag-mapped first so small negative numbers stay short.
#pragma once

#include <cstddef>
#include <cstdint>

namespace franz::format {

inline constexpr std::size_t max_varint32_bytes = 5;
inline constexpr std::size_t max_varint64_bytes = 10;

[[nodiscard]] constexpr std::uint64_t zigzag(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
[[nodiscard]] constexpr std::int64_t unzigzag(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// Bytes needed for varint(zigzag(v)).
[[nodiscard]] constexpr std::size_t varint_size(std::int64_t v) noexcept {
  std::uint64_t u = zigzag(v);
  std::size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}

// Writes varint(zigzag(v)) at p; returns the byte after it. The caller
// guarantees varint_size(v) bytes of room.
inline std::byte* put_varint(std::byte* p, std::int64_t v) noexcept {
  std::uint64_t u = zigzag(v);
  while (u >= 0x80) {
    *p++ = static_cast<std::byte>(u | 0x80);
    u >>= 7;
  }
  *p++ = static_cast<std::byte>(u);
  return p;
}

// Reads a zigzag varint of at most max_bytes bytes from [p, end). On success
// advances p and returns true. Returns false, leaving p unspecified, if the
// varint runs past end or past max_bytes, or if a 10th byte carries bits
// beyond 64. Like Kafka, it accepts non-shortest forms (80 00 reads as 0).
[[nodiscard]] inline bool get_varint(const std::byte*& p, const std::byte* end, std::int64_t& out,
                                     std::size_t max_bytes = max_varint64_bytes) noexcept {
  // Fast path: one byte, the common case for deltas and short lengths.
  if (p < end && (static_cast<std::uint8_t>(*p) & 0x80) == 0) {
    out = unzigzag(static_cast<std::uint8_t>(*p++));
    return true;
  }
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < max_bytes; ++i) {
    if (p >= end) return false;
    const auto b = static_cast<std::uint8_t>(*p++);
    if (i == 9 && b > 1) return false;  // more than 64 bits
    u |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      out = unzigzag(u);
      return true;
    }
  }
  return false;
}

// As get_varint, but the value must fit in int32 (Kafka's "varint").
[[nodiscard]] inline bool get_varint32(const std::byte*& p, const std::byte* end,
                                       std::int32_t& out) noexcept {
  std::int64_t v;
  if (!get_varint(p, end, v, max_varint32_bytes)) return false;
  if (v < INT32_MIN || v > INT32_MAX) return false;
  out = static_cast<std::int32_t>(v);
  return true;
}

}  // namespace franz::format
