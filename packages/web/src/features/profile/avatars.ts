/**
 * Members' avatars as object URLs of their decrypted bytes, opened once per avatar file and
 * kept for the page's life (a few KB each). Only PNG and JPEG, checked by their bytes.
 */
import type { Conversations, PersonProfile } from '@securechat/sdk';
import { useEffect, useSyncExternalStore } from 'react';

const urls = new Map<string, string | null>();
const loading = new Set<string>();
const listeners = new Set<() => void>();

function load(conversations: Conversations, room: string, avatar: PersonProfile['avatar']) {
  if (!avatar || urls.has(avatar.blob) || loading.has(avatar.blob)) return;
  loading.add(avatar.blob);
  void conversations
    .openFile(room, avatar)
    .then(
      (opened) =>
        opened.previewable && opened.type !== 'gif'
          ? URL.createObjectURL(new Blob([opened.bytes.slice()], { type: opened.mime }))
          : null,
      () => null,
    )
    .then((url) => {
      loading.delete(avatar.blob);
      urls.set(avatar.blob, url);
      for (const listener of listeners) listener();
    });
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** A member's display name and the object URL of their avatar (null: none, or not yet). */
export function usePerson(
  conversations: Conversations | null,
  user: string | null | undefined,
): { name: string | null; avatar: string | null } {
  const person = user ? (conversations?.person(user) ?? null) : null;
  const blob = person?.profile.avatar?.blob ?? null;
  const avatar = useSyncExternalStore(subscribe, () => (blob ? (urls.get(blob) ?? null) : null));
  useEffect(() => {
    if (conversations && person) load(conversations, person.room, person.profile.avatar);
  }, [conversations, person]);
  return { name: person?.profile.name ?? null, avatar };
}
