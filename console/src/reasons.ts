import { t, tName } from './i18n';
import type { Health } from './types';

const CUES = /\b(threat_to_leave|legal_threat|repeat_contact|broken_promise|escalation_request|long_wait|sarcasm|shouting|public_shaming)\b/g;

/** Server details name cues by their code ("threat_to_leave in the last 30 days"): show them in words. */
export function humanize(detail: string): string {
  return detail.replace(CUES, (c) => tName('cue', c));
}

/** The one line that says why a customer's health is what it is: the tightest cap, else the weakest part. */
export function mainReason(h: Health | undefined): string {
  if (!h) return '';
  const caps = [...(h.caps ?? [])].sort((a, b) => a.max - b.max);
  if (caps.length) {
    const more = caps.length > 1 ? ` (+ ${caps.slice(1).map((c) => tName('cap', c.name)).join(', ')})` : '';
    return `${tName('cap', caps[0].name)}, ${t('health_cap_line', { max: caps[0].max })}: ${humanize(caps[0].detail)}${more}`;
  }
  const parts = [...h.parts].sort((a, b) => b.weight * (1 - b.value) - a.weight * (1 - a.value));
  const p = parts[0];
  if (!p || p.value >= 0.95) return '';
  return `${tName('part', p.name)}: ${humanize(p.detail)}`;
}
