// franz — built-in partition assignors (see messaging/assignor.hpp).
#include "franz/messaging/assignor.hpp"

namespace franz {}
