/**
 * What a message's payload says, and how it is written. The server sees payloads as opaque
 * bytes; for now they are UTF-8 JSON `{"text": "..."}`. End-to-end encryption replaces exactly
 * this module: everything else in the app deals in `MessageBody`, never in bytes.
 */

/** What a person wrote. */
export interface MessageBody {
  text: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeMessage(body: MessageBody): Uint8Array {
  return encoder.encode(JSON.stringify({ text: body.text }));
}

/** The body of a payload, or null when it can't be read (malformed, or from a newer client). */
export function decodeMessage(payload: Uint8Array): MessageBody | null {
  try {
    const value: unknown = JSON.parse(decoder.decode(payload));
    if (typeof value !== 'object' || value === null) return null;
    const text = (value as { text?: unknown }).text;
    return typeof text === 'string' ? { text } : null;
  } catch {
    return null;
  }
}
