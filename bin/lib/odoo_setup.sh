# The project's own Odoo 18, for the demo and test commands where python3 imports none (sourced,
# not run; bin/lib/odoo.sh sources it). odoo_setup DIR makes, in DIR (the repository's ignored
# .odoo/):
#   DIR/src    Odoo 18.0's source, a shallow clone of $ODOO_SOURCE (a git URL or a local
#              checkout; Odoo's official repository by default), branch 18.0
#   DIR/venv   a virtual environment of the python3 on PATH with Odoo's requirements, the
#              repository's requirements-test.txt and the source on its path
# Each part is marked complete only at its end (the clone is renamed into place, the environment
# gets a marker file), so that a run interrupted half-way is never taken for a working Odoo: the
# next run makes again what is not complete.

ODOO_DEFAULT_SOURCE=https://github.com/odoo/odoo
ODOO_BRANCH=18.0
# Written last in DIR/venv: the environment is complete.
ODOO_VENV_MARKER=.paybylink-complete

# odoo_setup_ready DIR: true when DIR holds a complete Odoo of the project's own.
odoo_setup_ready() {
    [ -f "$1/venv/$ODOO_VENV_MARKER" ] && [ -x "$1/venv/bin/python3" ] && [ -d "$1/src/odoo" ]
}

# odoo_setup DIR REPO: make DIR/src and DIR/venv (see above). Says what it does step by step and,
# on failure, why in one message; returns non-zero then.
odoo_setup() {
    local dir=$1 repo=$2 started=$SECONDS
    echo "python3 imports no Odoo 18: setting one up for this project in $dir" \
        "(first time only; see README.rst, Quick start)."
    _odoo_setup_check_python || return 1
    _odoo_setup_check_system || return 1
    mkdir -p "$dir" || return 1
    [ -d "$dir/src/odoo" ] || _odoo_setup_clone "$dir" || return 1
    [ -f "$dir/venv/$ODOO_VENV_MARKER" ] || _odoo_setup_venv "$dir" "$repo" || return 1
    echo "Odoo 18 is set up in $dir ($((SECONDS - started)) s); later runs use it at once."
}

# Odoo 18 runs on Python 3.10 to 3.12, and the environment is made with python3's venv module.
_odoo_setup_check_python() {
    local version
    if ! version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); then
        echo "No python3 found: Odoo 18 needs Python 3.10, 3.11 or 3.12 as python3 on PATH." >&2
        return 1
    fi
    case $version in
        3.10 | 3.11 | 3.12) ;;
        *)
            echo "python3 is Python $version; Odoo 18 needs 3.10, 3.11 or 3.12: put one first" \
                "on PATH as python3 (or install Odoo 18 for python3 yourself)." >&2
            return 1
            ;;
    esac
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        _odoo_setup_missing_packages "python$version-venv" || return 1
    fi
}

# What Odoo's requirements need to build (C compiler, headers of libpq, libldap, libsasl and
# Python) and what the commands run (git, PostgreSQL's server, Chromium for the browser tests,
# wkhtmltopdf for PDFs), looked for as files and commands, named in one message.
_odoo_setup_check_system() {
    local missing=() include
    command -v git >/dev/null || missing+=(git)
    command -v gcc >/dev/null || missing+=(build-essential)
    command -v pg_config >/dev/null || [ -f /usr/include/postgresql/libpq-fe.h ] \
        || missing+=(libpq-dev)
    [ -f /usr/include/ldap.h ] || missing+=(libldap2-dev)
    [ -f /usr/include/sasl/sasl.h ] || missing+=(libsasl2-dev)
    include=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    [ -f "$include/Python.h" ] || missing+=(python3-dev)
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
        || missing+=(postgresql)
    command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
        || missing+=(chromium)
    command -v wkhtmltopdf >/dev/null || missing+=(wkhtmltopdf)
    [ ${#missing[@]} -eq 0 ] || _odoo_setup_missing_packages "${missing[@]}"
}

# _odoo_setup_missing_packages PACKAGE...: install them as root in CI, else say how.
_odoo_setup_missing_packages() {
    if [ "$(id -u)" = 0 ] && [ "${CI:-}" = true ] && command -v apt-get >/dev/null; then
        echo "Installing the system packages Odoo needs: $*..."
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
        return
    fi
    echo "Setting up Odoo 18 needs these system packages: $*. On Debian or Ubuntu:" >&2
    echo "    sudo apt-get install $*" >&2
    return 1
}

# _odoo_setup_clone DIR: a shallow clone of branch 18.0 of $ODOO_SOURCE into DIR/src, made
# beside it and renamed at the end.
_odoo_setup_clone() {
    local dir=$1 source=${ODOO_SOURCE:-$ODOO_DEFAULT_SOURCE} url status reason
    url=$source
    # git ignores --depth for a plain path; through file:// a local checkout is cloned shallow too.
    [ -d "$source" ] && url="file://$(cd "$source" && pwd)"
    rm -rf "$dir/src.partial"
    echo "[1/2] Cloning Odoo $ODOO_BRANCH from $source (shallow; a few hundred MB from GitHub)..."
    git clone --progress --depth 1 --branch "$ODOO_BRANCH" --single-branch "$url" \
        "$dir/src.partial" 2>&1 | tr '\r' '\n' | _odoo_setup_progress "$dir/clone.log"
    status=${PIPESTATUS[0]}
    if [ "$status" -ne 0 ] || ! _odoo_setup_is_odoo18 "$dir/src.partial"; then
        reason=$(grep -E '^(fatal|error):' "$dir/clone.log" | tail -n 1)
        [ "$status" -eq 0 ] && reason="its branch $ODOO_BRANCH is not Odoo 18.0"
        rm -rf "$dir/src.partial"
        echo "Could not get Odoo $ODOO_BRANCH from ODOO_SOURCE=$source (${reason:-git clone" \
            "failed}). Set ODOO_SOURCE to a git URL or a local checkout of Odoo that has branch" \
            "$ODOO_BRANCH and can be reached from here, or install Odoo 18 for python3." >&2
        return 1
    fi
    mv "$dir/src.partial" "$dir/src"
}

_odoo_setup_is_odoo18() {
    grep -qE '^version_info = \(18, 0,' "$1/odoo/release.py" 2>/dev/null
}

# _odoo_setup_venv DIR REPO: DIR/venv with Odoo's requirements and the test tools.
_odoo_setup_venv() {
    local dir=$1 repo=$2 venv=$1/venv python site constraints
    python=$venv/bin/python3
    rm -rf "$venv"
    echo "[2/2] Installing Odoo's Python requirements into $venv" \
        "(the first time 5 to 10 minutes: some are built from source)..."
    python3 -m venv "$venv" || { echo "python3 -m venv $venv failed." >&2; return 1; }
    # Some of Odoo's pinned requirements (built from source here) do not build with setuptools 70
    # or later: constrain the setuptools of pip's build environments only. The environment's own
    # setuptools must stay recent (below, after Odoo's requirements): with an old one, Odoo's
    # gevent process fails on pkg_resources and zope.interface.
    echo 'setuptools<70' >"$dir/build-constraints.txt"
    constraints="${PIP_CONSTRAINT:+$PIP_CONSTRAINT }$dir/build-constraints.txt"
    PIP_CONSTRAINT=$constraints _odoo_setup_pip "$dir" "$python" -r "$dir/src/requirements.txt" \
        || return 1
    _odoo_setup_pip "$dir" "$python" 'setuptools>=70,<80' -r "$repo/requirements-test.txt" \
        || return 1
    # Odoo's source on the environment's path, as an editable install would put it.
    site=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$dir/src" >"$site/odoo-src.pth"
    if ! "$python" -c 'import sys, odoo.release as r; sys.exit(r.version_info[:2] != (18, 0))'; then
        echo "The environment in $venv does not import Odoo 18 (see $dir/pip.log)." >&2
        return 1
    fi
    touch "$venv/$ODOO_VENV_MARKER"
}

# _odoo_setup_pip DIR PYTHON ARGS...: pip install ARGS, its output kept in DIR/pip.log and its
# progress shown one line per package.
_odoo_setup_pip() {
    local dir=$1 python=$2 status
    shift 2
    "$python" -m pip install --disable-pip-version-check --progress-bar off "$@" 2>&1 \
        | _odoo_setup_progress "$dir/pip.log"
    status=${PIPESTATUS[0]}
    if [ "$status" -ne 0 ]; then
        tail -n 30 "$dir/pip.log" >&2
        echo "Installing Odoo's requirements failed (pip install $*; whole log: $dir/pip.log)." >&2
    fi
    return "$status"
}

# _odoo_setup_progress LOG: keep every line of git's or pip's output in LOG and show only those
# that say how far it is, indented.
_odoo_setup_progress() {
    local log=$1 line last=""
    : >>"$log"
    while IFS= read -r line; do
        printf '%s\n' "$line" >>"$log"
        line=${line#"${line%%[! ]*}"}
        case $line in
            # git: one line per tenth of each phase.
            Receiving\ objects:* | Resolving\ deltas:* | Updating\ files:*)
                local phase=${line%%:*} percent
                percent=$(sed -nE 's/^[^:]*: +([0-9]+)%.*/\1/p' <<<"$line")
                [ -n "$percent" ] || continue
                [ "$phase ${percent%?}" = "$last" ] && [ "$percent" != 100 ] && continue
                last="$phase ${percent%?}"
                echo "    $line"
                ;;
            # pip: a line per package collected, built or installed.
            Collecting\ * | Building\ wheel\ for\ *started | Successfully\ installed\ * | ERROR:*)
                echo "    ${line:0:100}"
                ;;
        esac
    done
}
