/*
 * mxmoat scan [-c PATH] [--rules PATHS] [--from ADDR] [--rcpt ADDR]...
 *             [--ip IP] [--helo NAME] [--json] FILE...
 *
 * Runs the same pipeline and verdict as mxmoatd on each message file
 * (an mbox "From " first line is skipped; LF line ends become CRLF, as on
 * the wire) and prints the verdict, the score, and every rule hit with its
 * score, description and what it matched, like `spamassassin -t`.
 * Exit status: 0 accepted or tagged, 1 error, 4 rejected, 5 tempfailed
 * (so scripts can tell).
 */
#include "cli/cli.h"

#include <unistd.h>
#include "core/id.h"
#include "core/xalloc.h"
#include "plugins/clamav/clamav_plugin.h"
#include "plugins/rules/rules_plugin.h"
#include "scan/scan.h"
#include "verdict/verdict.h"

struct scan_opts {
	const char *from;
	const char *rcpts[64];
	size_t nrcpts;
	const char *ip;
	const char *helo;
	bool json;
};

/* read_message(): the file as the proxy would have spooled it */
static struct spool *
read_message(const char *file, const struct conf *c)
{
	struct buf raw = BUF_INIT, wire = BUF_INIT;
	char chunk[65536];
	struct spool *sp;
	const char *error = NULL;
	size_t n, i, start = 0;
	FILE *f = fopen(file, "rb");

	if (f == NULL) {
		fprintf(stderr, "mxmoat: %s: %s\n", file, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&raw, chunk, n);
	fclose(f);
	if (raw.len >= 5 && memcmp(raw.data, "From ", 5) == 0) {
		const char *nl = memchr(raw.data, '\n', raw.len);

		start = nl != NULL ? (size_t)(nl - raw.data) + 1 : raw.len;
	}
	for (i = start; i < raw.len; i++) {
		if (raw.data[i] == '\n' && (i == start || raw.data[i - 1] != '\r'))
			buf_append_char(&wire, '\r');
		buf_append_char(&wire, raw.data[i]);
	}
	sp = spool_new(c->spool_directory, c->spool_memory_limit);
	if (spool_write(sp, wire.data != NULL ? wire.data : "", wire.len, &error) < 0 ||
	    spool_finish(sp, &error) < 0) {
		fprintf(stderr, "mxmoat: spool: %s\n", error);
		spool_free(&sp);
	}
	buf_deinit(&raw);
	buf_deinit(&wire);
	return sp;
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* a rule's description, or what another plugin's symbol means */
static const char *
describe(struct rules *rules, const char *name)
{
	const char *d = rules != NULL ? rules_describe(rules, name) : NULL;

	return d != NULL ? d : clamav_plugin_symbol_description(name);
}

static int
scan_one(const struct scan_engine *e, const struct conf *c, const struct scan_opts *o,
	 const char *file, struct rules *rules)
{
	struct scan_request req;
	struct scan_result res;
	struct verdict v;
	struct msg *m = NULL;
	const char *error = NULL;
	struct spool *sp = read_message(file, c);
	size_t i;
	int ret;

	if (sp == NULL)
		return 1;
	memset(&req, 0, sizeof(req));
	req.id = id_next();
	req.client_ip = o->ip;
	req.client_name = "[UNAVAILABLE]";
	req.helo = o->helo;
	req.mail_from = o->from;
	req.rcpts = o->rcpts;
	req.nrcpts = o->nrcpts;
	req.spool = sp;
	scan_result_init(&res);
	verdict_init(&v);
	if (scan_engine_scan_data(e, &req, &m, &res, &error) < 0) {
		fprintf(stderr, "mxmoat: %s: %s\n", file, error);
		spool_free(&sp);
		return 1;
	}
	verdict_decide(c, &res, &v);
	if (o->json) {
		printf("{\"file\":");
		json_str(file);
		printf(",\"action\":\"%s\",\"score\":%.3f,\"required\":%.1f,\"reason\":",
		       verdict_action_name(v.action), v.score, v.required);
		json_str(v.reason);
		if (v.action == VERDICT_REJECT || v.action == VERDICT_TEMPFAIL) {
			char reply[300];

			snprintf(reply, sizeof(reply), "%d %s %s", v.code, v.enhanced, v.text);
			printf(",\"reply\":");
			json_str(reply);
		}
		printf(",\"symbols\":[");
		for (i = 0; i < res.nsymbols; i++) {
			const char *d = describe(rules, res.symbols[i].name);

			printf("%s{\"name\":", i > 0 ? "," : "");
			json_str(res.symbols[i].name);
			printf(",\"score\":%.3f,\"plugin\":", res.symbols[i].score);
			json_str(res.symbols[i].plugin);
			printf(",\"description\":");
			json_str(d != NULL ? d : "");
			printf(",\"detail\":");
			json_str(res.symbols[i].detail != NULL ? res.symbols[i].detail : "");
			printf("}");
		}
		printf("]}\n");
	} else {
		printf("%s: %s, score %.1f (required %.1f)", file, verdict_action_name(v.action),
		       v.score, v.required);
		if (v.action == VERDICT_REJECT || v.action == VERDICT_TEMPFAIL)
			printf(": %d %s %s", v.code, v.enhanced, v.text);
		printf("\n");
		if (res.nsymbols > 0)
			printf(" pts rule name              description / what matched\n"
			       "---- ---------------------- "
			       "--------------------------------------------------\n");
		for (i = 0; i < res.nsymbols; i++) {
			const char *d = describe(rules, res.symbols[i].name);

			printf("%4.1f %-22s %s\n", res.symbols[i].score, res.symbols[i].name,
			       d != NULL ? d : "");
			if (res.symbols[i].detail != NULL)
				printf("     %-22s [%s]\n", "", res.symbols[i].detail);
		}
	}
	ret = v.action == VERDICT_REJECT ? 4 : v.action == VERDICT_TEMPFAIL ? 5 : 0;
	msg_free(&m);
	scan_result_deinit(&res);
	verdict_deinit(&v);
	spool_free(&sp);
	return ret;
}

int
cmd_scan(int argc, char **argv)
{
	const char *path = cli_default_conf_path();
	const char *rules_paths = NULL;
	struct scan_opts o;
	struct scan_engine *e = NULL;
	struct rules *rules = NULL;
	struct rules_stats st;
	struct conf *c;
	char *error = NULL;
	int i, ret = 0, first_file = 0;

	memset(&o, 0, sizeof(o));
	o.from = "";
	o.ip = "127.0.0.1";
	o.helo = "";
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
			rules_paths = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			o.from = argv[++i];
		else if (strcmp(argv[i], "--rcpt") == 0 && i + 1 < argc &&
			 o.nrcpts < N_ELEMENTS(o.rcpts))
			o.rcpts[o.nrcpts++] = argv[++i];
		else if (strcmp(argv[i], "--ip") == 0 && i + 1 < argc)
			o.ip = argv[++i];
		else if (strcmp(argv[i], "--helo") == 0 && i + 1 < argc)
			o.helo = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			o.json = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			cli_usage();
		else {
			first_file = i;
			break;
		}
	}
	if (first_file == 0)
		cli_usage();
	id_init();
	/* with no configuration file, the defaults */
	c = cli_load_conf_default(path);
	if (rules_paths != NULL) {
		free(c->rules_paths);
		c->rules_paths = xstrdup(rules_paths);
	}
	if (scan_engine_new(c, &e, &error) < 0) {
		fprintf(stderr, "mxmoat: %s\n", error);
		free(error);
		conf_unref(&c);
		return 1;
	}
	/* descriptions for the report */
	if (c->rules_enabled && rules_plugin_load(c, &rules, &st, NULL, &error) < 0) {
		free(error);
		rules = NULL;
	}
	for (i = first_file; i < argc; i++) {
		int r = scan_one(e, c, &o, argv[i], rules);

		if (r > ret)
			ret = r;
	}
	rules_free(&rules);
	scan_engine_unref(&e);
	conf_unref(&c);
	return ret;
}
