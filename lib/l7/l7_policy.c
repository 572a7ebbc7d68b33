// SPDX-License-Identifier: Apache-2.0
/*
 * Judges requests against an L7 policy snapshot (built by
 * l7_policy_load.c) and shares it between worker threads by reference
 * count. Everything here only reads the snapshot; the one thing written per
 * request is the calling thread's own PCRE2 match state.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
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
 * What a regex may cost per request. PCRE2's defaults (10,000,000 match
 * calls, depth 10,000,000, 20 MB of heap) let one crafted request keep a
 * worker busy for a tenth of a second per pattern (`(a+)+` against 28
 * bytes: 138 ms interpreted, 15 ms JIT), and every other connection of
 * that worker waits. With these, the same request gives up in 1.3 ms
 * (0.16 ms JIT), while ordinary path patterns stay far below them: a
 * pattern needs about one match call per subject byte plus its
 * backtracking, and a head is at most 16 KiB.
 *  - match limit: backtracking steps, interpreter and JIT alike;
 *  - depth limit: nested backtracking points of the interpreter (a group
 *    repeated N times needs about 3N), which also bounds its heap;
 *  - heap limit: the interpreter's frames, in KiB;
 *  - JIT stack: the JIT ignores the depth and heap limits and keeps its
 *    backtracking on a stack of its own; without one it uses 32 KiB of the
 *    machine stack (about 1,500 repetitions of a group). Ours grows to
 *    L7_REGEX_JIT_STACK_MAX, about the depth the interpreter allows.
 * Hitting any of them makes the regex "unknown": the request is denied
 * unless another rule allows it for certain (l7_decision.limit_hit).
 */
#define L7_REGEX_MATCH_LIMIT 100000u
#define L7_REGEX_DEPTH_LIMIT 10000u
#define L7_REGEX_HEAP_LIMIT_KIB 4096u
#define L7_REGEX_JIT_STACK_START (32u << 10)
#define L7_REGEX_JIT_STACK_MAX (128u << 10)

/*
 * Match state is per thread, not per call or per snapshot. pcre2_match
 * needs a writable block; creating one per call is a malloc and free per
 * regex, as dear as the JIT match itself. We never read captures, so one
 * block with a single ovector pair suits every pattern of every snapshot (a
 * match whose groups do not fit still returns >= 0), and a snapshot swap
 * does not invalidate it. The interpreter (no JIT) also keeps its
 * backtracking frames in the block, so reusing it saves that allocation
 * too. The match context carries the limits and the thread's JIT stack
 * (a JIT stack must not be shared by threads matching at once). A pthread
 * key's destructor frees them when the worker exits; the __thread copy is
 * the fast path.
 */
struct match_state {
	pcre2_match_data *data;
	pcre2_match_context *context;
	pcre2_jit_stack *jit_stack;
};

static pthread_once_t match_state_once = PTHREAD_ONCE_INIT;
static pthread_key_t match_state_key;
static bool match_state_key_ok;
static __thread struct match_state *thread_match_state;

static void match_state_free(struct match_state *ms)
{
	if (!ms)
		return;
	pcre2_match_data_free(ms->data);
	pcre2_match_context_free(ms->context);
	pcre2_jit_stack_free(ms->jit_stack);
	free(ms);
}

/* At thread exit; the thread's pointer is cleared in case a later
 * destructor of the same thread still checks a request. */
static void match_state_destroy(void *ms)
{
	thread_match_state = NULL;
	match_state_free(ms);
}

static void match_state_key_create(void)
{
	match_state_key_ok =
	    pthread_key_create(&match_state_key, match_state_destroy) == 0;
}

static struct match_state *match_state_new(void)
{
	struct match_state *ms = calloc(1, sizeof(*ms));

	if (!ms)
		return NULL;
	ms->data = pcre2_match_data_create(1, NULL);
	ms->context = pcre2_match_context_create(NULL);
	if (!ms->data || !ms->context)
		goto fail;
	if (pcre2_set_match_limit(ms->context, L7_REGEX_MATCH_LIMIT) ||
	    pcre2_set_depth_limit(ms->context, L7_REGEX_DEPTH_LIMIT) ||
	    pcre2_set_heap_limit(ms->context, L7_REGEX_HEAP_LIMIT_KIB))
		goto fail;
	/* Without JIT support this fails: the interpreter needs no stack. */
	ms->jit_stack = pcre2_jit_stack_create(L7_REGEX_JIT_STACK_START,
					       L7_REGEX_JIT_STACK_MAX, NULL);
	if (ms->jit_stack)
		pcre2_jit_stack_assign(ms->context, NULL, ms->jit_stack);
	return ms;
fail:
	match_state_free(ms);
	return NULL;
}

/* This thread's match state, or NULL on ENOMEM (then no regex matches). */
static struct match_state *thread_match_state_get(void)
{
	struct match_state *ms;

	if (thread_match_state)
		return thread_match_state;
	pthread_once(&match_state_once, match_state_key_create);
	if (!match_state_key_ok)
		return NULL;
	ms = match_state_new();
	if (!ms)
		return NULL;
	if (pthread_setspecific(match_state_key, ms)) {
		match_state_free(ms);
		return NULL;
	}
	thread_match_state = ms;
	return ms;
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

/* What one field, one rule or one entry says about a request. */
enum match_result {
	MATCH_NO,
	MATCH_YES,
	/* A regex gave up (a limit, no memory): the answer is not known. */
	MATCH_UNKNOWN,
};

/*
 * Fails closed: a regex that cannot be evaluated (no match state, a match,
 * depth, heap or JIT stack limit hit) is MATCH_UNKNOWN, which never allows.
 */
static enum match_result matcher_matches(const struct l7_matcher *m,
					 const struct l7_request *req)
{
	const struct http_slice *s = (const void *)((const char *)req + m->field);
	/* PCRE2 10.42 refuses a NULL subject even with length 0. */
	const char *subject = s->ptr ? s->ptr : "";
	struct match_state *ms;
	int rc;

	if (m->kind == L7_MATCHER_LITERAL)
		return s->len == m->len && bytes_equal(subject, m->literal, s->len)
			   ? MATCH_YES
			   : MATCH_NO;
	ms = thread_match_state_get();
	if (!ms)
		return MATCH_UNKNOWN;
	if (m->jit)
		rc = pcre2_jit_match(m->code, (PCRE2_SPTR)subject, s->len, 0, 0, ms->data,
				     ms->context);
	else
		rc = pcre2_match(m->code, (PCRE2_SPTR)subject, s->len, 0, 0, ms->data,
				 ms->context);
	if (rc >= 0)
		return MATCH_YES;
	return rc == PCRE2_ERROR_NOMATCH ? MATCH_NO : MATCH_UNKNOWN;
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

/*
 * The fields of a rule are ANDed: one field that certainly does not match
 * settles it (whatever another regex could not decide); otherwise a field
 * that could not be decided leaves the rule undecided.
 */
static enum match_result rule_matches(const struct l7_rule *rule,
				      const struct l7_request *req)
{
	enum match_result result = MATCH_YES;

	for (size_t i = 0; i < rule->matcher_count; i++) {
		enum match_result r = matcher_matches(&rule->matchers[i], req);

		if (r == MATCH_NO)
			return MATCH_NO;
		if (r == MATCH_UNKNOWN)
			result = MATCH_UNKNOWN;
	}
	if (!headers_match(rule, req))
		return MATCH_NO;
	return result;
}

/*
 * The first rule of entry that allows req: MATCH_YES with its cookie in
 * *cookie. Rules are ORed: MATCH_UNKNOWN when none allows and one could
 * not be decided (a regex limit), MATCH_NO when none allows for certain.
 */
static enum match_result entry_allows(const struct l7_entry *entry,
				      const struct l7_request *req, uint32_t *cookie)
{
	enum match_result result = MATCH_NO;

	if (!entry)
		return MATCH_NO;
	for (size_t i = 0; i < entry->rule_count; i++) {
		enum match_result r = rule_matches(&entry->rules[i], req);

		if (r == MATCH_YES) {
			*cookie = entry->rules[i].cookie;
			return MATCH_YES;
		}
		if (r == MATCH_UNKNOWN)
			result = MATCH_UNKNOWN;
	}
	return result;
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
 * request is allowed when any of them matches. *limit_hit: the deny is
 * there because a regex gave up (no rule allowed for certain, and one
 * might have).
 */
static enum l7_verdict set_check(const struct l7_rule_set *set, uint32_t endpoint_id,
				 uint8_t direction, uint16_t port, uint32_t peer_identity,
				 const struct l7_request *req, uint32_t *cookie,
				 bool *limit_hit)
{
	const struct l7_entry *peer, *any = NULL;
	enum match_result peer_result, any_result = MATCH_NO;
	bool exempt = false;

	*cookie = 0;
	*limit_hit = false;
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
	peer_result = entry_allows(peer, req, cookie);
	if (peer_result != MATCH_YES)
		any_result = entry_allows(any, req, cookie);
	if (peer_result == MATCH_YES || any_result == MATCH_YES)
		return L7_ALLOW;
	*cookie = first_cookie(peer, any);
	*limit_hit = peer_result == MATCH_UNKNOWN || any_result == MATCH_UNKNOWN;
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

	bool limit_hit;

	if (p && req)
		verdict = set_check(&p->current, endpoint_id, direction, port,
				    peer_identity, req, &cookie, &limit_hit);
	if (rule_cookie)
		*rule_cookie = cookie;
	return verdict;
}

/* One side of a flow: its verdict, cookie, and whether a deny is enforced. */
struct side {
	enum l7_verdict verdict;
	uint32_t cookie;
	bool audit;
	bool limit_hit;
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
	side->limit_hit = false;
	side->lifted = false;
	side->direction = direction;
	if (!ep)
		return;
	side->verdict = set_check(set, ep->id, direction, port, peer_identity, req,
				  &side->cookie, &side->limit_hit);
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
	out->limit_hit = side->limit_hit;
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
