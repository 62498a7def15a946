import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { render, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEventStream, useEventStream, type StreamMessage } from './event-stream.js';

describe('parseEventStream', () => {
  it('splits complete messages from the incomplete rest, skipping comments', () => {
    const { messages, rest } = parseEventStream(': connected\n\nid: 7\nevent: ProblemCleared\ndata: {"a":1}\n\nid: 8\nevent: Pro');
    expect(messages).toEqual([{ id: '7', event: 'ProblemCleared', data: '{"a":1}' }]);
    expect(rest).toBe('id: 8\nevent: Pro');
  });

  it('joins multi-line data and accepts CRLF', () => {
    expect(parseEventStream('data: one\r\ndata: two\r\n\r\n').messages).toEqual([{ id: undefined, event: 'message', data: 'one\ntwo' }]);
  });
});

/** A real SSE server: the first connection sends two events then drops; later ones send one more and stay open. */
function sseServer() {
  const connections: IncomingHttpHeaders[] = [];
  const open: ServerResponse[] = [];
  const server: Server = createServer((request, response) => {
    connections.push(request.headers);
    if (request.headers.authorization !== 'Bearer t-1') {
      response.writeHead(401).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'access-control-allow-origin': '*' });
    if (connections.length === 1) {
      response.end(': connected\n\nid: 5\nevent: ProblemFound\ndata: {"n":5}\n\nid: 6\nevent: ProblemAcknowledged\ndata: {"n":6}\n\n');
    } else {
      response.write('id: 7\nevent: ProblemCleared\ndata: {"n":7}\n\n');
      open.push(response);
    }
  });
  return {
    connections,
    listen: () => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events/stream`))),
    close: () => {
      for (const response of open) response.end();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function Listener({ url, token, messages, onUnauthenticated }: { url: string; token: string; messages: StreamMessage[]; onUnauthenticated?: () => void }) {
  useEventStream({ url, token, enabled: true, retryMs: 50, onMessage: (m) => messages.push(m), ...(onUnauthenticated ? { onUnauthenticated } : {}) });
  return null;
}

describe('useEventStream', () => {
  let server: ReturnType<typeof sseServer> | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('sends the bearer token, and resumes after a drop with Last-Event-ID', async () => {
    server = sseServer();
    const url = await server.listen();
    const messages: StreamMessage[] = [];
    const view = render(<Listener url={url} token="t-1" messages={messages} />);
    await waitFor(() => expect(messages.map((m) => m.id)).toEqual(['5', '6', '7']), { timeout: 5000 });
    expect(messages[2]).toEqual({ id: '7', event: 'ProblemCleared', data: '{"n":7}' });
    expect(server.connections[0]!['authorization']).toBe('Bearer t-1');
    expect(server.connections[0]!['last-event-id']).toBeUndefined();
    expect(server.connections[1]!['last-event-id']).toBe('6');
    view.unmount();
  });

  it('stops and reports a refused token instead of retrying', async () => {
    server = sseServer();
    const url = await server.listen();
    let refused = 0;
    const view = render(<Listener url={url} token="expired" messages={[]} onUnauthenticated={() => refused++} />);
    await waitFor(() => expect(refused).toBe(1));
    await new Promise((r) => setTimeout(r, 200));
    expect(server.connections).toHaveLength(1);
    view.unmount();
  });
});
