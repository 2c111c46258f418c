"""The sign-up form states the password policy it will be held to (`identity.models.check_password`), so a
customer learns the rule before a refusal, not from it."""

from __future__ import annotations

from puhui.identity.models import PASSWORD_MAX, PASSWORD_MIN

from .conftest import sign_up


def test_the_sign_up_form_states_the_password_rule_the_platform_checks(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/app/register").text
    assert f"{PASSWORD_MIN} 到 {PASSWORD_MAX} 个字符，不能全是数字" in page
    assert f'minlength="{PASSWORD_MIN}" maxlength="{PASSWORD_MAX}"' in page
    refused = sign_up(client, 62, password="12345678901")  # long enough, but only digits: the rule's second part
    assert refused.status_code == 422 and "/app/register" not in refused.headers.get("location", "")
