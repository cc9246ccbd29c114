/*
 * mime_parse_bench - mxmoat's MIME parser against GMime 3 on the same
 * messages in one run (bench/mime-parse runs it on the corpora).
 *
 * Every message is read into memory first (a leading mbox "From " line
 * dropped), then parsed ROUNDS times by each contender, in turns:
 *
 *   parse    mxmoat: mime_parser blocks only (headers split, parts found,
 *            bodies not decoded)  vs  GMime: g_mime_parser_construct_message
 *   model    mxmoat: msg_parse_mem (bodies decoded, charsets converted to
 *            UTF-8, HTML rendered, URLs extracted, every reading)  vs
 *            GMime: construct_message, then every leaf decoded and every
 *            text part converted to UTF-8 (g_mime_text_part_get_text)
 *
 * and prints MB/s and messages/s of each, and the ratio mxmoat/GMime; the
 * heap a parsed model holds per message (mean, largest, largest relative
 * to the message size); the peak RSS at the end.
 *
 * Usage: mime_parse_bench [-r ROUNDS] FILE...   (or names on stdin)
 */
#include "core/buf.h"
#include "msg/msg.h"
#include "msg/mime_parser.h"

#include <gmime/gmime.h>
#include <malloc.h>
#include <sys/resource.h>
#include <time.h>

#include "../tests/gmime/summary.h"

struct input {
	char *data;
	size_t len;
};

static struct input *inputs;
static size_t ninputs;
static uint64_t total_bytes;
static volatile uint64_t sink;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
add_file(const char *path)
{
	size_t len, skip;
	char *data = summary_read_file(path, &len);

	if (data == NULL)
		return;
	skip = summary_strip_from(data, len);
	memmove(data, data + skip, len - skip);
	len -= skip;
	inputs = realloc(inputs, (ninputs + 1) * sizeof(*inputs));
	if (inputs == NULL)
		abort();
	inputs[ninputs].data = data;
	inputs[ninputs].len = len;
	ninputs++;
	total_bytes += len;
}

static void
ours_parse(const struct input *in, const struct msg_limits *l)
{
	struct mime_parser_settings set;
	struct mime_parser *p;
	struct mime_block b;
	size_t off = 0;
	int rc;

	mime_parser_settings_from_limits(&set, l);
	p = mime_parser_new(&set);
	for (;;) {
		rc = mime_parser_next_block(p, &b);
		if (rc > 0) {
			sink += b.type + b.data.len;
			continue;
		}
		if (rc < 0)
			break;
		if (off >= in->len) {
			mime_parser_finish(p);
		} else {
			size_t n = MIN(in->len - off, (size_t)65536);

			mime_parser_push(p, in->data + off, n);
			off += n;
		}
	}
	mime_parser_free(&p);
}

static void
ours_model(const struct input *in, const struct msg_limits *l)
{
	struct msg *m = msg_parse_mem(l, in->data, in->len);

	sink += m->readings[0].nparts + m->nurls;
	msg_free(&m);
}

static void
gmime_walk(GMimeObject *obj)
{
	if (GMIME_IS_MULTIPART(obj)) {
		int i, n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

		for (i = 0; i < n; i++)
			gmime_walk(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i));
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (m != NULL && g_mime_message_get_mime_part(m) != NULL)
			gmime_walk(g_mime_message_get_mime_part(m));
	} else if (GMIME_IS_PART(obj)) {
		GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
		GMimeStream *mem = g_mime_stream_mem_new();

		if (w != NULL)
			g_mime_data_wrapper_write_to_stream(w, mem);
		sink += g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem))->len;
		g_object_unref(mem);
		if (GMIME_IS_TEXT_PART(obj)) {
			char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));

			sink += t != NULL ? strlen(t) : 0;
			g_free(t);
		}
	}
}

static void
gmime_parse(const struct input *in, bool model)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(in->data, in->len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg;

	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, NULL);
	if (msg != NULL) {
		if (model && g_mime_message_get_mime_part(msg) != NULL)
			gmime_walk(g_mime_message_get_mime_part(msg));
		g_object_unref(msg);
	}
	g_object_unref(parser);
	g_object_unref(stream);
}

/* heap bytes in use (glibc: small blocks and mmap'ed ones) */
static size_t
heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* memory a parsed model holds per message (msg_parse_mem to msg_free):
 * mean, largest, and largest relative to the message's size */
static void
model_memory(const struct msg_limits *l)
{
	size_t k, max = 0, max_len = 0;
	double sum = 0, worst = 0;

	for (k = 0; k < ninputs; k++) {
		size_t before = heap_in_use(), after, held;
		struct msg *m = msg_parse_mem(l, inputs[k].data, inputs[k].len);

		/* the charset cache may drop a converter meanwhile */
		after = heap_in_use();
		held = after > before ? after - before : 0;
		msg_free(&m);
		sum += (double)held;
		if (held > max) {
			max = held;
			max_len = inputs[k].len;
		}
		if (inputs[k].len > 0 && (double)held / (double)inputs[k].len > worst)
			worst = (double)held / (double)inputs[k].len;
	}
	printf("mxmoat model memory per message: mean %.1f KB, max %.1f KB (a %.1f KB message), "
	       "at most %.1fx the message's size\n",
	       sum / (double)ninputs / 1e3, (double)max / 1e3, (double)max_len / 1e3, worst);
}

enum contender { OURS_PARSE, GMIME_PARSE, OURS_MODEL, GMIME_MODEL, NCONTENDERS };

static const char *const names[] = { "mxmoat parse", "GMime  parse", "mxmoat model",
				     "GMime  model" };

int
main(int argc, char **argv)
{
	struct msg_limits limits;
	double best[NCONTENDERS];
	char line[4096];
	int rounds = 5, i, r, c;
	struct rusage ru;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
	}
	if (i < argc) {
		for (; i < argc; i++)
			add_file(argv[i]);
	} else {
		while (fgets(line, sizeof(line), stdin) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (line[0] != '\0')
				add_file(line);
		}
	}
	if (ninputs == 0) {
		fprintf(stderr, "mime_parse_bench: no messages\n");
		return 2;
	}
	g_mime_init();
	msg_limits_default(&limits);
	for (c = 0; c < NCONTENDERS; c++)
		best[c] = 1e30;
	/* rounds in turns, best round kept: the machine's noise hits all */
	for (r = 0; r < rounds; r++) {
		for (c = 0; c < NCONTENDERS; c++) {
			double t0 = now(), t;
			size_t k;

			for (k = 0; k < ninputs; k++) {
				switch (c) {
				case OURS_PARSE: ours_parse(&inputs[k], &limits); break;
				case GMIME_PARSE: gmime_parse(&inputs[k], false); break;
				case OURS_MODEL: ours_model(&inputs[k], &limits); break;
				case GMIME_MODEL: gmime_parse(&inputs[k], true); break;
				}
			}
			t = now() - t0;
			if (t < best[c])
				best[c] = t;
		}
	}
	printf("%zu messages, %.1f MB, best of %d rounds\n", ninputs, (double)total_bytes / 1e6,
	       rounds);
	for (c = 0; c < NCONTENDERS; c++)
		printf("%s  %8.1f MB/s  %9.0f msgs/s\n", names[c],
		       (double)total_bytes / 1e6 / best[c], (double)ninputs / best[c]);
	printf("ratio parse (mxmoat/GMime): %.2f\n", best[GMIME_PARSE] / best[OURS_PARSE]);
	printf("ratio model (mxmoat/GMime): %.2f\n", best[GMIME_MODEL] / best[OURS_MODEL]);
	model_memory(&limits);
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS %.1f MB (inputs %.1f MB)\n", (double)ru.ru_maxrss / 1024,
	       (double)total_bytes / 1e6);
	g_mime_shutdown();
	return 0;
}
