#!/usr/bin/env bash
# Regenerate screenshots/*.png from real runs (see tests/tui_screenshots.rs): Pebble issues the
# certificates, knot serves a loopback DNS tree with one lagging secondary, certpilot's own
# acme-dns server takes a registration; tmux `capture-pane -e` records each screen with its
# colours; a small ANSI→HTML converter below and headless Chromium turn them into PNGs.
#
# Needs root (DNS on port 53 of 127.0.70.x), the tools of scripts/test-deps.sh, and Chromium
# (`apt-get install -y chromium`). Usage: scripts/screenshots.sh [OUTPUT_DIR] (default screenshots/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-screenshots}
mkdir -p "$out"
captures=$(mktemp -d "${TMPDIR:-/tmp}/certpilot-shots.XXXXXX")
trap 'rm -rf "$captures"' EXIT

for tool in tmux keyctl python3 chromium pebble; do
    command -v "$tool" >/dev/null || { echo "screenshots: $tool is missing" >&2; exit 1; }
done

# 1. The screens, captured from the real binary (keyutils needs a session keyring of its own).
CERTPILOT_SCREENSHOTS=$captures keyctl session - \
    cargo test --quiet --test tui_screenshots -- --ignored --nocapture

# 2. ANSI → HTML → PNG.
python3 - "$captures" "$out" <<'PY'
import html, os, re, subprocess, sys, tempfile

captures, out = sys.argv[1], sys.argv[2]
# A dark palette for the 16 ANSI colours (the default theme uses the terminal's palette).
PALETTE = [
    "#1b1f27", "#e06c75", "#98c379", "#e5c07b", "#61afef", "#c678dd", "#56b6c2", "#c8ccd4",
    "#5c6370", "#ff7b86", "#b5e890", "#ffd68a", "#82c4ff", "#dc9bf0", "#7fd6e0", "#ffffff",
]
FG, BG = "#d7dae0", "#161a21"
FONT_PX, LINE, CHAR = 14, 1.17, 0.602  # DejaVu Sans Mono: advance 0.602 em


def colour256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    grey = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (grey, grey, grey)


def apply_sgr(params, st):
    codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            st.clear()
        elif c in (1, 2, 3, 4, 7):
            st[{1: "bold", 2: "dim", 3: "italic", 4: "underline", 7: "reverse"}[c]] = True
        elif c == 22:
            st.pop("bold", None); st.pop("dim", None)
        elif c in (23, 24, 27):
            st.pop({23: "italic", 24: "underline", 27: "reverse"}[c], None)
        elif 30 <= c <= 37 or 90 <= c <= 97:
            st["fg"] = PALETTE[c - 30 if c < 90 else c - 82]
        elif 40 <= c <= 47 or 100 <= c <= 107:
            st["bg"] = PALETTE[c - 40 if c < 100 else c - 92]
        elif c == 39:
            st.pop("fg", None)
        elif c == 49:
            st.pop("bg", None)
        elif c in (38, 48) and i + 1 < len(codes):
            key = "fg" if c == 38 else "bg"
            if codes[i + 1] == 5 and i + 2 < len(codes):
                st[key] = colour256(codes[i + 2]); i += 2
            elif codes[i + 1] == 2 and i + 4 < len(codes):
                st[key] = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5]); i += 4
        i += 1


def style(st, layer):
    fg, bg = st.get("fg", FG), st.get("bg", None)
    if st.get("reverse"):
        fg, bg = (bg or BG), fg
    if layer == "bg":
        # Backgrounds reach 2px lower: an underscore sits just below a line's box at 1x.
        css = ["color:transparent"]
        if bg:
            css.append("background:%s;padding-bottom:2px" % bg)
    else:
        css = ["color:" + fg]
    if st.get("bold"):
        css.append("font-weight:bold")
    if st.get("dim"):
        css.append("opacity:0.7")
    if st.get("italic"):
        css.append("font-style:italic")
    if st.get("underline"):
        css.append("text-decoration:underline")
    return ";".join(css)


def cells(text):
    # Braille (the spinner) comes from a fallback font of another width: pin it to one cell.
    return "".join(
        '<span style="display:inline-block;width:1ch">%s</span>' % c if 0x2800 <= ord(c) <= 0x28FF
        else html.escape(c)
        for c in text
    )


def to_html(text, layer):
    rows, st = [], {}
    for line in text.rstrip("\n").split("\n"):
        parts, pos = [], 0
        for m in re.finditer(r"\x1b\[([0-9;]*)m|\x1b\][^\x07]*\x07|\x1b[()][A-Za-z0-9]", line):
            if m.start() > pos:
                parts.append('<span style="%s">%s</span>' % (style(st, layer), cells(line[pos:m.start()])))
            if m.group(0).endswith("m") and m.group(0).startswith("\x1b["):
                apply_sgr(m.group(1), st)
            pos = m.end()
        if pos < len(line):
            parts.append('<span style="%s">%s</span>' % (style(st, layer), cells(line[pos:])))
        rows.append("".join(parts))
    return rows


for name in sorted(os.listdir(captures)):
    if not name.endswith(".ans"):
        continue
    text = open(os.path.join(captures, name), encoding="utf-8", errors="replace").read()
    # Two layers, text above every background: a line's background must not hide the
    # bottom of the glyphs of the line above (underscores).
    rows, back = to_html(text, "fg"), to_html(text, "bg")
    cols = 120
    width = int(cols * FONT_PX * CHAR) + 32
    height = int(len(rows) * FONT_PX * LINE) + 32
    page = (
        "<!doctype html><meta charset=utf-8><style>"
        "html,body{margin:0;background:%s;overflow:hidden}"
        "pre{margin:16px;font:%dpx/%.2f 'DejaVu Sans Mono',monospace;color:%s;white-space:pre}"
        "pre+pre{position:absolute;top:0;left:0}"
        "</style><pre>%s</pre><pre>%s</pre>"
        % (BG, FONT_PX, LINE, FG, "\n".join(back), "\n".join(rows))
    )
    html_path = os.path.join(captures, name[:-4] + ".html")
    open(html_path, "w", encoding="utf-8").write(page)
    png = os.path.abspath(os.path.join(out, name[:-4] + ".png"))
    profile = tempfile.mkdtemp()
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--user-data-dir=" + profile, "--screenshot=" + png,
         "--window-size=%d,%d" % (width, height), "file://" + html_path],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    print("wrote", png)
PY
