#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# pipemode.h compiles alone as C99 with -pedantic -Werror and as C++, and the
# version macros agree with the library loaded at run time.
set -eu
: "${top_builddir:?}" "${top_srcdir:?}"
CC=${CC:-cc}
CXX=${CXX:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

cat > "$tmp/alone.c" <<'C'
#include <pipemode.h>
int main(void) { return pipemode_version_number() == PIPEMODE_VERSION_NUMBER ? 0 : 1; }
C
if $CC -std=c99 -pedantic -Werror -Wall -Wextra -I"$top_srcdir/include" \
	-c "$tmp/alone.c" -o "$tmp/alone.o" 2>"$tmp/err"; then
	echo "ok - pipemode.h compiles alone as C99 -pedantic -Werror"
else
	echo "not ok - pipemode.h as C99:"; cat "$tmp/err"; fail=1
fi

cp "$tmp/alone.c" "$tmp/alone.cc"
if command -v "$CXX" >/dev/null 2>&1; then
	if $CXX -std=c++11 -pedantic -Werror -Wall -Wextra -I"$top_srcdir/include" \
		-c "$tmp/alone.cc" -o "$tmp/alone_cc.o" 2>"$tmp/err"; then
		echo "ok - pipemode.h compiles as C++11 -pedantic -Werror"
	else
		echo "not ok - pipemode.h as C++:"; cat "$tmp/err"; fail=1
	fi
else
	echo "not ok - no C++ compiler ($CXX)"; fail=1
fi

# The header needs nothing from config.h.
if grep -n 'config\.h\|HAVE_' "$top_srcdir/include/pipemode.h"; then
	echo "not ok - pipemode.h refers to config.h or HAVE_ macros"; fail=1
else
	echo "ok - pipemode.h is independent of config.h"
fi

cat > "$tmp/version.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <pipemode.h>
int main(void)
{
	if (pipemode_version_number() != PIPEMODE_VERSION_NUMBER) {
		printf("number %u != %d\n", pipemode_version_number(), PIPEMODE_VERSION_NUMBER);
		return 1;
	}
	if (strcmp(pipemode_version_string(), PIPEMODE_VERSION_STRING) != 0) {
		printf("string %s != %s\n", pipemode_version_string(), PIPEMODE_VERSION_STRING);
		return 1;
	}
	return 0;
}
C
if $CC -I"$top_srcdir/include" "$tmp/version.c" -o "$tmp/version" \
	-L"$top_builddir/lib/.libs" -lpipemode 2>"$tmp/err" &&
	LD_LIBRARY_PATH="$top_builddir/lib/.libs" "$tmp/version"; then
	echo "ok - PIPEMODE_VERSION_* equal the loaded library's version"
else
	echo "not ok - version macros and library disagree"; cat "$tmp/err"; fail=1
fi

# And the package version configure was given is the header's.
pkgver=$(sed -n 's/^AC_INIT(\[libpipemode\], \[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
hdrver=$(sed -n 's/^#define PIPEMODE_VERSION_STRING "\(.*\)"/\1/p' "$top_srcdir/include/pipemode.h")
if [ "$pkgver" = "$hdrver" ]; then
	echo "ok - configure.ac and pipemode.h both say $hdrver"
else
	echo "not ok - configure.ac says '$pkgver', pipemode.h says '$hdrver'"; fail=1
fi
exit $fail
