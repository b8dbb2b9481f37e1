'use client';

import { ArrowLeft, ChartLine, Gauge, ScrollText } from 'lucide-react';
import { useEffect, useState } from 'react';
import { currentUser, type Me } from '../api';
import { ApiKeys } from './ApiKeys';
import { LiveView } from './LiveView';
import { Exclusions } from './Exclusions';
import { Reports } from './Reports';
import { Webhooks } from './Webhooks';

const TABS = [
  { id: 'live', label: 'Live' },
  { id: 'keys', label: 'API keys' },
  { id: 'webhooks', label: 'Webhooks' },
  { id: 'reports', label: 'Reports' },
] as const;
type Tab = (typeof TABS)[number]['id'];

/**
 * The operator console: the live deployment (media nodes, live rooms, their people; drain, end,
 * remove), API keys and webhooks; past calls and logs are a link away. NGINX lets only operators
 * reach it; the page says so itself too when the session is not an operator's.
 */
export function Console() {
  const [me, setMe] = useState<Me | null>();
  const [tab, setTab] = useState<Tab>('live');

  useEffect(() => {
    void currentUser().then((user) => setMe(user ?? null));
    const fromHash = window.location.hash.slice(1);
    if (TABS.some((t) => t.id === fromHash)) {
      setTab(fromHash as Tab);
    }
  }, []);

  const choose = (next: Tab) => {
    setTab(next);
    history.replaceState(null, '', `#${next}`);
  };

  return (
    <main>
      <div className="center console">
        <div className="row">
          <a className="button secondary" href="/">
            <ArrowLeft size={16} aria-hidden /> Home
          </a>
          <h1>
            <Gauge size={22} aria-hidden /> Operator console
          </h1>
          <span className="spacer" />
          <a className="button secondary" href="/calls">
            <ChartLine size={16} aria-hidden /> Past calls
          </a>
          <a className="button secondary" href="/logs/">
            <ScrollText size={16} aria-hidden /> Logs
          </a>
        </div>
        {me === null && (
          <p>
            <a href="/signin?next=%2Fconsole">Sign in</a> with an operator account.
          </p>
        )}
        {me && !me.operator && (
          <p className="error" role="alert">
            Operators only: this account is not an operator.
          </p>
        )}
        {me?.operator && (
          <>
            <div role="tablist" aria-label="Console sections" className="tabs">
              {TABS.map((t) => (
                <button
                  key={t.id}
                  type="button"
                  role="tab"
                  id={`tab-${t.id}`}
                  aria-selected={tab === t.id}
                  aria-controls={`panel-${t.id}`}
                  className={tab === t.id ? '' : 'secondary'}
                  onClick={() => choose(t.id)}
                >
                  {t.label}
                </button>
              ))}
            </div>
            <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="console-panel">
              {tab === 'live' && <LiveView />}
              {tab === 'keys' && <ApiKeys />}
              {tab === 'webhooks' && <Webhooks />}
              {tab === 'reports' && (
                <>
                  <Exclusions />
                  <Reports />
                </>
              )}
            </div>
          </>
        )}
      </div>
    </main>
  );
}
