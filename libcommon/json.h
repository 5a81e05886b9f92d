/* SPDX-License-Identifier: GPL-2.0 */
/* The JSON line writer and text safety of json.c, for output.c; not for tools. */
#ifndef HT_JSON_H
#define HT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/*
 * The line being built. It lives as long as the process and only grows, so a storm costs no
 * allocation per event for the envelope (tracer_data is still a cJSON tree from the tool).
 */
struct line_buf {
	char *p;
	size_t len, cap;
	bool failed; /* an allocation failed: the line is incomplete */
};

bool ht_lb_reserve(struct line_buf *lb, size_t more);
void ht_lb_raw(struct line_buf *lb, const char *s, size_t n);
/* @s as a JSON string, quotes included */
void ht_lb_string(struct line_buf *lb, const char *s);
/* A cJSON tree, printed as cJSON_PrintUnformatted prints it, without its buffer growth. */
void ht_lb_json(struct line_buf *lb, const cJSON *item, int depth);
/* ,"key":"value" (the first field has no leading comma) */
void ht_lb_field(struct line_buf *lb, const char *key, const char *value);
/* The same with at most @max kernel bytes, made valid UTF-8. */
void ht_lb_bytes_field(struct line_buf *lb, const char *key, const char *bytes, size_t max);
/*
 * Printable copy of up to @len bytes of @in (stops at NUL): what is not valid UTF-8 or not
 * shown as it is becomes '?'; with @lines, newlines and tabs stay. Returns the length.
 */
size_t ht_printable_text(const char *in, size_t len, char *out, size_t out_len, bool lines);

#endif /* HT_JSON_H */
