/*
 * cli.h - the mxmoat command: one file per subcommand (src/cli/cmd_*.c),
 * dispatched by src/cli/mxmoat.c through the table in cli_commands.c.
 *
 * A subcommand is int fn(int argc, char **argv) with argv[0] its own name;
 * it returns the exit status: 0 ok, 1 error (a message on stderr), 2 usage.
 */
#ifndef MXMOAT_CLI_H
#define MXMOAT_CLI_H

#include "conf/conf.h"

typedef int cli_cmd_fn(int argc, char **argv);

struct cli_command {
	const char *name;
	const char *usage;   /* one line: "config [-c PATH] [--doc]" */
	cli_cmd_fn *fn;
};

extern const struct cli_command cli_commands[];

/* cli_default_conf_path(): SYSCONFDIR/mxmoat/mxmoat.conf */
const char *cli_default_conf_path(void);
/* cli_load_conf(): load or exit(1) with the error on stderr */
struct conf *cli_load_conf(const char *path);
/* cli_load_conf_default(): as cli_load_conf(), but the built-in defaults
 * when path is the default one and no such file exists */
struct conf *cli_load_conf_default(const char *path);
void cli_usage(void) ATTR_NORETURN;

int cmd_config(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_corpus(int argc, char **argv);
int cmd_learn(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_decision(int argc, char **argv);
int cmd_greylist(int argc, char **argv);

#endif
