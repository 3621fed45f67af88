"""report.html in a real browser: Debian's headless Chromium opens it from a file.

A copy of the report gets a small script in its head that records load and console errors and, once
the page has loaded, writes what it saw (each image's naturalWidth, the leaderboard's rows) into the
DOM, which ``--dump-dom`` prints. The report itself carries no script. The screenshot of the report
goes to the test's folder, and also to ``$LEPTON_SCREENSHOT_DIR`` when that is set (docs/report.png).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from trained import train_classifier

pytestmark = pytest.mark.slow

_PROBE = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(
    e.message || ("failed to load " + (e.target && (e.target.src || e.target.href) || "?")).slice(0, 200)), true);
const __error = console.error;
console.error = (...args) => { window.__errors.push(args.join(" ")); __error(...args); };
window.addEventListener("load", () => {
  const out = document.createElement("pre");
  out.id = "lepton-probe";
  out.textContent = JSON.stringify({
    images: [...document.images].map(img => ({alt: img.alt, complete: img.complete, width: img.naturalWidth})),
    leaderboard_rows: document.querySelectorAll("#leaderboard tbody tr").length,
    errors: window.__errors,
  });
  document.body.appendChild(out);
});
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium on this machine (Debian: apt-get install chromium; .ci/run installs it)")


def _run(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_the_report_renders_in_chromium(tmp_path):
    browser = _chromium()
    model, test = train_classifier()
    report = model.report(tmp_path / "report.html", data=test)
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text(encoding="utf-8").replace("<head>", "<head>\n" + _PROBE, 1), encoding="utf-8")

    dumped = _run(browser, "--virtual-time-budget=10000", "--dump-dom", probed.as_uri())
    found = re.search(r'<pre id="lepton-probe">(.*?)</pre>', dumped.stdout, re.S)
    assert found, f"the probe did not run; chromium said: {dumped.stderr[-2000:]}"
    seen = json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    assert len(seen["images"]) == 4  # frontier, learning curves, confusion matrix, which columns matter
    assert seen["images"][-1]["alt"] == "permutation importance of the input columns"
    assert all(image["complete"] and image["width"] > 0 for image in seen["images"]), seen["images"]
    assert seen["leaderboard_rows"] == len(model.result_.trials)
    assert seen["errors"] == []
    console = [line for line in dumped.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console

    shot = tmp_path / "report.png"
    taken = _run(browser, "--window-size=1280,3600", f"--screenshot={shot}", report.as_uri())
    assert shot.exists(), taken.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1280, 3600)
        assert np.unique(np.asarray(image.convert("L").resize((64, 180)))).size > 20  # not a blank page
    if os.environ.get("LEPTON_SCREENSHOT_DIR"):
        target = Path(os.environ["LEPTON_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, target / "report-full.png")
