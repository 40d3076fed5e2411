"""Registration in headless Chromium against a real server that mails through aiosmtpd:
the sign-up form in each mode, the organizer's review page, and an attendee's join link.

Screenshots at desktop and phone widths go to /tmp/plenary-shots/reg-*.png.
"""

from __future__ import annotations

import csv
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.conftest import DESKTOP, PHONE, OpenPage
from tests.serverproc import ServerProcess, event_config, free_port
from tests.smtp import SmtpServer, join_link

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/plenary-shots")
# The server checks for revoked tokens about once a second and must act within five.
WITHDRAWN_MS = 12_000
# The organizer page looks again every 3 s while a letter is on its way.
MAIL_SEEN_MS = 10_000
MARKUP_NAME = '<b>Bold</b> <img src="x" onerror="alert(1)">'
OTHER_SCRIPTS = ("أمينة العلي", "Ольга Петрова", "王芳")

StartSite = Callable[..., ServerProcess]


@pytest.fixture
def start_site(
    start_server: Callable[..., ServerProcess], smtp_server: SmtpServer, tmp_path: Path
) -> StartSite:
    """A real server in registration `mode`, mailing to aiosmtpd, its links pointing at itself."""

    def start(mode: str, per_minute: int = 60) -> ServerProcess:
        port = free_port()
        config = event_config(
            tmp_path,
            mode=mode,
            smtp_port=smtp_server.port,
            per_minute=per_minute,
            public_url=f"http://127.0.0.1:{port}",
        )
        return start_server(config=config, port=port)

    return start


def refuse_dialog(dialog: Dialog, errors: list[str]) -> None:
    """The pages never use alert() or confirm(); markup run as script would."""
    errors.append(f"unexpected {dialog.type}: {dialog.message}")
    dialog.dismiss()


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"reg-{name}.png"), full_page=True)


def fits_without_scrolling_sideways(page: Page) -> bool:
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    return bool(widths["scroll"] <= widths["client"])


def call(
    server: ServerProcess, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    """One HTTP request to the server: (status, JSON body)."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(server.url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def register(server: ServerProcess, name: str, email: str, affiliation: str = "") -> str:
    body = {"name": name, "email": email, "affiliation": affiliation, "consent": True}
    status, answer = call(server, "POST", "/api/registrations", body)
    assert status == 201, answer
    return str(answer["id"])


def fill_form(page: Page, name: str, email: str, affiliation: str = "") -> None:
    page.get_by_label("Full name").fill(name)
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Organisation or affiliation").fill(affiliation)
    page.get_by_label("I have read the privacy notice").check()


def mailed_link(server: ServerProcess, smtp_server: SmtpServer, address: str) -> str:
    """The join link mailed to `address`, on this server (its token is what matters here)."""
    link = join_link(smtp_server.inbox.wait_for(address)[-1])
    return f"{server.url}/#token={link.split('#token=', 1)[1]}"


def registration_row(page: Page, name: str) -> Any:
    return page.locator("#registrations-table tbody tr").filter(
        has=page.get_by_role("rowheader", name=name, exact=True)
    )


def test_register_in_approval_mode_says_an_organizer_will_review(
    start_site: StartSite, open_page: OpenPage, smtp_server: SmtpServer
) -> None:
    server = start_site("approval")
    page = open_page(f"{server.url}/register")

    notice = page.locator("#privacy-text p")
    expect(notice.first).to_contain_text("seen by the organizers alone")
    assert notice.count() == 3  # the notice's paragraphs, as paragraphs
    expect(page.get_by_role("heading", name="Privacy notice")).to_be_visible()
    shoot(page, "register-desktop")

    page.get_by_role("button", name="Register").click()
    expect(page.locator("#name-error")).to_have_text("Please enter your name.")
    expect(page.locator("#consent-error")).to_contain_text("privacy notice")
    expect(page.get_by_label("Full name")).to_be_focused()
    expect(page.get_by_label("Full name")).to_have_attribute("aria-invalid", "true")

    fill_form(page, "Ana Pérez", "ana@example.org", "La Strada")
    page.get_by_role("button", name="Register").click()

    result = page.locator("#result")
    expect(result).to_contain_text("an organizer will review it", ignore_case=True)
    expect(result).to_contain_text("you will receive an e-mail")
    expect(page.locator("#register-form")).to_be_hidden()
    expect(page.locator("#announcer")).to_contain_text("An organizer will review it")
    assert smtp_server.inbox.to("ana@example.org") == []  # nothing until approved
    shoot(page, "register-pending-desktop")

    again = open_page(f"{server.url}/register", viewport=PHONE)
    fill_form(again, "Ana Pérez", "ANA@example.org")
    again.get_by_role("button", name="Register").click()
    expect(again.locator("#email-error")).to_contain_text("already registered")
    # The way on is the link sent again, with the address already in its field.
    expect(again.get_by_label("The address you registered with")).to_be_focused()
    expect(again.get_by_label("The address you registered with")).to_have_value("ANA@example.org")
    shoot(again, "register-duplicate-phone")
    assert fits_without_scrolling_sideways(again)


def test_server_field_errors_show_beside_the_field(
    start_site: StartSite, open_page: OpenPage
) -> None:
    server = start_site("approval")
    page = open_page(f"{server.url}/register")
    # The browser checks only the rough shape; the server also refuses an empty domain label.
    fill_form(page, "Ana", "ana@example..org")

    page.get_by_role("button", name="Register").click()

    expect(page.locator("#email-error")).to_have_text(
        re.compile(r"^An email address cannot have two periods in a row")
    )
    expect(page.get_by_label("E-mail address")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#result")).to_be_hidden()


def test_an_address_the_mail_server_cannot_carry_is_refused_in_words(
    start_site: StartSite, open_page: OpenPage
) -> None:
    server = start_site("approval")  # its SMTP server does not offer SMTPUTF8
    page = open_page(f"{server.url}/register")
    fill_form(page, "Jürgen", "jürgen@exämple.org")

    page.get_by_role("button", name="Register").click()

    expect(page.locator("#email-error")).to_contain_text("please register with another address")
    expect(page.get_by_label("E-mail address")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#result")).to_be_hidden()


def test_register_in_open_mode_mails_the_link_at_once(
    start_site: StartSite, open_page: OpenPage, smtp_server: SmtpServer
) -> None:
    server = start_site("open")
    page = open_page(f"{server.url}/register", viewport=PHONE)
    expect(page.locator("#mode-note")).to_contain_text("straight away")
    fill_form(page, "Ольга Петрова", "olga@example.org")
    shoot(page, "register-phone")

    page.get_by_role("button", name="Register").click()

    expect(page.locator("#result")).to_contain_text("Check your e-mail for your personal join link")
    expect(page.locator("#result")).to_be_focused()
    link = join_link(smtp_server.inbox.wait_for("olga@example.org")[0])
    assert link.startswith(f"{server.url}/#token=")
    shoot(page, "register-approved-phone")
    assert fits_without_scrolling_sideways(page)


def test_closed_mode_hides_the_form(start_site: StartSite, open_page: OpenPage) -> None:
    server = start_site("closed")
    page = open_page(f"{server.url}/register")

    expect(page.get_by_role("heading", name="Registration is closed")).to_be_visible()
    expect(page.locator("#register-form")).to_be_hidden()
    shoot(page, "register-closed-desktop")


def test_too_many_attempts_say_when_to_try_again(
    start_site: StartSite, open_page: OpenPage
) -> None:
    server = start_site("approval", per_minute=1)
    register(server, "First", "first@example.org")
    page = open_page(f"{server.url}/register")
    fill_form(page, "Second", "second@example.org")

    page.get_by_role("button", name="Register").click()

    expect(page.locator("#form-error")).to_have_text(
        re.compile(r"^Too many attempts\. Please try again in \d+ seconds?\.$")
    )
    expect(page.get_by_role("button", name="Register")).to_be_disabled()
    expect(page.locator("#result")).to_be_hidden()


def test_organizer_approves_a_pending_registration(
    start_site: StartSite, open_page: OpenPage, smtp_server: SmtpServer
) -> None:
    server = start_site("approval")
    register(server, "Ana Pérez", "ana@example.org", "La Strada")
    register(server, "Ben Okafor", "ben@example.org")
    page = open_page(f"{server.url}/organizer#token={server.token('organizer', 'Olga')}")

    expect(page).to_have_url(f"{server.url}/organizer")  # the token left the address bar
    expect(page.locator("#signed-in-as")).to_have_text("Signed in as Olga")
    pending = page.get_by_role("button", name=re.compile(r"^Pending"))
    expect(pending).to_have_attribute("aria-pressed", "true")
    expect(pending).to_have_text("Pending 2")
    ana = registration_row(page, "Ana Pérez")
    expect(ana).to_contain_text("ana@example.org")
    expect(ana).to_contain_text("La Strada")
    expect(ana.locator(".badge")).to_have_text("Pending")
    approve = page.get_by_role("button", name="Approve selected")
    expect(approve).to_be_disabled()

    page.get_by_label("Select Ana Pérez").check()
    expect(page.locator("#selected-count")).to_have_text("1 selected")
    approve.click()

    expect(ana.locator(".badge")).to_have_text("Approved")
    expect(ana).to_contain_text("Olga")  # decided by
    expect(page.locator("#action-done")).to_contain_text("Approved 1 registration")
    expect(pending).to_have_text("Pending 1")
    expect(page.get_by_role("button", name=re.compile(r"^Approved"))).to_have_text("Approved 1")
    expect(registration_row(page, "Ben Okafor").locator(".badge")).to_have_text("Pending")
    smtp_server.inbox.wait_for("ana@example.org")
    assert smtp_server.inbox.to("ben@example.org") == []
    shoot(page, "organizer-approved-desktop")

    page.get_by_role("button", name=re.compile(r"^Approved")).click()
    expect(page.locator("#registrations-table tbody tr")).to_have_count(1)
    expect(ana.locator(".reg-mail")).to_have_text("Sent")


def test_organizer_rejects_everyone_shown_after_confirming(
    start_site: StartSite, open_page: OpenPage, smtp_server: SmtpServer
) -> None:
    server = start_site("approval")
    for name in ("Ana Pérez", "Ben Okafor"):
        register(server, name, f"{name.split()[0].lower()}@example.org")
    page = open_page(f"{server.url}/organizer#token={server.token('organizer', 'Olga')}")
    expect(page.locator("#registrations-table tbody tr")).to_have_count(2)

    page.get_by_label("Select all shown").check()
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.get_by_role("button", name="Reject selected").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Reject 2 registrations?")
    dialog.get_by_role("button", name="Reject").click()

    expect(page.locator("#registrations-table tbody .badge")).to_have_text(["Rejected"] * 2)
    expect(page.get_by_role("button", name=re.compile(r"^Rejected"))).to_have_text("Rejected 2")
    expect(page.locator("#selected-count")).to_have_text("None selected")
    expect(page.get_by_label("Select all shown")).not_to_be_checked()
    assert smtp_server.inbox.messages == []


def test_names_with_markup_and_any_script_show_as_text(
    start_site: StartSite, open_page: OpenPage
) -> None:
    server = start_site("approval")
    register(server, MARKUP_NAME, "markup@example.org", "<i>NGO</i>")
    for number, name in enumerate(OTHER_SCRIPTS):
        register(server, name, f"person{number}@example.org", name)
    token = server.token("organizer", "Olga")

    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(f"{server.url}/organizer#token={token}", viewport=viewport)
        row = registration_row(page, MARKUP_NAME)
        expect(row.locator("th")).to_have_text(MARKUP_NAME)
        expect(row).to_contain_text("<i>NGO</i>")
        assert row.locator("b, img, i").count() == 0
        for name in OTHER_SCRIPTS:
            expect(registration_row(page, name).locator("th")).to_have_text(name)
        shoot(page, f"organizer-{label}")
        assert fits_without_scrolling_sideways(page), f"the organizer page overflows at {label}"


def test_organizer_revokes_with_confirmation_and_resends(
    start_site: StartSite, open_page: OpenPage, smtp_server: SmtpServer
) -> None:
    server = start_site("open")
    register(server, "Ana Pérez", "ana@example.org")
    smtp_server.inbox.wait_for("ana@example.org")
    page = open_page(f"{server.url}/organizer#token={server.token('organizer', 'Olga')}")
    ana = registration_row(page, "Ana Pérez")
    expect(ana.locator(".badge")).to_have_text("Approved")

    page.get_by_role("button", name="Resend the join link to Ana Pérez").click()
    expect(page.locator("#action-done")).to_contain_text("A new join link is on its way")
    smtp_server.inbox.wait_for("ana@example.org", count=2)

    page.get_by_role("button", name="Revoke access for Ana Pérez").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Revoke access for “Ana Pérez”?")
    shoot(page, "organizer-revoke-confirm-desktop")
    dialog.get_by_role("button", name="Cancel").click()
    expect(ana.locator(".badge")).to_have_text("Approved")

    page.get_by_role("button", name="Revoke access for Ana Pérez").click()
    dialog.get_by_role("button", name="Revoke access").click()
    expect(ana.locator(".badge")).to_have_text("Revoked")
    expect(page.get_by_role("button", name="Revoke access for Ana Pérez")).to_be_hidden()


def test_organizer_sees_by_itself_why_a_letter_did_not_arrive_and_resends_it(
    start_site: StartSite, open_page: OpenPage, smtp_server: SmtpServer
) -> None:
    """After the first load, nothing here clicks "Refresh": the page follows the letters."""
    server = start_site("approval")
    register(server, "Ana Pérez", "ana@example.org")
    register(server, "Ben Okafor", "ben@example.org")
    inbox = smtp_server.inbox
    page = open_page(f"{server.url}/organizer#token={server.token('organizer', 'Olga')}")
    ana, ben = registration_row(page, "Ana Pérez"), registration_row(page, "Ben Okafor")

    refusal = "550 5.1.1 <ana@example.org>: Recipient address rejected"
    inbox.refuse_next("RCPT", refusal)
    page.get_by_label("Select Ana Pérez").check()
    page.get_by_role("button", name="Approve selected").click()
    expect(ana.locator(".reg-mail")).to_have_text(
        f"Could not be delivered: the mail server answered {refusal}", timeout=MAIL_SEEN_MS
    )
    expect(page.locator("#announcer")).to_have_text(
        "The join link for Ana Pérez could not be delivered."
    )
    expect(page.get_by_label("Select Ana Pérez")).not_to_be_checked()

    inbox.refuse_next("RCPT", "451 4.7.1 Greylisted, please try again later")
    page.get_by_label("Select Ben Okafor").check()
    page.get_by_role("button", name="Approve selected").click()
    expect(page.locator("#action-done")).to_contain_text("Approved 1 registration")
    page.get_by_label("Select Ana Pérez").check()  # before the page looks again
    expect(ben.locator(".reg-mail")).to_have_text(
        re.compile(
            r"^Not delivered yet, trying again at \d\d:\d\d: "
            r"the mail server answered 451 4\.7\.1 Greylisted, please try again later$"
        ),
        timeout=MAIL_SEEN_MS,
    )
    expect(page.get_by_label("Select Ana Pérez")).to_be_checked()  # the selection stayed
    expect(page.locator("#selected-count")).to_have_text("1 selected")
    shoot(page, "organizer-mail-failed-desktop")

    page.get_by_role("button", name="Resend the join link to Ana Pérez").click()
    expect(ana.locator(".reg-mail")).to_have_text("Sent", timeout=MAIL_SEEN_MS)
    assert len(inbox.wait_for("ana@example.org")) == 1
    expect(page.get_by_label("Select Ben Okafor")).not_to_be_checked()
    expect(page.locator("#selected-count")).to_have_text("None selected")


def test_a_letter_written_to_the_outbox_says_so(
    start_server: Callable[..., ServerProcess], open_page: OpenPage, tmp_path: Path
) -> None:
    server = start_server(config=event_config(tmp_path, mode="open"))
    register(server, "Ana Pérez", "ana@example.org")
    page = open_page(f"{server.url}/organizer#token={server.token('organizer', 'Olga')}")
    mail = registration_row(page, "Ana Pérez").locator(".reg-mail")
    expect(mail).to_have_text("Written to the outbox", timeout=MAIL_SEEN_MS)
    expect(mail).to_have_attribute("title", re.compile("No mail server is configured"))


def test_csv_export_downloads_the_registrations(start_site: StartSite, open_page: OpenPage) -> None:
    server = start_site("approval")
    register(server, "Ana Pérez", "ana@example.org", "La Strada")
    page = open_page(
        f"{server.url}/organizer#token={server.token('organizer', 'Olga')}", accept_downloads=True
    )
    expect(registration_row(page, "Ana Pérez")).to_be_visible()

    with page.expect_download() as started:
        page.get_by_role("button", name="Export CSV").click()
    download = started.value

    assert download.suggested_filename == "registrations.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(text.splitlines()))
    assert [(row["name"], row["email"], row["status"]) for row in rows] == [
        ("Ana Pérez", "ana@example.org", "pending")
    ]
    expect(page.locator("#action-done")).to_have_text("Downloaded registrations.csv.")


def test_organizer_page_paging(start_site: StartSite, open_page: OpenPage) -> None:
    server = start_site("open")
    for number in range(53):
        register(server, f"Person {number:02d}", f"p{number}@example.org")
    page = open_page(f"{server.url}/organizer#token={server.token('organizer', 'Olga')}")

    expect(page.locator("#list-summary")).to_have_text("Showing 1–50 of 53")
    expect(page.locator("#registrations-table tbody tr")).to_have_count(50)
    expect(page.get_by_role("button", name="Previous page")).to_be_disabled()
    page.get_by_role("button", name="Next page").click()
    expect(page.locator("#list-summary")).to_have_text("Showing 51–53 of 53")
    expect(page.locator("#registrations-table tbody tr")).to_have_count(3)
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()

    page.get_by_label("Search name, e-mail or affiliation").fill("Person 07")
    expect(page.locator("#registrations-table tbody tr")).to_have_count(1)
    expect(page.locator("#list-summary")).to_have_text("1 registration")
    expect(page.locator("#paging-buttons")).to_be_hidden()


@pytest.mark.parametrize(
    ("token", "section", "shown"),
    [
        (None, "no-token", "plenary token issue --role organizer --name NAME"),
        ("not-a-token", "invalid-token", "Your access link is not valid or has expired"),
        ("attendee", "forbidden", "This page is for organizers"),
    ],
)
def test_organizer_page_explains_what_is_missing(
    start_site: StartSite, open_page: OpenPage, token: str | None, section: str, shown: str
) -> None:
    server = start_site("approval")
    if token == "attendee":
        token = server.token("attendee", "Ada")
    page = open_page(f"{server.url}/organizer" + (f"#token={token}" if token else ""))

    expect(page.locator(f"#{section}")).to_be_visible()
    expect(page.locator(f"#{section}")).to_contain_text(shown)
    expect(page.locator("#manager")).to_be_hidden()
    shoot(page, f"organizer-{section}-desktop")
    if token == "not-a-token":
        assert page.evaluate("sessionStorage.getItem('plenary.token')") is None


def test_attendee_follows_the_join_link_and_deletes_the_registration(
    start_site: StartSite, open_page: OpenPage, smtp_server: SmtpServer
) -> None:
    server = start_site("open")
    register(server, "Zoë <i>Ivo</i>", "zoe@example.org")
    link = mailed_link(server, smtp_server, "zoe@example.org")

    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = open_page(link, viewport=viewport)
        expect(page.locator("#account-bar")).to_have_text(re.compile("Signed in as Zoë <i>Ivo</i>"))
        expect(page.locator("#link-status")).to_have_text("live updates")
        shoot(page, f"signed-in-{label}")
        assert fits_without_scrolling_sideways(page)
    witness = open_page(link)  # the same link, connected after `page`
    expect(witness.locator("#link-status")).to_have_text("live updates")

    page.get_by_role("button", name="Delete my registration").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete your registration?")
    shoot(page, "delete-confirm-desktop")
    dialog.get_by_role("button", name="Delete my registration").click()

    expect(page.locator("#account-message")).to_contain_text("Your registration has been deleted.")
    expect(page.locator("#account-bar")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('plenary.token')") is None
    expect(page.locator("#link-status")).to_have_text("live updates")  # the public agenda
    # The server cuts every connection that still uses the token, the witness's after any
    # `page` kept; the witness asks again a second later, is refused and says so. Had `page`
    # kept its old connection, all that would have happened to it first.
    expect(witness.locator("#account-message")).to_contain_text(
        "Your access has been withdrawn or has expired.", timeout=WITHDRAWN_MS
    )
    expect(witness.locator("#link-status")).to_have_text("live updates")
    expect(page.locator("#account-message")).to_contain_text("Your registration has been deleted.")
    shoot(page, "deleted-desktop")
    token = link.split("#token=", 1)[1]
    assert call(server, "GET", "/api/me", token=token)[0] == 401


def test_attendee_sees_when_access_is_revoked(
    start_site: StartSite, open_page: OpenPage, smtp_server: SmtpServer
) -> None:
    server = start_site("open")
    registration = register(server, "Ana Pérez", "ana@example.org")
    page = open_page(mailed_link(server, smtp_server, "ana@example.org"))
    expect(page.locator("#account-bar")).to_contain_text("Signed in as Ana Pérez")
    expect(page.locator("#link-status")).to_have_text("live updates")

    organizer = server.token("organizer", "Olga")
    assert (
        call(server, "POST", f"/api/registrations/{registration}/revoke", token=organizer)[0] == 200
    )

    expect(page.locator("#account-message")).to_contain_text(
        "Your access has been withdrawn or has expired.", timeout=WITHDRAWN_MS
    )
    expect(page.locator("#account-bar")).to_be_hidden()
    expect(page.locator("#link-status")).to_have_text("live updates")
    shoot(page, "withdrawn-desktop")


def test_a_stale_link_on_the_agenda_page_is_forgotten(
    start_site: StartSite, open_page: OpenPage
) -> None:
    server = start_site("open")
    page = open_page(f"{server.url}/#token=not-a-token")

    expect(page.locator("#account-message")).to_contain_text(
        "Your access link is not valid or has expired."
    )
    expect(page.locator("#account-bar")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('plenary.token')") is None
    expect(page.locator("#link-status")).to_have_text("live updates")


def test_the_organizer_list_shows_a_new_sign_up_and_its_letter_without_a_reload(
    start_site: StartSite, open_page: OpenPage
) -> None:
    server = start_site("open")
    page = open_page(f"{server.url}/organizer#token={server.token('organizer', 'Olga')}")
    expect(page.locator("#table-empty")).to_be_visible()

    register(server, "Chidi Eze", "chidi@example.org", "Radio Free")

    # The page polls only rows it already shows: a new row is the server's push.
    chidi = registration_row(page, "Chidi Eze")
    expect(chidi).to_contain_text("Radio Free")
    expect(chidi.locator(".reg-mail")).to_have_text("Sent", timeout=MAIL_SEEN_MS)
    expect(page.get_by_role("button", name=re.compile(r"^All"))).to_have_text(re.compile(r"1$"))
    expect(page.locator("#table-empty")).to_be_hidden()
