import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { useNavigate } from 'react-router';
import { client } from '../../sdk/client';
import { useSession } from '../../session';
import { t } from '../../strings';

interface Item {
  label: string;
  action: () => void;
}

/** The account menu: a menu button with arrow-key navigation, Escape to close. */
export function UserMenu() {
  const { session, setSession } = useSession();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const itemRefs = useRef<(HTMLButtonElement | null)[]>([]);
  const menuId = useId();

  const go = (path: string) => () => void navigate(path);
  const items: Item[] = [
    { label: t.shell.devices, action: go('/devices') },
    { label: t.shell.settings, action: go('/settings') },
    ...(session?.user.role === 'admin' ? [{ label: t.shell.admin, action: go('/admin') }] : []),
    { label: t.shell.about, action: go('/about') },
    {
      label: t.shell.signOut,
      action: () => {
        void client.logout().finally(() => {
          setSession(null);
          void navigate('/login', { replace: true });
        });
      },
    },
  ];

  useEffect(() => {
    if (open) itemRefs.current[active]?.focus();
  }, [open, active]);

  useEffect(() => {
    if (!open) return;
    const onPointer = (event: PointerEvent) => {
      const root = buttonRef.current?.parentElement;
      if (root && !root.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', onPointer);
    return () => document.removeEventListener('pointerdown', onPointer);
  }, [open]);

  function close() {
    setOpen(false);
    buttonRef.current?.focus();
  }

  function onButtonKey(event: KeyboardEvent) {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      setActive(event.key === 'ArrowDown' ? 0 : items.length - 1);
      setOpen(true);
    }
  }

  function onMenuKey(event: KeyboardEvent) {
    const last = items.length - 1;
    if (event.key === 'Escape') {
      event.preventDefault();
      close();
    } else if (event.key === 'ArrowDown') {
      event.preventDefault();
      setActive((i) => (i >= last ? 0 : i + 1));
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      setActive((i) => (i <= 0 ? last : i - 1));
    } else if (event.key === 'Home') {
      event.preventDefault();
      setActive(0);
    } else if (event.key === 'End') {
      event.preventDefault();
      setActive(last);
    } else if (event.key === 'Tab') {
      setOpen(false);
    }
  }

  const username = session?.user.username ?? '';
  return (
    <div className="menu-root">
      <button
        ref={buttonRef}
        type="button"
        className="menu-button"
        aria-label={t.shell.accountMenu}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => {
          setActive(0);
          setOpen((o) => !o);
        }}
        onKeyDown={onButtonKey}
      >
        <span className="avatar" aria-hidden="true">
          {username.slice(0, 1).toUpperCase()}
        </span>
        <span className="menu-username">{username}</span>
        <svg className="chevron" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
          <path d="M5 7l5 6 5-6z" fill="currentColor" />
        </svg>
      </button>
      {open ? (
        <div
          className="menu"
          role="menu"
          id={menuId}
          aria-label={t.shell.accountMenu}
          onKeyDown={onMenuKey}
        >
          <div className="menu-header" role="presentation">
            {t.shell.signedInAs} <strong>{username}</strong>
          </div>
          {items.map((item, index) => (
            <button
              key={item.label}
              ref={(el) => {
                itemRefs.current[index] = el;
              }}
              type="button"
              role="menuitem"
              tabIndex={index === active ? 0 : -1}
              className={item.label === t.shell.signOut ? 'menu-item danger' : 'menu-item'}
              onClick={() => {
                setOpen(false);
                item.action();
              }}
            >
              {item.label}
            </button>
          ))}
        </div>
      ) : null}
    </div>
  );
}
