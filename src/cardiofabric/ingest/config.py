"""The site configuration a data steward writes: the site, its store, its keys, its sources.

A TOML file, validated once when read (paths are relative to the file)::

    [site]
    name = "nl-amsterdam"            # letters, digits, '.', '_', '-'
    country = "NL"
    language = "nld"                 # ISO 639-3 of the sources' labels
    store = "store"                  # the site store directory (created on first ingest)
    secret_file = "keys/pseudonym.secret"   # or: secret_env = "CARDIOFABRIC_PSEUDONYM_SECRET"
    recipients = ["keys/site.pub"]   # Crypt4GH public keys payloads are encrypted for (optional)
    code_map = "maps/codes.toml"     # the site's local code map (optional)

    [genomics]
    knowledge = "knowledge.duckdb"   # the knowledge base of variant resources (optional)

    [[sources]]
    path = "fhir/patients.json"      # a file, a directory, or a glob ("ecg/*.hea")
    format = "fhir-bundle"           # an ingest adapter's format name
    system = "HiX"                   # the source system, kept in provenance
    [sources.options]                # adapter options; "mapping" and "*_file"/"*_path" values
    mapping = "maps/extract.toml"    # are paths relative to this file

The pseudonym secret never appears in the configuration itself: it lives in a file readable by
the steward only, or in an environment variable.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cardiofabric.errors import InputError

__all__ = ["GenomicsSection", "SiteConfig", "SiteSection", "SourceSection", "load_site_config"]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SiteSection(_Strict):
    name: str = Field(pattern=_NAME)
    country: str | None = None
    language: str = "eng"
    store: str = "store"
    secret_file: str | None = None
    secret_env: str | None = None
    recipients: list[str] = Field(default_factory=list)
    code_map: str | None = None

    @field_validator("language")
    @classmethod
    def _lang(cls, v: str) -> str:
        if len(v) != 3 or not v.isalpha():
            raise ValueError(f"expected an ISO 639-3 code such as 'nld', found {v!r}")
        return v.lower()


class SourceSection(_Strict):
    path: str
    format: str
    system: str = "unknown"
    name: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class GenomicsSection(_Strict):
    """``[genomics]``: the site's knowledge base of variant resources (gnomAD, ClinVar, ...)."""

    knowledge: str | None = None  # a DuckDB file, relative to this configuration


class SiteConfig(_Strict):
    site: SiteSection
    sources: list[SourceSection] = Field(default_factory=list)
    genomics: GenomicsSection = Field(default_factory=GenomicsSection)
    #: The site node's table and the disclosure policy; validated by cardiofabric.node and
    #: cardiofabric.governance (which ingest may not import), kept here as read.
    node: dict[str, Any] = Field(default_factory=dict)
    policy: dict[str, Any] = Field(default_factory=dict)
    #: The folder the configuration file is in; relative paths are resolved against it.
    base: Path = Path(".")

    def resolve(self, relative: str) -> Path:
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base / p

    @property
    def store_path(self) -> Path:
        return self.resolve(self.site.store)

    @property
    def knowledge_path(self) -> Path | None:
        """The site's knowledge base (``[genomics] knowledge``), or None when not configured."""
        k = self.genomics.knowledge
        return self.resolve(k) if k else None

    def secret(self) -> str:
        """The pseudonym secret (from its file or environment variable); never logged."""
        s = self.site
        if s.secret_env:
            value = os.environ.get(s.secret_env, "").strip()
            if not value:
                raise InputError(
                    f"the environment variable {s.secret_env} holding the pseudonym secret is "
                    "not set",
                    hint=f"export {s.secret_env}=... before ingesting",
                )
            return value
        if s.secret_file:
            path = self.resolve(s.secret_file)
            try:
                value = path.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                raise InputError(
                    "the pseudonym secret file does not exist",
                    path=path,
                    hint="create it once: python -c 'import secrets; print(secrets.token_hex(32))'"
                    " > FILE; chmod 600 FILE — and keep it: a new secret gives new pseudonyms",
                ) from None
            if not value:
                raise InputError("the pseudonym secret file is empty", path=path)
            return value
        raise InputError(
            "the site has no pseudonym secret",
            hint="set [site] secret_file = 'keys/pseudonym.secret' or secret_env = 'VAR'",
        )

    def source_paths(self, source: SourceSection) -> list[Path]:
        """The files or folders a source names (a glob expands to every match, sorted)."""
        if any(ch in source.path for ch in "*?["):
            pattern = Path(source.path)
            base = self.base if not pattern.is_absolute() else Path(pattern.anchor)
            rel = str(pattern.relative_to(base)) if pattern.is_absolute() else source.path
            matches = sorted(base.glob(rel))
            if not matches:
                raise InputError(
                    f"the source pattern {source.path!r} matches no file",
                    path=self.base,
                    hint="check the path in [[sources]] (relative to the configuration file)",
                )
            return matches
        path = self.resolve(source.path)
        if not path.exists():
            raise InputError(
                f"the source {source.path!r} does not exist",
                path=path,
                hint="check the path in [[sources]] (relative to the configuration file)",
            )
        return [path]

    def source_options(self, source: SourceSection) -> dict[str, Any]:
        """Adapter options with file options resolved against the configuration's folder."""
        out: dict[str, Any] = {}
        for key, value in source.options.items():
            is_file = key == "mapping" or key.endswith(("_file", "_path"))
            out[key] = str(self.resolve(value)) if is_file and isinstance(value, str) else value
        return out


def load_site_config(path: Path | str) -> SiteConfig:
    """Read and validate a site configuration; errors name the file and the key."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("site configuration not found", path=p) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid TOML ({exc})", path=p) from None
    try:
        return SiteConfig.model_validate({**raw, "base": p.resolve().parent})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise InputError(
            f"in {where}: {err['msg']}",
            path=p,
            hint="see the site configuration format in 'cardiofabric ingest --help' and the README",
        ) from None
