// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers of the netlink tools: privilege, network namespaces, ethtool driver information,
 * and the pure parser of RTM_GETDCB (DCB_CMD_IEEE_GET) replies with the PFC counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/dcbnl.h>
#include <linux/ethtool.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "huatuo.h"
#include "netlink.h"

#define CAP_NET_ADMIN_BIT 12
#define CAP_SYS_ADMIN_BIT 21

static bool has_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	if (geteuid() == 0)
		return true;
	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1U << (cap % 32));
}

int ht_check_net_privilege(const struct ht_env *env)
{
	if (has_cap(CAP_NET_ADMIN_BIT))
		return 0;
	ht_err(env, "need root or CAP_NET_ADMIN (CAP_SYS_ADMIN for --netns) to watch network "
		    "devices (run with sudo)");
	return 1;
}

int ht_netns_path(const char *spec, char *path, size_t len)
{
	int n;

	if (!*spec)
		return -ENOENT;
	if (strchr(spec, '/'))
		n = snprintf(path, len, "%s", spec);
	else
		n = snprintf(path, len, "/var/run/netns/%s", spec);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return access(path, F_OK) ? -ENOENT : 0;
}

int ht_netns_enter(const struct ht_env *env, const char *spec, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		ht_err(env, "cannot open --netns %s (%s): %s", spec, path, strerror(errno));
		return 1;
	}
	if (setns(fd, CLONE_NEWNET)) {
		ht_err(env, "cannot enter --netns %s (%s): %s", spec, path,
		       errno == EINVAL ? "not a network namespace" : strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

/* Copy a fixed-size kernel string that may lack its NUL. */
static void copy_str(char *dst, size_t dlen, const char *src, size_t slen)
{
	size_t n = strnlen(src, slen);

	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int ht_ethtool_drvinfo(const char *ifname, struct ht_drvinfo *out)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	int fd, err = 0;

	memset(out, 0, sizeof(*out));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCETHTOOL, &ifr)) {
		err = -errno;
	} else {
		copy_str(out->driver, sizeof(out->driver), info.driver, sizeof(info.driver));
		copy_str(out->version, sizeof(out->version), info.version, sizeof(info.version));
		copy_str(out->fw_version, sizeof(out->fw_version), info.fw_version,
			 sizeof(info.fw_version));
		copy_str(out->bus_info, sizeof(out->bus_info), info.bus_info,
			 sizeof(info.bus_info));
	}
	close(fd);
	return err;
}

const char *ht_fmt_mac(const uint8_t *addr, size_t len, char *buf, size_t buflen)
{
	size_t used = 0;

	if (!buflen)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < len && used + 3 < buflen; i++)
		used += (size_t)snprintf(buf + used, buflen - used, "%s%02x", i ? ":" : "",
					 addr[i]);
	return buf;
}

/* ---- DCB ---- */

/* One attribute of a nest; nla_next() walks [pos, end) and refuses any that overruns it. */
struct nla_view {
	uint16_t type;
	const uint8_t *data;
	size_t len;
};

static int nla_next(const uint8_t **pos, const uint8_t *end, struct nla_view *a)
{
	size_t left = (size_t)(end - *pos), step;
	struct nlattr h;

	if (left < sizeof(h))
		return 0;
	memcpy(&h, *pos, sizeof(h));
	if (h.nla_len < sizeof(h) || h.nla_len > left)
		return -EINVAL;
	a->type = h.nla_type & NLA_TYPE_MASK;
	a->data = *pos + NLA_HDRLEN;
	a->len = h.nla_len - NLA_HDRLEN;
	step = NLA_ALIGN(h.nla_len);
	*pos += step < left ? step : left;
	return 1;
}

static int parse_ieee(const uint8_t *p, const uint8_t *end, struct ht_dcb_pfc *out)
{
	struct nla_view a;
	int r;

	while ((r = nla_next(&p, end, &a)) > 0) {
		struct ieee_pfc pfc;

		if (a.type != DCB_ATTR_IEEE_PFC)
			continue;
		if (a.len < sizeof(pfc))
			return -EINVAL;
		memcpy(&pfc, a.data, sizeof(pfc));
		out->has_pfc = true;
		out->pfc_cap = pfc.pfc_cap;
		out->pfc_en = pfc.pfc_en;
		for (int i = 0; i < HT_PFC_PRIOS; i++) {
			out->requests[i] = pfc.requests[i];
			out->indications[i] = pfc.indications[i];
		}
	}
	return r;
}

int ht_dcb_parse_ieee(const void *buf, size_t len, struct ht_dcb_pfc *out)
{
	const uint8_t *msg = buf, *p, *end;
	struct nlmsghdr nlh;
	struct dcbmsg dcb;
	struct nla_view a;
	int r;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(nlh))
		return -EINVAL;
	memcpy(&nlh, msg, sizeof(nlh));
	if (nlh.nlmsg_len < sizeof(nlh) || nlh.nlmsg_len > len)
		return -EINVAL;
	len = nlh.nlmsg_len;
	if (nlh.nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr e;

		if (len < NLMSG_HDRLEN + sizeof(e.error))
			return -EINVAL;
		memcpy(&e.error, msg + NLMSG_HDRLEN, sizeof(e.error));
		if (e.error > 0 || e.error < -4095)
			return -EINVAL;
		return e.error ? e.error : -ENODATA;
	}
	if (nlh.nlmsg_type != RTM_GETDCB || len < NLMSG_HDRLEN + sizeof(dcb))
		return -EINVAL;
	memcpy(&dcb, msg + NLMSG_HDRLEN, sizeof(dcb));
	if (dcb.cmd != DCB_CMD_IEEE_GET)
		return -EINVAL;
	p = msg + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(dcb));
	end = msg + len;
	if (p > end)
		return -EINVAL;
	while ((r = nla_next(&p, end, &a)) > 0) {
		if (a.type == DCB_ATTR_IFNAME) {
			size_t n = strnlen((const char *)a.data, a.len);

			if (n >= sizeof(out->ifname))
				n = sizeof(out->ifname) - 1;
			memcpy(out->ifname, a.data, n);
			out->ifname[n] = '\0';
		} else if (a.type == DCB_ATTR_IEEE) {
			out->has_ieee = true;
			r = parse_ieee(a.data, a.data + a.len, out);
			if (r < 0)
				return r;
		}
	}
	return r < 0 ? r : 0;
}

int ht_pfc_metrics_families(struct ht_metrics *m)
{
	if (ht_metrics_family(m, HT_PFC_METRIC_RX, "counter",
			      "PFC pause frames received per device and priority (DCB "
			      "ieee_pfc indications)") ||
	    ht_metrics_family(m, HT_PFC_METRIC_TX, "counter",
			      "PFC pause frames sent per device and priority (DCB ieee_pfc "
			      "requests)"))
		return -ENOMEM;
	return 0;
}

int ht_pfc_metrics_set(struct ht_metrics *m, const struct ht_dcb_pfc *p)
{
	for (int i = 0; i < HT_PFC_PRIOS; i++) {
		char prio[4];
		const char *labels[] = { "device", p->ifname, "prio", prio, NULL };
		int err;

		snprintf(prio, sizeof(prio), "%d", i);
		err = ht_metrics_set(m, HT_PFC_METRIC_RX, labels, p->indications[i]);
		err = err ?: ht_metrics_set(m, HT_PFC_METRIC_TX, labels, p->requests[i]);
		if (err)
			return err;
	}
	return 0;
}
