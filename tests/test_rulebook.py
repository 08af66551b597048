"""The rulebook is complete: every rule quotes its policy in the policy's own words, has a
section and a table row in RULES.md, and a test module that opens with a truth table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rules import ALL_RULES, GATES, PERIODIC, RULES_BY_ID
from rules.base import Rule

ROOT = Path(__file__).resolve().parents[1]
RULES_MD = (ROOT / "rules" / "RULES.md").read_text(encoding="utf-8")
POLICIES = " ".join(
    p.read_text(encoding="utf-8") for p in (ROOT / "rules" / "policies").glob("*.txt")
)


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'")).strip().lower()


def test_the_policy_documents_are_shipped_with_the_rules() -> None:
    names = sorted(p.name for p in (ROOT / "rules" / "policies").glob("*.txt"))
    assert names == [
        "mentoring-policy-and-procedure.txt",
        "safety-and-confidentiality-policy.txt",
    ]


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_each_rule_quotes_its_policy_verbatim(rule: Rule) -> None:
    for fragment in rule.policy.split("…"):
        assert normal(fragment).strip(" :") in normal(POLICIES), fragment


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_each_rule_has_a_section_and_a_table_row(rule: Rule) -> None:
    assert f"\n## {rule.id}\n" in RULES_MD
    assert f"| `{rule.id}` |" in RULES_MD


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_each_rule_has_a_test_module_opening_with_a_truth_table(rule: Rule) -> None:
    module = ROOT / "tests" / "rules" / f"test_{rule.id.replace('-', '_')}.py"
    assert module.exists(), f"{module.name} is missing"
    source = module.read_text(encoding="utf-8")
    tables = re.findall(r"^([A-Z_]*TABLE)\s*[:=]", source, re.MULTILINE)
    assert tables, "no module-level truth table (a *_TABLE list of rows)"
    assert any(re.search(rf"parametrize\([^)]*{t}", source, re.DOTALL) for t in tables), (
        "no test is parametrized over the truth table"
    )


def test_ids_are_unique_kebab_case_and_registries_hold_only_known_rules() -> None:
    assert len(RULES_BY_ID) == len(ALL_RULES)
    for rule in ALL_RULES:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", rule.id)
    assert {g.id for g in GATES} <= set(RULES_BY_ID)
    assert {p.id for p in PERIODIC} <= set(RULES_BY_ID)


def test_the_sections_follow_the_table_order() -> None:
    sections = re.findall(r"^## ([a-z-]+)$", RULES_MD, re.MULTILINE)
    assert sections == [rule.id for rule in ALL_RULES]
