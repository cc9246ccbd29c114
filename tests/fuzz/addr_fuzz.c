/*
 * addr_fuzz.c - RFC 5322 address lists on arbitrary bytes. Byte 0 picks
 * the address limit. Invariants: the limit kept (truncated says so);
 * addr is local "@" domain when it has an '@'; domains lower-case;
 * display names valid UTF-8 without NUL.
 */
#include "msg/addr.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_address *a = NULL;
	unsigned int max;
	bool trunc;
	size_t n, i, k;

	if (size < 1)
		return 0;
	max = data[0];
	n = addr_parse_list(NULL, (const char *)data + 1, size - 1, max, &a, &trunc);
	CHECK(n <= max);
	for (i = 0; i < n; i++) {
		struct buf d = BUF_INIT;

		CHECK(a[i].display && a[i].addr && a[i].local && a[i].domain);
		buf_append_str(&d, a[i].display);
		CHECK(fuzz_utf8_no_nul(&d));
		for (k = 0; a[i].domain[k] != '\0'; k++)
			CHECK(!(a[i].domain[k] >= 'A' && a[i].domain[k] <= 'Z'));
		if (a[i].domain[0] != '\0')
			CHECK(strlen(a[i].addr) == strlen(a[i].local) + 1 + strlen(a[i].domain));
		buf_deinit(&d);
	}
	msg_addresses_free(&a, n);
	return 0;
}
