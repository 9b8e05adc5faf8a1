import { useEffect, useState } from 'preact/hooks';
import { enc, get, post } from '../api';
import type { Page } from '../api';
import { dateTime } from '../format';
import { t, tName } from '../i18n';
import type { Key } from '../i18n';
import { href } from '../router';
import { customerName, customers } from '../store';
import type { Customer, OutreachItem } from '../types';
import { Dialog, Empty, ErrorBox, Loading, toast, useAsync, useCanWrite } from './ui';

export interface OutreachFilters {
  state?: string;
  channel?: string;
  source?: string;
  customer_id?: string;
}

const CANCELLABLE = new Set(['queued', 'claimed', 'failed']);

export function OutreachList({ filters, emptyText, limit = 25, refresh = 0 }: { filters: OutreachFilters; emptyText?: string; limit?: number; refresh?: number }) {
  const canWrite = useCanWrite();
  const names = useAsync(() => customers().catch(() => [] as Customer[]), []);
  const [items, setItems] = useState<OutreachItem[] | null>(null);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [cancelling, setCancelling] = useState<OutreachItem | null>(null);
  const key = JSON.stringify(filters);

  const load = async (after?: string | null) => {
    setLoading(true);
    setError(null);
    try {
      const page = await get<Page<OutreachItem>>('/v1/outreach', { ...filters, limit, cursor: after ?? undefined });
      setItems((prev) => (after ? [...(prev ?? []), ...page.items] : page.items));
      setCursor(page.next_cursor);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    setItems(null);
    load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, refresh]);

  if (error && !items) return <ErrorBox error={error} onRetry={() => load()} />;
  if (!items) return <Loading />;
  if (!items.length) return <Empty testid="outreach-empty">{emptyText ?? t('outreach_empty')}</Empty>;
  return (
    <>
      <div class="table-wrap" tabIndex={0}>
        <table class="table" data-testid="outreach-table">
          <thead>
            <tr>
              <th scope="col">{t('col_when')}</th>
              <th scope="col">{t('col_customer')}</th>
              <th scope="col">{t('col_reason')}</th>
              <th scope="col">{t('col_channel')}</th>
              <th scope="col">{t('col_priority')}</th>
              <th scope="col">{t('col_state')}</th>
              {canWrite && <th scope="col">{t('col_actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {items.map((o) => (
              <tr key={o.id} data-testid="outreach-row" data-id={o.id} data-state={o.state}>
                <td class="nowrap small">{dateTime(o.created_at)}</td>
                <td>
                  <a href={href('customers', o.customer_id)}>{customerName(names.data ?? null, o.customer_id)}</a>
                  <div class="muted small">
                    {o.source.kind}: {o.source.id}
                  </div>
                </td>
                <td>
                  <div>{o.reason}</div>
                  <details class="small">
                    <summary>{t('col_message')}</summary>
                    <p class="message-text">{o.message}</p>
                  </details>
                </td>
                <td>{tName('channel', o.channel)}</td>
                <td>{o.priority}</td>
                <td>
                  <span class={`chip state-${o.state}`} data-testid="outreach-state">
                    {t(`state_${o.state}` as Key) || o.state}
                  </span>
                  {o.error && <div class="muted small">{o.error}</div>}
                </td>
                {canWrite && (
                  <td>
                    {CANCELLABLE.has(o.state) && (
                      <button type="button" class="btn btn-small" onClick={() => setCancelling(o)} data-testid="outreach-cancel" data-write="true">
                        {t('outreach_cancel')}
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {error ? <ErrorBox error={error} /> : null}
      {cursor && (
        <button type="button" class="btn" onClick={() => load(cursor)} disabled={loading} data-testid="outreach-more">
          {loading ? t('loading') : t('load_more')}
        </button>
      )}
      {cancelling && (
        <CancelDialog
          item={cancelling}
          name={customerName(names.data ?? null, cancelling.customer_id)}
          onClose={() => setCancelling(null)}
          onDone={(updated) => {
            setItems((l) => (l ?? []).map((x) => (x.id === updated.id ? updated : x)));
            setCancelling(null);
            toast(t('outreach_cancelled'));
          }}
        />
      )}
    </>
  );
}

function CancelDialog({ item, name, onClose, onDone }: { item: OutreachItem; name: string; onClose: () => void; onDone: (o: OutreachItem) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <Dialog title={t('outreach_cancel_title', { name })} onClose={onClose} testid="cancel-dialog">
      <p>{t('outreach_cancel_body', { reason: item.reason })}</p>
      {error ? <ErrorBox error={error} /> : null}
      <div class="dialog-actions">
        <button type="button" class="btn" onClick={onClose}>
          {t('close')}
        </button>
        <button
          type="button"
          class="btn btn-danger"
          disabled={busy}
          data-testid="cancel-confirm"
          onClick={async () => {
            setBusy(true);
            try {
              onDone(await post<OutreachItem>(`/v1/outreach/${enc(item.id)}/cancel`));
            } catch (e) {
              setError(e);
              setBusy(false);
            }
          }}
        >
          {t('outreach_cancel_confirm')}
        </button>
      </div>
    </Dialog>
  );
}
