# Shared paths for the project's scripts. Sourced, never run.
# Everything slow to build lives in a cache outside the repository, so a fresh clone is fast
# once a machine has built the project once.

BOOKINGS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BOOKINGS_CACHE="${BOOKINGS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bookings}"
TEMPORAL_CLI_VERSION="v1.5.1"
TEMPORAL_BIN_DIR="$BOOKINGS_CACHE/temporal-$TEMPORAL_CLI_VERSION"
export BOOKINGS_TEMPORAL_BIN="${BOOKINGS_TEMPORAL_BIN:-$TEMPORAL_BIN_DIR/temporal}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BOOKINGS_CACHE/target}"

die() {
    echo "error: $*" >&2
    exit 1
}
