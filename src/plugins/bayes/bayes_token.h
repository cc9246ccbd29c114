/*
 * bayes_token.h - what the Bayes classifier counts: the tokens of a
 * message, hashed, and the digest that identifies a learned message.
 *
 * Tokens (each a short string, then a 64-bit hash; the strings are never
 * stored):
 *   body      words of every text part of reading 0 as a client shows it
 *             (text/html as text), lower-cased; a word with capitals past
 *             its first letter also as written ("FREE", "iPhone"); a word
 *             with ! $ ' * , in it also without them. (Pairs of words were
 *             tried: they count the same evidence twice and left more
 *             messages undecided.) Words are runs of letters, digits,
 *             UTF-8 sequences and $ ! ' * , . - _ @, trimmed of - ' . , _ *
 *             at both ends, 3 to 15 bytes long. Longer ones become "sk:" and
 *             their first 7 characters, unless they hold CJK characters
 *             (3- and 4-byte UTF-8): then one "u8:" token per such
 *             character. A word with an @ and a dot after it is an address:
 *             "E:addr" and "ED:domain". HTML text a client would not show:
 *             "I:" words.
 *   headers   Subject "S:" words and "S2:first second" pairs; from the
 *             first 8 Received fields, before their ';' (the relays, not
 *             the date): "R:host" and its parent domains, "R:ip" and its
 *             /24 "R:a.b.c", words without digits "R:word"; From "F:" display-name words,
 *             "FA:" the address, "FD:" its domain and parent domains;
 *             Reply-To "RA:"/"RD:"; To and Cc "TD:" domains; Return-Path
 *             "PD:"; Message-ID "MD:" domain and "MS:" the shape of its
 *             local part (digits -> 9, letters -> a/A, runs folded);
 *             X-Mailer/User-Agent "UA:" words; Organization "O:" words;
 *             the top Content-Type "CT:type/subtype" and "CS:charset";
 *             "HN:name" for every header present, except the ones that
 *             say where the message went rather than what it is (Received,
 *             Date, Delivered-To, List-*, X-Spam-*, ...: SpamAssassin's
 *             ignore list).
 *   structure "PT:type/subtype" and "PC:charset" of every part, "A:type" and
 *             "AX:extension" of attachments, "MF:flag" of every parser
 *             flag (malformed mail is a sign), "U:host" and "UD:domain"
 *             (last two labels, three under a two-letter second level such
 *             as co.uk) of every URL, "UI:ip" for IP hosts.
 * Each distinct token counts once per message. At most max_tokens are
 * kept (bounds.h BOUND_BAYES_TOKENS, [bayes] message_tokens); past it the
 * rest is dropped and `truncated` is set. Headers and structure come
 * first, so a long body loses its last words first.
 *
 * The hash (bayes_token_hash()) is FNV-1a 64 with MurmurHash3's final mix:
 * it is the storage format in Redis, never change it.
 *
 * The digest (bayes_token_digest()) identifies a message for "learned
 * already": SHA-1 over Message-ID, Date, From, To and Subject as written and
 * the decoded bytes of every part of reading 0 (CR bytes skipped), so the
 * same message relayed another way (other Received fields, LF or CRLF) has
 * the same digest.
 *
 * Thread-safety: no shared state; every function works on its arguments.
 */
#ifndef MXMOAT_BAYES_TOKEN_H
#define MXMOAT_BAYES_TOKEN_H

#include "msg/msg.h"

#define BAYES_TOKEN_MIN 3       /* bytes */
#define BAYES_TOKEN_MAX 15      /* bytes, as SpamAssassin's */
#define BAYES_DIGEST_LEN 20

/* a sink for token strings (tests, `mxmoat learn --tokens`); NULL in
 * struct bayes_tokens = hashes only */
typedef void bayes_token_fn(void *ctx, const char *token, size_t len);

struct bayes_tokens {
	uint64_t *hashes;       /* distinct, in the order first seen */
	size_t n;
	size_t max;             /* at most this many */
	bool truncated;
	/* private: open-addressing set of the hashes */
	uint64_t *set;
	size_t set_mask;
	bayes_token_fn *sink;
	void *sink_ctx;
};

void bayes_tokens_init(struct bayes_tokens *t, size_t max);
void bayes_tokens_deinit(struct bayes_tokens *t);
/* bayes_tokens_add(): one token string; false when it was new but did
 * not fit (truncated) */
bool bayes_tokens_add(struct bayes_tokens *t, const char *token, size_t len);

/* bayes_token_text(): the words of text (UTF-8) with prefix; with
 * pair_prefix non-NULL also their pairs */
void bayes_token_text(struct bayes_tokens *t, const char *prefix, const char *pair_prefix,
		      const char *text, size_t len);
/* bayes_token_msg(): every token of a message */
void bayes_token_msg(struct bayes_tokens *t, const struct msg *m);

uint64_t bayes_token_hash(const char *token, size_t len);
void bayes_token_digest(const struct msg *m, unsigned char digest[BAYES_DIGEST_LEN]);

#endif
