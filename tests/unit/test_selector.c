// SPDX-License-Identifier: Apache-2.0
/* Unit tests for lib/identity/selector.c: Kubernetes LabelSelector semantics. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "warden/selector.h"

/* labels of an empire deathstar pod, plus a non-k8s label */
static struct label_set deathstar;

static int setup(void **state)
{
	char err[128];

	(void)state;
	memset(&deathstar, 0, sizeof(deathstar));
	return label_set__parse_list(
	    &deathstar, "k8s:org=empire,k8s:class=deathstar,container:tier=db", err,
	    sizeof(err));
}

static int teardown(void **state)
{
	(void)state;
	label_set__free(&deathstar);
	return 0;
}

static const char *const empire[] = {"empire"};
static const char *const rebels[] = {"alliance", "rebels"};
static const char *const either[] = {"alliance", "empire"};

static void test_empty_matches_all(void **state)
{
	struct selector sel = {0};
	struct label_set none = {0};

	(void)state;
	assert_true(selector__matches(&sel, &deathstar));
	assert_true(selector__matches(&sel, &none));
	assert_true(selector__matches(&sel, NULL));
}

static void test_match_nothing(void **state)
{
	struct selector sel = {0};

	(void)state;
	sel.match_nothing = true;
	assert_false(selector__matches(&sel, &deathstar));
	/* Even with requirements that would hold. */
	assert_int_equal(selector__add(&sel, "org", SELECTOR_OP_IN, empire, 1), 0);
	assert_false(selector__matches(&sel, &deathstar));
	selector__free(&sel);
}

static void test_in(void **state)
{
	struct selector sel = {0};

	(void)state;
	assert_int_equal(selector__add(&sel, "org", SELECTOR_OP_IN, either, 2), 0);
	assert_true(selector__matches(&sel, &deathstar));
	selector__free(&sel);

	assert_int_equal(selector__add(&sel, "org", SELECTOR_OP_IN, rebels, 2), 0);
	assert_false(selector__matches(&sel, &deathstar));
	selector__free(&sel);

	/* In on an absent key never holds. */
	assert_int_equal(selector__add(&sel, "missing", SELECTOR_OP_IN, empire, 1), 0);
	assert_false(selector__matches(&sel, &deathstar));
	selector__free(&sel);
}

static void test_not_in(void **state)
{
	struct selector sel = {0};

	(void)state;
	assert_int_equal(selector__add(&sel, "org", SELECTOR_OP_NOT_IN, rebels, 2), 0);
	assert_true(selector__matches(&sel, &deathstar));
	selector__free(&sel);

	assert_int_equal(selector__add(&sel, "org", SELECTOR_OP_NOT_IN, either, 2), 0);
	assert_false(selector__matches(&sel, &deathstar));
	selector__free(&sel);

	/* Kubernetes: NotIn holds when the key is absent. */
	assert_int_equal(selector__add(&sel, "missing", SELECTOR_OP_NOT_IN, empire, 1),
			 0);
	assert_true(selector__matches(&sel, &deathstar));
	selector__free(&sel);
}

static void test_exists(void **state)
{
	struct selector sel = {0};

	(void)state;
	assert_int_equal(selector__add(&sel, "class", SELECTOR_OP_EXISTS, NULL, 0), 0);
	assert_true(selector__matches(&sel, &deathstar));
	selector__free(&sel);

	assert_int_equal(selector__add(&sel, "missing", SELECTOR_OP_EXISTS, NULL, 0), 0);
	assert_false(selector__matches(&sel, &deathstar));
	selector__free(&sel);

	assert_int_equal(
	    selector__add(&sel, "missing", SELECTOR_OP_DOES_NOT_EXIST, NULL, 0), 0);
	assert_true(selector__matches(&sel, &deathstar));
	selector__free(&sel);

	assert_int_equal(
	    selector__add(&sel, "class", SELECTOR_OP_DOES_NOT_EXIST, NULL, 0), 0);
	assert_false(selector__matches(&sel, &deathstar));
	selector__free(&sel);
}

static void test_conjunction(void **state)
{
	struct selector sel = {0};

	(void)state;
	assert_int_equal(selector__add(&sel, "k8s:org", SELECTOR_OP_IN, empire, 1), 0);
	assert_int_equal(selector__add(&sel, "class", SELECTOR_OP_EXISTS, NULL, 0), 0);
	assert_true(selector__matches(&sel, &deathstar));
	assert_int_equal(selector__add(&sel, "missing", SELECTOR_OP_EXISTS, NULL, 0), 0);
	assert_false(selector__matches(&sel, &deathstar));
	selector__free(&sel);
}

static void test_sources(void **state)
{
	struct selector sel = {0};
	const char *const db[] = {"db"};

	(void)state;
	/* "k8s:" only looks at k8s labels. */
	assert_int_equal(selector__add(&sel, "k8s:tier", SELECTOR_OP_IN, db, 1), 0);
	assert_false(selector__matches(&sel, &deathstar));
	selector__free(&sel);

	/* No source and "any:" look at every source. */
	assert_int_equal(selector__add(&sel, "tier", SELECTOR_OP_IN, db, 1), 0);
	assert_string_equal(sel.requirements[0].source, "any");
	assert_string_equal(sel.requirements[0].key, "tier");
	assert_true(selector__matches(&sel, &deathstar));
	selector__free(&sel);

	assert_int_equal(selector__add(&sel, "any:tier", SELECTOR_OP_EXISTS, NULL, 0), 0);
	assert_true(selector__matches(&sel, &deathstar));
	selector__free(&sel);

	assert_int_equal(
	    selector__add(&sel, "container:tier", SELECTOR_OP_EXISTS, NULL, 0), 0);
	assert_true(selector__matches(&sel, &deathstar));
	selector__free(&sel);

	/* DoesNotExist with a source holds if only another source has it. */
	assert_int_equal(
	    selector__add(&sel, "k8s:tier", SELECTOR_OP_DOES_NOT_EXIST, NULL, 0), 0);
	assert_true(selector__matches(&sel, &deathstar));
	selector__free(&sel);

	assert_int_equal(
	    selector__add(&sel, "reserved:host", SELECTOR_OP_EXISTS, NULL, 0), 0);
	assert_false(selector__matches(&sel, &deathstar));
	selector__free(&sel);
}

static void test_add_errors(void **state)
{
	struct selector sel = {0};

	(void)state;
	assert_int_equal(selector__add(&sel, "org", SELECTOR_OP_IN, NULL, 0), -EINVAL);
	assert_int_equal(selector__add(&sel, "org", SELECTOR_OP_NOT_IN, empire, 0),
			 -EINVAL);
	assert_int_equal(selector__add(&sel, "org", SELECTOR_OP_EXISTS, empire, 1),
			 -EINVAL);
	assert_int_equal(selector__add(&sel, "", SELECTOR_OP_EXISTS, NULL, 0), -EINVAL);
	assert_int_equal(selector__add(&sel, ":org", SELECTOR_OP_EXISTS, NULL, 0),
			 -EINVAL);
	assert_int_equal(selector__add(&sel, "k8s:", SELECTOR_OP_EXISTS, NULL, 0),
			 -EINVAL);
	assert_int_equal(sel.count, 0);
	selector__free(&sel);
}

static void test_has_key_copy_format(void **state)
{
	struct selector sel = {0}, copy = {0};
	char buf[256];
	size_t need;

	(void)state;
	assert_int_equal(selector__add(&sel, "k8s:org", SELECTOR_OP_IN, empire, 1), 0);
	assert_int_equal(selector__add(&sel, "class", SELECTOR_OP_IN, either, 2), 0);
	assert_int_equal(selector__add(&sel, "k8s:x", SELECTOR_OP_NOT_IN, empire, 1), 0);
	assert_int_equal(selector__add(&sel, "k8s:y", SELECTOR_OP_NOT_IN, rebels, 2), 0);
	assert_int_equal(selector__add(&sel, "z", SELECTOR_OP_EXISTS, NULL, 0), 0);
	assert_int_equal(
	    selector__add(&sel, "k8s:w", SELECTOR_OP_DOES_NOT_EXIST, NULL, 0), 0);

	assert_true(selector__has_key(&sel, "org"));
	assert_true(selector__has_key(&sel, "k8s:class"));
	assert_false(selector__has_key(&sel, "io.kubernetes.pod.namespace"));

	need = selector__format(&sel, buf, sizeof(buf));
	assert_string_equal(buf,
			    "k8s:org=empire,any:class in (alliance,empire),k8s:x!=empire,"
			    "k8s:y notin (alliance,rebels),any:z,!k8s:w");
	assert_int_equal(need, strlen(buf));
	/* Truncation reports the full length. */
	assert_int_equal(selector__format(&sel, buf, 4), need);
	assert_string_equal(buf, "k8s");

	assert_int_equal(selector__copy(&copy, &sel), 0);
	selector__free(&sel);
	/* The copy still evaluates: class=deathstar is not in (alliance,empire). */
	assert_false(selector__matches(&copy, &deathstar));
	selector__format(&copy, buf, sizeof(buf));
	assert_string_equal(buf,
			    "k8s:org=empire,any:class in (alliance,empire),k8s:x!=empire,"
			    "k8s:y notin (alliance,rebels),any:z,!k8s:w");
	selector__free(&copy);

	copy.match_nothing = true;
	selector__format(&copy, buf, sizeof(buf));
	assert_string_equal(buf, "<nothing>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_matches_all),
	    cmocka_unit_test(test_match_nothing),
	    cmocka_unit_test(test_in),
	    cmocka_unit_test(test_not_in),
	    cmocka_unit_test(test_exists),
	    cmocka_unit_test(test_conjunction),
	    cmocka_unit_test(test_sources),
	    cmocka_unit_test(test_add_errors),
	    cmocka_unit_test(test_has_key_copy_format),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
