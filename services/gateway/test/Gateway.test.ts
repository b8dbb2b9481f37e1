/** Integration: the gateway against real Postgres, Redis and a real Consul agent. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyJoinToken } from '@switchboard/auth';
import { createPool, ensureDatabase, type Pool } from '@switchboard/db';
import { createLogger } from '@switchboard/logger';
import {
  startConsul,
  testDatabaseUrl,
  testRedisUrl,
  uniqueRoom,
  waitFor,
  type ConsulAgent,
} from '@switchboard/testing';
import { readConfig } from '../src/config';
import { Gateway } from '../src/Gateway';

const SECRET = 'gateway-test-secret-0123456789';

describe('Gateway REST API (real Postgres, Redis, Consul)', () => {
  let consul: ConsulAgent;
  let gateway: Gateway;
  let pool: Pool;
  let base: string;

  beforeAll(async () => {
    consul = await startConsul();
    await ensureDatabase(testDatabaseUrl());
    pool = createPool(testDatabaseUrl());
    gateway = await Gateway.create(
      readConfig({
        CONSUL_HTTP_ADDR: consul.addr,
        GATEWAY_PORT: '0',
        DATABASE_URL: testDatabaseUrl(),
        REDIS_URL: testRedisUrl(),
        JWT_SECRET: SECRET,
        TOKEN_TTL_SECONDS: '120',
      }),
      createLogger({ service: 'gateway', level: 'warn' }).logger,
    );
    base = `http://127.0.0.1:${gateway.port}`;
  });

  afterAll(async () => {
    await gateway?.close();
    await consul?.close();
    await pool?.end();
  });

  const post = (path: string, body: unknown, raw = false) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw ? (body as string) : JSON.stringify(body),
    });

  it('creates a room by name, refuses a duplicate, and invents a name when none is given', async () => {
    const name = uniqueRoom('gw');
    const created = await post('/api/rooms', { name });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name, path: `/r/${name}` });
    const again = await post('/api/rooms', { name });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ code: 'ALREADY_EXISTS', message: `room ${name} already exists` });
    const anonymous = await post('/api/rooms', {});
    expect(anonymous.status).toBe(201);
    expect((await anonymous.json()).name).toMatch(/^[a-z]+-[a-z]+-\d{4}$/);
    const { rowCount } = await pool.query('SELECT 1 FROM rooms WHERE name = $1', [name]);
    expect(rowCount).toBe(1);
  });

  it('issues a signed, short-lived join token and creates the room on first join', async () => {
    const room = uniqueRoom('gw-join');
    const response = await post(`/api/rooms/${room}/tokens`, { displayName: '  Ada Lovelace ' });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { token: string; expiresAt: string };
    expect(await verifyJoinToken(body.token, SECRET)).toEqual({ room, name: 'Ada Lovelace' });
    const ttl = new Date(body.expiresAt).getTime() - Date.now();
    expect(ttl).toBeGreaterThan(100_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
    const info = await fetch(`${base}/api/rooms/${room}`);
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ name: room, participants: [] });
  });

  it('answers bad input with 400 and a message saying what is wrong', async () => {
    const cases: [string, unknown, boolean, RegExp][] = [
      ['/api/rooms/Bad Room!/tokens', { displayName: 'x' }, false, /room name: room: must be 1-64 lowercase/],
      [`/api/rooms/${uniqueRoom()}/tokens`, { displayName: '' }, false, /displayName: must not be empty/],
      [`/api/rooms/${uniqueRoom()}/tokens`, {}, false, /displayName: /],
      [`/api/rooms/${uniqueRoom()}/tokens`, { displayName: 'x', admin: true }, false, /Unrecognized key/],
      ['/api/rooms', '{"name":', true, /JSON/],
      ['/api/rooms', { name: '-x-' }, false, /name: must be 1-64 lowercase/],
    ];
    for (const [path, body, raw, message] of cases) {
      const response = await post(encodeURI(path), body, raw);
      expect(response.status, path).toBe(400);
      const json = (await response.json()) as { code: string; message: string };
      expect(json.code).toBe('INVALID_ARGUMENT');
      expect(json.message).toMatch(message);
    }
    const huge = await post('/api/rooms', { name: 'x'.repeat(20_000) });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { code: string }).code).toBe('RESOURCE_EXHAUSTED');
    const text = await fetch(`${base}/api/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<room/>',
    });
    expect(text.status).toBe(415);
    expect(((await text.json()) as { code: string; message: string }).message).toMatch(/content-type/i);
    const missing = await fetch(`${base}/api/rooms/${uniqueRoom('none')}`);
    expect(missing.status).toBe(404);
  });

  it('reports each service health from Consul and registers itself with a passing check', async () => {
    await waitFor(
      async () => (await consul.client.instances('gateway', { passingOnly: true })).length === 1,
      {
        timeoutMs: 15_000,
        what: 'gateway passing',
      },
    );
    const response = await fetch(`${base}/api/health`);
    expect(response.status).toBe(503); // media, signaling, ui, log-viewer are not running here
    const body = (await response.json()) as { status: string; services: Record<string, { status: string }> };
    expect(body.status).toBe('degraded');
    expect(body.services.gateway.status).toBe('passing');
    expect(body.services.media.status).toBe('missing');
  });

  it('serves Prometheus metrics with request durations', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(
      /switchboard_http_request_seconds_count\{service="gateway",method="POST",route="\/api\/rooms",status="201"\} \d+/,
    );
  });
});
