/**
 * A received file's real type, by its bytes (never by its name or the sender's claim), and
 * the name it is saved under. Only png, jpeg and gif are ever previewed inline; SVG, HTML and
 * everything else are only downloaded, with a sanitized name whose extension is the real type.
 */

/** Types recognised by their signatures, and the extension a download gets. */
export type RealType = 'png' | 'jpeg' | 'gif' | 'pdf' | 'zip' | 'doc' | 'txt';

/** Real types shown inline as images (by an object URL of the decrypted bytes). */
const PREVIEWABLE: ReadonlySet<RealType> = new Set(['png', 'jpeg', 'gif']);

const MIME: Record<RealType, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  pdf: 'application/pdf',
  zip: 'application/zip',
  doc: 'application/msword',
  txt: 'text/plain',
};

/** Declared extensions each real type may carry (docx is a zip; jpg is jpeg). */
const EXTENSIONS: Record<RealType, readonly string[]> = {
  png: ['png'],
  jpeg: ['jpg', 'jpeg'],
  gif: ['gif'],
  pdf: ['pdf'],
  zip: ['zip', 'docx'],
  doc: ['doc'],
  txt: ['txt'],
};

const startsWith = (bytes: Uint8Array, signature: readonly number[], at = 0) =>
  bytes.byteLength >= at + signature.length && signature.every((b, i) => bytes[at + i] === b);

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/** Plain text: valid UTF-8 with no control characters but tab, newline, carriage return. */
function isText(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return false;
  }
  // eslint-disable-next-line no-control-regex -- exactly the control characters are refused
  return !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(text);
}

/** The real type of `bytes` by their signature, or null when none of ours matches. */
export function detectType(bytes: Uint8Array): RealType | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'gif';
  if (startsWith(bytes, ascii('%PDF-'))) return 'pdf';
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06]))
    return 'zip';
  if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return 'doc';
  if (isText(bytes)) return 'txt';
  return null;
}

/** Whether a file of this real type may be previewed inline. */
export const isPreviewable = (type: RealType | null): type is 'png' | 'jpeg' | 'gif' =>
  type !== null && PREVIEWABLE.has(type);

/** The MIME type a download or preview of this real type is labelled with. */
export const mimeOf = (type: RealType | null): string =>
  type === null ? 'application/octet-stream' : MIME[type];

/** The extension of a name (lower case, without the dot), or '' when it has none. */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

const NAME_MAX = 120;

/**
 * A name safe to save a received file under: no path (either slash), no control or
 * bidirectional-override characters, no leading dots, trimmed, and an extension that matches
 * the real type (the declared one when it fits, else the real type's; `.bin` when unknown).
 */
export function safeFileName(name: string, real: RealType | null): string {
  const base = (name.split(/[/\\]/).pop() ?? '')
    .normalize('NFC')
    // Controls, and the bidirectional marks, embeddings, overrides and isolates.
    // eslint-disable-next-line no-control-regex -- exactly these characters are removed
    .replace(/[\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g, '')
    .replace(/[<>:"|?*]/g, '_')
    .trim()
    .replace(/^\.+/, '');
  const declared = extensionOf(base);
  const allowed = real === null ? [] : EXTENSIONS[real];
  const keep = allowed.includes(declared);
  let stem = declared !== '' ? base.slice(0, base.length - declared.length - 1) : base;
  stem = stem.replace(/[. ]+$/, '').slice(0, NAME_MAX) || 'file';
  const extension = keep ? declared : real === null ? 'bin' : (allowed[0] ?? 'bin');
  return `${stem}.${extension}`;
}
