// The organizer page (organizer.html): review registrations by status, search them, approve or
// reject a selection, revoke access or resend a join link, and export everything as CSV; and
// each room's audience questions as CSV or JSON.

import { fetchAgenda } from './api.js';
import { ConfirmDialog } from './confirm.js';
import { byId, el, setShown, setText } from './dom.js';
import {
  Decision, RegistrationStatus, decide, fetchMe, fetchPolicy, fetchRegistrationsCsv,
  listRegistrations, resendLink, revoke,
} from './registrationapi.js';
import { LiveConnection } from './live.js';
import { fetchQuestionsExport, showQuestionExports } from './questionexports.js';
import { RegistrationTable } from './registrations.js';
import { Announcer } from './status.js';
import { forgetToken, takeToken } from './token.js';

const PAGE_SIZE = 50;
const SEARCH_DELAY_MS = 300;
// While a letter shown is on its way, the list is looked at again this often.
const MAIL_WATCH_MS = 3000;
// Changes pushed in a burst (a hundred approvals) are counted again once, this long after.
const RECOUNT_DELAY_MS = 500;
const ALL = '';

const MODE_TEXT = Object.freeze({
  open: 'Registration is open: every registration is approved and sent its join link at once.',
  approval: 'Registration needs approval: each join link is sent when you approve the registration.',
  closed: 'Registration is closed: no new registrations are accepted.',
});

class OrganizerPage {
  #doc;
  #token;
  #table;
  #confirm;
  #announcer;
  #status = ALL;
  #query = '';
  #offset = 0;
  #counts = {};
  #loading = null;
  #searchTimer = null;
  #watchTimer = null;
  #watching = null;
  #recountTimer = null;

  constructor(doc, token) {
    this.#doc = doc;
    this.#token = token;
    this.#confirm = new ConfirmDialog(doc);
    this.#announcer = new Announcer(byId(doc, 'announcer'));
    this.#table = new RegistrationTable(byId(doc, 'registrations-table'), byId(doc, 'table-empty'), {
      selectionChanged: () => this.#showSelection(),
      revoke: (registration) => this.#revoke(registration),
      resend: (registration) => this.#resend(registration),
    });
    this.#wire();
  }

  async start() {
    const [me, policy] = await Promise.allSettled([fetchMe(this.#token), fetchPolicy()]);
    if (me.status === 'rejected' && me.reason.status === 401) {
      this.#showInvalidToken();
      return;
    }
    if (me.status === 'fulfilled') this.#showSignedIn(me.value);
    if (policy.status === 'fulfilled') this.#showPolicy(policy.value);
    this.#listen();
    await this.#load();
    await this.#showExports();
  }

  /** Sign-ups and letters as they change, pushed by the server to organizers only. */
  #listen() {
    new LiveConnection({
      token: this.#token,
      handlers: { registration: (body) => this.#registrationChanged(body) },
    });
  }

  #registrationChanged(registration) {
    if (registration === null || typeof registration !== 'object' || registration.id === undefined) return;
    const { failed } = this.#table.changed(registration, this.#lists(registration));
    if (failed) this.#announcer.say(`The join link for ${String(registration.name ?? '')} could not be delivered.`);
    clearTimeout(this.#recountTimer);
    this.#recountTimer = setTimeout(() => this.#recount(), RECOUNT_DELAY_MS);
  }

  /** Whether the first page as filtered lists `registration` above every row shown: a new sign-up. */
  #lists(registration) {
    if (this.#offset !== 0 || this.#query !== '') return false;
    if (this.#status !== ALL && this.#status !== registration.status) return false;
    const created = Date.parse(registration.created_at ?? '');
    return Number.isFinite(created) && created > this.#table.newestCreatedAt();
  }

  async #recount() {
    try {
      const body = await listRegistrations(this.#token, { limit: 1, offset: 0 });
      this.#counts = { ...body.counts };
      this.#showCounts();
    } catch {
      // The counts catch up with the next change or load.
    }
  }

  async #showExports() {
    let agenda;
    try {
      agenda = await fetchAgenda();
    } catch {
      return; // the registrations still work; the exports come with the next visit
    }
    if (byId(this.#doc, 'manager').hidden) {
      return; // not an organizer's page after all (refused, or not loaded)
    }
    const items = Array.isArray(agenda.items) ? agenda.items.filter((item) => item?.room?.id) : [];
    showQuestionExports(byId(this.#doc, 'export-rooms'), items,
      (room, format, button) => this.#exportQuestions(room, format, button));
    setShown(byId(this.#doc, 'question-exports'), items.length > 0);
  }

  async #exportQuestions(room, format, button) {
    const done = byId(this.#doc, 'export-done');
    const problem = byId(this.#doc, 'export-error');
    setText(done, '');
    setShown(problem, false);
    button.disabled = true;
    try {
      const { blob, filename } = await fetchQuestionsExport(this.#token, room, format);
      saveBlob(this.#doc, blob, filename);
      setText(done, `Downloaded ${filename}.`);
    } catch (error) {
      setText(problem, `The questions could not be exported: ${error.message}`);
      setShown(problem, true);
    } finally {
      button.disabled = false;
    }
  }

  #wire() {
    const doc = this.#doc;
    for (const button of doc.querySelectorAll('.filter')) {
      button.addEventListener('click', () => this.#filter(button.dataset.status));
    }
    byId(doc, 'search').addEventListener('input', (event) => this.#search(event.target.value));
    byId(doc, 'refresh').addEventListener('click', () => this.#load());
    byId(doc, 'export').addEventListener('click', () => this.#exportCsv());
    byId(doc, 'approve').addEventListener('click', () => this.#decide(Decision.APPROVE));
    byId(doc, 'reject').addEventListener('click', () => this.#decide(Decision.REJECT));
    byId(doc, 'previous').addEventListener('click', () => this.#page(-1));
    byId(doc, 'next').addEventListener('click', () => this.#page(1));
  }

  #showSignedIn(me) {
    const node = byId(this.#doc, 'signed-in-as');
    node.replaceChildren('Signed in as ', el('bdi', {}, String(me.name ?? '')));
    setShown(node, true);
  }

  #showPolicy(policy) {
    setText(byId(this.#doc, 'event-name'), policy.event?.name ?? '');
    setText(byId(this.#doc, 'mode-note'), MODE_TEXT[policy.mode] ?? '');
    // In approval mode the work is in the pending list; otherwise show everyone.
    this.#status = policy.mode === 'approval' ? RegistrationStatus.PENDING : ALL;
  }

  #filter(status) {
    this.#status = status;
    this.#offset = 0;
    this.#load();
  }

  #search(text) {
    clearTimeout(this.#searchTimer);
    this.#searchTimer = setTimeout(() => {
      const query = text.trim();
      if (query === this.#query) return;
      this.#query = query;
      this.#offset = 0;
      this.#load();
    }, SEARCH_DELAY_MS);
  }

  #page(step) {
    this.#offset = Math.max(0, this.#offset + step * PAGE_SIZE);
    this.#load().then(() => byId(this.#doc, 'registrations-table').focus());
  }

  async #load() {
    this.#loading?.abort();
    this.#stopWatching();
    const loading = new AbortController();
    this.#loading = loading;
    this.#showFilter();
    const manager = byId(this.#doc, 'manager');
    manager.setAttribute('aria-busy', 'true');
    try {
      const body = await listRegistrations(this.#token, {
        status: this.#status, query: this.#query, limit: PAGE_SIZE, offset: this.#offset,
      }, { signal: loading.signal });
      const registrations = Array.isArray(body.registrations) ? body.registrations : [];
      if (registrations.length === 0 && this.#offset > 0) {
        // The last page emptied since it was counted: show the one before it.
        this.#offset = Math.max(0, this.#offset - PAGE_SIZE);
        await this.#load();
        return;
      }
      this.#counts = { ...body.counts };
      this.#table.show(registrations);
      this.#showCounts();
      this.#showPaging(Number(body.total) || 0, registrations.length);
      this.#showSelection();
      setShown(byId(this.#doc, 'load-error'), false);
      setShown(manager, true);
      this.#watchMail();
    } catch (error) {
      if (error.name !== 'AbortError') this.#showFailure(error, 'load-error');
    } finally {
      if (this.#loading === loading) manager.setAttribute('aria-busy', 'false');
    }
  }

  /** While a letter shown is on its way, look again in a few seconds: its row changes by itself. */
  #watchMail() {
    this.#stopWatching();
    if (this.#table.awaitingMail().length > 0) {
      this.#watchTimer = setTimeout(() => this.#lookAgain(), MAIL_WATCH_MS);
    }
  }

  #stopWatching() {
    clearTimeout(this.#watchTimer);
    this.#watchTimer = null;
    this.#watching?.abort();
    this.#watching = null;
  }

  /**
   * The rows whose letter is on its way, asked for again and shown in place, whatever the
   * filter (an approval takes a row out of "Pending"): the selection and the focus stay.
   */
  async #lookAgain() {
    const ids = this.#table.awaitingMail();
    if (this.#doc.hidden || ids.length === 0) {
      this.#watchMail();
      return;
    }
    const watching = new AbortController();
    this.#watching = watching;
    try {
      const body = await listRegistrations(this.#token, {
        ids, limit: PAGE_SIZE, offset: 0,
      }, { signal: watching.signal });
      const failed = this.#table.refresh(Array.isArray(body.registrations) ? body.registrations : []);
      this.#counts = { ...body.counts };
      this.#showCounts();
      for (const registration of failed) {
        this.#announcer.say(`The join link for ${String(registration.name ?? '')} could not be delivered.`);
      }
    } catch (error) {
      if (error.name === 'AbortError') return; // a load took over
      if (error.status === 401) {
        this.#showInvalidToken();
        return;
      }
      // Anything else may pass: look again at the next turn. "Refresh" still works.
    }
    if (this.#watching === watching) this.#watchMail();
  }

  #showFilter() {
    for (const button of this.#doc.querySelectorAll('.filter')) {
      button.setAttribute('aria-pressed', String(button.dataset.status === this.#status));
    }
  }

  #showCounts() {
    const counts = this.#counts;
    const all = Object.values(counts).reduce((sum, n) => sum + (Number(n) || 0), 0);
    for (const button of this.#doc.querySelectorAll('.filter')) {
      const status = button.dataset.status;
      const count = status === ALL ? all : Number(counts[status]) || 0;
      setText(button.querySelector('.filter-count'), String(count));
    }
  }

  #showPaging(total, shown) {
    const first = this.#offset + 1;
    const last = this.#offset + shown;
    const summary = total === 0 ? ''
      : total <= PAGE_SIZE ? (total === 1 ? '1 registration' : `${total} registrations`)
        : `Showing ${first}–${last} of ${total}`;
    setText(byId(this.#doc, 'list-summary'), summary);
    setShown(byId(this.#doc, 'paging-buttons'), total > PAGE_SIZE);
    byId(this.#doc, 'previous').disabled = this.#offset === 0;
    byId(this.#doc, 'next').disabled = last >= total;
  }

  #showSelection() {
    const count = this.#table.selectedIds().length;
    setText(byId(this.#doc, 'selected-count'), count === 0 ? 'None selected' : `${count} selected`);
    byId(this.#doc, 'approve').disabled = count === 0;
    byId(this.#doc, 'reject').disabled = count === 0;
  }

  async #decide(decision) {
    const ids = this.#table.selectedIds();
    if (ids.length === 0) return;
    const many = ids.length === 1 ? '1 registration' : `${ids.length} registrations`;
    const question = `Reject ${many}? No join link is sent, and any link already sent stops working.`;
    if (decision === Decision.REJECT && !(await this.#confirm.ask(question, 'Reject'))) return;
    this.#clearMessages();
    const buttons = [byId(this.#doc, 'approve'), byId(this.#doc, 'reject')];
    for (const button of buttons) button.disabled = true;
    try {
      const updated = await decide(this.#token, ids, decision);
      this.#applyUpdates(updated);
      this.#table.clearSelection();
      this.#done(decisionDone(decision, updated.length));
      byId(this.#doc, 'registrations-table').focus();
    } catch (error) {
      this.#showFailure(error, 'action-error');
    } finally {
      this.#showSelection();
    }
  }

  async #revoke(registration) {
    const name = String(registration.name ?? '');
    const agreed = await this.#confirm.ask(
      `Revoke access for “${name}”? Their join link stops working at once, and if they are watching they are disconnected within seconds.`,
      'Revoke access');
    if (!agreed) return;
    await this.#rowAction(registration, () => revoke(this.#token, registration.id),
      () => `Access for ${name} was revoked.`);
  }

  async #resend(registration) {
    const name = String(registration.name ?? '');
    await this.#rowAction(registration, () => resendLink(this.#token, registration.id),
      () => `A new join link is on its way to ${name}.`);
  }

  async #rowAction(registration, request, describe) {
    this.#clearMessages();
    this.#table.setBusy(registration.id, true);
    try {
      const updated = await request();
      this.#applyUpdates([updated]);
      this.#done(describe(updated));
    } catch (error) {
      this.#showFailure(error, 'action-error');
    } finally {
      this.#table.setBusy(registration.id, false);
      const focused = this.#doc.activeElement;
      if (focused === null || focused === this.#doc.body || focused.hidden) {
        this.#table.focusRow(registration.id);
      }
    }
  }

  async #exportCsv() {
    this.#clearMessages();
    const button = byId(this.#doc, 'export');
    button.disabled = true;
    try {
      const { blob, filename } = await fetchRegistrationsCsv(this.#token);
      saveBlob(this.#doc, blob, filename);
      this.#done(`Downloaded ${filename}.`);
    } catch (error) {
      this.#showFailure(error, 'action-error');
    } finally {
      button.disabled = false;
    }
  }

  /** Show the new states in place and move them between the counts. */
  #applyUpdates(updated) {
    for (const registration of updated) {
      if (!registration) continue;
      const before = this.#table.registration(registration.id)?.status;
      if (before && before !== registration.status) {
        this.#counts[before] = Math.max(0, (Number(this.#counts[before]) || 0) - 1);
        this.#counts[registration.status] = (Number(this.#counts[registration.status]) || 0) + 1;
      }
      this.#table.update(registration);
    }
    this.#showCounts();
    this.#showSelection(); // an updated row is deselected
    this.#watchMail();
  }

  #done(message) {
    setText(byId(this.#doc, 'action-done'), message);
  }

  #clearMessages() {
    setText(byId(this.#doc, 'action-done'), '');
    setShown(byId(this.#doc, 'action-error'), false);
  }

  #showFailure(error, where) {
    if (error.status === 401) {
      this.#showInvalidToken();
    } else if (error.status === 403) {
      this.#showOnly('forbidden');
    } else {
      const node = byId(this.#doc, where);
      setText(node, where === 'load-error'
        ? `The registrations could not be loaded: ${error.message}`
        : `That did not work: ${error.message}`);
      setShown(node, true);
      this.#announcer.say(node.textContent);
    }
  }

  #showInvalidToken() {
    forgetToken();
    this.#showOnly('invalid-token');
  }

  #showOnly(id) {
    for (const section of ['manager', 'question-exports', 'load-error', 'no-token', 'invalid-token', 'forbidden']) {
      setShown(byId(this.#doc, section), section === id);
    }
  }
}

/** What a decision did; only registrations whose status allowed it are counted. */
function decisionDone(decision, count) {
  if (count === 0) return 'Nothing changed: none of the selected registrations could take that decision.';
  const many = count === 1 ? '1 registration' : `${count} registrations`;
  if (decision === Decision.REJECT) return `Rejected ${many}.`;
  return count === 1
    ? 'Approved 1 registration; its join link is being e-mailed.'
    : `Approved ${many}; their join links are being e-mailed.`;
}

/** Hand a fetched file to the browser's download (a blob: URL; no inline script needed). */
function saveBlob(doc, blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: filename, hidden: true });
  doc.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function main() {
  const token = takeToken();
  if (token === null) {
    setShown(byId(document, 'no-token'), true);
    return;
  }
  new OrganizerPage(document, token).start();
}

main();
