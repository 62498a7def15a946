import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../../e2e/support/client.js';
import { registerPrefecture, U } from '../../e2e/support/prefecture.js';
import { startTestService, type TestService } from '../../e2e/support/service.js';

/** Server-sent events as they arrived: id, event name and parsed data of each message. */
async function readEvents(res: Response) {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.split('\n').some((l) => l.startsWith('data: ')))
    .map((block) => {
      const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
      return { id: Number(field('id')), event: field('event'), data: JSON.parse(field('data') ?? 'null') as Record<string, unknown> };
    });
}

describe('import progress as server-sent events', () => {
  let svc: TestService;
  let token: string;
  const rows = 3000;
  const csv = ['户编号,所属村代码,家庭人口,户类别', ...Array.from({ length: rows }, (_, i) => `sse-${i},${U.qibie},3,监测户`)].join('\n');
  const stream = (id: string, headers: Record<string, string> = {}, as = token) =>
    fetch(`${svc.baseUrl}/v1/imports/${id}/events`, { headers: { authorization: `Bearer ${as}`, accept: 'text/event-stream', ...headers } });

  beforeAll(async () => {
    svc = await startTestService();
    token = await svc.token(U.diqing, 'admin');
    await registerPrefecture(client(svc.baseUrl, token));
  });
  afterAll(async () => svc?.stop());

  it('streams progress while the job runs, then its report, and resumes after Last-Event-ID', async () => {
    const posted = await fetch(`${svc.baseUrl}/v1/imports?kind=households&dryRun=false&async=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body: csv });
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };

    const res = await stream(id);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readEvents(res);
    const progress = events.filter((e) => e.event === 'progress');
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.map((e) => e.data['phase'])).toContain('appending');
    // Ids only grow, and the stream ends with one final event carrying the report.
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ event: 'done', data: { id, status: 'done', report: { rows, valid: true, appended: true, rowsToAppend: rows } } });

    // Resuming after a progress event gives only what is newer: here, the final event.
    const resumed = await readEvents(await stream(id, { 'last-event-id': String(progress[0]!.id) }));
    expect(resumed).toEqual([last]);
    // After the final event there is nothing more: 204, so an EventSource stops reconnecting.
    expect((await stream(id, { 'last-event-id': String(last.id) })).status).toBe(204);
  });

  it('is the owner’s only, like GET /v1/imports/:id', async () => {
    const posted = await fetch(`${svc.baseUrl}/v1/imports?kind=households&async=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body: csv.split('\n').slice(0, 3).join('\n') });
    const { id } = (await posted.json()) as { id: string };
    const other = await svc.token(U.diqing, 'admin', 'someone-else');
    const res = await stream(id, {}, other);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ rule: 'import.not_found' });
  });
});
