"""The node's settings: read once from the site's TOML (``[node]``, ``[policy]``), checked at start.

The site configuration the ingest reads (:mod:`cardiofabric.ingest.config`) gains two tables::

    [node]
    host = "127.0.0.1"
    port = 8701
    audience = "nl-amsterdam"               # the ``aud`` a contract must name (default: site)
    revocation_list = "keys/revoked.jwt"    # signed list of revoked contracts (optional)
    revocation_refresh_s = 60
    environment = "test"                    # prod | test | dev | staging (Beacon info)
    dataset = "nl-amsterdam"                # the Beacon dataset id (default: site)
    [node.issuers]                          # trusted contract issuers → Ed25519 public keys
    "pathfinder-dac" = "keys/dac.pub.pem"
    [node.catalog]
    organisation = "Amsterdam UMC"
    url = "https://example.org"
    contact = "mailto:datasteward@example.org"
    description = "..."

    [policy]                                # disclosure policy (cardiofabric.governance)
    min_cell_count = 5

Environment variables ``CARDIOFABRIC_NODE_<FIELD>`` override the file (e.g.
``CARDIOFABRIC_NODE_PORT=9000``), so that a container can move a node without editing it.
Paths are relative to the configuration file. :func:`load_node_settings` checks that the store
and every key exist before a port is opened: a node that would answer 500 to its first request
must not start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from cardiofabric.errors import InputError, StoreError

__all__ = ["CatalogSettings", "NodeSettings", "load_node_settings"]


class CatalogSettings(BaseModel):
    """Who publishes the site's dataset: DCAT-AP ``dct:publisher`` / ``dcat:contactPoint``."""

    model_config = ConfigDict(extra="forbid")

    organisation: str | None = None
    url: str | None = None
    contact: str | None = None
    description: str | None = None
    title: str | None = None
    keywords: list[str] = Field(default_factory=list)


class NodeSettings(BaseSettings):
    """Everything a site node needs; validated once (pydantic-settings, env prefix below)."""

    model_config = SettingsConfigDict(env_prefix="CARDIOFABRIC_NODE_", extra="forbid")

    site: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    store: Path
    country: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8701, ge=1, le=65535)
    #: The URL clients reach the node at (Beacon map URLs); default http://host:port.
    base_url: str | None = None
    dataset: str | None = None
    audience: str | None = None
    issuers: dict[str, Path] = Field(default_factory=dict)
    revocation_list: Path | None = None
    revocation_refresh_s: float = Field(default=60.0, gt=0)
    environment: Literal["prod", "test", "dev", "staging"] = "test"
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    policy: dict[str, Any] = Field(default_factory=dict)
    #: Request bounds (see docs/design.md "Node"): body bytes, filters per query, page size.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_filters: int = Field(default=32, ge=1)
    max_limit: int = Field(default=1000, ge=1)
    log_level: str = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file (the file arrives as init values).
        return (env_settings, init_settings)

    @property
    def dataset_id(self) -> str:
        return self.dataset or self.site

    @property
    def audience_id(self) -> str:
        return self.audience or self.site

    @property
    def url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")


def _check_paths(s: NodeSettings, source: Path | None) -> None:
    from cardiofabric.store.site import DATABASE

    if not (s.store / DATABASE).is_file():
        raise StoreError(
            "the node has no site store to serve: "
            + ("the directory does not exist" if not s.store.exists() else f"no {DATABASE} in it"),
            path=s.store,
            hint="ingest the site first: cardiofabric ingest "
            + (str(source) if source else "SITE_TOML"),
        )
    for issuer, key in s.issuers.items():
        if not key.is_file():
            raise InputError(
                f"the public key of trusted issuer {issuer!r} does not exist",
                path=key,
                hint="copy the issuer's public key there (cardiofabric governance keygen writes "
                "one), or remove the issuer from the node.issuers table",
            )
    if s.revocation_list is not None and not s.revocation_list.is_file():
        raise InputError(
            "the revocation list named by node.revocation_list does not exist",
            path=s.revocation_list,
            hint="create it with: cardiofabric governance revoke ..., or remove the setting",
        )


def load_node_settings(path: Path | str, **overrides: Any) -> NodeSettings:
    """The node's settings from a site TOML (``overrides`` win, e.g. host/port from the CLI)."""
    from cardiofabric.ingest.config import load_site_config

    p = Path(path)
    config = load_site_config(p)
    raw: dict[str, Any] = dict(config.node)
    catalog = raw.pop("catalog", {})
    issuers = {k: str(config.resolve(str(v))) for k, v in raw.pop("issuers", {}).items()}
    values: dict[str, Any] = {
        **raw,
        "site": config.site.name,
        "country": config.site.country,
        "store": config.store_path,
        "issuers": issuers,
        "catalog": catalog,
        "policy": dict(config.policy),
    }
    if raw.get("revocation_list"):
        values["revocation_list"] = config.resolve(str(raw["revocation_list"]))
    # Square brackets are avoided in messages: the CLI prints them as rich markup.
    try:
        settings = NodeSettings(**values)
        given = {k: v for k, v in overrides.items() if v is not None}
        if given:  # the command line wins over the environment and the file
            settings = NodeSettings.model_validate(
                {**settings.model_dump(), **given}, context=None
            ).model_copy(update=given)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise InputError(
            f"in the node settings, {where}: {err['msg']}",
            path=p,
            hint="see the node table of the site TOML in the README, section 'Site node'",
        ) from None
    _check_paths(settings, p)
    return settings
