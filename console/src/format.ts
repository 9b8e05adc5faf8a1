// Dates in the viewer's time zone and numbers in the interface's language.
import { lang } from './i18n';

const cache = new Map<string, Intl.DateTimeFormat>();
function dtf(opts: Intl.DateTimeFormatOptions, key: string) {
  const k = `${lang()}|${key}`;
  let f = cache.get(k);
  if (!f) {
    f = new Intl.DateTimeFormat(lang() === 'fr' ? 'fr-FR' : 'en-GB', opts);
    cache.set(k, f);
  }
  return f;
}

function parse(v: string | null | undefined): Date | null {
  if (!v) return null;
  const d = /^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(`${v}T00:00:00Z`) : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** 23 Nov 2026, 08:55 (viewer's zone). */
export function dateTime(v: string | null | undefined): string {
  const d = parse(v);
  if (!d) return '—';
  return dtf({ dateStyle: 'medium', timeStyle: 'short' }, 'dt').format(d);
}

/** 23 Nov 2026. Calendar dates (YYYY-MM-DD) are shown as written, whatever the viewer's zone. */
export function date(v: string | null | undefined): string {
  const d = parse(v);
  if (!d) return '—';
  const dateOnly = !!v && /^\d{4}-\d{2}-\d{2}$/.test(v);
  return dateOnly ? dtf({ dateStyle: 'medium', timeZone: 'UTC' }, 'du').format(d) : dtf({ dateStyle: 'medium' }, 'd').format(d);
}

/** Short date for chart axes: 23/11. */
export function shortDate(d: Date): string {
  return dtf({ day: '2-digit', month: '2-digit' }, 'sd').format(d);
}

/** Short time for chart axes: 18:19. */
export function shortTime(d: Date): string {
  return dtf({ hour: '2-digit', minute: '2-digit' }, 'st').format(d);
}

/** Whole days from now to v (negative when past). */
export function daysFromNow(v: string | null | undefined): number | null {
  const d = parse(v);
  if (!d) return null;
  return Math.round((d.getTime() - Date.now()) / 86_400_000);
}

export function num(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return new Intl.NumberFormat(lang() === 'fr' ? 'fr-FR' : 'en-GB', { maximumFractionDigits: digits }).format(v);
}

export function signed(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  const s = num(v, 2);
  return v > 0 ? `+${s}` : s;
}

export function money(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  return new Intl.NumberFormat(lang() === 'fr' ? 'fr-FR' : 'en-GB', { maximumFractionDigits: 0 }).format(v);
}

/** datetime-local input value (viewer's zone) from a Date. */
export function toLocalInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
