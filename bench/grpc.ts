/**
 * signaling→media gRPC unary latency on loopback: a real MediaNode (one mediasoup worker) and
 * signaling's own MediaClient (deadline + correlation metadata + histogram), side by side with
 * grpc.health.v1 Check on the same server as the floor of any unary call. Calls are interleaved
 * so machine noise hits every kind alike.
 */
import * as grpc from '@grpc/grpc-js';
import { ServiceCredentials } from '@switchboard/auth';
import { createLogger } from '@switchboard/logger';
import { mediaTestEnv, startConsul, TEST_SERVICE_SECRET } from '@switchboard/testing';
import { readConfig } from '../services/media/src/config';
import { MediaNode } from '../services/media/src/MediaNode';
import { MediaClient } from '../services/signaling/src/MediaClient';
import { formatMs, summarize } from './stats';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);

/** The raw grpc.health.v1 Check, with the same deadline handling as MediaClient. */
function healthCheck(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (arg: Buffer) => arg,
      (buf: Buffer) => buf,
      Buffer.alloc(0),
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
      (error) => (error ? reject(error) : resolve()),
    );
  });
}

export async function benchGrpc(
  log: (line: string) => void,
): Promise<Record<string, ReturnType<typeof summarize>>> {
  const consul = await startConsul();
  const node = await MediaNode.create(
    readConfig(mediaTestEnv(consul.addr, { MEDIA_RTC_MIN_PORT: '29000', MEDIA_RTC_MAX_PORT: '29999' })),
    createLogger({ service: 'media', level: 'warn', stdout: false }).logger,
  );
  const address = `127.0.0.1:${node.grpcPort}`;
  const media = new MediaClient({
    instanceId: 'bench',
    address,
    timeoutMs: 5000,
    credentials: new ServiceCredentials(TEST_SERVICE_SECRET, 'bench'),
  });
  const raw = new grpc.Client(address, grpc.credentials.createInsecure());
  const roomId = 'bench-room';
  const samples: Record<string, number[]> = {
    'health.Check (floor)': [],
    GetRouterRtpCapabilities: [],
    'CreateWebRtcTransport+Close': [],
  };
  const time = async (name: string, fn: () => Promise<unknown>) => {
    const t0 = process.hrtime.bigint();
    await fn();
    samples[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
  };
  try {
    await media.call('getRouterRtpCapabilities', { roomId }, { correlationId: 'warmup' });
    for (let i = 0; i < 200; i++) {
      await healthCheck(raw);
      await media.call('getRouterRtpCapabilities', { roomId }, { correlationId: 'warmup' });
    }
    log(`    ${ITERATIONS} interleaved iterations…`);
    for (let i = 0; i < ITERATIONS; i++) {
      await time('health.Check (floor)', () => healthCheck(raw));
      await time('GetRouterRtpCapabilities', () =>
        media.call('getRouterRtpCapabilities', { roomId }, { correlationId: `bench-${i}` }),
      );
      if (i % 4 === 0) {
        await time('CreateWebRtcTransport+Close', async () => {
          const t = await media.call(
            'createWebRtcTransport',
            { roomId, peerId: 'bench-peer', producing: false, sctp: false },
            { correlationId: `bench-${i}` },
          );
          await media.call(
            'closeWebRtcTransport',
            { roomId, transportId: t.transportId },
            { correlationId: `bench-${i}` },
          );
        });
      }
    }
  } finally {
    raw.close();
    media.close();
    await node.close();
    await consul.close();
  }
  const floor = summarize(samples['health.Check (floor)']);
  const results: Record<string, ReturnType<typeof summarize>> = {};
  for (const [name, values] of Object.entries(samples)) {
    const s = summarize(values);
    results[name] = s;
    log(
      `    ${name.padEnd(30)} n=${String(s.n).padStart(5)}  p50 ${formatMs(s.p50)}  p99 ${formatMs(s.p99)}  p50 ratio to floor ${(s.p50 / floor.p50).toFixed(2)}×`,
    );
  }
  return results;
}
