import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import './globals.css';

// Every page renders per request, so its inline scripts carry that request's CSP nonce (a page
// prerendered at build time would have none, and the policy would block it).
export const dynamic = 'force-dynamic';

export const metadata: Metadata = {
  title: 'Switchboard',
  description: 'Self-hosted video meetings',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
