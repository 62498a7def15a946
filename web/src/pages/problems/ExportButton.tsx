import { Button } from 'antd';
import { useEffect, useState } from 'react';
import { urlOf, type RequestParts } from '../../api/client.js';
import { useSession } from '../../session.js';

// Whether the service's ledger route takes `format` (the export added by the data issue), read once.
let exportable: Promise<boolean> | undefined;
function ledgerExports(): Promise<boolean> {
  exportable ??= fetch('/openapi.json')
    .then((r) => r.json() as Promise<{ paths?: Record<string, { get?: { parameters?: { name: string; in: string }[] } }> }>)
    .then((doc) => (doc.paths?.['/v1/ledgers/problems']?.get?.parameters ?? []).some((p) => p.in === 'query' && p.name === 'format'))
    .catch(() => false);
  return exportable;
}

/** 导出 as Excel, shown only when the service offers the export; the file comes through fetch with the token. */
export function ExportButton({ query }: { query: RequestParts['query'] }) {
  const { token, asOf, t } = useSession();
  const [available, setAvailable] = useState(false);
  useEffect(() => {
    void ledgerExports().then(setAvailable);
  }, []);
  if (!available) return null;

  const download = async () => {
    const url = urlOf('problemLedger', { query: { ...query, cursor: undefined, limit: undefined, asOf, format: 'xlsx' } });
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) return;
    const link = document.createElement('a');
    link.href = URL.createObjectURL(await response.blob());
    link.download = `问题台账-${new Date().toISOString().slice(0, 10)}.xlsx`;
    link.click();
    URL.revokeObjectURL(link.href);
  };
  return <Button onClick={() => void download()}>{t('export')}</Button>;
}
