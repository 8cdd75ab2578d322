/**
 * The MLS engine of one device: it keeps a group per room in step with the server's member
 * list and opens every room event through it.
 *
 * - Events are opened strictly in the room's server order (the caller's per-room queue).
 *   A commit moves the group to its next epoch; an application message is decrypted and its
 *   sender checked against the leaf whose key encrypted it.
 * - Rooms anyone may join (#general, channels) are joined by an external commit from the
 *   group info the server keeps; private groups and direct rooms only by a Welcome from a
 *   member who added this device's key package. The first device to commit in epoch 0
 *   creates the group.
 * - A commit that brings in a user the server does not list as a member, or (in a private
 *   room) anyone by an external commit, is refused and the room shows a warning; a
 *   credential its user's identity key did not sign never passes the authentication service.
 * - Leaves whose user left or was removed, and revoked devices, are removed by a commit of
 *   some remaining member (the first in leaf order at once, the others later if still needed).
 * - Every result (the new group state, without the keys it used up) is handed back to be
 *   written in the same store transaction as the plaintext it produced; the old state is then
 *   dropped. Used-up secrets are dropped, not zeroed: ts-mls 2.0.0-rc.10 lists as consumed
 *   some secrets that the state's history of past epochs still holds for late messages, and
 *   zeroing them broke decryption and commits (docs/decisions/0013).
 */
import { decode, encode } from '@msgpack/msgpack';
import {
  ChatError,
  type ClaimedKeyPackage,
  type InboxMessage,
  type Member,
  type RoomEvent,
  type RoomSummary,
} from '@securechat/protocol';
import {
  defaultKeyPackageEqualityConfig,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  type ClientConfig,
  type ClientState,
  type IncomingMessageCallback,
  type KeyPackage,
  type MlsContext,
} from 'ts-mls';
import type {
  ConversationCrypto,
  CryptoHooks,
  Opened,
  RoomSecurity,
  SecurityWarning,
} from './types.js';
import type { ConversationStore } from '../store/store.js';
import {
  commitAdd,
  commitRemove,
  commitUpdate,
  decodeState,
  encodeState,
  encrypt,
  joinByExternalCommit,
  joinByWelcome,
  keyPackageOwner,
  membersOf,
  mlsContext,
  newGroup,
  newKeyPackage,
  newSignatureKeyPair,
  ownLeaf,
  processIncoming,
  readKeyPackage,
  suiteOf,
  type DeviceSigner,
  type OwnCommit,
  type OwnKeyPackage,
  type SuiteKind,
} from './group.js';
import { signDeviceCredential, type IdentityKeyPair } from './identity.js';
import { Trust } from './trust.js';

/** What the engine needs of the connection and the blob store. */
export interface EngineTransport {
  groupInfo(room: string): Promise<{ epoch: number; blob: string | null }>;
  uploadKeyPackages(packages: Uint8Array[], lastResort?: Uint8Array): Promise<number>;
  claimKeyPackages(
    room: string,
    users: string[],
  ): Promise<{ packages: ClaimedKeyPackage[]; missing: string[] }>;
  sendToDevice(room: string, device: string, payload: Uint8Array, cmid?: string): Promise<unknown>;
  fetchInbox(): Promise<{ messages: InboxMessage[]; more: boolean }>;
  ackInbox(ids: string[]): Promise<unknown>;
  onInbox(listener: (message: InboxMessage) => void): () => void;
  commit(
    room: string,
    epoch: number,
    payload: Uint8Array,
    groupInfo: string,
  ): Promise<{ seq: number }>;
  identityKeys(users: string[]): Promise<{ user: string; key: Uint8Array | null }[]>;
  members(room: string): Promise<{ members: Member[]; total: number }>;
  rooms(): Promise<RoomSummary[]>;
  history(
    room: string,
    limit: number,
    before?: number,
  ): Promise<{ events: RoomEvent[]; more: boolean }>;
  uploadBlob(room: string, bytes: Uint8Array): Promise<{ id: string }>;
  downloadBlob(room: string, id: string): Promise<Uint8Array>;
}

export interface EngineOptions extends CryptoHooks {
  store: ConversationStore;
  transport: EngineTransport;
  user: string;
  device: string;
  identity: IdentityKeyPair;
  now?: () => number;
}

/** One-time key packages kept on the server; below the threshold, the device adds more. */
const KEY_PACKAGES_TARGET = 20;
const KEY_PACKAGES_THRESHOLD = 8;
/** A member commits a self-update this often, for post-compromise security. */
const SELF_UPDATE_MS = 7 * 24 * 3600 * 1000;
/** Later removers wait this long per place in line before checking again. */
const REMOVE_STAGGER_MS = 4000;
const COMMIT_ATTEMPTS = 5;
const RETRIES_MAX = 5;
const RETRY_MS = 2000;

interface RoomGroup {
  state: ClientState;
  suite: SuiteKind;
  /** The seq of the commit (or welcome) this device joined at: events up to it are before. */
  joinedAt: number;
  updatedAt: number;
  /** Why this device stopped following the group (a refused change), or null. */
  refused: string | null;
}

interface StoredGroup {
  state: Uint8Array;
  suite: SuiteKind;
  joinedAt: number;
  updatedAt: number;
  refused: string | null;
}

/**
 * The state an own commit leads to, kept from before it is sent until it is adopted: if this
 * device stops after the server accepted the commit but before it stored the new state, the
 * commit comes back from the log and is adopted from here (a sender can't process its own
 * commit; without this it would stay an epoch behind for good).
 */
interface PendingCommit {
  /** The epoch the commit was made in. */
  epoch: number;
  state: Uint8Array;
}

const GROUP = 'group:';
const PENDING = 'pending:';
const HELD = 'held:';
const KP = 'kp:';
const SENT = 'sent:';
const SIGNER = 'device:signer';

/** A key package of this device as stored: whether it is the last-resort one. */
type StoredKeyPackage = OwnKeyPackage & { readonly last: boolean };

/** The suite a room's group must use: hybrid unless anyone may join it. */
export function suiteForRoom(summary: RoomSummary): SuiteKind {
  return (summary.kind === 'general' || summary.kind === 'channel') && !summary.protected
    ? 'classic'
    : 'hybrid';
}

const openToAll = (summary: RoomSummary) =>
  summary.kind === 'general' || summary.kind === 'channel';

/** A welcome as this sdk wraps it in an inbox message: with the seq of its commit. */
interface WelcomeEnvelope {
  v: 1;
  seq: number;
  welcome: Uint8Array;
}

export class MlsEngine implements ConversationCrypto {
  private readonly groups = new Map<string, RoomGroup>();
  private readonly rooms = new Map<string, RoomSummary>();
  private readonly held = new Map<string, RoomEvent[]>();
  private readonly pending = new Map<string, PendingCommit>();
  private readonly ownPackages = new Map<string, StoredKeyPackage>();
  private readonly sent = new Map<string, Uint8Array>();
  private readonly listeners = new Set<() => void>();
  private readonly revoked = new Set<string>();
  /** New devices (device → user) the server announced per room, until they are added. */
  private readonly newDevices = new Map<string, Map<string, string>>();
  /** The members the server listed for each room when last asked. */
  private readonly listed = new Map<string, Set<string>>();
  private readonly contexts = new Map<SuiteKind, Promise<MlsContext>>();
  private readonly teardown: (() => void)[] = [];
  private signer!: DeviceSigner;
  private readonly now: () => number;
  private closed = false;

  private constructor(
    private readonly options: EngineOptions,
    readonly trust: Trust,
  ) {
    this.now = options.now ?? Date.now;
  }

  static async open(options: EngineOptions): Promise<MlsEngine> {
    const trust = await Trust.open({
      store: options.store,
      me: options.user,
      identity: options.identity,
      lookup: (users) => options.transport.identityKeys(users),
    });
    const engine = new MlsEngine(options, trust);
    await engine.load();
    trust.onChange(() => engine.emit());
    return engine;
  }

  /** Begin following new welcomes. */
  start(): void {
    this.teardown.push(
      this.options.transport.onInbox((message) => void this.receiveInbox([message])),
    );
  }

  /** Connected (again): refill key packages, read the inbox, catch up on every room. */
  online(): void {
    void this.refill().catch(this.options.report);
    void this.refreshTrust().catch(this.options.report);
    void this.drainInbox().catch(this.options.report);
    for (const room of this.rooms.keys()) this.schedule(room);
  }

  close(): void {
    this.closed = true;
    for (const undo of this.teardown) undo();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }

  private context(suite: SuiteKind): Promise<MlsContext> {
    let context = this.contexts.get(suite);
    if (!context) {
      context = mlsContext(suite, this.trust.authService()).then((c) => ({ ...c, clientConfig }));
      this.contexts.set(suite, context);
    }
    return context;
  }

  private async load(): Promise<void> {
    const { store, user, device, identity } = this.options;
    const stored = await store.secret(SIGNER);
    if (stored) {
      this.signer = decode(stored) as DeviceSigner;
    } else {
      const signatureKeyPair = await newSignatureKeyPair();
      this.signer = {
        user,
        device,
        signatureKeyPair,
        credential: signDeviceCredential(identity, user, device, signatureKeyPair.publicKey),
      };
      await store.putSecrets(new Map([[SIGNER, encode(this.signer)]]));
    }
    for (const [key, value] of await store.secrets(GROUP)) {
      const group = decode(value) as StoredGroup;
      this.groups.set(key.slice(GROUP.length), { ...group, state: decodeState(group.state) });
    }
    for (const [key, value] of await store.secrets(PENDING))
      this.pending.set(key.slice(PENDING.length), decode(value) as PendingCommit);
    for (const [key, value] of await store.secrets(HELD))
      this.held.set(key.slice(HELD.length), decode(value) as RoomEvent[]);
    for (const [key, value] of await store.secrets(KP)) {
      const own = decode(value) as StoredKeyPackage;
      this.ownPackages.set(key.slice(KP.length), own);
    }
    for (const [key, value] of await store.secrets(SENT))
      this.sent.set(key.slice(SENT.length), value);
  }

  private groupSecret(room: string, group: RoomGroup): [string, Uint8Array] {
    const stored: StoredGroup = {
      state: encodeState(group.state),
      suite: group.suite,
      joinedAt: group.joinedAt,
      updatedAt: group.updatedAt,
      refused: group.refused,
    };
    return [GROUP + room, encode(stored)];
  }

  // ---- what the app reads ------------------------------------------------------------------

  /** The conversation's state for its header: encrypted, verified, warning or joining. */
  security(room: string): RoomSecurity {
    const group = this.groups.get(room);
    if (!group) return { state: 'joining', warnings: [] };
    const warnings: SecurityWarning[] = [];
    if (group.refused) warnings.push({ type: 'refused-change', reason: group.refused });
    const others = [
      ...new Set(
        membersOf(group.state).flatMap((m) => (m.user === this.options.user ? [] : [m.user])),
      ),
    ];
    for (const user of others)
      if (this.trust.state(user) === 'changed') warnings.push({ type: 'key-changed', user });
    if (this.trust.state(this.options.user) === 'changed')
      warnings.push({ type: 'key-changed', user: this.options.user });
    if (warnings.length > 0) return { state: 'warning', warnings };
    const verified =
      others.length > 0 && others.every((user) => this.trust.state(user) === 'verified');
    return { state: verified ? 'verified' : 'encrypted', warnings };
  }

  /** Devices in a room's group (who can read what is sent now). */
  groupMembers(room: string): { user: string; device: string }[] {
    const group = this.groups.get(room);
    return group ? membersOf(group.state).map(({ user, device }) => ({ user, device })) : [];
  }

  /** The epoch this device's group of the room is in, or null when it has none. */
  epoch(room: string): number | null {
    const group = this.groups.get(room);
    return group ? Number(group.state.groupContext.epoch) : null;
  }

  /**
   * Whether everyone the server lists in this private room has a device in its group (rooms
   * anyone may join are complete by definition: each device joins itself).
   */
  complete(room: string): boolean {
    const summary = this.rooms.get(room);
    const group = this.groups.get(room);
    if (!group || !summary || openToAll(summary)) return group !== undefined;
    const listed = this.listed.get(room);
    if (!listed) return false;
    const tree = membersOf(group.state);
    const present = new Set(tree.map((m) => m.user));
    const devices = new Set(tree.map((m) => m.device));
    const announced = [...(this.newDevices.get(room)?.keys() ?? [])];
    return (
      [...listed].every((user) => present.has(user)) &&
      announced.every((device) => devices.has(device) || this.revoked.has(device))
    );
  }

  /** Events held until this device is let into the room. */
  waiting(room: string): number {
    return this.held.get(room)?.length ?? 0;
  }

  // ---- rooms -------------------------------------------------------------------------------

  /** The rooms this user is in: join the groups this device is missing, forget left ones. */
  sync(rooms: readonly RoomSummary[]): void {
    for (const room of rooms) {
      const known = this.rooms.has(room.id);
      this.rooms.set(room.id, room);
      if (!known || !this.groups.has(room.id)) this.schedule(room.id);
    }
  }

  /** Reconcile one room soon (in its queue). */
  schedule(room: string, delayMs = 0): void {
    const go = () => {
      if (this.closed) return;
      this.options.run(room, () => this.reconcile(room)).catch(this.options.report);
    };
    if (delayMs > 0) setTimeout(go, delayMs);
    else go();
  }

  private readonly retries = new Map<string, number>();

  /** Reconcile again in a while (a few times) when someone could not be added yet. */
  private retryLater(room: string): void {
    const count = this.retries.get(room) ?? 0;
    if (count >= RETRIES_MAX) return;
    this.retries.set(room, count + 1);
    this.schedule(room, RETRY_MS * (count + 1));
  }

  /**
   * Commit fresh keys for this device in the room's group now (post-compromise security; it
   * also happens by itself every SELF_UPDATE_MS). A commit that lost its epoch to another is
   * made again once the winner has been applied.
   */
  async rotate(room: string, attempt = 0): Promise<void> {
    let done = false;
    await this.options.run(room, async () => {
      done = !this.groups.has(room) || (await this.change(room, commitUpdate));
    });
    if (done || attempt >= COMMIT_ATTEMPTS * 4) return;
    // The winning commit reaches this device shortly; try again after it (with jitter, so
    // devices that raced do not race again in step).
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100 * (attempt + 1)));
    return this.rotate(room, attempt + 1);
  }

  /**
   * Look up again the identity keys of everyone in this device's private conversations, so a
   * key the server now gives differently shows as a change (rooms anyone may join are too
   * big to ask about every time; their members are checked as their credentials arrive).
   */
  private async refreshTrust(): Promise<void> {
    const users = new Set<string>();
    for (const [room, group] of this.groups) {
      const summary = this.rooms.get(room);
      if (summary && openToAll(summary)) continue;
      for (const member of membersOf(group.state))
        if (member.user !== this.options.user) users.add(member.user);
    }
    if (users.size > 0) await this.trust.fetch([...users]);
    this.emit();
  }

  /** The room was left or is gone: drop its group. */
  async forget(room: string): Promise<void> {
    this.groups.delete(room);
    this.held.delete(room);
    this.pending.delete(room);
    this.rooms.delete(room);
    await this.options.store.putSecrets(
      new Map([
        [GROUP + room, null],
        [PENDING + room, null],
        [HELD + room, null],
      ]),
    );
    this.emit();
  }

  // ---- opening events (in the room's queue) ------------------------------------------------

  /**
   * Open a room's events, in order. Returns what to show and the secrets to write with it;
   * call `done` once they are written.
   */
  async open(
    room: string,
    events: readonly RoomEvent[],
  ): Promise<{ opened: Opened[]; secrets: Map<string, Uint8Array | null>; done: () => void }> {
    const secrets = new Map<string, Uint8Array | null>();
    const opened: Opened[] = [];
    const before = this.groups.get(room);
    // Replaced (never changed in place) by each transition: `group !== before` means changed.
    let group = before;
    let held = this.held.get(room) ?? [];
    const heldBefore = held;
    const pending = this.pending.get(room);
    let pendingDone = false;
    let reconcile = false;
    const sentUsed: string[] = [];
    for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
      if (event.kind === 'notice') {
        opened.push({ event, payload: null, failure: null });
        const notice = event.notice;
        if (notice.type === 'devices' && notice.change === 'revoked')
          this.revoked.add(notice.device);
        if (
          notice.type === 'devices' &&
          notice.change === 'added' &&
          notice.device !== this.options.device
        )
          this.newDevices.set(
            room,
            new Map([...(this.newDevices.get(room) ?? []), [notice.device, notice.user]]),
          );
        if (
          notice.type === 'join' ||
          notice.type === 'invite' ||
          notice.type === 'leave' ||
          notice.type === 'kick' ||
          notice.type === 'devices'
        )
          reconcile = true;
        continue;
      }
      // Tombstones, and payloads the server erased, have nothing to open.
      if (event.kind === 'delete' || ('deleted' in event && event.deleted)) {
        opened.push({ event, payload: null, failure: null });
        continue;
      }
      // This device's own messages: it knows their plaintext (MLS does not let a sender
      // decrypt its own), and its own commits were applied when the server accepted them.
      if (event.device === this.options.device) {
        if (event.kind !== 'commit') {
          const mine = this.sent.get(event.cmid);
          if (mine) sentUsed.push(event.cmid);
          opened.push({ event, payload: mine ?? null, failure: mine ? null : 'undecryptable' });
          continue;
        }
        // Applied when the server accepted it — unless this device stopped before storing
        // the state it led to: then that state is adopted now.
        if (
          group &&
          pending &&
          !pendingDone &&
          event.epoch === pending.epoch &&
          event.epoch === Number(group.state.groupContext.epoch)
        ) {
          group = { ...group, state: decodeState(pending.state), updatedAt: this.now() };
          pendingDone = true;
        }
        continue;
      }
      if (!group) {
        if (!held.some((e) => e.seq === event.seq)) held = [...held, event];
        if (event.kind !== 'commit') opened.push({ event, payload: null, failure: 'waiting' });
        continue;
      }
      if (event.seq <= group.joinedAt) {
        if (event.kind !== 'commit') opened.push({ event, payload: null, failure: 'before-join' });
        continue;
      }
      if (group.refused) {
        if (event.kind !== 'commit')
          opened.push({ event, payload: null, failure: 'refused-change' });
        continue;
      }
      const context = await this.context(group.suite);
      if (event.kind === 'commit') {
        if (pending && event.epoch >= pending.epoch) pendingDone = true; // another won it
        if (event.epoch < Number(group.state.groupContext.epoch)) continue; // applied already
        const result = await this.applyCommit(room, context, group.state, event);
        if (result.refused !== null) {
          group = { ...group, refused: result.refused };
        } else {
          group = { ...group, state: result.state };
        }
        continue;
      }
      try {
        const result = await processIncoming(context, group.state, event.payload);
        if (result.kind !== 'application') {
          opened.push({ event, payload: null, failure: 'undecryptable' });
          continue;
        }
        group = { ...group, state: result.state };
        const sender = result.sender;
        if (!sender || sender.user !== event.sender || sender.device !== event.device)
          opened.push({ event, payload: null, failure: 'wrong-sender' });
        else opened.push({ event, payload: result.plaintext, failure: null });
      } catch {
        opened.push({ event, payload: null, failure: 'undecryptable' });
      }
    }
    if (group && group !== before) {
      const [key, value] = this.groupSecret(room, group);
      secrets.set(key, value);
    }
    if (held !== heldBefore) secrets.set(HELD + room, encode(held));
    if (pendingDone) secrets.set(PENDING + room, null);
    for (const cmid of sentUsed) secrets.set(SENT + cmid, null);
    const final = group;
    return {
      opened,
      secrets,
      done: () => {
        if (final) this.groups.set(room, final);
        if (held !== heldBefore) this.held.set(room, held);
        if (pendingDone && this.pending.get(room) === pending) this.pending.delete(room);
        for (const cmid of sentUsed) this.sent.delete(cmid);
        if (final?.refused && !before?.refused) this.emit();
        if (reconcile) this.schedule(room);
      },
    };
  }

  /** Apply someone's commit, refusing one that brings in anyone the server does not list. */
  private async applyCommit(
    room: string,
    context: MlsContext,
    state: ClientState,
    event: Extract<RoomEvent, { kind: 'commit' }>,
  ): Promise<{ state: ClientState; refused: null } | { refused: string }> {
    // Whether anyone may join decides whether an external commit may bring someone in: never
    // guessed, asked when not known yet.
    const summary = await this.summaryOf(room);
    if (!summary) return { refused: 'This device could not tell what kind of room this is.' };
    const listed = new Set<string>((await this.membersOrEmpty(room)).map((m) => m.user));
    const invited: string[] = [];
    const check: IncomingMessageCallback = (incoming) => {
      if (incoming.kind !== 'commit') return 'accept';
      if (incoming.senderLeafIndex === undefined && !openToAll(summary)) return 'reject';
      for (const { proposal } of incoming.proposals)
        if ('add' in proposal) {
          const owner = keyPackageOwner(proposal.add.keyPackage);
          if (!owner) return 'reject';
          invited.push(owner.user);
        }
      return 'accept';
    };
    let result;
    try {
      result = await processIncoming(context, state, event.payload, check);
    } catch {
      return { refused: 'A change to this conversation did not check out.' };
    }
    if (result.kind !== 'commit' || !result.accepted)
      return {
        refused:
          'Someone tried to bring a device into this private conversation without an invitation.',
      };
    const members = membersOf(result.state);
    if (summary?.kind === 'direct' && new Set(members.map((m) => m.user)).size > 2)
      return { refused: 'A change tried to add a third person to this direct conversation.' };
    const stranger = members.find((m) => !listed.has(m.user));
    if (stranger)
      return {
        refused: 'A change tried to add someone the server does not list as a member.',
      };
    void invited;
    return { state: result.state, refused: null };
  }

  /** The room's summary, asking the server for the rooms when this one is not known yet. */
  private async summaryOf(room: string): Promise<RoomSummary | undefined> {
    const known = this.rooms.get(room);
    if (known) return known;
    try {
      for (const summary of await this.options.transport.rooms())
        if (!this.rooms.has(summary.id)) this.rooms.set(summary.id, summary);
    } catch {
      // Unknown stays unknown: the caller refuses what it can't judge.
    }
    return this.rooms.get(room);
  }

  private async membersOrEmpty(room: string): Promise<Member[]> {
    try {
      return (await this.options.transport.members(room)).members;
    } catch {
      return [];
    }
  }

  // ---- sending -------------------------------------------------------------------------------

  /**
   * Encrypt a payload for the room's group (in the room's queue). The new group state and the
   * plaintext (to show this device's own message) are stored before it goes out.
   */
  async seal(
    room: string,
    cmid: string,
    plaintext: Uint8Array,
  ): Promise<{ payload: Uint8Array; epoch: number }> {
    const group = this.groups.get(room);
    if (!group)
      throw new ChatError(
        'CHAT_ERR_UNAVAILABLE',
        'This device is not in the conversation’s encryption group yet; try again in a moment.',
      );
    if (group.refused) throw new ChatError('CHAT_ERR_FORBIDDEN', group.refused);
    const context = await this.context(group.suite);
    const result = await encrypt(context, group.state, plaintext);
    const next = { ...group, state: result.state };
    await this.options.store.putSecrets(
      new Map([this.groupSecret(room, next), [SENT + cmid, plaintext]]),
    );
    this.groups.set(room, next);
    this.sent.set(cmid, plaintext);
    if (this.now() - next.updatedAt > SELF_UPDATE_MS) this.schedule(room);
    return { payload: result.message, epoch: Number(group.state.groupContext.epoch) };
  }

  // ---- keeping the group in step (in the room's queue) -----------------------------------------

  private async reconcile(room: string): Promise<void> {
    const summary = this.rooms.get(room);
    if (!summary || this.closed) return;
    const group = this.groups.get(room);
    if (!group) {
      await this.join(room, summary);
      return;
    }
    if (group.refused) return;
    const members = await this.options.transport.members(room).then((r) => r.members);
    const listed = new Set<string>(members.map((m) => m.user));
    this.listed.set(room, listed);
    const leaves = membersOf(group.state);
    const mine = ownLeaf(group.state);
    const gone = leaves.filter(
      (m) => m.leaf !== mine && (!listed.has(m.user) || this.revoked.has(m.device)),
    );
    if (gone.length > 0) {
      // The first remaining member in leaf order removes at once; the others check later.
      const remaining = leaves.filter((m) => !gone.includes(m)).map((m) => m.leaf);
      const place = remaining.indexOf(mine);
      if (place > 0) {
        this.schedule(room, Math.min(place, 5) * REMOVE_STAGGER_MS);
      } else {
        await this.change(room, (context, state) =>
          commitRemove(
            context,
            state,
            gone.map((m) => m.leaf),
          ),
        );
      }
    }
    if (!openToAll(summary)) await this.addMissing(room, summary, members);
    const current = this.groups.get(room);
    if (current && !current.refused && this.now() - current.updatedAt > SELF_UPDATE_MS)
      await this.change(room, (context, state) => commitUpdate(context, state));
  }

  /** Add the devices of listed members (private rooms) that the group does not have yet. */
  private async addMissing(room: string, summary: RoomSummary, members: Member[]): Promise<void> {
    const group = this.groups.get(room);
    if (!group) return;
    const me = members.find((m) => m.user === this.options.user);
    const mayAdd = summary.kind === 'direct' || me?.role === 'owner' || me?.role === 'moderator';
    const inTree = membersOf(group.state);
    const withLeaf = new Set(inTree.map((m) => m.user));
    const devices = new Set(inTree.map((m) => m.device));
    // Users with a new device not in the group yet (notices name them).
    const signedIn = new Set(
      [...(this.newDevices.get(room)?.entries() ?? [])].flatMap(([device, user]) =>
        devices.has(device) || this.revoked.has(device) ? [] : [user],
      ),
    );
    // Members with no device in the group yet, and members who signed in on a new device
    // (anyone may add their own user's).
    const candidates = members
      .map((m) => m.user)
      .filter(
        (user) =>
          (mayAdd && !withLeaf.has(user)) ||
          (signedIn.has(user) && (mayAdd || user === this.options.user)),
      );
    if (candidates.length === 0) return;
    // A direct room is two people: a third one listed by the server is never added.
    if (summary.kind === 'direct' && new Set([...withLeaf, ...candidates]).size > 2) return;
    const claimed = await this.claim(room, candidates);
    const packages: KeyPackage[] = [];
    const targets: string[] = [];
    for (const claim of claimed) {
      if (devices.has(claim.device) || this.revoked.has(claim.device)) continue;
      try {
        const keyPackage = pick(claim.data, group.suite);
        const owner = keyPackageOwner(keyPackage);
        if (!owner || owner.user !== claim.user || owner.device !== claim.device) continue;
        packages.push(keyPackage);
        targets.push(claim.device);
      } catch {
        // A package that does not read is skipped (its device stays out until it uploads more).
      }
    }
    if (packages.length === 0) return;
    const added = await this.change(
      room,
      (context, state) => commitAdd(context, state, packages),
      targets,
    );
    if (added) this.options.added(room);
  }

  /**
   * Claim key packages for users; those the server won't hand out for are skipped. A device
   * with none at all is tried again a little later (it may be uploading them right now), and
   * so is everyone when the claim failed for another reason than a refusal.
   */
  private async claim(room: string, users: string[]): Promise<ClaimedKeyPackage[]> {
    try {
      const claimed = await this.options.transport.claimKeyPackages(room, users);
      if (claimed.missing.length > 0) this.retryLater(room);
      return claimed.packages;
    } catch (error) {
      const refused =
        error instanceof ChatError &&
        (error.code === 'CHAT_ERR_FORBIDDEN' || error.code === 'CHAT_ERR_NOT_FOUND');
      if (!refused) {
        // The server or the connection failed (not a refusal): try the whole room again later.
        this.options.report(error);
        this.retryLater(room);
        return [];
      }
      if (users.length === 1) return [];
      const all: ClaimedKeyPackage[] = [];
      for (const user of users) all.push(...(await this.claim(room, [user])));
      return all;
    }
  }

  /**
   * Make a commit and send it; adopt the new state once the server accepted it (its seq), and
   * send the Welcome to the new devices. A stale refusal: the caller's next run catches up.
   */
  private async change(
    room: string,
    make: (context: MlsContext, state: ClientState) => Promise<OwnCommit>,
    welcomeTo: readonly string[] = [],
  ): Promise<boolean> {
    const group = this.groups.get(room);
    if (!group) return false;
    const unresolved = this.pending.get(room);
    if (unresolved && unresolved.epoch === Number(group.state.groupContext.epoch)) {
      // An earlier commit of this epoch failed without an answer. If the server moved on,
      // one was accepted (that one or another's): wait for it from the log before any other.
      const { epoch } = await this.options.transport.groupInfo(room);
      if (epoch > unresolved.epoch) {
        this.schedule(room, 500);
        return false;
      }
    }
    const context = await this.context(group.suite);
    const own = await make(context, group.state);
    const pending: PendingCommit = { epoch: own.epoch, state: encodeState(own.state) };
    await this.options.store.putSecrets(new Map([[PENDING + room, encode(pending)]]));
    this.pending.set(room, pending);
    // A failure other than a refusal keeps the pending state: the server may have accepted
    // the commit, and then it comes back from the log.
    const accepted = await this.publish(room, own);
    if (accepted === null) {
      await this.options.store.putSecrets(new Map([[PENDING + room, null]]));
      if (this.pending.get(room) === pending) this.pending.delete(room);
      this.schedule(room, 500);
      return false;
    }
    const next: RoomGroup = { ...group, state: own.state, updatedAt: this.now() };
    await this.options.store.putSecrets(
      new Map([this.groupSecret(room, next), [PENDING + room, null]]),
    );
    this.groups.set(room, next);
    if (this.pending.get(room) === pending) this.pending.delete(room);
    if (own.welcome) await this.sendWelcomes(room, accepted, own.welcome, welcomeTo);
    this.emit();
    return true;
  }

  /** Send the Welcome of the commit accepted at `seq` to each device it adds. */
  private async sendWelcomes(
    room: string,
    seq: number,
    welcome: Uint8Array,
    devices: readonly string[],
  ): Promise<void> {
    const payload = encode({ v: 1, seq, welcome } satisfies WelcomeEnvelope);
    for (const device of devices)
      await this.options.transport.sendToDevice(room, device, payload).catch(this.options.report);
  }

  /** Upload the group info and send the commit: its seq, or null when it came too late. */
  private async publish(room: string, own: OwnCommit): Promise<number | null> {
    const { transport } = this.options;
    const blob = await transport.uploadBlob(room, own.groupInfo);
    try {
      return (await transport.commit(room, own.epoch, own.commit, blob.id)).seq;
    } catch (error) {
      if (error instanceof ChatError && error.code === 'CHAT_ERR_STALE_EPOCH') return null;
      throw error;
    }
  }

  /** Get into a room's group: create it, join it from its group info, or wait for a welcome. */
  private async join(room: string, summary: RoomSummary): Promise<void> {
    const suite = suiteForRoom(summary);
    const context = await this.context(suite);
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      if (this.groups.has(room) || this.closed) return;
      const info = await this.options.transport.groupInfo(room);
      let own: OwnCommit;
      let welcomeTo: string[] = [];
      if (info.blob === null && info.epoch === 0) {
        // Nobody made the group yet: this device does (the first commit of epoch 0 wins).
        const state = await newGroup(context, this.signer, room, suite);
        if (openToAll(summary)) own = await commitUpdate(context, state);
        else {
          const members = (await this.options.transport.members(room)).members;
          this.listed.set(room, new Set<string>(members.map((m) => m.user)));
          // Everyone listed, this user included: the server hands out the packages of this
          // user's other devices, never this one's.
          const claimed = await this.claim(
            room,
            members.map((m) => m.user),
          );
          const packages: KeyPackage[] = [];
          for (const claim of claimed) {
            try {
              const keyPackage = pick(claim.data, suite);
              const owner = keyPackageOwner(keyPackage);
              if (owner?.user === claim.user && owner.device === claim.device) {
                packages.push(keyPackage);
                welcomeTo.push(claim.device);
              }
            } catch {
              // skipped
            }
          }
          own = await commitAdd(context, state, packages);
        }
      } else if (info.blob !== null && openToAll(summary)) {
        const bytes = await this.options.transport.downloadBlob(room, info.blob);
        own = await joinByExternalCommit(context, this.signer, bytes, suite);
        welcomeTo = [];
      } else {
        // A private room with a group already: a member adds this device; its Welcome comes
        // to the inbox.
        return;
      }
      const seq = await this.publish(room, own);
      if (seq === null) {
        welcomeTo = [];
        continue;
      }
      const group: RoomGroup = {
        state: own.state,
        suite,
        joinedAt: seq,
        updatedAt: this.now(),
        refused: null,
      };
      // Welcomes first: the new devices wait on them, not on this device's backlog.
      if (own.welcome) await this.sendWelcomes(room, seq, own.welcome, welcomeTo);
      await this.adopt(room, group);
      if (welcomeTo.length > 0) this.options.added(room);
      return;
    }
    // Every attempt lost its epoch to someone else's commit (a busy room): try again later.
    if (!this.groups.has(room) && !this.closed) this.retryLater(room);
  }

  /**
   * A group this device just got into at `joinedAt`: store it, then release the events it held
   * and fetch those after `joinedAt` it never saw, to be opened in order.
   */
  private async adopt(room: string, group: RoomGroup): Promise<void> {
    await this.options.store.putSecrets(new Map([this.groupSecret(room, group)]));
    this.groups.set(room, group);
    this.emit();
    const held = this.held.get(room) ?? [];
    const fetched = await this.fetchAfter(room, group.joinedAt);
    const bySeq = new Map<number, RoomEvent>();
    for (const event of [...held, ...fetched]) bySeq.set(event.seq, event);
    this.held.delete(room);
    await this.options.store.putSecrets(new Map([[HELD + room, null]]));
    const events = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    if (events.length > 0) this.options.deliver(room, events);
  }

  /** The room's events after `seq` (history pages, newest first, until reaching it). */
  private async fetchAfter(room: string, seq: number): Promise<RoomEvent[]> {
    const events: RoomEvent[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await this.options.transport.history(room, 100, before);
      const newer = page.events.filter((e) => e.seq > seq);
      events.push(...newer);
      const oldest = page.events.reduce((low, e) => Math.min(low, e.seq), Infinity);
      if (!page.more || newer.length < page.events.length || oldest === Infinity) break;
      before = oldest;
    }
    return events;
  }

  // ---- welcomes and key packages -------------------------------------------------------------

  private async drainInbox(): Promise<void> {
    for (;;) {
      const { messages, more } = await this.options.transport.fetchInbox();
      await this.receiveInbox(messages);
      if (!more || messages.length === 0) return;
    }
  }

  private async receiveInbox(messages: readonly InboxMessage[]): Promise<void> {
    const done: string[] = [];
    for (const message of messages) {
      let keep = false;
      await this.options.run(message.room, async () => {
        keep = (await this.receiveWelcome(message)) === 'later';
      });
      // A welcome that could not be judged yet stays in the inbox for the next connection.
      if (!keep) done.push(message.id);
    }
    if (done.length > 0) await this.options.transport.ackInbox(done).catch(this.options.report);
  }

  private async receiveWelcome(message: InboxMessage): Promise<'done' | 'later'> {
    const room = message.room;
    if (this.groups.has(room)) return 'done';
    let envelope: WelcomeEnvelope;
    try {
      envelope = decode(message.payload) as WelcomeEnvelope;
      if (envelope.v !== 1 || !(envelope.welcome instanceof Uint8Array)) return 'done';
    } catch {
      return 'done';
    }
    const summary = await this.summaryOf(room);
    if (!summary) return 'later';
    const suite = suiteForRoom(summary);
    const context = await this.context(suite);
    const packages = new Map([...this.ownPackages].filter(([, own]) => own.suite === suite));
    let joined;
    try {
      joined = await joinByWelcome(context, envelope.welcome, packages);
    } catch (error) {
      this.options.report(error);
      return 'done';
    }
    if (!joined) return 'done';
    if (suiteOf(joined.state) !== suite) return 'done';
    const expected = new TextEncoder().encode(`room:${room}`);
    const groupId = joined.state.groupContext.groupId;
    if (groupId.length !== expected.length || !groupId.every((b, i) => b === expected[i]))
      return 'done';
    // The members it brings must all be listed by the server (and a direct room is two).
    let members: Member[];
    try {
      members = (await this.options.transport.members(room)).members;
    } catch {
      return 'later';
    }
    const listed = new Set<string>(members.map((m) => m.user));
    const users = new Set(membersOf(joined.state).map((m) => m.user));
    if ([...users].some((user) => !listed.has(user))) return 'done';
    if (summary.kind === 'direct' && users.size > 2) return 'done';
    const used = this.ownPackages.get(joined.used);
    await this.adopt(room, {
      state: joined.state,
      suite,
      joinedAt: envelope.seq,
      updatedAt: this.now(),
      refused: null,
    });
    // A one-time package is used up; a last-resort one is replaced.
    if (used && !used.last) {
      this.ownPackages.delete(joined.used);
      await this.options.store.putSecrets(new Map([[KP + joined.used, null]]));
    } else if (used?.last) {
      await this.refill(true);
    }
    return 'done';
  }

  /** Keep KEY_PACKAGES_TARGET one-time packages (and one last-resort) on the server. */
  private async refill(rotateLast = false): Promise<void> {
    const { transport, store } = this.options;
    const available = await transport.uploadKeyPackages([]);
    const hasLast = [...this.ownPackages.values()].some((p) => p.last);
    const count = available < KEY_PACKAGES_THRESHOLD ? KEY_PACKAGES_TARGET - available : 0;
    if (count === 0 && hasLast && !rotateLast) return;
    const changes = new Map<string, Uint8Array | null>();
    const bundles: Uint8Array[] = [];
    const made = new Map<string, StoredKeyPackage>();
    const bundle = async (last: boolean) => {
      const classic = await newKeyPackage(this.signer, 'classic');
      const hybrid = await newKeyPackage(this.signer, 'hybrid');
      for (const own of [classic, hybrid]) {
        const entry = { ...own, last };
        made.set(own.ref, entry);
        changes.set(KP + own.ref, encode(entry));
      }
      return encode({ v: 1, classic: classic.publicBytes, hybrid: hybrid.publicBytes });
    };
    let lastResort: Uint8Array | undefined;
    if (!hasLast || rotateLast) {
      for (const [ref, own] of this.ownPackages) if (own.last) changes.set(KP + ref, null);
      lastResort = await bundle(true);
      // A new device can be added as soon as it has a last-resort package: upload it first.
      if (!hasLast) {
        await store.putSecrets(changes);
        for (const [ref, own] of made) this.ownPackages.set(ref, own);
        await transport.uploadKeyPackages([], lastResort);
        changes.clear();
        made.clear();
        lastResort = undefined;
      }
    }
    for (let i = 0; i < count; i++) bundles.push(await bundle(false));
    // Keep the private halves before the public ones can be claimed.
    await store.putSecrets(changes);
    for (const [key, value] of changes) {
      const ref = key.slice(KP.length);
      if (value === null) this.ownPackages.delete(ref);
    }
    for (const [ref, own] of made) this.ownPackages.set(ref, own);
    await transport.uploadKeyPackages(bundles, lastResort);
  }
}

/** The key package of this suite in a device's uploaded bundle. */
function pick(bundle: Uint8Array, suite: SuiteKind): KeyPackage {
  const value = decode(bundle) as { v?: number; classic?: Uint8Array; hybrid?: Uint8Array };
  const bytes = value[suite];
  if (value.v !== 1 || !(bytes instanceof Uint8Array)) throw new Error('no package of this suite');
  return readKeyPackage(bytes);
}

/**
 * Keys kept for late messages: a message may arrive after a few commits (its sender had not
 * seen them yet), and a busy sender's messages may arrive out of generation order.
 */
const clientConfig: ClientConfig = {
  keyRetentionConfig: {
    retainKeysForGenerations: 200,
    retainKeysForEpochs: 16,
    maximumForwardRatchetSteps: 20000,
  },
  lifetimeConfig: defaultLifetimeConfig,
  keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
  paddingConfig: defaultPaddingConfig,
};
