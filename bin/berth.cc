// berth: the command line. Subcommands live in src/cli/.
#include "cli/cli.h"

int main(int argc, char** argv) { return berth::cli::run(argc, argv); }
