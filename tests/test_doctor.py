"""`edgeseg doctor` says what this machine can run, and fails when a provider that was asked for cannot."""
import json
import os

import pytest

from edgeseg.cli import main
from edgeseg.doctor import cameras, missing_library_fix, provider_libraries


@pytest.fixture(scope="module")
def doctor_json():
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["doctor", "--json"])
    return rc, json.loads(out.getvalue())


def test_doctor_reports_versions_providers_and_what_each_session_ran_on(doctor_json):
    import cv2
    import numpy as np
    import onnxruntime as ort
    rc, r = doctor_json
    assert rc == 0
    assert r["versions"]["onnxruntime"] == ort.__version__ and r["versions"]["opencv"] == cv2.__version__
    assert r["versions"]["numpy"] == np.__version__ and "av" in r["versions"]
    assert r["onnxruntime"]["providers"] == ort.get_available_providers()
    cpu = next(s for s in r["sessions"] if s["requested"] == "cpu")
    assert cpu["ran_on"] == "cpu" and cpu["ms"] > 0 and cpu["error"] is None
    assert {s["requested"] for s in r["sessions"]} >= {"cpu", "auto"}


def test_doctor_text_is_one_report_to_paste(capsys):
    assert main(["doctor"]) == 0
    text = capsys.readouterr().out
    for words in ("onnxruntime", "ran on cpu", "cameras:", "virtual camera:", "OpenCV", "PyAV", "numpy", "problems"):
        assert words in text


def test_doctor_exits_non_zero_when_an_asked_for_provider_cannot_run(monkeypatch, capsys):
    monkeypatch.setattr("edgeseg.session.available_providers", lambda: ["CPUExecutionProvider"])
    assert main(["doctor", "--provider", "cuda"]) == 1
    captured = capsys.readouterr()
    assert "cuda" in captured.err and "FAILS" in captured.out and "onnxruntime-gpu" in captured.out + captured.err


def test_doctor_refuses_an_unknown_provider_listing_the_valid_ones(capsys):
    assert main(["doctor", "--provider", "opencl"]) == 2
    assert "cpu, cuda, tensorrt" in capsys.readouterr().err


def test_cameras_come_from_sysfs_and_a_loopback_device_is_named_virtual(tmp_path):
    dev, sys_root = tmp_path / "dev", tmp_path / "sys"
    dev.mkdir()
    for n, name, driver in ((0, "Integrated Camera", "usb/1-1"), (10, "Dummy video device (0x0000)",
                                                                  "platform/v4l2loopback")):
        (dev / f"video{n}").write_text("")
        node = sys_root / "class" / "video4linux" / f"video{n}"
        node.mkdir(parents=True)
        (node / "name").write_text(name + "\n")
        target = sys_root / "devices" / driver
        target.mkdir(parents=True)
        (node / "device").symlink_to(target)
    (sys_root / "module" / "v4l2loopback").mkdir(parents=True)
    found = cameras(str(dev), str(sys_root))
    assert [(c["device"].rsplit("/", 1)[1], c["virtual"]) for c in found["devices"]] == [("video0", False),
                                                                                        ("video10", True)]
    assert found["devices"][0]["name"] == "Integrated Camera" and found["v4l2loopback_loaded"]


def test_no_video_devices_is_an_empty_list(tmp_path):
    assert cameras(str(tmp_path), str(tmp_path))["devices"] == []


def test_a_missing_cuda_library_is_named_with_its_fix():
    fix = missing_library_fix("libcudnn.so.9: cannot open shared object file: No such file or directory")
    assert "libcudnn.so.9 is missing" in fix and "cuDNN" in fix and "LD_LIBRARY_PATH" in fix
    assert "TensorRT" in missing_library_fix("libnvinfer.so.10: cannot open shared object file")


def test_a_provider_library_absent_or_unloadable_says_so(tmp_path):
    (tmp_path / "capi").mkdir()
    (tmp_path / "capi" / "libonnxruntime_providers_cuda.so").write_bytes(b"not an elf file")
    rows = {r["provider"]: r for r in provider_libraries({"path": str(tmp_path)})}
    assert rows["cuda"]["present"] and not rows["cuda"]["loads"] and "fails to load" in rows["cuda"]["fix"]
    assert not rows["tensorrt"]["present"] and "no tensorrt provider" in rows["tensorrt"]["fix"]


def test_the_install_hint_suits_an_editable_checkout():
    from edgeseg.install import pip_install
    hint = pip_install("virtualcam")
    assert "-e" in hint and "[virtualcam]" in hint                     # the tests run from the checkout
    assert os.path.exists(hint.split(" -m pip")[0])                     # this interpreter, by a path that exists
