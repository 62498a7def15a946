import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../e2e/support/service.js';

/** POST /v1/imports with bodies that are not a file part, as a fuzzer sends them (schemathesis found the 500s). */
describe('an import whose multipart body is malformed', () => {
  let svc: TestService;
  let token: string;

  beforeAll(async () => {
    svc = await startTestService();
    token = await svc.token('533400', 'admin');
  });
  afterAll(async () => svc?.stop());

  const post = (contentType: string, body?: string) =>
    fetch(`${svc.baseUrl}/v1/imports?kind=units`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
      ...(body !== undefined ? { body } : {}),
    });

  it.each([
    ['without a boundary', 'multipart/form-data', undefined],
    ['without a boundary, with a body', 'multipart/form-data', 'hello'],
    ['that ends before its first part', 'multipart/form-data; boundary=xyz', 'garbage'],
    ['with a part that is not a file', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nhello\r\n--xyz--\r\n'],
  ])('answers a body %s with 400 problem details, not a server error', async (_name, contentType, body) => {
    const res = await post(contentType, body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({ type: 'https://duban.dev/problems/validation', rule: 'import.multipart' });
  });
});
