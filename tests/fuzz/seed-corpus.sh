#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Write the seed inputs of tests/fuzz/corpus/<harness>/ from tests/data/
# (and a few made here), each with the control bytes its harness reads
# first (fuzz_common.h, fuzz_options.c, fuzz_writer.c).  The result is
# committed: `make check` replays it, and `make fuzz` starts from it.
#
# Usage: seed-corpus.sh PIPEMODE_TOOL DATA_DIR CORPUS_DIR
#   (or `make -C tests/fuzz seed-corpus` after `make`)
# Needs gzip and python3 (for raw zlib streams).
# The control bytes are printf formats on purpose:
# shellcheck disable=SC2059
set -eu
tool=${1:?pipemode tool}
data=${2:?tests/data directory}
corpus=${3:?corpus directory}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# seed HARNESS NAME CONTROL_BYTES FILE: the control bytes (printf format),
# then the file.
seed() {
	mkdir -p "$corpus/$1"
	{ printf "$3"; cat "$4"; } > "$corpus/$1/$2"
}

# Two ways to read each stream: whole with pipemode_next and a 4K buffer;
# in random chunks of up to 16 bytes, in batches of up to 6.
# reader HARNESS NAME FILE [CHOICE]: CHOICE is c1's top two bits.
reader() {
	choice=${4:-0}
	seed "$1" "$2" "\\000\\$(printf '%03o' $((choice << 6)))" "$3"
	seed "$1" "$2.chunked" "\\015\\$(printf '%03o' $((choice << 6 | 0x35)))" "$3"
}

rm -rf "$corpus"
mkdir -p "$corpus"

# Streams made here.
head -c 64 "$data/tfx_FeatureStats_eval.pb" > "$tmp/not_tfrecord"
head -c 1024 "$data/MANIFEST.tsv" > "$tmp/manifest.txt"
printf 'one\r\ntwo\n\n\r\nlast line without newline' > "$tmp/crlf.txt"
gzip -n -c "$data/dmlc_sample.rec" > "$tmp/dmlc_sample.rec.gz"
gzip -n -c "$tmp/manifest.txt" > "$tmp/manifest.txt.gz"
gzip -n -c "$data/beam_foo.tfrecord" > "$tmp/two_members.gz"
gzip -n -c "$data/beam_foo_bar.tfrecord" >> "$tmp/two_members.gz"
gzip -n -c "$data/mlio_split_records.pr" > "$tmp/mlio_split.pr.gz"
printf 'alpha\nbeta\ngamma\n' | "$tool" write -c zlib > "$tmp/lines.tfrecord.zlib"
"$tool" write -f recordio -c zlib "$data/beam_foo.tfrecord" "$data/MANIFEST.tsv" \
	> "$tmp/files.rec.zlib"
python3 -c 'import sys, zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))' \
	< "$tmp/manifest.txt" > "$tmp/manifest.txt.zlib"
printf 'a\nb\n' | "$tool" write -c gzip > "$tmp/lines.tfrecord.gz"

for f in beam_foo.tfrecord beam_foo_bar.tfrecord lingvo_en_fr.tfrecord \
	magenta_tfrecord_iterator_test.tfrecord smtfext_100.tfrecords \
	tfeco_part-m-00000 torchdata_example.tfrecord; do
	reader tfrecord "$f" "$data/$f"
done
reader tfrecord not_tfrecord "$tmp/not_tfrecord"

for f in dmlc_sample.rec mlio_complete_records.pr mlio_split_records.pr \
	mlio_corrupted_split_records.pr xgb_train.pb xgb_inline_target1.pbr \
	xgb_inline_target2.pbr xgb_inline_target3.pbr; do
	reader recordio_concat "$f" "$data/$f"
	reader recordio_dmlc "$f" "$data/$f"
done

reader lines manifest.txt "$tmp/manifest.txt"
reader lines crlf.txt "$tmp/crlf.txt"
seed lines crlf.txt.strip_cr '\200\000' "$tmp/crlf.txt"

for f in beam_foo_bar.tfrecord smtfext_100.tfrecords dmlc_sample.rec \
	mlio_split_records.pr xgb_inline_target2.pbr; do
	reader auto "$f" "$data/$f"
done
reader auto not_tfrecord "$tmp/not_tfrecord"
reader auto manifest.txt "$tmp/manifest.txt"

# Filters: CHOICE picks the format (0 tfrecord, 1 recordio, 2 lines, 3 auto).
reader gzip tfeco_zipped.gz "$data/tfeco_zipped_part-m-00000.gz" 0
reader gzip tfx_penguin_eval.gz "$data/tfx_penguin_eval.gz" 0
reader gzip two_members.gz "$tmp/two_members.gz" 0
reader gzip dmlc_sample.rec.gz "$tmp/dmlc_sample.rec.gz" 1
reader gzip manifest.txt.gz "$tmp/manifest.txt.gz" 2
reader gzip mlio_split.pr.gz "$tmp/mlio_split.pr.gz" 3
reader zlib lines.tfrecord.zlib "$tmp/lines.tfrecord.zlib" 0
reader zlib files.rec.zlib "$tmp/files.rec.zlib" 1
reader zlib manifest.txt.zlib "$tmp/manifest.txt.zlib" 2
reader zlib files.rec.zlib.auto "$tmp/files.rec.zlib" 3
reader compression_auto tfeco_zipped.gz "$data/tfeco_zipped_part-m-00000.gz" 0
reader compression_auto lines.tfrecord.zlib "$tmp/lines.tfrecord.zlib" 0
reader compression_auto smtfext_100.tfrecords "$data/smtfext_100.tfrecords" 0
reader compression_auto dmlc_sample.rec.gz "$tmp/dmlc_sample.rec.gz" 1
reader compression_auto manifest.txt.zlib "$tmp/manifest.txt.zlib" 2
reader compression_auto mlio_split.pr.gz "$tmp/mlio_split.pr.gz" 3
reader compression_auto lines.tfrecord.gz "$tmp/lines.tfrecord.gz" 3

# readahead: CHOICE picks the format as for the filters; one stream larger
# than the 4K ring.
cat "$data/smtfext_100.tfrecords" "$data/smtfext_100.tfrecords" \
	"$data/smtfext_100.tfrecords" > "$tmp/smtfext_300.tfrecords"
reader readahead smtfext_300.tfrecords "$tmp/smtfext_300.tfrecords" 0
reader readahead dmlc_sample.rec "$data/dmlc_sample.rec" 1
reader readahead manifest.txt "$tmp/manifest.txt" 2
reader readahead mlio_split_records.pr "$data/mlio_split_records.pr" 3

# plugin: c0, a script length, the script (op, a, b triples), the stream.
plug() {
	mkdir -p "$corpus/plugin"
	{ printf "$2"; cat "$3"; } > "$corpus/plugin/$1"
}
plug lawful '\000\000' "$tmp/crlf.txt"
plug records_taken_needs '\005\017\000\003\001\001\002\000\002\005\000\000\001\004\002\000\000' "$tmp/crlf.txt"
plug breaches '\002\014\360\000\000\361\000\000\362\000\000\006\001\000' "$tmp/crlf.txt"
plug auto_sniff_yes '\010\006\002\000\000\004\003\000' "$tmp/crlf.txt"

# Options: a control byte (stream, writer too, cuts), then the string.
opt() {
	mkdir -p "$corpus/options"
	{ printf "$2"; printf '%s' "$3"; } > "$corpus/options/$1"
}
opt empty '\004' ''
opt tfrecord '\004' 'format=tfrecord,verify_crc=1,max_record_size=64M'
opt recordio '\005' 'format=RecordIO,recordio_multipart=dmlc,skip_corrupt=3'
opt lines '\016' 'format=TextLine,strip_cr=yes,buffer_size=4K,timing=on'
opt gzip '\007' 'compression=gzip,format=auto,name=a\,b\\c'
opt auto '\003' 'compression=auto,format=auto,pipe_size=0,verify_crc=false'
opt writer '\004' 'format=recordio,compression=zlib,compression_level=9,buffer_size=8K'
opt channel_only '\000' 'epoch=3,open_timeout=0.5'
opt bad_value '\004' 'max_record_size=12Q'
opt unknown_key '\006' 'strip_cr=1,colour=blue'

# Writer: c0 c1, then records as op, 16-bit length, bytes.
wr() {
	mkdir -p "$corpus/writer"
	printf "$2" > "$corpus/writer/$1"
}
wr tfrecord '\000\000\000\003\000foo\200\000\000\003\005\000hello'
wr recordio_dmlc_magic '\002\010\000\014\000\012\043\327\316abcd\012\043\327\316\001\004\000\012\043\327\316'
wr gzip_flush_4k '\365\003\017\130\002'"$(head -c 600 "$data/MANIFEST.tsv" | tr -d '\\%')"
wr zlib_level0_auto '\110\035\000\002\000hi\000\000\000'
wr recordio_auto '\001\021\000\005\000whole\001\001\000x'
echo "seed-corpus: $(find "$corpus" -type f | wc -l) inputs in $corpus"
