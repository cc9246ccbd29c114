/*
 * mxmoat decision [-c PATH] [--json] ID
 *   everything the history keeps about one decision (the id a reply
 *   quoted as [id=...]): envelope, subject, outcome, score, every symbol
 *   with its score and what matched, the reply given.
 */
#include "cli/cli_http.h"
#include "core/id.h"

static void
field(struct buf *out, const char *name, const char *value)
{
	buf_appendf(out, "%-14s ", name);
	cli_cell(out, value, 1000);
	while (out->len > 0 && out->data[out->len - 1] == ' ')
		out->len--;
	buf_append_char(out, '\n');
}

static void
print_decision(const struct json *d)
{
	const struct json *rcpts = json_get_array(d, "rcpts");
	const struct json *syms = json_get_array(d, "symbols");
	struct buf out = BUF_INIT, v = BUF_INIT;
	size_t i;

	field(&out, "id", json_get_str(d, "id"));
	cli_time(&v, json_get_num(d, "time", 0));
	field(&out, "time", buf_cstr(&v));
	buf_reset(&v);
	buf_appendf(&v, "%s%s%s", json_get_str(d, "action") ?: "",
		    (json_get_str(d, "reason") ?: "")[0] != '\0' ? ", reason " : "",
		    json_get_str(d, "reason") ?: "");
	field(&out, "outcome", buf_cstr(&v));
	buf_reset(&v);
	buf_appendf(&v, "%.2f", json_get_num(d, "score", 0));
	field(&out, "score", buf_cstr(&v));
	field(&out, "reply", json_get_str(d, "reply"));
	buf_reset(&v);
	buf_appendf(&v, "%s (%s), HELO %s", json_get_str(d, "client") ?: "",
		    json_get_str(d, "client_name") ?: "", json_get_str(d, "helo") ?: "");
	field(&out, "client", buf_cstr(&v));
	field(&out, "from", (json_get_str(d, "from") ?: "")[0] != '\0' ? json_get_str(d, "from")
								       : "<>");
	buf_reset(&v);
	for (i = 0; rcpts != NULL && i < rcpts->len; i++)
		buf_appendf(&v, "%s%s", i > 0 ? ", " : "",
			    rcpts->items[i]->type == JSON_STRING ? rcpts->items[i]->str : "");
	field(&out, "to", buf_cstr(&v));
	field(&out, "subject", json_get_str(d, "subject"));
	buf_reset(&v);
	buf_appendf(&v, "%.0f bytes, %.0f ms (scan %.2f ms)", json_get_num(d, "size", 0),
		    json_get_num(d, "ms", 0), json_get_num(d, "scan_ms", 0));
	field(&out, "size, time", buf_cstr(&v));
	buf_reset(&v);
	buf_appendf(&v, "%s (%s)%s%s", json_get_str(d, "node") ?: "", json_get_str(d, "frontend") ?: "",
		    (json_get_str(d, "downstream_id") ?: "")[0] != '\0' ? ", downstream queue id "
									 : "",
		    json_get_str(d, "downstream_id") ?: "");
	field(&out, "node", buf_cstr(&v));
	buf_appendf(&out, "\n%-32s %9s  %-12s %s\n", "symbol", "score", "plugin", "what matched");
	for (i = 0; syms != NULL && i < syms->len; i++) {
		const struct json *s = syms->items[i];

		cli_cell(&out, json_get_str(s, "name"), 32);
		buf_appendf(&out, " %9.2f  ", json_get_num(s, "score", 0));
		cli_cell(&out, json_get_str(s, "plugin"), 12);
		buf_append_char(&out, ' ');
		cli_cell(&out, json_get_str(s, "detail"), 100);
		while (out.len > 0 && out.data[out.len - 1] == ' ')
			out.len--;
		buf_append_char(&out, '\n');
	}
	fputs(buf_cstr(&out), stdout);
	buf_deinit(&out);
	buf_deinit(&v);
}

int
cmd_decision(int argc, char **argv)
{
	const char *path = cli_default_conf_path(), *id = NULL;
	struct buf url = BUF_INIT, raw = BUF_INIT;
	bool json = false;
	uint64_t parsed;
	struct conf *c;
	struct json *d;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (id == NULL && argv[i][0] != '-')
			id = argv[i];
		else
			cli_usage();
	}
	if (id == NULL)
		cli_usage();
	/* "[id=...]" as copied from a reply works too */
	{
		char clean[32];
		size_t n;

		if (strncmp(id, "[id=", 4) == 0)
			id += 4;
		snprintf(clean, sizeof(clean), "%s", id);
		n = strlen(clean);
		if (n > 0 && clean[n - 1] == ']')
			clean[n - 1] = '\0';
		buf_append_str(&url, "/api/decision/");
		cli_url_append(&url, clean);
	}
	if (id_parse(buf_cstr(&url) + 14, &parsed) < 0) {
		fprintf(stderr, "mxmoat: \"%s\" is not a decision id (13 characters)\n", id);
		buf_deinit(&url);
		return 2;
	}
	c = cli_load_conf_default(path);
	d = cli_http_json(c, buf_cstr(&url), &raw);
	conf_unref(&c);
	buf_deinit(&url);
	if (d == NULL) {
		buf_deinit(&raw);
		return 1;
	}
	if (json)
		fputs(buf_cstr(&raw), stdout);
	else
		print_decision(d);
	json_free(&d);
	buf_deinit(&raw);
	return 0;
}
