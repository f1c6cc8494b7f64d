// franz — error codes and the result type every fallible call returns.
//
// Codes carry Kafka's names where Kafka has one, so a Kafka user reads
// `OFFSET_OUT_OF_RANGE` and knows what happened. Codes without a Kafka
// counterpart follow the same style. Each comment says when the code is
// returned and what the caller should do.
#pragma once

#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace franz {

enum class errc : std::uint8_t {
  none = 0,
  // A fetch or lookup named an offset below the log start or above the log
  // end. Seek to a valid offset (see log_start_offset/log_end_offset).
  offset_out_of_range,
  // Bytes on disk or handed in do not decode: bad checksum, bad magic, a
  // length that overruns its buffer. The message names file and position.
  // Sealed-segment damage needs `repair`; input damage means a buggy producer.
  corrupt_message,
  // One batch is larger than max.message.bytes or segment.bytes. Split it.
  record_too_large,
  // A config key is unknown or its value is out of range. Fix the config.
  invalid_config,
  // A batch handed to append is malformed (bad header fields, count/offset
  // deltas that disagree). Nothing was written.
  invalid_record,
  // The record timestamp is unusable (negative and not "none").
  invalid_timestamp,
  // A batch names a compression codec franz does not support.
  unsupported_compression_type,
  // An I/O call failed (EIO and friends). The log is taken offline; reopen it.
  // Kafka: KAFKA_STORAGE_ERROR.
  kafka_storage_error,
  // The disk (or quota) is full: ENOSPC/EDQUOT/EFBIG. Nothing partial was
  // written; free space and retry.
  out_of_space,
  // An earlier fsync or write failed, so the log's state is uncertain. It
  // refuses all writes and flushes until it is closed and reopened; reopen
  // runs recovery, which truncates whatever was never made durable.
  log_offline,
  // Another writer (this or another process) holds the directory's lock.
  log_dir_locked,
  // The path exists but is not a directory, or cannot be used as a log dir.
  invalid_log_dir,
  // A partition directory holds a file franz did not create. franz will not
  // guess; move the file away.
  foreign_file,
  // The call is not valid in the object's state (closed, misuse of the API).
  illegal_state,
  // --- messaging ---
  // A topic name breaks Kafka's rules (1-249 chars of [a-zA-Z0-9._-], not
  // "." or ".."). Nothing was created.
  invalid_topic_exception,
  // create_topic of a name that exists.
  topic_already_exists,
  // No such topic or partition, or the topic was deleted while in use.
  unknown_topic_or_partition,
  // A wait ran out: max.block.ms for buffer memory, or close(timeout)
  // before every record was acknowledged.
  request_timed_out,
  // --- consumer groups ---
  // A commit (or group call) carries a generation the group has moved past:
  // a rebalance happened since. poll() to rejoin; the records since the last
  // successful commit will be delivered again.
  illegal_generation,
  // A commit while this member has joined a rebalance that is not complete.
  // poll() to finish the rebalance, then commit what is still owned.
  rebalance_in_progress,
  // The member is no longer in the group (it left, or was removed after
  // session.timeout.ms or max.poll.interval.ms). Its partitions were lost;
  // poll() rejoins as a new member.
  unknown_member_id,
  // A partition count below 1, or create_partitions that does not grow.
  invalid_partitions,
  // auto.offset.reset=none and the consumer has no position for a
  // partition. seek() first.
  no_offset_for_partition,
  // poll() was interrupted by wakeup() (Kafka's WakeupException).
  wakeup,
  // An empty group.id, or a group call on a consumer without one.
  invalid_group_id,
  // describe/delete/offsets of a group that does not exist.
  group_id_not_found,
  // delete_group or an offset reset of a group that has members (also
  // static members waiting out session.timeout.ms). Stop its consumers.
  non_empty_group,
  // A joining member shares no assignor (partition.assignment.strategy)
  // with the group's members.
  inconsistent_group_protocol,
  // A consumer joined with a group.instance.id that an open consumer still
  // holds (two live consumers may not share a static identity).
  unreleased_instance_id,
  // Commit metadata longer than offset.metadata.max.bytes (4096).
  offset_metadata_too_large,
  // A subscription pattern that is not a valid regular expression.
  invalid_regular_expression,
};

// Kafka-style upper-case name, e.g. "OFFSET_OUT_OF_RANGE".
std::string_view errc_name(errc) noexcept;

// An error: a code, the errno behind it (0 if none) and a human message that
// names the file, offset or key involved.
struct error {
  errc code = errc::none;
  int sys_errno = 0;
  std::string message;

  // "CORRUPT_MESSAGE: 00000000000000000000.log at byte 4096: checksum ..."
  [[nodiscard]] std::string to_string() const;
};

[[nodiscard]] error make_error(errc code, std::string message, int sys_errno = 0);
// Maps errno to out_of_space (ENOSPC, EDQUOT, EFBIG) or kafka_storage_error.
[[nodiscard]] error errno_error(int sys_errno, std::string_view what);

// result<T>: a T or an error. [[nodiscard]] so a dropped error is a warning.
// Access to value() on an error (or error() on a value) is a contract
// violation and aborts in debug builds.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : ok_(true) { new (&value_) T(std::move(value)); }  // NOLINT
  result(franz::error e) : ok_(false) { new (&error_) franz::error(std::move(e)); }  // NOLINT
  result(const result& o) : ok_(o.ok_) {
    if (ok_) new (&value_) T(o.value_);
    else new (&error_) franz::error(o.error_);
  }
  result(result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) : ok_(o.ok_) {
    if (ok_) new (&value_) T(std::move(o.value_));
    else new (&error_) franz::error(std::move(o.error_));
  }
  result& operator=(result o) {
    this->~result();
    new (this) result(std::move(o));
    return *this;
  }
  ~result() {
    if (ok_) value_.~T();
    else error_.~error();
  }

  [[nodiscard]] bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }

  T& value() & { return value_; }
  const T& value() const& { return value_; }
  T&& value() && { return std::move(value_); }
  T& operator*() & { return value_; }
  const T& operator*() const& { return value_; }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }

  const franz::error& error() const& { return error_; }
  franz::error&& error() && { return std::move(error_); }
  errc code() const noexcept { return ok_ ? errc::none : error_.code; }

 private:
  bool ok_;
  union {
    T value_;
    franz::error error_;
  };
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(franz::error e) : err_(std::move(e)) {}  // NOLINT

  [[nodiscard]] bool ok() const noexcept { return err_.code == errc::none; }
  explicit operator bool() const noexcept { return ok(); }
  const franz::error& error() const& { return err_; }
  franz::error&& error() && { return std::move(err_); }
  errc code() const noexcept { return err_.code; }

 private:
  franz::error err_;
};

using status = result<void>;

}  // namespace franz

// Propagate an error from an expression returning result<...>.
#define FRANZ_TRY(expr)                                   \
  do {                                                    \
    if (auto franz_try_r_ = (expr); !franz_try_r_.ok())   \
      return std::move(franz_try_r_).error();             \
  } while (0)

#define FRANZ_CONCAT_INNER_(a, b) a##b
#define FRANZ_CONCAT_(a, b) FRANZ_CONCAT_INNER_(a, b)
// Declare `lhs` from the value of a result, or return its error.
#define FRANZ_ASSIGN_OR_RETURN(lhs, expr) \
  FRANZ_ASSIGN_OR_RETURN_IMPL_(FRANZ_CONCAT_(franz_r_, __LINE__), lhs, expr)
#define FRANZ_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).error();      \
  lhs = std::move(tmp).value()
