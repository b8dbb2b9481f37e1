'use client';

import { useCallback, useEffect, useState } from 'react';
import { api, errorMessage } from '../api';

/**
 * A list the console reads from a gateway route (`GET path` answering `{ [field]: T[] }`):
 * `items` is undefined until the first read; `error` is the gateway's message when a read failed
 * (the last list stays shown), gone again with the next read that works. Read again every
 * `everyMs` when given, and by `reload()` after an action.
 */
export function useList<T>(
  path: string,
  field: string,
  everyMs?: number,
): { items?: T[]; error: string; reload: () => Promise<void> } {
  const [items, setItems] = useState<T[]>();
  const [error, setError] = useState('');
  const reload = useCallback(async () => {
    const response = await api(path);
    if (response.ok) {
      setItems(((await response.json()) as Record<string, T[]>)[field]);
      setError('');
    } else {
      setError(await errorMessage(response));
    }
  }, [path, field]);
  useEffect(() => {
    void reload();
    if (everyMs === undefined) {
      return;
    }
    const timer = setInterval(() => void reload(), everyMs);
    return () => clearInterval(timer);
  }, [reload, everyMs]);
  return { items, error, reload };
}
