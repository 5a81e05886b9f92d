#!/bin/sh
# Style (.clang-format) and static analysis (cppcheck, clang-tidy) of our C sources; any
# finding fails. `make format` fixes the style.
#   scripts/lint.sh OBJDIR   (OBJDIR holds the generated skeleton headers, e.g. build/obj)
# Generated code (skeletons, vmlinux.h) and system headers are not ours and are not judged.
set -u
cd "$(dirname "$0")/.."
obj=${1:-build/obj}
srcs=$(ls libcommon/*.c tools/*.c tests/unit/*.c tests/helpers/*.c bench/*.c 2>/dev/null | grep -v "\.bpf\.c$")
nl=$(pkg-config --cflags libnl-route-3.0 2>/dev/null)
rc=0

echo "lint: clang-format"
fmt_files=$(ls libcommon/*.[ch] tools/*.[ch] bpf/*.[ch] tests/unit/*.c tests/helpers/*.c \
	tests/fuzz/*.c bench/*.[ch] 2>/dev/null)
# shellcheck disable=SC2086
fmt=$(clang-format --dry-run $fmt_files 2>&1 | grep -E ': (warning|error):')
if [ -n "$fmt" ]; then
	echo "$fmt" | head -20
	echo "lint: not in .clang-format style; run make format"
	rc=1
fi

echo "lint: cppcheck"
# shellcheck disable=SC2086
cppcheck --quiet --enable=warning,performance,portability --inline-suppr --error-exitcode=1 \
	--std=c11 -D_GNU_SOURCE -D__x86_64__ -Ilibcommon -Ibpf -Itools -I"$obj" -I/usr/include \
	-I/usr/include/x86_64-linux-gnu $nl --suppress=missingIncludeSystem \
	--suppress='*:/usr/include/*' --suppress="*:$obj/*" $srcs || rc=1

echo "lint: clang-tidy"
# Disabled checks, and why:
#  bugprone-suspicious-string-compare: kernel style writes if (strcmp(a, b)).
#  clang-analyzer-valist.Uninitialized: false positive on x86_64's array-typed va_list (clang 14).
#  bugprone-easily-swappable-parameters, -narrowing-conversions, -implicit-widening...: noise
#  for kernel-style C; -Wall -Wextra -Werror covers conversions we care about.
#  clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling: wants C11 Annex K.
checks='-*,clang-analyzer-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,-bugprone-narrowing-conversions,-bugprone-implicit-widening-of-multiplication-result,-bugprone-assignment-in-if-condition,-bugprone-suspicious-string-compare,-clang-analyzer-valist.Uninitialized,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling'
# shellcheck disable=SC2086
out=$(clang-tidy --quiet -checks="$checks" $srcs -- -std=gnu11 -D_GNU_SOURCE \
	-DHT_GIT_VERSION='"lint"' -Ilibcommon -Ibpf -Itools -I"$obj" $nl 2>/dev/null |
	grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error)' | grep -v "^$obj/" | grep -v "/$obj/")
if [ -n "$out" ]; then
	echo "$out"
	rc=1
fi
[ $rc -eq 0 ] && echo "lint: no findings"
exit $rc
