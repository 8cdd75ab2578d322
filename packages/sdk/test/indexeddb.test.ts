/**
 * The browser store over fake-indexeddb (an in-memory IndexedDB): one database per user and
 * device, a change committed as one transaction, and erased when the device is removed.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { emptyTimeline } from '../src/conversations/timeline.js';
import { deleteIndexedDbStore, openIndexedDbStore } from '../src/store/indexeddb.dom.js';
import { emptyRoomRecord } from '../src/store/store.js';

describe('the IndexedDB store', () => {
  it('keeps each user and device apart, commits a change whole, and is erased with the device', async () => {
    const alice = { userId: 'alice', deviceId: 'd1' };
    const store = await openIndexedDbStore(alice);
    const other = await openIndexedDbStore({ userId: 'bob', deviceId: 'd1' });
    await store.putPending({
      cmid: 'c1',
      room: 'r',
      content: { type: 'text', text: 'x' },
      at: 1,
      error: null,
    });
    const timeline = { ...emptyTimeline, newest: 3, oldest: 1, complete: true };
    await store.commit({
      room: { ...emptyRoomRecord('r'), position: 3 },
      timeline,
      settled: ['c1'],
    });
    expect(await store.rooms()).toEqual([{ ...emptyRoomRecord('r'), position: 3 }]);
    expect(await store.timeline('r')).toEqual(timeline);
    expect(await store.pending()).toEqual([]);
    expect(await other.rooms()).toEqual([]);

    // A change that fails part-way writes nothing: the record, the timeline and the settled
    // send go together or not at all.
    await store.putPending({
      cmid: 'c2',
      room: 'r',
      content: { type: 'text', text: 'y' },
      at: 2,
      error: null,
    });
    const broken = {
      ...timeline,
      newest: 4,
      items: [() => undefined],
    } as unknown as typeof timeline;
    await expect(
      store.commit({
        room: { ...emptyRoomRecord('r'), position: 4 },
        timeline: broken,
        settled: ['c2'],
      }),
    ).rejects.toBeDefined();
    expect((await store.rooms())[0]?.position).toBe(3);
    expect((await store.pending()).map((p) => p.cmid)).toEqual(['c2']);

    await store.close();
    const again = await openIndexedDbStore(alice);
    expect(await again.timeline('r')).toEqual(timeline);
    await again.close();
    await deleteIndexedDbStore(alice);
    const fresh = await openIndexedDbStore(alice);
    expect(await fresh.rooms()).toEqual([]);
    await fresh.clear();
    await other.close();
  });
});
