import { useState } from 'react';
import { ApiError, type RequestParts } from '../../api/client.js';
import type { EndpointName } from '../../api/endpoints.js';
import { refusalText } from '../../rules.js';
import { useSession } from '../../session.js';

export interface Command {
  /** Sends the request; resolves true when the service accepted it, false when it refused (shown as `refusal`). */
  send(endpoint: EndpointName, parts: RequestParts): Promise<boolean>;
  refusal: string | null;
  dismiss(): void;
  busy: boolean;
}

/** One place for how the problem page sends a command and shows a refusal with the decider's rule. */
export function useCommand(onAccepted: () => void): Command {
  const { api, lang } = useSession();
  const [refusal, setRefusal] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return {
    refusal,
    busy,
    dismiss: () => setRefusal(null),
    async send(endpoint, parts) {
      setBusy(true);
      try {
        await api(endpoint, parts);
        setRefusal(null);
        onAccepted();
        return true;
      } catch (e) {
        setRefusal(e instanceof ApiError ? refusalText(e.problem, lang) : String(e));
        return false;
      } finally {
        setBusy(false);
      }
    },
  };
}
