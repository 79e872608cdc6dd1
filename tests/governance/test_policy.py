"""The site policy: defaults with their sources, the [policy] table of a site TOML."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardiofabric.errors import InputError
from cardiofabric.governance import SitePolicy


def test_defaults() -> None:
    p = SitePolicy()
    assert (p.min_cell_count, p.nfilter_tab, p.nfilter_subset, p.nfilter_glm) == (5, 3, 3, 0.33)
    assert (p.anonymous_granularity, p.max_granularity) == ("boolean", "count")
    assert p.anonymous_threshold == 5
    assert p.dp.enabled and p.dp.epsilon_per_query == 0.5 and p.dp.epsilon_budget == 5.0
    assert p.dp.scale == 2.0


def test_from_toml(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        '[site]\nname = "site-a"\n\n'
        '[policy]\nmin_cell_count = 11\nds_diseases = ["ICD10:I42"]\ncountry = "nl"\n\n'
        "[policy.dp]\nepsilon_per_query = 0.25\n",
        encoding="utf-8",
    )
    p = SitePolicy.from_toml(site)
    assert p.min_cell_count == 11 and p.anonymous_threshold == 11
    assert p.ds_diseases == ("ICD10:I42",) and p.country == "NL"
    assert p.dp.epsilon_per_query == 0.25 and p.dp.epsilon_budget == 5.0
    (tmp_path / "bare.toml").write_text('[site]\nname = "x"\n', encoding="utf-8")
    assert SitePolicy.from_toml(tmp_path / "bare.toml") == SitePolicy()


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[policy]\nmin_cell_count = 0\n", "policy.min_cell_count"),
        ("[policy]\nmax_granularity = 'everything'\n", "policy.max_granularity"),
        ("[policy]\nmin_cel_count = 5\n", "policy.min_cel_count"),
        ("[policy.dp]\nepsilon_per_query = -1\n", "policy.dp.epsilon_per_query"),
    ],
)
def test_bad_policies_name_the_key(tmp_path: Path, text: str, names: str) -> None:
    site = tmp_path / "site.toml"
    site.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        SitePolicy.from_toml(site)
    assert names in str(info.value) and str(site) in str(info.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        SitePolicy.from_toml(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[policy\n", encoding="utf-8")
    with pytest.raises(InputError, match="TOML"):
        SitePolicy.from_toml(tmp_path / "bad.toml")
