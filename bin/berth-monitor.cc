// berth-monitor: per-container supervisor and container init. All logic is
// in src/agent/runtime/monitor.cc.
#include "agent/runtime/monitor.h"

int main(int argc, char** argv) { return berth::agent::runtime::monitorMain(argc, argv); }
