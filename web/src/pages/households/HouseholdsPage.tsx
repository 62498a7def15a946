import { Progress, Space, Table, Tag } from 'antd';
import type { HouseholdRow, LedgerPage } from '../../api/types.js';
import { useLedger } from '../../api/use-ledger.js';
import { UnitName } from '../../components/unit-name.js';
import { labelOf } from '../../i18n.js';
import { useSession } from '../../session.js';

const standards = [
  ['food', '不愁吃', 'food'],
  ['clothing', '不愁穿', 'clothing'],
  ['education', '义务教育', 'education'],
  ['medical', '基本医疗', 'medical care'],
  ['housing', '住房安全', 'housing'],
  ['water', '饮水安全', 'water'],
] as const;

/** 户台账: each household's plan (一户一方案) progress and its latest assessment against 两不愁三保障. */
export function HouseholdsPage() {
  const { principal, t, lang } = useSession();
  const ledger = useLedger<LedgerPage<HouseholdRow>>('householdLedger', { query: { unitId: principal!.unitId, limit: 500 } });
  return (
    <Table<HouseholdRow>
      rowKey="householdId"
      size="small"
      loading={ledger.loading && !ledger.data}
      dataSource={ledger.data?.items ?? []}
      scroll={{ x: 'max-content' }}
      locale={{ emptyText: t('empty') }}
      columns={[
        { title: t('household'), dataIndex: 'householdId' },
        { title: t('village'), key: 'village', render: (_, h) => <UnitName id={h.villageId} /> },
        { title: t('category'), key: 'category', render: (_, h) => labelOf(lang, 'householdCategory', h.category) },
        { title: t('members'), dataIndex: 'members', align: 'right' },
        {
          title: t('plan'),
          key: 'plan',
          render: (_, h) => (
            <span style={{ display: 'inline-flex', gap: 8, alignItems: 'center', whiteSpace: 'nowrap' }}>
              {h.planDone} / {h.planTotal}
              {h.planTotal > 0 && <Progress percent={Math.round((h.planDone / h.planTotal) * 100)} size="small" showInfo={false} style={{ width: 60, margin: 0 }} />}
            </span>
          ),
        },
        {
          title: t('assessment'),
          key: 'assessment',
          render: (_, h) =>
            h.assessment ? (
              <Space size={2} wrap>
                {standards.map(([key, zh, en]) => (
                  <Tag key={key} color={h.assessment![key] ? 'green' : 'red'}>
                    {lang === 'zh' ? zh : en}
                  </Tag>
                ))}
              </Space>
            ) : (
              t('notAssessed')
            ),
        },
        { title: t('meetsStandard'), key: 'meets', render: (_, h) => (h.meetsStandard ? <Tag color="green">{t('meetsStandard')}</Tag> : <Tag>{t('belowStandard')}</Tag>) },
        { title: t('monitored'), key: 'monitored', render: (_, h) => (h.monitored ? <Tag color="orange">{h.monitoringReason ?? t('monitored')}</Tag> : '') },
      ]}
    />
  );
}
