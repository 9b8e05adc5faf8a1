import { useState } from 'preact/hooks';
import { enc, get, post } from '../api';
import { t } from '../i18n';
import { href } from '../router';
import type { JobRun, JobView } from '../types';
import { OutreachList } from '../components/OutreachList';
import { RunSummary } from '../components/RunSummary';
import { AsyncView, Empty, ErrorBox, useAsync, useCanWrite } from '../components/ui';

function JobDetail({ job, onRan }: { job: JobView; onRan: () => void }) {
  const canWrite = useCanWrite();
  const id = job.definition.id;
  const runs = useAsync((s) => get<JobRun[]>(`/v1/jobs/${enc(id)}/runs`, undefined, s), [id]);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<JobRun | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [refresh, setRefresh] = useState(0);
  const d = job.definition;
  return (
    <section class="card" data-testid="job-detail" data-job-id={id}>
      <div class="card-head">
        <h2>{id}</h2>
        {canWrite && (
          <button
            type="button"
            class="btn btn-primary"
            disabled={busy}
            data-testid="job-run"
            data-write="true"
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                const r = await post<JobRun>(`/v1/jobs/${enc(id)}/run`);
                setResult(r);
                runs.reload();
                setRefresh((x) => x + 1);
                onRan();
              } catch (e) {
                setError(e);
              } finally {
                setBusy(false);
              }
            }}
          >
            {busy ? t('job_running') : t('job_run_now')}
          </button>
        )}
      </div>
      <p>{d.description}</p>
      <dl class="inline-kv">
        <div>
          <dt>{t('job_schedule')}</dt>
          <dd>
            <code>{d.schedule}</code> {d.timezone}
          </dd>
        </div>
        <div>
          <dt>{t('col_state')}</dt>
          <dd>{d.enabled === false ? t('job_disabled') : t('job_enabled')}</dd>
        </div>
        {d.outreach.channels?.length ? (
          <div>
            <dt>{t('col_channel')}</dt>
            <dd>{d.outreach.channels.join(', ')}</dd>
          </div>
        ) : null}
      </dl>
      <details class="small">
        <summary>{t('job_detector')}</summary>
        <pre class="code">{JSON.stringify(d.detector, null, 2)}</pre>
      </details>
      {error ? <ErrorBox error={error} /> : null}
      {result && (
        <div class="notice ok" role="status">
          <strong>{t('run_result')}</strong>
          <RunSummary run={result} testid="run-result" />
        </div>
      )}
      <h3>{t('job_runs')}</h3>
      <AsyncView a={runs}>
        {(l) =>
          l.length === 0 ? (
            <Empty>{t('job_runs_empty')}</Empty>
          ) : (
            <ol class="runs plain" data-testid="job-runs">
              {[...l]
                .sort((a, b) => b.started_at.localeCompare(a.started_at))
                .slice(0, 15)
                .map((r) => (
                  <li key={r.id}>
                    <RunSummary run={r} />
                  </li>
                ))}
            </ol>
          )
        }
      </AsyncView>
      <h3>{t('job_matched')}</h3>
      <OutreachList filters={{ source: id }} emptyText={t('job_matched_empty')} limit={10} refresh={refresh} />
    </section>
  );
}

export function JobsPage({ selected }: { selected?: string }) {
  const jobs = useAsync((s) => get<JobView[]>('/v1/jobs', undefined, s), []);
  return (
    <div class="page" data-testid="page-jobs">
      <div class="page-head">
        <h1>{t('jobs_title')}</h1>
        <p class="muted">{t('jobs_intro')}</p>
      </div>
      <AsyncView a={jobs}>
        {(list) => {
          if (!list.length) return <Empty>{t('jobs_empty')}</Empty>;
          const current = list.find((j) => j.definition.id === selected) ?? list[0];
          return (
            <div class="master-detail">
              <ul class="master plain" data-testid="job-list">
                {list.map((j) => (
                  <li key={j.definition.id}>
                    <a
                      href={href('jobs', j.definition.id)}
                      class={j === current ? 'master-item active' : 'master-item'}
                      aria-current={j === current ? 'true' : undefined}
                      data-testid="job-item"
                      data-job-id={j.definition.id}
                    >
                      <span class="strong">{j.definition.id}</span>
                      <span class="muted small">
                        {j.last_run
                          ? `${t('job_last_run')}: ${t('run_summary', { scanned: j.last_run.customers_scanned, matches: j.last_run.matches, queued: j.last_run.queued })}`
                          : t('job_never')}
                      </span>
                    </a>
                  </li>
                ))}
              </ul>
              <JobDetail key={current.definition.id} job={current} onRan={() => jobs.reload()} />
            </div>
          );
        }}
      </AsyncView>
    </div>
  );
}
