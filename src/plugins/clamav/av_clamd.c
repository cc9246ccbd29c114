/*
 * av_clamd.c - clamd INSTREAM client (see av_clamd.h).
 */
#include "plugins/clamav/av_clamd.h"
#include "plugins/clamav/av_findings.h"
#include "msg/spool.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait until fd is ready for `events`; 0, or -1 on timeout/error */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { fd, events, 0 };
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&pfd, 1, (int)MIN(left, 60000));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int
send_all(int fd, const void *p, size_t len, int64_t deadline)
{
	const char *s = p;

	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n > 0) {
			s += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline) < 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

static int
send_chunk(int fd, const void *p, size_t len, int64_t deadline)
{
	uint32_t n = htonl((uint32_t)len);

	if (send_all(fd, &n, sizeof(n), deadline) < 0)
		return -1;
	return len > 0 ? send_all(fd, p, len, deadline) : 0;
}

/* read until NUL, EOF or the buffer is full; returns the length */
static ssize_t
read_reply(int fd, char *buf, size_t cap, int64_t deadline)
{
	size_t len = 0;

	while (len < cap) {
		ssize_t n = recv(fd, buf + len, cap - len, 0);

		if (n > 0) {
			len += (size_t)n;
			if (memchr(buf + len - n, '\0', (size_t)n) != NULL)
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(fd, POLLIN, deadline) < 0)
				return -1;
			continue;
		}
		return len > 0 ? (ssize_t)len : -1;
	}
	return (ssize_t)len;
}

int
av_clamd_parse_reply(const char *reply, size_t len, const char *where, struct av_findings *f,
		     char *err, size_t errlen)
{
	const char *p = reply, *end = reply + len;
	bool any = false;

	/* records end in NUL (z-commands) or newline */
	while (p < end) {
		const char *e = p;
		const char *s, *colon;
		size_t n;

		while (e < end && *e != '\0' && *e != '\n')
			e++;
		n = (size_t)(e - p);
		s = p;
		p = e + 1;
		if (n == 0)
			continue;
		any = true;
		if (n >= 6 && memcmp(s + n - 6, " ERROR", 6) == 0) {
			if (n >= 29 && memcmp(s, "INSTREAM size limit exceeded", 28) == 0) {
				av_findings_add(f, AV_LIMIT, "StreamMaxLength", where);
				continue;
			}
			snprintf(err, errlen, "clamd: %.*s", (int)MIN(n, 200), s);
			return -1;
		}
		/* "stream: ...", or "N: stream: ..." in sessions */
		colon = memmem(s, n, "stream: ", 8);
		if (colon == NULL) {
			snprintf(err, errlen, "clamd: unexpected reply \"%.*s\"", (int)MIN(n, 200), s);
			return -1;
		}
		colon += 8;
		n -= (size_t)(colon - s);
		s = colon;
		if (n == 2 && memcmp(s, "OK", 2) == 0)
			continue;
		if (n > 6 && memcmp(s + n - 6, " FOUND", 6) == 0) {
			char name[AV_WHAT_MAX];

			snprintf(name, sizeof(name), "%.*s", (int)(n - 6), s);
			av_findings_add_name(f, name, where);
			continue;
		}
		snprintf(err, errlen, "clamd: unexpected reply \"%.*s\"", (int)MIN(n, 200), s);
		return -1;
	}
	if (!any) {
		snprintf(err, errlen, "clamd: no reply");
		return -1;
	}
	return 0;
}

static int
connect_clamd(const struct netaddr *addr, int64_t deadline, char *err, size_t errlen)
{
	int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	char a[300];

	netaddr_format(addr, a, sizeof(a));
	if (fd < 0) {
		snprintf(err, errlen, "clamd %s: socket: %s", a, strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (errno != EINPROGRESS && errno != EAGAIN) {
			snprintf(err, errlen, "clamd %s: connect: %s", a, strerror(errno));
			close(fd);
			return -1;
		}
		if (wait_fd(fd, POLLOUT, deadline) < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
			snprintf(err, errlen, "clamd %s: connect: %s", a,
				 strerror(soerr != 0 ? soerr : errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

int
av_clamd_scan(const struct netaddr *addr, uint64_t timeout_ms, const void *data, size_t len,
	      struct spool *spool, const char *where, struct av_findings *f, char *err,
	      size_t errlen)
{
	int64_t deadline = now_ms() + (int64_t)timeout_ms;
	char reply[AV_CLAMD_REPLY_MAX];
	bool sent = true;
	ssize_t n;
	int fd = connect_clamd(addr, deadline, err, errlen);

	if (fd < 0)
		return -1;
	if (send_all(fd, "zINSTREAM", 10, deadline) < 0)
		sent = false;
	if (sent && spool == NULL) {
		size_t off;

		for (off = 0; sent && off < len; off += AV_CLAMD_CHUNK) {
			if (send_chunk(fd, (const char *)data + off, MIN(len - off, AV_CLAMD_CHUNK),
				       deadline) < 0)
				sent = false;
		}
	} else if (sent) {
		char *chunk = malloc(AV_CLAMD_CHUNK);
		uint64_t off = 0;

		if (chunk == NULL)
			sent = false;
		while (sent) {
			const char *error = NULL;
			ssize_t got = spool_read(spool, off, chunk, AV_CLAMD_CHUNK, &error);

			if (got < 0) {
				snprintf(err, errlen, "spool: %s", error);
				free(chunk);
				close(fd);
				return -1;
			}
			if (got == 0)
				break;
			if (send_chunk(fd, chunk, (size_t)got, deadline) < 0)
				sent = false;
			off += (uint64_t)got;
		}
		free(chunk);
	}
	if (sent && send_chunk(fd, NULL, 0, deadline) < 0)
		sent = false;
	/* clamd answers and closes when the stream is over its limit: read
	 * the reply even when sending failed */
	n = read_reply(fd, reply, sizeof(reply), deadline);
	close(fd);
	if (n <= 0) {
		snprintf(err, errlen, "clamd: %s", n < 0 && errno == ETIMEDOUT ? "timeout"
				      : !sent ? "connection lost while sending"
					      : "no reply");
		return -1;
	}
	return av_clamd_parse_reply(reply, (size_t)n, where, f, err, errlen);
}
