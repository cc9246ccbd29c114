#include "core/common.h"
#include "core/bev.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

void
bev_flush(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);

	/* a socket bufferevent keeps its output's start frozen so that only
	 * it writes; we write in its place, between its callbacks */
	evbuffer_unfreeze(out, 1);
	(void)evbuffer_write(out, bufferevent_getfd(bev));
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(bev, EV_WRITE);
}
