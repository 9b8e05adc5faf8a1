import { useState } from 'preact/hooks';
import { enc, get, patch, post } from '../api';
import { dateTime, toLocalInput } from '../format';
import { t } from '../i18n';
import type { Incident, JobRun } from '../types';
import { OutreachList } from '../components/OutreachList';
import { RunSummary } from '../components/RunSummary';
import { AsyncView, Empty, ErrorBox, Field, toast, useAsync, useCanWrite } from '../components/ui';

function DeclareForm({ onDone }: { onDone: (i: Incident) => void }) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [product, setProduct] = useState('');
  const [started, setStarted] = useState(toLocalInput(new Date()));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <form
      class="card"
      data-testid="incident-form"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
          const inc = await post<Incident>('/v1/incidents', {
            title: title.trim(),
            description: description.trim(),
            product: product.trim() || undefined,
            started_at: new Date(started).toISOString(),
          });
          setTitle('');
          setDescription('');
          setProduct('');
          toast(t('incident_declared'));
          onDone(inc);
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>{t('incident_declare')}</h2>
      <Field label={t('incident_title')} id="inc-title">
        <input id="inc-title" required value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} data-testid="incident-title" />
      </Field>
      <Field label={t('incident_description')} id="inc-desc">
        <textarea id="inc-desc" required rows={3} value={description} onInput={(e) => setDescription((e.target as HTMLTextAreaElement).value)} data-testid="incident-description" />
      </Field>
      <div class="form-grid">
        <Field label={t('incident_product')} id="inc-product">
          <input id="inc-product" value={product} onInput={(e) => setProduct((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('incident_started')} id="inc-started">
          <input id="inc-started" type="datetime-local" required value={started} onInput={(e) => setStarted((e.target as HTMLInputElement).value)} />
        </Field>
      </div>
      {error ? <ErrorBox error={error} /> : null}
      <button type="submit" class="btn btn-primary" disabled={busy || !title.trim() || !description.trim()} data-testid="incident-submit" data-write="true">
        {t('incident_submit')}
      </button>
    </form>
  );
}

function ResolveForm({ inc, onDone }: { inc: Incident; onDone: () => void }) {
  const [resolution, setResolution] = useState('');
  const [error, setError] = useState<unknown>(null);
  return (
    <form
      class="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await patch(`/v1/incidents/${enc(inc.id)}`, { ended_at: new Date().toISOString(), resolution: resolution.trim() });
          onDone();
        } catch (err) {
          setError(err);
        }
      }}
    >
      <label for={`res-${inc.id}`}>{t('incident_resolution')}</label>
      <input id={`res-${inc.id}`} required value={resolution} onInput={(e) => setResolution((e.target as HTMLInputElement).value)} />
      <button type="submit" class="btn" disabled={!resolution.trim()} data-write="true">
        {t('incident_resolve_submit')}
      </button>
      {error ? <ErrorBox error={error} /> : null}
    </form>
  );
}

export function IncidentsPage() {
  const canWrite = useCanWrite();
  const incidents = useAsync((s) => get<Incident[]>('/v1/incidents', undefined, s), []);
  const [run, setRun] = useState<JobRun | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [refresh, setRefresh] = useState(0);
  const [resolving, setResolving] = useState<string | null>(null);

  const match = async () => {
    setBusy(true);
    setError(null);
    try {
      setRun(await post<JobRun>('/v1/jobs/incident_match/run'));
      setRefresh((x) => x + 1);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="page" data-testid="page-incidents">
      <div class="page-head">
        <h1>{t('incidents_title')}</h1>
        <p class="muted">{t('incidents_intro')}</p>
      </div>
      <div class="grid-2">
        <div class="stack">
          <section class="card">
            <div class="card-head">
              <h2>{t('incidents_title')}</h2>
              {canWrite && (
                <button type="button" class="btn btn-primary" onClick={match} disabled={busy} data-testid="incident-match" data-write="true">
                  {busy ? t('job_running') : t('incident_match')}
                </button>
              )}
            </div>
            {error ? <ErrorBox error={error} /> : null}
            {run && <RunSummary run={run} testid="run-result" />}
            <AsyncView a={incidents}>
              {(list) =>
                list.length === 0 ? (
                  <Empty>{t('incidents_empty')}</Empty>
                ) : (
                  <ul class="plain incidents" data-testid="incident-list">
                    {[...list]
                      .sort((a, b) => b.started_at.localeCompare(a.started_at))
                      .map((i) => (
                        <li key={i.id} class="incident" data-testid="incident">
                          <div class="result-head">
                            <span class="strong">{i.title}</span>
                            <span class={`chip ${i.ended_at ? 'ok' : 'bad'}`}>
                              {i.ended_at ? t('incident_resolved', { d: dateTime(i.ended_at) }) : t('incident_ongoing')}
                            </span>
                          </div>
                          <p>{i.description}</p>
                          <p class="muted small">
                            {i.product ? `${i.product} · ` : ''}
                            {dateTime(i.started_at)}
                            {i.resolution ? ` · ${i.resolution}` : ''}
                          </p>
                          {canWrite && !i.ended_at && (
                            resolving === i.id ? (
                              <ResolveForm
                                inc={i}
                                onDone={() => {
                                  setResolving(null);
                                  incidents.reload();
                                }}
                              />
                            ) : (
                              <button type="button" class="btn btn-small" onClick={() => setResolving(i.id)} data-write="true">
                                {t('incident_resolve')}
                              </button>
                            )
                          )}
                        </li>
                      ))}
                  </ul>
                )
              }
            </AsyncView>
          </section>
          <section class="card">
            <h2>{t('incident_matches')}</h2>
            <OutreachList filters={{ source: 'incident_match' }} emptyText={t('job_matched_empty')} limit={10} refresh={refresh} />
          </section>
        </div>
        {canWrite && <DeclareForm onDone={() => incidents.reload()} />}
      </div>
    </div>
  );
}
