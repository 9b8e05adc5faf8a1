import { useState } from 'preact/hooks';
import { post } from '../api';
import { dateTime, num } from '../format';
import { t, tName } from '../i18n';
import { href, navigate } from '../router';
import { customers } from '../store';
import { MEMORY_KINDS } from '../types';
import type { CustomerMatches } from '../types';
import { AsyncView, CueChips, Empty, ErrorBox, Loading, useAsync } from '../components/ui';
import { matchesCustomer } from './Attention';

function FindCustomer() {
  const list = useAsync(() => customers(), []);
  const [q, setQ] = useState('');
  return (
    <section class="card" aria-labelledby="find-h">
      <h2 id="find-h">{t('find_customer')}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const hits = (list.data ?? []).filter((c) => matchesCustomer(c, q));
          if (hits.length === 1) navigate(href('customers', hits[0].id));
        }}
      >
        <label for="find-customer">{t('find_customer_label')}</label>
        <input
          id="find-customer"
          type="search"
          value={q}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
          data-testid="find-customer"
          autoComplete="off"
        />
      </form>
      <AsyncView a={list}>
        {(all) => {
          if (q.trim().length < 2) return <p class="muted small">{t('find_customer_empty')}</p>;
          const hits = all.filter((c) => matchesCustomer(c, q)).slice(0, 20);
          if (!hits.length) return <Empty>{t('attention_no_match', { q })}</Empty>;
          return (
            <ul class="plain hits" data-testid="find-results">
              {hits.map((c) => (
                <li key={c.id} data-testid="find-result">
                  <a href={href('customers', c.id)} class="strong">
                    {c.name || c.external_id}
                  </a>{' '}
                  <span class="muted small">{[c.company, c.external_id, c.email].filter(Boolean).join(' · ')}</span>
                </li>
              ))}
            </ul>
          );
        }}
      </AsyncView>
    </section>
  );
}

function WhoElse() {
  const [q, setQ] = useState('');
  const [plan, setPlan] = useState('');
  const [kind, setKind] = useState('');
  const [state, setState] = useState<{ loading?: boolean; error?: unknown; data?: CustomerMatches[]; q?: string }>({});
  const run = async () => {
    if (!q.trim()) return;
    setState({ loading: true });
    try {
      const data = await post<CustomerMatches[]>('/v1/search', {
        query: q.trim(),
        limit: 20,
        per_customer: 3,
        plan: plan || undefined,
        kinds: kind ? [kind] : undefined,
      });
      setState({ data, q: q.trim() });
    } catch (error) {
      setState({ error });
    }
  };
  return (
    <section class="card" aria-labelledby="who-h">
      <h2 id="who-h">{t('who_else')}</h2>
      <p class="muted">{t('who_else_intro')}</p>
      <form
        class="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          run();
        }}
        data-testid="search-form"
      >
        <div class="field grow">
          <label for="who-q">{t('who_else_query')}</label>
          <input
            id="who-q"
            type="search"
            value={q}
            placeholder={t('who_else_placeholder')}
            onInput={(e) => setQ((e.target as HTMLInputElement).value)}
            data-testid="search-query"
          />
        </div>
        <div class="field">
          <label for="who-plan">{t('who_else_plan')}</label>
          <input id="who-plan" value={plan} onInput={(e) => setPlan((e.target as HTMLInputElement).value)} size={10} />
        </div>
        <div class="field">
          <label for="who-kind">{t('who_else_kind')}</label>
          <select id="who-kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
            <option value="">{t('all')}</option>
            {MEMORY_KINDS.map((k) => (
              <option key={k} value={k}>
                {tName('kind', k)}
              </option>
            ))}
          </select>
        </div>
        <div class="field end">
          <button type="submit" class="btn btn-primary" disabled={!q.trim() || state.loading} data-testid="search-submit">
            {t('who_else_submit')}
          </button>
        </div>
      </form>
      {state.loading && <Loading />}
      {state.error ? <ErrorBox error={state.error} onRetry={run} /> : null}
      {state.data &&
        (state.data.length === 0 ? (
          <Empty>{t('who_else_empty', { q: state.q ?? '' })}</Empty>
        ) : (
          <>
            <p class="muted small" role="status">
              {t('who_else_count', { n: state.data.length })}
            </p>
            <ol class="results" data-testid="search-results">
              {state.data.map((r) => (
                <li key={r.customer_id} class="result" data-testid="search-result" data-customer-id={r.customer_id}>
                  <div class="result-head">
                    <a href={href('customers', r.customer_id)} class="strong">
                      {r.name || r.external_id}
                    </a>
                    <span class="muted small">{r.external_id}</span>
                    <span class="muted small">{t('score', { v: num(r.score) })}</span>
                  </div>
                  <ul class="plain">
                    {r.memories.map((m) => (
                      <li key={m.memory.id} class="result-memory">
                        <span class="chip kind">{tName('kind', m.memory.kind)}</span> {m.memory.text}{' '}
                        <span class="muted small">
                          {dateTime(m.memory.observed_at)}
                          {m.memory.sentiment != null ? ` · ${num(m.memory.sentiment)}` : ''}
                        </span>
                        {m.memory.frustrated && <span class="chip frustrated">{t('frustrated')}</span>}
                        <CueChips cues={m.memory.cues} />
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
            </ol>
          </>
        ))}
    </section>
  );
}

export function SearchPage() {
  return (
    <div class="page" data-testid="page-search">
      <div class="page-head">
        <h1>{t('search_title')}</h1>
      </div>
      <div class="stack">
        <WhoElse />
        <FindCustomer />
      </div>
    </div>
  );
}
