/**
 * Files: the per-file encryption (round trips at every chunk boundary; a changed, reordered,
 * dropped or extra chunk, a wrong key and a wrong hash all refused), real types by their
 * bytes, safe names, the content codec; and a file sent end to end through the real server
 * (encrypted in one client, opened in another, never readable by the server), on both dialects.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Limits, sealedFileBytes } from '@securechat/protocol';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/until.js';
import { describeEachDialect } from '../../server/test/support/harness.js';
import { decodeContent, encodeContent } from '../src/conversations/codec.js';
import type { FileContent } from '../src/conversations/content.js';
import { openFile, sealFile } from '../src/files/seal.js';
import { detectType, safeFileName } from '../src/files/types.js';
import type { FileRef } from '../src/index.js';
import { liveServer } from './support/live.js';

const CHUNK = Limits.FILE_CHUNK_BYTES;
const TAG = Limits.FILE_CHUNK_TAG_BYTES;

/** Byte equality without a deep, element-by-element diff of big arrays. */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

const refused = (work: () => Promise<unknown>) =>
  expect(work()).rejects.toMatchObject({ code: 'CHAT_ERR_VALIDATION' });

describe('file encryption', () => {
  it('round-trips files of every shape, under a fresh key each time', async () => {
    for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 77]) {
      const plain = new Uint8Array(randomBytes(size));
      const sealed = await sealFile(plain);
      expect(sealed.ciphertext.byteLength).toBe(sealedFileBytes(size));
      expect(sealed.size).toBe(size);
      expect(same(await openFile(sealed.ciphertext, sealed.key, sealed.hash, size), plain)).toBe(
        true,
      );
    }
    const zeros = new Uint8Array(100);
    const [a, b] = [await sealFile(zeros), await sealFile(zeros)];
    expect(same(a.key, b.key)).toBe(false);
    expect(same(a.ciphertext, b.ciphertext)).toBe(false);
    expect(same(a.hash, b.hash)).toBe(true);
  });

  it('reads a Blob chunk by chunk and reports its progress', async () => {
    const plain = new Uint8Array(randomBytes(2 * CHUNK + 5));
    const seen: number[] = [];
    const sealed = await sealFile(new Blob([plain]), (done) => seen.push(done));
    expect(seen).toEqual([CHUNK, 2 * CHUNK, 2 * CHUNK + 5]);
    expect(same(await openFile(sealed.ciphertext, sealed.key, sealed.hash), plain)).toBe(true);
  });

  it('refuses a changed byte in any chunk', async () => {
    const sealed = await sealFile(new Uint8Array(randomBytes(2 * CHUNK + 10)));
    for (const at of [0, CHUNK + TAG + 3, sealed.ciphertext.byteLength - 1]) {
      const tampered = sealed.ciphertext.slice();
      tampered[at] = (tampered[at] ?? 0) ^ 1;
      await refused(() => openFile(tampered, sealed.key, sealed.hash));
    }
  });

  it('refuses a truncated file, even cut at a chunk boundary, and an extended one', async () => {
    const sealed = await sealFile(new Uint8Array(randomBytes(3 * CHUNK)));
    const { ciphertext, key, hash } = sealed;
    // Whole chunks dropped from the end: the new last chunk was not sealed as the last.
    await refused(() => openFile(ciphertext.subarray(0, 2 * (CHUNK + TAG)), key, hash));
    await refused(() => openFile(ciphertext.subarray(0, CHUNK + TAG), key, hash));
    await refused(() => openFile(ciphertext.subarray(0, ciphertext.byteLength - 1), key, hash));
    await refused(() => openFile(new Uint8Array(), key, hash));
    const longer = new Uint8Array(ciphertext.byteLength + CHUNK + TAG);
    longer.set(ciphertext);
    await refused(() => openFile(longer, key, hash));
  });

  it('refuses reordered or repeated chunks', async () => {
    const sealed = await sealFile(new Uint8Array(randomBytes(3 * CHUNK)));
    const c = sealed.ciphertext;
    const chunk = (i: number) => c.subarray(i * (CHUNK + TAG), (i + 1) * (CHUNK + TAG));
    const swapped = new Uint8Array(c.byteLength);
    swapped.set(chunk(1), 0);
    swapped.set(chunk(0), CHUNK + TAG);
    swapped.set(chunk(2), 2 * (CHUNK + TAG));
    await refused(() => openFile(swapped, sealed.key, sealed.hash));
    const repeated = c.slice();
    repeated.set(chunk(0), CHUNK + TAG);
    await refused(() => openFile(repeated, sealed.key, sealed.hash));
  });

  it('refuses a wrong key, a wrong hash and a wrong size', async () => {
    const sealed = await sealFile(new Uint8Array(randomBytes(1000)));
    await refused(() => openFile(sealed.ciphertext, new Uint8Array(randomBytes(32)), sealed.hash));
    const wrongHash = sealed.hash.slice();
    wrongHash[0] = (wrongHash[0] ?? 0) ^ 1;
    await refused(() => openFile(sealed.ciphertext, sealed.key, wrongHash));
    await refused(() => openFile(sealed.ciphertext, sealed.key, sealed.hash, 999));
    await refused(() => openFile(sealed.ciphertext, sealed.key.subarray(0, 16), sealed.hash));
  });
});

describe('real types and safe names', () => {
  const bytes = (...parts: (number[] | string)[]) =>
    new Uint8Array(
      parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)),
    );

  it('knows the allowed types by their bytes, never by their names', () => {
    expect(detectType(bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe('png');
    expect(detectType(bytes([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(detectType(bytes('GIF89a', [1, 2]))).toBe('gif');
    expect(detectType(bytes('%PDF-1.7\n'))).toBe('pdf');
    expect(detectType(bytes('PK', [3, 4, 20]))).toBe('zip');
    expect(detectType(bytes([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))).toBe('doc');
    expect(detectType(new TextEncoder().encode('héllo\n\tthere'))).toBe('txt');
    // SVG and HTML are text at best: never an image.
    expect(detectType(new TextEncoder().encode('<svg onload="alert(1)"/>'))).toBe('txt');
    expect(detectType(bytes([0, 1, 2, 0xfe]))).toBeNull();
  });

  it('saves under a name with no path, controls or direction tricks, and the real extension', () => {
    expect(safeFileName('report.pdf', 'pdf')).toBe('report.pdf');
    expect(safeFileName('../../etc/passwd.pdf', 'pdf')).toBe('passwd.pdf');
    expect(safeFileName('C:\\Users\\x\\evil.docx', 'zip')).toBe('evil.docx');
    expect(safeFileName('photo.JPG', 'jpeg')).toBe('photo.jpg');
    expect(safeFileName('invoice\u202Efdp.exe', 'pdf')).toBe('invoicefdp.pdf');
    expect(safeFileName('a\u0000b\nc.txt', 'txt')).toBe('abc.txt');
    expect(safeFileName('cat.png', 'jpeg')).toBe('cat.jpg');
    expect(safeFileName('page.html', 'txt')).toBe('page.txt');
    expect(safeFileName('...', null)).toBe('file.bin');
    expect(safeFileName('.hidden.pdf', 'pdf')).toBe('hidden.pdf');
  });
});

describe('file content', () => {
  const file: FileContent = {
    type: 'file',
    blob: 'AAAAAAAAAAAAAAAAAAAAAA',
    name: 'plan.pdf',
    fileType: 'pdf',
    size: 12,
    key: 'k'.repeat(43),
    hash: 'h'.repeat(43),
    text: 'see attached',
  };

  it('round-trips through the codec, and a reader refuses a damaged one', () => {
    expect(decodeContent(encodeContent(file))).toEqual(file);
    expect(() => encodeContent({ ...file, key: 'short' })).toThrow(
      expect.objectContaining({ code: 'CHAT_ERR_VALIDATION' }) as Error,
    );
    expect(() => encodeContent({ ...file, fileType: '../x' })).toThrow();
  });
});

describeEachDialect('files end to end', (dialect) => {
  const live = liveServer(dialect);
  const person = async (name: string) => (await live.person(name)).c;

  it('sends a file encrypted; the other member opens it; the server holds only ciphertext', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const room = await alice.direct('bob');
    await Promise.all([alice.rooms(), bob.rooms()]);
    alice.open(room.id);
    bob.open(room.id);
    const marker = `secret-${Math.random().toString(36).slice(2)}`;
    const pdf = new TextEncoder().encode(`%PDF-1.4\n${marker}\n%%EOF\n`);
    const progress: number[] = [];
    await alice.sendFile(
      room.id,
      { name: 'plans.pdf', data: pdf },
      { text: 'the plans', onProgress: (f) => progress.push(f) },
    );
    expect(progress.at(-1)).toBe(1);

    const fileOf = (): FileRef | null => {
      for (const item of bob.view(room.id).items)
        if (item.type === 'message' && item.file) return item.file;
      return null;
    };
    await until(() => fileOf() !== null, 'bob to see the file');
    const ref = fileOf();
    if (!ref) throw new Error('no file');
    expect(ref).toMatchObject({ name: 'plans.pdf', fileType: 'pdf', size: pdf.byteLength });
    const opened = await bob.openFile(room.id, ref);
    expect(opened).toMatchObject({ type: 'pdf', previewable: false, name: 'plans.pdf' });
    expect(opened.bytes).toEqual(pdf);

    // Neither the words, the name nor the key are anywhere in the server's data.
    const folder = join(live.app.config.dataDir, 'files');
    const stored = await Promise.all(
      (await readdir(folder)).map((name) => readFile(join(folder, name))),
    );
    expect(stored).toHaveLength(1);
    const haystack = Buffer.concat(stored).toString('latin1');
    expect(haystack).not.toContain(marker);
    const events = await live.app.storage.db.selectFrom('events').select('payload').execute();
    const payloads = Buffer.concat(events.map((e) => Buffer.from(e.payload ?? []))).toString(
      'latin1',
    );
    expect(payloads).not.toContain('plans.pdf');
    expect(payloads).not.toContain(ref.key);

    // Alice deletes her message: its file goes with it, for Bob and from the server's folder.
    const seqOf = () => {
      for (const item of alice.view(room.id).items)
        if (item.type === 'message' && item.file) return item.seq;
      return null;
    };
    await until(() => seqOf() !== null, 'alice to see her file message');
    const seq = seqOf() ?? 0;
    const { code } = await alice.requestDelete(room.id, seq);
    await alice.confirmDelete(room.id, seq, code);
    await expect(bob.openFile(room.id, ref)).rejects.toMatchObject({ code: 'CHAT_ERR_NOT_FOUND' });
    await until(async () => (await readdir(folder)).length === 0, 'the file to be collected');
    await until(() => fileOf() === null, 'bob to see the file gone');

    // A disallowed type is refused before anything is sent.
    await expect(
      alice.sendFile(room.id, { name: 'run.exe', data: new Uint8Array([1, 2, 3]) }),
    ).rejects.toMatchObject({ code: 'CHAT_ERR_FILE_TYPE' });
    expect(await readdir(folder)).toHaveLength(0);
  }, 90_000);
});
