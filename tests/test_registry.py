"""The registry: the shipped files hold the whole catalogue, and bad files fail with file, line and id."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from claims.registry import RegistryError, load_registry

from .registry_text import CATALOGUE, claim_toml, family_toml

GOOD = family_toml("T", "s", 1) + claim_toml("fam.a", "a", "a", "proven", ["s"], [], ["P"]) + claim_toml(
    "fam.b", "b", "b", "derived", ["s"], ["fam.a"], ["N"])


def write(tmp_path: Path, text: str, name: str = "fam.toml") -> Path:
    (tmp_path / name).write_text(textwrap.dedent(text).lstrip("\n"))
    return tmp_path


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(textwrap.dedent(text).lstrip("\n").splitlines(), 1) if needle in ln)


def test_shipped_registry_holds_exactly_the_catalogue():
    registry = load_registry()
    assert len(CATALOGUE) == 82
    assert list(registry.claims) == CATALOGUE  # same ids, in the catalogue's order


def test_shipped_registry_records_what_each_claim_needs():
    registry = load_registry()
    for claim in registry:
        assert claim.sources and claim.statement and claim.title
        if "E" in claim.checks:
            assert claim.decision_rule, claim.id
        if not claim.checks:
            assert claim.unchecked_reason, claim.id
    assert registry["spectral.learning_score"].declared == "definition"
    assert registry["lowrank.increases_snr"].formal_gap  # the Lean statement only says r/d < 1


def test_good_file_loads_with_edges(tmp_path):
    registry = load_registry(write(tmp_path, GOOD))
    assert registry["fam.b"].uses == ("fam.a",)
    assert registry.ancestors("fam.b") == ["fam.a"]
    assert registry["fam.a"].line == line_of(GOOD, "[[claim]]")


@pytest.mark.parametrize("mutation, needle, message", [
    (("checks = [\"N\"]", "checks = [\"N\"]\ncolour = \"red\""), "colour", "unknown key"),
    (("declared = \"derived\"", "declared = \"believed\""), "declared = \"believed\"", "declared"),
    (("checks = [\"N\"]", "checks = [\"Q\"]"), "checks = [\"Q\"]", "unknown check kind"),
    (("uses = [\"fam.a\"]", "uses = [\"fam.zzz\"]"), "uses = [\"fam.zzz\"]", "unknown claim 'fam.zzz'"),
    (("id = \"fam.b\"", "id = \"other.b\""), "id = \"other.b\"", "not in family"),
])
def test_bad_field_names_file_line_and_claim(tmp_path, mutation, needle, message):
    text = GOOD.replace(*mutation)
    folder = write(tmp_path, text)
    with pytest.raises(RegistryError) as err:
        load_registry(folder)
    assert message in str(err.value)
    assert err.value.path == folder / "fam.toml"
    assert err.value.line == line_of(text, needle), str(err.value)
    assert f"fam.toml:{err.value.line}" in str(err.value)


def test_missing_field_points_at_the_claim_block(tmp_path):
    text = GOOD.replace('statement = "b"\n', "")
    with pytest.raises(RegistryError, match=r"fam\.toml:\d+ \[claim fam\.b\]: missing required field 'statement'") as err:
        load_registry(write(tmp_path, text))
    headers = [i for i, ln in enumerate(textwrap.dedent(text).lstrip("\n").splitlines(), 1) if ln == "[[claim]]"]
    assert err.value.line == headers[1]  # the header of fam.b's block


def test_toml_syntax_error_names_line(tmp_path):
    text = GOOD.replace('title = "b"', 'title = "b')
    with pytest.raises(RegistryError, match="TOML syntax error") as err:
        load_registry(write(tmp_path, text))
    assert err.value.line == line_of(text, 'title = "b')


def test_duplicate_id_across_files(tmp_path):
    write(tmp_path, GOOD)
    write(tmp_path, GOOD.replace('"fam.', '"gam.').replace('id = "gam.a"', 'id = "gam.b"')
          .replace('uses = ["gam.a"]', "uses = []"), "gam.toml")
    with pytest.raises(RegistryError, match=r"duplicate id") as err:
        load_registry(tmp_path)
    assert err.value.claim_id == "gam.b"


def test_cycle_in_uses_is_reported_with_its_path(tmp_path):
    text = GOOD.replace('id = "fam.a"\ntitle = "a"\nstatement = "a"\ndeclared = "proven"\nsources = ["s"]\nuses = []',
                        'id = "fam.a"\ntitle = "a"\nstatement = "a"\ndeclared = "proven"\nsources = ["s"]\nuses = ["fam.b"]')
    assert text != GOOD
    with pytest.raises(RegistryError, match=r"cycle in uses: fam\.(a|b) -> fam\.(a|b) -> fam\.(a|b)") as err:
        load_registry(write(tmp_path, text))
    assert err.value.line is not None


def test_experiment_needs_a_decision_rule_and_empty_checks_need_a_reason(tmp_path):
    with pytest.raises(RegistryError, match="decision_rule"):
        load_registry(write(tmp_path, GOOD.replace('checks = ["N"]', 'checks = ["E"]')))
    with pytest.raises(RegistryError, match="unchecked_reason"):
        load_registry(write(tmp_path, GOOD.replace('checks = ["N"]', "checks = []")))


def test_expect_needs_its_reason(tmp_path):
    with pytest.raises(RegistryError, match="expect_reason"):
        load_registry(write(tmp_path, GOOD.replace('checks = ["N"]', 'checks = ["N"]\nexpect = "fails"')))
