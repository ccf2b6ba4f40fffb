/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcertd's credential service (RFC 6072 §6, §7) with its authentication
 * service (RFC 4474 §5), and the HTTPS server that publishes the domain
 * certificate at the Identity-Info URL (RFC 4474 §9), the certificate
 * store and /metrics: their start-up from the configuration, the control
 * socket's hooks, statistics. */
#include "sipcertd.h"

#include <stdio.h>
#include <string.h>

static const char *const proto_param[] = {"udp", "tcp", "tls"};

static bool is_any(const char *host)
{
	return !strcmp(host, "0.0.0.0") || !strcmp(host, "::");
}

/* Our Contact for NOTIFYs sent over proto (RFC 6665 §4.2.2 needs one):
 * [sip] advertised_host, else the listening address, with the port of
 * the first listener of that proto. */
static void contact_for(struct sipcertd *d, enum net_proto p, char *out,
			size_t n)
{
	const struct config_sip *s = &d->cfg.sip;
	const struct config_listen *l = s->n_listen ? &s->listen[0] : NULL;
	const char *host;
	bool brackets;

	for (size_t i = 0; i < s->n_listen; i++)
		if ((enum net_proto)s->listen[i].transport == p) {
			l = &s->listen[i];
			break;
		}
	if (s->advertised_host[0]) {
		host = s->advertised_host;
		brackets = false;
	} else if (l && !is_any(l->host)) {
		host = l->host;
		brackets = l->is_ipv6;
	} else {
		host = d->cfg.domain.name;
		brackets = false;
	}
	snprintf(out, n, "sip:%s%s%s:%u;transport=%s", brackets ? "[" : "",
		 host, brackets ? "]" : "", l ? l->port : 5060, proto_param[p]);
}

/* RFC 4474 §9: where verifiers fetch the signer's certificate. Default:
 * this server's own HTTPS listener, https://DOMAIN[:PORT]/DOMAIN.cer. */
static void info_url_for(struct sipcertd *d)
{
	const struct config_https *h = &d->cfg.https;
	char port[8] = "";

	if (d->cfg.identity.info_url[0]) {
		snprintf(d->info_url, sizeof(d->info_url), "%s",
			 d->cfg.identity.info_url);
		return;
	}
	if (h->n_listen && h->listen[0].port != 443)
		snprintf(port, sizeof(port), ":%u", h->listen[0].port);
	snprintf(d->info_url, sizeof(d->info_url), "https://%s%s/%s.cer",
		 d->cfg.domain.name, port, d->cfg.domain.name);
}

/* GET /DOMAIN.cer: the domain certificate, DER (RFC 2585 §4.1). */
static void serve_domain_cert(void *arg, struct http_request *r)
{
	struct sipcertd *d = arg;
	enum http_method m = http_request_method(r);
	static const struct http_header allow[] = {{"Allow", "GET, HEAD"}};
	static const struct http_header cache[] = {
		{"Cache-Control", "public, max-age=3600"}};

	if (m != HTTP_GET && m != HTTP_HEAD) {
		(void)http_reply(r, 405, "text/plain",
				 slice_cstr("only GET and HEAD\n"), allow, 1);
		return;
	}
	(void)http_reply(r, 200, "application/pkix-cert",
			 buf_slice(&d->domain_der), cache, 1);
}

static void on_user_changed(void *arg, const char *aor)
{
	struct sipcertd *d = arg;

	/* RFC 6072 §7.7: a new secret (or no user) ends the credential
	 * subscriptions, so a device holding the old one stops getting
	 * credentials */
	cred_deactivate(d->cred, aor);
}

static void on_creds_changed(void *arg, const char *aor)
{
	struct sipcertd *d = arg;

	cred_changed(d->cred, aor, true);
}

static int load_domain_cert(struct sipcertd *d)
{
	struct buf pem;
	X509 *x = NULL;
	int err;

	buf_init(&pem, CRYPTO_KEY_FILE_MAX_BYTES);
	buf_init(&d->domain_der, CRYPTO_KEY_FILE_MAX_BYTES);
	err = crypto_file_read(d->cfg.domain.cert, CRYPTO_KEY_FILE_MAX_BYTES,
			       &pem);
	if (!err)
		err = crypto_cert_from_pem(&x, pem.p, pem.len);
	if (!err)
		err = crypto_cert_der(x, &d->domain_der);
	if (x)
		X509_free(x);
	buf_fini(&pem);
	if (err)
		log_msg(LOG_LEVEL_ERR, "main", "domain certificate %s: %s",
			d->cfg.domain.cert, crypto_last_error());
	return err;
}

static int start_cred(struct sipcertd *d)
{
	const struct config_subscriptions *s = &d->cfg.subscriptions;
	struct crypto_kek kek;
	EVP_PKEY *key = NULL;
	struct cred_opts o = {
		.base = d->base,
		.txn = d->txn,
		.net = d->net,
		.sign_pool = d->pool,
		.store_url = d->cfg.store.url,
		.domain = d->cfg.domain.name,
		.alg = d->cfg.identity.alg == CONFIG_IDENTITY_RSA_SHA1
			       ? IDENTITY_ALG_RSA_SHA1
			       : IDENTITY_ALG_RSA_SHA256,
		.info_url = d->info_url,
		.kek = &kek,
		.sub_limits = {s->min_expires_s, s->default_expires_s,
			       s->max_expires_s},
		.pub_min_expires_s = s->min_expires_s,
		.notify_min_interval_s = s->notify_min_interval_s,
		.max_per_aor = s->max_per_aor,
		.contact = {d->contact[0], d->contact[1], d->contact[2]},
	};
	int err;

	err = crypto_key_private_load(&key, CRYPTO_PEM, d->cfg.domain.key);
	if (err) {
		log_msg(LOG_LEVEL_ERR, "main", "domain key %s: %s",
			d->cfg.domain.key, crypto_last_error());
		return err;
	}
	err = crypto_kek_load(d->cfg.domain.kek, &kek);
	if (err) {
		log_msg(LOG_LEVEL_ERR, "main", "key-encryption key %s: %s",
			d->cfg.domain.kek,
			err == -EPERM ? "readable by others" : strerror(-err));
		EVP_PKEY_free(key);
		return err;
	}
	o.sign_key = key;
	err = cred_new(&d->cred, &o);
	crypto_kek_wipe(&kek);
	EVP_PKEY_free(key);
	if (!err)
		err = cred_resume(d->cred);
	if (err) {
		log_msg(LOG_LEVEL_ERR, "main", "credential service: %s",
			strerror(-err));
		return err;
	}
	control_on_user_changed(d->control, on_user_changed, d);
	control_on_creds_changed(d->control, on_creds_changed, d);
	return 0;
}

static int start_http(struct sipcertd *d)
{
	const struct config_https *h = &d->cfg.https;
	struct net_tls_server_opts to = {
		.cert_file = d->cfg.domain.cert,
		.key_file = d->cfg.domain.key,
	};
	struct http_opts ho = {.base = d->base};
	char path[CONFIG_NAME_MAX + 8];
	int err;

	if (!h->n_listen)
		return 0;
	err = net_tls_server_ctx(&d->tls_http, &to);
	if (err)
		return err;
	if (d->cfg.tls.min_version == CONFIG_TLS_1_3 &&
	    !SSL_CTX_set_min_proto_version(d->tls_http, TLS1_3_VERSION))
		return -EPROTO;
	ho.tls_ctx = d->tls_http;
	err = http_server_new(&d->http, &ho);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/%s.cer", d->cfg.domain.name);
	err = http_route(d->http, path, serve_domain_cert, d);
	if (!err && h->metrics)
		err = http_route(d->http, "/metrics", metrics_serve, d);
	if (!err)
		err = certstore_new(
			&d->certstore,
			&(struct certstore_opts){
				.base = d->base,
				.http = d->http,
				.store_url = d->cfg.store.url,
				.domain = d->cfg.domain.name,
				.auth = d->auth,
				.cred = d->cred,
				.cache_max_age_s = h->cert_cache_max_age_s,
			});
	for (size_t i = 0; !err && i < h->n_listen; i++) {
		uint16_t port = 0;

		err = http_listen(d->http, h->listen[i].host, h->listen[i].port,
				  &port);
		if (err)
			log_msg(LOG_LEVEL_ERR, "main",
				"cannot listen on https %s port %u: %s",
				h->listen[i].host, h->listen[i].port,
				strerror(-err));
		else
			log_msg(LOG_LEVEL_NOTICE, "main",
				"listening on https %s%s%s:%u",
				h->listen[i].is_ipv6 ? "[" : "",
				h->listen[i].host,
				h->listen[i].is_ipv6 ? "]" : "", port);
	}
	return err;
}

int services_start(struct sipcertd *d)
{
	int err;

	for (int p = NET_UDP; p <= NET_TLS; p++)
		contact_for(d, (enum net_proto)p, d->contact[p],
			    sizeof(d->contact[p]));
	info_url_for(d);
	err = load_domain_cert(d);
	if (!err)
		err = start_cred(d);
	if (!err)
		err = start_http(d);
	if (!err)
		log_msg(LOG_LEVEL_NOTICE, "main", "Identity-Info: %s (%s)",
			d->info_url,
			d->cfg.identity.alg == CONFIG_IDENTITY_RSA_SHA1
				? "rsa-sha1"
				: "rsa-sha256");
	return err;
}

void services_stop(struct sipcertd *d)
{
	/* its store call under way is answered before the server goes */
	certstore_free(d->certstore);
	d->certstore = NULL;
	http_server_free(d->http);
	d->http = NULL;
	if (d->control) {
		control_on_user_changed(d->control, NULL, NULL);
		control_on_creds_changed(d->control, NULL, NULL);
	}
	cred_free(d->cred);
	d->cred = NULL;
	if (d->tls_http)
		SSL_CTX_free(d->tls_http);
	d->tls_http = NULL;
	buf_fini(&d->domain_der);
}

void services_reload(struct sipcertd *d)
{
	struct buf old = d->domain_der;
	int err;

	if (d->tls_http) {
		err = net_tls_reload(d->tls_http, d->cfg.domain.cert,
				     d->cfg.domain.key);
		if (err)
			log_msg(LOG_LEVEL_ERR, "main",
				"HTTPS reload of %s failed (%s)",
				d->cfg.domain.cert, strerror(-err));
	}
	if (load_domain_cert(d)) {
		buf_fini(&d->domain_der);
		d->domain_der = old; /* keep serving the one we had */
		return;
	}
	buf_fini(&old);
	/* the Identity-Info certificate changed: NOTIFYs are signed with
	 * its key from now on (RFC 4474 §6 step 2 checks the pair) */
	if (d->cred) {
		EVP_PKEY *key = NULL;

		err = crypto_key_private_load(&key, CRYPTO_PEM,
					      d->cfg.domain.key);
		if (!err)
			err = cred_set_key(d->cred, key);
		if (key)
			EVP_PKEY_free(key);
		if (err)
			log_msg(LOG_LEVEL_ERR, "main",
				"signing key %s not reloaded: %s",
				d->cfg.domain.key, crypto_last_error());
	}
}

void services_stats(struct sipcertd *d, struct control_stats *s)
{
	struct cred_stats cs = {0};
	struct http_stats hs = {0};
	struct certstore_stats ss;

	if (d->cred)
		cred_stats_get(d->cred, &cs);
	if (d->http)
		http_server_stats(d->http, &hs);
	control_stats_put(s, "subscriptions", cs.subscriptions);
	control_stats_put(s, "subscribes", cs.subscribes);
	control_stats_put(s, "publishes", cs.publishes);
	control_stats_put(s, "notifies_signed", cs.notifies_signed);
	control_stats_put(s, "notifies_failed", cs.notifies_failed);
	control_stats_put(s, "signing_us", cs.sign_ns / 1000);
	control_stats_put(s, "store_jobs", cs.store_jobs);
	control_stats_put(s, "store_us", cs.store_ns / 1000);
	control_stats_put(s, "https_requests", hs.requests);
	control_stats_put(s, "https_tls_handshakes", hs.tls_handshakes);
	certstore_stats_get(d->certstore, &ss);
	control_stats_put(s, "https_auth_challenges", ss.auth_challenges);
	control_stats_put(s, "https_auth_failures", ss.auth_failures);
	control_stats_put(s, "certstore_lookups", ss.lookups);
	control_stats_put(s, "certstore_enrolments", ss.enrolments);
	control_stats_put(s, "certstore_revocations", ss.revocations);
}
