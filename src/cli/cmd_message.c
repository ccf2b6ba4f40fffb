/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert message send and listen: text in S/MIME MESSAGE requests (RFC
 * 3428, RFC 3261 §23), signed with our credential and encrypted for the
 * peer's certificate fetched by RFC 6072 §10.3 (§9.1). */
#include "cli.h"

#include <string.h>

enum { OPT_EXPIRES = CLI_OPT_OWN };

static const struct ua_cmd send_cmd = {
	.name = "message send",
	.synopsis = "FROM_AOR TO_AOR TEXT [common options]",
	.min_args = 3,
	.max_args = 3,
	.our_aor = true,
	.password = CLI_SECRET_REQUIRED,
	/* unlocks our key when it is stored encrypted */
	.passphrase = CLI_SECRET_ASK,
};

static int message_send(int argc, char **argv)
{
	struct sipcert_error e = {0};
	struct sipcert_cert *used = NULL;
	char to[320];
	struct ua_cli c;
	int rc, err;

	rc = ua_cli_parse(&c, &send_cmd, NULL, argc, argv);
	if (rc == CLI_GO_ON && cli_aor_norm(c.args[1], to, sizeof(to)))
		rc = cli_usage_error(&c, "%s is not an AOR (sip:user@domain)",
				     c.args[1]);
	if (rc == CLI_GO_ON)
		rc = ua_cli_open(&c);
	if (rc != CLI_GO_ON)
		goto out;

	err = sipcert_message_send(c.ua, to, c.args[2], ua_cli_passphrase(&c),
				   &used, &e);
	if (err) {
		rc = cli_refused(&c, err, &e);
		goto out;
	}
	if (used)
		cli_cert_warn_changed(used);
	if (c.json) {
		json_t *j = json_object();

		json_object_set_new(j, "to", cli_json_str(to));
		json_object_set_new(j, "sha256",
				    cli_json_str(used ? used->sha256 : ""));
		json_object_set_new(j, "sent", json_true());
		cli_json_print(j);
	} else {
		printf("sent to %s", to);
		if (used)
			printf(", encrypted for certificate %s", used->sha256);
		printf(", signed by %s\n", c.aor);
	}
	rc = CLI_OK;
out:
	sipcert_cert_free(used);
	ua_cli_close(&c);
	return rc;
}

static const struct option listen_opts[] = {
	{"expires", required_argument, NULL, OPT_EXPIRES},
	{0},
};

static int listen_opt(struct ua_cli *c, int val, const char *arg)
{
	unsigned *expires = c->arg;
	uint32_t v;

	(void)val;
	if (cli_u32_parse(arg, INT32_MAX, &v))
		return cli_usage_error(c, "--expires %s: expected seconds",
				       arg);
	*expires = v;
	return CLI_GO_ON;
}

static const struct ua_cmd listen_cmd = {
	.name = "message listen",
	.synopsis = "AOR [--expires N] [common options]",
	.help = "  --expires N               of the registration, in seconds "
		"(default 600)\n",
	.opts = listen_opts,
	.on_opt = listen_opt,
	.min_args = 1,
	.max_args = 1,
	.our_aor = true,
	.password = CLI_SECRET_REQUIRED,
	.passphrase = CLI_SECRET_ASK,
};

static void on_message(void *arg, const struct sipcert_message *m)
{
	const struct ua_cli *c = arg;

	if (m->error) {
		/* one message could not be read: say so, keep listening */
		char why[400];

		snprintf(why, sizeof(why), "a message from %s: %s",
			 m->from ? m->from : "?", m->error->message);
		cli_fail(c, CLI_NO, m->error->code, "%s", why);
	} else if (c->json) {
		json_t *j = json_object();

		json_object_set_new(j, "from", cli_json_str(m->from));
		json_object_set_new(j, "text", cli_json_str(m->text));
		json_object_set_new(j, "verified", json_boolean(m->verified));
		json_object_set_new(j, "sender_sha256",
				    cli_json_str(m->sender_sha256));
		cli_json_print(j);
	} else {
		fputs("From: ", stdout);
		cli_print_safe(stdout, m->from);
		printf(" (%s): ", m->verified ? "verified" : "NOT VERIFIED");
		cli_print_safe(stdout, m->text);
		putchar('\n');
	}
	fflush(stdout);
}

static int message_listen(int argc, char **argv)
{
	struct sipcert_error e = {0};
	unsigned expires = 0;
	struct ua_cli c;
	int rc, err;

	rc = ua_cli_parse(&c, &listen_cmd, &expires, argc, argv);
	if (rc == CLI_GO_ON)
		rc = ua_cli_open(&c);
	if (rc == CLI_GO_ON) {
		cli_stop_on_signals(c.ua);
		err = sipcert_message_listen(c.ua, ua_cli_passphrase(&c),
					     expires, on_message, &c, &e);
		cli_stop_signals_restore();
		rc = err ? cli_refused(&c, err, &e) : CLI_OK;
	}
	ua_cli_close(&c);
	return rc;
}

static const struct ua_cmd message_cmd = {
	.name = "message",
	.synopsis = "send FROM_AOR TO_AOR TEXT [common options]\n"
		    "       sipcert message listen AOR [--expires N] "
		    "[common options]",
};

int cmd_message(int argc, char **argv)
{
	struct ua_cli c = {.cmd = &message_cmd};

	if (argc >= 2 && !strcmp(argv[1], "send"))
		return message_send(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "listen"))
		return message_listen(argc - 1, argv + 1);
	if (argc >= 2 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: sipcert message %s\n"
		       "sipcert message send --help, sipcert message listen "
		       "--help for the options.\n",
		       message_cmd.synopsis);
		return CLI_OK;
	}
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--json"))
			c.json = true;
	if (argc < 2)
		return cli_usage_error(&c, "send or listen?");
	return cli_usage_error(&c, "unknown message command %s", argv[1]);
}
