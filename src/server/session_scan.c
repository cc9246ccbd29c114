/*
 * session_scan.c - a transaction's trip through the scan pipeline: the
 * job that runs on a scan worker (parse the message, run the plugins of
 * the stage) and its return to the session on the event loop.
 *
 * The job is self-contained: it copies the envelope, holds its own
 * reference to the engine snapshot, and owns the spool while it runs.
 * When it is done the session is found again by its id; if the session or
 * its transaction is gone in the meantime, the job only frees itself.
 */
#include "server/session_private.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "scan/pool.h"
#include "scan/scan.h"

#include <event2/event.h>

struct session_scan_job {
	struct scan_job job;       /* first: the pool hands us this */
	struct server *srv;
	uint64_t sid, id;
	struct scan_engine *engine;
	enum scan_stage stage;
	char *client_ip, *client_name, *helo, *mail_from, *rcpt;
	char **rcpts;
	size_t nrcpts;
	bool authenticated;
	struct spool *spool;
	struct msg *msg;
	struct scan_result result;
};

/* the request a job stands for; its strings are the job's */
static void
job_request(struct session_scan_job *job, struct scan_request *req)
{
	memset(req, 0, sizeof(*req));
	req->id = job->id;
	req->sid = job->sid;
	req->stage = job->stage;
	req->client_ip = job->client_ip;
	req->client_name = job->client_name;
	req->helo = job->helo;
	req->mail_from = job->mail_from;
	req->rcpts = (const char *const *)job->rcpts;
	req->nrcpts = job->nrcpts;
	req->rcpt = job->rcpt;
	req->authenticated = job->authenticated;
	req->spool = job->spool;
}

static void
job_run(struct scan_job *j)
{
	struct session_scan_job *job = (struct session_scan_job *)j;
	struct scan_request req;

	job_request(job, &req);
	if (job->stage == SCAN_STAGE_DATA) {
		const char *error = NULL;

		if (scan_engine_scan_data(job->engine, &req, &job->msg, &job->result, &error) < 0) {
			log_error("id=%s event=spool_error error=\"%s\"", id_format(job->id).s, error);
			scan_result_force(&job->result, "pipeline", VERDICT_TEMPFAIL, 451, "4.3.0",
					  "spool_error", "Error: queue file read error");
		}
		return;
	}
	scan_engine_run(job->engine, &req, &job->result);
}

static void
job_free(struct session_scan_job *job)
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
	free(job);
}

static void
job_done(struct scan_job *j)
{
	struct session_scan_job *job = (struct session_scan_job *)j;
	struct session *s = server_session_find(job->srv, job->sid);

	if (s == NULL || s->state != SESSION_SCANNING || s->txn == NULL ||
	    s->txn->id != job->id) {
		/* the client went away while we scanned */
		job_free(job);
		return;
	}
	if (job->stage == SCAN_STAGE_RCPT) {
		session_rcpt_scanned(s, &job->result);
		job_free(job);
		return;
	}
	/* the spool and the results go back to the transaction; the subject
	 * for the history (stats_txn_end) */
	if (job->msg != NULL && s->txn->subject == NULL) {
		const struct msg_header *subj = msg_header_get(job->msg, "Subject", 0);

		if (subj != NULL)
			s->txn->subject = xstrndup(subj->decoded != NULL ? subj->decoded : subj->value,
						   BOUND_HISTORY_SUBJECT);
	}
	s->txn->spool = job->spool;
	job->spool = NULL;
	scan_result_merge(&s->txn->result, &job->result);
	job_free(job);
	session_data_scanned(s);
}

static void
fast_done(evutil_socket_t fd, short what, void *arg)
{
	struct session_scan_job *job = arg;

	job->job.done(&job->job);
}

void
session_scan_submit(struct session *s, enum scan_stage stage)
{
	struct session_scan_job *job = xcalloc(1, sizeof(*job));
	struct txn *t = s->txn;
	size_t i;

	job->job.run = job_run;
	job->job.done = job_done;
	job->srv = s->server;
	job->sid = s->sid;
	job->id = t->id;
	job->engine = scan_engine_ref(s->engine);
	job->stage = stage;
	job->client_ip = xstrdup(s->attrs.addr);
	job->client_name = xstrdup(s->attrs.name);
	job->helo = xstrdup(s->helo);
	job->mail_from = xstrdup(t->mail_from);
	job->rcpts = xcalloc(t->nrcpts + 1, sizeof(char *));
	for (i = 0; i < t->nrcpts; i++)
		job->rcpts[i] = xstrdup(t->rcpts[i]);
	job->nrcpts = t->nrcpts;
	if (stage == SCAN_STAGE_RCPT && t->rcpt_pending != NULL)
		job->rcpt = xstrdup(t->rcpt_pending);
	job->authenticated = s->authenticated;
	if (stage == SCAN_STAGE_DATA) {
		job->spool = t->spool;
		t->spool = NULL;
	}
	scan_result_init(&job->result);
	s->state = SESSION_SCANNING;
	session_disarm_timer(s);
	if (stage == SCAN_STAGE_RCPT) {
		struct scan_request req;

		/* answered on the loop (greylisting's cache and whitelists):
		 * no trip to a worker and back; the answer is taken up in the
		 * next loop iteration, as a worker's would be */
		job_request(job, &req);
		if (scan_engine_run_fast(job->engine, &req, &job->result)) {
			static const struct timeval now = { 0, 0 };

			if (event_base_once(server_base(s->server), -1, EV_TIMEOUT, fast_done, job,
					    &now) == 0)
				return;
		}
		scan_result_reset(&job->result);
	}
	scan_pool_submit(server_pool(s->server), &job->job);
}
