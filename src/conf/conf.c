#include "conf/conf.h"
#include "conf/conf_table.h"
#include "core/xalloc.h"

#include <limits.h>

#ifndef DATADIR
#define DATADIR "/usr/local/share"
#endif
#include <unistd.h>

static void *
field(struct conf *c, const struct conf_key *k)
{
	return (char *)c + k->offset;
}

static const void *
cfield(const struct conf *c, const struct conf_key *k)
{
	return (const char *)c + k->offset;
}

static int
parse_u64(const char *s, uint64_t *v_r, const char **rest_r)
{
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			return -1;
		s++;
	}
	*v_r = v;
	*rest_r = s;
	return 0;
}

static int
parse_size(const char *s, uint64_t *v_r)
{
	const char *rest;
	uint64_t v, mul = 1;

	if (parse_u64(s, &v, &rest) < 0)
		return -1;
	switch (*rest) {
	case '\0': break;
	case 'k': case 'K': mul = 1024; rest++; break;
	case 'm': case 'M': mul = 1024 * 1024; rest++; break;
	case 'g': case 'G': mul = 1024ull * 1024 * 1024; rest++; break;
	case 't': case 'T': mul = 1024ull * 1024 * 1024 * 1024; rest++; break;
	default: return -1;
	}
	if (*rest == 'b' || *rest == 'B')
		rest++;
	if (*rest != '\0' || __builtin_mul_overflow(v, mul, &v))
		return -1;
	*v_r = v;
	return 0;
}

static int
parse_duration(const char *s, uint64_t *ms_r)
{
	const char *rest;
	uint64_t v, mul;

	if (parse_u64(s, &v, &rest) < 0)
		return -1;
	if (strcmp(rest, "ms") == 0)
		mul = 1;
	else if (*rest == '\0' || strcmp(rest, "s") == 0)
		mul = 1000;
	else if (strcmp(rest, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(rest, "h") == 0)
		mul = 3600 * 1000;
	else if (strcmp(rest, "d") == 0)
		mul = 86400ull * 1000;
	else
		return -1;
	if (__builtin_mul_overflow(v, mul, &v))
		return -1;
	*ms_r = v;
	return 0;
}

static int
parse_bool(const char *s, bool *b_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < N_ELEMENTS(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b_r = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b_r = false;
			return 0;
		}
	}
	return -1;
}

/* split_list(): next comma/space separated item of *s into item[]. */
static bool
split_list(const char **s, char *item, size_t itemlen)
{
	const char *p = *s;
	size_t n = 0;

	while (*p == ',' || *p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return false;
	while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t') {
		if (n + 1 < itemlen)
			item[n] = *p;
		n++;
		p++;
	}
	item[n < itemlen ? n : itemlen - 1] = '\0';
	*s = p;
	return true;
}

static int
set_value(struct conf *c, const struct conf_key *k, const char *v, struct buf *err)
{
	void *f = field(c, k);
	const char *e = NULL;
	uint64_t u;

	switch (k->type) {
	case CONF_T_STRING:
		free(*(char **)f);
		*(char **)f = xstrdup(v);
		return 0;
	case CONF_T_COUNT: {
		const char *rest;
		uint64_t max = k->max == 0 ? UINT_MAX : k->max;

		if (parse_u64(v, &u, &rest) < 0 || *rest != '\0') {
			buf_appendf(err, "%s: expected a number, got \"%s\"", k->name, v);
			return -1;
		}
		if (u > max) {
			buf_appendf(err, "%s: %s is above the maximum %llu", k->name, v,
				    (unsigned long long)max);
			return -1;
		}
		*(unsigned int *)f = (unsigned int)u;
		return 0;
	}
	case CONF_T_SIZE:
		if (parse_size(v, &u) < 0) {
			buf_appendf(err, "%s: expected a size (e.g. 512, 64K, 25M), got \"%s\"",
				    k->name, v);
			return -1;
		}
		*(uint64_t *)f = u;
		return 0;
	case CONF_T_DURATION:
		if (parse_duration(v, &u) < 0) {
			buf_appendf(err, "%s: expected a duration (e.g. 500ms, 30s, 5m, 1h), got \"%s\"",
				    k->name, v);
			return -1;
		}
		*(uint64_t *)f = u;
		return 0;
	case CONF_T_BOOL:
		if (parse_bool(v, (bool *)f) < 0) {
			buf_appendf(err, "%s: expected yes or no, got \"%s\"", k->name, v);
			return -1;
		}
		return 0;
	case CONF_T_ENUM: {
		size_t i;

		for (i = 0; k->words[i] != NULL; i++) {
			if (strcasecmp(v, k->words[i]) == 0) {
				*(int *)f = (int)i;
				return 0;
			}
		}
		buf_appendf(err, "%s: expected one of", k->name);
		for (i = 0; k->words[i] != NULL; i++)
			buf_appendf(err, "%s %s", i == 0 ? "" : ",", k->words[i]);
		buf_appendf(err, "; got \"%s\"", v);
		return -1;
	}
	case CONF_T_ENDPOINT:
		if (netaddr_parse_endpoint(v, (struct netaddr *)f, &e) < 0) {
			buf_appendf(err, "%s: \"%s\": %s", k->name, v, e);
			return -1;
		}
		return 0;
	case CONF_T_ENDPOINTS: {
		struct conf_endpoints *l = f;
		const char *p = v;
		char item[256];

		l->count = 0;
		while (split_list(&p, item, sizeof(item))) {
			if (l->count == CONF_MAX_LISTEN) {
				buf_appendf(err, "%s: more than %d addresses", k->name,
					    CONF_MAX_LISTEN);
				return -1;
			}
			if (netaddr_parse_endpoint(item, &l->addr[l->count], &e) < 0) {
				buf_appendf(err, "%s: \"%s\": %s", k->name, item, e);
				return -1;
			}
			l->count++;
		}
		return 0;
	}
	case CONF_T_SCORE: {
		char *end;
		double d;

		errno = 0;
		d = strtod(v, &end);
		if (*v == '\0' || *end != '\0' || errno != 0 || !(d >= -10000 && d <= 10000)) {
			buf_appendf(err, "%s: expected a score (e.g. 5 or 7.5), got \"%s\"",
				    k->name, v);
			return -1;
		}
		*(double *)f = d;
		return 0;
	}
	case CONF_T_NETWORKS: {
		struct conf_networks *l = f;
		const char *p = v;
		char item[256];

		l->count = 0;
		while (split_list(&p, item, sizeof(item))) {
			if (l->count == CONF_MAX_NETWORKS) {
				buf_appendf(err, "%s: more than %d networks", k->name,
					    CONF_MAX_NETWORKS);
				return -1;
			}
			if (cidr_parse(item, &l->net[l->count], &e) < 0) {
				buf_appendf(err, "%s: \"%s\": %s", k->name, item, e);
				return -1;
			}
			l->count++;
		}
		return 0;
	}
	}
	panic("bad conf type %d", (int)k->type);
}

static struct conf *
conf_new_defaults(void)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	struct buf err = BUF_INIT;
	size_t i;

	c->refcount = 1;
	for (i = 0; i < conf_keys_count; i++) {
		if (set_value(c, &conf_keys[i], conf_keys[i].def, &err) < 0)
			panic("bad default for %s.%s: %s", conf_keys[i].section,
			      conf_keys[i].name, buf_cstr(&err));
	}
	buf_deinit(&err);
	return c;
}

static void
conf_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < conf_keys_count; i++) {
		if (conf_keys[i].type == CONF_T_STRING)
			free(*(char **)field(c, &conf_keys[i]));
	}
	free(c->path);
	free(c);
}

static const struct conf_key *
find_key(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < conf_keys_count; i++) {
		if (strcmp(conf_keys[i].section, section) == 0 &&
		    strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	}
	return NULL;
}

static bool
section_exists(const char *section)
{
	size_t i;

	for (i = 0; i < conf_sections_count; i++) {
		if (strcmp(conf_sections[i][0], section) == 0)
			return true;
	}
	return false;
}

/* [milter]: listen in libmilter's syntax (inet:PORT@HOST, inet6:PORT@HOST,
 * unix:/path, local:/path), quarantine as a list of verdict names */
static int
milter_finish(struct conf *c, struct buf *err)
{
	const char *l = c->milter_listen, *p;
	char item[64];

	if (l[0] != '\0') {
		if (strncmp(l, "unix:", 5) == 0 || strncmp(l, "local:", 6) == 0) {
			p = strchr(l, ':') + 1;
			if (p[0] != '/' || strlen(p) >= 108) {
				buf_appendf(err, "[milter] listen: unix:/absolute/path (under 108 bytes)");
				return -1;
			}
		} else if (strncmp(l, "inet:", 5) == 0 || strncmp(l, "inet6:", 6) == 0) {
			unsigned long port;
			char *end;

			p = strchr(l, ':') + 1;
			port = strtoul(p, &end, 10);
			if (end == p || port == 0 || port > 65535 || (*end != '\0' && *end != '@') ||
			    (*end == '@' && end[1] == '\0') || strpbrk(p, " \t") != NULL) {
				buf_appendf(err, "[milter] listen: inet:PORT@HOST, inet6:PORT@HOST "
						 "or unix:/path");
				return -1;
			}
		} else {
			buf_appendf(err, "[milter] listen: inet:PORT@HOST, inet6:PORT@HOST or unix:/path");
			return -1;
		}
	}
	if (c->milter_command_budget_ms == 0 || c->milter_content_budget_ms == 0) {
		buf_appendf(err, "[milter] command_budget and content_budget must be above 0");
		return -1;
	}
	c->milter_quarantine_mask = 0;
	p = c->milter_quarantine;
	while (split_list(&p, item, sizeof(item))) {
		if (strcmp(item, "reject") == 0)
			c->milter_quarantine_mask |= CONF_MILTER_HOLD_REJECT;
		else if (strcmp(item, "discard") == 0)
			c->milter_quarantine_mask |= CONF_MILTER_HOLD_DISCARD;
		else if (strcmp(item, "tag") == 0)
			c->milter_quarantine_mask |= CONF_MILTER_HOLD_TAG;
		else {
			buf_appendf(err, "[milter] quarantine: \"%s\" is not one of reject, discard, tag",
				    item);
			return -1;
		}
	}
	return 0;
}

static int
conf_finish(struct conf *c, struct buf *err)
{
	if (c->hostname[0] == '\0') {
		char host[256];

		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		free(c->hostname);
		c->hostname = xstrdup(host);
	}
	if (c->rules_paths[0] == '\0') {
		free(c->rules_paths);
		c->rules_paths = xstrdup(DATADIR "/mxmoat/rules");
	}
	if (c->helo_name[0] == '\0') {
		free(c->helo_name);
		c->helo_name = xstrdup(c->hostname);
	}
	if (milter_finish(c, err) < 0)
		return -1;
	if (c->listen.count == 0 && c->milter_listen[0] == '\0') {
		buf_appendf(err, "[server] listen: at least one address is needed "
				 "(or a [milter] listen)");
		return -1;
	}
	if (c->http_token[0] == '\0') {
		size_t i;

		for (i = 0; i < c->http_listen.count; i++) {
			if (!netaddr_is_loopback(&c->http_listen.addr[i])) {
				buf_appendf(err, "[http] listen: an address that is not loopback "
						 "needs [http] token");
				return -1;
			}
		}
	}
	if (c->max_line_length < 512) {
		buf_appendf(err, "[smtp] max_line_length: RFC 5321 requires at least 512");
		return -1;
	}
	if (c->max_line_length > 1024 * 1024) {
		buf_appendf(err, "[smtp] max_line_length: at most 1M");
		return -1;
	}
	if (strcmp(c->tls_min_protocol, "TLSv1.2") != 0 &&
	    strcmp(c->tls_min_protocol, "TLSv1.3") != 0) {
		buf_appendf(err, "[tls] min_protocol: TLSv1.2 or TLSv1.3");
		return -1;
	}
	if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0')) {
		buf_appendf(err, "[tls] cert and key go together");
		return -1;
	}
	if (c->scan_workers == 0) {
		buf_appendf(err, "[scan] workers: at least 1");
		return -1;
	}
	if (c->max_message_size == 0) {
		buf_appendf(err, "[smtp] max_message_size: must be above 0");
		return -1;
	}
	if (c->command_timeout_ms == 0 || c->data_timeout_ms == 0 ||
	    c->downstream_connect_timeout_ms == 0 ||
	    c->downstream_command_timeout_ms == 0 || c->downstream_data_timeout_ms == 0) {
		buf_appendf(err, "timeouts must be above 0");
		return -1;
	}
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int
conf_load_string(const char *name, const char *text, size_t len, struct conf **conf_r,
		 char **error_r)
{
	struct conf *c = conf_new_defaults();
	struct buf err = BUF_INIT;
	struct buf line = BUF_INIT;
	char section[64] = "";
	/* which keys were set, to refuse duplicates */
	bool *seen = xcalloc(conf_keys_count, sizeof(bool));
	size_t pos = 0;
	unsigned int lineno = 0;
	int ret = -1;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t llen = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		char *s, *eq;
		const struct conf_key *k;

		lineno++;
		buf_reset(&line);
		buf_append(&line, text + pos, llen);
		pos += llen + (nl != NULL ? 1 : 0);
		if (memchr(line.data, '\0', line.len) != NULL) {
			buf_appendf(&err, "NUL byte in line");
			goto fail;
		}
		s = trim(line.data);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (close == NULL || *trim(close + 1) != '\0') {
				buf_appendf(&err, "expected [section]");
				goto fail;
			}
			*close = '\0';
			s = trim(s + 1);
			if (!section_exists(s)) {
				buf_appendf(&err, "unknown section [%s]", s);
				goto fail;
			}
			snprintf(section, sizeof(section), "%s", s);
			continue;
		}
		eq = strchr(s, '=');
		if (eq == NULL) {
			buf_appendf(&err, "expected key = value");
			goto fail;
		}
		*eq = '\0';
		if (section[0] == '\0') {
			buf_appendf(&err, "key \"%s\" outside of a [section]", trim(s));
			goto fail;
		}
		k = find_key(section, trim(s));
		if (k == NULL) {
			buf_appendf(&err, "unknown key \"%s\" in [%s]", trim(s), section);
			goto fail;
		}
		if (seen[k - conf_keys]) {
			buf_appendf(&err, "[%s] %s is set twice", section, k->name);
			goto fail;
		}
		seen[k - conf_keys] = true;
		if (set_value(c, k, trim(eq + 1), &err) < 0)
			goto fail;
	}
	lineno = 0;
	if (conf_finish(c, &err) < 0)
		goto fail;
	c->path = xstrdup(name);
	*conf_r = c;
	c = NULL;
	ret = 0;
	goto out;
fail:
	{
		struct buf msg = BUF_INIT;

		if (lineno > 0)
			buf_appendf(&msg, "%s:%u: %s", name, lineno, buf_cstr(&err));
		else
			buf_appendf(&msg, "%s: %s", name, buf_cstr(&err));
		*error_r = buf_steal(&msg);
	}
out:
	if (c != NULL)
		conf_free(c);
	free(seen);
	buf_deinit(&err);
	buf_deinit(&line);
	return ret;
}

int
conf_load(const char *path, struct conf **conf_r, char **error_r)
{
	struct buf text = BUF_INIT;
	char chunk[8192];
	FILE *f;
	size_t n;
	int ret;

	if (path == NULL)
		return conf_load_string("(defaults)", "", 0, conf_r, error_r);
	f = fopen(path, "r");
	if (f == NULL) {
		struct buf msg = BUF_INIT;

		buf_appendf(&msg, "%s: %s", path, strerror(errno));
		*error_r = buf_steal(&msg);
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (text.len + n > 4 * 1024 * 1024) {
			struct buf msg = BUF_INIT;

			fclose(f);
			buf_deinit(&text);
			buf_appendf(&msg, "%s: file larger than 4M", path);
			*error_r = buf_steal(&msg);
			return -1;
		}
		buf_append(&text, chunk, n);
	}
	if (ferror(f)) {
		struct buf msg = BUF_INIT;

		buf_appendf(&msg, "%s: read error: %s", path, strerror(errno));
		fclose(f);
		buf_deinit(&text);
		*error_r = buf_steal(&msg);
		return -1;
	}
	fclose(f);
	ret = conf_load_string(path, buf_cstr(&text), text.len, conf_r, error_r);
	buf_deinit(&text);
	return ret;
}

struct conf *
conf_ref(struct conf *c)
{
	__atomic_add_fetch(&c->refcount, 1, __ATOMIC_RELAXED);
	return c;
}

void
conf_unref(struct conf **cp)
{
	struct conf *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	if (__atomic_sub_fetch(&c->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		conf_free(c);
}

static void
format_size(struct buf *out, uint64_t v)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (v != 0 && v % 1024 == 0 && u < 3) {
		v /= 1024;
		u++;
	}
	buf_appendf(out, "%llu", (unsigned long long)v);
	if (u >= 0)
		buf_append_char(out, units[u]);
}

static void
format_duration(struct buf *out, uint64_t ms)
{
	if (ms % 1000 != 0)
		buf_appendf(out, "%llums", (unsigned long long)ms);
	else if (ms % 86400000 == 0 && ms != 0)
		buf_appendf(out, "%llud", (unsigned long long)(ms / 86400000));
	else if (ms % 3600000 == 0 && ms != 0)
		buf_appendf(out, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms % 60000 == 0 && ms != 0 && ms >= 600000)
		buf_appendf(out, "%llum", (unsigned long long)(ms / 60000));
	else
		buf_appendf(out, "%llus", (unsigned long long)(ms / 1000));
}

static void
format_value(const struct conf *c, const struct conf_key *k, struct buf *out)
{
	const void *f = cfield(c, k);
	char tmp[128];
	size_t i;

	switch (k->type) {
	case CONF_T_STRING:
		buf_append_str(out, *(char *const *)f);
		break;
	case CONF_T_COUNT:
		buf_appendf(out, "%u", *(const unsigned int *)f);
		break;
	case CONF_T_SIZE:
		format_size(out, *(const uint64_t *)f);
		break;
	case CONF_T_DURATION:
		format_duration(out, *(const uint64_t *)f);
		break;
	case CONF_T_BOOL:
		buf_append_str(out, *(const bool *)f ? "yes" : "no");
		break;
	case CONF_T_ENUM:
		buf_append_str(out, k->words[*(const int *)f]);
		break;
	case CONF_T_ENDPOINT:
		netaddr_format(f, tmp, sizeof(tmp));
		buf_append_str(out, tmp);
		break;
	case CONF_T_ENDPOINTS: {
		const struct conf_endpoints *l = f;

		for (i = 0; i < l->count; i++) {
			netaddr_format(&l->addr[i], tmp, sizeof(tmp));
			buf_appendf(out, "%s%s", i == 0 ? "" : ", ", tmp);
		}
		break;
	}
	case CONF_T_SCORE:
		buf_appendf(out, "%g", *(const double *)f);
		break;
	case CONF_T_NETWORKS: {
		const struct conf_networks *l = f;

		for (i = 0; i < l->count; i++) {
			cidr_format(&l->net[i], tmp, sizeof(tmp));
			buf_appendf(out, "%s%s", i == 0 ? "" : ", ", tmp);
		}
		break;
	}
	}
}

static void
append_comment(struct buf *out, const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

		buf_append_str(out, "# ");
		buf_append(out, p, n);
		buf_append_char(out, '\n');
		p += n + (nl != NULL ? 1 : 0);
	}
}

static void
print_sections(const struct conf *c, struct buf *out)
{
	size_t s, i;

	for (s = 0; s < conf_sections_count; s++) {
		const char *section = conf_sections[s][0];

		if (s > 0)
			buf_append_char(out, '\n');
		if (c == NULL)
			append_comment(out, conf_sections[s][1]);
		buf_appendf(out, "[%s]\n", section);
		for (i = 0; i < conf_keys_count; i++) {
			const struct conf_key *k = &conf_keys[i];

			if (strcmp(k->section, section) != 0)
				continue;
			if (c == NULL) {
				buf_append_char(out, '\n');
				append_comment(out, k->doc);
				buf_appendf(out, "#%s = %s\n", k->name, k->def);
				continue;
			}
			buf_appendf(out, "%s = ", k->name);
			format_value(c, k, out);
			buf_append_char(out, '\n');
		}
	}
}

void
conf_print(const struct conf *c, struct buf *out)
{
	print_sections(c, out);
}

void
conf_print_doc(struct buf *out)
{
	buf_append_str(out,
		       "# mxmoat.conf - every key, with its default (commented out).\n"
		       "# Generated by `mxmoat config --doc`; the test suite checks that this\n"
		       "# file and the program agree. Sizes: 512, 64K, 25M. Durations: 500ms,\n"
		       "# 30s, 5m, 2h, 1d. Unknown keys and bad values are errors (FILE:LINE).\n\n");
	print_sections(NULL, out);
}
