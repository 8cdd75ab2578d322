/**
 * Files chosen to send in one room: picked, dropped or pasted, checked against the server's
 * policy (size, types) at once, then sealed and uploaded one by one when the message is sent,
 * each with its progress. A refused file stays as a chip with the reason until removed.
 */
import { ChatError, type Conversations, type ServerInfo } from '@securechat/sdk';
import { useCallback, useEffect, useRef, useState } from 'react';
import { client } from '../../sdk/client';
import { t } from '../../strings';
import { errorMessage } from '../../ui/errors';
import { formatSize } from './format';

export interface Attachment {
  readonly id: number;
  readonly file: File;
  /** 0–1 while it is being sent; null before. */
  readonly progress: number | null;
  /** Why it can't be (or wasn't) sent. */
  readonly error: string | null;
}

type Policy = Pick<ServerInfo['limits'], 'fileMaxBytes' | 'fileTypes'>;

let policy: Promise<Policy | null> | null = null;
/** The server's file policy, asked once per tab (null: the server will say). */
const filePolicy = () =>
  (policy ??= client.serverInfo().then(
    (info) => info.limits,
    () => null,
  ));

const extensionOf = (name: string) => {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
};

/** Why the server would refuse this file, or null. */
function refusal(file: File, rules: Policy | null): string | null {
  if (file.size === 0) return t.conversation.files.empty(file.name);
  if (!rules) return null;
  const type = extensionOf(file.name);
  if (!rules.fileTypes.includes(type))
    return t.conversation.files.typeRefused(file.name, type, rules.fileTypes.join(', '));
  if (file.size > rules.fileMaxBytes)
    return t.conversation.files.tooBig(file.name, formatSize(rules.fileMaxBytes));
  return null;
}

let nextId = 1;

export function useAttachments(conversations: Conversations | null, roomId: string) {
  const [items, setItems] = useState<readonly Attachment[]>([]);
  const [rules, setRules] = useState<Policy | null>(null);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    void filePolicy().then((p) => alive.current && setRules(p));
    return () => {
      alive.current = false;
    };
  }, []);

  const update = useCallback((id: number, change: Partial<Attachment>) => {
    if (alive.current) setItems((list) => list.map((a) => (a.id === id ? { ...a, ...change } : a)));
  }, []);

  const add = useCallback(
    (files: Iterable<File>) => {
      const added = [...files].map((file) => ({
        id: nextId++,
        file,
        progress: null,
        error: refusal(file, rules),
      }));
      if (added.length > 0) setItems((list) => [...list, ...added]);
    },
    [rules],
  );

  const remove = useCallback((id: number) => {
    setItems((list) => list.filter((a) => a.id !== id || a.progress !== null));
  }, []);

  /** Send every sendable file (the first with `caption`); resolves when all are done. */
  const sendAll = useCallback(
    async (caption: string) => {
      if (!conversations) return;
      const ready = items.filter((a) => a.error === null && a.progress === null);
      let text = caption;
      for (const attachment of ready) {
        update(attachment.id, { progress: 0 });
        try {
          await conversations.sendFile(
            roomId,
            { name: attachment.file.name, data: attachment.file },
            { text, onProgress: (progress) => update(attachment.id, { progress }) },
          );
          text = '';
          if (alive.current) setItems((list) => list.filter((a) => a.id !== attachment.id));
        } catch (reason) {
          update(attachment.id, {
            progress: null,
            error: reason instanceof ChatError ? errorMessage(reason) : t.errors.generic,
          });
        }
      }
    },
    [conversations, items, roomId, update],
  );

  const sendable = items.some((a) => a.error === null && a.progress === null);
  const busy = items.some((a) => a.progress !== null);
  return { items, add, remove, sendAll, sendable, busy };
}
