#!/usr/bin/env bash
# kapmonitor's two entry points for a fresh machine:
#   scripts/dev.sh run  [kapmonitor options]   set up, then start the app on the simulated monitor
#   scripts/dev.sh test [pytest options]       set up, then run lint, type checks and the whole test suite
# Set-up is idempotent: a virtual environment in .venv, the package with its test tools, and (as root)
# the Debian libraries Qt, PortAudio, the virtual sound card and the PDF checks need.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_RUN=(libgl1 libegl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3 libportaudio2
         libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0
         libxcb-render0 libxcb-shape0 libxcb-util1 libxcb-xkb1 fonts-dejavu-core)
# xvfb, openbox, xdotool, imagemagick, x11-utils: the real-desktop tests (tests/desktop) run the app under a
# window manager, send it real keys and read the screen
APT_TEST=(pulseaudio pulseaudio-utils libasound2-plugins socat poppler-utils xvfb xauth openbox xdotool imagemagick
          x11-utils mosquitto mosquitto-clients)

say() { printf 'kapmonitor setup: %s\n' "$*" >&2; }

ensure_debian_packages() {
    local missing=() p
    command -v dpkg-query >/dev/null 2>&1 || { say "not a Debian system; make sure these are installed: $*"; return 0; }
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        say "missing Debian packages (run as root, or: sudo apt-get install ${missing[*]})"
        return 1
    fi
}

ensure_venv() {
    local py=${PYTHON:-python3} stamp=.venv/.kapmonitor-installed want
    want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
    if [ ! -x .venv/bin/python ]; then
        say "creating .venv"
        "$py" -m venv .venv
    fi
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        say "installing kapmonitor and its test tools into .venv"
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -e ".[test]"
        echo "$want" > "$stamp"
    fi
}

start_sound_card() {
    # A clocked virtual sound card: PulseAudio with a null sink whose monitor the audio tests record.
    export XDG_RUNTIME_DIR
    XDG_RUNTIME_DIR=$(mktemp -d /tmp/kapmonitor-pulse.XXXXXX)
    chmod 700 "$XDG_RUNTIME_DIR"
    export PULSE_RUNTIME_PATH="$XDG_RUNTIME_DIR/pulse"
    if pulseaudio --start --exit-idle-time=-1 -n --system=false --disallow-exit \
        --load="module-null-sink sink_name=null rate=48000" \
        --load="module-native-protocol-unix" >/dev/null 2>&1 || pulseaudio --check >/dev/null 2>&1; then
        # keep the sink running: without a stream every new one waits for the sink to wake
        pacat --latency-msec=20 --raw /dev/zero >/dev/null 2>&1 &
        KEEPALIVE_PID=$!
        export KAPMONITOR_TEST_AUDIO=pulse
        say "virtual sound card ready (PulseAudio null sink)"
    else
        say "could not start PulseAudio: the audio tests will fail"
    fi
}

stop_sound_card() {
    [ -n "${KEEPALIVE_PID:-}" ] && kill "$KEEPALIVE_PID" 2>/dev/null || true
    pulseaudio --kill >/dev/null 2>&1 || true
    [ -n "${XDG_RUNTIME_DIR:-}" ] && case "$XDG_RUNTIME_DIR" in /tmp/kapmonitor-pulse.*) rm -rf "$XDG_RUNTIME_DIR";; esac
}

cmd=${1:-}
shift || true
case "$cmd" in
    run)
        ensure_debian_packages "${APT_RUN[@]}"
        ensure_venv
        if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
            say "set-up done, but there is no display here (DISPLAY and WAYLAND_DISPLAY are unset):"
            say "run this from a desktop session, or see the screen with:"
            say "  .venv/bin/kapmonitor --screenshot out.png --screenshot-after 2400 --speed 600"
            exit 1
        fi
        exec .venv/bin/kapmonitor run --driver simulated "$@"
        ;;
    test)
        ensure_debian_packages "${APT_RUN[@]}" "${APT_TEST[@]}"
        ensure_venv
        export QT_QPA_PLATFORM=offscreen
        export KAPMONITOR_REQUIRE_AUDIO=1
        trap stop_sound_card EXIT
        start_sound_card
        say "ruff"
        .venv/bin/ruff check kapmonitor tests benchmarks
        say "mypy"
        .venv/bin/mypy
        say "import layers (lint-imports)"
        .venv/bin/lint-imports --no-cache
        say "pytest"
        .venv/bin/python -m pytest "$@"
        ;;
    *)
        echo "usage: scripts/dev.sh run [kapmonitor options] | test [pytest options]" >&2
        exit 2
        ;;
esac
