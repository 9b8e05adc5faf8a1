import { useState } from 'preact/hooks';
import { enc, get, patch, post } from '../api';
import { dateTime } from '../format';
import { t, tName } from '../i18n';
import { href, navigate } from '../router';
import { CHANNELS } from '../types';
import type { Campaign, JobRun, Preview, Segment } from '../types';
import { RunSummary } from '../components/RunSummary';
import { AsyncView, Empty, ErrorBox, Field, Loading, toast, useAsync, useCanWrite } from '../components/ui';

type SegForm = Record<keyof Segment, string>;
const toForm = (s: Segment = {}): SegForm => ({
  plan: s.plan ?? '',
  tag: s.tag ?? '',
  health_min: s.health_min?.toString() ?? '',
  health_max: s.health_max?.toString() ?? '',
  query: s.query ?? '',
  query_threshold: s.query_threshold?.toString() ?? '',
});
const fromForm = (f: SegForm): Segment => ({
  plan: f.plan.trim() || null,
  tag: f.tag.trim() || null,
  health_min: f.health_min.trim() ? Number(f.health_min) : null,
  health_max: f.health_max.trim() ? Number(f.health_max) : null,
  query: f.query.trim() || null,
  query_threshold: f.query_threshold.trim() ? Number(f.query_threshold) : null,
});

function SegmentFields({ f, set, disabled, prefix }: { f: SegForm; set: (f: SegForm) => void; disabled?: boolean; prefix: string }) {
  const input = (k: keyof SegForm, label: string, type = 'text', extra: Record<string, unknown> = {}) => (
    <Field label={label} id={`${prefix}-${k}`}>
      <input
        id={`${prefix}-${k}`}
        type={type}
        value={f[k]}
        disabled={disabled}
        onInput={(e) => set({ ...f, [k]: (e.target as HTMLInputElement).value })}
        data-testid={`segment-${k}`}
        {...extra}
      />
    </Field>
  );
  return (
    <fieldset class="form-grid" disabled={disabled}>
      <legend>{t('segment')}</legend>
      {input('plan', t('segment_plan'))}
      {input('tag', t('segment_tag'))}
      {input('health_min', t('segment_health_min'), 'number', { min: 0, max: 100 })}
      {input('health_max', t('segment_health_max'), 'number', { min: 0, max: 100 })}
      <div class="field grow">
        <label for={`${prefix}-query`}>{t('segment_query')}</label>
        <input
          id={`${prefix}-query`}
          value={f.query}
          disabled={disabled}
          onInput={(e) => set({ ...f, query: (e.target as HTMLInputElement).value })}
          data-testid="segment-query"
        />
      </div>
      {input('query_threshold', t('segment_threshold'), 'number', { min: 0, max: 1, step: 0.05 })}
    </fieldset>
  );
}

function CampaignDetail({ c, onChanged }: { c: Campaign; onChanged: (c: Campaign) => void }) {
  const canWrite = useCanWrite();
  const [form, setForm] = useState(toForm(c.segment));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [run, setRun] = useState<JobRun | null>(null);
  const act = async (what: string, fn: () => Promise<void>) => {
    setBusy(what);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return (
    <section class="card" data-testid="campaign-detail" data-campaign-id={c.id}>
      <div class="card-head">
        <h2>{c.name}</h2>
        <span class="muted small">{c.last_run_at ? t('campaign_last_run', { d: dateTime(c.last_run_at) }) : t('job_never')}</span>
      </div>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!canWrite) return;
          act('save', async () => {
            const updated = await patch<Campaign>(`/v1/campaigns/${enc(c.id)}`, { segment: fromForm(form) });
            toast(t('segment_saved'));
            setPreview(null);
            onChanged(updated);
          });
        }}
      >
        <SegmentFields f={form} set={setForm} disabled={!canWrite} prefix={`seg-${c.id}`} />
        <div class="btn-row">
          {canWrite && (
            <button type="submit" class="btn" disabled={!!busy} data-testid="segment-save" data-write="true">
              {t('segment_save')}
            </button>
          )}
          <button
            type="button"
            class="btn btn-primary"
            disabled={!!busy}
            data-testid="campaign-preview"
            onClick={() => act('preview', async () => setPreview(await post<Preview>(`/v1/campaigns/${enc(c.id)}/preview`)))}
          >
            {t('campaign_preview')}
          </button>
          {canWrite && (
            <button
              type="button"
              class="btn btn-danger"
              disabled={!!busy}
              data-testid="campaign-run"
              data-write="true"
              onClick={() => act('run', async () => setRun(await post<JobRun>(`/v1/campaigns/${enc(c.id)}/run`)))}
            >
              {t('campaign_run')}
            </button>
          )}
        </div>
      </form>
      {busy && <Loading />}
      {error ? <ErrorBox error={error} /> : null}
      {run && <RunSummary run={run} testid="run-result" />}
      {preview && (
        <div data-testid="campaign-preview-result">
          <h3>{t('campaign_preview_count', { n: preview.count })}</h3>
          {preview.sample.length === 0 ? (
            <Empty>{t('campaign_preview_empty')}</Empty>
          ) : (
            <ul class="plain">
              {preview.sample.map((s) => (
                <li key={s.customer_id} class="result-memory" data-testid="preview-row">
                  <a href={href('customers', s.customer_id)} class="strong">
                    {s.name || s.external_id}
                  </a>{' '}
                  <span class="muted small">{s.external_id}</span> — {s.reason}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <details class="small">
        <summary>{t('col_message')}</summary>
        {Object.entries(c.outreach.templates).map(([k, v]) => (
          <p key={k}>
            <span class="chip">{k}</span> {v}
          </p>
        ))}
      </details>
    </section>
  );
}

function NewCampaign({ onDone }: { onDone: (c: Campaign) => void }) {
  const [name, setName] = useState('');
  const [en, setEn] = useState('');
  const [fr, setFr] = useState('');
  const [channels, setChannels] = useState<string[]>(['email']);
  const [form, setForm] = useState(toForm());
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="card"
      data-testid="campaign-form"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
          const templates: Record<string, string> = { en: en.trim() };
          if (fr.trim()) templates.fr = fr.trim();
          const c = await post<Campaign>('/v1/campaigns', {
            name: name.trim(),
            segment: Object.fromEntries(Object.entries(fromForm(form)).filter(([, v]) => v !== null)),
            outreach: { channels, templates },
          });
          toast(t('campaign_created'));
          onDone(c);
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>{t('campaign_new')}</h2>
      <Field label={t('campaign_name')} id="cmp-name">
        <input id="cmp-name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} data-testid="campaign-name" />
      </Field>
      <SegmentFields f={form} set={setForm} prefix="new" />
      <fieldset class="checks">
        <legend>{t('campaign_channels')}</legend>
        {CHANNELS.map((ch) => (
          <label key={ch} class="check">
            <input
              type="checkbox"
              checked={channels.includes(ch)}
              onChange={(e) =>
                setChannels((l) => ((e.target as HTMLInputElement).checked ? [...l, ch] : l.filter((x) => x !== ch)))
              }
            />
            {tName('channel', ch)}
          </label>
        ))}
      </fieldset>
      <Field label={t('campaign_template_en')} id="cmp-en" help={t('campaign_template_help')}>
        <textarea id="cmp-en" required rows={2} value={en} onInput={(e) => setEn((e.target as HTMLTextAreaElement).value)} data-testid="campaign-template-en" />
      </Field>
      <Field label={t('campaign_template_fr')} id="cmp-fr">
        <textarea id="cmp-fr" rows={2} value={fr} onInput={(e) => setFr((e.target as HTMLTextAreaElement).value)} />
      </Field>
      {error ? <ErrorBox error={error} /> : null}
      <button type="submit" class="btn btn-primary" disabled={busy || !name.trim() || !en.trim() || !channels.length} data-testid="campaign-create" data-write="true">
        {t('campaign_create')}
      </button>
    </form>
  );
}

export function CampaignsPage({ selected }: { selected?: string }) {
  const canWrite = useCanWrite();
  const list = useAsync((s) => get<Campaign[]>('/v1/campaigns', undefined, s), []);
  return (
    <div class="page" data-testid="page-campaigns">
      <div class="page-head">
        <h1>{t('campaigns_title')}</h1>
        <p class="muted">{t('campaigns_intro')}</p>
      </div>
      <AsyncView a={list}>
        {(l) => {
          const current = l.find((c) => c.id === selected) ?? l[0];
          return (
            <div class="stack">
              {l.length === 0 ? (
                <Empty>{canWrite ? t('campaigns_empty') : t('campaigns_empty').split('.')[0] + '.'}</Empty>
              ) : (
                <div class="master-detail">
                  <ul class="master plain" data-testid="campaign-list">
                    {l.map((c) => (
                      <li key={c.id}>
                        <a href={href('campaigns', c.id)} class={c === current ? 'master-item active' : 'master-item'} aria-current={c === current ? 'true' : undefined}>
                          <span class="strong">{c.name}</span>
                          <span class="muted small">{c.schedule ? <code>{c.schedule}</code> : c.id}</span>
                        </a>
                      </li>
                    ))}
                  </ul>
                  <CampaignDetail key={current.id + current.updated_at} c={current} onChanged={() => list.reload()} />
                </div>
              )}
              {canWrite && (
                <NewCampaign
                  onDone={(c) => {
                    list.reload();
                    navigate(href('campaigns', c.id));
                  }}
                />
              )}
            </div>
          );
        }}
      </AsyncView>
    </div>
  );
}
