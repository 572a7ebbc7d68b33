// SPDX-License-Identifier: Apache-2.0
/* Unit tests for lib/identity/labels.c: validation, parsing, sorted sets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "warden/labels.h"

static void test_key_valid(void **state)
{
	char err[256];
	char name63[64];

	(void)state;
	memset(name63, 'a', 63);
	name63[63] = '\0';

	assert_int_equal(label_key__validate("app", err, sizeof(err)), 0);
	assert_int_equal(label_key__validate("a", err, sizeof(err)), 0);
	assert_int_equal(
	    label_key__validate("io.kubernetes.pod.namespace", err, sizeof(err)), 0);
	assert_int_equal(label_key__validate("app.kubernetes.io/name", err, sizeof(err)),
			 0);
	assert_int_equal(label_key__validate("My_Key-1.x", err, sizeof(err)), 0);
	assert_int_equal(label_key__validate(name63, err, sizeof(err)), 0);
}

static void test_key_invalid(void **state)
{
	char err[256];
	char name64[65];
	char prefix254[300];

	(void)state;
	memset(name64, 'a', 64);
	name64[64] = '\0';

	assert_int_equal(label_key__validate("", err, sizeof(err)), -EINVAL);
	assert_int_equal(label_key__validate(name64, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "63"));
	assert_int_equal(label_key__validate("-app", err, sizeof(err)), -EINVAL);
	assert_int_equal(label_key__validate("app_", err, sizeof(err)), -EINVAL);
	assert_int_equal(label_key__validate("a pp", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "' '"));
	assert_int_equal(label_key__validate("/app", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty prefix"));
	assert_int_equal(label_key__validate("example.com/", err, sizeof(err)), -EINVAL);
	assert_int_equal(label_key__validate("a/b/c", err, sizeof(err)), -EINVAL);
	assert_int_equal(label_key__validate("Example.com/app", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(label_key__validate("example..com/app", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(label_key__validate("-example.com/app", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(label_key__validate("example_x.com/app", err, sizeof(err)),
			 -EINVAL);

	/* 253 characters of prefix are fine, 254 are not. */
	memset(prefix254, 'a', 254);
	for (int i = 50; i < 254; i += 50)
		prefix254[i] = '.';
	strcpy(prefix254 + 253, "/x");
	assert_int_equal(label_key__validate(prefix254, err, sizeof(err)), 0);
	memset(prefix254, 'a', 254);
	for (int i = 50; i < 254; i += 50)
		prefix254[i] = '.';
	strcpy(prefix254 + 254, "/x");
	assert_int_equal(label_key__validate(prefix254, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "253"));
}

static void test_value(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(label_value__validate("", err, sizeof(err)), 0);
	assert_int_equal(label_value__validate("empire", err, sizeof(err)), 0);
	assert_int_equal(label_value__validate("v1.2_3-x", err, sizeof(err)), 0);
	assert_int_equal(label_value__validate("a/b", err, sizeof(err)), -EINVAL);
	assert_int_equal(label_value__validate("x-", err, sizeof(err)), -EINVAL);
	assert_int_equal(label_value__validate("a:b", err, sizeof(err)), -EINVAL);
}

static void test_parse(void **state)
{
	char err[256];
	struct label l;

	(void)state;
	assert_int_equal(label__parse("k8s:org=empire", NULL, &l, err, sizeof(err)), 0);
	assert_string_equal(l.source, "k8s");
	assert_string_equal(l.key, "org");
	assert_string_equal(l.value, "empire");
	label__free(&l);

	assert_int_equal(label__parse("class=deathstar", "k8s", &l, err, sizeof(err)), 0);
	assert_string_equal(l.source, "k8s");
	assert_string_equal(l.key, "class");
	label__free(&l);

	assert_int_equal(label__parse("reserved:host", "k8s", &l, err, sizeof(err)), 0);
	assert_string_equal(l.source, "reserved");
	assert_string_equal(l.key, "host");
	assert_string_equal(l.value, "");
	label__free(&l);

	assert_int_equal(label__parse("app", "any", &l, err, sizeof(err)), 0);
	assert_string_equal(l.source, "any");
	assert_string_equal(l.value, "");
	label__free(&l);

	/* CIDR keys are not Kubernetes keys and are not validated as such. */
	assert_int_equal(label__parse("cidr:2001:db8::/32", NULL, &l, err, sizeof(err)),
			 0);
	assert_string_equal(l.source, "cidr");
	assert_string_equal(l.key, "2001:db8::/32");
	label__free(&l);

	assert_int_equal(label__parse("k8s:bad key=x", NULL, &l, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(label__parse("k8s:app=bad value", NULL, &l, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(label__parse(":app=x", NULL, &l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "source"));
	assert_int_equal(label__parse("k8s:=x", NULL, &l, err, sizeof(err)), -EINVAL);
	assert_int_equal(label__parse("=x", NULL, &l, err, sizeof(err)), -EINVAL);
}

static void test_set_sorted(void **state)
{
	struct label_set set = {0};
	const struct label *l;
	char buf[256];

	(void)state;
	assert_int_equal(label_set__add(&set, "k8s", "org", "empire"), 0);
	assert_int_equal(label_set__add(&set, "k8s", "class", "deathstar"), 0);
	assert_int_equal(label_set__add(&set, "reserved", "host", ""), 0);
	assert_int_equal(label_set__add(&set, "container", "org", "alliance"), 0);
	assert_int_equal(set.count, 4);
	assert_string_equal(set.items[0].source, "container");
	assert_string_equal(set.items[1].key, "class");
	assert_string_equal(set.items[2].key, "org");
	assert_string_equal(set.items[3].source, "reserved");

	/* Replacing keeps one entry. */
	assert_int_equal(label_set__add(&set, "k8s", "org", "rebels"), 0);
	assert_int_equal(set.count, 4);
	l = label_set__find(&set, "k8s", "org");
	assert_non_null(l);
	assert_string_equal(l->value, "rebels");

	/* Any source: the first in sort order. */
	l = label_set__find(&set, NULL, "org");
	assert_non_null(l);
	assert_string_equal(l->source, "container");
	l = label_set__find(&set, "any", "host");
	assert_non_null(l);
	assert_null(label_set__find(&set, "k8s", "host"));
	assert_null(label_set__find(&set, "any", "nope"));

	assert_int_equal(label_set__format(&set, buf, sizeof(buf)),
			 strlen("container:org=alliance,k8s:class=deathstar,k8s:org="
				"rebels,reserved:host"));
	assert_string_equal(
	    buf,
	    "container:org=alliance,k8s:class=deathstar,k8s:org=rebels,reserved:host");
	/* snprintf-like truncation still reports the full length. */
	assert_int_equal(label_set__format(&set, buf, 5),
			 strlen("container:org=alliance,k8s:class=deathstar,k8s:org="
				"rebels,reserved:host"));
	assert_string_equal(buf, "cont");

	assert_int_equal(label_set__remove(&set, "container", "org"), 0);
	assert_int_equal(label_set__remove(&set, "container", "org"), -ENOENT);
	assert_int_equal(set.count, 3);
	label_set__free(&set);
	assert_int_equal(set.count, 0);
}

static void test_set_copy_equal(void **state)
{
	struct label_set a = {0}, b = {0};

	(void)state;
	assert_int_equal(label_set__add(&a, "k8s", "x", "1"), 0);
	assert_int_equal(label_set__add(&a, "k8s", "y", ""), 0);
	assert_int_equal(label_set__copy(&b, &a), 0);
	assert_true(label_set__equal(&a, &b));
	assert_int_equal(label_set__add(&b, "k8s", "y", "2"), 0);
	assert_false(label_set__equal(&a, &b));
	label_set__free(&a);
	label_set__free(&b);
}

static void test_parse_list(void **state)
{
	struct label_set set = {0};
	char err[256];

	(void)state;
	assert_int_equal(
	    label_set__parse_list(&set, "org=empire, class=deathstar,reserved:host", err,
				  sizeof(err)),
	    0);
	assert_int_equal(set.count, 3);
	assert_non_null(label_set__find(&set, "k8s", "org"));
	assert_non_null(label_set__find(&set, "reserved", "host"));

	/* All or nothing, and the error names the label. */
	assert_int_equal(label_set__parse_list(&set, "a=1,b c=2", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "b c"));
	assert_int_equal(set.count, 3);
	assert_null(label_set__find(&set, "k8s", "a"));

	assert_int_equal(label_set__parse_list(&set, "a=1,,b=2", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(label_set__parse_list(&set, "a=1,a=2", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "more than once"));
	assert_int_equal(label_set__parse_list(&set, "", err, sizeof(err)), 0);
	assert_int_equal(set.count, 3);
	label_set__free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_valid),  cmocka_unit_test(test_key_invalid),
	    cmocka_unit_test(test_value),      cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_set_sorted), cmocka_unit_test(test_set_copy_equal),
	    cmocka_unit_test(test_parse_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
