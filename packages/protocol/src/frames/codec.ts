/**
 * The binary codec for WebSocket frames: MessagePack (@msgpack/msgpack, see
 * docs/decisions/0006-frame-codec.md), checked against the frame schemas.
 *
 * Decoding never throws: malformed, oversized, unknown or ill-typed input becomes a
 * `{ ok: false }` result with an error code, and the request id when one could be read, so
 * the gateway can answer with an error frame and carry on.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { ErrorCatalogue, type ErrorCode } from '../errors.js';
import { Limits } from '../limits.js';
import { FRAME_VERSION } from './common.js';
import type { ErrorFrame } from './connection.js';
import { CLIENT_FRAMES, SERVER_FRAMES, type ClientFrame, type ServerFrame } from './registry.js';

const encoder = new Encoder({ ignoreUndefined: true });
// Bounds on every decoded container: a small frame can't claim a huge string or array.
const decoder = new Decoder({
  maxStrLength: Limits.FRAME_MAX_BYTES,
  maxBinLength: Limits.FRAME_MAX_BYTES,
  maxArrayLength: Limits.RESUME_PAGE_MAX * 2,
  maxMapLength: 64,
  maxExtLength: 0,
});

/**
 * A schema check, compiled on first use where the runtime allows code generation (Node);
 * interpreted in browsers, whose page CSP forbids eval (no 'unsafe-eval', by design).
 */
function checker<S extends TSchema>(schema: S): { Check(value: unknown): value is Static<S> } {
  let check: ((value: unknown) => boolean) | null = null;
  return {
    Check(value: unknown): value is Static<S> {
      if (check === null) {
        const browser = typeof (globalThis as { document?: unknown }).document !== 'undefined';
        try {
          if (browser) throw new Error('no code generation in pages');
          const compiled = TypeCompiler.Compile(schema);
          check = (v) => compiled.Check(v);
        } catch {
          check = (v) => Value.Check(schema, v);
        }
      }
      return check(value);
    },
  };
}

type Checker<T> = { Check(value: unknown): value is T };
/** One checker per frame type: a frame is checked against its own schema only. */
function checkers<T>(schemas: Record<string, TSchema>): Map<string, Checker<T>> {
  return new Map(
    Object.entries(schemas).map(([t, schema]) => [t, checker(schema) as unknown as Checker<T>]),
  );
}
const clientChecks = checkers<ClientFrame>(CLIENT_FRAMES);
const serverChecks = checkers<ServerFrame>(SERVER_FRAMES);

export type Decoded<T> =
  { ok: true; frame: T } | { ok: false; code: ErrorCode; message: string; id: number | null };

export function encodeFrame(frame: ClientFrame | ServerFrame): Uint8Array {
  return encoder.encode(frame);
}

function fail<T>(code: ErrorCode, id: number | null, message?: string): Decoded<T> {
  return { ok: false, code, message: message ?? ErrorCatalogue[code].message, id };
}

function readableId(value: unknown): number | null {
  if (typeof value !== 'object' || value === null) return null;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'number' && Number.isInteger(id) && id >= 1 && id < 2 ** 31 ? id : null;
}

function decodeWith<T>(
  bytes: Uint8Array,
  checks: Map<string, Checker<T>>,
  maxBytes: number,
): Decoded<T> {
  if (bytes.byteLength > maxBytes) return fail('CHAT_ERR_FRAME_TOO_LARGE', null);
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch {
    return fail('CHAT_ERR_FRAME_MALFORMED', null);
  }
  const id = readableId(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('CHAT_ERR_FRAME_MALFORMED', null);
  }
  const { v, t } = value as { v?: unknown; t?: unknown };
  if (v !== FRAME_VERSION) return fail('CHAT_ERR_PROTOCOL_VERSION', id);
  const check = typeof t === 'string' ? checks.get(t) : undefined;
  if (check === undefined) {
    return fail(
      'CHAT_ERR_FRAME_MALFORMED',
      id,
      `Unknown frame type ${JSON.stringify(String(t)).slice(0, 40)}.`,
    );
  }
  if (!check.Check(value)) return fail('CHAT_ERR_FRAME_MALFORMED', id);
  return { ok: true, frame: value };
}

/** Decode what a client sent. Never throws. */
export function decodeClientFrame(bytes: Uint8Array): Decoded<ClientFrame> {
  return decodeWith(bytes, clientChecks, Limits.FRAME_MAX_BYTES);
}

/** Decode what the server sent (the sdk's side). Never throws. */
export function decodeServerFrame(bytes: Uint8Array): Decoded<ServerFrame> {
  return decodeWith(bytes, serverChecks, Limits.SERVER_FRAME_MAX_BYTES);
}

/** The error frame that answers a failed decode. */
export function errorFrameFor(failure: {
  code: ErrorCode;
  message: string;
  id: number | null;
}): ErrorFrame {
  return {
    v: FRAME_VERSION,
    t: 'error',
    id: failure.id,
    code: failure.code,
    message: failure.message,
  };
}
