"""The pytest plugin, driven through pytester: outcomes become verdicts, and the report survives."""

from __future__ import annotations


import pytest

from .conftest import PLUGIN, read_report

CHECKS = '''
import pytest

@pytest.mark.claim("demo.holds")
def test_holds(evidence):
    evidence.figure("sum", 1 + 1, "1")
    assert 1 + 1 == 2

@pytest.mark.claim("demo.fails")
def test_fails():
    assert 1 + 1 == 3, "one plus one is not three"

@pytest.mark.claim("demo.depends")
def test_depends():
    pass
'''


def run(pytester, registry, *args):
    return pytester.runpytest(*PLUGIN, f"--claims-registry={registry}", "-p", "no:cacheprovider", *args)


def test_failing_check_refutes_its_claim_and_the_report_says_why(pytester, mini_registry):
    pytester.makepyfile(test_demo=CHECKS)
    result = run(pytester, mini_registry)
    result.assert_outcomes(passed=2, failed=1)
    report = read_report(pytester.path / "reports")
    claims = report["claims"]
    assert set(report) == {"schema", "run", "claims"}
    assert claims["demo.holds"]["verdict"] == "confirmed" and claims["demo.holds"]["fully_confirmed"]
    assert claims["demo.fails"]["verdict"] == "refuted"
    assert "one plus one is not three" in claims["demo.fails"]["checks"][0]["message"]
    assert claims["demo.depends"]["verdict"] == "confirmed"
    assert not claims["demo.depends"]["fully_confirmed"]
    assert claims["demo.nocheck"]["verdict"] == "unchecked"
    assert "no check exists" in claims["demo.nocheck"]["reason"]
    assert claims["demo.holds"]["evidence"][0]["value"] == 2
    assert report["run"]["full"] and report["run"]["complete"]
    markdown = (pytester.path / "reports" / "CLAIMS.md").read_text()
    assert "one plus one is not three" in markdown and "```mermaid" in markdown
    result.stdout.re_match_lines([r".*claim verdicts.*", r"confirmed 2 · refuted 1 · .*",
                                  r"refuted claims:", r"  demo.fails: .*"])


def test_crash_is_error_not_refutation_and_skip_is_unchecked_with_reason(pytester, mini_registry):
    pytester.makepyfile(test_demo='''
        import pytest
        @pytest.mark.claim("demo.holds")
        def test_crashes():
            raise RuntimeError("the check itself is broken")
        @pytest.mark.claim("demo.fails")
        def test_skipped():
            pytest.skip("needs a GPU")
    ''')
    run(pytester, mini_registry)
    claims = read_report(pytester.path / "reports")["claims"]
    assert claims["demo.holds"]["verdict"] == "error"
    assert "the check itself is broken" in claims["demo.holds"]["reason"]
    assert claims["demo.fails"]["verdict"] == "unchecked"
    assert "needs a GPU" in claims["demo.fails"]["reason"]


def test_hypothesis_counterexample_reaches_the_report(pytester, mini_registry):
    pytester.makepyfile(test_demo='''
        import pytest
        from hypothesis import given, strategies as st
        @pytest.mark.claim("demo.fails")
        @given(st.integers())
        def test_small(n):
            assert n < 1000
    ''')
    run(pytester, mini_registry)
    check = read_report(pytester.path / "reports")["claims"]["demo.fails"]["checks"][0]
    assert check["outcome"] == "failed"
    assert "n=1000" in check["message"]  # hypothesis's minimal failing example, from the exception notes


def test_inconclusive_is_declared_through_the_fixture(pytester, mini_registry):
    pytester.makepyfile(test_demo='''
        import pytest
        @pytest.mark.claim("demo.nocheck")
        def test_experiment(evidence):
            evidence.figure("alpha", 1.3, "1")
            evidence.inconclusive("seed intervals overlap the band edge")
    ''')
    run(pytester, mini_registry).assert_outcomes(passed=1)
    claim = read_report(pytester.path / "reports")["claims"]["demo.nocheck"]
    assert claim["verdict"] == "inconclusive" and "band edge" in claim["reason"]


def test_unknown_claim_id_is_a_collection_error(pytester, mini_registry):
    pytester.makepyfile(test_demo='''
        import pytest
        @pytest.mark.claim("demo.no_such_claim")
        def test_x():
            pass
    ''')
    result = run(pytester, mini_registry)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*ERROR collecting test_demo.py*",
                                 "*unknown claim id 'demo.no_such_claim'*"])
    report = read_report(pytester.path / "reports" / "partial")
    assert not report["run"]["complete"]
    assert "collection error" in report["run"]["incomplete_reasons"][0]


def test_malformed_registry_stops_the_run_naming_file_and_line(pytester, mini_registry):
    text = (mini_registry / "demo.toml").read_text().replace('declared = "derived"', 'declard = "derived"')
    (mini_registry / "demo.toml").write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("declard"))
    pytester.makepyfile(test_demo="def test_x(): pass")
    result = run(pytester, mini_registry)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"demo.toml:{line} [claim demo.depends]: unknown key(s) ['declard']" in result.stderr.str()


def test_cycle_in_uses_stops_the_run(pytester, mini_registry):
    text = (mini_registry / "demo.toml").read_text()
    text = text.replace('id = "demo.holds"\ntitle = "A claim whose check passes"\nstatement = "1 + 1 = 2"\n'
                        'declared = "proven"\nsources = ["demo.txt § 1"]\nuses = []',
                        'id = "demo.holds"\ntitle = "A claim whose check passes"\nstatement = "1 + 1 = 2"\n'
                        'declared = "proven"\nsources = ["demo.txt § 1"]\nuses = ["demo.depends"]')
    (mini_registry / "demo.toml").write_text(text)
    pytester.makepyfile(test_demo="def test_x(): pass")
    result = run(pytester, mini_registry)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*demo.toml:*cycle in uses: demo.*->*->*->*"])


def _expecting_registry(folder):
    text = (folder / "demo.toml").read_text().replace(
        'uses = ["demo.holds"]\nchecks = ["P"]',
        'uses = ["demo.holds"]\nchecks = ["P"]\nexpect = "fails"\nexpect_reason = "1 + 1 is 2, not 3"')
    (folder / "demo.toml").write_text(text)


def test_expected_failure_keeps_ci_green_and_is_reported_as_expected(pytester, mini_registry):
    _expecting_registry(mini_registry)
    pytester.makepyfile(test_demo=CHECKS)
    result = run(pytester, mini_registry)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2, xfailed=1)
    claim = read_report(pytester.path / "reports")["claims"]["demo.fails"]
    assert claim["label"] == "refuted (expected)" and claim["expectation"]["met"] is True
    assert "refuted (expected)" in (pytester.path / "reports" / "CLAIMS.md").read_text()


def test_expected_failure_that_starts_passing_turns_the_run_red(pytester, mini_registry):
    _expecting_registry(mini_registry)
    pytester.makepyfile(test_demo=CHECKS.replace("1 + 1 == 3", "1 + 1 == 2"))
    result = run(pytester, mini_registry)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    claim = read_report(pytester.path / "reports")["claims"]["demo.fails"]
    assert claim["label"] == "confirmed (expected to fail)" and claim["expectation"]["met"] is False
    result.stdout.fnmatch_lines(["*claims expected to fail that did not: demo.fails*"])


def test_expected_failure_that_turns_inconclusive_is_inconclusive_and_red(pytester, mini_registry):
    """An experiment the registry expects to fail that now declares its data inconclusive is reported
    inconclusive (a helper saw such a claim written as "confirmed"), and the run still turns red."""
    _expecting_registry(mini_registry)
    pytester.makepyfile(test_demo=CHECKS.replace(
        'def test_fails():\n    assert 1 + 1 == 3, "one plus one is not three"',
        'def test_fails(evidence):\n    evidence.inconclusive("the interval straddles the threshold")'))
    result = run(pytester, mini_registry)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    claim = read_report(pytester.path / "reports")["claims"]["demo.fails"]
    assert claim["verdict"] == "inconclusive" and claim["expectation"]["met"] is False
    assert "straddles" in claim["reason"] and "update the registry" in claim["reason"]


def test_own_xfail_marker_on_a_claim_check_is_rejected(pytester, mini_registry):
    pytester.makepyfile(test_demo='''
        import pytest
        @pytest.mark.xfail
        @pytest.mark.claim("demo.fails")
        def test_x():
            assert False
    ''')
    result = run(pytester, mini_registry)
    result.stdout.fnmatch_lines(["*may not carry its own xfail marker*"])


def test_partial_run_leaves_the_full_report_alone_and_names_what_it_skipped(pytester, mini_registry):
    pytester.makepyfile(test_demo=CHECKS)
    run(pytester, mini_registry)
    full = (pytester.path / "reports" / "claims.json").read_text()
    run(pytester, mini_registry, "-k", "holds")
    assert (pytester.path / "reports" / "claims.json").read_text() == full
    partial = read_report(pytester.path / "reports" / "partial")
    assert not partial["run"]["full"]
    assert "2 tests deselected (-k 'holds')" in partial["run"]["scope_reasons"]
    assert partial["claims"]["demo.fails"]["verdict"] == "unchecked"
    assert "deselected" in partial["claims"]["demo.fails"]["reason"]
    assert len(partial["claims"]) == 5  # every claim keeps its row


def test_run_stopped_by_x_is_marked_incomplete(pytester, mini_registry):
    pytester.makepyfile(test_demo=CHECKS)
    run(pytester, mini_registry, "-x")
    report = read_report(pytester.path / "reports" / "partial")
    assert not report["run"]["complete"]
    assert report["claims"]["demo.fails"]["verdict"] == "refuted"
    assert report["claims"]["demo.depends"]["checks"][0]["outcome"] == "not_run"


INTERRUPTED = '''
import os, signal, time
import pytest

@pytest.mark.claim("demo.holds")
def test_first():
    pass

@pytest.mark.claim("demo.fails")
def test_second():
    {stop}

@pytest.mark.claim("demo.depends")
def test_third():
    pass
'''


@pytest.mark.parametrize("stop, reason", [
    ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    ("os.kill(os.getpid(), signal.SIGTERM); time.sleep(5)", "SIGTERM"),
])
def test_interrupted_run_still_writes_its_report_marked_incomplete(pytester, mini_registry, stop, reason):
    pytester.makepyfile(test_demo=INTERRUPTED.format(stop=stop))
    result = pytester.runpytest_subprocess(*PLUGIN, f"--claims-registry={mini_registry}",
                                           "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    report = read_report(pytester.path / "reports" / "partial")
    assert not report["run"]["complete"]
    assert reason in report["run"]["incomplete_reasons"][0]
    assert report["claims"]["demo.holds"]["verdict"] == "confirmed"      # what ran is kept
    assert report["claims"]["demo.depends"]["verdict"] == "unchecked"
    assert "never ran" in report["claims"]["demo.depends"]["reason"]
    assert "not a complete full run" in (pytester.path / "reports" / "partial" / "CLAIMS.md").read_text()
    assert not (pytester.path / "reports" / "claims.json").exists()


FIGURE_CHECK = '''
import pytest

@pytest.mark.claim("demo.holds")
def test_draws_a_figure(evidence):
    evidence.figures_dir.mkdir(parents=True, exist_ok=True)
    path = evidence.figures_dir / "{name}.png"
    path.write_bytes(b"not really a png")
    evidence.file(path, "a figure")
'''


def test_figures_of_a_full_run_replace_reports_figures_and_are_linked_relatively(pytester, mini_registry):
    reports = pytester.path / "reports"
    (reports / "figures").mkdir(parents=True)
    (reports / "figures" / "stale.png").write_bytes(b"from an old run")
    pytester.makepyfile(test_demo=FIGURE_CHECK.format(name="spectrum"))
    run(pytester, mini_registry).assert_outcomes(passed=1)
    evidence = read_report(reports)["claims"]["demo.holds"]["evidence"]
    assert [e["path"] for e in evidence if e["kind"] == "file"] == ["figures/spectrum.png"]
    assert sorted(p.name for p in (reports / "figures").iterdir()) == ["spectrum.png"]
    assert "](figures/spectrum.png)" in (reports / "CLAIMS.md").read_text()


def test_figures_of_a_partial_run_stay_in_partial_and_leave_the_full_report_alone(pytester, mini_registry):
    reports = pytester.path / "reports"
    (reports / "figures").mkdir(parents=True)
    (reports / "figures" / "spectrum.png").write_bytes(b"from the last full run")
    pytester.makepyfile(test_demo=FIGURE_CHECK.format(name="spectrum") + CHECKS)
    run(pytester, mini_registry, "-k", "draws").assert_outcomes(passed=1)
    evidence = read_report(reports / "partial")["claims"]["demo.holds"]["evidence"]
    assert [e["path"] for e in evidence if e["kind"] == "file"] == ["figures/spectrum.png"]
    assert (reports / "partial" / "figures" / "spectrum.png").exists()
    assert (reports / "figures" / "spectrum.png").read_bytes() == b"from the last full run"


XDIST_CHECKS = CHECKS + '''
import torch  # only the workers import it: the report's torch and device must come from them

@pytest.mark.claim("demo.nocheck")
def test_inconclusive(evidence):
    evidence.figure("alpha", 1.3, "1")
    evidence.inconclusive("the seeds disagree")

@pytest.mark.claim("demo.holds")
@pytest.mark.slow
def test_left_out():
    pass
'''


def test_under_xdist_the_controller_reports_what_the_workers_ran(pytester, mini_registry):
    pytest.importorskip("xdist")
    pytester.makepyfile(test_demo=XDIST_CHECKS)
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow\n")
    result = pytester.runpytest_subprocess(*PLUGIN, f"--claims-registry={mini_registry}", "-p", "no:cacheprovider",
                                           "-n", "2", "-m", "not slow")
    result.assert_outcomes(passed=3, failed=1)
    report = read_report(pytester.path / "reports" / "partial")   # -m deselected one check
    claims = report["claims"]
    assert claims["demo.holds"]["verdict"] == "confirmed"
    assert claims["demo.holds"]["evidence"][0]["value"] == 2           # evidence crossed from a worker
    assert claims["demo.fails"]["verdict"] == "refuted"
    assert "one plus one is not three" in claims["demo.fails"]["checks"][0]["message"]
    assert claims["demo.nocheck"]["verdict"] == "inconclusive" and "disagree" in claims["demo.nocheck"]["reason"]
    assert "1 tests deselected (-m 'not slow')" in report["run"]["scope_reasons"]
    outcomes = sorted(c["outcome"] for c in claims["demo.holds"]["checks"])
    assert outcomes == ["deselected", "passed"]
    assert not (pytester.path / "reports" / "claims.json").exists()   # written once, by the controller
    assert "node down" not in result.stdout.str() + result.stderr.str()     # no worker crashed at its end
    assert report["run"]["device"].startswith(("cpu", "cuda")), report["run"]["device"]


# ---------------------------------------------------------------- stable verdicts: the hypothesis profile

@pytest.fixture
def restore_hypothesis_profile():
    """An in-process pytester run loads its profile into this process's hypothesis: put ours back."""
    from hypothesis import settings
    name = settings.get_current_profile_name()
    yield
    settings.load_profile(name)


HYPOTHESIS_CHECK = '''
import pytest
from hypothesis import given, settings, strategies as st

@pytest.mark.claim("demo.holds")
@given(n=st.integers())
def test_property(n, evidence):
    current = settings()
    evidence.figure("examples drawn", 1, "1", keep="max")
    evidence.note(f"ran with derandomize={current.derandomize}, max_examples={current.max_examples}")
'''


def test_main_job_profile_is_derandomised_and_recorded_in_the_run_table(pytester, mini_registry, monkeypatch,
                                                                         restore_hypothesis_profile):
    from claims.cli_check import main_job_environment
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("HYPOTHESIS_PROFILE", main_job_environment({})["HYPOTHESIS_PROFILE"])
    pytester.makepyfile(test_demo=HYPOTHESIS_CHECK)
    run(pytester, mini_registry).assert_outcomes(passed=1)
    report = read_report(pytester.path / "reports")
    assert report["run"]["hypothesis"] == {"profile": "main", "derandomize": True, "max_examples": 40,
                                           "database": False}
    assert report["run"]["hypothesis_profile"] == "main"
    notes = [e["text"] for e in report["claims"]["demo.holds"]["evidence"] if e["kind"] == "note"]
    assert set(notes) == {"ran with derandomize=True, max_examples=40"}   # what the test itself ran under
    markdown = (pytester.path / "reports" / "CLAIMS.md").read_text()
    assert "| hypothesis | main — derandomised, 40 examples per property test, no example database |" in markdown


def test_a_named_profile_wins_and_the_report_says_it_is_random(pytester, mini_registry, monkeypatch,
                                                              restore_hypothesis_profile):
    from claims.cli_check import main_job_environment
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "thorough")
    assert main_job_environment({"HYPOTHESIS_PROFILE": "thorough"})["HYPOTHESIS_PROFILE"] == "thorough"
    pytester.makepyfile(test_demo="def test_nothing(): pass")
    run(pytester, mini_registry)
    hypothesis = read_report(pytester.path / "reports")["run"]["hypothesis"]
    assert hypothesis["profile"] == "thorough" and not hypothesis["derandomize"]
    assert hypothesis["max_examples"] == 1000
    # (", no example database" follows under CI=true, where hypothesis's defaults have none)
    assert "| hypothesis | thorough — random, 1000 examples per property test" in (
        pytester.path / "reports" / "CLAIMS.md").read_text()


def test_unknown_profile_is_a_clear_usage_error(pytester, mini_registry, monkeypatch, restore_hypothesis_profile):
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "thorogh")
    pytester.makepyfile(test_demo="def test_nothing(): pass")
    result = run(pytester, mini_registry)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "HYPOTHESIS_PROFILE='thorogh' is not a registered hypothesis profile" in result.stderr.str()


def test_claims_check_runs_workers_under_the_derandomised_main_profile(pytester, monkeypatch, capfd):
    """The main job as a user runs it: `claims check` (here on a demo checkout) on two xdist
    workers. The property test notes the settings it ran under, in a worker; the report records
    the workers' settings, with no mismatch against the controller."""
    pytest.importorskip("xdist")
    import textwrap

    from claims import cli_check, project
    from .conftest import MINI_REGISTRY
    (pytester.path / "registry").mkdir()
    (pytester.path / "registry" / "demo.toml").write_text(textwrap.dedent(MINI_REGISTRY))
    (pytester.path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\naddopts = ["-p", "claims.pytest_plugin", "-p", "no:cacheprovider"]\n'
        'claims_registry = "registry"\n')
    (pytester.path / "property_tests").mkdir()
    (pytester.path / "property_tests" / "test_demo.py").write_text(
        HYPOTHESIS_CHECK + textwrap.dedent(CHECKS).replace("import pytest", ""))
    for name in ("HYPOTHESIS_PROFILE", "CI", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLAIMS_WORKERS", "2")
    # a checkout of its own without a `claims/` folder beside it, which would shadow the package
    monkeypatch.setattr(project, "project_root", lambda: pytester.path)
    assert cli_check.cmd_check(None, []) == pytest.ExitCode.TESTS_FAILED          # demo.fails fails
    printed = capfd.readouterr().out
    assert "HYPOTHESIS_PROFILE=main" in printed and "-n 2" in printed, printed[-2000:]
    report = read_report(pytester.path / "reports")
    assert report["run"]["full"] and report["run"]["complete"], report["run"]
    assert report["run"]["hypothesis"] == {"profile": "main", "derandomize": True, "max_examples": 40,
                                           "database": False}   # from the workers, and no mismatch
    notes = [e["text"] for c in report["claims"].values() for e in c["evidence"] if e["kind"] == "note"]
    assert set(notes) == {"ran with derandomize=True, max_examples=40"}


def test_workers_with_another_profile_are_named_in_the_run_table(restore_hypothesis_profile):
    from hypothesis import settings

    from claims.markdown import hypothesis_cell
    from claims.runinfo import hypothesis_settings
    settings.load_profile("main")
    workers = [{"profile": "dev", "derandomize": False, "max_examples": 40, "database": True}] * 2
    recorded = hypothesis_settings(workers)
    assert recorded["profile"] == "dev" and recorded["mismatch"] == "controller main, workers dev"
    assert hypothesis_cell({"hypothesis": recorded}) == ("dev — random, 40 examples per property test — "
                                                         "⚠ controller main, workers dev")


# ---------------------------------------------------------------- what each verdict is worth

EXPERIMENT_CLAIM = '''
[[claim]]
id = "demo.silent"
title = "An experiment that does not say what would decide it"
statement = "something measured"
declared = "observed"
sources = ["demo.txt § 6"]
uses = []
checks = ["E"]
decision_rule = "measure it twice"
limits = "one tiny run only"
notes = "a note that only the details show"
'''

EXPERIMENTS = CHECKS + '''

@pytest.mark.experiment
@pytest.mark.claim("demo.nocheck")
def test_experiment(evidence):
    evidence.scale("2 layers, 1k steps", "50M parameters, ~1B bytes (demo.txt § 4)", reduced=True)
    evidence.figure("alpha", 1.3, "1")
    evidence.to_decide("≈ 9 seeds per arm would put the interval clear of 0.10")
    evidence.inconclusive("the seed interval overlaps the band edge")

@pytest.mark.experiment
@pytest.mark.claim("demo.silent")
def test_silent_experiment(evidence):
    evidence.figure("beta", 0.5, "1")
    evidence.inconclusive("the seeds disagree")
'''


def test_scale_and_to_decide_reach_the_tables_gaps_details_and_terminal(pytester, mini_registry):
    _expecting_registry(mini_registry)
    with (mini_registry / "demo.toml").open("a") as handle:
        handle.write(EXPERIMENT_CLAIM)
    pytester.makepyfile(test_demo=EXPERIMENTS)
    result = run(pytester, mini_registry)
    result.assert_outcomes(passed=4, xfailed=1)
    report = read_report(pytester.path / "reports")
    claims = report["claims"]
    nocheck, silent = claims["demo.nocheck"], claims["demo.silent"]
    [scale] = [e for e in nocheck["evidence"] if e["kind"] == "scale"]
    assert scale["reduced"] is True and scale["ran"] == "2 layers, 1k steps"
    assert [c["experiment"] for c in nocheck["checks"]] == [True]
    assert [c["experiment"] for c in claims["demo.holds"]["checks"]] == [False]
    assert silent["notes"] == "a note that only the details show" and silent["limits"] == "one tiny run only"
    assert claims["demo.fails"]["expectation"]["reason"] == "1 + 1 is 2, not 3"

    markdown = (pytester.path / "reports" / "CLAIMS.md").read_text()
    rows = {line.split("`")[1]: line for line in markdown.splitlines() if line.startswith("| `demo.")}
    assert ("| reduced replica — ran: 2 layers, 1k steps; source: 50M parameters, ~1B bytes (demo.txt § 4) |"
            in rows["demo.nocheck"])
    assert "| **not stated by the check** |" in rows["demo.silent"]       # an experiment ran, no scale
    assert "| ❌ refuted (expected) | — |" in rows["demo.fails"]           # not an experiment
    assert "| — |" in rows["demo.definition"]

    gaps = markdown.split("## Gaps")[1].split("\n## ")[0]
    assert ("- `demo.nocheck` (inconclusive) — test_demo.py::test_experiment: the seed interval overlaps the "
            "band edge\n  - scale: reduced replica: 2 layers, 1k steps (source: 50M parameters, ~1B bytes "
            "(demo.txt § 4))\n  - to decide: ≈ 9 seeds per arm would put the interval clear of 0.10\n") in gaps
    assert ("- `demo.silent` (inconclusive) — test_demo.py::test_silent_experiment: the seeds disagree\n"
            "  - scale: **not stated by the check**\n"
            "  - **what would decide it: not stated by the check**\n") in gaps
    assert "### Refuted claims (1)" in gaps and "- `demo.fails` (refuted (expected)) — " in gaps

    details = markdown.split("## Claim details")[1].split("\n## ")[0]
    sections = {part.split("`")[1]: part for part in details.split("### ")[1:]}
    assert "**To decide:** ≈ 9 seeds per arm would put the interval clear of 0.10" in sections["demo.nocheck"]
    assert "**Scale:** reduced replica: 2 layers, 1k steps" in sections["demo.nocheck"]
    assert "**Decision rule:** measure it\n" in sections["demo.nocheck"]
    assert "**What would decide it: not stated by the check.**" in sections["demo.silent"]
    assert "**Limits:** one tiny run only" in sections["demo.silent"]
    assert "**Notes:** a note that only the details show" in sections["demo.silent"]
    assert "**Expected to fail because:** 1 + 1 is 2, not 3" in sections["demo.fails"]
    assert "demo.holds" not in sections          # nothing beyond its table row to say

    result.stdout.fnmatch_lines([
        "*claim verdicts*",
        "inconclusive claims, and what would decide them:",
        "  demo.nocheck: to decide: ≈ 9 seeds per arm would put the interval clear of 0.10",
        "  demo.silent: what would decide it: not stated by the check",
        "confirmed 2 · refuted 1 · inconclusive 2 *",
    ])


def test_a_non_finite_figure_stays_in_sight_under_keep_max_and_min(tmp_path):
    """A thorough run crashed comparing 'nan' (a non-finite figure is kept as its repr) with a float."""
    from claims.evidence import Evidence
    evidence = Evidence("t", ("demo.holds",), tmp_path)
    for keep in ("max", "min"):
        for value in (1.0, float("nan"), 2.0):
            evidence.figure(f"f {keep}", value, "1", keep=keep)
    assert [r["value"] for r in evidence.records] == ["nan", "nan"]
    for keep, want in (("max", "inf"), ("min", 1.0)):        # an infinity compares as a number
        for value in (1.0, float("inf"), 2.0):
            evidence.figure(f"g {keep}", value, "1", keep=keep)
        assert evidence.records[-1]["value"] == want
