/**
 * The pure MLS core (mls/group.ts over ts-mls) and the identity credentials it uses: groups
 * made, grown, updated and shrunk by pure transitions; the sender of each application
 * message found; credentials not signed by their user's identity key refused.
 */
import { describe, expect, it } from 'vitest';
import {
  commitAdd,
  commitRemove,
  commitUpdate,
  encrypt,
  joinByExternalCommit,
  joinByWelcome,
  membersOf,
  mlsContext,
  newGroup,
  newKeyPackage,
  newSignatureKeyPair,
  processIncoming,
  readKeyPackage,
  type DeviceSigner,
  type OwnKeyPackage,
  type SuiteKind,
} from '../src/mls/group.js';
import { newIdentity, signDeviceCredential, type IdentityKeyPair } from '../src/mls/identity.js';
import type { ClientState, MlsContext } from 'ts-mls';
import { basicIdentity } from '../src/mls/group.js';
import { openDeviceCredential, openDeviceCredentialFast } from '../src/mls/identity.js';

const utf8 = new TextEncoder();
const text = new TextDecoder();

interface Member {
  signer: DeviceSigner;
  identity: IdentityKeyPair;
  state: ClientState | null;
  packages: Map<string, OwnKeyPackage>;
}

/** Identity keys as a directory would give them (user → key). */
const directory = new Map<string, Uint8Array>();

async function member(user: string, device = `${user}-device`): Promise<Member> {
  const identity = newIdentity();
  directory.set(user, identity.publicKey);
  const signatureKeyPair = await newSignatureKeyPair();
  return {
    identity,
    signer: {
      user,
      device,
      signatureKeyPair,
      credential: signDeviceCredential(identity, user, device, signatureKeyPair.publicKey),
    },
    state: null,
    packages: new Map(),
  };
}

function context(suite: SuiteKind): Promise<MlsContext> {
  return mlsContext(suite, {
    validateCredential: (credential, signaturePublicKey) => {
      const identity = basicIdentity(credential);
      const opened = identity && openDeviceCredential(identity, signaturePublicKey);
      const key = opened ? directory.get(opened.user) : undefined;
      return Promise.resolve(
        !!opened && !!key && key.every((byte, i) => byte === opened.identityKey[i]),
      );
    },
  });
}

async function packageOf(m: Member, suite: SuiteKind) {
  const own = await newKeyPackage(m.signer, suite);
  m.packages.set(own.ref, own);
  return readKeyPackage(own.publicBytes);
}

const state = (m: Member): ClientState => {
  if (!m.state) throw new Error(`${m.signer.user} has no group`);
  return m.state;
};

describe.each(['classic', 'hybrid'] as const)('the MLS core (%s suite)', (suite) => {
  it('grows, talks, updates and shrinks a group; each reader knows the sender', async () => {
    const ctx = await context(suite);
    const [a, b, c, d] = [
      await member('alice'),
      await member('bob'),
      await member('carol'),
      await member('dave'),
    ];
    a.state = await newGroup(ctx, a.signer, 'room1', suite);
    const add1 = await commitAdd(ctx, state(a), [
      await packageOf(b, suite),
      await packageOf(c, suite),
    ]);
    a.state = add1.state;
    for (const m of [b, c]) {
      const joined = await joinByWelcome(ctx, add1.welcome ?? new Uint8Array(), m.packages);
      m.state = joined?.state ?? null;
    }
    const add2 = await commitAdd(ctx, state(a), [await packageOf(d, suite)]);
    for (const m of [b, c]) {
      const r = await processIncoming(ctx, state(m), add2.commit);
      expect(r).toMatchObject({ kind: 'commit', accepted: true });
      m.state = r.state;
    }
    a.state = add2.state;
    d.state =
      (await joinByWelcome(ctx, add2.welcome ?? new Uint8Array(), d.packages))?.state ?? null;
    expect(membersOf(state(d)).map((m) => m.user)).toEqual(['alice', 'bob', 'carol', 'dave']);

    // Messages in the epoch, then an update by the same sender: everyone follows.
    for (const [i, sender] of [a, b, a, c].entries()) {
      const sealed = await encrypt(ctx, state(sender), utf8.encode(`message ${i}`));
      sender.state = sealed.state;
      for (const reader of [a, b, c, d].filter((m) => m !== sender)) {
        const opened = await processIncoming(ctx, state(reader), sealed.message);
        if (opened.kind !== 'application') throw new Error('not a message');
        expect(text.decode(opened.plaintext)).toBe(`message ${i}`);
        expect(opened.sender).toMatchObject({
          user: sender.signer.user,
          device: sender.signer.device,
        });
        reader.state = opened.state;
      }
    }
    const update = await commitUpdate(ctx, state(a));
    for (const m of [b, c, d]) {
      const r = await processIncoming(ctx, state(m), update.commit);
      expect(r).toMatchObject({ kind: 'commit', accepted: true });
      m.state = r.state;
    }
    a.state = update.state;

    // Carol is removed: what follows is not for her.
    const remove = await commitRemove(ctx, state(a), [2]);
    a.state = remove.state;
    for (const m of [b, d]) m.state = (await processIncoming(ctx, state(m), remove.commit)).state;
    const after = await encrypt(ctx, state(a), utf8.encode('not for carol'));
    await expect(processIncoming(ctx, state(c), remove.commit)).resolves.toBeDefined();
    await expect(processIncoming(ctx, state(c), after.message)).rejects.toThrow();
    const bob = await processIncoming(ctx, state(b), after.message);
    expect(bob.kind === 'application' && text.decode(bob.plaintext)).toBe('not for carol');
  }, 60_000);

  it('lets a device that lost its state join again by external commit, replacing its own leaf', async () => {
    const ctx = await context(suite);
    const [a, b, c] = [await member('alice'), await member('bob'), await member('carol')];
    a.state = await newGroup(ctx, a.signer, 'room2', suite);
    const first = await commitUpdate(ctx, state(a));
    a.state = first.state;
    // Bob joins; the room takes his commit, but he never learns it (nor keeps the state).
    const joined = await joinByExternalCommit(ctx, b.signer, first.groupInfo, suite);
    const seen = await processIncoming(ctx, state(a), joined.commit);
    expect(seen).toMatchObject({ kind: 'commit', accepted: true });
    a.state = seen.state;
    const second = await commitUpdate(ctx, state(a));
    a.state = second.state;
    // He joins again from the newer group info, which has his leaf: it is replaced, not doubled.
    const again = await joinByExternalCommit(ctx, b.signer, second.groupInfo, suite);
    const resynced = await processIncoming(ctx, state(a), again.commit);
    expect(resynced).toMatchObject({ kind: 'commit', accepted: true });
    a.state = resynced.state;
    expect(membersOf(state(a)).map((m) => m.device)).toEqual(['alice-device', 'bob-device']);
    // And the room stays joinable: a newcomer's check of the whole tree passes.
    const third = await commitUpdate(ctx, state(a));
    const carol = await joinByExternalCommit(ctx, c.signer, third.groupInfo, suite);
    expect(
      membersOf(carol.state)
        .map((m) => m.device)
        .sort(),
    ).toEqual(['alice-device', 'bob-device', 'carol-device']);
  }, 60_000);

  it('refuses a key package whose credential its user’s identity key did not sign', async () => {
    const ctx = await context(suite);
    const a = await member('alice2');
    const b = await member('bob2');
    const mallory = await member('mallory');
    a.state = await newGroup(ctx, a.signer, 'room2', suite);
    // The server hands out a package naming bob2, signed by mallory's identity key.
    const forged = await member('bob2-forged');
    const signatureKeyPair = await newSignatureKeyPair();
    forged.signer = {
      user: 'bob2',
      device: 'bob2-device',
      signatureKeyPair,
      credential: signDeviceCredential(
        mallory.identity,
        'bob2',
        'bob2-device',
        signatureKeyPair.publicKey,
      ),
    };
    await expect(commitAdd(ctx, state(a), [await packageOf(forged, suite)])).rejects.toThrow();
    // The real one is accepted.
    await expect(commitAdd(ctx, state(a), [await packageOf(b, suite)])).resolves.toBeDefined();
  }, 30_000);
});

describe('device credentials', () => {
  it('verify with the identity key that signed them, on both paths, and nothing else', async () => {
    const identity = newIdentity();
    const other = newIdentity();
    const { publicKey } = await newSignatureKeyPair();
    const credential = signDeviceCredential(identity, 'u1', 'd1', publicKey);
    const expected = { user: 'u1', device: 'd1', identityKey: identity.publicKey };
    expect(openDeviceCredential(credential, publicKey)).toEqual(expected);
    expect(await openDeviceCredentialFast(credential, publicKey)).toEqual(expected);
    // Another device key, a credential signed by someone else, a damaged one: refused.
    const { publicKey: otherKey } = await newSignatureKeyPair();
    const forged = signDeviceCredential(other, 'u1', 'd1', publicKey);
    const damaged = credential.slice();
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 1;
    for (const [bytes, key] of [
      [credential, otherKey],
      [damaged, publicKey],
    ] as const) {
      expect(openDeviceCredential(bytes, key)).toBeNull();
      expect(await openDeviceCredentialFast(bytes, key)).toBeNull();
    }
    // Signed by another identity: it verifies, under that identity — the caller compares it
    // with the user's current key.
    expect((await openDeviceCredentialFast(forged, publicKey))?.identityKey).toEqual(
      other.publicKey,
    );
  });
});
