// SPDX-License-Identifier: Apache-2.0
/*
 * lib/l7_policy.c: loading the proxy's policy document (and the exact JSON
 * path of what it refuses), regex anchoring, the fields of a rule, any-peer
 * and exempt semantics, audit mode and the verdict of a flow, the ipcache
 * and endpoint indexes, reference counts and concurrent checks on one
 * snapshot. The speed of check() is measured by bench/l7_match.c
 * (`make bench-l7-match`), not here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "warden/abi/maps.h"
#include "warden/l7_policy.h"

#define IN WARDEN_DIR_INGRESS
#define EG WARDEN_DIR_EGRESS

/* ---- helpers ----------------------------------------------------------- */

/* The tests write JSON with single quotes; this makes it JSON. */
static json_t *json_from(const char *squoted)
{
	char *text = strdup(squoted);
	json_error_t jerr;
	json_t *doc;

	assert_non_null(text);
	for (char *c = text; *c; c++)
		if (*c == '\'')
			*c = '"';
	doc = json_loads(text, 0, &jerr);
	if (!doc)
		fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
	free(text);
	return doc;
}

static struct l7_policy *load_ok(const char *squoted)
{
	json_t *doc = json_from(squoted);
	struct l7_policy *p = NULL;
	char err[256];
	int ret = l7_policy__load(doc, &p, err, sizeof(err));

	json_decref(doc);
	if (ret)
		fail_msg("load failed (%d): %s", ret, err);
	assert_non_null(p);
	return p;
}

static void load_fails(const char *squoted, const char *message)
{
	json_t *doc = json_from(squoted);
	struct l7_policy *p = (struct l7_policy *)&p; /* must be reset to NULL */
	char err[256];
	int ret = l7_policy__load(doc, &p, err, sizeof(err));

	json_decref(doc);
	assert_int_equal(ret, -EINVAL);
	assert_null(p);
	if (strcmp(err, message))
		fail_msg("error was\n  \"%s\"\nexpected\n  \"%s\"", err, message);
}

/* A document with these l7 entries and nothing else. */
static struct l7_policy *load_l7(const char *entries)
{
	char doc[16384];

	assert_true((size_t)snprintf(doc, sizeof(doc),
				     "{'revision': 1, 'ipcache': [], 'identities': [], "
				     "'endpoints': [], 'l7': [%s]}",
				     entries) < sizeof(doc));
	return load_ok(doc);
}

static void load_l7_fails(const char *entries, const char *message)
{
	char doc[16384];

	assert_true((size_t)snprintf(doc, sizeof(doc),
				     "{'revision': 1, 'ipcache': [], 'identities': [], "
				     "'endpoints': [], 'l7': [%s]}",
				     entries) < sizeof(doc));
	load_fails(doc, message);
}

static struct http_slice slice(const char *s)
{
	return (struct http_slice){s, s ? strlen(s) : 0};
}

static struct l7_request request(const char *method, const char *path, const char *host)
{
	return (struct l7_request){slice(method), slice(path), slice(host), NULL, 0};
}

static struct http_header header(const char *name, const char *value)
{
	return (struct http_header){slice(name), slice(value)};
}

/* Check on endpoint 1, ingress, port 80. */
static enum l7_verdict check_from(const struct l7_policy *p, uint32_t peer,
				  const struct l7_request *req, uint32_t *cookie)
{
	return l7_policy__check(p, 1, IN, 80, peer, req, cookie);
}

static enum l7_verdict check_req(const struct l7_policy *p, const char *method,
				 const char *path, const char *host)
{
	struct l7_request req = request(method, path, host);
	uint32_t cookie;

	return check_from(p, 256, &req, &cookie);
}

static uint32_t ip(const char *text)
{
	uint32_t addr;

	assert_int_equal(inet_pton(AF_INET, text, &addr), 1);
	return addr;
}

/* ---- the document of docs/proxy-policy.md ------------------------------ */

static const char example_doc[] =
    "{'revision': 12,"
    " 'ipcache': [{'prefix': '10.200.0.2/32', 'identity': 256},"
    "             {'prefix': '10.200.0.1/32', 'identity': 1}],"
    " 'identities': [{'id': 256, 'labels': ['k8s:class=deathstar', 'k8s:org=empire']}],"
    " 'endpoints': [{'id': 1, 'name': 'default/deathstar', 'ipv4': '10.200.0.2',"
    "                'identity': 256}],"
    " 'l7': [{'endpoint': 1, 'direction': 'ingress', 'port': 80, 'identity': 0,"
    "         'exempt': [260],"
    "         'rules': [{'method': 'POST', 'path': '/v1/request-landing', 'host': null,"
    "                    'headers': [{'name': 'X-Has-Force', 'value': 'true'},"
    "                                {'name': 'X-Token', 'value': null}],"
    "                    'cookie': 65537}]}]}";

static void test_example_document(void **state)
{
	struct l7_policy *p = load_ok(example_doc);
	struct http_header headers[] = {header("x-has-force", "true"),
					header("X-Token", "t")};
	struct l7_request req = request("POST", "/v1/request-landing", "deathstar");
	const struct l7_endpoint *ep;
	uint32_t cookie = 99;

	(void)state;
	assert_int_equal(l7_policy__revision(p), 12);
	assert_int_equal(l7_policy__identity_of(p, ip("10.200.0.2")), 256);
	assert_int_equal(l7_policy__identity_of(p, ip("10.200.0.1")), 1);
	assert_int_equal(l7_policy__identity_of(p, ip("10.200.0.3")),
			 WARDEN_IDENTITY_WORLD);
	ep = l7_policy__endpoint_of(p, ip("10.200.0.2"));
	assert_non_null(ep);
	assert_int_equal(ep->id, 1);
	assert_int_equal(ep->identity, 256);
	assert_int_equal(ep->ipv4, ip("10.200.0.2"));
	assert_string_equal(ep->name, "default/deathstar");
	assert_string_equal(l7_policy__identity_labels(p, 256),
			    "k8s:class=deathstar,k8s:org=empire");

	req.headers = headers;
	req.header_count = 2;
	assert_int_equal(check_from(p, 257, &req, &cookie), L7_ALLOW);
	assert_int_equal(cookie, 65537);
	req.header_count = 1; /* no X-Token */
	assert_int_equal(check_from(p, 257, &req, &cookie), L7_DENY);
	assert_int_equal(cookie, 65537); /* denied: the entry's first rule */
	/* 260 is allowed at L4 only: the any-peer L7 rules do not apply. */
	assert_int_equal(check_from(p, 260, &req, &cookie), L7_EXEMPT);
	assert_int_equal(cookie, 0);
	l7_policy__put(p);
}

/* ---- load errors: the exact JSON path and reason ----------------------- */

#define ENTRY_HEAD "{'endpoint': 1, 'direction': 'ingress', 'port': 80, 'identity': 0, "
#define GOOD_ENTRY ENTRY_HEAD "'rules': [{'method': 'GET', 'cookie': 1}]}"

static void test_load_errors(void **state)
{
	(void)state;
	/* Regexes: the position of the error is in the pattern as written. */
	load_l7_fails(
	    GOOD_ENTRY
	    ", "
	    "{'endpoint': 1, 'direction': 'ingress', 'port': 81, 'identity': 0,"
	    " 'rules': [{'path': '/ok', 'cookie': 1}, {'path': '/v1/(x', 'cookie': 2}]}",
	    "l7[1].rules[1].path: regex error at offset 6: missing closing "
	    "parenthesis");
	load_l7_fails(ENTRY_HEAD "'rules': [{'method': 'GET|(?<x', 'cookie': 1}]}",
		      "l7[0].rules[0].method: regex error at offset 8: syntax error in "
		      "subpattern name (missing terminator?)");
	load_l7_fails(ENTRY_HEAD "'rules': [{'host': '*.example.com', 'cookie': 1}]}",
		      "l7[0].rules[0].host: regex error at offset 0: quantifier does not "
		      "follow a repeatable item");

	/* Missing fields. */
	load_l7_fails(
	    "{'endpoint': 1, 'direction': 'ingress', 'identity': 0, 'rules': []}",
	    "l7[0].port: missing");
	load_l7_fails(
	    "{'endpoint': 1, 'direction': 'ingress', 'port': 80, 'identity': 0}",
	    "l7[0].rules: missing");
	load_l7_fails(ENTRY_HEAD "'rules': [{'method': 'GET'}]}",
		      "l7[0].rules[0].cookie: missing");
	load_l7_fails(ENTRY_HEAD "'rules': [{'headers': [{'name': 'A'}, {'value': 'x'}],"
				 " 'cookie': 1}]}",
		      "l7[0].rules[0].headers[1].name: missing");
	load_fails("{'ipcache': [], 'identities': [], 'endpoints': [], 'l7': []}",
		   "revision: missing");
	load_fails("{'revision': 1, 'ipcache': [], 'identities': [], 'endpoints': []}",
		   "l7: missing");
	load_fails(
	    "{'revision': 1, 'ipcache': [{'prefix': '10.0.0.0/8'}], 'identities': [],"
	    " 'endpoints': [], 'l7': []}",
	    "ipcache[0].identity: missing");
	load_fails("{'revision': 1, 'ipcache': [], 'identities': [], 'l7': [],"
		   " 'endpoints': [{'id': 1, 'ipv4': '10.0.0.1', 'identity': 256}]}",
		   "endpoints[0].name: missing");

	/* Wrong types and values. */
	load_l7_fails(
	    "{'endpoint': 1, 'direction': 'ingress', 'port': '80', 'identity': 0,"
	    " 'rules': []}",
	    "l7[0].port: expected an integer 1..65535");
	load_l7_fails(
	    "{'endpoint': 1, 'direction': 'ingress', 'port': 70000, 'identity': 0,"
	    " 'rules': []}",
	    "l7[0].port: 70000 is out of range 1..65535");
	load_l7_fails(
	    "{'endpoint': 1, 'direction': 'ingress', 'port': 80.0, 'identity': 0,"
	    " 'rules': []}",
	    "l7[0].port: expected an integer 1..65535");
	load_l7_fails(
	    "{'endpoint': -1, 'direction': 'ingress', 'port': 80, 'identity': 0,"
	    " 'rules': []}",
	    "l7[0].endpoint: -1 is out of range 0..4294967295");
	load_l7_fails("{'endpoint': 1, 'direction': 'in', 'port': 80, 'identity': 0,"
		      " 'rules': []}",
		      "l7[0].direction: expected \"ingress\" or \"egress\", not \"in\"");
	load_l7_fails(ENTRY_HEAD "'rules': {}}", "l7[0].rules: expected an array");
	load_l7_fails(ENTRY_HEAD "'rules': [{'method': 5, 'cookie': 1}]}",
		      "l7[0].rules[0].method: expected a string or null");
	load_l7_fails(ENTRY_HEAD "'rules': [{'path': ['/a'], 'cookie': 1}]}",
		      "l7[0].rules[0].path: expected a string or null");
	load_l7_fails(ENTRY_HEAD "'rules': [{'cookie': true}]}",
		      "l7[0].rules[0].cookie: expected an integer 0..4294967295");
	load_l7_fails(ENTRY_HEAD "'rules': [{'headers': {'A': 'b'}, 'cookie': 1}]}",
		      "l7[0].rules[0].headers: expected an array or null");
	load_l7_fails(ENTRY_HEAD "'rules': [{'headers': [{'name': 'A', 'value': 1}],"
				 " 'cookie': 1}]}",
		      "l7[0].rules[0].headers[0].value: expected a string or null");
	load_l7_fails(ENTRY_HEAD "'rules': [{'headers': [{'name': ''}], 'cookie': 1}]}",
		      "l7[0].rules[0].headers[0].name: empty header name");
	load_l7_fails(ENTRY_HEAD "'rules': ['GET']}",
		      "l7[0].rules[0]: expected an object");
	load_l7_fails(ENTRY_HEAD "'exempt': [260, '261'], 'rules': []}",
		      "l7[0].exempt[1]: expected an identity (integer 0..4294967295)");
	/* A misspelt field would silently widen the rule: refused. */
	load_l7_fails(ENTRY_HEAD "'rules': [{'methd': 'GET', 'cookie': 1}]}",
		      "l7[0].rules[0].methd: unknown field");
	load_l7_fails(GOOD_ENTRY ", " GOOD_ENTRY,
		      "l7[1]: duplicate of l7[0] (same endpoint, direction, port and "
		      "identity)");
	load_fails("[]", "(document): expected an object");
	load_fails("{'revision': -1, 'ipcache': [], 'identities': [], 'endpoints': [],"
		   " 'l7': []}",
		   "revision: -1 is out of range 0..9223372036854775807");
	load_fails("{'revision': 1, 'ipcache': {}, 'identities': [], 'endpoints': [],"
		   " 'l7': []}",
		   "ipcache: expected an array");
	load_fails(
	    "{'revision': 1, 'ipcache': [{'prefix': '10.0.0.0/8', 'identity': 5},"
	    " {'prefix': '10.0.0.1/8', 'identity': 6}], 'identities': [],"
	    " 'endpoints': [], 'l7': []}",
	    "ipcache[1].prefix: \"10.0.0.1/8\" is not a prefix (address/length, host "
	    "bits clear)");
	load_fails("{'revision': 1, 'ipcache': [{'prefix': '10.0.0.0/8', 'identity': 5},"
		   " {'prefix': '10.0.0.0/8', 'identity': 6}], 'identities': [],"
		   " 'endpoints': [], 'l7': []}",
		   "ipcache[1].prefix: duplicate prefix 10.0.0.0/8");
	load_fails("{'revision': 1, 'ipcache': [], 'endpoints': [], 'l7': [],"
		   " 'identities': [{'id': 256, 'labels': ['k8s:a=b', 7]}]}",
		   "identities[0].labels[1]: expected a string (without NUL)");
	load_fails(
	    "{'revision': 1, 'ipcache': [], 'endpoints': [], 'l7': [],"
	    " 'identities': [{'id': 256, 'labels': []}, {'id': 256, 'labels': []}]}",
	    "identities[1].id: identity 256 is also identities[0]");
	load_fails("{'revision': 1, 'ipcache': [], 'identities': [], 'l7': [],"
		   " 'endpoints': [{'id': 1, 'name': 'a/b', 'ipv4': '10.0.0.300',"
		   " 'identity': 256}]}",
		   "endpoints[0].ipv4: \"10.0.0.300\" is not an IPv4 address");
	load_fails("{'revision': 1, 'ipcache': [], 'identities': [], 'l7': [],"
		   " 'endpoints': [{'id': 1, 'name': 'a/b', 'ipv4': '10.0.0.1', "
		   "'identity': 256},"
		   " {'id': 2, 'name': 'a/c', 'ipv4': '10.0.0.1', 'identity': 257}]}",
		   "endpoints[1].ipv4: 10.0.0.1 is also the address of endpoints[0]");
	load_fails("{'revision': 1, 'ipcache': [], 'identities': [], 'endpoints': [],"
		   " 'l7': [], 'extra': 1}",
		   "extra: unknown field");
}

/* Strings are read as C strings (addresses, names): a NUL is refused. */
static void test_load_nul_in_string(void **state)
{
	json_t *doc =
	    json_from("{'revision': 1, 'ipcache': [], 'identities': [], 'l7': [],"
		      " 'endpoints': [{'id': 1, 'name': 'a/b', 'identity': 256}]}");
	json_t *ep = json_array_get(json_object_get(doc, "endpoints"), 0);
	struct l7_policy *p = NULL;
	char err[256];

	(void)state;
	json_object_set_new(ep, "ipv4", json_stringn("10.0.0.1\0junk", 13));
	assert_int_equal(l7_policy__load(doc, &p, err, sizeof(err)), -EINVAL);
	assert_null(p);
	assert_string_equal(err, "endpoints[0].ipv4: contains a NUL byte");
	json_decref(doc);
}

/* An error after regexes were compiled frees them (ASan would see a leak). */
static void test_load_error_cleans_up(void **state)
{
	(void)state;
	load_l7_fails(
	    ENTRY_HEAD "'rules': [{'path': '/a/[0-9]+', 'host': '.*', 'cookie': 1},"
		       " {'path': '/a/[0-9]+', 'cookie': 2}]},"
		       " {'endpoint': 1, 'direction': 'sideways', 'port': 81,"
		       " 'identity': 0, 'rules': []}",
	    "l7[1].direction: expected \"ingress\" or \"egress\", not \"sideways\"");
	load_l7_fails(ENTRY_HEAD "'rules': [{'path': '/b/[0-9]+', 'cookie': 1},"
				 " {'path': '/c/[0-9]+'}]}",
		      "l7[0].rules[1].cookie: missing");
}

/* ---- matching ---------------------------------------------------------- */

static void test_anchoring(void **state)
{
	struct l7_policy *p;

	(void)state;
	/* "/v1" takes the literal fast path, "/v[1]" the regex path. */
	p = load_l7(ENTRY_HEAD "'rules': [{'path': '/v1', 'cookie': 1}]}");
	assert_int_equal(check_req(p, "GET", "/v1", "h"), L7_ALLOW);
	assert_int_equal(check_req(p, "GET", "/v1/x", "h"), L7_DENY);
	assert_int_equal(check_req(p, "GET", "/x/v1", "h"), L7_DENY);
	assert_int_equal(check_req(p, "GET", "/v", "h"), L7_DENY);
	l7_policy__put(p);

	p = load_l7(ENTRY_HEAD "'rules': [{'path': '/v[1]', 'cookie': 1}]}");
	assert_int_equal(check_req(p, "GET", "/v1", "h"), L7_ALLOW);
	assert_int_equal(check_req(p, "GET", "/v1/x", "h"), L7_DENY);
	assert_int_equal(check_req(p, "GET", "/x/v1", "h"), L7_DENY);
	/* "$" would match before a final newline; ENDANCHORED does not. */
	assert_int_equal(check_req(p, "GET", "/v1\n", "h"), L7_DENY);
	l7_policy__put(p);

	/* Every alternative must span the whole subject. */
	p = load_l7(ENTRY_HEAD "'rules': [{'method': 'GET|POST', 'cookie': 1}]}");
	assert_int_equal(check_req(p, "GET", "/", "h"), L7_ALLOW);
	assert_int_equal(check_req(p, "POST", "/", "h"), L7_ALLOW);
	assert_int_equal(check_req(p, "GETX", "/", "h"), L7_DENY);
	assert_int_equal(check_req(p, "XPOST", "/", "h"), L7_DENY);
	assert_int_equal(check_req(p, "GE", "/", "h"), L7_DENY);
	assert_int_equal(check_req(p, "GET|POST", "/", "h"), L7_DENY);
	l7_policy__put(p);

	/* Backtracking into a longer alternative to reach the end. */
	p = load_l7(ENTRY_HEAD "'rules': [{'path': '/a|/ab', 'cookie': 1}]}");
	assert_int_equal(check_req(p, "GET", "/ab", "h"), L7_ALLOW);
	l7_policy__put(p);

	/* The query is part of the path. */
	p = load_l7(ENTRY_HEAD "'rules': [{'path': '/search', 'cookie': 1},"
			       " {'path': '/find\\\\?q=[a-z]+', 'cookie': 2}]}");
	assert_int_equal(check_req(p, "GET", "/search?q=x", "h"), L7_DENY);
	assert_int_equal(check_req(p, "GET", "/find?q=abc", "h"), L7_ALLOW);
	assert_int_equal(check_req(p, "GET", "/find?q=abc&r=1", "h"), L7_DENY);
	l7_policy__put(p);
}

/*
 * The literal fast path (no PCRE2 for patterns without metacharacters)
 * must agree with PCRE2 itself: every byte but the metacharacters, inside
 * a pattern, against the same bytes and near misses.
 */
static void test_literal_fast_path_agrees_with_pcre2(void **state)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);

	(void)state;
	for (int c = 1; c < 256; c++) {
		char pattern[4] = {'a', (char)c, 'b', 0};
		json_t *doc = json_pack(
		    "{s:i, s:[], s:[], s:[], s:[{s:i, s:s, s:i, s:i, "
		    "s:[{s:o, s:i}]}]}",
		    "revision", 1, "ipcache", "identities", "endpoints", "l7", "endpoint",
		    1, "direction", "ingress", "port", 80, "identity", 0, "rules", "path",
		    json_stringn_nocheck(pattern, 3), "cookie", 1);
		const char *subjects[] = {pattern, "ab", "a", "aXb", "ab\n", "AXB"};
		struct l7_policy *p = NULL;
		PCRE2_SIZE offset;
		pcre2_code *code;
		char err[256];
		int error;

		assert_non_null(doc);
		code = pcre2_compile((PCRE2_SPTR)pattern, 3,
				     PCRE2_ANCHORED | PCRE2_ENDANCHORED, &error, &offset,
				     NULL);
		/* What PCRE2 refuses ("a(b") the loader refuses too. */
		assert_int_equal(l7_policy__load(doc, &p, err, sizeof(err)),
				 code ? 0 : -EINVAL);
		json_decref(doc);
		if (!code)
			continue;
		for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
			struct l7_request req = request("GET", subjects[i], "h");
			bool want = pcre2_match(code, (PCRE2_SPTR)subjects[i],
						strlen(subjects[i]), 0, 0, md, NULL) >= 0;
			uint32_t cookie;

			if ((check_from(p, 256, &req, &cookie) == L7_ALLOW) != want)
				fail_msg("byte 0x%02x, subject \"%s\": PCRE2 says %d", c,
					 subjects[i], want);
		}
		pcre2_code_free(code);
		l7_policy__put(p);
	}
	pcre2_match_data_free(md);
}

static void test_method_path_host(void **state)
{
	struct l7_policy *p;

	(void)state;
	p = load_l7(ENTRY_HEAD "'rules': [{'method': 'GET', 'path': '/public/.*',"
			       " 'host': '(www\\\\.)?example\\\\.com', 'cookie': 7}]}");
	assert_int_equal(check_req(p, "GET", "/public/a", "example.com"), L7_ALLOW);
	assert_int_equal(check_req(p, "GET", "/public/", "www.example.com"), L7_ALLOW);
	assert_int_equal(check_req(p, "PUT", "/public/a", "example.com"), L7_DENY);
	assert_int_equal(check_req(p, "GET", "/private", "example.com"), L7_DENY);
	assert_int_equal(check_req(p, "GET", "/public/a", "evil.com"), L7_DENY);
	assert_int_equal(check_req(p, "GET", "/public/a", "example.com.evil.com"),
			 L7_DENY);
	assert_int_equal(check_req(p, "GET", "/public/a", NULL), L7_DENY);
	/* Regexes are case-sensitive unless the pattern says otherwise. */
	assert_int_equal(check_req(p, "get", "/public/a", "example.com"), L7_DENY);
	l7_policy__put(p);

	/* null and absent are "any", including an absent Host. */
	p = load_l7(ENTRY_HEAD "'rules': [{'method': null, 'path': '/x', 'cookie': 1}]}");
	assert_int_equal(check_req(p, "DELETE", "/x", NULL), L7_ALLOW);
	assert_int_equal(check_req(p, "GET", "/x", "any"), L7_ALLOW);
	l7_policy__put(p);

	p = load_l7(ENTRY_HEAD "'rules': [{'cookie': 1}]}");
	assert_int_equal(check_req(p, "PATCH", "/anything?at=all", NULL), L7_ALLOW);
	l7_policy__put(p);

	/* An empty subject (no Host) against regexes and literals. */
	p = load_l7(ENTRY_HEAD "'rules': [{'host': '.*', 'cookie': 1}]}");
	assert_int_equal(check_req(p, "GET", "/", NULL), L7_ALLOW);
	l7_policy__put(p);
	p = load_l7(ENTRY_HEAD "'rules': [{'host': '', 'cookie': 1}]}");
	assert_int_equal(check_req(p, "GET", "/", NULL), L7_ALLOW);
	assert_int_equal(check_req(p, "GET", "/", "a"), L7_DENY);
	l7_policy__put(p);
	p = load_l7(ENTRY_HEAD "'rules': [{'host': '(?i)API\\\\.local', 'cookie': 1}]}");
	assert_int_equal(check_req(p, "GET", "/", "api.LOCAL"), L7_ALLOW);
	assert_int_equal(check_req(p, "GET", "/", NULL), L7_DENY);
	l7_policy__put(p);
}

static enum l7_verdict check_headers(const struct l7_policy *p,
				     const struct http_header *h, size_t count)
{
	struct l7_request req = request("GET", "/", "h");
	uint32_t cookie;

	req.headers = h;
	req.header_count = count;
	return check_from(p, 256, &req, &cookie);
}

static void test_headers(void **state)
{
	struct l7_policy *p;

	(void)state;
	p = load_l7(ENTRY_HEAD
		    "'rules': [{'headers': [{'name': 'X-Has-Force', 'value': 'true'},"
		    " {'name': 'X-Token'}], 'cookie': 1}]}");
	{
		struct http_header ok[] = {header("X-Token", ""),
					   header("X-Has-Force", "true")};
		struct http_header names[] = {header("x-token", "abc"),
					      header("X-HAS-FORCE", "true")};
		struct http_header no_token[] = {header("X-Has-Force", "true")};
		struct http_header no_force[] = {header("X-Token", "t")};
		struct http_header wrong[] = {header("X-Token", "t"),
					      header("X-Has-Force", "True")};
		struct http_header longer[] = {header("X-Token", "t"),
					       header("X-Has-Force", "true1")};
		struct http_header prefix_name[] = {header("X-Token-2", "t"),
						    header("X-Has-Force", "true")};
		/* Repeated header: any occurrence that matches satisfies it. */
		struct http_header repeated[] = {header("X-Has-Force", "false"),
						 header("X-Token", "t"),
						 header("x-has-force", "true")};
		struct http_header repeated_bad[] = {header("X-Has-Force", "false"),
						     header("X-Token", "t"),
						     header("X-Has-Force", "no")};

		assert_int_equal(check_headers(p, ok, 2), L7_ALLOW);
		assert_int_equal(check_headers(p, names, 2), L7_ALLOW);
		assert_int_equal(check_headers(p, no_token, 1), L7_DENY);
		assert_int_equal(check_headers(p, no_force, 1), L7_DENY);
		assert_int_equal(check_headers(p, wrong, 2), L7_DENY);
		assert_int_equal(check_headers(p, longer, 2), L7_DENY);
		assert_int_equal(check_headers(p, prefix_name, 2), L7_DENY);
		assert_int_equal(check_headers(p, repeated, 3), L7_ALLOW);
		assert_int_equal(check_headers(p, repeated_bad, 3), L7_DENY);
		assert_int_equal(check_headers(p, NULL, 0), L7_DENY);
	}
	l7_policy__put(p);

	/* A value with inner spaces is compared exactly. */
	p = load_l7(ENTRY_HEAD "'rules': [{'headers': [{'name': 'Accept',"
			       " 'value': 'text/html, */*'}], 'cookie': 1}]}");
	{
		struct http_header ok[] = {header("accept", "text/html, */*")};
		struct http_header other[] = {header("accept", "text/html,*/*")};

		assert_int_equal(check_headers(p, ok, 1), L7_ALLOW);
		assert_int_equal(check_headers(p, other, 1), L7_DENY);
	}
	l7_policy__put(p);
}

static void test_rules_or_fields_and(void **state)
{
	struct l7_policy *p;
	struct l7_request req;
	uint32_t cookie;

	(void)state;
	p = load_l7(ENTRY_HEAD "'rules': [{'method': 'GET', 'path': '/a', 'cookie': 1},"
			       " {'method': 'POST', 'path': '/b', 'cookie': 2},"
			       " {'method': 'GET|POST', 'path': '/[ab]', 'cookie': 3}]}");
	req = request("GET", "/a", "h");
	assert_int_equal(check_from(p, 256, &req, &cookie), L7_ALLOW);
	assert_int_equal(cookie, 1); /* the first of the rules that match */
	req = request("POST", "/b", "h");
	assert_int_equal(check_from(p, 256, &req, &cookie), L7_ALLOW);
	assert_int_equal(cookie, 2);
	req = request("GET", "/b", "h");
	assert_int_equal(check_from(p, 256, &req, &cookie), L7_ALLOW);
	assert_int_equal(cookie, 3);
	/* Denied: the cookie of the entry's first rule names the policy that
	 * restricted the port (the access log's "who said no"). */
	req = request("PUT", "/a", "h");
	assert_int_equal(check_from(p, 256, &req, &cookie), L7_DENY);
	assert_int_equal(cookie, 1);
	req = request("GET", "/c", "h");
	assert_int_equal(check_from(p, 256, &req, &cookie), L7_DENY);
	/* rule_cookie may be NULL. */
	req = request("GET", "/a", "h");
	assert_int_equal(check_from(p, 256, &req, NULL), L7_ALLOW);
	l7_policy__put(p);
}

static void test_any_peer_and_exempt(void **state)
{
	struct l7_policy *p;
	struct l7_request get = request("GET", "/", "h"),
			  post = request("POST", "/", "h");
	uint32_t cookie;

	(void)state;
	p = load_l7(
	    "{'endpoint': 1, 'direction': 'ingress', 'port': 80, 'identity': 0,"
	    " 'exempt': [900, 300, 5], 'rules': [{'method': 'GET', 'cookie': 10}]},"
	    "{'endpoint': 1, 'direction': 'ingress', 'port': 80, 'identity': 256,"
	    " 'rules': [{'method': 'POST', 'cookie': 20},"
	    "           {'method': 'GET', 'cookie': 21}]},"
	    "{'endpoint': 1, 'direction': 'egress', 'port': 443, 'identity': 256,"
	    " 'rules': [{'method': 'PUT', 'cookie': 30}]}");

	/* 256: its own rules plus the any-peer ones, its own first. */
	assert_int_equal(check_from(p, 256, &post, &cookie), L7_ALLOW);
	assert_int_equal(cookie, 20);
	assert_int_equal(check_from(p, 256, &get, &cookie), L7_ALLOW);
	assert_int_equal(cookie, 21);
	/* 257: the any-peer rules only. */
	assert_int_equal(check_from(p, 257, &get, &cookie), L7_ALLOW);
	assert_int_equal(cookie, 10);
	assert_int_equal(check_from(p, 257, &post, &cookie), L7_DENY);
	/* Exempt peers (the list need not be sorted): L7 does not apply. */
	assert_int_equal(check_from(p, 300, &post, &cookie), L7_EXEMPT);
	assert_int_equal(check_from(p, 5, &get, &cookie), L7_EXEMPT);
	assert_int_equal(check_from(p, 900, &get, &cookie), L7_EXEMPT);
	assert_int_equal(check_from(p, 301, &post, &cookie), L7_DENY);
	/* Peer identity 0 (unknown) gets the any-peer rules. */
	assert_int_equal(check_from(p, 0, &get, &cookie), L7_ALLOW);
	assert_int_equal(check_from(p, 0, &post, &cookie), L7_DENY);

	/* Other port, direction or endpoint: no entry, not applicable. */
	assert_int_equal(l7_policy__check(p, 1, IN, 81, 256, &get, &cookie),
			 L7_NOT_APPLICABLE);
	assert_int_equal(l7_policy__check(p, 2, IN, 80, 256, &get, &cookie),
			 L7_NOT_APPLICABLE);
	assert_int_equal(l7_policy__check(p, 1, EG, 80, 256, &get, &cookie),
			 L7_NOT_APPLICABLE);
	/* Egress 443: only 256 has rules there, no any-peer entry. */
	{
		struct l7_request put = request("PUT", "/", "h");

		assert_int_equal(l7_policy__check(p, 1, EG, 443, 256, &put, &cookie),
				 L7_ALLOW);
		assert_int_equal(cookie, 30);
		assert_int_equal(l7_policy__check(p, 1, EG, 443, 256, &get, &cookie),
				 L7_DENY);
		assert_int_equal(l7_policy__check(p, 1, EG, 443, 257, &put, &cookie),
				 L7_NOT_APPLICABLE);
	}
	l7_policy__put(p);
}

static void test_empty_rules_deny(void **state)
{
	struct l7_policy *p;
	struct l7_request get = request("GET", "/", "h");
	uint32_t cookie = 5;

	(void)state;
	p = load_l7(ENTRY_HEAD "'rules': []}");
	assert_int_equal(check_from(p, 256, &get, &cookie), L7_DENY);
	assert_int_equal(cookie, 0);
	assert_int_equal(check_from(p, 0, &get, &cookie), L7_DENY);
	assert_int_equal(l7_policy__check(p, 1, IN, 8080, 256, &get, &cookie),
			 L7_NOT_APPLICABLE);
	l7_policy__put(p);

	/* An empty peer entry adds no rules; the any-peer ones still apply. */
	p = load_l7(ENTRY_HEAD
		    "'rules': [{'method': 'GET', 'cookie': 4}]},"
		    "{'endpoint': 1, 'direction': 'ingress', 'port': 80, 'identity': 256,"
		    " 'rules': []}");
	assert_int_equal(check_from(p, 256, &get, &cookie), L7_ALLOW);
	assert_int_equal(cookie, 4);
	/* Denied: the empty peer entry has no rule to name, the any-peer one does. */
	{
		struct l7_request post = request("POST", "/", "h");

		assert_int_equal(check_from(p, 256, &post, &cookie), L7_DENY);
		assert_int_equal(cookie, 4);
	}
	l7_policy__put(p);

	/* A peer exempt from any-peer rules, with an empty entry of its own. */
	p = load_l7("{'endpoint': 1, 'direction': 'ingress', 'port': 80, 'identity': 0,"
		    " 'exempt': [256], 'rules': [{'method': 'GET', 'cookie': 4}]},"
		    "{'endpoint': 1, 'direction': 'ingress', 'port': 80, 'identity': 256,"
		    " 'rules': []}");
	assert_int_equal(check_from(p, 256, &get, &cookie), L7_DENY);
	assert_int_equal(cookie, 0); /* no rule applied that could be named */
	l7_policy__put(p);
}

/* ---- audit mode and the verdict of a flow ------------------------------ */

static void test_audit_flag_load(void **state)
{
	struct l7_policy *p;

	(void)state;
	p = load_ok("{'revision': 1, 'ipcache': [], 'identities': [], 'l7': [],"
		    " 'endpoints': [{'id': 1, 'name': 'a/x', 'ipv4': '10.0.0.1',"
		    "                'identity': 256, 'audit': true},"
		    "               {'id': 2, 'name': 'a/y', 'ipv4': '10.0.0.2',"
		    "                'identity': 257, 'audit': false},"
		    "               {'id': 3, 'name': 'a/z', 'ipv4': '10.0.0.3',"
		    "                'identity': 258}]}");
	assert_true(l7_policy__endpoint_of(p, ip("10.0.0.1"))->audit);
	assert_false(l7_policy__endpoint_of(p, ip("10.0.0.2"))->audit);
	assert_false(l7_policy__endpoint_of(p, ip("10.0.0.3"))->audit); /* absent */
	l7_policy__put(p);

	/* Only true or false: a flag that is not one cannot mean "enforce". */
	load_fails("{'revision': 1, 'ipcache': [], 'identities': [], 'l7': [],"
		   " 'endpoints': [{'id': 1, 'name': 'a/x', 'ipv4': '10.0.0.1',"
		   "                'identity': 256, 'audit': false},"
		   "               {'id': 2, 'name': 'a/y', 'ipv4': '10.0.0.2',"
		   "                'identity': 257, 'audit': 'true'}]}",
		   "endpoints[1].audit: expected true or false");
	load_fails("{'revision': 1, 'ipcache': [], 'identities': [], 'l7': [],"
		   " 'endpoints': [{'id': 1, 'name': 'a/x', 'ipv4': '10.0.0.1',"
		   "                'identity': 256, 'audit': 1}]}",
		   "endpoints[0].audit: expected true or false");
	load_fails("{'revision': 1, 'ipcache': [], 'identities': [], 'l7': [],"
		   " 'endpoints': [{'id': 1, 'name': 'a/x', 'ipv4': '10.0.0.1',"
		   "                'identity': 256, 'audit': null}]}",
		   "endpoints[0].audit: expected true or false");
	load_fails("{'revision': 1, 'ipcache': [], 'identities': [], 'l7': [],"
		   " 'endpoints': [{'id': 1, 'name': 'a/x', 'ipv4': '10.0.0.1',"
		   "                'identity': 256, 'audti': true}]}",
		   "endpoints[0].audti: unknown field");
}

/*
 * Client 10.0.0.1 (endpoint 1, identity 256) to server 10.0.0.2 (endpoint
 * 2, identity 257) on port 80. The client's egress rules allow GET /a and
 * GET /both, the server's ingress rules GET /b and GET /both; either
 * endpoint may be in audit mode.
 */
static struct l7_policy *flow_policy(bool client_audit, bool server_audit)
{
	static const char format[] =
	    "{'revision': 1,"
	    " 'ipcache': [{'prefix': '10.0.0.1/32', 'identity': 256},"
	    "             {'prefix': '10.0.0.2/32', 'identity': 257}],"
	    " 'identities': [],"
	    " 'endpoints': [{'id': 1, 'name': 'd/client', 'ipv4': '10.0.0.1',"
	    "                'identity': 256, 'audit': %s},"
	    "               {'id': 2, 'name': 'd/server', 'ipv4': '10.0.0.2',"
	    "                'identity': 257, 'audit': %s}],"
	    " 'l7': [{'endpoint': 1, 'direction': 'egress', 'port': 80,"
	    "         'identity': 0,"
	    "         'rules': [{'method': 'GET', 'path': '/a', 'cookie': 11},"
	    "                   {'method': 'GET', 'path': '/both', 'cookie': 12}]},"
	    "        {'endpoint': 2, 'direction': 'ingress', 'port': 80,"
	    "         'identity': 0,"
	    "         'rules': [{'method': 'GET', 'path': '/b', 'cookie': 21},"
	    "                   {'method': 'GET', 'path': '/both', 'cookie': 22}]}]}";
	char doc[4096];
	int n = snprintf(doc, sizeof(doc), format, client_audit ? "true" : "false",
			 server_audit ? "true" : "false");

	assert_true(n > 0 && (size_t)n < sizeof(doc));
	return load_ok(doc);
}

static struct l7_flow flow_of(const struct l7_policy *p, uint16_t port)
{
	return (struct l7_flow){
	    .source = l7_policy__endpoint_of(p, ip("10.0.0.1")),
	    .destination = l7_policy__endpoint_of(p, ip("10.0.0.2")),
	    .source_identity = 256,
	    .destination_identity = 257,
	    .port = port,
	};
}

static void test_decide_audit(void **state)
{
	static const struct {
		bool client_audit, server_audit;
		const char *path;
		enum l7_verdict verdict;
		int direction;
		uint32_t cookie;
	} cases[] = {
	    /* Both allow: the ingress side names the rule. */
	    {false, false, "/both", L7_ALLOW, IN, 22},
	    {true, true, "/both", L7_ALLOW, IN, 22},
	    /* Ingress denies: enforced, or audited by the server. */
	    {false, false, "/a", L7_DENY, IN, 21},
	    {true, false, "/a", L7_DENY, IN, 21}, /* the client's mode is not asked */
	    {false, true, "/a", L7_AUDIT, IN, 21},
	    /* Egress denies: enforced, or audited by the client. */
	    {false, false, "/b", L7_DENY, EG, 11},
	    {false, true, "/b", L7_DENY, EG, 11},
	    {true, false, "/b", L7_AUDIT, EG, 11},
	    /* Both deny: passes only when both sides audit. */
	    {false, false, "/none", L7_DENY, EG, 11},
	    {false, true, "/none", L7_DENY, EG, 11},
	    {true, false, "/none", L7_DENY, IN, 21},
	    {true, true, "/none", L7_AUDIT, EG, 11},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct l7_policy *p =
		    flow_policy(cases[i].client_audit, cases[i].server_audit);
		struct l7_request req = request("GET", cases[i].path, "h");
		struct l7_flow flow = flow_of(p, 80);
		struct l7_decision d;

		l7_policy__decide(p, &flow, &req, &d);
		if (d.verdict != cases[i].verdict || d.direction != cases[i].direction ||
		    d.rule_cookie != cases[i].cookie)
			fail_msg("case %zu (audit: client %d, server %d; %s): "
				 "%d/%d/%u, expected %d/%d/%u (verdict/direction/cookie)",
				 i, cases[i].client_audit, cases[i].server_audit,
				 cases[i].path, d.verdict, d.direction, d.rule_cookie,
				 cases[i].verdict, cases[i].direction, cases[i].cookie);
		l7_policy__put(p);
	}
}

static void test_decide_one_side(void **state)
{
	struct l7_policy *p = flow_policy(true, false);
	struct l7_request get_a = request("GET", "/a", "h"),
			  get_b = request("GET", "/b", "h");
	struct l7_flow flow = flow_of(p, 80);
	struct l7_decision d;

	(void)state;
	/* The server is not local: only the client's egress rules. */
	flow.destination = NULL;
	l7_policy__decide(p, &flow, &get_a, &d);
	assert_int_equal(d.verdict, L7_ALLOW);
	assert_int_equal(d.direction, EG);
	assert_int_equal(d.rule_cookie, 11);
	l7_policy__decide(p, &flow, &get_b, &d);
	assert_int_equal(d.verdict, L7_AUDIT);
	assert_int_equal(d.direction, EG);
	assert_int_equal(d.rule_cookie, 11);

	/* The client is not local: only the server's (enforced) ingress rules. */
	flow = flow_of(p, 80);
	flow.source = NULL;
	l7_policy__decide(p, &flow, &get_a, &d);
	assert_int_equal(d.verdict, L7_DENY);
	assert_int_equal(d.direction, IN);
	assert_int_equal(d.rule_cookie, 21);

	/* No rules on that port, whatever the modes: nothing explains why
	 * the flow was redirected, so it is refused (fail closed). */
	flow = flow_of(p, 81);
	l7_policy__decide(p, &flow, &get_b, &d);
	assert_int_equal(d.verdict, L7_NO_RULE);
	assert_int_equal(d.direction, -1);
	assert_int_equal(d.rule_cookie, 0);
	flow.source = flow.destination = NULL;
	l7_policy__decide(p, &flow, &get_b, &d);
	assert_int_equal(d.verdict, L7_NO_RULE);

	/* A caller bug must not open the door. */
	l7_policy__decide(NULL, &flow, &get_b, &d);
	assert_int_equal(d.verdict, L7_DENY);
	l7_policy__decide(p, NULL, &get_b, &d);
	assert_int_equal(d.verdict, L7_DENY);
	l7_policy__decide(p, &flow, NULL, &d);
	assert_int_equal(d.verdict, L7_DENY);
	l7_policy__put(p);
}

/* ---- ipcache, endpoints, identities ------------------------------------ */

static void test_ipcache_longest_prefix(void **state)
{
	struct l7_policy *p;

	(void)state;
	p = load_ok("{'revision': 3, 'identities': [], 'endpoints': [], 'l7': [],"
		    " 'ipcache': [{'prefix': '10.0.0.0/8', 'identity': 100},"
		    "             {'prefix': '10.1.2.3/32', 'identity': 300},"
		    "             {'prefix': '10.1.0.0/16', 'identity': 200},"
		    "             {'prefix': '10.1.2.0/23', 'identity': 250},"
		    "             {'prefix': '192.168.0.0/24', 'identity': 400},"
		    "             {'prefix': '2001:db8::/32', 'identity': 500}]}");
	assert_int_equal(l7_policy__identity_of(p, ip("10.1.2.3")), 300);
	assert_int_equal(l7_policy__identity_of(p, ip("10.1.2.4")), 250);
	assert_int_equal(l7_policy__identity_of(p, ip("10.1.3.255")), 250);
	assert_int_equal(l7_policy__identity_of(p, ip("10.1.4.1")), 200);
	assert_int_equal(l7_policy__identity_of(p, ip("10.2.0.1")), 100);
	assert_int_equal(l7_policy__identity_of(p, ip("192.168.0.9")), 400);
	assert_int_equal(l7_policy__identity_of(p, ip("192.168.1.9")),
			 WARDEN_IDENTITY_WORLD);
	assert_int_equal(l7_policy__identity_of(p, ip("11.0.0.1")),
			 WARDEN_IDENTITY_WORLD);
	l7_policy__put(p);

	/* A default route wins over WORLD; nothing longer is lost. */
	p = load_ok("{'revision': 3, 'identities': [], 'endpoints': [], 'l7': [],"
		    " 'ipcache': [{'prefix': '0.0.0.0/0', 'identity': 9},"
		    "             {'prefix': '128.0.0.0/1', 'identity': 11}]}");
	assert_int_equal(l7_policy__identity_of(p, ip("11.0.0.1")), 9);
	assert_int_equal(l7_policy__identity_of(p, ip("200.0.0.1")), 11);
	l7_policy__put(p);

	/* Empty cache. */
	p = load_ok("{'revision': 3, 'identities': [], 'endpoints': [], 'l7': [],"
		    " 'ipcache': []}");
	assert_int_equal(l7_policy__identity_of(p, ip("10.0.0.1")),
			 WARDEN_IDENTITY_WORLD);
	assert_null(l7_policy__endpoint_of(p, ip("10.0.0.1")));
	assert_string_equal(l7_policy__identity_labels(p, 256), "");
	l7_policy__put(p);
}

/* Thousands of prefixes, endpoints and entries: indexes grow and stay right. */
static void test_large_document(void **state)
{
	const size_t count = 5000;
	json_t *doc = json_pack("{s:i, s:[], s:[], s:[], s:[]}", "revision", 1, "ipcache",
				"identities", "endpoints", "l7");
	json_t *ipcache = json_object_get(doc, "ipcache");
	json_t *identities = json_object_get(doc, "identities");
	json_t *endpoints = json_object_get(doc, "endpoints");
	json_t *l7 = json_object_get(doc, "l7");
	struct l7_request req = request("GET", "/", "h");
	struct l7_policy *p = NULL;
	char err[256], text[64];
	uint32_t cookie;

	(void)state;
	for (size_t i = 0; i < count; i++) {
		snprintf(text, sizeof(text), "10.%zu.%zu.%zu/32", i >> 16, (i >> 8) & 255,
			 i & 255);
		json_array_append_new(ipcache,
				      json_pack("{s:s, s:I}", "prefix", text, "identity",
						(json_int_t)(1000 + i)));
		snprintf(text, sizeof(text), "11.0.%zu.0/24", i & 255);
		if (i < 256)
			json_array_append_new(ipcache, json_pack("{s:s, s:I}", "prefix",
								 text, "identity",
								 (json_int_t)(7000 + i)));
		snprintf(text, sizeof(text), "k8s:n=%zu", i);
		json_array_append_new(identities,
				      json_pack("{s:I, s:[s]}", "id",
						(json_int_t)(1000 + i), "labels", text));
		snprintf(text, sizeof(text), "10.%zu.%zu.%zu", i >> 16, (i >> 8) & 255,
			 i & 255);
		json_array_append_new(
		    endpoints, json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)i,
					 "name", "ns/pod", "ipv4", text, "identity",
					 (json_int_t)(1000 + i)));
		/* The same regex in every entry: compiled once, shared. */
		json_array_append_new(
		    l7, json_pack("{s:I, s:s, s:i, s:I, s:[{s:s, s:s, s:I}]}", "endpoint",
				  (json_int_t)i, "direction", "ingress", "port", 80,
				  "identity", (json_int_t)(1000 + (i + 1) % count),
				  "rules", "method", "GET|HEAD", "path", "/api/.*",
				  "cookie", (json_int_t)i));
	}
	assert_int_equal(l7_policy__load(doc, &p, err, sizeof(err)), 0);
	json_decref(doc);

	for (size_t i = 0; i < count; i += 7) {
		snprintf(text, sizeof(text), "10.%zu.%zu.%zu", i >> 16, (i >> 8) & 255,
			 i & 255);
		assert_int_equal(l7_policy__identity_of(p, ip(text)), 1000 + i);
		assert_int_equal(l7_policy__endpoint_of(p, ip(text))->id, i);
		snprintf(text, sizeof(text), "k8s:n=%zu", i);
		assert_string_equal(l7_policy__identity_labels(p, (uint32_t)(1000 + i)),
				    text);
		req.path = slice("/api/x");
		assert_int_equal(l7_policy__check(p, (uint32_t)i, IN, 80,
						  (uint32_t)(1000 + (i + 1) % count),
						  &req, &cookie),
				 L7_ALLOW);
		assert_int_equal(cookie, i);
		req.path = slice("/other");
		assert_int_equal(l7_policy__check(p, (uint32_t)i, IN, 80,
						  (uint32_t)(1000 + (i + 1) % count),
						  &req, &cookie),
				 L7_DENY);
		assert_int_equal(l7_policy__check(p, (uint32_t)i, IN, 80,
						  (uint32_t)(1000 + (i + 2) % count),
						  &req, &cookie),
				 L7_NOT_APPLICABLE);
	}
	assert_int_equal(l7_policy__identity_of(p, ip("11.0.17.5")), 7017);
	assert_int_equal(l7_policy__identity_of(p, ip("10.200.0.1")),
			 WARDEN_IDENTITY_WORLD);
	l7_policy__put(p);
}

/* ---- lifetime and threads ---------------------------------------------- */

static void test_refcount(void **state)
{
	struct l7_policy *p = load_ok(example_doc);

	(void)state;
	assert_ptr_equal(l7_policy__get(p), p);
	assert_ptr_equal(l7_policy__get(p), p);
	l7_policy__put(p);
	l7_policy__put(p);
	/* Still one reference: usable (ASan catches a premature free). */
	assert_int_equal(l7_policy__revision(p), 12);
	assert_string_equal(l7_policy__identity_labels(p, 256),
			    "k8s:class=deathstar,k8s:org=empire");
	l7_policy__put(p); /* the last: freed (LeakSanitizer catches a leak) */
	assert_null(l7_policy__get(NULL));
	l7_policy__put(NULL);
}

/* ---- fail closed, lifted keys, and a switch between revisions ---------- */

/*
 * Client 10.0.0.1 (endpoint 1, identity 256) to server 10.0.0.2 (endpoint
 * 2, identity 257), port 80, ingress rules of the server; `rest` is the
 * tail of the document after "'l7': [" (the entries and what follows).
 */
static struct l7_policy *switch_policy(const char *rest)
{
	char doc[8192];
	int n =
	    snprintf(doc, sizeof(doc),
		     "{'revision': 5,"
		     " 'ipcache': [{'prefix': '10.0.0.1/32', 'identity': 256},"
		     "             {'prefix': '10.0.0.2/32', 'identity': 257}],"
		     " 'identities': [],"
		     " 'endpoints': [{'id': 1, 'name': 'd/client', 'ipv4': '10.0.0.1',"
		     "                'identity': 256},"
		     "               {'id': 2, 'name': 'd/server', 'ipv4': '10.0.0.2',"
		     "                'identity': 257}],"
		     " 'l7': [%s}",
		     rest);

	assert_true(n > 0 && (size_t)n < (int)sizeof(doc));
	return load_ok(doc);
}

static enum l7_verdict decide_get(const struct l7_policy *p, const char *path,
				  uint16_t port, struct l7_decision *d)
{
	struct l7_request req = request("GET", path, "h");
	struct l7_flow flow = flow_of(p, port);

	l7_policy__decide(p, &flow, &req, d);
	return d->verdict;
}

#define SERVER_RULES(port, path, cookie)                                                 \
	"{'endpoint': 2, 'direction': 'ingress', 'port': " #port ", 'identity': 0,"      \
	" 'rules': [{'method': 'GET', 'path': '" path "', 'cookie': " #cookie "}]}"

static void test_no_rule_fails_closed(void **state)
{
	struct l7_policy *p = switch_policy(SERVER_RULES(80, "/a", 21) "]");
	struct l7_decision d;

	(void)state;
	/* Control: where rules exist they decide. */
	assert_int_equal(decide_get(p, "/a", 80, &d), L7_ALLOW);
	assert_int_equal(decide_get(p, "/b", 80, &d), L7_DENY);
	/* A flow on a port no rule covers was redirected for no reason. */
	assert_int_equal(decide_get(p, "/a", 81, &d), L7_NO_RULE);
	assert_int_equal(d.direction, -1);
	assert_int_equal(d.rule_cookie, 0);
	l7_policy__put(p);

	/* An exempt peer (allowed at L4 only) is not restricted. */
	p = switch_policy("{'endpoint': 2, 'direction': 'ingress', 'port': 80,"
			  " 'identity': 0, 'exempt': [256],"
			  " 'rules': [{'method': 'GET', 'path': '/a', 'cookie': 21}]}]");
	assert_int_equal(decide_get(p, "/b", 80, &d), L7_NOT_APPLICABLE);
	l7_policy__put(p);
}

static void test_lifted(void **state)
{
	struct l7_policy *p;
	struct l7_decision d;

	(void)state;
	/* The server's port 80 was lifted for any peer; 81 for identity 300. */
	p = switch_policy(SERVER_RULES(
	    90, "/a", 21) "], 'lifted': ["
			  "{'endpoint': 2, 'direction': 'ingress', 'port': 80,"
			  " 'identity': 0, 'since': 4},"
			  "{'endpoint': 2, 'direction': 'ingress', 'port': 81,"
			  " 'identity': 300, 'since': 3}]");
	assert_int_equal(decide_get(p, "/anything", 80, &d), L7_LIFTED);
	assert_int_equal(d.direction, IN);
	/* Another peer's key does not lift it for the client (256). */
	assert_int_equal(decide_get(p, "/anything", 81, &d), L7_NO_RULE);
	/* Rules, where there are any, still decide: lifted is a last resort. */
	assert_int_equal(decide_get(p, "/b", 90, &d), L7_DENY);
	l7_policy__put(p);

	/* Lifted on the client's egress side works the same. */
	p = switch_policy("], 'lifted': [{'endpoint': 1, 'direction': 'egress',"
			  " 'port': 80, 'identity': 257, 'since': 4}]");
	assert_int_equal(decide_get(p, "/x", 80, &d), L7_LIFTED);
	assert_int_equal(d.direction, EG);
	l7_policy__put(p);
}

/*
 * A document with "previous" is a switch in progress: a request passes
 * only if both generations let it (a generation without a rule for the
 * flow does not restrict it), so nothing both deny is forwarded and
 * nothing both allow is refused.
 */
static void test_switch_needs_both(void **state)
{
	static const struct {
		const char *doc;
		const char *path;
		uint16_t port;
		enum l7_verdict verdict;
		uint32_t cookie;
	} cases[] = {
	    /* Rules A (/a, /both) -> B (/b, /both): only /both passes. */
	    {"{'endpoint': 2, 'direction': 'ingress', 'port': 80, 'identity': 0,"
	     " 'rules': [{'method': 'GET', 'path': '/b', 'cookie': 31},"
	     "           {'method': 'GET', 'path': '/both', 'cookie': 32}]}],"
	     " 'previous': {'l7': [{'endpoint': 2, 'direction': 'ingress', 'port': 80,"
	     "  'identity': 0, 'rules': [{'method': 'GET', 'path': '/a', 'cookie': 21},"
	     "  {'method': 'GET', 'path': '/both', 'cookie': 22}]}]}",
	     "/both", 80, L7_ALLOW, 32},
	    {NULL, "/a", 80, L7_DENY, 31},
	    {NULL, "/b", 80, L7_DENY, 21},
	    {NULL, "/none", 80, L7_DENY, 31},
	    /* L3-denied -> L7 (the old generation has no rule): the new rules. */
	    {SERVER_RULES(80, "/a", 21) "], 'previous': {'l7': []}", "/a", 80, L7_ALLOW,
	     21},
	    {NULL, "/b", 80, L7_DENY, 21},
	    /* L7 -> L4 allow (the new generation has no rule): the old rules
	     * until the maps follow. */
	    {"], 'lifted': [{'endpoint': 2, 'direction': 'ingress', 'port': 80,"
	     " 'identity': 0, 'since': 5}],"
	     " 'previous': {'l7': [" SERVER_RULES(80, "/a", 21) "]}",
	     "/a", 80, L7_ALLOW, 21},
	    {NULL, "/b", 80, L7_DENY, 21},
	    /* No rule in either generation: refused. */
	    {"], 'previous': {'l7': []}", "/a", 80, L7_NO_RULE, 0},
	    /* Lifted before, still no rule now: forwarded. */
	    {"], 'previous': {'l7': [], 'lifted': [{'endpoint': 2,"
	     " 'direction': 'ingress', 'port': 80, 'identity': 256, 'since': 2}]}",
	     "/a", 80, L7_LIFTED, 0},
	};
	struct l7_policy *p = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct l7_decision d;

		if (cases[i].doc) {
			l7_policy__put(p);
			p = switch_policy(cases[i].doc);
		}
		decide_get(p, cases[i].path, cases[i].port, &d);
		if (d.verdict != cases[i].verdict || d.rule_cookie != cases[i].cookie)
			fail_msg("case %zu (%s): verdict %d cookie %u, expected %d %u", i,
				 cases[i].path, d.verdict, d.rule_cookie,
				 cases[i].verdict, cases[i].cookie);
	}
	l7_policy__put(p);
}

static void test_switch_load_errors(void **state)
{
	(void)state;
	load_fails("{'revision': 1, 'ipcache': [], 'identities': [], 'endpoints': [],"
		   " 'l7': [], 'previous': {'lifted': []}}",
		   "previous.l7: missing");
	load_fails("{'revision': 1, 'ipcache': [], 'identities': [], 'endpoints': [],"
		   " 'l7': [], 'previous': {'l7': [], 'rules': []}}",
		   "previous.rules: unknown field");
	load_fails("{'revision': 1, 'ipcache': [], 'identities': [], 'endpoints': [],"
		   " 'l7': [], 'lifted': [{'endpoint': 1, 'direction': 'up', 'port': 80,"
		   " 'identity': 0, 'since': 1}]}",
		   "lifted[0].direction: expected \"ingress\" or \"egress\", not \"up\"");
	load_fails("{'revision': 1, 'ipcache': [], 'identities': [], 'endpoints': [],"
		   " 'l7': [], 'previous': {'l7': [], 'lifted': [{'endpoint': 1,"
		   " 'direction': 'egress', 'port': 80, 'identity': 0}]}}",
		   "previous.lifted[0].since: missing");
	load_fails(
	    "{'revision': 1, 'ipcache': [], 'identities': [], 'endpoints': [],"
	    " 'l7': [], 'lifted': [{'endpoint': 1, 'direction': 'egress', 'port': 80,"
	    " 'identity': 0, 'since': 1}, {'endpoint': 1, 'direction': 'egress',"
	    " 'port': 80, 'identity': 0, 'since': 2}]}",
	    "lifted[1]: duplicate key");
	load_fails(
	    "{'revision': 1, 'ipcache': [], 'identities': [], 'endpoints': [],"
	    " 'l7': [], 'previous': {'l7': [" GOOD_ENTRY "," GOOD_ENTRY "]}}",
	    "previous.l7[1]: duplicate of l7[0] (same endpoint, direction, port and "
	    "identity)");
}

struct worker {
	struct l7_policy *policy; /* the worker's own reference */
	unsigned int seed;
	size_t checks;
	size_t mismatches;
};

static const char concurrent_entries[] =
    "{'endpoint': 1, 'direction': 'ingress', 'port': 80, 'identity': 0,"
    " 'exempt': [300],"
    " 'rules': [{'method': 'GET', 'path': '/public/[a-z]+', 'cookie': 1},"
    "           {'method': 'POST|PUT', 'path': '/api/v[0-9]+/items/[0-9]+',"
    "            'headers': [{'name': 'X-Token', 'value': 'secret'}], 'cookie': 2}]},"
    "{'endpoint': 1, 'direction': 'ingress', 'port': 80, 'identity': 256,"
    " 'rules': [{'method': 'DELETE', 'path': '/api/.*', 'host': 'api\\\\.local',"
    "            'cookie': 3}]}";

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	static const struct {
		const char *method, *path, *host;
		uint32_t peer;
		bool token;
		enum l7_verdict verdict;
		uint32_t cookie;
	} cases[] = {
	    {"GET", "/public/abc", "x", 256, false, L7_ALLOW, 1},
	    {"GET", "/public/ab1", "x", 256, false, L7_DENY, 3}, /* own entry first */
	    {"PUT", "/api/v2/items/17", "x", 257, true, L7_ALLOW, 2},
	    {"PUT", "/api/v2/items/17", "x", 257, false, L7_DENY, 1},
	    {"DELETE", "/api/v2/items/17", "api.local", 256, false, L7_ALLOW, 3},
	    {"DELETE", "/api/v2/items/17", "api.local", 257, false, L7_DENY, 1},
	    {"DELETE", "/api/v2/items/17", "api.local", 300, false, L7_EXEMPT, 0},
	};
	const size_t ncases = sizeof(cases) / sizeof(cases[0]);
	struct http_header token = header("x-token", "secret");

	for (size_t i = 0; i < w->checks; i++) {
		size_t c = (size_t)rand_r(&w->seed) % ncases;
		struct l7_request req =
		    request(cases[c].method, cases[c].path, cases[c].host);
		uint32_t cookie;

		if (cases[c].token) {
			req.headers = &token;
			req.header_count = 1;
		}
		if (check_from(w->policy, cases[c].peer, &req, &cookie) !=
			cases[c].verdict ||
		    cookie != cases[c].cookie)
			w->mismatches++;
	}
	/* The last of these frees the snapshot, on whichever thread that is. */
	l7_policy__put(w->policy);
	return NULL;
}

static void test_concurrent_checks(void **state)
{
	enum {
		THREADS = 4
	};
	struct l7_policy *p = load_l7(concurrent_entries);
	struct worker workers[THREADS];
	pthread_t threads[THREADS];

	(void)state;
	for (int i = 0; i < THREADS; i++) {
		workers[i] =
		    (struct worker){l7_policy__get(p), (unsigned int)i + 1, 200000, 0};
		assert_int_equal(
		    pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
	}
	/* Drop ours while the workers still run: they keep it alive. */
	l7_policy__put(p);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(workers[i].mismatches, 0);
	}
}

/* ---- regex limits ------------------------------------------------------ */

/*
 * Server 10.0.0.2 (endpoint 2, identity 257): ingress port 80 allows
 * GET /(a+)+ (catastrophic backtracking on "/aaa...!"), GET /ok, and
 * P(UT|OST) on the same pathological path; port 81 allows GET /(?:a|b)*!
 * (a group repeated once per byte: deep backtracking) and, on port 82, the
 * same pathological rule followed by one that matches "/a...!" for certain.
 */
static const char limits_doc[] =
    "{'revision': 1,"
    " 'ipcache': [{'prefix': '10.0.0.2/32', 'identity': 257}],"
    " 'identities': [],"
    " 'endpoints': [{'id': 2, 'name': 'd/server', 'ipv4': '10.0.0.2',"
    "                'identity': 257}],"
    " 'l7': [{'endpoint': 2, 'direction': 'ingress', 'port': 80, 'identity': 0,"
    "         'rules': [{'method': 'GET', 'path': '/(a+)+', 'cookie': 31},"
    "                   {'method': 'GET', 'path': '/ok', 'cookie': 32},"
    "                   {'method': 'P(UT|OST)', 'path': '/(a+)+', 'cookie': 33}]},"
    "        {'endpoint': 2, 'direction': 'ingress', 'port': 81, 'identity': 0,"
    "         'rules': [{'method': 'GET', 'path': '/(?:a|b)*!', 'cookie': 41}]},"
    "        {'endpoint': 2, 'direction': 'ingress', 'port': 82, 'identity': 0,"
    "         'rules': [{'method': 'GET', 'path': '/(a+)+', 'cookie': 51},"
    "                   {'method': 'GET', 'path': '/a*!', 'cookie': 52}]}]}";

/* "/" + n times 'a' + tail, in a static buffer. */
static const char *a_path(size_t n, const char *tail)
{
	static char buf[16384];

	assert_true(n + strlen(tail) + 2 <= sizeof(buf));
	buf[0] = '/';
	memset(buf + 1, 'a', n);
	strcpy(buf + 1 + n, tail);
	return buf;
}

static struct l7_decision decide_at(const struct l7_policy *p, uint16_t port,
				    const char *method, const char *path)
{
	struct l7_request req = request(method, path, "h");
	struct l7_flow flow = {
	    .destination = l7_policy__endpoint_of(p, ip("10.0.0.2")),
	    .source_identity = 2,
	    .destination_identity = 257,
	    .port = port,
	};
	struct l7_decision d;

	assert_non_null(flow.destination);
	l7_policy__decide(p, &flow, &req, &d);
	return d;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * PCRE2's own limits (10,000,000 steps) let this regex finish against 20
 * bytes; ours do not: the explicit limit is what stops it.
 */
static void test_regex_limit_is_ours(void **state)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	const char *path = a_path(20, "!");
	int error;
	PCRE2_SIZE offset;
	pcre2_code *code =
	    pcre2_compile((PCRE2_SPTR) "/(a+)+", PCRE2_ZERO_TERMINATED,
			  PCRE2_ANCHORED | PCRE2_ENDANCHORED, &error, &offset, NULL);
	struct l7_policy *p = load_ok(limits_doc);
	struct l7_decision d;

	(void)state;
	assert_non_null(code);
	assert_non_null(md);
	assert_int_equal(
	    pcre2_match(code, (PCRE2_SPTR)path, strlen(path), 0, 0, md, NULL),
	    PCRE2_ERROR_NOMATCH);
	d = decide_at(p, 80, "GET", path);
	assert_int_equal(d.verdict, L7_DENY);
	assert_true(d.limit_hit);
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	l7_policy__put(p);
}

static void test_regex_limits_fail_closed(void **state)
{
	struct l7_policy *p = load_ok(limits_doc);
	struct l7_decision d;
	double start, took;

	(void)state;
	/* Positive controls on the same entry: a plain match, and the
	 * pathological regex against a subject it matches at once. */
	d = decide_at(p, 80, "GET", "/ok");
	assert_int_equal(d.verdict, L7_ALLOW);
	assert_int_equal(d.rule_cookie, 32);
	assert_false(d.limit_hit);
	d = decide_at(p, 80, "GET", a_path(40, ""));
	assert_int_equal(d.verdict, L7_ALLOW);
	assert_int_equal(d.rule_cookie, 31);
	assert_false(d.limit_hit);
	/* An ordinary deny is not a limit's. */
	d = decide_at(p, 80, "GET", "/b");
	assert_int_equal(d.verdict, L7_DENY);
	assert_false(d.limit_hit);

	/* 2^40 ways to split the a's: unbounded, this would never end. */
	start = now_ms();
	d = decide_at(p, 80, "GET", a_path(40, "!"));
	took = now_ms() - start;
	assert_int_equal(d.verdict, L7_DENY);
	assert_true(d.limit_hit);
	assert_int_equal(d.rule_cookie, 31); /* the entry's first rule */
	if (took > 250)
		fail_msg("the limited match took %.1f ms", took);

	/* A field that certainly does not match settles the rule: the method
	 * (PUT|POST regex) fails, so the path's limit does not matter. */
	d = decide_at(p, 80, "DELETE", a_path(40, "!"));
	assert_int_equal(d.verdict, L7_DENY);
	assert_false(d.limit_hit);
	d = decide_at(p, 80, "PUT", a_path(40, "!"));
	assert_int_equal(d.verdict, L7_DENY);
	assert_true(d.limit_hit);

	/* Another rule that allows for certain wins over one that gave up. */
	d = decide_at(p, 82, "GET", a_path(40, "!"));
	assert_int_equal(d.verdict, L7_ALLOW);
	assert_int_equal(d.rule_cookie, 52);
	assert_false(d.limit_hit);

	/* Depth: a group repeated once per byte. 3,000 repetitions are within
	 * the limits (also for the JIT, whose default 32 KiB stack gives up
	 * at about 1,500); 8,000 are not. */
	d = decide_at(p, 81, "GET", a_path(3000, "!"));
	assert_int_equal(d.verdict, L7_ALLOW);
	assert_int_equal(d.rule_cookie, 41);
	d = decide_at(p, 81, "GET", a_path(8000, "!"));
	assert_int_equal(d.verdict, L7_DENY);
	assert_true(d.limit_hit);
	l7_policy__put(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_document),
	    cmocka_unit_test(test_no_rule_fails_closed),
	    cmocka_unit_test(test_lifted),
	    cmocka_unit_test(test_switch_needs_both),
	    cmocka_unit_test(test_switch_load_errors),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_load_nul_in_string),
	    cmocka_unit_test(test_load_error_cleans_up),
	    cmocka_unit_test(test_anchoring),
	    cmocka_unit_test(test_literal_fast_path_agrees_with_pcre2),
	    cmocka_unit_test(test_method_path_host),
	    cmocka_unit_test(test_headers),
	    cmocka_unit_test(test_rules_or_fields_and),
	    cmocka_unit_test(test_any_peer_and_exempt),
	    cmocka_unit_test(test_empty_rules_deny),
	    cmocka_unit_test(test_audit_flag_load),
	    cmocka_unit_test(test_decide_audit),
	    cmocka_unit_test(test_decide_one_side),
	    cmocka_unit_test(test_ipcache_longest_prefix),
	    cmocka_unit_test(test_large_document),
	    cmocka_unit_test(test_refcount),
	    cmocka_unit_test(test_concurrent_checks),
	    cmocka_unit_test(test_regex_limit_is_ours),
	    cmocka_unit_test(test_regex_limits_fail_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
