import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const HEARTBEAT_MS = 15_000;

export interface EventStream {
  /** Sends one message; nothing once the stream is closed. */
  send(id: string | number, event: string, data: unknown): void;
  /** Ends the stream (once): runs the route's own clean-up, then ends the response. */
  close(): void;
  readonly closed: boolean;
}

/**
 * Server-sent event streams of one plugin: each takes over its reply (headers, a comment at once, a heartbeat
 * comment every 15 s) and ends when the client goes, when the route closes it, or before the server closes —
 * live streams never end by themselves, so the server would otherwise wait for them.
 */
export function eventStreams(app: FastifyInstance) {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of [...open]) close();
  });

  return function openEventStream(request: FastifyRequest, reply: FastifyReply, onClose: () => void = () => {}): EventStream {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write(': connected\n\n');
    const heartbeat = setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS);
    const stream = {
      closed: false,
      send(id: string | number, event: string, data: unknown) {
        if (!stream.closed) raw.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
      close() {
        if (stream.closed) return;
        stream.closed = true;
        clearInterval(heartbeat);
        open.delete(stream.close);
        onClose();
        raw.end();
      },
    };
    open.add(stream.close);
    request.raw.on('close', stream.close);
    return stream;
  };
}
