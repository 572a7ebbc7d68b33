// SPDX-License-Identifier: Apache-2.0
/* Unit tests for lib/identity/prefix.c: parsing, host bits, formatting, containment. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "warden/prefix.h"

static struct policy_prefix parse_ok(const char *text)
{
	struct policy_prefix p;

	assert_int_equal(policy_prefix__parse(text, &p), 0);
	return p;
}

static void test_parse_ipv4(void **state)
{
	struct policy_prefix p;
	const uint8_t ten[16] = {10};
	const uint8_t host[16] = {192, 168, 1, 7};

	(void)state;
	p = parse_ok("10.0.0.0/8");
	assert_int_equal(p.family, 4);
	assert_int_equal(p.len, 8);
	assert_memory_equal(p.addr, ten, 16);

	p = parse_ok("192.168.1.7");
	assert_int_equal(p.len, 32);
	assert_memory_equal(p.addr, host, 16);

	p = parse_ok("0.0.0.0/0");
	assert_int_equal(p.len, 0);
	p = parse_ok("192.168.1.7/32");
	assert_int_equal(p.len, 32);
	p = parse_ok("10.128.0.0/9");
	assert_int_equal(p.len, 9);
}

static void test_parse_ipv6(void **state)
{
	struct policy_prefix p;
	const uint8_t db8[16] = {0x20, 0x01, 0x0d, 0xb8};

	(void)state;
	p = parse_ok("2001:db8::/32");
	assert_int_equal(p.family, 6);
	assert_int_equal(p.len, 32);
	assert_memory_equal(p.addr, db8, 16);
	p = parse_ok("::1");
	assert_int_equal(p.len, 128);
	assert_int_equal(p.addr[15], 1);
	p = parse_ok("::/0");
	assert_int_equal(p.len, 0);
}

static void test_parse_errors(void **state)
{
	struct policy_prefix p;
	static const char *const bad[] = {
	    "10.0.0.1/8",  /* host bits set */
	    "10.0.0.0/33", /* too long */
	    "10.0.0.0/",   /* no length */
	    "10.0.0.0/-1",
	    "10.0.0.0/8x",
	    "10.0.0.0/ 8",
	    "10.0.0/8", /* not an address */
	    "10.0.0.256",
	    "",
	    "/8",
	    "hello",
	    "2001:db8::1/32", /* host bits set */
	    "2001:db8::/129",
	    "2001:db8:::/32",
	    "10.0.0.0/8/8",
	    "10.0.0.0/0008",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = policy_prefix__parse(bad[i], &p);

		if (ret != -EINVAL)
			fail_msg("\"%s\" parsed (ret %d)", bad[i], ret);
	}
	/* 128.0.0.0/1 has its one bit in the prefix; 128.0.0.0/0 does not. */
	assert_int_equal(policy_prefix__parse("128.0.0.0/1", &p), 0);
	assert_int_equal(policy_prefix__parse("128.0.0.0/0", &p), -EINVAL);
	assert_int_equal(policy_prefix__parse("10.0.0.1/31", &p), -EINVAL);
	assert_int_equal(policy_prefix__parse("10.0.0.2/31", &p), 0);
}

static void test_format(void **state)
{
	struct policy_prefix p;
	char buf[64];

	(void)state;
	p = parse_ok("10.1.0.0/16");
	assert_int_equal(policy_prefix__format(&p, buf, sizeof(buf)),
			 strlen("10.1.0.0/16"));
	assert_string_equal(buf, "10.1.0.0/16");
	p = parse_ok("1.2.3.4");
	policy_prefix__format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "1.2.3.4/32");
	p = parse_ok("2001:db8::/32");
	policy_prefix__format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::/32");
	assert_int_equal(policy_prefix__format(&p, buf, 5), strlen("2001:db8::/32"));
	assert_string_equal(buf, "2001");
}

static void test_contains(void **state)
{
	struct policy_prefix ten = parse_ok("10.0.0.0/8");
	struct policy_prefix ten1 = parse_ok("10.1.0.0/16");
	struct policy_prefix eleven = parse_ok("11.0.0.0/8");
	struct policy_prefix all4 = parse_ok("0.0.0.0/0");
	struct policy_prefix all6 = parse_ok("::/0");
	struct policy_prefix v6 = parse_ok("2001:db8::/32");
	struct policy_prefix odd = parse_ok("10.128.0.0/9");

	(void)state;
	assert_true(policy_prefix__contains(&ten, &ten1));
	assert_true(policy_prefix__contains(&ten, &ten));
	assert_false(policy_prefix__contains(&ten1, &ten));
	assert_false(policy_prefix__contains(&ten, &eleven));
	assert_true(policy_prefix__contains(&all4, &eleven));
	assert_false(policy_prefix__contains(&all4, &v6));
	assert_true(policy_prefix__contains(&all6, &v6));
	assert_false(policy_prefix__contains(&all6, &ten));
	assert_true(policy_prefix__contains(&ten, &odd));
	assert_false(
	    policy_prefix__contains(&odd, &ten1)); /* 10.1 is in the lower half */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ipv4),	 cmocka_unit_test(test_parse_ipv6),
	    cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_format),
	    cmocka_unit_test(test_contains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
