/**
 * What held an event loop: reads V8 CPU profiles (`--cpu-prof`, e.g. from BENCH_CPU_PROF) and
 * lists the longest stretches without an idle sample, each with the functions that took the most
 * time in it (self time) and the outermost JavaScript frames it ran under. With `--from`/`--to`
 * (seconds into the profile, e.g. a benchmark's measured phase), also where all the time in that
 * window went: busy share per 5 s, self time by package and by function, inclusive time by
 * function (what docs/benchmarks.md quotes from a profile).
 *
 *   npx tsx bench/longTasks.ts <file.cpuprofile>... [--min-ms 50] [--top 8] [--from 52 --to 75]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args.splice(i, 2)[1]) : fallback;
};
const MIN_MS = option('--min-ms', 50);
const TOP = option('--top', 8);
const FROM_S = option('--from', NaN);
const TO_S = option('--to', NaN);

const add = (m: Map<string, number>, key: string, ms: number) => m.set(key, (m.get(key) ?? 0) + ms);
const list = (m: Map<string, number>, top: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => `      ${ms.toFixed(1).padStart(7)} ms  ${name}`)
    .join('\n');
/** The npm package (or the repository file, or the native function) a frame belongs to. */
const packageOf = (node: ProfileNode) => {
  const { url, functionName } = node.callFrame;
  return (
    (/node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
      url.replace(/^file:\/\/.*\/(services|common|bench)\//, '$1/') ??
      functionName) ||
    functionName
  );
};

const label = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(services|common)\//, '$1/');
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
};

for (const file of args) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parent.set(child, node.id);
    }
  }
  /** The frames from the root's child down to `id`. */
  const stack = (id: number) => {
    const frames: ProfileNode[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      frames.unshift(byId.get(at)!);
    }
    return frames.slice(1);
  };
  const idle = (id: number) => byId.get(id)?.callFrame.functionName === '(idle)';

  interface Task {
    startMs: number;
    ms: number;
    samples: number[];
    deltas: number[];
  }
  const tasks: Task[] = [];
  let clock = 0;
  let current: Task | undefined;
  let busyMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    clock += (profile.timeDeltas[i] ?? 0) / 1000;
    if (idle(id)) {
      current = undefined;
      return;
    }
    busyMs += ms;
    if (!current) {
      current = { startMs: clock, ms: 0, samples: [], deltas: [] };
      tasks.push(current);
    }
    current.ms += ms;
    current.samples.push(id);
    current.deltas.push(ms);
  });
  const long = tasks.filter((t) => t.ms >= MIN_MS).sort((a, b) => b.ms - a.ms);
  console.log(
    `${file}: ${(clock / 1000).toFixed(1)} s profiled, ${(busyMs / 1000).toFixed(1)} s busy; ${long.length} stretches ≥ ${MIN_MS} ms without idle`,
  );
  for (const task of long.slice(0, 10)) {
    const self = new Map<string, number>();
    const outer = new Map<string, number>();
    task.samples.forEach((id, i) => {
      const frames = stack(id);
      const leaf = label(frames.at(-1)!);
      add(self, leaf, task.deltas[i]);
      const js = frames.find((f) => f.callFrame.url !== '') ?? frames[0];
      add(outer, label(js), task.deltas[i]);
    });
    console.log(`  at ${(task.startMs / 1000).toFixed(2)} s: ${task.ms.toFixed(0)} ms busy`);
    console.log(`    self time:\n${list(self, TOP)}`);
    console.log(`    under:\n${list(outer, TOP)}`);
  }
  if (!Number.isNaN(FROM_S) && !Number.isNaN(TO_S)) {
    summarizeWindow(profile, stack, idle, FROM_S * 1000, TO_S * 1000);
  }
}

/** Where the time between `fromMs` and `toMs` went. */
function summarizeWindow(
  profile: Profile,
  stack: (id: number) => ProfileNode[],
  idle: (id: number) => boolean,
  fromMs: number,
  toMs: number,
): void {
  const perFive = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let clock = 0;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    clock += (profile.timeDeltas[i] ?? 0) / 1000;
    if (idle(id)) {
      return;
    }
    add(perFive, String(Math.floor(clock / 5000) * 5).padStart(4), ms);
    if (clock < fromMs || clock >= toMs) {
      return;
    }
    busy += ms;
    const frames = stack(id);
    add(self, label(frames.at(-1)!), ms);
    add(byPackage, packageOf(frames.at(-1)!), ms);
    for (const name of new Set(frames.map(label))) {
      add(inclusive, name, ms);
    }
  });
  const shares = [...perFive].sort().map(([at, ms]) => `${at.trim()}s:${((ms / 5000) * 100).toFixed(0)}%`);
  console.log(`  busy per 5 s: ${shares.join(' ')}`);
  console.log(`  ${fromMs / 1000}–${toMs / 1000} s: ${(busy / 1000).toFixed(1)} s busy`);
  console.log(`    self time by package:\n${list(byPackage, TOP * 3)}`);
  console.log(`    self time by function:\n${list(self, TOP * 3)}`);
  console.log(`    inclusive time by function:\n${list(inclusive, TOP * 6)}`);
}
