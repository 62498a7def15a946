import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { importKinds, type ImportKind } from '../spreadsheets/fields.js';
import { contentTypes } from '../spreadsheets/write.js';

/**
 * `npm run import -- <file> --kind <kind>`: imports a workbook or CSV into a running Duban through its
 * HTTP API (POST /v1/imports as a job, then GET /v1/imports/:id for progress), so the command line has
 * the one code path the routes have: the same deciders, the same scope rules taken from the token, the
 * same group commit. It never opens the stores itself.
 */
export const exitCodes = {
  /** Every row passed (and, unless --dry-run, is stored). */
  ok: 0,
  /** The service could not be reached, or failed. */
  failed: 1,
  /** Unknown option, missing file or kind. */
  usage: 2,
  /** Rows were refused: nothing was appended (see the report). */
  rowsRefused: 3,
  /** The service refused the upload itself (401/403, 413 too large, 415 not a spreadsheet, a header missing). */
  uploadRefused: 4,
} as const;

const usage = `Usage: npm run import -- <file.xlsx|file.csv> --kind <kind> [options]

Imports one workbook or CSV into a running Duban over its HTTP API, with a progress bar.
Kinds: ${importKinds.join(', ')} (templates: GET /v1/imports/templates/<kind>.xlsx).

Options:
  --kind <kind>        what the file holds (required)
  --url <url>          the service (default $DUBAN_URL, else http://127.0.0.1:$PORT, PORT default 8080)
  --token <token>      a bearer token (default $DUBAN_TOKEN; make one with \`npm run token\`); its unit
                       and role are the import's scope: a county admin imports only inside the county
  --dry-run            check every row, append nothing
  --charset <cs>       CSV encoding utf-8 | gb18030 (default: UTF-8 when it decodes, else GB18030)
  --json               print the report as JSON on stdout (no progress bar)
  --report <file>      also write the report as JSON to <file>
  --annotated <file>   when rows are refused, save the file with the refusals marked (.xlsx) to <file>
  --no-progress        no progress bar
  -h, --help           this text

Exit codes: 0 every row passed; 1 service unreachable or failed; 2 usage; 3 rows refused (nothing
appended); 4 upload refused (token, size, not a spreadsheet, header row missing).`;

export interface ImportIo {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Poll interval of the job's progress (ms). */
  pollMs?: number;
}

interface Report {
  id: string;
  rows: number;
  valid: boolean;
  dryRun: boolean;
  rowsToAppend: number;
  rowsUnchanged: number;
  appended: boolean;
  issues: { row: number; column: string | null; rule: string; message: string; message_zh: string }[];
}

class Exit extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

function typeOf(file: string): string {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.xlsx') return contentTypes.xlsx;
  if (ext === '.csv' || ext === '.txt') return 'text/csv';
  return 'application/octet-stream';
}

async function call(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    throw new Exit(`cannot reach ${new URL(url).origin}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`, exitCodes.failed);
  }
}

/** A problem-details answer as one line, and the exit code it deserves. */
async function refusal(res: Response): Promise<Exit> {
  const text = await res.text();
  let detail = text;
  try {
    const body = JSON.parse(text) as { title?: string; detail?: string; rule?: string };
    detail = [body.title, body.detail, body.rule && `(${body.rule})`].filter(Boolean).join(': ');
  } catch {
    // not problem details
  }
  return new Exit(`${res.status} ${detail}`, res.status >= 500 || res.status === 429 ? exitCodes.failed : exitCodes.uploadRefused);
}

/** Runs the command; answers the exit code. */
export async function runImport(argv: string[], io: ImportIo): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        kind: { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        charset: { type: 'string' },
        json: { type: 'boolean', default: false },
        report: { type: 'string' },
        annotated: { type: 'string' },
        'no-progress': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${usage}\n`);
    return exitCodes.usage;
  }
  const { values, positionals } = args;
  if (values.help) {
    io.stdout(`${usage}\n`);
    return exitCodes.ok;
  }
  const fail = (message: string, code: number) => {
    io.stderr.write(`${message}\n`);
    return code;
  };
  const file = positionals[0];
  if (!file || positionals.length > 1) return fail(`give exactly one file\n\n${usage}`, exitCodes.usage);
  const kind = values.kind as ImportKind | undefined;
  if (!kind || !importKinds.includes(kind)) return fail(`--kind must be one of ${importKinds.join(', ')}\n\n${usage}`, exitCodes.usage);
  if (values.charset !== undefined && !['utf-8', 'gb18030'].includes(values.charset)) return fail('--charset must be utf-8 or gb18030', exitCodes.usage);
  const token = values.token ?? io.env['DUBAN_TOKEN'];
  if (!token) return fail('no token: give --token or set DUBAN_TOKEN (npm run token -- <userId> <unitId> <role>)', exitCodes.usage);
  const base = (values.url ?? io.env['DUBAN_URL'] ?? `http://127.0.0.1:${io.env['PORT'] ?? 8080}`).replace(/\/+$/, '');
  const showProgress = !values['no-progress'] && !values.json;

  let body: Buffer;
  try {
    body = await readFile(file);
  } catch (err) {
    return fail(`cannot read ${file}: ${(err as Error).message}`, exitCodes.usage);
  }
  const auth = { authorization: `Bearer ${token}` };
  const newBar = () =>
    new cliProgress.SingleBar(
      { stream: io.stderr, format: '{phase} [{bar}] {percentage}% | {value}/{total} rows | {duration_formatted}', hideCursor: false, noTTYOutput: true, notTTYSchedule: 2000 },
      cliProgress.Presets.shades_classic,
    );
  const bar = newBar();
  let barStarted = false;
  // A phase that ran between two polls is shown as finished, so the bar always tells both phases.
  const seen = new Set<string>();
  const labels: Record<string, string> = { checking: 'checking ', appending: 'appending' };
  const showFinished = (phase: string, total: number) => {
    if (!showProgress || seen.has(phase)) return;
    seen.add(phase);
    const line = newBar();
    line.start(total, total, { phase: labels[phase] });
    line.stop();
  };
  try {
    const query = new URLSearchParams({ kind, dryRun: String(values['dry-run']), async: 'true', ...(values.charset ? { charset: values.charset } : {}) });
    const started = await call(`${base}/v1/imports?${query}`, { method: 'POST', headers: { ...auth, 'content-type': typeOf(file) }, body });
    if (started.status !== 202) throw await refusal(started);
    const { id } = (await started.json()) as { id: string };

    let report: Report;
    let phase = '';
    for (;;) {
      const res = await call(`${base}/v1/imports/${id}`, { headers: auth });
      if (res.status !== 200) throw await refusal(res);
      const job = (await res.json()) as { status: string; phase?: string; done?: number; total?: number; rows?: number; report?: Report; error?: string };
      if (job.phase === 'appending' && job.rows !== undefined) showFinished('checking', job.rows);
      if (showProgress && job.phase && job.total) {
        const label = labels[job.phase] ?? job.phase;
        seen.add(job.phase);
        if (!barStarted) bar.start(job.total, 0, { phase: label });
        else if (job.phase !== phase) bar.setTotal(job.total);
        barStarted = true;
        phase = job.phase;
        bar.update(job.done ?? 0, { phase: label });
      }
      if (job.status === 'failed') throw new Exit(`the import failed on the service: ${job.error ?? 'no reason given'}`, exitCodes.failed);
      if (job.status === 'done') {
        report = { ...job.report!, id };
        break;
      }
      await new Promise((r) => setTimeout(r, io.pollMs ?? 300));
    }
    if (barStarted) bar.stop();
    barStarted = false;
    showFinished('checking', report.rows);
    if (report.appended) showFinished('appending', report.rowsToAppend);

    if (values.report) await writeFile(values.report, JSON.stringify(report, null, 2));
    if (!report.valid && values.annotated) {
      const res = await call(`${base}/v1/imports/${id}/annotated.xlsx`, { headers: auth });
      if (res.status !== 200) throw await refusal(res);
      await writeFile(values.annotated, Buffer.from(await res.arrayBuffer()));
    }
    if (values.json) io.stdout(`${JSON.stringify(report)}\n`);
    else {
      const what = report.dryRun ? 'dry run' : 'import';
      io.stderr.write(
        report.valid
          ? `${what} ${id}: ${report.rows} rows, ${report.rowsToAppend} ${report.dryRun ? 'would append' : 'appended'}, ${report.rowsUnchanged} already stored\n`
          : `${what} ${id}: ${report.issues.length} refusals in ${new Set(report.issues.map((i) => i.row)).size} of ${report.rows} rows; nothing appended\n` +
              report.issues
                .slice(0, 50)
                .map((i) => `  row ${i.row}${i.column ? ` ${i.column}` : ''}: ${i.rule} — ${i.message_zh} / ${i.message}\n`)
                .join('') +
              (report.issues.length > 50 ? `  … ${report.issues.length - 50} more (--report, --annotated)\n` : ''),
      );
    }
    return report.valid ? exitCodes.ok : exitCodes.rowsRefused;
  } catch (err) {
    if (barStarted) bar.stop();
    if (err instanceof Exit) return fail(err.message, err.code);
    return fail(`failed: ${(err as Error).message}`, exitCodes.failed);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await runImport(process.argv.slice(2), { env: process.env, stdout: (t) => process.stdout.write(t), stderr: process.stderr });
}
