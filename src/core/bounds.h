/*
 * bounds.h - every input-driven size, count and time limit, in one place.
 *
 * Each BOUND_* is the default of a configuration key (named in the comment)
 * or, where marked "fixed", a hard protocol bound that no configuration
 * changes. Code checks these limits before it allocates. Past a limit the
 * session gets the reply named here, never a crash or unbounded growth.
 */
#ifndef MXMOAT_BOUNDS_H
#define MXMOAT_BOUNDS_H

/* [smtp] max_line_length: one command line, CRLF included (RFC 5321 asks
 * for at least 512; Postfix accepts 2048). Past it: 500 5.5.2. */
#define BOUND_SMTP_LINE 2048
/* [smtp] max_message_size: 552 5.3.4 at MAIL SIZE= and during DATA. */
#define BOUND_MESSAGE_SIZE (25u * 1024 * 1024)
/* [smtp] max_recipients per transaction: 452 4.5.3. */
#define BOUND_RECIPIENTS 1000
/* [smtp] max_errors per session before 421 4.7.0 (Postfix hard limit). */
#define BOUND_ERRORS 20
/* [smtp] max_data_line_length: 0 = no limit but the message size. */
#define BOUND_DATA_LINE 0
/* [smtp] command_timeout, data_timeout, in ms: 421 4.4.2. */
#define BOUND_COMMAND_TIMEOUT_MS (300 * 1000)
#define BOUND_DATA_TIMEOUT_MS (300 * 1000)
/* [smtp] min_data_rate in bytes/s: each N bytes read extend the DATA
 * deadline by N/rate seconds, as Postfix's smtpd_min_data_rate. */
#define BOUND_MIN_DATA_RATE 500
/* [server] max_connections, max_connections_per_ip: 421 4.7.0. */
#define BOUND_CONNECTIONS 1000
#define BOUND_CONNECTIONS_PER_IP 50
/* [downstream] timeouts, in ms: 421 4.3.0 / 451 4.3.0. */
#define BOUND_DOWNSTREAM_CONNECT_MS (30 * 1000)
#define BOUND_DOWNSTREAM_COMMAND_MS (300 * 1000)
#define BOUND_DOWNSTREAM_DATA_MS (600 * 1000)
/* [spool] memory_limit: message bytes held in memory before the spool
 * moves to an unlinked temporary file. */
#define BOUND_SPOOL_MEMORY (256u * 1024)
/* [daemon] shutdown_timeout: how long SIGTERM waits for transactions. */
#define BOUND_SHUTDOWN_MS (30 * 1000)
/* [bayes] message_tokens: distinct Bayes tokens counted per message. */
#define BOUND_BAYES_TOKENS 6000

/* [mime] limits of the message parser (src/msg). Past each the parser
 * flags the message (MSG_FLAG_LIMIT_*), stops splitting or decoding, and
 * goes on in linear time and bounded memory. */
/* max_header_size: one header block (Postfix header_size_limit). */
#define BOUND_MIME_HEADER_BLOCK (100u * 1024)
/* max_headers: header fields kept per header block. */
#define BOUND_MIME_HEADERS 1000
/* max_header_line: bytes kept of one (unfolded) header field. */
#define BOUND_MIME_HEADER_LINE (64u * 1024)
/* max_depth: MIME nesting (Postfix mime_nesting_limit, Dovecot). */
#define BOUND_MIME_DEPTH 100
/* max_parts: parts per message, all readings (Dovecot's 10000). */
#define BOUND_MIME_PARTS 10000
/* max_params: Content-Type/-Disposition parameters, RFC 2231 sections
 * counted one by one. */
#define BOUND_MIME_PARAMS 100
/* max_decoded_part / max_decoded_total: decoded body bytes kept. */
#define BOUND_MIME_DECODED_PART (25u * 1024 * 1024)
#define BOUND_MIME_DECODED_TOTAL (64u * 1024 * 1024)
/* max_text_part: UTF-8 text bytes kept per part. */
#define BOUND_MIME_TEXT_PART (2u * 1024 * 1024)
/* max_urls: URLs kept per message (rspamd keeps 10240). */
#define BOUND_MIME_URLS 4096
/* max_addresses: addresses parsed per header (Postfix
 * header_address_token_limit counts 10240 tokens). */
#define BOUND_MIME_ADDRESSES 1000
/* max_readings: alternative readings of an ambiguous message. */
#define BOUND_MIME_READINGS 8

/* [http] max_connections: simultaneous HTTP connections (503 beyond).
 * [http] max_rule_series: rule names in mxmoat_rule_hits_total. */
#define BOUND_HTTP_CONNECTIONS 64
#define BOUND_METRIC_RULES 1000
/* fixed: distinct (action, reason) pairs and virus families counted;
 * further ones count as "other". */
#define BOUND_METRIC_REASONS 128
#define BOUND_METRIC_FAMILIES 256
/* [history] max_records (Redis), memory_records (each node's memory),
 * search_limit (records one search examines). */
#define BOUND_HISTORY_RECORDS 100000
#define BOUND_HISTORY_MEMORY 10000
#define BOUND_HISTORY_SEARCH 100000
/* fixed: what one history record keeps: symbols (highest scores first),
 * recipients, bytes of the subject; records waiting to be written to
 * Redis (the oldest are dropped, counted, beyond). */
#define BOUND_HISTORY_SYMBOLS 64
#define BOUND_HISTORY_RCPTS 100
#define BOUND_HISTORY_SUBJECT 300
#define BOUND_HISTORY_QUEUE 10000

/* fixed: one downstream reply line and the lines of one reply (Postfix's
 * smtpd_proxy caps these too). Past either: 451 4.3.0 to the client. */
#define BOUND_REPLY_LINE 2048
#define BOUND_REPLY_LINES 100
/* fixed: ESMTP parameters on one MAIL or RCPT command. */
#define BOUND_ESMTP_PARAMS 16
/* fixed: a forward-path or reverse-path, brackets excluded. */
#define BOUND_PATH 512
/* fixed: the HELO/EHLO argument we keep and forward. */
#define BOUND_HELO 255
/* fixed: input bytes buffered while a session waits on async work; past
 * this the socket is not read until the session catches up. */
#define BOUND_PENDING_INPUT (64 * 1024)

#endif
