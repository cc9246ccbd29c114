/*
 * cli_msgs.h - message files for `mxmoat learn` and `mxmoat corpus`.
 *
 * A path is a file or a directory; directories are walked (sub-directories
 * too, to depth 8: maildirs' cur/ and new/), every regular file but
 * dotfiles, *.md and LICENSE taken, in name order. A file is one message,
 * or an mbox: lines "From SENDER DATE" (a postmark: a time and a year on
 * it) at the start or after an empty line begin messages; ">From " quoting
 * is undone. Each message is handed over as on the wire: CRLF line ends,
 * no postmark line.
 *
 * Limits: a file is read up to CLI_MSGS_FILE_MAX bytes (larger files are
 * skipped as unreadable).
 */
#ifndef MXMOAT_CLI_MSGS_H
#define MXMOAT_CLI_MSGS_H

#include "core/buf.h"

#define CLI_MSGS_FILE_MAX (512u * 1024 * 1024)

struct cli_msg_files {
	char **paths;
	size_t n;
};

/* cli_msgs_collect(): add path's files; -1 (message on stderr) when it
 * cannot be read */
int cli_msgs_collect(struct cli_msg_files *files, const char *path);
/* cli_msgs_add(): one file (a copy of the path) */
void cli_msgs_add(struct cli_msg_files *files, const char *path);
void cli_msgs_files_free(struct cli_msg_files *files);

/* called for each message of a file (index from 0) */
typedef void cli_msg_fn(void *ctx, const char *path, size_t index, const char *data,
			size_t len);
/* cli_msgs_read(): the messages of one file; their count, or -1 when the
 * file cannot be read */
int cli_msgs_read(const char *path, cli_msg_fn *fn, void *ctx);
/* cli_msgs_wire(): one message's text as on the wire (LF -> CRLF, the
 * postmark line skipped), appended to out */
void cli_msgs_wire(const char *data, size_t len, struct buf *out);

#endif
