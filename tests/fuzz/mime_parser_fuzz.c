/*
 * mime_parser_fuzz.c - the streaming MIME parser on arbitrary input.
 * Byte 0: chunk size; byte 1: reading options (bare CR as line end, mbox
 * From) and which ambiguity point to flip; byte 2: limits.
 *
 * Invariants: parts start and end properly nested, numbered in pre-order,
 * depth = parent's + 1, within max_parts / max_depth; header fields come
 * between a part's start and its HEADERS_END, body bytes after it, and
 * are the input bytes at the offset they claim; body bytes never exceed
 * the input; offsets are ordered; the parse is the same whatever the
 * chunking (a digest of the block sequence and of every part's bytes).
 */
#include "msg/mime_parser.h"
#include "fuzz_check.h"

#include <limits.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

FUZZ_NO_ENTROPIC

#define MAXSTACK 64

struct flip {
	unsigned int seq, at, alt;
};

static unsigned int
choose_cb(void *ctx, enum mime_ambiguity kind, unsigned int nalts, uint64_t off)
{
	struct flip *f = ctx;

	CHECK(nalts >= 2 && kind < MIME_AMB_COUNT);
	return f->seq++ == f->at ? f->alt % nalts : 0;
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static uint64_t
run(const uint8_t *in, size_t len, size_t chunk, const struct mime_parser_settings *set0,
    unsigned int flip_at, unsigned int flip_alt)
{
	struct mime_parser_settings set = *set0;
	struct flip f = { 0, flip_at, flip_alt };
	struct mime_parser *p;
	struct mime_block b;
	unsigned int stack[MAXSTACK], depth[MAXSTACK], nstack = 0, last_index = 0, nparts = 0;
	bool headers_done[MAXSTACK];
	uint64_t h = 0, body_bytes = 0;
	unsigned int last_body = UINT_MAX;
	size_t off = 0;
	int rc;

	set.choose = choose_cb;
	set.choose_ctx = &f;
	p = mime_parser_new(&set);
	for (;;) {
		rc = mime_parser_next_block(p, &b);
		if (rc == 0) {
			if (off >= len) {
				mime_parser_finish(p);
			} else {
				size_t n = MIN(chunk, len - off);

				mime_parser_push(p, in + off, n);
				off += n;
			}
			continue;
		}
		if (rc < 0)
			break;
		/* body blocks are cut where the chunks were: their bytes count,
		 * not where one block ends and the next begins */
		if (b.type != MIME_BLOCK_BODY || last_body != b.part->index)
			h = mix(h, b.type);
		last_body = b.type == MIME_BLOCK_BODY ? b.part->index : UINT_MAX;
		switch (b.type) {
		case MIME_BLOCK_PART_START:
			CHECK(nstack < MAXSTACK);
			CHECK(nparts == 0 || b.part->index == last_index + 1);
			last_index = b.part->index;
			nparts++;
			CHECK(nparts <= set.max_parts);
			if (nstack > 0)
				CHECK(b.part->depth == depth[nstack - 1] + 1);
			CHECK(b.part->depth <= set.max_depth);
			stack[nstack] = b.part->index;
			depth[nstack] = b.part->depth;
			headers_done[nstack] = false;
			nstack++;
			h = mix(h, b.part->index);
			break;
		case MIME_BLOCK_HEADER:
			CHECK(nstack > 0 && stack[nstack - 1] == b.part->index);
			CHECK(!headers_done[nstack - 1]);
			CHECK(b.hdr.raw.len <= set.max_header_line);
			CHECK(b.hdr.name.len > 0 && b.hdr.name.len <= b.hdr.raw.len);
			h = mix(h, b.hdr.value.len);
			break;
		case MIME_BLOCK_HEADERS_END:
			CHECK(nstack > 0 && stack[nstack - 1] == b.part->index);
			headers_done[nstack - 1] = true;
			CHECK(b.part->body_offset <= len);
			h = mix(h, b.part->body_offset);
			break;
		case MIME_BLOCK_BODY:
			CHECK(nstack > 0 && stack[nstack - 1] == b.part->index);
			CHECK(headers_done[nstack - 1]);
			CHECK(b.data.len > 0 && b.offset + b.data.len <= len);
			CHECK(memcmp(in + b.offset, b.data.p, b.data.len) == 0);
			CHECK(b.offset >= b.part->body_offset);
			body_bytes += b.data.len;
			CHECK(body_bytes <= len);
			for (size_t k = 0; k < b.data.len; k++)
				h = (h ^ (unsigned char)b.data.p[k]) * 0x100000001b3ULL;
			break;
		case MIME_BLOCK_PART_END:
			CHECK(nstack > 0 && stack[nstack - 1] == b.part->index);
			CHECK(b.part->offset <= b.part->body_offset);
			CHECK(b.part->body_offset <= b.part->body_end && b.part->body_end <= len);
			nstack--;
			h = mix(h, b.part->body_end);
			h = mix(h, b.part->flags);
			break;
		}
	}
	CHECK(nstack == 0 && nparts >= 1);
	CHECK(mime_parser_next_block(p, &b) == -1);
	mime_parser_free(&p);
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_parser_settings set;
	struct msg_limits l;
	size_t chunk;
	uint64_t h1, h2;

	if (size < 3)
		return 0;
	msg_limits_default(&l);
	mime_parser_settings_from_limits(&set, &l);
	chunk = (size_t)data[0] + 1;
	set.flags = (data[1] & 1 ? MIME_PARSER_F_CR_IS_EOL : 0) |
		    (data[1] & 2 ? MIME_PARSER_F_SKIP_MBOX_FROM : 0);
	if (data[2] & 1) {
		set.max_parts = 2 + (data[2] >> 4);
		set.max_depth = 1 + ((data[2] >> 1) & 7);
		set.max_headers = 3;
		set.max_header_line = 80 + data[2];
		set.max_header_block = 256;
		set.max_params = 2;
	}
	h1 = run(data + 3, size - 3, chunk, &set, data[1] >> 4, (data[1] >> 2) & 3);
	h2 = run(data + 3, size - 3, size, &set, data[1] >> 4, (data[1] >> 2) & 3);
	CHECK(h1 == h2);
	return 0;
}
