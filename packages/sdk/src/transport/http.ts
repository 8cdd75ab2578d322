/**
 * JSON over HTTP to the SecureChat API: the CSRF token, cookies outside browsers, errors as
 * ChatError, and every response checked against its protocol schema before anyone reads it.
 */
import {
  ApiRoutes,
  ChatError,
  CSRF_HEADER,
  CsrfResponse,
  ErrorResponse,
  type Schema,
} from '@securechat/protocol';
import { FormatRegistry, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { MemoryCookieJar } from './cookie-jar.js';

export interface HttpOptions {
  /** The server's origin, without a trailing slash; '' for the page's own origin. */
  baseUrl: string;
  fetch: typeof fetch;
  /** 'memory' keeps cookies in this process (Node); 'browser' lets the browser keep them. */
  cookies: 'browser' | 'memory';
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

// TypeBox checks string formats only through its registry; the protocol uses date-time.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) =>
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value),
  );
}

export class HttpTransport {
  /** The CSRF token, shared by concurrent requests while it is being fetched. */
  private csrfToken: Promise<string> | null = null;
  private jar: Promise<MemoryCookieJar> | null = null;
  /** Our origin, sent as `Origin` outside browsers (browsers send it themselves). */
  private readonly origin: string | null;

  constructor(private readonly options: HttpOptions) {
    this.origin =
      options.cookies === 'memory' && options.baseUrl ? new URL(options.baseUrl).origin : null;
  }

  async get<S extends Schema>(path: string, schema: S): Promise<Static<S>> {
    return this.request('GET', path, undefined, schema);
  }

  /** POST a JSON body; with a schema, validate and return the answer, else expect no body. */
  async post<S extends Schema>(path: string, body: object, schema: S): Promise<Static<S>>;
  async post(path: string, body: object): Promise<void>;
  async post<S extends Schema>(path: string, body: object, schema?: S): Promise<Static<S> | void> {
    return this.request('POST', path, body, schema);
  }

  /** PUT a JSON body; the answer is not read. */
  async put(path: string, body: object): Promise<void> {
    await this.request('PUT', path, body, undefined);
  }

  async delete(path: string): Promise<void> {
    await this.request('DELETE', path, undefined, undefined);
  }

  /**
   * Headers a WebSocket upgrade needs outside a browser: the session cookie and our Origin.
   * Browsers send both themselves, so this is empty there.
   */
  async socketHeaders(): Promise<Record<string, string>> {
    const jar = await this.cookieJar();
    if (!jar || !this.origin) return {};
    const cookie = await jar.header(`${this.options.baseUrl}/api/ws`);
    return { origin: this.origin, ...(cookie ? { cookie } : {}) };
  }

  private async request<S extends Schema>(
    method: Method,
    path: string,
    body: object | undefined,
    schema: S | undefined,
  ): Promise<Static<S>> {
    const changesState = method !== 'GET';
    for (let attempt = 0; ; attempt += 1) {
      const headers: Record<string, string> = { accept: 'application/json' };
      const token = changesState ? this.csrf() : null;
      if (token) {
        headers[CSRF_HEADER] = await token;
        headers['content-type'] = 'application/json';
      }
      const response = await this.send(
        method,
        path,
        headers,
        changesState ? JSON.stringify(body ?? {}) : undefined,
      );
      if (response.ok) {
        if (response.status === 204 || schema === undefined) {
          await response.body?.cancel();
          return undefined;
        }
        return this.parse(response, schema);
      }
      const error = await this.error(response);
      // The CSRF secret may have changed (a new cookie): fetch a fresh token once and retry.
      if (error.code === 'CHAT_ERR_CSRF' && token && attempt === 0) {
        if (this.csrfToken === token) this.csrfToken = null;
        continue;
      }
      throw error;
    }
  }

  private csrf(): Promise<string> {
    if (this.csrfToken === null) {
      const pending = (async () => {
        const response = await this.send('GET', ApiRoutes.csrf, { accept: 'application/json' });
        if (!response.ok) throw await this.error(response);
        return (await this.parse(response, CsrfResponse)).token;
      })();
      // A failed fetch is not kept: the next request tries again.
      pending.catch(() => {
        if (this.csrfToken === pending) this.csrfToken = null;
      });
      this.csrfToken = pending;
    }
    return this.csrfToken;
  }

  private cookieJar(): Promise<MemoryCookieJar> | null {
    if (this.options.cookies !== 'memory') return null;
    this.jar ??= import('./cookie-jar.js').then(({ MemoryCookieJar }) => new MemoryCookieJar());
    return this.jar;
  }

  private async send(
    method: Method,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Response> {
    const url = `${this.options.baseUrl}${path}`;
    const jar = await this.cookieJar();
    if (jar) {
      const cookie = await jar.header(url);
      if (cookie) headers.cookie = cookie;
    }
    if (this.origin && method !== 'GET') headers.origin = this.origin;
    let response: Response;
    try {
      response = await this.options.fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        credentials: 'same-origin',
        redirect: 'error',
      });
    } catch {
      throw new ChatError(
        'CHAT_ERR_UNAVAILABLE',
        'The server cannot be reached. Check your connection.',
      );
    }
    if (jar) await jar.store(url, response.headers.getSetCookie());
    return response;
  }

  private async parse<S extends Schema>(response: Response, schema: S): Promise<Static<S>> {
    let data: unknown;
    try {
      data = await response.json();
    } catch {
      throw new ChatError('CHAT_ERR_INTERNAL', 'The server sent an answer that is not valid JSON.');
    }
    if (!Value.Check(schema, data)) {
      throw new ChatError(
        'CHAT_ERR_INTERNAL',
        'The server sent an answer this app does not understand.',
      );
    }
    return data;
  }

  /** The ChatError an unsuccessful response stands for. */
  private async error(response: Response): Promise<ChatError> {
    let data: unknown = null;
    try {
      data = await response.json();
    } catch {
      // Not one of our errors (a proxy's page, an empty body): decided by status below.
    }
    if (Value.Check(ErrorResponse, data)) {
      return new ChatError(data.code, data.message, {
        ...(data.retryAfter === undefined ? {} : { retryAfter: data.retryAfter }),
        ...(data.field === undefined ? {} : { field: data.field }),
      });
    }
    if (response.status === 429) {
      const header = response.headers.get('retry-after');
      const retryAfter = header === null ? NaN : Number(header);
      return new ChatError(
        'CHAT_ERR_RATE_LIMITED',
        undefined,
        Number.isInteger(retryAfter) && retryAfter >= 0 ? { retryAfter } : {},
      );
    }
    // A gateway or proxy answering for a server that is down or restarting.
    if (response.status >= 500) return new ChatError('CHAT_ERR_UNAVAILABLE');
    return new ChatError(
      'CHAT_ERR_INTERNAL',
      'The server sent an answer this app does not understand.',
    );
  }
}
