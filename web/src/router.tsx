import { Navigate, type RouteObject } from "react-router";
import { GuestOnly, RequireAuth, RequireRole } from "./auth/guards";
import { Layout } from "./components/Layout";
import { AccountPage } from "./pages/AccountPage";
import { AdminAppsPage } from "./pages/AdminAppsPage";
import { AdminAuditPage } from "./pages/AdminAuditPage";
import { AdminUsersPage } from "./pages/AdminUsersPage";
import { ConsentPage } from "./pages/ConsentPage";
import { FederatedPage } from "./pages/FederatedPage";
import { ForgotPasswordPage } from "./pages/ForgotPasswordPage";
import { HomePage } from "./pages/HomePage";
import { LoginPage } from "./pages/LoginPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { ResetPasswordPage } from "./pages/ResetPasswordPage";
import { SignupPage } from "./pages/SignupPage";
import { VerifyEmailPage } from "./pages/VerifyEmailPage";

/**
 * Every page of the app. Guards are pathless layout routes, so who may see a
 * page is read from its place in this table. The server answers every
 * non-API path with index.html, so these URLs also work on a reload.
 */
export const routes: RouteObject[] = [
  {
    element: <Layout />,
    children: [
      {
        element: <GuestOnly oauthRequests />,
        children: [{ path: "login", element: <LoginPage /> }],
      },
      {
        element: <GuestOnly />,
        children: [
          { path: "signup", element: <SignupPage /> },
          { path: "forgot-password", element: <ForgotPasswordPage /> },
        ],
      },
      // Opened from a mail, signed in or not.
      { path: "reset-password", element: <ResetPasswordPage /> },
      { path: "verify-email", element: <VerifyEmailPage /> },
      // Back from an identity provider: a login, or a link or step-up of the signed-in user.
      { path: "login/federated", element: <FederatedPage /> },
      // An app's sign-in request: the page sends a visitor without a fresh enough login to log in.
      { path: "consent", element: <ConsentPage /> },
      {
        element: <RequireAuth />,
        children: [
          { index: true, element: <HomePage /> },
          { path: "account", element: <AccountPage /> },
          {
            path: "admin",
            element: <RequireRole role="admin" />,
            children: [
              { index: true, element: <Navigate to="users" replace /> },
              { path: "users", element: <AdminUsersPage /> },
              { path: "apps", element: <AdminAppsPage /> },
              { path: "audit", element: <AdminAuditPage /> },
            ],
          },
        ],
      },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
];
