// franz — the self-checking records of the kill -9 loop, shared by the
// writer (tests/reliability/kill9_writer.cpp) and the verifier
// (tests/kill9_test.cpp), so the two cannot drift apart.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace franz::kill9 {

// SplitMix64's finalizer: the filler's pseudo-random stream.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

struct payload {
  std::string key, value, header;  // header "" = the record has none
};

// Key "r<run>.<seq>"; value "<key>.p<partition>|<filler>|<fnv1a of the rest,
// 16 hex>". Mostly small values; about 1 in 40 is 2-12 KiB (a batch of it is
// stored with pwrite rather than through the mapping). Every 4th record
// carries one header. A pure function of (run, seq, partition).
inline payload make_payload(std::uint32_t run, std::uint64_t seq, std::int32_t partition) {
  payload p;
  p.key = "r" + std::to_string(run) + "." + std::to_string(seq);
  std::uint64_t h = mix((static_cast<std::uint64_t>(run) << 40) ^ seq);
  const std::size_t len = h % 40 == 0 ? 2000 + h % 10000 : 8 + h % 300;
  p.value = p.key + ".p" + std::to_string(partition) + "|";
  for (std::size_t i = 0; i < len; ++i) {
    if (i % 8 == 0) h = mix(h);
    p.value.push_back(static_cast<char>('a' + (h >> (i % 8 * 8)) % 26));
  }
  p.value.push_back('|');
  char sum[17];
  std::snprintf(sum, sizeof sum, "%016llx", static_cast<unsigned long long>(fnv1a(p.value)));
  p.value += sum;
  if (seq % 4 == 0) p.header = "h" + p.key;
  return p;
}

}  // namespace franz::kill9
