/*
 * msg_fuzz.c - the whole message model on arbitrary input. Byte 0 picks
 * small limits or the defaults.
 *
 * Invariants: at least one reading, each a pre-order tree (index,
 * parent, depth consistent); decoded, text and hidden text within the
 * limits, text valid UTF-8 without NUL; decoded bytes of all readings
 * within decoded_total; URLs within the limit and belonging to parts of
 * reading 0; headers found again by name; address headers parse within
 * the address limit; msg_foreach_part visits every reading's parts at
 * most once each.
 */
#include "msg/msg.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

FUZZ_NO_ENTROPIC

static bool
count_cb(void *ctx, const struct msg *m, unsigned int reading, const struct msg_part *p)
{
	size_t *n = ctx;

	CHECK(reading < m->nreadings);
	CHECK(m->readings[reading].parts[p->index] == p);
	(*n)++;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_limits l;
	struct msg *m;
	size_t r, i, total = 0, visits = 0;
	uint64_t decoded = 0;

	if (size < 1)
		return 0;
	msg_limits_default(&l);
	if (data[0] & 1) {
		l.header_block = 512;
		l.headers = 8;
		l.header_line = 128;
		l.depth = 4;
		l.parts = 12;
		l.params = 4;
		l.decoded_part = 1024;
		l.decoded_total = 4096;
		l.text_part = 256;
		l.urls = 6;
		l.address_tokens = 4;
		l.readings = 1 + (data[0] >> 5);
	}
	m = msg_parse_mem(&l, data + 1, size - 1);
	CHECK(m->nreadings >= 1 && m->nreadings <= l.readings);
	CHECK(m->size == size - 1);
	for (r = 0; r < m->nreadings; r++) {
		const struct msg_reading *rd = &m->readings[r];

		CHECK(rd->nparts >= 1 && rd->root == rd->parts[0]);
		total += rd->nparts;
		for (i = 0; i < rd->nparts; i++) {
			const struct msg_part *p = rd->parts[i];
			size_t k;

			CHECK(p->index == i);
			CHECK(i == 0 ? p->parent == NULL : p->parent != NULL && p->parent->index < i);
			CHECK(i == 0 || p->depth == p->parent->depth + 1);
			for (k = 0; k < p->nchildren; k++)
				CHECK(p->children[k]->parent == p && p->children[k]->index > i);
			CHECK(p->decoded.len <= l.decoded_part);
			CHECK(p->text.len <= l.text_part && p->html_hidden.len <= l.text_part);
			CHECK(fuzz_utf8_no_nul(&p->text) && fuzz_utf8_no_nul(&p->html_hidden));
			CHECK(p->body_offset <= p->body_end);
			decoded += p->decoded.len;
			for (k = 0; k < p->nfilenames; k++)
				CHECK(p->filenames[k][0] != '\0');
		}
	}
	CHECK(total <= l.parts + m->nreadings);
	CHECK(decoded <= l.decoded_total);
	CHECK(m->nurls <= l.urls);
	for (i = 0; i < m->nurls; i++)
		CHECK(m->urls[i].part < m->readings[0].nparts);
	for (i = 0; i < m->nheaders; i++) {
		const struct msg_header *h = &m->headers[i];
		struct msg_address *a = NULL;
		size_t n;

		CHECK(msg_header_get(m, h->name, 0) != NULL);
		CHECK(h->decoded != NULL && charset_utf8_valid(h->decoded, strlen(h->decoded)));
		if (strcasecmp(h->name, "from") == 0 || strcasecmp(h->name, "to") == 0) {
			n = msg_header_addresses(m, h, &a);
			CHECK(n <= l.address_tokens);
			msg_addresses_free(&a, n);
		}
	}
	msg_foreach_part(m, count_cb, &visits);
	CHECK(visits <= total && visits >= m->readings[0].nparts);
	msg_free(&m);
	return 0;
}
