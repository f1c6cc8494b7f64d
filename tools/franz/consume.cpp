#include "cli.hpp"

namespace franz::cli {

int run_consume(const context&, const consume_args&) {
  return report("consume", exit_failed, "not implemented yet");
}
}  // namespace franz::cli
