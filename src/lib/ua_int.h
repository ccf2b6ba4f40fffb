/* SPDX-License-Identifier: BSD-3-Clause */
/* lib: what the files behind include/sipcert/ua.h share: the agent object,
 * running its loop until an operation is done, errors, certificates
 * handed out, and the RFC 6072 §10.3 pipeline for one NOTIFY. */
#ifndef SIPCERT_LIB_UA_INT_H
#define SIPCERT_LIB_UA_INT_H

#include <signal.h>

#include <sipcert/ua.h>

#include "crypto/crypto.h"
#include "lib.h"
#include "ua/ua.h"

/* A MESSAGE (or other request) outside our subscriptions goes to the
 * handler of the running sipcert_message_listen(), if any. */
typedef unsigned lib_request_cb(void *arg, const struct sip_msg *req,
				const struct txn_source *src);

struct sipcert_ua {
	struct event_base *base;
	struct dns *dns;
	SSL_CTX *tls;	     /* client context: the trust anchors */
	X509_STORE *anchors; /* the context's store (borrowed) */
	struct http_client *http;
	struct ua_signers *signers;
	struct ua *ua;
	struct ua_cache *cache;
	char *aor;	/* "sip:user@domain" as stored, or NULL */
	char *password; /* for HTTP Digest; wiped at free */
	char *dir;	/* the state directory */
	char *own_dir;	/* dir/credentials: our own credential */
	long ttl_s;
	unsigned timeout_ms;
	/* sipcert_ua_stop(): a flag and a byte down a pipe to wake the loop */
	volatile sig_atomic_t stop_flag;
	int stop_pipe[2];
	struct event *stop_ev;
	lib_request_cb *on_request;
	void *on_request_arg;
};

/* Fill e (may be NULL) and return rc. */
int lib_fail(struct sipcert_error *e, int rc, const char *code, const char *fmt,
	     ...) PRINTF_LIKE(4, 5);
/* The engine's err / final response of a request as an error (0 for a
 * 2xx); what names the operation ("PUBLISH"). */
int lib_fail_resp(struct sipcert_error *e, int err, const struct sip_msg *resp,
		  const char *what);
/* The same from an err, a final status and its reason phrase. */
int lib_fail_status(struct sipcert_error *e, int err, unsigned status,
		    struct slice reason, const char *what);
/* A subscription's failure (its err, or its SUBSCRIBE's final status). */
int lib_fail_sub(struct sipcert_error *e, const struct ua_sub_event *ev);
/* A verdict of the §10.3 checks as an error. */
int lib_fail_verdict(struct sipcert_error *e, const struct ua_checked *c);

/* Run the loop until *done, sipcert_ua_stop() (-EINTR) or timeout_ms
 * (0: none) passed (-ETIMEDOUT). */
int lib_run(struct sipcert_ua *u, const bool *done, unsigned timeout_ms);

/* A certificate handed out (mem_alloc'd; sipcert_cert_free()). */
int lib_cert_new(X509 *c, const char *aor, struct sipcert_cert **out);
/* "sip:user@domain" in the stored form, from "sip:..." or "user@domain";
 * -EINVAL when it is not a SIP AOR with a user part. */
int lib_aor_norm(const char *in, char *out, size_t n);

/* One request, waited for: *resp_out (may be NULL) a copy of the final
 * response (sip_msg_free()). Returns the engine's err or 0. */
int lib_send_wait(struct sipcert_ua *u, const struct ua_request *r,
		  struct sip_msg **resp_out);

/* ---- the §10.3 pipeline (fetch.c) ----------------------------------- */

/* Verify one certificate NOTIFY for sub_uri: the checks before and after
 * the Identity-Info certificate is known; done gets the result. */
struct lib_check;
typedef void lib_check_cb(void *arg, struct lib_check *k,
			  const struct ua_checked *c);
int lib_check_start(struct sipcert_ua *u, const struct sip_msg *notify,
		    enum net_proto proto, const char *sub_uri, lib_check_cb *cb,
		    void *arg, struct lib_check **out);
void lib_check_free(struct lib_check *k);

/* Fetch aor's certificate (cache first unless no_cache), asynchronously.
 * cb gets 0 and a certificate (the callee's: keep it by taking *cert
 * and setting it NULL), or an error in e. */
struct lib_fetch;
typedef void lib_fetch_cb(void *arg, int rc, struct sipcert_cert **cert,
			  const struct sipcert_error *e);
int lib_fetch_start(struct sipcert_ua *u, const char *aor, bool no_cache,
		    lib_fetch_cb *cb, void *arg, struct lib_fetch **out);
void lib_fetch_cancel(struct lib_fetch *f);

/* Remember a verified certificate for aor in the cache; sets the cert's
 * changed_early and previous_sha256. */
void lib_cache_put(struct sipcert_ua *u, struct sipcert_cert *cert);

/* A credential NOTIFY's body (RFC 6072 §7.7): the certificate alone, or
 * with its PKCS#8 key, which is decrypted with pass, checked against the
 * certificate and kept in the state directory (*with_key). -ENOENT for an
 * empty body (nothing published), -EBADMSG, -EACCES (code
 * decrypt_failed: answer 437, §7.10), file errors; e says which. */
int lib_cred_open(struct sipcert_ua *u, const struct sip_msg *m,
		  const char *pass, X509 **cert, bool *with_key,
		  struct sipcert_error *e);

/* Our own credential, unlocked with pass (may be NULL / "" when the
 * local copy is unencrypted). */
int lib_own_load(struct sipcert_ua *u, const char *pass, X509 **cert,
		 EVP_PKEY **key, struct sipcert_error *e);

/* ---- the HTTPS certificate store (ua_http.c) --------------------------- */

/* Every current certificate of aor from its domain's store. */
int lib_http_fetch(struct sipcert_ua *u, const char *aor,
		   struct sipcert_cert **out, struct sipcert_error *e);
/* Enrol cert for our AOR with PUT and HTTP Digest. */
int lib_http_publish(struct sipcert_ua *u, X509 *cert, const char *password,
		     bool *replaced, struct sipcert_error *e);

#endif
