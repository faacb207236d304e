#!/bin/sh
# make lint: static checks that must stay clean (CI runs this; < 1 min).
#   1. cppcheck over the appliance's C sources (not tests/ or bench/), with
#      tools/cppcheck/openpca.cfg and the reasoned suppressions in
#      tools/cppcheck/suppressions.txt;
#   2. grep rules over every tracked .c/.h file, comments and strings left
#      out: the banned functions of ../shared/STYLE.md, and internal headers
#      (<dir>/<x>_int.h) included only from their own folder (tests/ aside;
#      known exceptions in tools/lint/int_h.allow), and DER tag/length
#      decoding only in x509/ (tests/ and bench/ aside; reasoned exceptions
#      in tools/lint/der.allow), and a module's "../<module>/" includes
#      only those tools/lint/layers allows (exceptions with reasons in
#      tools/lint/layers.allow), each list within the Makefile's MOD_DEPS;
#   3. the format check (.clang-format) over every tracked .c/.h file but
#      the generated api/model.c (`make format` applies it).
# Prints one line per finding and a closing "lint: N problems".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
problems=0
JOBS=${LINT_JOBS:-2}

FILES=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' |
    sed 's|^\./||' | grep -v '^build')
# the appliance's sources: every folder of C files but tests/ and bench/
SRC_DIRS=$(printf '%s\n' $FILES | grep -v '^tests/\|^bench/' | grep '/' |
    sed 's|/.*||' | sort -u)

echo "== cppcheck ($(echo $SRC_DIRS | wc -w) folders)"
if ! command -v cppcheck >/dev/null; then
	echo "lint: cppcheck missing (make deps installs it)"
	problems=$((problems + 1))
else
	out=$(cppcheck -j"$JOBS" --quiet --std=c11 -D_GNU_SOURCE \
	    --enable=warning,portability,performance \
	    --library=posix --library=gnu --library=openssl \
	    --library=libcurl --library=tools/cppcheck/openpca.cfg \
	    --suppressions-list=tools/cppcheck/suppressions.txt \
	    --inline-suppr --error-exitcode=0 \
	    --template='{file}:{line}: cppcheck {severity}/{id}: {message}' \
	    $SRC_DIRS 2>&1)
	if [ -n "$out" ]; then
		printf '%s\n' "$out"
		problems=$((problems + $(printf '%s\n' "$out" | grep -c ': cppcheck ')))
	fi
fi

echo "== grep rules"
# shellcheck disable=SC2086
out=$(python3 - tools/lint/int_h.allow tools/lint/der.allow \
    tools/lint/layers tools/lint/layers.allow Makefile $FILES <<'PY'
import os, re, sys

BANNED = re.compile(r'\b(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|'
                    r'atoi|atol|atoll|gets|system|popen|alloca)\s*\(')
INCL = re.compile(r'^\s*#\s*include\s+"([^"]*_int\.h)"', re.M)
MODINC = re.compile(r'^\s*#\s*include\s+"\.\./([a-z0-9_]+)/', re.M)
STRIP = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'
                   r"'(?:\\.|[^'\\\n])*'", re.S)

# DER tag/length decoding (x509/ is the one reader): a length-of-length or
# tag-number octet masked with 0x7f (not a sign bit cleared before an OR),
# the high-tag-number test, the short-form test on the octet after a tag,
# the indefinite-length test.
DER = re.compile(r'&\s*0x7f\b(?!\s*\)\s*\|)|[!=]=\s*0x1f\b|'
                 r'\[\s*1\s*\]\s*(?:<|>=|==)\s*0x80\b|'
                 r'(?:\]|\b[a-z]+)\s*==\s*0x80\b')

# the rule must keep catching the shapes the old hand-written readers had
for probe in ('k = p[1] & 0x7f;', 'if ((q[0] & 0x1f) == 0x1f)',
              'if (p[1] < 0x80) {', 'if (n == 0x80)'):
    if not DER.search(probe):
        print('tools/lint.sh: the DER rule misses "%s"' % probe)
for probe in ('s[0] = (s[0] & 0x7f) | 0x01;', 'if ((c & 0xc0) != 0x80)'):
    if DER.search(probe):
        print('tools/lint.sh: the DER rule flags "%s"' % probe)

def blank(m):
    # keep line breaks (and "#include" names) so line numbers stay right
    t = m.group(0)
    return t if t.startswith('"') and t.endswith('_int.h"') else \
        re.sub(r'[^\n]', ' ', t)

allow = set()
for line in open(sys.argv[1]):
    line = line.split('#', 1)[0].split()
    if len(line) == 2:
        allow.add(tuple(line))
der_allow = {}
for line in open(sys.argv[2]):
    line = line.split('#', 1)[0].split(None, 1)
    if len(line) == 2:
        der_allow[line[0]] = line[1].strip()
layers = {}
for line in open(sys.argv[3]):
    line = line.split('#', 1)[0]
    if ':' in line:
        m, deps = line.split(':', 1)
        layers[m.strip()] = set(deps.split())
layers_allow = {}
for line in open(sys.argv[4]):
    line = line.split('#', 1)[0].split(None, 2)
    if len(line) == 3:
        layers_allow[(line[0], line[1])] = line[2].strip()
mod_deps = {}
for m in re.finditer(r'^MOD_DEPS_([a-z0-9_]+)\s*:=([^\n]*)$',
                     open(sys.argv[5]).read(), re.M):
    mod_deps[m.group(1)] = set(m.group(2).split())
for m in sorted(layers):
    if m not in mod_deps:
        print('tools/lint/layers: module %s has no MOD_DEPS_%s in the '
              'Makefile' % (m, m))
        continue
    for d in sorted(layers[m] - mod_deps[m]):
        print('tools/lint/layers: %s may include %s but MOD_DEPS_%s does '
              'not link it' % (m, d, m))
layers_seen = set()
der_seen = set()
seen = set()
for f in sys.argv[6:]:
    try:
        text = open(f, encoding='utf-8', errors='replace').read()
    except OSError:
        continue
    code = STRIP.sub(blank, text)
    for m in BANNED.finditer(code):
        ln = code.count('\n', 0, m.start()) + 1
        print('%s:%d: banned function %s() (STYLE.md "Banned functions")'
              % (f, ln, m.group(1)))
    if f.startswith('tests/'):
        continue
    if not f.startswith('x509/') and not f.startswith('bench/'):
        for m in DER.finditer(code):
            if f in der_allow:
                der_seen.add(f)
                continue
            ln = code.count('\n', 0, m.start()) + 1
            print('%s:%d: DER tag/length decoding outside x509/ (use '
                  'x509_der_next, x509/x509.h)' % (f, ln))
    mod = f.split('/', 1)[0]
    for m in MODINC.finditer(text) if mod in layers else ():
        dep = m.group(1)
        if dep == mod or dep in layers[mod]:
            continue
        if (f, dep) in layers_allow:
            layers_seen.add((f, dep))
            continue
        ln = text.count('\n', 0, m.start(1)) + 1
        print('%s:%d: %s/ includes %s/, against tools/lint/layers (STYLE.md '
              '"Who may call whom")' % (f, ln, mod, dep))
    for m in INCL.finditer(code):
        h = m.group(1)
        here = os.path.dirname(f) or '.'
        if os.path.normpath(os.path.join(here, os.path.dirname(h))) == \
                os.path.normpath(here):
            continue
        if (f, h) in allow:
            seen.add((f, h))
            continue
        ln = code.count('\n', 0, m.start(1)) + 1
        print('%s:%d: internal header %s included from outside its folder'
              % (f, ln, h))
for f in sorted(set(der_allow) - der_seen):
    print('note: tools/lint/der.allow: "%s" decodes no DER any more; '
          'delete the line' % f)
for f, d in sorted(set(layers_allow) - layers_seen):
    print('note: tools/lint/layers.allow: "%s %s" no longer occurs; '
          'delete the line' % (f, d))
for f, h in sorted(allow - seen):
    print('note: tools/lint/int_h.allow: "%s %s" no longer occurs; '
          'delete the line' % (f, h))
PY
)
if [ -n "$out" ]; then
	printf '%s\n' "$out"
	problems=$((problems + $(printf '%s\n' "$out" | grep -vc '^note: ')))
fi

echo "== format (.clang-format)"
if command -v clang-format >/dev/null; then
	n=0
	t=0
	for f in $(printf '%s\n' $FILES | grep -v '^api/model\.c$'); do
		t=$((t + 1))
		if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
			echo "$f: differs from .clang-format (make format)"
			n=$((n + 1))
		fi
	done
	echo "format: $n of $t files differ from .clang-format"
	problems=$((problems + n))
else
	echo "format: clang-format missing, not checked"
	problems=$((problems + 1))
fi

echo "lint: $problems problems"
[ "$problems" -eq 0 ]
