import { Button, Progress, Table } from 'antd';
import type { Colour, Rollup } from '../api/types.js';
import { labelOf } from '../i18n.js';
import { useSession } from '../session.js';
import { ClearTag, ColourTag } from './tags.js';

const percent = (done: number, total: number) => Math.round((done / total) * 100);

/**
 * Units with their roll-ups (counts over each one's whole subtree), worst colour and clear flag; a unit with
 * units beneath it can be drilled into.
 */
export function RollupTable({ units, worst, onDrill }: { units: Rollup[]; worst: Record<string, Colour | undefined>; onDrill: (unitId: string) => void }) {
  const { t, lang } = useSession();
  return (
    <Table<Rollup>
      rowKey="unitId"
      size="small"
      pagination={false}
      dataSource={units}
      scroll={{ x: 'max-content' }}
      locale={{ emptyText: t('empty') }}
      columns={[
        {
          title: t('unit'),
          key: 'name',
          render: (_, u) =>
            u.level === 'village' ? (
              <span>{u.name}</span>
            ) : (
              <Button type="link" style={{ padding: 0 }} onClick={() => onDrill(u.unitId)} aria-label={`${t('drillDown')} ${u.name}`}>
                {u.name}
              </Button>
            ),
        },
        { title: t('level'), key: 'level', render: (_, u) => labelOf(lang, 'level', u.level) },
        { title: t('clearFlag'), key: 'clear', render: (_, u) => <ClearTag clear={u.clear} clearance={u.clearance} /> },
        { title: t('worstColour'), key: 'worst', render: (_, u) => <ColourTag colour={worst[u.unitId] ?? 'none'} /> },
        { title: t('problemsOpen'), dataIndex: 'problemsOpen', align: 'right' },
        { title: t('problemsOverdue'), dataIndex: 'problemsOverdue', align: 'right', render: (n: number) => (n > 0 ? <b style={{ color: '#cf1322' }}>{n}</b> : n) },
        { title: t('problemsCleared'), dataIndex: 'problemsCleared', align: 'right' },
        {
          title: t('householdsStandard'),
          key: 'households',
          render: (_, u) => `${u.householdsMeetingStandard} / ${u.householdsTotal}`,
        },
        {
          title: t('planMeasures'),
          key: 'plan',
          render: (_, u) => (
            <span style={{ display: 'inline-flex', gap: 8, alignItems: 'center', whiteSpace: 'nowrap' }}>
              {u.planMeasuresCompleted} / {u.planMeasuresTotal}
              {u.planMeasuresTotal > 0 && (
                <Progress percent={percent(u.planMeasuresCompleted, u.planMeasuresTotal)} size="small" showInfo={false} style={{ width: 60, margin: 0 }} />
              )}
            </span>
          ),
        },
      ]}
    />
  );
}
