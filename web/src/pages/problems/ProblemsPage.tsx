import { Button, Input, Select, Space, Table } from 'antd';
import { useMemo, useRef, useState } from 'react';
import type { LedgerPage, ProblemRow } from '../../api/types.js';
import { useLedger } from '../../api/use-ledger.js';
import { ColourTag, StatusTag } from '../../components/tags.js';
import { UnitName } from '../../components/unit-name.js';
import { labelOf, labels } from '../../i18n.js';
import { hrefOf, type Route } from '../../router.js';
import { useSession } from '../../session.js';
import { ExportButton } from './ExportButton.js';

const PAGE_SIZE = 50;

interface Filters {
  status?: string;
  colour?: string;
  overdue?: string;
  category?: string;
  responsible?: string;
  text?: string;
}

/**
 * 问题台账: status, colour, lateness and responsible unit are filtered by the API; category and text within the
 * page it answered. Pages follow the ledger's cursors.
 */
export function ProblemsPage({ route }: { route: Route }) {
  const { principal, t, lang } = useSession();
  const unitId = route.query.get('unit') ?? principal!.unitId;
  const [filters, setFilters] = useState<Filters>({});
  const [cursors, setCursors] = useState<string[]>([]);
  const query = {
    unitId,
    status: filters.status,
    colour: filters.colour,
    overdue: filters.overdue,
    responsibleUnitId: filters.responsible,
    limit: PAGE_SIZE,
    cursor: cursors.at(-1),
  };
  const ledger = useLedger<LedgerPage<ProblemRow>>('problemLedger', { query });
  const set = (patch: Filters) => {
    setFilters((f) => ({ ...f, ...patch }));
    setCursors([]);
  };

  const rows = useMemo(() => {
    const text = filters.text?.trim().toLowerCase();
    return (ledger.data?.items ?? []).filter(
      (p) =>
        (!filters.category || p.category === filters.category) &&
        (!text || p.description.toLowerCase().includes(text) || p.problemId.toLowerCase().includes(text)),
    );
  }, [ledger.data, filters.category, filters.text]);
  // Every responsible unit seen so far, so choosing one does not shrink the choice to itself.
  const seen = useRef(new Set<string>());
  for (const p of ledger.data?.items ?? []) seen.current.add(p.responsibleUnitId);
  const responsibleUnits = [...seen.current];
  const options = (kind: string) => Object.keys(labels[kind] ?? {}).map((v) => ({ value: v, label: labelOf(lang, kind, v) }));

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Space wrap>
        <Select allowClear placeholder={t('status')} aria-label={t('status')} style={{ width: 120 }} options={options('status')} onChange={(v?: string) => set({ status: v })} />
        <Select allowClear placeholder={t('colour')} aria-label={t('colour')} style={{ width: 100 }} options={options('colour')} onChange={(v?: string) => set({ colour: v })} />
        <Select
          allowClear
          placeholder={t('overdue')}
          aria-label={t('overdue')}
          style={{ width: 100 }}
          options={[
            { value: 'true', label: t('yes') },
            { value: 'false', label: t('no') },
          ]}
          onChange={(v?: string) => set({ overdue: v })}
        />
        <Select allowClear placeholder={t('category')} aria-label={t('category')} style={{ width: 120 }} options={options('category')} onChange={(v?: string) => setFilters((f) => ({ ...f, category: v }))} />
        <Select
          allowClear
          placeholder={t('responsibleUnit')}
          aria-label={t('responsibleUnit')}
          style={{ width: 160 }}
          options={responsibleUnits.map((id) => ({ value: id, label: <UnitName id={id} /> }))}
          onChange={(v?: string) => set({ responsible: v })}
        />
        <Input.Search allowClear placeholder={t('search')} aria-label={t('search')} style={{ width: 200 }} onSearch={(v) => setFilters((f) => ({ ...f, text: v }))} />
        <ExportButton query={query} />
      </Space>
      <Table<ProblemRow>
        rowKey="problemId"
        size="small"
        loading={ledger.loading && !ledger.data}
        dataSource={rows}
        pagination={false}
        scroll={{ x: 'max-content' }}
        locale={{ emptyText: t('empty') }}
        columns={[
          { title: t('description'), key: 'description', render: (_, p) => <a href={hrefOf(['problems', p.problemId])}>{p.description}</a> },
          { title: t('status'), key: 'status', render: (_, p) => <StatusTag status={p.status} /> },
          { title: t('colour'), key: 'colour', render: (_, p) => <ColourTag colour={p.colour} /> },
          { title: t('category'), key: 'category', render: (_, p) => labelOf(lang, 'category', p.category) },
          { title: t('responsibleUnit'), key: 'responsible', render: (_, p) => <UnitName id={p.responsibleUnitId} /> },
          { title: t('deadline'), dataIndex: 'deadline', render: (d: string) => d.slice(0, 10) },
          { title: t('overdue'), key: 'overdue', render: (_, p) => (p.overdue ? `${p.daysOverdue}` : '') },
          { title: t('measures'), key: 'measures', render: (_, p) => `${p.measuresDone} / ${p.measuresTotal}` },
          { title: t('escalationLevel'), dataIndex: 'escalationLevel', align: 'right' },
        ]}
      />
      <Space>
        <Button disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
          ‹
        </Button>
        <Button disabled={!ledger.data?.nextCursor} onClick={() => setCursors((c) => [...c, ledger.data!.nextCursor!])}>
          ›
        </Button>
      </Space>
    </Space>
  );
}
