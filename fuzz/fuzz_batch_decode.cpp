// fuzz_batch_decode — stored record batches: probe_batch, batch_view,
// codec::decompress, record_decoder, header_iterator, batch_reader and
// record_reader over hostile bytes.
//
// Input: one mode byte, then the mode's payload.
//   mode & 3 == 0  stored bytes as they would sit in a segment: one or more
//                  batches, walked with and without checksum verification
//                  (the unverified walk is how trusted segments are read,
//                  and lets mutations reach the record decoder).
//   mode & 3 == 1  one batch whose length, magic, reserved bytes and
//                  checksum the harness repairs, so the verified path
//                  reaches the records too.
//   mode & 3 == 2  a 64-byte header template and an uncompressed records
//                  section: the harness stores the section with every codec
//                  (none, lz4, zstd) and requires the three batches to
//                  decode to the same records, or to fail alike.
//   mode & 3 == 3  a compressed section given straight to codec::decompress
//                  (bit 2: zstd, else lz4; bit 3: an unsupported codec).
//
// Asserted beyond "no crash": every view a decoder returns lies inside the
// bytes it decoded; offsets strictly increase and stay inside their batch;
// a decoder that ends cleanly produced exactly record_count records; a
// header iterator yields exactly header_count headers; LogAppendTime records
// carry max_timestamp; a verifying reader never returns a batch whose
// checksum fails; errors are CORRUPT_MESSAGE or UNSUPPORTED_COMPRESSION_TYPE;
// compression round-trips the section exactly.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "franz/codec/codec.hpp"
#include "franz/format/record_batch.hpp"
#include "franz/storage/reader.hpp"
#include "fuzz_util.hpp"

namespace {

using namespace franz;
using franz::fuzz::inside;
using bytes = std::vector<std::byte>;

struct decoded_header {
  std::string key;
  std::optional<std::string> value;
  friend bool operator==(const decoded_header&, const decoded_header&) = default;
};

struct decoded_record {
  std::int64_t off = 0;
  std::int64_t ts = 0;
  std::optional<std::string> key, value;
  std::vector<decoded_header> headers;
  friend bool operator==(const decoded_record&, const decoded_record&) = default;
};

struct decoded_batch {
  bool decoded = false;  // false: the section could not be decompressed
  std::vector<decoded_record> records;
  bool failed = false;
  friend bool operator==(const decoded_batch&, const decoded_batch&) = default;
};

std::optional<std::string> owned(bytes_view v) {
  if (v.data() == nullptr) return std::nullopt;
  return std::string(v);
}

void check_error(const franz::status& s) {
  FUZZ_CHECK(s.code() == errc::corrupt_message || s.code() == errc::unsupported_compression_type);
}

// The header fields probe_batch promises for an ok batch.
void check_probed(const batch_view& b, std::size_t avail) {
  const auto& h = b.header();
  FUZZ_CHECK(b.size() >= format::batch_header_size && b.size() <= avail);
  FUZZ_CHECK(b.size() == format::log_overhead + static_cast<std::size_t>(h.batch_length));
  FUZZ_CHECK(h.magic == format::batch_magic);
  FUZZ_CHECK((h.attributes & ~format::attr_known_bits) == 0);
  FUZZ_CHECK(h.last_offset_delta >= 0 && h.record_count >= 0 &&
             h.record_count <= std::int64_t{h.last_offset_delta} + 1);
  FUZZ_CHECK(h.base_offset >= 0 && h.base_offset <= INT64_MAX - h.last_offset_delta);
}

// Decodes the (uncompressed) section of b with every check above.
decoded_batch decode_section(const batch_view& b, std::span<const std::byte> section) {
  decoded_batch out;
  out.decoded = true;
  const auto& h = b.header();
  const std::byte* lo = section.data();
  const std::byte* hi = section.data() + section.size();
  record_decoder dec(b, section);
  record_view v;
  std::int64_t prev = -1;
  while (dec.next(v)) {
    FUZZ_CHECK(out.records.size() < static_cast<std::size_t>(h.record_count));
    const std::int64_t rel = v.off.value() - h.base_offset;
    FUZZ_CHECK(rel > prev && rel <= h.last_offset_delta);
    prev = rel;
    if (v.key.data()) FUZZ_CHECK(inside(v.key.data(), v.key.size(), lo, hi));
    if (v.value.data()) FUZZ_CHECK(inside(v.value.data(), v.value.size(), lo, hi));
    FUZZ_CHECK(inside(v.headers_bytes.data(), v.headers_bytes.size(), lo, hi));
    if (b.ts_type() == timestamp_type::log_append_time) FUZZ_CHECK(v.ts.value() == h.max_timestamp);
    decoded_record r{v.off.value(), v.ts.value(), owned(v.key), owned(v.value), {}};
    const std::byte* hlo = v.headers_bytes.data();
    const std::byte* hhi = hlo + v.headers_bytes.size();
    header_iterator it(v);
    record_header rh;
    while (it.next(rh)) {
      FUZZ_CHECK(static_cast<std::int32_t>(r.headers.size()) < v.header_count);
      FUZZ_CHECK(rh.key.data() != nullptr && inside(rh.key.data(), rh.key.size(), hlo, hhi));
      if (rh.value.data()) FUZZ_CHECK(inside(rh.value.data(), rh.value.size(), hlo, hhi));
      r.headers.push_back({std::string(rh.key), owned(rh.value)});
    }
    FUZZ_CHECK(static_cast<std::int32_t>(r.headers.size()) == v.header_count);
    out.records.push_back(std::move(r));
  }
  out.failed = dec.failed();
  if (!out.failed) FUZZ_CHECK(out.records.size() == static_cast<std::size_t>(h.record_count));
  // A finished decoder stays finished.
  FUZZ_CHECK(!dec.next(v));
  return out;
}

// Decompresses if needed, then decodes.
decoded_batch decode_batch(const batch_view& b) {
  if (b.codec() == compression::none) return decode_section(b, b.records_section());
  bytes buf;
  const auto s = codec::decompress(b.codec(), b.records_section(), buf);
  if (!s.ok()) {
    check_error(s);
    return {};
  }
  FUZZ_CHECK(b.records_section().size() >= format::compressed_prefix_size);
  FUZZ_CHECK(buf.size() == format::load_le<std::uint32_t>(b.records_section().data()));
  return decode_section(b, buf);
}

// Every batch of data, as probe_batch walks them.
void walk_batches(std::span<const std::byte> data, bool verify) {
  std::size_t pos = 0;
  while (pos < data.size()) {
    const auto p = format::probe_batch(data.data() + pos, data.size() - pos, verify);
    if (p.kind != format::batch_probe::ok) {
      FUZZ_CHECK(p.size == 0 && p.why != nullptr);
      return;
    }
    const batch_view b(data.subspan(pos, p.size));
    check_probed(b, data.size() - pos);
    if (verify) FUZZ_CHECK(format::checksum_of(b.bytes().data(), b.size()) == b.header().checksum);
    (void)format::stored_batch_problem(b.header());
    (void)decode_batch(b);
    pos += p.size;
  }
}

// batch_reader and record_reader over data, from `from`.
void read_all(std::span<const std::byte> data, offset from, bool verify) {
  const std::byte* lo = data.data();
  const std::byte* hi = data.data() + data.size();
  {
    batch_reader br(data, verify, "fuzz");
    batch_view b;
    std::optional<std::int64_t> prev_last;
    while (br.next(b)) {
      FUZZ_CHECK(inside(b.bytes().data(), b.size(), lo, hi));
      check_probed(b, static_cast<std::size_t>(hi - b.bytes().data()));
      if (prev_last) {
        // Known bug 3 (fuzz/README.md): after a batch ending at INT64_MAX
        // the reader expects INT64_MAX again, so it repeats that offset.
        if (*prev_last == INT64_MAX)
          FUZZ_CHECK(!franz::fuzz::strict());
        else
          FUZZ_CHECK(b.base_offset().value() == *prev_last + 1);
      }
      FUZZ_CHECK(b.next_offset().value() ==
                 (b.last_offset().value() == INT64_MAX ? INT64_MAX : b.last_offset().value() + 1));
      if (verify) FUZZ_CHECK(XXH3_64bits(b.bytes().data() + 24, b.size() - 24) == b.header().checksum);
      prev_last = b.last_offset().value();
    }
    if (!br.status().ok()) check_error(br.status());
  }
  record_reader rr(data, from, verify, "fuzz");
  record_view v;
  std::int64_t prev = from.value() - 1;
  while (rr.next(v)) {
    const batch_view& b = rr.batch();
    FUZZ_CHECK(inside(b.bytes().data(), b.size(), lo, hi));
    if (verify) FUZZ_CHECK(XXH3_64bits(b.bytes().data() + 24, b.size() - 24) == b.header().checksum);
    FUZZ_CHECK(v.off >= from);
    if (prev == INT64_MAX)
      FUZZ_CHECK(!franz::fuzz::strict());  // known bug 3
    else
      FUZZ_CHECK(v.off.value() > prev);
    FUZZ_CHECK(v.off >= b.base_offset() && v.off <= b.last_offset());
    prev = v.off.value();
  }
  if (!rr.status().ok()) check_error(rr.status());
}

// Mode 0 (and 1, after repair): the bytes as a run of stored batches.
void stored(std::span<const std::byte> data, std::uint8_t from_delta) {
  walk_batches(data, true);
  walk_batches(data, false);
  std::int64_t first_base = 0;
  if (data.size() >= 8) first_base = std::max<std::int64_t>(0, format::load_le<std::int64_t>(data.data()));
  const offset from{first_base <= INT64_MAX - from_delta ? first_base + from_delta : INT64_MAX};
  read_all(data, offset{0}, true);
  read_all(data, from, true);
  read_all(data, from, false);
}

// Sets length, magic, reserved and checksum of the batch in b (>= 64 bytes).
void seal(bytes& b) {
  format::store_le(b.data() + offsetof(format::batch_header, batch_length),
                   static_cast<std::int32_t>(b.size() - format::log_overhead));
  b[offsetof(format::batch_header, magic)] = std::byte{format::batch_magic};
  std::memset(b.data() + offsetof(format::batch_header, reserved), 0, 3);
  format::store_le(b.data() + offsetof(format::batch_header, checksum), format::checksum_of(b.data(), b.size()));
}

void repaired(std::span<const std::byte> data, std::uint8_t from_delta) {
  bytes b(data.begin(), data.end());
  if (b.size() < format::batch_header_size) b.resize(format::batch_header_size);
  seal(b);
  stored(b, from_delta);
}

// Mode 2: one section stored with each codec must decode identically.
void every_codec(std::span<const std::byte> data) {
  bytes header(format::batch_header_size);
  const std::size_t hn = std::min(data.size(), header.size());
  if (hn) std::memcpy(header.data(), data.data(), hn);
  const auto section = data.subspan(hn);
  std::optional<decoded_batch> first;
  for (const compression c : {compression::none, compression::lz4, compression::zstd}) {
    bytes b = header;
    if (c == compression::none) {
      b.insert(b.end(), section.begin(), section.end());
    } else {
      b.resize(format::batch_header_size + codec::compressed_bound(c, section.size()));
      const auto n = codec::compress(c, section, b.data() + format::batch_header_size);
      FUZZ_CHECK(n.ok());
      b.resize(format::batch_header_size + *n);
      bytes back;
      FUZZ_CHECK(codec::decompress(c, std::span<const std::byte>(b).subspan(format::batch_header_size), back).ok());
      FUZZ_CHECK(back.size() == section.size() &&
                 (section.empty() || std::memcmp(back.data(), section.data(), section.size()) == 0));
    }
    auto attrs = format::load_le<std::uint16_t>(b.data() + offsetof(format::batch_header, attributes));
    attrs = static_cast<std::uint16_t>((attrs & ~format::attr_compression_mask) | static_cast<std::uint16_t>(c));
    format::store_le(b.data() + offsetof(format::batch_header, attributes), attrs);
    seal(b);
    const auto p = format::probe_batch(b.data(), b.size());
    if (p.kind != format::batch_probe::ok) {
      // Header fields alone decide, whatever the codec.
      FUZZ_CHECK(p.kind == format::batch_probe::corrupt);
      FUZZ_CHECK(!first);
      return;
    }
    FUZZ_CHECK(p.size == b.size());
    const batch_view v(b);
    check_probed(v, b.size());
    decoded_batch d = decode_batch(v);
    FUZZ_CHECK(d.decoded);
    if (first)
      FUZZ_CHECK(d == *first);
    else
      first = std::move(d);
    read_all(b, v.base_offset(), true);
  }
}

// Mode 3: a hostile compressed section.
void raw_decompress(std::uint8_t mode, std::span<const std::byte> data) {
  compression c = (mode & 4) ? compression::zstd : compression::lz4;
  if (mode & 8) c = static_cast<compression>(1 + ((mode >> 4) & 1));  // gzip, snappy
  bytes out;
  const auto s = codec::decompress(c, data, out);
  if (!s.ok()) {
    check_error(s);
    return;
  }
  FUZZ_CHECK(!(mode & 8));
  FUZZ_CHECK(data.size() >= format::compressed_prefix_size);
  FUZZ_CHECK(out.size() == format::load_le<std::uint32_t>(data.data()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  franz::fuzz::input in(data, size);
  const std::uint8_t mode = in.byte();
  switch (mode & 3) {
    case 0: {
      const std::uint8_t from_delta = in.byte();
      stored(in.rest(), from_delta);
      break;
    }
    case 1: {
      const std::uint8_t from_delta = in.byte();
      repaired(in.rest(), from_delta);
      break;
    }
    case 2:
      every_codec(in.rest());
      break;
    case 3:
      raw_decompress(mode, in.rest());
      break;
  }
  return 0;
}
