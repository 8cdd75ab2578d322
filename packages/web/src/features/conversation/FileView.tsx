/**
 * A message's file. Images (png, jpeg, gif by their bytes, never SVG or HTML) are decrypted
 * and shown inline from an object URL; everything else is decrypted only when asked, and
 * saved under the sanitized name the sdk gives it (its extension matching the real type).
 */
import type { Conversations, FileRef } from '@securechat/sdk';
import { ChatError } from '@securechat/sdk';
import { useEffect, useState } from 'react';
import { t } from '../../strings';
import { Button } from '../../ui/Button';
import { Icon } from '../../ui/Icon';
import { formatSize } from './format';

/** Declared types worth fetching for a preview; the bytes still decide. */
const IMAGE_TYPES = new Set(['png', 'jpg', 'jpeg', 'gif']);

function failure(reason: unknown): string {
  if (reason instanceof ChatError && reason.code === 'CHAT_ERR_NOT_FOUND')
    return t.conversation.files.gone;
  return t.conversation.files.damaged;
}

/** Save bytes under a name, through a short-lived object URL. */
function save(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(
    new Blob([new Uint8Array(bytes)], { type: 'application/octet-stream' }),
  );
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function FileView({
  conversations,
  room,
  file,
}: {
  conversations: Conversations | null;
  room: string;
  file: FileRef;
}) {
  const [preview, setPreview] = useState<{ url: string; name: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const image = IMAGE_TYPES.has(file.fileType);

  useEffect(() => {
    if (!image || !conversations) return;
    let url: string | null = null;
    let cancelled = false;
    conversations.openFile(room, file).then(
      (opened) => {
        if (cancelled || !opened.previewable) return;
        url = URL.createObjectURL(new Blob([new Uint8Array(opened.bytes)], { type: opened.mime }));
        setPreview({ url, name: opened.name });
      },
      (reason: unknown) => !cancelled && setError(failure(reason)),
    );
    return () => {
      cancelled = true;
      if (url) URL.revokeObjectURL(url);
    };
  }, [conversations, room, file, image]);

  async function download() {
    if (!conversations) return;
    setBusy(true);
    setError(null);
    try {
      const opened = await conversations.openFile(room, file);
      save(opened.bytes, opened.name);
    } catch (reason) {
      setError(failure(reason));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="msg-file">
      {preview ? (
        <img
          className="msg-file-preview"
          src={preview.url}
          alt={t.conversation.files.preview(preview.name)}
        />
      ) : image && error === null ? (
        <p className="msg-file-opening muted small" role="status">
          <span className="spinner" aria-hidden="true" /> {t.conversation.files.opening}
        </p>
      ) : null}
      <div className="msg-file-row">
        <Icon name="file" />
        <span className="msg-file-name">{file.name}</span>
        <span className="msg-file-size">{formatSize(file.size)}</span>
        <Button
          variant="ghost"
          className="small"
          busy={busy}
          aria-label={t.conversation.files.downloadLabel(file.name)}
          onClick={() => void download()}
        >
          {t.conversation.files.download}
        </Button>
      </div>
      {error ? (
        <p className="msg-file-error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}
