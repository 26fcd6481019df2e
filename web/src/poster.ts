// A venue's printable poster (场所码): poster.html?venue=ID shows the venue's name, the QR of its signed code
// (the image comes straight from the server, so what prints is what a check-in will receive), and the code
// in small print. A venue operator without ?venue= gets their own venue. Print hides everything but the sheet.
import { api } from './api.ts';
import { byId } from './dom.ts';
import { t } from './i18n.ts';
import { boot, showError } from './shell.ts';

interface VenueCode {
  venueId: number;
  code: string;
  name: string;
}
type Paper = 'A4' | 'A5';

const PAPER_KEY = 'cordon.poster.paper';
const message = byId('message');
const poster = byId('poster');
const img = byId<HTMLImageElement>('qr');
const printBtn = byId<HTMLButtonElement>('print');
const paperSel = byId<HTMLSelectElement>('paper');

const user = await boot({ page: 'poster' });
document.title = `${t('poster.title')} · ${t('app.name')}`;

setPaper(localStorage.getItem(PAPER_KEY) === 'A5' ? 'A5' : 'A4');
paperSel.addEventListener('change', () => {
  const paper: Paper = paperSel.value === 'A5' ? 'A5' : 'A4';
  localStorage.setItem(PAPER_KEY, paper);
  setPaper(paper);
});
printBtn.addEventListener('click', () => window.print());

const param = new URLSearchParams(location.search).get('venue');
const own = (user as { venueId?: number | null }).venueId ?? null;
const venueId = param === null ? own : /^[1-9]\d{0,9}$/.test(param) ? Number(param) : null;

if (venueId === null) {
  showError(message, new Error(t('poster.noVenue')));
  poster.setAttribute('aria-busy', 'false');
} else {
  if (param === null) history.replaceState(null, '', `?venue=${venueId}`);
  void load(venueId);
}

async function load(id: number): Promise<void> {
  try {
    const v = await api<VenueCode>(`/api/v1/venues/${id}/code`);
    document.title = `${t('poster.title')} · ${v.name}`;
    byId('venue-name').textContent = v.name;
    byId('venue-code').textContent = v.code;
    img.alt = t('poster.qrAlt', { name: v.name });
    img.addEventListener('load', () => {
      img.hidden = false;
      printBtn.disabled = false;
      poster.setAttribute('aria-busy', 'false');
      poster.dataset.ready = 'true';
    });
    img.addEventListener('error', () => {
      showError(message, new Error(t('poster.qrFailed')));
      poster.setAttribute('aria-busy', 'false');
    });
    img.src = `/api/v1/venues/${id}/code.svg`;
  } catch (e) {
    showError(message, e);
    poster.setAttribute('aria-busy', 'false');
  }
}

/** The sheet on screen and the paper the browser prints on. */
function setPaper(paper: Paper): void {
  paperSel.value = paper;
  poster.classList.toggle('a4', paper === 'A4');
  poster.classList.toggle('a5', paper === 'A5');
  byId('page-size').textContent = `@page { size: ${paper} portrait; margin: 0; }`;
}
