/**
 * End-to-end encryption through the sdk against the real server over real WebSockets: two
 * users in a direct room, a three-user private group, #general joined by external commits,
 * removal, and what the server keeps (ciphertext only).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GENERAL_ROOM_ID } from '@securechat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { unsafeTestingAuthenticationService } from 'ts-mls';
import { freePort } from '../../../test-support/net.js';
import { until } from '../../../test-support/until.js';
import {
  createTestApp,
  describeEachDialect,
  type TestApp,
} from '../../server/test/support/harness.js';
import {
  createClient,
  openMemoryStore,
  type Conversations,
  type ConversationStore,
  type SecureChatClient,
} from '../src/index.js';
import { joinByExternalCommit, mlsContext, newSignatureKeyPair } from '../src/mls/group.js';
import { newIdentity, signDeviceCredential } from '../src/mls/identity.js';
import { connectRaw } from '../src/raw.js';

const PASSWORD = 'violet tractor sings under 7 moons';

interface Person {
  id: string;
  name: string;
  c: Conversations;
  client: SecureChatClient;
  store: ConversationStore;
}

const texts = (p: Pick<Person, 'c'>, room: string) =>
  p.c.view(room).items.flatMap((item) => (item.type === 'message' && item.text ? [item.text] : []));

describeEachDialect('end-to-end encryption', (dialect) => {
  let t: TestApp;
  let origin: string;
  const people: Person[] = [];
  const errors: string[] = [];

  async function person(
    name: string,
    existing = false,
    store: ConversationStore = openMemoryStore(),
  ): Promise<Person> {
    const client = createClient({ baseUrl: origin, WebSocket });
    const me = existing
      ? await client.login({ username: name, password: PASSWORD })
      : await client.register({ username: name, password: PASSWORD });
    const c = await client.conversations({
      store,
      userId: me.user.id,
      onError: (error) => errors.push(`${name}: ${String(error)} ${(error as Error).stack ?? ''}`),
    });
    const p = { id: me.user.id, name, c, client, store };
    people.push(p);
    return p;
  }

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    t = await createTestApp(dialect, {
      env: {
        PUBLIC_ORIGIN: origin,
        RATE_LIMIT_LOGIN_PER_MINUTE: '100',
        RATE_LIMIT_REGISTRATIONS_PER_HOUR: '100',
      },
    });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    if (errors.length > 0) console.error(errors.join('\n'));
    for (const p of people) await p.c.close();
    await t.close();
  });

  it('two users talk in a direct room; the server keeps only ciphertext', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const room = await alice.c.direct('bob');
    // Both devices learn of the room at once and may both try to make its group.
    await Promise.all([alice.c.rooms(), bob.c.rooms()]);
    alice.c.open(room.id);
    bob.c.open(room.id);
    const marker = `marker-${Math.random().toString(36).slice(2)}`;
    await alice.c.sendText(room.id, `hello ${marker}`);
    await until(() => texts(bob, room.id).includes(`hello ${marker}`), 'bob to read alice');
    await bob.c.sendText(room.id, 'hi alice');
    await until(() => texts(alice, room.id).includes('hi alice'), 'alice to read bob');
    expect(alice.c.view(room.id).security.state).toBe('encrypted');
    expect(bob.c.view(room.id).security.state).toBe('encrypted');

    const stored = await t.storage.db
      .selectFrom('events')
      .select('payload')
      .where('room_id', '=', room.id)
      .execute();
    const haystack = stored.map((r) => Buffer.from(r.payload ?? []).toString('latin1')).join('');
    expect(haystack).not.toContain(marker);
    expect(haystack).not.toContain('hi alice');
  }, 90_000);

  it('adopts its own accepted commit after stopping before it stored the new keys', async () => {
    // The device stops (a closed tab) after the server accepted its commit but before it
    // wrote the new group state: the write of the group state fails, as if never made.
    const kept = openMemoryStore();
    let stopBeforeStoring = false;
    const store: ConversationStore = Object.assign(Object.create(kept) as ConversationStore, {
      putSecrets: (changes: Parameters<ConversationStore['putSecrets']>[0]) => {
        if (stopBeforeStoring && [...changes.keys()].some((key) => key.startsWith('group:')))
          return Promise.reject(new Error('the tab was closed'));
        return kept.putSecrets(changes);
      },
    });
    const abe = await person('abe', false, store);
    const bea = await person('bea');
    const room = await abe.c.direct('bea');
    await Promise.all([abe.c.rooms(), bea.c.rooms()]);
    abe.c.open(room.id);
    bea.c.open(room.id);
    await abe.c.sendText(room.id, 'before');
    await until(() => texts(bea, room.id).includes('before'), 'bea to read abe');
    stopBeforeStoring = true;
    await expect(abe.c.rotateKeys(room.id)).rejects.toThrow();
    await abe.c.close();
    people.splice(people.indexOf(abe), 1);

    // The same device opens again over what it stored: the commit comes back from the log.
    const again = await abe.client.conversations({ store: kept, userId: abe.id });
    people.push({ ...abe, c: again, store: kept });
    again.open(room.id);
    await bea.c.sendText(room.id, 'after the new keys');
    await until(() => texts({ c: again }, room.id).includes('after the new keys'), 'abe to read');
    await again.sendText(room.id, 'and back');
    await until(() => texts(bea, room.id).includes('and back'), 'bea to read abe again');
  }, 90_000);

  it('a three-user private group: an invited member reads from then on; a removed one reads nothing after', async () => {
    const [ann, ben, cat] = [await person('ann'), await person('ben'), await person('cat')];
    const group = await ann.c.createGroup({ name: 'Secret plans' });
    await ann.c.invite(group.id, 'ben');
    await ann.c.invite(group.id, 'cat');
    for (const p of [ann, ben, cat]) p.c.open(group.id);
    await ann.c.sendText(group.id, 'one');
    await until(
      () => texts(ben, group.id).includes('one') && texts(cat, group.id).includes('one'),
      'ben and cat to read ann',
    );
    // The group's name is content: both read it, the server never had it.
    await until(() => ben.c.view(group.id).profile.name === 'Secret plans', 'the name');
    await cat.c.sendText(group.id, 'two');
    await until(() => texts(ann, group.id).includes('two'), 'ann to read cat');
    await until(() => texts(ben, group.id).includes('two'), 'ben to read cat');

    await ann.c.kick(group.id, cat.id);
    // The kick becomes a Remove commit: cat's device leaves the group.
    await until(
      () => !ann.c.groupDevices(group.id).some((d) => d.user === cat.id),
      'cat to be removed from the group',
    );
    await ann.c.sendText(group.id, 'three');
    await until(() => texts(ben, group.id).includes('three'), 'ben to read three');
    expect(texts(cat, group.id)).not.toContain('three');
  }, 120_000);

  it('leaves none of their words in the server’s data folder, in any room kind', async () => {
    const quinn = await person('quinn');
    const rosa = await person('rosa');
    const marker = () => `zq${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    const said: string[] = [];
    const talk = async (room: string) => {
      for (const p of [quinn, rosa]) p.c.open(room);
      // In rooms anyone may join, each device joins the group by itself: talk once both did.
      await until(
        () => quinn.c.groupDevices(room).some((d) => d.user === rosa.id),
        'rosa in the group',
      );
      const [one, two] = [marker(), marker()];
      said.push(one, two);
      await quinn.c.sendText(room, one);
      await until(() => texts(rosa, room).includes(one), 'rosa to read');
      await rosa.c.sendText(room, two, { replyTo: 1 });
      await until(() => texts(quinn, room).includes(two), 'quinn to read');
    };
    const dm = await quinn.c.direct('rosa');
    await talk(dm.id);
    const groupName = marker();
    said.push(groupName);
    const group = await quinn.c.createGroup({ name: groupName });
    await quinn.c.invite(group.id, 'rosa');
    await talk(group.id);
    await until(() => rosa.c.view(group.id).profile.name === groupName, 'the group name');
    const room = await quinn.c.createChannel({
      name: `locked-${dialect}`,
      password: 'a long room password',
    });
    await rosa.c.join(room.id, 'a long room password');
    await talk(room.id);
    await until(
      () => [quinn, rosa].every((p) => p.c.view(GENERAL_ROOM_ID).security.state !== 'joining'),
      'both in #general',
    );
    await talk(GENERAL_ROOM_ID);

    // Everything the server keeps: on SQLite its data folder (database, WAL, blobs, secrets);
    // on PostgreSQL every event payload and blob.
    const haystacks: Buffer[] = [];
    if (dialect === 'sqlite') {
      const walk = async (dir: string): Promise<void> => {
        for (const entry of await readdir(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) await walk(path);
          else haystacks.push(await readFile(path));
        }
      };
      await walk(t.config.dataDir);
    }
    for (const row of await t.storage.db.selectFrom('events').select('payload').execute())
      haystacks.push(Buffer.from(row.payload ?? []));
    for (const row of await t.storage.db.selectFrom('blobs').select('data').execute())
      haystacks.push(Buffer.from(row.data));
    expect(haystacks.length).toBeGreaterThan(0);
    for (const word of said)
      for (const haystack of haystacks) expect(haystack.includes(word)).toBe(false);
  }, 180_000);

  it('a device signed out and removed leaves every group: what follows is not for it', async () => {
    const oli = await person('oli');
    const pam = await person('pam');
    const dm = await oli.c.direct('pam');
    oli.c.open(dm.id);
    pam.c.open(dm.id);
    await until(
      () => oli.c.groupDevices(dm.id).length === 2 && pam.c.groupDevices(dm.id).length === 2,
      'pam in the group',
    );
    const pam2 = await person('pam', true);
    pam2.c.open(dm.id);
    const removed = (await pam2.client.session())?.device.id ?? '';
    // Pam's new device is added (by oli's client or pam's other device) once announced.
    await until(
      () => oli.c.groupDevices(dm.id).some((d) => d.device === removed),
      'the new device to be added',
    );
    await oli.c.sendText(dm.id, 'to both of you');
    await until(() => texts(pam2, dm.id).includes('to both of you'), 'the second device to read');

    await pam2.c.close();
    await pam2.client.logout({ removeDevice: true });
    // A remaining member's client commits its removal.
    await until(
      () => !oli.c.groupDevices(dm.id).some((d) => d.device === removed),
      'the removed device to leave the group',
    );
    await until(() => {
      const devices = pam.c.groupDevices(dm.id);
      return devices.length > 0 && !devices.some((d) => d.device === removed);
    }, 'pam’s other device to apply the removal');
    expect(
      pam.c
        .groupDevices(dm.id)
        .map((d) => d.user)
        .sort(),
    ).toEqual([oli.id, pam.id].sort());
    await oli.c.sendText(dm.id, 'after the removal');
    await until(() => texts(pam, dm.id).includes('after the removal'), 'pam to read');
  }, 120_000);

  describe('a server that lies', () => {
    it('gives another identity key for a user: conversations with them warn until acknowledged', async () => {
      const kim = await person('kim');
      const lou = await person('lou');
      const dm = await kim.c.direct('lou');
      kim.c.open(dm.id);
      lou.c.open(dm.id);
      await kim.c.sendText(dm.id, 'hi lou');
      await until(() => texts(lou, dm.id).includes('hi lou'), 'lou to read kim');
      expect(kim.c.trustState(lou.id)).toBe('unverified');
      const before = await kim.c.safetyNumber(lou.id);

      // The server's directory now answers with a key of its own for lou. Kim's device looks
      // its contacts up again when it comes back.
      await kim.c.close();
      const { identity_key: real } = await t.storage.db
        .selectFrom('users')
        .select('identity_key')
        .where('id', '=', lou.id)
        .executeTakeFirstOrThrow();
      await t.storage.db
        .updateTable('users')
        .set({ identity_key: new Uint8Array(32).fill(7) })
        .where('id', '=', lou.id)
        .execute();
      const again = await kim.client.conversations({ store: kim.store, userId: kim.id });
      people.push({ ...kim, c: again });
      await until(() => again.trustState(lou.id) === 'changed', 'the change to be seen');
      await until(() => again.view(dm.id).security.state === 'warning', 'the warning');
      expect(again.view(dm.id).security.warnings).toContainEqual({
        type: 'key-changed',
        user: lou.id,
      });
      expect(await again.safetyNumber(lou.id)).not.toEqual(before);
      await again.acknowledgeKeyChange(lou.id);
      expect(again.trustState(lou.id)).toBe('unverified');
      // (The real key again, so lou's devices stay valid for the other tests on this server.)
      await t.storage.db
        .updateTable('users')
        .set({ identity_key: real })
        .where('id', '=', lou.id)
        .execute();
    }, 120_000);

    it('slips a device of its own into a direct room: members refuse its commit and warn', async () => {
      const max = await person('max');
      const ned = await person('ned');
      const dm = await max.c.direct('ned');
      max.c.open(dm.id);
      ned.c.open(dm.id);
      await max.c.sendText(dm.id, 'private');
      await until(() => texts(ned, dm.id).includes('private'), 'ned to read max');

      // The server makes an account and a device credential of its own, lists that account
      // in the room, and joins the group by an external commit from the group info it keeps.
      const intruder = createClient({ baseUrl: origin, WebSocket });
      const account = await intruder.register({ username: 'intruder', password: PASSWORD });
      const identity = newIdentity();
      await t.storage.db
        .updateTable('users')
        .set({ identity_key: identity.publicKey })
        .where('id', '=', account.user.id)
        .execute();
      await t.storage.db
        .insertInto('room_members')
        .values({ room_id: dm.id, user_id: account.user.id, role: 'member', joined_at: Date.now() })
        .execute();
      const { group_info_blob: blob } = await t.storage.db
        .selectFrom('rooms')
        .select('group_info_blob')
        .where('id', '=', dm.id)
        .executeTakeFirstOrThrow();
      const { data } = await t.storage.db
        .selectFrom('blobs')
        .select('data')
        .where('id', '=', blob ?? '')
        .executeTakeFirstOrThrow();
      const signatureKeyPair = await newSignatureKeyPair();
      const signer = {
        user: account.user.id,
        device: account.device.id,
        signatureKeyPair,
        credential: signDeviceCredential(
          identity,
          account.user.id,
          account.device.id,
          signatureKeyPair.publicKey,
        ),
      };
      const context = await mlsContext('hybrid', unsafeTestingAuthenticationService);
      const own = await joinByExternalCommit(context, signer, new Uint8Array(data), 'hybrid');
      const rt = connectRaw(intruder);
      await until(() => rt.state === 'open', 'the intruder to connect');
      await rt.commit(dm.id, own.epoch, own.commit);
      rt.close();

      for (const p of [max, ned])
        await until(() => p.c.view(dm.id).security.state === 'warning', `${p.name} to warn`);
      expect(max.c.view(dm.id).security.warnings[0]).toMatchObject({ type: 'refused-change' });
      expect(max.c.groupDevices(dm.id).some((d) => d.user === account.user.id)).toBe(false);
      // Nothing more is sent into a group this device no longer trusts.
      await expect(max.c.sendText(dm.id, 'still private')).rejects.toMatchObject({
        code: 'CHAT_ERR_FORBIDDEN',
      });
    }, 120_000);
  });

  it('five members committing at once converge, and a device offline across epochs catches up', async () => {
    const five = [
      await person('fay'),
      await person('gus'),
      await person('hal'),
      await person('ivy'),
      await person('jon'),
    ];
    const [fay, , , , jon] = five as [Person, Person, Person, Person, Person];
    const group = await fay.c.createGroup({ name: 'Five' });
    for (const p of five.slice(1)) await fay.c.invite(group.id, p.name);
    for (const p of five) p.c.open(group.id);
    await fay.c.sendText(group.id, 'all here?');
    await until(() => five.every((p) => texts(p, group.id).includes('all here?')), 'everyone in');

    // All five commit new keys at the same moment: one wins each epoch, the others retry.
    await Promise.all(five.map((p) => p.c.rotateKeys(group.id)));
    await Promise.all(five.map((p, i) => p.c.sendText(group.id, `after rotation ${i}`)));
    const everyone = five.map((_, i) => `after rotation ${i}`);
    await until(
      () => five.every((p) => everyone.every((t) => texts(p, group.id).includes(t))),
      'every message everywhere',
    );
    const epochs = new Set(five.map((p) => p.c.view(group.id).security.state));
    expect(epochs).toEqual(new Set(['encrypted']));
    // Nothing sent while they were members failed to decrypt (only what was sent before
    // someone joined is unreadable to them, and says so).
    for (const p of five)
      expect(
        p.c
          .view(group.id)
          .items.filter(
            (i) => i.type === 'message' && i.unreadable && i.unreadableReason !== 'before-join',
          ),
      ).toEqual([]);

    // Jon goes offline; the others commit three times and talk; Jon comes back.
    const store = jon.store;
    await jon.c.close();
    for (const p of five.slice(0, 3)) await p.c.rotateKeys(group.id);
    for (let i = 0; i < 5; i++) await fay.c.sendText(group.id, `while jon was away ${i}`);
    const back = await jon.client.conversations({ store, userId: jon.id });
    people.push({ ...jon, c: back });
    back.open(group.id);
    await until(
      () =>
        [0, 1, 2, 3, 4].every((i) =>
          texts({ ...jon, c: back }, group.id).includes(`while jon was away ${i}`),
        ),
      'jon to catch up',
    );
    await back.sendText(group.id, 'jon is back');
    await until(() => texts(fay, group.id).includes('jon is back'), 'fay to read jon');
  }, 180_000);

  it('#general is joined by external commits, and a new sign-in of a user joins their rooms', async () => {
    const dan = await person('dan');
    const eve = await person('eve');
    for (const p of [dan, eve]) p.c.open(GENERAL_ROOM_ID);
    // Each device joins #general's group by itself (an external commit) when it connects.
    const joined = (p: Person) => p.c.view(GENERAL_ROOM_ID).security.state !== 'joining';
    await until(() => joined(dan) && joined(eve), 'both devices to join #general');
    await dan.c.sendText(GENERAL_ROOM_ID, 'morning all');
    await until(() => texts(eve, GENERAL_ROOM_ID).includes('morning all'), 'eve to read dan');
    const dm = await eve.c.direct('dan');
    eve.c.open(dm.id);
    await eve.c.sendText(dm.id, 'psst');
    dan.c.open(dm.id);
    await until(() => texts(dan, dm.id).includes('psst'), 'dan to read the dm');

    // Dan signs in on a second device: it is added to the DM and joins #general.
    const dan2 = await person('dan', true);
    dan2.c.open(dm.id);
    dan2.c.open(GENERAL_ROOM_ID);
    await eve.c.sendText(dm.id, 'for both of your devices');
    await until(
      () => texts(dan2, dm.id).includes('for both of your devices'),
      'the new device to read the dm',
    );
    await until(() => texts(dan, dm.id).includes('for both of your devices'), 'the first device');
    await until(() => joined(dan2), 'the new device to join #general');
    await eve.c.sendText(GENERAL_ROOM_ID, 'hello new device');
    await until(
      () => texts(dan2, GENERAL_ROOM_ID).includes('hello new device'),
      'the new device to read #general',
    );
    // What was sent before it joined says so, in its own words.
    const before = dan2.c
      .view(dm.id)
      .items.find((i) => i.type === 'message' && i.unreadableReason === 'before-join');
    expect(before).toBeDefined();
  }, 120_000);
});
