// The log under injected faults (io::fault_fs): failed fsyncs, power loss
// with unsynced data dropped, and a full disk.
#include <atomic>
#include <thread>

#include "franz/io/fault_fs.hpp"
#include "test_util.hpp"

namespace franz {

using namespace franz::test;  // temp_dir, make_record, read_all, opts_for, ...

namespace {

std::unique_ptr<fault_log> open_on(io::fault_fs& fs, const std::string& dir, log_config c) {
  auto l = fault_log::open(dir, opts_for(c), fs);
  INFO((l.ok() ? std::string() : l.error().to_string()));
  REQUIRE(l.ok());
  return std::move(*l);
}

// Every acknowledged record must be present, in order, at its offset.
void require_contains(const std::vector<test::read_record>& got, const std::vector<owned_record>& acked) {
  REQUIRE(got.size() >= acked.size());
  for (std::size_t i = 0; i < acked.size(); ++i) {
    REQUIRE(got[i].off == static_cast<std::int64_t>(i));
    REQUIRE(got[i].key == acked[i].key);
    REQUIRE(got[i].value == acked[i].value);
  }
}

}  // namespace

TEST_CASE("power loss drops unsynced records but never a durable one", "[fault][power]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  io::fault_fs fs;
  std::vector<owned_record> durable;
  std::int64_t durable_end = 0;
  {
    auto l = open_on(fs, dir, small_config(2048));
    for (int b = 0; b < 30; ++b) {
      owned_record r = make_record(b, 60);
      REQUIRE(l->append(r.view()).ok());
      if (b % 7 == 6) {
        REQUIRE(l->flush().ok());
        durable_end = l->durable_offset().value();
        REQUIRE(durable_end == b + 1);
      }
      durable.push_back(r);
    }
    durable.resize(static_cast<std::size_t>(durable_end));
    REQUIRE(l->log_end_offset().value() > durable_end);
    fs.crash(io::crash_mode::power_loss);
  }
  REQUIRE(fs.reboot().ok());
  for (int round = 0; round < 2; ++round) {
    auto l = open_on(fs, dir, small_config(2048));
    auto got = read_all(*l);
    require_contains(got, durable);
    // Whatever else survived is whole and dense (read_all checks both).
    CHECK(l->log_end_offset().value() >= durable_end);
  }
}

TEST_CASE("power loss right after open, before any flush, leaves an openable empty log", "[fault][power]") {
  temp_dir d;
  io::fault_fs fs;
  {
    auto l = open_on(fs, d.sub("t-0"), small_config());
    owned_record r = make_record(0);
    REQUIRE(l->append(r.view()).ok());
    fs.crash();
  }
  REQUIRE(fs.reboot().ok());
  auto l = open_on(fs, d.sub("t-0"), small_config());
  CHECK(l->log_start_offset() == offset{0});
  CHECK(read_all(*l).size() <= 1);
}

TEST_CASE("an fsync failing with EIO at any step surfaces, is never acknowledged, and loses nothing acknowledged",
          "[fault][fsync]") {
  // Find how many syncs the workload makes, then fail each one in turn.
  auto workload = [](io::fault_fs& fs, const std::string& dir, std::vector<owned_record>& acked,
                     std::optional<error>& first_error) {
    auto cfg = small_config(1024);
    cfg.flush_messages = 1;  // every append is acknowledged only once fsynced
    auto l = fault_log::open(dir, opts_for(cfg), fs);
    if (!l.ok()) {
      first_error = l.error();
      return;
    }
    for (int i = 0; i < 25; ++i) {
      owned_record r = make_record(i, 50);
      auto info = (*l)->append(r.view());
      if (!info.ok()) {
        first_error = info.error();
        // After the failure the log refuses everything until reopened.
        owned_record again = make_record(1000);
        auto a = (*l)->append(again.view());
        CHECK(a.code() == errc::log_offline);
        CHECK((*l)->flush().code() == errc::log_offline);
        CHECK((*l)->offline());
        return;
      }
      acked.push_back(r);
    }
    if (auto s = (*l)->close(); !s.ok()) first_error = s.error();
  };

  std::uint64_t total_syncs = 0;
  {
    temp_dir d;
    io::fault_fs fs;
    std::vector<owned_record> acked;
    std::optional<error> err;
    workload(fs, d.sub("t-0"), acked, err);
    REQUIRE_FALSE(err.has_value());
    total_syncs = fs.sync_calls();
  }
  REQUIRE(total_syncs > 25);
  for (std::uint64_t n = 1; n <= total_syncs; ++n) {
    temp_dir d;
    io::fault_fs fs;
    fs.fail_fsync_at(n);
    std::vector<owned_record> acked;
    std::optional<error> err;
    workload(fs, d.sub("t-0"), acked, err);
    INFO("fsync #" << n << " fails");
    REQUIRE(err.has_value());  // the failure always reaches the caller
    CHECK(err->code == errc::kafka_storage_error);
    CHECK(err->sys_errno == EIO);
    // The machine then loses power: only what was synced survives.
    fs.crash(io::crash_mode::power_loss);
    REQUIRE(fs.reboot().ok());
    auto cfg = small_config(1024);
    auto l = fault_log::open(d.sub("t-0"), opts_for(cfg), fs);
    REQUIRE(l.ok());
    require_contains(read_all(**l), acked);
  }
}

TEST_CASE("ENOSPC on append is a clear error, leaves no partial batch, and appends resume once space is freed",
          "[fault][enospc]") {
  // Small batches are stored through the mapping, large ones with pwrite.
  const std::size_t value_size = GENERATE(200, 2000);
  INFO("value size " << value_size);
  temp_dir d;
  const std::string dir = d.sub("t-0");
  io::fault_fs fs;
  auto cfg = small_config(64 * 1024);
  std::vector<owned_record> acked;
  {
    auto l = open_on(fs, dir, cfg);
    fs.set_space_budget(150 * 1024);
    std::optional<error> full;
    for (int i = 0; i < 10000 && !full; ++i) {
      std::vector<owned_record> owned;
      std::vector<record> recs;
      for (int j = 0; j < 10; ++j)
        owned.push_back(make_record(static_cast<std::int64_t>(acked.size()) + j, value_size));
      for (auto& o : owned) recs.push_back(o.view());
      const auto end_before = l->log_end_offset();
      auto info = l->append(recs);
      if (!info.ok()) {
        full = info.error();
        CHECK(l->log_end_offset() == end_before);  // nothing partial
      } else {
        acked.insert(acked.end(), owned.begin(), owned.end());
      }
    }
    REQUIRE(full.has_value());
    CHECK(full->code == errc::out_of_space);
    CHECK(full->sys_errno == ENOSPC);
    CHECK_FALSE(l->offline());  // a full disk is not an I/O failure
    require_contains(read_all(*l), acked);
    CHECK(read_all(*l).size() == acked.size());
    // Space is freed: work resumes on the same log object.
    fs.set_space_budget(std::nullopt);
    owned_record r = make_record(static_cast<std::int64_t>(acked.size()), value_size);
    REQUIRE(l->append(r.view()).ok());
    acked.push_back(r);
    REQUIRE(l->close().ok());
  }
  auto l = open_on(fs, dir, cfg);
  auto got = read_all(*l);
  REQUIRE(got.size() == acked.size());
  require_contains(got, acked);
}

TEST_CASE("a write failing with EIO fails the append, publishes nothing and takes the log offline", "[fault][eio]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  io::fault_fs fs;
  auto cfg = small_config(1 << 20);
  std::vector<owned_record> acked;
  {
    auto l = open_on(fs, dir, cfg);
    for (int i = 0; i < 5; ++i) {
      owned_record r = make_record(i, 50);
      REQUIRE(l->append(r.view()).ok());
      acked.push_back(r);
    }
    REQUIRE(l->flush().ok());
    fs.fail_writes(EIO);
    // A batch large enough to be stored with pwrite.
    std::vector<owned_record> owned;
    std::vector<record> recs;
    for (int i = 0; i < 20; ++i) owned.push_back(make_record(5 + i, 1000));
    for (auto& o : owned) recs.push_back(o.view());
    auto info = l->append(recs);
    REQUIRE_FALSE(info.ok());
    CHECK(info.code() == errc::kafka_storage_error);
    CHECK(info.error().sys_errno == EIO);
    CHECK(l->offline());
    CHECK(l->log_end_offset() == offset{5});
    CHECK(read_all(*l).size() == 5);
    owned_record again = make_record(99);
    CHECK(l->append(again.view()).code() == errc::log_offline);
    fs.fail_writes(0);
  }
  auto l = open_on(fs, dir, cfg);
  auto got = read_all(*l);
  REQUIRE(got.size() == acked.size());
  require_contains(got, acked);
}

TEST_CASE("ENOSPC while rolling a segment fails the append cleanly", "[fault][enospc]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  io::fault_fs fs;
  auto cfg = small_config(1024);
  auto l = open_on(fs, dir, cfg);
  std::vector<owned_record> acked;
  for (int i = 0; i < 8; ++i) {
    owned_record r = make_record(i, 100);
    REQUIRE(l->append(r.view()).ok());
    acked.push_back(r);
  }
  // No space at all: the next roll cannot reserve index or log space.
  fs.set_space_budget(0);
  std::optional<error> failed;
  for (int i = 0; i < 20 && !failed; ++i) {
    owned_record r = make_record(static_cast<std::int64_t>(acked.size()), 100);
    auto info = l->append(r.view());
    if (info.ok()) acked.push_back(r);
    else failed = info.error();
  }
  REQUIRE(failed.has_value());
  CHECK(failed->code == errc::out_of_space);
  fs.set_space_budget(std::nullopt);
  owned_record r = make_record(static_cast<std::int64_t>(acked.size()), 100);
  REQUIRE(l->append(r.view()).ok());
  acked.push_back(r);
  auto got = read_all(*l);
  REQUIRE(got.size() == acked.size());
  require_contains(got, acked);
}

TEST_CASE("delete_records is durable across power loss once it returns", "[fault][power]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  io::fault_fs fs;
  {
    auto l = open_on(fs, dir, small_config(1024));
    for (int i = 0; i < 40; ++i) {
      owned_record r = make_record(i, 60);
      REQUIRE(l->append(r.view()).ok());
    }
    REQUIRE(l->flush().ok());
    REQUIRE(l->delete_records(offset{17}).ok());
    fs.crash();
  }
  REQUIRE(fs.reboot().ok());
  auto l = open_on(fs, dir, small_config(1024));
  CHECK(l->log_start_offset() == offset{17});
  auto got = read_all(*l);
  REQUIRE(!got.empty());
  CHECK(got.front().off == 17);
  CHECK(got.back().off == 39);
}

TEST_CASE("fault_fs rolls back unsynced creates, renames and file contents on power loss", "[fault][fs]") {
  temp_dir d;
  io::fault_fs fs;
  const std::string a = d.sub("a"), b = d.sub("b"), c = d.sub("c");
  {
    auto fa = io::basic_file<io::fault_fs>::open(fs, a, io::open_mode::create);
    REQUIRE(fa.ok());
    REQUIRE(fa->pwrite("synced", 6, 0).ok());
    REQUIRE(fa->fsync().ok());
    REQUIRE(fs.fsync_dir(d.path()).ok());
    REQUIRE(fa->pwrite("SYNCED-AND-MORE", 15, 0).ok());  // not synced
    auto fb = io::basic_file<io::fault_fs>::open(fs, b, io::open_mode::create);
    REQUIRE(fb.ok());
    REQUIRE(fb->pwrite("b", 1, 0).ok());
    REQUIRE(fb->fsync().ok());  // synced data, but the directory was not
  }
  REQUIRE(fs.rename(a, c).ok());  // not made durable by a directory fsync
  fs.crash();
  REQUIRE(fs.reboot().ok());
  CHECK(test::read_file(a) == "synced");
  CHECK_FALSE(std::filesystem::exists(b));
  CHECK_FALSE(std::filesystem::exists(c));
}

TEST_CASE("a new log directory and what was flushed into it survive power loss", "[fault][power]") {
  temp_dir d;
  io::fault_fs fs;
  const std::string dir = d.sub("fresh-0");
  std::vector<owned_record> acked;
  {
    auto l = open_on(fs, dir, small_config());
    for (int i = 0; i < 5; ++i) {
      owned_record r = make_record(i);
      REQUIRE(l->append(r.view()).ok());
      acked.push_back(r);
    }
    REQUIRE(l->flush().ok());
    fs.crash(io::crash_mode::power_loss);
  }
  REQUIRE(fs.reboot().ok());
  REQUIRE(std::filesystem::is_directory(dir));
  auto l = open_on(fs, dir, small_config());
  require_contains(read_all(*l), acked);
}

TEST_CASE("fault_fs drops a directory whose creation was never synced", "[fault][fs]") {
  temp_dir d;
  io::fault_fs fs;
  REQUIRE(fs.mkdir(d.sub("gone")).ok());
  REQUIRE(fs.mkdir(d.sub("kept")).ok());
  REQUIRE(fs.fsync_dir(d.path()).ok());
  REQUIRE(fs.mkdir(d.sub("kept/inner")).ok());  // kept's own entries never synced
  fs.crash();
  REQUIRE(fs.reboot().ok());
  CHECK(std::filesystem::is_directory(d.sub("kept")));
  CHECK_FALSE(std::filesystem::exists(d.sub("kept/inner")));
  REQUIRE(fs.mkdir(d.sub("gone2")).ok());
  fs.crash();
  REQUIRE(fs.reboot().ok());
  CHECK_FALSE(std::filesystem::exists(d.sub("gone2")));
  (void)d.sub("gone");
}

TEST_CASE("truncate_to interrupted by a failed fsync at any step, then power loss, reopens consistently",
          "[fault][truncate]") {
  auto cfg = small_config(1024);
  // Count the syncs truncate_to makes, then fail each in turn.
  auto setup = [&](io::fault_fs& fs, const std::string& dir, std::vector<owned_record>& all) {
    auto l = open_on(fs, dir, cfg);
    for (int i = 0; i < 40; ++i) {
      owned_record r = make_record(i, 60);
      REQUIRE(l->append(r.view()).ok());
      all.push_back(r);
    }
    REQUIRE(l->flush().ok());
    REQUIRE(l->segments().size() >= 3);
    return l;
  };
  std::uint64_t syncs = 0;
  {
    temp_dir d;
    io::fault_fs fs;
    std::vector<owned_record> all;
    auto l = setup(fs, d.sub("t-0"), all);
    const auto before = fs.sync_calls();
    REQUIRE(l->truncate_to(offset{5}).ok());
    syncs = fs.sync_calls() - before;
  }
  REQUIRE(syncs >= 2);
  for (std::uint64_t k = 1; k <= syncs; ++k) {
    temp_dir d;
    io::fault_fs fs;
    std::vector<owned_record> all;
    {
      auto l = setup(fs, d.sub("t-0"), all);
      fs.fail_fsync_at(k);
      CHECK_FALSE(l->truncate_to(offset{5}).ok());
      fs.crash(io::crash_mode::power_loss);
    }
    REQUIRE(fs.reboot().ok());
    auto l = fault_log::open(d.sub("t-0"), opts_for(cfg), fs);
    INFO("fsync #" << k << " of truncate_to failed");
    REQUIRE(l.ok());  // never a log that only opens with repair
    auto got = read_all(**l);
    // Either the truncation happened or it did not: a dense prefix, at
    // least everything below the truncation point.
    REQUIRE(got.size() >= 5);
    for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i].key == all[i].key);
  }
}

TEST_CASE("records recovered after a kill -9 become durable at the next flush and survive power loss",
          "[fault][power]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  io::fault_fs fs;
  auto cfg = small_config(2048);
  std::vector<owned_record> all;
  {
    auto l = open_on(fs, dir, cfg);
    for (int i = 0; i < 60; ++i) {
      owned_record r = make_record(i, 40);
      REQUIRE(l->append(r.view()).ok());
      all.push_back(r);
      if (i == 20) REQUIRE(l->flush().ok());
    }
    REQUIRE(l->segments().size() > 2);
    fs.crash(io::crash_mode::process_kill);
  }
  REQUIRE(fs.reboot().ok());
  {
    auto l = open_on(fs, dir, cfg);
    CHECK(l->durable_offset() < offset{60});
    REQUIRE(read_all(*l).size() == 60);
    REQUIRE(l->flush().ok());
    CHECK(l->durable_offset() == offset{60});
    fs.crash(io::crash_mode::power_loss);
  }
  REQUIRE(fs.reboot().ok());
  auto l = open_on(fs, dir, cfg);
  auto got = read_all(*l);
  REQUIRE(got.size() == 60);
  require_contains(got, all);
}

TEST_CASE("closing a reopened log on a full disk needs no new space and succeeds", "[fault][enospc]") {
  temp_dir d;
  const std::string dir = d.sub("t-0");
  io::fault_fs fs;
  {
    auto l = open_on(fs, dir, small_config(2048));
    for (int i = 0; i < 30; ++i) {
      owned_record r = make_record(i, 40);
      REQUIRE(l->append(r.view()).ok());
    }
    REQUIRE(l->close().ok());
  }
  auto l = open_on(fs, dir, small_config(2048));
  fs.set_space_budget(0);
  CHECK(l->close().ok());
  fs.set_space_budget(std::nullopt);
  auto again = open_on(fs, dir, small_config(2048));
  CHECK(again->recovery().clean);
  CHECK(read_all(*again).size() == 30);
}

TEST_CASE("flush_until returns without an fsync when the durable offset already covers the target",
          "[fault][fsync][group]") {
  temp_dir d;
  io::fault_fs fs;
  auto l = fault_log::open(d.sub("t-0"), opts_for(small_config(1 << 20)), fs);
  REQUIRE(l.ok());
  owned_record r = make_record(1, 40);
  for (int i = 0; i < 10; ++i) REQUIRE((*l)->append(r.view()).ok());
  REQUIRE((*l)->flush_until(offset{5}).ok());
  REQUIRE((*l)->durable_offset().value() == 10);  // one fsync covers all appended so far
  const auto syncs = fs.sync_calls();
  REQUIRE((*l)->flush_until(offset{10}).ok());
  REQUIRE((*l)->flush_until(offset{3}).ok());
  CHECK(fs.sync_calls() == syncs);
  REQUIRE((*l)->append(r.view()).ok());
  REQUIRE((*l)->flush_until(offset{11}).ok());
  CHECK(fs.sync_calls() > syncs);
  CHECK((*l)->durable_offset().value() == 11);
}

TEST_CASE("flushes on other threads race the writer's appends and rolls; every flushed record survives power loss",
          "[fault][power][group][concurrency]") {
  temp_dir d;
  io::fault_fs fs;
  const std::string dir = d.sub("t-0");
  constexpr int appends = 3000;
  std::int64_t durable_seen = 0;
  {
    auto opened = fault_log::open(dir, opts_for(small_config(16 << 10)), fs);
    REQUIRE(opened.ok());
    auto& l = **opened;
    std::atomic<bool> done{false};
    std::atomic<int> flush_errors{0};
    std::atomic<std::int64_t> max_durable{0};
    std::vector<std::thread> flushers;
    for (int t = 0; t < 2; ++t) {
      flushers.emplace_back([&] {
        while (!done.load()) {
          const auto target = l.log_end_offset();
          if (!l.flush_until(target).ok()) ++flush_errors;
          const auto dur = l.durable_offset().value();
          if (dur < target.value()) ++flush_errors;  // flush_until returned before covering its target
          std::int64_t m = max_durable.load();
          while (dur > m && !max_durable.compare_exchange_weak(m, dur)) {
          }
        }
      });
    }
    int append_errors = 0;
    for (int i = 0; i < appends; ++i) {
      owned_record r = make_record(i, 50);
      if (!l.append(r.view()).ok()) ++append_errors;
    }
    done = true;
    for (auto& t : flushers) t.join();
    REQUIRE(append_errors == 0);
    REQUIRE(flush_errors.load() == 0);
    durable_seen = max_durable.load();
    REQUIRE(l.segments().size() > 3);  // rolls happened under the flushers
    fs.crash(io::crash_mode::power_loss);
  }
  REQUIRE(fs.reboot().ok());
  auto reopened = fault_log::open(dir, opts_for(small_config(16 << 10)), fs);
  REQUIRE(reopened.ok());
  auto got = read_all(**reopened);
  REQUIRE(static_cast<std::int64_t>(got.size()) >= durable_seen);
  for (std::int64_t i = 0; i < durable_seen; ++i) {
    REQUIRE(got[static_cast<std::size_t>(i)].off == i);
    REQUIRE(got[static_cast<std::size_t>(i)].key == make_record(i, 50).key);
  }
}

}  // namespace franz
