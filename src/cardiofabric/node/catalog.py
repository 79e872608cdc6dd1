"""``/catalog``: the site's dataset as DCAT-AP 3.0 JSON-LD, with HealthDCAT-AP properties.

Classes and properties from DCAT-AP 3.0 (SEMIC, 2024: ``dcat:Catalog``, ``dcat:Dataset``,
``dcat:DataService``, ``dct:temporal``/``dct:PeriodOfTime``, ``dcat:contactPoint`` as a vCard,
``dct:accessRights`` from the EU access-right authority table) and from the HealthDCAT-AP
draft of the European Health Data Space (namespace ``http://healthdataportal.eu/ns/health#``:
``numberOfUniqueIndividuals``, ``hasCodingSystem``, ``healthCategory``) where they fit; the
data use conditions are DUO terms as ODRL permissions (the DUO IRIs,
``http://purl.obolibrary.org/obo/DUO_...``). HealthDCAT-AP was a draft when this was written;
its property names are worth re-checking against the release a catalogue harvests with.

Everything here is public: sizes are rounded to tens and omitted below the site's minimum
cell count (:func:`cardiofabric.node.context.rounded_size`).
"""

from __future__ import annotations

from typing import Any

from cardiofabric.node.context import NodeContext, rounded_size
from cardiofabric.vocab.systems import system_uri

__all__ = ["catalog"]

_CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "odrl": "http://www.w3.org/ns/odrl/2/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "healthdcatap": "http://healthdataportal.eu/ns/health#",
    "dcatap": "http://data.europa.eu/r5r/",
}
_EU = "http://publications.europa.eu/resource/authority"
#: ISO 3166-1 alpha-2 → the EU country authority's alpha-3 codes (the Pathfinder countries
#: and neighbours; others are left out rather than guessed).
_COUNTRIES = {
    "NL": "NLD", "SE": "SWE", "FI": "FIN", "IT": "ITA", "DE": "DEU", "BE": "BEL", "FR": "FRA",
    "ES": "ESP", "DK": "DNK", "NO": "NOR", "AT": "AUT", "PT": "PRT", "IE": "IRL", "PL": "POL",
}  # fmt: skip
_MODALITY_LABELS = {
    "clinical": "clinical record",
    "ecg": "electrocardiogram",
    "imaging": "cardiac imaging",
    "genomic": "genomic variants",
    "wearable": "wearable sensor data",
}


def catalog(ctx: NodeContext) -> dict[str, Any]:
    """The site's DCAT-AP catalogue as a JSON-LD document."""
    s, settings = ctx.summary(), ctx.settings
    k = ctx.gate.policy.min_cell_count
    base = settings.url
    cat = settings.catalog
    publisher: dict[str, Any] = {
        "@type": "foaf:Agent",
        "foaf:name": cat.organisation or f"CardioFabric site {settings.site}",
    }
    if cat.url:
        publisher["foaf:homepage"] = {"@id": cat.url}
    dataset: dict[str, Any] = {
        "@id": f"{base}/catalog#dataset-{ctx.dataset}",
        "@type": "dcat:Dataset",
        "dct:identifier": ctx.dataset,
        "dct:title": cat.title or f"{settings.site} cardiology cohort",
        "dct:description": cat.description
        or "Harmonised clinical, ECG, imaging, genomic and wearable data of the site's "
        "consenting patients, queried in place through a Beacon v2 API",
        "dct:publisher": publisher,
        "dcat:theme": {"@id": f"{_EU}/data-theme/HEAL"},
        "dct:accessRights": {"@id": f"{_EU}/access-right/NON_PUBLIC"},
        "dcat:keyword": [
            "cardiology",
            *(_MODALITY_LABELS.get(m, m) for m in sorted(s.modalities)),
            *cat.keywords,
        ],
        "healthdcatap:hasCodingSystem": [
            {"@id": uri} for uri in (system_uri(x) for x in s.systems) if uri
        ],
        "healthdcatap:healthCategory": [_MODALITY_LABELS.get(m, m) for m in sorted(s.modalities)],
        "dcat:accessService": {
            "@type": "dcat:DataService",
            "dct:title": "Beacon v2 API",
            "dcat:endpointURL": {"@id": f"{base}/api"},
            "dcat:endpointDescription": {"@id": f"{base}/openapi.json"},
            "dct:conformsTo": {"@id": "https://github.com/ga4gh-beacon/beacon-v2"},
        },
        "odrl:hasPolicy": {
            "@type": "odrl:Offer",
            "odrl:permission": [
                {
                    "odrl:action": {"@id": "odrl:use"},
                    "odrl:constraint": {
                        "odrl:leftOperand": "purpose",
                        "odrl:rightOperand": {"@id": _duo_iri(code)},
                    },
                }
                for code in s.duo
            ],
            "dct:description": "Each patient's DUO consent is applied per request; a data "
            "access contract (signed token) states the purpose, datasets and actions",
        },
    }
    size = rounded_size(s.patients, k)
    if size is not None:
        dataset["healthdcatap:numberOfUniqueIndividuals"] = {
            "@value": size, "@type": "xsd:nonNegativeInteger"
        }  # fmt: skip
    if s.first and s.last:
        dataset["dct:temporal"] = {
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": {"@value": s.first, "@type": "xsd:date"},
            "dcat:endDate": {"@value": s.last, "@type": "xsd:date"},
        }
    if settings.country and settings.country.upper() in _COUNTRIES:
        dataset["dct:spatial"] = {"@id": f"{_EU}/country/{_COUNTRIES[settings.country.upper()]}"}
    if cat.contact:
        contact = cat.contact
        dataset["dcat:contactPoint"] = {
            "@type": "vcard:Kind",
            "vcard:fn": cat.organisation or settings.site,
            ("vcard:hasEmail" if contact.startswith("mailto:") else "vcard:hasURL"): {
                "@id": contact
            },
        }
    return {
        "@context": _CONTEXT,
        "@id": f"{base}/catalog",
        "@type": "dcat:Catalog",
        "dct:title": f"CardioFabric catalogue of {settings.site}",
        "dct:description": "The datasets this site node offers for federated queries",
        "dct:publisher": publisher,
        "dcat:dataset": [dataset],
        "dcat:service": [dataset["dcat:accessService"]],
    }


def _duo_iri(code: str) -> str:
    return "http://purl.obolibrary.org/obo/" + code.replace(":", "_")
