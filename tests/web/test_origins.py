"""Which pages may open a live connection: pure."""

from __future__ import annotations

import pytest

from server.web.origins import OriginCheck, is_bare_origin, origin_of


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://conference.example.org/plenary/", "https://conference.example.org"),
        ("HTTPS://Conference.Example.ORG:443", "https://conference.example.org"),
        ("http://127.0.0.1:80/", "http://127.0.0.1"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://x.org:80", "https://x.org:80"),
        ("http://[::1]:8080/x", "http://[::1]:8080"),
        ("http://xn--exmple-cua.org", "http://xn--exmple-cua.org"),
    ],
)
def test_an_origin_is_written_as_browsers_write_it(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    "url",
    ["null", "*", "ftp://x.org", "x.org", "https://", "https://exämple.org", "http://x:99999"],
)
def test_what_has_no_http_origin_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        origin_of(url)


@pytest.mark.parametrize(
    ("url", "bare"),
    [
        ("https://x.org", True),
        ("https://x.org/", True),
        ("https://x.org:8443", True),
        ("https://x.org/app", False),
        ("https://x.org/?", False),
        ("https://x.org#", False),
        ("https://u:p@x.org", False),
    ],
)
def test_a_bare_origin_has_nothing_after_the_port(url: str, bare: bool) -> None:
    assert is_bare_origin(url) is bare


def environ(host: str, scheme: str = "http") -> dict[str, str]:
    return {"HTTP_HOST": host, "wsgi.url_scheme": scheme}


def test_the_public_url_the_host_served_on_and_the_configured_origins_are_allowed() -> None:
    check = OriginCheck("https://conference.example.org/plenary", ["https://www.example.org"])
    behind_a_proxy = environ("127.0.0.1:8080")
    assert check("https://conference.example.org", behind_a_proxy)
    assert check("https://www.example.org", behind_a_proxy)
    assert check("http://127.0.0.1:8080", behind_a_proxy)
    assert check("HTTP://127.0.0.1:8080", behind_a_proxy)
    assert check(None, behind_a_proxy)  # not a browser: nothing to check


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://conference.example.org",  # another scheme
        "https://conference.example.org:8443",  # another port
        "http://127.0.0.1:8081",
        "http://localhost:8080",
        "null",
        "",
        "https://www.example.org.evil.example",
    ],
)
def test_other_pages_are_refused(origin: str) -> None:
    check = OriginCheck("https://conference.example.org", ["https://www.example.org"])
    assert not check(origin, environ("127.0.0.1:8080"))


def test_a_request_without_a_usable_host_matches_only_the_allowed() -> None:
    check = OriginCheck("http://127.0.0.1:8080")
    assert not check("http://evil.example", {})
    assert not check("http://evil.example", environ("bad host:x"))
    assert check("http://127.0.0.1:8080", {})
