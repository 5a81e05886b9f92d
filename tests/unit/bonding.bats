#!/usr/bin/env bats
# libcommon/bonding.c: /proc/net/bonding text (fixtures in bond_procfs.c's format) and the
# bond-slave rtnetlink attributes, through tests/unit/bonding-unit.
load ../lib/common

B() { "$HT_BUILD/bonding-unit" "$@"; }
F=$BATS_TEST_DIRNAME/fixtures/bonding

@test "802.3ad, two slaves up: mode, aggregator, per-slave LACP details" {
	run B proc "$F/8023ad-up.txt"
	assert_success
	assert_line "version=v6.1.0-18-amd64"
	assert_line "mode=4 IEEE 802.3ad Dynamic link aggregation"
	assert_line "mii=up"
	assert_line "lacp_rate=fast"
	assert_line "active_aggregator=1 partner_mac=00:23:04:ee:be:0a"
	assert_line "slaves=2/2"
	assert_line "slave ens1f0 mii=up speed=25000 duplex=full failures=0 hw=0c:42:a1:5e:11:20 queue=0 agg=1 churn=none/none churned=0/0 actor=63(activity,timeout,aggregation,synchronization,collecting,distributing) key=21 port=1 partner=61(activity,aggregation,synchronization,collecting,distributing) key=32801 port=16397 mac=00:23:04:ee:be:0a"
	assert_line --regexp "^slave ens1f1 .* failures=1 .* agg=1 .* port=2 partner=61\(.*\) key=32801 port=397 "
}

@test "802.3ad, one slave down: unknown speed, defaulted partner, its own aggregator" {
	run B proc "$F/8023ad-slave-down.txt"
	assert_success
	assert_line "slave eth1 mii=down speed=-1 duplex=Unknown failures=3 hw=52:54:00:12:34:57 queue=0 agg=2 churn=churned/churned churned=1/1 actor=69(activity,aggregation,defaulted) key=0 port=2 partner=1(activity) key=1 port=1 mac=00:00:00:00:00:00"
	assert_line --regexp "^slave eth0 mii=up speed=10000 .* agg=1 churn=none/none "
}

@test "802.3ad, churned partner and a slave without aggregator" {
	run B proc "$F/8023ad-churned.txt"
	assert_success
	assert_line --regexp "^slave rtest_v0 .* churn=churned/churned churned=2/3 actor=199\(activity,timeout,aggregation,defaulted,expired\) "
	assert_line "slave rtest_v1 mii=going back speed=10000 duplex=full failures=4294967295 hw=02:00:00:00:01:02 queue=2 agg=-1 churn=-/- churned=-1/-1 actor=-1() key=-1 port=-1 partner=-1() key=-1 port=-1 mac="
}

@test "active-backup: mode without the fail_over_mac suffix, active slave, no LACP" {
	run B proc "$F/active-backup.txt"
	assert_success
	assert_line "mode=1 fault-tolerance (active-backup)"
	assert_line "active_slave=eno2"
	assert_line "active_aggregator=-1 partner_mac="
	assert_line --regexp "^slave eno1 mii=down speed=-1 duplex=Unknown failures=7 .* agg=-1 "
	assert_line --regexp "^slave eno2 mii=up speed=1000 duplex=full failures=0 "
}

@test "balance-rr with ARP monitoring: bond down, one slave" {
	run B proc "$F/balance-rr.txt"
	assert_success
	assert_line "mode=0 load balancing (round-robin)"
	assert_line "mii=down"
	assert_line "slaves=1/1"
	assert_line --regexp "^slave eth2 mii=down speed=100 duplex=half failures=1 "
}

@test "not a bonding text, CRLF and truncated texts" {
	printf 'hello\nworld\n' > "$BATS_TEST_TMPDIR/x"
	run B proc "$BATS_TEST_TMPDIR/x"
	assert_failure
	assert_output error
	sed 's/$/\r/' "$F/active-backup.txt" > "$BATS_TEST_TMPDIR/crlf"
	run B proc "$BATS_TEST_TMPDIR/crlf"
	assert_success
	assert_line "active_slave=eno2"
	head -c 1200 "$F/8023ad-up.txt" > "$BATS_TEST_TMPDIR/cut"
	run B proc "$BATS_TEST_TMPDIR/cut"
	assert_success
	assert_line --regexp "^slave ens1f0 "
}

@test "more slaves than the parser keeps: counted, not overflowed" {
	{
		sed -n '1,/^$/p' "$F/balance-rr.txt"; sed -n '3,9p' "$F/balance-rr.txt"
		for i in $(seq 40); do printf '\nSlave Interface: s%d\nMII Status: up\n' "$i"; done
	} > "$BATS_TEST_TMPDIR/many"
	run B proc "$BATS_TEST_TMPDIR/many"
	assert_success
	assert_line "slaves=32/40"
}

@test "LACP port state names" {
	run B lacp 0;   assert_output ""
	run B lacp 61;  assert_output "activity,aggregation,synchronization,collecting,distributing"
	run B lacp 255; assert_output "activity,timeout,aggregation,synchronization,collecting,distributing,defaulted,expired"
	run B lacp 0x42; assert_output "timeout,defaulted"
	run B lacp 255 20; assert_output "activity,timeout"
}

@test "rtnetlink: bond slave attributes from RTM_NEWLINK" {
	run B nl index=5 name=rtest_s0 master=4 slave_kind=bond state=1 mii=2 failures=9 queue=3 agg=2 actor=61 partner=0x13d churn_a=2 churn_p=1
	assert_success
	assert_output - <<-'EOT'
	ret=1
	index=5 name=rtest_s0 master=4 bond=0 slave=1
	state=backup
	mii=down
	failures=9
	queue=3
	agg=2
	actor=61
	partner=317
	churn_a=churned
	churn_p=none
	EOT
	run B nl index=4 name=bond0 kind=bond
	assert_line "index=4 name=bond0 master=0 bond=1 slave=0"
	run B nl name=x slave_kind=bridge actor=1 partner8=7
	assert_line "index=7 name=x master=0 bond=0 slave=0"
	assert_line "partner=7"
}

@test "rtnetlink: other messages and malformed lengths" {
	run B nl type=20 name=x         # RTM_NEWADDR
	assert_output "ret=0"
	run B nl name=x nlmsg_len=4
	assert_output "ret=-22"
	run B nl name=x nlmsg_len=4096  # longer than the buffer
	assert_output "ret=-22"
	run B nl name=rtest slave_kind=bond actor=61 trunc=8
	assert_output "ret=-22"
	# an attribute cut short by nlmsg_len is dropped, the rest kept
	run B nl name=rtest master=3 slave_kind=bond actor=61 nlmsg_len=44
	assert_line "ret=1"
	assert_line "index=7 name=rtest master=0 bond=0 slave=0"
}
