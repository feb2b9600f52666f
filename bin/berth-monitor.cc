// berth-monitor: per-container supervisor, container launcher and container
// init. All logic is in src/agent/runtime/monitor.cc and launcher.cc.
#include "agent/runtime/monitor.h"

// The binary is static and self-contained: Boost.JSON (for the launcher's
// config.json) is compiled in here rather than linked.
#include <boost/json/src.hpp>

int main(int argc, char** argv) { return berth::agent::runtime::monitorMain(argc, argv); }
