import { useMemo, useState } from 'preact/hooks';
import { supportMetrics } from '../contracts';
import type { GroupBy, Split, SupportMetrics } from '../contracts';
import { num } from '../format';
import { t } from '../i18n';
import type { Key } from '../i18n';
import { Chart } from '../components/chart';
import type { uPlot } from '../components/chart';
import { AsyncView, Empty, useAsync } from '../components/ui';

const PALETTE = ['#1d4ed8', '#b45309', '#0f766e', '#7c3aed', '#be123c', '#4d7c0f', '#0369a1', '#a16207'];
const iso = (d: Date) => d.toISOString().slice(0, 10);

function MetricChart({ m, metric }: { m: SupportMetrics; metric: string }) {
  const { data, series, labels } = useMemo(() => {
    const periods = [...new Set(m.series.flatMap((s) => s.points.map((p) => p.period)))].sort();
    const data: uPlot.AlignedData = [
      periods.map((p) => new Date(p).getTime() / 1000),
      ...m.series.map((s) => periods.map((p) => s.points.find((x) => x.period === p)?.values[metric] ?? null)),
    ];
    const series: uPlot.Series[] = m.series.map((s, i) => ({
      label: s.key,
      stroke: PALETTE[i % PALETTE.length],
      width: 2,
      points: { show: true, size: 5 },
      spanGaps: true,
      value: (_u: uPlot, v: number | null) => (v == null ? '—' : num(v)),
    }));
    return { data, series, labels: periods };
  }, [m, metric]);
  if (!labels.length) return <Empty>{t('metrics_empty')}</Empty>;
  return <Chart data={data} series={series} label={t(metric as Key)} testid="metrics-chart" height={260} />;
}

export function MetricsPage() {
  const now = new Date();
  const [from, setFrom] = useState(iso(new Date(now.getTime() - 90 * 86_400_000)));
  const [to, setTo] = useState(iso(now));
  const [groupBy, setGroupBy] = useState<GroupBy>('week');
  const [split, setSplit] = useState<Split>('channel');
  const [query, setQuery] = useState({ from, to, group_by: groupBy, split });
  const [metric, setMetric] = useState('');
  const res = useAsync(() => supportMetrics(query), [JSON.stringify(query)]);
  const current = metric || res.data?.metrics.find((x) => x.startsWith('csat')) || res.data?.metrics[0] || '';

  return (
    <div class="page" data-testid="page-metrics">
      <div class="page-head">
        <h1>{t('metrics_title')}</h1>
        <p class="muted">{t('metrics_intro')}</p>
      </div>
        <div class="stack">
          <form
            class="toolbar filters"
            onSubmit={(e) => {
              e.preventDefault();
              setQuery({ from, to, group_by: groupBy, split });
            }}
          >
            <div class="field">
              <label for="m-from">{t('metrics_from')}</label>
              <input id="m-from" type="date" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
            </div>
            <div class="field">
              <label for="m-to">{t('metrics_to')}</label>
              <input id="m-to" type="date" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
            </div>
            <div class="field">
              <label for="m-group">{t('metrics_group_by')}</label>
              <select id="m-group" value={groupBy} onChange={(e) => setGroupBy((e.target as HTMLSelectElement).value as GroupBy)}>
                {(['day', 'week', 'month'] as GroupBy[]).map((g) => (
                  <option key={g} value={g}>
                    {t(`group_${g}` as Key)}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="m-split">{t('metrics_split')}</label>
              <select id="m-split" value={split} onChange={(e) => setSplit((e.target as HTMLSelectElement).value as Split)}>
                {(['', 'channel', 'plan', 'language', 'team', 'handled_by'] as Split[]).map((s) => (
                  <option key={s} value={s}>
                    {t(s ? (`split_${s}` as Key) : 'split_none')}
                  </option>
                ))}
              </select>
            </div>
            <div class="field end">
              <button type="submit" class="btn btn-primary">
                {t('metrics_apply')}
              </button>
            </div>
          </form>
          <AsyncView a={res}>
            {(m) => (
              <>
                {Object.keys(m.totals).length > 0 && (
                  <div class="kpis" data-testid="metrics-totals">
                    {Object.entries(m.totals).map(([k, v]) => (
                      <div key={k} class="kpi card">
                        <span class="kpi-value">{num(v)}</span>
                        <span class="kpi-label">{t(k as Key)}</span>
                      </div>
                    ))}
                  </div>
                )}
                <section class="card">
                  <div class="field">
                    <label for="m-metric">{t('metrics_metric')}</label>
                    <select id="m-metric" value={current} onChange={(e) => setMetric((e.target as HTMLSelectElement).value)}>
                      {m.metrics.map((x) => (
                        <option key={x} value={x}>
                          {t(x as Key)}
                        </option>
                      ))}
                    </select>
                  </div>
                  {current ? <MetricChart m={m} metric={current} /> : <Empty>{t('metrics_empty')}</Empty>}
                </section>
              </>
            )}
          </AsyncView>
        </div>
    </div>
  );
}
