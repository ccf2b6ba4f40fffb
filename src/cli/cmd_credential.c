/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert credential: get our credential back from the domain (SUBSCRIBE
 * Event: credential, RFC 6072 §7, §10.5, §10.6), decrypt its private key
 * with the pass phrase and keep it in the state directory. */
#include "cli.h"

static const struct ua_cmd credential_cmd = {
	.name = "credential",
	.synopsis = "AOR [common options]",
	.min_args = 1,
	.max_args = 1,
	.our_aor = true,
	.password = CLI_SECRET_REQUIRED,
	.passphrase = CLI_SECRET_REQUIRED,
};

static void credential_print(const struct ua_cli *c,
			     const struct sipcert_cert *cert)
{
	char nb[64], na[64];

	if (c->json) {
		json_t *j = json_object();

		cli_time_rfc3339(nb, sizeof(nb), cert->not_before);
		cli_time_rfc3339(na, sizeof(na), cert->not_after);
		json_object_set_new(j, "aor", cli_json_str(c->aor));
		json_object_set_new(j, "sha256", cli_json_str(cert->sha256));
		json_object_set_new(j, "not_before", cli_json_str(nb));
		json_object_set_new(j, "not_after", cli_json_str(na));
		json_object_set_new(j, "saved", json_true());
		cli_json_print(j);
		return;
	}
	cli_time_people(nb, sizeof(nb), cert->not_before);
	cli_time_people(na, sizeof(na), cert->not_after);
	printf("saved the credential of %s (certificate and private key) in "
	       "the state directory\n",
	       c->aor);
	printf("  %-10s %s\n", "SHA-256", cert->sha256);
	printf("  %-10s %s to %s\n", "valid", nb, na);
}

int cmd_credential(int argc, char **argv)
{
	struct sipcert_error e = {0};
	struct sipcert_cert *cert = NULL;
	struct ua_cli c;
	int rc, err;

	rc = ua_cli_parse(&c, &credential_cmd, NULL, argc, argv);
	if (rc == CLI_GO_ON)
		rc = ua_cli_open(&c);
	if (rc == CLI_GO_ON) {
		err = sipcert_credential_get(c.ua, ua_cli_passphrase(&c), &cert,
					     &e);
		if (err) {
			rc = cli_refused(&c, err, &e);
		} else if (!cert) {
			rc = cli_fail(&c, CLI_NO, "no_credential",
				      "no credential came back for %s", c.aor);
		} else {
			credential_print(&c, cert);
			rc = CLI_OK;
		}
	}
	sipcert_cert_free(cert);
	ua_cli_close(&c);
	return rc;
}
