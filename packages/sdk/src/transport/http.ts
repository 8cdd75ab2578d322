/**
 * JSON over HTTP to the SecureChat API: CSRF token handling, cookies outside browsers,
 * errors as ChatError, and every response checked against its protocol schema.
 */
import {
  ApiRoutes,
  ChatError,
  CSRF_HEADER,
  CsrfResponse,
  ErrorResponse,
  isErrorCode,
  type Schema,
} from '@securechat/protocol';
import { FormatRegistry, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { OriginCookieJar } from './cookie-jar.js';

export interface HttpOptions {
  baseUrl: string;
  fetch: typeof fetch;
  /** 'memory' keeps cookies in this process (Node); 'browser' lets the browser keep them. */
  cookies: 'browser' | 'memory';
}

type Method = 'GET' | 'POST' | 'DELETE';

// TypeBox checks string formats only through its registry; the protocol uses date-time.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) =>
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value),
  );
}

export class HttpTransport {
  private csrfToken: string | null = null;
  private readonly jar: OriginCookieJar | null;
  private readonly origin: string | null;

  constructor(private readonly options: HttpOptions) {
    this.jar = options.cookies === 'memory' ? new OriginCookieJar() : null;
    this.origin = options.baseUrl ? new URL(options.baseUrl).origin : null;
  }

  /** GET and validate; null for a 401 when `allowUnauthenticated`. */
  async get<S extends Schema>(path: string, schema: S): Promise<Static<S>> {
    return this.request('GET', path, undefined, schema);
  }

  async post<S extends Schema>(path: string, body: object, schema: S): Promise<Static<S>>;
  async post(path: string, body: object): Promise<void>;
  async post<S extends Schema>(path: string, body: object, schema?: S): Promise<Static<S> | void> {
    return this.request('POST', path, body, schema);
  }

  async delete(path: string): Promise<void> {
    await this.request('DELETE', path, undefined, undefined);
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
      if (changesState) {
        headers[CSRF_HEADER] = await this.csrf();
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
      // The CSRF secret may have rotated (new cookie): fetch a fresh token once and retry.
      if (error.code === 'CHAT_ERR_CSRF' && changesState && attempt === 0) {
        this.csrfToken = null;
        continue;
      }
      throw error;
    }
  }

  private async csrf(): Promise<string> {
    if (this.csrfToken === null) {
      const response = await this.send('GET', ApiRoutes.csrf, { accept: 'application/json' });
      if (!response.ok) throw await this.error(response);
      this.csrfToken = (await this.parse(response, CsrfResponse)).token;
    }
    return this.csrfToken;
  }

  private async send(
    method: Method,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Response> {
    if (this.jar) {
      const cookie = this.jar.header();
      if (cookie) headers.cookie = cookie;
      // Browsers send Origin themselves; elsewhere we say who we are, as the server requires.
      if (this.origin && method !== 'GET') headers.origin = this.origin;
    }
    let response: Response;
    try {
      response = await this.options.fetch(`${this.options.baseUrl}${path}`, {
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
    if (this.jar) this.jar.store(response.headers.getSetCookie());
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

  private async error(response: Response): Promise<ChatError> {
    let data: unknown = null;
    try {
      data = await response.json();
    } catch {
      // fall through: not one of our errors
    }
    if (Value.Check(ErrorResponse, data) && isErrorCode(data.code)) {
      return new ChatError(data.code, data.message, {
        ...(data.retryAfter === undefined ? {} : { retryAfter: data.retryAfter }),
        ...(data.field === undefined ? {} : { field: data.field }),
      });
    }
    if (response.status === 429) {
      const retryAfter = Number(response.headers.get('retry-after'));
      return new ChatError(
        'CHAT_ERR_RATE_LIMITED',
        undefined,
        Number.isFinite(retryAfter) ? { retryAfter } : {},
      );
    }
    return new ChatError(response.status >= 500 ? 'CHAT_ERR_UNAVAILABLE' : 'CHAT_ERR_INTERNAL');
  }
}
