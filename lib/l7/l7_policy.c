// SPDX-License-Identifier: Apache-2.0
/*
 * Judges requests against an L7 policy snapshot (built by
 * l7_policy_load.c) and shares it between worker threads by reference
 * count. Everything here only reads the snapshot; the one thing written per
 * request is the calling thread's own PCRE2 match data.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <string.h>

#include "l7_policy_internal.h"
#include "warden/abi/maps.h"

/* ---- references -------------------------------------------------------- */

struct l7_policy *l7_policy__get(struct l7_policy *p)
{
	if (p)
		__atomic_add_fetch(&p->refcount, 1, __ATOMIC_RELAXED);
	return p;
}

/*
 * Release (and acquire on the last reference) so every other thread's use
 * of the snapshot happens before the free.
 */
void l7_policy__put(struct l7_policy *p)
{
	if (p && __atomic_sub_fetch(&p->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		l7_policy_free(p);
}

uint64_t l7_policy__revision(const struct l7_policy *p)
{
	return p->revision;
}

/* ---- lookups ----------------------------------------------------------- */

/* At most one hash probe per distinct prefix length, longest first. */
uint32_t l7_policy__identity_of(const struct l7_policy *p, uint32_t ipv4)
{
	uint32_t addr = ntohl(ipv4), identity;

	for (size_t i = 0; i < p->ipcache_length_count; i++) {
		unsigned int len = p->ipcache_lengths[i];
		uint32_t masked = len ? addr & (UINT32_MAX << (32 - len)) : 0;

		if (l7_index__find(&p->ipcache, (uint64_t)len << 32 | masked, 0,
				   &identity))
			return identity;
	}
	return WARDEN_IDENTITY_WORLD;
}

const struct l7_endpoint *l7_policy__endpoint_of(const struct l7_policy *p, uint32_t ipv4)
{
	uint32_t pos;

	if (!l7_index__find(&p->endpoints, ipv4, 0, &pos))
		return NULL;
	return &p->endpoint_list[pos];
}

const char *l7_policy__identity_labels(const struct l7_policy *p, uint32_t identity)
{
	uint32_t pos;

	if (!l7_index__find(&p->identities, identity, 0, &pos))
		return "";
	return p->identity_labels[pos];
}

/* ---- judging a request ------------------------------------------------- */

/*
 * Match data is per thread, not per call or per snapshot. pcre2_match needs
 * a writable block; creating one per call is a malloc and free per regex,
 * as dear as the JIT match itself. We never read captures, so one block
 * with a single ovector pair suits every pattern of every snapshot (a match
 * whose groups do not fit still returns >= 0), and a snapshot swap does not
 * invalidate it. The interpreter (no JIT) also keeps its backtracking frames
 * in the block, so reusing it saves that allocation too. A pthread key's
 * destructor frees it when the worker exits; the __thread copy is the fast
 * path.
 */
static pthread_once_t match_data_once = PTHREAD_ONCE_INIT;
static pthread_key_t match_data_key;
static bool match_data_key_ok;
static __thread pcre2_match_data *thread_match_data;

/* At thread exit; the thread's pointer is cleared in case a later
 * destructor of the same thread still checks a request. */
static void match_data_destroy(void *md)
{
	thread_match_data = NULL;
	pcre2_match_data_free(md);
}

static void match_data_key_create(void)
{
	match_data_key_ok = pthread_key_create(&match_data_key, match_data_destroy) == 0;
}

/* This thread's match data, or NULL on ENOMEM (then regexes do not match). */
static pcre2_match_data *thread_match_data_get(void)
{
	pcre2_match_data *md;

	if (thread_match_data)
		return thread_match_data;
	pthread_once(&match_data_once, match_data_key_create);
	if (!match_data_key_ok)
		return NULL;
	md = pcre2_match_data_create(1, NULL);
	if (!md)
		return NULL;
	if (pthread_setspecific(match_data_key, md)) {
		pcre2_match_data_free(md);
		return NULL;
	}
	thread_match_data = md;
	return md;
}

/*
 * Literals are short (methods, most paths), and the literals of one entry
 * tend to share a prefix ("/api/v1/...") and differ near the end: a loop
 * from the end rejects them in a byte or two, cheaper than a memcmp call.
 */
static bool bytes_equal(const char *a, const char *b, size_t len)
{
	if (len > 32)
		return a[len - 1] == b[len - 1] && !memcmp(a, b, len);
	while (len--)
		if (a[len] != b[len])
			return false;
	return true;
}

/*
 * Fails closed: a regex that cannot be evaluated (no match data, a match
 * or JIT stack limit hit) does not match, so the rule does not allow.
 */
static bool matcher_matches(const struct l7_matcher *m, const struct l7_request *req)
{
	const struct http_slice *s = (const void *)((const char *)req + m->field);
	/* PCRE2 10.42 refuses a NULL subject even with length 0. */
	const char *subject = s->ptr ? s->ptr : "";
	pcre2_match_data *md;
	int rc;

	if (m->kind == L7_MATCHER_LITERAL)
		return s->len == m->len && bytes_equal(subject, m->literal, s->len);
	md = thread_match_data_get();
	if (!md)
		return false;
	if (m->jit)
		rc =
		    pcre2_jit_match(m->code, (PCRE2_SPTR)subject, s->len, 0, 0, md, NULL);
	else
		rc = pcre2_match(m->code, (PCRE2_SPTR)subject, s->len, 0, 0, md, NULL);
	return rc >= 0;
}

/* ASCII only: header names are tokens, and the locale must not matter. */
static bool name_equal(struct http_slice a, const char *b, size_t len)
{
	if (a.len != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return true;
}

/* Each required header must have an occurrence that satisfies it. */
static bool headers_match(const struct l7_rule *rule, const struct l7_request *req)
{
	for (size_t i = 0; i < rule->header_count; i++) {
		const struct l7_header_match *want = &rule->headers[i];
		bool found = false;

		for (size_t j = 0; j < req->header_count && !found; j++) {
			const struct http_header *h = &req->headers[j];

			found = name_equal(h->name, want->name, want->name_len) &&
				(!want->value || (h->value.len == want->value_len &&
						  bytes_equal(h->value.ptr, want->value,
							      want->value_len)));
		}
		if (!found)
			return false;
	}
	return true;
}

static bool rule_matches(const struct l7_rule *rule, const struct l7_request *req)
{
	for (size_t i = 0; i < rule->matcher_count; i++)
		if (!matcher_matches(&rule->matchers[i], req))
			return false;
	return headers_match(rule, req);
}

/* The first rule of entry that allows req; its cookie into *cookie. */
static bool entry_allows(const struct l7_entry *entry, const struct l7_request *req,
			 uint32_t *cookie)
{
	if (!entry)
		return false;
	for (size_t i = 0; i < entry->rule_count; i++) {
		if (rule_matches(&entry->rules[i], req)) {
			*cookie = entry->rules[i].cookie;
			return true;
		}
	}
	return false;
}

static bool entry_exempts(const struct l7_entry *entry, uint32_t identity)
{
	size_t low = 0, high = entry->exempt_count;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (entry->exempt[mid] == identity)
			return true;
		if (entry->exempt[mid] < identity)
			low = mid + 1;
		else
			high = mid;
	}
	return false;
}

static const struct l7_entry *entry_find(const struct l7_rule_set *set,
					 uint32_t endpoint_id, uint8_t direction,
					 uint16_t port, uint32_t identity)
{
	uint32_t pos;

	if (!l7_index__find(&set->entries, l7_entry_key_a(endpoint_id, identity),
			    l7_entry_key_b(direction, port), &pos))
		return NULL;
	return &set->entry_list[pos];
}

/* Was the restriction of (endpoint, direction, port) lifted for the peer
 * (its own key, or the any-peer one)? */
static bool set_lifted(const struct l7_rule_set *set, uint32_t endpoint_id,
		       uint8_t direction, uint16_t port, uint32_t identity)
{
	uint32_t unused;
	uint64_t key_b = l7_entry_key_b(direction, port);

	return l7_index__find(&set->lifted, l7_entry_key_a(endpoint_id, identity), key_b,
			      &unused) ||
	       l7_index__find(&set->lifted,
			      l7_entry_key_a(endpoint_id, WARDEN_IDENTITY_UNKNOWN), key_b,
			      &unused);
}

/* The first rule of the first entry that has one: who restricted the port. */
static uint32_t first_cookie(const struct l7_entry *peer, const struct l7_entry *any)
{
	if (peer && peer->rule_count)
		return peer->rules[0].cookie;
	if (any && any->rule_count)
		return any->rules[0].cookie;
	return 0;
}

/*
 * The peer's own entry is tried first, then the any-peer entry, so the
 * cookie is that of the most specific allowing rule. Each entry that
 * applies contributes its rules (an empty list contributes none); the
 * request is allowed when any of them matches.
 */
static enum l7_verdict set_check(const struct l7_rule_set *set, uint32_t endpoint_id,
				 uint8_t direction, uint16_t port, uint32_t peer_identity,
				 const struct l7_request *req, uint32_t *cookie)
{
	const struct l7_entry *peer, *any = NULL;
	bool exempt = false;

	*cookie = 0;
	peer = entry_find(set, endpoint_id, direction, port, peer_identity);
	if (peer_identity != WARDEN_IDENTITY_UNKNOWN) {
		any = entry_find(set, endpoint_id, direction, port,
				 WARDEN_IDENTITY_UNKNOWN);
		if (any && entry_exempts(any, peer_identity)) {
			any = NULL;
			exempt = true;
		}
	}
	if (!peer && !any)
		return exempt ? L7_EXEMPT : L7_NOT_APPLICABLE;
	if (entry_allows(peer, req, cookie) || entry_allows(any, req, cookie))
		return L7_ALLOW;
	*cookie = first_cookie(peer, any);
	return L7_DENY;
}

/* Without a snapshot or a request the answer is DENY: a caller bug must
 * not open the door. */
enum l7_verdict l7_policy__check(const struct l7_policy *p, uint32_t endpoint_id,
				 uint8_t direction, uint16_t port, uint32_t peer_identity,
				 const struct l7_request *req, uint32_t *rule_cookie)
{
	uint32_t cookie = 0;
	enum l7_verdict verdict = L7_DENY;

	if (p && req)
		verdict = set_check(&p->current, endpoint_id, direction, port,
				    peer_identity, req, &cookie);
	if (rule_cookie)
		*rule_cookie = cookie;
	return verdict;
}

/* One side of a flow: its verdict, cookie, and whether a deny is enforced. */
struct side {
	enum l7_verdict verdict;
	uint32_t cookie;
	bool audit;
	bool lifted;
	int direction;
};

static void side_check(const struct l7_rule_set *set, const struct l7_endpoint *ep,
		       uint8_t direction, uint16_t port, uint32_t peer_identity,
		       const struct l7_request *req, struct side *side)
{
	side->verdict = L7_NOT_APPLICABLE;
	side->cookie = 0;
	side->audit = false;
	side->lifted = false;
	side->direction = direction;
	if (!ep)
		return;
	side->verdict =
	    set_check(set, ep->id, direction, port, peer_identity, req, &side->cookie);
	side->audit = ep->audit;
	if (side->verdict == L7_NOT_APPLICABLE)
		side->lifted = set_lifted(set, ep->id, direction, port, peer_identity);
}

static void decision_from(struct l7_decision *out, enum l7_verdict verdict,
			  const struct side *side)
{
	out->verdict = verdict;
	out->direction = side->direction;
	out->rule_cookie = side->cookie;
}

/*
 * The verdict of one generation of rules. Egress first. An enforced egress
 * deny settles it, so ingress is not even judged (as before audit mode
 * existed); an audited one must still learn whether ingress enforces a
 * deny of its own. When neither side has rules for the request: an exempt
 * peer (allowed at L4 only) is not restricted (NOT_APPLICABLE), a lifted
 * key is forwarded (LIFTED), anything else has no rule (NO_RULE).
 */
static void set_decide(const struct l7_rule_set *set, const struct l7_flow *flow,
		       const struct l7_request *req, struct l7_decision *out)
{
	struct side egress, ingress;

	*out = (struct l7_decision){.verdict = L7_NO_RULE, .direction = -1};
	side_check(set, flow->source, WARDEN_DIR_EGRESS, flow->port,
		   flow->destination_identity, req, &egress);
	if (egress.verdict == L7_DENY && !egress.audit) {
		decision_from(out, L7_DENY, &egress);
		return;
	}
	side_check(set, flow->destination, WARDEN_DIR_INGRESS, flow->port,
		   flow->source_identity, req, &ingress);
	if (ingress.verdict == L7_DENY && !ingress.audit)
		decision_from(out, L7_DENY, &ingress);
	else if (egress.verdict == L7_DENY)
		decision_from(out, L7_AUDIT, &egress);
	else if (ingress.verdict == L7_DENY)
		decision_from(out, L7_AUDIT, &ingress);
	else if (ingress.verdict == L7_ALLOW)
		decision_from(out, L7_ALLOW, &ingress);
	else if (egress.verdict == L7_ALLOW)
		decision_from(out, L7_ALLOW, &egress);
	else if (egress.verdict == L7_EXEMPT || ingress.verdict == L7_EXEMPT)
		out->verdict = L7_NOT_APPLICABLE; /* direction -1, cookie 0 */
	else if (egress.lifted)
		decision_from(out, L7_LIFTED, &egress);
	else if (ingress.lifted)
		decision_from(out, L7_LIFTED, &ingress);
}

/* How strict a generation's decision is, for combining two of them. */
static int strictness(enum l7_verdict verdict)
{
	switch (verdict) {
	case L7_DENY:
		return 3;
	case L7_AUDIT:
		return 2;
	case L7_ALLOW:
		return 1;
	default:
		return 0; /* no rule restricts it */
	}
}

/*
 * During a switch (a document with "previous") the request must pass the
 * rules of both revisions: the stricter decision wins, the current one on
 * a tie. A generation without a rule for the flow does not restrict it,
 * unless neither has one: then nothing explains why the flow was
 * redirected, and it is refused (NO_RULE).
 */
void l7_policy__decide(const struct l7_policy *p, const struct l7_flow *flow,
		       const struct l7_request *req, struct l7_decision *out)
{
	struct l7_decision previous;

	*out = (struct l7_decision){.verdict = L7_DENY, .direction = -1};
	if (!p || !flow || !req)
		return;
	set_decide(&p->current, flow, req, out);
	if (!p->has_previous)
		return;
	set_decide(&p->previous, flow, req, &previous);
	if (out->verdict == L7_NO_RULE)
		*out = previous;
	else if (strictness(previous.verdict) > strictness(out->verdict))
		*out = previous;
}
