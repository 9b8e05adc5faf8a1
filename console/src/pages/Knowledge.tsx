import { useState } from 'preact/hooks';
import { listKnowledge, searchKnowledge } from '../contracts';
import type { KnowledgeHit } from '../contracts';
import { date, num } from '../format';
import { t } from '../i18n';
import { Empty, ErrorBox, Loading, useAsync } from '../components/ui';

export function KnowledgePage() {
  const docs = useAsync(() => listKnowledge(), []);
  const [q, setQ] = useState('');
  const [res, setRes] = useState<{ loading?: boolean; error?: unknown; hits?: KnowledgeHit[]; q?: string }>({});
  return (
    <div class="page" data-testid="page-knowledge">
      <div class="page-head">
        <h1>{t('knowledge_title')}</h1>
        <p class="muted">{t('knowledge_intro')}</p>
      </div>
        <div class="stack">
          <section class="card">
            <form
              class="form-grid"
              onSubmit={async (e) => {
                e.preventDefault();
                if (!q.trim()) return;
                setRes({ loading: true });
                try {
                  setRes({ hits: await searchKnowledge(q.trim()), q: q.trim() });
                } catch (error) {
                  setRes({ error });
                }
              }}
            >
              <div class="field grow">
                <label for="kb-q">{t('knowledge_search')}</label>
                <input id="kb-q" type="search" value={q} placeholder={t('knowledge_search_placeholder')} onInput={(e) => setQ((e.target as HTMLInputElement).value)} data-testid="knowledge-query" />
              </div>
              <div class="field end">
                <button type="submit" class="btn btn-primary" disabled={!q.trim()} data-testid="knowledge-submit">
                  {t('who_else_submit')}
                </button>
              </div>
            </form>
            {res.loading && <Loading />}
            {res.error ? <ErrorBox error={res.error} /> : null}
            {res.hits &&
              (res.hits.length === 0 ? (
                <Empty>{t('knowledge_search_empty', { q: res.q ?? '' })}</Empty>
              ) : (
                <ol class="results" data-testid="knowledge-results">
                  {res.hits.map((h, i) => (
                    <li key={i} class="result">
                      <div class="result-head">
                        {h.citation.url ? (
                          <a href={h.citation.url} target="_blank" rel="noopener noreferrer" class="strong">
                            {h.citation.title}
                          </a>
                        ) : (
                          <span class="strong">{h.citation.title}</span>
                        )}
                        {h.citation.heading && <span class="muted">§ {h.citation.heading}</span>}
                        {h.score != null && <span class="muted small">{t('score', { v: num(h.score) })}</span>}
                      </div>
                      <p class="message-text">{h.text}</p>
                    </li>
                  ))}
                </ol>
              ))}
          </section>
          <section class="card">
            <h2>{t('knowledge_docs')}</h2>
            {docs.error ? (
              <ErrorBox error={docs.error} onRetry={docs.reload} />
            ) : !docs.data ? (
              <Loading />
            ) : docs.data.items.length === 0 ? (
              <Empty>{t('knowledge_empty')}</Empty>
            ) : (
              <div class="table-wrap" tabIndex={0}>
                <table class="table" data-testid="knowledge-docs">
                  <tbody>
                    {docs.data.items.map((d) => (
                      <tr key={d.id}>
                        <td>
                          {d.url ? (
                            <a href={d.url} target="_blank" rel="noopener noreferrer">
                              {d.title}
                            </a>
                          ) : (
                            d.title
                          )}
                        </td>
                        <td>{d.language ?? ''}</td>
                        <td>{d.product ?? ''}</td>
                        <td class="small">{(d.tags ?? []).join(', ')}</td>
                        <td class="small">{d.valid_until ? t('knowledge_valid_until', { d: date(d.valid_until) }) : ''}</td>
                        <td class="small muted">{date(d.updated_at)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </div>
    </div>
  );
}
