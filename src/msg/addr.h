/*
 * addr.h - RFC 5322 address lists (From, To, Cc, Reply-To, Sender, ...).
 *
 * Contract: addr_parse_list() reads an unfolded header value into
 * mailboxes, as lenient as mail clients are: groups ("name: a, b;")
 * contribute their members; a display name is the phrase before "<...>"
 * (quoted strings unquoted, RFC 2047 words decoded, also inside quotes as
 * clients do) or, for "addr (Comment)", the comment; obsolete routes
 * (<@a,@b:u@d>) are dropped; an element with several "<...>" uses the
 * last; UTF-8 (RFC 6532) local parts and domains are kept as they are;
 * the domain is lower-cased (ASCII letters). Elements without any
 * address ("undisclosed-recipients:;") yield nothing.
 *
 * Ownership: the caller frees the array with msg_addresses_free().
 * Limits: at most max addresses (then *truncated_r is set); time is linear
 * in the value.
 */
#ifndef MXMOAT_ADDR_H
#define MXMOAT_ADDR_H

#include "msg/msg.h"
#include "msg/charset.h"

size_t addr_parse_list(struct charset_ctx *cs, const char *p, size_t len, unsigned int max,
		       struct msg_address **addrs_r, bool *truncated_r);

#endif
