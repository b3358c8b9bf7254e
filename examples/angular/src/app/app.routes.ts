import type { Routes } from "@angular/router";
import { guestOnly, requireLogin } from "./auth/guards";
import { AccountPage } from "./pages/account.page";
import { LoginPage } from "./pages/login.page";
import { MembersPage } from "./pages/members.page";
import { RegisterPage } from "./pages/register.page";
import { StatusPage } from "./pages/status.page";

export const routes: Routes = [
  { path: "", component: StatusPage, title: "Status · latchkey Angular example" },
  { path: "login", component: LoginPage, canActivate: [guestOnly], title: "Log in · latchkey Angular example" },
  { path: "register", component: RegisterPage, canActivate: [guestOnly], title: "Register · latchkey Angular example" },
  { path: "members", component: MembersPage, canActivate: [requireLogin], title: "Members · latchkey Angular example" },
  { path: "account", component: AccountPage, canActivate: [requireLogin], title: "Account · latchkey Angular example" },
  { path: "**", redirectTo: "" },
];
