/*
 * rfc2047_fuzz.c - encoded words in arbitrary header values. Invariants:
 * the output is valid UTF-8 without NUL; max_out is kept (byte 0 picks
 * it); the same with and without the iconv cache.
 */
#include "msg/rfc2047.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct charset_ctx *cs;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t max;

	if (size < 1)
		return 0;
	if (cs == NULL)
		cs = charset_ctx_new();
	max = data[0] < 128 ? data[0] * 4u : 0;
	rfc2047_decode(cs, (const char *)data + 1, size - 1, &a, max);
	CHECK(fuzz_utf8_no_nul(&a));
	CHECK(max == 0 || a.len <= max);
	rfc2047_decode(NULL, (const char *)data + 1, size - 1, &b, max);
	CHECK(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}
