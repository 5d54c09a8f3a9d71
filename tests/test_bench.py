"""The training benchmark's smoke mode: both pipelines run end to end and report every figure.
(Speed itself is measured by running the benchmark, never asserted in a test.)"""
import json
import subprocess
import sys

from conftest import REPO, write_idx_mnist


def test_train_speed_smoke_run_reports_both_pipelines(tmp_path):
    data = write_idx_mnist(tmp_path / "data")
    out = tmp_path / "speed.json"
    proc = subprocess.run([sys.executable, "-m", "bench.train_speed", "--smoke", "--device", "cpu",
                           "--data-dir", str(data), "--json", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    for name in ("ours", "reference"):
        r = report[name]
        assert len(r["epoch_seconds"]) == 1 and r["images_per_s"] > 0 and r["cpu_rss_mib"] > 0
        assert 0 < r["test_loss"] < 1e4  # a finite negative ELBO, nats per image
    assert report["ours"]["images"] == 550 and report["reference"]["images"] == 600  # 5,000/60,000 held out
    assert report["ours"]["eval"] == {**report["ours"]["eval"], "k": 10, "images": 100}
    assert report["speedup"] == report["ours"]["images_per_s"] / report["reference"]["images_per_s"]
    assert "speed-up, ours / reference" in proc.stdout and report["machine"]["cores"] >= 1
