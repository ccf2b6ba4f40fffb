/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert publish and revoke: enrol our credential by PUBLISH Event:
 * credential (RFC 6072 §7, RFC 3903), made first when none is stored, and
 * revoke it with Expires: 0 (RFC 3903 §4.5, RFC 6072 §6.6). */
#include "cli.h"

#include <string.h>

enum {
	OPT_NEW = CLI_OPT_OWN,
	OPT_KEY_TYPE,
	OPT_SHA1,
	OPT_WITH_KEY,
	OPT_EXPIRES,
	OPT_HTTP,
};

static const struct option publish_opts[] = {
	{"new", no_argument, NULL, OPT_NEW},
	{"key-type", required_argument, NULL, OPT_KEY_TYPE},
	{"sha1", no_argument, NULL, OPT_SHA1},
	{"with-key", no_argument, NULL, OPT_WITH_KEY},
	{"expires", required_argument, NULL, OPT_EXPIRES},
	{"http", no_argument, NULL, OPT_HTTP},
	{0},
};

static int publish_opt(struct ua_cli *c, int val, const char *arg)
{
	struct sipcert_publish_opts *o = c->arg;
	uint32_t v;

	switch (val) {
	case OPT_NEW:
		o->force_new = 1;
		break;
	case OPT_KEY_TYPE:
		if (cli_key_type_parse(arg, &o->key_type))
			return cli_usage_error(c,
					       "--key-type %s: expected "
					       "rsa2048, rsa3072 or ec-p256",
					       arg);
		break;
	case OPT_SHA1:
		o->sha1 = 1;
		break;
	case OPT_WITH_KEY:
		o->with_key = 1;
		break;
	case OPT_HTTP:
		o->http = 1;
		break;
	case OPT_EXPIRES:
		if (cli_u32_parse(arg, INT32_MAX, &v))
			return cli_usage_error(c,
					       "--expires %s: expected "
					       "seconds",
					       arg);
		o->expires = v;
		break;
	}
	return CLI_GO_ON;
}

static const struct ua_cmd publish_cmd = {
	.name = "publish",
	.synopsis = "AOR [--new] [--key-type rsa2048|rsa3072|ec-p256] "
		    "[--sha1]\n"
		    "         [--with-key | --http] [--expires N] [common "
		    "options]",
	.help = "  --new                     make a new credential even when "
		"one is stored\n"
		"  --key-type TYPE           of a new one: rsa2048 (default), "
		"rsa3072, ec-p256\n"
		"  --sha1                    sign it with sha1WithRSA instead "
		"of SHA-256\n"
		"  --with-key                publish the private key too, "
		"encrypted (pass phrase)\n"
		"  --expires N               of the publication, in seconds\n"
		"  --http                    enrol the certificate in the "
		"domain's HTTPS store\n"
		"                            (PUT search-cgi, HTTP Digest) "
		"instead\n",
	.opts = publish_opts,
	.on_opt = publish_opt,
	.min_args = 1,
	.max_args = 1,
	.our_aor = true,
	.password = CLI_SECRET_REQUIRED,
	.passphrase = CLI_SECRET_OPTIONAL,
};

static void publish_print(const struct ua_cli *c,
			  const struct sipcert_publish_opts *o,
			  const struct sipcert_publish_result *res)
{
	const struct sipcert_cert *cert = res->cert;
	char na[64] = "";

	if (c->json) {
		json_t *j = json_object();

		if (cert)
			cli_time_rfc3339(na, sizeof(na), cert->not_after);
		json_object_set_new(j, "aor", cli_json_str(c->aor));
		json_object_set_new(j, "sha256",
				    cli_json_str(cert ? cert->sha256 : ""));
		json_object_set_new(j, "not_after", cli_json_str(na));
		json_object_set_new(j, "etag", cli_json_str(res->etag));
		json_object_set_new(j, "expires",
				    json_integer((json_int_t)res->expires));
		json_object_set_new(j, "generated",
				    json_boolean(res->generated));
		json_object_set_new(j, "with_key", json_boolean(o->with_key));
		if (o->http) {
			json_object_set_new(j, "http", json_true());
			json_object_set_new(j, "replaced",
					    json_boolean(res->replaced));
		}
		cli_json_print(j);
		return;
	}
	if (res->generated)
		printf("generated a new %s credential for %s\n",
		       cli_key_type_name(o->key_type), c->aor);
	else
		printf("reused the stored credential of %s\n", c->aor);
	if (o->http)
		printf("enrolled its certificate in the domain's HTTPS "
		       "store%s\n",
		       res->replaced ? " (replacing the one there)" : "");
	else
		printf("published its certificate%s\n",
		       o->with_key ? " and its private key (encrypted with "
				     "the pass phrase)"
				   : "");
	if (cert) {
		cli_time_people(na, sizeof(na), cert->not_after);
		printf("  %-10s %s\n", "SHA-256", cert->sha256);
		printf("  %-10s %s\n", "notAfter", na);
	}
	if (o->http)
		return;
	printf("  %-10s ", "ETag");
	cli_print_safe(stdout, res->etag);
	printf(" (the publication expires in %u s)\n", res->expires);
}

int cmd_publish(int argc, char **argv)
{
	struct sipcert_publish_opts o = {.key_type = SIPCERT_KEY_RSA2048};
	struct sipcert_publish_result res = {0};
	struct sipcert_error e = {0};
	struct ua_cli c;
	int rc, err;

	rc = ua_cli_parse(&c, &publish_cmd, &o, argc, argv);
	if (rc == CLI_GO_ON) {
		/* the key leaves the device: only behind a pass phrase,
		 * asked twice since a typo would lock it away */
		if (o.with_key)
			c.passphrase_need = CLI_SECRET_NEW;
		rc = ua_cli_open(&c);
	}
	if (rc == CLI_GO_ON) {
		o.passphrase = ua_cli_passphrase(&c);
		err = sipcert_publish(c.ua, &o, &res, &e);
		if (err) {
			rc = cli_refused(&c, err, &e);
		} else {
			publish_print(&c, &o, &res);
			rc = CLI_OK;
		}
	}
	sipcert_cert_free(res.cert);
	ua_cli_close(&c);
	return rc;
}

static const struct ua_cmd revoke_cmd = {
	.name = "revoke",
	.synopsis = "AOR [common options]",
	.min_args = 1,
	.max_args = 1,
	.our_aor = true,
	.password = CLI_SECRET_REQUIRED,
	.passphrase = CLI_SECRET_UNUSED,
};

int cmd_revoke(int argc, char **argv)
{
	struct sipcert_error e = {0};
	struct ua_cli c;
	int rc, err;

	rc = ua_cli_parse(&c, &revoke_cmd, NULL, argc, argv);
	if (rc == CLI_GO_ON)
		rc = ua_cli_open(&c);
	if (rc == CLI_GO_ON) {
		err = sipcert_revoke(c.ua, &e);
		if (err) {
			rc = cli_refused(&c, err, &e);
		} else if (c.json) {
			json_t *j = json_object();

			json_object_set_new(j, "aor", cli_json_str(c.aor));
			json_object_set_new(j, "revoked", json_true());
			cli_json_print(j);
			rc = CLI_OK;
		} else {
			printf("revoked the credential of %s: its watchers "
			       "are told it is gone\n",
			       c.aor);
			rc = CLI_OK;
		}
	}
	ua_cli_close(&c);
	return rc;
}
