// LevelDB 1.23 as a queue in the peer benchmarks (the shape: lsm_peer.hpp).
#include <leveldb/db.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include "lsm_peer.hpp"

namespace {

struct level {
  using DB = leveldb::DB;
  using Options = leveldb::Options;
  using WriteOptions = leveldb::WriteOptions;
  using ReadOptions = leveldb::ReadOptions;
  using WriteBatch = leveldb::WriteBatch;
  using Slice = leveldb::Slice;
  using Iterator = leveldb::Iterator;
  static constexpr const char* name = "leveldb";
  static constexpr const char* options_text = "no compression, other options default";
  static constexpr bool fresh_iterator_per_poll = true;  // iterators are snapshots
  static void tune(Options& o) { o.compression = leveldb::kNoCompression; }
  static void tail(ReadOptions&) {}
};

}  // namespace

int main(int argc, char** argv) {
  peers::lsm_system<level> s;
  return peers::run(argc, argv, s);
}
