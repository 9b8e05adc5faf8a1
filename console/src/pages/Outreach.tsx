import { useState } from 'preact/hooks';
import { get } from '../api';
import { t, tName } from '../i18n';
import type { Key } from '../i18n';
import { CHANNELS, OUTREACH_STATES } from '../types';
import type { Campaign, JobView } from '../types';
import { OutreachList } from '../components/OutreachList';
import { useAsync } from '../components/ui';

export function OutreachPage() {
  const [state, setState] = useState('queued');
  const [channel, setChannel] = useState('');
  const [source, setSource] = useState('');
  const sources = useAsync(async () => {
    const [jobs, camps] = await Promise.all([
      get<JobView[]>('/v1/jobs').catch(() => [] as JobView[]),
      get<Campaign[]>('/v1/campaigns').catch(() => [] as Campaign[]),
    ]);
    return [...jobs.map((j) => j.definition.id), ...camps.map((c) => c.id)];
  }, []);
  return (
    <div class="page" data-testid="page-outreach">
      <div class="page-head">
        <h1>{t('outreach_title')}</h1>
        <p class="muted">{t('outreach_intro')}</p>
      </div>
      <form class="toolbar filters" onSubmit={(e) => e.preventDefault()} data-testid="outreach-filters">
        <div class="field">
          <label for="f-state">{t('filter_state')}</label>
          <select id="f-state" value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value)} data-testid="filter-state">
            <option value="">{t('all')}</option>
            {OUTREACH_STATES.map((s) => (
              <option key={s} value={s}>
                {t(`state_${s}` as Key)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-channel">{t('filter_channel')}</label>
          <select id="f-channel" value={channel} onChange={(e) => setChannel((e.target as HTMLSelectElement).value)} data-testid="filter-channel">
            <option value="">{t('all')}</option>
            {CHANNELS.map((c) => (
              <option key={c} value={c}>
                {tName('channel', c)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-source">{t('filter_source')}</label>
          <select id="f-source" value={source} onChange={(e) => setSource((e.target as HTMLSelectElement).value)} data-testid="filter-source">
            <option value="">{t('all')}</option>
            {(sources.data ?? []).map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </form>
      <OutreachList filters={{ state: state || undefined, channel: channel || undefined, source: source || undefined }} />
    </div>
  );
}
