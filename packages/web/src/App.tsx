import type { ReactNode } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { useSession } from './session';
import { t } from './strings';
import { AboutPage } from './features/about/AboutPage';
import { ActivityPage } from './features/activity/ActivityPage';
import { AdminPage } from './features/admin/AdminPage';
import { ConversationPage } from './features/conversation/ConversationPage';
import { RealtimeProvider, useRealtime } from './features/conversation/RealtimeProvider';
import { LoginPage } from './features/auth/LoginPage';
import { RegisterPage } from './features/auth/RegisterPage';
import { ResetPage } from './features/auth/ResetPage';
import { DevicesPage } from './features/devices/DevicesPage';
import { NotFoundPage } from './features/errors/ErrorPages';
import { SettingsPage } from './features/settings/SettingsPage';
import { OtherTabPage } from './features/shell/OtherTabPage';

function Loading() {
  return (
    <div className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      <span>{t.loading}</span>
    </div>
  );
}

/**
 * Signed-in pages: signed-out visitors go to /login; while another tab of this browser has
 * this device's conversations open, a page that says so instead.
 */
function SignedIn({ children, admin = false }: { children: ReactNode; admin?: boolean }) {
  const { session } = useSession();
  const { tab } = useRealtime();
  if (session === undefined) return <Loading />;
  if (session === null) return <Navigate to="/login" replace />;
  if (tab === 'checking') return <Loading />;
  if (tab === 'elsewhere' || tab === 'taking') return <OtherTabPage />;
  if (admin && session.user.role !== 'admin') return <NotFoundPage />;
  return children;
}

/** Signed-out pages: signed-in visitors go home. */
function SignedOut({ children }: { children: ReactNode }) {
  const { session } = useSession();
  if (session === undefined) return <Loading />;
  if (session) return <Navigate to="/" replace />;
  return children;
}

export function App() {
  return (
    <RealtimeProvider>
      <Routes>
        <Route
          path="/"
          element={
            <SignedIn>
              <ConversationPage />
            </SignedIn>
          }
        />
        <Route
          path="/rooms/:roomId"
          element={
            <SignedIn>
              <ConversationPage />
            </SignedIn>
          }
        />
        <Route
          path="/devices"
          element={
            <SignedIn>
              <DevicesPage />
            </SignedIn>
          }
        />
        <Route
          path="/activity"
          element={
            <SignedIn>
              <ActivityPage />
            </SignedIn>
          }
        />
        <Route
          path="/settings"
          element={
            <SignedIn>
              <SettingsPage />
            </SignedIn>
          }
        />
        <Route
          path="/admin"
          element={
            <SignedIn admin>
              <AdminPage />
            </SignedIn>
          }
        />
        <Route path="/about" element={<AboutPage />} />
        <Route
          path="/login"
          element={
            <SignedOut>
              <LoginPage />
            </SignedOut>
          }
        />
        <Route
          path="/register"
          element={
            <SignedOut>
              <RegisterPage mode="register" />
            </SignedOut>
          }
        />
        <Route
          path="/setup"
          element={
            <SignedOut>
              <RegisterPage mode="setup" />
            </SignedOut>
          }
        />
        <Route
          path="/invite"
          element={
            <SignedOut>
              <RegisterPage mode="invite" />
            </SignedOut>
          }
        />
        {/* Signed in or not: an administrator may open a link made for someone else. */}
        <Route path="/reset" element={<ResetPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Routes>
    </RealtimeProvider>
  );
}
