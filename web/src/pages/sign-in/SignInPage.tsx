import { Alert, Button, Card, Collapse, Form, Input, Select, Space, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { ApiError } from '../../api/client.js';
import type { Role, Unit } from '../../api/types.js';
import { labelOf } from '../../i18n.js';
import { refusalText } from '../../rules.js';
import { principalOf, useSession } from '../../session.js';

const roles: Role[] = ['cadre', 'supervisor', 'inspector', 'admin'];
const indent: Record<string, number> = { prefecture: 0, county: 1, township: 2, village: 3, relocation_site: 3 };

/** Units in tree order (each one followed by the units beneath it), so the list reads like the hierarchy. */
export function treeOrder(units: readonly Unit[]): Unit[] {
  const known = new Set(units.map((u) => u.unitId));
  const children = new Map<string | null, Unit[]>();
  for (const unit of units) {
    const parent = unit.parentId !== null && known.has(unit.parentId) ? unit.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), unit]);
  }
  const ordered: Unit[] = [];
  const visit = (parent: string | null) => {
    for (const unit of children.get(parent) ?? []) {
      ordered.push(unit);
      visit(unit.unitId);
    }
  };
  visit(null);
  return ordered;
}

/**
 * In development the service offers a pick-a-unit sign-in (/v1/dev/…); in production that route does not
 * exist and the user pastes the token their identity provider issued.
 */
export function SignInPage() {
  const { api, signIn, t, lang, setLang } = useSession();
  const [units, setUnits] = useState<Unit[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api<{ items: Unit[] }>('devUnits').then(
      (answer) => setUnits(treeOrder(answer.items)),
      () => setUnits(null),
    );
  }, [api]);

  const devSignIn = async (values: { unitId: string; role: Role }) => {
    try {
      const { token } = await api<{ token: string }>('devSignIn', { body: values });
      signIn(token);
    } catch (e) {
      setError(e instanceof ApiError ? refusalText(e.problem, lang) : String(e));
    }
  };
  const pasteToken = ({ token }: { token: string }) => {
    const trimmed = token.trim();
    if (!principalOf(trimmed)) setError(lang === 'zh' ? '令牌无法识别：须含 sub、unit、role' : 'Not a Duban token: it needs sub, unit and role');
    else signIn(trimmed);
  };

  const pasteForm = (
    <Form layout="vertical" onFinish={pasteToken}>
      <Form.Item name="token" label={t('token')} rules={[{ required: true }]}>
        <Input.TextArea rows={3} autoComplete="off" />
      </Form.Item>
      <Button htmlType="submit">{t('signIn')}</Button>
    </Form>
  );

  return (
    <div style={{ display: 'flex', justifyContent: 'center', padding: '48px 16px' }}>
      <Card style={{ width: 480, maxWidth: '100%' }}>
        <Space direction="vertical" size="large" style={{ width: '100%' }}>
          <Space style={{ justifyContent: 'space-between', width: '100%' }}>
            <Typography.Title level={3} style={{ margin: 0 }}>
              {t('appTitle')}
            </Typography.Title>
            <Button type="text" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')}>
              {t('language')}
            </Button>
          </Space>
          {error && <Alert type="error" showIcon title={error} />}
          {units ? (
            <>
              <Typography.Text type="secondary">{t('signInDev')}</Typography.Text>
              <Form layout="vertical" onFinish={(values: { unitId: string; role: Role }) => void devSignIn(values)} initialValues={{ role: 'cadre' }}>
                <Form.Item name="unitId" label={t('unit')} rules={[{ required: true }]}>
                  <Select
                    showSearch
                    optionFilterProp="label"
                    aria-label={t('unit')}
                    options={units.map((u) => ({
                      value: u.unitId,
                      label: `${'　'.repeat(indent[u.level] ?? 0)}${u.name}（${labelOf(lang, 'level', u.level)} ${u.unitId}）`,
                    }))}
                  />
                </Form.Item>
                <Form.Item name="role" label={t('role')} rules={[{ required: true }]}>
                  <Select aria-label={t('role')} options={roles.map((r) => ({ value: r, label: labelOf(lang, 'role', r) }))} />
                </Form.Item>
                <Button type="primary" htmlType="submit" block>
                  {t('signIn')}
                </Button>
              </Form>
              <Collapse ghost items={[{ key: 'token', label: t('signInToken'), children: pasteForm }]} />
            </>
          ) : (
            <>
              <Typography.Text type="secondary">{t('signInToken')}</Typography.Text>
              {pasteForm}
            </>
          )}
        </Space>
      </Card>
    </div>
  );
}
