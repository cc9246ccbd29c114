#include "stats/summary.h"
#include "core/id.h"
#include "core/log.h"

void
summary_format(const struct summary *sm, struct buf *out)
{
	struct buf list = BUF_INIT;
	size_t i;

	buf_appendf(out, "sid=%016llx id=%s", (unsigned long long)sm->sid, id_format(sm->id).s);
	log_append_kv_str(out, "client", sm->client);
	log_append_kv_str(out, "helo", sm->helo);
	buf_append_str(&list, "<");
	buf_append_str(&list, sm->from != NULL ? sm->from : "");
	buf_append_str(&list, ">");
	log_append_kv(out, "from", list.data, list.len);
	buf_reset(&list);
	for (i = 0; i < sm->nrcpts && i < SUMMARY_MAX_RCPTS; i++) {
		if (i > 0)
			buf_append_char(&list, ',');
		buf_append_str(&list, sm->rcpts[i]);
	}
	if (sm->nrcpts > SUMMARY_MAX_RCPTS)
		buf_appendf(&list, ",+%zu", sm->nrcpts - SUMMARY_MAX_RCPTS);
	log_append_kv(out, "rcpts", buf_cstr(&list), list.len);
	buf_appendf(out, " nrcpt=%zu size=%llu action=%s", sm->nrcpts,
		    (unsigned long long)sm->size, sm->action);
	log_append_kv_str(out, "reason", sm->reason);
	buf_appendf(out, " score=%.2f", sm->score);
	log_append_kv_str(out, "symbols", sm->symbols);
	buf_appendf(out, " ms=%llu", (unsigned long long)sm->ms);
	log_append_kv_str(out, "downstream_id", sm->downstream_id);
	log_append_kv_str(out, "reply", sm->reply);
	buf_deinit(&list);
}

void
summary_log(const struct summary *sm)
{
	struct buf line = BUF_INIT;

	/* formatting costs more than the rest of the hook: not for nothing */
	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	summary_format(sm, &line);
	log_info("%s", buf_cstr(&line));
	buf_deinit(&line);
}
