import { describe, expect, it } from 'vitest';
import { levelName, matches, type LogEntry } from './LogStore';

const entry = (over: Partial<LogEntry>): LogEntry => ({
  seq: 1,
  time: '2026-01-01T00:00:00.000Z',
  service: 'media',
  level: 'info',
  msg: 'rpc ok',
  data: {},
  haystack: '{"roomid":"standup","correlationid":"abc-123"}',
  ...over,
});

describe('log filters', () => {
  it('filters by service, minimum level and every word of the free text', () => {
    expect(matches(entry({}), { service: 'media' })).toBe(true);
    expect(matches(entry({}), { service: 'signaling' })).toBe(false);
    expect(matches(entry({ level: 'warn' }), { level: 'info' })).toBe(true);
    expect(matches(entry({ level: 'debug' }), { level: 'info' })).toBe(false);
    expect(matches(entry({}), { q: 'STANDUP abc-123' })).toBe(true);
    expect(matches(entry({}), { q: 'standup other' })).toBe(false);
  });

  it('reads pino numeric and label levels', () => {
    expect(levelName(30)).toBe('info');
    expect(levelName(50)).toBe('error');
    expect(levelName('warn')).toBe('warn');
  });
});
