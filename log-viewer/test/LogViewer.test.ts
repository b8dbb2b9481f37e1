/** Integration: the log viewer tailing real pino files written by real loggers, over real HTTP. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@switchboard/logger';
import { startConsul, waitFor, type ConsulAgent } from '@switchboard/testing';
import { readConfig } from '../src/config';
import { LogViewer } from '../src/LogViewer';

describe('LogViewer (real log files, HTTP, Consul)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-logview-'));
  let consul: ConsulAgent;
  let viewer: LogViewer;
  let base: string;
  const signaling = createLogger({ service: 'signaling', dir, stdout: false, instance: 'a', level: 'debug' });
  const media = createLogger({ service: 'media', dir, stdout: false, instance: 'b', level: 'debug' });

  beforeAll(async () => {
    const tick = () => new Promise((r) => setTimeout(r, 5)); // distinct millisecond timestamps
    signaling.logger.info({ roomId: 'alpha', peerId: 'p1', correlationId: 'c-1' }, 'peer joined');
    await tick();
    media.logger.warn({ roomId: 'alpha', correlationId: 'c-1' }, 'transport dtls state ended');
    await tick();
    media.logger.info({ roomId: 'beta' }, 'room created');
    await signaling.flush();
    await media.flush();
    consul = await startConsul();
    viewer = await LogViewer.create(
      readConfig({ CONSUL_HTTP_ADDR: consul.addr, LOG_VIEWER_PORT: '0', LOG_VIEWER_DIR: dir }),
      createLogger({ service: 'log-viewer', level: 'warn', stdout: false }).logger,
    );
    base = `http://127.0.0.1:${viewer.port}/logs`;
  });

  afterAll(async () => {
    await viewer?.close();
    await consul?.close();
  });

  const search = async (query: string) => {
    const response = await fetch(`${base}/api/search?${query}`);
    return {
      status: response.status,
      body: (await response.json()) as {
        entries: { service: string; msg: string; level: string }[];
        message?: string;
      },
    };
  };

  it('finds entries of every service by free text, newest first', async () => {
    const { body } = await search('q=alpha');
    expect(body.entries.map((e) => `${e.service}:${e.msg}`)).toEqual([
      'media:transport dtls state ended',
      'signaling:peer joined',
    ]);
  });

  it('filters by service and minimum level, and limits', async () => {
    expect((await search('service=media')).body.entries).toHaveLength(2);
    expect((await search('level=warn')).body.entries.map((e) => e.level)).toEqual(['warn']);
    expect((await search('q=alpha&limit=1')).body.entries).toHaveLength(1);
    expect((await search('q=c-1 peer')).body.entries.map((e) => e.msg)).toEqual(['peer joined']);
  });

  it('refuses bad queries with 400 and a message', async () => {
    const { status, body } = await search('level=loud');
    expect(status).toBe(400);
    expect(body.message).toMatch(/^invalid search query: level: /);
    expect((await search('limit=0')).status).toBe(400);
  });

  it('live-tails new lines over server-sent events with the same filters', async () => {
    const controller = new AbortController();
    const response = await fetch(`${base}/api/stream?service=signaling&q=gamma`, {
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    signaling.logger.info({ roomId: 'delta' }, 'not this one');
    signaling.logger.info({ roomId: 'gamma' }, 'gamma arrived');
    await signaling.flush();
    let text = '';
    await waitFor(
      async () => {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
        return text.includes('gamma arrived');
      },
      { timeoutMs: 5000, what: 'streamed entry' },
    );
    expect(text).not.toContain('not this one');
    controller.abort();
  });

  it('serves the page with filters taken from the URL', async () => {
    const response = await fetch(`${base}/?service=media&level=warn&q=alpha`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<title>Switchboard logs</title>');
    // No inline script (the CSP allows none): the page loads its script from the viewer.
    expect(html).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).toContain('<script src="viewer.js"></script>');
    const script = await fetch(`${base}/viewer.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain('new URLSearchParams(location.search)');
  });

  it('registers in Consul with a passing check', async () => {
    await consul.passing('log-viewer');
  });
});
