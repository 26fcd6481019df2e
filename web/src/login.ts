// The sign-in form. The server sets an httpOnly session cookie; on success we go where the user was heading.
import { api, ApiError, me, problemWords, type Principal } from './api.ts';
import { byId, h } from './dom.ts';
import { applyStatic, currentLang, setLang, t } from './i18n.ts';
import { homeOf } from './shell.ts';

applyStatic();
document.title = `${t('auth.signIn')} · ${t('app.name')}`;

const form = byId<HTMLFormElement>('login');
const error = byId('login-error');
const submit = byId<HTMLButtonElement>('login-submit');
const lang = byId<HTMLButtonElement>('lang-switch');
lang.textContent = t('lang.switch');
lang.title = t('lang.switchTitle');
lang.addEventListener('click', () => {
  setLang(currentLang() === 'zh-CN' ? 'en' : 'zh-CN');
  location.reload();
});

// Only same-site paths: a crafted ?next= must not send the user to another site after signing in.
const nextParam = new URLSearchParams(location.search).get('next');
const next = nextParam && nextParam.startsWith('/') && !nextParam.startsWith('//') ? nextParam : null;

// Already signed in (e.g. the back button): straight on.
me()
  .then((u) => u && location.replace(next ?? homeOf(u.role)))
  .catch(() => undefined);

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const data = new FormData(form);
  error.hidden = true;
  submit.disabled = true;
  submit.textContent = t('auth.signingIn');
  try {
    const { user } = await api<{ user: Principal }>('/api/v1/auth/login', { method: 'POST', body: { username: String(data.get('username') ?? '').trim(), password: String(data.get('password') ?? '') } });
    location.replace(next ?? homeOf(user.role));
  } catch (e) {
    const detail = e instanceof ApiError ? problemWords(e) : String(e);
    error.replaceChildren(h('strong', {}, t('auth.failed')), h('span', {}, detail));
    error.hidden = false;
    byId<HTMLInputElement>('password').select();
  } finally {
    submit.disabled = false;
    submit.textContent = t('auth.signIn');
  }
});
