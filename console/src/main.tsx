import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getKey, setKey, setUnauthorizedHandler } from './api';
import type { Problem } from './api';
import { identify } from './contracts';
import type { Identity } from './contracts';
import { lang, setLang, t } from './i18n';
import type { Key, Lang } from './i18n';
import { href, useRoute } from './router';
import { resetCaches } from './store';
import { IdentityContext, Loading, Toasts } from './components/ui';
import { Login } from './pages/Login';
import { Attention } from './pages/Attention';
import { CustomerPage } from './pages/Customer';
import { SearchPage } from './pages/Search';
import { OutreachPage } from './pages/Outreach';
import { JobsPage } from './pages/Jobs';
import { IncidentsPage } from './pages/Incidents';
import { CampaignsPage } from './pages/Campaigns';
import { KnowledgePage } from './pages/Knowledge';
import { MetricsPage } from './pages/Metrics';

const NAV: Array<{ group: Key; items: Array<{ id: string; label: Key; path: string }> }> = [
  {
    group: 'nav_group_customers',
    items: [
      { id: 'attention', label: 'nav_attention', path: '' },
      { id: 'search', label: 'nav_search', path: 'search' },
    ],
  },
  {
    group: 'nav_group_proactive',
    items: [
      { id: 'outreach', label: 'nav_outreach', path: 'outreach' },
      { id: 'jobs', label: 'nav_jobs', path: 'jobs' },
      { id: 'incidents', label: 'nav_incidents', path: 'incidents' },
      { id: 'campaigns', label: 'nav_campaigns', path: 'campaigns' },
    ],
  },
  {
    group: 'nav_group_insight',
    items: [
      { id: 'knowledge', label: 'nav_knowledge', path: 'knowledge' },
      { id: 'metrics', label: 'nav_metrics', path: 'metrics' },
    ],
  },
];

function Page({ path }: { path: string[] }) {
  const [first, second, third] = path;
  switch (first ?? '') {
    case '':
      return <Attention />;
    case 'customers':
      return second ? <CustomerPage id={second} tab={third} /> : <Attention />;
    case 'search':
      return <SearchPage />;
    case 'outreach':
      return <OutreachPage />;
    case 'jobs':
      return <JobsPage selected={second} />;
    case 'incidents':
      return <IncidentsPage />;
    case 'campaigns':
      return <CampaignsPage selected={second} />;
    case 'knowledge':
      return <KnowledgePage />;
    case 'metrics':
      return <MetricsPage />;
    default:
      return (
        <div class="page">
          <p>{t('not_found_page')}</p>
          <a href="#/">{t('go_home')}</a>
        </div>
      );
  }
}

function Shell({ me, onLogout, onLang }: { me: Identity; onLogout: () => void; onLang: (l: Lang) => void }) {
  const route = useRoute();
  const current = route.path[0] === 'customers' ? '' : (route.path[0] ?? '');
  const scope = me.scopes.includes('admin') ? 'scope_admin' : me.scopes.includes('write') ? 'scope_write' : 'scope_read_only';
  useEffect(() => {
    document.getElementById('main')?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
    // a new page (not a tab of the same customer) starts at the top, with focus on its content
  }, [route.path.slice(0, 2).join('/')]);
  return (
    <IdentityContext.Provider value={me}>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        {t('skip_to_content')}
      </a>
      <header class="topbar">
        <a class="brand" href="#/" title={t('nav_attention')}>
          <span class="logo" aria-hidden="true">R</span> {t('app_name')}
        </a>
        <div class="topbar-right">
          {me.workspace && (
            <span class="muted small" data-testid="workspace">
              {t('workspace')}: {me.workspace}
            </span>
          )}
          <span
            class={`scope-badge ${scope}`}
            data-testid="scope-badge"
            data-scopes={me.scopes.join(',')}
          >
            {t(scope as Key)}
          </span>
          <label class="sr-only" for="lang-select">
            {t('language')}
          </label>
          <select id="lang-select" data-testid="lang-select" value={lang()} onChange={(e) => onLang((e.target as HTMLSelectElement).value as Lang)}>
            <option value="en">English</option>
            <option value="fr">Français</option>
          </select>
          <button type="button" class="btn" onClick={onLogout} data-testid="logout">
            {t('logout')}
          </button>
        </div>
      </header>
      <div class="layout">
        <nav class="sidebar" aria-label={t('nav_main')}>
          {NAV.map((g) => (
            <div class="nav-group" key={g.group}>
              <div class="nav-group-title">{t(g.group)}</div>
              <ul>
                {g.items.map((i) => (
                  <li key={i.id}>
                    <a
                      href={i.path ? href(i.path) : '#/'}
                      aria-current={current === i.path ? 'page' : undefined}
                      data-testid={`nav-${i.id}`}
                    >
                      {t(i.label)}
                    </a>
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </nav>
        <main id="main" tabIndex={-1}>
          <Page path={route.path} />
        </main>
      </div>
      <Toasts />
    </IdentityContext.Provider>
  );
}

function App() {
  const [me, setMe] = useState<Identity | null>(null);
  const [checking, setChecking] = useState<boolean>(!!getKey());
  const [loginProblem, setLoginProblem] = useState<Problem | null>(null);
  const [, setLangTick] = useState(0);

  const logout = (problem: Problem | null = null) => {
    setKey(null);
    resetCaches();
    setMe(null);
    setLoginProblem(problem);
  };

  useEffect(() => {
    setUnauthorizedHandler((p) => logout({ ...p, title: t('session_expired') }));
    const key = getKey();
    if (key) {
      identify(key)
        .then(setMe)
        .catch((e) => {
          if (e instanceof ApiError && e.status === 401) logout(e.problem);
          else setLoginProblem(e instanceof ApiError ? e.problem : { title: String(e), status: 0 });
        })
        .finally(() => setChecking(false));
    }
  }, []);

  const changeLang = (l: Lang) => {
    setLang(l);
    setLangTick((x) => x + 1);
  };

  if (checking) return <Loading label={t('login_checking')} />;
  if (!me)
    return (
      <Login
        problem={loginProblem}
        onLang={changeLang}
        onLogin={async (key) => {
          setLoginProblem(null);
          try {
            const id = await identify(key);
            setKey(key);
            setMe(id);
          } catch (e) {
            setLoginProblem(e instanceof ApiError ? e.problem : { title: t('login_failed'), detail: String(e), status: 0 });
          }
        }}
      />
    );
  return <Shell key={lang()} me={me} onLogout={() => logout()} onLang={changeLang} />;
}

render(<App />, document.getElementById('app')!);
