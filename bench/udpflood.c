// SPDX-License-Identifier: GPL-2.0
/*
 * udpflood: a paced drop storm for the dropwatch event-rate figure of make bench.
 *
 *   udpflood RATE SECONDS [PORT]
 *
 * Sends 16-byte UDP datagrams to 127.0.0.1:PORT (default 9, where nothing listens) in the
 * current network namespace, RATE per second (0 = as fast as it can) for SECONDS. Each one
 * is dropped by the kernel with reason NO_SOCKET (skb:kfree_skb). Datagrams go out in
 * sendmmsg() batches paced in 1 ms slices; a python loop tops out near 70k/s here, this
 * reaches several hundred thousand. Prints "sent N rate R" (R = achieved datagrams/s).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define BATCH 64

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct mmsghdr msgs[BATCH];
	struct iovec iov;
	char payload[16] = "huatuo-bench";
	uint64_t rate, secs, port = 9, sent = 0, start, end, now;
	int fd;

	if (argc < 3 || parse_u64(argv[1], &rate) || parse_u64(argv[2], &secs) ||
	    (argc > 3 && (parse_u64(argv[3], &port) || !port || port > 65535))) {
		fprintf(stderr, "usage: udpflood RATE SECONDS [PORT]\n");
		return 64;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		fprintf(stderr, "udpflood: socket: %s\n", strerror(errno));
		return 1;
	}
	to.sin_port = htons((uint16_t)port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	iov.iov_base = payload;
	iov.iov_len = sizeof(payload);
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_name = &to;
		msgs[i].msg_hdr.msg_namelen = sizeof(to);
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	start = now_ns();
	end = start + secs * 1000000000ULL;
	while ((now = now_ns()) < end) {
		/* how many should be out by now; sleep to the next slice when ahead */
		uint64_t due = rate ? (now - start + SLICE_NS) * rate / 1000000000ULL :
				      sent + BATCH;
		unsigned int n;
		int done;

		if (sent >= due) {
			struct timespec ts = { 0, (long)(SLICE_NS - (now - start) % SLICE_NS) };

			nanosleep(&ts, NULL);
			continue;
		}
		n = due - sent < BATCH ? (unsigned int)(due - sent) : BATCH;
		done = sendmmsg(fd, msgs, n, 0);
		if (done < 0) {
			/* ICMP errors from earlier datagrams surface here; they are expected */
			if (errno == ECONNREFUSED || errno == EINTR)
				continue;
			fprintf(stderr, "udpflood: sendmmsg: %s\n", strerror(errno));
			return 1;
		}
		sent += (uint64_t)done;
	}
	now = now_ns();
	printf("sent %llu rate %llu\n", (unsigned long long)sent,
	       (unsigned long long)(sent * 1000000000ULL / (now - start)));
	close(fd);
	return 0;
}
