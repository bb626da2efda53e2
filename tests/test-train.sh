#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# examples/train_linear against channels fed by `pipemode feed`: a small
# `make demo`.  The fit must be real: the loss falls to the noise level and
# the weights come out as the data set's true ones.  `make check` runs this
# with top_builddir and top_srcdir set (absolute paths); by hand:
#   top_builddir=BUILD top_srcdir=SRC sh tests/test-train.sh
# Every command that touches a FIFO runs under `timeout 60`, so a feeder or
# reader that never comes fails the test instead of hanging it.
set -eu

: "${top_builddir:?}" "${top_srcdir:?}"
TOOL=$top_builddir/tools/pipemode
TRAIN=$top_builddir/examples/train_linear

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-train.XXXXXX")
feeders=
cleanup() {
	for pid in $feeders; do
		kill "$pid" 2>/dev/null || :
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

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
	echo "#   stderr:"; head -n 10 "$tmp/err" | sed 's/^/#     /'
}

# check DESC CONDITION...: pass when the condition (a command) succeeds.
check() {
	desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

err_has() { grep -F -q -- "$1" "$tmp/err"; }
out_has() { grep -F -q -- "$1" "$tmp/out"; }
status_is() { [ "$st" -eq "$1" ]; }
# less A B: the number A is below B.
less() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# feed CHANNEL EPOCHS PIPE_DIR ARG...: a feeder in the background; its
# status is collected by feeders_ok.
feed() {
	channel=$1 epochs=$2 pipes=$3
	shift 3
	timeout 60 "$TOOL" feed --pipe-dir "$pipes" --channel "$channel" \
		--epochs "$epochs" "$@" >"$tmp/feed-$channel.log" 2>&1 \
		</dev/null &
	feeders="$feeders $!"
}

# feeders_ok: wait for every feeder; true when all exited 0.  Their output
# is shown on failure.
feeders_ok() {
	fok=0
	for pid in $feeders; do
		if wait "$pid"; then :; else
			echo "#   feeder $pid exited $?"
			fok=1
		fi
	done
	feeders=
	if [ "$fok" -ne 0 ]; then
		cat "$tmp"/feed-*.log | sed 's/^/#     feed: /'
	fi
	return "$fok"
}

# stop_feeders: after a failed trainer, whose feeders would wait for it
# until their timeout.
stop_feeders() {
	if [ "$st" -ne 0 ]; then
		for pid in $feeders; do
			kill "$pid" 2>/dev/null || :
		done
	fi
}

# The training loss of epoch N (1-based) in $tmp/out, and the validation
# loss printed on the same line.
train_mse() {
	sed -n "s/^epoch $1 ([^)]*): train mse \\([0-9.e+-]*\\),.*/\\1/p" \
		"$tmp/out"
}
validation_mse() {
	sed -n "s/^epoch $1 ([^)]*): .*; validation mse \\([0-9.e+-]*\\),.*/\\1/p" \
		"$tmp/out"
}

for prog in "$TOOL" "$TRAIN"; do
	if [ ! -x "$prog" ]; then
		echo "not ok - $prog is not built (make && make -C examples check)"
		exit 1
	fi
done

# ------------------------------------------------------------ the data set

st=0
run "$TRAIN" generate --out "$tmp/data" --records 3000 --features 8 \
	--files 3 --validation-records 600 --noise 0.1 --seed 7
check "generate: exits 0" status_is 0
check "generate: writes three training files and one validation file" \
	eval '[ -s "$tmp/data/train/part-0000.tfrecord" ] &&
	      [ -s "$tmp/data/train/part-0001.tfrecord" ] &&
	      [ -s "$tmp/data/train/part-0002.tfrecord" ] &&
	      [ ! -e "$tmp/data/train/part-0003.tfrecord" ] &&
	      [ -s "$tmp/data/validation/part-0000.tfrecord" ]'
check "generate: prints the true model" out_has "true model: b = "
cp "$tmp/out" "$tmp/generate.out"

# 4 + 8 * 4 + 4 = 40 bytes a record, in 56 bytes of TFRecord.
run "$TOOL" count "$tmp/data/train/part-0001.tfrecord"
check "generate: 1000 records of 40 bytes in each training file" \
	eval 'status_is 0 && [ "$(cat "$tmp/out")" = "$(printf "1000\t40000")" ]'

run "$TRAIN" generate --out "$tmp/data2" --records 3000 --features 8 \
	--files 3 --validation-records 600 --noise 0.1 --seed 7
check "generate: the same seed writes the same files" \
	eval 'status_is 0 &&
	      cmp -s "$tmp/data/train/part-0002.tfrecord" "$tmp/data2/train/part-0002.tfrecord" &&
	      cmp -s "$tmp/data/validation/part-0000.tfrecord" "$tmp/data2/validation/part-0000.tfrecord"'

# ------------------------------------- three epochs of two fed channels

pipes=$tmp/pipes
mkdir "$pipes"
feed training 3 "$pipes" "$tmp/data/train"
feed validation 3 "$pipes" "$tmp/data/validation"
run timeout 60 "$TRAIN" train --train-channel training \
	--validation-channel validation --epochs 3 --pipe-dir "$pipes" \
	--state-dir "$pipes/state" --open-timeout 30
stop_feeders
check "train: exits 0" status_is 0
check "feed: both feeders exit 0" feeders_ok
check "train: three epoch lines, on training_0, _1 and _2" \
	eval '[ "$(grep -c "^epoch " "$tmp/out")" -eq 3 ] &&
	      grep -q "^epoch 1 (training_0): train mse " "$tmp/out" &&
	      grep -q "^epoch 2 (training_1): train mse " "$tmp/out" &&
	      grep -q "^epoch 3 (training_2): train mse " "$tmp/out"'
check "train: every epoch reads all 3000 records and 600 for validation" \
	eval '[ "$(grep -c "3000 records, .*; validation mse [0-9.]*, 600 records$" "$tmp/out")" -eq 3 ]'
check "train: throughput and waiting share printed" \
	eval 'grep -q "^epoch 1 .* records/s, [0-9]*% waiting for input" "$tmp/out"'

first=$(train_mse 1)
last=$(train_mse 3)
vlast=$(validation_mse 3)
echo "# train mse: epoch 1 ${first:-?}, epoch 3 ${last:-?}; validation mse ${vlast:-?}"
# The noise has sd 0.1: the best possible mse is 0.01.
check "train: the loss falls from the first epoch to the last" \
	less "${last:-9}" "${first:-0}"
check "train: the last training loss is near the noise level (< 0.02)" \
	less "${last:-9}" 0.02
check "train: the validation loss is printed and near the noise level" \
	eval 'less "${vlast:-9}" 0.02 && less 0.005 "${vlast:-0}"'

# The fitted weights are the true ones, within 0.05.
sed -n 's/^true model: b = \(.*\), w = \[\(.*\)\]$/\1, \2/p' \
	"$tmp/generate.out" >"$tmp/true"
sed -n 's/^model: b = \(.*\), w = \[\(.*\)\]$/\1, \2/p' "$tmp/out" \
	>"$tmp/fitted"
# weights_match: the fitted b and w (9 numbers) are the true ones, within
# 0.05 each.
weights_match() {
	awk -F ', ' '
		NR == FNR { for (i = 1; i <= NF; i++) t[i] = $i; n = NF; next }
		{
			if (NF != n || n != 9)
				exit 1
			for (i = 1; i <= NF; i++) {
				d = $i - t[i]
				if (d > 0.05 || d < -0.05)
					exit 1
			}
			ok = 1
		}
		END { exit !ok }' "$tmp/true" "$tmp/fitted"
}
check "train: the fitted b and w are the data set's true ones" weights_match

check "state: both channels' epoch counters end at 3" \
	eval '[ "$(cat "$pipes/state/.training-pipe_mode-state")" = 3 ] &&
	      [ "$(cat "$pipes/state/.validation-pipe_mode-state")" = 3 ]'

# ------------------------------------------------------ RecordIO, shuffled

run "$TRAIN" generate --out "$tmp/rio" --records 2000 --features 4 \
	--files 4 --format recordio
check "generate --format recordio: writes .recordio files" \
	eval 'status_is 0 && [ -s "$tmp/rio/train/part-0003.recordio" ]'
pipes=$tmp/pipes-rio
mkdir "$pipes"
feed training 2 "$pipes" --shuffle-seed 3 "$tmp/rio/train"
run timeout 60 "$TRAIN" train --epochs 2 --pipe-dir "$pipes" \
	--state-dir "$pipes/state" --open-timeout 30 -O format=recordio \
	--batch-size 1 --learning-rate 0.05
stop_feeders
check "train -O format=recordio: two epochs of shuffled RecordIO files" \
	eval 'status_is 0 && [ "$(grep -c "^epoch .*: train mse .*, 2000 records," "$tmp/out")" -eq 2 ]'
check "feed --shuffle-seed: the feeder exits 0" feeders_ok
check "train --batch-size 1: the last loss is near the noise level" \
	less "$(train_mse 2)" 0.02

# ------------------------------------------------- the environment's dirs

# A regular file in place of the FIFO is read like it: no feeder needed.
mkdir "$tmp/env"
cat "$tmp/data/train"/*.tfrecord >"$tmp/env/training_0"
run env PIPEMODE_PIPE_DIR="$tmp/env" PIPEMODE_STATE_DIR="$tmp/env/state" \
	timeout 60 "$TRAIN" train --epochs 1 --open-timeout 5
check "train: PIPEMODE_PIPE_DIR and PIPEMODE_STATE_DIR are honoured" \
	eval 'status_is 0 && grep -q "^epoch 1 (training_0): train mse .*, 3000 records," "$tmp/out" &&
	      [ "$(cat "$tmp/env/state/.training-pipe_mode-state")" = 1 ]'

# File mode: a directory in place of the FIFO is read file by file.
run timeout 60 "$TRAIN" train --train-channel train \
	--validation-channel validation --epochs 2 --pipe-dir "$tmp/data" \
	--state-dir "$tmp/filemode-state" --open-timeout 5
check "train: File mode, the data set's directories as channels" \
	eval 'status_is 0 && [ "$(grep -c "^epoch .*, 3000 records, .*; validation mse [0-9.]*, 600 records$" "$tmp/out")" -eq 2 ] &&
	      less "$(train_mse 2)" 0.02'

# --------------------------------------------------------------- failures

mkdir "$tmp/none"
started=$(date +%s)
run timeout 60 "$TRAIN" train --epochs 1 --pipe-dir "$tmp/none" \
	--state-dir "$tmp/none/state" --open-timeout 0.5
elapsed=$(($(date +%s) - started))
check "train: no feeder and open_timeout=0.5 exits 1 naming the FIFO" \
	eval 'status_is 1 && err_has "$tmp/none/training_0"'
check "train: ... and gives up within seconds" [ "$elapsed" -lt 10 ]

# A FIFO whose writer never comes.
mkdir "$tmp/nowriter"
mkfifo "$tmp/nowriter/training_0"
run timeout 60 "$TRAIN" train --epochs 1 --pipe-dir "$tmp/nowriter" \
	--state-dir "$tmp/nowriter/state" -O open_timeout=0.5
check "train: a FIFO without a writer, open_timeout=0.5 exits 1 naming it" \
	eval 'status_is 1 && err_has "$tmp/nowriter/training_0"'

# One flipped byte in record 1500 (payload at 1500 * 56 + 12): the library's
# message says where.
mkdir "$tmp/bad"
cat "$tmp/data/train"/*.tfrecord >"$tmp/bad/training_0"
printf '\377\377\377\377' | dd of="$tmp/bad/training_0" bs=1 \
	seek=$((1500 * 56 + 12 + 8)) conv=notrunc 2>/dev/null
run timeout 60 "$TRAIN" train --epochs 1 --pipe-dir "$tmp/bad" \
	--state-dir "$tmp/bad/state" --open-timeout 5
check "train: a corrupt record exits 1 with its index and byte offset" \
	eval 'status_is 1 && err_has "record 1500 at byte 84000: " && err_has "crc32c"'

# Records that are not in the layout: text lines.
mkdir "$tmp/text"
printf 'one\ntwo\n' | "$TOOL" write -f tfrecord -o "$tmp/text/training_0"
run timeout 60 "$TRAIN" train --epochs 1 --pipe-dir "$tmp/text" \
	--state-dir "$tmp/text/state" --open-timeout 5
check "train: a record not in the layout exits 1 naming it" \
	eval 'status_is 1 && err_has "training_0: record 0 at byte 0: 3 bytes"'

# Records of another D than the first.
mkdir "$tmp/mixed"
"$TRAIN" generate --out "$tmp/d4" --records 10 --features 4 >/dev/null
cat "$tmp/data/validation/part-0000.tfrecord" \
	"$tmp/d4/train/part-0000.tfrecord" >"$tmp/mixed/training_0"
run timeout 60 "$TRAIN" train --epochs 1 --pipe-dir "$tmp/mixed" \
	--state-dir "$tmp/mixed/state" --open-timeout 5
check "train: a record with another feature count exits 1" \
	eval 'status_is 1 && err_has "record 600 at byte 33600: D = 4 features where the first record had 8"'

run "$TRAIN" train --no-such-option
check "train: an unknown option exits 2 with the usage" \
	eval 'status_is 2 && err_has "usage:"'
run "$TRAIN" train --epochs 0
check "train: --epochs 0 exits 2" status_is 2
run timeout 60 "$TRAIN" train --pipe-dir "$tmp/env" \
	--state-dir "$tmp/env/state2" -O no_such_key=1 --open-timeout 5
check "train: a bad reader option exits 1 naming the key" \
	eval 'status_is 1 && err_has "no_such_key"'

if [ "$failed" -ne 0 ]; then
	echo "# $failed check(s) failed"
	exit 1
fi
exit 0
