/* SPDX-License-Identifier: BSD-3-Clause */
/* RFC 4475 torture messages: each file in tests/data/sip/torture/ gets the
 * verdict verdicts.tsv gives it. For the cases RFC 4475 leaves to the
 * implementation ("either"), sipcert is strict, for these reasons:
 * - quotbal (§3.1.2.6): guessing where a quote ends changes identities
 *   that RFC 4474 signatures cover; refuse.
 * - ltgtruri (§3.1.2.7), lwsstart (§3.1.2.9), trws (§3.1.2.10): a proxy
 *   must never forward such a start line; refusing is the simple safe way.
 * - escruri (§3.1.2.11): RFC 3261 §19.1.1 forbids headers in a
 *   Request-URI; turning them into headers would be an injection.
 * - baddate (§3.1.2.12): Date is part of the RFC 4474 digest-string and
 *   the RFC 6072 §10.3 freshness check; a wrong zone is an error for us.
 * - regbadct (§3.1.2.13): a registrar would store a binding with an
 *   injected header; refuse. */
#include "test.h"

#include "sip/sip.h"

static const char *const strict_either[] = {
	"quotbal.dat", "ltgtruri.dat", "lwsstart.dat", "trws.dat",
	"escruri.dat", "baddate.dat",  "regbadct.dat",
};

static bool is_strict_either(const char *file)
{
	for (size_t i = 0; i < ARRAY_SIZE(strict_either); i++)
		if (!strcmp(file, strict_either[i]))
			return true;
	return false;
}

static int check_file(const char *file, const char *verdict)
{
	char path[256], *data = NULL;
	size_t len = 0;
	struct sip_msg *m = NULL;
	struct sip_error err = {0};
	int rc, ok = -1;

	snprintf(path, sizeof(path), "sip/torture/%s", file);
	if (test_read_file(path, &data, &len)) {
		TEST_FAIL_AT("cannot read %s", path);
		return -1;
	}
	rc = sip_msg_decode(&m, data, len,
			    SIP_DECODE_DATAGRAM | SIP_DECODE_STRICT, &err);
	if (!strcmp(verdict, "valid") ||
	    (!strcmp(verdict, "either") && !is_strict_either(file))) {
		if (rc)
			TEST_FAIL_AT("%s: expected valid, got %d %u %s", file,
				     rc, err.status, err.reason);
		else
			ok = 0;
	} else {
		bool is_resp = len >= 4 && !memcmp(data, "SIP/", 4);
		bool code_ok;

		if (!strcmp(verdict, "invalid:505"))
			code_ok = err.status == 505;
		else if (is_resp)
			code_ok = err.status == 0;
		else
			code_ok = err.status >= 400 && err.status < 500;
		if (!rc)
			TEST_FAIL_AT("%s: expected %s, decoded as valid", file,
				     verdict);
		else if (rc != -EBADMSG || !code_ok || !err.reason[0])
			TEST_FAIL_AT("%s: expected %s, got %d status %u (%s)",
				     file, verdict, rc, err.status, err.reason);
		else
			ok = 0;
	}
	sip_msg_free(m);
	mem_free(data);
	return ok;
}

TEST(sip_torture_rfc4475_verdicts)
{
	char *tsv = NULL;
	size_t len = 0, n_files = 0;
	int failures = 0;
	const char *p, *end;

	TEST_EQ_INT(test_read_file("sip/torture/verdicts.tsv", &tsv, &len), 0);
	p = tsv;
	end = tsv + len;
	p = memchr(p, '\n', (size_t)(end - p)) + 1; /* header row */
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *tab1 = memchr(p, '\t', (size_t)(end - p));
		const char *tab2;
		char file[64], verdict[32];

		if (!eol)
			eol = end;
		if (!tab1 || tab1 > eol)
			break;
		tab2 = memchr(tab1 + 1, '\t', (size_t)(eol - tab1 - 1));
		if (!tab2)
			break;
		snprintf(file, sizeof(file), "%.*s", (int)(tab1 - p), p);
		snprintf(verdict, sizeof(verdict), "%.*s",
			 (int)(tab2 - tab1 - 1), tab1 + 1);
		if (check_file(file, verdict))
			failures++;
		n_files++;
		p = eol + 1;
	}
	mem_free(tsv);
	TEST_EQ_INT(n_files, 49);
	TEST_EQ_INT(failures, 0);
	return 0;
}

/* Every strict prefix of every torture message decodes or is refused,
 * never crashes or reads outside the bytes (the sanitizer build checks
 * the latter). */
TEST(sip_torture_prefixes_never_crash)
{
	static const char *const files[] = {
		"wsinv.dat",   "intmeth.dat",  "esc01.dat",    "mpart01.dat",
		"longreq.dat", "badinv01.dat", "unreason.dat", "inv2543.dat",
	};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char path[256], *data = NULL;
		size_t len = 0;

		snprintf(path, sizeof(path), "sip/torture/%s", files[i]);
		TEST_EQ_INT(test_read_file(path, &data, &len), 0);
		for (size_t n = 0; n < len; n++) {
			struct sip_msg *m = NULL;
			char *copy = mem_alloc(n ? n : 1);

			/* an exact-size copy so ASan sees any over-read */
			memcpy(copy, data, n);
			if (!sip_msg_decode(&m, copy, n, SIP_DECODE_STRICT,
					    NULL))
				sip_msg_free(m);
			mem_free(copy);
		}
		mem_free(data);
	}
	return 0;
}
