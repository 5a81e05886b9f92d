/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libcommon for the netlink tools (huatuo-netdev, huatuo-pfc): privilege, network namespaces,
 * ethtool driver information and the DCB (RTM_GETDCB) reply parser.
 */
#ifndef HT_NETLINK_H
#define HT_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "huatuo.h"

/* Root or CAP_NET_ADMIN? 0, or 1 with the message printed. */
int ht_check_net_privilege(const struct ht_env *env);

/*
 * --netns NAME|PATH: a value with a '/' is a path (/proc/PID/ns/net), anything else a name
 * made by `ip netns add` (/var/run/netns/NAME). Fills @path; 0 or -ENOENT/-ENAMETOOLONG.
 */
int ht_netns_path(const char *spec, char *path, size_t len);
/* Enter the network namespace at @path (setns). 0, or 1 with the message printed. */
int ht_netns_enter(const struct ht_env *env, const char *spec, const char *path);

/* ethtool ETHTOOL_GDRVINFO: empty strings when the device has no ethtool driver info. */
struct ht_drvinfo {
	char driver[32];
	char version[32];
	char fw_version[32];
	char bus_info[32];
};
int ht_ethtool_drvinfo(const char *ifname, struct ht_drvinfo *out);

/* "aa:bb:cc:dd:ee:ff" (any length, "" for none). */
const char *ht_fmt_mac(const uint8_t *addr, size_t len, char *buf, size_t buflen);

/* ---- DCB: PFC counters (huatuo-pfc) ---- */

#define HT_PFC_PRIOS 8

/* What one RTM_GETDCB / DCB_CMD_IEEE_GET reply says about PFC. */
struct ht_dcb_pfc {
	bool has_ieee; /* the reply carried DCB_ATTR_IEEE */
	bool has_pfc;  /* ... with a DCB_ATTR_IEEE_PFC struct ieee_pfc */
	char ifname[16];
	uint8_t pfc_cap, pfc_en;
	uint64_t requests[HT_PFC_PRIOS];    /* PFC frames sent */
	uint64_t indications[HT_PFC_PRIOS]; /* PFC frames received */
};

/*
 * Parse one netlink message (nlmsghdr + dcbmsg + attributes) as the kernel answers
 * RTM_GETDCB with DCB_CMD_IEEE_GET. Pure: bytes in, struct out; never reads past @len.
 * Returns 0 (see has_ieee/has_pfc), -EINVAL for a malformed message, or the kernel's
 * negative errno when the message is an NLMSG_ERROR (-EOPNOTSUPP: no DCB on that device).
 */
int ht_dcb_parse_ieee(const void *buf, size_t len, struct ht_dcb_pfc *out);

struct ht_metrics;
#define HT_PFC_METRIC_RX "huatuo_bamai_netdev_dcb_pfc_received_total"
#define HT_PFC_METRIC_TX "huatuo_bamai_netdev_dcb_pfc_send_total"
/* Declare the two PFC counter families in @m. 0 or -ENOMEM. */
int ht_pfc_metrics_families(struct ht_metrics *m);
/* Set the device's 16 series {device, prio="0".."7"}. 0, -ENOMEM or -E2BIG (series cap). */
int ht_pfc_metrics_set(struct ht_metrics *m, const struct ht_dcb_pfc *p);

#endif /* HT_NETLINK_H */
