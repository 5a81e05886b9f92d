// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: container runtimes' state files (docker config.v2.json, OCI config.json,
 * containers/storage containers.json). Whatever the bytes, no crash, and every string kept is
 * valid UTF-8 that fits its field.
 */
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"

static void check(const char *s, size_t size)
{
	char again[1024];
	size_t n = strnlen(s, size);

	if (n >= size)
		abort(); /* not terminated within its field */
	ht_utf8_sanitize(s, n, again, sizeof(again));
	if (strcmp(again, s))
		abort(); /* not valid UTF-8 */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct ht_container ct;
	char name[256];

	for (int kind = 0; kind < 2; kind++) {
		memset(&ct, 0, sizeof(ct));
		if (kind ? !ht_runtime_parse_oci((const char *)data, size, &ct) :
			   !ht_runtime_parse_docker((const char *)data, size, &ct))
			continue;
		check(ct.hostname, sizeof(ct.hostname));
		check(ct.name, sizeof(ct.name));
		check(ct.runtime_name, sizeof(ct.runtime_name));
		check(ct.pod_name, sizeof(ct.pod_name));
		check(ct.host_namespace, sizeof(ct.host_namespace));
		check(ct.type, sizeof(ct.type));
		if (strcmp(ct.type, "normal") && strcmp(ct.type, "sandbox"))
			abort();
	}
	if (ht_runtime_parse_storage_names((const char *)data, size, id, name, sizeof(name)))
		check(name, sizeof(name));
	return 0;
}
