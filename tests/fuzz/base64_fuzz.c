/*
 * base64_fuzz.c - the base64 decoder on arbitrary bytes. Byte 0 and 1
 * pick two cut points. Invariants: any chunking decodes the same; the
 * output is at most 3/4 of the input (plus a final group); mem() is the
 * same as the streaming decoder.
 */
#include "msg/decode.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct decode_b64 d;
	size_t c1, c2, t;
	unsigned int bad_a;

	if (size < 2)
		return 0;
	c1 = data[0] % (size - 1);
	c2 = data[1] % (size - 1);
	if (c1 > c2) {
		t = c1;
		c1 = c2;
		c2 = t;
	}
	data += 2;
	size -= 2;
	c2 = MIN(c2, size);
	bad_a = decode_b64_mem(data, size, &a);
	decode_b64_init(&d);
	decode_b64_step(&d, data, c1, &b);
	decode_b64_step(&d, data + c1, c2 - c1, &b);
	decode_b64_step(&d, data + c2, size - c2, &b);
	decode_b64_finish(&d, &b);
	CHECK(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	CHECK(bad_a == d.bad);
	CHECK(a.len <= size / 4 * 3 + 3);
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}
