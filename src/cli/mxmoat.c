/*
 * mxmoat - the command-line tool, on the same library as the daemon.
 *
 *   mxmoat config [-c PATH]        print the effective configuration
 *   mxmoat config --doc            print every key with its default and
 *                                  description (this is etc/mxmoat.conf)
 *   mxmoat reload [-c PATH]        tell the running daemon to reload
 *                                  (SIGHUP to the PID in [daemon] pidfile)
 *   mxmoat version
 *
 * Exit status: 0 ok, 1 error (e.g. an invalid configuration), 2 usage.
 */
#include "core/common.h"
#include "conf/conf.h"

#include <signal.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

static void ATTR_NORETURN
usage(void)
{
	fprintf(stderr,
		"usage: mxmoat config [-c PATH] [--doc]\n"
		"       mxmoat reload [-c PATH]\n"
		"       mxmoat version\n");
	exit(2);
}

static const char *
opt_conf(int argc, char **argv, bool *doc_r)
{
	const char *path = SYSCONFDIR "/mxmoat/mxmoat.conf";
	int i;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--doc") == 0 && doc_r != NULL)
			*doc_r = true;
		else
			usage();
	}
	return path;
}

static struct conf *
load_or_die(const char *path)
{
	struct conf *c = NULL;
	char *error = NULL;

	if (conf_load(path, &c, &error) < 0) {
		fprintf(stderr, "mxmoat: %s\n", error);
		free(error);
		exit(1);
	}
	return c;
}

static int
cmd_config(int argc, char **argv)
{
	bool doc = false;
	const char *path = opt_conf(argc, argv, &doc);
	struct buf out = BUF_INIT;
	struct conf *c;

	if (doc) {
		conf_print_doc(&out);
	} else {
		c = load_or_die(path);
		buf_appendf(&out, "# effective configuration from %s\n", path);
		conf_print(c, &out);
		conf_unref(&c);
	}
	fwrite(out.data, 1, out.len, stdout);
	buf_deinit(&out);
	return 0;
}

static int
cmd_reload(int argc, char **argv)
{
	const char *path = opt_conf(argc, argv, NULL);
	struct conf *c = load_or_die(path);
	char line[32];
	FILE *f;
	long pid;

	if (c->pidfile[0] == '\0') {
		fprintf(stderr, "mxmoat: [daemon] pidfile is not set in %s\n", path);
		return 1;
	}
	f = fopen(c->pidfile, "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
		fprintf(stderr, "mxmoat: cannot read %s: %s\n", c->pidfile, strerror(errno));
		return 1;
	}
	fclose(f);
	pid = strtol(line, NULL, 10);
	if (pid <= 1 || kill((pid_t)pid, SIGHUP) < 0) {
		fprintf(stderr, "mxmoat: cannot signal pid %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	printf("mxmoat: reload requested (pid %ld); the daemon logs the result\n", pid);
	conf_unref(&c);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "config") == 0)
		return cmd_config(argc, argv);
	if (strcmp(argv[1], "reload") == 0)
		return cmd_reload(argc, argv);
	if (strcmp(argv[1], "version") == 0) {
		printf("mxmoat %s\n", PACKAGE_VERSION);
		return 0;
	}
	usage();
}
