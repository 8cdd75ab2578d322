/**
 * Positions and gap filling: every room event reaches the listeners exactly once, in order
 * per room, whatever order pushes and resume pages arrive in.
 *
 * The `Sequencer` keeps the last delivered seq per room (the positions a resume starts
 * from). A pushed event that is next in its room is delivered; one further ahead is held back
 * and a catch-up is asked for; one already delivered is dropped. A resume page is the
 * server's authoritative list of what this user may read after a position, so its events
 * are delivered in order even across seqs the user may no longer read (history visibility).
 * A room this user can no longer read — named `gone` in a resume page, or a notice that this
 * user left or was removed — loses its position (listeners hear `gone`); its `floor` (the
 * last seq seen) is kept so a late event from before is never taken for a new one.
 *
 * `CatchUp` runs resume requests until nothing is held back: one run at a time, run again
 * when a new gap shows up meanwhile, pages followed while `more`, rooms the server refuses as
 * not found found by halving the batch (a server that does not name `gone` rooms yet).
 */
import { ChatError, Limits, type RoomEvent } from '@securechat/protocol';
import type { ReplyOf } from './requests.js';

export type Page = ReplyOf<'page'>;
export interface ResumePosition {
  room: string;
  after: number;
}

/** Events held back per room while a gap is filled; beyond, they are fetched again. */
const HELD_PER_ROOM_MAX = 2000;
/** Catch-up passes in a row that fill nothing before the run gives up (and is retried). */
const IDLE_PASSES_MAX = 3;

/** Whether this event says that `userId` is no longer in its room. */
export function removesUser(event: RoomEvent, userId: string | undefined): boolean {
  if (userId === undefined || event.kind !== 'notice') return false;
  const { notice } = event;
  return (notice.type === 'leave' || notice.type === 'kick') && notice.user === userId;
}

export interface SequencerEvents {
  /** The next event of its room: hand it to the listeners. */
  deliver(event: RoomEvent): void;
  /** A room's position changed (null: dropped). */
  position(room: string, seq: number | null): void;
  /** This user can no longer read the room. */
  gone(room: string): void;
  /** An event arrived ahead of its room's position: missing ones must be fetched. */
  gap(): void;
}

export class Sequencer {
  private readonly held = new Map<string, Map<number, RoomEvent>>();
  private readonly floors = new Map<string, number>();
  /** Events delivered so far (progress, for the catch-up's guard). */
  delivered = 0;

  constructor(
    /** Last delivered seq per room; may be seeded (and read) by the caller. */
    private readonly positions: Map<string, number>,
    private readonly userId: string | undefined,
    private readonly events: SequencerEvents,
  ) {}

  position(room: string): number | undefined {
    return this.positions.get(room);
  }

  /** What a resume asks for: every room with a position. */
  tracked(): ResumePosition[] {
    return [...this.positions].map(([room, after]) => ({ room, after }));
  }

  /** Whether a tracked room holds events back behind a gap. */
  hasGaps(): boolean {
    for (const [room, held] of this.held)
      if (held.size > 0 && this.positions.has(room)) return true;
    return false;
  }

  /** A live event (pushed by the server). */
  push(event: RoomEvent): void {
    let position = this.positions.get(event.room);
    if (position === undefined) {
      const floor = this.floors.get(event.room);
      if (floor === undefined) {
        // The first event of a room this device did not know: it starts here.
        this.deliver(event);
        return;
      }
      if (event.seq <= floor) return;
      // Back in a room it had left: fill in from where it stopped.
      this.floors.delete(event.room);
      this.positions.set(event.room, floor);
      position = floor;
    }
    if (event.seq <= position) return;
    if (event.seq === position + 1) {
      this.deliver(event);
      return;
    }
    let held = this.held.get(event.room);
    if (!held) this.held.set(event.room, (held = new Map<number, RoomEvent>()));
    if (held.size < HELD_PER_ROOM_MAX) held.set(event.seq, event);
    this.events.gap();
  }

  /**
   * An event of a resume page. The page lists, in order, everything this user may read after
   * the position it was asked for, so the event follows the room's position even across a
   * jump in seq.
   */
  fromPage(event: RoomEvent): void {
    const position = this.positions.get(event.room);
    if (position === undefined || event.seq <= position) return;
    this.deliver(event);
  }

  /** The server says this user can no longer read the room. */
  gone(room: string): void {
    this.drop(room, this.positions.get(room));
  }

  /** A send to a room without a position was stored at `seq`: follow the room from there. */
  acked(room: string, seq: number): void {
    if (this.positions.has(room)) return;
    const floor = this.floors.get(room);
    if (floor === undefined) {
      this.positions.set(room, seq - 1);
      return;
    }
    this.floors.delete(room);
    this.positions.set(room, floor);
    if (seq > floor + 1) this.events.gap();
  }

  private deliver(event: RoomEvent): void {
    let next: RoomEvent | undefined = event;
    while (next) {
      const { room, seq }: RoomEvent = next;
      this.positions.set(room, seq);
      this.floors.delete(room);
      const held = this.held.get(room);
      if (held) {
        for (const key of held.keys()) if (key <= seq) held.delete(key);
        if (held.size === 0) this.held.delete(room);
      }
      this.delivered += 1;
      this.events.position(room, seq);
      this.events.deliver(next);
      if (removesUser(next, this.userId)) {
        this.drop(room, seq);
        return;
      }
      // A listener may have changed things (left the room): read the position again.
      const now = this.positions.get(room);
      next = now === undefined ? undefined : this.held.get(room)?.get(now + 1);
    }
  }

  private drop(room: string, floor: number | undefined): void {
    const tracked = this.positions.delete(room);
    this.held.delete(room);
    if (floor !== undefined) this.floors.set(room, Math.max(floor, this.floors.get(room) ?? 0));
    if (!tracked) return;
    this.events.position(room, null);
    this.events.gone(room);
  }
}

/** Asks the server for one resume page. */
export type AskResume = (positions: ResumePosition[]) => Promise<Page>;

export class CatchUp {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly sequencer: Sequencer,
    private readonly ask: AskResume,
  ) {}

  get active(): boolean {
    return this.running !== null;
  }

  /** A new gap showed up: the current run makes one more pass (or the next run starts one). */
  requestAgain(): void {
    this.again = true;
  }

  /** Settles when no run is going (whatever its outcome). */
  idle(): Promise<void> {
    return this.running ? this.running.catch(() => undefined) : Promise.resolve();
  }

  /** Catch up until no tracked room holds events back; rejects with what stopped it. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const running = this.loop().finally(() => {
      if (this.running === running) this.running = null;
    });
    this.running = running;
    return running;
  }

  private async loop(): Promise<void> {
    let idle = 0;
    do {
      this.again = false;
      const before = this.sequencer.delivered;
      await this.pass();
      const stuck = this.sequencer.hasGaps() && this.sequencer.delivered === before;
      idle = stuck ? idle + 1 : 0;
      if (idle >= IDLE_PASSES_MAX) {
        throw new ChatError('CHAT_ERR_INTERNAL', 'The server did not send the missing events.');
      }
    } while (this.again || this.sequencer.hasGaps());
  }

  /** One resume of every tracked room, following `more`. */
  private async pass(): Promise<void> {
    const queue: ResumePosition[][] = chunks(this.sequencer.tracked(), Limits.RESUME_ROOMS_MAX);
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      let page: Page;
      try {
        page = await this.ask(batch);
      } catch (error) {
        if (!(error instanceof ChatError) || error.code !== 'CHAT_ERR_NOT_FOUND') throw error;
        // A server that fails the whole resume for one room this user can't read: find it.
        if (batch.length === 1) this.sequencer.gone(batch[0]!.room);
        else queue.unshift(...halves(batch));
        continue;
      }
      for (const room of page.gone ?? []) this.sequencer.gone(room);
      for (const event of page.events) this.sequencer.fromPage(event);
      if (page.more) {
        if (page.events.length === 0) {
          throw new ChatError('CHAT_ERR_INTERNAL', 'The server said more but sent nothing.');
        }
        const next = this.current(batch);
        if (next.length > 0) queue.unshift(next);
      }
    }
  }

  /** The rooms of `batch` still tracked, at their positions now. */
  private current(batch: ResumePosition[]): ResumePosition[] {
    return batch.flatMap(({ room }) => {
      const after = this.sequencer.position(room);
      return after === undefined ? [] : [{ room, after }];
    });
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function halves<T>(items: T[]): [T[], T[]] {
  const middle = Math.ceil(items.length / 2);
  return [items.slice(0, middle), items.slice(middle)];
}
