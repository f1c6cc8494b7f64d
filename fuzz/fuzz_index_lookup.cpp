// fuzz_index_lookup — basic_index (storage/index.hpp) over a hostile
// .index or .timeindex file: open, check, floor and count_below at many
// targets, then the writer's calls (reserve_one, append, truncate_to, trim).
//
// Input: u8 flags, u32 value limit for check(), u16 count of extra lookup
// targets, then those targets (u32 or i64 each), then the file's bytes.
//   flags bit 0: time index (12-byte entries), else offset index (8-byte)
//   flags bits 1-2: segment.index.bytes: the file size rounded down to
//     entries, 24, 4096, or half the file
//
// Asserted: entries() is the number of whole entries the file holds, capped
// by segment.index.bytes (less trailing all-zero ones); floor(t) is an entry of the index, at or below t,
// and nullopt only if the first entry is above t; when check() passes (keys
// strictly increase), floor and count_below equal a linear scan's answer;
// after append the new entry is last(); truncate_to keeps exactly n
// entries; trim leaves the file at exactly its entries.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "franz/format/index_entry.hpp"
#include "franz/io/posix_fs.hpp"
#include "franz/storage/index.hpp"
#include "fuzz_util.hpp"

namespace {

using namespace franz;

template <class Entry>
bool same(const Entry& a, const Entry& b) {
  return a.key() == b.key() && a.value() == b.value();
}

template <class Entry>
void run(franz::fuzz::input& in, std::uint8_t flags) {
  using key_type = typename Entry::key_type;
  const std::uint32_t value_limit = in.take<std::uint32_t>();
  std::vector<key_type> targets(in.take<std::uint16_t>() % 64);
  for (auto& t : targets) t = in.take<key_type>();
  const auto file = in.rest();

  const auto& dir = franz::fuzz::scratch_dir::instance();
  const std::string path = dir.sub(std::is_same_v<Entry, format::time_entry> ? "0.timeindex" : "0.index");
  franz::fuzz::write_file(path, file);

  std::int64_t max_bytes = 0;
  switch ((flags >> 1) & 3) {
    case 0:
      max_bytes = static_cast<std::int64_t>(file.size() / Entry::size * Entry::size);
      break;
    case 1:
      max_bytes = 24;
      break;
    case 2:
      max_bytes = 4096;
      break;
    case 3:
      max_bytes = static_cast<std::int64_t>(file.size() / 2);
      break;
  }
  max_bytes = std::max<std::int64_t>(max_bytes, 24);  // segment.index.bytes >= 24

  {
    basic_index<io::posix_fs, Entry> idx;
    const auto opened = idx.open(io::posix_fs::instance(), path, max_bytes);
    FUZZ_CHECK(opened.ok());
    // Whole entries, capped by segment.index.bytes; trailing all-zero ones
    // may be taken for preallocated space.
    const std::size_t n = idx.entries();
    const std::size_t whole =
        std::min<std::size_t>(file.size() / Entry::size, static_cast<std::size_t>(max_bytes) / Entry::size);
    FUZZ_CHECK(n <= whole);
    for (std::size_t i = n * Entry::size; i < whole * Entry::size; ++i) FUZZ_CHECK(file[i] == std::byte{0});
    FUZZ_CHECK(idx.max_entries() == static_cast<std::size_t>(max_bytes) / Entry::size);
    const auto fsize = idx.file_size();
    FUZZ_CHECK(fsize.ok() && *fsize == file.size());
    const bool sorted = idx.check(*fsize, value_limit);

    std::vector<Entry> all;
    for (std::size_t i = 0; i < n; ++i) all.push_back(idx.at(i));
    if (n)
      FUZZ_CHECK(same(*idx.last(), all.back()));
    else
      FUZZ_CHECK(!idx.last());
    if (sorted) {
      for (std::size_t i = 1; i < n; ++i) FUZZ_CHECK(all[i - 1].key() < all[i].key());
    }

    // Targets: keys and their neighbours (up to 64 keys, spread over the
    // index), the extremes, and the input's.
    for (std::size_t i = 0; i < n; i += std::max<std::size_t>(1, n / 64)) {
      const Entry& e = all[i];
      targets.push_back(e.key());
      if (e.key() > std::numeric_limits<key_type>::min()) targets.push_back(static_cast<key_type>(e.key() - 1));
      if (e.key() < std::numeric_limits<key_type>::max()) targets.push_back(static_cast<key_type>(e.key() + 1));
    }
    targets.push_back(std::numeric_limits<key_type>::min());
    targets.push_back(std::numeric_limits<key_type>::max());
    targets.push_back(0);
    for (const key_type t : targets) {
      const auto f = idx.floor(t);
      if (!f) {
        FUZZ_CHECK(n == 0 || all[0].key() > t);
      } else {
        FUZZ_CHECK(f->key() <= t);
        bool found = false;
        for (const auto& e : all) found |= same(e, *f);
        FUZZ_CHECK(found);
      }
      const std::size_t below = idx.count_below(t);
      FUZZ_CHECK(below <= n);
      if (sorted) {
        std::optional<Entry> want;
        std::size_t want_below = 0;
        for (const auto& e : all) {
          if (e.key() <= t) want = e;
          if (e.key() < t) ++want_below;
        }
        FUZZ_CHECK(f.has_value() == want.has_value());
        if (f) FUZZ_CHECK(same(*f, *want));
        FUZZ_CHECK(below == want_below);
      }
    }

    // The writer's calls on what was loaded.
    if (!idx.full()) {
      const auto r = idx.reserve_one();
      FUZZ_CHECK(r.ok());
      const key_type k = n ? all.back().key() : key_type{0};
      if (k < std::numeric_limits<key_type>::max()) {
        const Entry e{static_cast<key_type>(k + 1), 7u};
        idx.append(e);
        FUZZ_CHECK(idx.entries() == n + 1 && same(*idx.last(), e));
        all.push_back(e);
      }
    }
    const std::size_t half = idx.entries() / 2;
    idx.truncate_to(half);
    FUZZ_CHECK(idx.entries() == half);
    for (std::size_t i = 0; i < half; ++i) FUZZ_CHECK(same(idx.at(i), all[i]));
    FUZZ_CHECK(idx.trim().ok());
    const auto trimmed = idx.file_size();
    FUZZ_CHECK(trimmed.ok() && *trimmed == half * Entry::size);
    FUZZ_CHECK(idx.release().ok());
  }
  dir.clear();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  franz::fuzz::input in(data, size);
  const std::uint8_t flags = in.byte();
  if (flags & 1)
    run<format::time_entry>(in, flags);
  else
    run<format::offset_entry>(in, flags);
  return 0;
}
