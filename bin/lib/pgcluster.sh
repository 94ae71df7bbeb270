# Throwaway PostgreSQL cluster for the demo and test commands (sourced, not run).
# pg_start DIR: creates a cluster in DIR/pgdata, listening only on a Unix socket in DIR,
# with a superuser role "odoo" and trust auth. Sets PG_SOCKET_DIR. pg_stop stops it.

pg_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$dir" ] && command -v pg_ctl >/dev/null; then
        dir=$(dirname "$(command -v pg_ctl)")
    fi
    [ -n "$dir" ] || { echo "PostgreSQL server binaries (initdb, pg_ctl) not found" >&2; return 1; }
    echo "$dir"
}

# PostgreSQL refuses to run as root: as root, run it as the "postgres" system user.
pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_start() {
    local base=$1 bindir
    bindir=$(pg_bindir) || return 1
    PG_BINDIR=$bindir
    PG_SOCKET_DIR=$base
    mkdir -p "$base"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$base"
    fi
    pg_as_owner "$bindir/initdb" -D "$base/pgdata" -U odoo --auth=trust -E UTF8 \
        --locale=C.UTF-8 >"$base/initdb.log" 2>&1 \
        || { cat "$base/initdb.log" >&2; return 1; }
    pg_as_owner "$bindir/pg_ctl" -D "$base/pgdata" -l "$base/postgres.log" -w \
        -o "-c listen_addresses='' -c unix_socket_directories='$base' -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
        start >/dev/null \
        || { cat "$base/postgres.log" >&2; return 1; }
}

pg_stop() {
    local base=$1
    [ -n "${PG_BINDIR:-}" ] && [ -f "$base/pgdata/postmaster.pid" ] || return 0
    pg_as_owner "$PG_BINDIR/pg_ctl" -D "$base/pgdata" -m fast -w stop >/dev/null 2>&1 || true
}
