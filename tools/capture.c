// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-capture: "collect everything now". Runs every huatuo-* tracer that attaches on this
 * kernel at once, for a duration or until Ctrl-C, with snapshots at the start and the end,
 * into one bundle directory: DIR/<tracer_name> (the JSON lines the tools print),
 * DIR/<tool>.log, tools.txt, host.txt and summary.txt (also printed at the end).
 *
 * The tools write to pipes and we append their lines to the bundle, rather than letting each
 * tool write its own -o store: we then hold the only directory fd (opened once through
 * safedir.c, every file created O_EXCL before any tool starts, so a link planted in DIR is
 * refused before anything is written and cannot be swapped in later), we write only whole
 * lines even when a tool is killed in the middle of one (second Ctrl-C), we count and
 * summarize the lines as they come, and we read each tool's stderr for its hooks, version,
 * losses and the reason it could not attach, without a second attach.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "huatuo.h"

#define DEFAULT_DURATION_NS (60 * NSEC_PER_SEC)
#define ATTACH_TIMEOUT_NS (30 * NSEC_PER_SEC) /* to wait for every tool's banner */
#define SNAPSHOT_TIMEOUT_NS (15 * NSEC_PER_SEC)
#define STOP_TIMEOUT_NS (15 * NSEC_PER_SEC) /* after SIGINT, then SIGKILL */
#define KILL_TIMEOUT_NS (5 * NSEC_PER_SEC)  /* after SIGKILL, then we leave it */
#define DATA_MAX (256ULL << 20)		    /* bytes kept per tracer file */
#define LINE_MAX_BYTES (64 << 20)	    /* one event line (hung task stacks are long) */
#define MAX_TOOL_ARGS 32

/* The tools, in the order they are started and listed. */
struct tool_def {
	const char *name; /* huatuo-<name> */
	const char *tracer_name;
	bool traces;	      /* runs for the whole capture */
	const char *snapshot; /* run at the start and the end with this option ("": none needed) */
};

static const struct tool_def catalog[] = {
	{ "softirq", "softirq", true, NULL },
	{ "softlockup", "softlockup", true, NULL },
	{ "hungtask", "hungtask", true, "--snapshot" },
	{ "oom", "oom", true, NULL },
	{ "memreclaim", "memory_reclaim_events", true, NULL },
	{ "ras", "ras", true, NULL },
	{ "dropwatch", "dropwatch", true, NULL },
	{ "netrxlat", "net_rx_latency", true, NULL },
	{ "netdev", "netdev_events", true, "--snapshot" },
	{ "bondlacp", "netdev_bonding_lacp", true, NULL },
	{ "txtimeout", "netdev_txqueue_timeout", true, NULL },
	{ "pfc", "netdev_dcb_pfc", false, "" },
};
#define NTOOLS ARRAY_SIZE(catalog)

enum role { TRACER, START_SNAPSHOT, END_SNAPSHOT, NROLES };
static const char *const role_name[] = { "tracer", "start snapshot", "end snapshot" };

struct tool {
	const struct tool_def *def;
	char *args[MAX_TOOL_ARGS]; /* --tool-args, split at spaces */
	char *args_buf;		   /* what they point into */
	const char *tool_args;	   /* as given, for messages */
	int nargs;
	bool selected;
	char path[PATH_MAX]; /* "" if not found */
	int data_fd, log_fd; /* DIR/<tracer_name>, DIR/<tool>.log */
	uint64_t data_bytes, lines_over_cap;
	char version[64];
	char hooks[512];
};

/* One process: a tool's tracer run or one of its snapshots. */
struct run {
	struct tool *tool;
	enum role role;
	bool spawned;
	struct ht_child ch;
	struct ht_lines out, err;
	bool attached; /* its "Tracing ..." banner came */
	bool killed;   /* we sent SIGKILL */
	bool stuck;    /* and it did not end: left behind */
	uint64_t ended_ns;
	char last_err[256]; /* its last diagnostic, the reason when it could not attach */
	bool losses_known;
	uint64_t lost, held;
};

static struct tool tools[NTOOLS];
static struct run runs[NTOOLS][NROLES];
static struct ht_evsummary *summary;
static struct ht_dir bundle;
static const char *bundle_path;
static bool archive, write_failed, bad_tool_args;
static int sigfd = -1, signals_seen, last_signal;

static struct ht_env env;

/* ---- options ---- */

static const char doc[] =
	"Run every huatuo-* tracer that attaches on this kernel at once, for a duration or until "
	"Ctrl-C, with snapshots at the start and the end (D-state tasks, link states, PFC "
	"counters; bonds and hardware error counters in host.txt), into one "
	"directory: the JSON lines of each tracer, each tool's messages, the tools used, host "
	"facts and the kernel log, and a summary (also printed at the end).\n"
	"\v"
	"Tools are looked for next to huatuo-capture first, then in $PATH.\n\n"
	"Examples:\n"
	"  huatuo-capture                       # every tracer for 60s, ./huatuo-capture-*\n"
	"  huatuo-capture -d 5m --archive       # 5 minutes, then DIR.tar.gz to send\n"
	"  huatuo-capture -d 1h -o /var/log/huatuo/incident-42\n"
	"  huatuo-capture --tools oom,memreclaim,hungtask\n"
	"  huatuo-capture --exclude netrxlat --tool-args 'softirq:-t 20ms'\n";

static struct tool *tool_named(const char *name, size_t len)
{
	for (size_t i = 0; i < NTOOLS; i++)
		if (strlen(catalog[i].name) == len && !strncmp(catalog[i].name, name, len))
			return &tools[i];
	return NULL;
}

static const char *tool_list(void)
{
	static char list[256];
	size_t n = 0;

	for (size_t i = 0; i < NTOOLS; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
				      catalog[i].name);
	return list;
}

/* --tools / --exclude: every name must be a tool. */
static void select_tools(struct argp_state *state, const char *opt, const char *arg, bool on)
{
	const char *p = arg;

	if (!*arg)
		ht_usage_error(state, "invalid --%s '': expected tool names (%s)", opt,
			       tool_list());
	while (*p) {
		size_t len = strcspn(p, ",");
		struct tool *t = tool_named(p, len);

		if (t)
			t->selected = on;
		else
			ht_usage_error(state, "invalid --%s '%s': no tool '%.*s' (tools: %s)", opt,
				       arg, (int)len, p, tool_list());
		p += len + (p[len] == ',');
	}
}

static void tool_args(struct argp_state *state, const struct ht_option *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	struct tool *t = colon ? tool_named(arg, (size_t)(colon - arg)) : NULL;
	char *save = NULL;

	(void)o;
	if (!t) {
		ht_usage_error(state,
			       "invalid --tool-args '%s': expected TOOL:ARGS with a tool of %s",
			       arg, tool_list());
	} else if (t->tool_args) {
		ht_usage_error(state, "invalid --tool-args '%s': %s has options already ('%s')",
			       arg, t->def->name, t->tool_args);
	} else {
		t->tool_args = arg;
		t->args_buf = strdup(colon + 1); /* the tool's argv: lives as long as we do */
		if (!t->args_buf)
			ht_usage_error(state, "invalid --tool-args '%s': out of memory", arg);
		for (char *a = strtok_r(t->args_buf, " \t", &save); a;
		     a = strtok_r(NULL, " \t", &save)) {
			if (t->nargs == MAX_TOOL_ARGS)
				ht_usage_error(state,
					       "invalid --tool-args '%s': more than %d options",
					       arg, MAX_TOOL_ARGS);
			t->args[t->nargs++] = a;
		}
	}
}

static void parse_tools(struct argp_state *state, const struct ht_option *o, const char *arg)
{
	static bool only;

	if (!only)
		for (size_t i = 0; i < NTOOLS; i++)
			tools[i].selected = false;
	only = true;
	select_tools(state, o->name, arg, true);
}

static void parse_exclude(struct argp_state *state, const struct ht_option *o, const char *arg)
{
	select_tools(state, o->name, arg, false);
}

static const struct ht_option options[] = {
	HT_FLAG("archive", &archive, "Also write DIR.tar.gz at the end"),
	HT_CALL("tools", "LIST", parse_tools, NULL,
		"Only these tools (comma-separated names without huatuo-, e.g. oom,dropwatch)"),
	HT_CALL("exclude", "LIST", parse_exclude, NULL, "Not these tools (comma-separated)"),
	HT_CALL("tool-args", "TOOL:ARGS", tool_args, NULL,
		"Options for one tool, separated by spaces (repeatable; e.g. 'softirq:-t 20ms')"),
	{ 0 },
};

static const struct ht_tool capture = {
	.name = "huatuo-capture",
	.tracer_name = "capture",
	.what = "every tracer",
	.doc = doc,
	.opt_flags = HT_OPT_RUNNER,
	.opt_docs =
		(const struct ht_opt_doc[]){
			{ "duration",
			  "Capture for DUR (30s, 5m, 1h; bare number = seconds; default 60s; "
			  "0 = attach, take the snapshots and stop)" },
			{ "output",
			  "Bundle directory (default ./huatuo-capture-HOSTNAME-YYYYmmddTHHMMSS)" },
			{ "verbose", "Also print each tool's messages as they come" },
			{ NULL } },
	.options = options,
};

/* ---- the bundle ---- */

/*
 * DIR and every file this capture writes there, before any tool runs: all names are checked
 * first (a planted link is refused by name), then created O_EXCL (never through a link, never
 * an earlier capture's file). On a refusal nothing is left behind. 0 or 1.
 */
static int open_bundle(int *tools_fd, int *host_fd, int *summary_fd)
{
	static char def[PATH_MAX], logs[NTOOLS][64];
	const char *names[3 + 2 * NTOOLS];
	int *fds[ARRAY_SIZE(names)], n = 0, i, made, fd = 0;
	char host[128], stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!env.output_dir) {
		ht_printable(ht_hostname(), strlen(ht_hostname()), host, sizeof(host));
		for (char *p = host; *p; p++)
			if (*p == '/' || *p == '?')
				*p = '_';
		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
		snprintf(def, sizeof(def), "huatuo-capture-%s-%s", host, stamp);
		env.output_dir = def;
	}
	bundle_path = env.output_dir;
	if (ht_dir_open(&bundle, bundle_path, true)) {
		ht_err(&env, "cannot use %s for the bundle: %s", bundle_path, bundle.why);
		return 1;
	}
	names[n] = "tools.txt", fds[n++] = tools_fd;
	names[n] = "host.txt", fds[n++] = host_fd;
	names[n] = "summary.txt", fds[n++] = summary_fd;
	for (size_t t = 0; t < NTOOLS; t++) {
		if (!tools[t].path[0])
			continue;
		snprintf(logs[t], sizeof(logs[t]), "%s.log", catalog[t].name);
		names[n] = catalog[t].tracer_name, fds[n++] = &tools[t].data_fd;
		names[n] = logs[t], fds[n++] = &tools[t].log_fd;
	}
	for (i = 0; i < n && !fd; i++)
		fd = ht_dir_check_file(&bundle, names[i]);
	for (made = 0; made < n && fd >= 0; made++) {
		fd = ht_dir_create(&bundle, names[made], O_WRONLY | O_APPEND, 0640);
		if (fd < 0)
			break;
		*fds[made] = fd;
	}
	if (fd >= 0)
		return 0;
	if (fd == -EEXIST)
		snprintf(bundle.why, sizeof(bundle.why),
			 "%.400s/%s exists: give a new directory (-o) for each capture",
			 bundle.path, names[made]);
	ht_err(&env, "cannot write the bundle: %s", bundle.why);
	while (made-- > 0) { /* the ones made before the refusal */
		close(*fds[made]);
		*fds[made] = -1;
		unlinkat(bundle.fd, names[made], 0);
	}
	return 1;
}

/* Append whole lines; on a short write, cut the file back so no line is torn. */
static void append(int fd, uint64_t *size, const char *text, size_t len, const char *name)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!write_failed)
				ht_err(&env, "writing %s/%s failed: %s (the capture goes on)",
				       bundle_path, name, n < 0 ? strerror(errno) : "short write");
			write_failed = true;
			if (ftruncate(fd, (off_t)*size))
				break;
			return;
		}
		done += (size_t)n;
	}
	*size += len;
}

/* ---- finding the tools ---- */

static bool executable(const char *dir, const char *name, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s/huatuo-%s", dir, name) >= len)
		return false;
	return !access(path, X_OK);
}

/* Next to our own binary first (one installed set), then $PATH (absolute entries only). */
static void find_tools(void)
{
	const char *search = getenv("PATH");
	char self[PATH_MAX], dir[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < NTOOLS; i++) {
		struct tool *t = &tools[i];
		bool found = t->selected && slash &&
			     executable(self, t->def->name, t->path, sizeof(t->path));

		for (const char *p = search; t->selected && !found && p && *p;) {
			size_t len = strcspn(p, ":");

			if (*p == '/' && len < sizeof(dir)) {
				memcpy(dir, p, len);
				dir[len] = '\0';
				found = executable(dir, t->def->name, t->path, sizeof(t->path));
			}
			p += len + (p[len] == ':');
		}
		if (!found)
			t->path[0] = '\0';
	}
}

/* ---- the children ---- */

/* A line a tool wrote on stderr: banner, hooks, version, losses, or its last diagnostic. */
static void on_diagnostic(struct run *r, const char *line)
{
	struct tool *t = r->tool;
	unsigned long long events, held, lost, skipped = 0;
	size_t plen = strlen("huatuo-") + strlen(t->def->name);
	char hook[128], what[256];

	if (!strncmp(line, "Tracing ", 8)) {
		r->attached = true;
		return;
	}
	if (!strncmp(line, "Try `", 5)) /* argp's hint after a usage error */
		return;
	if (!strncmp(line, "huatuo-", 7) && !strncmp(line + 7, t->def->name, plen - 7) &&
	    !strncmp(line + plen, ": ", 2))
		line += plen + 2;
	if (sscanf(line, "version %63s", t->version) == 1)
		return;
	if (sscanf(line, "attached %127[^:]: %255[^\n]", hook, what) == 2) {
		size_t n = strlen(t->hooks);

		if (r->role == TRACER && !strstr(t->hooks, what))
			snprintf(t->hooks + n, sizeof(t->hooks) - n, "%s%s", n ? ", " : "", what);
		return;
	}
	if (sscanf(line, "%llu events reported, none lost", &events) == 1 &&
	    strstr(line, "none lost")) {
		r->losses_known = true;
		return;
	}
	/* ht_finish()'s line; runs its programs the kernel skipped are lost events too */
	if (sscanf(line,
		   "warning: %llu events reported, %llu held back by the rate limit, %llu lost "
		   "in the kernel (buffer full), %llu runs skipped",
		   &events, &held, &lost, &skipped) >= 3) {
		r->losses_known = true;
		r->held = held;
		r->lost = lost + skipped;
		return;
	}
	ht_printable(line, strlen(line), r->last_err, sizeof(r->last_err));
}

/* A tool's messages: into DIR/<tool>.log (a snapshot's lines marked), and read. */
static int on_stderr(void *ctx, const char *text, size_t len)
{
	struct run *r = ctx;
	uint64_t ignored = 0;
	struct ht_strbuf marked = { 0 };

	if (r->role == TRACER)
		append(r->tool->log_fd, &ignored, text, len, "log");
	for (const char *p = text, *end; p < text + len; p = end + 1) {
		char line[1024];

		end = memchr(p, '\n', (size_t)(text + len - p));
		if (r->role != TRACER)
			ht_sb_printf(&marked, "[%s] %.*s\n", role_name[r->role], (int)(end - p), p);
		snprintf(line, sizeof(line), "%.*s", (int)(end - p), p);
		on_diagnostic(r, line);
		if (env.verbose) {
			char shown[1024];

			fprintf(stderr, "%s| %s\n", r->tool->def->name,
				ht_printable(line, strlen(line), shown, sizeof(shown)));
		}
	}
	if (marked.len)
		append(r->tool->log_fd, &ignored, marked.p, marked.len, "log");
	ht_sb_free(&marked);
	return 0;
}

static int on_stdout(void *ctx, const char *text, size_t len)
{
	struct tool *t = ((struct run *)ctx)->tool;
	const char *p, *end;

	if (t->data_bytes + len > DATA_MAX) {
		for (p = text; p < text + len; p++)
			t->lines_over_cap += *p == '\n';
		return 0;
	}
	append(t->data_fd, &t->data_bytes, text, len, t->def->tracer_name);
	for (p = text; p < text + len; p = end + 1) {
		end = memchr(p, '\n', (size_t)(text + len - p));
		ht_evsummary_line(summary, p, (size_t)(end - p));
	}
	return 0;
}

static void spawn(struct tool *t, enum role role)
{
	struct run *r = &runs[t - tools][role];
	char *argv[MAX_TOOL_ARGS + 8], why[256];
	struct ht_strbuf head = { 0 };
	uint64_t ignored = 0;
	int n = 0;

	argv[n++] = t->path;
	argv[n++] = "-j";
	argv[n++] = "-v";
	if (role != TRACER && *t->def->snapshot)
		argv[n++] = (char *)t->def->snapshot;
	for (int i = 0; i < t->nargs; i++)
		argv[n++] = t->args[i];
	argv[n] = NULL;

	*r = (struct run){ .tool = t, .role = role, .spawned = true };
	r->out.max = r->err.max = LINE_MAX_BYTES;
	ht_sb_printf(&head, "# %s:", role_name[role]);
	for (int i = 0; i < n; i++)
		ht_sb_printf(&head, " %s", argv[i]);
	ht_sb_printf(&head, "\n");
	append(t->log_fd, &ignored, head.p, head.len, "log");
	ht_sb_free(&head);
	if (ht_child_spawn(&r->ch, t->path, argv, why, sizeof(why))) {
		snprintf(r->last_err, sizeof(r->last_err), "%s", why);
		r->ended_ns = ht_now_mono_ns();
	}
}

static bool run_live(const struct run *r)
{
	return r->spawned && (r->ch.pid || r->ch.out_fd >= 0 || r->ch.err_fd >= 0);
}

static struct run *run_of_pid(pid_t pid)
{
	for (size_t i = 0; i < NTOOLS; i++)
		for (int j = 0; j < NROLES; j++)
			if (runs[i][j].spawned && runs[i][j].ch.pid == pid)
				return &runs[i][j];
	return NULL;
}

static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct run *r = run_of_pid(pid);

		if (!r)
			continue;
		r->ch.status = status;
		r->ch.pid = 0;
		r->ended_ns = ht_now_mono_ns();
	}
}

static void read_pipe(struct run *r, int *fd, struct ht_lines *l,
		      int (*fn)(void *ctx, const char *text, size_t len))
{
	int err = ht_lines_read(l, *fd, fn, r);

	if (err) { /* end of stream, or a pipe we cannot read any more */
		close(*fd);
		*fd = -1;
		ht_lines_free(l);
	}
}

/* Wait up to @timeout_ns for output, an exit or a signal, and handle what came. */
static void pump(uint64_t timeout_ns)
{
	struct pollfd pfd[1 + 2 * NTOOLS * NROLES];
	struct run *owner[ARRAY_SIZE(pfd)];
	struct signalfd_siginfo si;
	nfds_t n = 0;

	pfd[n++] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
	for (size_t i = 0; i < NTOOLS; i++)
		for (int j = 0; j < NROLES; j++) {
			struct run *r = &runs[i][j];

			if (!r->spawned)
				continue;
			if (r->ch.out_fd >= 0) {
				owner[n] = r;
				pfd[n++] = (struct pollfd){ .fd = r->ch.out_fd, .events = POLLIN };
			}
			if (r->ch.err_fd >= 0) {
				owner[n] = r;
				pfd[n++] = (struct pollfd){ .fd = r->ch.err_fd, .events = POLLIN };
			}
		}
	if (timeout_ns > NSEC_PER_SEC)
		timeout_ns = NSEC_PER_SEC;
	if (poll(pfd, n, (int)(timeout_ns / NSEC_PER_MSEC) + 1) <= 0)
		return;
	if (pfd[0].revents && read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGCHLD) {
			signals_seen++;
			last_signal = (int)si.ssi_signo;
		}
	}
	for (nfds_t i = 1; i < n; i++) {
		struct run *r = owner[i];

		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == r->ch.out_fd)
			read_pipe(r, &r->ch.out_fd, &r->out, on_stdout);
		else
			read_pipe(r, &r->ch.err_fd, &r->err, on_stderr);
	}
	reap();
}

typedef bool (*until_fn)(void);

/* Pump until @done, @deadline_ns (CLOCK_MONOTONIC) or @signals_seen reaches @max_signals. */
static void pump_until(until_fn done, uint64_t deadline_ns, int max_signals)
{
	for (;;) {
		uint64_t now = ht_now_mono_ns();

		if (done() || now >= deadline_ns || signals_seen >= max_signals)
			return;
		pump(deadline_ns - now);
	}
}

static bool all_attached_or_ended(void)
{
	for (size_t i = 0; i < NTOOLS; i++) {
		const struct run *r = &runs[i][TRACER];

		if (run_live(r) && !r->attached)
			return false;
	}
	return true;
}

static bool tracers_ended(void)
{
	for (size_t i = 0; i < NTOOLS; i++)
		if (run_live(&runs[i][TRACER]))
			return false;
	return true;
}

static bool role_ended(enum role role)
{
	for (size_t i = 0; i < NTOOLS; i++)
		if (run_live(&runs[i][role]))
			return false;
	return true;
}

static bool start_snapshots_ended(void)
{
	return role_ended(START_SNAPSHOT);
}

static bool end_snapshots_ended(void)
{
	return role_ended(END_SNAPSHOT);
}

static bool everything_ended(void)
{
	for (int j = 0; j < NROLES; j++)
		if (!role_ended((enum role)j))
			return false;
	return true;
}

static void signal_all(int sig)
{
	for (size_t i = 0; i < NTOOLS; i++)
		for (int j = 0; j < NROLES; j++) {
			struct run *r = &runs[i][j];

			if (!r->spawned || !r->ch.pid)
				continue;
			kill(r->ch.pid, sig);
			r->killed |= sig == SIGKILL;
		}
}

/*
 * Stop every child: SIGINT (they detach and flush), then SIGKILL at a further signal or
 * after the timeout. Then read what is left in the pipes: whole lines only.
 */
static void stop_all(int kill_at_signals)
{
	signal_all(SIGINT);
	pump_until(everything_ended, ht_now_mono_ns() + STOP_TIMEOUT_NS, kill_at_signals);
	if (!everything_ended()) {
		signal_all(SIGKILL);
		pump_until(everything_ended, ht_now_mono_ns() + KILL_TIMEOUT_NS, INT_MAX);
	}
	/* one that SIGKILL does not end is stuck in the kernel: we do not hang with it */
	for (size_t i = 0; i < NTOOLS; i++)
		for (int j = 0; j < NROLES; j++) {
			struct run *r = &runs[i][j];

			if (!run_live(r))
				continue;
			r->stuck = true;
			r->ch.pid = 0;
			if (r->ch.out_fd >= 0)
				close(r->ch.out_fd);
			if (r->ch.err_fd >= 0)
				close(r->ch.err_fd);
			r->ch.out_fd = r->ch.err_fd = -1;
		}
}

/* How a run ended, for tools.txt. */
static const char *run_status(const struct run *r, char *buf, size_t len)
{
	if (r->stuck) {
		snprintf(buf, len, "still running %llus after SIGKILL (stuck in the kernel?)",
			 KILL_TIMEOUT_NS / NSEC_PER_SEC);
		return buf;
	}
	return ht_wait_status(r->ch.status, buf, len);
}

/* ---- the reports ---- */

static bool tracer_ran(const struct tool *t)
{
	return t->def->traces && runs[t - tools][TRACER].attached;
}

static void tool_line(struct ht_strbuf *b, struct tool *t)
{
	const struct run *tr = &runs[t - tools][TRACER], *ss = &runs[t - tools][START_SNAPSHOT];
	const struct run *es = &runs[t - tools][END_SNAPSHOT];
	const char *version = t->version[0] ? t->version : "-";
	char st[80], st2[80];

	ht_sb_printf(b, "%-11s ", t->def->name);
	if (!t->selected) {
		ht_sb_printf(b, "%-9s %-8s not selected (--tools, --exclude)\n", "skipped", "-");
		return;
	}
	if (!t->path[0]) {
		ht_sb_printf(b,
			     "%-9s %-8s not installed: no huatuo-%s next to huatuo-capture or in "
			     "$PATH\n",
			     "skipped", "-", t->def->name);
		return;
	}
	if (t->def->traces && tracer_ran(t)) {
		ht_sb_printf(b, "%-9s %-8s hooks: %s; events %llu; ended: %s", "attached", version,
			     t->hooks[0] ? t->hooks : "-",
			     (unsigned long long)ht_evsummary_events(summary, t->def->tracer_name),
			     run_status(tr, st, sizeof(st)));
		if (tr->killed && WIFSIGNALED(tr->ch.status) && WTERMSIG(tr->ch.status) == SIGKILL)
			ht_sb_printf(b, " (by us: a second Ctrl-C, or no exit %llus after SIGINT)",
				     STOP_TIMEOUT_NS / NSEC_PER_SEC);
		else if (WIFSIGNALED(tr->ch.status))
			ht_sb_printf(b, " after %.1fs (crashed: see %s.log)",
				     (double)(tr->ended_ns - tr->ch.started_ns) / NSEC_PER_SEC,
				     t->def->name);
		else if (WIFEXITED(tr->ch.status) && WEXITSTATUS(tr->ch.status) && tr->last_err[0])
			ht_sb_printf(b, ": %s", tr->last_err);
	} else if (t->def->traces) {
		ht_sb_printf(b, "%-9s %-8s %s", "skipped", version,
			     tr->last_err[0] ? tr->last_err : "exited before attaching");
		if (WIFSIGNALED(tr->ch.status) || !tr->last_err[0])
			ht_sb_printf(b, " (%s)", run_status(tr, st, sizeof(st)));
	} else {
		bool ok = ss->spawned && WIFEXITED(ss->ch.status) && !WEXITSTATUS(ss->ch.status);

		ht_sb_printf(b, "%-9s %-8s %s", ok ? "snapshot" : "skipped", version,
			     ok		     ? "at the start and the end" :
			     ss->last_err[0] ? ss->last_err :
					       "snapshot failed");
	}
	if (t->def->snapshot && t->def->traces)
		ht_sb_printf(b, "; snapshots: start %s, end %s",
			     ss->spawned ? run_status(ss, st, sizeof(st)) : "-",
			     es->spawned ? run_status(es, st2, sizeof(st2)) : "-");
	if (t->lines_over_cap)
		ht_sb_printf(b, "; %llu lines not kept (over %lluM in %s)",
			     (unsigned long long)t->lines_over_cap, DATA_MAX >> 20,
			     t->def->tracer_name);
	if (tr->out.torn_bytes || ss->out.torn_bytes || es->out.torn_bytes)
		ht_sb_printf(b, "; a partial last line was dropped");
	if (tr->out.long_lines)
		ht_sb_printf(b, "; %llu lines over %d MiB dropped",
			     (unsigned long long)tr->out.long_lines, LINE_MAX_BYTES >> 20);
	ht_sb_printf(b, "\n");
}

static void write_report(int fd, const char *name, const struct ht_strbuf *b)
{
	uint64_t size = 0;

	if (b->len)
		append(fd, &size, b->p, b->len, name);
	if (fsync(fd) && errno != EINVAL && !write_failed) {
		ht_err(&env, "writing %s/%s failed: %s", bundle_path, name, strerror(errno));
		write_failed = true;
	}
	close(fd);
}

static void summary_head(struct ht_strbuf *b, const struct timespec *start, double secs,
			 int ntracers)
{
	char when[64];

	ht_fmt_time(start, when, sizeof(when));
	ht_sb_printf(b, "huatuo-capture on %s from %s for %.1fs, ended by %s, %d tracers\n",
		     ht_hostname(), when, secs,
		     last_signal ? sigabbrev_np(last_signal) ?: "a signal" : "the duration",
		     ntracers);
	ht_sb_printf(b, "bundle: %s\n\n", bundle_path);
}

/* Drop the empty data file of a tool that never ran, so DIR lists what was captured. */
static void drop_empty(struct tool *t)
{
	if (t->data_fd < 0)
		return;
	close(t->data_fd);
	t->data_fd = -1;
	if (!t->data_bytes && !tracer_ran(t))
		ht_dir_unlink(&bundle, t->def->tracer_name);
}

static void make_archive(void)
{
	char parent_path[PATH_MAX], base[NAME_MAX + 1], name[NAME_MAX + 1], why[640], *slash;
	struct ht_dir parent;

	snprintf(parent_path, sizeof(parent_path), "%s", bundle_path);
	while ((slash = strrchr(parent_path, '/')) && !slash[1] && slash != parent_path)
		*slash = '\0';
	slash = strrchr(parent_path, '/');
	snprintf(base, sizeof(base), "%.200s", slash ? slash + 1 : parent_path);
	snprintf(name, sizeof(name), "%.200s.tar.gz", base);
	if (!slash)
		snprintf(parent_path, sizeof(parent_path), ".");
	else if (slash == parent_path)
		snprintf(parent_path, sizeof(parent_path), "/");
	else
		*slash = '\0';
	if (ht_dir_open(&parent, parent_path, false)) {
		ht_err(&env, "cannot write the archive: %s", parent.why);
		write_failed = true;
		return;
	}
	if (ht_targz_dir(&bundle, &parent, name, base, why, sizeof(why))) {
		ht_err(&env, "cannot write the archive: %s", why);
		write_failed = true;
	} else {
		fprintf(stderr, "archive: %s/%s\n", parent_path, name);
	}
	ht_dir_close(&parent);
}

/* ---- the story ---- */

int main(int argc, char **argv)
{
	int tools_fd, host_fd, summary_fd, ntracers = 0, nsnapshots = 0, kmsg, kill_at;
	struct ht_strbuf host = { 0 }, list = { 0 }, sum = { 0 };
	uint64_t t0, attached_ns, deadline;
	struct timespec wall0;
	sigset_t mask;

	for (size_t i = 0; i < NTOOLS; i++)
		tools[i] = (struct tool){
			.def = &catalog[i], .selected = true, .data_fd = -1, .log_fd = -1
		};
	ht_parse_args(&env, &capture, argc, argv);
	if (ht_check_privilege(&env))
		return 1;
	find_tools();
	if (open_bundle(&tools_fd, &host_fd, &summary_fd))
		return 1;

	/* signals as events of the loop; children get an empty mask back */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	summary = ht_evsummary_new();
	if (sigfd < 0 || !summary) {
		ht_err(&env, "cannot set up: %s", strerror(errno));
		return 1;
	}

	clock_gettime(CLOCK_REALTIME, &wall0);
	t0 = ht_now_mono_ns();
	kmsg = ht_kmsg_open();
	ht_sb_printf(&host, "======== at the start\n");
	ht_host_facts(&host, true);
	for (size_t i = 0; i < NTOOLS; i++) {
		if (!tools[i].path[0])
			continue;
		ht_evsummary_tracer(summary, catalog[i].tracer_name);
		if (catalog[i].traces)
			spawn(&tools[i], TRACER);
		if (catalog[i].snapshot)
			spawn(&tools[i], START_SNAPSHOT);
	}
	pump_until(all_attached_or_ended, t0 + ATTACH_TIMEOUT_NS, 1);
	attached_ns = ht_now_mono_ns() - t0;
	for (size_t i = 0; i < NTOOLS; i++) {
		const struct run *r = &runs[i][TRACER];

		if (r->attached) {
			ntracers++;
		} else if (r->spawned && !run_live(r)) {
			if (WIFEXITED(r->ch.status) && WEXITSTATUS(r->ch.status) == HT_EX_USAGE &&
			    tools[i].tool_args) {
				ht_err(&env, "invalid --tool-args '%s': %s", tools[i].tool_args,
				       r->last_err);
				bad_tool_args = true;
			} else {
				fprintf(stderr, "%s: %s skipped: %s\n", env.tool, catalog[i].name,
					r->last_err[0] ? r->last_err : "exited before attaching");
			}
		}
	}

	/* the capture window */
	if (ntracers && !signals_seen && !bad_tool_args) {
		fprintf(stderr,
			"Tracing with %d tools into %s for %llus (all attached in %llu ms)... Hit "
			"Ctrl-C to end.\n",
			ntracers, bundle_path,
			(unsigned long long)((env.duration_set ? env.duration_ns :
								 DEFAULT_DURATION_NS) /
					     NSEC_PER_SEC),
			(unsigned long long)(attached_ns / NSEC_PER_MSEC));
		deadline = ht_now_mono_ns() +
			   (env.duration_set ? env.duration_ns : DEFAULT_DURATION_NS);
		pump_until(tracers_ended, deadline, 1);
	}

	/*
	 * the end: snapshots while the tracers still run, then stop them all; a Ctrl-C from
	 * now on kills what is left
	 */
	kill_at = signals_seen + 1;
	pump_until(start_snapshots_ended, ht_now_mono_ns() + SNAPSHOT_TIMEOUT_NS, kill_at);
	for (size_t i = 0; i < NTOOLS && !bad_tool_args && signals_seen < kill_at; i++)
		if (tools[i].path[0] && catalog[i].snapshot)
			spawn(&tools[i], END_SNAPSHOT);
	pump_until(end_snapshots_ended, ht_now_mono_ns() + SNAPSHOT_TIMEOUT_NS, kill_at);
	stop_all(kill_at);

	/* the reports */
	ht_sb_printf(&host, "======== at the end\n");
	ht_host_facts(&host, false);
	ht_kmsg_read(kmsg, &host);
	for (size_t i = 0; i < NTOOLS; i++) {
		const struct run *r = &runs[i][TRACER];
		const struct run *s = &runs[i][START_SNAPSHOT];

		if (r->attached)
			ht_evsummary_losses(summary, catalog[i].tracer_name, r->lost, r->held,
					    r->losses_known);
		else if (s->spawned && WIFEXITED(s->ch.status) && !WEXITSTATUS(s->ch.status))
			nsnapshots++;
		tool_line(&list, &tools[i]);
		drop_empty(&tools[i]);
		if (tools[i].log_fd >= 0)
			close(tools[i].log_fd);
	}
	summary_head(&sum, &wall0, (double)(ht_now_mono_ns() - t0) / NSEC_PER_SEC, ntracers);
	ht_evsummary_text(summary, &sum);
	write_report(tools_fd, "tools.txt", &list);
	write_report(host_fd, "host.txt", &host);
	write_report(summary_fd, "summary.txt", &sum);
	if (sum.len)
		fwrite(sum.p, 1, sum.len, stdout);
	fflush(stdout);
	if (archive)
		make_archive();
	ht_dir_close(&bundle);
	ht_sb_free(&host);
	ht_sb_free(&list);
	ht_sb_free(&sum);
	ht_evsummary_free(summary);

	if (bad_tool_args)
		return HT_EX_USAGE;
	if (!ntracers && !nsnapshots) {
		ht_err(&env, "no tool could attach on this kernel: see %s/tools.txt", bundle_path);
		return 1;
	}
	return write_failed ? 1 : 0;
}
