/** ExpiringMap: ended entries go in one pass once the map has doubled; live ones always stay. */
import { describe, expect, it } from 'vitest';
import { ExpiringMap } from './ExpiringMap';

describe('ExpiringMap', () => {
  it('keeps every entry until it has 1024, then sweeps only the ended ones as it doubles', () => {
    const map = new ExpiringMap<{ until: number }>((v) => v.until);
    for (let i = 0; i < 1024; i++) {
      map.set(`old${i}`, { until: 100 }, 0);
    }
    expect(map.size).toBe(1024);
    map.set('live', { until: 10_000 }, 0); // nothing ended yet at 0: all kept
    expect(map.size).toBe(1025);
    // Past 100 the old ones have ended; they stay until the map reaches twice its swept size.
    for (let i = 0; i < 1023; i++) {
      map.set(`new${i}`, { until: 10_000 }, 200);
    }
    expect(map.size).toBe(2048);
    expect(map.get('old0')).toEqual({ until: 100 });
    map.set('last', { until: 10_000 }, 200);
    expect(map.get('old0')).toBeUndefined();
    expect(map.get('live')).toEqual({ until: 10_000 });
    expect(map.get('new0')).toEqual({ until: 10_000 });
    expect(map.size).toBe(1025);
  });

  it('gets, replaces and deletes like a map', () => {
    const map = new ExpiringMap<{ until: number }>((v) => v.until);
    map.set('a', { until: 1 }, 0);
    map.set('a', { until: 2 }, 0);
    expect(map.get('a')).toEqual({ until: 2 });
    map.delete('a');
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });
});
