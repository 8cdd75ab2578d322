/**
 * A real S3-compatible server for tests: s3rver, in this process, on a free port, keeping its
 * objects in a temporary folder, with one bucket made for the test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { freePort } from '../../../../test-support/net.js';

export interface TestS3 {
  /** The S3_* variables that point the server at it. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startTestS3(bucket = 'securechat-files'): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'securechat-s3-'));
  const port = await freePort();
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  await server.run();
  return {
    env: {
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      // s3rver's fixed test credentials.
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    },
    close: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
