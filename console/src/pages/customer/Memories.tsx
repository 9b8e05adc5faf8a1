import { useState } from 'preact/hooks';
import { enc, getAll } from '../../api';
import { date, dateTime } from '../../format';
import { t, tName } from '../../i18n';
import { MEMORY_KINDS } from '../../types';
import type { Memory, MemoryKind } from '../../types';
import { AsyncView, CueChips, Empty, useAsync } from '../../components/ui';
import { ProvenanceDialog } from './Provenance';

export function Validity({ m }: { m: Memory }) {
  if (m.valid_to) return <span class="chip muted-chip">{t('memory_replaced', { from: date(m.valid_from ?? m.observed_at), to: date(m.valid_to) })}</span>;
  if (m.valid_from) return <span class="chip ok">{t('memory_valid', { from: date(m.valid_from) })}</span>;
  if (m.kind === 'fact' || m.kind === 'preference') return <span class="chip ok">{t('memory_valid_always')}</span>;
  return null;
}

export function MemoryItem({ m, onOpen }: { m: Memory; onOpen: (m: Memory) => void }) {
  const overdue = m.kind === 'commitment' && m.open && m.due_at && new Date(m.due_at) < new Date();
  return (
    <li class={`memory${m.valid_to ? ' replaced' : ''}`} data-testid="memory" data-kind={m.kind}>
      <button type="button" class="memory-btn" onClick={() => onOpen(m)} data-testid="memory-open" title={t('memory_show_source')}>
        <span class="memory-text">{m.text}</span>
      </button>
      <div class="memory-meta">
        <span class="muted small">{t('memory_observed', { d: dateTime(m.observed_at) })}</span>
        {m.speaker && <span class="muted small">· {m.speaker}</span>}
        {(m.kind === 'issue' || m.kind === 'commitment') && (
          <span class={`chip ${m.open ? 'warn' : 'ok'}`}>{m.open ? t('memory_open') : t('memory_closed')}</span>
        )}
        {m.due_at && <span class={`chip ${overdue ? 'bad' : ''}`}>{overdue ? `${t('overdue')} · ` : ''}{t('due', { d: dateTime(m.due_at) })}</span>}
        <Validity m={m} />
        {m.subject && <span class="chip">{m.subject}</span>}
        {m.count > 1 && <span class="chip">{t('memory_count', { n: m.count })}</span>}
        {m.pinned && <span class="chip">{t('memory_pinned')}</span>}
        {m.frustrated && <span class="chip frustrated">{t('frustrated')}</span>}
        <CueChips cues={m.cues} />
      </div>
    </li>
  );
}

export function Memories({ customerId }: { customerId: string }) {
  const [kind, setKind] = useState<MemoryKind>('issue');
  const [open, setOpen] = useState<Memory | null>(null);
  const mems = useAsync(() => getAll<Memory>(`/v1/customers/${enc(customerId)}/memories`, { kind }, 5), [customerId, kind]);
  return (
    <div data-testid="memories">
      <div class="segmented" role="group" aria-label={t('tab_memories')}>
        {MEMORY_KINDS.map((k) => (
          <button
            key={k}
            type="button"
            class={k === kind ? 'active' : ''}
            aria-pressed={k === kind}
            onClick={() => setKind(k)}
            data-testid={`memory-kind-${k}`}
          >
            {tName('kind', k)}
          </button>
        ))}
      </div>
      <AsyncView a={mems}>
        {(list) =>
          list.length === 0 ? (
            <Empty>{t('memories_empty', { kind: tName('kind', kind).toLowerCase() })}</Empty>
          ) : (
            <ul class="memories">
              {list.map((m) => (
                <MemoryItem key={m.id} m={m} onOpen={setOpen} />
              ))}
            </ul>
          )
        }
      </AsyncView>
      {open && <ProvenanceDialog customerId={customerId} memory={open} onClose={() => setOpen(null)} />}
    </div>
  );
}
