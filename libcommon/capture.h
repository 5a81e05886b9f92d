/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pieces huatuo-capture is made of, one file each: text buffers (strbuf.c), child
 * processes and their output lines (child.c), a summary of event lines (evsummary.c), host
 * facts and the kernel log (hostinfo.c), and a .tar.gz of a directory (targz.c).
 */
#ifndef HT_CAPTURE_H
#define HT_CAPTURE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "huatuo.h"

/* ---- a growing text buffer (strbuf.c); on allocation failure it stops growing ---- */

struct ht_strbuf {
	char *p; /* NUL-terminated once anything was added */
	size_t len, cap;
	bool truncated; /* an allocation failed: what did not fit was left out */
};
void ht_sb_add(struct ht_strbuf *b, const void *data, size_t len);
void ht_sb_printf(struct ht_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ht_sb_free(struct ht_strbuf *b);

/* ---- child processes and their output, whole lines only (child.c) ---- */

/*
 * Bytes read from a pipe, handed on in whole lines. A line longer than @max is dropped
 * (counted in long_lines) rather than cut; what is left without a newline at the end of the
 * stream is dropped too (torn_bytes): a reader never sees a piece of a line.
 */
struct ht_lines {
	char *buf;
	size_t len, cap, max;
	bool skipping; /* inside an over-long line, until its newline */
	uint64_t long_lines, torn_bytes;
};
/*
 * Read what @fd has now (non-blocking) and call @fn once per read with every whole line in
 * it (@text ends with '\n'). Returns 1 at end of stream (the rest is torn), 0 when the pipe
 * is empty for now, or -errno (from read, or what @fn returned).
 */
int ht_lines_read(struct ht_lines *l, int fd, int (*fn)(void *ctx, const char *text, size_t len),
		  void *ctx);
void ht_lines_free(struct ht_lines *l);

struct ht_child {
	pid_t pid;	     /* 0 once reaped */
	int out_fd, err_fd;  /* our ends of its stdout and stderr, -1 once at end of stream */
	int status;	     /* wait status, once reaped */
	uint64_t started_ns; /* CLOCK_MONOTONIC */
};
/*
 * Run @path with @argv, its stdout and stderr on pipes (our ends non-blocking), stdin
 * /dev/null, in its own process group (a terminal's Ctrl-C reaches only us: we stop the
 * children in order) and sent SIGINT if we die. 0, or -errno with @why set.
 */
int ht_child_spawn(struct ht_child *c, const char *path, char *const argv[], char *why,
		   size_t whylen);
/* "exit 1", "killed by SIGSEGV"... */
const char *ht_wait_status(int status, char *buf, size_t len);

/* ---- a summary of NDJSON event lines (evsummary.c) ---- */

/*
 * Per tracer_name: events (tracer_type auto), snapshots (manual), what the tool said it lost
 * or held back, and its top items (OOM victims with container, drop reasons and locations,
 * worst receive latencies, stalled CPUs, hung tasks...). Memory is bounded: past a number of
 * distinct items per table the rest are counted together.
 */
struct ht_evsummary;
struct ht_evsummary *ht_evsummary_new(void);
void ht_evsummary_free(struct ht_evsummary *s);
/*
 * Give tracers their place in the table, in this order; one is shown once it ran (losses
 * were set) or has lines.
 */
void ht_evsummary_tracer(struct ht_evsummary *s, const char *tracer_name);
/* One line as a tool printed it (no newline needed); a line that is not JSON is counted. */
void ht_evsummary_line(struct ht_evsummary *s, const char *line, size_t len);
/*
 * A tracer ran: what it reported at exit, lost in the kernel and held back by its rate limit
 * (@known false: it could not say, it was killed).
 */
void ht_evsummary_losses(struct ht_evsummary *s, const char *tracer_name, uint64_t lost,
			 uint64_t held, bool known);
/* The events a tracer's lines hold (tracer_type auto). */
uint64_t ht_evsummary_events(const struct ht_evsummary *s, const char *tracer_name);
/* The table and the top items as text; names made printable, one line each. */
void ht_evsummary_text(const struct ht_evsummary *s, struct ht_strbuf *out);

/* ---- host facts and the kernel log (hostinfo.c) ---- */

/*
 * Kernel release and command line (@static_facts), then time, uptime, load, pressure, memory,
 * bond states (/proc/net/bonding) and hardware error counters (RAS interrupts, EDAC, AER).
 */
void ht_host_facts(struct ht_strbuf *out, bool static_facts);
/* The kernel log from now on: open /dev/kmsg at its end (-1 if it cannot be read). */
int ht_kmsg_open(void);
/* Append the records logged since ht_kmsg_open(), as "[seconds] text" lines; closes @fd. */
void ht_kmsg_read(int fd, struct ht_strbuf *out);

/* ---- .tar.gz of a directory's files (targz.c) ---- */

/*
 * Write the regular files of ours in @src into a new file @name in @dst (created O_EXCL,
 * mode 0640) as a gzip'd ustar archive whose entries are "@prefix/<file>". 0 or -errno with
 * @why set (one line).
 */
int ht_targz_dir(struct ht_dir *src, struct ht_dir *dst, const char *name, const char *prefix,
		 char *why, size_t whylen);

#endif /* HT_CAPTURE_H */
