#!/usr/bin/env bash
# `lineserve-cli inspect --overlay DIR` end to end: a real server serves the
# trained test models (the IntegrationModels fixture) on loopback; the CLI
# asks for the defect map and writes each image with its defective region
# drawn on it. Every overlay must be a PNG of its input's size, the answer
# must name the region and the file, and without --overlay no map is asked
# for. The golden model (trained before defect maps) refuses the map with
# FAILED_PRECONDITION and the CLI says so. Stops what it starts.
set -euo pipefail
server=${1:?usage: defect_overlay_process_test.sh SERVER CLI TRAINED GOLDEN}
cli=${2:?usage: defect_overlay_process_test.sh SERVER CLI TRAINED GOLDEN}
trained=${3:?usage: defect_overlay_process_test.sh SERVER CLI TRAINED GOLDEN}
golden=${4:?usage: defect_overlay_process_test.sh SERVER CLI TRAINED GOLDEN}
# shellcheck source=../support/server_process.sh
source "$(dirname "$0")/../support/server_process.sh"

cp -r "$trained/repo" "$work/repo"
cp -r "$golden/repo/quality_inspection" "$work/repo/golden_quality"
sed -i 's/^name: "quality_inspection"/name: "golden_quality"/' \
  "$work/repo/golden_quality/config.pbtxt"
serve "$server" "$work/repo"

# One image of each class, two of them with the same name in different
# folders (the second overlay gets a number).
images=()
for class in "$trained"/data/tiles/images/*/; do
  images+=("$(find "$class" -name '*.png' | sort | head -n 1)")
done
mkdir -p "$work/again"
cp "${images[0]}" "$work/again/"
images+=("$work/again/$(basename "${images[0]}")")

"$cli" inspect --server "$address" --json --overlay "$work/overlays" \
  "${images[@]}" > "$work/answers.jsonl" 2> "$work/cli.log" \
  || fail "inspect --overlay failed"
"$cli" inspect --server "$address" --overlay "$work/text" "${images[0]}" \
  > "$work/answer.txt" 2>> "$work/cli.log" || fail "inspect --overlay (text)"
"$cli" inspect --server "$address" --json "${images[0]}" \
  > "$work/plain.jsonl" 2>> "$work/cli.log" || fail "inspect without --overlay"

/usr/bin/python3 - "$work" "${images[@]}" <<'PY' || fail "overlays"
import json, os, struct, sys
work, images = sys.argv[1], sys.argv[2:]

def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    assert head[12:16] == b"IHDR", f"{path}: no IHDR"
    return struct.unpack(">II", head[16:24])

answers = [json.loads(line) for line in open(os.path.join(work, "answers.jsonl"))]
assert [a["file"] for a in answers] == images, answers
written = set()
for image, answer in zip(images, answers):
    overlay = answer["overlay"]
    assert os.path.dirname(overlay) == os.path.join(work, "overlays"), overlay
    written.add(os.path.basename(overlay))
    assert png_size(overlay) == png_size(image), (overlay, image)
    region = answer["defect_region"]
    if answer["verdict"] == "DEFECT":
        assert region is not None, answer
    if region is not None:
        w, h = png_size(image)
        assert 0 <= region["x"] and region["x"] + region["width"] <= w, answer
        assert 0 <= region["y"] and region["y"] + region["height"] <= h, answer
        assert region["width"] > 0 and region["height"] > 0, answer
stem = os.path.splitext(os.path.basename(images[0]))[0]
assert f"{stem}.png" in written and f"{stem}-2.png" in written, written
assert len(written) == len(images), written

text = open(os.path.join(work, "answer.txt")).read()
assert "region" in text and os.path.join(work, "text", f"{stem}.png") in text, text
plain = json.loads(open(os.path.join(work, "plain.jsonl")).readline())
assert "defect_region" not in plain and "overlay" not in plain, plain
print(f"{len(images)} overlays, each a PNG of its input's size")
PY

# A model without a defect map: the call fails, the CLI says why, exit 1.
if "$cli" inspect --server "$address" --overlay "$work/golden" \
     --model golden_quality "${images[0]}" > "$work/golden.out" \
     2> "$work/golden.err"; then
  fail "a model without a defect map answered --overlay"
fi
grep -q "FAILED_PRECONDITION: return_defect_map: model 'golden_quality' version 1 computes no defect map" \
  "$work/golden.err" || { cat "$work/golden.err"; fail "golden model message"; }
[[ -z "$(ls -A "$work/golden")" ]] || fail "an overlay was written for a failed call"
echo "defect overlay process test passed"
