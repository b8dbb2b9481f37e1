import type { ReactNode } from 'react';

/** A full-page message: what happened, why (announced to screen readers), and where to go next. */
export function Notice({
  title,
  message,
  children,
}: {
  title: string;
  message?: ReactNode;
  children?: ReactNode;
}) {
  return (
    <main>
      <div className="center">
        <h1>{title}</h1>
        {message && (
          <p className="error" role="alert">
            {message}
          </p>
        )}
        {children ?? <a href="/">Home</a>}
      </div>
    </main>
  );
}
