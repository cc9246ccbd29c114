/*
 * msg_summary - print the summary.h view of each message as mxmoat's
 * parser reads it (reading 0; with -a every reading, each after a
 * "-- reading N" line, and the message flags on a "flags" line): our
 * side of the differential test against GMime
 * (tests/integration/test_gmime_diff.py).
 *
 * Usage: msg_summary [-a] FILE...   (or file names, one a line, on stdin)
 */
#include "core/buf.h"
#include "msg/msg.h"

#include "summary.h"

static void
print_part(const struct msg_part *p, const char *path)
{
	char child[512];
	size_t i;

	printf("%s %s/%s", path, p->type, p->subtype);
	/* GMime's tree: multipart children, and the message of a message
	 * part; a leaf's uuencoded files are ours alone */
	if (strcmp(p->type, "multipart") == 0 ||
	    (p->nchildren > 0 && strcmp(p->type, "message") == 0)) {
		printf("\n");
		for (i = 0; i < p->nchildren; i++) {
			snprintf(child, sizeof(child), "%s.%zu", path, i + 1);
			print_part(p->children[i], child);
		}
		return;
	}
	printf(" ");
	if (msg_part_filename(p) != NULL)
		summary_print_name(stdout, msg_part_filename(p));
	summary_print_decoded(stdout, p->type, p->decoded.data, p->decoded.len);
	if (strcmp(p->type, "text") == 0 && strcmp(p->subtype, "plain") == 0) {
		struct buf t = BUF_INIT;
		size_t n;

		buf_append(&t, p->text.data != NULL ? p->text.data : "", p->text.len);
		n = summary_text_norm(t.data, t.len);
		printf(" tlen=%zu th=%016llx", n, (unsigned long long)summary_fnv(t.data, n));
		buf_deinit(&t);
	}
	printf("\n");
}

static void
summarise(const char *name, bool all)
{
	struct msg_limits limits;
	struct msg *m;
	size_t len, skip, r;
	char *data = summary_read_file(name, &len);

	printf("== %s\n", name);
	if (data == NULL) {
		printf("unreadable\n");
		return;
	}
	skip = summary_strip_from(data, len);
	msg_limits_default(&limits);
	m = msg_parse_mem(&limits, data + skip, len - skip);
	for (r = 0; r < (all ? m->nreadings : 1); r++) {
		if (all)
			printf("-- reading %zu\n", r);
		print_part(m->readings[r].root, "r");
	}
	if (all) {
		unsigned int bit;

		printf("flags");
		for (bit = 1; bit != 0; bit <<= 1) {
			if (m->flags & bit)
				printf(" %s", msg_flag_name((enum msg_flag)bit));
		}
		printf("\n");
	}
	msg_free(&m);
	free(data);
}

int
main(int argc, char **argv)
{
	char line[4096];
	bool all = false;
	int i = 1;

	if (argc > 1 && strcmp(argv[1], "-a") == 0) {
		all = true;
		i++;
	}
	if (i < argc) {
		for (; i < argc; i++)
			summarise(argv[i], all);
	} else {
		while (fgets(line, sizeof(line), stdin) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (line[0] != '\0')
				summarise(line, all);
		}
	}
	return 0;
}
