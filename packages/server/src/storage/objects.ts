/**
 * Where files' ciphertext lives: a folder in DATA_DIR (one node), or an S3-compatible bucket
 * (several nodes share it). Keys are the files' random ids; the rows that say whose they are
 * live in the database (table `files`). An object is written whole or not at all.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3Config } from '../config.js';

export interface ObjectStore {
  readonly kind: 'folder' | 's3';
  /** Store `data` under `key`, whole or not at all. */
  put(key: string, data: Uint8Array): Promise<void>;
  /** The bytes under `key`, or null when there are none. */
  get(key: string): Promise<Uint8Array | null>;
  /** Remove `key`; removing what is not there is not an error. */
  delete(key: string): Promise<void>;
  close(): void;
}

/** Keys are ids (letters, digits, - and _): never a path. */
function checkKey(key: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(key)) throw new Error(`not an object key: ${key}`);
  return key;
}

/** A folder: each object one file, written to a temporary name and renamed into place. */
export function folderObjectStore(folder: string): ObjectStore {
  let made: Promise<unknown> | null = null;
  const ready = () => (made ??= mkdir(folder, { recursive: true, mode: 0o700 }));
  return {
    kind: 'folder',
    async put(key, data) {
      await ready();
      const path = join(folder, checkKey(key));
      const partial = `${path}.${randomBytes(6).toString('hex')}.partial`;
      try {
        await writeFile(partial, data, { mode: 0o600, flag: 'wx' });
        await rename(partial, path);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
    },
    async get(key) {
      try {
        return new Uint8Array(await readFile(join(folder, checkKey(key))));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async delete(key) {
      await rm(join(folder, checkKey(key)), { force: true });
    },
    close() {},
  };
}

/** An S3-compatible bucket (a PUT is atomic there: an object is whole or absent). */
export function s3ObjectStore(config: S3Config): ObjectStore {
  const client = new S3Client({
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    // Checksums only where S3 requires them: every S3-compatible store understands that.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.accessKeyId && config.secretAccessKey
      ? {
          credentials: {
            accessKeyId: config.accessKeyId,
            secretAccessKey: config.secretAccessKey,
          },
        }
      : {}),
  });
  const { bucket } = config;
  return {
    kind: 's3',
    async put(key, data) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: checkKey(key),
          Body: data,
          ContentLength: data.byteLength,
          ContentType: 'application/octet-stream',
        }),
      );
    },
    async get(key) {
      try {
        const answer = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: checkKey(key) }),
        );
        if (!answer.Body) return null;
        return await answer.Body.transformToByteArray();
      } catch (error) {
        if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey')
          return null;
        throw error;
      }
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: checkKey(key) }));
    },
    close() {
      client.destroy();
    },
  };
}

/** The store the configuration names: S3 when configured, else `files/` in the data folder. */
export function openObjectStore(dataDir: string, s3: S3Config | null): ObjectStore {
  return s3 ? s3ObjectStore(s3) : folderObjectStore(join(dataDir, 'files'));
}
