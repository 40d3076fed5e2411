"""The notice board of every page (client_web/status.js) in headless Chromium, as the pages
load it: notices for the page's room and every room, up and down, and the list on connecting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.serverproc import ServerProcess, utc_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    folder = tmp_path_factory.mktemp("notice-board")
    server = ServerProcess(data_dir=folder / "data", rehearse=utc_in(8)).start()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.url)
        yield page
    finally:
        context.close()
        server.stop()


def test_the_notice_board_follows_notices_up_and_down(page: Page) -> None:
    shown = page.evaluate(
        """async () => {
             const { NoticeBoard } = await import('/app/status.js');
             const box = document.createElement('div');
             const board = new NoticeBoard(box, {
               accepts: (notice) => notice.room === null || notice.room === 'welcome',
               context: (room) => (room === 'welcome' ? 'Welcoming Remarks' : null),
             });
             const texts = () => [...box.querySelectorAll('.notice-text')]
               .map((p) => p.textContent);
             const seen = [];
             const up = { level: 'info', active: true };
             board.show({ ...up, id: 'a', text: 'For all', room: null });
             board.show({ ...up, id: 'b', text: 'Back soon', room: 'welcome', level: 'urgent' });
             board.show({ ...up, id: 'c', text: 'Elsewhere', room: 'keynote' });
             seen.push(texts());
             board.show({ id: 'a', active: false });
             seen.push(texts());
             const back = { id: 'd', text: 'After a reconnection', level: 'warning', room: null };
             board.showAll({ notices: [back] });
             seen.push(texts());
             return seen;
           }"""
    )
    assert shown == [
        ["Welcoming Remarks: Back soon", "For all"],
        ["Welcoming Remarks: Back soon"],
        ["After a reconnection"],
    ]
