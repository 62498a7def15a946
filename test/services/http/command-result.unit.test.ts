import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { describe, expect, test } from 'vitest';
import { commandResponses, commandResultSchema, sendOutcome } from '../../../services/http/routes/common.js';

describe("a command's answer", () => {
  test('is what the response schema makes of the outcome, byte for byte, with the ETag of its revision', async () => {
    const app = Fastify({ logger: false });
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    // What the handler may hand back beyond the documented fields never reaches the answer.
    const outcome = {
      streamId: 'problem-p1',
      revision: 7,
      position: '123456789012',
      events: [
        { eventId: 'e1', type: 'MeasureCompleted', data: { secret: 'x' } },
        { eventId: 'e2', type: 'ProblemSubmitted' },
      ],
      notDue: undefined,
    };
    app.post('/c', { schema: { response: commandResponses } }, async (_request, reply) => sendOutcome(reply, 'p1', outcome));
    app.post('/n', { schema: { response: commandResponses } }, async (_request, reply) =>
      sendOutcome(reply, 'p1', { streamId: 'problem-p1', revision: 0, position: null, events: [] }, 201),
    );

    const response = await app.inject({ method: 'POST', url: '/c' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers.etag).toBe('"7"');
    expect(response.payload).toBe(JSON.stringify(commandResultSchema.parse({ id: 'p1', ...outcome })));
    expect(response.payload).not.toContain('secret');

    const nothing = await app.inject({ method: 'POST', url: '/n' });
    expect(nothing.statusCode).toBe(201);
    expect(nothing.payload).toBe(JSON.stringify(commandResultSchema.parse({ id: 'p1', streamId: 'problem-p1', revision: 0, position: null, events: [] })));
    await app.close();
  });
});
