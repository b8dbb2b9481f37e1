'use client';

import { useRef, useState, type ReactNode } from 'react';

/**
 * A button whose action is asked again in a modal dialog (native <dialog>: focus moves into it,
 * Escape cancels). `children` is the dialog's body (e.g. an input); `onConfirm` may throw, and
 * its message is shown in the dialog.
 */
export function ConfirmButton(props: {
  label: ReactNode;
  /** The accessible name of the opening button (when the label is an icon). */
  ariaLabel?: string;
  title: string;
  confirm: string;
  className?: string;
  children?: ReactNode;
  onConfirm: () => Promise<void>;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  const run = async () => {
    setBusy(true);
    setError('');
    try {
      await props.onConfirm();
      dialog.current?.close();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <button
        type="button"
        className={props.className ?? 'secondary'}
        aria-label={props.ariaLabel}
        onClick={() => {
          setError('');
          dialog.current?.showModal();
        }}
      >
        {props.label}
      </button>
      <dialog ref={dialog} className="confirm" aria-label={props.title}>
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            void run();
          }}
        >
          <h2>{props.title}</h2>
          {props.children}
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <div className="row">
            <span className="spacer" />
            <button type="button" className="secondary" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" className="danger" disabled={busy}>
              {props.confirm}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
