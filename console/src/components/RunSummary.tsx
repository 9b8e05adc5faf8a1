import { dateTime } from '../format';
import { t } from '../i18n';
import type { JobRun } from '../types';

export function RunSummary({ run, testid }: { run: JobRun; testid?: string }) {
  const skipped = Object.entries(run.skipped ?? {}).filter(([, n]) => n > 0);
  return (
    <div class="run" data-testid={testid ?? 'run'} data-run-id={run.id}>
      <div>
        <span class="strong">{dateTime(run.started_at)}</span>{' '}
        <span class="chip">
          {t('run_trigger')}: {run.trigger}
        </span>
      </div>
      <div>
        {t('run_summary', { scanned: run.customers_scanned, matches: run.matches, queued: run.queued })}
        {skipped.length > 0 && (
          <span class="muted"> · {t('run_skipped', { list: skipped.map(([k, n]) => `${k.replace(/_/g, ' ')} ${n}`).join(', ') })}</span>
        )}
      </div>
      {run.errors?.length ? (
        <ul class="errors small">
          {run.errors.map((e, i) => (
            <li key={i}>{e}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
