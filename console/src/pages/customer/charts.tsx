import { useMemo } from 'preact/hooks';
import { Chart } from '../../components/chart';
import type { uPlot } from '../../components/chart';
import { dateTime, num } from '../../format';
import { t, tName } from '../../i18n';
import type { Health, Interaction, Message } from '../../types';

export interface SentimentPoint {
  at: number;
  msg: Message;
  interaction: Interaction;
}

export function sentimentPoints(interactions: Interaction[]): SentimentPoint[] {
  const pts: SentimentPoint[] = [];
  for (const i of interactions)
    for (const m of i.messages ?? [])
      if (m.role === 'customer' && m.sentiment) pts.push({ at: new Date(m.sent_at).getTime() / 1000, msg: m, interaction: i });
  return pts.sort((a, b) => a.at - b.at);
}

export function SentimentChart({ points }: { points: SentimentPoint[] }) {
  const frustrated = points.filter((p) => p.msg.sentiment!.frustrated).length;
  const data = useMemo<uPlot.AlignedData>(
    () => [
      points.map((p) => p.at),
      points.map((p) => p.msg.sentiment!.score),
      points.map((p) => (p.msg.sentiment!.frustrated ? p.msg.sentiment!.score : null)),
    ],
    [points],
  );
  const series = useMemo<uPlot.Series[]>(
    () => [
      {
        label: t('sentiment_legend_msg'),
        stroke: '#1d4ed8',
        width: 1.5,
        points: { show: true, size: 7, fill: '#1d4ed8', stroke: '#1d4ed8' },
        value: (_u, v) => (v == null ? '—' : num(v)),
      },
      {
        label: t('sentiment_legend_frustrated'),
        stroke: '#b91c1c',
        width: 0,
        paths: () => null,
        points: { show: true, size: 13, fill: '#b91c1c', stroke: '#7f1d1d', width: 2 },
        value: (_u, v) => (v == null ? '—' : num(v)),
      },
    ],
    [],
  );
  if (!points.length) return <p class="muted">{t('sentiment_chart_empty')}</p>;
  const label = `${t('sentiment_chart')}: ${t('sentiment_points', { n: points.length, f: frustrated })}`;
  return (
    <div>
      <Chart
        data={data}
        series={series}
        yRange={[-1, 1]}
        guides={[{ y: 0, color: '#94a3b8' }]}
        label={label}
        testid="sentiment-chart"
        points={points.length}
        height={200}
      />
      <p class="muted small" data-testid="sentiment-summary">
        {t('sentiment_points', { n: points.length, f: frustrated })}
      </p>
      <details class="chart-table">
        <summary>{t('chart_as_table')}</summary>
        <table class="table compact">
          <thead>
            <tr>
              <th scope="col">{t('col_when')}</th>
              <th scope="col">{t('sentiment_legend_msg')}</th>
              <th scope="col">{t('frustrated')}</th>
              <th scope="col">{t('col_message')}</th>
            </tr>
          </thead>
          <tbody>
            {points.map((p) => (
              <tr key={p.msg.id}>
                <td class="nowrap">{dateTime(p.msg.sent_at)}</td>
                <td>{num(p.msg.sentiment!.score)}</td>
                <td>{p.msg.sentiment!.frustrated ? `${t('yes')} ${(p.msg.sentiment!.cues ?? []).map((c) => tName('cue', c)).join(', ')}` : t('no')}</td>
                <td class="clip">{p.msg.text.slice(0, 120)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </div>
  );
}

export function HealthChart({ current, history }: { current: Health; history: Health[] }) {
  const all = useMemo(() => {
    const l = [...history].sort((a, b) => a.computed_at.localeCompare(b.computed_at));
    if (!l.length || l[l.length - 1].computed_at < current.computed_at) l.push(current);
    return l;
  }, [current, history]);
  const data = useMemo<uPlot.AlignedData>(
    () => [all.map((h) => new Date(h.computed_at).getTime() / 1000), all.map((h) => h.score)],
    [all],
  );
  const series = useMemo<uPlot.Series[]>(
    () => [{ label: t('health'), stroke: '#0f766e', width: 2, points: { show: true, size: 6, fill: '#0f766e' } }],
    [],
  );
  if (all.length < 2)
    return (
      <p class="muted small" data-testid="health-history-empty">
        {t('health_history_empty')}
      </p>
    );
  return (
    <Chart
      data={data}
      series={series}
      yRange={[0, 100]}
      guides={[
        { y: 50, color: '#dc2626' },
        { y: 70, color: '#16a34a' },
      ]}
      label={`${t('health_history')}: ${all.map((h) => h.score).join(', ')}`}
      testid="health-chart"
      height={180}
    />
  );
}
