/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to control.c (the transport) and control_cmd.c (the admin
 * commands): the control object, its connections and store jobs. */
#ifndef SIPCERT_DAEMON_CONTROL_INT_H
#define SIPCERT_DAEMON_CONTROL_INT_H

#include <sys/un.h>

#include <jansson.h>

#include "daemon/control.h"

#define CONTROL_LOG "control"

enum {
	CONTROL_IDLE_TIMEOUT_MS = 30000,
	CONTROL_AOR_MAX_BYTES = 255, /* the user table's limit */
	CONTROL_BACKLOG = 16,
};

struct conn;

enum job_op {
	JOB_USER_ADD,
	JOB_USER_PASSWD,
	JOB_USER_DEL,
	JOB_CRED_LIST,
	JOB_CRED_REVOKE,
};

/* One admin store call (a write, or a read of what only the store has):
 * runs against the store on the worker thread, then reaches the user
 * table, the hooks and the client on the loop thread. */
struct job {
	struct control *ctl;
	struct conn *conn; /* NULL once the client went away */
	enum job_op op;
	uid_t uid; /* who asked, for the log */
	char *aor;
	char ha1_md5[SIP_DIGEST_HEX_MAX + 1];
	char ha1_sha256[SIP_DIGEST_HEX_MAX + 1];
	char sha256[65];	   /* cred.revoke of one certificate; "": all */
	int64_t now;		   /* when the worker ran, Unix seconds */
	struct store_cred **creds; /* cred.list: the worker's answer */
	size_t n_creds;
	size_t n_revoked; /* cred.revoke: current credentials removed */
	int result;	  /* of the store call, set by the worker */
	char why[256];	  /* store_last_error() of a failed call */
};

struct conn {
	struct control *ctl;
	struct bufferevent *bev;
	struct conn *prev, *next;
	struct job *job; /* write in flight: reading paused until it ends */
	uid_t uid;
	bool is_eof; /* the client sent all it will send */
	/* no more requests: close once the answer is out and no job runs */
	bool is_closing;
};

struct control {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *resume;	/* accept again after an accept() error */
	struct loop_pool *pool; /* one thread: the only user of store */
	struct store *store;
	struct userdb *users;
	struct registrar *registrar;
	char *domain;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t sock_dev; /* the socket file we made, to remove only it */
	ino_t sock_ino;
	struct timeval idle;
	control_stats_cb *on_stats;
	void *stats_arg;
	control_user_changed_cb *on_user_changed;
	void *user_changed_arg;
	control_creds_changed_cb *on_creds_changed;
	void *creds_changed_arg;
	struct conn *conns;
	size_t n_conns;
	bool is_stopping;
};

/* control.c: answers. ctl_conn_send() sends obj as one line (an
 * "internal" error instead when obj is NULL or the line too large) and
 * drops the reference; ctl_ok_new() is {"ok": true} to add members to,
 * NULL on ENOMEM. */
void ctl_conn_send(struct conn *cn, json_t *obj);
json_t *ctl_ok_new(void);
/* {"ok": false, "error": code, "message": the formatted text} */
void ctl_conn_fail(struct conn *cn, const char *code, const char *fmt, ...)
	PRINTF_LIKE(3, 4);

/* control.c: request members; ctl_req_aor() answers the client itself
 * when it fails. */
const char *ctl_req_str(const json_t *req, const char *name, size_t *len);
int ctl_req_aor(struct conn *cn, const json_t *req, struct buf *out);

/* control.c: answer the complete lines waiting on cn; may free cn. */
void ctl_conn_process(struct conn *cn);

/* control_cmd.c: one request line (without its LF) to its command. */
void ctl_conn_handle(struct conn *cn, const char *line, size_t len);

#endif
