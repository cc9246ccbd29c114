/*
 * mxmoat reload [-c PATH]   SIGHUP to the daemon whose PID is in
 *                           [daemon] pidfile; the daemon logs the result
 */
#include "cli/cli.h"

#include <signal.h>

int
cmd_reload(int argc, char **argv)
{
	const char *path = cli_default_conf_path();
	struct conf *c;
	char line[32];
	FILE *f;
	long pid;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else
			cli_usage();
	}
	c = cli_load_conf(path);
	if (c->pidfile[0] == '\0') {
		fprintf(stderr, "mxmoat: [daemon] pidfile is not set in %s\n", path);
		conf_unref(&c);
		return 1;
	}
	f = fopen(c->pidfile, "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
		fprintf(stderr, "mxmoat: cannot read %s: %s\n", c->pidfile, strerror(errno));
		if (f != NULL)
			fclose(f);
		conf_unref(&c);
		return 1;
	}
	fclose(f);
	pid = strtol(line, NULL, 10);
	if (pid <= 1 || kill((pid_t)pid, SIGHUP) < 0) {
		fprintf(stderr, "mxmoat: cannot signal pid %ld: %s\n", pid, strerror(errno));
		conf_unref(&c);
		return 1;
	}
	printf("mxmoat: reload requested (pid %ld); the daemon logs the result\n", pid);
	conf_unref(&c);
	return 0;
}
