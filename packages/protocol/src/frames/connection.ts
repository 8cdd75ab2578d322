/** Frames about the connection itself: liveness, the empty answer and the error answer. */
import { Type, type Static } from '@sinclair/typebox';
import { ERROR_CODES } from '../errors.js';
import { Epoch, Millis, RequestId, V, reply, req, strict } from './common.js';

export const PingFrame = req('ping', {});

export const OkFrame = reply('ok', {});
export const PongFrame = reply('pong', { at: Millis });
export const ErrorFrame = Type.Object(
  {
    v: V,
    t: Type.Literal('error'),
    /** The request this answers; null when the frame was too broken to have a readable id. */
    id: Type.Union([RequestId, Type.Null()]),
    code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c))),
    message: Type.String(),
    retryAfter: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Which field of the request was wrong, when one was (CHAT_ERR_VALIDATION, …). */
    field: Type.Optional(Type.String({ maxLength: 64 })),
    /** With CHAT_ERR_STALE_EPOCH: the room's current epoch. */
    epoch: Type.Optional(Epoch),
  },
  strict,
);
export type ErrorFrame = Static<typeof ErrorFrame>;
