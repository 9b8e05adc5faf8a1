import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, del, enc, get, getAll, post } from '../api';
import { dateTime, money, num } from '../format';
import { lang, t, tName } from '../i18n';
import type { Key } from '../i18n';
import { href, navigate } from '../router';
import { forgetCustomer, health as loadHealth } from '../store';
import type { Customer, CustomerContext, HealthReport, Interaction, Memory } from '../types';
import {
  AsyncView,
  Dialog,
  Empty,
  ErrorBox,
  HealthBadge,
  Loading,
  healthBand,
  toast,
  useAsync,
  useCanWrite,
} from '../components/ui';
import { HealthChart, SentimentChart, sentimentPoints } from './customer/charts';
import { Timeline } from './customer/Timeline';
import { MemoryItem, Memories } from './customer/Memories';
import { Preferences } from './customer/Preferences';
import { ContextPanel, Escalation, Mood } from './customer/ContextPanel';
import { ProvenanceDialog } from './customer/Provenance';
import { Renewal } from './Attention';
import { humanize, mainReason } from '../reasons';

const TABS: Array<{ id: string; label: Key }> = [
  { id: 'timeline', label: 'tab_timeline' },
  { id: 'memories', label: 'tab_memories' },
  { id: 'preferences', label: 'tab_preferences' },
  { id: 'context', label: 'tab_context' },
];

async function loadCustomer(id: string, signal: AbortSignal): Promise<Customer> {
  if (id.startsWith('cus_')) return get<Customer>(`/v1/customers/${enc(id)}`, undefined, signal);
  return get<Customer>(`/v1/customers/by-external-id/${enc(id)}`, undefined, signal);
}

/** A neutral greeting in the customer's language: the overview's context reflects their history, not a new message. */
function neutralMessage(c: Customer) {
  return (c.language ?? '').toLowerCase().startsWith('fr') ? 'Bonjour' : 'Hello';
}

function HealthCard({ h }: { h: HealthReport }) {
  const cur = h.current;
  return (
    <section class="card health-card" aria-labelledby="health-h">
      <div class="card-head">
        <h2 id="health-h">{t('health')}</h2>
        <span class="muted small">{dateTime(cur.computed_at)}</span>
      </div>
      <div class="health-main">
        <div class="health-caps" data-testid="health-caps">
          <h3>{t('health_caps')}</h3>
          {cur.caps?.length ? (
            <ul class="plain">
              {[...cur.caps]
                .sort((a, b) => a.max - b.max)
                .map((c) => (
                  <li key={c.name} class="cap">
                    <span class="chip bad">
                      {tName('cap', c.name)} · {t('health_cap_line', { max: c.max })}
                    </span>
                    <span class="small">{humanize(c.detail)}</span>
                  </li>
                ))}
            </ul>
          ) : (
            <p class="muted small">{t('health_no_caps')}</p>
          )}
        </div>
      </div>
      <h3>{t('health_parts')}</h3>
      <ul class="parts" data-testid="health-parts">
        {cur.parts.map((p) => (
          <li key={p.name} class="part">
            <span class="part-name">
              {tName('part', p.name)} <span class="muted small">×{num(p.weight * 100, 0)}%</span>
            </span>
            <span
              class="bar"
              role="meter"
              aria-valuemin={0}
              aria-valuemax={1}
              aria-valuenow={p.value}
              aria-label={`${tName('part', p.name)} ${num(p.value)}`}
            >
              <span class={`bar-fill ${p.value < 0.4 ? 'bad' : p.value < 0.7 ? 'warn' : 'ok'}`} style={{ width: `${Math.round(p.value * 100)}%` }} />
            </span>
            <span class="part-detail small">{humanize(p.detail)}</span>
          </li>
        ))}
      </ul>
      <h3>{t('health_history')}</h3>
      <HealthChart current={cur} history={h.history} />
    </section>
  );
}

function IssuesAndPromises({ ctx, customerId }: { ctx: CustomerContext; customerId: string }) {
  const [open, setOpen] = useState<Memory | null>(null);
  const overdue = new Set(ctx.overdue_commitments.map((m) => m.id));
  const promises = [...ctx.overdue_commitments, ...ctx.open_commitments.filter((m) => !overdue.has(m.id))];
  return (
    <section class="card" aria-labelledby="issues-h" data-testid="issues-promises">
      <h2 id="issues-h">
        {t('open_issues')} <span class="count">{ctx.open_issues.length}</span>
      </h2>
      {ctx.open_issues.length ? (
        <ul class="memories" data-testid="open-issues">
          {ctx.open_issues.map((m) => (
            <MemoryItem key={m.id} m={m} onOpen={setOpen} />
          ))}
        </ul>
      ) : (
        <p class="muted">{t('open_issues_empty')}</p>
      )}
      <h2>
        {t('promises')} <span class="count">{promises.length}</span>
        {ctx.overdue_commitments.length > 0 && (
          <span class="chip bad">
            {ctx.overdue_commitments.length} {t('overdue')}
          </span>
        )}
      </h2>
      {promises.length ? (
        <ul class="memories" data-testid="promises">
          {promises.map((m) => (
            <MemoryItem key={m.id} m={m} onOpen={setOpen} />
          ))}
        </ul>
      ) : (
        <p class="muted">{t('promises_empty')}</p>
      )}
      {open && <ProvenanceDialog customerId={customerId} memory={open} onClose={() => setOpen(null)} />}
    </section>
  );
}

function ExportButton({ c }: { c: Customer }) {
  const [ask, setAsk] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const name = c.name || c.external_id || c.id;
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const data = await get<unknown>(`/v1/customers/${enc(c.id)}/export`);
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `rappel-export-${c.external_id || c.id}.json`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      setAsk(false);
      toast(t('export_done'));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class="btn" onClick={() => setAsk(true)} data-testid="export-button">
        {t('export')}
      </button>
      {ask && (
        <Dialog title={t('export_title', { name })} onClose={() => setAsk(false)} testid="export-dialog">
          <p>{t('export_body')}</p>
          {error ? <ErrorBox error={error} /> : null}
          <div class="dialog-actions">
            <button type="button" class="btn" onClick={() => setAsk(false)}>
              {t('cancel')}
            </button>
            <button type="button" class="btn btn-primary" onClick={run} disabled={busy} data-testid="export-confirm">
              {t('export_confirm')}
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}

function EraseButton({ c }: { c: Customer }) {
  const [ask, setAsk] = useState(false);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const name = c.name || c.external_id || c.id;
  const expected = c.external_id || c.id;
  const run = async () => {
    if (typed.trim() !== expected) return;
    setBusy(true);
    setError(null);
    try {
      await del(`/v1/customers/${enc(c.id)}`);
      forgetCustomer(c.id);
      toast(t('erase_done', { name }));
      navigate('#/');
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class="btn btn-danger" onClick={() => setAsk(true)} data-testid="erase-button" data-write="true">
        {t('erase')}
      </button>
      {ask && (
        <Dialog title={t('erase_title', { name })} onClose={() => setAsk(false)} testid="erase-dialog">
          <form
            onSubmit={(e) => {
              e.preventDefault();
              run();
            }}
          >
            <p>{t('erase_body')}</p>
            <label for="erase-confirm-input">{t('erase_type', { id: expected })}</label>
            <input
              id="erase-confirm-input"
              value={typed}
              autoComplete="off"
              onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
              data-testid="erase-confirm-input"
            />
            {error ? <ErrorBox error={error} /> : null}
            <div class="dialog-actions">
              <button type="button" class="btn" onClick={() => setAsk(false)}>
                {t('cancel')}
              </button>
              <button type="submit" class="btn btn-danger" disabled={busy || typed.trim() !== expected} data-testid="erase-confirm">
                {t('erase_confirm')}
              </button>
            </div>
          </form>
        </Dialog>
      )}
    </>
  );
}

function Header({ c, h }: { c: Customer; h?: HealthReport }) {
  const canWrite = useCanWrite();
  return (
    <header class="customer-header card" data-testid="customer-header">
      <div class="customer-id">
        <h1 data-testid="customer-name">{c.name || c.external_id || c.id}</h1>
        <p class="customer-sub">
          {c.company && <span class="strong">{c.company}</span>}
          {c.plan && <span class="chip plan">{c.plan}</span>}
          <span class="muted">{c.external_id}</span>
        </p>
        <dl class="inline-kv">
          <div>
            <dt>{t('col_renewal')}</dt>
            <dd data-testid="renewal">
              <Renewal value={c.renewal_date} />
            </dd>
          </div>
          {c.signup_date && (
            <div>
              <dt>{t('since')}</dt>
              <dd>{c.signup_date}</dd>
            </div>
          )}
          {c.lifetime_value != null && (
            <div>
              <dt>{t('ltv')}</dt>
              <dd>{money(c.lifetime_value)}</dd>
            </div>
          )}
          {c.email && (
            <div>
              <dt>{t('email')}</dt>
              <dd>{c.email}</dd>
            </div>
          )}
          {c.phone && (
            <div>
              <dt>{t('phone')}</dt>
              <dd>{c.phone}</dd>
            </div>
          )}
          {(c.language || c.timezone) && (
            <div>
              <dt>{t('language')}</dt>
              <dd>{[c.language, c.timezone].filter(Boolean).join(' · ')}</dd>
            </div>
          )}
        </dl>
        {c.tags?.length ? (
          <p class="chips">
            {c.tags.map((x) => (
              <span key={x} class="chip">
                {x}
              </span>
            ))}
          </p>
        ) : null}
      </div>
      <div class="customer-actions">
        <div class="health-head">
          {h ? (
            <>
              <div class="health-head-score">
                <HealthBadge score={h.current.score} big />
                <span class={`band band-${healthBand(h.current.score)}`}>
                  {t(`health_band_${healthBand(h.current.score)}` as Key)}
                </span>
              </div>
              <p class="health-head-reason" data-testid="health-reason">
                {mainReason(h.current)}
              </p>
            </>
          ) : (
            <Loading />
          )}
        </div>
        <div class="btn-row">
          <ExportButton c={c} />
          {canWrite && <EraseButton c={c} />}
        </div>
      </div>
    </header>
  );
}

function useOverview({ c }: { c: Customer }) {
  const health = useAsync(() => loadHealth(c.id, true), [c.id]);
  const inters = useAsync(() => getAll<Interaction>(`/v1/customers/${enc(c.id)}/interactions`, {}, 5), [c.id]);
  const ctx = useAsync(
    () => post<CustomerContext>(`/v1/customers/${enc(c.id)}/context`, { message: neutralMessage(c), language: lang() }),
    [c.id],
  );
  const points = useMemo(() => sentimentPoints(inters.data ?? []), [inters.data]);
  return { health, inters, ctx, points };
}

export function CustomerPage({ id, tab }: { id: string; tab?: string }) {
  const cust = useAsync((s) => loadCustomer(id, s), [id]);
  useEffect(() => {
    if (cust.data) document.title = `${cust.data.name ?? cust.data.external_id} · Rappel`;
    return () => {
      document.title = 'Rappel console';
    };
  }, [cust.data]);
  if (cust.error instanceof ApiError && cust.error.status === 404)
    return (
      <div class="page">
        <Empty>{t('customer_not_found')}</Empty>
        <ErrorBox error={cust.error} />
        <a href="#/">{t('go_home')}</a>
      </div>
    );
  return (
    <div class="page" data-testid="page-customer">
      <AsyncView a={cust}>{(c) => <CustomerBody key={c.id} c={c} tab={tab} />}</AsyncView>
    </div>
  );
}

function CustomerBody({ c, tab }: { c: Customer; tab?: string }) {
  const { health, inters, ctx, points } = useOverview({ c });
  const current = TABS.find((x) => x.id === tab)?.id ?? 'timeline';
  return (
    <>
      <Header c={c} h={health.data} />
      {ctx.data && (
        <div class="mood-row" data-testid="overview-mood">
          <Mood s={ctx.data.sentiment} />
          <Escalation s={ctx.data.sentiment} />
        </div>
      )}
      <div class="grid-2">
        <AsyncView a={health}>{(h) => <HealthCard h={h} />}</AsyncView>
        <div class="stack">
          <section class="card" aria-labelledby="sentiment-h">
            <h2 id="sentiment-h">{t('sentiment_chart')}</h2>
            <AsyncView a={inters}>{() => <SentimentChart points={points} />}</AsyncView>
          </section>
          <AsyncView a={ctx}>{(x) => <IssuesAndPromises ctx={x} customerId={c.id} />}</AsyncView>
        </div>
      </div>
      <div class="tabs" role="tablist" aria-label={t('tabs_label')}>
        {TABS.map((x) => (
          <a
            key={x.id}
            role="tab"
            href={href('customers', c.id, x.id)}
            aria-selected={x.id === current}
            class={x.id === current ? 'tab active' : 'tab'}
            data-testid={`tab-${x.id}`}
            onClick={(e) => {
              e.preventDefault();
              navigate(href('customers', c.id, x.id), true);
            }}
          >
            {t(x.label)}
          </a>
        ))}
      </div>
      <div role="tabpanel" class="tabpanel" aria-label={t(TABS.find((x) => x.id === current)!.label)}>
        {current === 'timeline' && <AsyncView a={inters}>{(l) => <Timeline interactions={l} />}</AsyncView>}
        {current === 'memories' && <Memories customerId={c.id} />}
        {current === 'preferences' && <Preferences customerId={c.id} />}
        {current === 'context' && <ContextPanel customerId={c.id} />}
      </div>
    </>
  );
}
