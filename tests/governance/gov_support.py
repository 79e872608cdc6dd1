"""What the governance tests share: the patients of the test store, keys, count functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cardiofabric.governance import (
    NETWORK_AUDIENCE,
    Gate,
    Purpose,
    issue_contract,
    load_private_key,
)
from cardiofabric.mmio import Consent, ConsentTerm, MMIOBuilder, PayloadSpec, Provenance
from cardiofabric.mmio.said import digest_bytes

SITE = "site-a"
DATASET = "site-a-cohort"
GRU, HMB, DS, GSO = "DUO:0000042", "DUO:0000006", "DUO:0000007", "DUO:0000016"
NCU, IRB = "DUO:0000046", "DUO:0000021"

#: (permissions, prohibitions, status) by patient number modulo 10: the forms ingest records.
CONSENTS: dict[int, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    0: ((GRU,), (), "active"),
    1: ((GRU,), (), "active"),
    2: ((GRU,), (), "active"),
    3: ((GRU,), (), "active"),
    4: ((HMB,), (), "active"),
    5: ((DS,), (), "active"),
    6: ((GRU,), (GSO,), "active"),  # GRU, no use of genomic data
    7: ((GRU,), (), "withdrawn"),
    8: ((HMB, NCU), (), "active"),
    9: ((GRU, IRB), (), "active"),
}
N = 40


def ldl(i: int) -> float:
    """LDL in mmol/L: above 4 for every third patient."""
    return 4.6 if i % 3 == 0 else 3.1


def pseudonym(i: int) -> str:
    return f"pt-{i:04d}"


def make_object(i: int) -> Any:
    perms, prohibs, status = CONSENTS[i % 10]
    consent = Consent.model_validate(
        {
            "permissions": [ConsentTerm(code=c) for c in perms],
            "prohibitions": [ConsentTerm(code=c) for c in prohibs],
            "status": status,
            "version": 1,
        }
    )
    p = pseudonym(i)
    b = MMIOBuilder(pseudonym=p, site=SITE, consent=consent)
    modalities: list[tuple[str, dict[str, list[dict[str, Any]]]]] = [
        (
            "clinical",
            {
                "person": [{"sex": "female" if i % 2 else "male", "birth_year": 1950 + i}],
                "measurement": [
                    {"code_system": "LOINC", "code": "22748-8", "value": ldl(i), "unit": "mmol/L"}
                ],
            },
        )
    ]
    if i % 2 == 0:  # every other patient carries one allele of a variant
        modalities.append(
            (
                "genomic",
                {
                    "variant": [
                        {"build": "GRCh38", "chrom": "19", "pos": 11113589, "ref": "G",
                         "alt": "A", "genotype": "0/1", "zygosity": "het", "gene": "LDLR"}
                    ]
                },
            )
        )  # fmt: skip
    for kind, content in modalities:
        source = f"{p}-{kind}".encode()
        b.add(
            kind=kind,
            media_type="application/json",
            provenance=Provenance(
                source_digest=digest_bytes(source),
                source_system="test-ehr",
                adapter="test",
                adapter_version="1",
                time="2024-03-01T10:00:00Z",
            ),
            payloads=[PayloadSpec(source, "application/octet-stream")],
            content=content,
        )
    return b.build()


@dataclass
class Keys:
    directory: Path
    issuer: str = "dac-1"

    @property
    def private(self) -> Path:
        return self.directory / f"{self.issuer}.key"

    @property
    def public(self) -> Path:
        return self.directory / f"{self.issuer}.pub"

    @property
    def site_private(self) -> Path:
        return self.directory / f"{SITE}.key"

    @property
    def site_public(self) -> Path:
        return self.directory / f"{SITE}.pub"

    def contract(
        self,
        *,
        actions: tuple[str, ...] = ("discover-boolean", "discover-count"),
        purpose: Purpose | None = None,
        researcher: str = "alice",
        datasets: tuple[str, ...] = (DATASET,),
        audience: str | tuple[str, ...] = NETWORK_AUDIENCE,
        valid_for: timedelta = timedelta(days=30),
        **kw: Any,
    ) -> str:
        return issue_contract(
            load_private_key(self.private),
            issuer=self.issuer,
            researcher=researcher,
            datasets=datasets,
            purpose=purpose or Purpose((HMB,)),
            actions=actions,
            audience=audience,
            valid_for=valid_for,
            **kw,
        )


def ldl_count(gate: Gate, threshold: float = 4.0, *, exclude: tuple[str, ...] = ()) -> Any:
    """A count function as the node would write it: patients with LDL above ``threshold``,
    consenting ones only, parametrised SQL."""

    def count(grant: Any) -> int:
        cond, params = grant.consent_filter("m.pseudonym")
        sql = (
            "SELECT count(DISTINCT m.pseudonym) FROM measurement m "
            f"WHERE m.code = '22748-8' AND m.value > ? AND {cond}"
        )
        args: list[Any] = [threshold, *params]
        if exclude:
            sql += " AND m.pseudonym NOT IN (SELECT unnest(?::VARCHAR[]))"
            args.append(list(exclude))
        con = gate.store.connection.cursor()
        try:
            row = con.execute(sql, args).fetchone()
        finally:
            con.close()
        return int(row[0]) if row else 0

    return count
