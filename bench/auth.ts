/**
 * Sign-in and session renewal latency on this machine: a real gateway (Fastify, argon2id at
 * OWASP's parameters, Postgres, Redis) over loopback HTTP. Login = argon2id verify + a refresh
 * token row + an access JWT; refresh = one transaction that spends the presented token and issues
 * the next (rotation). Interleaved with the gateway's own /healthz as the HTTP floor and a bare
 * argon2id verify as the hashing floor, so the ratios hold however noisy the machine is.
 */
import argon2 from 'argon2';
import { createLogger } from '@switchboard/logger';
import {
  ApiClient,
  newAccount,
  randomAddress,
  startConsul,
  testDatabaseUrl,
  testRedisUrl,
} from '@switchboard/testing';
import { ensureDatabase } from '@switchboard/db';
import { ARGON2_OPTIONS } from '../services/gateway/src/Accounts';
import { readConfig } from '../services/gateway/src/config';
import { Gateway } from '../services/gateway/src/Gateway';
import { formatMs, summarize } from './stats';

const ITERATIONS = Number(process.env.BENCH_AUTH_ITERATIONS ?? 200);

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function benchAuth(log: (line: string) => void): Promise<void> {
  const consul = await startConsul();
  await ensureDatabase(testDatabaseUrl());
  const gateway = await Gateway.create(
    readConfig({
      CONSUL_HTTP_ADDR: consul.addr,
      GATEWAY_PORT: '0',
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL: testRedisUrl(),
      JWT_SECRET: 'bench-secret-0123456789-abcdef',
      API_RATE_LIMIT_PER_MINUTE: '1000000',
      AUTH_RATE_LIMIT_PER_MINUTE: '1000000',
    }),
    createLogger({ service: 'gateway', level: 'warn', stdout: false }).logger,
  );
  try {
    const base = `http://127.0.0.1:${gateway.port}`;
    const account = newAccount('Bench');
    const user = new ApiClient(base, { address: randomAddress() });
    await user.request('POST', '/api/auth/register', account);
    const hash = await argon2.hash(account.password, ARGON2_OPTIONS);
    const samples = {
      floor: [] as number[],
      verify: [] as number[],
      login: [] as number[],
      refresh: [] as number[],
    };
    // Warm-up (JIT, pools, connections).
    for (let i = 0; i < 10; i++) {
      await fetch(`${base}/healthz`);
      await user.request('POST', '/api/auth/refresh');
    }
    for (let i = 0; i < ITERATIONS; i++) {
      samples.floor.push(await timed(() => fetch(`${base}/healthz`).then((r) => r.arrayBuffer())));
      samples.verify.push(await timed(() => argon2.verify(hash, account.password)));
      samples.login.push(
        await timed(async () => {
          const response = await new ApiClient(base, { address: user.address }).request(
            'POST',
            '/api/auth/login',
            {
              email: account.email,
              password: account.password,
            },
          );
          if (response.status !== 200) {
            throw new Error(`login answered ${response.status}`);
          }
        }),
      );
      samples.refresh.push(
        await timed(async () => {
          const response = await user.request('POST', '/api/auth/refresh');
          if (response.status !== 200) {
            throw new Error(`refresh answered ${response.status}`);
          }
        }),
      );
    }
    const floor = summarize(samples.floor);
    log(
      `    ${ITERATIONS} interleaved iterations; argon2id m=${ARGON2_OPTIONS.memoryCost} KiB, t=${ARGON2_OPTIONS.timeCost}, p=${ARGON2_OPTIONS.parallelism}`,
    );
    log('    call                                   p50          p99     p50 / HTTP floor');
    for (const [name, values] of [
      ['GET /healthz (HTTP floor)', samples.floor],
      ['argon2id verify alone (no HTTP)', samples.verify],
      ['POST /api/auth/login', samples.login],
      ['POST /api/auth/refresh (rotation)', samples.refresh],
    ] as const) {
      const s = summarize(values);
      log(
        `    ${name.padEnd(34)} ${formatMs(s.p50)} ${formatMs(s.p99)}     ${(s.p50 / floor.p50).toFixed(1)}×`,
      );
    }
  } finally {
    await gateway.close();
    await consul.close();
  }
}
