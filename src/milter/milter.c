/*
 * milter.c - the milter listener's life (see milter.h): libmilter set-up,
 * the smfi_main() thread, engine snapshots, shutdown, and the scan jobs
 * the callbacks (milter_cb.c) wait on.
 */
#include "milter/milter_private.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <libmilter/mfapi.h>

#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct milter *milter_instance;

uint64_t
milter_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- scan jobs -------------------------------------------------------- */

static void
job_free(struct milter_job *job)
{
	size_t i;

	free(job->client_ip);
	free(job->client_name);
	free(job->helo);
	free(job->mail_from);
	free(job->rcpt);
	for (i = 0; i < job->nrcpts; i++)
		free(job->rcpts[i]);
	free(job->rcpts);
	spool_free(&job->spool);
	msg_free(&job->msg);
	scan_result_deinit(&job->result);
	scan_engine_unref(&job->engine);
	pthread_cond_destroy(&job->cond);
	pthread_mutex_destroy(&job->lock);
	free(job);
}

void
milter_job_release(struct milter_job **jp)
{
	struct milter_job *job = *jp;
	int left;

	if (job == NULL)
		return;
	*jp = NULL;
	pthread_mutex_lock(&job->lock);
	left = --job->refs;
	pthread_mutex_unlock(&job->lock);
	if (left == 0)
		job_free(job);
}

/* on a scan worker */
static void
job_run(struct scan_job *j)
{
	struct milter_job *job = (struct milter_job *)j;
	struct scan_request req;

	memset(&req, 0, sizeof(req));
	req.id = job->id;
	req.sid = job->sid;
	req.stage = job->stage;
	req.client_ip = job->client_ip;
	req.client_name = job->client_name;
	req.helo = job->helo != NULL ? job->helo : "";
	req.mail_from = job->mail_from;
	req.rcpts = (const char *const *)job->rcpts;
	req.nrcpts = job->nrcpts;
	req.rcpt = job->rcpt;
	req.authenticated = job->authenticated;
	req.spool = job->spool;
	if (job->stage == SCAN_STAGE_DATA) {
		const char *error = NULL;

		if (scan_engine_scan_data(job->engine, &req, &job->msg, &job->result, &error) < 0) {
			log_error("id=%s event=spool_error error=\"%s\"", id_format(job->id).s, error);
			job->spool_error = true;
		}
	} else {
		scan_engine_run(job->engine, &req, &job->result);
	}
	/* the callback thread may go on now: it does not need the loop */
	pthread_mutex_lock(&job->lock);
	job->ready = true;
	pthread_cond_signal(&job->cond);
	pthread_mutex_unlock(&job->lock);
}

/* on the event loop: the pool is done with the job */
static void
job_done(struct scan_job *j)
{
	struct milter_job *job = (struct milter_job *)j;

	milter_job_release(&job);
}

struct milter_job *
milter_job_new(struct scan_engine *engine, enum scan_stage stage)
{
	struct milter_job *job = xcalloc(1, sizeof(*job));
	pthread_condattr_t attr;

	pthread_mutex_init(&job->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&job->cond, &attr);
	pthread_condattr_destroy(&attr);
	job->refs = 1;
	job->job.run = job_run;
	job->job.done = job_done;
	job->engine = scan_engine_ref(engine);
	job->stage = stage;
	scan_result_init(&job->result);
	return job;
}

bool
milter_job_wait(struct milter *m, struct milter_job *job, uint64_t budget_ms)
{
	struct timespec deadline;
	bool ready;

	pthread_mutex_lock(&job->lock);
	job->refs++; /* the pool's, dropped by job_done() */
	pthread_mutex_unlock(&job->lock);
	scan_pool_submit(m->pool, &job->job);

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)(budget_ms / 1000);
	deadline.tv_nsec += (long)(budget_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&job->lock);
	while (!job->ready) {
		if (pthread_cond_timedwait(&job->cond, &job->lock, &deadline) == ETIMEDOUT)
			break;
	}
	ready = job->ready;
	pthread_mutex_unlock(&job->lock);
	return ready;
}

/* --- engine snapshots ---------------------------------------------------- */

struct scan_engine *
milter_engine(struct milter *m)
{
	struct scan_engine *e;

	pthread_mutex_lock(&m->lock);
	e = scan_engine_ref(m->engine);
	pthread_mutex_unlock(&m->lock);
	return e;
}

void
milter_reload(struct milter *m, struct scan_engine *engine)
{
	struct scan_engine *old;
	const struct conf *c = scan_engine_conf(engine);

	if (strcmp(c->milter_listen, m->listen) != 0)
		log_warning("event=reload warning=\"[milter] listen changed: takes effect at "
			    "restart\"");
	pthread_mutex_lock(&m->lock);
	old = m->engine;
	m->engine = scan_engine_ref(engine);
	pthread_mutex_unlock(&m->lock);
	scan_engine_unref(&old);
}

/* --- the listener ----------------------------------------------------- */

/* split "inet:PORT@HOST" / "inet6:PORT@HOST" / "unix:PATH" (validated by
 * the configuration) into a socket address we can connect to ourselves
 * (0.0.0.0 and :: become loopback). Returns false if it cannot. */
static bool
listen_sockaddr(const char *spec, struct sockaddr_storage *ss, socklen_t *len_r)
{
	memset(ss, 0, sizeof(*ss));
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		struct sockaddr_un *su = (struct sockaddr_un *)ss;
		const char *path = strchr(spec, ':') + 1;

		su->sun_family = AF_UNIX;
		if (strlen(path) >= sizeof(su->sun_path))
			return false;
		memcpy(su->sun_path, path, strlen(path));
		*len_r = (socklen_t)sizeof(*su);
		return true;
	} else {
		bool v6 = strncmp(spec, "inet6:", 6) == 0;
		const char *p = strchr(spec, ':') + 1, *at = strchr(p, '@');
		unsigned long port = strtoul(p, NULL, 10);
		char host[256];
		struct addrinfo hints, *res = NULL;

		snprintf(host, sizeof(host), "%s", at != NULL ? at + 1 : "");
		if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
		    strcmp(host, "[::]") == 0)
			snprintf(host, sizeof(host), "%s", v6 ? "::1" : "127.0.0.1");
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = v6 ? AF_INET6 : AF_INET;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICHOST;
		if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
			return false;
		memcpy(ss, res->ai_addr, res->ai_addrlen);
		*len_r = res->ai_addrlen;
		freeaddrinfo(res);
		if (ss->ss_family == AF_INET)
			((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		else
			((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		return true;
	}
}

/* libmilter opens the listening socket and gives no handle on it. Linux
 * passes TCP_NODELAY from a listening socket to the connections accepted
 * on it, so we find ours (a listening TCP socket on our port) among the
 * process's descriptors and set it there. Without it the header edits
 * and the final reply at the end of a message leave as separate small
 * segments, and every one after the first waits for the MTA's delayed
 * ACK (about 40 ms a message on loopback). */
static void
set_nodelay(const char *spec)
{
	struct sockaddr_storage want;
	socklen_t wantlen;
	DIR *dir;
	struct dirent *de;
	int done = 0;

	if (strncmp(spec, "inet", 4) != 0 || !listen_sockaddr(spec, &want, &wantlen))
		return;
	dir = opendir("/proc/self/fd");
	if (dir == NULL) {
		log_warning("event=milter_nodelay error=\"/proc/self/fd: %s\"", strerror(errno));
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd, acc = 0, one = 1;
		socklen_t al = sizeof(acc);

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd == dirfd(dir) ||
		    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 || acc == 0 ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
		    ss.ss_family != want.ss_family)
			continue;
		if ((ss.ss_family == AF_INET && ((struct sockaddr_in *)&ss)->sin_port ==
							((struct sockaddr_in *)&want)->sin_port) ||
		    (ss.ss_family == AF_INET6 && ((struct sockaddr_in6 *)&ss)->sin6_port ==
							 ((struct sockaddr_in6 *)&want)->sin6_port)) {
			if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0)
				done++;
		}
	}
	closedir(dir);
	if (done == 0)
		log_warning("event=milter_nodelay error=\"listening socket not found\"");
}

/* libmilter's accept loop holds its listener lock while it waits in
 * select() for up to 5 s, and smfi_stop() needs that lock to close the
 * socket: a connection of our own makes the loop come round at once */
static void
wake_listener(const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (!listen_sockaddr(spec, &ss, &len))
		return;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
		log_debug("event=milter_wake error=\"%s\"", strerror(errno));
	close(fd);
}

/* smfi_stop() blocks (see wake_listener): never on the event loop */
static void *
stopper_thread(void *arg)
{
	smfi_stop();
	return NULL;
}

static void *
main_thread(void *arg)
{
	struct milter *m = arg;
	int r = smfi_main();

	__atomic_store_n(&m->main_status, r, __ATOMIC_SEQ_CST);
	__atomic_store_n(&m->main_returned, true, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&m->stop_requested, __ATOMIC_SEQ_CST))
		log_error("event=milter_stopped status=%s action=\"the milter stopped on its own: "
			  "shutting down so that the supervisor restarts mxmoatd\"",
			  r == MI_SUCCESS ? "ok" : "failure");
	return NULL;
}

struct milter *
milter_new(struct scan_engine *engine, struct scan_pool *pool, const char **error_r)
{
	const struct conf *c = scan_engine_conf(engine);
	struct milter *m;
	int err;

	if (milter_instance != NULL) {
		*error_r = "libmilter allows one milter per process";
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->engine = scan_engine_ref(engine);
	m->pool = pool;
	m->listen = xstrdup(c->milter_listen);
	if (smfi_setconn(m->listen) == MI_FAILURE) {
		*error_r = "[milter] listen: libmilter refuses the address";
		goto fail;
	}
	smfi_settimeout((int)MAX(1, c->milter_io_timeout_ms / 1000));
	smfi_setbacklog(511);
	if (smfi_register(milter_cb_desc) == MI_FAILURE) {
		*error_r = "smfi_register failed";
		goto fail;
	}
	/* bind now, so that a taken port stops the start-up (true: remove a
	 * stale unix socket left by a crash) */
	if (smfi_opensocket(true) == MI_FAILURE) {
		static char msg[300];

		snprintf(msg, sizeof(msg), "[milter] listen: cannot listen on %s", m->listen);
		*error_r = msg;
		goto fail;
	}
	if (c->milter_tcp_nodelay)
		set_nodelay(m->listen);
	milter_instance = m;
	err = pthread_create(&m->thread, NULL, main_thread, m);
	if (err != 0) {
		milter_instance = NULL;
		*error_r = "cannot start the milter thread";
		goto fail;
	}
	m->thread_started = true;
	log_info("event=listen milter=%s", m->listen);
	return m;
fail:
	scan_engine_unref(&m->engine);
	free(m->listen);
	pthread_mutex_destroy(&m->lock);
	free(m);
	return NULL;
}

void
milter_shutdown(struct milter *m)
{
	if (__atomic_exchange_n(&m->stop_requested, true, __ATOMIC_SEQ_CST))
		return;
	/* no smfi_stop() yet: with libmilter's worker pool it also ends the
	 * sessions in progress at their next command. New connections are
	 * refused and new transactions get 421 (milter_cb.c) until the
	 * transactions in progress are done, then milter_free() stops it. */
	log_info("event=milter_shutdown connections=%u transactions=%u",
		 __atomic_load_n(&m->connections, __ATOMIC_RELAXED),
		 __atomic_load_n(&m->transactions, __ATOMIC_RELAXED));
}

bool
milter_draining(const struct milter *m)
{
	return __atomic_load_n(&m->stop_requested, __ATOMIC_SEQ_CST);
}

bool
milter_drained(const struct milter *m)
{
	return __atomic_load_n(&m->transactions, __ATOMIC_SEQ_CST) == 0;
}

bool
milter_failed(const struct milter *m)
{
	return __atomic_load_n(&m->main_returned, __ATOMIC_SEQ_CST) &&
	       !__atomic_load_n(&m->stop_requested, __ATOMIC_SEQ_CST);
}

void
milter_free(struct milter **mp)
{
	struct milter *m = *mp;
	pthread_t stopper;
	bool stopper_started;
	unsigned int left;
	int i;

	if (m == NULL)
		return;
	*mp = NULL;
	milter_shutdown(m);
	stopper_started = pthread_create(&stopper, NULL, stopper_thread, NULL) == 0;
	/* smfi_stop() sets libmilter's stop flag, then waits for the accept
	 * loop; wake that loop until smfi_main() returns (at most 5 s in any
	 * case, when its select() times out) */
	for (i = 0; i < 700 && !__atomic_load_n(&m->main_returned, __ATOMIC_SEQ_CST); i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (i % 2 == 0)
			wake_listener(m->listen);
		nanosleep(&ts, NULL);
	}
	if (stopper_started)
		pthread_join(stopper, NULL);
	if (__atomic_load_n(&m->main_returned, __ATOMIC_SEQ_CST))
		pthread_join(m->thread, NULL);
	else
		pthread_detach(m->thread);
	left = __atomic_load_n(&m->connections, __ATOMIC_SEQ_CST);
	log_info("event=milter_stop connections_left=%u", left);
	if (left > 0 || !__atomic_load_n(&m->main_returned, __ATOMIC_SEQ_CST)) {
		/* libmilter threads may still call us while the process exits:
		 * leave milter_instance (and what it holds) in place */
		return;
	}
	milter_instance = NULL;
	scan_engine_unref(&m->engine);
	free(m->listen);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
