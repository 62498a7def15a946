import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/**
 * `tsx bench/profile-top.ts <file.cpuprofile> [count]`: the profile's top frames by self time (and, for
 * each, the time spent under it), as a table; `(garbage collector)`, `(program)` and `(idle)` included.
 * Prints one JSON object with the rows, so two runs can be compared.
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  /** The sampled node of each tick: what `node --cpu-prof` writes instead of each node's hitCount. */
  samples?: number[];
}

const [file, countArg] = process.argv.slice(2);
if (!file) throw new Error('usage: tsx bench/profile-top.ts <file.cpuprofile> [count]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
if (profile.nodes.every((n) => n.hitCount === undefined)) {
  for (const id of profile.samples ?? []) {
    const n = byId.get(id);
    if (n) n.hitCount = (n.hitCount ?? 0) + 1;
  }
}
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);

const frameOf = (n: Node) => {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url ? relative(process.cwd(), url.replace(/^file:\/\//, '')).replace(/^node_modules\//, '') : '';
  return `${functionName || '(anonymous)'}${where ? ` ${where}:${lineNumber + 1}` : ''}`;
};

const self = new Map<string, number>();
const total = new Map<string, number>();
let hits = 0;
for (const n of profile.nodes) {
  const count = n.hitCount ?? 0;
  if (count === 0) continue;
  hits += count;
  const frame = frameOf(n);
  self.set(frame, (self.get(frame) ?? 0) + count);
  // Inclusive time: once per distinct frame on the stack (recursion counts once).
  const seen = new Set<string>();
  for (let id: number | undefined = n.id; id !== undefined; id = parentOf.get(id)) {
    const f = frameOf(byId.get(id)!);
    if (seen.has(f)) continue;
    seen.add(f);
    total.set(f, (total.get(f) ?? 0) + count);
  }
}
const pct = (n: number) => Math.round((1000 * n) / Math.max(1, hits)) / 10;
const top = [...self.entries()]
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(countArg ?? 25))
  .map(([frame, count]) => ({ self_pct: pct(count), total_pct: pct(total.get(frame) ?? 0), frame }));
console.log(JSON.stringify({ file, samples: hits, seconds: Math.round((profile.endTime - profile.startTime) / 1e4) / 100, top }, null, 1));
