#include "conf/conf_table.h"
#include "core/bounds.h"

#define OFF(field) offsetof(struct conf, field)
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const forward_words[] = { "xclient", "xforward", "none", NULL };
static const char *const log_target_words[] = { "stderr", "syslog", NULL };
static const char *const log_level_words[] = { "error", "warning", "info", "debug", NULL };

const char *const conf_sections[][2] = {
	{ "server", "Inbound SMTP listener." },
	{ "smtp", "Limits and timeouts of inbound SMTP sessions." },
	{ "downstream", "The MTA that receives accepted mail (Postfix)." },
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
	{ "smtp", "dsn", CONF_T_BOOL, OFF(dsn), "yes", NULL, 0,
	  "Offer DSN and pass RET/ENVID/NOTIFY/ORCPT on (when the downstream does)." },

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
	{ "downstream", "connect_timeout", CONF_T_DURATION,
	  OFF(downstream_connect_timeout_ms), "30s", NULL, 0,
	  "Time to connect and receive the downstream's greeting." },
	{ "downstream", "command_timeout", CONF_T_DURATION,
	  OFF(downstream_command_timeout_ms), "300s", NULL, 0,
	  "Time for the downstream to answer a command." },
	{ "downstream", "data_timeout", CONF_T_DURATION,
	  OFF(downstream_data_timeout_ms), "600s", NULL, 0,
	  "Time for the downstream to take the message and answer the final dot." },

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
	{ "daemon", "pidfile", CONF_T_STRING, OFF(pidfile), "", NULL, 0,
	  "Write the daemon's PID here (empty = none). `mxmoat reload` reads it." },
	{ "daemon", "shutdown_timeout", CONF_T_DURATION, OFF(shutdown_timeout_ms), "30s",
	  NULL, 0,
	  "On SIGTERM: new connections stop at once, idle sessions get 421 4.3.2,\n"
	  "transactions in progress get this long to finish before 421 4.3.2." },
};
const size_t conf_keys_count = N_ELEMENTS(conf_keys);
