/*
 * doc_scalar.c: typing of plain YAML scalars as go-yaml v2 (resolve.go) does,
 * which is what Kubernetes applies to every manifest. Order of the checks is
 * go-yaml's: a table of fixed words first, then by first character: timestamp,
 * Go's ParseInt(s, 0, 64) on the scalar without '_', ParseUint, then its float
 * regex. Inputs that go-yaml would turn into a uint64 or a non-finite float
 * have no JSON value here and are reported as unrepresentable.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doc_scalar.h"

struct fixed_word {
	const char *word;
	enum doc_scalar_kind kind;
	bool boolean;
};

static const struct fixed_word fixed_words[] = {
    {"y", DOC_SCALAR_BOOL, true},
    {"Y", DOC_SCALAR_BOOL, true},
    {"yes", DOC_SCALAR_BOOL, true},
    {"Yes", DOC_SCALAR_BOOL, true},
    {"YES", DOC_SCALAR_BOOL, true},
    {"true", DOC_SCALAR_BOOL, true},
    {"True", DOC_SCALAR_BOOL, true},
    {"TRUE", DOC_SCALAR_BOOL, true},
    {"on", DOC_SCALAR_BOOL, true},
    {"On", DOC_SCALAR_BOOL, true},
    {"ON", DOC_SCALAR_BOOL, true},
    {"n", DOC_SCALAR_BOOL, false},
    {"N", DOC_SCALAR_BOOL, false},
    {"no", DOC_SCALAR_BOOL, false},
    {"No", DOC_SCALAR_BOOL, false},
    {"NO", DOC_SCALAR_BOOL, false},
    {"false", DOC_SCALAR_BOOL, false},
    {"False", DOC_SCALAR_BOOL, false},
    {"FALSE", DOC_SCALAR_BOOL, false},
    {"off", DOC_SCALAR_BOOL, false},
    {"Off", DOC_SCALAR_BOOL, false},
    {"OFF", DOC_SCALAR_BOOL, false},
    {"~", DOC_SCALAR_NULL, false},
    {"null", DOC_SCALAR_NULL, false},
    {"Null", DOC_SCALAR_NULL, false},
    {"NULL", DOC_SCALAR_NULL, false},
    {".nan", DOC_SCALAR_UNREPRESENTABLE, false},
    {".NaN", DOC_SCALAR_UNREPRESENTABLE, false},
    {".NAN", DOC_SCALAR_UNREPRESENTABLE, false},
    {".inf", DOC_SCALAR_UNREPRESENTABLE, false},
    {".Inf", DOC_SCALAR_UNREPRESENTABLE, false},
    {".INF", DOC_SCALAR_UNREPRESENTABLE, false},
    {"+.inf", DOC_SCALAR_UNREPRESENTABLE, false},
    {"+.Inf", DOC_SCALAR_UNREPRESENTABLE, false},
    {"+.INF", DOC_SCALAR_UNREPRESENTABLE, false},
    {"-.inf", DOC_SCALAR_UNREPRESENTABLE, false},
    {"-.Inf", DOC_SCALAR_UNREPRESENTABLE, false},
    {"-.INF", DOC_SCALAR_UNREPRESENTABLE, false},
    {"<<", DOC_SCALAR_MERGE, false},
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/*
 * Go's strconv.ParseUint(s, 0, 64) after an optional sign was taken off:
 * 0x/0o/0b prefixes, a leading 0 meaning octal. 0 on a syntax error, -1 when
 * the digits are valid but overflow 64 bits, 1 with *out set otherwise.
 */
static int parse_go_digits(const char *s, size_t len, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;
	bool overflow = false;
	size_t i = 0;

	if (len >= 2 && s[0] == '0') {
		switch (s[1]) {
		case 'x':
		case 'X':
			base = 16, i = 2;
			break;
		case 'o':
		case 'O':
			base = 8, i = 2;
			break;
		case 'b':
		case 'B':
			base = 2, i = 2;
			break;
		default:
			base = 8;
			break;
		}
	}
	if (i == len)
		return 0;
	for (; i < len; i++) {
		int d = digit_value(s[i]);

		if (d >= (int)base)
			return 0;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			overflow = true;
		else
			v = v * base + (uint64_t)d;
	}
	if (overflow)
		return -1;
	*out = v;
	return 1;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool matches_yaml_float(const char *s, size_t len)
{
	size_t i = 0, n;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i < len && s[i] == '.') {
		for (n = 0, i++; i < len && is_digit(s[i]); i++)
			n++;
		if (n == 0)
			return false;
	} else {
		for (n = 0; i < len && is_digit(s[i]); i++)
			n++;
		if (n == 0)
			return false;
		if (i < len && s[i] == '.')
			for (i++; i < len && is_digit(s[i]); i++)
				;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		for (n = 0; i < len && is_digit(s[i]); i++)
			n++;
		if (n == 0)
			return false;
	}
	return i == len;
}

/*
 * strtod of a NUL-terminated float that already matched the syntax; Go's
 * ParseFloat refuses overflow, so does this.
 */
static bool finite_float(const char *s, double *out)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (*end != '\0' || isinf(v) || isnan(v))
		return false;
	*out = v;
	return true;
}

/*
 * go-yaml's parseTimestamp starts with "four digits then '-'"; whatever it
 * decides after that, the value stays a string for Kubernetes. The writer
 * quotes all of these, as go-yaml does for real timestamps.
 */
static bool looks_like_timestamp(const char *s, size_t len)
{
	return len > 4 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
	       s[4] == '-';
}

/*
 * The 'D' (digit) and 'S' (sign) branch of go-yaml's resolve(), on plain[0..n)
 * (the scalar without '_', NUL-terminated).
 */
static enum doc_scalar_kind resolve_number(const char *plain, size_t n, struct doc_scalar *out)
{
	size_t start = 0;
	bool negative = false;
	uint64_t u;
	int r;

	if (n > 0 && (plain[0] == '-' || plain[0] == '+')) {
		negative = plain[0] == '-';
		start = 1;
	}
	r = parse_go_digits(plain + start, n - start, &u);
	if (r == 1) {
		if (!negative && u <= INT64_MAX) {
			out->integer = (json_int_t)u;
			return out->kind = DOC_SCALAR_INT;
		}
		if (negative && u <= (uint64_t)INT64_MAX + 1) {
			out->integer = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)u;
			return out->kind = DOC_SCALAR_INT;
		}
		/* ParseUint takes no sign: an unsigned value only without one. */
		if (start == 0)
			return out->kind = DOC_SCALAR_UNREPRESENTABLE;
	}
	if (matches_yaml_float(plain, n) && finite_float(plain, &out->real))
		return out->kind = DOC_SCALAR_FLOAT;
	return out->kind = DOC_SCALAR_STRING;
}

/*
 * Numbers: copy without '_' (go-yaml strips them before ParseInt; the '.'
 * branch uses ParseFloat on the scalar as written, where '_' is a syntax
 * error, so stripping is skipped there).
 */
static enum doc_scalar_kind resolve_numeric(const char *s, size_t len, struct doc_scalar *out)
{
	char small[128], *plain = small;
	size_t n = 0, i;
	bool dot = s[0] == '.';

	if (!dot && looks_like_timestamp(s, len))
		return out->kind = DOC_SCALAR_TIMESTAMP;
	if (dot && memchr(s, '_', len) != NULL)
		return out->kind = DOC_SCALAR_STRING;
	if (len >= sizeof(small) && (plain = malloc(len + 1)) == NULL)
		return out->kind = DOC_SCALAR_UNREPRESENTABLE; /* reader fails, writer quotes */
	for (i = 0; i < len; i++)
		if (s[i] != '_')
			plain[n++] = s[i];
	plain[n] = '\0';
	if (dot) {
		if (!matches_yaml_float(plain, n) || !finite_float(plain, &out->real))
			out->kind = DOC_SCALAR_STRING;
		else
			out->kind = DOC_SCALAR_FLOAT;
	} else {
		resolve_number(plain, n, out);
	}
	if (plain != small)
		free(plain);
	return out->kind;
}

enum doc_scalar_kind doc_scalar_resolve(const char *s, size_t len, struct doc_scalar *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return out->kind = DOC_SCALAR_NULL;
	/* Every fixed word is at most 5 bytes and starts with one of these. */
	if (len <= 5 && s[0] != '\0' && strchr("yYnNtTfFoO~.+-<", s[0]) != NULL) {
		for (i = 0; i < sizeof(fixed_words) / sizeof(fixed_words[0]); i++) {
			if (strlen(fixed_words[i].word) != len ||
			    memcmp(fixed_words[i].word, s, len) != 0)
				continue;
			out->boolean = fixed_words[i].boolean;
			return out->kind = fixed_words[i].kind;
		}
	}
	if (is_digit(s[0]) || s[0] == '-' || s[0] == '+' || s[0] == '.')
		return resolve_numeric(s, len, out);
	return out->kind = DOC_SCALAR_STRING;
}
