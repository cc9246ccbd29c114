/*
 * qp_fuzz.c - the quoted-printable decoder on arbitrary bytes. Bytes 0-1
 * pick cut points. Invariants: any chunking decodes the same as the whole
 * input at once; output never longer than input; the RFC 2047 "Q"
 * decoder is bounded the same way.
 */
#include "msg/decode.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT, w = BUF_INIT;
	struct decode_qp d;
	size_t c1, c2, t, i;

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
	decode_qp_mem(data, size, &a);
	decode_qp_init(&d);
	decode_qp_step(&d, data, c1, &b);
	decode_qp_step(&d, data + c1, c2 - c1, &b);
	/* and the rest byte by byte */
	for (i = c2; i < size; i++)
		decode_qp_step(&d, data + i, 1, &b);
	decode_qp_finish(&d, &b);
	CHECK(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	CHECK(a.len <= size);
	decode_qp_word(data, size, &w);
	CHECK(w.len <= size);
	buf_deinit(&a);
	buf_deinit(&b);
	buf_deinit(&w);
	return 0;
}
