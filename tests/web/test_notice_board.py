"""The notice board of every page (client_web/status.js) in headless Chromium, as the pages
load it: notices for the page's room and every room, up and down, and the list on connecting."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def page(module_page: Page) -> Page:
    return module_page


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
