/*
 * cli_table.c: the column widths of the tables `status` and `render --report`
 * print (see cli.h), measured one way so that the two cannot drift apart.
 */
#include <string.h>

#include "cli.h"

const char *cli_cell(const json_t *v)
{
	return json_is_string(v) && json_string_value(v)[0] != '\0' ? json_string_value(v) : "-";
}

int cli_column_width(const json_t *rows, const char *key, int min, int max)
{
	const json_t *row;
	size_t i, n;
	int w = min;

	json_array_foreach(rows, i, row)
	{
		n = strlen(cli_cell(json_object_get(row, key)));
		if (n > (size_t)w)
			w = n > (size_t)max ? max : (int)n;
	}
	return w;
}
