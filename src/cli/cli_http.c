#include "cli/cli_http.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int
connect_to(const struct netaddr *a)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { CLI_HTTP_TIMEOUT_S, 0 };

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
cli_http_get(const struct conf *c, const char *path, int *status_r, struct buf *body_r)
{
	struct buf req = BUF_INIT, resp = BUF_INIT;
	char where[128];
	const char *p, *hdr_end;
	size_t off = 0;
	int fd;

	if (c->http_listen.count == 0) {
		fprintf(stderr, "mxmoat: [http] listen is empty in %s: the daemon serves no API\n",
			c->path != NULL ? c->path : "the configuration");
		return -1;
	}
	netaddr_format(&c->http_listen.addr[0], where, sizeof(where));
	fd = connect_to(&c->http_listen.addr[0]);
	if (fd < 0) {
		fprintf(stderr, "mxmoat: cannot connect to mxmoatd at %s: %s\n", where,
			strerror(errno));
		return -1;
	}
	buf_appendf(&req, "GET %s HTTP/1.0\r\nHost: mxmoat\r\nUser-Agent: mxmoat/%s\r\n", path,
		    PACKAGE_VERSION);
	if (c->http_token[0] != '\0')
		buf_appendf(&req, "Authorization: Bearer %s\r\n", c->http_token);
	buf_append_str(&req, "Connection: close\r\n\r\n");
	while (off < req.len) {
		ssize_t n = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);

		if (n <= 0) {
			fprintf(stderr, "mxmoat: %s: %s\n", where, strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	for (;;) {
		ssize_t n;

		buf_reserve(&resp, 65536);
		n = recv(fd, resp.data + resp.len, 65536, 0);
		if (n == 0)
			break;
		if (n < 0) {
			fprintf(stderr, "mxmoat: %s: %s\n", where,
				errno == EAGAIN ? "no answer in time" : strerror(errno));
			goto fail;
		}
		resp.len += (size_t)n;
		resp.data[resp.len] = '\0';
		if (resp.len > CLI_HTTP_MAX_BYTES) {
			fprintf(stderr, "mxmoat: %s: answer too large\n", where);
			goto fail;
		}
	}
	p = buf_cstr(&resp);
	hdr_end = strstr(p, "\r\n\r\n");
	if (strncmp(p, "HTTP/1.", 7) != 0 || strlen(p) < 12 || hdr_end == NULL) {
		fprintf(stderr, "mxmoat: %s: not an HTTP answer\n", where);
		goto fail;
	}
	*status_r = atoi(p + 9);
	buf_reset(body_r);
	buf_append(body_r, hdr_end + 4, resp.len - (size_t)(hdr_end + 4 - p));
	close(fd);
	buf_deinit(&req);
	buf_deinit(&resp);
	return 0;
fail:
	close(fd);
	buf_deinit(&req);
	buf_deinit(&resp);
	return -1;
}

struct json *
cli_http_json(const struct conf *c, const char *path, struct buf *raw_r)
{
	struct buf body = BUF_INIT;
	struct json *j;
	const char *error = NULL;
	int status = 0;

	if (cli_http_get(c, path, &status, &body) < 0) {
		buf_deinit(&body);
		return NULL;
	}
	j = json_parse(body.data != NULL ? body.data : "", body.len, &error);
	if (status != 200 || j == NULL) {
		const char *msg = j != NULL ? json_get_str(j, "error") : NULL;

		if (status == 401)
			msg = "the daemon wants a token: set the same [http] token in the configuration";
		fprintf(stderr, "mxmoat: %s: %s (HTTP %d)\n", path,
			msg != NULL ? msg : error != NULL ? error : "error", status);
		json_free(&j);
		buf_deinit(&body);
		return NULL;
	}
	if (raw_r != NULL)
		buf_append(raw_r, body.data, body.len);
	buf_deinit(&body);
	return j;
}

void
cli_url_append(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~", ch) != NULL)
			buf_append_char(b, (char)ch);
		else
			buf_appendf(b, "%%%02X", ch);
	}
}

void
cli_cell(struct buf *b, const char *s, size_t width)
{
	size_t cols = 0;

	for (; s != NULL && *s != '\0' && cols < width; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch & 0xc0) == 0x80) {
			buf_append_char(b, (char)ch);
			continue;
		}
		if (cols + 1 == width && s[1] != '\0') {
			buf_append_str(b, "~");
			cols++;
			while ((s[1] & 0xc0) == 0x80)
				s++;
			break;
		}
		buf_append_char(b, ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
		cols++;
	}
	for (; cols < width; cols++)
		buf_append_char(b, ' ');
}

void
cli_time(struct buf *b, double ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[32];

	localtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm);
	buf_append_str(b, s);
}
