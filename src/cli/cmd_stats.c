/*
 * mxmoat stats [-c PATH] [--minutes N] [--json]
 *   the running daemon's summary (its /api/stats) as tables: messages by
 *   outcome (all time and the last N minutes), top reasons, top rules,
 *   virus families, scan and downstream times; --json prints the answer
 *   as the daemon gave it.
 */
#include "cli/cli_http.h"

static const char *const actions[] = { "accept", "tag",     "greylist", "tempfail",
				       "reject", "discard", "abort" };

static void
hist_line(struct buf *out, const char *name, const struct json *h)
{
	if (h == NULL)
		return;
	buf_appendf(out, "  %-24s %8.0f  %9.2f  %9.2f  %9.2f\n", name, json_get_num(h, "count", 0),
		    json_get_num(h, "p50_ms", 0), json_get_num(h, "p90_ms", 0),
		    json_get_num(h, "p99_ms", 0));
}

static void
print_stats(const struct json *s, unsigned int minutes)
{
	const struct json *msgs = json_get_object(s, "messages");
	const struct json *series = json_get_object(s, "series");
	const struct json *counts = json_get_array(series, "counts");
	const struct json *hist = json_get_object(s, "history");
	const struct json *conn = json_get_object(s, "connections");
	const struct json *v, *plugins;
	struct buf out = BUF_INIT;
	double recent[N_ELEMENTS(actions)] = { 0 }, rtotal = 0;
	double up = json_get_num(s, "uptime_s", 0);
	size_t i, k;

	for (i = 0; counts != NULL && i < counts->len; i++) {
		const struct json *row = counts->items[i];

		for (k = 0; row->type == JSON_ARRAY && k < row->len && k < N_ELEMENTS(actions); k++) {
			recent[k] += row->items[k]->num;
			rtotal += row->items[k]->num;
		}
	}
	buf_appendf(&out, "mxmoatd %s on %s, up %.0fd %02.0fh%02.0fm",
		    json_get_str(s, "version") ?: "?", json_get_str(s, "node") ?: "?",
		    (double)((long long)up / 86400), (double)(((long long)up % 86400) / 3600),
		    (double)(((long long)up % 3600) / 60));
	if (hist != NULL) {
		const struct json *ru = json_get(hist, "redis_up");

		buf_appendf(&out, "; history in %s%s, %.0f recorded", json_get_str(hist, "store") ?: "?",
			    strcmp(json_get_str(hist, "store") ?: "", "redis") == 0
				    ? (ru != NULL && ru->b ? " (up)" : " (down: memory only)")
				    : "",
			    json_get_num(hist, "recorded", 0));
	}
	buf_appendf(&out, "\nconnections: %.0f open, %.0f in all, %.0f refused\n\n",
		    json_get_num(conn, "active", 0), json_get_num(conn, "total", 0),
		    json_get_num(conn, "refused", 0));
	buf_appendf(&out, "  %-10s %12s %14s\n", "outcome", "messages", "last");
	buf_appendf(&out, "  %-10s %12s %11u min\n", "", "", minutes);
	for (i = 0; i < N_ELEMENTS(actions); i++)
		buf_appendf(&out, "  %-10s %12.0f %14.0f\n", actions[i], json_get_num(msgs, actions[i], 0),
			    recent[i]);
	buf_appendf(&out, "  %-10s %12.0f %14.0f\n\n", "total", json_get_num(msgs, "total", 0), rtotal);

	v = json_get_array(s, "reasons");
	buf_appendf(&out, "  %-40s %10s\n", "top reasons (not accepted)", "messages");
	for (i = 0; v != NULL && i < v->len; i++) {
		struct buf label = BUF_INIT;

		buf_appendf(&label, "%s: %s", json_get_str(v->items[i], "action") ?: "",
			    json_get_str(v->items[i], "reason") ?: "");
		buf_appendf(&out, "  %-40s %10.0f\n", buf_cstr(&label),
			    json_get_num(v->items[i], "count", 0));
		buf_deinit(&label);
	}
	if (v == NULL || v->len == 0)
		buf_append_str(&out, "  (none)\n");
	v = json_get_array(s, "rules");
	buf_appendf(&out, "\n  %-40s %10s\n", "top rules", "hits");
	for (i = 0; v != NULL && i < v->len; i++)
		buf_appendf(&out, "  %-40s %10.0f\n", json_get_str(v->items[i], "rule") ?: "",
			    json_get_num(v->items[i], "count", 0));
	if (v == NULL || v->len == 0)
		buf_append_str(&out, "  (none)\n");
	v = json_get_array(s, "viruses");
	if (v != NULL && v->len > 0) {
		buf_appendf(&out, "\n  %-40s %10s\n", "viruses (family)", "messages");
		for (i = 0; i < v->len; i++)
			buf_appendf(&out, "  %-40s %10.0f\n", json_get_str(v->items[i], "family") ?: "",
				    json_get_num(v->items[i], "count", 0));
	}
	buf_appendf(&out, "\n  %-24s %8s  %9s  %9s  %9s\n", "time taken", "count", "p50 ms", "p90 ms",
		    "p99 ms");
	hist_line(&out, "scan (whole message)", json_get_object(s, "scan"));
	plugins = json_get_object(s, "plugins");
	for (i = 0; plugins != NULL && i < plugins->len; i++) {
		struct buf name = BUF_INIT;

		buf_appendf(&name, "plugin %s", plugins->keys[i]);
		hist_line(&out, buf_cstr(&name), plugins->items[i]);
		buf_deinit(&name);
	}
	hist_line(&out, "transaction", json_get_object(s, "transaction"));
	v = json_get_object(s, "downstream");
	hist_line(&out, "downstream command", json_get_object(v, "command"));
	hist_line(&out, "downstream message", json_get_object(v, "data"));
	buf_appendf(&out, "  downstream errors: %.0f\n", json_get_num(v, "errors", 0));
	fputs(buf_cstr(&out), stdout);
	buf_deinit(&out);
}

int
cmd_stats(int argc, char **argv)
{
	const char *path = cli_default_conf_path();
	unsigned int minutes = 60;
	bool json = false;
	struct buf raw = BUF_INIT, url = BUF_INIT;
	struct conf *c;
	struct json *s;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--minutes") == 0 && i + 1 < argc)
			minutes = (unsigned int)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			cli_usage();
	}
	minutes = MAX(1u, MIN(minutes, 1440u));
	c = cli_load_conf_default(path);
	buf_appendf(&url, "/api/stats?minutes=%u", minutes);
	s = cli_http_json(c, buf_cstr(&url), &raw);
	conf_unref(&c);
	buf_deinit(&url);
	if (s == NULL) {
		buf_deinit(&raw);
		return 1;
	}
	if (json)
		fputs(buf_cstr(&raw), stdout);
	else
		print_stats(s, minutes);
	json_free(&s);
	buf_deinit(&raw);
	return 0;
}
