'use client';

/**
 * A button that opens a small menu above or below it (Reactions, More, Host controls). Keyboard:
 * Enter or Space opens it and focuses its first button, Escape closes it. `children` gets a
 * `close` for items that should close the menu when used.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';

export function MenuButton({
  icon,
  label,
  menuLabel,
  className,
  menuClassName,
  children,
}: {
  icon: ReactNode;
  label: string;
  /** The menu's accessible name. */
  menuLabel: string;
  /** The wrapper's class (it positions the menu). */
  className: string;
  menuClassName: string;
  children: (close: () => void) => ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const menu = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) {
      return;
    }
    menu.current?.querySelector('button')?.focus();
    const close = (event: KeyboardEvent) => event.key === 'Escape' && setOpen(false);
    document.addEventListener('keydown', close);
    return () => document.removeEventListener('keydown', close);
  }, [open]);
  return (
    <span className={className}>
      <button
        type="button"
        className="secondary"
        aria-haspopup="true"
        aria-expanded={open}
        title={label}
        onClick={() => setOpen((v) => !v)}
      >
        {icon} <span className="label">{label}</span>
      </button>
      {open && (
        <div className={menuClassName} role="group" aria-label={menuLabel} ref={menu}>
          {children(() => setOpen(false))}
        </div>
      )}
    </span>
  );
}
