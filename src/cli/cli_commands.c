#include "cli/cli.h"

/* one line per subcommand; each lives in src/cli/cmd_<name>.c */
const struct cli_command cli_commands[] = {
	/* "version" is built in */
	{ "config", "config [-c PATH] [--doc]", cmd_config },
	{ "reload", "reload [-c PATH]", cmd_reload },
	{ "lint", "lint [-c PATH] [--rules PATHS] [-q] [--list]", cmd_lint },
	{ "scan", "scan [-c PATH] [--rules PATHS] [--from A] [--rcpt A]... [--ip IP] "
		  "[--helo H] [--json] FILE...", cmd_scan },
	{ "corpus", "corpus --spam PATH... --ham PATH... [-c PATH] [--rules PATHS] [--train DIR...] "
		    "[--split FRACTION] [--baseline FILE.json [--tolerance POINTS]] [--jobs N] "
		    "[--top N] [--json]", cmd_corpus },
	{ "learn", "learn --spam|--ham|--forget PATH... [-c PATH] [--jobs N] | --status | --reset "
		   "| --tokens FILE...", cmd_learn },
	{ "dump", "dump [-c PATH] [--json] [--extract DIR] [--excerpt N] FILE...", cmd_dump },
	{ "greylist", "greylist [-c PATH] list|whitelist|drop [--client IP|CIDR] "
		      "[--name HOST] [--from A] [--rcpt A] [--ttl DURATION] [--all]", cmd_greylist },
	{ "stats", "stats [-c PATH] [--minutes N] [--json]", cmd_stats },
	{ "history", "history [-c PATH] [--action A] [--rule NAME] [-q TEXT] [--since S] "
		     "[--limit N] [--json]", cmd_history },
	{ "decision", "decision [-c PATH] [--json] ID", cmd_decision },
	{ NULL, NULL, NULL },
};
