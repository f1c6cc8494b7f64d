// `franz dump` as a user runs it: the real binary on files that the library
// wrote (broker closed, so segments are sealed), healthy and then damaged
// byte by byte. Expected byte positions are computed here from the files
// themselves, so each case pins the exact position dump must name.
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "process_util.hpp"

namespace franz {

using namespace franz::test;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000;
const std::string zero_log = "00000000000000000000.log";
const std::string zero_index = "00000000000000000000.index";
const std::string zero_timeindex = "00000000000000000000.timeindex";

// A data directory with topic "t": 1 KiB segments (so there are sealed
// ones) and an index entry every ~100 bytes.
struct data_dir {
  temp_dir dir;
  manual_clock clk{t0};

  [[nodiscard]] std::string path() const { return dir.sub("data"); }
  [[nodiscard]] std::string part(const std::string& topic = "t") const { return path() + "/" + topic + "-0"; }
  [[nodiscard]] std::string file(const std::string& name, const std::string& topic = "t") const {
    return part(topic) + "/" + name;
  }

  [[nodiscard]] std::unique_ptr<broker> open() {
    return open_broker({.data_dir = path(), .clk = &clk, .background_maintenance = false});
  }
};

void create_topic(broker& b, const std::string& topic = "t") {
  REQUIRE_OK(b.create_topic(topic, 1, {{"segment.bytes", "1024"}, {"index.interval.bytes", "100"}}));
}

// Record i: key "key-i", value "value-i", headers h1 and h2 (null value),
// timestamp t0 + i.
void send_records(broker& b, int n, producer_config cfg, const std::string& topic = "t") {
  auto p = producer::create(b, std::move(cfg));
  REQUIRE_OK(p);
  const record_header hs[] = {{"h1", "x"}, {"h2", null_bytes}};
  for (int i = 0; i < n; ++i) {
    const std::string k = fmt::format("key-{}", i), v = fmt::format("value-{}", i);
    REQUIRE_OK((*p)->send({.topic = topic, .ts = timestamp{t0 + i}, .key = k, .value = v, .headers = hs}));
  }
  REQUIRE_OK((*p)->close());
}

// One batch per record (appended on send).
producer_config one_per_batch() {
  producer_config c;
  c.acks = ack::leader;
  c.linger_ms = 0;
  return c;
}

// n records of topic "t" in one-record batches, broker closed.
void fill(data_dir& d, int n = 30) {
  auto b = d.open();
  create_topic(*b);
  send_records(*b, n, one_per_batch());
  REQUIRE_OK(b->close());
}

struct batch_at {
  std::uint64_t pos, size;
  format::batch_header h;
};

// The whole, valid batches of a .log file, read with the format code.
std::vector<batch_at> batches_in(const std::string& path) {
  const std::string bytes = read_file(path);
  const auto* p = reinterpret_cast<const std::byte*>(bytes.data());
  std::vector<batch_at> out;
  std::uint64_t pos = 0;
  while (pos < bytes.size()) {
    const auto r = format::probe_batch(p + pos, bytes.size() - pos);
    if (r.kind != format::batch_probe::ok) break;
    out.push_back({pos, r.size, format::read_header(p + pos)});
    pos += r.size;
  }
  return out;
}

void patch(const std::string& path, std::uint64_t at, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  f.seekp(static_cast<std::streamoff>(at));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

template <class T>
std::string le_bytes(T v) {
  std::string s(sizeof v, '\0');
  format::store_le(reinterpret_cast<std::byte*>(s.data()), v);
  return s;
}

// Recomputes the checksum of the batch at b.pos (after a patch that should
// get past the checksum).
void reseal(const std::string& path, const batch_at& b) {
  std::string bytes = read_file(path);
  auto* p = reinterpret_cast<std::byte*>(bytes.data()) + b.pos;
  format::store_le(p + offsetof(format::batch_header, checksum), format::checksum_of(p, b.size));
  write_file(path, bytes);
}

std::vector<format::offset_entry> offset_entries(const std::string& path) {
  const std::string bytes = read_file(path);
  std::vector<format::offset_entry> out;
  for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8)
    out.push_back(format::offset_entry::load(reinterpret_cast<const std::byte*>(bytes.data()) + i));
  return out;
}

std::vector<format::time_entry> time_entries(const std::string& path) {
  const std::string bytes = read_file(path);
  std::vector<format::time_entry> out;
  for (std::size_t i = 0; i + 12 <= bytes.size(); i += 12)
    out.push_back(format::time_entry::load(reinterpret_cast<const std::byte*>(bytes.data()) + i));
  return out;
}

std::size_t count_prefix(const std::string& out, std::string_view prefix) {
  std::size_t n = 0;
  for (const auto& l : lines_of(out)) n += l.starts_with(prefix) ? 1 : 0;
  return n;
}

// The .log files of topic "t", oldest first.
std::vector<std::string> logs_of(const data_dir& d) {
  std::vector<std::string> out;
  for (const auto& n : list_files(d.part()))
    if (format::parse_file_name(n).kind == format::file_kind::log) out.push_back(d.file(n));
  return out;
}

// "1 entry", "2 entries" (dump's summaries).
std::string count_of(std::size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

bool has_line(const std::string& out, std::string_view line) {
  for (const auto& l : lines_of(out))
    if (l == line) return true;
  return false;
}

std::string batch_line(const batch_at& b, bool valid = true, std::string_view codec = "none") {
  return fmt::format(
      "baseOffset: {} lastOffset: {} count: {} position: {} CreateTime: {} size: {} magic: 1 compresscodec: {} "
      "crc: 0x{:016x} isvalid: {} producerId: {} producerEpoch: {} baseSequence: {} isTransactional: false "
      "isControl: false",
      b.h.base_offset, b.h.base_offset + b.h.last_offset_delta, b.h.record_count, b.pos, b.h.max_timestamp, b.size,
      codec, b.h.checksum, valid, b.h.producer_id, b.h.producer_epoch, b.h.base_sequence);
}

std::string corrupt_line(const std::string& path, std::uint64_t pos, std::string_view why) {
  return fmt::format("franz dump: CORRUPT_MESSAGE: {} at byte {}: {}\n", path, pos, why);
}

}  // namespace

// --- healthy files -----------------------------------------------------------------

TEST_CASE("dump of a healthy sealed segment prints one line per batch and a summary, exit 0", "[cli][dump]") {
  data_dir d;
  fill(d);
  REQUIRE(logs_of(d).size() >= 3);  // rolled: segment 0 is sealed
  const auto log = d.file(zero_log);
  const auto bs = batches_in(log);
  REQUIRE(bs.size() >= 5);
  REQUIRE(bs.size() == static_cast<std::size_t>(bs.back().h.base_offset + 1));
  const auto r = franz::test::franz(d.path(), {"dump", log});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.err.empty());  // no progress bar under a pipe
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == bs.size() + 3);
  CHECK(lines[0] == "Dumping " + log);
  CHECK(lines[1] == "Segment base offset: 0");
  for (std::size_t i = 0; i < bs.size(); ++i) CHECK(lines[i + 2] == batch_line(bs[i]));
  CHECK(lines.back() == fmt::format("Summary: {} batches, {} records, offsets 0 to {}, {} bytes of data", bs.size(),
                                    bs.size(), bs.size() - 1, file_size(log)));  // bs.size() >= 5: plural
}

TEST_CASE("--print-data-log prints every record's offset, timestamp, sizes, header keys, key and value",
          "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto log = d.file(zero_log);
  const auto r = franz::test::franz(d.path(), {"dump", "--print-data-log", log});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  const auto n = batches_in(log).size();
  CHECK(count_prefix(r.out, "| offset: ") == n);
  CHECK(has_line(r.out, "| offset: 3 CreateTime: 1700000000003 keySize: 5 valueSize: 7 headerKeys: [h1,h2] "
                        "key: key-3 payload: value-3"));
}

TEST_CASE("--print-data-log shows a null key as null and escapes non-printable bytes, keeping UTF-8 text",
          "[cli][dump]") {
  data_dir d;
  {
    auto b = d.open();
    create_topic(*b);
    auto p = producer::create(*b, one_per_batch());
    REQUIRE_OK(p);
    const std::string v = "a\x01" "b\n\\\xc3\xa9";  // 7 bytes: a, ^A, b, newline, backslash, é
    REQUIRE_OK((*p)->send({.topic = "t", .ts = timestamp{t0}, .value = v}));
    REQUIRE_OK((*p)->close());
    REQUIRE_OK(b->close());
  }
  const auto r = franz::test::franz(d.path(), {"dump", "--print-data-log", d.file(zero_log)});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(has_line(r.out, "| offset: 0 CreateTime: 1700000000000 keySize: -1 valueSize: 7 headerKeys: [] "
                        "key: null payload: a\\x01b\\n\\\\\xc3\xa9"));
}

TEST_CASE("--deep-iteration decompresses and decodes lz4 and zstd batches", "[cli][dump]") {
  const compression codec = GENERATE(compression::lz4, compression::zstd);
  const std::string name = codec == compression::lz4 ? "lz4" : "zstd";
  INFO(name);
  data_dir d;
  {
    auto b = d.open();
    create_topic(*b);
    producer_config c;
    c.acks = ack::leader;
    c.linger_ms = 60000;
    c.batch_size = 400;
    c.compression_type = codec;
    send_records(*b, 40, c);
    REQUIRE_OK(b->close());
  }
  const auto log = d.file(zero_log);
  const auto bs = batches_in(log);
  REQUIRE(!bs.empty());
  REQUIRE(bs[0].h.record_count > 1);
  const auto deep = franz::test::franz(d.path(), {"dump", "--deep-iteration", log});
  INFO(deep.err);
  REQUIRE(deep.rc == 0);
  CHECK(lines_of(deep.out)[2] == batch_line(bs[0], true, name));
  const auto data = franz::test::franz(d.path(), {"dump", "--print-data-log", log});
  REQUIRE(data.rc == 0);
  const auto last = bs.back().h.base_offset + bs.back().h.last_offset_delta;
  CHECK(count_prefix(data.out, "| offset: ") == static_cast<std::size_t>(last + 1));
  CHECK(has_line(data.out, fmt::format("| offset: {} CreateTime: {} keySize: {} valueSize: {} headerKeys: [h1,h2] "
                                       "key: key-{} payload: value-{}",
                                       last, t0 + last, fmt::format("key-{}", last).size(),
                                       fmt::format("value-{}", last).size(), last, last)));
}

TEST_CASE("--verify-index-only on a healthy partition prints one summary per file and exits 0", "[cli][dump]") {
  data_dir d;
  fill(d);
  std::vector<std::string> args{"dump", "--verify-index-only"};
  for (const auto& n : list_files(d.part()))
    if (format::parse_file_name(n).base_offset >= 0) args.push_back(d.file(n));
  REQUIRE(args.size() >= 2 + 9);  // three segments or more
  const auto idx = offset_entries(d.file(zero_index));
  REQUIRE(idx.size() >= 3);
  const auto r = franz::test::franz(d.path(), args);
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.err.empty());
  CHECK(lines_of(r.out).size() == args.size() - 2);
  CHECK(has_line(r.out, fmt::format("{}: {} entries, consistent with {}", d.file(zero_index), idx.size(), zero_log)));
}

TEST_CASE("an index dump prints every entry as offset and position, a time index as timestamp and offset",
          "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto idx = offset_entries(d.file(zero_index));
  const auto tidx = time_entries(d.file(zero_timeindex));
  REQUIRE(!idx.empty());
  REQUIRE(!tidx.empty());
  const auto r = franz::test::franz(d.path(), {"dump", d.file(zero_index), d.file(zero_timeindex)});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  std::vector<std::string> want{"Dumping " + d.file(zero_index)};
  for (const auto& e : idx) want.push_back(fmt::format("offset: {} position: {}", e.relative_offset, e.position));
  want.push_back(fmt::format("Summary: {}, consistent with {}", count_of(idx.size(), "entry", "entries"), zero_log));
  want.push_back("Dumping " + d.file(zero_timeindex));
  for (const auto& e : tidx) want.push_back(fmt::format("timestamp: {} offset: {}", e.timestamp, e.relative_offset));
  want.push_back(fmt::format("Summary: {}, consistent with {}", count_of(tidx.size(), "entry", "entries"), zero_log));
  CHECK(lines_of(r.out) == want);
}

TEST_CASE("dump reads the active segment while the broker has the directory open; its zeroed tail is the end",
          "[cli][dump]") {
  data_dir d;
  auto b = d.open();
  create_topic(*b);
  send_records(*b, 5, one_per_batch());
  const auto log = d.file(zero_log);
  const auto bs = batches_in(log);
  REQUIRE(bs.size() == 5);
  const std::uint64_t end = bs.back().pos + bs.back().size;
  const std::uint64_t size = file_size(log);
  REQUIRE(size > end);  // preallocated
  const auto r = franz::test::franz(d.path(), {"dump", "--deep-iteration", log});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(has_line(r.out, fmt::format("End of data at byte {}; the file's remaining {} bytes are preallocated space", end,
                                    size - end)));
  CHECK(count_prefix(r.out, "baseOffset: ") == 5);
  // The active indexes are preallocated too (zero-filled, the time index
  // not even a whole number of entries).
  const auto v =
      franz::test::franz(d.path(), {"dump", "--verify-index-only", d.file(zero_index), d.file(zero_timeindex)});
  INFO(v.err);
  CHECK(v.rc == 0);
  CHECK(v.err.empty());
  REQUIRE_OK(b->close());
}

// --- damaged logs ------------------------------------------------------------------

TEST_CASE("a flipped byte inside a batch of a sealed segment: --deep-iteration exits 4 naming the file and the "
          "batch's byte position",
          "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto log = d.file(zero_log);
  const auto bs = batches_in(log);
  REQUIRE(bs.size() >= 5);
  const auto& victim = bs[3];
  const std::string byte = read_file(log).substr(victim.pos + victim.size - 3, 1);
  patch(log, victim.pos + victim.size - 3, std::string(1, static_cast<char>(byte[0] ^ 0x10)));
  const auto r = franz::test::franz(d.path(), {"dump", "--deep-iteration", log});
  CHECK(r.rc == 4);
  CHECK(r.err == corrupt_line(log, victim.pos, "checksum mismatch"));
  // The damaged batch is shown as invalid, and nothing after it.
  const auto lines = lines_of(r.out);
  CHECK(lines.back() == batch_line(victim, false));
  CHECK(count_prefix(r.out, "baseOffset: ") == 4);
  SECTION("the default mode verifies checksums as well") {
    const auto plain = franz::test::franz(d.path(), {"dump", log});
    CHECK(plain.rc == 4);
    CHECK(plain.err == corrupt_line(log, victim.pos, "checksum mismatch"));
  }
}

TEST_CASE("bad magic in a batch header is corruption at that batch's position", "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto log = d.file(zero_log);
  const auto bs = batches_in(log);
  patch(log, bs[2].pos + offsetof(format::batch_header, magic), "\x02");
  const auto r = franz::test::franz(d.path(), {"dump", log});
  CHECK(r.rc == 4);
  CHECK(r.err == corrupt_line(log, bs[2].pos, "bad magic"));
  CHECK(count_prefix(r.out, "baseOffset: ") == 2);
}

TEST_CASE("a truncated file (torn last batch) is corruption at the torn batch's position", "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto log = d.file(zero_log);
  const auto bs = batches_in(log);
  std::filesystem::resize_file(log, file_size(log) - 5);
  const auto r = franz::test::franz(d.path(), {"dump", log});
  CHECK(r.rc == 4);
  CHECK(r.err == corrupt_line(log, bs.back().pos, "the batch runs past the end of the data"));
  SECTION("torn inside the header") {
    std::filesystem::resize_file(log, bs.back().pos + 30);
    const auto h = franz::test::franz(d.path(), {"dump", log});
    CHECK(h.rc == 4);
    CHECK(h.err == corrupt_line(log, bs.back().pos, "a partial batch header"));
  }
}

TEST_CASE("a batch whose base offset does not follow the previous batch is corruption (offsets must be dense)",
          "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto log = d.file(zero_log);
  const auto bs = batches_in(log);
  // base_offset is outside the checksum: only continuity can catch it.
  patch(log, bs[4].pos, le_bytes<std::int64_t>(2));
  const auto r = franz::test::franz(d.path(), {"dump", log});
  CHECK(r.rc == 4);
  CHECK(r.err == corrupt_line(log, bs[4].pos, "batch base offset 2 where 4 was expected (offsets must be dense)"));
}

TEST_CASE("the first batch must start at the segment's base offset from the file name", "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto log = logs_of(d).at(1);
  const auto bs = batches_in(log);
  REQUIRE(!bs.empty());
  const std::int64_t base = bs.front().h.base_offset;
  REQUIRE(log.ends_with(format::segment_file(base, ".log")));
  patch(log, 0, le_bytes<std::int64_t>(base - 1));
  const auto r = franz::test::franz(d.path(), {"dump", log});
  CHECK(r.rc == 4);
  CHECK(r.err == corrupt_line(log, 0, fmt::format("batch base offset {} where {} was expected (offsets must be dense)",
                                                  base - 1, base)));
}

TEST_CASE("a record that does not decode under a valid checksum is caught by --deep-iteration only", "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto log = d.file(zero_log);
  const auto bs = batches_in(log);
  // The record's attributes byte (after its one-byte length) must be zero.
  patch(log, bs[1].pos + format::batch_header_size + 1, "\x01");
  reseal(log, bs[1]);
  const auto plain = franz::test::franz(d.path(), {"dump", log});
  CHECK(plain.rc == 0);
  const auto deep = franz::test::franz(d.path(), {"dump", "--deep-iteration", log});
  CHECK(deep.rc == 4);
  CHECK(deep.err == corrupt_line(log, bs[1].pos, "a record does not decode: record attributes are not zero"));
}

TEST_CASE("a compressed section that does not decompress to its stated length is caught by --deep-iteration",
          "[cli][dump]") {
  data_dir d;
  {
    auto b = d.open();
    create_topic(*b);
    producer_config c;
    c.acks = ack::leader;
    c.linger_ms = 60000;
    c.compression_type = compression::zstd;
    send_records(*b, 10, c);
    REQUIRE_OK(b->close());
  }
  const auto log = d.file(zero_log);
  const auto bs = batches_in(log);
  REQUIRE(bs.size() == 1);
  const std::string bytes = read_file(log);
  const auto stated = format::load_le<std::uint32_t>(reinterpret_cast<const std::byte*>(bytes.data()) + 64);
  patch(log, format::batch_header_size, le_bytes<std::uint32_t>(stated + 1));
  reseal(log, bs[0]);
  CHECK(franz::test::franz(d.path(), {"dump", log}).rc == 0);
  const auto deep = franz::test::franz(d.path(), {"dump", "--deep-iteration", log});
  CHECK(deep.rc == 4);
  CHECK(deep.err ==
        corrupt_line(log, 0, "zstd records section: zstd section does not decompress to its stated length"));
}

TEST_CASE("after a damaged file dump goes on with the other files and exits 4 at the end", "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto bad = d.file(zero_log), good = logs_of(d).at(1);
  patch(bad, offsetof(format::batch_header, magic), "\x07");
  const auto r = franz::test::franz(d.path(), {"dump", bad, good});
  CHECK(r.rc == 4);
  CHECK(r.err == corrupt_line(bad, 0, "bad magic"));
  CHECK(has_line(r.out, "Dumping " + good));
  CHECK(lines_of(r.out).back().starts_with("Summary: "));
}

TEST_CASE("--max-bytes dumps only the whole batches within that many bytes", "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto log = d.file(zero_log);
  const auto bs = batches_in(log);
  const std::uint64_t limit = bs[3].pos + bs[3].size;
  const auto r = franz::test::franz(d.path(), {"dump", "--max-bytes", std::to_string(limit), log});
  REQUIRE(r.rc == 0);
  CHECK(count_prefix(r.out, "baseOffset: ") == 4);
  CHECK(has_line(r.out, fmt::format("Stopped at byte {}: --max-bytes {}", limit, limit)));
  const auto shorter = franz::test::franz(d.path(), {"dump", "--max-bytes", std::to_string(limit - 1), log});
  REQUIRE(shorter.rc == 0);
  CHECK(count_prefix(shorter.out, "baseOffset: ") == 3);
  CHECK(has_line(shorter.out, fmt::format("Stopped at byte {}: --max-bytes {}", bs[3].pos, limit - 1)));
}

// --- damaged indexes ---------------------------------------------------------------

TEST_CASE("an .index entry pointing past the end of the log: --verify-index-only exits 4 naming the index",
          "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto index = d.file(zero_index);
  REQUIRE(offset_entries(index).size() >= 2);
  const auto log_size = file_size(d.file(zero_log));
  patch(index, 8 + 4, le_bytes<std::uint32_t>(static_cast<std::uint32_t>(log_size + 100)));
  const auto r = franz::test::franz(d.path(), {"dump", "--verify-index-only", index});
  CHECK(r.rc == 4);
  CHECK(r.err == corrupt_line(index, 8,
                              fmt::format("entry 1: position {} is past the end of the log data ({} bytes in {})",
                                          log_size + 100, log_size, zero_log)));
  CHECK(r.out.empty());
}

TEST_CASE("an .index entry whose position decreases is corruption of the index", "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto index = d.file(zero_index);
  const auto es = offset_entries(index);
  REQUIRE(es.size() >= 3);
  patch(index, 2 * 8 + 4, le_bytes<std::uint32_t>(es[1].position - 1));
  const auto r = franz::test::franz(d.path(), {"dump", "--verify-index-only", index});
  CHECK(r.rc == 4);
  CHECK(r.err == corrupt_line(index, 16, fmt::format("entry 2: position {} decreases (the previous entry has {})",
                                                     es[1].position - 1, es[1].position)));
}

TEST_CASE("an .index entry whose offset does not increase is corruption of the index", "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto index = d.file(zero_index);
  const auto es = offset_entries(index);
  REQUIRE(es.size() >= 2);
  patch(index, 8, le_bytes<std::uint32_t>(es[0].relative_offset));
  const auto r = franz::test::franz(d.path(), {"dump", "--verify-index-only", index});
  CHECK(r.rc == 4);
  CHECK(r.err == corrupt_line(index, 8, fmt::format("entry 1: offset {} does not increase (the previous entry has {})",
                                                    es[0].relative_offset, es[0].relative_offset)));
}

TEST_CASE("an .index entry pointing inside a batch is not at a batch boundary", "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto index = d.file(zero_index);
  const auto es = offset_entries(index);
  const auto bs = batches_in(d.file(zero_log));
  REQUIRE(!es.empty());
  std::size_t k = 0;
  while (bs[k].pos != es[0].position) ++k;
  patch(index, 4, le_bytes<std::uint32_t>(es[0].position + 1));
  const auto r = franz::test::franz(d.path(), {"dump", index});
  CHECK(r.rc == 4);
  CHECK(r.err == corrupt_line(index, 0, fmt::format("entry 0: position {} is not at a batch boundary of {} (the next "
                                                    "batch starts at byte {})",
                                                    es[0].position + 1, zero_log, bs[k + 1].pos)));
  CHECK(lines_of(r.out).back() == fmt::format("offset: {} position: {}", es[0].relative_offset, es[0].position + 1));
}

TEST_CASE("an .index entry naming another offset than its batch's first is corruption", "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto index = d.file(zero_index);
  const auto es = offset_entries(index);
  REQUIRE(!es.empty());
  patch(index, 0, le_bytes<std::uint32_t>(es[0].relative_offset + 1));
  const auto r = franz::test::franz(d.path(), {"dump", "--verify-index-only", index});
  CHECK(r.rc == 4);
  const auto o = es[0].relative_offset;
  CHECK(r.err == corrupt_line(index, 0, fmt::format("entry 0: offset {} is not the first offset of the batch at "
                                                    "position {} (offsets {} to {})",
                                                    o + 1, es[0].position, o, o)));
}

TEST_CASE("a .timeindex entry naming an offset outside the segment is corruption", "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto tindex = d.file(zero_timeindex);
  const auto es = time_entries(tindex);
  const auto bs = batches_in(d.file(zero_log));
  REQUIRE(!es.empty());
  const std::size_t i = es.size() - 1;
  patch(tindex, i * 12 + 8, le_bytes<std::uint32_t>(es[i].relative_offset + 1000));
  const auto r = franz::test::franz(d.path(), {"dump", "--verify-index-only", tindex});
  CHECK(r.rc == 4);
  CHECK(r.err == corrupt_line(tindex, i * 12, fmt::format("entry {}: offset {} is outside the segment ({} holds "
                                                          "offsets 0 to {})",
                                                          i, es[i].relative_offset + 1000, zero_log,
                                                          bs.back().h.base_offset)));
}

TEST_CASE("a .timeindex entry with a timestamp below a record's before it is corruption", "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto tindex = d.file(zero_timeindex);
  const auto es = time_entries(tindex);
  REQUIRE(!es.empty());
  REQUIRE(es[0].timestamp == t0 + es[0].relative_offset);  // the largest timestamp up to its offset
  patch(tindex, 0, le_bytes<std::int64_t>(es[0].timestamp - 1));
  const auto r = franz::test::franz(d.path(), {"dump", "--verify-index-only", tindex});
  CHECK(r.rc == 4);
  CHECK(r.err == corrupt_line(tindex, 0, fmt::format("entry 0: timestamp {} is below the largest timestamp {} at or "
                                                     "before offset {}",
                                                     es[0].timestamp - 1, es[0].timestamp, es[0].relative_offset)));
}

TEST_CASE("a non-zero partial entry at the end of an index is corruption; a zeroed tail is preallocation",
          "[cli][dump]") {
  data_dir d;
  fill(d);
  const auto index = d.file(zero_index);
  const auto n = offset_entries(index).size();
  SECTION("zeroed tail") {
    std::filesystem::resize_file(index, n * 8 + 4096 + 3);
    const auto r = franz::test::franz(d.path(), {"dump", "--verify-index-only", index});
    CHECK(r.rc == 0);
    CHECK(r.out == fmt::format("{}: {}, consistent with {}; {} bytes of preallocated space\n", index,
                               count_of(n, "entry", "entries"), zero_log, 4096 + 3));
  }
  SECTION("garbage tail") {
    patch(index, n * 8, "\x01\x02\x03");
    const auto r = franz::test::franz(d.path(), {"dump", "--verify-index-only", index});
    CHECK(r.rc == 4);
    CHECK(r.err == corrupt_line(index, n * 8, "a partial entry at the end of the file"));
  }
}

// --- __consumer_offsets ----------------------------------------------------------

// Group g1 commits offset 3 (metadata "meta") of t-0, then the group is
// deleted (a tombstone). Returns the __consumer_offsets log.
std::string commit_then_delete_group(data_dir& d) {
  auto b = d.open();
  create_topic(*b);
  send_records(*b, 5, one_per_batch());
  consumer_config cc;
  cc.group_id = "g1";
  cc.enable_auto_commit = false;
  auto c = consumer::create(*b, cc);
  REQUIRE_OK(c);
  REQUIRE_OK((*c)->assign({{"t", 0}}));
  REQUIRE_OK((*c)->commit_sync({{{"t", 0}, {offset{3}, "meta"}}}));
  REQUIRE_OK((*c)->close());
  REQUIRE_OK(b->groups().delete_group("g1"));
  REQUIRE_OK(b->close());
  return d.file(zero_log, std::string(offsets_topic));
}

TEST_CASE("--offsets-decoder shows a group's committed offsets and their tombstones", "[cli][dump]") {
  data_dir d;
  const auto log = commit_then_delete_group(d);
  const auto r = franz::test::franz(d.path(), {"dump", "--offsets-decoder", log});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  const auto records = [&] {
    std::vector<std::string> out;
    for (const auto& l : lines_of(r.out))
      if (l.starts_with("| ")) out.push_back(l.substr(l.find("key: ")));
    return out;
  }();
  CHECK(records == std::vector<std::string>{
                       "key: group=g1 topic=t partition=0 payload: offset=3 metadata=meta commitTime=1700000000000",
                       "key: group=g1 topic=t partition=0 payload: tombstone (the commit is deleted)"});
}

TEST_CASE("--offsets-decoder: a __consumer_offsets record that does not decode is damage", "[cli][dump]") {
  data_dir d;
  const auto log = commit_then_delete_group(d);
  const auto bs = batches_in(log);
  REQUIRE(bs.size() == 2);
  REQUIRE(bs[0].h.record_count == 1);
  // The key's u16 version follows the record's length, attributes,
  // timestamp delta, offset delta and key length (one byte each here).
  const std::uint64_t key_at = bs[0].pos + format::batch_header_size + 5;
  REQUIRE(read_file(log).substr(key_at, 2) == std::string("\x01\x00", 2));
  patch(log, key_at, le_bytes<std::uint16_t>(7));
  reseal(log, bs[0]);
  const auto r = franz::test::franz(d.path(), {"dump", "--offsets-decoder", log});
  CHECK(r.rc == 4);
  CHECK(r.err == corrupt_line(log, 0, "offset 0: __consumer_offsets record: key version 7 is not an offset key"));
  CHECK(franz::test::franz(d.path(), {"dump", "--deep-iteration", log}).rc == 0);  // a valid record to the format
}

TEST_CASE("--offsets-decoder on an ordinary topic prints records it cannot decode, without calling them damage",
          "[cli][dump]") {
  data_dir d;
  fill(d, 3);
  const auto r = franz::test::franz(d.path(), {"dump", "--offsets-decoder", d.file(zero_log)});
  REQUIRE(r.rc == 0);
  CHECK(count_prefix(r.out, "| offset: ") == 3);
  CHECK(r.out.find("(not a committed offset: __consumer_offsets record: key version 25963 is not an offset key) "
                   "key: key-0 payload: value-0") != std::string::npos);
}

// --- the command line --------------------------------------------------------------

TEST_CASE("a missing file exits 3 with a one-line error; the other files are still dumped", "[cli][dump]") {
  data_dir d;
  fill(d, 3);
  const auto missing = d.file("00000000000000000099.log");
  const auto r = franz::test::franz(d.path(), {"dump", missing, d.file(zero_log)});
  CHECK(r.rc == 3);
  CHECK(r.err == fmt::format("franz dump: {}: no such file\n", missing));
  CHECK(has_line(r.out, "Dumping " + d.file(zero_log)));
}

TEST_CASE("an index whose sibling .log is missing exits 3 naming the .log", "[cli][dump]") {
  data_dir d;
  fill(d, 3);
  std::filesystem::remove(d.file(zero_log));
  const auto r = franz::test::franz(d.path(), {"dump", "--verify-index-only", d.file(zero_timeindex)});
  CHECK(r.rc == 3);
  CHECK(r.err == fmt::format("franz dump: {}: no such file\n", d.file(zero_log)));
}

TEST_CASE("a file with an unknown extension exits 2 before anything is dumped", "[cli][dump]") {
  data_dir d;
  fill(d, 3);
  const auto r = franz::test::franz(d.path(), {"dump", d.file(zero_log), d.file("partition.checkpoint")});
  CHECK(r.rc == 2);
  CHECK(r.out.empty());
  CHECK(r.err == fmt::format("franz dump: {}: unknown file type (expected .log, .index or .timeindex)\n",
                             d.file("partition.checkpoint")));
  SECTION("a .log whose name is not a base offset") {
    const auto odd = franz::test::franz(d.path(), {"dump", d.dir.sub("notes.log")});
    CHECK(odd.rc == 2);
  }
}

TEST_CASE("dump without files exits 2", "[cli][dump]") {
  temp_dir d;
  const auto r = franz::test::franz(d.path(), {"dump"});
  CHECK(r.rc == 2);
  CHECK(r.out.empty());
  CHECK(lines_of(r.err).size() == 1);
}

TEST_CASE("franz dump --help exits 0 and documents --deep-iteration", "[cli][dump]") {
  temp_dir d;
  const auto r = franz::test::franz(d.path(), {"dump", "--help"});
  CHECK(r.rc == 0);
  CHECK(r.out.find("--deep-iteration") != std::string::npos);
  CHECK(r.out.find("--verify-index-only") != std::string::npos);
}

}  // namespace franz
