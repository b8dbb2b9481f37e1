/** Integration: the gateway against real Postgres, Redis and a real Consul agent. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { recordAdmission, signAccessToken, signJoinToken, verifyJoinToken } from '@switchboard/auth';
import { ChatStore, createPool, ensureDatabase, type Pool } from '@switchboard/db';
import type { ChatPage, ChatSearchHit as SearchHit } from '@switchboard/protocol';
import { createLogger } from '@switchboard/logger';
import {
  ApiClient,
  newAccount,
  randomAddress,
  startConsul,
  startPrivateRedis,
  testDatabaseUrl,
  testGrants,
  testRedisUrl,
  waitFor,
  type ConsulAgent,
} from '@switchboard/testing';
import { RoomAccess } from '@switchboard/rooms';
import { Gateway } from '../src/Gateway';
import { testGatewayConfig } from './testConfig';

const SECRET = 'gateway-test-secret-0123456789';
const quiet = createLogger({ service: 'gateway', level: 'warn' }).logger;

interface Session {
  user: { id: string; email: string; displayName: string; operator: boolean };
  accessToken: string;
}
interface RoomBody {
  id: string;
  name: string;
  policy: string;
  path: string;
  role?: string;
  participants?: unknown[];
}

describe('Gateway REST API (real Postgres, Redis, Consul)', () => {
  let consul: ConsulAgent;
  let gateway: Gateway;
  let pool: Pool;
  let redis: Redis;
  let base: string;
  const operatorEmail = `ops-${Date.now()}@example.test`;

  const config = (extra: Record<string, string> = {}) =>
    testGatewayConfig(consul.addr, SECRET, {
      TOKEN_TTL_SECONDS: '120',
      SWITCHBOARD_OPERATOR_EMAILS: operatorEmail,
      ...extra,
    });

  beforeAll(async () => {
    consul = await startConsul();
    await ensureDatabase(testDatabaseUrl());
    pool = createPool(testDatabaseUrl());
    redis = new Redis(testRedisUrl());
    gateway = await Gateway.create(config(), quiet);
    base = `http://127.0.0.1:${gateway.port}`;
  });

  afterAll(async () => {
    await gateway?.close();
    await consul?.close();
    await pool?.end();
    redis?.disconnect();
  });

  /** A browser-like client from its own address (throttles are per address). */
  const client = () => new ApiClient(base, { address: randomAddress() });

  async function signedUp(name = 'Host'): Promise<{ api: ApiClient; session: Session; password: string }> {
    const api = client();
    const account = newAccount(name);
    const { status, body } = await api.json<Session>('POST', '/api/auth/register', account);
    expect(status).toBe(201);
    return { api, session: body, password: account.password };
  }

  describe('accounts and sessions', () => {
    it('registers, signs in with httpOnly SameSite cookies, answers /api/me, and stores no usable secret', async () => {
      const api = client();
      const account = newAccount('Ada');
      const response = await api.request('POST', '/api/auth/register', {
        ...account,
        email: ` ${account.email.toUpperCase()} `,
      });
      expect(response.status).toBe(201);
      const cookies = response.headers.getSetCookie();
      expect(cookies.find((c) => c.startsWith('sb_refresh='))).toMatch(
        /HttpOnly.*SameSite=Strict|SameSite=Strict.*HttpOnly/,
      );
      expect(cookies.find((c) => c.startsWith('sb_refresh='))).toMatch(/Path=\/api\/auth/);
      expect(cookies.find((c) => c.startsWith('sb_at='))).toMatch(/HttpOnly/);
      const me = await api.json<{ user: Session['user'] }>('GET', '/api/me');
      expect(me.status).toBe(200);
      expect(me.body.user).toMatchObject({ email: account.email, displayName: 'Ada' });

      const { rows } = await pool.query<{ password_hash: string }>(
        'SELECT password_hash FROM users WHERE lower(email) = $1',
        [account.email],
      );
      expect(rows[0].password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
      const stored = await pool.query<{ token_hash: Buffer }>(
        'SELECT token_hash FROM refresh_tokens WHERE user_id = $1',
        [me.body.user.id],
      );
      expect(stored.rows.length).toBe(1);
      expect(stored.rows[0].token_hash.toString('base64url')).not.toBe(api.cookie('sb_refresh'));

      const again = await client().json('POST', '/api/auth/register', account);
      expect(again.status).toBe(409);

      const login = await client().json<Session>('POST', '/api/auth/login', {
        email: account.email,
        password: account.password,
      });
      expect(login.status).toBe(200);
      expect(login.body.user.email).toBe(account.email);
      const wrong = await client().json('POST', '/api/auth/login', {
        email: account.email,
        password: 'nope-nope-nope',
      });
      expect(wrong).toEqual({
        status: 401,
        body: { code: 'UNAUTHENTICATED', message: 'wrong email or password' },
      });
      const unknown = await client().json('POST', '/api/auth/login', {
        email: `nobody-${crypto.randomUUID()}@example.test`,
        password: 'x',
      });
      expect(unknown.body).toEqual(wrong.body); // no account enumeration
    });

    it('rotates the refresh token on every use; reusing a spent one revokes the whole family', async () => {
      const { api } = await signedUp('Rotator');
      const first = api.cookie('sb_refresh')!;
      const refreshed = await api.json<Session>('POST', '/api/auth/refresh');
      expect(refreshed.status).toBe(200);
      const second = api.cookie('sb_refresh')!;
      expect(second).not.toBe(first);
      expect((await api.json('POST', '/api/auth/refresh')).status).toBe(200); // the session moves on

      // An attacker replays the spent first token: refused, and the family (this session) dies.
      const thief = client();
      thief.setCookie('sb_refresh', first, '/api/auth');
      const replay = await thief.json('POST', '/api/auth/refresh');
      expect(replay.status).toBe(401);
      expect(replay.body).toMatchObject({ message: expect.stringMatching(/already used.*revoked/) });
      const legit = await api.json('POST', '/api/auth/refresh');
      expect(legit.status).toBe(401);
      // The access token of the revoked session stops working at once.
      expect((await api.json('GET', '/api/me')).status).toBe(401);
    });

    it('keeps two tabs refreshing with the same cookie at once signed in', async () => {
      const { api } = await signedUp('Two tabs');
      const cookie = api.cookie('sb_refresh')!;
      const tabs = [client(), client()];
      for (const tab of tabs) {
        tab.setCookie('sb_refresh', cookie, '/api/auth');
      }
      const answers = await Promise.all(tabs.map((tab) => tab.json<Session>('POST', '/api/auth/refresh')));
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      // Each tab's new pair works: its API calls and its next refresh.
      for (const tab of tabs) {
        expect((await tab.json('GET', '/api/me')).status).toBe(200);
        expect((await tab.json('POST', '/api/auth/refresh')).status).toBe(200);
      }
    });

    it('logs out: the refresh token and the access token stop working', async () => {
      const { api, session } = await signedUp('Leaver');
      const refresh = api.cookie('sb_refresh')!;
      const out = await api.request('POST', '/api/auth/logout');
      expect(out.status).toBe(204);
      expect(api.cookie('sb_refresh')).toBeUndefined();
      const bearer = await client().json('GET', '/api/me', undefined);
      expect(bearer.status).toBe(401);
      const withHeader = await fetch(`${base}/api/me`, {
        headers: { authorization: `Bearer ${session.accessToken}` },
      });
      expect(withHeader.status).toBe(401);
      const replay = client();
      replay.setCookie('sb_refresh', refresh, '/api/auth');
      expect((await replay.json('POST', '/api/auth/refresh')).status).toBe(401);
    });

    it('refuses forged, expired and wrong-audience access tokens', async () => {
      const { session } = await signedUp('Forger');
      const claims = {
        userId: session.user.id,
        displayName: 'x',
        operator: true,
        sessionId: crypto.randomUUID(),
      };
      const forged = (await signAccessToken(claims, 'another-secret-0123456789', 60)).token;
      const expired = (await signAccessToken(claims, SECRET, -5)).token;
      const joinToken = (await signJoinToken(testGrants('some-room', 'x'), SECRET, 60)).token;
      const alg = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${session.accessToken.split('.')[1]}.`;
      for (const token of [forged, expired, joinToken, alg, 'garbage']) {
        const response = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status, token.slice(0, 20)).toBe(401);
      }
    });

    it('backs off an account from one address (429 with Retry-After) while its owner signs in elsewhere', async () => {
      const { password, session } = await signedUp('Target');
      const guesser = client();
      for (let i = 0; i < 4; i++) {
        const r = await guesser.json('POST', '/api/auth/login', {
          email: session.user.email,
          password: 'wrong-password',
        });
        expect(r.status).toBe(401);
      }
      const fifth = await guesser.request('POST', '/api/auth/login', {
        email: session.user.email,
        password: 'wrong-password',
      });
      expect(fifth.status).toBe(429);
      expect(Number(fifth.headers.get('retry-after'))).toBeGreaterThanOrEqual(55);
      expect(((await fifth.json()) as { message: string }).message).toMatch(
        /too many failed sign-ins; try again in \d+ seconds/,
      );
      // Locked from there even with the right password, until the wait is over...
      expect(
        (await guesser.json('POST', '/api/auth/login', { email: session.user.email, password })).status,
      ).toBe(429);
      // ...but a stranger cannot lock the owner out: from anywhere else, the password works.
      expect(
        (await client().json('POST', '/api/auth/login', { email: session.user.email, password })).status,
      ).toBe(200);
    });

    it('counts twenty concurrent wrong passwords as twenty: five are checked, fifteen refused at once', async () => {
      const { session } = await signedUp('Burst');
      const guesser = client();
      const statuses = await Promise.all(
        Array.from(
          { length: 20 },
          async () =>
            (await guesser.json('POST', '/api/auth/login', { email: session.user.email, password: 'nope' }))
              .status,
        ),
      );
      expect(statuses.filter((s) => s === 401)).toHaveLength(4);
      expect(statuses.filter((s) => s === 429)).toHaveLength(16); // the fifth checked one says the lock began
    });

    it('backs off per address across accounts', async () => {
      const gw = await Gateway.create(config({ LOGIN_IP_LOCK_THRESHOLD: '3' }), quiet);
      try {
        const api = new ApiClient(`http://127.0.0.1:${gw.port}`, { address: randomAddress() });
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) {
          statuses.push(
            (
              await api.json('POST', '/api/auth/login', {
                email: `guess${i}-${crypto.randomUUID()}@example.test`,
                password: 'x',
              })
            ).status,
          );
        }
        expect(statuses).toEqual([401, 401, 429, 429]);
      } finally {
        await gw.close();
      }
    });

    it('makes no one operator by registering first: listed emails are, and whoever presents the one-time setup code', async () => {
      const url = new URL(testDatabaseUrl());
      url.pathname = `/sb_first_${Date.now().toString(36)}`;
      await ensureDatabase(url.toString());
      const codeFile = join(mkdtempSync(join(tmpdir(), 'sb-setup-')), 'operator-setup-code');
      const gw = await Gateway.create(
        config({ DATABASE_URL: url.toString(), SWITCHBOARD_SETUP_CODE_FILE: codeFile }),
        quiet,
      );
      try {
        const code = readFileSync(codeFile, 'utf8').trim();
        expect(code).toMatch(/^[A-Za-z0-9_-]{20,}$/);
        expect(statSync(codeFile).mode & 0o077).toBe(0); // readable by its owner only
        const api = () => new ApiClient(`http://127.0.0.1:${gw.port}`, { address: randomAddress() });
        const first = api();
        const registered = await first.json<Session>('POST', '/api/auth/register', newAccount('First'));
        const listed = await api().json<Session>('POST', '/api/auth/register', {
          ...newAccount('Ops'),
          email: operatorEmail,
        });
        expect([registered.body.user.operator, listed.body.user.operator]).toEqual([false, true]);
        expect((await first.request('GET', '/api/auth/operator')).status).toBe(403);

        // The code: refused without a session, or when wrong; then it makes the first one operator, once.
        expect((await api().json('POST', '/api/auth/operator-setup', { code })).status).toBe(401);
        expect((await first.json('POST', '/api/auth/operator-setup', { code: 'x'.repeat(22) })).status).toBe(
          403,
        );
        expect((await first.json('POST', '/api/auth/operator-setup', { code: 'no' })).status).toBe(400);
        const promoted = await first.json<Session>('POST', '/api/auth/operator-setup', { code });
        expect(promoted).toMatchObject({ status: 200, body: { user: { operator: true } } });
        expect((await first.request('GET', '/api/auth/operator')).status).toBe(204);
        const second = api();
        await second.json('POST', '/api/auth/register', newAccount('Second'));
        expect((await second.json('POST', '/api/auth/operator-setup', { code })).status).toBe(403);
        expect(readFileSync(codeFile, 'utf8')).toBe('');
      } finally {
        await gw.close();
        const admin = createPool(testDatabaseUrl());
        await admin.query(`DROP DATABASE IF EXISTS "${url.pathname.slice(1)}" WITH (FORCE)`);
        await admin.end();
      }
    });

    it('answers the operator check (NGINX auth_request) with 204, 401 or 403', async () => {
      expect((await client().request('GET', '/api/auth/operator')).status).toBe(401);
      const { api } = await signedUp('Plain');
      expect((await api.request('GET', '/api/auth/operator')).status).toBe(403);
      const ops = client();
      const registered = await ops.json<Session>('POST', '/api/auth/register', {
        ...newAccount('Ops'),
        email: operatorEmail,
      });
      expect(registered.body.user.operator).toBe(true);
      expect((await ops.request('GET', '/api/auth/operator')).status).toBe(204);
    });

    it('lets operators only create, list and revoke API keys; the secret is shown once and stored hashed', async () => {
      expect((await client().json('GET', '/api/admin/api-keys')).status).toBe(401);
      const { api: plain } = await signedUp('NotOps');
      expect(
        (await plain.json('POST', '/api/admin/api-keys', { name: 'x', scopes: ['rooms:read'] })).status,
      ).toBe(403);
      // An operator (made one in the database, as the setup code does), signed in afresh.
      const admin = client();
      const account = newAccount('Key keeper');
      await admin.json('POST', '/api/auth/register', account);
      await pool.query('UPDATE users SET is_operator = true WHERE email = $1', [account.email.toLowerCase()]);
      const login = await admin.json<Session>('POST', '/api/auth/login', {
        email: account.email,
        password: account.password,
      });
      expect(login.body.user.operator).toBe(true);
      const bad = await admin.json<{ message: string }>('POST', '/api/admin/api-keys', {
        name: 'x',
        scopes: ['everything'],
      });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/rooms:read/);
      expect(
        (await admin.json('POST', '/api/admin/api-keys', { name: '', scopes: ['rooms:read'] })).status,
      ).toBe(400);
      const created = await admin.json<{ id: string; key: string; scopes: string[] }>(
        'POST',
        '/api/admin/api-keys',
        {
          name: 'CRM backend',
          scopes: ['rooms:write', 'rooms:read'],
        },
      );
      expect(created.status).toBe(201);
      expect(created.body.key).toMatch(/^sbk_[a-z2-7]{16}:[A-Za-z0-9_-]{43}$/);
      expect(created.body.scopes).toEqual(['rooms:read', 'rooms:write']);
      const secret = created.body.key.split(':')[1];
      // Only a hash of the secret is stored, and the list never shows it.
      const { rows } = await pool.query<{ secret_hash: Buffer }>(
        'SELECT secret_hash FROM api_keys WHERE id = $1',
        [created.body.id],
      );
      expect(rows[0].secret_hash.toString('utf8')).not.toContain(secret);
      const list = await admin.json<{ keys: { id: string; revokedAt: string | null }[] }>(
        'GET',
        '/api/admin/api-keys',
      );
      expect(JSON.stringify(list.body)).not.toContain(secret);
      expect(list.body.keys.find((k) => k.id === created.body.id)).toMatchObject({ revokedAt: null });
      expect((await admin.request('DELETE', `/api/admin/api-keys/${created.body.id}`)).status).toBe(204);
      expect((await admin.request('DELETE', `/api/admin/api-keys/${created.body.id}`)).status).toBe(404);
      expect((await admin.request('DELETE', '/api/admin/api-keys/nope')).status).toBe(400);
    });

    it('lets operators only list, lift and extend Meet someone exclusions, refusing bad ids and bodies', async () => {
      const identity = `guest:${randomUUID()}`;
      const { rows } = await pool.query<{ id: string }>(
        `INSERT INTO match_exclusions (identity, address, reason, created_by, until)
          VALUES ($1, '203.0.113.9', 'reported by 3 people', 'auto', now() + interval '1 hour') RETURNING id`,
        [identity],
      );
      const id = rows[0].id;
      expect((await client().json('GET', '/api/admin/match-exclusions')).status).toBe(401);
      const { api: plain } = await signedUp('NotMod');
      expect((await plain.json('GET', '/api/admin/match-exclusions')).status).toBe(403);
      expect((await plain.json('POST', `/api/admin/match-exclusions/${id}/lift`, {})).status).toBe(403);
      const admin = client();
      const account = newAccount('Moderator');
      await admin.json('POST', '/api/auth/register', account);
      await pool.query('UPDATE users SET is_operator = true WHERE email = $1', [account.email.toLowerCase()]);
      await admin.json('POST', '/api/auth/login', { email: account.email, password: account.password });
      type Listed = { exclusions: { id: string; identity: string; address: string; until: string }[] };
      const listed = await admin.json<Listed>('GET', '/api/admin/match-exclusions');
      const mine = listed.body.exclusions.find((x) => x.id === id);
      expect(mine).toMatchObject({ identity, address: '203.0.113.9' });
      const extended = await admin.json<{ exclusion: { until: string } }>(
        'POST',
        `/api/admin/match-exclusions/${id}/extend`,
        { hours: 24 },
      );
      expect(extended.status).toBe(200);
      expect(Date.parse(extended.body.exclusion.until) - Date.parse(mine!.until)).toBe(24 * 3_600_000);
      for (const body of [{ hours: 0 }, { hours: 'x' }, {}, { hours: 1, extra: 1 }]) {
        expect((await admin.json('POST', `/api/admin/match-exclusions/${id}/extend`, body)).status).toBe(400);
      }
      expect((await admin.json('POST', '/api/admin/match-exclusions/abc/lift', {})).status).toBe(400);
      expect((await admin.json('GET', '/api/admin/match-exclusions?all=maybe')).status).toBe(400);
      const lifted = await admin.json<{ exclusion: { liftedAt: string; liftedBy: string } }>(
        'POST',
        `/api/admin/match-exclusions/${id}/lift`,
        {},
      );
      expect(lifted.status).toBe(200);
      expect(lifted.body.exclusion.liftedAt).toBeTruthy();
      // Lifted: no longer in force (404 to lift again), gone from the list, kept in the full one.
      expect((await admin.json('POST', `/api/admin/match-exclusions/${id}/lift`, {})).status).toBe(404);
      const after = await admin.json<Listed>('GET', '/api/admin/match-exclusions');
      expect(after.body.exclusions.some((x) => x.id === id)).toBe(false);
      const all = await admin.json<Listed>('GET', '/api/admin/match-exclusions?all=true');
      expect(all.body.exclusions.some((x) => x.id === id)).toBe(true);
    });

    it('lets operators register webhooks, refusing internal addresses unless allowed, and read their delivery log', async () => {
      const { api: plain } = await signedUp('NoHooks');
      expect((await plain.json('GET', '/api/admin/webhooks')).status).toBe(403);
      const admin = client();
      const account = newAccount('Hook keeper');
      await admin.json('POST', '/api/auth/register', account);
      await pool.query('UPDATE users SET is_operator = true WHERE email = $1', [account.email.toLowerCase()]);
      await admin.json('POST', '/api/auth/login', { email: account.email, password: account.password });
      const refused = async (body: object, message: RegExp) => {
        const answer = await admin.json<{ message: string }>('POST', '/api/admin/webhooks', body);
        expect(answer.status, JSON.stringify(body)).toBe(400);
        expect(answer.body.message).toMatch(message);
      };
      await refused({ url: 'http://127.0.0.1:9/hook', events: ['*'] }, /127\.0\.0\.1, an internal address/);
      await refused({ url: 'http://169.254.169.254/latest/meta-data', events: ['*'] }, /internal address/);
      await refused({ url: 'http://[::1]:9/hook', events: ['*'] }, /internal address/);
      await refused({ url: 'http://10.1.2.3/hook', events: ['*'] }, /internal address/);
      await refused({ url: 'http://localhost:9/hook', events: ['*'] }, /internal address/);
      await refused({ url: 'ftp://example.com/x', events: ['*'] }, /http:\/\/ or https:\/\//);
      await refused({ url: 'https://user:pw@example.com/x', events: ['*'] }, /user or password/);
      await refused({ url: 'not a url', events: ['*'] }, /absolute URL/);
      await refused({ url: 'http://127.0.0.1:9/hook', events: ['call.exploded'] }, /room\.started/);
      await refused({ url: 'http://127.0.0.1:9/hook', events: [] }, /at least one/);
      // An operator sends to an internal address on purpose.
      const created = await admin.json<{ id: string; secret: string; allowInternal: boolean }>(
        'POST',
        '/api/admin/webhooks',
        { url: 'http://127.0.0.1:9/hook', events: ['room.ended', 'participant.joined'], allowInternal: true },
      );
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        allowInternal: true,
        secret: expect.stringMatching(/^whsec_/) as unknown,
      });
      const list = await admin.json<{ webhooks: { id: string; events: string[] }[] }>(
        'GET',
        '/api/admin/webhooks',
      );
      expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
      expect(list.body.webhooks.find((w) => w.id === created.body.id)?.events).toEqual([
        'participant.joined',
        'room.ended',
      ]);
      const log = await admin.json<{ deliveries: unknown[] }>(
        'GET',
        `/api/admin/webhooks/${created.body.id}/deliveries`,
      );
      expect(log).toMatchObject({ status: 200, body: { deliveries: [] } });
      expect(
        (await admin.json('GET', `/api/admin/webhooks/${created.body.id}/deliveries?limit=0`)).status,
      ).toBe(400);
      expect((await admin.json('GET', '/api/admin/webhooks/not-an-id/deliveries')).status).toBe(400);
      expect((await admin.request('DELETE', `/api/admin/webhooks/${created.body.id}`)).status).toBe(204);
      expect((await admin.json('GET', `/api/admin/webhooks/${created.body.id}/deliveries`)).status).toBe(404);
    });

    it('shows past calls to signed-in users only, refusing bad filters', async () => {
      expect((await client().json('GET', '/api/calls')).status).toBe(401);
      const { api: someone } = await signedUp('Caller');
      expect(await someone.json('GET', '/api/calls')).toMatchObject({ status: 200, body: { calls: [] } });
      expect((await someone.json('GET', '/api/calls?limit=0')).status).toBe(400);
      expect((await someone.json('GET', '/api/calls?since=yesterday')).status).toBe(400);
      expect((await someone.json('GET', '/api/calls?colour=red')).status).toBe(400);
      expect((await someone.json('GET', '/api/calls/not-a-call')).status).toBe(400);
      expect((await someone.json('GET', `/api/calls/${crypto.randomUUID()}`)).status).toBe(404);
    });

    it('refuses state changes without the CSRF header', async () => {
      const { api } = await signedUp('Csrf');
      const response = await api.request('POST', '/api/rooms', { name: 'x' }, { csrf: false });
      expect(response.status).toBe(403);
      expect(((await response.json()) as { message: string }).message).toMatch(/x-switchboard-request/);
      expect((await api.request('POST', '/api/auth/logout', undefined, { csrf: false })).status).toBe(403);
    });
  });

  describe('rooms and join tokens', () => {
    it('lets a signed-in user create a room with an unguessable id and lists it under my meetings', async () => {
      const { api } = await signedUp('Owner');
      const created = await api.json<RoomBody>('POST', '/api/rooms', {
        name: 'Weekly sync',
        policy: 'lobby',
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: 'Weekly sync', policy: 'lobby', role: 'host' });
      expect(created.body.id).toMatch(/^[a-z2-7]{24}$/); // 120 bits
      expect(created.body.path).toBe(`/r/${created.body.id}`);
      const plain = await api.json<RoomBody>('POST', '/api/rooms', {});
      expect(plain.body.policy).toBe('open');
      expect(plain.body.name).toBe("Owner's meeting");
      const mine = await api.json<{ rooms: RoomBody[] }>('GET', '/api/rooms');
      expect(mine.body.rooms.map((r) => r.id)).toEqual([plain.body.id, created.body.id]);
      expect((await client().json('POST', '/api/rooms', { name: 'x' })).status).toBe(401);
    });

    it('shows anonymous visitors the label and policy only; members also see who is in', async () => {
      const { api } = await signedUp('Owner');
      const { body: room } = await api.json<RoomBody>('POST', '/api/rooms', { name: 'Private' });
      const anonymous = await client().json<RoomBody>('GET', `/api/rooms/${room.id}`);
      expect(anonymous.status).toBe(200);
      expect(anonymous.body).toEqual({
        id: room.id,
        name: 'Private',
        policy: 'open',
        path: room.path,
        createdAt: expect.any(String),
      });
      const member = await api.json<RoomBody>('GET', `/api/rooms/${room.id}`);
      expect(member.body).toMatchObject({ role: 'host', participants: [] });
      const stranger = await (await signedUp('Stranger')).api.json<RoomBody>('GET', `/api/rooms/${room.id}`);
      expect(stranger.body.participants).toBeUndefined();
      expect((await client().json('GET', '/api/rooms/no-such-room-here')).status).toBe(404);
    });

    it('grants host, participant and guest roles in join tokens, pinned to the room', async () => {
      const owner = await signedUp('Owner');
      const { body: room } = await owner.api.json<RoomBody>('POST', '/api/rooms', { name: 'Roles' });
      const hostToken = await owner.api.json<{ token: string; role: string }>(
        'POST',
        `/api/rooms/${room.id}/tokens`,
        {},
      );
      expect(hostToken.status).toBe(201);
      const hostClaims = await verifyJoinToken(hostToken.body.token, SECRET);
      expect(hostClaims).toMatchObject({
        room: room.id,
        sub: `user:${owner.session.user.id}`,
        name: 'Owner',
        role: 'host',
        canPublish: true,
        canSubscribe: true,
      });
      expect(hostClaims.exp * 1000 - Date.now()).toBeLessThanOrEqual(120_000);

      const other = await signedUp('Member');
      const participant = await other.api.json<{ token: string }>('POST', `/api/rooms/${room.id}/tokens`, {
        displayName: 'Mem',
      });
      expect(await verifyJoinToken(participant.body.token, SECRET)).toMatchObject({
        role: 'participant',
        name: 'Mem',
      });

      const guest = await client().json<{ token: string; role: string }>(
        'POST',
        `/api/rooms/${room.id}/tokens`,
        {
          displayName: '  Guest One ',
        },
      );
      expect(guest.body.role).toBe('guest');
      const guestClaims = await verifyJoinToken(guest.body.token, SECRET);
      expect(guestClaims).toMatchObject({ role: 'guest', name: 'Guest One', room: room.id });
      expect(guestClaims.sub).toMatch(/^guest:[0-9a-f-]{36}$/);

      // Anonymous users can only join links that exist.
      expect(
        (await client().json('POST', '/api/rooms/made-up-name/tokens', { displayName: 'x' })).status,
      ).toBe(404);
    });

    it('takes an invitation’s join token (the server API’s) as is, adding TURN credentials; refuses another room’s or a forged one', async () => {
      const owner = await signedUp('Inviter');
      const { body: room } = await owner.api.json<RoomBody>('POST', '/api/rooms', { name: 'Invites' });
      const { body: other } = await owner.api.json<RoomBody>('POST', '/api/rooms', { name: 'Elsewhere' });
      const grants = {
        room: room.id,
        sub: 'api:crm-user-7',
        name: 'Invited',
        role: 'participant' as const,
        canPublish: false,
        canSubscribe: true,
      };
      const { token } = await signJoinToken(grants, SECRET, 300);
      const answer = await client().json<{ token: string; displayName: string; canPublish: boolean }>(
        'POST',
        `/api/rooms/${room.id}/tokens`,
        { token },
      );
      expect(answer.status).toBe(201);
      expect(answer.body).toMatchObject({
        token,
        displayName: 'Invited',
        role: 'participant',
        canPublish: false,
      });
      const elsewhere = await client().json<{ message: string }>('POST', `/api/rooms/${other.id}/tokens`, {
        token,
      });
      expect(elsewhere.status).toBe(403);
      expect(elsewhere.body.message).toMatch(/another meeting/);
      const forged = await signJoinToken(grants, 'not-the-deployment-secret-0123456789', 300);
      expect(
        (await client().json('POST', `/api/rooms/${room.id}/tokens`, { token: forged.token })).status,
      ).toBe(401);
      const both = await client().json<{ message: string }>('POST', `/api/rooms/${room.id}/tokens`, {
        token,
        displayName: 'Someone else',
      });
      expect(both.status).toBe(400);
      expect(both.body.message).toMatch(/displayName or token, not both/);

      // A private room (made by the server API or the matchmaker): its link alone gets no token,
      // an invitation's does; and no one makes or switches a room to private over this REST API.
      await pool.query("UPDATE rooms SET policy = 'private' WHERE id = $1", [room.id]);
      const byLink = await client().json<{ message: string }>('POST', `/api/rooms/${room.id}/tokens`, {
        displayName: 'Gatecrasher',
      });
      expect(byLink.status).toBe(403);
      expect(byLink.body.message).toMatch(/by invitation only/);
      expect((await owner.api.json('POST', `/api/rooms/${room.id}/tokens`, {})).status).toBe(403);
      expect((await client().json('POST', `/api/rooms/${room.id}/tokens`, { token })).status).toBe(201);
      expect((await owner.api.json('POST', '/api/rooms', { name: 'P', policy: 'private' })).status).toBe(400);
      expect((await owner.api.json('PATCH', `/api/rooms/${other.id}`, { policy: 'private' })).status).toBe(
        400,
      );
    });

    it('refuses tokens for a locked room except to hosts; only hosts may change the policy', async () => {
      const owner = await signedUp('Owner');
      const { body: room } = await owner.api.json<RoomBody>('POST', '/api/rooms', {});
      const other = await signedUp('Other');
      const denied = await other.api.json('PATCH', `/api/rooms/${room.id}`, { policy: 'locked' });
      expect(denied.status).toBe(403);
      const locked = await owner.api.json<RoomBody>('PATCH', `/api/rooms/${room.id}`, { policy: 'locked' });
      expect(locked.body.policy).toBe('locked');
      const guest = await client().json('POST', `/api/rooms/${room.id}/tokens`, { displayName: 'Late' });
      expect(guest).toEqual({
        status: 403,
        body: { code: 'PERMISSION_DENIED', message: 'this meeting is locked: no one new can join' },
      });
      expect((await other.api.json('POST', `/api/rooms/${room.id}/tokens`, {})).status).toBe(403);
      expect((await owner.api.json('POST', `/api/rooms/${room.id}/tokens`, {})).status).toBe(201);
    });

    it('opens a lobby room over REST as a host does from the call: everyone waiting is let in', async () => {
      const owner = await signedUp('Opener');
      const { body: room } = await owner.api.json<RoomBody>('POST', '/api/rooms', { policy: 'lobby' });
      // Two people wait in its lobby (what signaling records when they ask to join).
      const access = new RoomAccess(redis);
      const waiters = [`guest:${randomUUID()}`, `guest:${randomUUID()}`];
      for (const [i, sub] of waiters.entries()) {
        await access.wait(
          room.id,
          { peerId: `waiter-${i}`, displayName: `Waiter ${i}`, role: 'guest', sub },
          'sig-1',
        );
      }
      // What signaling's sockets would receive, through the socket.io Redis adapter's channel.
      const subscriber = redis.duplicate();
      const heard: string[] = [];
      await subscriber.psubscribe('sb:io#/#*');
      subscriber.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer) => heard.push(channel.toString()));
      try {
        const opened = await owner.api.json<RoomBody>('PATCH', `/api/rooms/${room.id}`, { policy: 'open' });
        expect(opened.body.policy).toBe('open');
        expect(await access.waiting(room.id)).toEqual([]);
        for (const sub of waiters) {
          expect(await access.isAdmitted(room.id, sub)).toBe(true);
        }
        await waitFor(() => heard.filter((c) => c.includes('peer:waiter-')).length === 2, {
          what: 'admitted sent to both waiters',
          timeoutMs: 5000,
        });
      } finally {
        subscriber.disconnect();
      }
    });

    it('answers every malformed REST body with a 4xx and a message, never accepting one', async () => {
      const owner = await signedUp('Fuzzer');
      const { body: room } = await owner.api.json<RoomBody>('POST', '/api/rooms', {});
      const routes: [string, string, ApiClient][] = [
        ['POST', '/api/auth/register', client()],
        ['POST', '/api/auth/login', client()],
        ['POST', '/api/rooms', owner.api],
        ['PATCH', `/api/rooms/${room.id}`, owner.api],
        ['POST', `/api/rooms/${room.id}/tokens`, client()],
      ];
      const bodies: unknown[] = [
        '{"email":',
        '[]',
        '42',
        '"text"',
        'null',
        { email: 'not-an-email', password: 'long-enough-password', displayName: 'X' },
        { email: 'a@b.test', password: 'short', displayName: 'X' },
        { email: 'a@b.test', password: 'long-enough-password', displayName: '' },
        { email: 'a@b.test', password: 'long-enough-password', displayName: 'X', admin: true },
        { email: 7, password: [] },
        { name: '' },
        { name: 'x'.repeat(81) },
        { name: 'ok', policy: 'everyone' },
        { policy: 'open', owner: 'me' },
        { displayName: 'a\u0000b' },
        { displayName: 'x'.repeat(65) },
        { displayName: 'x', role: 'host' },
      ];
      const accepted: string[] = [];
      for (const [method, path, api] of routes) {
        for (const body of bodies) {
          const response = await api.request(method, path, body);
          const text = await response.text();
          if (response.status < 400 || response.status >= 500) {
            accepted.push(`${method} ${path} ${JSON.stringify(body)} → ${response.status}`);
            continue;
          }
          const json = JSON.parse(text) as { code: string; message: string };
          expect(json.message.length, `${path} ${JSON.stringify(body)}`).toBeGreaterThan(5);
        }
      }
      // A few bodies are valid for some routes (e.g. `{ name: 'ok' }` lacks a policy error only
      // on PATCH): list them explicitly so nothing malformed is ever accepted by accident.
      expect(accepted).toEqual([]);
      const huge = await owner.api.request('POST', '/api/rooms', { name: 'x'.repeat(20_000) });
      expect(huge.status).toBe(413);
      const xml = await owner.api.request('POST', '/api/rooms', '<room/>', {
        headers: { 'content-type': 'application/xml' },
      });
      expect(xml.status).toBe(415);
    });

    it('rate limits /api/ per address with 429 and Retry-After; other addresses are unaffected', async () => {
      const gw = await Gateway.create(config({ API_RATE_LIMIT_PER_MINUTE: '5' }), quiet);
      try {
        const gwBase = `http://127.0.0.1:${gw.port}`;
        const noisy = new ApiClient(gwBase, { address: randomAddress() });
        const statuses: number[] = [];
        for (let i = 0; i < 7; i++) {
          statuses.push((await noisy.request('GET', '/api/rooms/no-such-room')).status);
        }
        expect(statuses).toEqual([404, 404, 404, 404, 404, 429, 429]);
        const limited = await noisy.request('GET', '/api/rooms/no-such-room');
        expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(((await limited.json()) as { message: string }).message).toMatch(/too many requests/);
        const quietOne = new ApiClient(gwBase, { address: randomAddress() });
        expect((await quietOne.request('GET', '/api/rooms/no-such-room')).status).toBe(404);
      } finally {
        await gw.close();
      }
    });
  });

  describe('chat history and search (members only)', () => {
    /** A room owned by a new account, two guests' join tokens, and a few stored messages. */
    async function chatRoom() {
      const owner = await signedUp('Owner');
      const { body: room } = await owner.api.json<RoomBody>('POST', '/api/rooms', { name: 'Chat' });
      const ownerSub = `user:${owner.session.user.id}`;
      // Guests who were let into the call (signaling records that when they join).
      const guest = async (name: string) => {
        const grants = testGrants(room.id, name);
        await recordAdmission(redis, room.id, grants.sub);
        return { sub: grants.sub, token: (await signJoinToken(grants, SECRET, 120)).token };
      };
      const [ada, linus] = [await guest('Ada'), await guest('Linus')];
      const store = new ChatStore(pool);
      const say = (from: { sub: string }, body: string, to?: { sub: string }) =>
        store.send({
          roomId: room.id,
          clientId: randomUUID(),
          from: { sub: from.sub, peerId: randomUUID(), displayName: 'x' },
          to: to ? { sub: to.sub, peerId: randomUUID(), displayName: 'y' } : null,
          body,
        });
      return { owner, room, ownerSub, ada, linus, store, say };
    }
    const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

    it('answers 401 to strangers, 403 to non-members and other rooms, and pages history by sequence', async () => {
      const { owner, room, ada, say } = await chatRoom();
      for (let i = 1; i <= 7; i++) {
        await say(ada, `m${i}`);
      }
      const path = `/api/rooms/${room.id}/messages`;
      expect((await client().json('GET', path)).status).toBe(401);
      const stranger = await signedUp('Stranger');
      expect((await stranger.api.json('GET', path)).status).toBe(403);
      const other = await (await signedUp('Other')).api.json<RoomBody>('POST', '/api/rooms', {});
      const otherToken = (await signJoinToken(testGrants(other.body.id, 'Ada'), SECRET, 60)).token;
      expect((await client().json('GET', path, undefined, bearer(otherToken))).status).toBe(403);
      const forged = (await signJoinToken(testGrants(room.id, 'Ada'), 'not-the-secret-0123456789', 60)).token;
      expect((await client().json('GET', path, undefined, bearer(forged))).status).toBe(401);
      // A valid token whose holder was never let in (waiting in a lobby, or refused there).
      const waiting = (await signJoinToken(testGrants(room.id, 'Waiting'), SECRET, 60)).token;
      const refused = await client().json<{ message: string }>('GET', path, undefined, bearer(waiting));
      expect(refused).toMatchObject({ status: 403, body: { message: expect.stringMatching(/lets you in/) } });

      const asOwner = await owner.api.json<ChatPage>('GET', `${path}?limit=3`);
      expect(asOwner.status).toBe(200);
      expect(asOwner.body.messages.map((m) => m.body)).toEqual(['m5', 'm6', 'm7']);
      expect(asOwner.body).toMatchObject({ rev: 7, more: true });
      const older = await client().json<ChatPage>(
        'GET',
        `${path}?before=5&limit=3`,
        undefined,
        bearer(ada.token),
      );
      expect(older.body.messages.map((m) => m.body)).toEqual(['m2', 'm3', 'm4']);
      const oldest = await client().json<ChatPage>('GET', `${path}?before=2`, undefined, bearer(ada.token));
      expect(oldest.body).toMatchObject({ messages: [{ body: 'm1', seq: 1 }], more: false });
    });

    it('keeps private messages between their sender and recipient, in history and in search', async () => {
      const { owner, room, ownerSub, ada, linus, say } = await chatRoom();
      await say(ada, 'secret plans for friday', { sub: ownerSub });
      await say(linus, 'public plans for friday');
      const history = `/api/rooms/${room.id}/messages`;
      const search = `/api/rooms/${room.id}/messages/search?q=plans`;
      const bodies = (page: { messages: { body: string }[] }) => page.messages.map((m) => m.body);
      expect(bodies((await owner.api.json<ChatPage>('GET', history)).body)).toEqual([
        'secret plans for friday',
        'public plans for friday',
      ]);
      const asLinus = await client().json<ChatPage>('GET', history, undefined, bearer(linus.token));
      expect(bodies(asLinus.body)).toEqual(['public plans for friday']);
      const found = async (token: string) =>
        (
          await client().json<{ results: SearchHit[] }>('GET', search, undefined, bearer(token))
        ).body.results.map((r) => r.message.body);
      expect(await found(linus.token)).toEqual(['public plans for friday']);
      expect((await found(ada.token)).sort()).toEqual(['public plans for friday', 'secret plans for friday']);
    });

    it('searches with stemming, phrases and exclusions, best match first, with highlighted snippets', async () => {
      const { room, ada, say, store } = await chatRoom();
      await say(ada, 'the budget');
      await say(ada, 'budget, budget and more budget: the budget is the whole budget meeting');
      await say(ada, 'draft of the quarterly budget');
      await say(ada, 'lunch orders');
      const deleted = await say(ada, 'budget to delete');
      await store.change({ roomId: room.id, sub: ada.sub }, deleted.message.seq, null);
      const search = async (q: string) =>
        (
          await client().json<{ results: SearchHit[] }>(
            'GET',
            `/api/rooms/${room.id}/messages/search?q=${encodeURIComponent(q)}`,
            undefined,
            bearer(ada.token),
          )
        ).body.results;
      const budget = await search('budgets');
      expect(budget.map((r) => r.message.body)).toHaveLength(3); // stemmed; the deleted one is gone
      expect(budget[0].message.body).toMatch(/^budget, budget/); // the densest match ranks first
      expect(budget[0].rank).toBeGreaterThan(budget[2].rank);
      const snippet = budget.find((r) => r.message.body === 'the budget')?.snippet;
      expect(snippet).toEqual([
        { text: 'the ', match: false },
        { text: 'budget', match: true },
      ]);
      expect((await search('"quarterly budget"')).map((r) => r.message.body)).toEqual([
        'draft of the quarterly budget',
      ]);
      expect((await search('budget -draft')).map((r) => r.message.body)).not.toContain(
        'draft of the quarterly budget',
      );
      expect(await search('nothing-like-this')).toEqual([]);
    });

    it('answers malformed queries with 400 and a message', async () => {
      const { room, ada } = await chatRoom();
      for (const query of [
        'messages?before=0',
        'messages?before=abc',
        'messages?before=1.5',
        'messages?limit=1000',
        'messages?limit=0',
        'messages?sort=asc',
        'messages/search',
        'messages/search?q=',
        'messages/search?q=%20%20',
        `messages/search?q=${'x'.repeat(201)}`,
        'messages/search?q=a&limit=51',
      ]) {
        const answer = await client().json<{ code: string; message: string }>(
          'GET',
          `/api/rooms/${room.id}/${query}`,
          undefined,
          bearer(ada.token),
        );
        expect(answer.status, query).toBe(400);
        expect(answer.body.code).toBe('INVALID_ARGUMENT');
        expect(answer.body.message).toMatch(/^invalid query: /);
      }
      expect(
        (await client().json('GET', '/api/rooms/NOT_AN_ID/messages', undefined, bearer(ada.token))).status,
      ).toBe(400);
    });
  });

  it('says healthy or not to anyone, and each service and instance from Consul to operators only', async () => {
    await consul.passing('gateway');
    const response = await fetch(`${base}/api/health`);
    expect(response.status).toBe(503); // media, signaling, ui, log-viewer are not running here
    expect(await response.json()).toEqual({ status: 'degraded' }); // no addresses, no instance ids
    const member = await signedUp('Curious');
    expect((await member.api.json('GET', '/api/health')).body).toEqual({ status: 'degraded' });
    const operator = await signAccessToken(
      { userId: crypto.randomUUID(), displayName: 'Ops', operator: true, sessionId: crypto.randomUUID() },
      SECRET,
      60,
    );
    const detailed = await fetch(`${base}/api/health`, {
      headers: { authorization: `Bearer ${operator.token}` },
    });
    const body = (await detailed.json()) as {
      status: string;
      services: Record<string, { status: string; instances: { address: string }[] }>;
    };
    expect(body.status).toBe('degraded');
    expect(body.services.gateway.status).toBe('passing');
    expect(body.services.gateway.instances[0].address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(body.services.media.status).toBe('missing');
  });

  it('refuses sign-ins while the auth limiter cannot count them, and serves the rest of the API', async () => {
    const redis = await startPrivateRedis({ persistent: false });
    const gw = await Gateway.create(config({ REDIS_URL: redis.url }), quiet);
    try {
      const api = new ApiClient(`http://127.0.0.1:${gw.port}`, { address: randomAddress() });
      const login = { email: newAccount().email, password: 'whatever it is' };
      expect((await api.json('POST', '/api/auth/login', login)).status).toBe(401);
      await redis.stop();
      const refused = await api.json<{ code: string }>('POST', '/api/auth/login', login);
      expect(refused).toMatchObject({ status: 503, body: { code: 'UNAVAILABLE' } });
      expect((await api.json('GET', '/api/rooms/no-such-room')).status).toBe(404);
      // And it still shuts down promptly without its Redis.
      const closing = Date.now();
      await gw.close();
      expect(Date.now() - closing).toBeLessThan(5000);
    } finally {
      await gw.close();
      await redis.close();
    }
  }, 30_000);

  it('serves Prometheus metrics with request durations', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(
      /switchboard_http_request_seconds_count\{service="gateway",method="POST",route="\/api\/rooms",status="201"\} \d+/,
    );
  });
});
