#include "cli/cli.h"

/* one line per subcommand; each lives in src/cli/cmd_<name>.c */
const struct cli_command cli_commands[] = {
	/* "version" is built in */
	{ "config", "config [-c PATH] [--doc]", cmd_config },
	{ "reload", "reload [-c PATH]", cmd_reload },
	{ NULL, NULL, NULL },
};
