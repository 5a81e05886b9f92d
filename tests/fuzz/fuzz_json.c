// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: any bytes become a JSON string that cJSON parses back (valid UTF-8 JSON); and
 * the envelope stays one valid JSON line of valid UTF-8 whatever the bytes in its strings
 * (region, container fields, tracer_data strings added raw by a tool, even invalid UTF-8).
 */
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"

static void check_utf8(const char *s)
{
	size_t n = strlen(s);
	char *again = malloc(n * 3 + 1);

	if (!again)
		abort();
	ht_utf8_sanitize(s, n, again, n * 3 + 1);
	if (strcmp(again, s))
		abort();
	free(again);
}

static void check_envelope(const uint8_t *data, size_t size)
{
	char raw[512];
	size_t n = size < sizeof(raw) - 1 ? size : sizeof(raw) - 1;
	struct ht_env env = { .tool = "huatuo-fuzz", .tracer_name = "fuzz" };
	struct ht_container ct;
	cJSON *d = cJSON_CreateObject(), *back;
	char *line;

	memcpy(raw, data, n);
	raw[n] = '\0';
	env.region = raw;
	memset(&ct, 0, sizeof(ct));
	snprintf(ct.id, sizeof(ct.id), "%s", raw[0] ? raw : "x");
	snprintf(ct.hostname, sizeof(ct.hostname), "%s", raw);
	snprintf(ct.host_namespace, sizeof(ct.host_namespace), "%s", raw);
	snprintf(ct.type, sizeof(ct.type), "%s", raw);
	snprintf(ct.qos, sizeof(ct.qos), "%s", raw);
	cJSON_AddStringToObject(d, "raw", raw); /* straight from a tool, not sanitized */
	cJSON_AddStringToObject(d, raw, "key");
	line = ht_envelope(&env, d, &ct, "auto");
	if (!line || strchr(line, '\n'))
		abort();
	check_utf8(line);
	back = cJSON_Parse(line);
	if (!back || !cJSON_IsObject(cJSON_GetObjectItem(back, "tracer_data")))
		abort();
	cJSON_Delete(back);
	free(line);
	cJSON_Delete(d);
}

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
	check_utf8(cJSON_GetObjectItem(back, "s")->valuestring);
	ht_printable((const char *)data, size, printable, sizeof(printable));
	cJSON_Delete(back);
	cJSON_free(s);
	cJSON_Delete(o);
	check_envelope(data, size);
	return 0;
}
