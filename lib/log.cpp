// franz — the production instantiation of the storage core, compiled once so
// that users of franz::log do not instantiate it in every translation unit.
#include "franz/storage/log.hpp"

namespace franz {
template class basic_log<io::posix_fs>;
}  // namespace franz
