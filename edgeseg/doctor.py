"""`edgeseg doctor`: what this machine can run, as text to paste into an issue (or as JSON).

Each check is a small function returning plain data; `report()` gathers them and `format_text()`
prints them. Nothing here blocks: cameras are read from sysfs (never opened), GPU libraries are
loaded with ctypes, and each provider runs the bundled model once on a black frame.
"""
from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import platform
import re
import time
from pathlib import Path

from . import __version__
from .errors import EdgeSegError

# The libraries onnxruntime-gpu loads, by family: the sonames tried, newest first, and where to get them
GPU_LIBRARIES = {
    "NVIDIA driver": (("libcuda.so.1",), "install the NVIDIA driver"),
    "CUDA runtime": (("libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0"), "install the CUDA toolkit"),
    "cuBLAS": (("libcublas.so.13", "libcublas.so.12", "libcublas.so.11"), "install the CUDA toolkit (cuBLAS)"),
    "cuBLASLt": (("libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11"), "install the CUDA toolkit (cuBLAS)"),
    "cuFFT": (("libcufft.so.12", "libcufft.so.11", "libcufft.so.10"), "install the CUDA toolkit (cuFFT)"),
    "cuRAND": (("libcurand.so.10",), "install the CUDA toolkit (cuRAND)"),
    "cuDNN": (("libcudnn.so.9", "libcudnn.so.8"), "install cuDNN (e.g. pip install nvidia-cudnn-cu12)"),
    "TensorRT": (("libnvinfer.so.10", "libnvinfer.so.8"), "install TensorRT (e.g. pip install tensorrt)"),
    "TensorRT ONNX parser": (("libnvonnxparser.so.10", "libnvonnxparser.so.8"), "install TensorRT"),
}
PROVIDER_LIBRARY = {"cuda": "libonnxruntime_providers_cuda.so", "tensorrt": "libonnxruntime_providers_tensorrt.so"}
LIB_FIX = (("libcudnn", "cuDNN"), ("libnvinfer", "TensorRT"), ("libnvonnxparser", "TensorRT"), ("libcu", "CUDA"))


def versions() -> dict:
    """Versions of edgeseg, Python, the OS and the libraries it uses (None: not installed)."""
    import cv2
    import numpy as np
    import onnxruntime as ort
    out = {"edgeseg": __version__, "python": platform.python_version(), "os": f"{platform.system()} "
           f"{platform.release()} ({platform.machine()})", "numpy": np.__version__, "opencv": cv2.__version__,
           "onnxruntime": ort.__version__, "av": None, "tqdm": None, "pyvirtualcam": None}
    for name in ("av", "tqdm", "pyvirtualcam"):
        if importlib.util.find_spec(name) is not None:
            try:
                out[name] = getattr(__import__(name), "__version__", "installed")
            except Exception as exc:  # a broken install: say so instead of failing the report
                out[name] = f"broken ({type(exc).__name__}: {str(exc)[:80]})"
    return out


def onnxruntime_build() -> dict:
    """Which onnxruntime package is installed, its device and the providers it offers."""
    import onnxruntime as ort
    from importlib.metadata import PackageNotFoundError, version
    packages = {}
    for name in ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            pass
    return {"version": ort.__version__, "packages": packages, "device": ort.get_device(),
            "providers": list(ort.get_available_providers()), "path": str(Path(ort.__file__).parent)}


def _loaded_path(soname: str) -> str | None:
    try:
        for line in Path("/proc/self/maps").read_text().splitlines():
            if line.endswith(soname) or f"/{soname}" in line:
                return line.split()[-1]
    except OSError:
        pass
    return None


def gpu_libraries() -> list[dict]:
    """Each GPU library family: the soname that loaded and its path, or missing with the fix."""
    rows = []
    for family, (sonames, fix) in GPU_LIBRARIES.items():
        row = {"library": family, "found": None, "path": None, "fix": None}
        for soname in sonames:
            try:
                ctypes.CDLL(soname)
            except OSError:
                continue
            row.update(found=soname, path=_loaded_path(soname))
            break
        if row["found"] is None:
            row["fix"] = f"{fix}, or put it on LD_LIBRARY_PATH (looked for {', '.join(sonames)})"
        rows.append(row)
    return rows


def provider_libraries(build: dict) -> list[dict]:
    """For CUDA and TensorRT: is onnxruntime's provider library there, and does it load (naming what it lacks)?"""
    from .session import install_hint
    rows = []
    for provider, lib in PROVIDER_LIBRARY.items():
        path = Path(build["path"]) / "capi" / lib
        row = {"provider": provider, "library": str(path), "present": path.is_file(), "loads": False, "fix": None}
        if not path.is_file():
            row["fix"] = f"this onnxruntime build has no {provider} provider: {install_hint(provider)}"
        else:
            try:
                ctypes.CDLL(str(path))
                row["loads"] = True
            except OSError as exc:
                row["fix"] = missing_library_fix(str(exc))
        rows.append(row)
    return rows


def missing_library_fix(error: str) -> str:
    """The fix for a dlopen error such as 'libcudnn.so.9: cannot open shared object file'."""
    m = re.search(r"(lib[\w.+-]+\.so[\w.]*): cannot open shared object file", error)
    if not m:
        return f"it fails to load: {error[:200]}"
    lib = m.group(1)
    what = next((name for prefix, name in LIB_FIX if lib.startswith(prefix)), "the library")
    return (f"{lib} is missing: install {what} of the version this onnxruntime was built for (onnxruntime.ai/docs/"
            "execution-providers/CUDA-ExecutionProvider.html#requirements) and put it on LD_LIBRARY_PATH")


def provider_sessions(providers: list[str], model=None) -> list[dict]:
    """Open a session of the bundled model on each provider and run it once: what did it really run on?"""
    import numpy as np
    from .models import pick_model_file
    from .session import Session, available_providers, resolve_providers, short_name
    rows = []
    for provider in providers:
        row = {"requested": provider, "ran_on": None, "file": None, "ms": None, "error": None}
        try:
            target = provider
            if provider == "auto":
                target = short_name(resolve_providers("auto", available_providers())[0])
                row["expected"] = target
            path = pick_model_file(model, None, target)
            row["file"] = path.name
            t = time.perf_counter()
            sess = Session(path, provider)        # runs a black frame once: a failure shows here
            row["start_ms"] = round((time.perf_counter() - t) * 1e3, 1)
            h, w = sess.static_hw or sess.meta.input_hw
            x = np.zeros((1, 3, h, w) if sess.meta.layout == "NCHW" else (1, h, w, 3), sess.input_dtype)
            times = []
            for _ in range(5):
                t = time.perf_counter()
                sess.run(x)
                times.append((time.perf_counter() - t) * 1e3)
            row.update(ran_on=sess.provider, providers=[p for p in sess.providers], ms=round(sorted(times)[2], 3),
                       input=f"{h}x{w}")
        except EdgeSegError as exc:
            row["error"] = str(exc)
        rows.append(row)
    return rows


def cameras(dev: str = "/dev", sys_root: str = "/sys") -> dict:
    """Video devices from sysfs (Linux; never opened, so nothing hangs) and whether v4l2loopback is loaded."""
    devices = []
    found = glob.glob(os.path.join(dev, "video*"))
    for path in sorted(found, key=lambda d: int(re.sub(r"\D", "", Path(d).name) or 0))[:64]:
        sysfs = Path(sys_root) / "class" / "video4linux" / Path(path).name
        try:
            name = (sysfs / "name").read_text().strip()
        except OSError:
            name = "?"
        virtual = "v4l2loopback" in os.path.realpath(sysfs / "device") or \
            name.lower().startswith(("dummy video device", "obs virtual", "virtual"))
        devices.append({"device": path, "name": name, "virtual": virtual,
                        "readable": os.access(path, os.R_OK), "writable": os.access(path, os.W_OK)})
    return {"devices": devices, "v4l2loopback_loaded": (Path(sys_root) / "module" / "v4l2loopback").exists(),
            "probed": platform.system() == "Linux"}


def report(providers_asked: list[str] | None = None, model=None) -> dict:
    """Everything doctor checks, as one JSON-able dict; `problems` lists what fails, each with its fix."""
    from .bench import fingerprint
    from .install import pip_install
    from .session import AUTO_ORDER, PROVIDER_NAMES, short_name
    build = onnxruntime_build()
    have = [short_name(p) for p in build["providers"] if p in PROVIDER_NAMES.values()]
    ordered = [p for p in AUTO_ORDER if p in have]
    asked = providers_asked or []
    sessions = provider_sessions(ordered + [p for p in asked if p not in ordered] + ["auto"], model)
    fp = fingerprint()
    cams = cameras()
    vers = versions()
    problems = []
    for s in sessions:
        if s["error"]:
            problems.append(f"provider {s['requested']}: {s['error']}")
        elif s.get("expected", s["requested"]) != s["ran_on"]:
            problems.append(f"provider {s['requested']}: expected {s.get('expected', s['requested'])}, but ran on "
                            f"{s['ran_on']} (ONNX Runtime fell back: see the GPU libraries above)")
    gpu_libs = gpu_libraries() if build["device"] == "GPU" or fp.get("gpu") else []
    prov_libs = provider_libraries(build)
    if build["device"] == "GPU":
        problems += [f"{r['provider']} provider library: {r['fix']}" for r in prov_libs if r["fix"]]
    virtual = [d for d in cams["devices"] if d["virtual"]]
    vcam_fix = None
    if platform.system() == "Linux" and not virtual:
        vcam_fix = "no virtual camera device: sudo modprobe v4l2loopback exclusive_caps=1 card_label=edgeseg"
    if vers["pyvirtualcam"] is None:
        vcam_fix = (vcam_fix + "; " if vcam_fix else "") + f"--virtual-cam needs pyvirtualcam: {pip_install('virtualcam')}"
    failed = [s["requested"] for s in sessions if s["requested"] in asked and (s["error"] or s["ran_on"] != s["requested"])]
    return {"versions": vers, "device": {k: fp[k] for k in ("cpu", "cores", "cpu_flags", "gpu")},
            "onnxruntime": build, "sessions": sessions, "provider_libraries": prov_libs, "gpu_libraries": gpu_libs,
            "cameras": cams, "virtual_camera": {"devices": [d["device"] for d in virtual],
                                                "v4l2loopback_loaded": cams["v4l2loopback_loaded"],
                                                "pyvirtualcam": vers["pyvirtualcam"], "fix": vcam_fix},
            "asked": asked, "asked_failed": failed, "problems": problems}


def format_text(r: dict) -> str:
    """The report as text a user can paste into an issue."""
    v, d, b = r["versions"], r["device"], r["onnxruntime"]
    flags = ", ".join(f for f, on in d["cpu_flags"].items() if on) or "none"
    lines = ["edgeseg doctor", "",
             f"edgeseg      {v['edgeseg']}, Python {v['python']}, {v['os']}",
             f"CPU          {d['cpu']} ({d['cores']} cores; {flags})",
             f"GPU          {d['gpu']['name'] + ', driver ' + d['gpu']['driver'] if d['gpu'] else 'none found (no nvidia-smi)'}",
             f"onnxruntime  {b['version']} ({', '.join(f'{k} {x}' for k, x in b['packages'].items()) or 'package ?'}; "
             f"device {b['device']}); providers: {', '.join(b['providers'])}",
             f"libraries    numpy {v['numpy']}, OpenCV {v['opencv']}, PyAV {v['av'] or 'not installed'}, "
             f"tqdm {v['tqdm'] or 'not installed'}, pyvirtualcam {v['pyvirtualcam'] or 'not installed'}", "",
             "sessions of the bundled model (one black frame each):"]
    for s in r["sessions"]:
        if s["error"]:
            lines.append(f"  {s['requested']:<9} FAILS: {s['error']}")
        else:
            lines.append(f"  {s['requested']:<9} ran on {s['ran_on']} ({', '.join(s['providers'])}), {s['file']}, "
                         f"{s['input']} in {s['ms']:.2f} ms (session start {s['start_ms']:.0f} ms)")
    lines += ["", "GPU provider libraries:"]
    for p in r["provider_libraries"]:
        state = "loads" if p["loads"] else ("present, does not load" if p["present"] else "not in this build")
        lines.append(f"  {p['provider']:<9} {state}" + (f": {p['fix']}" if p["fix"] else ""))
    lines += ["", "CUDA / cuDNN / TensorRT libraries:"]
    if not r["gpu_libraries"]:
        lines.append("  not checked: no NVIDIA GPU found and this onnxruntime is the CPU build")
    else:
        for g in r["gpu_libraries"]:
            lines.append(f"  {g['library']:<21} " + (f"{g['found']} ({g['path'] or 'loaded'})" if g["found"]
                                                      else f"MISSING: {g['fix']}"))
    cams = r["cameras"]
    lines += ["", "cameras:"]
    if not cams["probed"]:
        lines.append("  not probed (Linux only); try: edgeseg live --source 0")
    elif not cams["devices"]:
        lines.append("  none (/dev/video* is empty); try: edgeseg live --source demo")
    for c in cams["devices"]:
        access = "" if c["readable"] else " (no read permission: add yourself to the 'video' group)"
        lines.append(f"  {c['device']:<12} {c['name']}{' [virtual]' if c['virtual'] else ''}{access}")
    vc = r["virtual_camera"]
    lines.append(f"virtual camera: {', '.join(vc['devices']) or 'none'} (v4l2loopback "
                 f"{'loaded' if vc['v4l2loopback_loaded'] else 'not loaded'})" + (f"; {vc['fix']}" if vc["fix"] else ""))
    lines += ["", "problems:" if r["problems"] else "problems: none"]
    lines += [f"  - {p}" for p in r["problems"]]
    return "\n".join(lines)
