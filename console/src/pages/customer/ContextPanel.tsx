import { useState } from 'preact/hooks';
import { enc, post } from '../../api';
import { num, signed } from '../../format';
import { t, tName } from '../../i18n';
import type { CustomerContext, Memory, SentimentTrend } from '../../types';
import { CueChips, ErrorBox, Loading } from '../../components/ui';
import { MemoryItem } from './Memories';
import { ProvenanceDialog } from './Provenance';

export function Mood({ s, showCurrent }: { s: SentimentTrend; showCurrent?: boolean }) {
  return (
    <div class="mood" data-testid="mood">
      <span class={`mood-dir dir-${s.direction}`}>
        {t('mood')}: {tName('mood_direction', s.direction)}
      </span>
      <span class="muted small">
        {showCurrent ? `${t('mood_now', { v: signed(s.current) })} · ` : ''}
        {t('mood_recent', { v: signed(s.recent) })}
        {s.longer_term != null ? ` · ${t('mood_longer', { v: signed(s.longer_term) })}` : ''}
      </span>
      {s.frustrated && <span class="chip frustrated">{t('frustrated')}</span>}
      <CueChips cues={s.cues} />
    </div>
  );
}

export function Escalation({ s }: { s: SentimentTrend }) {
  if (!s.escalate)
    return (
      <p class="escalation calm" data-testid="escalation" data-escalate="false">
        {t('escalate_no')}
      </p>
    );
  return (
    <div class="escalation alert" role="note" data-testid="escalation" data-escalate="true">
      <strong>⚠ {t('escalate')}</strong>
      {s.reason && <p>{s.reason}</p>}
    </div>
  );
}

export function ContextPanel({ customerId }: { customerId: string }) {
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [ctx, setCtx] = useState<CustomerContext | null>(null);
  const [copied, setCopied] = useState(false);
  const [open, setOpen] = useState<Memory | null>(null);

  const submit = async () => {
    if (!message.trim() || busy) return;
    setBusy(true);
    setError(null);
    try {
      setCtx(await post<CustomerContext>(`/v1/customers/${enc(customerId)}/context`, { message }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div data-testid="context-panel">
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <label for="context-message">{t('context_intro')}</label>
        <textarea
          id="context-message"
          rows={3}
          value={message}
          placeholder={t('context_placeholder')}
          aria-describedby="context-hint"
          onInput={(e) => setMessage((e.target as HTMLTextAreaElement).value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              submit();
            }
          }}
          data-testid="context-message"
        />
        <div class="form-row">
          <small id="context-hint" class="help">
            {t('context_hint')}
          </small>
          <button type="submit" class="btn btn-primary" disabled={busy || !message.trim()} data-testid="context-submit">
            {t('context_submit')}
          </button>
        </div>
      </form>
      {busy && <Loading />}
      {error ? <ErrorBox error={error} /> : null}
      {ctx && !busy && (
        <div class="context-result" data-testid="context-result">
          <div class="card">
            <Mood s={ctx.sentiment} showCurrent />
            <Escalation s={ctx.sentiment} />
          </div>
          <div class="two-col">
            <section class="card">
              <h3>{t('context_memories')}</h3>
              <ul class="memories">
                {ctx.memories.map((r) => (
                  <MemoryItem key={r.memory.id} m={r.memory} onOpen={setOpen} />
                ))}
              </ul>
              {ctx.recent_interactions.length > 0 && (
                <>
                  <h3>{t('context_recent')}</h3>
                  <ul class="plain small">
                    {ctx.recent_interactions.map((l) => (
                      <li key={l}>{l}</li>
                    ))}
                  </ul>
                </>
              )}
            </section>
            <section class="card">
              <div class="card-head">
                <h3>
                  {t('context_prompt')} <span class="muted small">{t('context_tokens', { n: num(ctx.prompt_tokens, 0) })}</span>
                </h3>
                <button
                  type="button"
                  class="btn"
                  onClick={() => {
                    navigator.clipboard?.writeText(ctx.prompt).then(() => {
                      setCopied(true);
                      setTimeout(() => setCopied(false), 1500);
                    });
                  }}
                >
                  {copied ? t('context_copied') : t('context_copy')}
                </button>
              </div>
              <pre class="prompt" data-testid="context-prompt" tabIndex={0}>
                {ctx.prompt}
              </pre>
            </section>
          </div>
        </div>
      )}
      {open && <ProvenanceDialog customerId={customerId} memory={open} onClose={() => setOpen(null)} />}
    </div>
  );
}
