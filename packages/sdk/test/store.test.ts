/** The Node stores: a change is one write; the file survives a reopen and is never half written. */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyTimeline } from '../src/conversations/timeline.js';
import { openFileStore } from '../src/store/file.node.js';
import { openMemoryStore } from '../src/store/memory.std.js';
import { emptyRoomRecord, storeName } from '../src/store/store.js';

describe('local stores', () => {
  const directories: string[] = [];
  afterEach(async () => {
    for (const directory of directories.splice(0))
      await rm(directory, { recursive: true, force: true });
  });

  it('keep a room record, its timeline and settled sends as one change', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'sc-store-'));
    directories.push(directory);
    for (const open of [
      async () => openMemoryStore(),
      () => openFileStore({ directory, userId: 'u1', deviceId: 'd1' }),
    ]) {
      const store = await open();
      await store.putPending({
        cmid: 'c1',
        room: 'r',
        content: { type: 'text', text: 'x' },
        at: 1,
        error: null,
      });
      await store.putPending({
        cmid: 'c2',
        room: 'r',
        content: { type: 'text', text: 'y' },
        at: 2,
        error: null,
      });
      const timeline = { ...emptyTimeline, newest: 4, oldest: 1, complete: true };
      await store.commit({
        room: { ...emptyRoomRecord('r'), position: 4, read: 2 },
        timeline,
        settled: ['c1'],
      });
      expect(await store.rooms()).toEqual([{ ...emptyRoomRecord('r'), position: 4, read: 2 }]);
      expect(await store.timeline('r')).toEqual(timeline);
      expect((await store.pending()).map((p) => p.cmid)).toEqual(['c2']);
      await store.forgetRoom('r');
      expect(await store.timeline('r')).toBeNull();
      await store.close();
    }
  });

  it('keeps one JSON file per user and device, replaced atomically, and reads it back', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'sc-store-'));
    directories.push(directory);
    const store = await openFileStore({ directory, userId: 'u1', deviceId: 'd1' });
    const other = await openFileStore({ directory, userId: 'u2', deviceId: 'd1' });
    await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        store.commit({ room: { ...emptyRoomRecord(`r${n}`), position: n } }),
      ),
    );
    await store.close();
    await other.close();
    // Only the finished files: no temporary file is left behind.
    expect((await readdir(directory)).sort()).toEqual([`${storeName('u1', 'd1')}.json`]);
    const again = await openFileStore({ directory, userId: 'u1', deviceId: 'd1' });
    expect((await again.rooms()).map((r) => r.position).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(
      await (await openFileStore({ directory, userId: 'u2', deviceId: 'd1' })).rooms(),
    ).toEqual([]);
    await again.clear();
    await again.close();
    expect(
      JSON.parse(await readFile(join(directory, `${storeName('u1', 'd1')}.json`), 'utf8')),
    ).toMatchObject({
      data: { rooms: {} },
    });
    // A file from an unknown format starts empty rather than failing.
    await writeFile(join(directory, `${storeName('u3', 'd1')}.json`), '{"format":99}');
    expect(
      await (await openFileStore({ directory, userId: 'u3', deviceId: 'd1' })).rooms(),
    ).toEqual([]);
  });
});
