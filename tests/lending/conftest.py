"""Every lending test has a platform credit model (`credit_model.CreditModel`, a set score) unless it removes
it: without one no application is approved."""

from __future__ import annotations

import pytest

from .credit_model import CreditModel
from .credit_model import credit_model as credit_model  # the fixture, for the tests here

__all__ = ["CreditModel", "credit_model"]


@pytest.fixture(autouse=True)
def _scored(credit_model: CreditModel) -> CreditModel:
    return credit_model
