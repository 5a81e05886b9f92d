// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: /proc/<pid>/stack and /proc/<pid>/stat parsers on arbitrary text. */
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *stack, comm[64], state;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	stack = ht_parse_proc_stack(text, size);
	if (stack && strlen(stack) > size)
		abort(); /* output only ever shrinks the input */
	free(stack);
	ht_parse_proc_stat(text, &state, comm, sizeof(comm));
	free(text);
	return 0;
}
