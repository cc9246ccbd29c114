/*
 * greylist_key.h - what greylisting remembers, normalised: the client
 * (network, or organisational domain of its verified host name), the
 * sender with its per-message tags folded, the recipient, and the hashed
 * Redis keys built from them. Pure functions: the daemon's plugin and
 * `mxmoat greylist` compute the same keys from the same envelope.
 *
 * Normalisation:
 *   sender     lowercased; BATV (prvs=TAG=user, msprvs1=, btv1==TAG==user)
 *              and SRS (SRS0=H=TT=domain=user@fwd, SRS1=...==H=TT=...)
 *              undone to the original address; +detail dropped; runs of
 *              digits between non-word characters replaced by '#' (VERP:
 *              bounce-1234-5678@list -> bounce-#-#@list, as postgrey);
 *              the null sender is "<>".
 *   recipient  lowercased.
 *   client     "net:192.0.2.0/24" / "net:2001:db8:1:2::/64" (masks are
 *              configurable), or, for a forward-confirmed host name that
 *              does not look dynamic, "dns:" and its organisational domain
 *              (Public Suffix List; see greylist_key_org_domain()).
 * Keys: PREFIX "gl:" KIND ":" base64url(SHA-256(material)[0..15]), so a
 * key is short and bounded whatever the addresses, and the stored data do
 * not show them. KIND: "t" a recipient triplet, "m" a data-stage message
 * (sender and all recipients), "a" an auto-whitelisted client.
 */
#ifndef MXMOAT_GREYLIST_KEY_H
#define MXMOAT_GREYLIST_KEY_H

#include "core/buf.h"
#include "core/netaddr.h"

struct greylist_psl;

/* greylist_key_psl_load(): the Public Suffix List at path (the Debian
 * publicsuffix package's public_suffix_list.dat). -1 with *error_r (heap)
 * when it cannot be read. */
int greylist_key_psl_load(const char *path, struct greylist_psl **psl_r, char **error_r);
void greylist_key_psl_free(struct greylist_psl **psl);
size_t greylist_key_psl_count(const struct greylist_psl *psl);

/* greylist_key_org_domain(): the registrable domain of a host name
 * (public suffix + one label) into out; false when the name is a public
 * suffix itself or not a domain. psl NULL: the last two labels, three
 * under a two-letter TLD with a short second level (co.uk, com.au). */
bool greylist_key_org_domain(const struct greylist_psl *psl, const char *name, struct buf *out);
/* greylist_key_is_dynamic(): does the host name look like an address
 * pool (the client address's numbers in it, or words like dsl, dyn,
 * pool, dhcp, cable, ppp)? */
bool greylist_key_is_dynamic(const char *name, const char *ip);

void greylist_key_sender(const char *addr, struct buf *out);
void greylist_key_rcpt(const char *addr, struct buf *out);
/* greylist_key_sender_domain(): the folded sender's domain ("" for <>) */
void greylist_key_sender_domain(const char *addr, struct buf *out);
/* greylist_key_net(): "192.0.2.0/24"; -1 if ip is not an IP address */
int greylist_key_net(const char *ip, unsigned int v4mask, unsigned int v6mask, struct buf *out);
/* greylist_key_ip_parse(): an IP address as a netaddr (port 0); the
 * "IPV6:" prefix of XCLIENT/XFORWARD is accepted */
int greylist_key_ip_parse(const char *ip, struct netaddr *a_r);

struct greylist_key_opts {
	unsigned int v4mask, v6mask;
	bool rdns;                       /* key on the org domain of a verified name */
	const struct greylist_psl *psl;
};

/* greylist_key_client(): "net:..." or "dns:..." for a client; name is the
 * verified host name or "[UNAVAILABLE]"/"[TEMPUNAVAIL]"/"". -1 if ip is
 * not an IP address. */
int greylist_key_client(const struct greylist_key_opts *o, const char *ip, const char *name,
			struct buf *out);
/* greylist_key_hash(): PREFIX "gl:" KIND ":" + hash of material */
void greylist_key_hash(const char *prefix, char kind, const void *material, size_t len,
		       struct buf *out);
/* the three keys; parts are joined with NUL bytes before hashing */
void greylist_key_triplet(const char *prefix, const char *client, const char *sender,
			  const char *rcpt, struct buf *out);
void greylist_key_message(const char *prefix, const char *client, const char *sender,
			  const char *const *rcpts, size_t nrcpts, struct buf *out);
void greylist_key_awl(const char *prefix, const char *client, const char *sender_domain,
		      struct buf *out);

#endif
