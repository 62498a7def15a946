import { Alert, Button, Card, Descriptions, Result, Space, Spin, Table } from 'antd';
import type { LedgerPage, Problem, ProblemHistory, ProblemRow } from '../../api/types.js';
import { useLedger } from '../../api/use-ledger.js';
import { problemActions } from '../../can.js';
import { ColourTag, StatusTag } from '../../components/tags.js';
import { UnitName } from '../../components/unit-name.js';
import { labelOf } from '../../i18n.js';
import { useSession } from '../../session.js';
import { ActionBar } from './ActionBar.js';
import { ProblemTimeline } from './Timeline.js';
import { useCommand } from './use-command.js';

/** One problem: what it is, its measures, what the user may do with it, and its whole history. */
export function ProblemPage({ problemId }: { problemId: string }) {
  const { principal, asOf, t, lang } = useSession();
  const params = { params: { id: problemId } };
  const problem = useLedger<Problem>('problem', params, { asOf: false });
  const history = useLedger<ProblemHistory>('problemHistory', params, { asOf: false });
  // In inspection mode the page shows the problem's ledger row as of the moment, not its present state.
  const then = useLedger<LedgerPage<ProblemRow>>(
    'problemLedger',
    { query: { unitId: problem.data?.responsibleUnitId, limit: 500 } },
    { skip: !asOf || !problem.data },
  );
  const command = useCommand(() => {
    problem.reload();
    history.reload();
  });

  if (problem.error && !problem.data) return <Result status="warning" title={problem.error.message} />;
  if (!problem.data) return <Spin />;
  const p = problem.data;
  const row = asOf ? then.data?.items.find((r) => r.problemId === problemId) : undefined;
  const canComplete = !asOf && problemActions(p, principal!).includes('completeMeasure');

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      {command.refusal && (
        <Alert type="error" showIcon role="alert" data-testid="refusal" title={t('refused')} description={command.refusal} closable onClose={command.dismiss} />
      )}
      <Card title={p.description}>
        <Descriptions size="small" column={{ xs: 1, sm: 2, lg: 3 }}>
          <Descriptions.Item label={t('status')}>
            <span data-testid="problem-status">
              <StatusTag status={asOf ? (row?.status ?? '—') : p.status} />
            </span>
          </Descriptions.Item>
          <Descriptions.Item label={t('colour')}>
            <ColourTag colour={asOf ? (row?.colour ?? 'none') : p.colour} />
          </Descriptions.Item>
          <Descriptions.Item label={t('deadline')}>{(asOf ? (row?.deadline ?? '') : p.deadline).slice(0, 10)}</Descriptions.Item>
          <Descriptions.Item label={t('targetUnit')}>
            <UnitName id={p.targetUnitId} />
          </Descriptions.Item>
          <Descriptions.Item label={t('responsibleUnit')}>
            <UnitName id={p.responsibleUnitId} />
          </Descriptions.Item>
          <Descriptions.Item label={t('category')}>{labelOf(lang, 'category', p.category)}</Descriptions.Item>
          <Descriptions.Item label={t('severity')}>{labelOf(lang, 'severity', p.severity)}</Descriptions.Item>
          <Descriptions.Item label={t('source')}>{labelOf(lang, 'source', p.source)}</Descriptions.Item>
          <Descriptions.Item label={t('escalationLevel')}>{p.escalationLevel}</Descriptions.Item>
        </Descriptions>
      </Card>
      {!asOf && (
        <Card title={t('actions')} size="small">
          <ActionBar problem={p} command={command} />
        </Card>
      )}
      <Card title={t('measures')} size="small">
        <Table
          rowKey="measureId"
          size="small"
          pagination={false}
          dataSource={p.measures}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('empty') }}
          columns={[
            { title: t('description'), dataIndex: 'description' },
            { title: t('assignee'), key: 'assignee', render: (_, m) => <UnitName id={m.assigneeUnitId} /> },
            { title: t('deadline'), dataIndex: 'deadline', render: (d: string) => d.slice(0, 10) },
            {
              title: t('status'),
              key: 'done',
              render: (_, m) =>
                m.completed ? (
                  t('done')
                ) : canComplete ? (
                  <Button
                    size="small"
                    disabled={command.busy}
                    onClick={() => void command.send('completeMeasure', { params: { id: p.problemId, measureId: m.measureId }, body: { evidence: [] } })}
                  >
                    {t('completeMeasure')}
                  </Button>
                ) : (
                  t('pending')
                ),
            },
          ]}
        />
      </Card>
      <Card title={t('timeline')} size="small">
        {history.data ? <ProblemTimeline history={history.data} until={asOf} /> : <Spin />}
      </Card>
    </Space>
  );
}
