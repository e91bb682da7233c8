#!/usr/bin/env bash
# Build the one-folder desktop app from a clean clone:
#
#   packaging/build.sh [BUILD_DIR]          # default: ../shootstudio-build beside the clone
#
# BUILD_DIR gets its own venv (BUILD_DIR/venv), PyInstaller's work folder and the result,
# BUILD_DIR/dist/shootstudio/ (copy that folder to the workstation; README "Installing on a workstation").
# Nothing is written inside the clone. Environment:
#   TORCH=pypi    torch as PyPI serves it (Linux x86_64: the CUDA build, which also runs on the CPU;
#                 Windows: CPU; macOS: CPU + MPS). The default.
#   TORCH=cpu     the CPU-only build from PyTorch's own index (a much smaller folder on Linux).
#   TORCH=cu128   (or cu126, cu130, ...) a CUDA build from PyTorch's own index.
#   PYTHON=python3.11   the interpreter that makes the venv (3.11 or newer).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1  # PyInstaller imports engine/ and gui/ to list them: no __pycache__ there

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(mkdir -p "${1:-$SRC/../shootstudio-build}" && cd "${1:-$SRC/../shootstudio-build}" && pwd)
TORCH=${TORCH:-pypi}
PYTHON=${PYTHON:-python3}
case "$BUILD/" in "$SRC"/*) echo "error: build outside the clone, not in $BUILD" >&2; exit 2 ;; esac

start=$(date +%s)
venv_python() {  # Linux/macOS venvs have bin/python, Windows ones (Git Bash) Scripts/python.exe
    for py in "$BUILD/venv/bin/python" "$BUILD/venv/Scripts/python.exe"; do [ -x "$py" ] && echo "$py" && return; done
}
[ -n "$(venv_python)" ] || "$PYTHON" -m venv "$BUILD/venv"
PY=$(venv_python)
if [ "$TORCH" != pypi ]; then
    "$PY" -m pip install -q torch torchvision --index-url "https://download.pytorch.org/whl/$TORCH"
fi
# The dependencies only (pyproject's, plus the `package` extra): installing the project itself would build
# it inside the clone (build/, *.egg-info); the spec reads engine/ and gui/ from the clone instead.
"$PY" - "$SRC/pyproject.toml" > "$BUILD/requirements.txt" <<'EOF'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["package"]))
EOF
"$PY" -m pip install -q -r "$BUILD/requirements.txt"
installed=$(date +%s)

# The spec reads the sources from the clone (PYTHONPATH: PyInstaller lists engine/ and gui/ in child
# processes, which do not see the spec's pathex); PyInstaller writes only under BUILD.
(cd "$BUILD" && PYTHONPATH="$SRC" "$PY" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$BUILD/dist" --workpath "$BUILD/work" "$SRC/packaging/shootstudio.spec")

APP="$BUILD/dist/shootstudio"
# The desktop entry and icon, laid out as they install under ~/.local or /usr/local (README).
install -Dm644 "$SRC/packaging/shootstudio.desktop" "$APP/share/applications/shootstudio.desktop"
install -Dm644 "$SRC/packaging/shootstudio.svg" "$APP/share/icons/hicolor/scalable/apps/shootstudio.svg"
install -Dm644 "$SRC/packaging/shootstudio.png" "$APP/share/icons/hicolor/256x256/apps/shootstudio.png"

end=$(date +%s)
echo "built $APP: $(du -sh "$APP" | cut -f1), $(find "$APP" -type f | wc -l) files;" \
    "install $((installed - start)) s, PyInstaller $((end - installed)) s, total $((end - start)) s"
