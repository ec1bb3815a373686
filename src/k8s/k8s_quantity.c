/*
 * k8s_quantity.c: resource.Quantity parsing, exact. A quantity is
 * mantissa * 10^e10 * 2^e2; scaling to units or milli-units rounds up, as
 * Quantity.Value()/MilliValue() do, so the downward API files match the
 * kubelet's byte for byte.
 */
#include <stdbool.h>
#include <string.h>

#include "k8s_quantity.h"

#define MANTISSA_DIGITS_MAX 36 /* fits unsigned __int128 with room to scale */

struct quantity {
	unsigned __int128 mantissa;
	int e10;
	int e2;
};

static const struct {
	const char *suffix;
	int e10, e2;
} suffixes[] = {
    {"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
    {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"", 0, 0},    {"k", 3, 0},   {"M", 6, 0},
    {"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},
};

static kc_code parse_exponent(const char *p, int *out, struct kc_error *err, const char *q)
{
	int sign = 1, v = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (*p == '\0')
		return kc_fail(err, KC_EINVAL, "quantity '%s': empty exponent", q);
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > 1000)
			return kc_fail(err, KC_EINVAL, "quantity '%s': bad exponent", q);
		v = v * 10 + (*p - '0');
	}
	*out = sign * v;
	return KC_OK;
}

static kc_code parse(const char *q, struct quantity *out, struct kc_error *err)
{
	const char *p = q;
	int digits = 0, exp = 0;
	bool seen_digit = false, seen_point = false;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (*p == '+')
		p++;
	else if (*p == '-')
		return kc_fail(err, KC_EINVAL, "quantity '%s' is negative", q);
	for (; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
		if (*p == '.') {
			if (seen_point)
				return kc_fail(err, KC_EINVAL, "quantity '%s': two points", q);
			seen_point = true;
			continue;
		}
		seen_digit = true;
		if (out->mantissa == 0 && *p == '0') {
			if (seen_point)
				out->e10--;
			continue;
		}
		if (digits >= MANTISSA_DIGITS_MAX) {
			/* Beyond the precision kept: drop, but keep the magnitude. */
			if (!seen_point)
				out->e10++;
			continue;
		}
		out->mantissa = out->mantissa * 10 + (unsigned)(*p - '0');
		digits++;
		if (seen_point)
			out->e10--;
	}
	if (!seen_digit)
		return kc_fail(err, KC_EINVAL, "quantity '%s' has no digits", q);
	if ((*p == 'e' || *p == 'E') && p[1] != '\0') {
		if (parse_exponent(p + 1, &exp, err, q) != KC_OK)
			return err != NULL ? err->code : KC_EINVAL;
		out->e10 += exp;
		return KC_OK;
	}
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcmp(p, suffixes[i].suffix) == 0) {
			out->e10 += suffixes[i].e10;
			out->e2 = suffixes[i].e2;
			return KC_OK;
		}
	}
	return kc_fail(err, KC_EINVAL, "quantity '%s': unknown suffix '%s'", q, p);
}

kc_code k8s_quantity_scaled(const char *q, int scale, int64_t *out, struct kc_error *err)
{
	struct quantity v;
	unsigned __int128 m, div = 1;
	const unsigned __int128 cap = (unsigned __int128)INT64_MAX;
	int e10, i;
	kc_code rc;

	if ((rc = parse(q, &v, err)) != KC_OK)
		return rc;
	m = v.mantissa;
	if (m == 0) {
		*out = 0;
		return KC_OK;
	}
	e10 = v.e10 + scale;
	for (i = 0; i < v.e2; i++) {
		if (m > cap)
			goto too_big;
		m <<= 1;
	}
	for (; e10 > 0; e10--) {
		if (m > cap)
			goto too_big;
		m *= 10;
	}
	for (; e10 < 0 && div <= cap; e10++)
		div *= 10;
	if (e10 < 0) {
		/* Smaller than anything representable: rounds up to 1. */
		*out = 1;
		return KC_OK;
	}
	m = (m + div - 1) / div;
	if (m > cap)
		goto too_big;
	*out = (int64_t)m;
	return KC_OK;
too_big:
	return kc_fail(err, KC_EINVAL, "quantity '%s' is too large", q);
}
