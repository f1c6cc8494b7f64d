// fuzz_offsets_meta — the small metadata decoders: __consumer_offsets keys
// and values (format/offsets_record.hpp), topics.meta (format/topics_meta.hpp),
// partition.checkpoint (format/checkpoint.hpp) and the file-name parsers
// (format/file_names.hpp).
//
// Input: a selector byte, then the bytes to decode.
//   sel % 8 == 0  offset key             4  partition.checkpoint
//              1  offset value           5  checkpoint, checksum repaired
//              2  key version            6  file names (data and partition
//              3  topics.meta               directory entries)
//              7  topics.meta, checksum repaired (so mutations get past it)
//
// Asserted beyond "no crash": whatever decodes re-encodes to the same bytes
// (offset keys and values, checkpoints), or for topics.meta to a file of
// the same size that decodes to the same topics; decoded values satisfy the
// documented ranges (partition >= 0, offset >= 0, valid unique sorted
// topic names, partitions in [1, max_partitions], ids below next_topic_id,
// checkpoint offsets >= 0); errors are CORRUPT_MESSAGE; a parsed segment
// file name formats back to itself, a parsed partition directory name too.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "franz/format/checkpoint.hpp"
#include "franz/format/file_names.hpp"
#include "franz/format/offsets_record.hpp"
#include "franz/format/topics_meta.hpp"
#include "fuzz_util.hpp"

namespace {

using namespace franz;
using bytes = std::vector<std::byte>;

std::string_view as_chars(std::span<const std::byte> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

void offset_key(std::string_view in) {
  const auto k = format::decode_offset_key(in);
  const auto ver = format::offsets_key_version(in);
  FUZZ_CHECK(ver.ok() == (in.size() >= 2));
  if (!k.ok()) {
    FUZZ_CHECK(k.code() == errc::corrupt_message);
    return;
  }
  FUZZ_CHECK(*ver == format::offset_key_version);
  FUZZ_CHECK(k->partition >= 0);
  FUZZ_CHECK(format::encode_offset_key(*k) == in);
}

void offset_value(std::string_view in) {
  const auto v = format::decode_offset_value(in);
  if (!v.ok()) {
    FUZZ_CHECK(v.code() == errc::corrupt_message);
    return;
  }
  FUZZ_CHECK(v->offset >= 0);
  FUZZ_CHECK(format::encode_offset_value(*v) == in);
}

void topics(std::span<const std::byte> in) {
  const auto m = format::decode_topics(in);
  if (!m) return;
  for (std::size_t i = 0; i < m->topics.size(); ++i) {
    const auto& t = m->topics[i];
    FUZZ_CHECK(format::topic_name_problem(t.name) == nullptr);
    FUZZ_CHECK(t.partitions >= 1 && t.partitions <= format::max_partitions);
    FUZZ_CHECK(t.topic_id != 0 && t.topic_id < m->next_topic_id);
    if (i > 0) FUZZ_CHECK(m->topics[i - 1].name < t.name);
  }
  const bytes again = format::encode_topics(*m);
  FUZZ_CHECK(again.size() == in.size());
  const auto m2 = format::decode_topics(again);
  FUZZ_CHECK(m2 && *m2 == *m);
}

void checkpoint(std::span<const std::byte> in) {
  const auto c = format::decode_checkpoint(in);
  if (!c) return;
  FUZZ_CHECK(c->log_start >= 0 && c->recovery_point >= 0);
  const auto again = format::encode_checkpoint(*c);
  FUZZ_CHECK(in.size() == again.size() && std::memcmp(in.data(), again.data(), again.size()) == 0);
}

void file_names(std::string_view in) {
  // Several names, split at '/' (which no real name contains).
  while (true) {
    const auto slash = in.find('/');
    const std::string_view name = in.substr(0, slash);
    const auto p = format::parse_file_name(name);
    switch (p.kind) {
      case format::file_kind::log:
        FUZZ_CHECK(p.base_offset >= 0 && format::segment_file(p.base_offset, format::log_suffix) == name);
        break;
      case format::file_kind::index:
        FUZZ_CHECK(p.base_offset >= 0 && format::segment_file(p.base_offset, format::index_suffix) == name);
        break;
      case format::file_kind::time_index:
        FUZZ_CHECK(p.base_offset >= 0 && format::segment_file(p.base_offset, format::time_index_suffix) == name);
        break;
      case format::file_kind::temporary:
        FUZZ_CHECK(name.ends_with(format::tmp_suffix));
        break;
      case format::file_kind::checkpoint:
        FUZZ_CHECK(name == format::checkpoint_file);
        break;
      case format::file_kind::lock:
        FUZZ_CHECK(name == format::lock_file);
        break;
      case format::file_kind::foreign:
        break;
    }
    const auto d = format::parse_data_entry(name);
    switch (d.kind) {
      case format::data_entry_kind::partition:
        FUZZ_CHECK(format::topic_name_problem(d.topic) == nullptr && d.partition >= 0);
        FUZZ_CHECK(format::partition_dir(d.topic, d.partition) == name);
        break;
      case format::data_entry_kind::deleted_partition:
        FUZZ_CHECK(name.ends_with(format::delete_suffix));
        break;
      case format::data_entry_kind::temporary:
        FUZZ_CHECK(name.ends_with(format::tmp_suffix));
        break;
      default:
        break;
    }
    if (const char* why = format::topic_name_problem(name)) FUZZ_CHECK(*why != '\0');
    if (slash == std::string_view::npos) break;
    in.remove_prefix(slash + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  franz::fuzz::input in(data, size);
  const std::uint8_t sel = in.byte();
  const auto rest = in.rest();
  switch (sel % 8) {
    case 0:
      offset_key(as_chars(rest));
      break;
    case 1:
      offset_value(as_chars(rest));
      break;
    case 2: {
      const auto v = format::offsets_key_version(as_chars(rest));
      FUZZ_CHECK(v.ok() == (rest.size() >= 2));
      if (v.ok()) FUZZ_CHECK(*v == format::load_le<std::uint16_t>(rest.data()));
      break;
    }
    case 3:
      topics(rest);
      break;
    case 4:
      checkpoint(rest);
      break;
    case 5: {
      bytes b(rest.begin(), rest.end());
      if (b.size() >= format::checkpoint_size) format::store_le(b.data() + 24, XXH3_64bits(b.data(), 24));
      checkpoint(b);
      break;
    }
    case 6:
      file_names(as_chars(rest));
      break;
    case 7: {
      bytes b(rest.begin(), rest.end());
      if (b.size() >= 8) format::store_le(b.data(), XXH3_64bits(b.data() + 8, b.size() - 8));
      topics(b);
      break;
    }
  }
  return 0;
}
