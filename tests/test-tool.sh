#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The pipemode tool, end to end: exact output and exact exit statuses.
# Run by `make check` with top_builddir and top_srcdir set (absolute paths);
# by hand: top_builddir=BUILD top_srcdir=SRC sh tests/test-tool.sh
#
# The library's error texts may still change, so stderr is only checked for
# its stable parts: the "pipemode: " prefix, the source name, "record N" and
# "byte N".  Every command that touches a FIFO runs under `timeout 30`, so a
# stuck reader or writer fails the test instead of hanging CI.
set -eu

: "${top_builddir:?}" "${top_srcdir:?}"
PM=$top_builddir/tools/pipemode
DATA=$top_srcdir/tests/data

# The source tree is read-only under distcheck: scratch files live here.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-tool.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

failed=0
TAB=$(printf '\t')

# ------------------------------------------------------------------ helpers

# run CMD...: runs it with stdin from /dev/null unless redirected by the
# caller, leaving stdout in $tmp/out, stderr in $tmp/err, status in $st.
run() {
	if "$@" >"$tmp/out" 2>"$tmp/err"; then st=0; else st=$?; fi
}

pass() {
	echo "ok - $1"
}

fail() {
	echo "not ok - $1"
	failed=$((failed + 1))
}

# Diagnostics for a failed check, as TAP-style comments in the log.
show() {
	echo "#   status: $st"
	echo "#   stdout:"; od -c "$tmp/out" | head -n 20 | sed 's/^/#     /'
	echo "#   stderr:"; head -n 5 "$tmp/err" | sed 's/^/#     /'
}

status_is() { # DESC EXPECTED
	if [ "$st" -eq "$2" ]; then pass "$1"; else fail "$1"; show; fi
}

# out_is DESC EXPECTED-FILE [STATUS]: stdout equals the file byte for byte,
# and the status is STATUS (default 0).
out_is() {
	if cmp -s "$2" "$tmp/out" && [ "$st" -eq "${3:-0}" ]; then
		pass "$1"
	else
		fail "$1"
		echo "#   expected (status ${3:-0}):"
		od -c "$2" | head -n 20 | sed 's/^/#     /'
		show
	fi
}

# err_has DESC STATUS TEXT...: the status is STATUS, stderr starts with
# "pipemode: " and contains every TEXT (a basic regular expression).
err_has() {
	d=$1 want=$2
	shift 2
	ok=yes
	[ "$st" -eq "$want" ] || ok=no
	head -c 10 "$tmp/err" | grep -q '^pipemode: ' || ok=no
	for pat in "$@"; do
		grep -q -e "$pat" "$tmp/err" || ok=no
	done
	if [ $ok = yes ]; then pass "$d"; else fail "$d"; show; fi
}

# Writes its arguments, printf-style, to the file named first.
expect() {
	f=$1
	shift
	# shellcheck disable=SC2059
	printf "$@" >"$f"
}

# A CRC32C and test data, where the shell has no way: python3 is on CI.
if command -v python3 >/dev/null 2>&1; then have_py=yes; else have_py=no; fi
cat >"$tmp/helper.py" <<'EOF'
import random, sys

T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    T.append(c)

def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF

cmd = sys.argv[1]
if cmd == "ls":          # ls FILE...: the ls line of each file's content
    for i, path in enumerate(sys.argv[2:]):
        data = open(path, "rb").read()
        print("%d\t%d\t%08x" % (i, len(data), crc32c(data)))
elif cmd == "hello":     # hello N: ls of "hello world 0".."hello world N-1"
    for i in range(int(sys.argv[2])):
        data = b"hello world %d" % i
        print("%d\t%d\t%08x" % (i, len(data), crc32c(data)))
elif cmd == "gen":       # gen SIZE FILE: deterministic, aperiodic bytes
    n = int(sys.argv[2])
    rnd = random.Random(20240101)
    open(sys.argv[3], "wb").write(rnd.getrandbits(8 * n).to_bytes(n, "little"))
elif cmd == "dmlc":      # dmlc: ls of tests/data/dmlc_sample.rec, from how
    import struct        # dmlc-core's test made it (tests/data/MANIFEST.tsv):
    for i in range(1, 11):  # IRHeader{0, i % 2, i, 0} + ("%d\n" % i) * 10
        data = struct.pack("<Ifqq", 0, float(i % 2), i, 0) + b"%d\n" % i * 10
        print("%d\t%d\t%08x" % (i - 1, len(data), crc32c(data)))
elif cmd == "unzlib":    # unzlib IN OUT: inflate a zlib stream
    import zlib
    open(sys.argv[3], "wb").write(zlib.decompress(open(sys.argv[2], "rb").read()))
EOF
py() {
	python3 "$tmp/helper.py" "$@"
}

# Replaces the byte at OFFSET of FILE with CHAR.
poke() { # FILE OFFSET CHAR
	printf '%s' "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# ------------------------------------------------------------------- ls

# CRC32C of "foo" and "bar", unmasked from the TFRecord files' own data CRCs
# (masked 0xfebe8a61 and 0xc8e50046; see tests/data/crc32c_vectors.tsv).
CRC_FOO=cfc4ae1d
CRC_BAR=0ab71331

run "$PM" ls "$DATA/beam_foo_bar.tfrecord"
expect "$tmp/exp" '0\t3\t%s\n1\t3\t%s\n' $CRC_FOO $CRC_BAR
out_is "ls beam_foo_bar prints index, length and crc32c of each record" \
	"$tmp/exp"

if [ $have_py = yes ]; then
	py hello 100 >"$tmp/exp"
	run "$PM" ls "$DATA/smtfext_100.tfrecords"
	out_is "ls smtfext_100 prints all 100 records" "$tmp/exp"
else
	pass "ls smtfext_100 prints all 100 records # SKIP no python3"
fi

: >"$tmp/empty"
run "$PM" ls "$tmp/empty"
out_is "ls of an empty stream prints nothing and exits 0" "$tmp/empty"

run "$PM" ls -o "$tmp/ls.out" "$DATA/beam_foo_bar.tfrecord"
expect "$tmp/exp" '0\t3\t%s\n1\t3\t%s\n' $CRC_FOO $CRC_BAR
if [ "$st" -eq 0 ] && [ ! -s "$tmp/out" ] && cmp -s "$tmp/exp" "$tmp/ls.out"
then pass "ls -o FILE writes the listing to FILE, not stdout"
else fail "ls -o FILE writes the listing to FILE, not stdout"; show; fi

run "$PM" ls -f TFRecord "$DATA/beam_foo_bar.tfrecord"
expect "$tmp/exp" '0\t3\t%s\n1\t3\t%s\n' $CRC_FOO $CRC_BAR
out_is "ls -f TFRecord: the format name is matched without case" "$tmp/exp"

# ---------------------------------------------------------------- count

# "hello world N": 13 bytes for N < 10, 14 for the other 90: 1390.
run "$PM" count "$DATA/smtfext_100.tfrecords"
expect "$tmp/exp" '100\t1390\n'
out_is "count smtfext_100 prints records and payload bytes" "$tmp/exp"

run "$PM" count "$DATA/beam_foo_bar.tfrecord"
expect "$tmp/exp" '2\t6\n'
out_is "count beam_foo_bar" "$tmp/exp"

run "$PM" count "$tmp/empty"
expect "$tmp/exp" '0\t0\n'
out_is "count of an empty stream prints 0 0" "$tmp/exp"

# ------------------------------------------------------------------ cat

i=0
while [ $i -lt 100 ]; do
	echo "hello world $i"
	i=$((i + 1))
done >"$tmp/hello.txt"
run "$PM" cat "$DATA/smtfext_100.tfrecords"
out_is "cat smtfext_100 prints hello world 0..99, one per line" \
	"$tmp/hello.txt"

run "$PM" cat --raw "$DATA/beam_foo_bar.tfrecord"
expect "$tmp/exp" 'foobar'
out_is "cat --raw puts nothing between payloads" "$tmp/exp"

run "$PM" cat -0 "$DATA/beam_foo_bar.tfrecord"
expect "$tmp/exp" 'foo\000bar\000'
out_is "cat -0 ends each payload with a NUL byte" "$tmp/exp"

run "$PM" cat --null "$DATA/beam_foo_bar.tfrecord"
out_is "cat --null is -0" "$tmp/exp"

run "$PM" cat --raw -0 "$DATA/beam_foo_bar.tfrecord"
status_is "cat --raw -0 together is a usage error (2)" 2

# ---------------------------------------------------------------- stdin

expect "$tmp/exp" '0\t3\t%s\n1\t3\t%s\n' $CRC_FOO $CRC_BAR
run "$PM" ls - <"$DATA/beam_foo_bar.tfrecord"
out_is "ls - reads stdin" "$tmp/exp"
run "$PM" ls <"$DATA/beam_foo_bar.tfrecord"
out_is "ls without PATH reads stdin" "$tmp/exp"
run "$PM" cat <"$DATA/smtfext_100.tfrecords"
out_is "cat without PATH reads stdin" "$tmp/hello.txt"
run "$PM" count - <"$DATA/smtfext_100.tfrecords"
expect "$tmp/exp" '100\t1390\n'
out_is "count - reads stdin" "$tmp/exp"

# ---------------------------------------------------------------- write

# Lines, among them an empty one, and a last line without its newline.
printf 'alpha\n\nbeta\ngamma' >"$tmp/lines.txt"
run "$PM" write -f tfrecord <"$tmp/lines.txt"
cp "$tmp/out" "$tmp/lines.tfrecord"
status_is "write -f tfrecord from stdin lines exits 0" 0
# 4 records of 16 bytes of framing and 5 + 0 + 4 + 5 bytes of payload.
if [ "$(wc -c <"$tmp/lines.tfrecord" | tr -d ' ')" = 78 ]; then
	pass "write makes one record per line (78 bytes)"
else
	fail "write makes one record per line (78 bytes)"
fi
run "$PM" cat "$tmp/lines.tfrecord"
expect "$tmp/exp" 'alpha\n\nbeta\ngamma\n'
out_is "write then cat gives the lines back, empty and last included" \
	"$tmp/exp"
run "$PM" ls "$tmp/lines.tfrecord"
if [ $have_py = yes ]; then
	printf alpha >"$tmp/l0"; : >"$tmp/l1"
	printf beta >"$tmp/l2"; printf gamma >"$tmp/l3"
	py ls "$tmp/l0" "$tmp/l1" "$tmp/l2" "$tmp/l3" >"$tmp/exp"
	out_is "ls of written lines: lengths and crc32c (empty: 00000000)" \
		"$tmp/exp"
else
	pass "ls of written lines # SKIP no python3"
fi

printf 'a\nb\n' >"$tmp/ab.txt"
run "$PM" write -o "$tmp/ab.tfrecord" <"$tmp/ab.txt"
status_is "write -o OUT exits 0" 0
if [ ! -s "$tmp/out" ]; then pass "write -o OUT leaves stdout empty"
else fail "write -o OUT leaves stdout empty"; show; fi
run "$PM" count "$tmp/ab.tfrecord"
expect "$tmp/exp" '2\t2\n'
out_is "a final newline does not make an extra empty record" "$tmp/exp"

run "$PM" write -o "$tmp/none.tfrecord" </dev/null
run "$PM" count "$tmp/none.tfrecord"
expect "$tmp/exp" '0\t0\n'
out_is "write with empty stdin makes an empty stream" "$tmp/exp"

if [ $have_py = yes ]; then
	py gen 3145728 "$tmp/big"
	run "$PM" write -o "$tmp/files.tfrecord" "$tmp/empty" "$tmp/big" \
		"$DATA/beam_foo.tfrecord"
	status_is "write FILE... exits 0" 0
	run "$PM" ls "$tmp/files.tfrecord"
	py ls "$tmp/empty" "$tmp/big" "$DATA/beam_foo.tfrecord" >"$tmp/exp"
	out_is "write FILE...: one record per file, lengths and crc32c" \
		"$tmp/exp"
	run "$PM" cat --raw "$tmp/files.tfrecord"
	cat "$tmp/empty" "$tmp/big" "$DATA/beam_foo.tfrecord" >"$tmp/exp"
	out_is "write FILE... then cat --raw gives the files back" "$tmp/exp"
else
	for d in "write FILE... exits 0" "write FILE...: lengths and crc32c" \
		"write FILE... then cat --raw"; do
		pass "$d # SKIP no python3"
	done
	# Later checks use a big file: any 3 MiB will do without python.
	dd if=/dev/urandom of="$tmp/big" bs=1024 count=3072 2>/dev/null
fi

run "$PM" write -o "$tmp/x.tfrecord" "$tmp/no-such-file"
err_has "write of a missing FILE exits 1 naming it" 1 'no-such-file'

run "$PM" write -o "$tmp/no-such-dir/x.tfrecord" </dev/null
err_has "write -o into a missing directory exits 1 naming it" 1 \
	'no-such-dir/x\.tfrecord'

# --------------------------------------------------------------- FIFOs

mkfifo "$tmp/fifo"
timeout 30 "$PM" write -o "$tmp/fifo" <"$tmp/lines.txt" &
wpid=$!
run timeout 30 "$PM" cat "$tmp/fifo"
if wait "$wpid"; then wst=0; else wst=$?; fi
expect "$tmp/exp" 'alpha\n\nbeta\ngamma\n'
if [ "$wst" -eq 0 ]; then pass "write to a FIFO exits 0"
else fail "write to a FIFO exits 0"; echo "#   writer status: $wst"; fi
out_is "cat reads a FIFO while write fills it" "$tmp/exp"

# A payload much larger than a pipe buffer arrives in many short reads.
timeout 30 "$PM" write -o "$tmp/fifo" "$tmp/big" "$tmp/empty" &
wpid=$!
run timeout 30 "$PM" cat --raw "$tmp/fifo"
if wait "$wpid"; then wst=0; else wst=$?; fi
cat "$tmp/big" "$tmp/empty" >"$tmp/exp"
if [ "$wst" -eq 0 ]; then pass "write of a 3 MiB record to a FIFO exits 0"
else fail "write of a 3 MiB record to a FIFO exits 0"; fi
out_is "cat --raw of a 3 MiB record through a FIFO" "$tmp/exp"

timeout 30 sh -c 'cat "$1" >"$2"' sh "$DATA/beam_foo_bar.tfrecord" \
	"$tmp/fifo" &
wpid=$!
run timeout 30 "$PM" ls "$tmp/fifo"
wait "$wpid" || true
expect "$tmp/exp" '0\t3\t%s\n1\t3\t%s\n' $CRC_FOO $CRC_BAR
out_is "ls reads a FIFO fed by another program" "$tmp/exp"

# ------------------------------------------------------ a reader leaves

# More than a pipe buffer, so the writer meets EPIPE: SIGPIPE is ignored by
# the tool, which must exit 1, not die of the signal (141).
: >"$tmp/out"
{
	if timeout 30 "$PM" write "$tmp/big" 2>"$tmp/err"; then s=0
	else s=$?; fi
	echo $s >"$tmp/st"
} | head -c 100 >/dev/null
st=$(cat "$tmp/st")
status_is "write whose reader leaves exits 1, not by SIGPIPE" 1

run "$PM" write -o "$tmp/big.tfrecord" "$tmp/big"
: >"$tmp/out"
{
	if timeout 30 "$PM" cat --raw "$tmp/big.tfrecord" 2>"$tmp/err"
	then s=0; else s=$?; fi
	echo $s >"$tmp/st"
} | head -c 100 >/dev/null
st=$(cat "$tmp/st")
status_is "cat whose reader leaves exits 1, not by SIGPIPE" 1

if [ -w /dev/full ]; then
	run "$PM" cat -o /dev/full "$tmp/big.tfrecord"
	err_has "cat to a full device exits 1 with a message" 1 '/dev/full'
else
	pass "cat to a full device # SKIP no /dev/full"
fi

# ------------------------------------------------------- damaged streams

# Byte 12 is the first payload byte of the single record: "foo" -> "goo".
cp "$DATA/beam_foo.tfrecord" "$tmp/crc.tfrecord"
poke "$tmp/crc.tfrecord" 12 g
run "$PM" ls "$tmp/crc.tfrecord"
err_has "ls of a payload-corrupt record exits 1 naming path and record 0" \
	1 'crc\.tfrecord' 'record 0'
if [ ! -s "$tmp/out" ]; then pass "nothing is listed for the corrupt record"
else fail "nothing is listed for the corrupt record"; show; fi

run "$PM" cat --no-verify "$tmp/crc.tfrecord"
expect "$tmp/exp" 'goo\n'
out_is "cat --no-verify reads the payload-corrupt record" "$tmp/exp"

run "$PM" cat -O verify_crc=0 "$tmp/crc.tfrecord"
out_is "-O verify_crc=0 is --no-verify" "$tmp/exp"

run "$PM" ls - <"$tmp/crc.tfrecord"
err_has "a corrupt stdin is named stdin" 1 '^pipemode: stdin: ' 'record 0'

# The name option, with a comma and a backslash that -O must escape.
run "$PM" ls -O 'name=we,ird\x' "$tmp/crc.tfrecord"
err_has "-O name=... with ',' and '\\' reaches the library intact" 1 \
	'^pipemode: we,ird\\x: '

# Record 1 of foo_bar starts at byte 19; its payload at 31.
cp "$DATA/beam_foo_bar.tfrecord" "$tmp/crc1.tfrecord"
poke "$tmp/crc1.tfrecord" 31 c
run "$PM" ls "$tmp/crc1.tfrecord"
expect "$tmp/exp" '0\t3\t%s\n' $CRC_FOO
out_is "ls lists the good record before a corrupt one" "$tmp/exp" 1
err_has "... then exits 1 naming record 1 at byte 19" 1 'record 1' \
	'byte 19\([^0-9]\|$\)'

cp "$DATA/beam_foo_bar.tfrecord" "$tmp/crc0.tfrecord"
poke "$tmp/crc0.tfrecord" 12 g
run "$PM" ls -O skip_corrupt=1 "$tmp/crc0.tfrecord"
expect "$tmp/exp" '1\t3\t%s\n' $CRC_BAR
out_is "-O skip_corrupt=1 skips the bad record, keeping true indices" \
	"$tmp/exp"
run "$PM" count -O skip_corrupt=1 "$tmp/crc0.tfrecord"
expect "$tmp/exp" '1\t3\n'
out_is "count -O skip_corrupt=1 counts only the good record" "$tmp/exp"

run "$PM" ls "$DATA/tfx_FeatureStats_eval.pb"
err_has "a raw protobuf is rejected at byte 0" 1 'tfx_FeatureStats_eval\.pb' \
	'byte 0\([^0-9]\|$\)'

# smtfext_100: records 0-9 take 16 + 13 bytes, 10-49 take 16 + 14, so
# record 50 spans bytes 1490-1519: length 1490-1497, its CRC 1498-1501,
# payload 1502-1515, payload CRC 1516-1519.  Cut inside each part.
for at in 1495 1500 1510 1518; do
	head -c $at "$DATA/smtfext_100.tfrecords" >"$tmp/cut.tfrecord"
	run "$PM" ls "$tmp/cut.tfrecord"
	err_has "cut at byte $at: exit 1 naming record 50 at byte 1490" 1 \
		'cut\.tfrecord' 'record 50' 'byte 1490\([^0-9]\|$\)'
	if [ $have_py = yes ]; then
		py hello 50 >"$tmp/exp"
		out_is "cut at byte $at: ls printed records 0-49 first" \
			"$tmp/exp" 1
	fi
done
run "$PM" cat "$tmp/cut.tfrecord"
head -n 50 "$tmp/hello.txt" >"$tmp/exp"
out_is "cat of a truncated stream prints the whole records, exits 1" \
	"$tmp/exp" 1
run "$PM" count "$tmp/cut.tfrecord"
out_is "count of a truncated stream prints nothing, exits 1" "$tmp/empty" 1

# ------------------------------------------------------------- RecordIO

# dmlc_sample.rec: 10 records written by MXNet's dmlc-core, 9 of 44 bytes
# and one of 54.
run "$PM" count -f recordio "$DATA/dmlc_sample.rec"
expect "$tmp/exp" '10\t450\n'
out_is "count -f recordio dmlc_sample.rec: 10 records, 450 bytes" "$tmp/exp"
if [ $have_py = yes ]; then
	py dmlc >"$tmp/dmlc.ls"
	run "$PM" ls -f recordio "$DATA/dmlc_sample.rec"
	head -n 1 "$tmp/out" >"$tmp/out1"
	head -n 1 "$tmp/dmlc.ls" >"$tmp/exp"
	if cmp -s "$tmp/exp" "$tmp/out1" && [ "$st" -eq 0 ]; then
		pass "ls -f recordio dmlc_sample.rec: the first line"
	else fail "ls -f recordio dmlc_sample.rec: the first line"; show; fi
	out_is "ls -f recordio dmlc_sample.rec: every record's crc32c" \
		"$tmp/dmlc.ls"
	run "$PM" ls -f RecordIO "$DATA/dmlc_sample.rec"
	out_is "ls -f RecordIO: the format name is matched without case" \
		"$tmp/dmlc.ls"
	run "$PM" ls -f auto "$DATA/dmlc_sample.rec"
	out_is "ls -f auto tells RecordIO" "$tmp/dmlc.ls"
else
	for d in "ls -f recordio dmlc_sample.rec: the first line" \
		"ls -f recordio dmlc_sample.rec: every record's crc32c" \
		"ls -f RecordIO" "ls -f auto tells RecordIO"; do
		pass "$d # SKIP no python3"
	done
fi
# Record i holds "i\n" ten times after a 24-byte header.
run "$PM" cat --raw -f recordio "$DATA/dmlc_sample.rec"
if [ "$st" -eq 0 ] && [ "$(tail -c 30 "$tmp/out")" = "$(printf '10\n%.0s' \
	1 2 3 4 5 6 7 8 9 10)" ]; then
	pass "cat -f recordio dmlc_sample.rec ends with record 10's text"
else fail "cat -f recordio dmlc_sample.rec ends with record 10's text"; show; fi

run "$PM" ls -f auto "$DATA/beam_foo_bar.tfrecord"
expect "$tmp/exp" '0\t3\t%s\n1\t3\t%s\n' $CRC_FOO $CRC_BAR
out_is "ls -f auto tells TFRecord" "$tmp/exp"

# ml-io's fixtures: the same 5 records whole and in 4 parts each (joined
# verbatim, the SageMaker way, which is the default).
run "$PM" ls -f recordio "$DATA/mlio_complete_records.pr"
cp "$tmp/out" "$tmp/complete.ls"
if [ "$st" -eq 0 ] && [ "$(wc -l <"$tmp/complete.ls" | tr -d ' ')" = 5 ] &&
   [ "$(cut -f 2 "$tmp/complete.ls" | sort -u)" = 48 ]; then
	pass "ls -f recordio mlio_complete_records.pr: 5 records of 48 bytes"
else fail "ls -f recordio mlio_complete_records.pr: 5 records of 48 bytes"
	show; fi
run "$PM" ls -f recordio "$DATA/mlio_split_records.pr"
out_is "multipart records join into the same records as the whole ones" \
	"$tmp/complete.ls"
run "$PM" ls -f recordio --multipart concat "$DATA/mlio_split_records.pr"
out_is "--multipart concat is the default" "$tmp/complete.ls"
run "$PM" ls -f recordio --multipart dmlc "$DATA/mlio_split_records.pr"
if [ "$st" -eq 0 ] && [ "$(wc -l <"$tmp/out" | tr -d ' ')" = 5 ] &&
   [ "$(cut -f 2 "$tmp/out" | sort -u)" = 60 ]; then
	pass "--multipart dmlc puts the magic back: 5 records of 60 bytes"
else fail "--multipart dmlc puts the magic back: 5 records of 60 bytes"
	show; fi
run "$PM" ls -f auto "$DATA/mlio_split_records.pr"
out_is "ls -f auto on multipart RecordIO" "$tmp/complete.ls"
# With -f auto, --multipart applies if the stream turns out to be RecordIO.
run "$PM" ls -f auto --multipart dmlc "$DATA/mlio_split_records.pr"
if [ "$st" -eq 0 ] && [ "$(cut -f 2 "$tmp/out" | sort -u)" = 60 ]; then
	pass "ls -f auto --multipart dmlc on RecordIO: records of 60 bytes"
else fail "ls -f auto --multipart dmlc on RecordIO: records of 60 bytes"
	show; fi
run "$PM" ls -f auto --multipart dmlc "$DATA/beam_foo_bar.tfrecord"
expect "$tmp/exp" '0\t3\t%s\n1\t3\t%s\n' $CRC_FOO $CRC_BAR
out_is "ls -f auto --multipart dmlc on TFRecord: no effect" "$tmp/exp"

# Part 13 (record 3's first) says "last part" with no record open.
run "$PM" ls -f recordio "$DATA/mlio_corrupted_split_records.pr"
err_has "a broken multipart record exits 1 naming record 3 and part 13" 1 \
	'mlio_corrupted_split_records\.pr' 'record 3\([^0-9]\|$\)' \
	'part 13\([^0-9]\|$\)'
head -n 3 "$tmp/complete.ls" >"$tmp/exp"
out_is "... after listing records 0-2" "$tmp/exp" 1

# ---------------------------------------------------------- compression

# The same 5 records, plain and gzip: reading guesses gzip by default.
run "$PM" cat "$DATA/tfeco_part-m-00000"
cp "$tmp/out" "$tmp/tfeco.cat"
status_is "cat tfeco_part-m-00000 exits 0" 0
run "$PM" cat "$DATA/tfeco_zipped_part-m-00000.gz"
out_is "cat of a .gz reads it (compression=auto by default)" \
	"$tmp/tfeco.cat"
run "$PM" cat -c gzip "$DATA/tfeco_zipped_part-m-00000.gz"
out_is "cat -c gzip" "$tmp/tfeco.cat"
run "$PM" cat -c auto -f auto "$DATA/tfeco_zipped_part-m-00000.gz"
out_is "cat -c auto -f auto of a .gz" "$tmp/tfeco.cat"
run "$PM" cat <"$DATA/tfeco_zipped_part-m-00000.gz"
out_is "cat of gzip on stdin" "$tmp/tfeco.cat"
run "$PM" cat -c none "$DATA/tfeco_zipped_part-m-00000.gz"
err_has "cat -c none of a .gz exits 1" 1 'tfeco_zipped_part-m-00000\.gz'
run "$PM" cat -O compression=none "$DATA/tfeco_zipped_part-m-00000.gz"
err_has "-O compression=none also turns the guessing off" 1
run "$PM" count "$DATA/tfx_penguin_eval.gz"
if [ "$st" -eq 0 ] && [ "$(cut -f 1 "$tmp/out")" = 100 ]; then
	pass "count tfx_penguin_eval.gz: 100 records written by Beam"
else fail "count tfx_penguin_eval.gz: 100 records written by Beam"; show; fi

timeout 30 sh -c 'cat "$1" >"$2"' sh "$DATA/tfeco_zipped_part-m-00000.gz" \
	"$tmp/fifo" &
wpid=$!
run timeout 30 "$PM" cat "$tmp/fifo"
wait "$wpid" || true
out_is "cat of gzip through a FIFO" "$tmp/tfeco.cat"

# A TFRecord stream whose first bytes happen to look like a zlib header
# (length 376 = 78 01 ...) must not be taken for zlib, nor one that looks
# like gzip (length 559903 = 1f 8b 08 00 ...) for gzip.
for n in 376 559903; do
	if [ $have_py = yes ]; then
		py gen $n "$tmp/look$n"
		run "$PM" write -o "$tmp/look$n.tfrecord" "$tmp/look$n"
		run "$PM" ls "$tmp/look$n.tfrecord"
		py ls "$tmp/look$n" >"$tmp/exp"
		out_is "a TFRecord whose length bytes look compressed ($n)" \
			"$tmp/exp"
	else
		pass "a TFRecord whose length bytes look compressed # SKIP"
	fi
done

# ---------------------------------------------------------------- lines

# An empty line, and a last line without its newline.
run "$PM" count -f lines "$tmp/lines.txt"
expect "$tmp/exp" '4\t14\n'
out_is "count -f lines: 4 lines, 14 bytes without newlines" "$tmp/exp"
run "$PM" cat -f lines "$tmp/lines.txt"
expect "$tmp/exp" 'alpha\n\nbeta\ngamma\n'
out_is "cat -f lines gives each line with one newline" "$tmp/exp"
run "$PM" cat -f TextLine --raw "$tmp/lines.txt"
expect "$tmp/exp" 'alphabetagamma'
out_is "cat -f TextLine --raw: the lines without their newlines" "$tmp/exp"
if [ $have_py = yes ]; then
	run "$PM" ls -f lines "$tmp/lines.txt"
	py ls "$tmp/l0" "$tmp/l1" "$tmp/l2" "$tmp/l3" >"$tmp/exp"
	out_is "ls -f lines: lengths and crc32c of the lines" "$tmp/exp"
fi
run "$PM" count -f lines "$tmp/empty"
expect "$tmp/exp" '0\t0\n'
out_is "count -f lines of an empty file: 0 0" "$tmp/exp"

printf 'a\r\nb\r\nc' >"$tmp/crlf.txt"
run "$PM" count -f lines "$tmp/crlf.txt"
expect "$tmp/exp" '3\t5\n'
out_is "-f lines keeps the CR of a CRLF by default" "$tmp/exp"
run "$PM" cat -f lines --strip-cr "$tmp/crlf.txt"
expect "$tmp/exp" 'a\nb\nc\n'
out_is "--strip-cr drops the CR before each LF" "$tmp/exp"

if command -v gzip >/dev/null 2>&1; then
	gzip -c "$tmp/lines.txt" >"$tmp/lines.txt.gz"
	run "$PM" cat -f lines "$tmp/lines.txt.gz"
	expect "$tmp/exp" 'alpha\n\nbeta\ngamma\n'
	out_is "cat -f lines of gzipped text" "$tmp/exp"
else
	pass "cat -f lines of gzipped text # SKIP no gzip"
fi

run "$PM" ls -f auto "$tmp/lines.txt"
err_has "-f auto does not guess text lines: exit 1" 1 'lines\.txt'

# ------------------------------------------------------ write RecordIO

run "$PM" write -f recordio -o "$tmp/lines.rec" <"$tmp/lines.txt"
status_is "write -f recordio exits 0" 0
# 4 headers of 8 bytes, payloads padded to 4: 8 + 0 + 4 + 8.
if [ "$(wc -c <"$tmp/lines.rec" | tr -d ' ')" = 52 ] &&
   [ "$(od -An -tx1 -N4 "$tmp/lines.rec" | tr -d ' ')" = 0a23d7ce ]; then
	pass "write -f recordio: the magic word, 52 bytes"
else fail "write -f recordio: the magic word, 52 bytes"; fi
run "$PM" ls "$tmp/lines.tfrecord"
cp "$tmp/out" "$tmp/lines.ls"
run "$PM" ls -f recordio "$tmp/lines.rec"
out_is "ls of the RecordIO lines equals ls of the TFRecord lines" \
	"$tmp/lines.ls"

run "$PM" write -f recordio -o "$tmp/files.rec" "$tmp/empty" "$tmp/big" \
	"$DATA/beam_foo.tfrecord"
status_is "write -f recordio FILE... exits 0" 0
run "$PM" ls "$tmp/files.tfrecord"
cp "$tmp/out" "$tmp/files.ls"
run "$PM" ls -f recordio "$tmp/files.rec"
out_is "write -f recordio FILE...: ls equal to the TFRecord one" \
	"$tmp/files.ls"
run "$PM" cat --raw -f auto "$tmp/files.rec"
cat "$tmp/empty" "$tmp/big" "$DATA/beam_foo.tfrecord" >"$tmp/exp"
out_is "write -f recordio FILE... then cat --raw gives the files back" \
	"$tmp/exp"

# The magic word at offset 0 and at offset 8: dmlc-core cuts the record
# there, and only a dmlc reader puts it back.
printf '\n#\327\316abcd\n#\327\316xyz' >"$tmp/magic.bin"
run "$PM" write -f recordio --multipart dmlc -o "$tmp/magic.rec" \
	"$tmp/magic.bin"
status_is "write -f recordio --multipart dmlc exits 0" 0
run "$PM" cat --raw -f recordio --multipart dmlc "$tmp/magic.rec"
out_is "... read back with --multipart dmlc: the same bytes" "$tmp/magic.bin"
run "$PM" cat --raw -f recordio "$tmp/magic.rec"
if [ "$st" -eq 0 ] && ! cmp -s "$tmp/magic.bin" "$tmp/out"; then
	pass "... read with concat: different bytes"
else fail "... read with concat: different bytes"; show; fi
expect "$tmp/exp" 'abcdxyz'
out_is "... namely without the magic words" "$tmp/exp"
run "$PM" write -f recordio -o "$tmp/magic1.rec" "$tmp/magic.bin"
run "$PM" cat --raw -f recordio "$tmp/magic1.rec"
out_is "write -f recordio (concat) keeps the magic in one part" \
	"$tmp/magic.bin"

# ------------------------------------------------- write compressed

run "$PM" write -c gzip -o "$tmp/lines.tfrecord.gz" <"$tmp/lines.txt"
status_is "write -c gzip exits 0" 0
if command -v gzip >/dev/null 2>&1; then
	if gzip -dc "$tmp/lines.tfrecord.gz" >"$tmp/out" 2>"$tmp/err"
	then st=0; else st=$?; fi
	out_is "write -c gzip: gzip -dc gives the uncompressed write" \
		"$tmp/lines.tfrecord"
else
	pass "write -c gzip: gzip -dc # SKIP no gzip"
fi
run "$PM" cat "$tmp/lines.tfrecord.gz"
expect "$tmp/exp" 'alpha\n\nbeta\ngamma\n'
out_is "cat reads what write -c gzip wrote" "$tmp/exp"

run "$PM" write -c zlib -o "$tmp/lines.tfrecord.z" <"$tmp/lines.txt"
status_is "write -c zlib exits 0" 0
if [ $have_py = yes ]; then
	if py unzlib "$tmp/lines.tfrecord.z" "$tmp/out" 2>"$tmp/err"
	then st=0; else st=$?; fi
	out_is "write -c zlib: inflating gives the uncompressed write" \
		"$tmp/lines.tfrecord"
fi
run "$PM" cat "$tmp/lines.tfrecord.z"
out_is "cat reads what write -c zlib wrote" "$tmp/exp"
run "$PM" cat -c zlib "$tmp/lines.tfrecord.z"
out_is "cat -c zlib reads it too" "$tmp/exp"

# Compressed input larger than any one read: guessing must not choke on it.
if command -v gzip >/dev/null 2>&1; then
	gzip -c "$tmp/big.tfrecord" >"$tmp/big.tfrecord.gz"
	run "$PM" ls "$tmp/big.tfrecord"
	cp "$tmp/out" "$tmp/big.ls"
	run "$PM" ls "$tmp/big.tfrecord.gz"
	out_is "ls of a 3 MiB gzip TFRecord (compression=auto) equals ls of it" \
		"$tmp/big.ls"
else
	pass "ls of a 3 MiB gzip TFRecord # SKIP no gzip"
fi

run "$PM" write -f recordio -c gzip -o "$tmp/files.rec.gz" "$tmp/empty" \
	"$tmp/big" "$DATA/beam_foo.tfrecord"
run "$PM" ls -f auto "$tmp/files.rec.gz"
out_is "write -f recordio -c gzip, then ls -f auto" "$tmp/files.ls"

# ------------------------------------------------ format usage errors

run "$PM" ls -f recordio --multipart foo "$DATA/dmlc_sample.rec"
err_has "--multipart foo: exit 2" 2 'foo'
run "$PM" ls -f tfrecord --multipart dmlc "$DATA/beam_foo.tfrecord"
err_has "--multipart with -f tfrecord: exit 2" 2 'multipart'
run "$PM" ls --multipart dmlc "$DATA/beam_foo.tfrecord"
err_has "--multipart without -f recordio: exit 2" 2 'multipart'
run "$PM" ls --multipart dmlc -f lines "$tmp/lines.txt"
err_has "--multipart with -f lines (given after it): exit 2" 2 'multipart'
run "$PM" write --multipart dmlc </dev/null
err_has "write --multipart without -f recordio: exit 2" 2 'multipart'
run "$PM" cat -f tfrecord --strip-cr "$DATA/beam_foo.tfrecord"
err_has "--strip-cr with -f tfrecord: exit 2" 2 'strip-cr'
run "$PM" write -f lines --strip-cr </dev/null
status_is "write --strip-cr: exit 2" 2
run "$PM" ls -c bzip2 "$DATA/beam_foo.tfrecord"
err_has "ls -c bzip2: an unknown compression is a usage error (2)" 2 'bzip2'
run "$PM" write -c bzip2 </dev/null
err_has "write -c bzip2: exit 2" 2 'bzip2'
run "$PM" write -f lines -o "$tmp/x.lines" </dev/null
err_has "write -f lines: no writer for lines, exit 2" 2 'lines'
if [ ! -e "$tmp/x.lines" ]; then pass "... and no output file is made"
else fail "... and no output file is made"; fi
run "$PM" write -f auto </dev/null
err_has "write -f auto: exit 2" 2 'auto'
run "$PM" write -c auto </dev/null
err_has "write -c auto: exit 2" 2 'auto'

# ------------------------------------------------------------ opening

run "$PM" ls "$tmp/does-not-exist"
err_has "a missing path exits 1 naming it" 1 'does-not-exist'

run "$PM" ls -o "$tmp/no-such-dir/out" "$DATA/beam_foo.tfrecord"
err_has "ls -o into a missing directory exits 1 naming it" 1 'no-such-dir/out'

run "$PM" ls -f recordio "$DATA/beam_foo.tfrecord"
err_has "-f recordio on a TFRecord file exits 1 naming it" 1 'beam_foo'

run "$PM" ls -f no-such-format "$DATA/beam_foo.tfrecord"
err_has "an unknown format name is a usage error (2)" 2

run "$PM" ls -O no_such_key=1 "$DATA/beam_foo.tfrecord"
err_has "an unknown library option is a usage error (2)" 2 'no_such_key'

run "$PM" count -O no_such_key=1 - <"$DATA/beam_foo.tfrecord"
err_has "an option error on stdin names stdin" 2 '^pipemode: stdin: ' \
	'no_such_key'

run "$PM" write -O no_such_key=1 </dev/null
err_has "an option error of write to stdout names stdout" 2 \
	'^pipemode: stdout: ' 'no_such_key'

# -------------------------------------------------------- command line

run "$PM"
status_is "no command: exit 2" 2
run "$PM" frobnicate
status_is "unknown command: exit 2" 2
if grep -q '^Usage: pipemode' "$tmp/err"; then
	pass "a usage error prints a usage line on stderr"
else fail "a usage error prints a usage line on stderr"; show; fi
run "$PM" ls --no-such-option "$DATA/beam_foo.tfrecord"
status_is "unknown long option: exit 2" 2
run "$PM" ls -Z "$DATA/beam_foo.tfrecord"
status_is "unknown short option: exit 2" 2
run "$PM" ls "$DATA/beam_foo.tfrecord" -f
status_is "missing argument of -f: exit 2" 2
run "$PM" count "$DATA/beam_foo.tfrecord" --option
status_is "missing argument of --option: exit 2" 2
run "$PM" ls -O novalue "$DATA/beam_foo.tfrecord"
status_is "-O without '=': exit 2" 2
run "$PM" ls "$DATA/beam_foo.tfrecord" "$DATA/beam_foo.tfrecord"
status_is "two PATHs for ls: exit 2" 2
run "$PM" cat --raw - - </dev/null
status_is "two PATHs for cat: exit 2" 2
run "$PM" ls --raw "$DATA/beam_foo.tfrecord"
status_is "--raw outside cat: exit 2" 2
run "$PM" write --no-verify </dev/null
status_is "--no-verify with write: exit 2" 2

# Options may follow the PATH, as with GNU tools.
run "$PM" ls "$DATA/beam_foo_bar.tfrecord" -f tfrecord --no-verify
expect "$tmp/exp" '0\t3\t%s\n1\t3\t%s\n' $CRC_FOO $CRC_BAR
out_is "options after the PATH work" "$tmp/exp"

version=$(sed -n 's/^#define PIPEMODE_VERSION_STRING "\(.*\)"$/\1/p' \
	"$top_srcdir/include/pipemode.h")
# The second line says which inflate the build was configured with.
if grep -q '^#define HAVE_ISAL_INFLATE 1' "$top_builddir/config.h"; then
	inflate='ISA-L igzip (configure --with-isal)'
else
	inflate=zlib
fi
expect "$tmp/exp" 'pipemode (libpipemode) %s\ninflate: %s\n' "$version" "$inflate"
run "$PM" --version
out_is "--version prints the library version ($version)" "$tmp/exp"
run "$PM" cat --version
out_is "cat --version is --version" "$tmp/exp"

for args in "--help" "-h" "help" "help write" "ls --help" "cat -h"; do
	# shellcheck disable=SC2086
	run "$PM" $args
	if [ "$st" -eq 0 ] && grep -q '^Usage: pipemode' "$tmp/out" &&
	   grep -q 'Exit status' "$tmp/out" && [ ! -s "$tmp/err" ]; then
		pass "pipemode $args prints help and exits 0"
	else
		fail "pipemode $args prints help and exits 0"; show
	fi
done
run "$PM" help frobnicate
status_is "help of an unknown command: exit 2" 2

# ------------------------------------------------------ channels: feed

# pipemode feed plays SageMaker's part: FIFOs $ch/pipes/NAME_E, one per
# epoch.  Readers name every directory, so that nothing under /opt/ml (or
# the PIPEMODE_* variables) can change what they read; "nocfg" does not
# exist, which means no inputdataconfig.json.
ch=$tmp/ch
mkdir -p "$ch"

# feed_bg ARGS...: pipemode feed in the background, its stderr in
# $tmp/feed.err; feed_wait then sets $fst to its exit status.
feed_bg() {
	timeout 30 "$PM" feed "$@" 2>"$tmp/feed.err" &
	fpid=$!
}
feed_wait() {
	if wait "$fpid"; then fst=0; else fst=$?; fi
	fpid=
}
fpid=
# A feeder left waiting by a failed check must not outlive the test.
trap 'if [ -n "$fpid" ]; then kill "$fpid" 2>/dev/null || :; fi
rm -rf "$tmp"' EXIT

# chan CMD [OPTION]...: run pipemode CMD on a channel of $ch/pipes, with
# the epoch counter in $ch/state (or $state when set).
chan() {
	c1=$1
	shift
	run timeout 30 "$PM" "$c1" --pipe-dir "$ch/pipes" \
		--state-dir "${state:-$ch/state}" --config-dir "$ch/nocfg" "$@"
}

# wait_fifo PATH: until PATH is a FIFO (10 s at most).
wait_fifo() {
	n=0
	while [ ! -p "$1" ] && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
}

feed_ok() { # DESC: the last feeder exited 0
	if [ "$fst" -eq 0 ]; then pass "$1"
	else fail "$1"; echo "#   feed status: $fst"
		sed 's/^/#     /' "$tmp/feed.err"; fi
}

# A directory of TFRecord files: S3 lists keys in byte order, so in/a-c
# ('-' is 0x2d) comes before in/a/b ('/' is 0x2f), which a walk that sorts
# each directory on its own would get wrong.
mkdir -p "$ch/in/a"
cp "$DATA/beam_foo_bar.tfrecord" "$ch/in/a-c"
cp "$DATA/beam_foo.tfrecord" "$ch/in/a/b"
cp "$DATA/smtfext_100.tfrecords" "$ch/in/z.tfrecords"
cat "$ch/in/a-c" "$ch/in/a/b" "$ch/in/z.tfrecords" >"$tmp/concat.tfrecord"
run "$PM" count "$tmp/concat.tfrecord"
cp "$tmp/out" "$tmp/concat.count"
run "$PM" ls "$tmp/concat.tfrecord"
cp "$tmp/out" "$tmp/concat.ls"

# A stale file where the FIFO goes is replaced, as after a crashed run.
mkdir -p "$ch/pipes"
echo stale >"$ch/pipes/train_0"
feed_bg --pipe-dir "$ch/pipes" --channel train --epochs 3 "$ch/in"
wait_fifo "$ch/pipes/train_0"
for e in 0 1 2; do
	chan count --channel train
	out_is "count --channel train, epoch $e: the files concatenated" \
		"$tmp/concat.count"
done
feed_wait
feed_ok "feed --epochs 3 of a directory exits 0"
if [ "$(cat "$ch/state/.train-pipe_mode-state" 2>/dev/null)" = 3 ]; then
	pass "the epoch counter ends at 3"
else fail "the epoch counter ends at 3"
	sed 's/^/#     /' "$ch/state/.train-pipe_mode-state" 2>&1; fi
if [ -z "$(ls -A "$ch/pipes")" ]; then pass "feed removes every FIFO it made"
else fail "feed removes every FIFO it made"; ls -la "$ch/pipes"; fi

# Files named on the command line go in the order given; a directory's
# files in byte order of their paths.
feed_bg --pipe-dir "$ch/pipes" --channel order "$ch/in/z.tfrecords" \
	"$ch/in/a"
chan ls --channel order
feed_wait
cat "$ch/in/z.tfrecords" "$ch/in/a/b" >"$tmp/order.tfrecord"
run_out=$(cat "$tmp/out")
run "$PM" ls "$tmp/order.tfrecord"
if [ "$st" -eq 0 ] && [ "$run_out" = "$(cat "$tmp/out")" ] &&
   [ "$fst" -eq 0 ]; then
	pass "feed FILE DIR: the FILE first, then the DIR's files"
else fail "feed FILE DIR: the FILE first, then the DIR's files"; fi
chan ls --channel order --epoch 0 -O open_timeout=0
status_is "epoch 0 is gone once served: open_timeout=0 fails at once" 1
chan ls --channel train --epoch 0 "$tmp/concat.tfrecord"
err_has "--channel with a PATH is a usage error (2)" 2 'concat\.tfrecord'

run timeout 30 "$PM" ls --channel train --pipe-dir "$ch/pipes" \
	--state-dir "$ch/state" --config-dir "$ch/nocfg" --epoch 0 \
	-f tfrecord -O open_timeout=0
err_has "a missing epoch with open_timeout=0: exit 1 naming train_0" 1 \
	'train_0'

# ---------------------------------------------- feed --record-wrapper

printf hello >"$ch/w1"
: >"$ch/w2"
if [ $have_py = yes ]; then py gen 1001 "$ch/w3"
else head -c 1001 /dev/urandom >"$ch/w3"; fi
state=$ch/state-rio
mkdir -p "$ch/cfg"
feed_bg --pipe-dir "$ch/pipes" --channel rio --epochs 2 \
	--record-wrapper recordio --config-dir "$ch/cfg" \
	--content-type application/x-recordio "$ch/w1" "$ch/w2" "$ch/w3"
chan ls -f recordio --channel rio
cp "$tmp/out" "$tmp/rio.ls"
if [ $have_py = yes ]; then
	py ls "$ch/w1" "$ch/w2" "$ch/w3" >"$tmp/exp"
	out_is "--record-wrapper recordio: one record per file, lengths and crc32c" \
		"$tmp/exp"
else
	if [ "$st" -eq 0 ] && [ "$(wc -l <"$tmp/out" | tr -d ' ')" = 3 ]
	then pass "--record-wrapper recordio: one record per file"
	else fail "--record-wrapper recordio: one record per file"; show; fi
fi
# The config says RecordIO, so the library reads RecordIO without -f.
run timeout 30 "$PM" ls --channel rio --pipe-dir "$ch/pipes" \
	--state-dir "$state" --config-dir "$ch/cfg"
out_is "with --config-dir, RecordWrapperType RecordIO makes ls read RecordIO" \
	"$tmp/rio.ls"
feed_wait
feed_ok "feed --record-wrapper recordio exits 0"
state=

# RecordIO pads each payload to 4 bytes: 8 + 8, 8 + 0, 8 + 1004.
feed_bg --pipe-dir "$ch/pipes" --channel riobytes --record-wrapper recordio \
	"$ch/w1" "$ch/w2" "$ch/w3"
wait_fifo "$ch/pipes/riobytes_0"
timeout 30 cat "$ch/pipes/riobytes_0" >"$tmp/rio.raw" || :
feed_wait
if [ "$(wc -c <"$tmp/rio.raw" | tr -d ' ')" = 1036 ] &&
   [ "$(od -An -tx1 -N8 "$tmp/rio.raw" | tr -d ' ')" = 0a23d7ce05000000 ]
then pass "the RecordIO stream: magic, length, padding (1036 bytes)"
else fail "the RecordIO stream: magic, length, padding (1036 bytes)"
	od -An -tx1 -N16 "$tmp/rio.raw" | sed 's/^/#     /'; fi

if [ $have_py = yes ]; then
	cat >"$tmp/cfg.py" <<'PYEOF'
import json, sys
cfg = json.load(open(sys.argv[1]))
for arg in sys.argv[2:]:
    name, key, want = arg.split(":", 2)
    got = cfg.get(name, {}).get(key)
    if got != want:
        sys.exit("%s.%s: %r, expected %r" % (name, key, got, want))
PYEOF
	if python3 "$tmp/cfg.py" "$ch/cfg/inputdataconfig.json" \
		rio:TrainingInputMode:Pipe \
		rio:S3DistributionType:FullyReplicated \
		rio:RecordWrapperType:RecordIO \
		rio:ContentType:application/x-recordio 2>"$tmp/err"
	then pass "--config-dir writes inputdataconfig.json for the channel"
	else fail "--config-dir writes inputdataconfig.json for the channel"
		sed 's/^/#     /' "$tmp/err"; fi
else
	pass "--config-dir writes inputdataconfig.json # SKIP no python3"
fi

# A second channel in the same config keeps the first.  The config is
# written before the FIFO is made: a reader that came earlier would find
# no channel 'plain' in it.
feed_bg --pipe-dir "$ch/pipes" --channel plain --config-dir "$ch/cfg" \
	"$ch/in"
wait_fifo "$ch/pipes/plain_0"
run timeout 30 "$PM" count --channel plain --pipe-dir "$ch/pipes" \
	--state-dir "$ch/state" --config-dir "$ch/cfg"
out_is "a channel fed with --config-dir reads by its config" \
	"$tmp/concat.count"
feed_wait
feed_ok "feed of a second channel exits 0"
if [ $have_py = yes ]; then
	if python3 "$tmp/cfg.py" "$ch/cfg/inputdataconfig.json" \
		rio:RecordWrapperType:RecordIO plain:RecordWrapperType:None \
		plain:TrainingInputMode:Pipe 2>"$tmp/err"
	then pass "a second feed keeps the first channel in the config"
	else fail "a second feed keeps the first channel in the config"
		sed 's/^/#     /' "$tmp/err"; fi
else
	pass "a second feed keeps the first channel # SKIP no python3"
fi
if [ -z "$(find "$ch/cfg" -name '.inputdataconfig*')" ]; then
	pass "no temporary config file is left behind"
else fail "no temporary config file is left behind"; fi

echo '{"broken": ' >"$ch/badcfg.json"
mkdir -p "$ch/badcfg"
cp "$ch/badcfg.json" "$ch/badcfg/inputdataconfig.json"
run timeout 30 "$PM" feed --pipe-dir "$ch/pipes" --channel bad \
	--config-dir "$ch/badcfg" "$ch/w1"
if [ "$st" -eq 1 ] && grep -q 'inputdataconfig\.json' "$tmp/err" &&
   cmp -s "$ch/badcfg.json" "$ch/badcfg/inputdataconfig.json" &&
   [ ! -e "$ch/pipes/bad_0" ]; then
	pass "a malformed config: exit 1, the file left alone, no FIFO"
else fail "a malformed config: exit 1, the file left alone, no FIFO"
	show; fi

# ------------------------------------------------ feed --shuffle-seed

mkdir -p "$ch/shuf"
for i in 0 1 2 3 4 5 6 7; do printf 'file %d\n' $i >"$ch/shuf/f$i"; done
# shuffled RUN: two epochs of the 8 files, shuffled with seed 42, read
# once through the counter and once with --epoch.
shuffled() {
	feed_bg --pipe-dir "$ch/pipes" --channel shuf --epochs 2 \
		--shuffle-seed 42 --record-wrapper recordio "$ch/shuf"
	for e in 0 1; do
		if [ "$1" = 1 ]; then state=$ch/state-shuf
			chan cat --raw -f recordio --channel shuf
		else chan cat --raw -f recordio --channel shuf --epoch $e; fi
		cp "$tmp/out" "$tmp/shuf$1.$e"
	done
	state=
	feed_wait
}
shuffled 1
shuffled 2
cat "$ch/shuf"/f* >"$tmp/exp"
if sort "$tmp/shuf1.0" | cmp -s "$tmp/exp" - &&
   sort "$tmp/shuf1.1" | cmp -s "$tmp/exp" -; then
	pass "--shuffle-seed: each epoch has every file once"
else fail "--shuffle-seed: each epoch has every file once"; fi
if ! cmp -s "$tmp/shuf1.0" "$tmp/shuf1.1"; then
	pass "--shuffle-seed: the order differs between epochs"
else fail "--shuffle-seed: the order differs between epochs"; fi
if cmp -s "$tmp/shuf1.0" "$tmp/shuf2.0" &&
   cmp -s "$tmp/shuf1.1" "$tmp/shuf2.1"; then
	pass "--shuffle-seed: the same seed gives the same orders"
else fail "--shuffle-seed: the same seed gives the same orders"; fi
if [ $have_py = yes ]; then
	# The documented shuffle (README.rst), written again from the text.
	cat >"$tmp/shuf.py" <<'PYEOF'
import sys
M = (1 << 64) - 1
seed, epoch, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
state = (seed ^ (epoch * 0xd1b54a32d192ed03)) & M
def nxt():
    global state
    state = (state + 0x9e3779b97f4a7c15) & M
    z = state
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
    return z ^ (z >> 31)
order = list(range(n))
for i in range(n - 1, 0, -1):
    j = nxt() % (i + 1)
    order[i], order[j] = order[j], order[i]
for k in order:
    print("file %d" % k)
PYEOF
	python3 "$tmp/shuf.py" 42 0 8 >"$tmp/exp0"
	python3 "$tmp/shuf.py" 42 1 8 >"$tmp/exp1"
	if cmp -s "$tmp/exp0" "$tmp/shuf1.0" && cmp -s "$tmp/exp1" "$tmp/shuf1.1"
	then pass "--shuffle-seed: the orders are those the README documents"
	else fail "--shuffle-seed: the orders are those the README documents"
		paste "$tmp/exp0" "$tmp/shuf1.0" | sed 's/^/#     /'; fi
else
	pass "--shuffle-seed: the documented orders # SKIP no python3"
fi

# ---------------------------------------------- a channel reader leaves

# 300000 records make an ls listing of megabytes: head takes one line and
# leaves, ls dies of EPIPE on its stdout and closes the FIFO while the
# feeder still has megabytes to send.
seq 1 300000 | "$PM" write -o "$ch/many.tfrecord"
run "$PM" ls "$ch/many.tfrecord"
cp "$tmp/out" "$tmp/many.ls"
feed_bg --pipe-dir "$ch/pipes" --channel big --epochs 2 "$ch/many.tfrecord"
timeout 30 "$PM" ls --channel big --pipe-dir "$ch/pipes" \
	--state-dir "$ch/state" --config-dir "$ch/nocfg" 2>/dev/null |
	head -n 1 >"$tmp/head.out"
chan ls --channel big
out_is "after a reader left epoch 0, epoch 1 is served in full" \
	"$tmp/many.ls"
feed_wait
feed_ok "feed whose reader leaves early still exits 0"
if grep -q '^pipemode feed: big_0: reader left after [0-9][0-9]* bytes' \
	"$tmp/feed.err"; then
	pass "feed reports the reader that left, and after how many bytes"
else fail "feed reports the reader that left, and after how many bytes"
	sed 's/^/#     /' "$tmp/feed.err"; fi
if ! grep -q 'big_1' "$tmp/feed.err"; then
	pass "... and nothing about epoch 1"
else fail "... and nothing about epoch 1"; fi

# Progress goes to a terminal only: the feeds above wrote to a file.
if ! grep -q "$(printf '\r')" "$tmp/feed.err"; then
	pass "no progress line when stderr is not a terminal"
else fail "no progress line when stderr is not a terminal"
	sed 's/^/#     /' "$tmp/feed.err"; fi
# util-linux script(1) gives the feeder a terminal.
if script --version 2>/dev/null | grep -q util-linux; then
	timeout 30 script -qec "'$PM' feed --pipe-dir '$ch/pipes' \
		--channel tty '$ch/many.tfrecord'" /dev/null \
		>"$tmp/tty.out" 2>&1 </dev/null &
	spid=$!
	chan count --channel tty
	if wait "$spid"; then sst=0; else sst=$?; fi
	if [ "$sst" -eq 0 ] && grep -q "$(printf '\r')" "$tmp/tty.out" &&
	   grep -q 'tty_0 (epoch 1/1): .*B/s' "$tmp/tty.out"; then
		pass "on a terminal, feed shows a progress line: epoch, bytes, rate"
	else fail "on a terminal, feed shows a progress line: epoch, bytes, rate"
		echo "#   status: $sst"; od -c "$tmp/tty.out" | head -n 8 |
			sed 's/^/#     /'; fi
else
	pass "on a terminal, feed shows a progress line # SKIP no script(1)"
fi

# --------------------------------------------- channel open timeouts

mkdir -p "$ch/empty"
t0=$(date +%s%N)
run timeout 30 "$PM" count --channel none --pipe-dir "$ch/empty" \
	--state-dir "$ch/state" --config-dir "$ch/nocfg" -O open_timeout=0.5
t1=$(date +%s%N)
err_has "no feeder: open_timeout=0.5 fails with exit 1 naming none_0" 1 \
	'none_0' 'timed out\|open_timeout'
case $t0$t1 in
*N*) pass "... within the timeout # SKIP date has no %N" ;;
*)	ms=$(((t1 - t0) / 1000000))
	if [ $ms -ge 400 ] && [ $ms -lt 10000 ]; then
		pass "... after about the timeout ($ms ms)"
	else fail "... after about the timeout ($ms ms)"; fi ;;
esac

# ------------------------------------------------------ feed: signals

feed_bg --pipe-dir "$ch/pipes" --channel sig "$ch/w1"
wait_fifo "$ch/pipes/sig_0"
kill -TERM "$fpid"
feed_wait
if [ "$fst" -eq 143 ] && [ ! -e "$ch/pipes/sig_0" ]; then
	pass "SIGTERM while waiting for a reader: exit 143, the FIFO removed"
else fail "SIGTERM while waiting for a reader: exit 143, the FIFO removed"
	echo "#   feed status: $fst"; ls -la "$ch/pipes" | sed 's/^/#     /'; fi

# ------------------------------------------------- feed: usage, errors

run "$PM" feed --pipe-dir "$ch/pipes" "$ch/w1"
err_has "feed without --channel: exit 2" 2 'channel'
run "$PM" feed --channel x "$ch/w1"
err_has "feed without --pipe-dir: exit 2" 2 'pipe-dir'
run "$PM" feed --pipe-dir "$ch/pipes" --channel x
status_is "feed without a FILE: exit 2" 2
run "$PM" feed --pipe-dir "$ch/pipes" --channel x --record-wrapper protobuf \
	"$ch/w1"
err_has "feed --record-wrapper protobuf: exit 2" 2 'protobuf'
run "$PM" feed --pipe-dir "$ch/pipes" --channel ../x "$ch/w1"
err_has "feed --channel ../x: exit 2" 2 '\.\./x'
run "$PM" feed --pipe-dir "$ch/pipes" --channel x --epochs 0 "$ch/w1"
err_has "feed --epochs 0: exit 2" 2 'epochs'
run "$PM" feed --pipe-dir "$ch/pipes" --channel x --shuffle-seed -1 "$ch/w1"
err_has "feed --shuffle-seed -1: exit 2" 2 'shuffle-seed'
run "$PM" feed --pipe-dir "$ch/pipes" --channel x -f recordio "$ch/w1"
err_has "feed -f: exit 2 (a reading option)" 2 'format'
run "$PM" ls --epochs 2 --channel x
err_has "ls --epochs: exit 2 (a feed option)" 2 'epochs'
run "$PM" write --channel x </dev/null
err_has "write --channel: exit 2" 2 'channel'
run "$PM" ls --pipe-dir "$ch/pipes" "$DATA/beam_foo.tfrecord"
err_has "ls --pipe-dir without --channel: exit 2" 2 'pipe-dir'
run "$PM" count --channel 'a/b' --pipe-dir "$ch/pipes"
err_has "count --channel a/b: exit 2" 2 'a/b'
run "$PM" feed --pipe-dir "$ch/pipes" --channel miss "$ch/w1" \
	"$ch/no-such-input"
if [ "$st" -eq 1 ] && grep -q 'no-such-input' "$tmp/err" &&
   [ ! -e "$ch/pipes/miss_0" ]; then
	pass "feed of a missing input: exit 1 naming it, before any FIFO"
else fail "feed of a missing input: exit 1 naming it, before any FIFO"
	show; fi
run "$PM" feed --pipe-dir "$ch/pipes" --channel x --reader-timeout 0 "$ch/w1"
err_has "feed --reader-timeout 0: exit 2" 2 'reader-timeout'
# No reader ever comes: feed gives up after the timeout (timeout(1) is only
# the test's own bound), names the FIFO, and leaves none behind.
run timeout 30 "$PM" feed --pipe-dir "$ch/pipes" --channel lonely \
	--reader-timeout 1 "$ch/w1"
if [ "$st" -eq 1 ] && grep -q 'lonely_0: no reader opened it within 1 s' "$tmp/err" &&
   [ ! -e "$ch/pipes/lonely_0" ]; then
	pass "feed --reader-timeout 1 without a reader: exit 1, FIFO removed"
else fail "feed --reader-timeout 1 without a reader: exit 1, FIFO removed"
	show; fi
# A reader that comes in time is served as without the option.
feed_bg --pipe-dir "$ch/pipes" --channel punctual --reader-timeout 20 "$ch/w1"
wait_fifo "$ch/pipes/punctual_0"
run timeout 30 "$PM" count -f lines "$ch/pipes/punctual_0"
feed_wait
if [ "$st" -eq 0 ] && [ "$fst" -eq 0 ]; then
	pass "feed --reader-timeout with a reader in time: served, exit 0"
else fail "feed --reader-timeout with a reader in time: served, exit 0"
	show; echo "#   feed status: $fst"; fi
run "$PM" feed --pipe-dir "$ch/w1/sub" --channel x "$ch/w1"
if [ "$st" -eq 1 ] && grep -q '^pipemode feed: .*w1/sub' "$tmp/err"; then
	pass "feed --pipe-dir under a file: exit 1 naming it"
else fail "feed --pipe-dir under a file: exit 1 naming it"; show; fi
for args in "feed --help" "help feed"; do
	# shellcheck disable=SC2086
	run "$PM" $args
	if [ "$st" -eq 0 ] && grep -q '^Usage: pipemode feed' "$tmp/out" &&
	   grep -q -e '--record-wrapper' "$tmp/out" &&
	   grep -q 'Exit status' "$tmp/out"; then
		pass "pipemode $args documents feed"
	else fail "pipemode $args documents feed"; show; fi
done
run "$PM" ls --help
if grep -q -e '--channel' "$tmp/out" && grep -q -e '--state-dir' "$tmp/out"
then pass "ls --help documents --channel"
else fail "ls --help documents --channel"; fi

# -------------------------------------------------------------------- end

if [ $failed -ne 0 ]; then
	echo "# $failed check(s) failed"
	exit 1
fi
exit 0
