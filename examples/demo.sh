#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make demo: a model trained in SageMaker Pipe Mode.  `pipemode feed` plays
# SageMaker's part: it streams a data set into a FIFO per epoch,
# <pipe_dir>/<channel>_0, _1, ...  examples/train_linear plays the training
# program's: each pipemode_open() reads the next epoch, fitting a linear
# model by SGD, and a validation channel checks the model after each epoch.
# Then the tool looks at the files, and one flipped byte is caught with
# where it happened.
#
# The environment names the programs (make demo sets them):
#   PIPEMODE_TOOL     tools/pipemode
#   PIPEMODE_TRAIN    examples/train_linear
#   PIPEMODE_EXAMPLE  examples/verify_tfrecord
# DEMO_RECORDS, DEMO_FEATURES and DEMO_EPOCHS change the size of the run.
set -eu
tool=${PIPEMODE_TOOL:?}
train=${PIPEMODE_TRAIN:?}
example=${PIPEMODE_EXAMPLE:?}
records=${DEMO_RECORDS:-500000}
features=${DEMO_FEATURES:-16}
epochs=${DEMO_EPOCHS:-5}
# No wait below may hang: a feeder that never comes fails the trainer's
# open after this many seconds.
timeout=30

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pipemode-demo.XXXXXX")
feeders=
cleanup() {
	for pid in $feeders; do
		kill "$pid" 2>/dev/null || :
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

echo "== 1. a data set: y = w . x + b + noise, as TFRecord files"
"$train" generate --out "$tmp/data" --records "$records" \
	--features "$features" --files 4 | sed 's/^/   /'

# SageMaker's layout: the FIFOs in the pipe directory, the epoch counters
# (state files shared by every reader of a channel) beside them.
pipes=$tmp/pipes
mkdir "$pipes"
echo "== 2. SageMaker's side: 'pipemode feed' streams each channel into a FIFO an epoch"
for channel in training validation; do
	case $channel in
	training) dir=$tmp/data/train ;;
	*) dir=$tmp/data/validation ;;
	esac
	echo "   pipemode feed --channel $channel --epochs $epochs $dir:" \
		"$pipes/${channel}_0 .. _$((epochs - 1))"
	"$tool" feed --pipe-dir "$pipes" --channel "$channel" \
		--epochs "$epochs" "$dir" \
		>"$tmp/feed-$channel.log" 2>&1 </dev/null &
	feeders="$feeders $!"
done

echo "== 3. the training program's side: pipemode_open() reads the next epoch each time"
{
	st=0
	"$train" train --train-channel training \
		--validation-channel validation --epochs "$epochs" \
		--pipe-dir "$pipes" --state-dir "$pipes/state" \
		--open-timeout "$timeout" 2>&1 </dev/null || st=$?
	echo "$st" >"$tmp/train.status"
} | sed 's/^/   /'
if [ "$(cat "$tmp/train.status")" -ne 0 ]; then
	echo "   train_linear failed (status $(cat "$tmp/train.status"))" >&2
	for channel in training validation; do
		sed "s/^/   feed $channel: /" "$tmp/feed-$channel.log" >&2
	done
	exit 1
fi
# Every feeder must have finished its epochs, and cleanly.
for pid in $feeders; do
	if ! wait "$pid"; then
		echo "   a feeder failed:" >&2
		cat "$tmp"/feed-*.log >&2
		exit 1
	fi
done
feeders=
printf '   epoch counters: training %s, validation %s\n' \
	"$(cat "$pipes/state/.training-pipe_mode-state")" \
	"$(cat "$pipes/state/.validation-pipe_mode-state")"

file=$tmp/data/train/part-0000.tfrecord
echo "== 4. the files are plain TFRecord: 'pipemode ls' and 'count' read them"
echo "   first records of part-0000.tfrecord (index, length, crc32c):"
"$tool" ls "$file" | head -n 3 | sed 's/^/     /'
printf '   count: '
"$tool" count "$file"
"$example" "$file" | sed 's/^/   /'

echo "== 5. one flipped byte is caught, with where it happened"
cp "$file" "$tmp/corrupt.tfrecord"
n=$("$tool" count "$file" | cut -f 1)
k=$((n / 2))
# Record k starts after k records of 16 bytes of framing each; its payload
# 12 bytes later.  Invert the sixth payload byte, inside the features.
offset=$("$tool" ls "$file" |
	awk -F '\t' -v k="$k" 'NR <= k { sum += $2 + 16 } END { print sum + 12 + 5 }')
byte=$(od -An -tu1 -j "$offset" -N 1 "$file" | tr -d ' ')
# shellcheck disable=SC2059 # the format is the octal escape
printf "\\$(printf '%03o' $((byte ^ 255)))" |
	dd of="$tmp/corrupt.tfrecord" bs=1 seek="$offset" conv=notrunc \
		2>/dev/null
echo "   byte $offset (in record $k) changed from $byte to $((byte ^ 255))"
if "$tool" count "$tmp/corrupt.tfrecord" 2>"$tmp/err"; then
	echo "   the corruption was not detected" >&2
	exit 1
fi
sed 's/^/   /' "$tmp/err"
echo "== done"
