// Log behaviour through the public API: offsets, reads, rolls, index
// lookups, time lookups, retention, delete_records, truncate_to, reopen,
// locking, permissions, export, compression and bad input.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "test_util.hpp"

namespace franz {

using namespace franz::test;  // temp_dir, make_record, read_all, opts_for, ...

namespace {

std::unique_ptr<log> open_log(const std::string& dir, log_options opts = {}) {
  auto l = log::open(dir, opts);
  INFO((l.ok() ? std::string() : l.error().to_string()));
  REQUIRE(l.ok());
  return std::move(*l);
}

// Appends `batches` batches of `per_batch` records; returns what was written.
std::vector<owned_record> fill(log& l, int batches, int per_batch, std::size_t value_size = 20, std::int64_t ts = -1) {
  std::vector<owned_record> all;
  for (int b = 0; b < batches; ++b) {
    std::vector<owned_record> owned;
    std::vector<record> recs;
    for (int i = 0; i < per_batch; ++i) {
      owned.push_back(make_record(static_cast<std::int64_t>(all.size() + owned.size()), value_size, ts));
    }
    for (auto& o : owned) recs.push_back(o.view());
    auto r = l.append(recs);
    INFO((r.ok() ? std::string() : r.error().to_string()));
    REQUIRE(r.ok());
    all.insert(all.end(), owned.begin(), owned.end());
  }
  return all;
}

void require_same(const std::vector<test::read_record>& got, const std::vector<owned_record>& want,
                  std::int64_t first_offset = 0) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    REQUIRE(got[i].off == first_offset + static_cast<std::int64_t>(i));
    REQUIRE(got[i].key == want[i].key);
    REQUIRE(got[i].value == want[i].value);
  }
}

}  // namespace

TEST_CASE("append assigns dense offsets from zero and reads return every byte", "[log]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  REQUIRE(l->log_end_offset() == offset{0});
  std::vector<owned_record> all;
  for (int b = 1; b <= 20; ++b) {
    auto part = fill(*l, 1, b);
    auto info = l->log_end_offset();
    REQUIRE(info.value() == static_cast<std::int64_t>(all.size() + part.size()));
    all.insert(all.end(), part.begin(), part.end());
  }
  // Re-key: fill numbers records per call, so compare by position.
  auto got = read_all(*l);
  REQUIRE(got.size() == all.size());
  for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i].off == static_cast<std::int64_t>(i));
}

TEST_CASE("append returns the base and last offsets of the batch", "[log]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  fill(*l, 1, 3);
  owned_record a = make_record(100), b = make_record(101);
  const record recs[] = {a.view(), b.view()};
  auto info = l->append(recs);
  REQUIRE(info.ok());
  CHECK(info->base_offset == offset{3});
  CHECK(info->last_offset == offset{4});
  CHECK(info->bytes > 0);
}

TEST_CASE("null key, empty value and headers survive the round trip", "[log]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  const record_header hs[] = {{"trace", "abc"}, {"nullval", null_bytes}, {"", ""}};
  const record recs[] = {
      {.key = null_bytes, .value = "v"},
      {.key = "k", .value = ""},
      {.key = "k2", .value = null_bytes, .headers = hs},
  };
  REQUIRE(l->append(recs).ok());
  auto rd = l->read(offset{0}, 1 << 20);
  REQUIRE(rd.ok());
  auto rr = rd->records();
  record_view v;
  REQUIRE(rr.next(v));
  CHECK(v.key.data() == nullptr);
  CHECK(v.value == "v");
  REQUIRE(rr.next(v));
  CHECK(v.key == "k");
  CHECK(v.value.data() != nullptr);
  CHECK(v.value.empty());
  REQUIRE(rr.next(v));
  CHECK(v.value.data() == nullptr);
  REQUIRE(v.header_count == 3);
  header_iterator hi(v);
  record_header h;
  REQUIRE(hi.next(h));
  CHECK(h.key == "trace");
  CHECK(h.value == "abc");
  REQUIRE(hi.next(h));
  CHECK(h.key == "nullval");
  CHECK(h.value.data() == nullptr);
  REQUIRE(hi.next(h));
  CHECK(h.key.empty());
  CHECK(h.value.data() != nullptr);
  CHECK_FALSE(hi.next(h));
  CHECK_FALSE(rr.next(v));
  CHECK(rr.status().ok());
}

TEST_CASE("record timestamps: explicit ones are kept, missing ones get the clock's now", "[log]") {
  temp_dir d;
  manual_clock clk(1'000'000);
  auto l = open_log(d.sub("t-0"), opts_for(small_config(), &clk));
  owned_record a = make_record(0, 10, 5'000), b = make_record(1, 10, -1), c = make_record(2, 10, 4'000);
  const record recs[] = {a.view(), b.view(), c.view()};
  auto info = l->append(recs);
  REQUIRE(info.ok());
  CHECK(info->max_timestamp == timestamp{1'000'000});
  auto got = read_all(*l);
  REQUIRE(got.size() == 3);
  CHECK(got[0].ts == 5'000);
  CHECK(got[1].ts == 1'000'000);
  CHECK(got[2].ts == 4'000);
}

TEST_CASE("LogAppendTime replaces every record timestamp with the append time", "[log]") {
  temp_dir d;
  manual_clock clk(2'000'000);
  auto cfg = small_config();
  cfg.message_timestamp_type = timestamp_type::log_append_time;
  auto l = open_log(d.sub("t-0"), opts_for(cfg, &clk));
  owned_record a = make_record(0, 10, 5), b = make_record(1, 10, 7);
  const record recs[] = {a.view(), b.view()};
  REQUIRE(l->append(recs).ok());
  // A pre-encoded batch gets the append time too.
  clk.advance(10);
  std::vector<std::byte> buf(1024);
  owned_record keep = make_record(2, 10, 9);
  const record one[] = {keep.view()};
  const auto t = format::times_of(one, 0);
  const std::size_t n = format::encode_batch(buf.data(), one, t, {});
  REQUIRE(l->append_batch(std::span<const std::byte>(buf.data(), n)).ok());
  auto got = read_all(*l);
  REQUIRE(got.size() == 3);
  CHECK(got[0].ts == 2'000'000);
  CHECK(got[1].ts == 2'000'000);
  CHECK(got[2].ts == 2'000'010);
}

TEST_CASE("reading at the log end is empty; past it or below the start is OFFSET_OUT_OF_RANGE", "[log]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  fill(*l, 2, 5);
  auto at_end = l->read(offset{10}, 4096);
  REQUIRE(at_end.ok());
  CHECK(at_end->empty());
  CHECK(l->read(offset{11}, 4096).code() == errc::offset_out_of_range);
  CHECK(l->read(offset{-1}, 4096).code() == errc::offset_out_of_range);
  REQUIRE(l->delete_records(offset{3}).ok());
  CHECK(l->read(offset{2}, 4096).code() == errc::offset_out_of_range);
  CHECK(l->read(offset{3}, 4096).ok());
}

TEST_CASE("a read smaller than one batch still returns that whole batch", "[log]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  fill(*l, 3, 50, 100);
  auto rd = l->read(offset{0}, 1);
  REQUIRE(rd.ok());
  auto br = rd->batches();
  batch_view b;
  REQUIRE(br.next(b));
  CHECK(b.base_offset() == offset{0});
  CHECK(b.record_count() == 50);
  CHECK_FALSE(br.next(b));  // only one batch fits "1 byte"
  CHECK(br.status().ok());
}

TEST_CASE("a read without at_least_one returns only whole batches that fit, possibly none", "[log]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  fill(*l, 3, 50, 100);
  auto none = l->read(offset{0}, 1, std::nullopt, /*at_least_one=*/false);
  REQUIRE(none.ok());
  CHECK(none->empty());
  auto all = l->read(offset{0}, 1 << 20);
  REQUIRE(all.ok());
  std::vector<std::size_t> sizes;
  auto br = all->batches();
  batch_view b;
  while (br.next(b)) sizes.push_back(b.bytes().size());
  REQUIRE(sizes.size() == 3);
  auto two = l->read(offset{0}, sizes[0] + sizes[1] + sizes[2] / 2, std::nullopt, false);
  REQUIRE(two.ok());
  CHECK(two->bytes().size() == sizes[0] + sizes[1]);  // the third batch does not fit
}

TEST_CASE("a read from the middle of a batch returns the batch and the reader skips earlier records", "[log]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  fill(*l, 2, 10);
  auto rd = l->read(offset{13}, 1 << 20);
  REQUIRE(rd.ok());
  batch_view b;
  auto br = rd->batches();
  REQUIRE(br.next(b));
  CHECK(b.base_offset() == offset{10});
  auto rr = rd->records();
  record_view v;
  REQUIRE(rr.next(v));
  CHECK(v.off == offset{13});
}

TEST_CASE("max_offset bounds a read to whole batches below it (durable reads)", "[log]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  fill(*l, 1, 5);
  REQUIRE(l->flush().ok());
  fill(*l, 1, 5);
  CHECK(l->durable_offset() == offset{5});
  CHECK(l->log_end_offset() == offset{10});
  auto rd = l->read(offset{0}, 1 << 20, l->durable_offset());
  REQUIRE(rd.ok());
  auto rr = rd->records();
  record_view v;
  int n = 0;
  while (rr.next(v)) ++n;
  CHECK(n == 5);
  auto beyond = l->read(offset{5}, 1 << 20, l->durable_offset());
  REQUIRE(beyond.ok());
  CHECK(beyond->empty());
}

TEST_CASE("roll on segment.bytes: every sealed segment stays within segment.bytes", "[log][roll]") {
  temp_dir d;
  auto cfg = small_config(2048);
  auto l = open_log(d.sub("t-0"), opts_for(cfg));
  auto all = fill(*l, 60, 3, 40);
  auto segs = l->segments();
  REQUIRE(segs.size() > 5);
  for (std::size_t i = 0; i < segs.size(); ++i) {
    CHECK(segs[i].bytes <= 2048);
    if (i + 1 < segs.size()) {
      CHECK(segs[i].next_offset == segs[i + 1].base_offset);
      // Sealed: the .log file is trimmed to its data.
      CHECK(test::file_size(d.sub("t-0/" + format::segment_file(segs[i].base_offset.value(), ".log"))) ==
            segs[i].bytes);
    }
  }
  require_same(read_all(*l), all);
}

TEST_CASE("roll on segment.ms: the first append after segment.ms starts a new segment", "[log][roll]") {
  temp_dir d;
  manual_clock clk;
  auto cfg = small_config(1 << 20);
  cfg.segment_ms = 1000;
  auto l = open_log(d.sub("t-0"), opts_for(cfg, &clk));
  fill(*l, 3, 2);
  clk.advance(999);
  fill(*l, 1, 2);
  CHECK(l->segments().size() == 1);
  clk.advance(1);
  fill(*l, 1, 2);
  REQUIRE(l->segments().size() == 2);
  CHECK(l->segments()[1].base_offset == offset{8});
}

TEST_CASE("roll on segment.ms also happens from tick() without an append", "[log][roll]") {
  temp_dir d;
  manual_clock clk;
  auto cfg = small_config(1 << 20);
  cfg.segment_ms = 1000;
  auto l = open_log(d.sub("t-0"), opts_for(cfg, &clk));
  fill(*l, 1, 2);
  REQUIRE(l->tick().ok());
  CHECK(l->segments().size() == 1);
  clk.advance(1000);
  REQUIRE(l->tick().ok());
  CHECK(l->segments().size() == 2);
}

TEST_CASE("roll when the offset index is full", "[log][roll]") {
  temp_dir d;
  auto cfg = small_config(1 << 20);
  cfg.segment_index_bytes = 48;  // 6 offset entries
  cfg.index_interval_bytes = 0;  // an entry for every batch after the first
  auto l = open_log(d.sub("t-0"), opts_for(cfg));
  // One timestamp for all, so the time index never fills first.
  auto all = fill(*l, 30, 1, 20, 1'000);
  auto segs = l->segments();
  REQUIRE(segs.size() >= 4);
  for (std::size_t i = 0; i + 1 < segs.size(); ++i) {
    CHECK(segs[i].index_entries == 6);
    CHECK(segs[i].next_offset.value() - segs[i].base_offset.value() == 7);
  }
  require_same(read_all(*l), all);
}

TEST_CASE("roll when the time index is full", "[log][roll]") {
  temp_dir d;
  auto cfg = small_config(1 << 20);
  cfg.segment_index_bytes = 48;  // 4 time entries, one kept for the seal
  cfg.index_interval_bytes = 0;
  auto l = open_log(d.sub("t-0"));
  l.reset();
  l = open_log(d.sub("t-1"), opts_for(cfg));
  std::vector<owned_record> all;
  for (int i = 0; i < 20; ++i) {
    owned_record r = make_record(i, 20, 1'000 + i);  // rising timestamps
    REQUIRE(l->append(r.view()).ok());
    all.push_back(r);
  }
  auto segs = l->segments();
  REQUIRE(segs.size() >= 3);
  for (std::size_t i = 0; i + 1 < segs.size(); ++i) CHECK(segs[i].time_index_entries <= 4);
  require_same(read_all(*l), all);
}

TEST_CASE("every offset is found at every segment boundary and between index entries", "[log][index]") {
  temp_dir d;
  auto cfg = small_config(1500);
  cfg.index_interval_bytes = 100;
  auto l = open_log(d.sub("t-0"), opts_for(cfg));
  // Batches of varied size so entries fall at varied offsets.
  std::vector<owned_record> all;
  for (int b = 0; b < 80; ++b) {
    auto part = fill(*l, 1, 1 + b % 4, 10 + (b * 7) % 40);
    all.insert(all.end(), part.begin(), part.end());
  }
  REQUIRE(l->segments().size() > 5);
  const auto end = l->log_end_offset().value();
  require_each_offset_found(*l, 0, end);
  // Reopening (indexes loaded from disk, not rebuilt) finds the same.
  l.reset();
  l = open_log(d.sub("t-0"), opts_for(cfg));
  CHECK(l->recovery().indexes_rebuilt == 0);
  require_each_offset_found(*l, 0, end);
}

TEST_CASE("index.interval.bytes: one offset-index entry each time more than the interval was written", "[log][index]") {
  for (std::int64_t interval : {0, 1, 150, 1000, 100000}) {
    temp_dir d;
    auto cfg = small_config(1 << 20);
    cfg.index_interval_bytes = interval;
    auto l = open_log(d.sub("t-0"), opts_for(cfg));
    std::uint64_t since = 0;
    std::size_t expected = 0;
    for (int b = 0; b < 40; ++b) {
      owned_record r = make_record(b, 10 + b * 3);
      auto info = l->append(r.view());
      REQUIRE(info.ok());
      // Kafka's rule: an entry for this batch when more than the interval
      // was written since the last entry.
      if (since > static_cast<std::uint64_t>(interval)) {
        ++expected;
        since = 0;
      }
      since += info->bytes;
    }
    INFO("interval " << interval);
    CHECK(l->segments()[0].index_entries == expected);
  }
}

TEST_CASE("offsets_for_time returns the first record whose timestamp is >= the target", "[log][time]") {
  temp_dir d;
  auto cfg = small_config(1200);
  cfg.index_interval_bytes = 64;
  auto l = open_log(d.sub("t-0"), opts_for(cfg));
  // Mostly rising timestamps with repeats and a few that go backwards.
  std::vector<std::int64_t> ts;
  std::vector<owned_record> all;
  for (int i = 0; i < 300; ++i) {
    const std::int64_t t = 10'000 + i * 10 - (i % 7 == 3 ? 25 : 0) - (i % 2) * 5;
    owned_record r = make_record(i, 16, t);
    REQUIRE(l->append(r.view()).ok());
    ts.push_back(t);
  }
  REQUIRE(l->segments().size() > 3);
  for (std::int64_t target = 9'990; target <= 13'010; target += 3) {
    std::optional<std::int64_t> want;
    for (std::size_t i = 0; i < ts.size(); ++i)
      if (ts[i] >= target) {
        want = static_cast<std::int64_t>(i);
        break;
      }
    auto got = l->offsets_for_time(timestamp{target});
    REQUIRE(got.ok());
    INFO("target " << target);
    REQUIRE(got->has_value() == want.has_value());
    if (want) {
      CHECK((*got)->off.value() == *want);
      CHECK((*got)->ts.value() == ts[static_cast<std::size_t>(*want)]);
    }
  }
  CHECK(l->offsets_for_time(latest_timestamp)->value().off == offset{300});
  CHECK(l->offsets_for_time(earliest_timestamp)->value().off == offset{0});
  CHECK(l->offsets_for_time(timestamp{-5}).code() == errc::invalid_timestamp);
}

TEST_CASE("offsets_for_time never answers below the log start", "[log][time]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"), opts_for(small_config()));
  for (int i = 0; i < 10; ++i) {
    owned_record r = make_record(i, 10, 100 + i);
    REQUIRE(l->append(r.view()).ok());
  }
  REQUIRE(l->delete_records(offset{6}).ok());
  auto got = l->offsets_for_time(timestamp{0});
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->off == offset{6});
}

TEST_CASE("retention.ms deletes sealed segments whose newest record is older, never the active one", "[log][retention]") {
  temp_dir d;
  manual_clock clk(1'000'000);
  auto cfg = small_config(1024);
  cfg.retention_ms = 5'000;
  auto l = open_log(d.sub("t-0"), opts_for(cfg, &clk));
  fill(*l, 20, 2, 40, clk.now_ms());  // old records
  const auto old_segments = l->segments().size();
  REQUIRE(old_segments > 3);
  clk.advance(5'000);
  // Exactly retention.ms old is kept (Kafka deletes only strictly older).
  REQUIRE(*l->enforce_retention() == 0);
  clk.advance(1);
  auto deleted = l->enforce_retention();
  REQUIRE(deleted.ok());
  CHECK(*deleted == old_segments - 1);  // all but the active segment
  REQUIRE(l->segments().size() == 1);
  CHECK(l->log_start_offset() == l->segments()[0].base_offset);
  // Even an expired active segment stays.
  clk.advance(1'000'000);
  CHECK(*l->enforce_retention() == 0);
  CHECK(l->segments().size() == 1);
  // Deleted segment files are gone from disk.
  CHECK(test::list_files(d.sub("t-0")).size() == 5);  // .lock, checkpoint, 3 files
}

TEST_CASE("retention.ms keeps a segment with any record newer than the limit", "[log][retention]") {
  temp_dir d;
  manual_clock clk(1'000'000);
  auto cfg = small_config(1024);
  cfg.retention_ms = 1'000;
  auto l = open_log(d.sub("t-0"), opts_for(cfg, &clk));
  fill(*l, 10, 2, 40, 1'000'000);
  fill(*l, 10, 2, 40, 1'500'000);  // newer records
  clk.set(1'500'500);
  REQUIRE(l->enforce_retention().ok());
  auto segs = l->segments();
  REQUIRE(segs.size() >= 2);
  for (auto& s : segs) CHECK(s.max_timestamp.value() >= 1'500'000);
  // Old-only segments went; the first kept one may still hold old records.
  CHECK(l->log_start_offset().value() > 0);
  CHECK(l->log_start_offset().value() <= 20);
  CHECK(read_all(*l).back().ts == 1'500'000);
}

TEST_CASE("retention.bytes deletes the oldest segments until the log fits, never the active one", "[log][retention]") {
  temp_dir d;
  auto cfg = small_config(1024);
  cfg.retention_bytes = 3000;
  auto l = open_log(d.sub("t-0"), opts_for(cfg));
  fill(*l, 40, 2, 40);
  REQUIRE(l->size_bytes() > 3000);
  auto deleted = l->enforce_retention();
  REQUIRE(deleted.ok());
  CHECK(*deleted > 0);
  // Kafka's rule: delete the oldest while what remains is still >= the
  // limit, so the log ends within one segment above it.
  auto segs = l->segments();
  CHECK(l->size_bytes() >= 3000);
  CHECK(l->size_bytes() - segs.front().bytes < 3000);
  auto got = read_all(*l);
  CHECK(got.front().off == l->log_start_offset().value());
  CHECK(got.back().off == l->log_end_offset().value() - 1);

  cfg.retention_bytes = 0;
  auto l0 = open_log(d.sub("t-1"), opts_for(cfg));
  fill(*l0, 40, 2, 40);
  REQUIRE(l0->enforce_retention().ok());
  CHECK(l0->segments().size() == 1);
}

TEST_CASE("delete_records moves the log start, survives reopen and deletes whole segments below it", "[log][delete]") {
  temp_dir d;
  auto cfg = small_config(1024);
  auto l = open_log(d.sub("t-0"), opts_for(cfg));
  auto all = fill(*l, 30, 2, 40);
  const auto segs_before = l->segments().size();
  auto r = l->delete_records(offset{25});
  REQUIRE(r.ok());
  CHECK(*r == offset{25});
  CHECK(l->log_start_offset() == offset{25});
  CHECK(l->segments().size() < segs_before);
  CHECK(l->segments().front().base_offset.value() <= 25);
  CHECK(l->segments().front().next_offset.value() > 25);
  auto got = read_all(*l);
  REQUIRE(got.front().off == 25);
  // Moving backwards is a no-op; past the end is an error.
  CHECK(*l->delete_records(offset{10}) == offset{25});
  CHECK(l->delete_records(offset{61}).code() == errc::offset_out_of_range);
  l.reset();
  l = open_log(d.sub("t-0"), opts_for(cfg));
  CHECK(l->log_start_offset() == offset{25});
  CHECK(read_all(*l).front().off == 25);
}

TEST_CASE("delete_records to the log end empties the log and appends continue from there", "[log][delete]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"), opts_for(small_config(1 << 20)));
  fill(*l, 3, 5);
  REQUIRE(l->delete_records(offset{15}).ok());
  CHECK(l->log_start_offset() == offset{15});
  CHECK(l->segments().size() == 1);
  CHECK(l->segments()[0].base_offset == offset{15});
  auto more = fill(*l, 1, 2);
  auto got = read_all(*l);
  REQUIRE(got.size() == 2);
  CHECK(got[0].off == 15);
}

TEST_CASE("truncate_to removes the batch holding the offset and everything after, durably", "[log][truncate]") {
  temp_dir d;
  auto cfg = small_config(1024);
  auto l = open_log(d.sub("t-0"), opts_for(cfg));
  auto all = fill(*l, 30, 2, 40);
  REQUIRE(l->segments().size() > 3);
  // 31 is inside the batch [30, 31]: that whole batch goes.
  REQUIRE(l->truncate_to(offset{31}).ok());
  CHECK(l->log_end_offset() == offset{30});
  auto got = read_all(*l);
  REQUIRE(got.size() == 30);
  // Appends continue densely from the new end.
  owned_record n = make_record(999);
  auto info = l->append(n.view());
  REQUIRE(info.ok());
  CHECK(info->base_offset == offset{30});
  l.reset();
  l = open_log(d.sub("t-0"), opts_for(cfg));
  CHECK(l->log_end_offset() == offset{31});
  got = read_all(*l);
  CHECK(got.back().value == n.value);
  CHECK(l->truncate_to(offset{-1}).code() == errc::offset_out_of_range);
}

TEST_CASE("truncate_to that would remove records below the log start is refused, so offsets are never reused",
          "[log][truncate]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  fill(*l, 1, 10);  // one batch: offsets 0..9
  REQUIRE(l->delete_records(offset{5}).ok());
  auto r = l->truncate_to(offset{5});
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == errc::offset_out_of_range);
  CHECK(l->log_start_offset() == offset{5});
  CHECK(l->log_end_offset() == offset{10});
  owned_record n = make_record(10);
  auto info = l->append(n.view());
  REQUIRE(info.ok());
  CHECK(info->base_offset == offset{10});
}

TEST_CASE("append_batch refuses a batch whose max timestamp is not its records' maximum", "[log][append]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  owned_record a = make_record(0, 10, 1000), b = make_record(1, 10, 5000);
  const record recs[] = {a.view(), b.view()};
  auto t = format::times_of(recs, 0);
  std::vector<std::byte> buf(format::batch_header_size + format::records_size(recs, t));
  format::encode_batch(buf.data(), recs, t, {});
  // Re-seal the same records claiming a max of 1000.
  format::batch_params p{};
  format::seal_batch(buf.data(), buf.size() - format::batch_header_size, 2, 1, p, 1000, 1000);
  CHECK(l->append_batch(buf).code() == errc::invalid_record);
  CHECK(l->log_end_offset() == offset{0});
  format::seal_batch(buf.data(), buf.size() - format::batch_header_size, 2, 1, p, 1000, 5000);
  REQUIRE(l->append_batch(buf).ok());
  auto found = l->offsets_for_time(timestamp{3000});
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->off == offset{1});
}

TEST_CASE("reopening gives the same offsets, segments and records", "[log][reopen]") {
  temp_dir d;
  auto cfg = small_config(2048);
  manual_clock clk;
  std::vector<test::read_record> before;
  std::vector<segment_info> segs_before;
  {
    auto l = open_log(d.sub("t-0"), opts_for(cfg, &clk));
    fill(*l, 40, 3, 30);
    REQUIRE(l->delete_records(offset{7}).ok());
    before = read_all(*l);
    segs_before = l->segments();
  }
  for (int round = 0; round < 2; ++round) {
    auto l = open_log(d.sub("t-0"), opts_for(cfg, &clk));
    CHECK(l->recovery().clean);
    CHECK(l->log_start_offset() == offset{7});
    CHECK(l->log_end_offset() == offset{120});
    CHECK(l->durable_offset() == offset{120});
    CHECK(read_all(*l) == before);
    auto segs = l->segments();
    REQUIRE(segs.size() == segs_before.size());
    for (std::size_t i = 0; i < segs.size(); ++i) {
      CHECK(segs[i].base_offset == segs_before[i].base_offset);
      CHECK(segs[i].next_offset == segs_before[i].next_offset);
      CHECK(segs[i].bytes == segs_before[i].bytes);
      CHECK(segs[i].max_timestamp == segs_before[i].max_timestamp);
    }
  }
}

TEST_CASE("flush advances the durable offset; flush.messages=1 makes each append durable", "[log][flush]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  fill(*l, 2, 3);
  CHECK(l->durable_offset() == offset{0});
  REQUIRE(l->flush().ok());
  CHECK(l->durable_offset() == offset{6});

  auto cfg = small_config();
  cfg.flush_messages = 1;
  auto a = open_log(d.sub("t-1"), opts_for(cfg));
  for (int i = 0; i < 5; ++i) {
    fill(*a, 1, 1);
    CHECK(a->durable_offset() == a->log_end_offset());
  }
  cfg.flush_messages = 4;
  auto b = open_log(d.sub("t-2"), opts_for(cfg));
  fill(*b, 1, 3);
  CHECK(b->durable_offset() == offset{0});
  fill(*b, 1, 1);
  CHECK(b->durable_offset() == offset{4});
}

TEST_CASE("flush.ms flushes on the first append or tick after the interval", "[log][flush]") {
  temp_dir d;
  manual_clock clk;
  auto cfg = small_config();
  cfg.flush_ms = 100;
  auto l = open_log(d.sub("t-0"), opts_for(cfg, &clk));
  fill(*l, 1, 2);
  CHECK(l->durable_offset() == offset{0});
  clk.advance(100);
  REQUIRE(l->tick().ok());
  CHECK(l->durable_offset() == offset{2});
  fill(*l, 1, 2);
  CHECK(l->durable_offset() == offset{2});
  clk.advance(100);
  fill(*l, 1, 1);
  CHECK(l->durable_offset() == offset{5});
}

TEST_CASE("a second writer on the same directory is refused with LOG_DIR_LOCKED", "[log][lock]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  auto second = log::open(d.sub("t-0"));
  REQUIRE_FALSE(second.ok());
  CHECK(second.code() == errc::log_dir_locked);
  REQUIRE(l->close().ok());
  CHECK(log::open(d.sub("t-0")).ok());
}

TEST_CASE("a second writer in another process is refused", "[log][lock]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  // The child opens the same directory; its exit status reports the error.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto other = log::open(d.sub("t-0"));
    ::_exit(!other.ok() && other.code() == errc::log_dir_locked ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("files are created 0600 and directories 0700", "[log]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"), opts_for(small_config(1024)));
  fill(*l, 10, 2, 40);
  REQUIRE(l->close().ok());
  CHECK(test::file_mode(d.sub("t-0")) == 0700);
  for (const auto& f : test::list_files(d.sub("t-0"))) {
    INFO(f);
    CHECK(test::file_mode(d.sub("t-0/" + f)) == 0600);
  }
}

TEST_CASE("transfer_to sends exactly the bytes read returns, through sendfile", "[log][export]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"), opts_for(small_config(4096)));
  fill(*l, 30, 3, 30);
  auto rd = l->read(offset{10}, 2000);
  REQUIRE(rd.ok());
  const std::string out = d.sub("export.bin");
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  auto sent = l->transfer_to(fd, offset{10}, 2000);
  ::close(fd);
  REQUIRE(sent.ok());
  CHECK(*sent == rd->bytes().size());
  const std::string got = test::read_file(out);
  REQUIRE(got.size() == rd->bytes().size());
  CHECK(std::memcmp(got.data(), rd->bytes().data(), got.size()) == 0);
  // The exported bytes are valid batches.
  batch_reader br(std::span<const std::byte>(reinterpret_cast<const std::byte*>(got.data()), got.size()));
  batch_view b;
  int n = 0;
  while (br.next(b)) ++n;
  CHECK(br.status().ok());
  CHECK(n > 0);
}

TEST_CASE("compression.type lz4 and zstd store compressed batches that read back transparently", "[log][codec]") {
  for (auto codec : {compression::lz4, compression::zstd}) {
    temp_dir d;
    auto cfg = small_config(1 << 20);
    cfg.compression_type = codec;
    auto l = open_log(d.sub("t-0"), opts_for(cfg));
    // Repetitive values compress well.
    auto all = fill(*l, 5, 100, 200);
    CHECK(l->size_bytes() < 5 * 100 * 200 / 2);
    auto rd = l->read(offset{0}, 1 << 20);
    REQUIRE(rd.ok());
    auto br = rd->batches();
    batch_view b;
    REQUIRE(br.next(b));
    CHECK(b.codec() == codec);
    require_same(read_all(*l), all);
  }
}

TEST_CASE("append_batch assigns offsets to a pre-encoded batch and validates it", "[log][append]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  fill(*l, 1, 4);
  std::vector<owned_record> owned = {make_record(0), make_record(1), make_record(2)};
  std::vector<record> recs;
  for (auto& o : owned) recs.push_back(o.view());
  const auto t = format::times_of(recs, 123);
  std::vector<std::byte> buf(format::batch_header_size + format::records_size(recs, t));
  format::encode_batch(buf.data(), recs, t, {.base_offset = 777});
  auto info = l->append_batch(buf);
  REQUIRE(info.ok());
  CHECK(info->base_offset == offset{4});
  CHECK(info->last_offset == offset{6});
  auto got = read_all(*l);
  REQUIRE(got.size() == 7);
  CHECK(got[4].key == owned[0].key);
  CHECK(got[6].off == 6);

  SECTION("a flipped bit is CORRUPT_MESSAGE and nothing is written") {
    auto bad = buf;
    bad[70] ^= std::byte{0x10};
    CHECK(l->append_batch(bad).code() == errc::corrupt_message);
    CHECK(l->log_end_offset() == offset{7});
  }
  SECTION("trailing bytes are CORRUPT_MESSAGE") {
    auto bad = buf;
    bad.push_back(std::byte{1});
    CHECK(l->append_batch(bad).code() == errc::corrupt_message);
  }
  SECTION("a record count that disagrees with the offset deltas is INVALID_RECORD") {
    auto bad = buf;
    const auto h = format::read_header(bad.data());
    format::batch_params p{};
    format::seal_batch(bad.data(), bad.size() - format::batch_header_size, 3, 4, p, h.first_timestamp,
                       h.max_timestamp);
    CHECK(l->append_batch(bad).code() == errc::invalid_record);
  }
  SECTION("an unsupported codec is UNSUPPORTED_COMPRESSION_TYPE") {
    auto bad = buf;
    const auto h = format::read_header(bad.data());
    format::batch_params p{};
    p.attributes = 1;  // gzip
    format::seal_batch(bad.data(), bad.size() - format::batch_header_size, 3, 2, p, h.first_timestamp,
                       h.max_timestamp);
    CHECK(l->append_batch(bad).code() == errc::unsupported_compression_type);
  }
  CHECK(l->log_end_offset() == offset{7});
}

TEST_CASE("large batches (stored with pwrite) and small ones (stored through the mapping) interleave exactly",
          "[log][append]") {
  temp_dir d;
  auto cfg = small_config(256 * 1024);
  cfg.index_interval_bytes = 4096;
  auto l = open_log(d.sub("t-0"), opts_for(cfg));
  std::vector<owned_record> all;
  for (int round = 0; round < 12; ++round) {
    // 40 x 1000-byte records (~40 KiB, pwrite path), then 3 small records.
    auto big = fill(*l, 1, 40, 1000);
    auto small = fill(*l, 1, 3, 20);
    all.insert(all.end(), big.begin(), big.end());
    all.insert(all.end(), small.begin(), small.end());
  }
  // A large pre-encoded batch goes through the pwrite path too.
  std::vector<owned_record> owned;
  std::vector<record> recs;
  for (int i = 0; i < 30; ++i) owned.push_back(make_record(static_cast<std::int64_t>(all.size()) + i, 800));
  for (auto& o : owned) recs.push_back(o.view());
  const auto t = format::times_of(recs, 5);
  std::vector<std::byte> buf(format::batch_header_size + format::records_size(recs, t));
  REQUIRE(buf.size() > 16 * 1024);
  format::encode_batch(buf.data(), recs, t, {});
  REQUIRE(l->append_batch(buf).ok());
  all.insert(all.end(), owned.begin(), owned.end());
  REQUIRE(l->segments().size() > 2);
  auto got = read_all(*l);
  REQUIRE(got.size() == all.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    REQUIRE(got[i].off == static_cast<std::int64_t>(i));
    REQUIRE(got[i].value.size() == all[i].value.size());
    REQUIRE(got[i].value == all[i].value);
  }
  // And the same bytes after a reopen.
  l.reset();
  l = open_log(d.sub("t-0"), opts_for(cfg));
  CHECK(read_all(*l) == got);
}

TEST_CASE("append keeps the caller's producer fields and transactional bit, never its control or codec bits",
          "[log][append]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  owned_record r = make_record(0);
  const record recs[] = {r.view()};
  format::batch_params p;
  p.base_offset = 999;
  p.producer_id = 42;
  p.producer_epoch = 3;
  p.base_sequence = 7;
  p.attributes = format::attr_transactional | format::attr_control | format::attr_timestamp_type | 4 /*zstd*/;
  REQUIRE(l->append(recs, p).ok());
  auto rd = l->read(offset{0}, 1 << 20);
  REQUIRE(rd.ok());
  auto br = rd->batches();
  batch_view b;
  REQUIRE(br.next(b));
  CHECK(b.base_offset() == offset{0});
  CHECK(b.producer_id() == 42);
  CHECK(b.producer_epoch() == 3);
  CHECK(b.base_sequence() == 7);
  CHECK(b.is_transactional());
  CHECK_FALSE(b.is_control());
  CHECK(b.ts_type() == timestamp_type::create_time);
  CHECK(b.codec() == compression::none);
}

TEST_CASE("a batch over max.message.bytes is RECORD_TOO_LARGE and nothing is written", "[log][limits]") {
  temp_dir d;
  auto cfg = small_config(1 << 20);
  cfg.max_message_bytes = 1000;
  auto l = open_log(d.sub("t-0"), opts_for(cfg));
  owned_record big = make_record(0, 2000);
  auto r = l->append(big.view());
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == errc::record_too_large);
  CHECK(l->log_end_offset() == offset{0});
  CHECK(l->size_bytes() == 0);
  owned_record ok = make_record(0, 100);
  CHECK(l->append(ok.view()).ok());

  // segment.bytes caps it too.
  auto cfg2 = small_config(1024);
  auto l2 = open_log(d.sub("t-1"), opts_for(cfg2));
  owned_record big2 = make_record(0, 1100);
  CHECK(l2->append(big2.view()).code() == errc::record_too_large);
}

TEST_CASE("empty appends, negative timestamps and closed logs are refused with named errors", "[log][limits]") {
  temp_dir d;
  auto l = open_log(d.sub("t-0"));
  CHECK(l->append(std::span<const record>{}).code() == errc::invalid_record);
  owned_record r = make_record(0, 10, -7);
  CHECK(l->append(r.view()).code() == errc::invalid_timestamp);
  CHECK(l->log_end_offset() == offset{0});
  REQUIRE(l->close().ok());
  owned_record ok = make_record(1);
  CHECK(l->append(ok.view()).code() == errc::illegal_state);
  CHECK(l->flush().code() == errc::illegal_state);
}

TEST_CASE("bad configuration is INVALID_CONFIG and creates nothing", "[log][config]") {
  temp_dir d;
  auto try_cfg = [&](log_config c) {
    auto l = log::open(d.sub("t-0"), opts_for(c));
    REQUIRE_FALSE(l.ok());
    CHECK(l.code() == errc::invalid_config);
    CHECK_FALSE(std::filesystem::exists(d.sub("t-0")));
  };
  log_config c;
  c.segment_bytes = 100;
  try_cfg(c);
  c = {};
  c.segment_bytes = std::int64_t{1} << 31;
  try_cfg(c);
  c = {};
  c.retention_ms = -2;
  try_cfg(c);
  c = {};
  c.retention_bytes = -5;
  try_cfg(c);
  c = {};
  c.flush_messages = 0;
  try_cfg(c);
  c = {};
  c.segment_index_bytes = 8;
  try_cfg(c);
}

TEST_CASE("a path that is not a directory is INVALID_LOG_DIR", "[log][dir]") {
  temp_dir d;
  test::write_file(d.sub("file"), "x");
  auto l = log::open(d.sub("file"));
  REQUIRE_FALSE(l.ok());
  CHECK(l.code() == errc::invalid_log_dir);
  CHECK(test::read_file(d.sub("file")) == "x");

  auto missing_parent = log::open(d.sub("no/such/dir"));
  CHECK(missing_parent.code() == errc::invalid_log_dir);

  log_options o;
  o.create_if_missing = false;
  CHECK(log::open(d.sub("t-0"), o).code() == errc::invalid_log_dir);
  CHECK_FALSE(std::filesystem::exists(d.sub("t-0")));
}

TEST_CASE("a foreign file in the directory is FOREIGN_FILE and nothing is written", "[log][dir]") {
  temp_dir d;
  std::filesystem::create_directory(d.sub("t-0"));
  test::write_file(d.sub("t-0/notes.txt"), "mine");
  auto l = log::open(d.sub("t-0"));
  REQUIRE_FALSE(l.ok());
  CHECK(l.code() == errc::foreign_file);
  CHECK(l.error().message.find("notes.txt") != std::string::npos);
  CHECK(test::list_files(d.sub("t-0")) == std::vector<std::string>{"notes.txt"});
  // A name that merely looks like a segment is foreign too.
  std::filesystem::remove(d.sub("t-0/notes.txt"));
  test::write_file(d.sub("t-0/0000000000000000001.log"), "");
  CHECK(log::open(d.sub("t-0")).code() == errc::foreign_file);
}

TEST_CASE("a concurrent reader only ever sees whole, dense batches while the writer appends", "[log][concurrency]") {
  temp_dir d;
  auto cfg = small_config(64 * 1024);
  auto l = open_log(d.sub("t-0"), opts_for(cfg));
  constexpr int total = 20000;
  std::atomic<bool> done{false};
  std::atomic<std::int64_t> reader_seen{0};
  std::atomic<bool> reader_error{false};
  std::thread reader([&] {
    std::int64_t next = 0;
    while (next < total) {
      auto rd = l->read(offset{next}, 8192);
      if (!rd.ok()) {
        reader_error = true;
        break;
      }
      auto rr = rd->records();
      record_view v;
      while (rr.next(v)) {
        if (v.off.value() != next || v.key != "key-" + std::to_string(next)) {
          reader_error = true;
          return;
        }
        ++next;
      }
      if (!rr.status().ok()) {
        reader_error = true;
        return;
      }
      if (rd->empty()) std::this_thread::yield();
    }
    reader_seen = next;
  });
  for (int i = 0; i < total; i += 4) {
    std::vector<owned_record> owned;
    std::vector<record> recs;
    for (int j = 0; j < 4; ++j) owned.push_back(make_record(i + j));
    for (auto& o : owned) recs.push_back(o.view());
    REQUIRE(l->append(recs).ok());
  }
  reader.join();
  done = true;
  CHECK_FALSE(reader_error.load());
  CHECK(reader_seen.load() == total);
  CHECK(l->segments().size() > 3);
}

TEST_CASE("a read pins its segment: retention can delete it while the view is still readable", "[log][retention]") {
  temp_dir d;
  auto cfg = small_config(1024);
  cfg.retention_bytes = 0;
  auto l = open_log(d.sub("t-0"), opts_for(cfg));
  auto all = fill(*l, 20, 2, 40);
  auto rd = l->read(offset{0}, 1 << 20);
  REQUIRE(rd.ok());
  REQUIRE(*l->enforce_retention() > 0);
  CHECK(l->read(offset{0}, 1).code() == errc::offset_out_of_range);
  auto rr = rd->records();
  record_view v;
  REQUIRE(rr.next(v));
  CHECK(v.key == all[0].key);
}


TEST_CASE("readers racing appends, rolls and retention see only whole, valid data or OFFSET_OUT_OF_RANGE",
          "[log][concurrency]") {
  temp_dir d;
  manual_clock clk(1'000'000);
  auto cfg = small_config(4096);
  cfg.retention_bytes = 16 * 1024;
  auto opened = log::open(d.sub("t-0"), opts_for(cfg, &clk));
  REQUIRE(opened.ok());
  log& l = **opened;
  constexpr int total = 6000;
  std::atomic<bool> done{false};
  // Each reader records what went wrong; the main thread asserts.
  struct report {
    std::int64_t reads = 0, bad = 0;
    std::string first_bad;
  };
  report tail_r, time_r, export_r;
  auto bad = [](report& r, std::string what) {
    if (r.bad++ == 0) r.first_bad = std::move(what);
  };
  std::thread tail([&] {
    while (!done.load()) {
      const auto start = l.log_start_offset().value();
      auto rd = l.read(offset{start}, 2048);
      if (!rd.ok()) {
        if (rd.code() != errc::offset_out_of_range) bad(tail_r, rd.error().to_string());
        continue;
      }
      auto rr = rd->records();
      record_view v;
      std::int64_t expect = start;
      while (rr.next(v)) {
        if (v.off.value() != expect || v.key != "key-" + std::to_string(expect))
          bad(tail_r, "record " + std::to_string(v.off.value()));
        ++expect;
      }
      if (!rr.status().ok()) bad(tail_r, rr.status().error().to_string());
      ++tail_r.reads;
    }
  });
  std::thread times([&] {
    while (!done.load()) {
      auto got = l.offsets_for_time(timestamp{1'000'000 + 3000});
      if (!got.ok()) bad(time_r, got.error().to_string());
      else if (got->has_value() && (*got)->ts.value() < 1'000'000 + 3000) bad(time_r, "answer below the target");
      ++time_r.reads;
    }
  });
  std::thread exporter([&] {
    const std::string out = d.sub("export.bin");
    while (!done.load()) {
      const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0) continue;
      auto sent = l.transfer_to(fd, l.log_start_offset(), 4096);
      ::close(fd);
      if (!sent.ok() && sent.code() != errc::offset_out_of_range) bad(export_r, sent.error().to_string());
      ++export_r.reads;
    }
  });
  for (int i = 0; i < total; ++i) {
    owned_record r = make_record(i, 40, 1'000'000 + i);
    REQUIRE(l.append(r.view()).ok());
    if (i % 100 == 99) REQUIRE(l.enforce_retention().ok());
  }
  done = true;
  tail.join();
  times.join();
  exporter.join();
  INFO(tail_r.first_bad << " | " << time_r.first_bad << " | " << export_r.first_bad);
  CHECK(tail_r.bad == 0);
  CHECK(time_r.bad == 0);
  CHECK(export_r.bad == 0);
  CHECK(tail_r.reads > 0);
  CHECK(time_r.reads > 0);
  CHECK(l.log_start_offset().value() > 0);  // retention ran while they read
}


namespace {

// This process's resident mapped-file memory (RssFile), in bytes.
std::uint64_t rss_file_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("RssFile:", 0) == 0) return std::stoull(line.substr(8)) * 1024;
  }
  return 0;
}

// Writes 64 MiB in large batches and reads it all back; returns how much
// RssFile grew.
std::uint64_t rss_growth_streaming(const std::string& dir, bool bounded) {
  log_options o = opts_for(small_config(1 << 30));
  o.bounded_residency = bounded;
  auto l = log::open(dir, o);
  REQUIRE(l.ok());
  const std::uint64_t before = rss_file_bytes();
  std::string value(1000, 'v');
  std::vector<record> recs(64, record{.key = "k", .value = value});
  while ((*l)->size_bytes() < (64u << 20)) REQUIRE((*l)->append(recs).ok());
  std::int64_t next = 0;
  std::uint64_t sum = 0;
  while (next < (*l)->log_end_offset().value()) {
    auto rd = (*l)->read(offset{next}, 1 << 20);
    REQUIRE(rd.ok());
    auto rr = rd->records();
    record_view v;
    while (rr.next(v)) {
      sum += static_cast<unsigned char>(v.value[v.value.size() / 2]);
      next = v.off.value() + 1;
    }
  }
  REQUIRE(sum > 0);
  const std::uint64_t after = rss_file_bytes();
  return after > before ? after - before : 0;
}

}  // namespace

TEST_CASE("bounded_residency keeps mapped memory flat while 64 MiB stream through the log", "[log][memory]") {
  temp_dir d;
  const std::uint64_t bounded = rss_growth_streaming(d.sub("t-0"), true);
  const std::uint64_t unbounded = rss_growth_streaming(d.sub("t-1"), false);
  INFO("RssFile growth: bounded " << (bounded >> 20) << " MiB, unbounded " << (unbounded >> 20) << " MiB");
  CHECK(bounded < (16u << 20));
  CHECK(unbounded > (48u << 20));  // the check above would notice the drop stopping
}

TEST_CASE("set_config applies to the next appends and rolls, and refuses a bad config unchanged", "[log][config]") {
  temp_dir d;
  auto l = log::open(d.sub("t-0"), opts_for(small_config(1 << 20)));
  REQUIRE(l.ok());
  owned_record r = make_record(1, 200);
  REQUIRE((*l)->append(r.view()).ok());
  log_config bad = (*l)->config();
  bad.segment_bytes = 10;  // below the minimum
  REQUIRE((*l)->set_config(bad).code() == errc::invalid_config);
  CHECK((*l)->config().segment_bytes == (1 << 20));
  log_config small = (*l)->config();
  small.segment_bytes = 1024;
  small.max_message_bytes = 512;
  REQUIRE((*l)->set_config(small).ok());
  CHECK((*l)->config().segment_bytes == 1024);
  for (int i = 0; i < 20; ++i) REQUIRE((*l)->append(r.view()).ok());
  CHECK((*l)->segments().size() > 3);  // the new segment.bytes rolls
  owned_record big = make_record(2, 600);
  CHECK((*l)->append(big.view()).code() == errc::record_too_large);  // the new max.message.bytes
}

TEST_CASE("append_batch with a header-only check skips the checksum but still checks the header", "[log][format]") {
  temp_dir d;
  auto l = log::open(d.sub("t-0"), opts_for(small_config(1 << 20)));
  REQUIRE(l.ok());
  owned_record r = make_record(1, 30);
  const record recs[] = {r.view(), r.view()};
  const auto t = format::times_of(recs, 1000);
  std::vector<std::byte> buf(format::batch_header_size + format::records_size(recs, t));
  format::encode_batch(buf.data(), recs, t, {});
  buf[20] ^= std::byte{1};  // damage the checksum field only
  CHECK((*l)->append_batch(buf).code() == errc::corrupt_message);
  REQUIRE((*l)->append_batch(buf, batch_check::header_only).ok());
  buf[12] = std::byte{9};  // bad magic is caught either way
  CHECK((*l)->append_batch(buf, batch_check::header_only).code() == errc::corrupt_message);
  CHECK((*l)->log_end_offset().value() == 2);
}

}  // namespace franz
