/*
 * mxmoat history [-c PATH] [--action A] [--rule NAME] [-q TEXT]
 *                [--since S] [--limit N] [--json]
 *   search the decision history of the running daemon (its /api/history:
 *   Redis, or its memory): newest first, one line per transaction. S is
 *   Unix seconds or an age (30m, 2h, 7d).
 */
#include "cli/cli_http.h"

static void
print_history(const struct json *r)
{
	const struct json *recs = json_get_array(r, "records");
	struct buf out = BUF_INIT;
	size_t i;

	buf_appendf(&out, "%-19s  %-8s  %7s  %-13s  %-26s  %-26s  %s\n", "time", "outcome", "score",
		    "id", "from", "to", "subject / reason");
	for (i = 0; recs != NULL && i < recs->len; i++) {
		const struct json *rec = recs->items[i];
		const struct json *rcpts = json_get_array(rec, "rcpts");
		struct buf to = BUF_INIT, tail = BUF_INIT;
		const char *reason = json_get_str(rec, "reason");
		size_t k;

		for (k = 0; rcpts != NULL && k < rcpts->len; k++)
			buf_appendf(&to, "%s%s", k > 0 ? "," : "",
				    rcpts->items[k]->type == JSON_STRING ? rcpts->items[k]->str : "");
		if (json_get_num(rec, "nrcpt", 0) > (double)k)
			buf_appendf(&to, ",+%.0f", json_get_num(rec, "nrcpt", 0) - (double)k);
		cli_time(&out, json_get_num(rec, "time", 0));
		buf_append_str(&out, "  ");
		cli_cell(&out, json_get_str(rec, "action"), 8);
		buf_appendf(&out, "  %7.2f  ", json_get_num(rec, "score", 0));
		cli_cell(&out, json_get_str(rec, "id"), 13);
		buf_append_str(&out, "  ");
		cli_cell(&out, (json_get_str(rec, "from") ?: "")[0] != '\0' ? json_get_str(rec, "from")
									     : "<>",
			 26);
		buf_append_str(&out, "  ");
		cli_cell(&out, buf_cstr(&to), 26);
		buf_append_str(&out, "  ");
		buf_append_str(&tail, json_get_str(rec, "subject") ?: "");
		if (reason != NULL && reason[0] != '\0')
			buf_appendf(&tail, " (%s)", reason);
		cli_cell(&out, buf_cstr(&tail), 60);
		while (out.len > 0 && out.data[out.len - 1] == ' ')
			out.len--;
		buf_append_char(&out, '\n');
		buf_deinit(&to);
		buf_deinit(&tail);
	}
	buf_appendf(&out, "%.0f found, %.0f examined (%s)%s", json_get_num(r, "count", 0),
		    json_get_num(r, "scanned", 0), json_get_str(r, "source") ?: "?",
		    json_get(r, "truncated") != NULL && json_get(r, "truncated")->b
			    ? ", search limit reached"
			    : "");
	if (json_get_str(r, "error") != NULL)
		buf_appendf(&out, "; %s", json_get_str(r, "error"));
	buf_append_char(&out, '\n');
	fputs(buf_cstr(&out), stdout);
	buf_deinit(&out);
}

int
cmd_history(int argc, char **argv)
{
	const char *path = cli_default_conf_path();
	static const char *const params[][2] = {
		{ "--action", "action" }, { "--rule", "rule" }, { "-q", "q" },
		{ "--since", "since" },   { "--limit", "limit" },
	};
	struct buf url = BUF_INIT, raw = BUF_INIT;
	bool json = false;
	struct conf *c;
	struct json *r;
	int i;

	buf_append_str(&url, "/api/history?");
	for (i = 1; i < argc; i++) {
		size_t k;

		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			path = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
			continue;
		}
		for (k = 0; k < N_ELEMENTS(params); k++) {
			if (strcmp(argv[i], params[k][0]) == 0 && i + 1 < argc) {
				buf_appendf(&url, "%s=", params[k][1]);
				cli_url_append(&url, argv[++i]);
				buf_append_char(&url, '&');
				break;
			}
		}
		if (k == N_ELEMENTS(params))
			cli_usage();
	}
	c = cli_load_conf_default(path);
	r = cli_http_json(c, buf_cstr(&url), &raw);
	conf_unref(&c);
	buf_deinit(&url);
	if (r == NULL) {
		buf_deinit(&raw);
		return 1;
	}
	if (json)
		fputs(buf_cstr(&raw), stdout);
	else
		print_history(r);
	json_free(&r);
	buf_deinit(&raw);
	return 0;
}
