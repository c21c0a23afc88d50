#!/bin/sh
# Renders one of the declarative config templates next to this script into a file Kong loads,
# filling the ${{ env "DECK_<NAME>" }} placeholders from the environment variable <NAME>.
#
#   render-config.sh [-t TEMPLATE] [-o OUTPUT] [-- COMMAND [ARG...]]
#
# KONG_CONFIG_MODE picks the template: unset -> kong.yml, traditional -> kong-traditional.yml,
# managed -> kong-managed.yml (-t overrides it). Without -o the result goes to stdout. With -o it is
# written with mode 0600 (it holds secrets) and then COMMAND, if given, replaces this shell with
# KONG_DECLARATIVE_CONFIG set to OUTPUT, so the script can sit in front of Kong's own entrypoint.
#
# Comment lines are copied as they are. Strings become double-quoted YAML with \ and " escaped;
# control characters (newlines) are refused. Integers and booleans are checked. Errors name the
# variable, never its value.
set -eu

me=render-config
die() { printf '%s: %s\n' "$me" "$1" >&2; exit "${2:-1}"; }

template=
output=
while [ $# -gt 0 ]; do
    case $1 in
        -t) [ $# -ge 2 ] || die "-t needs a file" 2; template=$2; shift 2 ;;
        -o) [ $# -ge 2 ] || die "-o needs a file" 2; output=$2; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; break ;;
        *) die "unknown argument: $1 (see -h)" 2 ;;
    esac
done

if [ -z "$template" ]; then
    case $0 in */*) dir=${0%/*} ;; *) dir=. ;; esac
    case ${KONG_CONFIG_MODE:-} in
        '') template=$dir/kong.yml ;;
        traditional) template=$dir/kong-traditional.yml ;;
        managed) template=$dir/kong-managed.yml ;;
        *) die "KONG_CONFIG_MODE must be traditional or managed" 2 ;;
    esac
fi
[ -r "$template" ] || die "cannot read template $template" 2

# Required whatever the template: a gateway must never start with a secret anyone can read here.
[ -n "${AWS_MASKER_TOKEN_SECRET:-}" ] ||
    die "AWS_MASKER_TOKEN_SECRET is required (make one with: openssl rand -base64 48)"

render() {
    awk '
    function fail(msg) { printf "render-config: %s\n", msg > "/dev/stderr"; failed = 1; exit 1 }
    function isset(name) { return (name in ENVIRON) && ENVIRON[name] != "" }
    function value(name) { return isset(name) ? ENVIRON[name] : dflt[name] }
    function quote(name, v,    out, k, c) {
        out = ""
        for (k = 1; k <= length(v); k++) {
            c = substr(v, k, 1)
            if (c in ctl) fail(name " must not contain newlines or other control characters")
            if (c == "\\") out = out "\\\\"
            else if (c == "\"") out = out "\\\""
            else out = out c
        }
        return "\"" out "\""
    }
    function render(name,    v) {
        if (!(name in type)) fail("the template names an unknown variable " name)
        v = value(name)
        if (type[name] == "string") {
            if (v == "") fail(name " is required")
            return quote(name, v)
        }
        if (type[name] == "nullable") return v == "" ? "null" : quote(name, v)
        if (type[name] == "port") {
            if (v !~ /^[0-9]+$/ || length(v) > 5 || v + 0 < 1 || v + 0 > 65535)
                fail(name " must be an integer 1..65535")
            return v + 0
        }
        v = tolower(v)
        if (v != "true" && v != "false") fail(name " must be true or false")
        return v
    }
    BEGIN {
        for (i = 1; i < 32; i++) ctl[sprintf("%c", i)] = 1
        ctl[sprintf("%c", 127)] = 1
        type["AWS_MASKER_TOKEN_SECRET"] = "string"
        type["REDIS_HOST"] = "string";           dflt["REDIS_HOST"] = "127.0.0.1"
        type["REDIS_PORT"] = "port";             dflt["REDIS_PORT"] = "6379"
        type["REDIS_PASSWORD"] = "nullable"
        type["ELASTICACHE_HOST"] = "string"
        type["ELASTICACHE_PORT"] = "port";       dflt["ELASTICACHE_PORT"] = "6379"
        type["ELASTICACHE_AUTH_TOKEN"] = "nullable"
        type["ELASTICACHE_USER"] = "nullable"
        type["ELASTICACHE_CLUSTER_MODE"] = "bool"; dflt["ELASTICACHE_CLUSTER_MODE"] = "false"
        type["ELASTICACHE_CLUSTER_ENDPOINT"] = "nullable"
        type["ELASTICACHE_SSL_ENABLED"] = "bool";  dflt["ELASTICACHE_SSL_ENABLED"] = "true"
        opening = "${{ env \"DECK_"; closing = "\" }}"
    }
    # First pass: which variables the template uses, so the cross-field rules apply only to them.
    FNR == NR {
        if ($0 ~ /^[ \t]*#/) next
        rest = $0
        while ((i = index(rest, opening)) > 0) {
            rest = substr(rest, i + length(opening))
            used[substr(rest, 1, index(rest, closing) - 1)] = 1
        }
        next
    }
    !checked {
        checked = 1
        if (("ELASTICACHE_CLUSTER_MODE" in used) && tolower(value("ELASTICACHE_CLUSTER_MODE")) == "true" &&
            value("ELASTICACHE_CLUSTER_ENDPOINT") == "")
            fail("ELASTICACHE_CLUSTER_MODE=true requires ELASTICACHE_CLUSTER_ENDPOINT")
        if (("ELASTICACHE_CLUSTER_ENDPOINT" in used) && value("ELASTICACHE_CLUSTER_ENDPOINT") != "" &&
            tolower(value("ELASTICACHE_CLUSTER_MODE")) != "true")
            fail("ELASTICACHE_CLUSTER_ENDPOINT requires ELASTICACHE_CLUSTER_MODE=true")
        if (("ELASTICACHE_USER" in used) && value("ELASTICACHE_USER") != "" && value("ELASTICACHE_AUTH_TOKEN") == "")
            fail("ELASTICACHE_USER requires ELASTICACHE_AUTH_TOKEN")
        if (("ELASTICACHE_AUTH_TOKEN" in used) && value("ELASTICACHE_AUTH_TOKEN") != "" &&
            tolower(value("ELASTICACHE_SSL_ENABLED")) == "false")
            print "render-config: warning: ElastiCache accepts AUTH only with in-transit encryption (ELASTICACHE_SSL_ENABLED=true)" > "/dev/stderr"
    }
    /^[ \t]*#/ { print; next }
    {
        line = $0; out = ""
        while ((i = index(line, opening)) > 0) {
            out = out substr(line, 1, i - 1)
            line = substr(line, i + length(opening))
            j = index(line, closing)
            if (j == 0) fail("unterminated placeholder on line " FNR)
            out = out render(substr(line, 1, j - 1))
            line = substr(line, j + length(closing))
        }
        print out line
    }
    END { if (failed) exit 1 }
    ' "$template" "$template"
}

[ ${#AWS_MASKER_TOKEN_SECRET} -ge 32 ] || die "AWS_MASKER_TOKEN_SECRET must be at least 32 characters (make one with: openssl rand -base64 48)"

if [ -z "$output" ]; then
    [ $# -eq 0 ] || die "a command needs -o OUTPUT" 2
    # Rendered whole first, so a failure prints nothing but the error.
    doc=$(render) || exit 1
    printf '%s\n' "$doc"
    exit 0
fi

case $output in */*) mkdir -p "${output%/*}" ;; esac
tmp=$output.tmp.$$
trap 'rm -f "$tmp"' EXIT
( umask 077 && render > "$tmp" ) || exit 1
mv -f "$tmp" "$output"
trap - EXIT
# The command is Kong's entrypoint: it loads what was just rendered.
KONG_DECLARATIVE_CONFIG=$output
export KONG_DECLARATIVE_CONFIG
[ $# -eq 0 ] || exec "$@"
