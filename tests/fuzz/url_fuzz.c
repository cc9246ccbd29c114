/*
 * url_fuzz.c - URLs: found in arbitrary text (candidates inside the text,
 * in order, not overlapping) and normalised (the input as one candidate,
 * and every candidate found). Invariants: a normalised URL starts with
 * its scheme, its host is part of it, and normalising it again gives it
 * back unchanged.
 */
#include "msg/url.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct scan {
	const char *text;
	size_t len;
	const char *last_end;
	unsigned int n;
};

static void
check_normalised(const char *raw, size_t len)
{
	struct buf url = BUF_INIT, host = BUF_INIT, url2 = BUF_INIT, host2 = BUF_INIT;
	bool ip, ip2;

	if (url_normalise(raw, len, &url, &host, &ip)) {
		CHECK(strncmp(url.data, "http://", 7) == 0 || strncmp(url.data, "https://", 8) == 0 ||
		      strncmp(url.data, "ftp://", 6) == 0 || strncmp(url.data, "mailto:", 7) == 0);
		CHECK(host.len == 0 || strstr(url.data, host.data) != NULL);
		CHECK(url_normalise(url.data, url.len, &url2, &host2, &ip2));
		CHECK(strcmp(url.data, url2.data) == 0);
		CHECK(strcmp(buf_cstr(&host), buf_cstr(&host2)) == 0 && ip == ip2);
	}
	buf_deinit(&url);
	buf_deinit(&host);
	buf_deinit(&url2);
	buf_deinit(&host2);
}

static bool
scan_cb(void *ctx, struct view raw)
{
	struct scan *s = ctx;

	CHECK(raw.len > 0 && raw.p >= s->text && raw.p + raw.len <= s->text + s->len);
	CHECK(s->last_end == NULL || raw.p >= s->last_end);
	CHECK(raw.len <= URL_MAX + 8);
	s->last_end = raw.p + raw.len;
	check_normalised(raw.p, raw.len);
	return ++s->n < 50;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan s = { (const char *)data, size, NULL, 0 };

	url_scan((const char *)data, size, scan_cb, &s);
	check_normalised((const char *)data, size);
	return 0;
}
