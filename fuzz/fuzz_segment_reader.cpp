// fuzz_segment_reader — a partition directory of hostile files opened with
// the public storage API (franz::log, include/franz/storage/log.hpp):
// recovery, then every record read from the log start, reads at sampled
// offsets, offsets_for_time lookups, and optionally an append, close and
// reopen.
//
// Input: a header, then files until the input ends.
//   u8 flags: bit 0 verify_all, bit 1 repair, bit 2 append + close + reopen,
//     bit 3 LogAppendTime, bits 4-5 index.interval.bytes (0, 64, 256, 4096),
//     bit 6 segment.index.bytes 64 (else 4096), bit 7 zstd for the append
//   i64 base offsets of segment slots 0..3 (masked to [0, 2^62))
//   per file: u8 tag, u16 length, bytes
//     tag bits 0-2: 0 .log, 1 .index, 2 .timeindex, 3 partition.checkpoint,
//                   4 partition.checkpoint.tmp, 5 .index.tmp, 6-7 .log
//     tag bits 3-4: the segment slot (for segment files)
//
// Asserted beyond "no crash": log_start <= durable <= log_end; the segment
// list is dense and ends at log_end; a read inside [log_start, log_end) is
// either CORRUPT_MESSAGE or non-empty, starts with the batch holding the
// requested offset, and every batch it returns passes its checksum (the
// target re-computes it); records come back at or above the requested
// offset, in strictly increasing order, below log_end; a read bounded by
// max_offset ends below it; offsets_for_time answers a record in range
// with a timestamp >= the target. With bit 2: the append succeeds and reads
// back, and a close + reopen keeps log_start and log_end (a reopen may
// refuse with CORRUPT_MESSAGE only if the reads met damage: damage below
// the recovery point is not re-validated by the first open).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "franz/format/file_names.hpp"
#include "franz/storage/log.hpp"
#include "fuzz_util.hpp"

namespace {

using namespace franz;

constexpr std::size_t read_bytes = 1 << 16;

bool checksum_ok(const batch_view& b) {
  return XXH3_64bits(b.bytes().data() + format::checksummed_from, b.size() - format::checksummed_from) ==
         b.header().checksum;
}

// FRANZ_FUZZ_VERBOSE=1 prints what the log looks like (for reproducing).
bool verbose() {
  static const bool v = std::getenv("FRANZ_FUZZ_VERBOSE") != nullptr;
  return v;
}

struct seen_record {
  std::int64_t off;
  std::int64_t ts;
};

// One read at `from`; checks it and returns the records it holds (at or
// above from), and in *next_after the offset after its last batch. Returns
// nullopt when the read or its records are damaged.
std::optional<std::vector<seen_record>> read_at(const franz::log& lg, offset from, std::size_t max_bytes,
                                                std::optional<offset> max_offset, std::int64_t* next_after) {
  const std::int64_t end = lg.log_end_offset().value();
  const auto r = lg.read(from, max_bytes, max_offset);
  if (verbose())
    std::fprintf(stderr, "read(%lld, %zu, max %lld): %s, %zu bytes\n", static_cast<long long>(from.value()), max_bytes,
                 static_cast<long long>(max_offset ? max_offset->value() : -1),
                 r.ok() ? "ok" : r.error().to_string().c_str(), r.ok() ? r->bytes().size() : 0);
  if (!r.ok()) {
    FUZZ_CHECK(r.code() == errc::corrupt_message);
    return std::nullopt;
  }
  const std::int64_t limit = max_offset ? std::min(max_offset->value(), end) : end;
  if (from.value() >= limit) {
    FUZZ_CHECK(r->empty());
    return std::vector<seen_record>{};
  }
  if (!max_offset && r->empty()) {
    // Known bug 1: a trusted segment's batch whose damaged header claims a
    // last offset at or past the log end makes read() return nothing (not
    // CORRUPT_MESSAGE) for every offset in it.
    FUZZ_CHECK(!franz::fuzz::strict());
    return std::nullopt;
  }
  if (r->empty()) return std::vector<seen_record>{};

  auto br = r->batches();
  batch_view b;
  bool first = true;
  std::int64_t next = from.value();
  while (br.next(b)) {
    FUZZ_CHECK(checksum_ok(b));
    if (first) FUZZ_CHECK(b.base_offset() <= from && from <= b.last_offset());
    first = false;
    FUZZ_CHECK(b.last_offset().value() < limit);
    next = b.next_offset().value();
  }
  if (!br.status().ok()) {
    FUZZ_CHECK(br.status().code() == errc::corrupt_message);
    return std::nullopt;
  }
  FUZZ_CHECK(!first);
  if (next_after) *next_after = next;

  std::vector<seen_record> out;
  auto rr = r->records();
  record_view v;
  std::int64_t prev = from.value() - 1;
  while (rr.next(v)) {
    FUZZ_CHECK(checksum_ok(rr.batch()));
    FUZZ_CHECK(v.off.value() > prev && v.off.value() < limit && v.off <= rr.batch().last_offset());
    prev = v.off.value();
    out.push_back({v.off.value(), v.ts.value()});
  }
  if (!rr.status().ok()) {
    FUZZ_CHECK(rr.status().code() == errc::corrupt_message || rr.status().code() == errc::unsupported_compression_type);
    return std::nullopt;
  }
  return out;
}

// Checks lg; returns whether every record from the log start to the log
// end read back without damage.
bool check_log(const franz::log& lg, std::vector<seen_record>& seen) {
  const std::int64_t start = lg.log_start_offset().value();
  const std::int64_t durable = lg.durable_offset().value();
  const std::int64_t end = lg.log_end_offset().value();
  if (verbose()) {
    std::fprintf(stderr, "log: start %lld durable %lld end %lld; recovery: %s\n", static_cast<long long>(start),
                 static_cast<long long>(durable), static_cast<long long>(end), lg.recovery().detail.c_str());
    for (const auto& s : lg.segments())
      std::fprintf(stderr, "  segment %lld..%lld, %llu bytes, max ts %lld, %zu + %zu index entries\n",
                   static_cast<long long>(s.base_offset.value()), static_cast<long long>(s.next_offset.value()),
                   static_cast<unsigned long long>(s.bytes), static_cast<long long>(s.max_timestamp.value()),
                   s.index_entries, s.time_index_entries);
  }
  FUZZ_CHECK(0 <= start && start <= durable && durable <= end);

  const auto segs = lg.segments();
  FUZZ_CHECK(!segs.empty());
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    FUZZ_CHECK(segs[i].next_offset >= segs[i].base_offset);
    if (i + 1 < segs.size()) FUZZ_CHECK(segs[i].next_offset == segs[i + 1].base_offset);
    total += segs[i].bytes;
  }
  FUZZ_CHECK(segs.back().next_offset.value() == end);
  FUZZ_CHECK(lg.size_bytes() == total);

  // Everything, from the log start.
  bool clean = true;
  std::int64_t next = start;
  std::int64_t prev = start - 1;
  while (next < end) {
    std::int64_t after = next;
    const auto recs = read_at(lg, offset{next}, read_bytes, std::nullopt, &after);
    if (!recs) {
      clean = false;
      break;
    }
    for (const auto& r : *recs) {
      FUZZ_CHECK(r.off > prev);
      prev = r.off;
      if (seen.size() < 4096) seen.push_back(r);
    }
    FUZZ_CHECK(after > next);
    next = after;
  }

  // Reads at sampled offsets: one byte (one batch), and bounded by the
  // durable offset.
  const std::int64_t span = end - start;
  for (std::int64_t k = 0; k <= 32; ++k) {
    const std::int64_t o = start + span / 32 * k;
    (void)read_at(lg, offset{o}, 1, std::nullopt, nullptr);
    (void)read_at(lg, offset{o}, read_bytes, lg.durable_offset(), nullptr);
  }
  (void)read_at(lg, offset{end}, 1, std::nullopt, nullptr);
  if (end > start) (void)read_at(lg, offset{end - 1}, 1, std::nullopt, nullptr);
  if (start > 0) FUZZ_CHECK(lg.read(offset{start - 1}, read_bytes).code() == errc::offset_out_of_range);
  if (end < INT64_MAX) FUZZ_CHECK(lg.read(offset{end + 1}, read_bytes).code() == errc::offset_out_of_range);

  // Time lookups at the timestamps seen, their neighbours and the extremes.
  std::set<std::int64_t> targets{0, 1, INT64_MAX};
  for (const auto& r : seen) {
    if (targets.size() > 96) break;
    if (r.ts >= 0) targets.insert(r.ts);
    if (r.ts >= 0 && r.ts < INT64_MAX) targets.insert(r.ts + 1);
    if (r.ts > 0) targets.insert(r.ts - 1);
  }
  for (const std::int64_t t : targets) {
    const auto found = lg.offsets_for_time(timestamp{t});
    if (!found.ok()) {
      FUZZ_CHECK(found.code() == errc::corrupt_message);
      continue;
    }
    if (!*found) continue;
    const auto& hit = **found;
    if (verbose())
      std::fprintf(stderr, "offsets_for_time(%lld): offset %lld ts %lld\n", static_cast<long long>(t),
                   static_cast<long long>(hit.off.value()), static_cast<long long>(hit.ts.value()));
    FUZZ_CHECK(hit.ts.value() >= t);
    // Known bug 2: offsets_for_time reads from the time index's position
    // without checking the batch's base offset (outside the checksum), so
    // a damaged one in a trusted segment comes back as the answer.
    if (!(hit.off.value() >= start && hit.off.value() < end)) FUZZ_CHECK(!franz::fuzz::strict());
  }
  const auto latest = lg.offsets_for_time(latest_timestamp);
  FUZZ_CHECK(latest.ok() && *latest && (*latest)->off.value() == end);
  const auto earliest = lg.offsets_for_time(earliest_timestamp);
  FUZZ_CHECK(earliest.ok() && *earliest && (*earliest)->off.value() == start);
  FUZZ_CHECK(lg.offsets_for_time(timestamp{-3}).code() == errc::invalid_timestamp);
  return clean;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  franz::fuzz::input in(data, size);
  const std::uint8_t flags = in.byte();
  std::int64_t bases[4];
  // Bases below 2^62: segment offsets then stay far from INT64_MAX, where
  // storage code overflows (fuzz/README.md, known bugs).
  for (auto& b : bases) b = in.take<std::int64_t>() & (franz::fuzz::strict() ? INT64_MAX : (std::int64_t{1} << 62) - 1);

  const auto& dir = franz::fuzz::scratch_dir::instance();
  while (!in.empty()) {
    const std::uint8_t tag = in.byte();
    const auto bytes = in.bytes(in.take<std::uint16_t>());
    const std::int64_t base = bases[(tag >> 3) & 3];
    std::string name;
    switch (tag & 7) {
      case 1:
        name = format::segment_file(base, format::index_suffix);
        break;
      case 2:
        name = format::segment_file(base, format::time_index_suffix);
        break;
      case 3:
        name = std::string(format::checkpoint_file);
        break;
      case 4:
        name = std::string(format::checkpoint_file) + std::string(format::tmp_suffix);
        break;
      case 5:
        name = format::segment_file(base, format::index_suffix) + std::string(format::tmp_suffix);
        break;
      default:
        name = format::segment_file(base, format::log_suffix);
        break;
    }
    franz::fuzz::write_file(dir.sub(name), bytes);
  }

  static const manual_clock clk(1'700'000'000'000);
  log_options o;
  o.clk = &clk;
  o.create_if_missing = false;
  o.verify_all = flags & 1;
  o.repair = flags & 2;
  o.config.segment_bytes = 16 << 10;
  o.config.retention_ms = -1;
  constexpr std::int64_t intervals[] = {0, 64, 256, 4096};
  o.config.index_interval_bytes = intervals[(flags >> 4) & 3];
  o.config.segment_index_bytes = (flags & 0x40) ? 64 : 4096;
  if (flags & 8) o.config.message_timestamp_type = timestamp_type::log_append_time;
  if (flags & 0x80) o.config.compression_type = compression::zstd;

  {
    auto lg = franz::log::open(dir.path(), o);
    if (lg.ok()) {
      std::vector<seen_record> seen;
      const bool clean = check_log(**lg, seen);
      const std::int64_t start = (*lg)->log_start_offset().value();
      const std::int64_t end = (*lg)->log_end_offset().value();
      // A log end at INT64_MAX (reachable through a checkpoint's log start)
      // leaves no offset for a record: OFFSET_OUT_OF_RANGE (fuzz/README.md,
      // bug 4), never an overflow.
      if ((flags & 4) && end == INT64_MAX) {
        FUZZ_CHECK((*lg)->append(record{.key = "fuzz-key", .value = "fuzz-value"}).code() ==
                   errc::offset_out_of_range);
      } else if ((flags & 4) && (franz::fuzz::strict() || end < INT64_MAX - (std::int64_t{1} << 32))) {
        const auto a = (*lg)->append(record{.key = "fuzz-key", .value = "fuzz-value"});
        if (!a.ok()) std::fprintf(stderr, "append: %s\n", a.error().to_string().c_str());
        FUZZ_CHECK(a.ok());
        FUZZ_CHECK(a->base_offset.value() == end && (*lg)->log_end_offset().value() == end + 1);
        const auto r = (*lg)->read(offset{end}, read_bytes);
        FUZZ_CHECK(r.ok());
        auto rr = r->records();
        record_view v;
        FUZZ_CHECK(rr.next(v));
        FUZZ_CHECK(v.off.value() == end && v.key == "fuzz-key" && v.value == "fuzz-value");
        const auto closed = (*lg)->close();
        if (!closed.ok()) std::fprintf(stderr, "close: %s\n", closed.error().to_string().c_str());
        FUZZ_CHECK(closed.ok());
        lg->reset();
        o.verify_all = false;
        o.repair = false;
        auto again = franz::log::open(dir.path(), o);
        // Damage in a trusted segment (below the recovery point) is found
        // only by the reads; a reopen that validates it may refuse it. A
        // log that read back whole must reopen.
        if (!again.ok()) {
          const bool expected = !clean && again.code() == errc::corrupt_message;
          if (!expected || verbose())
            std::fprintf(stderr, "reopen after close: %s\n", again.error().to_string().c_str());
          FUZZ_CHECK(expected);
        } else {
          FUZZ_CHECK((*again)->log_start_offset().value() == start);
          FUZZ_CHECK((*again)->log_end_offset().value() == end + 1);
          seen.clear();
          (void)check_log(**again, seen);
        }
      }
    }
  }
  dir.clear();
  return 0;
}
