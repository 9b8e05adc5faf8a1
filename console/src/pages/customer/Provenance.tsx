import { useEffect, useRef } from 'preact/hooks';
import { enc, get } from '../../api';
import { dateTime } from '../../format';
import { t, tName } from '../../i18n';
import type { Interaction, Memory } from '../../types';
import { AsyncView, Dialog, useAsync } from '../../components/ui';
import { MessageView } from './Timeline';

/** The conversation a memory was drawn from, with its source messages highlighted. */
export function ProvenanceDialog({ customerId, memory, onClose }: { customerId: string; memory: Memory; onClose: () => void }) {
  const inter = useAsync(
    (signal) => get<Interaction>(`/v1/customers/${enc(customerId)}/interactions/${enc(memory.provenance.interaction_id)}`, undefined, signal),
    [customerId, memory.id],
  );
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    box.current?.querySelector('.message.highlight')?.scrollIntoView({ block: 'center' });
  }, [inter.data]);
  const ids = new Set(memory.provenance.message_ids);
  return (
    <Dialog title={t('provenance_title')} onClose={onClose} testid="provenance-dialog" wide>
      <blockquote class="memory-quote">
        <span class="chip kind">{tName('kind', memory.kind)}</span> {memory.text}
      </blockquote>
      <AsyncView a={inter}>
        {(i) => (
          <div ref={box}>
            <h3>
              {t('provenance_interaction', { id: i.external_id })} · {i.subject ?? ''}{' '}
              <span class="muted small">
                {tName('channel', i.channel)} · {dateTime(i.opened_at)}
              </span>
            </h3>
            <ol class="messages">
              {(i.messages ?? []).map((m) => (
                <MessageView key={m.id} m={m} highlight={ids.has(m.id)} testid="provenance-message" />
              ))}
            </ol>
          </div>
        )}
      </AsyncView>
    </Dialog>
  );
}
