"""Face recognition on the Me page needs the customer's separate consent to process their biometrics (单独同意,
PIPL art. 28-29), on both backends: beside the face check a box to tick with a plain explanation (Chinese and
English); sent without it the check is refused on the page in Chinese and nothing is recorded; ticked, the check
runs and the consent is recorded as a consent row; while it stands the page says so instead of asking again, and
the Consents section shows it and withdraws it (the box then comes back)."""

from __future__ import annotations

import re

from sqlalchemy import select

from puhui.console import i18n, render
from puhui.db import reading
from puhui.identity.tables import consents, verifications

from .conftest import customer_id_of, sign_up
from .test_self_verification_page import ERROR, NOTICE, form_of, send

BOX = 'name="biometrics_consent" value="true" required'
TOKEN = "liveness-0001"


def _face_rows(engine, customer_id: str) -> list[bool]:  # type: ignore[no-untyped-def]
    c = verifications.c
    with reading(engine) as connection:
        found = connection.execute(
            select(c.passed).where(c.customer_id == customer_id, c.channel == "face").order_by(c.seq)
        )
        return [r[0] for r in found]


def _biometrics(engine, customer_id: str) -> list[tuple[bool, bool, str]]:  # type: ignore[no-untyped-def]
    c = consents.c
    with reading(engine) as connection:
        found = connection.execute(
            select(c.sensitive, c.granted, c.recorded_by)
            .where(c.customer_id == customer_id, c.purpose == "biometrics")
            .order_by(c.seq)
        )
        return [tuple(r) for r in found]


def _consent_row(page: str) -> str:
    start = page.index('data-testid="consent-biometrics"')
    return page[start : page.index("</li>", start)]


def test_the_face_check_asks_for_the_separate_consent_and_records_it(client, engine) -> None:  # type: ignore[no-untyped-def]
    assert sign_up(client, 61).status_code == 303
    cid = customer_id_of(client)
    page = client.get("/app/me").text
    face = page[page.index('data-testid="check-face"') :].split("</form>")[0]
    assert BOX in face and "敏感个人信息" in face and "单独同意" in face and "随时" in face
    assert "未同意" in _consent_row(page)
    english = client.get("/app/me?lang=en").text
    assert "sensitive personal information" in english and "I consent separately" in english
    client.cookies.set(i18n.COOKIE, "zh_CN")

    refused = send(client, "check-face", "/app/me/verifications", liveness_token=TOKEN)  # the box not ticked
    assert refused.status_code == 422
    said = i18n.Formatter("zh_CN").gettext(render.PROBLEMS["biometric_consent_required"])
    assert ERROR.findall(refused.text) == [said] and "单独同意" in said
    assert _face_rows(engine, cid) == [] and _biometrics(engine, cid) == []

    failed = send(
        client, "check-face", "/app/me/verifications", liveness_token="liveness-fail", biometrics_consent="true"
    )
    assert failed.status_code == 303
    page = client.get("/app/me").text
    assert NOTICE.findall(page) == [i18n.Formatter("zh_CN").gettext(render.NOTICES["check_failed"])]
    assert _face_rows(engine, cid) == [False] and _biometrics(engine, cid) == [(True, True, cid)]
    face = page[page.index('data-testid="check-face"') :].split("</form>")[0]
    assert BOX not in face and 'data-testid="biometrics-consent-given"' in face  # it stands: not asked again
    assert "已同意" in _consent_row(page)

    passed = send(client, "check-face", "/app/me/verifications", liveness_token=TOKEN)  # the standing one suffices
    assert passed.status_code == 303 and _face_rows(engine, cid) == [False, True]
    assert _biometrics(engine, cid) == [(True, True, cid)]  # not recorded again
    assert form_of(client.get("/app/me").text, "check-face") is None


def test_the_consents_section_withdraws_the_separate_consent_and_the_box_comes_back(client, engine) -> None:  # type: ignore[no-untyped-def]
    assert sign_up(client, 62).status_code == 303
    cid = customer_id_of(client)
    failed = send(
        client, "check-face", "/app/me/verifications", liveness_token="liveness-fail", biometrics_consent="true"
    )
    assert failed.status_code == 303
    page = client.get("/app/me").text
    row = _consent_row(page)
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', row))
    assert fields["purpose"] == "biometrics" and fields["sensitive"] == "true" and fields["granted"] == "false"
    withdrawn = client.post("/app/me/consents", data=fields, follow_redirects=False)
    assert withdrawn.status_code == 303
    assert _biometrics(engine, cid) == [(True, True, cid), (True, False, cid)]  # 撤回同意, as a later record
    page = client.get("/app/me").text
    assert "未同意" in _consent_row(page) and BOX in page.split('data-testid="check-face"')[1].split("</form>")[0]
    refused = send(client, "check-face", "/app/me/verifications", liveness_token=TOKEN)
    assert refused.status_code == 422 and _face_rows(engine, cid) == [False]
