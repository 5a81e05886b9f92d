// SPDX-License-Identifier: GPL-2.0
/*
 * What an incident report needs to know about the host besides events: kernel, load,
 * memory, pressure stall information and the kernel log of a time window.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"

#define KMSG_MAX_BYTES (4 << 20) /* of kernel log kept: a storm of messages stays bounded */

/* "== title ==" then the file's text, made printable line by line. */
static void add_file(struct ht_strbuf *out, const char *title, const char *path)
{
	char text[16384], line[1024];
	int n = ht_read_file(path, text, sizeof(text));
	char *save = NULL;

	ht_sb_printf(out, "== %s (%s) ==\n", title, path);
	if (n < 0) {
		ht_sb_printf(out, "(cannot read: %s)\n", strerror(-n));
		return;
	}
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		ht_sb_printf(out, "%s\n", ht_printable(l, strlen(l), line, sizeof(line)));
}

/* Every file matching @pattern, each as add_file() shows it; a line if none matches. */
static void add_glob(struct ht_strbuf *out, const char *title, const char *pattern)
{
	glob_t g;

	if (glob(pattern, 0, NULL, &g)) {
		ht_sb_printf(out, "== %s (%s) ==\n(none on this host)\n", title, pattern);
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++)
		add_file(out, title, g.gl_pathv[i]);
	globfree(&g);
}

/*
 * Hardware error counters the kernel keeps whether or not a tracer saw the errors: machine
 * check, threshold and deferred-error interrupts, EDAC memory controller counts, PCIe AER
 * counts per device.
 */
static void add_ras_counters(struct ht_strbuf *out)
{
	static const char *const irqs[] = { "MCE:", "MCP:", "THR:", "DFR:" };
	char line[1024];
	FILE *f = fopen("/proc/interrupts", "re");
	bool any = false;

	ht_sb_printf(out, "== RAS interrupts (/proc/interrupts) ==\n");
	while (f && fgets(line, sizeof(line), f)) {
		char label[16];

		if (sscanf(line, " %15s", label) != 1)
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(irqs); i++)
			if (!strcmp(label, irqs[i])) {
				ht_sb_printf(out, "%s", line);
				any = true;
			}
	}
	if (f)
		fclose(f);
	if (!any)
		ht_sb_printf(out, "(none on this host)\n");
	add_glob(out, "EDAC corrected errors", "/sys/devices/system/edac/mc/mc*/ce_count");
	add_glob(out, "EDAC uncorrected errors", "/sys/devices/system/edac/mc/mc*/ue_count");
	add_glob(out, "PCIe AER correctable", "/sys/bus/pci/devices/*/aer_dev_correctable");
	add_glob(out, "PCIe AER non-fatal", "/sys/bus/pci/devices/*/aer_dev_nonfatal");
	add_glob(out, "PCIe AER fatal", "/sys/bus/pci/devices/*/aer_dev_fatal");
}

void ht_host_facts(struct ht_strbuf *out, bool static_facts)
{
	struct dirent *de;
	struct utsname u;
	char ts[64], path[300];
	struct timespec now;
	DIR *d;

	clock_gettime(CLOCK_REALTIME, &now);
	ht_fmt_time(&now, ts, sizeof(ts));
	if (static_facts) {
		uname(&u);
		ht_sb_printf(out, "== host ==\nhostname %s\nkernel %s %s %s\n", ht_hostname(),
			     u.release, u.version, u.machine);
		add_file(out, "kernel command line", "/proc/cmdline");
	}
	ht_sb_printf(out, "== time ==\n%s\n", ts);
	add_file(out, "uptime (seconds up, idle)", "/proc/uptime");
	add_file(out, "load average", "/proc/loadavg");
	d = opendir("/proc/pressure");
	if (!d) {
		ht_sb_printf(out, "== pressure (/proc/pressure) ==\n(cannot read: %s)\n",
			     strerror(errno));
	} else {
		char *names[8];
		int n = 0;

		while ((de = readdir(d)) && n < (int)ARRAY_SIZE(names))
			if (de->d_name[0] != '.')
				names[n++] = strdup(de->d_name);
		closedir(d);
		for (int i = 0; i < n; i++) {
			if (!names[i])
				continue;
			snprintf(path, sizeof(path), "/proc/pressure/%s", names[i]);
			add_file(out, "pressure", path);
			free(names[i]);
		}
	}
	add_file(out, "memory", "/proc/meminfo");
	add_glob(out, "bonding", "/proc/net/bonding/*");
	add_ras_counters(out);
}

int ht_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

char *ht_kmsg_text(char *rec, unsigned int *prio, unsigned long long *ts_us)
{
	char *text = strchr(rec, ';'), *end;

	if (!text || sscanf(rec, "%u,%*u,%llu", prio, ts_us) != 2)
		return NULL;
	text++;
	end = strchr(text, '\n');
	if (end)
		*end = '\0';
	return text;
}

void ht_kmsg_read(int fd, struct ht_strbuf *out)
{
	uint64_t overwritten = 0, bytes = 0, skipped = 0;
	char rec[8192], line[8192 + 64];

	ht_sb_printf(out, "== kernel log of the capture window (/dev/kmsg) ==\n");
	if (fd < 0) {
		ht_sb_printf(out, "(cannot read /dev/kmsg)\n");
		return;
	}
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		unsigned long long ts_us = 0;
		unsigned int prio;
		char *text;

		if (n < 0 && errno == EPIPE) { /* records overwritten before we read them */
			overwritten++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		text = ht_kmsg_text(rec, &prio, &ts_us);
		if (!text)
			continue;
		if (bytes > KMSG_MAX_BYTES) {
			skipped++;
			continue;
		}
		ht_printable(text, strlen(text), line, sizeof(line));
		ht_sb_printf(out, "[%5llu.%06llu] %s\n", ts_us / 1000000, ts_us % 1000000, line);
		bytes += strlen(line);
	}
	if (overwritten)
		ht_sb_printf(out, "(the kernel overwrote records before they were read)\n");
	if (skipped)
		ht_sb_printf(out, "(%llu more records not kept: over %u MiB of log)\n",
			     (unsigned long long)skipped, KMSG_MAX_BYTES >> 20);
	close(fd);
}
