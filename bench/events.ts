/**
 * What writing lifecycle events costs the join path: a participant joining (claim its identity,
 * add it, record its two producers) and leaving, through the same `ParticipantStore` calls
 * signaling makes, with the events written in the same scripts (as they are) against the same
 * calls with event recording off (the reference: same round trips, no XADD). Both run
 * interleaved, round by round, on one private Redis; we report each call's latency p50/p99 and the
 * Redis server's CPU per join+leave from /proc.
 */
import { Redis } from 'ioredis';
import { ParticipantStore } from '@switchboard/rooms';
import { cpuSecondsOfProcesses, startPrivateRedis } from '@switchboard/testing';
import { formatMs, summarize } from './stats';

const ROUNDS = 7;
// Enough per round that the Redis CPU (10 ms ticks in /proc) is resolved to a few µs per join.
const PER_ROUND = 4000;

type Timings = { join: number[]; leave: number[]; cpu: number[] };

export async function benchEvents(log: (line: string) => void): Promise<void> {
  const server = await startPrivateRedis({ persistent: false });
  const redis = new Redis(server.url);
  const store = new ParticipantStore(redis);
  const results: Record<'with events' | 'without (reference)', Timings> = {
    'with events': { join: [], leave: [], cpu: [] },
    'without (reference)': { join: [], leave: [], cpu: [] },
  };
  const redisCpu = () => cpuSecondsOfProcesses('redis-server', { under: process.pid });
  let n = 0;
  const once = async (record: boolean, t: Timings) => {
    const roomId = `bench-${n % 50}`;
    const peerId = `p${n++}`;
    const sub = `guest:${peerId}`;
    let t0 = performance.now();
    await store.claimIdentity(roomId, sub, peerId);
    await store.addPeer(
      roomId,
      { peerId, sub, displayName: 'Bench', role: 'participant', instanceId: 'bench', jti: peerId },
      record,
    );
    for (const kind of ['audio', 'video'] as const) {
      await store.addProducer(
        roomId,
        { producerId: `${peerId}-${kind}`, peerId, kind, paused: false },
        record,
      );
    }
    t.join.push(performance.now() - t0);
    t0 = performance.now();
    if (record) {
      await store.removePeer(roomId, peerId, 'left');
    } else {
      // The reference: the removal as it was before events (read its producers, then two HDELs
      // in one MULTI).
      await store.producers(roomId);
      await redis
        .multi()
        .hdel(`sb:room:${roomId}:peers`, peerId)
        .hdel(`sb:room:${roomId}:producers`, `${peerId}-audio`, `${peerId}-video`)
        .exec();
    }
    await store.releaseIdentity(roomId, sub, peerId);
    t.leave.push(performance.now() - t0);
  };
  try {
    for (let i = 0; i < 200; i++) {
      await once(i % 2 === 0, { join: [], leave: [], cpu: [] }); // warm-up
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, record] of [
        ['with events', true],
        ['without (reference)', false],
      ] as const) {
        const t = results[name];
        const cpu0 = redisCpu();
        for (let i = 0; i < PER_ROUND; i++) {
          await once(record, t);
        }
        t.cpu.push(((redisCpu() - cpu0) / PER_ROUND) * 1e6);
      }
    }
    log(`${ROUNDS} rounds × ${PER_ROUND} join+leave each, interleaved; one private Redis on loopback`);
    for (const [name, t] of Object.entries(results)) {
      const join = summarize(t.join);
      const leave = summarize(t.leave);
      const cpu = summarize(t.cpu);
      log(
        `  ${name.padEnd(20)} join (claim+add+2 producers) p50 ${formatMs(join.p50)} p99 ${formatMs(join.p99)}` +
          ` · leave p50 ${formatMs(leave.p50)} p99 ${formatMs(leave.p99)}` +
          ` · Redis CPU per join+leave median ${cpu.p50.toFixed(0)} µs (rounds ${t.cpu.map((c) => c.toFixed(0)).join(' ')})`,
      );
    }
    const w = results['with events'];
    const r = results['without (reference)'];
    const ratio = (a: number[], b: number[], q: 'p50' | 'p99') =>
      (summarize(a)[q] / summarize(b)[q]).toFixed(2);
    log(
      `  ratio with/without: join p50 ${ratio(w.join, r.join, 'p50')}× p99 ${ratio(w.join, r.join, 'p99')}×` +
        ` · leave p50 ${ratio(w.leave, r.leave, 'p50')}× p99 ${ratio(w.leave, r.leave, 'p99')}×` +
        ` · Redis CPU ${(summarize(w.cpu).p50 / summarize(r.cpu).p50).toFixed(2)}×`,
    );
    log(
      `  added per join p50 ${(summarize(w.join).p50 - summarize(r.join).p50).toFixed(3)} ms,` +
        ` p99 ${(summarize(w.join).p99 - summarize(r.join).p99).toFixed(3)} ms`,
    );
  } finally {
    redis.disconnect();
    await server.close();
  }
}
