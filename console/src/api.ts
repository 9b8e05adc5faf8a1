// The only place that talks HTTP. Every call goes to the same origin, with the session's key.

export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  code?: string;
  field?: string | null;
  request_id?: string | null;
}

export class ApiError extends Error {
  problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.problem = problem;
  }
  get status() {
    return this.problem.status;
  }
  get code() {
    return this.problem.code;
  }
}

const KEY_STORAGE = 'rappel.console.key';
let apiKey: string | null = null;
try {
  apiKey = sessionStorage.getItem(KEY_STORAGE);
} catch {
  apiKey = null;
}

type Listener = (p: Problem) => void;
let onUnauthorized: Listener | null = null;

export function getKey() {
  return apiKey;
}
export function setKey(key: string | null) {
  apiKey = key;
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    /* private mode: the key lives in memory only */
  }
}
/** Called when a request of a logged-in session is refused with 401 (key revoked meanwhile). */
export function setUnauthorizedHandler(fn: Listener | null) {
  onUnauthorized = fn;
}

/** Base of the API: the console is served under /console/ on the same origin as /v1. */
function url(path: string, query?: Record<string, unknown>) {
  const u = new URL(path, window.location.origin);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '') continue;
      u.searchParams.set(k, String(v));
    }
  }
  return u.toString();
}

export interface RequestOptions {
  query?: Record<string, unknown>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  key?: string; // explicit key (login probe)
  quiet401?: boolean; // do not log out on 401
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' };
  const key = opts.key ?? apiKey;
  if (key) headers.Authorization = `Bearer ${key}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = opts.contentType ?? 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(url(path, opts.query), { method, headers, body, signal: opts.signal, credentials: 'omit' });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError({ title: 'Network error', status: 0, detail: (e as Error).message, code: 'network_error' });
  }
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const p =
      data && typeof data === 'object'
        ? (data as Problem)
        : { title: res.statusText || `HTTP ${res.status}`, detail: typeof data === 'string' ? data.slice(0, 300) : undefined };
    const problem: Problem = {
      ...p,
      title: p.title || res.statusText || `HTTP ${res.status}`,
      status: res.status,
      request_id: res.headers.get('x-request-id'),
    };
    if (res.status === 401 && !opts.quiet401 && !opts.key && onUnauthorized) onUnauthorized(problem);
    throw new ApiError(problem);
  }
  return data as T;
}

export const get = <T>(path: string, query?: Record<string, unknown>, signal?: AbortSignal) =>
  request<T>('GET', path, { query, signal });
export const post = <T>(path: string, body?: unknown, query?: Record<string, unknown>) =>
  request<T>('POST', path, { body, query });
export const patch = <T>(path: string, body: unknown) =>
  request<T>('PATCH', path, { body, contentType: 'application/merge-patch+json' });
export const del = <T>(path: string) => request<T>('DELETE', path);

export const enc = encodeURIComponent;

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

/** Every page of a cursor-paginated list (bounded by maxPages). */
export async function getAll<T>(path: string, query: Record<string, unknown> = {}, maxPages = 20): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null | undefined = undefined;
  for (let i = 0; i < maxPages; i++) {
    const page: Page<T> = await get<Page<T>>(path, { limit: 100, ...query, cursor });
    out.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}

/** Runs fn over items with at most `limit` calls in flight. */
export async function pool<I, O>(items: I[], limit: number, fn: (item: I) => Promise<O>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
