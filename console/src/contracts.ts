// The API calls whose answers the console reshapes for its pages: who the key is, the knowledge base, the
// support metrics.
import { get, post, request } from './api';

// ---------------------------------------------------------------------------------------------------
// GET /v1/whoami -> { key_id, workspace, scopes: ("read"|"write"|"admin")[] }
// ---------------------------------------------------------------------------------------------------

export type Scope = 'read' | 'write' | 'admin';
export interface Identity {
  key_id: string;
  workspace: string;
  scopes: Scope[];
}

/** Validates a key and finds its workspace and scopes. Throws the API's problem for a wrong key. */
export async function identify(key: string): Promise<Identity> {
  const me = await request<{ key_id: string; workspace: string; scopes: string[] }>('GET', '/v1/whoami', { key });
  return { key_id: me.key_id, workspace: me.workspace, scopes: expandScopes(me.scopes) };
}

/** `admin` includes `write`, which includes `read` (as on the server). */
export function expandScopes(scopes: string[]): Scope[] {
  const s = new Set<Scope>();
  for (const x of scopes.map((v) => v.toLowerCase())) {
    if (x === 'admin') ['admin', 'write', 'read'].forEach((v) => s.add(v as Scope));
    if (x === 'write') ['write', 'read'].forEach((v) => s.add(v as Scope));
    if (x === 'read') s.add('read');
  }
  return [...s];
}

// ---------------------------------------------------------------------------------------------------
// Knowledge base
//   GET  /v1/knowledge                         -> KnowledgeSummary[]  (every current document, by label)
//   POST /v1/knowledge/search {query, k}       -> KnowledgeHit[]  (citation: doc_id, title, headings[], url; score parts)
// ---------------------------------------------------------------------------------------------------

export interface KnowledgeDoc {
  id: string;
  label?: string;
  title: string;
  url?: string | null;
  language?: string | null;
  product?: string | null;
  tags?: string[];
  valid_until?: string | null;
  updated_at?: string | null;
  chunks?: number | null;
}
export interface Citation {
  document_id?: string | null;
  title: string;
  heading?: string | null;
  url?: string | null;
  cite?: string | null;
}
export interface KnowledgeHit {
  score?: number | null;
  text: string;
  citation: Citation;
}

export async function listKnowledge(): Promise<{ items: KnowledgeDoc[] }> {
  return { items: await get<KnowledgeDoc[]>('/v1/knowledge') };
}

interface RawHit {
  text: string;
  citation: { doc_id: string; label?: string; title: string; headings?: string[]; url?: string | null; cite?: string };
  score?: { score?: number };
}

export async function searchKnowledge(query: string): Promise<KnowledgeHit[]> {
  const hits = await post<RawHit[]>('/v1/knowledge/search', { query, k: 10 });
  return hits.map((r) => ({
    score: r.score?.score ?? null,
    text: r.text,
    citation: {
      document_id: r.citation.doc_id,
      title: r.citation.title,
      heading: r.citation.headings?.length ? r.citation.headings.join(' › ') : null,
      url: r.citation.url ?? null,
      cite: r.citation.cite ?? null,
    },
  }));
}

// ---------------------------------------------------------------------------------------------------
// Support metrics
//   GET /v1/metrics/support?since=RFC3339&until=RFC3339&group_by=day|week|month[&split_by=channel|plan|language|team|handled_by]
//   -> { totals: Kpis, splits: [{key, kpis}], outreach, buckets: [{start, end, kpis, splits: [{key, kpis}], outreach}] }
// The console charts a fixed set of KPIs, in the units a support lead reads: rates in %, times in minutes.
// ---------------------------------------------------------------------------------------------------

export type GroupBy = 'day' | 'week' | 'month';
export type Split = '' | 'channel' | 'plan' | 'language' | 'team' | 'handled_by';
export interface MetricPoint {
  period: string;
  values: Record<string, number | null>;
}
export interface MetricSeries {
  key: string;
  points: MetricPoint[];
}
export interface SupportMetrics {
  totals: Record<string, number | null>;
  series: MetricSeries[];
  metrics: string[];
}

interface Durations {
  count: number;
  median: number | null;
  p90: number | null;
}
interface Kpis {
  interactions: number;
  csat: number | null;
  nps: number | null;
  first_contact_resolution_rate: number | null;
  first_response_seconds: Durations;
  resolution_seconds: Durations;
  ai_resolution_rate: number | null;
  escalation_rate: number | null;
  cost_per_interaction: number | null;
  resolved_per_agent: number | null;
}
interface SplitKpis {
  key: string;
  kpis: Kpis;
}
interface Bucket {
  start: string;
  kpis: Kpis;
  splits: SplitKpis[];
}

const pct = (v: number | null) => (v == null ? null : Math.round(v * 1000) / 10);
const minutes = (v: number | null) => (v == null ? null : Math.round(v / 6) / 10);

/** The KPIs the console shows, in display units; the keys are i18n keys (`kpi_...`). */
export const KPI_KEYS = [
  'kpi_csat',
  'kpi_nps',
  'kpi_fcr',
  'kpi_first_response',
  'kpi_first_response_p90',
  'kpi_resolution',
  'kpi_ai_resolution',
  'kpi_escalation',
  'kpi_cost',
  'kpi_per_agent',
  'kpi_interactions',
] as const;

function displayed(k: Kpis): Record<string, number | null> {
  return {
    kpi_csat: pct(k.csat),
    kpi_nps: k.nps == null ? null : Math.round(k.nps),
    kpi_fcr: pct(k.first_contact_resolution_rate),
    kpi_first_response: minutes(k.first_response_seconds.median),
    kpi_first_response_p90: minutes(k.first_response_seconds.p90),
    kpi_resolution: minutes(k.resolution_seconds.median),
    kpi_ai_resolution: pct(k.ai_resolution_rate),
    kpi_escalation: pct(k.escalation_rate),
    kpi_cost: k.cost_per_interaction,
    kpi_per_agent: k.resolved_per_agent,
    kpi_interactions: k.interactions,
  };
}

export async function supportMetrics(q: { from: string; to: string; group_by: GroupBy; split: Split }): Promise<SupportMetrics> {
  // `to` is a day the user picked: the period ends at the end of it.
  const until = new Date(`${q.to}T00:00:00Z`);
  until.setUTCDate(until.getUTCDate() + 1);
  const data = await get<{ totals: Kpis; buckets: Bucket[] }>('/v1/metrics/support', {
    since: `${q.from}T00:00:00Z`,
    until: until.toISOString(),
    group_by: q.group_by,
    split_by: q.split || undefined,
  });
  const period = (b: Bucket) => b.start.slice(0, 10);
  let series: MetricSeries[];
  if (!q.split) {
    series = [{ key: 'all', points: data.buckets.map((b) => ({ period: period(b), values: displayed(b.kpis) })) }];
  } else {
    const keys = [...new Set(data.buckets.flatMap((b) => b.splits.map((s) => s.key)))].sort();
    series = keys.map((key) => ({
      key,
      points: data.buckets.flatMap((b) => {
        const found = b.splits.find((s) => s.key === key);
        return found ? [{ period: period(b), values: displayed(found.kpis) }] : [];
      }),
    }));
  }
  return { totals: displayed(data.totals), series, metrics: [...KPI_KEYS] };
}
