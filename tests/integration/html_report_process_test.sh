#!/usr/bin/env bash
# The trainer's HTML reports, drawn by a real browser: the test models (the
# IntegrationModels fixture) each have a report.html from publishing; one
# more efficiency version is trained so its report has a previous version
# to compare with; `lineserve-train report --html` rewrites and lists the
# newest ones. Headless Chromium (Debian's chromium, no network: every host
# resolves to nothing) loads each page, whose own script checks the layout
# it got (every chart has a size, nothing overflows the page); the DOM it
# dumps must say so and hold the parts each model's report is made of. The
# screenshots stay in SHOTS for a person to look at.
set -euo pipefail
usage="usage: html_report_process_test.sh TRAIN TRAINED SHOTS"
train=${1:?$usage}
trained=${2:?$usage}
shots=${3:?$usage}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$shots"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cp -r "$trained/repo" "$work/repo"
for model in quality_inspection efficiency_prediction; do
  [[ -s $work/repo/$model/1/report.html ]] ||
    fail "publishing $model wrote no report.html"
done

"$train" efficiency --csv "$trained/data/production.csv" \
  --target actual_productivity --repo "$work/repo" --trees 30 --threads 1 \
  --force > "$work/efficiency.log"
grep -q "report:  $work/repo/efficiency_prediction/2/report.html" \
  "$work/efficiency.log" || fail "the trainer did not name its report"

env -u DISPLAY -u WAYLAND_DISPLAY \
  "$train" report --repo "$work/repo" --html > "$work/report.out"
for expected in \
  "efficiency_prediction v2: file://$work/repo/efficiency_prediction/2/report.html" \
  "quality_inspection v1: file://$work/repo/quality_inspection/1/report.html"; do
  grep -qxF "$expected" "$work/report.out" ||
    fail "report --html printed: $(cat "$work/report.out")"
done

browser() {
  timeout 120 chromium --headless --no-sandbox --disable-gpu \
    --no-first-run --disable-extensions --user-data-dir="$work/chromium" \
    --host-resolver-rules="MAP * ~NOTFOUND" --hide-scrollbars \
    --window-size=1024,2400 "$@" 2> "$work/chromium.err" ||
    fail "chromium: $(tail -n 5 "$work/chromium.err")"
}

check_page() {  # page name charts must-contain...
  local page=$1 name=$2 charts=$3
  shift 3
  browser --dump-dom "file://$page" > "$work/$name.dom"
  grep -q "data-layout=\"ok: $charts charts, " "$work/$name.dom" ||
    fail "$name: layout $(grep -o 'data-layout="[^"]*"' "$work/$name.dom")"
  for part in "$@"; do
    grep -qF "$part" "$work/$name.dom" || fail "$name: no $part"
  done
  browser --screenshot="$shots/$name.png" "file://$page" > /dev/null
  [[ $(head -c 8 "$shots/$name.png" | od -An -tx1 | tr -d ' \n') == \
     89504e470d0a1a0a ]] || fail "$name.png is not a PNG"
  (($(stat -c %s "$shots/$name.png") > 20000)) ||
    fail "$name.png is too small to show the report"
  echo "$name: $(grep -o 'data-layout="[^"]*"' "$work/$name.dom"), $shots/$name.png"
}

check_page "$work/repo/quality_inspection/1/report.html" quality_report 2 \
  'id="roc-curve"' 'id="pr-curve"' 'id="confusion-matrix"' 'id="per-class"' \
  'The first version of this model'
check_page "$work/repo/efficiency_prediction/2/report.html" \
  efficiency_report 1 'id="residual-plot"' 'id="baselines"' \
  'version 2 (this)</th><th>version 1</th>' 'id="quality-gate"'
echo "PASS"
