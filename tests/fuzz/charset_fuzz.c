/*
 * charset_fuzz.c - conversion to UTF-8 from arbitrary bytes. Byte 0
 * picks a charset (or, above the list, uses the next bytes up to a NUL
 * as the name), byte 1 max_out. Invariants: output valid UTF-8, within
 * max_out; cached and uncached conversion agree.
 */
#include "msg/charset.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"utf-8", "us-ascii", "iso-8859-1", "windows-1252", "windows-1251", "koi8-r",
	"utf-16", "utf-16le", "utf-16be", "utf-7", "iso-2022-jp", "shift_jis", "euc-jp",
	"gb2312", "big5", "ks_c_5601-1987", "iso-8859-8-i", "utf-32", "x-unknown", "",
};

static struct charset_ctx *cs;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	char name[64];
	const char *charset;
	size_t max, off = 2;

	if (size < 2)
		return 0;
	if (cs == NULL)
		cs = charset_ctx_new();
	if (data[0] < N_ELEMENTS(names)) {
		charset = names[data[0]];
	} else {
		size_t n = 0;

		while (off < size && data[off] != '\0' && n + 1 < sizeof(name))
			name[n++] = (char)data[off++];
		name[n] = '\0';
		if (off < size)
			off++;
		charset = name;
	}
	max = data[1] < 200 ? data[1] * 8u : 0;
	charset_to_utf8(cs, charset, data + off, size - off, &a, max);
	CHECK(charset_utf8_valid(a.data, a.len));
	CHECK(max == 0 || a.len <= max);
	charset_to_utf8(NULL, charset, data + off, size - off, &b, max);
	CHECK(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}
