// fuzz_roundtrip — the encode → decode oracle: records built from the input
// are encoded as a batch the way log::append does (measure, put_records /
// encode_batch, codec::compress, seal_batch) with every codec, then probed
// and decoded with record_reader; every record must come back exactly.
//
// Input: a flags byte, the batch parameters, then records until the input
// ends (at most 512):
//   flags: bit 0 LogAppendTime, bit 1 transactional
//   u64 base offset (masked to leave room for the records), i64 producer
//   id, i16 epoch, i32 base sequence, i64 default timestamp (masked >= 0)
//   per record: u8 control
//     bit 0 null key, bit 1 null value, bits 2-3 header count,
//     bit 4 no timestamp (-1), bit 5 a raw i64 timestamp (may be < -1,
//     which measure must reject), bit 6 long (u16) lengths,
//     bit 7 the header keys are null (encoded as empty)
//   then key, value (u8 or u16 length + bytes), timestamp, headers
//   (key, then u8 tag: 0xff null value, else a length).
//
// Asserted: measure() rejects exactly the batches holding a timestamp below
// -1, and agrees with times_of/records_size and the bytes put_records
// writes (with and without precomputed body sizes); each encoded batch
// probes ok at its exact size, has no stored_batch_problem, carries its
// codec, count, offsets and timestamps; record_reader returns every record
// with its offset, timestamp (the record's, the default, or under
// LogAppendTime the max), key, value and headers, nulls kept (a null header
// key comes back empty), and nothing more.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "franz/codec/codec.hpp"
#include "franz/format/record_batch.hpp"
#include "franz/storage/reader.hpp"
#include "fuzz_util.hpp"

namespace {

using namespace franz;
using bytes = std::vector<std::byte>;

constexpr std::size_t max_records = 512;

bool same(bytes_view a, bytes_view b) { return (a.data() == nullptr) == (b.data() == nullptr) && a == b; }

// Decodes batch b and compares it with recs.
void check_batch(std::span<const std::byte> b, compression c, std::span<const record> recs,
                 const format::batch_times& t, const format::batch_params& p) {
  const auto pr = format::probe_batch(b.data(), b.size());
  FUZZ_CHECK(pr.kind == format::batch_probe::ok);
  FUZZ_CHECK(pr.size == b.size());
  const batch_view v(b);
  const auto& h = v.header();
  FUZZ_CHECK(format::stored_batch_problem(h) == nullptr);
  FUZZ_CHECK(v.codec() == c);
  FUZZ_CHECK(h.record_count == static_cast<std::int32_t>(recs.size()));
  FUZZ_CHECK(h.last_offset_delta == static_cast<std::int32_t>(recs.size()) - 1);
  FUZZ_CHECK(v.base_offset().value() == p.base_offset);
  FUZZ_CHECK(h.first_timestamp == t.first && h.max_timestamp == t.max);
  FUZZ_CHECK(h.producer_id == p.producer_id && h.producer_epoch == p.producer_epoch &&
             h.base_sequence == p.base_sequence);
  FUZZ_CHECK(v.is_transactional() == ((p.attributes & format::attr_transactional) != 0));
  FUZZ_CHECK((v.ts_type() == timestamp_type::log_append_time) == t.force_default);

  record_reader rr(b, v.base_offset());
  record_view got;
  std::size_t i = 0;
  while (rr.next(got)) {
    FUZZ_CHECK(i < recs.size());
    const record& want = recs[i];
    FUZZ_CHECK(got.off.value() == p.base_offset + static_cast<std::int64_t>(i));
    FUZZ_CHECK(got.ts.value() == (t.force_default ? t.max : t.of(want)));
    FUZZ_CHECK(same(got.key, want.key));
    FUZZ_CHECK(same(got.value, want.value));
    FUZZ_CHECK(got.header_count == static_cast<std::int32_t>(want.headers.size()));
    header_iterator it(got);
    record_header gh;
    std::size_t j = 0;
    while (it.next(gh)) {
      FUZZ_CHECK(j < want.headers.size());
      const std::string_view want_key = want.headers[j].key.data() ? want.headers[j].key : std::string_view("");
      FUZZ_CHECK(gh.key.data() != nullptr && gh.key == want_key);
      FUZZ_CHECK(same(gh.value, want.headers[j].value));
      ++j;
    }
    FUZZ_CHECK(j == want.headers.size());
    ++i;
  }
  FUZZ_CHECK(rr.status().ok());
  FUZZ_CHECK(i == recs.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  franz::fuzz::input in(data, size);
  const std::uint8_t flags = in.byte();
  const bool append_time = flags & 1;
  format::batch_params p;
  p.base_offset = static_cast<std::int64_t>(in.take<std::uint64_t>() & (INT64_MAX >> 1));
  p.producer_id = in.take<std::int64_t>();
  p.producer_epoch = in.take<std::int16_t>();
  p.base_sequence = in.take<std::int32_t>();
  const std::int64_t default_ts = in.take<std::int64_t>() & INT64_MAX;
  if (flags & 2) p.attributes |= format::attr_transactional;
  if (append_time) p.attributes |= format::attr_timestamp_type;

  std::vector<record> recs;
  std::vector<std::vector<record_header>> headers;
  headers.reserve(max_records);
  bool any_bad_ts = false;
  while (!in.empty() && recs.size() < max_records) {
    const std::uint8_t ctl = in.byte();
    auto len = [&] { return (ctl & 0x40) ? std::size_t{in.take<std::uint16_t>()} : std::size_t{in.byte()}; };
    record r;
    const std::size_t klen = len();
    r.key = (ctl & 1) ? null_bytes : in.str(klen);
    const std::size_t vlen = len();
    r.value = (ctl & 2) ? null_bytes : in.str(vlen);
    if (ctl & 0x10) {
      r.ts = timestamp::none();
    } else if (ctl & 0x20) {
      r.ts = timestamp{in.take<std::int64_t>()};
      any_bad_ts |= r.ts.value() < -1;
    } else {
      r.ts = timestamp{in.take<std::int64_t>() & INT64_MAX};
    }
    auto& hs = headers.emplace_back();
    for (int k = 0; k < ((ctl >> 2) & 3); ++k) {
      record_header h;
      const std::string_view key = in.str(in.byte());
      h.key = (ctl & 0x80) ? std::string_view() : key;
      const std::uint8_t tag = in.byte();
      h.value = tag == 0xff ? null_bytes : in.str(tag);
      hs.push_back(h);
    }
    r.headers = hs;
    recs.push_back(r);
  }
  if (recs.empty()) return 0;

  // Sizing, as log::append does it.
  format::batch_times t{0, 0, default_ts, append_time};
  std::vector<std::uint32_t> bodies(recs.size());
  std::int64_t bad = 0;
  const auto measured = format::measure(recs, t, &bad, bodies.data());
  FUZZ_CHECK(measured.has_value() == !any_bad_ts);
  if (!measured) {
    FUZZ_CHECK(bad < -1);
    return 0;
  }
  FUZZ_CHECK(t.max >= t.first && t.first >= 0);
  if (!append_time) {
    const auto t2 = format::times_of(recs, default_ts);
    FUZZ_CHECK(t2.first == t.first && t2.max == t.max);
  }
  const std::size_t section = *measured;
  FUZZ_CHECK(format::records_size(recs, t) == section);
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const std::int64_t delta = t.of(recs[i]) - t.first;
    FUZZ_CHECK(format::record_body_size(recs[i], delta, static_cast<std::int32_t>(i)) == bodies[i]);
  }

  // Uncompressed: encode_batch with and without the measured body sizes.
  bytes plain(format::batch_header_size + section);
  FUZZ_CHECK(format::encode_batch(plain.data(), recs, t, p, bodies.data()) == plain.size());
  {
    bytes again(plain.size());
    FUZZ_CHECK(format::encode_batch(again.data(), recs, t, p) == again.size());
    FUZZ_CHECK(again == plain);
  }
  check_batch(plain, compression::none, recs, t, p);

  // Compressed, as log::append builds them.
  bytes records_only(section);
  FUZZ_CHECK(format::put_records(records_only.data(), recs, t, bodies.data()) == records_only.data() + section);
  FUZZ_CHECK(std::memcmp(records_only.data(), plain.data() + format::batch_header_size, section) == 0);
  for (const compression c : {compression::lz4, compression::zstd}) {
    bytes packed(format::batch_header_size + codec::compressed_bound(c, section));
    const auto csize = codec::compress(c, records_only, packed.data() + format::batch_header_size);
    FUZZ_CHECK(csize.ok());
    packed.resize(format::batch_header_size + *csize);
    format::batch_params pc = p;
    pc.attributes = static_cast<std::uint16_t>(pc.attributes | static_cast<std::uint16_t>(c));
    const auto n = static_cast<std::int32_t>(recs.size());
    format::seal_batch(packed.data(), *csize, n, n - 1, pc, t.first, t.max);
    check_batch(packed, c, recs, t, p);
  }
  return 0;
}
