import { useEffect, useRef } from 'react';

export interface StreamMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * Splits the text received so far into complete server-sent-event messages and the incomplete rest.
 * Comments (`: ping`) and messages without data are dropped, as EventSource does.
 */
export function parseEventStream(buffer: string): { messages: StreamMessage[]; rest: string } {
  const normalised = buffer.replace(/\r\n?/g, '\n');
  const blocks = normalised.split('\n\n');
  const rest = blocks.pop() ?? '';
  const messages: StreamMessage[] = [];
  for (const block of blocks) {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) messages.push({ id, event, data: data.join('\n') });
  }
  return { messages, rest };
}

export interface EventStreamOptions {
  url: string;
  token: string | null;
  /** Off: no connection (signed out, or inspection mode where the page shows a fixed moment). */
  enabled: boolean;
  onMessage: (message: StreamMessage) => void;
  /** The token was refused: reconnecting would not help. */
  onUnauthenticated?: () => void;
  retryMs?: number;
}

/**
 * The live event stream over fetch, because a browser EventSource cannot send the Authorization header.
 * A dropped connection is reopened after `retryMs` with `Last-Event-ID` set to the last message seen, so
 * nothing in between is missed.
 */
export function useEventStream({ url, token, enabled, onMessage, onUnauthenticated, retryMs = 2000 }: EventStreamOptions): void {
  const handlers = useRef({ onMessage, onUnauthenticated });
  handlers.current = { onMessage, onUnauthenticated };
  const lastEventId = useRef<string | undefined>(undefined);

  useEffect(() => {
    if (!enabled || !token) return;
    const abort = new AbortController();
    let retry: ReturnType<typeof setTimeout> | undefined;

    const connect = async (): Promise<void> => {
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream', authorization: `Bearer ${token}` };
        if (lastEventId.current !== undefined) headers['last-event-id'] = lastEventId.current;
        const response = await fetch(url, { headers, signal: abort.signal, cache: 'no-store' });
        if (response.status === 401) {
          handlers.current.onUnauthenticated?.();
          return;
        }
        if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseEventStream(buffer + value);
          buffer = parsed.rest;
          for (const message of parsed.messages) {
            if (message.id !== undefined) lastEventId.current = message.id;
            handlers.current.onMessage(message);
          }
        }
      } catch {
        // A dropped connection or a refused one: try again below unless the page closed it.
      }
      if (!abort.signal.aborted) retry = setTimeout(() => void connect(), retryMs);
    };
    void connect();
    return () => {
      abort.abort();
      clearTimeout(retry);
    };
  }, [url, token, enabled, retryMs]);
}
