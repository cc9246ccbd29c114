#include "kv/kv.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <sys/un.h>
#include <time.h>

#define KV_LOG_EVERY_MS 10000
#define KV_MAX_ARGS 16
#define KV_THREAD_CONNS 4

struct kv {
	uint64_t id;             /* unique per handle: which one a thread's
				    connection belongs to */
	struct netaddr address;
	char *username, *password;
	unsigned int database;
	char *prefix;
	struct timeval connect_tv, command_tv;
	uint64_t reconnect_min_ms, reconnect_max_ms;
	struct conf_endpoints sentinels;
	char *sentinel_master, *sentinel_password;
	/* shared health; down_until_ms == 0 means up */
	int64_t down_until_ms;
	int probing;
	pthread_mutex_t lock;    /* transitions and logging only */
	uint64_t backoff_ms;
	int64_t down_since_ms;
	int64_t last_log_ms;
	uint64_t skipped_since_log;
	unsigned int sentinel_next;
	/* counters */
	uint64_t calls, failures, skipped;
};

/* a thread's connection for one handle */
struct kv_conn {
	uint64_t kv_id;
	redisContext *c;
	uint64_t used;           /* tick of the last use (least recently used
				    goes first when a thread has them all) */
};

/* the connections of one thread: one per handle it uses (greylisting,
 * Bayes and the history each have theirs), so that plugins that take
 * turns on a worker do not reconnect on every message */
struct kv_conns {
	struct kv_conn slot[KV_THREAD_CONNS];
	uint64_t tick;
};

static uint64_t next_id = 1;
static pthread_key_t conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;
static __thread struct kv_conns *tl_conns;
static __thread char tl_error[160];

static void
conn_destroy(void *arg)
{
	struct kv_conns *kcs = arg;
	size_t i;

	for (i = 0; i < KV_THREAD_CONNS; i++) {
		if (kcs->slot[i].c != NULL)
			redisFree(kcs->slot[i].c);
	}
	free(kcs);
}

static void
conn_key_init(void)
{
	if (pthread_key_create(&conn_key, conn_destroy) != 0)
		panic("pthread_key_create failed");
}

static void conn_close(struct kv_conn *kc);

/* the calling thread's connection slot for kv: its own, else a free one,
 * else the least recently used one (closed) */
static struct kv_conn *
thread_conn(const struct kv *kv)
{
	struct kv_conn *kc = NULL;
	size_t i;

	if (tl_conns == NULL) {
		pthread_once(&conn_once, conn_key_init);
		tl_conns = xcalloc(1, sizeof(*tl_conns));
		if (pthread_setspecific(conn_key, tl_conns) != 0)
			panic("pthread_setspecific failed");
	}
	for (i = 0; i < KV_THREAD_CONNS; i++) {
		struct kv_conn *s = &tl_conns->slot[i];

		if (s->kv_id == kv->id) {
			kc = s;
			break;
		}
		if (kc == NULL || (kc->kv_id != 0 && (s->kv_id == 0 || s->used < kc->used)))
			kc = s;
	}
	if (kc->kv_id != kv->id) {
		conn_close(kc);
		kc->kv_id = kv->id;
	}
	kc->used = ++tl_conns->tick;
	return kc;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval
tv_ms(uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	return tv;
}

int
kv_new(const struct conf *conf, struct kv **kv_r, char **error_r)
{
	struct kv *kv;

	if (conf->redis_sentinels.count > 0 && conf->redis_sentinel_master[0] == '\0') {
		*error_r = xstrdup("[redis] sentinels need sentinel_master");
		return -1;
	}
	if (conf->redis_connect_timeout_ms == 0 || conf->redis_command_timeout_ms == 0) {
		*error_r = xstrdup("[redis] timeouts must be above 0");
		return -1;
	}
	kv = xcalloc(1, sizeof(*kv));
	kv->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	kv->address = conf->redis_address;
	kv->username = xstrdup(conf->redis_username);
	kv->password = xstrdup(conf->redis_password);
	kv->database = conf->redis_database;
	kv->prefix = xstrdup(conf->redis_prefix);
	kv->connect_tv = tv_ms(conf->redis_connect_timeout_ms);
	kv->command_tv = tv_ms(conf->redis_command_timeout_ms);
	kv->reconnect_min_ms = MAX(conf->redis_reconnect_min_ms, 10);
	kv->reconnect_max_ms = MAX(conf->redis_reconnect_max_ms, kv->reconnect_min_ms);
	kv->sentinels = conf->redis_sentinels;
	kv->sentinel_master = xstrdup(conf->redis_sentinel_master);
	kv->sentinel_password = xstrdup(conf->redis_sentinel_password);
	pthread_mutex_init(&kv->lock, NULL);
	*kv_r = kv;
	return 0;
}

void
kv_free(struct kv **kvp)
{
	struct kv *kv = *kvp;

	if (kv == NULL)
		return;
	*kvp = NULL;
	/* the calling thread's connection can go now; other threads close
	 * theirs when they need the slot for another handle, or exit */
	if (tl_conns != NULL) {
		size_t i;

		for (i = 0; i < KV_THREAD_CONNS; i++) {
			if (tl_conns->slot[i].kv_id == kv->id) {
				conn_close(&tl_conns->slot[i]);
				tl_conns->slot[i].kv_id = 0;
			}
		}
	}
	pthread_mutex_destroy(&kv->lock);
	free(kv->username);
	free(kv->password);
	free(kv->prefix);
	free(kv->sentinel_master);
	free(kv->sentinel_password);
	free(kv);
}

const char *
kv_prefix(const struct kv *kv)
{
	return kv->prefix;
}

void
kv_reply_free(redisReply *r)
{
	if (r != NULL)
		freeReplyObject(r);
}

static void
set_error(const char *what, const char *detail)
{
	snprintf(tl_error, sizeof(tl_error), "%s%s%s", what, detail != NULL ? ": " : "",
		 detail != NULL ? detail : "");
}

/* a reply that means "this server cannot serve us now" */
static bool
reply_is_unavailable(const redisReply *r)
{
	static const char *const codes[] = { "READONLY", "LOADING", "MASTERDOWN", "NOAUTH",
					     "WRONGPASS", "NOPERM", "MISCONF", "OOM", "BUSY" };
	size_t i;

	if (r->type != REDIS_REPLY_ERROR)
		return false;
	for (i = 0; i < N_ELEMENTS(codes); i++) {
		size_t n = strlen(codes[i]);

		if (r->len >= n && strncmp(r->str, codes[i], n) == 0)
			return true;
	}
	return false;
}

/* one command on a context, with the error text on failure */
static redisReply *
ctx_command(redisContext *c, int argc, const char **argv, const size_t *argvlen)
{
	redisReply *r = redisCommandArgv(c, argc, argv, argvlen);

	if (r == NULL) {
		set_error("redis", c->errstr[0] != '\0' ? c->errstr : "no reply");
		return NULL;
	}
	return r;
}

static redisContext *
connect_addr(const struct kv *kv, const struct netaddr *a, const char *host, int port)
{
	redisContext *c;
	char ip[NETADDR_IP_MAX];

	if (a != NULL && a->ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)&a->ss;

		c = redisConnectUnixWithTimeout(un->sun_path, kv->connect_tv);
	} else {
		if (a != NULL) {
			netaddr_ip(a, ip);
			host = ip;
			port = netaddr_port(a);
		}
		c = redisConnectWithTimeout(host, port, kv->connect_tv);
	}
	if (c == NULL) {
		set_error("redis connect", "out of memory");
		return NULL;
	}
	if (c->err) {
		set_error("redis connect", c->errstr);
		redisFree(c);
		return NULL;
	}
	if (redisSetTimeout(c, kv->command_tv) != REDIS_OK) {
		set_error("redis connect", "cannot set the timeout");
		redisFree(c);
		return NULL;
	}
	return c;
}

/* AUTH and SELECT on a fresh connection to a data server */
static int
ctx_prepare(const struct kv *kv, redisContext *c)
{
	redisReply *r;
	char db[16];

	if (kv->password[0] != '\0') {
		if (kv->username[0] != '\0') {
			const char *argv[] = { "AUTH", kv->username, kv->password };

			r = ctx_command(c, 3, argv, NULL);
		} else {
			const char *argv[] = { "AUTH", kv->password };

			r = ctx_command(c, 2, argv, NULL);
		}
		if (r == NULL)
			return -1;
		if (r->type == REDIS_REPLY_ERROR) {
			set_error("redis AUTH", r->str);
			freeReplyObject(r);
			return -1;
		}
		freeReplyObject(r);
	}
	if (kv->database != 0) {
		const char *argv[] = { "SELECT", db };

		snprintf(db, sizeof(db), "%u", kv->database);
		r = ctx_command(c, 2, argv, NULL);
		if (r == NULL)
			return -1;
		if (r->type == REDIS_REPLY_ERROR) {
			set_error("redis SELECT", r->str);
			freeReplyObject(r);
			return -1;
		}
		freeReplyObject(r);
	}
	return 0;
}

/* ask one sentinel for the primary; connect to it and check its role */
static redisContext *
connect_via_sentinel(struct kv *kv, const struct netaddr *sentinel)
{
	redisContext *s, *c;
	redisReply *r;
	char host[256];
	int port;

	s = connect_addr(kv, sentinel, NULL, 0);
	if (s == NULL)
		return NULL;
	if (kv->sentinel_password[0] != '\0') {
		const char *argv[] = { "AUTH", kv->sentinel_password };

		r = ctx_command(s, 2, argv, NULL);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			if (r != NULL)
				set_error("sentinel AUTH", r->str);
			kv_reply_free(r);
			redisFree(s);
			return NULL;
		}
		freeReplyObject(r);
	}
	{
		const char *argv[] = { "SENTINEL", "get-master-addr-by-name", kv->sentinel_master };

		r = ctx_command(s, 3, argv, NULL);
	}
	redisFree(s);
	if (r == NULL)
		return NULL;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
		set_error("sentinel", r->type == REDIS_REPLY_ERROR ? r->str : "no such master");
		freeReplyObject(r);
		return NULL;
	}
	snprintf(host, sizeof(host), "%s", r->element[0]->str);
	port = atoi(r->element[1]->str);
	freeReplyObject(r);
	c = connect_addr(kv, NULL, host, port);
	if (c == NULL)
		return NULL;
	if (ctx_prepare(kv, c) < 0) {
		redisFree(c);
		return NULL;
	}
	{
		const char *argv[] = { "ROLE" };

		r = ctx_command(c, 1, argv, NULL);
	}
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "master") != 0) {
		if (r != NULL)
			set_error("sentinel", "the named primary is not a primary (failover running)");
		kv_reply_free(r);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(r);
	return c;
}

static redisContext *
kv_connect(struct kv *kv)
{
	redisContext *c;
	unsigned int i, n = (unsigned int)kv->sentinels.count;

	if (n == 0) {
		c = connect_addr(kv, &kv->address, NULL, 0);
		if (c != NULL && ctx_prepare(kv, c) < 0) {
			redisFree(c);
			c = NULL;
		}
		return c;
	}
	/* start with the sentinel that answered last time */
	for (i = 0; i < n; i++) {
		unsigned int k = (__atomic_load_n(&kv->sentinel_next, __ATOMIC_RELAXED) + i) % n;

		c = connect_via_sentinel(kv, &kv->sentinels.addr[k]);
		if (c != NULL) {
			__atomic_store_n(&kv->sentinel_next, k, __ATOMIC_RELAXED);
			return c;
		}
	}
	return NULL;
}

static void
describe_target(const struct kv *kv, char *out, size_t outlen)
{
	if (kv->sentinels.count > 0)
		snprintf(out, outlen, "sentinel:%s", kv->sentinel_master);
	else
		netaddr_format(&kv->address, out, outlen);
}

static void
mark_down(struct kv *kv, bool probe)
{
	int64_t now = now_ms();
	char target[128];

	describe_target(kv, target, sizeof(target));
	__atomic_add_fetch(&kv->failures, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&kv->lock);
	if (__atomic_load_n(&kv->down_until_ms, __ATOMIC_ACQUIRE) == 0) {
		kv->backoff_ms = kv->reconnect_min_ms;
		kv->down_since_ms = now;
		kv->last_log_ms = now;
		kv->skipped_since_log = 0;
		log_warning("event=redis_down redis=%s error=\"%s\" retry_ms=%llu", target, tl_error,
			    (unsigned long long)kv->backoff_ms);
	} else if (!probe) {
		/* another worker marked it down meanwhile: its wait stands */
		pthread_mutex_unlock(&kv->lock);
		return;
	} else {
		kv->backoff_ms = MIN(kv->backoff_ms * 2, kv->reconnect_max_ms);
		if (now - kv->last_log_ms >= KV_LOG_EVERY_MS) {
			log_warning("event=redis_still_down redis=%s error=\"%s\" down_s=%lld "
				    "skipped=%llu retry_ms=%llu",
				    target, tl_error, (long long)((now - kv->down_since_ms) / 1000),
				    (unsigned long long)kv->skipped_since_log,
				    (unsigned long long)kv->backoff_ms);
			kv->last_log_ms = now;
			kv->skipped_since_log = 0;
		}
	}
	__atomic_store_n(&kv->down_until_ms, now + (int64_t)kv->backoff_ms, __ATOMIC_RELEASE);
	__atomic_store_n(&kv->probing, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&kv->lock);
}

static void
mark_up(struct kv *kv)
{
	int64_t now = now_ms();
	char target[128];

	describe_target(kv, target, sizeof(target));
	pthread_mutex_lock(&kv->lock);
	if (__atomic_load_n(&kv->down_until_ms, __ATOMIC_ACQUIRE) != 0) {
		log_warning("event=redis_up redis=%s down_s=%lld skipped=%llu", target,
			    (long long)((now - kv->down_since_ms) / 1000),
			    (unsigned long long)kv->skipped_since_log);
		__atomic_store_n(&kv->down_until_ms, 0, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&kv->probing, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&kv->lock);
}

static void
count_skip(struct kv *kv)
{
	__atomic_add_fetch(&kv->skipped, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&kv->lock);
	kv->skipped_since_log++;
	pthread_mutex_unlock(&kv->lock);
	set_error("redis unavailable", "waiting before reconnecting");
}

static void
conn_close(struct kv_conn *kc)
{
	if (kc->c != NULL) {
		redisFree(kc->c);
		kc->c = NULL;
	}
}

redisReply *
kv_call(struct kv *kv, int argc, const char **argv, const size_t *argvlen, const char **error_r)
{
	struct kv_conn *kc = thread_conn(kv);
	int64_t down = __atomic_load_n(&kv->down_until_ms, __ATOMIC_ACQUIRE);
	bool probe = false, fresh = false;
	redisReply *r = NULL;
	int attempt;

	*error_r = tl_error;
	__atomic_add_fetch(&kv->calls, 1, __ATOMIC_RELAXED);
	if (down != 0) {
		int zero = 0;

		/* down: fail fast until the wait is over, then one thread
		 * probes while the others keep failing fast */
		if (now_ms() < down ||
		    !__atomic_compare_exchange_n(&kv->probing, &zero, 1, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED)) {
			count_skip(kv);
			return NULL;
		}
		probe = true;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		int err, saved_errno;

		if (kc->c == NULL) {
			kc->c = kv_connect(kv);
			if (kc->c == NULL)
				break;
			fresh = true;
		}
		errno = 0;
		r = ctx_command(kc->c, argc, argv, argvlen);
		saved_errno = errno;
		if (r != NULL && !reply_is_unavailable(r)) {
			if (probe || __atomic_load_n(&kv->down_until_ms, __ATOMIC_ACQUIRE) != 0)
				mark_up(kv);
			return r;
		}
		err = kc->c->err;
		if (r != NULL) {
			/* READONLY after a failover, LOADING after a restart, ... */
			set_error("redis", r->str);
			freeReplyObject(r);
			r = NULL;
			err = REDIS_ERR_EOF;
		}
		conn_close(kc);
		/* a connection the server closed while we did not use it
		 * (restart, idle timeout, failover): once more on a new one.
		 * A timeout is not retried: Redis is slow, skip it. */
		if (fresh || !(err == REDIS_ERR_EOF ||
			       (err == REDIS_ERR_IO &&
				(saved_errno == ECONNRESET || saved_errno == EPIPE))))
			break;
	}
	mark_down(kv, probe);
	return NULL;
}

redisReply *
kv_callv(struct kv *kv, const char **error_r, const char *arg0, ...)
{
	const char *argv[KV_MAX_ARGS];
	int argc = 0;
	const char *a;
	va_list ap;

	va_start(ap, arg0);
	for (a = arg0; a != NULL && argc < KV_MAX_ARGS; a = va_arg(ap, const char *))
		argv[argc++] = a;
	va_end(ap);
	return kv_call(kv, argc, argv, NULL, error_r);
}

void
kv_script_init(struct kv_script *s, const char *text)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (EVP_Digest(text, strlen(text), md, &n, EVP_sha1(), NULL) != 1 || n != 20)
		panic("SHA-1 failed");
	s->text = text;
	for (i = 0; i < 20; i++)
		snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
}

redisReply *
kv_eval(struct kv *kv, const struct kv_script *s, int argc, const char **argv,
	const size_t *argvlen, const char **error_r)
{
	const char **av = xreallocarray(NULL, (size_t)argc + 2, sizeof(*av));
	size_t *lens = NULL;
	redisReply *r;

	av[0] = "EVALSHA";
	av[1] = s->sha;
	memcpy(av + 2, argv, (size_t)argc * sizeof(*av));
	if (argvlen != NULL) {
		lens = xreallocarray(NULL, (size_t)argc + 2, sizeof(*lens));
		lens[0] = 7;
		lens[1] = 40;
		memcpy(lens + 2, argvlen, (size_t)argc * sizeof(*lens));
	}
	r = kv_call(kv, argc + 2, av, lens, error_r);
	if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
		kv_reply_free(r);
		av[0] = "EVAL";
		av[1] = s->text;
		if (lens != NULL) {
			lens[0] = 4;
			lens[1] = strlen(s->text);
		}
		r = kv_call(kv, argc + 2, av, lens, error_r);
	}
	free(av);
	free(lens);
	return r;
}

void
kv_get_stats(struct kv *kv, struct kv_stats *st_r)
{
	st_r->calls = __atomic_load_n(&kv->calls, __ATOMIC_RELAXED);
	st_r->failures = __atomic_load_n(&kv->failures, __ATOMIC_RELAXED);
	st_r->skipped = __atomic_load_n(&kv->skipped, __ATOMIC_RELAXED);
	st_r->up = __atomic_load_n(&kv->down_until_ms, __ATOMIC_ACQUIRE) == 0;
}

void
kv_describe(const struct kv *kv, struct buf *out)
{
	char target[128];
	size_t i;

	if (kv->sentinels.count == 0) {
		netaddr_format(&kv->address, target, sizeof(target));
		buf_appendf(out, "redis %s db %u", target, kv->database);
		return;
	}
	buf_appendf(out, "redis sentinel master %s db %u via", kv->sentinel_master, kv->database);
	for (i = 0; i < kv->sentinels.count; i++) {
		netaddr_format(&kv->sentinels.addr[i], target, sizeof(target));
		buf_appendf(out, "%s%s", i == 0 ? " " : ", ", target);
	}
}
