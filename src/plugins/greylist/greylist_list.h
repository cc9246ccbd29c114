/*
 * greylist_list.h - the static whitelists of greylisting: client networks,
 * sender domains and recipients from [greylist], and the file of large
 * senders that retry from changing addresses (networks and reverse-DNS
 * domains; share/greylist-whitelist is the shipped one).
 *
 * Built once per configuration snapshot (plugin init), immutable after,
 * read by all scan workers without locks. Matching is linear: the lists
 * are short (tens to hundreds of entries); a file is limited to
 * GREYLIST_LIST_MAX entries and lines of 255 bytes.
 *
 * Matching rules: a domain entry matches the domain itself and every
 * subdomain ("google.com" matches "mail-ed1-f41.google.com"); client
 * domain entries are compared with the forward-confirmed host name only
 * (an unverified PTR name can be anything). Recipient entries are a whole
 * address, "local@" (any domain) or "@domain" (and its subdomains).
 */
#ifndef MXMOAT_GREYLIST_LIST_H
#define MXMOAT_GREYLIST_LIST_H

#include "conf/conf.h"

#define GREYLIST_LIST_MAX 100000

struct greylist_list;

/* greylist_list_load(): the [greylist] whitelists and the file at path
 * (NULL = none). -1 with *error_r "FILE:LINE: message" (heap). */
int greylist_list_load(const struct conf *conf, const char *path, struct greylist_list **list_r,
		       char **error_r);
void greylist_list_free(struct greylist_list **list);
/* what matched (for the log and the symbol detail), or NULL */
bool greylist_list_client(const struct greylist_list *l, const struct netaddr *ip,
			  const char *verified_name, struct buf *why_r);
bool greylist_list_sender(const struct greylist_list *l, const char *sender_domain,
			  struct buf *why_r);
bool greylist_list_rcpt(const struct greylist_list *l, const char *rcpt, struct buf *why_r);
/* entries: networks, client domains, sender domains, recipients */
void greylist_list_counts(const struct greylist_list *l, size_t counts_r[4]);

#endif
