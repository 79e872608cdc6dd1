"""The site node: Beacon v2, the DCAT-AP catalogue and patient consent over the site store.

Every answer passes the governance gate (:class:`cardiofabric.governance.gate.Gate`).
"""

from __future__ import annotations

from cardiofabric.node.config import CatalogSettings, NodeSettings, load_node_settings

__all__ = ["CatalogSettings", "NodeSettings", "create_app", "load_node_settings"]


def __getattr__(name: str) -> object:
    # FastAPI is the node extra's: import the app only when asked for.
    if name == "create_app":
        from cardiofabric.node.app import create_app

        return create_app
    raise AttributeError(name)
