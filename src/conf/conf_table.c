#include "conf/conf_table.h"
#include "core/bounds.h"

#define OFF(field) offsetof(struct conf, field)
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const forward_words[] = { "xclient", "xforward", "none", NULL };
static const char *const log_target_words[] = { "stderr", "syslog", NULL };
static const char *const ds_tls_words[] = { "auto", "no", "yes", NULL };
static const char *const add_headers_words[] = { "always", "spam", "never", NULL };
static const char *const log_level_words[] = { "error", "warning", "info", "debug", NULL };
static const char *const av_backend_words[] = { "libclamav", "clamd", NULL };
static const char *const av_virus_words[] = { "reject", "tag", "discard", NULL };
static const char *const av_policy_words[] = { "reject", "tempfail", "tag", NULL };
static const char *const av_error_words[] = { "tempfail", "accept", NULL };
static const char *const av_raw_words[] = { "ambiguous", "always", "never", NULL };
static const char *const greylist_stage_words[] = { "rcpt", "data", NULL };
static const char *const greylist_awl_words[] = { "client", "sender_domain", NULL };
static const char *const greylist_failure_words[] = { "skip", "tempfail", NULL };
static const char *const milter_error_words[] = { "tempfail", "accept", NULL };
static const char *const milter_auth_words[] = { "scan", "accept", NULL };

const char *const conf_sections[][2] = {
	{ "server", "Inbound SMTP listener." },
	{ "smtp", "Limits and timeouts of inbound SMTP sessions." },
	{ "tls", "STARTTLS for inbound sessions." },
	{ "downstream", "The MTA that receives accepted mail (Postfix)." },
	{ "milter", "Milter listener (libmilter), for sites that keep Postfix on port 25:\n"
		    "smtpd_milters = inet:127.0.0.1:PORT in Postfix's main.cf. The same\n"
		    "pipeline and verdicts as the SMTP proxy; scanning runs in the scan\n"
		    "workers. With [milter] listen set, [server] listen may be empty." },
	{ "scan", "The scan pipeline." },
	{ "rules", "SpamAssassin-compatible rules (header, body, rawbody, full, uri,\n"
		   "mimeheader, meta)." },
	{ "bayes", "The Bayesian classifier: tokens of the message (words, selected\n"
		   "headers, relays, URL hosts, attachment types) counted in Redis\n"
		   "([redis], shared by the nodes) from the mail learned as spam or ham\n"
		   "(`mxmoat learn`, autolearn), combined with Robinson-Fisher chi-square\n"
		   "as SpamAssassin does, and added as BAYES_00 ... BAYES_99, BAYES_999.\n"
		   "Redis down or slow = no Bayes for that message (BAYES_SKIP, fail open)." },
	{ "clamav", "Antivirus: ClamAV in-process (libclamav) or through clamd. Every message\n"
		    "is scanned as received and every part as mxmoat's MIME parser decoded\n"
		    "it, in every reading of an ambiguous message. A scan that hits a\n"
		    "limit, an encrypted archive or document, or a part that cannot be\n"
		    "parsed is never \"clean\": it gets the unscannable or encrypted policy." },
	{ "attachments", "Attachment policy: file names (every candidate name the MIME parser\n"
			 "found, and, with libclamav, the names inside archives) and detected\n"
			 "file types that are not accepted." },
	{ "verdict", "From scores and scanner results to an action." },
	{ "redis", "The Redis server shared by the nodes (greylisting; later Bayes and\n"
		   "history). Every key starts with prefix and has a TTL." },
	{ "greylist", "Greylisting: the first delivery attempt for a (client network, sender,\n"
		      "recipient) triplet is answered 451 4.7.1; a retry after delay passes.\n"
		      "State lives in Redis; Redis down or slow = no greylisting (fail open)." },
	{ "http", "Metrics (Prometheus), the JSON API, the decision history search and the\n"
		  "dashboard, served by mxmoatd: /metrics, /api/stats, /api/history,\n"
		  "/api/decision/ID, /healthz and the dashboard at /." },
	{ "history", "The decision history: one record per transaction (envelope, subject,\n"
		     "score, every symbol with what matched, the reply given), searchable\n"
		     "by action, rule, text and time, and found by the decision id quoted in\n"
		     "every reject text. Kept in Redis ([redis], shared by the nodes) and\n"
		     "in memory (each node's last records, and the fallback while Redis is\n"
		     "down or not used)." },
	{ "mime", "Limits of the MIME parser: past each, the message is flagged\n"
		  "(MSG_FLAG_LIMIT_*), splitting or decoding stops, and scanning goes on\n"
		  "with what was parsed." },
	{ "spool", "Where messages wait while they are scanned." },
	{ "log", "Logging." },
	{ "daemon", "Process control." },
};
const size_t conf_sections_count = N_ELEMENTS(conf_sections);

const struct conf_key conf_keys[] = {
	/* [server] */
	{ "server", "listen", CONF_T_ENDPOINTS, OFF(listen), "127.0.0.1:10024", NULL, 0,
	  "Addresses to accept SMTP on (comma-separated). On port 25 in front of\n"
	  "Postfix use e.g. \"0.0.0.0:25, [::]:25\". Changing it needs a restart." },
	{ "server", "hostname", CONF_T_STRING, OFF(hostname), "", NULL, 0,
	  "Name in the greeting and EHLO reply; empty = the system host name." },
	{ "server", "banner", CONF_T_STRING, OFF(banner), "ESMTP", NULL, 0,
	  "Greeting text after the host name." },
	{ "server", "max_connections", CONF_T_COUNT, OFF(max_connections),
	  STR(BOUND_CONNECTIONS), NULL, 1000000,
	  "Simultaneous client sessions; more are answered 421 4.7.0 and closed." },
	{ "server", "max_connections_per_ip", CONF_T_COUNT, OFF(max_connections_per_ip),
	  STR(BOUND_CONNECTIONS_PER_IP), NULL, 1000000,
	  "Simultaneous sessions from one client address (0 = no limit);\n"
	  "more are answered 421 4.7.0 and closed." },
	{ "server", "client_name_lookup", CONF_T_BOOL, OFF(client_name_lookup), "yes", NULL, 0,
	  "Look up the client's host name (PTR, then a forward lookup that must\n"
	  "return the address again, as Postfix does) and pass it downstream as\n"
	  "XCLIENT/XFORWARD NAME. Off: the name is passed as [UNAVAILABLE]." },
	{ "server", "dns_timeout", CONF_T_DURATION, OFF(dns_timeout_ms), "5s", NULL, 0,
	  "Time allowed for one DNS query (two attempts are made)." },
	{ "server", "xforward_from", CONF_T_NETWORKS, OFF(xforward_from), "", NULL, 0,
	  "Clients allowed to send XFORWARD (smtpd_proxy_filter mode: the Postfix\n"
	  "that hands mail to mxmoat). XFORWARD is advertised only to them; their\n"
	  "attributes become the client seen by policies and are passed on.\n"
	  "Nobody may send XCLIENT." },

	/* [smtp] */
	{ "smtp", "max_message_size", CONF_T_SIZE, OFF(max_message_size), "25M", NULL, 0,
	  "Largest message accepted (SIZE= at MAIL and bytes in DATA): 552 5.3.4.\n"
	  "Keep it at or below the downstream's message_size_limit." },
	{ "smtp", "max_recipients", CONF_T_COUNT, OFF(max_recipients),
	  STR(BOUND_RECIPIENTS), NULL, 100000,
	  "Recipients per transaction; more are answered 452 4.5.3." },
	{ "smtp", "max_line_length", CONF_T_SIZE, OFF(max_line_length),
	  STR(BOUND_SMTP_LINE), NULL, 0,
	  "Longest command line, CRLF included (RFC 5321 minimum 512): 500 5.5.2." },
	{ "smtp", "max_data_line_length", CONF_T_SIZE, OFF(max_data_line_length), "0", NULL, 0,
	  "Longest message line (0 = no limit but max_message_size). Real mail has\n"
	  "lines over 998 octets; the downstream decides how to fold them. A longer\n"
	  "line rejects the message with 552 5.3.4 after the end of data." },
	{ "smtp", "max_errors", CONF_T_COUNT, OFF(max_errors), STR(BOUND_ERRORS), NULL, 10000,
	  "Error replies (4xx/5xx to commands) before 421 4.7.0 and disconnect." },
	{ "smtp", "command_timeout", CONF_T_DURATION, OFF(command_timeout_ms), "300s", NULL, 0,
	  "Idle time allowed while waiting for a command: 421 4.4.2." },
	{ "smtp", "data_timeout", CONF_T_DURATION, OFF(data_timeout_ms), "300s", NULL, 0,
	  "Idle time allowed between reads during DATA: 421 4.4.2." },
	{ "smtp", "min_data_rate", CONF_T_COUNT, OFF(min_data_rate),
	  STR(BOUND_MIN_DATA_RATE), NULL, 1000000000,
	  "Bytes/s a client must sustain in DATA (0 = off). As Postfix's\n"
	  "smtpd_min_data_rate: the DATA deadline starts at data_timeout and each\n"
	  "N bytes received extend it by N/min_data_rate seconds, up to\n"
	  "data_timeout from now. Past the deadline: 421 4.4.2." },
	{ "smtp", "smtputf8", CONF_T_BOOL, OFF(smtputf8), "yes", NULL, 0,
	  "Offer SMTPUTF8 (when the downstream offers it too)." },
	{ "smtp", "auth_without_tls", CONF_T_BOOL, OFF(auth_without_tls), "no", NULL, 0,
	  "Offer the downstream's AUTH (relayed in lock-step; authenticated\n"
	  "sessions skip greylisting) also before STARTTLS. No: only over TLS." },
	{ "smtp", "dsn", CONF_T_BOOL, OFF(dsn), "yes", NULL, 0,
	  "Offer DSN and pass RET/ENVID/NOTIFY/ORCPT on (when the downstream does)." },

	/* [tls] */
	{ "tls", "cert", CONF_T_STRING, OFF(tls_cert), "", NULL, 0,
	  "PEM certificate chain for STARTTLS (leaf first). Empty: no STARTTLS." },
	{ "tls", "key", CONF_T_STRING, OFF(tls_key), "", NULL, 0,
	  "PEM private key of the certificate (read before privileges are dropped)." },
	{ "tls", "min_protocol", CONF_T_STRING, OFF(tls_min_protocol), "TLSv1.2", NULL, 0,
	  "Oldest TLS version accepted: TLSv1.2 or TLSv1.3." },
	{ "tls", "ciphers", CONF_T_STRING, OFF(tls_ciphers), "", NULL, 0,
	  "OpenSSL cipher list for TLS 1.2 (empty: OpenSSL's default)." },
	{ "tls", "handshake_timeout", CONF_T_DURATION, OFF(tls_handshake_timeout_ms), "30s",
	  NULL, 0, "Time allowed for the TLS handshake after 220 Ready to start TLS." },

	/* [downstream] */
	{ "downstream", "address", CONF_T_ENDPOINT, OFF(downstream), "127.0.0.1:10025", NULL, 0,
	  "The MTA that receives accepted mail: host:port or unix:/path." },
	{ "downstream", "forward", CONF_T_ENUM, OFF(forward), "xclient", forward_words, 0,
	  "How the real client is passed on. xclient: Postfix applies its own\n"
	  "restrictions to the real client (needs smtpd_authorized_xclient_hosts);\n"
	  "mxmoat refuses to relay if the downstream does not offer XCLIENT, so\n"
	  "that the downstream never mistakes mxmoat for the client. xforward:\n"
	  "for logging only (smtpd_authorized_xforward_hosts). none: nothing." },
	{ "downstream", "helo_name", CONF_T_STRING, OFF(helo_name), "", NULL, 0,
	  "Our EHLO name towards the downstream; empty = [server] hostname." },
	{ "downstream", "tls", CONF_T_ENUM, OFF(downstream_tls), "auto", ds_tls_words, 0,
	  "STARTTLS to the downstream: auto = when it is not on loopback and\n"
	  "offers it; yes = required (no delivery without it); no = never." },
	{ "downstream", "tls_verify", CONF_T_BOOL, OFF(downstream_tls_verify), "yes", NULL, 0,
	  "Verify the downstream's certificate (against tls_ca or the system\n"
	  "store, and the name tls_name)." },
	{ "downstream", "tls_ca", CONF_T_STRING, OFF(downstream_tls_ca), "", NULL, 0,
	  "CA bundle for tls_verify (empty: the system store)." },
	{ "downstream", "tls_name", CONF_T_STRING, OFF(downstream_tls_name), "", NULL, 0,
	  "Host name the downstream's certificate must carry (and SNI)." },
	{ "downstream", "connect_timeout", CONF_T_DURATION,
	  OFF(downstream_connect_timeout_ms), "30s", NULL, 0,
	  "Time to connect and receive the downstream's greeting." },
	{ "downstream", "command_timeout", CONF_T_DURATION,
	  OFF(downstream_command_timeout_ms), "300s", NULL, 0,
	  "Time for the downstream to answer a command." },
	{ "downstream", "data_timeout", CONF_T_DURATION,
	  OFF(downstream_data_timeout_ms), "600s", NULL, 0,
	  "Time for the downstream to take the message and answer the final dot." },

	/* [milter] */
	{ "milter", "listen", CONF_T_STRING, OFF(milter_listen), "", NULL, 0,
	  "Where the milter listens, in libmilter's syntax: inet:PORT@HOST,\n"
	  "inet6:PORT@HOST or unix:/path. Empty = no milter. Changing it needs a\n"
	  "restart." },
	{ "milter", "command_budget", CONF_T_DURATION, OFF(milter_command_budget_ms), "20s", NULL,
	  0,
	  "How long a connect/HELO/MAIL/RCPT callback waits for its scan (e.g.\n"
	  "greylisting in Redis) before on_error applies. Keep it below Postfix's\n"
	  "milter_command_timeout (30s)." },
	{ "milter", "content_budget", CONF_T_DURATION, OFF(milter_content_budget_ms), "240s", NULL,
	  0,
	  "How long the end-of-message callback waits for the message scan before\n"
	  "on_error applies. Keep it below Postfix's milter_content_timeout (300s)." },
	{ "milter", "on_error", CONF_T_ENUM, OFF(milter_on_error), "tempfail", milter_error_words,
	  0,
	  "An internal error (scan over budget, spool error): tempfail = 451 4.3.0,\n"
	  "the sender retries (fail closed); accept = deliver unscanned (fail open)." },
	{ "milter", "quarantine", CONF_T_STRING, OFF(milter_quarantine), "", NULL, 0,
	  "Verdicts that put the message in Postfix's hold queue (with the reason\n"
	  "and decision id) instead: a comma-separated list of reject, discard,\n"
	  "tag. Empty = none: rejected mail is rejected, discarded mail dropped." },
	{ "milter", "authenticated", CONF_T_ENUM, OFF(milter_authenticated), "scan",
	  milter_auth_words, 0,
	  "Senders that authenticated to Postfix ({auth_authen} set): scan = the\n"
	  "whole pipeline except greylisting; accept = not scanned (our namespace\n"
	  "is still cleaned of incoming X-Spam-*/X-Virus-* fields)." },
	{ "milter", "tcp_nodelay", CONF_T_BOOL, OFF(milter_tcp_nodelay), "yes", NULL, 0,
	  "Set TCP_NODELAY on milter connections, so that the header edits and the\n"
	  "final reply do not wait on the MTA's delayed ACKs (~40 ms a message)." },
	{ "milter", "io_timeout", CONF_T_DURATION, OFF(milter_io_timeout_ms), "7210s", NULL, 0,
	  "libmilter's read/write timeout on an MTA connection (smfi_settimeout)." },

	/* [scan] */
	{ "scan", "workers", CONF_T_COUNT, OFF(scan_workers), "4", NULL, 256,
	  "Scan worker threads (rules, antivirus, Redis lookups run there, never\n"
	  "on the event loop). Changing it needs a restart." },
	{ "scan", "watch_interval", CONF_T_DURATION, OFF(scan_watch_interval_ms), "60s", NULL, 0,
	  "How often plugins check their data on disk (the ClamAV database\n"
	  "directory). When it changed, a new scan engine is built with the\n"
	  "running configuration on a scan worker and swapped in, as SIGHUP does;\n"
	  "messages in progress finish on the old one. 0 = only on SIGHUP." },
	{ "scan", "trusted_networks", CONF_T_NETWORKS, OFF(scan_trusted_networks), "", NULL, 0,
	  "Clients whose mail is trusted (your own relays and submission hosts;\n"
	  "CIDR, comma-separated): never greylisted. Matched against the client\n"
	  "that policies see (the XFORWARD/milter client address)." },

	/* [rules] */
	{ "rules", "enabled", CONF_T_BOOL, OFF(rules_enabled), "yes", NULL, 0,
	  "Run the rules engine on every message." },
	{ "rules", "paths", CONF_T_STRING, OFF(rules_paths), "", NULL, 0,
	  "Rule files or directories (every *.cf, in name order), comma-separated;\n"
	  "empty = the rules shipped with mxmoat (PREFIX/share/mxmoat/rules).\n"
	  "SpamAssassin's own rules work too, e.g. /usr/share/spamassassin." },
	{ "rules", "gtube", CONF_T_BOOL, OFF(rules_gtube), "yes", NULL, 0,
	  "The built-in GTUBE test rule (score 1000), unless the rules define one." },
	{ "rules", "bayes_scores", CONF_T_BOOL, OFF(rules_bayes_scores), "no", NULL, 0,
	  "Use SpamAssassin's score set for Bayes on (the third score of a score\n"
	  "line) instead of the first." },
	{ "rules", "match_limit", CONF_T_COUNT, OFF(rules_match_limit), "1000000", NULL, 0,
	  "PCRE2 match limit per regex match (backtracking steps): a match that\n"
	  "hits it counts as no match and is logged." },
	{ "rules", "depth_limit", CONF_T_COUNT, OFF(rules_depth_limit), "10000", NULL, 0,
	  "PCRE2 depth limit per regex match." },
	{ "rules", "time_budget", CONF_T_DURATION, OFF(rules_time_budget_ms), "2s", NULL, 0,
	  "Time the rules may take per message; past it the remaining regex rules\n"
	  "are not run (RULES_TIMEOUT is added and logged)." },
	{ "rules", "full_max", CONF_T_SIZE, OFF(rules_full_max), "1M", NULL, 0,
	  "Bytes of the raw message that `full` rules see." },
	{ "rules", "prefilter", CONF_T_BOOL, OFF(rules_prefilter), "yes", NULL, 0,
	  "Skip body, rawbody and full regexes whose required literal (a string\n"
	  "every match contains, found from the regex) is not in the text: one\n"
	  "pass over the text instead of one regex per rule. The hits are the same\n"
	  "(`no` is for checking that)." },

	/* [bayes] */
	{ "bayes", "enabled", CONF_T_BOOL, OFF(bayes_enabled), "no", NULL, 0,
	  "Classify every message with the Bayes database in Redis." },
	{ "bayes", "key", CONF_T_STRING, OFF(bayes_key), "bayes:", NULL, 0,
	  "Where the database lives: its keys start with [redis] prefix and this\n"
	  "(mxmoat:bayes:meta, mxmoat:bayes:t:N token buckets, mxmoat:bayes:m:N\n"
	  "learned-message digests). Nodes that share it classify alike." },
	{ "bayes", "min_spam", CONF_T_COUNT, OFF(bayes_min_spam), "200", NULL, 0,
	  "Spam messages that must have been learned before Bayes scores\n"
	  "(SpamAssassin's bayes_min_spam_num)." },
	{ "bayes", "min_ham", CONF_T_COUNT, OFF(bayes_min_ham), "200", NULL, 0,
	  "Ham messages that must have been learned before Bayes scores." },
	{ "bayes", "memory", CONF_T_SIZE, OFF(bayes_memory), "128M", NULL, 0,
	  "Memory budget of the database in Redis: it fixes the number of\n"
	  "buckets (7/8 for tokens, about 2.7 KB per 100 tokens, 1/8 for digests)\n"
	  "when the database is created; a token bucket that is full drops its\n"
	  "entries of fewest messages (tokens seen once go first), a digest\n"
	  "bucket those learned longest ago. A later change only moves how full\n"
	  "buckets get (at most 120 entries, which keeps Redis's compact\n"
	  "encoding); for more, `mxmoat learn --reset` and learn again." },
	{ "bayes", "expire", CONF_T_DURATION, OFF(bayes_expire_ms), "180d", NULL, 0,
	  "Every key of the database expires this long after an entry was last\n"
	  "added to it (a database nobody trains goes away)." },
	{ "bayes", "message_tokens", CONF_T_COUNT, OFF(bayes_message_tokens),
	  STR(BOUND_BAYES_TOKENS), NULL, 100000,
	  "Distinct tokens counted per message (headers first, then the body);\n"
	  "the rest is not looked at." },
	{ "bayes", "scores", CONF_T_STRING, OFF(bayes_scores),
	  "-1.9 -0.5 -0.1 -0.1 0.8 5 5 5 5 1", NULL, 0,
	  "Scores of BAYES_00 (spam probability below 1%), BAYES_05 (1-5%),\n"
	  "BAYES_20 (5-20%), BAYES_40 (20-40%), BAYES_50 (40-60%), BAYES_60\n"
	  "(60-80%), BAYES_80 (80-95%), BAYES_95 (95-99%), BAYES_99 (99% and more)\n"
	  "and BAYES_999 (99.9% and more, added to BAYES_99). SpamAssassin's bands;\n"
	  "the scores from BAYES_60 up are much higher than SpamAssassin's\n"
	  "because mxmoat has far fewer rules: each reaches add_header_score 5 on\n"
	  "its own (measured on the corpora with half of each learned: 0.33% of\n"
	  "the SpamAssassin corpus's ham is at 60% and more, 95.5% of its spam)." },
	{ "bayes", "autolearn", CONF_T_BOOL, OFF(bayes_autolearn), "no", NULL, 0,
	  "Learn from the live flow: a message whose score without Bayes is at or\n"
	  "above autolearn_spam_score is learned as spam, one at or below\n"
	  "autolearn_ham_score as ham (never one with a forced action: virus,\n"
	  "greylisting, ...). Learning the same message again counts once." },
	{ "bayes", "autolearn_spam_score", CONF_T_SCORE, OFF(bayes_autolearn_spam_score), "20",
	  NULL, 0, "Score without Bayes from which autolearn takes a message as spam." },
	{ "bayes", "autolearn_ham_score", CONF_T_SCORE, OFF(bayes_autolearn_ham_score), "-2",
	  NULL, 0, "Score without Bayes up to which autolearn takes a message as ham." },

	/* [clamav] */
	{ "clamav", "enabled", CONF_T_BOOL, OFF(clamav_enabled), "no", NULL, 0,
	  "Scan every message for viruses. Needs signatures in [clamav] database\n"
	  "(freshclam) or a running clamd (backend = clamd)." },
	{ "clamav", "backend", CONF_T_ENUM, OFF(clamav_backend), "libclamav", av_backend_words, 0,
	  "libclamav: the engine runs inside mxmoatd, loaded once per configuration\n"
	  "and shared by all scan workers, scanning from memory. clamd: each object\n"
	  "is sent to clamd (INSTREAM) at clamd_address; clamd's own clamd.conf\n"
	  "sets its limits (set AlertExceedsMax, AlertEncrypted* there)." },
	{ "clamav", "database", CONF_T_STRING, OFF(clamav_database), "/var/lib/clamav", NULL, 0,
	  "Signature directory (every .cvd/.cld/.hdb/.ndb/.ldb/... in it), readable\n"
	  "by the [daemon] user (reloads run unprivileged). A change is picked up\n"
	  "within [scan] watch_interval; a database that fails to load keeps the\n"
	  "engine in use (and is logged)." },
	{ "clamav", "clamd_address", CONF_T_ENDPOINT, OFF(clamav_clamd_address),
	  "unix:/run/clamav/clamd.ctl", NULL, 0,
	  "clamd's socket for backend = clamd: unix:/path or host:port." },
	{ "clamav", "clamd_timeout", CONF_T_DURATION, OFF(clamav_clamd_timeout_ms), "60s", NULL, 0,
	  "Time clamd may take for one object (connect, send, answer)." },
	{ "clamav", "scan_raw", CONF_T_BOOL, OFF(clamav_scan_raw), "yes", NULL, 0,
	  "Also scan the message as received, besides every part as mxmoat's MIME\n"
	  "parser decoded it." },
	{ "clamav", "raw_mail_parser", CONF_T_ENUM, OFF(clamav_raw_mail_parser), "ambiguous",
	  av_raw_words, 0,
	  "libclamav: when the raw message is also split by ClamAV's own mail\n"
	  "parser. ambiguous: when mxmoat's parser found the structure ambiguous or\n"
	  "malformed (two boundaries or Content-Types, bad encodings, a limit, more\n"
	  "than one reading, ...), the cases where mail parsers disagree; otherwise\n"
	  "the raw message is matched as it is, since each of its parts was scanned\n"
	  "decoded already (a third less CPU). always: every message. never: raw\n"
	  "matching only. (clamd parses as its clamd.conf says.)" },
	{ "clamav", "max_scan_size", CONF_T_SIZE, OFF(clamav_max_scan_size), "400M", NULL, 0,
	  "libclamav: bytes scanned per object, archive contents included\n"
	  "(MaxScanSize); past it: unscannable." },
	{ "clamav", "max_file_size", CONF_T_SIZE, OFF(clamav_max_file_size), "100M", NULL, 0,
	  "libclamav: size of one file, also one inside an archive (its size as the\n"
	  "archive declares it: ClamAV itself would scan a truncated copy); past\n"
	  "it: unscannable. Keep it above [smtp] max_message_size. With clamd, set\n"
	  "it to clamd's MaxFileSize: clamd skips larger archive members and answers\n"
	  "OK; mxmoat makes ZIP attachments declaring such members unscannable." },
	{ "clamav", "max_recursion", CONF_T_COUNT, OFF(clamav_max_recursion), "17", NULL, 255,
	  "libclamav: nesting of archives and containers; deeper: unscannable." },
	{ "clamav", "max_files", CONF_T_COUNT, OFF(clamav_max_files), "10000", NULL, 0,
	  "libclamav: files in one object (archive members); more: unscannable." },
	{ "clamav", "max_scan_time", CONF_T_DURATION, OFF(clamav_max_scan_time_ms), "120s", NULL, 0,
	  "Time all scans of one message may take together; past it: unscannable\n"
	  "(a scanner that does not answer in time is an error instead)." },
	{ "clamav", "virus_action", CONF_T_ENUM, OFF(clamav_virus_action), "reject", av_virus_words,
	  0,
	  "A virus was found. reject: 554 5.7.1 with the virus name and the decision\n"
	  "id; tag: deliver with X-Virus-Status: Infected (NAME); discard: accept and\n"
	  "drop." },
	{ "clamav", "unscannable_action", CONF_T_ENUM, OFF(clamav_unscannable_action), "reject",
	  av_policy_words, 0,
	  "A scan hit a limit (ClamAV's or the MIME parser's) or an object could\n"
	  "not be parsed. reject: 554 5.7.0; tempfail: 451 4.7.0; tag: deliver with\n"
	  "X-Virus-Status: Unscannable (REASON)." },
	{ "clamav", "encrypted_action", CONF_T_ENUM, OFF(clamav_encrypted_action), "reject",
	  av_policy_words, 0,
	  "An encrypted archive or document (its content cannot be scanned): as\n"
	  "unscannable_action, reply 554 5.7.0 / 451 4.7.0, or tag as Encrypted." },
	{ "clamav", "on_error", CONF_T_ENUM, OFF(clamav_on_error), "tempfail", av_error_words, 0,
	  "The scanner failed (clamd down or too slow, out of memory):\n"
	  "tempfail = 451 4.7.1, the sender retries (fail closed); accept = deliver\n"
	  "unscanned (fail open)." },
	{ "clamav", "temp_directory", CONF_T_STRING, OFF(clamav_temp_directory), "", NULL, 0,
	  "Where libclamav unpacks archives; empty = [spool] directory." },
	{ "clamav", "add_headers", CONF_T_BOOL, OFF(clamav_add_headers), "yes", NULL, 0,
	  "Add X-Virus-Scanned and X-Virus-Status (Clean, Infected (NAME),\n"
	  "Unscannable (REASON), Encrypted (NAME)) to delivered messages." },

	/* [attachments] */
	{ "attachments", "enabled", CONF_T_BOOL, OFF(attach_enabled), "yes", NULL, 0,
	  "Apply the attachment policy to every message." },
	{ "attachments", "block_extensions", CONF_T_STRING, OFF(attach_block_extensions),
	  "ade, adp, apk, appx, appxbundle, bat, cab, chm, cmd, com, cpl, diagcab, diagcfg, "
	  "diagpkg, dll, dmg, ex_, exe, hta, img, ins, iso, isp, jar, jnlp, js, jse, lib, lnk, "
	  "mde, mjs, msc, msi, msix, msixbundle, msp, mst, nsh, pif, ps1, reg, scf, scr, sct, "
	  "shb, sys, vb, vbe, vbs, vhd, vhdx, vxd, wsc, wsf, wsh, xll",
	  NULL, 0,
	  "File name extensions not accepted (comma-separated, case-insensitive),\n"
	  "checked on every candidate name of every part (default: Gmail's list\n"
	  "and a few more). Names are compared as Windows would open them: path,\n"
	  "trailing dots and spaces, invisible and bidirectional-override\n"
	  "characters removed. A blocked extension behind another one\n"
	  "(invoice.pdf.exe) is reported as a double extension." },
	{ "attachments", "block_types", CONF_T_STRING, OFF(attach_block_types),
	  "CL_TYPE_MSEXE, CL_TYPE_ELF, CL_TYPE_MACHO, CL_TYPE_MACHO_UNIBIN", NULL, 0,
	  "Detected file types not accepted, whatever the name says (ClamAV type\n"
	  "names, as clamscan --debug prints them; empty = none). Parts are\n"
	  "recognised by their content; with libclamav, files inside archives too." },
	{ "attachments", "in_archives", CONF_T_BOOL, OFF(attach_in_archives), "yes", NULL, 0,
	  "With [clamav] backend = libclamav: apply block_extensions and block_types\n"
	  "to the files inside archives as well." },
	{ "attachments", "action", CONF_T_ENUM, OFF(attach_action), "reject", av_policy_words, 0,
	  "A blocked attachment. reject: 554 5.7.1 with the file name; tempfail:\n"
	  "451 4.7.1; tag: deliver with X-Virus-Status: Blocked (NAME)." },

	/* [verdict] */
	{ "verdict", "reject_score", CONF_T_SCORE, OFF(reject_score), "15", NULL, 0,
	  "Score at or above which a message is rejected (550 5.7.1 and the\n"
	  "decision id). 0 = never reject on score." },
	{ "verdict", "add_header_score", CONF_T_SCORE, OFF(add_header_score), "5", NULL, 0,
	  "Score at or above which a message is spam: delivered with X-Spam-Flag:\n"
	  "YES (SpamAssassin's required_score)." },
	{ "verdict", "rewrite_subject_score", CONF_T_SCORE, OFF(rewrite_subject_score), "0",
	  NULL, 0,
	  "Score at or above which subject_prefix is put before the Subject\n"
	  "(0 = never)." },
	{ "verdict", "subject_prefix", CONF_T_STRING, OFF(subject_prefix), "[SPAM]", NULL, 0,
	  "Added in front of the Subject (with a space) by rewrite_subject_score." },
	{ "verdict", "reject_text", CONF_T_STRING, OFF(reject_text),
	  "Message rejected as spam", NULL, 0,
	  "Text of the 550 5.7.1 reply for spam (the decision id is appended)." },
	{ "verdict", "add_headers", CONF_T_ENUM, OFF(add_headers), "always", add_headers_words,
	  0,
	  "Which messages get X-Spam-Score and X-Spam-Status: always, spam, never.\n"
	  "Incoming X-Spam-* and X-Virus-* fields are removed in any case." },

	/* [redis] */
	{ "redis", "address", CONF_T_ENDPOINT, OFF(redis_address), "127.0.0.1:6379", NULL, 0,
	  "Redis server: host:port or unix:/path (ignored when sentinels are set)." },
	{ "redis", "username", CONF_T_STRING, OFF(redis_username), "", NULL, 0,
	  "ACL user name for AUTH (Redis 6+); empty = AUTH with the password only." },
	{ "redis", "password", CONF_T_STRING, OFF(redis_password), "", NULL, 0,
	  "Password for AUTH; empty = no AUTH." },
	{ "redis", "database", CONF_T_COUNT, OFF(redis_database), "0", NULL, 100000,
	  "Database number (SELECT)." },
	{ "redis", "prefix", CONF_T_STRING, OFF(redis_prefix), "mxmoat:", NULL, 0,
	  "Prefix of every key mxmoat writes (greylisting adds \"gl:\")." },
	{ "redis", "connect_timeout", CONF_T_DURATION, OFF(redis_connect_timeout_ms), "250ms",
	  NULL, 0, "Time allowed to connect (and to ask a sentinel for the primary)." },
	{ "redis", "command_timeout", CONF_T_DURATION, OFF(redis_command_timeout_ms), "250ms",
	  NULL, 0,
	  "Time allowed for one command; past it Redis counts as down (fail open)." },
	{ "redis", "reconnect_min", CONF_T_DURATION, OFF(redis_reconnect_min_ms), "1s", NULL, 0,
	  "After a failure Redis is not tried for this long; each failed retry\n"
	  "doubles the wait up to reconnect_max. One worker probes, the others skip." },
	{ "redis", "reconnect_max", CONF_T_DURATION, OFF(redis_reconnect_max_ms), "30s", NULL, 0,
	  "Longest wait between reconnection attempts." },
	{ "redis", "sentinels", CONF_T_ENDPOINTS, OFF(redis_sentinels), "", NULL, 0,
	  "Redis Sentinels (comma-separated host:port) that name the primary of\n"
	  "sentinel_master; asked in turn at every (re)connection, and again when\n"
	  "the server we hold turns out to be a replica (after a failover)." },
	{ "redis", "sentinel_master", CONF_T_STRING, OFF(redis_sentinel_master), "mymaster",
	  NULL, 0, "Name of the monitored primary (SENTINEL get-master-addr-by-name)." },
	{ "redis", "sentinel_password", CONF_T_STRING, OFF(redis_sentinel_password), "", NULL, 0,
	  "Password for AUTH to the sentinels; empty = none." },

	/* [greylist] */
	{ "greylist", "enabled", CONF_T_BOOL, OFF(greylist_enabled), "no", NULL, 0,
	  "Greylist mail from clients that are not whitelisted, authenticated or\n"
	  "trusted." },
	{ "greylist", "stage", CONF_T_ENUM, OFF(greylist_stage), "rcpt", greylist_stage_words, 0,
	  "rcpt: classic, each recipient on its own (451 at RCPT; the downstream\n"
	  "never sees a greylisted recipient in DATA). data: after the rules, only\n"
	  "messages scoring in [data_min_score, data_max_score) are greylisted\n"
	  "(451 after DATA), keyed on the sender and all recipients, as rspamd does." },
	{ "greylist", "delay", CONF_T_DURATION, OFF(greylist_delay_ms), "5m", NULL, 0,
	  "A retry passes once this long after the first attempt." },
	{ "greylist", "retry_window", CONF_T_DURATION, OFF(greylist_retry_window_ms), "2d",
	  NULL, 0,
	  "A first attempt is remembered this long; a retry after it starts over." },
	{ "greylist", "expire", CONF_T_DURATION, OFF(greylist_expire_ms), "35d", NULL, 0,
	  "A triplet that passed (and an auto-whitelisted client) is remembered\n"
	  "this long after its last message." },
	{ "greylist", "auto_whitelist", CONF_T_COUNT, OFF(greylist_auto_whitelist), "5", NULL,
	  1000000,
	  "After this many messages that passed greylisting (one count per\n"
	  "transaction) the client is not greylisted any more (0 = off)." },
	{ "greylist", "auto_whitelist_key", CONF_T_ENUM, OFF(greylist_auto_whitelist_key),
	  "client", greylist_awl_words, 0,
	  "What the auto-whitelist remembers: client (the client network, or its\n"
	  "reverse-DNS domain, see rdns_key) or sender_domain (that client with\n"
	  "one sender domain: stricter, as sqlgrey's domain_awl)." },
	{ "greylist", "ipv4_mask", CONF_T_COUNT, OFF(greylist_ipv4_mask), "24", NULL, 32,
	  "IPv4 clients are keyed by their network of this prefix length." },
	{ "greylist", "ipv6_mask", CONF_T_COUNT, OFF(greylist_ipv6_mask), "64", NULL, 128,
	  "IPv6 clients are keyed by their network of this prefix length." },
	{ "greylist", "rdns_key", CONF_T_BOOL, OFF(greylist_rdns_key), "yes", NULL, 0,
	  "Key clients with forward-confirmed reverse DNS by the organisational\n"
	  "domain of that name (mail-ed1-f41.google.com -> google.com), so that\n"
	  "senders retrying from pools of addresses pass. Names that look dynamic\n"
	  "(the address in the name, dsl, dyn, pool, ...) keep the network key." },
	{ "greylist", "whitelist_clients", CONF_T_NETWORKS, OFF(greylist_whitelist_clients), "",
	  NULL, 0, "Client networks never greylisted (CIDR, comma-separated)." },
	{ "greylist", "whitelist_senders", CONF_T_STRING, OFF(greylist_whitelist_senders), "",
	  NULL, 0,
	  "Sender domains never greylisted (comma-separated; \"example.org\" also\n"
	  "matches its subdomains). Senders can be forged: prefer whitelist_clients." },
	{ "greylist", "whitelist_recipients", CONF_T_STRING, OFF(greylist_whitelist_recipients),
	  "", NULL, 0,
	  "Recipients never greylisted: addresses (postmaster@example.com), local\n"
	  "parts (postmaster@) or domains (@example.net), comma-separated." },
	{ "greylist", "whitelist_file", CONF_T_STRING, OFF(greylist_whitelist_file), "", NULL, 0,
	  "File of large senders that retry from changing addresses: one network\n"
	  "(CIDR) or reverse-DNS domain per line, # comments. Empty = the list\n"
	  "shipped with mxmoat (PREFIX/share/mxmoat/greylist-whitelist); none = no\n"
	  "file. Domains match forward-confirmed client names only." },
	{ "greylist", "public_suffix_list", CONF_T_STRING, OFF(greylist_public_suffix_list),
	  "/usr/share/publicsuffix/public_suffix_list.dat", NULL, 0,
	  "The Public Suffix List, for organisational domains (Debian package\n"
	  "publicsuffix). Missing: the last two labels (three under a two-letter\n"
	  "country code with a short second level, as co.uk)." },
	{ "greylist", "data_min_score", CONF_T_SCORE, OFF(greylist_data_min_score), "4", NULL, 0,
	  "stage = data: messages scoring at least this are greylisted ..." },
	{ "greylist", "data_max_score", CONF_T_SCORE, OFF(greylist_data_max_score), "15", NULL, 0,
	  "... and below this (mail at [verdict] reject_score is rejected anyway)." },
	{ "greylist", "text", CONF_T_STRING, OFF(greylist_text), "Greylisted", NULL, 0,
	  "Start of the 451 4.7.1 reply; mxmoat adds why and when to retry, and\n"
	  "the decision id." },
	{ "greylist", "redis_failure", CONF_T_ENUM, OFF(greylist_redis_failure), "skip",
	  greylist_failure_words, 0,
	  "Redis down or slow: skip greylisting (fail open, counted and logged) or\n"
	  "tempfail (451 4.7.1 for every message until Redis is back)." },
	{ "greylist", "cache_ttl", CONF_T_DURATION, OFF(greylist_cache_ttl_ms), "60s", NULL, 0,
	  "Each node remembers passes (a known triplet, an auto-whitelisted client)\n"
	  "this long and answers them without Redis; greylisted triplets always ask\n"
	  "Redis. Within it, `mxmoat greylist drop` does not reach that node yet\n"
	  "and passes neither refresh TTLs nor count for the auto-whitelist. 0 = off." },
	{ "greylist", "cache_size", CONF_T_COUNT, OFF(greylist_cache_size), "65536", NULL,
	  16777216, "Entries in that memory (about 32 bytes each)." },

	/* [http] */
	{ "http", "listen", CONF_T_ENDPOINTS, OFF(http_listen), "127.0.0.1:10080", NULL, 0,
	  "Addresses of the HTTP listener (comma-separated); empty = none (no\n"
	  "metrics are kept then). An address that is not loopback needs a token.\n"
	  "Changing it needs a restart." },
	{ "http", "token", CONF_T_STRING, OFF(http_token), "", NULL, 0,
	  "Bearer token: when set, every request but /healthz and the dashboard's\n"
	  "static files needs \"Authorization: Bearer TOKEN\" (the dashboard asks\n"
	  "for it, or takes it from its URL: /#token=TOKEN). Prometheus:\n"
	  "authorization: { credentials: TOKEN } in the scrape config." },
	{ "http", "max_connections", CONF_T_COUNT, OFF(http_max_connections),
	  STR(BOUND_HTTP_CONNECTIONS), NULL, 100000,
	  "Simultaneous HTTP connections; requests on more get 503." },
	{ "http", "timeout", CONF_T_DURATION, OFF(http_timeout_ms), "30s", NULL, 0,
	  "Idle time allowed on an HTTP connection (reading a request, keep-alive)." },
	{ "http", "max_rule_series", CONF_T_COUNT, OFF(http_max_rule_series),
	  STR(BOUND_METRIC_RULES), NULL, 100000,
	  "Distinct rule names counted in mxmoat_rule_hits_total (the label set is\n"
	  "bounded); hits of further rules count as rule=\"_other\". Set at start." },

	/* [history] */
	{ "history", "enabled", CONF_T_BOOL, OFF(history_enabled), "yes", NULL, 0,
	  "Keep a history record of every transaction." },
	{ "history", "redis", CONF_T_BOOL, OFF(history_redis), "yes", NULL, 0,
	  "Also keep it in Redis ([redis]): shared by every node, kept across\n"
	  "restarts. Written by a thread of its own in batches, never on the event\n"
	  "loop; while Redis is down records stay in memory only (counted)." },
	{ "history", "max_records", CONF_T_COUNT, OFF(history_max_records),
	  STR(BOUND_HISTORY_RECORDS), NULL, 100000000,
	  "Records kept in Redis, all nodes together (about 1 to 3 KB each);\n"
	  "older ones are removed as new ones come." },
	{ "history", "max_age", CONF_T_DURATION, OFF(history_max_age_ms), "30d", NULL, 0,
	  "Records older than this are removed (in Redis and in memory)." },
	{ "history", "memory_records", CONF_T_COUNT, OFF(history_memory_records),
	  STR(BOUND_HISTORY_MEMORY), NULL, 10000000,
	  "Records each node keeps in memory (searched when Redis is not used or\n"
	  "down; decision ids are looked up there first). 0 = none." },
	{ "history", "search_limit", CONF_T_COUNT, OFF(history_search_limit),
	  STR(BOUND_HISTORY_SEARCH), NULL, 100000000,
	  "Records one search examines at most (newest first); a search that\n"
	  "stops there says so (\"truncated\")." },

	/* [mime] */
	{ "mime", "max_header_size", CONF_T_SIZE, OFF(mime_max_header_size), "100K",
	  NULL, 0,
	  "Bytes of one header block (message or part) that are kept; fields\n"
	  "beyond are still read for the MIME structure but not kept." },
	{ "mime", "max_headers", CONF_T_COUNT, OFF(mime_max_headers),
	  STR(BOUND_MIME_HEADERS), NULL, 1000000,
	  "Header fields kept per header block." },
	{ "mime", "max_header_line", CONF_T_SIZE, OFF(mime_max_header_line), "64K",
	  NULL, 0,
	  "Bytes kept of one header field (folded lines included)." },
	{ "mime", "max_depth", CONF_T_COUNT, OFF(mime_max_depth), STR(BOUND_MIME_DEPTH), NULL,
	  10000,
	  "MIME nesting depth (multiparts and attached messages); deeper parts\n"
	  "are not split." },
	{ "mime", "max_parts", CONF_T_COUNT, OFF(mime_max_parts), STR(BOUND_MIME_PARTS), NULL,
	  10000000,
	  "Parts per message, all readings together; past it nothing more is\n"
	  "split." },
	{ "mime", "max_params", CONF_T_COUNT, OFF(mime_max_params), STR(BOUND_MIME_PARAMS),
	  NULL, 100000,
	  "Parameters of one Content-Type or Content-Disposition field (RFC 2231\n"
	  "sections counted one by one)." },
	{ "mime", "max_decoded_part", CONF_T_SIZE, OFF(mime_max_decoded_part), "25M", NULL, 0,
	  "Decoded body bytes kept per part (what scanners see of it)." },
	{ "mime", "max_decoded_total", CONF_T_SIZE, OFF(mime_max_decoded_total), "64M", NULL, 0,
	  "Decoded body bytes kept per message, all parts and readings." },
	{ "mime", "max_text_part", CONF_T_SIZE, OFF(mime_max_text_part), "2M", NULL, 0,
	  "UTF-8 text bytes kept per text part (after charset conversion and\n"
	  "HTML rendering)." },
	{ "mime", "max_urls", CONF_T_COUNT, OFF(mime_max_urls), STR(BOUND_MIME_URLS), NULL,
	  1000000,
	  "Distinct URLs kept per message." },
	{ "mime", "max_addresses", CONF_T_COUNT, OFF(mime_max_addresses),
	  STR(BOUND_MIME_ADDRESSES), NULL, 1000000,
	  "Addresses parsed per address header (From, To, Cc, ...)." },
	{ "mime", "max_readings", CONF_T_COUNT, OFF(mime_max_readings), STR(BOUND_MIME_READINGS),
	  NULL, 64,
	  "Readings kept of an ambiguous message (where mail clients could split\n"
	  "it differently, every reading is scanned)." },

	/* [spool] */
	{ "spool", "memory_limit", CONF_T_SIZE, OFF(spool_memory_limit), "256K", NULL, 0,
	  "Message bytes kept in memory; larger messages go to an unlinked\n"
	  "temporary file in [spool] directory." },
	{ "spool", "directory", CONF_T_STRING, OFF(spool_directory), "/var/tmp", NULL, 0,
	  "Directory for temporary spool files (they are unlinked at creation)." },

	/* [log] */
	{ "log", "target", CONF_T_ENUM, OFF(log_target), "syslog", log_target_words, 0,
	  "syslog or stderr (mxmoatd -f logs to stderr whatever this says)." },
	{ "log", "facility", CONF_T_STRING, OFF(log_facility), "mail", NULL, 0,
	  "Syslog facility." },
	{ "log", "level", CONF_T_ENUM, OFF(log_level), "info", log_level_words, 0,
	  "error, warning, info or debug." },

	/* [daemon] */
	{ "daemon", "user", CONF_T_STRING, OFF(daemon_user), "mxmoat", NULL, 0,
	  "Started as root, mxmoatd binds its listeners and reads its keys, then\n"
	  "runs as this user (create it: useradd --system mxmoat); it never runs\n"
	  "as root. Under systemd's DynamicUser it starts unprivileged already." },
	{ "daemon", "group", CONF_T_STRING, OFF(daemon_group), "", NULL, 0,
	  "Group to run as (empty: the user's primary group)." },
	{ "daemon", "pidfile", CONF_T_STRING, OFF(pidfile), "", NULL, 0,
	  "Write the daemon's PID here (empty = none). `mxmoat reload` reads it." },
	{ "daemon", "shutdown_timeout", CONF_T_DURATION, OFF(shutdown_timeout_ms), "30s",
	  NULL, 0,
	  "On SIGTERM: new connections stop at once, idle sessions get 421 4.3.2,\n"
	  "transactions in progress get this long to finish before 421 4.3.2." },
};
const size_t conf_keys_count = N_ELEMENTS(conf_keys);
