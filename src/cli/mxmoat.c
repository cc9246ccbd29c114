/*
 * mxmoat - the command-line tool, on the same library as the daemon.
 * Subcommands are listed in cli_commands.c; `mxmoat` alone prints them.
 */
#include "cli/cli.h"

#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

const char *
cli_default_conf_path(void)
{
	return SYSCONFDIR "/mxmoat/mxmoat.conf";
}

struct conf *
cli_load_conf(const char *path)
{
	struct conf *c = NULL;
	char *error = NULL;

	/* path NULL: the built-in defaults */
	if (conf_load(path, &c, &error) < 0) {
		fprintf(stderr, "mxmoat: %s\n", error);
		free(error);
		exit(1);
	}
	return c;
}

struct conf *
cli_load_conf_default(const char *path)
{
	/* the default file may not exist (not installed): the defaults */
	if (strcmp(path, cli_default_conf_path()) == 0 && access(path, F_OK) != 0)
		return cli_load_conf(NULL);
	return cli_load_conf(path);
}

void
cli_usage(void)
{
	const struct cli_command *c;
	const char *prefix = "usage:";

	for (c = cli_commands; c->name != NULL; c++) {
		fprintf(stderr, "%s mxmoat %s\n", prefix, c->usage);
		prefix = "      ";
	}
	exit(2);
}

static int
cmd_version(int argc, char **argv)
{
	printf("mxmoat %s\n", PACKAGE_VERSION);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct cli_command *c;

	if (argc < 2)
		cli_usage();
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	for (c = cli_commands; c->name != NULL; c++) {
		if (strcmp(argv[1], c->name) == 0)
			return c->fn(argc - 1, argv + 1);
	}
	cli_usage();
}
