# Which Odoo the demo and test commands use, and where it is (sourced, not run): the project's
# own in .odoo/ once made, else the Odoo 18 that python3 imports, else one made now in .odoo/
# (bin/lib/odoo_setup.sh).

. "$(dirname "${BASH_SOURCE[0]}")/odoo_setup.sh"

# odoo_available: true when python3 imports an Odoo 18.
odoo_available() {
    python3 -c 'import sys, odoo.release as r; sys.exit(r.version_info[:2] != (18, 0))' 2>/dev/null
}

# odoo_ensure REPO: make "python3" (here and in what this shell runs) one that imports Odoo 18,
# setting up the project's own if needed; false, having said why, when none can be had.
odoo_ensure() {
    local repo=$1 dir=$1/.odoo
    if ! odoo_setup_ready "$dir"; then
        odoo_available && return 0
        odoo_setup "$dir" "$repo" || return 1
    fi
    # The environment's python3 first on PATH: every "python3" of the commands is then it.
    PATH="$dir/venv/bin:$PATH"
    export PATH
    odoo_available
}

# odoo_addons_path REPO: Odoo's own addons folders, then the repository (or $ODOO_ADDONS_PATH,
# for installs laid out otherwise, then the repository).
odoo_addons_path() {
    local repo=$1 root path=""
    if [ -n "${ODOO_ADDONS_PATH:-}" ]; then
        echo "$ODOO_ADDONS_PATH,$repo"
        return
    fi
    root=$(python3 -c 'import os, odoo; print(os.path.dirname(os.path.dirname(odoo.__file__)))')
    for dir in "$root/odoo/addons" "$root/addons"; do
        [ -d "$dir" ] && path="$path$dir,"
    done
    echo "$path$repo"
}

# odoo_server_command: the command that starts Odoo's server. Prefork workers re-run it for the
# gevent process, which "python3 -m odoo" cannot be, so prefer odoo-bin or the "odoo" script.
odoo_server_command() {
    local root
    root=$(python3 -c 'import os, odoo; print(os.path.dirname(os.path.dirname(odoo.__file__)))')
    if [ -x "$root/odoo-bin" ]; then
        echo "$root/odoo-bin"
    elif command -v odoo >/dev/null; then
        command -v odoo
    else
        echo "python3 -m odoo"
    fi
}

# stop_processes PID...: ask the processes to stop, and kill those still there after 10 s (an
# Odoo thread blocked in a network call can hold a graceful shutdown forever).
stop_processes() {
    local pid alive
    kill "$@" 2>/dev/null
    for _ in $(seq 20); do
        alive=""
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ -z "$alive" ] && break
        sleep 0.5
    done
    kill -9 "$@" 2>/dev/null
    for pid in "$@"; do wait "$pid" 2>/dev/null; done
}
