import { NavLink } from "react-router";

export function AdminNav() {
  return (
    <nav className="tabs" aria-label="Administration">
      <NavLink to="/admin/users">Users</NavLink>
      <NavLink to="/admin/apps">Apps</NavLink>
      <NavLink to="/admin/audit">Audit log</NavLink>
    </nav>
  );
}
