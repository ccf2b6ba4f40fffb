/* SPDX-License-Identifier: BSD-3-Clause */
/* Answers: the status line with its RFC 9110 §15 reason phrase, the
 * handler's headers checked against injection (RFC 9110 §5.5), and the
 * headers every answer carries (Date §6.6.1, RFC 6797 HSTS, nosniff). */
#include "priv.h"

#include <stdio.h>

#include <event2/buffer.h>
#include <event2/util.h>

/* RFC 6797 §6.1: a year, renewed by every answer */
static const char hsts_value[] = "max-age=31536000";

static const struct {
	unsigned status;
	const char *phrase;
} phrases[] = {
	{200, "OK"},
	{201, "Created"},
	{202, "Accepted"},
	{203, "Non-Authoritative Information"},
	{204, "No Content"},
	{205, "Reset Content"},
	{206, "Partial Content"},
	{300, "Multiple Choices"},
	{301, "Moved Permanently"},
	{302, "Found"},
	{303, "See Other"},
	{304, "Not Modified"},
	{307, "Temporary Redirect"},
	{308, "Permanent Redirect"},
	{400, "Bad Request"},
	{401, "Unauthorized"},
	{402, "Payment Required"},
	{403, "Forbidden"},
	{404, "Not Found"},
	{405, "Method Not Allowed"},
	{406, "Not Acceptable"},
	{407, "Proxy Authentication Required"},
	{408, "Request Timeout"},
	{409, "Conflict"},
	{410, "Gone"},
	{411, "Length Required"},
	{412, "Precondition Failed"},
	{413, "Content Too Large"},
	{414, "URI Too Long"},
	{415, "Unsupported Media Type"},
	{416, "Range Not Satisfiable"},
	{417, "Expectation Failed"},
	{421, "Misdirected Request"},
	{422, "Unprocessable Content"},
	{426, "Upgrade Required"},
	{428, "Precondition Required"},		  /* RFC 6585 */
	{429, "Too Many Requests"},		  /* RFC 6585 */
	{431, "Request Header Fields Too Large"}, /* RFC 6585 */
	{500, "Internal Server Error"},
	{501, "Not Implemented"},
	{502, "Bad Gateway"},
	{503, "Service Unavailable"},
	{504, "Gateway Timeout"},
	{505, "HTTP Version Not Supported"},
};

/* Headers the server writes itself: a handler's copy would make two. */
static const char *const reserved_names[] = {
	"Server",
	"Date",
	"X-Content-Type-Options",
	"Strict-Transport-Security",
	"Content-Type",	     /* the ctype argument */
	"Content-Length",    /* the body argument */
	"Transfer-Encoding", /* evhttp frames the body */
	"Connection",	     /* evhttp keeps the connection or not */
};

/* RFC 9112 §4: the reason phrase may be empty for a code we do not know */
static const char *phrase_of(unsigned status)
{
	for (size_t i = 0; i < ARRAY_SIZE(phrases); i++)
		if (phrases[i].status == status)
			return phrases[i].phrase;
	return "";
}

/* RFC 9110 §5.6.2 tchar */
static bool is_tchar(unsigned char c)
{
	return char_is_alpha(c) || char_is_digit(c) ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool name_ok(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++)
		if (!is_tchar((unsigned char)*p))
			return false;
	for (size_t i = 0; i < ARRAY_SIZE(reserved_names); i++)
		if (slice_caseeq_cstr(slice_cstr(name), reserved_names[i]))
			return false;
	return true;
}

/* RFC 9110 §5.5: no CR or LF (which would start a header of the value's
 * choosing, or the body) and no other control but HTAB. */
static bool value_ok(const char *value)
{
	if (!value)
		return false;
	for (const char *p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static int answer_check(unsigned status, const char *ctype, struct slice body,
			const struct http_header *hdrs, size_t n_hdrs)
{
	/* evhttp sends final answers only */
	if (status < 200 || status > 599)
		return -EINVAL;
	/* RFC 9110 §15.3.5, §15.4.5: no content */
	if ((status == 204 || status == 304) && body.len)
		return -EINVAL;
	if ((body.len && !body.p) || (n_hdrs && !hdrs))
		return -EINVAL;
	if (ctype && !value_ok(ctype))
		return -EINVAL;
	for (size_t i = 0; i < n_hdrs; i++)
		if (!name_ok(hdrs[i].name) || !value_ok(hdrs[i].value))
			return -EINVAL;
	return 0;
}

/* The answer cannot be built (evhttp could not allocate): close the
 * connection rather than send half of it. */
static void answer_drop(struct evhttp_request *ev)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);

	if (evcon)
		evhttp_connection_free(evcon); /* and ev with it */
	else
		evhttp_request_free(ev);
}

static int answer_send(struct http_server *s, struct evhttp_request *ev,
		       enum http_method method, unsigned status,
		       const char *ctype, struct slice body,
		       const struct http_header *hdrs, size_t n_hdrs)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(ev);
	bool has_cache_control = false;
	char date[64], length[32];
	int rc = 0;

	for (size_t i = 0; i < n_hdrs; i++) {
		rc |= evhttp_add_header(h, hdrs[i].name, hdrs[i].value);
		if (slice_caseeq_cstr(slice_cstr(hdrs[i].name),
				      "Cache-Control"))
			has_cache_control = true;
	}
	rc |= evhttp_add_header(h, "Server", s->server_name);
	evutil_date_rfc1123(date, sizeof(date), NULL);
	rc |= evhttp_add_header(h, "Date", date);
	/* what is served here (certificates, store entries, account
	 * pages) is not for shared caches unless the handler says so */
	if (!has_cache_control)
		rc |= evhttp_add_header(h, "Cache-Control", "no-store");
	rc |= evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	rc |= evhttp_add_header(h, "Strict-Transport-Security", hsts_value);
	if (status != 204 && status != 304) {
		if (body.len || ctype)
			rc |= evhttp_add_header(h, "Content-Type",
						ctype ? ctype
						      : "application/"
							"octet-stream");
		snprintf(length, sizeof(length), "%zu", body.len);
		rc |= evhttp_add_header(h, "Content-Length", length);
		/* RFC 9110 §9.3.2: HEAD gets GET's headers, not its
		 * content (evhttp would send whatever is buffered) */
		if (body.len && method != HTTP_HEAD)
			rc |= evbuffer_add(evhttp_request_get_output_buffer(ev),
					   body.p, body.len);
	}
	if (rc) {
		answer_drop(ev);
		return -ENOMEM;
	}
	if (status >= 500)
		s->stats.status_5xx++;
	else if (status >= 400)
		s->stats.status_4xx++;
	evhttp_send_reply(ev, (int)status, phrase_of(status), NULL);
	return 0;
}

int http_answer(struct http_server *s, struct evhttp_request *ev,
		enum http_method method, unsigned status, const char *ctype,
		struct slice body, const struct http_header *hdrs,
		size_t n_hdrs)
{
	int err = answer_check(status, ctype, body, hdrs, n_hdrs);

	if (err) {
		log_msg(LOG_LEVEL_ERR, "http",
			"answer %u refused (status, type or a header): "
			"500 sent instead",
			status);
		/* the client is not left waiting: RFC 9110 §15.6.1 */
		(void)answer_send(s, ev, method, 500, NULL, SLICE_NULL, NULL,
				  0);
		return err;
	}
	return answer_send(s, ev, method, status, ctype, body, hdrs, n_hdrs);
}

int http_reply(struct http_request *r, unsigned status, const char *ctype,
	       struct slice body, const struct http_header *hdrs, size_t n_hdrs)
{
	struct http_server *s;
	struct evhttp_request *ev;
	enum http_method method;

	if (!r)
		return -EINVAL;
	ev = http_request_take(r, &s, &method);
	if (!ev)
		return 0; /* dropped with its connection: no one to answer */
	return http_answer(s, ev, method, status, ctype, body, hdrs, n_hdrs);
}
