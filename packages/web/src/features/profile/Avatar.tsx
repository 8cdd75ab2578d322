import type { Conversations } from '@securechat/sdk';
import type { ReactNode } from 'react';
import { usePerson } from './avatars';

/**
 * A member's avatar: the picture they shared (decrypted here), else the first letter of
 * their name. Decorative: their name is always written next to it.
 */
export function Avatar({
  conversations,
  user,
  name,
  className,
  children,
}: {
  conversations: Conversations | null;
  user: string | null | undefined;
  /** What the initial is taken from when there is no picture. */
  name: string;
  className: string;
  /** Drawn over it (a presence dot). */
  children?: ReactNode;
}) {
  const { avatar } = usePerson(conversations, user);
  return (
    <span className={`avatar ${className}`} aria-hidden="true">
      {avatar ? <img src={avatar} alt="" /> : name.slice(0, 1).toUpperCase()}
      {children}
    </span>
  );
}
