"""How to install an extra: the command differs between a wheel and an editable checkout."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _editable_root() -> str | None:
    """The checkout folder when edgeseg runs from one (pip install -e, or the source tree), else None."""
    try:
        from importlib.metadata import distributions
        for dist in distributions(name="edgeseg"):
            info = json.loads(dist.read_text("direct_url.json") or "{}")
            url = info.get("url", "")
            if info.get("dir_info", {}).get("editable") and url.startswith("file://"):
                return url[len("file://"):]
    except (ImportError, OSError, ValueError):
        pass
    root = Path(__file__).resolve().parents[1]
    return str(root) if (root / "pyproject.toml").is_file() and (root / "edgeseg").is_dir() else None


def _short(path: str) -> str:
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else path


def pip_install(extra: str) -> str:
    """The command that installs edgeseg's `extra` here.

    A wheel: `pip install 'edgeseg[EXTRA]'`. An editable checkout: this interpreter's pip on the
    checkout, e.g. `.venv/bin/python -m pip install -e '.[EXTRA]'` (a wheel command would fetch
    edgeseg from the index over the checkout).
    """
    root = _editable_root()
    if root is None:
        return f"pip install 'edgeseg[{extra}]'"
    return f"{_short(sys.executable)} -m pip install -e '{_short(root)}[{extra}]'"


EXPORT_COMMAND = "edgeseg export"   # what hints name: it works from a wheel and from a checkout


def export_main():
    """The export toolchain's `main(argv, prog)`: edgeseg_export from a wheel, export/ in a checkout.

    Raises:
        EdgeSegError: the export extra (PyTorch, ONNX) is not installed; the message names the command.
    """
    import importlib
    import importlib.util
    from .errors import EdgeSegError
    missing = [m for m in ("torch", "onnx") if importlib.util.find_spec(m) is None]
    if missing:
        raise EdgeSegError(f"export needs {' and '.join(missing)}: {pip_install('export')}")
    if importlib.util.find_spec("edgeseg_export") is not None:
        return importlib.import_module("edgeseg_export.__main__").main
    root = _editable_root()
    if root is None or not (Path(root) / "export" / "__main__.py").is_file():
        raise EdgeSegError("this edgeseg has no export toolchain (edgeseg_export); reinstall it: "
                           f"{pip_install('export')}")
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module("export.__main__").main
