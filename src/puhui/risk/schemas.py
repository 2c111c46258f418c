"""What the profile API answers with: the feature registry and a customer's profile (用户画像).

The profile's fields are the registry's features (`puhui.risk.features.FEATURES`), one field each, built
from the registry so the published shape names exactly the features computed: a count is an integer,
money a decimal string with two places (元), a ratio a decimal string with four; empty (null) only for
the features the registry marks nullable."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, create_model

from puhui.api.fields import Money, Schema, Timestamp
from puhui.risk import features as F

Ratio = Annotated[
    str,
    Field(pattern=r"^[0-9]+\.[0-9]{4}$", examples=["0.2500"], description="a ratio as a decimal string, four places"),
]
FEATURE_TYPES: dict[str, Any] = {"int": int, "money": Money, "ratio": Ratio}


class FeatureInfo(Schema):
    """A feature of the registry: its name, type and meaning, with the Chinese term (`term`) where one is natural."""

    name: str
    kind: Literal["int", "money", "ratio"]
    description: str
    term: str
    nullable: bool


def _field(feature: F.Feature) -> tuple[Any, Any]:
    kind = FEATURE_TYPES[feature.kind]
    described = f"{feature.description} ({feature.term})" if feature.term else feature.description
    return (kind | None if feature.nullable else kind), Field(description=described)


FEATURE_FIELDS: dict[str, Any] = {name: _field(feature) for name, feature in F.FEATURES.items()}
ProfileFeatures = create_model(
    "ProfileFeatures",
    __base__=Schema,
    __doc__="A customer's features (用户画像), one field per feature of the registry.",
    **FEATURE_FIELDS,
)
Profile = create_model(
    "Profile",
    __base__=Schema,
    __doc__="A customer's profile (用户画像) as of a time: only data up to that time counts.",
    customer_id=(str, ...),
    as_of=(Timestamp, ...),
    features=(ProfileFeatures, ...),
)
