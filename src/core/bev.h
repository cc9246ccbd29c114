/*
 * bev.h - helpers for libevent socket bufferevents.
 *
 * bev_flush(): write the bufferevent's output to its socket now, instead
 * of on the next loop iteration. The write event is enabled only if the
 * socket could not take everything, so the common case (a short reply or
 * command on an idle socket) costs one writev and no epoll_ctl; the
 * owner's write callback disables it again once the output is empty.
 * Errors are left to the bufferevent: with data still queued, its write
 * event fires and it reports the error to the event callback.
 */
#ifndef MXMOAT_BEV_H
#define MXMOAT_BEV_H

struct bufferevent;

void bev_flush(struct bufferevent *bev);

#endif
