#!/usr/bin/env bats
# The command-line contract, checked for every tool in tools/.
load ../lib/common

long_options() {
	"$HT_BUILD/huatuo-$1" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u
}

@test "every tool: --help and -h print usage, options and examples on stdout, exit 0" {
	for t in $HT_TOOLS; do
		run --separate-stderr "$HT_BUILD/huatuo-$t" --help
		assert_success
		assert_output --partial "Usage: huatuo-$t"
		assert_output --partial "Examples:"
		if is_runner "$t"; then
			refute_output --partial "--json"
			assert_output --partial "--duration"
		else
			assert_output --partial "--json"
		fi
		[ -z "$stderr" ] || fail "huatuo-$t --help wrote to stderr: $stderr"
		run --separate-stderr "$HT_BUILD/huatuo-$t" -h
		assert_success
		assert_output --partial "Usage: huatuo-$t"
	done
}

@test "every tool: --version and --usage" {
	for t in $HT_TOOLS; do
		run "$HT_BUILD/huatuo-$t" --version
		assert_success
		assert_output --regexp "^huatuo-$t [0-9]+\.[0-9]+\.[0-9]+"
		run "$HT_BUILD/huatuo-$t" --usage
		assert_success
		assert_output --partial "huatuo-$t"
	done
}

@test "every tool: unknown option exits 64 and names it" {
	for t in $HT_TOOLS; do
		run --separate-stderr "$HT_BUILD/huatuo-$t" --no-such-option
		assert_equal "$status" 64
		[[ "$stderr" == *"no-such-option"* ]] || fail "huatuo-$t: stderr does not name the option: $stderr"
		[ -z "$output" ] || fail "huatuo-$t: bad usage wrote to stdout"
	done
}

@test "every tool: bad values of shared options exit 64 naming the option" {
	local bad=(
		"--duration abc:--duration" "--duration -5:--duration" "--duration 10parsecs:--duration"
		"--duration 99999999999999999999:--duration" "--count 0:--count" "--count abc:--count"
		"--count -1:--count" "--count 99999999999:--count" "--probe nope:--probe"
		"--buffer-size 3000:--buffer-size" "--buffer-size 2G:--buffer-size"
		"--output-max 1:--output-max" "--output-keep x:--output-keep" "--output=:--output"
		"--btf /nonexistent/btf:--btf" "--btf /etc/passwd:--btf" "--metrics=:--metrics"
		"--metrics /nonexistent/dir/x.prom:--metrics" "--metrics /tmp:--metrics"
		"--metrics /tmp/:--metrics" "--interval 5s:--interval"
		"--metrics /tmp/x.prom --interval 0:--interval"
		"--metrics /tmp/x.prom --interval 25h:--interval"
		"--metrics /tmp/x.prom --interval 5parsecs:--interval"
	)
	for t in $HT_TOOLS; do
		for case in "${bad[@]}"; do
			args=${case%%:*}
			name=${case##*:}
			# shellcheck disable=SC2086
			run --separate-stderr "$HT_BUILD/huatuo-$t" $args
			[ "$status" -eq 64 ] || fail "huatuo-$t $args: exit $status, want 64"
			# a runner has -d, -o, -v only: the others are unknown options (named first)
			is_runner "$t" && name=${args%% *} && name=${name%%=*}
			[[ "$stderr" == *"$name"* ]] || fail "huatuo-$t $args: stderr does not name $name: $stderr"
		done
	done
}

@test "--btf FILE that is not BTF: one line with the cause, exit 64" {
	for t in $HT_TOOLS; do
		[ -f "$HT_TOP/bpf/$t.bpf.c" ] || continue
		run --separate-stderr "$HT_BUILD/huatuo-$t" --btf /etc/passwd -d 0
		assert_equal "$status" 64
		[[ "${stderr_lines[0]}" == *"invalid --btf '/etc/passwd': not a BTF file"* ]] ||
			fail "huatuo-$t: $stderr"
		[[ "$stderr" != *"refused by this kernel"* ]] || fail "huatuo-$t: $stderr"
	done
}

@test "every tool: a missing option value exits 64" {
	for t in $HT_TOOLS; do
		run --separate-stderr "$HT_BUILD/huatuo-$t" --duration
		assert_equal "$status" 64
		run --separate-stderr "$HT_BUILD/huatuo-$t" -c
		assert_equal "$status" 64
	done
}

@test "tools with a threshold reject zero, negative and unit-less junk" {
	for t in $HT_TOOLS; do
		"$HT_BUILD/huatuo-$t" --help | grep -q -- '--threshold' || continue
		for v in 0 -1 abc 5parsecs 2h 1.x; do
			run --separate-stderr "$HT_BUILD/huatuo-$t" --threshold "$v"
			[ "$status" -eq 64 ] || fail "huatuo-$t --threshold $v: exit $status"
			[[ "$stderr" == *"--threshold"* ]] || fail "huatuo-$t --threshold $v: $stderr"
		done
	done
}

@test "every tool: a man page that renders without warnings" {
	require_cmd groff
	for t in $HT_TOOLS; do
		page="$HT_TOP/man/man8/huatuo-$t.8"
		[ -f "$page" ] || fail "no man page for huatuo-$t"
		run bash -c "groff -man -ww -z '$page' 2>&1"
		assert_success
		[ -z "$output" ] || fail "huatuo-$t.8: $output"
		run bash -c "MANWIDTH=80 man -l '$page' 2>&1 | col -b"
		assert_success
		assert_output --partial "huatuo-$t"
		assert_output --partial "EXIT STATUS"
	done
}

@test "every tool: each long option in --help is in its man page and completion" {
	for t in $HT_TOOLS; do
		page="$HT_TOP/man/man8/huatuo-$t.8"
		comp="$HT_TOP/completions/huatuo-tools"
		text=$(sed 's/\\//g' "$page")
		for opt in $(long_options "$t"); do
			grep -qE -- "(^|[^a-z-])$opt([^a-z-]|\$)" <<<"$text" ||
				fail "huatuo-$t: $opt is not in $page"
		done
		# the completion parses --help, so it offers exactly these; check it knows the tool
		grep -qF "huatuo-$t" "$comp" || fail "completion does not register huatuo-$t"
	done
}

@test "every tool: man page options exist in --help (no stale options)" {
	for t in $HT_TOOLS; do
		page="$HT_TOP/man/man8/huatuo-$t.8"
		help=$("$HT_BUILD/huatuo-$t" --help)
		for opt in $(sed 's/\\//g' "$page" | sed -n 's/^\.BR* *--\([a-z][a-z0-9-]*\).*/--\1/p;s/^\.BR* *-[a-zA-Z?] *", *" *--\([a-z][a-z0-9-]*\).*/--\1/p' | sort -u); do
			grep -qF -- "$opt" <<<"$help" || fail "huatuo-$t.8 documents $opt, which --help lacks"
		done
	done
}

@test "tools without BPF (netlink) offer no BPF-only option: help, man page, completion" {
	local nobpf=0
	for t in $HT_TOOLS; do
		[ -f "$HT_TOP/bpf/$t.bpf.c" ] && continue
		nobpf=$((nobpf + 1))
		help=$("$HT_BUILD/huatuo-$t" --help)
		page=$(sed 's/\\//g' "$HT_TOP/man/man8/huatuo-$t.8")
		for opt in --probe --buffer-size --btf; do
			! grep -qF -- "$opt" <<<"$help" || fail "huatuo-$t --help offers $opt"
			! grep -qF -- "$opt" <<<"$page" || fail "huatuo-$t.8 documents $opt"
			run --separate-stderr "$HT_BUILD/huatuo-$t" "$opt" x
			assert_equal "$status" 64
		done
		if [ -f /usr/share/bash-completion/bash_completion ]; then
			run bash -c "
				source /usr/share/bash-completion/bash_completion
				source '$HT_TOP/completions/huatuo-tools'
				PATH='$HT_BUILD':\$PATH
				COMP_WORDS=(huatuo-$t --); COMP_CWORD=1; COMP_LINE='huatuo-$t --'; COMP_POINT=\${#COMP_LINE}
				_huatuo_tools huatuo-$t -- huatuo-$t
				printf '%s\n' \"\${COMPREPLY[@]}\""
			assert_success
			assert_output --partial "--duration"
			refute_output --partial "--btf"
			refute_output --partial "--probe"
			refute_output --partial "--buffer-size"
		fi
	done
	[ "$nobpf" -ge 3 ] || fail "expected the netlink tools (bondlacp, netdev, pfc), found $nobpf"
}

@test "bash completion offers each tool's options" {
	require_cmd bash
	[ -f /usr/share/bash-completion/bash_completion ] || skip "bash-completion not installed"
	for t in $HT_TOOLS; do
		run bash -c "
			source /usr/share/bash-completion/bash_completion
			source '$HT_TOP/completions/huatuo-tools'
			PATH='$HT_BUILD':\$PATH
			COMP_WORDS=(huatuo-$t --js); COMP_CWORD=1; COMP_LINE='huatuo-$t --js'; COMP_POINT=\${#COMP_LINE}
			_huatuo_tools huatuo-$t --js huatuo-$t
			printf '%s\n' \"\${COMPREPLY[@]}\""
		assert_success
		if is_runner "$t"; then
			assert_output ""
		else
			assert_output --partial "--json"
		fi
	done
}

@test "bash completion: dropwatch --reason and --exclude-reason offer the kernel's reason names" {
	require_cmd bash
	[ -f /usr/share/bash-completion/bash_completion ] || skip "bash-completion not installed"
	[ -r /sys/kernel/tracing/events/skb/kfree_skb/format ] || skip "no readable skb:kfree_skb format"
	for opt in --reason --exclude-reason; do
		run bash -c "
			source /usr/share/bash-completion/bash_completion
			source '$HT_TOP/completions/huatuo-tools'
			COMP_WORDS=(huatuo-dropwatch $opt ''); COMP_CWORD=2
			COMP_LINE='huatuo-dropwatch $opt '; COMP_POINT=\${#COMP_LINE}
			_huatuo_tools huatuo-dropwatch '' $opt
			printf '%s\n' \"\${COMPREPLY[@]}\""
		assert_success
		assert_line NO_SOCKET
		assert_line NOT_SPECIFIED
		assert_line NETFILTER_DROP
		refute_line MAX
		[ "${#lines[@]}" -ge 20 ] || fail "$opt: only ${#lines[@]} names: $output"
	done
}

@test "every BPF tool: --check attaches on this kernel and lists its hooks" {
	require_bpf
	for t in $HT_TOOLS; do
		is_runner "$t" && continue # runs the others: no --check of its own
		run --separate-stderr "$HT_BUILD/huatuo-$t" --check
		[ "$status" -eq 0 ] || [ "$status" -eq 1 ] || fail "huatuo-$t --check: exit $status"
		if [ "$status" -eq 0 ]; then
			assert_output --partial "hooks:"
		else
			# unsupported here: one clear line on stderr
			[ -n "$stderr" ] || fail "huatuo-$t --check failed silently"
		fi
		run --separate-stderr "$HT_BUILD/huatuo-$t" --check --json
		if [ "$status" -eq 0 ]; then
			printf '%s' "$output" | jq -e '.hooks | length > 0' >/dev/null ||
				fail "huatuo-$t --check --json: $output"
		fi
	done
}

@test "forcing an unavailable hook kind fails with one line and exit 1" {
	require_bpf
	[ ! -e /sys/bus/event_source/devices/kprobe/type ] || skip "this kernel has kprobes"
	run --separate-stderr "$HT_BUILD/huatuo-oom" --check --probe kprobe
	assert_equal "$status" 1
	[[ "$stderr" == *"kprobe"* ]] || fail "$stderr"
	assert_equal "${#stderr_lines[@]}" 1
}

@test "forcing a hook kind the tool has no program of is bad usage: exit 64 naming it" {
	# memreclaim has no classic tracepoint programs: no kernel can give it one
	run --separate-stderr "$HT_BUILD/huatuo-memreclaim" --check --probe tracepoint
	assert_equal "$status" 64
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" == *"invalid --probe 'tracepoint'"*"direct_reclaim_begin"* ]] || fail "$stderr"
	[ -z "$output" ] || fail "bad usage wrote to stdout"
	HUATUO_PROBE=tracepoint run --separate-stderr "$HT_BUILD/huatuo-netrxlat" -d 1
	assert_equal "$status" 64
	[[ "$stderr" == *"invalid HUATUO_PROBE 'tracepoint'"* ]] || fail "$stderr"
	# --probe names the kind rather than $HUATUO_PROBE
	HUATUO_PROBE=raw_tp run --separate-stderr "$HT_BUILD/huatuo-memreclaim" --probe tracepoint
	assert_equal "$status" 64
	[[ "$stderr" == *"invalid --probe 'tracepoint'"* ]] || fail "$stderr"
}

@test "without privilege: one line naming it, exit 1" {
	require_root
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	for t in $HT_TOOLS; do
		run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$HT_BUILD/huatuo-$t" -d 1
		[ "$status" -eq 1 ] || fail "huatuo-$t as nobody: exit $status"
		[[ "$stderr" == *"root"* || "$stderr" == *"CAP_"* ]] || fail "huatuo-$t: $stderr"
	done
}

@test "bad \$HUATUO_PROBE or \$HUATUO_BTF: one line naming the variable, exit 64" {
	HUATUO_PROBE=bogus run huatuo-oom --check
	assert_failure 64
	assert_output --partial "invalid HUATUO_PROBE 'bogus'"
	HUATUO_BTF=/nonexistent/btf run huatuo-oom --check
	assert_failure 64
	assert_output "huatuo-oom: invalid HUATUO_BTF '/nonexistent/btf': No such file or directory"
}
