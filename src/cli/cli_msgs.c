#include "cli/cli_msgs.h"
#include "core/xalloc.h"

#include <dirent.h>
#include <sys/stat.h>

#define WALK_DEPTH 8

static bool
skip_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] == '.' || strcmp(n, "LICENSE") == 0 ||
	       (len > 3 && strcmp(n + len - 3, ".md") == 0);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
cli_msgs_add(struct cli_msg_files *files, const char *p)
{
	if ((files->n & 1023) == 0)
		files->paths = xreallocarray(files->paths, files->n + 1024, sizeof(char *));
	files->paths[files->n++] = xstrdup(p);
}

static int
walk(struct cli_msg_files *files, const char *dir, unsigned int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;

	if (d == NULL) {
		fprintf(stderr, "mxmoat: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (skip_name(e->d_name))
			continue;
		names = xreallocarray(names, n + 1, sizeof(char *));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(char *), by_name);
	for (i = 0; i < n; i++) {
		struct buf p = BUF_INIT;
		struct stat st;

		buf_appendf(&p, "%s/%s", dir, names[i]);
		if (stat(buf_cstr(&p), &st) == 0) {
			if (S_ISREG(st.st_mode))
				cli_msgs_add(files, buf_cstr(&p));
			else if (S_ISDIR(st.st_mode) && depth < WALK_DEPTH)
				(void)walk(files, buf_cstr(&p), depth + 1);
		}
		buf_deinit(&p);
		free(names[i]);
	}
	free(names);
	return 0;
}

int
cli_msgs_collect(struct cli_msg_files *files, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "mxmoat: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return walk(files, path, 0);
	cli_msgs_add(files, path);
	return 0;
}

void
cli_msgs_files_free(struct cli_msg_files *files)
{
	size_t i;

	for (i = 0; i < files->n; i++)
		free(files->paths[i]);
	free(files->paths);
	files->paths = NULL;
	files->n = 0;
}

void
cli_msgs_wire(const char *data, size_t len, struct buf *out)
{
	size_t i, start = 0;

	if (len >= 5 && memcmp(data, "From ", 5) == 0) {
		const char *nl = memchr(data, '\n', len);

		start = nl != NULL ? (size_t)(nl - data) + 1 : len;
	}
	buf_reserve(out, len - start + (len - start) / 16);
	for (i = start; i < len; i++) {
		if (data[i] == '\n' && (i == start || data[i - 1] != '\r'))
			buf_append_char(out, '\r');
		buf_append_char(out, data[i]);
	}
}

/* "From sender Tue Aug  6 11:51:02 2002": a time and a year, not a body
 * line that starts with "From " */
static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_postmark(const char *p, size_t left)
{
	const char *nl = memchr(p, '\n', left);
	size_t len = nl != NULL ? (size_t)(nl - p) : left, i;
	bool time = false, year = false;

	if (len < 5 || memcmp(p, "From ", 5) != 0)
		return false;
	for (i = 5; i < len; i++) {
		if (i + 3 < len && is_digit(p[i]) && p[i + 1] == ':' && is_digit(p[i + 2]) &&
		    is_digit(p[i + 3]))
			time = true;
		if (p[i - 1] == ' ' && i + 4 <= len && (p[i] == '1' || p[i] == '2') &&
		    is_digit(p[i + 1]) && is_digit(p[i + 2]) && is_digit(p[i + 3]) &&
		    (i + 4 == len || p[i + 4] == ' ' || p[i + 4] == '\r'))
			year = true;
	}
	return time && year;
}

/* one mbox message: ">From " quoting undone (one level, mboxrd) */
static void
unquote(const char *p, size_t len, struct buf *out)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - p) + 1 : len, q = i;

		while (q < end && p[q] == '>')
			q++;
		if (q > i && end - q >= 5 && memcmp(p + q, "From ", 5) == 0)
			i++;
		buf_append(out, p + i, end - i);
		i = end;
	}
}

int
cli_msgs_read(const char *path, cli_msg_fn *fn, void *ctx)
{
	struct buf raw = BUF_INIT, wire = BUF_INIT, msg = BUF_INIT;
	char chunk[65536];
	FILE *f = fopen(path, "rb");
	size_t n, i, start, index = 0;

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (raw.len + n > CLI_MSGS_FILE_MAX) {
			fclose(f);
			buf_deinit(&raw);
			return -1;
		}
		buf_append(&raw, chunk, n);
	}
	fclose(f);
	if (!is_postmark(raw.data != NULL ? raw.data : "", raw.len)) {
		cli_msgs_wire(raw.data != NULL ? raw.data : "", raw.len, &wire);
		fn(ctx, path, 0, wire.data != NULL ? wire.data : "", wire.len);
		buf_deinit(&raw);
		buf_deinit(&wire);
		return 1;
	}
	start = 0;
	for (i = 1; i <= raw.len; i++) {
		bool at_end = i == raw.len;

		if (!at_end && !(raw.data[i - 1] == '\n' && i >= 2 &&
				 (raw.data[i - 2] == '\n' ||
				  (i >= 3 && raw.data[i - 2] == '\r' && raw.data[i - 3] == '\n')) &&
				 is_postmark(raw.data + i, raw.len - i)))
			continue;
		buf_reset(&msg);
		buf_reset(&wire);
		unquote(raw.data + start, i - start, &msg);
		/* the empty line before the next postmark belongs to the mbox */
		if (!at_end && msg.len > 0 && msg.data[msg.len - 1] == '\n') {
			buf_truncate(&msg, msg.len - 1);
			if (msg.len > 0 && msg.data[msg.len - 1] == '\r')
				buf_truncate(&msg, msg.len - 1);
		}
		cli_msgs_wire(msg.data, msg.len, &wire);
		fn(ctx, path, index++, wire.data != NULL ? wire.data : "", wire.len);
		start = i;
	}
	buf_deinit(&raw);
	buf_deinit(&wire);
	buf_deinit(&msg);
	return (int)index;
}
