#include "cli.hpp"

namespace franz::cli {

int run_dump(const context&, const dump_args&) {
  return report("dump", exit_failed, "not implemented yet");
}
}  // namespace franz::cli
