"""Training data for credit models: a labelled table of applicants (申请人) and the schema of its features.

The label is "bad" (违约, 1) or "good" (0); a CSV or a platform DataFrame may spell it good/bad,
0/1 or true/false. The schema records which features are numeric and which categorical (with the
categories seen in training), so an applicant sent for scoring can be checked before any model sees it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from puhui.risk.errors import MalformedApplicant, MalformedData, MissingLabel

if TYPE_CHECKING:  # pandas is imported lazily: the server and `puhui --help` stay fast
    import numpy as np
    import pandas as pd

DEFAULT_LABEL = "creditability"
BAD_WORDS = {"bad", "1", "true", "yes", "default"}
GOOD_WORDS = {"good", "0", "false", "no"}


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # numeric | categorical
    categories: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.kind == "categorical":
            out["categories"] = list(self.categories)
        return out


@dataclass(frozen=True)
class Schema:
    features: tuple[Feature, ...]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def categorical(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "categorical"]

    def as_json(self) -> list[dict[str, Any]]:
        return [f.as_json() for f in self.features]

    def frame(self, applicant: Mapping[str, Any]) -> pd.DataFrame:
        """One applicant as a one-row frame, checked against the schema (MalformedApplicant if not)."""
        import pandas as pd

        if not isinstance(applicant, Mapping):
            raise MalformedApplicant("features must be an object of feature name to value")
        missing = [n for n in self.names if n not in applicant]
        unknown = sorted(set(applicant) - set(self.names))
        if missing or unknown:
            parts = [
                f"missing: {', '.join(missing)}" if missing else "",
                f"unknown: {', '.join(unknown)}" if unknown else "",
            ]
            raise MalformedApplicant("; ".join(p for p in parts if p), missing=missing, unknown=unknown)
        row = {f.name: _checked(f, applicant[f.name]) for f in self.features}
        return pd.DataFrame([row], columns=self.names)


@dataclass
class Dataset:
    """Features X (a DataFrame), label y (1 = bad), where they came from and their schema."""

    X: pd.DataFrame
    y: np.ndarray
    source: str
    label: str
    schema: Schema = field(init=False)

    def __post_init__(self) -> None:
        self.schema = schema_of(self.X)

    @property
    def rows(self) -> int:
        return len(self.y)

    @property
    def bad_rate(self) -> float:
        return float(self.y.mean())


def load_csv(path: str | Path, label: str = DEFAULT_LABEL) -> Dataset:
    """Read a labelled CSV; MissingLabel if `label` is not one of its columns."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise MalformedData(f"no such file: {path}")
    try:
        frame = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedData(f"{path} is not a readable CSV: {error}") from error
    return from_frame(frame, label, source=str(path))


def from_frame(frame: pd.DataFrame, label: str, source: str = "dataframe") -> Dataset:
    """A Dataset from platform features: `label` names the column (good/bad or 0/1)."""
    if label not in frame.columns:
        raise MissingLabel(
            f"the data has no label column {label!r}; its columns are: {', '.join(map(str, frame.columns))}",
            label=label,
        )
    y = label_values(frame[label])
    X = frame.drop(columns=[label])
    if X.shape[1] == 0 or len(X) < 20:
        raise MalformedData("need at least one feature column and 20 rows")
    if y.min() == y.max():
        raise MalformedData("the label has only one class; need both good and bad")
    X = X.copy()
    for column in X.columns:
        if X[column].dtype == bool:
            X[column] = X[column].astype(str)
    return Dataset(X=X, y=y, source=source, label=label)


def label_values(column: pd.Series) -> np.ndarray:
    import numpy as np

    words = column.astype(str).str.strip().str.lower()
    words = words.str.replace(r"\.0$", "", regex=True)
    unknown = sorted(set(words) - BAD_WORDS - GOOD_WORDS)
    if unknown or column.isna().any():
        raise MalformedData(f"label values must be good/bad or 0/1; found {unknown[:5] or ['<empty>']}")
    return np.asarray(words.isin(BAD_WORDS), dtype=int)


def schema_of(X: pd.DataFrame) -> Schema:
    import pandas as pd

    features = []
    for name in X.columns:
        column = X[name]
        if pd.api.types.is_numeric_dtype(column):
            features.append(Feature(str(name), "numeric"))
        else:
            categories = tuple(sorted(str(v) for v in column.dropna().unique()))
            features.append(Feature(str(name), "categorical", categories))
    return Schema(tuple(features))


def _checked(feature: Feature, value: Any) -> Any:
    if feature.kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise MalformedApplicant(f"{feature.name} must be a finite number, not {value!r}", feature=feature.name)
        return value
    if not isinstance(value, str):
        raise MalformedApplicant(f"{feature.name} must be a string, not {value!r}", feature=feature.name)
    if value not in feature.categories:
        shown = "; ".join(feature.categories[:12])
        raise MalformedApplicant(
            f"{feature.name} = {value!r} is not a known category (one of: {shown})", feature=feature.name
        )
    return value
