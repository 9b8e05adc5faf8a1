import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';
import type { Identity } from '../contracts';
import { t, tName } from '../i18n';
import { num } from '../format';
import type { Cue } from '../types';

// ---- identity and scopes ------------------------------------------------------------------------

export const IdentityContext = createContext<Identity | null>(null);
export function useCanWrite(): boolean {
  const id = useContext(IdentityContext);
  return !!id && id.scopes.includes('write');
}

// ---- async data ---------------------------------------------------------------------------------

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  setData: (d: T) => void;
}

export function useAsync<T>(fn: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ data: s.data, loading: true }));
    fn(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, loading: false }),
      (error) => !ctl.signal.aborted && setState({ error, loading: false }),
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((x) => x + 1), []);
  const setData = useCallback((data: T) => setState({ data, loading: false }), []);
  return { data: state.data, error: state.error, loading: state.loading, reload, setData };
}

// ---- states -------------------------------------------------------------------------------------

export function Loading({ label }: { label?: string }) {
  return (
    <div class="loading" role="status" aria-live="polite" data-testid="loading">
      <span class="spinner" aria-hidden="true" />
      {label ?? t('loading')}
    </div>
  );
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const p =
    error instanceof ApiError
      ? error.problem
      : { title: t('error_title'), detail: String((error as Error)?.message ?? error), status: 0 };
  return (
    <div class="error-box" role="alert" data-testid="error">
      <strong class="error-title">{p.title}</strong>
      {p.detail && <p class="error-detail">{p.detail}</p>}
      <p class="muted small">
        {p.status ? `HTTP ${p.status}` : ''}
        {'code' in p && p.code ? ` · ${t('error_code')} ${p.code}` : ''}
        {'request_id' in p && p.request_id ? ` · ${t('error_request_id')} ${p.request_id}` : ''}
      </p>
      {onRetry && (
        <button type="button" class="btn" onClick={onRetry}>
          {t('retry')}
        </button>
      )}
    </div>
  );
}

export function Empty({ children, testid }: { children: ComponentChildren; testid?: string }) {
  return (
    <div class="empty" data-testid={testid ?? 'empty'}>
      {children}
    </div>
  );
}

/** Renders loading / error / content for an Async. */
export function AsyncView<T>({ a, children }: { a: Async<T>; children: (d: T) => ComponentChildren }) {
  if (a.error) return <ErrorBox error={a.error} onRetry={a.reload} />;
  if (a.data === undefined) return <Loading />;
  return <>{children(a.data)}</>;
}

// ---- dialog -------------------------------------------------------------------------------------

export function Dialog(props: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  testid?: string;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current!;
    const opener = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal();
    const first = d.querySelector<HTMLElement>('[autofocus], input, textarea, select, button.btn-primary, button');
    first?.focus();
    return () => opener?.focus?.();
  }, []);
  return (
    <dialog
      ref={ref}
      class={props.wide ? 'dialog wide' : 'dialog'}
      aria-labelledby="dialog-title"
      data-testid={props.testid ?? 'dialog'}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <div class="dialog-head">
        <h2 id="dialog-title">{props.title}</h2>
        <button type="button" class="btn-icon" aria-label={t('close')} onClick={props.onClose} data-testid="dialog-close">
          ×
        </button>
      </div>
      <div class="dialog-body">{props.children}</div>
    </dialog>
  );
}

// ---- toasts -------------------------------------------------------------------------------------

let pushToast: ((msg: string, kind?: 'ok' | 'error') => void) | null = null;
export function toast(msg: string, kind: 'ok' | 'error' = 'ok') {
  pushToast?.(msg, kind);
}
export function Toasts() {
  const [items, setItems] = useState<Array<{ id: number; msg: string; kind: string }>>([]);
  useEffect(() => {
    let n = 0;
    pushToast = (msg, kind = 'ok') => {
      const id = ++n;
      setItems((l) => [...l, { id, msg, kind }]);
      setTimeout(() => setItems((l) => l.filter((x) => x.id !== id)), 5000);
    };
    return () => {
      pushToast = null;
    };
  }, []);
  return (
    <div class="toasts" role="status" aria-live="polite" data-testid="toasts">
      {items.map((i) => (
        <div key={i.id} class={`toast ${i.kind}`}>
          {i.msg}
        </div>
      ))}
    </div>
  );
}

// ---- small pieces -------------------------------------------------------------------------------

export function healthBand(score: number): 'critical' | 'watch' | 'good' {
  return score < 50 ? 'critical' : score < 70 ? 'watch' : 'good';
}

export function HealthBadge({ score, big }: { score: number | null | undefined; big?: boolean }) {
  if (score === null || score === undefined) return <span class="health-badge pending">…</span>;
  const band = healthBand(score);
  return (
    <span
      class={`health-badge ${band}${big ? ' big' : ''}`}
      title={`${t('health')} ${score}/100 (${t(`health_band_${band}`)})`}
      aria-label={t('health_score_label', { score })}
      data-testid={big ? 'health-score' : 'health-badge'}
      data-score={score}
    >
      {score}
    </span>
  );
}

export function CueChips({ cues }: { cues?: Cue[] | string[] | null }) {
  if (!cues?.length) return null;
  return (
    <span class="chips">
      {cues.map((c) => (
        <span key={c} class={`chip cue cue-${c}`}>
          {tName('cue', c)}
        </span>
      ))}
    </span>
  );
}

export function SentimentBadge({ score, label, frustrated }: { score: number; label?: string; frustrated?: boolean }) {
  const cls = score <= -0.3 ? 'neg' : score >= 0.3 ? 'pos' : 'neu';
  return (
    <span class={`sentiment ${cls}`} data-testid="message-sentiment">
      {label ? tName('label', label) : ''} {num(score)}
      {frustrated && <span class="chip frustrated">{t('frustrated')}</span>}
    </span>
  );
}

export function Field(props: { label: string; id: string; children: ComponentChildren; help?: string }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.help && (
        <small class="help" id={`${props.id}-help`}>
          {props.help}
        </small>
      )}
    </div>
  );
}
