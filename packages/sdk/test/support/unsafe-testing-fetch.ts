/**
 * A scripted stand-in for the server, as a fetch function, for the wire behaviour the real
 * server never shows on demand: malformed answers, rotated CSRF secrets, outages. Everything
 * else is tested against the real server (client.test.ts).
 */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

export type Handler = (request: RecordedRequest) => Response | Promise<Response>;

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });

/** A fetch that answers `GET /api/csrf` with numbered tokens and the rest from `routes`. */
export function unsafeTestingFetch(routes: Record<string, Handler>) {
  const requests: RecordedRequest[] = [];
  let csrfIssued = 0;
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const request: RecordedRequest = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      headers,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    requests.push(request);
    const key = `${request.method} ${request.path}`;
    if (key === 'GET /api/csrf') {
      csrfIssued += 1;
      return json(200, { token: `token-${csrfIssued}` });
    }
    const handler = routes[key];
    if (!handler) return json(404, { code: 'CHAT_ERR_NOT_FOUND', message: 'Not found.' });
    return handler(request);
  };
  return { fetch, requests };
}
