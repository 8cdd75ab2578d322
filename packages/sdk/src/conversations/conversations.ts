/**
 * The conversations facade: the one door through which an app reads and writes rooms. It
 * turns typed content into payloads (./codec.ts), sends them over the realtime connection,
 * reduces every event it receives into the room's timeline (./timeline.ts) and keeps the
 * result in the local store, one transaction per processed event. Apps read timelines from
 * here (`view`, `subscribe`), never from server pages; the server is asked only for events
 * this device has never seen (a history page below the oldest one it keeps).
 */
import { decode, encode } from '@msgpack/msgpack';
import {
  ChatError,
  FILE_TYPE_PATTERN,
  Limits,
  type DirectoryEntry,
  type ErrorCode,
  type Member,
  type Notice,
  type RoomEvent,
  type RoomSummary,
  type Visibility,
} from '@securechat/protocol';
import { fromBase64url, toBase64url } from '../base64url.js';
import { asChatError } from '../errors.js';
import { openFile as openSealedFile, sealFile, type FileSource } from '../files/seal.js';
import {
  detectType,
  extensionOf,
  isPreviewable,
  mimeOf,
  safeFileName,
  type RealType,
} from '../files/types.js';
import {
  emptyRoomRecord,
  type ConversationStore,
  type PendingSend,
  type RoomRecord,
} from '../store/store.js';
import { newCmid } from '../transport/outbox.js';
import type {
  ConnectionState,
  PresenceEvent,
  ReceiptEvent,
  TypingEvent,
} from '../transport/realtime.js';
import type { TrustState } from '../mls/trust.js';
import type { ConversationCrypto, CryptoHooks, Opened, RoomSecurity } from '../mls/types.js';
import { decodeEvent, displayNameOk, encodeContent, wireOf, type DecodedEvent } from './codec.js';
import type { AvatarRef, Content } from './content.js';
import { Receipts, type RoomReceipts } from './receipts.js';
import type { RichDocument } from './rich.js';
import { MessageIndex, type SearchOptions, type SearchResults } from './search.js';
import {
  applyEvent,
  applyHistoryPage,
  emptyTimeline,
  hasReacted,
  unreadCount,
  type FileRef,
  type PersonProfile,
  type RoomProfile,
  type TimelineItem,
  type TimelineState,
} from './timeline.js';

/** Events per history page. */
const PAGE_SIZE = 50;
/** Store key prefix of the rooms' unsent texts. */
const DRAFT = 'draft:';
/** How long a send waits for this device to get into the room's group before it fails. */
const GROUP_WAIT_MS = 60_000;
/** How long a send waits for the listed members of a private room to be in its group. */
const MEMBERS_WAIT_MS = 10_000;
/** How often a send encrypted in a past epoch is encrypted again. */
const STALE_RETRIES = 5;

/** An event as the engine opened it, read into content (or why it can't be shown). */
function decodeOpened(opened: Opened): DecodedEvent {
  const { event, payload, failure } = opened;
  if (payload !== null && 'payload' in event) return decodeEvent({ ...event, payload });
  const decoded = decodeEvent(event);
  if (failure === null || decoded.content === null) return decoded;
  if (decoded.content.type === 'unreadable' && decoded.content.reason === 'erased') return decoded;
  return { ...decoded, content: { type: 'unreadable', reason: failure } };
}

/** The realtime connection as the facade uses it (its public methods only). */
export interface ConversationTransport {
  readonly state: ConnectionState;
  onEvent(listener: (event: RoomEvent) => void): () => void;
  onState(listener: (state: ConnectionState) => void): () => void;
  onTyping(listener: (event: TypingEvent) => void): () => void;
  onPresence(listener: (event: PresenceEvent) => void): () => void;
  onReceipt(listener: (event: ReceiptEvent) => void): () => void;
  /** This user can no longer read the room (left, removed, deleted). */
  onGone(listener: (room: string) => void): () => void;
  send(
    input: { room: string; payload: Uint8Array; cmid?: string } & ReturnType<typeof wireOf>,
  ): Promise<{ room: string; seq: number; at: number }>;
  history(
    room: string,
    limit: number,
    before?: number,
  ): Promise<{ events: RoomEvent[]; more: boolean }>;
  typing(room: string, on: boolean): Promise<unknown>;
  setPresence(status: 'online' | 'away'): Promise<unknown>;
  receipt(room: string, positions: { delivered?: number; read?: number }): Promise<unknown>;
  receipts(room: string): Promise<{ enabled: boolean; receipts: ReceiptEvent[] }>;
  rooms(): Promise<RoomSummary[]>;
  directory(query?: string, limit?: number): Promise<DirectoryEntry[]>;
  createChannel(input: {
    name: string;
    topic?: string;
    visibility?: Visibility;
    password?: string;
  }): Promise<RoomSummary>;
  /** No name or topic: a group's are end-to-end content (room profile). */
  createGroup(input: { visibility?: Visibility }): Promise<RoomSummary>;
  direct(username: string): Promise<RoomSummary>;
  join(room: string, password?: string): Promise<RoomSummary>;
  leave(room: string): Promise<void>;
  invite(room: string, username: string): Promise<RoomSummary>;
  kick(room: string, user: string): Promise<RoomSummary>;
  setRole(room: string, user: string, role: 'moderator' | 'member'): Promise<RoomSummary>;
  transfer(room: string, user: string): Promise<RoomSummary>;
  settings(
    room: string,
    changes: {
      name?: string;
      topic?: string | null;
      visibility?: Visibility;
      password?: string | null;
    },
  ): Promise<RoomSummary>;
  members(room: string): Promise<{ members: Member[]; total: number }>;
  findUsers(query: string): Promise<{ id: string; username: string }[]>;
  block(username: string, on?: boolean): Promise<void>;
  blocked(): Promise<{ id: string; username: string }[]>;
  mute(room: string, on?: boolean): Promise<RoomSummary>;
  deleteCode(room: string, seq: number): Promise<{ code: string; expiresAt: number }>;
  deleteMessage(room: string, seq: number, code: string): Promise<unknown>;
  close(): void;
}

/** One room as an app shows it. The same object is returned until something in it changes. */
export interface ConversationView {
  readonly room: string;
  /** Messages, notices and profile changes, oldest first. */
  readonly items: readonly TimelineItem[];
  /** This device's messages still on their way (or refused), not yet in `items`. */
  readonly pending: readonly PendingMessage[];
  /** Some of the room's history is here (from the store or the server). */
  readonly loaded: boolean;
  /** Older events may remain on the server (`loadOlder`). */
  readonly more: boolean;
  readonly profile: RoomProfile;
  /** The highest seq this user has read. */
  readonly read: number;
  /**
   * How far the other members have received and read (small rooms; null until known).
   * `deliveryState(view.receipts, seq)` says where one of this user's messages stands.
   */
  readonly receipts: RoomReceipts | null;
  /** End-to-end encryption: encrypted, verified, warning (and why) or still joining. */
  readonly security: RoomSecurity;
  /** Messages that arrived before this device was let into the conversation. */
  readonly waiting: number;
}

/** A message of this device not yet in the timeline. */
export interface PendingMessage {
  readonly cmid: string;
  readonly text: string;
  /** Its formatting, when it has any. */
  readonly rich: RichDocument | null;
  readonly replyTo: number | null;
  /** The name and size of the file it carries (already uploaded), or null. */
  readonly file: { readonly name: string; readonly size: number } | null;
  readonly at: number;
  /** Why it was refused; null while it is on its way. */
  readonly error: { readonly code: ErrorCode; readonly message: string } | null;
}

export interface ConversationsOptions {
  store: ConversationStore;
  /** The signed-in user's id. */
  userId: string;
  /** Open the realtime connection, resuming from these positions (kept up to date by it). */
  connect: (positions: Map<string, number>) => ConversationTransport;
  /** Events per history page (default 50). */
  pageSize?: number;
  /** Where files' ciphertext is uploaded and downloaded (sendFile, openFile). */
  files?: FileTransport;
  /** Where failures of the store or of background work are reported (default: ignored). */
  onError?: (error: unknown) => void;
  /** End-to-end encryption: opens the device's MLS engine over the connection. */
  encryption: (
    hooks: CryptoHooks,
    connection: ConversationTransport,
  ) => Promise<ConversationCrypto>;
}

/** Files over HTTP, as the facade uses them (transport/blobs.ts). */
export interface FileTransport {
  uploadFile(
    room: string,
    type: string,
    ciphertext: Uint8Array,
    onProgress?: (sent: number, total: number) => void,
  ): Promise<{ id: string }>;
  downloadFile(room: string, id: string): Promise<Uint8Array>;
}

/** A message's file, decrypted and checked. */
export interface OpenedFile {
  readonly bytes: Uint8Array;
  /** Its real type by its bytes; null when none of the known ones. */
  readonly type: RealType | null;
  /** Whether it may be shown inline as an image (png, jpeg, gif). */
  readonly previewable: boolean;
  readonly mime: string;
  /** A safe name to save it under, its extension matching the real type. */
  readonly name: string;
}

/** The store key of this user's own profile (a secret: sealed like the rest). */
const MY_PROFILE = 'profile:me';

/** This user's display name and avatar as this device keeps them, to share again. */
interface MyProfile {
  readonly name: string | null;
  readonly avatar: { readonly bytes: Uint8Array; readonly fileType: 'png' | 'jpg' } | null;
}

/** A notice that someone, or some device, can now read the room and has not seen profiles. */
function newcomer(notice: Notice | undefined): boolean {
  switch (notice?.type) {
    case 'create':
    case 'join':
    case 'invite':
      return true;
    case 'devices':
      return notice.change === 'added';
    case 'kick':
    case 'leave':
    case 'role':
    case 'settings':
    case 'closed':
    case 'transfer':
    case undefined:
      return false;
  }
}

const shownAsMessage = (
  content: Content,
): content is Extract<Content, { type: 'text' | 'reply' | 'file' }> =>
  content.type === 'text' || content.type === 'reply' || content.type === 'file';

export class Conversations {
  private readonly records = new Map<string, RoomRecord>();
  private readonly timelines = new Map<string, TimelineState>();
  private readonly loads = new Map<string, Promise<TimelineState>>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly outbox = new Map<string, PendingSend>();
  private readonly views = new Map<string, ConversationView>();
  /** Rooms an app has opened: their first history page is fetched once connected. */
  private readonly opened = new Set<string>();
  private readonly fetching = new Map<string, Promise<void>>();
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<(event: DecodedEvent) => void>();
  private unreadSnapshot: ReadonlyMap<string, number> | null = null;
  private readonly teardown: (() => void)[] = [];
  private transport!: ConversationTransport;
  private receipts!: Receipts;
  /** Each member's newest profile seen in any loaded room, and the room it was shared in. */
  private readonly people = new Map<string, { room: string; profile: PersonProfile }>();
  /** The room profiles this device set this session (shared again with members it adds). */
  private readonly sentRoomProfiles = new Map<string, { name?: string; topic?: string | null }>();
  /** Rooms where someone (or some device) is new since this device last shared the profile. */
  private readonly profileOwed = new Set<string>();
  /** This user's own profile as this device keeps it (undefined: not read from the store yet). */
  private mine: MyProfile | null | undefined;
  private engine!: ConversationCrypto;
  /** Rooms whose group is being waited for by sends (resolved when the group is there). */
  private readonly readyWaits = new Map<string, (() => void)[]>();
  /** The connection's resume positions (it updates them; rooms new to this device are added). */
  private positions = new Map<string, number>();
  /** The search index, built from the stored timelines on the first search (null before). */
  private index: MessageIndex | null = null;
  private indexing: Promise<MessageIndex> | null = null;
  private closed = false;

  /** Use `openConversations`. */
  private constructor(
    private readonly store: ConversationStore,
    private readonly me: string,
    private readonly pageSize: number,
    private readonly report: (error: unknown) => void,
    private readonly files: FileTransport | null,
  ) {}

  /** @internal Loads the store, connects, and re-sends what was pending. */
  static async open(options: ConversationsOptions): Promise<Conversations> {
    const self = new Conversations(
      options.store,
      options.userId,
      options.pageSize ?? PAGE_SIZE,
      options.onError ?? (() => undefined),
      options.files ?? null,
    );
    const [records, pending] = await Promise.all([options.store.rooms(), options.store.pending()]);
    const positions = new Map<string, number>();
    for (const record of records) {
      self.records.set(record.room, record);
      if (record.position > 0) positions.set(record.room, record.position);
    }
    for (const send of pending) self.outbox.set(send.cmid, send);
    self.positions = positions;
    const transport = options.connect(positions);
    self.transport = transport;
    self.receipts = new Receipts(transport, (room) => self.changed(room), self.report);
    // The connection may resume while the engine loads: its events advance the positions at
    // once, so they are listened to from now on and held until the engine can open them.
    // (Dropped, they would be lost for good: a commit among them would leave this device a
    // step behind its group, unable to read anything sent after it.)
    let early: (() => void)[] | null = [];
    const whenReady = (work: () => void) => (early ? early.push(work) : work());
    self.teardown.push(
      transport.onEvent((event) => whenReady(() => self.receive(event))),
      transport.onReceipt((event) => self.receipts.received(event.room, event)),
      transport.onGone((room) => whenReady(() => void self.forget(room).catch(self.report))),
    );
    self.engine = await options.encryption(
      {
        run: (room, task) => self.enqueue(room, task),
        deliver: (room, events) => void self.process(room, events).catch(self.report),
        report: self.report,
        added: (room) => void self.shareProfile(room).catch(self.report),
      },
      transport,
    );
    self.teardown.push(
      self.engine.onChange(() => {
        self.views.clear();
        for (const [room, waits] of self.readyWaits)
          if (self.engine.epoch(room) !== null) {
            self.readyWaits.delete(room);
            for (const resolve of waits) resolve();
          }
        self.emit();
      }),
    );
    self.teardown.push(
      transport.onState((state) => {
        if (state === 'open' || state === 'stalled')
          for (const room of self.opened) self.fetchFirstPage(room);
        if (state === 'open') {
          for (const room of self.opened) self.refreshReceipts(room);
          self.receipts.flush();
          self.engine.online();
          void self.rooms().catch(self.report);
        }
        self.emit();
      }),
    );
    const held = early;
    early = null;
    for (const work of held) work();
    self.engine.start();
    // The connection may have opened while the engine was loading.
    if (transport.state === 'open') {
      self.engine.online();
      void self.rooms().catch(self.report);
    }
    // Sends that never got their ack before the last shutdown go out again, same cmid.
    for (const send of pending) if (send.error === null) void self.transmit(send);
    return self;
  }

  // ---- reading ----------------------------------------------------------------------

  /** Called after anything an app shows changed (a timeline, unread counts, the state). */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  /** Every event as it is processed (typed content, never payload bytes), in order per room. */
  onEvent(listener: (event: DecodedEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => {
      this.eventListeners.delete(listener);
    };
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    return this.transport.onState(listener);
  }

  /** Someone started or stopped typing (ephemeral). */
  onTyping(listener: (event: TypingEvent) => void): () => void {
    return this.transport.onTyping(listener);
  }

  /** Someone who shares a room went online, away or offline. */
  onPresence(listener: (event: PresenceEvent) => void): () => void {
    return this.transport.onPresence(listener);
  }

  get state(): ConnectionState {
    return this.transport.state;
  }

  /**
   * Show a room: its timeline comes from the store at once; the server is asked for the
   * newest page only if this device never loaded any of the room's history.
   */
  open(room: string): void {
    this.opened.add(room);
    if (this.transport.state === 'open') this.refreshReceipts(room);
    void this.load(room).then(() => this.fetchFirstPage(room), this.report);
  }

  /** Stop following a room's history (the app no longer shows it). */
  closeRoom(room: string): void {
    this.opened.delete(room);
  }

  /** The room as it is now (stable until it changes). */
  view(room: string): ConversationView {
    const cached = this.views.get(room);
    if (cached) return cached;
    const state = this.timelines.get(room);
    const items = state?.items ?? [];
    const mine = new Set(
      items.flatMap((item) =>
        item.type === 'message' && item.sender === this.me ? [item.cmid] : [],
      ),
    );
    const pending: PendingMessage[] = [];
    for (const send of this.outbox.values()) {
      if (send.room !== room || !shownAsMessage(send.content) || mine.has(send.cmid)) continue;
      pending.push({
        cmid: send.cmid,
        text: send.content.text,
        rich: send.content.type === 'file' ? null : (send.content.rich ?? null),
        replyTo: send.content.type === 'reply' ? send.content.replyTo : null,
        file:
          send.content.type === 'file'
            ? { name: send.content.name, size: send.content.size }
            : null,
        at: send.at,
        error: send.error,
      });
    }
    const view: ConversationView = {
      room,
      items,
      pending,
      loaded: state !== undefined && state.oldest !== null,
      more: state !== undefined && !state.complete,
      profile: state?.profile ?? this.records.get(room)?.profile ?? { name: null, topic: null },
      read: this.records.get(room)?.read ?? 0,
      receipts: this.receipts.of(room),
      security: this.engine.security(room),
      waiting: this.engine.waiting(room),
    };
    this.views.set(room, view);
    return view;
  }

  /** Unread messages per room (rooms with none are absent). */
  unreadCounts(): ReadonlyMap<string, number> {
    if (this.unreadSnapshot) return this.unreadSnapshot;
    const counts = new Map<string, number>();
    for (const record of this.records.values())
      if (record.unread > 0) counts.set(record.room, record.unread);
    this.unreadSnapshot = counts;
    return counts;
  }

  /**
   * The text this user was writing in a room and has not sent: kept in this device's store
   * (sealed like the rest of it), so it survives a reload. Empty when there is none.
   */
  async draft(room: string): Promise<string> {
    const bytes = await this.store.secret(DRAFT + room);
    return bytes ? new TextDecoder().decode(bytes) : '';
  }

  /** Keep (or, with '', forget) the unsent text of a room. */
  saveDraft(room: string, text: string): Promise<void> {
    return this.store.putSecrets(
      new Map([[DRAFT + room, text === '' ? null : new TextEncoder().encode(text)]]),
    );
  }

  /** A room's name and topic as set in content (private groups and direct rooms). */
  profile(room: string): RoomProfile {
    return (
      this.timelines.get(room)?.profile ??
      this.records.get(room)?.profile ?? { name: null, topic: null }
    );
  }

  /**
   * Search every message this device has decrypted and kept (or one room's), on this device
   * only: the first search builds the index from the local store; later ones use it as every
   * arrival, edit and delete keeps it up to date. Newest first.
   */
  search(query: string, options: SearchOptions = {}): Promise<SearchResults> {
    return this.guard(async () => (await this.searchIndex()).search(query, options));
  }

  /** Fetch the page of history just older than what this device has. */
  loadOlder(room: string): Promise<void> {
    return this.guard(async () => {
      const state = await this.load(room);
      if (state.oldest === null) return this.fetchPage(room, undefined);
      if (state.complete) return;
      return this.fetchPage(room, state.oldest);
    });
  }

  /** Everything up to `seq` was read (shared with the room's members as a read receipt). */
  markRead(room: string, seq: number): Promise<void> {
    this.receipts.read(room, seq);
    return this.enqueue(room, async () => {
      const record = this.record(room);
      if (seq <= record.read) return;
      const state = await this.load(room);
      await this.commit(room, { ...record, read: seq, unread: unreadCount(state, seq, this.me) });
    });
  }

  // ---- writing ----------------------------------------------------------------------

  /**
   * Send a message (a reply with `replyTo`), formatted by `rich` when given (`text` is then
   * its plain rendition: rich.ts `richToText`). It shows as pending at once and goes out as
   * soon as the connection allows, surviving reconnects and restarts. Refuses text over
   * TEXT_MAX_BYTES before queueing anything (CHAT_ERR_TOO_LARGE).
   */
  sendText(
    room: string,
    text: string,
    options: { replyTo?: number; rich?: RichDocument } = {},
  ): Promise<void> {
    const rich = options.rich ? { rich: options.rich } : {};
    const content: Content =
      options.replyTo === undefined
        ? { type: 'text', text, ...rich }
        : { type: 'reply', text, ...rich, replyTo: options.replyTo };
    return this.submit(room, content);
  }

  /**
   * Send a file (with an optional caption): sealed here under a fresh key, uploaded as
   * ciphertext, then sent as a message carrying its id, key and hash. `onProgress(fraction)`
   * goes from 0 to 1 over sealing and uploading. The server refuses a declared type off its
   * list (CHAT_ERR_FILE_TYPE), a file over its size limit (CHAT_ERR_PAYLOAD_TOO_LARGE) or over
   * the user's quota (CHAT_ERR_FILE_QUOTA); nothing is sent then.
   */
  sendFile(
    room: string,
    file: { name: string; data: FileSource },
    options: { text?: string; onProgress?: (fraction: number) => void } = {},
  ): Promise<void> {
    return this.guard(async () => {
      const upload = this.files;
      if (!upload) throw new ChatError('CHAT_ERR_INTERNAL', 'Files are not available here.');
      const name = file.name.trim();
      const fileType = extensionOf(name);
      if (name === '' || name.length > Limits.FILE_NAME_MAX_LENGTH)
        throw new ChatError('CHAT_ERR_VALIDATION', 'This file’s name is empty or too long.');
      if (!new RegExp(FILE_TYPE_PATTERN).test(fileType))
        throw new ChatError(
          'CHAT_ERR_FILE_TYPE',
          'This file has no type the server could allow: its name needs an extension such as .pdf.',
        );
      const report = options.onProgress;
      const sealed = await sealFile(file.data, (done, total) =>
        report?.(total === 0 ? 0.2 : (0.2 * done) / total),
      );
      const stored = await upload.uploadFile(room, fileType, sealed.ciphertext, (sent, total) =>
        report?.(Math.min(0.2 + 0.8 * (sent / Math.max(1, total)), 1)),
      );
      report?.(1);
      await this.submit(room, {
        type: 'file',
        blob: stored.id,
        name,
        fileType,
        size: sealed.size,
        key: toBase64url(sealed.key),
        hash: toBase64url(sealed.hash),
        text: options.text ?? '',
      });
    });
  }

  /**
   * Download, decrypt and check a message's file: its hash, then its real type by its bytes.
   * Answers the bytes, the real type (null when it is none of the known ones), whether it may
   * be previewed inline (png, jpeg, gif only), its MIME type and a sanitized name to save it
   * under. CHAT_ERR_VALIDATION when it was tampered with; CHAT_ERR_NOT_FOUND once deleted.
   */
  openFile(room: string, file: FileRef): Promise<OpenedFile> {
    return this.guard(async () => {
      const download = this.files;
      if (!download) throw new ChatError('CHAT_ERR_INTERNAL', 'Files are not available here.');
      const ciphertext = await download.downloadFile(room, file.blob);
      const bytes = await openSealedFile(
        ciphertext,
        fromBase64url(file.key),
        fromBase64url(file.hash),
        file.size,
      );
      const type = detectType(bytes);
      return {
        bytes,
        type,
        previewable: isPreviewable(type),
        mime: mimeOf(type),
        name: safeFileName(file.name, type),
      };
    });
  }

  /** Change the text (and formatting, with `rich`) of one of your messages. */
  edit(room: string, seq: number, text: string, rich?: RichDocument): Promise<void> {
    return this.submit(room, { type: 'edit', target: seq, text, ...(rich ? { rich } : {}) });
  }

  /** Toggle your reaction `emoji` on message `seq`. */
  react(room: string, seq: number, emoji: string): Promise<void> {
    return this.guard(async () => {
      const state = await this.load(room);
      await this.submit(room, {
        type: 'reaction',
        target: seq,
        emoji,
        on: !hasReacted(state, seq, this.me, emoji),
      });
    });
  }

  /** Step 1 of deleting a message: the server issues a short-lived code to type back. */
  requestDelete(room: string, seq: number): Promise<{ code: string; expiresAt: number }> {
    return this.guard(() => this.transport.deleteCode(room, seq));
  }

  /** Step 2: delete with the code; everyone's timeline gets a tombstone. */
  confirmDelete(room: string, seq: number, code: string): Promise<void> {
    return this.guard(async () => {
      await this.transport.deleteMessage(room, seq, code);
    });
  }

  /**
   * Set the name and/or topic of a private group or direct room (`topic: null` clears it).
   * They travel as content, not as server settings.
   */
  async setRoomProfile(
    room: string,
    profile: { name?: string; topic?: string | null },
  ): Promise<void> {
    await this.submit(room, { type: 'room-profile', ...profile });
    this.sentRoomProfiles.set(room, { ...this.sentRoomProfiles.get(room), ...profile });
  }

  /**
   * A private room's name and topic are content: devices just added never saw them, so the
   * device that added them sends them again.
   */
  private async shareProfile(room: string): Promise<void> {
    const state = await this.load(room);
    // What this device set may not be back in its own timeline yet (a group named and then
    // joined at once): the timeline's is newer when it has one.
    const sent = this.sentRoomProfiles.get(room);
    const name = state.profile.name ?? sent?.name ?? null;
    const topic = state.profile.topic ?? sent?.topic ?? null;
    if (name === null && topic === null) return;
    await this.submit(room, {
      type: 'room-profile',
      ...(name === null ? {} : { name }),
      ...(topic === null ? {} : { topic }),
    });
  }

  /** Send a refused message again (same cmid: the server stores it once). */
  retry(cmid: string): void {
    const send = this.outbox.get(cmid);
    if (!send || send.error === null) return;
    const again = { ...send, error: null };
    this.outbox.set(cmid, again);
    this.changed(send.room);
    this.store.putPending(again).catch(this.report);
    void this.transmit(again);
  }

  /** Give up on a refused message. */
  discard(cmid: string): void {
    const send = this.outbox.get(cmid);
    if (!send) return;
    this.outbox.delete(cmid);
    this.changed(send.room);
    this.store.removePending(cmid).catch(this.report);
  }

  typing(room: string, on: boolean): Promise<void> {
    return this.guard(async () => {
      await this.transport.typing(room, on);
    });
  }

  setPresence(status: 'online' | 'away'): Promise<void> {
    return this.guard(async () => {
      await this.transport.setPresence(status);
    });
  }

  /**
   * Whether this user tells the members of small rooms how far they have read (on by
   * default). Delivery receipts are always sent: the server sees deliveries anyway.
   */
  setReadReceipts(on: boolean): void {
    this.receipts.sendRead = on;
  }

  // ---- profiles -----------------------------------------------------------------------

  /**
   * A member's display name and avatar as they last shared them in a room this device has
   * loaded, and that room (their avatar is opened there, with `openFile`); null when unknown.
   */
  person(user: string): { readonly room: string; readonly profile: PersonProfile } | null {
    return this.people.get(user) ?? null;
  }

  /**
   * Change this user's display name and avatar (`undefined` keeps one as it is, `null` removes
   * it) and share them, end-to-end encrypted, in every room they are in; later in each room
   * before their next message once someone new has joined. The avatar is a PNG or JPEG of at
   * most AVATAR_MAX_BYTES, sealed and uploaded like a file into each room.
   */
  setMyProfile(change: {
    name?: string | null;
    avatar?: { bytes: Uint8Array; fileType: 'png' | 'jpg' } | null;
  }): Promise<void> {
    return this.guard(async () => {
      const current = (await this.myProfile()) ?? { name: null, avatar: null };
      const name = change.name === undefined ? current.name : change.name?.trim() || null;
      if (!displayNameOk(name))
        throw new ChatError(
          'CHAT_ERR_VALIDATION',
          `A display name can have at most ${Limits.DISPLAY_NAME_MAX_LENGTH} characters, and no control or invisible characters.`,
          { field: 'name' },
        );
      const avatar = change.avatar === undefined ? current.avatar : change.avatar;
      if (avatar) {
        const type = detectType(avatar.bytes);
        if (
          avatar.bytes.byteLength > Limits.AVATAR_MAX_BYTES ||
          (type !== 'png' && type !== 'jpeg')
        )
          throw new ChatError(
            'CHAT_ERR_VALIDATION',
            `An avatar must be a PNG or JPEG image of at most ${Limits.AVATAR_MAX_BYTES / 1024} KB.`,
            { field: 'avatar' },
          );
      }
      const mine: MyProfile = { name, avatar };
      await this.store.putSecrets(new Map([[MY_PROFILE, encode(mine)]]));
      this.mine = mine;
      const rooms = await this.transport.rooms();
      for (const room of rooms) {
        this.profileOwed.delete(room.id);
        await this.shareMyProfile(room.id, true).catch(this.report);
      }
    });
  }

  /** This user's own profile (from this device's store, else as shared from another device). */
  private async myProfile(): Promise<MyProfile | null> {
    if (this.mine !== undefined) return this.mine;
    const stored = await this.store.secret(MY_PROFILE);
    if (stored) {
      this.mine = decode(stored) as MyProfile;
      return this.mine;
    }
    const shared = this.people.get(this.me);
    if (!shared) return null; // not known here yet: nothing is shared until it is
    let avatar: MyProfile['avatar'] = null;
    if (shared.profile.avatar) {
      const opened = await this.openFile(shared.room, shared.profile.avatar);
      avatar = { bytes: opened.bytes, fileType: opened.type === 'png' ? 'png' : 'jpg' };
    }
    this.mine = { name: shared.profile.name, avatar };
    return this.mine;
  }

  /** Send this user's profile into `room` (its avatar uploaded there). */
  private async shareMyProfile(room: string, evenIfEmpty = false): Promise<void> {
    const mine = await this.myProfile();
    if (!mine || (!evenIfEmpty && mine.name === null && mine.avatar === null)) return;
    let avatar: AvatarRef | null = null;
    if (mine.avatar) {
      if (!this.files) throw new ChatError('CHAT_ERR_INTERNAL', 'Files are not available here.');
      const sealed = await sealFile(mine.avatar.bytes);
      const stored = await this.files.uploadFile(room, mine.avatar.fileType, sealed.ciphertext);
      avatar = {
        blob: stored.id,
        fileType: mine.avatar.fileType,
        size: sealed.size,
        key: toBase64url(sealed.key),
        hash: toBase64url(sealed.hash),
      };
    }
    await this.submit(room, { type: 'user-profile', name: mine.name, avatar });
  }

  private learnPeople(room: string, timeline: TimelineState): void {
    for (const [user, newest] of Object.entries(timeline.facts.people ?? {})) {
      const known = this.people.get(user);
      if (known?.profile === newest.value) continue;
      if (!known || known.profile.at <= newest.value.at)
        this.people.set(user, { room, profile: newest.value });
    }
  }

  // ---- end-to-end encryption ----------------------------------------------------------

  /** How this device sees `user`'s identity key: unverified, verified, changed or unknown. */
  trustState(user: string): TrustState {
    return this.engine.trust.state(user);
  }

  /**
   * The safety number of this user and `user` (12 groups of 5 digits), to compare in person
   * or by QR code; null when `user` has no identity key.
   */
  safetyNumber(user: string): Promise<string[] | null> {
    return this.guard(() => this.engine.trust.safetyNumber(user));
  }

  /** Mark `user` verified after comparing safety numbers (or take it back). */
  setVerified(user: string, verified: boolean): Promise<void> {
    return this.guard(() => this.engine.trust.setVerified(user, verified));
  }

  /** The user saw that `user`'s identity key changed: trust the new key (unverified). */
  acknowledgeKeyChange(user: string): Promise<void> {
    return this.guard(() => this.engine.trust.acknowledge(user));
  }

  /**
   * Give this device fresh keys in `room` now (an MLS update commit): whoever stole its
   * current keys can't read what follows. Devices also do this by themselves every week.
   */
  rotateKeys(room: string): Promise<void> {
    return this.guard(() => this.engine.rotate(room));
  }

  /** The devices that can read what is sent in `room` now (its MLS group). */
  groupDevices(room: string): { user: string; device: string }[] {
    return this.engine.groupMembers(room);
  }

  // ---- rooms, members, directory (the server's; delegated) -----------------------------

  /** The rooms this user is in; rooms new to this device are followed from their last seq. */
  rooms(): Promise<RoomSummary[]> {
    return this.guard(async () => {
      const rooms = await this.transport.rooms();
      for (const room of rooms)
        if (!this.positions.has(room.id)) this.positions.set(room.id, room.lastSeq);
      this.engine.sync(rooms);
      return rooms;
    });
  }

  directory(query = '', limit?: number) {
    return this.guard(() => this.transport.directory(query, limit));
  }
  createChannel(input: {
    name: string;
    topic?: string;
    visibility?: Visibility;
    password?: string;
  }) {
    return this.guard(async () => this.follow(await this.transport.createChannel(input)));
  }
  /**
   * A private group; you are its owner. Its name and topic go out only as room-profile
   * content, which is where members read them: the server never has them.
   */
  createGroup(input: { name: string; topic?: string; visibility?: Visibility }) {
    return this.guard(async () => {
      const room = this.follow(
        await this.transport.createGroup(
          input.visibility === undefined ? {} : { visibility: input.visibility },
        ),
      );
      await this.setRoomProfile(room.id, {
        name: input.name,
        ...(input.topic === undefined ? {} : { topic: input.topic }),
      });
      return room;
    });
  }
  direct(username: string) {
    return this.guard(async () => this.follow(await this.transport.direct(username)));
  }
  join(room: string, password?: string) {
    return this.guard(async () => this.follow(await this.transport.join(room, password)));
  }

  /** A room this user just got into: follow it, and get this device into its group now. */
  private follow(room: RoomSummary): RoomSummary {
    if (!this.positions.has(room.id)) this.positions.set(room.id, room.lastSeq);
    this.engine.sync([room]);
    return room;
  }
  /** Leave a room; this device forgets its timeline. */
  leave(room: string): Promise<void> {
    return this.guard(async () => {
      await this.transport.leave(room);
      await this.forget(room);
    });
  }
  invite(room: string, username: string) {
    return this.guard(() => this.transport.invite(room, username));
  }
  kick(room: string, user: string) {
    return this.guard(() => this.transport.kick(room, user));
  }
  setRole(room: string, user: string, role: 'moderator' | 'member') {
    return this.guard(() => this.transport.setRole(room, user, role));
  }
  transfer(room: string, user: string) {
    return this.guard(() => this.transport.transfer(room, user));
  }
  /**
   * Server-side settings: any room's visibility; a channel's name, topic and password. A
   * group's name and topic are refused here: they are `setRoomProfile` content.
   */
  settings(
    room: string,
    changes: {
      name?: string;
      topic?: string | null;
      visibility?: Visibility;
      password?: string | null;
    },
  ) {
    return this.guard(() => this.transport.settings(room, changes));
  }
  members(room: string): Promise<{ members: Member[]; total: number }> {
    return this.guard(() => this.transport.members(room));
  }
  findUsers(query: string) {
    return this.guard(() => this.transport.findUsers(query));
  }
  block(username: string, on = true) {
    return this.guard(() => this.transport.block(username, on));
  }
  blocked() {
    return this.guard(() => this.transport.blocked());
  }
  mute(room: string, on = true) {
    return this.guard(() => this.transport.mute(room, on));
  }

  /** Close the connection and the store; the store keeps everything for next time. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const undo of this.teardown) undo();
    this.receipts.close();
    this.engine.close();
    this.transport.close();
    await Promise.allSettled([...this.queues.values()]);
    await this.store.close();
  }

  /** Close, and erase this device's store (the device is being removed from here). */
  async forgetEverything(): Promise<void> {
    await this.close();
    await this.store.clear();
  }

  // ---- internals --------------------------------------------------------------------

  private guard<T>(work: () => Promise<T>): Promise<T> {
    return work().catch((error: unknown) => {
      throw asChatError(error);
    });
  }

  /**
   * The search index, built once: each room's timeline is read (from memory, else from the
   * store) in the room's queue, so no commit of the room runs while it is indexed, and every
   * later commit updates it (see `commit`).
   */
  private searchIndex(): Promise<MessageIndex> {
    this.indexing ??= (async () => {
      const index = new MessageIndex();
      this.index = index;
      const rooms = new Set([...this.records.keys(), ...this.timelines.keys()]);
      await Promise.all(
        [...rooms].map((room) =>
          this.enqueue(room, async () => {
            if (index.has(room)) return;
            const state = this.timelines.get(room) ?? (await this.store.timeline(room));
            if (state) await index.setRoomInChunks(room, state.items);
          }),
        ),
      );
      return index;
    })();
    // A store that failed to read: the next search tries again from scratch.
    this.indexing.catch(() => {
      this.index = null;
      this.indexing = null;
    });
    return this.indexing;
  }

  private record(room: string): RoomRecord {
    return this.records.get(room) ?? emptyRoomRecord(room);
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }

  private changed(room: string): void {
    this.views.delete(room);
    this.unreadSnapshot = null;
    this.emit();
  }

  /** Run `task` after every earlier task of the room (a room's changes are serialized). */
  private enqueue(room: string, task: () => Promise<void>): Promise<void> {
    const run = (this.queues.get(room) ?? Promise.resolve()).then(task);
    const settled = run.catch((error: unknown) => this.report(error));
    this.queues.set(room, settled);
    void settled.then(() => {
      if (this.queues.get(room) === settled) this.queues.delete(room);
    });
    return run;
  }

  private load(room: string): Promise<TimelineState> {
    const cached = this.timelines.get(room);
    if (cached) return Promise.resolve(cached);
    let loading = this.loads.get(room);
    if (!loading) {
      loading = this.store.timeline(room).then((stored) => {
        const state = this.timelines.get(room) ?? stored ?? emptyTimeline;
        this.timelines.set(room, state);
        this.learnPeople(room, state);
        this.loads.delete(room);
        this.changed(room);
        return state;
      });
      this.loads.set(room, loading);
    }
    return loading;
  }

  /** Write a room's new record (and timeline) in one transaction, then show it. */
  private async commit(
    room: string,
    record: RoomRecord,
    timeline?: TimelineState,
    settled: readonly string[] = [],
    secrets?: ReadonlyMap<string, Uint8Array | null>,
  ): Promise<void> {
    await this.store.commit({
      room: record,
      ...(timeline ? { timeline } : {}),
      settled,
      ...(secrets && secrets.size > 0 ? { secrets } : {}),
    });
    this.records.set(room, record);
    if (timeline) {
      this.index?.update(room, this.timelines.get(room)?.items ?? [], timeline.items);
      this.timelines.set(room, timeline);
      this.learnPeople(room, timeline);
    }
    for (const cmid of settled) this.outbox.delete(cmid);
    this.changed(room);
  }

  /**
   * Open events through the MLS engine, fold them into the room's timeline and store the
   * result — timeline, positions and the group's new state — in one transaction.
   */
  private process(
    room: string,
    events: readonly RoomEvent[],
    page?: { more: boolean },
  ): Promise<void> {
    return this.enqueue(room, async () => {
      const state = await this.load(room);
      // What this device already shows is not opened again (its keys are used up); what it
      // could not open yet is.
      const shown = new Set(
        state.items.flatMap((item) =>
          item.type === 'message' && item.unreadableReason === 'waiting' ? [] : [item.seq],
        ),
      );
      const fresh = events.filter((event) => !shown.has(event.seq));
      const { opened, secrets, done } = await this.engine.open(room, fresh);
      const decoded = opened.map(decodeOpened);
      if (!page)
        for (const event of decoded) for (const listener of this.eventListeners) listener(event);
      let next = page
        ? applyHistoryPage(state, decoded, page.more)
        : decoded.reduce(applyEvent, state);
      if (page && events.length > 0) {
        const lowest = Math.min(...events.map((event) => event.seq));
        if (next.oldest === null || lowest < next.oldest)
          next = { ...next, oldest: lowest, complete: !page.more || lowest <= 1 };
      }
      const settled = decoded.flatMap((event) =>
        event.sender === this.me && this.outbox.get(event.cmid)?.room === room ? [event.cmid] : [],
      );
      if (next === state && settled.length === 0 && secrets.size === 0) {
        done();
        return;
      }
      const record = this.record(room);
      await this.commit(
        room,
        {
          ...record,
          position: Math.max(record.position, next.newest),
          unread: unreadCount(next, record.read, this.me),
          profile: next.profile,
        },
        next,
        settled,
        secrets,
      );
      done();
      if (next.newest > 0) this.receipts.delivered(room, next.newest);
      if (!page && decoded.some((event) => newcomer(event.notice))) this.profileOwed.add(room);
      for (const event of decoded) {
        const notice = event.notice;
        if (
          !page &&
          (notice?.type === 'kick' || notice?.type === 'leave') &&
          notice.user === this.me
        )
          await this.forget(room, true);
      }
    });
  }

  private async forget(room: string, queued = false): Promise<void> {
    const drop = async () => {
      await this.engine.forget(room);
      await this.store.forgetRoom(room);
      this.records.delete(room);
      this.timelines.delete(room);
      this.index?.removeRoom(room);
      this.receipts.forget(room);
      this.positions.delete(room);
      this.changed(room);
    };
    if (queued) await drop();
    else await this.enqueue(room, drop);
  }

  private refreshReceipts(room: string): void {
    this.receipts.refresh(room).catch((error: unknown) => {
      if (asChatError(error).code !== 'CHAT_ERR_NOT_FOUND') this.report(error);
    });
  }

  private receive(event: RoomEvent): void {
    void this.process(event.room, [event]).catch(() => undefined);
  }

  private fetchFirstPage(room: string): void {
    const state = this.timelines.get(room);
    const connected = this.transport.state === 'open' || this.transport.state === 'stalled';
    if (this.closed || !state || state.oldest !== null || !connected) return;
    this.fetchPage(room, undefined).catch(this.report);
  }

  private fetchPage(room: string, before: number | undefined): Promise<void> {
    const key = `${room}\n${before ?? ''}`;
    const running = this.fetching.get(key);
    if (running) return running;
    const run = (async () => {
      try {
        const page = await this.transport.history(room, this.pageSize, before);
        await this.process(room, page.events, { more: page.more });
      } finally {
        this.fetching.delete(key);
      }
    })();
    this.fetching.set(key, run);
    return run;
  }

  private submit(room: string, content: Content): Promise<void> {
    return this.guard(async () => {
      encodeContent(content); // refuse what can't be sent before queueing it
      // Someone new is here since this user's profile was last shared: share it first, so
      // they know who is speaking. A failure only costs the name; the message still goes.
      if (shownAsMessage(content) && this.profileOwed.delete(room))
        await this.shareMyProfile(room).catch(this.report);
      const send: PendingSend = { cmid: newCmid(), room, content, at: Date.now(), error: null };
      this.outbox.set(send.cmid, send);
      if (shownAsMessage(content)) this.changed(room);
      await this.store.putPending(send);
      await this.transmit(send);
    });
  }

  /**
   * Send one outbox entry, encrypted for the room's group (waiting for this device to be in
   * it); resolves on its ack, rejects (and marks it) when refused.
   */
  private transmit(send: PendingSend): Promise<void> {
    const sending = (async () => {
      for (let attempt = 0; ; attempt++) {
        await this.groupReady(send.room);
        let sealed: { payload: Uint8Array; epoch: number | null } | null = null;
        await this.enqueue(send.room, async () => {
          sealed = await this.engine.seal(send.room, send.cmid, encodeContent(send.content));
        });
        const { payload, epoch } = sealed ?? { payload: null, epoch: null };
        if (payload === null) throw new ChatError('CHAT_ERR_INTERNAL');
        try {
          return await this.transport.send({
            room: send.room,
            payload,
            cmid: send.cmid,
            ...wireOf(send.content),
            ...(epoch === null ? {} : { epoch }),
          });
        } catch (error) {
          // Encrypted before a commit this device had not applied yet: apply it, then
          // encrypt again (same cmid), so members who just joined can read it.
          const stale = asChatError(error);
          if (stale.code !== 'CHAT_ERR_STALE_EPOCH' || attempt >= STALE_RETRIES) throw stale;
          await this.epochReached(send.room, stale.epoch ?? (epoch ?? 0) + 1);
        }
      }
    })().then(
      async () => {
        // A message leaves the outbox when its event is processed (so it never blinks out
        // of view); anything else is done now.
        if (!shownAsMessage(send.content) || this.inTimeline(send)) await this.settle(send);
      },
      async (reason: unknown) => {
        const error = asChatError(reason);
        if (shownAsMessage(send.content) && !this.closed) {
          const failed = { ...send, error: { code: error.code, message: error.message } };
          if (this.outbox.has(send.cmid)) this.outbox.set(send.cmid, failed);
          this.changed(send.room);
          await this.store.putPending(failed).catch(this.report);
        } else await this.settle(send);
        throw error;
      },
    );
    sending.catch(() => undefined);
    return sending;
  }

  /** Resolves once this device's group of the room is at `epoch` (or after a while). */
  private async epochReached(room: string, epoch: number): Promise<void> {
    const since = Date.now();
    while ((this.engine.epoch(room) ?? 0) < epoch && Date.now() - since < MEMBERS_WAIT_MS)
      await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /**
   * Resolves once this device is in the room's group (joining it if need be) and, for a
   * while, until everyone listed in a private room is in it too: a message sent before a
   * member's device is added can never be read by it.
   */
  private async groupReady(room: string): Promise<void> {
    await this.inGroup(room);
    const since = Date.now();
    if (!this.engine.complete(room)) this.engine.schedule(room);
    while (!this.engine.complete(room) && Date.now() - since < MEMBERS_WAIT_MS && !this.closed)
      await new Promise((resolve) => setTimeout(resolve, 100));
  }

  private async inGroup(room: string): Promise<void> {
    if (this.engine.epoch(room) !== null) return;
    await this.rooms();
    if (this.engine.epoch(room) !== null) return;
    this.engine.schedule(room);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const waits = this.readyWaits.get(room) ?? [];
        this.readyWaits.set(
          room,
          waits.filter((w) => w !== done),
        );
        reject(
          new ChatError(
            'CHAT_ERR_UNAVAILABLE',
            'This device is not in the conversation’s encryption group yet. A member’s device has to let it in; try again once one is online.',
          ),
        );
      }, GROUP_WAIT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.readyWaits.set(room, [...(this.readyWaits.get(room) ?? []), done]);
    });
  }

  private inTimeline(send: PendingSend): boolean {
    return (this.timelines.get(send.room)?.items ?? []).some(
      (item) => item.type === 'message' && item.cmid === send.cmid && item.sender === this.me,
    );
  }

  private async settle(send: PendingSend): Promise<void> {
    if (!this.outbox.delete(send.cmid)) return;
    this.changed(send.room);
    await this.store.removePending(send.cmid).catch(this.report);
  }
}

/** Open the conversations of the signed-in device. */
export function openConversations(options: ConversationsOptions): Promise<Conversations> {
  return Conversations.open(options);
}
