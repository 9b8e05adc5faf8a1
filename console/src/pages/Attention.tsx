import { useEffect, useMemo, useState } from 'preact/hooks';
import { date, daysFromNow } from '../format';
import { t } from '../i18n';
import { mainReason } from '../reasons';
import { href } from '../router';
import { cachedHealth, customers, healthOfAll } from '../store';
import type { Customer } from '../types';
import { AsyncView, Empty, HealthBadge, healthBand, useAsync } from '../components/ui';

export function matchesCustomer(c: Customer, q: string): boolean {
  const s = q.trim().toLowerCase();
  if (!s) return true;
  return [c.name, c.company, c.external_id, c.email, c.id].some((v) => v?.toLowerCase().includes(s));
}

export function Renewal({ value }: { value?: string | null }) {
  if (!value) return <span class="muted">—</span>;
  const n = daysFromNow(value);
  const soon = n !== null && n >= -7 && n <= 45;
  return (
    <span class={soon ? 'renewal soon' : 'renewal'}>
      {date(value)}
      {soon && n !== null && (
        <span class="small"> ({n === 0 ? t('renewal_today') : n === 1 ? t('renewal_tomorrow') : n > 0 ? t('renewal_in', { n }) : t('renewal_passed', { n: -n })})</span>
      )}
    </span>
  );
}

function summary(all: Customer[]) {
  const n = { critical: 0, watch: 0, good: 0 };
  for (const c of all) {
    const h = cachedHealth(c.id)?.current;
    if (h) n[healthBand(h.score)]++;
  }
  return t('attention_summary', n);
}

export function Attention() {
  const list = useAsync(() => customers(), []);
  const [, setTick] = useState(0);
  const [done, setDone] = useState(0);
  const [q, setQ] = useState('');

  useEffect(() => {
    if (!list.data) return;
    let n = 0;
    let alive = true;
    let pending = false;
    healthOfAll(list.data, () => {
      n++;
      if (!alive) return;
      setDone(n);
      // re-render at most once per frame while scores arrive
      if (!pending) {
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          if (alive) setTick((x) => x + 1);
        });
      }
    });
    return () => {
      alive = false;
    };
  }, [list.data]);

  const rows = useMemo(() => {
    const l = (list.data ?? []).filter((c) => matchesCustomer(c, q));
    return l
      .map((c) => ({ c, h: cachedHealth(c.id)?.current }))
      .sort((a, b) => (a.h?.score ?? 101) - (b.h?.score ?? 101) || (a.c.name ?? '').localeCompare(b.c.name ?? ''));
  }, [list.data, q, done]);

  return (
    <div class="page" data-testid="page-attention">
      <div class="page-head">
        <h1>{t('attention_title')}</h1>
        <p class="muted">{t('attention_intro')}</p>
      </div>
      <AsyncView a={list}>
        {(all) =>
          all.length === 0 ? (
            <Empty>{t('attention_empty')}</Empty>
          ) : (
            <>
              <div class="toolbar">
                <label class="sr-only" for="attention-filter">
                  {t('attention_filter')}
                </label>
                <input
                  id="attention-filter"
                  type="search"
                  placeholder={t('attention_filter')}
                  value={q}
                  onInput={(e) => setQ((e.target as HTMLInputElement).value)}
                  data-testid="attention-filter"
                />
                <span class="muted small" role="status" aria-live="polite" data-testid="attention-summary">
                  {done < all.length ? t('attention_progress', { done, total: all.length }) : summary(all)}
                </span>
              </div>
              {rows.length === 0 ? (
                <Empty>{t('attention_no_match', { q })}</Empty>
              ) : (
                <div class="table-wrap" tabIndex={0}>
                  <table class="table" data-testid="attention-table">
                    <thead>
                      <tr>
                        <th scope="col">{t('col_health')}</th>
                        <th scope="col">{t('col_customer')}</th>
                        <th scope="col">{t('col_plan')}</th>
                        <th scope="col">{t('col_renewal')}</th>
                        <th scope="col">{t('col_reason')}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {rows.map(({ c, h }) => (
                        <tr key={c.id} data-testid="attention-row" data-external-id={c.external_id ?? ''}>
                          <td>
                            <HealthBadge score={h?.score} />
                          </td>
                          <td>
                            <a href={href('customers', c.id)} class="strong">
                              {c.name || c.external_id || c.id}
                            </a>
                            <div class="muted small">
                              {[c.company, c.external_id].filter(Boolean).join(' · ')}
                            </div>
                          </td>
                          <td>{c.plan ?? '—'}</td>
                          <td>
                            <Renewal value={c.renewal_date} />
                          </td>
                          <td class="reason">{mainReason(h)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </>
          )
        }
      </AsyncView>
    </div>
  );
}
