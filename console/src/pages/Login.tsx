import { useState } from 'preact/hooks';
import type { Problem } from '../api';
import { lang, t } from '../i18n';
import type { Lang } from '../i18n';

export function Login(props: { problem: Problem | null; onLogin: (key: string) => Promise<void>; onLang: (l: Lang) => void }) {
  const [key, setKeyValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [empty, setEmpty] = useState(false);
  const p = props.problem;
  return (
    <div class="login-wrap">
      <form
        class="login card"
        data-testid="login-form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!key.trim()) return setEmpty(true);
          setEmpty(false);
          setBusy(true);
          await props.onLogin(key.trim());
          setBusy(false);
        }}
      >
        <div class="login-head">
          <span class="logo big" aria-hidden="true">R</span>
          <div>
            <h1>{t('login_title')}</h1>
            <p class="muted">{t('app_tagline')}</p>
          </div>
        </div>
        <label for="api-key">{t('login_key')}</label>
        <input
          id="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          autoFocus
          value={key}
          onInput={(e) => setKeyValue((e.target as HTMLInputElement).value)}
          aria-describedby="api-key-help"
          aria-invalid={!!p || empty}
          data-testid="login-key"
          placeholder="rpl_…"
        />
        <small id="api-key-help" class="help">
          {t('login_key_help')}
        </small>
        {empty && (
          <p class="error-inline" role="alert">
            {t('login_empty')}
          </p>
        )}
        {p && (
          <div class="error-box" role="alert" data-testid="login-error">
            <strong class="error-title">{p.title}</strong>
            {p.detail && <p class="error-detail">{p.detail}</p>}
            {p.code && <p class="muted small">{`HTTP ${p.status} · ${p.code}`}</p>}
          </div>
        )}
        <button type="submit" class="btn btn-primary" disabled={busy} data-testid="login-submit">
          {busy ? t('login_checking') : t('login_submit')}
        </button>
        <div class="login-lang">
          <label for="login-lang">{t('language')}</label>
          <select id="login-lang" value={lang()} onChange={(e) => props.onLang((e.target as HTMLSelectElement).value as Lang)}>
            <option value="en">English</option>
            <option value="fr">Français</option>
          </select>
        </div>
      </form>
    </div>
  );
}
