"""The shared HTTP helpers: client setup, redaction, JSON decoding, error mapping, coercion."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import httpx
import pytest

from ivcrush_tui import __version__
from ivcrush_tui.domain import ErrorCode, IvCrushError, ProviderError
from ivcrush_tui.providers.http import (
    PayloadError,
    decode_json,
    error_for_status,
    excerpt,
    make_http_client,
    opt_float,
    opt_int,
    opt_str,
    provider_error_from_httpx,
    redact_text,
    redact_url,
    req_float,
    req_str,
    run_parser,
)


async def test_client_sends_user_agent_and_uses_the_transport() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"location": "https://elsewhere.invalid/"})

    async with make_http_client(timeout_s=3.0, transport=httpx.MockTransport(handler)) as http:
        response = await http.get("https://x.invalid/a")
        assert response.status_code == 302  # redirects are not followed
        assert http.timeout.read == 3.0
        assert http.timeout.connect == 3.0
    assert seen[0].headers["user-agent"] == f"ivcrush/{__version__}"
    assert len(seen) == 1


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True])
def test_client_rejects_bad_timeouts(bad: float) -> None:
    with pytest.raises(IvCrushError) as info:
        make_http_client(timeout_s=bad)
    assert info.value.code is ErrorCode.CONFIG


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://www.alphavantage.co/query?function=EARNINGS&symbol=IBM&apikey=SECRET123",
            "https://www.alphavantage.co/query?function=EARNINGS&symbol=IBM&apikey=***",
        ),
        (
            "https://x/query?apikey=SECRET123&function=OVERVIEW",
            "https://x/query?apikey=***&function=OVERVIEW",
        ),
        ("https://x/q?api_key=S&access_token=T&token=U", "https://x/q?api_key=***&access_token=***&token=***"),
        ("https://x/q?APIKEY=S", "https://x/q?APIKEY=***"),
        ("https://x/v1/markets/quotes?symbols=AAPL", "https://x/v1/markets/quotes?symbols=AAPL"),
        ("https://x/token/path?symbol=A", "https://x/token/path?symbol=A"),
    ],
)  # fmt: skip
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert redact_url(httpx.URL(url)) == str(httpx.URL(expected)).replace("%2A", "*")


def test_redact_text_masks_literals_patterns_and_the_av_echo() -> None:
    text = (
        "We have detected your API key as ABCD1234 and ... GET /q?apikey=ZZZ9 "
        "Authorization: Bearer tok.en-123 literal SECRETVALUE end"
    )
    out = redact_text(text, ["SECRETVALUE"])
    for secret in ("ABCD1234", "ZZZ9", "tok.en-123", "SECRETVALUE"):
        assert secret not in out
    assert "API key as ***" in out
    assert "apikey=***" in out
    assert "Bearer ***" in out


def test_excerpt_is_one_bounded_redacted_line() -> None:
    out = excerpt("line one\n\n  line two " + "x" * 500, ["two"])
    assert "\n" not in out
    assert out.startswith("line one line ***")
    assert len(out) <= 203 + 3


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (b"  \r\n ", "empty"),
        (b'{"a": [1, 2', "truncated"),
        (b"<html><head><title>502</title></head></html>", "HTML page"),
        (b"<!DOCTYPE html><p>hi</p>", "HTML page"),
        (b'<?xml version="1.0"?><a/>', "XML document"),
        (b'{"x": NaN}', "NaN"),
        (b'{"x": Infinity}', "Infinity"),
        (b'{"x": 1e400}', "out of range"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON"),
        (b"\x80\x81{", "JSON"),
    ],
)
def test_decode_json_failures_are_bad_payload_naming_the_endpoint(
    body: bytes, fragment: str
) -> None:
    with pytest.raises(ProviderError) as info:
        decode_json(body, provider="p", endpoint="quotes")
    assert info.value.code is ErrorCode.BAD_PAYLOAD
    assert info.value.endpoint == "quotes"
    assert fragment in info.value.message


def test_decode_json_accepts_bom_exponents_and_ints() -> None:
    data = decode_json(b'\xef\xbb\xbf{"g": 1.95546E-10, "n": 0}', provider="p", endpoint="e")
    assert data == {"g": 1.95546e-10, "n": 0}


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (httpx.ConnectTimeout("t"), ErrorCode.TIMEOUT),
        (httpx.ReadTimeout("t"), ErrorCode.TIMEOUT),
        (httpx.PoolTimeout("t"), ErrorCode.TIMEOUT),
        (httpx.ConnectError("refused"), ErrorCode.UNAVAILABLE),
        (httpx.ReadError("reset"), ErrorCode.UNAVAILABLE),
        (httpx.WriteError("reset"), ErrorCode.UNAVAILABLE),
        (httpx.RemoteProtocolError("disconnected"), ErrorCode.UNAVAILABLE),
        (httpx.ProxyError("proxy"), ErrorCode.UNAVAILABLE),
        (httpx.LocalProtocolError("bad header"), ErrorCode.BAD_REQUEST),
        (httpx.UnsupportedProtocol("ftp"), ErrorCode.CONFIG),
        (httpx.InvalidURL("bad url"), ErrorCode.CONFIG),
        (httpx.DecodingError("gzip"), ErrorCode.BAD_PAYLOAD),
    ],
)
def test_httpx_exceptions_map_to_codes(exc: Exception, code: ErrorCode) -> None:
    err = provider_error_from_httpx(exc, provider="tradier", endpoint="quotes", secrets=["S3CR3T"])
    assert err.code is code
    assert err.provider == "tradier"
    assert type(exc).__name__ in err.message


def test_httpx_exception_messages_are_redacted() -> None:
    exc = httpx.ConnectError("https://x/q?apikey=S3CR3T failed, Bearer S3CR3T")
    err = provider_error_from_httpx(exc, provider="p", endpoint="e", secrets=["S3CR3T"])
    assert "S3CR3T" not in str(err)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, ErrorCode.AUTH),
        (403, ErrorCode.AUTH),
        (404, ErrorCode.NOT_FOUND),
        (408, ErrorCode.TIMEOUT),
        (429, ErrorCode.RATE_LIMITED),
        (500, ErrorCode.UNAVAILABLE),
        (502, ErrorCode.UNAVAILABLE),
        (400, ErrorCode.BAD_REQUEST),
        (422, ErrorCode.BAD_REQUEST),
        (302, ErrorCode.UNAVAILABLE),
    ],
)
def test_error_for_status(status: int, code: ErrorCode) -> None:
    err = error_for_status(status, provider="p", endpoint="e", detail="d", retry_after_s=2.0)
    assert err.code is code
    assert f"HTTP {status}: d" == err.message
    assert err.retry_after_s == 2.0


def test_run_parser_turns_stray_exceptions_into_bad_payload() -> None:
    def key_error() -> None:
        raise KeyError("x")

    def type_error() -> None:
        raise TypeError("x")

    def payload() -> None:
        raise PayloadError("field 'bid' has 'abc'")

    for fn in (key_error, type_error, payload):
        with pytest.raises(ProviderError) as info:
            run_parser(fn, provider="p", endpoint="chains")
        assert info.value.code is ErrorCode.BAD_PAYLOAD
        assert info.value.endpoint == "chains"
    assert run_parser(lambda: 5, provider="p", endpoint="e") == 5


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1.0), (0, 0.0), (0.0, 0.0), (1.5, 1.5), ("2.5", 2.5), (" 3 ", 3.0), (None, None)],
)
def test_opt_float_accepts_numbers(value: Any, expected: float | None) -> None:
    assert opt_float({"f": value}, "f") == expected


@pytest.mark.parametrize("value", ["abc", "", True, [1], {"a": 1}, "nan", "inf"])
def test_opt_float_rejects_non_numbers(value: Any) -> None:
    with pytest.raises(PayloadError, match="'f'"):
        opt_float({"f": value}, "f")


def test_other_coercions() -> None:
    assert opt_float({}, "missing") is None
    assert opt_int({"v": 12.0}, "v") == 12
    assert opt_int({"v": None}, "v") is None
    with pytest.raises(PayloadError):
        opt_int({"v": 1.5}, "v")
    assert opt_str({"s": "  x "}, "s") == "x"
    assert opt_str({"s": "  "}, "s") is None
    assert opt_str({"s": 7}, "s") == "7"
    with pytest.raises(PayloadError):
        opt_str({"s": ["x"]}, "s")
    with pytest.raises(PayloadError, match="missing"):
        req_str({}, "s")
    with pytest.raises(PayloadError, match="missing"):
        req_float({"f": None}, "f")


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, False, True])
def test_opt_float_fast_path_still_rejects_non_finite_and_booleans(value: Any) -> None:
    with pytest.raises(PayloadError, match="'f'"):
        opt_float({"f": value}, "f")
    with pytest.raises(PayloadError, match="'f'"):
        opt_int({"f": value}, "f")


def test_coercions_of_exact_and_subclassed_types_agree() -> None:
    class Num(float):
        pass

    assert opt_float({"f": Num(2.5)}, "f") == 2.5
    assert type(opt_float({"f": 7}, "f")) is float
    # Beyond a double's exact integers is no count a provider really sends (and beyond 2**63
    # SQLite cannot store it): refused, so the body is never cached.
    for big in (2**54, 2**60 + 1, 1e308, -(2**60)):
        with pytest.raises(PayloadError, match="integer out of range"):
            opt_int({"v": big}, "v")
    assert opt_int({"v": 2**53}, "v") == 2**53
    assert opt_int({"v": -5}, "v") == -5
    assert opt_str({"s": " x\t"}, "s") == "x"


def test_decode_json_gives_the_json_module_values() -> None:
    # The fast decoder and the json module agree on every value of a real-looking body, and
    # what the fast decoder refuses (a BOM) still gets the json module's verdict.
    body = json.dumps(
        {"options": {"option": [
            {"symbol": "SPY260619P00480000", "bid": 3.1, "ask": 3.14, "volume": 845,
             "greeks": {"mid_iv": 1.95546e-10, "updated_at": "2026-05-29 14:59:03"},
             "close": None, "flag": True, "neg": -0.0, "text": "caf\u00e9 \u2713"},
        ]}}
    ).encode()  # fmt: skip
    assert decode_json(body, provider="p", endpoint="e") == json.loads(body)
    assert decode_json(b"\xef\xbb\xbf" + body, provider="p", endpoint="e") == json.loads(body)
    assert decode_json(b"  [1, 2.5]\n", provider="p", endpoint="e") == [1, 2.5]
    # An integer beyond 64 bits decodes as a float there (never seen in a payload): the field
    # coercion refuses it from either decoder alike.
    big = b'{"v": 12345678901234567890123}'
    for decoded in (decode_json(big, provider="p", endpoint="e"), json.loads(big)):
        with pytest.raises(PayloadError, match="integer out of range"):
            opt_int(decoded, "v")


# A token with characters that URL-encoding changes, so its encoded form differs from it.
ODD_TOKEN = "tok+/=Zq9&x7Lw"


@pytest.mark.parametrize(
    "form",
    [
        ODD_TOKEN,
        "tok%2B%2F%3DZq9%26x7Lw",  # quote(token, safe="")
        base64.b64encode(ODD_TOKEN.encode()).decode(),
        base64.urlsafe_b64encode(ODD_TOKEN.encode()).decode().rstrip("="),
    ],
)
def test_every_encoded_form_of_a_secret_is_redacted(form: str) -> None:
    text = f"upstream said: unknown credential {form} (rejected)"
    out = redact_text(text, [ODD_TOKEN])
    assert form not in out
    assert "unknown credential *** (rejected)" in out


def test_an_excerpt_is_redacted_before_it_is_cut() -> None:
    # The cut at 200 characters used to fall inside the echoed token: the prefix left was no
    # longer the secret, so redaction after the cut missed it.
    text = "x" * 195 + " " + ODD_TOKEN + " tail"
    out = excerpt(text, [ODD_TOKEN])
    assert ODD_TOKEN[:4] not in out
    assert "***" in out
    assert len(out) <= 203
