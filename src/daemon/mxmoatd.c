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
 * configuration (an invalid one is logged and the old one kept; a SIGHUP
 * during a reload runs after it). Every
 * [scan] watch_interval a scan worker asks the plugins whether their data
 * on disk changed (the ClamAV database directory); if so the engine is
 * rebuilt with the running configuration and swapped in the same way.
 *
 * With [milter] listen set, the milter front end (src/milter) runs beside
 * the proxy: it uses the server's scan pool, and each reload hands it the
 * new engine for its new connections. libmilter's smfi_main() blocks
 * SIGHUP/SIGTERM/SIGINT in its own threads and sigwait()s them there;
 * this (main) thread keeps them unblocked, so the kernel delivers them
 * here, to the libevent signal events below, and SIGHUP reloads without
 * stopping the milter (tests/integration/test_milter.py checks it). If
 * libmilter stops anyway, the daemon shuts down with status 1 so that its
 * supervisor restarts it. SIGTERM stops the milter listener (smfi_stop),
 * lets its transactions in progress finish (up to [daemon]
 * shutdown_timeout), then joins its thread.
 */
#include "core/common.h"
#include "core/id.h"
#include "core/log.h"
#include "conf/conf.h"
#include "scan/pool.h"
#include "scan/scan.h"
#include "server/server.h"
#include "core/xalloc.h"
#include "milter/milter.h"
#include "stats/history.h"
#include "stats/http.h"
#include "stats/stats.h"

#include <event2/event.h>
#include <grp.h>
#include <pwd.h>
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
	bool reload_pending; /* a SIGHUP came during a reload */
	struct event *ev_watch;
	uint64_t watch_ms;
	struct milter *milter;
	struct event *ev_milter; /* watches for a libmilter stop we did not ask */
	int status;
	struct history *history; /* [history] */
	struct http *http;       /* [http] listen */
};

/* a reload builds the new engine (rules, signatures) on a scan worker,
 * never on the event loop; the loop only swaps the pointer */
struct reload_job {
	struct scan_job job;
	struct daemon *d;
	struct conf *conf;
	struct scan_engine *engine;
	char *error;
	/* a watch job: rebuild only if a plugin of `current` is stale */
	struct scan_engine *current;
	const char *stale_plugin;
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
	if (d->milter != NULL)
		milter_shutdown(d->milter);
	server_shutdown(d->server);
}

static void
on_milter_check(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (!milter_failed(d->milter) || server_is_draining(d->server))
		return;
	d->status = 1;
	sd_notify_msg("STOPPING=1");
	server_shutdown(d->server);
}

/* after the event loop: let the milter's transactions in progress finish
 * (the loop keeps running for the scan pool), up to shutdown_timeout */
static void
milter_drain(struct daemon *d, uint64_t timeout_ms)
{
	struct event *tick = evtimer_new(d->base, on_milter_check, d);
	uint64_t waited = 0;

	while (!milter_drained(d->milter) && waited < timeout_ms) {
		struct timeval tv = { 0, 20 * 1000 };

		evtimer_add(tick, &tv);
		event_base_loop(d->base, EVLOOP_ONCE);
		waited += 20;
	}
	if (!milter_drained(d->milter))
		log_warning("event=shutdown_deadline milter_transactions_left=yes");
	event_free(tick);
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

	if (rj->current != NULL) {
		rj->stale_plugin = scan_engine_stale_plugin(rj->current);
		if (rj->stale_plugin == NULL)
			return;
	}
	if (scan_engine_new(rj->conf, &rj->engine, &rj->error) < 0)
		rj->engine = NULL;
}

static void
watch_arm(struct daemon *d, uint64_t ms)
{
	struct timeval tv;

	d->watch_ms = ms;
	evtimer_del(d->ev_watch);
	if (ms == 0)
		return;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(d->ev_watch, &tv);
}

static void reload_start(struct daemon *d);

static void
reload_done(struct scan_job *j)
{
	struct reload_job *rj = (struct reload_job *)j;
	struct daemon *d = rj->d;
	bool watch = rj->current != NULL;

	d->reloading = false;
	if (d->server == NULL) {
		/* shutting down: server_free() is draining the scan pool (the
		 * timers are gone too) */
		scan_engine_unref(&rj->engine);
		scan_engine_unref(&rj->current);
		conf_unref(&rj->conf);
		free(rj->error);
		free(rj);
		return;
	}
	if (watch && rj->stale_plugin == NULL) {
		/* nothing changed on disk */
	} else if (rj->engine == NULL) {
		struct buf b = BUF_INIT;

		if (watch)
			log_append_kv_str(&b, "plugin", rj->stale_plugin);
		log_append_kv_str(&b, "error", rj->error);
		log_error("event=reload status=failed trigger=%s%s action=\"keeping the old %s\"",
			  watch ? "data_changed" : "signal", buf_cstr(&b),
			  watch ? "engine" : "configuration");
		buf_deinit(&b);
	} else {
		log_set_level(rj->conf->log_level);
		if (d->history != NULL)
			history_reconfigure(d->history, rj->conf);
		if (d->http != NULL)
			http_reload(d->http, rj->conf);
		server_reload(d->server, rj->engine);
		if (d->milter != NULL)
			milter_reload(d->milter, server_engine(d->server));
		if (watch)
			log_info("event=reload status=ok trigger=data_changed plugin=%s",
				 rj->stale_plugin);
		else
			log_info("event=reload status=ok trigger=signal path=%s", d->conf_path);
		log_plugins(rj->engine);
	}
	scan_engine_unref(&rj->current);
	conf_unref(&rj->conf);
	free(rj->error);
	free(rj);
	if (!watch)
		sd_notify_msg("READY=1");
	watch_arm(d, scan_engine_conf(server_engine(d->server))->scan_watch_interval_ms);
	if (d->reload_pending && !server_is_draining(d->server)) {
		d->reload_pending = false;
		reload_start(d);
	}
}

/* every [scan] watch_interval: let a worker ask the plugins of the
 * current engine whether their data changed */
static void
on_watch(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct scan_engine *cur = server_engine(d->server);
	struct reload_job *rj;

	if (server_is_draining(d->server))
		return;
	if (d->reloading) {
		/* reload_done() arms the timer again */
		return;
	}
	rj = xcalloc(1, sizeof(*rj));
	rj->job.run = reload_run;
	rj->job.done = reload_done;
	rj->d = d;
	rj->conf = conf_ref(scan_engine_conf(cur));
	rj->current = scan_engine_ref(cur);
	d->reloading = true;
	scan_pool_submit(server_pool(d->server), &rj->job);
}

/* SIGHUP / mxmoat reload: read the configuration and build a new engine
 * with it on a scan worker */
static void
reload_start(struct daemon *d)
{
	struct reload_job *rj;
	struct conf *c = NULL;
	char *error = NULL;

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
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	if (d->reloading) {
		/* a database rebuild or an earlier SIGHUP is running: this one
		 * may carry a new configuration, so it runs after that one
		 * (several signals meanwhile make one reload) */
		if (!d->reload_pending)
			log_info("event=reload status=queued action=\"after the reload in progress\"");
		d->reload_pending = true;
		return;
	}
	reload_start(d);
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

/* drop_privileges(): root only binds the listeners and reads the keys
 * (done by now); the daemon then runs as [daemon] user, and refuses to run
 * as root at all. setuid() in glibc applies to every thread (the scan
 * workers already exist). */
static void
drop_privileges(const struct conf *conf)
{
	struct passwd *pw;
	gid_t gid;

	if (geteuid() != 0) {
		if (access(conf->spool_directory, W_OK | X_OK) != 0)
			fatal("[spool] directory %s: not writable by uid %ld: %s",
			      conf->spool_directory, (long)geteuid(), strerror(errno));
		return;
	}
	if (conf->daemon_user[0] == '\0')
		fatal("refusing to run as root: set [daemon] user to an unprivileged user");
	pw = getpwnam(conf->daemon_user);
	if (pw == NULL)
		fatal("[daemon] user %s does not exist (create it, e.g. useradd --system %s)",
		      conf->daemon_user, conf->daemon_user);
	if (pw->pw_uid == 0)
		fatal("[daemon] user %s is root: refusing to run as root", conf->daemon_user);
	gid = pw->pw_gid;
	if (conf->daemon_group[0] != '\0') {
		struct group *gr = getgrnam(conf->daemon_group);

		if (gr == NULL)
			fatal("[daemon] group %s does not exist", conf->daemon_group);
		gid = gr->gr_gid;
	}
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0)
		fatal("cannot switch to user %s: %s", conf->daemon_user, strerror(errno));
	if (setuid(0) == 0 || geteuid() == 0)
		fatal("still root after dropping privileges");
	if (access(conf->spool_directory, W_OK | X_OK) != 0)
		fatal("[spool] directory %s: not writable by user %s: %s", conf->spool_directory,
		      conf->daemon_user, strerror(errno));
	log_info("event=privileges user=%s uid=%ld gid=%ld", conf->daemon_user, (long)pw->pw_uid,
		 (long)gid);
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
	struct daemon d = { .conf_path = SYSCONFDIR "/mxmoat/mxmoat.conf" };
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
	/* metrics, history and the HTTP listener (bound while still root) */
	stats_configure(conf);
	if (conf->history_enabled) {
		d.history = history_new(d.base, conf, &error);
		if (d.history == NULL)
			fatal("%s: [history]: %s", d.conf_path, error);
		stats_set_history(d.history);
	}
	if (conf->http_listen.count > 0) {
		d.http = http_new(d.base, conf, d.server, d.history, &serr);
		if (d.http == NULL)
			fatal("%s", serr);
	}
	if (conf->milter_listen[0] != '\0') {
		struct timeval tv = { 1, 0 };

		d.milter = milter_new(server_engine(d.server), server_pool(d.server), &serr);
		if (d.milter == NULL)
			fatal("%s", serr);
		d.ev_milter = event_new(d.base, -1, EV_PERSIST, on_milter_check, &d);
		evtimer_add(d.ev_milter, &tv);
	}
	write_pidfile(conf->pidfile);
	drop_privileges(conf);
	ev_term = evsignal_new(d.base, SIGTERM, on_term, &d);
	ev_int = evsignal_new(d.base, SIGINT, on_term, &d);
	ev_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);
	d.ev_watch = evtimer_new(d.base, on_watch, &d);
	watch_arm(&d, conf->scan_watch_interval_ms);
	log_info("event=start version=%s config=%s downstream_forward=%d", PACKAGE_VERSION,
		 d.conf_path, (int)conf->forward);
	sd_notify_msg("READY=1");

	event_base_dispatch(d.base);

	if (d.milter != NULL) {
		event_free(d.ev_milter);
		milter_shutdown(d.milter);
		milter_drain(&d, scan_engine_conf(server_engine(d.server))->shutdown_timeout_ms);
		milter_free(&d.milter);
	}
	/* the milter is gone: nothing adds records any more */
	stats_set_history(NULL);
	http_free(&d.http);
	history_free(&d.history);
	log_info("event=stop");
	if (conf->pidfile[0] != '\0')
		unlink(conf->pidfile);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_free(d.ev_watch);
	server_free(&d.server);
	conf_unref(&conf);
	event_base_free(d.base);
	return d.status;
}
