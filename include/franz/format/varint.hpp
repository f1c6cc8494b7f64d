// franz — zigzag varints, as in Kafka's record format (and protobuf's sint64).
//
// A varint holds 7 bits a byte, low bits first; the high bit says "more".
// Signed values are zigzag-mapped first so small negative numbers stay short.
#pragma once

#include <array>
#include <bit>
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

// varint bytes by bit width: ceil(bits / 7), at least 1.
inline constexpr auto varint_bytes_by_width = [] {
  std::array<std::uint8_t, 65> t{};
  for (std::size_t b = 0; b <= 64; ++b) t[b] = static_cast<std::uint8_t>(b == 0 ? 1 : (b + 6) / 7);
  return t;
}();

// Bytes needed for varint(zigzag(v)). Branch-free and division-free (a
// table lookup): the encoder sizes six fields of every record with it.
[[nodiscard]] constexpr std::size_t varint_size(std::int64_t v) noexcept {
  return varint_bytes_by_width[static_cast<std::size_t>(std::bit_width(zigzag(v)))];
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

// The multi-byte case of get_varint, kept out of line so the one-byte fast
// path inlines into the record decoder without bloating it.
[[gnu::noinline]] inline bool get_varint_slow(const std::byte*& p, const std::byte* end, std::int64_t& out,
                                              std::size_t max_bytes) noexcept {
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

// Reads a zigzag varint of at most max_bytes bytes from [p, end). On success
// advances p and returns true. Returns false, leaving p unspecified, if the
// varint runs past end or past max_bytes, or if a 10th byte carries bits
// beyond 64. Like Kafka, it accepts non-shortest forms (80 00 reads as 0).
[[gnu::always_inline]] inline bool get_varint(const std::byte*& p, const std::byte* end, std::int64_t& out,
                                              std::size_t max_bytes = max_varint64_bytes) noexcept {
  // Fast paths: one byte (deltas, short lengths) and two bytes (lengths of
  // 64..8191: a 100-byte value and its record's length).
  if (end - p >= 2) [[likely]] {
    const auto b0 = static_cast<std::uint8_t>(p[0]);
    if ((b0 & 0x80) == 0) {
      out = unzigzag(b0);
      p += 1;
      return true;
    }
    const auto b1 = static_cast<std::uint8_t>(p[1]);
    if ((b1 & 0x80) == 0 && max_bytes >= 2) {
      out = unzigzag(static_cast<std::uint64_t>(b0 & 0x7f) | static_cast<std::uint64_t>(b1) << 7);
      p += 2;
      return true;
    }
  }
  return get_varint_slow(p, end, out, max_bytes);
}

// As get_varint, but the value must fit in int32 (Kafka's "varint").
[[nodiscard, gnu::always_inline]] inline bool get_varint32(const std::byte*& p, const std::byte* end,
                                                          std::int32_t& out) noexcept {
  std::int64_t v;
  if (!get_varint(p, end, v, max_varint32_bytes)) return false;
  if (v < INT32_MIN || v > INT32_MAX) return false;
  out = static_cast<std::int32_t>(v);
  return true;
}

}  // namespace franz::format
