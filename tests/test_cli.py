"""The `claims` command, as a user runs it."""

from __future__ import annotations

import pytest

import json
import subprocess
import sys
from pathlib import Path

from .registry_text import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]


def claims(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "claims.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_list_shows_every_catalogue_id(tmp_path):
    out = claims("list", "--reports", str(tmp_path))
    assert out.returncode == 0, out.stderr
    listed = [line.split()[0] for line in out.stdout.splitlines()]
    assert listed == CATALOGUE


def test_list_filters_by_family_and_declared(tmp_path):
    out = claims("list", "--family", "capacity", "--reports", str(tmp_path))
    assert [line.split()[0] for line in out.stdout.splitlines()] == [c for c in CATALOGUE
                                                                     if c.startswith("capacity.")]
    out = claims("list", "--declared", "definition", "--reports", str(tmp_path))
    assert [line.split()[0] for line in out.stdout.splitlines()] == ["spectral.learning_score"]


def test_show_prints_statement_and_source(tmp_path):
    out = claims("show", "spectral.optimal_rank_formula", "--reports", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "statement:" in out.stdout and "ε^{1/(2α" in out.stdout.replace("\n", " ").replace("  ", "")
    assert "000_017466b5744f9449.txt" in out.stdout
    assert "last verdict: none" in out.stdout


def test_show_unknown_id_is_a_clear_error(tmp_path):
    out = claims("show", "spectral.no_such", "--reports", str(tmp_path))
    assert out.returncode == 2 and "unknown claim id 'spectral.no_such'" in out.stderr


def test_report_rerenders_markdown_from_json(tmp_path):
    from claims.registry import load_registry
    from claims.report import build_report, write_report
    from claims.verdicts import CheckResult, compute_verdicts
    registry = load_registry()
    verdicts = compute_verdicts(registry, [CheckResult("t::x", ("capacity.state_is_sum",), "passed", 0.2)])
    run = {"date": "2026-01-01T00:00:00+00:00", "selection": {"args": [], "claim_checks_ran": 1,
           "claim_checks_deselected": 0}, "full": True, "complete": True}
    write_report(build_report(registry, verdicts, run), tmp_path)
    (tmp_path / "CLAIMS.md").unlink()
    out = claims("report", "--reports", str(tmp_path))
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "CLAIMS.md").read_text()
    assert "capacity.state_is_sum" in text and "confirmed **1**" in text
    shown = claims("show", "capacity.state_is_sum", "--reports", str(tmp_path))
    assert "last verdict: confirmed" in shown.stdout


def test_report_rejects_a_foreign_file(tmp_path):
    (tmp_path / "claims.json").write_text(json.dumps({"schema": "other/9"}))
    out = claims("report", "--reports", str(tmp_path))
    assert out.returncode == 2 and "schema" in out.stderr


def test_every_subcommand_has_help():
    for sub in ("check", "report", "list", "show"):
        out = claims(sub, "--help")
        assert out.returncode == 0 and "usage: claims" in out.stdout, sub


def test_readme_carries_the_two_commands_ci_runs():
    """.ci/run executes the block after <!-- test-command -->; both blocks must exist and set up."""
    lines = (ROOT / "README.md").read_text().splitlines()
    blocks = {}
    for marker in ("<!-- main-command -->", "<!-- test-command -->"):
        start = lines.index(marker)
        assert lines[start + 1] == "```bash", marker
        blocks[marker] = lines[start + 2]
        assert lines[start + 3] == "```", "one command per block"
    assert blocks["<!-- main-command -->"].endswith("claims check")
    assert blocks["<!-- test-command -->"].endswith("pytest")
    for command in blocks.values():
        assert "pip install torch==2.13.0 -e ." in command or "pip install torch==2.13.0 -e '.[" in command  # the CPU pin travels with the install
    assert "-e '.[distributed]'" in blocks["<!-- test-command -->"]   # CI runs the two-node Ray cluster test
    assert "<!-- test-command -->" in (ROOT / ".ci" / "run").read_text()


def test_the_main_job_runs_on_xdist_workers_unless_told_otherwise(monkeypatch):
    from claims.cli_check import parallel_arguments
    pytest.importorskip("xdist")
    monkeypatch.setenv("CLAIMS_WORKERS", "3")
    assert parallel_arguments([]) == ["-n", "3", "--dist", "loadscope"]
    assert parallel_arguments(["-n", "0"]) == [] and parallel_arguments(["--numprocesses=4"]) == []
    monkeypatch.setenv("CLAIMS_WORKERS", "1")
    assert parallel_arguments([]) == []


# ---------------------------------------------------------------- what each verdict is worth

def _report_with_scale_and_to_decide():
    """A report of the shipped registry: one inconclusive experiment with scale and to-decide, one
    inconclusive experiment that states neither, one expected refutation."""
    from claims.evidence import Evidence
    from claims.registry import load_registry
    from claims.report import build_report
    from claims.verdicts import CheckResult, compute_verdicts
    registry = load_registry()
    stated = Evidence("benchmarks/experiments/test_exp_lru.py::test_x", ("lru.mlp_universality",), Path("."))
    stated.scale("1024 training sequences, 700 steps", "4096 sequences, 3000 steps (004 § 3)", reduced=True)
    stated.to_decide("≈ 9 seeds per width would separate w512 from w128")
    results = [
        CheckResult(stated.nodeid, stated.claims, "inconclusive", 1.0, "medians overlap", None,
                    stated.records, True),
        CheckResult("benchmarks/experiments/test_exp_rank_sweeps.py::test_y", ("observed.eps_threshold",), "inconclusive",
                    1.0, "the interval overlaps the band", None, [], True),
        CheckResult("benchmarks/experiments/test_exp_trained_elman.py::test_z", ("observed.alpha_in_range",), "xfailed",
                    1.0, "AssertionError: alpha below the range", None, [], True),
    ]
    run = {"date": "2026-01-01T00:00:00+00:00", "hypothesis_profile": "main",
           "hypothesis": {"profile": "main", "derandomize": True, "max_examples": 40, "database": False},
           "selection": {"args": [], "claim_checks_ran": 3, "claim_checks_deselected": 0},
           "full": True, "complete": True}
    return build_report(registry, compute_verdicts(registry, results), run)


def test_show_prints_scale_to_decide_expectation_and_limits(tmp_path):
    from claims.report import write_report
    write_report(_report_with_scale_and_to_decide(), tmp_path)
    out = claims("show", "lru.mlp_universality", "--reports", str(tmp_path))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "decision rule:\n" in text and "limits:\n" in text
    flat = " ".join(text.split())   # long texts are wrapped
    assert ("scale: reduced replica: 1024 training sequences, 700 steps (source: 4096 sequences, 3000 steps "
            "(004 § 3)) to decide: ≈ 9 seeds per width would separate w512 from w128 check inconclusive") in flat
    assert text.index("last verdict: inconclusive") < text.index("scale:\n") < text.index("  check inconclusive")
    silent = claims("show", "observed.eps_threshold", "--reports", str(tmp_path)).stdout
    assert "scale:\n  not stated by the check\n" in silent
    assert "what would decide it:\n  not stated by the check\n" in silent
    expected = claims("show", "observed.alpha_in_range", "--reports", str(tmp_path)).stdout
    assert "expected: fails, because:\n  " in expected and "last verdict: refuted (expected)" in expected


def test_report_of_an_older_claims_json_still_renders(tmp_path):
    """A claims.json written before scale/to-decide records, the checks' experiment flag, notes and
    the recorded hypothesis settings: `claims report` and `claims show` still work."""
    report = _report_with_scale_and_to_decide()
    del report["run"]["hypothesis"]
    report["run"]["hypothesis_profile"] = "dev"
    for claim in report["claims"].values():
        claim.pop("notes")
        claim["evidence"] = [e for e in claim["evidence"] if e["kind"] not in ("scale", "to_decide")]
        for check in claim["checks"]:
            check.pop("experiment")
    (tmp_path / "claims.json").write_text(json.dumps(report))
    out = claims("report", "--reports", str(tmp_path))
    assert out.returncode == 0, out.stderr
    markdown = (tmp_path / "CLAIMS.md").read_text()
    assert "| hypothesis | dev (settings not recorded) |" in markdown
    assert "## Claim details" in markdown and "- `lru.mlp_universality` (inconclusive)" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| `lru.mlp_universality`"))
    assert "| **not stated by the check** |" in row     # an E claim whose check ran: scale missing, visibly
    shown = claims("show", "lru.mlp_universality", "--reports", str(tmp_path))
    assert shown.returncode == 0 and "what would decide it:\n  not stated by the check" in shown.stdout


def test_main_job_environment_names_the_derandomised_profile_unless_the_caller_did():
    from hypothesis import settings

    import claims.hypothesis_profiles  # noqa: F401  (registers the profiles)
    from claims.cli_check import MAIN_JOB_PROFILE, main_job_environment
    main = settings.get_profile(MAIN_JOB_PROFILE)
    assert main.derandomize and main.database is None and main.max_examples == 40
    assert main_job_environment({"PATH": "/bin"}) == {"PATH": "/bin", "HYPOTHESIS_PROFILE": "main"}
    assert main_job_environment({"HYPOTHESIS_PROFILE": "thorough"})["HYPOTHESIS_PROFILE"] == "thorough"
    assert main_job_environment({"HYPOTHESIS_PROFILE": ""})["HYPOTHESIS_PROFILE"] == "main"


def test_list_show_and_report_never_import_torch_or_hypothesis(tmp_path):
    from claims.report import write_report
    write_report(_report_with_scale_and_to_decide(), tmp_path)
    probe = ("import sys; from claims.cli import main; "
             "[main(a) for a in (['list', '--reports', sys.argv[1]], ['report', '--reports', sys.argv[1]], "
             "['show', 'lru.mlp_universality', '--reports', sys.argv[1]])]; "
             "print('imported:', sorted({'torch', 'hypothesis'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "imported: []"


def test_committed_report_says_what_each_experiment_verdict_is_worth():
    """The committed reports/claims.json (the last full run of the main job): every claim with an
    experiment that ran has a scale record, and every inconclusive claim a to-decide record.

    Written before the report was regenerated with the experiments' scale/to_decide calls: it
    fails on a report from an older run, by design, until `claims check` is run again and the
    new report is committed. It reads the committed file, not a run of its own."""
    from claims.entries import experiment_ran, scales, to_decide
    from claims.report import load_report
    path = ROOT / "reports" / "claims.json"
    assert path.exists(), f"{path} is missing: the repository commits the last full report (run `claims check`)"
    report = load_report(path)
    run = report["run"]
    no_scale = [cid for cid, c in report["claims"].items() if experiment_ran(c) and not scales(c)]
    no_to_decide = [cid for cid, c in report["claims"].items()
                    if c["verdict"] == "inconclusive" and not to_decide(c)]
    where = f"{path.relative_to(ROOT)} (run {run.get('date')}, commit {(run.get('git_commit') or '?')[:12]})"
    assert not no_scale, (f"{where}: {len(no_scale)} claims whose experiment ran have no scale record "
                          f"(evidence.scale in the experiment, then `claims check`): {no_scale}")
    assert not no_to_decide, (f"{where}: {len(no_to_decide)} inconclusive claims have no to-decide record "
                              f"(evidence.to_decide on the inconclusive path, then `claims check`): {no_to_decide}")
