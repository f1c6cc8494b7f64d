// placeholder
#include "process_util.hpp"
