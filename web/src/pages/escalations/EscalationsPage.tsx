import { Card, Space, Table, Tag } from 'antd';
import dayjs from 'dayjs';
import type { Colour, EscalationBoard, EscalationRow } from '../../api/types.js';
import { useLedger } from '../../api/use-ledger.js';
import { ColourTag } from '../../components/tags.js';
import { UnitName } from '../../components/unit-name.js';
import { hrefOf } from '../../router.js';
import { useSession } from '../../session.js';

const colours: Colour[] = ['red', 'yellow', 'blue'];

/** 督办单: active escalation notices, counted by level and colour, then listed. */
export function EscalationsPage() {
  const { principal, t } = useSession();
  const board = useLedger<EscalationBoard>('escalationBoard', { query: { unitId: principal!.unitId, limit: 500 } });
  const counts = board.data?.byLevelAndColour ?? {};
  const levels = Object.keys(counts).sort();
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Card size="small" title={`${t('escalations')} · ${t('level')} × ${t('colour')}`}>
        <Table
          rowKey="level"
          size="small"
          pagination={false}
          locale={{ emptyText: t('empty') }}
          dataSource={levels.map((level) => ({ level, ...counts[level] }))}
          columns={[
            { title: t('level'), dataIndex: 'level' },
            ...colours.map((colour) => ({
              title: <ColourTag colour={colour} />,
              key: colour,
              align: 'right' as const,
              render: (_: unknown, row: Record<string, unknown>) => (row[colour] as number | undefined) ?? 0,
            })),
          ]}
        />
      </Card>
      <Table<EscalationRow>
        rowKey={(e) => `${e.problemId}-${e.level}`}
        size="small"
        loading={board.loading && !board.data}
        dataSource={board.data?.items ?? []}
        scroll={{ x: 'max-content' }}
        locale={{ emptyText: t('empty') }}
        columns={[
          { title: t('problems'), key: 'problem', render: (_, e) => <a href={hrefOf(['problems', e.problemId])}>{e.problemId}</a> },
          { title: t('level'), dataIndex: 'level', render: (n: number) => <Tag>{n}</Tag> },
          { title: t('colour'), key: 'colour', render: (_, e) => <ColourTag colour={e.colour} /> },
          { title: t('responsibleUnit'), key: 'responsible', render: (_, e) => <UnitName id={e.responsibleUnitId} /> },
          { title: t('escalatedTo'), key: 'to', render: (_, e) => <UnitName id={e.toUnitId} /> },
          { title: t('reasonOfEscalation'), dataIndex: 'reason' },
          { title: t('deadline'), dataIndex: 'deadline', render: (d: string) => d.slice(0, 10) },
          { title: t('escalatedAt'), dataIndex: 'escalatedAt', render: (d: string) => dayjs(d).format('YYYY-MM-DD HH:mm') },
        ]}
      />
    </Space>
  );
}
