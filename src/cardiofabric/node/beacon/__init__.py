"""The Beacon v2 API of a site node: requests, filters → SQL, entry types, responses."""

from __future__ import annotations

from cardiofabric.node.beacon.request import BeaconRequest, Filter, parse_get, parse_post

__all__ = ["BeaconRequest", "Filter", "parse_get", "parse_post"]
