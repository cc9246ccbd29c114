/*
 * gmime_summary - print the summary.h view of each message as GMime 3
 * parses it: the reference side of the differential test
 * (tests/integration/test_gmime_diff.py).
 *
 * Usage: gmime_summary FILE...   (or file names, one a line, on stdin)
 * A leading mbox "From " line is skipped, as msg_summary does.
 */
#include <gmime/gmime.h>

#include "summary.h"

static void
print_part(GMimeObject *obj, const char *path)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *type = ct ? g_mime_content_type_get_media_type(ct) : "text";
	const char *subtype = ct ? g_mime_content_type_get_media_subtype(ct) : "plain";
	char *lt = g_ascii_strdown(type ? type : "", -1);
	char *ls = g_ascii_strdown(subtype ? subtype : "", -1);
	char child[512];

	printf("%s %s/%s", path, lt, ls);
	if (GMIME_IS_MULTIPART(obj)) {
		int i, n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

		printf("\n");
		for (i = 0; i < n; i++) {
			snprintf(child, sizeof(child), "%s.%d", path, i + 1);
			print_part(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), child);
		}
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		printf("\n");
		if (m != NULL && g_mime_message_get_mime_part(m) != NULL) {
			snprintf(child, sizeof(child), "%s.1", path);
			print_part(g_mime_message_get_mime_part(m), child);
		}
	} else if (GMIME_IS_PART(obj)) {
		GMimePart *part = GMIME_PART(obj);
		const char *fn = g_mime_part_get_filename(part);
		GMimeDataWrapper *w = g_mime_part_get_content(part);
		GByteArray *bytes;
		GMimeStream *mem;

		printf(" ");
		if (fn != NULL && *fn != '\0')
			summary_print_name(stdout, fn);
		mem = g_mime_stream_mem_new();
		if (w != NULL)
			g_mime_data_wrapper_write_to_stream(w, mem);
		bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		summary_print_decoded(stdout, lt, (const char *)bytes->data, bytes->len);
		if (GMIME_IS_TEXT_PART(obj) && strcmp(lt, "text") == 0 &&
		    strcmp(ls, "plain") == 0) {
			char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));

			if (text != NULL) {
				size_t n = summary_text_norm(text, strlen(text));

				printf(" tlen=%zu th=%016llx", n,
				       (unsigned long long)summary_fnv(text, n));
				g_free(text);
			}
		}
		printf("\n");
		g_object_unref(mem);
	} else {
		printf("\n");
	}
	g_free(lt);
	g_free(ls);
}

static void
summarise(const char *name)
{
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	size_t len, skip;
	char *data = summary_read_file(name, &len);

	printf("== %s\n", name);
	if (data == NULL) {
		printf("unreadable\n");
		return;
	}
	skip = summary_strip_from(data, len);
	stream = g_mime_stream_mem_new_with_buffer(data + skip, len - skip);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, NULL);
	if (msg != NULL && g_mime_message_get_mime_part(msg) != NULL)
		print_part(g_mime_message_get_mime_part(msg), "r");
	else
		printf("noparse\n");
	if (msg != NULL)
		g_object_unref(msg);
	g_object_unref(parser);
	g_object_unref(stream);
	free(data);
}

int
main(int argc, char **argv)
{
	char line[4096];
	int i;

	g_mime_init();
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			summarise(argv[i]);
	} else {
		while (fgets(line, sizeof(line), stdin) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (line[0] != '\0')
				summarise(line);
		}
	}
	g_mime_shutdown();
	return 0;
}
