import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { Rollup } from '../api/types.js';
import { TestSession } from '../test-session.js';
import { RollupTable } from './rollup-table.js';
import { worstColour } from './tags.js';

const unit = (over: Partial<Rollup>): Rollup => ({
  unitId: 'u',
  name: 'u',
  level: 'village',
  parentId: '533423102',
  problemsOpen: 0,
  problemsOverdue: 0,
  problemsCleared: 0,
  householdsTotal: 0,
  householdsMeetingStandard: 0,
  householdsMonitored: 0,
  planMeasuresTotal: 0,
  planMeasuresCompleted: 0,
  measuresTotal: 0,
  measuresCompleted: 0,
  problemMeasuresTotal: 0,
  problemMeasuresCompleted: 0,
  listingsActive: 0,
  clear: false,
  clearance: null,
  population: null,
  ...over,
});

describe('the roll-up view', () => {
  const units = [
    unit({ unitId: '533423102201', name: '启别村', clear: true, clearance: '户户清', householdsTotal: 2, householdsMeetingStandard: 2, problemsCleared: 1 }),
    unit({ unitId: '533423102202', name: '其宗村', problemsOpen: 3, problemsOverdue: 2, householdsTotal: 5, householdsMeetingStandard: 1 }),
    unit({ unitId: '533423103', name: '巴迪乡', level: 'township', parentId: '533423', planMeasuresTotal: 4, planMeasuresCompleted: 1 }),
  ];

  it('shows each unit with its counts, its clear flag and its worst colour', () => {
    render(
      <TestSession>
        <RollupTable units={units} worst={{ '533423102202': 'red' }} onDrill={() => undefined} />
      </TestSession>,
    );
    const qibie = screen.getByText('启别村').closest('tr')!;
    expect(within(qibie).getByText('户户清')).toBeTruthy();
    expect(within(qibie).getByText('2 / 2')).toBeTruthy();
    const qizong = screen.getByText('其宗村').closest('tr')!;
    expect(within(qizong).getByText('未清零')).toBeTruthy();
    expect(within(qizong).getByText('红色')).toBeTruthy();
    expect(within(qizong).getByText('1 / 5')).toBeTruthy();
    expect(within(screen.getByText('巴迪乡').closest('tr')!).getByText('1 / 4')).toBeTruthy();
  });

  it('drills into a unit with units beneath it, and not into a village', () => {
    const onDrill = vi.fn();
    render(
      <TestSession>
        <RollupTable units={units} worst={{}} onDrill={onDrill} />
      </TestSession>,
    );
    fireEvent.click(screen.getByRole('button', { name: '下钻 巴迪乡' }));
    expect(onDrill).toHaveBeenCalledWith('533423103');
    expect(screen.queryByRole('button', { name: '下钻 启别村' })).toBeNull();
  });

  it('takes the worst colour of the open problems only', () => {
    expect(worstColour([])).toBe('none');
    expect(worstColour([{ colour: 'yellow', open: true }, { colour: 'blue', open: true }])).toBe('yellow');
    expect(worstColour([{ colour: 'red', open: false }, { colour: 'blue', open: true }])).toBe('blue');
  });
});
