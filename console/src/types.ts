// Shapes of the public API (openapi/openapi.json), only the fields the console reads.

export type Cue =
  | 'threat_to_leave'
  | 'legal_threat'
  | 'repeat_contact'
  | 'broken_promise'
  | 'escalation_request'
  | 'long_wait'
  | 'sarcasm'
  | 'shouting'
  | 'public_shaming';

export interface Customer {
  id: string;
  workspace: string;
  external_id?: string | null;
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  language?: string | null;
  timezone?: string | null;
  company?: string | null;
  plan?: string | null;
  tags?: string[];
  signup_date?: string | null;
  renewal_date?: string | null;
  lifetime_value?: number | null;
  attributes?: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface HealthPart {
  name: string;
  value: number;
  weight: number;
  detail: string;
}
export interface HealthCap {
  name: string;
  max: number;
  detail: string;
}
export interface Health {
  score: number;
  parts: HealthPart[];
  caps?: HealthCap[];
  computed_at: string;
}
export interface HealthReport {
  current: Health;
  history: Health[];
}

export interface Sentiment {
  score: number;
  label: string;
  frustrated: boolean;
  cues?: Cue[];
}
export interface Message {
  id: string;
  role: 'customer' | 'agent' | 'bot';
  author?: string | null;
  text: string;
  sent_at: string;
  sentiment?: Sentiment | null;
}
export interface Interaction {
  id: string;
  customer_id: string;
  external_id: string;
  channel: string;
  subject?: string | null;
  status: string;
  opened_at: string;
  closed_at?: string | null;
  handled_by?: string | null;
  escalated?: boolean;
  csat?: number | null;
  nps?: number | null;
  tags?: string[];
  product?: string | null;
  messages?: Message[];
  handoff?: unknown;
}

export type MemoryKind = 'message' | 'preference' | 'fact' | 'issue' | 'resolution' | 'commitment';
export const MEMORY_KINDS: MemoryKind[] = ['issue', 'commitment', 'preference', 'fact', 'resolution', 'message'];

export interface Provenance {
  customer_id: string;
  interaction_id: string;
  message_ids: string[];
}
export interface Memory {
  id: string;
  kind: MemoryKind;
  text: string;
  subject?: string | null;
  language: string;
  provenance: Provenance;
  observed_at: string;
  valid_from?: string | null;
  valid_to?: string | null;
  due_at?: string | null;
  open: boolean;
  count: number;
  last_seen: string;
  pinned: boolean;
  sentiment?: number | null;
  frustrated?: boolean;
  cues?: Cue[];
  speaker?: string | null;
  seq?: number;
}
export interface Recalled {
  memory: Memory;
  score: number;
  parts: Record<string, number>;
  derived?: Memory[];
}

export interface SentimentTrend {
  current: number;
  recent: number;
  longer_term?: number | null;
  direction: string;
  frustrated: boolean;
  cues: Cue[];
  escalate: boolean;
  reason?: string | null;
}
export interface CustomerContext {
  language: string;
  profile: Record<string, unknown>;
  preferences: Record<string, unknown>;
  memories: Recalled[];
  open_issues: Memory[];
  open_commitments: Memory[];
  overdue_commitments: Memory[];
  recent_interactions: string[];
  sentiment: SentimentTrend;
  prompt: string;
  prompt_tokens: number;
}

export interface Consent {
  granted: boolean;
  at?: string | null;
  source?: string | null;
}
export interface Preferences {
  preferred_language?: string | null;
  consent?: Record<string, Consent | null>;
  do_not_contact?: boolean;
  quiet_hours?: { start: string; end: string } | null;
  max_contacts_per_week?: number | null;
  preferred_channels?: string[];
  tone?: string | null;
  technical_level?: string | null;
  custom?: Record<string, string>;
  updated_at?: string | null;
}
export interface PreferenceChange {
  seq: number;
  field: string;
  old_value: unknown;
  new_value: unknown;
  changed_at: string;
  source: string;
}

export interface CustomerMatches {
  customer_id: string;
  external_id: string;
  name?: string | null;
  score: number;
  memories: Recalled[];
}

export const OUTREACH_STATES = ['queued', 'claimed', 'sent', 'failed', 'cancelled', 'expired'] as const;
export const CHANNELS = ['email', 'sms', 'phone', 'chat', 'push'] as const;
export interface OutreachItem {
  id: string;
  customer_id: string;
  source: { kind: string; id: string };
  reason: string;
  evidence: string[];
  channel: string;
  language: string;
  message: string;
  priority: number;
  not_before: string;
  expires_at?: string | null;
  state: string;
  failures: number;
  error?: string | null;
  sent_at?: string | null;
  created_at: string;
  updated_at: string;
}

export interface JobRun {
  id: string;
  job_id: string;
  trigger: string;
  started_at: string;
  finished_at?: string | null;
  customers_scanned: number;
  matches: number;
  queued: number;
  skipped: Record<string, number>;
  errors: string[];
}
export interface JobDefinition {
  id: string;
  description: string;
  schedule: string;
  timezone?: string;
  enabled?: boolean;
  cooldown_hours?: number;
  max_health?: number | null;
  detector: Record<string, unknown>;
  outreach: { channels?: string[]; priority?: number; templates: Record<string, string> };
}
export interface JobView {
  definition: JobDefinition;
  last_run?: JobRun | null;
}

export interface Incident {
  id: string;
  title: string;
  description: string;
  product?: string | null;
  started_at: string;
  ended_at?: string | null;
  resolution?: string | null;
  created_at: string;
  updated_at: string;
}

export interface Segment {
  plan?: string | null;
  tag?: string | null;
  health_min?: number | null;
  health_max?: number | null;
  query?: string | null;
  query_threshold?: number | null;
}
export interface Campaign {
  id: string;
  name: string;
  segment?: Segment;
  outreach: { channels?: string[]; priority?: number; templates: Record<string, string> };
  schedule?: string | null;
  timezone?: string;
  cooldown_hours?: number;
  last_run_at?: string | null;
  created_at: string;
  updated_at: string;
}
export interface Selected {
  customer_id: string;
  external_id: string;
  name?: string | null;
  reason: string;
  evidence: string[];
}
export interface Preview {
  count: number;
  sample: Selected[];
}
