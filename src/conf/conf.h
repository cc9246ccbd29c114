/*
 * conf.h - the configuration: a typed table of keys, an INI-style parser,
 * and refcounted immutable snapshots.
 *
 * File format: "[section]" lines, then "key = value" lines; '#' or ';'
 * starts a comment line; blank lines are ignored; values may not span
 * lines. Every key has a type, a default and a description in ONE table
 * (conf_table.c); `mxmoat config` prints the effective configuration and
 * `mxmoat config --doc` the documented defaults (etc/mxmoat.conf is that
 * output, checked by the test suite).
 *
 * Types and units:
 *   size      bytes: 123, 64K, 25M, 1G (binary multiples)
 *   duration  500ms, 30s, 5m, 2h, 1d; a bare number means seconds
 *   count     non-negative integer
 *   bool      yes/no, true/false, on/off, 1/0
 *   enum      one of a listed set of words
 *   string    the rest of the line, trimmed
 *   endpoint  host:port, [ipv6]:port, *:port or unix:/path (numeric hosts)
 *   endpoints / networks: comma- or space-separated lists of endpoints /
 *             CIDR networks
 *
 * Errors: an unknown section or key, a bad value, a duplicate key or a
 * syntax error fails the whole load with "FILE:LINE: message"; the caller
 * keeps its previous snapshot (reload) or exits (start-up).
 *
 * Ownership: conf_load() returns a snapshot with one reference. Every
 * holder (a session, a scan request) takes its own with conf_ref() and
 * drops it with conf_unref(); the last unref frees. Snapshots are never
 * modified after load, so readers need no locks.
 */
#ifndef MXMOAT_CONF_H
#define MXMOAT_CONF_H

#include "core/buf.h"
#include "core/netaddr.h"
#include "core/log.h"

#define CONF_MAX_LISTEN 8
#define CONF_MAX_NETWORKS 64

enum conf_forward { CONF_FORWARD_XCLIENT, CONF_FORWARD_XFORWARD, CONF_FORWARD_NONE };
enum conf_downstream_tls { CONF_DS_TLS_AUTO, CONF_DS_TLS_NO, CONF_DS_TLS_YES };
enum conf_add_headers { CONF_ADD_HEADERS_ALWAYS, CONF_ADD_HEADERS_SPAM, CONF_ADD_HEADERS_NEVER };
enum conf_greylist_stage { CONF_GREYLIST_RCPT, CONF_GREYLIST_DATA };
enum conf_greylist_awl { CONF_GREYLIST_AWL_CLIENT, CONF_GREYLIST_AWL_SENDER_DOMAIN };
enum conf_greylist_failure { CONF_GREYLIST_FAIL_SKIP, CONF_GREYLIST_FAIL_TEMPFAIL };

/* [milter] */
enum conf_milter_error { CONF_MILTER_ERROR_TEMPFAIL, CONF_MILTER_ERROR_ACCEPT };
enum conf_milter_auth { CONF_MILTER_AUTH_SCAN, CONF_MILTER_AUTH_ACCEPT };
#define CONF_MILTER_HOLD_REJECT 1u
#define CONF_MILTER_HOLD_DISCARD 2u
#define CONF_MILTER_HOLD_TAG 4u

struct conf_endpoints {
	size_t count;
	struct netaddr addr[CONF_MAX_LISTEN];
};

struct conf_networks {
	size_t count;
	struct cidr net[CONF_MAX_NETWORKS];
};

/* [clamav] and [attachments] (src/plugins/clamav) */
enum conf_av_backend { CONF_AV_LIBCLAMAV, CONF_AV_CLAMD };
enum conf_av_virus { CONF_AV_VIRUS_REJECT, CONF_AV_VIRUS_TAG, CONF_AV_VIRUS_DISCARD };
enum conf_av_policy { CONF_AV_POLICY_REJECT, CONF_AV_POLICY_TEMPFAIL, CONF_AV_POLICY_TAG };
enum conf_av_error { CONF_AV_ERROR_TEMPFAIL, CONF_AV_ERROR_ACCEPT };
enum conf_av_raw_parser { CONF_AV_RAW_AMBIGUOUS, CONF_AV_RAW_ALWAYS, CONF_AV_RAW_NEVER };

struct conf {
	int refcount;
	char *path;

	/* [server] */
	struct conf_endpoints listen;
	char *hostname;
	char *banner;
	unsigned int max_connections;
	unsigned int max_connections_per_ip;
	bool client_name_lookup;
	uint64_t dns_timeout_ms;
	struct conf_networks xforward_from;

	/* [smtp] */
	uint64_t max_message_size;
	unsigned int max_recipients;
	uint64_t max_line_length;
	uint64_t max_data_line_length;
	unsigned int max_errors;
	uint64_t command_timeout_ms;
	uint64_t data_timeout_ms;
	unsigned int min_data_rate;
	bool smtputf8;
	bool dsn;
	bool auth_without_tls;

	/* [tls] */
	char *tls_cert;
	char *tls_key;
	char *tls_min_protocol;
	char *tls_ciphers;
	uint64_t tls_handshake_timeout_ms;

	/* [downstream] */
	struct netaddr downstream;
	enum conf_forward forward;
	char *helo_name;
	enum conf_downstream_tls downstream_tls;
	bool downstream_tls_verify;
	char *downstream_tls_ca;
	char *downstream_tls_name;
	uint64_t downstream_connect_timeout_ms;
	uint64_t downstream_command_timeout_ms;
	uint64_t downstream_data_timeout_ms;

	/* [milter] (src/milter) */
	char *milter_listen;            /* "" = no milter listener */
	uint64_t milter_command_budget_ms;
	uint64_t milter_content_budget_ms;
	enum conf_milter_error milter_on_error;
	char *milter_quarantine;
	unsigned int milter_quarantine_mask; /* CONF_MILTER_HOLD_*, from milter_quarantine */
	enum conf_milter_auth milter_authenticated;
	bool milter_tcp_nodelay;
	uint64_t milter_io_timeout_ms;

	/* [scan] */
	unsigned int scan_workers;
	uint64_t scan_watch_interval_ms;
	struct conf_networks scan_trusted_networks;

	/* [rules] */
	bool rules_enabled;
	char *rules_paths;
	bool rules_gtube;
	bool rules_bayes_scores;
	unsigned int rules_match_limit;
	unsigned int rules_depth_limit;
	uint64_t rules_time_budget_ms;
	uint64_t rules_full_max;
	bool rules_prefilter;

	/* [bayes] (src/plugins/bayes) */
	bool bayes_enabled;
	char *bayes_key;
	unsigned int bayes_min_spam;
	unsigned int bayes_min_ham;
	uint64_t bayes_memory;
	uint64_t bayes_expire_ms;
	unsigned int bayes_message_tokens;
	char *bayes_scores;
	bool bayes_autolearn;
	double bayes_autolearn_spam_score;
	double bayes_autolearn_ham_score;

	/* [clamav] */
	bool clamav_enabled;
	enum conf_av_backend clamav_backend;
	char *clamav_database;
	struct netaddr clamav_clamd_address;
	uint64_t clamav_clamd_timeout_ms;
	bool clamav_scan_raw;
	enum conf_av_raw_parser clamav_raw_mail_parser;
	uint64_t clamav_max_scan_size;
	uint64_t clamav_max_file_size;
	unsigned int clamav_max_recursion;
	unsigned int clamav_max_files;
	uint64_t clamav_max_scan_time_ms;
	enum conf_av_virus clamav_virus_action;
	enum conf_av_policy clamav_unscannable_action;
	enum conf_av_policy clamav_encrypted_action;
	enum conf_av_error clamav_on_error;
	char *clamav_temp_directory;
	bool clamav_add_headers;

	/* [attachments] */
	bool attach_enabled;
	char *attach_block_extensions;
	char *attach_block_types;
	bool attach_in_archives;
	enum conf_av_policy attach_action;

	/* [verdict] */
	double reject_score;
	double add_header_score;
	double rewrite_subject_score;
	char *subject_prefix;
	char *reject_text;
	enum conf_add_headers add_headers;

	/* [redis] */
	struct netaddr redis_address;
	char *redis_username;
	char *redis_password;
	unsigned int redis_database;
	char *redis_prefix;
	uint64_t redis_connect_timeout_ms;
	uint64_t redis_command_timeout_ms;
	uint64_t redis_reconnect_min_ms;
	uint64_t redis_reconnect_max_ms;
	struct conf_endpoints redis_sentinels;
	char *redis_sentinel_master;
	char *redis_sentinel_password;

	/* [greylist] */
	bool greylist_enabled;
	enum conf_greylist_stage greylist_stage;
	uint64_t greylist_delay_ms;
	uint64_t greylist_retry_window_ms;
	uint64_t greylist_expire_ms;
	unsigned int greylist_auto_whitelist;
	enum conf_greylist_awl greylist_auto_whitelist_key;
	unsigned int greylist_ipv4_mask;
	unsigned int greylist_ipv6_mask;
	bool greylist_rdns_key;
	struct conf_networks greylist_whitelist_clients;
	char *greylist_whitelist_senders;
	char *greylist_whitelist_recipients;
	char *greylist_whitelist_file;
	char *greylist_public_suffix_list;
	double greylist_data_min_score;
	double greylist_data_max_score;
	char *greylist_text;
	enum conf_greylist_failure greylist_redis_failure;
	uint64_t greylist_cache_ttl_ms;
	unsigned int greylist_cache_size;

	/* [http] (src/stats/http.c) */
	struct conf_endpoints http_listen;  /* count 0 = no HTTP listener */
	char *http_token;
	unsigned int http_max_connections;
	uint64_t http_timeout_ms;
	unsigned int http_max_rule_series;

	/* [history] (src/stats/history.c) */
	bool history_enabled;
	bool history_redis;
	unsigned int history_max_records;
	uint64_t history_max_age_ms;
	unsigned int history_memory_records;
	unsigned int history_search_limit;

	/* [mime] */
	uint64_t mime_max_header_size;
	unsigned int mime_max_headers;
	uint64_t mime_max_header_line;
	unsigned int mime_max_depth;
	unsigned int mime_max_parts;
	unsigned int mime_max_params;
	uint64_t mime_max_decoded_part;
	uint64_t mime_max_decoded_total;
	uint64_t mime_max_text_part;
	unsigned int mime_max_urls;
	unsigned int mime_max_addresses;
	unsigned int mime_max_readings;

	/* [spool] */
	uint64_t spool_memory_limit;
	char *spool_directory;

	/* [log] */
	enum log_target log_target;
	char *log_facility;
	enum log_level log_level;

	/* [daemon] */
	char *daemon_user;
	char *daemon_group;
	char *pidfile;
	uint64_t shutdown_timeout_ms;
};

/* conf_load(): path NULL = defaults only. On error returns -1 and sets
 * *error_r to a heap string "FILE:LINE: message" the caller frees. */
int conf_load(const char *path, struct conf **conf_r, char **error_r);
/* conf_load_string(): parse text as if it were the file `name`. */
int conf_load_string(const char *name, const char *text, size_t len,
		     struct conf **conf_r, char **error_r);
struct conf *conf_ref(struct conf *c);
void conf_unref(struct conf **c);

/* conf_print(): the effective configuration, loadable again. */
void conf_print(const struct conf *c, struct buf *out);
/* conf_print_doc(): every key with its description and default, commented
 * out: the text of etc/mxmoat.conf. */
void conf_print_doc(struct buf *out);

#endif
