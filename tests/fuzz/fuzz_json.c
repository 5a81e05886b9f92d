// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: any bytes become a JSON string that cJSON parses back (valid UTF-8 JSON). */
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *o = cJSON_CreateObject(), *back;
	char printable[64];
	char *s;

	ht_json_add_bytes(o, "s", data, size);
	s = cJSON_PrintUnformatted(o);
	if (!s)
		abort();
	back = cJSON_Parse(s);
	if (!back || !cJSON_IsString(cJSON_GetObjectItem(back, "s")))
		abort();
	/* the sanitized text must itself be valid UTF-8: sanitizing it again changes nothing */
	{
		const char *v = cJSON_GetObjectItem(back, "s")->valuestring;
		size_t n = strlen(v);
		char *again = malloc(n * 3 + 1);

		if (!again)
			abort();
		ht_utf8_sanitize(v, n, again, n * 3 + 1);
		if (strcmp(again, v))
			abort();
		free(again);
	}
	ht_printable((const char *)data, size, printable, sizeof(printable));
	cJSON_Delete(back);
	cJSON_free(s);
	cJSON_Delete(o);
	return 0;
}
