/**
 * Blobs over HTTP (protocol: http/blobs.ts): bytes bigger than a frame, uploaded into a room
 * for its members. Rides on the HttpTransport for the CSRF token and, outside browsers, the
 * cookies and Origin; the bodies are raw bytes, not JSON. Sizes are checked before sending.
 */
import {
  ApiRoutes,
  BLOB_CONTENT_TYPE,
  blobPath,
  BlobUploadResponse,
  ChatError,
  CSRF_HEADER,
  CsrfResponse,
  ErrorResponse,
  FILE_CONTENT_TYPE,
  filePath,
  FileUploadResponse,
  Limits,
} from '@securechat/protocol';
import { Value } from '@sinclair/typebox/value';
import type { HttpTransport } from './http.js';

export interface BlobTransportOptions {
  /** The server's origin, without a trailing slash; '' for the page's own origin. */
  baseUrl: string;
  fetch: typeof fetch;
}

export class BlobTransport {
  constructor(
    private readonly http: HttpTransport,
    private readonly options: BlobTransportOptions,
  ) {}

  /** Upload bytes into a room you are in; answers the blob's id and when it expires. */
  async uploadBlob(room: string, bytes: Uint8Array): Promise<BlobUploadResponse> {
    if (bytes.byteLength === 0)
      throw new ChatError('CHAT_ERR_VALIDATION', 'A blob cannot be empty.');
    if (bytes.byteLength > Limits.BLOB_MAX_BYTES) {
      throw new ChatError(
        'CHAT_ERR_PAYLOAD_TOO_LARGE',
        `A blob may be at most ${Limits.BLOB_MAX_BYTES / (1024 * 1024)} MiB.`,
      );
    }
    for (let attempt = 0; ; attempt += 1) {
      const { token } = await this.http.get(ApiRoutes.csrf, CsrfResponse);
      const response = await this.send(blobPath(room), {
        method: 'PUT',
        headers: {
          ...(await this.http.socketHeaders()),
          accept: 'application/json',
          'content-type': BLOB_CONTENT_TYPE,
          [CSRF_HEADER]: token,
        },
        // A copy that owns its whole buffer, as fetch's BodyInit types demand.
        body: new Uint8Array(bytes),
      });
      if (response.ok) {
        const data: unknown = await response.json().catch(() => null);
        if (!Value.Check(BlobUploadResponse, data)) throw notUnderstood();
        return data;
      }
      const error = await errorOf(response);
      // The CSRF secret may have changed between the token and the upload: once more.
      if (error.code === 'CHAT_ERR_CSRF' && attempt === 0) continue;
      throw error;
    }
  }

  /** The bytes of a blob of a room you are in (CHAT_ERR_NOT_FOUND otherwise, or once expired). */
  async downloadBlob(room: string, id: string): Promise<Uint8Array> {
    const response = await this.send(blobPath(room, id), {
      method: 'GET',
      headers: { ...(await this.http.socketHeaders()), accept: BLOB_CONTENT_TYPE },
    });
    if (!response.ok) throw await errorOf(response);
    return new Uint8Array(await response.arrayBuffer());
  }

  /**
   * Upload a sealed file (ciphertext) into a room you are in, declaring its type (extension).
   * `onProgress(sent, total)` reports bytes sent: as they go in browsers (XMLHttpRequest
   * reports upload progress, fetch does not), at the end elsewhere.
   */
  async uploadFile(
    room: string,
    type: string,
    ciphertext: Uint8Array,
    onProgress?: (sent: number, total: number) => void,
  ): Promise<FileUploadResponse> {
    const url = `${filePath(room)}?type=${encodeURIComponent(type)}`;
    for (let attempt = 0; ; attempt += 1) {
      const { token } = await this.http.get(ApiRoutes.csrf, CsrfResponse);
      const headers = {
        ...(await this.http.socketHeaders()),
        accept: 'application/json',
        'content-type': FILE_CONTENT_TYPE,
        [CSRF_HEADER]: token,
      };
      const body = new Uint8Array(ciphertext);
      const response =
        onProgress && this.options.baseUrl === '' && typeof XMLHttpRequest !== 'undefined'
          ? await xhrPut(url, headers, body, onProgress)
          : await this.send(url, { method: 'PUT', headers, body });
      if (response.ok) {
        const data: unknown = await response.json().catch(() => null);
        if (!Value.Check(FileUploadResponse, data)) throw notUnderstood();
        onProgress?.(ciphertext.byteLength, ciphertext.byteLength);
        return data;
      }
      const error = await errorOf(response);
      if (error.code === 'CHAT_ERR_CSRF' && attempt === 0) continue;
      throw error;
    }
  }

  /** A file's ciphertext, from a room you are in (CHAT_ERR_NOT_FOUND otherwise). */
  async downloadFile(room: string, id: string): Promise<Uint8Array> {
    const response = await this.send(filePath(room, id), {
      method: 'GET',
      headers: { ...(await this.http.socketHeaders()), accept: FILE_CONTENT_TYPE },
    });
    if (!response.ok) throw await errorOf(response);
    return new Uint8Array(await response.arrayBuffer());
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.options.fetch(`${this.options.baseUrl}${path}`, {
        ...init,
        credentials: 'same-origin',
        redirect: 'error',
      });
    } catch {
      throw new ChatError(
        'CHAT_ERR_UNAVAILABLE',
        'The server cannot be reached. Check your connection.',
      );
    }
  }
}

/** A same-origin PUT through XMLHttpRequest, for its upload progress; answers a Response. */
function xhrPut(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array<ArrayBuffer>,
  onProgress: (sent: number, total: number) => void,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.onload = () =>
      resolve(
        new Response(xhr.responseText, {
          status: xhr.status,
          headers: { 'content-type': xhr.getResponseHeader('content-type') ?? '' },
        }),
      );
    xhr.onerror = () =>
      reject(
        new ChatError(
          'CHAT_ERR_UNAVAILABLE',
          'The server cannot be reached. Check your connection.',
        ),
      );
    xhr.send(body);
  });
}

const notUnderstood = () =>
  new ChatError('CHAT_ERR_INTERNAL', 'The server sent an answer this app does not understand.');

/** The ChatError an unsuccessful response stands for. */
async function errorOf(response: Response): Promise<ChatError> {
  const data: unknown = await response.json().catch(() => null);
  if (Value.Check(ErrorResponse, data)) {
    return new ChatError(
      data.code,
      data.message,
      data.retryAfter === undefined ? {} : { retryAfter: data.retryAfter },
    );
  }
  if (response.status >= 500) return new ChatError('CHAT_ERR_UNAVAILABLE');
  return notUnderstood();
}
