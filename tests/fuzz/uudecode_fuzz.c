/*
 * uudecode_fuzz.c - uuencode: the streaming decoder (any chunking decodes
 * the same; output bounded by twice the input: short lines are padded) and the search for inline files
 * in text (blocks inside the text, in order, decoding bounded).
 */
#include "msg/decode.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT;
	struct decode_uu d;
	struct decode_uu_block blk;
	const char *s = (const char *)data;
	size_t cut, i, from = 0, n = 0;

	if (size < 1)
		return 0;
	cut = data[0] % size;
	decode_uu_init(&d);
	decode_uu_step(&d, s, size, &a);
	decode_uu_finish(&d, &a);
	decode_uu_deinit(&d);
	decode_uu_init(&d);
	decode_uu_step(&d, s, cut, &b);
	for (i = cut; i < size; i += 3)
		decode_uu_step(&d, s + i, MIN((size_t)3, size - i), &b);
	decode_uu_finish(&d, &b);
	decode_uu_deinit(&d);
	CHECK(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	CHECK(a.len <= 2 * size);
	while (n++ < 100 && decode_uu_find(s, size, from, &blk)) {
		CHECK(blk.begin >= from && blk.begin < blk.data && blk.data <= blk.end);
		CHECK(blk.end <= size);
		CHECK(blk.name.p >= s && blk.name.p + blk.name.len <= s + size);
		buf_reset(&c);
		decode_uu_block(s, &blk, &c, 1000);
		/* a short line pads up to 3 missing characters */
		CHECK(c.len <= 1000 && c.len <= 2 * (blk.end - blk.data) + 3);
		if (blk.end <= from)
			break;
		from = blk.end;
	}
	buf_deinit(&a);
	buf_deinit(&b);
	buf_deinit(&c);
	return 0;
}
