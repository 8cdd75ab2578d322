/**
 * Receipts in small rooms (at most Limits.RECEIPT_ROOM_MEMBERS_MAX members): how far the
 * other members' devices have received and read, and this user's own reports. Reports only
 * move forward and go out at most once per room per REPORT_DELAY_MS; one that fails (offline)
 * goes out again on the next change or reconnect. Receipts are metadata the server sees
 * anyway (it delivers the events); they never carry content.
 */

import { asChatError } from '../errors.js';

/** How far one other member has received and read a room. */
export interface MemberReceipt {
  readonly user: string;
  readonly username: string;
  readonly delivered: number;
  readonly read: number;
}

/** A room's receipts: none are kept where the room is too big (`enabled` false). */
export interface RoomReceipts {
  readonly enabled: boolean;
  /** By user id; this user is not in it. */
  readonly members: ReadonlyMap<string, MemberReceipt>;
}

/** Where a message of this user stands with the other members of a small room. */
export type DeliveryState = 'sent' | 'delivered' | 'read';

/** The state of message `seq`: delivered or read once every other member's devices did. */
export function deliveryState(receipts: RoomReceipts | null, seq: number): DeliveryState {
  if (!receipts?.enabled || receipts.members.size === 0) return 'sent';
  const others = [...receipts.members.values()];
  if (others.every((member) => member.read >= seq)) return 'read';
  if (others.every((member) => member.delivered >= seq)) return 'delivered';
  return 'sent';
}

export interface ReceiptTransport {
  receipt(room: string, positions: { delivered?: number; read?: number }): Promise<unknown>;
  receipts(room: string): Promise<{ enabled: boolean; receipts: MemberReceipt[] }>;
}

/** Reports of one room waiting to go out at most this often. */
export const REPORT_DELAY_MS = 1_000;

interface Positions {
  delivered: number;
  read: number;
}

export class Receipts {
  private readonly rooms = new Map<string, RoomReceipts>();
  private readonly wanted = new Map<string, Positions>();
  private readonly reported = new Map<string, Positions>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  /** Whether this user shares how far they read (delivery is always shared). */
  sendRead = true;

  constructor(
    private readonly transport: ReceiptTransport,
    private readonly changed: (room: string) => void,
    private readonly report: (error: unknown) => void,
  ) {}

  of(room: string): RoomReceipts | null {
    return this.rooms.get(room) ?? null;
  }

  /** Ask the server for a room's receipts (when it is shown, and after a reconnect). */
  async refresh(room: string): Promise<void> {
    const { enabled, receipts } = await this.transport.receipts(room);
    if (this.closed) return;
    this.rooms.set(room, {
      enabled,
      members: new Map(receipts.map((receipt) => [receipt.user, receipt])),
    });
    this.changed(room);
  }

  /** Another member's receipt moved (a push). */
  received(room: string, receipt: MemberReceipt): void {
    const known = this.rooms.get(room);
    if (known && !known.enabled) return;
    const members = new Map(known?.members);
    members.set(receipt.user, receipt);
    this.rooms.set(room, { enabled: true, members });
    this.changed(room);
  }

  /** This device holds the room up to `seq`. */
  delivered(room: string, seq: number): void {
    this.want(room, { delivered: seq, read: 0 });
  }

  /** This user read the room up to `seq`. */
  read(room: string, seq: number): void {
    this.want(room, { delivered: seq, read: seq });
  }

  /** Send what waits now (the connection came back). */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const [room, wanted] of this.wanted) {
      const sent = this.reported.get(room) ?? { delivered: 0, read: 0 };
      const read = this.sendRead && wanted.read > sent.read ? wanted.read : undefined;
      const delivered = wanted.delivered > sent.delivered ? wanted.delivered : undefined;
      this.wanted.delete(room);
      if (read === undefined && delivered === undefined) continue;
      const next = { delivered: delivered ?? sent.delivered, read: read ?? sent.read };
      this.reported.set(room, next);
      this.transport
        .receipt(room, {
          ...(delivered === undefined ? {} : { delivered }),
          ...(read === undefined ? {} : { read }),
        })
        .catch((error: unknown) => {
          const { code } = asChatError(error);
          if (code === 'CHAT_ERR_NOT_FOUND') return; // no longer this user's room
          // Not sent: forget that it was, so the next change or reconnect sends it again.
          if (this.reported.get(room) === next) this.reported.set(room, sent);
          this.want(room, wanted, false);
          if (code !== 'CHAT_ERR_UNAVAILABLE' && code !== 'CHAT_ERR_RATE_LIMITED')
            this.report(error);
        });
    }
  }

  forget(room: string): void {
    this.rooms.delete(room);
    this.wanted.delete(room);
    this.reported.delete(room);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private want(room: string, positions: Positions, schedule = true): void {
    if (this.closed) return;
    const before = this.wanted.get(room) ?? { delivered: 0, read: 0 };
    this.wanted.set(room, {
      delivered: Math.max(before.delivered, positions.delivered),
      read: Math.max(before.read, positions.read),
    });
    if (schedule && this.timer === null)
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, REPORT_DELAY_MS);
  }
}
