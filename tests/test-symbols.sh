#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The shared library exports exactly the symbols of lib/libpipemode.sym, each
# with the pipemode_ prefix and a version node, and has the SONAME chosen for
# the 1.x ABI (libevdev's symbol-leak check, extended to the SONAME).
set -eu
: "${top_builddir:?}" "${top_srcdir:?}"
NM=${NM:-nm}
so=$top_builddir/lib/.libs/libpipemode.so
fail=0

if [ ! -f "$so" ]; then
	echo "not ok - $so not built"
	exit 1
fi

exported=$($NM -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort)
leaks=$(printf '%s\n' "$exported" | grep -v '^pipemode_[a-z0-9_]*@@PIPEMODE_[0-9.]*$' || true)
if [ -n "$leaks" ]; then
	echo "not ok - symbols without the pipemode_ prefix or a version node:"
	printf '  %s\n' $leaks
	fail=1
else
	echo "ok - every exported symbol is pipemode_* with a version node"
fi

listed=$(sed -n 's/^[[:space:]]*\(pipemode_[a-z0-9_]*\);.*/\1/p' "$top_srcdir/lib/libpipemode.sym" | sort)
names=$(printf '%s\n' "$exported" | sed 's/@.*//' | sort)
if [ "$listed" != "$names" ]; then
	echo "not ok - exports differ from lib/libpipemode.sym:"
	printf '%s\n' "$listed" > sym.listed.tmp
	printf '%s\n' "$names" > sym.names.tmp
	diff sym.listed.tmp sym.names.tmp || true
	rm -f sym.listed.tmp sym.names.tmp
	fail=1
else
	echo "ok - exports match lib/libpipemode.sym ($(printf '%s\n' "$names" | wc -l) symbols)"
fi

# Every function the header declares is exported (none forgotten in the
# version script).
declared=$(sed -n 's/^PIPEMODE_API [^(]*[ *]\(pipemode_[a-z0-9_]*\)(.*/\1/p' \
	"$top_srcdir/include/pipemode.h" | sort)
if [ "$declared" != "$names" ]; then
	echo "not ok - header declarations differ from exports:"
	printf '%s\n' "$declared" > sym.decl.tmp
	printf '%s\n' "$names" > sym.names.tmp
	diff sym.decl.tmp sym.names.tmp || true
	rm -f sym.decl.tmp sym.names.tmp
	fail=1
else
	echo "ok - every function in pipemode.h is exported"
fi

soname=$(objdump -p "$so" 2>/dev/null | awk '$1 == "SONAME" {print $2}')
if [ -z "$soname" ] && command -v readelf >/dev/null 2>&1; then
	soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
fi
if [ "$soname" = libpipemode.so.1 ]; then
	echo "ok - SONAME is libpipemode.so.1"
else
	echo "not ok - SONAME is '$soname', expected libpipemode.so.1"
	fail=1
fi
exit $fail
