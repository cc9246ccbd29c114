/*
 * url.h - URLs in text: finding them, and normalising them so that one
 * site has one spelling whatever tricks the mail uses.
 *
 * Contract: url_scan() finds URL candidates in UTF-8 text: scheme URLs
 * (http, https, ftp, and the defanged hxxp/hxxps, with "//", "\\" or
 * "/\" after the colon), schemeless "www." ("www1." .. "www99.") and
 * "ftp." hosts, mailto:, and bare addresses "local@domain.tld" (a local
 * part of at most 64 bytes, a domain with a top-level label of two
 * letters or more; SpamAssassin's uri rules see them as mailto:), and
 * hosts spelled out with blanks around their dots for a reader to type
 * ("www . evil . example", normalised without the blanks). Each
 * candidate ends at white space, a quote, '<' or '>'; trailing
 * punctuation (".,;:!?" and an unbalanced ')') is left out.
 *
 * url_normalise() turns a candidate (from text, or an HTML attribute)
 * into the canonical form
 *     scheme "://" [userinfo "@"] host [":" port] path ["?" query] ["#" frag]
 * with scheme and host lower-cased, hxxp -> http, backslashes -> '/',
 * the default port dropped, an empty path as "/", percent-escapes of
 * unreserved characters decoded (elsewhere kept, hex upper-cased, a
 * stray '%' written %25), so that normalising twice changes nothing. The
 * host: percent-decoded, defanged dots ("[.]", "(.)", "[dot]", "(dot)")
 * and the ideographic/fullwidth full stops read as '.', a trailing dot
 * dropped; IDN labels (xn-- or raw Unicode) as Unicode after UTS 46
 * mapping (libidn2); IPv4 in any form inet_aton() and browsers accept
 * (3232235777, 0xC0A80001, 0300.0250.0.1, 192.168.1) as dotted decimal,
 * IPv6 literals in brackets, both flagged as IP hosts. Userinfo is kept
 * in the URL but is never the host ("http://bank.example@evil.example/").
 *
 * Limits: candidates longer than URL_MAX bytes are cut there; time is
 * linear in the text.
 */
#ifndef MXMOAT_URL_H
#define MXMOAT_URL_H

#include "core/buf.h"

#define URL_MAX 4096

/* url_scan(): cb gets each candidate; returning false stops the scan */
typedef bool url_scan_fn(void *ctx, struct view raw);
void url_scan(const char *text, size_t len, url_scan_fn *cb, void *ctx);

/* url_normalise(): false if raw is no URL we keep (relative, javascript:,
 * cid:, no valid host, ...). mailto: URLs and bare addresses normalise
 * to "mailto:" addr with an empty host; "www." and "ftp." hosts get the
 * scheme clients give them. url_r and host_r are reset first. */
bool url_normalise(const char *raw, size_t len, struct buf *url_r, struct buf *host_r,
		   bool *is_ip_r);

/* url_join(): resolve an HTML reference against a base URL (for <base
 * href>); appends the joined URL, false if either is unusable */
bool url_join(const char *base, size_t base_len, const char *ref, size_t ref_len,
	      struct buf *out);

/* url_ipv4(): the numeric IPv4 forms; fills the address */
bool url_ipv4(const char *s, size_t len, uint32_t *addr_r);

#endif
