#!/usr/bin/env bash
# Smoke test of the frozen build (packaging/build.sh makes it):
#
#   packaging/smoke_test.sh [APP_DIR]       # default: ../shootstudio-build/dist/shootstudio
#
# As a fresh user (empty HOME and XDG folders): cold start of `--help` and every subcommand listed; the GUI
# offscreen for 10 s without a traceback (the first-run dialog opens, no weights); `models make-tiny`,
# `filter` and `inpaint` on the tiny models; and nothing written inside the app folder (a listing of
# names, sizes and times before and after). Needs bash, find and python3 (to write test images).
# Too slow for every CI run (the binary's imports dominate); run it after a build. Exit 0 = all passed.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APP=$(cd "${1:-$SRC/../shootstudio-build/dist/shootstudio}" && pwd)
BIN="$APP/shootstudio"
[ -x "$BIN" ] || { echo "error: no built app at $APP (run packaging/build.sh)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shootstudio-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home"
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" XDG_DATA_HOME="$WORK/home/.local/share"
export XDG_CACHE_HOME="$WORK/home/.cache" QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1
unset SHOOTSTUDIO_MODELS SHOOTSTUDIO_MODELS_DIR SHOOTSTUDIO_MODEL_SEARCH PYTHONPATH PYTHONDONTWRITEBYTECODE
cd "$WORK"  # so relative writes, if any, land here and not in the app folder

listing() { (cd "$APP" && find . -printf '%y %s %T@ %p\n' | LC_ALL=C sort -k4); }
listing > "$WORK/before.txt"
failures=0
check() { if "$@"; then echo "ok   ${label}"; else echo "FAIL ${label}"; failures=$((failures + 1)); fi; }
logged() { local log=$1; shift; "$@" > "$log" 2>&1; }  # check logged LOG COMMAND...: output to LOG
now() { date +%s.%N; }
took() { python3 -c "print(f'{$2 - $1:.1f} s')"; }

# 1. Cold start: the first `--help` reads the whole folder from disk; the second shows a warm start.
t0=$(now); "$BIN" --help > "$WORK/help.txt" 2>&1 || true; t1=$(now)
"$BIN" --help > /dev/null 2>&1 || true; t2=$(now)
grep -q Traceback "$WORK/help.txt" && sed 's/^/     --help: /' "$WORK/help.txt" | tail -8
echo "     --help: cold $(took "$t0" "$t1"), warm $(took "$t1" "$t2")"
# Every subcommand the source registers (engine/cli/main.py COMMANDS, plus gui) is listed.
commands="gui $(sed -n '/^COMMANDS = {/,/^}/p' "$SRC/engine/cli/main.py" | grep -o '^ *"[a-z-]*"' | tr -d ' "' | tr '\n' ' ')"
missing=""
for command in $commands; do grep -qE "^ +$command( |$)" "$WORK/help.txt" || missing="$missing $command"; done
label="--help lists every subcommand ($commands)${missing:+; missing:$missing}"
check test -z "$missing"

# Bundled data the frozen code finds beside its modules (PyInstaller sets __file__ under sys._MEIPASS).
label="bundled SD 1.5 configs and resources, no weights"
check test -f "$APP/_internal/engine/models/configs/sd15-inpainting/unet/config.json" \
    -a -f "$APP/_internal/resources/product_classes.toml" \
    -a -z "$(find "$APP" -name '*.safetensors' -o -name '*.ckpt' -o -name 'sam_vit*' | head -1)"

# 2. The GUI, offscreen, for 10 s: still running, no traceback. A fresh user has no weights: the
# first-run dialog opens and searches this (empty) machine.
t0=$(now)
"$BIN" > "$WORK/gui.log" 2>&1 &
gui=$!
sleep 10
alive=0; kill -0 "$gui" 2>/dev/null && alive=1
kill "$gui" 2>/dev/null || true
wait "$gui" 2>/dev/null || true
label="GUI ran 10 s offscreen without a traceback"
check test "$alive" = 1 -a -z "$(grep Traceback "$WORK/gui.log" || true)"
[ "$alive" = 1 ] || sed 's/^/     gui: /' "$WORK/gui.log" | tail -20

# 3. The model pipelines from the binary, on tiny random-weight models.
t0=$(now)
label="models make-tiny"
check logged "$WORK/tiny.log" "$BIN" models make-tiny "$WORK/tiny"
echo "     make-tiny: $(took "$t0" "$(now)")"
python3 - "$WORK" <<'EOF'
import struct, sys, zlib
from pathlib import Path

def png(path, width, height, pixel):  # 8-bit RGB or grey PNG, standard library only
    mode = 2 if callable(pixel) and len(pixel(0, 0)) == 3 else 0
    rows = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))

work = Path(sys.argv[1])
(work / "shoot").mkdir()
product = lambda x, y: 40 <= x < 120 and 30 <= y < 90
for i in range(3):
    png(work / "shoot" / f"shot_{i}.png", 160, 120, lambda x, y: (60 + i, 40, 30) if product(x, y) else (225, 225, 225))
png(work / "mask.png", 160, 120, lambda x, y: (255,) if product(x, y) else (0,))
EOF
t0=$(now)
label="filter on the tiny models"
check logged "$WORK/filter.log" "$BIN" filter "$WORK/shoot" --models "$WORK/tiny/models.toml" \
    --report "$WORK/report.json" --points-per-side 2 --iou-thresh 0 --stability-thresh 0
label="filter wrote its report"; check test -s "$WORK/report.json"
echo "     filter: $(took "$t0" "$(now)")"
t0=$(now)
label="inpaint on the tiny models"
check logged "$WORK/inpaint.log" "$BIN" inpaint "$WORK/shoot/shot_0.png" --mask "$WORK/mask.png" \
    --prompt "a product photo" --models "$WORK/tiny/models.toml" --steps 2 --work-size 64 --padding 8 \
    --seed 1 --device cpu --out "$WORK/enhanced"
label="inpaint wrote a PNG"; check test -n "$(find "$WORK/enhanced" -name '*.png' 2>/dev/null)"
echo "     inpaint: $(took "$t0" "$(now)")"
for log in tiny filter inpaint; do
    grep -q Traceback "$WORK/$log.log" && sed "s/^/     $log: /" "$WORK/$log.log" | tail -15
done

# 4. The app never writes inside its own folder: settings, caches and stores went to the user's folders.
listing > "$WORK/after.txt"
label="nothing written inside $APP"
check diff -u "$WORK/before.txt" "$WORK/after.txt"
echo "     wrote under the user's folders: $(cd "$HOME" && find . -type f | grep -c .) files"

[ "$failures" = 0 ] && echo "smoke test passed" || { echo "smoke test: $failures check(s) failed"; exit 1; }
