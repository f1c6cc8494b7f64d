// Recovery on open: torn tails, bit flips, damaged and missing indexes,
// leftover temporary files, damaged checkpoints, sealed-segment damage.
#include <map>

#include "franz/io/fault_fs.hpp"
#include "test_util.hpp"

namespace franz {

using namespace franz::test;  // temp_dir, make_record, read_all, opts_for, ...

namespace {

// Every file of a directory, by name.
using dir_image = std::map<std::string, std::string>;

dir_image snapshot(const std::string& dir) {
  dir_image img;
  for (const auto& n : test::list_files(dir)) img[n] = test::read_file(dir + "/" + n);
  return img;
}

void restore(const std::string& dir, const dir_image& img) {
  for (const auto& n : test::list_files(dir)) std::filesystem::remove(dir + "/" + n);
  for (const auto& [n, data] : img) test::write_file(dir + "/" + n, data);
}

// A crashed log: `batches` batches of 3 records, the checkpoint's recovery
// point left at 0 (never flushed past a segment), then a kill -9. Returns
// the byte ranges of each batch in the single segment.
struct crashed {
  dir_image image;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> batch_ranges;
  std::vector<owned_record> records;
};

crashed make_crashed_log(const std::string& dir, int batches) {
  crashed c;
  io::fault_fs fs;
  {
    auto l = fault_log::open(dir, opts_for(small_config(1 << 20)), fs);
    REQUIRE(l.ok());
    std::uint64_t pos = 0;
    for (int b = 0; b < batches; ++b) {
      std::vector<owned_record> owned;
      std::vector<record> recs;
      for (int i = 0; i < 3; ++i) owned.push_back(make_record(b * 3 + i, 30));
      for (auto& o : owned) recs.push_back(o.view());
      auto info = (*l)->append(recs);
      REQUIRE(info.ok());
      c.batch_ranges.push_back({pos, pos + info->bytes});
      pos += info->bytes;
      c.records.insert(c.records.end(), owned.begin(), owned.end());
    }
    fs.crash(io::crash_mode::process_kill);
  }
  REQUIRE(fs.reboot().ok());
  c.image = snapshot(dir);
  return c;
}

const std::string log0 = format::segment_file(0, ".log");

// Damage below the recovery point: a plain open is CORRUPT_MESSAGE, an
// open with repair succeeds. Returns the repaired log.
result<std::unique_ptr<log>> refused_then_repaired(const std::string& dir, const log_config& cfg) {
  auto l = log::open(dir, opts_for(cfg));
  REQUIRE_FALSE(l.ok());
  CHECK(l.code() == errc::corrupt_message);
  log_options o = opts_for(cfg);
  o.repair = true;
  auto r = log::open(dir, o);
  REQUIRE(r.ok());
  return r;
}


void require_prefix(const std::vector<test::read_record>& got, const std::vector<owned_record>& want,
                    std::size_t n) {
  REQUIRE(got.size() == n);
  for (std::size_t i = 0; i < n; ++i) {
    REQUIRE(got[i].off == static_cast<std::int64_t>(i));
    REQUIRE(got[i].key == want[i].key);
    REQUIRE(got[i].value == want[i].value);
  }
}

}  // namespace

TEST_CASE("a kill -9 loses nothing that was written", "[recovery]") {
  temp_dir d;
  auto c = make_crashed_log(d.sub("t-0"), 4);
  auto l = log::open(d.sub("t-0"), opts_for(small_config(1 << 20)));
  REQUIRE(l.ok());
  require_prefix(read_all(**l), c.records, 12);
  CHECK((*l)->recovery().truncated_bytes == 0);
  CHECK((*l)->recovery().segments_validated == 1);
  // Recovered bytes may be in the page cache only: durable is what the
  // checkpoint vouches for until the next flush.
  CHECK((*l)->durable_offset() == offset{0});
  REQUIRE((*l)->flush().ok());
  CHECK((*l)->durable_offset() == offset{12});
}

TEST_CASE("the active segment cut at every byte of its last batch recovers the earlier batches", "[recovery]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  auto c = make_crashed_log(dir, 3);
  const auto [start, end] = c.batch_ranges.back();
  for (std::uint64_t cut = start; cut <= end; ++cut) {
    for (bool keep_size : {false, true}) {
      restore(dir, c.image);
      std::string data = c.image.at(log0);
      // Either the file ends at the cut, or the bytes after it are zero
      // (preallocated space whose pages never reached the disk).
      if (keep_size) std::fill(data.begin() + static_cast<std::ptrdiff_t>(cut), data.end(), '\0');
      else data.resize(cut);
      test::write_file(dir + "/" + log0, data);
      auto l = log::open(dir, opts_for(small_config(1 << 20)));
      INFO("cut at " << cut << (keep_size ? " (zeroed)" : " (truncated)"));
      REQUIRE(l.ok());
      // Zeroing bytes that were zero already leaves the batch whole.
      bool intact = cut == end;
      if (keep_size) {
        intact = true;
        for (std::uint64_t i = cut; i < end; ++i) intact = intact && c.image.at(log0)[i] == '\0';
      }
      const std::size_t expect = intact ? 9 : 6;
      require_prefix(read_all(**l), c.records, expect);
      // Dropped bytes run to the last non-zero byte: zeros cannot be told
      // apart from preallocated space.
      std::uint64_t written_end = start;
      for (std::uint64_t i = start; i < cut; ++i)
        if (data[i] != '\0') written_end = i + 1;
      CHECK((*l)->recovery().truncated_bytes == (intact ? 0 : written_end - start));
      CHECK((*l)->log_end_offset() == offset{static_cast<std::int64_t>(expect)});
      // Appends continue densely after the truncation.
      owned_record r = make_record(100);
      auto info = (*l)->append(r.view());
      REQUIRE(info.ok());
      CHECK(info->base_offset == offset{static_cast<std::int64_t>(expect)});
    }
  }
}

TEST_CASE("a bit flip at any byte of any batch past the recovery point truncates the log before that batch",
          "[recovery][corruption]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  auto c = make_crashed_log(dir, 3);
  for (std::size_t b = 0; b < c.batch_ranges.size(); ++b) {
    const auto [start, end] = c.batch_ranges[b];
    for (std::uint64_t at = start; at < end; ++at) {
      restore(dir, c.image);
      std::string data = c.image.at(log0);
      data[at] = static_cast<char>(data[at] ^ 0x04);
      test::write_file(dir + "/" + log0, data);
      auto l = log::open(dir, opts_for(small_config(1 << 20)));
      INFO("batch " << b << " byte " << at);
      REQUIRE(l.ok());
      // Never a damaged record: only the batches before the flipped one.
      require_prefix(read_all(**l), c.records, b * 3);
      CHECK((*l)->recovery().truncated_bytes > 0);
      CHECK_FALSE((*l)->recovery().clean);
    }
  }
}

TEST_CASE("a second open after recovery finds the same state and nothing to repair", "[recovery]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  auto c = make_crashed_log(dir, 3);
  std::string data = c.image.at(log0);
  data[c.batch_ranges[2].first + 70] ^= 1;
  test::write_file(dir + "/" + log0, data);
  std::vector<test::read_record> first;
  {
    auto l = log::open(dir, opts_for(small_config(1 << 20)));
    REQUIRE(l.ok());
    CHECK_FALSE((*l)->recovery().clean);
    first = read_all(**l);
  }
  auto l = log::open(dir, opts_for(small_config(1 << 20)));
  REQUIRE(l.ok());
  CHECK((*l)->recovery().clean);
  CHECK(read_all(**l) == first);
}

namespace {

// A cleanly closed log with several sealed segments (recovery point at
// the end, so every segment is trusted on open).
std::vector<owned_record> make_closed_log(const std::string& dir, log_config cfg) {
  auto l = log::open(dir, opts_for(cfg));
  REQUIRE(l.ok());
  std::vector<owned_record> all;
  for (int b = 0; b < 40; ++b) {
    std::vector<owned_record> owned;
    std::vector<record> recs;
    for (int i = 0; i < 2; ++i) owned.push_back(make_record(b * 2 + i, 40, 1'000 + b));
    for (auto& o : owned) recs.push_back(o.view());
    REQUIRE((*l)->append(recs).ok());
    all.insert(all.end(), owned.begin(), owned.end());
  }
  REQUIRE((*l)->segments().size() > 3);
  REQUIRE((*l)->close().ok());
  return all;
}

}  // namespace

TEST_CASE("damage in a sealed segment below the recovery point is CORRUPT_MESSAGE naming file and byte",
          "[recovery][corruption]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  auto cfg = small_config(1024);
  auto all = make_closed_log(dir, cfg);
  std::string data = test::read_file(dir + "/" + log0);
  const std::size_t at = 200;  // inside the second or third batch
  data[at] = static_cast<char>(data[at] ^ 0x40);
  test::write_file(dir + "/" + log0, data);
  const auto image = snapshot(dir);

  SECTION("a normal open trusts the segment; reading the batch reports it") {
    auto l = log::open(dir, opts_for(cfg));
    REQUIRE(l.ok());
    auto rd = (*l)->read(offset{0}, 1 << 20);
    REQUIRE(rd.ok());
    auto rr = rd->records();
    record_view v;
    std::int64_t good = 0;
    while (rr.next(v)) {
      REQUIRE(v.key == all[static_cast<std::size_t>(good)].key);
      ++good;
    }
    REQUIRE_FALSE(rr.status().ok());
    CHECK(rr.status().code() == errc::corrupt_message);
    CHECK(rr.status().error().message.find(log0) != std::string::npos);
    CHECK(good < 6);
  }
  SECTION("verify_all finds it on open and refuses, changing nothing") {
    log_options o = opts_for(cfg);
    o.verify_all = true;
    auto l = log::open(dir, o);
    REQUIRE_FALSE(l.ok());
    CHECK(l.code() == errc::corrupt_message);
    CHECK(l.error().message.find(log0) != std::string::npos);
    CHECK(l.error().message.find("at byte") != std::string::npos);
    CHECK(snapshot(dir).at(log0) == image.at(log0));
  }
  SECTION("repair truncates the log at the damaged batch") {
    log_options o = opts_for(cfg);
    o.verify_all = true;
    o.repair = true;
    auto l = log::open(dir, o);
    REQUIRE(l.ok());
    CHECK((*l)->recovery().segments_deleted > 0);
    auto got = read_all(**l);
    REQUIRE(got.size() < 6);
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i].key == all[i].key);
    CHECK((*l)->log_end_offset().value() == static_cast<std::int64_t>(got.size()));
  }
}

TEST_CASE("missing and damaged indexes are rebuilt identical", "[recovery][index]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  auto cfg = small_config(1024);
  cfg.index_interval_bytes = 100;
  auto all = make_closed_log(dir, cfg);
  const auto original = snapshot(dir);
  std::vector<std::string> indexes;
  for (const auto& [n, data] : original)
    if (n.ends_with(".index") || n.ends_with(".timeindex")) indexes.push_back(n);
  REQUIRE(indexes.size() >= 6);

  auto check_rebuilt = [&](const std::string& what) {
    INFO(what);
    {
      auto l = log::open(dir, opts_for(cfg));
      REQUIRE(l.ok());
      CHECK((*l)->recovery().indexes_rebuilt >= 1);
      auto got = read_all(**l);
      REQUIRE(got.size() == all.size());
      // Every offset is still found through the rebuilt indexes.
      test::require_each_offset_found(**l, 0, static_cast<std::int64_t>(all.size()));
    }
    const auto after = snapshot(dir);
    for (const auto& n : indexes) {
      INFO(n);
      REQUIRE(after.count(n) == 1);
      CHECK(after.at(n) == original.at(n));
    }
  };

  for (const auto& victim : indexes) {
    restore(dir, original);
    std::filesystem::remove(dir + "/" + victim);
    check_rebuilt("deleted " + victim);

    restore(dir, original);
    std::string data = original.at(victim);
    if (data.size() >= 8) {
      std::swap(data[0], data[data.size() - 4]);  // out of order
      data[1] = static_cast<char>(data[1] ^ 0x7f);
    } else {
      data = "garbage";
    }
    test::write_file(dir + "/" + victim, data);
    check_rebuilt("garbled " + victim);

    restore(dir, original);
    data = original.at(victim);
    const std::size_t entry = victim.ends_with(".timeindex") ? 12 : 8;
    if (data.size() >= entry) {
      data.resize(data.size() - entry);  // one whole entry short
      test::write_file(dir + "/" + victim, data);
      check_rebuilt("shortened " + victim);
    }
  }
}

TEST_CASE("leftover temporary files and orphaned indexes are removed on open", "[recovery]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  auto cfg = small_config(1024);
  auto all = make_closed_log(dir, cfg);
  test::write_file(dir + "/partition.checkpoint.tmp", "half-written");
  test::write_file(dir + "/00000000000000000000.log.tmp", "x");
  test::write_file(dir + "/" + format::segment_file(99999, ".index"), std::string(16, '\0'));
  test::write_file(dir + "/" + format::segment_file(99999, ".timeindex"), std::string(24, '\0'));
  auto l = log::open(dir, opts_for(cfg));
  REQUIRE(l.ok());
  CHECK((*l)->recovery().temp_files_removed == 2);
  CHECK((*l)->recovery().orphan_files_removed == 2);
  for (const auto& n : test::list_files(dir)) {
    CHECK_FALSE(n.ends_with(".tmp"));
    CHECK(n.find("99999") == std::string::npos);
  }
  CHECK(read_all(**l).size() == all.size());
}

TEST_CASE("a damaged checkpoint costs a full recovery, never data", "[recovery]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  auto cfg = small_config(1024);
  auto all = make_closed_log(dir, cfg);
  std::string cp = test::read_file(dir + "/partition.checkpoint");
  cp[10] = static_cast<char>(cp[10] ^ 1);
  test::write_file(dir + "/partition.checkpoint", cp);
  auto l = log::open(dir, opts_for(cfg));
  REQUIRE(l.ok());
  CHECK_FALSE((*l)->recovery().clean);
  CHECK((*l)->recovery().segments_validated == (*l)->segments().size());
  auto got = read_all(**l);
  REQUIRE(got.size() == all.size());
}

TEST_CASE("a torn write in a segment below the recovery point is refused without repair", "[recovery][corruption]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  auto cfg = small_config(1024);
  make_closed_log(dir, cfg);
  // Cut the first (sealed, trusted) segment in half.
  std::string data = test::read_file(dir + "/" + log0);
  data.resize(data.size() / 2);
  test::write_file(dir + "/" + log0, data);
  auto r = refused_then_repaired(dir, cfg);
  CHECK((*r)->log_end_offset().value() < 10);
  CHECK((*r)->segments().size() == 1);
}


TEST_CASE("records lost at the end of the last segment below the recovery point are CORRUPT_MESSAGE",
          "[recovery][corruption]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  auto cfg = small_config(1 << 20);
  std::uint64_t cut = 0;
  {
    auto l = log::open(dir, opts_for(cfg));
    REQUIRE(l.ok());
    for (int i = 0; i < 20; ++i) {
      owned_record r = make_record(i, 30);
      REQUIRE((*l)->append(r.view()).ok());
      if (i == 9) cut = (*l)->size_bytes();
    }
    REQUIRE((*l)->close().ok());  // recovery point = 20
  }
  // The tail of the file reads back as zeros; the size is unchanged.
  std::string data = test::read_file(dir + "/00000000000000000000.log");
  std::fill(data.begin() + static_cast<std::ptrdiff_t>(cut), data.end(), '\0');
  test::write_file(dir + "/00000000000000000000.log", data);
  auto l = log::open(dir, opts_for(cfg));
  REQUIRE_FALSE(l.ok());
  CHECK(l.code() == errc::corrupt_message);
  CHECK(l.error().message.find("recovery point") != std::string::npos);
  log_options o = opts_for(cfg);
  o.repair = true;
  auto r = log::open(dir, o);
  REQUIRE(r.ok());
  CHECK((*r)->log_end_offset() == offset{10});
  CHECK_FALSE((*r)->recovery().clean);
}

TEST_CASE("a sealed segment that ends short of the next segment's base is damage, never a gap",
          "[recovery][corruption]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  auto cfg = small_config(1024);
  auto all = make_closed_log(dir, cfg);
  // Cut the first segment exactly at a batch boundary, two batches short.
  const std::string seg0 = dir + "/00000000000000000000.log";
  std::string data = test::read_file(seg0);
  std::uint64_t pos = 0, keep = 0;
  std::vector<std::uint64_t> starts;
  while (pos < data.size()) {
    starts.push_back(pos);
    pos += format::read_header(reinterpret_cast<const std::byte*>(data.data() + pos)).batch_length +
           format::log_overhead;
  }
  REQUIRE(starts.size() >= 3);
  keep = starts[starts.size() - 2];
  data.resize(keep);
  test::write_file(seg0, data);
  auto r = refused_then_repaired(dir, cfg);
  auto got = read_all(**r);
  // Dense to the end: nothing past the cut survives.
  REQUIRE(got.size() == 2 * (starts.size() - 2));
  CHECK((*r)->segments().size() == 1);
}

TEST_CASE("reopening after kill -9 with a smaller segment.index.bytes or index interval works", "[recovery][index]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  io::fault_fs fs;
  auto cfg = small_config(1 << 20);
  cfg.index_interval_bytes = 4096;
  cfg.segment_index_bytes = 4096;
  {
    auto l = fault_log::open(dir, opts_for(cfg), fs);
    REQUIRE(l.ok());
    for (int i = 0; i < 2000; ++i) {
      owned_record r = make_record(i, 30);
      REQUIRE((*l)->append(r.view()).ok());
    }
    fs.crash(io::crash_mode::process_kill);
  }
  REQUIRE(fs.reboot().ok());
  cfg.index_interval_bytes = 0;
  for (int round = 0; round < 2; ++round) {
    auto l = log::open(dir, opts_for(cfg));
    INFO((l.ok() ? std::string() : l.error().to_string()));
    REQUIRE(l.ok());
    CHECK(read_all(**l).size() == 2000);
    require_each_offset_found(**l, 0, 2000);
  }
}

TEST_CASE("a stranger's .tmp file is FOREIGN_FILE, not deleted", "[recovery][dir]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  make_closed_log(dir, small_config(1024));
  test::write_file(dir + "/my-notes.tmp", "keep me");
  auto l = log::open(dir, opts_for(small_config(1024)));
  REQUIRE_FALSE(l.ok());
  CHECK(l.code() == errc::foreign_file);
  CHECK(test::read_file(dir + "/my-notes.tmp") == "keep me");
}

}  // namespace franz
