"""The short soak CI runs: memory must not grow frame after frame (latency is reported, not asserted)."""
from benchmarks.soak import soak


def test_a_short_soak_does_not_grow_memory():
    r = soak(frames=800, warmup=200, threads=2)
    assert r["rss_growth_mb"] <= 5.0, r
    assert r["median_ms"] > 0
