import { enc, get, getAll } from '../../api';
import { dateTime } from '../../format';
import { t, tName } from '../../i18n';
import type { Consent, PreferenceChange, Preferences as Prefs } from '../../types';
import { CHANNELS } from '../../types';
import { AsyncView, Empty, useAsync } from '../../components/ui';

function show(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('granted' in o) return `${o.granted ? t('prefs_granted') : t('prefs_refused')}${o.source ? ` (${o.source})` : ''}`;
    if ('start' in o && 'end' in o) return `${o.start}–${o.end}`;
    if (Array.isArray(v)) return v.join(', ');
    return JSON.stringify(v);
  }
  if (typeof v === 'boolean') return v ? t('yes') : t('no');
  return String(v);
}

function ConsentCell({ c }: { c: Consent | null | undefined }) {
  if (!c) return <span class="muted">{t('prefs_unset')}</span>;
  return (
    <span>
      <span class={`chip ${c.granted ? 'ok' : 'bad'}`}>{c.granted ? t('prefs_granted') : t('prefs_refused')}</span>{' '}
      <span class="muted small">
        {dateTime(c.at)}
        {c.source ? ` · ${c.source}` : ''}
      </span>
    </span>
  );
}

export function Preferences({ customerId }: { customerId: string }) {
  const prefs = useAsync((s) => get<Prefs>(`/v1/customers/${enc(customerId)}/preferences`, undefined, s), [customerId]);
  const hist = useAsync(() => getAll<PreferenceChange>(`/v1/customers/${enc(customerId)}/preferences/history`, {}, 10), [customerId]);
  return (
    <div class="two-col" data-testid="preferences">
      <section class="card">
        <h3>{t('prefs_current')}</h3>
        <AsyncView a={prefs}>
          {(p) => (
            <dl class="kv">
              <dt>{t('prefs_language')}</dt>
              <dd>{p.preferred_language ?? '—'}</dd>
              <dt>{t('prefs_dnc')}</dt>
              <dd>{p.do_not_contact ? <span class="chip bad">{t('yes')}</span> : t('no')}</dd>
              <dt>{t('prefs_channels')}</dt>
              <dd>{p.preferred_channels?.length ? p.preferred_channels.map((c) => tName('channel', c)).join(', ') : '—'}</dd>
              <dt>{t('prefs_quiet')}</dt>
              <dd>{p.quiet_hours ? `${p.quiet_hours.start}–${p.quiet_hours.end}` : '—'}</dd>
              <dt>{t('prefs_cap')}</dt>
              <dd>{p.max_contacts_per_week ?? '—'}</dd>
              <dt>{t('prefs_tone')}</dt>
              <dd>{p.tone ?? '—'}</dd>
              <dt>{t('prefs_level')}</dt>
              <dd>{p.technical_level ?? '—'}</dd>
              {CHANNELS.map((ch) => (
                <>
                  <dt key={`dt-${ch}`}>
                    {t('prefs_consent')} · {tName('channel', ch)}
                  </dt>
                  <dd key={`dd-${ch}`} data-testid={`consent-${ch}`}>
                    <ConsentCell c={p.consent?.[ch]} />
                  </dd>
                </>
              ))}
              {Object.entries(p.custom ?? {}).map(([k, v]) => (
                <>
                  <dt key={`c-${k}`}>{k}</dt>
                  <dd key={`cv-${k}`}>{v}</dd>
                </>
              ))}
            </dl>
          )}
        </AsyncView>
      </section>
      <section class="card">
        <h3>{t('prefs_history')}</h3>
        <AsyncView a={hist}>
          {(list) =>
            list.length === 0 ? (
              <Empty>{t('prefs_history_empty')}</Empty>
            ) : (
              <div class="table-wrap" tabIndex={0}>
                <table class="table compact" data-testid="preference-history">
                  <thead>
                    <tr>
                      <th scope="col">{t('col_when')}</th>
                      <th scope="col">{t('col_field')}</th>
                      <th scope="col">{t('col_old')}</th>
                      <th scope="col">{t('col_new')}</th>
                      <th scope="col">{t('col_source')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...list].reverse().map((c) => (
                      <tr key={c.seq}>
                        <td class="nowrap">{dateTime(c.changed_at)}</td>
                        <td>{c.field}</td>
                        <td>{show(c.old_value)}</td>
                        <td>{show(c.new_value)}</td>
                        <td class="small">{c.source}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </AsyncView>
      </section>
    </div>
  );
}
