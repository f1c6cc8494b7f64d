// The broker's admin side: the topics.meta format and the data-directory
// names ([topics-format]), then create/delete/describe topics, partitions,
// config overrides, delete_records, reopen, leftovers of interrupted
// operations, damage, strangers, locking, power loss and full disks
// ([admin]).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <filesystem>
#include <future>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace franz {

using namespace franz::test;  // temp_dir, make_record, list_files, from_hex, open_broker, ...
using namespace std::chrono_literals;
namespace stdfs = std::filesystem;

namespace {

using bytes = std::vector<std::byte>;

// The Kafka-style name of a result's code ("NONE" when it is ok), so that
// failures print names, not numbers.
template <class R>
std::string code_of(const R& r) {
  return std::string(errc_name(r.code()));
}

// Recomputes the checksum (XXH3-64 of [8, end)) after a test edited the
// bytes, so that decode gets past it to the check under test.
void reseal(bytes& b) {
  REQUIRE(b.size() >= 8);
  format::store_le(b.data(), static_cast<std::uint64_t>(XXH3_64bits(b.data() + 8, b.size() - 8)));
}

bool decodes(const bytes& b) { return format::decode_topics(b).has_value(); }

// Two topics, one with a config override: the golden-bytes example.
format::topics_meta small_meta() {
  format::topics_meta m;
  m.next_topic_id = 3;
  m.topics.push_back({"ab", 1, 2, {{"k", "v"}}});
  m.topics.push_back({"c", 2, 1, {}});
  return m;
}

// Encodes m as it is (encode_topics does not sort or validate).
bytes encoded(const format::topics_meta& m) { return format::encode_topics(m); }

// --- broker helpers ---------------------------------------------------------

broker_options opts_at(const std::string& dir, const clock* clk = &system_clock::instance()) {
  broker_options o;
  o.data_dir = dir;
  o.clk = clk;
  o.background_maintenance = false;
  return o;
}

topic_description describe(const broker& b, std::string_view topic) {
  auto d = b.describe_topic(topic);
  INFO((d.ok() ? std::string() : d.error().to_string()));
  REQUIRE(d.ok());
  return std::move(*d);
}

// Sends n records make_record(first + i) to topic/partition with acks=1 and
// linger.ms=0 (ts -1: the broker clock's now). Returns their offsets.
std::vector<std::int64_t> produce(broker& b, std::string_view topic, std::int32_t partition, int n, int first = 0,
                                  std::size_t value_size = 20, std::int64_t ts = -1) {
  auto p = producer::create(b, {.acks = ack::leader, .linger_ms = 0});
  REQUIRE_OK(p);
  std::vector<std::int64_t> offs;
  for (int i = 0; i < n; ++i) {
    const auto r = make_record(first + i, value_size);
    auto f = (*p)->send_future(
        {.topic = topic, .partition = partition, .ts = timestamp{ts}, .key = r.key, .value = r.value});
    const auto md = f.get();
    REQUIRE_OK(md);
    offs.push_back(md->off.value());
  }
  REQUIRE_OK((*p)->close());
  return offs;
}

struct got {
  std::int64_t off;
  std::int64_t ts;
  timestamp_type type;
  std::string key, value;
};

// Every record of topic/partition from its log start, through a consumer
// with auto.offset.reset=earliest.
std::vector<got> consume_all(broker& b, const std::string& topic, std::int32_t partition) {
  auto c = consumer::create(b, {.auto_offset_reset = offset_reset::earliest});
  REQUIRE_OK(c);
  const topic_partition tp{topic, partition};
  REQUIRE_OK((*c)->assign({tp}));
  auto end = (*c)->end_offsets({tp});
  REQUIRE_OK(end);
  const std::int64_t target = end->at(tp).value();
  auto pos = (*c)->position(tp);
  REQUIRE_OK(pos);
  std::int64_t next = pos->value();
  std::vector<got> out;
  while (next < target) {
    auto recs = (*c)->poll(1000ms);
    REQUIRE_OK(recs);
    REQUIRE(!recs->empty());
    for (const auto& r : *recs) {
      out.push_back({r.off.value(), r.ts.value(), r.ts_type, std::string(r.key), std::string(r.value)});
      next = r.off.value() + 1;
    }
  }
  REQUIRE_OK((*c)->close());
  return out;
}

// The records are make_record(first_key + i) at offsets first_offset + i.
void require_records(const std::vector<got>& recs, int first_key, int n, std::int64_t first_offset = 0,
                     std::size_t value_size = 20) {
  REQUIRE(recs.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto want = make_record(first_key + i, value_size);
    const auto& r = recs[static_cast<std::size_t>(i)];
    CHECK(r.off == first_offset + i);
    CHECK(r.key == want.key);
    CHECK(r.value == want.value);
  }
}

std::vector<std::string> names(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }

// Runs an admin call with the n-th sync from now failing and returns its
// status. A call that made fewer than n syncs was not hit: it must have
// succeeded, and done is set (every sync it makes has had its turn).
template <class Call>
status with_failing_sync(io::fault_fs& ffs, std::uint64_t n, bool& done, Call call) {
  const auto before = ffs.sync_calls();
  ffs.fail_fsync_at(n);
  const status s = call();
  if (ffs.sync_calls() < before + n) {
    REQUIRE(s.ok());
    done = true;
  }
  return s;
}

// The data directory holds only the broker's own files: no partition
// directory, no -delete directory, no .tmp.
void require_empty_data_dir(const std::string& dir) {
  CHECK(list_files(dir) == names({".lock", "topics.meta"}));
}

}  // namespace

// ============================================================================
// topics.meta
// ============================================================================

TEST_CASE("topics.meta: two topics encode to the documented bytes", "[topics-format]") {
  // Worked out field by field from the layout in topics_meta.hpp; only the
  // checksum (bytes 0-7) is computed, over bytes [8, end).
  bytes want = from_hex(
      "00 00 00 00 00 00 00 00"  // checksum, filled in below
      "46 5a 54 4d"              // magic "FZTM"
      "01 00"                    // version 1
      "00 00"                    // reserved
      "02 00 00 00"              // count 2
      "00 00 00 00"              // reserved
      "03 00 00 00 00 00 00 00"  // next_topic_id 3
      // topic "ab"
      "01 00 00 00 00 00 00 00"  // topic_id 1
      "02 00 00 00"              // partitions 2
      "02 00 61 62"              // name length 2, "ab"
      "01 00"                    // config count 1
      "01 00 6b"                 // key length 1, "k"
      "01 00 00 00 76"           // value length 1, "v"
      // topic "c"
      "02 00 00 00 00 00 00 00"  // topic_id 2
      "01 00 00 00"              // partitions 1
      "01 00 63"                 // name length 1, "c"
      "00 00");                  // config count 0
  REQUIRE(want.size() == 32 + 26 + 17);
  const std::uint64_t sum = XXH3_64bits(want.data() + 8, want.size() - 8);
  for (int i = 0; i < 8; ++i) want[static_cast<std::size_t>(i)] = static_cast<std::byte>((sum >> (8 * i)) & 0xff);

  const bytes got_bytes = encoded(small_meta());
  CHECK(got_bytes == want);
  auto back = format::decode_topics(want);
  REQUIRE(back.has_value());
  CHECK(*back == small_meta());
}

TEST_CASE("topics.meta: an empty topic list is the 32-byte header alone", "[topics-format]") {
  format::topics_meta m;
  m.next_topic_id = 1;
  bytes want = from_hex("0000000000000000 465a544d 0100 0000 00000000 00000000 0100000000000000");
  reseal(want);
  CHECK(encoded(m) == want);
  auto back = format::decode_topics(want);
  REQUIRE(back.has_value());
  CHECK(back->topics.empty());
  CHECK(back->next_topic_id == 1);
}

TEST_CASE("topics.meta: round trip keeps names, ids, partition counts and overrides", "[topics-format]") {
  format::topics_meta m;
  m.next_topic_id = (std::uint64_t{1} << 40) + 7;
  m.topics.push_back({"-", 1, 1, {}});
  m.topics.push_back({"A.b_c-9", 5, format::max_partitions, {{"retention.ms", "-1"}, {"x", ""}}});
  m.topics.push_back({std::string(249, 'z'), std::uint64_t{1} << 40, 17,
                      {{"segment.bytes", "1048576"}, {std::string(300, 'k'), std::string(70000, 'v')}}});
  const bytes b = encoded(m);
  auto back = format::decode_topics(b);
  REQUIRE(back.has_value());
  CHECK(*back == m);
  CHECK(encoded(*back) == b);
}

TEST_CASE("topics.meta: every single-bit flip is refused", "[topics-format]") {
  const bytes good = encoded(small_meta());
  REQUIRE(decodes(good));
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      bytes bad = good;
      bad[i] ^= static_cast<std::byte>(1 << bit);
      INFO("byte " << i << " bit " << bit);
      CHECK_FALSE(decodes(bad));
    }
  }
}

TEST_CASE("topics.meta: a file cut at any length is refused, with or without a matching checksum", "[topics-format]") {
  const bytes good = encoded(small_meta());
  for (std::size_t n = 0; n < good.size(); ++n) {
    bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    INFO("length " << n);
    CHECK_FALSE(decodes(cut));
    // The checksum fixed up: the structure alone must still refuse it (the
    // count promises two topics).
    if (n >= 8) {
      reseal(cut);
      CHECK_FALSE(decodes(cut));
    }
  }
}

TEST_CASE("topics.meta: bad magic, version or reserved fields are refused", "[topics-format]") {
  const bytes good = encoded(small_meta());
  auto edited = [&](std::size_t at, auto value) {
    bytes b = good;
    format::store_le(b.data() + at, value);
    reseal(b);
    return b;
  };
  // A control: resealing an unedited copy still decodes.
  CHECK(decodes(edited(8, format::topics_magic)));
  CHECK_FALSE(decodes(edited(8, std::uint32_t{0x4d545a47})));  // "GZTM"
  CHECK_FALSE(decodes(edited(8, std::uint32_t{0})));
  CHECK_FALSE(decodes(edited(12, std::uint16_t{0})));
  CHECK_FALSE(decodes(edited(12, std::uint16_t{2})));
  CHECK_FALSE(decodes(edited(14, std::uint16_t{1})));
  CHECK_FALSE(decodes(edited(20, std::uint32_t{0x100})));
}

TEST_CASE("topics.meta: unsorted or repeated topic names are refused", "[topics-format]") {
  format::topics_meta m = small_meta();
  std::swap(m.topics[0], m.topics[1]);  // "c" before "ab"
  CHECK_FALSE(decodes(encoded(m)));

  format::topics_meta dup;
  dup.next_topic_id = 3;
  dup.topics.push_back({"same", 1, 1, {}});
  dup.topics.push_back({"same", 2, 1, {}});
  CHECK_FALSE(decodes(encoded(dup)));

  // A prefix sorts first: "a" < "a-b" < "a.b" (byte order) is accepted...
  format::topics_meta ok;
  ok.next_topic_id = 4;
  ok.topics.push_back({"a", 1, 1, {}});
  ok.topics.push_back({"a-b", 2, 1, {}});
  ok.topics.push_back({"a.b", 3, 1, {}});
  CHECK(decodes(encoded(ok)));
  // ...and the reverse is not.
  std::swap(ok.topics[0], ok.topics[1]);
  CHECK_FALSE(decodes(encoded(ok)));
}

TEST_CASE("topics.meta: invalid topic names are refused", "[topics-format]") {
  const std::vector<std::string> bad = {"", ".", "..", std::string(250, 'a'), "a/b", "a b", std::string("a\0b", 3),
                                        "../x", "caf\xc3\xa9"};
  for (const auto& name : bad) {
    format::topics_meta m;
    m.next_topic_id = 2;
    m.topics.push_back({name, 1, 1, {}});
    INFO("name '" << name << "'");
    CHECK_FALSE(decodes(encoded(m)));
  }
  format::topics_meta control;
  control.next_topic_id = 2;
  control.topics.push_back({std::string(249, 'a'), 1, 1, {}});
  CHECK(decodes(encoded(control)));
}

TEST_CASE("topics.meta: partition counts outside [1, max_partitions] are refused", "[topics-format]") {
  for (std::int32_t n : {0, -1, -5, INT32_MIN, format::max_partitions + 1, INT32_MAX}) {
    format::topics_meta m;
    m.next_topic_id = 2;
    m.topics.push_back({"t", 1, n, {}});
    INFO("partitions " << n);
    CHECK_FALSE(decodes(encoded(m)));
  }
  for (std::int32_t n : {1, format::max_partitions}) {
    format::topics_meta m;
    m.next_topic_id = 2;
    m.topics.push_back({"t", 1, n, {}});
    CHECK(decodes(encoded(m)));
  }
}

TEST_CASE("topics.meta: topic ids of 0 or at or past next_topic_id are refused", "[topics-format]") {
  auto with_id = [](std::uint64_t id, std::uint64_t next) {
    format::topics_meta m;
    m.next_topic_id = next;
    m.topics.push_back({"t", id, 1, {}});
    return encoded(m);
  };
  CHECK(decodes(with_id(4, 5)));
  CHECK_FALSE(decodes(with_id(5, 5)));
  CHECK_FALSE(decodes(with_id(6, 5)));
  CHECK_FALSE(decodes(with_id(0, 5)));
  CHECK_FALSE(decodes(with_id(1, 1)));
  CHECK_FALSE(decodes(with_id(1, 0)));
}

TEST_CASE("topics.meta: trailing bytes and lengths that overrun the file are refused", "[topics-format]") {
  const bytes good = encoded(small_meta());
  for (std::size_t extra : {1u, 7u, 8u, 100u}) {
    bytes b = good;
    b.resize(b.size() + extra, std::byte{0});
    reseal(b);
    INFO("extra " << extra);
    CHECK_FALSE(decodes(b));
  }
  // The first topic's name length (at 32 + 8 + 4) claims 0xffff bytes.
  bytes b = good;
  format::store_le(b.data() + 44, std::uint16_t{0xffff});
  reseal(b);
  CHECK_FALSE(decodes(b));
  // A count of topics far beyond what the file holds.
  b = good;
  format::store_le(b.data() + 16, std::uint32_t{0xffffffff});
  reseal(b);
  CHECK_FALSE(decodes(b));
  // The value length of "k" (at 32 + 8 + 4 + 2 + 2 + 2 + 2 + 1) claims 4 GiB.
  b = good;
  format::store_le(b.data() + 53, std::uint32_t{0xffffffff});
  reseal(b);
  CHECK_FALSE(decodes(b));
}

TEST_CASE("topics.meta: a repeated config key in one topic is refused", "[topics-format]") {
  format::topics_meta m;
  m.next_topic_id = 2;
  m.topics.push_back({"t", 1, 1, {{"k", "v"}}});
  const bytes one = encoded(m);
  // The config count sits after the name ("t" ends at 32 + 8 + 4 + 2 + 1).
  const std::size_t count_at = 47;
  REQUIRE(format::load_le<std::uint16_t>(one.data() + count_at) == 1);
  auto with_second_key = [&](char key) {
    bytes b = one;
    format::store_le(b.data() + count_at, std::uint16_t{2});
    const bytes entry = from_hex("0100");
    b.insert(b.end(), entry.begin(), entry.end());
    b.push_back(static_cast<std::byte>(key));
    const bytes vlen = from_hex("01000000");
    b.insert(b.end(), vlen.begin(), vlen.end());
    b.push_back(std::byte{'w'});
    reseal(b);
    return b;
  };
  auto two = format::decode_topics(with_second_key('l'));  // control: distinct keys decode
  REQUIRE(two.has_value());
  CHECK(two->topics.at(0).config == std::map<std::string, std::string>{{"k", "v"}, {"l", "w"}});
  CHECK_FALSE(decodes(with_second_key('k')));
}

// ============================================================================
// topic names and data-directory entries
// ============================================================================

TEST_CASE("topic names: 1 to 249 of letters, digits, '.', '_' and '-' are valid", "[topics-format]") {
  for (const std::string& name : {std::string("a"), std::string("Z"), std::string("0"), std::string("-"),
                                  std::string("_"), std::string("..."), std::string(".a"), std::string("a..b"),
                                  std::string("abcXYZ019._-"), std::string(249, 'x'), std::string("topics.meta"),
                                  std::string(".lock")}) {
    INFO("name '" << name << "'");
    CHECK(format::topic_name_problem(name) == nullptr);
  }
}

TEST_CASE("topic names: empty, '.', '..', 250 chars, '/', space, NUL and non-ASCII are invalid", "[topics-format]") {
  for (const std::string& name :
       {std::string(), std::string("."), std::string(".."), std::string(250, 'x'), std::string("a/b"),
        std::string("a b"), std::string("a\0b", 3), std::string(1, '\0'), std::string("../x"), std::string("/x"),
        std::string("caf\xc3\xa9"), std::string("\xff"), std::string("a\nb"), std::string("a+b"),
        std::string("a:b"), std::string("a\\b")}) {
    INFO("name of " << name.size() << " bytes");
    CHECK(format::topic_name_problem(name) != nullptr);
  }
}

TEST_CASE("parse_data_entry: <topic>-<n> is split at the last dash", "[topics-format]") {
  auto e = format::parse_data_entry("a-b-0");
  CHECK(e.kind == format::data_entry_kind::partition);
  CHECK(e.topic == "a-b");
  CHECK(e.partition == 0);

  e = format::parse_data_entry("orders-17");
  CHECK(e.kind == format::data_entry_kind::partition);
  CHECK(e.topic == "orders");
  CHECK(e.partition == 17);

  e = format::parse_data_entry("--3");  // the topic "-"
  CHECK(e.kind == format::data_entry_kind::partition);
  CHECK(e.topic == "-");
  CHECK(e.partition == 3);

  e = format::parse_data_entry("t--1");  // the topic "t-"
  CHECK(e.kind == format::data_entry_kind::partition);
  CHECK(e.topic == "t-");
  CHECK(e.partition == 1);

  const std::string longest = std::string(249, 'q') + "-2147483647";
  e = format::parse_data_entry(longest);
  CHECK(e.kind == format::data_entry_kind::partition);
  CHECK(e.topic == std::string(249, 'q'));
  CHECK(e.partition == INT32_MAX);
}

TEST_CASE("parse_data_entry: leading zeros, empty parts, bad topics and strangers are foreign", "[topics-format]") {
  for (const char* name : {"t-00", "t-01", "t-", "-0", "-", "t", "README", "t-1x", "t-+1", "t- 1", "t-1.tmp",
                           "t-2147483648", "t-99999999999", "..-0", ".-0", "a b-0", "t-0.tmp", "topics.meta.bak",
                           "topics.met", ".lock.tmp", "topics.meta.tmp.tmp", "lost+found"}) {
    INFO("name '" << name << "'");
    CHECK(format::parse_data_entry(name).kind == format::data_entry_kind::foreign);
  }
}

TEST_CASE("parse_data_entry: topics.meta, .lock, topics.meta.tmp and -delete directories are franz's",
          "[topics-format]") {
  CHECK(format::parse_data_entry("topics.meta").kind == format::data_entry_kind::topics_file);
  CHECK(format::parse_data_entry(".lock").kind == format::data_entry_kind::lock);
  CHECK(format::parse_data_entry("topics.meta.tmp").kind == format::data_entry_kind::temporary);
  CHECK(format::parse_data_entry("x-1.5-delete").kind == format::data_entry_kind::deleted_partition);
  CHECK(format::parse_data_entry(format::deleted_partition_dir("a-b", 3, 12)).kind ==
        format::data_entry_kind::deleted_partition);
  CHECK(format::deleted_partition_dir("a-b", 3, 12) == "a-b-3.12-delete");
  CHECK(format::partition_dir("a-b", 3) == "a-b-3");
  // The broker shortens a long topic to 200 characters in this name.
  CHECK(format::parse_data_entry(format::deleted_partition_dir(std::string(200, 'w'), 0, 99)).kind ==
        format::data_entry_kind::deleted_partition);
}

// franz removes every deleted_partition entry on open. Only names it makes
// (<topic>-<n>.<id>-delete) may be classified so; anything else that merely
// ends in "-delete" is a stranger's (as for .tmp: franz does not delete a
// stranger's file because of its suffix).
TEST_CASE("parse_data_entry: a name that only ends in -delete is foreign", "[topics-format]") {
  for (const char* name : {"-delete", "photos-delete", "x-delete", "x-1-delete", "x-1.-delete", "x-1.abc-delete",
                           "x-.5-delete", "a b-1.5-delete", "x-1.5--delete"}) {
    INFO("name '" << name << "'");
    CHECK(format::parse_data_entry(name).kind == format::data_entry_kind::foreign);
  }
}

// ============================================================================
// create_topic, list_topics, describe_topic
// ============================================================================

TEST_CASE("create_topic: list and describe show partitions, empty offsets and the effective config", "[admin]") {
  temp_dir d;
  broker_options o = opts_at(d.path());
  o.log_defaults.retention_ms = 123456;
  auto b = open_broker(o);
  CHECK(b->list_topics().empty());
  REQUIRE_OK(b->create_topic("orders", 3, {{"segment.bytes", "65536"}}));
  REQUIRE_OK(b->create_topic("audit", 1));
  CHECK(b->list_topics() == names({"audit", "orders"}));

  const auto orders = describe(*b, "orders");
  CHECK(orders.name == "orders");
  CHECK(orders.topic_id != 0);
  REQUIRE(orders.partitions.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& p = orders.partitions[i];
    CHECK(p.partition == static_cast<std::int32_t>(i));
    CHECK(p.log_start == offset{0});
    CHECK(p.log_end == offset{0});
    CHECK(p.durable == offset{0});
    CHECK(p.size_bytes == 0);
    CHECK(p.segments == 1);
  }
  CHECK(orders.overrides == std::map<std::string, std::string>{{"segment.bytes", "65536"}});
  log_config want = o.log_defaults;
  want.segment_bytes = 65536;
  CHECK(orders.config == want.to_properties());
  CHECK(orders.config.at("segment.bytes") == "65536");
  CHECK(orders.config.at("retention.ms") == "123456");  // the broker default

  const auto audit = describe(*b, "audit");
  CHECK(audit.topic_id != orders.topic_id);
  CHECK(audit.overrides.empty());
  CHECK(audit.config == o.log_defaults.to_properties());
  REQUIRE(audit.partitions.size() == 1);

  CHECK(list_files(d.path()) == names({".lock", "audit-0", "orders-0", "orders-1", "orders-2", "topics.meta"}));
  CHECK(file_mode(d.sub("orders-2")) == 0700);

  // Offsets and sizes follow what is produced, per partition.
  produce(*b, "orders", 1, 3);
  const auto after = describe(*b, "orders");
  CHECK(after.partitions[0].log_end == offset{0});
  CHECK(after.partitions[1].log_end == offset{3});
  CHECK(after.partitions[1].size_bytes > 0);
  CHECK(after.partitions[2].log_end == offset{0});
  CHECK(code_of(b->describe_topic("nope")) == "UNKNOWN_TOPIC_OR_PARTITION");
}

TEST_CASE("create_topic: an existing name is TOPIC_ALREADY_EXISTS and changes nothing", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("t", 2, {{"retention.ms", "1000"}}));
  produce(*b, "t", 0, 4);
  const auto before = describe(*b, "t");
  const std::string meta_before = read_file(d.sub("topics.meta"));

  CHECK(code_of(b->create_topic("t", 2, {{"retention.ms", "1000"}})) == "TOPIC_ALREADY_EXISTS");
  CHECK(code_of(b->create_topic("t", 5, {{"segment.bytes", "2048"}})) == "TOPIC_ALREADY_EXISTS");
  CHECK(code_of(b->create_topic("t")) == "TOPIC_ALREADY_EXISTS");

  const auto after = describe(*b, "t");
  CHECK(after.topic_id == before.topic_id);
  CHECK(after.partitions.size() == 2);
  CHECK(after.overrides == before.overrides);
  CHECK(after.partitions[0].log_end == offset{4});
  CHECK(read_file(d.sub("topics.meta")) == meta_before);
  CHECK(list_files(d.path()) == names({".lock", "t-0", "t-1", "topics.meta"}));
  require_records(consume_all(*b, "t", 0), 0, 4);
}

TEST_CASE("create_topic: each invalid name is INVALID_TOPIC_EXCEPTION and creates nothing", "[admin]") {
  temp_dir d;
  const std::string data = d.sub("data");
  auto b = open_broker(opts_at(data));
  for (const std::string& name :
       {std::string(), std::string("."), std::string(".."), std::string(250, 'a'), std::string("a/b"),
        std::string("a b"), std::string("a\0b", 3), std::string("../x"), std::string("/tmp/x"),
        std::string("caf\xc3\xa9"), std::string("a\nb")}) {
    INFO("name of " << name.size() << " bytes: '" << name << "'");
    CHECK(code_of(b->create_topic(name, 1)) == "INVALID_TOPIC_EXCEPTION");
  }
  CHECK(b->list_topics().empty());
  require_empty_data_dir(data);
  CHECK(list_files(d.path()) == names({"data"}));  // "../x" made nothing next to the data dir
  CHECK(file_mode(data) == 0700);                  // created by open, private
  // A valid name still works afterwards.
  REQUIRE_OK(b->create_topic(std::string(249, 'a'), 1));
  CHECK(b->list_topics() == std::vector<std::string>{std::string(249, 'a')});
}

TEST_CASE("create_topic: partition counts 0, -5 and above the maximum are INVALID_PARTITIONS", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  for (std::int32_t n : {0, -5, -2, INT32_MIN, format::max_partitions + 1, INT32_MAX}) {
    INFO("partitions " << n);
    CHECK(code_of(b->create_topic("t", n)) == "INVALID_PARTITIONS");
  }
  // A count whose directory names would not fit in 255 bytes.
  CHECK(code_of(b->create_topic(std::string(249, 'n'), 100001)) == "INVALID_PARTITIONS");
  CHECK(b->list_topics().empty());
  require_empty_data_dir(d.path());
}

TEST_CASE("create_topic: -1 partitions means broker_options.num_partitions", "[admin]") {
  temp_dir d;
  broker_options o = opts_at(d.path());
  o.num_partitions = 4;
  auto b = open_broker(o);
  REQUIRE_OK(b->create_topic("four", -1));
  REQUIRE_OK(b->create_topic("dflt"));  // the default argument is -1 too
  CHECK(describe(*b, "four").partitions.size() == 4);
  CHECK(describe(*b, "dflt").partitions.size() == 4);
  b.reset();

  temp_dir d2;
  auto b2 = open_broker(opts_at(d2.path()));  // num_partitions defaults to 1
  REQUIRE_OK(b2->create_topic("one", -1));
  CHECK(describe(*b2, "one").partitions.size() == 1);
}

TEST_CASE("create_topic: an unknown key or bad value is INVALID_CONFIG and leaves nothing", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  const std::vector<std::map<std::string, std::string>> bad = {
      {{"retention.mss", "1"}},
      {{"segment.bytes", "12"}},
      {{"segment.bytes", "abc"}},
      {{"segment.bytes", ""}},
      {{"segment.bytes", "4096 "}},
      {{"segment.ms", "0"}},
      {{"retention.ms", "-2"}},
      {{"retention.bytes", "-7"}},
      {{"cleanup.policy", "sometimes"}},
      {{"compression.type", "gzip"}},
      {{"message.timestamp.type", "Now"}},
      {{"max.message.bytes", "1"}},
      {{"flush.messages", "0"}},
      {{"flush.ms", "-1"}},
      {{"retention.ms", "1000"}, {"bogus", "1"}},  // one good key does not save a bad one
  };
  for (const auto& cfg : bad) {
    INFO("config " << cfg.begin()->first << "=" << cfg.begin()->second);
    CHECK(code_of(b->create_topic("t", 3, cfg)) == "INVALID_CONFIG");
    CHECK(b->list_topics().empty());
    CHECK(code_of(b->describe_topic("t")) == "UNKNOWN_TOPIC_OR_PARTITION");
    require_empty_data_dir(d.path());
  }
  REQUIRE_OK(b->create_topic("t", 3, {{"retention.ms", "1000"}}));
  CHECK(describe(*b, "t").partitions.size() == 3);
}

// ============================================================================
// per-topic config overrides
// ============================================================================

namespace {
// A non-default value for every topic key the issue names.
const std::map<std::string, std::string> all_overrides = {
    {"segment.bytes", "1048576"},       {"segment.ms", "3600000"},      {"retention.ms", "86400000"},
    {"retention.bytes", "1073741824"},  {"cleanup.policy", "compact"},  {"compression.type", "zstd"},
    {"flush.messages", "100"},          {"flush.ms", "5000"},           {"max.message.bytes", "65536"},
    {"message.timestamp.type", "LogAppendTime"},
};
}  // namespace

TEST_CASE("overrides: describe shows each named key as override and as effective value", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("all", 1, all_overrides));
  REQUIRE_OK(b->create_topic("none", 1));
  const auto all = describe(*b, "all");
  CHECK(all.overrides == all_overrides);
  for (const auto& [k, v] : all_overrides) {
    INFO(k);
    CHECK(all.config.at(k) == v);
    CHECK(describe(*b, "none").config.at(k) != v);  // the value is not the default
  }
  // Keys not overridden keep the broker default.
  CHECK(all.config.at("segment.index.bytes") == log_config{}.to_properties().at("segment.index.bytes"));
  // Each key alone works too.
  int i = 0;
  for (const auto& kv : all_overrides) {
    const std::string name = "one" + std::to_string(i++);
    REQUIRE_OK(b->create_topic(name, 1, {kv}));
    const auto one = describe(*b, name);
    CHECK(one.overrides == std::map<std::string, std::string>{kv});
    CHECK(one.config.at(kv.first) == kv.second);
  }
}

TEST_CASE("overrides: a small segment.bytes rolls produced data into several segments", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("small", 1, {{"segment.bytes", "1024"}}));
  REQUIRE_OK(b->create_topic("big", 1));
  produce(*b, "small", 0, 40, 0, 100);
  produce(*b, "big", 0, 40, 0, 100);
  CHECK(describe(*b, "small").partitions[0].segments >= 4);
  CHECK(describe(*b, "big").partitions[0].segments == 1);
  require_records(consume_all(*b, "small", 0), 0, 40, 0, 100);
}

TEST_CASE("overrides: segment.ms rolls the active segment on tick once it is that old", "[admin]") {
  temp_dir d;
  manual_clock clk;
  auto b = open_broker(opts_at(d.path(), &clk));
  REQUIRE_OK(b->create_topic("t", 1, {{"segment.ms", "1000"}}));
  REQUIRE_OK(b->create_topic("u", 1));
  produce(*b, "t", 0, 3);
  produce(*b, "u", 0, 3);
  clk.advance(999);
  REQUIRE_OK(b->tick());
  CHECK(describe(*b, "t").partitions[0].segments == 1);
  clk.advance(1);
  REQUIRE_OK(b->tick());
  CHECK(describe(*b, "t").partitions[0].segments == 2);
  CHECK(describe(*b, "u").partitions[0].segments == 1);
}

TEST_CASE("overrides: retention.ms deletes old sealed segments on tick", "[admin]") {
  temp_dir d;
  manual_clock clk;
  auto b = open_broker(opts_at(d.path(), &clk));
  REQUIRE_OK(b->create_topic("t", 1, {{"retention.ms", "10000"}, {"segment.bytes", "1024"}}));
  REQUIRE_OK(b->create_topic("u", 1, {{"segment.bytes", "1024"}}));
  produce(*b, "t", 0, 40, 0, 100);
  produce(*b, "u", 0, 40, 0, 100);
  REQUIRE_OK(b->tick());
  CHECK(describe(*b, "t").partitions[0].log_start == offset{0});
  clk.advance(10001);
  REQUIRE_OK(b->tick());
  const auto t = describe(*b, "t").partitions[0];
  CHECK(t.log_start > offset{0});
  CHECK(t.segments == 1);  // only the active segment is left
  CHECK(describe(*b, "u").partitions[0].log_start == offset{0});
  const auto recs = consume_all(*b, "t", 0);
  REQUIRE(!recs.empty());
  CHECK(recs.front().off == t.log_start.value());
  CHECK(recs.back().off == 39);
}

TEST_CASE("overrides: retention.bytes deletes the oldest segments on tick", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("t", 1, {{"retention.bytes", "2048"}, {"segment.bytes", "1024"}}));
  REQUIRE_OK(b->create_topic("u", 1, {{"segment.bytes", "1024"}}));
  produce(*b, "t", 0, 60, 0, 100);
  produce(*b, "u", 0, 60, 0, 100);
  REQUIRE_OK(b->tick());
  const auto t = describe(*b, "t").partitions[0];
  const auto u = describe(*b, "u").partitions[0];
  CHECK(t.log_start > offset{0});
  // As in Kafka, a segment goes only if at least retention.bytes remain
  // without it: between 2048 and one segment more.
  CHECK(t.size_bytes >= 2048);
  CHECK(t.size_bytes < 2048 + 1024);
  CHECK(t.log_end == offset{60});
  CHECK(u.log_start == offset{0});
  CHECK(u.size_bytes > 2048);
}

TEST_CASE("overrides: compression.type=zstd compresses produced batches", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("z", 1, {{"compression.type", "zstd"}}));
  REQUIRE_OK(b->create_topic("n", 1));
  produce(*b, "z", 0, 20, 0, 4000);
  produce(*b, "n", 0, 20, 0, 4000);
  const auto z = describe(*b, "z").partitions[0].size_bytes;
  const auto n = describe(*b, "n").partitions[0].size_bytes;
  CHECK(z > 0);
  CHECK(z * 4 < n);
  require_records(consume_all(*b, "z", 0), 0, 20, 0, 4000);  // decompressed on read
}

TEST_CASE("overrides: flush.messages=1 makes every append durable", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("f", 1, {{"flush.messages", "1"}}));
  REQUIRE_OK(b->create_topic("n", 1));
  produce(*b, "f", 0, 5);
  produce(*b, "n", 0, 5);
  CHECK(describe(*b, "f").partitions[0].durable == offset{5});
  CHECK(describe(*b, "n").partitions[0].durable == offset{0});
}

TEST_CASE("overrides: flush.ms flushes on tick once the last flush is that old", "[admin]") {
  temp_dir d;
  manual_clock clk;
  auto b = open_broker(opts_at(d.path(), &clk));
  REQUIRE_OK(b->create_topic("f", 1, {{"flush.ms", "1000"}}));
  REQUIRE_OK(b->create_topic("n", 1));
  produce(*b, "f", 0, 3);
  produce(*b, "n", 0, 3);
  REQUIRE_OK(b->tick());
  CHECK(describe(*b, "f").partitions[0].durable == offset{0});
  clk.advance(1000);
  REQUIRE_OK(b->tick());
  CHECK(describe(*b, "f").partitions[0].durable == offset{3});
  CHECK(describe(*b, "n").partitions[0].durable == offset{0});
}

TEST_CASE("overrides: max.message.bytes refuses larger records with RECORD_TOO_LARGE", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("m", 1, {{"max.message.bytes", "256"}}));
  REQUIRE_OK(b->create_topic("n", 1));
  auto p = producer::create(*b, {.acks = ack::leader, .linger_ms = 0});
  REQUIRE_OK(p);
  const std::string big(1000, 'b');
  CHECK(code_of((*p)->send({.topic = "m", .key = "k", .value = big})) == "RECORD_TOO_LARGE");
  auto small = (*p)->send_future({.topic = "m", .key = "k", .value = "small"}).get();
  REQUIRE_OK(small);
  auto control = (*p)->send_future({.topic = "n", .key = "k", .value = big}).get();
  REQUIRE_OK(control);
  REQUIRE_OK((*p)->close());
  CHECK(describe(*b, "m").partitions[0].log_end == offset{1});
  CHECK(describe(*b, "n").partitions[0].log_end == offset{1});
}

TEST_CASE("overrides: message.timestamp.type=LogAppendTime stamps records with the append time", "[admin]") {
  temp_dir d;
  manual_clock clk(5'000'000);
  auto b = open_broker(opts_at(d.path(), &clk));
  REQUIRE_OK(b->create_topic("lat", 1, {{"message.timestamp.type", "LogAppendTime"}}));
  REQUIRE_OK(b->create_topic("ct", 1));
  auto p = producer::create(*b, {.acks = ack::leader, .linger_ms = 0});
  REQUIRE_OK(p);
  auto md1 = (*p)->send_future({.topic = "lat", .ts = timestamp{1000}, .key = "k", .value = "v"}).get();
  auto md2 = (*p)->send_future({.topic = "ct", .ts = timestamp{1000}, .key = "k", .value = "v"}).get();
  REQUIRE_OK(md1);
  REQUIRE_OK(md2);
  CHECK(md1->ts == timestamp{5'000'000});
  CHECK(md2->ts == timestamp{1000});
  REQUIRE_OK((*p)->close());
  const auto lat = consume_all(*b, "lat", 0);
  REQUIRE(lat.size() == 1);
  CHECK(lat[0].ts == 5'000'000);
  CHECK(lat[0].type == timestamp_type::log_append_time);
  const auto ct = consume_all(*b, "ct", 0);
  REQUIRE(ct.size() == 1);
  CHECK(ct[0].ts == 1000);
  CHECK(ct[0].type == timestamp_type::create_time);
}

// ============================================================================
// reopen
// ============================================================================

TEST_CASE("reopen: topics, ids, partition counts, overrides and records are restored", "[admin]") {
  temp_dir d;
  std::map<std::string, topic_description> before;
  {
    auto b = open_broker(opts_at(d.path()));
    REQUIRE_OK(b->create_topic("alpha", 3, {{"retention.ms", "1000000"}, {"cleanup.policy", "compact"}}));
    REQUIRE_OK(b->create_topic("beta", 1, all_overrides));
    REQUIRE_OK(b->create_topic("gamma-x", 2, {{"segment.bytes", "1024"}}));
    REQUIRE_OK(b->create_topic("doomed", 2));
    produce(*b, "alpha", 0, 5, 0);
    produce(*b, "alpha", 2, 7, 100);
    produce(*b, "beta", 0, 3, 200);
    produce(*b, "gamma-x", 1, 30, 300, 100);
    REQUIRE_OK(b->delete_topic("doomed"));
    for (const auto& n : b->list_topics()) before.emplace(n, describe(*b, n));
    REQUIRE_OK(b->close());
  }
  REQUIRE(before.size() == 3);

  // A changed broker default applies to the topics that did not set the key.
  broker_options o = opts_at(d.path());
  o.log_defaults.retention_ms = 5'000'000;
  auto b = open_broker(o);
  CHECK(b->list_topics() == names({"alpha", "beta", "gamma-x"}));
  for (const auto& [name, want] : before) {
    INFO(name);
    const auto got_d = describe(*b, name);
    CHECK(got_d.topic_id == want.topic_id);
    CHECK(got_d.partitions.size() == want.partitions.size());
    CHECK(got_d.overrides == want.overrides);
    for (std::size_t i = 0; i < want.partitions.size(); ++i) {
      CHECK(got_d.partitions[i].log_start == want.partitions[i].log_start);
      CHECK(got_d.partitions[i].log_end == want.partitions[i].log_end);
    }
  }
  CHECK(describe(*b, "alpha").config.at("retention.ms") == "1000000");
  CHECK(describe(*b, "alpha").config.at("cleanup.policy") == "compact");
  CHECK(describe(*b, "gamma-x").config.at("retention.ms") == "5000000");
  CHECK(describe(*b, "beta").config.at("message.timestamp.type") == "LogAppendTime");
  CHECK(code_of(b->describe_topic("doomed")) == "UNKNOWN_TOPIC_OR_PARTITION");

  require_records(consume_all(*b, "alpha", 0), 0, 5);
  CHECK(consume_all(*b, "alpha", 1).empty());
  require_records(consume_all(*b, "alpha", 2), 100, 7);
  require_records(consume_all(*b, "beta", 0), 200, 3);
  require_records(consume_all(*b, "gamma-x", 1), 300, 30, 0, 100);
  CHECK(describe(*b, "gamma-x").partitions[1].segments >= 2);

  // Ids are never reused: a new topic's id is above every earlier one,
  // including the deleted topic's.
  REQUIRE_OK(b->create_topic("delta", 1));
  const auto delta_id = describe(*b, "delta").topic_id;
  for (const auto& [name, want] : before) CHECK(delta_id > want.topic_id);
  CHECK(delta_id > 4);
  // Appends continue after the restored end.
  CHECK(produce(*b, "alpha", 0, 1, 5) == std::vector<std::int64_t>{5});
}

// ============================================================================
// delete_topic
// ============================================================================

TEST_CASE("delete_topic: the topic leaves list, describe and the disk", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("gone", 3));
  REQUIRE_OK(b->create_topic("kept", 1));
  produce(*b, "gone", 1, 10);
  produce(*b, "kept", 0, 2);
  REQUIRE_OK(b->delete_topic("gone"));
  CHECK(b->list_topics() == names({"kept"}));
  CHECK(code_of(b->describe_topic("gone")) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(list_files(d.path()) == names({".lock", "kept-0", "topics.meta"}));
  CHECK(code_of(b->delete_topic("gone")) == "UNKNOWN_TOPIC_OR_PARTITION");
  require_records(consume_all(*b, "kept", 0), 0, 2);
  b.reset();
  auto b2 = open_broker(opts_at(d.path()));
  CHECK(b2->list_topics() == names({"kept"}));
  CHECK(list_files(d.path()) == names({".lock", "kept-0", "topics.meta"}));
}

TEST_CASE("delete_topic: an unknown topic is UNKNOWN_TOPIC_OR_PARTITION", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  CHECK(code_of(b->delete_topic("nope")) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(code_of(b->delete_topic("")) == "UNKNOWN_TOPIC_OR_PARTITION");
  REQUIRE_OK(b->create_topic("t", 1));
  CHECK(code_of(b->delete_topic("T")) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(code_of(b->delete_topic("t-0")) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(b->list_topics() == names({"t"}));
}

TEST_CASE("delete_topic: creating the name again gives an empty topic with a new id", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("t", 2, {{"retention.ms", "1000"}}));
  const auto old_id = describe(*b, "t").topic_id;
  // A producer that already resolved the old incarnation.
  auto p = producer::create(*b, {.acks = ack::leader, .linger_ms = 0});
  REQUIRE_OK(p);
  for (int i = 0; i < 5; ++i) REQUIRE_OK((*p)->send_future({.topic = "t", .partition = 0, .value = "old"}).get());
  REQUIRE_OK(b->delete_topic("t"));
  REQUIRE_OK(b->create_topic("t", 3));
  const auto fresh = describe(*b, "t");
  CHECK(fresh.topic_id > old_id);
  CHECK(fresh.partitions.size() == 3);
  CHECK(fresh.overrides.empty());
  for (const auto& part : fresh.partitions) CHECK(part.log_end == offset{0});
  CHECK(consume_all(*b, "t", 0).empty());
  // The cached producer writes into the new incarnation, from offset 0.
  auto md = (*p)->send_future({.topic = "t", .partition = 2, .value = "new"}).get();
  REQUIRE_OK(md);
  CHECK(md->off == offset{0});
  REQUIRE_OK((*p)->close());
  const auto recs = consume_all(*b, "t", 2);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].value == "new");
}

TEST_CASE("delete_topic: a 249-character topic is created and deleted without leftovers", "[admin]") {
  temp_dir d;
  const std::string name(249, 'L');
  {
    auto b = open_broker(opts_at(d.path()));
    REQUIRE_OK(b->create_topic(name, 2));
    produce(*b, name, 1, 3);
    REQUIRE_OK(b->delete_topic(name));
    CHECK(b->list_topics().empty());
    require_empty_data_dir(d.path());
  }
  auto b = open_broker(opts_at(d.path()));
  CHECK(b->list_topics().empty());
}

TEST_CASE("delete_topic: an open producer and consumer then get UNKNOWN_TOPIC_OR_PARTITION", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("t", 2));
  REQUIRE_OK(b->create_topic("other", 1));
  auto p = producer::create(*b, {.acks = ack::leader, .linger_ms = 0});
  auto lingering = producer::create(*b, {.acks = ack::leader, .linger_ms = 600000});
  auto c = consumer::create(*b, {.auto_offset_reset = offset_reset::earliest});
  REQUIRE_OK(p);
  REQUIRE_OK(lingering);
  REQUIRE_OK(c);
  for (int i = 0; i < 3; ++i) REQUIRE_OK((*p)->send_future({.topic = "t", .partition = 0, .value = "abc"}).get());
  // A record waiting in an open batch when the topic goes.
  std::promise<result<record_metadata>> late;
  REQUIRE_OK((*lingering)->send({.topic = "t", .partition = 1, .value = "late"},
                                [&late](const result<record_metadata>& md) { late.set_value(md); }));
  REQUIRE_OK((*c)->assign({{"t", 0}, {"t", 1}}));
  auto recs = (*c)->poll(1000ms);
  REQUIRE_OK(recs);
  REQUIRE(recs->size() == 3);

  REQUIRE_OK(b->delete_topic("t"));

  // The last poll's views stay readable: they pin their segment.
  for (const auto& r : *recs) CHECK(r.value == "abc");
  CHECK(code_of((*p)->send({.topic = "t", .partition = 0, .value = "x"})) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(code_of((*p)->send({.topic = "t", .value = "x"})) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(code_of((*p)->send_future({.topic = "t", .value = "x"}).get()) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(code_of((*p)->partitions_for("t")) == "UNKNOWN_TOPIC_OR_PARTITION");
  REQUIRE_OK((*lingering)->flush());
  auto late_md = late.get_future();
  REQUIRE(late_md.wait_for(0s) == std::future_status::ready);
  CHECK(code_of(late_md.get()) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(code_of((*c)->poll(0ms)) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(code_of((*c)->poll(100ms)) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(code_of((*c)->assign({{"t", 0}})) == "UNKNOWN_TOPIC_OR_PARTITION");
  // Other topics are unaffected.
  REQUIRE_OK((*p)->send_future({.topic = "other", .value = "fine"}).get());
  REQUIRE_OK((*c)->assign({{"other", 0}}));
  auto other = (*c)->poll(1000ms);
  REQUIRE_OK(other);
  CHECK(other->size() == 1);
  REQUIRE_OK((*p)->close());
  REQUIRE_OK((*lingering)->close());
  REQUIRE_OK((*c)->close());
}

TEST_CASE("delete_topic: while threads send and poll in loops, they end with UNKNOWN_TOPIC_OR_PARTITION",
          "[admin][concurrency]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  for (int round = 0; round < 8; ++round) {
    INFO("round " << round);
    REQUIRE_OK(b->create_topic("race", 3));
    auto fast = producer::create(*b, {.acks = ack::leader, .linger_ms = 0});
    auto durable = producer::create(*b, {.acks = ack::all, .linger_ms = 1});
    auto c = consumer::create(*b, {.auto_offset_reset = offset_reset::earliest, .poll_spin_us = 0});
    REQUIRE_OK(fast);
    REQUIRE_OK(durable);
    REQUIRE_OK(c);
    REQUIRE_OK((*c)->assign({{"race", 0}, {"race", 1}, {"race", 2}}));

    // Results are collected here and asserted on the main thread.
    struct sender_result {
      std::atomic<int> accepted{0};
      std::atomic<int> acked{0};
      std::mutex mu;
      std::vector<errc> cb_errors;
      errc final = errc::none;
    };
    sender_result r_fast, r_durable;
    std::atomic<int> polled{0};
    errc poll_final = errc::none;
    std::atomic<bool> give_up{false};

    auto send_loop = [&give_up](producer& p, sender_result& out) {
      for (int i = 0; !give_up.load(); ++i) {
        const auto rec = make_record(i);
        auto s = p.send({.topic = "race", .key = rec.key, .value = rec.value},
                        [&out](const result<record_metadata>& md) {
                          if (md.ok()) {
                            out.acked.fetch_add(1);
                          } else {
                            std::lock_guard g(out.mu);
                            out.cb_errors.push_back(md.code());
                          }
                        });
        if (!s.ok()) {
          out.final = s.code();
          return;
        }
        out.accepted.fetch_add(1);
      }
    };
    std::thread t1(send_loop, std::ref(**fast), std::ref(r_fast));
    std::thread t2(send_loop, std::ref(**durable), std::ref(r_durable));
    std::thread t3([&] {
      while (!give_up.load()) {
        auto recs = (*c)->poll(5ms);
        if (!recs) {
          poll_final = recs.code();
          return;
        }
        polled.fetch_add(static_cast<int>(recs->size()));
      }
    });
    // Let every thread get going, then delete under them.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while ((r_fast.accepted.load() < 50 || r_durable.acked.load() < 5 || polled.load() < 10) &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    const bool started = std::chrono::steady_clock::now() < deadline;
    const auto deleted = b->delete_topic("race");
    // Every loop must end by itself; give up only if one hangs.
    const auto stop_by = std::chrono::steady_clock::now() + 20s;
    std::atomic<bool> joined{false};
    std::thread watchdog([&] {
      while (!joined.load() && std::chrono::steady_clock::now() < stop_by) std::this_thread::sleep_for(1ms);
      if (!joined.load()) give_up.store(true);
    });
    t1.join();
    t2.join();
    t3.join();
    joined.store(true);
    watchdog.join();
    const bool hung = give_up.load();

    REQUIRE(started);
    REQUIRE_OK(deleted);
    CHECK_FALSE(hung);
    CHECK(errc_name(r_fast.final) == "UNKNOWN_TOPIC_OR_PARTITION");
    CHECK(errc_name(r_durable.final) == "UNKNOWN_TOPIC_OR_PARTITION");
    CHECK(errc_name(poll_final) == "UNKNOWN_TOPIC_OR_PARTITION");
    REQUIRE_OK((*fast)->close());
    REQUIRE_OK((*durable)->close());
    REQUIRE_OK((*c)->close());
    // Every accepted record got exactly one report: success or UNKNOWN_TOPIC_OR_PARTITION.
    for (auto* r : {&r_fast, &r_durable}) {
      std::lock_guard g(r->mu);
      CHECK(r->acked.load() + static_cast<int>(r->cb_errors.size()) == r->accepted.load());
      for (errc e : r->cb_errors) CHECK(errc_name(e) == "UNKNOWN_TOPIC_OR_PARTITION");
    }
    CHECK(b->list_topics().empty());
    require_empty_data_dir(d.path());
  }
}

// ============================================================================
// create_partitions
// ============================================================================

TEST_CASE("create_partitions: the topic grows, new partitions take records, old data stays", "[admin]") {
  temp_dir d;
  {
    auto b = open_broker(opts_at(d.path()));
    REQUIRE_OK(b->create_topic("t", 1, {{"retention.ms", "7777777"}}));
    const auto id = describe(*b, "t").topic_id;
    produce(*b, "t", 0, 5);
    // A producer that resolved the topic at one partition.
    auto p = producer::create(*b, {.acks = ack::leader, .linger_ms = 0});
    REQUIRE_OK(p);
    REQUIRE_OK((*p)->send_future({.topic = "t", .partition = 0, .key = "k5", .value = "v5"}).get());
    CHECK(code_of((*p)->send({.topic = "t", .partition = 2, .value = "x"})) == "UNKNOWN_TOPIC_OR_PARTITION");

    REQUIRE_OK(b->create_partitions("t", 3));
    const auto desc = describe(*b, "t");
    CHECK(desc.topic_id == id);
    REQUIRE(desc.partitions.size() == 3);
    CHECK(desc.partitions[0].log_end == offset{6});
    CHECK(desc.partitions[2].log_end == offset{0});
    CHECK(desc.config.at("retention.ms") == "7777777");  // new partitions get the topic's config
    CHECK(list_files(d.path()) == names({".lock", "t-0", "t-1", "t-2", "topics.meta"}));
    CHECK((*p)->partitions_for("t").value() == 3);
    auto md = (*p)->send_future({.topic = "t", .partition = 2, .key = "k", .value = "on-2"}).get();
    REQUIRE_OK(md);
    CHECK(md->off == offset{0});
    REQUIRE_OK((*p)->close());
    produce(*b, "t", 1, 2, 50);
    require_records(consume_all(*b, "t", 1), 50, 2);
    const auto p0 = consume_all(*b, "t", 0);
    REQUIRE(p0.size() == 6);
    require_records(std::vector<got>(p0.begin(), p0.begin() + 5), 0, 5);
  }
  // And after reopen.
  auto b = open_broker(opts_at(d.path()));
  const auto desc = describe(*b, "t");
  REQUIRE(desc.partitions.size() == 3);
  CHECK(desc.partitions[0].log_end == offset{6});
  CHECK(desc.partitions[1].log_end == offset{2});
  CHECK(desc.partitions[2].log_end == offset{1});
  const auto p2 = consume_all(*b, "t", 2);
  REQUIRE(p2.size() == 1);
  CHECK(p2[0].value == "on-2");
}

TEST_CASE("create_partitions: the same or a smaller count is INVALID_PARTITIONS", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("t", 3));
  const std::string meta_before = read_file(d.sub("topics.meta"));
  for (std::int32_t n : {3, 2, 1, 0, -1, INT32_MIN, format::max_partitions + 1}) {
    INFO("total " << n);
    CHECK(code_of(b->create_partitions("t", n)) == "INVALID_PARTITIONS");
  }
  CHECK(describe(*b, "t").partitions.size() == 3);
  CHECK(read_file(d.sub("topics.meta")) == meta_before);
  CHECK(list_files(d.path()) == names({".lock", "t-0", "t-1", "t-2", "topics.meta"}));
  CHECK(code_of(b->create_partitions("nope", 5)) == "UNKNOWN_TOPIC_OR_PARTITION");
  REQUIRE_OK(b->create_partitions("t", 4));
  CHECK(describe(*b, "t").partitions.size() == 4);
}

// ============================================================================
// alter_topic_config
// ============================================================================

TEST_CASE("alter_topic_config: set and reset keys; describe shows the effective config", "[admin]") {
  temp_dir d;
  broker_options o = opts_at(d.path());
  o.log_defaults.segment_bytes = 1 << 20;
  {
    auto b = open_broker(o);
    REQUIRE_OK(b->create_topic("t", 2, {{"retention.ms", "1000000"}, {"segment.bytes", "65536"}}));
    const auto id = describe(*b, "t").topic_id;
    REQUIRE_OK(b->alter_topic_config("t", {{"retention.ms", "2000000"}, {"cleanup.policy", "compact"}},
                                     {"segment.bytes", "flush.ms"}));
    const auto desc = describe(*b, "t");
    CHECK(desc.topic_id == id);
    CHECK(desc.overrides ==
          std::map<std::string, std::string>{{"retention.ms", "2000000"}, {"cleanup.policy", "compact"}});
    CHECK(desc.config.at("retention.ms") == "2000000");
    CHECK(desc.config.at("cleanup.policy") == "compact");
    CHECK(desc.config.at("segment.bytes") == "1048576");  // back to the broker default
    CHECK(desc.partitions.size() == 2);

    // The new segment.bytes reaches the open logs.
    REQUIRE_OK(b->alter_topic_config("t", {{"segment.bytes", "1024"}}));
    produce(*b, "t", 0, 30, 0, 100);
    CHECK(describe(*b, "t").partitions[0].segments >= 3);
    // Resetting everything leaves no overrides.
    REQUIRE_OK(b->alter_topic_config("t", {}, {"retention.ms", "cleanup.policy", "segment.bytes"}));
    CHECK(describe(*b, "t").overrides.empty());
    CHECK(describe(*b, "t").config == o.log_defaults.to_properties());
    REQUIRE_OK(b->alter_topic_config("t", {{"flush.messages", "1"}, {"max.message.bytes", "5000"}}));
    CHECK(code_of(b->alter_topic_config("nope", {{"flush.ms", "1"}})) == "UNKNOWN_TOPIC_OR_PARTITION");
  }
  // The last state survives reopen.
  auto b = open_broker(o);
  const auto desc = describe(*b, "t");
  CHECK(desc.overrides == std::map<std::string, std::string>{{"flush.messages", "1"}, {"max.message.bytes", "5000"}});
  CHECK(desc.config.at("flush.messages") == "1");
  produce(*b, "t", 1, 2);
  CHECK(describe(*b, "t").partitions[1].durable == offset{2});  // flush.messages=1 reached the reopened log
}

TEST_CASE("alter_topic_config: a bad value or unknown key is INVALID_CONFIG and changes nothing", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("t", 1, {{"retention.ms", "1000000"}}));
  const auto before = describe(*b, "t");
  const std::string meta_before = read_file(d.sub("topics.meta"));
  const auto version_before = b->metadata_version();

  CHECK(code_of(b->alter_topic_config("t", {{"retention.ms", "-5"}})) == "INVALID_CONFIG");
  CHECK(code_of(b->alter_topic_config("t", {{"nope", "1"}})) == "INVALID_CONFIG");
  CHECK(code_of(b->alter_topic_config("t", {}, {"nope"})) == "INVALID_CONFIG");
  CHECK(code_of(b->alter_topic_config("t", {{"flush.ms", "10"}, {"segment.bytes", "5"}})) == "INVALID_CONFIG");
  CHECK(code_of(b->alter_topic_config("t", {{"flush.ms", "10"}}, {"nope"})) == "INVALID_CONFIG");
  CHECK(code_of(b->alter_topic_config("t", {{"message.timestamp.type", "Later"}}, {"retention.ms"})) ==
        "INVALID_CONFIG");

  const auto after = describe(*b, "t");
  CHECK(after.overrides == before.overrides);
  CHECK(after.config == before.config);
  CHECK(read_file(d.sub("topics.meta")) == meta_before);
  CHECK(b->metadata_version() == version_before);
  // The log kept its config: segment.bytes=5 was not applied (appends work).
  produce(*b, "t", 0, 3);
  CHECK(describe(*b, "t").partitions[0].log_end == offset{3});
}

TEST_CASE("alter_topic_config: LogAppendTime makes new records carry the append time", "[admin]") {
  temp_dir d;
  manual_clock clk(7'000'000);
  auto b = open_broker(opts_at(d.path(), &clk));
  REQUIRE_OK(b->create_topic("t", 1));
  // One producer across the change: it must pick up the new config.
  auto p = producer::create(*b, {.acks = ack::leader, .linger_ms = 0});
  REQUIRE_OK(p);
  REQUIRE_OK((*p)->send_future({.topic = "t", .ts = timestamp{1000}, .value = "before"}).get());
  REQUIRE_OK(b->alter_topic_config("t", {{"message.timestamp.type", "LogAppendTime"}}));
  CHECK(describe(*b, "t").config.at("message.timestamp.type") == "LogAppendTime");
  clk.advance(5000);
  auto md = (*p)->send_future({.topic = "t", .ts = timestamp{1000}, .value = "after"}).get();
  REQUIRE_OK(md);
  CHECK(md->ts == timestamp{7'005'000});
  REQUIRE_OK((*p)->close());
  const auto recs = consume_all(*b, "t", 0);
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].value == "before");
  CHECK(recs[0].ts == 1000);
  CHECK(recs[0].type == timestamp_type::create_time);
  CHECK(recs[1].value == "after");
  CHECK(recs[1].ts == 7'005'000);
  CHECK(recs[1].type == timestamp_type::log_append_time);
  // Back to CreateTime.
  REQUIRE_OK(b->alter_topic_config("t", {}, {"message.timestamp.type"}));
  produce(*b, "t", 0, 1, 0, 20, 42);
  const auto again = consume_all(*b, "t", 0);
  REQUIRE(again.size() == 3);
  CHECK(again[2].ts == 42);
  CHECK(again[2].type == timestamp_type::create_time);
}

// ============================================================================
// delete_records
// ============================================================================

TEST_CASE("delete_records: moves the log start; consumers and describe see it; survives reopen", "[admin]") {
  temp_dir d;
  {
    auto b = open_broker(opts_at(d.path()));
    REQUIRE_OK(b->create_topic("t", 2));
    produce(*b, "t", 0, 10);
    auto r = b->delete_records("t", 0, offset{4});
    REQUIRE_OK(r);
    CHECK(*r == offset{4});
    CHECK(describe(*b, "t").partitions[0].log_start == offset{4});
    CHECK(describe(*b, "t").partitions[1].log_start == offset{0});
    auto c = consumer::create(*b, {.auto_offset_reset = offset_reset::earliest});
    REQUIRE_OK(c);
    auto begin = (*c)->beginning_offsets({{"t", 0}, {"t", 1}});
    REQUIRE_OK(begin);
    CHECK(begin->at({"t", 0}) == offset{4});
    CHECK(begin->at({"t", 1}) == offset{0});
    REQUIRE_OK((*c)->close());
    require_records(consume_all(*b, "t", 0), 4, 6, 4);

    // Backwards is a no-op that reports the current start.
    auto back = b->delete_records("t", 0, offset{2});
    REQUIRE_OK(back);
    CHECK(*back == offset{4});
    // Up to the end empties the partition.
    auto all = b->delete_records("t", 0, offset{10});
    REQUIRE_OK(all);
    CHECK(*all == offset{10});
    CHECK(describe(*b, "t").partitions[0].log_start == offset{10});
    CHECK(describe(*b, "t").partitions[0].log_end == offset{10});
    CHECK(consume_all(*b, "t", 0).empty());
  }
  auto b = open_broker(opts_at(d.path()));
  CHECK(describe(*b, "t").partitions[0].log_start == offset{10});
  CHECK(produce(*b, "t", 0, 1, 10) == std::vector<std::int64_t>{10});
}

TEST_CASE("delete_records: beyond the log end is OFFSET_OUT_OF_RANGE and changes nothing", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("t", 1));
  produce(*b, "t", 0, 5);
  CHECK(code_of(b->delete_records("t", 0, offset{6})) == "OFFSET_OUT_OF_RANGE");
  CHECK(code_of(b->delete_records("t", 0, offset{INT64_MAX})) == "OFFSET_OUT_OF_RANGE");
  CHECK(describe(*b, "t").partitions[0].log_start == offset{0});
  require_records(consume_all(*b, "t", 0), 0, 5);
}

TEST_CASE("delete_records: a bad partition or topic is UNKNOWN_TOPIC_OR_PARTITION", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("t", 2));
  produce(*b, "t", 1, 3);
  CHECK(code_of(b->delete_records("t", 2, offset{1})) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(code_of(b->delete_records("t", -1, offset{1})) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(code_of(b->delete_records("t", INT32_MAX, offset{1})) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(code_of(b->delete_records("nope", 0, offset{1})) == "UNKNOWN_TOPIC_OR_PARTITION");
  REQUIRE_OK(b->delete_topic("t"));
  CHECK(code_of(b->delete_records("t", 1, offset{1})) == "UNKNOWN_TOPIC_OR_PARTITION");
}

// ============================================================================
// open: leftovers of interrupted operations, damage, strangers, the lock
// ============================================================================

TEST_CASE("open: removes an interrupted create, add-partitions and delete, and a topics.meta.tmp", "[admin]") {
  temp_dir d;
  {
    auto b = open_broker(opts_at(d.path()));
    REQUIRE_OK(b->create_topic("t", 2));
    produce(*b, "t", 0, 5);
  }
  // A create that did not reach topics.meta.
  stdfs::create_directory(d.sub("ghost-0"));
  write_file(d.sub("ghost-0/00000000000000000000.log"), std::string(100, 'g'));
  // An add-partitions that did not reach it.
  stdfs::create_directory(d.sub("t-2"));
  write_file(d.sub("t-2/partition.checkpoint"), "junk");
  // A delete whose directory removal was interrupted.
  stdfs::create_directory(d.sub("old-0.7-delete"));
  write_file(d.sub("old-0.7-delete/00000000000000000000.log"), std::string(100, 'o'));
  stdfs::create_directory(d.sub("t-1.3-delete"));
  // A topics file write that did not reach its rename.
  write_file(d.sub("topics.meta.tmp"), "half-written");

  auto b = open_broker(opts_at(d.path()));
  CHECK(b->list_topics() == names({"t"}));
  CHECK(describe(*b, "t").partitions.size() == 2);
  CHECK(code_of(b->describe_topic("ghost")) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(code_of(b->describe_topic("old")) == "UNKNOWN_TOPIC_OR_PARTITION");
  CHECK(list_files(d.path()) == names({".lock", "t-0", "t-1", "topics.meta"}));
  require_records(consume_all(*b, "t", 0), 0, 5);
  // The name is free, and the leftover's data is not resurrected.
  REQUIRE_OK(b->create_topic("ghost", 1));
  CHECK(describe(*b, "ghost").partitions[0].log_end == offset{0});
}

TEST_CASE("open: a damaged topics.meta is CORRUPT_MESSAGE and nothing is removed", "[admin]") {
  temp_dir d;
  {
    auto b = open_broker(opts_at(d.path()));
    REQUIRE_OK(b->create_topic("t", 1, {{"retention.ms", "100000000"}}));
    produce(*b, "t", 0, 3);
  }
  const std::string good = read_file(d.sub("topics.meta"));
  REQUIRE(good.size() > 32);
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    write_file(d.sub("topics.meta"), bad);
    INFO("byte " << i);
    CHECK(code_of(broker::open(opts_at(d.path()))) == "CORRUPT_MESSAGE");
  }
  for (std::size_t n : {std::size_t{0}, std::size_t{7}, std::size_t{31}, good.size() - 1}) {
    write_file(d.sub("topics.meta"), good.substr(0, n));
    INFO("cut to " << n);
    CHECK(code_of(broker::open(opts_at(d.path()))) == "CORRUPT_MESSAGE");
  }
  CHECK(stdfs::exists(d.sub("t-0")));
  write_file(d.sub("topics.meta"), good);
  auto b = open_broker(opts_at(d.path()));
  CHECK(b->list_topics() == names({"t"}));
  require_records(consume_all(*b, "t", 0), 0, 3);
}

TEST_CASE("open: a missing topics.meta with partition directories present is CORRUPT_MESSAGE", "[admin]") {
  temp_dir d;
  {
    auto b = open_broker(opts_at(d.path()));
    REQUIRE_OK(b->create_topic("t", 2));
    produce(*b, "t", 1, 3);
  }
  stdfs::remove(d.sub("topics.meta"));
  CHECK(code_of(broker::open(opts_at(d.path()))) == "CORRUPT_MESSAGE");
  // The refusal wrote no empty topics.meta (which would make the next open
  // delete every partition) and removed nothing.
  CHECK_FALSE(stdfs::exists(d.sub("topics.meta")));
  CHECK(code_of(broker::open(opts_at(d.path()))) == "CORRUPT_MESSAGE");
  CHECK(stdfs::exists(d.sub("t-0")));
  CHECK(stdfs::exists(d.sub("t-1")));
  // Without partition directories a missing topics.meta is a fresh start.
  temp_dir fresh;
  stdfs::create_directory(fresh.sub("old-0.7-delete"));
  auto b = open_broker(opts_at(fresh.path()));
  CHECK(b->list_topics().empty());
  require_empty_data_dir(fresh.path());
}

TEST_CASE("open: a foreign file in the data directory is FOREIGN_FILE and nothing is touched", "[admin]") {
  temp_dir d;
  {
    auto b = open_broker(opts_at(d.path()));
    REQUIRE_OK(b->create_topic("t", 1));
  }
  for (const char* stranger : {"notes.txt", "t-00", "t-", "-0", "README", "topics.meta.bak"}) {
    INFO(stranger);
    // Leftovers a successful open would remove.
    stdfs::create_directory(d.sub("ghost-0"));
    write_file(d.sub("topics.meta.tmp"), "x");
    write_file(d.sub(stranger), "mine");
    CHECK(code_of(broker::open(opts_at(d.path()))) == "FOREIGN_FILE");
    CHECK(read_file(d.sub(stranger)) == "mine");
    CHECK(stdfs::exists(d.sub("ghost-0")));
    CHECK(stdfs::exists(d.sub("topics.meta.tmp")));
    stdfs::remove(d.sub(stranger));
  }
  stdfs::create_directory(d.sub("a dir"));
  CHECK(code_of(broker::open(opts_at(d.path()))) == "FOREIGN_FILE");
  stdfs::remove(d.sub("a dir"));
  auto b = open_broker(opts_at(d.path()));
  CHECK(b->list_topics() == names({"t"}));
  CHECK(list_files(d.path()) == names({".lock", "t-0", "topics.meta"}));
}

// A directory of the user's that happens to end in "-delete" is not one
// franz renamed: open must refuse it (FOREIGN_FILE), not delete its files.
TEST_CASE("open: a stranger's directory ending in -delete is refused, not emptied", "[admin]") {
  temp_dir d;
  {
    auto b = open_broker(opts_at(d.path()));
    REQUIRE_OK(b->create_topic("t", 1));
  }
  stdfs::create_directory(d.sub("photos-delete"));
  write_file(d.sub("photos-delete/holiday.jpg"), "precious");
  const auto opened = broker::open(opts_at(d.path()));
  CHECK(code_of(opened) == "FOREIGN_FILE");
  CHECK(read_file(d.sub("photos-delete/holiday.jpg")) == "precious");
}

TEST_CASE("open: a second broker on the same data directory is LOG_DIR_LOCKED while the first is open", "[admin]") {
  temp_dir d;
  auto first = open_broker(opts_at(d.path()));
  REQUIRE_OK(first->create_topic("t", 1));
  CHECK(code_of(broker::open(opts_at(d.path()))) == "LOG_DIR_LOCKED");
  CHECK(code_of(broker::open(opts_at(d.path() + "/"))) == "LOG_DIR_LOCKED");  // same dir, other spelling
  // The refused open left the first one working.
  produce(*first, "t", 0, 2);
  REQUIRE_OK(first->create_topic("u", 1));
  CHECK(code_of(broker::open(opts_at(d.path()))) == "LOG_DIR_LOCKED");
  REQUIRE_OK(first->close());
  auto second = open_broker(opts_at(d.path()));
  CHECK(second->list_topics() == names({"t", "u"}));
  require_records(consume_all(*second, "t", 0), 0, 2);
}

// ============================================================================
// power loss and full disks (io::fault_fs)
// ============================================================================

TEST_CASE("power loss: a topic whose create_topic returned is present after the crash", "[admin][power]") {
  temp_dir d;
  io::fault_fs ffs;
  const auto o = opts_at(d.sub("data"));
  std::uint64_t id = 0;
  {
    auto b = open_broker(o, ffs);
    REQUIRE_OK(b->create_topic("kept", 3, {{"retention.ms", "5000000"}, {"cleanup.policy", "compact"}}));
    id = describe(*b, "kept").topic_id;
    // Records acknowledged with acks=all survive too.
    auto p = producer::create(*b, {.acks = ack::all, .linger_ms = 0});
    REQUIRE_OK(p);
    for (int i = 0; i < 4; ++i) {
      const auto r = make_record(i);
      REQUIRE_OK((*p)->send_future({.topic = "kept", .partition = 1, .key = r.key, .value = r.value}).get());
    }
    REQUIRE_OK((*p)->close());
    ffs.crash();
  }
  REQUIRE_OK(ffs.reboot());
  auto b = open_broker(o, ffs);
  CHECK(b->list_topics() == names({"kept"}));
  const auto desc = describe(*b, "kept");
  CHECK(desc.topic_id == id);
  CHECK(desc.partitions.size() == 3);
  CHECK(desc.overrides ==
        std::map<std::string, std::string>{{"retention.ms", "5000000"}, {"cleanup.policy", "compact"}});
  require_records(consume_all(*b, "kept", 1), 0, 4);
  CHECK(produce(*b, "kept", 2, 1) == std::vector<std::int64_t>{0});
}

TEST_CASE("power loss: a topic whose delete_topic returned stays deleted after the crash", "[admin][power]") {
  temp_dir d;
  io::fault_fs ffs;
  const auto o = opts_at(d.sub("data"));
  {
    auto b = open_broker(o, ffs);
    REQUIRE_OK(b->create_topic("gone", 2));
    REQUIRE_OK(b->create_topic("kept", 1));
    produce(*b, "gone", 0, 5);
    REQUIRE_OK(b->delete_topic("gone"));
    ffs.crash();
  }
  REQUIRE_OK(ffs.reboot());
  auto b = open_broker(o, ffs);
  CHECK(b->list_topics() == names({"kept"}));
  CHECK(list_files(d.sub("data")) == names({".lock", "kept-0", "topics.meta"}));
}

TEST_CASE("full disk: create_topic fails with OUT_OF_SPACE and leaves no topic, at every budget", "[admin][enospc]") {
  bool failed_once = false, succeeded = false;
  for (std::uint64_t budget = 0; budget < 4096 && !succeeded; ++budget) {
    INFO("budget " << budget);
    temp_dir d;
    io::fault_fs ffs;
    const auto o = opts_at(d.sub("data"));
    bool created = false;
    {
      auto b = open_broker(o, ffs);
      REQUIRE_OK(b->create_topic("before", 1));
      ffs.set_space_budget(budget);
      const auto s = b->create_topic("t", 2, {{"retention.ms", "1000"}});
      created = s.ok();
      if (!created) {
        failed_once = true;
        CHECK(code_of(s) == "OUT_OF_SPACE");
        CHECK(b->list_topics() == names({"before"}));
        CHECK(code_of(b->describe_topic("t")) == "UNKNOWN_TOPIC_OR_PARTITION");
      } else {
        succeeded = true;
        CHECK(b->list_topics() == names({"before", "t"}));
      }
      ffs.set_space_budget(std::nullopt);
    }
    auto b = open_broker(o, ffs);
    if (created) {
      CHECK(b->list_topics() == names({"before", "t"}));
    } else {
      CHECK(b->list_topics() == names({"before"}));
      CHECK(list_files(d.sub("data")) == names({".lock", "before-0", "topics.meta"}));
      REQUIRE_OK(b->create_topic("t", 2));
      CHECK(describe(*b, "t").partitions.size() == 2);
    }
  }
  CHECK(failed_once);
  CHECK(succeeded);
}

// A failed fsync during create_topic surfaces as KAFKA_STORAGE_ERROR. Each
// sync it makes fails in turn. Before topics.meta is replaced, nothing is
// created; once the new file is in place but its directory fsync failed, the
// topic exists as far as anyone can tell, so the broker keeps it and refuses
// further admin calls until a reopen. Either way this broker's view and what
// a reopen finds agree, and a listed topic is whole and usable.
TEST_CASE("failed fsync: create_topic either creates nothing or keeps what a reopen will find", "[admin][fsync]") {
  bool done = false, saw_nothing = false, saw_kept = false;
  for (std::uint64_t n = 1; n < 64 && !done; ++n) {
    INFO("failing sync " << n);
    temp_dir d;
    io::fault_fs ffs;
    const auto o = opts_at(d.sub("data"));
    std::vector<std::string> seen;
    {
      auto b = open_broker(o, ffs);
      const status s = with_failing_sync(ffs, n, done, [&] { return b->create_topic("t", 2); });
      seen = b->list_topics();
      if (!s.ok()) {
        CHECK(code_of(s) == "KAFKA_STORAGE_ERROR");
        if (seen.empty()) {
          saw_nothing = true;
        } else {
          saw_kept = true;
          CHECK(seen == names({"t"}));
          // Admin calls wait for a reopen; the data path still works.
          CHECK(code_of(b->create_topic("u", 1)) == "KAFKA_STORAGE_ERROR");
          CHECK(code_of(b->delete_topic("t")) == "KAFKA_STORAGE_ERROR");
        }
      }
    }
    auto b = open_broker(o, ffs);
    CHECK(b->list_topics() == seen);
    if (seen == names({"t"})) {
      CHECK(describe(*b, "t").partitions.size() == 2);
      produce(*b, "t", 1, 2);
      require_records(consume_all(*b, "t", 1), 0, 2);
    }
  }
  CHECK(done);
  CHECK(saw_nothing);
  CHECK(saw_kept);
}

// The same for delete_topic: before topics.meta is replaced the topic stays
// whole; after, it is gone here and after a reopen.
TEST_CASE("failed fsync: delete_topic either leaves the topic whole or deletes it for good", "[admin][fsync]") {
  bool done = false, saw_whole = false, saw_gone = false;
  for (std::uint64_t n = 1; n < 64 && !done; ++n) {
    INFO("failing sync " << n);
    temp_dir d;
    io::fault_fs ffs;
    const auto o = opts_at(d.sub("data"));
    std::vector<std::string> seen;
    {
      auto b = open_broker(o, ffs);
      REQUIRE_OK(b->create_topic("t", 1));
      produce(*b, "t", 0, 3);
      const status s = with_failing_sync(ffs, n, done, [&] { return b->delete_topic("t"); });
      seen = b->list_topics();
      if (!s.ok()) {
        CHECK(code_of(s) == "KAFKA_STORAGE_ERROR");
        if (seen == names({"t"})) {
          saw_whole = true;
          require_records(consume_all(*b, "t", 0), 0, 3);
        } else {
          saw_gone = true;
          CHECK(seen.empty());
        }
      }
    }
    auto b = open_broker(o, ffs);
    CHECK(b->list_topics() == seen);
    if (seen == names({"t"})) require_records(consume_all(*b, "t", 0), 0, 3);
  }
  CHECK(done);
  CHECK(saw_whole);
  CHECK(saw_gone);
}

// ============================================================================
// after close
// ============================================================================

TEST_CASE("closed broker: admin calls are ILLEGAL_STATE", "[admin]") {
  temp_dir d;
  auto b = open_broker(opts_at(d.path()));
  REQUIRE_OK(b->create_topic("t", 1));
  REQUIRE_OK(b->close());
  CHECK(b->closed());
  CHECK(code_of(b->create_topic("u", 1)) == "ILLEGAL_STATE");
  CHECK(code_of(b->delete_topic("t")) == "ILLEGAL_STATE");
  CHECK(code_of(b->describe_topic("t")) == "ILLEGAL_STATE");
  CHECK(code_of(b->create_partitions("t", 2)) == "ILLEGAL_STATE");
  CHECK(code_of(b->alter_topic_config("t", {{"retention.ms", "1"}})) == "ILLEGAL_STATE");
  CHECK(code_of(b->delete_records("t", 0, offset{0})) == "ILLEGAL_STATE");
  CHECK(code_of(b->tick()) == "ILLEGAL_STATE");
  CHECK(code_of(b->find_topic("t")) == "ILLEGAL_STATE");
  CHECK(code_of(producer::create(*b, {})) == "ILLEGAL_STATE");
  CHECK(code_of(consumer::create(*b, {})) == "ILLEGAL_STATE");
  REQUIRE_OK(b->close());  // idempotent
  // Nothing changed on disk: the topic is there on reopen, "u" is not.
  b.reset();
  auto again = open_broker(opts_at(d.path()));
  CHECK(again->list_topics() == names({"t"}));
}

}  // namespace franz
