/**
 * A real server listening on a free port for one test file, and people who register on it
 * and open their conversations through the sdk over real WebSockets. Everything is closed
 * after the file.
 */
import { afterAll, beforeAll } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../../../test-support/net.js';
import { until } from '../../../../test-support/until.js';
import { createTestApp, type TestApp } from '../../../server/test/support/harness.js';
import type { Dialect } from '../../../server/src/storage/dialect.js';
import { createClient, openMemoryStore, type Conversations } from '../../src/index.js';

export interface LiveServer {
  readonly app: TestApp;
  readonly origin: string;
  /** Register `name` and open their conversations, connected. */
  readonly person: (name: string) => Promise<{ c: Conversations; id: string }>;
}

export function liveServer(dialect: Dialect): LiveServer {
  let app: TestApp | undefined;
  let origin = '';
  const open: Conversations[] = [];
  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    app = await createTestApp(dialect, {
      env: {
        PUBLIC_ORIGIN: origin,
        RATE_LIMIT_LOGIN_PER_MINUTE: '100',
        RATE_LIMIT_REGISTRATIONS_PER_HOUR: '100',
      },
    });
    await app.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    for (const c of open) await c.close();
    await app?.close();
  });
  return {
    get app() {
      if (!app) throw new Error('the server is not started yet');
      return app;
    },
    get origin() {
      return origin;
    },
    person: async (name) => {
      const client = createClient({ baseUrl: origin, WebSocket });
      const me = await client.register({
        username: name,
        password: 'violet tractor sings under 7 moons',
      });
      const c = await client.conversations({ store: openMemoryStore(), userId: me.user.id });
      open.push(c);
      await until(() => c.state === 'open', `${name} to connect`);
      return { c, id: me.user.id };
    },
  };
}
