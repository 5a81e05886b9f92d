// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the table's printable path. Whatever bytes a command, cgroup or device name
 * holds, ht_printable() (which every table row goes through) gives valid UTF-8 that fits its
 * buffer, without a C0 or C1 control (no newline, no escape sequence), DEL, or a character
 * that moves text around (bidi controls, line and paragraph separators); printable ASCII
 * comes out unchanged. The first input byte picks the output size.
 */
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"

static void check(const char *out, size_t out_len)
{
	const unsigned char *s = (const unsigned char *)out;
	size_t n = strlen(out);
	char again[1024];

	if (n >= out_len)
		abort();
	if (ht_utf8_sanitize(out, n, again, sizeof(again)) != n || memcmp(again, out, n))
		abort(); /* not valid UTF-8 */
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			abort();
		if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			abort(); /* C1: U+0080..U+009F (CSI is U+009B) */
		if (s[i] == 0xe2 && i + 2 < n &&
		    ((s[i + 1] == 0x80 && ((s[i + 2] >= 0x8e && s[i + 2] <= 0x8f) ||
					   (s[i + 2] >= 0xa8 && s[i + 2] <= 0xae))) ||
		     (s[i + 1] == 0x81 && s[i + 2] >= 0xa6 && s[i + 2] <= 0xa9)))
			abort(); /* U+200E/F, U+2028..U+202E, U+2066..U+2069 */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[257];
	size_t out_len, n;
	const char *in;
	bool ascii = true;

	if (!size)
		return 0;
	out_len = 1 + data[0];
	in = (const char *)data + 1;
	n = size - 1;
	ht_printable(in, n, out, out_len);
	check(out, out_len);
	for (size_t i = 0; i < n && in[i]; i++)
		if ((unsigned char)in[i] < 0x20 || (unsigned char)in[i] >= 0x7f)
			ascii = false;
	if (ascii) {
		size_t want = strnlen(in, n);

		if (want > out_len - 1)
			want = out_len - 1;
		if (strlen(out) != want || memcmp(out, in, want))
			abort();
	}
	return 0;
}
