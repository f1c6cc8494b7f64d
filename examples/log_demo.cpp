// franz demo: append records to a partition log and read them back.
//
//   log_demo [DIR] [COUNT]      (defaults: /tmp/franz-demo/demo-0, 10)
//
// Run it twice: the second run reopens the log, and the offsets continue
// where the first run stopped.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <franz/franz.hpp>

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/franz-demo/demo-0";
  const int count = argc > 2 ? std::atoi(argv[2]) : 10;

  // The parent directory must exist; the log creates its own (mode 0700).
  const std::string parent = dir.substr(0, dir.rfind('/'));
  auto& fs = franz::io::posix_fs::instance();
  if (auto t = fs.stat(parent); !parent.empty() && t.ok() && *t == franz::io::path_type::missing) {
    if (auto s = fs.mkdir(parent); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.error().to_string().c_str());
      return 1;
    }
  }

  franz::log_options opts;
  opts.config.flush_messages = 1;  // fsync every append: acknowledged = durable
  auto log = franz::log::open(dir, opts);
  if (!log) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), log.error().to_string().c_str());
    return 1;
  }
  auto& l = **log;
  std::printf("opened %s: log start %lld, log end %lld, recovery %s\n", dir.c_str(),
              static_cast<long long>(l.log_start_offset().value()), static_cast<long long>(l.log_end_offset().value()),
              l.recovery().clean ? "clean" : l.recovery().detail.c_str());

  // Produce: one batch of `count` keyed records.
  const franz::offset first = l.log_end_offset();
  std::vector<std::string> keys, values;
  std::vector<franz::record> batch;
  for (int i = 0; i < count; ++i) {
    keys.push_back("user-" + std::to_string(i % 3));
    values.push_back("event #" + std::to_string(first.value() + i));
  }
  for (int i = 0; i < count; ++i) batch.push_back({.key = keys[i], .value = values[i]});
  auto appended = l.append(batch);
  if (!appended) {
    std::fprintf(stderr, "append: %s\n", appended.error().to_string().c_str());
    return 1;
  }
  std::printf("produced offsets %lld..%lld (durable up to %lld)\n",
              static_cast<long long>(appended->base_offset.value()), static_cast<long long>(appended->last_offset.value()),
              static_cast<long long>(l.durable_offset().value()));

  // Consume: everything this run wrote, zero-copy, checksums verified.
  auto read = l.read(first, 1 << 20);
  if (!read) {
    std::fprintf(stderr, "read: %s\n", read.error().to_string().c_str());
    return 1;
  }
  auto records = read->records();
  franz::record_view r;
  int seen = 0;
  while (records.next(r)) {
    std::printf("consumed offset %lld  key=%.*s  value=%.*s\n", static_cast<long long>(r.off.value()),
                static_cast<int>(r.key.size()), r.key.data(), static_cast<int>(r.value.size()), r.value.data());
    ++seen;
  }
  if (!records.status().ok()) {
    std::fprintf(stderr, "read: %s\n", records.status().error().to_string().c_str());
    return 1;
  }
  if (auto s = l.close(); !s.ok()) {
    std::fprintf(stderr, "close: %s\n", s.error().to_string().c_str());
    return 1;
  }
  std::printf("demo ok: %d records produced and consumed\n", seen);
  return seen == count ? 0 : 1;
}
