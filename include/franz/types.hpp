// franz — vocabulary types: strong offsets and timestamps, byte views, the clock.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string_view>

namespace franz {

// A value of T that does not mix with other strong<T, Tag> types by accident.
// An offset is not a file position is not a timestamp.
template <class T, class Tag>
struct strong {
  T v{};
  constexpr strong() = default;
  constexpr explicit strong(T value) : v(value) {}
  [[nodiscard]] constexpr T value() const { return v; }
  friend constexpr auto operator<=>(strong, strong) = default;
};

// A record's offset within its partition: dense, starting at 0, assigned by
// append. Differences between offsets are plain integers.
struct offset : strong<std::int64_t, offset> {
  using strong::strong;
  friend constexpr offset operator+(offset a, std::int64_t d) { return offset{a.v + d}; }
  friend constexpr offset operator-(offset a, std::int64_t d) { return offset{a.v - d}; }
  friend constexpr std::int64_t operator-(offset a, offset b) { return a.v - b.v; }
  constexpr offset& operator+=(std::int64_t d) { v += d; return *this; }
};

// Milliseconds since the Unix epoch, as in Kafka. -1 means "no timestamp".
struct timestamp : strong<std::int64_t, timestamp> {
  using strong::strong;
  static constexpr timestamp none() { return timestamp{-1}; }
};

// Bytes are viewed as std::string_view: no copy, and string literals work.
// A view whose data() is nullptr is Kafka's null (a null value is a
// tombstone); std::string_view{""} is an empty, non-null value.
using bytes_view = std::string_view;
inline constexpr bytes_view null_bytes{};

// The time source. Injectable so tests and game loops control time
// (segment.ms, flush.ms, retention.ms). Thread-safe implementations only:
// readers and the writer may call it concurrently.
class clock {
 public:
  virtual ~clock() = default;
  // Wall-clock milliseconds since the epoch.
  [[nodiscard]] virtual std::int64_t now_ms() const noexcept = 0;
};

// CLOCK_REALTIME_COARSE: a few ns per call and jiffy resolution (1–4 ms),
// plenty for millisecond timestamps and time-based policies; it keeps the
// single-record append path short.
class system_clock final : public clock {
 public:
  [[nodiscard]] std::int64_t now_ms() const noexcept override {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  }
  static system_clock& instance() noexcept {
    static system_clock c;
    return c;
  }
};

// A clock that moves only when told. Thread-safe for reads; advance from one
// thread.
class manual_clock final : public clock {
 public:
  explicit manual_clock(std::int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  [[nodiscard]] std::int64_t now_ms() const noexcept override {
    return __atomic_load_n(&now_, __ATOMIC_ACQUIRE);
  }
  void advance(std::int64_t ms) noexcept { __atomic_fetch_add(&now_, ms, __ATOMIC_ACQ_REL); }
  void set(std::int64_t ms) noexcept { __atomic_store_n(&now_, ms, __ATOMIC_RELEASE); }

 private:
  std::int64_t now_;
};

}  // namespace franz
