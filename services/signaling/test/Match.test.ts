/**
 * Meet someone over real sockets: two signaling instances (Redis between them), a media node,
 * Postgres. People on different instances are matched (interests first, anyone after the
 * fallback), each gets a token for the match's private room only and joins the call with it;
 * Next, Block, Report and a dropped connection end the match for both, close its room and tell
 * the other; a blocked pair never meets again; a report is recorded; reports from three different
 * people keep the reported out (identity and address) until an operator lifts it. Refusals: no
 * identity, the rules not accepted, reporting with nobody to report, one who is kept out.
 */
import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyJoinToken } from '@switchboard/auth';
import { MatchExclusionStore, MatchReportStore, RoomStore } from '@switchboard/db';
import type { Ack, MatchFound } from '@switchboard/protocol';
import { waitFor } from '@switchboard/testing';
import { joined, next, TestClients } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'match-test-secret-0123456789abcdef';
const FALLBACK_MS = 1000;
const GRACE_MS = 500;

interface Person {
  socket: Socket;
  guestId: string;
  matches: MatchFound[];
  ended: { matchId: string; reason: string }[];
  excluded: { until: string; reason: string }[];
}

describe('Meet someone: matchmaking across two signaling instances (real Redis, media, Postgres)', () => {
  let h: Harness;
  const sockets: Socket[] = [];
  const clients = new TestClients(SECRET);

  const arrive = async (
    instance: number,
    guestId: string | null = randomUUID(),
    /** Where the person comes from, as NGINX would forward it (loopback is a trusted proxy). */
    address?: string,
  ): Promise<Person> => {
    const socket = io(`http://127.0.0.1:${h.signaling[instance].port}/match`, {
      auth: guestId ? { guestId } : {},
      extraHeaders: address ? { 'x-forwarded-for': address } : {},
      transports: ['websocket'],
      reconnection: false,
      // Its own connection: a call socket to the same server is closed when the match ends.
      forceNew: true,
    });
    sockets.push(socket);
    const person: Person = { socket, guestId: guestId ?? '', matches: [], ended: [], excluded: [] };
    socket.on('matched', (m: MatchFound) => person.matches.push(m));
    socket.on('matchEnded', (e: { matchId: string; reason: string }) => person.ended.push(e));
    socket.on('excluded', (e: { until: string; reason: string }) => person.excluded.push(e));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error) => reject(error));
    });
    return person;
  };
  const ask = async <T = unknown>(p: Person, event: string, payload: unknown): Promise<Ack<T>> =>
    (await p.socket.timeout(5000).emitWithAck(event, payload)) as Ack<T>;
  const start = (p: Person, name: string, interests: string[] = []) =>
    ask<{ state: string }>(p, 'start', { name, interests, rules: true });
  const matchOf = async (p: Person, count = 1) => {
    await waitFor(async () => p.matches.length >= count, { timeoutMs: 5000, what: 'a match' });
    return p.matches[count - 1];
  };

  beforeAll(async () => {
    h = await startHarness({
      secret: SECRET,
      signalingInstances: 2,
      signalingEnv: {
        MATCH_FALLBACK_MS: String(FALLBACK_MS),
        MATCH_GRACE_MS: String(GRACE_MS),
        MATCH_EXCLUDE_AFTER_REPORTS: '3',
        MATCH_EXCLUSION_MS: '3600000',
      },
    });
  }, 120_000);

  afterAll(async () => {
    for (const socket of sockets) {
      socket.disconnect();
    }
    clients.closeAll();
    await h?.close();
  });

  it('refuses a socket without an identity, and a start without the rules accepted', async () => {
    await expect(arrive(0, null)).rejects.toThrow(/guestId/);
    const p = await arrive(0);
    const refused = await ask(p, 'start', { name: 'X', interests: [] });
    expect(refused).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    const nobody = await ask(p, 'report', { reason: 'spam' });
    expect(nobody).toMatchObject({ ok: false, error: { code: 'FAILED_PRECONDITION' } });
  });

  it('matches two people on different instances by a shared interest; each joins the private room with its own token', async () => {
    const ada = await arrive(0);
    const bob = await arrive(1);
    expect(await start(ada, 'Ada', ['chess', 'jazz'])).toEqual({ ok: true, data: { state: 'waiting' } });
    expect(await start(bob, 'Bob', ['Chess'])).toEqual({ ok: true, data: { state: 'matched' } });
    const [forAda, forBob] = [await matchOf(ada), await matchOf(bob)];
    expect(forAda).toMatchObject({ partner: { name: 'Bob' }, shared: ['chess'], matchId: forBob.matchId });
    expect(forBob).toMatchObject({ partner: { name: 'Ada' }, roomId: forAda.roomId });
    const claims = await verifyJoinToken(forAda.token, SECRET);
    expect(claims).toMatchObject({
      room: forAda.roomId,
      sub: `guest:${ada.guestId}`,
      name: 'Ada',
      role: 'participant',
    });
    expect((await new RoomStore(h.pool).get(forAda.roomId))?.policy).toBe('private');
    // Both join the call with their tokens (on either instance).
    const adaCall = await clients.connect(h.signaling[0].port, forAda.token);
    await joined(adaCall);
    const bobCall = await clients.connect(h.signaling[1].port, forBob.token);
    await joined(bobCall);

    // Bob presses Next: Ada is told, the call ends for her, the room goes; Bob waits again.
    const callEnded = next(adaCall, 'callEnded');
    expect(await ask(bob, 'next', {})).toEqual({ ok: true, data: { state: 'waiting' } });
    await waitFor(async () => ada.ended.length === 1, { timeoutMs: 5000, what: 'Ada told' });
    expect(ada.ended[0]).toEqual({ matchId: forAda.matchId, reason: 'next' });
    await callEnded;
    await waitFor(async () => !(await new RoomStore(h.pool).get(forAda.roomId)), {
      timeoutMs: 5000,
      what: "the match's room deleted",
    });
    // Ada goes back too: they just met, so they are not paired again, even past the fallback.
    expect(await start(ada, 'Ada', ['chess'])).toEqual({ ok: true, data: { state: 'waiting' } });
    await new Promise((r) => setTimeout(r, FALLBACK_MS + 600));
    expect(ada.matches).toHaveLength(1);
    expect(bob.matches).toHaveLength(1);

    // Cy (no interests) arrives: she takes anyone who waited past the fallback (Ada, the longer).
    const cy = await arrive(1);
    expect(await start(cy, 'Cy')).toEqual({ ok: true, data: { state: 'matched' } });
    expect((await matchOf(cy)).partner.name).toMatch(/Ada|Bob/);
    for (const p of [ada, bob, cy]) {
      await ask(p, 'leave', {});
    }
  });

  it('pairs someone with interests with anyone once the fallback passed', async () => {
    const dee = await arrive(0);
    const eve = await arrive(1);
    await start(dee, 'Dee', ['knitting']);
    const startedAt = Date.now();
    await start(eve, 'Eve', ['surfing']);
    const m = await matchOf(eve);
    expect(m.partner.name).toBe('Dee');
    expect(m.shared).toEqual([]);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(FALLBACK_MS - 300);
    await ask(dee, 'leave', {});
  });

  it('never pairs a blocked pair again; a report ends the match and is recorded for operators', async () => {
    const fay = await arrive(0);
    const gus = await arrive(1);
    await start(fay, 'Fay');
    await start(gus, 'Gus');
    const m = await matchOf(gus);
    expect(await ask(fay, 'block', {})).toEqual({ ok: true, data: {} });
    await waitFor(async () => gus.ended.length === 1, { timeoutMs: 5000, what: 'Gus told' });
    expect(gus.ended[0]).toEqual({ matchId: m.matchId, reason: 'left' });
    await start(fay, 'Fay');
    await start(gus, 'Gus');
    await new Promise((r) => setTimeout(r, FALLBACK_MS + 600));
    expect(gus.matches).toHaveLength(1);

    // Hal arrives: he meets one of them, and reports them.
    const hal = await arrive(0);
    await start(hal, 'Hal');
    const met = await matchOf(hal);
    expect(await ask(hal, 'report', { reason: 'harassment' })).toEqual({ ok: true, data: {} });
    const reported = met.partner.name === 'Fay' ? fay : gus;
    await waitFor(async () => reported.ended.length >= (reported === gus ? 2 : 1), {
      timeoutMs: 5000,
      what: 'the reported one told',
    });
    const reports = await new MatchReportStore(h.pool).list(10, `guest:${reported.guestId}`);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      matchId: met.matchId,
      reporter: `guest:${hal.guestId}`,
      reason: 'harassment',
    });
    expect(m.matchId).not.toBe(met.matchId);
    for (const p of [fay, gus]) {
      await ask(p, 'leave', {});
    }
  });

  it('keeps a Block or Report pressed as the other pressed Next: recorded, and the two never meet again', async () => {
    const lee = await arrive(0);
    const max = await arrive(1);
    await start(lee, 'Lee');
    await start(max, 'Max');
    const m = await matchOf(lee);
    // Max moves on first; Lee's report (of the match it saw) arrives after.
    expect(await ask(max, 'next', {})).toMatchObject({ ok: true });
    expect(await ask(lee, 'report', { reason: 'hate', matchId: m.matchId })).toEqual({ ok: true, data: {} });
    const reports = await new MatchReportStore(h.pool).list(10, `guest:${max.guestId}`);
    expect(reports).toMatchObject([{ matchId: m.matchId, reporter: `guest:${lee.guestId}`, reason: 'hate' }]);
    // Someone else's match, or one that never was: refused.
    const nosy = await arrive(0);
    expect(await ask(nosy, 'block', { matchId: m.matchId })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    expect(await ask(nosy, 'report', { reason: 'spam', matchId: 'no-such-match' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    // Blocked both ways: past the fallback and the recent window they still do not meet.
    await start(lee, 'Lee');
    await new Promise((r) => setTimeout(r, FALLBACK_MS + 600));
    expect(lee.matches).toHaveLength(1);
    expect(max.matches).toHaveLength(1);
    for (const p of [lee, max, nosy]) {
      await ask(p, 'leave', {});
    }
  });

  it('refuses malformed requests with a clear error, and slows down many starts and quick skips', async () => {
    const pat = await arrive(0);
    for (const [event, payload, pattern] of [
      ['start', { name: 'Pat', interests: ['ok', 'no/slash'], rules: true }, /letters, digits/],
      ['start', { name: 'Pat', interests: ['a', 'b', 'c', 'd', 'e', 'f'], rules: true }, /at most 5/],
      ['start', { name: 'x'.repeat(41), interests: [], rules: true }, /at most 40/],
      ['start', { name: 'Pat', interests: [], rules: true, admin: true }, /admin/],
      ['start', 'Pat', /payload/],
      ['report', { reason: 'boring' }, /reason/],
      ['block', { matchId: 'a b' }, /match id/],
    ] as const) {
      const answer = await ask(pat, event, payload);
      expect(answer, `${event} ${JSON.stringify(payload)}`).toMatchObject({
        ok: false,
        error: { code: 'INVALID_ARGUMENT' },
      });
      expect(!answer.ok && answer.error.message).toMatch(pattern);
    }
    // A skip (Next within a second of meeting) costs five of the 30 a minute, a start one.
    const quinn = await arrive(1);
    await start(pat, 'Pat');
    await start(quinn, 'Quinn');
    await matchOf(quinn);
    expect(await ask(pat, 'next', {})).toMatchObject({ ok: true });
    await ask(quinn, 'leave', {});
    // 1 + 5 spent: 24 more go through, and nothing more.
    const answers: Ack<{ state: string }>[] = [];
    for (let i = 0; i < 30; i++) {
      answers.push(await start(pat, 'Pat'));
    }
    expect(answers.filter((a) => a.ok)).toHaveLength(24);
    expect(answers.slice(24).every((a) => !a.ok && a.error.code === 'RESOURCE_EXHAUSTED')).toBe(true);
    expect(!answers[29].ok && answers[29].error.message).toMatch(/slow down/);
    expect(await ask(pat, 'leave', {})).toEqual({ ok: true, data: {} });
  });

  it("answers a socket's requests one at a time in the order sent, and refuses a flood of them", async () => {
    // Next then Leave at once: the Leave waits for the Next, so the person is left out of the
    // queue (answered at once, the Leave found nothing and the Next then queued them).
    const rowan = await arrive(0);
    const sage = await arrive(1);
    await start(rowan, 'Rowan');
    await start(sage, 'Sage');
    const { matchId } = await matchOf(rowan);
    const [nextAnswer, leaveAnswer] = await Promise.all([ask(rowan, 'next', {}), ask(rowan, 'leave', {})]);
    expect(nextAnswer).toMatchObject({ ok: true });
    expect(leaveAnswer).toEqual({ ok: true, data: {} });
    expect(await h.redis.get(`sb:mm:who:guest:${rowan.guestId}`)).toBeNull();
    await waitFor(async () => sage.ended.some((e) => e.matchId === matchId), { what: 'Sage told' });
    await ask(sage, 'leave', {});
    // Twenty at once: eight wait their turn, the rest are refused without being kept.
    const flood = await Promise.all(Array.from({ length: 20 }, () => ask(rowan, 'leave', {})));
    expect(flood.filter((a) => a.ok)).toHaveLength(8);
    const refused = flood.filter((a) => !a.ok);
    expect(refused).toHaveLength(12);
    expect(refused[0]).toMatchObject({ ok: false, error: { code: 'RESOURCE_EXHAUSTED' } });
    expect(!refused[0].ok && refused[0].error.message).toMatch(/at once/);
    expect(await ask(rowan, 'leave', {})).toEqual({ ok: true, data: {} });
  });

  it('frees the partner when someone’s connection is gone past the grace period, not before', async () => {
    const ivy = await arrive(0);
    const jon = await arrive(1);
    await start(ivy, 'Ivy');
    await start(jon, 'Jon');
    const ivyAndJon = await matchOf(jon);
    ivy.socket.disconnect();
    await new Promise((r) => setTimeout(r, GRACE_MS / 2));
    expect(jon.ended).toEqual([]);
    await waitFor(async () => jon.ended.length === 1, { timeoutMs: 5000, what: 'Jon told' });
    expect(jon.ended[0]).toEqual({ matchId: ivyAndJon.matchId, reason: 'disconnected' });

    // Back within the grace period: the match holds.
    const kim = await arrive(0);
    await ask(jon, 'start', { name: 'Jon', interests: [], rules: true });
    await start(kim, 'Kim');
    await matchOf(kim);
    const kimId = kim.guestId;
    kim.socket.disconnect();
    const again = await arrive(1, kimId);
    await new Promise((r) => setTimeout(r, GRACE_MS * 2));
    expect(jon.ended).toHaveLength(1);
    expect(await ask(again, 'leave', {})).toEqual({ ok: true, data: {} });
    await waitFor(async () => jon.ended.length === 2, { timeoutMs: 5000, what: 'Jon told again' });
  });

  it('keeps out someone three different people reported (identity and address) until an operator lifts it; one reporter with many identities counts once', async () => {
    // Addresses of this run only (reports and exclusions stay in the test database).
    const net = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.`;
    const vicId = randomUUID();
    const vic = await arrive(0, vicId, `${net}66`);
    /** Vic waits, `reporter` (a new stranger) meets Vic and reports them. */
    const reportVic = async (instance: number, address: string) => {
      expect(await start(vic, 'Vic')).toEqual({ ok: true, data: { state: 'waiting' } });
      const reporter = await arrive(instance, randomUUID(), address);
      expect(await start(reporter, 'Reporter')).toEqual({ ok: true, data: { state: 'matched' } });
      await matchOf(reporter);
      const endedBefore = vic.ended.length;
      expect(await ask(reporter, 'report', { reason: 'harassment' })).toEqual({ ok: true, data: {} });
      await waitFor(async () => vic.ended.length > endedBefore, { timeoutMs: 5000, what: 'Vic told' });
      await ask(reporter, 'leave', {});
    };
    await reportVic(1, `${net}1`);
    // The same person again, with a new guest identity: still one person.
    await reportVic(0, `${net}1`);
    await reportVic(1, `${net}2`);
    expect(vic.excluded).toEqual([]);
    await reportVic(0, `${net}3`);
    await waitFor(async () => vic.excluded.length === 1, {
      timeoutMs: 5000,
      what: 'Vic told of the exclusion',
    });
    expect(vic.excluded[0].reason).toBe('reported by 3 people');
    const until = Date.parse(vic.excluded[0].until);
    expect(until - Date.now()).toBeGreaterThan(3_500_000);

    // Refused, by identity and by address (a new guest id from the same place), with the reason.
    const refused = await start(vic, 'Vic');
    expect(refused).toMatchObject({ ok: false, error: { code: 'PERMISSION_DENIED' } });
    expect(!refused.ok && refused.error.message).toMatch(
      /kept out of Meet someone until .*reported by 3 people/,
    );
    const disguised = await arrive(1, randomUUID(), `${net}66`);
    expect(await start(disguised, 'Not Vic')).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED' },
    });
    expect(disguised.excluded).toHaveLength(1);
    // Somebody else is not kept out.
    const other = await arrive(1, randomUUID(), `${net}67`);
    expect(await start(other, 'Other')).toEqual({ ok: true, data: { state: 'waiting' } });
    await ask(other, 'leave', {});

    // An operator lifts it (the gateway's route calls the same store): Vic may meet people again.
    const exclusions = new MatchExclusionStore(h.pool);
    const current = await exclusions.active(`guest:${vicId}`);
    expect(current).toMatchObject({ address: `${net}66`, createdBy: 'auto' });
    expect(await exclusions.lift(current!.id, 'operator-test')).toBeDefined();
    expect(await start(vic, 'Vic')).toEqual({ ok: true, data: { state: 'waiting' } });
    await ask(vic, 'leave', {});
  });
});
