/**
 * Every request the console makes, by name. The paths are OpenAPI templates, so the e2e suite can check
 * each one against the service's /openapi.json.
 */
export const endpoints = {
  devUnits: { method: 'GET', path: '/v1/dev/units' },
  devSignIn: { method: 'POST', path: '/v1/dev/sign-in' },
  unitRollup: { method: 'GET', path: '/v1/ledgers/units/{id}' },
  problemLedger: { method: 'GET', path: '/v1/ledgers/problems' },
  householdLedger: { method: 'GET', path: '/v1/ledgers/households' },
  escalationBoard: { method: 'GET', path: '/v1/escalations' },
  listingBoard: { method: 'GET', path: '/v1/listings' },
  problem: { method: 'GET', path: '/v1/problems/{id}' },
  problemHistory: { method: 'GET', path: '/v1/problems/{id}/history' },
  acknowledge: { method: 'POST', path: '/v1/problems/{id}/acknowledge' },
  assignMeasure: { method: 'POST', path: '/v1/problems/{id}/measures' },
  completeMeasure: { method: 'POST', path: '/v1/problems/{id}/measures/{measureId}/complete' },
  submit: { method: 'POST', path: '/v1/problems/{id}/submit' },
  reject: { method: 'POST', path: '/v1/problems/{id}/reject' },
  clear: { method: 'POST', path: '/v1/problems/{id}/clear' },
  extend: { method: 'POST', path: '/v1/problems/{id}/extend' },
  reopen: { method: 'POST', path: '/v1/problems/{id}/reopen' },
  eventStream: { method: 'GET', path: '/v1/events/stream' },
} as const satisfies Record<string, { method: 'GET' | 'POST'; path: string }>;

export type EndpointName = keyof typeof endpoints;
