// Boost.JSON compiled into the examples themselves (header-only mode), so
// the static binaries need no Boost library at link time.
#include <boost/json/src.hpp>
