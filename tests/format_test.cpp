// franz — golden-bytes and edge-case tests for the on-disk format, version 1.
//
// These tests pin doc/format.md. The golden byte arrays below were worked out
// by hand from the format description (field by field, varint by varint);
// the two XXH3-64 checksums in them were computed with the reference xxHash
// library over those hand-written bytes, not with franz. If a golden test
// fails, the on-disk format changed: that needs a new magic, not a new array.
#include <catch2/catch.hpp>

#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "franz/codec/codec.hpp"
#include "franz/format/checkpoint.hpp"
#include "franz/format/file_names.hpp"
#include "franz/format/index_entry.hpp"
#include "franz/format/record_batch.hpp"
#include "franz/format/varint.hpp"
#include "franz/storage/reader.hpp"
#include "test_util.hpp"

using namespace franz;
using franz::test::from_hex;  // "e8 03 00" -> {0xe8, 0x03, 0x00}
using bytes = std::vector<std::byte>;

namespace {

// Space-separated lower-case hex, 16 bytes a line: failures print a diffable dump.
std::string to_hex(std::span<const std::byte> b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < b.size(); ++i) {
    const auto v = static_cast<unsigned>(b[i]);
    if (i > 0) s += (i % 16 == 0) ? '\n' : ' ';
    s += digits[v >> 4];
    s += digits[v & 15];
  }
  return s;
}

std::string as_string(bytes_view v) { return std::string(v.data(), v.size()); }

// The encoding of one zigzag varint, via put_varint.
bytes varint_bytes(std::int64_t v) {
  bytes out(format::max_varint64_bytes + 1);
  std::byte* end = format::put_varint(out.data(), v);
  out.resize(static_cast<std::size_t>(end - out.data()));
  return out;
}

// The uncompressed records section of recs.
bytes encode_section(std::span<const record> recs, const format::batch_times& t) {
  bytes out(format::records_size(recs, t));
  std::byte* end = format::put_records(out.data(), recs, t);
  REQUIRE(static_cast<std::size_t>(end - out.data()) == out.size());
  return out;
}

// A whole batch around an arbitrary (possibly hand-edited) records section,
// sealed with a valid checksum: only checks below the checksum can object.
bytes sealed_batch(std::span<const std::byte> section, std::int32_t count, std::int32_t last_delta,
                   const format::batch_params& p = {}, std::int64_t first_ts = 1000, std::int64_t max_ts = 1000) {
  bytes b(format::batch_header_size + section.size());
  if (!section.empty()) std::memcpy(b.data() + format::batch_header_size, section.data(), section.size());
  format::seal_batch(b.data(), section.size(), count, last_delta, p, first_ts, max_ts);
  return b;
}

bytes encode(std::span<const record> recs, const format::batch_params& p = {}, std::int64_t now_ms = 5000) {
  const auto t = format::times_of(recs, now_ms);
  bytes b(format::batch_header_size + format::records_size(recs, t));
  const std::size_t n = format::encode_batch(b.data(), recs, t, p);
  REQUIRE(n == b.size());
  return b;
}

// Out of line: inlined into loops over tiny buffers, GCC 12 reports a
// spurious -Warray-bounds on the (unreachable) length load.
[[gnu::noinline]] format::probe_result probe(std::span<const std::byte> b, bool verify = true) {
  return format::probe_batch(b.data(), b.size(), verify);
}

// Decodes every record of a batch that must probe ok. Returns the records
// decoded before the decoder stopped; *why gets the failure reason, or ""
// if the section decoded cleanly.
std::vector<record_view> decode_all(std::span<const std::byte> batch, std::string* why) {
  const auto pr = probe(batch);
  REQUIRE(pr.kind == format::batch_probe::ok);  // the damage must be below the checksum
  REQUIRE(pr.size == batch.size());
  const batch_view v(batch);
  record_decoder dec(v, v.records_section());
  std::vector<record_view> out;
  record_view r;
  while (dec.next(r)) out.push_back(r);
  *why = dec.failed() ? dec.why() : "";
  return out;
}

std::vector<std::pair<std::string, std::string>> headers_of(const record_view& r) {
  std::vector<std::pair<std::string, std::string>> out;
  header_iterator it(r);
  record_header h;
  while (it.next(h)) out.emplace_back(std::string(h.key), h.value.data() ? as_string(h.value) : "<null>");
  return out;
}

constexpr std::int64_t T = 1'700'000'000'000;  // 0x0000018bcfe56800

// The golden batch's records:
//   offset 1000: key "k", value "v1", one header ("h", null),  ts T
//   offset 1001: key null, value "" (empty, not null),         ts T + 1000
//   offset 1002: key "kk", value null, one header ("a", "b"),  ts T - 2
const std::array<record_header, 1> golden_h0{{{"h", null_bytes}}};
const std::array<record_header, 1> golden_h2{{{"a", "b"}}};
const std::array<record, 3> golden_records{{
    {"k", "v1", golden_h0, timestamp{T}},
    {null_bytes, bytes_view{""}, {}, timestamp{T + 1000}},
    {"kk", null_bytes, golden_h2, timestamp{T - 2}},
}};

format::batch_params golden_params() {
  format::batch_params p;
  p.base_offset = 1000;
  p.attributes = format::attr_transactional;
  p.producer_id = 0x12'3456'789a;
  p.producer_epoch = 5;
  p.base_sequence = 17;
  return p;
}

// Byte offsets of fields inside golden_section (below), for hand edits.
constexpr std::size_t r0_at = 0, r1_at = 13, r2_at = 21;

// The records section of the golden batch, by hand.
bytes golden_section() {
  return from_hex(
      // record 0: length 12 | attrs | tsDelta 0 | offDelta 0 | key "k" | value "v1"
      //           | 1 header: key "h", value null (-1)
      "18 00 00 00 02 6b 04 76 31 02 02 68 01"
      // record 1: length 7 | attrs | tsDelta +1000 (zigzag 2000 = d0 0f) | offDelta 1
      //           | key null | value "" | 0 headers
      "0e 00 d0 0f 02 01 00 00"
      // record 2: length 12 | attrs | tsDelta -2 (zigzag 3) | offDelta 2 | key "kk"
      //           | value null | 1 header: key "a", value "b"
      "18 00 03 04 04 6b 6b 01 02 02 61 02 62");
}

bytes golden_batch() {
  bytes b = from_hex(
      "e8 03 00 00 00 00 00 00"  //  0 base_offset      1000
      "56 00 00 00"              //  8 batch_length     86 = 98 - 12
      "01"                       // 12 magic            1
      "00 00 00"                 // 13 reserved
      "dd 2b 35 5b 82 93 e1 db"  // 16 checksum         XXH3-64 of bytes [24, 98)
      "10 00"                    // 24 attributes       transactional, CreateTime, no codec
      "05 00"                    // 26 producer_epoch   5
      "02 00 00 00"              // 28 last_offset_delta 2
      "00 68 e5 cf 8b 01 00 00"  // 32 first_timestamp  T
      "e8 6b e5 cf 8b 01 00 00"  // 40 max_timestamp    T + 1000
      "9a 78 56 34 12 00 00 00"  // 48 producer_id      0x123456789a
      "11 00 00 00"              // 56 base_sequence    17
      "03 00 00 00");            // 60 record_count     3
  const bytes s = golden_section();
  b.insert(b.end(), s.begin(), s.end());
  return b;
}

}  // namespace

// ---------------------------------------------------------------------------
// Golden bytes

TEST_CASE("golden: a three-record batch encodes to the hand-worked bytes", "[format]") {
  const bytes golden = golden_batch();
  REQUIRE(golden.size() == 98);
  // The golden array is self-consistent: its checksum is XXH3-64 of [24, end).
  CHECK(format::load_le<std::uint64_t>(golden.data() + 16) == XXH3_64bits(golden.data() + 24, golden.size() - 24));

  const bytes encoded = encode(golden_records, golden_params());
  CHECK(to_hex(encoded) == to_hex(golden));
}

TEST_CASE("golden: the hand-worked batch probes ok and decodes back to its records", "[format]") {
  const bytes golden = golden_batch();
  const auto pr = probe(golden);
  REQUIRE(pr.kind == format::batch_probe::ok);
  CHECK(pr.size == golden.size());

  const batch_view v(golden);
  CHECK(v.base_offset() == offset{1000});
  CHECK(v.last_offset() == offset{1002});
  CHECK(v.next_offset() == offset{1003});
  CHECK(v.record_count() == 3);
  CHECK(v.first_timestamp() == timestamp{T});
  CHECK(v.max_timestamp() == timestamp{T + 1000});
  CHECK(v.codec() == compression::none);
  CHECK(v.ts_type() == timestamp_type::create_time);
  CHECK(v.is_transactional());
  CHECK_FALSE(v.is_control());
  CHECK(v.producer_id() == 0x12'3456'789a);
  CHECK(v.producer_epoch() == 5);
  CHECK(v.base_sequence() == 17);

  std::string why;
  const auto recs = decode_all(golden, &why);
  CHECK(why.empty());
  REQUIRE(recs.size() == 3);

  CHECK(recs[0].off == offset{1000});
  CHECK(recs[0].ts == timestamp{T});
  CHECK(as_string(recs[0].key) == "k");
  CHECK(as_string(recs[0].value) == "v1");
  CHECK(headers_of(recs[0]) == std::vector<std::pair<std::string, std::string>>{{"h", "<null>"}});

  CHECK(recs[1].off == offset{1001});
  CHECK(recs[1].ts == timestamp{T + 1000});
  CHECK(recs[1].key.data() == nullptr);
  CHECK(recs[1].value.data() != nullptr);  // empty is not null
  CHECK(recs[1].value.empty());
  CHECK(recs[1].header_count == 0);

  CHECK(recs[2].off == offset{1002});
  CHECK(recs[2].ts == timestamp{T - 2});
  CHECK(as_string(recs[2].key) == "kk");
  CHECK(recs[2].value.data() == nullptr);
  CHECK(headers_of(recs[2]) == std::vector<std::pair<std::string, std::string>>{{"a", "b"}});
}

TEST_CASE("golden: checkpoint encodes to FZCP, version, offsets and XXH3 of the first 24 bytes", "[format]") {
  const bytes golden = from_hex(
      "46 5a 43 50"              //  0 magic "FZCP"
      "01 00 00 00"              //  4 version 1
      "64 00 00 00 00 00 00 00"  //  8 log_start 100
      "92 10 00 00 00 00 00 00"  // 16 recovery_point 4242
      "bd 38 8c 61 38 fd e2 44"  // 24 XXH3-64 of [0, 24)
  );
  REQUIRE(golden.size() == format::checkpoint_size);
  const auto enc = format::encode_checkpoint({100, 4242});
  CHECK(to_hex(enc) == to_hex(golden));

  const auto dec = format::decode_checkpoint(golden);
  REQUIRE(dec.has_value());
  CHECK(dec->log_start == 100);
  CHECK(dec->recovery_point == 4242);
}

TEST_CASE("golden: offset_entry is relative offset then position, both u32 LE", "[format]") {
  STATIC_REQUIRE(format::offset_entry::size == 8);
  const bytes golden = from_hex("04 03 02 01 0d 0c 0b 0a");
  bytes out(8);
  format::offset_entry{0x01020304, 0x0a0b0c0d}.store(out.data());
  CHECK(to_hex(out) == to_hex(golden));
  const auto e = format::offset_entry::load(golden.data());
  CHECK(e.relative_offset == 0x01020304u);
  CHECK(e.position == 0x0a0b0c0du);
  CHECK(e.key() == 0x01020304u);
  CHECK(e.value() == 0x0a0b0c0du);
}

TEST_CASE("golden: time_entry is i64 LE timestamp then u32 LE relative offset", "[format]") {
  STATIC_REQUIRE(format::time_entry::size == 12);
  const bytes golden = from_hex("00 68 e5 cf 8b 01 00 00 07 00 00 00");
  bytes out(12);
  format::time_entry{T, 7}.store(out.data());
  CHECK(to_hex(out) == to_hex(golden));
  const auto e = format::time_entry::load(golden.data());
  CHECK(e.timestamp == T);
  CHECK(e.relative_offset == 7u);
  CHECK(e.key() == T);
}

TEST_CASE("golden: segment_file(42, \".log\") is 20 zero-padded digits", "[format]") {
  CHECK(format::segment_file(42, ".log") == "00000000000000000042.log");
  CHECK(format::segment_file(0, ".index") == "00000000000000000000.index");
  CHECK(format::segment_file(INT64_MAX, ".timeindex") == "09223372036854775807.timeindex");
}

TEST_CASE("golden: batch header field offsets are those of the byte diagram", "[format]") {
  using format::batch_header;
  STATIC_REQUIRE(format::batch_header_size == 64);
  STATIC_REQUIRE(format::log_overhead == 12);
  STATIC_REQUIRE(format::checksummed_from == 24);
  STATIC_REQUIRE(format::batch_magic == 1);
  STATIC_REQUIRE(offsetof(batch_header, checksum) == 16);
  STATIC_REQUIRE(offsetof(batch_header, record_count) == 60);
  STATIC_REQUIRE(format::attr_compression_mask == 0x07);
  STATIC_REQUIRE(format::attr_timestamp_type == 0x08);
  STATIC_REQUIRE(format::attr_transactional == 0x10);
  STATIC_REQUIRE(format::attr_control == 0x20);
  STATIC_REQUIRE(static_cast<int>(compression::lz4) == 3);
  STATIC_REQUIRE(static_cast<int>(compression::zstd) == 4);
  STATIC_REQUIRE(format::max_uncompressed_records_bytes == 256u * 1024 * 1024);
}

// ---------------------------------------------------------------------------
// Varints and zigzag

TEST_CASE("varint: zigzag maps small magnitudes to small codes", "[format]") {
  CHECK(format::zigzag(0) == 0u);
  CHECK(format::zigzag(-1) == 1u);
  CHECK(format::zigzag(1) == 2u);
  CHECK(format::zigzag(-2) == 3u);
  CHECK(format::zigzag(INT64_MAX) == UINT64_MAX - 1);
  CHECK(format::zigzag(INT64_MIN) == UINT64_MAX);
  CHECK(format::unzigzag(UINT64_MAX) == INT64_MIN);
  CHECK(format::unzigzag(UINT64_MAX - 1) == INT64_MAX);
  CHECK(format::unzigzag(3) == -2);
}

TEST_CASE("varint: exact encodings at 0, +-1, the 63/64 boundary and the int32/int64 extremes", "[format]") {
  struct golden_varint {
    std::int64_t v;
    const char* hex;
  };
  const golden_varint cases[] = {
      {0, "00"},
      {-1, "01"},
      {1, "02"},
      {63, "7e"},
      {-64, "7f"},
      {64, "80 01"},
      {-65, "81 01"},
      {INT32_MAX, "fe ff ff ff 0f"},
      {INT32_MIN, "ff ff ff ff 0f"},
      {std::int64_t{INT32_MAX} + 1, "80 80 80 80 10"},
      {std::int64_t{INT32_MIN} - 1, "81 80 80 80 10"},
      {INT64_MAX, "fe ff ff ff ff ff ff ff ff 01"},
      {INT64_MIN, "ff ff ff ff ff ff ff ff ff 01"},
  };
  for (const auto& c : cases) {
    INFO("value " << c.v);
    const bytes want = from_hex(c.hex);
    const bytes got = varint_bytes(c.v);
    CHECK(to_hex(got) == to_hex(want));
    CHECK(format::varint_size(c.v) == want.size());
    const std::byte* p = want.data();
    std::int64_t out = 12345;
    REQUIRE(format::get_varint(p, want.data() + want.size(), out));
    CHECK(out == c.v);
    CHECK(p == want.data() + want.size());
  }
}

TEST_CASE("varint: INT64_MIN round-trips in 10 bytes", "[format]") {
  const bytes b = varint_bytes(INT64_MIN);
  CHECK(b.size() == format::max_varint64_bytes);
  const std::byte* p = b.data();
  std::int64_t out = 0;
  REQUIRE(format::get_varint(p, b.data() + b.size(), out));
  CHECK(out == INT64_MIN);
}

TEST_CASE("varint: round trip and size agree at every power of two and its neighbours", "[format]") {
  for (int bit = 0; bit < 63; ++bit) {
    const std::int64_t base = std::int64_t{1} << bit;
    for (std::int64_t v : {base - 1, base, base + 1, -base, -base - 1, -base + 1}) {
      INFO("value " << v);
      const bytes b = varint_bytes(v);
      CHECK(b.size() == format::varint_size(v));
      // Every byte but the last has the continuation bit; the last does not.
      for (std::size_t i = 0; i + 1 < b.size(); ++i) CHECK((static_cast<unsigned>(b[i]) & 0x80) != 0);
      CHECK((static_cast<unsigned>(b.back()) & 0x80) == 0);
      const std::byte* p = b.data();
      std::int64_t out = 0;
      REQUIRE(format::get_varint(p, b.data() + b.size(), out));
      CHECK(out == v);
      CHECK(p == b.data() + b.size());
    }
  }
}

TEST_CASE("varint: an 11-byte (overlong) varint is rejected", "[format]") {
  const bytes b = from_hex("80 80 80 80 80 80 80 80 80 80 00");
  const std::byte* p = b.data();
  std::int64_t out = 0;
  CHECK_FALSE(format::get_varint(p, b.data() + b.size(), out));
}

TEST_CASE("varint: a 10th byte carrying bits beyond 64 is rejected", "[format]") {
  // INT64_MIN ends in 01; 02 and 7f would need a 65th bit.
  for (const char* hex : {"ff ff ff ff ff ff ff ff ff 02", "ff ff ff ff ff ff ff ff ff 7f"}) {
    INFO(hex);
    const bytes b = from_hex(hex);
    const std::byte* p = b.data();
    std::int64_t out = 0;
    CHECK_FALSE(format::get_varint(p, b.data() + b.size(), out));
  }
}

TEST_CASE("varint: truncated input is rejected, never read past the end", "[format]") {
  std::int64_t out = 0;
  {
    const std::byte* p = nullptr;
    CHECK_FALSE(format::get_varint(p, p, out));  // empty
  }
  for (const char* hex : {"80", "ff ff", "80 80 80 80 80 80 80 80 80"}) {
    INFO(hex);
    const bytes b = from_hex(hex);
    const std::byte* p = b.data();
    CHECK_FALSE(format::get_varint(p, b.data() + b.size(), out));
  }
  // A valid 2-byte varint seen through a 1-byte window.
  const bytes b = varint_bytes(64);
  const std::byte* p = b.data();
  CHECK_FALSE(format::get_varint(p, b.data() + 1, out));
}

TEST_CASE("varint: max_bytes limits the encoded length", "[format]") {
  const bytes six = varint_bytes(std::int64_t{1} << 34);  // zigzag 2^35: 6 bytes
  REQUIRE(six.size() == 6);
  std::int64_t out = 0;
  const std::byte* p = six.data();
  CHECK_FALSE(format::get_varint(p, six.data() + six.size(), out, 5));
  p = six.data();
  CHECK(format::get_varint(p, six.data() + six.size(), out, 6));
  CHECK(out == std::int64_t{1} << 34);
}

TEST_CASE("varint: get_varint32 accepts exactly the int32 range", "[format]") {
  std::int32_t out = 0;
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{INT32_MAX}, std::int64_t{INT32_MIN}}) {
    INFO("value " << v);
    const bytes b = varint_bytes(v);
    const std::byte* p = b.data();
    REQUIRE(format::get_varint32(p, b.data() + b.size(), out));
    CHECK(out == v);
    CHECK(p == b.data() + b.size());
  }
  // One past either end still fits 5 bytes but not an int32.
  for (std::int64_t v : {std::int64_t{INT32_MAX} + 1, std::int64_t{INT32_MIN} - 1}) {
    INFO("value " << v);
    const bytes b = varint_bytes(v);
    REQUIRE(b.size() == 5);
    const std::byte* p = b.data();
    CHECK_FALSE(format::get_varint32(p, b.data() + b.size(), out));
  }
  // A 6-byte varint is refused by length, whatever its value.
  const bytes six = varint_bytes(std::int64_t{1} << 40);
  const std::byte* p = six.data();
  CHECK_FALSE(format::get_varint32(p, six.data() + six.size(), out));
}

// ---------------------------------------------------------------------------
// probe_batch

TEST_CASE("probe: a well-formed batch is ok and sized exactly, trailing bytes ignored", "[format]") {
  bytes b = golden_batch();
  const std::size_t n = b.size();
  auto pr = probe(b);
  CHECK(pr.kind == format::batch_probe::ok);
  CHECK(pr.size == n);
  b.resize(n + 100, std::byte{0xab});
  pr = probe(b);
  CHECK(pr.kind == format::batch_probe::ok);
  CHECK(pr.size == n);
}

TEST_CASE("probe: all-zero bytes are the end of the log", "[format]") {
  for (std::size_t n : {std::size_t{12}, std::size_t{63}, std::size_t{64}, std::size_t{4096}}) {
    INFO(n << " zero bytes");
    const bytes z(n, std::byte{0});
    CHECK(probe(z).kind == format::batch_probe::end);
  }
}

TEST_CASE("probe: fewer than 12 bytes are the end if zero, incomplete otherwise", "[format]") {
  for (std::size_t n = 0; n < 12; ++n) {
    INFO(n << " bytes");
    bytes b(n, std::byte{0});
    CHECK(probe(b).kind == format::batch_probe::end);
    for (std::size_t i = 0; i < n; ++i) {
      bytes c = b;
      c[i] = std::byte{1};
      CHECK(probe(c).kind == format::batch_probe::incomplete);
    }
  }
  // A real batch cut to 11 bytes is a torn tail too.
  const bytes g = golden_batch();
  CHECK(format::probe_batch(g.data(), 11).kind == format::batch_probe::incomplete);
}

TEST_CASE("probe: a batch longer than the buffer is incomplete", "[format]") {
  const bytes g = golden_batch();
  for (std::size_t avail : {std::size_t{12}, std::size_t{40}, std::size_t{63}, std::size_t{64}, g.size() - 1}) {
    INFO("avail " << avail);
    CHECK(format::probe_batch(g.data(), avail).kind == format::batch_probe::incomplete);
  }
  // A length of INT32_MAX is not an error by itself; it just cannot be here.
  bytes b = g;
  format::store_le<std::int32_t>(b.data() + 8, INT32_MAX);
  CHECK(probe(b).kind == format::batch_probe::incomplete);
}

TEST_CASE("probe: a batch length below the header size is corrupt", "[format]") {
  const bytes g = golden_batch();
  for (std::int32_t len : {51, 1, -1, INT32_MIN}) {
    INFO("batch_length " << len);
    bytes b = g;
    format::store_le<std::int32_t>(b.data() + 8, len);
    CHECK(probe(b).kind == format::batch_probe::corrupt);
  }
  // Zero length is the end only when the base offset is zero too.
  bytes b = g;
  format::store_le<std::int32_t>(b.data() + 8, 0);
  CHECK(probe(b).kind == format::batch_probe::corrupt);
}

TEST_CASE("probe: a header-only batch (length 52, no records) is the minimum size", "[format]") {
  const bytes b = sealed_batch({}, 0, 0);
  REQUIRE(b.size() == 64);
  CHECK(format::load_le<std::int32_t>(b.data() + 8) == 52);
  const auto pr = probe(b);
  CHECK(pr.kind == format::batch_probe::ok);
  CHECK(pr.size == 64);
}

TEST_CASE("probe: bad magic is corrupt, including Kafka's magic 2", "[format]") {
  for (unsigned m : {0u, 2u, 0xffu}) {
    INFO("magic " << m);
    bytes b = golden_batch();
    b[12] = static_cast<std::byte>(m);
    const auto pr = probe(b);
    CHECK(pr.kind == format::batch_probe::corrupt);
    CHECK_THAT(pr.why, Catch::Contains("magic"));
  }
}

TEST_CASE("probe: a non-zero reserved byte is corrupt", "[format]") {
  for (std::size_t i : {13u, 14u, 15u}) {
    INFO("byte " << i);
    bytes b = golden_batch();
    b[i] = std::byte{0x01};
    const auto pr = probe(b);
    CHECK(pr.kind == format::batch_probe::corrupt);
    CHECK_THAT(pr.why, Catch::Contains("reserved"));
  }
}

TEST_CASE("probe: unknown attribute bits are corrupt even under a valid checksum", "[format]") {
  const bytes section = golden_section();
  for (std::uint16_t bit : {std::uint16_t{0x40}, std::uint16_t{0x80}, std::uint16_t{0x100}, std::uint16_t{0x8000}}) {
    INFO("attribute bit " << bit);
    format::batch_params p;
    p.attributes = bit;
    const bytes b = sealed_batch(section, 3, 2, p);
    const auto pr = probe(b);
    CHECK(pr.kind == format::batch_probe::corrupt);
    CHECK_THAT(pr.why, Catch::Contains("attribute"));
  }
  // All known bits together are fine at the probe level.
  format::batch_params p;
  p.attributes = format::attr_timestamp_type | format::attr_transactional | format::attr_control;
  CHECK(probe(sealed_batch(section, 3, 2, p)).kind == format::batch_probe::ok);
}

TEST_CASE("probe: record count above last offset delta + 1 is corrupt; below it is a gap", "[format]") {
  const bytes section = golden_section();
  {
    const auto pr = probe(sealed_batch(section, 3, 1));
    CHECK(pr.kind == format::batch_probe::corrupt);
    CHECK_THAT(pr.why, Catch::Contains("record count"));
  }
  CHECK(probe(sealed_batch(section, 3, -1)).kind == format::batch_probe::corrupt);
  CHECK(probe(sealed_batch(section, -1, 2)).kind == format::batch_probe::corrupt);
  // Fewer records than offsets (a compacted batch) passes the probe.
  CHECK(probe(sealed_batch(section, 3, 9)).kind == format::batch_probe::ok);
}

TEST_CASE("probe: a negative or overflowing base offset is corrupt", "[format]") {
  const bytes section = golden_section();
  format::batch_params p;
  p.base_offset = -1;
  CHECK(probe(sealed_batch(section, 3, 2, p)).kind == format::batch_probe::corrupt);
  p.base_offset = INT64_MAX - 1;  // last offset would be INT64_MAX + 1
  CHECK(probe(sealed_batch(section, 3, 2, p)).kind == format::batch_probe::corrupt);
  p.base_offset = INT64_MAX - 2;  // last offset INT64_MAX: allowed
  CHECK(probe(sealed_batch(section, 3, 2, p)).kind == format::batch_probe::ok);
}

TEST_CASE("probe: checksum mismatch after a single bit flip is corrupt", "[format]") {
  bytes b = golden_batch();
  b[70] ^= std::byte{0x04};  // inside record 0
  const auto pr = probe(b);
  CHECK(pr.kind == format::batch_probe::corrupt);
  CHECK_THAT(pr.why, Catch::Contains("checksum"));
  // ...which a caller that skips checksums does not see.
  CHECK(probe(b, /*verify=*/false).kind == format::batch_probe::ok);
}

TEST_CASE("probe: a bit flip at every byte is detected (base_offset flips change the offset instead)", "[format]") {
  // Bytes [0, 8) hold base_offset, which the checksum does not cover: a flip
  // there leaves a valid batch with a different base offset (or, for the
  // sign bit, a negative one, which is corrupt). Any other flip must make
  // the probe fail: the length and magic are checked by value, the reserved
  // bytes must be zero, and the checksum covers itself by comparison and
  // [24, end) by hash. Checked with the batch alone and with zeroed
  // preallocated space after it (so a longer length still fits).
  const bytes g = golden_batch();
  const auto base = format::read_header(g.data()).base_offset;
  for (std::size_t pad : {std::size_t{0}, std::size_t{4096}}) {
    bytes padded = g;
    padded.resize(g.size() + pad, std::byte{0});
    int undetected = 0;
    for (std::size_t i = 0; i < g.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        bytes b = padded;
        b[i] ^= static_cast<std::byte>(1u << bit);
        const auto pr = probe(b);
        if (i < 8) {
          if (i == 7 && bit == 7) {
            CHECK(pr.kind == format::batch_probe::corrupt);  // negative base offset
          } else {
            CHECK(pr.kind == format::batch_probe::ok);
            CHECK(format::read_header(b.data()).base_offset != base);
          }
        } else if (pr.kind == format::batch_probe::ok) {
          ++undetected;
          UNSCOPED_INFO("undetected flip: byte " << i << " bit " << bit << " (pad " << pad << ")");
        }
      }
    }
    CHECK(undetected == 0);
  }
}

// ---------------------------------------------------------------------------
// record_decoder

TEST_CASE("decoder: keys, values, headers, timestamps and offsets round-trip", "[format]") {
  const std::string big_value(300, 'x');  // length varint of 2 bytes
  const std::string bin_key("\x00\x01\xff", 3);
  const std::array<record_header, 3> hs{{{"trace", "abc"}, {"", ""}, {"nullv", null_bytes}}};
  const std::array<record, 5> recs{{
      {"a", "1", {}, timestamp{T + 10}},
      {bin_key, big_value, hs, timestamp{T - 100000}},
      {null_bytes, null_bytes, {}, timestamp{T + 10}},
      {"", "", {}, timestamp::none()},  // takes "now"
      {"last", "z", std::span<const record_header>(hs).first(1), timestamp{INT64_MAX / 2}},
  }};
  format::batch_params p;
  p.base_offset = 77;
  const std::int64_t now = 1'234'567;
  const bytes b = encode(recs, p, now);
  const batch_view v(b);
  CHECK(v.first_timestamp() == timestamp{T + 10});  // the first record's, not the minimum
  CHECK(v.max_timestamp() == timestamp{INT64_MAX / 2});

  std::string why;
  const auto out = decode_all(b, &why);
  CHECK(why.empty());
  REQUIRE(out.size() == recs.size());
  const std::int64_t want_ts[] = {T + 10, T - 100000, T + 10, now, INT64_MAX / 2};
  for (std::size_t i = 0; i < out.size(); ++i) {
    INFO("record " << i);
    CHECK(out[i].off == offset{77 + static_cast<std::int64_t>(i)});
    CHECK(out[i].ts == timestamp{want_ts[i]});
    CHECK((out[i].key.data() == nullptr) == (recs[i].key.data() == nullptr));
    CHECK((out[i].value.data() == nullptr) == (recs[i].value.data() == nullptr));
    CHECK(out[i].key == recs[i].key);
    CHECK(out[i].value == recs[i].value);
    CHECK(out[i].header_count == static_cast<std::int32_t>(recs[i].headers.size()));
  }
  CHECK(headers_of(out[1]) ==
        std::vector<std::pair<std::string, std::string>>{{"trace", "abc"}, {"", ""}, {"nullv", "<null>"}});
  CHECK(headers_of(out[4]) == std::vector<std::pair<std::string, std::string>>{{"trace", "abc"}});
}

TEST_CASE("decoder: LogAppendTime batches give every record the max timestamp", "[format]") {
  format::batch_params p;
  p.attributes = format::attr_timestamp_type;
  const bytes b = sealed_batch(golden_section(), 3, 2, p, T, T + 5000);
  std::string why;
  const auto out = decode_all(b, &why);
  CHECK(why.empty());
  REQUIRE(out.size() == 3);
  for (const auto& r : out) CHECK(r.ts == timestamp{T + 5000});
}

TEST_CASE("decoder: a record length that overruns the section is corrupt", "[format]") {
  bytes s = golden_section();
  REQUIRE(s[r2_at] == std::byte{0x18});
  s[r2_at] = std::byte{0x1a};  // 13 bytes claimed, 12 left
  std::string why;
  const auto out = decode_all(sealed_batch(s, 3, 2), &why);
  CHECK(out.size() == 2);
  CHECK_THAT(why, Catch::Contains("record length"));
}

TEST_CASE("decoder: a record length varint cut off at the section end is corrupt", "[format]") {
  bytes s = golden_section();
  s.push_back(std::byte{0x80});  // a fourth record whose length never ends
  std::string why;
  const auto out = decode_all(sealed_batch(s, 4, 3), &why);
  CHECK(out.size() == 3);
  CHECK_THAT(why, Catch::Contains("record length"));
}

TEST_CASE("decoder: more records promised than present is corrupt", "[format]") {
  std::string why;
  const auto out = decode_all(sealed_batch(golden_section(), 4, 3), &why);
  CHECK(out.size() == 3);
  CHECK_FALSE(why.empty());
}

TEST_CASE("decoder: a record length shorter than its fields is corrupt", "[format]") {
  bytes s = golden_section();
  s[r0_at] = std::byte{0x16};  // 11 bytes claimed: the header value byte falls outside
  std::string why;
  const auto out = decode_all(sealed_batch(s, 3, 2), &why);
  CHECK(out.empty());
  CHECK_FALSE(why.empty());
}

TEST_CASE("decoder: a record length longer than its fields is corrupt", "[format]") {
  bytes s = golden_section();
  s[r0_at] = std::byte{0x1a};  // 13 bytes claimed: swallows record 1's length byte
  std::string why;
  const auto out = decode_all(sealed_batch(s, 3, 2), &why);
  CHECK(out.empty());
  CHECK_THAT(why, Catch::Contains("record length disagrees"));
}

TEST_CASE("decoder: non-zero record attributes are corrupt", "[format]") {
  bytes s = golden_section();
  s[r1_at + 1] = std::byte{0x01};
  std::string why;
  const auto out = decode_all(sealed_batch(s, 3, 2), &why);
  CHECK(out.size() == 1);
  CHECK_THAT(why, Catch::Contains("attributes"));
}

TEST_CASE("decoder: key length beyond the record (but inside the section) is corrupt", "[format]") {
  bytes s = golden_section();
  // Record 0 has 8 body bytes left after its key length; claim 9.
  REQUIRE(s[r0_at + 4] == std::byte{0x02});
  s[r0_at + 4] = std::byte{0x12};
  std::string why;
  const auto out = decode_all(sealed_batch(s, 3, 2), &why);
  CHECK(out.empty());
  CHECK_THAT(why, Catch::Contains("key length"));
}

TEST_CASE("decoder: a key length below -1 is corrupt", "[format]") {
  bytes s = golden_section();
  s[r0_at + 4] = std::byte{0x03};  // zigzag 3 = -2
  std::string why;
  const auto out = decode_all(sealed_batch(s, 3, 2), &why);
  CHECK(out.empty());
  CHECK_THAT(why, Catch::Contains("key length"));
}

TEST_CASE("decoder: a value length beyond the record is corrupt", "[format]") {
  bytes s = golden_section();
  REQUIRE(s[r0_at + 6] == std::byte{0x04});
  s[r0_at + 6] = std::byte{0x0e};  // 7 claimed, 6 left in the record
  std::string why;
  const auto out = decode_all(sealed_batch(s, 3, 2), &why);
  CHECK(out.empty());
  CHECK_THAT(why, Catch::Contains("value length"));
}

TEST_CASE("decoder: header count, header key and header value overruns are corrupt", "[format]") {
  struct edit {
    std::size_t at;
    std::uint8_t to;
    const char* why;
  };
  const edit edits[] = {
      {r0_at + 9, 0x7e, "header count"},   // 63 headers
      {r0_at + 9, 0x01, "header count"},   // -1 headers
      {r0_at + 10, 0x7e, "header key"},    // 63-byte header key
      {r0_at + 10, 0x01, "header key"},    // null header key
      {r0_at + 12, 0x02, "header value"},  // 1-byte value, 0 bytes left
      {r0_at + 12, 0x03, "header value"},  // length -2
  };
  for (const auto& e : edits) {
    INFO("byte " << e.at << " := " << int{e.to});
    bytes s = golden_section();
    s[e.at] = static_cast<std::byte>(e.to);
    std::string why;
    const auto out = decode_all(sealed_batch(s, 3, 2), &why);
    CHECK(out.empty());
    CHECK_THAT(why, Catch::Contains(e.why));
  }
}

TEST_CASE("decoder: trailing bytes after the last record are corrupt", "[format]") {
  bytes s = golden_section();
  s.push_back(std::byte{0x00});
  std::string why;
  const auto out = decode_all(sealed_batch(s, 3, 2), &why);
  CHECK(out.size() == 3);  // the records themselves are fine
  CHECK_THAT(why, Catch::Contains("after the last record"));
}

TEST_CASE("decoder: offset deltas out of order or out of range are corrupt", "[format]") {
  struct edit {
    std::size_t at;
    std::uint8_t to;
    std::size_t decoded;
    const char* what;
  };
  const edit edits[] = {
      {r1_at + 4, 0x00, 1, "record 1 repeats delta 0"},
      {r2_at + 3, 0x00, 2, "record 2 goes back to delta 0"},
      {r2_at + 3, 0x02, 2, "record 2 repeats delta 1"},
      {r2_at + 3, 0x06, 2, "record 2 has delta 3 > last_offset_delta 2"},
      {r0_at + 3, 0x01, 0, "record 0 has delta -1"},
  };
  const bytes golden = golden_section();
  REQUIRE(golden[r1_at + 4] == std::byte{0x02});
  REQUIRE(golden[r2_at + 3] == std::byte{0x04});
  for (const auto& e : edits) {
    INFO(e.what);
    bytes s = golden;
    s[e.at] = static_cast<std::byte>(e.to);
    std::string why;
    const auto out = decode_all(sealed_batch(s, 3, 2), &why);
    CHECK(out.size() == e.decoded);
    CHECK_THAT(why, Catch::Contains("offset delta"));
  }
}

TEST_CASE("decoder: offset gaps within last_offset_delta are accepted (compaction)", "[format]") {
  bytes s = golden_section();
  s[r2_at + 3] = std::byte{0x0a};  // record 2 at delta 5
  std::string why;
  const auto out = decode_all(sealed_batch(s, 3, 5), &why);
  CHECK(why.empty());
  REQUIRE(out.size() == 3);
  CHECK(out[2].off == offset{5});
}

TEST_CASE("decoder: a timestamp delta that overflows int64 is corrupt", "[format]") {
  // first_timestamp + timestampDelta must be computed without signed
  // overflow (undefined behaviour). No valid batch needs it, and a producer's
  // batch reaches the decoder through log::append_batch, so it is corrupt.
  const bytes s = from_hex(
      "1e 00"                            // length 15 | attrs
      "fe ff ff ff ff ff ff ff ff 01"    // tsDelta INT64_MAX
      "00 01 01 00");                    // offDelta 0 | key null | value null | 0 headers
  for (std::int64_t first : {std::int64_t{1}, T}) {
    INFO("first_timestamp " << first);
    std::string why;
    const auto out = decode_all(sealed_batch(s, 1, 0, {}, first, first), &why);
    CHECK(out.empty());
    CHECK_FALSE(why.empty());
  }
  // The same delta from first_timestamp 0 is representable and decodes.
  std::string why;
  const auto out = decode_all(sealed_batch(s, 1, 0, {}, 0, 0), &why);
  CHECK(why.empty());
  REQUIRE(out.size() == 1);
  CHECK(out[0].ts == timestamp{INT64_MAX});
}

TEST_CASE("reader: decoder failures surface as CORRUPT_MESSAGE", "[format]") {
  bytes s = golden_section();
  s.push_back(std::byte{0x00});
  const bytes b = sealed_batch(s, 3, 2);
  record_reader rr(b);
  record_view r;
  int n = 0;
  while (rr.next(r)) ++n;
  CHECK(n == 3);
  CHECK(rr.status().code() == errc::corrupt_message);
}

TEST_CASE("reader: batch_reader walks consecutive batches; record_reader skips below from", "[format]") {
  bytes log = golden_batch();
  format::batch_params p;
  p.base_offset = 1003;
  const bytes second = sealed_batch(golden_section(), 3, 2, p);
  log.insert(log.end(), second.begin(), second.end());

  batch_reader br(log);
  batch_view v;
  REQUIRE(br.next(v));
  CHECK(v.base_offset() == offset{1000});
  REQUIRE(br.next(v));
  CHECK(v.base_offset() == offset{1003});
  CHECK_FALSE(br.next(v));
  CHECK(br.status().ok());

  record_reader rr(log, offset{1002});
  record_view r;
  std::vector<std::int64_t> offs;
  while (rr.next(r)) offs.push_back(r.off.value());
  CHECK(rr.status().ok());
  CHECK(offs == std::vector<std::int64_t>{1002, 1003, 1004, 1005});
}

// ---------------------------------------------------------------------------
// Compression

namespace {

bytes compressed_batch(compression c, std::span<const record> recs, std::size_t* uncompressed = nullptr) {
  const auto t = format::times_of(recs, 0);
  const bytes section = encode_section(recs, t);
  if (uncompressed) *uncompressed = section.size();
  bytes b(format::batch_header_size + codec::compressed_bound(c, section.size()));
  auto n = codec::compress(c, section, b.data() + format::batch_header_size);
  REQUIRE(n.ok());
  b.resize(format::batch_header_size + *n);
  format::batch_params p;
  p.base_offset = 500;
  p.attributes = static_cast<std::uint16_t>(c);
  format::seal_batch(b.data(), *n, static_cast<std::int32_t>(recs.size()),
                     static_cast<std::int32_t>(recs.size()) - 1, p, t.first, t.max);
  return b;
}

// Reseals b after its records section was edited (and possibly resized).
void reseal(bytes& b) {
  const auto h = format::read_header(b.data());
  format::batch_params p;
  p.base_offset = h.base_offset;
  p.attributes = h.attributes;
  p.producer_id = h.producer_id;
  p.producer_epoch = h.producer_epoch;
  p.base_sequence = h.base_sequence;
  format::seal_batch(b.data(), b.size() - format::batch_header_size, h.record_count, h.last_offset_delta, p,
                     h.first_timestamp, h.max_timestamp);
  REQUIRE(probe(b).kind == format::batch_probe::ok);
}

errc read_status(std::span<const std::byte> b, int* records = nullptr) {
  record_reader rr(b);
  record_view r;
  int n = 0;
  while (rr.next(r)) ++n;
  if (records) *records = n;
  return rr.status().code();
}

}  // namespace

TEST_CASE("codec: lz4 and zstd batches round-trip through record_reader", "[format]") {
  const auto c = GENERATE(compression::lz4, compression::zstd);
  INFO("codec " << codec::compression_name(c));
  std::vector<std::string> keys, values;
  for (int i = 0; i < 200; ++i) {
    keys.push_back("key-" + std::to_string(i % 7));
    values.push_back("value value value value " + std::to_string(i));
  }
  const std::array<record_header, 1> hs{{{"h", "hv"}}};
  std::vector<record> recs;
  for (int i = 0; i < 200; ++i)
    recs.push_back({keys[static_cast<std::size_t>(i)], values[static_cast<std::size_t>(i)],
                    i % 3 == 0 ? std::span<const record_header>(hs) : std::span<const record_header>(),
                    timestamp{T + i}});
  recs[5].key = null_bytes;
  recs[6].value = null_bytes;

  std::size_t raw = 0;
  const bytes b = compressed_batch(c, recs, &raw);
  CHECK(b.size() < format::batch_header_size + raw / 2);  // it did compress
  CHECK(format::load_le<std::uint32_t>(b.data() + format::batch_header_size) == raw);
  const batch_view v(std::span<const std::byte>(b).first(probe(b).size));
  CHECK(v.codec() == c);

  record_reader rr(b);
  record_view r;
  std::size_t i = 0;
  while (rr.next(r)) {
    INFO("record " << i);
    REQUIRE(i < recs.size());
    CHECK(r.off == offset{500 + static_cast<std::int64_t>(i)});
    CHECK(r.ts == timestamp{T + static_cast<std::int64_t>(i)});
    CHECK((r.key.data() == nullptr) == (recs[i].key.data() == nullptr));
    CHECK((r.value.data() == nullptr) == (recs[i].value.data() == nullptr));
    CHECK(r.key == recs[i].key);
    CHECK(r.value == recs[i].value);
    CHECK(r.header_count == static_cast<std::int32_t>(recs[i].headers.size()));
    ++i;
  }
  CHECK(rr.status().ok());
  CHECK(i == recs.size());
}

TEST_CASE("codec: a section claiming more than max_uncompressed_records_bytes is corrupt", "[format]") {
  const auto c = GENERATE(compression::lz4, compression::zstd);
  INFO("codec " << codec::compression_name(c));
  for (std::uint32_t claim : {format::max_uncompressed_records_bytes + 1, UINT32_MAX}) {
    INFO("claimed " << claim);
    const std::array<record, 1> recs{{{"k", "v", {}, timestamp{T}}}};
    bytes b = compressed_batch(c, recs);
    format::store_le(b.data() + format::batch_header_size, claim);
    reseal(b);
    CHECK(read_status(b) == errc::corrupt_message);
    std::vector<std::byte> out;
    auto s = codec::decompress(c, std::span<const std::byte>(b).subspan(format::batch_header_size), out);
    CHECK(s.code() == errc::corrupt_message);
    CHECK(out.size() < claim);  // nothing sized to the hostile claim
  }
}

TEST_CASE("codec: a truncated compressed payload is corrupt", "[format]") {
  const auto c = GENERATE(compression::lz4, compression::zstd);
  INFO("codec " << codec::compression_name(c));
  std::vector<record> recs;
  const std::string val(100, 'q');
  for (int i = 0; i < 20; ++i) recs.push_back({"k", val, {}, timestamp{T}});
  const bytes full = compressed_batch(c, recs);
  const std::size_t payload = full.size() - format::batch_header_size - format::compressed_prefix_size;
  for (std::size_t cut : {std::size_t{1}, payload / 2, payload}) {
    INFO("cut " << cut << " of " << payload << " payload bytes");
    bytes b = full;
    b.resize(b.size() - cut);
    reseal(b);
    CHECK(read_status(b) == errc::corrupt_message);
  }
}

TEST_CASE("codec: a stated length that disagrees with the payload is corrupt", "[format]") {
  const auto c = GENERATE(compression::lz4, compression::zstd);
  INFO("codec " << codec::compression_name(c));
  const std::array<record, 2> recs{{{"k", "value one", {}, timestamp{T}}, {"k", "value two", {}, timestamp{T}}}};
  const bytes full = compressed_batch(c, recs);
  const auto n = format::load_le<std::uint32_t>(full.data() + format::batch_header_size);
  for (std::uint32_t claim : {n - 1, n + 1, 0u}) {
    INFO("claimed " << claim << ", actual " << n);
    bytes b = full;
    format::store_le(b.data() + format::batch_header_size, claim);
    // The codec itself refuses it (not only the record decoder behind it).
    std::vector<std::byte> out;
    const auto section = std::span<const std::byte>(b).subspan(format::batch_header_size);
    CHECK(codec::decompress(c, section, out).code() == errc::corrupt_message);
    reseal(b);
    CHECK(read_status(b) == errc::corrupt_message);
  }
  std::vector<std::byte> out;
  REQUIRE(codec::decompress(c, std::span<const std::byte>(full).subspan(format::batch_header_size), out).ok());
  CHECK(out.size() == n);
}

TEST_CASE("codec: a section shorter than its length prefix is corrupt", "[format]") {
  std::vector<std::byte> out;
  const bytes three(3, std::byte{0});
  CHECK(codec::decompress(compression::zstd, three, out).code() == errc::corrupt_message);
  // And through a batch: 3-byte lz4 section.
  format::batch_params p;
  p.attributes = static_cast<std::uint16_t>(compression::lz4);
  CHECK(read_status(sealed_batch(three, 1, 0, p)) == errc::corrupt_message);
}

TEST_CASE("codec: gzip and snappy batches are UNSUPPORTED_COMPRESSION_TYPE", "[format]") {
  for (std::uint16_t bits : {std::uint16_t{1}, std::uint16_t{2}}) {
    INFO("codec bits " << bits);
    format::batch_params p;
    p.attributes = bits;
    const bytes section = from_hex("04 00 00 00 de ad be ef");
    CHECK(read_status(sealed_batch(section, 1, 0, p)) == errc::unsupported_compression_type);
  }
}

TEST_CASE("codec: parse_compression(\"gzip\") is INVALID_CONFIG", "[format]") {
  CHECK(codec::parse_compression("gzip").code() == errc::invalid_config);
  CHECK(codec::parse_compression("snappy").code() == errc::invalid_config);
  CHECK(codec::parse_compression("").code() == errc::invalid_config);
  CHECK(*codec::parse_compression("none") == compression::none);
  CHECK(*codec::parse_compression("uncompressed") == compression::none);
  CHECK(*codec::parse_compression("lz4") == compression::lz4);
  CHECK(*codec::parse_compression("zstd") == compression::zstd);
  CHECK(codec::compression_name(compression::zstd) == "zstd");
}

// ---------------------------------------------------------------------------
// Checkpoint

TEST_CASE("checkpoint: any single bit flip is rejected", "[format]") {
  const auto good = format::encode_checkpoint({100, 4242});
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto b = good;
      b[i] ^= static_cast<std::byte>(1u << bit);
      INFO("byte " << i << " bit " << bit);
      CHECK_FALSE(format::decode_checkpoint(b).has_value());
    }
  }
}

TEST_CASE("checkpoint: wrong size, version or negative offsets are rejected", "[format]") {
  const auto good = format::encode_checkpoint({1, 2});
  REQUIRE(format::decode_checkpoint(good) == format::checkpoint{1, 2});
  bytes longer(good.begin(), good.end());
  longer.push_back(std::byte{0});
  CHECK_FALSE(format::decode_checkpoint(longer).has_value());
  CHECK_FALSE(format::decode_checkpoint(std::span<const std::byte>(good).first(31)).has_value());
  CHECK_FALSE(format::decode_checkpoint({}).has_value());

  auto resum = [](std::array<std::byte, 32> b) {
    format::store_le(b.data() + 24, XXH3_64bits(b.data(), 24));
    return b;
  };
  auto v2 = good;
  format::store_le<std::uint32_t>(v2.data() + 4, 2);
  CHECK_FALSE(format::decode_checkpoint(resum(v2)).has_value());
  auto neg = good;
  format::store_le<std::int64_t>(neg.data() + 8, -1);
  CHECK_FALSE(format::decode_checkpoint(resum(neg)).has_value());
  neg = good;
  format::store_le<std::int64_t>(neg.data() + 16, -1);
  CHECK_FALSE(format::decode_checkpoint(resum(neg)).has_value());
  // The resum helper itself produces acceptable checkpoints.
  CHECK(format::decode_checkpoint(resum(good)).has_value());
}

// ---------------------------------------------------------------------------
// File names

TEST_CASE("file names: segment files, checkpoint, lock and .tmp are recognised", "[format]") {
  using format::file_kind;
  auto p = format::parse_file_name("00000000000000000042.log");
  CHECK(p.kind == file_kind::log);
  CHECK(p.base_offset == 42);
  p = format::parse_file_name("00000000000000001000.index");
  CHECK(p.kind == file_kind::index);
  CHECK(p.base_offset == 1000);
  p = format::parse_file_name("09223372036854775807.timeindex");
  CHECK(p.kind == file_kind::time_index);
  CHECK(p.base_offset == INT64_MAX);
  CHECK(format::parse_file_name("partition.checkpoint").kind == file_kind::checkpoint);
  CHECK(format::parse_file_name(".lock").kind == file_kind::lock);
  CHECK(format::parse_file_name("partition.checkpoint.tmp").kind == file_kind::temporary);
  CHECK(format::parse_file_name("00000000000000000042.index.tmp").kind == file_kind::temporary);
  // A .tmp is franz's only if the name under it is franz's.
  CHECK(format::parse_file_name("x.tmp").kind == file_kind::foreign);
  CHECK(format::parse_file_name("partition.checkpoint.tmp.tmp").kind == file_kind::foreign);
  // Every name segment_file builds parses back to itself.
  for (std::int64_t base : {std::int64_t{0}, std::int64_t{7}, std::int64_t{1} << 40, INT64_MAX}) {
    for (auto [suffix, kind] : {std::pair{format::log_suffix, file_kind::log},
                                std::pair{format::index_suffix, file_kind::index},
                                std::pair{format::time_index_suffix, file_kind::time_index}}) {
      const auto q = format::parse_file_name(format::segment_file(base, suffix));
      CHECK(q.kind == kind);
      CHECK(q.base_offset == base);
    }
  }
}

TEST_CASE("file names: foreign names are foreign", "[format]") {
  const char* names[] = {
      "foo.log",
      "0000000000000000042.log",     // 19 digits
      "000000000000000000042.log",   // 21 digits
      "0000000000000000004a.log",    // non-digit
      "-0000000000000000042.log",    // sign
      " 0000000000000000042.log",    // space
      "09223372036854775808.log",    // INT64_MAX + 1
      "99999999999999999999.index",  // far beyond INT64_MAX
      "00000000000000000042.LOG",
      "00000000000000000042.log.bak",
      "00000000000000000042.",
      "00000000000000000042",
      "00000000000000000042.snapshot",
      ".tmp",  // the suffix alone names nothing
      "lock",
      "checkpoint",
      "",
  };
  for (const char* n : names) {
    INFO("name '" << n << "'");
    CHECK(format::parse_file_name(n).kind == format::file_kind::foreign);
  }
}

// ---- __consumer_offsets records (format/offsets_record.hpp) -----------------------

namespace franz {

TEST_CASE("offsets records: golden bytes of a key and a value", "[format][offsets-format]") {
  using namespace franz::test;
  const std::string key = format::encode_offset_key({"g1", "t", 2});
  const auto want_key = from_hex("0100 0200 6731 0100 74 02000000");
  CHECK(std::vector<std::byte>(reinterpret_cast<const std::byte*>(key.data()),
                               reinterpret_cast<const std::byte*>(key.data()) + key.size()) == want_key);
  const std::string value = format::encode_offset_value({10, 0x0102030405, "m"});
  const auto want_value = from_hex("0100 0a00000000000000 0504030201000000 0100 6d");
  CHECK(std::vector<std::byte>(reinterpret_cast<const std::byte*>(value.data()),
                               reinterpret_cast<const std::byte*>(value.data()) + value.size()) == want_value);
  auto k = format::decode_offset_key(key);
  REQUIRE_OK(k);
  CHECK(*k == format::offset_key{"g1", "t", 2});
  auto v = format::decode_offset_value(value);
  REQUIRE_OK(v);
  CHECK(*v == format::offset_value{10, 0x0102030405, "m"});
  CHECK(*format::offsets_key_version(key) == format::offset_key_version);
}

TEST_CASE("offsets records: every truncation, trailing bytes, unknown versions and negatives are CORRUPT_MESSAGE",
          "[format][offsets-format]") {
  const std::string key = format::encode_offset_key({"group", "topic", 7});
  const std::string value = format::encode_offset_value({42, 1000, "meta"});
  for (std::size_t n = 0; n < key.size(); ++n) CHECK(format::decode_offset_key(key.substr(0, n)).code() == errc::corrupt_message);
  for (std::size_t n = 0; n < value.size(); ++n)
    CHECK(format::decode_offset_value(value.substr(0, n)).code() == errc::corrupt_message);
  CHECK(format::decode_offset_key(key + "x").code() == errc::corrupt_message);
  CHECK(format::decode_offset_value(value + "x").code() == errc::corrupt_message);
  std::string v2 = key;
  v2[0] = 2;
  CHECK(format::decode_offset_key(v2).code() == errc::corrupt_message);
  CHECK(*format::offsets_key_version(v2) == format::group_key_version);
  std::string bad_value = value;
  bad_value[0] = 9;
  CHECK(format::decode_offset_value(bad_value).code() == errc::corrupt_message);
  CHECK(format::decode_offset_key(format::encode_offset_key({"g", "t", -1})).code() == errc::corrupt_message);
  CHECK(format::decode_offset_value(format::encode_offset_value({-5, 0, ""})).code() == errc::corrupt_message);
  CHECK(format::offsets_key_version("x").code() == errc::corrupt_message);
}

}  // namespace franz

// ---------------------------------------------------------------------------
// Found by fuzzing (fuzz/README.md). The inputs that found them are kept in
// fuzz/corpus/<target>/regress-*.

#include <zstd.h>

namespace {

// [u32 LE stated length][payload]: a compressed section by hand.
bytes section_of(std::uint32_t stated, std::span<const std::byte> payload) {
  bytes s(format::compressed_prefix_size + payload.size());
  format::store_le(s.data(), stated);
  if (!payload.empty()) std::memcpy(s.data() + format::compressed_prefix_size, payload.data(), payload.size());
  return s;
}

}  // namespace

TEST_CASE("codec: an lz4 section claiming more than 255 bytes per payload byte is CORRUPT_MESSAGE before allocating",
          "[format]") {
  // fuzz_batch_decode regress-lz4-claims-256mib-from-1-byte: one payload
  // byte claimed 256 MiB, and the decoder allocated (and zeroed) all of it.
  std::vector<std::byte> out;
  CHECK(codec::decompress(compression::lz4, from_hex("00 00 00 10 00"), out).code() == errc::corrupt_message);
  CHECK(out.capacity() < (256u << 20));
  // A real section whose claim exceeds the most its payload can expand to.
  const std::array<record, 1> recs{{{"k", "v", {}, timestamp{T}}}};
  const bytes b = compressed_batch(compression::lz4, recs);
  const auto payload =
      std::span<const std::byte>(b).subspan(format::batch_header_size + format::compressed_prefix_size);
  const auto claim = static_cast<std::uint32_t>(payload.size() * 255 + 1);
  out.clear();
  out.shrink_to_fit();
  CHECK(codec::decompress(compression::lz4, section_of(claim, payload), out).code() == errc::corrupt_message);
  CHECK(out.capacity() < claim);
}

TEST_CASE("codec: a zstd frame stating a size other than the section's is CORRUPT_MESSAGE before allocating",
          "[format]") {
  // fuzz_batch_decode regress-zstd-claims-256mib-from-9-bytes: a 9-byte
  // frame header claimed 256 MiB.
  std::vector<std::byte> out;
  CHECK(codec::decompress(compression::zstd, from_hex("00 00 00 10 28 b5 2f fd 00 00 01 00 00"), out).code() ==
        errc::corrupt_message);
  CHECK(out.capacity() < (256u << 20));
  std::vector<record> recs;
  const std::string val(100, 'q');
  for (int i = 0; i < 20; ++i) recs.push_back({"k", val, {}, timestamp{T}});
  std::size_t raw = 0;
  const bytes b = compressed_batch(compression::zstd, recs, &raw);
  const auto payload =
      std::span<const std::byte>(b).subspan(format::batch_header_size + format::compressed_prefix_size);
  for (const std::uint32_t claim : {static_cast<std::uint32_t>(raw + 4096), static_cast<std::uint32_t>(raw - 1)}) {
    INFO("claimed " << claim << ", stated in the frame " << raw);
    out.clear();
    out.shrink_to_fit();
    CHECK(codec::decompress(compression::zstd, section_of(claim, payload), out).code() == errc::corrupt_message);
    CHECK(out.capacity() < std::max<std::size_t>(claim, 1));
  }
}

TEST_CASE("codec: a zstd payload of two frames is CORRUPT_MESSAGE (a section is one frame)", "[format]") {
  const std::string half(1000, 'h');
  bytes payload(2 * ZSTD_compressBound(half.size()));
  std::size_t n = 0;
  for (int i = 0; i < 2; ++i) {
    const std::size_t k = ZSTD_compress(payload.data() + n, payload.size() - n, half.data(), half.size(), 1);
    REQUIRE(!ZSTD_isError(k));
    n += k;
  }
  payload.resize(n);
  std::vector<std::byte> out;
  CHECK(codec::decompress(compression::zstd, section_of(2 * 1000, payload), out).code() == errc::corrupt_message);
}

TEST_CASE("codec: a zstd frame without a stated size decodes, and may claim at most 32768 bytes per payload byte",
          "[format]") {
  const std::string data(100000, 'z');
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  REQUIRE(cctx != nullptr);
  REQUIRE(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
  bytes payload(ZSTD_compressBound(data.size()));
  const std::size_t n = ZSTD_compress2(cctx, payload.data(), payload.size(), data.data(), data.size());
  ZSTD_freeCCtx(cctx);
  REQUIRE(!ZSTD_isError(n));
  payload.resize(n);
  REQUIRE(ZSTD_getFrameContentSize(payload.data(), payload.size()) == ZSTD_CONTENTSIZE_UNKNOWN);
  std::vector<std::byte> out;
  REQUIRE(codec::decompress(compression::zstd, section_of(static_cast<std::uint32_t>(data.size()), payload), out).ok());
  CHECK(as_string(bytes_view(reinterpret_cast<const char*>(out.data()), out.size())) == data);
  const auto claim = static_cast<std::uint32_t>(payload.size() * 32768 + 1);
  std::vector<std::byte> out2;
  CHECK(codec::decompress(compression::zstd, section_of(claim, payload), out2).code() == errc::corrupt_message);
  CHECK(out2.capacity() < claim);
}

TEST_CASE("codec: maximally compressible sections still decode under the expansion bounds", "[format]") {
  const auto c = GENERATE(compression::lz4, compression::zstd);
  INFO("codec " << codec::compression_name(c));
  const bytes zeros(4 << 20);
  bytes section(codec::compressed_bound(c, zeros.size()));
  const auto n = codec::compress(c, zeros, section.data());
  REQUIRE(n.ok());
  section.resize(*n);
  INFO("ratio " << zeros.size() / (*n - format::compressed_prefix_size));
  std::vector<std::byte> out;
  REQUIRE(codec::decompress(c, section, out).ok());
  CHECK(out == zeros);
}

TEST_CASE("codec: gzip and snappy sections are UNSUPPORTED_COMPRESSION_TYPE before their stated length is allocated",
          "[format]") {
  for (const auto c : {static_cast<compression>(1), static_cast<compression>(2)}) {
    INFO("codec " << static_cast<int>(c));
    std::vector<std::byte> out;
    CHECK(codec::decompress(c, from_hex("00 00 00 10 de ad be ef"), out).code() == errc::unsupported_compression_type);
    CHECK(out.capacity() < (256u << 20));
    CHECK(codec::decompress(c, from_hex("de ad"), out).code() == errc::unsupported_compression_type);
  }
}

TEST_CASE("batch_view: a batch whose last offset is INT64_MAX has next_offset INT64_MAX, not an overflow", "[format]") {
  // fuzz_batch_decode regress-next-offset-past-int64-max: batch_reader took
  // the next expected offset from next_offset() = INT64_MAX + 1.
  format::batch_params p;
  p.base_offset = INT64_MAX - 2;
  const bytes b = sealed_batch(golden_section(), 3, 2, p, T, T + 1000);
  REQUIRE(probe(b).kind == format::batch_probe::ok);
  const batch_view v(b);
  CHECK(v.last_offset() == offset{INT64_MAX});
  CHECK(v.next_offset() == offset{INT64_MAX});
  batch_reader br(b);
  batch_view got;
  CHECK(br.next(got));
  CHECK(!br.next(got));
  CHECK(br.status().ok());
}

TEST_CASE("stored_batch_problem: a batch ending at INT64_MAX cannot be stored (no offset could follow it)",
          "[format]") {
  format::batch_params p;
  p.base_offset = INT64_MAX - 2;
  const bytes last = sealed_batch(golden_section(), 3, 2, p, T, T + 1000);
  const char* why = format::stored_batch_problem(format::read_header(last.data()));
  REQUIRE(why != nullptr);
  CHECK_THAT(why, Catch::Contains("largest offset"));
  p.base_offset = INT64_MAX - 3;
  const bytes before = sealed_batch(golden_section(), 3, 2, p, T, T + 1000);
  CHECK(format::stored_batch_problem(format::read_header(before.data())) == nullptr);
}

namespace {

// The golden batch at base INT64_MAX - 2 (its last offset is INT64_MAX).
bytes batch_ending_at_int64_max() {
  format::batch_params p;
  p.base_offset = INT64_MAX - 2;
  return sealed_batch(golden_section(), 3, 2, p, T, T + 1000);
}

// A log directory whose only segment holds batch_ending_at_int64_max(),
// opened: recovery truncates that batch, leaving the log end at INT64_MAX - 2.
result<std::unique_ptr<franz::log>> open_log_near_int64_max(const test::temp_dir& d) {
  const std::string dir = d.sub("t-0");
  REQUIRE(std::filesystem::create_directory(dir));
  const bytes b = batch_ending_at_int64_max();
  test::write_file(dir + "/" + format::segment_file(INT64_MAX - 2, format::log_suffix),
                   std::string(reinterpret_cast<const char*>(b.data()), b.size()));
  return franz::log::open(dir);
}

}  // namespace

TEST_CASE("recovery truncates a segment batch that ends at INT64_MAX instead of overflowing the log end", "[format]") {
  // fuzz_segment_reader regress-batch-ending-at-int64-max: recovery stored
  // last + 1 as the segment's next offset.
  test::temp_dir d;
  auto lg = open_log_near_int64_max(d);
  REQUIRE_OK(lg);
  CHECK((*lg)->log_end_offset() == offset{INT64_MAX - 2});
  CHECK((*lg)->log_start_offset() == offset{INT64_MAX - 2});
  CHECK(!(*lg)->recovery().clean);
  CHECK_THAT((*lg)->recovery().detail, Catch::Contains("largest offset"));
}

TEST_CASE("batch_reader: a batch after one that ends at INT64_MAX is CORRUPT_MESSAGE, not a second INT64_MAX",
          "[format]") {
  // fuzz known bug 3: next_offset() saturates, so a following batch at
  // INT64_MAX matched the expected offset and was returned.
  bytes b = batch_ending_at_int64_max();
  format::batch_params p;
  p.base_offset = INT64_MAX;
  const std::vector<record> one{{"k", "v", {}, timestamp{T}}};
  const bytes after = encode(one, p);
  REQUIRE(probe(after).kind == format::batch_probe::ok);
  b.insert(b.end(), after.begin(), after.end());
  batch_reader br(b);
  batch_view got;
  CHECK(br.next(got));
  CHECK(!br.next(got));
  CHECK(br.status().code() == errc::corrupt_message);
  CHECK_THAT(br.status().error().message, Catch::Contains("largest offset"));
}

TEST_CASE("append at a log end near INT64_MAX is OFFSET_OUT_OF_RANGE once its last offset would leave no next one",
          "[format]") {
  // fuzz known bug 4: append computed base + count past INT64_MAX. Only a
  // damaged or crafted segment or checkpoint puts the log end there.
  test::temp_dir d;
  auto lg = open_log_near_int64_max(d);
  REQUIRE_OK(lg);
  REQUIRE((*lg)->log_end_offset() == offset{INT64_MAX - 2});
  const std::vector<record> three(3, record{"k", "v", {}, timestamp{T}});
  const auto too_many = (*lg)->append(three);
  CHECK(too_many.code() == errc::offset_out_of_range);
  CHECK((*lg)->log_end_offset() == offset{INT64_MAX - 2});
  REQUIRE_OK((*lg)->append(std::span<const record>(three).first(2)));
  CHECK((*lg)->log_end_offset() == offset{INT64_MAX});
  CHECK((*lg)->append(three.front()).code() == errc::offset_out_of_range);
  CHECK((*lg)->append_batch(batch_ending_at_int64_max()).code() == errc::offset_out_of_range);
}

TEST_CASE("a read stops before a later batch whose damaged base offset would overflow; the next read names it",
          "[format]") {
  // fuzz_segment_reader regress-damaged-base-after-the-read-batch (the
  // 30-minute run): locate added base + delta of the batches after the one
  // it landed on without checking their base offsets, overflowing on a
  // damaged one. Index entries at every batch keep the damage out of the
  // open's walk (which starts at the last entry), as in the fuzzed input.
  test::temp_dir d;
  const std::string dir = d.sub("t-0");
  log_config c;
  c.index_interval_bytes = 0;
  const std::vector<record> one{{"k", "v", {}, timestamp{T}}};
  const std::vector<record> two(2, record{"k", "v", {}, timestamp{T}});
  std::uint64_t second_at = 0;
  {
    auto lg = franz::log::open(dir, test::opts_for(c));
    REQUIRE_OK(lg);
    REQUIRE_OK((*lg)->append(one));
    second_at = (*lg)->size_bytes();
    REQUIRE_OK((*lg)->append(two));
    REQUIRE_OK((*lg)->append(one));
    REQUIRE_OK((*lg)->close());
  }
  const std::string seg = dir + "/" + format::segment_file(0, format::log_suffix);
  std::string data = test::read_file(seg);
  const std::int64_t damaged = INT64_MAX;  // + last offset delta 1 overflows
  REQUIRE(second_at + sizeof damaged <= data.size());
  format::store_le(reinterpret_cast<std::byte*>(data.data() + second_at), damaged);
  test::write_file(seg, data);

  auto lg = franz::log::open(dir, test::opts_for(c));
  REQUIRE_OK(lg);
  REQUIRE((*lg)->log_end_offset() == offset{4});
  const auto first = (*lg)->read(offset{0}, 1 << 20);
  REQUIRE_OK(first);
  CHECK(first->bytes().size() == second_at);  // the first batch only
  const auto next = (*lg)->read(offset{1}, 1 << 20);
  CHECK(next.code() == errc::corrupt_message);
  CHECK_THAT(next.error().message, Catch::Contains("9223372036854775807"));
}

TEST_CASE("a trusted segment whose index entry lies past INT64_MAX - 1 is rebuilt, not added to its base",
          "[format]") {
  // fuzz_segment_reader regress-index-entry-past-int64-max (the second
  // 30-minute run): load_trusted added the last offset-index entry to a
  // base near INT64_MAX and overflowed. Release builds wrapped and happened
  // to rebuild; the ASan+UBSan suite (halt_on_error) stops on the overflow.
  test::temp_dir d;
  const std::vector<record> one{{"k", "v", {}, timestamp{T}}};
  {
    auto lg = open_log_near_int64_max(d);
    REQUIRE_OK(lg);
    REQUIRE_OK((*lg)->append(one));  // at INT64_MAX - 2
    REQUIRE_OK((*lg)->roll());
    REQUIRE_OK((*lg)->close());
  }
  const std::string dir = d.sub("t-0");
  const std::string idx = dir + "/" + format::segment_file(INT64_MAX - 2, format::index_suffix);
  std::string entry(8, '\0');
  format::store_le(reinterpret_cast<std::byte*>(entry.data()), std::uint32_t{15});  // relative offset
  format::store_le(reinterpret_cast<std::byte*>(entry.data() + 4), std::uint32_t{1});  // position
  test::write_file(idx, entry);

  auto lg = franz::log::open(dir);
  REQUIRE_OK(lg);
  CHECK((*lg)->recovery().indexes_rebuilt >= 1);
  CHECK((*lg)->log_end_offset() == offset{INT64_MAX - 1});
  const auto r = (*lg)->read(offset{INT64_MAX - 2}, 1 << 20);
  REQUIRE_OK(r);
  CHECK(!r->empty());
}
