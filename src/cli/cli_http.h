/*
 * cli_http.h - what `mxmoat stats`, `history` and `decision` share: a GET
 * to the daemon's [http] listener (the first [http] listen address of the
 * configuration, with its [http] token), the JSON answer parsed, and a few
 * table helpers.
 *
 * Limits: the answer is read for at most CLI_HTTP_TIMEOUT_S seconds and
 * CLI_HTTP_MAX_BYTES bytes.
 */
#ifndef MXMOAT_CLI_HTTP_H
#define MXMOAT_CLI_HTTP_H

#include "cli/cli.h"
#include "stats/json.h"

#define CLI_HTTP_TIMEOUT_S 30
#define CLI_HTTP_MAX_BYTES (64u * 1024 * 1024)

/* cli_http_get(): 0 with the status and body, or -1 with a message on
 * stderr (connection refused, timeout, not HTTP) */
int cli_http_get(const struct conf *c, const char *path, int *status_r, struct buf *body_r);
/* cli_http_json(): GET and parse; on a non-200 answer or bad JSON prints
 * why (the answer's "error") and returns NULL */
struct json *cli_http_json(const struct conf *c, const char *path, struct buf *raw_r);
/* cli_url_append(): s percent-encoded for a query string */
void cli_url_append(struct buf *b, const char *s);
/* cli_cell(): s cut to width display columns (UTF-8 aware), padded */
void cli_cell(struct buf *b, const char *s, size_t width);
/* cli_time(): epoch ms as "2026-05-01 12:34:56" (local time) */
void cli_time(struct buf *b, double ms);

#endif
