import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ExportLine } from '../audit/export.js';
import { type ConsistencyProofFile, verifyExport } from '../audit/offline.js';
import type { SignedDigest } from '../ports/audit-log.js';

// npm run audit:verify -- --public-key key.pem --digest digest.json --events events.ndjson
//   [--digest older.json ...] [--consistency proof.json ...] [--json]
// Exit status 0 when every event fits the signed record, 1 when anything does not, 2 on bad arguments.

const usage = 'usage: npm run audit:verify -- --public-key <pem> --digest <json> [--digest <json> ...] --events <ndjson> [--consistency <json> ...] [--json]';
let values: ReturnType<typeof parse>['values'];
function parse() {
  return parseArgs({
    options: {
      'public-key': { type: 'string' },
      digest: { type: 'string', multiple: true },
      events: { type: 'string' },
      consistency: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
  });
}
try {
  values = parse().values;
  if (!values['public-key'] || !values.digest?.length || !values.events) throw new Error('missing arguments');
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const publicKey = createPublicKey(readFileSync(values['public-key']!, 'utf8'));
const kept = values.digest!.map((file) => readJson<SignedDigest>(file));
const lines = readFileSync(values.events!, 'utf8')
  .split('\n')
  .filter((text) => text.trim() !== '')
  .map((text) => JSON.parse(text) as ExportLine);
const report = verifyExport({ publicKey, kept, lines, consistency: (values.consistency ?? []).map((file) => readJson<ConsistencyProofFile>(file)) });

if (values.json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(`${report.checked} events checked against the signed tree of ${report.treeSize ?? '?'} events`);
  for (const problem of report.problems) console.log(`PROBLEM  ${problem}`);
  for (const b of report.breaks) console.log(`BREAK    stream ${b.streamId} revision ${b.revision} position ${b.position}: ${b.reason}`);
  console.log(report.ok ? 'OK: every event fits the signed record' : `NOT OK: ${report.problems.length} problem(s), ${report.breaks.length} event(s) that do not fit`);
}
process.exit(report.ok ? 0 : 1);
