#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The example programs, run as a reader of the docs would run them: exact
# output and exit statuses.  `make check` builds examples/ before tests/ and
# runs this with top_builddir and top_srcdir set (absolute paths); by hand:
#   top_builddir=BUILD top_srcdir=SRC sh tests/test-examples.sh
set -eu

: "${top_builddir:?}" "${top_srcdir:?}"
EX=$top_builddir/examples
DATA=$top_srcdir/tests/data

# The source tree is read-only under distcheck: scratch files live here.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

failed=0

# run CMD...: stdout in $tmp/out, stderr in $tmp/err, status in $st.
run() {
	if "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; then st=0; else st=$?; fi
}

pass() {
	echo "ok - $1"
}

fail() {
	echo "not ok - $1"
	failed=$((failed + 1))
	echo "#   status: $st"
	echo "#   stdout:"; head -n 20 "$tmp/out" | sed 's/^/#     /'
	echo "#   stderr:"; head -n 5 "$tmp/err" | sed 's/^/#     /'
}

# check DESC CONDITION...: pass when the condition (a command) succeeds.
check() {
	desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

out_is() { cmp -s "$1" "$tmp/out"; }
err_has() { grep -F -q -- "$1" "$tmp/err"; }
status_is() { [ "$st" -eq "$1" ]; }

for prog in custom_framer verify_tfrecord; do
	if [ ! -x "$EX/$prog" ]; then
		echo "not ok - $EX/$prog is not built (make -C examples check)"
		exit 1
	fi
done

# ------------------------------------------------------------ custom_framer

run "$EX/custom_framer"
cat >"$tmp/want" <<'EOF'
== a u32len stream of 48 bytes
record 0 at byte 0: 5 bytes: "hello"
record 1 at byte 9: 0 bytes: ""
record 2 at byte 13: 19 bytes: "a framer of our own"
record 3 at byte 36: 8 bytes: "tab\x09here"
4 records
== the same stream without its last 3 bytes
record 0 at byte 0: 5 bytes: "hello"
record 1 at byte 9: 0 bytes: ""
record 2 at byte 13: 19 bytes: "a framer of our own"
EOF
check "custom_framer: prints the records of its own stream" \
	eval 'status_is 0 && out_is "$tmp/want"'
check "custom_framer: the stream cut short fails at record 3, byte 36" \
	err_has "error ETRUNCATED: memory: u32len: record 3 at byte 36: "

# A file in the format, with bytes that are not text.
printf '\005\000\000\000hello\000\000\000\000\003\000\000\000a"\377' \
	>"$tmp/u32.bin"
run "$EX/custom_framer" "$tmp/u32.bin"
cat >"$tmp/want" <<'EOF'
record 0 at byte 0: 5 bytes: "hello"
record 1 at byte 9: 0 bytes: ""
record 2 at byte 13: 3 bytes: "a\x22\xff"
3 records
EOF
check "custom_framer PATH: reads the file with format=u32len" \
	eval 'status_is 0 && out_is "$tmp/want"'

# The same file without its last byte.
head -c 19 "$tmp/u32.bin" >"$tmp/u32-short.bin"
run "$EX/custom_framer" "$tmp/u32-short.bin"
check "custom_framer PATH: a truncated file exits 1 naming record 2" \
	eval 'status_is 1 && err_has "$tmp/u32-short.bin: u32len: record 2 at byte 13: "'

run "$EX/custom_framer" "$tmp/no-such-file"
check "custom_framer PATH: a missing file exits 1 saying so" \
	eval 'status_is 1 && err_has "no-such-file"'

# ------------------------------------------------------------ verify_tfrecord

run "$EX/verify_tfrecord" "$DATA/smtfext_100.tfrecords"
check "verify_tfrecord: smtfext_100.tfrecords has 100 records" \
	eval 'status_is 0 && head -n 1 "$tmp/out" | grep -q "^100 records, 1390 payload bytes, all CRC32C verified$"'

# Record 42 ("hello world 42") starts at byte 10 * 29 + 32 * 30 = 1250; its
# payload at 1262.  Change its fourth payload byte.
cp "$DATA/smtfext_100.tfrecords" "$tmp/corrupt.tfrecords"
chmod u+w "$tmp/corrupt.tfrecords"
printf 'X' | dd of="$tmp/corrupt.tfrecords" bs=1 seek=1265 conv=notrunc \
	2>/dev/null
check "the corrupt copy differs from the original in one byte" \
	eval '[ "$(cmp -l "$DATA/smtfext_100.tfrecords" "$tmp/corrupt.tfrecords" | wc -l)" -eq 1 ]'
run "$EX/verify_tfrecord" "$tmp/corrupt.tfrecords"
check "verify_tfrecord: a corrupt copy exits 1 naming record 42" \
	eval 'status_is 1 && err_has "error ECRC after 42 good records: " && err_has ": tfrecord: record 42 at byte 1250: "'
check "verify_tfrecord: nothing on stdout for a corrupt file" \
	eval '[ ! -s "$tmp/out" ]'

# skip_corrupt lets it go on past the bad record
run "$EX/verify_tfrecord" "$tmp/corrupt.tfrecords" skip_corrupt=1
check "verify_tfrecord: skip_corrupt=1 reads the 99 good records" \
	eval 'status_is 0 && head -n 1 "$tmp/out" | grep -q "^99 records, .* (1 corrupt records skipped)$"'

if [ "$failed" -ne 0 ]; then
	echo "# $failed check(s) failed"
	exit 1
fi
exit 0
