/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert fetch: another user's certificate, from the cache or by
 * SUBSCRIBE Event: certificate, verified by RFC 6072 §10.3 (RFC 4474
 * Identity); warns when it changed early (§10.8). */
#include "cli.h"

#include <string.h>

enum {
	OPT_NO_CACHE = CLI_OPT_OWN,
	OPT_OUT,
	OPT_DER,
	OPT_HTTP,
};

struct fetch_args {
	unsigned flags;
	const char *out;
	bool der;
};

static const struct option fetch_opts[] = {
	{"no-cache", no_argument, NULL, OPT_NO_CACHE},
	{"out", required_argument, NULL, OPT_OUT},
	{"der", no_argument, NULL, OPT_DER},
	{"http", no_argument, NULL, OPT_HTTP},
	{0},
};

static int fetch_opt(struct ua_cli *c, int val, const char *arg)
{
	struct fetch_args *a = c->arg;

	if (val == OPT_NO_CACHE)
		a->flags |= SIPCERT_FETCH_NO_CACHE;
	else if (val == OPT_OUT)
		a->out = arg;
	else if (val == OPT_HTTP)
		a->flags |= SIPCERT_FETCH_HTTP;
	else
		a->der = true;
	return CLI_GO_ON;
}

static const struct ua_cmd fetch_cmd = {
	.name = "fetch",
	.synopsis = "AOR [--no-cache] [--http] [--out FILE [--der]] "
		    "[common options]",
	.help = "  --no-cache                ask the credential service even "
		"when cached\n"
		"  --http                    from the domain's HTTPS "
		"certificate store instead\n"
		"                            (every certificate of the AOR, "
		"one per device)\n"
		"  --out FILE                write the certificate there, PEM\n"
		"  --der                     ... DER instead\n",
	.opts = fetch_opts,
	.on_opt = fetch_opt,
	.min_args = 1,
	.max_args = 1,
	.password = CLI_SECRET_UNUSED,
	.passphrase = CLI_SECRET_UNUSED,
};

/* 0 or -errno. */
static int cert_write(const char *path, const struct sipcert_cert *cert,
		      bool der)
{
	const void *p = der ? (const void *)cert->der : cert->pem;
	size_t n = der ? cert->der_len : (cert->pem ? strlen(cert->pem) : 0);
	FILE *f;
	int err = 0;

	if (!p || !n)
		return -ENODATA;
	f = fopen(path, "wb");
	if (!f)
		return -errno;
	if (fwrite(p, 1, n, f) != n)
		err = errno ? -errno : -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

int cmd_fetch(int argc, char **argv)
{
	struct fetch_args a = {0};
	struct sipcert_error e = {0};
	struct sipcert_cert *cert = NULL;
	char aor[320];
	struct ua_cli c;
	int rc, err;

	rc = ua_cli_parse(&c, &fetch_cmd, &a, argc, argv);
	if (rc == CLI_GO_ON && a.der && !a.out)
		rc = cli_usage_error(&c, "--der needs --out FILE");
	if (rc == CLI_GO_ON && cli_aor_norm(c.args[0], aor, sizeof(aor)))
		rc = cli_usage_error(&c, "%s is not an AOR (sip:user@domain)",
				     c.args[0]);
	if (rc == CLI_GO_ON)
		rc = ua_cli_open(&c);
	if (rc != CLI_GO_ON)
		goto out;

	err = sipcert_fetch(c.ua, aor, a.flags, &cert, &e);
	if (err) {
		rc = cli_refused(&c, err, &e);
		goto out;
	}
	cli_cert_warn_changed(cert);
	if (a.out) {
		err = cert_write(a.out, cert, a.der);
		if (err) {
			rc = cli_fail(&c, CLI_USAGE, "file_error", "%s: %s",
				      a.out, strerror(-err));
			goto out;
		}
	}
	if (c.json) {
		json_t *j = json_object();

		json_object_set_new(
			j, "aor", cli_json_str(cert->aor[0] ? cert->aor : aor));
		cli_cert_json(j, cert);
		if (cert->next) {
			/* the HTTPS store: every device's certificate */
			json_t *all = json_array();

			for (const struct sipcert_cert *x = cert; x;
			     x = x->next) {
				json_t *o = json_object();

				cli_cert_json(o, x);
				json_array_append_new(all, o);
			}
			json_object_set_new(j, "certificates", all);
		}
		cli_json_print(j);
	} else {
		for (const struct sipcert_cert *x = cert; x; x = x->next)
			cli_cert_print(x);
		if (a.out)
			printf("written to %s (%s)\n", a.out,
			       a.der ? "DER" : "PEM");
	}
	rc = CLI_OK;
out:
	sipcert_cert_free(cert);
	ua_cli_close(&c);
	return rc;
}
