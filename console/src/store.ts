// Per-session caches shared by pages: the customer list and their health, loaded once.
import { enc, get, getAll, pool } from './api';
import type { Customer, HealthReport } from './types';

let customersPromise: Promise<Customer[]> | null = null;
const healthByCustomer = new Map<string, HealthReport>();
const healthErrors = new Map<string, unknown>();

export function customers(): Promise<Customer[]> {
  if (!customersPromise) {
    customersPromise = getAll<Customer>('/v1/customers', {}, 50).catch((e) => {
      customersPromise = null;
      throw e;
    });
  }
  return customersPromise;
}

export function customerName(list: Customer[] | null, id: string): string {
  const c = list?.find((x) => x.id === id);
  return c?.name || c?.external_id || id;
}

export function cachedHealth(id: string) {
  return healthByCustomer.get(id);
}

export async function health(id: string, fresh = false): Promise<HealthReport> {
  if (!fresh) {
    const h = healthByCustomer.get(id);
    if (h) return h;
  }
  const h = await get<HealthReport>(`/v1/customers/${enc(id)}/health`);
  healthByCustomer.set(id, h);
  return h;
}

/** Health of many customers, four requests at a time; onEach is called as each one arrives. */
export async function healthOfAll(list: Customer[], onEach: (id: string) => void): Promise<void> {
  await pool(list, 4, async (c) => {
    if (healthByCustomer.has(c.id)) return onEach(c.id);
    try {
      await health(c.id);
      healthErrors.delete(c.id);
    } catch (e) {
      healthErrors.set(c.id, e);
    }
    onEach(c.id);
  });
}

export function forgetCustomer(id: string) {
  healthByCustomer.delete(id);
  if (customersPromise) customersPromise = customersPromise.then((l) => l.filter((c) => c.id !== id));
}

export function resetCaches() {
  customersPromise = null;
  healthByCustomer.clear();
  healthErrors.clear();
}
