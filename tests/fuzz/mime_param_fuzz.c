/*
 * mime_param_fuzz.c - Content-Type / Content-Disposition values with RFC
 * 2231 and 2047 parameters. Byte 0: bit 0 with_subtype, the rest the
 * parameter limit. Invariants: names lower-case without '*' sections,
 * values valid UTF-8 without NUL (boundary=: as written), the limit kept,
 * lookups consistent.
 */
#include "msg/mime_param.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_value v;
	unsigned int max;
	size_t i, k;

	if (size < 1)
		return 0;
	max = data[0] >> 1;
	mime_param_parse(NULL, (const char *)data + 1, size - 1, data[0] & 1, max, &v);
	CHECK(v.type != NULL && v.subtype != NULL);
	CHECK(v.nparams <= max);
	for (k = 0; v.type[k] != '\0'; k++)
		CHECK(!(v.type[k] >= 'A' && v.type[k] <= 'Z'));
	for (i = 0; i < v.nparams; i++) {
		const struct msg_param *p = &v.params[i];
		struct buf b = BUF_INIT;

		CHECK(p->name[0] != '\0');
		for (k = 0; p->name[k] != '\0'; k++)
			CHECK(!(p->name[k] >= 'A' && p->name[k] <= 'Z'));
		if (strcmp(p->name, "boundary") != 0 || (p->flags & MSG_PARAM_RFC2231)) {
			buf_append_str(&b, p->value);
			CHECK(charset_utf8_valid(b.data, b.len));
		}
		CHECK(mime_value_param(&v, p->name, 0) != NULL);
		buf_deinit(&b);
	}
	mime_value_deinit(&v);
	return 0;
}
