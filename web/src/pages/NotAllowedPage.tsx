import { Link } from "react-router";
import { Page } from "../components/Page";

export function NotAllowedPage() {
  return (
    <Page title="Not allowed" narrow>
      <div className="card">
        <p>This page is only for administrators. If you need access, ask one of them to give your account the admin role.</p>
        <p>
          <Link to="/" className="button button-primary">
            Go to the home page
          </Link>
        </p>
      </div>
    </Page>
  );
}
