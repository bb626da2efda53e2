#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# make bench-instructions: instructions per record of every pminstr
# scenario, counted by callgrind (not by a clock, so the figures repeat
# exactly on one machine and toolchain), against the expectation file.
# Exits 1 when any scenario costs more than 10% over its expectation.
#
#   instructions.sh [--update] PMINSTR EXPECTED
#
# --update writes the counts as the new expectation (after a deliberate
# change; commit the file with the change that explains it).
#
# Environment: VALGRIND (default: valgrind from PATH), TOLERANCE (percent,
# default 10).
set -u

update=0
if [ "${1:-}" = "--update" ]; then
	update=1
	shift
fi
if [ $# -ne 2 ]; then
	echo "usage: instructions.sh [--update] PMINSTR EXPECTED" >&2
	exit 2
fi
pminstr=$1
expected=$2
valgrind=${VALGRIND:-}
[ -n "$valgrind" ] || valgrind=$(command -v valgrind || true)
tolerance=${TOLERANCE:-10}

if [ -z "$valgrind" ]; then
	echo "bench-instructions: valgrind not found (apt-get install valgrind," >&2
	echo "then re-run configure): cannot count instructions" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pminstr.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

results=$tmp/results
: >"$results"
for sc in $("$pminstr" --list); do
	out=$tmp/callgrind.$sc
	# Collect inside pminstr_loop, except inside pminstr_source (the
	# second toggle turns collection off on its way in, on on its way out).
	if ! line=$("$valgrind" --tool=callgrind --toggle-collect=pminstr_loop \
		--toggle-collect=pminstr_source \
		--callgrind-out-file="$out" "$pminstr" "$sc" 2>"$tmp/log"); then
		cat "$tmp/log" >&2
		echo "bench-instructions: $sc failed under valgrind" >&2
		exit 1
	fi
	records=$(echo "$line" | awk '{print $2}')
	# "totals:" (or "summary:" from older callgrinds) is the Ir collected.
	ir=$(awk '/^(totals|summary):/ {print $2; exit}' "$out")
	if [ -z "$ir" ] || [ -z "$records" ] || [ "$records" -eq 0 ]; then
		echo "bench-instructions: no count for $sc" >&2
		exit 1
	fi
	echo "$sc $records $ir" >>"$results"
done

if [ $update -eq 1 ]; then
	# Scenarios this build does not run (the other inflate's) keep
	# their expectation.
	awk 'FNR == NR { seen[$1] = 1; next }
	     !/^#/ && NF == 2 && !($1 in seen)' "$results" "$expected" \
		>"$tmp/kept" 2>/dev/null || : >"$tmp/kept"
	{
		echo "# Instructions per record counted by callgrind (make bench-instructions)."
		echo "# Machine-dependent: $(uname -m), $("$valgrind" --version),"
		echo "# ${CC:-cc}: $(${CC:-cc} --version 2>/dev/null | head -n 1)."
		echo "# Regenerate after a deliberate change: make -C bench bench-instructions-update"
		echo "# scenario instructions/record"
		awk '{ printf "%s %.1f\n", $1, $3 / $2 }' "$results"
		cat "$tmp/kept"
	} >"$tmp/expected"
	mv "$tmp/expected" "$expected"
	echo "bench-instructions: wrote $expected"
	cat "$expected"
	exit 0
fi

# scenario records Ir -> report against the expectation.
awk -v tol="$tolerance" -v expfile="$expected" '
BEGIN {
	while ((getline line < expfile) > 0) {
		if (line ~ /^#/ || line ~ /^[ \t]*$/) continue
		split(line, f, " ")
		want[f[1]] = f[2]
	}
	printf "%-24s %10s %12s %12s %8s  %s\n", "scenario", "records",
		"expected", "now", "change", "verdict"
	bad = 0
}
{
	per = $3 / $2
	if (!($1 in want)) {
		printf "%-24s %10d %12s %12.1f %8s  %s\n", $1, $2, "-", per, "-",
			"new (no expectation)"
		next
	}
	chg = (per - want[$1]) / want[$1] * 100
	verdict = "ok"
	if (chg > tol) { verdict = "REGRESSION (> " tol "% worse)"; bad = 1 }
	else if (chg < -tol) verdict = "improved: update the expectation"
	printf "%-24s %10d %12.1f %12.1f %+7.1f%%  %s\n", $1, $2, want[$1], per,
		chg, verdict
}
END {
	if (bad) {
		print "bench-instructions: FAIL: instructions per record grew by " \
			"more than " tol "%"
		exit 1
	}
	print "bench-instructions: ok (instructions per record within " tol \
		"% of " expfile ")"
}' "$results"
