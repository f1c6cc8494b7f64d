// franz — little-endian loads and stores for on-disk formats.
//
// Every franz file is little-endian. Loads and stores go through memcpy so
// unaligned positions are fine and the compiler emits one mov on x86-64.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace franz::format {

static_assert(std::endian::native == std::endian::little,
              "franz's on-disk formats are little-endian and stored with memcpy; "
              "a big-endian port must add byte swaps in format/endian.hpp");

template <class T>
[[nodiscard]] inline T load_le(const std::byte* p) noexcept {
  static_assert(std::is_trivially_copyable_v<T>);
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class T>
inline void store_le(std::byte* p, T v) noexcept {
  static_assert(std::is_trivially_copyable_v<T>);
  std::memcpy(p, &v, sizeof v);
}

}  // namespace franz::format
