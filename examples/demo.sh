#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make demo: a TFRecord stream written through a FIFO, as SageMaker Pipe Mode
# delivers it, and read back with every CRC32C verified.
set -eu
tool=${PIPEMODE_TOOL:?}
example=${PIPEMODE_EXAMPLE:?}
records=${DEMO_RECORDS:-1000000}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pipemode-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "== 1. write $records records with 'pipemode write'"
awk -v n="$records" 'BEGIN { for (i = 0; i < n; i++)
	printf "record %d: the quick brown fox jumps over the lazy dog %08x\n", i, i * 2654435761 % 4294967296 }' \
	| "$tool" write -f tfrecord -o "$tmp/train.tfrecord"
ls -l "$tmp/train.tfrecord" | awk '{ print "   " $5 " bytes in " $NF }'
echo "   first records (index, length, crc32c):"
"$tool" ls "$tmp/train.tfrecord" | head -n 3 | sed 's/^/     /'
printf '   count: '
"$tool" count "$tmp/train.tfrecord"

echo "== 2. stream it through a FIFO, as Pipe Mode does, and verify it"
mkfifo "$tmp/training_0"
cat "$tmp/train.tfrecord" > "$tmp/training_0" &
writer=$!
"$example" "$tmp/training_0" | sed 's/^/   /'
wait "$writer"

echo "== 3. one flipped byte is caught, with where it happened"
cp "$tmp/train.tfrecord" "$tmp/corrupt.tfrecord"
# Flip a byte inside the payload of record 1000.
offset=$("$tool" ls "$tmp/train.tfrecord" | awk -F '\t' 'NR <= 1000 { sum += $2 + 16 } END { print sum + 12 + 5 }')
printf 'X' | dd of="$tmp/corrupt.tfrecord" bs=1 seek="$offset" conv=notrunc 2>/dev/null
if "$tool" count "$tmp/corrupt.tfrecord" 2>"$tmp/err"; then
	echo "   the corruption was not detected" >&2
	exit 1
fi
sed 's/^/   /' "$tmp/err"
echo "== done"
