import { Button, ConfigProvider, Layout, Menu, Space, Tag, Typography } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { AsOfPicker, InspectionBanner } from './components/as-of-picker.js';
import { UnitName } from './components/unit-name.js';
import { labelOf, type MessageKey } from './i18n.js';
import { EscalationsPage } from './pages/escalations/EscalationsPage.js';
import { HouseholdsPage } from './pages/households/HouseholdsPage.js';
import { ListingsPage } from './pages/listings/ListingsPage.js';
import { OverviewPage } from './pages/overview/OverviewPage.js';
import { ProblemPage } from './pages/problem/ProblemPage.js';
import { ProblemsPage } from './pages/problems/ProblemsPage.js';
import { SignInPage } from './pages/sign-in/SignInPage.js';
import { hrefOf, useRoute, type Route } from './router.js';
import { SessionProvider, useSession } from './session.js';

const sections: { key: string; label: MessageKey }[] = [
  { key: 'overview', label: 'overview' },
  { key: 'problems', label: 'problems' },
  { key: 'escalations', label: 'escalations' },
  { key: 'listings', label: 'listings' },
  { key: 'households', label: 'households' },
];

function Page({ route }: { route: Route }) {
  const [section = 'overview', id] = route.path;
  switch (section) {
    case 'problems':
      return id ? <ProblemPage key={id} problemId={id} /> : <ProblemsPage route={route} />;
    case 'escalations':
      return <EscalationsPage />;
    case 'listings':
      return <ListingsPage />;
    case 'households':
      return <HouseholdsPage />;
    default:
      return <OverviewPage route={route} />;
  }
}

function Shell() {
  const { principal, signOut, asOf, setAsOf, lang, setLang, t } = useSession();
  const route = useRoute();
  if (!principal) return <SignInPage />;
  const section = route.path[0] ?? 'overview';
  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Header style={{ display: 'flex', flexWrap: 'wrap', alignItems: 'center', gap: 12, height: 'auto', lineHeight: '48px', padding: '0 16px', background: asOf ? '#613400' : undefined }}>
        <Typography.Text strong style={{ color: '#fff', fontSize: 16, whiteSpace: 'nowrap' }}>
          {t('appTitle')}
        </Typography.Text>
        <Menu
          theme="dark"
          mode="horizontal"
          selectedKeys={[section]}
          style={{ flex: '1 1 320px', minWidth: 0, background: 'transparent' }}
          items={sections.map((s) => ({ key: s.key, label: <a href={hrefOf([s.key])}>{t(s.label)}</a> }))}
        />
        <Space wrap size={8} style={{ lineHeight: 'normal', padding: '8px 0' }}>
          <AsOfPicker value={asOf} onChange={setAsOf} t={t} />
          <Tag color={asOf ? 'orange' : 'green'} data-testid="mode">
            {asOf ? t('inspection') : t('live')}
          </Tag>
          <Typography.Text style={{ color: '#fff' }} data-testid="who">
            <UnitName id={principal.unitId} /> · {labelOf(lang, 'role', principal.role)}
          </Typography.Text>
          <Button size="small" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')}>
            {t('language')}
          </Button>
          <Button size="small" onClick={signOut}>
            {t('signOut')}
          </Button>
        </Space>
      </Layout.Header>
      <InspectionBanner asOf={asOf} onLeave={() => setAsOf(null)} t={t} />
      <Layout.Content style={{ padding: 16, maxWidth: 1400, width: '100%', margin: '0 auto' }}>
        <Page route={route} />
      </Layout.Content>
    </Layout>
  );
}

function Localised() {
  const { lang } = useSession();
  dayjs.locale(lang === 'zh' ? 'zh-cn' : 'en');
  return (
    <ConfigProvider locale={lang === 'zh' ? zhCN : enUS} button={{ autoInsertSpace: false }} theme={{ token: { fontFamily: "'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif" } }}>
      <Shell />
    </ConfigProvider>
  );
}

export function App() {
  return (
    <SessionProvider>
      <Localised />
    </SessionProvider>
  );
}
