// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: ELF section lookup and the .BTF/.BTF.ext CO-RE record walk of btfmin.c. */
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = 0;
	const char *sec = ht_elf_section(data, size, ".BTF.ext", &len);

	if (sec && (sec < (const char *)data || sec + len > (const char *)data + size))
		abort(); /* a section must lie inside the file */
	ht_btf_core_root_count(data, size);
	return 0;
}
