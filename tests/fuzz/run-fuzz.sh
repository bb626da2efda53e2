#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# `make fuzz`: build every harness with clang and libFuzzer, ASan and UBSan,
# against the library's sources (compiled into each fuzzer, not the shared
# library), then run each for FUZZ_SECONDS.  Fails if any input crashes.
#
# Run by tests/fuzz/Makefile with these set (absolute paths):
#   srcdir builddir top_srcdir top_builddir CLANG
#   ZLIB_CFLAGS ZLIB_LIBS JANSSON_CFLAGS JANSSON_LIBS
#   ISAL_LIBS (-lisal when configure chose ISA-L's inflate: config.h then
#   makes lib/filter_isal.c the filter, so the fuzzers link it; ISA-L
#   itself is not instrumented)
# and these, which `make fuzz VAR=...` may override:
#   FUZZ_SECONDS    seconds per harness (default 60); 0 only replays the
#                   saved inputs (corpus and regressions)
#   FUZZ_HARNESSES  which harnesses (default: all)
#   FUZZ_JOBS       harnesses run at once (default: the number of CPUs)
#   FUZZ_REQUIRE    1: fail, instead of skipping, without clang/libFuzzer
#   FUZZ_FLAGS      more libFuzzer flags, e.g. -seed=1 or -dict=...
# Everything it makes goes under $builddir/out/: the fuzzers (bin/), the
# corpus each run grows (corpus/<harness>/, kept between runs), the logs
# (log/<harness>.log) and what crashed (crash/<harness>/).
# Lists of words (flags, harnesses, pids) are split on purpose:
# shellcheck disable=SC2086
set -eu

: "${srcdir:?}" "${builddir:?}" "${top_srcdir:?}" "${top_builddir:?}"
CLANG=${CLANG:-}
ISAL_LIBS=${ISAL_LIBS:-}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_HARNESSES=${FUZZ_HARNESSES:-"tfrecord recordio_concat recordio_dmlc lines auto gzip zlib compression_auto readahead plugin options writer"}
FUZZ_JOBS=${FUZZ_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
FUZZ_REQUIRE=${FUZZ_REQUIRE:-0}
FUZZ_FLAGS=${FUZZ_FLAGS:-}

out=$builddir/out

count() { echo $#; }
skip() {
	echo "fuzz: SKIPPED: $*"
	echo "fuzz: (Debian: apt-get install clang libclang-rt-14-dev)"
	if [ "$FUZZ_REQUIRE" = 1 ]; then
		echo "fuzz: FUZZ_REQUIRE=1: failing instead"
		exit 1
	fi
	exit 0
}

# The largest input libFuzzer makes for each harness: enough for a few
# records larger than the 4K read buffer, small enough to run fast.
max_len() {
	case $1 in
	options) echo 2048 ;;
	plugin) echo 4096 ;;
	gzip | zlib | compression_auto) echo 16384 ;;
	*) echo 65536 ;;
	esac
}

# The libFuzzer dictionary of each harness: the magic words it must find.
dict() {
	case $1 in
	options) echo options.dict ;;
	recordio_* | auto) echo recordio.dict ;;
	gzip | zlib | compression_auto) echo compression.dict ;;
	esac
}

# The largest single allocation that is not a finding.  Records are capped
# at 1M, so a reader harness never needs more than a few megabytes; the
# options harness may legitimately ask for buffer_size=1G.
malloc_limit() {
	case $1 in
	options) echo 2048 ;;
	*) echo 256 ;;
	esac
}

[ -n "$CLANG" ] || skip "no clang found by configure"
mkdir -p "$out/bin" "$out/obj" "$out/log"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS_FUZZ="-g -O1 -fno-omit-frame-pointer $SAN"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' \
	> "$out/obj/probe.c"
if ! $CLANG -fsanitize=fuzzer $CFLAGS_FUZZ "$out/obj/probe.c" -o "$out/obj/probe" \
	> "$out/obj/probe.log" 2>&1; then
	cat "$out/obj/probe.log"
	skip "$CLANG cannot build a libFuzzer program"
fi

# The library, instrumented: every lib/*.c, as the shared library is made,
# with config.h from the build tree.  Recompiled when a source, a header or
# config.h is newer than its object.
echo "fuzz: building the library with $CLANG (ASan, UBSan, fuzzer coverage)${ISAL_LIBS:+; inflate: ISA-L}"
CPP_LIB="-DPIPEMODE_BUILDING_LIBRARY -I$top_builddir -I$top_srcdir/include -I$top_srcdir/lib"
objs=
pids=
for src in "$top_srcdir"/lib/*.c; do
	obj=$out/obj/lib_$(basename "$src" .c).o
	objs="$objs $obj"
	stale=0
	if [ ! -f "$obj" ]; then
		stale=1
	else
		for dep in "$src" "$top_srcdir"/lib/*.h "$top_srcdir/include/pipemode.h" \
			"$top_builddir/config.h"; do
			if [ -n "$(find "$dep" -newer "$obj" 2>/dev/null)" ]; then
				stale=1
			fi
		done
	fi
	[ "$stale" = 1 ] || continue
	$CLANG $CFLAGS_FUZZ -fsanitize=fuzzer-no-link $CPP_LIB $ZLIB_CFLAGS \
		$JANSSON_CFLAGS -c "$src" -o "$obj" &
	pids="$pids $!"
	if [ "$(count $pids)" -ge "$FUZZ_JOBS" ]; then
		for p in $pids; do wait "$p"; done
		pids=
	fi
done
for p in $pids; do wait "$p"; done
for obj in $objs; do
	[ -f "$obj" ] || { echo "fuzz: FAIL: could not build $obj"; exit 1; }
done

for h in $FUZZ_HARNESSES; do
	extra=
	[ "$h" = options ] && extra="$ZLIB_CFLAGS"
	$CLANG $CFLAGS_FUZZ -fsanitize=fuzzer -I"$top_srcdir/include" -I"$srcdir" \
		$extra "$srcdir/fuzz_$h.c" "$srcdir/fuzz_common.c" $objs \
		$ZLIB_LIBS $ISAL_LIBS $JANSSON_LIBS -lpthread -o "$out/bin/fuzz_$h"
done
echo "fuzz: built $(count $FUZZ_HARNESSES) fuzzers in $out/bin"

# Run them, FUZZ_JOBS at a time.  libFuzzer runs every saved input first,
# so a regression fails at once.
run_one() {
	h=$1
	mkdir -p "$out/corpus/$h" "$out/crash/$h"
	set -- -max_len="$(max_len "$h")" -timeout=30 -rss_limit_mb=2048 \
		-malloc_limit_mb="$(malloc_limit "$h")" -print_final_stats=1 \
		-artifact_prefix="$out/crash/$h/"
	dict=$(dict "$h")
	if [ -n "$dict" ]; then
		set -- "$@" -dict="$srcdir/$dict"
	fi
	if [ "$FUZZ_SECONDS" = 0 ]; then
		set -- "$@" -runs=0
	else
		set -- "$@" -max_total_time="$FUZZ_SECONDS"
	fi
	# libFuzzer adds what it finds to the first directory: the build
	# tree's, never the source tree's.
	set -- "$@" "$out/corpus/$h"
	for d in "$srcdir/corpus/$h" "$srcdir/regressions/$h"; do
		if [ -d "$d" ]; then set -- "$@" "$d"; fi
	done
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ASAN_OPTIONS=detect_leaks=1 \
		"$out/bin/fuzz_$h" $FUZZ_FLAGS "$@" > "$out/log/$h.log" 2>&1
}

echo "fuzz: running $(count $FUZZ_HARNESSES) harnesses, ${FUZZ_SECONDS}s each, $FUZZ_JOBS at a time"
failed=
running=
status_dir=$out/status
rm -rf "$status_dir"
mkdir -p "$status_dir"
for h in $FUZZ_HARNESSES; do
	( if run_one "$h"; then echo 0; else echo 1; fi > "$status_dir/$h" ) &
	running="$running $!"
	if [ "$(count $running)" -ge "$FUZZ_JOBS" ]; then
		# Wait for the oldest: they all run for the same time.
		set -- $running
		wait "$1"
		shift
		running="$*"
	fi
done
for p in $running; do wait "$p"; done

for h in $FUZZ_HARNESSES; do
	log=$out/log/$h.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(sed -n 's/^#[0-9]*.*DONE *cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
	if [ "$(cat "$status_dir/$h")" = 0 ]; then
		echo "fuzz: ok   $h: ${execs:-?} runs, coverage ${cov:-?}, corpus $(find "$out/corpus/$h" -type f | wc -l) inputs"
	else
		failed="$failed $h"
		echo "fuzz: FAIL $h: see $log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz: broken promise|.*runtime error)' "$log" | head -n 5 | sed 's/^/    /'
		for a in "$out/crash/$h"/*; do
			[ -f "$a" ] || continue
			echo "    reproducer: $a"
			echo "    keep it:    cp '$a' $top_srcdir/tests/fuzz/regressions/$h/"
		done
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed"
	exit 1
fi
echo "fuzz: no crash in any harness"
