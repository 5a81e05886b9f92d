#!/usr/bin/env bats
# huatuo-bondlacp's change tracking (tools/bondlacp_track.c) fed with synthetic rtnetlink
# messages by tests/unit/bondlacp-unit; the bond's text comes from tests/unit/fixtures/bonding.
load ../lib/common

U() { (cd "$HT_TOP" && "$HT_BUILD/bondlacp-unit" "$@"); }

@test "first sight is the baseline; an unchanged state is not reported" {
	run U new:5:eth1:1000:61:61:1:0:0 new:5:eth1:1000:61:61:1:0:0 plain:6:eth9
	assert_success
	assert_output "events=0"
}

@test "an LACP change: new and previous state, flags, /proc/net/bonding text and parsed fields" {
	run --separate-stderr U new:5:eth1:1000:61:61:1:0:0 new:5:eth1:1000:69:1:2:2:0
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_equal "${lines[1]}" "events=1"
	printf '%s' "${lines[0]}" | jq -e --rawfile text "$HT_TOP/tests/unit/fixtures/bonding/8023ad-slave-down.txt" '
		.tracer_name == "netdev_bonding_lacp" and .tracer_type == "auto" and
		(.tracer_data | .bond == "rtbond0" and .slave == "eth1" and .ifindex == 5
		and .master_ifindex == 1000
		and .actor_oper_port_state == 69
		and .actor_oper_port_state_flags == ["activity", "aggregation", "defaulted"]
		and .partner_oper_port_state == 1 and .partner_oper_port_state_flags == ["activity"]
		and .prev_actor_oper_port_state == 61 and .prev_partner_oper_port_state == 61
		and .aggregator_id == 2 and .prev_aggregator_id == 1
		and .mii_status == "down" and .slave_state == "active"
		and .changed == "actor_oper_port_state,partner_oper_port_state,aggregator_id,mii_status"
		and .content == "tests/unit/fixtures/bonding/rtbond0\n" + $text
		and .bond_mode == "IEEE 802.3ad Dynamic link aggregation"
		and .actor_churn_state == "churned" and .link_failure_count == 3)' >/dev/null ||
		fail "${lines[0]}"
}

@test "each change is one event; only what changed is named" {
	run U new:5:eth1:1000:61:61:1:0:0 new:5:eth1:1000:61:61:1:0:1 new:5:eth1:1000:61:61:1:0:1 \
		new:5:eth1:1000:63:61:1:0:1
	assert_success
	assert_equal "${lines[2]}" "events=2"
	assert_equal "$(printf '%s' "${lines[0]}" | jq -r '.tracer_data | "\(.changed) \(.slave_state)"')" \
		"slave_state backup"
	assert_equal "$(printf '%s' "${lines[1]}" | jq -r .tracer_data.changed)" "actor_oper_port_state"
}

@test "a removed slave is forgotten: its return is a new baseline" {
	run U new:5:eth1:1000:61:61:1:0:0 del:5:eth1 new:5:eth1:1000:1:1:1:0:0 \
		plain:7:eth2 new:7:eth2:1000:61:61:1:0:0 plain:7:eth2 new:7:eth2:1000:1:1:1:0:0
	assert_success
	assert_output "events=0"
}

@test "slaves of a bond without 802.3ad: MII changes only, no LACP fields" {
	run U new:8:eno1:1000:-:-:-:0:0 new:8:eno1:1000:-:-:-:2:1
	assert_success
	assert_equal "${lines[1]}" "events=1"
	printf '%s' "${lines[0]}" | jq -e '.tracer_data | .changed == "slave_state,mii_status"
		and .mii_status == "down" and .slave_state == "backup"
		and (has("actor_oper_port_state") | not) and (has("aggregator_id") | not)' >/dev/null ||
		fail "${lines[0]}"
}
