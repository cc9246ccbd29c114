/*
 * mxmoat config [-c PATH]   print the effective configuration
 * mxmoat config --doc       every key with its default and description
 *                           (this is etc/mxmoat.conf)
 */
#include "cli/cli.h"

int
cmd_config(int argc, char **argv)
{
	const char *path = cli_default_conf_path();
	struct buf out = BUF_INIT;
	bool doc = false;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--doc") == 0)
			doc = true;
		else
			cli_usage();
	}
	if (doc) {
		conf_print_doc(&out);
	} else {
		struct conf *c = cli_load_conf(path);

		buf_appendf(&out, "# effective configuration from %s\n", path);
		conf_print(c, &out);
		conf_unref(&c);
	}
	fwrite(out.data, 1, out.len, stdout);
	buf_deinit(&out);
	return 0;
}
