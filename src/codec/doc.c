/*
 * doc.c: doc_parse, the codec's front door: JSON goes to Jansson (valid JSON
 * that libyaml refuses exists), everything else to the YAML reader; and the
 * one small query on the document model that several layers share.
 */
#include <string.h>

#include "doc.h"

kc_code doc_parse(const char *data, size_t len, const char *source, json_t **docs,
                  struct kc_error *err)
{
	size_t i = 0;

	/* A UTF-8 byte order mark says nothing about the format; Jansson refuses it. */
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
		i++;
	if (i < len && (data[i] == '{' || data[i] == '['))
		return doc_parse_json(data, len, source, docs, err);
	return doc_parse_yaml(data, len, source, docs, err);
}

bool doc_array_has_string(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		const char *str = json_string_value(v);

		if (str != NULL && strcmp(str, s) == 0)
			return true;
	}
	return false;
}
