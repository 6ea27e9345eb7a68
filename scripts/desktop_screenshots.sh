#!/usr/bin/env bash
# Real-desktop screenshots for the README and docs/ (1280x800 with alarms and the therapist window, a
# dialog, the course view; 1920x1080): the real-desktop tests take them under Xvfb with openbox and
# keep them here.   scripts/desktop_screenshots.sh [folder, default docs]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export KAPMONITOR_DOCS_SCREENSHOTS=${1:-docs}
exec .venv/bin/python -m pytest tests/desktop -q -p no:cacheprovider "${@:2}"
