import { Button, Card, Col, Result, Row, Space, Spin, Statistic, Typography } from 'antd';
import type { RollupAnswer } from '../../api/types.js';
import { useLedger } from '../../api/use-ledger.js';
import { RollupTable } from '../../components/rollup-table.js';
import { ClearTag, ColourTag } from '../../components/tags.js';
import { rememberUnitNames } from '../../components/unit-name.js';
import { labelOf } from '../../i18n.js';
import { navigate, type Route } from '../../router.js';
import { useSession } from '../../session.js';
import { useWorstColours } from './use-worst-colours.js';

/** 作战图: the user's unit (or the one drilled into) with its roll-up, and every unit directly beneath it. */
export function OverviewPage({ route }: { route: Route }) {
  const { principal, t, lang } = useSession();
  const unitId = route.query.get('unit') ?? principal!.unitId;
  const rollup = useLedger<RollupAnswer>('unitRollup', { params: { id: unitId } });
  const answer = rollup.data?.unit.unitId === unitId ? rollup.data : undefined;
  const worst = useWorstColours(answer ? [answer.unit.unitId, ...answer.children.map((c) => c.unitId)] : []);

  if (rollup.error && !answer) return <Result status="warning" title={rollup.error.message} />;
  if (!answer) return <Spin tip={t('loading')} />;
  rememberUnitNames([answer.unit, ...answer.children]);
  const { unit, children } = answer;
  const drill = (id: string) => navigate(['overview'], { unit: id });

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Card
        title={
          <Space wrap>
            <Typography.Title level={4} style={{ margin: 0 }} data-testid="overview-unit">
              {unit.name}
            </Typography.Title>
            <span>{labelOf(lang, 'level', unit.level)}</span>
            <span data-testid="overview-clear">
              <ClearTag clear={unit.clear} clearance={unit.clearance} />
            </span>
            {worst[unit.unitId] && worst[unit.unitId] !== 'none' && <ColourTag colour={worst[unit.unitId]!} />}
          </Space>
        }
        extra={
          unit.unitId !== principal!.unitId && unit.parentId ? (
            <Button onClick={() => drill(unit.parentId!)}>{t('back')}</Button>
          ) : null
        }
      >
        <Row gutter={[16, 16]}>
          <Col xs={12} md={4}>
            <Statistic title={t('problemsOpen')} value={unit.problemsOpen} />
          </Col>
          <Col xs={12} md={4}>
            <Statistic title={t('problemsOverdue')} value={unit.problemsOverdue} valueStyle={unit.problemsOverdue > 0 ? { color: '#cf1322' } : {}} />
          </Col>
          <Col xs={12} md={4}>
            <Statistic title={t('problemsCleared')} value={unit.problemsCleared} />
          </Col>
          <Col xs={12} md={4}>
            <Statistic title={t('householdsStandard')} value={unit.householdsMeetingStandard} suffix={`/ ${unit.householdsTotal}`} />
          </Col>
          <Col xs={12} md={4}>
            <Statistic title={t('planMeasures')} value={unit.planMeasuresCompleted} suffix={`/ ${unit.planMeasuresTotal}`} />
          </Col>
          <Col xs={12} md={4}>
            <Statistic title={t('listingsActive')} value={unit.listingsActive} />
          </Col>
        </Row>
      </Card>
      {children.length > 0 && <RollupTable units={children} worst={worst} onDrill={drill} />}
    </Space>
  );
}
