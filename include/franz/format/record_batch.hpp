// franz — the record-batch format, version 1 (magic = 1). Layout only, no I/O.
//
// doc/format.md gives the grammar, byte diagrams and rationale. Every field
// position below is pinned by static_assert and by golden-bytes tests
// (tests/format_test.cpp); change neither without bumping the magic.
//
//   0               8               12  13      16              24
//   +---------------+---------------+---+-------+---------------+
//   | base_offset   | batch_length  |mag| rsvd  | checksum      |
//   +-------+-------+-------+-------+---+-------+---------------+
//   24      26      28      32              40              48
//   | attrs | epoch | lod   | first_timestamp | max_timestamp |
//   +-------+-------+-------+-----------------+---------------+
//   48              56      60      64
//   | producer_id   | bseq  | count | records ...
//   +---------------+-------+-------+------------
//
// batch_length counts the bytes after itself (12 + batch_length = whole
// batch). The XXH3-64 checksum covers bytes [24, end): everything after it.
// base_offset is outside the checksum (the log assigns it at append time, as
// in Kafka), and so are the length and magic, which are checked by value.
// All integers are little-endian; fields sit at their natural alignment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include "franz/error.hpp"
#include "franz/format/endian.hpp"
#include "franz/format/varint.hpp"
#include "franz/types.hpp"

namespace franz {

// Kafka's codec numbering in attribute bits 0..2. gzip (1) and snappy (2)
// are not supported and decode as UNSUPPORTED_COMPRESSION_TYPE.
enum class compression : std::uint8_t { none = 0, lz4 = 3, zstd = 4 };

enum class timestamp_type : std::uint8_t { create_time = 0, log_append_time = 1 };

// One header of a record: a non-null key and a nullable value.
struct record_header {
  std::string_view key;
  bytes_view value;
};

// A record to append. Views only: the caller keeps the bytes alive for the
// duration of the append call.
struct record {
  bytes_view key = null_bytes;
  bytes_view value = null_bytes;
  std::span<const record_header> headers = {};
  // CreateTime in ms; timestamp::none() means "now" at append.
  timestamp ts = timestamp::none();
};

namespace format {

inline constexpr std::uint8_t batch_magic = 1;

// The batch header, exactly as laid out on disk (little-endian host).
struct batch_header {
  std::int64_t base_offset;
  std::int32_t batch_length;
  std::uint8_t magic;
  std::uint8_t reserved[3];  // must be zero
  std::uint64_t checksum;
  std::uint16_t attributes;
  std::int16_t producer_epoch;
  std::int32_t last_offset_delta;
  std::int64_t first_timestamp;
  std::int64_t max_timestamp;
  std::int64_t producer_id;
  std::int32_t base_sequence;
  std::int32_t record_count;
};

static_assert(sizeof(batch_header) == 64);
static_assert(offsetof(batch_header, base_offset) == 0);
static_assert(offsetof(batch_header, batch_length) == 8);
static_assert(offsetof(batch_header, magic) == 12);
static_assert(offsetof(batch_header, reserved) == 13);
static_assert(offsetof(batch_header, checksum) == 16);
static_assert(offsetof(batch_header, attributes) == 24);
static_assert(offsetof(batch_header, producer_epoch) == 26);
static_assert(offsetof(batch_header, last_offset_delta) == 28);
static_assert(offsetof(batch_header, first_timestamp) == 32);
static_assert(offsetof(batch_header, max_timestamp) == 40);
static_assert(offsetof(batch_header, producer_id) == 48);
static_assert(offsetof(batch_header, base_sequence) == 56);
static_assert(offsetof(batch_header, record_count) == 60);

inline constexpr std::size_t batch_header_size = sizeof(batch_header);
// Bytes not counted by batch_length: base_offset and batch_length themselves.
inline constexpr std::size_t log_overhead = 12;
// The checksum covers [checksummed_from, end).
inline constexpr std::size_t checksummed_from = offsetof(batch_header, attributes);
// Compressed record sections start with the uncompressed length (u32 LE).
inline constexpr std::size_t compressed_prefix_size = 4;
// A compressed section may not claim more than this uncompressed: the
// decoder must not allocate what a hostile length asks for.
inline constexpr std::uint32_t max_uncompressed_records_bytes = 256u << 20;

// Attribute bits (Kafka's positions).
inline constexpr std::uint16_t attr_compression_mask = 0x07;
inline constexpr std::uint16_t attr_timestamp_type = 0x08;
inline constexpr std::uint16_t attr_transactional = 0x10;
inline constexpr std::uint16_t attr_control = 0x20;
inline constexpr std::uint16_t attr_known_bits = 0x3f;

inline constexpr std::int64_t no_producer_id = -1;
inline constexpr std::int16_t no_producer_epoch = -1;
inline constexpr std::int32_t no_sequence = -1;

[[nodiscard]] inline std::uint64_t checksum_of(const std::byte* batch, std::size_t size) noexcept {
  return XXH3_64bits(batch + checksummed_from, size - checksummed_from);
}

// Encoded size of one record body's fields after the length varint.
[[nodiscard]] inline std::size_t record_body_size(const record& r, std::int64_t ts_delta,
                                                  std::int32_t offset_delta) noexcept {
  auto bytes_size = [](bytes_view b) {
    return b.data() == nullptr ? varint_size(-1) : varint_size(static_cast<std::int64_t>(b.size())) + b.size();
  };
  std::size_t n = 1  // attributes (always 0: one byte)
                  + varint_size(ts_delta) + varint_size(offset_delta) + bytes_size(r.key) +
                  bytes_size(r.value) + varint_size(static_cast<std::int64_t>(r.headers.size()));
  for (const auto& h : r.headers) {
    n += varint_size(static_cast<std::int64_t>(h.key.size())) + h.key.size() + bytes_size(h.value);
  }
  return n;
}

// Full encoded size of one record including its length varint.
[[nodiscard]] inline std::size_t record_size(const record& r, std::int64_t ts_delta,
                                             std::int32_t offset_delta) noexcept {
  const std::size_t body = record_body_size(r, ts_delta, offset_delta);
  return varint_size(static_cast<std::int64_t>(body)) + body;
}

// Copies n bytes; short copies (keys, small values) inline as two
// overlapping loads and stores instead of a call into libc's memcpy.
inline std::byte* put_raw(std::byte* dst, const char* src, std::size_t n) noexcept {
  if (n <= 16) {
    if (n >= 8) {
      std::uint64_t a, b;
      std::memcpy(&a, src, 8);
      std::memcpy(&b, src + n - 8, 8);
      std::memcpy(dst, &a, 8);
      std::memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4) {
      std::uint32_t a, b;
      std::memcpy(&a, src, 4);
      std::memcpy(&b, src + n - 4, 4);
      std::memcpy(dst, &a, 4);
      std::memcpy(dst + n - 4, &b, 4);
    } else if (n > 0) {
      dst[0] = static_cast<std::byte>(src[0]);
      dst[n / 2] = static_cast<std::byte>(src[n / 2]);
      dst[n - 1] = static_cast<std::byte>(src[n - 1]);
    }
    return dst + n;
  }
  std::memcpy(dst, src, n);
  return dst + n;
}

// Writes one record; returns the byte after it. dst has record_size() room.
// body is record_body_size(r, ts_delta, offset_delta), if the caller has it.
inline std::byte* put_record(std::byte* dst, const record& r, std::int64_t ts_delta, std::int32_t offset_delta,
                             std::size_t body = 0) noexcept {
  auto put_bytes = [](std::byte* p, bytes_view b) {
    if (b.data() == nullptr) return put_varint(p, -1);
    p = put_varint(p, static_cast<std::int64_t>(b.size()));
    return put_raw(p, b.data(), b.size());
  };
  if (body == 0) body = record_body_size(r, ts_delta, offset_delta);
  dst = put_varint(dst, static_cast<std::int64_t>(body));
  *dst++ = std::byte{0};  // record attributes: unused, zero
  dst = put_varint(dst, ts_delta);
  dst = put_varint(dst, offset_delta);
  dst = put_bytes(dst, r.key);
  dst = put_bytes(dst, r.value);
  dst = put_varint(dst, static_cast<std::int64_t>(r.headers.size()));
  for (const auto& h : r.headers) {
    dst = put_bytes(dst, h.key.data() ? h.key : std::string_view{""});
    dst = put_bytes(dst, h.value);
  }
  return dst;
}

// Batch-level fields the writer supplies; the rest are derived from records.
struct batch_params {
  std::int64_t base_offset = 0;
  std::uint16_t attributes = 0;  // codec bits are set by the encoder
  std::int64_t producer_id = no_producer_id;
  std::int16_t producer_epoch = no_producer_epoch;
  std::int32_t base_sequence = no_sequence;
};

// Timestamps of a run of records: the first, the max, and the default for
// records without one. Computed once, used by both the sizing and the
// encoding pass so they agree.
struct batch_times {
  std::int64_t first;
  std::int64_t max;
  std::int64_t default_ts;
  // LogAppendTime: every record gets default_ts, whatever it carries.
  bool force_default = false;
  [[nodiscard]] std::int64_t of(const record& r) const noexcept {
    return (force_default || r.ts.value() < 0) ? default_ts : r.ts.value();
  }
};

// One pass over recs for the append path: checks every timestamp (>= 0 or
// none), sets t.first and t.max, and returns the records section size, or
// nullopt (with *bad set to the offending timestamp) if one is negative.
// t.default_ts and t.force_default must be set by the caller.
// bodies (recs.size() entries) receives each record's body size, so the
// encoder does not compute it a second time.
[[nodiscard]] inline std::optional<std::size_t> measure(std::span<const record> recs, batch_times& t,
                                                        std::int64_t* bad, std::uint32_t* bodies) noexcept {
  t.first = t.of(recs[0]);
  std::int64_t max = t.first;
  std::size_t n = 0;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const record& r = recs[i];
    if (r.ts.value() < -1) [[unlikely]] {
      *bad = r.ts.value();
      return std::nullopt;
    }
    const std::int64_t ts = t.of(r);
    max = ts > max ? ts : max;
    const std::size_t body = record_body_size(r, ts - t.first, static_cast<std::int32_t>(i));
    bodies[i] = static_cast<std::uint32_t>(body);
    n += varint_size(static_cast<std::int64_t>(body)) + body;
  }
  t.max = max;
  return n;
}

[[nodiscard]] inline batch_times times_of(std::span<const record> recs, std::int64_t now_ms) noexcept {
  batch_times t{0, -1, now_ms};
  if (recs.empty()) return t;
  t.first = t.of(recs[0]);
  t.max = t.first;
  for (const auto& r : recs) t.max = std::max(t.max, t.of(r));
  return t;
}

// Bytes of the uncompressed records section for recs.
[[nodiscard]] inline std::size_t records_size(std::span<const record> recs, const batch_times& t) noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    n += record_size(recs[i], t.of(recs[i]) - t.first, static_cast<std::int32_t>(i));
  }
  return n;
}

// Writes the uncompressed records section; returns its end.
// bodies: the sizes measure() produced, or nullptr to compute them here.
inline std::byte* put_records(std::byte* dst, std::span<const record> recs, const batch_times& t,
                              const std::uint32_t* bodies = nullptr) noexcept {
  for (std::size_t i = 0; i < recs.size(); ++i) {
    dst = put_record(dst, recs[i], t.of(recs[i]) - t.first, static_cast<std::int32_t>(i), bodies ? bodies[i] : 0);
  }
  return dst;
}

// Fills the 64-byte header at batch (whose records section, records_bytes
// long, is already in place) and computes the checksum.
inline void seal_batch(std::byte* batch, std::size_t records_bytes, std::int32_t record_count,
                       std::int32_t last_offset_delta, const batch_params& p, std::int64_t first_ts,
                       std::int64_t max_ts) noexcept {
  batch_header h{};
  h.base_offset = p.base_offset;
  h.batch_length = static_cast<std::int32_t>(batch_header_size + records_bytes - log_overhead);
  h.magic = batch_magic;
  h.attributes = p.attributes;
  h.producer_epoch = p.producer_epoch;
  h.last_offset_delta = last_offset_delta;
  h.first_timestamp = first_ts;
  h.max_timestamp = max_ts;
  h.producer_id = p.producer_id;
  h.base_sequence = p.base_sequence;
  h.record_count = record_count;
  std::memcpy(batch, &h, batch_header_size);
  const std::uint64_t sum = checksum_of(batch, batch_header_size + records_bytes);
  store_le(batch + offsetof(batch_header, checksum), sum);
}

// Encodes an uncompressed batch of recs at dst, which has
// batch_header_size + records_size(recs, t) bytes of room. Returns the size.
inline std::size_t encode_batch(std::byte* dst, std::span<const record> recs, const batch_times& t,
                                const batch_params& p,
                                const std::uint32_t* bodies = nullptr) noexcept {
  std::byte* end = put_records(dst + batch_header_size, recs, t, bodies);
  const auto records_bytes = static_cast<std::size_t>(end - dst) - batch_header_size;
  seal_batch(dst, records_bytes, static_cast<std::int32_t>(recs.size()),
             static_cast<std::int32_t>(recs.size()) - 1, p, t.first, t.max);
  return batch_header_size + records_bytes;
}

// Reads the header of a batch known to hold at least batch_header_size bytes.
[[nodiscard]] inline batch_header read_header(const std::byte* p) noexcept {
  batch_header h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

// base_offset + last_offset_delta of a header read back from disk without a
// probe, saturated at INT64_MAX: the base offset is outside the checksum, so
// a damaged one may make the sum overflow. For comparisons; a caller adds
// one only to a result it has shown is below some offset.
[[nodiscard]] inline std::int64_t last_offset_of(const batch_header& h) noexcept {
  std::int64_t last = 0;
  return __builtin_add_overflow(h.base_offset, h.last_offset_delta, &last) ? INT64_MAX : last;
}

// What a scan of bytes that should start with a batch finds there.
enum class batch_probe : std::uint8_t {
  ok,          // a whole, valid batch
  end,         // the bytes are zero (preallocated space) or too few for a length: the log ends here
  incomplete,  // a header promises more bytes than exist: a torn tail
  corrupt,     // bad magic, length, attributes or checksum
};

struct probe_result {
  batch_probe kind;
  std::size_t size = 0;  // total batch size when kind == ok
  const char* why = "";  // for corrupt/incomplete
};

// Validates the batch at [p, p + avail): bounds, magic, reserved bytes,
// attributes, counts and checksum. Never reads past p + avail.
[[nodiscard]] inline probe_result probe_batch(const std::byte* p, std::size_t avail,
                                              bool verify_checksum = true) noexcept {
  if (avail < log_overhead) {
    for (std::size_t i = 0; i < avail; ++i)
      if (p[i] != std::byte{0}) return {batch_probe::incomplete, 0, "a partial batch header"};
    return {batch_probe::end};
  }
  const auto len = load_le<std::int32_t>(p + offsetof(batch_header, batch_length));
  if (len == 0 && load_le<std::int64_t>(p) == 0) return {batch_probe::end};
  if (len < static_cast<std::int32_t>(batch_header_size - log_overhead))
    return {batch_probe::corrupt, 0, "batch length below the header size"};
  const std::size_t size = log_overhead + static_cast<std::size_t>(len);
  if (avail < batch_header_size) return {batch_probe::incomplete, 0, "a partial batch header"};
  const batch_header h = read_header(p);
  if (h.magic != batch_magic) return {batch_probe::corrupt, 0, "bad magic"};
  if (h.reserved[0] != 0 || h.reserved[1] != 0 || h.reserved[2] != 0)
    return {batch_probe::corrupt, 0, "reserved header bytes are not zero"};
  if (size > avail) return {batch_probe::incomplete, 0, "the batch runs past the end of the data"};
  if (verify_checksum && checksum_of(p, size) != h.checksum)
    return {batch_probe::corrupt, 0, "checksum mismatch"};
  if ((h.attributes & ~attr_known_bits) != 0) return {batch_probe::corrupt, 0, "unknown attribute bits"};
  if (h.last_offset_delta < 0 || h.record_count < 0 ||
      static_cast<std::int64_t>(h.record_count) > static_cast<std::int64_t>(h.last_offset_delta) + 1)
    return {batch_probe::corrupt, 0, "record count and last offset delta disagree"};
  if (h.base_offset < 0 || h.base_offset > INT64_MAX - h.last_offset_delta)
    return {batch_probe::corrupt, 0, "base offset out of range"};
  return {batch_probe::ok, size};
}

// What a batch stored in a segment must also satisfy, beyond probe_batch:
// at least one record, a timestamp (the time index and retention rely on
// it), and a last offset below INT64_MAX (the log end after it, last + 1,
// must be an offset). nullptr if it does; else why not. Recovery and
// `franz dump` apply it. h must have passed probe_batch.
[[nodiscard]] inline const char* stored_batch_problem(const batch_header& h) noexcept {
  if (h.record_count == 0) return "batch holds no records";
  if (h.max_timestamp < 0) return "batch has no timestamp";
  if (h.base_offset == INT64_MAX - h.last_offset_delta) return "batch ends at the largest offset; none can follow it";
  return nullptr;
}

}  // namespace format

// A validated batch in memory (typically a view into an mmapped segment).
// Cheap to copy; valid as long as the bytes it views.
class batch_view {
 public:
  batch_view() = default;
  // bytes must hold exactly one batch that passed format::probe_batch.
  explicit batch_view(std::span<const std::byte> bytes) noexcept
      : bytes_(bytes), h_(format::read_header(bytes.data())) {}

  [[nodiscard]] offset base_offset() const noexcept { return offset{h_.base_offset}; }
  [[nodiscard]] offset last_offset() const noexcept { return offset{h_.base_offset + h_.last_offset_delta}; }
  // last_offset() + 1; INT64_MAX for a batch that ends at INT64_MAX, which
  // probe_batch accepts but no offset can follow (stored_batch_problem
  // keeps such batches out of segments). Never overflows.
  [[nodiscard]] offset next_offset() const noexcept {
    const std::int64_t last = last_offset().value();
    return offset{last == INT64_MAX ? last : last + 1};
  }
  [[nodiscard]] std::int32_t record_count() const noexcept { return h_.record_count; }
  [[nodiscard]] timestamp first_timestamp() const noexcept { return timestamp{h_.first_timestamp}; }
  [[nodiscard]] timestamp max_timestamp() const noexcept { return timestamp{h_.max_timestamp}; }
  [[nodiscard]] compression codec() const noexcept {
    return static_cast<compression>(h_.attributes & format::attr_compression_mask);
  }
  [[nodiscard]] timestamp_type ts_type() const noexcept {
    return (h_.attributes & format::attr_timestamp_type) ? timestamp_type::log_append_time
                                                         : timestamp_type::create_time;
  }
  [[nodiscard]] bool is_transactional() const noexcept { return h_.attributes & format::attr_transactional; }
  [[nodiscard]] bool is_control() const noexcept { return h_.attributes & format::attr_control; }
  [[nodiscard]] std::int64_t producer_id() const noexcept { return h_.producer_id; }
  [[nodiscard]] std::int16_t producer_epoch() const noexcept { return h_.producer_epoch; }
  [[nodiscard]] std::int32_t base_sequence() const noexcept { return h_.base_sequence; }
  [[nodiscard]] const format::batch_header& header() const noexcept { return h_; }

  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
  // The records section as stored (compressed if codec() != none).
  [[nodiscard]] std::span<const std::byte> records_section() const noexcept {
    return bytes_.subspan(format::batch_header_size);
  }

 private:
  std::span<const std::byte> bytes_;
  format::batch_header h_{};
};

// A decoded record. Views point into the batch (or the decompression
// buffer); they are valid while those bytes are.
struct record_view {
  offset off;
  timestamp ts;
  bytes_view key;
  bytes_view value;
  // The encoded headers; iterate with header_iterator.
  std::span<const std::byte> headers_bytes;
  std::int32_t header_count = 0;
};

// Walks the headers of a record_view (already validated by the decoder).
class header_iterator {
 public:
  explicit header_iterator(const record_view& r) noexcept
      : p_(r.headers_bytes.data()), end_(p_ + r.headers_bytes.size()), left_(r.header_count) {}
  // Next header, or false at the end.
  bool next(record_header& out) noexcept {
    if (left_ <= 0) return false;
    --left_;
    std::int64_t n = 0;
    (void)format::get_varint(p_, end_, n);
    out.key = std::string_view(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n));
    p_ += n;
    (void)format::get_varint(p_, end_, n);
    if (n < 0) {
      out.value = null_bytes;
    } else {
      out.value = std::string_view(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n));
      p_ += n;
    }
    return true;
  }

 private:
  const std::byte* p_;
  const std::byte* end_;
  std::int32_t left_;
};

// Decodes the records of one uncompressed records section. Every length is
// checked against the section before it is used; a mismatch stops the
// iteration with CORRUPT_MESSAGE.
class record_decoder {
 public:
  record_decoder(const batch_view& b, std::span<const std::byte> section) noexcept
      : p_(section.data()),
        end_(section.data() + section.size()),
        base_(b.header().base_offset),
        first_ts_(b.header().first_timestamp),
        max_ts_(b.header().max_timestamp),
        last_delta_(b.header().last_offset_delta),
        left_(b.header().record_count),
        log_append_(b.ts_type() == timestamp_type::log_append_time) {}

  // Decodes the next record into out. Returns true with a record, false at
  // the end; check status() after false to tell the end from corruption.
  [[gnu::always_inline]] bool next(record_view& out) noexcept {
    if (left_ == 0) {
      if (p_ != end_) fail("bytes left after the last record");
      return false;
    }
    if (failed_) return false;
    std::int64_t len, ts_delta, key_len, val_len, hcount;
    std::int32_t off_delta;
    if (!format::get_varint(p_, end_, len, format::max_varint32_bytes) || len < 1 || len > end_ - p_)
      return fail("record length overruns the batch");
    const std::byte* rec_end = p_ + len;
    if (*p_++ != std::byte{0}) return fail("record attributes are not zero");
    if (!format::get_varint(p_, rec_end, ts_delta)) return fail("bad timestamp delta");
    if (!format::get_varint32(p_, rec_end, off_delta) || off_delta <= prev_delta_ || off_delta > last_delta_)
      return fail("offset delta out of order or out of range");
    prev_delta_ = off_delta;
    if (!format::get_varint(p_, rec_end, key_len, format::max_varint32_bytes) || key_len < -1 ||
        key_len > rec_end - p_)
      return fail("key length overruns the record");
    out.key = key_len < 0 ? null_bytes
                          : std::string_view(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(key_len));
    if (key_len > 0) p_ += key_len;
    if (!format::get_varint(p_, rec_end, val_len, format::max_varint32_bytes) || val_len < -1 ||
        val_len > rec_end - p_)
      return fail("value length overruns the record");
    out.value = val_len < 0 ? null_bytes
                            : std::string_view(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(val_len));
    if (val_len > 0) p_ += val_len;
    if (!format::get_varint(p_, rec_end, hcount, format::max_varint32_bytes) || hcount < 0 || hcount > rec_end - p_)
      return fail("header count overruns the record");
    const std::byte* hstart = p_;
    for (std::int64_t i = 0; i < hcount; ++i) {
      std::int64_t n;
      if (!format::get_varint(p_, rec_end, n, format::max_varint32_bytes) || n < 0 || n > rec_end - p_)
        return fail("header key overruns the record");
      p_ += n;
      if (!format::get_varint(p_, rec_end, n, format::max_varint32_bytes) || n < -1 || n > rec_end - p_)
        return fail("header value overruns the record");
      if (n > 0) p_ += n;
    }
    if (p_ != rec_end) return fail("record length disagrees with its fields");
    out.headers_bytes = std::span<const std::byte>(hstart, static_cast<std::size_t>(rec_end - hstart));
    out.header_count = static_cast<std::int32_t>(hcount);
    std::int64_t ts = max_ts_;
    if (!log_append_ && __builtin_add_overflow(first_ts_, ts_delta, &ts)) return fail("timestamp delta overflows");
    out.off = offset{base_ + off_delta};
    out.ts = timestamp{ts};
    --left_;
    return true;
  }

  [[nodiscard]] bool failed() const noexcept { return failed_; }
  [[nodiscard]] const char* why() const noexcept { return why_; }

 private:
  bool fail(const char* why) noexcept {
    failed_ = true;
    why_ = why;
    left_ = 0;
    p_ = end_;
    return false;
  }

  const std::byte* p_;
  const std::byte* end_;
  std::int64_t base_;
  std::int64_t first_ts_;
  std::int64_t max_ts_;
  std::int32_t last_delta_;
  std::int32_t prev_delta_ = -1;
  std::int32_t left_;
  bool log_append_;
  bool failed_ = false;
  const char* why_ = "";
};

}  // namespace franz
