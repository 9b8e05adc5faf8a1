import { useState } from 'preact/hooks';
import { dateTime, num } from '../../format';
import { t, tName } from '../../i18n';
import type { Interaction, Message } from '../../types';
import { CueChips, Empty, SentimentBadge } from '../../components/ui';

export function MessageView({ m, highlight, testid }: { m: Message; highlight?: boolean; testid?: string }) {
  return (
    <li
      class={`message role-${m.role}${highlight ? ' highlight' : ''}${m.sentiment?.frustrated ? ' frustrated' : ''}`}
      data-testid={testid ?? 'message'}
      data-highlighted={highlight ? 'true' : undefined}
      aria-label={highlight ? t('from_memory') : undefined}
    >
      <div class="message-head">
        <span class="strong">{m.author || tName('role', m.role)}</span>
        <span class="chip role">{tName('role', m.role)}</span>
        <time class="muted small" dateTime={m.sent_at}>
          {dateTime(m.sent_at)}
        </time>
        {m.sentiment && <SentimentBadge score={m.sentiment.score} label={m.sentiment.label} frustrated={m.sentiment.frustrated} />}
      </div>
      <p class="message-text">{m.text}</p>
      {m.sentiment?.cues?.length ? <CueChips cues={m.sentiment.cues} /> : null}
    </li>
  );
}

function worst(i: Interaction) {
  let min: number | null = null;
  let frustrated = false;
  for (const m of i.messages ?? []) {
    if (!m.sentiment) continue;
    if (min === null || m.sentiment.score < min) min = m.sentiment.score;
    frustrated ||= m.sentiment.frustrated;
  }
  return { min, frustrated };
}

export function Timeline({ interactions }: { interactions: Interaction[] }) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  if (!interactions.length) return <Empty>{t('timeline_empty')}</Empty>;
  const toggle = (id: string) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  return (
    <ol class="timeline" data-testid="timeline">
      {interactions.map((i) => {
        const isOpen = open.has(i.id);
        const w = worst(i);
        return (
          <li key={i.id} class={`interaction${w.frustrated ? ' frustrated' : ''}`} data-testid="interaction" data-external-id={i.external_id}>
            <button
              type="button"
              class="interaction-head"
              aria-expanded={isOpen}
              aria-controls={`msgs-${i.id}`}
              onClick={() => toggle(i.id)}
              data-testid="interaction-toggle"
            >
              <span class="caret" aria-hidden="true">
                {isOpen ? '▾' : '▸'}
              </span>
              <time class="nowrap" dateTime={i.opened_at}>
                {dateTime(i.opened_at)}
              </time>
              <span class="chip channel">{tName('channel', i.channel)}</span>
              <span class="interaction-subject">{i.subject || i.external_id}</span>
              <span class={`chip status status-${i.status}`}>{tName('status', i.status)}</span>
              {i.escalated && <span class="chip warn">{t('escalated')}</span>}
              {i.csat != null && <span class={`chip ${i.csat <= 2 ? 'bad' : ''}`}>{t('csat', { v: i.csat })}</span>}
              {i.nps != null && <span class="chip">{t('nps', { v: i.nps })}</span>}
              {w.min !== null && (
                <span class={`sentiment ${w.min <= -0.3 ? 'neg' : w.min >= 0.3 ? 'pos' : 'neu'}`}>{num(w.min)}</span>
              )}
              {w.frustrated && <span class="chip frustrated">{t('frustrated')}</span>}
              <span class="muted small">{t('interaction_messages', { n: i.messages?.length ?? 0 })}</span>
            </button>
            {isOpen && (
              <div id={`msgs-${i.id}`} class="interaction-body" data-testid="interaction-messages">
                <p class="muted small">
                  {i.external_id}
                  {i.product ? ` · ${i.product}` : ''}
                  {i.handled_by ? ` · ${t('handled_by', { who: i.handled_by })}` : ''}
                  {i.tags?.length ? ` · ${i.tags.join(', ')}` : ''}
                </p>
                <ol class="messages">
                  {(i.messages ?? []).map((m) => (
                    <MessageView key={m.id} m={m} />
                  ))}
                </ol>
              </div>
            )}
          </li>
        );
      })}
    </ol>
  );
}
