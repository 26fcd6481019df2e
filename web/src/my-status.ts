// "My status" on a resident's phone: the colour as a large badge, each reason in words with when it ends,
// when the colour changes by itself, prompts (an overdue test), and an appeal to the district with the
// resident's own appeals and their answers. The server computes the status; the page only says it.
import { api, ApiError, problemWords } from './api.ts';
import { byId, h } from './dom.ts';
import { currentLang, t, tMaybe, type Key, when } from './i18n.ts';
import type { Colour, Reason, Status } from '../../src/status/rules.ts';

// GET /api/v1/status/appeals (a resident: their own, every state).
export interface Appeal {
  id: number;
  personId: number;
  text: string;
  colour: Colour;
  filedAt: string;
  state: 'open' | 'upheld' | 'rejected';
  answer: string | null;
  answeredAt: string | null;
}

/** Loads the status and the resident's appeals into the #my-status section, and wires the appeal form. */
export function mountMyStatus(personId: number, onUnauthorized: () => void): void {
  const section = byId('my-status');
  const form = byId<HTMLFormElement>('appeal-form');
  const text = byId<HTMLTextAreaElement>('appeal-text');
  const submit = byId<HTMLButtonElement>('appeal-submit');
  const result = byId('appeal-result');

  const fail = (e: unknown, target: HTMLElement) => {
    if (e instanceof ApiError && e.status === 401) onUnauthorized();
    target.className = 'feedback error';
    target.dataset.kind = 'error';
    target.replaceChildren(h('strong', { class: 'feedback-main' }, t('error.title')), h('div', { class: 'feedback-detail' }, e instanceof ApiError ? problemWords(e) : e instanceof Error ? e.message : String(e)));
    target.hidden = false;
  };

  async function loadStatus(): Promise<void> {
    section.setAttribute('aria-busy', 'true');
    try {
      renderStatus(await api<Status>(`/api/v1/persons/${personId}/status`));
    } catch (e) {
      fail(e, byId('status-error'));
    } finally {
      section.setAttribute('aria-busy', 'false');
    }
  }

  async function loadAppeals(): Promise<void> {
    try {
      renderAppeals((await api<{ items: Appeal[] }>('/api/v1/status/appeals')).items);
    } catch (e) {
      fail(e, result);
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      const words = text.value.trim();
      result.hidden = true;
      if (words.length < 5) {
        fail(new Error(t('status.appealTooShort')), result);
        return;
      }
      submit.disabled = true;
      try {
        const a = await api<{ id: number; state: string; colour: Colour }>('/api/v1/status/appeals', { method: 'POST', body: { text: words } });
        result.className = 'feedback ok';
        result.dataset.kind = 'ok';
        result.dataset.appealId = String(a.id);
        result.replaceChildren(h('div', { class: 'feedback-main' }, t('status.appealFiled', { id: a.id })), h('div', { class: 'feedback-detail' }, t('status.appealNext')));
        result.hidden = false;
        form.reset();
        byId<HTMLDetailsElement>('appeal').open = false;
        await loadAppeals();
      } catch (e) {
        fail(e, result);
      } finally {
        submit.disabled = false;
      }
    })();
  });

  void loadStatus();
  void loadAppeals();
}

function renderStatus(s: Status): void {
  const badge = byId('status-badge');
  badge.dataset.colour = s.colour;
  badge.className = `status-badge ${s.colour}`;
  badge.replaceChildren(h('span', { class: 'status-badge-colour' }, t(`colour.${s.colour}` as Key)), h('span', { class: 'status-badge-label' }, t('status.code')));

  const changes = byId('status-changes');
  changes.dataset.at = s.changesAt ?? '';
  changes.textContent = s.changesAt ? t('status.changesAt', { time: when(s.changesAt) }) : s.colour === 'green' ? '' : t('status.noChange');
  changes.hidden = !changes.textContent;

  const prompts = byId('status-prompts');
  prompts.replaceChildren(
    ...s.prompts.map((p) =>
      p.code === 'arrivalTests'
        ? h('li', { class: 'prompt', 'data-code': p.code, 'data-due': p.due ?? '' }, h('strong', {}, t('prompt.arrivalTests', { needed: p.needed ?? 0, due: when(p.due ?? '') })), h('div', { class: 'small' }, t('status.arrivalTestsTaken', { taken: p.taken ?? 0, needed: p.needed ?? 0 })))
        : h('li', { class: 'prompt', 'data-code': p.code }, h('strong', {}, tMaybe(`prompt.${p.code}`, p.text)), p.since ? h('div', { class: 'small' }, t('status.overdueSince', { time: when(p.since) })) : null),
    ),
  );
  prompts.hidden = s.prompts.length === 0;

  const list = byId('status-reasons');
  list.dataset.count = String(s.reasons.length);
  list.replaceChildren(...(s.reasons.length ? s.reasons.map(reasonItem) : [h('li', { class: 'empty' }, t('status.noReasons'))]));
}

/** A home compound's zone: it ends when the zone moves, not with a result. */
const CONFINED: readonly string[] = ['sealedCompound', 'controlledCompound', 'sealedBuilding'];

export function reasonItem(r: Reason): HTMLElement {
  const label = tMaybe(`reason.${r.code}`, r.text);
  // The server's words name the fact (a pool's barcode, a round's name); an override's are a person's reason.
  const detail = r.code === 'override' || currentLang() === 'en' ? r.text : null;
  return h(
    'li',
    { class: `reason ${r.colour}${r.overridden ? ' overridden' : ''}`, 'data-code': r.code, 'data-colour': r.colour },
    h('div', { class: 'reason-main' }, h('span', { class: `dot ${r.colour}`, 'aria-hidden': 'true' }), h('span', { class: 'reason-label' }, label)),
    detail && detail !== label ? h('div', { class: 'reason-detail' }, detail) : null,
    h(
      'div',
      { class: 'reason-when small muted' },
      h('span', {}, t('status.since', { time: when(r.fact.at) })),
      h('span', { class: 'reason-until', 'data-until': r.until ?? '' }, r.until ? t('status.until', { time: when(r.until) }) : t(CONFINED.includes(r.code) ? 'status.untilZone' : 'status.untilFact')),
    ),
    r.overridden ? h('div', { class: 'small muted' }, t('status.overridden')) : null,
  );
}

function renderAppeals(items: Appeal[]): void {
  const list = byId('appeals');
  list.dataset.count = String(items.length);
  byId('appeals-head').hidden = items.length === 0;
  // Newest first on the phone: the one just filed on top.
  list.replaceChildren(
    ...[...items].reverse().map((a) =>
      h(
        'li',
        { class: `appeal ${a.state}`, 'data-id': a.id, 'data-state': a.state },
        h('div', { class: 'appeal-main' }, h('span', { class: 'appeal-when' }, when(a.filedAt)), h('span', { class: `appeal-state ${a.state}` }, t(`appeal.${a.state}` as Key))),
        h('div', { class: 'appeal-text' }, a.text),
        a.answer ? h('div', { class: 'appeal-answer' }, h('span', { class: 'muted small' }, t('status.answer', { time: a.answeredAt ? when(a.answeredAt) : '' })), h('div', {}, a.answer)) : null,
      ),
    ),
  );
}

