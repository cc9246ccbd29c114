#include "scan/scan.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "stats/stats.h"

#include <time.h>

struct engine_plugin {
	const struct scan_plugin *p;
	void *state;
};

struct scan_engine {
	int refcount;
	struct conf *conf;
	struct engine_plugin plugins[SCAN_MAX_PLUGINS];
	size_t nplugins;
	unsigned int stages;
	struct msg_limits limits;
};

static int
by_priority(const void *a, const void *b)
{
	const struct engine_plugin *x = a, *y = b;

	return (x->p->priority > y->p->priority) - (x->p->priority < y->p->priority);
}

int
scan_engine_new(struct conf *conf, struct scan_engine **engine_r, char **error_r)
{
	struct scan_engine *e = xcalloc(1, sizeof(*e));
	size_t i;

	e->refcount = 1;
	e->conf = conf_ref(conf);
	msg_limits_from_conf(conf, &e->limits);
	for (i = 0; scan_plugins[i] != NULL; i++) {
		const struct scan_plugin *p = scan_plugins[i];
		void *state = NULL;
		bool enabled = true;
		char *error = NULL;

		if (p->abi != SCAN_PLUGIN_ABI) {
			struct buf b = BUF_INIT;

			buf_appendf(&b, "plugin %s: built for ABI %u, not %u", p->name, p->abi,
				    SCAN_PLUGIN_ABI);
			*error_r = buf_steal(&b);
			scan_engine_unref(&e);
			return -1;
		}
		if (p->init(conf, &state, &enabled, &error) < 0) {
			struct buf b = BUF_INIT;

			buf_appendf(&b, "%s: %s", p->name, error != NULL ? error : "init failed");
			free(error);
			*error_r = buf_steal(&b);
			scan_engine_unref(&e);
			return -1;
		}
		if (!enabled) {
			if (state != NULL && p->deinit != NULL)
				p->deinit(state);
			continue;
		}
		if (e->nplugins == SCAN_MAX_PLUGINS)
			panic("more than %d plugins", SCAN_MAX_PLUGINS);
		e->plugins[e->nplugins].p = p;
		e->plugins[e->nplugins].state = state;
		e->nplugins++;
		e->stages |= p->stages;
	}
	qsort(e->plugins, e->nplugins, sizeof(e->plugins[0]), by_priority);
	*engine_r = e;
	return 0;
}

struct scan_engine *
scan_engine_ref(struct scan_engine *e)
{
	__atomic_add_fetch(&e->refcount, 1, __ATOMIC_RELAXED);
	return e;
}

void
scan_engine_unref(struct scan_engine **ep)
{
	struct scan_engine *e = *ep;
	size_t i;

	if (e == NULL)
		return;
	*ep = NULL;
	if (__atomic_sub_fetch(&e->refcount, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (i = 0; i < e->nplugins; i++) {
		if (e->plugins[i].p->deinit != NULL)
			e->plugins[i].p->deinit(e->plugins[i].state);
	}
	conf_unref(&e->conf);
	free(e);
}

struct conf *
scan_engine_conf(const struct scan_engine *e)
{
	return e->conf;
}

bool
scan_engine_has_stage(const struct scan_engine *e, enum scan_stage stage)
{
	return (e->stages & SCAN_STAGE_BIT(stage)) != 0;
}

bool
scan_engine_needs_msg(const struct scan_engine *e)
{
	return scan_engine_has_stage(e, SCAN_STAGE_DATA);
}

const struct msg_limits *
scan_engine_msg_limits(const struct scan_engine *e)
{
	return &e->limits;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* the request's context from the snapshot: its configuration, and
 * whether the client is in [scan] trusted_networks */
static void
request_prepare(const struct scan_engine *e, struct scan_request *req, struct scan_result *res)
{
	const struct conf_networks *tn = &e->conf->scan_trusted_networks;
	struct netaddr a;
	size_t i;

	req->conf = e->conf;
	req->so_far = res;
	req->trusted = false;
	if (tn->count == 0 || req->client_ip == NULL || netaddr_parse_ip(req->client_ip, &a) < 0)
		return;
	for (i = 0; i < tn->count && !req->trusted; i++)
		req->trusted = cidr_match(&tn->net[i], &a);
}

void
scan_engine_run(const struct scan_engine *e, struct scan_request *req, struct scan_result *res)
{
	uint64_t t0 = now_us();
	size_t i;

	request_prepare(e, req, res);
	for (i = 0; i < e->nplugins; i++) {
		const struct engine_plugin *ep = &e->plugins[i];

		if (!(ep->p->stages & SCAN_STAGE_BIT(req->stage)))
			continue;
		if (ep->p->check != NULL && !ep->p->check(ep->state, req))
			continue;
		if (ep->p->flags & SCAN_PLUGIN_SCORES)
			res->scored = true;
		{
			uint64_t p0 = now_us();
			int r = ep->p->run(ep->state, req, res);

			stats_plugin_time(ep->p->name, now_us() - p0);
			if (r == 0)
				continue;
		}
		res->plugin_errors++;
		if (ep->p->fail_action != NULL &&
		    ep->p->fail_action(ep->state) == SCAN_FAIL_TEMPFAIL) {
			log_warning("id=%s event=plugin_error plugin=%s policy=tempfail",
				    id_format(req->id).s, ep->p->name);
			scan_result_force(res, ep->p->name, VERDICT_TEMPFAIL, 451, "4.7.1",
					  "plugin_error", "Error: message scan failed, try again later");
		} else {
			log_warning("id=%s event=plugin_error plugin=%s policy=skip",
				    id_format(req->id).s, ep->p->name);
		}
	}
	res->scan_us += now_us() - t0;
}

bool
scan_engine_run_fast(const struct scan_engine *e, struct scan_request *req,
		     struct scan_result *res)
{
	bool wants[SCAN_MAX_PLUGINS];
	size_t i;

	request_prepare(e, req, res);
	/* first find out whether every plugin that wants the request can
	 * answer here: one that cannot sends the whole stage to a worker,
	 * and then the others must not have logged and counted it already */
	for (i = 0; i < e->nplugins; i++) {
		const struct engine_plugin *ep = &e->plugins[i];

		wants[i] = (ep->p->stages & SCAN_STAGE_BIT(req->stage)) &&
			   (ep->p->check == NULL || ep->p->check(ep->state, req));
		if (wants[i] && ep->p->run_fast == NULL)
			return false;
	}
	for (i = 0; i < e->nplugins; i++) {
		const struct engine_plugin *ep = &e->plugins[i];

		if (wants[i] && ep->p->run_fast(ep->state, req, res) != 1)
			return false;
	}
	return true;
}

int
scan_engine_scan_data(const struct scan_engine *e, struct scan_request *req, struct msg **msg_r,
		      struct scan_result *res, const char **error_r)
{
	*msg_r = NULL;
	req->stage = SCAN_STAGE_DATA;
	if (scan_engine_needs_msg(e)) {
		if (msg_parse(&e->limits, req->spool, msg_r, error_r) < 0)
			return -1;
		req->msg = *msg_r;
	}
	scan_engine_run(e, req, res);
	return 0;
}

const char *
scan_engine_stale_plugin(const struct scan_engine *e)
{
	size_t i;

	for (i = 0; i < e->nplugins; i++) {
		if (e->plugins[i].p->stale != NULL && e->plugins[i].p->stale(e->plugins[i].state))
			return e->plugins[i].p->name;
	}
	return NULL;
}

void
scan_engine_describe(const struct scan_engine *e, struct buf *out)
{
	size_t i;

	for (i = 0; i < e->nplugins; i++) {
		buf_appendf(out, "%s:", e->plugins[i].p->name);
		if (e->plugins[i].p->describe != NULL) {
			buf_append_char(out, ' ');
			e->plugins[i].p->describe(e->plugins[i].state, out);
		}
		buf_append_char(out, '\n');
	}
}
