#!/usr/bin/env bash
# Runs Latchkey's whole test suite on a fresh machine: installs what the tests need (build
# libraries, PostgreSQL, Chromium) when missing, then rustfmt, clippy and every test on SQLite and
# PostgreSQL. Fails loudly, never skips, when something cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
apt_install() {
    [ "$(id -u)" -eq 0 ] || die "missing packages: $*; install them (apt-get install $*) or run as root"
    command -v apt-get >/dev/null || die "missing packages: $*; no apt-get to install them with"
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
    log "installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- build prerequisites -------------------------------------------------------------------
command -v cargo >/dev/null || die "cargo is not installed (https://rustup.rs)"
missing=()
for pkg in pkg-config libssl-dev libpq-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
command -v psql >/dev/null || missing+=(postgresql-client)
[ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}"

# --- PostgreSQL ----------------------------------------------------------------------------
PG_URL="${LATCHKEY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export LATCHKEY_TEST_POSTGRES_URL="$PG_URL"
pg_answers() { psql "$PG_URL" -Atqc 'SELECT 1' >/dev/null 2>&1; }
pg_listening() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

start_debian_cluster() {
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$version" ] || return 1
    log "starting PostgreSQL $version cluster"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null ||
        pg_ctlcluster "$version" main start
}

trust_loopback() {
    # A cluster installed here: let the tests connect over loopback as postgres without a password.
    local hba
    hba="$(ls /etc/postgresql/*/main/pg_hba.conf 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$hba" ] || return 0
    if ! grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
        log "allowing trusted loopback connections for postgres in $hba"
        sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
        pg_ctlcluster "$(basename "$(dirname "$(dirname "$hba")")")" main reload 2>/dev/null || true
    fi
}

if ! pg_listening; then
    if ! start_debian_cluster; then
        command -v pg_ctlcluster >/dev/null && dpkg -s postgresql >/dev/null 2>&1 &&
            die "PostgreSQL is installed but no cluster exists; create one with pg_createcluster"
        apt_install postgresql
        start_debian_cluster || die "PostgreSQL was installed but its cluster did not start"
        trust_loopback
    fi
    for _ in $(seq 1 30); do pg_listening && break; sleep 1; done
fi
pg_listening || die "PostgreSQL does not answer on 127.0.0.1:5432"
if ! pg_answers; then
    trust_loopback
    sleep 1
fi
pg_answers || die "cannot log in to PostgreSQL as $PG_URL; set LATCHKEY_TEST_POSTGRES_URL to a superuser URL"
log "PostgreSQL answers at $PG_URL"

drop_test_databases() {
    psql "$PG_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'latchkey_test_%'" 2>/dev/null |
        while read -r name; do psql "$PG_URL" -qc "DROP DATABASE IF EXISTS \"$name\"" >/dev/null 2>&1 || true; done
}
drop_test_databases
trap drop_test_databases EXIT

# --- Chromium and chromedriver (the login page is tested in a real headless browser) ------------
CHROMIUM="${LATCHKEY_TEST_CHROMIUM:-/usr/bin/chromium}"
CHROMEDRIVER="${LATCHKEY_TEST_CHROMEDRIVER:-/usr/bin/chromedriver}"
if [ ! -x "$CHROMIUM" ] || [ ! -x "$CHROMEDRIVER" ]; then
    apt_install chromium chromium-driver
fi
[ -x "$CHROMIUM" ] || die "Chromium is missing at $CHROMIUM (Debian package chromium)"
[ -x "$CHROMEDRIVER" ] || die "chromedriver is missing at $CHROMEDRIVER (Debian package chromium-driver)"
"$CHROMEDRIVER" --version >/dev/null 2>&1 || die "$CHROMEDRIVER does not run"
export LATCHKEY_TEST_CHROMIUM="$CHROMIUM"
export LATCHKEY_TEST_CHROMEDRIVER="$CHROMEDRIVER"
log "$("$CHROMEDRIVER" --version | head -n 1) for $("$CHROMIUM" --version 2>/dev/null | head -n 1)"

# --- checks and tests ----------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check
log "no import cycle between modules (scripts/module-cycles.py)"
python3 scripts/module-cycles.py || die "import cycles between modules (see above)"
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
log "cargo test (unit tests, and integration tests on SQLite and PostgreSQL)"
cargo test --locked --all-targets -- --test-threads "${LATCHKEY_TEST_THREADS:-4}"
