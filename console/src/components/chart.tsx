// A thin uPlot wrapper: sized to its container, redrawn when data changes, with a text alternative.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';
import { shortDate, shortTime } from '../format';
import { t } from '../i18n';

export interface ChartProps {
  data: uPlot.AlignedData;
  series: uPlot.Series[];
  yRange?: [number, number];
  height?: number;
  guides?: Array<{ y: number; color: string }>;
  label: string;
  testid?: string;
  points?: number;
  /** x values are timestamps in seconds (default) or category indexes with these labels */
  categories?: string[];
}

export function Chart(p: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current!;
    const width = Math.max(280, el.clientWidth || 600);
    const guides = p.guides ?? [];
    const opts: uPlot.Options = {
      width,
      height: p.height ?? 220,
      series: [{ label: t('col_when') }, ...p.series],
      scales: {
        x: { time: !p.categories },
        y: p.yRange ? { range: p.yRange } : {},
      },
      axes: [
        {
          stroke: '#475569',
          grid: { stroke: '#e2e8f0' },
          values: p.categories
            ? (_u, vals) => vals.map((v) => (Number.isInteger(v) ? (p.categories![v] ?? '') : ''))
            : (_u, vals) => {
                const span = vals.length > 1 ? vals[vals.length - 1] - vals[0] : 0;
                return vals.map((v) => (span < 2 * 86400 ? shortTime(new Date(v * 1000)) : shortDate(new Date(v * 1000))));
              },
        },
        { stroke: '#475569', grid: { stroke: '#e2e8f0' }, size: 44 },
      ],
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      hooks: {
        drawClear: [
          (u) => {
            const ctx = u.ctx;
            ctx.save();
            for (const g of guides) {
              const y = Math.round(u.valToPos(g.y, 'y', true));
              ctx.strokeStyle = g.color;
              ctx.setLineDash([4, 4]);
              ctx.lineWidth = 1;
              ctx.beginPath();
              ctx.moveTo(u.bbox.left, y);
              ctx.lineTo(u.bbox.left + u.bbox.width, y);
              ctx.stroke();
            }
            ctx.restore();
          },
        ],
      },
    };
    plot.current = new uPlot(opts, p.data, el);
    const canvas = el.querySelector('canvas');
    canvas?.setAttribute('role', 'img');
    canvas?.setAttribute('aria-label', p.label);
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (plot.current && w > 0 && Math.abs(w - plot.current.width) > 4) plot.current.setSize({ width: w, height: p.height ?? 220 });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // the chart is rebuilt when its data or series change
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [p.data, p.series]);

  return <div class="chart" ref={box} data-testid={p.testid} data-points={p.points ?? p.data[0]?.length ?? 0} />;
}

export type { uPlot };
