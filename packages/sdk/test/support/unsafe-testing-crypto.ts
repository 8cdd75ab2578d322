/**
 * A stand-in for the MLS engine that opens nothing: payloads pass through as they are. For
 * the facade's own tests (timelines, the store, the outbox) over a stand-in transport, where
 * encryption is not what is tested; end-to-end encryption is tested against the real server
 * (e2ee.test.ts).
 */
import type { ConversationCrypto, CryptoHooks } from '../../src/mls/types.js';

export function unsafeTestingPlaintextCrypto(_hooks: CryptoHooks): Promise<ConversationCrypto> {
  return Promise.resolve({
    open: (_room, events) =>
      Promise.resolve({
        opened: events.map((event) => ({ event, payload: null, failure: null })),
        secrets: new Map(),
        done: () => undefined,
      }),
    seal: (_room, _cmid, plaintext) => Promise.resolve({ payload: plaintext, epoch: null }),
    security: () => ({ state: 'encrypted', warnings: [] }),
    waiting: () => 0,
    epoch: () => 0,
    complete: () => true,
    groupMembers: () => [],
    sync: () => undefined,
    schedule: () => undefined,
    rotate: () => Promise.resolve(),
    forget: () => Promise.resolve(),
    start: () => undefined,
    online: () => undefined,
    close: () => undefined,
    onChange: () => () => undefined,
    trust: {
      state: () => 'unknown',
      safetyNumber: () => Promise.resolve(null),
      setVerified: () => Promise.resolve(),
      acknowledge: () => Promise.resolve(),
    },
  });
}
