/*
 * html_fuzz.c - HTML to text on arbitrary input (made valid UTF-8 first,
 * as the model does). Byte 0 picks the text limit. Invariants: text and
 * hidden text valid UTF-8 and within the limit; link targets and texts
 * valid UTF-8 and bounded; a link callback that stops is not called again.
 */
#include "msg/html.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct links {
	unsigned int n, stop_after;
	bool stopped;
};

static bool
link_cb(void *ctx, enum html_link_kind kind, struct view url, struct view text)
{
	struct links *l = ctx;

	CHECK(!l->stopped);
	CHECK(charset_utf8_valid(url.p, url.len));
	CHECK(text.len == 0 || charset_utf8_valid(text.p, text.len));
	CHECK(text.len <= 1024 + 4);
	if (++l->n >= l->stop_after) {
		l->stopped = true;
		return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf in = BUF_INIT, text = BUF_INIT, hidden = BUF_INIT;
	struct links l = { 0, 0, false };
	size_t max;

	if (size < 1)
		return 0;
	max = data[0] < 128 ? data[0] * 16u : 0;
	l.stop_after = data[0] % 7 + 1;
	charset_utf8_sanitize(data + 1, size - 1, &in, 0);
	html_to_text(buf_cstr(&in), in.len, &text, &hidden, max, link_cb, &l);
	CHECK(charset_utf8_valid(text.data, text.len));
	CHECK(charset_utf8_valid(hidden.data, hidden.len));
	CHECK(max == 0 || (text.len <= max && hidden.len <= max));
	buf_deinit(&in);
	buf_deinit(&text);
	buf_deinit(&hidden);
	return 0;
}
