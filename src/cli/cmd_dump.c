/*
 * mxmoat dump [-c PATH] [--json] [--extract DIR] [--excerpt N] FILE...
 *
 * Prints how mxmoat's parser reads each message: every reading, its part
 * tree with types, file names, sizes, flags and text excerpts, then the
 * URLs. --json prints one JSON object per message instead (for tests and
 * scripts); --extract writes each part's decoded body to
 * DIR/<file>.r<reading>.p<part> (the file's base name). A leading mbox
 * "From " line is skipped. Limits come from the configuration's [mime]
 * section (-c), else the built-in defaults.
 */
#include "cli/cli.h"
#include "msg/msg.h"
#include "msg/charset.h"

#include <sys/stat.h>

struct dump_opts {
	bool json;
	const char *extract;
	size_t excerpt;
};

static char *
read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	*len_r = b.len;
	if (b.data == NULL)
		buf_reserve(&b, 1);
	return buf_steal(&b);
}

static void
flags_text(struct buf *out, unsigned int flags, const char *sep)
{
	unsigned int bit;
	bool first = true;

	for (bit = 1; bit != 0; bit <<= 1) {
		if (flags & bit) {
			buf_appendf(out, "%s%s", first ? "" : sep, msg_flag_name((enum msg_flag)bit));
			first = false;
		}
	}
}

/* --- text ------------------------------------------------------------ */

static void
excerpt(struct buf *out, const struct buf *text, size_t max)
{
	size_t n = MIN(text->len, max), i;
	struct buf one = BUF_INIT;

	n = charset_utf8_cut(text->data != NULL ? text->data : "", n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text->data[i];

		if (c == '\n' || c == '\r' || c == '\t')
			buf_append_char(&one, ' ');
		else if (c < 0x20 || c == 0x7f)
			buf_append_char(&one, '?');
		else
			buf_append_char(&one, (char)c);
	}
	buf_appendf(out, "\"%s%s\"", buf_cstr(&one), n < text->len ? "..." : "");
	buf_deinit(&one);
}

static const char *const cte_names[] = { "7bit", "8bit", "binary", "quoted-printable",
					 "base64", "uuencode", "unknown" };

static void
print_part(struct buf *out, const struct msg_part *p, const struct dump_opts *o)
{
	size_t i;

	for (i = 0; i < p->depth; i++)
		buf_append_str(out, "  ");
	buf_appendf(out, "  [%u] %s/%s", p->index, p->type, p->subtype);
	if (p->charset[0] != '\0')
		buf_appendf(out, " charset=%s", p->charset);
	if (p->boundary != NULL) {
		buf_append_str(out, " boundary=");
		buf_append_escaped(out, p->boundary, strlen(p->boundary), 80);
	}
	buf_appendf(out, " cte=%s", cte_names[p->cte]);
	if (p->disposition[0] != '\0')
		buf_appendf(out, " disposition=%s", p->disposition);
	for (i = 0; i < p->nfilenames; i++) {
		buf_append_str(out, i == 0 ? " name=\"" : " alt-name=\"");
		buf_append_str(out, p->filenames[i]);
		buf_append_char(out, '"');
	}
	buf_appendf(out, " body=%llu decoded=%zu",
		    (unsigned long long)(p->body_end - p->body_offset), p->decoded.len);
	if (p->text.len > 0)
		buf_appendf(out, " text=%zu", p->text.len);
	if (p->offset_base != NULL)
		buf_appendf(out, " (offsets in part %u)", p->offset_base->index);
	if (p->flags != 0) {
		buf_append_str(out, " flags=");
		flags_text(out, p->flags, ",");
	}
	buf_append_char(out, '\n');
	if (p->text.len > 0 && o->excerpt > 0) {
		for (i = 0; i < p->depth; i++)
			buf_append_str(out, "  ");
		buf_append_str(out, "      text: ");
		excerpt(out, &p->text, o->excerpt);
		buf_append_char(out, '\n');
	}
	if (p->html_hidden.len > 0 && o->excerpt > 0) {
		for (i = 0; i < p->depth; i++)
			buf_append_str(out, "  ");
		buf_append_str(out, "      hidden: ");
		excerpt(out, &p->html_hidden, o->excerpt);
		buf_append_char(out, '\n');
	}
	if (p->preamble.len > 0 && o->excerpt > 0 && view_trim(view_from_buf(&p->preamble)).len > 0) {
		for (i = 0; i < p->depth; i++)
			buf_append_str(out, "  ");
		buf_append_str(out, "      preamble: ");
		excerpt(out, &p->preamble, o->excerpt);
		buf_append_char(out, '\n');
	}
	if (p->epilogue.len > 0 && o->excerpt > 0 && view_trim(view_from_buf(&p->epilogue)).len > 0) {
		for (i = 0; i < p->depth; i++)
			buf_append_str(out, "  ");
		buf_append_str(out, "      epilogue: ");
		excerpt(out, &p->epilogue, o->excerpt);
		buf_append_char(out, '\n');
	}
}

static const char *const url_sources[] = { "text", "href", "src", "other" };

static void
print_text(struct buf *out, const char *name, const struct msg *m, const struct dump_opts *o)
{
	size_t r, i;

	buf_appendf(out, "== %s: %llu bytes, %zu reading%s", name, (unsigned long long)m->size,
		    m->nreadings, m->nreadings == 1 ? "" : "s");
	if (m->flags != 0) {
		buf_append_str(out, ", flags ");
		flags_text(out, m->flags, ",");
	}
	buf_append_char(out, '\n');
	for (i = 0; i < m->nheaders; i++) {
		const struct msg_header *h = &m->headers[i];

		if (strcasecmp(h->name, "subject") == 0 || strcasecmp(h->name, "from") == 0 ||
		    strcasecmp(h->name, "to") == 0 || strcasecmp(h->name, "date") == 0) {
			buf_appendf(out, "%s: ", h->name);
			buf_append_str(out, h->decoded);
			buf_append_char(out, '\n');
		}
	}
	buf_appendf(out, "headers: %zu\n", m->nheaders);
	for (r = 0; r < m->nreadings; r++) {
		const struct msg_reading *rd = &m->readings[r];

		buf_appendf(out, "reading %zu: %zu part%s\n", r, rd->nparts, rd->nparts == 1 ? "" : "s");
		for (i = 0; i < rd->nparts; i++)
			print_part(out, rd->parts[i], o);
	}
	if (m->nurls > 0)
		buf_appendf(out, "urls: %zu\n", m->nurls);
	for (i = 0; i < m->nurls; i++) {
		const struct msg_url *u = &m->urls[i];

		buf_appendf(out, "  %s (%s, part %u%s)", u->url, url_sources[u->source], u->part,
			    u->host_is_ip ? ", ip" : "");
		if (u->link_text != NULL && u->link_text[0] != '\0') {
			buf_append_str(out, " text=\"");
			buf_append_str(out, u->link_text);
			buf_append_char(out, '"');
		}
		buf_append_char(out, '\n');
	}
}

/* --- JSON ------------------------------------------------------------ */

static void
json_str(struct buf *out, const char *s, size_t len)
{
	struct buf clean = BUF_INIT;
	size_t i;

	if (!charset_utf8_valid(s, len)) {
		charset_utf8_sanitize(s, len, &clean, 0);
		s = buf_cstr(&clean);
		len = clean.len;
	}
	buf_append_char(out, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			buf_appendf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			buf_appendf(out, "\\u%04x", c);
		else
			buf_append_char(out, (char)c);
	}
	buf_append_char(out, '"');
	buf_deinit(&clean);
}

static void
json_cstr(struct buf *out, const char *s)
{
	if (s == NULL)
		buf_append_str(out, "null");
	else
		json_str(out, s, strlen(s));
}

static void
json_flags(struct buf *out, unsigned int flags)
{
	unsigned int bit;
	bool first = true;

	buf_append_char(out, '[');
	for (bit = 1; bit != 0; bit <<= 1) {
		if (flags & bit) {
			buf_appendf(out, "%s\"%s\"", first ? "" : ",", msg_flag_name((enum msg_flag)bit));
			first = false;
		}
	}
	buf_append_char(out, ']');
}

static void
json_part(struct buf *out, const struct msg_part *p, const struct dump_opts *o)
{
	size_t i;

	buf_appendf(out, "{\"index\":%u,\"depth\":%u,\"parent\":%d,\"type\":", p->index, p->depth,
		    p->parent != NULL ? (int)p->parent->index : -1);
	json_cstr(out, p->type);
	buf_append_str(out, ",\"subtype\":");
	json_cstr(out, p->subtype);
	buf_append_str(out, ",\"charset\":");
	json_cstr(out, p->charset);
	buf_append_str(out, ",\"boundary\":");
	json_cstr(out, p->boundary);
	buf_appendf(out, ",\"cte\":\"%s\",\"disposition\":", cte_names[p->cte]);
	json_cstr(out, p->disposition);
	buf_append_str(out, ",\"filenames\":[");
	for (i = 0; i < p->nfilenames; i++) {
		if (i > 0)
			buf_append_char(out, ',');
		json_cstr(out, p->filenames[i]);
	}
	buf_appendf(out, "],\"attachment\":%s,\"nchildren\":%zu,\"offset\":%llu,"
		    "\"body_offset\":%llu,\"body_end\":%llu,\"in_decoded_of\":%d,"
		    "\"decoded_len\":%zu,\"text_len\":%zu,\"hidden_len\":%zu,\"flags\":",
		    p->is_attachment ? "true" : "false", p->nchildren, (unsigned long long)p->offset,
		    (unsigned long long)p->body_offset, (unsigned long long)p->body_end,
		    p->offset_base != NULL ? (int)p->offset_base->index : -1, p->decoded.len,
		    p->text.len, p->html_hidden.len);
	json_flags(out, p->flags);
	buf_append_str(out, ",\"headers\":[");
	for (i = 0; i < p->nheaders; i++) {
		if (i > 0)
			buf_append_char(out, ',');
		buf_append_char(out, '[');
		json_cstr(out, p->headers[i].name);
		buf_append_char(out, ',');
		json_cstr(out, p->headers[i].decoded);
		buf_append_char(out, ']');
	}
	buf_append_char(out, ']');
	if (o->excerpt > 0) {
		size_t n = charset_utf8_cut(buf_cstr(&p->text), MIN(p->text.len, o->excerpt));

		buf_append_str(out, ",\"text\":");
		json_str(out, buf_cstr(&p->text), n);
	}
	buf_append_char(out, '}');
}

static void
print_json(struct buf *out, const char *name, const struct msg *m, const struct dump_opts *o)
{
	size_t r, i;

	buf_append_str(out, "{\"file\":");
	json_cstr(out, name);
	buf_appendf(out, ",\"size\":%llu,\"nheaders\":%zu,\"flags\":", (unsigned long long)m->size,
		    m->nheaders);
	json_flags(out, m->flags);
	buf_append_str(out, ",\"readings\":[");
	for (r = 0; r < m->nreadings; r++) {
		const struct msg_reading *rd = &m->readings[r];

		buf_append_str(out, r > 0 ? ",[" : "[");
		for (i = 0; i < rd->nparts; i++) {
			if (i > 0)
				buf_append_char(out, ',');
			json_part(out, rd->parts[i], o);
		}
		buf_append_char(out, ']');
	}
	buf_append_str(out, "],\"urls\":[");
	for (i = 0; i < m->nurls; i++) {
		const struct msg_url *u = &m->urls[i];

		if (i > 0)
			buf_append_char(out, ',');
		buf_append_str(out, "{\"url\":");
		json_cstr(out, u->url);
		buf_append_str(out, ",\"host\":");
		json_cstr(out, u->host);
		buf_append_str(out, ",\"raw\":");
		json_cstr(out, u->raw);
		buf_append_str(out, ",\"text\":");
		json_cstr(out, u->link_text);
		buf_appendf(out, ",\"ip\":%s,\"source\":\"%s\",\"part\":%u}",
			    u->host_is_ip ? "true" : "false", url_sources[u->source], u->part);
	}
	buf_append_str(out, "]}\n");
}

static int
extract(const char *dir, const char *name, const struct msg *m)
{
	const char *base = strrchr(name, '/');
	struct buf path = BUF_INIT;
	size_t r, i;
	int rc = 0;

	base = base != NULL ? base + 1 : name;
	mkdir(dir, 0755);
	for (r = 0; r < m->nreadings && rc == 0; r++) {
		for (i = 0; i < m->readings[r].nparts; i++) {
			const struct msg_part *p = m->readings[r].parts[i];
			FILE *f;

			buf_reset(&path);
			buf_appendf(&path, "%s/%s.r%zu.p%u", dir, base, r, p->index);
			f = fopen(path.data, "wb");
			if (f == NULL || fwrite(p->decoded.data != NULL ? p->decoded.data : "", 1,
						p->decoded.len, f) != p->decoded.len) {
				fprintf(stderr, "mxmoat: %s: %s\n", path.data, strerror(errno));
				rc = -1;
			}
			if (f != NULL)
				fclose(f);
			if (rc != 0)
				break;
		}
	}
	buf_deinit(&path);
	return rc;
}

int
cmd_dump(int argc, char **argv)
{
	struct dump_opts o = { false, NULL, 200 };
	const char *conf_path = NULL;
	struct msg_limits limits;
	int i, status = 0;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			o.json = true;
		} else if (strcmp(argv[i], "--extract") == 0 && i + 1 < argc) {
			o.extract = argv[++i];
		} else if (strcmp(argv[i], "--excerpt") == 0 && i + 1 < argc) {
			o.excerpt = (size_t)strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			conf_path = argv[++i];
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			cli_usage();
		}
	}
	if (i >= argc)
		cli_usage();
	if (conf_path != NULL) {
		struct conf *c = cli_load_conf(conf_path);

		msg_limits_from_conf(c, &limits);
		conf_unref(&c);
	} else {
		msg_limits_default(&limits);
	}
	for (; i < argc; i++) {
		struct buf out = BUF_INIT;
		size_t len;
		char *data = read_file(argv[i], &len);
		struct msg *m;

		if (data == NULL) {
			fprintf(stderr, "mxmoat: %s: %s\n", argv[i], strerror(errno));
			status = 1;
			continue;
		}
		m = msg_parse_mem(&limits, data, len);
		if (o.json)
			print_json(&out, argv[i], m, &o);
		else
			print_text(&out, argv[i], m, &o);
		fwrite(out.data, 1, out.len, stdout);
		if (o.extract != NULL && extract(o.extract, argv[i], m) < 0)
			status = 1;
		buf_deinit(&out);
		msg_free(&m);
		free(data);
	}
	return status;
}
