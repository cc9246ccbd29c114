/*
 * mxmoatd - the mxmoat daemon: SMTP proxy in front of an MTA.
 *
 *   mxmoatd [-c PATH] [-f] [-t]
 *     -c PATH  configuration file (default SYSCONFDIR/mxmoat/mxmoat.conf)
 *     -f       log to stderr whatever [log] target says
 *     -t       check the configuration and exit
 *
 * mxmoatd stays in the foreground (systemd Type=notify: READY=1 is sent
 * once the listeners are bound). Signals are handled in one place, the
 * event loop: SIGTERM/SIGINT drain and exit, SIGHUP reloads the
 * configuration (an invalid one is logged and the old one kept).
 */
#include "core/common.h"
#include "core/id.h"
#include "core/log.h"
#include "conf/conf.h"
#include "scan/pool.h"
#include "scan/scan.h"
#include "server/server.h"
#include "core/xalloc.h"

#include <event2/event.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

struct daemon {
	const char *conf_path;
	bool force_stderr;
	struct server *server;
	struct event_base *base;
	bool reloading;
};

/* a reload builds the new engine (rules, signatures) on a scan worker,
 * never on the event loop; the loop only swaps the pointer */
struct reload_job {
	struct scan_job job;
	struct daemon *d;
	struct conf *conf;
	struct scan_engine *engine;
	char *error;
};

static void
sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un su;
	socklen_t len;
	int fd;

	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(su.sun_path))
		return;
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	memcpy(su.sun_path, path, strlen(path));
	if (su.sun_path[0] == '@')
		su.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&su, len) < 0)
		log_warning("event=sd_notify error=\"%s\"", strerror(errno));
	close(fd);
}

/* libevent's own diagnostics (evdns "nameserver failed", ...) go to our
 * log, escaped like everything else */
static void
libevent_log(int severity, const char *msg)
{
	struct buf b = BUF_INIT;

	log_append_kv_str(&b, "message", msg);
	if (severity >= EVENT_LOG_ERR)
		log_error("event=libevent%s", buf_cstr(&b));
	else if (severity == EVENT_LOG_WARN)
		log_warning("event=libevent%s", buf_cstr(&b));
	else
		log_debug("event=libevent%s", buf_cstr(&b));
	buf_deinit(&b);
}

static void
open_log(const struct daemon *d, const struct conf *c)
{
	const char *error;

	if (log_open(d->force_stderr ? LOG_TARGET_STDERR : c->log_target, "mxmoatd",
		     c->log_facility, c->log_level, &error) < 0)
		fatal("[log] facility \"%s\": %s", c->log_facility, error);
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	log_info("event=signal signal=%s", sig == SIGTERM ? "TERM" : "INT");
	sd_notify_msg("STOPPING=1");
	server_shutdown(d->server);
}

/* one log line per enabled plugin, with what it loaded */
static void
log_plugins(const struct scan_engine *e)
{
	struct buf desc = BUF_INIT;
	const char *p;

	scan_engine_describe(e, &desc);
	for (p = buf_cstr(&desc); *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		struct buf b = BUF_INIT;

		log_append_kv(&b, "plugin", p, n);
		log_info("event=plugin%s", buf_cstr(&b));
		buf_deinit(&b);
		p += n + (nl != NULL ? 1 : 0);
	}
	buf_deinit(&desc);
}

static void
reload_run(struct scan_job *j)
{
	struct reload_job *rj = (struct reload_job *)j;

	if (scan_engine_new(rj->conf, &rj->engine, &rj->error) < 0)
		rj->engine = NULL;
}

static void
reload_done(struct scan_job *j)
{
	struct reload_job *rj = (struct reload_job *)j;
	struct daemon *d = rj->d;

	d->reloading = false;
	if (rj->engine == NULL) {
		struct buf b = BUF_INIT;

		log_append_kv_str(&b, "error", rj->error);
		log_error("event=reload status=failed%s action=\"keeping the old configuration\"",
			  buf_cstr(&b));
		buf_deinit(&b);
	} else {
		log_set_level(rj->conf->log_level);
		server_reload(d->server, rj->engine);
		log_info("event=reload status=ok path=%s", d->conf_path);
		log_plugins(rj->engine);
	}
	conf_unref(&rj->conf);
	free(rj->error);
	free(rj);
	sd_notify_msg("READY=1");
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct reload_job *rj;
	struct conf *c = NULL;
	char *error = NULL;

	if (d->reloading) {
		log_warning("event=reload status=busy action=\"a reload is in progress\"");
		return;
	}
	sd_notify_msg("RELOADING=1");
	if (conf_load(d->conf_path, &c, &error) < 0) {
		struct buf b = BUF_INIT;

		log_append_kv_str(&b, "error", error);
		log_error("event=reload status=failed%s action=\"keeping the old configuration\"",
			  buf_cstr(&b));
		buf_deinit(&b);
		free(error);
		sd_notify_msg("READY=1");
		return;
	}
	rj = xcalloc(1, sizeof(*rj));
	rj->job.run = reload_run;
	rj->job.done = reload_done;
	rj->d = d;
	rj->conf = c;
	d->reloading = true;
	scan_pool_submit(server_pool(d->server), &rj->job);
}

static void
write_pidfile(const char *path)
{
	FILE *f;

	if (path[0] == '\0')
		return;
	f = fopen(path, "w");
	if (f == NULL)
		fatal("pidfile %s: %s", path, strerror(errno));
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0)
		fatal("pidfile %s: %s", path, strerror(errno));
}

static void ATTR_NORETURN
usage(void)
{
	fprintf(stderr, "usage: mxmoatd [-c config] [-f] [-t]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct daemon d = { SYSCONFDIR "/mxmoat/mxmoat.conf", false, NULL, NULL, false };
	struct event *ev_term, *ev_int, *ev_hup;
	struct conf *conf = NULL;
	bool test_only = false;
	char *error = NULL;
	const char *serr;
	int ch;

	while ((ch = getopt(argc, argv, "c:fth")) != -1) {
		switch (ch) {
		case 'c': d.conf_path = optarg; break;
		case 'f': d.force_stderr = true; break;
		case 't': test_only = true; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (conf_load(d.conf_path, &conf, &error) < 0) {
		fprintf(stderr, "mxmoatd: %s\n", error);
		free(error);
		return 1;
	}
	if (test_only) {
		printf("mxmoatd: configuration %s is valid\n", d.conf_path);
		conf_unref(&conf);
		return 0;
	}
	open_log(&d, conf);
	event_set_log_callback(libevent_log);
	id_init();
	signal(SIGPIPE, SIG_IGN);

	{
		/* coalesce the epoll_ctl calls of one loop iteration: sessions
		 * enable and disable write events for every reply */
		struct event_config *cfg = event_config_new();

		event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
		d.base = event_base_new_with_config(cfg);
		event_config_free(cfg);
	}
	if (d.base == NULL)
		fatal("event_base_new failed");
	{
		struct scan_engine *engine = NULL;
		if (scan_engine_new(conf, &engine, &error) < 0)
			fatal("%s: %s", d.conf_path, error);
		log_plugins(engine);
		d.server = server_new(d.base, engine, &serr);
		scan_engine_unref(&engine);
		if (d.server == NULL)
			fatal("%s", serr);
	}
	write_pidfile(conf->pidfile);
	ev_term = evsignal_new(d.base, SIGTERM, on_term, &d);
	ev_int = evsignal_new(d.base, SIGINT, on_term, &d);
	ev_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);
	log_info("event=start version=%s config=%s downstream_forward=%d", PACKAGE_VERSION,
		 d.conf_path, (int)conf->forward);
	sd_notify_msg("READY=1");

	event_base_dispatch(d.base);

	log_info("event=stop");
	if (conf->pidfile[0] != '\0')
		unlink(conf->pidfile);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	server_free(&d.server);
	conf_unref(&conf);
	event_base_free(d.base);
	return 0;
}
