#include "cli.hpp"

namespace franz::cli {

int run_produce(const context&, const produce_args&) {
  return report("produce", exit_failed, "not implemented yet");
}
}  // namespace franz::cli
