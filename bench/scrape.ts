/**
 * What a Prometheus scrape costs a process with many connections (`npm run bench -- scrape`):
 * the time one `/metrics` collection holds the event loop, ours (`createRegistry`) against
 * prom-client's default metrics as they come, with BENCH_SCRAPE_SOCKETS (10000) TCP sockets open
 * in this process (loopback connections with both ends here: half as many connections), as a
 * signaling instance holds one per browser. Each side is scraped
 * BENCH_SCRAPE_RUNS (30) times, alternating; medians and worst of: the event loop's busy time
 * during the scrape (event-loop utilisation) and its longest turn (the largest gap of a 1 ms timer
 * running meanwhile).
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { client, createRegistry } from '@switchboard/metrics';
import { summarize } from './stats';

const SOCKETS = Number(process.env.BENCH_SCRAPE_SOCKETS ?? 10_000);
const RUNS = Number(process.env.BENCH_SCRAPE_RUNS ?? 30);

interface Scrape {
  busyMs: number;
  longestTurnMs: number;
}

/** One collection of `registry`: how long the loop was busy with it and its longest turn. */
async function scrapeOnce(registry: client.Registry): Promise<Scrape> {
  let last = performance.now();
  let longest = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  // Let the ticker start, so the first gap measured is the scrape's.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const before = performance.eventLoopUtilization();
  last = performance.now();
  const body = await registry.metrics();
  const used = performance.eventLoopUtilization(before);
  longest = Math.max(longest, performance.now() - last);
  clearInterval(ticker);
  if (!body.includes('process_open_fds')) {
    throw new Error('the scrape has no process_open_fds');
  }
  return { busyMs: used.active, longestTurnMs: longest };
}

async function openConnections(count: number): Promise<{ close: () => Promise<void> }> {
  const accepted: Socket[] = [];
  const server = createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const opened: Socket[] = [];
  for (let i = 0; i < count; i += 500) {
    const batch = Array.from(
      { length: Math.min(500, count - i) },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = createConnection(port, '127.0.0.1', () => resolve(socket));
          socket.once('error', reject);
        }),
    );
    opened.push(...(await Promise.all(batch)));
  }
  return {
    close: async () => {
      for (const socket of [...opened, ...accepted]) {
        socket.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export async function benchScrape(log: (line: string) => void): Promise<void> {
  log(
    `    ${SOCKETS} sockets open (${SOCKETS / 2} loopback connections); ${RUNS} scrapes of each registry, alternating`,
  );
  const connections = await openConnections(SOCKETS / 2);
  try {
    const reference = new client.Registry();
    client.collectDefaultMetrics({ register: reference });
    const ours = createRegistry('bench');
    const sides = [
      { name: "prom-client's default metrics", registry: reference, runs: [] as Scrape[] },
      { name: 'ours (createRegistry)', registry: ours, runs: [] as Scrape[] },
    ];
    for (let run = 0; run < RUNS; run++) {
      for (const side of sides) {
        side.runs.push(await scrapeOnce(side.registry));
      }
    }
    for (const side of sides) {
      const busy = summarize(side.runs.map((r) => r.busyMs));
      const turns = summarize(side.runs.map((r) => r.longestTurnMs));
      log(
        `    ${side.name}: loop busy per scrape median ${busy.p50.toFixed(2)} ms (worst ` +
          `${busy.max.toFixed(2)}), longest turn median ${turns.p50.toFixed(2)} ms (worst ${turns.max.toFixed(2)})`,
      );
    }
    const [ref, ourSide] = sides.map((s) => summarize(s.runs.map((r) => r.busyMs)).p50);
    log(`    ratio ours / default: loop busy per scrape ${(ourSide / ref).toFixed(2)}×`);
  } finally {
    await connections.close();
  }
}
